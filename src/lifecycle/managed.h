/*
 * Managed certificates: the certificates certkeep keeps alive. Each names
 * an issuer connector (src/issuer/issuer.h; "local" connectors issue from
 * the built-in CA through enroll), a key type, names, a renewal rule and
 * where its files go. The renewer (ck_renew_run) is the one engine behind
 * `certkeep manage run`, `manage renew` and the daemon's scheduler: it
 * claims due work from the job queue with leases, issues, records, writes
 * files, and on failure retries with backoff, trips a per-issuer breaker
 * and raises alerts of growing urgency before expiry.
 */
#ifndef CK_LIFECYCLE_MANAGED_H
#define CK_LIFECYCLE_MANAGED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "issuer/issuer.h"
#include "store/managed.h"
#include "store/store.h"

/* ---- issuer connectors by name ---- */

/*
 * Checks d (type, and the keys the type needs), seals its secrets under
 * the master key and stores it with an audit event. For "local" the CA
 * must exist. CK_E_INVAL with the reason; CK_E_EXISTS.
 */
int ck_issuer_create(struct ck_store *st, const struct ck_issuer_def *d,
    const char *master_key, const char *actor, struct ck_err *err);
/* Loads name into d (secrets unsealed; release with
 * ck_issuer_def_release()). CK_E_NOTFOUND. */
int ck_issuer_load(struct ck_store *st, const char *name,
    const char *master_key, struct ck_issuer_def *d, struct ck_err *err);
/* Stores d's account state (after a connector set account_changed). */
int ck_issuer_save_account(struct ck_store *st, struct ck_issuer_def *d,
    const char *master_key, struct ck_err *err);
/* Removes name with an audit event (CK_E_PERM while it is in use). */
int ck_issuer_remove(struct ck_store *st, const char *name, const char *actor,
    struct ck_err *err);
/* The non-secret settings of a stored row as one JSON object (for
 * `issuer show` and the API): name, type, settings, account, health. */
int ck_issuer_row_json(const struct ck_issuer_row *r, struct ck_buf *out);

/* ---- managed certificates ---- */

struct ck_manage_spec {
	const char *name;
	const char *cn; /* NULL: the first SAN */
	const char *const *sans; /* "DNS:x", "IP:y" or a bare DNS name */
	size_t n_sans;
	const char *key_type; /* NULL: ec-p256 */
	const char *issuer;
	const char *profile; /* NULL: the issuer's, else tls-server */
	int days; /* 0: the issuer's choice */
	int renew_frac; /* thousandths of the lifetime; 0: 667 (two thirds)
	                 * unless renew_before is set */
	int64_t renew_before; /* seconds before expiry, or 0 */
	bool reuse_key;
	const char *owner, *contact, *tags; /* NULL: "" */
	const char *key_out, *cert_out, *fullchain_out; /* NULL: none */
	/* held by the agent of this host: its key is made there, never on
	 * the server, and nothing is queued here; NULL: the server's */
	const char *agent;
};

/*
 * Adds a managed certificate, state pending, due now: the first issuance
 * is queued (the caller may run it at once with ck_renew_run). CK_E_INVAL
 * with the reason for a bad spec; CK_E_NOTFOUND for an unknown issuer;
 * CK_E_EXISTS.
 */
int ck_manage_add(struct ck_store *st, const struct ck_manage_spec *s,
    const char *actor, struct ck_err *err);

/*
 * Adopts the inventory certificate sha256 (hex) into management under
 * issuer: its CN, SANs and key type, and as cert_out the file it was seen
 * at, if any. It stays current until its renewal time. name NULL: the CN.
 */
int ck_manage_adopt(struct ck_store *st, const char *sha256_hex,
    const char *issuer, const char *name, const char *actor,
    struct ck_err *err);

/* Queues name's renewal now (force) or, without force, only when it is
 * due (CK_E_INVAL "not due before ..." otherwise). */
int ck_manage_renew_now(struct ck_store *st, const char *name, bool force,
    const char *actor, struct ck_err *err);

/* Stops managing name; with revoke its current certificate is revoked
 * through its issuer (reason: RFC 5280 code). */
int ck_manage_retire(struct ck_store *st, const char *name, bool revoke,
    int reason, const char *master_key, const char *actor, struct ck_err *err);

/*
 * Bulk re-issue: every managed certificate matching f moves to issuer
 * and/or key_type (NULL: unchanged) and is queued for renewal at a
 * bounded rate: the k-th at now + k / per_second. *moved gets the count.
 */
int ck_manage_move(struct ck_store *st, const struct ck_managed_filter *f,
    const char *issuer, const char *key_type, double per_second,
    const char *actor, int64_t *moved, struct ck_err *err);

/* The JSON object of a managed row (for `manage show` and the API). */
void ck_managed_row_json(const struct ck_managed_row *m, struct ck_buf *out);

/* ---- the renewer ---- */

/* An alert the renewer raises; borrowed strings. state is what the alert
 * says now (e.g. "renewal_failed:warning"), sent once per change. */
struct ck_renew_alert {
	const char *kind; /* renewal_failed, issuer_down, stuck */
	const char *severity; /* info, warning, critical */
	const char *subject; /* managed name or issuer name */
	const char *owner; /* or "" */
	const char *state;
	const char *text;
};

struct ck_renewer {
	struct ck_store *st;
	const char *master_key; /* path or NULL */
	const char *public_url; /* for certificates of the built-in CA */
	const char *owner; /* lease owner: host/pid */
	int batch; /* jobs claimed at once; 0: 256 */
	const char *only; /* run only this managed certificate's job */
	/* The renewer's own: files are checked for a missed write (a crash
	 * between a commit and its files) on the first pass and after a
	 * write failed, not on every pass (a full scan of the table). */
	bool files_checked, files_dirty;
	int64_t lease; /* seconds; 0: 600 */
	/* Called for each alert whose state changed (may be NULL). */
	void (*alert)(void *ctx, const struct ck_renew_alert *a);
	void *alert_ctx;
	/* Called after each managed certificate is done (may be NULL). */
	void (*progress)(
	    void *ctx, const char *name, int code, const struct ck_err *err);
	void *progress_ctx;
};

struct ck_renew_stats {
	int64_t queued; /* due rows put on the queue */
	int64_t issued; /* certificates issued and recorded */
	int64_t failed; /* attempts that failed (retried later) */
	int64_t deferred; /* not tried: their issuer's breaker is open */
	int64_t written; /* managed certificates whose files were written */
};

/*
 * One pass: queues what is due at now, then claims and runs renew jobs
 * until none is due (at most max_jobs, 0: no bound). *next gets when the
 * next work is due (INT64_MAX: none), so a scheduler can sleep until then.
 * Blocks (signing, network for upstream issuers, the store). Returns 0
 * unless the store failed; a certificate's failure is in stats and its
 * row, not the return value.
 */
int ck_renew_run(struct ck_renewer *rw, int64_t now, int64_t max_jobs,
    struct ck_renew_stats *stats, int64_t *next, struct ck_err *err);

/*
 * When a certificate valid [not_before, not_after) is due under the rule
 * (renew_frac thousandths of the lifetime, or renew_before seconds before
 * expiry), moved earlier by a jitter of up to 1/30 of the lifetime drawn
 * from rnd (0 <= rnd < 1).
 */
int64_t ck_renew_time(int64_t not_before, int64_t not_after, int renew_frac,
    int64_t renew_before, double rnd);

#endif
