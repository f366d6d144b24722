/*
 * Unit tests for group commit through the store: ck_enroll_batch records
 * every certificate it signed in one transaction. A refused request leaves
 * the others alone; a transaction that fails records none of them and
 * hands no certificate back.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "ca/ca.h"
#include "lifecycle/lifecycle.h"
#include "store/store.h"
#include "x509/x509.h"

static char dir[] = "/tmp/ck-group-XXXXXX";
static struct ck_store *st;

static void
setup(void)
{
	struct ck_ca_init_opts o = {0};
	struct ck_err err = {0};
	char url[300], mk[300];

	ck_x509_init();
	strcpy(dir, "/tmp/ck-group-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	setenv("CERTKEEP_MASTER_KEY_FILE", mk, 1);
	snprintf(url, sizeof(url), "sqlite:%s/inv.db", dir);
	cr_assert_eq(ck_store_open(url, &st, &err), 0, "%s", err.msg);
	o.name = "ca";
	o.root_only = true;
	o.actor = "test";
	cr_assert_eq(ck_ca_init(st, &o, &err), 0, "%s", err.msg);
}

static void
teardown(void)
{
	char cmd[400];

	ck_store_free(st);
	st = NULL;
	ck_ca_cache_clear();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(group_commit, .init = setup, .fini = teardown);

#define N 4

struct batch {
	struct ck_enroll_req req[N];
	struct ck_enroll_res res[N];
	int codes[N];
	struct ck_err errs[N];
	uint8_t *csr[N];
};

/* Requests 0 and 3 good, 1 for an unknown profile, 2 not a CSR. */
static void
make_batch(struct batch *b)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};

	memset(b, 0, sizeof(*b));
	for (int i = 0; i < N; i++) {
		struct ck_buf key = CK_BUF_INIT;
		char cn[32];
		const char *sans[1] = {cn};
		size_t len = 0;

		snprintf(cn, sizeof(cn), "h%d.example", i);
		cr_assert_eq(ck_make_key_and_csr("ec-p256", cn, sans, 1,
		                 &b->csr[i], &len, &key, NULL),
		    0);
		ck_buf_release_secret(&key);
		b->req[i].ca = "ca";
		b->req[i].profile = "tls-server";
		b->req[i].csr = b->csr[i];
		b->req[i].csr_len = len;
		b->req[i].requested_by = "test";
	}
	b->req[1].profile = "no-such-profile";
	b->req[2].csr = junk;
	b->req[2].csr_len = sizeof(junk);
}

static void
free_batch(struct batch *b)
{
	for (int i = 0; i < N; i++) {
		ck_enroll_res_release(&b->res[i]);
		free(b->csr[i]);
	}
}

static int64_t
events(void)
{
	int64_t n = 0;

	cr_assert_eq(ck_store_events_verify(st, &n, NULL), 0);
	return n;
}

static int
count_rows(void *ctx, const struct ck_cert_row *row)
{
	(void)row;
	(*(int *)ctx)++;
	return 0;
}

static int
certificates(void)
{
	struct ck_cert_filter f = {0};
	int n = 0;

	f.ca = -1;
	cr_assert_eq(ck_store_cert_list(st, &f, count_rows, &n, NULL), 0);
	return n;
}

static int
copy_der(void *ctx, const struct ck_cert_row *row)
{
	ck_buf_add(ctx, row->der, row->der_len);
	return 0;
}

Test(group_commit, refusals_leave_the_others_alone)
{
	struct batch b;
	int64_t ev0 = events();
	int certs0 = certificates();

	make_batch(&b);
	cr_assert_eq(ck_enroll_batch(st, b.req, N, b.res, b.codes, b.errs), 0,
	    "%s", b.errs[0].msg);
	cr_assert_eq(b.codes[0], 0, "%s", b.errs[0].msg);
	cr_assert_eq(b.codes[3], 0, "%s", b.errs[3].msg);
	cr_assert_eq(b.codes[1], CK_E_INVAL);
	cr_assert(strstr(b.errs[1].msg, "no-such-profile") != NULL, "%s",
	    b.errs[1].msg);
	cr_assert_neq(b.codes[2], 0);
	cr_assert_null(b.res[1].der);
	cr_assert_null(b.res[2].der);
	cr_assert_eq(certificates(), certs0 + 2);
	cr_assert_eq(events(), ev0 + 2);
	for (int i = 0; i < N; i += 3) {
		struct ck_buf der = CK_BUF_INIT;

		/* What was handed back is what was recorded, with a chain. */
		cr_assert_not_null(b.res[i].der);
		cr_assert_gt(b.res[i].chain_pem.len, 0);
		cr_assert(strstr(b.res[i].chain_pem.p, "BEGIN CERTIFICATE"));
		cr_assert_eq(ck_store_cert_get(
		                 st, b.res[i].cert_id, copy_der, &der, NULL),
		    0);
		cr_assert_eq(der.len, b.res[i].der_len);
		cr_assert_eq(memcmp(der.p, b.res[i].der, der.len), 0);
		ck_buf_release(&der);
	}
	cr_assert_neq(b.res[0].cert_id, b.res[3].cert_id);
	free_batch(&b);
}

Test(group_commit, failed_transaction_records_and_returns_nothing)
{
	struct batch b;
	int64_t ev0 = events();
	int certs0 = certificates();
	int r;

	make_batch(&b);
	/* The second write of the transaction fails. */
	ck_store_fail_after(st, 2);
	r = ck_enroll_batch(st, b.req, N, b.res, b.codes, b.errs);
	cr_assert_eq(r, CK_E_DB);
	cr_assert_eq(b.codes[0], CK_E_DB);
	cr_assert_eq(b.codes[3], CK_E_DB);
	cr_assert(strstr(b.errs[3].msg, "injected failure") != NULL, "%s",
	    b.errs[3].msg);
	/* Refusals keep their own reason. */
	cr_assert_eq(b.codes[1], CK_E_INVAL);
	cr_assert(strstr(b.errs[1].msg, "no-such-profile") != NULL, "%s",
	    b.errs[1].msg);
	for (int i = 0; i < N; i++)
		cr_assert_null(b.res[i].der, "request %d got a certificate", i);
	cr_assert_eq(certificates(), certs0);
	cr_assert_eq(events(), ev0);
	free_batch(&b);
	/* The store and the batch work afterwards. */
	make_batch(&b);
	cr_assert_eq(ck_enroll_batch(st, b.req, N, b.res, b.codes, b.errs), 0);
	cr_assert_eq(certificates(), certs0 + 2);
	free_batch(&b);
}

Test(group_commit, nothing_signed_opens_no_transaction)
{
	struct batch b;
	int64_t ev0 = events();

	make_batch(&b);
	b.req[0].profile = b.req[3].profile = "no-such-profile";
	cr_assert_eq(ck_enroll_batch(st, b.req, N, b.res, b.codes, b.errs), 0);
	for (int i = 0; i < N; i++)
		cr_assert_neq(b.codes[i], 0);
	cr_assert_eq(events(), ev0);
	free_batch(&b);
}
