/*
 * ck_x509_parse against OpenSSL's own X509 API: every field of struct
 * ck_cert is compared with what OpenSSL reports for the same certificate,
 * and the interesting ones are also pinned to literal values.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/sha.h>

#include "x509/fixtures.h"
#include "x509/x509.h"

static struct fx_pki pki;

static void
setup(void)
{
	ck_x509_init();
	fx_pki_init(&pki);
}

static void
teardown(void)
{
	fx_pki_release(&pki);
}

/* Parses x at lvl; the test fails if the parser refuses it. */
static struct ck_cert *
parse(X509 *x, enum ck_parse_level lvl)
{
	struct ck_err err = {0};
	struct ck_cert *c = NULL;
	unsigned char *der;
	size_t len;
	int r;

	der = fx_der(x, &len);
	r = ck_x509_parse(der, len, lvl, &c, &err);
	OPENSSL_free(der);
	cr_assert_eq(r, 0, "ck_x509_parse: %s", err.msg);
	cr_assert_not_null(c);
	return c;
}

static void
check_list(const struct ck_strlist *got, const struct ck_strlist *want,
    const char *what)
{
	cr_assert_eq(got->n, want->n, "%s: %zu items, OpenSSL has %zu", what,
	    got->n, want->n);
	for (size_t i = 0; i < got->n; i++)
		cr_assert_str_eq(got->v[i], want->v[i], "%s[%zu]", what, i);
}

static void
uris(const GENERAL_NAMES *gens, struct ck_strlist *l)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_URI)
			ck_strlist_add(l,
			    (const char *)ASN1_STRING_get0_data(
			        g->d.uniformResourceIdentifier));
	}
}

static int64_t
epoch_of(const ASN1_TIME *t)
{
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	int days, secs;

	cr_assert(ASN1_TIME_diff(&days, &secs, epoch, t) == 1);
	ASN1_TIME_free(epoch);
	return (int64_t)days * FX_DAY + secs;
}

static void
check_sans(const struct ck_cert *c, X509 *x)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t k = 0;

	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		enum ck_san_type t;
		char want[INET6_ADDRSTRLEN];
		const ASN1_STRING *s;

		switch (g->type) {
		case GEN_DNS: t = CK_SAN_DNS, s = g->d.dNSName; break;
		case GEN_EMAIL: t = CK_SAN_EMAIL, s = g->d.rfc822Name; break;
		case GEN_URI:
			t = CK_SAN_URI, s = g->d.uniformResourceIdentifier;
			break;
		case GEN_IPADD: t = CK_SAN_IP, s = g->d.iPAddress; break;
		default: continue; /* the model keeps only these four */
		}
		cr_assert_lt(k, c->n_sans, "fewer SANs than OpenSSL sees");
		cr_assert_eq(c->sans[k].type, t, "SAN %zu type", k);
		if (t == CK_SAN_IP)
			cr_assert_not_null(
			    inet_ntop(s->length == 4 ? AF_INET : AF_INET6,
			        s->data, want, sizeof(want)));
		else
			snprintf(want, sizeof(want), "%.*s", s->length,
			    (const char *)s->data);
		cr_assert_str_eq(c->sans[k].value, want, "SAN %zu", k);
		k++;
	}
	cr_assert_eq(k, c->n_sans, "more SANs than OpenSSL sees");
	GENERAL_NAMES_free(gens);
}

static void
check_key(const struct ck_cert *c, X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[64] = "";
	const char *want_curve = "";

	cr_assert_not_null(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		cr_assert_str_eq(c->key_type, "rsa");
		cr_assert_eq(c->key_bits, EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_EC:
		cr_assert_str_eq(c->key_type, "ec");
		cr_assert_eq(c->key_bits, EVP_PKEY_get_bits(pk));
		cr_assert(EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL));
		want_curve = EC_curve_nid2nist(OBJ_txt2nid(group));
		cr_assert_not_null(want_curve, "%s has a NIST name", group);
		break;
	case EVP_PKEY_ED25519:
		cr_assert_str_eq(c->key_type, "ed25519");
		cr_assert_eq(c->key_bits, EVP_PKEY_get_bits(pk));
		break;
	default: cr_assert_fail("unexpected key type in a fixture");
	}
	cr_assert_str_eq(c->curve, want_curve);
}

static char *
opt_hex(const ASN1_OCTET_STRING *os)
{
	return os == NULL ? NULL : fx_hex(os->data, (size_t)os->length);
}

static void
check_opt_str(const char *got, char *want, const char *what)
{
	if (want == NULL)
		cr_assert_null(got, "%s should be absent", what);
	else
		cr_assert_str_eq(got, want, "%s", what);
	free(want);
}

static void
check_full(const struct ck_cert *c, X509 *x)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} ku[] = {{KU_DIGITAL_SIGNATURE, "digitalSignature"},
	    {KU_NON_REPUDIATION, "nonRepudiation"},
	    {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
	    {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
	    {KU_KEY_AGREEMENT, "keyAgreement"},
	    {KU_KEY_CERT_SIGN, "keyCertSign"}, {KU_CRL_SIGN, "cRLSign"},
	    {KU_ENCIPHER_ONLY, "encipherOnly"},
	    {KU_DECIPHER_ONLY, "decipherOnly"}};
	struct ck_strlist want = {0};
	EXTENDED_KEY_USAGE *eku;
	CRL_DIST_POINTS *dps;
	AUTHORITY_INFO_ACCESS *aia;
	CERTIFICATEPOLICIES *pol;
	STACK_OF(OPENSSL_STRING) *ocsp = NULL;
	char buf[128];

	if (X509_get_extension_flags(x) & EXFLAG_KUSAGE)
		for (size_t i = 0; i < sizeof(ku) / sizeof(ku[0]); i++)
			if (X509_get_key_usage(x) & ku[i].bit)
				ck_strlist_add(&want, ku[i].name);
	check_list(&c->key_usage, &want, "key usage");
	ck_strlist_release(&want);

	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		if (OBJ_obj2nid(o) != NID_undef)
			ck_strlist_add(&want, OBJ_nid2sn(OBJ_obj2nid(o)));
		else {
			OBJ_obj2txt(buf, sizeof(buf), o, 1);
			ck_strlist_add(&want, buf);
		}
	}
	EXTENDED_KEY_USAGE_free(eku);
	check_list(&c->ext_key_usage, &want, "extended key usage");
	ck_strlist_release(&want);

	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		if (dp->distpoint != NULL && dp->distpoint->type == 0)
			uris(dp->distpoint->name.fullname, &want);
	}
	CRL_DIST_POINTS_free(dps);
	check_list(&c->crl_dps, &want, "CRL distribution points");
	ck_strlist_release(&want);

	ocsp = X509_get1_ocsp(x);
	for (int i = 0; i < sk_OPENSSL_STRING_num(ocsp); i++)
		ck_strlist_add(&want, sk_OPENSSL_STRING_value(ocsp, i));
	X509_email_free(ocsp);
	check_list(&c->ocsp_urls, &want, "OCSP URLs");
	ck_strlist_release(&want);

	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		if (OBJ_obj2nid(ad->method) == NID_ad_ca_issuers &&
		    ad->location->type == GEN_URI)
			ck_strlist_add(&want,
			    (const char *)ASN1_STRING_get0_data(
			        ad->location->d.uniformResourceIdentifier));
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	check_list(&c->ca_issuer_urls, &want, "caIssuers URLs");
	ck_strlist_release(&want);

	pol = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
	for (int i = 0; i < sk_POLICYINFO_num(pol); i++) {
		OBJ_obj2txt(
		    buf, sizeof(buf), sk_POLICYINFO_value(pol, i)->policyid, 1);
		ck_strlist_add(&want, buf);
	}
	CERTIFICATEPOLICIES_free(pol);
	check_list(&c->policies, &want, "policies");
	ck_strlist_release(&want);

	cr_assert_eq(
	    c->has_scts, X509_get_ext_by_NID(x, NID_ct_precert_scts, -1) >= 0);
}

/* Every field of c against OpenSSL's view of x. */
static void
check_cert(const struct ck_cert *c, X509 *x, enum ck_parse_level lvl)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der;
	unsigned int mdlen;
	size_t len;
	BIO *bio;
	char *s;
	int last = -1;

	der = fx_der(x, &len);
	cr_assert_eq(c->der_len, len);
	cr_assert(memcmp(c->der, der, len) == 0, "DER differs");
	OPENSSL_free(der);

	cr_assert(X509_digest(x, EVP_sha256(), md, &mdlen) == 1);
	cr_assert_eq(mdlen, 32);
	cr_assert(memcmp(c->sha256, md, 32) == 0, "SHA-256 fingerprint");
	cr_assert(X509_digest(x, EVP_sha1(), md, &mdlen) == 1);
	cr_assert_eq(mdlen, 20);
	cr_assert(memcmp(c->sha1, md, 20) == 0, "SHA-1 fingerprint");

	cr_assert_eq(c->version, (int)X509_get_version(x) + 1);

	/* As `openssl x509 -serial` prints it, in lower case. */
	bio = BIO_new(BIO_s_mem());
	cr_assert(i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(x)) > 0);
	s = fx_bio_string(bio, NULL);
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	cr_assert_str_eq(c->serial, s, "serial");
	free(s);

	s = fx_name_text(X509_get_subject_name(x));
	cr_assert_str_eq(c->subject, s, "subject");
	free(s);
	s = fx_name_text(X509_get_issuer_name(x));
	cr_assert_str_eq(c->issuer, s, "issuer");
	free(s);

	for (int i = -1;
	     (i = X509_NAME_get_index_by_NID(
	          X509_get_subject_name(x), NID_commonName, i)) >= 0;)
		last = i;
	if (last < 0) {
		cr_assert_null(c->cn);
	} else {
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8,
		    X509_NAME_ENTRY_get_data(
		        X509_NAME_get_entry(X509_get_subject_name(x), last)));
		cr_assert_geq(n, 0);
		cr_assert_str_eq(c->cn, (char *)utf8, "common name");
		OPENSSL_free(utf8);
	}

	check_sans(c, x);
	cr_assert_eq(c->not_before, epoch_of(X509_get0_notBefore(x)));
	cr_assert_eq(c->not_after, epoch_of(X509_get0_notAfter(x)));
	check_key(c, x);
	cr_assert_str_eq(c->sig_alg, OBJ_nid2ln(X509_get_signature_nid(x)));
	cr_assert_eq(c->is_ca, (X509_get_extension_flags(x) & EXFLAG_CA) != 0);
	cr_assert_eq(c->path_len, (int)X509_get_pathlen(x));
	check_opt_str(c->ski, opt_hex(X509_get0_subject_key_id(x)), "SKI");
	check_opt_str(c->aki, opt_hex(X509_get0_authority_key_id(x)), "AKI");
	cr_assert_eq(c->self_issued,
	    (X509_get_extension_flags(x) & EXFLAG_SI) != 0, "self-issued");

	cr_assert_eq(c->full, lvl == CK_PARSE_FULL);
	if (lvl == CK_PARSE_FULL) {
		check_full(c, x);
	} else {
		cr_assert_eq(c->key_usage.n, 0);
		cr_assert_eq(c->ext_key_usage.n, 0);
		cr_assert_eq(c->crl_dps.n, 0);
		cr_assert_eq(c->ocsp_urls.n, 0);
		cr_assert_eq(c->ca_issuer_urls.n, 0);
		cr_assert_eq(c->policies.n, 0);
		cr_assert_not(c->has_scts);
	}
}

static void
check_both_levels(X509 *x)
{
	struct ck_cert *c;

	c = parse(x, CK_PARSE_CORE);
	check_cert(c, x, CK_PARSE_CORE);
	ck_cert_free(c);
	c = parse(x, CK_PARSE_FULL);
	check_cert(c, x, CK_PARSE_FULL);
	ck_cert_free(c);
}

TestSuite(parse, .init = setup, .fini = teardown);

Test(parse, every_fixture_matches_openssl)
{
	X509 *all[] = {
	    pki.root, pki.inter, pki.leaf, pki.ed_leaf, pki.expired, pki.self};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		check_both_levels(all[i]);
}

Test(parse, leaf_values)
{
	struct ck_cert *c = parse(pki.leaf, CK_PARSE_FULL);
	static const struct {
		enum ck_san_type t;
		const char *v;
	} sans[] = {{CK_SAN_DNS, "leaf.example.test"},
	    {CK_SAN_DNS, "*.leaf.example.test"}, {CK_SAN_IP, "192.0.2.10"},
	    {CK_SAN_IP, "2001:db8::10"}, {CK_SAN_EMAIL, "ops@example.test"},
	    {CK_SAN_URI, "https://leaf.example.test/id"}};

	cr_assert_eq(c->version, 3);
	cr_assert_str_eq(c->serial, "deadbeef0123456789abcdef0123456789");
	cr_assert_str_eq(c->subject,
	    "CN=leaf.example.test,"
	    "CN=first.example.test,OU=ops,"
	    "O=certkeep\\, tests,C=DE");
	cr_assert_str_eq(
	    c->issuer, "CN=Zwischen-CA Z\xc3\xbcrich,O=certkeep\\, tests,C=DE");
	cr_assert_str_eq(c->cn, "leaf.example.test");
	/* The registered ID is not one of the four kinds kept. */
	cr_assert_eq(c->n_sans, 6);
	for (size_t i = 0; i < 6; i++) {
		cr_assert_eq(c->sans[i].type, sans[i].t);
		cr_assert_str_eq(c->sans[i].value, sans[i].v);
	}
	cr_assert_eq(c->not_before, pki.now - FX_DAY);
	cr_assert_eq(c->not_after, pki.now + 90 * FX_DAY);
	cr_assert_str_eq(c->key_type, "ec");
	cr_assert_eq(c->key_bits, 256);
	cr_assert_str_eq(c->curve, "P-256");
	cr_assert_str_eq(c->sig_alg, "ecdsa-with-SHA384");
	cr_assert_not(c->is_ca);
	cr_assert_eq(c->path_len, -1);
	cr_assert_not_null(c->ski);
	cr_assert_eq(strlen(c->ski), 40);
	cr_assert_not(c->self_issued);
	cr_assert(c->full);
	cr_assert_eq(c->key_usage.n, 2);
	cr_assert_str_eq(c->key_usage.v[0], "digitalSignature");
	cr_assert_str_eq(c->key_usage.v[1], "keyAgreement");
	cr_assert_eq(c->ext_key_usage.n, 3);
	cr_assert_str_eq(c->ext_key_usage.v[0], "serverAuth");
	cr_assert_str_eq(c->ext_key_usage.v[1], "clientAuth");
	cr_assert_str_eq(c->ext_key_usage.v[2], "1.3.6.1.4.1.99999.3");
	cr_assert_eq(c->crl_dps.n, 2);
	cr_assert_str_eq(c->crl_dps.v[0], "http://crl.example.test/int.crl");
	cr_assert_str_eq(c->crl_dps.v[1], "ldap://crl.example.test/cn=int");
	cr_assert_eq(c->ocsp_urls.n, 1);
	cr_assert_str_eq(c->ocsp_urls.v[0], "http://ocsp.example.test");
	cr_assert_eq(c->ca_issuer_urls.n, 1);
	cr_assert_str_eq(
	    c->ca_issuer_urls.v[0], "http://ca.example.test/int.crt");
	cr_assert_eq(c->policies.n, 2);
	cr_assert_str_eq(c->policies.v[0], "2.23.140.1.2.2");
	cr_assert_str_eq(c->policies.v[1], "1.3.6.1.4.1.99999.1.2");
	cr_assert(c->has_scts);
	ck_cert_free(c);
}

Test(parse, chain_links_by_key_identifier)
{
	struct ck_cert *root = parse(pki.root, CK_PARSE_CORE);
	struct ck_cert *inter = parse(pki.inter, CK_PARSE_CORE);
	struct ck_cert *leaf = parse(pki.leaf, CK_PARSE_CORE);

	cr_assert_str_eq(inter->aki, root->ski);
	cr_assert_str_eq(leaf->aki, inter->ski);
	cr_assert_str_eq(leaf->issuer, inter->subject);
	cr_assert_str_eq(inter->issuer, root->subject);
	cr_assert_str_neq(inter->ski, root->ski);
	ck_cert_free(root);
	ck_cert_free(inter);
	ck_cert_free(leaf);
}

Test(parse, root_is_self_issued_ca_with_pathlen)
{
	struct ck_cert *c = parse(pki.root, CK_PARSE_FULL);

	cr_assert_str_eq(
	    c->subject, "CN=certkeep Test Root CA,O=certkeep\\, tests,C=DE");
	cr_assert_str_eq(c->issuer, c->subject);
	cr_assert_str_eq(c->serial, "1000");
	cr_assert(c->is_ca);
	cr_assert_eq(c->path_len, 1);
	cr_assert(c->self_issued);
	cr_assert_str_eq(c->aki, c->ski);
	cr_assert_str_eq(c->key_type, "rsa");
	cr_assert_eq(c->key_bits, 2048);
	cr_assert_str_eq(c->curve, "");
	cr_assert_str_eq(c->sig_alg, "sha256WithRSAEncryption");
	/* After 2049 the time is a GeneralizedTime. */
	cr_assert_eq(c->not_after, FX_ROOT_NOT_AFTER);
	cr_assert_eq(c->key_usage.n, 2);
	cr_assert_str_eq(c->key_usage.v[0], "keyCertSign");
	cr_assert_str_eq(c->key_usage.v[1], "cRLSign");
	cr_assert_eq(c->n_sans, 0);
	cr_assert_not(c->has_scts);
	ck_cert_free(c);
}

Test(parse, intermediate_p384_pathlen_zero)
{
	struct ck_cert *c = parse(pki.inter, CK_PARSE_FULL);

	cr_assert(c->is_ca);
	cr_assert_eq(c->path_len, 0);
	cr_assert_not(c->self_issued);
	cr_assert_str_eq(c->key_type, "ec");
	cr_assert_eq(c->key_bits, 384);
	cr_assert_str_eq(c->curve, "P-384");
	cr_assert_str_eq(c->cn, "Zwischen-CA Z\xc3\xbcrich");
	cr_assert_eq(c->crl_dps.n, 1);
	cr_assert_str_eq(c->crl_dps.v[0], "http://crl.example.test/root.crl");
	ck_cert_free(c);
}

Test(parse, ed25519_negative_serial_no_basic_constraints)
{
	struct ck_cert *c = parse(pki.ed_leaf, CK_PARSE_CORE);

	cr_assert_str_eq(c->serial, "-0102");
	cr_assert_not(c->is_ca);
	cr_assert_eq(c->path_len, -1);
	cr_assert_str_eq(c->key_type, "ed25519");
	cr_assert_eq(c->key_bits, 256);
	cr_assert_str_eq(c->curve, "");
	cr_assert_str_eq(c->subject, "CN=ed.example.test");
	cr_assert_str_eq(c->sig_alg, "ecdsa-with-SHA384");
	ck_cert_free(c);
}

Test(parse, ed25519_signature_algorithm)
{
	X509 *x = fx_cert_new(&(struct fx_spec){
	    .subject = (const char *const[]){"CN", "ed root", NULL},
	    .key = pki.ed_key,
	    .not_before = pki.now,
	    .not_after = pki.now + FX_DAY,
	    .bc = "critical,CA:TRUE"});
	struct ck_cert *c = parse(x, CK_PARSE_FULL);

	check_cert(c, x, CK_PARSE_FULL);
	cr_assert_str_eq(c->sig_alg, "ED25519");
	cr_assert(c->is_ca);
	cr_assert_eq(c->path_len, -1);
	cr_assert(c->self_issued);
	cr_assert_null(c->ski);
	cr_assert_null(c->aki);
	ck_cert_free(c);
	X509_free(x);
}

static EVP_PKEY *
ec_key(const char *group, const char *encoding)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(
	        OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
	    OSSL_PARAM_construct_utf8_string(
	        OSSL_PKEY_PARAM_EC_ENCODING, (char *)encoding, 0),
	    OSSL_PARAM_construct_end()};
	EVP_PKEY *k = NULL;

	cr_assert(EVP_PKEY_keygen_init(pc) == 1);
	cr_assert(EVP_PKEY_CTX_set_params(pc, params) == 1);
	cr_assert(EVP_PKEY_generate(pc, &k) == 1, "%s", group);
	EVP_PKEY_CTX_free(pc);
	return k;
}

/* Curves without a NIST name: the second brainpool one goes through the
 * looked-up (cached) order size, the first through the table. */
Test(parse, other_named_curves)
{
	static const struct {
		const char *group, *curve;
		int bits;
	} want[] = {{"secp256k1", "secp256k1", 256},
	    {"brainpoolP256r1", "brainpoolP256r1", 256},
	    {"brainpoolP384r1", "brainpoolP384r1", 384},
	    {"brainpoolP256r1", "brainpoolP256r1", 256}};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		EVP_PKEY *k = ec_key(want[i].group, "named_curve");
		X509 *x = fx_cert_new(&(struct fx_spec){
		    .subject = (const char *const[]){"CN", "curve", NULL},
		    .key = k,
		    .issuer = pki.inter,
		    .issuer_key = pki.int_key,
		    .not_before = pki.now,
		    .not_after = pki.now + FX_DAY});
		struct ck_cert *c = parse(x, CK_PARSE_CORE);

		cr_assert_str_eq(c->key_type, "ec");
		cr_assert_str_eq(c->curve, want[i].curve);
		cr_assert_eq(c->key_bits, want[i].bits);
		cr_assert_eq(
		    c->key_bits, EVP_PKEY_get_bits(X509_get0_pubkey(x)));
		ck_cert_free(c);
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

/* Explicit curve parameters are decoded by OpenSSL (the slow path). */
Test(parse, explicit_curve_parameters)
{
	EVP_PKEY *k = ec_key("P-256", "explicit");
	X509 *x = fx_cert_new(&(struct fx_spec){
	    .subject = (const char *const[]){"CN", "explicit", NULL},
	    .key = k,
	    .issuer = pki.inter,
	    .issuer_key = pki.int_key,
	    .not_before = pki.now,
	    .not_after = pki.now + FX_DAY});
	struct ck_cert *c = parse(x, CK_PARSE_CORE);

	cr_assert_str_eq(c->key_type, "ec");
	cr_assert_eq(c->key_bits, 256);
	cr_assert_str_eq(c->curve, "");
	ck_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

Test(parse, every_key_usage_bit)
{
	static const char *const names[] = {"digitalSignature",
	    "nonRepudiation", "keyEncipherment", "dataEncipherment",
	    "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly",
	    "decipherOnly"};
	X509 *x = fx_cert_new(&(struct fx_spec){.subject = fx_self_subject,
	    .key = pki.leaf_key,
	    .not_before = pki.now,
	    .not_after = pki.now + FX_DAY,
	    .ku = "digitalSignature,nonRepudiation,keyEncipherment,"
	          "dataEncipherment,keyAgreement,keyCertSign,cRLSign,"
	          "encipherOnly,decipherOnly"});
	struct ck_cert *c = parse(x, CK_PARSE_FULL);

	check_cert(c, x, CK_PARSE_FULL);
	cr_assert_eq(c->key_usage.n, 9);
	for (size_t i = 0; i < 9; i++)
		cr_assert_str_eq(c->key_usage.v[i], names[i]);
	ck_cert_free(c);
	X509_free(x);
}

Test(parse, self_signed)
{
	struct ck_cert *c = parse(pki.self, CK_PARSE_CORE);

	cr_assert(c->self_issued);
	cr_assert_not(c->is_ca);
	cr_assert_str_eq(c->aki, c->ski);
	cr_assert_str_eq(c->subject, "CN=self.example.test,O=self");
	cr_assert_str_eq(c->sig_alg, "ecdsa-with-SHA256");
	ck_cert_free(c);
}

Test(parse, version_1_without_extensions)
{
	X509 *x = fx_cert_new(&(struct fx_spec){
	    .subject = (const char *const[]){"CN", "v1", NULL},
	    .key = pki.leaf_key,
	    .version = 1,
	    .serial = "00",
	    .not_before = pki.now,
	    .not_after = pki.now + FX_DAY});
	struct ck_cert *c = parse(x, CK_PARSE_FULL);

	check_cert(c, x, CK_PARSE_FULL);
	cr_assert_eq(c->version, 1);
	cr_assert_str_eq(c->serial, "00");
	cr_assert_null(c->ski);
	cr_assert_null(c->aki);
	cr_assert_eq(c->n_sans, 0);
	ck_cert_free(c);
	X509_free(x);
}

Test(parse, no_common_name)
{
	X509 *x = fx_cert_new(&(struct fx_spec){
	    .subject = (const char *const[]){"O", "no cn", NULL},
	    .key = pki.leaf_key,
	    .not_before = pki.now,
	    .not_after = pki.now + FX_DAY});
	struct ck_cert *c = parse(x, CK_PARSE_CORE);

	cr_assert_null(c->cn);
	cr_assert_str_eq(c->subject, "O=no cn");
	ck_cert_free(c);
	X509_free(x);
}

Test(parse, expiry)
{
	struct ck_cert *old = parse(pki.expired, CK_PARSE_CORE);
	struct ck_cert *leaf = parse(pki.leaf, CK_PARSE_CORE);

	cr_assert_eq(old->not_after, pki.now - 10 * FX_DAY);
	cr_assert(ck_cert_is_expired(old, pki.now));
	cr_assert_not(ck_cert_is_expired(leaf, pki.now));
	/* The last second of validity is still valid. */
	cr_assert_not(ck_cert_is_expired(leaf, leaf->not_after));
	cr_assert(ck_cert_is_expired(leaf, leaf->not_after + 1));
	ck_cert_free(old);
	ck_cert_free(leaf);
}

/* A second SKI and AKI: RFC 5280 forbids it, but the parser must not
 * leak or crash on it (it keeps the last one). */
Test(parse, duplicate_key_identifiers)
{
	X509 *x = fx_cert_new(&(struct fx_spec){
	    .subject = (const char *const[]){"CN", "dup", NULL},
	    .key = pki.leaf_key,
	    .issuer = pki.inter,
	    .issuer_key = pki.int_key,
	    .not_before = pki.now,
	    .not_after = pki.now + FX_DAY,
	    .ski = true,
	    .aki = true});
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	struct ck_cert *c;

	X509V3_set_ctx(&ctx, pki.inter, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(
	    NULL, &ctx, NID_subject_key_identifier, "0102030405");
	cr_assert(X509_add_ext(x, e, -1) == 1);
	X509_EXTENSION_free(e);
	e = X509V3_EXT_nconf_nid(
	    NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	cr_assert(X509_add_ext(x, e, -1) == 1);
	X509_EXTENSION_free(e);
	cr_assert(X509_sign(x, pki.int_key, EVP_sha384()) > 0);
	c = parse(x, CK_PARSE_FULL);
	cr_assert_str_eq(c->ski, "0102030405");
	ck_cert_free(c);
	X509_free(x);
}

Test(parse, refuses_truncated_and_trailing_bytes)
{
	static struct ck_cert dummy;
	struct ck_err err = {0};
	struct ck_cert *c = &dummy; /* the parser must reset it */
	unsigned char *der, *more;
	size_t len;

	der = fx_der(pki.leaf, &len);
	cr_assert_eq(
	    ck_x509_parse(der, len - 1, CK_PARSE_FULL, &c, &err), CK_E_PARSE);
	cr_assert_null(c);
	cr_assert_eq(err.code, CK_E_PARSE);
	cr_assert(strncmp(err.msg, "certificate", 11) == 0, "%s", err.msg);

	more = malloc(len + 3);
	memcpy(more, der, len);
	memset(more + len, 0, 3);
	cr_assert_eq(
	    ck_x509_parse(more, len + 3, CK_PARSE_CORE, &c, &err), CK_E_PARSE);
	cr_assert_null(c);
	cr_assert_str_eq(err.msg, "certificate: 3 bytes of trailing data");
	free(more);
	OPENSSL_free(der);
}

Test(parse, refuses_garbage_and_oversize)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	struct ck_err err = {0};
	struct ck_cert *c;
	uint8_t *big;

	cr_assert_eq(ck_x509_parse(junk, sizeof(junk), CK_PARSE_CORE, &c, &err),
	    CK_E_PARSE);
	cr_assert_null(c);
	/* The innermost cause, not OpenSSL's "nested asn1 error" wrapper. */
	cr_assert_str_eq(err.msg, "certificate: wrong tag");
	cr_assert_eq(
	    ck_x509_parse(junk, 0, CK_PARSE_CORE, &c, NULL), CK_E_PARSE);
	big = calloc(1, (1 << 20) + 1);
	cr_assert_eq(ck_x509_parse(big, (1 << 20) + 1, CK_PARSE_CORE, &c, &err),
	    CK_E_TOO_LARGE);
	cr_assert_null(c);
	cr_assert_str_eq(err.msg, "certificate too large");
	free(big);
}

Test(parse, free_accepts_null)
{
	ck_cert_free(NULL);
	ck_csr_free(NULL);
}

Test(parse, san_type_names)
{
	cr_assert_str_eq(ck_san_type_name(CK_SAN_DNS), "DNS");
	cr_assert_str_eq(ck_san_type_name(CK_SAN_IP), "IP");
	cr_assert_str_eq(ck_san_type_name(CK_SAN_EMAIL), "email");
	cr_assert_str_eq(ck_san_type_name(CK_SAN_URI), "URI");
}

Test(parse, pem_encode_round_trips_with_openssl)
{
	struct ck_buf b = CK_BUF_INIT;
	unsigned char *der;
	size_t len;
	char *want = fx_pem(pki.leaf);

	der = fx_der(pki.leaf, &len);
	ck_pem_encode("CERTIFICATE", der, len, &b);
	cr_assert_str_eq(b.p, want);
	ck_buf_release(&b);
	/* Every tail length of the last base64 group. */
	for (size_t n = 1; n <= 3; n++) {
		BIO *bio = BIO_new(BIO_s_mem());
		char *w;

		cr_assert(PEM_write_bio(bio, "X", "", der, (long)n) > 0);
		w = fx_bio_string(bio, NULL);
		ck_pem_encode("X", der, n, &b);
		cr_assert_str_eq(b.p, w);
		ck_buf_release(&b);
		free(w);
	}
	OPENSSL_free(der);
	free(want);
}

Test(parse, sha256_helper)
{
	uint8_t got[32], want[32];

	ck_sha256("abc", 3, got);
	cr_assert_not_null(SHA256((const unsigned char *)"abc", 3, want));
	cr_assert(memcmp(got, want, 32) == 0);
	cr_assert_eq(got[0], 0xba);
	cr_assert_eq(got[31], 0xad);
}
