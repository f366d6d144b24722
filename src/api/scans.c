/*
 * /api/v1/scans: saved scans (net, files, ssh) the daemon runs on their
 * schedule:
 * define, list (with the last run's figures), run now, results of the
 * last run, delete. The scans themselves run in the scheduler's thread.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "base/clock.h"
#include "base/json.h"
#include "discovery/netscan.h"

struct list {
	struct ck_buf b;
	bool first;
};

static int
on_def(void *ctx, const struct ck_scan_def *d)
{
	struct list *l = ctx;
	bool f = true;

	ck_json_sep(&l->b, &l->first);
	ck_buf_addc(&l->b, '{');
	ck_json_kv_str(&l->b, &f, "name", d->name);
	ck_json_kv_str(&l->b, &f, "kind", d->kind);
	ck_json_kv_str(&l->b, &f, "targets", d->targets);
	ck_json_kv_str(&l->b, &f, "ports", d->ports);
	if (d->sni[0])
		ck_json_kv_str(&l->b, &f, "sni", d->sni);
	ck_json_kv_int(&l->b, &f, "every_seconds", d->every);
	ck_json_kv_time(&l->b, &f, "next_run", d->next_run);
	ck_json_kv_time(&l->b, &f, "created", d->created);
	ck_json_kv_str(&l->b, &f, "created_by", d->actor);
	if (d->last_scan > 0) {
		ck_json_kv_int(&l->b, &f, "last_scan", d->last_scan);
		if (d->last_finished > 0)
			ck_json_kv_time(
			    &l->b, &f, "last_finished", d->last_finished);
		if (d->last_counts != NULL) {
			ck_json_sep(&l->b, &f);
			ck_json_key(&l->b, "last_counts");
			ck_buf_adds(&l->b, d->last_counts);
		}
	}
	ck_buf_addc(&l->b, '}');
	return 0;
}

void
ck_api_scans_list(struct ck_http_ctx *c)
{
	struct list l = {CK_BUF_INIT, true};
	struct ck_err err = {0};
	int r;

	ck_buf_adds(&l.b, "{\"items\":[");
	if ((r = ck_store_scan_def_list(c->st, NULL, on_def, &l, &err)) < 0) {
		ck_buf_release(&l.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_adds(&l.b, "]}\n");
	ck_http_reply_buf(c, 200, "application/json", &l.b);
}

/* Space-joined target specs, each checked. */
static int
targets_of(json_t *v, struct ck_buf *out, struct ck_err *err)
{
	const char *specs[256];
	struct ck_targets *t;
	size_t i, n = 0;
	json_t *s;
	int r;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > 256)
		return ck_err_set(err, CK_E_INVAL,
		    "targets: want an array of 1 to 256 strings");
	json_array_foreach(v, i, s)
	{
		if (!json_is_string(s) || strchr(json_string_value(s), ' '))
			return ck_err_set(err, CK_E_INVAL,
			    "targets: want strings without spaces");
		specs[n++] = json_string_value(s);
		ck_buf_printf(out, "%s%s", i ? " " : "", json_string_value(s));
	}
	if ((r = ck_targets_new(specs, n, &t, err)) != 0)
		return r;
	ck_targets_free(t);
	return 0;
}

/* Space-joined absolute paths (files and ssh scans). */
static int
paths_of(json_t *v, struct ck_buf *out, struct ck_err *err)
{
	size_t i;
	json_t *s;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > 256)
		return ck_err_set(err, CK_E_INVAL,
		    "targets: want an array of 1 to 256 paths");
	json_array_foreach(v, i, s)
	{
		const char *p = json_is_string(s) ? json_string_value(s) : "";
		if (p[0] != '/' || strpbrk(p, " \t\n") != NULL ||
		    strlen(p) > 1024)
			return ck_err_set(err, CK_E_INVAL,
			    "targets: want absolute paths without spaces");
		ck_buf_printf(out, "%s%s", i ? " " : "", p);
	}
	return 0;
}

void
ck_api_scan_create(struct ck_http_ctx *c)
{
	static const char *const known[] = {
	    "name", "kind", "targets", "ports", "sni", "every", NULL};
	struct ck_scan_def d = {0};
	struct ck_buf targets = CK_BUF_INIT, sni = CK_BUF_INIT;
	struct ck_err err = {0};
	const char *every = NULL;
	json_t *j = NULL, *v;
	int64_t id;
	int r;

	if (ck_api_json_body(c, known, &j) != 0)
		return;
	if ((r = ck_api_json_str(j, "name", true, &d.name, &err)) != 0 ||
	    (r = ck_api_json_str(j, "kind", false, &d.kind, &err)) != 0 ||
	    (r = ck_api_json_str(j, "ports", false, &d.ports, &err)) != 0 ||
	    (r = ck_api_json_str(j, "every", false, &every, &err)) != 0)
		goto fail;
	if (d.kind == NULL)
		d.kind = "net";
	if (strcmp(d.kind, "net") == 0) {
		r = targets_of(json_object_get(j, "targets"), &targets, &err);
	} else if (strcmp(d.kind, "files") == 0 || strcmp(d.kind, "ssh") == 0) {
		r = paths_of(json_object_get(j, "targets"), &targets, &err);
		if (r == 0 &&
		    (d.ports != NULL || json_object_get(j, "sni") != NULL))
			r = ck_err_set(&err, CK_E_INVAL,
			    "ports and sni are for net scans");
	} else {
		r = ck_err_set(
		    &err, CK_E_INVAL, "kind: want net, files or ssh");
	}
	if (r != 0)
		goto fail;
	if (strlen(d.name) == 0 || strlen(d.name) > 64 ||
	    strspn(d.name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
	        strlen(d.name)) {
		r = ck_err_set(&err, CK_E_INVAL,
		    "name: 1 to 64 lower-case letters, digits, '-', '_', '.'");
		goto fail;
	}
	if (d.ports != NULL && *d.ports) {
		int *p;
		size_t n;
		if ((r = ck_ports_parse(d.ports, &p, &n, &err)) != 0)
			goto fail;
		free(p);
	}
	if ((v = json_object_get(j, "sni")) != NULL) {
		size_t i;
		json_t *s;
		if (!json_is_array(v) || json_array_size(v) > 64) {
			r = ck_err_set(&err, CK_E_INVAL, "sni: want an array");
			goto fail;
		}
		json_array_foreach(v, i, s)
		{
			if (!json_is_string(s) ||
			    strpbrk(json_string_value(s), ", ")) {
				r = ck_err_set(&err, CK_E_INVAL,
				    "sni: want names without ',' or spaces");
				goto fail;
			}
			ck_buf_printf(
			    &sni, "%s%s", i ? "," : "", json_string_value(s));
		}
	}
	d.every = 86400;
	if (every != NULL &&
	    (ck_duration_parse(every, &d.every) != 0 || d.every < 60)) {
		r = ck_err_set(&err, CK_E_INVAL,
		    "every: a duration of at least 1m (15m, 6h, 1d)");
		goto fail;
	}
	d.targets = targets.p;
	d.ports = d.ports ? d.ports : "";
	d.sni = sni.p ? sni.p : "";
	d.next_run = c->now; /* first run right away */
	d.created = c->now;
	d.actor = c->auth.actor;
	if ((r = ck_store_begin(c->st, &err)) != 0)
		goto fail;
	if ((r = ck_store_scan_def_add(c->st, &d, &id, &err)) != 0 ||
	    (r = ck_store_event_add(c->st, c->auth.actor, "scan.define", d.name,
	         d.targets, &err)) != 0 ||
	    (r = ck_store_commit(c->st, &err)) != 0) {
		ck_store_rollback(c->st);
		goto fail;
	}
	ck_scan_scheduler_wake();
	{
		struct list l = {CK_BUF_INIT, true};
		(void)ck_store_scan_def_list(c->st, d.name, on_def, &l, NULL);
		ck_buf_addc(&l.b, '\n');
		ck_http_reply_buf(c, 201, "application/json", &l.b);
	}
	goto out;
fail:
	ck_http_problem_err(c, r, &err);
out:
	ck_buf_release(&targets);
	ck_buf_release(&sni);
	json_decref(j);
}

void
ck_api_scan_run(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	int r;

	if ((r = ck_store_scan_def_schedule(
	         c->st, ck_http_param(c, 0), c->now, 0, &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_scan_scheduler_wake();
	ck_http_reply(c, 202, "application/json", "{\"queued\":true}\n", 16);
}

void
ck_api_scan_delete(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	int r;

	if ((r = ck_store_begin(c->st, &err)) != 0)
		goto fail;
	if ((r = ck_store_scan_def_delete(c->st, ck_http_param(c, 0), &err)) !=
	        0 ||
	    (r = ck_store_event_add(c->st, c->auth.actor, "scan.delete",
	         ck_http_param(c, 0), "", &err)) != 0 ||
	    (r = ck_store_commit(c->st, &err)) != 0) {
		ck_store_rollback(c->st);
		goto fail;
	}
	ck_http_reply(c, 200, "application/json", "{\"deleted\":true}\n", 17);
	return;
fail:
	ck_http_problem_err(c, r, &err);
}

struct results {
	struct ck_buf b;
	bool first;
	int64_t last;
	const char *counts_copy;
	char *counts;
	int64_t finished;
};

static int
on_last(void *ctx, const struct ck_scan_def *d)
{
	struct results *x = ctx;

	x->last = d->last_scan;
	x->finished = d->last_finished;
	x->counts = d->last_counts ? strdup(d->last_counts) : NULL;
	return 0;
}

static int
on_row(void *ctx, const char *place, const char *status, int64_t cert_id,
    int64_t ssh_key_id)
{
	struct results *x = ctx;
	bool f = true;

	ck_json_sep(&x->b, &x->first);
	ck_buf_addc(&x->b, '{');
	ck_json_kv_str(&x->b, &f, "endpoint", place);
	ck_json_kv_str(&x->b, &f, "status", status);
	if (cert_id > 0)
		ck_json_kv_int(&x->b, &f, "cert_id", cert_id);
	if (ssh_key_id > 0)
		ck_json_kv_int(&x->b, &f, "ssh_key_id", ssh_key_id);
	ck_buf_addc(&x->b, '}');
	return 0;
}

void
ck_api_scan_results(struct ck_http_ctx *c)
{
	struct results x = {CK_BUF_INIT, true, 0, NULL, NULL, 0};
	struct ck_err err = {0};
	int r;

	if ((r = ck_store_scan_def_list(
	         c->st, ck_http_param(c, 0), on_last, &x, &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	if (x.last == 0 || x.finished == 0) {
		free(x.counts);
		ck_http_problem(c, 404, "not-found",
		    "saved scan '%s' has not finished a run yet",
		    ck_http_param(c, 0));
		return;
	}
	ck_buf_printf(&x.b, "{\"scan\":%lld,", (long long)x.last);
	{
		bool f = true;
		ck_json_kv_time(&x.b, &f, "finished", x.finished);
	}
	ck_buf_printf(&x.b, ",\"counts\":%s,\"endpoints\":[",
	    x.counts ? x.counts : "null");
	free(x.counts);
	if ((r = ck_store_scan_rows(c->st, x.last, on_row, &x, &err)) != 0) {
		ck_buf_release(&x.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_adds(&x.b, "]}\n");
	ck_http_reply_buf(c, 200, "application/json", &x.b);
}
