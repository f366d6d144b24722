/*
 * The route table of `certkeep serve`: every path the server answers, the
 * methods, who may call it, and whether plain HTTP may reach it. The
 * OpenAPI document lists the same routes (tests/unit/api checks both ways).
 * "plain": also on the plain HTTP listeners; "slow": the handler runs in a
 * job thread (it signs, makes keys or writes) so the worker goes on.
 */
#include "acme/acme.h"
#include "api/api.h"

#define GET CK_HTTP_GET
#define POST CK_HTTP_POST
#define DELETE CK_HTTP_DELETE

/* clang-format off */
static const struct ck_route routes[] = {
    {GET, "/healthz", ck_api_healthz, CK_ACCESS_PUBLIC, true, false},
    {GET, "/readyz", ck_api_readyz, CK_ACCESS_PUBLIC, true, false},
    {GET, "/metrics", ck_api_metrics, CK_ACCESS_AUDITOR, false, false},
    {GET, "/ocsp/{request...}", ck_api_ocsp_get, CK_ACCESS_PUBLIC, true, false},
    {POST, "/ocsp", ck_api_ocsp_post, CK_ACCESS_PUBLIC, true, false},
    {GET, "/crl/{file}", ck_api_public_crl, CK_ACCESS_PUBLIC, true, true},
    {GET, "/ca/{file}", ck_api_public_ca, CK_ACCESS_PUBLIC, true, false},
    {GET, "/api/v1/openapi.yaml", ck_api_openapi, CK_ACCESS_PUBLIC, false, false},
    {GET, "/api/v1/certificates", ck_api_certs_list, CK_ACCESS_AUDITOR, false, false},
    {POST, "/api/v1/certificates", ck_api_certs_import, CK_ACCESS_OPERATOR, false, true},
    {GET, "/api/v1/certificates/{id}", ck_api_cert_get, CK_ACCESS_AUDITOR, false, false},
    {GET, "/api/v1/certificates/{id}/locations", ck_api_cert_locations, CK_ACCESS_AUDITOR, false, false},
    {POST, "/api/v1/certificates/{id}/revoke", ck_api_cert_revoke, CK_ACCESS_OPERATOR, false, true},
    {GET, "/api/v1/cas", ck_api_cas_list, CK_ACCESS_AUDITOR, false, false},
    {GET, "/api/v1/cas/{name}", ck_api_ca_get, CK_ACCESS_AUDITOR, false, false},
    {POST, "/api/v1/cas/{name}/issue", ck_api_ca_issue, CK_ACCESS_ENROLLER, false, true},
    {GET, "/api/v1/cas/{name}/crl", ck_api_ca_crl, CK_ACCESS_AUDITOR, false, true},
    {GET, "/api/v1/stats", ck_api_stats, CK_ACCESS_AUDITOR, false, false},
    {GET, "/api/v1/events", ck_api_events, CK_ACCESS_AUDITOR, false, false},
    {GET, "/api/v1/tokens", ck_api_tokens_list, CK_ACCESS_ADMIN, false, false},
    {POST, "/api/v1/tokens", ck_api_token_create, CK_ACCESS_ADMIN, false, true},
    {DELETE, "/api/v1/tokens/{ref}", ck_api_token_revoke, CK_ACCESS_ADMIN, false, false},
    {GET, "/api/v1/scans", ck_api_scans_list, CK_ACCESS_AUDITOR, false, false},
    {POST, "/api/v1/scans", ck_api_scan_create, CK_ACCESS_OPERATOR, false, true},
    {DELETE, "/api/v1/scans/{name}", ck_api_scan_delete, CK_ACCESS_OPERATOR, false, true},
    {POST, "/api/v1/scans/{name}/run", ck_api_scan_run, CK_ACCESS_OPERATOR, false, false},
    {GET, "/api/v1/scans/{name}/results", ck_api_scan_results, CK_ACCESS_AUDITOR, false, false},
    {GET, "/api/v1/issuers", ck_api_issuers_list, CK_ACCESS_AUDITOR, false, false},
    {POST, "/api/v1/issuers", ck_api_issuer_create, CK_ACCESS_ADMIN, false, true},
    {GET, "/api/v1/issuers/{name}", ck_api_issuer_get, CK_ACCESS_AUDITOR, false, false},
    {DELETE, "/api/v1/issuers/{name}", ck_api_issuer_delete, CK_ACCESS_ADMIN, false, true},
    {GET, "/api/v1/managed", ck_api_managed_list, CK_ACCESS_AUDITOR, false, false},
    {POST, "/api/v1/managed", ck_api_managed_create, CK_ACCESS_OPERATOR, false, true},
    {POST, "/api/v1/managed/adopt", ck_api_managed_adopt, CK_ACCESS_OPERATOR, false, true},
    {POST, "/api/v1/managed/move", ck_api_managed_move, CK_ACCESS_ADMIN, false, true},
    {GET, "/api/v1/managed/{name}", ck_api_managed_get, CK_ACCESS_AUDITOR, false, false},
    {POST, "/api/v1/managed/{name}/renew", ck_api_managed_renew, CK_ACCESS_OPERATOR, false, false},
    {POST, "/api/v1/managed/{name}/retire", ck_api_managed_retire, CK_ACCESS_OPERATOR, false, true},
    {GET, "/api/v1/jobs", ck_api_jobs_list, CK_ACCESS_AUDITOR, false, false},
    /* the agent (src/lifecycle/agent*.c): enrol is public, its token is
     * the credential; the rest take an agent's client certificate only */
    {GET, "/api/v1/agents", ck_api_agents_list, CK_ACCESS_AUDITOR, false, false},
    {POST, "/api/v1/agent/enrol", ck_api_agent_enrol, CK_ACCESS_PUBLIC, false, true},
    {POST, "/api/v1/agent/renew", ck_api_agent_renew, CK_ACCESS_AGENT, false, true},
    {GET, "/api/v1/agent/work", ck_api_agent_work, CK_ACCESS_AGENT, false, true},
    {POST, "/api/v1/agent/certs/{name}/csr", ck_api_agent_csr, CK_ACCESS_AGENT, false, true},
    {POST, "/api/v1/agent/certs/{name}/deployments", ck_api_agent_deployed, CK_ACCESS_AGENT, false, true},
    {POST, "/api/v1/agent/scan", ck_api_agent_scan, CK_ACCESS_AGENT, false, true},
    /* ACME (src/acme): public to the router, each POST authenticates by
     * its JWS; challenge, finalize and revoke-cert validate, sign or
     * revoke, so they run in job threads. */
    {GET, "/acme/{ca}/directory", ck_acme_directory, CK_ACCESS_PUBLIC, false, false},
    {GET, "/acme/{ca}/new-nonce", ck_acme_new_nonce, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/new-account", ck_acme_new_account, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/account/{id}", ck_acme_account, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/account/{id}/orders", ck_acme_account_orders, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/account/{id}/orders/{after}", ck_acme_account_orders, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/key-change", ck_acme_key_change, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/new-order", ck_acme_new_order, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/order/{id}", ck_acme_order, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/order/{id}/finalize", ck_acme_finalize, CK_ACCESS_PUBLIC, false, true},
    {POST, "/acme/{ca}/authz/{id}", ck_acme_authz, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/chall/{id}", ck_acme_challenge, CK_ACCESS_PUBLIC, false, true},
    {POST, "/acme/{ca}/cert/{id}", ck_acme_certificate, CK_ACCESS_PUBLIC, false, false},
    {POST, "/acme/{ca}/revoke-cert", ck_acme_revoke, CK_ACCESS_PUBLIC, false, true},
    {GET, "/acme/{ca}/renewal-info/{certid}", ck_acme_renewal_info, CK_ACCESS_PUBLIC, false, false},
};
/* clang-format on */

void
ck_api_routes(const struct ck_route **out, size_t *n)
{
	*out = routes;
	*n = sizeof(routes) / sizeof(routes[0]);
}
