/*
 * ck_x509_signed_by and ck_x509_verify: links between certificates, and
 * chain verification against trust bundles written to a temporary folder,
 * with the reasons a user sees when it fails.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "x509/fixtures.h"
#include "x509/x509.h"

static struct fx_pki pki;
static char dir[64];
static char root_file[128], other_file[128], hashed_dir[128], hashed[192];

static void
write_pem(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");
	char *pem = fx_pem(x);

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fputs(pem, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
	free(pem);
}

static void
setup(void)
{
	ck_x509_init();
	fx_pki_init(&pki);
	snprintf(dir, sizeof(dir), "/tmp/ck-x509-verify-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(root_file, sizeof(root_file), "%s/root.pem", dir);
	snprintf(other_file, sizeof(other_file), "%s/other.pem", dir);
	snprintf(hashed_dir, sizeof(hashed_dir), "%s/hashed", dir);
	snprintf(hashed, sizeof(hashed), "%s/%08lx.0", hashed_dir,
	    X509_NAME_hash_ex(
	        X509_get_subject_name(pki.root), NULL, NULL, NULL));
	write_pem(root_file, pki.root);
	/* A bundle that does not hold our root. */
	write_pem(other_file, pki.self);
	cr_assert_eq(mkdir(hashed_dir, 0700), 0);
	write_pem(hashed, pki.root);
}

static void
teardown(void)
{
	unlink(hashed);
	rmdir(hashed_dir);
	unlink(root_file);
	unlink(other_file);
	rmdir(dir);
	fx_pki_release(&pki);
}

TestSuite(verify, .init = setup, .fini = teardown);

struct der {
	unsigned char *p;
	size_t len;
};

static struct der
der_of(X509 *x)
{
	struct der d;

	d.p = fx_der(x, &d.len);
	return d;
}

static bool
signed_by(X509 *child, X509 *issuer)
{
	struct der c = der_of(child), i = der_of(issuer);
	struct ck_err err = {0};
	bool ok = true;

	cr_assert_eq(ck_x509_signed_by(c.p, c.len, i.p, i.len, &ok, &err), 0,
	    "%s", err.msg);
	OPENSSL_free(c.p);
	OPENSSL_free(i.p);
	return ok;
}

Test(verify, signed_by_follows_the_chain)
{
	cr_assert(signed_by(pki.leaf, pki.inter));
	cr_assert(signed_by(pki.ed_leaf, pki.inter));
	cr_assert(signed_by(pki.expired, pki.inter));
	cr_assert(signed_by(pki.inter, pki.root));
	cr_assert(signed_by(pki.root, pki.root));
	cr_assert(signed_by(pki.self, pki.self));
	/* Wrong issuer name. */
	cr_assert_not(signed_by(pki.leaf, pki.root));
	cr_assert_not(signed_by(pki.root, pki.inter));
	cr_assert_not(signed_by(pki.leaf, pki.leaf));
}

/* Right issuer name, wrong key: only the signature tells them apart. */
Test(verify, signed_by_checks_the_signature)
{
	X509 *impostor = fx_cert_new(&(struct fx_spec){
	    .subject = (const char *const[]){"CN", "impostor", NULL},
	    .key = pki.leaf_key,
	    .issuer = pki.inter,
	    .issuer_key = pki.leaf_key,
	    .not_before = pki.now,
	    .not_after = pki.now + FX_DAY});

	cr_assert_not(signed_by(impostor, pki.inter));
	X509_free(impostor);
}

Test(verify, signed_by_refuses_garbage)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	struct der i = der_of(pki.inter);
	struct ck_err err = {0};
	bool ok = true;

	cr_assert_eq(
	    ck_x509_signed_by(junk, sizeof(junk), i.p, i.len, &ok, &err),
	    CK_E_PARSE);
	cr_assert_not(ok);
	cr_assert(strncmp(err.msg, "certificate", 11) == 0, "%s", err.msg);
	ok = true;
	cr_assert_eq(
	    ck_x509_signed_by(i.p, i.len, junk, sizeof(junk), &ok, NULL),
	    CK_E_PARSE);
	cr_assert_not(ok);
	OPENSSL_free(i.p);
}

/* Verifies leaf with the intermediates given; the call must succeed. */
static struct ck_verify_result
verify(X509 *leaf, X509 *const *chain, size_t n, const struct ck_verify_opts *o)
{
	struct ck_verify_result res;
	struct ck_err err = {0};
	struct der l = der_of(leaf), c[4];
	const uint8_t *p[4];
	size_t lens[4];

	cr_assert_leq(n, 4);
	for (size_t i = 0; i < n; i++) {
		c[i] = der_of(chain[i]);
		p[i] = c[i].p;
		lens[i] = c[i].len;
	}
	memset(&res, 0xa5, sizeof(res)); /* must be filled in */
	cr_assert_eq(ck_x509_verify(l.p, l.len, p, lens, n, o, &res, &err), 0,
	    "%s", err.msg);
	OPENSSL_free(l.p);
	for (size_t i = 0; i < n; i++)
		OPENSSL_free(c[i].p);
	return res;
}

static void
check_ok(struct ck_verify_result r)
{
	cr_assert(
	    r.ok, "verification failed at depth %d: %s", r.depth, r.reason);
	cr_assert_str_eq(r.reason, "");
	cr_assert_eq(r.depth, 0);
}

static void
check_fail(struct ck_verify_result r, int depth, const char *reason)
{
	cr_assert_not(r.ok, "verified, but should fail with %s", reason);
	cr_assert_str_eq(r.reason, reason);
	cr_assert_eq(
	    r.depth, depth, "%s at depth %d, not %d", reason, r.depth, depth);
}

Test(verify, chain_to_trust_file)
{
	struct ck_verify_opts o = {.trust_file = root_file};

	check_ok(verify(pki.leaf, &pki.inter, 1, &o));
	check_ok(verify(pki.ed_leaf, &pki.inter, 1, &o));
	check_ok(verify(pki.inter, NULL, 0, &o));
	/* Intermediates in any order, with extra ones, are fine. */
	check_ok(
	    verify(pki.leaf, (X509 *[]){pki.root, pki.self, pki.inter}, 3, &o));
}

Test(verify, chain_to_hashed_directory)
{
	struct ck_verify_opts o = {.trust_dir = hashed_dir};

	check_ok(verify(pki.leaf, &pki.inter, 1, &o));
}

Test(verify, expired)
{
	struct ck_verify_opts o = {.trust_file = root_file};

	check_fail(verify(pki.expired, &pki.inter, 1, &o), 0,
	    "certificate has expired");
}

Test(verify, at_a_given_time)
{
	struct ck_verify_opts o = {.trust_file = root_file};

	o.at = pki.now + 91 * FX_DAY;
	check_fail(
	    verify(pki.leaf, &pki.inter, 1, &o), 0, "certificate has expired");
	o.at = pki.now - 2 * FX_DAY;
	check_fail(verify(pki.leaf, &pki.inter, 1, &o), 0,
	    "certificate is not yet valid");
	/* The expired leaf never verified: its CAs are younger. OpenSSL
	 * checks times from the trust anchor down and names the first. */
	o.at = pki.now - 4 * FX_DAY;
	check_fail(verify(pki.expired, &pki.inter, 1, &o), 0,
	    "certificate has expired");
	o.at = pki.now - 7 * FX_DAY;
	check_fail(verify(pki.expired, &pki.inter, 1, &o), 1,
	    "certificate is not yet valid");
	o.at = pki.now - 50 * FX_DAY;
	check_fail(verify(pki.expired, &pki.inter, 1, &o), 2,
	    "certificate is not yet valid");
}

Test(verify, unknown_issuer)
{
	struct ck_verify_opts o = {.trust_file = root_file};
	struct ck_verify_opts other = {.trust_file = other_file};

	/* The intermediate is missing. */
	check_fail(verify(pki.leaf, NULL, 0, &o), 0,
	    "unable to get local issuer certificate");
	/* The root is not trusted. */
	check_fail(verify(pki.leaf, &pki.inter, 1, &other), 1,
	    "unable to get local issuer certificate");
	check_fail(verify(pki.leaf, (X509 *[]){pki.inter, pki.root}, 2, &other),
	    2, "self-signed certificate in certificate chain");
}

Test(verify, self_signed)
{
	struct ck_verify_opts o = {.trust_file = root_file};
	struct ck_verify_opts other = {.trust_file = other_file};

	check_fail(verify(pki.self, NULL, 0, &o), 0, "self-signed certificate");
	check_ok(verify(pki.self, NULL, 0, &other));
}

Test(verify, hostname)
{
	struct ck_verify_opts o = {.trust_file = root_file};

	o.hostname = "leaf.example.test";
	check_ok(verify(pki.leaf, &pki.inter, 1, &o));
	o.hostname = "www.leaf.example.test";
	check_ok(verify(pki.leaf, &pki.inter, 1, &o));
	o.hostname = "other.example.test";
	check_fail(verify(pki.leaf, &pki.inter, 1, &o), 0, "hostname mismatch");
	/* The first CN is not a name the certificate is valid for. */
	o.hostname = "first.example.test";
	check_fail(verify(pki.leaf, &pki.inter, 1, &o), 0, "hostname mismatch");
	o.hostname = "ed.example.test";
	check_ok(verify(pki.ed_leaf, &pki.inter, 1, &o));
}

Test(verify, system_store_does_not_know_our_root)
{
	check_fail(verify(pki.leaf, &pki.inter, 1, NULL), 1,
	    "unable to get local issuer certificate");
}

Test(verify, errors)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	struct ck_verify_opts o = {.trust_file = root_file};
	struct ck_verify_opts missing = {.trust_file = "/nonexistent/x.pem"};
	struct ck_verify_result res;
	struct ck_err err = {0};
	struct der l = der_of(pki.leaf);
	const uint8_t *chain[] = {junk};
	size_t lens[] = {sizeof(junk)};

	cr_assert_eq(
	    ck_x509_verify(junk, sizeof(junk), NULL, NULL, 0, &o, &res, &err),
	    CK_E_PARSE);
	cr_assert_not(res.ok);
	cr_assert(strncmp(err.msg, "certificate", 11) == 0, "%s", err.msg);
	cr_assert_eq(ck_x509_verify(l.p, l.len, chain, lens, 1, &o, &res, &err),
	    CK_E_PARSE);
	cr_assert_not(res.ok);
	cr_assert(
	    strncmp(err.msg, "chain certificate", 17) == 0, "%s", err.msg);
	cr_assert_eq(
	    ck_x509_verify(l.p, l.len, NULL, NULL, 0, &missing, &res, &err),
	    CK_E_IO);
	cr_assert_not(res.ok);
	cr_assert(strncmp(err.msg, "trust store", 11) == 0, "%s", err.msg);
	OPENSSL_free(l.p);
}
