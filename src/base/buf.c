/*
 * Growable byte buffer: the one string builder of the code base.
 */
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void
ck_buf_init(struct ck_buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void
ck_buf_release(struct ck_buf *b)
{
	free(b->p);
	ck_buf_init(b);
}

void
ck_buf_release_secret(struct ck_buf *b)
{
	if (b->p != NULL)
		ck_cleanse(b->p, b->cap);
	ck_buf_release(b);
}

void
ck_buf_reset(struct ck_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
ck_buf_reserve(struct ck_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap;

	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->p = ck_realloc(b->p, cap);
	b->cap = cap;
}

void
ck_buf_add(struct ck_buf *b, const void *p, size_t n)
{
	ck_buf_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
ck_buf_adds(struct ck_buf *b, const char *s)
{
	ck_buf_add(b, s, strlen(s));
}

void
ck_buf_addc(struct ck_buf *b, char c)
{
	ck_buf_reserve(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
ck_buf_vprintf(struct ck_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	ck_buf_reserve(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		ck_buf_reserve(b, (size_t)n);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void
ck_buf_printf(struct ck_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ck_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
ck_buf_addhex(struct ck_buf *b, const uint8_t *p, size_t n, char sep)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	ck_buf_reserve(b, n * 3);
	for (i = 0; i < n; i++) {
		if (sep && i)
			b->p[b->len++] = sep;
		b->p[b->len++] = hx[p[i] >> 4];
		b->p[b->len++] = hx[p[i] & 15];
	}
	b->p[b->len] = '\0';
}

char *
ck_buf_detach(struct ck_buf *b, size_t *len)
{
	char *p;

	if (b->p == NULL)
		ck_buf_reserve(b, 0), b->p[0] = '\0';
	p = b->p;
	if (len != NULL)
		*len = b->len;
	ck_buf_init(b);
	return p;
}
