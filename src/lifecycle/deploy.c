/*
 * The deployment engine (deploy.h): targets added and checked, and each
 * target of a managed certificate brought to its current certificate.
 * One target's attempt:
 *
 *   new|deployed|failed|rolled_back
 *     --stage (deploy_one: dp_file_stage / dp_pkcs12_stage)--> failed
 *                                      (nothing changed: disk, rights)
 *     --mark (deploy_one)--> deploying
 *   deploying
 *     --dp_fileset_commit fails (put back)--> failed
 *     --dp_command_run fails--> failed (the script reports what it did)
 *     --reload (dp_run) fails or hangs--> rollback
 *     --verify (dp_verify) sees another leaf--> rollback
 *     --otherwise--> deployed
 *   rollback (roll_back: dp_fileset_restore, reload again)--> rolled_back
 *   rollback of a command target (cmd_roll_back: its --rollback script,
 *     reload again)--> rolled_back; failed without such a script or
 *     when it fails
 *
 * A process killed in "deploying" leaves that state in the row; the
 * deploy job comes back after its lease and the next attempt completes.
 * Each end is recorded (row, audit event) in one commit, and a failure
 * alerts once per certificate (alert state "deploy_failed:<name>:<id>").
 */
#include "lifecycle/deploy_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "store/agents.h"
#include "x509/x509.h"

/* ---- target settings ---- */

void
ck_target_conf_release(struct ck_target_conf *c)
{
	char **s[] = {&c->kind, &c->cert, &c->chain, &c->fullchain, &c->key,
	    &c->p12, &c->password_file, &c->command, &c->rollback, &c->owner,
	    &c->group, &c->reload, &c->verify, &c->sni};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		free(*s[i]);
		*s[i] = NULL;
	}
}

static char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s != NULL && s[0] != '\0' ? ck_strdup(s) : NULL;
}

int
ck_target_conf_parse(const char *kind, const char *config,
    struct ck_target_conf *c, struct ck_err *err)
{
	json_t *o = json_loads(config, 0, NULL);

	memset(c, 0, sizeof(*c));
	if (!json_is_object(o)) {
		json_decref(o);
		return ck_err_set(err, CK_E_PARSE, "target settings: not JSON");
	}
	c->kind = ck_strdup(kind);
	c->cert = jstr(o, "cert");
	c->chain = jstr(o, "chain");
	c->fullchain = jstr(o, "fullchain");
	c->key = jstr(o, "key");
	c->p12 = jstr(o, "p12");
	c->password_file = jstr(o, "password_file");
	c->legacy = json_is_true(json_object_get(o, "legacy"));
	c->command = jstr(o, "command");
	c->rollback = jstr(o, "rollback");
	c->owner = jstr(o, "owner");
	c->group = jstr(o, "group");
	json_t *m = json_object_get(o, "mode");
	c->mode = json_is_integer(m) ? (int)json_integer_value(m) : -1;
	c->reload = jstr(o, "reload");
	c->timeout = json_integer_value(json_object_get(o, "timeout"));
	c->verify = jstr(o, "verify");
	c->sni = jstr(o, "sni");
	c->verify_timeout =
	    json_integer_value(json_object_get(o, "verify_timeout"));
	json_decref(o);
	return 0;
}

void
ck_target_conf_json(const struct ck_target_conf *c, struct ck_buf *out)
{
	json_t *o = json_object();
	const struct {
		const char *k, *v;
	} s[] = {{"cert", c->cert}, {"chain", c->chain},
	    {"fullchain", c->fullchain}, {"key", c->key}, {"p12", c->p12},
	    {"password_file", c->password_file}, {"command", c->command},
	    {"rollback", c->rollback}, {"owner", c->owner}, {"group", c->group},
	    {"reload", c->reload}, {"verify", c->verify}, {"sni", c->sni}};
	char *txt;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i].v != NULL && s[i].v[0] != '\0')
			json_object_set_new(o, s[i].k, json_string(s[i].v));
	if (c->legacy)
		json_object_set_new(o, "legacy", json_true());
	if (c->mode >= 0)
		json_object_set_new(o, "mode", json_integer(c->mode));
	if (c->timeout > 0)
		json_object_set_new(o, "timeout", json_integer(c->timeout));
	if (c->verify_timeout > 0)
		json_object_set_new(
		    o, "verify_timeout", json_integer(c->verify_timeout));
	txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	ck_buf_adds(out, txt);
	free(txt);
	json_decref(o);
}

void
ck_target_conf_where(const struct ck_target_conf *c, struct ck_buf *out)
{
	const char *v[] = {c->fullchain, c->cert, c->chain, c->key, c->p12};
	bool first = true;

	if (c->kind != NULL && strcmp(c->kind, "command") == 0) {
		ck_buf_adds(out, c->command ? c->command : "");
		return;
	}
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] != NULL) {
			if (!first)
				ck_buf_addc(out, ',');
			ck_buf_adds(out, v[i]);
			first = false;
		}
}

static bool
abs_path(const char *p)
{
	return p == NULL || (p[0] == '/' && strlen(p) < 4000);
}

/* What a target of its kind needs, checked once when it is added; the
 * owner and group only where they are used (here, unless an agent's). */
static int
check_conf(const struct ck_target_conf *c, bool local, struct ck_err *err)
{
	const char *paths[] = {
	    c->cert, c->chain, c->fullchain, c->key, c->p12, c->password_file};
	uid_t uid;
	gid_t gid;
	int r;

	if (c->kind == NULL)
		return ck_err_set(err, CK_E_INVAL, "a target needs a kind");
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!abs_path(paths[i]))
			return ck_err_set(err, CK_E_INVAL,
			    "'%s' is not an absolute path", paths[i]);
	if (strcmp(c->kind, "file") == 0) {
		if (!c->cert && !c->chain && !c->fullchain && !c->key)
			return ck_err_set(err, CK_E_INVAL,
			    "a file target needs --cert, --chain, "
			    "--fullchain or --key");
	} else if (strcmp(c->kind, "pkcs12") == 0) {
		if (!c->p12 || !c->password_file)
			return ck_err_set(err, CK_E_INVAL,
			    "a pkcs12 target needs --p12 and --password-file");
	} else if (strcmp(c->kind, "command") == 0) {
		if (!c->command)
			return ck_err_set(err, CK_E_INVAL,
			    "a command target needs --command");
	} else
		return ck_err_set(err, CK_E_INVAL,
		    "unknown target kind '%s' (file, pkcs12, command)",
		    c->kind);
	if (c->rollback != NULL && strcmp(c->kind, "command") != 0)
		return ck_err_set(err, CK_E_INVAL,
		    "--rollback is for command targets (files are put back "
		    "by certkeep itself)");
	if (c->mode > 0777)
		return ck_err_set(err, CK_E_INVAL, "mode %o: at most 0777",
		    (unsigned)c->mode);
	if (c->timeout < 0 || c->timeout > 3600 || c->verify_timeout < 0 ||
	    c->verify_timeout > 600)
		return ck_err_set(err, CK_E_INVAL,
		    "timeouts: at most 3600 s (reload), 600 s (verify)");
	if (c->verify != NULL) {
		const char *colon = strrchr(c->verify, ':');
		if (colon == NULL || colon == c->verify || colon[1] == '\0' ||
		    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
		    atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
			return ck_err_set(err, CK_E_INVAL,
			    "--verify '%s': host:port", c->verify);
	}
	if (local &&
	    (r = dp_owner_ids(c->owner, c->group, &uid, &gid, err)) != 0)
		return r;
	return 0;
}

int
ck_target_add(struct ck_store *st, const char *name,
    const struct ck_target_conf *c, const char *actor, int64_t *id,
    struct ck_err *err)
{
	struct ck_buf cfg = CK_BUF_INIT, detail = CK_BUF_INIT;
	struct ck_target_row row = {0};
	int r;

	char host[CK_AGENT_HOST_MAX + 1];
	bool held = false;

	*id = 0;
	if ((r = ck_store_agent_holder(st, name, host, &held, err)) != 0 ||
	    (r = check_conf(c, !held, err)) != 0)
		return r;
	ck_target_conf_json(c, &cfg);
	row.managed = name;
	row.kind = c->kind;
	row.config = cfg.p;
	row.created = ck_now();
	row.actor = actor;
	if ((r = ck_store_begin(st, err)) == 0) {
		if ((r = ck_store_target_add(st, &row, id, err)) == 0) {
			ck_buf_printf(&detail,
			    "target %lld (%s): ", (long long)*id, c->kind);
			ck_target_conf_where(c, &detail);
			r = ck_store_event_add(
			    st, actor, "target.add", name, detail.p, err);
		}
		if (r == 0)
			r = ck_store_commit(st, err);
		if (r != 0)
			ck_store_rollback(st);
	}
	ck_buf_release(&cfg);
	ck_buf_release(&detail);
	return r;
}

int
ck_target_remove(struct ck_store *st, const char *name, int64_t id,
    const char *actor, struct ck_err *err)
{
	char detail[64], key[300];
	int r;

	snprintf(detail, sizeof(detail), "target %lld", (long long)id);
	snprintf(
	    key, sizeof(key), "deploy_failed:%s:%lld", name, (long long)id);
	if ((r = ck_store_begin(st, err)) != 0)
		return r;
	if ((r = ck_store_target_remove(st, name, id, err)) == 0 &&
	    (r = ck_store_alert_state_set(st, key, NULL, err)) == 0 &&
	    (r = ck_store_event_add(
	         st, actor, "target.remove", name, detail, err)) == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
	return r;
}

/* ---- what is deployed ---- */

void
dp_material_release(struct dp_material *m)
{
	ck_buf_release(&m->leaf_der);
	ck_buf_release(&m->leaf_pem);
	ck_buf_release(&m->chain_pem);
	ck_buf_release(&m->full_pem);
	ck_buf_release_secret(&m->key_pem);
}

struct managed_key {
	bool found;
	int64_t cert_id;
	char sha256[65], first[256], owner[128];
	struct ck_buf sealed;
};

static int
take_managed(void *ctx, const struct ck_managed_row *r)
{
	struct managed_key *k = ctx;
	const char *s = r->sans, *colon;
	size_t n;

	if (strcmp(r->state, "retired") == 0)
		return 0;
	k->found = true;
	k->cert_id = r->cert_id;
	snprintf(
	    k->sha256, sizeof(k->sha256), "%s", r->sha256 ? r->sha256 : "");
	snprintf(k->owner, sizeof(k->owner), "%s", r->owner ? r->owner : "");
	if (r->key != NULL)
		ck_buf_add(&k->sealed, r->key, r->key_len);
	/* the name to ask for: the first DNS SAN, else the CN */
	n = strcspn(s, ",");
	colon = memchr(s, ':', n);
	if (n > 0 && (colon == NULL || strncmp(s, "DNS:", 4) == 0))
		snprintf(k->first, sizeof(k->first), "%.*s",
		    (int)(n - (colon ? (size_t)(colon + 1 - s) : 0)),
		    colon ? colon + 1 : s);
	else
		snprintf(k->first, sizeof(k->first), "%s", r->cn);
	return 0;
}

static int
chain_row(void *ctx, const struct ck_cert_row *row)
{
	struct dp_material *m = ctx;

	if (m->leaf_der.len == 0)
		ck_buf_add(&m->leaf_der, row->der, row->der_len);
	else if (!row->self_issued || row->is_ca)
		ck_pem_encode(
		    "CERTIFICATE", row->der, row->der_len, &m->chain_pem);
	return 0;
}

static int
load_material(struct ck_store *st, const uint8_t *mk, const char *name,
    struct dp_material *m, struct ck_err *err)
{
	struct ck_managed_filter f = {.name = name, .with_key = true};
	struct managed_key k = {0};
	char aad[300];
	int r;

	memset(m, 0, sizeof(*m));
	m->name = name;
	if ((r = ck_store_managed_list(st, &f, take_managed, &k, err)) != 0)
		goto out;
	if (!k.found || k.cert_id == 0 || k.sealed.len == 0) {
		r = ck_err_set(err, CK_E_NOTFOUND,
		    "%s has no certificate to deploy yet", name);
		goto out;
	}
	m->cert_id = k.cert_id;
	snprintf(m->sha256, sizeof(m->sha256), "%s", k.sha256);
	snprintf(m->first_name, sizeof(m->first_name), "%s", k.first);
	snprintf(m->owner, sizeof(m->owner), "%s", k.owner);
	snprintf(aad, sizeof(aad), "managed:%s", name);
	if ((r = ck_unseal(mk, aad, (const uint8_t *)k.sealed.p, k.sealed.len,
	         &m->key_pem, err)) != 0 ||
	    (r = ck_store_chain(st, k.cert_id, chain_row, m, err)) != 0)
		goto out;
	if (m->leaf_der.len == 0) {
		r = ck_err_set(err, CK_E_NOTFOUND,
		    "%s: certificate %lld is not in the inventory", name,
		    (long long)k.cert_id);
		goto out;
	}
	ck_pem_encode("CERTIFICATE", (const uint8_t *)m->leaf_der.p,
	    m->leaf_der.len, &m->leaf_pem);
	ck_buf_add(&m->full_pem, m->leaf_pem.p, m->leaf_pem.len);
	ck_buf_add(&m->full_pem, m->chain_pem.p, m->chain_pem.len);
out:
	ck_buf_release(&k.sealed);
	return r;
}

/* ---- one target ---- */

struct target {
	int64_t id;
	char *kind, *config, *state;
	int64_t deployed_cert_id;
};

struct targets {
	struct target *v;
	size_t n;
};

static int
take_target(void *ctx, const struct ck_target_row *t)
{
	struct targets *ts = ctx;

	ts->v = ck_realloc(ts->v, (ts->n + 1) * sizeof(*ts->v));
	ts->v[ts->n++] = (struct target){t->id, ck_strdup(t->kind),
	    ck_strdup(t->config), ck_strdup(t->state), t->deployed_cert_id};
	return 0;
}

/* How an attempt ended. */
struct outcome {
	const char *state; /* deployed, failed, rolled_back */
	char result[1024];
	struct ck_buf output;
};

static void
add_output(struct outcome *oc, const char *label, const struct ck_buf *b)
{
	if (b->len == 0)
		return;
	/* four runs at most: the command, the reload, the rollback, the
	 * reload after it */
	if (oc->output.len + b->len > 4 * CK_DEPLOY_OUTPUT_MAX)
		return;
	ck_buf_printf(&oc->output, "[%s]\n", label);
	ck_buf_add(&oc->output, b->p, b->len);
	if (b->p[b->len - 1] != '\n')
		ck_buf_addc(&oc->output, '\n');
}

/* Runs the reload command, if any: 0 when it exited 0. */
static int
reload(const struct ck_target_conf *c, const struct dp_material *m, int64_t id,
    const char *phase, struct outcome *oc, struct ck_err *err)
{
	struct ck_buf out = CK_BUF_INIT;
	char e1[320], e2[64], e3[96], e4[32], *env[5];
	int status = 0, r;

	if (c->reload == NULL)
		return 0;
	snprintf(e1, sizeof(e1), "CERTKEEP_NAME=%s", m->name);
	snprintf(e2, sizeof(e2), "CERTKEEP_TARGET_ID=%lld", (long long)id);
	snprintf(e3, sizeof(e3), "CERTKEEP_SHA256=%s", m->sha256);
	snprintf(e4, sizeof(e4), "CERTKEEP_PHASE=%s", phase);
	env[0] = e1, env[1] = e2, env[2] = e3, env[3] = e4, env[4] = NULL;
	r = dp_run(c->reload, env, NULL, 0, c->timeout, &status, &out, err);
	if (r == 0 && status != 0)
		r = ck_err_set(err, CK_E_INVAL, "reload '%.200s' exited %d",
		    c->reload, status);
	add_output(oc,
	    strcmp(phase, "deploy") == 0 ? "reload" : "reload after rollback",
	    &out);
	ck_buf_release(&out);
	return r;
}

/* A command target's rollback script, then the reload again: certkeep
 * does not hold what the command replaced (a load balancer's object, a
 * key store entry), so the target's own script puts it back. */
static void
cmd_roll_back(const struct ck_target_conf *c, const struct dp_material *m,
    int64_t id, const char *why, struct outcome *oc)
{
	struct ck_buf out = CK_BUF_INIT;
	struct ck_err e2 = {0};
	char e1[320], e2s[64], e3[96], *env[5];
	int status = 0, r;

	if (c->rollback == NULL) {
		snprintf(oc->result, sizeof(oc->result),
		    "%s (the command target has no --rollback: what the "
		    "command installed stays)",
		    why);
		return;
	}
	snprintf(e1, sizeof(e1), "CERTKEEP_NAME=%s", m->name);
	snprintf(e2s, sizeof(e2s), "CERTKEEP_TARGET_ID=%lld", (long long)id);
	snprintf(e3, sizeof(e3), "CERTKEEP_SHA256=%s", m->sha256);
	env[0] = e1, env[1] = e2s, env[2] = e3;
	env[3] = (char *)"CERTKEEP_PHASE=rollback", env[4] = NULL;
	r = dp_run(c->rollback, env, NULL, 0, c->timeout, &status, &out, &e2);
	if (r == 0 && status != 0)
		r = ck_err_set(&e2, CK_E_INVAL, "rollback '%.200s' exited %d",
		    c->rollback, status);
	add_output(oc, "rollback", &out);
	ck_buf_release(&out);
	if (r != 0) {
		snprintf(oc->result, sizeof(oc->result), "%s; %s", why, e2.msg);
		return;
	}
	oc->state = "rolled_back";
	if (reload(c, m, id, "rollback", oc, &e2) != 0)
		snprintf(oc->result, sizeof(oc->result),
		    "%s; rolled back, but the reload after it failed: %s", why,
		    e2.msg);
	else
		snprintf(oc->result, sizeof(oc->result), "%s; rolled back%s",
		    why, c->reload ? " and reloaded" : "");
}

/* The previous files back, and the service reloaded onto them. */
static void
roll_back(const struct ck_target_conf *c, const struct dp_material *m,
    int64_t id, struct dp_fileset *fs, const char *why, struct outcome *oc)
{
	struct ck_err e2 = {0};

	oc->state = "rolled_back";
	if (dp_fileset_restore(fs, &e2) != 0) {
		snprintf(oc->result, sizeof(oc->result),
		    "%s; restoring the previous files failed: %s", why, e2.msg);
		oc->state = "failed";
		return;
	}
	if (reload(c, m, id, "rollback", oc, &e2) != 0)
		snprintf(oc->result, sizeof(oc->result),
		    "%s; previous files restored, but the reload after the "
		    "restore failed: %s",
		    why, e2.msg);
	else
		snprintf(oc->result, sizeof(oc->result),
		    "%s; previous files restored%s", why,
		    c->reload ? " and reloaded" : "");
}

static int
mark(struct ck_store *st, int64_t id, const char *note, int64_t now,
    struct ck_err *err)
{
	int r;

	if ((r = ck_store_begin(st, err)) != 0)
		return r;
	if ((r = ck_store_target_set(
	         st, id, -1, "deploying", note, NULL, now, err)) == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
	return r;
}

static void
deploy_one(struct ck_store *st, const struct dp_material *m,
    const struct target *t, const struct ck_target_conf *c, int64_t now,
    struct outcome *oc)
{
	struct dp_fileset fs = {0};
	struct ck_err e = {0};
	char seen[65], note[160];
	bool is_cmd = strcmp(t->kind, "command") == 0;
	int r;

	oc->state = "failed";
	if (is_cmd)
		r = 0;
	else if (strcmp(t->kind, "pkcs12") == 0)
		r = dp_pkcs12_stage(m, c, &fs, &e);
	else
		r = dp_file_stage(m, c, &fs, &e);
	if (r != 0) {
		snprintf(oc->result, sizeof(oc->result), "%s; nothing changed",
		    e.msg);
		goto out;
	}
	snprintf(note, sizeof(note), "deploying certificate %lld%s",
	    (long long)m->cert_id,
	    strcmp(t->state, "deploying") == 0
	        ? " (the previous attempt was interrupted)"
	        : "");
	/* the agent deploys without a store: its report records it */
	if (st != NULL && (r = mark(st, t->id, note, now, &e)) != 0) {
		snprintf(oc->result, sizeof(oc->result), "%s", e.msg);
		goto out;
	}
	if (is_cmd) {
		struct ck_buf out = CK_BUF_INIT;
		r = dp_command_run(m, c, t->id, &out, &e);
		add_output(oc, "command", &out);
		ck_buf_release(&out);
		if (r != 0) {
			snprintf(oc->result, sizeof(oc->result), "%s", e.msg);
			goto out;
		}
	} else if ((r = dp_fileset_commit(&fs, &e)) != 0) {
		snprintf(oc->result, sizeof(oc->result),
		    "%s; the previous files were kept", e.msg);
		goto out;
	}
	if ((r = reload(c, m, t->id, "deploy", oc, &e)) != 0) {
		if (is_cmd)
			cmd_roll_back(c, m, t->id, e.msg, oc);
		else
			roll_back(c, m, t->id, &fs, e.msg, oc);
		goto out;
	}
	if (c->verify != NULL &&
	    (r = dp_verify(c->verify, c->sni ? c->sni : m->first_name,
	         m->sha256, c->verify_timeout, seen, &e)) != 0) {
		char why[sizeof(e.msg) + 16];
		snprintf(why, sizeof(why), "verify: %s", e.msg);
		if (is_cmd)
			cmd_roll_back(c, m, t->id, why, oc);
		else
			roll_back(c, m, t->id, &fs, why, oc);
		goto out;
	}
	oc->state = "deployed";
	snprintf(oc->result, sizeof(oc->result), "deployed certificate %.16s%s",
	    m->sha256, c->verify ? ", verified at the endpoint" : "");
out:
	dp_fileset_release(&fs);
}

/* Records oc for target t in one commit; *alert_now when it alerts. */
static int
record(struct ck_store *st, const struct dp_material *m, const struct target *t,
    const struct outcome *oc, int64_t now, const char *actor, bool *alert_now,
    char *state, size_t state_len, struct ck_err *err)
{
	bool ok = strcmp(oc->state, "deployed") == 0;
	char key[300], action[64], *prev = NULL;
	struct ck_buf detail = CK_BUF_INIT;
	int r;

	*alert_now = false;
	snprintf(key, sizeof(key), "deploy_failed:%s:%lld", m->name,
	    (long long)t->id);
	snprintf(state, state_len, "%s:%lld", oc->state, (long long)m->cert_id);
	snprintf(action, sizeof(action), "deploy.%s", ok ? "ok" : oc->state);
	ck_buf_printf(&detail, "target %lld (%s), certificate %lld: %s",
	    (long long)t->id, t->kind, (long long)m->cert_id, oc->result);
	if ((r = ck_store_alert_state_get(st, key, &prev, err)) != 0)
		goto out;
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	if ((r = ck_store_target_set(st, t->id, ok ? m->cert_id : -1, oc->state,
	         oc->result, oc->output.len ? oc->output.p : "", now, err)) ==
	        0 &&
	    (r = ck_store_event_add(
	         st, actor, action, m->name, detail.p, err)) == 0) {
		if (ok)
			r = prev ? ck_store_alert_state_set(st, key, NULL, err)
			         : 0;
		else if (prev == NULL || strcmp(prev, state) != 0) {
			r = ck_store_alert_state_set(st, key, state, err);
			*alert_now = true;
		}
	}
	if (r == 0)
		r = ck_store_commit(st, err);
	if (r != 0) {
		ck_store_rollback(st);
		*alert_now = false;
	}
out:
	free(prev);
	ck_buf_release(&detail);
	return r;
}

int
ck_deploy_managed(struct ck_store *st, const uint8_t *mk, const char *name,
    int64_t now, const struct ck_deploy_opts *o, struct ck_deploy_stats *stats,
    struct ck_err *err)
{
	struct dp_material m;
	struct targets ts = {0};
	const char *actor = o->actor ? o->actor : "deployer";
	int r;

	memset(stats, 0, sizeof(*stats));
	if ((r = ck_store_target_list(st, name, take_target, &ts, err)) != 0)
		return r;
	if (ts.n == 0)
		goto done;
	{
		/* an agent's: the key is on its host, and so are the targets
		 * (NOTFOUND, so that a deploy job of it is done, not retried)
		 */
		char host[CK_AGENT_HOST_MAX + 1];
		bool held = false;
		if ((r = ck_store_agent_holder(st, name, host, &held, err)) !=
		    0)
			goto done;
		if (held) {
			r = ck_err_set(err, CK_E_NOTFOUND,
			    "%s is held by agent %s, which deploys it on its "
			    "host",
			    name, host);
			goto done;
		}
	}
	if ((r = load_material(st, mk, name, &m, err)) != 0)
		goto done;
	for (size_t i = 0; i < ts.n && r == 0; i++) {
		struct target *t = &ts.v[i];
		struct ck_target_conf c;
		struct outcome oc = {.output = CK_BUF_INIT};
		struct ck_err e = {0};
		char state[96];
		bool alert_now;

		if (o->only_target > 0 && t->id != o->only_target)
			continue;
		stats->targets++;
		if (!o->force && t->deployed_cert_id == m.cert_id &&
		    strcmp(t->state, "deployed") == 0) {
			stats->current++;
			continue;
		}
		if (ck_target_conf_parse(t->kind, t->config, &c, &e) != 0) {
			oc.state = "failed";
			snprintf(oc.result, sizeof(oc.result), "%s", e.msg);
		} else {
			deploy_one(st, &m, t, &c, now, &oc);
			ck_target_conf_release(&c);
		}
		/* a deployer killed midway left "deploying": say so */
		if (strcmp(t->state, "deploying") == 0) {
			size_t l = strlen(oc.result);
			snprintf(oc.result + l, sizeof(oc.result) - l,
			    " (after an interrupted attempt)");
		}
		if (strcmp(oc.state, "deployed") == 0)
			stats->deployed++;
		else if (strcmp(oc.state, "rolled_back") == 0)
			stats->rolled_back++;
		else
			stats->failed++;
		ck_log(strcmp(oc.state, "deployed") == 0 ? CK_LOG_INFO
		                                         : CK_LOG_WARN,
		    "deploy %s target %lld: %s", name, (long long)t->id,
		    oc.result);
		r = record(st, &m, t, &oc, now, actor, &alert_now, state,
		    sizeof(state), err);
		if (r == 0 && alert_now && o->alert != NULL) {
			char subject[300], text[1400];
			snprintf(subject, sizeof(subject), "%s:%lld", name,
			    (long long)t->id);
			snprintf(text, sizeof(text),
			    "deployment of %s to target %lld (%s) %s: %s", name,
			    (long long)t->id, t->kind,
			    strcmp(oc.state, "rolled_back") == 0
			        ? "was rolled back"
			        : "failed",
			    oc.result);
			struct ck_renew_alert a = {"deploy_failed", "critical",
			    subject, m.owner, state, text};
			o->alert(o->alert_ctx, &a);
		}
		ck_buf_release(&oc.output);
	}
	dp_material_release(&m);
done:
	for (size_t i = 0; i < ts.n; i++) {
		free(ts.v[i].kind);
		free(ts.v[i].config);
		free(ts.v[i].state);
	}
	free(ts.v);
	return r;
}

int
ck_deploy_local(const struct ck_deploy_local *d, struct ck_deploy_result *res,
    struct ck_err *err)
{
	struct dp_material m;
	struct ck_target_conf c;
	struct outcome oc = {.output = CK_BUF_INIT};
	struct target t = {
	    d->target_id, (char *)d->kind, (char *)d->config, (char *)"new", 0};
	uint8_t sha[32];
	int r;

	memset(&m, 0, sizeof(m));
	memset(res, 0, sizeof(*res));
	m.name = d->name;
	if ((r = ck_x509_first((const uint8_t *)d->leaf_pem,
	         strlen(d->leaf_pem), CK_ITEM_CERT, &m.leaf_der, err)) != 0)
		goto out;
	ck_sha256(m.leaf_der.p, m.leaf_der.len, sha);
	for (int i = 0; i < 32; i++)
		snprintf(m.sha256 + 2 * i, 3, "%02x", sha[i]);
	snprintf(m.first_name, sizeof(m.first_name), "%s", d->first_name);
	ck_buf_adds(&m.leaf_pem, d->leaf_pem);
	ck_buf_adds(&m.chain_pem, d->chain_pem);
	ck_buf_adds(&m.full_pem, d->leaf_pem);
	ck_buf_adds(&m.full_pem, d->chain_pem);
	ck_buf_add(&m.key_pem, d->key_pem, d->key_len);
	if ((r = ck_target_conf_parse(d->kind, d->config, &c, err)) != 0)
		goto out;
	deploy_one(NULL, &m, &t, &c, ck_now(), &oc);
	ck_target_conf_release(&c);
	snprintf(res->state, sizeof(res->state), "%s", oc.state);
	snprintf(res->result, sizeof(res->result), "%s", oc.result);
	snprintf(res->sha256, sizeof(res->sha256), "%s", m.sha256);
	res->output = oc.output;
	oc.output = (struct ck_buf)CK_BUF_INIT;
out:
	ck_buf_release(&oc.output);
	dp_material_release(&m);
	return r;
}
