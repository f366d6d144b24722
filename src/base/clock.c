/*
 * The settable clock, and the conversions between epoch seconds and the
 * text forms users type and read.
 */
#include "base/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

static int64_t fixed_now;
static int env_checked;

int64_t
ck_now(void)
{
	if (!env_checked) {
		const char *e = getenv("CERTKEEP_NOW");
		int64_t t;

		env_checked = 1;
		if (e != NULL && *e != '\0' && fixed_now == 0 &&
		    ck_time_parse(e, &t) == 0)
			fixed_now = t;
	}
	if (fixed_now != 0)
		return fixed_now;
	return (int64_t)time(NULL);
}

void
ck_clock_set(int64_t t)
{
	env_checked = 1;
	fixed_now = t;
}

uint64_t
ck_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
ck_time_format(int64_t t, char out[CK_TIME_STR_MAX])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, CK_TIME_STR_MAX, "invalid");
		return;
	}
	if (strftime(out, CK_TIME_STR_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, CK_TIME_STR_MAX, "invalid");
}

int
ck_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	int n = 0, y, mo, d, h = 0, mi = 0, se = 0;
	char *end;
	long long v;

	/* All digits: epoch seconds. */
	v = strtoll(s, &end, 10);
	if (end != s && *end == '\0' && strlen(s) > 8) {
		*out = v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return CK_E_INVAL;
	s += n;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		if (sscanf(s + 1, "%2d:%2d:%2d%n", &h, &mi, &se, &n) != 3)
			return CK_E_INVAL;
		s += 1 + n;
		if (*s == '.') /* fractional seconds are dropped */
			while (isdigit((unsigned char)*++s))
				;
		if (*s == 'Z' || *s == 'z')
			s++;
		else if (strcmp(s, "+00:00") == 0)
			s += 6;
		else
			return CK_E_INVAL;
	}
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return CK_E_INVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int
ck_duration_parse(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t mult = 86400;

	if (s == NULL || !isdigit((unsigned char)*s))
		return CK_E_INVAL;
	v = strtoll(s, &end, 10);
	if (v < 0 || v > 100000000LL)
		return CK_E_INVAL;
	if (*end != '\0') {
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		case 'y': mult = 365 * 86400; break;
		default: return CK_E_INVAL;
		}
		if (end[1] != '\0')
			return CK_E_INVAL;
	}
	*out = (int64_t)v * mult;
	return 0;
}
