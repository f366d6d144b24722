/*
 * The inventory store: one interface over the database that holds every
 * certificate, where it was seen, and the audit log. SQLite is the embedded
 * backend (WAL, one file); the SQL is plain and $n-parameterised so that the
 * PostgreSQL backend can share it.
 *
 * A store handle is used by one thread at a time: it is opened without
 * SQLite's per-connection mutex and keeps prepared statements, so two
 * threads that share one must serialize their calls themselves; threads
 * that work in parallel each open their own. Writes happen inside
 * ck_store_begin()/ck_store_commit(); a failed batch is rolled back whole
 * with ck_store_rollback(), leaving the inventory as it was before.
 */
#ifndef CK_STORE_H
#define CK_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "x509/x509.h"

struct ck_store;

/*
 * Opens (creating if needed, and migrating to the current schema) the store
 * at url: "sqlite:PATH" (also a bare path) with optional "?max_pages=N" to
 * cap the file size. Blocks. On success *out is owned by the caller.
 */
int ck_store_open(const char *url, struct ck_store **out, struct ck_err *err);
void ck_store_free(struct ck_store *st);

/* The schema version now in the database. */
int ck_store_schema_version(struct ck_store *st, int *out, struct ck_err *err);

int ck_store_begin(struct ck_store *st, struct ck_err *err);
int ck_store_commit(struct ck_store *st, struct ck_err *err);
/* Undoes everything since begin, including counts not yet written. */
void ck_store_rollback(struct ck_store *st);

/*
 * For long imports: a larger page cache (128 MiB), rarer WAL checkpoints
 * and commits that do not wait for fsync (a crash may lose the last
 * batches, which the import can be run again to restore), trading memory
 * and that window for speed. Otherwise every commit is durable
 * (synchronous=FULL). Blocks briefly.
 */
int ck_store_bulk_mode(struct ck_store *st, struct ck_err *err);

/* Caps the page cache at kib (default 64 MiB), for long runs such as a
 * network scan whose memory must not grow with what they record. */
int ck_store_cache_limit(struct ck_store *st, int kib, struct ck_err *err);

/* Fault injection for tests: the nth write call from now fails (0: off). */
void ck_store_fail_after(struct ck_store *st, int nth);

/* ---- writes (inside a transaction) ---- */

/*
 * Records c once, keyed by its SHA-256: a known certificate only has its
 * last_seen moved. Links it to its issuer when the issuer is in the
 * inventory (found by AKI/SKI and name; the signature is checked when the
 * chain is read, see ck_store_chain), and links orphans it issued when c
 * is a CA. *id gets its row id and *is_new whether it was new.
 */
int ck_store_cert_put(struct ck_store *st, const struct ck_cert *c,
    int64_t seen_at, int64_t *id, bool *is_new, struct ck_err *err);

/*
 * Records that certificate id is signed by the certificate issuer_id, as
 * checked: the built-in CA has just signed id with issuer_id's key, so
 * ck_store_chain need not verify that signature again at the first
 * download.
 */
int ck_store_cert_signed_by(
    struct ck_store *st, int64_t id, int64_t issuer_id, struct ck_err *err);

/* Records that cert_id was seen at place (kind "file", "endpoint", ...). */
int ck_store_location_put(struct ck_store *st, int64_t cert_id,
    const char *kind, const char *place, int64_t seen_at, struct ck_err *err);

/*
 * Appends an audit event; the hash chain links it to the previous one.
 * Must run inside a transaction so the chain stays linear.
 */
int ck_store_event_add(struct ck_store *st, const char *actor,
    const char *action, const char *object, const char *detail,
    struct ck_err *err);

/* ---- reads ---- */

/*
 * A certificate row as stored. Strings are borrowed and valid only during
 * the callback that receives the row. sans holds one name per line
 * ("DNS:www.example.com"). der is set only when asked for.
 */
struct ck_cert_row {
	int64_t id;
	const uint8_t *sha256; /* 32 bytes */
	const uint8_t *sha1; /* 20 bytes */
	int version;
	const char *serial, *subject, *issuer, *cn, *sans;
	int64_t not_before, not_after;
	const char *key_type, *curve, *sig_alg, *ski, *aki;
	int key_bits, path_len;
	bool is_ca, self_issued;
	int64_t issuer_id; /* 0 when the issuer is not in the inventory */
	int link_state; /* 0 by key id and name, 1 signature ok, -1 bad */
	int64_t revoked_at;
	int64_t first_seen, last_seen;
	const uint8_t *der;
	size_t der_len;
};

/* Returns 0 to go on, non-zero to stop (passed back to the caller). */
typedef int (*ck_row_cb)(void *ctx, const struct ck_cert_row *row);

enum ck_sort { CK_SORT_EXPIRY, CK_SORT_ID };

struct ck_cert_filter {
	int64_t not_after_min; /* not_after >= this (0: no bound) */
	int64_t not_after_max; /* not_after < this (0: no bound) */
	const char *issuer; /* substring of the issuer DN, case-insensitive */
	const char *name; /* name or pattern with '*' and '?' */
	const char *key_type; /* rsa, ec, ed25519, ... */
	int ca; /* -1 any, 0 leaves only, 1 CAs only */
	int64_t limit; /* 0: no limit */
	int64_t after_id; /* keyset pagination with CK_SORT_ID */
	enum ck_sort sort;
	bool with_der;
};

/* Streams matching rows to cb in order; never loads the set in memory. */
int ck_store_cert_list(struct ck_store *st, const struct ck_cert_filter *f,
    ck_row_cb cb, void *ctx, struct ck_err *err);

/* Same count the list would give, without a limit. */
int ck_store_cert_count(struct ck_store *st, const struct ck_cert_filter *f,
    int64_t *out, struct ck_err *err);

/*
 * Resolves a reference typed by a person: a row id, or a SHA-256 hex prefix
 * of at least 4 characters (CK_E_NOTFOUND, or CK_E_INVAL when ambiguous).
 */
int ck_store_cert_find(
    struct ck_store *st, const char *ref, int64_t *id, struct ck_err *err);

/* One row (with DER) to cb. CK_E_NOTFOUND when there is none. */
int ck_store_cert_get(struct ck_store *st, int64_t id, ck_row_cb cb, void *ctx,
    struct ck_err *err);

/*
 * The chain of id up to a root or the last issuer known: each row to cb,
 * starting with id itself. Links not yet confirmed are checked by signature
 * here (and the result recorded); a bad signature ends the chain.
 */
int ck_store_chain(struct ck_store *st, int64_t id, ck_row_cb cb, void *ctx,
    struct ck_err *err);

struct ck_location {
	const char *kind, *place;
	int64_t first_seen, last_seen;
	bool present;
};
typedef int (*ck_location_cb)(void *ctx, const struct ck_location *loc);
int ck_store_locations(struct ck_store *st, int64_t cert_id, ck_location_cb cb,
    void *ctx, struct ck_err *err);

/* ---- stats ---- */

struct ck_count {
	char *key; /* owned */
	int64_t n;
};

struct ck_stats {
	int64_t total;
	int64_t expired, lt7d, lt30d, lt90d, later; /* buckets, disjoint */
	struct ck_count *by_issuer, *by_key, *by_sig;
	size_t n_issuer, n_key, n_sig;
};

/* Figures as of now; counts are sorted largest first. */
int ck_store_stats(struct ck_store *st, int64_t now, struct ck_stats **out,
    struct ck_err *err);
void ck_stats_free(struct ck_stats *s);

/* ---- audit ---- */

struct ck_event {
	int64_t id, at;
	const char *actor, *action, *object, *detail;
};
typedef int (*ck_event_cb)(void *ctx, const struct ck_event *ev);
/* Events with at in [from, to) (0: unbounded), oldest first. */
int ck_store_events(struct ck_store *st, int64_t from, int64_t to,
    int64_t limit, ck_event_cb cb, void *ctx, struct ck_err *err);
/*
 * Recomputes the hash chain. *count gets the number of events checked; a
 * broken link is CK_E_CRYPTO with the event id in err.
 */
int ck_store_events_verify(
    struct ck_store *st, int64_t *count, struct ck_err *err);

/* ---- built-in CAs ---- */

/* A CA row. Borrowed strings and bytes, valid during the callback only. */
struct ck_ca_row {
	int64_t id;
	const char *name;
	int64_t cert_id;
	int64_t parent_id; /* 0 for a root */
	const char *key_type;
	const uint8_t *key_sealed;
	size_t key_sealed_len;
	int64_t created_at;
	const char *state;
};
typedef int (*ck_ca_cb)(void *ctx, const struct ck_ca_row *ca);

/* Adds a CA (inside a transaction). CK_E_EXISTS when the name is taken. */
int ck_store_ca_add(struct ck_store *st, const struct ck_ca_row *ca,
    int64_t *id, struct ck_err *err);
/* The CA called name to cb; CK_E_NOTFOUND when there is none. */
int ck_store_ca_get(struct ck_store *st, const char *name, ck_ca_cb cb,
    void *ctx, struct ck_err *err);
/* The name of CA id (caller frees); CK_E_NOTFOUND when there is none. */
int ck_store_ca_name(
    struct ck_store *st, int64_t id, char **name, struct ck_err *err);
/* Every CA, by name. */
int ck_store_ca_list(
    struct ck_store *st, ck_ca_cb cb, void *ctx, struct ck_err *err);

/* ---- what the built-in CAs issued ---- */

/* True when ca_id has issued serial (lower-case hex) already. */
int ck_store_serial_taken(struct ck_store *st, int64_t ca_id,
    const char *serial, bool *taken, struct ck_err *err);

/*
 * Records that ca_id issued cert_id (inside a transaction). CK_E_EXISTS if
 * the serial is taken for that CA.
 */
int ck_store_issued_add(struct ck_store *st, int64_t cert_id, int64_t ca_id,
    const char *serial, const char *profile, const char *requested_by,
    struct ck_err *err);

/* ---- revocation and CRLs ---- */

/*
 * Marks cert_id revoked at time at for reason (an RFC 5280 CRLReason code),
 * inside a transaction. Revoking twice changes nothing: *already is set and
 * the first time and reason stay.
 */
int ck_store_cert_revoke(struct ck_store *st, int64_t cert_id, int64_t at,
    int reason, bool *already, struct ck_err *err);

/* The built-in CA that issued cert_id (0 when none did) and its serial. */
int ck_store_issued_by(struct ck_store *st, int64_t cert_id, int64_t *ca_id,
    char **serial, struct ck_err *err);

struct ck_revoked {
	const char *serial; /* hex */
	int64_t revoked_at;
	int reason;
};
typedef int (*ck_revoked_cb)(void *ctx, const struct ck_revoked *r);
/* Every revoked certificate ca_id issued that has not yet expired at now. */
int ck_store_revoked_list(struct ck_store *st, int64_t ca_id, int64_t now,
    ck_revoked_cb cb, void *ctx, struct ck_err *err);

/* The newest CRL of ca_id: *der (caller frees, NULL when there is none). */
int ck_store_crl_latest(struct ck_store *st, int64_t ca_id, int64_t *number,
    int64_t *next_update, uint8_t **der, size_t *der_len, struct ck_err *err);
/* Stores a CRL (inside a transaction). */
int ck_store_crl_add(struct ck_store *st, int64_t ca_id, int64_t number,
    int64_t this_update, int64_t next_update, const uint8_t *der,
    size_t der_len, struct ck_err *err);

/* ---- OCSP ---- */

/* The status of serial as issued by ca_id: 0 good, 1 revoked, 2 unknown
 * (never issued by it), with the revocation time and reason. */
int ck_store_serial_status(struct ck_store *st, int64_t ca_id,
    const char *serial, int *status, int64_t *revoked_at, int *reason,
    struct ck_err *err);

/* The OCSP responder of ca_id: *cert_der and *key_sealed are the caller's
 * (free); CK_E_NOTFOUND when it has none. */
int ck_store_responder_get(struct ck_store *st, int64_t ca_id,
    uint8_t **cert_der, size_t *cert_len, uint8_t **key_sealed, size_t *key_len,
    int64_t *not_after, struct ck_err *err);
/* Sets the responder of ca_id (inside a transaction). */
int ck_store_responder_set(struct ck_store *st, int64_t ca_id, int64_t cert_id,
    const uint8_t *key_sealed, size_t key_len, int64_t not_after,
    struct ck_err *err);

/* A cached OCSP response: *der (caller frees) or NULL when none. */
int ck_store_ocsp_cache_get(struct ck_store *st, int64_t ca_id,
    const char *hash_alg, const char *serial, int64_t *this_update,
    uint8_t **der, size_t *der_len, struct ck_err *err);
/* Stores or replaces a cached OCSP response (its own transaction). */
int ck_store_ocsp_cache_put(struct ck_store *st, int64_t ca_id,
    const char *hash_alg, const char *serial, int64_t this_update,
    const uint8_t *der, size_t der_len, struct ck_err *err);
/* Forgets the cached responses for serial of ca_id (inside a transaction). */
int ck_store_ocsp_cache_drop(
    struct ck_store *st, int64_t ca_id, const char *serial, struct ck_err *err);

/* ---- API tokens ---- */

/*
 * A token row. The store never sees a token, only its SHA-256 (made and
 * checked by src/auth/). Strings and bytes are borrowed, valid during the
 * callback only.
 */
struct ck_token_row {
	int64_t id;
	const char *name;
	const char *role; /* admin, operator, enroller, auditor */
	const char *pattern; /* names an enroller may ask for; NULL: none */
	const uint8_t *hash; /* SHA-256 of the token, 32 bytes */
	int64_t created_at;
	int64_t expires_at; /* 0: never */
	int64_t revoked_at; /* 0: not revoked */
	int64_t last_used_at; /* 0: never used (coarse, see ck_token_check) */
};
typedef int (*ck_token_cb)(void *ctx, const struct ck_token_row *t);

/*
 * Adds a token (inside a transaction) and sets *id. CK_E_EXISTS when a
 * token not revoked has that name (or, impossibly, that hash). The role
 * must be one of the four names; the table refuses others.
 */
int ck_store_token_add(struct ck_store *st, const char *name, const char *role,
    const char *pattern, const uint8_t hash[32], int64_t created_at,
    int64_t expires_at, int64_t *id, struct ck_err *err);

/*
 * Marks token id revoked at time at (inside a transaction). Revoking twice
 * changes nothing: *already is set and the first time stays. CK_E_NOTFOUND
 * when there is no such token.
 */
int ck_store_token_revoke(struct ck_store *st, int64_t id, int64_t at,
    bool *already, struct ck_err *err);

/*
 * Resolves a reference typed by a person: a row id (all digits), or a name,
 * the token not revoked first, else the newest revoked one of that name.
 * CK_E_NOTFOUND when none matches.
 */
int ck_store_token_find(
    struct ck_store *st, const char *ref, int64_t *id, struct ck_err *err);

/* Token id to cb; CK_E_NOTFOUND when there is none. */
int ck_store_token_get(struct ck_store *st, int64_t id, ck_token_cb cb,
    void *ctx, struct ck_err *err);

/*
 * The token whose SHA-256 is hash to cb, found through the unique index
 * on the hash (whatever its state); CK_E_NOTFOUND when there is none.
 */
int ck_store_token_by_hash(struct ck_store *st, const uint8_t hash[32],
    ck_token_cb cb, void *ctx, struct ck_err *err);

/*
 * Tokens by id to cb: with all, every one ever made; otherwise only those
 * neither revoked nor expired at now.
 */
int ck_store_token_list(struct ck_store *st, bool all, int64_t now,
    ck_token_cb cb, void *ctx, struct ck_err *err);

/*
 * Moves last_used_at of token id forward to at (never back). Runs inside
 * the open transaction if there is one, else as its own statement.
 */
int ck_store_token_touch(
    struct ck_store *st, int64_t id, int64_t at, struct ck_err *err);

/* ---- discovery scans ---- */

/* Records a scan starting (inside a transaction); *id for what follows. */
int ck_store_scan_begin(struct ck_store *st, const char *kind,
    const char *scope, const char *actor, int64_t started, int64_t *id,
    struct ck_err *err);
/* What place answered in scan_id: its leaf (0: none) and a status word. */
int ck_store_scan_result(struct ck_store *st, int64_t scan_id,
    const char *place, int64_t cert_id, const char *status, struct ck_err *err);
/* The same for an SSH scan: the key found at place (ssh_keys id). */
int ck_store_scan_result_ssh(struct ck_store *st, int64_t scan_id,
    const char *place, int64_t ssh_key_id, struct ck_err *err);
/* Marks the scan finished with a JSON summary (inside a transaction). */
int ck_store_scan_finish(struct ck_store *st, int64_t scan_id, int64_t finished,
    const char *counts, struct ck_err *err);

/*
 * Deletes the finished scans of kind and scope started before before, with
 * their results, except scan keep: for sources that record a scan again
 * and again (an agent's hourly reports), whose newer scans say the same.
 * Inside a transaction.
 */
int ck_store_scan_prune(struct ck_store *st, const char *kind,
    const char *scope, int64_t before, int64_t keep, struct ck_err *err);

/* One difference from the previous scan of the same kind and scope. */
struct ck_scan_change {
	const char *change; /* new, replaced, gone, expired, expiring */
	const char *place;
	int64_t old_cert, new_cert; /* 0 when none; ssh_keys ids for ssh */
};
typedef int (*ck_scan_change_cb)(void *ctx, const struct ck_scan_change *c);
/*
 * The changes of scan_id against the previous finished scan of kind and
 * scope, by place: places new or gone, leaves replaced, leaves that
 * expired or came within soon seconds of expiry since then (with no
 * previous scan, every place is new). For kind "ssh" the leaves are SSH
 * keys, and only OpenSSH certificates expire.
 */
int ck_store_scan_diff(struct ck_store *st, int64_t scan_id, const char *kind,
    const char *scope, int64_t now, int64_t soon, ck_scan_change_cb cb,
    void *ctx, struct ck_err *err);

/* A saved scan the daemon runs on its schedule. Borrowed strings. */
struct ck_scan_def {
	int64_t id;
	const char *name, *targets, *ports, *sni;
	int64_t every, next_run, last_scan, created;
	const char *actor;
	const char *last_counts; /* the last scan's JSON summary, or NULL */
	int64_t last_finished;
	const char *kind; /* net, files, ssh (NULL on add: net) */
};
typedef int (*ck_scan_def_cb)(void *ctx, const struct ck_scan_def *d);
/* Saves d (inside a transaction). CK_E_EXISTS when the name is taken. */
int ck_store_scan_def_add(struct ck_store *st, const struct ck_scan_def *d,
    int64_t *id, struct ck_err *err);
/* Every saved scan by name; or only name (CK_E_NOTFOUND when none). */
int ck_store_scan_def_list(struct ck_store *st, const char *name,
    ck_scan_def_cb cb, void *ctx, struct ck_err *err);
/* The saved scans due at now, soonest first, at most limit. */
int ck_store_scan_def_due(struct ck_store *st, int64_t now, int limit,
    ck_scan_def_cb cb, void *ctx, struct ck_err *err);
/* Sets when name runs next and (if > 0) its last scan. CK_E_NOTFOUND. */
int ck_store_scan_def_schedule(struct ck_store *st, const char *name,
    int64_t next_run, int64_t last_scan, struct ck_err *err);
/* Deletes name (inside a transaction). CK_E_NOTFOUND when none. */
int ck_store_scan_def_delete(
    struct ck_store *st, const char *name, struct ck_err *err);
/* The places of scan_id to cb: place, status, leaf certificate or SSH key
 * (0: none). */
typedef int (*ck_scan_row_cb)(void *ctx, const char *place, const char *status,
    int64_t cert_id, int64_t ssh_key_id);
int ck_store_scan_rows(struct ck_store *st, int64_t scan_id, ck_scan_row_cb cb,
    void *ctx, struct ck_err *err);

/* ---- SSH keys ---- */

/*
 * An SSH public key or OpenSSH certificate as the store keeps it (one row
 * per distinct key blob). Strings and bytes are borrowed: for the call
 * that takes the row, or for the callback that receives it.
 */
struct ck_ssh_key_row {
	int64_t id;
	const uint8_t *sha256; /* 32 bytes: SHA-256 of the key blob */
	const char *fingerprint; /* "SHA256:..." as ssh-keygen -l prints */
	const char *key_type; /* the blob's type name */
	const char *algorithm; /* "ED25519", "RSA-CERT", ... */
	int bits;
	const char *comment; /* NULL when none */
	/* Certificates; cert_type NULL for a plain key. */
	const char *cert_type; /* "user", "host" */
	const char *key_id, *serial, *principals; /* principals: one a line */
	int64_t valid_after; /* 0: always */
	int64_t valid_before; /* INT64_MAX: forever */
	const char *ca_fingerprint;
	int64_t first_seen, last_seen;
};
typedef int (*ck_ssh_key_cb)(void *ctx, const struct ck_ssh_key_row *k);

/*
 * Records k once, keyed by its sha256 (inside a transaction): a known key
 * has its last_seen moved and its comment replaced when k has one. *id
 * gets its row id and *is_new whether it was new.
 */
int ck_store_ssh_key_put(struct ck_store *st, const struct ck_ssh_key_row *k,
    int64_t seen_at, int64_t *id, bool *is_new, struct ck_err *err);

/* Records that SSH key key_id was seen at place (kind "ssh": a path),
 * inside a transaction. */
int ck_store_ssh_location_put(struct ck_store *st, int64_t key_id,
    const char *place, int64_t seen_at, struct ck_err *err);

/* Every SSH key by id to cb (streamed); stops at cb's non-zero value. */
int ck_store_ssh_key_list(
    struct ck_store *st, ck_ssh_key_cb cb, void *ctx, struct ck_err *err);

/* Where SSH key key_id was seen, by place. */
int ck_store_ssh_locations(struct ck_store *st, int64_t key_id,
    ck_location_cb cb, void *ctx, struct ck_err *err);

#endif
