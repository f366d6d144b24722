/*
 * Certificate requests: ingest as PEM and DER, and ck_x509_csr_parse's
 * subject, SANs, key and signature check, also on a tampered request.
 */
#include <criterion/criterion.h>

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

TestSuite(csr, .init = setup, .fini = teardown);

static unsigned char *
req_der(X509_REQ *req, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(req, &der);

	cr_assert_gt(n, 0);
	*len = (size_t)n;
	return der;
}

Test(csr, pem_and_der)
{
	X509_REQ *req = fx_leaf_req(&pki);
	struct fx_got g = {0};
	size_t len;
	unsigned char *der = req_der(req, &len);
	char *pem = fx_req_pem(req, true);

	fx_ingest_ok(pem, strlen(pem), NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_item(&g, 0, CK_ITEM_CSR, "pem", "NEW CERTIFICATE REQUEST");
	fx_check_der(&g, 0, der, len);
	fx_got_release(&g);

	fx_ingest_ok(der, len, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_item(&g, 0, CK_ITEM_CSR, "der", NULL);
	fx_check_der(&g, 0, der, len);
	fx_got_release(&g);
	free(pem);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

Test(csr, parse_fields)
{
	X509_REQ *req = fx_leaf_req(&pki);
	struct ck_err err = {0};
	struct ck_csr *c;
	size_t len;
	unsigned char *der = req_der(req, &len);

	cr_assert_eq(ck_x509_csr_parse(der, len, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c->subject, "CN=req.example.test,O=certkeep");
	cr_assert_str_eq(c->cn, "req.example.test");
	cr_assert_eq(c->n_sans, 3);
	cr_assert_eq(c->sans[0].type, CK_SAN_DNS);
	cr_assert_str_eq(c->sans[0].value, "req.example.test");
	cr_assert_eq(c->sans[1].type, CK_SAN_IP);
	cr_assert_str_eq(c->sans[1].value, "198.51.100.7");
	cr_assert_eq(c->sans[2].type, CK_SAN_EMAIL);
	cr_assert_str_eq(c->sans[2].value, "req@example.test");
	cr_assert_str_eq(c->key_type, "ec");
	cr_assert_eq(c->key_bits, 256);
	cr_assert_str_eq(c->curve, "P-256");
	cr_assert(c->signature_ok);
	ck_csr_free(c);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

Test(csr, parse_key_types)
{
	static const struct {
		const char *type;
		int bits;
		const char *curve;
	} want[] = {
	    {"rsa", 2048, ""}, {"ec", 384, "P-384"}, {"ed25519", 256, ""}};
	EVP_PKEY *keys[] = {pki.root_key, pki.int_key, pki.ed_key};

	for (size_t i = 0; i < 3; i++) {
		X509_REQ *req = fx_req_new(
		    keys[i], (const char *const[]){"CN", "k", NULL}, NULL);
		struct ck_csr *c;
		size_t len;
		unsigned char *der = req_der(req, &len);

		cr_assert_eq(ck_x509_csr_parse(der, len, &c, NULL), 0);
		cr_assert_str_eq(c->key_type, want[i].type);
		cr_assert_eq(c->key_bits, want[i].bits);
		cr_assert_eq(c->key_bits, EVP_PKEY_get_bits(keys[i]));
		cr_assert_str_eq(c->curve, want[i].curve);
		cr_assert_eq(c->n_sans, 0);
		cr_assert(c->signature_ok);
		ck_csr_free(c);
		OPENSSL_free(der);
		X509_REQ_free(req);
	}
}

Test(csr, tampered_signature)
{
	X509_REQ *req = fx_leaf_req(&pki);
	struct ck_csr *c;
	size_t len;
	unsigned char *der = req_der(req, &len);
	unsigned char *cn = fx_memfind(der, len, "req.example.test", 16);

	cr_assert_not_null(cn);
	cn[0] = 'R'; /* same length, still a valid name */
	cr_assert_eq(ck_x509_csr_parse(der, len, &c, NULL), 0);
	cr_assert_str_eq(c->cn, "Req.example.test");
	cr_assert_not(c->signature_ok);
	ck_csr_free(c);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

Test(csr, parse_refuses_garbage)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	struct ck_err err = {0};
	struct ck_csr *c;
	X509_REQ *req = fx_leaf_req(&pki);
	size_t len;
	unsigned char *der = req_der(req, &len);

	cr_assert_eq(
	    ck_x509_csr_parse(junk, sizeof(junk), &c, &err), CK_E_PARSE);
	cr_assert_null(c);
	cr_assert_str_eq(err.msg, "certificate request: wrong tag");
	cr_assert_eq(ck_x509_csr_parse(der, len - 1, &c, &err), CK_E_PARSE);
	cr_assert_null(c);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

Test(csr, empty_subject_as_certbot_sends)
{
	/* certbot's requests name nothing but SANs: the subject is an empty
	 * sequence, which once reached strndup as a NULL pointer */
	X509_REQ *req = fx_req_new(
	    pki.leaf_key, (const char *const[]){NULL}, "DNS:cb.example.test");
	struct ck_err err = {0};
	struct ck_csr *c;
	size_t len;
	unsigned char *der = req_der(req, &len);

	cr_assert_eq(ck_x509_csr_parse(der, len, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c->subject, "");
	cr_assert(c->cn == NULL || c->cn[0] == '\0');
	cr_assert_eq(c->n_sans, 1);
	cr_assert_str_eq(c->sans[0].value, "cb.example.test");
	cr_assert(c->signature_ok);
	ck_csr_free(c);
	OPENSSL_free(der);
	X509_REQ_free(req);
}
