/*
 * Private keys found in files, told apart without their passwords: the
 * format, whether they are encrypted and, when they are not, the SHA-256
 * of their public key (SubjectPublicKeyInfo DER), which the filesystem
 * scanner compares with the certificates' to match keys to certificates.
 */
#include "discovery/discovery.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

static void
from_pkey(EVP_PKEY *pk, struct ck_keyfile_info *ki)
{
	const char *name = EVP_PKEY_get0_type_name(pk);
	unsigned char *der = NULL;
	int n;
	size_t i;

	if (name == NULL)
		name = "unknown";
	for (i = 0; name[i] && i + 1 < sizeof(ki->key_type); i++)
		ki->key_type[i] = (char)tolower((unsigned char)name[i]);
	ki->key_type[i] = '\0';
	if (strcmp(ki->key_type, "rsa-pss") == 0)
		strcpy(ki->key_type, "rsa");
	ki->bits = EVP_PKEY_get_bits(pk);
	if ((n = i2d_PUBKEY(pk, &der)) > 0) {
		ck_sha256(der, (size_t)n, ki->spki_sha256);
		ki->has_spki = true;
	}
	OPENSSL_free(der);
}

/* Reads an SSH string at *p (n left). */
static bool
ssh_str(const uint8_t **p, size_t *n, const uint8_t **s, size_t *len)
{
	uint32_t l;

	if (*n < 4)
		return false;
	l = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 |
	    (uint32_t)(*p)[2] << 8 | (*p)[3];
	if (l > *n - 4)
		return false;
	*s = *p + 4;
	*len = l;
	*p += 4 + l;
	*n -= 4 + l;
	return true;
}

/* "openssh-key-v1\0", cipher, kdf, kdf options, key count, public keys,
 * the (maybe encrypted) private part (PROTOCOL.key). */
static void
openssh(const uint8_t *p, size_t n, struct ck_keyfile_info *ki)
{
	static const char magic[] = "openssh-key-v1";
	const uint8_t *cipher, *s, *pub;
	size_t cl, sl, pl;
	struct ck_ssh_key k;

	ki->format = "openssh";
	if (n < sizeof(magic) || memcmp(p, magic, sizeof(magic)) != 0)
		return;
	p += sizeof(magic);
	n -= sizeof(magic);
	if (!ssh_str(&p, &n, &cipher, &cl))
		return;
	ki->encrypted = !(cl == 4 && memcmp(cipher, "none", 4) == 0);
	if (!ssh_str(&p, &n, &s, &sl) || !ssh_str(&p, &n, &s, &sl) || n < 4)
		return;
	p += 4; /* the number of keys: always 1 in practice */
	n -= 4;
	if (!ssh_str(&p, &n, &pub, &pl) ||
	    ck_ssh_key_parse(pub, pl, &k, NULL) != 0)
		return;
	snprintf(ki->ssh_fingerprint, sizeof(ki->ssh_fingerprint), "%s",
	    k.fingerprint);
	ki->bits = k.bits;
	snprintf(ki->key_type, sizeof(ki->key_type), "%s", k.label);
	for (char *c = ki->key_type; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	ck_ssh_key_release(&k);
}

/* The key type a traditional PEM label names ("RSA PRIVATE KEY"). */
static const char *
label_format(const char *label)
{
	if (label == NULL)
		return NULL;
	if (strncmp(label, "RSA ", 4) == 0)
		return "rsa";
	if (strncmp(label, "EC ", 3) == 0)
		return "ec";
	if (strncmp(label, "DSA ", 4) == 0)
		return "dsa";
	return NULL;
}

void
ck_keyfile_inspect(const struct ck_item *it, struct ck_keyfile_info *ki)
{
	const uint8_t *q;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *enc = NULL;
	EVP_PKEY *pk = NULL;
	const char *lf = label_format(it->label);

	memset(ki, 0, sizeof(*ki));
	ki->format = "unknown";
	if (it->der == NULL) {
		/* Old-style encrypted PEM (Proc-Type, DEK-Info headers). */
		if (strcmp(it->container, "pem") == 0) {
			ki->format = "pem-encrypted";
			ki->encrypted = true;
			if (lf != NULL)
				snprintf(ki->key_type, sizeof(ki->key_type),
				    "%s", lf);
		} else if (strcmp(it->container, "pkcs12") == 0) {
			ki->format = "pkcs12";
		}
		return;
	}
	if (it->label != NULL &&
	    strcmp(it->label, "OPENSSH PRIVATE KEY") == 0) {
		openssh(it->der, it->der_len, ki);
		return;
	}
	if (it->der_len > LONG_MAX)
		return;
	q = it->der;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)it->der_len)) !=
	    NULL) {
		ki->format = "pkcs8";
		if ((pk = EVP_PKCS82PKEY(p8)) != NULL)
			from_pkey(pk, ki);
		goto out;
	}
	q = it->der;
	if ((enc = d2i_X509_SIG(NULL, &q, (long)it->der_len)) != NULL) {
		ki->format = "pkcs8-encrypted";
		ki->encrypted = true;
		goto out;
	}
	q = it->der;
	if ((pk = d2i_AutoPrivateKey(NULL, &q, (long)it->der_len)) != NULL) {
		from_pkey(pk, ki);
		ki->format = lf != NULL                ? lf
		    : strcmp(ki->key_type, "rsa") == 0 ? "rsa"
		    : strcmp(ki->key_type, "ec") == 0  ? "ec"
		    : strcmp(ki->key_type, "dsa") == 0 ? "dsa"
		                                       : "traditional";
	}
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(enc);
	EVP_PKEY_free(pk);
	ERR_clear_error();
}

bool
ck_keyfile_pkcs12(const uint8_t *data, size_t len,
    const struct ck_strlist *passwords, struct ck_keyfile_info *ki)
{
	const uint8_t *q = data;
	PKCS12 *p12;
	size_t n_pw = passwords ? passwords->n : 0;
	bool found = false;

	memset(ki, 0, sizeof(*ki));
	ki->format = "pkcs12";
	if (len > LONG_MAX || (p12 = d2i_PKCS12(NULL, &q, (long)len)) == NULL) {
		ERR_clear_error();
		return false;
	}
	/* NULL covers both no password and the empty one (PKCS12_parse
	 * tries the MAC with each). The iteration counts were checked by
	 * the ingest that reported the key. */
	for (size_t i = 0; i <= n_pw && !found; i++) {
		const char *pw = i == 0 ? NULL : passwords->v[i - 1];
		EVP_PKEY *pk = NULL;
		X509 *cert = NULL;
		STACK_OF(X509) *ca = NULL;

		if (i > 0 && *pw == '\0')
			continue;
		if (PKCS12_parse(p12, pw, &pk, &cert, &ca) && pk != NULL) {
			from_pkey(pk, ki);
			ki->encrypted = i > 0;
			found = true;
		}
		EVP_PKEY_free(pk);
		X509_free(cert);
		sk_X509_pop_free(ca, X509_free);
		ERR_clear_error();
	}
	PKCS12_free(p12);
	return found;
}

/* One DER TLV header at p (n left): the value's bounds. Short and long
 * lengths up to 4 bytes; high tag numbers refused. */
static bool
tlv(const uint8_t *p, size_t n, unsigned *tag, const uint8_t **val, size_t *len,
    size_t *total)
{
	size_t l, h = 2;

	if (n < 2 || (p[0] & 0x1f) == 0x1f)
		return false;
	*tag = p[0];
	l = p[1];
	if (l & 0x80) {
		size_t k = l & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return false;
		l = 0;
		for (size_t i = 0; i < k; i++)
			l = l << 8 | p[2 + i];
		h += k;
	}
	if (l > n - h)
		return false;
	*val = p + h;
	*len = l;
	*total = h + l;
	return true;
}

bool
ck_keyfile_cert_spki(const uint8_t *der, size_t len, uint8_t out[32])
{
	const uint8_t *v, *t;
	size_t vl, tl, total;
	unsigned tag;

	/* Certificate ::= SEQUENCE { tbs SEQUENCE { [0] version OPTIONAL,
	 * serial, signature, issuer, validity, subject, spki, ... } } */
	if (!tlv(der, len, &tag, &v, &vl, &total) || tag != 0x30)
		return false;
	if (!tlv(v, vl, &tag, &t, &tl, &total) || tag != 0x30)
		return false;
	v = t;
	vl = tl;
	if (!tlv(v, vl, &tag, &t, &tl, &total))
		return false;
	if (tag == 0xa0) { /* version */
		v += total;
		vl -= total;
	}
	for (int i = 0; i < 5; i++) { /* serial .. subject */
		if (!tlv(v, vl, &tag, &t, &tl, &total))
			return false;
		v += total;
		vl -= total;
	}
	if (!tlv(v, vl, &tag, &t, &tl, &total) || tag != 0x30)
		return false;
	ck_sha256(v, total, out);
	return true;
}
