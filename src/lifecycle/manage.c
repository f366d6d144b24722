/*
 * Managed certificates: adding (checked, queued for first issuance),
 * adopting a discovered certificate, renewing on demand, retiring (with
 * revocation through the issuer), and bulk moves to another issuer or key
 * type at a bounded rate. The renewing itself is the renewer's (renew.c).
 */
#include "lifecycle/managed.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "lifecycle/agent.h"
#include "lifecycle/revoke.h"
#include "x509/x509.h"

static const char *const key_types[] = {
    "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519", NULL};

static bool
key_type_ok(const char *t)
{
	for (size_t i = 0; key_types[i] != NULL; i++)
		if (strcmp(key_types[i], t) == 0)
			return true;
	return false;
}

/* For a local issuer, the profile must take the key type (else every
 * renewal would fail with it). */
static int
profile_takes(const char *profile, const char *key_type, struct ck_err *err)
{
	const struct ck_profile *p = ck_profile_find(profile);
	char kind[16] = "rsa", curve[16] = "";
	int bits = 0;

	if (p == NULL)
		return 0; /* checked elsewhere */
	if (strncmp(key_type, "ec-p", 4) == 0) {
		strcpy(kind, "ec");
		bits = atoi(key_type + 4);
		snprintf(curve, sizeof(curve), "P-%d", bits);
	} else if (strcmp(key_type, "ed25519") == 0)
		strcpy(kind, "ed25519");
	else
		bits = atoi(key_type + 4);
	return ck_profile_check_key(p, kind, bits, curve, err);
}

static bool
name_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		        (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		        *s == '.' || *s == '*'))
			return false;
	return true;
}

/* One SAN into "TYPE:value" on out (comma-separated). */
static int
add_san(struct ck_buf *out, const char *san, struct ck_err *err)
{
	const char *v = san, *type = "DNS";

	if (strncmp(san, "DNS:", 4) == 0)
		v = san + 4;
	else if (strncmp(san, "IP:", 3) == 0) {
		type = "IP";
		v = san + 3;
	} else {
		unsigned char a[16];
		if (inet_pton(AF_INET, san, a) == 1 ||
		    inet_pton(AF_INET6, san, a) == 1)
			type = "IP"; /* a bare address */
	}
	if (*v == '\0' || strlen(v) > 253 || strpbrk(v, ", \t\r\n") != NULL)
		return ck_err_set(err, CK_E_INVAL, "bad name '%s'", san);
	if (strcmp(type, "DNS") == 0) {
		for (const char *p = v; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			        (*p >= 'A' && *p <= 'Z') ||
			        (*p >= '0' && *p <= '9') || *p == '-' ||
			        *p == '.' || *p == '*' || *p == '_'))
				return ck_err_set(
				    err, CK_E_INVAL, "bad DNS name '%s'", v);
	}
	if (out->len > 0)
		ck_buf_addc(out, ',');
	ck_buf_adds(out, type);
	ck_buf_addc(out, ':');
	ck_buf_adds(out, v);
	return 0;
}

/* An output path made absolute, so that the daemon finds it from any
 * working folder; "" for none. */
static char *
abs_path(const char *p)
{
	char cwd[PATH_MAX];
	struct ck_buf b = CK_BUF_INIT;

	if (p == NULL || *p == '\0')
		return ck_strdup("");
	if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return ck_strdup(p);
	ck_buf_adds(&b, cwd);
	ck_buf_addc(&b, '/');
	ck_buf_adds(&b, p);
	ck_buf_addc(&b, '\0');
	return b.p;
}

struct issuer_info {
	char type[32];
	char profile[64];
};

static int
issuer_info(void *ctx, const struct ck_issuer_row *r)
{
	struct issuer_info *ii = ctx;
	const char *p = strstr(r->config, "\"profile\":\"");

	snprintf(ii->type, sizeof(ii->type), "%s", r->type);
	if (p != NULL) {
		p += 11;
		size_t n = strcspn(p, "\"");
		snprintf(ii->profile, sizeof(ii->profile), "%.*s", (int)n, p);
	}
	return 0;
}

/* Adds m; queue: its first issuance on the job queue; agent: held by
 * that agent's host from the same commit on (the renewer never sees it
 * as the server's). */
static int
add_row(struct ck_store *st, struct ck_managed_row *m, const char *actor,
    bool queue, const char *agent, struct ck_err *err)
{
	char detail[512];
	int r;

	snprintf(detail, sizeof(detail), "issuer %s, %s, %s%s%.260s", m->issuer,
	    m->key_type, m->sans, agent ? ", held by agent " : "",
	    agent ? agent : "");
	if ((r = ck_store_begin(st, err)) != 0)
		return r;
	if ((r = ck_store_managed_add(st, m, NULL, err)) == 0 &&
	    (agent == NULL ||
	        (r = ck_store_agent_assign(
	             st, m->name, agent, m->created, err)) == 0) &&
	    (!queue ||
	        (r = ck_store_job_put(
	             st, "renew", m->name, m->next_action, err)) == 0) &&
	    (r = ck_store_event_add(
	         st, actor, "manage.add", m->name, detail, err)) == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
	return r;
}

int
ck_manage_add(struct ck_store *st, const struct ck_manage_spec *s,
    const char *actor, struct ck_err *err)
{
	struct ck_managed_row m = {0};
	struct issuer_info ii = {{0}, {0}};
	struct ck_buf sans = CK_BUF_INIT;
	char *outs[3] = {NULL, NULL, NULL};
	char cn[256];
	int r;

	if (!name_ok(s->name))
		return ck_err_set(err, CK_E_INVAL,
		    "name '%s': use 1-128 of letters, digits, '-', '_', '.'",
		    s->name ? s->name : "");
	if (s->n_sans == 0 && (s->cn == NULL || *s->cn == '\0'))
		return ck_err_set(
		    err, CK_E_INVAL, "at least one name (--san) is needed");
	if (s->key_type != NULL && !key_type_ok(s->key_type))
		return ck_err_set(err, CK_E_INVAL,
		    "key type '%s': ec-p256, ec-p384, rsa-2048, rsa-3072, "
		    "rsa-4096 or ed25519",
		    s->key_type);
	if (s->renew_frac < 0 || s->renew_frac >= 1000)
		return ck_err_set(err, CK_E_INVAL,
		    "renewal point must be inside the lifetime (1-99%%)");
	if (s->renew_before < 0 || s->days < 0 || s->days > 3650)
		return ck_err_set(err, CK_E_INVAL, "bad validity or rule");
	if (s->issuer == NULL)
		return ck_err_set(err, CK_E_INVAL, "--issuer is needed");
	if ((r = ck_store_issuer_list(st, s->issuer, issuer_info, &ii, err)) !=
	    0)
		return r;
	if (s->profile != NULL && ck_profile_find(s->profile) == NULL &&
	    strcmp(ii.type, "local") == 0)
		return ck_err_set(
		    err, CK_E_INVAL, "unknown profile '%s'", s->profile);
	if (strcmp(ii.type, "local") == 0 &&
	    (r = profile_takes(s->profile ? s->profile
	             : ii.profile[0]      ? ii.profile
	                                  : "tls-server",
	         s->key_type ? s->key_type : "ec-p256", err)) != 0)
		return r;
	for (size_t i = 0; i < s->n_sans; i++)
		if ((r = add_san(&sans, s->sans[i], err)) != 0)
			goto out;
	if (s->n_sans == 0 && (r = add_san(&sans, s->cn, err)) != 0)
		goto out;
	ck_buf_addc(&sans, '\0');
	if (s->cn != NULL)
		snprintf(cn, sizeof(cn), "%s", s->cn);
	else
		snprintf(cn, sizeof(cn), "%.*s",
		    (int)strcspn(strchr(sans.p, ':') + 1, ","),
		    strchr(sans.p, ':') + 1);
	outs[0] = abs_path(s->key_out);
	outs[1] = abs_path(s->cert_out);
	outs[2] = abs_path(s->fullchain_out);
	m.name = s->name;
	m.cn = cn;
	m.sans = sans.p;
	m.key_type = s->key_type ? s->key_type : "ec-p256";
	m.issuer = s->issuer;
	m.profile = s->profile      ? s->profile
	    : ii.profile[0] != '\0' ? ii.profile
	                            : "tls-server";
	m.days = s->days;
	m.renew_frac = s->renew_before > 0 ? 0
	    : s->renew_frac > 0            ? s->renew_frac
	                                   : 667;
	m.renew_before = s->renew_before;
	m.reuse_key = s->reuse_key;
	m.owner = s->owner ? s->owner : "";
	m.contact = s->contact ? s->contact : "";
	m.tags = s->tags ? s->tags : "";
	m.key_out = outs[0];
	m.cert_out = outs[1];
	m.chain_out = outs[2];
	m.state = "pending";
	m.next_action = ck_now();
	m.created = ck_now();
	m.actor = actor;
	if (s->agent != NULL &&
	    (!ck_agent_host_ok(s->agent) || s->key_out || s->cert_out ||
	        s->fullchain_out)) {
		r = ck_err_set(err, CK_E_INVAL,
		    "--agent: a host name, and no files of the server's "
		    "(its targets say where the agent writes)");
		goto out;
	}
	r = add_row(st, &m, actor, s->agent == NULL, s->agent, err);
out:
	for (int i = 0; i < 3; i++)
		free(outs[i]);
	ck_buf_release(&sans);
	return r;
}

/* ---- adopt ---- */

struct adopt_ctx {
	struct ck_cert *c;
	char place[1024];
	struct ck_err *err;
	int r;
};

static int
adopt_row(void *ctx, const struct ck_cert_row *row)
{
	struct adopt_ctx *ac = ctx;

	ac->r = ck_x509_parse(
	    row->der, row->der_len, CK_PARSE_CORE, &ac->c, ac->err);
	return ac->r != 0;
}

static int
adopt_loc(void *ctx, const struct ck_location *loc)
{
	struct adopt_ctx *ac = ctx;

	if (ac->place[0] == '\0' && loc->present &&
	    strcmp(loc->kind, "file") == 0) {
		/* a file place may carry "#index" for the item within it */
		snprintf(ac->place, sizeof(ac->place), "%.*s",
		    (int)strcspn(loc->place, "#"), loc->place);
	}
	return 0;
}

static const char *
adopt_key_type(const struct ck_cert *c, char *buf, size_t n)
{
	if (strcmp(c->key_type, "ec") == 0 && strcmp(c->curve, "P-384") == 0)
		return "ec-p384";
	if (strcmp(c->key_type, "ec") == 0)
		return "ec-p256";
	if (strcmp(c->key_type, "ed25519") == 0)
		return "ed25519";
	if (strcmp(c->key_type, "rsa") == 0) {
		int bits = c->key_bits >= 4096 ? 4096
		    : c->key_bits >= 3072      ? 3072
		                               : 2048;
		snprintf(buf, n, "rsa-%d", bits);
		return buf;
	}
	return "ec-p256";
}

int
ck_manage_adopt(struct ck_store *st, const char *sha256_hex, const char *issuer,
    const char *name, const char *actor, struct ck_err *err)
{
	struct adopt_ctx ac = {.err = err};
	struct ck_managed_row m = {0};
	struct issuer_info ii = {{0}, {0}};
	struct ck_buf sans = CK_BUF_INIT;
	char kt[16];
	int64_t id;
	int r;

	if ((r = ck_store_issuer_list(st, issuer, issuer_info, &ii, err)) != 0)
		return r;
	if ((r = ck_store_cert_find(st, sha256_hex, &id, err)) != 0)
		return r;
	if ((r = ck_store_cert_get(st, id, adopt_row, &ac, err)) != 0 &&
	    ac.r == 0)
		return r;
	if (ac.r != 0)
		return ac.r;
	if (ac.c->is_ca) {
		r = ck_err_set(err, CK_E_INVAL,
		    "certificate %s is a CA certificate", sha256_hex);
		goto out;
	}
	for (size_t i = 0; i < ac.c->n_sans; i++) {
		const struct ck_san *sn = &ac.c->sans[i];
		if (sn->type != CK_SAN_DNS && sn->type != CK_SAN_IP)
			continue;
		if (sans.len > 0)
			ck_buf_addc(&sans, ',');
		ck_buf_adds(&sans, sn->type == CK_SAN_DNS ? "DNS:" : "IP:");
		ck_buf_adds(&sans, sn->value);
	}
	if (sans.len == 0 && ac.c->cn != NULL) {
		ck_buf_adds(&sans, "DNS:");
		ck_buf_adds(&sans, ac.c->cn);
	}
	if (sans.len == 0) {
		r = ck_err_set(err, CK_E_INVAL,
		    "certificate %s names no DNS name or IP address",
		    sha256_hex);
		goto out;
	}
	ck_buf_addc(&sans, '\0');
	(void)ck_store_locations(st, id, adopt_loc, &ac, NULL);
	if (name == NULL)
		name = ac.c->cn ? ac.c->cn : strchr(sans.p, ':') + 1;
	if (!name_ok(name)) {
		r = ck_err_set(err, CK_E_INVAL,
		    "name '%s' cannot be used: give --name", name);
		goto out;
	}
	m.name = name;
	m.cn = ac.c->cn ? ac.c->cn : strchr(sans.p, ':') + 1;
	m.sans = sans.p;
	m.key_type = adopt_key_type(ac.c, kt, sizeof(kt));
	m.issuer = issuer;
	m.profile = ii.profile[0] != '\0' ? ii.profile : "tls-server";
	m.renew_frac = 667;
	m.owner = m.contact = m.tags = m.key_out = m.chain_out = "";
	m.cert_out = ac.place;
	m.state = "active";
	m.cert_id = id;
	m.renew_at = ck_renew_time(ac.c->not_before, ac.c->not_after, 667, 0,
	    (double)(ac.c->sha256[0]) / 256.0);
	m.next_action = m.renew_at;
	m.created = ck_now();
	m.actor = actor;
	r = add_row(st, &m, actor, false, NULL, err);
out:
	ck_cert_free(ac.c);
	ck_buf_release(&sans);
	return r;
}

/* ---- renew now, retire, move ---- */

struct one_row {
	int64_t cert_id, renew_at, not_after;
	char state[16], issuer[128];
	struct ck_buf der;
};

static int
copy_row(void *ctx, const struct ck_managed_row *m)
{
	struct one_row *o = ctx;

	o->cert_id = m->cert_id;
	o->renew_at = m->renew_at;
	o->not_after = m->not_after;
	snprintf(o->state, sizeof(o->state), "%s", m->state);
	snprintf(o->issuer, sizeof(o->issuer), "%s", m->issuer);
	return 0;
}

static int
get_one(struct ck_store *st, const char *name, struct one_row *o,
    struct ck_err *err)
{
	struct ck_managed_filter f = {.name = name};

	memset(o, 0, sizeof(*o));
	return ck_store_managed_list(st, &f, copy_row, o, err);
}

int
ck_manage_renew_now(struct ck_store *st, const char *name, bool force,
    const char *actor, struct ck_err *err)
{
	struct one_row o;
	char when[CK_TIME_STR_MAX];
	int64_t now = ck_now();
	int r;

	if ((r = get_one(st, name, &o, err)) != 0)
		return r;
	if (strcmp(o.state, "retired") == 0)
		return ck_err_set(err, CK_E_INVAL, "'%s' is retired", name);
	if (!force && strcmp(o.state, "active") == 0 && now < o.renew_at) {
		ck_time_format(o.renew_at, when);
		return ck_err_set(err, CK_E_INVAL,
		    "'%s' is not due before %s (--force renews now)", name,
		    when);
	}
	if ((r = ck_store_begin(st, err)) != 0)
		return r;
	/* forced: the issuer's renewal window is not asked (ari_checked) */
	if ((r = ck_store_managed_schedule(
	         st, name, now, NULL, -1, NULL, err)) == 0 &&
	    (!force ||
	        (r = ck_store_managed_window(
	             st, name, o.renew_at, now, now, err)) == 0) &&
	    (r = ck_store_job_put(st, "renew", name, now, err)) == 0 &&
	    (r = ck_store_event_add(st, actor, "manage.renew", name,
	         force ? "forced" : "due", err)) == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
	return r;
}

static int
cert_der(void *ctx, const struct ck_cert_row *row)
{
	ck_buf_add(ctx, row->der, row->der_len);
	return 0;
}

/* Revokes the current certificate through the issuer that made it. */
static int
revoke_current(struct ck_store *st, const char *name, struct one_row *o,
    int reason, const char *master_key, const char *actor, struct ck_err *err)
{
	struct ck_issuer_def d;
	const struct ck_issuer_ops *ops;
	int r;

	if ((r = ck_issuer_load(st, o->issuer, master_key, &d, err)) != 0)
		return r;
	if (strcmp(d.type, "local") == 0) {
		struct ck_revoke_res res = {0};
		r = ck_revoke(
		    st, o->cert_id, reason, actor, master_key, &res, err);
		ck_issuer_def_release(&d);
		return r;
	}
	ops = ck_issuer_ops_find(d.type);
	if (ops == NULL || ops->revoke == NULL) {
		ck_issuer_def_release(&d);
		return ck_err_set(
		    err, CK_E_INVAL, "issuer '%s' cannot revoke", o->issuer);
	}
	if ((r = ck_store_cert_get(st, o->cert_id, cert_der, &o->der, err)) ==
	    0)
		r = ops->revoke(
		    &d, (const uint8_t *)o->der.p, o->der.len, reason, err);
	if (r == 0 && d.account_changed)
		r = ck_issuer_save_account(st, &d, master_key, err);
	if (r == 0) {
		char detail[160];
		snprintf(detail, sizeof(detail), "through %s (%s), reason %s",
		    o->issuer, d.type, ck_crl_reason_name(reason));
		if ((r = ck_store_begin(st, err)) == 0) {
			char ref[32];
			snprintf(
			    ref, sizeof(ref), "%lld", (long long)o->cert_id);
			if ((r = ck_store_event_add(st, actor, "cert.revoke",
			         ref, detail, err)) == 0)
				r = ck_store_commit(st, err);
			if (r != 0)
				ck_store_rollback(st);
		}
	}
	(void)name;
	ck_issuer_def_release(&d);
	ck_buf_release(&o->der);
	return r;
}

int
ck_manage_retire(struct ck_store *st, const char *name, bool revoke, int reason,
    const char *master_key, const char *actor, struct ck_err *err)
{
	struct one_row o;
	int r;

	if ((r = get_one(st, name, &o, err)) != 0)
		return r;
	if (strcmp(o.state, "retired") == 0)
		return ck_err_set(
		    err, CK_E_INVAL, "'%s' is already retired", name);
	/* Revoke first: a retirement that was asked to revoke and could not
	 * leaves the certificate managed, so that nothing is forgotten. */
	if (revoke && o.cert_id > 0 &&
	    (r = revoke_current(
	         st, name, &o, reason, master_key, actor, err)) != 0)
		return r;
	if ((r = ck_store_begin(st, err)) != 0)
		return r;
	if ((r = ck_store_managed_schedule(
	         st, name, INT64_MAX, "retired", -1, NULL, err)) == 0 &&
	    (r = ck_store_job_cancel(st, "renew", name, err)) == 0 &&
	    (r = ck_store_event_add(st, actor, "manage.retire", name,
	         revoke ? "revoked" : "", err)) == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
	return r;
}

struct move_ctx {
	struct ck_strlist names;
};

static int
collect_name(void *ctx, const struct ck_managed_row *m)
{
	struct move_ctx *mc = ctx;

	if (strcmp(m->state, "retired") != 0)
		ck_strlist_add(&mc->names, m->name);
	return 0;
}

int
ck_manage_move(struct ck_store *st, const struct ck_managed_filter *f,
    const char *issuer, const char *key_type, double per_second,
    const char *actor, int64_t *moved, struct ck_err *err)
{
	struct move_ctx mc = {{0}};
	struct issuer_info ii = {{0}, {0}};
	int64_t now = ck_now();
	char detail[256];
	int r;

	*moved = 0;
	if (issuer == NULL && key_type == NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "nothing to change: --to-issuer or --key-type");
	if (key_type != NULL && !key_type_ok(key_type))
		return ck_err_set(
		    err, CK_E_INVAL, "unknown key type '%s'", key_type);
	if (issuer != NULL &&
	    (r = ck_store_issuer_list(st, issuer, issuer_info, &ii, err)) != 0)
		return r;
	if (key_type != NULL && issuer != NULL &&
	    strcmp(ii.type, "local") == 0 &&
	    (r = profile_takes(ii.profile[0] ? ii.profile : "tls-server",
	         key_type, err)) != 0)
		return r;
	if (per_second <= 0)
		per_second = 10;
	if ((r = ck_store_managed_list(st, f, collect_name, &mc, err)) != 0)
		goto out;
	snprintf(detail, sizeof(detail), "to issuer %s, key type %s",
	    issuer ? issuer : "(same)", key_type ? key_type : "(same)");
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	for (size_t i = 0; i < mc.names.n && r == 0; i++) {
		const char *n = mc.names.v[i];
		int64_t at = now + (int64_t)((double)i / per_second);

		if ((r = ck_store_managed_move(st, n, issuer, key_type, err)) ==
		        0 &&
		    (r = ck_store_managed_schedule(
		         st, n, at, NULL, -1, NULL, err)) == 0 &&
		    (r = ck_store_job_put(st, "renew", n, at, err)) == 0)
			r = ck_store_event_add(
			    st, actor, "manage.move", n, detail, err);
	}
	if (r == 0 && (r = ck_store_commit(st, err)) == 0)
		*moved = (int64_t)mc.names.n;
	if (r != 0)
		ck_store_rollback(st);
out:
	ck_strlist_release(&mc.names);
	return r;
}

/* ---- JSON ---- */

static void
kv_time(struct ck_buf *b, bool *first, const char *key, int64_t t)
{
	if (t != 0 && t != INT64_MAX) {
		ck_json_kv_time(b, first, key, t);
		return;
	}
	ck_json_sep(b, first);
	ck_json_key(b, key);
	ck_buf_adds(b, "null");
}

void
ck_managed_row_json(const struct ck_managed_row *m, struct ck_buf *out)
{
	bool first = true, f2 = true;
	const char *p;

	ck_buf_addc(out, '{');
	ck_json_kv_str(out, &first, "name", m->name);
	ck_json_kv_str(out, &first, "cn", m->cn);
	ck_json_sep(out, &first);
	ck_json_key(out, "sans");
	ck_buf_addc(out, '[');
	for (p = m->sans; p && *p;) {
		size_t n = strcspn(p, ",");
		char one[300];
		snprintf(one, sizeof(one), "%.*s", (int)n, p);
		ck_json_sep(out, &f2);
		ck_json_str(out, one);
		p += n;
		if (*p == ',')
			p++;
	}
	ck_buf_addc(out, ']');
	ck_json_kv_str(out, &first, "key_type", m->key_type);
	ck_json_kv_str(out, &first, "issuer", m->issuer);
	ck_json_kv_str(out, &first, "profile", m->profile);
	ck_json_kv_int(out, &first, "days", m->days);
	if (m->renew_before > 0)
		ck_json_kv_int(out, &first, "renew_before", m->renew_before);
	else
		ck_json_kv_int(out, &first, "renew_at_permille", m->renew_frac);
	ck_json_kv_bool(out, &first, "reuse_key", m->reuse_key);
	ck_json_kv_str(out, &first, "owner", m->owner);
	ck_json_kv_str(out, &first, "contact", m->contact);
	ck_json_kv_str(out, &first, "tags", m->tags);
	ck_json_kv_str(out, &first, "key_out", m->key_out);
	ck_json_kv_str(out, &first, "cert_out", m->cert_out);
	ck_json_kv_str(out, &first, "fullchain_out", m->chain_out);
	ck_json_kv_str(out, &first, "state", m->state);
	ck_json_kv_str(out, &first, "sha256", m->sha256);
	ck_json_kv_int(out, &first, "cert_id", m->cert_id);
	kv_time(out, &first, "not_before", m->not_before);
	kv_time(out, &first, "not_after", m->not_after);
	kv_time(out, &first, "renew_at", m->renew_at);
	kv_time(out, &first, "next_action", m->next_action);
	ck_json_kv_bool(out, &first, "files_current",
	    m->cert_id == 0 || m->written_cert_id == m->cert_id ||
	        (!m->key_out[0] && !m->cert_out[0] && !m->chain_out[0]));
	ck_json_kv_int(out, &first, "failures", m->failures);
	ck_json_kv_str(out, &first, "last_error", m->last_error);
	ck_json_kv_str(out, &first, "last_alert", m->last_alert);
	ck_json_kv_int(out, &first, "issued_count", m->issued_count);
	kv_time(out, &first, "created", m->created);
	kv_time(out, &first, "updated", m->updated);
	ck_json_kv_str(out, &first, "actor", m->actor);
	ck_buf_addc(out, '}');
}
