/*
 * /api/v1/certificates: the inventory over REST. Lists take the same
 * filters as `certkeep list` and page by id (keyset, so page 1000 costs
 * what page 1 does); one certificate as JSON, PEM or PEM chain; its
 * locations; import of PEM/DER bodies; revocation.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "base/clock.h"
#include "base/json.h"
#include "ca/ca.h"
#include "lifecycle/revoke.h"
#include "x509/x509.h"

struct rows {
	struct ck_buf b;
	bool first;
	int64_t now, n, last_id;
};

static int
on_list_row(void *ctx, const struct ck_cert_row *r)
{
	struct rows *l = ctx;

	ck_json_sep(&l->b, &l->first);
	ck_api_cert_json(r, l->now, &l->b);
	l->n++;
	l->last_id = r->id;
	return 0;
}

/* expires_before / expires_after: RFC 3339, a date, or "30d" from now. */
static int
bound(struct ck_http_ctx *c, const char *name, int64_t *out)
{
	const char *v = ck_http_query(c, name);
	int64_t d;

	*out = 0;
	if (v == NULL)
		return 0;
	if (ck_time_parse(v, out) == 0)
		return 0;
	if (ck_duration_parse(v, &d) == 0) {
		*out = c->now + d;
		return 0;
	}
	ck_http_problem(c, 400, "bad-request",
	    "%s: '%s' is not a time (RFC 3339, YYYY-MM-DD) or a duration "
	    "from now (30d)",
	    name, v);
	return -1;
}

void
ck_api_certs_list(struct ck_http_ctx *c)
{
	static const char *const known[] = {"name", "issuer", "key_type", "ca",
	    "expires_before", "expires_after", "expired", "limit", "after",
	    "sort", NULL};
	struct ck_cert_filter f = {0};
	struct rows l = {CK_BUF_INIT, true, c->now, 0, 0};
	struct ck_err err = {0};
	const char *bad, *v;
	int64_t total = 0;
	int r;

	if (ck_http_query_unknown(c, known, &bad)) {
		ck_http_problem(
		    c, 400, "bad-request", "unknown parameter '%s'", bad);
		return;
	}
	f.ca = -1;
	f.sort = CK_SORT_ID;
	f.name = ck_http_query(c, "name");
	f.issuer = ck_http_query(c, "issuer");
	f.key_type = ck_http_query(c, "key_type");
	if ((v = ck_http_query(c, "ca")) != NULL) {
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
			ck_http_problem(
			    c, 400, "bad-request", "ca: want true or false");
			return;
		}
		f.ca = strcmp(v, "true") == 0;
	}
	if (bound(c, "expires_before", &f.not_after_max) != 0 ||
	    bound(c, "expires_after", &f.not_after_min) != 0 ||
	    ck_api_limit(c, 100, 1000, &f.limit) != 0)
		return;
	if ((v = ck_http_query(c, "expired")) != NULL) {
		if (strcmp(v, "true") == 0)
			f.not_after_max = c->now;
		else if (strcmp(v, "false") == 0)
			f.not_after_min = c->now;
		else {
			ck_http_problem(c, 400, "bad-request",
			    "expired: want true or false");
			return;
		}
	}
	if ((v = ck_http_query(c, "sort")) != NULL) {
		if (strcmp(v, "expiry") == 0)
			f.sort = CK_SORT_EXPIRY;
		else if (strcmp(v, "id") != 0) {
			ck_http_problem(
			    c, 400, "bad-request", "sort: want id or expiry");
			return;
		}
	}
	if ((v = ck_http_query(c, "after")) != NULL) {
		char *end;
		f.after_id = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || f.after_id < 0 ||
		    f.sort != CK_SORT_ID) {
			ck_http_problem(c, 400, "bad-request",
			    "after: want the 'next' value of the previous page "
			    "(paging is by id)");
			return;
		}
	}
	ck_buf_adds(&l.b, "{\"items\":[");
	if ((r = ck_store_cert_list(c->st, &f, on_list_row, &l, &err)) < 0 ||
	    (r = ck_store_cert_count(c->st, &f, &total, &err)) < 0) {
		ck_buf_release(&l.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_printf(&l.b, "],\"total\":%lld,\"next\":", (long long)total);
	if (f.sort == CK_SORT_ID && l.n == f.limit)
		ck_buf_printf(&l.b, "\"%lld\"", (long long)l.last_id);
	else
		ck_buf_adds(&l.b, "null");
	ck_buf_adds(&l.b, "}\n");
	ck_http_reply_buf(c, 200, "application/json", &l.b);
}

static int
find(struct ck_http_ctx *c, int64_t *id)
{
	struct ck_err err = {0};
	int r = ck_store_cert_find(c->st, ck_http_param(c, 0), id, &err);

	if (r != 0)
		ck_http_problem_err(c, r, &err);
	return r;
}

struct one {
	struct ck_buf b;
	int64_t now;
	int mode; /* 0 json, 1 pem, 2 chain */
};

static int
on_one(void *ctx, const struct ck_cert_row *r)
{
	struct one *o = ctx;

	if (o->mode == 0)
		ck_api_cert_json(r, o->now, &o->b);
	else
		ck_pem_encode("CERTIFICATE", r->der, r->der_len, &o->b);
	return 0;
}

void
ck_api_cert_get(struct ck_http_ctx *c)
{
	struct one o = {CK_BUF_INIT, c->now, 0};
	struct ck_err err = {0};
	const char *fmt = ck_http_query(c, "format");
	const char *acc = ck_http_header(c, "Accept");
	int64_t id;
	int r;

	if (fmt == NULL && acc != NULL &&
	    strstr(acc, "application/pem-certificate-chain") != NULL)
		fmt = "chain";
	if (fmt != NULL && strcmp(fmt, "json") != 0) {
		if (strcmp(fmt, "pem") == 0)
			o.mode = 1;
		else if (strcmp(fmt, "chain") == 0)
			o.mode = 2;
		else {
			ck_http_problem(c, 400, "bad-request",
			    "format: want json, pem or chain");
			return;
		}
	}
	if (find(c, &id) != 0)
		return;
	if (o.mode == 2)
		r = ck_store_chain(c->st, id, on_one, &o, &err);
	else
		r = ck_store_cert_get(c->st, id, on_one, &o, &err);
	if (r < 0) {
		ck_buf_release(&o.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	if (o.mode == 0)
		ck_buf_addc(&o.b, '\n');
	ck_http_reply_buf(c, 200,
	    o.mode == 0       ? "application/json"
	        : o.mode == 1 ? "application/x-pem-file"
	                      : "application/pem-certificate-chain",
	    &o.b);
}

struct locs {
	struct ck_buf b;
	bool first;
};

static int
on_loc(void *ctx, const struct ck_location *loc)
{
	struct locs *l = ctx;
	bool f = true;

	ck_json_sep(&l->b, &l->first);
	ck_buf_addc(&l->b, '{');
	ck_json_kv_str(&l->b, &f, "kind", loc->kind);
	ck_json_kv_str(&l->b, &f, "place", loc->place);
	ck_json_kv_time(&l->b, &f, "first_seen", loc->first_seen);
	ck_json_kv_time(&l->b, &f, "last_seen", loc->last_seen);
	ck_json_kv_bool(&l->b, &f, "present", loc->present);
	ck_buf_addc(&l->b, '}');
	return 0;
}

void
ck_api_cert_locations(struct ck_http_ctx *c)
{
	struct locs l = {CK_BUF_INIT, true};
	struct ck_err err = {0};
	int64_t id;
	int r;

	if (find(c, &id) != 0)
		return;
	ck_buf_adds(&l.b, "{\"items\":[");
	if ((r = ck_store_locations(c->st, id, on_loc, &l, &err)) < 0) {
		ck_buf_release(&l.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_adds(&l.b, "]}\n");
	ck_http_reply_buf(c, 200, "application/json", &l.b);
}

/* ---- import ---- */

struct import {
	struct ck_http_ctx *c;
	struct ck_buf b;
	bool first;
	int64_t n_new, n_known, n_skipped;
	struct ck_err err;
	int r;
};

static int
on_item(void *ctx, const struct ck_item *it)
{
	struct import *im = ctx;
	struct ck_cert *cert = NULL;
	int64_t id;
	bool is_new, f = true;

	if (it->kind != CK_ITEM_CERT || it->der == NULL) {
		im->n_skipped++;
		return 0;
	}
	if (ck_x509_parse(
	        it->der, it->der_len, CK_PARSE_CORE, &cert, &im->err) != 0) {
		im->n_skipped++;
		return 0;
	}
	im->r = ck_store_cert_put(
	    im->c->st, cert, im->c->now, &id, &is_new, &im->err);
	if (im->r == 0)
		im->r = ck_store_location_put(im->c->st, id, "api",
		    im->c->auth.actor, im->c->now, &im->err);
	ck_cert_free(cert);
	if (im->r != 0)
		return 1;
	is_new ? im->n_new++ : im->n_known++;
	ck_json_sep(&im->b, &im->first);
	ck_buf_addc(&im->b, '{');
	ck_json_kv_int(&im->b, &f, "id", id);
	ck_json_kv_bool(&im->b, &f, "new", is_new);
	ck_buf_addc(&im->b, '}');
	return 0;
}

void
ck_api_certs_import(struct ck_http_ctx *c)
{
	struct import im = {c, CK_BUF_INIT, true, 0, 0, 0, {0}, 0};
	struct ck_ingest_opts io = {0};
	const uint8_t *body;
	size_t len;
	char detail[128];
	int r;

	body = ck_http_body(c, &len);
	if (len == 0) {
		ck_http_problem(c, 400, "bad-request",
		    "empty body: send PEM or DER certificates");
		return;
	}
	if ((r = ck_store_begin(c->st, &im.err)) != 0) {
		ck_http_problem_err(c, r, &im.err);
		return;
	}
	ck_buf_adds(&im.b, "{\"items\":[");
	r = ck_x509_ingest(body, len, &io, on_item, &im, &im.err);
	if (im.r != 0)
		r = im.r;
	if (r == 0 && im.n_new + im.n_known == 0)
		r = ck_err_set(&im.err, CK_E_PARSE,
		    "no certificate in the body (PEM or DER)");
	snprintf(detail, sizeof(detail), "%lld new, %lld known",
	    (long long)im.n_new, (long long)im.n_known);
	if (r == 0)
		r = ck_store_event_add(c->st, c->auth.actor, "import",
		    "inventory", detail, &im.err);
	if (r == 0)
		r = ck_store_commit(c->st, &im.err);
	if (r != 0) {
		ck_store_rollback(c->st);
		ck_buf_release(&im.b);
		ck_http_problem_err(c, r, &im.err);
		return;
	}
	ck_buf_printf(&im.b,
	    "],\"new\":%lld,\"known\":%lld,\"skipped\":%lld}\n",
	    (long long)im.n_new, (long long)im.n_known,
	    (long long)im.n_skipped);
	ck_http_reply_buf(
	    c, im.n_new > 0 ? 201 : 200, "application/json", &im.b);
}

/* ---- revoke ---- */

void
ck_api_cert_revoke(struct ck_http_ctx *c)
{
	static const char *const known[] = {"reason", NULL};
	struct ck_revoke_res res;
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	const char *reason_s = NULL;
	json_t *j = NULL;
	int64_t id;
	int r, reason = 0;
	bool f = true;

	if (ck_http_body(c, &(size_t){0}) != NULL) {
		if (ck_api_json_body(c, known, &j) != 0)
			return;
		if (ck_api_json_str(j, "reason", false, &reason_s, &err) != 0 ||
		    (reason_s != NULL &&
		        ck_crl_reason_parse(reason_s, &reason) != 0 &&
		        ck_err_set(&err, CK_E_INVAL,
		            "reason: unknown '%.64s' (RFC 5280 names, e.g. "
		            "keyCompromise)",
		            reason_s))) {
			json_decref(j);
			ck_http_problem(c, 400, "bad-request", "%s", err.msg);
			return;
		}
	}
	json_decref(j);
	if (find(c, &id) != 0)
		return;
	if ((r = ck_revoke(c->st, id, reason, c->auth.actor,
	         ck_config_str(c->cfg, CK_CFG_MASTER_KEY), &res, &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	if (!res.already)
		atomic_fetch_add(&ck_api_revoked_total, 1);
	ck_buf_addc(&b, '{');
	ck_json_kv_int(&b, &f, "id", id);
	ck_json_kv_str(&b, &f, "ca", res.ca);
	ck_json_kv_str(&b, &f, "serial", res.serial);
	ck_json_kv_time(&b, &f, "revoked_at", res.revoked_at);
	ck_json_kv_bool(&b, &f, "already", res.already);
	if (!res.already)
		ck_json_kv_str(
		    &b, &f, "reason", ck_crl_reason_name(res.reason));
	if (res.crl_failed)
		ck_json_kv_str(&b, &f, "crl_error", res.crl_err.msg);
	ck_buf_adds(&b, "}\n");
	ck_http_reply_buf(c, 200, "application/json", &b);
}
