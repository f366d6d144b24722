/*
 * The store's tables for lifecycle work: issuer connectors, managed
 * certificates and the job queue (migration 011). Part of the store's one
 * interface (store.h), kept in its own header because only the lifecycle
 * layer and its doors use it. Writes happen inside a transaction; rows
 * handed to callbacks are borrowed for the call.
 */
#ifndef CK_STORE_MANAGED_H
#define CK_STORE_MANAGED_H

#include "store/store.h"

/* ---- issuer connectors ---- */

struct ck_issuer_row {
	int64_t id;
	const char *name, *type;
	const char *config; /* JSON of the non-secret settings */
	const uint8_t *secrets; /* sealed, or NULL */
	size_t secrets_len;
	const char *account_url; /* or NULL */
	int failures; /* consecutive failed attempts */
	int64_t open_until; /* breaker: no attempts before */
	int64_t created;
	const char *actor;
};
typedef int (*ck_issuer_row_cb)(void *ctx, const struct ck_issuer_row *r);

/* Adds r (id, failures, open_until ignored). CK_E_EXISTS if the name is. */
int ck_store_issuer_add(struct ck_store *st, const struct ck_issuer_row *r,
    int64_t *id, struct ck_err *err);
/* name's row, or every row by name when name is NULL. CK_E_NOTFOUND. */
int ck_store_issuer_list(struct ck_store *st, const char *name,
    ck_issuer_row_cb cb, void *ctx, struct ck_err *err);
/* Replaces the account state (sealed secrets and URL). */
int ck_store_issuer_set_account(struct ck_store *st, const char *name,
    const uint8_t *secrets, size_t len, const char *account_url,
    struct ck_err *err);
/* Records the breaker state. */
int ck_store_issuer_health(struct ck_store *st, const char *name, int failures,
    int64_t open_until, struct ck_err *err);
/* Deletes name. CK_E_NOTFOUND; CK_E_PERM while managed certificates that
 * are not retired use it. */
int ck_store_issuer_delete(
    struct ck_store *st, const char *name, struct ck_err *err);

/* ---- managed certificates ---- */

struct ck_managed_row {
	int64_t id;
	const char *name, *cn, *sans, *key_type, *issuer, *profile;
	int days;
	int renew_frac; /* thousandths of the lifetime; 0: use renew_before */
	int64_t renew_before; /* seconds before expiry */
	bool reuse_key;
	const char *owner, *contact, *tags;
	const char *key_out, *cert_out, *chain_out; /* "" for none */
	const char *state; /* pending, active, failing, retired */
	int64_t cert_id; /* current certificate, 0: none yet */
	const uint8_t *key; /* sealed current key, or NULL */
	size_t key_len;
	int64_t written_cert_id;
	int64_t next_action, renew_at, ari_checked;
	int failures;
	const char *last_error, *last_alert;
	int64_t issued_count, created, updated;
	const char *actor;
	/* of the current certificate (0 and NULL without one) */
	int64_t not_before, not_after;
	const char *sha256;
};
typedef int (*ck_managed_row_cb)(void *ctx, const struct ck_managed_row *r);

/* Adds r as given (its schedule, state and cert_id included; not its
 * key). CK_E_EXISTS. */
int ck_store_managed_add(struct ck_store *st, const struct ck_managed_row *r,
    int64_t *id, struct ck_err *err);

struct ck_managed_filter {
	const char *name; /* exact, or NULL */
	const char *issuer, *state, *owner; /* exact, or NULL */
	const char *tag; /* one of the comma-separated tags, or NULL */
	const char *san; /* a name the SANs hold (exact), or NULL */
	int64_t after_id; /* paging: rows with id > after_id */
	int64_t limit; /* 0: all */
	bool with_key; /* hand the sealed key to cb */
	bool unwritten; /* only rows whose files do not hold cert_id */
};
/* Matching rows by id. With f->name and no row: CK_E_NOTFOUND. */
int ck_store_managed_list(struct ck_store *st,
    const struct ck_managed_filter *f, ck_managed_row_cb cb, void *ctx,
    struct ck_err *err);
/* Counts by state into the four counters (any may be NULL). */
int ck_store_managed_counts(struct ck_store *st, int64_t *pending,
    int64_t *active, int64_t *failing, int64_t *retired, struct ck_err *err);

/* A certificate was issued for name: current cert, sealed key, renew time,
 * state active, failures reset, issued_count + 1. */
int ck_store_managed_issued(struct ck_store *st, const char *name,
    int64_t cert_id, const uint8_t *key, size_t key_len, int64_t renew_at,
    int64_t next_action, struct ck_err *err);
/* Moves name's schedule; state and last_error when not NULL; failures
 * when >= 0. */
int ck_store_managed_schedule(struct ck_store *st, const char *name,
    int64_t next_action, const char *state, int failures,
    const char *last_error, struct ck_err *err);
/* The renewal window moved (ARI): renew_at, next_action, ari_checked. */
int ck_store_managed_window(struct ck_store *st, const char *name,
    int64_t renew_at, int64_t next_action, int64_t ari_checked,
    struct ck_err *err);
/* The files of name now hold cert_id. */
int ck_store_managed_written(
    struct ck_store *st, const char *name, int64_t cert_id, struct ck_err *err);
/* The state of the last alert raised for name. */
int ck_store_managed_alerted(struct ck_store *st, const char *name,
    const char *alert_state, struct ck_err *err);
/* Changes name's issuer and/or key type (NULL: unchanged). */
int ck_store_managed_move(struct ck_store *st, const char *name,
    const char *issuer, const char *key_type, struct ck_err *err);

/*
 * Names of rows due at now (next_action <= now, not retired), soonest
 * first, at most limit, to cb. *next gets the earliest next_action of the
 * rows not retired (INT64_MAX when none), which tells a scheduler how long
 * it may sleep.
 */
int ck_store_managed_due(struct ck_store *st, int64_t now, int64_t limit,
    int (*cb)(void *ctx, const char *name), void *ctx, int64_t *next,
    struct ck_err *err);

/* ---- the job queue ---- */

struct ck_job_row {
	int64_t id;
	const char *kind, *subject;
	int64_t run_at;
	int attempts; /* including the claim that handed it out */
	const char *lease_owner; /* or NULL */
	int64_t lease_until;
	const char *last_error;
	int64_t created;
};
typedef int (*ck_job_row_cb)(void *ctx, const struct ck_job_row *j);

/* Queues (kind, subject) at run_at; when one is already open it keeps the
 * earlier of the two times. */
int ck_store_job_put(struct ck_store *st, const char *kind, const char *subject,
    int64_t run_at, struct ck_err *err);
/*
 * Claims up to limit due jobs of kind (run_at <= now, no live lease;
 * only subject's when it is not NULL):
 * each gets lease_owner = owner and lease_until = now + lease, and its
 * attempts counted; then to cb. Inside a transaction, so that two
 * claimers never get the same job.
 */
int ck_store_job_claim(struct ck_store *st, const char *kind,
    const char *subject, const char *owner, int64_t now, int64_t lease,
    int64_t limit, ck_job_row_cb cb, void *ctx, struct ck_err *err);
/* The job is finished: deleted. */
int ck_store_job_done(struct ck_store *st, int64_t id, struct ck_err *err);
/* The job failed: runs again at run_at, lease dropped, error kept. */
int ck_store_job_retry(struct ck_store *st, int64_t id, int64_t run_at,
    const char *error, struct ck_err *err);
/* Lowers *next to the earliest run_at of the open jobs of kind. */
int ck_store_job_next(
    struct ck_store *st, const char *kind, int64_t *next, struct ck_err *err);
/* Drops the open job (kind, subject), if any. */
int ck_store_job_cancel(struct ck_store *st, const char *kind,
    const char *subject, struct ck_err *err);
/* Open jobs, soonest first (kind NULL: all). */
int ck_store_job_list(struct ck_store *st, const char *kind, ck_job_row_cb cb,
    void *ctx, struct ck_err *err);

/* True in *found when cert_id is the current certificate of a managed
 * certificate not retired. */
int ck_store_managed_has_cert(
    struct ck_store *st, int64_t cert_id, bool *found, struct ck_err *err);
/*
 * Managed certificates stuck longer than grace: pending since before
 * now - grace, or due (renew_at) before now - grace and still not
 * renewed, without failures (failing ones alert by themselves), at most
 * limit, to cb.
 */
int ck_store_managed_stuck(struct ck_store *st, int64_t now, int64_t grace,
    int64_t limit, ck_managed_row_cb cb, void *ctx, struct ck_err *err);

/* ---- alert states ---- */

/* The state stored under key into *state (caller frees), or NULL. */
int ck_store_alert_state_get(
    struct ck_store *st, const char *key, char **state, struct ck_err *err);
/* Stores state under key (inside a transaction); NULL deletes it. */
int ck_store_alert_state_set(struct ck_store *st, const char *key,
    const char *state, struct ck_err *err);

/* A certificate the expiry rule looks at; borrowed for the callback. */
struct ck_expiring_row {
	const char *sha256; /* hex */
	const char *name; /* CN, else the subject */
	int64_t not_after;
	const char *owner; /* of its managed certificate, or NULL */
	int locations;
	bool managed; /* the current certificate of a managed one */
	const char *prev_state; /* under "expiring:<sha256>", or NULL */
};
/*
 * Leaf certificates not revoked that expire in [from, until), soonest
 * first, at most limit, without those a managed certificate has replaced
 * (its current certificate has the same CN and is newer); only managed
 * ones unless discovered.
 */
int ck_store_expiring(struct ck_store *st, int64_t from, int64_t until,
    bool discovered, int64_t limit,
    int (*cb)(void *ctx, const struct ck_expiring_row *r), void *ctx,
    struct ck_err *err);

/* ---- deployment targets ---- */

/* A deployment target (migration 013). Strings are borrowed for the
 * callback that receives the row. */
struct ck_target_row {
	int64_t id;
	const char *managed; /* the managed certificate's name */
	const char *kind; /* file, pkcs12, command */
	const char *config; /* JSON of the target's settings */
	int64_t deployed_cert_id; /* what it holds; 0: never deployed */
	const char *state; /* new, deploying, deployed, failed, rolled_back */
	const char *last_result; /* one line */
	const char *last_output; /* reload or command output, bounded */
	int64_t last_attempt, created;
	const char *actor;
	/* read along: the managed certificate's current certificate (0 and
	 * NULL without one) and the SHA-256 (hex) of both */
	int64_t current_cert_id;
	const char *current_sha256, *deployed_sha256;
};
typedef int (*ck_target_row_cb)(void *ctx, const struct ck_target_row *t);

/* Adds a target to r->managed (inside a transaction); *id gets its id.
 * CK_E_NOTFOUND when no such managed certificate is. */
int ck_store_target_add(struct ck_store *st, const struct ck_target_row *r,
    int64_t *id, struct ck_err *err);
/* The targets of managed (NULL: of every managed certificate) by managed
 * name, then id; to cb. */
int ck_store_target_list(struct ck_store *st, const char *managed,
    ck_target_row_cb cb, void *ctx, struct ck_err *err);
/* Removes target id of managed (inside a transaction). CK_E_NOTFOUND. */
int ck_store_target_remove(
    struct ck_store *st, const char *managed, int64_t id, struct ck_err *err);
/*
 * Records an attempt on target id (inside a transaction): state,
 * last_result, last_output (NULL: unchanged), last_attempt = at, and
 * deployed_cert_id when it is >= 0 (0 stores "never deployed").
 */
int ck_store_target_set(struct ck_store *st, int64_t id,
    int64_t deployed_cert_id, const char *state, const char *last_result,
    const char *last_output, int64_t at, struct ck_err *err);
/* How many targets managed has. */
int ck_store_target_count(
    struct ck_store *st, const char *managed, int64_t *n, struct ck_err *err);
/*
 * What the newest finished scan that looked at place (a scan_results
 * place: "ip:port", "ip:port/sni", "path#1") found there: *found, and
 * when found the leaf's id (0: nothing served), its SHA-256 hex in
 * sha256 ("" when none), the scan's start time and status word.
 */
int ck_store_place_seen(struct ck_store *st, const char *place, bool *found,
    int64_t *cert_id, char sha256[65], int64_t *seen, char status[32],
    struct ck_err *err);

#endif
