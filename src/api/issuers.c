/*
 * /api/v1/issuers: the issuer connectors managed certificates come from
 * (src/issuer), by name: list, show, define, delete, as `certkeep issuer`
 * does. Secrets (the EAB HMAC key, the ACME account key) go in sealed
 * and never come back out: a row shows only whether it has them.
 */
#include "api/api.h"

#include <string.h>

#include "api/body.h"
#include "base/json.h"
#include "lifecycle/managed.h"

struct list {
	struct ck_buf b;
	bool first;
};

static int
on_issuer(void *ctx, const struct ck_issuer_row *r)
{
	struct list *l = ctx;

	ck_json_sep(&l->b, &l->first);
	return ck_issuer_row_json(r, &l->b);
}

void
ck_api_issuers_list(struct ck_http_ctx *c)
{
	struct list l = {CK_BUF_INIT, true};
	struct ck_err err = {0};
	int r;

	ck_buf_adds(&l.b, "{\"items\":[");
	if ((r = ck_store_issuer_list(c->st, NULL, on_issuer, &l, &err)) < 0) {
		ck_buf_release(&l.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_adds(&l.b, "]}\n");
	ck_http_reply_buf(c, 200, "application/json", &l.b);
}

/* Sends name's row with status (200, or 201 after a create). */
static void
reply_one(struct ck_http_ctx *c, const char *name, int status)
{
	struct list l = {CK_BUF_INIT, true};
	struct ck_err err = {0};
	int r;

	if ((r = ck_store_issuer_list(c->st, name, on_issuer, &l, &err)) < 0) {
		ck_buf_release(&l.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_addc(&l.b, '\n');
	ck_http_reply_buf(c, status, "application/json", &l.b);
}

void
ck_api_issuer_get(struct ck_http_ctx *c)
{
	reply_one(c, ck_http_param(c, 0), 200);
}

void
ck_api_issuer_create(struct ck_http_ctx *c)
{
	struct ck_issuer_def d;
	struct ck_err err = {0};
	struct ck_buf loc = CK_BUF_INIT;
	json_t *j = NULL;
	int r;

	if (ck_api_json_body(c, ck_api_issuer_fields, &j) != 0)
		return;
	r = ck_api_issuer_decode(j, &d, &err);
	json_decref(j);
	if (r == 0)
		r = ck_issuer_create(c->st, &d,
		    ck_config_str(c->cfg, CK_CFG_MASTER_KEY), c->auth.actor,
		    &err);
	if (r != 0) {
		ck_http_problem_err(c, r, &err);
		ck_issuer_def_release(&d);
		return;
	}
	ck_buf_printf(&loc, "/api/v1/issuers/%s", d.name);
	ck_http_set_header(c, "Location", loc.p);
	reply_one(c, d.name, 201);
	ck_buf_release(&loc);
	ck_issuer_def_release(&d);
}

void
ck_api_issuer_delete(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	int r;

	r = ck_issuer_remove(c->st, ck_http_param(c, 0), c->auth.actor, &err);
	if (r == CK_E_PERM) {
		/* The store refuses while managed certificates use it: a
		 * conflict with the resource's state, not a missing right. */
		ck_http_problem(c, 409, "conflict", "%s", err.msg);
		return;
	}
	if (r != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_http_reply(c, 200, "application/json", "{\"deleted\":true}\n", 17);
}
