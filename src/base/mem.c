/*
 * Allocation wrappers: the single place where out-of-memory is handled (by
 * aborting), so no caller carries a NULL check for it.
 */
#include "base/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Noreturn void
oom(size_t n)
{
	fprintf(stderr, "certkeep: out of memory (%zu bytes)\n", n);
	abort();
}

void *
ck_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
ck_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
ck_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

void *
ck_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		oom(SIZE_MAX);
	return ck_realloc(p, nmemb * size);
}

char *
ck_strdup(const char *s)
{
	return ck_memdup(s, strlen(s) + 1);
}

char *
ck_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = ck_malloc(len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

void *
ck_memdup(const void *p, size_t n)
{
	void *d = ck_malloc(n);

	if (n)
		memcpy(d, p, n);
	return d;
}

void
ck_cleanse(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}
