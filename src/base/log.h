/*
 * Logging in logfmt to stderr. Levels filter; secrets are never passed here.
 */
#ifndef CK_BASE_LOG_H
#define CK_BASE_LOG_H

#include <stdbool.h>

enum ck_log_level { CK_LOG_DEBUG, CK_LOG_INFO, CK_LOG_WARN, CK_LOG_ERROR };

void ck_log_set_level(enum ck_log_level lvl);
/* Parses "debug|info|warn|error"; returns CK_E_INVAL otherwise. */
int ck_log_level_parse(const char *s, enum ck_log_level *out);
/* msg is free text; it is quoted in the logfmt line. */
void ck_log(enum ck_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sends lines to syslog (daemon facility) instead of stderr. */
void ck_log_to_syslog(bool on);
bool ck_log_enabled(enum ck_log_level lvl);
/* A line of logfmt fields written by the caller ("k=v k2=v2"), after the
 * time and level. */
void ck_log_fields(enum ck_log_level lvl, const char *fields);

#endif
