/*
 * Outputs built from certificates for other programs: PKCS#12 bundles for
 * keys made server-side, the first item of a kind from PEM/DER input, and
 * the validity times of an OCSP response for HTTP caching headers.
 */
#include "x509/x509.h"
#include "x509/x509_int.h"

#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

struct first {
	enum ck_item_kind kind;
	struct ck_buf *out;
	bool found;
};

static int
on_first(void *ctx, const struct ck_item *it)
{
	struct first *f = ctx;

	if (it->kind != f->kind || it->der == NULL)
		return 0;
	ck_buf_add(f->out, it->der, it->der_len);
	f->found = true;
	return 1;
}

int
ck_x509_first(const uint8_t *data, size_t len, enum ck_item_kind kind,
    struct ck_buf *out, struct ck_err *err)
{
	struct first f = {kind, out, false};
	int r;

	ck_buf_reset(out);
	r = ck_x509_ingest(data, len, NULL, on_first, &f, err);
	if (f.found)
		return 0;
	if (r < 0)
		return r;
	return ck_err_set(
	    err, CK_E_INVAL, "no %s in the input", ck_item_kind_name(kind));
}

int
ck_x509_pkcs12_make(const uint8_t *cert, size_t cert_len,
    const uint8_t *key_pem, size_t key_len, const uint8_t *chain_pem,
    size_t chain_len, const char *password, const char *friendly,
    struct ck_buf *out, struct ck_err *err)
{
	const unsigned char *p = cert;
	X509 *x = d2i_X509(NULL, &p, (long)cert_len);
	BIO *kb = BIO_new_mem_buf(key_pem, (int)key_len);
	BIO *cb = chain_len ? BIO_new_mem_buf(chain_pem, (int)chain_len) : NULL;
	EVP_PKEY *pk =
	    kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	STACK_OF(X509) *ca = sk_X509_new_null();
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	int n, r = 0;

	if (x == NULL || pk == NULL || ca == NULL) {
		r = ssl_err(err, CK_E_CRYPTO, "pkcs12: certificate or key");
		goto out;
	}
	while (cb != NULL) {
		X509 *c = PEM_read_bio_X509(cb, NULL, NULL, NULL);
		if (c == NULL)
			break;
		sk_X509_push(ca, c);
	}
	ERR_clear_error(); /* the end of the chain reads as an error */
	p12 = PKCS12_create_ex(password, friendly, pk, x, ca, NID_aes_256_cbc,
	    NID_aes_256_cbc, PKCS12_DEFAULT_ITER, -1, 0, NULL, NULL);
	if (p12 == NULL ||
	    PKCS12_set_mac(p12, password, -1, NULL, 0, PKCS12_DEFAULT_ITER,
	        EVP_sha256()) != 1 ||
	    (n = i2d_PKCS12(p12, &der)) <= 0) {
		r = ssl_err(err, CK_E_CRYPTO, "pkcs12");
		goto out;
	}
	ck_buf_reset(out);
	ck_buf_add(out, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
out:
	PKCS12_free(p12);
	sk_X509_pop_free(ca, X509_free);
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(kb);
	BIO_free(cb);
	return r;
}

static int64_t
gt_time(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

int
ck_x509_ocsp_resp_times(const uint8_t *der, size_t len, int64_t *this_update,
    int64_t *next_update, struct ck_err *err)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs = NULL;
	OCSP_SINGLERESP *one;
	ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL;
	int r = 0;

	*this_update = *next_update = 0;
	if (resp == NULL ||
	    OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL ||
	    (one = OCSP_resp_get0(bs, 0)) == NULL) {
		ERR_clear_error();
		r = ck_err_set(
		    err, CK_E_PARSE, "not a successful OCSP response");
		goto out;
	}
	OCSP_single_get0_status(one, NULL, NULL, &tu, &nu);
	*this_update = gt_time(tu);
	*next_update = gt_time(nu);
out:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return r;
}
