/*
 * The OCSP responder of the built-in CAs (RFC 6960, the RFC 5019 profile):
 * request parsing, status from the store, and signing by a delegated
 * responder certificate that the CA issues to certkeep and renews itself.
 */
#include "ca/ca.h"
#include "ca/ca_int.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "base/mem.h"
#include "x509/x509.h"

static void
serial_hex(const ASN1_INTEGER *sn, char *out, size_t cap)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;

	for (int i = 0; i < sn->length && o + 2 < cap; i++) {
		out[o++] = hx[sn->data[i] >> 4];
		out[o++] = hx[sn->data[i] & 15];
	}
	out[o] = '\0';
}

/* Parses der into out and, when keep is not NULL, hands the decoded
 * request to the caller (OCSP_REQUEST_free) so that it is read once. */
static int
parse_request(const uint8_t *der, size_t len, struct ck_ocsp_request *out,
    OCSP_REQUEST **keep, struct ck_err *err)
{
	const unsigned char *p = der;
	OCSP_REQUEST *req;
	int n, r = 0;

	memset(out, 0, sizeof(*out));
	if (keep != NULL)
		*keep = NULL;
	if (len > 65536)
		return ck_err_set(
		    err, CK_E_TOO_LARGE, "OCSP request too large");
	if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		OCSP_REQUEST_free(req);
		ERR_clear_error();
		return ck_err_set(err, CK_E_PARSE, "OCSP request is malformed");
	}
	n = OCSP_request_onereq_count(req);
	if (n <= 0)
		r = ck_err_set(err, CK_E_PARSE, "OCSP request asks nothing");
	else if (n > CK_OCSP_MAX_QUERIES)
		r = ck_err_set(err, CK_E_TOO_LARGE,
		    "OCSP request asks about %d certificates (at most %d)", n,
		    CK_OCSP_MAX_QUERIES);
	for (int i = 0; r == 0 && i < n; i++) {
		OCSP_CERTID *cid =
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
		ASN1_OBJECT *md = NULL;
		ASN1_INTEGER *sn = NULL;

		if (!OCSP_id_get0_info(NULL, &md, NULL, &sn, cid) ||
		    sn == NULL) {
			r = ck_err_set(
			    err, CK_E_PARSE, "OCSP CertID is malformed");
			break;
		}
		OBJ_obj2txt(
		    out->q[i].hash_alg, sizeof(out->q[i].hash_alg), md, 0);
		serial_hex(sn, out->q[i].serial, sizeof(out->q[i].serial));
		out->n++;
	}
	out->has_nonce =
	    OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1) >= 0;
	if (r == 0 && keep != NULL)
		*keep = req;
	else
		OCSP_REQUEST_free(req);
	ERR_clear_error();
	return r;
}

int
ck_ocsp_request_parse(const uint8_t *der, size_t len,
    struct ck_ocsp_request *out, struct ck_err *err)
{
	return parse_request(der, len, out, NULL, err);
}

/*
 * What a CertID is matched against: each CA's subject Name (DER) and public
 * key bits. Reading them means decoding the CA certificate, whose key
 * decode costs more than signing an answer, so they are kept per process,
 * found again by the CA's certificate row and sealed key. The sealed key
 * (random nonce and ciphertext) tells two databases' CAs apart.
 */
struct ca_ids {
	uint8_t *sealed;
	size_t sealed_len;
	int64_t cert_id;
	struct ck_buf name; /* DER */
	struct ck_buf key; /* subjectPublicKey bits */
	/* their SHA-1, what RFC 5019 CertIDs carry: hashed once, not for
	 * every request and every CA */
	uint8_t name_sha1[20], key_sha1[20];
};

#define MAX_IDS 64
static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ca_ids ids[MAX_IDS];
static int ids_next;

static void
ids_release(struct ca_ids *m)
{
	free(m->sealed);
	ck_buf_release(&m->name);
	ck_buf_release(&m->key);
	memset(m, 0, sizeof(*m));
}

/*
 * The responder in use per CA (found by its sealed key, as above) and
 * master key: reading it from the store and opening it costs more than
 * the answer's signature. Used until it is due for renewal, as one read
 * from the store would be; another process renewing it meanwhile changes
 * nothing, since the one kept is still valid.
 */
struct resp_memo {
	uint8_t *ca_sealed;
	size_t ca_sealed_len;
	int64_t ca_id;
	uint8_t mk[CK_MASTER_KEY_LEN];
	X509 *cert;
	EVP_PKEY *key;
	int64_t not_before, not_after;
};

static struct resp_memo resps[MAX_IDS];
static int resps_next;

static void
resp_release(struct resp_memo *m)
{
	free(m->ca_sealed);
	X509_free(m->cert);
	EVP_PKEY_free(m->key);
	ck_cleanse(m, sizeof(*m));
}

void
ca_ocsp_cache_clear(void)
{
	pthread_mutex_lock(&ids_lock);
	for (int i = 0; i < MAX_IDS; i++) {
		ids_release(&ids[i]);
		resp_release(&resps[i]);
	}
	ids_next = resps_next = 0;
	pthread_mutex_unlock(&ids_lock);
}

/* Every CA, with what its CertIDs carry. */
struct ca_entry {
	int64_t id;
	char *name;
	struct ck_buf sealed; /* the CA's key, sealed: which CA this is */
	struct ck_buf name_der, key;
	uint8_t name_sha1[20], key_sha1[20];
	bool ok; /* false when its certificate could not be read */
};
struct cas {
	struct ck_store *st;
	struct ca_entry v[64];
	int n;
};

static bool
ids_find(const struct ck_ca_row *ca, struct ca_entry *e)
{
	bool found = false;

	pthread_mutex_lock(&ids_lock);
	for (int i = 0; i < MAX_IDS && !found; i++) {
		struct ca_ids *m = &ids[i];
		if (m->sealed == NULL || m->cert_id != ca->cert_id ||
		    m->sealed_len != ca->key_sealed_len ||
		    memcmp(m->sealed, ca->key_sealed, m->sealed_len) != 0)
			continue;
		ck_buf_add(&e->name_der, m->name.p, m->name.len);
		ck_buf_add(&e->key, m->key.p, m->key.len);
		memcpy(e->name_sha1, m->name_sha1, 20);
		memcpy(e->key_sha1, m->key_sha1, 20);
		found = true;
	}
	pthread_mutex_unlock(&ids_lock);
	return found;
}

static void
ids_add(const struct ck_ca_row *ca, const struct ca_entry *e)
{
	struct ca_ids *m;

	pthread_mutex_lock(&ids_lock);
	m = &ids[ids_next];
	ids_next = (ids_next + 1) % MAX_IDS;
	ids_release(m);
	m->sealed = ck_memdup(ca->key_sealed, ca->key_sealed_len);
	m->sealed_len = ca->key_sealed_len;
	m->cert_id = ca->cert_id;
	ck_buf_add(&m->name, e->name_der.p, e->name_der.len);
	ck_buf_add(&m->key, e->key.p, e->key.len);
	memcpy(m->name_sha1, e->name_sha1, 20);
	memcpy(m->key_sha1, e->key_sha1, 20);
	pthread_mutex_unlock(&ids_lock);
}

static int
on_ca(void *ctx, const struct ck_ca_row *ca)
{
	struct cas *c = ctx;
	struct ca_entry *e;
	X509 *x = NULL;

	if (c->n == 64)
		return 0;
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	e->id = ca->id;
	e->name = ck_strdup(ca->name);
	ck_buf_init(&e->name_der);
	ck_buf_init(&e->key);
	ck_buf_init(&e->sealed);
	ck_buf_add(&e->sealed, ca->key_sealed, ca->key_sealed_len);
	if (ids_find(ca, e)) {
		e->ok = true;
		return 0;
	}
	ck_store_cert_get(c->st, ca->cert_id, ca_row_x509, &x, NULL);
	if (x != NULL) {
		const ASN1_BIT_STRING *k = X509_get0_pubkey_bitstr(x);
		unsigned char *der = NULL;
		int len = i2d_X509_NAME(X509_get_subject_name(x), &der);

		if (len > 0 && k != NULL) {
			ck_buf_add(&e->name_der, der, (size_t)len);
			ck_buf_add(&e->key, k->data, (size_t)k->length);
			SHA1(der, (size_t)len, e->name_sha1);
			SHA1(k->data, (size_t)k->length, e->key_sha1);
			e->ok = true;
			ids_add(ca, e);
		}
		OPENSSL_free(der);
		X509_free(x);
	}
	ERR_clear_error();
	return 0;
}

static void
cas_release(struct cas *c)
{
	for (int i = 0; i < c->n; i++) {
		free(c->v[i].name);
		ck_buf_release(&c->v[i].sealed);
		ck_buf_release(&c->v[i].name_der);
		ck_buf_release(&c->v[i].key);
	}
	c->n = 0;
}

static bool
hash_is(
    const EVP_MD *md, const struct ck_buf *data, const ASN1_OCTET_STRING *want)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	return EVP_Digest(data->p, data->len, h, &n, md, NULL) == 1 &&
	    want != NULL && (int)n == want->length &&
	    memcmp(h, want->data, n) == 0;
}

/* The CA whose name and key hash the CertID carries, or NULL: what
 * OCSP_id_issuer_cmp would say, without a certificate to hand. */
static struct ca_entry *
match_ca(struct cas *c, OCSP_CERTID *cid)
{
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	ASN1_OBJECT *md_obj = NULL;
	const EVP_MD *md;

	OCSP_id_get0_info(&name_hash, &md_obj, &key_hash, NULL, cid);
	if ((md = EVP_get_digestbyobj(md_obj)) == NULL)
		return NULL;
	if (EVP_MD_get_type(md) == NID_sha1) {
		if (name_hash == NULL || key_hash == NULL ||
		    name_hash->length != 20 || key_hash->length != 20)
			return NULL;
		for (int i = 0; i < c->n; i++)
			if (c->v[i].ok &&
			    memcmp(c->v[i].name_sha1, name_hash->data, 20) ==
			        0 &&
			    memcmp(c->v[i].key_sha1, key_hash->data, 20) == 0)
				return &c->v[i];
		return NULL;
	}
	for (int i = 0; i < c->n; i++)
		if (c->v[i].ok && hash_is(md, &c->v[i].name_der, name_hash) &&
		    hash_is(md, &c->v[i].key, key_hash))
			return &c->v[i];
	return NULL;
}

/* Makes (or renews) the CA's delegated responder and stores it. */
static int
make_responder(struct ck_store *st, const uint8_t mk[CK_MASTER_KEY_LEN],
    const struct ca_entry *ca, X509 **rcert, EVP_PKEY **rkey,
    struct ck_err *err)
{
	struct ca_loaded l = {0};
	struct ck_buf sealed = CK_BUF_INIT, aad = CK_BUF_INIT, cn = CK_BUF_INIT;
	X509 *cacert = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL, *kder = NULL;
	struct ck_cert *c = NULL;
	int64_t now = ck_now(), end, cert_id;
	struct tm tm;
	bool is_new, tx = false;
	int len = 0, klen = 0, r;
	char detail[200];

	if ((r = ca_load(st, mk, ca->name, &l, &cacert, &cakey, err)) != 0)
		goto out;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	ASN1_TIME_to_tm(X509_get0_notAfter(cacert), &tm);
	end = now + CK_OCSP_RESPONDER_DAYS * 86400;
	if (end > (int64_t)timegm(&tm))
		end = (int64_t)timegm(&tm);
	ck_buf_printf(&cn, "%s OCSP Responder", ca->name);
	if (key == NULL || (r = ca_set_serial(x, err)) != 0 ||
	    !X509_set_version(x, 2) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	        MBSTRING_UTF8, (const unsigned char *)cn.p, -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(cacert)) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - 60)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)end) ||
	    !X509_set_pubkey(x, key)) {
		r = r ? r : ca_ossl_err(err, CK_E_CRYPTO, "OCSP responder");
		goto out;
	}
	if ((r = ca_add_ext(x, cacert, NID_basic_constraints,
	         "critical,CA:FALSE", err)) != 0 ||
	    (r = ca_add_ext(x, cacert, NID_key_usage,
	         "critical,digitalSignature", err)) != 0 ||
	    (r = ca_add_ext(
	         x, cacert, NID_ext_key_usage, "OCSPSigning", err)) != 0 ||
	    (r = ca_add_ext(
	         x, cacert, NID_id_pkix_OCSP_noCheck, "ignored", err)) != 0 ||
	    (r = ca_add_ext(
	         x, cacert, NID_subject_key_identifier, "hash", err)) != 0 ||
	    (r = ca_add_ext(x, cacert, NID_authority_key_identifier,
	         "keyid:always", err)) != 0)
		goto out;
	if (X509_sign(x, cakey, ca_digest_for(l.key_type)) <= 0 ||
	    (len = i2d_X509(x, &der)) <= 0 ||
	    (p8 = EVP_PKEY2PKCS8(key)) == NULL ||
	    (klen = i2d_PKCS8_PRIV_KEY_INFO(p8, &kder)) <= 0) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "OCSP responder");
		goto out;
	}
	ck_buf_printf(&aad, "certkeep ocsp key:%s", ca->name);
	if ((r = ck_seal(mk, aad.p, kder, (size_t)klen, &sealed, err)) != 0 ||
	    (r = ck_x509_parse(der, (size_t)len, CK_PARSE_CORE, &c, err)) !=
	        0 ||
	    (r = ck_store_begin(st, err)) != 0)
		goto out;
	tx = true;
	snprintf(
	    detail, sizeof(detail), "CA %s, serial %s", ca->name, c->serial);
	if ((r = ck_store_cert_put(st, c, now, &cert_id, &is_new, err)) != 0 ||
	    (r = ck_store_issued_add(st, cert_id, l.id, c->serial,
	         "ocsp-responder", "certkeep", err)) != 0 ||
	    (r = ck_store_responder_set(st, l.id, cert_id,
	         (const uint8_t *)sealed.p, sealed.len, end, err)) != 0 ||
	    (r = ck_store_event_add(st, "certkeep", "ocsp.responder", ca->name,
	         detail, err)) != 0 ||
	    (r = ck_store_commit(st, err)) != 0)
		goto out;
	tx = false;
	*rcert = x;
	*rkey = key;
	x = NULL;
	key = NULL;
out:
	if (tx)
		ck_store_rollback(st);
	if (kder != NULL)
		OPENSSL_clear_free(kder, (size_t)klen);
	OPENSSL_free(der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	ck_cert_free(c);
	ck_buf_release(&sealed);
	ck_buf_release(&aad);
	ck_buf_release(&cn);
	ca_loaded_release(&l);
	X509_free(cacert);
	X509_free(x);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return r;
}

/* The responder certificate and key of ca, made or renewed when due. */
static int
responder(struct ck_store *st, const uint8_t mk[CK_MASTER_KEY_LEN],
    const struct ca_entry *ca, X509 **rcert, EVP_PKEY **rkey,
    struct ck_err *err)
{
	uint8_t *cder = NULL, *sealed = NULL;
	size_t clen, slen;
	int64_t not_after;
	struct ck_buf aad = CK_BUF_INIT;
	int r;

	r = ck_store_responder_get(
	    st, ca->id, &cder, &clen, &sealed, &slen, &not_after, NULL);
	if (r == CK_E_NOTFOUND ||
	    (r == 0 && not_after - ck_now() < CK_OCSP_RESPONDER_RENEW)) {
		free(cder);
		free(sealed);
		return make_responder(st, mk, ca, rcert, rkey, err);
	}
	if (r != 0)
		return ck_store_responder_get(
		    st, ca->id, &cder, &clen, &sealed, &slen, &not_after, err);
	ck_buf_printf(&aad, "certkeep ocsp key:%s", ca->name);
	r = ca_signer_open(
	    mk, aad.p, sealed, slen, cder, clen, false, rcert, rkey, err);
	ck_buf_release(&aad);
	free(cder);
	free(sealed);
	if (r != 0)
		return r;
	/* A clock set back (or a responder made "in the future") must not
	 * leave us signing with a certificate that is not yet valid. */
	if (X509_cmp_time(X509_get0_notBefore(*rcert), &(time_t){ck_now()}) >
	    0) {
		X509_free(*rcert);
		EVP_PKEY_free(*rkey);
		*rcert = NULL;
		*rkey = NULL;
		return make_responder(st, mk, ca, rcert, rkey, err);
	}
	return 0;
}

static bool
resp_find(const struct ca_entry *ca, const uint8_t mk[CK_MASTER_KEY_LEN],
    int64_t now, X509 **cert, EVP_PKEY **key)
{
	bool found = false;

	pthread_mutex_lock(&ids_lock);
	for (int i = 0; i < MAX_IDS && !found; i++) {
		struct resp_memo *m = &resps[i];
		if (m->cert == NULL || m->ca_id != ca->id ||
		    m->ca_sealed_len != ca->sealed.len ||
		    memcmp(m->ca_sealed, ca->sealed.p, ca->sealed.len) != 0 ||
		    CRYPTO_memcmp(m->mk, mk, CK_MASTER_KEY_LEN) != 0 ||
		    now < m->not_before ||
		    m->not_after - now < CK_OCSP_RESPONDER_RENEW)
			continue;
		X509_up_ref(m->cert);
		EVP_PKEY_up_ref(m->key);
		*cert = m->cert;
		*key = m->key;
		found = true;
	}
	pthread_mutex_unlock(&ids_lock);
	return found;
}

static void
resp_add(const struct ca_entry *ca, const uint8_t mk[CK_MASTER_KEY_LEN],
    X509 *cert, EVP_PKEY *key)
{
	struct resp_memo *m, old;
	struct tm nb, na;
	int slot = -1;

	if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &nb) != 1 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(cert), &na) != 1)
		return; /* not kept: read from the store next time */
	pthread_mutex_lock(&ids_lock);
	for (int i = 0; i < MAX_IDS && slot < 0; i++)
		if (resps[i].cert != NULL && resps[i].ca_id == ca->id &&
		    resps[i].ca_sealed_len == ca->sealed.len &&
		    memcmp(resps[i].ca_sealed, ca->sealed.p, ca->sealed.len) ==
		        0)
			slot = i;
	if (slot < 0) {
		slot = resps_next;
		resps_next = (resps_next + 1) % MAX_IDS;
	}
	m = &resps[slot];
	old = *m;
	m->ca_sealed = ck_memdup(ca->sealed.p, ca->sealed.len);
	m->ca_sealed_len = ca->sealed.len;
	m->ca_id = ca->id;
	memcpy(m->mk, mk, CK_MASTER_KEY_LEN);
	X509_up_ref(cert);
	EVP_PKEY_up_ref(key);
	m->cert = cert;
	m->key = key;
	m->not_before = (int64_t)timegm(&nb);
	m->not_after = (int64_t)timegm(&na);
	pthread_mutex_unlock(&ids_lock);
	resp_release(&old);
}

static int
plain_response(int status, uint8_t **resp, size_t *resp_len)
{
	OCSP_RESPONSE *o = OCSP_response_create(status, NULL);
	unsigned char *der = NULL;
	int len = o ? i2d_OCSP_RESPONSE(o, &der) : -1;

	OCSP_RESPONSE_free(o);
	if (len <= 0)
		return CK_E_CRYPTO;
	*resp = ck_memdup(der, (size_t)len);
	*resp_len = (size_t)len;
	OPENSSL_free(der);
	return 0;
}

int
ck_ocsp_respond(struct ck_store *st, const char *ca, const char *master_key,
    const uint8_t *req_der, size_t req_len, uint8_t **resp, size_t *resp_len,
    struct ck_err *err)
{
	struct ck_ocsp_request parsed;
	struct cas cas = {st, {{0}}, 0};
	struct ca_entry *who = NULL;
	uint8_t mk[CK_MASTER_KEY_LEN];
	OCSP_REQUEST *req = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *o = NULL;
	X509 *rcert = NULL;
	EVP_PKEY *rkey = NULL;
	ASN1_TIME *now_t = NULL, *next_t = NULL;
	unsigned char *der = NULL;
	int64_t now = ck_now();
	int r = 0, len;
	bool have_mk = false, cacheable = false;

	*resp = NULL;
	*resp_len = 0;
	if (parse_request(req_der, req_len, &parsed, &req, NULL) != 0) {
		ERR_clear_error();
		return plain_response(
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, resp, resp_len);
	}
	if ((r = ck_store_ca_list(st, on_ca, &cas, err)) != 0)
		goto out;
	/* All the certificates asked about must be one CA's. */
	for (int i = 0; i < OCSP_request_onereq_count(req); i++) {
		struct ca_entry *e = match_ca(&cas,
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)));
		if (e == NULL || (who != NULL && e != who) ||
		    (ca != NULL && strcmp(e->name, ca) != 0)) {
			r = plain_response(
			    OCSP_RESPONSE_STATUS_UNAUTHORIZED, resp, resp_len);
			goto out;
		}
		who = e;
	}
	/* RFC 5019: one certificate, no nonce, so the answer can be served
	 * from the cache until half its validity is gone. */
	cacheable = parsed.n == 1 && !parsed.has_nonce;
	if (cacheable) {
		int64_t this_update;
		uint8_t *cached;
		size_t clen;

		if ((r = ck_store_ocsp_cache_get(st, who->id,
		         parsed.q[0].hash_alg, parsed.q[0].serial, &this_update,
		         &cached, &clen, err)) != 0)
			goto out;
		if (cached != NULL && now >= this_update &&
		    now < this_update + CK_OCSP_VALIDITY / 2) {
			*resp = cached;
			*resp_len = clen;
			goto out;
		}
		free(cached);
	}
	if ((r = ca_master_key(ck_master_key_path(master_key), mk, err)) != 0)
		goto out;
	have_mk = true;
	if (!resp_find(who, mk, now, &rcert, &rkey)) {
		if ((r = responder(st, mk, who, &rcert, &rkey, err)) != 0)
			goto out;
		resp_add(who, mk, rcert, rkey);
	}
	bs = OCSP_BASICRESP_new();
	now_t = ASN1_TIME_set(NULL, (time_t)now);
	next_t = ASN1_TIME_set(NULL, (time_t)(now + CK_OCSP_VALIDITY));
	for (int i = 0; i < OCSP_request_onereq_count(req); i++) {
		OCSP_CERTID *cid =
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
		int status, reason;
		int64_t revoked_at;
		ASN1_TIME *rt = NULL;

		if ((r = ck_store_serial_status(st, who->id, parsed.q[i].serial,
		         &status, &revoked_at, &reason, err)) != 0)
			goto out;
		if (status == 1)
			rt = ASN1_TIME_set(NULL, (time_t)revoked_at);
		if (OCSP_basic_add1_status(bs, cid,
		        status == 0       ? V_OCSP_CERTSTATUS_GOOD
		            : status == 1 ? V_OCSP_CERTSTATUS_REVOKED
		                          : V_OCSP_CERTSTATUS_UNKNOWN,
		        status == 1 && reason != 0
		            ? reason
		            : OCSP_REVOKED_STATUS_NOSTATUS,
		        rt, now_t, next_t) == NULL) {
			ASN1_TIME_free(rt);
			r = ca_ossl_err(err, CK_E_CRYPTO, "OCSP status");
			goto out;
		}
		ASN1_TIME_free(rt);
	}
	if (parsed.has_nonce && OCSP_copy_nonce(bs, req) <= 0) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "OCSP nonce");
		goto out;
	}
	if (!OCSP_basic_sign(bs, rcert, rkey, EVP_sha256(), NULL, 0) ||
	    (o = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) ==
	        NULL ||
	    (len = i2d_OCSP_RESPONSE(o, &der)) <= 0) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "signing the OCSP response");
		goto out;
	}
	*resp = ck_memdup(der, (size_t)len);
	*resp_len = (size_t)len;
	/* A cache that cannot be written costs speed, not the answer. */
	if (cacheable)
		(void)ck_store_ocsp_cache_put(st, who->id, parsed.q[0].hash_alg,
		    parsed.q[0].serial, now, der, (size_t)len, NULL);
out:
	if (have_mk)
		ck_cleanse(mk, sizeof(mk));
	OPENSSL_free(der);
	OCSP_RESPONSE_free(o);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(req);
	ASN1_TIME_free(now_t);
	ASN1_TIME_free(next_t);
	X509_free(rcert);
	EVP_PKEY_free(rkey);
	cas_release(&cas);
	ERR_clear_error();
	return r;
}
