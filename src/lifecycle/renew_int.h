/*
 * Shared by the renewer's files only (renew.c, the pass; renew_files.c,
 * the files of managed certificates; renew_fail.c, failures, the issuer
 * breaker and alerts; renew_deploy.c, the deploy jobs).
 */
#ifndef CK_LIFECYCLE_RENEW_INT_H
#define CK_LIFECYCLE_RENEW_INT_H

#include "lifecycle/managed.h"

/* Backoff of a certificate's attempts: 1 min doubling to 6 h. A day-long
 * watchdog (longer than any backoff) re-queues work that got lost. */
#define BACKOFF_MIN 60
#define BACKOFF_MAX (6 * 3600)
#define WATCHDOG 86400
/* Breaker: after this many consecutive failures an issuer rests, 5 min
 * doubling to 1 h, before it is tried again. */
#define BREAKER_AFTER 5
#define BREAKER_MIN 300
#define BREAKER_MAX 3600

/* One claimed job and what became of it. */
struct work {
	int64_t job_id;
	int attempts;
	bool found; /* the managed row exists and is not retired */
	char *name, *cn, *sans, *key_type, *issuer, *profile, *owner;
	char *key_out, *cert_out, *chain_out, *last_alert;
	int days, renew_frac, failures;
	int64_t renew_before, cert_id, renew_at_old, not_after_old;
	int64_t ari_checked;
	bool reuse_key;
	bool ari; /* its issuer offers renewal information (RFC 9773) */
	bool ari_wait; /* the issuer's window says: not yet */
	struct ck_buf old_key_sealed;
	/* the attempt */
	struct ck_buf key_pem; /* secret */
	struct ck_buf sealed;
	uint8_t *csr;
	size_t csr_len;
	int code;
	struct ck_err err;
	int64_t new_cert_id, renew_at;
	uint8_t *der;
	size_t der_len;
	struct ck_buf chain_pem;
	struct ck_renewer *rw;
	const uint8_t *mk;
	size_t iss; /* index into the pass's issuer states */
	bool deferred;
};

struct claimed {
	struct work *w;
	size_t n, cap;
};

struct issuer_state {
	char *name;
	struct ck_issuer_def def;
	bool loaded;
	int load_code;
	struct ck_err load_err;
	int failures;
	int64_t open_until;
	bool changed;
};

/* renew.c */
double renew_rnd01(void);
/* Copies a managed row into w (found unless retired). */
int renew_take_row(void *ctx, const struct ck_managed_row *m);
void renew_work_release(struct work *w);

/* renew_files.c */
/* Writes the files of the works that issued (all of one or none). */
void renew_write_files(struct work *w, size_t n);
/* Writes again the files that do not hold their current certificate. */
int renew_rewrite_files(struct ck_renewer *rw, const uint8_t *mk,
    struct ck_renew_stats *stats, struct ck_err *err);
/* A stored chain's leaf into w->der and its issuers into w->chain_pem. */
int renew_chain_rows(void *ctx, const struct ck_cert_row *row);

/* renew.c: a claimed job row into the struct claimed at ctx */
int renew_take_job(void *ctx, const struct ck_job_row *j);

/* renew_deploy.c: the deploy jobs due, claimed with leases like renewals
 * and run until none is left. */
int renew_run_deploys(
    struct ck_renewer *rw, int64_t now, const uint8_t *mk, struct ck_err *err);

/* renew_fail.c */
int64_t renew_backoff(int attempts);
/* Holds an alert until the transaction recording its state commits. */
void renew_raise(struct ck_renewer *rw, const char *kind, const char *severity,
    const char *subject, const char *owner, const char *state,
    const char *text);
/* Sends (the commit happened) or drops the held alerts. */
void renew_release_alerts(struct ck_renewer *rw, bool send);
int renew_read_health(void *ctx, const struct ck_issuer_row *r);
/* Records one failure of w inside the open transaction. */
int renew_fail_one(struct ck_renewer *rw, struct work *w,
    struct issuer_state *is, int64_t now, struct ck_err *err);

#endif
