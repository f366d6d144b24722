/*
 * certkeep agent: the server's side (enrolment tokens, the agents list,
 * removing an agent, `manage assign`) and the agent itself (`agent run`,
 * src/lifecycle/agent_run.c), which runs on a host the server cannot
 * write to.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "lifecycle/agent.h"

#define MAX_SCAN 32

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep agent token create --host HOST [--expires "
	    "DUR]\n"
	    "       certkeep agent list [--json]\n"
	    "       certkeep agent remove HOST\n"
	    "       certkeep agent run --server URL --dir DIR [--token T] "
	    "[--cacert F]\n"
	    "                [--interval S] [--backoff-max S] [--scan PATH]... "
	    "[--scan-every S]\n"
	    "                [--once]\n"
	    "\n"
	    "The agent runs on a host the server cannot write to. It enrols "
	    "once with a\n"
	    "one-time token and authenticates by a client certificate of the "
	    "built-in CA\n"
	    "from then on; it makes the keys of the certificates its host "
	    "holds (certkeep\n"
	    "manage add --agent HOST, or manage assign), sends CSRs, deploys "
	    "them to their\n"
	    "targets and reports. Keys never leave the host.\n"
	    "\n"
	    "  --host HOST      the host the token enrols (the agent's "
	    "certificate CN)\n"
	    "  --expires DUR    how long the token is good (default 24h); "
	    "once only\n"
	    "  --server URL     https://host:port of certkeep serve\n"
	    "  --dir DIR        the agent's state folder (its key, "
	    "certificates, reports)\n"
	    "  --token T        first run only: the enrolment token\n"
	    "  --cacert F       PEM roots to trust for the server (kept in "
	    "DIR)\n"
	    "  --interval S     seconds between polls (default 60, ±10%%)\n"
	    "  --backoff-max S  longest wait after errors (default 300)\n"
	    "  --scan PATH      scan PATH for certificates and report them; "
	    "repeat\n"
	    "  --scan-every S   seconds between scans (default 3600)\n"
	    "  --once           one cycle, then exit (0: all done)\n");
}

static int
token_create(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"host", 1, NULL, 'H'},
	    {"expires", 1, NULL, 'e'}, {"help", 0, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *host = NULL;
	char token[CK_AGENT_TOKEN_MAX + 1];
	int64_t now = ck_now(), dur = 86400;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int c, r, rc;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'e':
			if (ck_duration_parse(optarg, &dur) != 0 || dur <= 0) {
				fprintf(stderr,
				    "certkeep: --expires: want a duration "
				    "(30m, 24h, 7d)\n");
				return CK_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (host == NULL || optind != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_agent_token_create(
	         st, host, now, now + dur, cli_actor(), token, &err)) != 0)
		rc = cli_fail(r, &err, "agent token");
	else {
		printf("%s\n", token);
		ck_cleanse(token, sizeof(token));
	}
	ck_store_free(st);
	return rc;
}

struct list_ctx {
	bool json;
	struct ck_buf out;
};

static int
print_agent(void *ctx, const struct ck_agent_row *a)
{
	struct list_ctx *lc = ctx;
	char seen[CK_TIME_STR_MAX] = "-", exp[CK_TIME_STR_MAX] = "-";

	if (lc->json) {
		bool f = true;
		if (lc->out.len > 1)
			ck_buf_addc(&lc->out, ',');
		ck_buf_addc(&lc->out, '{');
		ck_json_kv_str(&lc->out, &f, "host", a->host);
		ck_json_kv_str(&lc->out, &f, "state", a->state);
		ck_json_kv_str(&lc->out, &f, "sha256", a->sha256);
		ck_json_kv_time(&lc->out, &f, "not_after", a->not_after);
		ck_json_kv_time(&lc->out, &f, "last_seen", a->last_seen);
		ck_json_kv_int(&lc->out, &f, "managed", a->n_managed);
		ck_buf_addc(&lc->out, '}');
		return 0;
	}
	if (a->last_seen)
		ck_time_format(a->last_seen, seen);
	if (a->not_after)
		ck_time_format(a->not_after, exp);
	ck_buf_printf(&lc->out, "%-32s %-8s %-20s %-20s %lld\n", a->host,
	    a->state, seen, exp, (long long)a->n_managed);
	return 0;
}

static int
agent_list(struct ck_cli *cli, int argc, char **argv)
{
	struct list_ctx lc = {false, CK_BUF_INIT};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int r, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			lc.json = true;
		else {
			usage(stderr);
			return CK_EXIT_USAGE;
		}
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if (lc.json)
		ck_buf_addc(&lc.out, '[');
	else
		ck_buf_printf(&lc.out, "%-32s %-8s %-20s %-20s %s\n", "HOST",
		    "STATE", "LAST SEEN", "CERT EXPIRES", "MANAGED");
	if ((r = ck_store_agent_list(st, NULL, print_agent, &lc, &err)) != 0)
		rc = cli_fail(r, &err, "agent list");
	else {
		if (lc.json)
			ck_buf_adds(&lc.out, "]\n");
		fwrite(lc.out.p, 1, lc.out.len, stdout);
	}
	ck_buf_release(&lc.out);
	ck_store_free(st);
	return rc;
}

static int
agent_remove(struct ck_cli *cli, int argc, char **argv)
{
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int r, rc;

	if (argc != 2) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	/* its client certificate is refused from now on (ck_agent_check) */
	if ((r = ck_store_begin(st, &err)) == 0) {
		if ((r = ck_store_agent_state(st, argv[1], "removed", &err)) ==
		        0 &&
		    (r = ck_store_event_add(st, cli_actor(), "agent.remove",
		         argv[1], "", &err)) == 0)
			r = ck_store_commit(st, &err);
		if (r != 0)
			ck_store_rollback(st);
	}
	if (r != 0)
		rc = cli_fail(r, &err, argv[1]);
	else
		printf("agent %s removed\n", argv[1]);
	ck_store_free(st);
	return rc;
}

int
cli_manage_assign(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"agent", 1, NULL, 'A'},
	    {"server", 0, NULL, 'S'}, {"help", 0, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *host = NULL;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int c, r, rc;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'A': host = optarg; break;
		case 'S': host = ""; break;
		case 'h':
			printf("usage: certkeep manage assign NAME --agent "
			       "HOST|--server\n");
			return CK_EXIT_OK;
		default: return CK_EXIT_USAGE;
		}
	}
	if (host == NULL || optind + 1 != argc) {
		fprintf(stderr,
		    "usage: certkeep manage assign NAME --agent "
		    "HOST|--server\n");
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_agent_assign(st, argv[optind], host, cli_actor(), &err)) !=
	    0)
		rc = cli_fail(r, &err, argv[optind]);
	else if (*host)
		printf("%s is held by agent %s\n", argv[optind], host);
	else
		printf("%s is the server's again\n", argv[optind]);
	ck_store_free(st);
	return rc;
}

static volatile int stop_flag;

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Seconds: a bare number, or a duration with its unit (30s, 5m, 1h). */
static int
secs_arg(const char *s, int64_t *out)
{
	char *end;

	if (*s >= '0' && *s <= '9') {
		long long v = strtoll(s, &end, 10);
		if (*end == '\0') {
			*out = v;
			return v > 0 && v <= 86400 * 365 ? 0 : CK_E_INVAL;
		}
	}
	return ck_duration_parse(s, out) == 0 && *out > 0 ? 0 : CK_E_INVAL;
}

static int
agent_run(int argc, char **argv)
{
	static const struct option opts[] = {{"server", 1, NULL, 's'},
	    {"dir", 1, NULL, 'd'}, {"token", 1, NULL, 't'},
	    {"cacert", 1, NULL, 'c'}, {"interval", 1, NULL, 'i'},
	    {"backoff-max", 1, NULL, 'b'}, {"scan", 1, NULL, 'S'},
	    {"scan-every", 1, NULL, 'e'}, {"once", 0, NULL, 'o'},
	    {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct ck_agent_opts o = {0};
	const char *scan[MAX_SCAN];
	struct ck_err err = {0};
	struct sigaction sa = {0};
	int c, r;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 's': o.server = optarg; break;
		case 'd': o.dir = optarg; break;
		case 't': o.token = optarg; break;
		case 'c': o.cacert = optarg; break;
		case 'i': bad = secs_arg(optarg, &o.interval); break;
		case 'b': bad = secs_arg(optarg, &o.backoff_max); break;
		case 'e': bad = secs_arg(optarg, &o.scan_every); break;
		case 'S':
			if (o.n_scan == MAX_SCAN)
				bad = 1;
			else
				scan[o.n_scan++] = optarg;
			break;
		case 'o': o.once = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
		if (bad) {
			fprintf(stderr, "certkeep: bad value '%s'\n", optarg);
			return CK_EXIT_USAGE;
		}
	}
	if (o.server == NULL || o.dir == NULL || optind != argc ||
	    strncmp(o.server, "https://", 8) != 0) {
		fprintf(stderr,
		    "certkeep: agent run needs --server https://... and "
		    "--dir\n");
		return CK_EXIT_USAGE;
	}
	o.scan_paths = scan;
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = ck_agent_run(&o, &stop_flag, &err)) != 0)
		return cli_fail(r, &err, "agent");
	return CK_EXIT_OK;
}

int
ck_cmd_agent(struct ck_cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CK_EXIT_USAGE : CK_EXIT_OK;
	}
	if (strcmp(argv[1], "token") == 0 && argc >= 3 &&
	    strcmp(argv[2], "create") == 0)
		return token_create(cli, argc - 2, argv + 2);
	if (strcmp(argv[1], "list") == 0)
		return agent_list(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return agent_remove(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return agent_run(argc - 1, argv + 1);
	fprintf(stderr,
	    "certkeep: 'agent %s' is not a command; see certkeep agent "
	    "--help\n",
	    argv[1]);
	return CK_EXIT_USAGE;
}
