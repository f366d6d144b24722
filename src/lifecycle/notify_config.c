/*
 * The [notify.NAME] sections of certkeep.conf into checked channels, and
 * [notify.rules] into the expiry rule's thresholds. Every key is checked
 * here, once, so a typo fails at startup naming its section and key
 * rather than as a lost alert months later. docs/notify.md lists the keys.
 */
#include "lifecycle/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "base/clock.h"
#include "base/mem.h"

static const char *const type_names[] = {
#define CK_NOTIFY_TYPE_STR(e, s) s,
    CK_NOTIFY_TYPE_MAP(CK_NOTIFY_TYPE_STR)
#undef CK_NOTIFY_TYPE_STR
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

static const char *const format_names[] = {
#define CK_WEBHOOK_FORMAT_STR(e, s) s,
    CK_WEBHOOK_FORMAT_MAP(CK_WEBHOOK_FORMAT_STR)
#undef CK_WEBHOOK_FORMAT_STR
};
#define N_FORMATS (sizeof(format_names) / sizeof(format_names[0]))

static const struct {
	const char *name;
	int val;
} facilities[] = {
    {"daemon", LOG_DAEMON},
    {"user", LOG_USER},
    {"auth", LOG_AUTH},
    {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7},
};

/* Which keys each type takes (bit per type), checked before values. */
#define T_EMAIL (1u << CK_NOTIFY_EMAIL)
#define T_WEBHOOK (1u << CK_NOTIFY_WEBHOOK)
#define T_SYSLOG (1u << CK_NOTIFY_SYSLOG)
#define T_ALL (T_EMAIL | T_WEBHOOK | T_SYSLOG)

static const struct {
	const char *key;
	unsigned types;
	bool repeat; /* may be given more than once */
} known[] = {
    {"type", T_ALL, false},
    {"kinds", T_ALL, false},
    {"min_severity", T_ALL, false},
    {"owner", T_ALL, false},
    {"digest", T_ALL, false},
    {"timeout", T_ALL, false},
    {"smtp_url", T_EMAIL, false},
    {"from", T_EMAIL, false},
    {"to", T_EMAIL, false},
    {"username", T_EMAIL, false},
    {"password_file", T_EMAIL, false},
    {"starttls", T_EMAIL, false},
    {"url", T_WEBHOOK, false},
    {"format", T_WEBHOOK, false},
    {"header", T_WEBHOOK, true},
    {"trust", T_WEBHOOK | T_EMAIL, false},
    {"facility", T_SYSLOG, false},
};
#define N_KNOWN (sizeof(known) / sizeof(known[0]))

const struct ck_notify_channel *
ck_notify_find(const struct ck_notify_config *nc, const char *name)
{
	for (size_t i = 0; nc != NULL && i < nc->n; i++)
		if (strcmp(nc->ch[i].name, name) == 0)
			return &nc->ch[i];
	return NULL;
}

static void
channel_release(struct ck_notify_channel *c)
{
	free(c->name);
	free(c->owner);
	free(c->smtp_url);
	free(c->from);
	for (size_t i = 0; i < c->n_to; i++)
		free(c->to[i]);
	free(c->to);
	free(c->username);
	free(c->password_file);
	free(c->url);
	/* headers may carry tokens */
	for (size_t i = 0; i < c->n_headers; i++) {
		ck_cleanse(c->headers[i], strlen(c->headers[i]));
		free(c->headers[i]);
	}
	free(c->headers);
	free(c->trust);
}

void
ck_notify_config_free(struct ck_notify_config *nc)
{
	if (nc == NULL)
		return;
	for (size_t i = 0; i < nc->n; i++)
		channel_release(&nc->ch[i]);
	free(nc->ch);
	free(nc);
}

/* A bare address: local@domain, printable, none of the characters that
 * would need quoting in a header or an SMTP path. */
static bool
address_ok(const char *a)
{
	const char *at = strchr(a, '@');

	if (strlen(a) > 254 || at == NULL || at == a || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
			return false;
	return true;
}

/* Printable ASCII without spaces: what a URL from a config file is. */
static bool
url_ok(const char *u, const char *const *schemes)
{
	bool scheme = false;

	for (size_t i = 0; schemes[i] != NULL; i++)
		if (strncmp(u, schemes[i], strlen(schemes[i])) == 0 &&
		    u[strlen(schemes[i])] != '\0' &&
		    u[strlen(schemes[i])] != '/')
			scheme = true;
	if (!scheme || strlen(u) > 2048)
		return false;
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* "Name: value" with a token for a name and no control characters. */
static bool
header_ok(const char *h)
{
	const char *colon = strchr(h, ':');

	if (colon == NULL || colon == h || strlen(h) > 4096)
		return false;
	for (const char *p = h; p < colon; p++)
		if (strchr(
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		        "0123456789!#$%&'*+-.^_`|~",
		        *p) == NULL)
			return false;
	for (const unsigned char *p = (const unsigned char *)colon; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

static int
bad(struct ck_err *err, const char *sec, const char *key, const char *fmt,
    const char *v)
{
	char why[256];

	snprintf(why, sizeof(why), fmt, v);
	return ck_err_set(err, CK_E_PARSE, "[%s] %s: %s", sec, key, why);
}

/* Splits a comma list into trimmed, non-empty items (owned). */
static size_t
split(const char *v, char ***out)
{
	char *copy = ck_strdup(v), *save = NULL, *t;
	size_t n = 0;

	*out = NULL;
	for (t = strtok_r(copy, ", \t", &save); t != NULL;
	     t = strtok_r(NULL, ", \t", &save)) {
		*out = ck_reallocarray(*out, n + 1, sizeof(char *));
		(*out)[n++] = ck_strdup(t);
	}
	free(copy);
	return n;
}

static void
free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static int
parse_kinds(const char *sec, const char *v, unsigned *out, struct ck_err *err)
{
	char **items;
	size_t n = split(v, &items);
	enum ck_alert_kind k;
	int r = 0;

	*out = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (strcmp(items[i], "all") == 0)
			*out |= (1u << CK_ALERT_KIND_COUNT) - 1;
		else if (ck_alert_kind_parse(items[i], &k) == 0)
			*out |= 1u << k;
		else
			r = bad(err, sec, "kinds",
			    "unknown kind '%s' (expiring, renewal_failed, "
			    "deploy_failed, location_changed, revoked, stuck, "
			    "issuer_down, all)",
			    items[i]);
	}
	if (r == 0 && *out == 0)
		r = bad(err, sec, "kinds", "%sno kind given", "");
	free_list(items, n);
	return r;
}

static int
parse_duration(const char *sec, const char *key, const char *v, int64_t lo,
    int64_t hi, int64_t *out, struct ck_err *err)
{
	if (ck_duration_parse(v, out) != 0 || *out < lo || *out > hi)
		return bad(err, sec, key,
		    "bad duration '%s' (such as 30s, 15m, 1h, 1d, within "
		    "bounds)",
		    v);
	return 0;
}

static int
set_key(struct ck_notify_channel *c, const char *sec, const char *k,
    const char *v, struct ck_err *err)
{
	static const char *const smtp_schemes[] = {"smtp://", "smtps://", NULL};
	static const char *const http_schemes[] = {"http://", "https://", NULL};

	if (strcmp(k, "type") == 0)
		return 0; /* read first */
	if (strcmp(k, "kinds") == 0)
		return parse_kinds(sec, v, &c->kinds, err);
	if (strcmp(k, "min_severity") == 0) {
		if (ck_severity_parse(v, &c->min_severity) != 0)
			return bad(err, sec, k,
			    "unknown severity '%s' (info, warning, critical)",
			    v);
		return 0;
	}
	if (strcmp(k, "owner") == 0) {
		if (*v == '\0' || strlen(v) > 256)
			return bad(
			    err, sec, k, "%san owner name, 1 to 256 bytes", "");
		c->owner = ck_strdup(v);
		return 0;
	}
	if (strcmp(k, "digest") == 0) {
		if (strcmp(v, "off") == 0) {
			c->digest = 0;
			return 0;
		}
		return parse_duration(
		    sec, k, v, 60, 30 * 86400, &c->digest, err);
	}
	if (strcmp(k, "timeout") == 0)
		return parse_duration(sec, k, v, 1, 600, &c->timeout, err);
	if (strcmp(k, "smtp_url") == 0) {
		if (!url_ok(v, smtp_schemes))
			return bad(err, sec, k,
			    "'%s' is not smtp://host[:port] or smtps://", v);
		c->smtp_url = ck_strdup(v);
		return 0;
	}
	if (strcmp(k, "from") == 0) {
		if (!address_ok(v))
			return bad(err, sec, k,
			    "'%s' is not a bare address (user@domain)", v);
		c->from = ck_strdup(v);
		return 0;
	}
	if (strcmp(k, "to") == 0) {
		size_t n = split(v, &c->to);
		c->n_to = n;
		if (n == 0)
			return bad(err, sec, k, "%sno address given", "");
		if (n > 100)
			return bad(
			    err, sec, k, "%smore than 100 addresses", "");
		for (size_t i = 0; i < n; i++)
			if (!address_ok(c->to[i]))
				return bad(err, sec, k,
				    "'%s' is not a bare address "
				    "(user@domain)",
				    c->to[i]);
		return 0;
	}
	if (strcmp(k, "username") == 0) {
		if (*v == '\0')
			return bad(err, sec, k, "%sempty", "");
		c->username = ck_strdup(v);
		return 0;
	}
	if (strcmp(k, "password_file") == 0) {
		if (*v == '\0')
			return bad(err, sec, k, "%sempty", "");
		c->password_file = ck_strdup(v);
		return 0;
	}
	if (strcmp(k, "starttls") == 0) {
		if (strcmp(v, "try") == 0)
			c->starttls = CK_SMTP_TLS_TRY;
		else if (strcmp(v, "required") == 0)
			c->starttls = CK_SMTP_TLS_REQUIRED;
		else if (strcmp(v, "off") == 0)
			c->starttls = CK_SMTP_TLS_OFF;
		else
			return bad(
			    err, sec, k, "'%s' is not try, required or off", v);
		return 0;
	}
	if (strcmp(k, "url") == 0) {
		if (!url_ok(v, http_schemes))
			return bad(err, sec, k,
			    "'%s' is not an http:// or https:// URL", v);
		c->url = ck_strdup(v);
		return 0;
	}
	if (strcmp(k, "format") == 0) {
		for (size_t i = 0; i < N_FORMATS; i++)
			if (strcmp(v, format_names[i]) == 0) {
				c->format = (enum ck_webhook_format)i;
				return 0;
			}
		return bad(err, sec, k,
		    "unknown format '%s' (json, slack, teams, "
		    "teams-messagecard)",
		    v);
	}
	if (strcmp(k, "header") == 0) {
		/* the value may be a secret: never echoed */
		if (!header_ok(v))
			return bad(err, sec, k, "%snot 'Name: value'", "");
		c->headers = ck_reallocarray(
		    c->headers, c->n_headers + 1, sizeof(char *));
		c->headers[c->n_headers++] = ck_strdup(v);
		return 0;
	}
	if (strcmp(k, "trust") == 0) {
		if (*v == '\0')
			return bad(err, sec, k, "%sempty", "");
		c->trust = ck_strdup(v);
		return 0;
	}
	if (strcmp(k, "facility") == 0) {
		for (size_t i = 0; i < sizeof(facilities) / sizeof(*facilities);
		     i++)
			if (strcmp(v, facilities[i].name) == 0) {
				c->facility = facilities[i].val;
				return 0;
			}
		return bad(err, sec, k,
		    "unknown facility '%s' (daemon, user, auth, "
		    "local0..local7)",
		    v);
	}
	CK_BUG("key in the table without a parser");
}

static int
channel_from(const struct ck_config_section *s, struct ck_notify_channel *c,
    struct ck_err *err)
{
	const char *name = s->name + 7, *type = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	c->name = ck_strdup(name);
	c->kinds = (1u << CK_ALERT_KIND_COUNT) - 1;
	c->min_severity = CK_SEV_INFO;
	c->timeout = 30;
	c->facility = LOG_DAEMON;
	if (strlen(name) > 64 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
	        strlen(name))
		return ck_err_set(err, CK_E_PARSE,
		    "[%s]: a channel name is 1 to 64 lower-case letters, "
		    "digits, '-' and '_'",
		    s->name);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->keys[i], "type") == 0)
			type = s->vals[i];
	if (type == NULL)
		return ck_err_set(err, CK_E_PARSE,
		    "[%s] type: missing (email, webhook or syslog)", s->name);
	for (size_t t = 0; t <= N_TYPES; t++) {
		if (t == N_TYPES)
			return bad(err, s->name, "type",
			    "unknown type '%s' (email, webhook or syslog)",
			    type);
		if (strcmp(type, type_names[t]) == 0) {
			c->type = (enum ck_notify_type)t;
			break;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		const char *k = s->keys[i];
		size_t j = 0;

		while (j < N_KNOWN && strcmp(known[j].key, k) != 0)
			j++;
		if (j == N_KNOWN)
			return ck_err_set(err, CK_E_PARSE,
			    "[%s] %s: unknown key", s->name, k);
		if ((known[j].types & (1u << c->type)) == 0)
			return ck_err_set(err, CK_E_PARSE,
			    "[%s] %s: not a key of a %s channel", s->name, k,
			    type_names[c->type]);
		for (size_t p = 0; p < i && !known[j].repeat; p++)
			if (strcmp(s->keys[p], k) == 0)
				return ck_err_set(err, CK_E_PARSE,
				    "[%s] %s: given twice", s->name, k);
		if ((r = set_key(c, s->name, k, s->vals[i], err)) != 0)
			return r;
	}
	if (c->type == CK_NOTIFY_EMAIL) {
		const char *miss = c->smtp_url == NULL ? "smtp_url"
		    : c->from == NULL                  ? "from"
		    : c->n_to == 0                     ? "to"
		                                       : NULL;
		if (miss != NULL)
			return ck_err_set(err, CK_E_PARSE,
			    "[%s] %s: missing (an email channel needs "
			    "smtp_url, from and to)",
			    s->name, miss);
		if ((c->username == NULL) != (c->password_file == NULL))
			return ck_err_set(err, CK_E_PARSE,
			    "[%s] %s: missing (username and password_file go "
			    "together)",
			    s->name,
			    c->username == NULL ? "username" : "password_file");
		if (strncmp(c->smtp_url, "smtps://", 8) == 0 &&
		    c->starttls == CK_SMTP_TLS_OFF)
			return ck_err_set(err, CK_E_PARSE,
			    "[%s] starttls: off contradicts smtps://", s->name);
	}
	if (c->type == CK_NOTIFY_WEBHOOK && c->url == NULL)
		return ck_err_set(err, CK_E_PARSE,
		    "[%s] url: missing (a webhook channel needs one)", s->name);
	return 0;
}

static int
rules_from(const struct ck_config_section *s, struct ck_notify_rules *ru,
    struct ck_err *err)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *k = s->keys[i], *v = s->vals[i];
		char *end;
		long n;

		if (strcmp(k, "expiring_days") == 0) {
			char **items;
			size_t m = split(v, &items);
			int r = 0;
			ru->n_days = 0;
			if (m == 0 || m > sizeof(ru->days) / sizeof(int))
				r = bad(err, s->name, k,
				    "'%s': 1 to 16 numbers of days", v);
			for (size_t j = 0; j < m && r == 0; j++) {
				n = strtol(items[j], &end, 10);
				if (*end != '\0' || n < 0 || n > 3650 ||
				    (j > 0 && n >= ru->days[j - 1]))
					r = bad(err, s->name, k,
					    "'%s': days from 0 to 3650, "
					    "descending",
					    v);
				else
					ru->days[ru->n_days++] = (int)n;
			}
			free_list(items, m);
			if (r != 0)
				return r;
		} else if (strcmp(k, "critical_days") == 0) {
			n = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || n < 0 || n > 3650)
				return bad(err, s->name, k,
				    "'%s' is not a number of days (0 to 3650)",
				    v);
			ru->critical_days = (int)n;
		} else if (strcmp(k, "include_discovered") == 0) {
			if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
				ru->include_discovered = true;
			else if (strcmp(v, "no") == 0 ||
			    strcmp(v, "false") == 0)
				ru->include_discovered = false;
			else
				return bad(err, s->name, k,
				    "'%s' is not yes or no", v);
		} else {
			return ck_err_set(err, CK_E_PARSE,
			    "[%s] %s: unknown key (expiring_days, "
			    "critical_days, include_discovered)",
			    s->name, k);
		}
	}
	return 0;
}

int
ck_notify_configure(const struct ck_config *cfg, struct ck_notify_config **out,
    struct ck_err *err)
{
	struct ck_notify_config *nc = ck_calloc(1, sizeof(*nc));
	int r = 0;

	*out = NULL;
	ck_notify_rules_default(&nc->rules);
	for (size_t i = 0; i < cfg->n_sections && r == 0; i++) {
		const struct ck_config_section *s = &cfg->sections[i];
		if (strncmp(s->name, "notify.", 7) != 0)
			continue;
		if (strcmp(s->name, "notify.rules") == 0) {
			r = rules_from(s, &nc->rules, err);
			continue;
		}
		nc->ch = ck_reallocarray(nc->ch, nc->n + 1, sizeof(*nc->ch));
		/* counted before filling so a half-made channel is freed */
		r = channel_from(s, &nc->ch[nc->n++], err);
	}
	if (r != 0) {
		ck_notify_config_free(nc);
		return r;
	}
	*out = nc;
	return 0;
}
