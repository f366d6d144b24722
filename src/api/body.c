/*
 * JSON request bodies: content type, size already bounded by the server,
 * parsed by jansson with duplicate keys refused, and unknown fields
 * refused so that a typo never silently means a default.
 */
#include "api/body.h"

#include <string.h>

int
ck_api_json_parse(const uint8_t *body, size_t len, const char *const *known,
    json_t **out, struct ck_err *err)
{
	json_error_t je;
	json_t *j;
	const char *k;
	json_t *v;

	*out = NULL;
	if (body == NULL || len == 0)
		return ck_err_set(err, CK_E_PARSE,
		    "empty body: want a JSON "
		    "object");
	j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return ck_err_set(
		    err, CK_E_PARSE, "JSON: %s at line %d", je.text, je.line);
	if (!json_is_object(j)) {
		json_decref(j);
		return ck_err_set(err, CK_E_PARSE, "want a JSON object");
	}
	json_object_foreach(j, k, v)
	{
		size_t i = 0;
		while (known[i] != NULL && strcmp(known[i], k) != 0)
			i++;
		if (known[i] == NULL) {
			int r = ck_err_set(
			    err, CK_E_INVAL, "unknown field '%.64s'", k);
			json_decref(j);
			return r;
		}
	}
	*out = j;
	return 0;
}

int
ck_api_json_body(struct ck_http_ctx *c, const char *const *known, json_t **out)
{
	struct ck_err err = {0};
	const uint8_t *b;
	size_t len;
	int r;

	*out = NULL;
	if (ck_api_want_json(c) != 0)
		return -1;
	b = ck_http_body(c, &len);
	if ((r = ck_api_json_parse(b, len, known, out, &err)) != 0) {
		ck_http_problem(c, 400, "malformed", "%s", err.msg);
		return -1;
	}
	return 0;
}

int
ck_api_json_str(json_t *j, const char *key, bool required, const char **out,
    struct ck_err *err)
{
	json_t *v = json_object_get(j, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return ck_err_set(
			    err, CK_E_INVAL, "field '%s' is required", key);
		return 0;
	}
	if (!json_is_string(v))
		return ck_err_set(
		    err, CK_E_INVAL, "field '%s' must be a string", key);
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v))
		return ck_err_set(
		    err, CK_E_INVAL, "field '%s' holds a NUL character", key);
	return 0;
}
