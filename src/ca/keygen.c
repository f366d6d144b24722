/*
 * Keys and certificate requests that certkeep makes itself (issue --cn):
 * the key never leaves the machine except into the caller's 0600 file.
 */
#include "ca/ca.h"
#include "ca/ca_int.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/mem.h"

static EVP_PKEY *
keygen(const char *t)
{
	if (strcmp(t, "rsa-2048") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (strcmp(t, "rsa-3072") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	if (strcmp(t, "rsa-4096") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	if (strcmp(t, "ec-p256") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (strcmp(t, "ec-p384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (strcmp(t, "ed25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return NULL;
}

/* The CSR for key (and its PEM into key_pem when not NULL). */
static int csr_for(EVP_PKEY *key, bool is_ed25519, const char *cn,
    const char *ou, const char *const *sans, size_t n_sans, uint8_t **csr,
    size_t *csr_len, struct ck_buf *key_pem, struct ck_err *err);

int
ck_make_key_and_csr(const char *key_type, const char *cn,
    const char *const *sans, size_t n_sans, uint8_t **csr, size_t *csr_len,
    struct ck_buf *key_pem, struct ck_err *err)
{
	EVP_PKEY *key;
	int r;

	*csr = NULL;
	*csr_len = 0;
	if (strlen(cn) == 0 || strlen(cn) > 64) /* ub-common-name */
		return ck_err_set(err, CK_E_INVAL,
		    "subject CN is %zu characters, not 1 to 64", strlen(cn));
	if ((key = keygen(key_type)) == NULL) {
		ERR_clear_error();
		return ck_err_set(err, CK_E_INVAL,
		    "unknown key type '%s' (ec-p256, ec-p384, rsa-2048, "
		    "rsa-3072, rsa-4096, ed25519)",
		    key_type);
	}
	r = csr_for(key, strcmp(key_type, "ed25519") == 0, cn, NULL, sans,
	    n_sans, csr, csr_len, key_pem, err);
	EVP_PKEY_free(key);
	return r;
}

int
ck_csr_for_key(const uint8_t *key_pem, size_t key_len, const char *cn,
    const char *const *sans, size_t n_sans, uint8_t **csr, size_t *csr_len,
    struct ck_err *err)
{
	return ck_csr_for_key_ou(
	    key_pem, key_len, cn, NULL, sans, n_sans, csr, csr_len, err);
}

int
ck_csr_for_key_ou(const uint8_t *key_pem, size_t key_len, const char *cn,
    const char *ou, const char *const *sans, size_t n_sans, uint8_t **csr,
    size_t *csr_len, struct ck_err *err)
{
	BIO *b = BIO_new_mem_buf(key_pem, (int)key_len);
	EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	int r;

	BIO_free(b);
	*csr = NULL;
	*csr_len = 0;
	if (key == NULL) {
		ERR_clear_error();
		return ck_err_set(
		    err, CK_E_PARSE, "the kept key does not parse");
	}
	if (strlen(cn) == 0 || strlen(cn) > 64)
		r = ck_err_set(err, CK_E_INVAL,
		    "subject CN is %zu characters, not 1 to 64", strlen(cn));
	else
		r = csr_for(key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519, cn,
		    ou, sans, n_sans, csr, csr_len, NULL, err);
	EVP_PKEY_free(key);
	return r;
}

static int
csr_for(EVP_PKEY *key, bool is_ed25519, const char *cn, const char *ou,
    const char *const *sans, size_t n_sans, uint8_t **csr, size_t *csr_len,
    struct ck_buf *key_pem, struct ck_err *err)
{
	struct ck_buf alt = CK_BUF_INIT;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext;
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	unsigned char *der = NULL;
	char *p;
	long n;
	int len, r = 0;

	req = X509_REQ_new();
	if (!X509_REQ_set_version(req, 0) || !X509_REQ_set_pubkey(req, key) ||
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	        MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) {
		r = ca_ossl_err(err, CK_E_INVAL, "certificate request");
		goto out;
	}
	if (ou != NULL &&
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "OU",
	        MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0)) {
		r = ca_ossl_err(err, CK_E_INVAL, "certificate request");
		goto out;
	}
	for (size_t i = 0; i < n_sans; i++) {
		if (strpbrk(sans[i], ",\n") != NULL) {
			r = ck_err_set(
			    err, CK_E_INVAL, "bad name '%s'", sans[i]);
			goto out;
		}
		ck_buf_printf(&alt, "%s%s%s", i ? "," : "",
		    strchr(sans[i], ':') ? "" : "DNS:", sans[i]);
	}
	if (alt.len > 0) {
		exts = sk_X509_EXTENSION_new_null();
		ext = X509V3_EXT_conf_nid(
		    NULL, NULL, NID_subject_alt_name, alt.p);
		if (ext == NULL) {
			r = ca_ossl_err(
			    err, CK_E_INVAL, "subject alternative names");
			goto out;
		}
		sk_X509_EXTENSION_push(exts, ext);
		if (!X509_REQ_add_extensions(req, exts)) {
			r = ca_ossl_err(
			    err, CK_E_CRYPTO, "certificate request");
			goto out;
		}
	}
	if (X509_REQ_sign(req, key, is_ed25519 ? NULL : EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "signing the request");
		goto out;
	}
	if (key_pem == NULL)
		goto done;
	bio = BIO_new(BIO_s_mem());
	if (!PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "writing the key");
		goto out;
	}
	n = BIO_get_mem_data(bio, &p);
	ck_buf_reset(key_pem);
	ck_buf_add(key_pem, p, (size_t)n);
	OPENSSL_cleanse(p, (size_t)n);
done:
	*csr = ck_memdup(der, (size_t)len);
	*csr_len = (size_t)len;
out:
	OPENSSL_free(der);
	BIO_free(bio);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	ck_buf_release(&alt);
	ERR_clear_error();
	return r;
}
