/*
 * Job threads for slow routes: a worker hands a request whose handler
 * signs, makes keys or writes much to this pool and goes on serving its
 * other connections. The handler runs here with the job thread's own
 * store handle and copies of the request's inputs; its reply goes back to
 * the worker through event_base_once (thread-safe with libevent's pthread
 * locking) and the worker sends it.
 *
 *   worker: dispatch --ck_http_jobs_push--> queued --job thread: handler-->
 *   replied --event_base_once--> worker: ck_http_deliver --> sent
 *   (client gone meanwhile: deliver only counts and frees)
 */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

_Thread_local bool ck_http_job_replied;

static void *
job_main(void *arg)
{
	struct ck_http_server *s = ((void **)arg)[0];
	struct ck_store *st = ((void **)arg)[1];
	struct jobs *j = &s->jobs;

	free(arg);
	for (;;) {
		struct reqctx *rc;
		pthread_mutex_lock(&j->mu);
		while (j->head == NULL && !j->stop)
			pthread_cond_wait(&j->cv, &j->mu);
		if (j->head == NULL) {
			pthread_mutex_unlock(&j->mu);
			return NULL;
		}
		rc = j->head;
		j->head = rc->next;
		if (j->head == NULL)
			j->tail = NULL;
		pthread_mutex_unlock(&j->mu);
		rc->c.st = st;
		ck_http_job_replied = false;
		rc->m.route->fn(&rc->c);
		/* once replied, rc is the worker's (maybe freed): not read */
		if (!ck_http_job_replied)
			ck_http_problem(&rc->c, 500, "internal", "no reply");
	}
}

int
ck_http_jobs_start(struct ck_http_server *s, int n, struct ck_err *err)
{
	struct jobs *j = &s->jobs;
	int r;

	if (n < 1)
		n = 1;
	if (n > 16)
		n = 16;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->s = s;
	s->jobs_started = true;
	for (int i = 0; i < n; i++) {
		void **arg = malloc(2 * sizeof(void *));
		if (arg == NULL)
			return ck_err_set(err, CK_E_INTERNAL, "out of memory");
		if ((r = ck_store_open(ck_config_str(s->cfg, CK_CFG_DATABASE),
		         &j->st[i], err)) != 0) {
			free(arg);
			return r;
		}
		arg[0] = s;
		arg[1] = j->st[i];
		if (pthread_create(&j->th[i], NULL, job_main, arg) != 0) {
			free(arg);
			ck_store_free(j->st[i]);
			j->st[i] = NULL;
			return ck_err_set(err, CK_E_INTERNAL, "pthread_create");
		}
		j->n++;
	}
	return 0;
}

void
ck_http_jobs_stop(struct ck_http_server *s)
{
	struct jobs *j = &s->jobs;

	if (!s->jobs_started)
		return;
	pthread_mutex_lock(&j->mu);
	j->stop = true;
	/* queued requests are not run: their workers have stopped */
	while (j->head != NULL) {
		struct reqctx *rc = j->head;
		j->head = rc->next;
		rc->gone = true;
		rc->in_dispatch = false;
		ck_http_finish(rc);
	}
	j->tail = NULL;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	for (int i = 0; i < j->n; i++) {
		pthread_join(j->th[i], NULL);
		ck_store_free(j->st[i]);
	}
	j->n = 0;
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	s->jobs_started = false;
}

void
ck_http_jobs_push(struct ck_http_server *s, struct reqctx *rc)
{
	struct jobs *j = &s->jobs;

	rc->next = NULL;
	pthread_mutex_lock(&j->mu);
	if (j->tail != NULL)
		j->tail->next = rc;
	else
		j->head = rc;
	j->tail = rc;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}
