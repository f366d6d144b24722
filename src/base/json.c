/*
 * Streaming JSON output: string escaping and key/value helpers.
 */
#include "base/json.h"

#include <stdio.h>

#include "base/clock.h"

void
ck_json_str(struct ck_buf *b, const char *s)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *run;

	if (s == NULL) {
		ck_buf_adds(b, "null");
		return;
	}
	ck_buf_addc(b, '"');
	for (;;) {
		/* Copy runs of characters that need no escape in one go. */
		for (run = p; *p >= 0x20 && *p != '"' && *p != '\\'; p++)
			;
		if (p > run)
			ck_buf_add(b, run, (size_t)(p - run));
		if (*p == '\0')
			break;
		switch (*p) {
		case '"': ck_buf_add(b, "\\\"", 2); break;
		case '\\': ck_buf_add(b, "\\\\", 2); break;
		case '\n': ck_buf_add(b, "\\n", 2); break;
		case '\r': ck_buf_add(b, "\\r", 2); break;
		case '\t': ck_buf_add(b, "\\t", 2); break;
		default: {
			char e[6] = {
			    '\\', 'u', '0', '0', hx[*p >> 4], hx[*p & 15]};
			ck_buf_add(b, e, 6);
		}
		}
		p++;
	}
	ck_buf_addc(b, '"');
}

void
ck_json_sep(struct ck_buf *b, bool *first)
{
	if (!*first)
		ck_buf_addc(b, ',');
	*first = false;
}

void
ck_json_key(struct ck_buf *b, const char *key)
{
	ck_json_str(b, key);
	ck_buf_addc(b, ':');
}

void
ck_json_kv_str(struct ck_buf *b, bool *first, const char *key, const char *val)
{
	ck_json_sep(b, first);
	ck_json_key(b, key);
	ck_json_str(b, val);
}

void
ck_json_kv_int(struct ck_buf *b, bool *first, const char *key, int64_t val)
{
	ck_json_sep(b, first);
	ck_json_key(b, key);
	ck_buf_printf(b, "%lld", (long long)val);
}

void
ck_json_kv_bool(struct ck_buf *b, bool *first, const char *key, bool val)
{
	ck_json_sep(b, first);
	ck_json_key(b, key);
	ck_buf_adds(b, val ? "true" : "false");
}

void
ck_json_kv_time(struct ck_buf *b, bool *first, const char *key, int64_t t)
{
	char ts[CK_TIME_STR_MAX];

	ck_time_format(t, ts);
	ck_json_kv_str(b, first, key, ts);
}
