/*
 * Notifications: everything from "an alert exists" to "it arrived". An
 * alert (expiring, renewal failed, ...) is routed to the channels of the
 * [notify.NAME] sections of certkeep.conf (email over SMTP, webhook JSON
 * POST in plain, Slack or Teams shape, syslog) and delivered as one
 * message per call. Nothing here touches the store: the caller keeps the
 * last state of each alert key (so an alert goes out once per state
 * change), queues digests and retries through the job queue.
 * docs/notify.md lists the configuration keys.
 *
 * What the caller persists (one small table, key -> state):
 *   - for each alert key (ck_alert.key), the state last delivered
 *     (ck_alert.state). Before sending, ck_alert_changed(stored, a) says
 *     whether a is news; after every channel it was routed to took it (or
 *     gave up retrying), store a->state under a->key. When the condition
 *     is over (certificate renewed, replaced, deleted, issuer back),
 *     delete the key so that a recurrence alerts again.
 *   - for each digest channel, the alerts routed to it and not yet sent
 *     (ck_alert_to_json makes a job payload of one) and the time of its
 *     last flush (ck_notify_flush_at says when the next is due).
 *   - for a failed delivery, the attempt number (ck_notify_retry_at says
 *     when to try again, or that it is time to give up).
 */
#ifndef CK_LIFECYCLE_NOTIFY_H
#define CK_LIFECYCLE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"

/* Written once: enum, name in config, JSON and messages. */
#define CK_ALERT_KIND_MAP(X)                    \
	X(EXPIRING, "expiring")                 \
	X(RENEWAL_FAILED, "renewal_failed")     \
	X(DEPLOY_FAILED, "deploy_failed")       \
	X(LOCATION_CHANGED, "location_changed") \
	X(REVOKED, "revoked")                   \
	X(STUCK, "stuck")                       \
	X(ISSUER_DOWN, "issuer_down")

enum ck_alert_kind {
#define CK_ALERT_KIND_ENUM(e, s) CK_ALERT_##e,
	CK_ALERT_KIND_MAP(CK_ALERT_KIND_ENUM)
#undef CK_ALERT_KIND_ENUM
	    CK_ALERT_KIND_COUNT
};

#define CK_SEVERITY_MAP(X)    \
	X(INFO, "info")       \
	X(WARNING, "warning") \
	X(CRITICAL, "critical")

enum ck_severity {
#define CK_SEVERITY_ENUM(e, s) CK_SEV_##e,
	CK_SEVERITY_MAP(CK_SEVERITY_ENUM)
#undef CK_SEVERITY_ENUM
	    CK_SEV_COUNT
};

/* Static names, never NULL ("?" out of range). */
const char *ck_alert_kind_name(enum ck_alert_kind k);
const char *ck_severity_name(enum ck_severity s);
/* Name to value; CK_E_INVAL when unknown. */
int ck_alert_kind_parse(const char *s, enum ck_alert_kind *out);
int ck_severity_parse(const char *s, enum ck_severity *out);

/*
 * One alert. Every string is owned by the alert (ck_alert_release frees
 * them); owner may be NULL (a certificate nobody owns), the others are
 * never NULL once ck_alert_init returned.
 *
 * key names the condition the alert is about, state its current value:
 * an alert is news when the state stored under its key differs. The
 * conventions (the caller may choose others for its own alerts):
 *   expiring          key "expiring:<sha256>", state "30d", "7d", ...,
 *                     "expired" (the threshold crossed)
 *   renewal_failed    key "renewal_failed:<managed>", state the attempt
 *                     or the error code, "ok" once it worked
 *   deploy_failed     key "deploy_failed:<managed>:<target>"
 *   location_changed  key "location:<location>", state the sha256 seen
 *   revoked           key "revoked:<sha256>", state "revoked"
 *   stuck             key "stuck:<job>", issuer_down "issuer:<name>"
 */
struct ck_alert {
	enum ck_alert_kind kind;
	enum ck_severity severity;
	char *subject; /* certificate sha256 hex, or a managed name */
	char *owner; /* NULL: nobody's */
	char *title; /* one line */
	char *text; /* free text, lines separated by \n */
	char *key; /* dedup key */
	char *state; /* state under key */
	int64_t at; /* when it happened (seconds since the epoch) */
};

/*
 * Fills a with copies of the strings (owner may be NULL; key NULL gives
 * "<kind>:<subject>", state NULL gives "raised"); at is ck_now(). Control
 * characters in title and text (they may come from certificates seen on
 * the network) are replaced by '?' (text keeps \n), so no message can be
 * forged through them. Never fails; release with ck_alert_release.
 */
void ck_alert_init(struct ck_alert *a, enum ck_alert_kind kind,
    enum ck_severity sev, const char *subject, const char *owner,
    const char *title, const char *text, const char *key, const char *state);
/* Frees the strings; a can be initialised again. NULL-safe. */
void ck_alert_release(struct ck_alert *a);
/* Releases n alerts and frees the array. NULL-safe. */
void ck_alerts_free(struct ck_alert *a, size_t n);

/*
 * "Each alert once per state change": true when a is news, i.e. nothing
 * was stored under a->key (prev_state NULL) or the stored state differs
 * from a->state. Pure; the caller stores a->state after delivery.
 */
bool ck_alert_changed(const char *prev_state, const struct ck_alert *a);

/*
 * An alert as a JSON object (for job payloads and the json webhook) and
 * back. from_json fills a (release it) or fails with CK_E_PARSE naming
 * the field; it takes at most 64 KiB.
 */
void ck_alert_to_json(const struct ck_alert *a, struct ck_buf *out);
int ck_alert_from_json(
    const char *json, size_t len, struct ck_alert *a, struct ck_err *err);

/* ---- channels ---------------------------------------------------------- */

#define CK_NOTIFY_TYPE_MAP(X) \
	X(EMAIL, "email")     \
	X(WEBHOOK, "webhook") \
	X(SYSLOG, "syslog")

enum ck_notify_type {
#define CK_NOTIFY_TYPE_ENUM(e, s) CK_NOTIFY_##e,
	CK_NOTIFY_TYPE_MAP(CK_NOTIFY_TYPE_ENUM)
#undef CK_NOTIFY_TYPE_ENUM
};

/* Webhook body shapes. */
#define CK_WEBHOOK_FORMAT_MAP(X) \
	X(JSON, "json")          \
	X(SLACK, "slack")        \
	X(TEAMS, "teams")        \
	X(MESSAGECARD, "teams-messagecard")

enum ck_webhook_format {
#define CK_WEBHOOK_FORMAT_ENUM(e, s) CK_WEBHOOK_##e,
	CK_WEBHOOK_FORMAT_MAP(CK_WEBHOOK_FORMAT_ENUM)
#undef CK_WEBHOOK_FORMAT_ENUM
};

enum ck_smtp_tls { CK_SMTP_TLS_TRY, CK_SMTP_TLS_REQUIRED, CK_SMTP_TLS_OFF };

/* One [notify.NAME] section, validated. All strings owned by the config. */
struct ck_notify_channel {
	char *name; /* NAME of [notify.NAME] */
	enum ck_notify_type type;
	unsigned kinds; /* bit (1u << kind) per alert kind routed here */
	enum ck_severity min_severity;
	char *owner; /* route only this owner's alerts; NULL: all */
	int64_t digest; /* seconds between digests; 0: send at once */
	int64_t timeout; /* per delivery, seconds */
	/* email */
	char *smtp_url; /* smtp://host[:port] or smtps:// */
	char *from;
	char **to;
	size_t n_to;
	char *username; /* NULL: no AUTH */
	char *password_file;
	enum ck_smtp_tls starttls; /* smtp:// only */
	/* webhook */
	char *url;
	enum ck_webhook_format format;
	char **headers; /* "Name: value" lines, may hold secrets */
	size_t n_headers;
	char *trust; /* PEM file of CAs for https, smtps and STARTTLS;
	              * NULL: the system's */
	/* syslog */
	int facility; /* LOG_DAEMON, LOG_LOCAL0, ... */
};

/* The [notify.rules] section: how the expiry rule runs. */
struct ck_notify_rules {
	int days[16]; /* thresholds, descending, e.g. 30 14 7 1 */
	size_t n_days;
	int critical_days; /* at or under this many days: critical */
	bool include_discovered; /* not only managed certificates */
};

struct ck_notify_config {
	struct ck_notify_channel *ch;
	size_t n;
	struct ck_notify_rules rules;
};

/*
 * Reads every [notify.NAME] section of cfg (and [notify.rules]) into a new
 * config the caller frees with ck_notify_config_free. Every key is checked:
 * an unknown key, a bad value or a missing required key is CK_E_PARSE with
 * "[notify.NAME] key: reason" in err, and nothing is returned. Reads no
 * files (password and trust files are read when sending).
 */
int ck_notify_configure(const struct ck_config *cfg,
    struct ck_notify_config **out, struct ck_err *err);
void ck_notify_config_free(struct ck_notify_config *nc);
/* Borrowed channel of that name, or NULL. */
const struct ck_notify_channel *ck_notify_find(
    const struct ck_notify_config *nc, const char *name);

/* True when ch takes a: its kind is listed, its severity is at least
 * min_severity and, when ch has an owner, a has that owner. */
bool ck_notify_route(
    const struct ck_notify_channel *ch, const struct ck_alert *a);

/*
 * Delivers alerts[0..n) through ch as one message (one email, one POST;
 * syslog writes one line per alert), whatever the routing says (the
 * caller routed). Blocks for at most ch->timeout per attempt. A delivery
 * that did not happen is CK_E_IO (TIMEOUT for a timeout) with the channel,
 * the peer and the cause in err: the caller retries later; CK_E_INVAL for
 * n == 0 or a password file that cannot be read. Thread-safe: each call
 * has its own connection, so job threads may send in parallel.
 */
int ck_notify_send(const struct ck_notify_channel *ch,
    const struct ck_alert *alerts, size_t n, struct ck_err *err);

/*
 * The bytes ck_notify_send would send, for tests and `--dry-run`: the RFC
 * 5322 message (CRLF lines) for email, the JSON body for a webhook, the
 * lines for syslog. Appended to out. at is the Date of the message.
 */
void ck_notify_render(const struct ck_notify_channel *ch,
    const struct ck_alert *alerts, size_t n, int64_t at, struct ck_buf *out);

/*
 * One line saying where ch delivers, safe to print and log: webhook URLs
 * are cut to scheme://host[:port]/... (a Slack or Teams URL is a
 * secret). E.g. "email to ops@example.com via smtp://127.0.0.1:25".
 */
void ck_notify_describe(
    const struct ck_notify_channel *ch, char *out, size_t cap);

/* ---- retries and digests ------------------------------------------------ */

#define CK_NOTIFY_RETRY_BASE 60 /* seconds before the first retry */
#define CK_NOTIFY_RETRY_CAP (6 * 3600) /* longest wait between tries */
#define CK_NOTIFY_RETRY_MAX 12 /* attempts, then give up (~2.5 days) */

/*
 * After failed attempt number attempt (1 for the first), the time of the
 * next try: failed_at + min(BASE * 2^(attempt-1), CAP), into *next_at.
 * Returns false (and leaves *next_at 0) when attempt reached
 * CK_NOTIFY_RETRY_MAX: give up, log, and count the alert as delivered so
 * that it is not resent forever.
 */
bool ck_notify_retry_at(int attempt, int64_t failed_at, int64_t *next_at);

/* When a digest channel sends next: now when digest is off, else
 * last_flush + digest (last_flush 0: never flushed, now). */
int64_t ck_notify_flush_at(
    const struct ck_notify_channel *ch, int64_t last_flush, int64_t now);

/* ---- the expiry rule over the inventory -------------------------------- */

/* One certificate fed to the rule; borrowed for the call. */
struct ck_expiry_cert {
	const char *sha256; /* hex */
	const char *name; /* CN or subject, for the message */
	int64_t not_after;
	const char *owner; /* NULL: nobody's */
	int locations; /* places it was seen or deployed */
	bool managed; /* certkeep renews it */
	const char *prev_state; /* stored under "expiring:<sha256>", or NULL */
};

/* Alerts of one owner (NULL: certificates nobody owns), to be sent as one
 * message per channel. */
struct ck_alert_group {
	char *owner;
	struct ck_alert *alerts;
	size_t n;
};

struct ck_expiry;

/*
 * The state of a certificate that expires at not_after, at now: "expired",
 * "<T>d" for the smallest threshold T with days left <= T, or NULL (no
 * threshold reached: the caller deletes what is stored for it).
 * buf holds the string; returns buf or NULL.
 */
const char *ck_expiry_state(const struct ck_notify_rules *rules,
    int64_t not_after, int64_t now, char buf[16]);

/*
 * The rule, fed one certificate at a time (from a paginated store
 * listing): ck_expiry_new, ck_expiry_add per certificate, ck_expiry_finish.
 * Only certificates whose state changed are kept (bounded: more than
 * 100000 gives CK_E_TOO_LARGE from add; finish the run and continue in
 * another). finish hands back the alerts grouped per owner, groups sorted
 * by owner (nobody's last), alerts by expiry; the caller owns them
 * (ck_alert_groups_free) and stores each alert's state under its key once
 * delivered.
 */
void ck_expiry_new(
    const struct ck_notify_rules *rules, int64_t now, struct ck_expiry **out);
int ck_expiry_add(
    struct ck_expiry *ex, const struct ck_expiry_cert *c, struct ck_err *err);
void ck_expiry_finish(
    struct ck_expiry *ex, struct ck_alert_group **groups, size_t *n_groups);
void ck_expiry_free(struct ck_expiry *ex);
void ck_alert_groups_free(struct ck_alert_group *g, size_t n);

/* The defaults of [notify.rules]: 30,14,7,1 days, critical at 7, all
 * certificates. */
void ck_notify_rules_default(struct ck_notify_rules *r);

#endif
