/*
 * The lifecycle scheduler thread (scheduler.h) and alert delivery.
 *
 *   idle --due, woken or a minute--> renew pass --> notify retries and
 *   digests --> expiry rule (hourly) --> idle until the next due time
 *
 * An alert goes to each channel that routes it: sent at once, or queued
 * as a "digest" job for a digest channel, or, when sending fails, queued
 * as a "notify" job retried with backoff (ck_notify_retry_at) until it is
 * delivered or given up. A job's subject is "<channel>\n<alert JSON>".
 */
#include "lifecycle/scheduler.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bgthread.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "lifecycle/alerts.h"
#include "lifecycle/managed.h"
#include "lifecycle/notify.h"
#include "store/managed.h"

#define MAX_SLEEP 60
#define EXPIRY_EVERY 3600

static struct ck_bgthread T = CK_BGTHREAD_INIT;

static struct {
	pthread_mutex_t mu; /* pending */
	const struct ck_config *cfg;
	/* New channels (SIGHUP), taken by the thread at its next pass: mu
	 * is never held across a pass, so waking it never blocks. */
	struct ck_notify_config *pending;
	/* The thread's own: */
	struct ck_notify_config *nc;
	int64_t last_expiry;
	int64_t *last_flush; /* per channel of nc */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- delivery (alerts.c) ---- */

static void
deliver(struct ck_store *st, const struct ck_alert *alerts, size_t n)
{
	ck_alerts_deliver(st, S.nc, alerts, n);
}

struct pass_ctx {
	struct ck_store *st;
};

/* The renewer's alerts (already once per state change) go out now. */
static void
on_renew_alert(void *ctx, const struct ck_renew_alert *ra)
{
	struct pass_ctx *pc = ctx;

	ck_renew_alert_deliver(pc->st, S.nc, ra);
}

/* ---- retries and digests ---- */

struct jobs {
	int64_t *id;
	char **subject;
	int *attempts;
	size_t n, cap;
};

static int
take(void *ctx, const struct ck_job_row *j)
{
	struct jobs *js = ctx;

	if (js->n == js->cap) {
		js->cap = js->cap ? js->cap * 2 : 16;
		js->id = ck_realloc(js->id, js->cap * sizeof(*js->id));
		js->subject =
		    ck_realloc(js->subject, js->cap * sizeof(*js->subject));
		js->attempts =
		    ck_realloc(js->attempts, js->cap * sizeof(*js->attempts));
	}
	js->id[js->n] = j->id;
	js->subject[js->n] = ck_strdup(j->subject);
	js->attempts[js->n] = j->attempts;
	js->n++;
	return 0;
}

static void
jobs_free(struct jobs *js)
{
	for (size_t i = 0; i < js->n; i++)
		free(js->subject[i]);
	free(js->id);
	free(js->subject);
	free(js->attempts);
	memset(js, 0, sizeof(*js));
}

/* Splits "<channel>\n<json>" into the channel and the alert. */
static const struct ck_notify_channel *
parse_subject(const char *s, struct ck_alert *a)
{
	const char *nl = strchr(s, '\n');
	char name[128];

	if (nl == NULL || (size_t)(nl - s) >= sizeof(name))
		return NULL;
	snprintf(name, sizeof(name), "%.*s", (int)(nl - s), s);
	if (ck_alert_from_json(nl + 1, strlen(nl + 1), a, NULL) != 0)
		return NULL;
	return ck_notify_find(S.nc, name);
}

static void
finish_job(
    struct ck_store *st, int64_t id, bool done, int64_t at, const char *why)
{
	struct ck_err err = {0};
	int r;

	if ((r = ck_store_begin(st, &err)) == 0) {
		r = done ? ck_store_job_done(st, id, &err)
		         : ck_store_job_retry(st, id, at, why, &err);
		if (r == 0)
			r = ck_store_commit(st, &err);
		if (r != 0)
			ck_store_rollback(st);
	}
	if (r != 0)
		ck_log(CK_LOG_ERROR, "notify job %lld: %s", (long long)id,
		    err.msg);
}

static void
retry_notifications(struct ck_store *st, int64_t now, const char *owner)
{
	struct jobs js = {0};
	struct ck_err err = {0};

	if (ck_store_begin(st, &err) != 0)
		return;
	if (ck_store_job_claim(st, "notify", NULL, owner, now, 300, 100, take,
	        &js, &err) != 0 ||
	    ck_store_commit(st, &err) != 0) {
		ck_store_rollback(st);
		jobs_free(&js);
		return;
	}
	for (size_t i = 0; i < js.n; i++) {
		struct ck_alert a = {0};
		const struct ck_notify_channel *ch =
		    parse_subject(js.subject[i], &a);
		int64_t at = 0;

		if (ch == NULL) { /* channel gone from the config */
			finish_job(st, js.id[i], true, 0, NULL);
		} else if (ck_notify_send(ch, &a, 1, &err) == 0) {
			finish_job(st, js.id[i], true, 0, NULL);
		} else if (!ck_notify_retry_at(js.attempts[i], now, &at)) {
			ck_log(CK_LOG_ERROR,
			    "notify %s: giving up after %d attempts: %s",
			    ch->name, js.attempts[i], err.msg);
			finish_job(st, js.id[i], true, 0, NULL);
		} else
			finish_job(st, js.id[i], false, at, err.msg);
		ck_alert_release(&a);
	}
	jobs_free(&js);
}

static void
flush_digests(struct ck_store *st, int64_t now)
{
	struct ck_notify_config *nc = S.nc;
	struct jobs js = {0};
	struct ck_err err = {0};

	if (nc == NULL ||
	    ck_store_job_list(st, "digest", take, &js, &err) != 0) {
		jobs_free(&js);
		return;
	}
	for (size_t c = 0; c < nc->n; c++) {
		const struct ck_notify_channel *ch = &nc->ch[c];
		struct ck_alert *batch;
		size_t name_len = strlen(ch->name), k = 0;

		if (ch->digest <= 0 ||
		    ck_notify_flush_at(ch, S.last_flush[c], now) > now)
			continue;
		batch = ck_calloc(js.n ? js.n : 1, sizeof(*batch));
		for (size_t i = 0; i < js.n; i++)
			if (strncmp(js.subject[i], ch->name, name_len) == 0 &&
			    js.subject[i][name_len] == '\n' &&
			    ck_alert_from_json(js.subject[i] + name_len + 1,
			        strlen(js.subject[i] + name_len + 1), &batch[k],
			        NULL) == 0)
				k++;
		if (k > 0 && ck_notify_send(ch, batch, k, &err) == 0) {
			S.last_flush[c] = now;
			for (size_t i = 0; i < js.n; i++)
				if (strncmp(js.subject[i], ch->name,
				        name_len) == 0 &&
				    js.subject[i][name_len] == '\n')
					finish_job(st, js.id[i], true, 0, NULL);
		} else if (k > 0)
			ck_log(CK_LOG_WARN, "notify %s: digest not sent: %s",
			    ch->name, err.msg);
		else
			S.last_flush[c] = now;
		ck_alerts_free(batch, k);
	}
	jobs_free(&js);
}

/* ---- the expiry rule ---- */

struct expiry_ctx {
	struct ck_expiry *ex;
	int r;
};

static int
on_expiring(void *ctx, const struct ck_expiring_row *e)
{
	struct expiry_ctx *x = ctx;
	struct ck_expiry_cert c = {e->sha256, e->name, e->not_after, e->owner,
	    e->locations, e->managed, e->prev_state};

	x->r = ck_expiry_add(x->ex, &c, NULL);
	return x->r != 0;
}

static void
expiry_rule(struct ck_store *st, int64_t now)
{
	const struct ck_notify_rules *rules = &S.nc->rules;
	struct expiry_ctx x = {0};
	struct ck_alert_group *g = NULL;
	size_t ng = 0;
	struct ck_err err = {0};
	int max_days = rules->n_days ? rules->days[0] : 30;

	ck_expiry_new(rules, now, &x.ex);
	/* expired in the last week, or within the largest threshold */
	if (ck_store_expiring(st, now - 7 * 86400,
	        now + (int64_t)max_days * 86400 + 1, rules->include_discovered,
	        100000, on_expiring, &x, &err) < 0)
		ck_log(CK_LOG_ERROR, "expiry rule: %s", err.msg);
	ck_expiry_finish(x.ex, &g, &ng);
	for (size_t i = 0; i < ng; i++) {
		deliver(st, g[i].alerts, g[i].n);
		if (ck_store_begin(st, &err) != 0)
			continue;
		for (size_t k = 0; k < g[i].n; k++)
			(void)ck_store_alert_state_set(
			    st, g[i].alerts[k].key, g[i].alerts[k].state, &err);
		if (ck_store_commit(st, &err) != 0)
			ck_store_rollback(st);
	}
	ck_alert_groups_free(g, ng);
	ck_expiry_free(x.ex);
}

/* ---- alerts from events and stuck work ---- */

/* Delivers a once per state change of its key (alert_states). */
static void
alert_once(struct ck_store *st, struct ck_alert *a)
{
	struct ck_err err = {0};
	char *prev = NULL;

	if (ck_store_alert_state_get(st, a->key, &prev, &err) != 0)
		return;
	if (ck_alert_changed(prev, a)) {
		deliver(st, a, 1);
		if (ck_store_begin(st, &err) == 0) {
			if (ck_store_alert_state_set(
			        st, a->key, a->state, &err) != 0 ||
			    ck_store_commit(st, &err) != 0)
				ck_store_rollback(st);
		}
	}
	free(prev);
}

struct ev_ctx {
	struct ck_store *st;
	struct ck_alert *a;
	size_t n, cap;
	int64_t last_at;
};

static struct ck_alert *
ev_next(struct ev_ctx *x)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		x->a = ck_realloc(x->a, x->cap * sizeof(*x->a));
	}
	return &x->a[x->n++];
}

/* Revocations and certificates replaced at a location (not by certkeep's
 * own deployment: the new one is no managed certificate's current one). */
static int
on_event(void *ctx, const struct ck_event *ev)
{
	struct ev_ctx *x = ctx;
	char key[600], title[600];

	x->last_at = ev->at;
	if (strcmp(ev->action, "cert.revoke") == 0) {
		snprintf(key, sizeof(key), "revoked:%s", ev->object);
		snprintf(
		    title, sizeof(title), "certificate %s revoked", ev->object);
		ck_alert_init(ev_next(x), CK_ALERT_REVOKED, CK_SEV_WARNING,
		    ev->object, NULL, title, ev->detail, key, "revoked");
	} else if (strcmp(ev->action, "scan.change") == 0) {
		long long from = 0, to = 0;
		bool managed = false;

		if (sscanf(ev->detail, "certificate %lld -> %lld", &from,
		        &to) != 2 ||
		    to == 0)
			return 0;
		(void)ck_store_managed_has_cert(x->st, to, &managed, NULL);
		if (managed)
			return 0;
		snprintf(key, sizeof(key), "location:%s", ev->object);
		snprintf(title, sizeof(title), "a different certificate at %s",
		    ev->object);
		char state[32];
		snprintf(state, sizeof(state), "%lld", to);
		ck_alert_init(ev_next(x), CK_ALERT_LOCATION_CHANGED,
		    CK_SEV_WARNING, ev->object, NULL, title, ev->detail, key,
		    state);
	}
	return 0;
}

static void
event_alerts(struct ck_store *st, int64_t now)
{
	struct ev_ctx x = {st, NULL, 0, 0, 0};
	struct ck_err err = {0};
	char *cur = NULL, buf[32];
	int64_t from = now;

	/* the cursor survives restarts; the first start alerts nothing old */
	if (ck_store_alert_state_get(st, "cursor:events", &cur, &err) == 0 &&
	    cur != NULL)
		from = strtoll(cur, NULL, 10);
	free(cur);
	x.last_at = from - 1;
	if (ck_store_events(st, from, now + 1, 1000, on_event, &x, &err) < 0)
		ck_log(CK_LOG_ERROR, "event alerts: %s", err.msg);
	for (size_t i = 0; i < x.n; i++)
		alert_once(st, &x.a[i]);
	ck_alerts_free(x.a, x.n);
	snprintf(buf, sizeof(buf), "%lld", (long long)(x.last_at + 1));
	if (ck_store_begin(st, &err) == 0) {
		if (ck_store_alert_state_set(st, "cursor:events", buf, &err) !=
		        0 ||
		    ck_store_commit(st, &err) != 0)
			ck_store_rollback(st);
	}
}

/* A day past due with no failure and no renewal: something is stuck
 * (a breaker open for long, a lost job); say so. */
#define STUCK_GRACE 86400

static int
on_stuck(void *ctx, const struct ck_managed_row *m)
{
	struct ck_store *st = ctx;
	struct ck_alert a;
	char key[300], text[600], when[CK_TIME_STR_MAX];

	ck_time_format(m->renew_at ? m->renew_at : m->created, when);
	snprintf(key, sizeof(key), "stuck:%s", m->name);
	snprintf(text, sizeof(text),
	    "%s is %s and was due %s through %s; nothing has happened since",
	    m->name, m->state, when, m->issuer);
	ck_alert_init(&a, CK_ALERT_STUCK,
	    m->not_after && m->not_after - ck_now() < 7 * 86400
	        ? CK_SEV_CRITICAL
	        : CK_SEV_WARNING,
	    m->name, m->owner[0] ? m->owner : NULL, "renewal overdue", text,
	    key, "overdue");
	alert_once(st, &a);
	ck_alert_release(&a);
	return 0;
}

/* ---- the thread ---- */

static void *
scheduler_main(void *arg)
{
	struct ck_store *st = arg;
	const struct ck_config *cfg = S.cfg;
	char owner[200], host[128] = "localhost";
	struct pass_ctx pc = {st};
	struct ck_renewer rw = {0};

	(void)gethostname(host, sizeof(host) - 1);
	snprintf(owner, sizeof(owner), "%s/%ld", host, (long)getpid());
	rw.st = st;
	rw.master_key = ck_config_str(cfg, CK_CFG_MASTER_KEY);
	rw.public_url = ck_config_str(cfg, CK_CFG_PUBLIC_URL);
	rw.owner = owner;
	rw.alert = on_renew_alert;
	rw.alert_ctx = &pc;
	for (;;) {
		struct ck_renew_stats s;
		struct ck_err err = {0};
		int64_t now = ck_now(), next = INT64_MAX, wait;

		pthread_mutex_lock(&S.mu);
		if (S.pending != NULL) {
			ck_notify_config_free(S.nc);
			S.nc = S.pending;
			S.pending = NULL;
			free(S.last_flush);
			S.last_flush =
			    ck_calloc(S.nc->n ? S.nc->n : 1, sizeof(int64_t));
		}
		pthread_mutex_unlock(&S.mu);
		if (ck_renew_run(&rw, now, 0, &s, &next, &err) != 0)
			ck_log(CK_LOG_ERROR, "renewals: %s", err.msg);
		else if (s.issued || s.failed || s.deferred)
			ck_log(CK_LOG_INFO,
			    "renewals: %lld issued, %lld failed, %lld "
			    "deferred",
			    (long long)s.issued, (long long)s.failed,
			    (long long)s.deferred);
		if (S.nc != NULL) {
			retry_notifications(st, now, owner);
			flush_digests(st, now);
			if (S.nc->n > 0)
				event_alerts(st, now);
			if (S.nc->n > 0 &&
			    now - S.last_expiry >= EXPIRY_EVERY) {
				struct ck_err e2 = {0};
				S.last_expiry = now;
				expiry_rule(st, now);
				if (ck_store_managed_stuck(st, now, STUCK_GRACE,
				        1000, on_stuck, st, &e2) != 0)
					ck_log(CK_LOG_ERROR, "stuck check: %s",
					    e2.msg);
			}
		}
		wait = next == INT64_MAX ? MAX_SLEEP : next - ck_now();
		if (wait > MAX_SLEEP)
			wait = MAX_SLEEP;
		/* due work left (a bounded pass): go on after a breath,
		 * so that a stop is seen */
		if (ck_bgthread_sleep(&T, wait > 0 ? wait : 1))
			break;
	}
	ck_store_free(st);
	return NULL;
}

int
ck_renew_scheduler_configure(const struct ck_config *cfg, struct ck_err *err)
{
	struct ck_notify_config *nc = NULL;
	int r;

	if ((r = ck_notify_configure(cfg, &nc, err)) != 0)
		return r;
	pthread_mutex_lock(&S.mu);
	ck_notify_config_free(S.pending);
	S.pending = nc;
	pthread_mutex_unlock(&S.mu);
	ck_bgthread_wake(&T);
	return 0;
}

int
ck_renew_scheduler_start(const struct ck_config *cfg, struct ck_err *err)
{
	struct ck_store *st;
	int r;

	if ((r = ck_renew_scheduler_configure(cfg, err)) != 0)
		return r;
	if ((r = ck_store_open(
	         ck_config_str(cfg, CK_CFG_DATABASE), &st, err)) != 0)
		return r;
	S.cfg = cfg;
	S.last_expiry = 0;
	if ((r = ck_bgthread_start(&T, scheduler_main, st, err)) != 0)
		ck_store_free(st);
	return r;
}

void
ck_renew_scheduler_wake(void)
{
	ck_bgthread_wake(&T);
}

void
ck_renew_scheduler_stop(void)
{
	if (!ck_bgthread_stop(&T))
		return;
	ck_notify_config_free(S.nc);
	ck_notify_config_free(S.pending);
	S.nc = S.pending = NULL;
	free(S.last_flush);
	S.last_flush = NULL;
}
