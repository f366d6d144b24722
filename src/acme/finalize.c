/*
 * The ACME doors that reach the lifecycle layer: finalize (RFC 8555
 * 7.4) hands the CSR to ck_enroll with the CA's tls-server profile, the
 * certificate download (7.4.2) reads the chain back from the inventory,
 * and revokeCert (7.6) goes through ck_revoke. Nothing here signs.
 */
#include "acme/acme_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/revoke.h"
#include "x509/x509.h"

/* The order of the route's {id}, owned by the requesting account. */
static int
order_of(struct acme_req *r, struct ck_acme_order *o, struct acme_prob *p)
{
	struct ck_err err = {0};
	int64_t id = strtoll(ck_http_param(r->c, 1), NULL, 10);

	if (id <= 0 || ck_store_acme_order_get(r->st, id, o, &err) != 0)
		return acme_prob(p, "notFound", "no such order");
	if (o->account_id != r->acct.id) {
		ck_acme_order_release(o);
		return acme_prob(p, "unauthorized", "not this account's order");
	}
	return 0;
}

/* Whether name (type t) is among the order's identifiers. */
static bool
in_ids(const json_t *ids, const char *t, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(ids, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "type")), t) ==
		        0 &&
		    strcasecmp(json_string_value(json_object_get(v, "value")),
		        name) == 0)
			return true;
	}
	return false;
}

/* RFC 8555 7.4: the CSR asks for exactly the order's identifiers. */
static int
csr_names_check(
    const struct ck_csr *csr, const json_t *ids, struct acme_prob *p)
{
	size_t seen = 0;

	if (!csr->signature_ok)
		return acme_prob(p, "badCSR", "CSR signature does not verify");
	for (size_t i = 0; i < csr->n_sans; i++) {
		const struct ck_san *s = &csr->sans[i];
		const char *t = s->type == CK_SAN_DNS ? "dns"
		    : s->type == CK_SAN_IP            ? "ip"
		                                      : NULL;
		if (t == NULL || !in_ids(ids, t, s->value))
			return acme_prob(p, "badCSR",
			    "CSR names %.100s, which the order does not",
			    s->value);
		/* duplicates in a CSR would count twice */
		for (size_t k = 0; k < i; k++)
			if (csr->sans[k].type == s->type &&
			    strcasecmp(csr->sans[k].value, s->value) == 0)
				return acme_prob(p, "badCSR",
				    "CSR repeats %.100s", s->value);
		seen++;
	}
	if (seen != json_array_size(ids))
		return acme_prob(p, "badCSR",
		    "CSR does not name every identifier of the order");
	if (csr->cn != NULL && csr->cn[0] != '\0' &&
	    !in_ids(ids, "dns", csr->cn) && !in_ids(ids, "ip", csr->cn))
		return acme_prob(p, "badCSR",
		    "CSR common name %.100s is not an identifier", csr->cn);
	return 0;
}

/* RFC 8659 at issuance: with [acme] caa_identities set, every DNS name
 * of the order is looked up (none skipped, none cached from validation)
 * and one refusal or failed lookup refuses the order. Blocks on DNS:
 * finalize runs in a job thread. */
static int
caa_check(const struct ck_config *cfg, const json_t *ids, struct acme_prob *p)
{
	const char *caa = ck_config_str(cfg, CK_CFG_ACME_CAA_IDENTITIES);
	struct acme_resolver rv;
	size_t i;
	json_t *v;

	if (caa[0] == '\0')
		return 0;
	if (acme_resolver_parse(
	        ck_config_str(cfg, CK_CFG_ACME_RESOLVER), &rv) != 0)
		return acme_prob(
		    p, "serverInternal", "[acme] resolver unusable");
	json_array_foreach(ids, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "type")),
		        "dns") != 0)
			continue; /* CAA is for DNS names (RFC 8659) */
		if (acme_caa_check(&rv,
		        json_string_value(json_object_get(v, "value")), caa,
		        p) != 0)
			return -1;
	}
	return 0;
}

static int
recorded(void *arg, struct ck_store *st, const struct ck_enroll_res *res,
    struct ck_err *err)
{
	const int64_t *oid = arg;

	return ck_store_acme_order_set(
	    st, *oid, "valid", res->cert_id, NULL, err);
}

void
ck_acme_finalize(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	struct ck_acme_order o = {0};
	struct ck_buf der = CK_BUF_INIT;
	struct ck_csr *csr = NULL;
	struct ck_enroll_req req = {0};
	struct ck_enroll_res res = {0};
	json_t *ids = NULL, *j;
	const char *b64;
	char actor[720], loc[700], profile[128];
	int64_t oid;

	if (acme_req_init(&r, c) != 0)
		return;
	if (acme_req_post(&r, 0) != 0)
		goto out;
	if (order_of(&r, &o, &p) != 0)
		goto fail;
	if (strcmp(o.status, "ready") != 0 || o.expires <= c->now) {
		acme_prob(&p, "orderNotReady", "order is %s",
		    o.expires <= c->now ? "expired" : o.status);
		goto fail;
	}
	b64 = r.jws.payload != NULL
	    ? json_string_value(json_object_get(r.jws.payload, "csr"))
	    : NULL;
	if (b64 == NULL || !ck_b64url_decode(b64, strlen(b64), &der) ||
	    der.len == 0) {
		acme_prob(&p, "malformed", "finalize needs csr in base64url");
		goto fail;
	}
	/* read as the CA reads it (no key decoders), which enroll does
	 * again: names are checked first */
	if (ck_ca_csr_read((uint8_t *)der.p, der.len, &csr, &err) != 0) {
		acme_prob(&p, "badCSR", "%s", err.msg);
		goto fail;
	}
	ids = json_loads(o.identifiers, 0, NULL);
	if (ids == NULL || csr_names_check(csr, ids, &p) != 0) {
		if (ids == NULL)
			acme_prob(&p, "serverInternal", "order identifiers");
		goto fail;
	}
	if (caa_check(c->cfg, ids, &p) != 0)
		goto fail;
	snprintf(actor, sizeof(actor), "acme:%s/account/%lld", r.base,
	    (long long)r.acct.id);
	req.ca = r.ca;
	if (o.profile != NULL)
		snprintf(profile, sizeof(profile), "%s", o.profile);
	else
		acme_profile_default(c->cfg, profile, sizeof(profile));
	req.profile = profile;
	req.csr = (uint8_t *)der.p;
	req.csr_len = der.len;
	req.requested_by = actor;
	req.master_key = ck_config_str(c->cfg, CK_CFG_MASTER_KEY);
	req.public_url = ck_config_str(c->cfg, CK_CFG_PUBLIC_URL);
	req.recorded = recorded;
	req.recorded_arg = &o.id;
	if (ck_enroll(r.st, &req, &res, &err) != 0) {
		/* Refusals are the CSR's fault (key, names, profile); the
		 * order stays ready for a better one. */
		acme_prob(&p, "badCSR", "%s", err.msg);
		goto fail;
	}
	oid = o.id;
	ck_acme_order_release(&o);
	if (ck_store_acme_order_get(r.st, oid, &o, &err) != 0) {
		acme_prob(&p, "serverInternal", "%s", err.msg);
		goto fail;
	}
	snprintf(loc, sizeof(loc), "%s/order/%lld", r.base, (long long)o.id);
	j = acme_order_json(&r, &o, c->now);
	acme_reply_json(&r, 200, j, loc);
	json_decref(j);
	goto out;
fail:
	acme_reply_prob(&r, &p);
out:
	ck_enroll_res_release(&res);
	ck_csr_free(csr);
	json_decref(ids);
	ck_buf_release(&der);
	ck_acme_order_release(&o);
	acme_req_release(&r);
}

static int
chain_cb(void *ctx, const struct ck_cert_row *row)
{
	ck_pem_encode("CERTIFICATE", row->der, row->der_len, ctx);
	return 0;
}

void
ck_acme_certificate(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	struct ck_acme_order o = {0};
	struct ck_buf pem = CK_BUF_INIT;

	if (acme_req_init(&r, c) != 0)
		return;
	if (acme_req_post(&r, 0) != 0)
		goto out;
	if (order_of(&r, &o, &p) != 0)
		goto fail;
	if (strcmp(o.status, "valid") != 0 || o.cert_id == 0) {
		acme_prob(&p, "notFound", "order has no certificate");
		goto fail;
	}
	/* The leaf, then its issuers up to the root, as RFC 8555 7.4.2's
	 * application/pem-certificate-chain. */
	if (ck_store_chain(r.st, o.cert_id, chain_cb, &pem, &err) != 0) {
		acme_prob(&p, "serverInternal", "%s", err.msg);
		goto fail;
	}
	acme_reply_raw(
	    &r, 200, "application/pem-certificate-chain", pem.p, pem.len);
	goto out;
fail:
	acme_reply_prob(&r, &p);
out:
	ck_buf_release(&pem);
	ck_acme_order_release(&o);
	acme_req_release(&r);
}

void
ck_acme_revoke(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	struct ck_buf der = CK_BUF_INIT, hex = CK_BUF_INIT;
	struct ck_revoke_res res;
	const char *b64;
	json_t *jr;
	uint8_t h[32];
	int64_t id = 0, owner = 0;
	int reason = 0;
	char actor[720];

	if (acme_req_init(&r, c) != 0)
		return;
	if (acme_req_post(&r, -1) != 0)
		goto out;
	b64 = r.jws.payload != NULL
	    ? json_string_value(json_object_get(r.jws.payload, "certificate"))
	    : NULL;
	if (b64 == NULL || !ck_b64url_decode(b64, strlen(b64), &der) ||
	    der.len == 0) {
		acme_prob(&p, "malformed", "revokeCert needs certificate");
		goto fail;
	}
	jr = json_object_get(r.jws.payload, "reason");
	if (jr != NULL) {
		if (!json_is_integer(jr) || json_integer_value(jr) < 0 ||
		    json_integer_value(jr) > 10 ||
		    json_integer_value(jr) == 7) {
			acme_prob(&p, "badRevocationReason",
			    "reason must be an RFC 5280 code");
			goto fail;
		}
		reason = (int)json_integer_value(jr);
	}
	ck_sha256(der.p, der.len, h);
	ck_buf_addhex(&hex, h, 32, 0);
	if (ck_store_cert_find(r.st, hex.p, &id, &err) != 0) {
		acme_prob(&p, "notFound", "certificate not issued here");
		goto fail;
	}
	/* RFC 8555 7.6: the account that ordered it, or its own key. */
	if (r.has_acct) {
		if (ck_store_acme_cert_account(r.st, id, &owner, &err) != 0 ||
		    owner != r.acct.id) {
			acme_prob(&p, "unauthorized",
			    "this account did not order the certificate");
			goto fail;
		}
		snprintf(actor, sizeof(actor), "acme:%s/account/%lld", r.base,
		    (long long)r.acct.id);
	} else {
		if (!ck_jwk_matches_cert(r.key, (uint8_t *)der.p, der.len)) {
			acme_prob(&p, "unauthorized",
			    "jwk is not the certificate's key");
			goto fail;
		}
		snprintf(actor, sizeof(actor), "acme:certificate-key");
	}
	memset(&res, 0, sizeof(res));
	if (ck_revoke(r.st, id, reason, actor,
	        ck_config_str(c->cfg, CK_CFG_MASTER_KEY), &res, &err) != 0) {
		acme_prob(&p, "unauthorized", "%s", err.msg);
		goto fail;
	}
	if (res.already) {
		acme_prob(
		    &p, "alreadyRevoked", "certificate is revoked already");
		goto fail;
	}
	acme_reply_raw(&r, 200, "text/plain", "", 0);
	goto out;
fail:
	acme_reply_prob(&r, &p);
out:
	ck_buf_release(&der);
	ck_buf_release(&hex);
	acme_req_release(&r);
}
