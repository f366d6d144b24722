/*
 * The command line: git-style subcommands, one file per command. Shared
 * here: the global options, exit codes and output helpers.
 */
#ifndef CK_CLI_H
#define CK_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"

/* Exit codes, documented in `certkeep --help` and docs/cli.md. */
#define CK_EXIT_MAP(X)                                                     \
	X(OK, 0, "success")                                                \
	X(PARTIAL, 1, "done, but some inputs were skipped (see messages)") \
	X(USAGE, 2, "bad command line")                                    \
	X(NOTFOUND, 3, "what was asked for does not exist")                \
	X(STORE, 4,                                                        \
	    "the inventory cannot be opened or written (full disk, "       \
	    "locked, corrupt)")                                            \
	X(FAIL, 5, "any other failure")

enum ck_exit {
#define CK_EXIT_ENUM(name, val, str) CK_EXIT_##name = val,
	CK_EXIT_MAP(CK_EXIT_ENUM)
#undef CK_EXIT_ENUM
};

struct ck_config;
struct ck_notify_config;
struct ck_renew_alert;

struct ck_cli {
	const char *db_url;
	bool db_given; /* by --db or $CERTKEEP_DB, not the default */
	const char *prog; /* "certkeep" */
	const struct ck_config *config; /* --config's, or NULL */
};

/*
 * Alerts raised by commands that renew or deploy without the daemon go
 * to the config's [notify.NAME] channels (or are queued for the daemon
 * to retry): cli_alerts_open() makes the context (NULL channels when
 * there is no config; a bad [notify] section is reported and ignored),
 * cli_alert() is the callback for ck_renewer and ck_deploy_opts.
 */
struct cli_alerts {
	struct ck_store *st;
	struct ck_notify_config *nc;
};
void cli_alerts_open(
    struct ck_cli *cli, struct ck_store *st, struct cli_alerts *out);
void cli_alerts_close(struct cli_alerts *a);
void cli_alert(void *ctx, const struct ck_renew_alert *a);

int ck_cli_main(int argc, char **argv);

/* Commands: argv[0] is the command name. */
int ck_cmd_import(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_list(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_agent(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_show(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_stats(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_audit(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_ca(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_issue(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_revoke(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_ocsp(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_serve(struct ck_cli *cli, int argc, char **argv);
/* `certkeep scan net` (argv[0] "net"), dispatched by `certkeep scan`. */
int cli_scan_net(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_token(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_issuer(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_manage(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_notify(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_scan(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_deploy(struct ck_cli *cli, int argc, char **argv);
int ck_cmd_acme(struct ck_cli *cli, int argc, char **argv);
/* `certkeep manage target` and `manage deploy` (argv[0] "target",
 * "deploy"), dispatched by `certkeep manage`. */
int cli_manage_target(struct ck_cli *cli, int argc, char **argv);
int cli_manage_deploy(struct ck_cli *cli, int argc, char **argv);
/* certkeep manage assign (cmd_agent.c). */
int cli_manage_assign(struct ck_cli *cli, int argc, char **argv);
/* `certkeep scan files` and `certkeep scan ssh` (argv[0] "files", "ssh"). */
int cli_scan_files(struct ck_cli *cli, int argc, char **argv);
int cli_scan_ssh(struct ck_cli *cli, int argc, char **argv);

/* Opens the store named by --db, printing the reason on failure. */
int cli_open_store(struct ck_cli *cli, struct ck_store **st);
/* Prints "certkeep: <what>: <reason>" to stderr; returns the exit code
 * that fits code. */
int cli_fail(int code, const struct ck_err *err, const char *what);
/* Exit code for a CK_E_* code. */
int cli_exit_for(int code);
/*
 * Writes n bytes to path with mode (new files), fsynced; with excl an
 * existing file is an error. Returns 0 or a negative errno.
 */
int cli_write_file(
    const char *path, const void *p, size_t n, unsigned mode, bool excl);
/*
 * Reads path (PEM or DER, at most 1 MiB) and puts the DER of its first item
 * of kind (a certificate, a request) into der. CK_E_INVAL, with the reason,
 * when the file holds none.
 */
int cli_read_first(
    const char *path, int kind, struct ck_buf *der, struct ck_err *err);
/* Writes b to stdout and empties it (for streaming large output). */
void cli_flush(struct ck_buf *b);
/* True when colour should be used on stdout. */
bool cli_color(void);
/* "rsa 2048", "ec P-256", "ed25519". */
void cli_key_desc(
    const char *type, int bits, const char *curve, char *out, size_t cap);
/* The CN of an RFC 4514 name, or the whole name when there is none. */
void cli_dn_short(const char *dn, char *out, size_t cap);
/* "cli:<user>": who an audit event from the command line is by. */
const char *cli_actor(void);
/* Days from now to t, rounded toward minus infinity. */
int64_t cli_days_left(int64_t t, int64_t now);

#endif
