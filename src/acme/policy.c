/*
 * Policy at the ACME server's door, before an order exists: which names
 * may be asked for (the [acme] allowed_domains suffixes, and those of the
 * account's External Account Binding key), how many in one order, and
 * how many orders per account and per registered domain (the public
 * suffix list's, through libpsl) in any hour. The counts come from the
 * database, so every node of a cluster enforces the same limits.
 */
#include "acme/acme_int.h"

#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"

#define RATE_WINDOW 3600

bool
acme_name_allowed(const char *name, const char *suffixes)
{
	size_t n = strlen(name);

	if (suffixes[0] == '\0')
		return true;
	for (const char *q = suffixes; *q != '\0';) {
		size_t l = strcspn(q, ","), a = 0, b = l;
		while (a < b && q[a] == ' ')
			a++;
		while (b > a && q[b - 1] == ' ')
			b--;
		/* equal, or a whole label boundary before the suffix:
		 * "xexample.com" is not under "example.com" */
		if (b > a &&
		    ((n == b - a && strncasecmp(name, q + a, n) == 0) ||
		        (n > b - a && name[n - (b - a) - 1] == '.' &&
		            strncasecmp(name + n - (b - a), q + a, b - a) ==
		                0)))
			return true;
		q += l + (q[l] == ',');
	}
	return false;
}

/* The registered domain of a DNS identifier ("*." dropped); NULL for a
 * public suffix itself. Borrowed from libpsl's built-in list. */
static const char *
registered(const char *value)
{
	if (strncmp(value, "*.", 2) == 0)
		value += 2;
	return psl_registrable_domain(psl_builtin(), value);
}

int
acme_policy_names(struct acme_req *r, const json_t *ids, struct acme_prob *p)
{
	const char *global =
	    ck_config_str(r->c->cfg, CK_CFG_ACME_ALLOWED_DOMAINS);
	int64_t max = ck_config_int(r->c->cfg, CK_CFG_ACME_MAX_NAMES);
	struct ck_buf eab = CK_BUF_INIT;
	struct ck_err err = {0};
	size_t i;
	json_t *v;
	int rc = -1;

	if ((int64_t)json_array_size(ids) > max)
		return acme_prob(p, "rejectedIdentifier",
		    "an order may name %lld identifiers at most, not %zu",
		    (long long)max, json_array_size(ids));
	/* the EAB key the account was made with may narrow the names */
	if (r->acct.eab_kid[0] != '\0' &&
	    ck_store_acme_eab_allow_get(r->st, r->acct.eab_kid, &eab, &err) !=
	        0) {
		acme_prob(p, "serverInternal", "%s", err.msg);
		goto out;
	}
	json_array_foreach(ids, i, v)
	{
		const char *val =
		    json_string_value(json_object_get(v, "value"));
		const char *name = strncmp(val, "*.", 2) == 0 ? val + 2 : val;
		if (!acme_name_allowed(name, global)) {
			acme_prob(p, "rejectedIdentifier",
			    "%.100s is not under the server's allowed domains",
			    val);
			goto out;
		}
		if (eab.len > 0 && !acme_name_allowed(name, eab.p)) {
			acme_prob(p, "rejectedIdentifier",
			    "%.100s is not allowed for this account's key %s",
			    val, r->acct.eab_kid);
			goto out;
		}
	}
	rc = 0;
out:
	ck_buf_release(&eab);
	return rc;
}

/* A limit hit: the problem, and Retry-After when the oldest order in the
 * window drops out of it. */
static int
limited(struct acme_req *r, int64_t oldest, struct acme_prob *p,
    const char *what, long long limit)
{
	char ra[24];
	int64_t wait = oldest + RATE_WINDOW - r->c->now;

	snprintf(ra, sizeof(ra), "%lld", (long long)(wait > 0 ? wait : 1));
	ck_http_set_header(r->c, "Retry-After", ra);
	return acme_prob(p, "rateLimited",
	    "%.100s: %lld new orders an hour at most; retry after %s s", what,
	    limit, ra);
}

int
acme_policy_rate(struct acme_req *r, const json_t *ids, struct acme_prob *p)
{
	int64_t per_acct =
	    ck_config_int(r->c->cfg, CK_CFG_ACME_ORDERS_PER_HOUR);
	int64_t per_dom =
	    ck_config_int(r->c->cfg, CK_CFG_ACME_DOMAIN_ORDERS_PER_HOUR);
	int64_t since = r->c->now - RATE_WINDOW + 1, n, oldest;
	struct ck_err err = {0};
	size_t i;
	json_t *v;

	if (per_acct > 0) {
		if (ck_store_acme_orders_since(
		        r->st, r->acct.id, since, &n, &oldest, &err) != 0)
			return acme_prob(p, "serverInternal", "%s", err.msg);
		if (n >= per_acct)
			return limited(r, oldest, p, "this account", per_acct);
	}
	if (per_dom <= 0)
		return 0;
	json_array_foreach(ids, i, v)
	{
		const char *d;
		if (strcmp(json_string_value(json_object_get(v, "type")),
		        "dns") != 0 ||
		    (d = registered(json_string_value(
		         json_object_get(v, "value")))) == NULL)
			continue;
		if (ck_store_acme_domain_orders_since(
		        r->st, d, since, &n, &oldest, &err) != 0)
			return acme_prob(p, "serverInternal", "%s", err.msg);
		if (n >= per_dom)
			return limited(r, oldest, p, d, per_dom);
	}
	return 0;
}

int
acme_policy_record(
    struct acme_req *r, int64_t order_id, const json_t *ids, struct ck_err *err)
{
	size_t i, k;
	json_t *v, *w;
	int rc = 0;

	/* each registered domain once per order, even with many names
	 * under it */
	json_array_foreach(ids, i, v)
	{
		const char *d;
		bool seen = false;
		if (strcmp(json_string_value(json_object_get(v, "type")),
		        "dns") != 0 ||
		    (d = registered(json_string_value(
		         json_object_get(v, "value")))) == NULL)
			continue;
		json_array_foreach(ids, k, w)
		{
			const char *e;
			if (k >= i)
				break;
			if (strcmp(
			        json_string_value(json_object_get(w, "type")),
			        "dns") == 0 &&
			    (e = registered(json_string_value(
			         json_object_get(w, "value")))) != NULL &&
			    strcmp(e, d) == 0)
				seen = true;
		}
		if (!seen &&
		    (rc = ck_store_acme_order_domain_add(
		         r->st, order_id, d, r->c->now, err)) != 0)
			break;
	}
	return rc;
}
