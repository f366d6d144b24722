/*
 * certkeep scan net: connects to every target and port, records each
 * certificate chain found in the inventory with the endpoint as its
 * location, records the scan, and reports what changed since the previous
 * scan of the same targets and ports.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/json.h"
#include "discovery/netscan.h"
#include "x509/x509.h"

#define MAX_TARGETS 100000

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep scan net TARGET... [--targets-file F] [--ports "
	    "P]\n"
	    "           [--sni NAMES] [--rate N] [--concurrency N] "
	    "[--timeout S]\n"
	    "           [--retries N] [--starttls PROTO|none] [--trust F] "
	    "[--json] [-q]\n"
	    "\n"
	    "Finds TLS endpoints and records their certificates, with the "
	    "endpoint\n"
	    "(ip:port[/sni]) as the location. TARGETs: addresses, CIDR "
	    "blocks\n"
	    "(10.0.0.0/24), ranges (10.0.0.1-10.0.0.9, 10.0.0.1-9), host "
	    "names.\n"
	    "\n"
	    "  --ports P          443,8443,8000-8010 (default: common TLS and "
	    "STARTTLS ports)\n"
	    "  --sni NAMES        names to send to address targets "
	    "(comma-separated)\n"
	    "  --sni-from-sans    after a handshake without SNI, try each DNS "
	    "name of the\n"
	    "                     certificate's SANs as SNI (virtual hosts)\n"
	    "  --rate N           new connections per second (default "
	    "2000; 0: no limit)\n"
	    "  --concurrency N    connections in flight (default 512)\n"
	    "  --timeout S        seconds per step: connect, STARTTLS, "
	    "handshake (default 5)\n"
	    "  --retries N        tries again after a timeout (default 0)\n"
	    "  --starttls P       smtp, imap, pop3, ftp, ldap, postgres on "
	    "every port,\n"
	    "                     or none (default: by port: 25/587 smtp, 143 "
	    "imap, ...)\n"
	    "  --trust F          CA file the chains are checked against "
	    "(default: the system's)\n"
	    "  --json             one JSON object: endpoints, counts, changes\n"
	    "  -q, --quiet        only the summary\n"
	    "\n"
	    "Every scan is recorded; what changed since the previous scan of "
	    "the same\n"
	    "targets and ports (new, replaced, gone, expired, expiring within "
	    "30 days)\n"
	    "is printed and written to the audit log.\n");
}

struct net {
	bool json, quiet, tty, first, first_change;
	struct ck_buf out, changes;
	int n_changes;
};

static void
on_result(void *ctx, const struct ck_scan_result *r, const char *place,
    int64_t leaf, const char *cn, int64_t not_after)
{
	struct net *n = ctx;
	char t[CK_TIME_STR_MAX] = "";

	if (n->json) {
		bool f = true;
		ck_json_sep(&n->out, &n->first);
		ck_buf_addc(&n->out, '{');
		ck_json_kv_str(&n->out, &f, "endpoint", place);
		ck_json_kv_str(
		    &n->out, &f, "status", ck_scan_status_name(r->status));
		if (r->starttls != CK_STARTTLS_NONE)
			ck_json_kv_str(&n->out, &f, "starttls",
			    ck_starttls_name(r->starttls));
		if (r->status == CK_SCAN_TLS) {
			ck_json_kv_str(
			    &n->out, &f, "tls_version", r->tls_version);
			ck_json_kv_str(&n->out, &f, "cipher", r->cipher);
			if (r->alpn[0])
				ck_json_kv_str(&n->out, &f, "alpn", r->alpn);
			ck_json_kv_int(
			    &n->out, &f, "chain_length", (int64_t)r->n_chain);
			ck_json_kv_int(&n->out, &f, "cert_id", leaf);
			ck_json_kv_str(&n->out, &f, "subject_cn", cn);
			ck_json_kv_time(&n->out, &f, "not_after", not_after);
			ck_json_kv_bool(&n->out, &f, "verified", r->verified);
			if (!r->verified)
				ck_json_kv_str(&n->out, &f, "verify_error",
				    r->verify_error);
			ck_json_kv_bool(&n->out, &f, "name_ok", r->name_ok);
		} else {
			ck_json_kv_str(&n->out, &f, "error", r->error);
		}
		ck_buf_addc(&n->out, '}');
		return;
	}
	if (n->quiet)
		return;
	if (n->tty)
		fputs("\r\033[K", stderr);
	if (r->status == CK_SCAN_TLS) {
		ck_time_format(not_after, t);
		t[10] = '\0';
		printf("%-40s %-8s %-28.28s %s %s%s\n", place, r->tls_version,
		    cn, t, r->verified ? "trusted" : r->verify_error,
		    r->name_ok ? "" : ", name mismatch");
	} else {
		printf("%-40s %-8s %s\n", place, ck_scan_status_name(r->status),
		    r->error);
	}
	fflush(stdout);
}

static void
on_progress(void *ctx, const struct ck_scan_stats *s)
{
	struct net *n = ctx;
	double rate = s->seconds > 0 ? (double)s->done / s->seconds : 0;

	if (!n->tty)
		return;
	fprintf(stderr,
	    "\r\033[Kscan: %llu of %llu endpoints, %llu TLS, %.0f/s, ETA %.0fs",
	    (unsigned long long)s->done, (unsigned long long)s->total,
	    (unsigned long long)s->tls, rate,
	    rate > 0 ? (double)(s->total - s->done) / rate : 0.0);
}

static void
on_change(void *ctx, const struct ck_scan_change *c)
{
	struct net *n = ctx;

	n->n_changes++;
	if (n->json) {
		bool f = true;
		ck_json_sep(&n->changes, &n->first_change);
		ck_buf_addc(&n->changes, '{');
		ck_json_kv_str(&n->changes, &f, "change", c->change);
		ck_json_kv_str(&n->changes, &f, "endpoint", c->place);
		if (c->old_cert)
			ck_json_kv_int(
			    &n->changes, &f, "old_cert_id", c->old_cert);
		if (c->new_cert)
			ck_json_kv_int(
			    &n->changes, &f, "new_cert_id", c->new_cert);
		ck_buf_addc(&n->changes, '}');
	} else {
		ck_buf_printf(&n->changes,
		    "  %-9s %s (certificate %lld -> %lld)\n", c->change,
		    c->place, (long long)c->old_cert, (long long)c->new_cert);
	}
}

/* Target specs from a file: one per line, '#' comments, bounded. */
static int
read_targets(const char *path, char ***v, size_t *n, struct ck_err *err)
{
	struct ck_buf b = CK_BUF_INIT;
	char *save = NULL, *line;
	int r;

	if ((r = ck_file_read(path, 64 << 20, &b, err)) != 0)
		return r;
	for (line = strtok_r(b.p, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t\r");
		line[strcspn(line, " \t\r#")] = '\0';
		if (*line == '\0')
			continue;
		if (*n >= MAX_TARGETS) {
			r = ck_err_set(err, CK_E_TOO_LARGE,
			    "%s: more than %d targets (use CIDR blocks and "
			    "ranges)",
			    path, MAX_TARGETS);
			break;
		}
		char **nv = realloc(*v, (*n + 1) * sizeof(char *));
		if (nv == NULL || (nv[*n] = strdup(line)) == NULL) {
			if (nv)
				*v = nv;
			r = ck_err_set(err, CK_E_INTERNAL, "out of memory");
			break;
		}
		*v = nv;
		(*n)++;
	}
	ck_buf_release(&b);
	return r;
}

int
cli_scan_net(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"targets-file", required_argument, NULL, 'f'},
	    {"ports", required_argument, NULL, 'p'},
	    {"sni", required_argument, NULL, 's'},
	    {"rate", required_argument, NULL, 'r'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {"retries", required_argument, NULL, 'R'},
	    {"starttls", required_argument, NULL, 'S'},
	    {"trust", required_argument, NULL, 'T'},
	    {"sni-from-sans", no_argument, NULL, 'N'},
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_scan_opts o = {0};
	struct ck_netscan_summary sum;
	struct net n = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	char **targets = NULL, *sni_copy = NULL, *save = NULL, *tok;
	const char *sni[64];
	size_t n_targets = 0, n_sni = 0;
	int *ports = NULL, c, r = 0, rc = CK_EXIT_OK;
	size_t n_ports = 0;
	const char *tfile = NULL;

	o.rate = 2000;
	n.first = n.first_change = true;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'f': tfile = optarg; break;
		case 'p':
			free(ports);
			if (ck_ports_parse(optarg, &ports, &n_ports, &err) !=
			    0) {
				fprintf(stderr, "certkeep: %s\n", err.msg);
				return CK_EXIT_USAGE;
			}
			break;
		case 's':
			free(sni_copy);
			sni_copy = strdup(optarg);
			n_sni = 0;
			for (tok = strtok_r(sni_copy, ",", &save);
			     tok && n_sni < 64;
			     tok = strtok_r(NULL, ",", &save))
				sni[n_sni++] = tok;
			break;
		case 'r':
			o.rate = (int)strtol(optarg, &end, 10);
			if (*end || o.rate < 0)
				goto bad;
			break;
		case 'c':
			o.concurrency = (int)strtol(optarg, &end, 10);
			if (*end || o.concurrency < 1 || o.concurrency > 60000)
				goto bad;
			break;
		case 't': {
			double s = strtod(optarg, &end);
			if (*end || s <= 0 || s > 600)
				goto bad;
			o.timeout_ms = (int)(s * 1000);
			break;
		}
		case 'R':
			o.retries = (int)strtol(optarg, &end, 10);
			if (*end || o.retries < 0 || o.retries > 5)
				goto bad;
			break;
		case 'S':
			if (strcmp(optarg, "none") == 0)
				o.no_starttls = true;
			else if (ck_starttls_parse(optarg, &o.starttls) != 0)
				goto bad;
			break;
		case 'T': o.trust = optarg; break;
		case 'N': o.sni_from_sans = true; break;
		case 'j': n.json = true; break;
		case 'q': n.quiet = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: goto bad;
		}
	}
	for (int i = optind; i < argc; i++) {
		char **nv = realloc(targets, (n_targets + 1) * sizeof(char *));
		if (nv == NULL)
			return CK_EXIT_FAIL;
		targets = nv;
		targets[n_targets++] = strdup(argv[i]);
	}
	if (tfile != NULL &&
	    read_targets(tfile, &targets, &n_targets, &err) != 0) {
		rc = cli_fail(err.code, &err, "targets");
		goto out;
	}
	if (n_targets == 0) {
		usage(stderr);
		rc = CK_EXIT_USAGE;
		goto out;
	}
	o.targets = (const char *const *)targets;
	o.n_targets = n_targets;
	o.ports = ports;
	o.n_ports = n_ports;
	o.sni = sni;
	o.n_sni = n_sni;
	{ /* checked before the scan is recorded */
		struct ck_targets *t;
		if (ck_targets_new(o.targets, n_targets, &t, &err) != 0) {
			fprintf(stderr, "certkeep: %s\n", err.msg);
			rc = CK_EXIT_USAGE;
			goto out;
		}
		ck_targets_free(t);
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		goto out;
	n.tty = isatty(2) && !n.json;
	{
		struct ck_netscan_hooks h = {
		    on_result, on_progress, on_change, &n};
		if (n.json)
			ck_buf_adds(&n.out, "{\"endpoints\":[");
		r = ck_netscan(st, &o, cli_actor(), &h, &sum, &err);
	}
	if (n.tty)
		fputs("\r\033[K", stderr);
	if (r != 0) {
		rc = cli_fail(r, &err, "scan");
		goto out;
	}
	if (n.json) {
		ck_buf_printf(&n.out,
		    "],\"scan_id\":%lld,\"counts\":%s,\"changes\":[",
		    (long long)sum.scan_id, sum.counts);
		if (n.changes.len)
			ck_buf_add(&n.out, n.changes.p, n.changes.len);
		ck_buf_adds(&n.out, "]}\n");
		cli_flush(&n.out);
		goto out;
	}
	if (!n.quiet)
		printf("\n");
	printf("scan %lld: %llu endpoints in %.1fs (%.0f/s): %llu TLS, "
	       "%llu refused, %llu timed out, %llu failed\n",
	    (long long)sum.scan_id, (unsigned long long)sum.stats.done,
	    sum.stats.seconds,
	    sum.stats.seconds > 0 ? (double)sum.stats.done / sum.stats.seconds
	                          : 0.0,
	    (unsigned long long)sum.stats.tls,
	    (unsigned long long)sum.stats.refused,
	    (unsigned long long)sum.stats.timeouts,
	    (unsigned long long)sum.stats.failed);
	printf("changes since the previous scan:\n%s",
	    n.changes.len ? n.changes.p : "  none\n");
	goto out;
bad:
	usage(stderr);
	rc = CK_EXIT_USAGE;
out:
	for (size_t i = 0; i < n_targets; i++)
		free(targets[i]);
	free(targets);
	free(ports);
	free(sni_copy);
	ck_buf_release(&n.out);
	ck_buf_release(&n.changes);
	ck_store_free(st);
	return rc;
}
