/*
 * Unit tests for src/auth/token.c: tokens made, checked, revoked and
 * expired against a real store; wrong and malformed tokens; the hash
 * comparison going through the constant-time function; only the hash in
 * the database; roles and enroller name patterns. The .c is included to
 * swap the comparison for a counting one.
 */
#include "auth/token.c"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/ck-auth-XXXXXX";
static char url[160], path[128];
static struct ck_store *st;
static int ct_calls;
static size_t ct_len;

static int
counting_memcmp(const void *a, const void *b, size_t n)
{
	ct_calls++;
	ct_len = n;
	return CRYPTO_memcmp(a, b, n);
}

static void
setup(void)
{
	struct ck_err err = {0};

	ck_clock_set(1700000000);
	strcpy(dir, "/tmp/ck-auth-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/inv.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	cr_assert_eq(ck_store_open(url, &st, &err), 0, "%s", err.msg);
	ct_calls = 0;
	hash_equal_ct = counting_memcmp;
}

static void
teardown(void)
{
	char cmd[200];

	hash_equal_ct = CRYPTO_memcmp;
	ck_store_free(st);
	st = NULL;
	ck_clock_set(0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(token, .init = setup, .fini = teardown);

static int64_t
make(const char *name, enum ck_role role, const char *pattern, int64_t expires,
    char tok[CK_TOKEN_LEN + 1])
{
	struct ck_token_spec spec = {name, role, pattern, expires, "test"};
	struct ck_err err = {0};
	int64_t id = 0;

	cr_assert_eq(
	    ck_token_create(st, &spec, tok, &id, &err), 0, "%s", err.msg);
	cr_assert_gt(id, 0);
	return id;
}

/* The first column of q, run straight on the file, as text. */
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

Test(token, made_token_has_the_format_and_only_its_hash_is_stored)
{
	char tok[CK_TOKEN_LEN + 1], tok2[CK_TOKEN_LEN + 1], hex[65], q[200];
	uint8_t h[32];
	int64_t id = make("ops", CK_ROLE_ADMIN, NULL, 0, tok);

	cr_assert_eq(strlen(tok), CK_TOKEN_LEN);
	cr_assert_eq(strncmp(tok, "ck_", 3), 0);
	cr_assert_eq(strspn(tok + 3, b64url), 43, "%s", tok);
	make("ops2", CK_ROLE_ADMIN, NULL, 0, tok2);
	cr_assert_str_neq(tok, tok2);

	ck_token_hash(tok, h);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(q, sizeof(q),
	    "SELECT lower(hex(hash)) FROM tokens WHERE id = %lld",
	    (long long)id);
	cr_assert_str_eq(sql1(q), hex);
	/* Nowhere in the file: not the token, not its random part. */
	{
		FILE *f = fopen(path, "rb");
		static char buf[1 << 20];
		size_t n;
		cr_assert_not_null(f);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		cr_assert_null(memmem(buf, n, tok + 3, 20));
	}
	/* The audit event names the token, not the secret. */
	cr_assert_str_eq(
	    sql1("SELECT actor || ' ' || action || ' ' || object FROM events "
	         "ORDER BY id LIMIT 1"),
	    "test token.create ops");
	cr_assert_str_eq(sql1("SELECT COUNT(*) FROM events WHERE detail LIKE "
	                      "'%ck_%' OR object LIKE '%ck_%'"),
	    "0");
}

Test(token, check_grants_role_name_and_pattern_through_constant_time_compare)
{
	char tok[CK_TOKEN_LEN + 1];
	struct ck_token_info in;
	struct ck_err err = {0};
	int64_t id = make("web", CK_ROLE_ENROLLER, "*.example.com", 0, tok);

	cr_assert_eq(
	    ck_token_check(st, tok, ck_now(), &in, &err), 0, "%s", err.msg);
	cr_assert_eq(in.status, CK_TOKEN_OK);
	cr_assert_eq(in.id, id);
	cr_assert_eq(in.role, CK_ROLE_ENROLLER);
	cr_assert_str_eq(in.name, "web");
	cr_assert_str_eq(in.pattern, "*.example.com");
	cr_assert_eq(in.expires_at, 0);
	cr_assert_eq(ct_calls, 1);
	cr_assert_eq(ct_len, 32);
}

Test(token, wrong_and_malformed_tokens_are_refused)
{
	char tok[CK_TOKEN_LEN + 1], bad[CK_TOKEN_LEN + 2];
	struct ck_token_info in;
	struct ck_err err = {0};

	make("ops", CK_ROLE_ADMIN, NULL, 0, tok);
	/* One character changed: same shape, unknown. */
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	cr_assert_eq(ck_token_check(st, bad, ck_now(), &in, &err), CK_E_PERM);
	cr_assert_eq(in.status, CK_TOKEN_UNKNOWN);
	cr_assert_str_eq(err.msg, "unknown token");
	cr_assert_eq(in.id, 0);
	cr_assert_str_eq(in.name, "");
	/* Shapes that are not tokens never reach the store. */
	const char *shapes[] = {"", "ck_", "Bearer x", "ck_abc",
	    "xx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "ck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "ck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		cr_assert_eq(ck_token_check(st, shapes[i], ck_now(), &in, &err),
		    CK_E_PERM, "%s", shapes[i]);
		cr_assert_eq(in.status, CK_TOKEN_MALFORMED, "%s", shapes[i]);
	}
	cr_assert_eq(ck_token_check(st, NULL, ck_now(), &in, &err), CK_E_PERM);
	cr_assert_eq(in.status, CK_TOKEN_MALFORMED);
	cr_assert_eq(ct_calls, 0);
	cr_assert_str_eq(
	    ck_token_status_name(CK_TOKEN_MALFORMED), "not a certkeep token");
}

Test(token, revoked_token_is_refused_and_revoking_twice_changes_nothing)
{
	char tok[CK_TOKEN_LEN + 1];
	struct ck_token_info in;
	struct ck_err err = {0};
	int64_t id = make("ops", CK_ROLE_OPERATOR, NULL, 0, tok), rid;
	bool already;

	cr_assert_eq(ck_token_revoke(st, "ops", "test", &rid, &already, &err),
	    0, "%s", err.msg);
	cr_assert_eq(rid, id);
	cr_assert_not(already);
	cr_assert_eq(ck_token_check(st, tok, ck_now(), &in, &err), CK_E_PERM);
	cr_assert_eq(in.status, CK_TOKEN_REVOKED);
	cr_assert(strstr(err.msg, "'ops'") && strstr(err.msg, "revoked"), "%s",
	    err.msg);
	cr_assert_eq(in.id, 0); /* nothing granted */
	cr_assert_eq(ck_token_revoke(st, "1", "test", &rid, &already, &err), 0);
	cr_assert(already);
	cr_assert_str_eq(sql1("SELECT group_concat(action) FROM events"),
	    "token.create,token.revoke");
	cr_assert_eq(ck_token_revoke(st, "nope", "test", &rid, &already, &err),
	    CK_E_NOTFOUND);
	/* The name is free again. */
	make("ops", CK_ROLE_OPERATOR, NULL, 0, tok);
}

Test(token, expired_token_is_refused_from_its_expiry_on)
{
	char tok[CK_TOKEN_LEN + 1];
	struct ck_token_info in;
	struct ck_err err = {0};
	int64_t exp = ck_now() + 3600;

	make("short", CK_ROLE_AUDITOR, NULL, exp, tok);
	cr_assert_eq(ck_token_check(st, tok, exp - 1, &in, &err), 0);
	cr_assert_eq(in.expires_at, exp);
	cr_assert_eq(ck_token_check(st, tok, exp, &in, &err), CK_E_PERM);
	cr_assert_eq(in.status, CK_TOKEN_EXPIRED);
	cr_assert(strstr(err.msg, "expired") != NULL, "%s", err.msg);
}

Test(token, last_use_is_written_at_most_hourly)
{
	char tok[CK_TOKEN_LEN + 1];
	struct ck_token_info in;
	int64_t t = ck_now();

	make("ops", CK_ROLE_ADMIN, NULL, 0, tok);
	cr_assert_str_eq(
	    sql1("SELECT coalesce(last_used_at, 0) FROM tokens"), "0");
	cr_assert_eq(ck_token_check(st, tok, t, &in, NULL), 0);
	cr_assert_str_eq(sql1("SELECT last_used_at FROM tokens"), "1700000000");
	cr_assert_eq(ck_token_check(st, tok, t + 3599, &in, NULL), 0);
	cr_assert_str_eq(sql1("SELECT last_used_at FROM tokens"), "1700000000");
	cr_assert_eq(ck_token_check(st, tok, t + 3600, &in, NULL), 0);
	cr_assert_str_eq(sql1("SELECT last_used_at FROM tokens"), "1700003600");
}

Test(token, bad_specs_are_refused_before_the_store)
{
	char tok[CK_TOKEN_LEN + 1];
	struct ck_err err = {0};
	int64_t id;
	struct {
		struct ck_token_spec spec;
		const char *why;
	} bad[] = {
	    {{"", CK_ROLE_ADMIN, NULL, 0, "t"}, "1 to 64"},
	    {{"42", CK_ROLE_ADMIN, NULL, 0, "t"}, "start with a letter"},
	    {{"a b", CK_ROLE_ADMIN, NULL, 0, "t"}, "' ' is not allowed"},
	    {{"a", (enum ck_role)9, NULL, 0, "t"}, "no such role"},
	    {{"a", CK_ROLE_ADMIN, "*.x.com", 0, "t"}, "only for enroller"},
	    {{"a", CK_ROLE_ENROLLER, "*.x..com", 0, "t"}, "neither"},
	    {{"a", CK_ROLE_ENROLLER, "x.com,", 0, "t"}, "neither"},
	    {{"a", CK_ROLE_ENROLLER, "a.*.com", 0, "t"}, "neither"},
	    {{"a", CK_ROLE_AUDITOR, NULL, 1, "t"}, "not in the future"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ck_token_create(st, &bad[i].spec, tok, &id, &err),
		    CK_E_INVAL, "%zu", i);
		cr_assert(
		    strstr(err.msg, bad[i].why) != NULL, "%zu: %s", i, err.msg);
		cr_assert_eq(tok[0], '\0');
	}
	cr_assert_str_eq(sql1("SELECT COUNT(*) FROM tokens"), "0");
	cr_assert_str_eq(sql1("SELECT COUNT(*) FROM events"), "0");
	make("a", CK_ROLE_AUDITOR, NULL, 0, tok);
	cr_assert_eq(
	    ck_token_create(st,
	        &(struct ck_token_spec){"a", CK_ROLE_ADMIN, NULL, 0, "t"}, tok,
	        &id, &err),
	    CK_E_EXISTS);
	cr_assert_str_eq(sql1("SELECT COUNT(*) FROM events"), "1");
}

Test(token, failed_audit_event_rolls_the_token_back)
{
	struct ck_token_spec spec = {"a", CK_ROLE_ADMIN, NULL, 0, "t"};
	char tok[CK_TOKEN_LEN + 1];
	struct ck_err err = {0};
	int64_t id;

	ck_store_fail_after(st, 2); /* the insert, then the event */
	cr_assert_eq(ck_token_create(st, &spec, tok, &id, &err), CK_E_DB);
	cr_assert_eq(tok[0], '\0');
	cr_assert_eq(id, 0);
	cr_assert_str_eq(sql1("SELECT COUNT(*) FROM tokens"), "0");
}

Test(role, parse_name_and_order)
{
	enum ck_role r;

	cr_assert_eq(ck_role_parse("enroller", &r), 0);
	cr_assert_eq(r, CK_ROLE_ENROLLER);
	cr_assert_eq(ck_role_parse("Admin", &r), CK_E_INVAL);
	cr_assert_eq(ck_role_parse("root", &r), CK_E_INVAL);
	cr_assert_str_eq(ck_role_name(CK_ROLE_AUDITOR), "auditor");
	cr_assert_str_eq(ck_role_name((enum ck_role)0), "unknown");

	cr_assert(ck_role_allows(CK_ROLE_ADMIN, CK_ROLE_ADMIN));
	cr_assert(ck_role_allows(CK_ROLE_ADMIN, CK_ROLE_AUDITOR));
	cr_assert(ck_role_allows(CK_ROLE_OPERATOR, CK_ROLE_ENROLLER));
	cr_assert(ck_role_allows(CK_ROLE_OPERATOR, CK_ROLE_AUDITOR));
	cr_assert_not(ck_role_allows(CK_ROLE_OPERATOR, CK_ROLE_ADMIN));
	cr_assert(ck_role_allows(CK_ROLE_ENROLLER, CK_ROLE_ENROLLER));
	cr_assert_not(ck_role_allows(CK_ROLE_ENROLLER, CK_ROLE_AUDITOR));
	cr_assert_not(ck_role_allows(CK_ROLE_ENROLLER, CK_ROLE_OPERATOR));
	cr_assert(ck_role_allows(CK_ROLE_AUDITOR, CK_ROLE_AUDITOR));
	cr_assert_not(ck_role_allows(CK_ROLE_AUDITOR, CK_ROLE_ENROLLER));
	cr_assert_not(ck_role_allows((enum ck_role)0, CK_ROLE_AUDITOR));
	cr_assert_not(ck_role_allows((enum ck_role)7, CK_ROLE_AUDITOR));
}

Test(role, enroller_pattern_limits_names)
{
	struct ck_token_info t = {
	    .status = CK_TOKEN_OK, .role = CK_ROLE_ENROLLER};

	snprintf(t.pattern, sizeof(t.pattern), "*.example.com,api.other.org");
	cr_assert(ck_token_name_allowed(&t, "www.example.com"));
	cr_assert(ck_token_name_allowed(&t, "a.b.EXAMPLE.com"));
	cr_assert(ck_token_name_allowed(&t, "*.example.com"));
	cr_assert(ck_token_name_allowed(&t, "API.other.org"));
	cr_assert_not(ck_token_name_allowed(&t, "example.com"));
	cr_assert_not(ck_token_name_allowed(&t, "www.example.com.evil.net"));
	cr_assert_not(ck_token_name_allowed(&t, "wwwexample.com"));
	cr_assert_not(ck_token_name_allowed(&t, "x.api.other.org"));
	cr_assert_not(ck_token_name_allowed(&t, "other.org"));
	t.pattern[0] = '\0';
	cr_assert(ck_token_name_allowed(&t, "anything.net"));
	t.role = CK_ROLE_AUDITOR;
	cr_assert_not(ck_token_name_allowed(&t, "anything.net"));
	t.role = CK_ROLE_OPERATOR;
	cr_assert(ck_token_name_allowed(&t, "anything.net"));
	t.role = CK_ROLE_ENROLLER;
	t.status = CK_TOKEN_REVOKED;
	cr_assert_not(ck_token_name_allowed(&t, "anything.net"));
}
