/*
 * certkeep token: API bearer tokens (create, list, revoke). A token is
 * printed once, when it is made; the inventory keeps only its SHA-256, so
 * a lost token is revoked and replaced, never shown again.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/mem.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep token create --role ROLE --name NAME "
	    "[--expires WHEN]\n"
	    "                             [--pattern P] [--json]\n"
	    "       certkeep token list [--all] [--json]\n"
	    "       certkeep token revoke ID|NAME\n"
	    "\n"
	    "Bearer tokens for the REST API. create prints the token once "
	    "(stdout);\n"
	    "certkeep keeps only its SHA-256.\n"
	    "\n"
	    "  --role ROLE     auditor (reads), enroller (requests "
	    "certificates for\n"
	    "                  --pattern names only), operator (also "
	    "revokes, imports,\n"
	    "                  scans), admin (also CAs and tokens)\n"
	    "  --name NAME     unique among tokens not revoked; letters, "
	    "digits, . _ - @\n"
	    "  --expires WHEN  a duration from now (90d, 12h, 2w) or a date "
	    "(2027-01-31,\n"
	    "                  2027-01-31T12:00:00Z); default: never\n"
	    "  --pattern P     enroller only: names it may request, "
	    "comma-separated,\n"
	    "                  each exact or *.suffix (any depth below "
	    "suffix)\n"
	    "  --all           list also revoked and expired tokens\n");
}

/* A duration from now, or an RFC 3339 date or time (which has '-'). */
static int
parse_expiry(const char *s, int64_t now, int64_t *out)
{
	int64_t d;

	if (strchr(s, '-') != NULL)
		return ck_time_parse(s, out);
	if (ck_duration_parse(s, &d) != 0 || d == 0)
		return CK_E_INVAL;
	*out = now + d;
	return 0;
}

static void
kv_time_or_null(struct ck_buf *b, bool *first, const char *key, int64_t t)
{
	if (t != 0) {
		ck_json_kv_time(b, first, key, t);
		return;
	}
	ck_json_sep(b, first);
	ck_json_key(b, key);
	ck_buf_adds(b, "null");
}

static const char *
state_of(int64_t revoked_at, int64_t expires_at, int64_t now)
{
	if (revoked_at != 0)
		return "revoked";
	if (expires_at != 0 && now >= expires_at)
		return "expired";
	return "active";
}

static int
token_create(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"name", required_argument, NULL, 'n'},
	    {"expires", required_argument, NULL, 'e'},
	    {"pattern", required_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_token_spec spec = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct ck_buf out = CK_BUF_INIT;
	char token[CK_TOKEN_LEN + 1], exp[CK_TIME_STR_MAX];
	int64_t id, now = ck_now();
	bool json = false, have_role = false;
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (ck_role_parse(optarg, &spec.role) != 0) {
				fprintf(stderr,
				    "certkeep: unknown role '%s' (admin, "
				    "operator, enroller, auditor)\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			have_role = true;
			break;
		case 'n': spec.name = optarg; break;
		case 'e':
			if (parse_expiry(optarg, now, &spec.expires_at) != 0) {
				fprintf(stderr,
				    "certkeep: bad --expires '%s' (90d, 12h, "
				    "2w, 2027-01-31, "
				    "2027-01-31T12:00:00Z)\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'p': spec.pattern = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind != argc || !have_role || spec.name == NULL) {
		fprintf(stderr,
		    "certkeep: token create needs --role and "
		    "--name (and nothing else)\n");
		return CK_EXIT_USAGE;
	}
	/* Input errors before the store is opened (or made). */
	if ((r = ck_token_spec_check(&spec, now, &err)) != 0)
		return cli_fail(r, &err, "token create");
	spec.actor = cli_actor();
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	if ((r = ck_token_create(st, &spec, token, &id, &err)) != 0) {
		rc = cli_fail(r, &err, "token create");
		goto out;
	}
	if (json) {
		bool f = true;
		ck_buf_addc(&out, '{');
		ck_json_kv_int(&out, &f, "id", id);
		ck_json_kv_str(&out, &f, "name", spec.name);
		ck_json_kv_str(&out, &f, "role", ck_role_name(spec.role));
		ck_json_kv_str(&out, &f, "pattern", spec.pattern);
		ck_json_kv_time(&out, &f, "created_at", now);
		kv_time_or_null(&out, &f, "expires_at", spec.expires_at);
		ck_json_kv_str(&out, &f, "token", token);
		ck_buf_adds(&out, "}\n");
	} else {
		ck_buf_printf(&out, "%s\n", token);
		if (spec.expires_at != 0)
			ck_time_format(spec.expires_at, exp);
		else
			snprintf(exp, sizeof(exp), "never");
		/* The notes go to stderr so that TOKEN=$(certkeep token
		 * create ...) captures the token alone. */
		fprintf(stderr,
		    "made token %lld '%s' (role %s%s%s, expires %s); it is "
		    "shown only this once\n",
		    (long long)id, spec.name, ck_role_name(spec.role),
		    spec.pattern ? ", pattern " : "",
		    spec.pattern ? spec.pattern : "", exp);
	}
	fwrite(out.p, 1, out.len, stdout);
	fflush(stdout);
	rc = CK_EXIT_OK;
out:
	ck_cleanse(token, sizeof(token));
	ck_buf_release_secret(&out);
	ck_store_free(st);
	return rc;
}

struct list {
	bool json, first;
	int64_t now, rows;
	struct ck_buf out;
};

static int
on_token(void *ctx, const struct ck_token_row *t)
{
	struct list *l = ctx;
	const char *state = state_of(t->revoked_at, t->expires_at, l->now);
	char made[CK_TIME_STR_MAX], exp[CK_TIME_STR_MAX], used[CK_TIME_STR_MAX];

	l->rows++;
	if (l->json) {
		bool f = true;
		ck_json_sep(&l->out, &l->first);
		ck_buf_adds(&l->out, "\n{");
		ck_json_kv_int(&l->out, &f, "id", t->id);
		ck_json_kv_str(&l->out, &f, "name", t->name);
		ck_json_kv_str(&l->out, &f, "role", t->role);
		ck_json_kv_str(&l->out, &f, "pattern", t->pattern);
		ck_json_kv_str(&l->out, &f, "state", state);
		ck_json_kv_time(&l->out, &f, "created_at", t->created_at);
		kv_time_or_null(&l->out, &f, "expires_at", t->expires_at);
		kv_time_or_null(&l->out, &f, "revoked_at", t->revoked_at);
		kv_time_or_null(&l->out, &f, "last_used_at", t->last_used_at);
		ck_buf_addc(&l->out, '}');
		return 0;
	}
	ck_time_format(t->created_at, made);
	if (t->expires_at != 0)
		ck_time_format(t->expires_at, exp);
	else
		snprintf(exp, sizeof(exp), "never");
	if (t->last_used_at != 0)
		ck_time_format(t->last_used_at, used);
	else
		snprintf(used, sizeof(used), "never");
	ck_buf_printf(&l->out,
	    "%-5lld %-20s %-8s %-8s %-10.10s %-10.10s %-10.10s %s\n",
	    (long long)t->id, t->name, t->role, state, made, exp, used,
	    t->pattern ? t->pattern : "-");
	return 0;
}

static int
token_list(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct list l = {0};
	bool all = false;
	int c, r, rc = CK_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'j': l.json = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "certkeep: token list takes no arguments\n");
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	l.now = ck_now();
	l.first = true;
	if (l.json)
		ck_buf_addc(&l.out, '[');
	else
		ck_buf_printf(&l.out,
		    "%-5s %-20s %-8s %-8s %-10s %-10s %-10s %s\n", "ID", "NAME",
		    "ROLE", "STATE", "CREATED", "EXPIRES", "LAST-USED",
		    "PATTERN");
	if ((r = ck_store_token_list(st, all, l.now, on_token, &l, &err)) !=
	    0) {
		rc = cli_fail(r, &err, "token list");
		goto out;
	}
	if (l.json)
		ck_buf_adds(&l.out, l.first ? "]\n" : "\n]\n");
	else if (l.rows == 0)
		ck_buf_adds(&l.out,
		    all ? "(no tokens)\n"
		        : "(no active tokens; --all shows "
		          "revoked and expired ones)\n");
	cli_flush(&l.out);
out:
	ck_buf_release(&l.out);
	ck_store_free(st);
	return rc;
}

struct when {
	int64_t revoked_at;
	char name[CK_TOKEN_NAME_MAX + 1];
};

static int
on_when(void *ctx, const struct ck_token_row *t)
{
	struct when *w = ctx;

	w->revoked_at = t->revoked_at;
	snprintf(w->name, sizeof(w->name), "%s", t->name);
	return 0;
}

static int
token_revoke(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct when w = {0};
	char t[CK_TIME_STR_MAX];
	int64_t id;
	bool already;
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	if ((r = ck_token_revoke(
	         st, argv[optind], cli_actor(), &id, &already, &err)) != 0 ||
	    (r = ck_store_token_get(st, id, on_when, &w, &err)) != 0) {
		rc = cli_fail(r, &err, "token revoke");
		goto out;
	}
	ck_time_format(w.revoked_at, t);
	if (already)
		printf("token %lld '%s' was already revoked on %s; nothing "
		       "changed\n",
		    (long long)id, w.name, t);
	else
		printf("revoked token %lld '%s'\n", (long long)id, w.name);
	rc = CK_EXIT_OK;
out:
	ck_store_free(st);
	return rc;
}

int
ck_cmd_token(struct ck_cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CK_EXIT_USAGE : CK_EXIT_OK;
	}
	if (strcmp(argv[1], "create") == 0)
		return token_create(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return token_list(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return token_revoke(cli, argc - 1, argv + 1);
	fprintf(stderr,
	    "certkeep: 'token %s' is not a command; see certkeep token "
	    "--help\n",
	    argv[1]);
	return CK_EXIT_USAGE;
}
