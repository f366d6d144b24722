/*
 * Scan records and the difference between a scan and the previous scan of
 * the same scope, computed in SQL over the two result sets so that memory
 * does not grow with the number of endpoints.
 */
#include "store/store.h"
#include "store/store_int.h"

#include <string.h>

/* One-off statements: scans are rare next to the inventory writes. */
static int
run(struct ck_store *st, const char *sql, sqlite3_stmt **q, struct ck_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, q, NULL);

	return rc == SQLITE_OK ? 0 : db_err(st, rc, err, "scans");
}

int
ck_store_scan_begin(struct ck_store *st, const char *kind, const char *scope,
    const char *actor, int64_t started, int64_t *id, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	if (!st->in_tx)
		CK_BUG("scan_begin outside a transaction");
	if ((r = run(st,
	         "INSERT INTO scans(kind, scope, actor, started) "
	         "VALUES (?1, ?2, ?3, ?4)",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, started);
	r = step_write(st, q, err, "scans");
	sqlite3_finalize(q);
	if (r == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return r;
}

int
ck_store_scan_result(struct ck_store *st, int64_t scan_id, const char *place,
    int64_t cert_id, const char *status, struct ck_err *err)
{
	sqlite3_stmt *q;

	if (!st->in_tx)
		CK_BUG("scan_result outside a transaction");
	/* one per endpoint: the cached statement */
	if ((q = stmt_get(st, S_SCAN_RESULT, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(q, 1, scan_id);
	sqlite3_bind_text(q, 2, place, -1, SQLITE_STATIC);
	if (cert_id > 0)
		sqlite3_bind_int64(q, 3, cert_id);
	else
		sqlite3_bind_null(q, 3);
	sqlite3_bind_text(q, 4, status, -1, SQLITE_STATIC);
	return step_write(st, q, err, "scan_results");
}

int
ck_store_scan_finish(struct ck_store *st, int64_t scan_id, int64_t finished,
    const char *counts, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	if (!st->in_tx)
		CK_BUG("scan_finish outside a transaction");
	if ((r = run(st,
	         "UPDATE scans SET finished = ?2, counts = ?3 WHERE id = ?1",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, scan_id);
	sqlite3_bind_int64(q, 2, finished);
	sqlite3_bind_text(q, 3, counts, -1, SQLITE_STATIC);
	r = step_write(st, q, err, "scans");
	sqlite3_finalize(q);
	return r;
}

/*
 * The changes, each a row (change, place, old leaf, new leaf):
 *   new       a place answering now that did not in the previous scan
 *   replaced  the leaf at a place is another one
 *   gone      a place that answered with TLS before and does not now
 *   expired   a leaf that expired since the previous scan
 *   expiring  a leaf that came within `soon` seconds of expiry since then
 * With no previous scan every answering place is new.
 */
static const char diff_sql[] =
    "WITH prev AS (SELECT id, started FROM scans WHERE kind = ?2 AND "
    "  scope = ?3 AND id < ?1 AND finished IS NOT NULL "
    "  ORDER BY id DESC LIMIT 1), "
    "cur AS (SELECT place, cert_id FROM scan_results WHERE scan_id = ?1 "
    "  AND cert_id IS NOT NULL), "
    "old AS (SELECT place, cert_id FROM scan_results WHERE scan_id = "
    "  (SELECT id FROM prev) AND cert_id IS NOT NULL) "
    "SELECT 'new', c.place, NULL, c.cert_id FROM cur c "
    "  WHERE NOT EXISTS (SELECT 1 FROM old o WHERE o.place = c.place) "
    "UNION ALL SELECT 'replaced', c.place, o.cert_id, c.cert_id FROM cur c "
    "  JOIN old o ON o.place = c.place WHERE o.cert_id != c.cert_id "
    "UNION ALL SELECT 'gone', o.place, o.cert_id, NULL FROM old o "
    "  WHERE NOT EXISTS (SELECT 1 FROM cur c WHERE c.place = o.place) "
    "UNION ALL SELECT CASE WHEN x.not_after < ?4 THEN 'expired' ELSE "
    "  'expiring' END, c.place, NULL, c.cert_id FROM cur c "
    "  JOIN certificates x ON x.id = c.cert_id "
    "  WHERE x.not_after < ?4 + ?5 AND (NOT EXISTS (SELECT 1 FROM prev) OR "
    "  CASE WHEN x.not_after < ?4 THEN x.not_after > "
    "  (SELECT started FROM prev) ELSE x.not_after > "
    "  (SELECT started FROM prev) + ?5 END) "
    "ORDER BY 2, 1";

int
ck_store_scan_diff(struct ck_store *st, int64_t scan_id, const char *kind,
    const char *scope, int64_t now, int64_t soon, ck_scan_change_cb cb,
    void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if ((r = run(st, diff_sql, &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, scan_id);
	sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now);
	sqlite3_bind_int64(q, 5, soon);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct ck_scan_change c = {
		    (const char *)sqlite3_column_text(q, 0),
		    (const char *)sqlite3_column_text(q, 1),
		    sqlite3_column_int64(q, 2), sqlite3_column_int64(q, 3)};
		if ((r = cb(ctx, &c)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = db_err(st, rc, err, "scan diff");
	sqlite3_finalize(q);
	return r;
}
