/*
 * Connections, TLS and plain alike: counted against max_connections (the
 * listeners pause at the limit), and each given a total deadline for
 * receiving a request, which evhttp 2.1 does not have: its timeout is per
 * read, so a client trickling one byte a second would hold a connection
 * for ever.
 *
 * evhttp 2.1 tells nobody when it accepts or frees a connection. We make
 * the bufferevent (evhttp_set_bevcb), so we see the accept; the
 * evhttp_connection evhttp builds around it right after is found
 * through the bufferevent's callback argument in a zero-delay event
 * ("adoption"), which then sets the connection's close callback: that is
 * our free notice. Until adoption we hold a reference on the
 * bufferevent, so it cannot vanish under us.
 *
 * Per connection, the deadline:
 *   accepted --adopt: arm--> reading --whole request: dispatch, disarm-->
 *   answering --response sent--> idle --first byte: arm--> reading ...
 *   reading --deadline--> connection freed (logged)
 * Everything here runs in the worker thread that owns the connection.
 */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "base/clock.h"
#include "base/log.h"

enum conn_state { CONN_READING, CONN_ANSWERING, CONN_IDLE };

struct ck_http_conn {
	struct worker *w;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	struct event *deadline; /* pending while a deadline may be running */
	uint64_t due_ns; /* the running deadline (reading), ck_mono_ns() */
	struct evbuffer_cb_entry *input_cb;
	enum conn_state state;
	/* request.c's interest in the close (a deferred or streamed reply) */
	void (*on_close)(struct evhttp_connection *, void *);
	void *on_close_arg;
	struct ck_http_conn *hnext; /* hash chain */
	struct ck_http_conn *pnext; /* waiting for adoption */
};

static size_t
bucket(const struct evhttp_connection *evcon)
{
	return ((uintptr_t)evcon >> 4) % CK_HTTP_CONN_BUCKETS;
}

static struct ck_http_conn *
find(struct worker *w, const struct evhttp_connection *evcon)
{
	struct ck_http_conn *c = w->conn_table[bucket(evcon)];

	while (c != NULL && c->evcon != evcon)
		c = c->hnext;
	return c;
}

void
ck_http_worker_pause(struct worker *w, bool paused)
{
	if (w->paused == paused || w->draining)
		return;
	w->paused = paused;
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < w->n_lis[k]; i++) {
			if (w->lis[k][i] == NULL)
				continue;
			if (paused)
				evconnlistener_disable(w->lis[k][i]);
			else
				evconnlistener_enable(w->lis[k][i]);
		}
}

static void
count_down(struct worker *w)
{
	int n = atomic_fetch_sub(&w->conns, 1) - 1;

	if (w->paused && n < w->max_conns)
		ck_http_worker_pause(w, false);
}

/*
 * The timer is lazy: arming a request's deadline only notes when it is
 * due (the monotonic clock, read through the vDSO), and the timer event is
 * added only when it is not pending already. When it fires it drops the
 * client if a request is still being read past its due time, else waits
 * for the time left, or stops while the connection is idle or answered.
 * Two heap operations per request were measurable on the OCSP path.
 */
static void
arm(struct ck_http_conn *c)
{
	struct timeval d = {(time_t)c->w->deadline_s, 0};

	c->state = CONN_READING;
	if (c->w->deadline_s <= 0) /* 0: none */
		return;
	c->due_ns = ck_mono_ns() + (uint64_t)c->w->deadline_s * 1000000000u;
	if (!event_pending(c->deadline, EV_TIMEOUT, NULL))
		event_add(c->deadline, &d);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct ck_http_conn *c = arg;
	uint64_t now = ck_mono_ns();

	(void)fd, (void)what;
	if (c->state != CONN_READING)
		return; /* armed again by the next request */
	if (now < c->due_ns) {
		uint64_t left = c->due_ns - now;
		struct timeval tv = {(time_t)(left / 1000000000u),
		    (suseconds_t)(left % 1000000000u / 1000u + 1)};
		event_add(c->deadline, &tv);
		return;
	}
	atomic_fetch_add(&c->w->s->deadline_drops, 1);
	ck_log(CK_LOG_INFO,
	    "request_deadline: dropping a client whose request did not "
	    "arrive in full within %llds",
	    (long long)c->w->deadline_s);
	evhttp_connection_free(c->evcon); /* calls on_closed: c is gone */
}

/* The first byte of the next request starts its deadline. */
static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct ck_http_conn *c = arg;

	(void)buf;
	if (info->n_added > 0 && c->state == CONN_IDLE)
		arm(c);
}

static void
on_closed(struct evhttp_connection *evcon, void *arg)
{
	struct ck_http_conn *c = arg, **pp;
	struct worker *w = c->w;

	if (c->on_close != NULL)
		c->on_close(evcon, c->on_close_arg);
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
	for (pp = &w->conn_table[bucket(evcon)]; *pp != c; pp = &(*pp)->hnext)
		;
	*pp = c->hnext;
	event_free(c->deadline);
	free(c);
	count_down(w);
}

static void
adopt(struct worker *w, struct ck_http_conn *c)
{
	void *arg = NULL;
	struct bufferevent *bev = c->bev;

	bufferevent_getcb(bev, NULL, NULL, NULL, &arg);
	if (arg == NULL) {
		/* evhttp did not keep it: it freed it (our reference keeps
		 * the memory), or never built a connection around it and
		 * left it to us (no socket was ever set) */
		if (bufferevent_getfd(bev) == -1)
			bufferevent_free(bev);
		bufferevent_decref(bev);
		free(c);
		count_down(w);
		return;
	}
	c->evcon = arg;
	c->deadline = event_new(w->base, -1, 0, on_deadline, c);
	c->input_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
	if (c->deadline == NULL || c->input_cb == NULL) {
		if (c->input_cb != NULL)
			evbuffer_remove_cb_entry(
			    bufferevent_get_input(bev), c->input_cb);
		if (c->deadline != NULL)
			event_free(c->deadline);
		bufferevent_decref(bev);
		evhttp_connection_free(c->evcon); /* no close callback yet */
		free(c);
		count_down(w);
		return;
	}
	c->hnext = w->conn_table[bucket(c->evcon)];
	w->conn_table[bucket(c->evcon)] = c;
	evhttp_connection_set_closecb(c->evcon, on_closed, c);
	arm(c); /* the first request, TLS handshake included */
	bufferevent_decref(bev);
}

static void
on_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct ck_http_conn *c;

	(void)fd, (void)what;
	while ((c = w->conn_pending) != NULL) {
		w->conn_pending = c->pnext;
		adopt(w, c);
	}
}

struct bufferevent *
ck_http_conn_bev(struct event_base *base, void *arg)
{
	struct door *d = arg;
	struct worker *w = d->w;
	struct bufferevent *bev;
	struct ck_http_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (d->tls) {
		SSL *ssl;
		pthread_mutex_lock(&w->s->ssl_mu);
		ssl = SSL_new(w->s->ssl);
		pthread_mutex_unlock(&w->s->ssl_mu);
		bev = ssl == NULL
		    ? NULL
		    : bufferevent_openssl_socket_new(base, -1, ssl,
		          BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL && ssl != NULL)
			SSL_free(ssl);
	} else {
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (bev == NULL) {
		free(c);
		return NULL;
	}
	c->w = w;
	c->bev = bev;
	bufferevent_incref(bev); /* until adoption */
	c->pnext = w->conn_pending;
	w->conn_pending = c;
	event_active(w->conn_adopt, EV_TIMEOUT, 0);
	if (atomic_fetch_add(&w->conns, 1) + 1 >= w->max_conns)
		ck_http_worker_pause(
		    w, true); /* new ones wait in the backlog */
	return bev;
}

/* The response went out: the connection waits for its next request,
 * whose deadline starts with its first byte (or now, if it came already
 * while we answered). */
static void
on_complete(struct evhttp_request *req, void *arg)
{
	struct ck_http_conn *c = arg;

	(void)req;
	c->state = CONN_IDLE;
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		arm(c);
}

void
ck_http_conn_answering(struct worker *w, struct evhttp_request *req)
{
	struct ck_http_conn *c = find(w, evhttp_request_get_connection(req));

	if (c == NULL)
		return;
	c->state = CONN_ANSWERING; /* the lazy timer stops when it fires */
	evhttp_request_set_on_complete_cb(req, on_complete, c);
}

void
ck_http_conn_on_close(struct worker *w, struct evhttp_connection *evcon,
    void (*fn)(struct evhttp_connection *, void *), void *arg)
{
	struct ck_http_conn *c = evcon != NULL ? find(w, evcon) : NULL;

	if (c == NULL)
		return;
	c->on_close = fn;
	c->on_close_arg = arg;
}

int
ck_http_conn_init(struct worker *w)
{
	w->conn_adopt = event_new(w->base, -1, 0, on_adopt, w);
	return w->conn_adopt != NULL ? 0 : -1;
}

void
ck_http_conn_release(struct worker *w)
{
	/* evhttp_free ran first: every adopted connection is closed */
	if (w->conn_adopt != NULL)
		on_adopt(-1, 0, w);
	if (w->conn_adopt != NULL)
		event_free(w->conn_adopt);
	w->conn_adopt = NULL;
}
