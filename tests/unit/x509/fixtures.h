/*
 * Fixtures for the x509 unit tests: keys, certificates, requests and a
 * small PKI built with OpenSSL at test time, so no test depends on files
 * that age, and every expected value can be asked of OpenSSL itself; and a
 * collector that keeps what ck_x509_ingest hands its callback.
 *
 * The helpers are static inline because each test program uses a different
 * subset of them and an unused plain static function breaks -Werror.
 */
#ifndef CK_TEST_X509_FIXTURES_H
#define CK_TEST_X509_FIXTURES_H

#include <criterion/criterion.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "x509/x509.h"

#define FX_DAY 86400

enum fx_keytype { FX_RSA2048, FX_P256, FX_P384, FX_ED25519 };

static inline EVP_PKEY *
fx_key_new(enum fx_keytype t)
{
	EVP_PKEY *k = NULL;

	switch (t) {
	case FX_RSA2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case FX_P256: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
	case FX_P384: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"); break;
	case FX_ED25519: k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
	}
	cr_assert_not_null(k, "key generation failed");
	return k;
}

/*
 * What one test certificate holds. Extension values are in the syntax of
 * openssl.cnf (X509V3_EXT_nconf); NULL leaves the extension out.
 */
struct fx_spec {
	const char *const *subject; /* field, value, ..., NULL */
	EVP_PKEY *key;
	X509 *issuer; /* NULL: self-signed with key */
	EVP_PKEY *issuer_key; /* NULL: key */
	const char *serial; /* hex, may start with '-' */
	int version; /* 1 or 3; 0 means 3 */
	int64_t not_before, not_after;
	const char *bc, *ku, *eku, *san, *crldp, *aia, *policies;
	bool ski, aki, sct;
};

static inline X509_NAME *
fx_name_new(const char *const *fields)
{
	X509_NAME *n = X509_NAME_new();

	for (size_t i = 0; fields != NULL && fields[i] != NULL; i += 2)
		cr_assert(
		    X509_NAME_add_entry_by_txt(n, fields[i], MBSTRING_UTF8,
		        (const unsigned char *)fields[i + 1], -1, -1, 0) == 1);
	return n;
}

static inline void
fx_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;

	if (value == NULL)
		return;
	e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	cr_assert_not_null(e, "extension %s = %s", OBJ_nid2sn(nid), value);
	cr_assert(X509_add_ext(x, e, -1) == 1);
	X509_EXTENSION_free(e);
}

static inline const EVP_MD *
fx_md_for(EVP_PKEY *signer)
{
	switch (EVP_PKEY_get_base_id(signer)) {
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448: return NULL; /* EdDSA hashes internally */
	case EVP_PKEY_EC:
		/* P-384 signs with SHA-384, so two ECDSA OIDs get seen. */
		return EVP_PKEY_get_bits(signer) > 256 ? EVP_sha384()
		                                       : EVP_sha256();
	default: return EVP_sha256();
	}
}

static inline X509 *
fx_cert_new(const struct fx_spec *s)
{
	X509 *x = X509_new();
	X509_NAME *subj = fx_name_new(s->subject);
	EVP_PKEY *signer = s->issuer_key ? s->issuer_key : s->key;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial;
	/* Certificate policies are only made with a config database, even
	 * when the value names no section. */
	CONF *conf = NCONF_new(NULL);
	X509V3_CTX ctx;

	cr_assert(X509_set_version(x,
	              s->version == 1 ? X509_VERSION_1 : X509_VERSION_3) == 1);
	cr_assert(BN_hex2bn(&bn, s->serial ? s->serial : "01") > 0);
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	cr_assert(X509_set_serialNumber(x, serial) == 1);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	cr_assert(X509_set_subject_name(x, subj) == 1);
	cr_assert(
	    X509_set_issuer_name(
	        x, s->issuer ? X509_get_subject_name(s->issuer) : subj) == 1);
	X509_NAME_free(subj);
	cr_assert_not_null(
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->not_before));
	cr_assert_not_null(
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->not_after));
	cr_assert(X509_set_pubkey(x, s->key) == 1);
	X509V3_set_ctx(&ctx, s->issuer ? s->issuer : x, x, NULL, NULL, 0);
	X509V3_set_nconf(&ctx, conf);
	/* The SKI first: a self-signed AKI copies it. */
	if (s->ski)
		fx_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (s->aki)
		fx_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	fx_ext(x, &ctx, NID_basic_constraints, s->bc);
	fx_ext(x, &ctx, NID_key_usage, s->ku);
	fx_ext(x, &ctx, NID_ext_key_usage, s->eku);
	fx_ext(x, &ctx, NID_subject_alt_name, s->san);
	fx_ext(x, &ctx, NID_crl_distribution_points, s->crldp);
	fx_ext(x, &ctx, NID_info_access, s->aia);
	fx_ext(x, &ctx, NID_certificate_policies, s->policies);
	if (s->sct) {
		/* An empty SCT list: presence is all the parser reports. */
		static const unsigned char list[] = {0x04, 0x02, 0x00, 0x00};
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e;

		cr_assert(ASN1_OCTET_STRING_set(os, list, sizeof(list)) == 1);
		e = X509_EXTENSION_create_by_NID(
		    NULL, NID_ct_precert_scts, 0, os);
		cr_assert_not_null(e);
		cr_assert(X509_add_ext(x, e, -1) == 1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
	}
	NCONF_free(conf);
	cr_assert(X509_sign(x, signer, fx_md_for(signer)) > 0,
	    "signing the test certificate failed");
	return x;
}

/* DER of a certificate, OPENSSL_malloc'd. */
static inline unsigned char *
fx_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	cr_assert(n > 0);
	*len = (size_t)n;
	return der;
}

/* Everything written to a memory BIO, as a malloc'd string; frees bio. */
static inline char *
fx_bio_string(BIO *bio, size_t *len)
{
	char *p, *s;
	long n = BIO_get_mem_data(bio, &p);

	cr_assert(n >= 0);
	s = malloc((size_t)n + 1);
	cr_assert_not_null(s);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	BIO_free(bio);
	return s;
}

static inline char *
fx_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());

	cr_assert(PEM_write_bio_X509(b, x) == 1);
	return fx_bio_string(b, NULL);
}

/* Lower-case hex without separators, malloc'd. */
static inline char *
fx_hex(const unsigned char *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = hx[p[i] >> 4];
		s[2 * i + 1] = hx[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

/* The subject or issuer as the parser promises to print it. */
static inline char *
fx_name_text(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());

	cr_assert(X509_NAME_print_ex(
	              b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0);
	return fx_bio_string(b, NULL);
}

/*
 * A root, an intermediate and a leaf with every extension the parser reads,
 * plus an expired leaf and a self-signed certificate. Times are relative to
 * the wall clock so that verification "now" succeeds.
 */
struct fx_pki {
	int64_t now;
	EVP_PKEY *root_key, *int_key, *leaf_key, *ed_key;
	X509 *root; /* RSA-2048, CA, pathlen 1, not after 2060 */
	X509 *inter; /* P-384, CA, pathlen 0, UTF-8 CN */
	X509 *leaf; /* P-256, every extension, two CNs */
	/* Ed25519, signed by the intermediate, negative serial, no basic
	 * constraints. */
	X509 *ed_leaf;
	X509 *expired; /* P-256, expired ten days ago */
	X509 *self; /* P-256, self-signed, no basic constraints */
};

static const char *const fx_root_subject[] = {
    "C", "DE", "O", "certkeep, tests", "CN", "certkeep Test Root CA", NULL};
static const char *const fx_int_subject[] = {
    "C", "DE", "O", "certkeep, tests", "CN", "Zwischen-CA Z\xc3\xbcrich", NULL};
static const char *const fx_leaf_subject[] = {"C", "DE", "O", "certkeep, tests",
    "OU", "ops", "CN", "first.example.test", "CN", "leaf.example.test", NULL};
static const char *const fx_ed_subject[] = {"CN", "ed.example.test", NULL};
static const char *const fx_expired_subject[] = {
    "CN", "expired.example.test", NULL};
static const char *const fx_self_subject[] = {
    "O", "self", "CN", "self.example.test", NULL};

#define FX_LEAF_SAN                                                    \
	"DNS:leaf.example.test,DNS:*.leaf.example.test,IP:192.0.2.10," \
	"IP:2001:db8::10,email:ops@example.test,"                      \
	"URI:https://leaf.example.test/id,RID:1.2.3.4"
/* 2060-01-01: after 2049 the time is encoded as a GeneralizedTime. */
#define FX_ROOT_NOT_AFTER INT64_C(2840140800)

static inline void
fx_pki_init(struct fx_pki *p)
{
	int64_t now = (int64_t)time(NULL);

	memset(p, 0, sizeof(*p));
	p->now = now;
	p->root_key = fx_key_new(FX_RSA2048);
	p->int_key = fx_key_new(FX_P384);
	p->leaf_key = fx_key_new(FX_P256);
	p->ed_key = fx_key_new(FX_ED25519);
	p->root = fx_cert_new(&(struct fx_spec){.subject = fx_root_subject,
	    .key = p->root_key,
	    .serial = "1000",
	    .not_before = now - 10 * FX_DAY,
	    .not_after = FX_ROOT_NOT_AFTER,
	    .bc = "critical,CA:TRUE,pathlen:1",
	    .ku = "critical,keyCertSign,cRLSign",
	    .ski = true,
	    .aki = true});
	p->inter = fx_cert_new(&(struct fx_spec){.subject = fx_int_subject,
	    .key = p->int_key,
	    .issuer = p->root,
	    .issuer_key = p->root_key,
	    .serial = "2001",
	    .not_before = now - 5 * FX_DAY,
	    .not_after = now + 1000 * FX_DAY,
	    .bc = "critical,CA:TRUE,pathlen:0",
	    .ku = "critical,keyCertSign,cRLSign,digitalSignature",
	    .crldp = "URI:http://crl.example.test/root.crl",
	    .ski = true,
	    .aki = true});
	p->leaf = fx_cert_new(&(struct fx_spec){.subject = fx_leaf_subject,
	    .key = p->leaf_key,
	    .issuer = p->inter,
	    .issuer_key = p->int_key,
	    .serial = "00DEADBEEF0123456789ABCDEF0123456789",
	    .not_before = now - FX_DAY,
	    .not_after = now + 90 * FX_DAY,
	    .bc = "critical,CA:FALSE",
	    .ku = "critical,digitalSignature,keyAgreement",
	    .eku = "serverAuth,clientAuth,1.3.6.1.4.1.99999.3",
	    .san = FX_LEAF_SAN,
	    .crldp = "URI:http://crl.example.test/int.crl,"
	             "URI:ldap://crl.example.test/cn=int",
	    .aia = "OCSP;URI:http://ocsp.example.test,"
	           "caIssuers;URI:http://ca.example.test/int.crt",
	    .policies = "2.23.140.1.2.2,1.3.6.1.4.1.99999.1.2",
	    .ski = true,
	    .aki = true,
	    .sct = true});
	p->ed_leaf = fx_cert_new(&(struct fx_spec){.subject = fx_ed_subject,
	    .key = p->ed_key,
	    .issuer = p->inter,
	    .issuer_key = p->int_key,
	    .serial = "-0102",
	    .not_before = now - FX_DAY,
	    .not_after = now + 30 * FX_DAY,
	    .san = "DNS:ed.example.test",
	    .ski = true,
	    .aki = true});
	p->expired =
	    fx_cert_new(&(struct fx_spec){.subject = fx_expired_subject,
	        .key = p->leaf_key,
	        .issuer = p->inter,
	        .issuer_key = p->int_key,
	        .serial = "04",
	        .not_before = now - 100 * FX_DAY,
	        .not_after = now - 10 * FX_DAY,
	        .bc = "critical,CA:FALSE",
	        .san = "DNS:expired.example.test",
	        .ski = true,
	        .aki = true});
	p->self = fx_cert_new(&(struct fx_spec){.subject = fx_self_subject,
	    .key = p->leaf_key,
	    .serial = "7f",
	    .not_before = now - FX_DAY,
	    .not_after = now + 30 * FX_DAY,
	    .san = "DNS:self.example.test",
	    .ski = true,
	    .aki = true});
}

static inline void
fx_pki_release(struct fx_pki *p)
{
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->leaf);
	X509_free(p->ed_leaf);
	X509_free(p->expired);
	X509_free(p->self);
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->int_key);
	EVP_PKEY_free(p->leaf_key);
	EVP_PKEY_free(p->ed_key);
	memset(p, 0, sizeof(*p));
}

/* A PKCS#10 request with a SAN extension, signed by key. */
static inline X509_REQ *
fx_req_new(EVP_PKEY *key, const char *const *subject, const char *san)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = fx_name_new(subject);

	cr_assert(X509_REQ_set_version(req, X509_REQ_VERSION_1) == 1);
	cr_assert(X509_REQ_set_subject_name(req, n) == 1);
	X509_NAME_free(n);
	cr_assert(X509_REQ_set_pubkey(req, key) == 1);
	if (san != NULL) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *e =
		    X509V3_EXT_nconf_nid(NULL, NULL, NID_subject_alt_name, san);

		cr_assert_not_null(e);
		sk_X509_EXTENSION_push(exts, e);
		cr_assert(X509_REQ_add_extensions(req, exts) == 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	cr_assert(X509_REQ_sign(req, key, fx_md_for(key)) > 0);
	return req;
}

/*
 * Collecting what the ingest callback sees: a copy of every item, so tests
 * can check kind, bytes, container, label, index and reason afterwards.
 */

#define FX_MAX_GOT 32

struct fx_got_item {
	enum ck_item_kind kind;
	uint8_t *der; /* copy, or NULL */
	size_t der_len;
	char *container, *label, *reason;
	int index;
};

struct fx_got {
	struct fx_got_item v[FX_MAX_GOT];
	size_t n;
	size_t stop_after; /* 0: never stop */
};

static inline char *
fx_dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static inline int
fx_collect(void *ctx, const struct ck_item *it)
{
	struct fx_got *g = ctx;
	struct fx_got_item *o;

	cr_assert_lt(g->n, FX_MAX_GOT, "too many items");
	o = &g->v[g->n++];
	o->kind = it->kind;
	o->der_len = it->der_len;
	o->der = NULL;
	if (it->der != NULL) {
		o->der = malloc(it->der_len ? it->der_len : 1);
		memcpy(o->der, it->der, it->der_len);
	}
	o->container = fx_dup_or_null(it->container);
	o->label = fx_dup_or_null(it->label);
	o->reason = fx_dup_or_null(it->reason);
	o->index = it->index;
	/* The contract of the item, whatever the input. */
	if (it->kind == CK_ITEM_ERROR) {
		cr_assert_null(it->der);
		cr_assert_not_null(it->reason);
	}
	if (it->kind == CK_ITEM_CERT || it->kind == CK_ITEM_CSR ||
	    it->kind == CK_ITEM_CRL)
		cr_assert(it->der != NULL && it->der_len > 0);
	return g->stop_after != 0 && g->n == g->stop_after ? 7 : 0;
}

static inline void
fx_got_release(struct fx_got *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].der);
		free(g->v[i].container);
		free(g->v[i].label);
		free(g->v[i].reason);
	}
	g->n = 0;
}

/* Ingests the bytes; the call must succeed. */
static inline void
fx_ingest_ok(const void *data, size_t len, const struct ck_ingest_opts *opts,
    struct fx_got *g)
{
	struct ck_err err = {0};
	int r = ck_x509_ingest(data, len, opts, fx_collect, g, &err);

	cr_assert_eq(r, 0, "ck_x509_ingest: %d %s", r, err.msg);
}

static inline void
fx_check_item(const struct fx_got *g, size_t i, enum ck_item_kind kind,
    const char *container, const char *label)
{
	cr_assert_lt(i, g->n, "item %zu missing (%zu items)", i, g->n);
	cr_assert_eq(g->v[i].kind, kind, "item %zu is a %s, not a %s", i,
	    ck_item_kind_name(g->v[i].kind), ck_item_kind_name(kind));
	cr_assert_eq(g->v[i].index, (int)i + 1, "item %zu index", i);
	cr_assert_str_eq(g->v[i].container, container, "item %zu", i);
	if (label == NULL)
		cr_assert_null(g->v[i].label, "item %zu label", i);
	else
		cr_assert_str_eq(g->v[i].label, label, "item %zu label", i);
}

static inline void
fx_check_der(
    const struct fx_got *g, size_t i, const unsigned char *der, size_t len)
{
	cr_assert_eq(g->v[i].der_len, len, "item %zu length", i);
	cr_assert(memcmp(g->v[i].der, der, len) == 0, "item %zu bytes", i);
}

static inline void
fx_check_cert_item(const struct fx_got *g, size_t i, X509 *x,
    const char *container, const char *label)
{
	unsigned char *der;
	size_t len;

	fx_check_item(g, i, CK_ITEM_CERT, container, label);
	der = fx_der(x, &len);
	fx_check_der(g, i, der, len);
	OPENSSL_free(der);
}

static inline void
fx_check_error_item(
    const struct fx_got *g, size_t i, const char *container, const char *reason)
{
	cr_assert_lt(i, g->n);
	cr_assert_eq(g->v[i].kind, CK_ITEM_ERROR, "item %zu kind", i);
	cr_assert_str_eq(g->v[i].container, container);
	cr_assert_str_eq(g->v[i].reason, reason);
}

static inline X509_REQ *
fx_leaf_req(const struct fx_pki *pki)
{
	return fx_req_new(pki->leaf_key,
	    (const char *const[]){
	        "O", "certkeep", "CN", "req.example.test", NULL},
	    "DNS:req.example.test,IP:198.51.100.7,email:req@example.test");
}

static inline char *
fx_req_pem(X509_REQ *req, bool new_label)
{
	BIO *b = BIO_new(BIO_s_mem());

	cr_assert((new_label ? PEM_write_bio_X509_REQ_NEW(b, req)
	                     : PEM_write_bio_X509_REQ(b, req)) == 1);
	return fx_bio_string(b, NULL);
}

/* Finds needle in the n bytes at hay; NULL when absent. */
static inline unsigned char *
fx_memfind(unsigned char *hay, size_t n, const void *needle, size_t nn)
{
	for (size_t i = 0; nn <= n && i <= n - nn; i++)
		if (memcmp(hay + i, needle, nn) == 0)
			return hay + i;
	return NULL;
}

#endif
