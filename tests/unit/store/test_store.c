/*
 * Unit tests for src/store: one row per certificate, locations, issuer
 * links, rollback of a failed batch (fault injection), look-ups by prefix,
 * stats buckets and the audit hash chain.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "store/store.h"
#include "x509/x509.h"

static char dir[] = "/tmp/ck-store-XXXXXX";
static char url[128];
static struct ck_store *st;
static EVP_PKEY *ca_key;

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	cr_assert_not_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate for cn, valid until now + days, signed by issuer (or
 * self-signed when issuer is NULL); its DER parsed into a ck_cert. */
static struct ck_cert *
make(const char *cn, int days, X509 *issuer, bool ca, X509 **keep)
{
	X509 *x = X509_new();
	unsigned char *der = NULL;
	struct ck_cert *c = NULL;
	static long serial = 1;
	int len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x,
	    issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
	X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, NULL);
	X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL);
	X509_set_pubkey(x, ca_key);
	add_ext(x, x, NID_subject_key_identifier, "hash");
	add_ext(x, issuer ? issuer : x, NID_authority_key_identifier,
	    "keyid:always");
	add_ext(
	    x, x, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (!ca) {
		char san[300];
		snprintf(san, sizeof(san), "DNS:%s", cn);
		add_ext(x, x, NID_subject_alt_name, san);
	}
	cr_assert(X509_sign(x, ca_key, NULL) > 0);
	len = i2d_X509(x, &der);
	cr_assert_eq(
	    ck_x509_parse(der, (size_t)len, CK_PARSE_CORE, &c, NULL), 0);
	OPENSSL_free(der);
	if (keep)
		*keep = x;
	else
		X509_free(x);
	return c;
}

static void
setup(void)
{
	struct ck_err err = {0};
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

	ck_x509_init();
	ck_clock_set(0);
	EVP_PKEY_keygen_init(kc);
	EVP_PKEY_keygen(kc, &ca_key);
	EVP_PKEY_CTX_free(kc);
	strcpy(dir, "/tmp/ck-store-XXXXXX");
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
	EVP_PKEY_free(ca_key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static int
count_rows(void *ctx, const struct ck_cert_row *row)
{
	(void)row;
	(*(int *)ctx)++;
	return 0;
}

static int
count_all(void)
{
	struct ck_cert_filter f = {0};
	int n = 0;

	f.ca = -1;
	cr_assert_eq(ck_store_cert_list(st, &f, count_rows, &n, NULL), 0);
	return n;
}

static int
count_loc(void *ctx, const struct ck_location *l)
{
	(void)l;
	(*(int *)ctx)++;
	return 0;
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, same_certificate_is_one_row_with_many_locations)
{
	struct ck_cert *c = make("one.example.com", 30, NULL, false, NULL);
	int64_t id1, id2;
	bool new1, new2;
	int n = 0;

	cr_assert_eq(ck_store_begin(st, NULL), 0);
	cr_assert_eq(ck_store_cert_put(st, c, 100, &id1, &new1, NULL), 0);
	cr_assert_eq(
	    ck_store_location_put(st, id1, "file", "/a.pem", 100, NULL), 0);
	cr_assert_eq(ck_store_cert_put(st, c, 200, &id2, &new2, NULL), 0);
	cr_assert_eq(
	    ck_store_location_put(st, id2, "file", "/b.pem", 200, NULL), 0);
	cr_assert_eq(
	    ck_store_location_put(st, id2, "file", "/a.pem", 300, NULL), 0);
	cr_assert_eq(ck_store_commit(st, NULL), 0);
	cr_assert(new1);
	cr_assert(!new2);
	cr_assert_eq(id1, id2);
	cr_assert_eq(count_all(), 1);
	cr_assert_eq(ck_store_locations(st, id1, count_loc, &n, NULL), 0);
	cr_assert_eq(n, 2);
	ck_cert_free(c);
}

Test(store, failed_batch_leaves_inventory_as_before)
{
	struct ck_cert *a = make("a.example.com", 30, NULL, false, NULL);
	struct ck_cert *b = make("b.example.com", 30, NULL, false, NULL);
	struct ck_stats *s = NULL;
	struct ck_err err = {0};
	int64_t id;
	bool is_new;

	cr_assert_eq(ck_store_begin(st, NULL), 0);
	cr_assert_eq(ck_store_cert_put(st, a, 1, &id, &is_new, NULL), 0);
	cr_assert_eq(ck_store_commit(st, NULL), 0);
	/* The second batch fails at its second write: b's row is in, its
	 * names row (written at commit) fails, and the commit rolls back. */
	cr_assert_eq(ck_store_begin(st, NULL), 0);
	ck_store_fail_after(st, 2);
	cr_assert_eq(ck_store_cert_put(st, b, 2, &id, &is_new, NULL), 0);
	cr_assert_eq(ck_store_commit(st, &err), CK_E_DB);
	cr_assert(strstr(err.msg, "injected failure") != NULL, "%s", err.msg);
	cr_assert_eq(count_all(), 1);
	/* A failure inside cert_put itself (its first write) rolls back too. */
	cr_assert_eq(ck_store_begin(st, NULL), 0);
	ck_store_fail_after(st, 1);
	cr_assert_eq(ck_store_cert_put(st, b, 2, &id, &is_new, &err), CK_E_DB);
	ck_store_rollback(st);
	cr_assert_eq(count_all(), 1);
	cr_assert_eq(ck_store_stats(st, ck_now(), &s, NULL), 0);
	cr_assert_eq(s->total, 1, "counts rolled back with the rows");
	ck_stats_free(s);
	/* And the store works afterwards. */
	cr_assert_eq(ck_store_begin(st, NULL), 0);
	cr_assert_eq(ck_store_cert_put(st, b, 3, &id, &is_new, NULL), 0);
	cr_assert_eq(ck_store_commit(st, NULL), 0);
	cr_assert(is_new);
	cr_assert_eq(count_all(), 2);
	ck_cert_free(a);
	ck_cert_free(b);
}

struct found {
	int64_t id, issuer_id;
	int n;
};

static int
on_chain(void *ctx, const struct ck_cert_row *r)
{
	struct found *f = ctx;

	f->n++;
	f->id = r->id;
	f->issuer_id = r->issuer_id;
	return 0;
}

Test(store, issuer_linked_in_either_order_and_confirmed)
{
	X509 *root_x;
	struct ck_cert *root = make("Root", 3650, NULL, true, &root_x);
	struct ck_cert *leaf =
	    make("leaf.example.com", 90, root_x, false, NULL);
	struct found f = {0};
	int64_t leaf_id, root_id;
	bool is_new;

	cr_assert_eq(ck_store_begin(st, NULL), 0);
	cr_assert_eq(
	    ck_store_cert_put(st, leaf, 1, &leaf_id, &is_new, NULL), 0);
	cr_assert_eq(
	    ck_store_cert_put(st, root, 1, &root_id, &is_new, NULL), 0);
	cr_assert_eq(ck_store_commit(st, NULL), 0);
	cr_assert_eq(ck_store_chain(st, leaf_id, on_chain, &f, NULL), 0);
	cr_assert_eq(f.n, 2);
	cr_assert_eq(f.id, root_id);
	X509_free(root_x);
	ck_cert_free(root);
	ck_cert_free(leaf);
}

Test(store, find_by_id_and_prefix)
{
	struct ck_cert *c = make("p.example.com", 30, NULL, false, NULL);
	struct ck_buf hex = CK_BUF_INIT;
	struct ck_err err = {0};
	int64_t id, got;
	bool is_new;

	cr_assert_eq(ck_store_begin(st, NULL), 0);
	cr_assert_eq(ck_store_cert_put(st, c, 1, &id, &is_new, NULL), 0);
	cr_assert_eq(ck_store_commit(st, NULL), 0);
	ck_buf_addhex(&hex, c->sha256, 32, 0);
	for (size_t n = 4; n <= 64; n += 7) {
		char pre[65];
		memcpy(pre, hex.p, n);
		pre[n] = '\0';
		cr_assert_eq(
		    ck_store_cert_find(st, pre, &got, &err), 0, "%s", err.msg);
		cr_assert_eq(got, id);
	}
	cr_assert_eq(ck_store_cert_find(st, "1", &got, NULL), 0);
	cr_assert_eq(got, id);
	cr_assert_eq(ck_store_cert_find(st, "2", &got, NULL), CK_E_NOTFOUND);
	cr_assert_eq(ck_store_cert_find(st, "abc", &got, NULL), CK_E_INVAL);
	cr_assert_eq(ck_store_cert_find(st, "zzzzzz", &got, NULL), CK_E_INVAL);
	hex.p[0] = hex.p[0] == 'f' ? 'e' : 'f';
	hex.p[10] = '\0';
	cr_assert_eq(ck_store_cert_find(st, hex.p, &got, NULL), CK_E_NOTFOUND);
	ck_buf_release(&hex);
	ck_cert_free(c);
}

Test(store, stats_buckets_follow_the_clock)
{
	int days[] = {-3, 2, 20, 60, 400};
	struct ck_stats *s = NULL;
	int64_t id, now = ck_now();
	bool is_new;

	cr_assert_eq(ck_store_begin(st, NULL), 0);
	for (int i = 0; i < 5; i++) {
		char cn[32];
		snprintf(cn, sizeof(cn), "s%d.example.com", i);
		struct ck_cert *c = make(cn, days[i], NULL, false, NULL);
		cr_assert_eq(
		    ck_store_cert_put(st, c, 1, &id, &is_new, NULL), 0);
		ck_cert_free(c);
	}
	cr_assert_eq(ck_store_commit(st, NULL), 0);
	cr_assert_eq(ck_store_stats(st, now, &s, NULL), 0);
	cr_assert_eq(s->total, 5);
	cr_assert_eq(s->expired, 1);
	cr_assert_eq(s->lt7d, 1);
	cr_assert_eq(s->lt30d, 1);
	cr_assert_eq(s->lt90d, 1);
	cr_assert_eq(s->later, 1);
	cr_assert_eq(s->n_key, 1);
	cr_assert_str_eq(s->by_key[0].key, "ed25519");
	ck_stats_free(s);
	/* Exactly at a boundary second: 2 days + 1s on, the 2-day one is
	 * expired and the 20-day one is inside 30 days still. */
	cr_assert_eq(ck_store_stats(st, now + 2 * 86400 + 1, &s, NULL), 0);
	cr_assert_eq(s->expired, 2);
	cr_assert_eq(s->lt7d + s->lt30d, 1);
	ck_stats_free(s);
}

Test(store, audit_chain_verifies_and_detects_edits)
{
	struct ck_err err = {0};
	int64_t n;
	char cmd[300];

	cr_assert_eq(ck_store_begin(st, NULL), 0);
	cr_assert_eq(ck_store_event_add(st, "test", "a", "x", "1", NULL), 0);
	cr_assert_eq(ck_store_event_add(st, "test", "b", "y", "2", NULL), 0);
	cr_assert_eq(ck_store_event_add(st, "test", "c", "z", "3", NULL), 0);
	cr_assert_eq(ck_store_commit(st, NULL), 0);
	cr_assert_eq(ck_store_events_verify(st, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 3);
	ck_store_free(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd),
	    "sqlite3 %s/inv.db \"DELETE FROM events WHERE id = 2\"", dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(ck_store_open(url, &st, NULL), 0);
	cr_assert_eq(ck_store_events_verify(st, &n, &err), CK_E_CRYPTO);
	cr_assert(strstr(err.msg, "event 3") != NULL, "%s", err.msg);
}

Test(store, schema_is_migrated_once)
{
	int v = 0;

	cr_assert_eq(ck_store_schema_version(st, &v, NULL), 0);
	cr_assert_eq(v, 18); /* the last of src/store/migrations */
	ck_store_free(st);
	cr_assert_eq(ck_store_open(url, &st, NULL), 0);
	cr_assert_eq(ck_store_schema_version(st, &v, NULL), 0);
	cr_assert_eq(v, 18); /* the last of src/store/migrations */
}

Test(store, bad_urls_are_clear_errors)
{
	struct ck_store *o = NULL;
	struct ck_err err = {0};

	cr_assert_eq(
	    ck_store_open("postgres://x/y", &o, &err), CK_E_UNAVAILABLE);
	cr_assert_eq(ck_store_open("mysql://x", &o, &err), CK_E_INVAL);
	cr_assert_eq(ck_store_open("sqlite:/tmp/x.db?max_pages=0", &o, &err),
	    CK_E_INVAL);
	cr_assert_eq(
	    ck_store_open("sqlite:/nonexistent-dir/a/b.db", &o, &err), CK_E_IO);
	cr_assert_null(o);
}
