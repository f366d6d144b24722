/*
 * Key type and size from a SubjectPublicKeyInfo without decoding the key:
 * the algorithm OID and, for RSA, the modulus length read off the DER. Only
 * key types we do not know by OID go through OpenSSL's (slow) key decoder.
 */
#include "x509/x509.h"
#include "x509/x509_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/ec.h>
#include <openssl/err.h>

static int
rsa_bits(const uint8_t *p, size_t n)
{
	struct der_tlv seq, mod;
	size_t i = 0;

	if (!der_read(p, n, &seq) || seq.tag != 0x30)
		return 0;
	if (!der_read(seq.val, seq.len, &mod) || mod.tag != 0x02)
		return 0;
	while (i < mod.len && mod.val[i] == 0)
		i++;
	if (i == mod.len)
		return 0;
	int bits = (int)(mod.len - i - 1) * 8;
	for (uint8_t top = mod.val[i]; top; top >>= 1)
		bits++;
	return bits;
}

/*
 * Order sizes of named curves, looked up once per curve. The cache is
 * shared by every thread that parses, hence the lock.
 */
static int
curve_bits(int nid)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct {
		int nid, bits;
	} cache[16];
	static int ncache;
	EC_GROUP *g;
	int bits = -1;

	switch (nid) {
	case NID_X9_62_prime256v1: return 256;
	case NID_secp384r1: return 384;
	case NID_secp521r1: return 521;
	case NID_secp224r1: return 224;
	case NID_X9_62_prime192v1: return 192;
	case NID_secp256k1: return 256;
	}
	pthread_mutex_lock(&lock);
	for (int i = 0; i < ncache; i++)
		if (cache[i].nid == nid)
			bits = cache[i].bits;
	pthread_mutex_unlock(&lock);
	if (bits >= 0)
		return bits;
	if ((g = EC_GROUP_new_by_curve_name(nid)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	bits = EC_GROUP_order_bits(g);
	EC_GROUP_free(g);
	pthread_mutex_lock(&lock);
	if (ncache < 16) {
		cache[ncache].nid = nid;
		cache[ncache].bits = bits;
		ncache++;
	}
	pthread_mutex_unlock(&lock);
	return bits;
}

static void
lower_copy(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < cap; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static void
from_pkey(EVP_PKEY *pk, struct ck_keyinfo *ki)
{
	const char *name = EVP_PKEY_get0_type_name(pk);

	lower_copy(ki->type, sizeof(ki->type), name ? name : "unknown");
	if (strcmp(ki->type, "rsa-pss") == 0)
		snprintf(ki->type, sizeof(ki->type), "rsa");
	ki->bits = EVP_PKEY_get_bits(pk);
}

bool
keyinfo_fast(
    const X509_ALGOR *alg, const ASN1_BIT_STRING *key, struct ck_keyinfo *ki)
{
	const ASN1_OBJECT *oid;
	const void *pval;
	int ptype, nid;

	memset(ki, 0, sizeof(*ki));
	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	nid = OBJ_obj2nid(oid);
	switch (nid) {
	case NID_rsaEncryption:
	case NID_rsassaPss:
		snprintf(ki->type, sizeof(ki->type), "rsa");
		ki->bits = rsa_bits(key->data, (size_t)key->length);
		return true;
	case NID_ED25519:
		snprintf(ki->type, sizeof(ki->type), "ed25519");
		ki->bits = 256;
		return true;
	case NID_ED448:
		snprintf(ki->type, sizeof(ki->type), "ed448");
		ki->bits = 456;
		return true;
	case NID_X25519:
		snprintf(ki->type, sizeof(ki->type), "x25519");
		ki->bits = 256;
		return true;
	case NID_X448:
		snprintf(ki->type, sizeof(ki->type), "x448");
		ki->bits = 448;
		return true;
	case NID_X9_62_id_ecPublicKey: {
		const char *nist;
		int cnid;

		if (ptype != V_ASN1_OBJECT)
			return false; /* explicit parameters: let OpenSSL say */
		snprintf(ki->type, sizeof(ki->type), "ec");
		cnid = OBJ_obj2nid(pval);
		if (cnid == NID_undef) {
			OBJ_obj2txt(ki->curve, sizeof(ki->curve), pval, 1);
			return true;
		}
		nist = EC_curve_nid2nist(cnid);
		snprintf(ki->curve, sizeof(ki->curve), "%s",
		    nist ? nist : OBJ_nid2sn(cnid));
		ki->bits = curve_bits(cnid);
		return true;
	}
	}
	return false;
}

void
keyinfo_from_pkey(EVP_PKEY *pk, struct ck_keyinfo *ki)
{
	X509_PUBKEY *xpk = NULL;
	const ASN1_OBJECT *oid;
	const unsigned char *kp;
	int klen;
	X509_ALGOR *alg;

	memset(ki, 0, sizeof(*ki));
	if (X509_PUBKEY_set(&xpk, pk) == 1 &&
	    X509_PUBKEY_get0_param(NULL, &kp, &klen, &alg, xpk) == 1) {
		ASN1_BIT_STRING bs = {0};
		bs.data = (unsigned char *)kp;
		bs.length = klen;
		if (keyinfo_fast(alg, &bs, ki)) {
			X509_PUBKEY_free(xpk);
			return;
		}
	}
	X509_PUBKEY_free(xpk);
	ERR_clear_error();
	(void)oid;
	from_pkey(pk, ki);
}

void
keyinfo_slow(const uint8_t *spki, size_t len, struct ck_keyinfo *ki)
{
	const uint8_t *p = spki;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);

	memset(ki, 0, sizeof(*ki));
	if (pk == NULL) {
		X509_PUBKEY *xpk;
		const ASN1_OBJECT *oid;
		int nid;

		ERR_clear_error();
		p = spki;
		snprintf(ki->type, sizeof(ki->type), "unknown");
		if ((xpk = d2i_X509_PUBKEY(NULL, &p, (long)len)) != NULL &&
		    X509_PUBKEY_get0_param(
		        (ASN1_OBJECT **)&oid, NULL, NULL, NULL, xpk) == 1) {
			nid = OBJ_obj2nid(oid);
			if (nid != NID_undef)
				lower_copy(ki->type, sizeof(ki->type),
				    OBJ_nid2sn(nid));
			else
				OBJ_obj2txt(ki->type, sizeof(ki->type), oid, 1);
		}
		X509_PUBKEY_free(xpk);
		ERR_clear_error();
		return;
	}
	from_pkey(pk, ki);
	EVP_PKEY_free(pk);
}
