/*
 * Unit tests for the ACME connector's cryptography (src/issuer/acme_jws.c):
 * JWS for each account key type verified with OpenSSL itself (ECDSA from
 * the r||s form), the protected header's members, the JWK thumbprint
 * against RFC 7638's example, the EAB JWS (HS256 over the account JWK),
 * base64url both ways, keys through PEM, and the RFC 9773 CertID against
 * the RFC's example, raw and from a certificate carrying that AKI and
 * serial.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "issuer/acme_int.h"

static json_t *
b64json(const char *s)
{
	struct ck_buf b = CK_BUF_INIT;
	json_t *j;

	cr_assert(acme_b64url_decode(s, strlen(s), &b), "%s", s);
	j = json_loadb(b.p, b.len, 0, NULL);
	ck_buf_release(&b);
	cr_assert_not_null(j);
	return j;
}

/* Checks the JWS signature with OpenSSL; returns the protected header. */
static json_t *
verify(const char *jws, EVP_PKEY *k, const char *alg)
{
	json_t *j = json_loads(jws, 0, NULL), *hdr;
	const char *prot, *pay, *sig;
	struct ck_buf in = CK_BUF_INIT, s = CK_BUF_INIT, der = CK_BUF_INIT;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const EVP_MD *h = NULL;

	cr_assert_not_null(j, "%s", jws);
	cr_assert_eq(json_object_size(j), 3);
	prot = json_string_value(json_object_get(j, "protected"));
	pay = json_string_value(json_object_get(j, "payload"));
	sig = json_string_value(json_object_get(j, "signature"));
	cr_assert(prot != NULL && pay != NULL && sig != NULL);
	ck_buf_printf(&in, "%s.%s", prot, pay);
	cr_assert(acme_b64url_decode(sig, strlen(sig), &s));
	if (strcmp(alg, "ES256") == 0 || strcmp(alg, "ES384") == 0) {
		size_t n = strcmp(alg, "ES256") == 0 ? 32 : 48;
		cr_assert_eq(s.len, 2 * n);
		ECDSA_SIG *es = ECDSA_SIG_new();
		ECDSA_SIG_set0(es, BN_bin2bn((uint8_t *)s.p, (int)n, NULL),
		    BN_bin2bn((uint8_t *)s.p + n, (int)n, NULL));
		uint8_t *p = NULL;
		int dl = i2d_ECDSA_SIG(es, &p);
		ck_buf_add(&der, p, (size_t)dl);
		OPENSSL_free(p);
		ECDSA_SIG_free(es);
		h = n == 32 ? EVP_sha256() : EVP_sha384();
	} else {
		ck_buf_add(&der, s.p, s.len);
		h = strcmp(alg, "RS256") == 0 ? EVP_sha256() : NULL;
	}
	cr_assert_eq(EVP_DigestVerifyInit(md, NULL, h, NULL, k), 1);
	cr_assert_eq(EVP_DigestVerify(md, (uint8_t *)der.p, der.len,
	                 (uint8_t *)in.p, in.len),
	    1, "%s signature does not verify", alg);
	/* One bit off must fail. */
	in.p[0] ^= 1;
	EVP_MD_CTX_reset(md);
	EVP_DigestVerifyInit(md, NULL, h, NULL, k);
	cr_assert_neq(EVP_DigestVerify(md, (uint8_t *)der.p, der.len,
	                  (uint8_t *)in.p, in.len),
	    1);
	hdr = b64json(prot);
	cr_assert_str_eq(json_string_value(json_object_get(hdr, "alg")), alg);
	EVP_MD_CTX_free(md);
	ck_buf_release(&in);
	ck_buf_release(&s);
	ck_buf_release(&der);
	json_decref(j);
	return hdr;
}

static void
one_type(const char *type, const char *alg)
{
	EVP_PKEY *k = NULL, *k2 = NULL;
	struct ck_buf jws = CK_BUF_INIT, pem = CK_BUF_INIT, jwk = CK_BUF_INIT;
	struct ck_err err = {0};
	json_t *hdr;

	cr_assert_eq(acme_key_generate(type, &k, &err), 0, "%s", err.msg);
	cr_assert_str_eq(acme_key_alg(k), alg);
	cr_assert_str_eq(acme_key_type(k), type);
	/* With jwk, nonce and a payload (newAccount). */
	cr_assert_eq(acme_jws(k, NULL, "nonce-1", "https://ca/new-acct",
	                 "{\"a\":1}", &jws, &err),
	    0, "%s", err.msg);
	hdr = verify(jws.p, k, alg);
	cr_assert_str_eq(
	    json_string_value(json_object_get(hdr, "nonce")), "nonce-1");
	cr_assert_str_eq(json_string_value(json_object_get(hdr, "url")),
	    "https://ca/new-acct");
	cr_assert_null(json_object_get(hdr, "kid"));
	cr_assert(json_is_object(json_object_get(hdr, "jwk")));
	/* The header's JWK is the canonical one. */
	cr_assert_eq(acme_jwk(k, &jwk, &err), 0);
	char *hj = json_dumps(
	    json_object_get(hdr, "jwk"), JSON_COMPACT | JSON_SORT_KEYS);
	cr_assert_str_eq(hj, jwk.p);
	free(hj);
	json_decref(hdr);
	/* With kid, POST-as-GET: empty payload. */
	ck_buf_reset(&jws);
	cr_assert_eq(acme_jws(k, "https://ca/acct/1", "n2",
	                 "https://ca/order/1", "", &jws, &err),
	    0);
	hdr = verify(jws.p, k, alg);
	cr_assert_str_eq(json_string_value(json_object_get(hdr, "kid")),
	    "https://ca/acct/1");
	cr_assert_null(json_object_get(hdr, "jwk"));
	json_t *j = json_loads(jws.p, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(j, "payload")), "");
	json_decref(j);
	json_decref(hdr);
	/* Through PEM and back: the same key. */
	cr_assert_eq(acme_key_pem(k, &pem, &err), 0);
	cr_assert(strstr(pem.p, "-----BEGIN PRIVATE KEY-----") != NULL);
	cr_assert_eq(
	    acme_key_load(pem.p, pem.len, &k2, &err), 0, "%s", err.msg);
	cr_assert_eq(EVP_PKEY_eq(k, k2), 1);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	ck_buf_release(&jws);
	ck_buf_release_secret(&pem);
	ck_buf_release(&jwk);
}

Test(acme_jws, es256)
{
	one_type("ec-p256", "ES256");
}
Test(acme_jws, es384)
{
	one_type("ec-p384", "ES384");
}
Test(acme_jws, rs256)
{
	one_type("rsa-2048", "RS256");
}
Test(acme_jws, eddsa)
{
	one_type("ed25519", "EdDSA");
}

Test(acme_jws, unusable_keys)
{
	EVP_PKEY *k = NULL;
	struct ck_err err = {0};
	const char *p521 = NULL;

	cr_assert_eq(acme_key_generate("dsa-1024", &k, &err), CK_E_INVAL);
	cr_assert_eq(acme_key_load("junk", 4, &k, &err), CK_E_PARSE);
	/* P-521 parses but is not an account key we sign with. */
	EVP_PKEY *e = EVP_EC_gen("P-521");
	struct ck_buf pem = CK_BUF_INIT;
	cr_assert_eq(acme_key_pem(e, &pem, &err), 0);
	p521 = pem.p;
	cr_assert_eq(acme_key_load(p521, pem.len, &k, &err), CK_E_INVAL);
	cr_assert_null(k);
	EVP_PKEY_free(e);
	ck_buf_release(&pem);
}

/* RFC 7638 section 3.1: the example RSA key and its thumbprint. */
Test(acme_jws, thumbprint_rfc7638)
{
	static const char n64[] =
	    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zw"
	    "u1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsG"
	    "Y4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMic"
	    "AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt"
	    "-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-c"
	    "sFCur-kEgU8awapJzKnqDKgw";
	struct ck_buf n = CK_BUF_INIT, tp = CK_BUF_INIT, jwk = CK_BUF_INIT;
	struct ck_err err = {0};
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY *k = NULL;

	cr_assert(acme_b64url_decode(n64, strlen(n64), &n));
	BIGNUM *bn = BN_bin2bn((uint8_t *)n.p, (int)n.len, NULL);
	BIGNUM *be = BN_new();
	BN_set_word(be, 65537);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
	OSSL_PARAM *ps = OSSL_PARAM_BLD_to_param(b);
	cr_assert_eq(EVP_PKEY_fromdata_init(c), 1);
	cr_assert_eq(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, ps), 1);
	cr_assert_eq(acme_jwk(k, &jwk, &err), 0, "%s", err.msg);
	cr_assert(strncmp(jwk.p, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7",
	              33) == 0,
	    "%s", jwk.p);
	cr_assert_eq(acme_thumbprint(k, &tp, &err), 0);
	cr_assert_str_eq(tp.p, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(c);
	ck_buf_release(&n);
	ck_buf_release(&tp);
	ck_buf_release(&jwk);
}

Test(acme_jws, eab)
{
	EVP_PKEY *k = NULL;
	struct ck_buf jwk = CK_BUF_INIT, eab = CK_BUF_INIT, mac = CK_BUF_INIT,
	              in = CK_BUF_INIT, pl = CK_BUF_INIT;
	struct ck_err err = {0};
	const uint8_t key[] = "0123456789abcdef0123456789abcdef";
	uint8_t want[32];
	unsigned wl = sizeof(want);

	cr_assert_eq(acme_key_generate("ec-p256", &k, &err), 0);
	cr_assert_eq(acme_jwk(k, &jwk, &err), 0);
	cr_assert_eq(acme_eab("kid-1", key, 32, "https://ca/new-acct", jwk.p,
	                 &eab, &err),
	    0, "%s", err.msg);
	json_t *j = json_loads(eab.p, 0, NULL);
	const char *prot = json_string_value(json_object_get(j, "protected"));
	const char *pay = json_string_value(json_object_get(j, "payload"));
	const char *sig = json_string_value(json_object_get(j, "signature"));
	json_t *h = b64json(prot);
	/* RFC 8555 7.3.4: alg HS256, kid, url; no nonce; payload = JWK. */
	cr_assert_str_eq(json_string_value(json_object_get(h, "alg")), "HS256");
	cr_assert_str_eq(json_string_value(json_object_get(h, "kid")), "kid-1");
	cr_assert_str_eq(json_string_value(json_object_get(h, "url")),
	    "https://ca/new-acct");
	cr_assert_null(json_object_get(h, "nonce"));
	cr_assert_eq(json_object_size(h), 3);
	cr_assert(acme_b64url_decode(pay, strlen(pay), &pl));
	cr_assert_str_eq(pl.p, jwk.p);
	ck_buf_printf(&in, "%s.%s", prot, pay);
	HMAC(EVP_sha256(), key, 32, (uint8_t *)in.p, in.len, want, &wl);
	cr_assert(acme_b64url_decode(sig, strlen(sig), &mac));
	cr_assert_eq(mac.len, 32);
	cr_assert_arr_eq(mac.p, want, 32);
	cr_assert_eq(
	    acme_eab("kid-1", key, 0, "u", jwk.p, &eab, &err), CK_E_INVAL);
	json_decref(h);
	json_decref(j);
	EVP_PKEY_free(k);
	ck_buf_release(&jwk);
	ck_buf_release(&eab);
	ck_buf_release(&mac);
	ck_buf_release(&in);
	ck_buf_release(&pl);
}

Test(acme_jws, base64url)
{
	struct ck_buf b = CK_BUF_INIT;
	const uint8_t bytes[] = {0xfb, 0xff, 0x3e, 0x00, 0x01};

	acme_b64url(bytes, 5, &b);
	cr_assert_str_eq(b.p, "-_8-AAE");
	ck_buf_reset(&b);
	acme_b64url("", 0, &b);
	cr_assert_str_eq(b.p, "");
	ck_buf_reset(&b);
	cr_assert(acme_b64url_decode("-_8-AAE", 7, &b));
	cr_assert_eq(b.len, 5);
	cr_assert_arr_eq(b.p, bytes, 5);
	ck_buf_reset(&b);
	cr_assert_not(acme_b64url_decode("AB+/", 4, &b));
	cr_assert_not(acme_b64url_decode("AAAAA", 5, &b));
	cr_assert_not(acme_b64url_decode("AA==", 4, &b));
	cr_assert(acme_is_b64url("abc-_09", 64));
	cr_assert_not(acme_is_b64url("../etc", 64));
	cr_assert_not(acme_is_b64url("", 64));
	cr_assert_not(acme_is_b64url("abcdef", 5));
	ck_buf_release(&b);
}

static const uint8_t rfc_aki[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40,
    0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8,
    0xD4};
static const char rfc_certid[] = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

Test(acme_jws, cert_id_rfc9773)
{
	struct ck_buf b = CK_BUF_INIT;
	const uint8_t serial[] = {0x00, 0x87, 0x65, 0x43, 0x21};

	acme_cert_id_raw(rfc_aki, sizeof(rfc_aki), serial, sizeof(serial), &b);
	cr_assert_str_eq(b.p, rfc_certid);
	ck_buf_release(&b);
}

/* The same from a certificate: serial 0x87654321 is DER 00 87 65 43 21. */
Test(acme_jws, cert_id_from_certificate)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();
	uint8_t *der = NULL;
	struct ck_buf b = CK_BUF_INIT;
	struct ck_err err = {0};

	X509_set_version(x, 2);
	ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), 0x87654321u);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const uint8_t *)"t", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 60);
	X509_set_pubkey(x, k);
	ak->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(ak->keyid, rfc_aki, sizeof(rfc_aki));
	X509_add1_ext_i2d(x, NID_authority_key_identifier, ak, 0, 0);
	X509_sign(x, k, EVP_sha256());
	int n = i2d_X509(x, &der);
	cr_assert_eq(acme_cert_id(der, (size_t)n, &b, &err), 0, "%s", err.msg);
	cr_assert_str_eq(b.p, rfc_certid);
	ck_buf_reset(&b);
	cr_assert_eq(acme_cert_id(der, 10, &b, &err), CK_E_PARSE);
	OPENSSL_free(der);
	AUTHORITY_KEYID_free(ak);
	X509_free(x);
	EVP_PKEY_free(k);
	ck_buf_release(&b);
}
