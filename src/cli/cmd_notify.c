/*
 * certkeep notify: the notification channels of certkeep.conf. list shows
 * them (never a secret: webhook URLs are cut to their host, headers and
 * passwords left out); test sends one test alert through a channel, so a
 * relay, a webhook or its credentials can be checked before an alert
 * depends on them.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/json.h"
#include "lifecycle/notify.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep notify list [--config F] [--json]\n"
	    "       certkeep notify test CHANNEL [--config F] [--kind K] "
	    "[--severity S]\n"
	    "                            [--owner O] [--dry-run] [--json]\n"
	    "\n"
	    "Notification channels: the [notify.NAME] sections of "
	    "certkeep.conf\n"
	    "(docs/notify.md). test sends one test alert through CHANNEL, "
	    "whatever its\n"
	    "kinds, min_severity, owner and digest say.\n"
	    "\n"
	    "  --config F     certkeep.conf (default $CERTKEEP_CONFIG)\n"
	    "  --kind K       kind of the test alert (default expiring)\n"
	    "  --severity S   info, warning or critical (default info)\n"
	    "  --owner O      owner of the test alert (default none)\n"
	    "  --dry-run      print the message instead of sending it\n"
	    "  --json         machine-readable output\n");
}

/* Loads the config and its channels; prints the reason on failure. */
static int
load(const char *path, struct ck_config *cfg, struct ck_notify_config **nc)
{
	struct ck_err err = {0};
	int r;

	*nc = NULL;
	if (path == NULL)
		path = getenv("CERTKEEP_CONFIG");
	if (path == NULL || *path == '\0') {
		fprintf(stderr,
		    "certkeep: notify: no configuration: give --config F "
		    "(or set $CERTKEEP_CONFIG)\n");
		return CK_EXIT_USAGE;
	}
	if ((r = ck_config_load(path, cfg, &err)) != 0)
		return cli_fail(r, &err, NULL) == CK_EXIT_NOTFOUND
		    ? CK_EXIT_NOTFOUND
		    : CK_EXIT_USAGE;
	if ((r = ck_notify_configure(cfg, nc, &err)) != 0) {
		ck_config_release(cfg);
		fprintf(stderr, "certkeep: %s: %s\n", path, err.msg);
		return CK_EXIT_USAGE;
	}
	return 0;
}

static void
kinds_str(unsigned kinds, struct ck_buf *b, bool json)
{
	bool first = true;

	if (!json && kinds == (1u << CK_ALERT_KIND_COUNT) - 1) {
		ck_buf_adds(b, "all");
		return;
	}
	for (int k = 0; k < CK_ALERT_KIND_COUNT; k++) {
		if ((kinds & (1u << k)) == 0)
			continue;
		if (json) {
			ck_json_sep(b, &first);
			ck_json_str(
			    b, ck_alert_kind_name((enum ck_alert_kind)k));
		} else {
			ck_buf_printf(b, "%s%s", first ? "" : ",",
			    ck_alert_kind_name((enum ck_alert_kind)k));
			first = false;
		}
	}
}

static const char *const type_names[] = {
#define CK_NOTIFY_TYPE_STR(e, s) s,
    CK_NOTIFY_TYPE_MAP(CK_NOTIFY_TYPE_STR)
#undef CK_NOTIFY_TYPE_STR
};

static int
notify_list(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_notify_config *nc = NULL;
	struct ck_config cfg;
	struct ck_buf out = CK_BUF_INIT, k = CK_BUF_INIT;
	const char *path = NULL;
	char where[300];
	bool json = false, first = true;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = load(path, &cfg, &nc)) != 0)
		return rc;
	if (json)
		ck_buf_adds(&out, "{\"channels\":[");
	else if (nc->n == 0)
		fprintf(stderr, "no [notify.NAME] channel configured\n");
	else
		ck_buf_printf(&out, "%-16s %-8s %-9s %-8s %-10s %-10s %s\n",
		    "NAME", "TYPE", "MIN", "DIGEST", "OWNER", "KINDS",
		    "DESTINATION");
	for (size_t i = 0; i < nc->n; i++) {
		const struct ck_notify_channel *ch = &nc->ch[i];
		char digest[32];
		bool f = true;

		ck_notify_describe(ch, where, sizeof(where));
		ck_buf_reset(&k);
		kinds_str(ch->kinds, &k, json);
		if (!json) {
			if (ch->digest == 0)
				snprintf(digest, sizeof(digest), "off");
			else
				snprintf(digest, sizeof(digest), "%llds",
				    (long long)ch->digest);
			ck_buf_printf(&out,
			    "%-16s %-8s %-9s %-8s %-10s %-10s %s\n", ch->name,
			    type_names[ch->type],
			    ck_severity_name(ch->min_severity), digest,
			    ch->owner ? ch->owner : "-", k.p, where);
			continue;
		}
		ck_json_sep(&out, &first);
		ck_buf_addc(&out, '{');
		ck_json_kv_str(&out, &f, "name", ch->name);
		ck_json_kv_str(&out, &f, "type", type_names[ch->type]);
		ck_json_kv_str(&out, &f, "destination", where);
		ck_json_sep(&out, &f);
		ck_json_key(&out, "kinds");
		ck_buf_printf(&out, "[%s]", k.p ? k.p : "");
		ck_json_kv_str(&out, &f, "min_severity",
		    ck_severity_name(ch->min_severity));
		ck_json_kv_str(&out, &f, "owner", ch->owner);
		ck_json_kv_int(&out, &f, "digest", ch->digest);
		ck_json_kv_int(&out, &f, "timeout", ch->timeout);
		ck_buf_addc(&out, '}');
	}
	if (json) {
		bool f = true;
		ck_buf_adds(&out, "],\"rules\":{");
		ck_json_key(&out, "expiring_days");
		ck_buf_addc(&out, '[');
		for (size_t i = 0; i < nc->rules.n_days; i++)
			ck_buf_printf(
			    &out, "%s%d", i ? "," : "", nc->rules.days[i]);
		ck_buf_addc(&out, ']');
		f = false;
		ck_json_kv_int(
		    &out, &f, "critical_days", nc->rules.critical_days);
		ck_json_kv_bool(&out, &f, "include_discovered",
		    nc->rules.include_discovered);
		ck_buf_adds(&out, "}}\n");
	}
	cli_flush(&out);
	ck_buf_release(&out);
	ck_buf_release(&k);
	ck_notify_config_free(nc);
	ck_config_release(&cfg);
	return CK_EXIT_OK;
}

static int
notify_test(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"kind", required_argument, NULL, 'k'},
	    {"severity", required_argument, NULL, 's'},
	    {"owner", required_argument, NULL, 'o'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_notify_config *nc = NULL;
	const struct ck_notify_channel *ch;
	struct ck_config cfg;
	struct ck_alert a;
	struct ck_err err = {0};
	struct ck_buf title = CK_BUF_INIT, text = CK_BUF_INIT,
	              out = CK_BUF_INIT;
	enum ck_alert_kind kind = CK_ALERT_EXPIRING;
	enum ck_severity sev = CK_SEV_INFO;
	const char *path = NULL, *owner = NULL;
	char host[256] = "?", when[CK_TIME_STR_MAX], where[300], key[128];
	bool json = false, dry = false;
	int64_t now = ck_now();
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'k':
			if (ck_alert_kind_parse(optarg, &kind) != 0) {
				fprintf(stderr,
				    "certkeep: unknown --kind '%s' (expiring, "
				    "renewal_failed, deploy_failed, "
				    "location_changed, revoked, stuck, "
				    "issuer_down)\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 's':
			if (ck_severity_parse(optarg, &sev) != 0) {
				fprintf(stderr,
				    "certkeep: unknown --severity '%s' (info, "
				    "warning, critical)\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'o': owner = optarg; break;
		case 'n': dry = true; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr,
		    "certkeep: notify test needs one CHANNEL (see certkeep "
		    "notify list)\n");
		return CK_EXIT_USAGE;
	}
	if ((rc = load(path, &cfg, &nc)) != 0)
		return rc;
	if ((ch = ck_notify_find(nc, argv[optind])) == NULL) {
		fprintf(stderr,
		    "certkeep: notify test: no channel '%s' (no "
		    "[notify.%s] section)\n",
		    argv[optind], argv[optind]);
		rc = CK_EXIT_NOTFOUND;
		goto out;
	}
	gethostname(host, sizeof(host) - 1);
	ck_time_format(now, when);
	ck_buf_printf(
	    &title, "test alert from certkeep (channel %s)", ch->name);
	ck_buf_printf(&text,
	    "This is a test of notification channel %s, sent by certkeep "
	    "notify test\non %s at %s. No action is needed.",
	    ch->name, host, when);
	snprintf(key, sizeof(key), "test:%s", ch->name);
	ck_alert_init(
	    &a, kind, sev, "certkeep-test", owner, title.p, text.p, key, when);
	ck_notify_describe(ch, where, sizeof(where));
	if (dry) {
		ck_notify_render(ch, &a, 1, now, &out);
		ck_buf_addc(&out, '\n');
		cli_flush(&out);
		rc = CK_EXIT_OK;
	} else if ((r = ck_notify_send(ch, &a, 1, &err)) != 0) {
		rc = cli_fail(r, &err, NULL);
		if (rc == CK_EXIT_OK || rc == CK_EXIT_NOTFOUND)
			rc = CK_EXIT_FAIL;
	} else {
		if (json) {
			bool f = true;
			ck_buf_addc(&out, '{');
			ck_json_kv_str(&out, &f, "channel", ch->name);
			ck_json_kv_str(&out, &f, "type", type_names[ch->type]);
			ck_json_kv_str(&out, &f, "destination", where);
			ck_json_kv_bool(&out, &f, "sent", true);
			ck_json_kv_time(&out, &f, "at", now);
			ck_buf_adds(&out, "}\n");
		} else {
			ck_buf_printf(&out,
			    "sent a test alert through %s (%s)\n", ch->name,
			    where);
		}
		cli_flush(&out);
		rc = CK_EXIT_OK;
	}
	ck_alert_release(&a);
out:
	ck_buf_release(&title);
	ck_buf_release(&text);
	ck_buf_release(&out);
	ck_notify_config_free(nc);
	ck_config_release(&cfg);
	return rc;
}

int
ck_cmd_notify(struct ck_cli *cli, int argc, char **argv)
{
	(void)cli; /* channels come from the config, not the inventory */
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CK_EXIT_USAGE : CK_EXIT_OK;
	}
	if (strcmp(argv[1], "list") == 0)
		return notify_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "test") == 0)
		return notify_test(argc - 1, argv + 1);
	fprintf(stderr,
	    "certkeep: 'notify %s' is not a command; see certkeep notify "
	    "--help\n",
	    argv[1]);
	return CK_EXIT_USAGE;
}
