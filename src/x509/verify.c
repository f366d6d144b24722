/*
 * Signatures and chains: confirming that one certificate issued another,
 * and verifying a chain against a trust store with OpenSSL's X509_STORE,
 * turning its error into a reason a person can act on.
 */
#include "x509/x509.h"
#include "x509/x509_int.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

static X509 *
load(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;

	return d2i_X509(NULL, &p, (long)len);
}

int
ck_x509_signed_by(const uint8_t *child, size_t child_len, const uint8_t *issuer,
    size_t issuer_len, bool *ok, struct ck_err *err)
{
	X509 *c = NULL, *i = NULL;
	EVP_PKEY *pk;
	int r = 0;

	*ok = false;
	if ((c = load(child, child_len)) == NULL ||
	    (i = load(issuer, issuer_len)) == NULL) {
		r = ssl_err(err, CK_E_PARSE, "certificate");
		goto out;
	}
	if (X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(i)) !=
	    0)
		goto out;
	if ((pk = X509_get0_pubkey(i)) == NULL)
		goto out;
	*ok = X509_verify(c, pk) == 1;
out:
	X509_free(c);
	X509_free(i);
	ERR_clear_error();
	return r;
}

int
ck_x509_verify(const uint8_t *leaf, size_t leaf_len,
    const uint8_t *const *chain, const size_t *chain_lens, size_t n_chain,
    const struct ck_verify_opts *opts, struct ck_verify_result *res,
    struct ck_err *err)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509 *x = NULL;
	int r = 0, e;

	memset(res, 0, sizeof(*res));
	if ((x = load(leaf, leaf_len)) == NULL) {
		r = ssl_err(err, CK_E_PARSE, "certificate");
		goto out;
	}
	untrusted = sk_X509_new_null();
	for (size_t k = 0; k < n_chain; k++) {
		X509 *c = load(chain[k], chain_lens[k]);
		if (c == NULL) {
			r = ssl_err(err, CK_E_PARSE, "chain certificate");
			goto out;
		}
		sk_X509_push(untrusted, c);
	}
	store = X509_STORE_new();
	if (opts != NULL && (opts->trust_file || opts->trust_dir)) {
		if (X509_STORE_load_locations(
		        store, opts->trust_file, opts->trust_dir) != 1) {
			r = ssl_err(err, CK_E_IO, "trust store");
			goto out;
		}
	} else if (X509_STORE_set_default_paths(store) != 1) {
		r = ssl_err(err, CK_E_IO, "system trust store");
		goto out;
	}
	ctx = X509_STORE_CTX_new();
	if (X509_STORE_CTX_init(ctx, store, x, untrusted) != 1) {
		r = ssl_err(err, CK_E_CRYPTO, "verification context");
		goto out;
	}
	if (opts != NULL && opts->at != 0)
		X509_STORE_CTX_set_time(ctx, 0, (time_t)opts->at);
	if (opts != NULL && opts->hostname != NULL)
		X509_VERIFY_PARAM_set1_host(
		    X509_STORE_CTX_get0_param(ctx), opts->hostname, 0);
	if (X509_verify_cert(ctx) == 1) {
		res->ok = true;
	} else {
		e = X509_STORE_CTX_get_error(ctx);
		res->depth = X509_STORE_CTX_get_error_depth(ctx);
		snprintf(res->reason, sizeof(res->reason), "%s",
		    X509_verify_cert_error_string(e));
	}
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(x);
	ERR_clear_error();
	return r;
}
