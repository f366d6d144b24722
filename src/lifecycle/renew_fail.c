/*
 * The renewer's failures: exponential backoff per certificate, the
 * breaker per issuer (consecutive transient failures rest it instead of
 * hammering it), and alerts whose urgency grows as expiry nears, held
 * until the transaction that records their state commits.
 */
#include "lifecycle/renew_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"

int64_t
renew_backoff(int attempts)
{
	int64_t d = BACKOFF_MIN;

	for (int i = 1; i < attempts && d < BACKOFF_MAX; i++)
		d *= 2;
	if (d > BACKOFF_MAX)
		d = BACKOFF_MAX;
	/* up to a tenth more, so that failures do not come back in step */
	return d + (int64_t)(renew_rnd01() * (double)d / 10.0);
}

static bool
transient(int code)
{
	return code == CK_E_IO || code == CK_E_TIMEOUT ||
	    code == CK_E_UNAVAILABLE || code == CK_E_PARSE;
}

/* The severity of a failed renewal: it grows as expiry comes nearer. */
static const char *
failure_severity(const struct work *w, int64_t now)
{
	if (w->cert_id == 0)
		return w->failures + 1 >= 3 ? "warning" : "info";
	int64_t left = w->not_after_old - now;
	int64_t window = w->not_after_old - w->renew_at_old;
	if (window <= 0)
		window = 1;
	if (left <= 0 || left < window / 4 || left < 2 * 86400)
		return "critical";
	if (left < window / 2 || w->failures + 1 >= 3)
		return "warning";
	return "info";
}

/*
 * Alerts are raised inside the transaction that records their state, so
 * they wait here (per thread) and go to rw->alert once it committed: the
 * callback may use the store, and an alert whose state was rolled back is
 * not sent.
 */
struct held_alert {
	char *kind, *severity, *subject, *owner, *state, *text;
};
static _Thread_local struct held_alert *held;
static _Thread_local size_t n_held;

void
renew_raise(struct ck_renewer *rw, const char *kind, const char *severity,
    const char *subject, const char *owner, const char *state, const char *text)
{
	ck_log(
	    CK_LOG_WARN, "alert %s %s: %s: %s", kind, severity, subject, text);
	if (rw->alert == NULL)
		return;
	held = ck_realloc(held, (n_held + 1) * sizeof(*held));
	held[n_held++] = (struct held_alert){ck_strdup(kind),
	    ck_strdup(severity), ck_strdup(subject),
	    ck_strdup(owner ? owner : ""), ck_strdup(state), ck_strdup(text)};
}

/* Sends (committed) or drops the held alerts. */
void
renew_release_alerts(struct ck_renewer *rw, bool send)
{
	for (size_t i = 0; i < n_held; i++) {
		struct held_alert *h = &held[i];
		struct ck_renew_alert a = {h->kind, h->severity, h->subject,
		    h->owner, h->state, h->text};
		if (send)
			rw->alert(rw->alert_ctx, &a);
		free(h->kind);
		free(h->severity);
		free(h->subject);
		free(h->owner);
		free(h->state);
		free(h->text);
	}
	free(held);
	held = NULL;
	n_held = 0;
}

int
renew_read_health(void *ctx, const struct ck_issuer_row *r)
{
	struct issuer_state *is = ctx;

	is->failures = r->failures;
	is->open_until = r->open_until;
	return 0;
}

/* Records one failure of w inside the open transaction. */
int
renew_fail_one(struct ck_renewer *rw, struct work *w, struct issuer_state *is,
    int64_t now, struct ck_err *err)
{
	int64_t at = now + renew_backoff(w->attempts);
	char state[64], text[1200];
	const char *sev;
	int r;

	if (is != NULL && transient(w->code)) {
		is->failures++;
		is->changed = true;
		if (is->failures >= BREAKER_AFTER) {
			int64_t rest = BREAKER_MIN;
			for (int i = BREAKER_AFTER;
			     i < is->failures && rest < BREAKER_MAX; i++)
				rest *= 2;
			if (rest > BREAKER_MAX)
				rest = BREAKER_MAX;
			if (is->open_until <= now) {
				snprintf(text, sizeof(text),
				    "issuer failed %d times in a row (last: "
				    "%s); no attempts for %lld s",
				    is->failures, w->err.msg, (long long)rest);
				renew_raise(rw, "issuer_down", "critical",
				    is->name, "", "open", text);
			}
			is->open_until = now + rest;
			if (at < is->open_until)
				at = is->open_until;
		}
	}
	if ((r = ck_store_job_retry(rw->st, w->job_id, at, w->err.msg, err)) !=
	        0 ||
	    (r = ck_store_managed_schedule(rw->st, w->name, at,
	         w->cert_id ? "failing" : "pending", w->failures + 1,
	         w->err.msg, err)) != 0)
		return r;
	sev = failure_severity(w, now);
	snprintf(state, sizeof(state), "renewal_failed:%s", sev);
	if (strcmp(state, w->last_alert ? w->last_alert : "") != 0) {
		char exp[CK_TIME_STR_MAX];
		ck_time_format(w->not_after_old, exp);
		snprintf(text, sizeof(text),
		    "renewal of %.128s through %.64s failed %d time(s): "
		    "%.600s%s%s",
		    w->name, w->issuer, w->failures + 1, w->err.msg,
		    w->cert_id ? "; current certificate expires " : "",
		    w->cert_id ? exp : "");
		renew_raise(
		    rw, "renewal_failed", sev, w->name, w->owner, state, text);
		r = ck_store_managed_alerted(rw->st, w->name, state, err);
	}
	return r;
}
