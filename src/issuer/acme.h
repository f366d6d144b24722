/*
 * The ACME connector (RFC 8555, RFC 8737 tls-alpn-01, RFC 8738 IP
 * identifiers, RFC 9773 renewal information): issuer type "acme". It
 * gets certificates from an upstream ACME CA with http-01, dns-01 or
 * tls-alpn-01 validation, revokes them with the account key and asks the
 * CA when to renew. The account (URL and key) lives in the issuer
 * definition: made on first use, reused after, and flagged with
 * account_changed for the caller to store.
 */
#ifndef CK_ISSUER_ACME_H
#define CK_ISSUER_ACME_H

#include "base/err.h"
#include "issuer/issuer.h"

/*
 * The connector's operations (registered in issuer.c). Calls on distinct
 * definitions may run in parallel; calls on one definition may not (they
 * update its account members).
 */
extern const struct ck_issuer_ops ck_acme_ops;

/*
 * Replaces the account key (RFC 8555 section 7.3.5): a new key of the
 * same kind as the current one is made, the CA is told, and on success
 * def->account_key_pem holds the new key and account_changed is set; on
 * failure def is unchanged. The account must exist (account_key_pem set).
 * Blocks on network I/O. Errors as for issue (issuer.h).
 */
int ck_acme_key_rollover(struct ck_issuer_def *def, struct ck_err *err);

/* badNonce answers retried since the process started (a metric). */
unsigned long ck_acme_nonce_retries(void);

#endif
