/*
 * Challenge validation for the ACME server: http-01 (RFC 8555 8.3) over
 * a plain socket with a deadline, and tls-alpn-01 (RFC 8737) whose TLS
 * side is in src/x509/acme_tls.c. Names resolve through the configured
 * resolver ("system" or "static:ADDR", the latter so tests on loopback
 * send every name to 127.0.0.1) and the port is configurable, because the
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "x509/acme_tls.h"
#include "x509/x509.h"

#define HTTP01_MAX_RESPONSE 8192

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

/* Connects to name:port (through the resolver) before deadline. */
static int
dial(const struct acme_validate_cfg *cfg, const char *name, int port,
    int64_t deadline, struct acme_prob *p)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	const char *host = name;
	char ps[16];
	int fd = -1, e;

	if (strncmp(cfg->resolver, "static:", 7) == 0)
		host = cfg->resolver + 7;
	else if (strcmp(cfg->resolver, "system") != 0)
		return acme_prob(p, "serverInternal", "resolver %.60s unknown",
		    cfg->resolver);
	snprintf(ps, sizeof(ps), "%d", port);
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, ps, &hints, &res)) != 0)
		return acme_prob(p, "dns", "%.100s: %s", name, gai_strerror(e));
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
		    (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, deadline) ||
		        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) !=
		            0 ||
		        soerr != 0)) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		return acme_prob(p, "connection",
		    "%.100s port %d: no connection", name, port);
	return fd;
}

int
acme_validate_http01(const struct acme_validate_cfg *cfg, const char *name,
    const char *token, const char *keyauth, struct acme_prob *p)
{
	int64_t deadline = ms_now() + cfg->timeout_ms;
	char req[1024], resp[HTTP01_MAX_RESPONSE + 1];
	size_t len = 0, sent = 0, rl;
	const char *body;
	int fd, status = 0, r = -1;
	char host[300];

	/* IPv6 literals go in brackets in the Host header (RFC 8738). */
	snprintf(host, sizeof(host), strchr(name, ':') ? "[%s]" : "%s", name);
	rl = (size_t)snprintf(req, sizeof(req),
	    "GET /.well-known/acme-challenge/%s HTTP/1.0\r\n"
	    "Host: %s:%d\r\nUser-Agent: certkeep-acme\r\nAccept: */*\r\n\r\n",
	    token, host, cfg->http01_port);
	if ((fd = dial(cfg, name, cfg->http01_port, deadline, p)) < 0)
		return -1;
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
		acme_prob(p, "connection", "%.100s: could not send", name);
		goto out;
	}
	/* HTTP/1.0: the answer ends when the server closes. */
	for (;;) {
		ssize_t n;
		if (len == HTTP01_MAX_RESPONSE) {
			acme_prob(
			    p, "unauthorized", "%.100s: answer too long", name);
			goto out;
		}
		n = recv(fd, resp + len, HTTP01_MAX_RESPONSE - len, 0);
		if (n > 0) {
			len += (size_t)n;
		} else if (n == 0) {
			break;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (!wait_fd(fd, POLLIN, deadline)) {
				acme_prob(
				    p, "connection", "%.100s: timeout", name);
				goto out;
			}
		} else {
			acme_prob(p, "connection", "%.100s: %s", name,
			    strerror(errno));
			goto out;
		}
	}
	resp[len] = '\0';
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 ||
	    (body = strstr(resp, "\r\n\r\n")) == NULL) {
		acme_prob(
		    p, "unauthorized", "%.100s: not an HTTP answer", name);
		goto out;
	}
	if (status != 200) {
		acme_prob(p, "unauthorized", "%.100s: status %d for the token",
		    name, status);
		goto out;
	}
	body += 4;
	rl = strlen(body);
	/* RFC 8555 8.3: trailing whitespace is not part of the answer. */
	while (rl > 0 &&
	    (body[rl - 1] == ' ' || body[rl - 1] == '\n' ||
	        body[rl - 1] == '\r' || body[rl - 1] == '\t'))
		rl--;
	if (rl != strlen(keyauth) || memcmp(body, keyauth, rl) != 0) {
		acme_prob(p, "incorrectResponse",
		    "%.100s answered with another key authorization", name);
		goto out;
	}
	r = 0;
out:
	close(fd);
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
