/* JSON request bodies for the REST handlers (jansson). */
#ifndef CK_API_BODY_H
#define CK_API_BODY_H

#include <jansson.h>
#include <stdbool.h>

#include "api/api.h"
#include "lifecycle/managed.h"

/*
 * Parses body as one JSON object whose keys are all in known (NULL
 * terminated). CK_E_PARSE or CK_E_INVAL with the reason. *out is the
 * caller's (json_decref). Pure: fuzzed by tests/fuzz/api_json.c.
 */
int ck_api_json_parse(const uint8_t *body, size_t len, const char *const *known,
    json_t **out, struct ck_err *err);

/* The request's body through ck_api_json_parse; on failure the 400 or 415
 * problem is sent and -1 returned. */
int ck_api_json_body(
    struct ck_http_ctx *c, const char *const *known, json_t **out);

/* A string field: NULL when absent and not required. Borrowed from j. */
int ck_api_json_str(json_t *j, const char *key, bool required, const char **out,
    struct ck_err *err);

/* ---- bodies of the issuer and managed-certificate routes ----
 * Pure decoders of a parsed object (after ck_api_json_parse with the
 * matching field list), so that tests/fuzz/http_request.c reaches them.
 * CK_E_INVAL with the field and the reason. */

extern const char *const ck_api_issuer_fields[];
extern const char *const ck_api_manage_fields[];
extern const char *const ck_api_move_fields[];
extern const char *const ck_api_filter_fields[];

/*
 * POST /api/v1/issuers: fills d (zeroed first; strings copied, release
 * with ck_issuer_def_release() on success and failure). eab_hmac is
 * base64url text decoded to bytes; its text in j is wiped, because
 * jansson frees without wiping.
 */
int ck_api_issuer_decode(
    json_t *j, struct ck_issuer_def *d, struct ck_err *err);

#define CK_API_MAX_SANS 100

/* POST /api/v1/managed: the spec borrows from j and from this struct. */
struct ck_api_manage_body {
	struct ck_manage_spec s;
	const char *sans[CK_API_MAX_SANS];
	struct ck_buf tags; /* an array of tags joined with ',' */
	bool has_files; /* key_out, cert_out or fullchain_out given */
};
int ck_api_manage_decode(
    json_t *j, struct ck_api_manage_body *b, struct ck_err *err);
void ck_api_manage_body_release(struct ck_api_manage_body *b);

/* A managed-certificate filter (the move body's "filter", or the query of
 * GET /api/v1/managed): strings borrowed from j. */
int ck_api_filter_decode(
    json_t *j, struct ck_managed_filter *f, struct ck_err *err);
/* True for the four managed states. */
bool ck_api_managed_state_ok(const char *s);

/* POST /api/v1/managed/move: strings borrowed from j. */
struct ck_api_move {
	struct ck_managed_filter f;
	const char *to_issuer, *key_type; /* NULL: unchanged */
	double rate; /* renewals queued per second */
};
int ck_api_move_decode(json_t *j, struct ck_api_move *mv, struct ck_err *err);

#endif
