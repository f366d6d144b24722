/*
 * Small REST resources: health and readiness, the OpenAPI document,
 * inventory stats, the audit log, and API tokens (admin only); plus the
 * bearer-token check the server calls for every protected route.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/mem.h"

int
ck_api_authenticate(void *arg, struct ck_store *st, const char *bearer,
    int64_t now, struct ck_http_auth *out, struct ck_err *err)
{
	struct ck_token_info t;
	int r;

	(void)arg;
	if ((r = ck_token_check(st, bearer, now, &t, err)) != 0)
		return r;
	switch (t.role) {
	case CK_ROLE_ADMIN: out->role = CK_ACCESS_ADMIN; break;
	case CK_ROLE_OPERATOR: out->role = CK_ACCESS_OPERATOR; break;
	case CK_ROLE_ENROLLER: out->role = CK_ACCESS_ENROLLER; break;
	default: out->role = CK_ACCESS_AUDITOR; break;
	}
	snprintf(out->actor, sizeof(out->actor), "token:%s", t.name);
	snprintf(out->pattern, sizeof(out->pattern), "%s", t.pattern);
	return 0;
}

int
ck_api_want_json(struct ck_http_ctx *c)
{
	const char *ct = ck_http_header(c, "Content-Type");

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
		ck_http_problem(c, 415, "unsupported-media-type",
		    "the body must be application/json");
		return -1;
	}
	return 0;
}

void
ck_api_healthz(struct ck_http_ctx *c)
{
	ck_http_reply(c, 200, "text/plain", "ok\n", 3);
}

void
ck_api_readyz(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	int v = 0;

	if (ck_store_schema_version(c->st, &v, &err) != 0) {
		ck_http_problem(c, 503, "unavailable", "database: %s", err.msg);
		return;
	}
	ck_buf_printf(&b, "{\"status\":\"ready\",\"schema\":%d}\n", v);
	ck_http_reply_buf(c, 200, "application/json", &b);
}

void
ck_api_openapi(struct ck_http_ctx *c)
{
	ck_http_set_header(c, "Cache-Control", "public, max-age=300");
	ck_http_reply(c, 200, "application/yaml", ck_api_openapi_yaml,
	    strlen(ck_api_openapi_yaml));
}

static void
counts_json(struct ck_buf *b, bool *first, const char *key,
    const struct ck_count *v, size_t n)
{
	ck_json_sep(b, first);
	ck_json_key(b, key);
	ck_buf_addc(b, '{');
	bool f = true;
	for (size_t i = 0; i < n; i++)
		ck_json_kv_int(b, &f, v[i].key, v[i].n);
	ck_buf_addc(b, '}');
}

void
ck_api_stats(struct ck_http_ctx *c)
{
	struct ck_stats *s = NULL;
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	bool f = true, g = true;
	int r;

	if ((r = ck_store_stats(c->st, c->now, &s, &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_addc(&b, '{');
	ck_json_kv_int(&b, &f, "total", s->total);
	ck_json_sep(&b, &f);
	ck_json_key(&b, "expiry");
	ck_buf_addc(&b, '{');
	ck_json_kv_int(&b, &g, "expired", s->expired);
	ck_json_kv_int(&b, &g, "lt7d", s->lt7d);
	ck_json_kv_int(&b, &g, "lt30d", s->lt30d);
	ck_json_kv_int(&b, &g, "lt90d", s->lt90d);
	ck_json_kv_int(&b, &g, "later", s->later);
	ck_buf_addc(&b, '}');
	counts_json(&b, &f, "by_issuer", s->by_issuer, s->n_issuer);
	counts_json(&b, &f, "by_key", s->by_key, s->n_key);
	counts_json(&b, &f, "by_signature", s->by_sig, s->n_sig);
	ck_buf_adds(&b, "}\n");
	ck_stats_free(s);
	ck_http_reply_buf(c, 200, "application/json", &b);
}

/* ---- events ---- */

struct events {
	struct ck_buf b;
	bool first;
	const char *actor, *object, *action;
	int64_t limit, n;
};

static int
on_event(void *ctx, const struct ck_event *ev)
{
	struct events *e = ctx;
	bool f = true;

	if ((e->actor && strcmp(e->actor, ev->actor) != 0) ||
	    (e->object && strcmp(e->object, ev->object ? ev->object : "")) ||
	    (e->action && strcmp(e->action, ev->action) != 0))
		return 0;
	ck_json_sep(&e->b, &e->first);
	ck_buf_addc(&e->b, '{');
	ck_json_kv_int(&e->b, &f, "id", ev->id);
	ck_json_kv_time(&e->b, &f, "at", ev->at);
	ck_json_kv_str(&e->b, &f, "actor", ev->actor);
	ck_json_kv_str(&e->b, &f, "action", ev->action);
	ck_json_kv_str(&e->b, &f, "object", ev->object);
	ck_json_kv_str(&e->b, &f, "detail", ev->detail);
	ck_buf_addc(&e->b, '}');
	return ++e->n >= e->limit ? 1 : 0;
}

/* A time bound: RFC 3339, a date, or "-30d" style offsets from now. */
static int
time_arg(struct ck_http_ctx *c, const char *name, int64_t *out)
{
	const char *v = ck_http_query(c, name);
	int64_t d;

	*out = 0;
	if (v == NULL)
		return 0;
	if (v[0] == '-' && ck_duration_parse(v + 1, &d) == 0) {
		*out = c->now - d;
		return 0;
	}
	if (ck_time_parse(v, out) == 0)
		return 0;
	ck_http_problem(c, 400, "bad-request",
	    "%s: '%s' is not a time (RFC 3339, YYYY-MM-DD, or -30d)", name, v);
	return -1;
}

int
ck_api_limit(struct ck_http_ctx *c, int64_t def, int64_t max, int64_t *out)
{
	const char *v = ck_http_query(c, "limit");
	char *end;

	*out = def;
	if (v == NULL)
		return 0;
	long long n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < 1 || n > max) {
		ck_http_problem(c, 400, "bad-request",
		    "limit: want a number from 1 to %lld", (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}

void
ck_api_events(struct ck_http_ctx *c)
{
	static const char *const known[] = {
	    "from", "to", "actor", "object", "action", "limit", NULL};
	struct events e = {CK_BUF_INIT, true, NULL, NULL, NULL, 0, 0};
	struct ck_err err = {0};
	const char *bad;
	int64_t from, to;
	int r;

	if (ck_http_query_unknown(c, known, &bad)) {
		ck_http_problem(
		    c, 400, "bad-request", "unknown parameter '%s'", bad);
		return;
	}
	if (time_arg(c, "from", &from) != 0 || time_arg(c, "to", &to) != 0 ||
	    ck_api_limit(c, 1000, 10000, &e.limit) != 0)
		return;
	e.actor = ck_http_query(c, "actor");
	e.object = ck_http_query(c, "object");
	e.action = ck_http_query(c, "action");
	ck_buf_adds(&e.b, "{\"items\":[");
	r = ck_store_events(c->st, from, to, 0, on_event, &e, &err);
	if (r < 0) {
		ck_buf_release(&e.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_adds(&e.b, "]}\n");
	ck_http_reply_buf(c, 200, "application/json", &e.b);
}

/* ---- tokens ---- */

static int
on_token(void *ctx, const struct ck_token_row *t)
{
	struct events *e = ctx;
	bool f = true;

	ck_json_sep(&e->b, &e->first);
	ck_buf_addc(&e->b, '{');
	ck_json_kv_int(&e->b, &f, "id", t->id);
	ck_json_kv_str(&e->b, &f, "name", t->name);
	ck_json_kv_str(&e->b, &f, "role", t->role);
	if (t->pattern != NULL)
		ck_json_kv_str(&e->b, &f, "pattern", t->pattern);
	ck_json_kv_time(&e->b, &f, "created", t->created_at);
	if (t->expires_at)
		ck_json_kv_time(&e->b, &f, "expires", t->expires_at);
	if (t->revoked_at)
		ck_json_kv_time(&e->b, &f, "revoked", t->revoked_at);
	if (t->last_used_at)
		ck_json_kv_time(&e->b, &f, "last_used", t->last_used_at);
	ck_buf_addc(&e->b, '}');
	return 0;
}

void
ck_api_tokens_list(struct ck_http_ctx *c)
{
	struct events e = {CK_BUF_INIT, true, NULL, NULL, NULL, 0, 0};
	struct ck_err err = {0};
	const char *all = ck_http_query(c, "all");
	int r;

	ck_buf_adds(&e.b, "{\"items\":[");
	r = ck_store_token_list(
	    c->st, all && strcmp(all, "true") == 0, c->now, on_token, &e, &err);
	if (r != 0) {
		ck_buf_release(&e.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_adds(&e.b, "]}\n");
	ck_http_reply_buf(c, 200, "application/json", &e.b);
}

void
ck_api_token_revoke(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	int64_t id;
	bool already;
	int r;

	r = ck_token_revoke(
	    c->st, ck_http_param(c, 0), c->auth.actor, &id, &already, &err);
	if (r != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	struct ck_buf b = CK_BUF_INIT;
	ck_buf_printf(&b, "{\"id\":%lld,\"revoked\":true,\"already\":%s}\n",
	    (long long)id, already ? "true" : "false");
	ck_http_reply_buf(c, 200, "application/json", &b);
}

void
ck_api_token_create(struct ck_http_ctx *c)
{
	static const char *const known[] = {
	    "name", "role", "pattern", "expires", NULL};
	struct ck_token_spec spec = {0};
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	const char *role = NULL, *expires = NULL;
	char token[CK_TOKEN_LEN + 1];
	json_t *j = NULL;
	int64_t id, d;
	bool f = true;
	int r;

	if (ck_api_json_body(c, known, &j) != 0)
		return;
	if ((r = ck_api_json_str(j, "name", true, &spec.name, &err)) != 0 ||
	    (r = ck_api_json_str(j, "role", true, &role, &err)) != 0 ||
	    (r = ck_api_json_str(j, "pattern", false, &spec.pattern, &err)) !=
	        0 ||
	    (r = ck_api_json_str(j, "expires", false, &expires, &err)) != 0)
		goto fail;
	if (ck_role_parse(role, &spec.role) != 0) {
		r = ck_err_set(&err, CK_E_INVAL,
		    "role: want admin, operator, enroller or auditor");
		goto fail;
	}
	if (expires != NULL) {
		if (strchr(expires, '-') != NULL
		        ? ck_time_parse(expires, &spec.expires_at) != 0
		        : ck_duration_parse(expires, &d) != 0) {
			r = ck_err_set(&err, CK_E_INVAL,
			    "expires: want a duration (90d) or a date");
			goto fail;
		}
		if (strchr(expires, '-') == NULL)
			spec.expires_at = c->now + d;
	}
	spec.actor = c->auth.actor;
	if ((r = ck_token_create(c->st, &spec, token, &id, &err)) != 0)
		goto fail;
	ck_buf_addc(&b, '{');
	ck_json_kv_int(&b, &f, "id", id);
	ck_json_kv_str(&b, &f, "name", spec.name);
	ck_json_kv_str(&b, &f, "role", ck_role_name(spec.role));
	ck_json_kv_str(&b, &f, "token", token);
	ck_buf_adds(&b, "}\n");
	ck_cleanse(token, sizeof(token));
	ck_http_reply(c, 201, "application/json", b.p, b.len);
	ck_buf_release_secret(&b);
	json_decref(j);
	return;
fail:
	json_decref(j);
	ck_http_problem_err(c, r, &err);
}
