/*
 * certkeep manage: managed certificates, the ones certkeep keeps alive.
 * add queues the first issuance and runs it at once (unless --queue);
 * run does all due work now (for cron or systemd timers; the daemon does
 * the same on its own schedule); renew, retire, adopt, move.
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
#include "lifecycle/managed.h"

#define MAX_SANS 100

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep manage add NAME --issuer I --san NAME... "
	    "[--cn CN]\n"
	    "                [--key-type T] [--profile P] [--days N]\n"
	    "                [--renew-at PCT | --renew-before DUR] "
	    "[--reuse-key]\n"
	    "                [--owner O] [--contact C] [--tags T,...]\n"
	    "                [--key-out F] [--cert-out F] [--fullchain-out "
	    "F] [--queue]\n"
	    "                [--agent HOST]\n"
	    "       certkeep manage list [--issuer I] [--state S] [--owner "
	    "O] [--tag T]\n"
	    "                [--san NAME] [--json]\n"
	    "       certkeep manage show NAME\n"
	    "       certkeep manage renew NAME [--force]\n"
	    "       certkeep manage retire NAME [--revoke [--reason R]]\n"
	    "       certkeep manage adopt SHA256 --issuer I [--name NAME]\n"
	    "       certkeep manage move --to-issuer I | --key-type T "
	    "[--rate N]\n"
	    "                [--issuer I] [--state S] [--owner O] [--tag "
	    "T] [--san NAME]\n"
	    "       certkeep manage run [--max N] [--batch N] [--json]\n"
	    "       certkeep manage jobs [--json]\n"
	    "       certkeep manage target add|list|remove NAME ... "
	    "(see manage target --help)\n"
	    "       certkeep manage deploy NAME [--target ID] [--force]\n"
	    "       certkeep manage assign NAME --agent HOST|--server\n"
	    "\n"
	    "Managed certificates are renewed before they expire, through "
	    "their issuer\n"
	    "(certkeep issuer), with a new key each time unless --reuse-key.\n"
	    "\n"
	    "  --issuer I        issuer connector (certkeep issuer list)\n"
	    "  --san NAME        DNS name or IP address (DNS:x, IP:y); "
	    "repeat\n"
	    "  --key-type T      ec-p256 (default), ec-p384, rsa-2048, "
	    "rsa-3072,\n"
	    "                    rsa-4096, ed25519\n"
	    "  --days N          validity to ask for (default: the issuer's "
	    "choice)\n"
	    "  --renew-at PCT    renew when PCT%% of the lifetime has passed "
	    "(default 66.7)\n"
	    "  --renew-before D  renew D before expiry instead (30d, 12h)\n"
	    "  --key-out F ...   files written at each issuance (key 0600, "
	    "certificate,\n"
	    "                    certificate followed by its chain)\n"
	    "  --queue           add only; the daemon or `manage run` "
	    "issues\n"
	    "  --agent HOST      add only: held by the agent of HOST, which "
	    "makes the\n"
	    "                    key there and deploys its targets there\n"
	    "  --force           renew now even when not due\n"
	    "  --revoke          retire: also revoke the current "
	    "certificate\n"
	    "  --reason R        keyCompromise, superseded, "
	    "cessationOfOperation, ...\n"
	    "  --rate N          move: renewals per second to queue "
	    "(default 10)\n"
	    "  --max N           run: at most N jobs\n"
	    "  --batch N         run: jobs claimed and committed together "
	    "(default 256)\n");
}

static int
progress(void *ctx, const char *name, int code, const struct ck_err *err)
{
	(void)ctx;
	if (code == 0)
		fprintf(stderr, "certkeep: %s: issued\n", name);
	else
		fprintf(stderr, "certkeep: %s: failed: %s\n", name,
		    err && err->msg[0] ? err->msg : ck_strerror(code));
	return 0;
}

static void
progress_cb(void *ctx, const char *name, int code, const struct ck_err *err)
{
	(void)progress(ctx, name, code, err);
}

static void
host_owner(char *out, size_t n)
{
	char host[128] = "localhost";

	(void)gethostname(host, sizeof(host) - 1);
	snprintf(out, n, "%s/%ld", host, (long)getpid());
}

/* Jobs claimed and committed together by run (--batch; 0: default). */
static int run_batch = 0;

/* Runs due work (only name's when not NULL); prints the counts. */
static int
run_now(struct ck_cli *cli, struct ck_store *st, const char *only, int64_t max,
    bool json, bool quiet)
{
	struct ck_renewer rw = {0};
	struct cli_alerts al;
	struct ck_renew_stats s;
	struct ck_err err = {0};
	char owner[200];
	int64_t next;
	int r;

	host_owner(owner, sizeof(owner));
	rw.st = st;
	rw.owner = owner;
	rw.only = only;
	rw.batch = run_batch;
	rw.public_url = getenv("CERTKEEP_PUBLIC_URL");
	if (!quiet)
		rw.progress = progress_cb;
	cli_alerts_open(cli, st, &al);
	rw.alert = cli_alert;
	rw.alert_ctx = &al;
	r = ck_renew_run(&rw, ck_now(), max, &s, &next, &err);
	cli_alerts_close(&al);
	if (r != 0)
		return cli_fail(r, &err, "renewal");
	if (json) {
		char when[CK_TIME_STR_MAX] = "";
		if (next != INT64_MAX)
			ck_time_format(next, when);
		printf("{\"queued\":%lld,\"issued\":%lld,\"failed\":%lld,"
		       "\"deferred\":%lld,\"written\":%lld,\"next\":%s%s%s}\n",
		    (long long)s.queued, (long long)s.issued,
		    (long long)s.failed, (long long)s.deferred,
		    (long long)s.written, when[0] ? "\"" : "",
		    when[0] ? when : "null", when[0] ? "\"" : "");
	} else if (!quiet) {
		printf("queued %lld, issued %lld, failed %lld, deferred %lld, "
		       "files written %lld\n",
		    (long long)s.queued, (long long)s.issued,
		    (long long)s.failed, (long long)s.deferred,
		    (long long)s.written);
	}
	return s.failed > 0 ? CK_EXIT_PARTIAL : CK_EXIT_OK;
}

static int
cmd_add(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"issuer", 1, NULL, 'i'},
	    {"san", 1, NULL, 's'}, {"cn", 1, NULL, 'n'},
	    {"key-type", 1, NULL, 't'}, {"profile", 1, NULL, 'p'},
	    {"days", 1, NULL, 'd'}, {"renew-at", 1, NULL, 'a'},
	    {"renew-before", 1, NULL, 'b'}, {"reuse-key", 0, NULL, 'R'},
	    {"owner", 1, NULL, 'o'}, {"contact", 1, NULL, 'c'},
	    {"tags", 1, NULL, 'g'}, {"key-out", 1, NULL, 'K'},
	    {"cert-out", 1, NULL, 'C'}, {"fullchain-out", 1, NULL, 'F'},
	    {"queue", 0, NULL, 'q'}, {"agent", 1, NULL, 'A'},
	    {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct ck_manage_spec s = {0};
	const char *sans[MAX_SANS];
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	bool queue = false;
	const char *agent = NULL;
	int c, r, rc;
	char *end;

	s.sans = sans;
	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': s.issuer = optarg; break;
		case 's':
			if (s.n_sans == MAX_SANS) {
				fprintf(stderr, "certkeep: at most %d --san\n",
				    MAX_SANS);
				return CK_EXIT_USAGE;
			}
			sans[s.n_sans++] = optarg;
			break;
		case 'n': s.cn = optarg; break;
		case 't': s.key_type = optarg; break;
		case 'p': s.profile = optarg; break;
		case 'd':
			s.days = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || s.days <= 0) {
				fprintf(stderr, "certkeep: bad --days '%s'\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'a': {
			double pct = strtod(optarg, &end);
			if (*end == '%')
				end++;
			if (*end != '\0' || pct <= 0 || pct >= 100) {
				fprintf(stderr,
				    "certkeep: bad --renew-at '%s' (1-99)\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			s.renew_frac = (int)(pct * 10 + 0.5);
			break;
		}
		case 'b':
			if (ck_duration_parse(optarg, &s.renew_before) != 0 ||
			    s.renew_before <= 0) {
				fprintf(stderr,
				    "certkeep: bad --renew-before '%s'\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'R': s.reuse_key = true; break;
		case 'o': s.owner = optarg; break;
		case 'c': s.contact = optarg; break;
		case 'g': s.tags = optarg; break;
		case 'K': s.key_out = optarg; break;
		case 'C': s.cert_out = optarg; break;
		case 'F': s.fullchain_out = optarg; break;
		case 'q': queue = true; break;
		case 'A': agent = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || s.issuer == NULL) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	s.name = argv[optind];
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	/* an agent's: its key is made on the agent's host, never here */
	s.agent = agent;
	if ((r = ck_manage_add(st, &s, "cli", &err)) != 0) {
		rc = cli_fail(r, &err, s.name);
		goto out;
	}
	if (agent != NULL) {
		printf("%s added; held by agent %s, which asks for its "
		       "certificate\n",
		    s.name, agent);
		goto out;
	}
	if (queue)
		printf("%s added; queued for issuance\n", s.name);
	else
		rc = run_now(cli, st, s.name, 0, false, false);
out:
	ck_store_free(st);
	return rc;
}

struct list_ctx {
	bool json, first;
	struct ck_buf out;
};

static int
print_row(void *ctx, const struct ck_managed_row *m)
{
	struct list_ctx *lc = ctx;
	char exp[CK_TIME_STR_MAX] = "-", ren[CK_TIME_STR_MAX] = "-";

	if (lc->json) {
		if (!lc->first)
			ck_buf_addc(&lc->out, ',');
		lc->first = false;
		ck_managed_row_json(m, &lc->out);
		return 0;
	}
	if (m->not_after)
		ck_time_format(m->not_after, exp);
	if (m->renew_at && strcmp(m->state, "retired") != 0)
		ck_time_format(m->renew_at, ren);
	ck_buf_printf(&lc->out, "%-24s %-8s %-12s %-20s %-20s %-3d %s\n",
	    m->name, m->state, m->issuer, exp, ren, m->failures, m->sans);
	return 0;
}

static int
cmd_list(struct ck_cli *cli, int argc, char **argv, bool show)
{
	static const struct option opts[] = {{"issuer", 1, NULL, 'i'},
	    {"state", 1, NULL, 's'}, {"owner", 1, NULL, 'o'},
	    {"tag", 1, NULL, 'g'}, {"san", 1, NULL, 'n'},
	    {"json", 0, NULL, 'j'}, {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct list_ctx lc = {false, true, CK_BUF_INIT};
	struct ck_managed_filter f = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int c, r, rc;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': f.issuer = optarg; break;
		case 's': f.state = optarg; break;
		case 'o': f.owner = optarg; break;
		case 'g': f.tag = optarg; break;
		case 'n': f.san = optarg; break;
		case 'j': lc.json = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + (show ? 1 : 0) != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if (show) {
		f.name = argv[optind];
		lc.json = true;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if (lc.json && !show)
		ck_buf_addc(&lc.out, '[');
	else if (!lc.json)
		ck_buf_printf(&lc.out, "%-24s %-8s %-12s %-20s %-20s %-3s %s\n",
		    "NAME", "STATE", "ISSUER", "EXPIRES", "RENEWS", "ERR",
		    "NAMES");
	if ((r = ck_store_managed_list(st, &f, print_row, &lc, &err)) != 0) {
		rc = cli_fail(r, &err, f.name);
		goto out;
	}
	if (lc.json && !show)
		ck_buf_addc(&lc.out, ']');
	if (lc.json)
		ck_buf_addc(&lc.out, '\n');
	fwrite(lc.out.p, 1, lc.out.len, stdout);
out:
	ck_buf_release(&lc.out);
	ck_store_free(st);
	return rc;
}

static int
cmd_renew(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", 0, NULL, 'f'},
	    {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	bool force = false;
	int c, r, rc;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_manage_renew_now(st, argv[optind], force, "cli", &err)) !=
	    0)
		rc = cli_fail(r, &err, argv[optind]);
	else
		rc = run_now(cli, st, argv[optind], 0, false, false);
	ck_store_free(st);
	return rc;
}

static int
cmd_retire(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"revoke", 0, NULL, 'r'},
	    {"reason", 1, NULL, 'R'}, {"help", 0, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	bool revoke = false;
	int c, r, rc, reason = 0;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': revoke = true; break;
		case 'R':
			if (ck_crl_reason_parse(optarg, &reason) != 0) {
				fprintf(stderr, "certkeep: bad --reason '%s'\n",
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
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_manage_retire(
	         st, argv[optind], revoke, reason, NULL, "cli", &err)) != 0)
		rc = cli_fail(r, &err, argv[optind]);
	else
		printf("%s retired%s\n", argv[optind],
		    revoke ? "; its certificate is revoked" : "");
	ck_store_free(st);
	return rc;
}

static int
cmd_adopt(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"issuer", 1, NULL, 'i'},
	    {"name", 1, NULL, 'n'}, {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *issuer = NULL, *name = NULL;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int c, r, rc;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': issuer = optarg; break;
		case 'n': name = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || issuer == NULL) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_manage_adopt(
	         st, argv[optind], issuer, name, "cli", &err)) != 0)
		rc = cli_fail(r, &err, argv[optind]);
	else
		printf("adopted %s\n", argv[optind]);
	ck_store_free(st);
	return rc;
}

static int
cmd_move(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"to-issuer", 1, NULL, 'T'},
	    {"key-type", 1, NULL, 'k'}, {"rate", 1, NULL, 'r'},
	    {"issuer", 1, NULL, 'i'}, {"state", 1, NULL, 's'},
	    {"owner", 1, NULL, 'o'}, {"tag", 1, NULL, 'g'},
	    {"san", 1, NULL, 'n'}, {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct ck_managed_filter f = {0};
	const char *to = NULL, *kt = NULL;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	double rate = 10;
	int64_t moved;
	int c, r, rc;
	char *end;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'T': to = optarg; break;
		case 'k': kt = optarg; break;
		case 'r':
			rate = strtod(optarg, &end);
			if (*end != '\0' || rate <= 0) {
				fprintf(stderr, "certkeep: bad --rate '%s'\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'i': f.issuer = optarg; break;
		case 's': f.state = optarg; break;
		case 'o': f.owner = optarg; break;
		case 'g': f.tag = optarg; break;
		case 'n': f.san = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind != argc || (to == NULL && kt == NULL)) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_manage_move(st, &f, to, kt, rate, "cli", &moved, &err)) !=
	    0)
		rc = cli_fail(r, &err, NULL);
	else
		printf("%lld managed certificate(s) moved; renewals queued at "
		       "%g/s\n",
		    (long long)moved, rate);
	ck_store_free(st);
	return rc;
}

static int
print_job(void *ctx, const struct ck_job_row *j)
{
	struct list_ctx *lc = ctx;
	char at[CK_TIME_STR_MAX];

	ck_time_format(j->run_at, at);
	if (lc->json) {
		bool first = true;
		if (!lc->first)
			ck_buf_addc(&lc->out, ',');
		lc->first = false;
		ck_buf_addc(&lc->out, '{');
		ck_json_kv_int(&lc->out, &first, "id", j->id);
		ck_json_kv_str(&lc->out, &first, "kind", j->kind);
		ck_json_kv_str(&lc->out, &first, "subject", j->subject);
		ck_json_kv_time(&lc->out, &first, "run_at", j->run_at);
		ck_json_kv_int(&lc->out, &first, "attempts", j->attempts);
		ck_json_kv_str(&lc->out, &first, "lease_owner", j->lease_owner);
		ck_json_kv_str(&lc->out, &first, "last_error", j->last_error);
		ck_buf_addc(&lc->out, '}');
		return 0;
	}
	ck_buf_printf(&lc->out, "%-8s %-24s %-20s %-4d %s\n", j->kind,
	    j->subject, at, j->attempts, j->last_error);
	return 0;
}

static int
cmd_jobs(struct ck_cli *cli, int argc, char **argv)
{
	struct list_ctx lc = {false, true, CK_BUF_INIT};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int r, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			lc.json = true;
		else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CK_EXIT_OK;
		} else {
			usage(stderr);
			return CK_EXIT_USAGE;
		}
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	ck_buf_adds(&lc.out,
	    lc.json ? "["
	            : "KIND     SUBJECT                  "
	              "RUN AT               TRY  "
	              "LAST ERROR\n");
	if ((r = ck_store_job_list(st, NULL, print_job, &lc, &err)) != 0)
		rc = cli_fail(r, &err, NULL);
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
cmd_run(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"max", 1, NULL, 'm'},
	    {"batch", 1, NULL, 'b'}, {"json", 0, NULL, 'j'},
	    {"quiet", 0, NULL, 'q'}, {"help", 0, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct ck_store *st = NULL;
	bool json = false, quiet = false;
	int64_t max = 0;
	int c, rc;
	char *end;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			max = strtoll(optarg, &end, 10);
			if (*end != '\0' || max <= 0) {
				fprintf(stderr, "certkeep: bad --max '%s'\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'b':
			run_batch = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || run_batch <= 0 ||
			    run_batch > 10000) {
				fprintf(stderr, "certkeep: bad --batch '%s'\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'j': json = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	rc = run_now(cli, st, NULL, max, json, quiet || json);
	ck_store_free(st);
	return rc;
}

int
ck_cmd_manage(struct ck_cli *cli, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct ck_cli *, int, char **);
	} subs[] = {{"add", cmd_add}, {"renew", cmd_renew},
	    {"retire", cmd_retire}, {"adopt", cmd_adopt}, {"move", cmd_move},
	    {"run", cmd_run}, {"jobs", cmd_jobs}, {"target", cli_manage_target},
	    {"deploy", cli_manage_deploy}, {"assign", cli_manage_assign}};

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CK_EXIT_USAGE : CK_EXIT_OK;
	}
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(cli, argc - 1, argv + 1, false);
	if (strcmp(argv[1], "show") == 0)
		return cmd_list(cli, argc - 1, argv + 1, true);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(cli, argc - 1, argv + 1);
	fprintf(stderr, "certkeep manage: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return CK_EXIT_USAGE;
}
