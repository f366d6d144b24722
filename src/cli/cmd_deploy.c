/*
 * Deployment from the command line: `certkeep manage target add|list|
 * remove` and `certkeep manage deploy NAME` (dispatched from
 * cmd_manage.c), and `certkeep deploy status`: per target, what it holds
 * against the current certificate, how its last attempt ended, and drift
 * (what the newest discovery scan saw at the target's endpoint or files,
 * when that is not the current certificate).
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "lifecycle/deploy.h"
#include "store/agents.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep manage target add NAME --kind file [--cert F] "
	    "[--chain F]\n"
	    "                [--fullchain F] [--key F] [--owner U] [--group "
	    "G] [--mode 0640]\n"
	    "                [--reload CMD] [--reload-timeout S] [--verify "
	    "HOST:PORT]\n"
	    "                [--sni NAME] [--verify-timeout S]\n"
	    "       certkeep manage target add NAME --kind pkcs12 --p12 F "
	    "--password-file F\n"
	    "                [--legacy] [--owner U] [--group G] [--mode M] "
	    "[--reload CMD] ...\n"
	    "       certkeep manage target add NAME --kind command --command "
	    "CMD [--verify ...]\n"
	    "       certkeep manage target list NAME [--json]\n"
	    "       certkeep manage target remove NAME ID\n"
	    "       certkeep manage deploy NAME [--target ID] [--force]\n"
	    "       certkeep deploy status [NAME] [--json]\n"
	    "\n"
	    "A managed certificate is deployed to each of its targets after "
	    "every\n"
	    "issuance (by the daemon or `manage run`), or now with `manage "
	    "deploy`.\n"
	    "Files are written all or nothing (previous ones kept as "
	    "F.ck-prev); a\n"
	    "reload that fails or an endpoint that does not serve the new "
	    "certificate\n"
	    "restores them, reloads again and raises a deploy_failed "
	    "alert.\n"
	    "\n"
	    "  --kind K            file, pkcs12 or command\n"
	    "  --cert/--chain/--fullchain/--key F   absolute paths to write\n"
	    "  --owner U --group G --mode M         of every file written "
	    "(default mode:\n"
	    "                      0644, 0600 for keys and bundles)\n"
	    "  --reload CMD        run after the files are in place (sh -c); "
	    "must exit 0\n"
	    "  --reload-timeout S  killed after S seconds (default 60; also "
	    "--command's)\n"
	    "  --verify HOST:PORT  then connect and check that the new "
	    "certificate is served\n"
	    "  --sni NAME          the name to ask for (default: the first "
	    "name)\n"
	    "  --verify-timeout S  how long the endpoint may take to switch "
	    "(default 10)\n"
	    "  --p12 F --password-file F  the bundle and its password (first "
	    "line of F)\n"
	    "  --legacy            3DES and SHA-1 for Java before 8u301 and "
	    "old Windows\n"
	    "  --command CMD       gets the key then the full chain on stdin; "
	    "CERTKEEP_NAME,\n"
	    "                      CERTKEEP_CERT_PEM, CERTKEEP_CHAIN_PEM, "
	    "CERTKEEP_FULLCHAIN_PEM,\n"
	    "                      CERTKEEP_SHA256 in its environment\n"
	    "  --rollback CMD      command targets: run (CERTKEEP_PHASE="
	    "rollback) when the\n"
	    "                      reload fails or --verify sees another "
	    "certificate, to put\n"
	    "                      back what --command replaced\n"
	    "  --force             deploy: also targets already current\n");
}

static int
parse_secs(const char *opt, const char *s, int64_t max, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*end != '\0' || v <= 0 || v > max) {
		fprintf(stderr, "certkeep: bad %s '%s' (1-%lld)\n", opt, s,
		    (long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
target_add(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"kind", 1, NULL, 'k'},
	    {"cert", 1, NULL, 'c'}, {"chain", 1, NULL, 'C'},
	    {"fullchain", 1, NULL, 'F'}, {"key", 1, NULL, 'K'},
	    {"owner", 1, NULL, 'o'}, {"group", 1, NULL, 'g'},
	    {"mode", 1, NULL, 'm'}, {"reload", 1, NULL, 'r'},
	    {"reload-timeout", 1, NULL, 't'}, {"verify", 1, NULL, 'v'},
	    {"sni", 1, NULL, 's'}, {"verify-timeout", 1, NULL, 'T'},
	    {"p12", 1, NULL, 'p'}, {"password-file", 1, NULL, 'P'},
	    {"legacy", 0, NULL, 'L'}, {"command", 1, NULL, 'x'},
	    {"rollback", 1, NULL, 'R'}, {"help", 0, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct ck_target_conf c = {.mode = -1};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int64_t id = 0;
	int o, r, rc;
	char *end;

	optind = 0; /* glibc: full re-initialisation */
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'k': c.kind = optarg; break;
		case 'c': c.cert = optarg; break;
		case 'C': c.chain = optarg; break;
		case 'F': c.fullchain = optarg; break;
		case 'K': c.key = optarg; break;
		case 'o': c.owner = optarg; break;
		case 'g': c.group = optarg; break;
		case 'm':
			c.mode = (int)strtol(optarg, &end, 8);
			if (*end != '\0' || optarg[0] == '\0' || c.mode < 0 ||
			    c.mode > 0777) {
				fprintf(stderr,
				    "certkeep: bad --mode '%s' (octal, "
				    "0-0777)\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'r': c.reload = optarg; break;
		case 't':
			if (parse_secs("--reload-timeout", optarg, 3600,
			        &c.timeout) != 0)
				return CK_EXIT_USAGE;
			break;
		case 'v': c.verify = optarg; break;
		case 's': c.sni = optarg; break;
		case 'T':
			if (parse_secs("--verify-timeout", optarg, 600,
			        &c.verify_timeout) != 0)
				return CK_EXIT_USAGE;
			break;
		case 'p': c.p12 = optarg; break;
		case 'P': c.password_file = optarg; break;
		case 'L': c.legacy = true; break;
		case 'x': c.command = optarg; break;
		case 'R': c.rollback = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || c.kind == NULL) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_target_add(st, argv[optind], &c, cli_actor(), &id, &err)) !=
	    0)
		rc = cli_fail(r, &err, argv[optind]);
	else
		printf("target %lld added to %s; `certkeep manage deploy %s` "
		       "deploys now\n",
		    (long long)id, argv[optind], argv[optind]);
	ck_store_free(st);
	return rc;
}

/* ---- listings ---- */

struct show {
	struct ck_store *st;
	bool json, first;
	int64_t drift, stale, failed;
	struct ck_buf out;
};

static const char *
short_hash(const char *h)
{
	static _Thread_local char s[17];
	snprintf(s, sizeof(s), "%.16s", h && h[0] ? h : "-");
	return s;
}

/* What discovery last saw at the target's places; drift when not the
 * current certificate. Each place is one JSON object (or one line). */
static void
observed(struct show *sh, const struct ck_target_row *t,
    const struct ck_target_conf *c, const char *agent, bool *drift)
{
	char places[6][700];
	size_t n = 0;
	const char *files[] = {c->cert, c->fullchain, c->p12};
	bool first = true;

	if (c->verify != NULL) {
		if (c->sni != NULL)
			snprintf(places[n++], sizeof(places[0]), "%s/%s",
			    c->verify, c->sni);
		snprintf(places[n++], sizeof(places[0]), "%s", c->verify);
	}
	/* an agent's files are seen by its own scans, reported as
	 * agent:HOST:PATH#n */
	for (size_t i = 0; i < 3; i++)
		if (files[i] != NULL)
			snprintf(places[n++], sizeof(places[0]), "%s%s%s%s#1",
			    agent[0] ? "agent:" : "", agent,
			    agent[0] ? ":" : "", files[i]);
	if (sh->json)
		ck_buf_adds(&sh->out, ",\"observed\":[");
	for (size_t i = 0; i < n; i++) {
		char sha[65], status[32], at[CK_TIME_STR_MAX];
		int64_t cert_id, seen;
		bool found, cur;

		if (ck_store_place_seen(sh->st, places[i], &found, &cert_id,
		        sha, &seen, status, NULL) != 0 ||
		    !found)
			continue;
		cur = t->current_sha256 && strcmp(sha, t->current_sha256) == 0;
		if (!cur)
			*drift = true;
		ck_time_format(seen, at);
		if (sh->json) {
			bool f2 = true;
			if (!first)
				ck_buf_addc(&sh->out, ',');
			first = false;
			ck_buf_addc(&sh->out, '{');
			ck_json_kv_str(&sh->out, &f2, "place", places[i]);
			ck_json_kv_str(&sh->out, &f2, "sha256", sha);
			ck_json_kv_str(&sh->out, &f2, "status", status);
			ck_json_kv_time(&sh->out, &f2, "seen", seen);
			ck_json_kv_bool(&sh->out, &f2, "current", cur);
			ck_buf_addc(&sh->out, '}');
		} else
			ck_buf_printf(&sh->out,
			    "    %s %s: scan of %s saw %s%s\n",
			    cur ? "seen" : "DRIFT", places[i], at,
			    sha[0] ? short_hash(sha) : status,
			    cur ? " (current)"
			        : ", not the current certificate");
		/* an endpoint with and without SNI: the first found says it */
		if (c->verify != NULL && c->sni != NULL && i == 0)
			i++;
	}
	if (sh->json)
		ck_buf_addc(&sh->out, ']');
}

static int
show_target(void *ctx, const struct ck_target_row *t)
{
	struct show *sh = ctx;
	struct ck_target_conf c;
	struct ck_buf where = CK_BUF_INIT;
	char at[CK_TIME_STR_MAX] = "-";
	bool current = t->current_cert_id != 0 &&
	    t->deployed_cert_id == t->current_cert_id;
	bool drift = false;

	char host[CK_AGENT_HOST_MAX + 1] = "";
	bool held = false;

	if (ck_target_conf_parse(t->kind, t->config, &c, NULL) != 0)
		memset(&c, 0, sizeof(c));
	/* an agent's target is on its host, not here */
	(void)ck_store_agent_holder(sh->st, t->managed, host, &held, NULL);
	if (held)
		ck_buf_printf(&where, "agent:%s:", host);
	ck_target_conf_where(&c, &where);
	ck_buf_addc(&where, '\0');
	if (t->last_attempt)
		ck_time_format(t->last_attempt, at);
	if (!current)
		sh->stale++;
	if (strcmp(t->state, "failed") == 0 ||
	    strcmp(t->state, "rolled_back") == 0)
		sh->failed++;
	if (sh->json) {
		bool f = true;
		if (!sh->first)
			ck_buf_addc(&sh->out, ',');
		sh->first = false;
		ck_buf_addc(&sh->out, '{');
		ck_json_kv_str(&sh->out, &f, "managed", t->managed);
		ck_json_kv_int(&sh->out, &f, "id", t->id);
		ck_json_kv_str(&sh->out, &f, "kind", t->kind);
		ck_json_kv_str(&sh->out, &f, "where", where.p);
		ck_json_kv_str(&sh->out, &f, "agent", host);
		ck_json_sep(&sh->out, &f);
		ck_json_key(&sh->out, "config");
		ck_buf_adds(&sh->out, t->config);
		ck_json_kv_int(
		    &sh->out, &f, "deployed_cert_id", t->deployed_cert_id);
		ck_json_kv_str(&sh->out, &f, "deployed_sha256",
		    t->deployed_sha256 ? t->deployed_sha256 : "");
		ck_json_kv_int(
		    &sh->out, &f, "current_cert_id", t->current_cert_id);
		ck_json_kv_str(&sh->out, &f, "current_sha256",
		    t->current_sha256 ? t->current_sha256 : "");
		ck_json_kv_bool(&sh->out, &f, "up_to_date", current);
		ck_json_kv_str(&sh->out, &f, "state", t->state);
		ck_json_kv_str(&sh->out, &f, "last_result", t->last_result);
		ck_json_kv_str(&sh->out, &f, "last_output", t->last_output);
		if (t->last_attempt)
			ck_json_kv_time(
			    &sh->out, &f, "last_attempt", t->last_attempt);
		observed(sh, t, &c, host, &drift);
		ck_json_kv_bool(&sh->out, &f, "drift", drift);
		ck_buf_addc(&sh->out, '}');
	} else {
		ck_buf_printf(&sh->out,
		    "%-20s %-4lld %-8s %-12s %-16s %-16s %-20s %s\n",
		    t->managed, (long long)t->id, t->kind, t->state,
		    short_hash(t->deployed_sha256),
		    short_hash(t->current_sha256), at, where.p);
		if (t->last_result[0])
			ck_buf_printf(
			    &sh->out, "    last: %s\n", t->last_result);
		observed(sh, t, &c, host, &drift);
	}
	if (drift)
		sh->drift++;
	ck_target_conf_release(&c);
	ck_buf_release(&where);
	return 0;
}

static int
ignore_row(void *ctx, const struct ck_managed_row *m)
{
	(void)ctx;
	(void)m;
	return 0;
}

static int
list_targets(struct ck_cli *cli, const char *name, bool json, bool status)
{
	struct show sh = {.json = json, .first = true, .out = CK_BUF_INIT};
	struct ck_err err = {0};
	int r, rc;

	if ((rc = cli_open_store(cli, &sh.st)) != CK_EXIT_OK)
		return rc;
	if (name != NULL) { /* an unknown name is an error, not a blank */
		struct ck_managed_filter f = {.name = name, .limit = 1};
		if ((r = ck_store_managed_list(
		         sh.st, &f, ignore_row, NULL, &err)) != 0) {
			rc = cli_fail(r, &err, name);
			goto out;
		}
	}
	if (json)
		ck_buf_adds(&sh.out, status ? "{\"targets\":[" : "[");
	else
		ck_buf_printf(&sh.out,
		    "%-20s %-4s %-8s %-12s %-16s %-16s %-20s %s\n", "MANAGED",
		    "ID", "KIND", "STATE", "DEPLOYED", "CURRENT",
		    "LAST ATTEMPT", "WHERE");
	if ((r = ck_store_target_list(sh.st, name, show_target, &sh, &err)) !=
	    0) {
		rc = cli_fail(r, &err, "targets");
		goto out;
	}
	if (json && status)
		ck_buf_printf(&sh.out,
		    "],\"not_current\":%lld,\"failed\":%lld,\"drift\":%lld}\n",
		    (long long)sh.stale, (long long)sh.failed,
		    (long long)sh.drift);
	else if (json)
		ck_buf_adds(&sh.out, "]\n");
	else if (status)
		ck_buf_printf(&sh.out,
		    "%lld target(s) not current, %lld failed, %lld with "
		    "drift\n",
		    (long long)sh.stale, (long long)sh.failed,
		    (long long)sh.drift);
	fwrite(sh.out.p, 1, sh.out.len, stdout);
out:
	ck_buf_release(&sh.out);
	ck_store_free(sh.st);
	return rc;
}

static int
target_list(struct ck_cli *cli, int argc, char **argv)
{
	const char *name = NULL;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CK_EXIT_OK;
		} else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else {
			usage(stderr);
			return CK_EXIT_USAGE;
		}
	}
	if (name == NULL) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	return list_targets(cli, name, json, false);
}

static int
target_remove(struct ck_cli *cli, int argc, char **argv)
{
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	char *end;
	long long id;
	int r, rc;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return CK_EXIT_OK;
	}
	if (argc != 3 || (id = strtoll(argv[2], &end, 10)) <= 0 ||
	    *end != '\0') {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_target_remove(st, argv[1], id, cli_actor(), &err)) != 0)
		rc = cli_fail(r, &err, argv[1]);
	else
		printf("target %lld of %s removed (its files stay)\n", id,
		    argv[1]);
	ck_store_free(st);
	return rc;
}

int
cli_manage_target(struct ck_cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CK_EXIT_USAGE : CK_EXIT_OK;
	}
	if (strcmp(argv[1], "add") == 0)
		return target_add(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return target_list(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return target_remove(cli, argc - 1, argv + 1);
	fprintf(stderr, "certkeep manage target: unknown subcommand '%s'\n",
	    argv[1]);
	usage(stderr);
	return CK_EXIT_USAGE;
}

/* ---- deploy now ---- */

struct claim {
	int64_t id;
	int attempts;
};

static int
take_claim(void *ctx, const struct ck_job_row *j)
{
	struct claim *c = ctx;
	c->id = j->id;
	c->attempts = j->attempts;
	return 0;
}

static int
print_outcome(void *ctx, const struct ck_target_row *t)
{
	(void)ctx;
	printf("target %lld (%s): %s: %s\n", (long long)t->id, t->kind,
	    t->state, t->last_result);
	return 0;
}

/*
 * Deploys through the job queue's lease, like the daemon, so that a
 * deployment from here and one from the daemon never write the same
 * files at once: the job is queued, claimed (or found leased: someone is
 * deploying), run, and done or left to retry.
 */
int
cli_manage_deploy(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", 0, NULL, 'f'},
	    {"target", 1, NULL, 't'}, {"help", 0, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct ck_deploy_opts o = {.actor = cli_actor()};
	struct cli_alerts al = {NULL, NULL};
	struct ck_deploy_stats ds = {0};
	uint8_t mk[CK_MASTER_KEY_LEN];
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct claim cl = {0};
	char owner[200], host[128] = "localhost", *end;
	const char *name;
	int64_t now = ck_now();
	int c, r, rc;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o.force = true; break;
		case 't':
			o.only_target = strtoll(optarg, &end, 10);
			if (*end != '\0' || o.only_target <= 0) {
				fprintf(stderr, "certkeep: bad --target '%s'\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	name = argv[optind];
	(void)gethostname(host, sizeof(host) - 1);
	snprintf(owner, sizeof(owner), "%s/%ld", host, (long)getpid());
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_master_key_load(
	         ck_master_key_path(NULL), false, mk, &err)) != 0) {
		rc = cli_fail(r, &err, "master key");
		goto out;
	}
	if ((r = ck_store_begin(st, &err)) == 0) {
		if ((r = ck_store_job_put(st, "deploy", name, now, &err)) ==
		        0 &&
		    (r = ck_store_job_claim(st, "deploy", name, owner, now, 600,
		         1, take_claim, &cl, &err)) == 0)
			r = ck_store_commit(st, &err);
		if (r != 0)
			ck_store_rollback(st);
	}
	if (r != 0) {
		rc = cli_fail(r, &err, name);
		goto out;
	}
	if (cl.id == 0) {
		fprintf(stderr,
		    "certkeep: %s: a deployment is already running (see "
		    "`certkeep manage jobs`)\n",
		    name);
		rc = CK_EXIT_FAIL;
		goto out;
	}
	cli_alerts_open(cli, st, &al);
	o.alert = cli_alert;
	o.alert_ctx = &al;
	r = ck_deploy_managed(st, mk, name, now, &o, &ds, &err);
	{
		struct ck_err e2 = {0};
		bool again = r == 0 && ds.failed + ds.rolled_back > 0;
		if (ck_store_begin(st, &e2) == 0) {
			if ((again ? ck_store_job_retry(st, cl.id, now + 60,
			                 "deployment failed", &e2)
			           : ck_store_job_done(st, cl.id, &e2)) != 0 ||
			    ck_store_commit(st, &e2) != 0)
				ck_store_rollback(st);
		}
	}
	if (r != 0) {
		rc = cli_fail(r, &err, name);
		goto out;
	}
	if (ds.targets == 0) {
		printf("%s has no deployment targets (certkeep manage target "
		       "add)\n",
		    name);
		goto out;
	}
	(void)ck_store_target_list(st, name, print_outcome, NULL, NULL);
	printf("%s: %lld deployed, %lld already current, %lld failed, %lld "
	       "rolled back\n",
	    name, (long long)ds.deployed, (long long)ds.current,
	    (long long)ds.failed, (long long)ds.rolled_back);
	if (ds.failed + ds.rolled_back > 0)
		rc = CK_EXIT_PARTIAL;
out:
	cli_alerts_close(&al);
	ck_cleanse(mk, sizeof(mk));
	ck_store_free(st);
	return rc;
}

/* ---- certkeep deploy ---- */

int
ck_cmd_deploy(struct ck_cli *cli, int argc, char **argv)
{
	const char *name = NULL;
	bool json = false;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CK_EXIT_USAGE : CK_EXIT_OK;
	}
	if (strcmp(argv[1], "status") != 0) {
		fprintf(stderr, "certkeep deploy: unknown subcommand '%s'\n",
		    argv[1]);
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CK_EXIT_OK;
		} else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else {
			usage(stderr);
			return CK_EXIT_USAGE;
		}
	}
	return list_targets(cli, name, json, true);
}
