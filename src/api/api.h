/*
 * The front doors on the HTTP server: REST API v1 (JSON in and out,
 * RFC 9457 problems), the public OCSP, CRL and CA certificate endpoints,
 * health and Prometheus metrics. ck_api_routes() is the table
 * `certkeep serve` gives to src/http; docs/openapi.yaml describes the same
 * routes (a test keeps the two equal).
 */
#ifndef CK_API_H
#define CK_API_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/buf.h"
#include "http/http.h"
#include "store/store.h"

/* The route table (static). */
void ck_api_routes(const struct ck_route **routes, size_t *n);

/* The token check for ck_http_opts.authenticate (arg unused). */
int ck_api_authenticate(void *arg, struct ck_store *st, const char *bearer,
    int64_t now, struct ck_http_auth *out, struct ck_err *err);

/* Appends the JSON object of one inventory row (the `list --json` and
 * REST schema). */
void ck_api_cert_json(
    const struct ck_cert_row *r, int64_t now, struct ck_buf *o);

/* The OpenAPI document served at /api/v1/openapi.yaml (generated from
 * docs/openapi.yaml at build time). */
extern const char ck_api_openapi_yaml[];

/* Handlers, one file per resource. */
void ck_api_healthz(struct ck_http_ctx *c);
void ck_api_readyz(struct ck_http_ctx *c);
void ck_api_openapi(struct ck_http_ctx *c);
void ck_api_metrics(struct ck_http_ctx *c);
void ck_api_certs_list(struct ck_http_ctx *c);
void ck_api_cert_get(struct ck_http_ctx *c);
void ck_api_cert_locations(struct ck_http_ctx *c);
void ck_api_certs_import(struct ck_http_ctx *c);
void ck_api_cert_revoke(struct ck_http_ctx *c);
void ck_api_cas_list(struct ck_http_ctx *c);
void ck_api_ca_get(struct ck_http_ctx *c);
void ck_api_ca_issue(struct ck_http_ctx *c);
void ck_api_ca_crl(struct ck_http_ctx *c);
void ck_api_stats(struct ck_http_ctx *c);
void ck_api_events(struct ck_http_ctx *c);
void ck_api_tokens_list(struct ck_http_ctx *c);
void ck_api_token_create(struct ck_http_ctx *c);
void ck_api_token_revoke(struct ck_http_ctx *c);
void ck_api_scans_list(struct ck_http_ctx *c);
void ck_api_scan_create(struct ck_http_ctx *c);
void ck_api_scan_run(struct ck_http_ctx *c);
void ck_api_scan_delete(struct ck_http_ctx *c);
void ck_api_scan_results(struct ck_http_ctx *c);
void ck_api_issuers_list(struct ck_http_ctx *c);
void ck_api_issuer_create(struct ck_http_ctx *c);
void ck_api_issuer_get(struct ck_http_ctx *c);
void ck_api_issuer_delete(struct ck_http_ctx *c);
void ck_api_managed_list(struct ck_http_ctx *c);
void ck_api_managed_create(struct ck_http_ctx *c);
void ck_api_managed_get(struct ck_http_ctx *c);
void ck_api_managed_renew(struct ck_http_ctx *c);
void ck_api_managed_retire(struct ck_http_ctx *c);
void ck_api_managed_adopt(struct ck_http_ctx *c);
void ck_api_managed_move(struct ck_http_ctx *c);
void ck_api_jobs_list(struct ck_http_ctx *c);
void ck_api_agents_list(struct ck_http_ctx *c);
void ck_api_agent_enrol(struct ck_http_ctx *c);
void ck_api_agent_renew(struct ck_http_ctx *c);
void ck_api_agent_work(struct ck_http_ctx *c);
void ck_api_agent_csr(struct ck_http_ctx *c);
void ck_api_agent_deployed(struct ck_http_ctx *c);
void ck_api_agent_scan(struct ck_http_ctx *c);
void ck_api_ocsp_get(struct ck_http_ctx *c);
void ck_api_ocsp_post(struct ck_http_ctx *c);
void ck_api_public_crl(struct ck_http_ctx *c);
void ck_api_public_ca(struct ck_http_ctx *c);

/* Issuances and revocations through this server since it started
 * (certkeep_issued_total, certkeep_revoked_total in /metrics). */
extern atomic_uint_least64_t ck_api_issued_total, ck_api_revoked_total;

/* Shared by the handlers. */
/* The CA called name: its id and its certificate's DER (caller frees). */
int ck_api_ca_cert(struct ck_store *st, const char *name, int64_t *ca_id,
    uint8_t **der, size_t *len, struct ck_err *err);
/* The limit query parameter (def when absent, 1 to max); on a bad value
 * the 400 problem is sent and -1 returned. */
int ck_api_limit(struct ck_http_ctx *c, int64_t def, int64_t max, int64_t *out);
/* Refuses a body that is not JSON: 415 sent, returns -1. */
int ck_api_want_json(struct ck_http_ctx *c);

#endif
