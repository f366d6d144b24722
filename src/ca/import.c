/*
 * Adopting an existing CA (ca import): check that certificate and key
 * belong together and can issue, seal the key, record both.
 */
#include "ca/ca.h"
#include "ca/ca_int.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "base/mem.h"
#include "x509/x509.h"

/* The certkeep key type name of key, or NULL when certkeep cannot sign
 * with it. */
static const char *
key_type_of(EVP_PKEY *key)
{
	char group[32];
	size_t len;

	if (EVP_PKEY_is_a(key, "ED25519"))
		return "ed25519";
	if (EVP_PKEY_is_a(key, "RSA")) {
		int bits = EVP_PKEY_get_bits(key);
		return bits == 3072 ? "rsa-3072"
		    : bits == 4096  ? "rsa-4096"
		                    : NULL;
	}
	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(
	        key, "group", group, sizeof(group), &len)) {
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			return "ec-p256";
		if (strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "P-384") == 0)
			return "ec-p384";
	}
	return NULL;
}

static EVP_PKEY *
read_key(const uint8_t *p, size_t n)
{
	BIO *b = BIO_new_mem_buf(p, (int)n);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
	const unsigned char *q = p;

	BIO_free(b);
	if (k == NULL)
		k = d2i_AutoPrivateKey(NULL, &q, (long)n);
	ERR_clear_error();
	return k;
}

struct parent_search {
	struct ck_store *st;
	X509 *child;
	int64_t parent_id;
};

static int
try_parent(void *ctx, const struct ck_ca_row *ca)
{
	struct parent_search *ps = ctx;
	X509 *pc = NULL;

	if (ps->parent_id != 0)
		return 0;
	ck_store_cert_get(ps->st, ca->cert_id, ca_row_x509, &pc, NULL);
	if (pc != NULL && X509_check_issued(pc, ps->child) == X509_V_OK &&
	    X509_verify(ps->child, X509_get0_pubkey(pc)) == 1)
		ps->parent_id = ca->id;
	X509_free(pc);
	ERR_clear_error();
	return 0;
}

int
ck_ca_import(
    struct ck_store *st, const struct ck_ca_import_opts *o, struct ck_err *err)
{
	const unsigned char *p = o->cert;
	uint8_t mk[CK_MASTER_KEY_LEN];
	struct parent_search ps = {st, NULL, 0};
	struct ck_buf sealed = CK_BUF_INIT;
	struct ck_ca_row row = {0};
	struct ck_cert *c = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *kder = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	const char *kt;
	char aad[300], detail[300];
	int64_t cert_id, id;
	int r, klen = 0, n_cas = 0;
	bool is_new, tx = false, have_mk = false;

	if (o->name == NULL || *o->name == '\0' || strlen(o->name) > 64 ||
	    strpbrk(o->name, " /\\\t\n") != NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "CA name must be 1 to 64 characters without spaces or "
		    "slashes");
	r = ck_store_ca_get(st, o->name, ca_row_count, &n_cas, NULL);
	if (r == 0)
		return ck_err_set(err, CK_E_EXISTS,
		    "a CA called '%s' exists already", o->name);
	if (r != CK_E_NOTFOUND)
		return r;
	if ((x = d2i_X509(NULL, &p, (long)o->cert_len)) == NULL) {
		r = ca_ossl_err(err, CK_E_INVAL, "CA certificate");
		goto out;
	}
	if (X509_check_ca(x) == 0 ||
	    ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
	        !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))) {
		r = ck_err_set(err, CK_E_INVAL,
		    "the certificate is not a CA certificate (basic "
		    "constraints CA:TRUE and keyCertSign needed)");
		goto out;
	}
	if ((key = read_key(o->key, o->key_len)) == NULL) {
		r = ck_err_set(err, CK_E_INVAL,
		    "the key cannot be read (an unencrypted PEM or DER private "
		    "key is needed)");
		goto out;
	}
	if (X509_check_private_key(x, key) != 1) {
		ERR_clear_error();
		r = ck_err_set(err, CK_E_INVAL,
		    "the key does not belong to the certificate");
		goto out;
	}
	if ((kt = key_type_of(key)) == NULL) {
		r = ck_err_set(err, CK_E_INVAL,
		    "certkeep does not sign with this key type (ec-p256, "
		    "ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519)");
		goto out;
	}
	ps.child = x;
	if ((r = ck_store_ca_list(st, try_parent, &ps, err)) != 0)
		goto out;
	n_cas = 0;
	if ((r = ck_store_ca_list(st, ca_row_count, &n_cas, err)) != 0 ||
	    (r = ck_master_key_load(
	         ck_master_key_path(o->master_key), n_cas == 0, mk, err)) != 0)
		goto out;
	have_mk = true;
	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL ||
	    (klen = i2d_PKCS8_PRIV_KEY_INFO(p8, &kder)) <= 0) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "encoding the CA key");
		goto out;
	}
	snprintf(aad, sizeof(aad), "certkeep ca key:%s", o->name);
	if ((r = ck_seal(mk, aad, kder, (size_t)klen, &sealed, err)) != 0 ||
	    (r = ck_x509_parse(o->cert, o->cert_len, CK_PARSE_CORE, &c, err)) !=
	        0 ||
	    (r = ck_store_begin(st, err)) != 0)
		goto out;
	tx = true;
	row.name = o->name;
	row.parent_id = ps.parent_id;
	row.key_type = kt;
	row.key_sealed = (const uint8_t *)sealed.p;
	row.key_sealed_len = sealed.len;
	row.created_at = ck_now();
	snprintf(detail, sizeof(detail), "%s, key %s", c->subject, kt);
	if ((r = ck_store_cert_put(st, c, ck_now(), &cert_id, &is_new, err)) !=
	        0 ||
	    (r = ck_store_location_put(
	         st, cert_id, "ca", o->name, ck_now(), err)) != 0)
		goto out;
	row.cert_id = cert_id;
	if ((r = ck_store_ca_add(st, &row, &id, err)) != 0 ||
	    (ps.parent_id > 0 &&
	        (r = ck_store_issued_add(st, cert_id, ps.parent_id, c->serial,
	             "ca", o->actor ? o->actor : "unknown", err)) != 0) ||
	    (r = ck_store_event_add(st, o->actor ? o->actor : "unknown",
	         "ca.import", o->name, detail, err)) != 0 ||
	    (r = ck_store_commit(st, err)) != 0)
		goto out;
	tx = false;
out:
	if (tx)
		ck_store_rollback(st);
	if (have_mk)
		ck_cleanse(mk, sizeof(mk));
	if (kder != NULL)
		OPENSSL_clear_free(kder, (size_t)klen);
	PKCS8_PRIV_KEY_INFO_free(p8);
	ck_buf_release(&sealed);
	ck_cert_free(c);
	EVP_PKEY_free(key);
	X509_free(x);
	ERR_clear_error();
	return r;
}
