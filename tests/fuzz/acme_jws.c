/*
 * libFuzzer harness for what the ACME server reads from a client
 * (src/acme/jws.c, src/x509/jose.c). The first byte picks (modulo 4): a
 * request body as a flattened JWS (decoded, then checked with its own jwk
 * when it has one), a JWK, an External Account Binding object, or
 * base64url text. Every refusal must carry a problem type and a status
 * from the RFC's table; base64url must decode to bytes that encode back
 * to the same text (one spelling per byte string).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_prob(const struct acme_prob *p)
{
	if (p->type == NULL || p->detail[0] == '\0' || p->status < 400 ||
	    p->status > 599)
		abort();
}

static int
no_key(void *arg, const char *kid, struct ck_buf *hmac)
{
	(void)arg;
	if (strlen(kid) >= 64)
		abort(); /* the check bounds kids before asking */
	ck_buf_add(hmac, "0123456789abcdef0123456789abcdef", 32);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_jws j;
	struct acme_prob p;
	struct ck_jwk *k = NULL;
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT, e = CK_BUF_INIT;
	json_t *o;
	char kid[64];

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (acme_jws_decode(data + 1, size - 1, &j, &p) != 0) {
			check_prob(&p);
			break;
		}
		if (j.alg == NULL || j.nonce == NULL || j.url == NULL ||
		    (j.kid == NULL) == (j.jwk == NULL))
			abort();
		if (j.jwk != NULL && ck_jwk_parse(j.jwk, &k, &err) == 0) {
			if (acme_jws_check(&j, j.url, k, &p) != 0)
				check_prob(&p);
			ck_jwk_free(k);
		}
		acme_jws_release(&j);
		break;
	case 1:
		if (ck_jwk_parse_text(
		        (const char *)data + 1, size - 1, &k, &err) == 0) {
			if (strlen(ck_jwk_thumbprint(k)) != 43)
				abort();
			ck_jwk_free(k);
		} else if (k != NULL || err.msg[0] == '\0') {
			abort();
		}
		break;
	case 2:
		o = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		if (o != NULL) {
			/* any key: the binding must never verify for it */
			const char *jwk =
			    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
			    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMl"
			    "rwIaaPcHURo\"}";
			if (ck_jwk_parse_text(jwk, strlen(jwk), &k, &err) != 0)
				abort();
			if (acme_eab_check(o, "u", k, no_key, NULL, kid, &p) !=
			    0)
				check_prob(&p);
			ck_jwk_free(k);
			json_decref(o);
		}
		break;
	default:
		if (ck_b64url_decode((const char *)data + 1, size - 1, &b)) {
			ck_b64url_encode(b.p, b.len, &e);
			if (e.len != size - 1 ||
			    memcmp(e.p, data + 1, e.len) != 0)
				abort();
		}
		break;
	}
	ck_buf_release(&b);
	ck_buf_release(&e);
	return 0;
}
