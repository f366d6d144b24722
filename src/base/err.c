/*
 * Error codes and reasons: the one table that maps CK_E_* to strings, and the
 * helpers that fill struct ck_err so each failure carries one readable line.
 */
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
ck_strerror(int code)
{
	switch (code) {
	case CK_OK: return "success";
#define CK_ERR_STR(name, val, str) \
	case CK_E_##name: return str;
		CK_ERRNO_MAP(CK_ERR_STR)
#undef CK_ERR_STR
	}
	return "unknown error";
}

const char *
ck_errname(int code)
{
	switch (code) {
	case CK_OK: return "OK";
#define CK_ERR_NAME(name, val, str) \
	case CK_E_##name: return #name;
		CK_ERRNO_MAP(CK_ERR_NAME)
#undef CK_ERR_NAME
	}
	return "UNKNOWN";
}

int
ck_err_set(struct ck_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
ck_err_wrap(struct ck_err *err, int code, const char *fmt, ...)
{
	char prefix[CK_ERR_MSG_MAX], old[CK_ERR_MSG_MAX];
	char both[2 * CK_ERR_MSG_MAX + 2];
	va_list ap;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (err->msg[0] == '\0')
		snprintf(old, sizeof(old), "%s", ck_strerror(code));
	else
		memcpy(old, err->msg, sizeof(old));
	snprintf(both, sizeof(both), "%s: %s", prefix, old);
	both[sizeof(err->msg) - 1] =
	    '\0'; /* truncate the context, not the cause */
	memcpy(err->msg, both, sizeof(err->msg));
	err->code = code;
	return code;
}

void
ck_err_clear(struct ck_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

const char *
ck_err_msg(const struct ck_err *err, int code)
{
	if (err != NULL && err->msg[0] != '\0')
		return err->msg;
	return ck_strerror(code);
}

void
ck_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "certkeep: internal error at %s:%d: %s\n", file, line,
	    what);
	abort();
}
