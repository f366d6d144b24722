/*
 * The built-in CA: CA creation (root and issuing intermediate), CA private
 * keys sealed at rest under a master key kept apart from the database, and
 * loading a CA's key for signing. Issuance, revocation, CRL and OCSP build
 * on this (issue 3).
 */
#ifndef CK_CA_H
#define CK_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "store/store.h"

#define CK_MASTER_KEY_LEN 32

/*
 * The master key file: path if not NULL, else $CERTKEEP_MASTER_KEY_FILE,
 * else ./var/master.key. Returns a static string.
 */
const char *ck_master_key_path(const char *path);

/*
 * Reads the master key (32 bytes, a file of mode 0600). When the file does
 * not exist and may_create is true, makes a new random one (0600) first;
 * otherwise a missing, short or group/other-readable file is an error
 * (CK_E_NOTFOUND, CK_E_PARSE, CK_E_PERM) with the path in the reason.
 * key is wiped by the caller with ck_cleanse().
 */
int ck_master_key_load(const char *path, bool may_create,
    uint8_t key[CK_MASTER_KEY_LEN], struct ck_err *err);

/*
 * Seals plaintext with AES-256-GCM under key, binding aad (for example a CA
 * name) so that sealed bytes cannot be moved to another record. out gets
 * nonce (12 bytes) || ciphertext || tag (16 bytes).
 */
int ck_seal(const uint8_t key[CK_MASTER_KEY_LEN], const char *aad,
    const uint8_t *plain, size_t len, struct ck_buf *out, struct ck_err *err);

/*
 * Opens what ck_seal made. A wrong key, a different aad or changed bytes
 * give CK_E_CRYPTO. out holds a secret: release it with
 * ck_buf_release_secret().
 */
int ck_unseal(const uint8_t key[CK_MASTER_KEY_LEN], const char *aad,
    const uint8_t *sealed, size_t len, struct ck_buf *out, struct ck_err *err);

/* Key types a CA may have: ec-p256, ec-p384, rsa-3072, rsa-4096, ed25519. */
bool ck_ca_key_type_ok(const char *type);

struct ck_ca_init_opts {
	const char *name;
	const char *key_type; /* NULL: ec-p256 */
	const char *subject; /* "CN=x,O=y" or "/CN=x/O=y"; NULL: from name */
	int64_t validity; /* seconds of the issuing CA; 0: 5 years */
	bool root_only; /* one self-signed CA, no intermediate */
	const char *parent; /* an existing CA to sign this one */
	const char *master_key; /* path; NULL: see ck_master_key_path() */
	const char *actor; /* for the audit log */
};

/*
 * Creates CA name: by default a self-signed root "<name>-root" and the
 * issuing CA "<name>" under it; with root_only just "<name>" self-signed;
 * with parent, "<name>" signed by that CA. Keys are made here, sealed under
 * the master key and stored with the CA rows; the certificates go into the
 * inventory; one transaction, one audit event. Blocks (RSA keys take
 * seconds).
 */
int ck_ca_init(
    struct ck_store *st, const struct ck_ca_init_opts *o, struct ck_err *err);

struct ck_ca_import_opts {
	const char *name;
	const uint8_t *cert; /* DER of the CA certificate */
	size_t cert_len;
	const uint8_t *key; /* the private key, PEM or DER, unencrypted */
	size_t key_len;
	const char *master_key;
	const char *actor;
};

/*
 * Adopts an existing CA: its certificate must be a CA certificate (basic
 * constraints CA:TRUE, keyCertSign if key usage is present) and the key
 * must match it and be of a type certkeep signs with. The key is sealed
 * like a made one; when a CA in the store signed the certificate, that CA
 * is its parent. Refusals are CK_E_INVAL with the reason.
 */
int ck_ca_import(
    struct ck_store *st, const struct ck_ca_import_opts *o, struct ck_err *err);

/* ---- profiles: what a certificate may contain ---- */

#define CK_SAN_ALLOW_DNS 1u
#define CK_SAN_ALLOW_IP 2u
#define CK_SAN_ALLOW_EMAIL 4u
#define CK_SAN_ALLOW_URI 8u

struct ck_profile {
	const char *name;
	const char *key_usage; /* X509v3 configuration text */
	const char *ext_key_usage; /* or NULL */
	bool ca; /* sub-ca: CA:TRUE, path length 0 */
	unsigned san_types; /* CK_SAN_ALLOW_* */
	const char *subject_fields; /* attributes copied from the request */
	int min_rsa_bits;
	bool allow_ed25519;
	int max_days; /* 0: the CA/Browser Forum schedule (tls-server) */
	/* Web PKI rules (tls-server and profiles based on it): the CN is
	 * also a SAN, at least one DNS name or IP is required. */
	bool web_pki;
};

/* The profile called name (built-in or configured), or NULL. Profiles
 * live until the process exits. */
const struct ck_profile *ck_profile_find(const char *name);

/*
 * Adds the user-defined profiles of cfg's [profile.NAME] sections, which
 * replace those configured before (built-in names cannot be redefined).
 * Keys: base (a built-in profile to start from), key_usage, ext_key_usage
 * (comma lists of the X.509 names, or OIDs for EKU), ca, san_types (dns,
 * ip, email, uri or none), subject_fields, min_rsa_bits, allow_ed25519,
 * max_days, web_pki. A bad section is CK_E_PARSE naming it and the key,
 * and changes nothing. Thread-safe with ck_profile_find.
 */
int ck_profiles_configure(const struct ck_config *cfg, struct ck_err *err);

/*
 * The longest validity in days the profile allows for a certificate issued
 * at time at: for tls-server the Baseline Requirements' schedule of ballot
 * SC-081 (398 days, then 200 from 2026-03-15, 100 from 2027-03-15, 47 from
 * 2029-03-15).
 */
int ck_profile_max_days(const struct ck_profile *p, int64_t at);

/* Refuses keys the profile does not take, with the reason in err. */
int ck_profile_check_key(const struct ck_profile *p, const char *key_type,
    int bits, const char *curve, struct ck_err *err);

/* ---- signing ---- */

struct ck_sign_req {
	const char *ca; /* CA name */
	const char *master_key; /* path or NULL */
	const struct ck_profile *profile;
	const uint8_t *csr; /* DER */
	size_t csr_len;
	int days; /* 0: the profile's maximum */
	const char *public_url; /* base of CRL and AIA URLs, or NULL */
};

/*
 * Checks the request against the profile and signs it with the CA's key.
 * Nothing is recorded here (ck_enroll does that). On success *der is the
 * certificate (caller frees), *ca_id the issuing CA's row and *ca_cert_id
 * its certificate's inventory id (for the chain). Refusals are CK_E_INVAL
 * (or CK_E_PERM for a CA that may not issue) with the reason in err.
 */
int ck_ca_sign(struct ck_store *st, const struct ck_sign_req *req,
    uint8_t **der, size_t *der_len, int64_t *ca_id, int64_t *ca_cert_id,
    struct ck_err *err);

/*
 * Reads a certificate request as ck_ca_sign does (for EC, RSA and Ed25519
 * keys without OpenSSL's key decoders, several times cheaper; any other
 * by ck_x509_csr_parse): the names and the key of *out as that call fills
 * them, subject left NULL. A request whose self-signature does not verify
 * is refused (CK_E_INVAL) rather than returned with signature_ok false.
 * For doors that check names before they enroll (ACME finalize).
 */
struct ck_csr; /* x509/x509.h */
int ck_ca_csr_read(
    const uint8_t *der, size_t len, struct ck_csr **out, struct ck_err *err);

/*
 * Forgets the CA and OCSP responder keys and master keys that signing keeps
 * decoded in memory (see src/ca/keycache.c), wiping them. Runs by itself at
 * exit; tests call it to start cold. Safe to call from any thread, but keys
 * in use by a signing call are freed when that call ends.
 */
void ck_ca_cache_clear(void);

/* ---- keys and requests made by certkeep ---- */

/*
 * Makes a key (rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384, ed25519)
 * and a CSR for cn and the SANs ("DNS:x", "IP:1.2.3.4", "email:a@b",
 * "URI:u"; a bare name is DNS), signed with the key. *csr is DER (caller
 * frees); key_pem gets the PKCS#8 PEM (a secret: release it with
 * ck_buf_release_secret()).
 */
int ck_make_key_and_csr(const char *key_type, const char *cn,
    const char *const *sans, size_t n_sans, uint8_t **csr, size_t *csr_len,
    struct ck_buf *key_pem, struct ck_err *err);

/* The CSR for an existing key (PKCS#8 or traditional PEM), as
 * ck_make_key_and_csr() makes it: for renewals that keep their key. */
int ck_csr_for_key(const uint8_t *key_pem, size_t key_len, const char *cn,
    const char *const *sans, size_t n_sans, uint8_t **csr, size_t *csr_len,
    struct ck_err *err);
/* The same with OU=ou after the CN (ou NULL: none): the agent's request
 * for its client certificate, which the server tells apart by it. */
int ck_csr_for_key_ou(const uint8_t *key_pem, size_t key_len, const char *cn,
    const char *ou, const char *const *sans, size_t n_sans, uint8_t **csr,
    size_t *csr_len, struct ck_err *err);

/* ---- revocation reasons and CRLs ---- */

/* RFC 5280 CRLReason by name ("keyCompromise", ...); CK_E_INVAL if unknown. */
int ck_crl_reason_parse(const char *name, int *code);
/* The name of a CRLReason code; "unspecified" for unknown codes. */
const char *ck_crl_reason_name(int code);

/* How long a CRL is valid (nextUpdate - thisUpdate), and how long before
 * nextUpdate a new one is made. */
#define CK_CRL_VALIDITY (7 * 86400)
#define CK_CRL_REFRESH (86400)

/*
 * The current CRL of CA ca as DER (caller frees): the newest stored one,
 * or, when there is none, when force is set (a revocation happened) or
 * when its nextUpdate is less than CK_CRL_REFRESH away, a new one signed
 * now with the next CRL number and stored.
 */
int ck_ca_crl(struct ck_store *st, const char *ca, const char *master_key,
    bool force, uint8_t **der, size_t *der_len, struct ck_err *err);

/* ---- OCSP (RFC 6960, RFC 5019) ---- */

#define CK_OCSP_MAX_QUERIES 16
#define CK_OCSP_RESPONDER_DAYS 30
#define CK_OCSP_RESPONDER_RENEW (7 * 86400)
#define CK_OCSP_VALIDITY 86400 /* nextUpdate - thisUpdate */

/* One certificate asked about: the CertID's fields. */
struct ck_ocsp_query {
	char hash_alg[32]; /* sha1, sha256, ... */
	char serial[80]; /* lower-case hex */
};

struct ck_ocsp_request {
	struct ck_ocsp_query q[CK_OCSP_MAX_QUERIES];
	size_t n;
	bool has_nonce;
};

/*
 * Parses a DER OCSPRequest (outside bytes: bounded and fuzzed).
 * CK_E_PARSE for anything malformed, CK_E_TOO_LARGE over 16 queries.
 */
int ck_ocsp_request_parse(const uint8_t *der, size_t len,
    struct ck_ocsp_request *out, struct ck_err *err);

/*
 * Answers a DER OCSPRequest with a DER OCSPResponse: good, revoked (time,
 * reason) or unknown for each certificate asked about, signed by the CA's
 * delegated responder (made or renewed here when needed), the nonce echoed.
 * Malformed requests get a malformedRequest response and requests for CAs
 * we are not get unauthorized: those are answers, not errors. If ca is not
 * NULL only that CA answers. Errors are for the store and the master key.
 */
int ck_ocsp_respond(struct ck_store *st, const char *ca, const char *master_key,
    const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len,
    struct ck_err *err);

#endif
