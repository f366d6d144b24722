/*
 * ck_x509_ingest: PEM (many blocks, text, CRLF, whitespace, trusted), DER
 * (one, several, cut, trailing bytes), PKCS#7, keys, and input that is no
 * certificate file, with the items (kind, bytes, container, label, index,
 * reason) that must come out of each. PKCS#12 and requests have their own
 * files.
 */
#include <criterion/criterion.h>

#include <openssl/pkcs7.h>

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

TestSuite(ingest, .init = setup, .fini = teardown);

/* ---- building inputs ---- */

static void
cat(char **buf, size_t *len, const void *p, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void
cats(char **buf, size_t *len, const char *s)
{
	cat(buf, len, s, strlen(s));
}

static void
cat_free(char **buf, size_t *len, char *s)
{
	cats(buf, len, s);
	free(s);
}

static char *
key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());

	cr_assert(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
	return fx_bio_string(b, NULL);
}

static X509_CRL *
crl_new(bool v2)
{
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)pki.now);

	if (v2)
		cr_assert(X509_CRL_set_version(crl, X509_CRL_VERSION_2));
	cr_assert(
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(pki.inter)));
	cr_assert(X509_CRL_set1_lastUpdate(crl, t));
	cr_assert(ASN1_TIME_set(t, (time_t)(pki.now + 7 * FX_DAY)));
	cr_assert(X509_CRL_set1_nextUpdate(crl, t));
	cr_assert(ASN1_INTEGER_set(serial, 4));
	cr_assert(X509_REVOKED_set_serialNumber(rev, serial));
	cr_assert(X509_REVOKED_set_revocationDate(rev, t));
	cr_assert(X509_CRL_add0_revoked(crl, rev));
	cr_assert(X509_CRL_sign(crl, pki.int_key, EVP_sha384()) > 0);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(serial);
	return crl;
}

/* The certificates of a certs-only PKCS#7, as OpenSSL reads them back
 * (a SET OF is sorted when encoded, so the order is OpenSSL's). */
static PKCS7 *
p7_new(X509 *const *certs, size_t n)
{
	PKCS7 *p7 = PKCS7_new();

	cr_assert(PKCS7_set_type(p7, NID_pkcs7_signed));
	cr_assert(PKCS7_content_new(p7, NID_pkcs7_data));
	for (size_t i = 0; i < n; i++)
		cr_assert(PKCS7_add_certificate(p7, certs[i]));
	return p7;
}

static void
check_p7_items(const struct fx_got *g, const unsigned char *der, size_t len,
    size_t first, size_t want)
{
	const unsigned char *p = der;
	PKCS7 *back = d2i_PKCS7(NULL, &p, (long)len);
	STACK_OF(X509) *certs = NULL;

	cr_assert_not_null(back);
	certs = back->d.sign->cert;
	cr_assert_eq(sk_X509_num(certs), (int)want);
	cr_assert_eq(g->n, first + want);
	for (size_t i = 0; i < want; i++)
		fx_check_cert_item(
		    g, first + i, sk_X509_value(certs, (int)i), "pkcs7", NULL);
	PKCS7_free(back);
}

/* ---- PEM ---- */

static char *
many_blocks(size_t *len)
{
	X509_REQ *req = fx_leaf_req(&pki);
	X509_CRL *crl = crl_new(true);
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	*len = 0;
	cats(&s, len,
	    "Bag Attributes\n    friendlyName: leaf\n"
	    "subject=CN = leaf.example.test\n");
	cat_free(&s, len, fx_pem(pki.leaf));
	cats(&s, len, "\nsome words between -----  blocks\n\n");
	cat_free(&s, len, fx_pem(pki.inter));
	cat_free(&s, len, fx_req_pem(req, false));
	cat_free(&s, len, key_pem(pki.leaf_key));
	cats(&s, len, "-----BEGIN FOO BAR-----\nAAAA\n-----END FOO BAR-----\n");
	cr_assert(PEM_write_bio_X509_CRL(b, crl));
	cat_free(&s, len, fx_bio_string(b, NULL));
	cat_free(&s, len, fx_pem(pki.root));
	cats(&s, len, "trailing words, no newline");
	X509_REQ_free(req);
	X509_CRL_free(crl);
	return s;
}

static void
check_many_blocks(const struct fx_got *g)
{
	cr_assert_eq(g->n, 7);
	fx_check_cert_item(g, 0, pki.leaf, "pem", "CERTIFICATE");
	fx_check_cert_item(g, 1, pki.inter, "pem", "CERTIFICATE");
	fx_check_item(g, 2, CK_ITEM_CSR, "pem", "CERTIFICATE REQUEST");
	fx_check_item(g, 3, CK_ITEM_KEY, "pem", "PRIVATE KEY");
	cr_assert_not_null(g->v[3].der);
	fx_check_item(g, 4, CK_ITEM_OTHER, "pem", "FOO BAR");
	cr_assert_str_eq(g->v[4].reason, "PEM block type not taken");
	cr_assert_null(g->v[4].der);
	fx_check_item(g, 5, CK_ITEM_CRL, "pem", "X509 CRL");
	fx_check_cert_item(g, 6, pki.root, "pem", "CERTIFICATE");
}

Test(ingest, pem_many_blocks_with_text_between)
{
	struct fx_got g = {0};
	size_t len;
	char *s = many_blocks(&len);

	fx_ingest_ok(s, len, NULL, &g);
	check_many_blocks(&g);
	fx_got_release(&g);
	free(s);
}

Test(ingest, pem_crlf_line_ends)
{
	struct fx_got g = {0};
	size_t len, n = 0;
	char *s = many_blocks(&len), *crlf = NULL;

	for (size_t i = 0; i < len; i++)
		cat(&crlf, &n, s[i] == '\n' ? "\r\n" : &s[i],
		    s[i] == '\n' ? 2 : 1);
	cr_assert_not_null(strstr(crlf, "-----\r\nMII"));
	fx_ingest_ok(crlf, n, NULL, &g);
	check_many_blocks(&g);
	fx_got_release(&g);
	free(s);
	free(crlf);
}

Test(ingest, pem_whitespace_inside_base64)
{
	static const char *const ws[] = {" ", "\t", "\n", "  \r\n", "\v", "\f"};
	struct fx_got g = {0};
	char *pem = fx_pem(pki.leaf), *s = NULL;
	const char *body = strchr(pem, '\n') + 1;
	const char *end = strstr(pem, "-----END");
	size_t len = 0, k = 0;

	cats(&s, &len, "-----BEGIN CERTIFICATE-----\n");
	for (const char *p = body; p < end; p++) {
		if (*p == '\n')
			continue;
		cat(&s, &len, p, 1);
		if ((p - body) % 7 == 3)
			cats(&s, &len, ws[k++ % 6]);
	}
	cats(&s, &len, "\n   -----END CERTIFICATE-----\n");
	fx_ingest_ok(s, len, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_cert_item(&g, 0, pki.leaf, "pem", "CERTIFICATE");
	fx_got_release(&g);
	free(pem);
	free(s);
}

Test(ingest, pem_trusted_certificate)
{
	struct fx_got g = {0};
	X509 *x = X509_dup(pki.root);
	BIO *b = BIO_new(BIO_s_mem());
	size_t len;
	char *s;

	cr_assert(X509_add1_trust_object(x, OBJ_nid2obj(NID_server_auth)));
	cr_assert(X509_alias_set1(x, (const unsigned char *)"my root", -1));
	cr_assert(PEM_write_bio_X509_AUX(b, x));
	s = fx_bio_string(b, &len);
	cr_assert_not_null(strstr(s, "-----BEGIN TRUSTED CERTIFICATE-----"));
	fx_ingest_ok(s, len, NULL, &g);
	cr_assert_eq(g.n, 1);
	/* The item is the certificate alone, without the trust settings. */
	fx_check_cert_item(&g, 0, pki.root, "pem", "TRUSTED CERTIFICATE");
	fx_got_release(&g);
	X509_free(x);
	free(s);
}

Test(ingest, pem_broken_base64_then_good_block)
{
	struct fx_got g = {0};
	size_t len = 0;
	char *s = NULL;

	cats(&s, &len,
	    "-----BEGIN CERTIFICATE-----\nMIIB*not*base64==\n"
	    "-----END CERTIFICATE-----\n");
	cat_free(&s, &len, fx_pem(pki.leaf));
	fx_ingest_ok(s, len, NULL, &g);
	cr_assert_eq(g.n, 2);
	fx_check_item(&g, 0, CK_ITEM_ERROR, "pem", "CERTIFICATE");
	fx_check_error_item(&g, 0, "pem", "broken base64 in PEM block");
	fx_check_cert_item(&g, 1, pki.leaf, "pem", "CERTIFICATE");
	fx_got_release(&g);
	free(s);
}

Test(ingest, pem_cut_in_the_middle)
{
	struct fx_got g = {0};
	char *pem = fx_pem(pki.leaf);
	size_t len = strlen(pem);

	fx_ingest_ok(pem, len / 2, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_item(&g, 0, CK_ITEM_ERROR, "pem", "CERTIFICATE");
	fx_check_error_item(
	    &g, 0, "pem", "PEM block has no END line (truncated?)");
	fx_got_release(&g);
	fx_ingest_ok(pem, 20, NULL, &g); /* inside the BEGIN line */
	cr_assert_eq(g.n, 1);
	fx_check_error_item(&g, 0, "pem", "PEM BEGIN line is not closed");
	fx_got_release(&g);
	free(pem);
}

/* A block whose base64 is fine but whose DER is cut short. */
Test(ingest, pem_with_truncated_der_inside)
{
	struct fx_got g = {0};
	struct ck_buf b = CK_BUF_INIT;
	unsigned char *der;
	size_t len;

	der = fx_der(pki.leaf, &len);
	ck_pem_encode("CERTIFICATE", der, len - 30, &b);
	fx_ingest_ok(b.p, b.len, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_item(&g, 0, CK_ITEM_ERROR, "pem", "CERTIFICATE");
	fx_check_error_item(&g, 0, "pem", "truncated or malformed DER");
	fx_got_release(&g);
	ck_buf_release(&b);
	OPENSSL_free(der);
}

/* ---- DER ---- */

Test(ingest, der_one_certificate)
{
	struct fx_got g = {0};
	unsigned char *der;
	size_t len;

	der = fx_der(pki.leaf, &len);
	fx_ingest_ok(der, len, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_cert_item(&g, 0, pki.leaf, "der", NULL);
	fx_got_release(&g);
	OPENSSL_free(der);
}

Test(ingest, der_certificates_back_to_back)
{
	X509 *all[] = {pki.leaf, pki.inter, pki.root, pki.self};
	struct fx_got g = {0};
	char *s = NULL;
	size_t len = 0;

	for (size_t i = 0; i < 4; i++) {
		size_t n;
		unsigned char *der = fx_der(all[i], &n);
		cat(&s, &len, der, n);
		OPENSSL_free(der);
	}
	fx_ingest_ok(s, len, NULL, &g);
	cr_assert_eq(g.n, 4);
	for (size_t i = 0; i < 4; i++)
		fx_check_cert_item(&g, i, all[i], "der", NULL);
	fx_got_release(&g);
	free(s);
}

Test(ingest, der_with_trailing_garbage)
{
	struct fx_got g = {0};
	unsigned char *der;
	size_t len, n = 0;
	char *s = NULL;

	der = fx_der(pki.leaf, &len);
	cat(&s, &n, der, len);
	cat(&s, &n, "\x30\x82\xff", 3);
	fx_ingest_ok(s, n, NULL, &g);
	cr_assert_eq(g.n, 2);
	fx_check_cert_item(&g, 0, pki.leaf, "der", NULL);
	fx_check_error_item(&g, 1, "der", "trailing bytes after DER");
	fx_got_release(&g);
	free(s);
	OPENSSL_free(der);
}

Test(ingest, der_truncated)
{
	struct fx_got g = {0};
	unsigned char *der;
	size_t len;

	der = fx_der(pki.leaf, &len);
	fx_ingest_ok(der, len - 1, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_item(&g, 0, CK_ITEM_ERROR, "der", NULL);
	fx_check_error_item(&g, 0, "der", "truncated or malformed DER");
	fx_got_release(&g);
	OPENSSL_free(der);
}

Test(ingest, der_version_1_certificate_and_crls)
{
	X509 *v1 = fx_cert_new(&(struct fx_spec){
	    .subject = (const char *const[]){"CN", "v1", NULL},
	    .key = pki.leaf_key,
	    .version = 1,
	    .not_before = pki.now,
	    .not_after = pki.now + FX_DAY});
	X509_CRL *crls[] = {crl_new(true), crl_new(false)};
	struct fx_got g = {0};
	unsigned char *der = NULL;
	int n;

	for (size_t i = 0; i < 2; i++) {
		der = NULL;
		n = i2d_X509_CRL(crls[i], &der);
		cr_assert_gt(n, 0);
		fx_ingest_ok(der, (size_t)n, NULL, &g);
		cr_assert_eq(g.n, 1);
		fx_check_item(&g, 0, CK_ITEM_CRL, "der", NULL);
		fx_check_der(&g, 0, der, (size_t)n);
		fx_got_release(&g);
		OPENSSL_free(der);
		X509_CRL_free(crls[i]);
	}
	der = NULL;
	n = i2d_X509(v1, &der);
	fx_ingest_ok(der, (size_t)n, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_cert_item(&g, 0, v1, "der", NULL);
	fx_got_release(&g);
	OPENSSL_free(der);
	X509_free(v1);
}

/* ---- PKCS#7 ---- */

Test(ingest, pkcs7_der_and_pem)
{
	X509 *certs[] = {pki.leaf, pki.inter, pki.root};
	PKCS7 *p7 = p7_new(certs, 3);
	struct fx_got g = {0};
	unsigned char *der = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	size_t len;
	char *pem;
	int n;

	n = i2d_PKCS7(p7, &der);
	cr_assert_gt(n, 0);
	fx_ingest_ok(der, (size_t)n, NULL, &g);
	check_p7_items(&g, der, (size_t)n, 0, 3);
	fx_got_release(&g);

	cr_assert(PEM_write_bio_PKCS7(b, p7));
	pem = fx_bio_string(b, &len);
	cr_assert_not_null(strstr(pem, "-----BEGIN PKCS7-----"));
	fx_ingest_ok(pem, len, NULL, &g);
	check_p7_items(&g, der, (size_t)n, 0, 3);
	fx_got_release(&g);

	free(pem);
	OPENSSL_free(der);
	PKCS7_free(p7);
}

Test(ingest, pkcs7_without_certificates)
{
	PKCS7 *p7 = p7_new(NULL, 0);
	struct fx_got g = {0};
	unsigned char *der = NULL;
	int n = i2d_PKCS7(p7, &der);

	cr_assert_gt(n, 0);
	fx_ingest_ok(der, (size_t)n, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_item(&g, 0, CK_ITEM_OTHER, "pkcs7", NULL);
	cr_assert_str_eq(
	    g.v[0].reason, "PKCS#7 structure holds no certificates");
	fx_got_release(&g);
	OPENSSL_free(der);
	PKCS7_free(p7);
}

/* ---- keys ---- */

Test(ingest, private_keys_are_reported)
{
	const EVP_CIPHER *aes = EVP_aes_128_cbc();
	static const char pass[] = "pw";
	struct {
		BIO *b;
		const char *label;
		bool has_der;
	} pems[4];
	struct fx_got g = {0};

	for (size_t i = 0; i < 4; i++)
		pems[i].b = BIO_new(BIO_s_mem());
	cr_assert(PEM_write_bio_PrivateKey_traditional(
	    pems[0].b, pki.root_key, NULL, NULL, 0, NULL, NULL));
	pems[0].label = "RSA PRIVATE KEY", pems[0].has_der = true;
	cr_assert(PEM_write_bio_PrivateKey_traditional(
	    pems[1].b, pki.leaf_key, NULL, NULL, 0, NULL, NULL));
	pems[1].label = "EC PRIVATE KEY", pems[1].has_der = true;
	cr_assert(PEM_write_bio_PKCS8PrivateKey(
	    pems[2].b, pki.ed_key, aes, NULL, 0, NULL, (void *)pass));
	pems[2].label = "ENCRYPTED PRIVATE KEY", pems[2].has_der = true;
	/* Old-style encryption: headers, and no DER to hand out. */
	cr_assert(PEM_write_bio_PrivateKey_traditional(
	    pems[3].b, pki.leaf_key, aes, NULL, 0, NULL, (void *)pass));
	pems[3].label = "EC PRIVATE KEY", pems[3].has_der = false;
	for (size_t i = 0; i < 4; i++) {
		size_t len;
		char *s = fx_bio_string(pems[i].b, &len);

		fx_ingest_ok(s, len, NULL, &g);
		cr_assert_eq(g.n, 1, "key %zu", i);
		fx_check_item(&g, 0, CK_ITEM_KEY, "pem", pems[i].label);
		cr_assert_eq(g.v[0].der != NULL, pems[i].has_der, "key %zu", i);
		fx_got_release(&g);
		free(s);
	}
}

Test(ingest, der_pkcs8_keys)
{
	BIO *plain = BIO_new(BIO_s_mem()), *enc = BIO_new(BIO_s_mem());
	struct fx_got g = {0};
	char *s;
	size_t len;

	cr_assert(i2d_PKCS8PrivateKey_bio(
	    plain, pki.leaf_key, NULL, NULL, 0, NULL, NULL));
	cr_assert(i2d_PKCS8PrivateKey_bio(
	    enc, pki.leaf_key, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)"pw"));
	s = fx_bio_string(plain, &len);
	fx_ingest_ok(s, len, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_item(&g, 0, CK_ITEM_KEY, "der", NULL);
	fx_check_der(&g, 0, (unsigned char *)s, len);
	fx_got_release(&g);
	free(s);
	s = fx_bio_string(enc, &len);
	fx_ingest_ok(s, len, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_item(&g, 0, CK_ITEM_KEY, "der", NULL);
	fx_got_release(&g);
	free(s);
}

/* The traditional forms: PKCS#1 for RSA, SEC1 for EC. */
Test(ingest, der_traditional_keys)
{
	EVP_PKEY *keys[] = {pki.root_key, pki.leaf_key, pki.int_key};
	struct fx_got g = {0};

	for (size_t i = 0; i < 3; i++) {
		unsigned char *der = NULL;
		int n = i2d_PrivateKey(keys[i], &der);
		const unsigned char *q = der;
		PKCS8_PRIV_KEY_INFO *p8;

		cr_assert_gt(n, 0);
		/* Make sure it is not PKCS#8, which is tested above. */
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, n);
		cr_assert_null(p8);
		ERR_clear_error();
		fx_ingest_ok(der, (size_t)n, NULL, &g);
		cr_assert_eq(g.n, 1, "key %zu", i);
		fx_check_item(&g, 0, CK_ITEM_KEY, "der", NULL);
		fx_check_der(&g, 0, der, (size_t)n);
		fx_got_release(&g);
		OPENSSL_clear_free(der, (size_t)n);
	}
}

/* ---- what is not a certificate file ---- */

Test(ingest, binary_noise_and_text_fail)
{
	struct fx_got g = {0};
	struct ck_err err = {0};
	uint8_t noise[512];
	uint32_t x = 12345;
	static const char text[] = "hello, this is not a certificate\n";

	for (size_t i = 0; i < sizeof(noise); i++) {
		x = x * 1103515245 + 12345;
		noise[i] = (uint8_t)(x >> 16);
	}
	noise[0] = 0x8f; /* neither DER SEQUENCE nor text */
	cr_assert_eq(
	    ck_x509_ingest(noise, sizeof(noise), NULL, fx_collect, &g, &err),
	    CK_E_PARSE);
	cr_assert_str_eq(
	    err.msg, "no PEM block and not DER: not a certificate file");
	cr_assert_eq(g.n, 0);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(ck_x509_ingest((const uint8_t *)text, sizeof(text) - 1,
	                 NULL, fx_collect, &g, &err),
	    CK_E_PARSE);
	cr_assert_str_eq(
	    err.msg, "no PEM block and not DER: not a certificate file");
	cr_assert_eq(g.n, 0);
	/* A SEQUENCE of noise is DER-shaped but not a known structure. */
	noise[0] = 0x30;
	noise[1] = 0x10;
	fx_ingest_ok(noise, 18, NULL, &g);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.v[0].kind, CK_ITEM_ERROR);
	fx_got_release(&g);
}

Test(ingest, empty_input)
{
	struct fx_got g = {0};
	struct ck_err err = {0};

	cr_assert_eq(
	    ck_x509_ingest((const uint8_t *)"", 0, NULL, fx_collect, &g, &err),
	    CK_E_PARSE);
	cr_assert_str_eq(err.msg, "empty input");
	cr_assert_eq(g.n, 0);
}

Test(ingest, callback_stops_the_walk)
{
	struct fx_got g = {.stop_after = 2};
	struct ck_err err = {0};
	size_t len;
	char *s = many_blocks(&len);

	cr_assert_eq(
	    ck_x509_ingest((const uint8_t *)s, len, NULL, fx_collect, &g, &err),
	    7);
	cr_assert_eq(g.n, 2);
	fx_got_release(&g);
	free(s);
}

Test(ingest, item_kind_names)
{
	cr_assert_str_eq(ck_item_kind_name(CK_ITEM_CERT), "certificate");
	cr_assert_str_eq(ck_item_kind_name(CK_ITEM_CSR), "certificate request");
	cr_assert_str_eq(ck_item_kind_name(CK_ITEM_KEY), "private key");
	cr_assert_str_eq(ck_item_kind_name(CK_ITEM_CRL), "crl");
	cr_assert_str_eq(ck_item_kind_name(CK_ITEM_OTHER), "other");
	cr_assert_str_eq(ck_item_kind_name(CK_ITEM_ERROR), "error");
}
