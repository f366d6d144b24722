/*
 * Unit tests for src/ca/request.c: the CA's fast request reader agrees with
 * the reference one (ck_x509_csr_parse) on every kind of request, never
 * accepts what the reference refuses (mutated requests), and the issued
 * certificate carries the request's key bytes unchanged.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/request.c"
#include "lifecycle/lifecycle.h"
#include "store/store.h"

static EVP_PKEY *
key_of(const char *kind)
{
	if (strcmp(kind, "rsa-pss") == 0) {
		EVP_PKEY_CTX *c =
		    EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
		EVP_PKEY *k = NULL;
		cr_assert(EVP_PKEY_keygen_init(c) == 1 &&
		    EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) == 1 &&
		    EVP_PKEY_generate(c, &k) == 1);
		EVP_PKEY_CTX_free(c);
		return k;
	}
	if (strncmp(kind, "rsa", 3) == 0)
		return EVP_PKEY_Q_keygen(
		    NULL, NULL, "RSA", (size_t)atoi(kind + 4));
	if (strcmp(kind, "ed25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (strcmp(kind, "ed448") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
}

static bool pss; /* sign with RSASSA-PSS */

/* A request for key k, signed with md, with the SANs given (conf). */
static uint8_t *
make_csr(
    EVP_PKEY *k, const EVP_MD *md, const char *cn, const char *san, size_t *len)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	X509_REQ *r = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *der = NULL;
	int n;

	if (cn != NULL)
		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
		    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "O",
	    MBSTRING_UTF8, (const unsigned char *)"Org", -1, -1, 0);
	if (san != NULL) {
		sk_X509_EXTENSION_push(exts,
		    X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san));
		X509_REQ_add_extensions(r, exts);
	}
	cr_assert(X509_REQ_set_pubkey(r, k));
	cr_assert(EVP_DigestSignInit(mc, &pc, md, NULL, k) == 1);
	if (pss)
		cr_assert(
		    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING));
	cr_assert(X509_REQ_sign_ctx(r, mc) > 0);
	EVP_MD_CTX_free(mc);
	n = i2d_X509_REQ(r, &der);
	cr_assert_gt(n, 0);
	*len = (size_t)n;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(r);
	return der;
}

enum expect { EITHER, FAST, NOT_FAST };

/* fast_read accepts only what the reference accepts, with equal fields. */
static bool
agree(const uint8_t *der, size_t len, enum expect expect)
{
	struct ca_request q = {0};
	struct ck_csr *ref = NULL;
	bool fast = len <= MAX_CSR && fast_read(der, len, &q);
	int rr = ck_x509_csr_parse(der, len, &ref, NULL);

	ERR_clear_error();
	if (expect != EITHER)
		cr_assert_eq(fast, expect == FAST, "fast reader: %d", fast);
	if (fast) {
		cr_assert_eq(rr, 0, "fast accepted what the reference refused");
		cr_assert(ref->signature_ok, "fast accepted a bad signature");
		cr_assert_str_eq(q.key_type, ref->key_type);
		cr_assert_str_eq(q.curve, ref->curve);
		cr_assert_eq(q.key_bits, ref->key_bits);
		cr_assert_eq(q.cn == NULL, ref->cn == NULL);
		if (q.cn != NULL)
			cr_assert_str_eq(q.cn, ref->cn);
		cr_assert_eq(q.n_sans, ref->n_sans);
		for (size_t i = 0; i < q.n_sans; i++) {
			cr_assert_eq(q.sans[i].type, ref->sans[i].type);
			cr_assert_str_eq(q.sans[i].value, ref->sans[i].value);
		}
	}
	ca_request_release(&q);
	ck_csr_free(ref);
	return fast;
}

Test(request, agrees_with_the_reference_reader)
{
	static const struct {
		const char *key, *md;
		bool fast;
	} cases[] = {
	    {"P-256", "SHA256", true},
	    {"P-384", "SHA384", true},
	    {"P-521", "SHA512", true},
	    {"P-256", "SHA1", true},
	    {"rsa-2048", "SHA256", true},
	    {"rsa-1024", "SHA256", true},
	    {"ed25519", NULL, true},
	    {"P-192", "SHA256", false},
	    {"secp256k1", "SHA256", false},
	    {"rsa-pss", "SHA256", false},
	    {"rsa-2048-pss", "SHA256", false},
	    {"ed448", NULL, false},
	};
	static const char *const sans[] = {NULL, "DNS:a.example",
	    "DNS:a.example,IP:192.0.2.1,IP:2001:db8::1,email:a@example.com,"
	    "URI:https://a.example/x",
	    "otherName:1.2.3.4;UTF8:x,DNS:b.example,RID:1.2.3"};

	ck_x509_init();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *k = key_of(cases[i].key);
		const EVP_MD *md =
		    cases[i].md ? EVP_get_digestbyname(cases[i].md) : NULL;

		cr_assert_not_null(k, "%s", cases[i].key);
		pss = strstr(cases[i].key, "-pss") != NULL;
		for (size_t j = 0; j < sizeof(sans) / sizeof(sans[0]); j++) {
			size_t len;
			uint8_t *der = make_csr(
			    k, md, j == 2 ? NULL : "a.example", sans[j], &len);
			struct ca_request q;
			struct ck_err err = {0};

			agree(der, len, cases[i].fast ? FAST : NOT_FAST);
			/* Through the entry point, slow ones included. */
			cr_assert_eq(ca_request_read(der, len, &q, &err), 0,
			    "%s: %s", cases[i].key, err.msg);
			cr_assert_not_null(q.subject);
			cr_assert_gt(q.key_len, 0);
			ca_request_release(&q);
			/* A flipped bit in the signature: refused by both. */
			der[len - 3] ^= 0x01;
			cr_assert(!agree(der, len, NOT_FAST));
			cr_assert_eq(
			    ca_request_read(der, len, &q, NULL), CK_E_INVAL);
			OPENSSL_free(der);
		}
		EVP_PKEY_free(k);
	}
}

Test(request, mutated_requests_never_pass_only_the_fast_reader)
{
	const char *kinds[] = {"P-256", "rsa-2048", "ed25519"};
	int accepted = 0;

	ck_x509_init();
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		EVP_PKEY *k = key_of(kinds[i]);
		size_t len;
		uint8_t *der = make_csr(k,
		    strcmp(kinds[i], "ed25519") ? EVP_sha256() : NULL,
		    "m.example", "DNS:m.example,IP:10.0.0.1", &len);
		uint8_t *m = malloc(len + 8);

		for (int n = 0; n < 1500; n++) {
			unsigned char rnd[4];
			size_t at, mlen = len;

			RAND_bytes(rnd, sizeof(rnd));
			memcpy(m, der, len);
			at = ((size_t)rnd[0] << 8 | rnd[1]) % len;
			switch (rnd[2] % 4) {
			case 0: m[at] ^= (uint8_t)(1u << (rnd[3] % 8)); break;
			case 1: m[at] = rnd[3]; break;
			case 2: mlen = at; break; /* cut short */
			case 3: /* trailing bytes */
				m[len] = rnd[3];
				mlen = len + 1 + rnd[3] % 7;
				break;
			}
			if (agree(m, mlen, EITHER))
				accepted++;
		}
		free(m);
		OPENSSL_free(der);
		EVP_PKEY_free(k);
	}
	/* A few mutations leave a request both readers take; most must not,
	 * or this test would say little. */
	cr_assert_lt(accepted, 3 * 1500 / 10, "%d accepted", accepted);
}

static int
ca_cert(void *ctx, const struct ck_ca_row *ca)
{
	*(int64_t *)ctx = ca->cert_id;
	return 0;
}

static int
der_of(void *ctx, const struct ck_cert_row *row)
{
	const unsigned char *p = row->der;

	*(X509 **)ctx = d2i_X509(NULL, &p, (long)row->der_len);
	return 0;
}

Test(request, certificate_carries_the_request_key_bytes)
{
	char dir[] = "/tmp/ck-request-XXXXXX", url[300], mk[300], cmd[300];
	const char *kinds[] = {"P-256", "P-384", "rsa-2048", "ed25519"};
	struct ck_ca_init_opts o = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	X509 *cacert = NULL;
	int64_t cert_id = 0;

	ck_x509_init();
	cr_assert_not_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/inv.db", dir);
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	setenv("CERTKEEP_MASTER_KEY_FILE", mk, 1);
	cr_assert_eq(ck_store_open(url, &st, &err), 0, "%s", err.msg);
	o.name = "req";
	o.actor = "test";
	cr_assert_eq(ck_ca_init(st, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(ck_store_ca_get(st, "req", ca_cert, &cert_id, NULL), 0);
	cr_assert_eq(ck_store_cert_get(st, cert_id, der_of, &cacert, NULL), 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		EVP_PKEY *k = key_of(kinds[i]);
		struct ck_enroll_req req = {0};
		struct ck_enroll_res res;
		unsigned char *want = NULL, *got = NULL;
		const unsigned char *p;
		size_t len;
		int wl, gl;
		X509 *x;

		req.csr = make_csr(k,
		    strcmp(kinds[i], "ed25519") ? EVP_sha256() : NULL,
		    "k.example", "email:k@example.com", &len);
		req.csr_len = len;
		req.ca = "req";
		/* tls-server takes no Ed25519 keys; tls-client does. */
		req.profile = "tls-client";
		req.requested_by = "test";
		cr_assert_eq(ck_enroll(st, &req, &res, &err), 0, "%s: %s",
		    kinds[i], err.msg);
		p = res.der;
		cr_assert_not_null(x = d2i_X509(NULL, &p, (long)res.der_len));
		wl = i2d_PUBKEY(k, &want);
		gl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &got);
		cr_assert(
		    wl > 0 && wl == gl && memcmp(want, got, (size_t)wl) == 0,
		    "%s: key bytes differ", kinds[i]);
		/* The copied key decodes, matches, and the CA signed it. */
		cr_assert_eq(X509_check_private_key(x, k), 1, "%s", kinds[i]);
		cr_assert_eq(X509_verify(x, X509_get0_pubkey(cacert)), 1);
		OPENSSL_free(want);
		OPENSSL_free(got);
		OPENSSL_free((void *)req.csr);
		X509_free(x);
		ck_enroll_res_release(&res);
		EVP_PKEY_free(k);
	}
	X509_free(cacert);
	ck_store_free(st);
	ck_ca_cache_clear();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
