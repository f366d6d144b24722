/*
 * The HTTP client of fetch.h: one libcurl easy handle per call (or per
 * session, which keeps its connections), bounded
 * body, bounded headers, no proxies, no redirects, http and https only.
 */
#include "base/fetch.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "base/file.h"
#include "base/mem.h"

/* A trust file is read whole into memory; no bundle is larger. */
#define TRUST_FILE_MAX (4 * 1024 * 1024)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
ck_fetch_resp_init(struct ck_fetch_resp *r)
{
	memset(r, 0, sizeof(*r));
	ck_buf_init(&r->body);
}

static void
resp_headers_release(struct ck_fetch_resp *r)
{
	free(r->content_type);
	free(r->location);
	free(r->replay_nonce);
	free(r->retry_after);
	for (size_t i = 0; i < r->n_links; i++)
		free(r->links[i]);
	free(r->links);
	r->content_type = r->location = r->replay_nonce = r->retry_after = NULL;
	r->links = NULL;
	r->n_links = 0;
}

void
ck_fetch_resp_release(struct ck_fetch_resp *r)
{
	if (r == NULL)
		return;
	resp_headers_release(r);
	ck_buf_release(&r->body);
	r->status = 0;
}

struct xfer {
	struct ck_fetch_resp *resp;
	size_t max_body;
	bool too_large;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (len > x->max_body - x->resp->body.len) {
		x->too_large = true;
		return 0; /* aborts the transfer */
	}
	ck_buf_add(&x->resp->body, p, len);
	return len;
}

static void
set_header(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = ck_strndup(v, n);
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct ck_fetch_resp *r = x->resp;
	size_t len = size * n;
	const char *colon, *v, *end = p + len;

	/* A new status line starts a new header block (100 Continue, or
	 * an interim response): only the last block's headers count. */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		resp_headers_release(r);
		return len;
	}
	colon = memchr(p, ':', len);
	if (colon == NULL)
		return len;
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	if ((size_t)(end - v) > CK_FETCH_HEADER_MAX)
		return len; /* dropped, never cut: a cut value would lie */
	size_t nlen = (size_t)(colon - p);
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(p, name, nlen) == 0)
	if (IS("content-type"))
		set_header(&r->content_type, v, (size_t)(end - v));
	else if (IS("location"))
		set_header(&r->location, v, (size_t)(end - v));
	else if (IS("replay-nonce"))
		set_header(&r->replay_nonce, v, (size_t)(end - v));
	else if (IS("retry-after"))
		set_header(&r->retry_after, v, (size_t)(end - v));
	else if (IS("link") && r->n_links < CK_FETCH_LINKS_MAX) {
		r->links = ck_reallocarray(
		    r->links, r->n_links + 1, sizeof(r->links[0]));
		r->links[r->n_links++] = ck_strndup(v, (size_t)(end - v));
	}
#undef IS
	return len;
}

static bool
scheme_ok(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0 ||
	    strncasecmp(url, "http://", 7) == 0;
}

struct ck_fetch_session {
	CURL *h;
};

static int
global_ok(struct ck_err *err)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return ck_err_set(err, CK_E_INTERNAL, "fetch: curl init: %s",
		    curl_easy_strerror(global_rc));
	return 0;
}

int
ck_fetch_session_new(struct ck_fetch_session **out, struct ck_err *err)
{
	struct ck_fetch_session *s;
	int r;

	*out = NULL;
	if ((r = global_ok(err)) != 0)
		return r;
	s = ck_calloc(1, sizeof(*s));
	if ((s->h = curl_easy_init()) == NULL) {
		free(s);
		return ck_err_set(err, CK_E_INTERNAL, "fetch: curl handle");
	}
	*out = s;
	return 0;
}

void
ck_fetch_session_free(struct ck_fetch_session *s)
{
	if (s == NULL)
		return;
	curl_easy_cleanup(s->h);
	free(s);
}

int
ck_fetch(const struct ck_fetch_req *req, struct ck_fetch_resp *resp,
    struct ck_err *err)
{
	return ck_fetch_in(NULL, req, resp, err);
}

int
ck_fetch_in(struct ck_fetch_session *s, const struct ck_fetch_req *req,
    struct ck_fetch_resp *resp, struct ck_err *err)
{
	CURL *h = NULL;
	struct curl_slist *hdrs = NULL;
	struct ck_buf trust = CK_BUF_INIT;
	struct xfer x;
	const char *method = req->method != NULL ? req->method : "GET";
	char ebuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int r = CK_E_INTERNAL;

	ck_fetch_resp_init(resp);
	if (req->url == NULL || !scheme_ok(req->url))
		return ck_err_set(err, CK_E_INVAL,
		    "fetch: not an http(s) url: %s",
		    req->url != NULL ? req->url : "(none)");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "POST") != 0)
		return ck_err_set(
		    err, CK_E_INVAL, "fetch: unsupported method %s", method);
	if ((r = global_ok(err)) != 0)
		return r;
	if (req->trust_pem == NULL && req->trust_file != NULL &&
	    (r = ck_file_read(req->trust_file, TRUST_FILE_MAX, &trust, err)) !=
	        0)
		return ck_err_wrap(err, r, "fetch: trust file");
	if (req->trust_pem != NULL)
		ck_buf_add(&trust, req->trust_pem, strlen(req->trust_pem));

	/* A session's handle keeps its connections (and resolved names)
	 * across the curl_easy_reset at the end of each call. */
	if (s != NULL)
		h = s->h;
	else if ((h = curl_easy_init()) == NULL) {
		ck_buf_release(&trust);
		return ck_err_set(err, CK_E_INTERNAL, "fetch: curl handle");
	}
	x.resp = resp;
	x.max_body = req->max_body != 0 ? req->max_body : CK_FETCH_MAX_BODY;
	x.too_large = false;
	long tmo = req->timeout_ms > 0 ? req->timeout_ms : CK_FETCH_TIMEOUT_MS;

	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	/* The environment's http_proxy and friends are not ours to obey:
	 * a CA's answer must come from the CA. */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	/* Threads: no SIGALRM for the resolver's timeout. */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo);
	curl_easy_setopt(
	    h, CURLOPT_CONNECTTIMEOUT_MS, tmo < 10000 ? tmo : 10000);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "certkeep");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x.max_body);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (trust.len > 0) {
		struct curl_blob blob = {trust.p, trust.len, CURL_BLOB_COPY};
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
		/* Only these roots: not the compiled-in folder as well. */
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	if (req->client_cert != NULL && req->client_key != NULL) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, req->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEY, req->client_key);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
		    req->body != NULL ? (const char *)req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->body_len : 0));
		/* No 100-continue round trip before the body. */
		hdrs = curl_slist_append(hdrs, "Expect:");
	}
	for (size_t i = 0; i < req->n_headers; i++)
		hdrs = curl_slist_append(hdrs, req->headers[i]);
	if (hdrs != NULL)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		r = 0;
	} else if (x.too_large || rc == CURLE_FILESIZE_EXCEEDED)
		r = ck_err_set(err, CK_E_TOO_LARGE,
		    "%s: response body over %zu bytes", req->url, x.max_body);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		r = ck_err_set(err, CK_E_TIMEOUT, "%s: no answer within %ld ms",
		    req->url, tmo);
	else if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
		r = ck_err_set(err, CK_E_INVAL, "%s: %s", req->url,
		    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(rc));
	else
		r = ck_err_set(err, CK_E_IO, "%s: %s", req->url,
		    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(rc));
	/* The handle must not keep pointers into this call's frame (error
	 * buffer, header list, body) past it. */
	if (s != NULL)
		curl_easy_reset(h);
	else
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	ck_buf_release(&trust);
	return r;
}

bool
ck_fetch_retry_after(const char *v, int64_t now, int64_t *secs)
{
	char *end;
	long long n;
	time_t t;

	if (v == NULL || *v == '\0')
		return false;
	if (isdigit((unsigned char)*v)) {
		n = strtoll(v, &end, 10);
		if (*end != '\0' || n < 0)
			return false;
		*secs = n;
		return true;
	}
	t = curl_getdate(v, NULL);
	if (t == -1)
		return false;
	*secs = (int64_t)t > now ? (int64_t)t - now : 0;
	return true;
}
