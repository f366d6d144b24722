/*
 * tls-alpn-01 from the validator's side (src/x509/acme_tls.c): a TLS
 * server on a socketpair answers with a certificate made here, right or
 * wrong in each of the ways RFC 8737 cares about.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "x509/acme_tls.h"
#include "x509/x509.h"

static const uint8_t digest[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

struct shape {
	const char *san; /* "DNS:a.test" */
	bool critical;
	bool wrong_digest;
	bool no_ext;
	bool alpn; /* server selects acme-tls/1 */
};

static X509 *
make_cert(EVP_PKEY *k, const struct shape *sh)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING *outer = ASN1_OCTET_STRING_new();
	unsigned char *der = NULL;
	uint8_t d[32];
	int n;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, NULL);
	X509_time_adj_ex(X509_getm_notAfter(x), 1, 0, NULL);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, sh->san);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (!sh->no_ext) {
		memcpy(d, digest, 32);
		if (sh->wrong_digest)
			d[31] ^= 1;
		ASN1_OCTET_STRING_set(os, d, 32);
		n = i2d_ASN1_OCTET_STRING(os, &der);
		ASN1_OCTET_STRING_set(outer, der, n);
		ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
		e = X509_EXTENSION_create_by_OBJ(
		    NULL, oid, sh->critical, outer);
		ASN1_OBJECT_free(oid);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		OPENSSL_free(der);
	}
	X509_sign(x, k, EVP_sha256());
	ASN1_OCTET_STRING_free(os);
	ASN1_OCTET_STRING_free(outer);
	return x;
}

static int
select_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned inlen, void *arg)
{
	(void)s;
	if (!*(bool *)arg)
		return SSL_TLSEXT_ERR_NOACK;
	if (inlen == 11 && memcmp(in + 1, "acme-tls/1", 10) == 0) {
		*out = in + 1;
		*outlen = 10;
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

struct server {
	int fd;
	SSL_CTX *ctx;
};

static void *
serve(void *arg)
{
	struct server *sv = arg;
	SSL *s = SSL_new(sv->ctx);
	char buf[16];

	SSL_set_fd(s, sv->fd);
	if (SSL_accept(s) == 1)
		(void)SSL_read(s, buf, sizeof(buf)); /* until the client ends */
	SSL_free(s);
	close(sv->fd);
	return NULL;
}

/* Runs the check against a server shaped sh; returns its code. */
static int
check(const struct shape *sh, const char *value, bool is_ip)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = make_cert(k, sh);
	struct server sv;
	struct ck_err err = {0};
	pthread_t th;
	bool alpn = sh->alpn;
	int sp[2], r;

	/* as in certkeep serve: a peer gone mid-write is an error, not a
	 * signal */
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	sv.fd = sp[1];
	sv.ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(sv.ctx, x);
	SSL_CTX_use_PrivateKey(sv.ctx, k);
	SSL_CTX_set_alpn_select_cb(sv.ctx, select_alpn, &alpn);
	pthread_create(&th, NULL, serve, &sv);
	r = ck_x509_acme_alpn_check(
	    sp[0], is_ip ? NULL : value, value, is_ip, digest, 5000, &err);
	if (r != 0)
		cr_assert(err.msg[0] != '\0');
	close(sp[0]);
	pthread_join(th, NULL);
	SSL_CTX_free(sv.ctx);
	X509_free(x);
	EVP_PKEY_free(k);
	return r;
}

Test(acme_tls, right_certificate_passes)
{
	struct shape ok = {"DNS:a.example.test", true, false, false, true};
	struct shape ip = {"IP:192.0.2.7", true, false, false, true};

	cr_assert_eq(check(&ok, "a.example.test", false), 0);
	cr_assert_eq(check(&ok, "A.Example.Test", false), 0);
	cr_assert_eq(check(&ip, "192.0.2.7", true), 0);
}

Test(acme_tls, each_wrong_certificate_fails)
{
	struct shape noncrit = {
	    "DNS:a.example.test", false, false, false, true};
	struct shape wrongd = {"DNS:a.example.test", true, true, false, true};
	struct shape noext = {"DNS:a.example.test", true, false, true, true};
	struct shape two = {
	    "DNS:a.example.test,DNS:b.example.test", true, false, false, true};
	struct shape other = {"DNS:b.example.test", true, false, false, true};

	cr_assert_eq(check(&noncrit, "a.example.test", false), CK_E_INVAL);
	cr_assert_eq(check(&wrongd, "a.example.test", false), CK_E_INVAL);
	cr_assert_eq(check(&noext, "a.example.test", false), CK_E_INVAL);
	cr_assert_eq(check(&two, "a.example.test", false), CK_E_INVAL);
	cr_assert_eq(check(&other, "a.example.test", false), CK_E_INVAL);
	cr_assert_eq(check(&other, "192.0.2.7", true), CK_E_INVAL);
}

Test(acme_tls, server_without_acme_tls_1_fails)
{
	struct shape noalpn = {"DNS:a.example.test", true, false, false, false};

	cr_assert_eq(check(&noalpn, "a.example.test", false), CK_E_INVAL);
}
