/*
 * Alert delivery through the [notify.NAME] channels (notify.h), for the
 * daemon's scheduler and for the commands that renew or deploy on their
 * own. What cannot be sent now is queued in the job queue ("notify" jobs,
 * retried by the daemon; "digest" jobs, sent by it as digests), so that
 * nothing raised is lost when no daemon runs at that moment.
 */
#ifndef CK_LIFECYCLE_ALERTS_H
#define CK_LIFECYCLE_ALERTS_H

#include <stddef.h>

#include "lifecycle/managed.h"
#include "lifecycle/notify.h"
#include "store/store.h"

/* Sends alerts[0..n) to every channel of nc that routes them (nc NULL:
 * nothing). Blocks on delivery. Never inside a store transaction. */
void ck_alerts_deliver(struct ck_store *st, const struct ck_notify_config *nc,
    const struct ck_alert *alerts, size_t n);
/* The same for an alert of the renewer or of a deployment. */
void ck_renew_alert_deliver(struct ck_store *st,
    const struct ck_notify_config *nc, const struct ck_renew_alert *ra);

#endif
