/*
 * The server's side of the agent (agent.h): one-time enrolment tokens,
 * agents' client certificates from the built-in CA through enroll, the
 * work list of a host, issuance of its managed certificates for the CSRs
 * it sends (the key stays on the host), and its reports, recorded as the
 * server records its own deployments and scans.
 */
#include "lifecycle/agent.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "lifecycle/lifecycle.h"
#include "store/managed.h"
#include "x509/x509.h"

bool
ck_agent_host_ok(const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n > CK_AGENT_HOST_MAX || !isalnum((unsigned char)*host))
		return false;
	return strspn(host,
	           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	           "0123456789.-") == n;
}

/* Equal without a data-dependent early exit. */
static bool
same32(const uint8_t *a, const uint8_t *b)
{
	volatile uint8_t d = 0;

	for (int i = 0; i < 32; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static void
hex32(const uint8_t *p, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* ---- tokens ---- */

int
ck_agent_token_host(
    const char *token, char host[CK_AGENT_HOST_MAX + 1], struct ck_err *err)
{
	size_t pl = strlen(CK_AGENT_TOKEN_PREFIX);

	host[0] = '\0';
	if (strlen(token) > CK_AGENT_TOKEN_MAX ||
	    strncmp(token, CK_AGENT_TOKEN_PREFIX, pl) != 0 ||
	    strspn(token + pl, "0123456789abcdef") != 64 ||
	    token[pl + 64] != '-' || !ck_agent_host_ok(token + pl + 65))
		return ck_err_set(err, CK_E_INVAL, "not an agent token");
	snprintf(host, CK_AGENT_HOST_MAX + 1, "%s", token + pl + 65);
	return 0;
}

int
ck_agent_token_create(struct ck_store *st, const char *host, int64_t now,
    int64_t expires_at, const char *actor, char token[CK_AGENT_TOKEN_MAX + 1],
    struct ck_err *err)
{
	uint8_t rnd[32], hash[32];
	char hex[65], detail[64];
	int64_t id;
	int r;

	token[0] = '\0';
	if (!ck_agent_host_ok(host))
		return ck_err_set(err, CK_E_INVAL,
		    "'%.64s' is not a host name (letters, digits, '.', '-')",
		    host);
	if (expires_at <= now)
		return ck_err_set(
		    err, CK_E_INVAL, "the token would expire at once");
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return ck_err_set(err, CK_E_CRYPTO, "no randomness");
	hex32(rnd, hex);
	ck_cleanse(rnd, sizeof(rnd));
	snprintf(token, CK_AGENT_TOKEN_MAX + 1, "%s%s-%s",
	    CK_AGENT_TOKEN_PREFIX, hex, host);
	ck_cleanse(hex, sizeof(hex));
	ck_sha256(token, strlen(token), hash);
	snprintf(detail, sizeof(detail), "expires %lld", (long long)expires_at);
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	if ((r = ck_store_agent_token_add(
	         st, host, hash, now, expires_at, actor, &id, err)) == 0 &&
	    (r = ck_store_event_add(
	         st, actor, "agent.token", host, detail, err)) == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
out:
	if (r != 0)
		ck_cleanse(token, CK_AGENT_TOKEN_MAX + 1);
	return r;
}

/* ---- client certificates ---- */

void
ck_agent_cert_release(struct ck_agent_cert *c)
{
	if (c != NULL)
		ck_buf_release(&c->cert_pem);
}

struct tok {
	bool found;
	int64_t id, expires, used;
	char host[CK_AGENT_HOST_MAX + 1];
	uint8_t hash[32];
};

static int
take_tok(void *ctx, const struct ck_agent_token_row *t)
{
	struct tok *k = ctx;

	k->found = true;
	k->id = t->id;
	k->expires = t->expires;
	k->used = t->used;
	snprintf(k->host, sizeof(k->host), "%s", t->host);
	memcpy(k->hash, t->hash, 32);
	return 0;
}

/* What the transaction that records a client certificate does too. */
struct enrol_ctx {
	const char *host;
	int64_t token_id; /* 0: a renewal */
	int64_t now;
};

static int
enrol_recorded(void *arg, struct ck_store *st, const struct ck_enroll_res *res,
    struct ck_err *err)
{
	struct enrol_ctx *e = arg;
	struct ck_cert *c = NULL;
	char sha[65], detail[160], by[CK_AGENT_HOST_MAX + 8];
	int r;

	if ((r = ck_x509_parse(
	         res->der, res->der_len, CK_PARSE_CORE, &c, err)) != 0)
		return r;
	hex32(c->sha256, sha);
	snprintf(detail, sizeof(detail), "client certificate %.16s, serial %s",
	    sha, c->serial);
	if (e->token_id > 0 &&
	    (r = ck_store_agent_token_use(st, e->token_id, e->now, err)) != 0)
		goto out;
	if ((r = ck_store_agent_put(st, e->host, c->serial, sha, c->not_after,
	         e->token_id == 0, e->now, err)) != 0)
		goto out;
	snprintf(by, sizeof(by), "agent:%s", e->host);
	r = ck_store_event_add(st, by,
	    e->token_id ? "agent.enrol" : "agent.renew", e->host, detail, err);
out:
	ck_cert_free(c);
	return r;
}

/* The CSR must be CN=host, OU=certkeep-agent and nothing else. */
static int
check_agent_csr(
    const uint8_t *der, size_t len, const char *host, struct ck_err *err)
{
	struct ck_csr *c = NULL;
	char want[CK_AGENT_HOST_MAX + 64];
	int r;

	if ((r = ck_x509_csr_parse(der, len, &c, err)) != 0)
		return r;
	snprintf(want, sizeof(want), "OU=%s,CN=%s", CK_AGENT_OU, host);
	if (!c->signature_ok)
		r = ck_err_set(err, CK_E_INVAL,
		    "certificate request: signature does not verify");
	else if (c->subject == NULL ||
	    (strcmp(c->subject, want) != 0 &&
	        (snprintf(want, sizeof(want), "CN=%s,OU=%s", host, CK_AGENT_OU),
	            strcmp(c->subject, want) != 0)))
		r = ck_err_set(err, CK_E_INVAL,
		    "certificate request: subject is not CN=%s, OU=%s", host,
		    CK_AGENT_OU);
	else if (c->n_sans > 0)
		r = ck_err_set(err, CK_E_INVAL,
		    "certificate request: an agent's has no SANs");
	ck_csr_free(c);
	return r;
}

static int
issue_client(struct ck_store *st, const struct ck_agent_ca *ca,
    struct enrol_ctx *e, const uint8_t *csr, size_t csr_len,
    struct ck_agent_cert *out, struct ck_err *err)
{
	struct ck_enroll_req rq = {0};
	struct ck_enroll_res res = {0};
	char by[CK_AGENT_HOST_MAX + 8];
	int r;

	snprintf(by, sizeof(by), "agent:%s", e->host);
	rq.ca = ca->ca;
	rq.profile = "tls-client";
	rq.csr = csr;
	rq.csr_len = csr_len;
	rq.days = ca->days > 0 ? ca->days : 30;
	rq.requested_by = by;
	rq.master_key = ca->master_key;
	rq.public_url = ca->public_url;
	rq.recorded = enrol_recorded;
	rq.recorded_arg = e;
	if ((r = ck_enroll(st, &rq, &res, err)) != 0)
		return r;
	snprintf(out->host, sizeof(out->host), "%s", e->host);
	ck_pem_encode("CERTIFICATE", res.der, res.der_len, &out->cert_pem);
	ck_buf_add(&out->cert_pem, res.chain_pem.p, res.chain_pem.len);
	ck_enroll_res_release(&res);
	return 0;
}

int
ck_agent_enrol(struct ck_store *st, const struct ck_agent_ca *ca,
    const char *token, const uint8_t *csr, size_t csr_len, int64_t now,
    struct ck_agent_cert *out, struct ck_err *err)
{
	char host[CK_AGENT_HOST_MAX + 1];
	uint8_t hash[32];
	struct tok k = {0};
	struct ck_err e2 = {0};
	int r;

	memset(out, 0, sizeof(*out));
	if (ck_agent_token_host(token, host, err) != 0)
		return ck_err_set(err, CK_E_PERM, "not an agent token");
	ck_sha256(token, strlen(token), hash);
	r = ck_store_agent_token_find(st, hash, take_tok, &k, &e2);
	if (r == CK_E_NOTFOUND || (r == 0 && !k.found))
		return ck_err_set(err, CK_E_PERM, "unknown agent token");
	if (r != 0)
		return ck_err_set(err, r, "%s", e2.msg);
	/* found by its hash; compared again in constant time all the same,
	 * as API tokens are, so that no index lookup decides alone */
	if (!same32(k.hash, hash) || strcmp(k.host, host) != 0)
		return ck_err_set(err, CK_E_PERM, "unknown agent token");
	if (k.used != 0)
		return ck_err_set(err, CK_E_PERM, "agent token already used");
	if (now >= k.expires)
		return ck_err_set(err, CK_E_PERM, "agent token expired");
	if ((r = check_agent_csr(csr, csr_len, host, err)) != 0)
		return r;
	struct enrol_ctx e = {host, k.id, now};
	return issue_client(st, ca, &e, csr, csr_len, out, err);
}

int
ck_agent_renew(struct ck_store *st, const struct ck_agent_ca *ca,
    const char *host, const uint8_t *csr, size_t csr_len, int64_t now,
    struct ck_agent_cert *out, struct ck_err *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = check_agent_csr(csr, csr_len, host, err)) != 0)
		return r;
	struct enrol_ctx e = {host, 0, now};
	return issue_client(st, ca, &e, csr, csr_len, out, err);
}

struct agent_seen {
	bool active, match;
	const char *want;
};

static int
take_agent(void *ctx, const struct ck_agent_row *a)
{
	struct agent_seen *s = ctx;

	s->active = strcmp(a->state, "active") == 0;
	s->match = strcmp(a->sha256, s->want) == 0 ||
	    (a->prev_sha256[0] != '\0' && strcmp(a->prev_sha256, s->want) == 0);
	return 0;
}

int
ck_agent_check(struct ck_store *st, const char *host, const char *sha256,
    int64_t now, struct ck_err *err)
{
	struct agent_seen s = {false, false, sha256};
	int r = ck_store_agent_list(st, host, take_agent, &s, err);

	if (r == CK_E_NOTFOUND)
		return ck_err_set(err, CK_E_PERM, "no agent '%s'", host);
	if (r != 0)
		return r;
	if (!s.active)
		return ck_err_set(
		    err, CK_E_PERM, "agent '%s' is removed", host);
	if (!s.match)
		return ck_err_set(err, CK_E_PERM,
		    "agent '%s': not its current client certificate", host);
	(void)ck_store_agent_seen(st, host, sha256, now, NULL);
	return 0;
}

/* ---- the CA's certificate ---- */

struct ca_id {
	int64_t cert_id;
};

static int
take_ca(void *ctx, const struct ck_ca_row *ca)
{
	((struct ca_id *)ctx)->cert_id = ca->cert_id;
	return 0;
}

static int
take_der_pem(void *ctx, const struct ck_cert_row *row)
{
	ck_pem_encode("CERTIFICATE", row->der, row->der_len, ctx);
	return 0;
}

int
ck_agent_ca_pem(
    struct ck_store *st, const char *ca, struct ck_buf *out, struct ck_err *err)
{
	struct ca_id id = {0};
	int r;

	if ((r = ck_store_ca_get(st, ca, take_ca, &id, err)) != 0)
		return r;
	return ck_store_cert_get(st, id.cert_id, take_der_pem, out, err);
}

/* ---- assignment ---- */

int
ck_agent_assign(struct ck_store *st, const char *name, const char *host,
    const char *actor, struct ck_err *err)
{
	char detail[CK_AGENT_HOST_MAX + 32];
	int r;

	if (*host != '\0' && !ck_agent_host_ok(host))
		return ck_err_set(
		    err, CK_E_INVAL, "'%.64s' is not a host name", host);
	snprintf(detail, sizeof(detail), "%s%s",
	    *host ? "held by agent " : "given back to the server", host);
	if ((r = ck_store_begin(st, err)) != 0)
		return r;
	/* held: the renewer must not issue it with a key of the server's,
	 * so an open renew job goes; given back: the server has no key of
	 * it, so it issues anew now */
	if ((r = ck_store_agent_assign(st, name, host, ck_now(), err)) == 0 &&
	    (*host == '\0'
	            ? (r = ck_store_job_put(
	                   st, "renew", name, ck_now(), err)) == 0 &&
	                (r = ck_store_managed_schedule(
	                     st, name, ck_now(), NULL, -1, NULL, err)) == 0
	            : (r = ck_store_job_cancel(st, "renew", name, err)) == 0) &&
	    (r = ck_store_event_add(
	         st, actor, "agent.assign", name, detail, err)) == 0)
		r = ck_store_commit(st, err);
	if (r != 0)
		ck_store_rollback(st);
	return r;
}
