/*
 * Alert delivery shared by the daemon's scheduler and the commands that
 * renew or deploy without it (manage run, renew, deploy): each alert goes
 * to every channel that routes it, as one message per channel; a digest
 * channel gets it queued as a "digest" job; a channel that fails gets it
 * queued as a "notify" job, which the daemon retries with backoff. A job's
 * subject is "<channel>\n<alert JSON>".
 */
#include "lifecycle/alerts.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/managed.h"

static void
queue_job(struct ck_store *st, const char *kind, const char *channel,
    const struct ck_alert *a, int64_t at)
{
	struct ck_buf subj = CK_BUF_INIT;
	struct ck_err err = {0};

	ck_buf_adds(&subj, channel);
	ck_buf_addc(&subj, '\n');
	ck_alert_to_json(a, &subj);
	ck_buf_addc(&subj, '\0');
	if (ck_store_begin(st, &err) != 0 ||
	    ck_store_job_put(st, kind, subj.p, at, &err) != 0 ||
	    ck_store_commit(st, &err) != 0) {
		ck_store_rollback(st);
		ck_log(CK_LOG_ERROR, "alert for %s not queued: %s", channel,
		    err.msg);
	}
	ck_buf_release(&subj);
}

void
ck_alerts_deliver(struct ck_store *st, const struct ck_notify_config *nc,
    const struct ck_alert *alerts, size_t n)
{
	const struct ck_alert **sel;

	if (nc == NULL || n == 0)
		return;
	sel = ck_calloc(n, sizeof(*sel));
	for (size_t c = 0; c < nc->n; c++) {
		const struct ck_notify_channel *ch = &nc->ch[c];
		struct ck_alert *batch;
		struct ck_err err = {0};
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (ck_notify_route(ch, &alerts[i]))
				sel[k++] = &alerts[i];
		if (k == 0)
			continue;
		if (ch->digest > 0) {
			for (size_t i = 0; i < k; i++)
				queue_job(
				    st, "digest", ch->name, sel[i], ck_now());
			continue;
		}
		/* one message of the routed ones: a contiguous copy */
		batch = ck_calloc(k, sizeof(*batch));
		for (size_t i = 0; i < k; i++)
			batch[i] = *sel[i];
		if (ck_notify_send(ch, batch, k, &err) != 0) {
			int64_t at = 0;
			ck_log(CK_LOG_WARN, "notify %s: %s (will retry)",
			    ch->name, err.msg);
			(void)ck_notify_retry_at(1, ck_now(), &at);
			for (size_t i = 0; i < k; i++)
				queue_job(st, "notify", ch->name, sel[i], at);
		}
		free(batch); /* the strings belong to alerts */
	}
	free(sel);
}

static enum ck_alert_kind
kind_of(const char *s)
{
	enum ck_alert_kind k = CK_ALERT_RENEWAL_FAILED;

	(void)ck_alert_kind_parse(s, &k);
	return k;
}

void
ck_renew_alert_deliver(struct ck_store *st, const struct ck_notify_config *nc,
    const struct ck_renew_alert *ra)
{
	struct ck_alert a;
	enum ck_severity sev = CK_SEV_WARNING;
	char key[300], title[400];

	(void)ck_severity_parse(ra->severity, &sev);
	snprintf(key, sizeof(key), "%s:%s", ra->kind, ra->subject);
	snprintf(title, sizeof(title), "%s: %s", ra->kind, ra->subject);
	ck_alert_init(&a, kind_of(ra->kind), sev, ra->subject,
	    ra->owner[0] ? ra->owner : NULL, title, ra->text, key, ra->state);
	ck_alerts_deliver(st, nc, &a, 1);
	ck_alert_release(&a);
}
