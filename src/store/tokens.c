/*
 * API bearer tokens' rows: name, role, name pattern, SHA-256 of the token,
 * times. Making tokens and checking them (randomness, hashing, constant-time
 * comparison, roles) belongs to src/auth/; the store only keeps the rows.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN_COLUMNS                                                         \
	"id, name, role, pattern, hash, created_at, expires_at, revoked_at, " \
	"last_used_at"

static int
prep(struct ck_store *st, const char *sql, sqlite3_stmt **s, struct ck_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

	return rc == SQLITE_OK ? 0 : db_err(st, rc, err, "tokens");
}

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

/* Steps s, handing each row to cb. With one, no row is CK_E_NOTFOUND. */
static int
rows(struct ck_store *st, sqlite3_stmt *s, bool one, ck_token_cb cb, void *ctx,
    struct ck_err *err)
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
	sqlite3_finalize(s);
	return r;
}

int
ck_store_token_add(struct ck_store *st, const char *name, const char *role,
    const char *pattern, const uint8_t hash[32], int64_t created_at,
    int64_t expires_at, int64_t *id, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, r;

	*id = 0;
	if (!st->in_tx)
		CK_BUG("token_add outside a transaction");
	if ((r = prep(st,
	         "INSERT INTO tokens (name, role, pattern, hash, created_at, "
	         "expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
	         &s, err)) != 0)
		return r;
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
	sqlite3_finalize(s);
	return r;
}

int
ck_store_token_revoke(struct ck_store *st, int64_t id, int64_t at,
    bool *already, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	*already = false;
	if (!st->in_tx)
		CK_BUG("token_revoke outside a transaction");
	if ((r = prep(st,
	         "SELECT revoked_at IS NOT NULL FROM tokens WHERE id = $1", &s,
	         err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*already = sqlite3_column_int(s, 0) != 0;
	else if (rc == SQLITE_DONE)
		r = ck_err_set(
		    err, CK_E_NOTFOUND, "no token with id %lld", (long long)id);
	else
		r = db_err(st, rc, err, "tokens");
	sqlite3_finalize(s);
	if (r != 0 || *already)
		return r;
	if ((r = prep(st,
	         "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND "
	         "revoked_at IS NULL",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, at);
	sqlite3_bind_int64(s, 2, id);
	r = step_write(st, s, err, "token revoke");
	sqlite3_finalize(s);
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
	int r, rc;
	bool by_id = all_digits(ref);

	*id = 0;
	if (by_id && strlen(ref) > 18)
		return ck_err_set(err, CK_E_NOTFOUND, "no token %s", ref);
	/* Names cannot be all digits (src/auth/ refuses them), so an id and
	 * a name never compete. */
	if ((r = prep(st,
	         by_id ? "SELECT id FROM tokens WHERE id = $1"
	               : "SELECT id FROM tokens WHERE name = $1 ORDER BY "
	                 "revoked_at IS NULL DESC, id DESC LIMIT 1",
	         &s, err)) != 0)
		return r;
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
	sqlite3_finalize(s);
	return r;
}

int
ck_store_token_get(struct ck_store *st, int64_t id, ck_token_cb cb, void *ctx,
    struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r;

	if ((r = prep(st, "SELECT " TOKEN_COLUMNS " FROM tokens WHERE id = $1",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	return rows(st, s, true, cb, ctx, err);
}

int
ck_store_token_by_hash(struct ck_store *st, const uint8_t hash[32],
    ck_token_cb cb, void *ctx, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r;

	if ((r = prep(st,
	         "SELECT " TOKEN_COLUMNS " FROM tokens WHERE hash = $1", &s,
	         err)) != 0)
		return r;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	return rows(st, s, true, cb, ctx, err);
}

int
ck_store_token_list(struct ck_store *st, bool all, int64_t now, ck_token_cb cb,
    void *ctx, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r;

	if ((r = prep(st,
	         all ? "SELECT " TOKEN_COLUMNS " FROM tokens ORDER BY id"
	             : "SELECT " TOKEN_COLUMNS " FROM tokens WHERE revoked_at "
	               "IS NULL AND (expires_at = 0 OR expires_at > $1) ORDER "
	               "BY id",
	         &s, err)) != 0)
		return r;
	if (!all)
		sqlite3_bind_int64(s, 1, now);
	return rows(st, s, false, cb, ctx, err);
}

int
ck_store_token_touch(
    struct ck_store *st, int64_t id, int64_t at, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r;

	if ((r = prep(st,
	         "UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND "
	         "(last_used_at IS NULL OR last_used_at < $1)",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, at);
	sqlite3_bind_int64(s, 2, id);
	r = step_write(st, s, err, "token last used");
	sqlite3_finalize(s);
	return r;
}
