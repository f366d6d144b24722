/*
 * Deployment targets (managed.h, migration 013): where each managed
 * certificate is installed and how its last deployment ended; and what
 * the discovery scans last saw at a place, for drift.
 */
#include "store/managed.h"
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"

static int
prep(struct ck_store *st, const char *sql, sqlite3_stmt **q, struct ck_err *err)
{
	return stmt_prepare(st, sql, q, "targets", err);
}

/* The lower-case hex of a 32-byte blob column into hex, or NULL. */
static const char *
col_hex(sqlite3_stmt *q, int i, char hex[65])
{
	const uint8_t *h = sqlite3_column_blob(q, i);

	if (h == NULL || sqlite3_column_bytes(q, i) != 32)
		return NULL;
	for (int k = 0; k < 32; k++)
		snprintf(hex + 2 * k, 3, "%02x", h[k]);
	return hex;
}

int
ck_store_target_add(struct ck_store *st, const struct ck_target_row *t,
    int64_t *id, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	NEED_TX("target_add");
	if ((r = prep(st, "SELECT 1 FROM managed WHERE name = ?1", &q, err)) !=
	    0)
		return r;
	bind_str(q, 1, t->managed);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE
		    ? ck_err_set(err, CK_E_NOTFOUND,
		          "no managed certificate '%s'", t->managed)
		    : db_err(st, rc, err, "managed");
	if ((r = prep(st,
	         "INSERT INTO targets(managed, kind, config, state, created, "
	         "actor) VALUES (?1, ?2, ?3, 'new', ?4, ?5)",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, t->managed);
	bind_str(q, 2, t->kind);
	bind_str(q, 3, t->config);
	sqlite3_bind_int64(q, 4, t->created);
	bind_str(q, 5, t->actor ? t->actor : "");
	r = step_write(st, q, err, "targets");
	sqlite3_finalize(q);
	if (r == 0 && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	return r;
}

int
ck_store_target_list(struct ck_store *st, const char *managed,
    ck_target_row_cb cb, void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if ((r = prep(st,
	         "SELECT t.id, t.managed, t.kind, t.config, "
	         "COALESCE(t.deployed_cert_id, 0), t.state, t.last_result, "
	         "t.last_output, t.last_attempt, t.created, t.actor, "
	         "COALESCE(m.cert_id, 0), c.sha256, d.sha256 FROM targets t "
	         "LEFT JOIN managed m ON m.name = t.managed LEFT JOIN "
	         "certificates c ON c.id = m.cert_id LEFT JOIN certificates d "
	         "ON d.id = t.deployed_cert_id WHERE ?1 IS NULL OR t.managed "
	         "= ?1 ORDER BY t.managed, t.id",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, managed);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char h1[65], h2[65];
		struct ck_target_row t = {
		    .id = sqlite3_column_int64(q, 0),
		    .managed = col_str(q, 1),
		    .kind = col_str(q, 2),
		    .config = col_str(q, 3),
		    .deployed_cert_id = sqlite3_column_int64(q, 4),
		    .state = col_str(q, 5),
		    .last_result = col_str(q, 6),
		    .last_output = col_str(q, 7),
		    .last_attempt = sqlite3_column_int64(q, 8),
		    .created = sqlite3_column_int64(q, 9),
		    .actor = col_str(q, 10),
		    .current_cert_id = sqlite3_column_int64(q, 11),
		    .current_sha256 = col_hex(q, 12, h1),
		    .deployed_sha256 = col_hex(q, 13, h2),
		};
		if ((r = cb(ctx, &t)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "targets");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_target_remove(
    struct ck_store *st, const char *managed, int64_t id, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("target_remove");
	if ((r = prep(st, "DELETE FROM targets WHERE id = ?1 AND managed = ?2",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, id);
	bind_str(q, 2, managed);
	r = step_write(st, q, err, "targets");
	sqlite3_finalize(q);
	if (r == 0 && sqlite3_changes(st->db) == 0)
		return ck_err_set(err, CK_E_NOTFOUND, "%s has no target %lld",
		    managed, (long long)id);
	return r;
}

int
ck_store_target_set(struct ck_store *st, int64_t id, int64_t deployed_cert_id,
    const char *state, const char *last_result, const char *last_output,
    int64_t at, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	NEED_TX("target_set");
	if ((r = prep(st,
	         "UPDATE targets SET state = ?2, last_result = ?3, "
	         "last_output = COALESCE(?4, last_output), last_attempt = ?5, "
	         "deployed_cert_id = CASE WHEN ?6 < 0 THEN deployed_cert_id "
	         "WHEN ?6 = 0 THEN NULL ELSE ?6 END WHERE id = ?1",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, id);
	bind_str(q, 2, state);
	bind_str(q, 3, last_result ? last_result : "");
	bind_str(q, 4, last_output);
	sqlite3_bind_int64(q, 5, at);
	sqlite3_bind_int64(q, 6, deployed_cert_id);
	r = step_write(st, q, err, "targets");
	sqlite3_finalize(q);
	if (r == 0 && sqlite3_changes(st->db) == 0)
		return ck_err_set(
		    err, CK_E_NOTFOUND, "no target %lld", (long long)id);
	return r;
}

int
ck_store_target_count(
    struct ck_store *st, const char *managed, int64_t *n, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	*n = 0;
	if ((r = prep(st, "SELECT count(*) FROM targets WHERE managed = ?1", &q,
	         err)) != 0)
		return r;
	bind_str(q, 1, managed);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*n = sqlite3_column_int64(q, 0);
	else
		r = db_err(st, rc, err, "targets");
	sqlite3_finalize(q);
	return r;
}

int
ck_store_place_seen(struct ck_store *st, const char *place, bool *found,
    int64_t *cert_id, char sha256[65], int64_t *seen, char status[32],
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	*found = false;
	*cert_id = 0;
	*seen = 0;
	sha256[0] = '\0';
	status[0] = '\0';
	/* scan_results has no index by place: this reads the table once
	 * per target, which `deploy status` can afford (a few targets per
	 * managed certificate); an index would cost every scan's writes */
	if ((r = prep(st,
	         "SELECT COALESCE(r.cert_id, 0), c.sha256, s.started, r.status "
	         "FROM scan_results r JOIN scans s ON s.id = r.scan_id LEFT "
	         "JOIN certificates c ON c.id = r.cert_id WHERE r.place = ?1 "
	         "AND s.finished IS NOT NULL ORDER BY r.scan_id DESC LIMIT 1",
	         &q, err)) != 0)
		return r;
	bind_str(q, 1, place);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char hex[65];
		const char *h = col_hex(q, 1, hex);
		*found = true;
		*cert_id = sqlite3_column_int64(q, 0);
		snprintf(sha256, 65, "%s", h ? h : "");
		*seen = sqlite3_column_int64(q, 2);
		snprintf(status, 32, "%s", col_str(q, 3) ? col_str(q, 3) : "");
	} else if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "scan_results");
	sqlite3_finalize(q);
	return r;
}
