/*
 * Unit tests for the filesystem scanner (src/discovery/fs.c) and the
 * private key inspection it uses (src/discovery/keyfile.c): the public key
 * read off a certificate's DER is OpenSSL's, keys of every form are told
 * apart and matched, exposed keys found, loops and limits survived, and a
 * store failure rolls the batch back.
 */
#include "x509/fixtures.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pkcs12.h>

#include "base/clock.h"
#include "discovery/discovery.h"

static void
spki_of(X509 *x, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

	cr_assert(n > 0);
	ck_sha256(der, (size_t)n, out);
	OPENSSL_free(der);
}

Test(keyfile, certificate_spki_is_openssls)
{
	struct fx_pki p;
	X509 *xs[5];
	uint8_t want[32], got[32];

	ck_x509_init();
	fx_pki_init(&p);
	xs[0] = p.root;
	xs[1] = p.inter;
	xs[2] = p.leaf;
	xs[3] = p.ed_leaf;
	xs[4] = p.self;
	for (int i = 0; i < 5; i++) {
		size_t len;
		unsigned char *der = fx_der(xs[i], &len);
		spki_of(xs[i], want);
		cr_assert(ck_keyfile_cert_spki(der, len, got));
		cr_expect_arr_eq(got, want, 32, "certificate %d", i);
		/* Truncations fail cleanly. */
		for (size_t n = 0; n < len; n += 7)
			(void)ck_keyfile_cert_spki(der, n, got);
		OPENSSL_free(der);
	}
	cr_expect_not(
	    ck_keyfile_cert_spki((const uint8_t *)"\x30\x00", 2, got));
	fx_pki_release(&p);
}

/* The first key item of a PEM or DER text, inspected. */
struct first_key {
	bool found;
	struct ck_keyfile_info ki;
};

static int
on_key_item(void *ctx, const struct ck_item *it)
{
	struct first_key *fk = ctx;

	if (it->kind == CK_ITEM_KEY && !fk->found) {
		ck_keyfile_inspect(it, &fk->ki);
		fk->found = true;
	}
	return 0;
}

static struct ck_keyfile_info
inspect(const char *data, size_t len)
{
	struct first_key fk = {0};

	cr_assert_eq(ck_x509_ingest((const uint8_t *)data, len, NULL,
	                 on_key_item, &fk, NULL),
	    0);
	cr_assert(fk.found);
	return fk.ki;
}

static char *
key_pem(EVP_PKEY *k, const EVP_CIPHER *enc, bool traditional, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (traditional)
		cr_assert(PEM_write_bio_PrivateKey_traditional(
		    b, k, enc, (unsigned char *)"pw", enc ? 2 : 0, NULL, NULL));
	else
		cr_assert(PEM_write_bio_PKCS8PrivateKey(
		    b, k, enc, enc ? "pw" : NULL, enc ? 2 : 0, NULL, NULL));
	return fx_bio_string(b, len);
}

Test(keyfile, key_forms)
{
	struct fx_pki p;
	struct ck_keyfile_info ki;
	uint8_t leaf_spki[32], root_spki[32];
	size_t len;
	char *s;

	ck_x509_init();
	fx_pki_init(&p);
	spki_of(p.leaf, leaf_spki);
	spki_of(p.root, root_spki);

	s = key_pem(p.leaf_key, NULL, false, &len);
	ki = inspect(s, len);
	cr_expect_str_eq(ki.format, "pkcs8");
	cr_expect_not(ki.encrypted);
	cr_expect(ki.has_spki);
	cr_expect_arr_eq(ki.spki_sha256, leaf_spki, 32);
	cr_expect_str_eq(ki.key_type, "ec");
	cr_expect_eq(ki.bits, 256);
	free(s);

	s = key_pem(p.root_key, NULL, true, &len);
	ki = inspect(s, len);
	cr_expect_str_eq(ki.format, "rsa");
	cr_expect_arr_eq(ki.spki_sha256, root_spki, 32);
	cr_expect_eq(ki.bits, 2048);
	free(s);

	s = key_pem(p.leaf_key, NULL, true, &len);
	ki = inspect(s, len);
	cr_expect_str_eq(ki.format, "ec");
	cr_expect_arr_eq(ki.spki_sha256, leaf_spki, 32);
	free(s);

	s = key_pem(p.leaf_key, EVP_aes_256_cbc(), false, &len);
	ki = inspect(s, len);
	cr_expect_str_eq(ki.format, "pkcs8-encrypted");
	cr_expect(ki.encrypted);
	cr_expect_not(ki.has_spki);
	free(s);

	s = key_pem(p.root_key, EVP_aes_256_cbc(), true, &len);
	ki = inspect(s, len);
	cr_expect_str_eq(ki.format, "pem-encrypted");
	cr_expect(ki.encrypted);
	cr_expect_str_eq(ki.key_type, "rsa");
	free(s);

	{ /* PKCS#8 DER */
		unsigned char *der = NULL;
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(p.ed_key);
		int n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
		cr_assert(n > 0);
		ki = inspect((const char *)der, (size_t)n);
		cr_expect_str_eq(ki.format, "pkcs8");
		cr_expect_str_eq(ki.key_type, "ed25519");
		cr_expect(ki.has_spki);
		OPENSSL_free(der);
		PKCS8_PRIV_KEY_INFO_free(p8);
	}
	fx_pki_release(&p);
}

/* ---- the scan ---- */

static char dir[] = "/tmp/ck-fs-XXXXXX";
static char url[200];
static struct ck_store *st;
static struct fx_pki pki;

static void
setup(void)
{
	struct ck_err err = {0};

	ck_x509_init();
	fx_pki_init(&pki);
	strcpy(dir, "/tmp/ck-fs-XXXXXX");
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
	fx_pki_release(&pki);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

static void
put(const char *name, const void *p, size_t n, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
}

static void
put_str(const char *name, const char *s, mode_t mode)
{
	put(name, s, strlen(s), mode);
}

static void
make_tree(void)
{
	char path[256], target[256];
	size_t len;
	char *s;

	snprintf(path, sizeof(path), "%s/t", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/t/sub", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	/* A link back up: never followed. */
	snprintf(path, sizeof(path), "%s/t/sub/up", dir);
	snprintf(target, sizeof(target), "%s/t", dir);
	cr_assert_eq(symlink(target, path), 0);

	s = fx_pem(pki.leaf);
	put_str("leaf.pem", s, 0644);
	free(s);
	s = fx_pem(pki.inter);
	put_str("sub/inter.pem", s, 0644);
	free(s);
	s = key_pem(pki.leaf_key, NULL, false, &len);
	put("leaf.key", s, len, 0640); /* group may read: exposed */
	free(s);
	s = key_pem(pki.int_key, NULL, false, &len);
	put("sub/inter.key", s, len, 0600);
	free(s);
	s = key_pem(pki.ed_key, EVP_aes_256_cbc(), false, &len);
	put("sub/ed.key", s, len, 0644); /* encrypted: not exposed */
	free(s);
	put_str("readme.txt", "nothing here\n", 0644);
}

Test(fs_scan, finds_matches_and_reports, .init = setup, .fini = teardown)
{
	struct ck_fs_opts o = {0};
	struct ck_fs_result r;
	struct ck_err err = {0};
	char root[256];
	const char *paths[1] = {root};
	int64_t n = 0;

	make_tree();
	snprintf(root, sizeof(root), "%s/t", dir);
	cr_assert_eq(
	    ck_fs_scan(st, paths, 1, &o, "test", &r, &err), 0, "%s", err.msg);
	cr_expect_eq(r.files, 6);
	cr_expect_eq(r.dirs, 2);
	cr_expect_eq(r.certs, 2);
	cr_expect_eq(r.certs_new, 2);
	cr_expect_eq(r.keys, 3);
	cr_expect_eq(r.keys_matched, 2);
	cr_expect_eq(r.keys_unmatched, 1);
	cr_expect_eq(r.keys_encrypted, 1);
	cr_expect_eq(r.keys_exposed, 1);
	cr_expect_eq(r.symlink_dirs, 1);
	cr_expect_eq(r.unreadable, 0);
	for (size_t i = 0; i < r.n_key; i++) {
		const struct ck_fs_key *k = &r.key_v[i];
		if (strstr(k->path, "leaf.key") != NULL) {
			cr_expect(k->exposed);
			cr_expect_eq(k->mode, 0640);
			cr_expect_eq(k->n_matched, 1);
		} else if (strstr(k->path, "ed.key") != NULL) {
			cr_expect_not(k->exposed);
			cr_expect_eq(k->n_matched, 0);
		}
	}
	ck_fs_result_release(&r);
	cr_assert_eq(ck_store_cert_count(
	                 st, &(struct ck_cert_filter){.ca = -1}, &n, NULL),
	    0);
	cr_expect_eq(n, 2);

	/* Limits: one file, then stop. */
	o.max_files = 1;
	cr_assert_eq(ck_fs_scan(st, paths, 1, &o, "test", &r, &err), 0);
	cr_expect_eq(r.files, 1);
	cr_expect(r.limit_reached);
	ck_fs_result_release(&r);
	o.max_files = 0;
	o.max_size = 100;
	cr_assert_eq(ck_fs_scan(st, paths, 1, &o, "test", &r, &err), 0);
	cr_expect_eq(r.certs, 0);
	cr_expect_eq(r.too_big, 5);
	ck_fs_result_release(&r);
}

Test(fs_scan, store_failure_rolls_back_the_batch, .init = setup,
    .fini = teardown)
{
	struct ck_fs_opts o = {.batch = 1};
	struct ck_fs_result r;
	struct ck_err err = {0};
	char root[256];
	const char *paths[1] = {root};
	int64_t n = -1;

	make_tree();
	snprintf(root, sizeof(root), "%s/t", dir);
	/* The first batch (one certificate and its audit event) commits;
	 * the second fails. */
	ck_store_fail_after(st, 12);
	cr_expect_neq(ck_fs_scan(st, paths, 1, &o, "test", &r, &err), 0);
	cr_expect(strstr(err.msg, "injected") != NULL, "%s", err.msg);
	ck_fs_result_release(&r);
	ck_store_fail_after(st, 0);
	cr_assert_eq(ck_store_cert_count(
	                 st, &(struct ck_cert_filter){.ca = -1}, &n, NULL),
	    0);
	cr_expect_lt(n, 2);
	cr_assert_eq(ck_store_events_verify(st, &n, &err), 0, "%s", err.msg);
}
