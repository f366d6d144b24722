/*
 * certkeep issuer: the CAs managed certificates come from, by name. A
 * "local" issuer is a built-in CA; an "acme" issuer is any ACME CA (Let's
 * Encrypt, ZeroSSL, a step-ca, pebble...), with its account kept sealed.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "issuer/acme.h"
#include "lifecycle/managed.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep issuer add NAME --type local --ca CA "
	    "[--profile P]\n"
	    "       certkeep issuer add NAME --type acme --directory URL "
	    "[--email E]\n"
	    "                [--eab-kid K --eab-hmac-file F] [--trust "
	    "PEMFILE]\n"
	    "                [--challenge http-01|dns-01|tls-alpn-01] "
	    "[--http01-listen A]\n"
	    "                [--webroot DIR] [--dns-hook CMD] [--dns-wait "
	    "S]\n"
	    "                [--tls-alpn-listen A] [--preferred-chain CN]\n"
	    "       certkeep issuer add NAME --type command --command CMD "
	    "[--timeout S]\n"
	    "       certkeep issuer list [--json]\n"
	    "       certkeep issuer show NAME [--json]\n"
	    "       certkeep issuer remove NAME\n"
	    "       certkeep issuer rollover NAME\n"
	    "\n"
	    "Issuer connectors: where managed certificates come from.\n"
	    "\n"
	    "  --type T            local (a built-in CA) or acme (RFC 8555)\n"
	    "  --ca CA             local: the built-in CA that signs\n"
	    "  --profile P         local: the profile (default tls-server)\n"
	    "  --directory URL     acme: the directory URL (https)\n"
	    "  --email E           acme: account contact\n"
	    "  --eab-kid K         acme: External Account Binding key id\n"
	    "  --eab-hmac-file F   acme: file holding the EAB HMAC key "
	    "(base64url)\n"
	    "  --trust PEMFILE     acme: roots to trust for the directory's "
	    "TLS\n"
	    "                      (default: the system store)\n"
	    "  --challenge C       acme: http-01 (default), dns-01, "
	    "tls-alpn-01\n"
	    "  --http01-listen A   acme: standalone http-01 responder "
	    "address\n"
	    "                      (default 0.0.0.0:80)\n"
	    "  --webroot DIR       acme: write http-01 tokens under DIR "
	    "instead\n"
	    "  --dns-hook CMD      acme: dns-01 hook, run as CMD add|remove "
	    "NAME VALUE\n"
	    "  --dns-wait S        acme: seconds to wait after adding TXT "
	    "records\n"
	    "  --tls-alpn-listen A acme: tls-alpn-01 responder address "
	    "(default\n"
	    "                      0.0.0.0:443)\n"
	    "  --preferred-chain CN acme: prefer the alternate chain whose "
	    "root is CN\n"
	    "  --command CMD       command: run by /bin/sh -c with the CSR "
	    "on stdin;\n"
	    "                      prints the certificate and chain (PEM); "
	    "exit 75 =\n"
	    "                      try later (see certkeep-issuer(1))\n"
	    "  --timeout S         command: seconds before it is killed "
	    "(default 300)\n"
	    "  --json              JSON output\n");
}

/* Reads a small file (a key, PEM roots) into a string; NULL on error. */
static char *
slurp(const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	char *p;
	size_t n;

	if (f == NULL)
		return NULL;
	p = ck_malloc(max + 1);
	n = fread(p, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

/* base64url (or standard base64) text to bytes. */
static bool
b64url_decode(const char *s, struct ck_buf *out)
{
	struct ck_buf t = CK_BUF_INIT;
	bool ok;

	for (; *s; s++) {
		char c = *s == '-' ? '+' : *s == '_' ? '/' : *s;
		if (c == '\n' || c == '\r' || c == ' ' || c == '=')
			continue;
		ck_buf_addc(&t, c);
	}
	while (t.len % 4 != 0)
		ck_buf_addc(&t, '=');
	ok = t.len > 0 && ck_base64_decode(t.p, t.len, out);
	ck_buf_release_secret(&t);
	return ok;
}

static int
cmd_add(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"type", 1, NULL, 't'},
	    {"ca", 1, NULL, 'a'}, {"profile", 1, NULL, 'p'},
	    {"directory", 1, NULL, 'd'}, {"email", 1, NULL, 'e'},
	    {"eab-kid", 1, NULL, 'k'}, {"eab-hmac-file", 1, NULL, 'K'},
	    {"trust", 1, NULL, 'T'}, {"challenge", 1, NULL, 'c'},
	    {"http01-listen", 1, NULL, 'H'}, {"webroot", 1, NULL, 'w'},
	    {"dns-hook", 1, NULL, 'D'}, {"dns-wait", 1, NULL, 'W'},
	    {"tls-alpn-listen", 1, NULL, 'L'},
	    {"preferred-chain", 1, NULL, 'P'}, {"command", 1, NULL, 'x'},
	    {"timeout", 1, NULL, 'o'}, {"help", 0, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct ck_issuer_def d = {0};
	const char *hmac_file = NULL, *trust_file = NULL;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int c, r, rc = CK_EXIT_OK;
	char *end;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char **dst = NULL;
		switch (c) {
		case 't': dst = &d.type; break;
		case 'a': dst = &d.ca; break;
		case 'p': dst = &d.profile; break;
		case 'd': dst = &d.directory; break;
		case 'e': dst = &d.email; break;
		case 'k': dst = &d.eab_kid; break;
		case 'K': hmac_file = optarg; break;
		case 'T': trust_file = optarg; break;
		case 'c': dst = &d.challenge; break;
		case 'H': dst = &d.http01_listen; break;
		case 'w': dst = &d.webroot; break;
		case 'D': dst = &d.dns_hook; break;
		case 'W':
			if (ck_duration_parse(optarg, &d.dns_wait) != 0) {
				fprintf(stderr,
				    "certkeep: bad --dns-wait '%s'\n", optarg);
				rc = CK_EXIT_USAGE;
				goto out;
			}
			break;
		case 'L': dst = &d.tlsalpn_listen; break;
		case 'P': dst = &d.preferred_chain; break;
		case 'x': dst = &d.command; break;
		case 'o':
			d.timeout = strtoll(optarg, &end, 10);
			if (*end != '\0' || d.timeout <= 0) {
				fprintf(stderr,
				    "certkeep: bad --timeout '%s'\n", optarg);
				rc = CK_EXIT_USAGE;
				goto out;
			}
			break;
		case 'h': usage(stdout); goto out;
		default:
			usage(stderr);
			rc = CK_EXIT_USAGE;
			goto out;
		}
		if (dst != NULL) {
			free(*dst);
			*dst = ck_strdup(optarg);
		}
	}
	if (optind + 1 != argc || d.type == NULL) {
		usage(stderr);
		rc = CK_EXIT_USAGE;
		goto out;
	}
	d.name = ck_strdup(argv[optind]);
	if (hmac_file != NULL) {
		char *k = slurp(hmac_file, 4096);
		bool ok = k != NULL && b64url_decode(k, &d.eab_hmac);
		if (k != NULL) {
			ck_cleanse(k, strlen(k));
			free(k);
		}
		if (!ok) {
			fprintf(stderr,
			    "certkeep: %s: cannot read a base64url HMAC key\n",
			    hmac_file);
			rc = CK_EXIT_USAGE;
			goto out;
		}
	}
	if (trust_file != NULL &&
	    (d.trust_pem = slurp(trust_file, 1 << 20)) == NULL) {
		fprintf(stderr, "certkeep: cannot read %s\n", trust_file);
		rc = CK_EXIT_USAGE;
		goto out;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		goto out;
	if ((r = ck_issuer_create(st, &d, NULL, "cli", &err)) != 0) {
		rc = cli_fail(r, &err, d.name);
		goto out;
	}
	printf("issuer %s (%s) added\n", d.name, d.type);
out:
	ck_issuer_def_release(&d);
	ck_store_free(st);
	return rc;
}

struct list_ctx {
	bool json, first;
	struct ck_buf out;
};

static int
print_issuer(void *ctx, const struct ck_issuer_row *r)
{
	struct list_ctx *lc = ctx;

	if (lc->json) {
		if (!lc->first)
			ck_buf_addc(&lc->out, ',');
		lc->first = false;
		ck_issuer_row_json(r, &lc->out);
		return 0;
	}
	char when[CK_TIME_STR_MAX] = "-";
	if (r->open_until > ck_now())
		ck_time_format(r->open_until, when);
	ck_buf_printf(&lc->out, "%-20s %-6s %-8d %-22s %s\n", r->name, r->type,
	    r->failures, when, r->config);
	return 0;
}

static int
cmd_list(struct ck_cli *cli, int argc, char **argv, bool show)
{
	static const struct option opts[] = {
	    {"json", 0, NULL, 'j'}, {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct list_ctx lc = {false, true, CK_BUF_INIT};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	const char *name = NULL;
	int c, r, rc;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
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
		name = argv[optind];
		lc.json = true; /* one issuer: its settings are JSON anyway */
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if (lc.json && !show)
		ck_buf_addc(&lc.out, '[');
	else if (!lc.json)
		ck_buf_printf(&lc.out, "%-20s %-6s %-8s %-22s %s\n", "NAME",
		    "TYPE", "FAILURES", "BREAKER OPEN UNTIL", "SETTINGS");
	r = ck_store_issuer_list(st, name, print_issuer, &lc, &err);
	if (r != 0) {
		rc = cli_fail(r, &err, name);
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
cmd_remove(struct ck_cli *cli, int argc, char **argv)
{
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int r, rc;

	if (argc != 2 || argv[1][0] == '-') {
		if (argc == 2 && strcmp(argv[1], "--help") == 0) {
			usage(stdout);
			return CK_EXIT_OK;
		}
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_issuer_remove(st, argv[1], "cli", &err)) != 0)
		rc = cli_fail(r, &err, argv[1]);
	else
		printf("issuer %s removed\n", argv[1]);
	ck_store_free(st);
	return rc;
}

/* ACME key rollover (RFC 8555 7.3.5): a new account key, sealed. */
static int
cmd_rollover(struct ck_cli *cli, int argc, char **argv)
{
	struct ck_issuer_def d = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int r, rc;

	if (argc != 2 || argv[1][0] == '-') {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_issuer_load(st, argv[1], NULL, &d, &err)) != 0) {
		rc = cli_fail(r, &err, argv[1]);
		goto out;
	}
	if (strcmp(d.type, "acme") != 0 || d.account_key_pem.len == 0) {
		fprintf(stderr,
		    "certkeep: %s: only an ACME issuer with an account has a "
		    "key to roll over\n",
		    argv[1]);
		rc = CK_EXIT_USAGE;
		goto out;
	}
	if ((r = ck_acme_key_rollover(&d, &err)) != 0 ||
	    (r = ck_issuer_save_account(st, &d, NULL, &err)) != 0) {
		rc = cli_fail(r, &err, argv[1]);
		goto out;
	}
	printf("issuer %s: account key replaced\n", argv[1]);
out:
	ck_issuer_def_release(&d);
	ck_store_free(st);
	return rc;
}

int
ck_cmd_issuer(struct ck_cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CK_EXIT_USAGE : CK_EXIT_OK;
	}
	if (strcmp(argv[1], "add") == 0)
		return cmd_add(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(cli, argc - 1, argv + 1, false);
	if (strcmp(argv[1], "show") == 0)
		return cmd_list(cli, argc - 1, argv + 1, true);
	if (strcmp(argv[1], "remove") == 0)
		return cmd_remove(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "rollover") == 0)
		return cmd_rollover(cli, argc - 1, argv + 1);
	fprintf(stderr, "certkeep issuer: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return CK_EXIT_USAGE;
}
