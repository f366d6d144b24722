/*
 * CRLs of the built-in CAs: v2, numbered (CRL number extension), with the
 * authority key identifier and a reason code per entry, signed by the CA
 * key and kept in the store so that serving one is a read.
 */
#include "ca/ca.h"
#include "ca/ca_int.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "base/mem.h"

static const char *const reasons[] = {"unspecified", "keyCompromise",
    "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation",
    "certificateHold", NULL, "removeFromCRL", "privilegeWithdrawn",
    "aACompromise"};

int
ck_crl_reason_parse(const char *name, int *code)
{
	for (int i = 0; i < (int)(sizeof(reasons) / sizeof(reasons[0])); i++)
		if (reasons[i] != NULL && strcasecmp(reasons[i], name) == 0) {
			*code = i;
			return 0;
		}
	return CK_E_INVAL;
}

const char *
ck_crl_reason_name(int code)
{
	if (code < 0 || code >= (int)(sizeof(reasons) / sizeof(reasons[0])) ||
	    reasons[code] == NULL)
		return "unspecified";
	return reasons[code];
}

struct build {
	X509_CRL *crl;
	int r;
	struct ck_err *err;
};

static int
add_revoked(void *ctx, const struct ck_revoked *rv)
{
	struct build *b = ctx;
	X509_REVOKED *x = X509_REVOKED_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)rv->revoked_at);
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn = NULL;
	ASN1_ENUMERATED *code = NULL;

	if (BN_hex2bn(&bn, rv->serial) == 0 ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_REVOKED_set_serialNumber(x, sn) ||
	    !X509_REVOKED_set_revocationDate(x, t))
		goto fail;
	/* RFC 5280 5.3.1: unspecified is expressed by leaving it out. */
	if (rv->reason != 0) {
		code = ASN1_ENUMERATED_new();
		if (!ASN1_ENUMERATED_set(code, rv->reason) ||
		    !X509_REVOKED_add1_ext_i2d(x, NID_crl_reason, code, 0, 0))
			goto fail;
	}
	if (!X509_CRL_add0_revoked(b->crl, x))
		goto fail;
	x = NULL;
	ASN1_ENUMERATED_free(code);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	BN_free(bn);
	return 0;
fail:
	X509_REVOKED_free(x);
	ASN1_ENUMERATED_free(code);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	BN_free(bn);
	b->r = ca_ossl_err(b->err, CK_E_CRYPTO, "CRL entry");
	return b->r;
}

static int
build_crl(struct ck_store *st, const uint8_t mk[CK_MASTER_KEY_LEN],
    const char *ca, int64_t number, int64_t now, uint8_t **der, size_t *der_len,
    int64_t *ca_id, struct ck_err *err)
{
	struct ca_loaded l = {0};
	struct build b = {NULL, 0, err};
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	ASN1_TIME *t1 = NULL, *t2 = NULL;
	ASN1_INTEGER *num = NULL;
	X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;
	unsigned char *out = NULL;
	int len, r;

	if ((r = ca_load(st, mk, ca, &l, &cert, &key, err)) != 0)
		goto out;
	*ca_id = l.id;
	b.crl = X509_CRL_new();
	t1 = ASN1_TIME_set(NULL, (time_t)now);
	t2 = ASN1_TIME_set(NULL, (time_t)(now + CK_CRL_VALIDITY));
	num = ASN1_INTEGER_new();
	if (!X509_CRL_set_version(b.crl, 1) ||
	    !X509_CRL_set_issuer_name(b.crl, X509_get_subject_name(cert)) ||
	    !X509_CRL_set1_lastUpdate(b.crl, t1) ||
	    !X509_CRL_set1_nextUpdate(b.crl, t2) ||
	    !ASN1_INTEGER_set_int64(num, number) ||
	    !X509_CRL_add1_ext_i2d(b.crl, NID_crl_number, num, 0, 0)) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "CRL");
		goto out;
	}
	X509V3_set_ctx(&ctx, cert, NULL, NULL, b.crl, 0);
	if ((aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	         "keyid:always")) == NULL ||
	    !X509_CRL_add_ext(b.crl, aki, -1)) {
		r = ca_ossl_err(
		    err, CK_E_CRYPTO, "CRL authority key identifier");
		goto out;
	}
	if ((r = ck_store_revoked_list(st, l.id, now, add_revoked, &b, err)) !=
	    0)
		goto out;
	X509_CRL_sort(b.crl);
	if (X509_CRL_sign(b.crl, key, ca_digest_for(l.key_type)) <= 0 ||
	    (len = i2d_X509_CRL(b.crl, &out)) <= 0) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "signing the CRL");
		goto out;
	}
	*der = ck_memdup(out, (size_t)len);
	*der_len = (size_t)len;
out:
	OPENSSL_free(out);
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	X509_CRL_free(b.crl);
	X509_free(cert);
	EVP_PKEY_free(key);
	ca_loaded_release(&l);
	ERR_clear_error();
	return r;
}

static int
ca_id_of(void *ctx, const struct ck_ca_row *ca)
{
	*(int64_t *)ctx = ca->id;
	return 0;
}

int
ck_ca_crl(struct ck_store *st, const char *ca, const char *master_key,
    bool force, uint8_t **der, size_t *der_len, struct ck_err *err)
{
	uint8_t mk[CK_MASTER_KEY_LEN];
	int64_t id = 0, number, next, now = ck_now();
	int r;

	*der = NULL;
	*der_len = 0;
	if ((r = ck_store_ca_get(st, ca, ca_id_of, &id, err)) != 0 ||
	    (r = ck_store_crl_latest(
	         st, id, &number, &next, der, der_len, err)) != 0)
		return r;
	if (*der != NULL && !force && now < next - CK_CRL_REFRESH)
		return 0;
	free(*der);
	*der = NULL;
	if ((r = ca_master_key(ck_master_key_path(master_key), mk, err)) != 0)
		return r;
	r = build_crl(st, mk, ca, number + 1, now, der, der_len, &id, err);
	ck_cleanse(mk, sizeof(mk));
	if (r != 0)
		return r;
	if ((r = ck_store_begin(st, err)) != 0 ||
	    (r = ck_store_crl_add(st, id, number + 1, now,
	         now + CK_CRL_VALIDITY, *der, *der_len, err)) != 0 ||
	    (r = ck_store_commit(st, err)) != 0) {
		ck_store_rollback(st);
		free(*der);
		*der = NULL;
		*der_len = 0;
	}
	return r;
}
