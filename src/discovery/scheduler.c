/*
 * The daemon's scheduled scans: one thread with its own store handle
 * looks for saved scans that are due (every 30 s, or at once when woken
 * by "run now" or a new definition), runs each through ck_netscan,
 * ck_fs_scan or ck_ssh_scan by its kind and sets its next run. Scans
 * never run on the HTTP workers.
 *
 *   idle --due or woken--> running (the scan) --> next_run = now+every
 *   --> idle; stop: the scan in progress finishes, then the thread exits
 */
#include "discovery/discovery.h"
#include "discovery/netscan.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bgthread.h"
#include "base/clock.h"
#include "base/log.h"

static struct ck_bgthread T = CK_BGTHREAD_INIT;

struct due {
	char name[128];
	char kind[16];
	char *targets, *ports, *sni;
	int64_t every;
};

static int
on_due(void *ctx, const struct ck_scan_def *d)
{
	struct due *x = ctx;

	snprintf(x->name, sizeof(x->name), "%s", d->name);
	snprintf(x->kind, sizeof(x->kind), "%s", d->kind ? d->kind : "net");
	x->targets = strdup(d->targets);
	x->ports = strdup(d->ports);
	x->sni = strdup(d->sni);
	x->every = d->every;
	return 1; /* one at a time */
}

/* Splits s at separators into at most max pointers into s. */
static size_t
split(char *s, const char *sep, const char **v, size_t max)
{
	char *save = NULL, *t;
	size_t n = 0;

	for (t = strtok_r(s, sep, &save); t && n < max;
	     t = strtok_r(NULL, sep, &save))
		v[n++] = t;
	return n;
}

/* A files or ssh scan of the saved paths; its scan record's id. */
static int64_t
run_local(struct ck_store *st, struct due *d, const char *actor)
{
	const char *paths[256];
	size_t n = split(d->targets, " ", paths, 256);
	struct ck_err err = {0};
	int64_t id = 0, changes = 0;
	int r;

	if (strcmp(d->kind, "files") == 0) {
		struct ck_fs_opts fo = {0};
		struct ck_fs_result res;
		r = ck_fs_scan(st, paths, n, &fo, actor, &res, &err);
		id = res.scan_id, changes = res.changes;
		ck_fs_result_release(&res);
	} else {
		struct ck_ssh_result res;
		r = ck_ssh_scan(st, paths, n, actor, &res, &err);
		id = res.scan_id, changes = res.changes;
		ck_ssh_result_release(&res);
	}
	if (r != 0)
		ck_log(CK_LOG_ERROR, "saved scan '%s': %s", d->name, err.msg);
	else
		ck_log(CK_LOG_INFO,
		    "saved scan '%s' done: scan %lld, %lld changes", d->name,
		    (long long)id, (long long)changes);
	return r == 0 ? id : 0;
}

static void
run_one(struct ck_store *st, struct due *d)
{
	const char *targets[256], *sni[64];
	struct ck_scan_opts o = {0};
	struct ck_netscan_summary sum;
	struct ck_err err = {0};
	char actor[160];
	int *ports = NULL;
	size_t n_ports = 0;

	if (strcmp(d->kind, "net") != 0) {
		int64_t id;
		snprintf(actor, sizeof(actor), "scheduler:%s", d->name);
		ck_log(CK_LOG_INFO, "saved scan '%s' (%s) starting", d->name,
		    d->kind);
		id = run_local(st, d, actor);
		if (ck_store_scan_def_schedule(
		        st, d->name, ck_now() + d->every, id, &err) != 0)
			ck_log(CK_LOG_ERROR, "saved scan '%s': %s", d->name,
			    err.msg);
		return;
	}
	o.n_targets = split(d->targets, " ", targets, 256);
	o.targets = targets;
	o.n_sni = split(d->sni, ",", sni, 64);
	o.sni = sni;
	o.rate = 2000;
	if (*d->ports && ck_ports_parse(d->ports, &ports, &n_ports, &err) != 0)
		ck_log(CK_LOG_ERROR, "saved scan '%s': %s", d->name, err.msg);
	o.ports = ports;
	o.n_ports = n_ports;
	snprintf(actor, sizeof(actor), "scheduler:%s", d->name);
	ck_log(CK_LOG_INFO, "saved scan '%s' starting", d->name);
	if (ck_netscan(st, &o, actor, NULL, &sum, &err) != 0)
		ck_log(CK_LOG_ERROR, "saved scan '%s': %s", d->name, err.msg);
	else
		ck_log(CK_LOG_INFO,
		    "saved scan '%s' done: scan %lld %s, %d "
		    "changes",
		    d->name, (long long)sum.scan_id, sum.counts, sum.changes);
	if (ck_store_scan_def_schedule(
	        st, d->name, ck_now() + d->every, sum.scan_id, &err) != 0)
		ck_log(CK_LOG_ERROR, "saved scan '%s': %s", d->name, err.msg);
	free(ports);
}

static void *
scheduler_main(void *arg)
{
	struct ck_store *st = arg;

	for (;;) {
		struct due d = {0};
		struct ck_err err = {0};
		int r =
		    ck_store_scan_def_due(st, ck_now(), 1, on_due, &d, &err);

		bool ran = d.targets != NULL;

		if (r < 0)
			ck_log(CK_LOG_ERROR, "scheduled scans: %s", err.msg);
		if (ran) {
			run_one(st, &d);
			free(d.targets);
			free(d.ports);
			free(d.sni);
		}
		/* after a scan, at once to the next due one */
		if (ck_bgthread_sleep(&T, ran ? 0 : 30))
			break;
	}
	ck_store_free(st);
	return NULL;
}

int
ck_scan_scheduler_start(const char *db_url, struct ck_err *err)
{
	struct ck_store *st;
	int r;

	if ((r = ck_store_open(db_url, &st, err)) != 0)
		return r;
	if ((r = ck_bgthread_start(&T, scheduler_main, st, err)) != 0)
		ck_store_free(st);
	return r;
}

void
ck_scan_scheduler_wake(void)
{
	ck_bgthread_wake(&T);
}

void
ck_scan_scheduler_stop(void)
{
	(void)ck_bgthread_stop(&T);
}
