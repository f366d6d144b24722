/*
 * The plain-HTTP endpoints that relying parties reach without credentials:
 * OCSP (RFC 6960 GET and POST, with RFC 5019 caching headers), CRLs and CA
 * certificates at the URLs the CA writes into what it issues.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "ca/ca.h"
#include "x509/x509.h"

/* RFC 7231 IMF-fixdate, for Last-Modified and Expires. */
static void
http_date(int64_t t, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void
ocsp_answer(struct ck_http_ctx *c, const uint8_t *req, size_t len)
{
	struct ck_err err = {0};
	uint8_t *resp = NULL, h[32];
	size_t resp_len;
	int64_t tu, nu;
	char d[40], cc[96], etag[70];
	int r;

	if ((r = ck_ocsp_respond(c->st, NULL,
	         ck_config_str(c->cfg, CK_CFG_MASTER_KEY), req, len, &resp,
	         &resp_len, &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	/* RFC 5019 section 6: caches may keep a good answer until its
	 * nextUpdate; error answers (malformed, unauthorized) are not
	 * cached. */
	if (ck_x509_ocsp_resp_times(resp, resp_len, &tu, &nu, NULL) == 0 &&
	    nu > c->now) {
		http_date(tu, d);
		ck_http_set_header(c, "Last-Modified", d);
		http_date(nu, d);
		ck_http_set_header(c, "Expires", d);
		snprintf(cc, sizeof(cc),
		    "max-age=%lld, public, no-transform, must-revalidate",
		    (long long)(nu - c->now));
		ck_http_set_header(c, "Cache-Control", cc);
		ck_sha256(resp, resp_len, h);
		etag[0] = '"';
		for (int i = 0; i < 16; i++)
			snprintf(etag + 1 + 2 * i, 3, "%02x", h[i]);
		strcat(etag, "\"");
		ck_http_set_header(c, "ETag", etag);
	}
	ck_http_reply(c, 200, "application/ocsp-response", resp, resp_len);
	free(resp);
}

void
ck_api_ocsp_post(struct ck_http_ctx *c)
{
	const char *ct = ck_http_header(c, "Content-Type");
	const uint8_t *body;
	size_t len;

	if (ct == NULL || strcasecmp(ct, "application/ocsp-request") != 0) {
		ck_http_problem(c, 415, "unsupported-media-type",
		    "OCSP requests are application/ocsp-request");
		return;
	}
	body = ck_http_body(c, &len);
	ocsp_answer(c, body ? body : (const uint8_t *)"", len);
}

void
ck_api_ocsp_get(struct ck_http_ctx *c)
{
	struct ck_buf der = CK_BUF_INIT;
	const char *b64 = ck_http_param(c, 0);

	/* the router decoded %2B, %2F, %3D; base64 of an OCSPRequest */
	if (!ck_base64_decode(b64, strlen(b64), &der)) {
		ck_buf_release(&der);
		ck_http_problem(c, 400, "malformed",
		    "GET /ocsp/ wants a base64 OCSP request (RFC 6960 A.1)");
		return;
	}
	ocsp_answer(c, (const uint8_t *)der.p, der.len);
	ck_buf_release(&der);
}

/* "name.ext" with ext one of the given; name into out. */
static const char *
split(const char *file, char *out, size_t cap)
{
	const char *dot = strrchr(file, '.');

	if (dot == NULL || dot == file || (size_t)(dot - file) >= cap)
		return NULL;
	memcpy(out, file, (size_t)(dot - file));
	out[dot - file] = '\0';
	return dot + 1;
}

void
ck_api_public_crl(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	char name[CK_ROUTE_PARAM_MAX];
	const char *ext = split(ck_http_param(c, 0), name, sizeof(name));
	uint8_t *der = NULL;
	size_t len;
	int r;

	if (ext == NULL || strcmp(ext, "crl") != 0) {
		ck_http_problem(c, 404, "not-found", "CRLs are /crl/<ca>.crl");
		return;
	}
	if ((r = ck_ca_crl(c->st, name,
	         ck_config_str(c->cfg, CK_CFG_MASTER_KEY), false, &der, &len,
	         &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_http_set_header(c, "Cache-Control", "public, max-age=3600");
	ck_http_reply(c, 200, "application/pkix-crl", der, len);
	free(der);
}

void
ck_api_public_ca(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	char name[CK_ROUTE_PARAM_MAX];
	const char *ext = split(ck_http_param(c, 0), name, sizeof(name));
	uint8_t *der = NULL;
	size_t len;
	int64_t id;
	int r;

	/* .crt is DER too: the AIA caIssuers URL (RFC 5280 4.2.2.1) */
	if (ext == NULL ||
	    (strcmp(ext, "pem") != 0 && strcmp(ext, "der") &&
	        strcmp(ext, "crt"))) {
		ck_http_problem(c, 404, "not-found",
		    "CA certificates are /ca/<ca>.pem, .der or .crt");
		return;
	}
	if ((r = ck_api_ca_cert(c->st, name, &id, &der, &len, &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_http_set_header(c, "Cache-Control", "public, max-age=86400");
	if (strcmp(ext, "pem") != 0) {
		ck_http_reply(c, 200, "application/pkix-cert", der, len);
	} else {
		struct ck_buf b = CK_BUF_INIT;
		ck_pem_encode("CERTIFICATE", der, len, &b);
		ck_http_reply_buf(c, 200, "application/x-pem-file", &b);
	}
	free(der);
}
