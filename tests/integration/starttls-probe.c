/*
 * Test driver for t5100: a blocking client that runs one STARTTLS
 * dialogue (src/discovery/starttls.c) against a real server, then the TLS
 * handshake on the same socket, and prints the leaf certificate's SHA-256.
 * Built by the test itself with cc against libcertkeep.a, not by make.
 *
 *   starttls-probe PROTO HOST PORT
 *   exit 0: "sha256 HEX" (lower case, no colons) and "tls VERSION"
 *   exit 2: "refused: REASON"; exit 3: "error: REASON"
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/err.h"
#include "discovery/starttls.h"

static int
fail(int st, const char *what, const char *why)
{
	printf("%s: %s\n", what, why);
	return st;
}

static int
dial(const char *host, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 10};
	int fd;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The dialogue: what comes out is sent, what comes in is fed back. */
static int
dialogue(int fd, enum ck_starttls_proto p)
{
	struct ck_starttls s;
	struct ck_buf out = CK_BUF_INIT;
	struct ck_err err = {0};
	enum ck_starttls_step st;
	uint8_t in[1500];
	int r = 0;

	ck_starttls_init(&s, p);
	st = ck_starttls_next(&s, NULL, 0, &out, &err);
	for (;;) {
		ssize_t n;

		if (out.len > 0 && send_all(fd, out.p, out.len) != 0) {
			r = fail(3, "error", "write failed");
			break;
		}
		ck_buf_reset(&out);
		if (st == CK_STARTTLS_READY)
			break;
		if (st == CK_STARTTLS_REFUSED) {
			r = fail(2, "refused", err.msg);
			break;
		}
		if (st == CK_STARTTLS_ERROR) {
			r = fail(3, "error", err.msg);
			break;
		}
		if ((n = read(fd, in, sizeof(in))) <= 0) {
			r = fail(
			    3, "error", "connection closed in the dialogue");
			break;
		}
		st = ck_starttls_next(&s, in, (size_t)n, &out, &err);
	}
	ck_buf_release(&out);
	return r;
}

static int
handshake(int fd)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	X509 *leaf = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char why[256];
	int r = 3;

	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(ssl, fd) != 1)
		goto out;
	if (SSL_connect(ssl) != 1) {
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		r = fail(3, "error", why);
		goto out;
	}
	if ((leaf = SSL_get1_peer_certificate(ssl)) == NULL ||
	    X509_digest(leaf, EVP_sha256(), md, &mdlen) != 1)
		goto out;
	printf("sha256 ");
	for (unsigned int i = 0; i < mdlen; i++)
		printf("%02x", md[i]);
	printf("\ntls %s\n", SSL_get_version(ssl));
	SSL_shutdown(ssl);
	r = 0;
out:
	if (r == 3 && mdlen == 0 && leaf == NULL)
		ERR_print_errors_fp(stderr);
	X509_free(leaf);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return r;
}

int
main(int argc, char **argv)
{
	enum ck_starttls_proto p;
	int fd, r;

	if (argc != 4 || ck_starttls_parse(argv[1], &p) != 0) {
		fprintf(stderr, "usage: starttls-probe PROTO HOST PORT\n");
		return 64;
	}
	if ((fd = dial(argv[2], atoi(argv[3]))) < 0)
		return fail(3, "error", "cannot connect");
	if ((r = dialogue(fd, p)) == 0)
		r = handshake(fd);
	close(fd);
	return r;
}
