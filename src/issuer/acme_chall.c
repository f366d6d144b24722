/*
 * The challenge responders of one ACME order, up for as long as the
 * order's authorizations are validated and then taken down:
 *   http-01      a standalone evhttp server on http01_listen answering
 *                only GET /.well-known/acme-challenge/<token>, or token
 *                files under webroot (written, then removed);
 *   dns-01       the dns_hook command (`hook add|remove NAME VALUE`),
 *                then dns_wait seconds for the records to spread;
 *   tls-alpn-01  a TLS listener on tlsalpn_listen that negotiates only
 *                ALPN "acme-tls/1" and serves, per SNI, a self-signed
 *                certificate with the critical acmeIdentifier extension
 *                (RFC 8737; IP identifiers by their reverse name, RFC 8738).
 * The listeners run on their own threads; the set of challenges is fixed
 * before they start, so they read it without locks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/log.h"
#include "base/mem.h"
#include "issuer/acme_int.h"
#include "x509/x509.h"

extern char **environ;

#define HOOK_SECONDS 60
#define TLS_IO_SECONDS 3
#define WELL_KNOWN "/.well-known/acme-challenge/"

struct entry {
	char *type, *ident_type, *ident, *token, *key_auth;
	char *sni; /* tls-alpn-01: the name the validator asks for */
	X509 *cert; /* tls-alpn-01 */
	char *file; /* http-01 in webroot: written */
	char *dns_name, *dns_value; /* dns-01 */
	bool dns_added;
};

struct acme_responder {
	const struct ck_issuer_def *d;
	struct entry *e;
	size_t n;
	/* http-01 standalone */
	struct event_base *base;
	struct evhttp *http;
	struct event *tick; /* looks at stop from inside the loop */
	pthread_t http_th;
	bool http_on;
	/* tls-alpn-01 */
	int tls_fd;
	SSL_CTX *ctx;
	EVP_PKEY *tls_key;
	pthread_t tls_th;
	bool tls_on;
	atomic_bool stop;
	/* webroot folders we made, removed again when empty */
	char *made_dirs[2];
};

/* Writes to a peer that has gone must not kill the process. */
static void
block_sigpipe(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

int
acme_responder_new(const struct ck_issuer_def *d, struct acme_responder **out,
    struct ck_err *err)
{
	struct acme_responder *r = ck_calloc(1, sizeof(*r));

	(void)err;
	r->d = d;
	r->tls_fd = -1;
	atomic_init(&r->stop, false);
	*out = r;
	return 0;
}

/* The reverse-DNS name of an IP address (RFC 8738 section 6). */
static char *
reverse_name(const char *ip)
{
	uint8_t a[16];
	struct ck_buf b = CK_BUF_INIT;

	if (inet_pton(AF_INET, ip, a) == 1) {
		ck_buf_printf(
		    &b, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		for (int i = 15; i >= 0; i--)
			ck_buf_printf(&b, "%x.%x.", a[i] & 15, a[i] >> 4);
		ck_buf_adds(&b, "ip6.arpa");
	} else
		return NULL;
	return ck_buf_detach(&b, NULL);
}

static X509 *
tlsalpn_cert(EVP_PKEY *k, const char *ident_type, const char *ident,
    const char *key_auth, struct ck_err *err)
{
	X509 *x = X509_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION *ext = NULL;
	uint8_t h[32], ser[16], *der = NULL;
	bool is_ip = strcmp(ident_type, "ip") == 0;
	int dl, ok = 0;

	if (x == NULL || gens == NULL || g == NULL || inner == NULL ||
	    val == NULL || oid == NULL)
		goto out;
	if (is_ip) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(ident);
		if (ip == NULL) {
			ck_err_set(err, CK_E_INVAL,
			    "acme: tls-alpn-01: bad ip identifier %s", ident);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
	} else {
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		ASN1_STRING_set(s, ident, -1);
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
	}
	sk_GENERAL_NAME_push(gens, g);
	g = NULL;
	/* Authorization ::= OCTET STRING (SIZE (32)), the SHA-256 of the
	 * key authorization, inside the extension's own OCTET STRING. */
	ck_sha256(key_auth, strlen(key_auth), h);
	ASN1_OCTET_STRING_set(inner, h, sizeof(h));
	if ((dl = i2d_ASN1_OCTET_STRING(inner, &der)) <= 0)
		goto out;
	ASN1_OCTET_STRING_set(val, der, dl);
	ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, val);
	RAND_bytes(ser, sizeof(ser));
	ser[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(ser, sizeof(ser), NULL);
	X509_NAME *nm = X509_get_subject_name(x);
	if (ext == NULL || bn == NULL || !X509_set_version(x, 2) ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	        (const unsigned char *)"certkeep tls-alpn-01", -1, -1, 0) ||
	    !X509_set_issuer_name(x, nm) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) ||
	    !X509_set_pubkey(x, k) ||
	    !X509_add1_ext_i2d(
	        x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) ||
	    !X509_add_ext(x, ext, -1) || X509_sign(x, k, EVP_sha256()) <= 0) {
		BN_free(bn);
		acme_ossl_err(
		    err, CK_E_CRYPTO, "acme: tls-alpn-01 certificate");
		goto out;
	}
	BN_free(bn);
	ok = 1;
out:
	if (!ok && err != NULL && err->code == 0)
		acme_ossl_err(
		    err, CK_E_CRYPTO, "acme: tls-alpn-01 certificate");
	OPENSSL_free(der);
	X509_EXTENSION_free(ext);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(val);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
acme_tlsalpn_cert(EVP_PKEY *k, const char *ident_type, const char *ident_value,
    const char *key_auth, struct ck_buf *der, struct ck_err *err)
{
	X509 *x = tlsalpn_cert(k, ident_type, ident_value, key_auth, err);
	uint8_t *p = NULL;
	int n;

	if (x == NULL)
		return err != NULL && err->code != 0 ? err->code : CK_E_CRYPTO;
	n = i2d_X509(x, &p);
	X509_free(x);
	if (n <= 0)
		return acme_ossl_err(err, CK_E_CRYPTO, "acme: tls-alpn-01");
	ck_buf_add(der, p, (size_t)n);
	OPENSSL_free(p);
	return 0;
}

int
acme_responder_add(struct acme_responder *r, const char *type,
    const char *ident_type, const char *ident_value, const char *token,
    const char *key_auth, struct ck_err *err)
{
	struct entry *e;

	if (strcmp(type, "http-01") != 0 && strcmp(type, "dns-01") != 0 &&
	    strcmp(type, "tls-alpn-01") != 0)
		return ck_err_set(
		    err, CK_E_INVAL, "acme: unsupported challenge %s", type);
	if (token == NULL || !acme_is_b64url(token, ACME_TOKEN_MAX))
		return ck_err_set(err, CK_E_PARSE,
		    "acme: %s challenge for %s without a usable token", type,
		    ident_value);
	r->e = ck_reallocarray(r->e, r->n + 1, sizeof(r->e[0]));
	e = &r->e[r->n++];
	memset(e, 0, sizeof(*e));
	e->type = ck_strdup(type);
	e->ident_type = ck_strdup(ident_type);
	e->ident = ck_strdup(ident_value);
	e->token = ck_strdup(token);
	e->key_auth = ck_strdup(key_auth);
	if (strcmp(type, "dns-01") == 0) {
		uint8_t h[32];
		struct ck_buf v = CK_BUF_INIT, nm = CK_BUF_INIT;
		ck_sha256(key_auth, strlen(key_auth), h);
		acme_b64url(h, sizeof(h), &v);
		e->dns_value = ck_buf_detach(&v, NULL);
		ck_buf_printf(&nm, "_acme-challenge.%s.", ident_value);
		e->dns_name = ck_buf_detach(&nm, NULL);
	} else if (strcmp(type, "tls-alpn-01") == 0) {
		e->sni = strcmp(ident_type, "ip") == 0
		    ? reverse_name(ident_value)
		    : ck_strdup(ident_value);
		if (e->sni == NULL)
			return ck_err_set(err, CK_E_INVAL,
			    "acme: tls-alpn-01: bad ip identifier %s",
			    ident_value);
	}
	return 0;
}

/* host:port or [v6]:port into host and port; a bare port means all
 * addresses. */
static int
split_listen(const char *s, const char *def, char *host, size_t hn, int *port,
    struct ck_err *err)
{
	const char *v = s != NULL && *s != '\0' ? s : def;
	const char *colon = strrchr(v, ':');
	char *end;
	long p;

	if (colon == NULL) {
		snprintf(host, hn, "0.0.0.0");
		colon = v - 1;
	} else if (v[0] == '[' && colon > v && colon[-1] == ']')
		snprintf(host, hn, "%.*s", (int)(colon - v - 2), v + 1);
	else
		snprintf(host, hn, "%.*s", (int)(colon - v), v);
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535 || host[0] == '\0')
		return ck_err_set(
		    err, CK_E_INVAL, "acme: bad listen address %s", v);
	*port = (int)p;
	return 0;
}

/* ---- http-01 ---- */

static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct acme_responder *r = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (path != NULL &&
	    strncmp(path, WELL_KNOWN, strlen(WELL_KNOWN)) == 0 &&
	    (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)) {
		const char *tok = path + strlen(WELL_KNOWN);
		for (size_t i = 0; i < r->n; i++) {
			struct entry *e = &r->e[i];
			if (strcmp(e->type, "http-01") != 0 ||
			    strcmp(e->token, tok) != 0)
				continue;
			struct evbuffer *b = evbuffer_new();
			evbuffer_add(b, e->key_auth, strlen(e->key_auth));
			evhttp_add_header(
			    evhttp_request_get_output_headers(req),
			    "Content-Type", "application/octet-stream");
			evhttp_send_reply(req, 200, "OK", b);
			evbuffer_free(b);
			return;
		}
	}
	evhttp_send_error(req, 404, NULL);
}

/* The loop stops itself when told: a loopbreak from another thread
 * would need a locked base, and is lost if it comes before the loop
 * starts. */
static void
http_tick(evutil_socket_t fd, short what, void *arg)
{
	struct acme_responder *r = arg;

	(void)fd, (void)what;
	if (atomic_load(&r->stop))
		event_base_loopbreak(r->base);
}

static void *
http_main(void *arg)
{
	struct acme_responder *r = arg;

	block_sigpipe();
	event_base_dispatch(r->base);
	return NULL;
}

static int
http_start(struct acme_responder *r, struct ck_err *err)
{
	char host[256];
	int port, rc;

	if ((rc = split_listen(r->d->http01_listen, "0.0.0.0:80", host,
	         sizeof(host), &port, err)) != 0)
		return rc;
	struct timeval tv = {0, 50 * 1000};
	if ((r->base = event_base_new()) == NULL ||
	    (r->http = evhttp_new(r->base)) == NULL ||
	    (r->tick = event_new(r->base, -1, EV_PERSIST, http_tick, r)) ==
	        NULL ||
	    event_add(r->tick, &tv) != 0)
		return ck_err_set(
		    err, CK_E_INTERNAL, "acme: http-01: libevent");
	evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(r->http, 8192);
	evhttp_set_max_body_size(r->http, 1024);
	evhttp_set_timeout(r->http, 5);
	evhttp_set_gencb(r->http, http_cb, r);
	if (evhttp_bind_socket_with_handle(r->http, host, (uint16_t)port) ==
	    NULL)
		return ck_err_set(err, CK_E_IO,
		    "acme: http-01: cannot listen on %s:%d: %s", host, port,
		    strerror(errno));
	if (pthread_create(&r->http_th, NULL, http_main, r) != 0)
		return ck_err_set(err, CK_E_INTERNAL, "acme: http-01: thread");
	r->http_on = true;
	ck_log(CK_LOG_DEBUG, "acme: http-01 responder on %s:%d", host, port);
	return 0;
}

static int
mkdir_own(struct acme_responder *r, const char *path, int slot)
{
	if (mkdir(path, 0755) == 0) {
		r->made_dirs[slot] = ck_strdup(path);
		return 0;
	}
	return errno == EEXIST ? 0 : -1;
}

static int
webroot_write(struct acme_responder *r, struct entry *e, struct ck_err *err)
{
	struct ck_buf p = CK_BUF_INIT;
	int fd, rc = 0;
	size_t len = strlen(e->key_auth);

	ck_buf_printf(&p, "%s/.well-known", r->d->webroot);
	if (mkdir_own(r, p.p, 0) != 0)
		goto fail;
	ck_buf_adds(&p, "/acme-challenge");
	if (mkdir_own(r, p.p, 1) != 0)
		goto fail;
	ck_buf_printf(&p, "/%s", e->token);
	fd = open(
	    p.p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	if (write(fd, e->key_auth, len) != (ssize_t)len) {
		close(fd);
		unlink(p.p);
		goto fail;
	}
	close(fd);
	e->file = ck_buf_detach(&p, NULL);
	return 0;
fail:
	rc = ck_err_set(
	    err, CK_E_IO, "acme: http-01: %s: %s", p.p, strerror(errno));
	ck_buf_release(&p);
	return rc;
}

/* ---- dns-01 ---- */

/* Runs `hook VERB NAME VALUE` through the shell (the hook may carry its
 * own arguments) and waits at most max_ms for it. */
static int
run_hook(const char *hook, const char *verb, const char *name,
    const char *value, int max_ms, struct ck_err *err)
{
	struct ck_buf script = CK_BUF_INIT;
	char *argv[8];
	pid_t pid;
	int st, rc;

	ck_buf_printf(&script, "%s \"$@\"", hook);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = script.p;
	argv[3] = "certkeep-dns-hook";
	argv[4] = (char *)verb;
	argv[5] = (char *)name;
	argv[6] = (char *)value;
	argv[7] = NULL;
	rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
	ck_buf_release(&script);
	if (rc != 0)
		return ck_err_set(
		    err, CK_E_IO, "acme: dns hook: %s", strerror(rc));
	for (int waited = 0;; waited += 20) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return ck_err_set(err, CK_E_IO, "acme: dns hook: %s",
			    strerror(errno));
		if (waited >= max_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return ck_err_set(err, CK_E_IO,
			    "acme: dns hook %s %s: no exit within %d ms", verb,
			    name, max_ms);
		}
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return ck_err_set(err, CK_E_IO,
		    "acme: dns hook %s %s: exit status %d", verb, name,
		    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

/* ---- tls-alpn-01 ---- */

static int
alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)s, (void)arg;
	for (unsigned i = 0; i < inlen; i += 1u + in[i])
		if (in[i] == 10 && i + 11 <= inlen &&
		    memcmp(in + i + 1, "acme-tls/1", 10) == 0) {
			*out = in + i + 1;
			*outlen = 10;
			return SSL_TLSEXT_ERR_OK;
		}
	/* This listener answers validators only. */
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* A client without ALPN would never call alpn_cb: such a client is no
 * validator, and is turned away before any certificate is chosen. */
static int
hello_cb(SSL *s, int *al, void *arg)
{
	const unsigned char *ext;
	size_t len;

	(void)arg;
	if (SSL_client_hello_get0_ext(s,
	        TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
	        &len) == 1)
		return SSL_CLIENT_HELLO_SUCCESS;
	*al = SSL_AD_NO_APPLICATION_PROTOCOL;
	return SSL_CLIENT_HELLO_ERROR;
}

static int
sni_cb(SSL *s, int *al, void *arg)
{
	struct acme_responder *r = arg;
	const char *name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);

	(void)al;
	for (size_t i = 0; name != NULL && i < r->n; i++)
		if (r->e[i].cert != NULL &&
		    strcasecmp(r->e[i].sni, name) == 0) {
			SSL_use_certificate(s, r->e[i].cert);
			SSL_use_PrivateKey(s, r->tls_key);
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void *
tls_main(void *arg)
{
	struct acme_responder *r = arg;
	struct pollfd p = {.fd = r->tls_fd, .events = POLLIN};
	struct timeval tv = {TLS_IO_SECONDS, 0};

	block_sigpipe();
	while (!atomic_load(&r->stop)) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept4(r->tls_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* One at a time, each bounded: validators are few. */
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		SSL *ssl = SSL_new(r->ctx);
		if (ssl != NULL) {
			SSL_set_fd(ssl, c);
			if (SSL_accept(ssl) == 1)
				SSL_shutdown(ssl);
			SSL_free(ssl);
		}
		ERR_clear_error();
		close(c);
	}
	return NULL;
}

static int
tls_start(struct acme_responder *r, struct ck_err *err)
{
	char host[256], ps[8];
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST |
	                        AI_NUMERICSERV,
	                    .ai_socktype = SOCK_STREAM},
	                *ai = NULL;
	int port, rc, one = 1;

	if ((rc = split_listen(r->d->tlsalpn_listen, "0.0.0.0:443", host,
	         sizeof(host), &port, err)) != 0)
		return rc;
	if ((rc = acme_key_generate("ec-p256", &r->tls_key, err)) != 0)
		return rc;
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].sni != NULL &&
		    (r->e[i].cert = tlsalpn_cert(r->tls_key, r->e[i].ident_type,
		         r->e[i].ident, r->e[i].key_auth, err)) == NULL)
			return err != NULL && err->code ? err->code
			                                : CK_E_CRYPTO;
	if ((r->ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return acme_ossl_err(err, CK_E_CRYPTO, "acme: tls-alpn-01");
	SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
	SSL_CTX_set_client_hello_cb(r->ctx, hello_cb, r);
	SSL_CTX_set_alpn_select_cb(r->ctx, alpn_cb, r);
	SSL_CTX_set_tlsext_servername_callback(r->ctx, sni_cb);
	SSL_CTX_set_tlsext_servername_arg(r->ctx, r);
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host, ps, &hints, &ai) != 0)
		return ck_err_set(err, CK_E_INVAL,
		    "acme: tls-alpn-01: bad listen address %s", host);
	r->tls_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->tls_fd >= 0)
		setsockopt(
		    r->tls_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (r->tls_fd < 0 ||
	    bind(r->tls_fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(r->tls_fd, 16) != 0) {
		rc = ck_err_set(err, CK_E_IO,
		    "acme: tls-alpn-01: cannot listen on %s:%d: %s", host, port,
		    strerror(errno));
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	if (pthread_create(&r->tls_th, NULL, tls_main, r) != 0)
		return ck_err_set(
		    err, CK_E_INTERNAL, "acme: tls-alpn-01: thread");
	r->tls_on = true;
	return 0;
}

int
acme_responder_start(
    struct acme_responder *r, int max_wait_ms, struct ck_err *err)
{
	bool http = false, tls = false, dns = false;
	int rc;

	for (size_t i = 0; i < r->n; i++) {
		struct entry *e = &r->e[i];
		if (strcmp(e->type, "http-01") == 0) {
			if (r->d->webroot == NULL)
				http = true;
			else if ((rc = webroot_write(r, e, err)) != 0)
				return rc;
		} else if (strcmp(e->type, "tls-alpn-01") == 0)
			tls = true;
		else {
			if (r->d->dns_hook == NULL)
				return ck_err_set(err, CK_E_INVAL,
				    "acme: dns-01 needs a dns_hook");
			if ((rc = run_hook(r->d->dns_hook, "add", e->dns_name,
			         e->dns_value, HOOK_SECONDS * 1000, err)) != 0)
				return rc;
			e->dns_added = true;
			dns = true;
		}
	}
	if (http && (rc = http_start(r, err)) != 0)
		return rc;
	if (tls && (rc = tls_start(r, err)) != 0)
		return rc;
	if (dns && r->d->dns_wait > 0) {
		int64_t ms = r->d->dns_wait * 1000;
		if (ms > max_wait_ms)
			return ck_err_set(err, CK_E_INVAL,
			    "acme: dns_wait %lld s exceeds the order's time",
			    (long long)r->d->dns_wait);
		struct timespec ts = {(time_t)(ms / 1000), 0};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	return 0;
}

void
acme_responder_free(struct acme_responder *r)
{
	struct ck_err err = {0};

	if (r == NULL)
		return;
	atomic_store(&r->stop, true);
	if (r->http_on)
		pthread_join(r->http_th, NULL);
	if (r->tick != NULL)
		event_free(r->tick);
	if (r->http != NULL)
		evhttp_free(r->http);
	if (r->base != NULL)
		event_base_free(r->base);
	if (r->tls_on)
		pthread_join(r->tls_th, NULL);
	if (r->tls_fd >= 0)
		close(r->tls_fd);
	SSL_CTX_free(r->ctx);
	EVP_PKEY_free(r->tls_key);
	for (size_t i = 0; i < r->n; i++) {
		struct entry *e = &r->e[i];
		if (e->file != NULL)
			unlink(e->file);
		if (e->dns_added &&
		    run_hook(r->d->dns_hook, "remove", e->dns_name,
		        e->dns_value, HOOK_SECONDS * 1000, &err) != 0)
			ck_log(CK_LOG_WARN, "%s", err.msg);
		free(e->type);
		free(e->ident_type);
		free(e->ident);
		free(e->token);
		ck_cleanse(e->key_auth, strlen(e->key_auth));
		free(e->key_auth);
		free(e->sni);
		X509_free(e->cert);
		free(e->file);
		free(e->dns_name);
		free(e->dns_value);
	}
	for (int i = 1; i >= 0; i--)
		if (r->made_dirs[i] != NULL) {
			rmdir(r->made_dirs[i]);
			free(r->made_dirs[i]);
		}
	free(r->e);
	free(r);
}
