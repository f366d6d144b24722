/*
 * The parse of one certificate. It decodes through OpenSSL's ASN.1 templates
 * with our own Certificate structure whose SubjectPublicKeyInfo stays bytes:
 * OpenSSL's X509 type decodes every public key on parse, which costs most of
 * the time of d2i_X509 (DESIGN.md, performance notes). Keys are sized from
 * their bytes in key.c and decoded only when a signature must be checked.
 */
#include "x509/x509.h"
#include "x509/x509_int.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/mem.h"

/* Loaded once for the life of the process; kept so they stay reachable. */
static OSSL_PROVIDER *prov_default, *prov_legacy;

/* OpenSSL 3.0 frees the legacy provider's child library context only when
 * the provider is unloaded; without this every run ends with a leak. */
static void
unload_providers(void)
{
	if (prov_legacy != NULL)
		OSSL_PROVIDER_unload(prov_legacy);
	if (prov_default != NULL)
		OSSL_PROVIDER_unload(prov_default);
	prov_legacy = prov_default = NULL;
}

void
ck_x509_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	/* Old PKCS#12 files use RC2/3DES, which live in the legacy provider.
	 * Loading it explicitly unloads the implicit default, so load both. */
	prov_default = OSSL_PROVIDER_load(NULL, "default");
	if ((prov_legacy = OSSL_PROVIDER_load(NULL, "legacy")) == NULL)
		ERR_clear_error();
	atexit(unload_providers);
}

int
ssl_err(struct ck_err *err, int code, const char *what)
{
	unsigned long e, first = 0;
	char buf[256];

	/* The queue is oldest first, and the oldest entry is the innermost
	 * cause ("wrong tag"); later ones only wrap it ("nested asn1
	 * error"). */
	while ((e = ERR_get_error()) != 0)
		if (first == 0)
			first = e;
	if (err == NULL)
		return code;
	if (first != 0) {
		const char *reason = ERR_reason_error_string(first);
		if (reason != NULL)
			snprintf(buf, sizeof(buf), "%s", reason);
		else
			ERR_error_string_n(first, buf, sizeof(buf));
		return ck_err_set(err, code, "%s: %s", what, buf);
	}
	return ck_err_set(err, code, "%s", what);
}

void
ck_sha256(const void *p, size_t n, uint8_t out[32])
{
	SHA256(p, n, out);
}

void
ck_strlist_add(struct ck_strlist *l, const char *s)
{
	l->v = ck_reallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = ck_strdup(s);
}

void
ck_strlist_release(struct ck_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const char *
ck_san_type_name(enum ck_san_type t)
{
	switch (t) {
	case CK_SAN_DNS: return "DNS";
	case CK_SAN_IP: return "IP";
	case CK_SAN_EMAIL: return "email";
	case CK_SAN_URI: return "URI";
	}
	return "?";
}

void
ck_cert_free(struct ck_cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c->serial);
	free(c->subject);
	free(c->issuer);
	free(c->cn);
	for (size_t i = 0; i < c->n_sans; i++)
		free(c->sans[i].value);
	free(c->sans);
	free(c->sig_alg);
	free(c->ski);
	free(c->aki);
	ck_strlist_release(&c->key_usage);
	ck_strlist_release(&c->ext_key_usage);
	ck_strlist_release(&c->crl_dps);
	ck_strlist_release(&c->ocsp_urls);
	ck_strlist_release(&c->ca_issuer_urls);
	ck_strlist_release(&c->policies);
	free(c);
}

bool
ck_cert_is_expired(const struct ck_cert *c, int64_t now)
{
	return c->not_after < now;
}

/* RFC 4514 text of a name, UTF-8 left as is (as -nameopt RFC2253,-esc_msb). */
char *
name_string(const X509_NAME *name, BIO *bio)
{
	unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	char *p;
	long n;

	(void)BIO_reset(bio);
	if (X509_NAME_print_ex(bio, name, 0, flags) < 0)
		return ck_strdup("");
	n = BIO_get_mem_data(bio, &p);
	/* An empty name (certbot's CSRs have one) leaves the BIO empty, with
	 * no data pointer at all. */
	if (n <= 0 || p == NULL)
		return ck_strdup("");
	return ck_strndup(p, (size_t)n);
}

static char *
hex_string(const unsigned char *p, size_t n)
{
	struct ck_buf b = CK_BUF_INIT;

	ck_buf_addhex(&b, p, n, 0);
	return ck_buf_detach(&b, NULL);
}

static int
asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return CK_E_PARSE;
	*out = (int64_t)timegm(&tm);
	return 0;
}

char *
last_cn(const X509_NAME *name)
{
	int i = -1, last = -1;
	unsigned char *utf8 = NULL;
	char *cn;
	int n;

	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0)
		last = i;
	if (last < 0)
		return NULL;
	n = ASN1_STRING_to_UTF8(
	    &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
	if (n < 0) {
		ERR_clear_error();
		return NULL;
	}
	cn = ck_strndup((char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return cn;
}

static void
add_san(struct ck_san **sans, size_t *n, enum ck_san_type t, const char *v,
    size_t len)
{
	if (*n >= 4096) /* bounded: a certificate with more is abusive */
		return;
	*sans = ck_reallocarray(*sans, *n + 1, sizeof(**sans));
	(*sans)[*n].type = t;
	(*sans)[*n].value = ck_strndup(v, len);
	(*n)++;
}

void
sans_from_names(const GENERAL_NAMES *gens, struct ck_san **sans, size_t *n)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char ip[INET6_ADDRSTRLEN];

		switch (g->type) {
		case GEN_DNS:
			add_san(sans, n, CK_SAN_DNS,
			    (const char *)g->d.dNSName->data,
			    (size_t)g->d.dNSName->length);
			break;
		case GEN_EMAIL:
			add_san(sans, n, CK_SAN_EMAIL,
			    (const char *)g->d.rfc822Name->data,
			    (size_t)g->d.rfc822Name->length);
			break;
		case GEN_URI:
			add_san(sans, n, CK_SAN_URI,
			    (const char *)g->d.uniformResourceIdentifier->data,
			    (size_t)g->d.uniformResourceIdentifier->length);
			break;
		case GEN_IPADD:
			if (g->d.iPAddress->length == 4)
				inet_ntop(AF_INET, g->d.iPAddress->data, ip,
				    sizeof(ip));
			else if (g->d.iPAddress->length == 16)
				inet_ntop(AF_INET6, g->d.iPAddress->data, ip,
				    sizeof(ip));
			else
				break;
			add_san(sans, n, CK_SAN_IP, ip, strlen(ip));
			break;
		}
	}
}

static void
obj_name(const ASN1_OBJECT *o, char *buf, size_t cap, bool short_name)
{
	int nid = OBJ_obj2nid(o);

	if (nid != NID_undef)
		snprintf(buf, cap, "%s",
		    short_name ? OBJ_nid2sn(nid) : OBJ_nid2ln(nid));
	else
		OBJ_obj2txt(buf, (int)cap, o, 1);
}

static void
uris_from(const GENERAL_NAMES *gens, struct ck_strlist *l)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_URI) {
			char *s = ck_strndup(
			    (const char *)g->d.uniformResourceIdentifier->data,
			    (size_t)g->d.uniformResourceIdentifier->length);
			ck_strlist_add(l, s);
			free(s);
		}
	}
}

static void
full_extension(struct ck_cert *c, int nid, const unsigned char *p, long len)
{
	static const char *const ku[] = {"digitalSignature", "nonRepudiation",
	    "keyEncipherment", "dataEncipherment", "keyAgreement",
	    "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"};
	char buf[128];

	switch (nid) {
	case NID_key_usage: {
		ASN1_BIT_STRING *bs = d2i_ASN1_BIT_STRING(NULL, &p, len);
		if (bs == NULL)
			break;
		for (int i = 0; i < 9; i++)
			if (ASN1_BIT_STRING_get_bit(bs, i))
				ck_strlist_add(&c->key_usage, ku[i]);
		ASN1_BIT_STRING_free(bs);
		break;
	}
	case NID_ext_key_usage: {
		EXTENDED_KEY_USAGE *eku = d2i_EXTENDED_KEY_USAGE(NULL, &p, len);
		if (eku == NULL)
			break;
		for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
			obj_name(sk_ASN1_OBJECT_value(eku, i), buf, sizeof(buf),
			    true);
			ck_strlist_add(&c->ext_key_usage, buf);
		}
		EXTENDED_KEY_USAGE_free(eku);
		break;
	}
	case NID_crl_distribution_points: {
		CRL_DIST_POINTS *dps = d2i_CRL_DIST_POINTS(NULL, &p, len);
		if (dps == NULL)
			break;
		for (int i = 0; i < sk_DIST_POINT_num(dps); i++) {
			DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
			if (dp->distpoint != NULL && dp->distpoint->type == 0)
				uris_from(
				    dp->distpoint->name.fullname, &c->crl_dps);
		}
		CRL_DIST_POINTS_free(dps);
		break;
	}
	case NID_info_access: {
		AUTHORITY_INFO_ACCESS *aia =
		    d2i_AUTHORITY_INFO_ACCESS(NULL, &p, len);
		if (aia == NULL)
			break;
		for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
			ACCESS_DESCRIPTION *ad =
			    sk_ACCESS_DESCRIPTION_value(aia, i);
			int m = OBJ_obj2nid(ad->method);
			GENERAL_NAMES *one = sk_GENERAL_NAME_new_null();
			sk_GENERAL_NAME_push(one, ad->location);
			if (m == NID_ad_OCSP)
				uris_from(one, &c->ocsp_urls);
			else if (m == NID_ad_ca_issuers)
				uris_from(one, &c->ca_issuer_urls);
			sk_GENERAL_NAME_free(one);
		}
		AUTHORITY_INFO_ACCESS_free(aia);
		break;
	}
	case NID_certificate_policies: {
		CERTIFICATEPOLICIES *pol =
		    d2i_CERTIFICATEPOLICIES(NULL, &p, len);
		if (pol == NULL)
			break;
		for (int i = 0; i < sk_POLICYINFO_num(pol); i++) {
			OBJ_obj2txt(buf, sizeof(buf),
			    sk_POLICYINFO_value(pol, i)->policyid, 1);
			ck_strlist_add(&c->policies, buf);
		}
		CERTIFICATEPOLICIES_free(pol);
		break;
	}
	case NID_ct_precert_scts: c->has_scts = true; break;
	}
	ERR_clear_error(); /* a bad optional extension is not fatal */
}

static int
extensions(struct ck_cert *c, const STACK_OF(X509_EXTENSION) * exts,
    enum ck_parse_level lvl, struct ck_err *err)
{
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
		const unsigned char *p = data->data;
		long len = data->length;
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

		switch (nid) {
		case NID_basic_constraints: {
			BASIC_CONSTRAINTS *bc =
			    d2i_BASIC_CONSTRAINTS(NULL, &p, len);
			if (bc == NULL)
				return ssl_err(
				    err, CK_E_PARSE, "basic constraints");
			c->is_ca = bc->ca != 0;
			if (bc->pathlen != NULL)
				c->path_len =
				    (int)ASN1_INTEGER_get(bc->pathlen);
			BASIC_CONSTRAINTS_free(bc);
			break;
		}
		case NID_subject_alt_name: {
			GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, len);
			if (gens == NULL)
				return ssl_err(err, CK_E_PARSE,
				    "subject alternative name");
			sans_from_names(gens, &c->sans, &c->n_sans);
			GENERAL_NAMES_free(gens);
			break;
		}
		case NID_subject_key_identifier: {
			ASN1_OCTET_STRING *os =
			    d2i_ASN1_OCTET_STRING(NULL, &p, len);
			if (os == NULL)
				return ssl_err(
				    err, CK_E_PARSE, "subject key identifier");
			/* RFC 5280 allows one of each extension, but a
			 * repeated one must not leak: the last one wins. */
			free(c->ski);
			c->ski = hex_string(os->data, (size_t)os->length);
			ASN1_OCTET_STRING_free(os);
			break;
		}
		case NID_authority_key_identifier: {
			AUTHORITY_KEYID *ak =
			    d2i_AUTHORITY_KEYID(NULL, &p, len);
			if (ak == NULL)
				return ssl_err(err, CK_E_PARSE,
				    "authority key identifier");
			free(c->aki); /* repeated extension, as above */
			c->aki = NULL;
			if (ak->keyid != NULL)
				c->aki = hex_string(
				    ak->keyid->data, (size_t)ak->keyid->length);
			AUTHORITY_KEYID_free(ak);
			break;
		}
		default:
			if (lvl == CK_PARSE_FULL)
				full_extension(c, nid, p, len);
		}
	}
	return 0;
}

/* Subject and issuer text (and the CN) from the DER of the two Names. */
static int
names(const CK_TBS *tbs, struct ck_cert *c, struct ck_err *err)
{
	struct ck_buf b = CK_BUF_INIT;
	const ASN1_STRING *s;

	if (tbs->subject->type != V_ASN1_SEQUENCE ||
	    tbs->issuer->type != V_ASN1_SEQUENCE)
		return ck_err_set(err, CK_E_PARSE,
		    "certificate: subject or issuer is not a Name");
	s = tbs->subject->value.sequence;
	if (!name_format(s->data, (size_t)s->length, &b, &c->cn))
		goto bad;
	c->subject = ck_buf_detach(&b, NULL);
	s = tbs->issuer->value.sequence;
	if (!name_format(s->data, (size_t)s->length, &b, NULL))
		goto bad;
	c->issuer = ck_buf_detach(&b, NULL);
	return 0;
bad:
	ck_buf_release(&b);
	return ck_err_set(err, CK_E_PARSE, "certificate: malformed name");
}

int
ck_x509_parse(const uint8_t *der, size_t der_len, enum ck_parse_level lvl,
    struct ck_cert **out, struct ck_err *err)
{
	const unsigned char *p = der;
	CK_CERTIFICATE *x = NULL;
	struct ck_cert *c = NULL;
	struct ck_keyinfo ki;
	unsigned char *spki = NULL;
	char buf[128];
	int r = CK_E_PARSE, spki_len;
	long v;

	*out = NULL;
	if (der_len > 1 << 20)
		return ck_err_set(err, CK_E_TOO_LARGE, "certificate too large");
	x = (CK_CERTIFICATE *)ASN1_item_d2i(
	    NULL, &p, (long)der_len, ASN1_ITEM_rptr(CK_CERTIFICATE));
	if (x == NULL) {
		r = ssl_err(err, CK_E_PARSE, "certificate");
		goto out;
	}
	if ((size_t)(p - der) != der_len) {
		r = ck_err_set(err, CK_E_PARSE,
		    "certificate: %zu bytes of trailing data",
		    der_len - (size_t)(p - der));
		goto out;
	}
	c = ck_calloc(1, sizeof(*c));
	c->path_len = -1;
	c->der = ck_memdup(der, der_len);
	c->der_len = der_len;
	SHA256(der, der_len, c->sha256);
	SHA1(der, der_len, c->sha1);
	v = x->tbs->version ? ASN1_INTEGER_get(x->tbs->version) : 0;
	if (v < 0 || v > 2) {
		r = ck_err_set(
		    err, CK_E_PARSE, "certificate: bad version %ld", v);
		goto out;
	}
	c->version = (int)v + 1;
	{
		const ASN1_INTEGER *s = x->tbs->serial;
		struct ck_buf b = CK_BUF_INIT;
		if (s->type == V_ASN1_NEG_INTEGER)
			ck_buf_addc(&b, '-');
		ck_buf_addhex(&b, s->data, (size_t)s->length, 0);
		if (s->length == 0)
			ck_buf_adds(&b, "00");
		c->serial = ck_buf_detach(&b, NULL);
	}
	if ((r = names(x->tbs, c, err)) != 0)
		goto out;
	if (asn1_time(x->tbs->validity->not_before, &c->not_before) != 0 ||
	    asn1_time(x->tbs->validity->not_after, &c->not_after) != 0) {
		r = ck_err_set(
		    err, CK_E_PARSE, "certificate: bad validity time");
		goto out;
	}
	obj_name(x->sig_alg->algorithm, buf, sizeof(buf), false);
	c->sig_alg = ck_strdup(buf);
	if (!keyinfo_fast(x->tbs->spki->algor, x->tbs->spki->public_key, &ki)) {
		spki_len = ASN1_item_i2d(
		    (ASN1_VALUE *)x->tbs->spki, &spki, ASN1_ITEM_rptr(CK_SPKI));
		if (spki_len <= 0) {
			r = ssl_err(err, CK_E_PARSE, "subject public key");
			goto out;
		}
		keyinfo_slow(spki, (size_t)spki_len, &ki);
	}
	memcpy(c->key_type, ki.type, sizeof(c->key_type));
	memcpy(c->curve, ki.curve, sizeof(c->curve));
	c->key_bits = ki.bits;
	c->full = lvl == CK_PARSE_FULL;
	if ((r = extensions(c, x->tbs->extensions, lvl, err)) != 0)
		goto out;
	c->self_issued = strcmp(c->subject, c->issuer) == 0 &&
	    (c->aki == NULL || c->ski == NULL || strcmp(c->aki, c->ski) == 0);
	*out = c;
	c = NULL;
	r = 0;
out:
	OPENSSL_free(spki);
	ASN1_item_free((ASN1_VALUE *)x, ASN1_ITEM_rptr(CK_CERTIFICATE));
	ck_cert_free(c);
	ERR_clear_error();
	return r;
}
