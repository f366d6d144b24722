/* Background threads for the daemon's schedulers (bgthread.h). */
#include "base/bgthread.h"

#include <time.h>

int
ck_bgthread_start(
    struct ck_bgthread *b, void *(*fn)(void *), void *arg, struct ck_err *err)
{
	int r = 0;

	pthread_mutex_lock(&b->mu);
	b->stop = b->woken = false;
	if (pthread_create(&b->th, NULL, fn, arg) != 0)
		r = ck_err_set(err, CK_E_INTERNAL, "pthread_create");
	else
		b->running = true;
	pthread_mutex_unlock(&b->mu);
	return r;
}

void
ck_bgthread_wake(struct ck_bgthread *b)
{
	pthread_mutex_lock(&b->mu);
	b->woken = true;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

bool
ck_bgthread_sleep(struct ck_bgthread *b, int64_t secs)
{
	bool stop;

	pthread_mutex_lock(&b->mu);
	if (secs > 0 && !b->stop && !b->woken) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)secs;
		pthread_cond_timedwait(&b->cv, &b->mu, &until);
	}
	b->woken = false;
	stop = b->stop;
	pthread_mutex_unlock(&b->mu);
	return stop;
}

bool
ck_bgthread_stop(struct ck_bgthread *b)
{
	pthread_mutex_lock(&b->mu);
	if (!b->running) {
		pthread_mutex_unlock(&b->mu);
		return false;
	}
	b->stop = true;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->th, NULL);
	b->running = false;
	return true;
}
