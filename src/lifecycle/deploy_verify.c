/*
 * After a deployment: does the endpoint serve the new certificate? One
 * blocking TLS connection at a time (with SNI, every step bounded),
 * repeated until the leaf is the new one or the time is up, because a
 * reload (nginx -s reload, systemctl reload) only signals the server,
 * which swaps its certificate a moment later. The chain is not verified
 * here: the question is which certificate is served, not whether a
 * client would trust it. OpenSSL is used directly, the one place in the
 * lifecycle layer that does, so that the deploy path stays independent
 * of the scanner's event loop.
 */
#include "lifecycle/deploy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/clock.h"
#include "x509/x509.h"

/* "host:port" or "[v6]:port" into host and port. */
static bool
split_hostport(const char *hp, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *colon;

	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');
		if (end == NULL || end[1] != ':')
			return false;
		snprintf(host, hcap, "%.*s", (int)(end - hp - 1), hp + 1);
		colon = end + 1;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL || colon == hp)
			return false;
		snprintf(host, hcap, "%.*s", (int)(colon - hp), hp);
	}
	snprintf(port, pcap, "%s", colon + 1);
	return port[0] != '\0' && strspn(port, "0123456789") == strlen(port);
}

/* A connected socket to host:port within ms, or -1 with the reason. */
static int
connect_to(const char *host, const char *port, int ms, char *why, size_t wcap)
{
	struct addrinfo hints = {0}, *ai = NULL;
	int fd = -1, rc;

	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(why, wcap, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	fd = socket(
	    ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, wcap, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		struct pollfd p = {fd, POLLOUT, 0};
		int e = errno;
		socklen_t len = sizeof(e);
		if (e == EINPROGRESS) {
			e = poll(&p, 1, ms) == 1 &&
			        getsockopt(
			            fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0
			    ? e
			    : ETIMEDOUT;
		}
		if (e != 0 && e != EISCONN) {
			snprintf(why, wcap, "connect %s:%s: %s", host, port,
			    strerror(e));
			close(fd);
			fd = -1;
			goto out;
		}
	}
	/* the handshake blocks, each read and write at most ms */
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
out:
	freeaddrinfo(ai);
	return fd;
}

/* One attempt: the served leaf's SHA-256 (hex) into seen. */
static int
served(SSL_CTX *ctx, const char *host, const char *port, const char *sni,
    int ms, char seen[65], char *why, size_t wcap)
{
	SSL *ssl = NULL;
	X509 *leaf = NULL;
	unsigned char *der = NULL;
	int fd, n, r = CK_E_UNAVAILABLE;

	if ((fd = connect_to(host, port, ms, why, wcap)) < 0)
		return r;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    (sni != NULL && sni[0] != '\0' &&
	        SSL_set_tlsext_host_name(ssl, sni) != 1)) {
		snprintf(why, wcap, "TLS setup failed");
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		unsigned long e = ERR_peek_last_error();
		snprintf(why, wcap, "TLS handshake with %s:%s failed%s%s", host,
		    port, e ? ": " : "", e ? ERR_reason_error_string(e) : "");
		goto out;
	}
	if ((leaf = SSL_get1_peer_certificate(ssl)) == NULL ||
	    (n = i2d_X509(leaf, &der)) <= 0) {
		snprintf(why, wcap, "%s:%s sent no certificate", host, port);
		goto out;
	}
	uint8_t h[32];
	ck_sha256(der, (size_t)n, h);
	for (int i = 0; i < 32; i++)
		snprintf(seen + 2 * i, 3, "%02x", h[i]);
	r = 0;
	(void)SSL_shutdown(ssl);
out:
	ERR_clear_error();
	OPENSSL_free(der);
	X509_free(leaf);
	SSL_free(ssl);
	close(fd);
	return r;
}

int
dp_verify(const char *hostport, const char *sni, const char *want,
    int64_t timeout, char seen[65], struct ck_err *err)
{
	char host[256], port[16], why[300] = "";
	uint64_t deadline = ck_mono_ns() +
	    (uint64_t)(timeout > 0 ? timeout : 10) * 1000000000ull;
	SSL_CTX *ctx;
	int r = CK_E_UNAVAILABLE;

	seen[0] = '\0';
	if (!split_hostport(hostport, host, sizeof(host), port, sizeof(port)))
		return ck_err_set(err, CK_E_INVAL,
		    "verify endpoint '%s' is not host:port", hostport);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return ck_err_set(err, CK_E_CRYPTO, "TLS context");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	for (;;) {
		uint64_t now = ck_mono_ns();
		int ms = now < deadline ? (int)((deadline - now) / 1000000) : 0;

		if (ms > 5000)
			ms = 5000;
		if (ms < 200)
			ms = 200;
		r = served(ctx, host, port, sni, ms, seen, why, sizeof(why));
		if (r == 0 && strcmp(seen, want) == 0)
			break;
		if (ck_mono_ns() + 200000000ull >= deadline) {
			if (r == 0)
				r = ck_err_set(err, CK_E_INVAL,
				    "%s serves %.16s..., not the new %.16s...",
				    hostport, seen, want);
			else
				r = ck_err_set(err, r, "%s", why);
			break;
		}
		usleep(200000);
	}
	SSL_CTX_free(ctx);
	return r;
}
