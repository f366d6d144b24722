/*
 * certkeep list: filtered certificates as a table for people (days left in
 * colour on a terminal), or JSON (one array) and CSV for scripts. Rows are
 * streamed from the store, so a million rows use constant memory.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "api/api.h"
#include "base/json.h"

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV };

struct list {
	enum fmt fmt;
	bool color, first;
	int64_t now, rows;
	struct ck_buf out;
};

static void
csv_field(struct ck_buf *o, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\n\r") == NULL) {
		ck_buf_adds(o, s);
		return;
	}
	ck_buf_addc(o, '"');
	for (; *s; s++) {
		if (*s == '"')
			ck_buf_addc(o, '"');
		ck_buf_addc(o, *s == '\n' ? ';' : *s);
	}
	ck_buf_addc(o, '"');
}

static int
on_row(void *ctx, const struct ck_cert_row *r)
{
	struct list *l = ctx;
	struct ck_buf *o = &l->out;
	char exp[CK_TIME_STR_MAX], key[64], subj[256], iss[256];
	int64_t days = cli_days_left(r->not_after, l->now);

	l->rows++;
	switch (l->fmt) {
	case FMT_JSON:
		ck_buf_adds(o, l->first ? "\n" : ",\n");
		l->first = false;
		ck_api_cert_json(r, l->now, o);
		break;
	case FMT_CSV: {
		char *sans = NULL;
		ck_buf_printf(o, "%lld,", (long long)r->id);
		ck_buf_addhex(o, r->sha256, 32, 0);
		ck_buf_addc(o, ',');
		csv_field(o, r->serial);
		ck_buf_addc(o, ',');
		csv_field(o, r->subject);
		ck_buf_addc(o, ',');
		csv_field(o, r->issuer);
		ck_time_format(r->not_before, exp);
		ck_buf_printf(o, ",%s,", exp);
		ck_time_format(r->not_after, exp);
		ck_buf_printf(o, "%s,%lld,%s,%d,", exp, (long long)days,
		    r->key_type, r->key_bits);
		csv_field(o, r->sig_alg);
		ck_buf_printf(o, ",%s,", r->is_ca ? "true" : "false");
		sans = strdup(r->sans ? r->sans : "");
		for (char *p = sans; p && *p; p++)
			if (*p == '\n')
				*p = ';';
		csv_field(o, sans);
		free(sans);
		ck_buf_addc(o, '\n');
		break;
	}
	case FMT_TABLE: {
		const char *col = "", *end = "";
		ck_time_format(r->not_after, exp);
		exp[10] = '\0';
		cli_key_desc(
		    r->key_type, r->key_bits, r->curve, key, sizeof(key));
		if (r->cn != NULL)
			snprintf(subj, sizeof(subj), "%s", r->cn);
		else
			cli_dn_short(r->subject, subj, sizeof(subj));
		cli_dn_short(r->issuer, iss, sizeof(iss));
		if (l->color) {
			col = days < 7  ? "\033[31m"
			    : days < 30 ? "\033[33m"
			                : "\033[32m";
			end = "\033[0m";
		}
		ck_buf_printf(o,
		    "%-7lld %s %s%6lld%s  %-12.12s %-40.40s %.30s%s\n",
		    (long long)r->id, exp, col, (long long)days, end, key, subj,
		    iss, r->is_ca ? " [CA]" : "");
		break;
	}
	}
	if (o->len > 1 << 16)
		cli_flush(o);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep list [FILTERS] [--limit N] [--json|--csv]\n"
	    "\n"
	    "Lists certificates in the inventory, soonest expiry first.\n"
	    "\n"
	    "  --expiring DUR     valid now and expiring within DUR (30d, 12h, "
	    "2w)\n"
	    "  --expired          already expired\n"
	    "  --issuer TEXT      issuer DN contains TEXT (case-insensitive)\n"
	    "  --name PATTERN     a name (DNS, IP, email, CN); '*' and '?' "
	    "match;\n"
	    "                     an exact name also finds wildcard "
	    "certificates\n"
	    "  --key-type T       rsa, ec, ed25519, ed448, ...\n"
	    "  --ca / --leaf      only CA certificates / only end-entity ones\n"
	    "  --limit N          at most N rows\n"
	    "  --after-id ID      rows with id greater than ID (with --sort "
	    "id, "
	    "for paging)\n"
	    "  --sort expiry|id   order (default expiry)\n"
	    "  --json             one JSON array (snake_case keys, RFC 3339 "
	    "times)\n"
	    "  --csv              CSV with a header line\n"
	    "  -h, --help         this help\n");
}

int
ck_cmd_list(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"expiring", required_argument, NULL, 'e'},
	    {"expired", no_argument, NULL, 'x'},
	    {"issuer", required_argument, NULL, 'i'},
	    {"name", required_argument, NULL, 'n'},
	    {"key-type", required_argument, NULL, 'k'},
	    {"ca", no_argument, NULL, 'c'},
	    {"leaf", no_argument, NULL, 'L'},
	    {"limit", required_argument, NULL, 'l'},
	    {"after-id", required_argument, NULL, 'a'},
	    {"sort", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_cert_filter f = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct list l = {0};
	int64_t dur = 0;
	bool expiring = false, expired = false;
	int c, r, rc = CK_EXIT_OK;
	char *end;

	f.ca = -1;
	l.fmt = FMT_TABLE;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (ck_duration_parse(optarg, &dur) != 0) {
				fprintf(stderr,
				    "certkeep: bad duration '%s' "
				    "(use 30d, 12h, 2w)\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			expiring = true;
			break;
		case 'x': expired = true; break;
		case 'i': f.issuer = optarg; break;
		case 'n': f.name = optarg; break;
		case 'k': f.key_type = optarg; break;
		case 'c': f.ca = 1; break;
		case 'L': f.ca = 0; break;
		case 'l':
		case 'a': {
			long long v = strtoll(optarg, &end, 10);
			if (*end != '\0' || v < 0) {
				fprintf(stderr, "certkeep: bad number '%s'\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			if (c == 'l')
				f.limit = v;
			else
				f.after_id = v;
			break;
		}
		case 's':
			if (strcmp(optarg, "id") == 0)
				f.sort = CK_SORT_ID;
			else if (strcmp(optarg, "expiry") == 0)
				f.sort = CK_SORT_EXPIRY;
			else {
				fprintf(stderr, "certkeep: --sort expiry|id\n");
				return CK_EXIT_USAGE;
			}
			break;
		case 'j': l.fmt = FMT_JSON; break;
		case 'v': l.fmt = FMT_CSV; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "certkeep: list takes no arguments ('%s')\n",
		    argv[optind]);
		return CK_EXIT_USAGE;
	}
	if (expiring && expired) {
		fprintf(stderr,
		    "certkeep: --expiring and --expired exclude each other\n");
		return CK_EXIT_USAGE;
	}
	l.now = ck_now();
	if (expiring) {
		f.not_after_min = l.now;
		f.not_after_max = l.now + dur;
	}
	if (expired)
		f.not_after_max = l.now;
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	l.color = l.fmt == FMT_TABLE && cli_color();
	l.first = true;
	if (l.fmt == FMT_JSON)
		ck_buf_addc(&l.out, '[');
	else if (l.fmt == FMT_CSV)
		ck_buf_adds(&l.out,
		    "id,sha256,serial,subject,issuer,not_before,"
		    "not_after,days_left,key_type,key_bits,"
		    "signature_algorithm,is_ca,sans\n");
	else
		ck_buf_printf(&l.out, "%-7s %-10s %6s  %-12s %-40s %s\n", "ID",
		    "EXPIRES", "DAYS", "KEY", "SUBJECT", "ISSUER");
	r = ck_store_cert_list(st, &f, on_row, &l, &err);
	if (r != 0) {
		cli_flush(&l.out);
		rc = cli_fail(r, &err, "list");
		goto out;
	}
	if (l.fmt == FMT_JSON)
		ck_buf_adds(&l.out, l.first ? "]\n" : "\n]\n");
	else if (l.fmt == FMT_TABLE && l.rows == 0)
		ck_buf_adds(&l.out, "(no certificates match)\n");
	cli_flush(&l.out);
out:
	ck_buf_release(&l.out);
	ck_store_free(st);
	return rc;
}
