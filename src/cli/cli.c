/*
 * certkeep's entry: global options (--db, --help, --version), dispatch to
 * the command files, and the output helpers they share.
 */
#include "cli/cli.h"
#include "lifecycle/alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/file.h"
#include "base/log.h"
#include "ca/ca.h"
#include "x509/x509.h"

#ifndef CK_VERSION
#define CK_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*fn)(struct ck_cli *, int, char **);
	const char *summary;
} commands[] = {
    {"import", ck_cmd_import,
        "import certificates from files, folders or stdin"},
    {"list", ck_cmd_list, "list certificates, filtered (table, JSON, CSV)"},
    {"show", ck_cmd_show, "show one certificate, its chain and locations"},
    {"stats", ck_cmd_stats, "inventory figures: expiry, issuers, keys"},
    {"audit", ck_cmd_audit, "read and verify the audit log"},
    {"ca", ck_cmd_ca, "make and inspect the built-in CAs"},
    {"issue", ck_cmd_issue, "issue a certificate from a built-in CA"},
    {"revoke", ck_cmd_revoke, "revoke a certificate a built-in CA issued"},
    {"ocsp", ck_cmd_ocsp, "answer an OCSP request for the built-in CAs"},
    {"serve", ck_cmd_serve, "run the daemon: REST API, OCSP, CRL, metrics"},
    {"token", ck_cmd_token, "make, list and revoke API bearer tokens"},
    {"notify", ck_cmd_notify, "list and test notification channels"},
    {"issuer", ck_cmd_issuer, "issuer connectors: built-in CA or ACME"},
    {"manage", ck_cmd_manage,
        "managed certificates: renewed before they expire"},
    {"deploy", ck_cmd_deploy,
        "deployment targets: what each holds, drift (deploy status)"},
    {"agent", ck_cmd_agent,
        "the agent for hosts the server cannot write to, and its tokens"},
    {"acme", ck_cmd_acme, "ACME server: External Account Binding keys"},
    {"scan", ck_cmd_scan,
        "find certificates and keys: scan files, scan ssh (scan net soon)"},
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep [--db URL] COMMAND [ARGS]\n"
	    "\n"
	    "Certificate lifecycle management: one inventory of every "
	    "certificate.\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(
		    f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
	    "\n"
	    "Global options:\n"
	    "  --db URL     inventory database (default "
	    "sqlite:./var/certkeep.db,\n"
	    "               or $CERTKEEP_DB, or the config file's)\n"
	    "  --config F   certkeep.conf (or $CERTKEEP_CONFIG): database, "
	    "master key,\n"
	    "               public URL and user-defined profiles\n"
	    "  -h, --help   this help; `certkeep COMMAND --help` for a "
	    "command\n"
	    "  --version    print the version\n"
	    "\n"
	    "Exit codes:\n");
#define CK_EXIT_HELP(name, val, str) fprintf(f, "  %d  %s\n", val, str);
	CK_EXIT_MAP(CK_EXIT_HELP)
#undef CK_EXIT_HELP
}

/*
 * The config file (--config or $CERTKEEP_CONFIG), when there is one, for
 * the commands other than serve (which reads its own): its database when
 * --db and $CERTKEEP_DB are not given, its master key and public URL as
 * defaults, and its user-defined profiles.
 */
static int
cli_config(struct ck_cli *cli, const char *path, bool db_given)
{
	static struct ck_config cfg;
	struct ck_err err = {0};
	int r;

	if (path == NULL)
		path = getenv("CERTKEEP_CONFIG");
	if (path == NULL || *path == '\0')
		return 0;
	if ((r = ck_config_load(path, &cfg, &err)) != 0 ||
	    (r = ck_profiles_configure(&cfg, &err)) != 0) {
		fprintf(stderr, "certkeep: %s\n", err.msg);
		return CK_EXIT_USAGE;
	}
	cli->config = &cfg;
	if (!db_given)
		cli->db_url = ck_config_str(&cfg, CK_CFG_DATABASE);
	setenv("CERTKEEP_MASTER_KEY_FILE",
	    ck_config_str(&cfg, CK_CFG_MASTER_KEY), 0);
	setenv(
	    "CERTKEEP_PUBLIC_URL", ck_config_str(&cfg, CK_CFG_PUBLIC_URL), 0);
	return 0; /* cfg lives until exit: db_url points into it */
}

int
ck_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_cli cli = {0};
	const char *config = NULL;
	bool db_given = false;
	int c;

	cli.prog = "certkeep";
	cli.db_url = getenv("CERTKEEP_DB");
	db_given = cli.db_url != NULL && *cli.db_url != '\0';
	if (!db_given)
		cli.db_url = "sqlite:./var/certkeep.db";
	{
		const char *lvl = getenv("CERTKEEP_LOG_LEVEL");
		enum ck_log_level l;
		if (lvl != NULL && ck_log_level_parse(lvl, &l) == 0)
			ck_log_set_level(l);
	}
	/* '+': stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			cli.db_url = optarg;
			db_given = true;
			break;
		case 'c':
			config = optarg;
			/* serve reads its config from here too */
			setenv("CERTKEEP_CONFIG", optarg, 1);
			break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		case 'V':
			printf("certkeep %s\n", CK_VERSION);
			return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;
			int r;

			ck_x509_init();
			cli.db_given = db_given;
			if (strcmp(commands[i].name, "serve") != 0 &&
			    (r = cli_config(&cli, config, db_given)) != 0)
				return r;
			optind = 0; /* glibc: full re-initialisation */
			return commands[i].fn(&cli, sub_argc, sub_argv);
		}
	}
	fprintf(stderr,
	    "certkeep: '%s' is not a command; see certkeep --help\n",
	    argv[optind]);
	return CK_EXIT_USAGE;
}

int
cli_exit_for(int code)
{
	switch (code) {
	case 0: return CK_EXIT_OK;
	case CK_E_INVAL: return CK_EXIT_USAGE;
	case CK_E_NOTFOUND: return CK_EXIT_NOTFOUND;
	case CK_E_DB:
	case CK_E_FULL:
	case CK_E_UNAVAILABLE: return CK_EXIT_STORE;
	default: return CK_EXIT_FAIL;
	}
}

int
cli_fail(int code, const struct ck_err *err, const char *what)
{
	if (what != NULL)
		fprintf(
		    stderr, "certkeep: %s: %s\n", what, ck_err_msg(err, code));
	else
		fprintf(stderr, "certkeep: %s\n", ck_err_msg(err, code));
	return cli_exit_for(code);
}

int
cli_open_store(struct ck_cli *cli, struct ck_store **st)
{
	struct ck_err err = {0};
	int r = ck_store_open(cli->db_url, st, &err);

	if (r != 0) {
		fprintf(stderr, "certkeep: cannot open inventory %s: %s\n",
		    cli->db_url, ck_err_msg(&err, r));
		return r == CK_E_INVAL ? CK_EXIT_USAGE : CK_EXIT_STORE;
	}
	return 0;
}

int
cli_write_file(
    const char *path, const void *p, size_t n, unsigned mode, bool excl)
{
	int fd = open(path,
	    O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC),
	    (mode_t)mode);

	if (fd < 0)
		return -errno;
	if (write(fd, p, n) != (ssize_t)n || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return close(fd) == 0 ? 0 : -errno;
}

struct first {
	int kind;
	struct ck_buf *der;
	bool found;
};

static int
on_first(void *ctx, const struct ck_item *it)
{
	struct first *f = ctx;

	if ((int)it->kind == f->kind && !f->found) {
		ck_buf_add(f->der, it->der, it->der_len);
		f->found = true;
	}
	return 0;
}

int
cli_read_first(
    const char *path, int kind, struct ck_buf *der, struct ck_err *err)
{
	struct ck_buf file = CK_BUF_INIT;
	struct first f = {kind, der, false};
	int r;

	ck_buf_reset(der);
	if ((r = ck_file_read(path, 1 << 20, &file, err)) != 0 ||
	    (r = ck_x509_ingest((const uint8_t *)file.p, file.len, NULL,
	         on_first, &f, err)) != 0)
		ck_err_wrap(err, r, "%s", path);
	else if (!f.found)
		r = ck_err_set(err, CK_E_INVAL, "%s: no %s in it", path,
		    ck_item_kind_name((enum ck_item_kind)kind));
	ck_buf_release(&file);
	return r;
}

void
cli_flush(struct ck_buf *b)
{
	if (b->len > 0)
		fwrite(b->p, 1, b->len, stdout);
	ck_buf_reset(b);
}

bool
cli_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0');
}

void
cli_key_desc(
    const char *type, int bits, const char *curve, char *out, size_t cap)
{
	if (curve != NULL && *curve != '\0')
		snprintf(out, cap, "%s %s", type, curve);
	else if (bits > 0 && strncmp(type, "ed", 2) != 0)
		snprintf(out, cap, "%s %d", type, bits);
	else
		snprintf(out, cap, "%s", type);
}

void
cli_dn_short(const char *dn, char *out, size_t cap)
{
	const char *p = dn;
	size_t n = 0;

	/* RFC 4514 puts the most specific RDN first; find CN= at an RDN
	 * start, then copy up to the next unescaped separator. */
	while (p != NULL && *p) {
		if (strncmp(p, "CN=", 3) == 0 &&
		    (p == dn || p[-1] == ',' || p[-1] == '+')) {
			p += 3;
			while (*p && *p != ',' && *p != '+' && n + 1 < cap) {
				if (*p == '\\' && p[1])
					p++;
				out[n++] = *p++;
			}
			out[n] = '\0';
			return;
		}
		p = strpbrk(p, ",+");
		if (p != NULL)
			p++;
	}
	snprintf(out, cap, "%s", dn);
}

const char *
cli_actor(void)
{
	static char actor[96];
	struct passwd *pw;

	if (actor[0] == '\0') {
		pw = getpwuid(geteuid());
		snprintf(actor, sizeof(actor), "cli:%s",
		    pw != NULL ? pw->pw_name : "unknown");
	}
	return actor;
}

int64_t
cli_days_left(int64_t t, int64_t now)
{
	return ck_days_left(t, now);
}

void
cli_alerts_open(struct ck_cli *cli, struct ck_store *st, struct cli_alerts *out)
{
	struct ck_err err = {0};

	out->st = st;
	out->nc = NULL;
	if (cli->config != NULL &&
	    ck_notify_configure(cli->config, &out->nc, &err) != 0) {
		fprintf(stderr, "certkeep: notifications off: %s\n", err.msg);
		out->nc = NULL;
	}
}

void
cli_alerts_close(struct cli_alerts *a)
{
	ck_notify_config_free(a->nc);
	a->nc = NULL;
}

void
cli_alert(void *ctx, const struct ck_renew_alert *a)
{
	struct cli_alerts *ca = ctx;

	ck_renew_alert_deliver(ca->st, ca->nc, a);
}
