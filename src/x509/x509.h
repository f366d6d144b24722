/*
 * The certificate model: ingest of PEM, DER, PKCS#7 and PKCS#12 bytes into
 * certificate DER items, and the parse of one certificate into struct ck_cert.
 * This is the only module (with ca/, http/ TLS and discovery/) that sees
 * OpenSSL; everything above works with struct ck_cert.
 */
#ifndef CK_X509_H
#define CK_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Loads OpenSSL providers (default and, where present, legacy for old
 * PKCS#12 files). Idempotent; call once before anything else here. */
void ck_x509_init(void);

/* A list of owned strings. */
struct ck_strlist {
	char **v;
	size_t n;
};
void ck_strlist_add(struct ck_strlist *l, const char *s);
void ck_strlist_release(struct ck_strlist *l);

enum ck_san_type { CK_SAN_DNS, CK_SAN_IP, CK_SAN_EMAIL, CK_SAN_URI };

struct ck_san {
	enum ck_san_type type;
	char *value; /* owned; IPs in textual form */
};

/* "DNS", "IP", "email", "URI": the prefix used in text and JSON. */
const char *ck_san_type_name(enum ck_san_type t);

/* How much of a certificate to decode. */
enum ck_parse_level {
	/* What the inventory stores: names, times, key, SANs, CA, SKI/AKI. */
	CK_PARSE_CORE,
	/* Everything: also key usage, EKU, CRL DPs, AIA, policies, SCTs. */
	CK_PARSE_FULL,
};

#define CK_KEY_TYPE_MAX 32
#define CK_CURVE_MAX 32

/*
 * One certificate. Every pointer is owned by the struct and freed by
 * ck_cert_free(). Hex strings are lower-case without separators.
 */
struct ck_cert {
	uint8_t *der; /* the exact DER */
	size_t der_len;
	uint8_t sha256[32];
	uint8_t sha1[20];
	int version; /* 1, 2 or 3 */
	char *serial; /* hex of the magnitude; "-" prefixed if negative */
	char *subject; /* RFC 4514 */
	char *issuer; /* RFC 4514 */
	char *cn; /* last CN of the subject, or NULL */
	struct ck_san *sans;
	size_t n_sans;
	int64_t not_before, not_after;
	char key_type[CK_KEY_TYPE_MAX]; /* rsa, ec, ed25519, ed448, dsa, ... */
	int key_bits; /* 0 if unknown */
	char curve[CK_CURVE_MAX]; /* EC: "P-256", "secp256k1", ... */
	char *sig_alg; /* OpenSSL long name */
	bool is_ca;
	int path_len; /* -1 when absent */
	char *ski; /* hex, or NULL */
	char *aki; /* hex key identifier, or NULL */
	/* Subject equals issuer (and AKI, if any, equals SKI). */
	bool self_issued;
	/* CK_PARSE_FULL only. */
	bool full;
	struct ck_strlist key_usage; /* "digitalSignature", ... */
	struct ck_strlist ext_key_usage; /* "serverAuth", or dotted OID */
	struct ck_strlist crl_dps;
	struct ck_strlist ocsp_urls;
	struct ck_strlist ca_issuer_urls;
	struct ck_strlist policies; /* dotted OIDs */
	bool has_scts;
};

/*
 * Parses one DER certificate (exactly der_len bytes, or a prefix that is one
 * complete certificate followed by nothing else). The public key is read
 * from its algorithm and bytes, not decoded, unless its type is unknown.
 * On success *out is owned by the caller. Fails with CK_E_PARSE.
 * Not thread-safe for one struct; distinct calls may run in parallel.
 */
int ck_x509_parse(const uint8_t *der, size_t der_len, enum ck_parse_level lvl,
    struct ck_cert **out, struct ck_err *err);
void ck_cert_free(struct ck_cert *c);

bool ck_cert_is_expired(const struct ck_cert *c, int64_t now);

/* A parsed certificate request. */
struct ck_csr {
	char *subject;
	char *cn;
	struct ck_san *sans;
	size_t n_sans;
	char key_type[CK_KEY_TYPE_MAX];
	int key_bits;
	char curve[CK_CURVE_MAX];
	bool signature_ok; /* the self-signature verifies */
};
int ck_x509_csr_parse(const uint8_t *der, size_t der_len, struct ck_csr **out,
    struct ck_err *err);
/* True when the certificate and the request carry the same public key. */
bool ck_x509_same_key(
    const uint8_t *cert, size_t cert_len, const uint8_t *csr, size_t csr_len);
void ck_csr_free(struct ck_csr *c);

/* ---- ingest ---- */

enum ck_item_kind {
	CK_ITEM_CERT,
	CK_ITEM_CSR,
	CK_ITEM_KEY, /* a private key (reported, not imported here) */
	CK_ITEM_CRL,
	CK_ITEM_OTHER, /* a PEM block we do not take, an empty PKCS#7 */
	CK_ITEM_ERROR, /* a part of the input that could not be read */
};

const char *ck_item_kind_name(enum ck_item_kind k);

struct ck_item {
	enum ck_item_kind kind;
	/* Borrowed for the callback. NULL for ERROR and OTHER items, and for
	 * keys from PKCS#12 and encrypted PEM keys (not re-encoded). */
	const uint8_t *der;
	size_t der_len;
	const char *container; /* "pem", "der", "pkcs7", "pkcs12" */
	const char *label; /* PEM label, or NULL */
	int index; /* position within the input, from 1 */
	const char *reason; /* ERROR and OTHER: why */
};

/* Returns 0 to go on, non-zero to stop (returned by ck_x509_ingest). */
typedef int (*ck_ingest_cb)(void *ctx, const struct ck_item *item);

struct ck_ingest_opts {
	/* Passwords to try on PKCS#12 after none and the empty one. */
	const struct ck_strlist *passwords;
};

/*
 * Reads every item in data, detecting the format from content (PEM blocks
 * anywhere in text, DER certificate, PKCS#7, PKCS#12, CSR, key) and calls cb
 * for each. Parts that cannot be read are reported as CK_ITEM_ERROR items;
 * the function fails (CK_E_PARSE, with a reason) only when nothing at all
 * could be recognised, or with the callback's non-zero value.
 */
int ck_x509_ingest(const uint8_t *data, size_t len,
    const struct ck_ingest_opts *opts, ck_ingest_cb cb, void *ctx,
    struct ck_err *err);

/* ---- digests, hex ---- */
void ck_sha256(const void *p, size_t n, uint8_t out[32]);

/* ---- signatures, chains, verification ---- */

/*
 * True when child's signature verifies with issuer's public key (and the
 * issuer name matches). Decodes the issuer key; meant for confirming links,
 * not for hot loops.
 */
int ck_x509_signed_by(const uint8_t *child, size_t child_len,
    const uint8_t *issuer, size_t issuer_len, bool *ok, struct ck_err *err);

struct ck_verify_opts {
	const char *trust_file; /* PEM bundle; NULL: the system default */
	const char *trust_dir; /* hashed directory; NULL: system default */
	int64_t at; /* 0: now */
	const char *hostname; /* if set, also check the name */
};

struct ck_verify_result {
	bool ok;
	int depth; /* where it failed */
	char reason[256];
};

/*
 * Verifies leaf against the trust store with the untrusted intermediates
 * given (DER each). A verification failure is not an error: it returns 0
 * with res->ok false and the reason ("certificate has expired", ...).
 */
int ck_x509_verify(const uint8_t *leaf, size_t leaf_len,
    const uint8_t *const *chain, const size_t *chain_lens, size_t n_chain,
    const struct ck_verify_opts *opts, struct ck_verify_result *res,
    struct ck_err *err);

/* Writes DER as a PEM block with the given label into out. */
void ck_pem_encode(
    const char *label, const uint8_t *der, size_t len, struct ck_buf *out);

/* Appends base64 (standard alphabet, padded, no line breaks) of p. */
void ck_base64_encode(const uint8_t *p, size_t len, struct ck_buf *out);
/* Decodes base64 (whitespace ignored); false when malformed or empty. */
bool ck_base64_decode(const char *s, size_t n, struct ck_buf *out);

/* The first item of kind in data (PEM or DER), as DER into out.
 * CK_E_INVAL when there is none. */
int ck_x509_first(const uint8_t *data, size_t len, enum ck_item_kind kind,
    struct ck_buf *out, struct ck_err *err);

/*
 * A PKCS#12 bundle of cert (DER), its key (PEM) and the chain (PEM
 * certificates) under password, with modern algorithms (AES-256-CBC,
 * PBKDF2, SHA-256 MAC). out holds a secret: ck_buf_release_secret().
 */
int ck_x509_pkcs12_make(const uint8_t *cert, size_t cert_len,
    const uint8_t *key_pem, size_t key_len, const uint8_t *chain_pem,
    size_t chain_len, const char *password, const char *friendly,
    struct ck_buf *out, struct ck_err *err);
/*
 * The same bundle for readers that predate PKCS#12 with PBES2 (Java
 * before 8u301, Windows before Server 2016): keys and certificates under
 * pbeWithSHA1And3-KeyTripleDES-CBC and a SHA-1 MAC. Weaker; only when
 * asked for. Needs no legacy provider in OpenSSL 3.
 */
int ck_x509_pkcs12_make_legacy(const uint8_t *cert, size_t cert_len,
    const uint8_t *key_pem, size_t key_len, const uint8_t *chain_pem,
    size_t chain_len, const char *password, const char *friendly,
    struct ck_buf *out, struct ck_err *err);

/* thisUpdate and nextUpdate (0 when absent) of the first answer in a DER
 * OCSPResponse, for HTTP caching headers (RFC 5019). CK_E_PARSE when it is
 * not a successful basic response. */
int ck_x509_ocsp_resp_times(const uint8_t *der, size_t len,
    int64_t *this_update, int64_t *next_update, struct ck_err *err);

#endif
