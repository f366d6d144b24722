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

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm):
 * list output formats three times per row, and gmtime_r + strftime were
 * a tenth of `list --json`. */
static void
civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	uint64_t doe = (uint64_t)(z - era * 146097);
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void
ck_time_format(int64_t t, char out[CK_TIME_STR_MAX])
{
	int64_t days = t / 86400, secs = t % 86400, y;
	unsigned m, d, v;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		snprintf(out, CK_TIME_STR_MAX, "invalid");
		return;
	}
	v = (unsigned)y;
	out[0] = (char)('0' + v / 1000);
	out[1] = (char)('0' + v / 100 % 10);
	out[2] = (char)('0' + v / 10 % 10);
	out[3] = (char)('0' + v % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = 'T';
	v = (unsigned)secs;
	out[11] = (char)('0' + v / 36000);
	out[12] = (char)('0' + v / 3600 % 10);
	out[13] = ':';
	out[14] = (char)('0' + v % 3600 / 600);
	out[15] = (char)('0' + v % 3600 / 60 % 10);
	out[16] = ':';
	out[17] = (char)('0' + v % 60 / 10);
	out[18] = (char)('0' + v % 10);
	out[19] = 'Z';
	out[20] = '\0';
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

int64_t
ck_days_left(int64_t t, int64_t now)
{
	int64_t d = t - now;

	return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}
