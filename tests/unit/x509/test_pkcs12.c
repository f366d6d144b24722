/*
 * PKCS#12 through ck_x509_ingest: no password, the empty one, a given one,
 * legacy algorithms, a wrong or missing password, and a file whose MAC
 * iteration count would stall the password loop.
 */
#include <criterion/criterion.h>

#include <openssl/pkcs12.h>

#include "x509/fixtures.h"
#include "x509/x509.h"

static struct fx_pki pki;

static void
setup(void)
{
	ck_x509_init();
	fx_pki_init(&pki);
}

static void
teardown(void)
{
	fx_pki_release(&pki);
}

TestSuite(pkcs12, .init = setup, .fini = teardown);

static unsigned char *
p12_der(const char *pass, int nid_key, int nid_cert, int mac_iter, size_t *len)
{
	STACK_OF(X509) *ca = sk_X509_new_null();
	PKCS12 *p12;
	unsigned char *der = NULL;
	int n;

	sk_X509_push(ca, pki.inter);
	sk_X509_push(ca, pki.root);
	p12 = PKCS12_create(pass, "leaf", pki.leaf_key, pki.leaf, ca, nid_key,
	    nid_cert, 0, mac_iter, 0);
	cr_assert_not_null(
	    p12, "PKCS12_create: %s", ERR_reason_error_string(ERR_get_error()));
	n = i2d_PKCS12(p12, &der);
	cr_assert_gt(n, 0);
	*len = (size_t)n;
	PKCS12_free(p12);
	sk_X509_free(ca);
	return der;
}

/* Key, then the leaf, then the two CA certificates in either order. */
static void
check_p12_items(const struct fx_got *g)
{
	cr_assert_eq(g->n, 4);
	fx_check_item(g, 0, CK_ITEM_KEY, "pkcs12", NULL);
	cr_assert_null(g->v[0].der);
	fx_check_cert_item(g, 1, pki.leaf, "pkcs12", NULL);
	for (size_t i = 2; i < 4; i++) {
		X509 *want = pki.inter;
		unsigned char *der;
		size_t len;

		der = fx_der(want, &len);
		if (g->v[i].der_len != len ||
		    memcmp(g->v[i].der, der, len) != 0)
			want = pki.root;
		OPENSSL_free(der);
		fx_check_cert_item(g, i, want, "pkcs12", NULL);
		cr_assert(g->v[i].der_len != g->v[5 - i].der_len ||
		    memcmp(g->v[i].der, g->v[5 - i].der, g->v[i].der_len) != 0);
	}
}

Test(pkcs12, no_password)
{
	struct fx_got g = {0};
	size_t len;
	unsigned char *der = p12_der(NULL, -1, -1, -1, &len);

	/* Neither encrypted nor MAC-protected. */
	fx_ingest_ok(der, len, NULL, &g);
	check_p12_items(&g);
	fx_got_release(&g);
	OPENSSL_free(der);
	/* A MAC made with no password, which differs from the empty one. */
	der = p12_der(NULL, -1, -1, 0, &len);
	fx_ingest_ok(der, len, NULL, &g);
	check_p12_items(&g);
	fx_got_release(&g);
	OPENSSL_free(der);
}

Test(pkcs12, empty_password)
{
	struct fx_got g = {0};
	size_t len;
	unsigned char *der = p12_der("", 0, 0, 0, &len);

	fx_ingest_ok(der, len, NULL, &g);
	check_p12_items(&g);
	fx_got_release(&g);
	OPENSSL_free(der);
}

Test(pkcs12, given_password)
{
	struct ck_strlist pw = {0};
	struct ck_ingest_opts opts = {&pw};
	struct fx_got g = {0};
	size_t len;
	unsigned char *der = p12_der("s3cret", 0, 0, 0, &len);

	ck_strlist_add(&pw, "wrong");
	ck_strlist_add(&pw, "s3cret");
	fx_ingest_ok(der, len, &opts, &g);
	check_p12_items(&g);
	fx_got_release(&g);
	ck_strlist_release(&pw);
	OPENSSL_free(der);
}

/* RC2 and 3DES, as in files from older tools: needs the legacy provider
 * that ck_x509_init loads. */
Test(pkcs12, legacy_algorithms)
{
	struct ck_strlist pw = {0};
	struct ck_ingest_opts opts = {&pw};
	struct fx_got g = {0};
	size_t len;
	unsigned char *der =
	    p12_der("old", NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	        NID_pbe_WithSHA1And40BitRC2_CBC, 0, &len);

	ck_strlist_add(&pw, "old");
	fx_ingest_ok(der, len, &opts, &g);
	check_p12_items(&g);
	fx_got_release(&g);
	ck_strlist_release(&pw);
	OPENSSL_free(der);
}

Test(pkcs12, wrong_or_missing_password)
{
	struct ck_strlist pw = {0};
	struct ck_ingest_opts opts = {&pw};
	struct fx_got g = {0};
	size_t len;
	unsigned char *der = p12_der("s3cret", 0, 0, 0, &len);

	ck_strlist_add(&pw, "nope");
	fx_ingest_ok(der, len, &opts, &g);
	cr_assert_eq(g.n, 1);
	fx_check_item(&g, 0, CK_ITEM_ERROR, "pkcs12", NULL);
	fx_check_error_item(&g, 0, "pkcs12",
	    "PKCS#12 MAC does not verify with any password given "
	    "(wrong password or corrupted file)");
	fx_got_release(&g);

	fx_ingest_ok(der, len, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_error_item(&g, 0, "pkcs12",
	    "PKCS#12 is protected by a password (give one with "
	    "--password-file)");
	fx_got_release(&g);
	ck_strlist_release(&pw);
	OPENSSL_free(der);
}

Test(pkcs12, truncated)
{
	struct fx_got g = {0};
	size_t len;
	unsigned char *der = p12_der("", 0, 0, 0, &len);

	/* The outer length now claims more than there is. */
	fx_ingest_ok(der, len - 10, NULL, &g);
	cr_assert_eq(g.n, 1);
	fx_check_error_item(&g, 0, "der", "truncated or malformed DER");
	fx_got_release(&g);
	OPENSSL_free(der);
}

/* Length of the DER TLV at p (short or two-byte long form). */
static size_t
tlv_size(const unsigned char *p)
{
	if (p[1] < 0x80)
		return 2 + (size_t)p[1];
	if (p[1] == 0x81)
		return 3 + (size_t)p[2];
	cr_assert_eq(p[1], 0x82);
	return 4 + ((size_t)p[2] << 8 | p[3]);
}

/*
 * The same PFX with its MAC iteration count (the last field) set to
 * 2^31 - 1 without recomputing the MAC, which would take half an hour:
 * what a hostile file looks like to the password loop.
 */
static unsigned char *
p12_hostile(const unsigned char *der, size_t len, size_t *out_len)
{
	static const unsigned char old_iter[] = {0x02, 0x02, 0x08, 0x00};
	static const unsigned char new_iter[] = {
	    0x02, 0x04, 0x7f, 0xff, 0xff, 0xff};
	size_t off = 4, mac = 0, n;
	unsigned char *p;

	cr_assert(der[0] == 0x30 && der[1] == 0x82);
	cr_assert(memcmp(der + len - 4, old_iter, 4) == 0);
	while (off < len) { /* version, authSafe, macData */
		mac = off;
		off += tlv_size(der + off);
	}
	cr_assert_eq(off, len);
	p = malloc(len + 2);
	memcpy(p, der, len - 4);
	memcpy(p + len - 4, new_iter, sizeof(new_iter));
	cr_assert_lt(p[mac + 1], 0x7e);
	p[mac + 1] += 2;
	n = ((size_t)p[2] << 8 | p[3]) + 2;
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	*out_len = len + 2;
	return p;
}

Test(pkcs12, hostile_iteration_count, .timeout = 20)
{
	struct ck_strlist pw = {0};
	struct ck_ingest_opts opts = {&pw};
	struct fx_got g = {0};
	const unsigned char *q;
	size_t len, hlen;
	unsigned char *der = p12_der("s3cret", 0, 0, 0, &len);
	unsigned char *hostile = p12_hostile(der, len, &hlen);
	PKCS12 *p12;
	const ASN1_INTEGER *iter;

	/* OpenSSL reads it and sees the new count. */
	q = hostile;
	p12 = d2i_PKCS12(NULL, &q, (long)hlen);
	cr_assert_not_null(p12);
	cr_assert_eq(q, hostile + hlen);
	PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
	cr_assert_eq(ASN1_INTEGER_get(iter), 0x7fffffff);
	PKCS12_free(p12);

	ck_strlist_add(&pw, "s3cret");
	fx_ingest_ok(hostile, hlen, &opts, &g);
	cr_assert_eq(g.n, 1);
	fx_check_error_item(&g, 0, "pkcs12",
	    "PKCS#12 MAC iteration count is out of range (corrupted or "
	    "hostile file)");
	fx_got_release(&g);
	ck_strlist_release(&pw);
	free(hostile);
	OPENSSL_free(der);
}

/*
 * A PFX whose encrypted safe claims 2^31 - 1 key derivation iterations
 * (made by editing the PBE parameters after PKCS12_create, which leaves
 * the MAC wrong): refused before any key derivation runs, whatever the
 * MAC says, instead of keeping the import busy for minutes.
 */
Test(pkcs12, hostile_pbe_iteration_count, .timeout = 20)
{
	STACK_OF(X509) *ca = sk_X509_new_null();
	struct ck_strlist pw = {0};
	struct ck_ingest_opts opts = {&pw};
	struct fx_got g = {0};
	STACK_OF(PKCS7) * safes;
	unsigned char *der = NULL;
	PKCS12 *p12;
	int len, edited = 0;

	sk_X509_push(ca, pki.inter);
	p12 = PKCS12_create("s3cret", "leaf", pki.leaf_key, pki.leaf, ca,
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 2048, 2048, 0);
	cr_assert_not_null(p12);
	safes = PKCS12_unpack_authsafes(p12);
	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		X509_ALGOR *alg;
		PBEPARAM *pbe;
		ASN1_STRING *seq = NULL;

		if (!PKCS7_type_is_encrypted(p7))
			continue;
		alg = p7->d.encrypted->enc_data->algorithm;
		pbe = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
		cr_assert_not_null(pbe);
		ASN1_INTEGER_set(pbe->iter, 0x7fffffff);
		cr_assert_not_null(
		    ASN1_item_pack(pbe, ASN1_ITEM_rptr(PBEPARAM), &seq));
		X509_ALGOR_set0(
		    alg, OBJ_dup(alg->algorithm), V_ASN1_SEQUENCE, seq);
		PBEPARAM_free(pbe);
		edited++;
	}
	cr_assert_eq(edited, 1);
	cr_assert(PKCS12_pack_authsafes(p12, safes));
	len = i2d_PKCS12(p12, &der);
	cr_assert_gt(len, 0);

	ck_strlist_add(&pw, "s3cret");
	fx_ingest_ok(der, (size_t)len, &opts, &g);
	cr_assert_eq(g.n, 1);
	fx_check_error_item(&g, 0, "pkcs12",
	    "PKCS#12 key derivation iteration count is out of range "
	    "(corrupted or hostile file)");
	fx_got_release(&g);
	ck_strlist_release(&pw);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	OPENSSL_free(der);
	PKCS12_free(p12);
	sk_X509_free(ca);
}
