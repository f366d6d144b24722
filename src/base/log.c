/*
 * logfmt logging to stderr: one line per event with time, level and message.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"

static enum ck_log_level min_level = CK_LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error"};

void
ck_log_set_level(enum ck_log_level lvl)
{
	min_level = lvl;
}

int
ck_log_level_parse(const char *s, enum ck_log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum ck_log_level)i;
			return 0;
		}
	return CK_E_INVAL;
}

void
ck_log(enum ck_log_level lvl, const char *fmt, ...)
{
	struct ck_buf msg = CK_BUF_INIT, line = CK_BUF_INIT;
	char ts[CK_TIME_STR_MAX];
	va_list ap;

	if (lvl < min_level)
		return;
	va_start(ap, fmt);
	ck_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	ck_time_format(ck_now(), ts);
	ck_buf_printf(&line, "time=%s level=%s msg=\"", ts, names[lvl]);
	for (size_t i = 0; i < msg.len; i++) {
		char c = msg.p[i];
		if (c == '"' || c == '\\')
			ck_buf_addc(&line, '\\');
		ck_buf_addc(&line, c == '\n' ? ' ' : c);
	}
	ck_buf_adds(&line, "\"\n");
	fputs(line.p, stderr);
	ck_buf_release(&msg);
	ck_buf_release(&line);
}
