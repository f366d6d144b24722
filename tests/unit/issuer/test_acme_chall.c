/*
 * Unit tests for the challenge responders (src/issuer/acme_chall.c) on
 * free loopback ports: the http-01 standalone server answers exactly the
 * registered tokens and is gone after free; webroot files are written and
 * removed with the folders made for them; the dns hook is called with
 * add and remove and its failure is reported; the tls-alpn-01 listener
 * negotiates only acme-tls/1 and serves per SNI a certificate with the
 * critical acmeIdentifier extension holding SHA-256(key authorization),
 * IP identifiers by their reverse name.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "base/fetch.h"
#include "base/file.h"
#include "issuer/acme_int.h"
#include "x509/x509.h"

static int
free_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &al);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static int
get(int port, const char *path, const char *method, struct ck_fetch_resp *r)
{
	char url[256];
	struct ck_err err = {0};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	struct ck_fetch_req q = {
	    .method = method, .url = url, .timeout_ms = 3000};
	return ck_fetch(&q, r, &err);
}

Test(acme_chall, http01_standalone)
{
	struct ck_issuer_def d = {0};
	struct acme_responder *r = NULL;
	struct ck_fetch_resp resp;
	struct ck_err err = {0};
	char lis[64];
	int port = free_port();

	snprintf(lis, sizeof(lis), "127.0.0.1:%d", port);
	d.http01_listen = lis;
	cr_assert_eq(acme_responder_new(&d, &r, &err), 0);
	cr_assert_eq(acme_responder_add(r, "http-01", "dns", "a.test", "tokA",
	                 "tokA.thumb", &err),
	    0);
	cr_assert_eq(acme_responder_add(r, "http-01", "dns", "b.test", "tokB",
	                 "tokB.thumb", &err),
	    0);
	/* A token that could walk out of the folder is refused. */
	cr_assert_eq(acme_responder_add(
	                 r, "http-01", "dns", "c.test", "../x", "k", &err),
	    CK_E_PARSE);
	cr_assert_eq(
	    acme_responder_add(r, "smtp-01", "dns", "c.test", "t", "k", &err),
	    CK_E_INVAL);
	cr_assert_eq(acme_responder_start(r, 1000, &err), 0, "%s", err.msg);

	cr_assert_eq(
	    get(port, "/.well-known/acme-challenge/tokB", NULL, &resp), 0);
	cr_assert_eq(resp.status, 200);
	cr_assert_str_eq(resp.body.p, "tokB.thumb");
	ck_fetch_resp_release(&resp);
	cr_assert_eq(
	    get(port, "/.well-known/acme-challenge/tokA?x=1", NULL, &resp), 0);
	cr_assert_str_eq(resp.body.p, "tokA.thumb");
	ck_fetch_resp_release(&resp);
	cr_assert_eq(
	    get(port, "/.well-known/acme-challenge/tokC", NULL, &resp), 0);
	cr_assert_eq(resp.status, 404);
	ck_fetch_resp_release(&resp);
	cr_assert_eq(get(port, "/", NULL, &resp), 0);
	cr_assert_eq(resp.status, 404);
	ck_fetch_resp_release(&resp);
	cr_assert_eq(
	    get(port, "/.well-known/acme-challenge/tokA", "POST", &resp), 0);
	/* Only GET and HEAD (libevent says 501 or 405). */
	cr_assert(resp.status == 405 || resp.status == 501, "%ld", resp.status);
	ck_fetch_resp_release(&resp);

	acme_responder_free(r);
	cr_assert_eq(get(port, "/.well-known/acme-challenge/tokA", NULL, &resp),
	    CK_E_IO);
	ck_fetch_resp_release(&resp);
}

Test(acme_chall, http01_port_taken)
{
	struct ck_issuer_def d = {0};
	struct acme_responder *r = NULL;
	struct ck_err err = {0};
	struct sockaddr_in a = {0};
	socklen_t al = sizeof(a);
	char lis[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	listen(fd, 1);
	getsockname(fd, (struct sockaddr *)&a, &al);
	snprintf(lis, sizeof(lis), "127.0.0.1:%d", ntohs(a.sin_port));
	d.http01_listen = lis;
	acme_responder_new(&d, &r, &err);
	acme_responder_add(r, "http-01", "dns", "a.test", "t", "t.k", &err);
	cr_assert_eq(acme_responder_start(r, 1000, &err), CK_E_IO);
	cr_assert(strstr(err.msg, "cannot listen") != NULL, "%s", err.msg);
	acme_responder_free(r);
	close(fd);

	d.http01_listen = "127.0.0.1:99999";
	acme_responder_new(&d, &r, &err);
	acme_responder_add(r, "http-01", "dns", "a.test", "t", "t.k", &err);
	cr_assert_eq(acme_responder_start(r, 1000, &err), CK_E_INVAL);
	acme_responder_free(r);
}

Test(acme_chall, webroot)
{
	char root[] = "/tmp/ck-webroot-XXXXXX";
	struct ck_issuer_def d = {0};
	struct acme_responder *r = NULL;
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	char path[256];
	struct stat st;

	cr_assert_not_null(mkdtemp(root));
	d.webroot = root;
	acme_responder_new(&d, &r, &err);
	cr_assert_eq(acme_responder_add(r, "http-01", "dns", "a.test", "tok1",
	                 "tok1.th", &err),
	    0);
	cr_assert_eq(acme_responder_start(r, 1000, &err), 0, "%s", err.msg);
	snprintf(
	    path, sizeof(path), "%s/.well-known/acme-challenge/tok1", root);
	cr_assert_eq(ck_file_read(path, 100, &b, &err), 0, "%s", err.msg);
	cr_assert_str_eq(b.p, "tok1.th");
	acme_responder_free(r);
	cr_assert_neq(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/.well-known", root);
	cr_assert_neq(stat(path, &st), 0, "the folders made are removed");
	rmdir(root);
	ck_buf_release(&b);
}

Test(acme_chall, dns_hook)
{
	char dir[] = "/tmp/ck-dnshook-XXXXXX";
	char hook[256], log[256], cmd[600];
	struct ck_issuer_def d = {0};
	struct acme_responder *r = NULL;
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT, want = CK_BUF_INIT;
	uint8_t h[32];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(hook, sizeof(hook), "%s/hook", dir);
	FILE *f = fopen(hook, "w");
	fprintf(f, "#!/bin/sh\necho \"$*\" >>\"$1.$LOGDIR\"\n");
	fclose(f);
	chmod(hook, 0755);
	/* The hook is a command line: its own arguments come first. */
	snprintf(cmd, sizeof(cmd), "LOGDIR=x %s", hook);
	d.dns_hook = cmd;
	cr_assert_eq(chdir(dir), 0);
	acme_responder_new(&d, &r, &err);
	cr_assert_eq(acme_responder_add(
	                 r, "dns-01", "dns", "w.test", "tok", "tok.th", &err),
	    0);
	cr_assert_eq(acme_responder_start(r, 1000, &err), 0, "%s", err.msg);
	ck_sha256("tok.th", 6, h);
	ck_buf_adds(&want, "add _acme-challenge.w.test. ");
	acme_b64url(h, 32, &want);
	ck_buf_addc(&want, '\n');
	cr_assert_eq(ck_file_read("add.x", 1000, &b, &err), 0);
	cr_assert_str_eq(b.p, want.p);
	acme_responder_free(r);
	ck_buf_reset(&b);
	cr_assert_eq(ck_file_read("remove.x", 1000, &b, &err), 0);
	cr_assert(strncmp(b.p, "remove _acme-challenge.w.test. ", 31) == 0);

	/* A failing hook fails the order, and nothing is removed. */
	d.dns_hook = "false";
	acme_responder_new(&d, &r, &err);
	acme_responder_add(r, "dns-01", "dns", "w.test", "tok", "tok.th", &err);
	cr_assert_eq(acme_responder_start(r, 1000, &err), CK_E_IO);
	cr_assert(strstr(err.msg, "exit status 1") != NULL, "%s", err.msg);
	acme_responder_free(r);
	/* dns_wait longer than the order may take. */
	d.dns_hook = "true";
	d.dns_wait = 5;
	acme_responder_new(&d, &r, &err);
	acme_responder_add(r, "dns-01", "dns", "w.test", "tok", "tok.th", &err);
	cr_assert_eq(acme_responder_start(r, 1000, &err), CK_E_INVAL);
	acme_responder_free(r);
	unlink("add.x");
	unlink("remove.x");
	unlink(hook);
	rmdir(dir);
	ck_buf_release(&b);
	ck_buf_release(&want);
}

/* A handshake as the validator makes it; returns the peer's certificate
 * or NULL when the handshake fails. */
static X509 *
handshake(int port, const char *sni, bool alpn)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *s;
	X509 *x = NULL;

	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (alpn)
		SSL_CTX_set_alpn_protos(ctx,
		    (const uint8_t *)"\x0a"
		                     "acme-tls/1",
		    11);
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	if (sni != NULL)
		SSL_set_tlsext_host_name(s, sni);
	if (SSL_connect(s) == 1) {
		const uint8_t *proto;
		unsigned plen;
		SSL_get0_alpn_selected(s, &proto, &plen);
		cr_assert_eq(plen, 10);
		cr_assert(memcmp(proto, "acme-tls/1", 10) == 0);
		x = SSL_get1_peer_certificate(s);
	}
	SSL_free(s);
	SSL_CTX_free(ctx);
	close(fd);
	return x;
}

static void
check_cert(X509 *x, const char *san, const char *key_auth)
{
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	int i = X509_get_ext_by_OBJ(x, oid, -1);
	uint8_t h[32], want[34] = {0x04, 0x20};

	cr_assert_geq(i, 0, "no acmeIdentifier extension");
	X509_EXTENSION *e = X509_get_ext(x, i);
	cr_assert_eq(X509_EXTENSION_get_critical(e), 1);
	ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
	ck_sha256(key_auth, strlen(key_auth), h);
	memcpy(want + 2, h, 32);
	cr_assert_eq(ASN1_STRING_length(v), 34);
	cr_assert_arr_eq(ASN1_STRING_get0_data(v), want, 34);
	GENERAL_NAMES *g =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	cr_assert_eq(sk_GENERAL_NAME_num(g), 1);
	BIO *b = BIO_new(BIO_s_mem());
	GENERAL_NAME_print(b, sk_GENERAL_NAME_value(g, 0));
	char *p;
	long n = BIO_get_mem_data(b, &p);
	cr_assert(n == (long)strlen(san) && memcmp(p, san, (size_t)n) == 0,
	    "SAN %.*s", (int)n, p);
	BIO_free(b);
	GENERAL_NAMES_free(g);
	ASN1_OBJECT_free(oid);
}

Test(acme_chall, tlsalpn01)
{
	struct ck_issuer_def d = {0};
	struct acme_responder *r = NULL;
	struct ck_err err = {0};
	char lis[64];
	int port = free_port();
	X509 *x;

	snprintf(lis, sizeof(lis), "127.0.0.1:%d", port);
	d.tlsalpn_listen = lis;
	acme_responder_new(&d, &r, &err);
	cr_assert_eq(acme_responder_add(r, "tls-alpn-01", "dns", "alpn.test",
	                 "t1", "t1.th", &err),
	    0);
	cr_assert_eq(acme_responder_add(r, "tls-alpn-01", "ip", "127.0.0.1",
	                 "t2", "t2.th", &err),
	    0);
	cr_assert_eq(acme_responder_start(r, 1000, &err), 0, "%s", err.msg);

	x = handshake(port, "alpn.test", true);
	cr_assert_not_null(x);
	check_cert(x, "DNS:alpn.test", "t1.th");
	X509_free(x);
	x = handshake(port, "1.0.0.127.in-addr.arpa", true);
	cr_assert_not_null(x);
	check_cert(x, "IP Address:127.0.0.1", "t2.th");
	X509_free(x);
	/* Not a validator, or a name we do not answer for: no handshake. */
	cr_assert_null(handshake(port, "alpn.test", false));
	cr_assert_null(handshake(port, "other.test", true));
	cr_assert_null(handshake(port, NULL, true));
	acme_responder_free(r);
}
