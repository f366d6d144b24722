/*
 * tls-alpn-01 (RFC 8737) seen from the validator: a TLS client that
 * offers only acme-tls/1 and reads, not verifies, the self-signed
 * certificate the ACME client answers with. Also the TLS side of an
 * http-01 fetch redirected to https.
 */
#include "x509/acme_tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "x509/x509_int.h"

/* id-pe-acmeIdentifier, RFC 8737 section 6.1 */
#define ACME_ID_OID "1.3.6.1.5.5.7.1.31"

static int
check_cert(X509 *x, const char *value, bool is_ip, const uint8_t digest[32],
    struct ck_err *err)
{
	GENERAL_NAMES *gens = NULL;
	ASN1_OBJECT *oid = OBJ_txt2obj(ACME_ID_OID, 1);
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *v;
	ASN1_OCTET_STRING *inner = NULL;
	const unsigned char *p;
	uint8_t ip[16];
	int idx, r = CK_E_INVAL, iplen = 0;

	if (is_ip) {
		iplen = strchr(value, ':') != NULL ? 16 : 4;
		if (inet_pton(iplen == 16 ? AF_INET6 : AF_INET, value, ip) != 1)
			iplen = 0;
	}
	/* exactly one SAN: the identifier */
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL || sk_GENERAL_NAME_num(gens) != 1) {
		ck_err_set(err, r, "certificate must name only the identifier");
		goto out;
	}
	{
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, 0);
		bool ok = false;
		if (!is_ip && g->type == GEN_DNS) {
			const ASN1_IA5STRING *s = g->d.dNSName;
			ok = (size_t)s->length == strlen(value) &&
			    strncasecmp((const char *)s->data, value,
			        (size_t)s->length) == 0;
		} else if (is_ip && g->type == GEN_IPADD) {
			ok = iplen > 0 && g->d.iPAddress->length == iplen &&
			    memcmp(g->d.iPAddress->data, ip, (size_t)iplen) ==
			        0;
		}
		if (!ok) {
			ck_err_set(
			    err, r, "certificate names another identifier");
			goto out;
		}
	}
	idx = oid != NULL ? X509_get_ext_by_OBJ(x, oid, -1) : -1;
	if (idx < 0 || (ext = X509_get_ext(x, idx)) == NULL) {
		ck_err_set(
		    err, r, "certificate has no acmeIdentifier extension");
		goto out;
	}
	if (!X509_EXTENSION_get_critical(ext)) {
		ck_err_set(err, r, "acmeIdentifier extension is not critical");
		goto out;
	}
	/* extnValue holds DER of an OCTET STRING of the 32-byte digest */
	v = X509_EXTENSION_get_data(ext);
	p = v->data;
	inner = d2i_ASN1_OCTET_STRING(NULL, &p, v->length);
	if (inner == NULL || p != v->data + v->length || inner->length != 32 ||
	    CRYPTO_memcmp(inner->data, digest, 32) != 0) {
		ck_err_set(err, r,
		    "acmeIdentifier is not the key authorization's digest");
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(oid);
	GENERAL_NAMES_free(gens);
	return r;
}

int
ck_x509_acme_alpn_check(int fd, const char *sni, const char *value, bool is_ip,
    const uint8_t digest[32], int timeout_ms, struct ck_err *err)
{
	static const unsigned char alpn[] = "\x0a"
	                                    "acme-tls/1";
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *x = NULL;
	const unsigned char *chosen = NULL;
	unsigned chosen_len = 0;
	int r = CK_E_IO, fl;

	/* blocking, each step bounded by the socket timeouts */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return ck_err_set(err, r, "socket options");
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    (ssl = SSL_new(ctx)) == NULL) {
		r = ssl_err(err, CK_E_IO, "tls-alpn-01");
		goto out;
	}
	/* the certificate is self-signed by design: read, not verified */
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1) != 0 ||
	    (sni != NULL && SSL_set_tlsext_host_name(ssl, sni) != 1) ||
	    SSL_set_fd(ssl, fd) != 1) {
		r = ssl_err(err, CK_E_IO, "tls-alpn-01");
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		r = ssl_err(err, CK_E_IO, "tls-alpn-01 handshake");
		goto out;
	}
	SSL_get0_alpn_selected(ssl, &chosen, &chosen_len);
	if (chosen_len != 10 || memcmp(chosen, "acme-tls/1", 10) != 0) {
		r = ck_err_set(
		    err, CK_E_INVAL, "server did not choose acme-tls/1");
		goto out;
	}
	if ((x = SSL_get1_peer_certificate(ssl)) == NULL) {
		r = ck_err_set(err, CK_E_INVAL, "no certificate");
		goto out;
	}
	r = check_cert(x, value, is_ip, digest, err);
	SSL_shutdown(ssl);
out:
	ERR_clear_error();
	X509_free(x);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return r;
}

int
ck_x509_https_get(int fd, const char *sni, const char *req, size_t len,
    char *resp, size_t cap, size_t *got, int timeout_ms, struct ck_err *err)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	size_t n = 0;
	int r = CK_E_IO, fl, k;

	*got = 0;
	fl = fcntl(fd, F_GETFL);
	if (cap == 0 || fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return ck_err_set(err, r, "socket options");
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    (ssl = SSL_new(ctx)) == NULL) {
		r = ssl_err(err, CK_E_IO, "https");
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if ((sni != NULL && SSL_set_tlsext_host_name(ssl, sni) != 1) ||
	    SSL_set_fd(ssl, fd) != 1) {
		r = ssl_err(err, CK_E_IO, "https");
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		r = ssl_err(err, CK_E_IO, "https handshake");
		goto out;
	}
	if (SSL_write(ssl, req, (int)len) != (int)len) {
		r = ssl_err(err, CK_E_IO, "https write");
		goto out;
	}
	/* HTTP/1.0: the answer ends when the server closes (a close_notify
	 * or, from lax servers, the end of the stream) */
	while ((k = SSL_read(ssl, resp + n, (int)(cap - 1 - n))) > 0) {
		n += (size_t)k;
		if (n == cap - 1) {
			r = ck_err_set(err, CK_E_TOO_LARGE, "answer too long");
			goto out;
		}
	}
	if (n == 0) {
		r = ssl_err(err, CK_E_IO, "https read");
		goto out;
	}
	resp[n] = '\0';
	*got = n;
	r = 0;
	SSL_shutdown(ssl);
out:
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return r;
}
