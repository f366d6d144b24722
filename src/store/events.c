/*
 * The audit log: append-only, each event hashed together with the hash of
 * the one before, so that any edit or deletion breaks the chain and
 * ck_store_events_verify() (or `certkeep audit verify`) finds it.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"

static void
put_u64(struct ck_buf *b, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	ck_buf_add(b, le, 8);
}

static void
put_str(struct ck_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	put_u64(b, n);
	ck_buf_add(b, s ? s : "", n);
}

/* hash = SHA-256(prev || id || at || actor || action || object || detail),
 * integers little-endian 64-bit, strings length-prefixed. */
static void
event_hash(const uint8_t prev[32], int64_t id, int64_t at, const char *actor,
    const char *action, const char *object, const char *detail, uint8_t out[32])
{
	struct ck_buf b = CK_BUF_INIT;

	ck_buf_add(&b, prev, 32);
	put_u64(&b, (uint64_t)id);
	put_u64(&b, (uint64_t)at);
	put_str(&b, actor);
	put_str(&b, action);
	put_str(&b, object);
	put_str(&b, detail);
	ck_sha256(b.p, b.len, out);
	ck_buf_release(&b);
}

int
ck_store_event_add(struct ck_store *st, const char *actor, const char *action,
    const char *object, const char *detail, struct ck_err *err)
{
	uint8_t prev[32] = {0}, hash[32];
	sqlite3_stmt *q;
	int64_t id = 1, at = ck_now();
	int rc;

	if (!st->in_tx)
		CK_BUG("event_add outside a transaction");
	if ((q = stmt_get(st, S_EVENT_LAST, err)) == NULL)
		return CK_E_DB;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(q, 0) + 1;
		if (sqlite3_column_bytes(q, 1) == 32)
			memcpy(prev, sqlite3_column_blob(q, 1), 32);
	} else if (rc != SQLITE_DONE) {
		return db_err(st, rc, err, "events");
	}
	sqlite3_reset(q);
	event_hash(prev, id, at, actor, action, object, detail, hash);
	if ((q = stmt_get(st, S_EVENT_INSERT, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, at);
	sqlite3_bind_text(q, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, object, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, detail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 7, prev, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 8, hash, 32, SQLITE_STATIC);
	return step_write(st, q, err, "events");
}

int
ck_store_events(struct ck_store *st, int64_t from, int64_t to, int64_t limit,
    ck_event_cb cb, void *ctx, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	struct ck_event ev;
	int r = 0, rc;

	if ((s = stmt_open(st, S_EVENTS_RANGE, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to > 0 ? to : INT64_MAX);
	sqlite3_bind_int64(s, 3, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ev.id = sqlite3_column_int64(s, 0);
		ev.at = sqlite3_column_int64(s, 1);
		ev.actor = (const char *)sqlite3_column_text(s, 2);
		ev.action = (const char *)sqlite3_column_text(s, 3);
		ev.object = (const char *)sqlite3_column_text(s, 4);
		ev.detail = (const char *)sqlite3_column_text(s, 5);
		if ((r = cb(ctx, &ev)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "events");
	stmt_close(st, S_EVENTS_RANGE, s);
	return r;
}

int
ck_store_events_verify(struct ck_store *st, int64_t *count, struct ck_err *err)
{
	uint8_t prev[32] = {0}, want[32];
	sqlite3_stmt *s = NULL;
	int r = 0, rc;

	*count = 0;
	if ((s = stmt_open(st, S_EVENTS_ALL, err)) == NULL)
		return CK_E_DB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);

		if (sqlite3_column_bytes(s, 6) != 32 ||
		    memcmp(sqlite3_column_blob(s, 6), prev, 32) != 0) {
			r = ck_err_set(err, CK_E_CRYPTO,
			    "audit chain broken at event %lld: previous hash "
			    "does not match (an event was removed or changed)",
			    (long long)id);
			break;
		}
		event_hash(prev, id, sqlite3_column_int64(s, 1),
		    (const char *)sqlite3_column_text(s, 2),
		    (const char *)sqlite3_column_text(s, 3),
		    (const char *)sqlite3_column_text(s, 4),
		    (const char *)sqlite3_column_text(s, 5), want);
		if (sqlite3_column_bytes(s, 7) != 32 ||
		    memcmp(sqlite3_column_blob(s, 7), want, 32) != 0) {
			r = ck_err_set(err, CK_E_CRYPTO,
			    "audit chain broken at event %lld: its content "
			    "does not match its hash",
			    (long long)id);
			break;
		}
		memcpy(prev, want, 32);
		(*count)++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "events");
	stmt_close(st, S_EVENTS_ALL, s);
	return r;
}
