/*
 * Issuer connectors by name: checked, stored (secrets sealed under the
 * master key, bound to the issuer's name) and loaded back for a connector.
 * The non-secret settings are one JSON object in the row, so that a new
 * connector type adds keys without a migration.
 */
#include "lifecycle/managed.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "x509/x509.h"

/* The string settings kept in the config JSON, by key. */
/* clang-format off */
#define DEF_STRINGS(X) \
	X(ca) X(profile) X(directory) X(email) X(eab_kid) X(trust_pem) \
	X(challenge) X(http01_listen) X(webroot) X(dns_hook) \
	X(tlsalpn_listen) X(preferred_chain) X(profile_name) X(command)
/* clang-format on */

static bool
name_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		        *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int
ca_found(void *ctx, const struct ck_ca_row *ca)
{
	(void)ca;
	*(bool *)ctx = true;
	return 0;
}

static int
check_def(
    struct ck_store *st, const struct ck_issuer_def *d, struct ck_err *err)
{
	if (!name_ok(d->name))
		return ck_err_set(err, CK_E_INVAL,
		    "issuer name '%s': use 1-64 of a-z, 0-9, '-', '_', '.'",
		    d->name ? d->name : "");
	if (d->type == NULL)
		return ck_err_set(err, CK_E_INVAL, "issuer type missing");
	if (strcmp(d->type, "local") == 0) {
		bool found = false;
		struct ck_err e2 = {0};

		if (d->ca == NULL)
			return ck_err_set(err, CK_E_INVAL,
			    "a local issuer needs --ca (a built-in CA)");
		if (ck_store_ca_get(st, d->ca, ca_found, &found, &e2) != 0 ||
		    !found)
			return ck_err_set(err, CK_E_INVAL,
			    "no built-in CA '%s' (certkeep ca list)", d->ca);
		if (d->profile != NULL && ck_profile_find(d->profile) == NULL)
			return ck_err_set(err, CK_E_INVAL,
			    "unknown profile '%s'", d->profile);
		return 0;
	}
	if (ck_issuer_ops_find(d->type) == NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "unknown issuer type '%s' (local, acme, command)", d->type);
	if (strcmp(d->type, "command") == 0 &&
	    (d->command == NULL || d->command[0] == '\0'))
		return ck_err_set(
		    err, CK_E_INVAL, "a command issuer needs --command CMD");
	if (strcmp(d->type, "acme") == 0) {
		if (d->directory == NULL ||
		    strncmp(d->directory, "https://", 8) != 0)
			return ck_err_set(err, CK_E_INVAL,
			    "an acme issuer needs --directory https://...");
		if ((d->eab_kid == NULL) != (d->eab_hmac.len == 0))
			return ck_err_set(err, CK_E_INVAL,
			    "External Account Binding needs both --eab-kid "
			    "and --eab-hmac-file");
		if (d->challenge != NULL &&
		    strcmp(d->challenge, "http-01") != 0 &&
		    strcmp(d->challenge, "dns-01") != 0 &&
		    strcmp(d->challenge, "tls-alpn-01") != 0)
			return ck_err_set(err, CK_E_INVAL,
			    "challenge '%s': http-01, dns-01 or tls-alpn-01",
			    d->challenge);
		if (d->challenge != NULL &&
		    strcmp(d->challenge, "dns-01") == 0 && d->dns_hook == NULL)
			return ck_err_set(
			    err, CK_E_INVAL, "dns-01 needs --dns-hook COMMAND");
		if (d->trust_pem != NULL &&
		    strstr(d->trust_pem, "-----BEGIN CERTIFICATE-----") == NULL)
			return ck_err_set(err, CK_E_INVAL,
			    "--trust: no PEM certificate in it");
	}
	return 0;
}

static char *
config_json(const struct ck_issuer_def *d)
{
	json_t *o = json_object();
	char *s;

#define PUT(k)            \
	if (d->k != NULL) \
		json_object_set_new(o, #k, json_string(d->k));
	DEF_STRINGS(PUT)
#undef PUT
	if (d->dns_wait > 0)
		json_object_set_new(o, "dns_wait", json_integer(d->dns_wait));
	if (d->timeout > 0)
		json_object_set_new(o, "timeout", json_integer(d->timeout));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* Seals the secrets of d as JSON, or leaves out empty when there are none. */
static int
seal_secrets(const struct ck_issuer_def *d, const char *master_key,
    struct ck_buf *out, struct ck_err *err)
{
	uint8_t mk[CK_MASTER_KEY_LEN];
	struct ck_buf b64 = CK_BUF_INIT, plain = CK_BUF_INIT;
	char aad[128];
	json_t *o;
	char *s;
	int r;

	if (d->eab_hmac.len == 0 && d->account_key_pem.len == 0)
		return 0;
	o = json_object();
	if (d->eab_hmac.len > 0) {
		ck_base64_encode(
		    (const uint8_t *)d->eab_hmac.p, d->eab_hmac.len, &b64);
		json_object_set_new(
		    o, "eab_hmac", json_stringn(b64.p, b64.len));
	}
	if (d->account_key_pem.len > 0)
		json_object_set_new(o, "account_key",
		    json_stringn((const char *)d->account_key_pem.p,
		        d->account_key_pem.len));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	ck_buf_add(&plain, s, strlen(s));
	ck_cleanse(s, strlen(s));
	free(s);
	snprintf(aad, sizeof(aad), "issuer:%s", d->name);
	if ((r = ck_master_key_load(
	         ck_master_key_path(master_key), true, mk, err)) == 0)
		r = ck_seal(
		    mk, aad, (const uint8_t *)plain.p, plain.len, out, err);
	ck_cleanse(mk, sizeof(mk));
	ck_buf_release_secret(&plain);
	ck_buf_release_secret(&b64);
	return r;
}

int
ck_issuer_create(struct ck_store *st, const struct ck_issuer_def *d,
    const char *master_key, const char *actor, struct ck_err *err)
{
	struct ck_buf sealed = CK_BUF_INIT;
	struct ck_issuer_row row = {0};
	char detail[256];
	char *cfg = NULL;
	int r;

	if ((r = check_def(st, d, err)) != 0)
		return r;
	if ((r = seal_secrets(d, master_key, &sealed, err)) != 0)
		return r;
	cfg = config_json(d);
	row.name = d->name;
	row.type = d->type;
	row.config = cfg;
	row.secrets = sealed.len ? (const uint8_t *)sealed.p : NULL;
	row.secrets_len = sealed.len;
	row.account_url = d->account_url;
	row.created = ck_now();
	row.actor = actor;
	snprintf(detail, sizeof(detail), "type %s", d->type);
	if ((r = ck_store_begin(st, err)) == 0) {
		if ((r = ck_store_issuer_add(st, &row, NULL, err)) == 0 &&
		    (r = ck_store_event_add(
		         st, actor, "issuer.add", d->name, detail, err)) == 0)
			r = ck_store_commit(st, err);
		if (r != 0)
			ck_store_rollback(st);
	}
	free(cfg);
	ck_buf_release(&sealed);
	return r;
}

struct load_ctx {
	struct ck_issuer_def *d;
	const char *master_key;
	struct ck_err *err;
	int r;
};

static char *
json_dup(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? ck_strdup(s) : NULL;
}

static int
unseal_secrets(struct load_ctx *lc, const uint8_t *p, size_t n)
{
	struct ck_issuer_def *d = lc->d;
	uint8_t mk[CK_MASTER_KEY_LEN];
	struct ck_buf plain = CK_BUF_INIT;
	char aad[128];
	json_t *o;
	int r;

	snprintf(aad, sizeof(aad), "issuer:%s", d->name);
	if ((r = ck_master_key_load(
	         ck_master_key_path(lc->master_key), false, mk, lc->err)) == 0)
		r = ck_unseal(mk, aad, p, n, &plain, lc->err);
	ck_cleanse(mk, sizeof(mk));
	if (r != 0)
		return r;
	o = json_loadb((const char *)plain.p, plain.len, 0, NULL);
	ck_buf_release_secret(&plain);
	if (!json_is_object(o)) {
		json_decref(o);
		return ck_err_set(lc->err, CK_E_PARSE,
		    "issuer '%s': sealed secrets do not parse", d->name);
	}
	const char *h = json_string_value(json_object_get(o, "eab_hmac"));
	const char *k = json_string_value(json_object_get(o, "account_key"));
	if (h != NULL && !ck_base64_decode(h, strlen(h), &d->eab_hmac))
		r = ck_err_set(
		    lc->err, CK_E_PARSE, "issuer '%s': bad EAB key", d->name);
	if (k != NULL)
		ck_buf_add(&d->account_key_pem, k, strlen(k));
	/* jansson keeps its own copies of the strings: wipe them too. */
	if (h != NULL)
		ck_cleanse((char *)h, strlen(h));
	if (k != NULL)
		ck_cleanse((char *)k, strlen(k));
	json_decref(o);
	return r;
}

static int
load_row(void *ctx, const struct ck_issuer_row *row)
{
	struct load_ctx *lc = ctx;
	struct ck_issuer_def *d = lc->d;
	json_t *o = json_loads(row->config, 0, NULL);

	d->name = ck_strdup(row->name);
	d->type = ck_strdup(row->type);
	if (row->account_url != NULL)
		d->account_url = ck_strdup(row->account_url);
	if (!json_is_object(o)) {
		json_decref(o);
		lc->r = ck_err_set(lc->err, CK_E_PARSE,
		    "issuer '%s': settings do not parse", row->name);
		return 1;
	}
#define GET(k) d->k = json_dup(o, #k);
	DEF_STRINGS(GET)
#undef GET
	d->dns_wait = json_integer_value(json_object_get(o, "dns_wait"));
	d->timeout = json_integer_value(json_object_get(o, "timeout"));
	json_decref(o);
	if (row->secrets != NULL && row->secrets_len > 0)
		lc->r = unseal_secrets(lc, row->secrets, row->secrets_len);
	return lc->r != 0;
}

int
ck_issuer_load(struct ck_store *st, const char *name, const char *master_key,
    struct ck_issuer_def *d, struct ck_err *err)
{
	struct load_ctx lc = {d, master_key, err, 0};
	int r;

	memset(d, 0, sizeof(*d));
	r = ck_store_issuer_list(st, name, load_row, &lc, err);
	if (r == 1 || lc.r != 0)
		r = lc.r;
	if (r != 0)
		ck_issuer_def_release(d);
	return r;
}

int
ck_issuer_save_account(struct ck_store *st, struct ck_issuer_def *d,
    const char *master_key, struct ck_err *err)
{
	struct ck_buf sealed = CK_BUF_INIT;
	int r;

	if ((r = seal_secrets(d, master_key, &sealed, err)) != 0)
		return r;
	if ((r = ck_store_begin(st, err)) == 0) {
		if ((r = ck_store_issuer_set_account(st, d->name,
		         sealed.len ? (const uint8_t *)sealed.p : NULL,
		         sealed.len, d->account_url, err)) == 0 &&
		    (r = ck_store_event_add(st, "certkeep", "issuer.account",
		         d->name, d->account_url ? d->account_url : "", err)) ==
		        0)
			r = ck_store_commit(st, err);
		if (r != 0)
			ck_store_rollback(st);
	}
	if (r == 0)
		d->account_changed = false;
	ck_buf_release(&sealed);
	return r;
}

int
ck_issuer_remove(struct ck_store *st, const char *name, const char *actor,
    struct ck_err *err)
{
	int r;

	if ((r = ck_store_begin(st, err)) != 0)
		return r;
	if ((r = ck_store_issuer_delete(st, name, err)) == 0 &&
	    (r = ck_store_event_add(
	         st, actor, "issuer.remove", name, "", err)) == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
	return r;
}

int
ck_issuer_row_json(const struct ck_issuer_row *r, struct ck_buf *out)
{
	json_t *o = json_loads(r->config, 0, NULL);
	bool first = true;
	char *s;

	ck_buf_addc(out, '{');
	ck_json_kv_str(out, &first, "name", r->name);
	ck_json_kv_str(out, &first, "type", r->type);
	ck_json_sep(out, &first);
	ck_json_key(out, "settings");
	s = json_is_object(o) ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)
	                      : NULL;
	ck_buf_adds(out, s ? s : "{}");
	free(s);
	json_decref(o);
	ck_json_kv_str(out, &first, "account_url", r->account_url);
	ck_json_kv_bool(out, &first, "has_secrets", r->secrets_len > 0);
	ck_json_kv_int(out, &first, "consecutive_failures", r->failures);
	ck_json_kv_time(out, &first, "breaker_open_until",
	    r->open_until > ck_now() ? r->open_until : 0);
	ck_json_kv_time(out, &first, "created", r->created);
	ck_json_kv_str(out, &first, "actor", r->actor);
	ck_buf_addc(out, '}');
	return 0;
}
