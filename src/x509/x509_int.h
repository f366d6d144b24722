/*
 * Shared only by the files of src/x509/: the small DER reader, PEM scanning,
 * and the one function that drains OpenSSL's error queue into our error.
 */
#ifndef CK_X509_INT_H
#define CK_X509_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "x509/x509.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/asn1t.h>
#include <openssl/x509v3.h>

/* One DER TLV. Only definite lengths (DER forbids the others). */
struct der_tlv {
	unsigned tag; /* first identifier octet; high tags refused */
	const uint8_t *val; /* borrowed, points into the input */
	size_t len;
	size_t total; /* header + value */
};

/* Reads the TLV at p (n bytes available). Returns false if malformed. */
bool der_read(const uint8_t *p, size_t n, struct der_tlv *t);

/*
 * Drains OpenSSL's error queue into err with code and a prefix ("what"),
 * keeping the innermost reason. Returns code.
 */
int ssl_err(struct ck_err *err, int code, const char *what);

/* Base64 decode ignoring whitespace; false on any other bad character. */
bool b64_decode(const char *s, size_t n, struct ck_buf *out);

/* Fill key fields from a SubjectPublicKeyInfo (DER). */
struct ck_keyinfo {
	char type[32];
	int bits;
	char curve[32];
};
/* From the algorithm and key bytes; false when only a decode can tell. */
bool keyinfo_fast(
    const X509_ALGOR *alg, const ASN1_BIT_STRING *key, struct ck_keyinfo *ki);
/* Decodes the SubjectPublicKeyInfo DER (slow) for other key types. */
void keyinfo_slow(const uint8_t *spki, size_t len, struct ck_keyinfo *ki);
void keyinfo_from_pkey(EVP_PKEY *pk, struct ck_keyinfo *ki);

/* Shared between the certificate and the CSR parser. */
char *name_string(const X509_NAME *name, BIO *bio);
/*
 * Formats a DER Name as RFC 4514 text into out (as OpenSSL's RFC 2253 form
 * without escaping UTF-8) and, if cn is not NULL, sets *cn to the last CN
 * as UTF-8 (owned by the caller) or NULL. False if the DER is malformed.
 */
bool name_format(const uint8_t *der, size_t len, struct ck_buf *out, char **cn);
char *last_cn(const X509_NAME *name);
void sans_from_names(
    const GENERAL_NAMES *gens, struct ck_san **sans, size_t *n);

/*
 * Our Certificate structure for OpenSSL's ASN.1 templates (asn1.c): like
 * X509, but SubjectPublicKeyInfo and the Names stay undecoded, which is
 * what makes the bulk parse fast (see parse.c). The template macros need
 * typedef names; these are the only struct typedefs of the code base.
 */
typedef struct {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *public_key;
} CK_SPKI;

typedef struct {
	ASN1_TIME *not_before;
	ASN1_TIME *not_after;
} CK_VALIDITY;

typedef struct {
	ASN1_INTEGER *version;
	ASN1_INTEGER *serial;
	X509_ALGOR *signature;
	ASN1_TYPE *issuer; /* Name, kept as DER: see name.c */
	CK_VALIDITY *validity;
	ASN1_TYPE *subject;
	CK_SPKI *spki;
	ASN1_BIT_STRING *issuer_uid;
	ASN1_BIT_STRING *subject_uid;
	STACK_OF(X509_EXTENSION) * extensions;
} CK_TBS;

typedef struct {
	CK_TBS *tbs;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
} CK_CERTIFICATE;

DECLARE_ASN1_ITEM(CK_SPKI)
DECLARE_ASN1_ITEM(CK_CERTIFICATE)

#endif
