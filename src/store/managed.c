/*
 * Issuer connectors, managed certificates and the job queue (managed.h).
 * One-off statements: these rows change at the pace of renewals, and a
 * prepare (6-9 us) is small next to the signature each renewal costs.
 */
#include "store/managed.h"
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"

static int
run(struct ck_store *st, const char *sql, sqlite3_stmt **q, struct ck_err *err)
{
	return stmt_prepare(st, sql, q, "managed", err);
}

/* step_write() result, with a UNIQUE violation as CK_E_EXISTS. */
static int
unique(struct ck_store *st, int r)
{
	if (r != 0 &&
	    sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE)
		return CK_E_EXISTS;
	return r;
}

/* A one-statement write that must change a row: CK_E_NOTFOUND when none. */
static int
write_one(struct ck_store *st, sqlite3_stmt *q, const char *what,
    const char *name, struct ck_err *err)
{
	int r = step_write(st, q, err, what);

	sqlite3_finalize(q);
	if (r == 0 && sqlite3_changes(st->db) == 0)
		return ck_err_set(err, CK_E_NOTFOUND, "no %s '%s'", what, name);
	return r;
}

/* ---- issuers ---- */

int
ck_store_issuer_add(struct ck_store *st, const struct ck_issuer_row *r,
    int64_t *id, struct ck_err *err)
{
	sqlite3_stmt *q;
	int rc;

	NEED_TX("issuer_add");
	if ((rc = run(st,
	         "INSERT INTO issuers(name, type, config, secrets, "
	         "account_url, created, actor) VALUES (?1, ?2, ?3, ?4, ?5, "
	         "?6, ?7)",
	         &q, err)) != 0)
		return rc;
	bind_str(q, 1, r->name);
	bind_str(q, 2, r->type);
	bind_str(q, 3, r->config);
	if (r->secrets != NULL)
		sqlite3_bind_blob(
		    q, 4, r->secrets, (int)r->secrets_len, SQLITE_STATIC);
	bind_str(q, 5, r->account_url);
	sqlite3_bind_int64(q, 6, r->created);
	bind_str(q, 7, r->actor);
	rc = unique(st, step_write(st, q, err, "issuers"));
	sqlite3_finalize(q);
	if (rc == CK_E_EXISTS)
		return ck_err_set(
		    err, CK_E_EXISTS, "issuer '%s' already exists", r->name);
	if (rc == 0 && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int
ck_store_issuer_list(struct ck_store *st, const char *name, ck_issuer_row_cb cb,
    void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc, n = 0;

	if ((r = run(st,
	         "SELECT id, name, type, config, secrets, account_url, "
	         "failures, open_until, created, actor FROM issuers WHERE "
	         "?1 IS NULL OR name = ?1 ORDER BY name",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct ck_issuer_row row = {
		    .id = sqlite3_column_int64(q, 0),
		    .name = col_str(q, 1),
		    .type = col_str(q, 2),
		    .config = col_str(q, 3),
		    .secrets = sqlite3_column_blob(q, 4),
		    .secrets_len = (size_t)sqlite3_column_bytes(q, 4),
		    .account_url = col_str(q, 5),
		    .failures = sqlite3_column_int(q, 6),
		    .open_until = sqlite3_column_int64(q, 7),
		    .created = sqlite3_column_int64(q, 8),
		    .actor = col_str(q, 9),
		};
		n++;
		if ((r = cb(ctx, &row)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "issuers");
	sqlite3_finalize(q);
	if (r == 0 && n == 0 && name != NULL)
		return ck_err_set(err, CK_E_NOTFOUND, "no issuer '%s'", name);
	return r;
}

int
ck_store_issuer_set_account(struct ck_store *st, const char *name,
    const uint8_t *secrets, size_t len, const char *account_url,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("issuer_set_account");
	if ((r = run(st,
	         "UPDATE issuers SET secrets = ?2, account_url = ?3 WHERE "
	         "name = ?1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	if (secrets != NULL)
		sqlite3_bind_blob(q, 2, secrets, (int)len, SQLITE_STATIC);
	bind_str(q, 3, account_url);
	return write_one(st, q, "issuer", name, err);
}

int
ck_store_issuer_health(struct ck_store *st, const char *name, int failures,
    int64_t open_until, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("issuer_health");
	if ((r = run(st,
	         "UPDATE issuers SET failures = ?2, open_until = ?3 WHERE "
	         "name = ?1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	sqlite3_bind_int(q, 2, failures);
	sqlite3_bind_int64(q, 3, open_until);
	return write_one(st, q, "issuer", name, err);
}

int
ck_store_issuer_delete(
    struct ck_store *st, const char *name, struct ck_err *err)
{
	sqlite3_stmt *q;
	int64_t users = 0;
	int r;

	NEED_TX("issuer_delete");
	if ((r = run(st,
	         "SELECT count(*) FROM managed WHERE issuer = ?1 AND state "
	         "!= 'retired'",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	if (sqlite3_step(q) == SQLITE_ROW)
		users = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (users > 0)
		return ck_err_set(err, CK_E_PERM,
		    "issuer '%s' still issues %lld managed certificate(s); "
		    "move or retire them first",
		    name, (long long)users);
	if ((r = run(st, "DELETE FROM issuers WHERE name = ?1", &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	return write_one(st, q, "issuer", name, err);
}

/* ---- managed certificates ---- */

int
ck_store_managed_add(struct ck_store *st, const struct ck_managed_row *m,
    int64_t *id, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("managed_add");
	if ((r = run(st,
	         "INSERT INTO managed(name, cn, sans, key_type, issuer, "
	         "profile, days, renew_frac, renew_before, reuse_key, owner, "
	         "contact, tags, key_out, cert_out, chain_out, state, "
	         "next_action, renew_at, created, updated, actor, cert_id) "
	         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
	         "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?20, ?21, ?22)",
	         &q, err)) != 0)
		return r;
	const char *strs[] = {
	    m->name, m->cn, m->sans, m->key_type, m->issuer, m->profile};
	for (int i = 0; i < 6; i++)
		bind_str(q, i + 1, strs[i] ? strs[i] : "");
	sqlite3_bind_int(q, 7, m->days);
	sqlite3_bind_int(q, 8, m->renew_frac);
	sqlite3_bind_int64(q, 9, m->renew_before);
	sqlite3_bind_int(q, 10, m->reuse_key);
	const char *more[] = {m->owner, m->contact, m->tags, m->key_out,
	    m->cert_out, m->chain_out, m->state};
	for (int i = 0; i < 7; i++)
		bind_str(q, i + 11, more[i] ? more[i] : "");
	sqlite3_bind_int64(q, 18, m->next_action);
	sqlite3_bind_int64(q, 19, m->renew_at);
	sqlite3_bind_int64(q, 20, m->created);
	bind_str(q, 21, m->actor ? m->actor : "");
	if (m->cert_id > 0)
		sqlite3_bind_int64(q, 22, m->cert_id);
	r = unique(st, step_write(st, q, err, "managed"));
	sqlite3_finalize(q);
	if (r == CK_E_EXISTS)
		return ck_err_set(err, CK_E_EXISTS,
		    "a managed certificate '%s' already exists", m->name);
	if (r == 0 && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	return r;
}

#define MANAGED_COLUMNS                                                    \
	"m.id, m.name, m.cn, m.sans, m.key_type, m.issuer, m.profile, "    \
	"m.days, m.renew_frac, m.renew_before, m.reuse_key, m.owner, "     \
	"m.contact, m.tags, m.key_out, m.cert_out, m.chain_out, m.state, " \
	"COALESCE(m.cert_id, 0), %s, COALESCE(m.written_cert_id, 0), "     \
	"m.next_action, m.renew_at, m.ari_checked, m.failures, "           \
	"m.last_error, m.last_alert, m.issued_count, m.created, "          \
	"m.updated, m.actor, COALESCE(c.not_before, 0), "                  \
	"COALESCE(c.not_after, 0), c.sha256"

int
ck_store_managed_list(struct ck_store *st, const struct ck_managed_filter *f,
    ck_managed_row_cb cb, void *ctx, struct ck_err *err)
{
	char cols[1024], sql[4096];
	sqlite3_stmt *q;
	int r, rc, n = 0;

	snprintf(cols, sizeof(cols), MANAGED_COLUMNS,
	    f->with_key ? "m.key" : "NULL");
	/* Only the conditions in use go into the SQL: "?1 IS NULL OR
	 * m.name = ?1" would keep SQLite from the name index, and a lookup by
	 * name (the renewer does one per job) would scan the table. */
	char where[1024] = "m.id > ?7";
	const struct {
		bool on;
		const char *cond;
	} conds[] = {
	    {f->name != NULL, " AND m.name = ?1"},
	    {f->issuer != NULL, " AND m.issuer = ?2"},
	    {f->state != NULL, " AND m.state = ?3"},
	    {f->owner != NULL, " AND m.owner = ?4"},
	    {f->tag != NULL,
	        " AND instr(',' || m.tags || ',', ',' || ?5 || ',') > 0"},
	    {f->san != NULL,
	        " AND (instr(',' || m.sans || ',', ':' || ?6 || "
	        "',') > 0 OR m.cn = ?6)"},
	    {f->unwritten,
	        " AND m.cert_id IS NOT NULL AND COALESCE(m.written_cert_id, "
	        "0) != m.cert_id AND m.state != 'retired' AND (m.key_out != "
	        "'' OR m.cert_out != '' OR m.chain_out != '') AND ?9"},
	};
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
		if (conds[i].on)
			strncat(where, conds[i].cond,
			    sizeof(where) - strlen(where) - 1);
	snprintf(sql, sizeof(sql),
	    "SELECT %s FROM managed m LEFT JOIN certificates c ON c.id = "
	    "m.cert_id WHERE %s ORDER BY m.id LIMIT ?8",
	    cols, where);
	if ((r = run(st, sql, &q, err)) != 0)
		return r;
	bind_str(q, 1, f->name);
	bind_str(q, 2, f->issuer);
	bind_str(q, 3, f->state);
	bind_str(q, 4, f->owner);
	bind_str(q, 5, f->tag);
	bind_str(q, 6, f->san);
	sqlite3_bind_int64(q, 7, f->after_id);
	sqlite3_bind_int64(q, 8, f->limit > 0 ? f->limit : -1);
	sqlite3_bind_int(q, 9, f->unwritten);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct ck_managed_row m = {0};
		int c = 0;

		m.id = sqlite3_column_int64(q, c++);
		m.name = col_str(q, c++);
		m.cn = col_str(q, c++);
		m.sans = col_str(q, c++);
		m.key_type = col_str(q, c++);
		m.issuer = col_str(q, c++);
		m.profile = col_str(q, c++);
		m.days = sqlite3_column_int(q, c++);
		m.renew_frac = sqlite3_column_int(q, c++);
		m.renew_before = sqlite3_column_int64(q, c++);
		m.reuse_key = sqlite3_column_int(q, c++) != 0;
		m.owner = col_str(q, c++);
		m.contact = col_str(q, c++);
		m.tags = col_str(q, c++);
		m.key_out = col_str(q, c++);
		m.cert_out = col_str(q, c++);
		m.chain_out = col_str(q, c++);
		m.state = col_str(q, c++);
		m.cert_id = sqlite3_column_int64(q, c++);
		m.key = sqlite3_column_blob(q, c);
		m.key_len = (size_t)sqlite3_column_bytes(q, c++);
		m.written_cert_id = sqlite3_column_int64(q, c++);
		m.next_action = sqlite3_column_int64(q, c++);
		m.renew_at = sqlite3_column_int64(q, c++);
		m.ari_checked = sqlite3_column_int64(q, c++);
		m.failures = sqlite3_column_int(q, c++);
		m.last_error = col_str(q, c++);
		m.last_alert = col_str(q, c++);
		m.issued_count = sqlite3_column_int64(q, c++);
		m.created = sqlite3_column_int64(q, c++);
		m.updated = sqlite3_column_int64(q, c++);
		m.actor = col_str(q, c++);
		m.not_before = sqlite3_column_int64(q, c++);
		m.not_after = sqlite3_column_int64(q, c++);
		m.sha256 = NULL;
		char hex[65];
		if (sqlite3_column_bytes(q, c) == 32) {
			const uint8_t *h = sqlite3_column_blob(q, c);
			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", h[i]);
			m.sha256 = hex;
		}
		n++;
		if ((r = cb(ctx, &m)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "managed");
	sqlite3_finalize(q);
	if (r == 0 && n == 0 && f->name != NULL)
		return ck_err_set(
		    err, CK_E_NOTFOUND, "no managed certificate '%s'", f->name);
	return r;
}

int
ck_store_managed_counts(struct ck_store *st, int64_t *pending, int64_t *active,
    int64_t *failing, int64_t *retired, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if (pending)
		*pending = 0;
	if (active)
		*active = 0;
	if (failing)
		*failing = 0;
	if (retired)
		*retired = 0;
	if ((r = run(st, "SELECT state, count(*) FROM managed GROUP BY state",
	         &q, err)) != 0)
		return r;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *s = col_str(q, 0);
		int64_t n = sqlite3_column_int64(q, 1);

		if (strcmp(s, "pending") == 0 && pending)
			*pending = n;
		else if (strcmp(s, "active") == 0 && active)
			*active = n;
		else if (strcmp(s, "failing") == 0 && failing)
			*failing = n;
		else if (strcmp(s, "retired") == 0 && retired)
			*retired = n;
	}
	if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "managed");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_managed_issued(struct ck_store *st, const char *name, int64_t cert_id,
    const uint8_t *key, size_t key_len, int64_t renew_at, int64_t next_action,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("managed_issued");
	if ((r = run(st,
	         "UPDATE managed SET cert_id = ?2, key = ?3, renew_at = ?4, "
	         "next_action = ?5, state = 'active', failures = 0, "
	         "last_error = '', issued_count = issued_count + 1, "
	         "ari_checked = 0, updated = ?6 WHERE name = ?1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	sqlite3_bind_int64(q, 2, cert_id);
	sqlite3_bind_blob(q, 3, key, (int)key_len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, renew_at);
	sqlite3_bind_int64(q, 5, next_action);
	sqlite3_bind_int64(q, 6, ck_now());
	return write_one(st, q, "managed certificate", name, err);
}

int
ck_store_managed_schedule(struct ck_store *st, const char *name,
    int64_t next_action, const char *state, int failures,
    const char *last_error, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("managed_schedule");
	if ((r = run(st,
	         "UPDATE managed SET next_action = ?2, state = COALESCE(?3, "
	         "state), failures = CASE WHEN ?4 >= 0 THEN ?4 ELSE failures "
	         "END, last_error = COALESCE(?5, last_error), updated = ?6 "
	         "WHERE name = ?1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	sqlite3_bind_int64(q, 2, next_action);
	bind_str(q, 3, state);
	sqlite3_bind_int(q, 4, failures);
	bind_str(q, 5, last_error);
	sqlite3_bind_int64(q, 6, ck_now());
	return write_one(st, q, "managed certificate", name, err);
}

int
ck_store_managed_window(struct ck_store *st, const char *name, int64_t renew_at,
    int64_t next_action, int64_t ari_checked, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("managed_window");
	if ((r = run(st,
	         "UPDATE managed SET renew_at = ?2, next_action = ?3, "
	         "ari_checked = ?4 WHERE name = ?1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	sqlite3_bind_int64(q, 2, renew_at);
	sqlite3_bind_int64(q, 3, next_action);
	sqlite3_bind_int64(q, 4, ari_checked);
	return write_one(st, q, "managed certificate", name, err);
}

/* name is ?1, text ?2 and num ?3; a statement may leave some unused. */
static int
set_text(struct ck_store *st, const char *sql, const char *name,
    const char *text, int64_t num, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("managed update");
	if ((r = run(st, sql, &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	bind_str(q, 2, text);
	sqlite3_bind_int64(q, 3, num);
	return write_one(st, q, "managed certificate", name, err);
}

int
ck_store_managed_written(
    struct ck_store *st, const char *name, int64_t cert_id, struct ck_err *err)
{
	return set_text(st,
	    "UPDATE managed SET written_cert_id = ?3 WHERE name = ?1", name,
	    NULL, cert_id, err);
}

int
ck_store_managed_alerted(struct ck_store *st, const char *name,
    const char *alert_state, struct ck_err *err)
{
	return set_text(st,
	    "UPDATE managed SET last_alert = ?2 WHERE name = ?1", name,
	    alert_state, 0, err);
}

int
ck_store_managed_move(struct ck_store *st, const char *name, const char *issuer,
    const char *key_type, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("managed_move");
	if ((r = run(st,
	         "UPDATE managed SET issuer = COALESCE(?2, issuer), key_type "
	         "= COALESCE(?3, key_type), updated = ?4 WHERE name = ?1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, name);
	bind_str(q, 2, issuer);
	bind_str(q, 3, key_type);
	sqlite3_bind_int64(q, 4, ck_now());
	return write_one(st, q, "managed certificate", name, err);
}

int
ck_store_managed_due(struct ck_store *st, int64_t now, int64_t limit,
    int (*cb)(void *ctx, const char *name), void *ctx, int64_t *next,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r = 0, rc;

	*next = INT64_MAX;
	if ((r = run(st,
	         "SELECT name FROM managed WHERE next_action <= ?1 AND state "
	         "!= 'retired' ORDER BY next_action LIMIT ?2",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if ((r = cb(ctx, col_str(q, 0))) != 0)
			break;
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "managed");
	sqlite3_finalize(q);
	if (r != 0)
		return r;
	/* Retired rows keep next_action at INT64_MAX, so the index alone
	 * answers: the first row in next_action order. */
	if ((r = run(st,
	         "SELECT next_action FROM managed WHERE state != 'retired' "
	         "ORDER BY next_action LIMIT 1",
	         &q, err)) != 0)
		return r;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*next = sqlite3_column_int64(q, 0);
	else if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "managed");
	sqlite3_finalize(q);
	return r;
}

/* ---- jobs ---- */

int
ck_store_job_put(struct ck_store *st, const char *kind, const char *subject,
    int64_t run_at, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("job_put");
	if ((r = run(st,
	         "INSERT INTO jobs(kind, subject, run_at, created) VALUES "
	         "(?1, ?2, ?3, ?4) ON CONFLICT(kind, subject) DO UPDATE SET "
	         "run_at = min(run_at, excluded.run_at)",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, kind);
	bind_str(q, 2, subject);
	sqlite3_bind_int64(q, 3, run_at);
	sqlite3_bind_int64(q, 4, ck_now());
	r = step_write(st, q, err, "jobs");
	sqlite3_finalize(q);
	return r;
}

static int
job_rows(struct ck_store *st, sqlite3_stmt *q, ck_job_row_cb cb, void *ctx,
    struct ck_err *err)
{
	int r = 0, rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct ck_job_row j = {
		    .id = sqlite3_column_int64(q, 0),
		    .kind = col_str(q, 1),
		    .subject = col_str(q, 2),
		    .run_at = sqlite3_column_int64(q, 3),
		    .attempts = sqlite3_column_int(q, 4),
		    .lease_owner = col_str(q, 5),
		    .lease_until = sqlite3_column_int64(q, 6),
		    .last_error = col_str(q, 7),
		    .created = sqlite3_column_int64(q, 8),
		};
		if (cb != NULL && (r = cb(ctx, &j)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "jobs");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_job_claim(struct ck_store *st, const char *kind, const char *subject,
    const char *owner, int64_t now, int64_t lease, int64_t limit,
    ck_job_row_cb cb, void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("job_claim");
	/* One statement claims and returns: the writers' lock (and, with
	 * PostgreSQL, FOR UPDATE SKIP LOCKED) keeps two claimers apart. */
	if ((r = run(st,
	         "UPDATE jobs SET lease_owner = ?2, lease_until = ?3 + ?4, "
	         "attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs "
	         "WHERE kind = ?1 AND run_at <= ?3 AND lease_until <= ?3 "
	         "AND (?6 IS NULL OR subject = ?6) ORDER BY run_at LIMIT ?5) "
	         "RETURNING id, kind, subject, "
	         "run_at, attempts, lease_owner, lease_until, last_error, "
	         "created",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, kind);
	bind_str(q, 2, owner);
	sqlite3_bind_int64(q, 3, now);
	sqlite3_bind_int64(q, 4, lease);
	sqlite3_bind_int64(q, 5, limit > 0 ? limit : -1);
	bind_str(q, 6, subject);
	return job_rows(st, q, cb, ctx, err);
}

int
ck_store_job_done(struct ck_store *st, int64_t id, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("job_done");
	if ((r = run(st, "DELETE FROM jobs WHERE id = ?1", &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, id);
	r = step_write(st, q, err, "jobs");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_job_retry(struct ck_store *st, int64_t id, int64_t run_at,
    const char *error, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("job_retry");
	if ((r = run(st,
	         "UPDATE jobs SET run_at = ?2, lease_owner = NULL, "
	         "lease_until = 0, last_error = ?3 WHERE id = ?1",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, run_at);
	bind_str(q, 3, error ? error : "");
	r = step_write(st, q, err, "jobs");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_job_next(
    struct ck_store *st, const char *kind, int64_t *next, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if ((r = run(st,
	         "SELECT run_at FROM jobs WHERE kind = ?1 ORDER BY run_at "
	         "LIMIT 1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, kind);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_int64(q, 0) < *next)
		*next = sqlite3_column_int64(q, 0);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "jobs");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_job_cancel(struct ck_store *st, const char *kind, const char *subject,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("job_cancel");
	if ((r = run(st, "DELETE FROM jobs WHERE kind = ?1 AND subject = ?2",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, kind);
	bind_str(q, 2, subject);
	r = step_write(st, q, err, "jobs");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_job_list(struct ck_store *st, const char *kind, ck_job_row_cb cb,
    void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	if ((r = run(st,
	         "SELECT id, kind, subject, run_at, attempts, lease_owner, "
	         "lease_until, last_error, created FROM jobs WHERE ?1 IS NULL "
	         "OR kind = ?1 ORDER BY run_at, id",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, kind);
	return job_rows(st, q, cb, ctx, err);
}

int
ck_store_managed_has_cert(
    struct ck_store *st, int64_t cert_id, bool *found, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	*found = false;
	if ((r = run(st,
	         "SELECT 1 FROM managed WHERE cert_id = ?1 AND state != "
	         "'retired' LIMIT 1",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, cert_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*found = true;
	else if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "managed");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_managed_stuck(struct ck_store *st, int64_t now, int64_t grace,
    int64_t limit, ck_managed_row_cb cb, void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	/* a full scan: this runs hourly, with the expiry rule */
	if ((r = run(st,
	         "SELECT name FROM managed WHERE state != 'retired' AND "
	         "failures = 0 AND ((state = 'pending' AND created < ?1) OR "
	         "(state != 'pending' AND renew_at > 0 AND renew_at < ?1)) "
	         "ORDER BY id LIMIT ?2",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, now - grace);
	sqlite3_bind_int64(q, 2, limit > 0 ? limit : -1);
	struct ck_strlist names = {0};
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		ck_strlist_add(&names, col_str(q, 0));
	if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "managed");
	sqlite3_finalize(q);
	for (size_t i = 0; i < names.n && r == 0; i++) {
		struct ck_managed_filter f = {.name = names.v[i]};
		r = ck_store_managed_list(st, &f, cb, ctx, err);
		if (r == CK_E_NOTFOUND)
			r = 0;
	}
	ck_strlist_release(&names);
	return r;
}
