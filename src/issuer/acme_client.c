/*
 * One session with an ACME CA (RFC 8555 sections 6 and 7.1-7.3): the
 * directory, nonces (every answer's Replay-Nonce is kept; badNonce is
 * retried a bounded number of times), signed POSTs and POST-as-GET, the
 * account (found, or made with contact, terms agreement and External
 * Account Binding) and the mapping of error answers to our codes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "issuer/acme_int.h"

/* ---- what caps() may report without network I/O ---- */

#define CAPS_CACHE 16

static pthread_mutex_t caps_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *url;
	bool renewal_info;
} caps_cache[CAPS_CACHE];
static size_t caps_next;

void
acme_caps_note(const char *url, bool renewal_info)
{
	size_t i;

	pthread_mutex_lock(&caps_mu);
	for (i = 0; i < CAPS_CACHE; i++)
		if (caps_cache[i].url != NULL &&
		    strcmp(caps_cache[i].url, url) == 0)
			break;
	if (i == CAPS_CACHE) {
		/* Oldest out: a handful of CAs at most. */
		i = caps_next++ % CAPS_CACHE;
		free(caps_cache[i].url);
		caps_cache[i].url = ck_strdup(url);
	}
	caps_cache[i].renewal_info = renewal_info;
	pthread_mutex_unlock(&caps_mu);
}

bool
acme_caps_renewal_info(const char *url)
{
	bool ri = false;

	if (url == NULL)
		return false;
	pthread_mutex_lock(&caps_mu);
	for (size_t i = 0; i < CAPS_CACHE; i++)
		if (caps_cache[i].url != NULL &&
		    strcmp(caps_cache[i].url, url) == 0)
			ri = caps_cache[i].renewal_info;
	pthread_mutex_unlock(&caps_mu);
	return ri;
}

/* ---- the session ---- */

int
acme_time_left_ms(const struct acme *a)
{
	uint64_t now = ck_mono_ns();
	uint64_t left;

	if (now >= a->deadline_ns)
		return 0;
	left = (a->deadline_ns - now) / 1000000;
	if (left > ACME_REQUEST_MS)
		left = ACME_REQUEST_MS;
	return left > 0 ? (int)left : 1;
}

/* Our codes for what fetch reports: the CA is unreachable or slow
 * (CK_E_IO), or sent more than we take (CK_E_PARSE). */
static int
fetch_code(int r)
{
	if (r == CK_E_TOO_LARGE)
		return CK_E_PARSE;
	if (r == CK_E_TIMEOUT)
		return CK_E_IO;
	return r;
}

static int
do_fetch(struct acme *a, const char *method, const char *url,
    const char *const *hdrs, size_t n_hdrs, const struct ck_buf *body,
    size_t max, struct ck_fetch_resp *resp, struct ck_err *err)
{
	int left = acme_time_left_ms(a);
	int r;

	if (left == 0) {
		ck_fetch_resp_init(resp);
		return ck_err_set(err, CK_E_IO,
		    "acme: %s: no time left (order bound %d s)", url,
		    ACME_ORDER_SECONDS);
	}
	struct ck_fetch_req q = {.method = method,
	    .url = url,
	    .headers = hdrs,
	    .n_headers = n_hdrs,
	    .body = body != NULL ? body->p : NULL,
	    .body_len = body != NULL ? body->len : 0,
	    .max_body = max != 0 ? max : ACME_JSON_MAX,
	    .timeout_ms = left,
	    .trust_pem = a->def->trust_pem};
	if ((r = ck_fetch_in(a->http, &q, resp, err)) != 0)
		return ck_err_wrap(err, fetch_code(r), "acme");
	/* Every answer carries a fresh nonce; keeping it saves a HEAD. */
	if (resp->replay_nonce != NULL &&
	    acme_is_b64url(resp->replay_nonce, 512)) {
		free(a->nonce);
		a->nonce = ck_strdup(resp->replay_nonce);
	}
	return 0;
}

int
acme_get(struct acme *a, const char *url, struct ck_fetch_resp *resp,
    struct ck_err *err)
{
	int r;

	if ((r = do_fetch(a, "GET", url, NULL, 0, NULL, 0, resp, err)) != 0)
		return r;
	if (resp->status / 100 != 2)
		return acme_problem(resp->status, resp->body.p, resp->body.len,
		    resp->retry_after, url, a->problem, sizeof(a->problem),
		    err);
	return 0;
}

static int
new_nonce(struct acme *a, struct ck_err *err)
{
	struct ck_fetch_resp resp;
	int r;

	free(a->nonce);
	a->nonce = NULL;
	r = do_fetch(a, "HEAD", a->dir.new_nonce, NULL, 0, NULL, 0, &resp, err);
	if (r == 0 && resp.status / 100 != 2)
		r = acme_problem(resp.status, resp.body.p, resp.body.len,
		    resp.retry_after, "acme: newNonce", a->problem,
		    sizeof(a->problem), err);
	else if (r == 0 && a->nonce == NULL)
		r = ck_err_set(err, CK_E_PARSE,
		    "acme: newNonce: no usable Replay-Nonce header");
	ck_fetch_resp_release(&resp);
	return r;
}

int
acme_post(struct acme *a, const char *url, const char *payload, bool use_jwk,
    const char *accept, size_t max, struct ck_fetch_resp *resp,
    struct ck_err *err)
{
	char acc[128];
	const char *hdrs[2] = {"Content-Type: application/jose+json", acc};
	struct ck_buf jws = CK_BUF_INIT;
	int r;

	snprintf(acc, sizeof(acc), "Accept: %s",
	    accept != NULL ? accept : "application/json");
	ck_fetch_resp_init(resp);
	for (unsigned tries = 0;; tries++) {
		if (a->nonce == NULL && (r = new_nonce(a, err)) != 0)
			return r;
		ck_buf_reset(&jws);
		r = acme_jws(a->key, use_jwk ? NULL : a->kid, a->nonce, url,
		    payload, &jws, err);
		/* A nonce is good for one request, answered or not. */
		free(a->nonce);
		a->nonce = NULL;
		if (r != 0)
			break;
		ck_fetch_resp_release(resp);
		if ((r = do_fetch(
		         a, "POST", url, hdrs, 2, &jws, max, resp, err)) != 0)
			break;
		if (resp->status / 100 == 2) {
			a->problem[0] = '\0';
			break;
		}
		r = acme_problem(resp->status, resp->body.p, resp->body.len,
		    resp->retry_after, url, a->problem, sizeof(a->problem),
		    err);
		if (strcmp(a->problem, "badNonce") != 0 ||
		    tries + 1 >= ACME_NONCE_RETRIES)
			break;
		a->nonce_retries++;
		ck_log(CK_LOG_DEBUG, "acme: badNonce from %s, retrying", url);
	}
	ck_buf_release(&jws);
	return r;
}

int
acme_open(struct ck_issuer_def *def, struct acme *a, struct ck_err *err)
{
	struct ck_fetch_resp resp;
	int r;

	memset(a, 0, sizeof(*a));
	a->def = def;
	a->deadline_ns =
	    ck_mono_ns() + (uint64_t)ACME_ORDER_SECONDS * 1000000000u;
	if (def->directory == NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "acme issuer %s: no directory url",
		    def->name != NULL ? def->name : "");
	if ((r = ck_fetch_session_new(&a->http, err)) != 0)
		return r;
	if ((r = acme_get(a, def->directory, &resp, err)) == 0 &&
	    (r = acme_dir_parse(resp.body.p, resp.body.len, &a->dir, err)) == 0)
		acme_caps_note(def->directory, a->dir.renewal_info != NULL);
	ck_fetch_resp_release(&resp);
	return r;
}

void
acme_close(struct acme *a)
{
	acme_dir_release(&a->dir);
	EVP_PKEY_free(a->key);
	free(a->kid);
	free(a->nonce);
	ck_fetch_session_free(a->http);
	memset(a, 0, sizeof(*a));
}

int
acme_register(struct acme *a, struct ck_err *err)
{
	struct ck_issuer_def *d = a->def;
	struct ck_fetch_resp resp;
	struct ck_buf jwk = CK_BUF_INIT, eab = CK_BUF_INIT;
	json_t *pl = json_object();
	char *payload = NULL;
	int r = 0;

	json_object_set_new(pl, "termsOfServiceAgreed", json_true());
	if (d->email != NULL && d->email[0] != '\0') {
		char c[320];
		snprintf(c, sizeof(c), "%s%s",
		    strncmp(d->email, "mailto:", 7) == 0 ? "" : "mailto:",
		    d->email);
		json_object_set_new(pl, "contact", json_pack("[s]", c));
	}
	if (d->eab_kid != NULL && d->eab_hmac.len > 0) {
		if ((r = acme_jwk(a->key, &jwk, err)) != 0 ||
		    (r = acme_eab(d->eab_kid, (const uint8_t *)d->eab_hmac.p,
		         d->eab_hmac.len, a->dir.new_account, jwk.p, &eab,
		         err)) != 0)
			goto out;
		json_object_set_new(
		    pl, "externalAccountBinding", json_loads(eab.p, 0, NULL));
	} else if (a->dir.eab_required) {
		r = ck_err_set(err, CK_E_INVAL,
		    "acme: the CA requires External Account Binding (eab_kid "
		    "and eab_hmac)");
		goto out;
	}
	payload = json_dumps(pl, JSON_COMPACT);
	r = acme_post(
	    a, a->dir.new_account, payload, true, NULL, 0, &resp, err);
	if (r == 0 && resp.location == NULL)
		r = ck_err_set(
		    err, CK_E_PARSE, "acme: newAccount: no Location header");
	if (r == 0) {
		free(a->kid);
		a->kid = ck_strdup(resp.location);
		free(d->account_url);
		d->account_url = ck_strdup(resp.location);
		d->account_changed = true;
		ck_log(CK_LOG_INFO, "acme: account %s (%s)", a->kid,
		    resp.status == 201 ? "created" : "found");
	} else
		ck_err_wrap(err, r, "acme: new account");
	ck_fetch_resp_release(&resp);
out:
	free(payload);
	json_decref(pl);
	ck_buf_release(&jwk);
	ck_buf_release(&eab);
	return r;
}

int
acme_account(struct acme *a, struct ck_err *err)
{
	struct ck_issuer_def *d = a->def;
	int r;

	if (a->key == NULL) {
		if (d->account_key_pem.len > 0)
			r = acme_key_load(d->account_key_pem.p,
			    d->account_key_pem.len, &a->key, err);
		else if ((r = acme_key_generate("ec-p256", &a->key, err)) ==
		        0 &&
		    (r = acme_key_pem(a->key, &d->account_key_pem, err)) == 0) {
			/* The key alone, without the URL, is still worth
			 * keeping: newAccount with it finds the account. */
			free(d->account_url);
			d->account_url = NULL;
			d->account_changed = true;
		}
		if (r != 0)
			return r;
	}
	if (d->account_url != NULL) {
		free(a->kid);
		a->kid = ck_strdup(d->account_url);
		return 0;
	}
	return acme_register(a, err);
}
