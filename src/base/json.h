/*
 * Streaming JSON writer into a ck_buf. Output-only: it never holds a document
 * in memory, so lists of millions of rows stream in constant space. Callers
 * place commas themselves through ck_json_sep().
 */
#ifndef CK_BASE_JSON_H
#define CK_BASE_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

/* Appends s as a JSON string literal (quotes and escapes); NULL gives null. */
void ck_json_str(struct ck_buf *b, const char *s);
/* Appends "key": with the key escaped. */
void ck_json_key(struct ck_buf *b, const char *key);
/* Appends ,"key":"value" (or without the comma when *first). */
void ck_json_kv_str(
    struct ck_buf *b, bool *first, const char *key, const char *val);
void ck_json_kv_int(
    struct ck_buf *b, bool *first, const char *key, int64_t val);
void ck_json_kv_bool(struct ck_buf *b, bool *first, const char *key, bool val);
/* Appends an RFC 3339 time string, or null when t is 0 and null_if_zero. */
void ck_json_kv_time(struct ck_buf *b, bool *first, const char *key, int64_t t);
/* Appends a comma unless *first, then clears *first. */
void ck_json_sep(struct ck_buf *b, bool *first);

#endif
