/*
 * Unit tests for the statement cache and the writers' lock of
 * src/store/store_sqlite.c: a row callback that comes back into the store
 * gets a statement of its own, a read leaves no snapshot behind, fault
 * injection still reaches cached statements and lets go of the lock, and
 * two threads writing one file through their own handles lose nothing.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "store/store.h"

static char dir[] = "/tmp/ck-stmts-XXXXXX";
static char url[128];
static struct ck_store *st;

static void
setup(void)
{
	struct ck_err err = {0};

	strcpy(dir, "/tmp/ck-stmts-XXXXXX");
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
}

TestSuite(statements, .init = setup, .fini = teardown);

/* Adds CA rows named names[0..n) in one transaction. */
static void
add_cas(struct ck_store *s, const char *const *names, int n)
{
	struct ck_err err = {0};
	const uint8_t sealed[4] = {1, 2, 3, 4};

	cr_assert_eq(ck_store_begin(s, &err), 0, "%s", err.msg);
	for (int i = 0; i < n; i++) {
		struct ck_ca_row ca = {0};
		int64_t id;

		ca.name = names[i];
		ca.cert_id = 100 + i;
		ca.key_type = "ec-p256";
		ca.key_sealed = sealed;
		ca.key_sealed_len = sizeof(sealed);
		ca.created_at = 1;
		cr_assert_eq(
		    ck_store_ca_add(s, &ca, &id, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(ck_store_commit(s, &err), 0, "%s", err.msg);
}

struct nest {
	int outer, inner;
	char seen[8][16];
};

static int
count_inner(void *ctx, const struct ck_ca_row *ca)
{
	(void)ca;
	((struct nest *)ctx)->inner++;
	return 0;
}

/* For each CA of the outer list, the whole list again, then its own row
 * by name: both use the statements the outer list is stepping. */
static int
list_again(void *ctx, const struct ck_ca_row *ca)
{
	struct nest *n = ctx;
	char name[16];

	snprintf(name, sizeof(name), "%s", ca->name);
	cr_assert_eq(ck_store_ca_list(st, count_inner, n, NULL), 0);
	cr_assert_eq(ck_store_ca_get(st, name, count_inner, n, NULL), 0);
	/* The outer row is still the one it was. */
	cr_assert_str_eq(ca->name, name);
	snprintf(n->seen[n->outer++], sizeof(n->seen[0]), "%s", ca->name);
	return 0;
}

Test(statements, callback_coming_back_gets_its_own_statement)
{
	const char *names[] = {"alpha", "beta", "gamma"};
	struct nest n = {0};

	add_cas(st, names, 3);
	cr_assert_eq(ck_store_ca_list(st, list_again, &n, NULL), 0);
	cr_assert_eq(n.outer, 3, "the outer list was cut short");
	cr_assert_str_eq(n.seen[0], "alpha");
	cr_assert_str_eq(n.seen[2], "gamma");
	cr_assert_eq(n.inner, 3 * (3 + 1));
	/* And the cached statements work afterwards. */
	n.inner = 0;
	cr_assert_eq(ck_store_ca_list(st, count_inner, &n, NULL), 0);
	cr_assert_eq(n.inner, 3);
}

static int
stop_early(void *ctx, const struct ck_ca_row *ca)
{
	(void)ca;
	(*(int *)ctx)++;
	return 7;
}

Test(statements, stopped_list_can_run_again)
{
	const char *names[] = {"a1", "a2", "a3"};
	int n = 0;

	add_cas(st, names, 3);
	cr_assert_eq(ck_store_ca_list(st, stop_early, &n, NULL), 7);
	cr_assert_eq(ck_store_ca_list(st, stop_early, &n, NULL), 7);
	cr_assert_eq(n, 2);
}

static int
ca_id_of(void *ctx, const struct ck_ca_row *ca)
{
	*(int64_t *)ctx = ca->id;
	return 0;
}

static void
issue_serial(
    struct ck_store *s, int64_t cert_id, int64_t ca_id, const char *serial)
{
	struct ck_err err = {0};

	cr_assert_eq(ck_store_begin(s, &err), 0, "%s", err.msg);
	cr_assert_eq(ck_store_issued_add(
	                 s, cert_id, ca_id, serial, "tls-server", "test", &err),
	    0, "%s", err.msg);
	cr_assert_eq(ck_store_commit(s, &err), 0, "%s", err.msg);
}

/* A one-row read stops at its row; were its statement left unreset, the
 * handle would keep reading the database as it was then. */
Test(statements, read_keeps_no_snapshot)
{
	struct ck_store *other = NULL;
	struct ck_err err = {0};
	const char *names[] = {"ca"};
	int64_t ca_id = 0, by = 0;
	char *serial = NULL;
	bool taken;

	add_cas(st, names, 1);
	cr_assert_eq(ck_store_ca_get(st, "ca", ca_id_of, &ca_id, NULL), 0);
	issue_serial(st, 1, ca_id, "01");
	/* Reads that stop at their one row. */
	cr_assert_eq(ck_store_serial_taken(st, ca_id, "01", &taken, &err), 0,
	    "%s", err.msg);
	cr_assert(taken);
	cr_assert_eq(
	    ck_store_issued_by(st, 1, &by, &serial, &err), 0, "%s", err.msg);
	cr_assert_eq(by, ca_id);
	cr_assert_str_eq(serial, "01");
	free(serial);
	cr_assert_eq(ck_store_serial_taken(st, ca_id, "02", &taken, NULL), 0);
	cr_assert(!taken);
	cr_assert_eq(ck_store_open(url, &other, &err), 0, "%s", err.msg);
	issue_serial(other, 2, ca_id, "02");
	cr_assert_eq(ck_store_serial_taken(st, ca_id, "02", &taken, NULL), 0);
	cr_assert(taken, "the other handle's commit is not seen");
	cr_assert_eq(ck_store_issued_by(st, 2, &by, &serial, NULL), 0);
	cr_assert_str_eq(serial, "02");
	free(serial);
	ck_store_free(other);
}

Test(statements, injected_failure_reaches_cached_statement)
{
	struct ck_err err = {0};
	const uint8_t der[3] = {0x30, 0x01, 0x00};
	uint8_t *got = NULL;
	size_t len = 0;
	int64_t tu = 0;
	uint64_t t0;

	/* Prepared and cached by a first use. */
	cr_assert_eq(ck_store_ocsp_cache_put(
	                 st, 1, "sha1", "01", 5, der, sizeof(der), &err),
	    0, "%s", err.msg);
	ck_store_fail_after(st, 1);
	cr_assert_eq(ck_store_ocsp_cache_put(
	                 st, 1, "sha1", "01", 6, der, sizeof(der), &err),
	    CK_E_DB);
	cr_assert(strstr(err.msg, "injected failure") != NULL, "%s", err.msg);
	cr_assert_eq(
	    ck_store_ocsp_cache_get(st, 1, "sha1", "01", &tu, &got, &len, NULL),
	    0);
	cr_assert_eq(tu, 5, "the failed write changed the row");
	free(got);
	/* The writers' lock was let go: the next write does not wait. */
	t0 = ck_mono_ns();
	cr_assert_eq(ck_store_ocsp_cache_put(
	                 st, 1, "sha1", "01", 7, der, sizeof(der), &err),
	    0, "%s", err.msg);
	cr_assert_lt(ck_mono_ns() - t0, 1000000000ull);
	cr_assert_eq(
	    ck_store_ocsp_cache_get(st, 1, "sha1", "01", &tu, &got, &len, NULL),
	    0);
	cr_assert_eq(tu, 7);
	cr_assert_eq(len, sizeof(der));
	free(got);
}

Test(statements, rollback_lets_the_next_writer_in)
{
	struct ck_store *other = NULL;
	struct ck_err err = {0};
	uint64_t t0;

	cr_assert_eq(ck_store_open(url, &other, &err), 0, "%s", err.msg);
	cr_assert_eq(ck_store_begin(st, &err), 0, "%s", err.msg);
	cr_assert_eq(
	    ck_store_event_add(st, "test", "test.one", "x", "first", &err), 0,
	    "%s", err.msg);
	ck_store_rollback(st);
	t0 = ck_mono_ns();
	cr_assert_eq(ck_store_begin(other, &err), 0, "%s", err.msg);
	cr_assert_lt(ck_mono_ns() - t0, 1000000000ull);
	cr_assert_eq(ck_store_commit(other, &err), 0, "%s", err.msg);
	ck_store_free(other);
}

#define PER_THREAD 300

static void *
write_events(void *arg)
{
	struct ck_store *s = NULL;
	struct ck_err err = {0};
	int *failed = arg;

	if (ck_store_open(url, &s, &err) != 0) {
		*failed = 1;
		return NULL;
	}
	for (int i = 0; i < PER_THREAD && *failed == 0; i++) {
		char detail[32];

		snprintf(detail, sizeof(detail), "%d", i);
		if (ck_store_begin(s, &err) != 0 ||
		    ck_store_event_add(
		        s, "t", "test.write", "x", detail, &err) != 0 ||
		    ck_store_commit(s, &err) != 0)
			*failed = 1;
	}
	ck_store_free(s);
	return NULL;
}

/* Each thread its own handle on one file: every transaction lands, and
 * the audit chain, which each one extends from the last, stays whole. */
Test(statements, two_threads_writing_lose_nothing)
{
	pthread_t t[2];
	int failed[2] = {0, 0};
	int64_t count = 0;
	struct ck_err err = {0};

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, write_events, &failed[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(failed[0] + failed[1], 0);
	cr_assert_eq(
	    ck_store_events_verify(st, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 2 * PER_THREAD);
}
