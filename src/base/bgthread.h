/*
 * A background thread that works in passes and sleeps between them until
 * its next due time, a wake-up or a stop: the daemon's schedulers (scans,
 * renewals). The caller owns the struct (usually static) and its thread
 * function, which calls ck_bgthread_sleep between passes.
 *
 *   stopped --start--> running --wake: the sleep ends at once-->
 *   running --stop: the pass in progress finishes, the thread exits,
 *   stop joins it--> stopped
 */
#ifndef CK_BASE_BGTHREAD_H
#define CK_BASE_BGTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct ck_bgthread {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	bool running, stop, woken;
};

#define CK_BGTHREAD_INIT                                                       \
	{                                                                      \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, \
		    false, false                                               \
	}

/* Starts fn(arg) on a new thread. CK_E_INTERNAL when it cannot. */
int ck_bgthread_start(
    struct ck_bgthread *b, void *(*fn)(void *), void *arg, struct ck_err *err);
/* Ends the thread's current or next sleep at once. */
void ck_bgthread_wake(struct ck_bgthread *b);
/* In the thread: sleeps up to secs (0: not at all) unless woken or
 * stopping. True when the thread should return. */
bool ck_bgthread_sleep(struct ck_bgthread *b, int64_t secs);
/* Asks the thread to stop and joins it. False when it was not running. */
bool ck_bgthread_stop(struct ck_bgthread *b);

#endif
