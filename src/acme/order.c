/*
 * ACME orders (RFC 8555 sections 7.4 to 7.6): newOrder, the order,
 * authorization and challenge resources, finalize through ck_enroll, the
 * certificate download and revokeCert through ck_revoke.
 *
 *   order:  pending --acme_authz_settle (all valid)--> ready
 *           pending | ready --(expires passed)--> invalid
 *           pending --acme_authz_settle (one invalid)--> invalid
 *           ready --ck_acme_finalize (enroll recorded)--> valid
 *   authz:  pending --acme_authz_settle--> valid | invalid
 *           pending | valid --authz_deactivate--> deactivated (its
 *           order, if pending or ready, --> invalid)
 *           pending | valid --(expires passed; authz_expire)--> expired
 *   chall:  pending --ck_acme_challenge--> processing
 *           processing --ck_acme_challenge (after validation)--> valid |
 *           invalid
 */
#include "acme/acme_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/mem.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/revoke.h"

static json_t *
rfc3339(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(s);
}

static json_t *
urlf(struct acme_req *r, const char *kind, int64_t id, const char *tail)
{
	char u[700];

	snprintf(
	    u, sizeof(u), "%s/%s/%lld%s", r->base, kind, (long long)id, tail);
	return json_string(u);
}

static int
authz_url_cb(void *ctx, const struct ck_acme_authz *a)
{
	void **arg = ctx;
	json_array_append_new(arg[1], urlf(arg[0], "authz", a->id, ""));
	return 0;
}

json_t *
acme_order_json(struct acme_req *r, const struct ck_acme_order *o, int64_t now)
{
	json_t *j = json_object(), *az = json_array();
	json_t *ids = json_loads(o->identifiers, 0, NULL);
	struct ck_err err = {0};
	void *arg[2] = {r, az};

	/* RFC 8555 7.1.3: an order past its expires that was not
	 * finalized is invalid, wherever it is shown */
	json_object_set_new(j, "status",
	    json_string(o->expires <= now &&
	                (strcmp(o->status, "pending") == 0 ||
	                    strcmp(o->status, "ready") == 0)
	            ? "invalid"
	            : o->status));
	json_object_set_new(j, "expires", rfc3339(o->expires));
	json_object_set_new(j, "identifiers", ids != NULL ? ids : json_array());
	if (o->not_before != 0)
		json_object_set_new(j, "notBefore", rfc3339(o->not_before));
	if (o->not_after != 0)
		json_object_set_new(j, "notAfter", rfc3339(o->not_after));
	ck_store_acme_authz_list(r->st, o->id, authz_url_cb, arg, &err);
	json_object_set_new(j, "authorizations", az);
	json_object_set_new(
	    j, "finalize", urlf(r, "order", o->id, "/finalize"));
	if (o->cert_id != 0 && strcmp(o->status, "valid") == 0)
		json_object_set_new(
		    j, "certificate", urlf(r, "cert", o->id, ""));
	if (o->replaces != NULL)
		json_object_set_new(j, "replaces", json_string(o->replaces));
	if (o->profile != NULL)
		json_object_set_new(j, "profile", json_string(o->profile));
	if (o->error != NULL) {
		json_t *e = json_loads(o->error, 0, NULL);
		if (e != NULL)
			json_object_set_new(j, "error", e);
	}
	return j;
}

json_t *
acme_chall_json(struct acme_req *r, const struct ck_acme_chall *ch)
{
	json_t *j = json_pack("{s:s, s:o, s:s, s:s}", "type", ch->type, "url",
	    urlf(r, "chall", ch->id, ""), "status", ch->status, "token",
	    ch->token);

	if (ch->validated != 0)
		json_object_set_new(j, "validated", rfc3339(ch->validated));
	if (ch->error[0] != '\0') {
		json_t *e = json_loads(ch->error, 0, NULL);
		if (e != NULL)
			json_object_set_new(j, "error", e);
	}
	return j;
}

static int
chall_json_cb(void *ctx, const struct ck_acme_chall *ch)
{
	void **arg = ctx;
	json_array_append_new(arg[1], acme_chall_json(arg[0], ch));
	return 0;
}

json_t *
acme_authz_json(struct acme_req *r, const struct ck_acme_authz *a)
{
	json_t *j = json_object(), *ch = json_array();
	struct ck_err err = {0};
	void *arg[2] = {r, ch};

	json_object_set_new(j, "status", json_string(a->status));
	json_object_set_new(j, "expires", rfc3339(a->expires));
	json_object_set_new(j, "identifier",
	    json_pack("{s:s, s:s}", "type", a->type, "value", a->value));
	ck_store_acme_chall_list(r->st, a->id, chall_json_cb, arg, &err);
	json_object_set_new(j, "challenges", ch);
	if (a->wildcard)
		json_object_set_new(j, "wildcard", json_true());
	return j;
}

struct settle {
	int n, valid, invalid;
};

static int
settle_cb(void *ctx, const struct ck_acme_authz *a)
{
	struct settle *s = ctx;

	s->n++;
	s->valid += strcmp(a->status, "valid") == 0;
	s->invalid += strcmp(a->status, "invalid") == 0;
	return 0;
}

int
acme_authz_settle(
    struct ck_store *st, int64_t authz_id, bool valid, struct ck_err *err)
{
	struct ck_acme_authz a;
	struct ck_acme_order o;
	struct settle s = {0};
	int rc;

	if ((rc = ck_store_acme_authz_get(st, authz_id, &a, err)) != 0)
		return rc;
	if ((rc = ck_store_acme_authz_set(
	         st, authz_id, valid ? "valid" : "invalid", err)) != 0)
		return rc;
	if ((rc = ck_store_acme_authz_list(
	         st, a.order_id, settle_cb, &s, err)) != 0)
		return rc;
	if ((rc = ck_store_acme_order_get(st, a.order_id, &o, err)) != 0)
		return rc;
	if (strcmp(o.status, "pending") == 0) {
		if (s.invalid > 0)
			rc = ck_store_acme_order_set(
			    st, o.id, "invalid", 0, NULL, err);
		else if (s.valid == s.n)
			rc = ck_store_acme_order_set(
			    st, o.id, "ready", 0, NULL, err);
	}
	ck_acme_order_release(&o);
	return rc;
}

/* A DNS name as ACME takes it: lower-case LDH labels, optional leading
 * "*." (wildcard), 253 characters at most, at least two labels. */
static bool
dns_ok(const char *v, bool *wild)
{
	size_t n = strlen(v), label = 0, dots = 0;

	*wild = false;
	if (strncmp(v, "*.", 2) == 0) {
		*wild = true;
		v += 2;
		n -= 2;
	}
	if (n == 0 || n > 253 || v[0] == '.' || v[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c == '.') {
			if (label == 0 || v[i - 1] == '-')
				return false;
			label = 0;
			dots++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        (c == '-' && label > 0)))
			return false;
		if (++label > 63)
			return false;
	}
	return dots >= 1 && v[n - 1] != '-';
}

/* Checks the identifiers of a newOrder; fills ids with the normalized
 * list. */
static int
identifiers_check(const json_t *in, json_t *ids, struct acme_prob *p)
{
	size_t i;
	json_t *v;

	if (!json_is_array(in) || json_array_size(in) == 0 ||
	    json_array_size(in) > ACME_MAX_IDENTIFIERS)
		return acme_prob(p, "malformed",
		    "identifiers must be an array of 1 to %d",
		    ACME_MAX_IDENTIFIERS);
	json_array_foreach(in, i, v)
	{
		const char *t = json_string_value(json_object_get(v, "type"));
		const char *val =
		    json_string_value(json_object_get(v, "value"));
		char canon[64];
		bool wild;
		if (t == NULL || val == NULL)
			return acme_prob(
			    p, "malformed", "identifier needs type and value");
		if (strcmp(t, "dns") == 0) {
			if (!dns_ok(val, &wild))
				return acme_prob(p, "rejectedIdentifier",
				    "%.100s is not a DNS name we take", val);
			/* a wildcard keeps its "*." here (the CSR names it
			 * so); its authorization takes the base name */
			(void)wild;
			json_array_append_new(ids,
			    json_pack(
			        "{s:s, s:s}", "type", "dns", "value", val));
		} else if (strcmp(t, "ip") == 0) {
			uint8_t a[16];
			int af = strchr(val, ':') != NULL ? AF_INET6 : AF_INET;
			if (inet_pton(af, val, a) != 1 ||
			    inet_ntop(af, a, canon, sizeof(canon)) == NULL)
				return acme_prob(p, "rejectedIdentifier",
				    "%.100s is not an IP address", val);
			json_array_append_new(ids,
			    json_pack(
			        "{s:s, s:s}", "type", "ip", "value", canon));
		} else {
			return acme_prob(p, "unsupportedIdentifier",
			    "identifier type %.20s is not supported", t);
		}
	}
	/* Duplicates would make two authorizations for one name. */
	for (size_t a = 0; a < json_array_size(ids); a++)
		for (size_t b = a + 1; b < json_array_size(ids); b++)
			if (json_equal(
			        json_array_get(ids, a), json_array_get(ids, b)))
				return acme_prob(
				    p, "malformed", "identifier listed twice");
	return 0;
}

static int
order_add(struct acme_req *r, json_t *ids, const char *replaces,
    const char *profile, int64_t *oid, struct ck_err *err)
{
	struct ck_acme_order o = {0};
	char *s = json_dumps(ids, JSON_COMPACT);
	size_t i;
	json_t *v;
	int rc;

	o.account_id = r->acct.id;
	o.identifiers = s;
	o.replaces = (char *)replaces;
	o.profile = (char *)profile;
	o.expires = r->c->now + ACME_ORDER_TTL;
	if ((rc = ck_store_begin(r->st, err)) != 0)
		goto out;
	rc = ck_store_acme_order_add(r->st, &o, r->c->now, oid, err);
	json_array_foreach(ids, i, v)
	{
		struct ck_acme_authz a = {0};
		uint8_t raw[32];
		struct ck_buf tok = CK_BUF_INIT;
		const char *val;
		int64_t aid = 0, cid;
		if (rc != 0)
			break;
		a.order_id = *oid;
		a.account_id = r->acct.id;
		snprintf(a.type, sizeof(a.type), "%s",
		    json_string_value(json_object_get(v, "type")));
		val = json_string_value(json_object_get(v, "value"));
		/* RFC 8555 7.1.4: a wildcard's authorization is for the
		 * base name, marked wildcard, and only dns-01 proves it */
		a.wildcard = strncmp(val, "*.", 2) == 0;
		snprintf(
		    a.value, sizeof(a.value), "%s", a.wildcard ? val + 2 : val);
		a.expires = o.expires;
		rc = ck_store_acme_authz_add(r->st, &a, &aid, err);
		for (size_t k = 0; k < 3 && rc == 0; k++) {
			static const char *const types[] = {
			    "http-01", "dns-01", "tls-alpn-01"};
			bool dns01 = k == 1;
			/* dns-01 is for names only (RFC 8738 7) */
			if (a.wildcard ? !dns01
			               : dns01 && strcmp(a.type, "dns") != 0)
				continue;
			/* each challenge its own token (RFC 8555 8.1) */
			ck_random_bytes(raw, sizeof(raw));
			ck_buf_reset(&tok);
			ck_b64url_encode(raw, sizeof(raw), &tok);
			rc = ck_store_acme_chall_add(
			    r->st, aid, types[k], tok.p, &cid, err);
		}
		ck_buf_release(&tok);
	}
	if (rc == 0)
		rc = acme_policy_record(r, *oid, ids, err);
	if (rc == 0)
		rc = ck_store_event_add(
		    r->st, "acme", "acme.order", r->url, s, err);
	if (rc == 0)
		rc = ck_store_commit(r->st, err);
	else
		ck_store_rollback(r->st);
out:
	free(s);
	return rc;
}

void
ck_acme_new_order(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	struct ck_acme_order o = {0};
	json_t *ids = json_array(), *j, *jr, *jp;
	int64_t oid = 0;
	char loc[700];

	if (acme_req_init(&r, c) != 0) {
		json_decref(ids);
		return;
	}
	if (acme_req_post(&r, 0) != 0)
		goto out;
	if (r.jws.payload == NULL) {
		acme_prob(&p, "malformed", "newOrder needs a payload");
		goto fail;
	}
	if (json_object_get(r.jws.payload, "notBefore") != NULL ||
	    json_object_get(r.jws.payload, "notAfter") != NULL) {
		acme_prob(&p, "malformed",
		    "notBefore and notAfter are not supported; the profile "
		    "sets the validity");
		goto fail;
	}
	if (identifiers_check(
	        json_object_get(r.jws.payload, "identifiers"), ids, &p) != 0)
		goto fail;
	if (acme_policy_names(&r, ids, &p) != 0 ||
	    acme_policy_rate(&r, ids, &p) != 0)
		goto fail;
	/* RFC 9773 5: the certificate this order renews */
	jr = json_object_get(r.jws.payload, "replaces");
	if (jr != NULL &&
	    (!json_is_string(jr) ||
	        acme_replaces_check(&r, json_string_value(jr), &p) != 0)) {
		if (!json_is_string(jr))
			acme_prob(&p, "malformed", "replaces must be a CertID");
		goto fail;
	}
	/* draft-ietf-acme-profiles: one of the profiles the directory lists */
	jp = json_object_get(r.jws.payload, "profile");
	if (jp != NULL &&
	    (!json_is_string(jp) ||
	        !acme_profile_offered(c->cfg, json_string_value(jp)))) {
		acme_prob(&p, "invalidProfile",
		    "profile %s is not offered here (the directory's "
		    "meta.profiles lists those that are)",
		    json_is_string(jp) ? json_string_value(jp)
		                       : "(not a string)");
		goto fail;
	}
	if (order_add(&r, ids, jr != NULL ? json_string_value(jr) : NULL,
	        jp != NULL ? json_string_value(jp) : NULL, &oid, &err) != 0 ||
	    ck_store_acme_order_get(r.st, oid, &o, &err) != 0) {
		acme_prob(&p, "serverInternal", "%s", err.msg);
		goto fail;
	}
	snprintf(loc, sizeof(loc), "%s/order/%lld", r.base, (long long)oid);
	j = acme_order_json(&r, &o, c->now);
	acme_reply_json(&r, 201, j, loc);
	json_decref(j);
	goto out;
fail:
	acme_reply_prob(&r, &p);
out:
	ck_acme_order_release(&o);
	json_decref(ids);
	acme_req_release(&r);
}

/* The order of the route's {id}, owned by the requesting account; on
 * failure p is filled. Expired pending orders turn invalid here. */
static int
own_order(struct acme_req *r, struct ck_acme_order *o, struct acme_prob *p)
{
	struct ck_err err = {0};
	int64_t id = strtoll(ck_http_param(r->c, 1), NULL, 10);

	if (id <= 0 || ck_store_acme_order_get(r->st, id, o, &err) != 0)
		return acme_prob(p, "notFound", "no such order");
	if (o->account_id != r->acct.id) {
		ck_acme_order_release(o);
		return acme_prob(p, "unauthorized", "not this account's order");
	}
	if (o->expires <= r->c->now && strcmp(o->status, "valid") != 0 &&
	    strcmp(o->status, "invalid") != 0)
		snprintf(o->status, sizeof(o->status), "invalid");
	return 0;
}

void
ck_acme_order(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_acme_order o = {0};
	json_t *j;

	if (acme_req_init(&r, c) != 0)
		return;
	if (acme_req_post(&r, 0) != 0)
		goto out;
	if (own_order(&r, &o, &p) != 0) {
		acme_reply_prob(&r, &p);
		goto out;
	}
	j = acme_order_json(&r, &o, c->now);
	acme_reply_json(&r, 200, j, NULL);
	json_decref(j);
out:
	ck_acme_order_release(&o);
	acme_req_release(&r);
}

/* RFC 8555 7.1.4: a pending or valid authorization past its expires is
 * expired; shown so, and it cannot be used or deactivated. */
static void
authz_expire(struct ck_acme_authz *a, int64_t now)
{
	if (a->expires <= now &&
	    (strcmp(a->status, "pending") == 0 ||
	        strcmp(a->status, "valid") == 0))
		snprintf(a->status, sizeof(a->status), "expired");
}

/*
 * RFC 8555 7.5.2: {"status": "deactivated"} ends a pending or valid
 * authorization; an order still waiting on it (pending or ready) turns
 * invalid, since it can never be finalized now. On success a is the
 * updated row.
 */
static int
authz_deactivate(struct acme_req *r, struct ck_acme_authz *a,
    const json_t *payload, struct acme_prob *p)
{
	const char *st = json_string_value(json_object_get(payload, "status"));
	struct ck_acme_order o = {0};
	struct ck_err err = {0};
	int rc;

	if (json_object_size(payload) == 0)
		return 0; /* {} : a read, as some clients send it */
	if (st == NULL || strcmp(st, "deactivated") != 0)
		return acme_prob(
		    p, "malformed", "an authorization can only be deactivated");
	if (strcmp(a->status, "pending") != 0 &&
	    strcmp(a->status, "valid") != 0)
		return acme_prob(
		    p, "malformed", "authorization is %s", a->status);
	if ((rc = ck_store_begin(r->st, &err)) == 0) {
		rc = ck_store_acme_authz_set(r->st, a->id, "deactivated", &err);
		if (rc == 0)
			rc = ck_store_acme_order_get(
			    r->st, a->order_id, &o, &err);
		if (rc == 0 &&
		    (strcmp(o.status, "pending") == 0 ||
		        strcmp(o.status, "ready") == 0))
			rc = ck_store_acme_order_set(
			    r->st, o.id, "invalid", 0, NULL, &err);
		if (rc == 0)
			rc = ck_store_event_add(r->st, "acme",
			    "acme.authz.deactivate", r->url, a->value, &err);
		if (rc == 0)
			rc = ck_store_commit(r->st, &err);
		else
			ck_store_rollback(r->st);
	}
	ck_acme_order_release(&o);
	if (rc != 0)
		return acme_prob(p, "serverInternal", "%s", err.msg);
	snprintf(a->status, sizeof(a->status), "deactivated");
	return 0;
}

void
ck_acme_authz(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	struct ck_acme_authz a;
	int64_t id;
	json_t *j;

	if (acme_req_init(&r, c) != 0)
		return;
	if (acme_req_post(&r, 0) != 0)
		goto out;
	id = strtoll(ck_http_param(c, 1), NULL, 10);
	if (id <= 0 || ck_store_acme_authz_get(r.st, id, &a, &err) != 0) {
		acme_prob(&p, "notFound", "no such authorization");
		acme_reply_prob(&r, &p);
		goto out;
	}
	if (a.account_id != r.acct.id) {
		acme_prob(
		    &p, "unauthorized", "not this account's authorization");
		acme_reply_prob(&r, &p);
		goto out;
	}
	authz_expire(&a, c->now);
	if (r.jws.payload != NULL &&
	    authz_deactivate(&r, &a, r.jws.payload, &p) != 0) {
		acme_reply_prob(&r, &p);
		goto out;
	}
	j = acme_authz_json(&r, &a);
	acme_reply_json(&r, 200, j, NULL);
	json_decref(j);
out:
	acme_req_release(&r);
}

/* Records a validation's outcome: the challenge, its authorization and
 * maybe the order, in one transaction. p NULL: valid. */
static int
settle(struct ck_store *st, const struct ck_acme_chall *ch,
    const struct ck_acme_authz *a, const struct acme_prob *p, int64_t now,
    struct ck_err *err)
{
	json_t *e = p != NULL ? acme_prob_json(p) : NULL;
	char *es = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;
	int rc = ck_store_begin(st, err);

	if (rc == 0)
		rc = ck_store_acme_chall_set(st, ch->id,
		    p == NULL ? "valid" : "invalid", p == NULL ? now : 0, es,
		    err);
	if (rc == 0)
		rc = acme_authz_settle(st, a->id, p == NULL, err);
	if (rc == 0)
		rc = ck_store_commit(st, err);
	else
		ck_store_rollback(st);
	free(es);
	json_decref(e);
	return rc;
}

void
ck_acme_challenge(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_err err = {0};
	struct ck_acme_authz a;
	struct ck_acme_chall ch;
	struct acme_validate_cfg vc;
	struct ck_store *st = c->st;
	char keyauth[128];
	int64_t id, now = c->now;
	bool start;
	json_t *j;
	int rc;

	if (acme_req_init(&r, c) != 0)
		return;
	if (acme_req_post(&r, 0) != 0)
		goto out;
	id = strtoll(ck_http_param(c, 1), NULL, 10);
	if (id <= 0 || ck_store_acme_chall_get(r.st, id, &ch, &err) != 0 ||
	    ck_store_acme_authz_get(r.st, ch.authz_id, &a, &err) != 0) {
		acme_prob(&p, "notFound", "no such challenge");
		acme_reply_prob(&r, &p);
		goto out;
	}
	if (a.account_id != r.acct.id) {
		acme_prob(&p, "unauthorized", "not this account's challenge");
		acme_reply_prob(&r, &p);
		goto out;
	}
	authz_expire(&a, now);
	/* an authorization that can no longer be won (expired,
	 * deactivated, invalid) takes no new validation */
	if (r.jws.payload != NULL && strcmp(ch.status, "pending") == 0 &&
	    strcmp(a.status, "pending") != 0 &&
	    strcmp(a.status, "valid") != 0) {
		acme_prob(&p, "malformed", "authorization is %s", a.status);
		acme_reply_prob(&r, &p);
		goto out;
	}
	/* POST-as-GET reads it; a payload ({}) starts the validation. */
	start = r.jws.payload != NULL && strcmp(ch.status, "pending") == 0 &&
	    strcmp(a.status, "pending") == 0;
	if (start) {
		/* one validation per challenge, even when two requests race */
		rc = ck_store_acme_chall_start(r.st, ch.id, &err);
		if (rc == CK_E_EXISTS) {
			start = false;
			rc = ck_store_acme_chall_get(r.st, ch.id, &ch, &err);
		}
		if (rc != 0) {
			acme_prob(&p, "serverInternal", "%s", err.msg);
			acme_reply_prob(&r, &p);
			goto out;
		}
		if (start)
			snprintf(ch.status, sizeof(ch.status), "processing");
	}
	snprintf(keyauth, sizeof(keyauth), "%s.%s", ch.token,
	    ck_jwk_thumbprint(r.key));
	vc.http01_port = (int)ck_config_int(c->cfg, CK_CFG_ACME_HTTP01_PORT);
	vc.tlsalpn_port = (int)ck_config_int(c->cfg, CK_CFG_ACME_TLSALPN_PORT);
	vc.timeout_ms = 10000;
	if (acme_resolver_parse(ck_config_str(c->cfg, CK_CFG_ACME_RESOLVER),
	        &vc.resolver) != 0) {
		/* the daemon checks it at start; a bad value is ours */
		acme_prob(&p, "serverInternal", "[acme] resolver unusable");
		acme_reply_prob(&r, &p);
		goto out;
	}
	snprintf(r.up, sizeof(r.up), "%s/authz/%lld", r.base, (long long)a.id);
	/* The validation runs here, in a job thread (the route is slow),
	 * before the answer: the client then sees the outcome at once
	 * instead of polling for it. */
	if (start) {
		if (strcmp(ch.type, "tls-alpn-01") == 0)
			rc = acme_validate_tlsalpn01(
			    &vc, a.type, a.value, keyauth, &p);
		else if (strcmp(ch.type, "dns-01") == 0)
			rc = acme_validate_dns01(&vc, a.value, keyauth, &p);
		else
			rc = acme_validate_http01(
			    &vc, a.value, ch.token, keyauth, &p);
		if (settle(st, &ch, &a, rc == 0 ? NULL : &p, now, &err) != 0) {
			acme_prob(&p, "serverInternal", "%s", err.msg);
			acme_reply_prob(&r, &p);
			goto out;
		}
		ck_log(CK_LOG_INFO, "acme: %s %s %s: %s", ch.type, a.value,
		    rc == 0 ? "valid" : "invalid", rc == 0 ? "ok" : p.detail);
		if (ck_store_acme_chall_get(st, ch.id, &ch, &err) != 0) {
			acme_prob(&p, "serverInternal", "%s", err.msg);
			acme_reply_prob(&r, &p);
			goto out;
		}
	}
	j = acme_chall_json(&r, &ch);
	acme_reply_json(&r, 200, j, NULL);
	json_decref(j);
out:
	acme_req_release(&r);
}
