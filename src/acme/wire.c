/*
 * The ACME server's request plumbing: URLs built from the Host the client
 * used (the JWS url must equal what the client asked for), nonces kept in
 * the store, the JWS check that opens every POST, and answers that always
 * carry Replay-Nonce and Link rel="index". Also the directory and
 * newNonce, which need nothing else.
 */
#include "acme/acme_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"

static int
ca_exists_cb(void *ctx, const struct ck_ca_row *ca)
{
	(void)ctx;
	(void)ca;
	return 0;
}

/* A Host header we are willing to put into URLs: host[:port] in letters,
 * digits, '.', '-', ':', '[', ']'. */
static bool
host_ok(const char *h)
{
	size_t n = h != NULL ? strlen(h) : 0;

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		        ch == ':' || ch == '[' || ch == ']'))
			return false;
	}
	return true;
}

void
acme_headers(struct ck_http_ctx *c, const char *base, const char *up)
{
	struct ck_buf b = CK_BUF_INIT;
	struct ck_err err = {0};
	uint8_t raw[18];

	ck_random_bytes(raw, sizeof(raw));
	ck_b64url_encode(raw, sizeof(raw), &b);
	/* A nonce the store could not keep would only earn the client a
	 * badNonce and a retry with the next one, so the answer goes on. */
	if (ck_store_acme_nonce_add(
	        c->st, b.p, c->now + ACME_NONCE_TTL, c->now, &err) != 0)
		ck_log(CK_LOG_WARN, "acme: nonce not stored: %s", err.msg);
	else
		ck_http_set_header(c, "Replay-Nonce", b.p);
	ck_http_set_header(c, "Cache-Control", "no-store");
	if (base != NULL) {
		ck_buf_reset(&b);
		ck_buf_printf(&b, "<%s/directory>;rel=\"index\"", base);
		if (up != NULL && up[0] != '\0')
			ck_buf_printf(&b, ", <%s>;rel=\"up\"", up);
		ck_http_set_header(c, "Link", b.p);
	}
	ck_buf_release(&b);
}

void
acme_answer_prob(struct ck_http_ctx *c, const struct acme_prob *p)
{
	json_t *o = acme_prob_json(p);
	char *s = json_dumps(o, JSON_COMPACT);

	acme_headers(c, NULL, NULL);
	ck_http_reply(c, p->status, "application/problem+json", s, strlen(s));
	free(s);
	json_decref(o);
}

void
acme_reply_raw(struct acme_req *r, int status, const char *ctype,
    const void *body, size_t len)
{
	acme_headers(r->c, r->base, r->up);
	ck_http_reply(r->c, status, ctype, body, len);
}

void
acme_reply_prob(struct acme_req *r, const struct acme_prob *p)
{
	json_t *o = acme_prob_json(p);
	char *s = json_dumps(o, JSON_COMPACT);

	if (p->status >= 500)
		ck_log(CK_LOG_ERROR, "acme: %s: %s", r->url, p->detail);
	acme_reply_raw(r, p->status, "application/problem+json", s, strlen(s));
	free(s);
	json_decref(o);
}

void
acme_reply_json(
    struct acme_req *r, int status, json_t *body, const char *location)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_INDENT(0));

	if (location != NULL)
		ck_http_set_header(r->c, "Location", location);
	acme_reply_raw(r, status, "application/json", s, strlen(s));
	free(s);
}

int
acme_req_init(struct acme_req *r, struct ck_http_ctx *c)
{
	const char *host = ck_http_header(c, "Host");
	struct ck_err err = {0};
	struct acme_prob p;
	int n, rc;

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->st = c->st;
	r->ca = ck_http_param(c, 0);
	if (!host_ok(host)) {
		acme_prob(&p, "malformed", "missing or odd Host header");
		acme_answer_prob(c, &p);
		return -1;
	}
	n = snprintf(r->base, sizeof(r->base), "%s://%s/acme/%s",
	    c->tls ? "https" : "http", host, r->ca);
	if (n < 0 || (size_t)n >= sizeof(r->base) ||
	    strchr(r->ca, '/') != NULL || strchr(r->ca, '"') != NULL) {
		acme_prob(&p, "malformed", "CA name too long");
		acme_answer_prob(c, &p);
		return -1;
	}
	n = snprintf(r->url, sizeof(r->url), "%s://%s%s",
	    c->tls ? "https" : "http", host, ck_http_raw_path(c));
	if (n < 0 || (size_t)n >= sizeof(r->url)) {
		acme_prob(&p, "malformed", "URL too long");
		acme_answer_prob(c, &p);
		return -1;
	}
	rc = ck_store_ca_get(c->st, r->ca, ca_exists_cb, NULL, &err);
	if (rc != 0) {
		acme_prob(&p,
		    rc == CK_E_NOTFOUND ? "notFound" : "serverInternal", "%s",
		    rc == CK_E_NOTFOUND ? "no such CA" : err.msg);
		acme_answer_prob(c, &p);
		return -1;
	}
	return 0;
}

void
acme_req_release(struct acme_req *r)
{
	acme_jws_release(&r->jws);
	ck_jwk_free(r->key);
	ck_acme_account_release(&r->acct);
	memset(r, 0, sizeof(*r));
}

/*
 * Account keys as built from their stored JWK, by account id: making an
 * OpenSSL key from JWK parameters costs more than the signature check it
 * serves, and every request of an account needs the same key. An entry
 * counts only while the stored JWK is the same text, so a keyChange
 * takes effect at the next request.
 */
#define KEY_CACHE 256
static struct {
	int64_t id;
	char *jwk;
	struct ck_jwk *k;
} key_cache[KEY_CACHE];
static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;

static int
account_key(
    int64_t id, const char *jwk, struct ck_jwk **out, struct ck_err *err)
{
	size_t slot = (size_t)((uint64_t)id % KEY_CACHE);
	struct ck_jwk *k, *old_k;
	char *old_j;
	int r;

	pthread_mutex_lock(&key_mu);
	if (key_cache[slot].id == id && key_cache[slot].jwk != NULL &&
	    strcmp(key_cache[slot].jwk, jwk) == 0) {
		*out = ck_jwk_ref(key_cache[slot].k);
		pthread_mutex_unlock(&key_mu);
		return 0;
	}
	pthread_mutex_unlock(&key_mu);
	if ((r = ck_jwk_parse_text(jwk, strlen(jwk), &k, err)) != 0)
		return r;
	pthread_mutex_lock(&key_mu);
	old_k = key_cache[slot].k;
	old_j = key_cache[slot].jwk;
	key_cache[slot].id = id;
	key_cache[slot].jwk = ck_strdup(jwk);
	key_cache[slot].k = ck_jwk_ref(k);
	pthread_mutex_unlock(&key_mu);
	ck_jwk_free(old_k);
	free(old_j);
	*out = k;
	return 0;
}

/* The account id a kid names: "<base>/account/<id>". */
static int64_t
kid_id(const struct acme_req *r, const char *kid)
{
	size_t n = strlen(r->base);
	char *end;
	long long id;

	if (strncmp(kid, r->base, n) != 0 ||
	    strncmp(kid + n, "/account/", 9) != 0)
		return 0;
	kid += n + 9;
	if (*kid < '1' || *kid > '9')
		return 0;
	id = strtoll(kid, &end, 10);
	return *end == '\0' && id > 0 ? id : 0;
}

int
acme_req_post(struct acme_req *r, int want_jwk)
{
	const char *ct = ck_http_header(r->c, "Content-Type");
	struct ck_err err = {0};
	struct acme_prob p;
	const uint8_t *body;
	size_t len;
	int64_t id;

	body = ck_http_body(r->c, &len);
	if (ct == NULL || strncmp(ct, "application/jose+json", 21) != 0) {
		acme_prob(&p, "malformed",
		    "Content-Type must be application/jose+json");
		p.status = 415;
		goto fail;
	}
	if (acme_jws_decode(body, len, &r->jws, &p) != 0)
		goto fail;
	if (want_jwk == 1 && r->jws.jwk == NULL) {
		acme_prob(
		    &p, "malformed", "this resource takes a jwk, not kid");
		goto fail;
	}
	if (want_jwk == 0 && r->jws.kid == NULL) {
		acme_prob(
		    &p, "malformed", "this resource takes a kid, not jwk");
		goto fail;
	}
	if (r->jws.jwk != NULL) {
		if (ck_jwk_parse(r->jws.jwk, &r->key, &err) != 0) {
			acme_prob(&p, "badPublicKey", "%s", err.msg);
			goto fail;
		}
	} else {
		if ((id = kid_id(r, r->jws.kid)) == 0 ||
		    ck_store_acme_account_get(r->st, id, &r->acct, &err) != 0 ||
		    strcmp(r->acct.ca, r->ca) != 0) {
			acme_prob(&p, "accountDoesNotExist", "unknown kid");
			goto fail;
		}
		r->has_acct = true;
		if (account_key(r->acct.id, r->acct.jwk, &r->key, &err) != 0) {
			acme_prob(
			    &p, "serverInternal", "account key: %s", err.msg);
			goto fail;
		}
	}
	if (acme_jws_check(&r->jws, r->url, r->key, &p) != 0)
		goto fail;
	/* The nonce is used up only by a request that is otherwise good,
	 * so forged requests cannot burn other clients' nonces. */
	if (strlen(r->jws.nonce) > 64 ||
	    ck_store_acme_nonce_take(r->st, r->jws.nonce, r->c->now, &err) !=
	        0) {
		acme_prob(&p, "badNonce", "nonce unknown, used or expired");
		goto fail;
	}
	if (r->has_acct && strcmp(r->acct.status, "valid") != 0) {
		acme_prob(&p, "unauthorized", "account is %s", r->acct.status);
		goto fail;
	}
	return 0;
fail:
	acme_reply_prob(r, &p);
	return -1;
}

/* The n-th name of [acme] profiles into out; false past the last. */
static bool
profile_at(const struct ck_config *cfg, int n, char *out, size_t cap)
{
	const char *l = ck_config_str(cfg, CK_CFG_ACME_PROFILES);

	for (int i = 0; *l != '\0';) {
		size_t k = strcspn(l, ","), s = 0, e = k;
		while (s < e && l[s] == ' ')
			s++;
		while (e > s && l[e - 1] == ' ')
			e--;
		if (e > s && i++ == n) {
			snprintf(out, cap, "%.*s", (int)(e - s), l + s);
			return true;
		}
		l += k + (l[k] == ',');
	}
	return false;
}

bool
acme_profile_offered(const struct ck_config *cfg, const char *name)
{
	char p[128];

	for (int i = 0; profile_at(cfg, i, p, sizeof(p)); i++)
		if (strcmp(p, name) == 0)
			return true;
	return false;
}

void
acme_profile_default(const struct ck_config *cfg, char *out, size_t cap)
{
	if (!profile_at(cfg, 0, out, cap))
		snprintf(out, cap, "tls-server");
}

void
ck_acme_directory(struct ck_http_ctx *c)
{
	struct acme_req r;
	const char *tos = ck_config_str(c->cfg, CK_CFG_ACME_TOS);
	const char *web = ck_config_str(c->cfg, CK_CFG_ACME_WEBSITE);
	const char *caa = ck_config_str(c->cfg, CK_CFG_ACME_CAA_IDENTITIES);
	json_t *o, *meta;
	char u[640];

	if (acme_req_init(&r, c) != 0)
		return;
	o = json_object();
#define URL(key, path)                                         \
	do {                                                   \
		snprintf(u, sizeof(u), "%s/%s", r.base, path); \
		json_object_set_new(o, key, json_string(u));   \
	} while (0)
	URL("newNonce", "new-nonce");
	URL("newAccount", "new-account");
	URL("newOrder", "new-order");
	URL("revokeCert", "revoke-cert");
	URL("keyChange", "key-change");
	URL("renewalInfo", "renewal-info");
#undef URL
	meta = json_object();
	if (tos[0] != '\0')
		json_object_set_new(meta, "termsOfService", json_string(tos));
	if (web[0] != '\0')
		json_object_set_new(meta, "website", json_string(web));
	if (caa[0] != '\0') {
		json_t *a = json_array();
		for (const char *q = caa; *q != '\0';) {
			size_t l = strcspn(q, ","), s = 0, e = l;
			while (s < e && q[s] == ' ')
				s++;
			while (e > s && q[e - 1] == ' ')
				e--;
			if (e > s)
				json_array_append_new(
				    a, json_stringn(q + s, e - s));
			q += l + (q[l] == ',');
		}
		json_object_set_new(meta, "caaIdentities", a);
	}
	{
		char name[128], what[200];
		json_t *profiles = json_object();
		for (int i = 0; profile_at(c->cfg, i, name, sizeof(name));
		     i++) {
			snprintf(what, sizeof(what),
			    "the CA's %s certificate profile%s", name,
			    i == 0 ? " (the default)" : "");
			json_object_set_new(profiles, name, json_string(what));
		}
		if (json_object_size(profiles) > 0)
			json_object_set_new(meta, "profiles", profiles);
		else
			json_decref(profiles);
	}
	json_object_set_new(meta, "externalAccountRequired",
	    json_boolean(acme_eab_required(c->cfg, r.ca)));
	json_object_set_new(o, "meta", meta);
	acme_reply_json(&r, 200, o, NULL);
	json_decref(o);
	acme_req_release(&r);
}

void
ck_acme_new_nonce(struct ck_http_ctx *c)
{
	struct acme_req r;

	if (acme_req_init(&r, c) != 0)
		return;
	/* RFC 8555 7.2: 200 to HEAD, 204 to GET. */
	acme_reply_raw(
	    &r, c->method == CK_HTTP_HEAD ? 200 : 204, "text/plain", "", 0);
	acme_req_release(&r);
}
