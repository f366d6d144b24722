/*
 * A small blocking HTTP client over libcurl for talking to other servers:
 * upstream CAs (ACME), webhooks, CRL and OCSP fetches. One call is one
 * request and one response, bounded in size and time. Proxies from the
 * environment are never used, redirects are never followed and only http
 * and https URLs are accepted, so a caller sees exactly the server it
 * named.
 */
#ifndef CK_BASE_FETCH_H
#define CK_BASE_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Defaults when a request leaves a bound at 0. */
#define CK_FETCH_MAX_BODY (1024 * 1024)
#define CK_FETCH_TIMEOUT_MS 30000
/* Response headers kept: each value up to this many bytes, at most this
 * many Link values; longer values and further links are dropped. */
#define CK_FETCH_HEADER_MAX 4096
#define CK_FETCH_LINKS_MAX 16

/*
 * One request. Every pointer is borrowed for the call.
 */
struct ck_fetch_req {
	const char *method; /* "GET", "HEAD" or "POST"; NULL: GET */
	const char *url; /* http:// or https:// */
	/* Extra request headers as "Name: value" lines. */
	const char *const *headers;
	size_t n_headers;
	const void *body; /* POST body, or NULL */
	size_t body_len;
	size_t max_body; /* largest response body taken; 0: default */
	int timeout_ms; /* the whole exchange; 0: default */
	/* Roots to trust for https: PEM text, else a PEM file, else (both
	 * NULL) the system store. */
	const char *trust_pem;
	const char *trust_file;
	/* A client certificate (PEM file, chain after it) and its key (PEM
	 * file) for mTLS, or both NULL. */
	const char *client_cert;
	const char *client_key;
};

/*
 * One response. Every pointer is owned by the struct and freed by
 * ck_fetch_resp_release(); headers that were absent are NULL. Header
 * values are trimmed of surrounding white space.
 */
struct ck_fetch_resp {
	long status; /* HTTP status code */
	struct ck_buf body; /* NUL-terminated after body.len bytes */
	char *content_type;
	char *location;
	char *replay_nonce;
	char *retry_after;
	char **links; /* each Link header value, in order */
	size_t n_links;
};

void ck_fetch_resp_init(struct ck_fetch_resp *r);
/* Frees what r holds; r may be reused afterwards. Accepts NULL. */
void ck_fetch_resp_release(struct ck_fetch_resp *r);

/*
 * Performs req and fills resp (initialised here; the caller releases it
 * whatever the result). Blocks for at most the request's timeout. Any
 * HTTP status is a success: the caller judges resp->status. Fails with
 * CK_E_INVAL for a bad request (no URL, an unsupported scheme or method),
 * CK_E_TIMEOUT when the time is up, CK_E_TOO_LARGE when the body exceeds
 * max_body, CK_E_IO for anything else (name resolution, connection, TLS,
 * trust), with the reason naming the URL. Thread-safe: each call uses its
 * own handle (and its own connection, closed at the end).
 */
int ck_fetch(const struct ck_fetch_req *req, struct ck_fetch_resp *resp,
    struct ck_err *err);

/*
 * A session: the requests of one conversation with one server (an ACME
 * order is ten of them) go over the connections the session keeps open,
 * so one TLS handshake serves them all instead of one each. Not for two
 * threads at once. ck_fetch_session_free closes the connections; NULL is
 * accepted.
 */
struct ck_fetch_session;
int ck_fetch_session_new(struct ck_fetch_session **out, struct ck_err *err);
void ck_fetch_session_free(struct ck_fetch_session *s);
/* ck_fetch over s's connections; s NULL is ck_fetch. */
int ck_fetch_in(struct ck_fetch_session *s, const struct ck_fetch_req *req,
    struct ck_fetch_resp *resp, struct ck_err *err);

/*
 * Reads a Retry-After value (RFC 9110: delay-seconds or an HTTP-date)
 * into seconds from now (0 when the date is past). Returns false when v
 * is NULL or neither form.
 */
bool ck_fetch_retry_after(const char *v, int64_t now, int64_t *secs);

#endif
