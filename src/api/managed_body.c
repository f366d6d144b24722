/*
 * The JSON bodies of the issuer and managed-certificate routes, decoded
 * into the lifecycle layer's structs. Pure functions of a parsed object
 * (no store, no request), so that the unit tests and the HTTP fuzzer
 * reach every check; the lifecycle functions check the meaning again.
 */
#include "api/body.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "x509/x509.h"

const char *const ck_api_issuer_fields[] = {"name", "type", "ca", "profile",
    "directory", "email", "eab_kid", "eab_hmac", "trust_pem", "challenge",
    "http01_listen", "webroot", "dns_hook", "dns_wait", "tlsalpn_listen",
    "preferred_chain", "command", "timeout", NULL};

const char *const ck_api_manage_fields[] = {"name", "issuer", "sans", "cn",
    "key_type", "profile", "days", "renew_at_percent", "renew_before",
    "reuse_key", "owner", "contact", "tags", "key_out", "cert_out",
    "fullchain_out", NULL};

const char *const ck_api_move_fields[] = {
    "filter", "to_issuer", "key_type", "rate", NULL};

const char *const ck_api_filter_fields[] = {
    "issuer", "state", "owner", "tag", "san", NULL};

/* A string field of at most max bytes; NULL when absent and optional. */
static int
str(json_t *j, const char *key, bool required, size_t max, const char **out,
    struct ck_err *err)
{
	int r;

	if ((r = ck_api_json_str(j, key, required, out, err)) != 0)
		return r;
	if (*out != NULL && strlen(*out) > max)
		return ck_err_set(err, CK_E_INVAL,
		    "field '%s' is longer than %zu bytes", key, max);
	if (*out != NULL && required && **out == '\0')
		return ck_err_set(err, CK_E_INVAL, "field '%s' is empty", key);
	return 0;
}

/* A duration: a string such as "30d" or "90s", or whole seconds. */
static int
duration(json_t *j, const char *key, int64_t min, int64_t max, int64_t *out,
    struct ck_err *err)
{
	json_t *v = json_object_get(j, key);
	int64_t d;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		d = json_integer_value(v);
	else if (!json_is_string(v) ||
	    ck_duration_parse(json_string_value(v), &d) != 0)
		return ck_err_set(err, CK_E_INVAL,
		    "field '%s': want a duration (90s, 12h, 30d) or seconds",
		    key);
	if (d < min || d > max)
		return ck_err_set(err, CK_E_INVAL,
		    "field '%s': want %lld to %lld seconds", key,
		    (long long)min, (long long)max);
	*out = d;
	return 0;
}

/* ---- issuers ---- */

/* The string settings, where they go in the definition, their bound and
 * the issuer types they apply to ("" for every type). */
static const struct {
	const char *key;
	size_t off;
	size_t max;
	const char *types;
} def_strings[] = {
    {"ca", offsetof(struct ck_issuer_def, ca), 64, "local"},
    {"profile", offsetof(struct ck_issuer_def, profile), 64, "local"},
    {"directory", offsetof(struct ck_issuer_def, directory), 1024, "acme"},
    {"email", offsetof(struct ck_issuer_def, email), 256, "acme"},
    {"eab_kid", offsetof(struct ck_issuer_def, eab_kid), 256, "acme"},
    {"trust_pem", offsetof(struct ck_issuer_def, trust_pem), 256 * 1024,
        "acme"},
    {"challenge", offsetof(struct ck_issuer_def, challenge), 16, "acme"},
    {"http01_listen", offsetof(struct ck_issuer_def, http01_listen), 256,
        "acme"},
    {"webroot", offsetof(struct ck_issuer_def, webroot), 1024, "acme"},
    {"dns_hook", offsetof(struct ck_issuer_def, dns_hook), 4096, "acme"},
    {"tlsalpn_listen", offsetof(struct ck_issuer_def, tlsalpn_listen), 256,
        "acme"},
    {"preferred_chain", offsetof(struct ck_issuer_def, preferred_chain), 256,
        "acme"},
    {"command", offsetof(struct ck_issuer_def, command), 4096, "command"},
};

/* Refuses a field that the issuer's type would ignore: a setting that
 * silently does nothing is a typo the caller never learns about. */
static int
applies(
    const char *type, const char *key, const char *types, struct ck_err *err)
{
	if (type == NULL ||
	    (strcmp(type, "local") != 0 && strcmp(type, "acme") != 0 &&
	        strcmp(type, "command") != 0))
		return 0; /* the lifecycle layer names the bad type */
	if (strcmp(type, types) == 0)
		return 0;
	return ck_err_set(err, CK_E_INVAL,
	    "field '%s' does not apply to a %s issuer", key, type);
}

/* base64url (RFC 4648 section 5, padding optional) to bytes. */
static int
b64url(const char *s, struct ck_buf *out, struct ck_err *err)
{
	struct ck_buf t = CK_BUF_INIT;
	size_t n = strlen(s);
	int r = 0;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n == 0 || n > 1024) {
		r = ck_err_set(err, CK_E_INVAL,
		    "field 'eab_hmac': want 1 to 1024 base64url characters");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		             (c >= '0' && c <= '9'))) {
			r = ck_err_set(
			    err, CK_E_INVAL, "field 'eab_hmac': not base64url");
			goto out;
		}
		ck_buf_addc(&t, c);
	}
	while (t.len % 4 != 0)
		ck_buf_addc(&t, '=');
	if (t.len % 4 == 1 || !ck_base64_decode(t.p, t.len, out) ||
	    out->len == 0)
		r = ck_err_set(
		    err, CK_E_INVAL, "field 'eab_hmac': not base64url");
out:
	ck_buf_release_secret(&t);
	return r;
}

static int
issuer_decode(json_t *j, struct ck_issuer_def *d, struct ck_err *err)
{
	const char *name, *type, *v;
	int r;

	if ((r = str(j, "name", true, 64, &name, err)) != 0 ||
	    (r = str(j, "type", true, 16, &type, err)) != 0)
		return r;
	d->name = ck_strdup(name);
	d->type = ck_strdup(type);
	for (size_t i = 0; i < sizeof(def_strings) / sizeof(def_strings[0]);
	     i++) {
		if ((r = str(j, def_strings[i].key, false, def_strings[i].max,
		         &v, err)) != 0)
			return r;
		if (v == NULL)
			continue;
		if ((r = applies(type, def_strings[i].key, def_strings[i].types,
		         err)) != 0)
			return r;
		*(char **)((char *)d + def_strings[i].off) = ck_strdup(v);
	}
	if ((r = duration(j, "dns_wait", 0, 3600, &d->dns_wait, err)) != 0 ||
	    (d->dns_wait > 0 &&
	        (r = applies(type, "dns_wait", "acme", err)) != 0))
		return r;
	if ((r = duration(j, "timeout", 1, 86400, &d->timeout, err)) != 0 ||
	    (d->timeout > 0 &&
	        (r = applies(type, "timeout", "command", err)) != 0))
		return r;
	if ((r = str(j, "eab_hmac", false, 4096, &v, err)) != 0 || v == NULL)
		return r;
	if ((r = applies(type, "eab_hmac", "acme", err)) != 0)
		return r;
	return b64url(v, &d->eab_hmac, err);
}

int
ck_api_issuer_decode(json_t *j, struct ck_issuer_def *d, struct ck_err *err)
{
	json_t *h = json_object_get(j, "eab_hmac");
	int r;

	memset(d, 0, sizeof(*d));
	r = issuer_decode(j, d, err);
	/* Wiped whatever happened above: the key must not outlive the
	 * request in freed memory. */
	if (json_is_string(h))
		ck_cleanse((char *)json_string_value(h), json_string_length(h));
	return r;
}

/* ---- managed certificates ---- */

/* An output file: absolute (the server's working folder means nothing to
 * the caller), without ".." segments or control characters. */
static int
out_path(json_t *j, const char *key, const char **out, struct ck_err *err)
{
	const char *p;
	int r;

	if ((r = str(j, key, false, 1024, out, err)) != 0 || *out == NULL)
		return r;
	p = *out;
	if (*p == '\0') {
		*out = NULL; /* "" means no file, as the store keeps it */
		return 0;
	}
	if (p[0] != '/')
		return ck_err_set(
		    err, CK_E_INVAL, "field '%s': want an absolute path", key);
	for (const char *s = p; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return ck_err_set(err, CK_E_INVAL,
			    "field '%s': control character in the path", key);
	for (const char *s = p; (s = strstr(s, "/..")) != NULL; s += 3)
		if (s[3] == '/' || s[3] == '\0')
			return ck_err_set(err, CK_E_INVAL,
			    "field '%s': '..' in the path", key);
	return 0;
}

/* tags: "a,b" or ["a", "b"]. */
static int
tags(json_t *j, struct ck_api_manage_body *b, struct ck_err *err)
{
	json_t *v = json_object_get(j, "tags"), *t;
	size_t i;

	if (v == NULL || json_is_null(v) || json_is_string(v))
		return str(j, "tags", false, 1024, &b->s.tags, err);
	if (!json_is_array(v) || json_array_size(v) > 32)
		return ck_err_set(err, CK_E_INVAL,
		    "field 'tags': want a string or an array of at most 32 "
		    "strings");
	json_array_foreach(v, i, t)
	{
		const char *s = json_string_value(t);
		if (s == NULL || *s == '\0' || strlen(s) > 64 ||
		    strlen(s) != json_string_length(t) || strchr(s, ','))
			return ck_err_set(err, CK_E_INVAL,
			    "field 'tags': each tag 1 to 64 bytes, no ','");
		if (i > 0)
			ck_buf_addc(&b->tags, ',');
		ck_buf_adds(&b->tags, s);
	}
	ck_buf_addc(&b->tags, '\0');
	b->s.tags = b->tags.p;
	return 0;
}

static int
sans(json_t *j, struct ck_api_manage_body *b, struct ck_err *err)
{
	json_t *v = json_object_get(j, "sans"), *t;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > CK_API_MAX_SANS)
		return ck_err_set(err, CK_E_INVAL,
		    "field 'sans': want an array of at most %d names",
		    CK_API_MAX_SANS);
	json_array_foreach(v, i, t)
	{
		const char *s = json_string_value(t);
		if (s == NULL || strlen(s) != json_string_length(t) ||
		    strlen(s) > 260)
			return ck_err_set(err, CK_E_INVAL,
			    "field 'sans': want strings (DNS:x, IP:y or a "
			    "name)");
		b->sans[b->s.n_sans++] = s;
	}
	return 0;
}

int
ck_api_manage_decode(
    json_t *j, struct ck_api_manage_body *b, struct ck_err *err)
{
	struct ck_manage_spec *s = &b->s;
	json_t *v;
	int r;

	memset(b, 0, sizeof(*b));
	s->sans = b->sans;
	if ((r = str(j, "name", true, 128, &s->name, err)) != 0 ||
	    (r = str(j, "issuer", true, 64, &s->issuer, err)) != 0 ||
	    (r = str(j, "cn", false, 64, &s->cn, err)) != 0 ||
	    (r = str(j, "key_type", false, 16, &s->key_type, err)) != 0 ||
	    (r = str(j, "profile", false, 64, &s->profile, err)) != 0 ||
	    (r = str(j, "owner", false, 256, &s->owner, err)) != 0 ||
	    (r = str(j, "contact", false, 256, &s->contact, err)) != 0 ||
	    (r = out_path(j, "key_out", &s->key_out, err)) != 0 ||
	    (r = out_path(j, "cert_out", &s->cert_out, err)) != 0 ||
	    (r = out_path(j, "fullchain_out", &s->fullchain_out, err)) != 0 ||
	    (r = sans(j, b, err)) != 0 || (r = tags(j, b, err)) != 0 ||
	    (r = duration(j, "renew_before", 1, 3650 * 86400LL,
	         &s->renew_before, err)) != 0)
		return r;
	b->has_files = s->key_out || s->cert_out || s->fullchain_out;
	if (s->n_sans == 0 && s->cn == NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "at least one name is needed: 'sans' or 'cn'");
	if ((v = json_object_get(j, "days")) != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 3650)
			return ck_err_set(err, CK_E_INVAL,
			    "field 'days': want a whole number from 1 to "
			    "3650");
		s->days = (int)json_integer_value(v);
	}
	if ((v = json_object_get(j, "renew_at_percent")) != NULL &&
	    !json_is_null(v)) {
		double pct = json_number_value(v);
		if (!json_is_number(v) || !isfinite(pct) || pct < 0.1 ||
		    pct > 99.9)
			return ck_err_set(err, CK_E_INVAL,
			    "field 'renew_at_percent': want a number from 0.1 "
			    "to 99.9");
		if (s->renew_before > 0)
			return ck_err_set(err, CK_E_INVAL,
			    "give 'renew_at_percent' or 'renew_before', not "
			    "both");
		s->renew_frac = (int)(pct * 10 + 0.5);
	}
	if ((v = json_object_get(j, "reuse_key")) != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return ck_err_set(err, CK_E_INVAL,
			    "field 'reuse_key': want true or false");
		s->reuse_key = json_is_true(v);
	}
	return 0;
}

void
ck_api_manage_body_release(struct ck_api_manage_body *b)
{
	ck_buf_release(&b->tags);
}

bool
ck_api_managed_state_ok(const char *s)
{
	return strcmp(s, "pending") == 0 || strcmp(s, "active") == 0 ||
	    strcmp(s, "failing") == 0 || strcmp(s, "retired") == 0;
}

int
ck_api_filter_decode(json_t *j, struct ck_managed_filter *f, struct ck_err *err)
{
	const char *k;
	json_t *v;
	int r;

	memset(f, 0, sizeof(*f));
	if (!json_is_object(j))
		return ck_err_set(
		    err, CK_E_INVAL, "field 'filter': want an object");
	json_object_foreach(j, k, v)
	{
		size_t i = 0;
		while (ck_api_filter_fields[i] != NULL &&
		    strcmp(ck_api_filter_fields[i], k) != 0)
			i++;
		if (ck_api_filter_fields[i] == NULL)
			return ck_err_set(err, CK_E_INVAL,
			    "filter: unknown field '%.64s'", k);
	}
	if ((r = str(j, "issuer", false, 64, &f->issuer, err)) != 0 ||
	    (r = str(j, "state", false, 16, &f->state, err)) != 0 ||
	    (r = str(j, "owner", false, 256, &f->owner, err)) != 0 ||
	    (r = str(j, "tag", false, 64, &f->tag, err)) != 0 ||
	    (r = str(j, "san", false, 260, &f->san, err)) != 0)
		return r;
	if (f->state != NULL && !ck_api_managed_state_ok(f->state))
		return ck_err_set(err, CK_E_INVAL,
		    "state '%.16s': pending, active, failing or retired",
		    f->state);
	return 0;
}

int
ck_api_move_decode(json_t *j, struct ck_api_move *mv, struct ck_err *err)
{
	json_t *v;
	int r;

	memset(mv, 0, sizeof(*mv));
	mv->rate = 10;
	/* The filter is required, so that "move everything" is said with
	 * an empty object, never by leaving a field out. */
	if ((v = json_object_get(j, "filter")) == NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "field 'filter' is required ({} for every managed "
		    "certificate)");
	if ((r = ck_api_filter_decode(v, &mv->f, err)) != 0 ||
	    (r = str(j, "to_issuer", false, 64, &mv->to_issuer, err)) != 0 ||
	    (r = str(j, "key_type", false, 16, &mv->key_type, err)) != 0)
		return r;
	if (mv->to_issuer == NULL && mv->key_type == NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "nothing to change: give 'to_issuer' or 'key_type'");
	if ((v = json_object_get(j, "rate")) != NULL && !json_is_null(v)) {
		mv->rate = json_number_value(v);
		if (!json_is_number(v) || !isfinite(mv->rate) ||
		    mv->rate < 0.001 || mv->rate > 10000)
			return ck_err_set(err, CK_E_INVAL,
			    "field 'rate': want renewals per second, 0.001 to "
			    "10000");
	}
	return 0;
}
