/*
 * Issuer connectors: the CAs certkeep gets certificates from. One
 * interface, issue(request) and revoke(certificate, reason), whatever the
 * CA: the built-in CA ("local", implemented by the lifecycle layer through
 * enroll), an upstream ACME CA ("acme", src/issuer/acme.c), and later EST
 * and SCEP. A connector only produces certificate bytes: recording them in
 * the inventory, the audit event and the checks of what came back are
 * enroll's (src/lifecycle), so that no connector knows which door asked.
 */
#ifndef CK_ISSUER_H
#define CK_ISSUER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * A configured connector, as kept in the issuers table. Every string is
 * owned by the definition (ck_issuer_def_release()); NULL means unset.
 * Secrets (eab_hmac, account_key_pem) are wiped on release.
 */
struct ck_issuer_def {
	char *name;
	char *type; /* "local", "acme", "command" */

	/* local */
	char *ca; /* built-in CA name */
	char *profile; /* NULL: tls-server */

	/* acme */
	char *directory; /* directory URL */
	char *email; /* account contact, or NULL */
	char *eab_kid; /* External Account Binding key id, or NULL */
	struct ck_buf eab_hmac; /* its HMAC key, raw bytes (secret) */
	char *trust_pem; /* PEM roots to trust for the directory's TLS;
	                  * NULL: the system store */
	char *challenge; /* "http-01" (default), "dns-01", "tls-alpn-01" */
	char *http01_listen; /* standalone responder, host:port
	                      * (default 0.0.0.0:80), unless webroot */
	char *webroot; /* write http-01 tokens under
	                * <webroot>/.well-known/acme-challenge/ */
	char *dns_hook; /* command run as: hook add|remove NAME VALUE */
	int64_t dns_wait; /* seconds to wait after adding TXT records */
	char *tlsalpn_listen; /* tls-alpn-01 responder, host:port
	                       * (default 0.0.0.0:443) */
	char *preferred_chain; /* CN of the root to prefer among the
	                        * alternate chains, or NULL: the default */
	char *profile_name; /* ACME profile to ask for, or NULL */

	/* command: a program that signs (CSR on stdin, PEM chain on
	 * stdout; see src/issuer/command.c), run by /bin/sh -c */
	char *command;
	int64_t timeout; /* seconds; 0: 300 */

	/* acme account state, kept by the connector and stored (the key
	 * sealed) by the caller when account_changed is set */
	char *account_url;
	struct ck_buf account_key_pem; /* PKCS#8 PEM (secret) */
	bool account_changed;
};

void ck_issuer_def_release(struct ck_issuer_def *d);

/* What a connector can do, for `issuer show` and for choosing. */
struct ck_issuer_caps {
	const char *key_types; /* comma list: "ec-p256,ec-p384,rsa-2048,..." */
	int max_days; /* longest validity it grants; 0: unknown */
	bool renewal_info; /* offers ACME Renewal Information (RFC 9773) */
	bool revoke;
};

struct ck_issue_request {
	const uint8_t *csr; /* DER, signed by the certificate's key */
	size_t csr_len;
	const char *const *names; /* identifiers: DNS names and IPs */
	size_t n_names;
	int days; /* wanted validity; 0: the CA's choice */
	const uint8_t *replaces; /* DER of the certificate this renews
	                          * (ACME "replaces", RFC 9773), or NULL */
	size_t replaces_len;
};

struct ck_issued {
	uint8_t *der; /* the leaf */
	size_t der_len;
	struct ck_buf chain_pem; /* the issuers after the leaf, PEM */
};

void ck_issued_release(struct ck_issued *r);

/*
 * A suggested renewal window (RFC 9773): renew at a random time in
 * [start, end); ask again after retry_after (seconds since the epoch).
 */
struct ck_renewal_window {
	int64_t start, end;
	int64_t retry_after;
	char *explanation_url; /* owned, or NULL */
};

/*
 * The operations of one connector type. issue and revoke block (network
 * I/O, validation); they run on job threads, never on an HTTP worker.
 * Errors: CK_E_INVAL for a request the CA refused (reason in err),
 * CK_E_IO for the CA not reachable, slow or answering 5xx (retry later),
 * CK_E_PARSE for bytes from the CA that do not parse. renewal_info may be
 * NULL; then there is no window and the renewal rule alone decides.
 */
struct ck_issuer_ops {
	const char *type;
	void (*caps)(const struct ck_issuer_def *d, struct ck_issuer_caps *c);
	int (*issue)(struct ck_issuer_def *d,
	    const struct ck_issue_request *req, struct ck_issued *out,
	    struct ck_err *err);
	int (*revoke)(struct ck_issuer_def *d, const uint8_t *der, size_t len,
	    int reason, struct ck_err *err);
	int (*renewal_info)(struct ck_issuer_def *d, const uint8_t *der,
	    size_t len, struct ck_renewal_window *w, struct ck_err *err);
};

/*
 * The connector for type, or NULL. "local" is not here: the lifecycle
 * layer issues through the built-in CA itself (enroll).
 */
const struct ck_issuer_ops *ck_issuer_ops_find(const char *type);

/* The "command" connector (src/issuer/command.c). */
extern const struct ck_issuer_ops ck_command_ops;

#endif
