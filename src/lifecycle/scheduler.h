/*
 * The daemon's lifecycle scheduler: one thread with its own store handle
 * runs the renewer (ck_renew_run) whenever work is due, sleeping until the
 * next due time (at most a minute), and delivers the alerts it raises and
 * those of the expiry rule through the [notify.NAME] channels: at once, as
 * a digest, or retried with backoff through the job queue. Never on the
 * HTTP workers.
 */
#ifndef CK_LIFECYCLE_SCHEDULER_H
#define CK_LIFECYCLE_SCHEDULER_H

#include "base/config.h"
#include "base/err.h"

/*
 * Starts the thread on cfg's database, master key and public URL, with
 * cfg's notification channels (checked here: a bad [notify.*] section is
 * CK_E_PARSE and nothing starts). cfg must outlive the scheduler.
 */
int ck_renew_scheduler_start(const struct ck_config *cfg, struct ck_err *err);
/* Runs a pass now (new or forced work). */
void ck_renew_scheduler_wake(void);
/* Takes cfg's channels (SIGHUP); on an error keeps the old ones. */
int ck_renew_scheduler_configure(
    const struct ck_config *cfg, struct ck_err *err);
/* Lets the pass in progress finish, then stops the thread. */
void ck_renew_scheduler_stop(void);

#endif
