/* JSON request bodies for the REST handlers (jansson). */
#ifndef CK_API_BODY_H
#define CK_API_BODY_H

#include <jansson.h>
#include <stdbool.h>

#include "api/api.h"

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

#endif
