/*
 * Signing a certificate request with a built-in CA under a profile: the
 * request's self-signature, key, SANs and subject are checked against the
 * profile; refusals say what and why; nothing is recorded here.
 */
#include "ca/ca.h"
#include "ca/ca_int.h"

#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "base/mem.h"
#include "x509/x509.h"

#define MAX_CN 64 /* ub-common-name, RFC 5280 */

static bool
field_allowed(const char *list, const char *sn)
{
	size_t n = strlen(sn);

	for (const char *p = list; (p = strstr(p, sn)) != NULL; p += n)
		if ((p == list || p[-1] == ',') &&
		    (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* The subject: the profile's attributes copied from the request. */
static int
subject_from(const X509_NAME *in, const struct ck_profile *p, X509_NAME **out,
    struct ck_err *err)
{
	X509_NAME *n = X509_NAME_new();

	for (int i = 0; i < X509_NAME_entry_count(in); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(in, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);

		if (nid == NID_undef ||
		    !field_allowed(p->subject_fields, OBJ_nid2sn(nid)))
			continue; /* dropped: the profile does not copy it */
		if (nid == NID_commonName && ASN1_STRING_length(v) > MAX_CN) {
			X509_NAME_free(n);
			return ck_err_set(err, CK_E_INVAL,
			    "subject CN is %d characters, longer than %d",
			    ASN1_STRING_length(v), MAX_CN);
		}
		X509_NAME_add_entry(n, e, -1, 0);
	}
	*out = n;
	return 0;
}

static unsigned
san_bit(enum ck_san_type t)
{
	switch (t) {
	case CK_SAN_DNS: return CK_SAN_ALLOW_DNS;
	case CK_SAN_IP: return CK_SAN_ALLOW_IP;
	case CK_SAN_EMAIL: return CK_SAN_ALLOW_EMAIL;
	case CK_SAN_URI: return CK_SAN_ALLOW_URI;
	}
	return 0;
}

/* The SAN extension text ("DNS:a,IP:1.2.3.4"), refusing forbidden types. */
static int
sans_text(const struct ca_request *csr, const struct ck_profile *p,
    struct ck_buf *out, struct ck_err *err)
{
	static const char *const conf[] = {"DNS", "IP", "email", "URI"};
	bool cn_listed = csr->cn == NULL;

	ck_buf_reset(out);
	for (size_t i = 0; i < csr->n_sans; i++) {
		const struct ck_san *s = &csr->sans[i];

		if (!(p->san_types & san_bit(s->type)))
			return ck_err_set(err, CK_E_INVAL,
			    "profile %s does not allow %s names (%s)", p->name,
			    ck_san_type_name(s->type), s->value);
		if (strpbrk(s->value, ",\n") != NULL)
			return ck_err_set(err, CK_E_INVAL,
			    "name '%s' has characters a name cannot have",
			    s->value);
		ck_buf_printf(out, "%s%s:%s", out->len ? "," : "",
		    conf[s->type], s->value);
		if (csr->cn != NULL && strcasecmp(s->value, csr->cn) == 0)
			cn_listed = true;
	}
	/* Baseline Requirements: a CN must also be a SAN. */
	if (!cn_listed && (p->san_types & CK_SAN_ALLOW_DNS) && p->web_pki) {
		if (strpbrk(csr->cn, ", \n") != NULL)
			return ck_err_set(err, CK_E_INVAL,
			    "subject CN '%s' is not a DNS name", csr->cn);
		ck_buf_printf(out, "%sDNS:%s", out->len ? "," : "", csr->cn);
	}
	if (p->san_types != 0 && out->len == 0 && p->web_pki)
		return ck_err_set(err, CK_E_INVAL,
		    "profile %s needs at least one DNS name or IP address",
		    p->name);
	return 0;
}

static int64_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

int
ck_ca_sign(struct ck_store *st, const struct ck_sign_req *req, uint8_t **der,
    size_t *der_len, int64_t *ca_id, int64_t *ca_cert_id, struct ck_err *err)
{
	const struct ck_profile *p = req->profile;
	uint8_t mk[CK_MASTER_KEY_LEN];
	struct ca_loaded ca = {0};
	struct ca_request csr = {0};
	struct ck_buf sans = CK_BUF_INIT, tmp = CK_BUF_INIT;
	X509 *cacert = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL;
	X509_NAME *subject = NULL;
	unsigned char *out = NULL;
	int64_t now = ck_now(), end, ca_end;
	int r, max, len, days;
	bool have_mk = false;

	*der = NULL;
	*der_len = 0;
	/* The request itself. */
	if ((r = ca_request_read(req->csr, req->csr_len, &csr, err)) != 0)
		goto out;
	if ((r = ck_profile_check_key(
	         p, csr.key_type, csr.key_bits, csr.curve, err)) != 0 ||
	    (r = sans_text(&csr, p, &sans, err)) != 0)
		goto out;
	max = ck_profile_max_days(p, now);
	days = req->days > 0 ? req->days : max;
	if (days > max) {
		r = ck_err_set(err, CK_E_INVAL,
		    "profile %s allows at most %d days for a certificate "
		    "issued "
		    "now, not %d",
		    p->name, max, days);
		goto out;
	}
	if ((r = subject_from(csr.subject, p, &subject, err)) != 0)
		goto out;
	/* The CA. */
	if ((r = ca_master_key(ck_master_key_path(req->master_key), mk, err)) !=
	    0)
		goto out;
	have_mk = true;
	if ((r = ca_load(st, mk, req->ca, &ca, &cacert, &cakey, err)) != 0)
		goto out;
	if (ca.revoked_at != 0) {
		r = ck_err_set(err, CK_E_PERM,
		    "CA '%s' is revoked; it issues nothing", req->ca);
		goto out;
	}
	ca_end = time_of(X509_get0_notAfter(cacert));
	if (ca_end <= now) {
		r = ck_err_set(err, CK_E_PERM,
		    "CA '%s' expired on its not-after date; it issues nothing",
		    req->ca);
		goto out;
	}
	/* The certificate. A certificate never outlives its issuer. */
	end = now + (int64_t)days * 86400;
	if (end > ca_end)
		end = ca_end;
	x = X509_new();
	for (int tries = 0;; tries++) {
		bool taken;
		const ASN1_INTEGER *sn;
		if ((r = ca_set_serial(x, err)) != 0)
			goto out;
		sn = X509_get0_serialNumber(x);
		ck_buf_reset(&tmp);
		ck_buf_addhex(&tmp, sn->data, (size_t)sn->length, 0);
		if ((r = ck_store_serial_taken(
		         st, ca.id, tmp.p, &taken, err)) != 0)
			goto out;
		if (!taken)
			break;
		if (tries == 3) {
			r = ck_err_set(err, CK_E_INTERNAL, "no free serial");
			goto out;
		}
	}
	if (!X509_set_version(x, 2) || !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(cacert)) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - 60)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)end)) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "certificate");
		goto out;
	}
	/* The request's key bytes as they are: decoding and re-encoding the
	 * key would cost several signatures. */
	if ((r = ca_request_set_pubkey(&csr, x, err)) != 0)
		goto out;
	if ((r = ca_add_ext(x, cacert, NID_basic_constraints,
	         p->ca ? "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE",
	         err)) != 0 ||
	    (r = ca_add_ext(x, cacert, NID_key_usage, p->key_usage, err)) !=
	        0 ||
	    (p->ext_key_usage != NULL &&
	        (r = ca_add_ext(x, cacert, NID_ext_key_usage, p->ext_key_usage,
	             err)) != 0) ||
	    (r = ca_add_ext(
	         x, cacert, NID_subject_key_identifier, "hash", err)) != 0 ||
	    (r = ca_add_ext(x, cacert, NID_authority_key_identifier,
	         "keyid:always", err)) != 0 ||
	    (sans.len > 0 &&
	        (r = ca_add_ext(
	             x, cacert, NID_subject_alt_name, sans.p, err)) != 0))
		goto out;
	if (req->public_url != NULL && *req->public_url != '\0') {
		ck_buf_reset(&tmp);
		ck_buf_printf(
		    &tmp, "URI:%s/crl/%s.crl", req->public_url, req->ca);
		if ((r = ca_add_ext(x, cacert, NID_crl_distribution_points,
		         tmp.p, err)) != 0)
			goto out;
		ck_buf_reset(&tmp);
		ck_buf_printf(&tmp,
		    "OCSP;URI:%s/ocsp,caIssuers;URI:%s/ca/%s.crt",
		    req->public_url, req->public_url, req->ca);
		if ((r = ca_add_ext(x, cacert, NID_info_access, tmp.p, err)) !=
		    0)
			goto out;
	}
	if (X509_sign(x, cakey, ca_digest_for(ca.key_type)) <= 0) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "signing");
		goto out;
	}
	if ((len = i2d_X509(x, &out)) <= 0) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "certificate");
		goto out;
	}
	*der = ck_memdup(out, (size_t)len);
	*der_len = (size_t)len;
	*ca_id = ca.id;
	*ca_cert_id = ca.cert_id;
	r = 0;
out:
	if (have_mk)
		ck_cleanse(mk, sizeof(mk));
	OPENSSL_free(out);
	ck_buf_release(&sans);
	ck_buf_release(&tmp);
	ca_loaded_release(&ca);
	ca_request_release(&csr);
	X509_NAME_free(subject);
	X509_free(cacert);
	X509_free(x);
	EVP_PKEY_free(cakey);
	ERR_clear_error();
	return r;
}
