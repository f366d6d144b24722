/*
 * API bearer tokens' rows: name, role, name pattern, SHA-256 of the token,
 * times. Making tokens and checking them (randomness, hashing, constant-time
 * comparison, roles) belongs to src/auth/; the store only keeps the rows.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

static void
token_from_stmt(sqlite3_stmt *s, struct ck_token_row *t)
{
	t->id = sqlite3_column_int64(s, 0);
	t->name = (const char *)sqlite3_column_text(s, 1);
	t->role = (const char *)sqlite3_column_text(s, 2);
	t->pattern = (const char *)sqlite3_column_text(s, 3);
	t->hash = sqlite3_column_blob(s, 4);
	t->created_at = sqlite3_column_int64(s, 5);
	t->expires_at = sqlite3_column_int64(s, 6);
	t->revoked_at = sqlite3_column_int64(s, 7);
	t->last_used_at = sqlite3_column_int64(s, 8);
}

/* Steps s (statement id), handing each row to cb, then closes it. With
 * one, no row is CK_E_NOTFOUND. */
static int
rows(struct ck_store *st, enum stmt_id id, sqlite3_stmt *s, bool one,
    ck_token_cb cb, void *ctx, struct ck_err *err)
{
	struct ck_token_row t;
	int rc, r = 0, n = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		token_from_stmt(s, &t);
		/* A hash of another length would be a corrupt row; the
		 * callers compare 32 bytes. */
		if (sqlite3_column_bytes(s, 4) != 32) {
			r = ck_err_set(err, CK_E_DB,
			    "store: token %lld: hash is not 32 bytes",
			    (long long)t.id);
			break;
		}
		n++;
		if ((r = cb(ctx, &t)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "tokens");
	else if (r == 0 && one && n == 0)
		r = ck_err_set(err, CK_E_NOTFOUND, "no such token");
	stmt_close(st, id, s);
	return r;
}

int
ck_store_token_add(struct ck_store *st, const char *name, const char *role,
    const char *pattern, const uint8_t hash[32], int64_t created_at,
    int64_t expires_at, int64_t *id, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	*id = 0;
	if (!st->in_tx)
		CK_BUG("token_add outside a transaction");
	if ((s = stmt_open(st, S_TOKEN_ADD, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
	if (pattern != NULL)
		sqlite3_bind_text(s, 3, pattern, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, created_at);
	sqlite3_bind_int64(s, 6, expires_at);
	if (st->fail_after > 0 && --st->fail_after == 0) {
		r = ck_err_set(err, CK_E_DB, "store: tokens: injected failure");
	} else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
	} else if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		r = ck_err_set(err, CK_E_EXISTS,
		    "a token called '%s' exists already", name);
	} else if (rc == SQLITE_CONSTRAINT_CHECK) {
		r = ck_err_set(err, CK_E_INVAL, "'%s' is not a role", role);
	} else {
		r = db_err(st, rc, err, "tokens");
	}
	stmt_close(st, S_TOKEN_ADD, s);
	return r;
}

int
ck_store_token_revoke(struct ck_store *st, int64_t id, int64_t at,
    bool *already, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0, rc;

	*already = false;
	if (!st->in_tx)
		CK_BUG("token_revoke outside a transaction");
	if ((s = stmt_open(st, S_TOKEN_IS_REVOKED, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*already = sqlite3_column_int(s, 0) != 0;
	else if (rc == SQLITE_DONE)
		r = ck_err_set(
		    err, CK_E_NOTFOUND, "no token with id %lld", (long long)id);
	else
		r = db_err(st, rc, err, "tokens");
	stmt_close(st, S_TOKEN_IS_REVOKED, s);
	if (r != 0 || *already)
		return r;
	if ((s = stmt_open(st, S_TOKEN_REVOKE, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, at);
	sqlite3_bind_int64(s, 2, id);
	r = step_write(st, s, err, "token revoke");
	stmt_close(st, S_TOKEN_REVOKE, s);
	return r;
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int
ck_store_token_find(
    struct ck_store *st, const char *ref, int64_t *id, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0, rc;
	bool by_id = all_digits(ref);
	enum stmt_id sid = by_id ? S_TOKEN_FIND_ID : S_TOKEN_FIND_NAME;

	*id = 0;
	if (by_id && strlen(ref) > 18)
		return ck_err_set(err, CK_E_NOTFOUND, "no token %s", ref);
	/* Names cannot be all digits (src/auth/ refuses them), so an id and
	 * a name never compete. */
	if ((s = stmt_open(st, sid, err)) == NULL)
		return CK_E_DB;
	if (by_id)
		sqlite3_bind_int64(s, 1, strtoll(ref, NULL, 10));
	else
		sqlite3_bind_text(s, 1, ref, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		r = ck_err_set(err, CK_E_NOTFOUND, "no token %s%s",
		    by_id ? "with id " : "called ", ref);
	else
		r = db_err(st, rc, err, "tokens");
	stmt_close(st, sid, s);
	return r;
}

int
ck_store_token_get(struct ck_store *st, int64_t id, ck_token_cb cb, void *ctx,
    struct ck_err *err)
{
	sqlite3_stmt *s;

	if ((s = stmt_open(st, S_TOKEN_GET, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, id);
	return rows(st, S_TOKEN_GET, s, true, cb, ctx, err);
}

int
ck_store_token_by_hash(struct ck_store *st, const uint8_t hash[32],
    ck_token_cb cb, void *ctx, struct ck_err *err)
{
	sqlite3_stmt *s;

	if ((s = stmt_open(st, S_TOKEN_BY_HASH, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	return rows(st, S_TOKEN_BY_HASH, s, true, cb, ctx, err);
}

int
ck_store_token_list(struct ck_store *st, bool all, int64_t now, ck_token_cb cb,
    void *ctx, struct ck_err *err)
{
	enum stmt_id id = all ? S_TOKEN_ALL : S_TOKEN_LIVE;
	sqlite3_stmt *s;

	if ((s = stmt_open(st, id, err)) == NULL)
		return CK_E_DB;
	if (!all)
		sqlite3_bind_int64(s, 1, now);
	return rows(st, id, s, false, cb, ctx, err);
}

int
ck_store_token_touch(
    struct ck_store *st, int64_t id, int64_t at, struct ck_err *err)
{
	sqlite3_stmt *s;
	int r;

	if ((s = stmt_open(st, S_TOKEN_TOUCH, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, at);
	sqlite3_bind_int64(s, 2, id);
	r = step_write(st, s, err, "token last used");
	stmt_close(st, S_TOKEN_TOUCH, s);
	return r;
}
