/*
 * Scan records and the difference between a scan and the previous scan of
 * the same scope, computed in SQL over the two result sets so that memory
 * does not grow with the number of endpoints.
 */
#include "store/store.h"
#include "store/store_int.h"

#include <stdio.h>
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
ck_store_scan_result_ssh(struct ck_store *st, int64_t scan_id,
    const char *place, int64_t ssh_key_id, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	if (!st->in_tx)
		CK_BUG("scan_result_ssh outside a transaction");
	if ((r = run(st,
	         "INSERT OR REPLACE INTO scan_results(scan_id, place, "
	         "ssh_key_id, status) VALUES (?1, ?2, ?3, 'ok')",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, scan_id);
	sqlite3_bind_text(q, 2, place, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, ssh_key_id);
	r = step_write(st, q, err, "scan_results");
	sqlite3_finalize(q);
	return r;
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

int
ck_store_scan_prune(struct ck_store *st, const char *kind, const char *scope,
    int64_t before, int64_t keep, struct ck_err *err)
{
	static const char *const sql[] = {
	    "DELETE FROM scan_results WHERE scan_id IN (SELECT id FROM scans "
	    "WHERE kind = ?1 AND scope = ?2 AND started < ?3 AND id <> ?4 "
	    "AND finished IS NOT NULL)",
	    "DELETE FROM scans WHERE kind = ?1 AND scope = ?2 AND started < ?3 "
	    "AND id <> ?4 AND finished IS NOT NULL"};
	sqlite3_stmt *q;
	int r = 0;

	if (!st->in_tx)
		CK_BUG("scan_prune outside a transaction");
	for (size_t i = 0; i < 2 && r == 0; i++) {
		if ((r = run(st, sql[i], &q, err)) != 0)
			return r;
		sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, scope, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, before);
		sqlite3_bind_int64(q, 4, keep);
		r = step_write(st, q, err, "scans");
		sqlite3_finalize(q);
	}
	return r;
}

/* cur and old are read through scan_results' primary key (scan_id,
 * place) rather than as CTEs: SQLite materialises a CTE used twice, and
 * probing it row by row made a diff of n places cost n^2. */
#define DIFF_SQL(LEAF, EXPIRY)                                              \
	"WITH prev AS (SELECT id, started FROM scans WHERE kind = ?2 AND "  \
	"  scope = ?3 AND id < ?1 AND finished IS NOT NULL "                \
	"  ORDER BY id DESC LIMIT 1), "                                     \
	"exp AS (" EXPIRY ") "                                              \
	"SELECT 'new', c.place, NULL, c." LEAF " FROM scan_results c "      \
	"  WHERE c.scan_id = ?1 AND c." LEAF " IS NOT NULL AND NOT EXISTS " \
	"  (SELECT 1 FROM scan_results o WHERE o.scan_id = "                \
	"  (SELECT id FROM prev) AND o.place = c.place AND o." LEAF         \
	"  IS NOT NULL) "                                                   \
	"UNION ALL SELECT 'replaced', c.place, o." LEAF ", c." LEAF         \
	"  FROM scan_results c JOIN scan_results o ON o.scan_id = "         \
	"  (SELECT id FROM prev) AND o.place = c.place "                    \
	"  WHERE c.scan_id = ?1 AND o." LEAF " != c." LEAF " "              \
	"UNION ALL SELECT 'gone', o.place, o." LEAF ", NULL "               \
	"  FROM scan_results o WHERE o.scan_id = (SELECT id FROM prev) "    \
	"  AND o." LEAF " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "       \
	"  scan_results c WHERE c.scan_id = ?1 AND c.place = o.place AND "  \
	"  c." LEAF " IS NOT NULL) "                                        \
	"UNION ALL SELECT CASE WHEN x.not_after < ?4 THEN 'expired' ELSE "  \
	"  'expiring' END, c.place, NULL, c." LEAF " FROM scan_results c "  \
	"  JOIN exp x ON x.id = c." LEAF " WHERE c.scan_id = ?1 AND "       \
	"  x.not_after < ?4 + ?5 AND (NOT EXISTS (SELECT 1 FROM prev) "     \
	"  OR CASE WHEN x.not_after < ?4 THEN x.not_after > "               \
	"  (SELECT started FROM prev) ELSE x.not_after > "                  \
	"  (SELECT started FROM prev) + ?5 END) "                           \
	"ORDER BY 2, 1"

/*
 * The changes, each a row (change, place, old leaf, new leaf):
 *   new       a place answering now that did not in the previous scan
 *   replaced  the leaf at a place is another one
 *   gone      a place that answered before and does not now
 *   expired   a leaf that expired since the previous scan
 *   expiring  a leaf that came within `soon` seconds of expiry since then
 * With no previous scan every answering place is new. The leaves are
 * certificates, or for SSH scans SSH keys (of which only certificates,
 * with a valid_before, expire).
 */
static const char diff_sql[] = DIFF_SQL("cert_id",
    "SELECT id, not_after FROM certificates WHERE not_after < ?4 + ?5 "
    "AND id IN (SELECT cert_id FROM scan_results WHERE scan_id = ?1)");
static const char diff_ssh_sql[] = DIFF_SQL("ssh_key_id",
    "SELECT id, valid_before AS not_after FROM ssh_keys WHERE "
    "valid_before < ?4 + ?5 AND id IN (SELECT ssh_key_id FROM "
    "scan_results WHERE scan_id = ?1)");

int
ck_store_scan_diff(struct ck_store *st, int64_t scan_id, const char *kind,
    const char *scope, int64_t now, int64_t soon, ck_scan_change_cb cb,
    void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if ((r = run(st, strcmp(kind, "ssh") == 0 ? diff_ssh_sql : diff_sql, &q,
	         err)) != 0)
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

/* ---- saved scans ---- */

int
ck_store_scan_def_add(struct ck_store *st, const struct ck_scan_def *d,
    int64_t *id, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	if (!st->in_tx)
		CK_BUG("scan_def_add outside a transaction");
	if ((r = run(st,
	         "INSERT INTO scan_defs(name, targets, ports, sni, every, "
	         "next_run, created, actor, kind) VALUES (?1, ?2, ?3, ?4, ?5, "
	         "?6, ?7, ?8, ?9)",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_text(q, 1, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, d->targets, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, d->ports, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, d->sni, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, d->every);
	sqlite3_bind_int64(q, 6, d->next_run);
	sqlite3_bind_int64(q, 7, d->created);
	sqlite3_bind_text(q, 8, d->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 9, d->kind ? d->kind : "net", -1, SQLITE_STATIC);
	r = step_write(st, q, err, "scan_defs");
	sqlite3_finalize(q);
	if (r == CK_E_EXISTS ||
	    (r != 0 &&
	        sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE))
		return ck_err_set(
		    err, CK_E_EXISTS, "a saved scan '%s' exists", d->name);
	if (r == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return r;
}

static int
defs(struct ck_store *st, const char *where, const char *name, int64_t now,
    int limit, ck_scan_def_cb cb, void *ctx, struct ck_err *err)
{
	char sql[768];
	sqlite3_stmt *q;
	int r, rc, n = 0;

	snprintf(sql, sizeof(sql),
	    "SELECT d.id, d.name, d.targets, d.ports, d.sni, d.every, "
	    "d.next_run, COALESCE(d.last_scan, 0), d.created, d.actor, "
	    "s.counts, COALESCE(s.finished, 0), d.kind FROM scan_defs d "
	    "LEFT JOIN "
	    "scans s ON s.id = d.last_scan WHERE %s LIMIT ?3",
	    where);
	if ((r = run(st, sql, &q, err)) != 0)
		return r;
	if (name != NULL)
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now);
	sqlite3_bind_int(q, 3, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct ck_scan_def d = {sqlite3_column_int64(q, 0),
		    (const char *)sqlite3_column_text(q, 1),
		    (const char *)sqlite3_column_text(q, 2),
		    (const char *)sqlite3_column_text(q, 3),
		    (const char *)sqlite3_column_text(q, 4),
		    sqlite3_column_int64(q, 5), sqlite3_column_int64(q, 6),
		    sqlite3_column_int64(q, 7), sqlite3_column_int64(q, 8),
		    (const char *)sqlite3_column_text(q, 9),
		    (const char *)sqlite3_column_text(q, 10),
		    sqlite3_column_int64(q, 11),
		    (const char *)sqlite3_column_text(q, 12)};
		n++;
		if ((r = cb(ctx, &d)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = db_err(st, rc, err, "scan_defs");
	sqlite3_finalize(q);
	if (r == 0 && n == 0 && name != NULL)
		return ck_err_set(
		    err, CK_E_NOTFOUND, "no saved scan '%s'", name);
	return r;
}

int
ck_store_scan_def_list(struct ck_store *st, const char *name, ck_scan_def_cb cb,
    void *ctx, struct ck_err *err)
{
	return defs(st,
	    name ? "d.name = ?1 AND ?2 = ?2 ORDER BY d.name"
	         : "?2 = ?2 ORDER BY d.name",
	    name, 0, 0, cb, ctx, err);
}

int
ck_store_scan_def_due(struct ck_store *st, int64_t now, int limit,
    ck_scan_def_cb cb, void *ctx, struct ck_err *err)
{
	return defs(st, "d.next_run <= ?2 ORDER BY d.next_run", NULL, now,
	    limit, cb, ctx, err);
}

int
ck_store_scan_def_schedule(struct ck_store *st, const char *name,
    int64_t next_run, int64_t last_scan, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	if ((r = run(st,
	         "UPDATE scan_defs SET next_run = ?2, last_scan = CASE WHEN "
	         "?3 > 0 THEN ?3 ELSE last_scan END WHERE name = ?1",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, next_run);
	sqlite3_bind_int64(q, 3, last_scan);
	r = step_write(st, q, err, "scan_defs");
	sqlite3_finalize(q);
	if (r == 0 && sqlite3_changes(st->db) == 0)
		return ck_err_set(
		    err, CK_E_NOTFOUND, "no saved scan '%s'", name);
	return r;
}

int
ck_store_scan_def_delete(
    struct ck_store *st, const char *name, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r;

	if ((r = run(st, "DELETE FROM scan_defs WHERE name = ?1", &q, err)) !=
	    0)
		return r;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	r = step_write(st, q, err, "scan_defs");
	sqlite3_finalize(q);
	if (r == 0 && sqlite3_changes(st->db) == 0)
		return ck_err_set(
		    err, CK_E_NOTFOUND, "no saved scan '%s'", name);
	return r;
}

int
ck_store_scan_rows(struct ck_store *st, int64_t scan_id, ck_scan_row_cb cb,
    void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if ((r = run(st,
	         "SELECT place, status, COALESCE(cert_id, 0), "
	         "COALESCE(ssh_key_id, 0) FROM scan_results "
	         "WHERE scan_id = ?1 ORDER BY place",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, scan_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if ((r = cb(ctx, (const char *)sqlite3_column_text(q, 0),
		         (const char *)sqlite3_column_text(q, 1),
		         sqlite3_column_int64(q, 2),
		         sqlite3_column_int64(q, 3))) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = db_err(st, rc, err, "scan_results");
	sqlite3_finalize(q);
	return r;
}
