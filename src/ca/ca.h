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

#endif
