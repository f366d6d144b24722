/*
 * The agent: `certkeep agent run` on a host the server cannot write to.
 * It enrols once with a one-time token and from then on authenticates by
 * an mTLS client certificate of the built-in CA (CN=<host>,
 * OU=certkeep-agent), which it renews itself. It polls for the managed
 * certificates assigned to its host, makes their keys locally (a key
 * never leaves the host: a CSR goes to the server), deploys them with the
 * same target code as the server (deploy*.c), and reports each result and
 * its local file scans.
 *
 * Server side (agent.c): tokens, enrolment, the work list, issuance for a
 * CSR, and the reports. Agent side (agent_run.c, agent_state.c): the loop
 * and its state folder.
 */
#ifndef CK_LIFECYCLE_AGENT_H
#define CK_LIFECYCLE_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "lifecycle/managed.h"
#include "store/agents.h"
#include "store/store.h"

/* The OU of every agent's client certificate. */
#define CK_AGENT_OU "certkeep-agent"

/* "cka1-" 64 hex digits "-" host: the host rides in the token so that
 * the agent can make its request before it is enrolled. */
#define CK_AGENT_TOKEN_PREFIX "cka1-"
#define CK_AGENT_TOKEN_MAX (5 + 64 + 1 + CK_AGENT_HOST_MAX)

/* Bounds on what an agent may send. */
#define CK_AGENT_SCAN_MAX_ITEMS 500 /* certificates per scan report */
/* An agent's scan reports are kept this long (seconds) for drift. */
#define CK_AGENT_SCAN_KEEP (30 * 86400)
#define CK_AGENT_RESULTS_MAX 64 /* target results per deploy report */

/* True for a host name an agent may have: 1-253 of [A-Za-z0-9.-],
 * starting with a letter or digit. */
bool ck_agent_host_ok(const char *host);

/* ---- tokens ---- */

/*
 * Makes a one-time enrolment token for host, good until expires_at:
 * draws 32 random bytes, keeps only the token's SHA-256 and writes an
 * audit event ("agent.token"), in one transaction. token gets the token,
 * which the caller shows once and then wipes. CK_E_INVAL for a bad host
 * or an expiry not after now.
 */
int ck_agent_token_create(struct ck_store *st, const char *host, int64_t now,
    int64_t expires_at, const char *actor, char token[CK_AGENT_TOKEN_MAX + 1],
    struct ck_err *err);

/* The host a token names into host. CK_E_INVAL when token is not one. */
int ck_agent_token_host(
    const char *token, char host[CK_AGENT_HOST_MAX + 1], struct ck_err *err);

/* ---- the server's side ---- */

/* Where agents' client certificates come from. */
struct ck_agent_ca {
	const char *ca; /* built-in CA name */
	const char *master_key; /* path */
	const char *public_url; /* for CRL and AIA URLs, or NULL */
	int days; /* validity of a client certificate */
};

/* A client certificate issued to an agent. */
struct ck_agent_cert {
	char host[CK_AGENT_HOST_MAX + 1];
	struct ck_buf cert_pem; /* the leaf, then its issuers */
};
void ck_agent_cert_release(struct ck_agent_cert *c);

/*
 * Enrols the agent that holds token: the token must be known, unused and
 * not expired at now (compared in constant time); csr (DER) must ask for
 * CN=<the token's host>, OU=certkeep-agent. Issues the client certificate
 * from ca through enroll and, in the same transaction, spends the token
 * and records the agent. CK_E_PERM for a refused token (the reason says
 * which: unknown, used, expired), CK_E_INVAL for a bad request. Blocks.
 */
int ck_agent_enrol(struct ck_store *st, const struct ck_agent_ca *ca,
    const char *token, const uint8_t *csr, size_t csr_len, int64_t now,
    struct ck_agent_cert *out, struct ck_err *err);

/* Renews the client certificate of host (already authenticated) for
 * csr, which must name the same host. Blocks. */
int ck_agent_renew(struct ck_store *st, const struct ck_agent_ca *ca,
    const char *host, const uint8_t *csr, size_t csr_len, int64_t now,
    struct ck_agent_cert *out, struct ck_err *err);

/*
 * Checks that host is an active agent whose current (or, until it is
 * used, previous) client certificate has the SHA-256 sha256 (hex), and
 * records it as seen at now. CK_E_PERM otherwise.
 */
int ck_agent_check(struct ck_store *st, const char *host, const char *sha256,
    int64_t now, struct ck_err *err);

/*
 * The work of host as JSON: {"host", "now", "certificates": [{"name",
 * "cn", "sans", "key_type", "state", "current": {"sha256", "not_after",
 * "renew_at"} or null, "renew", "targets": [{"id", "kind", "config",
 * "state", "deployed_sha256"}]}]}. "renew" is true when the certificate
 * has none yet or its renewal time has come.
 */
int ck_agent_work(struct ck_store *st, const char *host, int64_t now,
    struct ck_buf *out, struct ck_err *err);

/*
 * Issues managed certificate name, which host must hold (CK_E_PERM
 * otherwise, nothing changes), for csr through its issuer and records it
 * as its current certificate (no key is stored: the agent has it).
 * chain_pem gets the leaf and its issuers. Blocks.
 */
int ck_agent_issue(struct ck_store *st, const struct ck_agent_ca *ca,
    const char *host, const char *name, const uint8_t *csr, size_t csr_len,
    int64_t now, struct ck_buf *chain_pem, struct ck_err *err);

/*
 * Records the deployment results of name's targets reported by host (a
 * JSON object {"results": [{"target", "sha256", "state", "result",
 * "output"}]}) as the server records its own: target rows, audit events
 * and deploy_failed alert states; alert (may be NULL) gets each alert
 * whose state changed, after the commit. CK_E_PERM when host does not hold name
 * or a target is not name's; CK_E_INVAL for a bad report (nothing recorded).
 */
int ck_agent_report_deploy(struct ck_store *st, const char *host,
    const char *name, const char *json, int64_t now,
    void (*alert)(void *ctx, const struct ck_renew_alert *a), void *actx,
    struct ck_err *err);

/*
 * Records a scan report of host ({"items": [{"path", "der"}]}, DER in
 * base64) in the inventory: each certificate with the location
 * "agent:<host>:<path>" (kind "agent"), in one transaction with an audit
 * event. *n gets how many were recorded. CK_E_INVAL for a bad report.
 */
int ck_agent_report_scan(struct ck_store *st, const char *host,
    const char *json, int64_t now, int64_t *n, struct ck_err *err);

/* The PEM of the built-in CA ca's certificate (appended to out), which
 * the server trusts for agents' client certificates. */
int ck_agent_ca_pem(struct ck_store *st, const char *ca, struct ck_buf *out,
    struct ck_err *err);

/* Assigns managed certificate name to host ("" gives it back to the
 * server), with an audit event. The renewer leaves held ones alone. */
int ck_agent_assign(struct ck_store *st, const char *name, const char *host,
    const char *actor, struct ck_err *err);

/* ---- the agent's side (agent_run.c) ---- */

struct ck_agent_opts {
	const char *server; /* https://host:port */
	const char *dir; /* state folder */
	const char *token; /* for the first enrolment, or NULL */
	const char *cacert; /* PEM file to trust for the server; NULL: system */
	int64_t interval; /* seconds between polls; 0: 60 */
	int64_t backoff_max; /* cap of the retry backoff; 0: 300 */
	const char *const *scan_paths; /* local file scan, or none */
	size_t n_scan;
	int64_t scan_every; /* seconds; 0: 3600 */
	bool once; /* one cycle, then return */
	int timeout_ms; /* per request; 0: 30000 */
};

/*
 * Runs the agent: enrols (with the token) unless dir holds its client
 * certificate, then cycles: renew its client certificate when two thirds
 * of its life passed, fetch the work, make keys and CSRs for what needs
 * a certificate (the key is written to dir before the CSR is sent),
 * deploy, report (reports that fail are kept in dir and sent again),
 * scan on schedule. Errors back off (doubling, with jitter, up to
 * backoff_max). Returns after one cycle with once (0 when everything
 * succeeded, else the first error), otherwise only on a fatal error or
 * when *stop becomes true (a signal handler's flag; may be NULL).
 */
int ck_agent_run(
    const struct ck_agent_opts *o, volatile int *stop, struct ck_err *err);

#endif
