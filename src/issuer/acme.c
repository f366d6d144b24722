/*
 * The ACME connector's operations: issue (the order flow below), revoke,
 * renewal information, key rollover and capabilities.
 *
 * One order (RFC 8555 section 7.1.6), each edge naming its function:
 *
 *   (start) --acme_open, acme_account--> account
 *   account --new_order--> order pending | ready
 *   pending --authorize: respond to each pending authz's challenge,
 *             poll each authz until valid--> pending (authz done)
 *   pending --poll_order--> ready | invalid
 *   ready   --finalize (CSR), poll_order--> processing --> valid | invalid
 *   valid   --download (default chain, or the preferred alternate)--> done
 *
 * Everything is bounded by ACME_ORDER_SECONDS from acme_open; polls sleep
 * for the CA's Retry-After, else a doubling backoff, never past the bound.
 */
#include "issuer/acme.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "issuer/acme_int.h"

#define POLL_FIRST_MS 250
#define POLL_MAX_MS 5000
#define RETRY_AFTER_MAX_S 60
#define RENEWAL_RECHECK_S (6 * 3600)
#define NAMES_MAX 100

static atomic_ulong nonce_retries;

unsigned long
ck_acme_nonce_retries(void)
{
	return atomic_load(&nonce_retries);
}

/* Closes the session, counting its badNonce retries. */
static void
finish(struct acme *a)
{
	atomic_fetch_add(&nonce_retries, a->nonce_retries);
	acme_close(a);
}

static void
caps(const struct ck_issuer_def *d, struct ck_issuer_caps *c)
{
	memset(c, 0, sizeof(*c));
	c->key_types = "ec-p256,ec-p384,rsa-2048,rsa-3072,rsa-4096";
	c->max_days = 0; /* ACME CAs choose the validity */
	/* Known only once the directory was read: no I/O here. */
	c->renewal_info = acme_caps_renewal_info(d->directory);
	c->revoke = true;
}

static bool
is_ip(const char *s)
{
	uint8_t a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Sleeps before the next poll: the CA's Retry-After (bounded) or the
 * backoff. CK_E_IO when the order's time would run out first. */
static int
pause_poll(struct acme *a, const struct ck_fetch_resp *resp, int *backoff,
    const char *what, struct ck_err *err)
{
	int64_t ra;
	uint64_t ms = (uint64_t)*backoff, now = ck_mono_ns();

	if (ck_fetch_retry_after(resp->retry_after, ck_now(), &ra))
		ms = ra > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S * 1000u
		    : ra < 1                ? POLL_FIRST_MS
		                            : (uint64_t)ra * 1000u;
	else
		*backoff =
		    *backoff * 2 > POLL_MAX_MS ? POLL_MAX_MS : *backoff * 2;
	if (now + ms * 1000000u >= a->deadline_ns)
		return ck_err_set(err, CK_E_IO, "acme: %s not done within %d s",
		    what, ACME_ORDER_SECONDS);
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
	return 0;
}

/* POST-as-GET of an order, parsed. */
static int
get_order(struct acme *a, const char *url, struct acme_order *o,
    struct ck_fetch_resp *resp, struct ck_err *err)
{
	int r;

	acme_order_release(o);
	ck_fetch_resp_release(resp);
	if ((r = acme_post(a, url, "", false, NULL, 0, resp, err)) != 0)
		return r;
	return acme_order_parse(resp->body.p, resp->body.len, o, err);
}

/*
 * Polls the order while it is in the state that comes before want:
 * pending before ready (validations settling), ready or processing
 * before valid (issuance).
 */
static int
poll_order(struct acme *a, const char *url, struct acme_order *o,
    enum acme_status want, struct ck_err *err)
{
	struct ck_fetch_resp resp;
	int backoff = POLL_FIRST_MS, r = 0;

	ck_fetch_resp_init(&resp);
	while (want == ACME_READY
	        ? o->status == ACME_PENDING
	        : (o->status == ACME_PROCESSING || o->status == ACME_READY)) {
		if ((r = pause_poll(a, &resp, &backoff, "order", err)) != 0 ||
		    (r = get_order(a, url, o, &resp, err)) != 0)
			break;
	}
	ck_fetch_resp_release(&resp);
	if (r != 0)
		return r;
	if (o->status != want)
		return ck_err_set(err, CK_E_INVAL, "acme: order is %s%s%s",
		    acme_status_name(o->status), o->error != NULL ? ": " : "",
		    o->error != NULL ? o->error : "");
	return 0;
}

static int
new_order(struct acme *a, const struct ck_issue_request *req,
    const char *replaces, struct acme_order *o, char **order_url,
    struct ck_err *err)
{
	struct ck_fetch_resp resp;
	json_t *pl = json_object(), *ids = json_array();
	char *payload;
	int r;

	for (size_t i = 0; i < req->n_names; i++)
		json_array_append_new(ids,
		    json_pack("{s:s,s:s}", "type",
		        is_ip(req->names[i]) ? "ip" : "dns", "value",
		        req->names[i]));
	json_object_set_new(pl, "identifiers", ids);
	if (replaces != NULL)
		json_object_set_new(pl, "replaces", json_string(replaces));
	if (a->def->profile_name != NULL)
		json_object_set_new(
		    pl, "profile", json_string(a->def->profile_name));
	payload = json_dumps(pl, JSON_COMPACT);
	json_decref(pl);
	r = acme_post(a, a->dir.new_order, payload, false, NULL, 0, &resp, err);
	free(payload);
	if (r == 0 && resp.location == NULL)
		r = ck_err_set(err, CK_E_PARSE, "acme: newOrder: no Location");
	if (r == 0)
		r = acme_order_parse(resp.body.p, resp.body.len, o, err);
	if (r == 0)
		*order_url = ck_strdup(resp.location);
	else
		ck_err_wrap(err, r, "acme: new order");
	ck_fetch_resp_release(&resp);
	return r;
}

struct pending {
	char *authz, *chall, *ident;
	bool post; /* the challenge still needs our "go" */
};

static int
get_authz(struct acme *a, const char *url, struct acme_authz *az,
    struct ck_fetch_resp *resp, struct ck_err *err)
{
	int r;

	acme_authz_release(az);
	ck_fetch_resp_release(resp);
	if ((r = acme_post(a, url, "", false, NULL, 0, resp, err)) != 0)
		return r;
	return acme_authz_parse(resp->body.p, resp->body.len, az, err);
}

/* Waits for one authorization to be decided. */
static int
poll_authz(struct acme *a, const struct pending *p, const char *type,
    struct ck_err *err)
{
	struct ck_fetch_resp resp;
	struct acme_authz az = {0};
	int backoff = POLL_FIRST_MS, r;

	ck_fetch_resp_init(&resp);
	for (;;) {
		if ((r = pause_poll(
		         a, &resp, &backoff, "authorization", err)) != 0 ||
		    (r = get_authz(a, p->authz, &az, &resp, err)) != 0)
			break;
		if (az.status == ACME_VALID)
			break;
		if (az.status != ACME_PENDING) {
			const char *why = NULL;
			for (size_t i = 0; i < az.n_ch; i++)
				if (strcmp(az.ch[i].type, type) == 0 &&
				    az.ch[i].error != NULL)
					why = az.ch[i].error;
			r = ck_err_set(err, CK_E_INVAL,
			    "acme: %s for %s is %s: %s", type, p->ident,
			    acme_status_name(az.status),
			    why != NULL ? why : "no reason given");
			break;
		}
	}
	acme_authz_release(&az);
	ck_fetch_resp_release(&resp);
	return r;
}

static int
authorize(struct acme *a, const struct acme_order *o, struct ck_err *err)
{
	const char *type =
	    a->def->challenge != NULL ? a->def->challenge : "http-01";
	struct acme_responder *rs = NULL;
	struct pending *pend = ck_calloc(o->n_authz + 1, sizeof(*pend));
	struct ck_fetch_resp resp;
	struct acme_authz az = {0};
	struct ck_buf thumb = CK_BUF_INIT, ka = CK_BUF_INIT;
	size_t n = 0;
	int r;

	ck_fetch_resp_init(&resp);
	if ((r = acme_thumbprint(a->key, &thumb, err)) != 0 ||
	    (r = acme_responder_new(a->def, &rs, err)) != 0)
		goto out;
	for (size_t i = 0; i < o->n_authz; i++) {
		struct acme_chall *ch = NULL;
		if ((r = get_authz(a, o->authz[i], &az, &resp, err)) != 0)
			goto out;
		if (az.status == ACME_VALID)
			continue; /* reused from an earlier order */
		if (az.status != ACME_PENDING) {
			r = ck_err_set(err, CK_E_INVAL,
			    "acme: authorization for %s is %s", az.ident_value,
			    acme_status_name(az.status));
			goto out;
		}
		for (size_t j = 0; j < az.n_ch && ch == NULL; j++)
			if (strcmp(az.ch[j].type, type) == 0)
				ch = &az.ch[j];
		if (ch == NULL) {
			r = ck_err_set(err, CK_E_INVAL,
			    "acme: the CA offers no %s challenge for %s%s",
			    type, az.wildcard ? "*." : "", az.ident_value);
			goto out;
		}
		ck_buf_reset(&ka);
		ck_buf_printf(
		    &ka, "%s.%s", ch->token != NULL ? ch->token : "", thumb.p);
		if ((r = acme_responder_add(rs, type, az.ident_type,
		         az.ident_value, ch->token, ka.p, err)) != 0)
			goto out;
		pend[n].authz = ck_strdup(o->authz[i]);
		pend[n].chall = ck_strdup(ch->url);
		pend[n].ident = ck_strdup(az.ident_value);
		pend[n].post = ch->status == ACME_PENDING;
		n++;
	}
	if (n == 0)
		goto out;
	int left = (int)((a->deadline_ns - ck_mono_ns()) / 1000000);
	if ((r = acme_responder_start(rs, left, err)) != 0)
		goto out;
	/* All challenges go before any poll: validations run in parallel. */
	for (size_t i = 0; i < n; i++) {
		if (!pend[i].post)
			continue;
		ck_fetch_resp_release(&resp);
		if ((r = acme_post(a, pend[i].chall, "{}", false, NULL, 0,
		         &resp, err)) != 0)
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((r = poll_authz(a, &pend[i], type, err)) != 0)
			goto out;
out:
	acme_responder_free(rs);
	for (size_t i = 0; i < n; i++) {
		free(pend[i].authz);
		free(pend[i].chall);
		free(pend[i].ident);
	}
	free(pend);
	acme_authz_release(&az);
	ck_fetch_resp_release(&resp);
	ck_buf_release(&thumb);
	ck_buf_release_secret(&ka);
	return r;
}

/* Fetches one chain. */
static int
get_chain(struct acme *a, const char *url, struct acme_chain *c,
    struct ck_fetch_resp *resp, struct ck_err *err)
{
	int r;

	ck_fetch_resp_release(resp);
	if ((r = acme_post(a, url, "", false,
	         "application/pem-certificate-chain", ACME_CHAIN_MAX, resp,
	         err)) != 0)
		return r;
	return acme_chain_parse(resp->body.p, resp->body.len, c, err);
}

static bool
chain_wanted(const struct acme_chain *c, const char *cn)
{
	return cn == NULL ||
	    (c->top_issuer_cn != NULL && strcmp(c->top_issuer_cn, cn) == 0);
}

static int
download(
    struct acme *a, const char *url, struct ck_issued *out, struct ck_err *err)
{
	const char *want = a->def->preferred_chain;
	struct ck_fetch_resp resp;
	struct acme_chain c = {0};
	char **alts = NULL;
	size_t n_alts = 0;
	int r;

	ck_fetch_resp_init(&resp);
	if ((r = get_chain(a, url, &c, &resp, err)) != 0)
		goto out;
	if (!chain_wanted(&c, want)) {
		acme_links(resp.links, resp.n_links, "alternate",
		    ACME_ALTERNATES_MAX, &alts, &n_alts);
		for (size_t i = 0; i < n_alts; i++) {
			struct acme_chain alt = {0};
			struct ck_err e2 = {0};
			/* An alternate that fails is skipped: the default
			 * chain is still a good answer. */
			if (get_chain(a, alts[i], &alt, &resp, &e2) == 0 &&
			    chain_wanted(&alt, want)) {
				acme_chain_release(&c);
				c = alt;
				break;
			}
			acme_chain_release(&alt);
		}
		if (!chain_wanted(&c, want))
			ck_log(CK_LOG_INFO,
			    "acme: no chain whose top issuer is \"%s\"; "
			    "keeping the default",
			    want);
	}
	out->der = c.leaf;
	out->der_len = c.leaf_len;
	out->chain_pem = c.rest_pem;
	c.leaf = NULL;
	ck_buf_init(&c.rest_pem);
out:
	for (size_t i = 0; i < n_alts; i++)
		free(alts[i]);
	free(alts);
	acme_chain_release(&c);
	ck_fetch_resp_release(&resp);
	return r;
}

static int
check_request(const struct ck_issue_request *req, struct ck_err *err)
{
	if (req->csr == NULL || req->csr_len == 0)
		return ck_err_set(
		    err, CK_E_INVAL, "acme: no certificate request");
	if (req->n_names == 0 || req->n_names > NAMES_MAX)
		return ck_err_set(err, CK_E_INVAL,
		    "acme: between 1 and %d names needed", NAMES_MAX);
	for (size_t i = 0; i < req->n_names; i++) {
		const char *s = req->names[i];
		if (s == NULL || *s == '\0' || strlen(s) > 253 ||
		    strpbrk(s, " \t\r\n\"\\/") != NULL)
			return ck_err_set(err, CK_E_INVAL, "acme: bad name %s",
			    s != NULL ? s : "(null)");
	}
	return 0;
}

static int
issue(struct ck_issuer_def *d, const struct ck_issue_request *req,
    struct ck_issued *out, struct ck_err *err)
{
	struct acme a;
	struct acme_order o = {0};
	struct ck_fetch_resp resp;
	struct ck_buf certid = CK_BUF_INIT, csr = CK_BUF_INIT;
	char *order_url = NULL, *payload = NULL;
	bool had_account = d->account_url != NULL;
	int r;

	ck_fetch_resp_init(&resp);
	if ((r = check_request(req, err)) != 0)
		return r;
	if ((r = acme_open(d, &a, err)) != 0)
		goto out;
	if (req->replaces != NULL && a.dir.renewal_info != NULL &&
	    (r = acme_cert_id(
	         req->replaces, req->replaces_len, &certid, err)) != 0)
		goto out;
	if ((r = acme_account(&a, err)) != 0)
		goto out;
	r = new_order(&a, req, certid.p, &o, &order_url, err);
	if (r != 0 && had_account &&
	    strcmp(a.problem, "accountDoesNotExist") == 0) {
		/* The CA forgot the account (a test CA restarted, or it
		 * was deactivated): make a new one with the same key. */
		ck_log(CK_LOG_WARN,
		    "acme: account %s unknown to the CA; "
		    "registering again",
		    d->account_url);
		if ((r = acme_register(&a, err)) == 0)
			r = new_order(&a, req, certid.p, &o, &order_url, err);
	}
	if (r != 0 && certid.p != NULL &&
	    strcmp(a.problem, "alreadyReplaced") == 0) {
		/* RFC 9773 section 5: a new order without "replaces". */
		r = new_order(&a, req, NULL, &o, &order_url, err);
	}
	if (r != 0)
		goto out;
	if (o.status == ACME_PENDING) {
		if ((r = authorize(&a, &o, err)) != 0)
			goto out;
		if ((r = get_order(&a, order_url, &o, &resp, err)) != 0 ||
		    (r = poll_order(&a, order_url, &o, ACME_READY, err)) != 0)
			goto out;
	}
	if (o.status == ACME_READY) {
		acme_b64url(req->csr, req->csr_len, &csr);
		json_t *pl = json_pack("{s:s}", "csr", csr.p);
		payload = json_dumps(pl, JSON_COMPACT);
		json_decref(pl);
		ck_fetch_resp_release(&resp);
		if ((r = acme_post(&a, o.finalize, payload, false, NULL, 0,
		         &resp, err)) != 0) {
			ck_err_wrap(err, r, "acme: finalize");
			goto out;
		}
		acme_order_release(&o);
		if ((r = acme_order_parse(
		         resp.body.p, resp.body.len, &o, err)) != 0)
			goto out;
	}
	if ((r = poll_order(&a, order_url, &o, ACME_VALID, err)) != 0)
		goto out;
	if (o.certificate == NULL) {
		r = ck_err_set(err, CK_E_PARSE,
		    "acme: valid order without a certificate url");
		goto out;
	}
	r = download(&a, o.certificate, out, err);
out:
	if (r != 0 && err != NULL)
		ck_log(CK_LOG_DEBUG, "acme: issue: %s", err->msg);
	ck_fetch_resp_release(&resp);
	acme_order_release(&o);
	free(order_url);
	free(payload);
	ck_buf_release(&certid);
	ck_buf_release(&csr);
	finish(&a);
	return r;
}

/* The existing account, never a new one. */
static int
need_account(struct acme *a, struct ck_err *err)
{
	if (a->def->account_key_pem.len == 0)
		return ck_err_set(err, CK_E_INVAL,
		    "acme issuer %s: no account yet",
		    a->def->name != NULL ? a->def->name : "");
	return acme_account(a, err);
}

static int
revoke(struct ck_issuer_def *d, const uint8_t *der, size_t len, int reason,
    struct ck_err *err)
{
	struct acme a;
	struct ck_fetch_resp resp;
	struct ck_buf cert = CK_BUF_INIT;
	char *payload = NULL;
	json_t *pl;
	int r;

	ck_fetch_resp_init(&resp);
	/* RFC 5280 CRLReason; 7 is unused. */
	if (reason < 0 || reason > 10 || reason == 7)
		return ck_err_set(
		    err, CK_E_INVAL, "acme: bad revocation reason %d", reason);
	if ((r = acme_open(d, &a, err)) != 0)
		goto out;
	if (a.dir.revoke_cert == NULL) {
		r = ck_err_set(
		    err, CK_E_UNAVAILABLE, "acme: the CA offers no revokeCert");
		goto out;
	}
	if ((r = need_account(&a, err)) != 0)
		goto out;
	acme_b64url(der, len, &cert);
	pl = json_pack("{s:s}", "certificate", cert.p);
	if (reason != 0)
		json_object_set_new(pl, "reason", json_integer(reason));
	payload = json_dumps(pl, JSON_COMPACT);
	json_decref(pl);
	r = acme_post(
	    &a, a.dir.revoke_cert, payload, false, NULL, 0, &resp, err);
	if (r != 0)
		ck_err_wrap(err, r, "acme: revoke");
out:
	ck_fetch_resp_release(&resp);
	ck_buf_release(&cert);
	free(payload);
	finish(&a);
	return r;
}

int
ck_acme_key_rollover(struct ck_issuer_def *d, struct ck_err *err)
{
	struct acme a;
	struct ck_fetch_resp resp;
	struct ck_buf old_jwk = CK_BUF_INIT, inner = CK_BUF_INIT,
	              pem = CK_BUF_INIT;
	EVP_PKEY *nk = NULL;
	char *payload = NULL;
	json_t *pl;
	int r;

	ck_fetch_resp_init(&resp);
	if ((r = acme_open(d, &a, err)) != 0)
		goto out;
	if (a.dir.key_change == NULL) {
		r = ck_err_set(
		    err, CK_E_UNAVAILABLE, "acme: the CA offers no keyChange");
		goto out;
	}
	if ((r = need_account(&a, err)) != 0 ||
	    (r = acme_key_generate(acme_key_type(a.key), &nk, err)) != 0 ||
	    (r = acme_key_pem(nk, &pem, err)) != 0 ||
	    (r = acme_jwk(a.key, &old_jwk, err)) != 0)
		goto out;
	/* The inner JWS: signed by the new key, which it carries as jwk,
	 * no nonce; the outer one is an ordinary request by the account. */
	pl = json_pack("{s:s,s:o}", "account", a.kid, "oldKey",
	    json_loads(old_jwk.p, 0, NULL));
	payload = json_dumps(pl, JSON_COMPACT);
	json_decref(pl);
	if ((r = acme_jws(
	         nk, NULL, NULL, a.dir.key_change, payload, &inner, err)) != 0)
		goto out;
	if ((r = acme_post(&a, a.dir.key_change, inner.p, false, NULL, 0, &resp,
	         err)) != 0) {
		ck_err_wrap(err, r, "acme: key change");
		goto out;
	}
	ck_buf_release_secret(&d->account_key_pem);
	d->account_key_pem = pem;
	ck_buf_init(&pem);
	d->account_changed = true;
	ck_log(CK_LOG_INFO, "acme: account %s has a new key", a.kid);
out:
	EVP_PKEY_free(nk);
	ck_buf_release_secret(&pem);
	ck_buf_release(&old_jwk);
	ck_buf_release(&inner);
	ck_fetch_resp_release(&resp);
	free(payload);
	finish(&a);
	return r;
}

static int
renewal_info(struct ck_issuer_def *d, const uint8_t *der, size_t len,
    struct ck_renewal_window *w, struct ck_err *err)
{
	struct acme a;
	struct ck_fetch_resp resp;
	struct ck_buf url = CK_BUF_INIT;
	int64_t ra;
	int r;

	memset(w, 0, sizeof(*w));
	ck_fetch_resp_init(&resp);
	if ((r = acme_open(d, &a, err)) != 0)
		goto out;
	if (a.dir.renewal_info == NULL) {
		r = ck_err_set(err, CK_E_UNAVAILABLE,
		    "acme: the CA offers no renewalInfo");
		goto out;
	}
	ck_buf_adds(&url, a.dir.renewal_info);
	if (url.len > 0 && url.p[url.len - 1] != '/')
		ck_buf_addc(&url, '/');
	if ((r = acme_cert_id(der, len, &url, err)) != 0 ||
	    (r = acme_get(&a, url.p, &resp, err)) != 0 ||
	    (r = acme_renewal_parse(resp.body.p, resp.body.len, w, err)) != 0)
		goto out;
	/* RFC 9773 section 4.3: ask again after Retry-After, bounded to a
	 * sane range; without one, a few times a day. */
	if (ck_fetch_retry_after(resp.retry_after, ck_now(), &ra))
		w->retry_after = ck_now() +
		    (ra < 60             ? 60
		            : ra > 86400 ? 86400
		                         : ra);
	else
		w->retry_after = ck_now() + RENEWAL_RECHECK_S;
out:
	ck_buf_release(&url);
	ck_fetch_resp_release(&resp);
	finish(&a);
	return r;
}

const struct ck_issuer_ops ck_acme_ops = {
    .type = "acme",
    .caps = caps,
    .issue = issue,
    .revoke = revoke,
    .renewal_info = renewal_info,
};
