/*
 * Unit tests for src/base: buffers, time and durations, JSON escaping,
 * bounded file reads and error strings.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/file.h"
#include "base/json.h"

Test(buf, grows_and_stays_terminated)
{
	struct ck_buf b = CK_BUF_INIT;

	for (int i = 0; i < 1000; i++)
		ck_buf_printf(&b, "%d,", i);
	cr_assert_eq(strlen(b.p), b.len);
	cr_assert(strncmp(b.p, "0,1,2,", 6) == 0);
	cr_assert(strcmp(b.p + b.len - 4, "999,") == 0);
	ck_buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(b.p, "");
	ck_buf_addhex(&b, (const uint8_t *)"\x01\xab\xff", 3, ':');
	cr_assert_str_eq(b.p, "01:ab:ff");
	ck_buf_release(&b);
}

Test(clock, format_and_parse_round_trip)
{
	char s[CK_TIME_STR_MAX];
	int64_t t;

	ck_time_format(1795424400, s);
	cr_assert_str_eq(s, "2026-11-23T09:00:00Z");
	cr_assert_eq(ck_time_parse("2026-11-23T09:00:00Z", &t), 0);
	cr_assert_eq(t, 1795424400);
	cr_assert_eq(ck_time_parse("2026-11-23", &t), 0);
	cr_assert_eq(t, 1795392000);
	cr_assert_eq(ck_time_parse("2026-11-23T09:00:00.123+00:00", &t), 0);
	cr_assert_eq(t, 1795424400);
	cr_assert_eq(ck_time_parse("1795424400", &t), 0);
	cr_assert_eq(t, 1795424400);
	cr_assert_eq(ck_time_parse("2026-13-01", &t), CK_E_INVAL);
	cr_assert_eq(ck_time_parse("yesterday", &t), CK_E_INVAL);
	cr_assert_eq(
	    ck_time_parse("2026-11-23T09:00:00+02:00", &t), CK_E_INVAL);
}

Test(clock, settable)
{
	ck_clock_set(1000000000);
	cr_assert_eq(ck_now(), 1000000000);
	ck_clock_set(0);
	cr_assert_gt(ck_now(), 1700000000);
}

Test(clock, durations)
{
	int64_t d;

	cr_assert_eq(ck_duration_parse("30d", &d), 0);
	cr_assert_eq(d, 30 * 86400);
	cr_assert_eq(ck_duration_parse("12h", &d), 0);
	cr_assert_eq(d, 12 * 3600);
	cr_assert_eq(ck_duration_parse("2w", &d), 0);
	cr_assert_eq(d, 14 * 86400);
	cr_assert_eq(ck_duration_parse("90", &d), 0);
	cr_assert_eq(d, 90 * 86400);
	cr_assert_eq(ck_duration_parse("45s", &d), 0);
	cr_assert_eq(d, 45);
	cr_assert_eq(ck_duration_parse("-3d", &d), CK_E_INVAL);
	cr_assert_eq(ck_duration_parse("3dd", &d), CK_E_INVAL);
	cr_assert_eq(ck_duration_parse("d", &d), CK_E_INVAL);
	cr_assert_eq(ck_duration_parse("", &d), CK_E_INVAL);
}

Test(json, escapes_everything_json_requires)
{
	struct ck_buf b = CK_BUF_INIT;
	bool first = true;

	ck_json_str(&b,
	    "a\"b\\c\nd\te\x01"
	    "f/ü");
	cr_assert_str_eq(b.p, "\"a\\\"b\\\\c\\nd\\te\\u0001f/ü\"");
	ck_buf_reset(&b);
	ck_buf_addc(&b, '{');
	ck_json_kv_str(&b, &first, "k", NULL);
	ck_json_kv_int(&b, &first, "n", -5);
	ck_json_kv_bool(&b, &first, "t", true);
	ck_json_kv_time(&b, &first, "at", 0);
	ck_buf_addc(&b, '}');
	cr_assert_str_eq(b.p,
	    "{\"k\":null,\"n\":-5,\"t\":true,\"at\":\"1970-01-01T00:00:00Z\"}");
	ck_buf_release(&b);
}

Test(file, read_is_bounded)
{
	char path[] = "/tmp/ck-unit-XXXXXX";
	struct ck_buf b = CK_BUF_INIT;
	struct ck_err err = {0};
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	cr_assert_eq(ck_file_read(path, 10, &b, &err), 0);
	cr_assert_eq(b.len, 10);
	cr_assert_str_eq(b.p, "0123456789");
	cr_assert_eq(ck_file_read(path, 9, &b, &err), CK_E_TOO_LARGE);
	cr_assert(strstr(err.msg, "larger than the limit of 9") != NULL);
	cr_assert_eq(b.len, 0);
	unlink(path);
	cr_assert_eq(ck_file_read(path, 9, &b, &err), CK_E_NOTFOUND);
	cr_assert_eq(ck_file_read("/tmp", 9, &b, &err), CK_E_INVAL);
	ck_buf_release(&b);
}

Test(err, names_and_wrapping)
{
	struct ck_err err = {0};

	cr_assert_str_eq(ck_strerror(CK_E_NOTFOUND), "not found");
	cr_assert_str_eq(ck_errname(CK_E_FULL), "FULL");
	cr_assert_str_eq(ck_err_msg(NULL, CK_E_IO), "input/output error");
	cr_assert_eq(
	    ck_err_set(&err, CK_E_PARSE, "bad %s", "thing"), CK_E_PARSE);
	cr_assert_eq(ck_err_wrap(&err, CK_E_PARSE, "file %d", 3), CK_E_PARSE);
	cr_assert_str_eq(err.msg, "file 3: bad thing");
	cr_assert_eq(ck_err_set(NULL, CK_E_IO, "ignored"), CK_E_IO);
}

Test(clock, format_matches_gmtime_over_centuries)
{
	/* Every 7919 seconds from 1900 to 2200, against the C library. */
	for (int64_t t = -2208988800LL; t < 7258118400LL; t += 7919 * 997) {
		char mine[CK_TIME_STR_MAX], libc[64];
		struct tm tm;
		time_t tt = (time_t)t;

		ck_time_format(t, mine);
		gmtime_r(&tt, &tm);
		strftime(libc, sizeof(libc), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cr_assert_str_eq(mine, libc, "t=%lld", (long long)t);
	}
}
