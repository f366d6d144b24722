/*
 * Generates the benchmark's certificates, fast. OpenSSL 3.0 spends ~157 us
 * encoding a key into a certificate (X509_set_pubkey) and ~50 ms making an
 * RSA key (DESIGN.md, performance notes), so subject keys come from a small
 * pool whose SubjectPublicKeyInfo is encoded once, each TBSCertificate is
 * written here in DER, and only the signature goes through OpenSSL, with CA
 * keys that are decoded once.
 */
#include "gen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "base/err.h"
#include "x509/x509.h"

#define DAY 86400
#define POOL 32 /* subject keys per type and worker: 64 per type with 2 */
#define MARKER "complete"

enum ktype { K_RSA, K_P256, K_ED25519, K_N };

static const char *const ktype_name[K_N] = {"rsa", "ec", "ed25519"};

/* ---- a small DER writer: constructions are closed by moving content ---- */

struct der {
	uint8_t *p;
	size_t len, cap;
	size_t open[16]; /* offsets of the length byte of open constructions */
	int depth;
};

static void
der_put(struct der *d, const void *p, size_t n)
{
	if (d->len + n > d->cap) {
		d->cap = (d->len + n) * 2 + 1024;
		if ((d->p = realloc(d->p, d->cap)) == NULL)
			abort(); /* out of memory aborts, as in the library */
	}
	memcpy(d->p + d->len, p, n);
	d->len += n;
}

static void
der_byte(struct der *d, uint8_t b)
{
	der_put(d, &b, 1);
}

/* Opens a constructed value; der_end() writes its length. */
static void
der_begin(struct der *d, uint8_t tag)
{
	if (d->depth == (int)(sizeof(d->open) / sizeof(d->open[0])))
		CK_BUG("der: nested too deep");
	der_byte(d, tag);
	d->open[d->depth++] = d->len;
	der_byte(d, 0);
}

static void
der_end(struct der *d)
{
	size_t at, n, h = 0;
	uint8_t hdr[4];

	if (d->depth == 0)
		CK_BUG("der: end without begin");
	at = d->open[--d->depth];
	n = d->len - at - 1;
	if (n < 0x80) {
		d->p[at] = (uint8_t)n;
		return;
	}
	/* Long form: one reserved byte was not enough, so move the content
	 * up by the extra bytes. Certificates are small; this is cheap. */
	hdr[h++] = n < 0x100 ? 0x81 : n < 0x10000 ? 0x82 : 0x83;
	if (n >= 0x10000)
		hdr[h++] = (uint8_t)(n >> 16);
	if (n >= 0x100)
		hdr[h++] = (uint8_t)(n >> 8);
	hdr[h++] = (uint8_t)n;
	der_put(d, hdr, h - 1);
	memmove(d->p + at + h, d->p + at + 1, n);
	memcpy(d->p + at, hdr, h);
}

static void
der_tlv(struct der *d, uint8_t tag, const void *p, size_t n)
{
	der_begin(d, tag);
	der_put(d, p, n);
	der_end(d);
}

#define DER_OID(d, o) der_tlv((d), 0x06, (o), sizeof(o))

static const uint8_t oid_ecdsa_sha256[] = {
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t oid_ed25519[] = {0x2b, 0x65, 0x70};
static const uint8_t oid_cn[] = {0x55, 0x04, 0x03};
static const uint8_t oid_c[] = {0x55, 0x04, 0x06};
static const uint8_t oid_l[] = {0x55, 0x04, 0x07};
static const uint8_t oid_st[] = {0x55, 0x04, 0x08};
static const uint8_t oid_o[] = {0x55, 0x04, 0x0a};
static const uint8_t oid_ou[] = {0x55, 0x04, 0x0b};
static const uint8_t oid_ski[] = {0x55, 0x1d, 0x0e};
static const uint8_t oid_ku[] = {0x55, 0x1d, 0x0f};
static const uint8_t oid_san[] = {0x55, 0x1d, 0x11};
static const uint8_t oid_bc[] = {0x55, 0x1d, 0x13};
static const uint8_t oid_crldp[] = {0x55, 0x1d, 0x1f};
static const uint8_t oid_policies[] = {0x55, 0x1d, 0x20};
static const uint8_t oid_aki[] = {0x55, 0x1d, 0x23};
static const uint8_t oid_eku[] = {0x55, 0x1d, 0x25};
static const uint8_t oid_aia[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01};
static const uint8_t oid_server_auth[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
static const uint8_t oid_client_auth[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02};
static const uint8_t oid_ocsp[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01};
static const uint8_t oid_ca_issuers[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02};
static const uint8_t oid_dv[] = {0x67, 0x81, 0x0c, 0x01, 0x02, 0x01};
static const uint8_t oid_ov[] = {0x67, 0x81, 0x0c, 0x01, 0x02, 0x02};

static void
der_attr(struct der *d, const uint8_t *oid, size_t oid_len, const char *s)
{
	der_begin(d, 0x31);
	der_begin(d, 0x30);
	der_tlv(d, 0x06, oid, oid_len);
	/* Countries are PrintableString by RFC 5280; the rest UTF8String. */
	der_tlv(d, oid == oid_c ? 0x13 : 0x0c, s, strlen(s));
	der_end(d);
	der_end(d);
}

#define DER_ATTR(d, o, s) der_attr((d), (o), sizeof(o), (s))

static void
der_time(struct der *d, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	gmtime_r(&tt, &tm);
	/* RFC 5280: UTCTime through 2049, GeneralizedTime after. */
	if (tm.tm_year >= 50 && tm.tm_year < 150) {
		strftime(s, sizeof(s), "%y%m%d%H%M%SZ", &tm);
		der_tlv(d, 0x17, s, strlen(s));
	} else {
		strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
		der_tlv(d, 0x18, s, strlen(s));
	}
}

/* An extension: its value is written between ext_begin and ext_end. */
static void
ext_begin(struct der *d, const uint8_t *oid, size_t oid_len, bool critical)
{
	der_begin(d, 0x30);
	der_tlv(d, 0x06, oid, oid_len);
	if (critical)
		der_put(d, "\x01\x01\xff", 3);
	der_begin(d, 0x04);
}

static void
ext_end(struct der *d)
{
	der_end(d);
	der_end(d);
}

#define EXT_BEGIN(d, o, crit) ext_begin((d), (o), sizeof(o), (crit))

/* ---- randomness: reproducible per certificate ---- */

/* splitmix64's finaliser; a bijection, so distinct inputs stay distinct. */
static uint64_t
mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct rng {
	uint64_t s;
};

static uint32_t
below(struct rng *r, uint32_t n)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(mix(r->s) % n);
}

/* ---- keys and CAs ---- */

struct spki {
	uint8_t *der;
	size_t len;
	uint8_t ski[20];
};

struct ca {
	EVP_PKEY *key;
	bool ed25519;
	struct spki spki;
	struct der name; /* subject Name, DER */
	struct der cert;
	char slug[16]; /* names its URLs */
	EVP_PKEY_CTX *sig; /* ECDSA: made in the worker that signs */
	EVP_MD_CTX *md; /* Ed25519 */
};

/* Encodes the public key once: the whole point of the pool. */
static void
spki_of(EVP_PKEY *k, struct spki *s)
{
	X509_PUBKEY *xp = NULL;
	const unsigned char *bits;
	unsigned char *p = NULL;
	int n, nbits;

	if ((n = i2d_PUBKEY(k, &p)) <= 0 || X509_PUBKEY_set(&xp, k) != 1 ||
	    X509_PUBKEY_get0_param(NULL, &bits, &nbits, NULL, xp) != 1)
		CK_BUG("cannot encode a public key");
	s->der = p;
	s->len = (size_t)n;
	/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
	SHA1(bits, (size_t)nbits, s->ski);
	X509_PUBKEY_free(xp);
}

static EVP_PKEY *
keygen(enum ktype t)
{
	EVP_PKEY *k;

	if (t == K_RSA)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (t == K_P256)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (k == NULL)
		CK_BUG("key generation failed");
	return k;
}

static void
sign(struct ca *ca, const uint8_t *tbs, size_t n, uint8_t *sig, size_t *len)
{
	uint8_t md[32];

	if (ca->ed25519) {
		if (ca->md == NULL)
			ca->md = EVP_MD_CTX_new();
		if (EVP_DigestSignInit(ca->md, NULL, NULL, NULL, ca->key) <=
		        0 ||
		    EVP_DigestSign(ca->md, sig, len, tbs, n) <= 0)
			CK_BUG("Ed25519 signature failed");
		return;
	}
	/* ECDSA signs a digest: hash here and keep one initialised context
	 * rather than setting up a digest-sign context per certificate. */
	if (ca->sig == NULL) {
		ca->sig = EVP_PKEY_CTX_new(ca->key, NULL);
		if (ca->sig == NULL || EVP_PKEY_sign_init(ca->sig) != 1)
			CK_BUG("ECDSA context failed");
	}
	SHA256(tbs, n, md);
	if (EVP_PKEY_sign(ca->sig, sig, len, md, sizeof(md)) != 1)
		CK_BUG("ECDSA signature failed");
}

static void
sig_alg(struct der *d, const struct ca *signer)
{
	der_begin(d, 0x30);
	if (signer->ed25519)
		DER_OID(d, oid_ed25519);
	else
		DER_OID(d, oid_ecdsa_sha256);
	der_end(d);
}

/* Wraps tbs into a Certificate signed by signer, replacing out. */
static void
certificate(struct der *out, const struct der *tbs, struct ca *signer)
{
	uint8_t sig[256];
	size_t len = sizeof(sig);

	sign(signer, tbs->p, tbs->len, sig, &len);
	out->len = 0;
	der_begin(out, 0x30);
	der_put(out, tbs->p, tbs->len);
	sig_alg(out, signer);
	der_begin(out, 0x03);
	der_byte(out, 0);
	der_put(out, sig, len);
	der_end(out);
	der_end(out);
}

static void
uri_ext(struct der *d, const uint8_t *oid, size_t oid_len, const char *what,
    const char *slug, const char *ext)
{
	char url[128];

	snprintf(url, sizeof(url), "http://%s.%s.certkeep.test/%s.%s", what,
	    slug, slug, ext);
	if (oid == oid_crldp) {
		/* CRLDistributionPoints: point, name, fullName, URI. */
		der_begin(d, 0x30);
		der_begin(d, 0xa0);
		der_begin(d, 0xa0);
		der_tlv(d, 0x86, url, strlen(url));
		der_end(d);
		der_end(d);
		der_end(d);
	} else {
		/* One AccessDescription. */
		der_begin(d, 0x30);
		der_tlv(d, 0x06, oid, oid_len);
		der_tlv(d, 0x86, url, strlen(url));
		der_end(d);
	}
}

/* The CA part of a TBSCertificate: extensions of a root or intermediate. */
static void
ca_tbs(struct der *d, struct ca *ca, struct ca *issuer, int64_t now,
    uint64_t serial)
{
	bool root = ca == issuer;
	uint8_t ser[9];

	ser[0] = 0x01;
	for (int i = 0; i < 8; i++)
		ser[1 + i] = (uint8_t)(serial >> (56 - 8 * i));
	d->len = 0;
	der_begin(d, 0x30);
	der_put(d, "\xa0\x03\x02\x01\x02", 5); /* v3 */
	der_tlv(d, 0x02, ser, sizeof(ser));
	sig_alg(d, issuer);
	der_put(d, issuer->name.p, issuer->name.len);
	der_begin(d, 0x30);
	der_time(d, now - (root ? 5 * 365 : 2 * 365) * (int64_t)DAY);
	der_time(d, now + (root ? 20 * 365 : 8 * 365) * (int64_t)DAY);
	der_end(d);
	der_put(d, ca->name.p, ca->name.len);
	der_put(d, ca->spki.der, ca->spki.len);
	der_begin(d, 0xa3);
	der_begin(d, 0x30);
	EXT_BEGIN(d, oid_bc, true);
	/* Root: cA TRUE. Intermediate: also pathLenConstraint 0. */
	if (root)
		der_put(d, "\x30\x03\x01\x01\xff", 5);
	else
		der_put(d, "\x30\x06\x01\x01\xff\x02\x01\x00", 8);
	ext_end(d);
	EXT_BEGIN(d, oid_ku, true);
	der_put(d, "\x03\x02\x01\x86", 4); /* digitalSig, certSign, cRLSign */
	ext_end(d);
	EXT_BEGIN(d, oid_ski, false);
	der_tlv(d, 0x04, ca->spki.ski, 20);
	ext_end(d);
	if (!root) {
		EXT_BEGIN(d, oid_aki, false);
		der_begin(d, 0x30);
		der_tlv(d, 0x80, issuer->spki.ski, 20);
		der_end(d);
		ext_end(d);
		EXT_BEGIN(d, oid_crldp, false);
		der_begin(d, 0x30);
		uri_ext(d, oid_crldp, sizeof(oid_crldp), "crl", issuer->slug,
		    "crl");
		der_end(d);
		ext_end(d);
		EXT_BEGIN(d, oid_aia, false);
		der_begin(d, 0x30);
		uri_ext(d, oid_ca_issuers, sizeof(oid_ca_issuers), "pki",
		    issuer->slug, "crt");
		der_end(d);
		ext_end(d);
	}
	der_end(d);
	der_end(d);
	der_end(d);
}

/* A root (cas[0], P-256) and intermediates, half P-256, half Ed25519. */
static void
make_cas(struct ca *cas, int64_t now)
{
	struct der tbs = {0};
	char cn[64];

	for (int i = 0; i < GEN_N_CA; i++) {
		struct ca *c = &cas[i];

		c->ed25519 = i > GEN_N_INTERMEDIATES / 2;
		c->key = keygen(c->ed25519 ? K_ED25519 : K_P256);
		spki_of(c->key, &c->spki);
		if (i == 0) {
			snprintf(c->slug, sizeof(c->slug), "root");
			snprintf(cn, sizeof(cn), "certkeep Bench Root CA");
		} else {
			snprintf(c->slug, sizeof(c->slug), "int%d", i);
			snprintf(cn, sizeof(cn),
			    "certkeep Bench Issuing CA %d (%s)", i,
			    c->ed25519 ? "Ed25519" : "ECDSA");
		}
		der_begin(&c->name, 0x30);
		DER_ATTR(&c->name, oid_c, "US");
		DER_ATTR(&c->name, oid_o, "certkeep bench");
		DER_ATTR(&c->name, oid_cn, cn);
		der_end(&c->name);
		ca_tbs(&tbs, c, &cas[0], now, mix((uint64_t)i + 0xca));
		certificate(&c->cert, &tbs, &cas[0]);
	}
	free(tbs.p);
}

/* ---- leaves ---- */

static const char *const words[] = {"api", "www", "mail", "vpn", "app", "auth",
    "cdn", "db", "git", "grafana", "jenkins", "kafka", "ldap", "login",
    "metrics", "mq", "portal", "proxy", "registry", "s3", "search", "shop",
    "sso", "status", "store", "vault", "web", "wiki", "admin", "billing", "pay",
    "ci"};
static const char *const orgs[] = {"acme", "globex", "initech", "umbrella",
    "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne", "soylent",
    "aperture", "vandelay", "dunder", "piedpiper", "oscorp"};
static const char *const org_names[] = {"Acme Corp", "Globex Corporation",
    "Initech LLC", "Umbrella Corp", "Hooli Inc.", "Stark Industries",
    "Wayne Enterprises", "Wonka Industries", "Tyrell Corporation",
    "Cyberdyne Systems", "Soylent Corp", "Aperture Science",
    "Vandelay Industries", "Dunder Mifflin", "Pied Piper", "Oscorp"};
static const char *const tlds[] = {
    "com", "net", "org", "io", "de", "co.uk", "internal", "cloud"};
static const char *const places[][3] = {{"US", "California", "San Francisco"},
    {"US", "New York", "New York"}, {"DE", "Berlin", "Berlin"},
    {"GB", "England", "London"}, {"FR", "Ile-de-France", "Paris"},
    {"JP", "Tokyo", "Chiyoda"}, {"NL", "Noord-Holland", "Amsterdam"},
    {"CA", "Ontario", "Toronto"}};
static const char *const units[] = {
    "IT", "Platform", "Payments", "SRE", "Security", "Marketing"};

#define PICK(r, a) (a)[below((r), sizeof(a) / sizeof((a)[0]))]

struct pool {
	struct spki keys[K_N][POOL];
};

/* Writes leaf idx's TBSCertificate and returns its issuer. not_after is
 * uniform over [now - 90d, now + 825d]: ~3% expire within 30 days, ~10%
 * have expired. */
static struct ca *
leaf_tbs(struct der *d, long idx, struct ca *cas, const struct pool *pool,
    int64_t now)
{
	struct rng r = {mix((uint64_t)idx)};
	enum ktype kt = (enum ktype)((idx - GEN_N_CA) % K_N);
	struct ca *issuer = &cas[1 + below(&r, GEN_N_INTERMEDIATES)];
	const struct spki *key = &pool->keys[kt][below(&r, POOL)];
	int o = (int)below(&r, sizeof(orgs) / sizeof(orgs[0]));
	int form = (int)below(&r, 100), nsan = 1 + (int)below(&r, 4);
	int64_t not_after, life, min_life;
	uint64_t low = mix((uint64_t)idx ^ 0x5e71a1);
	char domain[96], host[4][128];
	uint8_t ser[16];

	/* Unique per certificate through the bijection; positive. */
	ser[0] = (uint8_t)(1 + below(&r, 0x7e));
	for (int i = 1; i < 8; i++)
		ser[i] = (uint8_t)below(&r, 256);
	for (int i = 0; i < 8; i++)
		ser[8 + i] = (uint8_t)(low >> (56 - 8 * i));
	snprintf(domain, sizeof(domain), "%s%u.%s", orgs[o], below(&r, 400),
	    PICK(&r, tlds));
	for (int i = 0; i < nsan; i++) {
		unsigned int v = below(&r, 40);
		const char *w = PICK(&r, words);

		if (i == 0 && v < 3)
			snprintf(host[i], sizeof(host[i]), "*.%s", domain);
		else if (v < 20)
			snprintf(host[i], sizeof(host[i]), "%s.%s", w, domain);
		else
			snprintf(host[i], sizeof(host[i]), "%s-%u.%s", w,
			    below(&r, 1000), domain);
	}
	not_after = now - 90 * DAY + (int64_t)below(&r, 915 * DAY);
	/* Lifetimes: ACME's 90 days, the CA/B maximum of 398, or anything. */
	if (form < 45)
		life = 90 * DAY;
	else if (form < 80)
		life = 398 * DAY;
	else
		life = (7 + below(&r, 819)) * (int64_t)DAY;
	/* Nothing is issued in the future: not_before is at least an hour
	 * old, spread over two months rather than all at generation time. */
	min_life = not_after - now + 3600;
	if (life < min_life)
		life = min_life + (int64_t)below(&r, 60 * DAY);

	d->len = 0;
	der_begin(d, 0x30);
	der_put(d, "\xa0\x03\x02\x01\x02", 5);
	der_tlv(d, 0x02, ser, sizeof(ser));
	sig_alg(d, issuer);
	der_put(d, issuer->name.p, issuer->name.len);
	der_begin(d, 0x30);
	der_time(d, not_after - life);
	der_time(d, not_after);
	der_end(d);
	/* Subjects: CN only (DV), full OV, or organisation and unit. */
	der_begin(d, 0x30);
	if (form >= 55 && form < 85) {
		const char *const *pl = PICK(&r, places);
		DER_ATTR(d, oid_c, pl[0]);
		DER_ATTR(d, oid_st, pl[1]);
		DER_ATTR(d, oid_l, pl[2]);
		DER_ATTR(d, oid_o, org_names[o]);
	} else if (form >= 85) {
		DER_ATTR(d, oid_c, PICK(&r, places)[0]);
		DER_ATTR(d, oid_o, org_names[o]);
		DER_ATTR(d, oid_ou, PICK(&r, units));
	}
	DER_ATTR(d, oid_cn, host[0]);
	der_end(d);
	der_put(d, key->der, key->len);

	der_begin(d, 0xa3);
	der_begin(d, 0x30);
	EXT_BEGIN(d, oid_ku, true);
	/* RSA: digitalSignature and keyEncipherment; others: the first. */
	der_put(d, kt == K_RSA ? "\x03\x02\x05\xa0" : "\x03\x02\x07\x80", 4);
	ext_end(d);
	EXT_BEGIN(d, oid_eku, false);
	der_begin(d, 0x30);
	DER_OID(d, oid_server_auth);
	if (below(&r, 10) < 4)
		DER_OID(d, oid_client_auth);
	der_end(d);
	ext_end(d);
	EXT_BEGIN(d, oid_bc, true);
	der_put(d, "\x30\x00", 2); /* cA FALSE is the default: empty */
	ext_end(d);
	EXT_BEGIN(d, oid_ski, false);
	der_tlv(d, 0x04, key->ski, 20);
	ext_end(d);
	EXT_BEGIN(d, oid_aki, false);
	der_begin(d, 0x30);
	der_tlv(d, 0x80, issuer->spki.ski, 20);
	der_end(d);
	ext_end(d);
	EXT_BEGIN(d, oid_aia, false);
	der_begin(d, 0x30);
	uri_ext(d, oid_ocsp, sizeof(oid_ocsp), "ocsp", issuer->slug, "ocsp");
	uri_ext(d, oid_ca_issuers, sizeof(oid_ca_issuers), "pki", issuer->slug,
	    "crt");
	der_end(d);
	ext_end(d);
	EXT_BEGIN(d, oid_san, false);
	der_begin(d, 0x30);
	for (int i = 0; i < nsan; i++)
		der_tlv(d, 0x82, host[i], strlen(host[i]));
	if (below(&r, 100) < 15) {
		uint8_t ip[16] = {10, (uint8_t)below(&r, 256),
		    (uint8_t)below(&r, 256), (uint8_t)(1 + below(&r, 254))};
		der_tlv(d, 0x87, ip, 4);
	} else if (below(&r, 100) < 3) {
		uint8_t ip6[16] = {0xfd, 0x00, 0xce, 0x27};
		ip6[15] = (uint8_t)(1 + below(&r, 254));
		der_tlv(d, 0x87, ip6, 16);
	}
	der_end(d);
	ext_end(d);
	EXT_BEGIN(d, oid_policies, false);
	der_begin(d, 0x30);
	der_begin(d, 0x30);
	if (form >= 55)
		DER_OID(d, oid_ov);
	else
		DER_OID(d, oid_dv);
	der_end(d);
	der_end(d);
	ext_end(d);
	EXT_BEGIN(d, oid_crldp, false);
	der_begin(d, 0x30);
	uri_ext(d, oid_crldp, sizeof(oid_crldp), "crl", issuer->slug, "crl");
	der_end(d);
	ext_end(d);
	der_end(d);
	der_end(d);
	der_end(d);
	return issuer;
}

/* ---- output and checks ---- */

static void
pem_add(struct der *pem, const uint8_t *der, size_t n)
{
	unsigned char line[80];

	der_put(pem, "-----BEGIN CERTIFICATE-----\n", 28);
	for (size_t i = 0; i < n; i += 48) {
		int k = EVP_EncodeBlock(
		    line, der + i, n - i < 48 ? (int)(n - i) : 48);
		line[k] = '\n';
		der_put(pem, line, (size_t)k + 1);
	}
	der_put(pem, "-----END CERTIFICATE-----\n", 26);
}

/* CAs are CAs; leaves are not, have the key type of their third, and
 * their CN is their first SAN. */
static bool
as_written(const struct ck_cert *c, long idx)
{
	if (idx < GEN_N_CA)
		return c->is_ca;
	return !c->is_ca && c->n_sans > 0 && c->cn != NULL &&
	    strcmp(c->cn, c->sans[0].value) == 0 &&
	    strcmp(c->key_type, ktype_name[(idx - GEN_N_CA) % K_N]) == 0;
}

/* One certificate in every file goes through OpenSSL's own parser, its
 * signature is checked, and ck_x509_parse must agree on what was meant. */
static int
check(const struct der *c, long idx, struct ca *cas)
{
	const unsigned char *p = c->p;
	struct ck_cert *cc = NULL;
	struct ck_err err = {0};
	X509 *x = d2i_X509(NULL, &p, (long)c->len);
	int ok = 0;

	if (x == NULL || p != c->p + c->len) {
		fprintf(stderr, "gen: certificate %ld: d2i_X509 fails\n", idx);
		goto out;
	}
	if (ck_x509_parse(c->p, c->len, CK_PARSE_CORE, &cc, &err) != 0) {
		fprintf(stderr, "gen: certificate %ld: ck_x509_parse: %s\n",
		    idx, ck_err_msg(&err, err.code));
		goto out;
	}
	if (!as_written(cc, idx)) {
		fprintf(stderr, "gen: certificate %ld: not as written (%s)\n",
		    idx, cc->subject);
		goto out;
	}
	for (int i = 0; i < GEN_N_CA; i++) {
		X509_NAME *in = X509_get_issuer_name(x);
		const unsigned char *np = cas[i].name.p;
		X509_NAME *cn = d2i_X509_NAME(NULL, &np, (long)cas[i].name.len);
		int same = cn != NULL && X509_NAME_cmp(in, cn) == 0;

		X509_NAME_free(cn);
		if (same) {
			ok = X509_verify(x, cas[i].key) == 1;
			break;
		}
	}
	if (!ok)
		fprintf(stderr, "gen: certificate %ld: signature fails\n", idx);
out:
	ck_cert_free(cc);
	X509_free(x);
	ERR_clear_error();
	return ok ? 0 : -1;
}

static int
write_file(const char *path, const struct der *pem)
{
	char tmp[4096];
	FILE *f;
	int r = 0;

	bench_pathf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		r = -1;
	else if (fwrite(pem->p, 1, pem->len, f) != pem->len)
		r = -1;
	if (f != NULL && fclose(f) != 0)
		r = -1;
	/* Renamed only once whole, so a killed run leaves no short file. */
	if (r == 0 && rename(tmp, path) != 0)
		r = -1;
	if (r != 0)
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
	return r;
}

static int
worker(const char *dir, long n, int w, int nproc, struct ca *cas, int64_t now)
{
	long nfiles = (n + GEN_PER_FILE - 1) / GEN_PER_FILE;
	struct pool *pool = calloc(1, sizeof(*pool));
	struct der tbs = {0}, cert = {0}, pem = {0};
	char path[4096];
	int r = 0;

	if (pool == NULL)
		abort();
	/* Each worker makes its own half of the pool: RSA keygen is the
	 * slow part of starting, and this splits it. */
	for (int t = 0; t < K_N; t++)
		for (int i = 0; i < POOL; i++) {
			EVP_PKEY *k = keygen((enum ktype)t);
			spki_of(k, &pool->keys[t][i]);
			EVP_PKEY_free(k);
		}
	for (long f = w; f < nfiles && r == 0; f += nproc) {
		long first = f * GEN_PER_FILE, end = first + GEN_PER_FILE;
		long probe;

		if (end > n)
			end = n;
		probe = first + (f * 7) % (end - first);
		pem.len = 0;
		for (long i = first; i < end; i++) {
			const struct der *c = &cas[i < GEN_N_CA ? i : 0].cert;

			if (i >= GEN_N_CA) {
				certificate(&cert, &tbs,
				    leaf_tbs(&tbs, i, cas, pool, now));
				c = &cert;
			}
			pem_add(&pem, c->p, c->len);
			if ((i < GEN_N_CA || i == probe) &&
			    check(c, i, cas) != 0)
				r = -1;
		}
		bench_pathf(path, sizeof(path), "%s/certs/%04ld.pem", dir, f);
		if (r == 0)
			r = write_file(path, &pem);
		/* Worker 0's progress stands for all: they move in step. */
		if (w == 0 && (f / nproc) % 50 == 49)
			fprintf(
			    stderr, "gen: %ld of %ld files\n", f + 1, nfiles);
	}
	for (int t = 0; t < K_N; t++)
		for (int i = 0; i < POOL; i++)
			OPENSSL_free(pool->keys[t][i].der);
	free(pool);
	free(tbs.p);
	free(cert.p);
	free(pem.p);
	return r;
}

/* ---- the cache ---- */

void
bench_pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "bench: path too long: %s...\n", buf);
		exit(1);
	}
}

static int
mkdirs(const char *path)
{
	char p[4096];

	bench_pathf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

bool
gen_cache_complete(const char *dir, long n)
{
	char path[4096];
	long got = -1;
	FILE *f;

	bench_pathf(path, sizeof(path), "%s/%s", dir, MARKER);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	if (fscanf(f, "certkeep bench cache: n=%ld", &got) != 1)
		got = -1;
	fclose(f);
	return got == n;
}

int
gen_cache(const char *dir, long n, int nproc)
{
	struct ca cas[GEN_N_CA];
	int64_t now = (int64_t)time(NULL);
	char path[4096];
	int failed = 0;
	FILE *f;

	memset(cas, 0, sizeof(cas));
	bench_pathf(path, sizeof(path), "%s/%s", dir, MARKER);
	unlink(path);
	bench_pathf(path, sizeof(path), "%s/certs", dir);
	if (mkdirs(path) != 0) {
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	make_cas(cas, now);
	/* Children must not flush what the parent buffered. */
	fflush(NULL);
	for (int w = 0; w < nproc; w++) {
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "gen: fork: %s\n", strerror(errno));
			failed = 1;
			break;
		}
		if (pid == 0)
			_exit(worker(dir, n, w, nproc, cas, now) == 0 ? 0 : 1);
	}
	for (;;) {
		int st;
		pid_t p = wait(&st);

		if (p < 0)
			break;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	for (int i = 0; i < GEN_N_CA; i++) {
		EVP_PKEY_free(cas[i].key);
		OPENSSL_free(cas[i].spki.der);
		free(cas[i].name.p);
		free(cas[i].cert.p);
	}
	if (failed) {
		fprintf(stderr, "gen: a worker failed\n");
		return -1;
	}
	bench_pathf(path, sizeof(path), "%s/%s", dir, MARKER);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "certkeep bench cache: n=%ld files=%ld generated=%lld\n", n,
	    (n + GEN_PER_FILE - 1) / GEN_PER_FILE, (long long)now);
	return fclose(f) == 0 ? 0 : -1;
}
