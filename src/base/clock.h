/*
 * The clock every module reads. Tests set it (or CERTKEEP_NOW in the
 * environment, seconds since the epoch or RFC 3339) so that months of
 * lifecycle run in milliseconds.
 */
#ifndef CK_BASE_CLOCK_H
#define CK_BASE_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Seconds since the epoch, UTC. */
int64_t ck_now(void);
/* Fixes the clock at t; ck_clock_set(0) returns to the real clock. */
void ck_clock_set(int64_t t);
/* Monotonic nanoseconds, for measuring durations. */
uint64_t ck_mono_ns(void);

#define CK_TIME_STR_MAX 32
/* Formats t as RFC 3339 UTC ("2026-11-23T09:00:00Z") into out. */
void ck_time_format(int64_t t, char out[CK_TIME_STR_MAX]);
/* Parses RFC 3339 UTC (Z or +00:00) or a date (YYYY-MM-DD). */
int ck_time_parse(const char *s, int64_t *out);
/*
 * Parses a duration such as "30d", "12h", "90m", "45s", "2w" or a bare
 * number of days into seconds. Returns CK_E_INVAL on anything else.
 */
int ck_duration_parse(const char *s, int64_t *out);

/* Days from now to t, rounded toward minus infinity. */
int64_t ck_days_left(int64_t t, int64_t now);

#endif
