/*
 * Unit tests for src/store/managed.c: the job queue's leases (a claimed job
 * is not handed out twice until its lease runs out, one open job per kind
 * and subject keeping the earlier time), managed rows due by time with the
 * sleep hint, filters, and issuers that cannot be deleted while in use.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "store/managed.h"

static char dir[] = "/tmp/ck-managed-XXXXXX";
static char url[160];
static struct ck_store *st;

static void
setup(void)
{
	struct ck_err err = {0};

	ck_clock_set(1000000);
	strcpy(dir, "/tmp/ck-managed-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/inv.db", dir);
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
	ck_clock_set(0);
}

TestSuite(managed, .init = setup, .fini = teardown);

static int
count_job(void *ctx, const struct ck_job_row *j)
{
	(void)j;
	(*(int *)ctx)++;
	return 0;
}

static int
claim(const char *owner, int64_t now, int64_t limit)
{
	struct ck_err err = {0};
	int n = 0;

	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(ck_store_job_claim(st, "renew", NULL, owner, now, 60,
	                 limit, count_job, &n, &err),
	    0, "%s", err.msg);
	cr_assert_eq(ck_store_commit(st, &err), 0);
	return n;
}

Test(managed, job_leases)
{
	struct ck_err err = {0};
	char s[16];

	cr_assert_eq(ck_store_begin(st, &err), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "c%d", i);
		cr_assert_eq(
		    ck_store_job_put(st, "renew", s, 100 + i, &err), 0);
	}
	/* the same subject again: still one job, at the earlier time */
	cr_assert_eq(ck_store_job_put(st, "renew", "c9", 50, &err), 0);
	cr_assert_eq(ck_store_job_put(st, "renew", "c0", 500, &err), 0);
	cr_assert_eq(ck_store_job_put(st, "deploy", "c0", 100, &err), 0);
	cr_assert_eq(ck_store_commit(st, &err), 0);

	int all = 0;
	cr_assert_eq(ck_store_job_list(st, NULL, count_job, &all, &err), 0);
	cr_assert_eq(all, 11);
	cr_assert_eq(claim("a", 104, 0), 6); /* c0..c4 and c9 (at 50) */
	cr_assert_eq(claim("b", 104, 0), 0); /* leased by a */
	cr_assert_eq(claim("b", 200, 3), 3); /* c5..c7; c0.. still leased */
	cr_assert_eq(claim("b", 164, 0), 7); /* a's leases ran out at 164 */
}

static int
name_of(void *ctx, const char *name)
{
	strcpy(ctx, name);
	return 0;
}

static void
add(const char *name, int64_t next, const char *state)
{
	struct ck_managed_row m = {.name = name,
	    .cn = name,
	    .sans = "DNS:a.example,DNS:b.example",
	    .key_type = "ec-p256",
	    .issuer = "local",
	    .profile = "tls-server",
	    .renew_frac = 667,
	    .owner = "team-a",
	    .tags = "web,prod",
	    .state = state,
	    .next_action = next,
	    .created = 1,
	    .actor = "test"};
	struct ck_err err = {0};

	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(
	    ck_store_managed_add(st, &m, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(ck_store_commit(st, &err), 0);
}

static int
count_managed(void *ctx, const struct ck_managed_row *m)
{
	(void)m;
	(*(int *)ctx)++;
	return 0;
}

Test(managed, due_and_filters)
{
	struct ck_err err = {0};
	char first[64] = "";
	int64_t next;
	int n;

	add("one", 300, "pending");
	add("two", 200, "active");
	add("three", INT64_MAX, "retired");
	cr_assert_eq(
	    ck_store_managed_due(st, 100, 0, name_of, first, &next, &err), 0);
	cr_assert_str_empty(first);
	cr_assert_eq(next, 200);
	cr_assert_eq(
	    ck_store_managed_due(st, 250, 0, name_of, first, &next, &err), 0);
	cr_assert_str_eq(first, "two");

	struct ck_managed_filter f = {.tag = "prod"};
	n = 0;
	cr_assert_eq(ck_store_managed_list(st, &f, count_managed, &n, &err), 0);
	cr_assert_eq(n, 3);
	f = (struct ck_managed_filter){.san = "b.example", .state = "active"};
	n = 0;
	cr_assert_eq(ck_store_managed_list(st, &f, count_managed, &n, &err), 0);
	cr_assert_eq(n, 1);
	f = (struct ck_managed_filter){.tag = "pro"};
	n = 0;
	cr_assert_eq(ck_store_managed_list(st, &f, count_managed, &n, &err), 0);
	cr_assert_eq(n, 0, "a tag matches whole");
	f = (struct ck_managed_filter){.name = "nope"};
	cr_assert_eq(ck_store_managed_list(st, &f, count_managed, &n, &err),
	    CK_E_NOTFOUND);

	/* the name is unique */
	struct ck_managed_row m = {.name = "one", .state = "pending"};
	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(ck_store_managed_add(st, &m, NULL, &err), CK_E_EXISTS);
	ck_store_rollback(st);
}

Test(managed, issuer_in_use)
{
	struct ck_issuer_row r = {.name = "local",
	    .type = "local",
	    .config = "{\"ca\":\"x\"}",
	    .created = 1,
	    .actor = "t"};
	struct ck_err err = {0};

	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(ck_store_issuer_add(st, &r, NULL, &err), 0);
	cr_assert_eq(ck_store_issuer_add(st, &r, NULL, &err), CK_E_EXISTS);
	cr_assert_eq(ck_store_commit(st, &err), 0);
	add("one", 300, "active");
	cr_assert_eq(ck_store_begin(st, &err), 0);
	cr_assert_eq(ck_store_issuer_delete(st, "local", &err), CK_E_PERM);
	cr_assert_eq(ck_store_managed_schedule(
	                 st, "one", INT64_MAX, "retired", -1, NULL, &err),
	    0);
	cr_assert_eq(ck_store_issuer_delete(st, "local", &err), 0);
	cr_assert_eq(ck_store_issuer_delete(st, "local", &err), CK_E_NOTFOUND);
	cr_assert_eq(ck_store_commit(st, &err), 0);
}
