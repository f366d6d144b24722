/*
 * libFuzzer harness for what the server reads from a request before any
 * handler: the method and path through the router (against the real
 * route table), the query string decoded as evhttp does, and a JSON body
 * through the REST decoder with the issue endpoint's fields, then with
 * the issuer, managed-certificate and move fields into their decoders.
 * Input: the first line is "METHOD PATH", the rest is the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/api.h"
#include "api/body.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bodies of /api/v1/issuers, /api/v1/managed and .../move. */
static void
body_decoders(const uint8_t *b, size_t len)
{
	struct ck_api_manage_body mb;
	struct ck_issuer_def d;
	struct ck_api_move mv;
	struct ck_err err;
	json_t *j;

	if (ck_api_json_parse(b, len, ck_api_issuer_fields, &j, &err) == 0) {
		(void)ck_api_issuer_decode(j, &d, &err);
		ck_issuer_def_release(&d);
		json_decref(j);
	}
	if (ck_api_json_parse(b, len, ck_api_manage_fields, &j, &err) == 0) {
		(void)ck_api_manage_decode(j, &mb, &err);
		ck_api_manage_body_release(&mb);
		json_decref(j);
	}
	if (ck_api_json_parse(b, len, ck_api_move_fields, &j, &err) == 0) {
		(void)ck_api_move_decode(j, &mv, &err);
		json_decref(j);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = {"profile", "csr", "cn", "sans",
	    "key_type", "key_format", "password", "days", NULL};
	const uint8_t *nl = memchr(data, '\n', size);
	size_t line = nl ? (size_t)(nl - data) : size;
	const struct ck_route *routes;
	struct ck_route_match m;
	struct ck_err err;
	size_t n;
	char *l = malloc(line + 1), *sp, *q;
	json_t *j = NULL;

	if (l == NULL)
		return 0;
	memcpy(l, data, line);
	l[line] = '\0';
	ck_api_routes(&routes, &n);
	if ((sp = strchr(l, ' ')) != NULL && memchr(l, '\0', line) == NULL) {
		*sp = '\0';
		if ((q = strchr(sp + 1, '?')) != NULL) {
			struct evkeyvalq kv;
			*q = '\0';
			TAILQ_INIT(&kv);
			if (evhttp_parse_query_str(q + 1, &kv) == 0)
				evhttp_clear_headers(&kv);
		}
		(void)ck_route_find(
		    routes, n, ck_http_method_parse(l), sp + 1, &m, &err);
	}
	free(l);
	if (nl == NULL)
		return 0;
	if (ck_api_json_parse(nl + 1, size - line - 1, known, &j, &err) == 0)
		json_decref(j);
	body_decoders(nl + 1, size - line - 1);
	return 0;
}
