/*
 * Growable byte buffer used for building output, reading files and holding
 * decoded bytes. Always NUL-terminated after its len bytes, so text can be
 * handed to C string functions directly.
 */
#ifndef CK_BASE_BUF_H
#define CK_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct ck_buf {
	char *p; /* owned; NULL until first append */
	size_t len;
	size_t cap;
};

#define CK_BUF_INIT        \
	{                  \
		NULL, 0, 0 \
	}

void ck_buf_init(struct ck_buf *b);
/* Frees the storage; the buffer can be reused afterwards. */
void ck_buf_release(struct ck_buf *b);
/* Like release, but wipes the bytes first (for secrets). */
void ck_buf_release_secret(struct ck_buf *b);
void ck_buf_reset(struct ck_buf *b);
void ck_buf_reserve(struct ck_buf *b, size_t extra);
void ck_buf_add(struct ck_buf *b, const void *p, size_t n);
void ck_buf_adds(struct ck_buf *b, const char *s);
void ck_buf_addc(struct ck_buf *b, char c);
void ck_buf_printf(struct ck_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ck_buf_vprintf(struct ck_buf *b, const char *fmt, va_list ap);
/* Appends n bytes as lower-case hex, with sep between bytes if sep != 0. */
void ck_buf_addhex(struct ck_buf *b, const uint8_t *p, size_t n, char sep);
/* Hands the storage to the caller (who frees it) and empties b. */
char *ck_buf_detach(struct ck_buf *b, size_t *len);

#endif
