/*
 * The certificate request as the CA reads it on the issuance path. The
 * SubjectPublicKeyInfo stays bytes (copied into the certificate as is) and
 * the self-signature is checked with a key built from its parameters rather
 * than through OpenSSL 3.0's key decoders, which cost several times the
 * signature check (DESIGN.md, performance notes).
 *
 * This is a fast path, not a second authority: it only ever accepts. Any
 * request it does not fully understand (other key or signature algorithms,
 * explicit curve parameters) or finds wrong (bad signature, malformed
 * extension) is read again by ck_x509_csr_parse(), whose answer and error
 * stand. tests/unit/ca/test_request.c checks that both agree.
 */
#include "ca/ca.h"
#include "ca/ca_int.h"

#include <arpa/inet.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>

#include "base/mem.h"
#include "x509/x509.h"

#define MAX_CSR (1 << 20) /* as ck_x509_csr_parse */

/*
 * PKCS#10 with the key left undecoded. OpenSSL's template macros need
 * typedef names (as in x509/x509_int.h); they are used in this file only.
 */
typedef struct {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *public_key;
} CA_SPKI;

typedef struct {
	ASN1_ENCODING enc; /* the exact bytes the signature covers */
	ASN1_INTEGER *version;
	X509_NAME *subject;
	CA_SPKI *spki;
	STACK_OF(X509_ATTRIBUTE) * attributes;
} CA_REQ_INFO;

typedef struct {
	CA_REQ_INFO *info;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
} CA_REQ;

typedef struct {
	BIGNUM *n;
	BIGNUM *e;
} CA_RSA_PUB;

DECLARE_ASN1_ITEM(CA_REQ_INFO)

/* clang-format off */
ASN1_SEQUENCE(CA_SPKI) = {
	ASN1_SIMPLE(CA_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(CA_SPKI, public_key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CA_SPKI)

ASN1_SEQUENCE_enc(CA_REQ_INFO, enc, 0) = {
	ASN1_SIMPLE(CA_REQ_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(CA_REQ_INFO, subject, X509_NAME),
	ASN1_SIMPLE(CA_REQ_INFO, spki, CA_SPKI),
	/* Optional as in OpenSSL's X509_REQ_INFO: some requests omit it. */
	ASN1_IMP_SET_OF_OPT(CA_REQ_INFO, attributes, X509_ATTRIBUTE, 0),
} ASN1_SEQUENCE_END_enc(CA_REQ_INFO, CA_REQ_INFO)

ASN1_SEQUENCE(CA_REQ) = {
	ASN1_SIMPLE(CA_REQ, info, CA_REQ_INFO),
	ASN1_SIMPLE(CA_REQ, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CA_REQ, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CA_REQ)

ASN1_SEQUENCE(CA_RSA_PUB) = {
	ASN1_SIMPLE(CA_RSA_PUB, n, BIGNUM),
	ASN1_SIMPLE(CA_RSA_PUB, e, BIGNUM),
} static_ASN1_SEQUENCE_END(CA_RSA_PUB)
    /* clang-format on */

    void ca_request_release(struct ca_request * q)
{
	free(q->cn);
	for (size_t i = 0; i < q->n_sans; i++)
		free(q->sans[i].value);
	free(q->sans);
	ASN1_item_free((ASN1_VALUE *)q->fast, ASN1_ITEM_rptr(CA_REQ));
	X509_REQ_free(q->slow);
	memset(q, 0, sizeof(*q));
}

static EVP_PKEY *
ec_key(const char *group, const ASN1_BIT_STRING *pub)
{
	OSSL_PARAM p[3];
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;

	p[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	p[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pub->data, (size_t)pub->length);
	p[2] = OSSL_PARAM_construct_end();
	if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	return k;
}

static EVP_PKEY *
rsa_key(const ASN1_BIT_STRING *pub, int *bits)
{
	const unsigned char *der = pub->data;
	CA_RSA_PUB *rp;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *p = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *k = NULL;

	rp = (CA_RSA_PUB *)ASN1_item_d2i(
	    NULL, &der, pub->length, ASN1_ITEM_rptr(CA_RSA_PUB));
	if (rp == NULL || der != pub->data + pub->length ||
	    BN_is_negative(rp->n) || BN_is_negative(rp->e))
		goto out;
	*bits = BN_num_bits(rp->n);
	if ((b = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, rp->n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, rp->e) ||
	    (p = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
		k = NULL;
out:
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	ASN1_item_free((ASN1_VALUE *)rp, ASN1_ITEM_rptr(CA_RSA_PUB));
	return k;
}

/*
 * The public key of the request for the key types a profile can take, and
 * its type, size and curve as ck_x509_csr_parse names them. NULL: not
 * handled here.
 */
static EVP_PKEY *
fast_key(const CA_SPKI *spki, struct ca_request *q)
{
	const ASN1_OBJECT *oid;
	const void *pval = NULL; /* not set when the parameters are absent */
	int ptype, cnid;

	if ((spki->public_key->flags & 7) != 0)
		return NULL; /* unused bits in a key: let OpenSSL say */
	X509_ALGOR_get0(&oid, &ptype, &pval, spki->algor);
	switch (OBJ_obj2nid(oid)) {
	case NID_X9_62_id_ecPublicKey:
		if (ptype != V_ASN1_OBJECT)
			return NULL;
		cnid = OBJ_obj2nid(pval);
		if (cnid != NID_X9_62_prime256v1 && cnid != NID_secp384r1 &&
		    cnid != NID_secp521r1)
			return NULL;
		snprintf(q->key_type, sizeof(q->key_type), "ec");
		snprintf(
		    q->curve, sizeof(q->curve), "%s", EC_curve_nid2nist(cnid));
		q->key_bits = cnid == NID_X9_62_prime256v1 ? 256
		    : cnid == NID_secp384r1                ? 384
		                                           : 521;
		return ec_key(OBJ_nid2sn(cnid), spki->public_key);
	case NID_rsaEncryption:
		if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
			return NULL;
		snprintf(q->key_type, sizeof(q->key_type), "rsa");
		return rsa_key(spki->public_key, &q->key_bits);
	case NID_ED25519:
		if (ptype != V_ASN1_UNDEF)
			return NULL;
		snprintf(q->key_type, sizeof(q->key_type), "ed25519");
		q->key_bits = 256;
		return EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL,
		    spki->public_key->data, (size_t)spki->public_key->length);
	}
	return NULL;
}

/* True only when the self-signature is one we check here and it verifies. */
static bool
fast_verify(const CA_REQ *r, EVP_PKEY *key)
{
	const ASN1_OBJECT *oid;
	const EVP_MD *md = NULL;
	EVP_MD_CTX *c;
	int ptype, md_nid, pk_nid;
	bool ok;

	X509_ALGOR_get0(&oid, &ptype, NULL, r->sig_alg);
	if (!OBJ_find_sigid_algs(OBJ_obj2nid(oid), &md_nid, &pk_nid) ||
	    pk_nid != EVP_PKEY_get_base_id(key) ||
	    (r->signature->flags & 7) != 0)
		return false;
	if (pk_nid == NID_rsaEncryption) {
		if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
			return false;
	} else if (ptype != V_ASN1_UNDEF) {
		return false;
	}
	if (md_nid != NID_undef && (md = EVP_get_digestbynid(md_nid)) == NULL)
		return false;
	if (md_nid == NID_undef && pk_nid != NID_ED25519)
		return false; /* RSA-PSS and friends carry parameters */
	if ((c = EVP_MD_CTX_new()) == NULL)
		return false;
	ok = EVP_DigestVerifyInit(c, NULL, md, NULL, key) == 1 &&
	    EVP_DigestVerify(c, r->signature->data,
	        (size_t)r->signature->length, r->info->enc.enc,
	        r->info->enc.len) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

/* The last CN as UTF-8, as ck_x509_csr_parse finds it. */
static char *
last_cn(const X509_NAME *name)
{
	int i = -1, last = -1, n;
	unsigned char *utf8 = NULL;
	char *cn;

	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0)
		last = i;
	if (last < 0)
		return NULL;
	n = ASN1_STRING_to_UTF8(
	    &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
	if (n < 0)
		return NULL;
	cn = ck_strndup((char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return cn;
}

static void
add_san(struct ca_request *q, enum ck_san_type t, const void *v, size_t len)
{
	if (q->n_sans >= 4096) /* as x509/parse.c: more is abusive */
		return;
	q->sans = ck_reallocarray(q->sans, q->n_sans + 1, sizeof(*q->sans));
	q->sans[q->n_sans].type = t;
	q->sans[q->n_sans].value = ck_strndup(v, len);
	q->n_sans++;
}

/* The requested names of the types we issue; others are not copied. */
static bool
fast_sans(const CA_REQ_INFO *info, struct ca_request *q)
{
	for (int i = 0; i < sk_X509_ATTRIBUTE_num(info->attributes); i++) {
		X509_ATTRIBUTE *a =
		    sk_X509_ATTRIBUTE_value(info->attributes, i);
		int nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a));
		STACK_OF(X509_EXTENSION) * exts;
		const ASN1_TYPE *t;
		const unsigned char *p;

		if (nid != NID_ext_req && nid != NID_ms_ext_req)
			continue;
		/* X509_REQ_get_extensions reads the first value only. */
		if ((t = X509_ATTRIBUTE_get0_type(a, 0)) == NULL ||
		    t->type != V_ASN1_SEQUENCE)
			return false;
		p = t->value.sequence->data;
		exts = d2i_X509_EXTENSIONS(NULL, &p, t->value.sequence->length);
		if (exts == NULL)
			return false;
		for (int j = 0; j < sk_X509_EXTENSION_num(exts); j++) {
			X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, j);
			GENERAL_NAMES *gens;

			if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) !=
			    NID_subject_alt_name)
				continue;
			if ((gens = X509V3_EXT_d2i(e)) == NULL) {
				sk_X509_EXTENSION_pop_free(
				    exts, X509_EXTENSION_free);
				return false;
			}
			for (int k = 0; k < sk_GENERAL_NAME_num(gens); k++) {
				const GENERAL_NAME *g =
				    sk_GENERAL_NAME_value(gens, k);
				const ASN1_STRING *s = g->d.ia5;
				char ip[INET6_ADDRSTRLEN];

				if (g->type == GEN_DNS)
					add_san(q, CK_SAN_DNS, s->data,
					    (size_t)s->length);
				else if (g->type == GEN_EMAIL)
					add_san(q, CK_SAN_EMAIL, s->data,
					    (size_t)s->length);
				else if (g->type == GEN_URI)
					add_san(q, CK_SAN_URI, s->data,
					    (size_t)s->length);
				else if (g->type == GEN_IPADD &&
				    (s->length == 4 || s->length == 16)) {
					inet_ntop(
					    s->length == 4 ? AF_INET : AF_INET6,
					    s->data, ip, sizeof(ip));
					add_san(q, CK_SAN_IP, ip, strlen(ip));
				}
			}
			GENERAL_NAMES_free(gens);
		}
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		return true;
	}
	return true;
}

static bool
fast_read(const uint8_t *der, size_t len, struct ca_request *q)
{
	const unsigned char *p = der;
	CA_REQ *r;
	EVP_PKEY *key;
	bool ok;

	r = (CA_REQ *)ASN1_item_d2i(
	    NULL, &p, (long)len, ASN1_ITEM_rptr(CA_REQ));
	if (r == NULL || p != der + len || r->info->enc.enc == NULL) {
		ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(CA_REQ));
		return false;
	}
	q->fast = r;
	if ((key = fast_key(r->info->spki, q)) == NULL)
		return false;
	ok = fast_verify(r, key);
	EVP_PKEY_free(key);
	if (!ok || !fast_sans(r->info, q))
		return false;
	q->cn = last_cn(r->info->subject);
	q->subject = r->info->subject;
	q->key_alg = r->info->spki->algor;
	q->key = r->info->spki->public_key->data;
	q->key_len = r->info->spki->public_key->length;
	return true;
}

/* The reference reader, for what the fast one left. */
static int
slow_read(
    const uint8_t *der, size_t len, struct ca_request *q, struct ck_err *err)
{
	const unsigned char *p = der;
	struct ck_csr *csr = NULL;
	X509_PUBKEY *pub;
	const unsigned char *key;
	int r, key_len;

	if ((r = ck_x509_csr_parse(der, len, &csr, err)) != 0)
		return r;
	if (!csr->signature_ok) {
		ck_csr_free(csr);
		return ck_err_set(err, CK_E_INVAL,
		    "certificate request: signature does not verify");
	}
	q->slow = d2i_X509_REQ(NULL, &p, (long)len);
	if (q->slow == NULL ||
	    (pub = X509_REQ_get_X509_PUBKEY(q->slow)) == NULL ||
	    X509_PUBKEY_get0_param(NULL, &key, &key_len, &q->key_alg, pub) !=
	        1) {
		ck_csr_free(csr);
		return ca_ossl_err(err, CK_E_PARSE, "certificate request");
	}
	q->key = key;
	q->key_len = key_len;
	q->subject = X509_REQ_get_subject_name(q->slow);
	q->cn = csr->cn;
	q->sans = csr->sans;
	q->n_sans = csr->n_sans;
	csr->cn = NULL;
	csr->sans = NULL;
	csr->n_sans = 0;
	memcpy(q->key_type, csr->key_type, sizeof(q->key_type));
	memcpy(q->curve, csr->curve, sizeof(q->curve));
	q->key_bits = csr->key_bits;
	ck_csr_free(csr);
	return 0;
}

int
ca_request_read(
    const uint8_t *der, size_t len, struct ca_request *q, struct ck_err *err)
{
	int r;

	memset(q, 0, sizeof(*q));
	if (len <= MAX_CSR && fast_read(der, len, q)) {
		ERR_clear_error();
		return 0;
	}
	ca_request_release(q);
	r = slow_read(der, len, q, err);
	if (r != 0)
		ca_request_release(q);
	ERR_clear_error();
	return r;
}

int
ck_ca_csr_read(
    const uint8_t *der, size_t len, struct ck_csr **out, struct ck_err *err)
{
	struct ca_request q;
	struct ck_csr *c;
	int r;

	*out = NULL;
	if ((r = ca_request_read(der, len, &q, err)) != 0)
		return r;
	c = ck_calloc(1, sizeof(*c));
	c->cn = q.cn;
	c->sans = q.sans;
	c->n_sans = q.n_sans;
	q.cn = NULL;
	q.sans = NULL;
	q.n_sans = 0;
	memcpy(c->key_type, q.key_type, sizeof(c->key_type));
	memcpy(c->curve, q.curve, sizeof(c->curve));
	c->key_bits = q.key_bits;
	c->signature_ok = true;
	ca_request_release(&q);
	*out = c;
	return 0;
}

int
ca_request_set_pubkey(const struct ca_request *q, X509 *x, struct ck_err *err)
{
	const ASN1_OBJECT *oid;
	const void *pval = NULL; /* not set when the parameters are absent */
	int ptype;
	ASN1_OBJECT *o;
	void *param = NULL;
	unsigned char *bits;

	X509_ALGOR_get0(&oid, &ptype, &pval, q->key_alg);
	if (ptype == V_ASN1_OBJECT)
		param = OBJ_dup(pval);
	else if (ptype == V_ASN1_SEQUENCE)
		param = ASN1_STRING_dup(pval);
	else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
		return ck_err_set(err, CK_E_INVAL,
		    "certificate request: unusual key algorithm parameters");
	o = OBJ_dup(oid);
	bits = OPENSSL_memdup(q->key, (size_t)q->key_len);
	if (o == NULL || (pval != NULL && param == NULL) || bits == NULL ||
	    !X509_PUBKEY_set0_param(
	        X509_get_X509_PUBKEY(x), o, ptype, param, bits, q->key_len)) {
		ASN1_OBJECT_free(o);
		if (ptype == V_ASN1_OBJECT)
			ASN1_OBJECT_free(param);
		else
			ASN1_STRING_free(param);
		OPENSSL_free(bits);
		return ca_ossl_err(err, CK_E_CRYPTO, "certificate key");
	}
	return 0;
}
