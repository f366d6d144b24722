/*
 * Alert states (alert_states, migration 012: the last state delivered per
 * alert key, so an alert goes out once per change) and the expiry rule's
 * view of the inventory (managed.h declares both).
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
	return stmt_prepare(st, sql, q, "alert_states", err);
}

int
ck_store_alert_state_get(
    struct ck_store *st, const char *key, char **state, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	*state = NULL;
	if ((r = run(st, "SELECT state FROM alert_states WHERE key = ?1", &q,
	         err)) != 0)
		return r;
	bind_str(q, 1, key);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*state = ck_strdup(col_str(q, 0));
	else if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "alert_states");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_alert_state_set(
    struct ck_store *st, const char *key, const char *state, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("alert_state_set");
	if ((r = run(st,
	         state ? "INSERT INTO alert_states(key, state, updated) "
	                 "VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET "
	                 "state = excluded.state, updated = excluded.updated"
	               : "DELETE FROM alert_states WHERE key = ?1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, key);
	if (state != NULL) {
		bind_str(q, 2, state);
		sqlite3_bind_int64(q, 3, ck_now());
	}
	r = step_write(st, q, err, "alert_states");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_expiring(struct ck_store *st, int64_t from, int64_t until,
    bool discovered, int64_t limit,
    int (*cb)(void *ctx, const struct ck_expiring_row *r), void *ctx,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if ((r = run(st,
	         "SELECT lower(hex(c.sha256)), COALESCE(c.cn, c.subject), "
	         "c.not_after, m.owner, (SELECT count(*) FROM locations l "
	         "WHERE l.cert_id = c.id), m.id IS NOT NULL, a.state FROM "
	         "certificates c LEFT JOIN managed m ON m.cert_id = c.id AND "
	         "m.state != 'retired' LEFT JOIN alert_states a ON a.key = "
	         "'expiring:' || lower(hex(c.sha256)) WHERE c.is_ca = 0 AND "
	         "c.revoked_at IS NULL AND c.not_after >= ?1 AND c.not_after "
	         "< ?2 AND (?3 OR m.id IS NOT NULL) AND NOT EXISTS (SELECT 1 "
	         "FROM managed m2 WHERE m2.cn = c.cn AND m2.state != "
	         "'retired' AND m2.cert_id > c.id) ORDER BY c.not_after "
	         "LIMIT ?4",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, from);
	sqlite3_bind_int64(q, 2, until);
	sqlite3_bind_int(q, 3, discovered);
	sqlite3_bind_int64(q, 4, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct ck_expiring_row e = {
		    .sha256 = col_str(q, 0),
		    .name = col_str(q, 1),
		    .not_after = sqlite3_column_int64(q, 2),
		    .owner = col_str(q, 3),
		    .locations = sqlite3_column_int(q, 4),
		    .managed = sqlite3_column_int(q, 5) != 0,
		    .prev_state = col_str(q, 6),
		};
		if (e.owner != NULL && e.owner[0] == '\0')
			e.owner = NULL;
		if ((r = cb(ctx, &e)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "certificates");
	sqlite3_finalize(q);
	return r;
}
