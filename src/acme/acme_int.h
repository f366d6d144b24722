/*
 * Shared by the files of src/acme/ only: problems, the JWS decoder and
 * checker (pure, no store: unit-tested and fuzzed), and the request
 * context every handler builds first.
 */
#ifndef CK_ACME_INT_H
#define CK_ACME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "acme/acme.h"
#include "base/buf.h"
#include "store/acme.h"
#include "x509/jose.h"

/* Largest JWS body taken; the largest real one is a finalize with an
 * RSA-8192 CSR, well under this. */
#define ACME_MAX_BODY 65536
#define ACME_NONCE_TTL 3600
#define ACME_ORDER_TTL (7 * 86400)
#define ACME_MAX_IDENTIFIERS 100
#define ACME_ORDERS_PAGE 100

/* A problem document (RFC 8555 section 6.7): type is the part after
 * "urn:ietf:params:acme:error:". */
struct acme_prob {
	int status;
	const char *type;
	char detail[256];
};

/* Sets p to the RFC's status for type; returns -1 for `return` chains. */
int acme_prob(struct acme_prob *p, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A decoded (not yet checked) flattened JWS. */
struct acme_jws {
	json_t *hdr; /* protected header */
	const char *alg, *nonce, *url, *kid; /* borrowed from hdr */
	json_t *jwk; /* borrowed from hdr, or NULL */
	json_t *payload; /* NULL for POST-as-GET */
	struct ck_buf input; /* signing input: protected "." payload */
	struct ck_buf sig;
};
void acme_jws_release(struct acme_jws *j);

/*
 * Decodes a flattened JWS (RFC 7515 7.2.2) as RFC 8555 section 6.2 wants
 * it: members protected, payload, signature only; protected header with
 * alg in RS256/ES256/ES384/EdDSA, nonce, url and exactly one of jwk, kid;
 * payload empty (POST-as-GET) or a JSON object. -1 with p filled when it
 * is not that; j is then released.
 */
int acme_jws_decode(
    const uint8_t *body, size_t len, struct acme_jws *j, struct acme_prob *p);

/* Checks url against the request's and the signature with k. */
int acme_jws_check(const struct acme_jws *j, const char *url,
    const struct ck_jwk *k, struct acme_prob *p);

/*
 * Checks an External Account Binding (RFC 8555 7.3.4): eab is the
 * flattened JWS from newAccount's payload, url the newAccount URL, jwk
 * the outer key. On success kid gets the EAB key id; verifying the MAC
 * needs the key, so the caller passes a lookup.
 */
int acme_eab_check(const json_t *eab, const char *url, const struct ck_jwk *jwk,
    int (*key)(void *arg, const char *kid, struct ck_buf *hmac), void *arg,
    char kid[64], struct acme_prob *p);

/*
 * Checks keyChange's payload (RFC 8555 7.3.5): inner is the flattened
 * JWS signed by the new key, with jwk, url equal to the outer url and no
 * nonce; its payload names account (the outer kid) and oldKey (equal to
 * old). On success *newkey gets the new key (the caller's); else -1 with
 * p. Pure: unit-tested and fuzzed with the rest of jws.c.
 */
int acme_keychange_check(const json_t *inner, const char *url,
    const char *account, const struct ck_jwk *old, struct ck_jwk **newkey,
    struct acme_prob *p);

/* ---- request context (wire.c) ---- */

struct acme_req {
	struct ck_http_ctx *c;
	struct ck_store *st;
	const char *ca;
	char base[512]; /* https://host/acme/<ca> */
	char url[1024]; /* this request's URL */
	char up[720]; /* Link rel="up" of the answer, "" for none */
	struct acme_jws jws;
	struct ck_jwk *key; /* the key that signed (owned) */
	struct ck_acme_account acct; /* when signed by kid, or found */
	bool has_acct;
};

/* Fills base/url and checks the CA exists; on failure answers. */
int acme_req_init(struct acme_req *r, struct ck_http_ctx *c);
/*
 * Reads, decodes and checks the JWS of a POST: content type, nonce
 * (used up), url, key (jwk or kid; kid loads r->acct, which must be
 * valid), signature. want_jwk: 1 the route takes jwk (newAccount), 0
 * kid, -1 either (revokeCert). On failure answers and returns -1.
 */
int acme_req_post(struct acme_req *r, int want_jwk);
void acme_req_release(struct acme_req *r);

/* Answers: every answer carries a fresh Replay-Nonce and Link index. */
void acme_reply_json(
    struct acme_req *r, int status, json_t *body, const char *location);
void acme_reply_prob(struct acme_req *r, const struct acme_prob *p);
void acme_reply_raw(struct acme_req *r, int status, const char *ctype,
    const void *body, size_t len);
/* A problem answered from outside a request context (no CA yet). */
void acme_answer_prob(struct ck_http_ctx *c, const struct acme_prob *p);
/* Adds the Replay-Nonce and Link headers to c's answer. */
void acme_headers(struct ck_http_ctx *c, const char *base, const char *up);

/* The problem JSON object of p (new reference). */
json_t *acme_prob_json(const struct acme_prob *p);

/* ---- accounts (account.c) ---- */
/* Whether ca's [acme] eab_required names it (or is "*"). */
bool acme_eab_required(const struct ck_config *cfg, const char *ca);
/* ACME profiles ([acme] profiles, wire.c): whether name is offered; the
 * profile of an order that names none (the first offered, else
 * tls-server). */
bool acme_profile_offered(const struct ck_config *cfg, const char *name);
void acme_profile_default(const struct ck_config *cfg, char *out, size_t cap);
/* The account object of a. */
json_t *acme_account_json(struct acme_req *r, const struct ck_acme_account *a);

/* ---- objects (order.c) ---- */
/* JSON of an order / authorization as the RFC shows them. */
json_t *acme_order_json(
    struct acme_req *r, const struct ck_acme_order *o, int64_t now);
json_t *acme_authz_json(struct acme_req *r, const struct ck_acme_authz *a);
json_t *acme_chall_json(struct acme_req *r, const struct ck_acme_chall *ch);
/* After a challenge ends: the authorization and the order move on. */
int acme_authz_settle(
    struct ck_store *st, int64_t authz_id, bool valid, struct ck_err *err);

/* ---- DNS (dns.c) ---- */
/* [acme] resolver: system (getaddrinfo and the system's DNS servers),
 * static:ADDR (every name is ADDR; no TXT or CAA: tests of http-01),
 * dns:IPV4:PORT or dns:[IPV6]:PORT (that DNS server for everything). */
enum acme_res_kind { ACME_RES_SYSTEM, ACME_RES_STATIC, ACME_RES_DNS };
struct acme_resolver {
	enum acme_res_kind kind;
	char addr[64]; /* static: */
	struct sockaddr_storage server; /* dns: */
	socklen_t server_len;
};
/* 0, or -1 when the text is none of the forms above. */
int acme_resolver_parse(const char *resolver, struct acme_resolver *out);

#define ACME_DNS_A 1
#define ACME_DNS_TXT 16
#define ACME_DNS_AAAA 28
#define ACME_DNS_CAA 257
/* Called with each record's rdata; non-zero stops with a failure. */
typedef int (*acme_dns_cb)(void *arg, const uint8_t *rdata, size_t len);
/*
 * Asks for name's records of type (CNAMEs followed, up to 8). Returns
 * how many there were (0 for NXDOMAIN or no data), or -1 with p (type
 * dns) when the lookup failed: SERVFAIL, refused, timeout. Blocks for
 * 10 s at most (2 tries of 2 s per server and hop).
 */
int acme_dns_lookup(const struct acme_resolver *rv, const char *name, int type,
    acme_dns_cb cb, void *arg, struct acme_prob *p);
/* A TXT record's strings joined into out; -1 when it does not fit. */
int acme_txt_value(const uint8_t *rd, size_t len, char *out, size_t cap);

#define ACME_CAA_MAX 32
struct acme_caa {
	bool critical;
	char tag[16]; /* lower case */
	char value[256];
};
int acme_caa_parse(const uint8_t *rd, size_t len, struct acme_caa *c);
/* Whether the CAA set (non-empty) lets the CA whose identities are ids
 * (comma-separated domain names) issue for a name (wildcard or not);
 * why gets the reason when not. Pure. */
bool acme_caa_permits(const struct acme_caa *set, size_t n, bool wildcard,
    const char *ids, char *why, size_t whylen);
/* RFC 8659 for one DNS name ("*.x" for a wildcard): climbs from the name
 * to the top label for the first non-empty CAA set; 0 when it permits
 * (or there is none), -1 with p (type caa) when it forbids or a lookup
 * fails. Blocks, 30 s at most (then refuses). */
int acme_caa_check(const struct acme_resolver *rv, const char *name,
    const char *ids, struct acme_prob *p);

/* ---- renewal information (ari.c) ---- */
/* Splits a CertID (RFC 9773 4.1) into the serial as the inventory writes
 * it (lower-case hex, no sign byte) and the key id in hex (appended to
 * aki_hex). -1 with p (malformed) when it is not one. */
int acme_certid_parse(const char *certid, char serial[64],
    struct ck_buf *aki_hex, struct acme_prob *p);
/* The suggested window of a certificate: the default renewal rule's
 * span (ck_renew_time at 2/3), ending at early_at (0: none) or the
 * revocation time when either is earlier. Pure. */
void acme_ari_window(const struct ck_acme_issued *is, int64_t early_at,
    int64_t *start, int64_t *end);
/* newOrder's "replaces": a certificate of this CA that r's account
 * ordered and no other live order replaces; else -1 with p (malformed,
 * unauthorized or alreadyReplaced). */
int acme_replaces_check(
    struct acme_req *r, const char *certid, struct acme_prob *p);

/* ---- policy at the door (policy.c) ---- */
/* Whether name is one of the comma-separated suffixes or under one at a
 * label boundary; "" allows all. Pure. */
bool acme_name_allowed(const char *name, const char *suffixes);
/* newOrder's identifiers against [acme] max_names, allowed_domains and
 * the account's EAB key's allow list: -1 with p (rejectedIdentifier). */
int acme_policy_names(
    struct acme_req *r, const json_t *ids, struct acme_prob *p);
/* [acme] orders_per_hour and domain_orders_per_hour: -1 with p
 * (rateLimited) and a Retry-After header on r's answer. */
int acme_policy_rate(
    struct acme_req *r, const json_t *ids, struct acme_prob *p);
/* Inside newOrder's transaction: the order's registered domains, which
 * later orders are counted by. */
int acme_policy_record(struct acme_req *r, int64_t order_id, const json_t *ids,
    struct ck_err *err);

/* ---- validation (validate.c) ---- */
struct acme_validate_cfg {
	int http01_port, tlsalpn_port;
	struct acme_resolver resolver;
	int timeout_ms;
};
/* Where an http-01 fetch goes: the first request, then each redirect. */
struct acme_http_target {
	char host[256];
	int port;
	bool tls;
	char path[512];
};
/* Follows a Location (absolute http or https URL, or a path on the same
 * host) from t: false when it leaves the allowed ports (http_port for
 * http, https_port for https), is not a URL we take, or is too long; t
 * is unchanged then. Pure. */
bool acme_redirect_parse(
    const char *loc, struct acme_http_target *t, int http_port, int https_port);
/* Runs the http-01 check for name; 0 when the key authorization came
 * back, else -1 with p (type connection / incorrectResponse / dns).
 * Blocks for up to timeout_ms. */
int acme_validate_http01(const struct acme_validate_cfg *cfg, const char *name,
    const char *token, const char *keyauth, struct acme_prob *p);
/* The dns-01 check (RFC 8555 8.4): a TXT record at
 * _acme-challenge.<name> holding base64url(SHA-256(keyauth)). Same
 * contract; blocks for seconds at most. */
int acme_validate_dns01(const struct acme_validate_cfg *cfg, const char *name,
    const char *keyauth, struct acme_prob *p);
/* The tls-alpn-01 check (RFC 8737) of identifier (type "dns" or "ip");
 * same contract as http-01. */
int acme_validate_tlsalpn01(const struct acme_validate_cfg *cfg,
    const char *type, const char *value, const char *keyauth,
    struct acme_prob *p);

#endif
