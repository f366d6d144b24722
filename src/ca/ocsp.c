/*
 * The OCSP responder of the built-in CAs (RFC 6960, the RFC 5019 profile):
 * request parsing, status from the store, and signing by a delegated
 * responder certificate that the CA issues to certkeep and renews itself.
 */
#include "ca/ca.h"
#include "ca/ca_int.h"

#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
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

int
ck_ocsp_request_parse(const uint8_t *der, size_t len,
    struct ck_ocsp_request *out, struct ck_err *err)
{
	const unsigned char *p = der;
	OCSP_REQUEST *req;
	int n, r = 0;

	memset(out, 0, sizeof(*out));
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
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return r;
}

/* Every CA, with its certificate, to find the one a CertID names. */
struct ca_entry {
	int64_t id;
	char *name;
	X509 *cert;
};
struct cas {
	struct ck_store *st;
	struct ca_entry v[64];
	int n;
};

static int
on_ca(void *ctx, const struct ck_ca_row *ca)
{
	struct cas *c = ctx;

	if (c->n == 64)
		return 0;
	c->v[c->n].id = ca->id;
	c->v[c->n].name = ck_strdup(ca->name);
	c->v[c->n].cert = NULL;
	ck_store_cert_get(
	    c->st, ca->cert_id, ca_row_x509, &c->v[c->n].cert, NULL);
	c->n++;
	return 0;
}

static void
cas_release(struct cas *c)
{
	for (int i = 0; i < c->n; i++) {
		free(c->v[i].name);
		X509_free(c->v[i].cert);
	}
	c->n = 0;
}

/* The CA whose name and key hash the CertID carries, or NULL. */
static struct ca_entry *
match_ca(struct cas *c, OCSP_CERTID *cid)
{
	ASN1_OBJECT *md_obj = NULL;
	ASN1_INTEGER *sn = NULL;
	const EVP_MD *md;

	OCSP_id_get0_info(NULL, &md_obj, NULL, &sn, cid);
	if ((md = EVP_get_digestbyobj(md_obj)) == NULL)
		return NULL;
	for (int i = 0; i < c->n; i++) {
		OCSP_CERTID *mine;
		int cmp;

		if (c->v[i].cert == NULL)
			continue;
		mine = OCSP_cert_id_new(md, X509_get_subject_name(c->v[i].cert),
		    X509_get0_pubkey_bitstr(c->v[i].cert), sn);
		cmp = mine ? OCSP_id_issuer_cmp(mine, cid) : -1;
		OCSP_CERTID_free(mine);
		if (cmp == 0)
			return &c->v[i];
	}
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
	const unsigned char *p = req_der;
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
	if (ck_ocsp_request_parse(req_der, req_len, &parsed, NULL) != 0 ||
	    (req = d2i_OCSP_REQUEST(NULL, &p, (long)req_len)) == NULL) {
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
	if ((r = responder(st, mk, who, &rcert, &rkey, err)) != 0)
		goto out;
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
