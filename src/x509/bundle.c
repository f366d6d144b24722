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

static int
pkcs12_make(const uint8_t *cert, size_t cert_len, const uint8_t *key_pem,
    size_t key_len, const uint8_t *chain_pem, size_t chain_len,
    const char *password, const char *friendly, bool legacy, struct ck_buf *out,
    struct ck_err *err)
{
	int pbe =
	    legacy ? NID_pbe_WithSHA1And3_Key_TripleDES_CBC : NID_aes_256_cbc;
	const EVP_MD *mac = legacy ? EVP_sha1() : EVP_sha256();
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
	p12 = PKCS12_create_ex(password, friendly, pk, x, ca, pbe, pbe,
	    PKCS12_DEFAULT_ITER, -1, 0, NULL, NULL);
	if (p12 == NULL ||
	    PKCS12_set_mac(
	        p12, password, -1, NULL, 0, PKCS12_DEFAULT_ITER, mac) != 1 ||
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

int
ck_x509_pkcs12_make(const uint8_t *cert, size_t cert_len,
    const uint8_t *key_pem, size_t key_len, const uint8_t *chain_pem,
    size_t chain_len, const char *password, const char *friendly,
    struct ck_buf *out, struct ck_err *err)
{
	return pkcs12_make(cert, cert_len, key_pem, key_len, chain_pem,
	    chain_len, password, friendly, false, out, err);
}

int
ck_x509_pkcs12_make_legacy(const uint8_t *cert, size_t cert_len,
    const uint8_t *key_pem, size_t key_len, const uint8_t *chain_pem,
    size_t chain_len, const char *password, const char *friendly,
    struct ck_buf *out, struct ck_err *err)
{
	return pkcs12_make(cert, cert_len, key_pem, key_len, chain_pem,
	    chain_len, password, friendly, true, out, err);
}

/* "YYYYMMDDHHMMSSZ" (DER GeneralizedTime, no fractions) to epoch. */
static bool
gt_parse(const struct der_tlv *t, int64_t *out)
{
	struct tm tm = {0};
	int v[6] = {0}, widths[6] = {4, 2, 2, 2, 2, 2};
	size_t o = 0;

	if (t->tag != 0x18 || t->len != 15 || t->val[14] != 'Z')
		return false;
	for (int i = 0; i < 6; i++)
		for (int k = 0; k < widths[i]; k++, o++) {
			if (t->val[o] < '0' || t->val[o] > '9')
				return false;
			v[i] = v[i] * 10 + (t->val[o] - '0');
		}
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	*out = (int64_t)timegm(&tm);
	return true;
}

/* Steps into a constructed TLV of the given tag. */
static bool
enter(const uint8_t **p, size_t *n, unsigned tag, struct der_tlv *t)
{
	if (!der_read(*p, *n, t) || t->tag != tag)
		return false;
	*p = t->val;
	*n = t->len;
	return true;
}

/* Skips one TLV. */
static bool
skip(const uint8_t **p, size_t *n, struct der_tlv *t)
{
	if (!der_read(*p, *n, t))
		return false;
	*p += t->total;
	*n -= t->total;
	return true;
}

/*
 * A walk down to the first SingleResponse's times with the DER reader:
 * called for every OCSP answer served, where decoding the response (and
 * the responder certificate's key in it) with OpenSSL cost most of the
 * time.
 *   OCSPResponse { status, [0] { type, OCTET STRING { BasicOCSPResponse {
 *     ResponseData { [0] version?, responderID, producedAt,
 *       SEQUENCE OF SingleResponse { certID, certStatus, thisUpdate,
 *         [0] nextUpdate? ... } ... } ... } } } }
 */
int
ck_x509_ocsp_resp_times(const uint8_t *der, size_t len, int64_t *this_update,
    int64_t *next_update, struct ck_err *err)
{
	const uint8_t *p = der;
	size_t n = len;
	struct der_tlv t;

	*this_update = *next_update = 0;
	if (!enter(&p, &n, 0x30, &t) || !der_read(p, n, &t) || t.tag != 0x0a ||
	    t.len != 1 || t.val[0] != 0 || /* successful */
	    !skip(&p, &n, &t) || !enter(&p, &n, 0xa0, &t) ||
	    !enter(&p, &n, 0x30, &t) || !skip(&p, &n, &t) || /* type */
	    !enter(&p, &n, 0x04, &t) || !enter(&p, &n, 0x30, &t) ||
	    !enter(&p, &n, 0x30, &t)) /* ResponseData */
		goto bad;
	if (der_read(p, n, &t) && t.tag == 0xa0 && !skip(&p, &n, &t))
		goto bad;
	if (!skip(&p, &n, &t) || !skip(&p, &n, &t) || /* responder, at */
	    !enter(&p, &n, 0x30, &t) || !enter(&p, &n, 0x30, &t) ||
	    !skip(&p, &n, &t) || !skip(&p, &n, &t) || /* certID, status */
	    !der_read(p, n, &t) || !gt_parse(&t, this_update))
		goto bad;
	p += t.total;
	n -= t.total;
	if (n > 0 && der_read(p, n, &t) && t.tag == 0xa0) {
		struct der_tlv g;
		if (!der_read(t.val, t.len, &g) || !gt_parse(&g, next_update))
			goto bad;
	}
	return 0;
bad:
	*this_update = *next_update = 0;
	return ck_err_set(err, CK_E_PARSE, "not a successful OCSP response");
}
