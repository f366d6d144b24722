/*
 * Allocation that never returns NULL: out of memory aborts, as in Redis and
 * OpenSSH. Input from outside is bounded by callers instead.
 */
#ifndef CK_BASE_MEM_H
#define CK_BASE_MEM_H

#include <stddef.h>

void *ck_malloc(size_t n);
void *ck_calloc(size_t nmemb, size_t size);
void *ck_realloc(void *p, size_t n);
/* Grows an array of nmemb elements of size bytes, checking for overflow. */
void *ck_reallocarray(void *p, size_t nmemb, size_t size);
char *ck_strdup(const char *s);
char *ck_strndup(const char *s, size_t n);
/* Duplicates n bytes of p. */
void *ck_memdup(const void *p, size_t n);

/* Wipes n bytes of p in a way the compiler cannot elide. */
void ck_cleanse(void *p, size_t n);

#endif
