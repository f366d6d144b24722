/*
 * Shared by the files of src/ca/ only: OpenSSL helpers and opening an
 * existing CA (certificate and unsealed key).
 */
#ifndef CK_CA_INT_H
#define CK_CA_INT_H

#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "x509/x509.h"

/* What is needed of an existing CA; release with ca_loaded_release(). */
struct ca_loaded {
	int64_t id, cert_id;
	char *key_type;
	struct ck_buf sealed;
	int64_t revoked_at; /* of the CA certificate; 0 when it is not */
};

static inline void
ca_loaded_release(struct ca_loaded *l)
{
	free(l->key_type);
	l->key_type = NULL;
	ck_buf_release(&l->sealed);
}

/* Store callbacks: a certificate row's DER decoded into *(X509 **)ctx,
 * and a count of CA rows into *(int *)ctx. */
int ca_row_x509(void *ctx, const struct ck_cert_row *row);
int ca_row_count(void *ctx, const struct ck_ca_row *ca);
/* Puts OpenSSL's first queued error into err after "what: ". */
int ca_ossl_err(struct ck_err *err, int code, const char *what);
/* The signature digest for a CA key type (NULL for Ed25519). */
const EVP_MD *ca_digest_for(const char *type);
/* Adds an extension given as OpenSSL configuration text. */
int ca_add_ext(
    X509 *x, X509 *issuer, int nid, const char *value, struct ck_err *err);
/* A positive, non-zero 128-bit random serial. */
int ca_set_serial(X509 *x, struct ck_err *err);
/* Opens a key sealed with ck_seal (PKCS#8 inside): *key is the caller's. */
int ca_unseal_key(const uint8_t mk[CK_MASTER_KEY_LEN], const char *aad,
    const uint8_t *sealed, size_t len, EVP_PKEY **key, struct ck_err *err);
/*
 * Opens CA name with the master key mk: *cert and *key are the caller's
 * (X509_free, EVP_PKEY_free; shared with the cache of keycache.c, so they
 * must not be changed) and l is filled. Decodes only on first use.
 */
int ca_load(struct ck_store *st, const uint8_t mk[CK_MASTER_KEY_LEN],
    const char *name, struct ca_loaded *l, X509 **cert, EVP_PKEY **key,
    struct ck_err *err);

/* ---- request.c ---- */

/*
 * A certificate request whose self-signature verifies, as the CA uses it:
 * the subject, the SubjectPublicKeyInfo as bytes, and what the profile
 * checks. Release with ca_request_release().
 */
struct ca_request {
	void *fast; /* owned parse (request.c), or NULL */
	X509_REQ *slow; /* owned, when the reference reader was needed */
	const X509_NAME *subject; /* borrowed from fast or slow */
	X509_ALGOR *key_alg; /* idem */
	const unsigned char *key; /* the subjectPublicKey bits, idem */
	int key_len;
	char *cn; /* owned, or NULL */
	struct ck_san *sans; /* owned */
	size_t n_sans;
	char key_type[CK_KEY_TYPE_MAX];
	int key_bits;
	char curve[CK_CURVE_MAX];
};

/*
 * Reads and checks the request der: CK_E_PARSE or CK_E_TOO_LARGE for
 * what cannot be read, CK_E_INVAL when its signature does not verify, with
 * the reasons of ck_x509_csr_parse(). Decodes no key through OpenSSL's
 * decoders for EC (P-256, P-384, P-521), RSA and Ed25519 requests.
 */
int ca_request_read(
    const uint8_t *der, size_t len, struct ca_request *q, struct ck_err *err);
void ca_request_release(struct ca_request *q);
/* Puts the request's SubjectPublicKeyInfo into x as bytes (no decode). */
int ca_request_set_pubkey(
    const struct ca_request *q, X509 *x, struct ck_err *err);

/* ---- ocsp.c ---- */

/* Forgets what OCSP keeps of the CA certificates (for ck_ca_cache_clear). */
void ca_ocsp_cache_clear(void);

/* ---- keycache.c ---- */

/*
 * The master key at path (already resolved by ck_master_key_path), read
 * from the file once and again only when the file changes. Errors are
 * those of ck_master_key_load(). The caller wipes mk.
 */
int ca_master_key(
    const char *path, uint8_t mk[CK_MASTER_KEY_LEN], struct ck_err *err);

/*
 * A signer: the certificate cert_der and the key sealed under mk with aad,
 * decoded once per process for these exact bytes. With check_match the key
 * must belong to the certificate. *cert and *key are counted references
 * for the caller (X509_free, EVP_PKEY_free) to objects shared between
 * threads: use them, never change them.
 */
int ca_signer_open(const uint8_t mk[CK_MASTER_KEY_LEN], const char *aad,
    const uint8_t *sealed, size_t sealed_len, const uint8_t *cert_der,
    size_t cert_len, bool check_match, X509 **cert, EVP_PKEY **key,
    struct ck_err *err);

#endif
