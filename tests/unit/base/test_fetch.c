/*
 * Unit tests for the HTTP client (src/base/fetch.c) against a one-shot
 * listener on 127.0.0.1 in a thread: what goes on the wire (method,
 * headers, body), the response headers kept (Location, Replay-Nonce,
 * Retry-After, repeated Link), the bounds (body size, time), the errors
 * (refused connection, bad scheme), https with a given trust PEM and with
 * the wrong one, proxies from the environment ignored, and a session's
 * requests sharing one connection.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fetch.h"

struct srv {
	int fd;
	int port;
	const char *answer; /* sent after the request, then closed */
	size_t answer_len;
	int delay_ms; /* before answering */
	SSL_CTX *tls; /* NULL: plain http */
	char req[8192]; /* what was received */
	size_t req_len;
	pthread_t th;
};

static size_t
want_len(const char *req, size_t n)
{
	const char *end = memmem(req, n, "\r\n\r\n", 4);
	const char *cl;

	if (end == NULL)
		return 0;
	cl = strcasestr(req, "content-length:");
	size_t body = cl != NULL && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
	return (size_t)(end - req) + 4 + body;
}

static void *
serve(void *arg)
{
	struct srv *s = arg;
	int c = accept(s->fd, NULL, NULL);
	SSL *ssl = NULL;
	ssize_t k;

	if (c < 0)
		return NULL;
	if (s->tls != NULL) {
		ssl = SSL_new(s->tls);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) != 1)
			goto out;
	}
	for (;;) {
		size_t w = want_len(s->req, s->req_len);
		if (w != 0 && s->req_len >= w)
			break;
		if (ssl != NULL)
			k = SSL_read(ssl, s->req + s->req_len,
			    (int)(sizeof(s->req) - 1 - s->req_len));
		else
			k = read(c, s->req + s->req_len,
			    sizeof(s->req) - 1 - s->req_len);
		if (k <= 0)
			goto out;
		s->req_len += (size_t)k;
		s->req[s->req_len] = '\0';
	}
	if (s->delay_ms > 0)
		usleep((useconds_t)s->delay_ms * 1000);
	if (ssl != NULL)
		SSL_write(ssl, s->answer, (int)s->answer_len);
	else if (write(c, s->answer, s->answer_len) < 0)
		goto out;
out:
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(c);
	return NULL;
}

static void
srv_start(struct srv *s, const char *answer)
{
	struct sockaddr_in a = {0};
	socklen_t al = sizeof(a);

	s->answer = answer;
	s->answer_len = strlen(answer);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(s->fd >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(s->fd, 4) == 0);
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	pthread_create(&s->th, NULL, serve, s);
}

static void
srv_stop(struct srv *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
}

static char *
url(const struct srv *s, const char *scheme, const char *host, const char *path)
{
	static char u[256];
	snprintf(u, sizeof(u), "%s://%s:%d%s", scheme, host, s->port, path);
	return u;
}

Test(fetch, get_headers_and_links)
{
	struct srv s = {0};
	struct ck_fetch_resp r;
	struct ck_err err = {0};
	const char *hdrs[] = {"Accept: application/json", "X-Test: 1"};

	srv_start(&s,
	    "HTTP/1.1 201 Created\r\n"
	    "Content-Type: application/json\r\n"
	    "Location:  https://ca.example/acct/1 \r\n"
	    "Replay-Nonce: abc_DEF-1\r\n"
	    "Retry-After: 7\r\n"
	    "Link: <https://ca.example/dir>;rel=\"index\"\r\n"
	    "link: <https://ca.example/alt/1>;rel=\"alternate\"\r\n"
	    "Content-Length: 11\r\n\r\n{\"ok\":true}");
	struct ck_fetch_req q = {.url = url(&s, "http", "127.0.0.1", "/x?y=1"),
	    .headers = hdrs,
	    .n_headers = 2};
	int rc = ck_fetch(&q, &r, &err);
	srv_stop(&s);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(r.body.p, "{\"ok\":true}");
	cr_assert_eq(r.body.len, 11);
	cr_assert_str_eq(r.content_type, "application/json");
	cr_assert_str_eq(r.location, "https://ca.example/acct/1");
	cr_assert_str_eq(r.replay_nonce, "abc_DEF-1");
	cr_assert_str_eq(r.retry_after, "7");
	cr_assert_eq(r.n_links, 2);
	cr_assert_str_eq(r.links[0], "<https://ca.example/dir>;rel=\"index\"");
	cr_assert_str_eq(
	    r.links[1], "<https://ca.example/alt/1>;rel=\"alternate\"");
	cr_assert(
	    strncmp(s.req, "GET /x?y=1 HTTP/1.1\r\n", 21) == 0, "%s", s.req);
	cr_assert(strstr(s.req, "\r\nAccept: application/json\r\n") != NULL);
	cr_assert(strstr(s.req, "\r\nX-Test: 1\r\n") != NULL);
	ck_fetch_resp_release(&r);
}

Test(fetch, post_body_and_head)
{
	struct srv s = {0};
	struct ck_fetch_resp r;
	struct ck_err err = {0};
	const char *hdrs[] = {"Content-Type: application/jose+json"};

	srv_start(
	    &s, "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno");
	struct ck_fetch_req q = {.method = "POST",
	    .url = url(&s, "http", "localhost", "/new"),
	    .headers = hdrs,
	    .n_headers = 1,
	    .body = "{\"a\":1}",
	    .body_len = 7};
	cr_assert_eq(ck_fetch(&q, &r, &err), 0, "%s", err.msg);
	srv_stop(&s);
	/* A 4xx is an answer, not a failure. */
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(r.body.p, "no");
	cr_assert(strncmp(s.req, "POST /new HTTP/1.1\r\n", 20) == 0);
	cr_assert(strstr(s.req, "\r\n\r\n{\"a\":1}") != NULL, "%s", s.req);
	cr_assert(strstr(s.req, "Expect:") == NULL);
	ck_fetch_resp_release(&r);

	struct srv s2 = {0};
	srv_start(&s2,
	    "HTTP/1.1 200 OK\r\nReplay-Nonce: n1\r\nContent-Length: 0\r\n\r\n");
	struct ck_fetch_req h = {
	    .method = "HEAD", .url = url(&s2, "http", "127.0.0.1", "/nonce")};
	cr_assert_eq(ck_fetch(&h, &r, &err), 0, "%s", err.msg);
	srv_stop(&s2);
	cr_assert(strncmp(s2.req, "HEAD /nonce HTTP/1.1\r\n", 22) == 0);
	cr_assert_str_eq(r.replay_nonce, "n1");
	cr_assert_eq(r.body.len, 0);
	ck_fetch_resp_release(&r);
}

Test(fetch, body_bound)
{
	static char big[8192];
	struct srv s = {0};
	struct ck_fetch_resp r;
	struct ck_err err = {0};

	/* Chunked, so that only the running count can stop it. */
	int n = snprintf(big, sizeof(big),
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 10; i++)
		n += snprintf(
		    big + n, sizeof(big) - (size_t)n, "100\r\n%0256d\r\n", 0);
	snprintf(big + n, sizeof(big) - (size_t)n, "0\r\n\r\n");
	srv_start(&s, big);
	struct ck_fetch_req q = {
	    .url = url(&s, "http", "127.0.0.1", "/"), .max_body = 1000};
	cr_assert_eq(ck_fetch(&q, &r, &err), CK_E_TOO_LARGE);
	srv_stop(&s);
	cr_assert(strstr(err.msg, "over 1000 bytes") != NULL, "%s", err.msg);
	ck_fetch_resp_release(&r);

	/* Exactly at the bound is fine. */
	struct srv s2 = {0};
	srv_start(&s2, big);
	q.url = url(&s2, "http", "127.0.0.1", "/");
	q.max_body = 2560;
	cr_assert_eq(ck_fetch(&q, &r, &err), 0, "%s", err.msg);
	srv_stop(&s2);
	cr_assert_eq(r.body.len, 2560);
	ck_fetch_resp_release(&r);
}

Test(fetch, timeout_refused_and_scheme)
{
	struct srv s = {0};
	struct ck_fetch_resp r;
	struct ck_err err = {0};

	s.delay_ms = 1500;
	srv_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	struct ck_fetch_req q = {
	    .url = url(&s, "http", "127.0.0.1", "/"), .timeout_ms = 300};
	cr_assert_eq(ck_fetch(&q, &r, &err), CK_E_TIMEOUT);
	srv_stop(&s);
	ck_fetch_resp_release(&r);

	/* The same port, now closed. */
	q.timeout_ms = 2000;
	cr_assert_eq(ck_fetch(&q, &r, &err), CK_E_IO);
	cr_assert(strstr(err.msg, "127.0.0.1") != NULL, "%s", err.msg);
	ck_fetch_resp_release(&r);

	struct ck_fetch_req f = {.url = "file:///etc/passwd"};
	cr_assert_eq(ck_fetch(&f, &r, &err), CK_E_INVAL);
	struct ck_fetch_req m = {.method = "DELETE", .url = "http://x/"};
	cr_assert_eq(ck_fetch(&m, &r, &err), CK_E_INVAL);
	ck_fetch_resp_release(&r);
}

Test(fetch, environment_proxy_ignored)
{
	struct srv s = {0};
	struct ck_fetch_resp r;
	struct ck_err err = {0};

	/* A proxy that does not exist: used, it would fail the request. */
	setenv("http_proxy", "http://127.0.0.1:9", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
	srv_start(&s, "HTTP/1.1 204 No Content\r\n\r\n");
	struct ck_fetch_req q = {.url = url(&s, "http", "127.0.0.1", "/")};
	int rc = ck_fetch(&q, &r, &err);
	srv_stop(&s);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("ALL_PROXY");
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(r.status, 204);
	ck_fetch_resp_release(&r);
}

/* A self-signed P-256 certificate for localhost/127.0.0.1 into ctx, its
 * PEM into pem. */
static void
make_tls(SSL_CTX **ctx, struct ck_buf *pem)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(
	    NULL, NULL, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, k, EVP_sha256());
	PEM_write_bio_X509(b, x);
	len = BIO_get_mem_data(b, &p);
	ck_buf_add(pem, p, (size_t)len);
	*ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(*ctx, x);
	SSL_CTX_use_PrivateKey(*ctx, k);
	BIO_free(b);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
}

Test(fetch, https_trust)
{
	struct srv s = {0};
	struct ck_fetch_resp r;
	struct ck_err err = {0};
	struct ck_buf pem = CK_BUF_INIT, other = CK_BUF_INIT;
	SSL_CTX *other_ctx;

	make_tls(&s.tls, &pem);
	make_tls(&other_ctx, &other);
	srv_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
	struct ck_fetch_req q = {
	    .url = url(&s, "https", "localhost", "/"), .trust_pem = pem.p};
	cr_assert_eq(ck_fetch(&q, &r, &err), 0, "%s", err.msg);
	srv_stop(&s);
	cr_assert_str_eq(r.body.p, "hi");
	ck_fetch_resp_release(&r);

	/* Another root: the handshake must fail. */
	struct srv s2 = {0};
	s2.tls = s.tls;
	srv_start(&s2, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
	q.url = url(&s2, "https", "127.0.0.1", "/");
	q.trust_pem = other.p;
	cr_assert_eq(ck_fetch(&q, &r, &err), CK_E_IO);
	srv_stop(&s2);
	ck_fetch_resp_release(&r);

	/* The right root from a file. */
	char path[] = "/tmp/ck-fetch-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(write(fd, pem.p, pem.len) == (ssize_t)pem.len);
	close(fd);
	struct srv s3 = {0};
	s3.tls = s.tls;
	srv_start(&s3, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	struct ck_fetch_req qf = {
	    .url = url(&s3, "https", "127.0.0.1", "/"), .trust_file = path};
	cr_assert_eq(ck_fetch(&qf, &r, &err), 0, "%s", err.msg);
	srv_stop(&s3);
	unlink(path);
	cr_assert_str_eq(r.body.p, "ok");
	ck_fetch_resp_release(&r);

	SSL_CTX_free(s.tls);
	SSL_CTX_free(other_ctx);
	ck_buf_release(&pem);
	ck_buf_release(&other);
}

Test(fetch, retry_after)
{
	int64_t s = -1;

	cr_assert(ck_fetch_retry_after("120", 1000, &s));
	cr_assert_eq(s, 120);
	/* 784111777 is Sun, 06 Nov 1994 08:49:37 GMT. */
	cr_assert(ck_fetch_retry_after(
	    "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30, &s));
	cr_assert_eq(s, 30);
	cr_assert(ck_fetch_retry_after(
	    "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30, &s));
	cr_assert_eq(s, 0);
	cr_assert_not(ck_fetch_retry_after("soon", 0, &s));
	cr_assert_not(ck_fetch_retry_after("12x", 0, &s));
	cr_assert_not(ck_fetch_retry_after("-5", 0, &s));
	cr_assert_not(ck_fetch_retry_after(NULL, 0, &s));
}

/* Serves connections one after the other, every request on each, until
 * the listener is shut down; counts both. */
struct ka_srv {
	struct srv s;
	int conns, reqs;
};

static void *
serve_keepalive(void *arg)
{
	struct ka_srv *k = arg;
	static const char answer[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	int c;

	while ((c = accept(k->s.fd, NULL, NULL)) >= 0) {
		SSL *ssl = SSL_new(k->s.tls);
		k->conns++;
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) != 1)
			goto next;
		for (;;) {
			size_t n = 0, w;
			char req[4096];
			int got;
			while ((w = want_len(req, n)) == 0 || n < w) {
				got = SSL_read(
				    ssl, req + n, (int)(sizeof(req) - 1 - n));
				if (got <= 0)
					goto next;
				n += (size_t)got;
				req[n] = '\0';
			}
			k->reqs++;
			SSL_write(ssl, answer, (int)sizeof(answer) - 1);
		}
	next:
		SSL_free(ssl);
		close(c);
	}
	return NULL;
}

static void
ka_run(struct ka_srv *k, struct ck_fetch_session *sess, const char *trust)
{
	struct sockaddr_in a = {0};
	socklen_t al = sizeof(a);
	struct ck_err err = {0};

	k->s.fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(k->s.fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(k->s.fd, 8) == 0);
	getsockname(k->s.fd, (struct sockaddr *)&a, &al);
	k->s.port = ntohs(a.sin_port);
	pthread_create(&k->s.th, NULL, serve_keepalive, k);
	for (int i = 0; i < 3; i++) {
		struct ck_fetch_resp r;
		struct ck_fetch_req q = {.method = i == 1 ? "POST" : "GET",
		    .url = url(&k->s, "https", "localhost", "/x"),
		    .body = "{}",
		    .body_len = i == 1 ? 2 : 0,
		    .timeout_ms = 3000,
		    .trust_pem = trust};
		cr_assert_eq(
		    ck_fetch_in(sess, &q, &r, &err), 0, "%d: %s", i, err.msg);
		cr_assert_eq(r.status, 200);
		cr_assert_str_eq(r.body.p, "ok");
		ck_fetch_resp_release(&r);
	}
}

Test(fetch, session_keeps_its_connection)
{
	struct ka_srv one = {0}, each = {0};
	struct ck_fetch_session *sess = NULL;
	struct ck_buf pem = CK_BUF_INIT;
	struct ck_err err = {0};

	make_tls(&one.s.tls, &pem);
	each.s.tls = one.s.tls;
	cr_assert_eq(ck_fetch_session_new(&sess, &err), 0, "%s", err.msg);
	ka_run(&one, sess, pem.p);
	ck_fetch_session_free(sess); /* closes the connection */
	srv_stop(&one.s);
	cr_assert_eq(one.reqs, 3);
	cr_assert_eq(one.conns, 1, "a session made %d connections", one.conns);

	/* without a session, a connection per request */
	ka_run(&each, NULL, pem.p);
	srv_stop(&each.s);
	cr_assert_eq(each.reqs, 3);
	cr_assert_eq(each.conns, 3);
	SSL_CTX_free(one.s.tls);
	ck_buf_release(&pem);
}
