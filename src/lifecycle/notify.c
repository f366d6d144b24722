/*
 * The alert model and the pure parts of notification: names, "is this
 * news" (once per state change), routing, retry backoff, digests, alerts
 * as JSON for job payloads, and the expiry rule grouping the inventory's
 * expiring certificates per owner. Configuration is in notify_config.c,
 * rendering and delivery in notify_send.c.
 */
#include "lifecycle/notify.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"

static const char *const kind_names[] = {
#define CK_ALERT_KIND_STR(e, s) s,
    CK_ALERT_KIND_MAP(CK_ALERT_KIND_STR)
#undef CK_ALERT_KIND_STR
};

static const char *const sev_names[] = {
#define CK_SEVERITY_STR(e, s) s,
    CK_SEVERITY_MAP(CK_SEVERITY_STR)
#undef CK_SEVERITY_STR
};

const char *
ck_alert_kind_name(enum ck_alert_kind k)
{
	return (unsigned)k < CK_ALERT_KIND_COUNT ? kind_names[k] : "?";
}

const char *
ck_severity_name(enum ck_severity s)
{
	return (unsigned)s < CK_SEV_COUNT ? sev_names[s] : "?";
}

int
ck_alert_kind_parse(const char *s, enum ck_alert_kind *out)
{
	for (int i = 0; i < CK_ALERT_KIND_COUNT; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum ck_alert_kind)i;
			return 0;
		}
	return CK_E_INVAL;
}

int
ck_severity_parse(const char *s, enum ck_severity *out)
{
	for (int i = 0; i < CK_SEV_COUNT; i++)
		if (strcmp(s, sev_names[i]) == 0) {
			*out = (enum ck_severity)i;
			return 0;
		}
	return CK_E_INVAL;
}

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * A copy with control characters (and DEL) replaced by '?', keeping \n
 * when keep_nl, and each byte that is not part of valid UTF-8 replaced by
 * '?': titles go into mail headers, chat messages and JSON, and a name
 * from a certificate found on the network is anybody's bytes.
 */
static char *
clean(const char *s, bool keep_nl)
{
	char *c = ck_strdup(s != NULL ? s : "");
	unsigned char *p = (unsigned char *)c;

	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0 || (*p < 0x20 && !(keep_nl && *p == '\n')) ||
		    *p == 0x7f) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
	return c;
}

void
ck_alert_init(struct ck_alert *a, enum ck_alert_kind kind, enum ck_severity sev,
    const char *subject, const char *owner, const char *title, const char *text,
    const char *key, const char *state)
{
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->severity = sev;
	a->subject = clean(subject, false);
	a->owner = owner != NULL ? clean(owner, false) : NULL;
	a->title = clean(title, false);
	a->text = clean(text, true);
	if (key != NULL) {
		a->key = ck_strdup(key);
	} else {
		struct ck_buf b = CK_BUF_INIT;
		ck_buf_printf(
		    &b, "%s:%s", ck_alert_kind_name(kind), a->subject);
		a->key = ck_buf_detach(&b, NULL);
	}
	a->state = ck_strdup(state != NULL ? state : "raised");
	a->at = ck_now();
}

void
ck_alert_release(struct ck_alert *a)
{
	if (a == NULL)
		return;
	free(a->subject);
	free(a->owner);
	free(a->title);
	free(a->text);
	free(a->key);
	free(a->state);
	memset(a, 0, sizeof(*a));
}

void
ck_alerts_free(struct ck_alert *a, size_t n)
{
	for (size_t i = 0; a != NULL && i < n; i++)
		ck_alert_release(&a[i]);
	free(a);
}

bool
ck_alert_changed(const char *prev_state, const struct ck_alert *a)
{
	return prev_state == NULL || strcmp(prev_state, a->state) != 0;
}

bool
ck_notify_route(const struct ck_notify_channel *ch, const struct ck_alert *a)
{
	if ((unsigned)a->kind >= CK_ALERT_KIND_COUNT ||
	    (ch->kinds & (1u << a->kind)) == 0)
		return false;
	if (a->severity < ch->min_severity)
		return false;
	if (ch->owner != NULL &&
	    (a->owner == NULL || strcmp(ch->owner, a->owner) != 0))
		return false;
	return true;
}

bool
ck_notify_retry_at(int attempt, int64_t failed_at, int64_t *next_at)
{
	int64_t d = CK_NOTIFY_RETRY_BASE;

	*next_at = 0;
	if (attempt >= CK_NOTIFY_RETRY_MAX)
		return false;
	if (attempt < 1)
		attempt = 1;
	/* doubling stops at the cap, so no shift can overflow */
	for (int i = 1; i < attempt && d < CK_NOTIFY_RETRY_CAP; i++)
		d *= 2;
	if (d > CK_NOTIFY_RETRY_CAP)
		d = CK_NOTIFY_RETRY_CAP;
	*next_at = failed_at + d;
	return true;
}

int64_t
ck_notify_flush_at(
    const struct ck_notify_channel *ch, int64_t last_flush, int64_t now)
{
	if (ch->digest <= 0 || last_flush <= 0)
		return now;
	return last_flush + ch->digest;
}

void
ck_alert_to_json(const struct ck_alert *a, struct ck_buf *out)
{
	char when[CK_TIME_STR_MAX];
	json_t *o;
	char *s;

	ck_time_format(a->at, when);
	o = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:s,s:s}", "kind",
	    ck_alert_kind_name(a->kind), "severity",
	    ck_severity_name(a->severity), "subject", a->subject, "owner",
	    a->owner, "title", a->title, "text", a->text, "key", a->key,
	    "state", a->state, "at", when);
	if (o == NULL)
		CK_BUG("json_pack of an alert");
	s = json_dumps(o, JSON_COMPACT);
	if (s == NULL)
		CK_BUG("json_dumps of an alert");
	ck_buf_adds(out, s);
	free(s);
	json_decref(o);
}

int
ck_alert_from_json(
    const char *json, size_t len, struct ck_alert *a, struct ck_err *err)
{
	const char *kind, *sev, *subject, *owner = NULL, *title, *text, *key,
	                                  *state;
	const char *at = NULL;
	int64_t t = 0;
	json_t *jowner = NULL;
	enum ck_alert_kind k;
	enum ck_severity s;
	json_error_t je;
	json_t *o;
	int r = CK_E_PARSE;

	memset(a, 0, sizeof(*a));
	if (len > 65536)
		return ck_err_set(err, CK_E_TOO_LARGE,
		    "alert: %zu bytes, at most 65536", len);
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		return ck_err_set(err, CK_E_PARSE, "alert: %s", je.text);
	if (json_unpack_ex(o, &je, JSON_STRICT,
	        "{s:s,s:s,s:s,s?o,s:s,s:s,s:s,s:s,s?s}", "kind", &kind,
	        "severity", &sev, "subject", &subject, "owner", &jowner,
	        "title", &title, "text", &text, "key", &key, "state", &state,
	        "at", &at) != 0) {
		ck_err_set(err, CK_E_PARSE, "alert: %s", je.text);
		goto out;
	}
	if (jowner != NULL && !json_is_null(jowner)) {
		if (!json_is_string(jowner)) {
			ck_err_set(
			    err, CK_E_PARSE, "alert: owner is not a string");
			goto out;
		}
		owner = json_string_value(jowner);
	}
	if (ck_alert_kind_parse(kind, &k) != 0) {
		ck_err_set(err, CK_E_PARSE, "alert: unknown kind '%s'", kind);
		goto out;
	}
	if (ck_severity_parse(sev, &s) != 0) {
		ck_err_set(
		    err, CK_E_PARSE, "alert: unknown severity '%s'", sev);
		goto out;
	}
	if (at != NULL && ck_time_parse(at, &t) != 0) {
		ck_err_set(err, CK_E_PARSE, "alert: bad time '%s'", at);
		goto out;
	}
	ck_alert_init(a, k, s, subject, owner, title, text, key, state);
	if (at != NULL)
		a->at = t;
	r = 0;
out:
	json_decref(o);
	return r;
}

/* ---- the expiry rule ---------------------------------------------------- */

#define EXPIRY_MAX 100000

void
ck_notify_rules_default(struct ck_notify_rules *r)
{
	static const int d[] = {30, 14, 7, 1};

	memset(r, 0, sizeof(*r));
	memcpy(r->days, d, sizeof(d));
	r->n_days = 4;
	r->critical_days = 7;
	r->include_discovered = true;
}

const char *
ck_expiry_state(const struct ck_notify_rules *rules, int64_t not_after,
    int64_t now, char buf[16])
{
	int64_t left;
	int hit = -1;

	if (not_after <= now) {
		snprintf(buf, 16, "expired");
		return buf;
	}
	left = ck_days_left(not_after, now);
	/* thresholds are descending: the last one reached is the smallest */
	for (size_t i = 0; i < rules->n_days; i++)
		if (left <= rules->days[i])
			hit = rules->days[i];
	if (hit < 0)
		return NULL;
	snprintf(buf, 16, "%dd", hit);
	return buf;
}

struct item {
	struct ck_alert a;
	int64_t not_after;
};

struct ck_expiry {
	struct ck_notify_rules rules;
	int64_t now;
	struct item *items;
	size_t n, cap;
};

void
ck_expiry_new(
    const struct ck_notify_rules *rules, int64_t now, struct ck_expiry **out)
{
	struct ck_expiry *ex = ck_calloc(1, sizeof(*ex));

	ex->rules = *rules;
	ex->now = now;
	*out = ex;
}

int
ck_expiry_add(
    struct ck_expiry *ex, const struct ck_expiry_cert *c, struct ck_err *err)
{
	char st[16], key[128], when[CK_TIME_STR_MAX];
	struct ck_buf title = CK_BUF_INIT, text = CK_BUF_INIT;
	const char *state;
	enum ck_severity sev;
	int64_t left;
	struct item *it;

	if (!c->managed && !ex->rules.include_discovered)
		return 0;
	state = ck_expiry_state(&ex->rules, c->not_after, ex->now, st);
	if (state == NULL)
		return 0;
	if (c->prev_state != NULL && strcmp(c->prev_state, state) == 0)
		return 0; /* already told */
	if (ex->n >= EXPIRY_MAX)
		return ck_err_set(err, CK_E_TOO_LARGE,
		    "expiry rule: more than %d alerts in one run", EXPIRY_MAX);
	if (ex->n == ex->cap) {
		ex->cap = ex->cap ? ex->cap * 2 : 16;
		ex->items = ck_reallocarray(ex->items, ex->cap, sizeof(*it));
	}
	it = &ex->items[ex->n];
	left = ck_days_left(c->not_after, ex->now);
	sev = c->not_after <= ex->now || left <= ex->rules.critical_days
	    ? CK_SEV_CRITICAL
	    : CK_SEV_WARNING;
	ck_time_format(c->not_after, when);
	if (c->not_after <= ex->now)
		ck_buf_printf(&title, "%s expired on %s", c->name, when);
	else
		ck_buf_printf(&title, "%s expires in %lld day%s (%s)", c->name,
		    (long long)left, left == 1 ? "" : "s", when);
	ck_buf_printf(&text,
	    "certificate: %s\nsha256: %s\nexpires: %s\nlocations: %d\n"
	    "managed: %s",
	    c->name, c->sha256, when, c->locations,
	    c->managed ? "yes (certkeep renews it)" : "no (discovered only)");
	snprintf(key, sizeof(key), "expiring:%s", c->sha256);
	ck_alert_init(&it->a, CK_ALERT_EXPIRING, sev, c->sha256, c->owner,
	    title.p, text.p, key, state);
	it->not_after = c->not_after;
	ex->n++;
	ck_buf_release(&title);
	ck_buf_release(&text);
	return 0;
}

/* Owner (nobody's last), then expiry, then sha256 for a stable order. */
static int
cmp_item(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	int c;

	if ((a->a.owner == NULL) != (b->a.owner == NULL))
		return a->a.owner == NULL ? 1 : -1;
	if (a->a.owner != NULL && (c = strcmp(a->a.owner, b->a.owner)) != 0)
		return c;
	if (a->not_after != b->not_after)
		return a->not_after < b->not_after ? -1 : 1;
	return strcmp(a->a.subject, b->a.subject);
}

static bool
same_owner(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

void
ck_expiry_finish(
    struct ck_expiry *ex, struct ck_alert_group **groups, size_t *n_groups)
{
	struct ck_alert_group *g = NULL;
	size_t ng = 0;

	*groups = NULL;
	*n_groups = 0;
	if (ex->n > 1)
		qsort(ex->items, ex->n, sizeof(*ex->items), cmp_item);
	for (size_t i = 0; i < ex->n;) {
		size_t j = i;
		while (j < ex->n &&
		    same_owner(ex->items[i].a.owner, ex->items[j].a.owner))
			j++;
		g = ck_reallocarray(g, ng + 1, sizeof(*g));
		g[ng].owner = ex->items[i].a.owner != NULL
		    ? ck_strdup(ex->items[i].a.owner)
		    : NULL;
		g[ng].n = j - i;
		g[ng].alerts = ck_calloc(j - i, sizeof(struct ck_alert));
		/* the alerts move: their strings change hands, not copied */
		for (size_t k = i; k < j; k++)
			g[ng].alerts[k - i] = ex->items[k].a;
		ng++;
		i = j;
	}
	ex->n = 0; /* moved out */
	*groups = g;
	*n_groups = ng;
}

void
ck_expiry_free(struct ck_expiry *ex)
{
	if (ex == NULL)
		return;
	for (size_t i = 0; i < ex->n; i++)
		ck_alert_release(&ex->items[i].a);
	free(ex->items);
	free(ex);
}

void
ck_alert_groups_free(struct ck_alert_group *g, size_t n)
{
	for (size_t i = 0; g != NULL && i < n; i++) {
		free(g[i].owner);
		ck_alerts_free(g[i].alerts, g[i].n);
	}
	free(g);
}
