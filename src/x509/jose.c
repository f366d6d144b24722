/*
 * JOSE primitives for the ACME server: base64url, JWK to EVP_PKEY, JWS
 * signature checks and RFC 7638 thumbprints. The ACME client keeps its own
 * (signing) side in src/issuer/acme_jws.c.
 */
#include "x509/jose.h"

#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "base/mem.h"
#include "x509/x509.h"
#include "x509/x509_int.h"

struct ck_jwk {
	atomic_int refs; /* holders less one: ck_jwk_ref, ck_jwk_free */
	EVP_PKEY *pk;
	char kind; /* 'R' RSA, '2' P-256, '3' P-384, 'E' Ed25519 */
	char *json; /* canonical members */
	char thumb[48];
};

void
ck_b64url_encode(const void *p, size_t n, struct ck_buf *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const uint8_t *s = p;
	size_t i;

	ck_buf_reserve(out, (n + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v =
		    (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		ck_buf_addc(out, tab[v >> 18 & 63]);
		ck_buf_addc(out, tab[v >> 12 & 63]);
		ck_buf_addc(out, tab[v >> 6 & 63]);
		ck_buf_addc(out, tab[v & 63]);
	}
	if (n - i == 1) {
		ck_buf_addc(out, tab[s[i] >> 2]);
		ck_buf_addc(out, tab[(s[i] & 3) << 4]);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 8 | s[i + 1];
		ck_buf_addc(out, tab[v >> 10 & 63]);
		ck_buf_addc(out, tab[v >> 4 & 63]);
		ck_buf_addc(out, tab[(v & 15) << 2]);
	}
	if (out->p == NULL)
		ck_buf_adds(out, "");
}

static int
val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

bool
ck_b64url_decode(const char *s, size_t n, struct ck_buf *out)
{
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return false;
	ck_buf_reserve(out, n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		int v = val(s[i]);
		if (v < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			ck_buf_addc(out, (char)(acc >> bits & 0xff));
		}
	}
	/* Leftover bits must be zero: one encoding per byte string. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return false;
	if (out->p == NULL)
		ck_buf_adds(out, "");
	return true;
}

void
ck_random_bytes(void *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1)
		CK_BUG("RAND_bytes failed");
}

void
ck_hmac_sha256(const uint8_t *key, size_t key_len, const void *p, size_t n,
    uint8_t out[32])
{
	unsigned len = 32;

	if (HMAC(EVP_sha256(), key, (int)key_len, p, n, out, &len) == NULL)
		CK_BUG("HMAC failed");
}

/* The base64url member name of o, decoded into b; its text in *txt. */
static bool
member(const json_t *o, const char *name, struct ck_buf *b, const char **txt)
{
	const json_t *v = json_object_get(o, name);
	const char *s;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	*txt = s;
	return json_string_length(v) > 0 && json_string_length(v) < 2048 &&
	    ck_b64url_decode(s, json_string_length(v), b);
}

static EVP_PKEY *
from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
		if (EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) !=
		    1)
			pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static int
rsa_key(
    const json_t *o, struct ck_jwk *k, struct ck_buf *canon, struct ck_err *err)
{
	struct ck_buf n = CK_BUF_INIT, e = CK_BUF_INIT;
	const char *nt = NULL, *et = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int r = CK_E_INVAL, bits;

	if (!member(o, "n", &n, &nt) || !member(o, "e", &e, &et)) {
		ck_err_set(err, r, "jwk: RSA key needs base64url n and e");
		goto out;
	}
	bn = BN_bin2bn((uint8_t *)n.p, (int)n.len, NULL);
	be = BN_bin2bn((uint8_t *)e.p, (int)e.len, NULL);
	bits = BN_num_bits(bn);
	if (bits < 2048 || bits > 8192 || !BN_is_odd(be) || BN_is_one(be) ||
	    BN_num_bits(be) > 33) {
		ck_err_set(err, r,
		    "jwk: RSA key of %d bits or exponent refused", bits);
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
	if ((k->pk = from_params("RSA", bld)) == NULL) {
		r = ssl_err(err, CK_E_INVAL, "jwk: RSA key");
		goto out;
	}
	k->kind = 'R';
	ck_buf_printf(
	    canon, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", et, nt);
	r = 0;
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	ck_buf_release(&n);
	ck_buf_release(&e);
	return r;
}

static int
ec_key(const json_t *o, const char *crv, struct ck_jwk *k, struct ck_buf *canon,
    struct ck_err *err)
{
	struct ck_buf x = CK_BUF_INIT, y = CK_BUF_INIT, pt = CK_BUF_INIT;
	const char *xt = NULL, *yt = NULL, *group;
	OSSL_PARAM_BLD *bld = NULL;
	size_t len;
	int r = CK_E_INVAL;

	if (strcmp(crv, "P-256") == 0) {
		len = 32, group = "prime256v1", k->kind = '2';
	} else if (strcmp(crv, "P-384") == 0) {
		len = 48, group = "secp384r1", k->kind = '3';
	} else {
		ck_err_set(err, r, "jwk: curve refused (P-256, P-384)");
		goto out;
	}
	/* RFC 7518 6.2.1.2: coordinates are exactly the field's size. */
	if (!member(o, "x", &x, &xt) || !member(o, "y", &y, &yt) ||
	    x.len != len || y.len != len) {
		ck_err_set(
		    err, r, "jwk: EC key needs x and y of %zu bytes", len);
		goto out;
	}
	ck_buf_addc(&pt, 4);
	ck_buf_add(&pt, x.p, x.len);
	ck_buf_add(&pt, y.p, y.len);
	bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_utf8_string(
	    bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	OSSL_PARAM_BLD_push_octet_string(
	    bld, OSSL_PKEY_PARAM_PUB_KEY, pt.p, pt.len);
	/* fromdata decodes the point, which refuses one off the curve */
	if ((k->pk = from_params("EC", bld)) == NULL) {
		r = ssl_err(err, CK_E_INVAL, "jwk: EC point");
		goto out;
	}
	ck_buf_printf(canon,
	    "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", crv,
	    xt, yt);
	r = 0;
out:
	OSSL_PARAM_BLD_free(bld);
	ck_buf_release(&x);
	ck_buf_release(&y);
	ck_buf_release(&pt);
	return r;
}

static int
okp_key(const json_t *o, const char *crv, struct ck_jwk *k,
    struct ck_buf *canon, struct ck_err *err)
{
	struct ck_buf x = CK_BUF_INIT;
	const char *xt = NULL;
	int r = CK_E_INVAL;

	if (strcmp(crv, "Ed25519") != 0 || !member(o, "x", &x, &xt) ||
	    x.len != 32) {
		ck_err_set(
		    err, r, "jwk: OKP key must be Ed25519 with 32-byte x");
		goto out;
	}
	k->pk = EVP_PKEY_new_raw_public_key(
	    EVP_PKEY_ED25519, NULL, (uint8_t *)x.p, x.len);
	if (k->pk == NULL) {
		r = ssl_err(err, CK_E_INVAL, "jwk: Ed25519 key");
		goto out;
	}
	k->kind = 'E';
	ck_buf_printf(
	    canon, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", xt);
	r = 0;
out:
	ck_buf_release(&x);
	return r;
}

int
ck_jwk_parse(const json_t *jwk, struct ck_jwk **out, struct ck_err *err)
{
	static const char *const priv[] = {
	    "d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	struct ck_jwk *k = ck_calloc(1, sizeof(*k));
	struct ck_buf canon = CK_BUF_INIT, th = CK_BUF_INIT;
	const char *kty, *crv;
	uint8_t h[32];
	int r = CK_E_INVAL;

	*out = NULL;
	if (!json_is_object(jwk)) {
		ck_err_set(err, r, "jwk: not an object");
		goto out;
	}
	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		if (json_object_get(jwk, priv[i]) != NULL) {
			ck_err_set(
			    err, r, "jwk: has private member %s", priv[i]);
			goto out;
		}
	kty = json_string_value(json_object_get(jwk, "kty"));
	crv = json_string_value(json_object_get(jwk, "crv"));
	if (kty != NULL && strcmp(kty, "RSA") == 0)
		r = rsa_key(jwk, k, &canon, err);
	else if (kty != NULL && strcmp(kty, "EC") == 0 && crv != NULL)
		r = ec_key(jwk, crv, k, &canon, err);
	else if (kty != NULL && strcmp(kty, "OKP") == 0 && crv != NULL)
		r = okp_key(jwk, crv, k, &canon, err);
	else
		r = ck_err_set(err, CK_E_INVAL,
		    "jwk: key type refused (RSA, EC, OKP with crv)");
	if (r != 0)
		goto out;
	ck_sha256(canon.p, canon.len, h);
	ck_b64url_encode(h, 32, &th);
	memcpy(k->thumb, th.p, th.len + 1);
	k->json = ck_buf_detach(&canon, NULL);
	*out = k;
	k = NULL;
out:
	ck_buf_release(&canon);
	ck_buf_release(&th);
	ck_jwk_free(k);
	return r;
}

int
ck_jwk_parse_text(
    const char *json, size_t len, struct ck_jwk **out, struct ck_err *err)
{
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	int r;

	*out = NULL;
	if (o == NULL)
		return ck_err_set(err, CK_E_PARSE, "jwk: not JSON");
	r = ck_jwk_parse(o, out, err);
	json_decref(o);
	return r;
}

void
ck_jwk_free(struct ck_jwk *k)
{
	if (k == NULL || atomic_fetch_sub(&k->refs, 1) > 0)
		return;
	EVP_PKEY_free(k->pk);
	free(k->json);
	free(k);
}

struct ck_jwk *
ck_jwk_ref(struct ck_jwk *k)
{
	atomic_fetch_add(&k->refs, 1);
	return k;
}

const char *
ck_jwk_thumbprint(const struct ck_jwk *k)
{
	return k->thumb;
}

const char *
ck_jwk_json(const struct ck_jwk *k)
{
	return k->json;
}

bool
ck_jwk_alg_ok(const struct ck_jwk *k, const char *alg)
{
	switch (k->kind) {
	case 'R': return strcmp(alg, "RS256") == 0;
	case '2': return strcmp(alg, "ES256") == 0;
	case '3': return strcmp(alg, "ES384") == 0;
	case 'E': return strcmp(alg, "EdDSA") == 0;
	}
	return false;
}

/* r||s (JWS) to an ECDSA-Sig-Value (DER) for OpenSSL. */
static bool
ecdsa_der(const uint8_t *sig, size_t n, size_t half, struct ck_buf *out)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	int len;

	if (n != 2 * half)
		return false;
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	es = ECDSA_SIG_new();
	if (r == NULL || s == NULL || es == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return false;
	}
	len = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	if (len <= 0)
		return false;
	ck_buf_add(out, der, (size_t)len);
	OPENSSL_free(der);
	return true;
}

int
ck_jwk_verify(const struct ck_jwk *k, const char *alg, const void *in, size_t n,
    const uint8_t *sig, size_t sig_len, struct ck_err *err)
{
	EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md = NULL;
	struct ck_buf der = CK_BUF_INIT;
	int r = CK_E_CRYPTO;

	if (!ck_jwk_alg_ok(k, alg))
		return ck_err_set(
		    err, CK_E_INVAL, "jws: alg %s does not suit the key", alg);
	if (k->kind == '2' || k->kind == '3') {
		if (!ecdsa_der(sig, sig_len, k->kind == '2' ? 32 : 48, &der)) {
			ck_err_set(err, r, "jws: bad ECDSA signature size");
			goto out;
		}
		sig = (const uint8_t *)der.p;
		sig_len = der.len;
	}
	if (k->kind == 'R' || k->kind == '2')
		md = EVP_sha256();
	else if (k->kind == '3')
		md = EVP_sha384();
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pk) != 1) {
		r = ssl_err(err, CK_E_CRYPTO, "jws: verify");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, sig_len, in, n) != 1) {
		ERR_clear_error();
		ck_err_set(err, r, "jws: signature does not verify");
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	ck_buf_release(&der);
	return r;
}

bool
ck_jwk_matches_cert(const struct ck_jwk *k, const uint8_t *der, size_t der_len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)der_len);
	bool ok = false;

	if (x != NULL) {
		EVP_PKEY *pk = X509_get0_pubkey(x);
		ok = pk != NULL && EVP_PKEY_eq(pk, k->pk) == 1;
		X509_free(x);
	}
	ERR_clear_error();
	return ok;
}
