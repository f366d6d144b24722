/*
 * Ingest: turns bytes from a file, a pipe or a request into certificate
 * (and CSR, key, CRL) items, recognising the format from content alone:
 * PEM blocks anywhere in text, DER, PKCS#7 certs-only, PKCS#12.
 */
#include "x509/x509.h"
#include "x509/x509_int.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "base/mem.h"

/* Bounds on what one input may hold. */
#define MAX_ITEMS 1000000
#define MAX_P12_CERTS 1000
/* Each password tried on a PKCS#12 costs this many rounds of its MAC's key
 * derivation, and the count is read from the file: 2^31 would take half an
 * hour a try. Tools write 2048 to a few 100000. */
#define MAX_P12_MAC_ITER 10000000

struct ingest {
	const struct ck_ingest_opts *opts;
	ck_ingest_cb cb;
	void *ctx;
	int index;
	int recognised; /* items of any kind, errors included */
	int last_error; /* index of the last CK_ITEM_ERROR */
	int stop;
};

const char *
ck_item_kind_name(enum ck_item_kind k)
{
	switch (k) {
	case CK_ITEM_CERT: return "certificate";
	case CK_ITEM_CSR: return "certificate request";
	case CK_ITEM_KEY: return "private key";
	case CK_ITEM_CRL: return "crl";
	case CK_ITEM_OTHER: return "other";
	case CK_ITEM_ERROR: return "error";
	}
	return "?";
}

static int
emit(struct ingest *in, enum ck_item_kind kind, const uint8_t *der, size_t len,
    const char *container, const char *label, const char *reason)
{
	struct ck_item it;

	if (in->stop)
		return in->stop;
	if (in->index >= MAX_ITEMS) {
		in->stop = CK_E_TOO_LARGE;
		return in->stop;
	}
	it.kind = kind;
	it.der = der;
	it.der_len = len;
	it.container = container;
	it.label = label;
	it.index = ++in->index;
	it.reason = reason;
	in->recognised++;
	if (kind == CK_ITEM_ERROR)
		in->last_error = it.index;
	in->stop = in->cb(in->ctx, &it);
	return in->stop;
}

static const uint8_t oid_signed_data[] = {
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
static const uint8_t oid_data[] = {
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};

/* ContentInfo with signedData: SEQUENCE { OID 1.2.840.113549.1.7.2, ... } */
static bool
looks_pkcs7(const struct der_tlv *t)
{
	return t->tag == 0x30 && t->len >= sizeof(oid_signed_data) &&
	    memcmp(t->val, oid_signed_data, sizeof(oid_signed_data)) == 0;
}

/* PFX: SEQUENCE { INTEGER 3, SEQUENCE { OID data, ... }, ... } */
static bool
looks_pkcs12(const struct der_tlv *t)
{
	struct der_tlv ver, ci;

	return t->tag == 0x30 && der_read(t->val, t->len, &ver) &&
	    ver.tag == 0x02 && ver.len == 1 && ver.val[0] == 3 &&
	    der_read(ver.val + 1, t->len - ver.total, &ci) && ci.tag == 0x30 &&
	    ci.len >= sizeof(oid_data) &&
	    memcmp(ci.val, oid_data, sizeof(oid_data)) == 0;
}

/*
 * Which of the SEQUENCE { SEQUENCE, SEQUENCE, BIT STRING } shapes (signed
 * objects) this is, by the first fields of the signed part:
 *   certificate: [0] version or INTEGER serial, then AlgorithmIdentifier
 *   CSR:         INTEGER 0, then Name (SEQUENCE of SET)
 *   CRL:         optional INTEGER 1, AlgorithmIdentifier, Name, Time
 */
static enum ck_item_kind
signed_kind(const struct der_tlv *t)
{
	struct der_tlv tbs, a, b, c;

	if (t->tag != 0x30 || !der_read(t->val, t->len, &tbs) ||
	    tbs.tag != 0x30 || !der_read(tbs.val, tbs.len, &a))
		return CK_ITEM_OTHER;
	if (a.tag == 0xa0)
		return CK_ITEM_CERT;
	if (!der_read(a.val + a.len, tbs.len - a.total, &b))
		return CK_ITEM_OTHER;
	if (a.tag == 0x02 && b.tag == 0x30) {
		/* serial + AlgorithmIdentifier (SEQUENCE { OID ... }) for a
		 * v1 certificate, version + Name (SEQUENCE { SET }) for a CSR,
		 * version + AlgorithmIdentifier for a v2 CRL. */
		if (!der_read(b.val, b.len, &c))
			return CK_ITEM_OTHER;
		if (c.tag == 0x31)
			return CK_ITEM_CSR;
		if (c.tag == 0x06) {
			struct der_tlv n, tm;
			const uint8_t *after = b.val + b.len;
			size_t left = tbs.len - a.total - b.total;
			/* CRL: Name then a Time; certificate: Name then
			 * a Validity SEQUENCE. */
			if (der_read(after, left, &n) &&
			    der_read(n.val + n.len, left - n.total, &tm) &&
			    (tm.tag == 0x17 || tm.tag == 0x18))
				return CK_ITEM_CRL;
			return CK_ITEM_CERT;
		}
		return CK_ITEM_OTHER;
	}
	if (a.tag == 0x30 && b.tag == 0x30)
		return CK_ITEM_CRL; /* v1 CRL: signature, issuer */
	return CK_ITEM_OTHER;
}

static int do_pkcs7(struct ingest *in, const uint8_t *p, size_t n);
static int do_pkcs12(struct ingest *in, const uint8_t *p, size_t n);

/* One DER object (already delimited) of whatever kind it is. */
static int
do_der_object(struct ingest *in, const uint8_t *p, size_t n,
    const char *container, const char *label)
{
	struct der_tlv t;
	enum ck_item_kind k;

	if (!der_read(p, n, &t))
		return emit(in, CK_ITEM_ERROR, NULL, 0, container, label,
		    "truncated or malformed DER");
	if (looks_pkcs7(&t))
		return do_pkcs7(in, p, t.total);
	if (looks_pkcs12(&t))
		return do_pkcs12(in, p, t.total);
	k = signed_kind(&t);
	if (k == CK_ITEM_OTHER) {
		/* A private key in PKCS#8 or a traditional form. */
		const uint8_t *q = p;
		PKCS8_PRIV_KEY_INFO *p8 =
		    d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)t.total);
		X509_SIG *enc = NULL;
		EVP_PKEY *pk = NULL;
		if (p8 == NULL) {
			q = p;
			enc = d2i_X509_SIG(NULL, &q, (long)t.total);
		}
		if (p8 == NULL && enc == NULL) {
			/* PKCS#1 and SEC1 keys have no outer tag that tells
			 * them apart: only a decode does. */
			q = p;
			pk = d2i_AutoPrivateKey(NULL, &q, (long)t.total);
		}
		PKCS8_PRIV_KEY_INFO_free(p8);
		X509_SIG_free(enc);
		EVP_PKEY_free(pk);
		ERR_clear_error();
		if (p8 != NULL || enc != NULL || pk != NULL)
			k = CK_ITEM_KEY;
		else
			return emit(in, CK_ITEM_ERROR, NULL, 0, container,
			    label,
			    "DER structure is not a certificate, "
			    "request, CRL, PKCS#7, PKCS#12 or key");
	}
	return emit(in, k, p, t.total, container, label, NULL);
}

static int
do_pkcs7(struct ingest *in, const uint8_t *p, size_t n)
{
	const uint8_t *q = p;
	PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)n);
	STACK_OF(X509) *certs = NULL;
	int r = 0;

	if (p7 == NULL) {
		ERR_clear_error();
		return emit(in, CK_ITEM_ERROR, NULL, 0, "pkcs7", NULL,
		    "malformed PKCS#7 structure");
	}
	if (PKCS7_type_is_signed(p7) && p7->d.sign != NULL)
		certs = p7->d.sign->cert;
	if (sk_X509_num(certs) <= 0) {
		r = emit(in, CK_ITEM_OTHER, NULL, 0, "pkcs7", NULL,
		    "PKCS#7 structure holds no certificates");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(certs) && r == 0; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(certs, i), &der);
		if (len > 0)
			r = emit(in, CK_ITEM_CERT, der, (size_t)len, "pkcs7",
			    NULL, NULL);
		OPENSSL_free(der);
	}
out:
	PKCS7_free(p7);
	ERR_clear_error();
	return r;
}

static int
p12_certs(struct ingest *in, PKCS12 *p12, const char *pass)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;
	int r = 0;

	if (!PKCS12_parse(p12, pass, &key, &cert, &ca)) {
		ERR_clear_error();
		return emit(in, CK_ITEM_ERROR, NULL, 0, "pkcs12", NULL,
		    "PKCS#12 cannot be decrypted (unsupported algorithm or "
		    "corrupted)");
	}
	if (key != NULL)
		r = emit(in, CK_ITEM_KEY, NULL, 0, "pkcs12", NULL, NULL);
	if (cert != NULL && r == 0) {
		unsigned char *der = NULL;
		int len = i2d_X509(cert, &der);
		if (len > 0)
			r = emit(in, CK_ITEM_CERT, der, (size_t)len, "pkcs12",
			    NULL, NULL);
		OPENSSL_free(der);
	}
	for (int i = 0; i < sk_X509_num(ca) && i < MAX_P12_CERTS && r == 0;
	     i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(ca, i), &der);
		if (len > 0)
			r = emit(in, CK_ITEM_CERT, der, (size_t)len, "pkcs12",
			    NULL, NULL);
		OPENSSL_free(der);
	}
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	return r;
}

/* The iteration count of a password-based encryption algorithm (PKCS#12
 * PBE, PKCS#5 v1, or PBES2 with PBKDF2); 1 when it has none we know. */
static long
pbe_iterations(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *oid;
	const void *pval;
	int ptype;
	long it = 1;

	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE)
		return 1;
	if (OBJ_obj2nid(oid) == NID_pbes2) {
		PBE2PARAM *p2 = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
		PBKDF2PARAM *kdf = NULL;

		if (p2 != NULL && p2->keyfunc != NULL &&
		    OBJ_obj2nid(p2->keyfunc->algorithm) == NID_id_pbkdf2 &&
		    p2->keyfunc->parameter != NULL)
			kdf = ASN1_TYPE_unpack_sequence(
			    ASN1_ITEM_rptr(PBKDF2PARAM),
			    p2->keyfunc->parameter);
		if (kdf != NULL && kdf->iter != NULL)
			it = ASN1_INTEGER_get(kdf->iter);
		PBKDF2PARAM_free(kdf);
		PBE2PARAM_free(p2);
	} else {
		PBEPARAM *pbe = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBEPARAM), alg->parameter);

		if (pbe != NULL && pbe->iter != NULL)
			it = ASN1_INTEGER_get(pbe->iter);
		PBEPARAM_free(pbe);
	}
	ERR_clear_error();
	return it;
}

/*
 * The key derivation counts in a PKCS#12 come from the file too: a hostile
 * one with no MAC, or a valid MAC and 2^31 iterations in its bags, would
 * keep the import busy for minutes. Checks what is visible before
 * decryption: encrypted safes and shrouded key bags.
 */
static bool
p12_costs_ok(PKCS12 *p12)
{
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	bool ok = true;

	for (int i = 0; ok && i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
		long it;

		if (PKCS7_type_is_encrypted(p7) && p7->d.encrypted != NULL &&
		    p7->d.encrypted->enc_data != NULL) {
			it = pbe_iterations(
			    p7->d.encrypted->enc_data->algorithm);
			ok = it >= 1 && it <= MAX_P12_MAC_ITER;
			continue;
		}
		if (!PKCS7_type_is_data(p7) ||
		    (bags = PKCS12_unpack_p7data(p7)) == NULL)
			continue;
		for (int j = 0; ok && j < sk_PKCS12_SAFEBAG_num(bags); j++) {
			const PKCS12_SAFEBAG *bag =
			    sk_PKCS12_SAFEBAG_value(bags, j);
			const X509_SIG *sig;
			const X509_ALGOR *alg;

			if (PKCS12_SAFEBAG_get_nid(bag) !=
			        NID_pkcs8ShroudedKeyBag ||
			    (sig = PKCS12_SAFEBAG_get0_pkcs8(bag)) == NULL)
				continue;
			X509_SIG_get0(sig, &alg, NULL);
			it = pbe_iterations(alg);
			ok = it >= 1 && it <= MAX_P12_MAC_ITER;
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	sk_PKCS7_pop_free(safes, PKCS7_free);
	ERR_clear_error();
	return ok;
}

static int
do_pkcs12(struct ingest *in, const uint8_t *p, size_t n)
{
	const uint8_t *q = p;
	PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)n);
	const struct ck_strlist *pw = in->opts ? in->opts->passwords : NULL;
	const ASN1_INTEGER *iter = NULL;
	long n_iter;
	int r;

	if (p12 == NULL) {
		ERR_clear_error();
		return emit(in, CK_ITEM_ERROR, NULL, 0, "pkcs12", NULL,
		    "malformed PKCS#12 structure");
	}
	if (!p12_costs_ok(p12)) {
		r = emit(in, CK_ITEM_ERROR, NULL, 0, "pkcs12", NULL,
		    "PKCS#12 key derivation iteration count is out of range "
		    "(corrupted or hostile file)");
		goto out;
	}
	if (!PKCS12_mac_present(p12)) {
		r = p12_certs(in, p12, NULL);
		goto out;
	}
	PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
	n_iter = iter != NULL ? ASN1_INTEGER_get(iter) : 1; /* -1: too big */
	if (n_iter < 1 || n_iter > MAX_P12_MAC_ITER) {
		r = emit(in, CK_ITEM_ERROR, NULL, 0, "pkcs12", NULL,
		    "PKCS#12 MAC iteration count is out of range (corrupted "
		    "or hostile file)");
		goto out;
	}
	/* No password and the empty one are different encodings. */
	if (PKCS12_verify_mac(p12, NULL, 0)) {
		r = p12_certs(in, p12, NULL);
		goto out;
	}
	if (PKCS12_verify_mac(p12, "", 0)) {
		r = p12_certs(in, p12, "");
		goto out;
	}
	for (size_t i = 0; pw != NULL && i < pw->n; i++) {
		if (PKCS12_verify_mac(p12, pw->v[i], -1)) {
			r = p12_certs(in, p12, pw->v[i]);
			goto out;
		}
	}
	r = emit(in, CK_ITEM_ERROR, NULL, 0, "pkcs12", NULL,
	    pw != NULL && pw->n > 0
	        ? "PKCS#12 MAC does not verify with any password given "
	          "(wrong password or corrupted file)"
	        : "PKCS#12 is protected by a password (give one with "
	          "--password-file)");
out:
	PKCS12_free(p12);
	ERR_clear_error();
	return r;
}

static bool
label_is(const char *label, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(label, want, n) == 0;
}

static const char *
memfind(const char *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle));
}

static int
do_pem(struct ingest *in, const char *s, size_t n)
{
	struct ck_buf der = CK_BUF_INIT;
	const char *p = s, *end = s + n;
	char label[80];
	int r = 0;

	while (r == 0 && p < end) {
		const char *b = memfind(p, (size_t)(end - p), "-----BEGIN ");
		const char *lend, *body, *e;
		size_t llen;
		char endline[100];

		if (b == NULL)
			break;
		lend = memfind(b + 11, (size_t)(end - b - 11), "-----");
		if (lend == NULL || lend - (b + 11) >= (long)sizeof(label)) {
			r = emit(in, CK_ITEM_ERROR, NULL, 0, "pem", NULL,
			    "PEM BEGIN line is not closed");
			break;
		}
		llen = (size_t)(lend - (b + 11));
		memcpy(label, b + 11, llen);
		label[llen] = '\0';
		body = lend + 5;
		snprintf(endline, sizeof(endline), "-----END %s-----", label);
		e = memfind(body, (size_t)(end - body), endline);
		if (e == NULL) {
			r = emit(in, CK_ITEM_ERROR, NULL, 0, "pem", label,
			    "PEM block has no END line (truncated?)");
			break;
		}
		p = e + strlen(endline);
		/* Headers (Proc-Type, DEK-Info) mean an encrypted old-style
		 * key; the base64 starts after the blank line. */
		if (memfind(body, (size_t)(e - body), ":") != NULL &&
		    memfind(body, (size_t)(e - body), "DEK-Info") != NULL) {
			r = emit(in, CK_ITEM_KEY, NULL, 0, "pem", label, NULL);
			continue;
		}
		if (!b64_decode(body, (size_t)(e - body), &der)) {
			r = emit(in, CK_ITEM_ERROR, NULL, 0, "pem", label,
			    "broken base64 in PEM block");
			continue;
		}
		if (label_is(label, llen, "CERTIFICATE") ||
		    label_is(label, llen, "X509 CERTIFICATE") ||
		    label_is(label, llen, "TRUSTED CERTIFICATE")) {
			struct der_tlv t;
			/* A trusted certificate carries its trust settings
			 * after the certificate: take the first object. */
			if (!der_read((uint8_t *)der.p, der.len, &t))
				r = emit(in, CK_ITEM_ERROR, NULL, 0, "pem",
				    label, "truncated or malformed DER");
			else
				r = emit(in, CK_ITEM_CERT, (uint8_t *)der.p,
				    label[0] == 'T' ? t.total : der.len, "pem",
				    label, NULL);
		} else if (label_is(label, llen, "CERTIFICATE REQUEST") ||
		    label_is(label, llen, "NEW CERTIFICATE REQUEST")) {
			r = emit(in, CK_ITEM_CSR, (uint8_t *)der.p, der.len,
			    "pem", label, NULL);
		} else if (label_is(label, llen, "PKCS7") ||
		    label_is(label, llen, "CMS")) {
			r = do_pkcs7(in, (uint8_t *)der.p, der.len);
		} else if (label_is(label, llen, "X509 CRL")) {
			r = emit(in, CK_ITEM_CRL, (uint8_t *)der.p, der.len,
			    "pem", label, NULL);
		} else if (llen >= 11 &&
		    strcmp(label + llen - 11, "PRIVATE KEY") == 0) {
			r = emit(in, CK_ITEM_KEY, (uint8_t *)der.p, der.len,
			    "pem", label, NULL);
		} else {
			r = emit(in, CK_ITEM_OTHER, NULL, 0, "pem", label,
			    "PEM block type not taken");
		}
	}
	ck_buf_release_secret(&der); /* may have held a private key */
	return r;
}

int
ck_x509_ingest(const uint8_t *data, size_t len,
    const struct ck_ingest_opts *opts, ck_ingest_cb cb, void *ctx,
    struct ck_err *err)
{
	struct ingest in = {opts, cb, ctx, 0, 0, 0, 0};
	int r = 0;

	if (len == 0)
		return ck_err_set(err, CK_E_PARSE, "empty input");
	if (memfind((const char *)data, len, "-----BEGIN ") != NULL) {
		r = do_pem(&in, (const char *)data, len);
	} else if (data[0] == 0x30) {
		/* One DER object, or several back to back. */
		size_t off = 0;
		while (r == 0 && off < len) {
			struct der_tlv t;
			if (data[off] != 0x30 ||
			    !der_read(data + off, len - off, &t)) {
				r = emit(&in, CK_ITEM_ERROR, NULL, 0, "der",
				    NULL,
				    off == 0 ? "truncated or malformed DER"
				             : "trailing bytes after DER");
				break;
			}
			int before = in.index;
			r = do_der_object(
			    &in, data + off, t.total, "der", NULL);
			off += t.total;
			/* After an unreadable object the rest is noise: one
			 * report is enough. */
			if (r == 0 && in.last_error == before + 1)
				break;
		}
	} else {
		return ck_err_set(err, CK_E_PARSE,
		    "no PEM block and not DER: not a certificate file");
	}
	if (in.stop == CK_E_TOO_LARGE)
		return ck_err_set(err, CK_E_TOO_LARGE,
		    "more than %d items in one input", MAX_ITEMS);
	if (r != 0)
		return r;
	if (in.recognised == 0)
		return ck_err_set(
		    err, CK_E_PARSE, "no PEM block could be read");
	return 0;
}
