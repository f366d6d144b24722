/*
 * The built-in certificate profiles: key usage, EKU, CA or not, which SAN
 * types and subject attributes a request may carry, which keys, and how
 * long a certificate may live. tls-server follows the CA/Browser Forum
 * Baseline Requirements, including the validity schedule of ballot SC-081.
 */
#include "ca/ca.h"

#include <stdio.h>
#include <string.h>

static const struct ck_profile profiles[] = {
    {"tls-server", "critical,digitalSignature,keyEncipherment", "serverAuth",
        false, CK_SAN_ALLOW_DNS | CK_SAN_ALLOW_IP, "CN", 2048, false, 0},
    {"tls-client", "critical,digitalSignature", "clientAuth", false,
        CK_SAN_ALLOW_DNS | CK_SAN_ALLOW_EMAIL | CK_SAN_ALLOW_URI, "CN,O,OU",
        2048, true, 398},
    {"code-signing", "critical,digitalSignature", "codeSigning", false, 0,
        "CN,O,OU,L,ST,C", 3072, false, 1185},
    {"email", "critical,digitalSignature,keyEncipherment", "emailProtection",
        false, CK_SAN_ALLOW_EMAIL, "CN,O,OU", 2048, true, 825},
    {"device", "critical,digitalSignature,keyAgreement",
        "clientAuth,serverAuth", false,
        CK_SAN_ALLOW_DNS | CK_SAN_ALLOW_IP | CK_SAN_ALLOW_URI,
        "CN,O,OU,serialNumber", 2048, true, 3650},
    {"sub-ca", "critical,keyCertSign,cRLSign,digitalSignature", NULL, true, 0,
        "CN,O,OU,C", 3072, true, 1825},
};

const struct ck_profile *
ck_profile_find(const char *name)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

int
ck_profile_max_days(const struct ck_profile *p, int64_t at)
{
	/* SC-081: the step dates, 00:00 UTC. */
	const int64_t mar2026 = 1773532800, mar2027 = 1805068800,
	              mar2029 = 1868227200;

	if (p->max_days > 0)
		return p->max_days;
	if (at >= mar2029)
		return 47;
	if (at >= mar2027)
		return 100;
	if (at >= mar2026)
		return 200;
	return 398;
}

int
ck_profile_check_key(const struct ck_profile *p, const char *key_type, int bits,
    const char *curve, struct ck_err *err)
{
	if (strcmp(key_type, "rsa") == 0) {
		if (bits < p->min_rsa_bits || bits > 8192)
			return ck_err_set(err, CK_E_INVAL,
			    "profile %s takes RSA keys of %d to 8192 bits, not "
			    "%d",
			    p->name, p->min_rsa_bits, bits);
		return 0;
	}
	if (strcmp(key_type, "ec") == 0) {
		if (strcmp(curve, "P-256") != 0 &&
		    strcmp(curve, "P-384") != 0 && strcmp(curve, "P-521") != 0)
			return ck_err_set(err, CK_E_INVAL,
			    "profile %s does not take EC keys on %s (P-256, "
			    "P-384, P-521)",
			    p->name, *curve ? curve : "explicit parameters");
		return 0;
	}
	if (strcmp(key_type, "ed25519") == 0 && p->allow_ed25519)
		return 0;
	return ck_err_set(err, CK_E_INVAL, "profile %s does not take %s keys",
	    p->name, key_type);
}
