/*
 * Shared by the ACME connector's files only (src/issuer/acme*.c):
 * acme_jws.c (keys, JWK, JWS, EAB, ARI CertID), acme_parse.c (everything
 * read from the CA's bytes), acme_client.c (directory, nonces, signed
 * requests, problem documents), acme_chall.c (the challenge responders)
 * and acme.c (the order flow and the connector operations).
 */
#ifndef CK_ISSUER_ACME_INT_H
#define CK_ISSUER_ACME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fetch.h"
#include "issuer/issuer.h"

/* Bounds on what the CA sends and on how long we wait for it. */
#define ACME_JSON_MAX (256 * 1024)
#define ACME_CHAIN_MAX (1024 * 1024)
#define ACME_URL_MAX 2048
#define ACME_TOKEN_MAX 256
#define ACME_AUTHZ_MAX 100
#define ACME_CHALL_MAX 16
#define ACME_CHAIN_CERTS_MAX 10
#define ACME_ALTERNATES_MAX 8
#define ACME_NONCE_RETRIES 5
#define ACME_ORDER_SECONDS 300
#define ACME_REQUEST_MS 30000

/* ---- acme_jws.c ---- */

/* Drains OpenSSL's error queue into err as "what: reason"; returns code. */
int acme_ossl_err(struct ck_err *err, int code, const char *what);

void acme_b64url(const void *p, size_t n, struct ck_buf *out);
/* False when s is not unpadded base64url (or empty). */
bool acme_b64url_decode(const char *s, size_t n, struct ck_buf *out);
/* Only base64url characters, 1..max of them (tokens, nonces). */
bool acme_is_b64url(const char *s, size_t max);

/* Account key of type "ec-p256", "ec-p384", "rsa-2048", "rsa-3072",
 * "rsa-4096" or "ed25519" into *out (caller frees). */
int acme_key_generate(const char *type, EVP_PKEY **out, struct ck_err *err);
int acme_key_load(
    const char *pem, size_t len, EVP_PKEY **out, struct ck_err *err);
/* PKCS#8 PEM of k into out (a secret: release with _secret). */
int acme_key_pem(EVP_PKEY *k, struct ck_buf *out, struct ck_err *err);
/* The type name acme_key_generate() takes, for a key of the same kind. */
const char *acme_key_type(EVP_PKEY *k);
/* "RS256", "ES256", "ES384", "EdDSA", or NULL for a key we cannot use. */
const char *acme_key_alg(EVP_PKEY *k);
/* The public JWK with exactly the RFC 7638 members in their order. */
int acme_jwk(EVP_PKEY *k, struct ck_buf *out, struct ck_err *err);
/* base64url(SHA-256(JWK)): the account thumbprint of key authorizations. */
int acme_thumbprint(EVP_PKEY *k, struct ck_buf *out, struct ck_err *err);

/*
 * A flattened JWS (RFC 7515 section 7.2.2) of payload signed by k, with
 * "kid" (when kid is set) or "jwk", "nonce" (when set) and "url" in the
 * protected header. payload "" is POST-as-GET.
 */
int acme_jws(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
    const char *payload, struct ck_buf *out, struct ck_err *err);
/* The External Account Binding JWS (RFC 8555 section 7.3.4): HS256 with
 * the HMAC key over the account's JWK. */
int acme_eab(const char *kid, const uint8_t *key, size_t key_len,
    const char *url, const char *jwk, struct ck_buf *out, struct ck_err *err);
/* RFC 9773 CertID: base64url(AKI keyIdentifier) "." base64url(serial). */
void acme_cert_id_raw(const uint8_t *aki, size_t aki_len, const uint8_t *serial,
    size_t serial_len, struct ck_buf *out);
int acme_cert_id(
    const uint8_t *der, size_t len, struct ck_buf *out, struct ck_err *err);

/* ---- acme_parse.c: bytes from the CA ---- */

/* clang-format off */
#define ACME_STATUS_MAP(X)            \
	X(UNKNOWN, "unknown")         \
	X(PENDING, "pending")         \
	X(READY, "ready")             \
	X(PROCESSING, "processing")   \
	X(VALID, "valid")             \
	X(INVALID, "invalid")         \
	X(DEACTIVATED, "deactivated") \
	X(EXPIRED, "expired")         \
	X(REVOKED, "revoked")
/* clang-format on */

enum acme_status {
#define ACME_STATUS_ENUM(name, str) ACME_##name,
	ACME_STATUS_MAP(ACME_STATUS_ENUM)
#undef ACME_STATUS_ENUM
};

const char *acme_status_name(enum acme_status s);

struct acme_dir {
	char *new_nonce, *new_account, *new_order; /* required */
	char *revoke_cert, *key_change, *renewal_info; /* or NULL */
	char *terms; /* meta.termsOfService, or NULL */
	bool eab_required; /* meta.externalAccountRequired */
};
int acme_dir_parse(
    const char *p, size_t n, struct acme_dir *d, struct ck_err *err);
void acme_dir_release(struct acme_dir *d);

struct acme_order {
	enum acme_status status;
	char **authz; /* URLs */
	size_t n_authz;
	char *finalize;
	char *certificate; /* or NULL */
	char *error; /* the order's problem, as a reason line, or NULL */
};
int acme_order_parse(
    const char *p, size_t n, struct acme_order *o, struct ck_err *err);
void acme_order_release(struct acme_order *o);

struct acme_chall {
	char *type, *url, *token; /* token: base64url only, or NULL */
	enum acme_status status;
	char *error; /* reason line, or NULL */
};

struct acme_authz {
	enum acme_status status;
	char *ident_type, *ident_value;
	bool wildcard;
	struct acme_chall *ch;
	size_t n_ch;
};
int acme_authz_parse(
    const char *p, size_t n, struct acme_authz *a, struct ck_err *err);
void acme_authz_release(struct acme_authz *a);

/*
 * Maps an error response (status, body) to our code, reason in err as
 * "what: <problem type>: <detail>": the one table of ACME problem types.
 * type gets the problem type's last part ("badNonce") when there is one
 * (size at least 64), else "".
 */
int acme_problem(long status, const char *body, size_t n,
    const char *retry_after, const char *what, char *type, size_t type_size,
    struct ck_err *err);

/* The URLs of Link header values whose rel includes rel, absolute http(s)
 * only, at most max, appended to *urls / *n (caller frees each and the
 * array). */
void acme_links(char *const *links, size_t n_links, const char *rel, size_t max,
    char ***urls, size_t *n);

/* A PEM chain from the CA: the leaf's DER, the rest as PEM, and the CN of
 * the issuer of the last certificate (or NULL). */
struct acme_chain {
	uint8_t *leaf;
	size_t leaf_len;
	struct ck_buf rest_pem;
	char *top_issuer_cn;
};
int acme_chain_parse(
    const char *p, size_t n, struct acme_chain *c, struct ck_err *err);
void acme_chain_release(struct acme_chain *c);

int acme_renewal_parse(
    const char *p, size_t n, struct ck_renewal_window *w, struct ck_err *err);

/* ---- acme_client.c: one session with the CA ---- */

struct acme {
	struct ck_issuer_def *def; /* borrowed */
	struct acme_dir dir;
	EVP_PKEY *key; /* the account key, or NULL until acme_account() */
	char *kid; /* the account URL, or NULL */
	char *nonce;
	uint64_t deadline_ns; /* ck_mono_ns() by which all must be done */
	char problem[64]; /* last problem type, "" if none */
	unsigned nonce_retries; /* badNonce answers retried, for tests */
	/* the order's requests share its connections: one handshake, not
	 * one per request */
	struct ck_fetch_session *http;
};

/* Fetches the directory; a's other members start empty. */
int acme_open(struct ck_issuer_def *def, struct acme *a, struct ck_err *err);
void acme_close(struct acme *a);
/* Loads (or makes) the account key and finds (or makes) the account. */
int acme_account(struct acme *a, struct ck_err *err);
/* newAccount with the loaded key: sets a->kid and the def's account_url. */
int acme_register(struct acme *a, struct ck_err *err);
/*
 * A signed POST of payload (NULL or "": POST-as-GET) to url, with the
 * account's kid, or its JWK when use_jwk. Retries badNonce. resp holds
 * the answer on success (a 2xx); anything else maps to an error.
 */
int acme_post(struct acme *a, const char *url, const char *payload,
    bool use_jwk, const char *accept, size_t max, struct ck_fetch_resp *resp,
    struct ck_err *err);
/* Unsigned GET (directory, renewalInfo). */
int acme_get(struct acme *a, const char *url, struct ck_fetch_resp *resp,
    struct ck_err *err);
/* Milliseconds left before the deadline (at least 1, at most a request's
 * bound), or 0 when it passed. */
int acme_time_left_ms(const struct acme *a);
/* Records whether the directory at url offers renewalInfo, for caps(). */
void acme_caps_note(const char *url, bool renewal_info);
bool acme_caps_renewal_info(const char *url);

/* ---- acme_chall.c: challenge responders for one order ---- */

struct acme_responder;
int acme_responder_new(const struct ck_issuer_def *d,
    struct acme_responder **out, struct ck_err *err);
/* Registers one challenge: type "http-01", "dns-01" or "tls-alpn-01";
 * ident_value without any "*." prefix. Nothing listens before start. */
int acme_responder_add(struct acme_responder *r, const char *type,
    const char *ident_type, const char *ident_value, const char *token,
    const char *key_auth, struct ck_err *err);
/* Starts listeners, writes files, runs DNS hooks and waits dns_wait. */
int acme_responder_start(
    struct acme_responder *r, int max_wait_ms, struct ck_err *err);
/* Stops and removes everything; accepts NULL. */
void acme_responder_free(struct acme_responder *r);
/* The tls-alpn-01 certificate for one identifier (for tests). */
int acme_tlsalpn_cert(EVP_PKEY *k, const char *ident_type,
    const char *ident_value, const char *key_auth, struct ck_buf *der,
    struct ck_err *err);

#endif
