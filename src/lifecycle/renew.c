/*
 * The renewer: due managed certificates go on the job queue; jobs are
 * claimed with leases, so that two schedulers (threads, or nodes sharing a
 * database) never renew one certificate twice; each claimed job gets a
 * key (new, or the old one when the rule reuses keys) and a CSR, then its
 * certificate from the issuer. Certificates of the built-in CA are signed
 * and recorded in batches, one commit each (ck_enroll_batch), with the
 * managed row and the job updated in that same transaction: a crash leaves
 * either the old state or the new one, never a certificate whose key is
 * lost. Files are written after the commit and rewritten when a crash
 * came between (written_cert_id). Failures retry with exponential
 * renew_backoff; a failing upstream issuer trips a breaker instead of being
 * hammered; and alerts grow in urgency as expiry nears.
 */
#include "lifecycle/renew_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "store/agents.h"
#include "lifecycle/lifecycle.h"
#include "x509/x509.h"

/* Backoff of a certificate's attempts: 1 min doubling to 6 h. A day-long
 * watchdog (longer than any renew_backoff) re-queues work that got lost. */
#define BACKOFF_MIN 60
#define BACKOFF_MAX (6 * 3600)
#define WATCHDOG 86400
/* Breaker: after this many consecutive failures an issuer rests, 5 min
 * doubling to 1 h, before it is tried again. */
#define BREAKER_AFTER 5
#define BREAKER_MIN 300
#define BREAKER_MAX 3600
/* A certificate whose renewal time under the rule is this close (or
 * passed) is refused: accepting it would renew again at once, the loop
 * that sent other tools into millions of requests. */
#define MIN_USEFUL 300
/* How often an issuer's renewal window (RFC 9773) is asked for at most. */
#define ARI_POLL 86400

int64_t
ck_renew_time(int64_t not_before, int64_t not_after, int renew_frac,
    int64_t renew_before, double rnd)
{
	int64_t life = not_after - not_before, t;

	if (life <= 0)
		return not_before;
	if (renew_before > 0)
		t = not_after - renew_before;
	else
		t = not_before + (int64_t)((double)life * renew_frac / 1000.0);
	t -= (int64_t)(rnd * (double)life / 30.0);
	return t < not_before ? not_before : t;
}

double
renew_rnd01(void)
{
	uint32_t v = 0;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint32_t)random();
	return (double)v / 4294967296.0;
}

void
renew_work_release(struct work *w)
{
	char **s[] = {&w->name, &w->cn, &w->sans, &w->key_type, &w->issuer,
	    &w->profile, &w->owner, &w->key_out, &w->cert_out, &w->chain_out,
	    &w->last_alert};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	ck_buf_release(&w->old_key_sealed);
	ck_buf_release_secret(&w->key_pem);
	ck_buf_release(&w->sealed);
	free(w->csr);
	free(w->der);
	ck_buf_release(&w->chain_pem);
}

int
renew_take_row(void *ctx, const struct ck_managed_row *m)
{
	struct work *w = ctx;

	if (strcmp(m->state, "retired") == 0)
		return 0;
	w->found = true;
	w->cn = ck_strdup(m->cn);
	w->sans = ck_strdup(m->sans);
	w->key_type = ck_strdup(m->key_type);
	w->issuer = ck_strdup(m->issuer);
	w->profile = ck_strdup(m->profile);
	w->owner = ck_strdup(m->owner);
	w->key_out = ck_strdup(m->key_out);
	w->cert_out = ck_strdup(m->cert_out);
	w->chain_out = ck_strdup(m->chain_out);
	w->last_alert = ck_strdup(m->last_alert);
	w->days = m->days;
	w->renew_frac = m->renew_frac;
	w->renew_before = m->renew_before;
	w->reuse_key = m->reuse_key;
	w->failures = m->failures;
	w->cert_id = m->cert_id;
	w->renew_at_old = m->renew_at;
	w->not_after_old = m->not_after;
	w->ari_checked = m->ari_checked;
	if (m->key != NULL)
		ck_buf_add(&w->old_key_sealed, m->key, m->key_len);
	return 0;
}

int
renew_take_job(void *ctx, const struct ck_job_row *j)
{
	struct claimed *c = ctx;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->w = ck_realloc(c->w, c->cap * sizeof(*c->w));
	}
	memset(&c->w[c->n], 0, sizeof(c->w[0]));
	c->w[c->n].job_id = j->id;
	c->w[c->n].attempts = j->attempts;
	c->w[c->n].name = ck_strdup(j->subject);
	c->n++;
	return 0;
}

/* The SANs of w as an array of pointers into a copy (freed by caller). */
static size_t
split_sans(const char *sans, char **copy, const char ***out)
{
	size_t n = 1, i = 0;
	char *p, *save = NULL;

	*copy = ck_strdup(sans);
	for (p = *copy; *p; p++)
		n += *p == ',';
	*out = ck_calloc(n, sizeof(char *));
	for (p = strtok_r(*copy, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save))
		(*out)[i++] = p;
	return i;
}

/* Key (new, or the old one unsealed) and CSR for w. */
static int
prepare(struct work *w, struct ck_err *err)
{
	char aad[200], *copy;
	const char **sans;
	size_t n;
	int r;

	snprintf(aad, sizeof(aad), "managed:%s", w->name);
	n = split_sans(w->sans, &copy, &sans);
	if (w->reuse_key && w->old_key_sealed.len > 0) {
		if ((r = ck_unseal(w->mk, aad,
		         (const uint8_t *)w->old_key_sealed.p,
		         w->old_key_sealed.len, &w->key_pem, err)) == 0)
			r = ck_csr_for_key((const uint8_t *)w->key_pem.p,
			    w->key_pem.len, w->cn, sans, n, &w->csr,
			    &w->csr_len, err);
	} else {
		r = ck_make_key_and_csr(w->key_type, w->cn, sans, n, &w->csr,
		    &w->csr_len, &w->key_pem, err);
	}
	free(sans);
	free(copy);
	if (r == 0)
		r = ck_seal(w->mk, aad, (const uint8_t *)w->key_pem.p,
		    w->key_pem.len, &w->sealed, err);
	return r;
}

/* Inside the recording transaction: the managed row and the job move on
 * with the certificate, or not at all. */
static int
on_recorded(void *arg, struct ck_store *st, const struct ck_enroll_res *res,
    struct ck_err *err)
{
	struct work *w = arg;
	struct ck_cert *c = NULL;
	int r;

	if ((r = ck_x509_parse(
	         res->der, res->der_len, CK_PARSE_CORE, &c, err)) != 0)
		return r;
	w->renew_at = ck_renew_time(c->not_before, c->not_after, w->renew_frac,
	    w->renew_before, renew_rnd01());
	ck_cert_free(c);
	w->new_cert_id = res->cert_id;
	/* An issuer with renewal information is asked again within a day:
	 * its window may move earlier (a mass revocation). */
	int64_t next = w->renew_at;
	if (w->ari && next > ck_now() + ARI_POLL)
		next = ck_now() + ARI_POLL;
	if ((r = ck_store_managed_issued(st, w->name, res->cert_id,
	         (const uint8_t *)w->sealed.p, w->sealed.len, w->renew_at, next,
	         err)) != 0 ||
	    (r = ck_store_job_done(st, w->job_id, err)) != 0)
		return r;
	/* the new certificate goes to the targets, if it has any, with the
	 * same commit: a crash cannot lose the deployment */
	int64_t n_targets = 0;
	if ((r = ck_store_target_count(st, w->name, &n_targets, err)) != 0 ||
	    (n_targets > 0 &&
	        (r = ck_store_job_put(st, "deploy", w->name, ck_now(), err)) !=
	            0))
		return r;
	if (w->last_alert != NULL && w->last_alert[0] != '\0')
		r = ck_store_managed_alerted(st, w->name, "", err);
	if (r == 0) { /* a stuck alert, if any, is over */
		char key[300];
		snprintf(key, sizeof(key), "stuck:%s", w->name);
		r = ck_store_alert_state_set(st, key, NULL, err);
	}
	return r;
}

/*
 * What an upstream issuer handed back is checked before it becomes
 * current: it parses, its key is the CSR's, it names what was asked, it is
 * valid now, and it lives long enough not to be due again at once.
 */
static int
check_issued(struct work *w, int64_t now, struct ck_err *err)
{
	struct ck_cert *c = NULL;
	struct ck_csr *q = NULL;
	int r;

	if ((r = ck_x509_parse(w->der, w->der_len, CK_PARSE_CORE, &c, NULL)) !=
	    0)
		return ck_err_set(err, CK_E_PARSE,
		    "the issuer returned a malformed certificate");
	if ((r = ck_x509_csr_parse(w->csr, w->csr_len, &q, err)) != 0)
		goto out;
	if (!ck_x509_same_key(w->der, w->der_len, w->csr, w->csr_len)) {
		r = ck_err_set(err, CK_E_INVAL,
		    "the issuer returned a certificate for another key");
		goto out;
	}
	for (const char *p = w->sans; *p;) {
		size_t n = strcspn(p, ",");
		const char *v = memchr(p, ':', n);
		bool found = false;
		v = v ? v + 1 : p;
		for (size_t i = 0; i < c->n_sans && !found; i++)
			found =
			    strlen(c->sans[i].value) == (size_t)(p + n - v) &&
			    strncasecmp(
			        c->sans[i].value, v, (size_t)(p + n - v)) == 0;
		if (!found) {
			r = ck_err_set(err, CK_E_INVAL,
			    "the issuer's certificate does not name %.*s",
			    (int)(p + n - v), v);
			goto out;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (c->not_after <= now) {
		r = ck_err_set(err, CK_E_INVAL,
		    "the issuer returned an expired certificate");
		goto out;
	}
	if (ck_renew_time(c->not_before, c->not_after, w->renew_frac,
	        w->renew_before, 0) < now + MIN_USEFUL) {
		r = ck_err_set(err, CK_E_INVAL,
		    "the issuer's certificate is too short-lived for the "
		    "renewal rule (valid %lld s); not used, to avoid a "
		    "renewal loop",
		    (long long)(c->not_after - c->not_before));
		goto out;
	}
out:
	ck_cert_free(c);
	ck_csr_free(q);
	return r;
}

/* ---- the pass ---- */

static int
due_name_ignore(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return 0;
}

struct names {
	struct ck_strlist l;
};

static int
due_name(void *ctx, const char *name)
{
	ck_strlist_add(&((struct names *)ctx)->l, name);
	return 0;
}

/* Due rows onto the queue, each with the watchdog as its next look. */
static int
enqueue_due(struct ck_renewer *rw, int64_t now, struct ck_renew_stats *stats,
    struct ck_err *err)
{
	const int64_t chunk = 5000;
	int64_t next;
	int r;

	for (;;) {
		struct names nm = {{0}};

		if ((r = ck_store_managed_due(
		         rw->st, now, chunk, due_name, &nm, &next, err)) != 0 ||
		    nm.l.n == 0) {
			ck_strlist_release(&nm.l);
			return r;
		}
		if ((r = ck_store_begin(rw->st, err)) == 0) {
			for (size_t i = 0; i < nm.l.n && r == 0; i++)
				if ((r = ck_store_job_put(rw->st, "renew",
				         nm.l.v[i], now, err)) == 0)
					r = ck_store_managed_schedule(rw->st,
					    nm.l.v[i], now + WATCHDOG, NULL, -1,
					    NULL, err);
			if (r == 0)
				r = ck_store_commit(rw->st, err);
			if (r != 0)
				ck_store_rollback(rw->st);
		}
		stats->queued += r == 0 ? (int64_t)nm.l.n : 0;
		bool more = (int64_t)nm.l.n == chunk;
		ck_strlist_release(&nm.l);
		if (r != 0 || !more)
			return r;
	}
}

static bool
held_by_agent(struct ck_store *st, const char *name)
{
	char host[CK_AGENT_HOST_MAX + 1];
	bool held = false;

	return ck_store_agent_holder(st, name, host, &held, NULL) == 0 && held;
}

static struct issuer_state *
issuer_of(struct ck_renewer *rw, struct issuer_state **all, size_t *n,
    const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*all)[i].name, name) == 0)
			return &(*all)[i];
	*all = ck_realloc(*all, (*n + 1) * sizeof(**all));
	struct issuer_state *is = &(*all)[(*n)++];
	memset(is, 0, sizeof(*is));
	is->name = ck_strdup(name);
	is->load_code = ck_issuer_load(
	    rw->st, name, rw->master_key, &is->def, &is->load_err);
	is->loaded = is->load_code == 0;
	if (is->loaded)
		(void)ck_store_issuer_list(
		    rw->st, name, renew_read_health, is, NULL);
	return is;
}

static int
old_der(void *ctx, const struct ck_cert_row *row)
{
	ck_buf_add(ctx, row->der, row->der_len);
	return 0;
}

/*
 * RFC 9773: the issuer's suggested window decides when to renew. Asked
 * before a scheduled renewal (not an explicit one, and not twice within a
 * minute): when a random point of the window is still ahead, the renewal
 * waits for it (asking again at the Retry-After) and nothing is issued.
 * No window (none offered, or the issuer unreachable) leaves the rule.
 */
static void
ask_window(struct ck_renewer *rw, struct work *w, struct issuer_state *is,
    const struct ck_issuer_ops *ops, int64_t now)
{
	struct ck_renewal_window win = {0};
	struct ck_buf old = CK_BUF_INIT;
	struct ck_err e2 = {0};
	int64_t t, next;

	if (rw->only != NULL || w->cert_id == 0 || w->ari_checked > now - 60 ||
	    ck_store_cert_get(rw->st, w->cert_id, old_der, &old, NULL) != 0)
		goto out;
	if (ops->renewal_info(
	        &is->def, (const uint8_t *)old.p, old.len, &win, &e2) != 0 ||
	    win.end <= win.start)
		goto out;
	t = win.start +
	    (int64_t)(renew_rnd01() * (double)(win.end - win.start));
	if (t <= now)
		goto out; /* inside the window: renew now */
	next = t;
	if (win.retry_after > now && win.retry_after < next)
		next = win.retry_after;
	if (next > now + ARI_POLL)
		next = now + ARI_POLL;
	if (ck_store_begin(rw->st, &e2) == 0) {
		if (ck_store_managed_window(
		        rw->st, w->name, t, next, now, &e2) == 0 &&
		    ck_store_job_done(rw->st, w->job_id, &e2) == 0 &&
		    ck_store_commit(rw->st, &e2) == 0)
			w->ari_wait = true;
		else
			ck_store_rollback(rw->st);
	}
out:
	free(win.explanation_url);
	ck_buf_release(&old);
}

/* One certificate from an upstream connector, checked, then recorded. */
static void
issue_upstream(
    struct ck_renewer *rw, struct work *w, struct issuer_state *is, int64_t now)
{
	const struct ck_issuer_ops *ops = ck_issuer_ops_find(is->def.type);
	struct ck_buf old = CK_BUF_INIT;
	struct ck_issued got = {0};
	char *copy;
	const char **sans;
	size_t n = split_sans(w->sans, &copy, &sans);

	/* the identifiers without their "DNS:" / "IP:" prefix */
	for (size_t i = 0; i < n; i++) {
		const char *c = strchr(sans[i], ':');
		if (c != NULL &&
		    (strncmp(sans[i], "DNS:", 4) == 0 ||
		        strncmp(sans[i], "IP:", 3) == 0))
			sans[i] = c + 1;
	}
	if (ops->renewal_info != NULL) {
		struct ck_issuer_caps caps = {0};
		if (ops->caps != NULL)
			ops->caps(&is->def, &caps);
		w->ari = caps.renewal_info;
		ask_window(rw, w, is, ops, now);
		if (w->ari_wait) {
			free(sans);
			free(copy);
			return;
		}
	}
	if (w->cert_id > 0)
		(void)ck_store_cert_get(
		    rw->st, w->cert_id, old_der, &old, NULL);
	struct ck_issue_request req = {w->csr, w->csr_len, sans, n, w->days,
	    old.len ? (const uint8_t *)old.p : NULL, old.len};
	w->code = ops->issue(&is->def, &req, &got, &w->err);
	/* The directory has been read by now: a process's first renewal
	 * through an ACME CA learns here whether the CA has renewal
	 * information, so that the next look is within ARI_POLL. */
	if (ops->caps != NULL) {
		struct ck_issuer_caps caps = {0};
		ops->caps(&is->def, &caps);
		w->ari = caps.renewal_info;
	}
	if (is->def.account_changed) {
		struct ck_err e2 = {0};
		if (ck_issuer_save_account(
		        rw->st, &is->def, rw->master_key, &e2) != 0)
			ck_log(CK_LOG_ERROR, "issuer %s: account not saved: %s",
			    is->name, e2.msg);
	}
	if (w->code == 0) {
		w->der = got.der;
		w->der_len = got.der_len;
		got.der = NULL;
		ck_buf_add(&w->chain_pem, got.chain_pem.p, got.chain_pem.len);
		/* An unusable certificate is still a certificate that exists:
		 * it goes into the inventory, but does not become current. */
		int bad = check_issued(w, now, &w->err);
		w->code = ck_enroll_record(rw->st, is->name, w->der, w->der_len,
		    w->chain_pem.p, w->chain_pem.len, "scheduler",
		    bad == 0 ? on_recorded : NULL, w, NULL,
		    bad == 0 ? &w->err : NULL);
		if (bad != 0)
			w->code = bad;
	}
	ck_issued_release(&got);
	ck_buf_release(&old);
	free(sans);
	free(copy);
}

/* The certificates of the built-in CA, signed and recorded as one batch. */
static void
issue_local(
    struct ck_renewer *rw, struct work **ws, size_t n, struct issuer_state *iss)
{
	struct ck_enroll_req *reqs = ck_calloc(n, sizeof(*reqs));
	struct ck_enroll_res *res = ck_calloc(n, sizeof(*res));
	struct ck_err *errs = ck_calloc(n, sizeof(*errs));
	int *codes = ck_calloc(n, sizeof(*codes));
	struct ck_err txe = {0};
	int r;

	for (size_t i = 0; i < n; i++) {
		reqs[i].ca = iss[ws[i]->iss].def.ca;
		reqs[i].profile = ws[i]->profile;
		reqs[i].csr = ws[i]->csr;
		reqs[i].csr_len = ws[i]->csr_len;
		reqs[i].days = ws[i]->days;
		reqs[i].requested_by = "scheduler";
		reqs[i].master_key = rw->master_key;
		reqs[i].public_url = rw->public_url;
		reqs[i].recorded = on_recorded;
		reqs[i].recorded_arg = ws[i];
	}
	r = ck_enroll_batch(rw->st, reqs, n, res, codes, errs);
	for (size_t i = 0; i < n; i++) {
		struct work *w = ws[i];
		w->code = codes[i];
		if (codes[i] != 0) {
			w->err = errs[i];
			w->new_cert_id = 0;
			continue;
		}
		w->der = res[i].der;
		w->der_len = res[i].der_len;
		res[i].der = NULL;
		ck_buf_add(
		    &w->chain_pem, res[i].chain_pem.p, res[i].chain_pem.len);
		ck_enroll_res_release(&res[i]);
	}
	(void)r;
	(void)txe;
	free(reqs);
	free(res);
	free(errs);
	free(codes);
}

/* After the attempts: failures, written files and issuer health, in one
 * commit. */
static int
settle(struct ck_renewer *rw, struct claimed *c, struct issuer_state *iss,
    size_t n_iss, int64_t now, struct ck_renew_stats *stats, struct ck_err *err)
{
	int r;

	if ((r = ck_store_begin(rw->st, err)) != 0)
		return r;
	for (size_t i = 0; i < c->n && r == 0; i++) {
		struct work *w = &c->w[i];

		if (!w->found || w->deferred)
			continue;
		if (w->ari_wait) {
			stats->deferred++;
			continue;
		}
		if (w->code != 0) {
			stats->failed++;
			r = renew_fail_one(rw, w, &iss[w->iss], now, err);
			continue;
		}
		stats->issued++;
		if (iss[w->iss].failures != 0) {
			iss[w->iss].failures = 0;
			iss[w->iss].open_until = 0;
			iss[w->iss].changed = true;
		}
		if (w->new_cert_id > 0 &&
		    (w->key_out[0] || w->cert_out[0] || w->chain_out[0])) {
			stats->written++;
			r = ck_store_managed_written(
			    rw->st, w->name, w->new_cert_id, err);
		}
	}
	for (size_t i = 0; i < n_iss && r == 0; i++)
		if (iss[i].changed && iss[i].loaded) {
			r = ck_store_issuer_health(rw->st, iss[i].name,
			    iss[i].failures, iss[i].open_until, err);
			iss[i].changed = false;
		}
	if (r == 0)
		r = ck_store_commit(rw->st, err);
	if (r != 0)
		ck_store_rollback(rw->st);
	renew_release_alerts(rw, r == 0);
	return r;
}

/* Claims one batch and runs it. *got gets how many jobs it claimed. */
static int
run_batch(struct ck_renewer *rw, int64_t now, const uint8_t *mk,
    struct issuer_state **iss, size_t *n_iss, size_t limit,
    struct ck_renew_stats *stats, size_t *got, struct ck_err *err)
{
	struct claimed c = {0};
	struct work **local = NULL;
	size_t n_local = 0;
	int r;

	*got = 0;
	if ((r = ck_store_begin(rw->st, err)) != 0)
		return r;
	if ((r = ck_store_job_claim(rw->st, "renew", rw->only, rw->owner, now,
	         rw->lease > 0 ? rw->lease : 600, (int64_t)limit,
	         renew_take_job, &c, err)) == 0)
		r = ck_store_commit(rw->st, err);
	if (r != 0) {
		ck_store_rollback(rw->st);
		goto out;
	}
	*got = c.n;
	if (c.n == 0)
		goto out;
	local = ck_calloc(c.n, sizeof(*local));
	for (size_t i = 0; i < c.n; i++) {
		struct work *w = &c.w[i];
		struct ck_managed_filter f = {
		    .name = w->name, .with_key = true};
		struct issuer_state *is;

		w->rw = rw;
		w->mk = mk;
		(void)ck_store_managed_list(
		    rw->st, &f, renew_take_row, w, NULL);
		if (!w->found)
			continue;
		/* an agent's certificate: its key is made on the agent's
		 * host, never here; the job goes (agent_work.c issues) */
		if (held_by_agent(rw->st, w->name)) {
			w->found = false;
			continue;
		}
		is = issuer_of(rw, iss, n_iss, w->issuer);
		w->iss = (size_t)(is - *iss);
		if (!is->loaded) {
			w->code = is->load_code;
			w->err = is->load_err;
			continue;
		}
		/* An operator's explicit renewal (only) is tried anyway. */
		if (is->open_until > now && rw->only == NULL) {
			w->deferred = true;
			continue;
		}
		if ((w->code = prepare(w, &w->err)) != 0)
			continue;
		if (strcmp(is->def.type, "local") == 0)
			local[n_local++] = w;
		else if (ck_issuer_ops_find(is->def.type) == NULL)
			w->code = ck_err_set(&w->err, CK_E_INVAL,
			    "issuer type '%s' is not available", is->def.type);
		else
			issue_upstream(rw, w, is, now);
	}
	if (n_local > 0)
		issue_local(rw, local, n_local, *iss);
	renew_write_files(c.w, c.n);
	/* rows gone (retired meanwhile) and deferred ones */
	if ((r = ck_store_begin(rw->st, err)) == 0) {
		for (size_t i = 0; i < c.n && r == 0; i++) {
			struct work *w = &c.w[i];
			if (!w->found)
				r = ck_store_job_done(rw->st, w->job_id, err);
			else if (w->deferred) {
				int64_t at = (*iss)[w->iss].open_until;
				stats->deferred++;
				if ((r = ck_store_job_retry(rw->st, w->job_id,
				         at, "issuer breaker open", err)) == 0)
					r = ck_store_managed_schedule(rw->st,
					    w->name, at, NULL, -1, NULL, err);
			}
		}
		if (r == 0)
			r = ck_store_commit(rw->st, err);
		if (r != 0)
			ck_store_rollback(rw->st);
	}
	if (r == 0)
		r = settle(rw, &c, *iss, *n_iss, now, stats, err);
	for (size_t i = 0; i < c.n; i++) {
		struct work *w = &c.w[i];
		if (w->found && !w->deferred && !w->ari_wait &&
		    rw->progress != NULL)
			rw->progress(
			    rw->progress_ctx, w->name, w->code, &w->err);
	}
out:
	for (size_t i = 0; i < c.n; i++)
		renew_work_release(&c.w[i]);
	free(c.w);
	free(local);
	return r;
}

int
ck_renew_run(struct ck_renewer *rw, int64_t now, int64_t max_jobs,
    struct ck_renew_stats *stats, int64_t *next, struct ck_err *err)
{
	uint8_t mk[CK_MASTER_KEY_LEN];
	struct issuer_state *iss = NULL;
	size_t n_iss = 0, batch = rw->batch > 0 ? (size_t)rw->batch : 256;
	int64_t done = 0, dummy;
	int r;

	memset(stats, 0, sizeof(*stats));
	*next = INT64_MAX;
	if (rw->only == NULL && (r = enqueue_due(rw, now, stats, err)) != 0)
		return r;
	if ((r = ck_master_key_load(
	         ck_master_key_path(rw->master_key), true, mk, err)) != 0)
		return r;
	for (;;) {
		size_t got, want = batch;

		if (max_jobs > 0 && (int64_t)want > max_jobs - done)
			want = (size_t)(max_jobs - done);
		if (want == 0)
			break;
		if ((r = run_batch(rw, now, mk, &iss, &n_iss, want, stats, &got,
		         err)) != 0 ||
		    got == 0)
			break;
		done += (int64_t)got;
	}
	if (r == 0 && rw->only == NULL &&
	    (!rw->files_checked || rw->files_dirty)) {
		rw->files_checked = true;
		rw->files_dirty = false;
		r = renew_rewrite_files(rw, mk, stats, err);
	}
	if (r == 0)
		r = renew_run_deploys(rw, now, mk, err);
	ck_cleanse(mk, sizeof(mk));
	for (size_t i = 0; i < n_iss; i++) {
		free(iss[i].name);
		ck_issuer_def_release(&iss[i].def);
	}
	free(iss);
	if (r != 0)
		return r;
	/* the next thing due: a managed row, or a job waiting to retry */
	if ((r = ck_store_managed_due(
	         rw->st, INT64_MIN, 1, due_name_ignore, NULL, next, err)) != 0)
		return r;
	(void)dummy;
	if ((r = ck_store_job_next(rw->st, "renew", next, err)) != 0)
		return r;
	return ck_store_job_next(rw->st, "deploy", next, err);
}
