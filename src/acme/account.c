/*
 * ACME accounts (RFC 8555 section 7.3): newAccount with
 * onlyReturnExisting, contact, termsOfServiceAgreed and External Account
 * Binding; the account URL for POST-as-GET, contact updates and
 * deactivation; keyChange (7.3.5), which swaps the account's key.
 *
 *   (none) --new_account--> valid --account (status deactivated)-->
 *   deactivated
 *   valid --ck_acme_key_change--> valid (another key)
 */
#include "acme/acme_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "base/mem.h"

bool
acme_eab_required(const struct ck_config *cfg, const char *ca)
{
	const char *l = ck_config_str(cfg, CK_CFG_ACME_EAB_REQUIRED);
	size_t n = strlen(ca);

	while (*l != '\0') {
		size_t k = strcspn(l, ",");
		const char *s = l;
		size_t m = k;
		while (m > 0 && *s == ' ')
			s++, m--;
		while (m > 0 && s[m - 1] == ' ')
			m--;
		if ((m == 1 && *s == '*') || (m == n && strncmp(s, ca, n) == 0))
			return true;
		l += k;
		if (*l == ',')
			l++;
	}
	return false;
}

json_t *
acme_account_json(struct acme_req *r, const struct ck_acme_account *a)
{
	json_t *o = json_object();
	json_t *contact = json_loads(a->contact, 0, NULL);
	char u[640];

	json_object_set_new(o, "status", json_string(a->status));
	json_object_set_new(
	    o, "contact", contact != NULL ? contact : json_array());
	snprintf(
	    u, sizeof(u), "%s/account/%lld/orders", r->base, (long long)a->id);
	json_object_set_new(o, "orders", json_string(u));
	return o;
}

/* Contact URIs: an array of at most 10 "mailto:" strings of sane size,
 * printable ASCII. NULL p->detail untouched when fine. */
static int
contact_check(const json_t *c, struct acme_prob *p)
{
	size_t i;
	json_t *v;

	if (!json_is_array(c) || json_array_size(c) > 10)
		return acme_prob(p, "malformed", "contact must be an array");
	json_array_foreach(c, i, v)
	{
		const char *s = json_string_value(v);
		if (s == NULL || strlen(s) > 254 ||
		    strncmp(s, "mailto:", 7) != 0)
			return acme_prob(p, "unsupportedContact",
			    "contact must be mailto: URIs");
		for (const char *q = s; *q != '\0'; q++)
			if (*q <= ' ' || *q >= 127 || *q == ',')
				return acme_prob(p, "invalidContact",
				    "contact has an odd character");
	}
	return 0;
}

struct eab_arg {
	struct acme_req *r;
	int64_t bound;
};

/* Unseals kid's HMAC key for the EAB check. */
static int
eab_key(void *arg, const char *kid, struct ck_buf *hmac)
{
	struct eab_arg *ea = arg;
	struct acme_req *r = ea->r;
	struct ck_buf sealed = CK_BUF_INIT;
	uint8_t mk[CK_MASTER_KEY_LEN];
	struct ck_err err = {0};
	char aad[96];
	int rc;

	rc =
	    ck_store_acme_eab_get(r->st, kid, r->ca, &sealed, &ea->bound, &err);
	if (rc == 0 && ea->bound != 0)
		rc = CK_E_EXISTS;
	if (rc == 0)
		rc = ck_master_key_load(
		    ck_config_str(r->c->cfg, CK_CFG_MASTER_KEY), false, mk,
		    &err);
	if (rc == 0) {
		snprintf(aad, sizeof(aad), "acme-eab:%s", kid);
		rc = ck_unseal(
		    mk, aad, (uint8_t *)sealed.p, sealed.len, hmac, &err);
		ck_cleanse(mk, sizeof(mk));
	}
	ck_buf_release(&sealed);
	return rc;
}

void
ck_acme_new_account(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	const json_t *pl;
	json_t *contact, *eab, *o;
	char *contact_s = NULL, loc[640], kid[64] = "";
	int64_t id;
	int rc;

	if (acme_req_init(&r, c) != 0)
		return;
	if (acme_req_post(&r, 1) != 0)
		goto out;
	pl = r.jws.payload;
	if (pl == NULL) {
		acme_prob(&p, "malformed", "newAccount needs a payload");
		goto fail;
	}
	rc = ck_store_acme_account_by_key(
	    r.st, r.ca, ck_jwk_thumbprint(r.key), &r.acct, &err);
	if (rc == 0) {
		/* RFC 8555 7.3.1: an existing key gets its account, 200. */
		snprintf(loc, sizeof(loc), "%s/account/%lld", r.base,
		    (long long)r.acct.id);
		o = acme_account_json(&r, &r.acct);
		acme_reply_json(&r, 200, o, loc);
		json_decref(o);
		goto out;
	}
	if (rc != CK_E_NOTFOUND) {
		acme_prob(&p, "serverInternal", "%s", err.msg);
		goto fail;
	}
	if (json_is_true(json_object_get(pl, "onlyReturnExisting"))) {
		acme_prob(&p, "accountDoesNotExist", "no account for this key");
		goto fail;
	}
	if (ck_config_str(c->cfg, CK_CFG_ACME_TOS)[0] != '\0' &&
	    !json_is_true(json_object_get(pl, "termsOfServiceAgreed"))) {
		acme_prob(&p, "userActionRequired",
		    "terms of service must be agreed to");
		goto fail;
	}
	contact = json_object_get(pl, "contact");
	if (contact != NULL && contact_check(contact, &p) != 0)
		goto fail;
	eab = json_object_get(pl, "externalAccountBinding");
	if (eab == NULL && acme_eab_required(c->cfg, r.ca)) {
		acme_prob(&p, "externalAccountRequired",
		    "this CA needs an External Account Binding");
		goto fail;
	}
	if (eab != NULL) {
		struct eab_arg ea = {&r, 0};
		char url[640];
		snprintf(url, sizeof(url), "%s/new-account", r.base);
		if (acme_eab_check(eab, url, r.key, eab_key, &ea, kid, &p) != 0)
			goto fail;
	}
	contact_s = contact != NULL ? json_dumps(contact, JSON_COMPACT)
	                            : ck_strdup("[]");
	if ((rc = ck_store_begin(r.st, &err)) == 0) {
		rc = ck_store_acme_account_add(r.st, r.ca,
		    ck_jwk_thumbprint(r.key), ck_jwk_json(r.key), contact_s,
		    kid[0] != '\0' ? kid : NULL, c->now, &id, &err);
		if (rc == 0 && kid[0] != '\0')
			rc = ck_store_acme_eab_bind(r.st, kid, id, &err);
		if (rc == 0) {
			snprintf(loc, sizeof(loc), "%s/account/%lld", r.base,
			    (long long)id);
			rc = ck_store_event_add(r.st, "acme", "acme.account",
			    loc, ck_jwk_thumbprint(r.key), &err);
		}
		if (rc == 0)
			rc = ck_store_commit(r.st, &err);
		else
			ck_store_rollback(r.st);
	}
	if (rc != 0) {
		acme_prob(&p,
		    rc == CK_E_EXISTS ? "unauthorized" : "serverInternal", "%s",
		    err.msg);
		goto fail;
	}
	if (ck_store_acme_account_get(r.st, id, &r.acct, &err) != 0) {
		acme_prob(&p, "serverInternal", "%s", err.msg);
		goto fail;
	}
	o = acme_account_json(&r, &r.acct);
	acme_reply_json(&r, 201, o, loc);
	json_decref(o);
	goto out;
fail:
	acme_reply_prob(&r, &p);
out:
	free(contact_s);
	acme_req_release(&r);
}

void
ck_acme_account(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	const char *status;
	json_t *contact, *o;
	char *contact_s = NULL;
	int rc;

	if (acme_req_init(&r, c) != 0)
		return;
	if (acme_req_post(&r, 0) != 0)
		goto out;
	if (strtoll(ck_http_param(c, 1), NULL, 10) != r.acct.id) {
		acme_prob(&p, "unauthorized", "not this key's account");
		goto fail;
	}
	if (r.jws.payload != NULL) {
		status =
		    json_string_value(json_object_get(r.jws.payload, "status"));
		contact = json_object_get(r.jws.payload, "contact");
		if (status != NULL && strcmp(status, "deactivated") != 0) {
			acme_prob(&p, "malformed",
			    "an account can only be deactivated");
			goto fail;
		}
		if (contact != NULL && contact_check(contact, &p) != 0)
			goto fail;
		if (contact != NULL)
			contact_s = json_dumps(contact, JSON_COMPACT);
		if (status != NULL || contact_s != NULL) {
			if ((rc = ck_store_begin(r.st, &err)) == 0) {
				rc = ck_store_acme_account_update(
				    r.st, r.acct.id, status, contact_s, &err);
				if (rc == 0)
					rc = ck_store_event_add(r.st, "acme",
					    status != NULL
					        ? "acme.account.deactivate"
					        : "acme.account.update",
					    r.url, "", &err);
				if (rc == 0)
					rc = ck_store_commit(r.st, &err);
				else
					ck_store_rollback(r.st);
			}
			ck_acme_account_release(&r.acct);
			if (rc == 0)
				rc = ck_store_acme_account_get(r.st,
				    strtoll(ck_http_param(c, 1), NULL, 10),
				    &r.acct, &err);
			if (rc != 0) {
				acme_prob(&p, "serverInternal", "%s", err.msg);
				goto fail;
			}
		}
	}
	o = acme_account_json(&r, &r.acct);
	acme_reply_json(&r, 200, o, NULL);
	json_decref(o);
	goto out;
fail:
	acme_reply_prob(&r, &p);
out:
	free(contact_s);
	acme_req_release(&r);
}

void
ck_acme_account_orders(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	int64_t ids[ACME_ORDERS_PAGE + 1], after = 0;
	const char *cursor;
	size_t n = 0;
	json_t *o, *list;
	char u[720], link[760];

	if (acme_req_init(&r, c) != 0)
		return;
	if (acme_req_post(&r, 0) != 0)
		goto out;
	if (strtoll(ck_http_param(c, 1), NULL, 10) != r.acct.id) {
		acme_prob(&p, "unauthorized", "not this key's account");
		acme_reply_prob(&r, &p);
		goto out;
	}
	/* RFC 8555 7.1.2.1: pages linked by rel="next". */
	/* The cursor is a path segment, not a query: the JWS url must equal
	 * the request's path, which the router gives without its query. */
	if ((cursor = ck_http_param(c, 2)) != NULL)
		after = strtoll(cursor, NULL, 10);
	if (ck_store_acme_order_ids(r.st, r.acct.id, after,
	        ACME_ORDERS_PAGE + 1, ids, &n, &err) != 0) {
		acme_prob(&p, "serverInternal", "%s", err.msg);
		acme_reply_prob(&r, &p);
		goto out;
	}
	o = json_object();
	list = json_array();
	for (size_t i = 0; i < n && i < ACME_ORDERS_PAGE; i++) {
		snprintf(
		    u, sizeof(u), "%s/order/%lld", r.base, (long long)ids[i]);
		json_array_append_new(list, json_string(u));
	}
	json_object_set_new(o, "orders", list);
	if (n > ACME_ORDERS_PAGE) {
		snprintf(link, sizeof(link),
		    "<%s/account/%lld/orders/%lld>;rel=\"next\"", r.base,
		    (long long)r.acct.id, (long long)ids[ACME_ORDERS_PAGE - 1]);
		ck_http_set_header(c, "Link", link);
	}
	acme_reply_json(&r, 200, o, NULL);
	json_decref(o);
out:
	acme_req_release(&r);
}

void
ck_acme_key_change(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	struct ck_acme_account other;
	struct ck_jwk *nk = NULL;
	char loc[700];
	int64_t id;
	int rc;

	if (acme_req_init(&r, c) != 0)
		return;
	/* the outer JWS: the account's current key, by kid */
	if (acme_req_post(&r, 0) != 0)
		goto out;
	if (acme_keychange_check(
	        r.jws.payload, r.url, r.jws.kid, r.key, &nk, &p) != 0)
		goto fail;
	/* RFC 8555 7.3.5: a key that belongs to another account is a
	 * conflict, answered with that account's URL */
	if (ck_store_acme_account_by_key(
	        r.st, r.ca, ck_jwk_thumbprint(nk), &other, &err) == 0) {
		snprintf(loc, sizeof(loc), "%s/account/%lld", r.base,
		    (long long)other.id);
		ck_acme_account_release(&other);
		ck_http_set_header(c, "Location", loc);
		acme_prob(&p, "conflict", "the new key has an account already");
		goto fail;
	}
	if ((rc = ck_store_begin(r.st, &err)) == 0) {
		rc = ck_store_acme_account_rekey(r.st, r.acct.id,
		    ck_jwk_thumbprint(nk), ck_jwk_json(nk), &err);
		if (rc == 0)
			rc = ck_store_event_add(r.st, "acme",
			    "acme.account.key_change", r.jws.kid,
			    ck_jwk_thumbprint(nk), &err);
		if (rc == 0)
			rc = ck_store_commit(r.st, &err);
		else
			ck_store_rollback(r.st);
	}
	if (rc != 0) {
		acme_prob(&p, rc == CK_E_EXISTS ? "conflict" : "serverInternal",
		    "%s", err.msg);
		goto fail;
	}
	id = r.acct.id;
	ck_acme_account_release(&r.acct);
	if (ck_store_acme_account_get(r.st, id, &r.acct, &err) != 0) {
		acme_prob(&p, "serverInternal", "%s", err.msg);
		goto fail;
	}
	{
		json_t *o = acme_account_json(&r, &r.acct);
		acme_reply_json(&r, 200, o, NULL);
		json_decref(o);
	}
	goto out;
fail:
	acme_reply_prob(&r, &p);
out:
	ck_jwk_free(nk);
	acme_req_release(&r);
}
