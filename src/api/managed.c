/*
 * /api/v1/managed and /api/v1/jobs: managed certificates over REST, as
 * `certkeep manage` does: add, adopt, list (keyset pages), show, renew
 * now, retire, bulk move; and the open job queue. Nothing is issued here:
 * a request only queues work, which the daemon's renewal scheduler (or
 * `certkeep manage run`) does; only retiring with revocation talks to an
 * issuer, and that route runs on a job thread.
 */
#include "api/api.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "base/clock.h"
#include "base/json.h"
#include "ca/ca.h"
#include "lifecycle/managed.h"

#include "lifecycle/scheduler.h"

/* One row as the API shows it: the lifecycle's JSON object with the id
 * first, the value a client pages with. */
static void
row_json(const struct ck_managed_row *m, struct ck_buf *b)
{
	struct ck_buf one = CK_BUF_INIT;

	ck_managed_row_json(m, &one);
	ck_buf_printf(b, "{\"id\":%lld", (long long)m->id);
	if (one.len > 2)
		ck_buf_addc(b, ',');
	ck_buf_add(b, one.p + 1, one.len - 1);
	ck_buf_release(&one);
}

struct rows {
	struct ck_buf b;
	bool first;
	int64_t n, last_id;
};

static int
on_row(void *ctx, const struct ck_managed_row *m)
{
	struct rows *l = ctx;

	ck_json_sep(&l->b, &l->first);
	row_json(m, &l->b);
	l->n++;
	l->last_id = m->id;
	return 0;
}

/* The problem for a reference inside a body (an issuer, a certificate)
 * that does not exist: the request is wrong, the URL is not missing. */
static void
body_problem(struct ck_http_ctx *c, int r, const struct ck_err *err)
{
	if (r == CK_E_NOTFOUND)
		ck_http_problem(c, 400, "bad-request", "%s", err->msg);
	else
		ck_http_problem_err(c, r, err);
}

void
ck_api_managed_list(struct ck_http_ctx *c)
{
	static const char *const known[] = {
	    "issuer", "state", "owner", "tag", "san", "limit", "after", NULL};
	struct ck_managed_filter f = {0};
	struct rows l = {CK_BUF_INIT, true, 0, 0};
	struct ck_err err = {0};
	int64_t n[4] = {0, 0, 0, 0};
	const char *bad, *v;
	int r;

	if (ck_http_query_unknown(c, known, &bad)) {
		ck_http_problem(
		    c, 400, "bad-request", "unknown parameter '%s'", bad);
		return;
	}
	f.issuer = ck_http_query(c, "issuer");
	f.state = ck_http_query(c, "state");
	f.owner = ck_http_query(c, "owner");
	f.tag = ck_http_query(c, "tag");
	f.san = ck_http_query(c, "san");
	if (f.state != NULL && !ck_api_managed_state_ok(f.state)) {
		ck_http_problem(c, 400, "bad-request",
		    "state: want pending, active, failing or retired");
		return;
	}
	if (ck_api_limit(c, 100, 1000, &f.limit) != 0)
		return;
	if ((v = ck_http_query(c, "after")) != NULL) {
		char *end;
		f.after_id = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || f.after_id < 0) {
			ck_http_problem(c, 400, "bad-request",
			    "after: want the 'next' value of the previous "
			    "page");
			return;
		}
	}
	ck_buf_adds(&l.b, "{\"items\":[");
	if ((r = ck_store_managed_list(c->st, &f, on_row, &l, &err)) < 0 ||
	    (r = ck_store_managed_counts(
	         c->st, &n[0], &n[1], &n[2], &n[3], &err)) < 0) {
		ck_buf_release(&l.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_printf(&l.b,
	    "],\"counts\":{\"pending\":%lld,\"active\":%lld,\"failing\":%lld,"
	    "\"retired\":%lld},\"next\":",
	    (long long)n[0], (long long)n[1], (long long)n[2], (long long)n[3]);
	if (l.n == f.limit)
		ck_buf_printf(&l.b, "\"%lld\"", (long long)l.last_id);
	else
		ck_buf_adds(&l.b, "null");
	ck_buf_adds(&l.b, "}\n");
	ck_http_reply_buf(c, 200, "application/json", &l.b);
}

/* name's row as JSON into b; on failure the problem is sent, -1. */
static int
one_json(struct ck_http_ctx *c, const char *name, struct ck_buf *b)
{
	struct ck_managed_filter f = {.name = name};
	struct rows l = {CK_BUF_INIT, true, 0, 0};
	struct ck_err err = {0};
	int r;

	if ((r = ck_store_managed_list(c->st, &f, on_row, &l, &err)) < 0) {
		ck_buf_release(&l.b);
		ck_http_problem_err(c, r, &err);
		return -1;
	}
	ck_buf_addc(&l.b, '\n');
	*b = l.b;
	return 0;
}

/* Sends name's row with status (200, 201). */
static void
reply_one(struct ck_http_ctx *c, const char *name, int status)
{
	struct ck_buf b;

	if (one_json(c, name, &b) == 0)
		ck_http_reply_buf(c, status, "application/json", &b);
}

static void
set_location(struct ck_http_ctx *c, const char *name)
{
	struct ck_buf loc = CK_BUF_INIT;

	ck_buf_printf(&loc, "/api/v1/managed/%s", name);
	ck_http_set_header(c, "Location", loc.p);
	ck_buf_release(&loc);
}

void
ck_api_managed_get(struct ck_http_ctx *c)
{
	reply_one(c, ck_http_param(c, 0), 200);
}

void
ck_api_managed_create(struct ck_http_ctx *c)
{
	struct ck_api_manage_body mb;
	struct ck_err err = {0};
	struct ck_buf row;
	json_t *j = NULL;
	int r;

	if (ck_api_json_body(c, ck_api_manage_fields, &j) != 0)
		return;
	if ((r = ck_api_manage_decode(j, &mb, &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		goto out;
	}
	/* The files are written by the daemon, as its user, wherever the
	 * paths say: choosing them is control over the server's filesystem,
	 * which only an admin has (an admin can define command issuers). */
	if (mb.has_files && c->auth.role < CK_ACCESS_ADMIN) {
		ck_http_problem(c, 403, "forbidden",
		    "key_out, cert_out and fullchain_out need an admin token");
		goto out;
	}
	if ((r = ck_manage_add(c->st, &mb.s, c->auth.actor, &err)) != 0) {
		body_problem(c, r, &err);
		goto out;
	}
	/* The row as added (pending), read before the scheduler is woken
	 * and may have issued already. */
	if (one_json(c, mb.s.name, &row) == 0) {
		ck_renew_scheduler_wake();
		set_location(c, mb.s.name);
		ck_http_reply_buf(c, 201, "application/json", &row);
	}
out:
	ck_api_manage_body_release(&mb);
	json_decref(j);
}

/* What the handlers below need of a row before they act. */
struct state {
	char state[16];
	int64_t renew_at, cert_id;
};

static int
on_state(void *ctx, const struct ck_managed_row *m)
{
	struct state *s = ctx;

	snprintf(s->state, sizeof(s->state), "%s", m->state);
	s->renew_at = m->renew_at;
	s->cert_id = m->cert_id;
	return 0;
}

/* name's state; on failure the problem is sent and -1 returned. */
static int
get_state(struct ck_http_ctx *c, const char *name, struct state *s)
{
	struct ck_managed_filter f = {.name = name};
	struct ck_err err = {0};
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = ck_store_managed_list(c->st, &f, on_state, s, &err)) < 0) {
		ck_http_problem_err(c, r, &err);
		return -1;
	}
	return 0;
}

/* An optional JSON body (none, or an empty one, means {}). On failure
 * the problem is sent and -1 returned. */
static int
optional_body(struct ck_http_ctx *c, const char *const *known, json_t **j)
{
	size_t len;

	*j = NULL;
	(void)ck_http_body(c, &len);
	if (len == 0) {
		*j = json_object();
		return 0;
	}
	return ck_api_json_body(c, known, j);
}

static int
get_bool(json_t *j, const char *key, bool *out, struct ck_err *err)
{
	json_t *v = json_object_get(j, key);

	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return ck_err_set(
		    err, CK_E_INVAL, "field '%s': want true or false", key);
	*out = json_is_true(v);
	return 0;
}

void
ck_api_managed_renew(struct ck_http_ctx *c)
{
	static const char *const known[] = {"force", NULL};
	const char *name = ck_http_param(c, 0);
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	struct state s;
	bool force, f = true;
	json_t *j;
	int r;

	if (optional_body(c, known, &j) != 0)
		return;
	r = get_bool(j, "force", &force, &err);
	json_decref(j);
	if (r != 0) {
		ck_http_problem(c, 400, "bad-request", "%s", err.msg);
		return;
	}
	if (get_state(c, name, &s) != 0)
		return;
	/* The lifecycle refuses both with CK_E_INVAL; here they are what
	 * they are, conflicts with the row's state, told apart for the
	 * caller. */
	if (strcmp(s.state, "retired") == 0) {
		ck_http_problem(c, 409, "conflict", "'%s' is retired", name);
		return;
	}
	if (!force && strcmp(s.state, "active") == 0 && c->now < s.renew_at) {
		char when[CK_TIME_STR_MAX];
		ck_time_format(s.renew_at, when);
		ck_http_problem(c, 409, "not-due",
		    "'%s' is not due before %s (force renews now)", name, when);
		return;
	}
	r = ck_manage_renew_now(c->st, name, force, c->auth.actor, &err);
	if (r == CK_E_INVAL) {
		/* changed since the check above (the clock, another
		 * request): still a conflict with its state */
		ck_http_problem(c, 409, "conflict", "%s", err.msg);
		return;
	}
	if (r != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_renew_scheduler_wake();
	ck_buf_addc(&b, '{');
	ck_json_kv_str(&b, &f, "name", name);
	ck_json_kv_bool(&b, &f, "queued", true);
	ck_json_kv_bool(&b, &f, "forced", force);
	ck_buf_adds(&b, "}\n");
	ck_http_reply_buf(c, 202, "application/json", &b);
}

void
ck_api_managed_retire(struct ck_http_ctx *c)
{
	static const char *const known[] = {"revoke", "reason", NULL};
	const char *name = ck_http_param(c, 0), *reason_s = NULL;
	struct ck_err err = {0};
	struct state s;
	bool revoke;
	int r, reason = 0;
	json_t *j;

	if (optional_body(c, known, &j) != 0)
		return;
	if ((r = get_bool(j, "revoke", &revoke, &err)) == 0 &&
	    (r = ck_api_json_str(j, "reason", false, &reason_s, &err)) == 0 &&
	    reason_s != NULL) {
		if (!revoke)
			r = ck_err_set(&err, CK_E_INVAL,
			    "reason: only with \"revoke\": true");
		else if (ck_crl_reason_parse(reason_s, &reason) != 0)
			r = ck_err_set(&err, CK_E_INVAL,
			    "reason: unknown '%.64s' (RFC 5280 names, e.g. "
			    "keyCompromise)",
			    reason_s);
	}
	json_decref(j);
	if (r != 0) {
		ck_http_problem(c, 400, "bad-request", "%s", err.msg);
		return;
	}
	if (get_state(c, name, &s) != 0)
		return;
	if (strcmp(s.state, "retired") == 0) {
		ck_http_problem(
		    c, 409, "conflict", "'%s' is already retired", name);
		return;
	}
	r = ck_manage_retire(c->st, name, revoke, reason,
	    ck_config_str(c->cfg, CK_CFG_MASTER_KEY), c->auth.actor, &err);
	switch (r) {
	case 0: break;
	case CK_E_INVAL:
		/* the issuer cannot or would not revoke, or the row
		 * changed meanwhile: it stays managed */
		ck_http_problem(c, 409, "conflict", "%s", err.msg);
		return;
	case CK_E_IO:
	case CK_E_TIMEOUT:
	case CK_E_PARSE:
		ck_http_problem(c, 502, "upstream",
		    "revocation through the issuer failed: %s", err.msg);
		return;
	default: ck_http_problem_err(c, r, &err); return;
	}
	if (revoke && s.cert_id > 0)
		atomic_fetch_add(&ck_api_revoked_total, 1);
	reply_one(c, name, 200);
}

static int
on_sha(void *ctx, const struct ck_managed_row *m)
{
	/* the adopted row holds the certificate it was asked for */
	return m->sha256 != NULL && strcmp(m->sha256, ctx) == 0 ? 0 : 1;
}

static int
on_cert_cn(void *ctx, const struct ck_cert_row *row)
{
	snprintf(ctx, 129, "%s", row->cn ? row->cn : "");
	return 0;
}

void
ck_api_managed_adopt(struct ck_http_ctx *c)
{
	static const char *const known[] = {"sha256", "issuer", "name", NULL};
	const char *sha, *issuer, *name;
	struct ck_err err = {0};
	char hex[65], cn[129] = "";
	json_t *j = NULL;
	int64_t id;
	int r;

	if (ck_api_json_body(c, known, &j) != 0)
		return;
	if ((r = ck_api_json_str(j, "sha256", true, &sha, &err)) != 0 ||
	    (r = ck_api_json_str(j, "issuer", true, &issuer, &err)) != 0 ||
	    (r = ck_api_json_str(j, "name", false, &name, &err)) != 0)
		goto fail;
	/* The whole digest: a prefix or a row id could name another
	 * certificate than the caller means. */
	if (strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64) {
		r = ck_err_set(&err, CK_E_INVAL,
		    "field 'sha256': want the 64 hex digits of the "
		    "certificate's SHA-256");
		goto fail;
	}
	for (int i = 0; i < 64; i++)
		hex[i] = (char)tolower((unsigned char)sha[i]);
	hex[64] = '\0';
	if ((r = ck_manage_adopt(
	         c->st, hex, issuer, name, c->auth.actor, &err)) != 0) {
		body_problem(c, r, &err);
		goto out;
	}
	/* ck_manage_adopt names the row after the CN when no name is
	 * given; answer with the row when that is where it is. */
	if (name == NULL && ck_store_cert_find(c->st, hex, &id, NULL) == 0 &&
	    ck_store_cert_get(c->st, id, on_cert_cn, cn, NULL) == 0 && cn[0])
		name = cn;
	if (name != NULL) {
		struct ck_managed_filter f = {.name = name};
		if (ck_store_managed_list(c->st, &f, on_sha, hex, NULL) == 0) {
			set_location(c, name);
			reply_one(c, name, 201);
			goto out;
		}
	}
	{
		struct ck_buf b = CK_BUF_INIT;
		bool f = true;
		ck_buf_addc(&b, '{');
		ck_json_kv_str(&b, &f, "sha256", hex);
		ck_json_kv_bool(&b, &f, "adopted", true);
		ck_buf_adds(&b, "}\n");
		ck_http_reply_buf(c, 201, "application/json", &b);
	}
	goto out;
fail:
	ck_http_problem(c, 400, "bad-request", "%s", err.msg);
out:
	json_decref(j);
}

void
ck_api_managed_move(struct ck_http_ctx *c)
{
	struct ck_api_move mv;
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	json_t *j = NULL;
	int64_t moved = 0;
	bool f = true;
	int r;

	if (ck_api_json_body(c, ck_api_move_fields, &j) != 0)
		return;
	if ((r = ck_api_move_decode(j, &mv, &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		goto out;
	}
	if ((r = ck_manage_move(c->st, &mv.f, mv.to_issuer, mv.key_type,
	         mv.rate, c->auth.actor, &moved, &err)) != 0) {
		body_problem(c, r, &err);
		goto out;
	}
	ck_renew_scheduler_wake();
	ck_buf_addc(&b, '{');
	ck_json_kv_int(&b, &f, "moved", moved);
	ck_json_sep(&b, &f);
	ck_buf_printf(&b, "\"rate\":%g", mv.rate);
	ck_buf_adds(&b, "}\n");
	ck_http_reply_buf(c, 202, "application/json", &b);
out:
	json_decref(j);
}

/* ---- the job queue ---- */

struct jobs {
	struct ck_buf b;
	bool first, truncated;
	int64_t n, limit;
};

static int
on_job(void *ctx, const struct ck_job_row *jr)
{
	struct jobs *l = ctx;
	bool f = true;

	if (l->n == l->limit) {
		l->truncated = true;
		return 1; /* stop: the page is full */
	}
	l->n++;
	ck_json_sep(&l->b, &l->first);
	ck_buf_addc(&l->b, '{');
	ck_json_kv_int(&l->b, &f, "id", jr->id);
	ck_json_kv_str(&l->b, &f, "kind", jr->kind);
	ck_json_kv_str(&l->b, &f, "subject", jr->subject);
	ck_json_kv_time(&l->b, &f, "run_at", jr->run_at);
	ck_json_kv_int(&l->b, &f, "attempts", jr->attempts);
	ck_json_kv_str(&l->b, &f, "lease_owner", jr->lease_owner);
	if (jr->lease_owner != NULL)
		ck_json_kv_time(&l->b, &f, "lease_until", jr->lease_until);
	ck_json_kv_str(&l->b, &f, "last_error", jr->last_error);
	ck_json_kv_time(&l->b, &f, "created", jr->created);
	ck_buf_addc(&l->b, '}');
	return 0;
}

void
ck_api_jobs_list(struct ck_http_ctx *c)
{
	static const char *const known[] = {"kind", "limit", NULL};
	struct jobs l = {CK_BUF_INIT, true, false, 0, 0};
	struct ck_err err = {0};
	const char *bad;
	int r;

	if (ck_http_query_unknown(c, known, &bad)) {
		ck_http_problem(
		    c, 400, "bad-request", "unknown parameter '%s'", bad);
		return;
	}
	if (ck_api_limit(c, 1000, 10000, &l.limit) != 0)
		return;
	ck_buf_adds(&l.b, "{\"items\":[");
	r = ck_store_job_list(
	    c->st, ck_http_query(c, "kind"), on_job, &l, &err);
	if (r < 0) {
		ck_buf_release(&l.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_printf(
	    &l.b, "],\"truncated\":%s}\n", l.truncated ? "true" : "false");
	ck_http_reply_buf(c, 200, "application/json", &l.b);
}
