/*
 * JOSE for the ACME server (RFC 7515, 7517, 7518, 7638, 8037): base64url,
 * public JWKs turned into keys, JWS signature checks and thumbprints.
 * Keys stay behind struct ck_jwk so that OpenSSL remains inside src/x509/.
 */
#ifndef CK_X509_JOSE_H
#define CK_X509_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

/* Appends the unpadded base64url of p. */
void ck_b64url_encode(const void *p, size_t n, struct ck_buf *out);
/* Appends the bytes of s (n characters, unpadded base64url, no
 * whitespace); false when s is not that. */
bool ck_b64url_decode(const char *s, size_t n, struct ck_buf *out);

/* Fills p with n bytes from the CSPRNG (aborts if it fails). */
void ck_random_bytes(void *p, size_t n);

/* HMAC-SHA-256 (EAB, RFC 8555 section 7.3.4). */
void ck_hmac_sha256(const uint8_t *key, size_t key_len, const void *p, size_t n,
    uint8_t out[32]);

/* A public key from a JWK. */
struct ck_jwk;

/*
 * Reads a public JWK: RSA (2048 to 8192 bits, e), EC (P-256, P-384, the
 * point checked on the curve) or OKP Ed25519. Private members ("d", ...)
 * are refused. *out is the caller's (ck_jwk_free).
 */
int ck_jwk_parse(const json_t *jwk, struct ck_jwk **out, struct ck_err *err);
/* Same from JSON text (as stored). */
int ck_jwk_parse_text(
    const char *json, size_t len, struct ck_jwk **out, struct ck_err *err);
void ck_jwk_free(struct ck_jwk *k);
/* Another holder of k (its key verifies from several threads at once):
 * each ck_jwk_ref is matched by a ck_jwk_free. Returns k. */
struct ck_jwk *ck_jwk_ref(struct ck_jwk *k);

/* The RFC 7638 thumbprint, base64url of SHA-256 (43 characters);
 * borrowed, lives as long as k. */
const char *ck_jwk_thumbprint(const struct ck_jwk *k);
/* The JWK's required members in RFC 7638 order (what is stored); borrowed. */
const char *ck_jwk_json(const struct ck_jwk *k);

/* Whether alg ("RS256", "ES256", "ES384", "EdDSA") suits k's key. */
bool ck_jwk_alg_ok(const struct ck_jwk *k, const char *alg);

/*
 * Checks a JWS signature over in (the signing input, "protected.payload")
 * with alg. ES* signatures are JWS-style r||s. 0 when it verifies,
 * CK_E_CRYPTO when not, CK_E_INVAL when alg does not suit the key.
 */
int ck_jwk_verify(const struct ck_jwk *k, const char *alg, const void *in,
    size_t n, const uint8_t *sig, size_t sig_len, struct ck_err *err);

/* Whether certificate der carries k's public key. */
bool ck_jwk_matches_cert(
    const struct ck_jwk *k, const uint8_t *der, size_t der_len);

#endif
