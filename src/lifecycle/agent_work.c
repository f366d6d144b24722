/*
 * What an agent does for the server (agent.h): the work list of its host,
 * issuance of a managed certificate it holds for the CSR it sends (only
 * its own host's: another host's certificate is CK_E_PERM and changes
 * nothing), and the deployment and scan reports, recorded in the target
 * rows, the inventory and the audit log as the server's own are.
 */
#include "lifecycle/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/json.h"
#include "base/mem.h"
#include "issuer/issuer.h"
#include "lifecycle/deploy.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/managed.h"
#include "store/managed.h"
#include "x509/x509.h"

static int
add_name(void *ctx, const char *name)
{
	ck_strlist_add(ctx, name);
	return 0;
}

/* ---- the work list ---- */

struct one {
	struct ck_buf *b;
	int64_t now;
	bool found;
};

static void
sans_json(struct ck_buf *b, const char *sans)
{
	bool first = true;

	ck_buf_addc(b, '[');
	while (*sans) {
		size_t n = strcspn(sans, ",");
		char v[512];
		snprintf(v, sizeof(v), "%.*s", (int)n, sans);
		ck_json_sep(b, &first);
		ck_json_str(b, v);
		sans += n;
		if (*sans == ',')
			sans++;
	}
	ck_buf_addc(b, ']');
}

static int
work_row(void *ctx, const struct ck_managed_row *m)
{
	struct one *o = ctx;
	struct ck_buf *b = o->b;
	bool first = true, f2 = true;

	if (strcmp(m->state, "retired") == 0)
		return 0;
	o->found = true;
	ck_buf_addc(b, '{');
	ck_json_kv_str(b, &first, "name", m->name);
	ck_json_kv_str(b, &first, "cn", m->cn);
	ck_json_sep(b, &first);
	ck_json_key(b, "sans");
	sans_json(b, m->sans);
	ck_json_kv_str(b, &first, "key_type", m->key_type);
	ck_json_kv_str(b, &first, "state", m->state);
	ck_json_sep(b, &first);
	ck_json_key(b, "current");
	if (m->cert_id > 0 && m->sha256 != NULL) {
		ck_buf_addc(b, '{');
		ck_json_kv_str(b, &f2, "sha256", m->sha256);
		ck_json_kv_int(b, &f2, "not_after", m->not_after);
		ck_json_kv_int(b, &f2, "renew_at", m->renew_at);
		ck_buf_addc(b, '}');
	} else
		ck_buf_adds(b, "null");
	ck_json_kv_bool(b, &first, "renew",
	    m->cert_id == 0 || m->sha256 == NULL || o->now >= m->renew_at);
	return 0;
}

static int
work_target(void *ctx, const struct ck_target_row *t)
{
	struct one *o = ctx;
	struct ck_buf *b = o->b;
	bool first = true;

	if (!o->found)
		ck_buf_addc(b, ',');
	o->found = false; /* here: "a comma is due" */
	ck_buf_addc(b, '{');
	ck_json_kv_int(b, &first, "id", t->id);
	ck_json_kv_str(b, &first, "kind", t->kind);
	ck_json_sep(b, &first);
	ck_json_key(b, "config");
	ck_buf_adds(b, t->config); /* a JSON object, as stored */
	ck_json_kv_str(b, &first, "state", t->state);
	ck_json_kv_str(b, &first, "deployed_sha256",
	    t->deployed_sha256 ? t->deployed_sha256 : "");
	ck_buf_addc(b, '}');
	return 0;
}

int
ck_agent_work(struct ck_store *st, const char *host, int64_t now,
    struct ck_buf *out, struct ck_err *err)
{
	struct ck_strlist names = {0};
	bool first = true, fc = true;
	int r;

	if ((r = ck_store_agent_managed(st, host, add_name, &names, err)) != 0)
		goto out;
	ck_buf_addc(out, '{');
	ck_json_kv_str(out, &first, "host", host);
	ck_json_kv_int(out, &first, "now", now);
	ck_json_sep(out, &first);
	ck_json_key(out, "certificates");
	ck_buf_addc(out, '[');
	for (size_t i = 0; i < names.n && r == 0; i++) {
		struct ck_managed_filter f = {.name = names.v[i]};
		size_t mark = out->len;
		struct one o = {out, now, false};

		if (!fc)
			ck_buf_addc(out, ',');
		r = ck_store_managed_list(st, &f, work_row, &o, err);
		if (r == CK_E_NOTFOUND || (r == 0 && !o.found)) {
			out->len = mark; /* retired or gone meanwhile */
			out->p[mark] = '\0';
			r = 0;
			continue;
		}
		if (r != 0)
			break;
		fc = false;
		ck_buf_adds(out, ",\"targets\":[");
		o.found = true; /* no comma before the first */
		r = ck_store_target_list(st, names.v[i], work_target, &o, err);
		ck_buf_adds(out, "]}");
	}
	ck_buf_adds(out, "]}");
out:
	ck_strlist_release(&names);
	return r;
}

/* ---- issuance for a CSR ---- */

struct held {
	bool found;
	char *cn, *sans, *issuer, *profile, *state;
	int days, renew_frac;
	int64_t renew_before;
};

static int
take_held(void *ctx, const struct ck_managed_row *m)
{
	struct held *h = ctx;

	h->found = true;
	h->cn = ck_strdup(m->cn);
	h->sans = ck_strdup(m->sans);
	h->issuer = ck_strdup(m->issuer);
	h->profile = ck_strdup(m->profile ? m->profile : "");
	h->state = ck_strdup(m->state);
	h->days = m->days;
	h->renew_frac = m->renew_frac;
	h->renew_before = m->renew_before;
	return 0;
}

static void
held_release(struct held *h)
{
	free(h->cn);
	free(h->sans);
	free(h->issuer);
	free(h->profile);
	free(h->state);
}

/* True when "TYPE:value" is one of the comma-separated sans. */
static bool
san_listed(const char *sans, const char *want)
{
	size_t n = strlen(want);

	while (*sans) {
		size_t l = strcspn(sans, ",");
		if (l == n && strncasecmp(sans, want, n) == 0)
			return true;
		sans += l;
		if (*sans == ',')
			sans++;
	}
	return false;
}

/* The CSR may ask only for the managed certificate's own names. */
static int
check_csr(const struct held *h, const uint8_t *der, size_t len,
    struct ck_strlist *names, struct ck_err *err)
{
	struct ck_csr *c = NULL;
	int r;

	if ((r = ck_x509_csr_parse(der, len, &c, err)) != 0)
		return r;
	if (!c->signature_ok)
		r = ck_err_set(err, CK_E_INVAL,
		    "certificate request: signature does not verify");
	else if (c->cn != NULL && strcmp(c->cn, h->cn) != 0)
		r = ck_err_set(err, CK_E_INVAL,
		    "certificate request: CN %s is not %s", c->cn, h->cn);
	for (size_t i = 0; i < c->n_sans && r == 0; i++) {
		char v[600];
		snprintf(v, sizeof(v), "%s:%s",
		    ck_san_type_name(c->sans[i].type), c->sans[i].value);
		if (!san_listed(h->sans, v))
			r = ck_err_set(err, CK_E_INVAL,
			    "certificate request: %s is not a name of this "
			    "managed certificate",
			    v);
		else
			ck_strlist_add(names, c->sans[i].value);
	}
	ck_csr_free(c);
	return r;
}

struct issued_ctx {
	const char *name, *actor;
	const struct held *h;
	const uint8_t *der; /* upstream: the leaf (enroll's res has it too) */
	size_t der_len;
};

static int
issued_recorded(void *arg, struct ck_store *st, const struct ck_enroll_res *res,
    struct ck_err *err)
{
	struct issued_ctx *x = arg;
	const uint8_t *der = res->der ? res->der : x->der;
	size_t len = res->der ? res->der_len : x->der_len;
	struct ck_cert *c = NULL;
	char detail[200];
	int64_t renew_at;
	int r;

	if ((r = ck_x509_parse(der, len, CK_PARSE_CORE, &c, err)) != 0)
		return r;
	renew_at = ck_renew_time(c->not_before, c->not_after, x->h->renew_frac,
	    x->h->renew_before, 0.5);
	snprintf(detail, sizeof(detail),
	    "certificate %lld for a CSR of the agent (its key stays there)",
	    (long long)res->cert_id);
	/* no key is stored: the agent holds it. The renewer leaves held
	 * certificates alone; next_action only keeps the row in order. */
	if ((r = ck_store_managed_issued(st, x->name, res->cert_id, NULL, 0,
	         renew_at, c->not_after, err)) == 0)
		r = ck_store_event_add(
		    st, x->actor, "agent.issue", x->name, detail, err);
	ck_cert_free(c);
	return r;
}

static int
issue_upstream(struct ck_store *st, struct ck_issuer_def *d,
    struct issued_ctx *x, const uint8_t *csr, size_t csr_len,
    const struct ck_strlist *names, struct ck_buf *chain, struct ck_err *err)
{
	const struct ck_issuer_ops *ops = ck_issuer_ops_find(d->type);
	struct ck_issued got = {0};
	int64_t id;
	int r;

	if (ops == NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "issuer type '%s' is not available", d->type);
	struct ck_issue_request rq = {csr, csr_len,
	    (const char *const *)names->v, names->n, x->h->days, NULL, 0};
	if ((r = ops->issue(d, &rq, &got, err)) != 0)
		goto out;
	if (!ck_x509_same_key(got.der, got.der_len, csr, csr_len)) {
		r = ck_err_set(err, CK_E_INVAL,
		    "issuer %s returned a certificate for another key",
		    d->name);
		goto out;
	}
	x->der = got.der;
	x->der_len = got.der_len;
	if ((r = ck_enroll_record(st, d->name, got.der, got.der_len,
	         got.chain_pem.p, got.chain_pem.len, x->actor, issued_recorded,
	         x, &id, err)) != 0)
		goto out;
	ck_pem_encode("CERTIFICATE", got.der, got.der_len, chain);
	ck_buf_add(chain, got.chain_pem.p, got.chain_pem.len);
out:
	ck_issued_release(&got);
	return r;
}

int
ck_agent_issue(struct ck_store *st, const struct ck_agent_ca *ca,
    const char *host, const char *name, const uint8_t *csr, size_t csr_len,
    int64_t now, struct ck_buf *chain_pem, struct ck_err *err)
{
	char holder[CK_AGENT_HOST_MAX + 1], actor[CK_AGENT_HOST_MAX + 8];
	struct ck_managed_filter f = {.name = name};
	struct held h = {0};
	struct ck_strlist names = {0};
	struct ck_issuer_def d = {0};
	bool held = false, loaded = false;
	int r;

	(void)now;
	if ((r = ck_store_agent_holder(st, name, holder, &held, err)) != 0)
		return r;
	/* another host's certificate, or none: the same answer, so that an
	 * agent learns nothing about names it does not hold */
	if (!held || strcmp(holder, host) != 0)
		return ck_err_set(err, CK_E_PERM,
		    "agent '%s' does not hold '%.200s'", host, name);
	snprintf(actor, sizeof(actor), "agent:%s", host);
	if ((r = ck_store_managed_list(st, &f, take_held, &h, err)) != 0)
		goto out;
	if (!h.found || strcmp(h.state, "retired") == 0) {
		r = ck_err_set(err, CK_E_NOTFOUND, "'%s' is retired", name);
		goto out;
	}
	if ((r = check_csr(&h, csr, csr_len, &names, err)) != 0)
		goto out;
	if ((r = ck_issuer_load(st, h.issuer, ca->master_key, &d, err)) != 0)
		goto out;
	loaded = true;
	struct issued_ctx x = {name, actor, &h, NULL, 0};
	if (strcmp(d.type, "local") == 0) {
		struct ck_enroll_req rq = {0};
		struct ck_enroll_res res = {0};
		rq.ca = d.ca;
		rq.profile = h.profile[0] ? h.profile
		    : d.profile           ? d.profile
		                          : "tls-server";
		rq.csr = csr;
		rq.csr_len = csr_len;
		rq.days = h.days;
		rq.requested_by = actor;
		rq.master_key = ca->master_key;
		rq.public_url = ca->public_url;
		rq.recorded = issued_recorded;
		rq.recorded_arg = &x;
		if ((r = ck_enroll(st, &rq, &res, err)) != 0)
			goto out;
		ck_pem_encode("CERTIFICATE", res.der, res.der_len, chain_pem);
		ck_buf_add(chain_pem, res.chain_pem.p, res.chain_pem.len);
		ck_enroll_res_release(&res);
	} else
		r = issue_upstream(
		    st, &d, &x, csr, csr_len, &names, chain_pem, err);
out:
	if (loaded)
		ck_issuer_def_release(&d);
	ck_strlist_release(&names);
	held_release(&h);
	return r;
}

/* ---- reports ---- */

struct tids {
	int64_t v[256];
	size_t n;
	char cur[65]; /* the managed certificate's current one, hex */
	int64_t cur_id;
};

static int
take_tid(void *ctx, const struct ck_target_row *t)
{
	struct tids *ts = ctx;

	if (ts->n < 256)
		ts->v[ts->n++] = t->id;
	snprintf(ts->cur, sizeof(ts->cur), "%s",
	    t->current_sha256 ? t->current_sha256 : "");
	ts->cur_id = t->current_cert_id;
	return 0;
}

/* deploy.c's alert state for a target: kept in the report's transaction,
 * so that each failure alerts once per state, as the server's own do. */
static int
alert_state(struct ck_store *st, const char *name, int64_t id, bool ok,
    const char *state, int64_t cert_id, bool *news, char *st_out, size_t st_len,
    struct ck_err *err)
{
	char key[300], *prev = NULL;
	int r;

	*news = false;
	snprintf(
	    key, sizeof(key), "deploy_failed:%s:%lld", name, (long long)id);
	snprintf(st_out, st_len, "%s:%lld", state, (long long)cert_id);
	if ((r = ck_store_alert_state_get(st, key, &prev, err)) != 0)
		return r;
	if (ok)
		r = prev ? ck_store_alert_state_set(st, key, NULL, err) : 0;
	else if (prev == NULL || strcmp(prev, st_out) != 0) {
		r = ck_store_alert_state_set(st, key, st_out, err);
		*news = true;
	}
	free(prev);
	return r;
}

/* An alert to send once the report is committed. */
struct held_alert {
	int64_t id;
	char state[96], text[1400];
};

int
ck_agent_report_deploy(struct ck_store *st, const char *host, const char *name,
    const char *json, int64_t now,
    void (*alert)(void *ctx, const struct ck_renew_alert *a), void *actx,
    struct ck_err *err)
{
	struct held_alert alerts[CK_AGENT_RESULTS_MAX];
	size_t n_alerts = 0;
	char holder[CK_AGENT_HOST_MAX + 1], actor[CK_AGENT_HOST_MAX + 8];
	struct tids ts = {0};
	json_t *root = NULL, *res;
	json_error_t je;
	bool held;
	size_t i;
	int r;

	if ((r = ck_store_agent_holder(st, name, holder, &held, err)) != 0)
		return r;
	if (!held || strcmp(holder, host) != 0)
		return ck_err_set(err, CK_E_PERM,
		    "agent '%s' does not hold '%.200s'", host, name);
	snprintf(actor, sizeof(actor), "agent:%s", host);
	if ((r = ck_store_target_list(st, name, take_tid, &ts, err)) != 0)
		return r;
	root = json_loads(json, 0, &je);
	res = root ? json_object_get(root, "results") : NULL;
	if (!json_is_array(res) ||
	    json_array_size(res) > CK_AGENT_RESULTS_MAX) {
		r = ck_err_set(err, CK_E_INVAL,
		    "report: want {\"results\": [...]} with at most %d",
		    CK_AGENT_RESULTS_MAX);
		goto out;
	}
	/* everything checked before anything is written */
	int64_t cert_ids[CK_AGENT_RESULTS_MAX];
	for (i = 0; i < json_array_size(res); i++) {
		json_t *o = json_array_get(res, i);
		int64_t id = json_integer_value(json_object_get(o, "target"));
		const char *state =
		    json_string_value(json_object_get(o, "state"));
		const char *sha =
		    json_string_value(json_object_get(o, "sha256"));
		bool mine = false;
		for (size_t k = 0; k < ts.n; k++)
			mine = mine || ts.v[k] == id;
		if (!mine) {
			r = ck_err_set(err, CK_E_PERM,
			    "target %lld is not one of %s's", (long long)id,
			    name);
			goto out;
		}
		if (state == NULL ||
		    (strcmp(state, "deployed") != 0 &&
		        strcmp(state, "failed") != 0 &&
		        strcmp(state, "rolled_back") != 0)) {
			r = ck_err_set(err, CK_E_INVAL,
			    "report: state must be deployed, failed or "
			    "rolled_back");
			goto out;
		}
		const char *result =
		    json_string_value(json_object_get(o, "result"));
		const char *output =
		    json_string_value(json_object_get(o, "output"));
		if ((result && strlen(result) > 1024) ||
		    (output &&
		        strlen(output) > 4 * CK_DEPLOY_OUTPUT_MAX + 64)) {
			r = ck_err_set(err, CK_E_TOO_LARGE,
			    "report: target %lld: result or output too long",
			    (long long)id);
			goto out;
		}
		cert_ids[i] = -1;
		/* deployed: only the current certificate counts (a report of
		 * an older one, late after a renewal, is refused, not
		 * recorded as current) */
		if (strcmp(state, "deployed") == 0 &&
		    (sha == NULL || strlen(sha) != 64 || ts.cur[0] == '\0' ||
		        strcmp(sha, ts.cur) != 0 ||
		        ck_store_cert_find(st, sha, &cert_ids[i], NULL) != 0)) {
			r = ck_err_set(err, CK_E_INVAL,
			    "report: target %lld: %.64s is not the current "
			    "certificate of %s",
			    (long long)id, sha ? sha : "(none)", name);
			goto out;
		}
	}
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	for (i = 0; i < json_array_size(res) && r == 0; i++) {
		json_t *o = json_array_get(res, i);
		int64_t id = json_integer_value(json_object_get(o, "target"));
		const char *state =
		    json_string_value(json_object_get(o, "state"));
		const char *result =
		    json_string_value(json_object_get(o, "result"));
		const char *output =
		    json_string_value(json_object_get(o, "output"));
		char action[64], detail[1400];
		bool ok = strcmp(state, "deployed") == 0, news = false;
		struct held_alert *p = &alerts[n_alerts];

		snprintf(
		    action, sizeof(action), "deploy.%s", ok ? "ok" : state);
		snprintf(detail, sizeof(detail),
		    "target %lld on agent %s: %.1200s", (long long)id, host,
		    result ? result : "");
		p->id = id;
		snprintf(p->text, sizeof(p->text),
		    "deployment of %s to target %lld on agent %s %s: %.1200s",
		    name, (long long)id, host,
		    strcmp(state, "rolled_back") == 0 ? "was rolled back"
		                                      : "failed",
		    result ? result : "");
		if ((r = ck_store_target_set(st, id, ok ? cert_ids[i] : -1,
		         state, result ? result : "", output ? output : "", now,
		         err)) == 0 &&
		    (r = ck_store_event_add(
		         st, actor, action, name, detail, err)) == 0 &&
		    (r = alert_state(st, name, id, ok, state, ts.cur_id, &news,
		         p->state, sizeof(p->state), err)) == 0 &&
		    news)
			n_alerts++;
	}
	if (r == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
	/* after the commit that recorded them, as deploy.c does */
	for (i = 0; r == 0 && alert != NULL && i < n_alerts; i++) {
		char subject[300];
		snprintf(subject, sizeof(subject), "%s:%lld", name,
		    (long long)alerts[i].id);
		struct ck_renew_alert a = {"deploy_failed", "critical", subject,
		    "", alerts[i].state, alerts[i].text};
		alert(actx, &a);
	}
out:
	json_decref(root);
	return r;
}

int
ck_agent_report_scan(struct ck_store *st, const char *host, const char *json,
    int64_t now, int64_t *n, struct ck_err *err)
{
	char actor[CK_AGENT_HOST_MAX + 8], detail[128];
	struct ck_cert **certs = NULL;
	json_t *root, *items;
	json_error_t je;
	size_t i, cnt = 0;
	char scope[CK_AGENT_HOST_MAX + 8];
	int64_t scan_id = 0;
	int r = 0, nth = 0;

	*n = 0;
	root = json_loads(json, 0, &je);
	items = root ? json_object_get(root, "items") : NULL;
	if (!json_is_array(items) ||
	    json_array_size(items) > CK_AGENT_SCAN_MAX_ITEMS) {
		json_decref(root);
		return ck_err_set(err, CK_E_INVAL,
		    "scan report: want {\"items\": [...]} with at most %d",
		    CK_AGENT_SCAN_MAX_ITEMS);
	}
	cnt = json_array_size(items);
	certs = ck_calloc(cnt ? cnt : 1, sizeof(*certs));
	for (i = 0; i < cnt && r == 0; i++) {
		json_t *o = json_array_get(items, i);
		const char *path =
		    json_string_value(json_object_get(o, "path"));
		const char *b64 = json_string_value(json_object_get(o, "der"));
		struct ck_buf der = CK_BUF_INIT;

		if (path == NULL || *path != '/' || strlen(path) > 4096 ||
		    b64 == NULL || !ck_base64_decode(b64, strlen(b64), &der))
			r = ck_err_set(err, CK_E_INVAL,
			    "scan report: item %zu needs an absolute path and "
			    "base64 DER",
			    i + 1);
		else
			r = ck_x509_parse((const uint8_t *)der.p, der.len,
			    CK_PARSE_CORE, &certs[i], err);
		ck_buf_release(&der);
	}
	if (r != 0)
		goto out;
	snprintf(actor, sizeof(actor), "agent:%s", host);
	snprintf(
	    detail, sizeof(detail), "%zu certificates found on %s", cnt, host);
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	/* Also a finished files scan whose places are the agent's
	 * "agent:HOST:PATH#n" (n-th certificate of the file, as `scan files`
	 * numbers them): deploy status reads drift of agents' targets there. */
	snprintf(scope, sizeof(scope), "agent:%s", host);
	r = ck_store_scan_begin(st, "files", scope, actor, now, &scan_id, err);
	for (i = 0; i < cnt && r == 0; i++) {
		const char *path = json_string_value(
		    json_object_get(json_array_get(items, i), "path"));
		struct ck_buf place = CK_BUF_INIT;
		int64_t id;
		bool is_new;

		/* n-th certificate of its file in this report (a report
		 * holds whole files: the agent never splits one) */
		nth = 1;
		for (size_t k = 0; k < i; k++)
			if (strcmp(json_string_value(json_object_get(
			               json_array_get(items, k), "path")),
			        path) == 0)
				nth++;
		ck_buf_printf(&place, "agent:%s:%s", host, path);
		if ((r = ck_store_cert_put(
		         st, certs[i], now, &id, &is_new, err)) == 0)
			r = ck_store_location_put(
			    st, id, "agent", place.p, now, err);
		ck_buf_printf(&place, "#%d", nth);
		if (r == 0)
			r = ck_store_scan_result(
			    st, scan_id, place.p, id, "ok", err);
		ck_buf_release(&place);
	}
	if (r == 0) {
		char counts[64];
		snprintf(counts, sizeof(counts), "{\"certs\":%zu}", cnt);
		r = ck_store_scan_finish(st, scan_id, now, counts, err);
	}
	/* an agent reports every hour: its reports older than a month are
	 * superseded by newer ones, or were of files that are gone */
	if (r == 0)
		r = ck_store_scan_prune(
		    st, "files", scope, now - CK_AGENT_SCAN_KEEP, scan_id, err);
	if (r == 0)
		r = ck_store_event_add(
		    st, actor, "agent.scan", host, detail, err);
	if (r == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
	else
		*n = (int64_t)cnt;
out:
	for (i = 0; i < cnt; i++)
		ck_cert_free(certs[i]);
	free(certs);
	json_decref(root);
	return r;
}
