/*
 * The server's plumbing: listening sockets (SO_REUSEPORT, one set per
 * worker), the TLS context and its reload, worker threads each with their
 * own event loop, evhttp and store handle, connection limits, and the main
 * thread's signals (SIGTERM/SIGINT drain and stop, SIGHUP reloads) and the
 * server certificate's renewal timer.
 *
 *   start --ck_http_server_new--> running --SIGHUP: reload()--> running
 *   running --SIGTERM: stop_workers()--> draining (listeners closed,
 *   requests in flight finish, drain_tick) --> stopped (loops exit)
 */
#include "http/http_int.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "base/log.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
init_once(void)
{
	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN);
}

static int
ssl_fail(struct ck_err *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return ck_err_set(err, CK_E_CRYPTO, "%s: %s", what, buf);
}

static int agent_ca_idx = -1;
static pthread_once_t agent_ca_once = PTHREAD_ONCE_INIT;

static void
agent_ca_free(
    void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct ck_http_agent_trust *t = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (t != NULL)
		X509_free(t->ca);
	free(t);
}

static void
agent_ca_init(void)
{
	agent_ca_idx =
	    SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, agent_ca_free);
}

int
ck_http_agent_ca_index(void)
{
	pthread_once(&agent_ca_once, agent_ca_init);
	return agent_ca_idx;
}

/* Agents' client certificates: their CA is trusted for client
 * certificates (asked for, not required) and kept with the context, so
 * that authorize() tells an agent from other mTLS clients. */
/* True when the PEM file client_ca holds ca or the CA that issued it. */
static bool
client_ca_trusts(const char *client_ca, X509 *ca)
{
	BIO *b;
	X509 *x;
	bool yes = false;

	if (client_ca == NULL || *client_ca == '\0' ||
	    (b = BIO_new_file(client_ca, "r")) == NULL)
		return false;
	while (!yes && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		yes = X509_cmp(x, ca) == 0 ||
		    X509_check_issued(x, ca) == X509_V_OK;
		X509_free(x);
	}
	BIO_free(b);
	ERR_clear_error(); /* the end of the file */
	return yes;
}

static int
load_agent_ca(struct ck_http_server *s, SSL_CTX *ctx, struct ck_err *err)
{
	const char *f = s->o.agent_ca_file;
	struct ck_http_agent_trust *t;
	BIO *b;
	X509 *ca;

	if (f == NULL || *f == '\0' || access(f, R_OK) != 0)
		return 0;
	if ((b = BIO_new_file(f, "r")) == NULL)
		return ssl_fail(err, f);
	ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (ca == NULL)
		return ssl_fail(err, f);
	if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) != 1)
		ERR_clear_error(); /* the same CA in client_ca already */
	/* the agent CA is an intermediate (under certkeep-root): it is the
	 * anchor itself, so that its root does not vouch for other client
	 * certificates */
	X509_STORE_set_flags(
	    SSL_CTX_get_cert_store(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	SSL_CTX_add_client_CA(ctx, ca);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	SSL_CTX_set_session_id_context(
	    ctx, (const unsigned char *)"certkeep", 8);
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		X509_free(ca);
		return ck_err_set(err, CK_E_INTERNAL, "agent CA: no memory");
	}
	t->ca = ca;
	t->in_client_ca =
	    client_ca_trusts(ck_config_str(s->cfg, CK_CFG_CLIENT_CA), ca);
	if (SSL_CTX_set_ex_data(ctx, ck_http_agent_ca_index(), t) != 1) {
		X509_free(ca);
		free(t);
		return ssl_fail(err, "agent CA");
	}
	return 0;
}

/* A TLS context for the cert and key files: TLS 1.2 and 1.3, forward
 * secret AEAD suites only, client certificates asked for when client_ca
 * is set (optional: tokens still work without one). */
static int
make_ssl(struct ck_http_server *s, SSL_CTX **out, struct ck_err *err)
{
	const char *client_ca = ck_config_str(s->cfg, CK_CFG_CLIENT_CA);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int r;

	*out = NULL;
	if (ctx == NULL)
		return ssl_fail(err, "tls");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	        SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(ctx,
	        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") !=
	    1) {
		r = ssl_fail(err, "tls ciphers");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, s->cert_path) != 1) {
		r = ssl_fail(err, s->cert_path);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, s->key_path, SSL_FILETYPE_PEM) !=
	    1) {
		r = ssl_fail(err, s->key_path);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		r = ssl_fail(err, "server key does not match its certificate");
		goto fail;
	}
	if (client_ca != NULL && *client_ca != '\0') {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1 ||
		    names == NULL) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			r = ssl_fail(err, client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_verify_depth(ctx, 4);
		SSL_CTX_set_session_id_context(
		    ctx, (const unsigned char *)"certkeep", 8);
	}
	if ((r = load_agent_ca(s, ctx, err)) != 0)
		goto fail;
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return r;
}

/* (Re)loads the server certificate, asking ensure_cert to issue or renew
 * it first; the new context serves new connections. */
static int
load_tls(struct ck_http_server *s, struct ck_err *err)
{
	SSL_CTX *ctx, *old;
	int r;

	if (s->o.ensure_cert != NULL &&
	    (r = s->o.ensure_cert(s->o.arg, s->cert_path, s->key_path, err)) !=
	        0)
		return r;
	if ((r = make_ssl(s, &ctx, err)) != 0)
		return r;
	pthread_mutex_lock(&s->ssl_mu);
	old = s->ssl;
	s->ssl = ctx;
	pthread_mutex_unlock(&s->ssl_mu);
	SSL_CTX_free(old); /* live connections hold their own reference */
	return 0;
}

void
ck_http_limits(struct ck_http_server *s, int64_t out[6])
{
	const struct ck_config *c;

	pthread_mutex_lock(&s->cfg_mu);
	c = s->have_reloaded ? &s->reloaded : s->cfg;
	out[0] = ck_config_int(c, CK_CFG_MAX_HEADER);
	out[1] = ck_config_int(c, CK_CFG_MAX_BODY);
	out[2] = ck_config_int(c, CK_CFG_REQUEST_TIMEOUT);
	out[3] = ck_config_int(c, CK_CFG_IDLE_TIMEOUT);
	out[4] = ck_config_int(c, CK_CFG_MAX_CONNECTIONS);
	out[5] = ck_config_int(c, CK_CFG_REQUEST_DEADLINE);
	pthread_mutex_unlock(&s->cfg_mu);
}

/*
 * evhttp has one timeout for reading a request and for an idle keep-alive
 * connection; we give it the shorter, and request_timeout also bounds
 * writes. The total deadline per request is conn.c's.
 */
static void
apply_limits(struct worker *w)
{
	int64_t l[6];

	ck_http_limits(w->s, l);
	for (int k = 0; k < 2; k++) {
		if (w->http[k] == NULL)
			continue;
		struct timeval tv = {l[2] < l[3] ? l[2] : l[3], 0};
		/* evhttp enforces a looser bound (its answer is a plain 400
		 * or 413 page); the configured limits are checked in
		 * dispatch, which answers with a problem document */
		evhttp_set_max_headers_size(
		    w->http[k], l[0] * 4 > 65536 ? l[0] * 4 : 65536);
		evhttp_set_max_body_size(w->http[k], l[1] + 65536);
		evhttp_set_timeout_tv(w->http[k], &tv);
	}
	w->max_conns = l[4] > 0 ? l[4] : 1;
	w->deadline_s = l[5];
}

/* Opens one listening socket for host:port with SO_REUSEPORT so that
 * every worker has its own and the kernel spreads connections. */
static int
listen_one(const char *addr, int *port_io, int *fd_out, struct ck_err *err)
{
	char host[256], port[16];
	const char *colon = strrchr(addr, ':');
	struct addrinfo hints = {0}, *ai = NULL;
	int fd = -1, one = 1, r;
	size_t hl;

	if (colon == NULL || colon == addr)
		return ck_err_set(
		    err, CK_E_INVAL, "listen '%s': want host:port", addr);
	hl = (size_t)(colon - addr);
	if (addr[0] == '[' && hl > 2 && addr[hl - 1] == ']')
		memcpy(host, addr + 1, hl - 2), host[hl - 2] = '\0';
	else if (hl < sizeof(host))
		memcpy(host, addr, hl), host[hl] = '\0';
	else
		return ck_err_set(
		    err, CK_E_INVAL, "listen '%s': bad host", addr);
	snprintf(port, sizeof(port), "%d",
	    *port_io > 0 ? *port_io : atoi(colon + 1));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((r = getaddrinfo(host, port, &hints, &ai)) != 0)
		return ck_err_set(
		    err, CK_E_INVAL, "listen '%s': %s", addr, gai_strerror(r));
	fd = socket(
	    ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    /* inherited by accepted sockets on Linux: a TLS reply goes out
	     * as two records (headers, body), and Nagle would hold the
	     * second for the client's delayed ACK (40 ms) */
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, 4096) != 0) {
		r = ck_err_set(
		    err, CK_E_IO, "listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return r;
	}
	freeaddrinfo(ai);
	if (*port_io <= 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		*port_io = ss.ss_family == AF_INET6
		    ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
		    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	*fd_out = fd;
	return 0;
}

/* Binds worker w's listeners of one kind (0 TLS, 1 plain). For ":0" the
 * first worker learns the port and the others bind the same one. */
static int
bind_kind(struct worker *w, int kind, struct ck_err *err)
{
	const char *list = ck_config_str(
	    w->s->cfg, kind == 0 ? CK_CFG_LISTEN : CK_CFG_LISTEN_PLAIN);
	char *copy = strdup(list), *save = NULL, *a;
	int r = 0;

	if (copy == NULL)
		return ck_err_set(err, CK_E_INTERNAL, "out of memory");
	for (a = strtok_r(copy, ", ", &save); a != NULL;
	     a = strtok_r(NULL, ", ", &save)) {
		int i = w->n_lis[kind], fd = -1;
		int port = w->s->lport[kind][i];
		if (i == CK_HTTP_MAX_LISTEN) {
			r = ck_err_set(err, CK_E_INVAL, "too many listeners");
			break;
		}
		if ((r = listen_one(a, &port, &fd, err)) != 0)
			break;
		w->s->lport[kind][i] = port;
		if (w->s->port[kind] == 0)
			w->s->port[kind] = port;
		/* backlog 0: listen() was called with ours (libevent would
		 * otherwise call it again with 128) */
		struct evconnlistener *l = evconnlistener_new(
		    w->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, 0, fd);
		if (l == NULL) {
			close(fd);
			r = ck_err_set(err, CK_E_IO, "listener %s", a);
			break;
		}
		w->lis[kind][i] = l;
		w->bound[kind][i] = evhttp_bind_listener(w->http[kind], l);
		w->n_lis[kind]++;
	}
	free(copy);
	return r;
}

static void
drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd, (void)what;
	if (w->inflight == 0 || ck_mono_ns() >= w->drain_until_ns)
		event_base_loopexit(w->base, NULL);
}

/* Runs in the worker when the main thread asks it to stop: stop
 * accepting, then exit once the requests in flight are answered. */
static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = {0, 50000};

	(void)fd, (void)what;
	if (!atomic_load(&w->s->stopping) || w->draining)
		return;
	w->draining = true;
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < w->n_lis[k]; i++) {
			evhttp_del_accept_socket(w->http[k], w->bound[k][i]);
			w->bound[k][i] = NULL;
			w->lis[k][i] = NULL; /* freed with the bound socket */
		}
	w->drain_until_ns = ck_mono_ns() +
	    (uint64_t)ck_config_int(w->s->cfg, CK_CFG_DRAIN_TIMEOUT) *
	        1000000000ull;
	w->tick = event_new(w->base, -1, EV_PERSIST, drain_tick, w);
	event_add(w->tick, &tv);
	drain_tick(-1, 0, w);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

static int
worker_init(struct worker *w, struct ck_err *err)
{
	struct ck_http_server *s = w->s;
	int r;

	if ((w->base = event_base_new()) == NULL || ck_http_conn_init(w) != 0)
		return ck_err_set(err, CK_E_INTERNAL, "event_base_new");
	if ((r = ck_store_open(
	         ck_config_str(s->cfg, CK_CFG_DATABASE), &w->st, err)) != 0)
		return r;
	for (int k = 0; k < 2; k++) {
		const char *list = ck_config_str(
		    s->cfg, k == 0 ? CK_CFG_LISTEN : CK_CFG_LISTEN_PLAIN);
		if (list == NULL || *list == '\0')
			continue;
		if ((w->http[k] = evhttp_new(w->base)) == NULL)
			return ck_err_set(err, CK_E_INTERNAL, "evhttp_new");
		w->door[k].w = w;
		w->door[k].tls = k == 0;
		evhttp_set_allowed_methods(w->http[k],
		    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
		        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
		        EVHTTP_REQ_OPTIONS);
		evhttp_set_gencb(w->http[k], ck_http_dispatch, &w->door[k]);
		evhttp_set_bevcb(w->http[k], ck_http_conn_bev, &w->door[k]);
		if ((r = bind_kind(w, k, err)) != 0)
			return r;
	}
	apply_limits(w);
	w->limits_seen = atomic_load(&w->limits_gen);
	w->wake = event_new(w->base, -1, 0, on_wake, w);
	return 0;
}

static void
worker_release(struct worker *w)
{
	if (w->tick != NULL)
		event_free(w->tick);
	if (w->wake != NULL)
		event_free(w->wake);
	for (int k = 0; k < 2; k++)
		if (w->http[k] != NULL)
			evhttp_free(w->http[k]); /* and its listeners */
	ck_http_conn_release(w);
	ck_store_free(w->st);
	if (w->base != NULL)
		event_base_free(w->base);
}

/* Raises the open-file limit to the hard limit: each connection is a
 * file descriptor, and 1024 is a common soft default. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
ck_http_server_new(const struct ck_http_opts *o, struct ck_http_server **out,
    struct ck_err *err)
{
	struct ck_http_server *s;
	const char *dir = ck_config_str(o->cfg, CK_CFG_DATA_DIR);
	const char *cert = ck_config_str(o->cfg, CK_CFG_TLS_CERT);
	const char *key = ck_config_str(o->cfg, CK_CFG_TLS_KEY);
	int64_t n = ck_config_int(o->cfg, CK_CFG_WORKERS);
	sigset_t set;
	int r;

	*out = NULL;
	pthread_once(&once, init_once);
	raise_nofile();
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ck_err_set(err, CK_E_INTERNAL, "out of memory");
	s->cfg = o->cfg;
	s->o = *o;
	pthread_mutex_init(&s->cfg_mu, NULL);
	pthread_mutex_init(&s->ssl_mu, NULL);
	snprintf(s->cert_path, sizeof(s->cert_path), "%s", *cert ? cert : "");
	snprintf(s->key_path, sizeof(s->key_path), "%s", *key ? key : "");
	if (!*cert)
		snprintf(
		    s->cert_path, sizeof(s->cert_path), "%s/server.pem", dir);
	if (!*key)
		snprintf(
		    s->key_path, sizeof(s->key_path), "%s/server.key", dir);
	if ((s->stats = calloc(o->n_routes + 1, sizeof(*s->stats))) == NULL) {
		free(s);
		return ck_err_set(err, CK_E_INTERNAL, "out of memory");
	}
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	if (n > 64)
		n = 64;
	s->n_workers = (int)n;
	if ((s->w = calloc((size_t)n, sizeof(*s->w))) == NULL) {
		r = ck_err_set(err, CK_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (*ck_config_str(o->cfg, CK_CFG_LISTEN) &&
	    (r = load_tls(s, err)) != 0)
		goto fail;
	for (int i = 0; i < s->n_workers; i++) {
		s->w[i].s = s;
		s->w[i].idx = i;
		if ((r = worker_init(&s->w[i], err)) != 0)
			goto fail;
	}
	for (size_t i = 0; i < o->n_routes; i++)
		if (o->routes[i].slow && !s->jobs_started &&
		    (r = ck_http_jobs_start(s,
		         (int)ck_config_int(o->cfg, CK_CFG_JOB_THREADS),
		         err)) != 0)
			goto fail;
	/* Workers inherit the mask: the signals are left for run() to take
	 * with sigtimedwait in the main thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < s->n_workers; i++) {
		if (pthread_create(&s->w[i].th, NULL, worker_main, &s->w[i]) !=
		    0) {
			r = ck_err_set(err, CK_E_INTERNAL, "pthread_create");
			goto fail;
		}
		s->w[i].started = true;
	}
	*out = s;
	return 0;
fail:
	ck_http_server_free(s);
	return r;
}

static void
stop_workers(struct ck_http_server *s)
{
	atomic_store(&s->stopping, 1);
	for (int i = 0; i < s->n_workers; i++)
		if (s->w[i].wake != NULL)
			event_active(s->w[i].wake, 0, 0);
}

static void
reload(struct ck_http_server *s)
{
	struct ck_config c;
	struct ck_err err = {0};
	enum ck_log_level lvl;

	if (ck_config_load(s->cfg->path, &c, &err) != 0) {
		ck_log(CK_LOG_ERROR, "reload: %s; keeping the old settings",
		    err.msg);
		return;
	}
	if (s->o.reloaded != NULL && s->o.reloaded(s->o.arg, &c, &err) != 0) {
		ck_log(CK_LOG_ERROR, "reload: %s; keeping the old settings",
		    err.msg);
		ck_config_release(&c);
		return;
	}
	if (ck_log_level_parse(ck_config_str(&c, CK_CFG_LOG_LEVEL), &lvl) == 0)
		ck_log_set_level(lvl);
	pthread_mutex_lock(&s->cfg_mu);
	if (s->have_reloaded)
		ck_config_release(&s->reloaded);
	s->reloaded = c;
	s->have_reloaded = true;
	pthread_mutex_unlock(&s->cfg_mu);
	for (int i = 0; i < s->n_workers; i++)
		atomic_fetch_add(&s->w[i].limits_gen, 1);
	if (s->ssl != NULL && load_tls(s, &err) != 0)
		ck_log(CK_LOG_ERROR,
		    "reload: server certificate: %s; keeping the old one",
		    err.msg);
	ck_log(CK_LOG_INFO, "reloaded %s", s->cfg->path ? s->cfg->path : "");
}

/* In the worker: limits changed by a reload are applied before the next
 * request is read further. */
void
ck_http_worker_refresh(struct worker *w)
{
	int g = atomic_load(&w->limits_gen);

	if (g != w->limits_seen) {
		w->limits_seen = g;
		apply_limits(w);
	}
}

int
ck_http_server_run(struct ck_http_server *s, struct ck_err *err)
{
	sigset_t set;
	int sig;
	/* maintenance every 5 minutes (first right away); the server
	 * certificate looked at twice a day */
	struct timespec tick = {300, 0};
	uint64_t last_tls = ck_mono_ns();

	/* blocked in every thread since ck_http_server_new: taken here */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (s->o.tick != NULL)
		s->o.tick(s->o.arg);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGHUP) {
			reload(s);
			continue;
		}
		if (sig < 0 && errno == EAGAIN) {
			if (s->o.tick != NULL)
				s->o.tick(s->o.arg);
			if (s->ssl != NULL &&
			    ck_mono_ns() - last_tls >
			        12 * 3600 * 1000000000ull) {
				last_tls = ck_mono_ns();
				if (load_tls(s, err) != 0)
					ck_log(CK_LOG_ERROR,
					    "server certificate renewal: %s",
					    err->msg);
			}
			continue;
		}
		if (sig < 0 && errno == EINTR)
			continue;
		break;
	}
	ck_log(CK_LOG_INFO, "%s: draining, then stopping",
	    sig == SIGINT ? "SIGINT" : "SIGTERM");
	stop_workers(s);
	for (int i = 0; i < s->n_workers; i++)
		if (s->w[i].started) {
			pthread_join(s->w[i].th, NULL);
			s->w[i].started = false;
		}
	ck_http_jobs_stop(s);
	return 0;
}

void
ck_http_server_free(struct ck_http_server *s)
{
	if (s == NULL)
		return;
	if (s->w != NULL) {
		stop_workers(s);
		for (int i = 0; i < s->n_workers; i++)
			if (s->w[i].started)
				pthread_join(s->w[i].th, NULL);
		ck_http_jobs_stop(s);
		for (int i = 0; i < s->n_workers; i++)
			worker_release(&s->w[i]);
	}
	free(s->w);
	SSL_CTX_free(s->ssl);
	if (s->have_reloaded)
		ck_config_release(&s->reloaded);
	pthread_mutex_destroy(&s->cfg_mu);
	pthread_mutex_destroy(&s->ssl_mu);
	free(s->stats);
	free(s);
}

int
ck_http_server_port(const struct ck_http_server *s, int kind)
{
	return s->port[kind & 1];
}

const struct ck_http_route_stats *
ck_http_server_stats(const struct ck_http_server *s, size_t *n)
{
	*n = s->o.n_routes + 1;
	return s->stats;
}

int64_t
ck_http_server_connections(const struct ck_http_server *s)
{
	int64_t n = 0;

	for (int i = 0; i < s->n_workers; i++)
		n += atomic_load(&s->w[i].conns);
	return n;
}

int64_t
ck_http_server_deadline_drops(const struct ck_http_server *s)
{
	return atomic_load(&s->deadline_drops);
}
