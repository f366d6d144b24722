/*
 * The agent's rows (agents.h, migration 016): enrolment tokens by hash,
 * agents by host with the fingerprint of the client certificate each
 * must present, and which managed certificates each agent holds.
 * Checking tokens (constant-time comparison, expiry) is the lifecycle
 * layer's; the store only keeps and finds rows.
 */
#include "store/agents.h"
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

static int
prep(struct ck_store *st, const char *sql, sqlite3_stmt **q, struct ck_err *err)
{
	return stmt_prepare(st, sql, q, "agents", err);
}

/* Runs a write and finalizes it; CK_E_NOTFOUND when it changed no row
 * and must. */
static int
write_q(struct ck_store *st, sqlite3_stmt *q, bool must, const char *what,
    const char *name, struct ck_err *err)
{
	int r = step_write(st, q, err, what);

	sqlite3_finalize(q);
	if (r == 0 && must && sqlite3_changes(st->db) == 0)
		return ck_err_set(err, CK_E_NOTFOUND, "no %s '%s'", what, name);
	return r;
}

/* ---- tokens ---- */

int
ck_store_agent_token_add(struct ck_store *st, const char *host,
    const uint8_t hash[32], int64_t created, int64_t expires, const char *actor,
    int64_t *id, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	*id = 0;
	NEED_TX("agent_token_add");
	if ((r = prep(st,
	         "INSERT INTO agent_tokens(host, hash, created, expires, "
	         "actor) VALUES (?1, ?2, ?3, ?4, ?5)",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, host);
	sqlite3_bind_blob(q, 2, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, created);
	sqlite3_bind_int64(q, 4, expires);
	bind_str(q, 5, actor);
	if ((r = write_q(st, q, false, "agent token", host, err)) == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return r;
}

int
ck_store_agent_token_find(struct ck_store *st, const uint8_t hash[32],
    int (*cb)(void *ctx, const struct ck_agent_token_row *t), void *ctx,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if ((r = prep(st,
	         "SELECT id, host, hash, created, expires, used FROM "
	         "agent_tokens WHERE hash = ?1",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 2) == 32) {
		struct ck_agent_token_row t = {sqlite3_column_int64(q, 0),
		    col_str(q, 1), sqlite3_column_blob(q, 2),
		    sqlite3_column_int64(q, 3), sqlite3_column_int64(q, 4),
		    sqlite3_column_int64(q, 5)};
		r = cb(ctx, &t);
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		r = ck_err_set(err, CK_E_NOTFOUND, "unknown agent token");
	else
		r = db_err(st, rc, err, "agent_tokens");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_agent_token_use(
    struct ck_store *st, int64_t id, int64_t now, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("agent_token_use");
	if ((r = prep(st,
	         "UPDATE agent_tokens SET used = ?2 WHERE id = ?1 AND "
	         "used = 0",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, now);
	r = write_q(st, q, true, "agent token", "", err);
	if (r == CK_E_NOTFOUND)
		r = ck_err_set(err, CK_E_PERM, "agent token already used");
	return r;
}

/* ---- agents ---- */

int
ck_store_agent_put(struct ck_store *st, const char *host, const char *serial,
    const char *sha256, int64_t not_after, bool renew, int64_t now,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("agent_put");
	if (renew)
		r = prep(st,
		    "UPDATE agents SET prev_sha256 = sha256, serial = ?2, "
		    "sha256 = ?3, not_after = ?4, last_seen = ?5 WHERE host "
		    "= ?1 AND state = 'active'",
		    &q, err);
	else
		r = prep(st,
		    "INSERT INTO agents(host, serial, sha256, not_after, "
		    "enrolled, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
		    "ON CONFLICT(host) DO UPDATE SET serial = ?2, sha256 = ?3, "
		    "prev_sha256 = '', not_after = ?4, enrolled = ?5, "
		    "last_seen = ?5, state = 'active'",
		    &q, err);
	if (r != 0)
		return r;
	bind_str(q, 1, host);
	bind_str(q, 2, serial);
	bind_str(q, 3, sha256);
	sqlite3_bind_int64(q, 4, not_after);
	sqlite3_bind_int64(q, 5, now);
	return write_q(st, q, renew, "agent", host, err);
}

int
ck_store_agent_list(struct ck_store *st, const char *host, ck_agent_row_cb cb,
    void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc, n = 0;

	if ((r = prep(st,
	         "SELECT host, serial, sha256, prev_sha256, not_after, state, "
	         "enrolled, last_seen, version, (SELECT COUNT(*) FROM "
	         "agent_assign g WHERE g.host = a.host) FROM agents a WHERE "
	         "?1 IS NULL OR host = ?1 ORDER BY host",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, host);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct ck_agent_row a = {col_str(q, 0), col_str(q, 1),
		    col_str(q, 2), col_str(q, 3), sqlite3_column_int64(q, 4),
		    col_str(q, 5), sqlite3_column_int64(q, 6),
		    sqlite3_column_int64(q, 7), col_str(q, 8),
		    sqlite3_column_int64(q, 9)};
		n++;
		if ((r = cb(ctx, &a)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "agents");
	else if (r == 0 && host != NULL && n == 0)
		r = ck_err_set(err, CK_E_NOTFOUND, "no agent '%s'", host);
	sqlite3_finalize(q);
	return r;
}

int
ck_store_agent_seen(struct ck_store *st, const char *host, const char *sha256,
    int64_t now, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	if ((r = prep(st,
	         "UPDATE agents SET last_seen = ?3, prev_sha256 = CASE WHEN "
	         "sha256 = ?2 THEN '' ELSE prev_sha256 END WHERE host = ?1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, host);
	bind_str(q, 2, sha256);
	sqlite3_bind_int64(q, 3, now);
	return write_q(st, q, false, "agent", host, err);
}

int
ck_store_agent_state(struct ck_store *st, const char *host, const char *state,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("agent_state");
	if ((r = prep(st, "UPDATE agents SET state = ?2 WHERE host = ?1", &q,
	         err)) != 0)
		return r;
	bind_str(q, 1, host);
	bind_str(q, 2, state);
	return write_q(st, q, true, "agent", host, err);
}

/* ---- assignments ---- */

int
ck_store_agent_assign(struct ck_store *st, const char *managed,
    const char *host, int64_t now, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	NEED_TX("agent_assign");
	if ((r = prep(st, "SELECT 1 FROM managed WHERE name = ?1", &q, err)) !=
	    0)
		return r;
	bind_str(q, 1, managed);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE
		    ? ck_err_set(err, CK_E_NOTFOUND,
		          "no managed certificate '%s'", managed)
		    : db_err(st, rc, err, "managed");
	if (*host == '\0')
		r = prep(
		    st, "DELETE FROM agent_assign WHERE managed = ?1", &q, err);
	else
		r = prep(st,
		    "INSERT INTO agent_assign(managed, host, created) VALUES "
		    "(?1, ?2, ?3) ON CONFLICT(managed) DO UPDATE SET host = "
		    "?2",
		    &q, err);
	if (r != 0)
		return r;
	bind_str(q, 1, managed);
	if (*host != '\0') {
		bind_str(q, 2, host);
		sqlite3_bind_int64(q, 3, now);
	}
	return write_q(st, q, false, "agent assignment", managed, err);
}

int
ck_store_agent_holder(struct ck_store *st, const char *managed,
    char host[CK_AGENT_HOST_MAX + 1], bool *held, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	*held = false;
	host[0] = '\0';
	if ((r = prep(st, "SELECT host FROM agent_assign WHERE managed = ?1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, managed);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*held = true;
		snprintf(host, CK_AGENT_HOST_MAX + 1, "%s", col_str(q, 0));
	} else if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "agent_assign");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_agent_managed(struct ck_store *st, const char *host,
    int (*cb)(void *ctx, const char *name), void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if ((r = prep(st,
	         "SELECT managed FROM agent_assign WHERE host = ?1 ORDER BY "
	         "managed",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, host);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if ((r = cb(ctx, col_str(q, 0))) != 0)
			break;
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "agent_assign");
	sqlite3_finalize(q);
	return r;
}
