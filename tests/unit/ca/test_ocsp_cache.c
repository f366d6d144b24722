/*
 * Unit tests for what src/ca/ocsp.c keeps between answers (CA names and
 * key hashes, the responder in use): two databases with a CA of the same
 * name each answer with their own responder, and a revocation is in the
 * very next fresh answer.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "lifecycle/lifecycle.h"
#include "store/store.h"
#include "x509/x509.h"

static char dir[] = "/tmp/ck-ocsp-cache-XXXXXX";

static void
setup(void)
{
	char mk[300];

	ck_x509_init();
	cr_assert_not_null(mkdtemp(dir));
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	setenv("CERTKEEP_MASTER_KEY_FILE", mk, 1);
}

static void
teardown(void)
{
	char cmd[300];

	ck_ca_cache_clear();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(ocsp_cache, .init = setup, .fini = teardown);

static int
ca_cert_id(void *ctx, const struct ck_ca_row *ca)
{
	*(int64_t *)ctx = ca->cert_id;
	return 0;
}

static int
row_x509(void *ctx, const struct ck_cert_row *row)
{
	const unsigned char *p = row->der;

	*(X509 **)ctx = d2i_X509(NULL, &p, (long)row->der_len);
	return 0;
}

struct db {
	struct ck_store *st;
	X509 *ca, *leaf;
	int64_t leaf_id;
};

static void
db_open(struct db *d, const char *file)
{
	struct ck_ca_init_opts o = {0};
	struct ck_enroll_req req = {0};
	struct ck_enroll_res res;
	struct ck_buf key = CK_BUF_INIT;
	struct ck_err err = {0};
	const char *sans[] = {"o.example"};
	const unsigned char *p;
	uint8_t *csr;
	size_t len;
	int64_t id = 0;
	char url[400];

	snprintf(url, sizeof(url), "sqlite:%s/%s", dir, file);
	cr_assert_eq(ck_store_open(url, &d->st, &err), 0, "%s", err.msg);
	o.name = "same";
	o.root_only = true;
	o.actor = "test";
	cr_assert_eq(ck_ca_init(d->st, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(ck_store_ca_get(d->st, "same", ca_cert_id, &id, NULL), 0);
	cr_assert_eq(ck_store_cert_get(d->st, id, row_x509, &d->ca, NULL), 0);
	cr_assert_eq(ck_make_key_and_csr("ec-p256", "o.example", sans, 1, &csr,
	                 &len, &key, &err),
	    0);
	req.ca = "same";
	req.profile = "tls-server";
	req.csr = csr;
	req.csr_len = len;
	req.requested_by = "test";
	cr_assert_eq(ck_enroll(d->st, &req, &res, &err), 0, "%s", err.msg);
	p = res.der;
	d->leaf = d2i_X509(NULL, &p, (long)res.der_len);
	d->leaf_id = res.cert_id;
	free(csr);
	ck_buf_release_secret(&key);
	ck_enroll_res_release(&res);
}

static void
db_close(struct db *d)
{
	X509_free(d->ca);
	X509_free(d->leaf);
	ck_store_free(d->st);
}

/* Asks d about its leaf (with a nonce: signed fresh) and checks the answer
 * against d's own CA; returns the certificate status. */
static int
ask(struct db *d)
{
	OCSP_REQUEST *q = OCSP_REQUEST_new();
	OCSP_RESPONSE *o;
	OCSP_BASICRESP *bs;
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, d->leaf, d->ca);
	X509_STORE *trust = X509_STORE_new();
	STACK_OF(X509) *none = sk_X509_new_null();
	unsigned char *der = NULL;
	const unsigned char *p;
	uint8_t *resp;
	size_t len;
	int n, status = -1, reason;
	struct ck_err err = {0};

	OCSP_request_add0_id(q, OCSP_CERTID_dup(id));
	OCSP_request_add1_nonce(q, NULL, 16);
	n = i2d_OCSP_REQUEST(q, &der);
	cr_assert_eq(ck_ocsp_respond(
	                 d->st, NULL, NULL, der, (size_t)n, &resp, &len, &err),
	    0, "%s", err.msg);
	p = resp;
	cr_assert_not_null(o = d2i_OCSP_RESPONSE(NULL, &p, (long)len));
	cr_assert_eq(OCSP_response_status(o), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	cr_assert_not_null(bs = OCSP_response_get1_basic(o));
	X509_STORE_add_cert(trust, d->ca);
	cr_assert_eq(OCSP_basic_verify(bs, none, trust, 0), 1,
	    "answer not signed for this database's CA");
	cr_assert_eq(OCSP_check_nonce(q, bs), 1);
	{
		/* the DER walk the HTTP caching headers use reads the same
		 * times OpenSSL's full decode does */
		ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL;
		struct tm tm;
		int64_t t1, t2;
		cr_assert(OCSP_resp_find_status(
		    bs, id, &status, &reason, NULL, &tu, &nu));
		cr_assert_eq(
		    ck_x509_ocsp_resp_times(resp, len, &t1, &t2, &err), 0);
		ASN1_TIME_to_tm(tu, &tm);
		cr_assert_eq(t1, (int64_t)timegm(&tm));
		ASN1_TIME_to_tm(nu, &tm);
		cr_assert_eq(t2, (int64_t)timegm(&tm));
		cr_assert_eq(
		    ck_x509_ocsp_resp_times(resp, len - 1, &t1, &t2, NULL),
		    CK_E_PARSE);
	}
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(o);
	OCSP_REQUEST_free(q);
	OCSP_CERTID_free(id);
	X509_STORE_free(trust);
	sk_X509_free(none);
	OPENSSL_free(der);
	free(resp);
	return status;
}

Test(ocsp_cache, two_databases_and_a_revocation)
{
	struct db a, b;
	struct ck_err err = {0};
	bool already;

	db_open(&a, "a.db");
	db_open(&b, "b.db");
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ask(&a), V_OCSP_CERTSTATUS_GOOD);
		cr_assert_eq(ask(&b), V_OCSP_CERTSTATUS_GOOD);
	}
	cr_assert_eq(ck_store_begin(b.st, &err), 0);
	cr_assert_eq(ck_store_cert_revoke(
	                 b.st, b.leaf_id, 1700000000, 1, &already, &err),
	    0, "%s", err.msg);
	cr_assert_eq(ck_store_commit(b.st, &err), 0);
	cr_assert_eq(ask(&b), V_OCSP_CERTSTATUS_REVOKED);
	cr_assert_eq(ask(&a), V_OCSP_CERTSTATUS_GOOD);
	db_close(&a);
	db_close(&b);
}
