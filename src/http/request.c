/*
 * One request's life: route matching, authentication (bearer token or
 * client certificate), the handler, the reply (whole or streamed), then
 * the access log line and the metrics. Handlers see only struct
 * ck_http_ctx and the functions below, never libevent.
 */
#include "http/http_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"

const double ck_http_lat_bounds[CK_HTTP_LAT_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

static struct reqctx *
rc_of(struct ck_http_ctx *c)
{
	return (struct reqctx *)c; /* c is the first member */
}

static enum ck_http_method
method_of(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET: return CK_HTTP_GET;
	case EVHTTP_REQ_HEAD: return CK_HTTP_HEAD;
	case EVHTTP_REQ_POST: return CK_HTTP_POST;
	case EVHTTP_REQ_PUT: return CK_HTTP_PUT;
	case EVHTTP_REQ_DELETE: return CK_HTTP_DELETE;
	case EVHTTP_REQ_PATCH: return CK_HTTP_PATCH;
	default: return CK_HTTP_OTHER;
	}
}

static const char *
method_name(enum ck_http_method m)
{
	switch (m) {
	case CK_HTTP_GET: return "GET";
	case CK_HTTP_HEAD: return "HEAD";
	case CK_HTTP_POST: return "POST";
	case CK_HTTP_PUT: return "PUT";
	case CK_HTTP_DELETE: return "DELETE";
	case CK_HTTP_PATCH: return "PATCH";
	default: return "OTHER";
	}
}

/* logfmt value: quoted when it holds spaces, quotes or '='. */
static void
logval(struct ck_buf *b, const char *v)
{
	bool q = *v == '\0' || strpbrk(v, " \"=\\") != NULL;

	if (q)
		ck_buf_addc(b, '"');
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		if (ch < 0x20 || ch == 0x7f) {
			ck_buf_printf(b, "\\x%02x", ch);
			continue;
		}
		if (q && (ch == '"' || ch == '\\'))
			ck_buf_addc(b, '\\');
		ck_buf_addc(b, (char)ch);
	}
	if (q)
		ck_buf_addc(b, '"');
}

void
ck_http_finish(struct reqctx *rc)
{
	struct ck_http_server *s = rc->w->s;
	uint64_t ns = ck_mono_ns() - rc->start_ns;
	struct ck_http_route_stats *st =
	    &s->stats[rc->m.route ? rc->m.index : s->o.n_routes];
	int cls = rc->status / 100;
	double secs = (double)ns / 1e9;
	size_t b = 0;

	if (cls >= 1 && cls <= 5)
		atomic_fetch_add_explicit(
		    &st->by_class[cls], 1, memory_order_relaxed);
	while (b < CK_HTTP_LAT_BUCKETS && secs > ck_http_lat_bounds[b])
		b++;
	atomic_fetch_add_explicit(&st->lat[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    &st->lat_sum_us, ns / 1000, memory_order_relaxed);
	if (ck_log_enabled(CK_LOG_INFO) &&
	    strcmp(ck_config_str(s->cfg, CK_CFG_ACCESS_LOG), "off") != 0) {
		struct ck_buf l = CK_BUF_INIT;
		ck_buf_printf(&l,
		    "msg=request method=%s path=", method_name(rc->c.method));
		logval(&l, rc->uri ? rc->uri : "");
		ck_buf_printf(&l,
		    " status=%d bytes=%zu dur_ms=%.3f actor=", rc->status,
		    rc->bytes_out, (double)ns / 1e6);
		logval(&l, rc->c.auth.actor[0] ? rc->c.auth.actor : "-");
		ck_log_fields(CK_LOG_INFO, l.p);
		ck_buf_release(&l);
	}
	rc->w->inflight--;
	if (rc->query_parsed)
		evhttp_clear_headers(&rc->query);
	rc->query_parsed = false;
	free(rc->uri);
	rc->uri = NULL;
	free(rc->path);
	rc->path = NULL;
	if (rc->deferred) {
		evhttp_clear_headers(&rc->in_headers);
		evhttp_clear_headers(&rc->out_headers);
		free(rc->body);
		free(rc->d_body);
		rc->body = rc->d_body = NULL;
	}
	/* dispatch still reads rc after the handler: it frees it then */
	if (rc->in_dispatch)
		rc->finished = true;
	else
		free(rc);
}

const char *
ck_http_param(const struct ck_http_ctx *c, size_t i)
{
	return i < c->m->n_params ? c->m->params[i] : NULL;
}

const char *
ck_http_query(struct ck_http_ctx *c, const char *name)
{
	struct reqctx *rc = rc_of(c);

	if (!rc->query_parsed) {
		const char *q =
		    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(c->req));
		TAILQ_INIT(&rc->query);
		rc->query_parsed = true;
		if (q != NULL && evhttp_parse_query_str(q, &rc->query) != 0)
			evhttp_clear_headers(&rc->query);
	}
	return evhttp_find_header(&rc->query, name);
}

bool
ck_http_query_unknown(
    struct ck_http_ctx *c, const char *const *known, const char **bad)
{
	struct reqctx *rc = rc_of(c);
	struct evkeyval *kv;

	(void)ck_http_query(c, "");
	TAILQ_FOREACH(kv, &rc->query, next)
	{
		size_t i = 0;
		while (known[i] != NULL && strcmp(known[i], kv->key) != 0)
			i++;
		if (known[i] == NULL) {
			*bad = kv->key;
			return true;
		}
	}
	return false;
}

const char *
ck_http_header(struct ck_http_ctx *c, const char *name)
{
	if (rc_of(c)->deferred)
		return evhttp_find_header(&rc_of(c)->in_headers, name);
	return evhttp_find_header(
	    evhttp_request_get_input_headers(c->req), name);
}

const uint8_t *
ck_http_body(struct ck_http_ctx *c, size_t *len)
{
	struct evbuffer *in;

	if (rc_of(c)->deferred) {
		*len = rc_of(c)->body_len;
		return *len ? (const uint8_t *)rc_of(c)->body : NULL;
	}
	in = evhttp_request_get_input_buffer(c->req);
	*len = evbuffer_get_length(in);
	if (*len == 0)
		return NULL;
	return evbuffer_pullup(in, -1);
}

const char *
ck_http_raw_path(struct ck_http_ctx *c)
{
	return rc_of(c)->path;
}

void
ck_http_set_header(struct ck_http_ctx *c, const char *name, const char *value)
{
	struct evkeyvalq *h = rc_of(c)->deferred
	    ? &rc_of(c)->out_headers
	    : evhttp_request_get_output_headers(c->req);

	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

static void
common_headers(struct ck_http_ctx *c, const char *ctype)
{
	struct evkeyvalq *h = rc_of(c)->deferred
	    ? &rc_of(c)->out_headers
	    : evhttp_request_get_output_headers(c->req);

	if (ctype != NULL)
		ck_http_set_header(c, "Content-Type", ctype);
	if (evhttp_find_header(h, "Cache-Control") == NULL)
		evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (atomic_load(&c->server->stopping))
		evhttp_add_header(h, "Connection", "close");
}

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	ck_http_deliver(arg);
}

/* In a job thread: the reply is made; the worker sends it. */
static void
post(struct reqctx *rc, int status, size_t len)
{
	static const struct timeval now = {0, 0};

	rc->d_status = status;
	rc->d_len = len;
	rc->status = status;
	rc->bytes_out = len;
	ck_http_job_replied = true;
	if (event_base_once(
	        rc->w->base, -1, EV_TIMEOUT, deliver_cb, rc, &now) != 0)
		ck_log(CK_LOG_ERROR, "a reply could not be handed back");
}

void
ck_http_deliver(struct reqctx *rc)
{
	struct evkeyvalq *h;
	struct evkeyval *kv;
	struct evbuffer *b;

	if (rc->gone) { /* evhttp freed the request with its connection */
		rc->status = 499;
		ck_http_finish(rc);
		return;
	}
	ck_http_conn_on_close(
	    rc->w, evhttp_request_get_connection(rc->c.req), NULL, NULL);
	h = evhttp_request_get_output_headers(rc->c.req);
	TAILQ_FOREACH(kv, &rc->out_headers, next)
	evhttp_add_header(h, kv->key, kv->value);
	b = evbuffer_new();
	if (b != NULL && rc->d_len > 0)
		evbuffer_add(b, rc->d_body, rc->d_len);
	evhttp_send_reply(rc->c.req, rc->d_status, NULL, b);
	if (b != NULL)
		evbuffer_free(b);
	ck_http_finish(rc);
}

/* The client left while a job thread had its request. */
static void
on_deferred_close(struct evhttp_connection *conn, void *arg)
{
	struct reqctx *rc = arg;

	(void)conn;
	rc->gone = true;
}

/* Copies what the handler may read, then queues the request. */
static void
defer(struct reqctx *rc)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(rc->c.req);
	struct evbuffer *body = evhttp_request_get_input_buffer(rc->c.req);
	struct evkeyval *kv;

	TAILQ_INIT(&rc->in_headers);
	TAILQ_INIT(&rc->out_headers);
	TAILQ_FOREACH(kv, in, next)
	evhttp_add_header(&rc->in_headers, kv->key, kv->value);
	/* headers set so far (by authentication) move to our list */
	TAILQ_FOREACH(kv, evhttp_request_get_output_headers(rc->c.req), next)
	evhttp_add_header(&rc->out_headers, kv->key, kv->value);
	evhttp_clear_headers(evhttp_request_get_output_headers(rc->c.req));
	rc->body_len = evbuffer_get_length(body);
	if (rc->body_len > 0 && (rc->body = malloc(rc->body_len)) != NULL)
		evbuffer_copyout(body, rc->body, rc->body_len);
	else
		rc->body_len = 0;
	(void)ck_http_query(&rc->c, ""); /* parsed here, read there */
	rc->deferred = true;
	ck_http_conn_on_close(rc->w, evhttp_request_get_connection(rc->c.req),
	    on_deferred_close, rc);
	ck_http_jobs_push(rc->w->s, rc);
}

void
ck_http_reply(struct ck_http_ctx *c, int status, const char *ctype,
    const void *body, size_t len)
{
	struct reqctx *rc = rc_of(c);
	struct evbuffer *b;

	if (rc->replied)
		return;
	rc->replied = true;
	common_headers(c, ctype);
	if (rc->deferred) {
		rc->d_body = malloc(len ? len : 1);
		if (rc->d_body != NULL && len > 0)
			memcpy(rc->d_body, body, len);
		post(rc, status, len);
		return;
	}
	b = evbuffer_new();
	if (b != NULL && len > 0)
		evbuffer_add(b, body, len);
	evhttp_send_reply(c->req, status, NULL, b);
	if (b != NULL)
		evbuffer_free(b);
	rc->status = status;
	rc->bytes_out = len;
	ck_http_finish(rc);
}

static void
free_buf(const void *data, size_t len, void *arg)
{
	(void)len, (void)arg;
	free((void *)data);
}

void
ck_http_reply_buf(
    struct ck_http_ctx *c, int status, const char *ctype, struct ck_buf *b)
{
	struct reqctx *rc = rc_of(c);
	struct evbuffer *eb;
	size_t len;
	char *p;

	if (rc->replied)
		return;
	rc->replied = true;
	common_headers(c, ctype);
	p = ck_buf_detach(b, &len);
	if (rc->deferred) {
		rc->d_body = p;
		post(rc, status, len);
		return;
	}
	eb = evbuffer_new();
	if (eb != NULL && p != NULL &&
	    evbuffer_add_reference(eb, p, len, free_buf, NULL) == 0)
		p = NULL;
	free(p);
	evhttp_send_reply(c->req, status, NULL, eb);
	if (eb != NULL)
		evbuffer_free(eb);
	rc->status = status;
	rc->bytes_out = len;
	ck_http_finish(rc);
}

void
ck_http_problem(
    struct ck_http_ctx *c, int status, const char *type, const char *fmt, ...)
{
	struct ck_buf d = CK_BUF_INIT, b = CK_BUF_INIT;
	bool first = true;
	char t[128];
	va_list ap;

	va_start(ap, fmt);
	ck_buf_vprintf(&d, fmt, ap);
	va_end(ap);
	snprintf(t, sizeof(t), "urn:certkeep:problem:%s", type);
	ck_buf_addc(&b, '{');
	ck_json_kv_str(&b, &first, "type", t);
	ck_json_kv_str(&b, &first, "title", type);
	ck_json_kv_int(&b, &first, "status", status);
	ck_json_kv_str(&b, &first, "detail", d.p ? d.p : "");
	ck_json_kv_str(&b, &first, "instance", rc_of(c)->uri);
	ck_buf_adds(&b, "}\n");
	ck_buf_release(&d);
	ck_http_reply_buf(c, status, "application/problem+json", &b);
}

void
ck_http_problem_err(struct ck_http_ctx *c, int code, const struct ck_err *err)
{
	const char *why = err && err->msg[0] ? err->msg : ck_strerror(code);

	switch (code) {
	case CK_E_NOTFOUND:
		ck_http_problem(c, 404, "not-found", "%s", why);
		break;
	case CK_E_EXISTS: ck_http_problem(c, 409, "conflict", "%s", why); break;
	case CK_E_INVAL:
	case CK_E_PARSE:
		ck_http_problem(c, 400, "bad-request", "%s", why);
		break;
	case CK_E_TOO_LARGE:
		ck_http_problem(c, 413, "too-large", "%s", why);
		break;
	case CK_E_PERM: ck_http_problem(c, 403, "forbidden", "%s", why); break;
	case CK_E_UNAVAILABLE:
	case CK_E_FULL:
	case CK_E_DB: ck_http_problem(c, 503, "unavailable", "%s", why); break;
	default: ck_http_problem(c, 500, "internal", "%s", why); break;
	}
}

/* ---- streaming ---- */

static void on_chunk_sent(struct evhttp_connection *conn, void *arg);

static void
stream_end(struct reqctx *rc, bool ok)
{
	struct evhttp_connection *conn =
	    evhttp_request_get_connection(rc->c.req);

	ck_http_conn_on_close(rc->w, conn, NULL, NULL);
	if (rc->stream.done != NULL)
		rc->stream.done(rc->stream.state);
	rc->stream.done = NULL;
	if (ok)
		evhttp_send_reply_end(rc->c.req);
	ck_http_finish(rc);
}

/* The client went away mid-stream: evhttp frees the request itself. */
static void
on_stream_close(struct evhttp_connection *conn, void *arg)
{
	struct reqctx *rc = arg;

	(void)conn;
	if (rc->stream.done != NULL)
		rc->stream.done(rc->stream.state);
	rc->stream.done = NULL;
	rc->status = 499;
	ck_http_finish(rc);
}

static void
stream_more(struct reqctx *rc)
{
	struct ck_buf b = CK_BUF_INIT;
	struct evbuffer *eb;
	int r = rc->stream.next(&rc->c, rc->stream.state, &b);

	if (r < 0) {
		ck_buf_release(&b);
		struct evhttp_connection *conn =
		    evhttp_request_get_connection(rc->c.req);
		ck_http_conn_on_close(rc->w, conn, NULL, NULL);
		if (rc->stream.done != NULL)
			rc->stream.done(rc->stream.state);
		rc->stream.done = NULL;
		evhttp_send_reply_end(rc->c.req);
		ck_http_finish(rc);
		return;
	}
	rc->bytes_out += b.len;
	if (b.len > 0) {
		size_t len;
		char *p = ck_buf_detach(&b, &len);
		eb = evbuffer_new();
		evbuffer_add_reference(eb, p, len, free_buf, NULL);
		if (r > 0) {
			evhttp_send_reply_chunk_with_cb(
			    rc->c.req, eb, on_chunk_sent, rc);
			evbuffer_free(eb);
			return;
		}
		evhttp_send_reply_chunk(rc->c.req, eb);
		evbuffer_free(eb);
	} else if (r > 0) {
		ck_buf_release(&b);
		stream_more(rc); /* nothing this round: ask again */
		return;
	}
	stream_end(rc, true);
}

static void
on_chunk_sent(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	stream_more(arg);
}

void
ck_http_stream(struct ck_http_ctx *c, int status, const char *ctype,
    ck_http_next_fn next, void (*done)(void *state), void *state)
{
	struct reqctx *rc = rc_of(c);

	if (rc->replied || rc->deferred) {
		if (done != NULL)
			done(state);
		if (!rc->replied)
			ck_http_problem(
			    c, 500, "internal", "a slow route cannot stream");
		return;
	}
	rc->replied = true;
	rc->status = status;
	rc->stream.next = next;
	rc->stream.done = done;
	rc->stream.state = state;
	common_headers(c, ctype);
	ck_http_conn_on_close(
	    rc->w, evhttp_request_get_connection(c->req), on_stream_close, rc);
	evhttp_send_reply_start(c->req, status, NULL);
	if (c->method == CK_HTTP_HEAD) {
		stream_end(rc, true);
		return;
	}
	stream_more(rc);
}

/* ---- dispatch ---- */

static const char *
peer_subject(struct ck_http_ctx *c, char *out, size_t cap)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(c->req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *peer;

	if (ssl == NULL || (peer = SSL_get0_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	X509_NAME_oneline(X509_get_subject_name(peer), out, (int)cap);
	return out;
}

static int
role_rank(enum ck_access a)
{
	return (int)a;
}

/* 0 when the caller may use the route; otherwise the reply is sent. */
static int
authorize(struct ck_http_ctx *c)
{
	struct ck_http_server *s = c->server;
	const struct ck_route *rt = c->m->route;
	const char *h = ck_http_header(c, "Authorization");
	char subj[256], sha[65];
	struct ck_err err = {0};

	if (rt->access == CK_ACCESS_PUBLIC)
		return 0;
	if (rt->access == CK_ACCESS_AGENT) {
		if (!c->tls ||
		    !ck_http_agent_peer(c, c->auth.agent, sizeof(c->auth.agent),
		        c->auth.peer_sha256)) {
			ck_http_problem(c, 401, "unauthorized",
			    "this resource needs an agent's client "
			    "certificate");
			return -1;
		}
		c->auth.role = CK_ACCESS_AGENT;
		snprintf(c->auth.actor, sizeof(c->auth.actor), "agent:%s",
		    c->auth.agent);
		return 0;
	}
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		const char *tok = h + 7;
		while (*tok == ' ')
			tok++;
		if (s->o.authenticate == NULL ||
		    s->o.authenticate(
		        s->o.arg, c->st, tok, c->now, &c->auth, &err) != 0) {
			ck_http_set_header(c, "WWW-Authenticate",
			    "Bearer error=\"invalid_token\"");
			ck_http_problem(c, 401, "unauthorized", "%s",
			    err.msg[0] ? err.msg : "token refused");
			return -1;
		}
	} else if (c->tls && *ck_config_str(s->cfg, CK_CFG_CLIENT_CA) != '\0' &&
	    !ck_http_agent_peer(c, subj, sizeof(subj), sha) &&
	    !ck_http_agent_ca_only(c) &&
	    peer_subject(c, subj, sizeof(subj)) != NULL) {
		/* an agent's certificate is for the agent's routes only; and
		 * one trusted only through the agent CA is none of
		 * client_ca's */
		const char *role = ck_config_str(s->cfg, CK_CFG_CLIENT_ROLE);
		static const char *names[] = {
		    "", "auditor", "enroller", "operator", "admin"};
		c->auth.role = CK_ACCESS_AUDITOR;
		for (int i = 1; i < 5; i++)
			if (strcmp(role, names[i]) == 0)
				c->auth.role = (enum ck_access)i;
		snprintf(c->auth.actor, sizeof(c->auth.actor), "mtls:%s", subj);
	} else {
		ck_http_set_header(c, "WWW-Authenticate", "Bearer");
		ck_http_problem(c, 401, "unauthorized",
		    "this resource needs a bearer token "
		    "(Authorization: Bearer ...) or a client certificate");
		return -1;
	}
	/* enrollers only enroll: reads are for auditors and up */
	if (role_rank(c->auth.role) < role_rank(rt->access) ||
	    (c->auth.role == CK_ACCESS_ENROLLER &&
	        rt->access != CK_ACCESS_ENROLLER)) {
		ck_http_problem(c, 403, "forbidden",
		    "%s may not do this (needs the %s role)", c->auth.actor,
		    rt->access == CK_ACCESS_ADMIN          ? "admin"
		        : rt->access == CK_ACCESS_OPERATOR ? "operator"
		        : rt->access == CK_ACCESS_ENROLLER ? "enroller"
		                                           : "auditor");
		return -1;
	}
	return 0;
}

/*
 * The configured size limits, answered with problem documents: headers
 * (request line included) over max_header_bytes get 431 (RFC 6585),
 * bodies over max_body_bytes 413. True when answered.
 */
static bool
over_limits(struct reqctx *rc)
{
	struct evhttp_request *req = rc->c.req;
	struct evkeyval *kv;
	int64_t l[6];
	size_t hdr = strlen(rc->uri ? rc->uri : "") + 16, body;

	ck_http_limits(rc->w->s, l);
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
	hdr += strlen(kv->key) + strlen(kv->value) + 4;
	if ((int64_t)hdr > l[0]) {
		ck_http_set_header(&rc->c, "Connection", "close");
		ck_http_problem(&rc->c, 431, "headers-too-large",
		    "request headers of %zu bytes, the limit is %lld", hdr,
		    (long long)l[0]);
		return true;
	}
	body = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	if ((int64_t)body > l[1]) {
		ck_http_set_header(&rc->c, "Connection", "close");
		ck_http_problem(&rc->c, 413, "too-large",
		    "a body of %zu bytes, the limit is %lld", body,
		    (long long)l[1]);
		return true;
	}
	return false;
}

void
ck_http_dispatch(struct evhttp_request *req, void *arg)
{
	struct door *d = arg;
	struct worker *w = d->w;
	struct ck_http_server *s = w->s;
	struct reqctx *rc;
	struct ck_err err = {0};
	const char *path;
	int r;

	ck_http_worker_refresh(w);
	ck_http_conn_answering(w, req);
	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	rc->w = w;
	rc->start_ns = ck_mono_ns();
	rc->c.server = s;
	rc->c.st = w->st;
	rc->c.cfg = s->cfg;
	rc->c.m = &rc->m;
	rc->c.req = req;
	rc->c.tls = d->tls;
	rc->c.now = ck_now();
	rc->c.method = method_of(req);
	rc->c.stream = &rc->stream;
	/* kept for the access log: the request may be gone by then (a
	 * client that left mid-stream) */
	rc->uri = strdup(evhttp_request_get_uri(req));
	{
		const char *p =
		    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
		rc->path = strdup(p != NULL ? p : "/");
	}
	w->inflight++;
	rc->in_dispatch = true;
	path = ck_http_raw_path(&rc->c);
	r = ck_route_find(
	    s->o.routes, s->o.n_routes, rc->c.method, path, &rc->m, &err);
	if (over_limits(rc)) {
		/* answered */
	} else if (r == CK_E_INVAL) {
		ck_http_problem(&rc->c, 400, "malformed", "%s", err.msg);
	} else if (r == CK_E_PERM) {
		char allow[64];
		ck_http_methods_str(rc->m.allowed, allow, sizeof(allow));
		ck_http_set_header(&rc->c, "Allow", allow);
		ck_http_problem(&rc->c, 405, "method-not-allowed",
		    "%s takes %s", path, allow);
	} else if (r != 0) {
		ck_http_problem(
		    &rc->c, 404, "not-found", "no resource %s", path);
	} else if (!d->tls && !rc->m.route->plain) {
		ck_http_problem(&rc->c, 403, "https-required",
		    "%s is served over HTTPS only", path);
	} else if (authorize(&rc->c) != 0) {
		/* answered */
	} else if (rc->m.route->slow && s->jobs_started) {
		rc->in_dispatch = false;
		defer(rc); /* rc belongs to the job thread now */
		return;
	} else {
		rc->m.route->fn(&rc->c);
		if (!rc->replied)
			ck_http_problem(&rc->c, 500, "internal", "no reply");
	}
	rc->in_dispatch = false;
	if (rc->finished)
		free(rc);
}
