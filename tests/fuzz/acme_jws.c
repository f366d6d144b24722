/*
 * libFuzzer harness for what the ACME server reads from a client
 * (src/acme/jws.c, src/x509/jose.c, and the record parsers of
 * src/acme/dns.c and src/acme/ari.c). The first byte picks (modulo 6): a
 * request body as a flattened JWS (decoded, then checked with its own jwk
 * when it has one), a JWK, a JSON object taken as an External Account
 * Binding and as keyChange's inner JWS, base64url text, the rdata of a
 * CAA and a TXT record (from a DNS server), or a CertID (also taken as
 * an http-01 redirect's Location). Every refusal
 * must carry a problem type and a status from the RFC's table; base64url
 * must decode to bytes that encode back to the same text (one spelling
 * per byte string).
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
	char kid[64], serial[64], txt[300];
	struct acme_caa caa;
	struct ck_jwk *nk = NULL;
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
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
			/* the same object as keyChange's inner JWS: only
			 * a new key that signed it may come back */
			if (acme_keychange_check(o, "u", "a", k, &nk, &p) !=
			    0) {
				check_prob(&p);
				if (nk != NULL)
					abort();
			} else if (nk == NULL ||
			    strcmp(ck_jwk_thumbprint(nk),
			        ck_jwk_thumbprint(k)) == 0) {
				abort();
			}
			ck_jwk_free(nk);
			ck_jwk_free(k);
			json_decref(o);
		}
		break;
	case 4:
		if (acme_caa_parse(data + 1, size - 1, &caa) == 0) {
			char why[128];
			if (strlen(caa.tag) == 0 ||
			    strlen(caa.tag) >= sizeof(caa.tag))
				abort();
			(void)acme_caa_permits(&caa, 1, data[0] & 8,
			    "ca.example", why, sizeof(why));
		}
		if (acme_txt_value(data + 1, size - 1, txt, sizeof(txt)) == 0 &&
		    strlen(txt) >= sizeof(txt))
			abort();
		break;
	case 5:
		if (size < 300) {
			char id[300];
			memcpy(id, data + 1, size - 1);
			id[size - 1] = '\0';
			struct acme_http_target t = {.port = 80};
			if (acme_certid_parse(id, serial, &b, &p) != 0)
				check_prob(&p);
			else if (strlen(serial) == 0 || strlen(serial) % 2 != 0)
				abort();
			/* the same text as an http-01 redirect's Location:
			 * followed only to the two ports */
			strcpy(t.host, "a.test");
			strcpy(t.path, "/");
			if (acme_redirect_parse(id, &t, 80, 443) &&
			    ((t.port != 80 && t.port != 443) ||
			        t.path[0] != '/' || t.host[0] == '\0'))
				abort();
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
