/*
 * certkeep audit: read the audit log and verify its hash chain, so that an
 * edited or deleted event is found.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"

struct audit {
	bool json, first;
	struct ck_buf out;
};

static int
on_event(void *ctx, const struct ck_event *ev)
{
	struct audit *a = ctx;
	char t[CK_TIME_STR_MAX];

	if (a->json) {
		bool f = true;
		ck_buf_adds(&a->out, a->first ? "\n" : ",\n");
		a->first = false;
		ck_buf_addc(&a->out, '{');
		ck_json_kv_int(&a->out, &f, "id", ev->id);
		ck_json_kv_time(&a->out, &f, "at", ev->at);
		ck_json_kv_str(&a->out, &f, "actor", ev->actor);
		ck_json_kv_str(&a->out, &f, "action", ev->action);
		ck_json_kv_str(&a->out, &f, "object", ev->object);
		ck_json_kv_str(&a->out, &f, "detail", ev->detail);
		ck_buf_addc(&a->out, '}');
	} else {
		ck_time_format(ev->at, t);
		ck_buf_printf(&a->out, "%-6lld %s %-8s %-10s %s %s\n",
		    (long long)ev->id, t, ev->actor, ev->action, ev->object,
		    ev->detail);
	}
	if (a->out.len > 1 << 16)
		cli_flush(&a->out);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep audit list [--since TIME] [--until TIME] "
	    "[--limit N] [--json]\n"
	    "       certkeep audit verify\n"
	    "\n"
	    "list shows audit events oldest first; verify recomputes "
	    "the hash chain\nand fails (exit 5) at the first event "
	    "that was changed or removed.\n");
}

int
ck_cmd_audit(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"limit", required_argument, NULL, 'l'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct audit a = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int64_t from = 0, to = 0, limit = 0, n;
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'u':
			if (ck_time_parse(optarg, c == 's' ? &from : &to) !=
			    0) {
				fprintf(stderr,
				    "certkeep: bad time '%s' (use "
				    "2026-11-23 or RFC 3339)\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'l': limit = strtoll(optarg, NULL, 10); break;
		case 'j': a.json = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc ||
	    (strcmp(argv[optind], "list") != 0 &&
	        strcmp(argv[optind], "verify") != 0)) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	if (strcmp(argv[optind], "verify") == 0) {
		if ((r = ck_store_events_verify(st, &n, &err)) != 0)
			rc = cli_fail(r, &err, "audit verify");
		else
			printf("audit log intact: %lld events verified\n",
			    (long long)n);
		goto out;
	}
	a.first = true;
	if (a.json)
		ck_buf_addc(&a.out, '[');
	if ((r = ck_store_events(st, from, to, limit, on_event, &a, &err)) !=
	    0) {
		rc = cli_fail(r, &err, "audit");
		goto out;
	}
	if (a.json)
		ck_buf_adds(&a.out, a.first ? "]\n" : "\n]\n");
	cli_flush(&a.out);
out:
	ck_buf_release(&a.out);
	ck_store_free(st);
	return rc;
}
