/*
 * Error codes and human-readable error reasons shared by every module.
 * Functions that can fail return 0 or a negative CK_E_* code and put one
 * lower-case line into an optional struct ck_err.
 */
#ifndef CK_BASE_ERR_H
#define CK_BASE_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* Written once so names and strings never drift. */
#define CK_ERRNO_MAP(X)                        \
	X(INVAL, -1, "invalid argument")       \
	X(NOTFOUND, -2, "not found")           \
	X(EXISTS, -3, "already exists")        \
	X(TOO_LARGE, -4, "too large")          \
	X(PARSE, -5, "cannot parse")           \
	X(CRYPTO, -6, "cryptographic failure") \
	X(IO, -7, "input/output error")        \
	X(DB, -8, "database error")            \
	X(PERM, -9, "permission denied")       \
	X(TIMEOUT, -10, "timed out")           \
	X(UNAVAILABLE, -11, "unavailable")     \
	X(INTERNAL, -12, "internal error")     \
	X(FULL, -13, "no space left")

enum ck_errno {
	CK_OK = 0,
#define CK_ERR_ENUM(name, val, str) CK_E_##name = val,
	CK_ERRNO_MAP(CK_ERR_ENUM)
#undef CK_ERR_ENUM
};

#define CK_ERR_MSG_MAX 512

/* Embedded by callers (usually on the stack); never allocates. */
struct ck_err {
	int code;
	char msg[CK_ERR_MSG_MAX];
};

/* Returns a static string naming code; never NULL. */
const char *ck_strerror(int code);

/* Short machine name of code ("NOTFOUND"); never NULL. */
const char *ck_errname(int code);

/*
 * Records code and a formatted reason into err (which may be NULL) and returns
 * code, so callers can write `return ck_err_set(err, CK_E_PARSE, "...")`.
 * A reason already present is replaced; ck_err_wrap() adds context.
 */
int ck_err_set(struct ck_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing reason with "what: ", keeping code. Returns code. */
int ck_err_wrap(struct ck_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void ck_err_clear(struct ck_err *err);

/* The reason if one was set, otherwise ck_strerror(code). Never NULL. */
const char *ck_err_msg(const struct ck_err *err, int code);

/* Broken invariant: print where and abort. Never for input checking. */
#define CK_BUG(what) ck_bug(__FILE__, __LINE__, (what))
_Noreturn void ck_bug(const char *file, int line, const char *what);

#endif
