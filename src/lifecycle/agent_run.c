/*
 * The agent's loop (`certkeep agent run`), on the host it serves:
 *
 *   start ──enrol()──► enrolled ──cycle()──► sleep(interval ± 10%) ─┐
 *     (token; key           ▲   renew_self(), work(), per cert:     │
 *      written first)       │   obtain() → deploy_targets(),        │
 *                           │   flush_outbox(), scan()              │
 *                           └───────────────────────────────────────┘
 *   a failed cycle sleeps backoff (2 s doubling to backoff_max, ± 25%)
 *
 * Keys are made here and written (agent_state.c) before the CSR that
 * needs them leaves; deployment is deploy.c's (ck_deploy_local), the
 * same all-or-nothing code the server runs; every result goes to the
 * outbox folder first and leaves it only when the server took it, so a
 * server restart or a network cut loses nothing.
 */
#include "lifecycle/agent_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/fetch.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "discovery/discovery.h"
#include "lifecycle/deploy.h"
#include "x509/x509.h"

struct agent {
	const struct ck_agent_opts *o;
	char ident[4200]; /* agent.pem */
	char trust[4200]; /* server-ca.pem, or "" for the system store */
	volatile int *stop;
};

/* ---- talking to the server ---- */

/* One request; *status the HTTP status, body in resp. Any transport
 * failure is an error (retried by the loop). */
static int
call(struct agent *a, const char *method, const char *path, const char *body,
    bool mtls, struct ck_fetch_resp *resp, struct ck_err *err)
{
	struct ck_buf url = CK_BUF_INIT;
	const char *hdr[] = {"Content-Type: application/json"};
	struct ck_fetch_req q = {0};
	int r;

	ck_buf_printf(&url, "%s%s", a->o->server, path);
	q.method = method;
	q.url = url.p;
	q.headers = hdr;
	q.n_headers = body ? 1 : 0;
	q.body = body;
	q.body_len = body ? strlen(body) : 0;
	q.max_body = 16u << 20;
	q.timeout_ms = a->o->timeout_ms > 0 ? a->o->timeout_ms : 30000;
	q.trust_file = a->trust[0] ? a->trust : NULL;
	if (mtls) {
		q.client_cert = a->ident;
		q.client_key = a->ident;
	}
	r = ck_fetch(&q, resp, err);
	ck_buf_release(&url);
	return r;
}

/* The problem document's detail, or the status. */
static int
refused(const struct ck_fetch_resp *resp, const char *what, struct ck_err *err)
{
	json_t *j = json_loads(resp->body.p ? resp->body.p : "", 0, NULL);
	const char *d =
	    j ? json_string_value(json_object_get(j, "detail")) : NULL;
	int code = resp->status == 403 || resp->status == 401 ? CK_E_PERM
	    : resp->status >= 500                             ? CK_E_UNAVAILABLE
	                                                      : CK_E_INVAL;

	ck_err_set(err, code, "%s: HTTP %ld%s%s", what, resp->status,
	    d ? ": " : "", d ? d : "");
	json_decref(j);
	return code;
}

/* {"csr": PEM} for csr (DER). */
static char *
csr_body(const uint8_t *csr, size_t len, const char *token)
{
	struct ck_buf pem = CK_BUF_INIT, b = CK_BUF_INIT;
	bool f = true;

	ck_pem_encode("CERTIFICATE REQUEST", csr, len, &pem);
	ck_buf_addc(&b, '{');
	if (token != NULL)
		ck_json_kv_str(&b, &f, "token", token);
	ck_json_kv_str(&b, &f, "csr", pem.p);
	ck_buf_addc(&b, '}');
	ck_buf_release(&pem);
	return ck_buf_detach(&b, NULL);
}

/* ---- its own client certificate ---- */

/*
 * A key for the client certificate: the one a crash left in
 * agent.key.new, else a new one, written before anything is sent.
 */
static int
pending_key(const char *path, const char *key_type, const char *cn,
    struct ck_buf *key, struct ck_err *err)
{
	uint8_t *csr = NULL;
	size_t n;
	int r;

	if (ag_read(path, key, NULL) == 0 && key->len > 0)
		return 0;
	ck_buf_release_secret(key);
	if ((r = ck_make_key_and_csr(
	         key_type, cn, NULL, 0, &csr, &n, key, err)) == 0)
		r = ag_write(path, key->p, key->len, 0600, err);
	free(csr);
	return r;
}

/* Asks path (enrol or renew) for a client certificate; agent.pem gets
 * key and chain, agent.key.new goes. */
static int
client_cert(
    struct agent *a, const char *host, const char *token, struct ck_err *err)
{
	char knew[4200];
	struct ck_buf key = CK_BUF_INIT, pem = CK_BUF_INIT;
	struct ck_fetch_resp resp;
	uint8_t *csr = NULL;
	size_t n;
	char *body = NULL;
	json_t *j = NULL;
	const char *cert;
	int r;

	ck_fetch_resp_init(&resp);
	if ((r = ag_path(
	         a->o->dir, "agent.key.new", knew, sizeof(knew), err)) != 0 ||
	    (r = pending_key(knew, "ec-p256", host, &key, err)) != 0 ||
	    (r = ck_csr_for_key_ou((const uint8_t *)key.p, key.len, host,
	         CK_AGENT_OU, NULL, 0, &csr, &n, err)) != 0)
		goto out;
	body = csr_body(csr, n, token);
	r = call(a, "POST",
	    token ? "/api/v1/agent/enrol" : "/api/v1/agent/renew", body,
	    token == NULL, &resp, err);
	if (body != NULL) /* it held the token */
		ck_cleanse(body, strlen(body));
	if (r != 0)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		r = refused(&resp,
		    token ? "enrolment" : "client certificate renewal", err);
		goto out;
	}
	j = json_loads(resp.body.p, 0, NULL);
	if ((cert = json_string_value(json_object_get(j, "certificate"))) ==
	    NULL) {
		r = ck_err_set(err, CK_E_PARSE, "enrolment: no certificate");
		goto out;
	}
	ck_buf_add(&pem, key.p, key.len);
	ck_buf_adds(&pem, cert);
	if ((r = ag_write(a->ident, pem.p, pem.len, 0600, err)) == 0)
		(void)unlink(knew);
	ck_log(CK_LOG_INFO, "agent %s: client certificate %s", host,
	    token ? "enrolled" : "renewed");
out:
	json_decref(j);
	free(body);
	free(csr);
	ck_buf_release_secret(&key);
	ck_buf_release_secret(&pem);
	ck_fetch_resp_release(&resp);
	return r;
}

/* Enrolled already, or now with the token. */
static int
enrol(struct agent *a, struct ck_err *err)
{
	char host[CK_AGENT_HOST_MAX + 1];
	int r;

	if (access(a->ident, F_OK) == 0) {
		/* an agent offline past its certificate's expiry enrols
		 * again when it is given a new token */
		struct ck_buf pem = CK_BUF_INIT;
		struct ag_bundle b;
		bool expired = false;
		if (a->o->token != NULL && ag_read(a->ident, &pem, NULL) == 0 &&
		    ag_bundle_parse(pem.p, pem.len, &b, NULL) == 0) {
			expired = b.not_after <= ck_now();
			ag_bundle_release(&b);
		}
		ck_buf_release_secret(&pem);
		if (!expired)
			return 0;
		ck_log(CK_LOG_WARN,
		    "client certificate expired: enrolling "
		    "again with the token");
	}
	if (a->o->token == NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "not enrolled yet: give --token (from `certkeep agent "
		    "token create`)");
	if ((r = ck_agent_token_host(a->o->token, host, err)) != 0)
		return r;
	return client_cert(a, host, a->o->token, err);
}

/* A new client certificate once two thirds of its life passed. */
static int
renew_self(struct agent *a, int64_t now, struct ck_err *err)
{
	struct ck_buf pem = CK_BUF_INIT;
	struct ag_bundle b;
	char host[CK_AGENT_HOST_MAX + 1] = "";
	struct ck_buf der = CK_BUF_INIT;
	struct ck_cert *c = NULL;
	int r;

	if ((r = ag_read(a->ident, &pem, err)) != 0 ||
	    (r = ag_bundle_parse(pem.p, pem.len, &b, err)) != 0)
		goto out;
	if (now >= b.not_before + (b.not_after - b.not_before) * 2 / 3 &&
	    ck_x509_first((const uint8_t *)b.leaf.p, b.leaf.len, CK_ITEM_CERT,
	        &der, NULL) == 0 &&
	    ck_x509_parse((const uint8_t *)der.p, der.len, CK_PARSE_CORE, &c,
	        NULL) == 0 &&
	    c->cn != NULL) {
		snprintf(host, sizeof(host), "%s", c->cn);
		r = client_cert(a, host, NULL, err);
	}
	ck_cert_free(c);
	ck_buf_release(&der);
	ag_bundle_release(&b);
out:
	ck_buf_release_secret(&pem);
	return r;
}

/* ---- one managed certificate ---- */

/* The bundle kept for name, if any. */
static bool
local_bundle(struct agent *a, const char *name, struct ag_bundle *b)
{
	char rel[300], path[4200];
	struct ck_buf pem = CK_BUF_INIT;
	bool ok;

	snprintf(rel, sizeof(rel), "certs/%s.pem", name);
	ok = ag_path(a->o->dir, rel, path, sizeof(path), NULL) == 0 &&
	    ag_read(path, &pem, NULL) == 0 &&
	    ag_bundle_parse(pem.p, pem.len, b, NULL) == 0;
	ck_buf_release_secret(&pem);
	return ok;
}

/* A key (made here, written first) and a CSR for it; the chain back. */
static int
obtain(struct agent *a, json_t *w, const char *name, struct ck_err *err)
{
	const char *cn = json_string_value(json_object_get(w, "cn"));
	const char *kt = json_string_value(json_object_get(w, "key_type"));
	json_t *js = json_object_get(w, "sans"), *j = NULL;
	const char *sans[100];
	size_t n_sans = 0, n;
	char rel[300], knew[4200], path[4200];
	struct ck_buf key = CK_BUF_INIT, pem = CK_BUF_INIT;
	struct ck_fetch_resp resp;
	uint8_t *csr = NULL;
	char *body = NULL;
	const char *chain;
	int r;

	ck_fetch_resp_init(&resp);
	for (size_t i = 0; i < json_array_size(js) && n_sans < 100; i++)
		sans[n_sans++] = json_string_value(json_array_get(js, i));
	snprintf(rel, sizeof(rel), "certs/%s.key.new", name);
	if ((r = ag_path(a->o->dir, rel, knew, sizeof(knew), err)) != 0 ||
	    (r = pending_key(
	         knew, kt ? kt : "ec-p256", cn ? cn : name, &key, err)) != 0 ||
	    (r = ck_csr_for_key((const uint8_t *)key.p, key.len, cn ? cn : name,
	         sans, n_sans, &csr, &n, err)) != 0)
		goto out;
	body = csr_body(csr, n, NULL);
	snprintf(rel, sizeof(rel), "/api/v1/agent/certs/%s/csr", name);
	if ((r = call(a, "POST", rel, body, true, &resp, err)) != 0)
		goto out;
	if (resp.status != 201) {
		r = refused(&resp, name, err);
		goto out;
	}
	j = json_loads(resp.body.p, 0, NULL);
	if ((chain = json_string_value(json_object_get(j, "chain"))) == NULL) {
		r = ck_err_set(err, CK_E_PARSE, "%s: no chain", name);
		goto out;
	}
	ck_buf_add(&pem, key.p, key.len);
	ck_buf_adds(&pem, chain);
	snprintf(rel, sizeof(rel), "certs/%s.pem", name);
	/* key and certificate in one file, renamed at once: never a new
	 * certificate beside an old key */
	if ((r = ag_path(a->o->dir, rel, path, sizeof(path), err)) == 0 &&
	    (r = ag_write(path, pem.p, pem.len, 0600, err)) == 0)
		(void)unlink(knew);
	ck_log(CK_LOG_INFO, "%s: new certificate issued for a key made here",
	    name);
out:
	json_decref(j);
	free(body);
	free(csr);
	ck_buf_release_secret(&key);
	ck_buf_release_secret(&pem);
	ck_fetch_resp_release(&resp);
	return r;
}

/*
 * The target holds b here but the server does not know it (a report it
 * lost, a database restored from a backup) and no report is on its way:
 * report it again rather than deploy again.
 */
static int
report_again(struct agent *a, json_t *t, const char *name, int64_t id,
    const struct ag_bundle *b, struct ck_err *err)
{
	const char *srv =
	    json_string_value(json_object_get(t, "deployed_sha256"));
	char rel[300], opath[4200];
	struct ck_buf rep = CK_BUF_INIT;
	bool f = true;
	int r;

	if (srv != NULL && strcmp(srv, b->sha256) == 0)
		return 0;
	snprintf(rel, sizeof(rel), "outbox/%s@%lld.json", name, (long long)id);
	if ((r = ag_path(a->o->dir, rel, opath, sizeof(opath), err)) != 0 ||
	    access(opath, F_OK) == 0)
		return r;
	ck_buf_adds(&rep, "{\"results\":[{");
	ck_json_kv_int(&rep, &f, "target", id);
	ck_json_kv_str(&rep, &f, "sha256", b->sha256);
	ck_json_kv_str(&rep, &f, "state", "deployed");
	ck_buf_printf(&rep,
	    ",\"result\":\"deployed certificate %.16s (reported again: the "
	    "server did not have it)\"}]}",
	    b->sha256);
	r = ag_write(opath, rep.p, rep.len, 0600, err);
	ck_buf_release(&rep);
	return r;
}

/* Deploys b to each target that does not hold it; each result goes to
 * the outbox before anything else. */
static int
deploy_targets(struct agent *a, json_t *w, const char *name,
    const struct ag_bundle *b, struct ck_err *err)
{
	json_t *ts = json_object_get(w, "targets");
	json_t *sans = json_object_get(w, "sans");
	const char *first = json_string_value(json_array_get(sans, 0));
	int r = 0;

	if (first != NULL && strchr(first, ':') != NULL)
		first = strchr(first, ':') + 1;
	for (size_t i = 0; i < json_array_size(ts) && r == 0; i++) {
		json_t *t = json_array_get(ts, i);
		int64_t id = json_integer_value(json_object_get(t, "id"));
		char rel[300], path[4200], *config;
		struct ck_buf held = CK_BUF_INIT, rep = CK_BUF_INIT;
		struct ck_deploy_result res;
		bool f = true;

		snprintf(
		    rel, sizeof(rel), "deployed/%s@%lld", name, (long long)id);
		if ((r = ag_path(a->o->dir, rel, path, sizeof(path), err)) != 0)
			break;
		if (ag_read(path, &held, NULL) == 0 &&
		    strcmp(held.p, b->sha256) == 0) {
			ck_buf_release(&held);
			r = report_again(a, t, name, id, b, err);
			continue;
		}
		ck_buf_release(&held);
		config = json_dumps(json_object_get(t, "config"), JSON_COMPACT);
		struct ck_deploy_local d = {name, id,
		    json_string_value(json_object_get(t, "kind")), config,
		    b->leaf.p, b->chain.p, b->key.p, b->key.len,
		    first ? first : name};
		r = ck_deploy_local(&d, &res, err);
		free(config);
		if (r != 0)
			break;
		ck_log(strcmp(res.state, "deployed") == 0 ? CK_LOG_INFO
		                                          : CK_LOG_WARN,
		    "deploy %s target %lld: %s", name, (long long)id,
		    res.result);
		ck_buf_adds(&rep, "{\"results\":[{");
		ck_json_kv_int(&rep, &f, "target", id);
		ck_json_kv_str(&rep, &f, "sha256", res.sha256);
		ck_json_kv_str(&rep, &f, "state", res.state);
		ck_json_kv_str(&rep, &f, "result", res.result);
		ck_buf_addc(&res.output, '\0');
		ck_json_kv_str(&rep, &f, "output", res.output.p);
		ck_buf_adds(&rep, "}]}");
		ck_buf_release(&res.output);
		snprintf(rel, sizeof(rel), "outbox/%s@%lld.json", name,
		    (long long)id);
		char opath[4200];
		if ((r = ag_path(a->o->dir, rel, opath, sizeof(opath), err)) ==
		        0 &&
		    (r = ag_write(opath, rep.p, rep.len, 0600, err)) == 0 &&
		    strcmp(res.state, "deployed") == 0)
			r = ag_write(path, res.sha256, 64, 0600, err);
		ck_buf_release(&rep);
	}
	return r;
}

/* Sends every report the outbox holds; a report the server refuses for
 * good (4xx) is dropped with a warning, others wait for the next cycle. */
static int
flush_outbox(struct agent *a, struct ck_err *err)
{
	char dpath[4200];
	DIR *d;
	struct dirent *e;
	int r = 0;

	if ((r = ag_path(a->o->dir, "outbox", dpath, sizeof(dpath), err)) !=
	        0 ||
	    (d = opendir(dpath)) == NULL)
		return r;
	while (r == 0 && (e = readdir(d)) != NULL) {
		char path[4600], name[256], url[400];
		struct ck_buf body = CK_BUF_INIT;
		struct ck_fetch_resp resp;
		const char *at = strrchr(e->d_name, '@');
		size_t l = strlen(e->d_name);

		if (at == NULL || l < 6 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(at - e->d_name),
		    e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dpath, e->d_name);
		if (ag_read(path, &body, NULL) != 0)
			continue;
		ck_fetch_resp_init(&resp);
		snprintf(url, sizeof(url), "/api/v1/agent/certs/%s/deployments",
		    name);
		if ((r = call(a, "POST", url, body.p, true, &resp, err)) == 0) {
			if (resp.status == 200)
				(void)unlink(path);
			else if (resp.status >= 400 && resp.status < 500) {
				struct ck_err e2 = {0};
				refused(&resp, name, &e2);
				ck_log(
				    CK_LOG_WARN, "report dropped: %s", e2.msg);
				(void)unlink(path);
			} else
				r = refused(&resp, name, err);
		}
		ck_fetch_resp_release(&resp);
		ck_buf_release(&body);
	}
	closedir(d);
	return r;
}

/* ---- the local scan ---- */

struct scan_send {
	struct agent *a;
	struct ck_buf items;
	size_t n;
	const char *path;
	int r;
	struct ck_err *err;
};

static int
send_items(struct scan_send *s)
{
	struct ck_fetch_resp resp;
	struct ck_buf body = CK_BUF_INIT;
	int r;

	if (s->n == 0)
		return 0;
	ck_fetch_resp_init(&resp);
	ck_buf_printf(&body, "{\"items\":[%s]}", s->items.p);
	if ((r = call(s->a, "POST", "/api/v1/agent/scan", body.p, true, &resp,
	         s->err)) == 0 &&
	    resp.status != 200)
		r = refused(&resp, "scan report", s->err);
	ck_fetch_resp_release(&resp);
	ck_buf_release(&body);
	ck_buf_reset(&s->items);
	s->n = 0;
	return r;
}

static int
scan_item(void *ctx, const struct ck_cert_row *row)
{
	struct scan_send *s = ctx;

	if (s->n > 0)
		ck_buf_addc(&s->items, ',');
	ck_buf_adds(&s->items, "{\"path\":");
	ck_json_str(&s->items, s->path);
	ck_buf_adds(&s->items, ",\"der\":\"");
	ck_base64_encode(row->der, row->der_len, &s->items);
	ck_buf_adds(&s->items, "\"}");
	s->n++;
	return 0;
}

/* The local files scan, when its time came: into scan.db here, then the
 * certificates found to the server, 200 a request. */
static int
scan(struct agent *a, int64_t now, struct ck_err *err)
{
	char last[4200], db[4300];
	struct ck_buf t = CK_BUF_INIT;
	struct ck_store *st = NULL;
	struct ck_fs_result res;
	struct ck_fs_opts fo = {0};
	int64_t every = a->o->scan_every > 0 ? a->o->scan_every : 3600;
	int r;

	if (a->o->n_scan == 0)
		return 0;
	if ((r = ag_path(a->o->dir, "scan.last", last, sizeof(last), err)) != 0)
		return r;
	if (ag_read(last, &t, NULL) == 0 &&
	    now < strtoll(t.p, NULL, 10) + every) {
		ck_buf_release(&t);
		return 0;
	}
	ck_buf_release(&t);
	snprintf(db, sizeof(db), "sqlite:%s/scan.db", a->o->dir);
	memset(&res, 0, sizeof(res));
	if ((r = ck_store_open(db, &st, err)) != 0)
		return r;
	if ((r = ck_fs_scan(st, a->o->scan_paths, a->o->n_scan, &fo, "agent",
	         &res, err)) == 0) {
		struct scan_send s = {a, CK_BUF_INIT, 0, NULL, 0, err};
		for (size_t i = 0; i < res.n_cert && r == 0; i++) {
			s.path = res.cert_v[i].path;
			/* 200 a report, but a file whole in one: the server
			 * numbers a file's certificates within a report */
			bool file_ends = i + 1 == res.n_cert ||
			    strcmp(res.cert_v[i + 1].path, s.path) != 0;
			if ((r = ck_store_cert_get(st, res.cert_v[i].id,
			         scan_item, &s, err)) == 0 &&
			    s.n >= 200 && file_ends)
				r = send_items(&s);
		}
		if (r == 0)
			r = send_items(&s);
		ck_buf_release(&s.items);
		if (r == 0) {
			char v[32];
			int n = snprintf(v, sizeof(v), "%lld", (long long)now);
			r = ag_write(last, v, (size_t)n, 0600, err);
			ck_log(CK_LOG_INFO,
			    "local scan: %zu certificates reported",
			    res.n_cert);
		}
	}
	ck_fs_result_release(&res);
	ck_store_free(st);
	return r;
}

/* ---- the cycle ---- */

static int
cycle(struct agent *a, struct ck_err *err)
{
	struct ck_fetch_resp resp;
	json_t *j = NULL, *cs;
	int64_t now = ck_now();
	int r, first = 0;

	ck_fetch_resp_init(&resp);
	/* what the previous cycle could not deliver goes first */
	if ((r = enrol(a, err)) != 0 || (r = renew_self(a, now, err)) != 0 ||
	    (r = flush_outbox(a, err)) != 0)
		goto out;
	if ((r = call(
	         a, "GET", "/api/v1/agent/work", NULL, true, &resp, err)) != 0)
		goto out;
	if (resp.status != 200) {
		r = refused(&resp, "work", err);
		goto out;
	}
	j = json_loads(resp.body.p, 0, NULL);
	cs = json_object_get(j, "certificates");
	for (size_t i = 0; i < json_array_size(cs); i++) {
		json_t *w = json_array_get(cs, i);
		const char *name =
		    json_string_value(json_object_get(w, "name"));
		const char *cur = json_string_value(
		    json_object_get(json_object_get(w, "current"), "sha256"));
		struct ag_bundle b;
		struct ck_err e2 = {0};
		bool have, renew = json_is_true(json_object_get(w, "renew"));
		int rr = 0;

		if (name == NULL || !ag_name_ok(name)) {
			ck_log(CK_LOG_WARN,
			    "skipped a certificate whose name is not "
			    "[A-Za-z0-9._-]: %.80s",
			    name ? name : "(none)");
			continue;
		}
		have = local_bundle(a, name, &b);
		/* one certificate's failure does not stop the others; the
		 * cycle's result is the first */
		if (renew || cur == NULL || !have ||
		    strcmp(b.sha256, cur) != 0) {
			if (have)
				ag_bundle_release(&b);
			have = false;
			if ((rr = obtain(a, w, name, &e2)) == 0)
				have = local_bundle(a, name, &b);
		}
		if (rr == 0 && have)
			rr = deploy_targets(a, w, name, &b, &e2);
		if (have)
			ag_bundle_release(&b);
		if (rr != 0) {
			ck_log(CK_LOG_WARN, "%s: %s", name, e2.msg);
			if (first++ == 0) {
				r = rr;
				if (err != NULL)
					*err = e2;
			}
		}
	}
	{
		struct ck_err e2 = {0};
		int rr = flush_outbox(a, &e2);
		if (rr == 0)
			rr = scan(a, now, &e2);
		if (rr != 0 && r == 0) {
			r = rr;
			if (err != NULL)
				*err = e2;
		}
	}
out:
	json_decref(j);
	ck_fetch_resp_release(&resp);
	return r;
}

/* Sleeps secs, waking every 100 ms to look at *stop. */
static void
nap(struct agent *a, double secs)
{
	struct timespec ts = {0, 100 * 1000 * 1000};

	for (double t = 0; t < secs; t += 0.1) {
		if (a->stop != NULL && *a->stop)
			return;
		nanosleep(&ts, NULL);
	}
}

static double
jitter(double base, double frac)
{
	return base * (1.0 - frac + 2.0 * frac * ((double)random() / RAND_MAX));
}

int
ck_agent_run(
    const struct ck_agent_opts *o, volatile int *stop, struct ck_err *err)
{
	struct agent a = {.o = o, .stop = stop};
	char sub[4200];
	double backoff = 2;
	int64_t cap = o->backoff_max > 0 ? o->backoff_max : 300;
	int r;

	srandom((unsigned)(getpid() ^ time(NULL)));
	if (mkdir(o->dir, 0700) != 0 && access(o->dir, W_OK) != 0)
		return ck_err_set(err, CK_E_IO, "%s: cannot use", o->dir);
	(void)chmod(o->dir, 0700);
	for (size_t i = 0; i < 3; i++) {
		static const char *const subs[] = {
		    "certs", "deployed", "outbox"};
		if ((r = ag_path(o->dir, subs[i], sub, sizeof(sub), err)) != 0)
			return r;
		(void)mkdir(sub, 0700);
	}
	if ((r = ag_path(o->dir, "agent.pem", a.ident, sizeof(a.ident), err)) !=
	        0 ||
	    (r = ag_path(
	         o->dir, "server-ca.pem", a.trust, sizeof(a.trust), err)) != 0)
		return r;
	/* --cacert is kept, so later runs need not repeat it */
	if (o->cacert != NULL) {
		struct ck_buf ca = CK_BUF_INIT;
		if ((r = ag_read(o->cacert, &ca, err)) == 0)
			r = ag_write(a.trust, ca.p, ca.len, 0644, err);
		ck_buf_release(&ca);
		if (r != 0)
			return r;
	} else if (access(a.trust, R_OK) != 0)
		a.trust[0] = '\0';
	for (;;) {
		struct ck_err e = {0};
		r = cycle(&a, &e);
		if (o->once) {
			if (r != 0 && err != NULL)
				*err = e;
			return r;
		}
		if (r == 0) {
			backoff = 2;
			nap(&a,
			    jitter((double)(o->interval > 0 ? o->interval : 60),
			        0.1));
		} else {
			ck_log(CK_LOG_WARN, "agent: %s (again in %.0f s)",
			    e.msg, backoff);
			/* a refused enrolment will not get better by itself */
			if (r == CK_E_PERM && access(a.ident, F_OK) != 0) {
				if (err != NULL)
					*err = e;
				return r;
			}
			nap(&a, jitter(backoff, 0.25));
			backoff = backoff * 2 > (double)cap ? (double)cap
			                                    : backoff * 2;
		}
		if (stop != NULL && *stop)
			return 0;
	}
}
