/*
 * The asynchronous TLS scanner: one libevent loop, raw non-blocking
 * sockets and OpenSSL, a token bucket for the rate of new connections, a
 * cap on connections in flight, evdns for host names. Each endpoint:
 *
 *   launch --connect() EINPROGRESS--> CONNECTING --writable, SO_ERROR 0-->
 *   [STARTTLS: dialogue(), ck_starttls_next until READY] --> HANDSHAKE
 *   --SSL_connect done--> report(): chain, version, cipher, verify --> done
 *   (a step's timeout: retry while tries are left, else TIMEOUT; refused,
 *   reset, garbage: reported and done)
 */
#include "discovery/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "base/clock.h"

enum state { ST_CONNECTING, ST_STARTTLS, ST_HANDSHAKE };

struct scanner;

struct ep {
	struct scanner *sc;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char ip[INET6_ADDRSTRLEN];
	int port;
	char sni[256], host[256];
	enum ck_starttls_proto proto;
	int fd;
	SSL *ssl;
	struct event *ev;
	enum state st;
	int tries;
	struct ck_starttls stt;
	struct ck_buf out;
	size_t out_off;
	uint64_t t0;
	struct ep *next; /* the ready queue (resolved host names) */
};

struct scanner {
	const struct ck_scan_opts *o;
	struct ck_verdicts *verdicts; /* verify each chain once */
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ctx;
	struct ck_targets *targets;
	/* the target being expanded over ports and SNI names */
	struct ck_target cur;
	bool have_cur;
	size_t port_i, sni_i;
	struct ep *ready, *ready_tail; /* endpoints of resolved names */
	int resolving;
	double tokens;
	uint64_t last_refill;
	struct event *tick, *progress;
	ck_scan_cb cb;
	ck_scan_progress_cb progress_cb;
	void *ctx_arg;
	struct ck_scan_stats stats;
	uint64_t started;
	int stop; /* the callback's non-zero value */
	bool exhausted;
	bool in_pump; /* an endpoint that ends at once does not recurse */
};

const char *
ck_scan_status_name(enum ck_scan_status s)
{
	static const char *names[] = {"tls", "refused", "timeout", "tls-failed",
	    "starttls-refused", "error"};
	return (unsigned)s < 6 ? names[s] : "unknown";
}

static void pump(struct scanner *sc);
static void on_io(evutil_socket_t fd, short what, void *arg);

static int
nports(const struct scanner *sc)
{
	return sc->o->ports ? (int)sc->o->n_ports
	                    : (int)ck_scan_default_ports_n;
}

static int
port_at(const struct scanner *sc, size_t i)
{
	return sc->o->ports ? sc->o->ports[i] : ck_scan_default_ports[i];
}

static void
ep_free(struct ep *e)
{
	if (e->ev != NULL)
		event_free(e->ev);
	if (e->ssl != NULL)
		SSL_free(e->ssl);
	if (e->fd >= 0)
		close(e->fd);
	ck_buf_release(&e->out);
	free(e);
}

/* The endpoint is finished: counted, freed, and its slot refilled. */
static void
finish(struct ep *e)
{
	struct scanner *sc = e->sc;

	sc->stats.done++;
	sc->stats.in_flight--;
	ep_free(e);
	pump(sc);
}

static void
report_fail(struct ep *e, enum ck_scan_status st, const char *why)
{
	struct scanner *sc = e->sc;
	struct ck_scan_result r = {0};

	switch (st) {
	case CK_SCAN_REFUSED: sc->stats.refused++; break;
	case CK_SCAN_TIMEOUT: sc->stats.timeouts++; break;
	default: sc->stats.failed++; break;
	}
	if (st != CK_SCAN_REFUSED && sc->stop == 0 && sc->cb != NULL) {
		r.status = st;
		r.ip = e->ip;
		r.port = e->port;
		r.sni = e->sni;
		r.host = e->host;
		r.starttls = e->proto;
		r.error = why;
		r.tls_version = r.cipher = r.alpn = r.verify_error = "";
		r.ms = (double)(ck_mono_ns() - e->t0) / 1e6;
		sc->stop = sc->cb(sc->ctx_arg, &r);
	}
	finish(e);
}

static struct ep *ep_new(struct scanner *sc, const struct sockaddr *sa,
    socklen_t len, int port, const char *sni, const char *host);

/* Queues the same address and port again with each DNS name of the
 * leaf's SANs as SNI (wildcards skipped, at most 8). */
static void
follow_sans(struct ep *e, X509 *leaf)
{
	struct scanner *sc = e->sc;
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	int added = 0;

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && added < 8;
	     i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char name[256];
		struct ep *x;
		if (g->type != GEN_DNS)
			continue;
		int len = ASN1_STRING_length(g->d.dNSName);
		if (len <= 0 || len >= (int)sizeof(name))
			continue;
		memcpy(name, ASN1_STRING_get0_data(g->d.dNSName), (size_t)len);
		name[len] = '\0';
		if (strchr(name, '*') != NULL || strlen(name) != (size_t)len)
			continue;
		x = ep_new(sc, (struct sockaddr *)&e->addr, e->addr_len,
		    e->port, name, e->host);
		if (x == NULL)
			continue;
		sc->stats.total++;
		if (sc->ready_tail)
			sc->ready_tail->next = x;
		else
			sc->ready = x;
		sc->ready_tail = x;
		added++;
	}
	GENERAL_NAMES_free(gens);
}

static void
report_tls(struct ep *e)
{
	struct scanner *sc = e->sc;
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(e->ssl);
	int n = chain ? sk_X509_num(chain) : 0;
	uint8_t *ders[32];
	size_t lens[32];
	const unsigned char *alpn = NULL;
	unsigned alpn_len = 0;
	char alpn_s[64] = "";
	struct ck_scan_result r = {0};
	long vr = SSL_get_verify_result(e->ssl);
	X509 *leaf;

	if (n > 32)
		n = 32;
	for (int i = 0; i < n; i++) {
		ders[i] = NULL;
		int len = i2d_X509(sk_X509_value(chain, i), &ders[i]);
		lens[i] = len > 0 ? (size_t)len : 0;
	}
	SSL_get0_alpn_selected(e->ssl, &alpn, &alpn_len);
	if (alpn_len > 0 && alpn_len < sizeof(alpn_s)) {
		memcpy(alpn_s, alpn, alpn_len);
		alpn_s[alpn_len] = '\0';
	}
	sc->stats.tls++;
	r.status = CK_SCAN_TLS;
	r.ip = e->ip;
	r.port = e->port;
	r.sni = e->sni;
	r.host = e->host;
	r.starttls = e->proto;
	r.error = "";
	r.tls_version = SSL_get_version(e->ssl);
	r.cipher = SSL_get_cipher_name(e->ssl);
	r.alpn = alpn_s;
	r.chain = (const uint8_t *const *)ders;
	r.chain_len = lens;
	r.n_chain = (size_t)n;
	r.verified = vr == X509_V_OK;
	r.verify_error =
	    vr == X509_V_OK ? "" : X509_verify_cert_error_string(vr);
	leaf = n > 0 ? sk_X509_value(chain, 0) : NULL;
	if (leaf != NULL)
		r.name_ok = e->sni[0]
		    ? X509_check_host(leaf, e->sni, 0, 0, NULL) == 1
		    : X509_check_ip_asc(leaf, e->ip, 0) == 1;
	r.ms = (double)(ck_mono_ns() - e->t0) / 1e6;
	if (sc->stop == 0 && sc->cb != NULL)
		sc->stop = sc->cb(sc->ctx_arg, &r);
	if (leaf != NULL && sc->o->sni_from_sans && !e->sni[0])
		follow_sans(e, leaf);
	for (int i = 0; i < n; i++)
		OPENSSL_free(ders[i]);
	finish(e);
}

static void
arm(struct ep *e, short what)
{
	struct timeval tv = {
	    e->sc->o->timeout_ms / 1000, (e->sc->o->timeout_ms % 1000) * 1000};

	event_del(e->ev);
	event_assign(e->ev, e->sc->base, e->fd, what, on_io, e);
	event_add(e->ev, &tv);
}

static int
launch_connect(struct ep *e)
{
	e->fd = socket(
	    e->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		return -1;
	int one = 1;
	setsockopt(e->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(e->fd, (struct sockaddr *)&e->addr, e->addr_len) != 0 &&
	    errno != EINPROGRESS)
		return -1;
	e->st = ST_CONNECTING;
	arm(e, EV_WRITE);
	return 0;
}

static void
start_handshake(struct ep *e)
{
	struct scanner *sc = e->sc;

	e->st = ST_HANDSHAKE;
	if ((e->ssl = SSL_new(sc->ctx)) == NULL ||
	    SSL_set_fd(e->ssl, e->fd) != 1) {
		report_fail(e, CK_SCAN_ERROR, "SSL_new");
		return;
	}
	if (e->sni[0])
		SSL_set_tlsext_host_name(e->ssl, e->sni);
	if (e->proto == CK_STARTTLS_NONE) {
		static const unsigned char alpn[] = "\x02h2\x08http/1.1";
		SSL_set_alpn_protos(e->ssl, alpn, sizeof(alpn) - 1);
	}
	on_io(e->fd, 0, e);
}

/* Flushes the STARTTLS bytes to send; true when all are out. */
static bool
flush_out(struct ep *e)
{
	while (e->out_off < e->out.len) {
		ssize_t w = write(
		    e->fd, e->out.p + e->out_off, e->out.len - e->out_off);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (w <= 0)
			return false;
		e->out_off += (size_t)w;
	}
	ck_buf_reset(&e->out);
	e->out_off = 0;
	return true;
}

static void
dialogue(struct ep *e, const uint8_t *in, size_t len)
{
	struct ck_err err = {0};
	enum ck_starttls_step s =
	    ck_starttls_next(&e->stt, in, len, &e->out, &err);

	if (s == CK_STARTTLS_REFUSED) {
		report_fail(e, CK_SCAN_STARTTLS_REFUSED, err.msg);
		return;
	}
	if (s == CK_STARTTLS_ERROR) {
		report_fail(e, CK_SCAN_TLS_FAILED, err.msg);
		return;
	}
	if (!flush_out(e) && e->out.len > 0 && errno != EAGAIN) {
		report_fail(e, CK_SCAN_ERROR, strerror(errno));
		return;
	}
	if (s == CK_STARTTLS_READY && e->out.len == 0) {
		start_handshake(e);
		return;
	}
	arm(e, e->out.len > 0 ? EV_WRITE : EV_READ);
}

static void retry_or_fail(struct ep *e, const char *why);

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	struct ep *e = arg;
	int r, soerr = 0;
	socklen_t sl = sizeof(soerr);

	(void)fd;
	if (what & EV_TIMEOUT) {
		retry_or_fail(e,
		    e->st == ST_CONNECTING     ? "connect timed out"
		        : e->st == ST_STARTTLS ? "STARTTLS timed out"
		                               : "handshake timed out");
		return;
	}
	switch (e->st) {
	case ST_CONNECTING:
		getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr == ECONNREFUSED) {
			report_fail(e, CK_SCAN_REFUSED, "connection refused");
			return;
		}
		if (soerr != 0) {
			report_fail(e, CK_SCAN_ERROR, strerror(soerr));
			return;
		}
		if (e->proto != CK_STARTTLS_NONE) {
			e->st = ST_STARTTLS;
			ck_starttls_init(&e->stt, e->proto);
			dialogue(e, NULL, 0);
		} else {
			start_handshake(e);
		}
		return;
	case ST_STARTTLS:
		if (e->out.len > 0) {
			if (!flush_out(e) && errno != EAGAIN) {
				report_fail(e, CK_SCAN_ERROR, strerror(errno));
				return;
			}
			arm(e, e->out.len > 0 ? EV_WRITE : EV_READ);
			return;
		}
		{
			uint8_t buf[4096];
			ssize_t n = read(e->fd, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				arm(e, EV_READ);
				return;
			}
			if (n <= 0) {
				report_fail(e, CK_SCAN_TLS_FAILED,
				    n == 0 ? "closed during STARTTLS"
				           : strerror(errno));
				return;
			}
			dialogue(e, buf, (size_t)n);
		}
		return;
	case ST_HANDSHAKE:
		ERR_clear_error();
		r = SSL_connect(e->ssl);
		if (r == 1) {
			report_tls(e);
			return;
		}
		switch (SSL_get_error(e->ssl, r)) {
		case SSL_ERROR_WANT_READ: arm(e, EV_READ); return;
		case SSL_ERROR_WANT_WRITE: arm(e, EV_WRITE); return;
		default: {
			char why[160] = "no TLS handshake";
			unsigned long le = ERR_get_error();
			if (le != 0)
				ERR_error_string_n(le, why, sizeof(why));
			else if (errno == ECONNRESET)
				snprintf(why, sizeof(why), "reset by peer");
			ERR_clear_error();
			report_fail(e, CK_SCAN_TLS_FAILED, why);
			return;
		}
		}
	}
}

static void
retry_or_fail(struct ep *e, const char *why)
{
	if (e->tries < e->sc->o->retries) {
		e->tries++;
		if (e->ssl != NULL) {
			SSL_free(e->ssl);
			e->ssl = NULL;
		}
		close(e->fd);
		e->fd = -1;
		ck_buf_reset(&e->out);
		e->out_off = 0;
		if (launch_connect(e) == 0)
			return;
	}
	report_fail(e, CK_SCAN_TIMEOUT, why);
}

static struct ep *
ep_new(struct scanner *sc, const struct sockaddr *sa, socklen_t len, int port,
    const char *sni, const char *host)
{
	struct ep *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->sc = sc;
	e->fd = -1;
	memcpy(&e->addr, sa, len);
	e->addr_len = len;
	e->port = port;
	if (sa->sa_family == AF_INET) {
		((struct sockaddr_in *)&e->addr)->sin_port =
		    htons((uint16_t)port);
		inet_ntop(AF_INET, &((struct sockaddr_in *)&e->addr)->sin_addr,
		    e->ip, sizeof(e->ip));
	} else {
		((struct sockaddr_in6 *)&e->addr)->sin6_port =
		    htons((uint16_t)port);
		inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)&e->addr)->sin6_addr, e->ip,
		    sizeof(e->ip));
	}
	snprintf(e->sni, sizeof(e->sni), "%s", sni ? sni : "");
	snprintf(e->host, sizeof(e->host), "%s", host ? host : "");
	e->proto = sc->o->no_starttls             ? CK_STARTTLS_NONE
	    : sc->o->starttls != CK_STARTTLS_NONE ? sc->o->starttls
	                                          : ck_starttls_for_port(port);
	e->ev = event_new(sc->base, -1, 0, on_io, e);
	if (e->ev == NULL) {
		free(e);
		return NULL;
	}
	return e;
}

static void
start(struct scanner *sc, struct ep *e)
{
	sc->stats.in_flight++;
	e->t0 = ck_mono_ns();
	if (launch_connect(e) != 0) {
		/* EMFILE, ENETUNREACH and the like: reported, not fatal */
		report_fail(e,
		    errno == ECONNREFUSED ? CK_SCAN_REFUSED : CK_SCAN_ERROR,
		    strerror(errno));
	}
}

struct resolve {
	struct scanner *sc;
	char host[256];
};

/* A host name resolved: an endpoint per address (at most 16), port and
 * the name as SNI, queued ahead of the address targets. */
static void
on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct resolve *rs = arg;
	struct scanner *sc = rs->sc;
	int n = 0;

	sc->resolving--;
	if (result != 0) {
		uint64_t lost = (uint64_t)nports(sc);
		sc->stats.done += lost;
		sc->stats.failed += lost;
	}
	for (struct evutil_addrinfo *a = res; result == 0 && a && n < 16;
	     a = a->ai_next, n++)
		for (int p = 0; p < nports(sc); p++) {
			struct ep *e =
			    ep_new(sc, a->ai_addr, (socklen_t)a->ai_addrlen,
			        port_at(sc, (size_t)p), rs->host, rs->host);
			if (e == NULL)
				continue;
			if (n > 0)
				sc->stats.total++;
			if (sc->ready_tail)
				sc->ready_tail->next = e;
			else
				sc->ready = e;
			sc->ready_tail = e;
		}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	free(rs);
	pump(sc);
}

/* The next endpoint of the address targets, or NULL (maybe a name was
 * sent to the resolver instead). */
static struct ep *
next_ep(struct scanner *sc)
{
	size_t nsni = sc->o->n_sni ? sc->o->n_sni : 1;

	for (;;) {
		if (!sc->have_cur) {
			if (!ck_targets_next(sc->targets, &sc->cur)) {
				sc->exhausted = true;
				return NULL;
			}
			sc->have_cur = true;
			sc->port_i = sc->sni_i = 0;
			if (sc->cur.host[0]) {
				struct resolve *rs = calloc(1, sizeof(*rs));
				struct evutil_addrinfo hints = {0};
				sc->have_cur = false;
				if (rs == NULL)
					continue;
				rs->sc = sc;
				snprintf(rs->host, sizeof(rs->host), "%s",
				    sc->cur.host);
				hints.ai_family = AF_UNSPEC;
				hints.ai_socktype = SOCK_STREAM;
				sc->resolving++;
				evdns_getaddrinfo(sc->dns, rs->host, NULL,
				    &hints, on_resolved, rs);
				return NULL;
			}
		}
		if (sc->port_i >= (size_t)nports(sc)) {
			sc->have_cur = false;
			continue;
		}
		const char *sni = sc->o->n_sni ? sc->o->sni[sc->sni_i] : NULL;
		struct ep *e = ep_new(sc, (struct sockaddr *)&sc->cur.addr,
		    sc->cur.addr_len, port_at(sc, sc->port_i), sni, NULL);
		if (++sc->sni_i >= nsni) {
			sc->sni_i = 0;
			sc->port_i++;
		}
		return e;
	}
}

static void
refill(struct scanner *sc)
{
	uint64_t now = ck_mono_ns();

	if (sc->o->rate <= 0) {
		sc->tokens = 1e9;
		return;
	}
	sc->tokens += (double)(now - sc->last_refill) / 1e9 * sc->o->rate;
	/* a burst of at most a tenth of a second's worth */
	if (sc->tokens > sc->o->rate / 10.0 + 1)
		sc->tokens = sc->o->rate / 10.0 + 1;
	sc->last_refill = now;
}

static void
pump(struct scanner *sc)
{
	int conc = sc->o->concurrency > 0 ? sc->o->concurrency : 512;

	if (sc->in_pump)
		return;
	sc->in_pump = true;
	refill(sc);
	while (sc->stop == 0 && sc->stats.in_flight < (uint64_t)conc &&
	    sc->tokens >= 1) {
		struct ep *e = sc->ready;
		if (e != NULL) {
			sc->ready = e->next;
			if (sc->ready == NULL)
				sc->ready_tail = NULL;
		} else if (!sc->exhausted) {
			e = next_ep(sc);
		}
		if (e == NULL)
			break;
		sc->tokens -= 1;
		start(sc, e);
	}
	sc->in_pump = false;
	if ((sc->exhausted || sc->stop) && sc->ready == NULL &&
	    sc->resolving == 0 && sc->stats.in_flight == 0)
		event_base_loopexit(sc->base, NULL);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	pump(arg);
}

static void
on_progress(evutil_socket_t fd, short what, void *arg)
{
	struct scanner *sc = arg;

	(void)fd, (void)what;
	sc->stats.seconds = (double)(ck_mono_ns() - sc->started) / 1e9;
	if (sc->progress_cb != NULL)
		sc->progress_cb(sc->ctx_arg, &sc->stats);
}

static int
make_ctx(struct scanner *sc, struct ck_err *err)
{
	if ((sc->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return ck_err_set(err, CK_E_CRYPTO, "SSL_CTX_new");
	/* discovery wants to see old and weak servers too: every version and
	 * suite OpenSSL still has, no security level floor */
	SSL_CTX_set_security_level(sc->ctx, 0);
	SSL_CTX_set_min_proto_version(sc->ctx, 0);
	SSL_CTX_set_cipher_list(sc->ctx, "ALL:@SECLEVEL=0");
	SSL_CTX_set_options(sc->ctx,
	    SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* verified (for the report), never enforced: an untrusted chain is
	 * captured like any other */
	SSL_CTX_set_verify(sc->ctx, SSL_VERIFY_NONE, NULL);
	sc->verdicts = ck_verdicts_install(sc->ctx);
	if (sc->o->trust != NULL
	        ? SSL_CTX_load_verify_locations(sc->ctx, sc->o->trust, NULL) !=
	            1
	        : SSL_CTX_set_default_verify_paths(sc->ctx) != 1) {
		ERR_clear_error();
		return ck_err_set(err, CK_E_IO,
		    "trust store %s: cannot be read",
		    sc->o->trust ? sc->o->trust : "(system)");
	}
	SSL_CTX_set_session_cache_mode(sc->ctx, SSL_SESS_CACHE_OFF);
	return 0;
}

int
ck_scan_run(const struct ck_scan_opts *o, ck_scan_cb cb,
    ck_scan_progress_cb progress, void *ctx, struct ck_scan_stats *stats,
    struct ck_err *err)
{
	struct scanner sc = {0};
	struct ck_scan_opts opts = *o;
	struct timeval tick = {0, 10000}, sec = {1, 0};
	int r;

	if (opts.timeout_ms <= 0)
		opts.timeout_ms = 5000;
	if (opts.retries < 0)
		opts.retries = 0;
	sc.o = &opts;
	sc.cb = cb;
	sc.progress_cb = progress;
	sc.ctx_arg = ctx;
	if ((r = ck_targets_new(o->targets, o->n_targets, &sc.targets, err)) !=
	        0 ||
	    (r = make_ctx(&sc, err)) != 0)
		goto out;
	{
		uint64_t t = ck_targets_count(sc.targets),
		         p = (uint64_t)nports(&sc), s = o->n_sni ? o->n_sni : 1;
		sc.stats.total =
		    t > UINT64_MAX / p / s ? UINT64_MAX : t * p * s;
	}
	if ((sc.base = event_base_new()) == NULL ||
	    (sc.dns = evdns_base_new(sc.base,
	         EVDNS_BASE_INITIALIZE_NAMESERVERS |
	             EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL) {
		r = ck_err_set(err, CK_E_INTERNAL, "event loop or resolver");
		goto out;
	}
	sc.tick = event_new(sc.base, -1, EV_PERSIST, on_tick, &sc);
	sc.progress = event_new(sc.base, -1, EV_PERSIST, on_progress, &sc);
	event_add(sc.tick, &tick);
	event_add(sc.progress, &sec);
	sc.started = sc.last_refill = ck_mono_ns();
	sc.tokens = 1;
	pump(&sc);
	if (!(sc.exhausted && sc.stats.in_flight == 0 && sc.resolving == 0 &&
	        sc.ready == NULL))
		event_base_dispatch(sc.base);
	sc.stats.seconds = (double)(ck_mono_ns() - sc.started) / 1e9;
	if (progress != NULL)
		progress(ctx, &sc.stats);
	r = sc.stop;
out:
	if (stats != NULL)
		*stats = sc.stats;
	while (sc.ready != NULL) {
		struct ep *e = sc.ready;
		sc.ready = e->next;
		ep_free(e);
	}
	if (sc.tick)
		event_free(sc.tick);
	if (sc.progress)
		event_free(sc.progress);
	if (sc.dns)
		evdns_base_free(sc.dns, 0);
	if (sc.base)
		event_base_free(sc.base);
	SSL_CTX_free(sc.ctx);
	ck_verdicts_free(sc.verdicts);
	ck_targets_free(sc.targets);
	return r;
}
