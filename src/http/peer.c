/*
 * Who is at the other end of a TLS connection, for authorize(): an
 * agent's client certificate (issued by the agent CA the TLS context
 * keeps, OU=certkeep-agent), or one that only the agent CA vouches for,
 * which must not take client_role.
 */
#include "http/http_int.h"

#include <stdio.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* The verified peer certificate when the agent CA of the connection's
 * TLS context issued it (else NULL); *t that trust. */
static X509 *
agent_issued(struct ck_http_ctx *c, const struct ck_http_agent_trust **t)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(c->req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *peer;

	*t = NULL;
	if (ssl == NULL || (peer = SSL_get0_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	*t =
	    SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ck_http_agent_ca_index());
	if (*t == NULL || X509_check_issued((*t)->ca, peer) != X509_V_OK)
		return NULL;
	return peer;
}

/*
 * An agent's client certificate: verified, issued by the agent CA of the
 * connection's TLS context, OU=certkeep-agent. host gets its CN and sha
 * the SHA-256 (hex) of the certificate, which the handler checks against
 * the enrolled agent.
 */
bool
ck_http_agent_peer(struct ck_http_ctx *c, char *host, size_t cap, char sha[65])
{
	const struct ck_http_agent_trust *t;
	X509 *peer = agent_issued(c, &t);
	X509_NAME *n;
	unsigned char md[32];
	unsigned int mdlen = 0;
	char ou[64] = "";

	if (peer == NULL)
		return false;
	n = X509_get_subject_name(peer);
	if (X509_NAME_get_text_by_NID(
	        n, NID_organizationalUnitName, ou, sizeof(ou)) <= 0 ||
	    strcmp(ou, "certkeep-agent") != 0 ||
	    X509_NAME_get_text_by_NID(n, NID_commonName, host, (int)cap) <= 0 ||
	    X509_digest(peer, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		ERR_clear_error();
		return false;
	}
	for (int i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	return true;
}

/* Verified through the agent CA, which client_ca does not trust. */
bool
ck_http_agent_ca_only(struct ck_http_ctx *c)
{
	const struct ck_http_agent_trust *t;

	return agent_issued(c, &t) != NULL && !t->in_client_ca;
}
