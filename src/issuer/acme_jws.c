/*
 * The ACME connector's cryptography: account keys, their JWK and
 * thumbprint (RFC 7638), JWS signatures (RFC 7515, RFC 8555 section 6.2:
 * RS256, ES256, ES384, EdDSA), External Account Binding (HS256) and the
 * ARI CertID (RFC 9773 section 4.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/mem.h"
#include "issuer/acme_int.h"
#include "x509/jose.h"
#include "x509/x509.h"

int
acme_ossl_err(struct ck_err *err, int code, const char *what)
{
	unsigned long e, first = 0;
	char buf[256] = "";

	/* The oldest entry is the innermost cause. */
	while ((e = ERR_get_error()) != 0)
		if (first == 0)
			first = e;
	if (first != 0)
		ERR_error_string_n(first, buf, sizeof(buf));
	if (buf[0] != '\0')
		return ck_err_set(err, code, "%s: %s", what, buf);
	return ck_err_set(err, code, "%s", what);
}

/* RFC 7515 base64url without padding: x509/jose.c's, shared with the
 * ACME server. */
void
acme_b64url(const void *p, size_t n, struct ck_buf *out)
{
	ck_b64url_encode(p, n, out);
}

static int
b64url_val(char c)
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
acme_b64url_decode(const char *s, size_t n, struct ck_buf *out)
{
	/* an empty value is never a valid field here */
	return n > 0 && ck_b64url_decode(s, n, out);
}

bool
acme_is_b64url(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || b64url_val(s[i]) < 0)
			return false;
	return i > 0;
}

int
acme_key_generate(const char *type, EVP_PKEY **out, struct ck_err *err)
{
	EVP_PKEY *k = NULL;

	*out = NULL;
	if (type == NULL || strcmp(type, "ec-p256") == 0)
		k = EVP_EC_gen("P-256");
	else if (strcmp(type, "ec-p384") == 0)
		k = EVP_EC_gen("P-384");
	else if (strcmp(type, "rsa-2048") == 0)
		k = EVP_RSA_gen(2048);
	else if (strcmp(type, "rsa-3072") == 0)
		k = EVP_RSA_gen(3072);
	else if (strcmp(type, "rsa-4096") == 0)
		k = EVP_RSA_gen(4096);
	else if (strcmp(type, "ed25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		return ck_err_set(
		    err, CK_E_INVAL, "acme: unknown account key type %s", type);
	if (k == NULL)
		return acme_ossl_err(err, CK_E_CRYPTO, "acme: account key");
	*out = k;
	return 0;
}

int
acme_key_load(const char *pem, size_t len, EVP_PKEY **out, struct ck_err *err)
{
	BIO *b;
	EVP_PKEY *k;

	*out = NULL;
	if (len > 1024 * 1024 || (b = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return ck_err_set(
		    err, CK_E_INVAL, "acme: account key too large");
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k == NULL)
		return acme_ossl_err(err, CK_E_PARSE, "acme: account key");
	if (acme_key_alg(k) == NULL) {
		EVP_PKEY_free(k);
		return ck_err_set(err, CK_E_INVAL,
		    "acme: account key: not RSA, P-256, P-384 or Ed25519");
	}
	*out = k;
	return 0;
}

int
acme_key_pem(EVP_PKEY *k, struct ck_buf *out, struct ck_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (b == NULL ||
	    !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(b);
		return acme_ossl_err(err, CK_E_CRYPTO, "acme: account key pem");
	}
	n = BIO_get_mem_data(b, &p);
	ck_buf_add(out, p, (size_t)n);
	OPENSSL_cleanse(p, (size_t)n);
	BIO_free(b);
	return 0;
}

/* The curve of an EC key, "" for others. */
static const char *
curve(EVP_PKEY *k, char buf[32])
{
	size_t n = 0;

	buf[0] = '\0';
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC)
		EVP_PKEY_get_utf8_string_param(
		    k, OSSL_PKEY_PARAM_GROUP_NAME, buf, 32, &n);
	return buf;
}

const char *
acme_key_type(EVP_PKEY *k)
{
	char c[32];

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		return EVP_PKEY_get_bits(k) >= 4096 ? "rsa-4096"
		    : EVP_PKEY_get_bits(k) >= 3072  ? "rsa-3072"
		                                    : "rsa-2048";
	case EVP_PKEY_EC:
		return strcmp(curve(k, c), "secp384r1") == 0 ? "ec-p384"
		                                             : "ec-p256";
	case EVP_PKEY_ED25519: return "ed25519";
	default: return "ec-p256";
	}
}

const char *
acme_key_alg(EVP_PKEY *k)
{
	char c[32];

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA: return EVP_PKEY_get_bits(k) >= 2048 ? "RS256" : NULL;
	case EVP_PKEY_EC:
		curve(k, c);
		if (strcmp(c, "prime256v1") == 0 || strcmp(c, "P-256") == 0)
			return "ES256";
		if (strcmp(c, "secp384r1") == 0 || strcmp(c, "P-384") == 0)
			return "ES384";
		return NULL;
	case EVP_PKEY_ED25519: return "EdDSA";
	default: return NULL;
	}
}

/* Appends "name":"base64url(bn)" with the number left-padded to pad bytes
 * (0: its natural length). */
static int
add_bn(EVP_PKEY *k, const char *param, size_t pad, const char *name,
    struct ck_buf *out, struct ck_err *err)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n;

	if (!EVP_PKEY_get_bn_param(k, param, &bn))
		return acme_ossl_err(err, CK_E_CRYPTO, "acme: jwk");
	n = pad != 0
	    ? BN_bn2binpad(bn, buf, (int)pad)
	    : ((size_t)BN_num_bytes(bn) <= sizeof(buf) ? BN_bn2bin(bn, buf)
	                                               : -1);
	BN_free(bn);
	if (n < 0)
		return ck_err_set(
		    err, CK_E_CRYPTO, "acme: jwk: %s too large", name);
	ck_buf_printf(out, "\"%s\":\"", name);
	acme_b64url(buf, (size_t)n, out);
	ck_buf_addc(out, '"');
	return 0;
}

int
acme_jwk(EVP_PKEY *k, struct ck_buf *out, struct ck_err *err)
{
	const char *alg = acme_key_alg(k);
	int r;

	if (alg == NULL)
		return ck_err_set(
		    err, CK_E_INVAL, "acme: unusable account key");
	/* RFC 7638: required members only, in lexicographic order, no
	 * white space, so the thumbprint is the same as the CA's. */
	if (strcmp(alg, "RS256") == 0) {
		ck_buf_addc(out, '{');
		if ((r = add_bn(k, OSSL_PKEY_PARAM_RSA_E, 0, "e", out, err)) !=
		    0)
			return r;
		ck_buf_adds(out, ",\"kty\":\"RSA\",");
		if ((r = add_bn(k, OSSL_PKEY_PARAM_RSA_N, 0, "n", out, err)) !=
		    0)
			return r;
		ck_buf_addc(out, '}');
	} else if (strcmp(alg, "EdDSA") == 0) {
		uint8_t pub[32];
		size_t n = sizeof(pub);
		if (!EVP_PKEY_get_raw_public_key(k, pub, &n))
			return acme_ossl_err(err, CK_E_CRYPTO, "acme: jwk");
		ck_buf_adds(
		    out, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"");
		acme_b64url(pub, n, out);
		ck_buf_adds(out, "\"}");
	} else {
		size_t sz = strcmp(alg, "ES256") == 0 ? 32 : 48;
		ck_buf_printf(out, "{\"crv\":\"%s\",\"kty\":\"EC\",",
		    sz == 32 ? "P-256" : "P-384");
		if ((r = add_bn(
		         k, OSSL_PKEY_PARAM_EC_PUB_X, sz, "x", out, err)) != 0)
			return r;
		ck_buf_addc(out, ',');
		if ((r = add_bn(
		         k, OSSL_PKEY_PARAM_EC_PUB_Y, sz, "y", out, err)) != 0)
			return r;
		ck_buf_addc(out, '}');
	}
	return 0;
}

int
acme_thumbprint(EVP_PKEY *k, struct ck_buf *out, struct ck_err *err)
{
	struct ck_buf jwk = CK_BUF_INIT;
	uint8_t h[32];
	int r;

	if ((r = acme_jwk(k, &jwk, err)) == 0) {
		ck_sha256(jwk.p, jwk.len, h);
		acme_b64url(h, sizeof(h), out);
	}
	ck_buf_release(&jwk);
	return r;
}

/* The JWS signature of input by k, in JWS form (r||s for ECDSA). */
static int
sign(EVP_PKEY *k, const char *alg, const char *input, size_t n,
    struct ck_buf *out, struct ck_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const EVP_MD *h = strcmp(alg, "EdDSA") == 0 ? NULL
	    : strcmp(alg, "ES384") == 0             ? EVP_sha384()
	                                            : EVP_sha256();
	uint8_t *sig = NULL;
	size_t len = 0;
	int r = CK_E_CRYPTO;

	if (md == NULL || EVP_DigestSignInit(md, NULL, h, NULL, k) != 1 ||
	    EVP_DigestSign(md, NULL, &len, (const uint8_t *)input, n) != 1)
		goto fail;
	sig = ck_malloc(len);
	if (EVP_DigestSign(md, sig, &len, (const uint8_t *)input, n) != 1)
		goto fail;
	if (alg[0] == 'E' && alg[1] == 'S') {
		/* DER ECDSA-Sig-Value to the fixed-size r||s of RFC 7518. */
		size_t sz = strcmp(alg, "ES256") == 0 ? 32 : 48;
		const uint8_t *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		uint8_t rs[96];
		if (es == NULL)
			goto fail;
		BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, (int)sz);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + sz, (int)sz);
		ECDSA_SIG_free(es);
		acme_b64url(rs, 2 * sz, out);
	} else
		acme_b64url(sig, len, out);
	r = 0;
	goto out;
fail:
	r = acme_ossl_err(err, CK_E_CRYPTO, "acme: jws signature");
out:
	free(sig);
	EVP_MD_CTX_free(md);
	return r;
}

/* {"protected":P,"payload":Y,"signature":S} from the header object. */
static int
jws_finish(json_t *hdr, const char *payload, EVP_PKEY *k, const uint8_t *hkey,
    size_t hkey_len, struct ck_buf *out, struct ck_err *err)
{
	struct ck_buf in = CK_BUF_INIT, sig = CK_BUF_INIT;
	char *h = json_dumps(hdr, JSON_COMPACT);
	int r = 0;

	if (h == NULL)
		CK_BUG("json_dumps");
	acme_b64url(h, strlen(h), &in);
	free(h);
	size_t plen = in.len;
	ck_buf_addc(&in, '.');
	acme_b64url(payload, strlen(payload), &in);
	if (k != NULL)
		r = sign(k, acme_key_alg(k), in.p, in.len, &sig, err);
	else {
		uint8_t mac[32];
		unsigned mlen = sizeof(mac);
		if (HMAC(EVP_sha256(), hkey, (int)hkey_len,
		        (const uint8_t *)in.p, in.len, mac, &mlen) == NULL)
			r = acme_ossl_err(err, CK_E_CRYPTO, "acme: eab hmac");
		else
			acme_b64url(mac, mlen, &sig);
	}
	if (r == 0) {
		ck_buf_adds(out, "{\"protected\":\"");
		ck_buf_add(out, in.p, plen);
		ck_buf_adds(out, "\",\"payload\":\"");
		ck_buf_add(out, in.p + plen + 1, in.len - plen - 1);
		ck_buf_adds(out, "\",\"signature\":\"");
		ck_buf_add(out, sig.p, sig.len);
		ck_buf_adds(out, "\"}");
	}
	ck_buf_release(&in);
	ck_buf_release(&sig);
	return r;
}

int
acme_jws(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
    const char *payload, struct ck_buf *out, struct ck_err *err)
{
	const char *alg = acme_key_alg(k);
	json_t *hdr;
	int r;

	if (alg == NULL)
		return ck_err_set(
		    err, CK_E_INVAL, "acme: unusable account key");
	hdr = json_object();
	json_object_set_new(hdr, "alg", json_string(alg));
	if (kid != NULL)
		json_object_set_new(hdr, "kid", json_string(kid));
	else {
		struct ck_buf jwk = CK_BUF_INIT;
		if ((r = acme_jwk(k, &jwk, err)) != 0) {
			ck_buf_release(&jwk);
			json_decref(hdr);
			return r;
		}
		json_object_set_new(hdr, "jwk", json_loads(jwk.p, 0, NULL));
		ck_buf_release(&jwk);
	}
	if (nonce != NULL)
		json_object_set_new(hdr, "nonce", json_string(nonce));
	json_object_set_new(hdr, "url", json_string(url));
	r = jws_finish(
	    hdr, payload != NULL ? payload : "", k, NULL, 0, out, err);
	json_decref(hdr);
	return r;
}

int
acme_eab(const char *kid, const uint8_t *key, size_t key_len, const char *url,
    const char *jwk, struct ck_buf *out, struct ck_err *err)
{
	json_t *hdr = json_object();
	int r;

	if (key_len == 0 || key_len > INT32_MAX) {
		json_decref(hdr);
		return ck_err_set(err, CK_E_INVAL, "acme: eab: empty hmac key");
	}
	json_object_set_new(hdr, "alg", json_string("HS256"));
	json_object_set_new(hdr, "kid", json_string(kid));
	json_object_set_new(hdr, "url", json_string(url));
	r = jws_finish(hdr, jwk, NULL, key, key_len, out, err);
	json_decref(hdr);
	return r;
}

void
acme_cert_id_raw(const uint8_t *aki, size_t aki_len, const uint8_t *serial,
    size_t serial_len, struct ck_buf *out)
{
	acme_b64url(aki, aki_len, out);
	ck_buf_addc(out, '.');
	acme_b64url(serial, serial_len, out);
}

int
acme_cert_id(
    const uint8_t *der, size_t len, struct ck_buf *out, struct ck_err *err)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	const ASN1_OCTET_STRING *aki;
	uint8_t *ser = NULL;
	int n, r = 0;

	if (x == NULL)
		return acme_ossl_err(err, CK_E_PARSE, "acme: certificate");
	aki = X509_get0_authority_key_id(x);
	if (aki == NULL || aki->length <= 0) {
		X509_free(x);
		return ck_err_set(err, CK_E_INVAL,
		    "acme: certificate has no authority key identifier");
	}
	/* The serial's DER content octets, sign byte included: the INTEGER
	 * without its tag and length. */
	n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &ser);
	if (n < 3 || ser[0] != 0x02)
		r = acme_ossl_err(err, CK_E_PARSE, "acme: serial");
	else {
		size_t hl = ser[1] < 0x80 ? 2 : 2 + (size_t)(ser[1] & 0x7f);
		if (hl >= (size_t)n)
			r = ck_err_set(err, CK_E_PARSE, "acme: serial");
		else
			acme_cert_id_raw(aki->data, (size_t)aki->length,
			    ser + hl, (size_t)n - hl, out);
	}
	OPENSSL_free(ser);
	X509_free(x);
	return r;
}
