/*
 * Making CAs: keys, the self-signed root, the issuing intermediate under
 * it (or under another CA), sealed keys, and the one transaction that
 * records them in the inventory and the CA table.
 */
#include "ca/ca.h"
#include "ca/ca_int.h"

#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "base/mem.h"
#include "x509/x509.h"

#define YEAR (365 * 86400)

bool
ck_ca_key_type_ok(const char *t)
{
	return strcmp(t, "ec-p256") == 0 || strcmp(t, "ec-p384") == 0 ||
	    strcmp(t, "rsa-3072") == 0 || strcmp(t, "rsa-4096") == 0 ||
	    strcmp(t, "ed25519") == 0;
}

int
ca_ossl_err(struct ck_err *err, int code, const char *what)
{
	unsigned long e = ERR_peek_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return ck_err_set(err, code, "%s: %s", what, e ? buf : "failed");
}

static EVP_PKEY *
make_key(const char *type)
{
	if (strcmp(type, "ec-p256") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (strcmp(type, "ec-p384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (strcmp(type, "rsa-3072") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	if (strcmp(type, "rsa-4096") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	if (strcmp(type, "ed25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return NULL;
}

const EVP_MD *
ca_digest_for(const char *type)
{
	if (strcmp(type, "ed25519") == 0)
		return NULL; /* EdDSA hashes internally */
	if (strcmp(type, "ec-p384") == 0)
		return EVP_sha384();
	return EVP_sha256();
}

/* "CN=x,O=y" (most specific first, as printed) or "/CN=x/O=y". */
static int
parse_dn(const char *dn, X509_NAME **out, struct ck_err *err)
{
	X509_NAME *n = X509_NAME_new();
	char *copy = ck_strdup(dn), *parts[32], *save = NULL, *tok;
	bool slash = dn[0] == '/';
	int np = 0, r = 0;

	for (tok = strtok_r(copy, slash ? "/" : ",", &save); tok != NULL;
	     tok = strtok_r(NULL, slash ? "/" : ",", &save)) {
		if (np == 32) {
			r = ck_err_set(
			    err, CK_E_INVAL, "subject: too many parts");
			goto out;
		}
		parts[np++] = tok;
	}
	/* X509_NAME order is least specific first: RFC 4514 text is the
	 * reverse, the slash form is already in order. */
	for (int i = 0; i < np; i++) {
		char *p = parts[slash ? i : np - 1 - i], *eq;

		while (*p == ' ')
			p++;
		if ((eq = strchr(p, '=')) == NULL || eq == p || eq[1] == '\0') {
			r = ck_err_set(err, CK_E_INVAL,
			    "subject: '%s' is not TYPE=value", p);
			goto out;
		}
		*eq = '\0';
		if (!X509_NAME_add_entry_by_txt(n, p, MBSTRING_UTF8,
		        (const unsigned char *)eq + 1, -1, -1, 0)) {
			ERR_clear_error();
			r = ck_err_set(err, CK_E_INVAL,
			    "subject: unknown attribute type '%s'", p);
			goto out;
		}
	}
	if (np == 0)
		r = ck_err_set(err, CK_E_INVAL, "subject: empty");
out:
	free(copy);
	if (r != 0)
		X509_NAME_free(n);
	else
		*out = n;
	return r;
}

int
ca_add_ext(
    X509 *x, X509 *issuer, int nid, const char *value, struct ck_err *err)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL || !X509_add_ext(x, e, -1)) {
		X509_EXTENSION_free(e);
		return ca_ossl_err(err, CK_E_CRYPTO, "certificate extension");
	}
	X509_EXTENSION_free(e);
	return 0;
}

/* A positive, non-zero 128-bit serial from the CSPRNG. */
int
ca_set_serial(X509 *x, struct ck_err *err)
{
	unsigned char b[16];
	BIGNUM *bn;

	do {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return ca_ossl_err(err, CK_E_CRYPTO, "serial");
		b[0] &= 0x7f;
	} while (b[0] == 0);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (bn == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
		BN_free(bn);
		return ca_ossl_err(err, CK_E_CRYPTO, "serial");
	}
	BN_free(bn);
	return 0;
}

/*
 * A CA certificate for subject and key, signed by signer (issuer_cert and
 * issuer_key), or self-signed when issuer_cert is NULL.
 */
static int
make_ca_cert(X509_NAME *subject, EVP_PKEY *key, X509 *issuer_cert,
    EVP_PKEY *issuer_key, const char *issuer_key_type, int64_t not_after,
    int path_len, X509 **out, struct ck_err *err)
{
	X509 *x = X509_new();
	char bc[64];
	int r;

	*out = NULL;
	if (!X509_set_version(x, 2) || (r = ca_set_serial(x, err)) != 0 ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x,
	        issuer_cert ? X509_get_subject_name(issuer_cert) : subject) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(ck_now() - 300)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) ||
	    !X509_set_pubkey(x, key)) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "CA certificate");
		goto fail;
	}
	if (path_len >= 0)
		snprintf(
		    bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", path_len);
	else
		snprintf(bc, sizeof(bc), "critical,CA:TRUE");
	if ((r = ca_add_ext(x, x, NID_basic_constraints, bc, err)) != 0 ||
	    (r = ca_add_ext(x, x, NID_key_usage,
	         "critical,keyCertSign,cRLSign,digitalSignature", err)) != 0 ||
	    (r = ca_add_ext(x, x, NID_subject_key_identifier, "hash", err)) !=
	        0 ||
	    (r = ca_add_ext(x, issuer_cert ? issuer_cert : x,
	         NID_authority_key_identifier, "keyid:always", err)) != 0)
		goto fail;
	if (X509_sign(x, issuer_key, ca_digest_for(issuer_key_type)) <= 0) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "signing the CA certificate");
		goto fail;
	}
	*out = x;
	return 0;
fail:
	X509_free(x);
	return r;
}

static int
seal_key(const uint8_t mk[CK_MASTER_KEY_LEN], const char *name, EVP_PKEY *key,
    struct ck_buf *out, struct ck_err *err)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	unsigned char *der = NULL;
	char aad[300];
	int len, r;

	if (p8 == NULL || (len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0) {
		PKCS8_PRIV_KEY_INFO_free(p8);
		return ca_ossl_err(err, CK_E_CRYPTO, "encoding the CA key");
	}
	snprintf(aad, sizeof(aad), "certkeep ca key:%s", name);
	r = ck_seal(mk, aad, der, (size_t)len, out, err);
	OPENSSL_clear_free(der, (size_t)len);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return r;
}

static int
on_ca(void *ctx, const struct ck_ca_row *ca)
{
	struct ca_loaded *l = ctx;

	l->id = ca->id;
	l->cert_id = ca->cert_id;
	l->key_type = ck_strdup(ca->key_type);
	ck_buf_add(&l->sealed, ca->key_sealed, ca->key_sealed_len);
	return 0;
}

int
ca_row_x509(void *ctx, const struct ck_cert_row *row)
{
	const unsigned char *p = row->der;

	*(X509 **)ctx = d2i_X509(NULL, &p, (long)row->der_len);
	return 0;
}

int
ca_row_count(void *ctx, const struct ck_ca_row *ca)
{
	(void)ca;
	(*(int *)ctx)++;
	return 0;
}

/* Opens an existing CA: its certificate and its private key. */
int
ca_unseal_key(const uint8_t mk[CK_MASTER_KEY_LEN], const char *aad,
    const uint8_t *sealed, size_t len, EVP_PKEY **key, struct ck_err *err)
{
	struct ck_buf plain = CK_BUF_INIT;
	const unsigned char *p;
	PKCS8_PRIV_KEY_INFO *p8;
	int r;

	*key = NULL;
	if ((r = ck_unseal(mk, aad, sealed, len, &plain, err)) != 0)
		return r;
	p = (const unsigned char *)plain.p;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)plain.len);
	*key = p8 ? EVP_PKCS82PKEY(p8) : NULL;
	PKCS8_PRIV_KEY_INFO_free(p8);
	ck_buf_release_secret(&plain);
	return *key ? 0 : ca_ossl_err(err, CK_E_CRYPTO, "sealed key");
}

/* The CA certificate's row: DER for the signer, revocation for the caller. */
struct cert_row {
	struct ck_buf der;
	int64_t revoked_at;
};

static int
on_ca_cert(void *ctx, const struct ck_cert_row *row)
{
	struct cert_row *c = ctx;

	ck_buf_add(&c->der, row->der, row->der_len);
	c->revoked_at = row->revoked_at;
	return 0;
}

int
ca_load(struct ck_store *st, const uint8_t mk[CK_MASTER_KEY_LEN],
    const char *name, struct ca_loaded *l, X509 **cert, EVP_PKEY **key,
    struct ck_err *err)
{
	struct cert_row row = {CK_BUF_INIT, 0};
	char aad[300];
	int r;

	if ((r = ck_store_ca_get(st, name, on_ca, l, err)) != 0)
		return r;
	if ((r = ck_store_cert_get(st, l->cert_id, on_ca_cert, &row, err)) != 0)
		goto out;
	l->revoked_at = row.revoked_at;
	snprintf(aad, sizeof(aad), "certkeep ca key:%s", name);
	if ((r = ca_signer_open(mk, aad, (const uint8_t *)l->sealed.p,
	         l->sealed.len, (const uint8_t *)row.der.p, row.der.len, true,
	         cert, key, err)) != 0)
		ck_err_wrap(err, r, "CA '%s'", name);
out:
	ck_buf_release(&row.der);
	return r;
}

/* Records one CA: certificate into the inventory, then the CA row. */
static int
record(struct ck_store *st, const char *name, X509 *x, const char *key_type,
    const struct ck_buf *sealed, int64_t parent_id, int64_t *ca_id,
    struct ck_err *err)
{
	unsigned char *der = NULL;
	struct ck_cert *c = NULL;
	struct ck_ca_row row = {0};
	int64_t cert_id;
	bool is_new;
	int len, r;

	if ((len = i2d_X509(x, &der)) <= 0)
		return ca_ossl_err(err, CK_E_CRYPTO, "CA certificate");
	if ((r = ck_x509_parse(der, (size_t)len, CK_PARSE_CORE, &c, err)) != 0)
		goto out;
	if ((r = ck_store_cert_put(st, c, ck_now(), &cert_id, &is_new, err)) !=
	        0 ||
	    (r = ck_store_location_put(
	         st, cert_id, "ca", name, ck_now(), err)) != 0)
		goto out;
	row.name = name;
	row.cert_id = cert_id;
	row.parent_id = parent_id;
	row.key_type = key_type;
	row.key_sealed = (const uint8_t *)sealed->p;
	row.key_sealed_len = sealed->len;
	row.created_at = ck_now();
	if ((r = ck_store_ca_add(st, &row, ca_id, err)) != 0)
		goto out;
	/* Signed by another CA: that CA issued it (for OCSP, CRLs, revoke). */
	if (parent_id > 0)
		r = ck_store_issued_add(
		    st, cert_id, parent_id, c->serial, "ca", "certkeep", err);
out:
	ck_cert_free(c);
	OPENSSL_free(der);
	return r;
}

int
ck_ca_init(
    struct ck_store *st, const struct ck_ca_init_opts *o, struct ck_err *err)
{
	const char *kt = o->key_type ? o->key_type : "ec-p256";
	int64_t validity = o->validity > 0 ? o->validity : 5 * YEAR;
	uint8_t mk[CK_MASTER_KEY_LEN];
	struct ca_loaded parent = {0};
	struct ck_buf sealed = CK_BUF_INIT, root_name = CK_BUF_INIT;
	X509 *pcert = NULL, *root = NULL, *ca = NULL;
	EVP_PKEY *pkey = NULL, *root_key = NULL, *key = NULL;
	X509_NAME *subject = NULL, *rsubject = NULL;
	int64_t root_id = 0, id, now = ck_now();
	int r, n_cas = 0;
	bool tx = false;
	char detail[256];

	if (o->name == NULL || *o->name == '\0' || strlen(o->name) > 64 ||
	    strpbrk(o->name, " /\\\t\n") != NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "CA name must be 1 to 64 characters without spaces or "
		    "slashes");
	if (!ck_ca_key_type_ok(kt))
		return ck_err_set(err, CK_E_INVAL,
		    "unknown CA key type '%s' (ec-p256, ec-p384, rsa-3072, "
		    "rsa-4096, ed25519)",
		    kt);
	if (o->root_only && o->parent != NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "--root-only and --parent exclude each other");
	/* Names taken: refused before any key is made. */
	for (int i = 0; i < (o->root_only || o->parent ? 1 : 2); i++) {
		struct ck_buf nm = CK_BUF_INIT;
		ck_buf_printf(&nm, "%s%s", o->name, i ? "-root" : "");
		r = ck_store_ca_get(st, nm.p, ca_row_count, &n_cas, NULL);
		if (r == 0)
			r = ck_err_set(err, CK_E_EXISTS,
			    "a CA called '%s' exists already", nm.p);
		ck_buf_release(&nm);
		if (r != CK_E_NOTFOUND)
			return r;
	}
	n_cas = 0;
	/* A new master key only while there is no CA it would orphan. */
	if ((r = ck_store_ca_list(st, ca_row_count, &n_cas, err)) != 0 ||
	    (r = ck_master_key_load(
	         ck_master_key_path(o->master_key), n_cas == 0, mk, err)) != 0)
		return r;
	if (o->subject != NULL) {
		r = parse_dn(o->subject, &subject, err);
	} else {
		struct ck_buf dn = CK_BUF_INIT;
		ck_buf_printf(&dn, "CN=%s%s", o->name,
		    o->root_only ? " Root CA" : " Issuing CA");
		r = parse_dn(dn.p, &subject, err);
		ck_buf_release(&dn);
	}
	if (r != 0)
		goto out;
	if (o->parent != NULL) {
		if ((r = ca_load(
		         st, mk, o->parent, &parent, &pcert, &pkey, err)) != 0)
			goto out;
		if (X509_get_pathlen(pcert) == 0) {
			r = ck_err_set(err, CK_E_INVAL,
			    "CA '%s' may not sign CAs (its path length is 0)",
			    o->parent);
			goto out;
		}
	}
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	tx = true;
	if (o->parent == NULL && !o->root_only) {
		/* The root: the issuing CA's name with "Root CA" as CN. */
		int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
		rsubject = X509_NAME_dup(subject);
		if (i >= 0)
			X509_NAME_ENTRY_free(
			    X509_NAME_delete_entry(rsubject, i));
		ck_buf_printf(&root_name, "%s Root CA", o->name);
		X509_NAME_add_entry_by_NID(rsubject, NID_commonName,
		    MBSTRING_UTF8, (unsigned char *)root_name.p, -1, -1, 0);
		ck_buf_reset(&root_name);
		ck_buf_printf(&root_name, "%s-root", o->name);
		if ((root_key = make_key(kt)) == NULL) {
			r = ca_ossl_err(err, CK_E_CRYPTO, "root key");
			goto out;
		}
		if ((r = make_ca_cert(rsubject, root_key, NULL, root_key, kt,
		         now + 2 * validity, -1, &root, err)) != 0 ||
		    (r = seal_key(mk, root_name.p, root_key, &sealed, err)) !=
		        0 ||
		    (r = record(st, root_name.p, root, kt, &sealed, 0, &root_id,
		         err)) != 0)
			goto out;
	}
	if ((key = make_key(kt)) == NULL) {
		r = ca_ossl_err(err, CK_E_CRYPTO, "CA key");
		goto out;
	}
	{
		X509 *signer = root ? root : pcert;
		EVP_PKEY *skey = root ? root_key : pkey ? pkey : key;
		const char *stype = root || !pcert ? kt : parent.key_type;
		int64_t end = now + validity;

		/* Never outlive the issuer. */
		if (signer != NULL) {
			int64_t issuer_end;
			struct tm tm;
			ASN1_TIME_to_tm(X509_get0_notAfter(signer), &tm);
			issuer_end = (int64_t)timegm(&tm);
			if (end > issuer_end)
				end = issuer_end;
		}
		if ((r = make_ca_cert(subject, key, signer, skey, stype, end,
		         o->root_only ? -1 : 0, &ca, err)) != 0)
			goto out;
	}
	if ((r = seal_key(mk, o->name, key, &sealed, err)) != 0 ||
	    (r = record(st, o->name, ca, kt, &sealed,
	         root_id ? root_id : parent.id, &id, err)) != 0)
		goto out;
	if (root != NULL)
		snprintf(detail, sizeof(detail),
		    "root %s and issuing CA, key %s", root_name.p, kt);
	else if (o->parent != NULL)
		snprintf(
		    detail, sizeof(detail), "under %s, key %s", o->parent, kt);
	else
		snprintf(detail, sizeof(detail), "root only, key %s", kt);
	if ((r = ck_store_event_add(st, o->actor ? o->actor : "unknown",
	         "ca.init", o->name, detail, err)) != 0 ||
	    (r = ck_store_commit(st, err)) != 0)
		goto out;
	tx = false;
out:
	if (tx)
		ck_store_rollback(st);
	ck_cleanse(mk, sizeof(mk));
	ck_buf_release(&sealed);
	ck_buf_release(&root_name);
	ca_loaded_release(&parent);
	X509_NAME_free(subject);
	X509_NAME_free(rsubject);
	X509_free(pcert);
	X509_free(root);
	X509_free(ca);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(key);
	return r;
}
