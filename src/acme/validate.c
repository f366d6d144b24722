/*
 * Challenge validation for the ACME server: http-01 (RFC 8555 8.3) over
 * a plain socket with a deadline and redirects as 8.3 allows (to https
 * through src/x509/acme_tls.c), dns-01 (8.4) through dns.c, and
 * tls-alpn-01 (RFC 8737) whose TLS side is in src/x509/acme_tls.c. Names
 * resolve through the configured resolver ("system", "static:ADDR" so
 * tests on loopback send every name to 127.0.0.1, or "dns:HOST:PORT" a
 * DNS server of their own) and the ports are configurable, because the
 * clients under test answer on high ports. Runs in a job thread.
 */
#include "acme/acme_int.h"

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "x509/acme_tls.h"
#include "x509/x509.h"

#define HTTP01_MAX_RESPONSE 8192
#define HTTP01_MAX_REDIRECTS 10

static int64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for ev until deadline; false on timeout. */
static bool
wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd pf = {.fd = fd, .events = ev};
	int64_t left;
	int n;

	for (;;) {
		left = deadline - ms_now();
		if (left <= 0)
			return false;
		n = poll(&pf, 1, (int)left);
		if (n > 0)
			return true;
		if (n == 0 || errno != EINTR)
			return false;
	}
}

/* The addresses of name: getaddrinfo for system and static:, A then
 * AAAA from the configured server for dns:. */
#define DIAL_MAX_ADDRS 8
struct addrs {
	struct sockaddr_storage a[DIAL_MAX_ADDRS];
	socklen_t len[DIAL_MAX_ADDRS];
	size_t n;
	int port;
};

static int
addr_cb(void *arg, const uint8_t *rd, size_t len)
{
	struct addrs *s = arg;

	if (s->n == DIAL_MAX_ADDRS)
		return 0; /* enough to try */
	memset(&s->a[s->n], 0, sizeof(s->a[s->n]));
	if (len == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)&s->a[s->n];
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)s->port);
		memcpy(&in->sin_addr, rd, 4);
		s->len[s->n++] = sizeof(*in);
	} else if (len == 16) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->a[s->n];
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)s->port);
		memcpy(&in6->sin6_addr, rd, 16);
		s->len[s->n++] = sizeof(*in6);
	}
	return 0;
}

static int
resolve(const struct acme_validate_cfg *cfg, const char *name, int port,
    struct addrs *s, struct acme_prob *p)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	const char *host = name;
	char ps[16];
	int e;

	s->n = 0;
	s->port = port;
	if (cfg->resolver.kind == ACME_RES_DNS) {
		uint8_t a[16];
		/* an IP identifier is its own address */
		if (inet_pton(AF_INET, name, a) == 1)
			return addr_cb(s, a, 4);
		if (inet_pton(AF_INET6, name, a) == 1)
			return addr_cb(s, a, 16);
		if (acme_dns_lookup(
		        &cfg->resolver, name, ACME_DNS_A, addr_cb, s, p) < 0 ||
		    acme_dns_lookup(
		        &cfg->resolver, name, ACME_DNS_AAAA, addr_cb, s, p) < 0)
			return -1;
		if (s->n == 0)
			return acme_prob(
			    p, "dns", "%.100s: no A or AAAA record", name);
		return 0;
	}
	if (cfg->resolver.kind == ACME_RES_STATIC)
		host = cfg->resolver.addr;
	snprintf(ps, sizeof(ps), "%d", port);
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, ps, &hints, &res)) != 0)
		return acme_prob(p, "dns", "%.100s: %s", name, gai_strerror(e));
	for (ai = res; ai != NULL && s->n < DIAL_MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(s->a[0]))
			continue;
		memcpy(&s->a[s->n], ai->ai_addr, ai->ai_addrlen);
		s->len[s->n++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	return 0;
}

/* Connects to name:port (through the resolver) before deadline. */
static int
dial(const struct acme_validate_cfg *cfg, const char *name, int port,
    int64_t deadline, struct acme_prob *p)
{
	struct addrs s;
	int fd = -1;

	if (resolve(cfg, name, port, &s, p) != 0)
		return -1;
	for (size_t i = 0; i < s.n && fd < 0; i++) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		fd = socket(s.a[i].ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&s.a[i], s.len[i]) != 0 &&
		    (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, deadline) ||
		        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) !=
		            0 ||
		        soerr != 0)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		return acme_prob(p, "connection",
		    "%.100s port %d: no connection", name, port);
	return fd;
}

bool
acme_redirect_parse(
    const char *loc, struct acme_http_target *t, int http_port, int https_port)
{
	struct acme_http_target n = *t;
	const char *a, *end, *colon;
	size_t hl, pl;
	long port;

	if (loc[0] == '/' && loc[1] == '/') {
		/* scheme-relative: the same scheme, another authority */
		char abs[700];
		if (strlen(loc) + 7 >= sizeof(abs))
			return false;
		snprintf(
		    abs, sizeof(abs), "%s:%s", t->tls ? "https" : "http", loc);
		return acme_redirect_parse(abs, t, http_port, https_port);
	}
	if (loc[0] == '/') {
		/* a path on the same host, port and scheme */
		a = loc;
	} else {
		if (strncasecmp(loc, "http://", 7) == 0) {
			n.tls = false;
			a = loc + 7;
		} else if (strncasecmp(loc, "https://", 8) == 0) {
			n.tls = true;
			a = loc + 8;
		} else {
			return false;
		}
		end = a + strcspn(a, "/?#");
		/* [v6]:port, host:port or host */
		if (*a == '[') {
			const char *rb = memchr(a, ']', (size_t)(end - a));
			if (rb == NULL)
				return false;
			hl = (size_t)(rb - a - 1);
			if (hl == 0 || hl >= sizeof(n.host))
				return false;
			memcpy(n.host, a + 1, hl);
			colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
			if (colon == NULL && rb + 1 != end)
				return false;
		} else {
			colon = memchr(a, ':', (size_t)(end - a));
			hl = (size_t)((colon != NULL ? colon : end) - a);
			if (hl == 0 || hl >= sizeof(n.host))
				return false;
			memcpy(n.host, a, hl);
		}
		n.host[hl] = '\0';
		for (size_t i = 0; i < hl; i++) {
			char c = n.host[i];
			if (!((c >= 'a' && c <= 'z') ||
			        (c >= 'A' && c <= 'Z') ||
			        (c >= '0' && c <= '9') || c == '.' ||
			        c == '-' || c == ':'))
				return false;
		}
		port = n.tls ? 443 : 80;
		if (colon != NULL) {
			char *pe;
			port = strtol(colon + 1, &pe, 10);
			if (pe != end || colon + 1 == end)
				return false;
		}
		/* RFC 8555 10.2's concern: a redirect must not turn the
		 * validator into a scanner of other ports */
		if (port != (n.tls ? https_port : http_port))
			return false;
		n.port = (int)port;
		a = end;
	}
	if (*a == '\0' || *a == '#')
		a = "/"; /* found by the fuzzer: "http://h#frag" has path / */
	if (*a == '?')
		return false; /* a query without a path: not worth a guess */
	pl = strcspn(a, "#");
	if (pl >= sizeof(n.path))
		return false;
	for (size_t i = 0; i < pl; i++)
		if ((unsigned char)a[i] <= ' ' || (unsigned char)a[i] >= 127)
			return false;
	memcpy(n.path, a, pl);
	n.path[pl] = '\0';
	*t = n;
	return true;
}

/* One GET of t, the whole answer into resp (NUL-ended). */
static int
http_get(const struct acme_validate_cfg *cfg, const struct acme_http_target *t,
    int64_t deadline, char *resp, size_t *len, struct acme_prob *p)
{
	char req[1024], host[300];
	size_t sent = 0, rl;
	struct ck_err err = {0};
	uint8_t ip[16];
	int fd, r = -1;

	*len = 0;
	/* IPv6 literals go in brackets in the Host header (RFC 8738). */
	snprintf(
	    host, sizeof(host), strchr(t->host, ':') ? "[%s]" : "%s", t->host);
	rl = (size_t)snprintf(req, sizeof(req),
	    "GET %s HTTP/1.0\r\n"
	    "Host: %s:%d\r\nUser-Agent: certkeep-acme\r\nAccept: */*\r\n\r\n",
	    t->path, host, t->port);
	if (rl >= sizeof(req))
		return acme_prob(p, "unauthorized", "redirect URL too long");
	if ((fd = dial(cfg, t->host, t->port, deadline, p)) < 0)
		return -1;
	if (t->tls) {
		bool is_ip = inet_pton(AF_INET, t->host, ip) == 1 ||
		    inet_pton(AF_INET6, t->host, ip) == 1;
		int64_t left = deadline - ms_now();
		if (left <= 0 ||
		    ck_x509_https_get(fd, is_ip ? NULL : t->host, req, rl, resp,
		        HTTP01_MAX_RESPONSE + 1, len, (int)left, &err) != 0) {
			acme_prob(p, "connection", "%.100s port %d: %s",
			    t->host, t->port, left <= 0 ? "timeout" : err.msg);
			goto out;
		}
		r = 0;
		goto out;
	}
	while (sent < rl) {
		ssize_t n = send(fd, req + sent, rl - sent, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!wait_fd(fd, POLLOUT, deadline))
				break;
		} else {
			break;
		}
	}
	if (sent < rl) {
		acme_prob(p, "connection", "%.100s: could not send", t->host);
		goto out;
	}
	/* HTTP/1.0: the answer ends when the server closes. */
	for (;;) {
		ssize_t n;
		if (*len == HTTP01_MAX_RESPONSE) {
			acme_prob(p, "unauthorized", "%.100s: answer too long",
			    t->host);
			goto out;
		}
		n = recv(fd, resp + *len, HTTP01_MAX_RESPONSE - *len, 0);
		if (n > 0) {
			*len += (size_t)n;
		} else if (n == 0) {
			break;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (!wait_fd(fd, POLLIN, deadline)) {
				acme_prob(p, "connection", "%.100s: timeout",
				    t->host);
				goto out;
			}
		} else {
			acme_prob(p, "connection", "%.100s: %s", t->host,
			    strerror(errno));
			goto out;
		}
	}
	resp[*len] = '\0';
	r = 0;
out:
	close(fd);
	return r;
}

/* The Location header of an answer into out; false when none fits. */
static bool
location(const char *resp, const char *body, char *out, size_t cap)
{
	const char *h = resp;
	size_t n;

	while ((h = strstr(h, "\r\n")) != NULL && h < body) {
		h += 2;
		if (strncasecmp(h, "Location:", 9) != 0)
			continue;
		h += 9;
		while (*h == ' ' || *h == '\t')
			h++;
		n = strcspn(h, "\r\n");
		while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= cap)
			return false;
		memcpy(out, h, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

int
acme_validate_http01(const struct acme_validate_cfg *cfg, const char *name,
    const char *token, const char *keyauth, struct acme_prob *p)
{
	int64_t deadline = ms_now() + cfg->timeout_ms;
	struct acme_http_target t = {0};
	char resp[HTTP01_MAX_RESPONSE + 1], loc[600];
	const char *body;
	size_t len, rl;
	int status = 0;

	snprintf(t.host, sizeof(t.host), "%s", name);
	t.port = cfg->http01_port;
	snprintf(
	    t.path, sizeof(t.path), "/.well-known/acme-challenge/%s", token);
	/* RFC 8555 8.3: redirects are followed, a bounded number, to http
	 * on the http-01 port or https on the https (tls-alpn-01) port,
	 * every hop resolved and connected as the first */
	for (int hops = 0;; hops++) {
		if (http_get(cfg, &t, deadline, resp, &len, p) != 0)
			return -1;
		if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 ||
		    (body = strstr(resp, "\r\n\r\n")) == NULL)
			return acme_prob(p, "unauthorized",
			    "%.100s: not an HTTP answer", t.host);
		if (status != 301 && status != 302 && status != 303 &&
		    status != 307 && status != 308)
			break;
		if (hops == HTTP01_MAX_REDIRECTS)
			return acme_prob(p, "unauthorized",
			    "%.100s: more than %d redirects", name,
			    HTTP01_MAX_REDIRECTS);
		if (!location(resp, body, loc, sizeof(loc)) ||
		    !acme_redirect_parse(
		        loc, &t, cfg->http01_port, cfg->tlsalpn_port))
			return acme_prob(p, "unauthorized",
			    "%.100s: redirect to %.120s not followed (http "
			    "on port %d or https on port %d only)",
			    name,
			    location(resp, body, loc, sizeof(loc)) ? loc : "?",
			    cfg->http01_port, cfg->tlsalpn_port);
	}
	if (status != 200)
		return acme_prob(p, "unauthorized",
		    "%.100s: status %d for the token", t.host, status);
	body += 4;
	rl = strlen(body);
	/* RFC 8555 8.3: trailing whitespace is not part of the answer. */
	while (rl > 0 &&
	    (body[rl - 1] == ' ' || body[rl - 1] == '\n' ||
	        body[rl - 1] == '\r' || body[rl - 1] == '\t'))
		rl--;
	if (rl != strlen(keyauth) || memcmp(body, keyauth, rl) != 0)
		return acme_prob(p, "incorrectResponse",
		    "%.100s answered with another key authorization", name);
	return 0;
}

struct txt_match {
	const char *want;
	int seen, matched;
};

static int
txt_cb(void *arg, const uint8_t *rd, size_t len)
{
	struct txt_match *m = arg;
	char v[512];

	m->seen++;
	/* a record too long to be ours is not an error, only not ours */
	if (acme_txt_value(rd, len, v, sizeof(v)) == 0 &&
	    strcmp(v, m->want) == 0)
		m->matched++;
	return 0;
}

int
acme_validate_dns01(const struct acme_validate_cfg *cfg, const char *name,
    const char *keyauth, struct acme_prob *p)
{
	struct ck_buf want = CK_BUF_INIT;
	struct txt_match m = {0};
	uint8_t digest[32];
	char qname[300];
	int r = -1;

	snprintf(qname, sizeof(qname), "_acme-challenge.%s", name);
	ck_sha256(keyauth, strlen(keyauth), digest);
	ck_b64url_encode(digest, sizeof(digest), &want);
	m.want = want.p;
	if (acme_dns_lookup(
	        &cfg->resolver, qname, ACME_DNS_TXT, txt_cb, &m, p) < 0)
		goto out;
	if (m.seen == 0) {
		acme_prob(p, "unauthorized", "no TXT record at %.120s", qname);
		goto out;
	}
	if (m.matched == 0) {
		acme_prob(p, "incorrectResponse",
		    "TXT records at %.120s hold another key authorization",
		    qname);
		goto out;
	}
	r = 0;
out:
	ck_buf_release(&want);
	return r;
}

/* The SNI of an IP identifier (RFC 8738 section 6): its reverse name. */
static bool
reverse_name(const char *ip, char *out, size_t cap)
{
	uint8_t a[16];
	size_t o = 0;

	if (strchr(ip, ':') == NULL) {
		if (inet_pton(AF_INET, ip, a) != 1)
			return false;
		snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1],
		    a[0]);
		return true;
	}
	if (inet_pton(AF_INET6, ip, a) != 1 || cap < 74)
		return false;
	for (int i = 15; i >= 0; i--)
		o += (size_t)snprintf(
		    out + o, cap - o, "%x.%x.", a[i] & 15, a[i] >> 4);
	snprintf(out + o, cap - o, "ip6.arpa");
	return true;
}

int
acme_validate_tlsalpn01(const struct acme_validate_cfg *cfg, const char *type,
    const char *value, const char *keyauth, struct acme_prob *p)
{
	int64_t deadline = ms_now() + cfg->timeout_ms;
	bool is_ip = strcmp(type, "ip") == 0;
	struct ck_err err = {0};
	char sni[80];
	uint8_t digest[32];
	int fd, rc;

	if (is_ip && !reverse_name(value, sni, sizeof(sni)))
		return acme_prob(p, "malformed", "%.60s is not an IP", value);
	ck_sha256(keyauth, strlen(keyauth), digest);
	if ((fd = dial(cfg, value, cfg->tlsalpn_port, deadline, p)) < 0)
		return -1;
	rc = ck_x509_acme_alpn_check(fd, is_ip ? sni : value, value, is_ip,
	    digest, (int)(deadline - ms_now()), &err);
	close(fd);
	if (rc == CK_E_IO)
		return acme_prob(p, "tls", "%.100s: %s", value, err.msg);
	if (rc != 0)
		return acme_prob(
		    p, "unauthorized", "%.100s: %s", value, err.msg);
	return 0;
}
