/*
 * Certificate requests (PKCS#10): subject, requested SANs, key, and whether
 * the self-signature verifies. The enroll path relies on that last answer.
 */
#include "x509/x509.h"
#include "x509/x509_int.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/mem.h"

void
ck_csr_free(struct ck_csr *c)
{
	if (c == NULL)
		return;
	free(c->subject);
	free(c->cn);
	for (size_t i = 0; i < c->n_sans; i++)
		free(c->sans[i].value);
	free(c->sans);
	free(c);
}

int
ck_x509_csr_parse(
    const uint8_t *der, size_t der_len, struct ck_csr **out, struct ck_err *err)
{
	const unsigned char *p = der;
	X509_REQ *req = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	struct ck_csr *c = NULL;
	struct ck_keyinfo ki;
	EVP_PKEY *pk;
	BIO *bio = NULL;
	int r = CK_E_PARSE;

	*out = NULL;
	if (der_len > 1 << 20)
		return ck_err_set(
		    err, CK_E_TOO_LARGE, "certificate request too large");
	req = d2i_X509_REQ(NULL, &p, (long)der_len);
	if (req == NULL || (size_t)(p - der) != der_len) {
		r = ssl_err(err, CK_E_PARSE, "certificate request");
		goto out;
	}
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL) {
		r = ssl_err(err, CK_E_PARSE, "certificate request: public key");
		goto out;
	}
	c = ck_calloc(1, sizeof(*c));
	bio = BIO_new(BIO_s_mem());
	c->subject = name_string(X509_REQ_get_subject_name(req), bio);
	c->cn = last_cn(X509_REQ_get_subject_name(req));
	keyinfo_from_pkey(pk, &ki);
	memcpy(c->key_type, ki.type, sizeof(c->key_type));
	memcpy(c->curve, ki.curve, sizeof(c->curve));
	c->key_bits = ki.bits;
	c->signature_ok = X509_REQ_verify(req, pk) == 1;
	exts = X509_REQ_get_extensions(req);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		GENERAL_NAMES *gens;

		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) !=
		    NID_subject_alt_name)
			continue;
		if ((gens = X509V3_EXT_d2i(ext)) == NULL) {
			r = ssl_err(err, CK_E_PARSE,
			    "certificate request: subject alternative name");
			goto out;
		}
		sans_from_names(gens, &c->sans, &c->n_sans);
		GENERAL_NAMES_free(gens);
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	BIO_free(bio);
	ck_csr_free(c);
	ERR_clear_error();
	return r;
}

bool
ck_x509_same_key(
    const uint8_t *cert, size_t cert_len, const uint8_t *csr, size_t csr_len)
{
	const unsigned char *p = cert, *q = csr;
	X509 *x = d2i_X509(NULL, &p, (long)cert_len);
	X509_REQ *req = d2i_X509_REQ(NULL, &q, (long)csr_len);
	unsigned char *a = NULL, *b = NULL;
	int na = -1, nb = -2;
	bool same;

	/* Compared as encoded SubjectPublicKeyInfo: no key is decoded. */
	if (x != NULL && req != NULL) {
		na = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &a);
		nb = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &b);
	}
	same = na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0;
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_free(x);
	X509_REQ_free(req);
	ERR_clear_error();
	return same;
}
