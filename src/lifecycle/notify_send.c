/*
 * Rendering and delivery of alerts: an RFC 5322 message sent over SMTP
 * with libcurl, a JSON POST through base/fetch (plain, Slack, Teams
 * Adaptive Card or MessageCard), or syslog lines. One call, one message;
 * failures are CK_E_IO for the caller to retry, and never print a
 * webhook's URL path or a password.
 */
#include "lifecycle/notify.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>

#include "base/clock.h"
#include "base/fetch.h"
#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"

/* Messages list this many alerts at most, then say how many more. */
#define MAX_LISTED 200
/* Mail lines are broken before this many bytes (RFC 5322: 998). */
#define MAX_LINE 900
/* Subjects are cut to this many bytes before encoding. */
#define MAX_SUBJECT 200

/* syslog(3), replaceable by the unit tests (which include this file). */
static void (*syslog_fn)(int, const char *, ...) = syslog;

static enum ck_severity
worst(const struct ck_alert *a, size_t n)
{
	enum ck_severity w = CK_SEV_INFO;

	for (size_t i = 0; i < n; i++)
		if (a[i].severity > w)
			w = a[i].severity;
	return w;
}

/* The owner all alerts share, or NULL. */
static const char *
common_owner(const struct ck_alert *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].owner == NULL || strcmp(a[i].owner, a[0].owner) != 0)
			return NULL;
	return n > 0 ? a[0].owner : NULL;
}

/* One line for a message: the title of a single alert, or a count. */
static void
summary(const struct ck_alert *a, size_t n, struct ck_buf *out)
{
	const char *owner = common_owner(a, n);
	unsigned count[CK_ALERT_KIND_COUNT] = {0};
	bool first = true;

	if (n == 1) {
		ck_buf_adds(out, a[0].title);
		return;
	}
	for (size_t i = 0; i < n; i++)
		count[a[i].kind]++;
	ck_buf_printf(out, "%zu alerts", n);
	if (owner != NULL)
		ck_buf_printf(out, " for %s", owner);
	ck_buf_adds(out, " (");
	for (int k = 0; k < CK_ALERT_KIND_COUNT; k++) {
		if (count[k] == 0)
			continue;
		ck_buf_printf(out, "%s%u %s", first ? "" : ", ", count[k],
		    ck_alert_kind_name((enum ck_alert_kind)k));
		first = false;
	}
	ck_buf_addc(out, ')');
}

static const char *
format_name(enum ck_webhook_format f)
{
	static const char *const names[] = {
#define CK_WEBHOOK_FORMAT_STR(e, s) s,
	    CK_WEBHOOK_FORMAT_MAP(CK_WEBHOOK_FORMAT_STR)
#undef CK_WEBHOOK_FORMAT_STR
	};
	return (unsigned)f < sizeof(names) / sizeof(*names) ? names[f] : "?";
}

void
ck_notify_describe(const struct ck_notify_channel *ch, char *out, size_t cap)
{
	switch (ch->type) {
	case CK_NOTIFY_EMAIL:
		snprintf(out, cap, "email to %s%s via %s", ch->to[0],
		    ch->n_to > 1 ? " and others" : "", ch->smtp_url);
		return;
	case CK_NOTIFY_WEBHOOK: {
		/* scheme://host[:port], without userinfo, then "/..." */
		const char *u = ch->url, *p = strstr(u, "://");
		size_t s = p != NULL ? (size_t)(p - u) + 3 : 0;
		size_t end = s + strcspn(u + s, "/?#");
		const char *at = memchr(u + s, '@', end - s);
		size_t host = at != NULL ? (size_t)(at + 1 - u) : s;

		snprintf(out, cap, "webhook %s to %.*s%.*s%s",
		    format_name(ch->format), (int)s, u, (int)(end - host),
		    u + host, u[end] ? "/..." : "");
		return;
	}
	case CK_NOTIFY_SYSLOG: snprintf(out, cap, "syslog"); return;
	}
	snprintf(out, cap, "?");
}

/* ---- email -------------------------------------------------------------- */

static void
rfc5322_date(int64_t t, struct ck_buf *out)
{
	static const char *const days[] = {
	    "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char iso[CK_TIME_STR_MAX];
	int64_t d = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int y, mo, da, h, mi, s;

	/* ck_time_format gives the civil date; the weekday is counted from
	 * 1970-01-01, a Thursday */
	ck_time_format(t, iso);
	if (sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &y, &mo, &da, &h, &mi, &s) != 6 ||
	    mo < 1 || mo > 12) {
		ck_buf_adds(out, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	ck_buf_printf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[((d % 7) + 7) % 7], da, months[mo - 1], y, h, mi, s);
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
add_base64(struct ck_buf *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		ck_buf_addc(out, b64[(v >> 18) & 63]);
		ck_buf_addc(out, b64[(v >> 12) & 63]);
		ck_buf_addc(out, i + 1 < n ? b64[(v >> 6) & 63] : '=');
		ck_buf_addc(out, i + 2 < n ? b64[v & 63] : '=');
	}
}

/* Bytes of s to keep so that at most max are kept and no UTF-8 sequence
 * is cut. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Subject: plain when ASCII, else RFC 2047 encoded words of at most 45
 * bytes each (60 base64 characters), folded. */
static void
add_subject(struct ck_buf *out, const char *s)
{
	size_t len = utf8_cut(s, strlen(s), MAX_SUBJECT);
	bool ascii = true;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = false;
	ck_buf_adds(out, "Subject: ");
	if (ascii) {
		ck_buf_add(out, s, len);
		ck_buf_adds(out, "\r\n");
		return;
	}
	for (size_t i = 0; i < len;) {
		size_t n = utf8_cut(s + i, len - i, 45);
		if (n == 0)
			n = len - i < 45 ? len - i : 45;
		if (i > 0)
			ck_buf_adds(out, "\r\n ");
		ck_buf_adds(out, "=?UTF-8?B?");
		add_base64(out, (const unsigned char *)s + i, n);
		ck_buf_adds(out, "?=");
		i += n;
	}
	ck_buf_adds(out, "\r\n");
}

/* Body text: \n becomes CRLF, long lines are broken. */
static void
add_body_text(struct ck_buf *out, const char *s, const char *indent)
{
	while (*s) {
		size_t n = strcspn(s, "\n");
		size_t cut = utf8_cut(s, n, MAX_LINE);
		if (cut == 0)
			cut = n < MAX_LINE ? n : MAX_LINE;
		ck_buf_adds(out, indent);
		ck_buf_add(out, s, cut);
		ck_buf_adds(out, "\r\n");
		s += cut;
		if (*s == '\n')
			s++;
	}
}

static void
message_id(const struct ck_notify_channel *ch, int64_t at, struct ck_buf *out)
{
	unsigned char r[12] = {0};
	const char *dom = strchr(ch->from, '@');

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* uniqueness only: the time and address still differ */
		uint64_t m = ck_mono_ns();
		memcpy(r, &m, sizeof(m));
	}
	ck_buf_adds(out, "Message-ID: <");
	ck_buf_addhex(out, r, sizeof(r), 0);
	ck_buf_printf(out, ".%lld.certkeep@%s>\r\n", (long long)at,
	    dom != NULL ? dom + 1 : "localhost");
}

static void
render_email(const struct ck_notify_channel *ch, const struct ck_alert *a,
    size_t n, int64_t at, struct ck_buf *out)
{
	struct ck_buf subj = CK_BUF_INIT;
	char when[CK_TIME_STR_MAX];

	ck_buf_adds(out, "Date: ");
	rfc5322_date(at, out);
	ck_buf_printf(out, "\r\nFrom: certkeep <%s>\r\nTo: ", ch->from);
	for (size_t i = 0; i < ch->n_to; i++)
		ck_buf_printf(out, "%s%s", i ? ",\r\n " : "", ch->to[i]);
	ck_buf_adds(out, "\r\n");
	ck_buf_adds(&subj, "[certkeep] ");
	if (worst(a, n) == CK_SEV_CRITICAL)
		ck_buf_adds(&subj, "CRITICAL: ");
	summary(a, n, &subj);
	add_subject(out, subj.p);
	message_id(ch, at, out);
	ck_buf_adds(out,
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "Auto-Submitted: auto-generated\r\n");
	ck_buf_printf(out, "X-Certkeep-Channel: %s\r\n\r\n", ch->name);
	ck_buf_reset(&subj);
	summary(a, n, &subj);
	add_body_text(out, subj.p, "");
	ck_buf_adds(out, "\r\n");
	for (size_t i = 0; i < n && i < MAX_LISTED; i++) {
		ck_time_format(a[i].at, when);
		ck_buf_printf(out, "[%s] %s: ", ck_severity_name(a[i].severity),
		    ck_alert_kind_name(a[i].kind));
		add_body_text(out, a[i].title, "");
		if (a[i].owner != NULL)
			add_body_text(out, a[i].owner, "  owner: ");
		add_body_text(out, a[i].subject, "  subject: ");
		ck_buf_printf(out, "  since: %s\r\n", when);
		add_body_text(out, a[i].text, "  ");
		ck_buf_adds(out, "\r\n");
	}
	if (n > MAX_LISTED)
		ck_buf_printf(
		    out, "... and %zu more alerts\r\n\r\n", n - MAX_LISTED);
	ck_buf_printf(
	    out, "-- \r\ncertkeep, notification channel %s\r\n", ch->name);
	ck_buf_release(&subj);
}

/* ---- webhooks ----------------------------------------------------------- */

static json_t *
alert_json(const struct ck_alert *a)
{
	struct ck_buf b = CK_BUF_INIT;
	json_t *o;

	ck_alert_to_json(a, &b);
	o = json_loadb(b.p, b.len, 0, NULL);
	if (o == NULL)
		CK_BUG("an alert's own JSON does not parse");
	ck_buf_release(&b);
	return o;
}

/* Slack mrkdwn: &, < and > are control characters there. */
static void
slack_escape(struct ck_buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			ck_buf_adds(out, "&amp;");
		else if (*s == '<')
			ck_buf_adds(out, "&lt;");
		else if (*s == '>')
			ck_buf_adds(out, "&gt;");
		else
			ck_buf_addc(out, *s);
	}
}

static json_t *
render_json(const struct ck_notify_channel *ch, const struct ck_alert *a,
    size_t n, int64_t at, const char *sum)
{
	char when[CK_TIME_STR_MAX];
	json_t *list = json_array();

	ck_time_format(at, when);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, alert_json(&a[i]));
	return json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:o}", "source", "certkeep",
	    "channel", ch->name, "sent_at", when, "count", (json_int_t)n,
	    "severity", ck_severity_name(worst(a, n)), "summary", sum, "alerts",
	    list);
}

static json_t *
render_slack(const struct ck_alert *a, size_t n, const char *sum)
{
	struct ck_buf t = CK_BUF_INIT;
	json_t *o;

	ck_buf_adds(&t, "*certkeep*: ");
	slack_escape(&t, sum);
	for (size_t i = 0; i < n && i < MAX_LISTED; i++) {
		ck_buf_printf(&t,
		    "\n• [%s] %s: ", ck_severity_name(a[i].severity),
		    ck_alert_kind_name(a[i].kind));
		slack_escape(&t, a[i].title);
		if (a[i].owner != NULL) {
			ck_buf_adds(&t, " (owner ");
			slack_escape(&t, a[i].owner);
			ck_buf_addc(&t, ')');
		}
	}
	if (n > MAX_LISTED)
		ck_buf_printf(&t, "\n… and %zu more", n - MAX_LISTED);
	o = json_pack("{s:s}", "text", t.p);
	ck_buf_release(&t);
	return o;
}

static json_t *
facts(const struct ck_alert *a, const char *k, const char *v)
{
	char when[CK_TIME_STR_MAX];
	json_t *f = json_array();

	ck_time_format(a->at, when);
	json_array_append_new(f,
	    json_pack("{s:s,s:s}", k, "kind", v, ck_alert_kind_name(a->kind)));
	json_array_append_new(f,
	    json_pack(
	        "{s:s,s:s}", k, "severity", v, ck_severity_name(a->severity)));
	if (a->owner != NULL)
		json_array_append_new(
		    f, json_pack("{s:s,s:s}", k, "owner", v, a->owner));
	json_array_append_new(
	    f, json_pack("{s:s,s:s}", k, "subject", v, a->subject));
	json_array_append_new(f, json_pack("{s:s,s:s}", k, "since", v, when));
	return f;
}

/* Teams through a Workflows webhook: a message with an Adaptive Card. */
static json_t *
render_teams(const struct ck_alert *a, size_t n, const char *sum)
{
	static const char *const color[] = {"Default", "Warning", "Attention"};
	json_t *body = json_array();

	json_array_append_new(body,
	    json_pack("{s:s,s:s,s:s,s:s,s:b}", "type", "TextBlock", "text", sum,
	        "weight", "Bolder", "size", "Medium", "wrap", 1));
	for (size_t i = 0; i < n && i < MAX_LISTED; i++) {
		json_array_append_new(body,
		    json_pack("{s:s,s:s,s:s,s:b,s:s}", "type", "TextBlock",
		        "text", a[i].title, "color", color[a[i].severity],
		        "wrap", 1, "weight", "Bolder"));
		json_array_append_new(body,
		    json_pack("{s:s,s:s,s:b,s:b}", "type", "TextBlock", "text",
		        a[i].text, "wrap", 1, "isSubtle", 1));
		json_array_append_new(body,
		    json_pack("{s:s,s:o}", "type", "FactSet", "facts",
		        facts(&a[i], "title", "value")));
	}
	return json_pack("{s:s,s:[{s:s,s:n,s:{s:s,s:s,s:s,s:o}}]}", "type",
	    "message", "attachments", "contentType",
	    "application/vnd.microsoft.card.adaptive", "contentUrl", "content",
	    "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
	    "type", "AdaptiveCard", "version", "1.4", "body", body);
}

/* Teams through an Office 365 connector: the legacy MessageCard. */
static json_t *
render_messagecard(const struct ck_alert *a, size_t n, const char *sum)
{
	static const char *const color[] = {"0078D7", "FFB900", "D13438"};
	json_t *sections = json_array();

	for (size_t i = 0; i < n && i < MAX_LISTED; i++)
		json_array_append_new(sections,
		    json_pack("{s:s,s:s,s:o}", "activityTitle", a[i].title,
		        "text", a[i].text, "facts",
		        facts(&a[i], "name", "value")));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "@type", "MessageCard",
	    "@context", "https://schema.org/extensions", "summary", sum,
	    "themeColor", color[worst(a, n)], "title", sum, "sections",
	    sections);
}

static void
render_webhook(const struct ck_notify_channel *ch, const struct ck_alert *a,
    size_t n, int64_t at, struct ck_buf *out)
{
	struct ck_buf sum = CK_BUF_INIT;
	json_t *o = NULL;
	char *s;

	summary(a, n, &sum);
	switch (ch->format) {
	case CK_WEBHOOK_JSON: o = render_json(ch, a, n, at, sum.p); break;
	case CK_WEBHOOK_SLACK: o = render_slack(a, n, sum.p); break;
	case CK_WEBHOOK_TEAMS: o = render_teams(a, n, sum.p); break;
	case CK_WEBHOOK_MESSAGECARD: o = render_messagecard(a, n, sum.p); break;
	}
	/* the strings are valid UTF-8 or were made so by ck_alert_init's
	 * caller; jansson refuses invalid UTF-8 with NULL */
	if (o == NULL)
		CK_BUG("webhook body");
	s = json_dumps(o, JSON_COMPACT);
	if (s == NULL)
		CK_BUG("webhook body dump");
	ck_buf_adds(out, s);
	free(s);
	json_decref(o);
	ck_buf_release(&sum);
}

/* ---- syslog ------------------------------------------------------------- */

static void
syslog_line(const struct ck_alert *a, struct ck_buf *out)
{
	ck_buf_printf(out, "alert kind=%s severity=%s",
	    ck_alert_kind_name(a->kind), ck_severity_name(a->severity));
	if (a->owner != NULL) {
		ck_buf_adds(out, " owner=");
		ck_json_str(out, a->owner);
	}
	ck_buf_adds(out, " subject=");
	ck_json_str(out, a->subject);
	ck_buf_adds(out, " state=");
	ck_json_str(out, a->state);
	ck_buf_adds(out, " title=");
	ck_json_str(out, a->title);
}

void
ck_notify_render(const struct ck_notify_channel *ch,
    const struct ck_alert *alerts, size_t n, int64_t at, struct ck_buf *out)
{
	switch (ch->type) {
	case CK_NOTIFY_EMAIL: render_email(ch, alerts, n, at, out); break;
	case CK_NOTIFY_WEBHOOK: render_webhook(ch, alerts, n, at, out); break;
	case CK_NOTIFY_SYSLOG:
		for (size_t i = 0; i < n; i++) {
			syslog_line(&alerts[i], out);
			ck_buf_addc(out, '\n');
		}
		break;
	}
}

/* ---- delivery ----------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc;

static void
curl_init(void)
{
	curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct reader {
	const char *p;
	size_t left;
};

static size_t
on_read(char *dst, size_t size, size_t nmemb, void *ctx)
{
	struct reader *rd = ctx;
	size_t n = size * nmemb;

	if (n > rd->left)
		n = rd->left;
	memcpy(dst, rd->p, n);
	rd->p += n;
	rd->left -= n;
	return n;
}

/* The first line of a password file, wiped by the caller. */
static int
read_password(
    const struct ck_notify_channel *ch, struct ck_buf *pw, struct ck_err *err)
{
	int r = ck_file_read(ch->password_file, 4096, pw, err);

	if (r != 0)
		return ck_err_wrap(
		    err, CK_E_INVAL, "notify %s: password_file", ch->name);
	pw->len = strcspn(pw->p, "\r\n");
	pw->p[pw->len] = '\0';
	return 0;
}

static int
send_email(const struct ck_notify_channel *ch, const struct ck_alert *a,
    size_t n, struct ck_err *err)
{
	struct ck_buf msg = CK_BUF_INIT, pw = CK_BUF_INIT, path = CK_BUF_INIT;
	struct curl_slist *rcpt = NULL;
	char ebuf[CURL_ERROR_SIZE] = "";
	struct reader rd;
	CURL *h = NULL;
	CURLcode c;
	int r;

	if (ch->password_file != NULL && (r = read_password(ch, &pw, err)) != 0)
		goto out;
	pthread_once(&curl_once, curl_init);
	if (curl_rc != CURLE_OK || (h = curl_easy_init()) == NULL) {
		r = ck_err_set(
		    err, CK_E_INTERNAL, "notify %s: curl init", ch->name);
		goto out;
	}
	render_email(ch, a, n, ck_now(), &msg);
	rd.p = msg.p;
	rd.left = msg.len;
	for (size_t i = 0; i < ch->n_to; i++) {
		struct curl_slist *t;
		ck_buf_reset(&path);
		ck_buf_printf(&path, "<%s>", ch->to[i]);
		if ((t = curl_slist_append(rcpt, path.p)) == NULL)
			CK_BUG("out of memory");
		rcpt = t;
	}
	ck_buf_reset(&path);
	ck_buf_printf(&path, "<%s>", ch->from);
	curl_easy_setopt(h, CURLOPT_URL, ch->smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	/* the environment's proxy is for the web, never for the mail relay */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)ch->timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
	    (long)(ch->timeout < 10 ? ch->timeout : 10));
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, path.p);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &rd);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
	if (strncmp(ch->smtp_url, "smtps://", 8) == 0 ||
	    ch->starttls == CK_SMTP_TLS_REQUIRED)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	else if (ch->starttls == CK_SMTP_TLS_TRY)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	if (ch->trust != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, ch->trust);
	if (ch->username != NULL) {
		curl_easy_setopt(h, CURLOPT_USERNAME, ch->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, pw.p);
	}
	c = curl_easy_perform(h);
	if (c != CURLE_OK) {
		r = ck_err_set(err,
		    c == CURLE_OPERATION_TIMEDOUT ? CK_E_TIMEOUT : CK_E_IO,
		    "notify %s: %s: %s", ch->name, ch->smtp_url,
		    *ebuf ? ebuf : curl_easy_strerror(c));
		goto out;
	}
	r = 0;
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	ck_buf_release(&msg);
	ck_buf_release(&path);
	ck_buf_release_secret(&pw);
	return r;
}

/* Replaces each copy of the URL in the reason by what may be shown. */
static void
redact(struct ck_err *err, const char *url, const char *shown)
{
	struct ck_buf b = CK_BUF_INIT;
	const char *p, *m;

	if (err == NULL || *url == '\0')
		return;
	for (p = err->msg; (m = strstr(p, url)) != NULL; p = m + strlen(url)) {
		ck_buf_add(&b, p, (size_t)(m - p));
		ck_buf_adds(&b, shown);
	}
	ck_buf_adds(&b, p);
	snprintf(err->msg, sizeof(err->msg), "%s", b.p);
	ck_buf_release(&b);
}

static int
send_webhook(const struct ck_notify_channel *ch, const struct ck_alert *a,
    size_t n, struct ck_err *err)
{
	struct ck_buf body = CK_BUF_INIT;
	struct ck_fetch_req req = {0};
	struct ck_fetch_resp resp;
	const char **hdr = NULL;
	char shown[300], where[300];
	int r;

	ck_notify_describe(ch, where, sizeof(where));
	/* "webhook FORMAT to URL": the URL part is what may be printed */
	snprintf(shown, sizeof(shown), "%s",
	    strstr(where, " to ") != NULL ? strstr(where, " to ") + 4 : where);
	render_webhook(ch, a, n, ck_now(), &body);
	hdr = ck_calloc(ch->n_headers + 2, sizeof(*hdr));
	hdr[0] = "Content-Type: application/json";
	hdr[1] = "User-Agent: certkeep";
	for (size_t i = 0; i < ch->n_headers; i++)
		hdr[i + 2] = ch->headers[i];
	req.method = "POST";
	req.url = ch->url;
	req.headers = hdr;
	req.n_headers = ch->n_headers + 2;
	req.body = body.p;
	req.body_len = body.len;
	req.max_body = 64 * 1024;
	req.timeout_ms = (int)(ch->timeout * 1000);
	req.trust_file = ch->trust;
	r = ck_fetch(&req, &resp, err);
	if (r != 0) {
		redact(err, ch->url, shown);
		/* an answer over the bound is counted as not delivered too:
		 * its status was not read */
		r = ck_err_wrap(err,
		    r == CK_E_TIMEOUT     ? CK_E_TIMEOUT
		        : r == CK_E_INVAL ? CK_E_INVAL
		                          : CK_E_IO,
		    "notify %s", ch->name);
	} else if (resp.status < 200 || resp.status > 299) {
		size_t cut = strcspn(resp.body.p ? resp.body.p : "", "\r\n");
		r = ck_err_set(err, CK_E_IO,
		    "notify %s: %s answered HTTP %ld%s%.*s", ch->name, shown,
		    resp.status, cut ? ": " : "", (int)(cut > 200 ? 200 : cut),
		    resp.body.p ? resp.body.p : "");
	}
	ck_fetch_resp_release(&resp);
	free(hdr);
	ck_buf_release(&body);
	return r;
}

static int
send_syslog(
    const struct ck_notify_channel *ch, const struct ck_alert *a, size_t n)
{
	static const int prio[] = {LOG_INFO, LOG_WARNING, LOG_CRIT};
	struct ck_buf line = CK_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		ck_buf_reset(&line);
		syslog_line(&a[i], &line);
		syslog_fn(ch->facility | prio[a[i].severity], "%s", line.p);
	}
	ck_buf_release(&line);
	return 0;
}

int
ck_notify_send(const struct ck_notify_channel *ch,
    const struct ck_alert *alerts, size_t n, struct ck_err *err)
{
	if (n == 0)
		return ck_err_set(
		    err, CK_E_INVAL, "notify %s: no alert to send", ch->name);
	switch (ch->type) {
	case CK_NOTIFY_EMAIL: return send_email(ch, alerts, n, err);
	case CK_NOTIFY_WEBHOOK: return send_webhook(ch, alerts, n, err);
	case CK_NOTIFY_SYSLOG: return send_syslog(ch, alerts, n);
	}
	return ck_err_set(err, CK_E_INTERNAL, "notify %s: bad type", ch->name);
}
