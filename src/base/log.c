/*
 * logfmt logging to stderr: one line per event with time, level and message.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"

static enum ck_log_level min_level = CK_LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error"};
static bool to_syslog;

void
ck_log_to_syslog(bool on)
{
	if (on && !to_syslog)
		openlog("certkeep", LOG_PID, LOG_DAEMON);
	to_syslog = on;
}

bool
ck_log_enabled(enum ck_log_level lvl)
{
	return lvl >= min_level;
}

/* One line out: syslog takes it without the time (it adds its own). */
static void
emit(enum ck_log_level lvl, const char *ts, struct ck_buf *line)
{
	static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};

	if (to_syslog)
		syslog(prio[lvl], "%s", line->p);
	else
		fprintf(
		    stderr, "time=%s level=%s %s\n", ts, names[lvl], line->p);
}

void
ck_log_fields(enum ck_log_level lvl, const char *fields)
{
	char ts[CK_TIME_STR_MAX];
	struct ck_buf line = CK_BUF_INIT;

	if (lvl < min_level)
		return;
	ck_time_format(ck_now(), ts);
	ck_buf_adds(&line, fields);
	emit(lvl, ts, &line);
	ck_buf_release(&line);
}

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
	ck_buf_adds(&line, "msg=\"");
	for (size_t i = 0; i < msg.len; i++) {
		char c = msg.p[i];
		if (c == '"' || c == '\\')
			ck_buf_addc(&line, '\\');
		ck_buf_addc(&line, c == '\n' ? ' ' : c);
	}
	ck_buf_addc(&line, '"');
	emit(lvl, ts, &line);
	ck_buf_release(&msg);
	ck_buf_release(&line);
}
