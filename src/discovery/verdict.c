/*
 * The scanner's chain verdicts (net.h). OpenSSL verifies the chain a
 * server sends in every handshake, even unenforced; one certificate often
 * answers on many endpoints (a load balancer, a wildcard), and verifying
 * it again costs as much as the rest of the handshake, most of it in
 * trust-directory look-ups. So each chain, by the SHA-256 of the chain as
 * sent, is verified once per scan. Direct-mapped; a collision just
 * verifies again. The name check stays per endpoint (net.c).
 */
#include "discovery/net.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define VERDICTS 1024

struct verdict {
	uint8_t key[32];
	long result; /* X509_V_OK or the error */
	bool used;
};

struct ck_verdicts {
	struct verdict v[VERDICTS];
};

/* The chain the peer sent, hashed: i2d of a parsed certificate copies
 * its cached encoding. 0 when it could not be hashed. */
static int
chain_key(X509_STORE_CTX *x, uint8_t key[32])
{
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(x);
	X509 *leaf = X509_STORE_CTX_get0_cert(x);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	int n = sent != NULL ? sk_X509_num(sent) : 0;

	/* what was sent, leaf first (the leaf alone if nothing else) */
	for (int i = n > 0 ? 0 : -1; ok && i < n; i++) {
		X509 *c = i < 0 ? leaf : sk_X509_value(sent, i);
		unsigned char *der = NULL;
		int dl = c != NULL ? i2d_X509(c, &der) : -1;
		ok = dl > 0 && EVP_DigestUpdate(md, der, (size_t)dl) == 1 &&
		    EVP_DigestUpdate(md, "|", 1) == 1;
		OPENSSL_free(der);
	}
	ok = ok && EVP_DigestFinal_ex(md, key, &len) == 1 && len == 32;
	EVP_MD_CTX_free(md);
	return ok;
}

/* In place of OpenSSL's own X509_verify_cert in each handshake: the
 * verdict on a chain seen before, else the real verification. Never
 * enforced (the scanner's VERIFY_NONE): the result is only reported. */
static int
verify_chain(X509_STORE_CTX *x, void *arg)
{
	struct ck_verdicts *vs = arg;
	uint8_t key[32];
	struct verdict *v = NULL;
	int ok;

	if (chain_key(x, key)) {
		v = &vs->v[(key[0] | (key[1] << 8)) % VERDICTS];
		if (v->used && memcmp(v->key, key, 32) == 0) {
			X509_STORE_CTX_set_error(x, (int)v->result);
			return v->result == X509_V_OK;
		}
	}
	ok = X509_verify_cert(x);
	if (v != NULL) {
		memcpy(v->key, key, 32);
		v->result = X509_STORE_CTX_get_error(x);
		v->used = true;
	}
	return ok;
}

struct ck_verdicts *
ck_verdicts_install(SSL_CTX *ctx)
{
	struct ck_verdicts *vs = calloc(1, sizeof(*vs));

	if (vs != NULL)
		SSL_CTX_set_cert_verify_callback(ctx, verify_chain, vs);
	return vs;
}

void
ck_verdicts_free(struct ck_verdicts *vs)
{
	free(vs);
}
