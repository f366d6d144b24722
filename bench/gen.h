/*
 * The benchmark's certificate generator: a cache folder of PEM bundles that
 * both the in-process parse loops and `certkeep import` read. Shared only by
 * the files of bench/.
 */
#ifndef CK_BENCH_GEN_H
#define CK_BENCH_GEN_H

#include <stdbool.h>
#include <stddef.h>

/* Certificates per PEM bundle file. */
#define GEN_PER_FILE 1000

/* The CA certificates (a root, then the intermediates) open the first file. */
#define GEN_N_INTERMEDIATES 4
#define GEN_N_CA (1 + GEN_N_INTERMEDIATES)

/* snprintf for paths: a path that does not fit is fatal, not cut short. */
void bench_pathf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when dir holds a complete set of n certificates (its marker file). */
bool gen_cache_complete(const char *dir, long n);

/*
 * Writes n distinct certificates as dir/certs/NNNN.pem (GEN_PER_FILE each)
 * using nproc worker processes, samples them through d2i_X509, signature
 * verification and ck_x509_parse, and writes the marker last. Blocks until
 * done; prints progress to stderr. Returns 0, or -1 after saying why.
 */
int gen_cache(const char *dir, long n, int nproc);

#endif
