/*
 * Unit tests for src/ca/keycache.c: signing keys and the master key are
 * decoded once per process, yet a changed master key file, another
 * database with a CA of the same name, or threads signing at once behave
 * exactly as without the cache.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "lifecycle/lifecycle.h"
#include "store/store.h"
#include "x509/x509.h"

static char dir[] = "/tmp/ck-keycache-XXXXXX";
static char mkpath[300];

static void
setup(void)
{
	ck_x509_init();
	cr_assert_not_null(mkdtemp(dir));
	snprintf(mkpath, sizeof(mkpath), "%s/master.key", dir);
	setenv("CERTKEEP_MASTER_KEY_FILE", mkpath, 1);
}

static void
teardown(void)
{
	char cmd[400];

	ck_ca_cache_clear();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static struct ck_store *
open_with_ca(const char *db, const char *ca)
{
	struct ck_ca_init_opts o = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	char url[400];

	snprintf(url, sizeof(url), "sqlite:%s/%s", dir, db);
	cr_assert_eq(ck_store_open(url, &st, &err), 0, "%s", err.msg);
	o.name = ca;
	o.root_only = true;
	o.actor = "test";
	cr_assert_eq(ck_ca_init(st, &o, &err), 0, "%s", err.msg);
	return st;
}

static int
enroll(struct ck_store *st, const char *ca, struct ck_enroll_res *res,
    struct ck_err *err)
{
	struct ck_enroll_req req = {0};
	struct ck_buf key = CK_BUF_INIT;
	const char *sans[] = {"a.example"};
	uint8_t *csr = NULL;
	size_t len = 0;
	int r;

	cr_assert_eq(ck_make_key_and_csr("ec-p256", "a.example", sans, 1, &csr,
	                 &len, &key, err),
	    0);
	req.ca = ca;
	req.profile = "tls-server";
	req.csr = csr;
	req.csr_len = len;
	req.requested_by = "test";
	r = ck_enroll(st, &req, res, err);
	free(csr);
	ck_buf_release_secret(&key);
	return r;
}

static int
ca_cert_id(void *ctx, const struct ck_ca_row *ca)
{
	*(int64_t *)ctx = ca->cert_id;
	return 0;
}

static int
copy_der(void *ctx, const struct ck_cert_row *row)
{
	ck_buf_add(ctx, row->der, row->der_len);
	return 0;
}

/* Whether cert was signed by the key of CA ca in st. */
static bool
signed_by_ca(
    struct ck_store *st, const char *ca, const uint8_t *cert, size_t len)
{
	struct ck_buf der = CK_BUF_INIT;
	int64_t id = 0;
	bool ok = false;

	cr_assert_eq(ck_store_ca_get(st, ca, ca_cert_id, &id, NULL), 0);
	cr_assert_eq(ck_store_cert_get(st, id, copy_der, &der, NULL), 0);
	cr_assert_eq(ck_x509_signed_by(
	                 cert, len, (const uint8_t *)der.p, der.len, &ok, NULL),
	    0);
	ck_buf_release(&der);
	return ok;
}

static void
write_key(const char *path, const uint8_t *key, mode_t mode)
{
	char tmp[400];
	FILE *f;

	/* A new file renamed into place: a new inode, as an editor makes. */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	cr_assert_not_null(f = fopen(tmp, "w"));
	cr_assert_eq(fwrite(key, 1, CK_MASTER_KEY_LEN, f), CK_MASTER_KEY_LEN);
	fclose(f);
	cr_assert_eq(chmod(tmp, mode), 0);
	cr_assert_eq(rename(tmp, path), 0);
}

TestSuite(keycache, .init = setup, .fini = teardown);

Test(keycache, master_key_file_changes_are_seen)
{
	struct ck_store *st = open_with_ca("a.db", "one");
	struct ck_enroll_res res;
	struct ck_err err = {0};
	struct ck_buf orig = CK_BUF_INIT;
	uint8_t other[CK_MASTER_KEY_LEN];

	cr_assert_eq(ck_file_read(mkpath, 64, &orig, NULL), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(enroll(st, "one", &res, &err), 0, "%s", err.msg);
		cr_assert(signed_by_ca(st, "one", res.der, res.der_len));
		ck_enroll_res_release(&res);
	}
	/* Another master key: the cached CA key must not sign. */
	memset(other, 0x5a, sizeof(other));
	write_key(mkpath, other, 0600);
	cr_assert_eq(enroll(st, "one", &res, &err), CK_E_CRYPTO);
	cr_assert(strstr(err.msg, "wrong master key") != NULL, "%s", err.msg);
	/* A key readable by others is refused, cached or not. */
	write_key(mkpath, (const uint8_t *)orig.p, 0644);
	cr_assert_eq(enroll(st, "one", &res, &err), CK_E_PERM);
	cr_assert(strstr(err.msg, "chmod 600") != NULL, "%s", err.msg);
	cr_assert_eq(chmod(mkpath, 0600), 0);
	cr_assert_eq(enroll(st, "one", &res, &err), 0, "%s", err.msg);
	ck_enroll_res_release(&res);
	/* Gone: the loader's error, not a key from memory. */
	cr_assert_eq(unlink(mkpath), 0);
	cr_assert_eq(enroll(st, "one", &res, &err), CK_E_NOTFOUND);
	cr_assert(
	    strstr(err.msg, "CERTKEEP_MASTER_KEY_FILE") != NULL, "%s", err.msg);
	ck_buf_release_secret(&orig);
	ck_store_free(st);
}

Test(keycache, same_ca_name_in_two_databases)
{
	struct ck_store *a = open_with_ca("a.db", "same");
	struct ck_store *b = open_with_ca("b.db", "same");
	struct ck_enroll_res ra, rb;
	struct ck_err err = {0};

	for (int i = 0; i < 2; i++) {
		cr_assert_eq(enroll(a, "same", &ra, &err), 0, "%s", err.msg);
		cr_assert_eq(enroll(b, "same", &rb, &err), 0, "%s", err.msg);
		cr_assert(signed_by_ca(a, "same", ra.der, ra.der_len));
		cr_assert(signed_by_ca(b, "same", rb.der, rb.der_len));
		cr_assert(!signed_by_ca(b, "same", ra.der, ra.der_len));
		ck_enroll_res_release(&ra);
		ck_enroll_res_release(&rb);
	}
	ck_store_free(a);
	ck_store_free(b);
}

struct worker {
	char url[400];
	int failures;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct ck_store *st = NULL;
	struct ck_err err = {0};

	if (ck_store_open(w->url, &st, &err) != 0) {
		w->failures = -1;
		return NULL;
	}
	for (int i = 0; i < 20; i++) {
		struct ck_enroll_res res;
		if (enroll(st, "par", &res, &err) != 0)
			w->failures++;
		else
			ck_enroll_res_release(&res);
		/* Clearing under a signer's feet must be harmless. */
		if (i == 10)
			ck_ca_cache_clear();
	}
	ck_store_free(st);
	return NULL;
}

Test(keycache, threads_share_the_keys)
{
	struct ck_store *st = open_with_ca("p.db", "par");
	struct worker w[2];
	pthread_t t[2];
	int64_t n = 0;
	struct ck_cert_filter f = {0};

	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		snprintf(w[i].url, sizeof(w[i].url), "sqlite:%s/p.db", dir);
		cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].failures, 0, "thread %d", i);
	}
	f.ca = 0;
	cr_assert_eq(ck_store_cert_count(st, &f, &n, NULL), 0);
	cr_assert_eq(n, 40);
	ck_store_free(st);
}
