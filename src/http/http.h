/*
 * The HTTP server: HTTP/1.1 with keep-alive on libevent's evhttp, TLS
 * through OpenSSL, one event loop per worker thread on SO_REUSEPORT
 * sockets, limits on sizes, times and connections. Front doors (src/api,
 * later ACME, EST, SCEP) give it a route table; it matches routes,
 * authenticates, and hands each handler a context with the worker's own
 * store handle. Nothing here knows what a certificate is.
 */
#ifndef CK_HTTP_H
#define CK_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "store/store.h"

/* ---- routes (router.c: pure, no libevent, fuzzed) ---- */

enum ck_http_method {
	CK_HTTP_GET = 1,
	CK_HTTP_HEAD = 2,
	CK_HTTP_POST = 4,
	CK_HTTP_PUT = 8,
	CK_HTTP_DELETE = 16,
	CK_HTTP_PATCH = 32,
	CK_HTTP_OTHER = 64,
};

/* Who may call a route. Public routes need no credentials. */
enum ck_access {
	CK_ACCESS_PUBLIC,
	CK_ACCESS_AUDITOR,
	CK_ACCESS_ENROLLER, /* enroller, operator, admin */
	CK_ACCESS_OPERATOR,
	CK_ACCESS_ADMIN,
	/* an enrolled agent only, by its client certificate of the agent CA
	 * (CN=<host>, OU=certkeep-agent); never a token, never client_role */
	CK_ACCESS_AGENT,
};

#define CK_ROUTE_MAX_PARAMS 4
#define CK_ROUTE_PARAM_MAX 256

struct ck_http_ctx;
typedef void (*ck_handler)(struct ck_http_ctx *c);

struct ck_route {
	unsigned methods; /* CK_HTTP_* bits; GET implies HEAD */
	const char *pattern; /* "/api/v1/cas/{name}/crl"; "{x}" is a segment;
	                        a trailing "{x...}" takes the rest */
	ck_handler fn;
	enum ck_access access;
	bool plain; /* also served on the plain HTTP listeners */
	/* runs in a job thread, not the worker's event loop: for handlers
	 * that sign, make keys or write much (a worker keeps serving its
	 * other connections meanwhile); cannot stream */
	bool slow;
};

struct ck_route_match {
	const struct ck_route *route; /* NULL: no route */
	size_t index;
	size_t n_params;
	char params[CK_ROUTE_MAX_PARAMS][CK_ROUTE_PARAM_MAX]; /* decoded */
	unsigned allowed; /* methods the path takes, for 405's Allow */
};

/*
 * Matches a request's method and raw path (percent-encoded, without the
 * query) against routes. Returns 0 with m->route set; CK_E_NOTFOUND when
 * no pattern matches (404); CK_E_PERM when the path matches but not the
 * method (405, m->allowed says which do); CK_E_INVAL for a path that is
 * refused outright (400: not starting with '/', "." or ".." segments, NUL
 * or a control byte, a bad or encoded '/' escape, a parameter too long).
 */
int ck_route_find(const struct ck_route *routes, size_t n,
    enum ck_http_method method, const char *path, struct ck_route_match *m,
    struct ck_err *err);

/* "GET" -> CK_HTTP_GET, others CK_HTTP_OTHER. */
enum ck_http_method ck_http_method_parse(const char *s);
/* "GET, HEAD, POST" for a set of CK_HTTP_* bits. */
void ck_http_methods_str(unsigned methods, char *out, size_t cap);

/* ---- the server ---- */

struct ck_http_server;

struct ck_http_auth {
	enum ck_access role; /* CK_ACCESS_PUBLIC: none */
	char actor[300]; /* "token:<name>", "mtls:<subject>" */
	char pattern[256]; /* an enroller's name pattern, "" for none */
	/* CK_ACCESS_AGENT: the host its certificate names and the SHA-256
	 * (hex) of that certificate, for the handler to check against the
	 * enrolled agent */
	char agent[256];
	char peer_sha256[65];
};

/* Called once in each worker thread with its store, for caches a front
 * door keeps per worker (may be NULL). */
struct ck_http_opts {
	const struct ck_config *cfg;
	const struct ck_route *routes;
	size_t n_routes;
	/* Fills the server certificate and key files before every (re)load:
	 * issued or renewed by the built-in CA when they are certkeep's own.
	 * May be NULL. */
	int (*ensure_cert)(
	    void *arg, const char *cert, const char *key, struct ck_err *err);
	/* Background maintenance, in the main thread at start and every 5
	 * minutes (CRLs before their nextUpdate, ...). May be NULL. */
	void (*tick)(void *arg);
	/* Called with the new config after SIGHUP re-read it (before the
	 * limits change); an error keeps the old settings. May be NULL. */
	int (*reloaded)(
	    void *arg, const struct ck_config *cfg, struct ck_err *err);
	/* Checks a bearer token with the worker's store: fills role, actor
	 * and pattern, or returns CK_E_PERM (bad, revoked, expired). */
	int (*authenticate)(void *arg, struct ck_store *st, const char *bearer,
	    int64_t now, struct ck_http_auth *out, struct ck_err *err);
	/* PEM of the CA whose client certificates with OU=certkeep-agent
	 * identify agents (read at every TLS (re)load; ensure_cert may
	 * write it). NULL or a missing file: no agents. */
	const char *agent_ca_file;
	void *arg;
};

/*
 * Binds every listener, loads TLS, opens one store per worker and starts
 * the workers. Returns with the server running in its threads.
 */
int ck_http_server_new(const struct ck_http_opts *o,
    struct ck_http_server **out, struct ck_err *err);
/*
 * Runs until SIGTERM or SIGINT (then drains: stops accepting, lets
 * requests in flight finish for drain_timeout, exits) and handles SIGHUP
 * (reloads the config file, limits, log level and the server certificate).
 * Renews the server certificate through ensure_cert twice a day and
 * calls tick every 5 minutes.
 */
int ck_http_server_run(struct ck_http_server *s, struct ck_err *err);
void ck_http_server_free(struct ck_http_server *s);

/* The port a listener got (for ":0" in tests); kind 0 TLS, 1 plain. */
int ck_http_server_port(const struct ck_http_server *s, int kind);

/* ---- what a handler sees ---- */

struct ck_http_ctx {
	struct ck_http_server *server;
	struct ck_store *st; /* the worker's own handle */
	const struct ck_config *cfg;
	const struct ck_route_match *m;
	struct ck_http_auth auth;
	enum ck_http_method method;
	bool tls;
	int64_t now;
	void *req; /* struct evhttp_request */
	struct ck_http_stream *stream;
};

const char *ck_http_param(const struct ck_http_ctx *c, size_t i);
/* A query parameter, decoded; NULL when absent. Borrowed until reply. */
const char *ck_http_query(struct ck_http_ctx *c, const char *name);
/* True when the query has a key not in the NULL-terminated list (the
 * offending one in *bad). */
bool ck_http_query_unknown(
    struct ck_http_ctx *c, const char *const *known, const char **bad);
const char *ck_http_header(struct ck_http_ctx *c, const char *name);
/* The body; *len 0 when none. Borrowed until reply. */
const uint8_t *ck_http_body(struct ck_http_ctx *c, size_t *len);
/* The query string's path-less form (for OCSP GET), raw. */
const char *ck_http_raw_path(struct ck_http_ctx *c);

void ck_http_set_header(
    struct ck_http_ctx *c, const char *name, const char *value);
/* Sends status with body (copied); ends the exchange. */
void ck_http_reply(struct ck_http_ctx *c, int status, const char *ctype,
    const void *body, size_t len);
/* Same, taking b's bytes without a copy (b is left empty). */
void ck_http_reply_buf(
    struct ck_http_ctx *c, int status, const char *ctype, struct ck_buf *b);
/* An RFC 9457 problem document: type is the last part of
 * "urn:certkeep:problem:<type>"; detail is one line. */
void ck_http_problem(struct ck_http_ctx *c, int status, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Problem for a CK_E_* code with err's reason (404, 409, 400, 503, 500). */
void ck_http_problem_err(
    struct ck_http_ctx *c, int code, const struct ck_err *err);

/*
 * Streaming for large pages: next() is called, in the worker thread,
 * whenever the client has taken what was sent; it appends to b and
 * returns 1 for more, 0 when done, or a negative code (the connection is
 * then closed: the status is already out). state is freed by done().
 */
typedef int (*ck_http_next_fn)(
    struct ck_http_ctx *c, void *state, struct ck_buf *b);
void ck_http_stream(struct ck_http_ctx *c, int status, const char *ctype,
    ck_http_next_fn next, void (*done)(void *state), void *state);

/* ---- metrics the server keeps, for /metrics ---- */

#define CK_HTTP_LAT_BUCKETS 12
/* Upper bounds in seconds of the latency histogram's buckets. */
extern const double ck_http_lat_bounds[CK_HTTP_LAT_BUCKETS];

struct ck_http_route_stats {
	atomic_uint_least64_t by_class[6]; /* 1xx..5xx at [1..5] */
	atomic_uint_least64_t lat[CK_HTTP_LAT_BUCKETS + 1]; /* +Inf last */
	atomic_uint_least64_t lat_sum_us;
};

/* Per route (index as in the table) plus one more for unmatched paths. */
const struct ck_http_route_stats *ck_http_server_stats(
    const struct ck_http_server *s, size_t *n);
/* Open connections now, across workers. */
int64_t ck_http_server_connections(const struct ck_http_server *s);
/* Clients dropped at request_deadline since the start. */
int64_t ck_http_server_deadline_drops(const struct ck_http_server *s);

#endif
