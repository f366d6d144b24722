/*
 * JWS as ACME takes it (RFC 8555 section 6.2): the flattened JSON
 * serialization decoded and checked, plus the External Account Binding's
 * inner HS256 JWS and the problem table. No store, no HTTP: the request
 * context (wire.c) supplies nonces and keys, and the fuzzer drives this.
 */
#include "acme/acme_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"

/* The one table from problem types to HTTP statuses. */
static const struct {
	const char *type;
	int status;
} probs[] = {
    {"badNonce", 400}, {"malformed", 400}, {"unauthorized", 403},
    {"accountDoesNotExist", 400}, {"badSignatureAlgorithm", 400},
    {"badPublicKey", 400}, {"rejectedIdentifier", 400},
    {"unsupportedIdentifier", 400}, {"badCSR", 400}, {"orderNotReady", 403},
    {"externalAccountRequired", 400}, {"badRevocationReason", 400},
    {"alreadyRevoked", 400}, {"incorrectResponse", 403}, {"connection", 400},
    {"dns", 400}, {"tls", 400}, {"unsupportedContact", 400},
    {"invalidContact", 400}, {"userActionRequired", 403},
    {"serverInternal", 500}, {"caa", 403}, {"rateLimited", 429},
    {"alreadyReplaced", 409}, {"conflict", 409}, {"invalidProfile", 400},
    {"notFound", 404}, /* "malformed" with 404 in spirit; see prob_json */
};

int
acme_prob(struct acme_prob *p, const char *type, const char *fmt, ...)
{
	va_list ap;

	p->type = "serverInternal";
	p->status = 500;
	for (size_t i = 0; i < sizeof(probs) / sizeof(probs[0]); i++)
		if (strcmp(probs[i].type, type) == 0) {
			p->type = probs[i].type;
			p->status = probs[i].status;
		}
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	return -1;
}

json_t *
acme_prob_json(const struct acme_prob *p)
{
	char type[96];

	/* A missing resource is "malformed" on the wire (RFC 8555 has no
	 * type of its own for it) with status 404. */
	snprintf(type, sizeof(type), "urn:ietf:params:acme:error:%s",
	    strcmp(p->type, "notFound") == 0 ? "malformed" : p->type);
	return json_pack("{s:s, s:s, s:i}", "type", type, "detail", p->detail,
	    "status", p->status);
}

void
acme_jws_release(struct acme_jws *j)
{
	json_decref(j->hdr);
	json_decref(j->payload);
	ck_buf_release(&j->input);
	ck_buf_release(&j->sig);
	memset(j, 0, sizeof(*j));
}

/* The string member name of o, or NULL when absent or not a string. */
static const char *
str(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

static bool
alg_known(const char *alg)
{
	return strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0 ||
	    strcmp(alg, "ES384") == 0 || strcmp(alg, "EdDSA") == 0;
}

/* Decodes base64url member text into b and parses JSON from it. */
static json_t *
b64_json(const char *s, struct ck_buf *b)
{
	json_t *o;

	if (!ck_b64url_decode(s, strlen(s), b) || b->len == 0)
		return NULL;
	o = json_loadb(b->p, b->len, JSON_REJECT_DUPLICATES, NULL);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
acme_jws_decode(
    const uint8_t *body, size_t len, struct acme_jws *j, struct acme_prob *p)
{
	json_t *o = NULL;
	const char *prot, *pay, *sig, *key;
	json_t *v;
	struct ck_buf hb = CK_BUF_INIT, pb = CK_BUF_INIT;
	json_error_t je;
	int r = -1;

	memset(j, 0, sizeof(*j));
	if (len > ACME_MAX_BODY) {
		acme_prob(p, "malformed", "request body over %d bytes",
		    ACME_MAX_BODY);
		goto out;
	}
	o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		acme_prob(p, "malformed", "request is not a JSON object");
		goto out;
	}
	prot = str(o, "protected");
	pay = str(o, "payload");
	sig = str(o, "signature");
	if (prot == NULL || pay == NULL || sig == NULL) {
		acme_prob(p, "malformed",
		    "JWS needs protected, payload and signature strings");
		goto out;
	}
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "protected") != 0 &&
		    strcmp(key, "payload") != 0 &&
		    strcmp(key, "signature") != 0) {
			acme_prob(p, "malformed",
			    "JWS member %.40s not allowed", key);
			goto out;
		}
	}
	if ((j->hdr = b64_json(prot, &hb)) == NULL) {
		acme_prob(p, "malformed", "protected header is not JSON");
		goto out;
	}
	j->alg = str(j->hdr, "alg");
	j->nonce = str(j->hdr, "nonce");
	j->url = str(j->hdr, "url");
	j->kid = str(j->hdr, "kid");
	j->jwk = json_object_get(j->hdr, "jwk");
	if (j->alg == NULL || !alg_known(j->alg)) {
		acme_prob(p, "badSignatureAlgorithm",
		    "alg must be one of RS256, ES256, ES384, EdDSA");
		goto out;
	}
	if (j->nonce == NULL || j->nonce[0] == '\0') {
		acme_prob(p, "badNonce", "protected header has no nonce");
		goto out;
	}
	if (j->url == NULL) {
		acme_prob(p, "malformed", "protected header has no url");
		goto out;
	}
	if ((j->kid != NULL) == (j->jwk != NULL) ||
	    (json_object_get(j->hdr, "kid") != NULL && j->kid == NULL)) {
		acme_prob(p, "malformed",
		    "protected header needs exactly one of jwk and kid");
		goto out;
	}
	if (pay[0] != '\0' && (j->payload = b64_json(pay, &pb)) == NULL) {
		acme_prob(p, "malformed", "payload is not a JSON object");
		goto out;
	}
	if (!ck_b64url_decode(sig, strlen(sig), &j->sig) || j->sig.len == 0) {
		acme_prob(p, "malformed", "signature is not base64url");
		goto out;
	}
	ck_buf_printf(&j->input, "%s.%s", prot, pay);
	r = 0;
out:
	json_decref(o);
	ck_buf_release(&hb);
	ck_buf_release(&pb);
	if (r != 0)
		acme_jws_release(j);
	return r;
}

int
acme_jws_check(const struct acme_jws *j, const char *url,
    const struct ck_jwk *k, struct acme_prob *p)
{
	struct ck_err e = {0};

	if (strcmp(j->url, url) != 0)
		return acme_prob(p, "unauthorized",
		    "url in the protected header is not the request's");
	if (!ck_jwk_alg_ok(k, j->alg))
		return acme_prob(p, "badSignatureAlgorithm",
		    "alg %s does not suit the account key", j->alg);
	if (ck_jwk_verify(k, j->alg, j->input.p, j->input.len,
	        (const uint8_t *)j->sig.p, j->sig.len, &e) != 0)
		return acme_prob(
		    p, "malformed", "JWS signature does not verify");
	return 0;
}

/* Compares 32 bytes in constant time: a MAC check must not say how much
 * of a guess was right. */
static bool
same32(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;

	for (int i = 0; i < 32; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

int
acme_eab_check(const json_t *eab, const char *url, const struct ck_jwk *jwk,
    int (*key)(void *arg, const char *kid, struct ck_buf *hmac), void *arg,
    char kid[64], struct acme_prob *p)
{
	struct ck_buf hb = CK_BUF_INIT, pb = CK_BUF_INIT, sig = CK_BUF_INIT;
	struct ck_buf mac_key = CK_BUF_INIT, in = CK_BUF_INIT;
	struct ck_jwk *inner = NULL;
	json_t *hdr = NULL, *pay = NULL;
	const char *prot = str(eab, "protected"), *ps = str(eab, "payload");
	const char *ss = str(eab, "signature"), *k;
	struct ck_err e = {0};
	uint8_t mac[32];
	int r = -1;

	if (prot == NULL || ps == NULL || ss == NULL ||
	    (hdr = b64_json(prot, &hb)) == NULL ||
	    (pay = b64_json(ps, &pb)) == NULL ||
	    !ck_b64url_decode(ss, strlen(ss), &sig)) {
		acme_prob(
		    p, "malformed", "externalAccountBinding is malformed");
		goto out;
	}
	k = str(hdr, "kid");
	if (str(hdr, "alg") == NULL || strcmp(str(hdr, "alg"), "HS256") != 0 ||
	    k == NULL || strlen(k) >= 64 || str(hdr, "url") == NULL ||
	    strcmp(str(hdr, "url"), url) != 0 ||
	    json_object_get(hdr, "nonce") != NULL) {
		acme_prob(p, "malformed",
		    "externalAccountBinding needs alg HS256, kid, this url "
		    "and no nonce");
		goto out;
	}
	if (ck_jwk_parse(pay, &inner, &e) != 0 ||
	    strcmp(ck_jwk_thumbprint(inner), ck_jwk_thumbprint(jwk)) != 0) {
		acme_prob(p, "malformed",
		    "externalAccountBinding does not carry the account key");
		goto out;
	}
	if (key(arg, k, &mac_key) != 0) {
		acme_prob(p, "unauthorized", "unknown or used EAB key id");
		goto out;
	}
	ck_buf_printf(&in, "%s.%s", prot, ps);
	ck_hmac_sha256((uint8_t *)mac_key.p, mac_key.len, in.p, in.len, mac);
	if (sig.len != 32 || !same32(mac, (const uint8_t *)sig.p)) {
		acme_prob(p, "unauthorized", "EAB MAC does not verify");
		goto out;
	}
	snprintf(kid, 64, "%s", k);
	r = 0;
out:
	ck_jwk_free(inner);
	json_decref(hdr);
	json_decref(pay);
	ck_buf_release(&hb);
	ck_buf_release(&pb);
	ck_buf_release(&sig);
	ck_buf_release_secret(&mac_key);
	ck_buf_release(&in);
	return r;
}

int
acme_keychange_check(const json_t *inner, const char *url, const char *account,
    const struct ck_jwk *old, struct ck_jwk **newkey, struct acme_prob *p)
{
	struct ck_buf hb = CK_BUF_INIT, pb = CK_BUF_INIT, sig = CK_BUF_INIT;
	struct ck_buf in = CK_BUF_INIT;
	struct ck_jwk *nk = NULL, *ok = NULL;
	json_t *hdr = NULL, *pay = NULL;
	const char *prot = str(inner, "protected"), *ps = str(inner, "payload");
	const char *ss = str(inner, "signature"), *alg;
	struct ck_err e = {0};
	int r = -1;

	*newkey = NULL;
	if (!json_is_object(inner) || json_object_size(inner) != 3 ||
	    prot == NULL || ps == NULL || ss == NULL ||
	    (hdr = b64_json(prot, &hb)) == NULL ||
	    (pay = b64_json(ps, &pb)) == NULL ||
	    !ck_b64url_decode(ss, strlen(ss), &sig) || sig.len == 0) {
		acme_prob(p, "malformed",
		    "keyChange payload must be a flattened JWS");
		goto out;
	}
	/* RFC 8555 7.3.5: jwk (the new key), the outer url, no nonce */
	alg = str(hdr, "alg");
	if (alg == NULL || !alg_known(alg)) {
		acme_prob(p, "badSignatureAlgorithm",
		    "inner alg must be one of RS256, ES256, ES384, EdDSA");
		goto out;
	}
	if (json_object_get(hdr, "jwk") == NULL ||
	    json_object_get(hdr, "kid") != NULL ||
	    json_object_get(hdr, "nonce") != NULL || str(hdr, "url") == NULL ||
	    strcmp(str(hdr, "url"), url) != 0) {
		acme_prob(p, "malformed",
		    "inner JWS needs jwk and the outer url, and no kid or "
		    "nonce");
		goto out;
	}
	if (ck_jwk_parse(json_object_get(hdr, "jwk"), &nk, &e) != 0) {
		acme_prob(p, "badPublicKey", "new key: %s", e.msg);
		goto out;
	}
	if (!ck_jwk_alg_ok(nk, alg)) {
		acme_prob(p, "badSignatureAlgorithm",
		    "inner alg %s does not suit the new key", alg);
		goto out;
	}
	ck_buf_printf(&in, "%s.%s", prot, ps);
	if (ck_jwk_verify(nk, alg, in.p, in.len, (const uint8_t *)sig.p,
	        sig.len, &e) != 0) {
		acme_prob(
		    p, "malformed", "inner JWS is not signed by the new key");
		goto out;
	}
	if (str(pay, "account") == NULL ||
	    strcmp(str(pay, "account"), account) != 0) {
		acme_prob(p, "malformed",
		    "inner payload's account is not the signing account");
		goto out;
	}
	if (ck_jwk_parse(json_object_get(pay, "oldKey"), &ok, &e) != 0 ||
	    strcmp(ck_jwk_thumbprint(ok), ck_jwk_thumbprint(old)) != 0) {
		acme_prob(p, "malformed",
		    "inner payload's oldKey is not the account's key");
		goto out;
	}
	if (strcmp(ck_jwk_thumbprint(nk), ck_jwk_thumbprint(old)) == 0) {
		acme_prob(p, "malformed", "the new key is the old key");
		goto out;
	}
	*newkey = nk;
	nk = NULL; /* transferred */
	r = 0;
out:
	ck_jwk_free(nk);
	ck_jwk_free(ok);
	json_decref(hdr);
	json_decref(pay);
	ck_buf_release(&hb);
	ck_buf_release(&pb);
	ck_buf_release(&sig);
	ck_buf_release(&in);
	return r;
}
