/*
 * Unit tests for notifications: [notify.NAME] validation (each bad key is
 * named), the rendered email (RFC 5322 headers, CRLF, encoded subjects,
 * no header injection) and webhook bodies (each format is JSON with the
 * fields its receiver reads), once-per-state-change, routing, the expiry
 * rule's thresholds and grouping per owner, retry backoff bounds, alerts
 * as JSON and syslog lines. notify_send.c is included to replace syslog.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "base/clock.h"
#include "lifecycle/notify.h"
#include "lifecycle/notify_send.c"

static int
load(const char *text, struct ck_notify_config **nc, struct ck_err *err)
{
	char path[] = "/tmp/ck-notify-XXXXXX";
	int fd = mkstemp(path), r;
	FILE *f = fdopen(fd, "w");
	struct ck_config cfg;

	fputs(text, f);
	fclose(f);
	r = ck_config_load(path, &cfg, err);
	unlink(path);
	if (r != 0)
		return r;
	r = ck_notify_configure(&cfg, nc, err);
	ck_config_release(&cfg);
	return r;
}

#define EMAIL                                                            \
	"[notify.ops]\ntype = email\nsmtp_url = smtp://127.0.0.1:2525\n" \
	"from = certkeep@example.test\nto = ops@example.test, "          \
	"pki@example.test\n"

Test(notify_config, good_channels_and_rules)
{
	struct ck_notify_config *nc = NULL;
	const struct ck_notify_channel *c;
	struct ck_err err = {0};

	cr_assert_eq(load(EMAIL "kinds = expiring, revoked\n"
	                        "min_severity = warning\ndigest = 1h\n"
	                        "owner = alice\ntimeout = 10s\n"
	                        "[notify.chat]\ntype = webhook\n"
	                        "url = https://hooks.example.test/x/y\n"
	                        "format = teams\nheader = X-A: 1\n"
	                        "header = Authorization: Bearer t\n"
	                        "[notify.log]\ntype = syslog\n"
	                        "facility = local3\n"
	                        "[notify.rules]\nexpiring_days = 60,30,7\n"
	                        "critical_days = 3\ninclude_discovered = no\n",
	                 &nc, &err),
	    0, "%s", err.msg);
	cr_assert_eq(nc->n, 3);
	c = ck_notify_find(nc, "ops");
	cr_assert_not_null(c);
	cr_assert_eq(c->type, CK_NOTIFY_EMAIL);
	cr_assert_eq(c->n_to, 2);
	cr_assert_str_eq(c->to[1], "pki@example.test");
	cr_assert_eq(
	    c->kinds, (1u << CK_ALERT_EXPIRING) | (1u << CK_ALERT_REVOKED));
	cr_assert_eq(c->min_severity, CK_SEV_WARNING);
	cr_assert_eq(c->digest, 3600);
	cr_assert_eq(c->timeout, 10);
	cr_assert_str_eq(c->owner, "alice");
	c = ck_notify_find(nc, "chat");
	cr_assert_eq(c->format, CK_WEBHOOK_TEAMS);
	cr_assert_eq(c->n_headers, 2);
	cr_assert_eq(c->digest, 0);
	cr_assert_eq(c->kinds, (1u << CK_ALERT_KIND_COUNT) - 1);
	c = ck_notify_find(nc, "log");
	cr_assert_eq(c->facility, LOG_LOCAL3);
	cr_assert_null(ck_notify_find(nc, "rules"));
	cr_assert_eq(nc->rules.n_days, 3);
	cr_assert_eq(nc->rules.days[2], 7);
	cr_assert_eq(nc->rules.critical_days, 3);
	cr_assert_not(nc->rules.include_discovered);
	ck_notify_config_free(nc);
}

Test(notify_config, defaults_without_sections)
{
	struct ck_notify_config *nc = NULL;
	struct ck_err err = {0};

	cr_assert_eq(load("[log]\nlevel = info\n", &nc, &err), 0);
	cr_assert_eq(nc->n, 0);
	cr_assert_eq(nc->rules.n_days, 4);
	cr_assert_eq(nc->rules.days[0], 30);
	cr_assert_eq(nc->rules.days[3], 1);
	cr_assert(nc->rules.include_discovered);
	ck_notify_config_free(nc);
}

Test(notify_config, each_bad_key_is_named)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"[notify.a]\nsmtp_url = smtp://x\n", "[notify.a] type: missing"},
	    {"[notify.a]\ntype = pager\n", "[notify.a] type: unknown type"},
	    {EMAIL "colour = red\n", "[notify.ops] colour: unknown key"},
	    {EMAIL "url = http://x/\n",
	        "[notify.ops] url: not a key of a email channel"},
	    {EMAIL "kinds = expiring, soon\n",
	        "[notify.ops] kinds: unknown kind 'soon'"},
	    {EMAIL "kinds = ,\n", "[notify.ops] kinds: no kind given"},
	    {EMAIL "min_severity = high\n",
	        "[notify.ops] min_severity: unknown severity 'high'"},
	    {EMAIL "digest = often\n", "[notify.ops] digest: bad duration"},
	    {EMAIL "digest = 10s\n", "[notify.ops] digest: bad duration"},
	    {EMAIL "timeout = 2h\n", "[notify.ops] timeout: bad duration"},
	    {EMAIL "starttls = maybe\n", "[notify.ops] starttls: 'maybe'"},
	    {EMAIL "username = u\n", "[notify.ops] password_file: missing"},
	    {EMAIL "owner = \n", "[notify.ops] owner:"},
	    {"[notify.a]\ntype = email\nsmtp_url = http://x\n",
	        "[notify.a] smtp_url: 'http://x' is not smtp://"},
	    {"[notify.a]\ntype = email\nsmtp_url = smtp://x\n"
	     "from = a@b\n",
	        "[notify.a] to: missing"},
	    {"[notify.a]\ntype = email\nsmtp_url = smtp://x\nto = a@b\n",
	        "[notify.a] from: missing"},
	    {"[notify.a]\ntype = email\nfrom = a@b\nto = a@b\n",
	        "[notify.a] smtp_url: missing"},
	    {"[notify.a]\ntype = email\nsmtp_url = smtp://x\n"
	     "from = a@b\nto = a@b, <evil>@c\n",
	        "[notify.a] to: '<evil>@c' is not a bare address"},
	    {"[notify.a]\ntype = email\nsmtp_url = smtp://x\n"
	     "from = nobody\nto = a@b\n",
	        "[notify.a] from: 'nobody' is not a bare address"},
	    {"[notify.a]\ntype = email\nsmtp_url = smtps://x\n"
	     "from = a@b\nto = a@b\nstarttls = off\n",
	        "[notify.a] starttls: off contradicts smtps://"},
	    {"[notify.a]\ntype = webhook\n", "[notify.a] url: missing"},
	    {"[notify.a]\ntype = webhook\nurl = ftp://x/\n",
	        "[notify.a] url: 'ftp://x/' is not an http://"},
	    {"[notify.a]\ntype = webhook\nurl = http://x/\nformat = xml\n",
	        "[notify.a] format: unknown format 'xml'"},
	    {"[notify.a]\ntype = webhook\nurl = http://x/\nheader = nocolon\n",
	        "[notify.a] header: not 'Name: value'"},
	    {"[notify.a]\ntype = webhook\nurl = http://x/\nurl = http://y/\n",
	        "[notify.a] url: given twice"},
	    {"[notify.a]\ntype = syslog\nfacility = kern\n",
	        "[notify.a] facility: unknown facility 'kern'"},
	    {"[notify.a]\ntype = syslog\nfrom = a@b\n",
	        "[notify.a] from: not a key of a syslog channel"},
	    {"[notify.Big]\ntype = syslog\n", "[notify.Big]: a channel name"},
	    {"[notify.rules]\nexpiring_days = 7,30\n",
	        "[notify.rules] expiring_days: '7,30': days from 0 to 3650, "
	        "descending"},
	    {"[notify.rules]\nexpiring_days = soon\n",
	        "[notify.rules] expiring_days:"},
	    {"[notify.rules]\ncritical_days = -1\n",
	        "[notify.rules] critical_days: '-1'"},
	    {"[notify.rules]\ninclude_discovered = maybe\n",
	        "[notify.rules] include_discovered: 'maybe'"},
	    {"[notify.rules]\nthresholds = 1\n",
	        "[notify.rules] thresholds: unknown key"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ck_notify_config *nc = (void *)1;
		struct ck_err err = {0};
		int r = load(cases[i].text, &nc, &err);

		cr_assert_eq(r, CK_E_PARSE, "case %zu: %d", i, r);
		cr_assert_null(nc, "case %zu", i);
		cr_assert(strstr(err.msg, cases[i].want) != NULL,
		    "case %zu: '%s' does not say '%s'", i, err.msg,
		    cases[i].want);
	}
}

Test(notify_config, header_values_are_not_echoed)
{
	struct ck_notify_config *nc = NULL;
	struct ck_err err = {0};

	cr_assert_eq(load("[notify.a]\ntype = webhook\nurl = http://x/\n"
	                  "header = Bad Name: secret-token\n",
	                 &nc, &err),
	    CK_E_PARSE);
	cr_assert_null(strstr(err.msg, "secret-token"), "%s", err.msg);
}

/* ---- rendering ---------------------------------------------------------- */

static struct ck_notify_channel
channel(enum ck_notify_type t, enum ck_webhook_format f)
{
	static char *to[] = {"ops@example.test", "pki@example.test"};
	struct ck_notify_channel c;

	memset(&c, 0, sizeof(c));
	c.name = "ops";
	c.type = t;
	c.kinds = (1u << CK_ALERT_KIND_COUNT) - 1;
	c.timeout = 5;
	c.smtp_url = "smtp://127.0.0.1:1";
	c.from = "certkeep@example.test";
	c.to = to;
	c.n_to = 2;
	c.url = "http://127.0.0.1:1/hook/secret";
	c.format = f;
	c.facility = LOG_LOCAL3;
	return c;
}

static void
two_alerts(struct ck_alert a[2])
{
	ck_alert_init(&a[0], CK_ALERT_EXPIRING, CK_SEV_WARNING, "ab12", "alice",
	    "www.example.test expires in 9 days",
	    "certificate: www.example.test\nlocations: 2", NULL, "14d");
	ck_alert_init(&a[1], CK_ALERT_REVOKED, CK_SEV_CRITICAL, "cd34", "alice",
	    "api.example.test was revoked", "reason: keyCompromise", NULL,
	    NULL);
}

/* The value of header name in an RFC 5322 message (first line only). */
static char *
header(const char *msg, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = msg; p && *p; p = strstr(p, "\r\n")) {
		if (p != msg)
			p += 2;
		if (strncmp(p, "\r\n", 2) == 0)
			return NULL; /* end of headers */
		if (strncmp(p, name, n) == 0 && p[n] == ':')
			return strndup(p + n + 2, strcspn(p + n + 2, "\r"));
	}
	return NULL;
}

Test(notify_render, email_headers_and_body)
{
	struct ck_notify_channel c = channel(CK_NOTIFY_EMAIL, 0);
	struct ck_buf b = CK_BUF_INIT;
	struct ck_alert a[2];
	char *h;

	two_alerts(a);
	/* 2026-11-23 was a Monday */
	ck_notify_render(&c, a, 2, 1795445266, &b);
	h = header(b.p, "Date");
	cr_assert_str_eq(h, "Mon, 23 Nov 2026 14:47:46 +0000");
	free(h);
	h = header(b.p, "From");
	cr_assert_str_eq(h, "certkeep <certkeep@example.test>");
	free(h);
	h = header(b.p, "To");
	cr_assert_str_eq(h, "ops@example.test,"); /* folded */
	free(h);
	cr_assert(
	    strstr(b.p, "To: ops@example.test,\r\n pki@example.test\r\n"));
	h = header(b.p, "Subject");
	cr_assert_str_eq(h,
	    "[certkeep] CRITICAL: 2 alerts for alice (1 expiring, 1 revoked)");
	free(h);
	h = header(b.p, "Message-ID");
	cr_assert_not_null(h);
	cr_assert(h[0] == '<' && strstr(h, "@example.test>") != NULL, "%s", h);
	free(h);
	cr_assert(strstr(b.p, "\r\nMIME-Version: 1.0\r\n"));
	cr_assert(strstr(b.p, "Content-Type: text/plain; charset=utf-8\r\n"));
	/* headers end once, then the body lists both alerts */
	cr_assert(strstr(b.p, "\r\n\r\n") != NULL);
	cr_assert(strstr(
	    b.p, "[warning] expiring: www.example.test expires in 9 days\r\n"));
	cr_assert(strstr(b.p, "  owner: alice\r\n"));
	cr_assert(strstr(b.p, "  locations: 2\r\n"));
	cr_assert(strstr(b.p, "[critical] revoked: api.example.test"));
	/* every line ends in CRLF: no bare LF */
	for (size_t i = 0; i < b.len; i++)
		if (b.p[i] == '\n')
			cr_assert(
			    i > 0 && b.p[i - 1] == '\r', "bare LF at %zu", i);
	ck_buf_release(&b);
	ck_alert_release(&a[0]);
	ck_alert_release(&a[1]);
}

Test(notify_render, email_subject_cannot_inject_headers)
{
	struct ck_notify_channel c = channel(CK_NOTIFY_EMAIL, 0);
	struct ck_buf b = CK_BUF_INIT;
	struct ck_alert a;
	char *h;

	ck_alert_init(&a, CK_ALERT_EXPIRING, CK_SEV_INFO, "x", NULL,
	    "evil\r\nBcc: victim@example.test", "line\r\nBcc: x", NULL, NULL);
	ck_notify_render(&c, &a, 1, 1795445266, &b);
	cr_assert_null(header(b.p, "Bcc"));
	h = header(b.p, "Subject");
	cr_assert_str_eq(h, "[certkeep] evil??Bcc: victim@example.test");
	free(h);
	ck_buf_release(&b);
	ck_alert_release(&a);
}

Test(notify_render, email_non_ascii_subject_is_encoded)
{
	struct ck_notify_channel c = channel(CK_NOTIFY_EMAIL, 0);
	struct ck_buf b = CK_BUF_INIT;
	struct ck_alert a;
	char *h;

	ck_alert_init(&a, CK_ALERT_EXPIRING, CK_SEV_INFO, "x", NULL,
	    "b\xc3\xbc"
	    "cher.example expires",
	    "", NULL, NULL);
	ck_notify_render(&c, &a, 1, 1795445266, &b);
	h = header(b.p, "Subject");
	/* "[certkeep] bücher.example expires" in base64 */
	cr_assert_str_eq(
	    h, "=?UTF-8?B?W2NlcnRrZWVwXSBiw7xjaGVyLmV4YW1wbGUgZXhwaXJlcw==?=");
	free(h);
	ck_buf_release(&b);
	ck_alert_release(&a);
}

Test(notify_render, invalid_utf8_is_replaced)
{
	struct ck_alert a;

	ck_alert_init(&a, CK_ALERT_EXPIRING, CK_SEV_INFO, "x", "o\xff",
	    "caf\xe9 \xc3\xa9", "\xed\xa0\x80 ok\n\x01", NULL, NULL);
	cr_assert_str_eq(a.title, "caf? \xc3\xa9");
	cr_assert_str_eq(a.text, "??? ok\n?");
	cr_assert_str_eq(a.owner, "o?");
	ck_alert_release(&a);
}

static json_t *
render_json_doc(enum ck_webhook_format f, struct ck_alert *a, size_t n)
{
	struct ck_notify_channel c = channel(CK_NOTIFY_WEBHOOK, f);
	struct ck_buf b = CK_BUF_INIT;
	json_error_t je;
	json_t *o;

	ck_notify_render(&c, a, n, 1795445266, &b);
	o = json_loadb(b.p, b.len, 0, &je);
	cr_assert_not_null(o, "%s: %s", je.text, b.p);
	ck_buf_release(&b);
	return o;
}

Test(notify_render, webhook_json)
{
	struct ck_alert a[2];
	json_t *o, *x;

	two_alerts(a);
	o = render_json_doc(CK_WEBHOOK_JSON, a, 2);
	cr_assert_str_eq(
	    json_string_value(json_object_get(o, "source")), "certkeep");
	cr_assert_str_eq(
	    json_string_value(json_object_get(o, "channel")), "ops");
	cr_assert_eq(json_integer_value(json_object_get(o, "count")), 2);
	cr_assert_str_eq(
	    json_string_value(json_object_get(o, "severity")), "critical");
	cr_assert_str_eq(json_string_value(json_object_get(o, "sent_at")),
	    "2026-11-23T14:47:46Z");
	x = json_array_get(json_object_get(o, "alerts"), 0);
	cr_assert_str_eq(
	    json_string_value(json_object_get(x, "kind")), "expiring");
	cr_assert_str_eq(
	    json_string_value(json_object_get(x, "owner")), "alice");
	cr_assert_str_eq(
	    json_string_value(json_object_get(x, "key")), "expiring:ab12");
	cr_assert_str_eq(json_string_value(json_object_get(x, "state")), "14d");
	x = json_array_get(json_object_get(o, "alerts"), 1);
	cr_assert_str_eq(
	    json_string_value(json_object_get(x, "kind")), "revoked");
	json_decref(o);
	ck_alert_release(&a[0]);
	ck_alert_release(&a[1]);
}

Test(notify_render, webhook_slack)
{
	struct ck_alert a[2];
	const char *t;
	json_t *o;

	two_alerts(a);
	free(a[1].title);
	a[1].title = strdup("<b> & co");
	o = render_json_doc(CK_WEBHOOK_SLACK, a, 2);
	t = json_string_value(json_object_get(o, "text"));
	cr_assert_not_null(t);
	cr_assert(strstr(t, "2 alerts for alice"), "%s", t);
	cr_assert(strstr(t, "www.example.test expires in 9 days"), "%s", t);
	/* Slack's control characters escaped */
	cr_assert(strstr(t, "&lt;b&gt; &amp; co"), "%s", t);
	json_decref(o);
	ck_alert_release(&a[0]);
	ck_alert_release(&a[1]);
}

Test(notify_render, webhook_teams_adaptive_card)
{
	struct ck_alert a[2];
	json_t *o, *att, *card, *body;

	two_alerts(a);
	o = render_json_doc(CK_WEBHOOK_TEAMS, a, 2);
	cr_assert_str_eq(
	    json_string_value(json_object_get(o, "type")), "message");
	att = json_array_get(json_object_get(o, "attachments"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(att, "contentType")),
	    "application/vnd.microsoft.card.adaptive");
	card = json_object_get(att, "content");
	cr_assert_str_eq(
	    json_string_value(json_object_get(card, "type")), "AdaptiveCard");
	cr_assert_not_null(json_string_value(json_object_get(card, "version")));
	body = json_object_get(card, "body");
	/* summary, then per alert: title, text, facts */
	cr_assert_eq(json_array_size(body), 7);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(body, 1), "text")),
	    "www.example.test expires in 9 days");
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(body, 3), "type")),
	    "FactSet");
	json_decref(o);
	ck_alert_release(&a[0]);
	ck_alert_release(&a[1]);
}

Test(notify_render, webhook_teams_messagecard)
{
	struct ck_alert a[2];
	json_t *o, *s;

	two_alerts(a);
	o = render_json_doc(CK_WEBHOOK_MESSAGECARD, a, 2);
	cr_assert_str_eq(
	    json_string_value(json_object_get(o, "@type")), "MessageCard");
	cr_assert_str_eq(json_string_value(json_object_get(o, "@context")),
	    "https://schema.org/extensions");
	cr_assert_not_null(json_string_value(json_object_get(o, "summary")));
	cr_assert_str_eq(
	    json_string_value(json_object_get(o, "themeColor")), "D13438");
	s = json_array_get(json_object_get(o, "sections"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(s, "activityTitle")),
	    "api.example.test was revoked");
	cr_assert_str_eq(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(s, "facts"), 0), "name")),
	    "kind");
	json_decref(o);
	ck_alert_release(&a[0]);
	ck_alert_release(&a[1]);
}

Test(notify_render, describe_hides_webhook_secrets)
{
	struct ck_notify_channel c = channel(CK_NOTIFY_WEBHOOK, 1);
	char out[300];

	c.url = "https://user:pw@hooks.example.test:8443/services/T/B/SECRET";
	ck_notify_describe(&c, out, sizeof(out));
	cr_assert_str_eq(
	    out, "webhook slack to https://hooks.example.test:8443/...");
	c.url = "http://127.0.0.1:9";
	ck_notify_describe(&c, out, sizeof(out));
	cr_assert_str_eq(out, "webhook slack to http://127.0.0.1:9");
}

/* ---- syslog ------------------------------------------------------------- */

static int logged_pri[8];
static char logged[8][512];
static int n_logged;

static void
fake_syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logged_pri[n_logged] = pri;
	vsnprintf(logged[n_logged++], sizeof(logged[0]), fmt, ap);
	va_end(ap);
}

Test(notify_send, syslog_one_line_per_alert)
{
	struct ck_notify_channel c = channel(CK_NOTIFY_SYSLOG, 0);
	struct ck_alert a[2];

	syslog_fn = fake_syslog;
	two_alerts(a);
	cr_assert_eq(ck_notify_send(&c, a, 2, NULL), 0);
	cr_assert_eq(n_logged, 2);
	cr_assert_eq(logged_pri[0], LOG_LOCAL3 | LOG_WARNING);
	cr_assert_eq(logged_pri[1], LOG_LOCAL3 | LOG_CRIT);
	cr_assert_str_eq(logged[1],
	    "alert kind=revoked severity=critical owner=\"alice\" "
	    "subject=\"cd34\" state=\"raised\" "
	    "title=\"api.example.test was revoked\"");
	ck_alert_release(&a[0]);
	ck_alert_release(&a[1]);
}

Test(notify_send, failures_are_io_errors_without_secrets)
{
	struct ck_notify_channel c = channel(CK_NOTIFY_WEBHOOK, 0);
	struct ck_err err = {0};
	struct ck_alert a[2];

	two_alerts(a);
	cr_assert_eq(ck_notify_send(&c, a, 0, &err), CK_E_INVAL);
	/* port 1 on loopback: nothing listens */
	cr_assert_eq(ck_notify_send(&c, a, 2, &err), CK_E_IO, "%s", err.msg);
	cr_assert(strstr(err.msg, "notify ops: "), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "secret"), "%s", err.msg);
	c = channel(CK_NOTIFY_EMAIL, 0);
	cr_assert_eq(ck_notify_send(&c, a, 2, &err), CK_E_IO, "%s", err.msg);
	cr_assert(
	    strstr(err.msg, "notify ops: smtp://127.0.0.1:1"), "%s", err.msg);
	ck_alert_release(&a[0]);
	ck_alert_release(&a[1]);
}

/* ---- state, routing, retries ------------------------------------------- */

Test(notify_state, once_per_state_change)
{
	struct ck_alert a;

	ck_alert_init(&a, CK_ALERT_EXPIRING, CK_SEV_WARNING, "ab", NULL, "t",
	    "x", "expiring:ab", "14d");
	cr_assert(ck_alert_changed(NULL, &a));
	cr_assert_not(ck_alert_changed("14d", &a));
	cr_assert(ck_alert_changed("30d", &a));
	ck_alert_release(&a);
	/* defaults: "<kind>:<subject>" and "raised" */
	ck_alert_init(&a, CK_ALERT_RENEWAL_FAILED, CK_SEV_CRITICAL, "web", NULL,
	    "t", "x", NULL, NULL);
	cr_assert_str_eq(a.key, "renewal_failed:web");
	cr_assert_str_eq(a.state, "raised");
	ck_alert_release(&a);
}

Test(notify_state, routing)
{
	struct ck_notify_channel c = channel(CK_NOTIFY_SYSLOG, 0);
	struct ck_alert a[2];

	two_alerts(a); /* warning expiring, critical revoked; alice */
	cr_assert(ck_notify_route(&c, &a[0]));
	c.kinds = 1u << CK_ALERT_REVOKED;
	cr_assert_not(ck_notify_route(&c, &a[0]));
	cr_assert(ck_notify_route(&c, &a[1]));
	c.kinds = (1u << CK_ALERT_KIND_COUNT) - 1;
	c.min_severity = CK_SEV_CRITICAL;
	cr_assert_not(ck_notify_route(&c, &a[0]));
	cr_assert(ck_notify_route(&c, &a[1]));
	c.min_severity = CK_SEV_INFO;
	c.owner = "bob";
	cr_assert_not(ck_notify_route(&c, &a[0]));
	c.owner = "alice";
	cr_assert(ck_notify_route(&c, &a[0]));
	ck_alert_release(&a[0]);
	ck_alert_release(&a[1]);
}

Test(notify_state, retry_backoff_is_bounded)
{
	int64_t at, prev = 0;

	cr_assert(ck_notify_retry_at(1, 1000, &at));
	cr_assert_eq(at, 1000 + CK_NOTIFY_RETRY_BASE);
	cr_assert(ck_notify_retry_at(2, 1000, &at));
	cr_assert_eq(at, 1000 + 2 * CK_NOTIFY_RETRY_BASE);
	cr_assert(ck_notify_retry_at(0, 1000, &at)); /* as the first */
	cr_assert_eq(at, 1000 + CK_NOTIFY_RETRY_BASE);
	for (int i = 1; i < CK_NOTIFY_RETRY_MAX; i++) {
		cr_assert(ck_notify_retry_at(i, 0, &at));
		cr_assert_geq(at, prev, "attempt %d", i);
		cr_assert_leq(at, CK_NOTIFY_RETRY_CAP, "attempt %d", i);
		prev = at;
	}
	cr_assert_eq(prev, CK_NOTIFY_RETRY_CAP);
	cr_assert_not(ck_notify_retry_at(CK_NOTIFY_RETRY_MAX, 0, &at));
	cr_assert_eq(at, 0);
	cr_assert_not(ck_notify_retry_at(1 << 30, 0, &at));
}

Test(notify_state, digest_flush_time)
{
	struct ck_notify_channel c = channel(CK_NOTIFY_SYSLOG, 0);

	cr_assert_eq(ck_notify_flush_at(&c, 500, 1000), 1000);
	c.digest = 3600;
	cr_assert_eq(ck_notify_flush_at(&c, 0, 1000), 1000);
	cr_assert_eq(ck_notify_flush_at(&c, 500, 1000), 4100);
}

Test(notify_state, alert_json_round_trip)
{
	struct ck_buf b = CK_BUF_INIT;
	struct ck_err err = {0};
	struct ck_alert a[2], back;

	two_alerts(a);
	a[0].at = 1795445266;
	ck_alert_to_json(&a[0], &b);
	cr_assert_eq(
	    ck_alert_from_json(b.p, b.len, &back, &err), 0, "%s", err.msg);
	cr_assert_eq(back.kind, CK_ALERT_EXPIRING);
	cr_assert_eq(back.severity, CK_SEV_WARNING);
	cr_assert_str_eq(back.owner, "alice");
	cr_assert_str_eq(back.text, a[0].text);
	cr_assert_str_eq(back.key, "expiring:ab12");
	cr_assert_str_eq(back.state, "14d");
	cr_assert_eq(back.at, 1795445266);
	ck_alert_release(&back);
	cr_assert_eq(ck_alert_from_json("{\"kind\":\"x\"}", 12, &back, &err),
	    CK_E_PARSE);
	cr_assert_eq(ck_alert_from_json("[", 1, &back, &err), CK_E_PARSE);
	ck_buf_release(&b);
	ck_alert_release(&a[0]);
	ck_alert_release(&a[1]);
}

/* ---- the expiry rule ---------------------------------------------------- */

#define NOW 1795445266 /* 2026-11-23T14:47:46Z */
#define DAY 86400

Test(notify_expiry, state_is_the_threshold_crossed)
{
	struct ck_notify_rules r;
	char buf[16];

	ck_notify_rules_default(&r); /* 30,14,7,1 */
	cr_assert_null(ck_expiry_state(&r, NOW + 31 * DAY, NOW, buf));
	cr_assert_str_eq(ck_expiry_state(&r, NOW + 30 * DAY, NOW, buf), "30d");
	cr_assert_str_eq(ck_expiry_state(&r, NOW + 15 * DAY, NOW, buf), "30d");
	cr_assert_str_eq(ck_expiry_state(&r, NOW + 10 * DAY, NOW, buf), "14d");
	cr_assert_str_eq(ck_expiry_state(&r, NOW + 7 * DAY, NOW, buf), "7d");
	cr_assert_str_eq(ck_expiry_state(&r, NOW + DAY + 3600, NOW, buf), "1d");
	cr_assert_str_eq(ck_expiry_state(&r, NOW + 60, NOW, buf), "1d");
	cr_assert_str_eq(ck_expiry_state(&r, NOW, NOW, buf), "expired");
	cr_assert_str_eq(ck_expiry_state(&r, NOW - DAY, NOW, buf), "expired");
}

static void
add(struct ck_expiry *ex, const char *sha, const char *name, int64_t days,
    const char *owner, bool managed, const char *prev)
{
	struct ck_expiry_cert c = {
	    sha, name, NOW + days * DAY, owner, 1, managed, prev};
	struct ck_err err = {0};

	cr_assert_eq(ck_expiry_add(ex, &c, &err), 0, "%s", err.msg);
}

Test(notify_expiry, grouped_per_owner_once_per_threshold)
{
	struct ck_notify_rules r;
	struct ck_expiry *ex;
	struct ck_alert_group *g;
	size_t n;

	ck_notify_rules_default(&r);
	ck_expiry_new(&r, NOW, &ex);
	add(ex, "a1", "a1.example", 20, "alice", true, NULL);
	add(ex, "b1", "b1.example", 5, "bob", false, NULL);
	add(ex, "a2", "a2.example", 3, "alice", false, "30d");
	add(ex, "n1", "n1.example", -2, NULL, false, NULL);
	add(ex, "a3", "a3.example", 25, "alice", true, "30d"); /* told */
	add(ex, "z1", "z1.example", 90, "alice", true, NULL); /* far */
	ck_expiry_finish(ex, &g, &n);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(g[0].owner, "alice");
	cr_assert_eq(g[0].n, 2);
	/* soonest first */
	cr_assert_str_eq(g[0].alerts[0].subject, "a2");
	cr_assert_str_eq(g[0].alerts[0].state, "7d");
	cr_assert_eq(g[0].alerts[0].severity, CK_SEV_CRITICAL);
	cr_assert_str_eq(g[0].alerts[0].key, "expiring:a2");
	cr_assert_str_eq(g[0].alerts[1].subject, "a1");
	cr_assert_str_eq(g[0].alerts[1].state, "30d");
	cr_assert_eq(g[0].alerts[1].severity, CK_SEV_WARNING);
	cr_assert(strstr(g[0].alerts[1].title, "a1.example expires in 20 days"),
	    "%s", g[0].alerts[1].title);
	cr_assert_str_eq(g[1].owner, "bob");
	cr_assert_eq(g[1].n, 1);
	cr_assert(strstr(g[1].alerts[0].text, "discovered only"));
	/* nobody's last */
	cr_assert_null(g[2].owner);
	cr_assert_str_eq(g[2].alerts[0].state, "expired");
	cr_assert(strstr(g[2].alerts[0].title, "n1.example expired on"));
	ck_alert_groups_free(g, n);
	ck_expiry_free(ex);
}

Test(notify_expiry, managed_only_when_asked)
{
	struct ck_notify_rules r;
	struct ck_expiry *ex;
	struct ck_alert_group *g;
	size_t n;

	ck_notify_rules_default(&r);
	r.include_discovered = false;
	ck_expiry_new(&r, NOW, &ex);
	add(ex, "a1", "a1.example", 20, "alice", true, NULL);
	add(ex, "b1", "b1.example", 5, "alice", false, NULL);
	ck_expiry_finish(ex, &g, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(g[0].n, 1);
	cr_assert_str_eq(g[0].alerts[0].subject, "a1");
	ck_alert_groups_free(g, n);
	/* an empty run gives no group */
	ck_expiry_finish(ex, &g, &n);
	cr_assert_eq(n, 0);
	cr_assert_null(g);
	ck_expiry_free(ex);
}
