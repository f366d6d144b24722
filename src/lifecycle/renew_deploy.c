/*
 * The renewer's deploy jobs (renew_int.h): after a renewal (queued by
 * on_recorded in renew.c) or `manage deploy`, the targets of a managed
 * certificate are brought to its current certificate by ck_deploy_managed.
 */
#include "lifecycle/renew_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "lifecycle/deploy.h"

/*
 * The deploy jobs due (queued by on_recorded, or by `manage deploy`),
 * claimed with leases like renewals, so that one deployer at a time
 * writes a target's files. A job whose targets all hold the current
 * certificate is done; one with a failed target retries with renew_backoff
 * (its alert went out once, from ck_deploy_managed).
 */
int
renew_run_deploys(
    struct ck_renewer *rw, int64_t now, const uint8_t *mk, struct ck_err *err)
{
	struct ck_deploy_opts o = {.actor = "scheduler",
	    .alert = rw->alert,
	    .alert_ctx = rw->alert_ctx};
	int r = 0;

	for (;;) {
		struct claimed c = {0};

		if ((r = ck_store_begin(rw->st, err)) != 0)
			return r;
		if ((r = ck_store_job_claim(rw->st, "deploy", rw->only,
		         rw->owner, now, rw->lease > 0 ? rw->lease : 600, 64,
		         renew_take_job, &c, err)) == 0)
			r = ck_store_commit(rw->st, err);
		else
			ck_store_rollback(rw->st);
		for (size_t i = 0; i < c.n && r == 0; i++) {
			struct work *w = &c.w[i];
			struct ck_deploy_stats ds;
			struct ck_err e = {0};
			int code = ck_deploy_managed(
			    rw->st, mk, w->name, now, &o, &ds, &e);
			bool again = code != 0 && code != CK_E_NOTFOUND;
			char why[sizeof(e.msg)];

			if (code == 0 && ds.failed + ds.rolled_back > 0) {
				again = true;
				snprintf(why, sizeof(why),
				    "%lld target(s) failed, %lld rolled back",
				    (long long)ds.failed,
				    (long long)ds.rolled_back);
			} else
				snprintf(why, sizeof(why), "%s", e.msg);
			if (rw->progress != NULL && code != 0)
				rw->progress(
				    rw->progress_ctx, w->name, code, &e);
			if ((r = ck_store_begin(rw->st, err)) != 0)
				break;
			r = again
			    ? ck_store_job_retry(rw->st, w->job_id,
			          now + renew_backoff(w->attempts), why, err)
			    : ck_store_job_done(rw->st, w->job_id, err);
			if (r == 0)
				r = ck_store_commit(rw->st, err);
			else
				ck_store_rollback(rw->st);
		}
		size_t got = c.n;
		for (size_t i = 0; i < c.n; i++)
			renew_work_release(&c.w[i]);
		free(c.w);
		if (r != 0 || got == 0)
			return r;
	}
}
