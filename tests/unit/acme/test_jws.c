/*
 * Unit tests for the ACME server's JWS handling (src/acme/jws.c,
 * src/x509/jose.c) and its nonces (src/store/acme.c). The good requests
 * are signed by certkeep's own ACME client code (src/issuer/acme_jws.c),
 * written against pebble, so the two sides check each other; the bad ones
 * are built by hand.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme/acme_int.h"
#include "issuer/acme_int.h"

#define URL "https://ck.test/acme/ca/new-order"

/* A JWS over payload signed by a new key of type, with jwk in the header
 * (kid NULL) or kid. *key is the caller's. */
static void
signed_by(const char *type, const char *kid, const char *url,
    const char *payload, struct ck_buf *out, EVP_PKEY **key)
{
	struct ck_err err = {0};

	cr_assert_eq(acme_key_generate(type, key, &err), 0, "%s", err.msg);
	cr_assert_eq(acme_jws(*key, kid, "nonce-1", url, payload, out, &err), 0,
	    "%s", err.msg);
}

/* A JWS built by hand: protected header JSON, raw payload (NULL: ""),
 * signature text. */
static void
by_hand(
    const char *prot, const char *payload, const char *sig, struct ck_buf *out)
{
	struct ck_buf p = CK_BUF_INIT, l = CK_BUF_INIT;

	ck_b64url_encode(prot, strlen(prot), &p);
	if (payload != NULL)
		ck_b64url_encode(payload, strlen(payload), &l);
	else
		ck_buf_adds(&l, "");
	ck_buf_printf(out,
	    "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
	    p.p, l.p, sig);
	ck_buf_release(&p);
	ck_buf_release(&l);
}

/* Decodes and checks body against URL; returns the problem type or
 * "ok". */
static const char *
verdict(const struct ck_buf *body, struct acme_prob *p)
{
	struct acme_jws j;
	struct ck_jwk *k = NULL;
	struct ck_err err = {0};
	const char *v = "ok";

	if (acme_jws_decode((const uint8_t *)body->p, body->len, &j, p) != 0)
		return p->type;
	cr_assert_not_null(j.jwk, "test JWS carry a jwk");
	cr_assert_eq(ck_jwk_parse(j.jwk, &k, &err), 0, "%s", err.msg);
	if (acme_jws_check(&j, URL, k, p) != 0)
		v = p->type;
	ck_jwk_free(k);
	acme_jws_release(&j);
	return v;
}

Test(jws, each_algorithm_verifies_with_the_clients_thumbprint)
{
	static const char *const types[] = {
	    "ec-p256", "ec-p384", "rsa-2048", "ed25519"};
	static const char *const algs[] = {"ES256", "ES384", "RS256", "EdDSA"};

	for (size_t i = 0; i < 4; i++) {
		struct ck_buf body = CK_BUF_INIT, th = CK_BUF_INIT;
		struct acme_jws j;
		struct acme_prob p;
		struct ck_jwk *k = NULL;
		struct ck_err err = {0};
		EVP_PKEY *key = NULL;

		signed_by(types[i], NULL, URL, "{\"a\":1}", &body, &key);
		cr_assert_eq(
		    acme_jws_decode((const uint8_t *)body.p, body.len, &j, &p),
		    0, "%s: %s", types[i], p.detail);
		cr_assert_str_eq(j.alg, algs[i]);
		cr_assert_str_eq(j.nonce, "nonce-1");
		cr_assert_eq(
		    json_integer_value(json_object_get(j.payload, "a")), 1);
		cr_assert_eq(ck_jwk_parse(j.jwk, &k, &err), 0, "%s", err.msg);
		cr_assert_eq(acme_jws_check(&j, URL, k, &p), 0, "%s: %s",
		    types[i], p.detail);
		cr_assert_eq(acme_thumbprint(key, &th, &err), 0);
		cr_assert_str_eq(ck_jwk_thumbprint(k), th.p, "%s", types[i]);
		ck_jwk_free(k);
		acme_jws_release(&j);
		EVP_PKEY_free(key);
		ck_buf_release(&body);
		ck_buf_release(&th);
	}
}

Test(jws, rfc7638_example_thumbprint)
{
	/* RFC 7638 section 3.1 */
	const char *jwk =
	    "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAF"
	    "bWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n"
	    "3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR"
	    "0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91Cb"
	    "OpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniI"
	    "qbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\","
	    "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
	struct ck_jwk *k = NULL;
	struct ck_err err = {0};

	cr_assert_eq(
	    ck_jwk_parse_text(jwk, strlen(jwk), &k, &err), 0, "%s", err.msg);
	cr_assert_str_eq(ck_jwk_thumbprint(k),
	    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	ck_jwk_free(k);
}

Test(jws, url_mismatch_is_unauthorized)
{
	struct ck_buf body = CK_BUF_INIT;
	struct acme_prob p;
	EVP_PKEY *key = NULL;

	signed_by("ec-p256", NULL, "https://ck.test/acme/ca/new-account", "{}",
	    &body, &key);
	cr_assert_str_eq(verdict(&body, &p), "unauthorized");
	cr_assert_eq(p.status, 403);
	EVP_PKEY_free(key);
	ck_buf_release(&body);
}

Test(jws, bad_signature_is_refused)
{
	struct ck_buf body = CK_BUF_INIT;
	struct acme_prob p;
	EVP_PKEY *key = NULL;
	char *s;

	signed_by("ec-p256", NULL, URL, "{}", &body, &key);
	/* one character of the signature changed */
	s = strstr(body.p, "\"signature\":\"") + 13;
	s[5] = s[5] == 'A' ? 'B' : 'A';
	cr_assert_str_eq(verdict(&body, &p), "malformed");
	cr_assert(strstr(p.detail, "does not verify") != NULL, "%s", p.detail);
	EVP_PKEY_free(key);
	ck_buf_release(&body);
}

Test(jws, alg_that_does_not_suit_the_key_is_refused)
{
	struct ck_buf body = CK_BUF_INIT;
	struct acme_jws j;
	struct acme_prob p;
	struct ck_jwk *other = NULL;
	struct ck_err err = {0};
	EVP_PKEY *k1 = NULL, *k2 = NULL;
	struct ck_buf b2 = CK_BUF_INIT;

	/* signed ES384, checked against an account key that is P-256 */
	signed_by("ec-p384", NULL, URL, "{}", &body, &k1);
	signed_by("ec-p256", NULL, URL, "{}", &b2, &k2);
	cr_assert_eq(acme_jws_decode((const uint8_t *)b2.p, b2.len, &j, &p), 0);
	cr_assert_eq(ck_jwk_parse(j.jwk, &other, &err), 0);
	acme_jws_release(&j);
	cr_assert_eq(
	    acme_jws_decode((const uint8_t *)body.p, body.len, &j, &p), 0);
	cr_assert_eq(acme_jws_check(&j, URL, other, &p), -1);
	cr_assert_str_eq(p.type, "badSignatureAlgorithm");
	acme_jws_release(&j);
	ck_jwk_free(other);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	ck_buf_release(&body);
	ck_buf_release(&b2);
}

Test(jws, unknown_algorithms_are_refused)
{
	static const char *const algs[] = {"none", "HS256", "RS384", "PS256"};
	const char *jwk =
	    "\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";

	for (size_t i = 0; i < 4; i++) {
		struct ck_buf body = CK_BUF_INIT, prot = CK_BUF_INIT;
		struct acme_prob p;
		ck_buf_printf(&prot,
		    "{\"alg\":\"%s\",\"nonce\":\"n\",\"url\":\"%s\",%s}",
		    algs[i], URL, jwk);
		by_hand(prot.p, "{}", "AAAA", &body);
		cr_assert_str_eq(
		    verdict(&body, &p), "badSignatureAlgorithm", "%s", algs[i]);
		ck_buf_release(&body);
		ck_buf_release(&prot);
	}
}

Test(jws, malformed_requests_are_refused_with_their_problem)
{
	static const struct {
		const char *prot, *payload, *want;
	} cases[] = {
	    /* payload that is not JSON, or JSON but not an object */
	    {"{\"alg\":\"EdDSA\",\"nonce\":\"n\",\"url\":\"u\",\"jwk\":{}}",
	        "not json", "malformed"},
	    {"{\"alg\":\"EdDSA\",\"nonce\":\"n\",\"url\":\"u\",\"jwk\":{}}",
	        "[1,2]", "malformed"},
	    /* both jwk and kid, and neither */
	    {"{\"alg\":\"EdDSA\",\"nonce\":\"n\",\"url\":\"u\",\"jwk\":{},"
	     "\"kid\":\"k\"}",
	        "{}", "malformed"},
	    {"{\"alg\":\"EdDSA\",\"nonce\":\"n\",\"url\":\"u\"}", "{}",
	        "malformed"},
	    /* no nonce, no url */
	    {"{\"alg\":\"EdDSA\",\"url\":\"u\",\"kid\":\"k\"}", "{}",
	        "badNonce"},
	    {"{\"alg\":\"EdDSA\",\"nonce\":\"n\",\"kid\":\"k\"}", "{}",
	        "malformed"},
	    /* a header that is not JSON, duplicate members */
	    {"{\"alg\":", "{}", "malformed"},
	    {"{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\",\"nonce\":\"n\",\"url\":"
	     "\"u\",\"kid\":\"k\"}",
	        "{}", "malformed"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ck_buf body = CK_BUF_INIT;
		struct acme_jws j;
		struct acme_prob p;
		by_hand(cases[i].prot, cases[i].payload, "AAAA", &body);
		cr_assert_eq(
		    acme_jws_decode((const uint8_t *)body.p, body.len, &j, &p),
		    -1, "case %zu accepted", i);
		cr_assert_str_eq(
		    p.type, cases[i].want, "case %zu: %s", i, p.detail);
		ck_buf_release(&body);
	}
}

Test(jws, bodies_that_are_not_a_flattened_jws_are_refused)
{
	static const char *const bodies[] = {"", "null", "[]",
	    "{\"protected\":\"e30\",\"payload\":\"\"}",
	    "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AA\","
	    "\"header\":{}}",
	    "{\"protected\":\"!!\",\"payload\":\"\",\"signature\":\"AA\"}",
	    "{\"protected\":1,\"payload\":\"\",\"signature\":\"AA\"}"};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct acme_jws j;
		struct acme_prob p;
		cr_assert_eq(acme_jws_decode((const uint8_t *)bodies[i],
		                 strlen(bodies[i]), &j, &p),
		    -1, "%s", bodies[i]);
		cr_assert_str_eq(p.type, "malformed");
		cr_assert_eq(p.status, 400);
	}
}

Test(jws, oversized_body_is_refused_before_parsing)
{
	size_t n = ACME_MAX_BODY + 1;
	char *big = malloc(n);
	struct acme_jws j;
	struct acme_prob p;

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	cr_assert_eq(acme_jws_decode((const uint8_t *)big, n, &j, &p), -1);
	cr_assert_str_eq(p.type, "malformed");
	cr_assert(strstr(p.detail, "over") != NULL, "%s", p.detail);
	free(big);
}

Test(jws, post_as_get_has_no_payload)
{
	struct ck_buf body = CK_BUF_INIT;
	struct acme_jws j;
	struct acme_prob p;
	EVP_PKEY *key = NULL;

	signed_by("ed25519", "https://ck.test/acme/ca/account/1", URL, "",
	    &body, &key);
	cr_assert_eq(
	    acme_jws_decode((const uint8_t *)body.p, body.len, &j, &p), 0);
	cr_assert_null(j.payload);
	cr_assert_null(j.jwk);
	cr_assert_str_eq(j.kid, "https://ck.test/acme/ca/account/1");
	acme_jws_release(&j);
	EVP_PKEY_free(key);
	ck_buf_release(&body);
}

Test(jwk, weak_private_or_odd_keys_are_refused)
{
	static const char *const bad[] = {
	    /* private member */
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQH"
	    "Og7hcvPapiMlrwIaaPcHURo\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZ"
	    "cDusAxyuf2A\"}",
	    /* RSA of 512 bits */
	    "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"wF0zZWC8mdVK9TbzvXoVYCVX3W"
	    "lu4ZXj4ZBJdYyd4mZiXnRTbxj44MTtxXL0YhkFrzWbA3rS0EwEWpgvWGdlkQ\"}",
	    /* a P-256 point not on the curve */
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAE\",\"y\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAE\"}",
	    /* P-521, secp256k1, X25519, symmetric */
	    "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}",
	    "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\",\"y\":\"AA\"}",
	    "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\"}",
	    "{\"kty\":\"oct\",\"k\":\"AAAA\"}",
	    /* x with padding */
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQH"
	    "Og7hcvPapiMlrwIaaPcHURo=\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ck_jwk *k = NULL;
		struct ck_err err = {0};
		cr_assert_neq(
		    ck_jwk_parse_text(bad[i], strlen(bad[i]), &k, &err), 0,
		    "case %zu accepted", i);
		cr_assert_null(k);
	}
}

/* The EAB key lookup for the tests: one kid, one key. */
static int
eab_lookup(void *arg, const char *kid, struct ck_buf *hmac)
{
	if (strcmp(kid, "kid-1") != 0)
		return CK_E_NOTFOUND;
	ck_buf_add(hmac, arg, 32);
	return 0;
}

Test(eab, binding_made_by_the_client_verifies_and_forgeries_do_not)
{
	uint8_t key[32], wrong[32];
	struct ck_buf jwk = CK_BUF_INIT, eab = CK_BUF_INIT, body = CK_BUF_INIT;
	struct ck_err err = {0};
	struct acme_jws j;
	struct acme_prob p;
	struct ck_jwk *k = NULL;
	EVP_PKEY *acct = NULL;
	json_t *o;
	char kid[64];
	const char *url = "https://ck.test/acme/ca/new-account";

	memset(key, 7, sizeof(key));
	memset(wrong, 8, sizeof(wrong));
	signed_by("ec-p256", NULL, url, "{}", &body, &acct);
	cr_assert_eq(
	    acme_jws_decode((const uint8_t *)body.p, body.len, &j, &p), 0);
	cr_assert_eq(ck_jwk_parse(j.jwk, &k, &err), 0);
	cr_assert_eq(acme_jwk(acct, &jwk, &err), 0);

	cr_assert_eq(acme_eab("kid-1", key, 32, url, jwk.p, &eab, &err), 0);
	o = json_loads(eab.p, 0, NULL);
	cr_assert_eq(acme_eab_check(o, url, k, eab_lookup, key, kid, &p), 0,
	    "%s", p.detail);
	cr_assert_str_eq(kid, "kid-1");
	/* another HMAC key, another URL, an unknown kid */
	cr_assert_eq(acme_eab_check(o, url, k, eab_lookup, wrong, kid, &p), -1);
	cr_assert_str_eq(p.type, "unauthorized");
	cr_assert_eq(acme_eab_check(o, "https://ck.test/acme/ca/x", k,
	                 eab_lookup, key, kid, &p),
	    -1);
	cr_assert_str_eq(p.type, "malformed");
	json_decref(o);
	ck_buf_reset(&eab);
	cr_assert_eq(acme_eab("kid-2", key, 32, url, jwk.p, &eab, &err), 0);
	o = json_loads(eab.p, 0, NULL);
	cr_assert_eq(acme_eab_check(o, url, k, eab_lookup, key, kid, &p), -1);
	cr_assert_str_eq(p.type, "unauthorized");
	json_decref(o);
	ck_jwk_free(k);
	acme_jws_release(&j);
	EVP_PKEY_free(acct);
	ck_buf_release(&jwk);
	ck_buf_release(&eab);
	ck_buf_release(&body);
}

Test(eab, binding_over_another_key_is_refused)
{
	uint8_t key[32];
	struct ck_buf jwk = CK_BUF_INIT, eab = CK_BUF_INIT;
	struct ck_buf b1 = CK_BUF_INIT, b2 = CK_BUF_INIT;
	struct ck_err err = {0};
	struct acme_jws j;
	struct acme_prob p;
	struct ck_jwk *k = NULL;
	EVP_PKEY *a = NULL, *b = NULL;
	json_t *o;
	char kid[64];
	const char *url = "https://ck.test/acme/ca/new-account";

	memset(key, 7, sizeof(key));
	signed_by("ec-p256", NULL, url, "{}", &b1, &a);
	signed_by("ec-p256", NULL, url, "{}", &b2, &b);
	cr_assert_eq(acme_jws_decode((const uint8_t *)b1.p, b1.len, &j, &p), 0);
	cr_assert_eq(ck_jwk_parse(j.jwk, &k, &err), 0);
	/* the binding names key b, the request is signed by key a */
	cr_assert_eq(acme_jwk(b, &jwk, &err), 0);
	cr_assert_eq(acme_eab("kid-1", key, 32, url, jwk.p, &eab, &err), 0);
	o = json_loads(eab.p, 0, NULL);
	cr_assert_eq(acme_eab_check(o, url, k, eab_lookup, key, kid, &p), -1);
	cr_assert_str_eq(p.type, "malformed");
	json_decref(o);
	ck_jwk_free(k);
	acme_jws_release(&j);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	ck_buf_release(&jwk);
	ck_buf_release(&eab);
	ck_buf_release(&b1);
	ck_buf_release(&b2);
}

/* keyChange's inner JWS as certkeep's client builds it (issuer/acme.c:
 * acme_jws without a nonce, payload account + oldKey), checked by the
 * server; new_type the new key's, tweak breaks one thing. */
static const char *
key_change(const char *new_type, int tweak, const char **thumb_out)
{
	static char thumb[64];
	EVP_PKEY *old = NULL, *nk = NULL;
	struct ck_buf ojwk = CK_BUF_INIT, inner = CK_BUF_INIT, th = CK_BUF_INIT;
	struct ck_jwk *oldk = NULL, *got = NULL;
	struct ck_err err = {0};
	struct acme_prob p;
	const char *v = "ok";
	char payload[2048];
	json_t *o;

	cr_assert_eq(acme_key_generate("ec-p256", &old, &err), 0);
	cr_assert_eq(acme_key_generate(new_type, &nk, &err), 0);
	cr_assert_eq(acme_jwk(old, &ojwk, &err), 0);
	cr_assert_eq(ck_jwk_parse_text(ojwk.p, ojwk.len, &oldk, &err), 0);
	snprintf(payload, sizeof(payload), "{\"account\":\"%s\",\"oldKey\":%s}",
	    tweak == 1 ? "https://ck.test/acme/ca/account/2"
	               : "https://ck.test/acme/ca/account/1",
	    ojwk.p);
	cr_assert_eq(
	    acme_jws(tweak == 2 ? old : nk, NULL, tweak == 3 ? "a-nonce" : NULL,
	        tweak == 4 ? "https://ck.test/acme/ca/new-order"
	                   : "https://ck.test/acme/ca/key-change",
	        payload, &inner, &err),
	    0, "%s", err.msg);
	o = json_loads(inner.p, 0, NULL);
	if (acme_keychange_check(o, "https://ck.test/acme/ca/key-change",
	        "https://ck.test/acme/ca/account/1", oldk, &got, &p) != 0) {
		v = p.type;
		cr_assert_null(got);
	} else {
		cr_assert_eq(acme_thumbprint(nk, &th, &err), 0);
		cr_assert_str_eq(ck_jwk_thumbprint(got), th.p);
		snprintf(thumb, sizeof(thumb), "%s", th.p);
		if (thumb_out != NULL)
			*thumb_out = thumb;
	}
	json_decref(o);
	ck_jwk_free(got);
	ck_jwk_free(oldk);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
	ck_buf_release(&ojwk);
	ck_buf_release(&inner);
	ck_buf_release(&th);
	return v;
}

Test(key_change, the_clients_rollover_verifies_for_each_key_type)
{
	static const char *const types[] = {
	    "ec-p256", "ec-p384", "rsa-2048", "ed25519"};

	for (size_t i = 0; i < 4; i++)
		cr_assert_str_eq(
		    key_change(types[i], 0, NULL), "ok", "%s", types[i]);
}

Test(key_change, mismatches_are_refused)
{
	/* another account, the old key offered as the new one, a nonce in
	 * the inner header, another url */
	cr_assert_str_eq(key_change("ec-p256", 1, NULL), "malformed");
	cr_assert_str_eq(key_change("ec-p256", 2, NULL), "malformed");
	cr_assert_str_eq(key_change("ec-p256", 3, NULL), "malformed");
	cr_assert_str_eq(key_change("ec-p256", 4, NULL), "malformed");
}

Test(nonce, used_once_unknown_and_expired_are_refused)
{
	char dir[] = "/tmp/ck-acme-XXXXXX", url[128], cmd[160];
	struct ck_store *st = NULL;
	struct ck_err err = {0};

	cr_assert_not_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/db", dir);
	cr_assert_eq(ck_store_open(url, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(
	    ck_store_acme_nonce_add(st, "n-good", 2000, 1000, &err), 0);
	cr_assert_eq(ck_store_acme_nonce_add(st, "n-old", 1500, 1000, &err), 0);
	/* first use fine, replay refused */
	cr_assert_eq(ck_store_acme_nonce_take(st, "n-good", 1001, &err), 0);
	cr_assert_eq(
	    ck_store_acme_nonce_take(st, "n-good", 1002, &err), CK_E_NOTFOUND);
	/* from nowhere */
	cr_assert_eq(
	    ck_store_acme_nonce_take(st, "n-never", 1002, &err), CK_E_NOTFOUND);
	/* expired */
	cr_assert_eq(
	    ck_store_acme_nonce_take(st, "n-old", 1500, &err), CK_E_NOTFOUND);
	/* a nonce one handle gave out is taken by another (another node) */
	cr_assert_eq(ck_store_acme_nonce_add(st, "n-x", 2000, 1000, &err), 0);
	ck_store_free(st);
	cr_assert_eq(ck_store_open(url, &st, &err), 0);
	cr_assert_eq(ck_store_acme_nonce_take(st, "n-x", 1001, &err), 0);
	ck_store_free(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(store_acme, challenge_starts_once_and_order_follows_its_authorizations)
{
	char dir[] = "/tmp/ck-acme-XXXXXX", url[128], cmd[160];
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct ck_acme_order o = {0}, got;
	struct ck_acme_authz a = {0};
	int64_t acct, oid, az[2], ch;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/db", dir);
	cr_assert_eq(ck_store_open(url, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(ck_store_acme_account_add(
	                 st, "ca", "th", "{}", "[]", NULL, 1, &acct, &err),
	    0, "%s", err.msg);
	cr_assert_eq(ck_store_acme_account_add(
	                 st, "ca", "th", "{}", "[]", NULL, 1, &oid, &err),
	    CK_E_EXISTS);
	o.account_id = acct;
	o.identifiers = "[]";
	o.expires = 100;
	cr_assert_eq(ck_store_acme_order_add(st, &o, 1, &oid, &err), 0);
	a.order_id = oid;
	a.account_id = acct;
	strcpy(a.type, "dns");
	for (int i = 0; i < 2; i++) {
		snprintf(a.value, sizeof(a.value), "n%d.example.test", i);
		cr_assert_eq(ck_store_acme_authz_add(st, &a, &az[i], &err), 0);
	}
	cr_assert_eq(
	    ck_store_acme_chall_add(st, az[0], "http-01", "t", &ch, &err), 0);
	cr_assert_eq(ck_store_commit(st, &err), 0);

	/* two requests race to start it: one wins */
	cr_assert_eq(ck_store_acme_chall_start(st, ch, &err), 0);
	cr_assert_eq(ck_store_acme_chall_start(st, ch, &err), CK_E_EXISTS);

	/* one of two authorizations valid: still pending; both: ready */
	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(
	    acme_authz_settle(st, az[0], true, &err), 0, "%s", err.msg);
	cr_assert_eq(ck_store_commit(st, &err), 0);
	cr_assert_eq(ck_store_acme_order_get(st, oid, &got, &err), 0);
	cr_assert_str_eq(got.status, "pending");
	ck_acme_order_release(&got);
	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(acme_authz_settle(st, az[1], true, &err), 0);
	cr_assert_eq(ck_store_commit(st, &err), 0);
	cr_assert_eq(ck_store_acme_order_get(st, oid, &got, &err), 0);
	cr_assert_str_eq(got.status, "ready");
	ck_acme_order_release(&got);
	ck_store_free(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
