/*
 * Unit tests for the token rows of src/store/tokens.c: what is stored (the
 * hash, never a token), names unique among tokens not revoked, revoking
 * once, look-ups by id, name and hash, lists, last use moving forward only,
 * and a failed insert rolled back.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "store/store.h"

static char dir[] = "/tmp/ck-tokens-XXXXXX";
static char url[160], path[128];
static struct ck_store *st;

static void
setup(void)
{
	struct ck_err err = {0};

	ck_clock_set(0);
	strcpy(dir, "/tmp/ck-tokens-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/inv.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	cr_assert_eq(ck_store_open(url, &st, &err), 0, "%s", err.msg);
}

static void
teardown(void)
{
	char cmd[200];

	ck_store_free(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(tokens, .init = setup, .fini = teardown);

static void
hash_of(int seed, uint8_t h[32])
{
	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(seed * 31 + i);
}

static int64_t
add(const char *name, const char *role, const char *pattern, int seed,
    int64_t expires, int want)
{
	struct ck_err err = {0};
	uint8_t h[32];
	int64_t id = -1;
	int r;

	hash_of(seed, h);
	cr_assert_eq(ck_store_begin(st, &err), 0, "%s", err.msg);
	r = ck_store_token_add(
	    st, name, role, pattern, h, 1000, expires, &id, &err);
	cr_assert_eq(r, want, "add %s: %d %s", name, r, err.msg);
	if (r == 0) {
		cr_assert_gt(id, 0);
		cr_assert_eq(ck_store_commit(st, &err), 0, "%s", err.msg);
	} else {
		cr_assert_eq(id, 0);
		ck_store_rollback(st);
	}
	return id;
}

static bool
revoke_at(int64_t id, int64_t at)
{
	struct ck_err err = {0};
	bool already = true;

	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(ck_store_token_revoke(st, id, at, &already, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(ck_store_commit(st, &err), 0);
	return already;
}

struct seen {
	int n;
	int64_t ids[8];
	char names[8][65];
	char roles[8][16];
	char patterns[8][64];
	int64_t expires[8], revoked[8], used[8];
	uint8_t hash[32];
};

static int
on_row(void *ctx, const struct ck_token_row *t)
{
	struct seen *s = ctx;

	cr_assert_lt(s->n, 8);
	s->ids[s->n] = t->id;
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", t->name);
	snprintf(s->roles[s->n], sizeof(s->roles[0]), "%s", t->role);
	snprintf(s->patterns[s->n], sizeof(s->patterns[0]), "%s",
	    t->pattern ? t->pattern : "(null)");
	s->expires[s->n] = t->expires_at;
	s->revoked[s->n] = t->revoked_at;
	s->used[s->n] = t->last_used_at;
	memcpy(s->hash, t->hash, 32);
	s->n++;
	return 0;
}

/* Runs one SQL query straight on the file and returns its first column as
 * text (static buffer; "" when there is no row). */
static const char *
sql1(const char *q)
{
	static char out[512];
	sqlite3 *db;
	sqlite3_stmt *s;

	out[0] = '\0';
	cr_assert_eq(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK, "%s",
	    sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, sizeof(out), "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

Test(tokens, row_holds_the_hash_and_the_fields)
{
	struct ck_err err = {0};
	struct seen s = {0};
	uint8_t h[32];
	int64_t id = add("deploy", "enroller", "*.example.com", 1, 5000, 0);

	hash_of(1, h);
	/* The row as the file has it: 32 bytes of hash, nothing else. */
	cr_assert_str_eq(sql1("SELECT lower(hex(hash)) FROM tokens"),
	    "1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e");
	cr_assert_str_eq(sql1("SELECT length(hash) FROM tokens"), "32");
	cr_assert_str_eq(
	    sql1("SELECT name || ' ' || role || ' ' || pattern || ' ' || "
	         "created_at || ' ' || expires_at || ' ' || "
	         "coalesce(revoked_at, 'live') FROM tokens"),
	    "deploy enroller *.example.com 1000 5000 live");

	cr_assert_eq(ck_store_token_get(st, id, on_row, &s, &err), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.names[0], "deploy");
	cr_assert_str_eq(s.roles[0], "enroller");
	cr_assert_str_eq(s.patterns[0], "*.example.com");
	cr_assert_eq(s.expires[0], 5000);
	cr_assert_eq(s.revoked[0], 0);
	cr_assert_eq(s.used[0], 0);
	cr_assert_eq(memcmp(s.hash, h, 32), 0);

	memset(&s, 0, sizeof(s));
	cr_assert_eq(ck_store_token_by_hash(st, h, on_row, &s, &err), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.ids[0], id);
	hash_of(2, h);
	cr_assert_eq(
	    ck_store_token_by_hash(st, h, on_row, &s, &err), CK_E_NOTFOUND);
	cr_assert_eq(
	    ck_store_token_get(st, id + 1, on_row, &s, &err), CK_E_NOTFOUND);
}

Test(tokens, no_pattern_is_null_and_roles_are_checked)
{
	add("ops", "admin", NULL, 1, 0, 0);
	cr_assert_str_eq(
	    sql1("SELECT coalesce(pattern, 'NULL') FROM tokens"), "NULL");
	add("root", "superuser", NULL, 2, 0, CK_E_INVAL);
	cr_assert_str_eq(sql1("SELECT COUNT(*) FROM tokens"), "1");
}

Test(tokens, names_are_unique_among_tokens_not_revoked)
{
	int64_t a = add("ci", "operator", NULL, 1, 0, 0), b;
	struct ck_err err = {0};
	int64_t id;

	add("ci", "auditor", NULL, 2, 0, CK_E_EXISTS);
	/* The same hash twice is refused too (it cannot happen by chance). */
	add("other", "auditor", NULL, 1, 0, CK_E_EXISTS);
	cr_assert_eq(revoke_at(a, 2000), false);
	b = add("ci", "auditor", NULL, 3, 0, 0);
	cr_assert_neq(a, b);
	/* By name: the token not revoked wins; once both are revoked, the
	 * newest. By id: that one. */
	cr_assert_eq(ck_store_token_find(st, "ci", &id, &err), 0);
	cr_assert_eq(id, b);
	cr_assert_eq(revoke_at(b, 2100), false);
	cr_assert_eq(ck_store_token_find(st, "ci", &id, &err), 0);
	cr_assert_eq(id, b);
	cr_assert_eq(ck_store_token_find(st, "1", &id, &err), 0);
	cr_assert_eq(id, a);
	cr_assert_eq(ck_store_token_find(st, "nope", &id, &err), CK_E_NOTFOUND);
	cr_assert(strstr(err.msg, "nope") != NULL, "%s", err.msg);
	cr_assert_eq(ck_store_token_find(st, "99", &id, &err), CK_E_NOTFOUND);
}

Test(tokens, revoking_twice_keeps_the_first_time)
{
	int64_t id = add("ci", "operator", NULL, 1, 0, 0);
	struct ck_err err = {0};
	struct seen s = {0};
	bool already;

	cr_assert_eq(revoke_at(id, 2000), false);
	cr_assert_eq(revoke_at(id, 3000), true);
	cr_assert_eq(ck_store_token_get(st, id, on_row, &s, &err), 0);
	cr_assert_eq(s.revoked[0], 2000);
	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(ck_store_token_revoke(st, id + 7, 1, &already, &err),
	    CK_E_NOTFOUND);
	ck_store_rollback(st);
}

Test(tokens, list_live_or_all)
{
	struct ck_err err = {0};
	struct seen s = {0};
	int64_t a = add("a", "admin", NULL, 1, 0, 0);
	int64_t b = add("b", "auditor", NULL, 2, 1500, 0);
	int64_t c = add("c", "operator", NULL, 3, 0, 0);

	revoke_at(c, 1200);
	cr_assert_eq(ck_store_token_list(st, false, 1400, on_row, &s, &err), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.ids[0], a);
	cr_assert_eq(s.ids[1], b);
	memset(&s, 0, sizeof(s));
	/* At its expiry time a token is expired. */
	cr_assert_eq(ck_store_token_list(st, false, 1500, on_row, &s, &err), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.ids[0], a);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ck_store_token_list(st, true, 1500, on_row, &s, &err), 0);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.ids[2], c);
	cr_assert_eq(s.revoked[2], 1200);
}

Test(tokens, last_use_moves_forward_only_with_or_without_a_transaction)
{
	int64_t id = add("a", "admin", NULL, 1, 0, 0);
	struct ck_err err = {0};

	cr_assert_eq(
	    ck_store_token_touch(st, id, 5000, &err), 0, "%s", err.msg);
	cr_assert_str_eq(sql1("SELECT last_used_at FROM tokens"), "5000");
	cr_assert_eq(ck_store_token_touch(st, id, 4000, &err), 0);
	cr_assert_str_eq(sql1("SELECT last_used_at FROM tokens"), "5000");
	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(ck_store_token_touch(st, id, 6000, &err), 0);
	ck_store_rollback(st);
	cr_assert_str_eq(sql1("SELECT last_used_at FROM tokens"), "5000");
}

Test(tokens, failed_insert_leaves_nothing)
{
	struct ck_err err = {0};
	uint8_t h[32];
	int64_t id;

	hash_of(1, h);
	cr_assert_eq(ck_store_begin(st, &err), 0);
	ck_store_fail_after(st, 1);
	cr_assert_eq(
	    ck_store_token_add(st, "a", "admin", NULL, h, 1, 0, &id, &err),
	    CK_E_DB);
	cr_assert(strstr(err.msg, "injected") != NULL, "%s", err.msg);
	ck_store_rollback(st);
	cr_assert_str_eq(sql1("SELECT COUNT(*) FROM tokens"), "0");
}
