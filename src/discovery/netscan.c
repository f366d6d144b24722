/*
 * A network scan recorded: chains into the inventory in batched
 * transactions (a commit per 4096 endpoints or per second), one result
 * row per endpoint, then the comparison with the previous scan of the
 * same scope written to the audit log.
 */
#include "discovery/netscan.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "x509/x509.h"

struct run {
	struct ck_store *st;
	const struct ck_netscan_hooks *h;
	const char *actor;
	int64_t scan_id, now;
	bool in_tx;
	int batch;
	uint64_t last_commit;
	struct ck_err err;
	int failed;
	int changes;
};

static void
place_of(const struct ck_scan_result *r, char *out, size_t cap)
{
	bool v6 = strchr(r->ip, ':') != NULL;

	snprintf(out, cap, "%s%s%s:%d%s%s", v6 ? "[" : "", r->ip, v6 ? "]" : "",
	    r->port, r->sni[0] ? "/" : "", r->sni);
}

static int
tx(struct run *n)
{
	int r;

	if (n->in_tx)
		return 0;
	if ((r = ck_store_begin(n->st, &n->err)) != 0)
		return r;
	n->in_tx = true;
	return 0;
}

static int
commit(struct run *n)
{
	int r;

	if (!n->in_tx)
		return 0;
	n->in_tx = false;
	n->batch = 0;
	n->last_commit = ck_mono_ns();
	if ((r = ck_store_commit(n->st, &n->err)) != 0)
		ck_store_rollback(n->st);
	return r;
}

/* Records the chain; *leaf gets the leaf's row. */
static int
record(struct run *n, const struct ck_scan_result *r, const char *place,
    int64_t *leaf, char *cn, size_t cn_cap, int64_t *not_after)
{
	int rc;

	*leaf = 0;
	for (size_t i = 0; i < r->n_chain; i++) {
		struct ck_cert *c = NULL;
		int64_t id;
		bool is_new;
		if (ck_x509_parse(r->chain[i], r->chain_len[i], CK_PARSE_CORE,
		        &c, NULL) != 0)
			continue; /* a malformed certificate is not recorded */
		rc = ck_store_cert_put(n->st, c, n->now, &id, &is_new, &n->err);
		if (rc == 0)
			rc = ck_store_location_put(
			    n->st, id, "endpoint", place, n->now, &n->err);
		if (rc == 0 && i == 0) {
			*leaf = id;
			snprintf(cn, cn_cap, "%s", c->cn ? c->cn : c->subject);
			*not_after = c->not_after;
		}
		ck_cert_free(c);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
on_result(void *ctx, const struct ck_scan_result *r)
{
	struct run *n = ctx;
	char place[600], cn[256] = "";
	int64_t leaf = 0, not_after = 0;
	int rc;

	place_of(r, place, sizeof(place));
	if ((rc = tx(n)) != 0 ||
	    (r->status == CK_SCAN_TLS &&
	        (rc = record(n, r, place, &leaf, cn, sizeof(cn), &not_after)) !=
	            0) ||
	    (rc = ck_store_scan_result(n->st, n->scan_id, place, leaf,
	         ck_scan_status_name(r->status), &n->err)) != 0) {
		n->failed = rc;
		return rc;
	}
	/* a commit (an fsync) per 4096 endpoints or per second, whichever
	 * comes first: a scan can be run again, its rows need not be on disk
	 * one by one */
	if ((++n->batch >= 4096 ||
	        ck_mono_ns() - n->last_commit > 1000000000u) &&
	    (rc = commit(n)) != 0) {
		n->failed = rc;
		return rc;
	}
	if (n->h != NULL && n->h->result != NULL)
		n->h->result(n->h->ctx, r, place, leaf, cn, not_after);
	return 0;
}

static void
on_progress(void *ctx, const struct ck_scan_stats *s)
{
	struct run *n = ctx;

	if (n->h != NULL && n->h->progress != NULL)
		n->h->progress(n->h->ctx, s);
}

static int
on_change(void *ctx, const struct ck_scan_change *c)
{
	struct run *n = ctx;
	char detail[160];
	int r;

	snprintf(detail, sizeof(detail), "certificate %lld -> %lld",
	    (long long)c->old_cert, (long long)c->new_cert);
	if (strcmp(c->change, "new") != 0 &&
	    (r = ck_store_event_add(n->st, n->actor,
	         c->change[0] == 'e' ? "scan.expiry" : "scan.change", c->place,
	         detail, &n->err)) != 0)
		return r;
	n->changes++;
	if (n->h != NULL && n->h->change != NULL)
		n->h->change(n->h->ctx, c);
	return 0;
}

void
ck_netscan_scope(const struct ck_scan_opts *o, struct ck_buf *scope)
{
	for (size_t i = 0; i < o->n_targets; i++)
		ck_buf_printf(scope, "%s%s", i ? " " : "", o->targets[i]);
	ck_buf_adds(scope, " ports ");
	for (size_t i = 0;
	     i < (o->ports ? o->n_ports : ck_scan_default_ports_n); i++)
		ck_buf_printf(scope, "%s%d", i ? "," : "",
		    o->ports ? o->ports[i] : ck_scan_default_ports[i]);
	for (size_t i = 0; i < o->n_sni; i++)
		ck_buf_printf(scope, "%s%s", i ? "," : " sni ", o->sni[i]);
	if (o->sni_from_sans)
		ck_buf_adds(scope, " sni-from-sans");
}

int
ck_netscan(struct ck_store *st, const struct ck_scan_opts *o, const char *actor,
    const struct ck_netscan_hooks *h, struct ck_netscan_summary *out,
    struct ck_err *err)
{
	struct run n = {0};
	struct ck_buf scope = CK_BUF_INIT;
	struct ck_scan_stats stats = {0};
	int r;

	memset(out, 0, sizeof(*out));
	n.st = st;
	n.h = h;
	n.actor = actor;
	n.now = ck_now();
	ck_netscan_scope(o, &scope);
	/* 8 MiB of page cache: a /16's rows must not grow the scan's memory */
	(void)ck_store_cache_limit(st, 8192, NULL);
	if ((r = tx(&n)) != 0 ||
	    (r = ck_store_scan_begin(
	         st, "net", scope.p, actor, n.now, &n.scan_id, &n.err)) != 0 ||
	    (r = commit(&n)) != 0)
		goto out;
	r = ck_scan_run(o, on_result, on_progress, &n, &stats, &n.err);
	if (n.failed != 0) {
		if (n.in_tx)
			ck_store_rollback(st);
		n.in_tx = false;
		r = n.failed;
		goto out;
	}
	if (r != 0)
		goto out;
	snprintf(out->counts, sizeof(out->counts),
	    "{\"endpoints\":%llu,\"tls\":%llu,\"refused\":%llu,"
	    "\"timeouts\":%llu,\"failed\":%llu,\"seconds\":%.3f}",
	    (unsigned long long)stats.done, (unsigned long long)stats.tls,
	    (unsigned long long)stats.refused,
	    (unsigned long long)stats.timeouts,
	    (unsigned long long)stats.failed, stats.seconds);
	if ((r = tx(&n)) != 0 ||
	    (r = ck_store_scan_finish(
	         st, n.scan_id, ck_now(), out->counts, &n.err)) != 0 ||
	    (r = ck_store_scan_diff(st, n.scan_id, "net", scope.p, ck_now(),
	         30 * 86400, on_change, &n, &n.err)) != 0 ||
	    (r = ck_store_event_add(
	         st, actor, "scan.net", scope.p, out->counts, &n.err)) != 0 ||
	    (r = commit(&n)) != 0) {
		if (n.in_tx)
			ck_store_rollback(st);
		n.in_tx = false;
	}
out:
	out->scan_id = n.scan_id;
	out->stats = stats;
	out->changes = n.changes;
	if (r != 0 && err != NULL)
		*err = n.err;
	ck_buf_release(&scope);
	return r;
}
