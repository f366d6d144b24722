/*
 * The ACME server (RFC 8555, RFC 8737; CAA RFC 8659; renewal information
 * RFC 9773): a front door per built-in CA at /acme/<ca>/. It turns
 * JWS-signed requests into store rows, enroll and revoke calls, and
 * answers with the RFC's objects and problem documents. Requests
 * authenticate by JWS, not by bearer token, so every route here is public
 * to the router. Validation of challenges and the CAA lookups of finalize
 * run in the server's job threads (those routes are slow), never in a
 * worker's loop.
 */
#ifndef CK_ACME_H
#define CK_ACME_H

#include "http/http.h"

/* Checks the [acme] keys the server reads per request (resolver, CAA
 * identities), so a typo fails `certkeep serve` at start rather than
 * every validation. CK_E_INVAL with the key named in err. */
int ck_acme_config_check(const struct ck_config *cfg, struct ck_err *err);

void ck_acme_directory(struct ck_http_ctx *c);
void ck_acme_new_nonce(struct ck_http_ctx *c);
void ck_acme_new_account(struct ck_http_ctx *c);
void ck_acme_account(struct ck_http_ctx *c);
void ck_acme_account_orders(struct ck_http_ctx *c);
void ck_acme_key_change(struct ck_http_ctx *c);
void ck_acme_new_order(struct ck_http_ctx *c);
void ck_acme_order(struct ck_http_ctx *c);
void ck_acme_finalize(struct ck_http_ctx *c);
void ck_acme_authz(struct ck_http_ctx *c);
void ck_acme_challenge(struct ck_http_ctx *c);
void ck_acme_certificate(struct ck_http_ctx *c);
void ck_acme_revoke(struct ck_http_ctx *c);
void ck_acme_renewal_info(struct ck_http_ctx *c);

#endif
