/*
 * Unit tests for what the ACME connector reads from the CA
 * (src/issuer/acme_parse.c): the problem-document table (badNonce,
 * rate limits with Retry-After, refusals with the CA's detail and
 * subproblem, 5xx and bodies that are not problems), the directory,
 * orders, authorizations (tokens that are not base64url are dropped),
 * Link headers with rel="alternate", the PEM chain and renewal info.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "issuer/acme_int.h"

#define S(lit) (lit), (sizeof(lit) - 1)

Test(acme_problem, table)
{
	struct ck_err err = {0};
	char type[64];

	cr_assert_eq(acme_problem(400,
	                 S("{\"type\":\"urn:ietf:params:acme:error:badNonce\","
	                   "\"detail\":\"old nonce\"}"),
	                 NULL, "acme: new order", type, sizeof(type), &err),
	    CK_E_IO);
	cr_assert_str_eq(type, "badNonce");
	cr_assert_str_eq(
	    err.msg, "acme: new order: http 400: badNonce: old nonce");

	cr_assert_eq(
	    acme_problem(403,
	        S("{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
	          "\"detail\":\"no\\nway\",\"subproblems\":[{\"type\":"
	          "\"urn:ietf:params:acme:error:caa\",\"detail\":"
	          "\"CAA forbids\",\"identifier\":{\"type\":\"dns\","
	          "\"value\":\"x.test\"}}]}"),
	        NULL, "u", type, sizeof(type), &err),
	    CK_E_INVAL);
	cr_assert_str_eq(type, "unauthorized");
	/* The CA's newline does not break our one-line reason. */
	cr_assert_str_eq(
	    err.msg, "u: http 403: unauthorized: no way (x.test: CAA forbids)");

	cr_assert_eq(
	    acme_problem(429,
	        S("{\"type\":\"urn:ietf:params:acme:error:rateLimited\","
	          "\"detail\":\"too many\"}"),
	        "30", "u", type, sizeof(type), &err),
	    CK_E_IO);
	cr_assert(strstr(err.msg, "retry after 30 s") != NULL, "%s", err.msg);
	cr_assert_str_eq(type, "rateLimited");

	cr_assert_eq(
	    acme_problem(503, S("busy"), "120", "u", type, sizeof(type), &err),
	    CK_E_IO);
	cr_assert_str_eq(
	    err.msg, "u: http 503, retry after 120 s: no problem document");
	cr_assert_str_eq(type, "");

	cr_assert_eq(acme_problem(500,
	                 S("{\"type\":\"urn:ietf:params:acme:error:"
	                   "serverInternal\"}"),
	                 NULL, "u", type, sizeof(type), &err),
	    CK_E_IO);
	cr_assert_eq(
	    acme_problem(404, S("<html>"), NULL, "u", type, sizeof(type), &err),
	    CK_E_INVAL);
	cr_assert_str_eq(err.msg, "u: http 404: no problem document");
	cr_assert_eq(acme_problem(400,
	                 S("{\"type\":\"urn:ietf:params:acme:error:"
	                   "rejectedIdentifier\",\"detail\":\"no\"}"),
	                 NULL, "u", type, sizeof(type), &err),
	    CK_E_INVAL);
	/* A type from elsewhere: kept whole in the reason, not as ours. */
	cr_assert_eq(
	    acme_problem(400, S("{\"type\":\"about:blank\",\"detail\":\"x\"}"),
	        NULL, "u", type, sizeof(type), &err),
	    CK_E_INVAL);
	cr_assert_str_eq(type, "");
	cr_assert_str_eq(err.msg, "u: http 400: about:blank: x");
}

Test(acme_parse, directory)
{
	struct acme_dir d;
	struct ck_err err = {0};

	cr_assert_eq(acme_dir_parse(S("{\"newNonce\":\"https://c/n\","
	                              "\"newAccount\":\"https://c/a\","
	                              "\"newOrder\":\"https://c/o\","
	                              "\"revokeCert\":\"https://c/r\","
	                              "\"keyChange\":\"https://c/k\","
	                              "\"renewalInfo\":\"https://c/ri\","
	                              "\"meta\":{\"termsOfService\":\"https://"
	                              "c/tos\",\"externalAccountRequired\":"
	                              "true}}"),
	                 &d, &err),
	    0, "%s", err.msg);
	cr_assert_str_eq(d.new_order, "https://c/o");
	cr_assert_str_eq(d.renewal_info, "https://c/ri");
	cr_assert_str_eq(d.terms, "https://c/tos");
	cr_assert(d.eab_required);
	acme_dir_release(&d);

	cr_assert_eq(acme_dir_parse(S("{\"newNonce\":\"https://c/n\","
	                              "\"newAccount\":\"https://c/a\"}"),
	                 &d, &err),
	    CK_E_PARSE);
	cr_assert_eq(acme_dir_parse(S("{\"newNonce\":\"ftp://c/n\","
	                              "\"newAccount\":\"https://c/a\","
	                              "\"newOrder\":\"https://c/o\"}"),
	                 &d, &err),
	    CK_E_PARSE);
	cr_assert_eq(acme_dir_parse(S("[1]"), &d, &err), CK_E_PARSE);
	cr_assert_eq(acme_dir_parse(S("{\"a\":"), &d, &err), CK_E_PARSE);
	cr_assert_null(d.new_nonce);
}

Test(acme_parse, order)
{
	struct acme_order o;
	struct ck_err err = {0};

	cr_assert_eq(acme_order_parse(S("{\"status\":\"invalid\","
	                                "\"authorizations\":[\"https://c/z/1\","
	                                "\"https://c/z/2\"],\"finalize\":"
	                                "\"https://c/f\",\"error\":{\"type\":"
	                                "\"urn:ietf:params:acme:error:"
	                                "badCSR\",\"detail\":\"weak key\"}}"),
	                 &o, &err),
	    0, "%s", err.msg);
	cr_assert_eq(o.status, ACME_INVALID);
	cr_assert_eq(o.n_authz, 2);
	cr_assert_str_eq(o.authz[1], "https://c/z/2");
	cr_assert_null(o.certificate);
	cr_assert_str_eq(o.error, "badCSR: weak key");
	acme_order_release(&o);

	cr_assert_eq(acme_order_parse(S("{\"status\":\"valid\","
	                                "\"authorizations\":[],\"finalize\":"
	                                "\"https://c/f\",\"certificate\":"
	                                "\"https://c/cert/1\"}"),
	                 &o, &err),
	    0);
	cr_assert_eq(o.status, ACME_VALID);
	cr_assert_str_eq(o.certificate, "https://c/cert/1");
	acme_order_release(&o);

	cr_assert_eq(acme_order_parse(S("{\"status\":\"sleeping\","
	                                "\"authorizations\":[],\"finalize\":"
	                                "\"https://c/f\"}"),
	                 &o, &err),
	    CK_E_PARSE);
	cr_assert_eq(acme_order_parse(S("{\"status\":\"ready\","
	                                "\"authorizations\":[3],\"finalize\":"
	                                "\"https://c/f\"}"),
	                 &o, &err),
	    CK_E_PARSE);
	cr_assert_eq(acme_order_parse(S("{\"status\":\"ready\","
	                                "\"authorizations\":[]}"),
	                 &o, &err),
	    CK_E_PARSE);
}

Test(acme_parse, authz)
{
	struct acme_authz a;
	struct ck_err err = {0};

	cr_assert_eq(
	    acme_authz_parse(S("{\"status\":\"pending\","
	                       "\"identifier\":{\"type\":\"dns\","
	                       "\"value\":\"x.test\"},\"wildcard\":true,"
	                       "\"challenges\":[{\"type\":\"http-01\","
	                       "\"url\":\"https://c/ch/1\",\"token\":"
	                       "\"../../etc/passwd\",\"status\":"
	                       "\"pending\"},{\"type\":\"dns-01\","
	                       "\"url\":\"https://c/ch/2\",\"token\":"
	                       "\"tok_-9\",\"status\":\"invalid\","
	                       "\"error\":{\"type\":\"urn:ietf:params:"
	                       "acme:error:dns\",\"detail\":\"NXDOMAIN"
	                       "\"}}]}"),
	        &a, &err),
	    0, "%s", err.msg);
	cr_assert_eq(a.status, ACME_PENDING);
	cr_assert_str_eq(a.ident_value, "x.test");
	cr_assert(a.wildcard);
	cr_assert_eq(a.n_ch, 2);
	/* A token that is not base64url never reaches a path. */
	cr_assert_null(a.ch[0].token);
	cr_assert_str_eq(a.ch[1].token, "tok_-9");
	cr_assert_eq(a.ch[1].status, ACME_INVALID);
	cr_assert_str_eq(a.ch[1].error, "dns: NXDOMAIN");
	acme_authz_release(&a);

	cr_assert_eq(acme_authz_parse(S("{\"status\":\"pending\","
	                                "\"challenges\":[]}"),
	                 &a, &err),
	    CK_E_PARSE);
	cr_assert_eq(acme_authz_parse(S("{\"status\":\"pending\","
	                                "\"identifier\":{\"type\":\"dns\","
	                                "\"value\":\"x\"},\"challenges\":[{"
	                                "\"type\":\"http-01\"}]}"),
	                 &a, &err),
	    CK_E_PARSE);
}

Test(acme_parse, links)
{
	char *links[] = {
	    "<https://c/dir>;rel=\"index\"",
	    "<https://c/cert/1/alt/1>; rel=\"alternate\", "
	    "<https://c/cert/1/alt/2>;title=\"a, b\";rel=\"alternate up\"",
	    "<relative/3>;rel=alternate",
	    "garbage",
	    "<https://c/cert/1/alt/4>;rel=alternatex",
	};
	char **urls = NULL;
	size_t n = 0;

	acme_links(links, 5, "alternate", 8, &urls, &n);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(urls[0], "https://c/cert/1/alt/1");
	cr_assert_str_eq(urls[1], "https://c/cert/1/alt/2");
	for (size_t i = 0; i < n; i++)
		free(urls[i]);
	free(urls);
	urls = NULL;
	n = 0;
	acme_links(links, 5, "alternate", 1, &urls, &n);
	cr_assert_eq(n, 1);
	free(urls[0]);
	free(urls);
}

/* A self-signed root and a leaf under it, as PEM. */
static void
make_chain(struct ck_buf *pem)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	const char *cns[] = {"leaf.test", "Test Root X9"};
	X509 *xs[2];

	for (int i = 0; i < 2; i++) {
		X509 *x = X509_new();
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), i + 1);
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
		    MBSTRING_ASC, (const uint8_t *)cns[i], -1, -1, 0);
		X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN",
		    MBSTRING_ASC, (const uint8_t *)cns[1], -1, -1, 0);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 60);
		X509_set_pubkey(x, k);
		X509_sign(x, k, EVP_sha256());
		xs[i] = x;
	}
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, xs[0]);
	BIO_puts(b, "junk between\n");
	PEM_write_bio_X509(b, xs[1]);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	ck_buf_add(pem, p, (size_t)n);
	BIO_free(b);
	X509_free(xs[0]);
	X509_free(xs[1]);
	EVP_PKEY_free(k);
}

Test(acme_parse, chain)
{
	struct ck_buf pem = CK_BUF_INIT;
	struct acme_chain c;
	struct ck_err err = {0};

	make_chain(&pem);
	cr_assert_eq(
	    acme_chain_parse(pem.p, pem.len, &c, &err), 0, "%s", err.msg);
	cr_assert_gt(c.leaf_len, 100);
	cr_assert_eq(c.leaf[0], 0x30);
	cr_assert_str_eq(c.top_issuer_cn, "Test Root X9");
	cr_assert(strstr(c.rest_pem.p, "-----BEGIN CERTIFICATE-----") != NULL);
	cr_assert(strstr(c.rest_pem.p, "junk") == NULL);
	acme_chain_release(&c);
	cr_assert_eq(acme_chain_parse(S("no pem here"), &c, &err), CK_E_PARSE);
	cr_assert_eq(acme_chain_parse(pem.p, 40, &c, &err), CK_E_PARSE);
	ck_buf_release(&pem);
}

Test(acme_parse, renewal_info)
{
	struct ck_renewal_window w;
	struct ck_err err = {0};

	cr_assert_eq(acme_renewal_parse(
	                 S("{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:"
	                   "00Z\",\"end\":\"2025-01-03T04:00:00.25Z\"},"
	                   "\"explanationURL\":\"https://c/why\"}"),
	                 &w, &err),
	    0, "%s", err.msg);
	cr_assert_eq(w.start, 1735790400);
	cr_assert_eq(w.end, 1735790400 + 86400);
	cr_assert_str_eq(w.explanation_url, "https://c/why");
	free(w.explanation_url);
	cr_assert_eq(acme_renewal_parse(
	                 S("{\"suggestedWindow\":{\"start\":\"2025-01-03T04:00:"
	                   "00Z\",\"end\":\"2025-01-02T04:00:00Z\"}}"),
	                 &w, &err),
	    CK_E_PARSE);
	cr_assert_eq(
	    acme_renewal_parse(S("{\"suggestedWindow\":{}}"), &w, &err),
	    CK_E_PARSE);
}

/* caps() does no I/O: renewal_info only once a directory said so. */
Test(acme_caps, renewal_info_known_after_directory)
{
	const struct ck_issuer_ops *ops = ck_issuer_ops_find("acme");
	struct ck_issuer_def d = {0};
	struct ck_issuer_caps c;

	cr_assert_not_null(ops);
	d.directory = "https://unit.test/dir";
	ops->caps(&d, &c);
	cr_assert_not(c.renewal_info);
	cr_assert(c.revoke);
	cr_assert_str_eq(
	    c.key_types, "ec-p256,ec-p384,rsa-2048,rsa-3072,rsa-4096");
	acme_caps_note("https://unit.test/dir", true);
	ops->caps(&d, &c);
	cr_assert(c.renewal_info);
	acme_caps_note("https://unit.test/dir", false);
	ops->caps(&d, &c);
	cr_assert_not(c.renewal_info);
}
