/*
 * A network scan as a recorded operation: the scan, every endpoint's
 * chain into the inventory with the endpoint as location, the scan's
 * results, and the changes since the previous scan of the same scope
 * into the audit log. Used by `certkeep scan net` and by the daemon's
 * scheduled scans (scheduler.c).
 */
#ifndef CK_DISCOVERY_NETSCAN_H
#define CK_DISCOVERY_NETSCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "discovery/net.h"
#include "store/store.h"

/* Called as the scan goes; each may be NULL. */
struct ck_netscan_hooks {
	void (*result)(void *ctx, const struct ck_scan_result *r,
	    const char *place, int64_t leaf, const char *cn, int64_t not_after);
	void (*progress)(void *ctx, const struct ck_scan_stats *s);
	void (*change)(void *ctx, const struct ck_scan_change *c);
	void *ctx;
};

struct ck_netscan_summary {
	int64_t scan_id;
	struct ck_scan_stats stats;
	int changes;
	char counts[256]; /* the JSON summary recorded with the scan */
};

/* The scope of o: targets, ports and SNI options, as recorded. */
void ck_netscan_scope(const struct ck_scan_opts *o, struct ck_buf *out);

/*
 * Runs the scan of o and records it (see above) in st, with actor in the
 * audit log. Blocks for the scan's length. A store failure stops the scan
 * and is returned; endpoints that fail are results, not errors.
 */
int ck_netscan(struct ck_store *st, const struct ck_scan_opts *o,
    const char *actor, const struct ck_netscan_hooks *h,
    struct ck_netscan_summary *out, struct ck_err *err);

/* ---- the daemon's scheduled scans (scheduler.c) ---- */

/* Starts the thread that runs saved scan definitions when they are due
 * (with its own store handle on db_url). */
int ck_scan_scheduler_start(const char *db_url, struct ck_err *err);
/* Looks for due scans now (after a definition changed or "run now"). */
void ck_scan_scheduler_wake(void);
/* Stops it: a scan in progress finishes first. */
void ck_scan_scheduler_stop(void);

#endif
