/*
 * REST routes of the agent (/api/v1/agent/...): enrolment with a
 * one-time token (public: the token is the credential), and, for an agent
 * authenticated by its client certificate (CK_ACCESS_AGENT), renewal of
 * that certificate, its work, CSRs for the certificates its host holds,
 * and its reports. Every agent route first checks the certificate against
 * the enrolled agent (ck_agent_check): a certificate of a removed agent,
 * or an old one, is refused. The logic is src/lifecycle/agent*.c.
 */
#include "api/api.h"
#include "api/body.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "lifecycle/agent.h"
#include "lifecycle/alerts.h"
#include "x509/x509.h"

static void
agent_ca(const struct ck_http_ctx *c, struct ck_agent_ca *ca)
{
	ca->ca = ck_config_str(c->cfg, CK_CFG_AGENT_CA);
	ca->master_key = ck_config_str(c->cfg, CK_CFG_MASTER_KEY);
	ca->public_url = ck_config_str(c->cfg, CK_CFG_PUBLIC_URL);
	ca->days = (int)ck_config_int(c->cfg, CK_CFG_AGENT_CERT_DAYS);
}

/* The enrolled agent behind the client certificate; answered when not. */
static int
agent_ok(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	int r = ck_agent_check(
	    c->st, c->auth.agent, c->auth.peer_sha256, c->now, &err);

	if (r != 0)
		ck_http_problem_err(c, r, &err);
	return r;
}

/* The "csr" field (PEM) of j as DER into der. */
static int
csr_of(json_t *j, struct ck_buf *der, struct ck_err *err)
{
	const char *pem;
	int r;

	if ((r = ck_api_json_str(j, "csr", true, &pem, err)) != 0)
		return r;
	return ck_x509_first(
	    (const uint8_t *)pem, strlen(pem), CK_ITEM_CSR, der, err);
}

static void
reply_cert(struct ck_http_ctx *c, int status, const char *host, const char *key,
    const struct ck_buf *pem)
{
	struct ck_buf b = CK_BUF_INIT;
	bool f = true;

	ck_buf_addc(&b, '{');
	ck_json_kv_str(&b, &f, "host", host);
	ck_json_kv_str(&b, &f, key, pem->p ? pem->p : "");
	ck_buf_adds(&b, "}\n");
	ck_http_reply_buf(c, status, "application/json", &b);
}

void
ck_api_agent_enrol(struct ck_http_ctx *c)
{
	static const char *const known[] = {"token", "csr", NULL};
	struct ck_err err = {0};
	struct ck_buf der = CK_BUF_INIT;
	struct ck_agent_cert out = {0};
	struct ck_agent_ca ca;
	const char *token;
	json_t *j = NULL;
	int r;

	if (ck_api_json_body(c, known, &j) != 0)
		return;
	agent_ca(c, &ca);
	if (*ca.ca == '\0')
		r = ck_err_set(&err, CK_E_PERM, "agents are not enabled");
	else if ((r = ck_api_json_str(j, "token", true, &token, &err)) == 0 &&
	    (r = csr_of(j, &der, &err)) == 0)
		r = ck_agent_enrol(c->st, &ca, token, (const uint8_t *)der.p,
		    der.len, c->now, &out, &err);
	/* jansson frees without wiping: the token goes now */
	if (json_is_string(json_object_get(j, "token")))
		ck_cleanse(
		    (void *)json_string_value(json_object_get(j, "token")),
		    strlen(json_string_value(json_object_get(j, "token"))));
	if (r != 0)
		ck_http_problem_err(c, r, &err);
	else
		reply_cert(c, 201, out.host, "certificate", &out.cert_pem);
	ck_agent_cert_release(&out);
	ck_buf_release(&der);
	json_decref(j);
}

void
ck_api_agent_renew(struct ck_http_ctx *c)
{
	static const char *const known[] = {"csr", NULL};
	struct ck_err err = {0};
	struct ck_buf der = CK_BUF_INIT;
	struct ck_agent_cert out = {0};
	struct ck_agent_ca ca;
	json_t *j = NULL;
	int r;

	if (agent_ok(c) != 0 || ck_api_json_body(c, known, &j) != 0)
		return;
	agent_ca(c, &ca);
	if ((r = csr_of(j, &der, &err)) == 0)
		r = ck_agent_renew(c->st, &ca, c->auth.agent,
		    (const uint8_t *)der.p, der.len, c->now, &out, &err);
	if (r != 0)
		ck_http_problem_err(c, r, &err);
	else
		reply_cert(c, 200, out.host, "certificate", &out.cert_pem);
	ck_agent_cert_release(&out);
	ck_buf_release(&der);
	json_decref(j);
}

void
ck_api_agent_work(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	int r;

	if (agent_ok(c) != 0)
		return;
	if ((r = ck_agent_work(c->st, c->auth.agent, c->now, &b, &err)) != 0) {
		ck_buf_release(&b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_addc(&b, '\n');
	ck_http_reply_buf(c, 200, "application/json", &b);
}

void
ck_api_agent_csr(struct ck_http_ctx *c)
{
	static const char *const known[] = {"csr", NULL};
	struct ck_err err = {0};
	struct ck_buf der = CK_BUF_INIT, chain = CK_BUF_INIT;
	struct ck_agent_ca ca;
	json_t *j = NULL;
	int r;

	if (agent_ok(c) != 0 || ck_api_json_body(c, known, &j) != 0)
		return;
	agent_ca(c, &ca);
	if ((r = csr_of(j, &der, &err)) == 0)
		r = ck_agent_issue(c->st, &ca, c->auth.agent,
		    ck_http_param(c, 0), (const uint8_t *)der.p, der.len,
		    c->now, &chain, &err);
	if (r != 0)
		ck_http_problem_err(c, r, &err);
	else
		reply_cert(c, 201, c->auth.agent, "chain", &chain);
	ck_buf_release(&chain);
	ck_buf_release(&der);
	json_decref(j);
}

/* The body as a NUL-terminated string into b. */
static void
body_text(struct ck_http_ctx *c, struct ck_buf *b)
{
	size_t len;
	const uint8_t *p = ck_http_body(c, &len);

	ck_buf_add(b, p ? (const char *)p : "", len);
	ck_buf_addc(b, '\0');
}

struct alerting {
	struct ck_store *st;
	const struct ck_config *cfg;
	struct ck_notify_config *nc;
	bool tried;
};

/* A failed deployment on an agent alerts through the [notify.NAME]
 * channels like the server's own (read when the first one comes: they
 * are rare). */
static void
on_alert(void *ctx, const struct ck_renew_alert *a)
{
	struct alerting *x = ctx;

	if (!x->tried) {
		x->tried = true;
		if (ck_notify_configure(x->cfg, &x->nc, NULL) != 0)
			x->nc = NULL;
	}
	ck_renew_alert_deliver(x->st, x->nc, a);
}

void
ck_api_agent_deployed(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	struct alerting x = {c->st, c->cfg, NULL, false};
	int r;

	if (agent_ok(c) != 0)
		return;
	body_text(c, &b);
	r = ck_agent_report_deploy(c->st, c->auth.agent, ck_http_param(c, 0),
	    b.p, c->now, on_alert, &x, &err);
	ck_notify_config_free(x.nc);
	ck_buf_release(&b);
	if (r != 0)
		ck_http_problem_err(c, r, &err);
	else
		ck_http_reply(
		    c, 200, "application/json", "{\"recorded\":true}\n", 18);
}

void
ck_api_agent_scan(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	int64_t n = 0;
	int r;

	if (agent_ok(c) != 0)
		return;
	body_text(c, &b);
	r = ck_agent_report_scan(c->st, c->auth.agent, b.p, c->now, &n, &err);
	ck_buf_reset(&b);
	if (r != 0) {
		ck_buf_release(&b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_printf(&b, "{\"recorded\":%lld}\n", (long long)n);
	ck_http_reply_buf(c, 200, "application/json", &b);
}

static int
on_agent(void *ctx, const struct ck_agent_row *a)
{
	struct ck_buf *b = ctx;
	bool f = true;

	if (b->p[b->len - 1] != '[')
		ck_buf_addc(b, ',');
	ck_buf_addc(b, '{');
	ck_json_kv_str(b, &f, "host", a->host);
	ck_json_kv_str(b, &f, "state", a->state);
	ck_json_kv_str(b, &f, "serial", a->serial);
	ck_json_kv_str(b, &f, "sha256", a->sha256);
	ck_json_kv_time(b, &f, "not_after", a->not_after);
	ck_json_kv_time(b, &f, "enrolled", a->enrolled);
	ck_json_kv_time(b, &f, "last_seen", a->last_seen);
	ck_json_kv_int(b, &f, "managed", a->n_managed);
	ck_buf_addc(b, '}');
	return 0;
}

void
ck_api_agents_list(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	int r;

	ck_buf_adds(&b, "{\"items\":[");
	if ((r = ck_store_agent_list(c->st, NULL, on_agent, &b, &err)) != 0) {
		ck_buf_release(&b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_adds(&b, "]}\n");
	ck_http_reply_buf(c, 200, "application/json", &b);
}
