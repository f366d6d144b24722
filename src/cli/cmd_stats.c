/*
 * certkeep stats: how many certificates, when they expire, who issued them,
 * which keys and signature algorithms; the figures come from running
 * counts, so they are instant on millions of certificates.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"

static void
json_counts(struct ck_buf *o, bool *f, const char *key,
    const struct ck_count *c, size_t n)
{
	bool g = true;

	ck_json_sep(o, f);
	ck_json_key(o, key);
	ck_buf_addc(o, '[');
	for (size_t i = 0; i < n; i++) {
		bool h = true;
		ck_json_sep(o, &g);
		ck_buf_addc(o, '{');
		ck_json_kv_str(o, &h, "name", c[i].key);
		ck_json_kv_int(o, &h, "count", c[i].n);
		ck_buf_addc(o, '}');
	}
	ck_buf_addc(o, ']');
}

static void
text_counts(struct ck_buf *o, const char *title, const struct ck_count *c,
    size_t n, size_t top)
{
	ck_buf_printf(o, "\n%s:\n", title);
	for (size_t i = 0; i < n && i < top; i++) {
		char shown[256];
		if (strcmp(title, "By issuer") == 0)
			cli_dn_short(c[i].key, shown, sizeof(shown));
		else
			snprintf(shown, sizeof(shown), "%s", c[i].key);
		ck_buf_printf(o, "  %10lld  %s\n", (long long)c[i].n, shown);
	}
	if (n > top)
		ck_buf_printf(o, "  (%zu more; --all shows them)\n", n - top);
}

int
ck_cmd_stats(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"all", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_store *st = NULL;
	struct ck_stats *s = NULL;
	struct ck_err err = {0};
	struct ck_buf o = CK_BUF_INIT;
	bool json = false;
	size_t top = 10;
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'a': top = (size_t)-1; break;
		case 'h':
			printf("usage: certkeep stats [--json] [--all]\n\n"
			       "Counts by expiry (expired, under 7, 30 and 90 "
			       "days, later),\nby issuer, by key type and size "
			       "and by signature algorithm.\n"
			       "  --all   every issuer, not the top 10\n"
			       "  --json  one JSON object\n");
			return CK_EXIT_OK;
		default: return CK_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "certkeep: stats takes no arguments\n");
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	if ((r = ck_store_stats(st, ck_now(), &s, &err)) != 0) {
		rc = cli_fail(r, &err, "stats");
		goto out;
	}
	if (json) {
		bool f = true, g = true;
		ck_buf_addc(&o, '{');
		ck_json_kv_int(&o, &f, "total", s->total);
		ck_json_sep(&o, &f);
		ck_json_key(&o, "expiry");
		ck_buf_addc(&o, '{');
		ck_json_kv_int(&o, &g, "expired", s->expired);
		ck_json_kv_int(&o, &g, "lt_7d", s->lt7d);
		ck_json_kv_int(&o, &g, "lt_30d", s->lt30d);
		ck_json_kv_int(&o, &g, "lt_90d", s->lt90d);
		ck_json_kv_int(&o, &g, "later", s->later);
		ck_buf_addc(&o, '}');
		json_counts(&o, &f, "by_issuer", s->by_issuer, s->n_issuer);
		json_counts(&o, &f, "by_key", s->by_key, s->n_key);
		json_counts(
		    &o, &f, "by_signature_algorithm", s->by_sig, s->n_sig);
		ck_buf_adds(&o, "}\n");
	} else {
		ck_buf_printf(&o, "Certificates: %lld\n", (long long)s->total);
		ck_buf_printf(&o,
		    "\nBy expiry:\n"
		    "  %10lld  expired\n  %10lld  within 7 days\n"
		    "  %10lld  within 30 days\n  %10lld  within 90 days\n"
		    "  %10lld  later\n",
		    (long long)s->expired, (long long)s->lt7d,
		    (long long)s->lt30d, (long long)s->lt90d,
		    (long long)s->later);
		text_counts(&o, "By issuer", s->by_issuer, s->n_issuer, top);
		text_counts(&o, "By key", s->by_key, s->n_key, (size_t)-1);
		text_counts(&o, "By signature algorithm", s->by_sig, s->n_sig,
		    (size_t)-1);
	}
	cli_flush(&o);
out:
	ck_buf_release(&o);
	ck_stats_free(s);
	ck_store_free(st);
	return rc;
}
