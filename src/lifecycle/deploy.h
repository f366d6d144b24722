/*
 * Deployment: a managed certificate installed where it is used, one
 * target at a time. Three kinds of target, one file each:
 *   file     deploy_file.c     certificate, chain, full chain and key
 *                              written atomically, all or nothing, with
 *                              owner, group and mode; old files kept as
 *                              <path>.ck-prev
 *   pkcs12   deploy_pkcs12.c   one PKCS#12 bundle (modern, or legacy for
 *                              old Java and Windows), password from a file
 *   command  deploy_command.c  a user's script gets the key and
 *                              certificates on stdin and in its
 *                              environment (load balancers, appliances,
 *                              cloud key stores)
 * then a reload command, then (deploy_verify.c) a TLS connection to the
 * endpoint the target names, which must serve the new certificate. A
 * failed reload or verify restores the previous files, reloads again and
 * alerts. The engine (deploy.c) records every attempt in the target's row
 * and the audit log. The renewer queues a "deploy" job after each
 * issuance of a managed certificate with targets and runs those jobs
 * (renew.c), so the daemon and `manage run` both deploy.
 */
#ifndef CK_LIFECYCLE_DEPLOY_H
#define CK_LIFECYCLE_DEPLOY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "lifecycle/managed.h"
#include "store/store.h"

/* The bound on a reload's or command's output kept in the target row. */
#define CK_DEPLOY_OUTPUT_MAX 4096

/*
 * A target's settings (its row's config, as JSON). Filled by the caller
 * for ck_target_add, the strings are borrowed; from ck_target_conf_parse
 * they are owned and freed by ck_target_conf_release.
 */
struct ck_target_conf {
	char *kind; /* file, pkcs12, command */
	char *cert, *chain, *fullchain, *key; /* file: paths, NULL: none */
	char *p12, *password_file; /* pkcs12 */
	bool legacy; /* pkcs12: 3DES and SHA-1 for old readers */
	char *command; /* command */
	/* command: run when a deployment must be taken back (the reload
	 * failed, or the endpoint serves another certificate): certkeep does
	 * not hold what the script replaced, the script does. NULL: none */
	char *rollback;
	char *owner, *group; /* NULL: the deploying user's */
	int mode; /* -1: 0644 for certificates, 0600 for keys and bundles */
	char *reload; /* NULL: none */
	int64_t timeout; /* reload or command, seconds; 0: 60 */
	char *verify; /* "host:port", NULL: no check */
	char *sni; /* NULL: the managed certificate's first name */
	int64_t verify_timeout; /* seconds; 0: 10 */
};

/* Frees what ck_target_conf_parse filled. */
void ck_target_conf_release(struct ck_target_conf *c);
/* kind and config (a row's JSON) into c (owned). CK_E_PARSE. */
int ck_target_conf_parse(const char *kind, const char *config,
    struct ck_target_conf *c, struct ck_err *err);
/* c as the JSON stored in the row (appended to out). */
void ck_target_conf_json(const struct ck_target_conf *c, struct ck_buf *out);
/* "where" of a target for listings: its paths, bundle or command. */
void ck_target_conf_where(const struct ck_target_conf *c, struct ck_buf *out);

/*
 * Adds a target to managed certificate name, with an audit event, after
 * checking c (a kind it knows and what that kind needs: absolute paths,
 * an owner and group that exist, a mode in 0-0777, host:port). *id gets
 * the target's id. CK_E_INVAL with the reason; CK_E_NOTFOUND.
 */
int ck_target_add(struct ck_store *st, const char *name,
    const struct ck_target_conf *c, const char *actor, int64_t *id,
    struct ck_err *err);
/* Removes target id of name with an audit event. CK_E_NOTFOUND. */
int ck_target_remove(struct ck_store *st, const char *name, int64_t id,
    const char *actor, struct ck_err *err);

struct ck_deploy_stats {
	int64_t targets; /* of the managed certificate */
	int64_t current; /* already held the current certificate */
	int64_t deployed; /* deployed now */
	int64_t failed; /* failed, the previous state left in place */
	int64_t rolled_back; /* reload or verify failed: restored */
};

struct ck_deploy_opts {
	bool force; /* also targets that hold the current certificate */
	int64_t only_target; /* 0: every target */
	const char *actor; /* for the audit log; NULL: "deployer" */
	/* Called after the commit that recorded a failure whose alert state
	 * ("deploy_failed:<name>:<target id>") changed; may be NULL. */
	void (*alert)(void *ctx, const struct ck_renew_alert *a);
	void *alert_ctx;
};

/*
 * Deploys the current certificate of managed certificate name to each of
 * its targets that does not hold it yet (all with o->force), using the
 * master key mk (CK_MASTER_KEY_LEN bytes) to unseal its key. Blocks:
 * file writes with fsync, reload commands and verification connections,
 * each bounded by its timeout. Every attempt is recorded in the target's
 * row and the audit log; failures are counted in stats, not returned.
 * Returns 0, or CK_E_NOTFOUND (no such managed certificate, or none
 * issued yet), CK_E_CRYPTO (its key does not unseal) or a store error.
 * The caller keeps other deployers of name away (the job queue's lease).
 */
int ck_deploy_managed(struct ck_store *st, const uint8_t *mk, const char *name,
    int64_t now, const struct ck_deploy_opts *o, struct ck_deploy_stats *stats,
    struct ck_err *err);

/* One target deployed by the agent on its own host (no store: the
 * agent reports the result). Borrowed for the call. */
struct ck_deploy_local {
	const char *name; /* the managed certificate */
	int64_t target_id;
	const char *kind, *config; /* the target's row, as the server has it */
	const char *leaf_pem, *chain_pem; /* NUL-terminated */
	const char *key_pem; /* a secret */
	size_t key_len;
	const char *first_name; /* SNI when the target names none */
};

struct ck_deploy_result {
	char state[16]; /* deployed, failed, rolled_back */
	char sha256[65]; /* of the leaf deployed */
	char result[1024];
	struct ck_buf output; /* reload or command output (caller releases) */
};

/*
 * Deploys d exactly as ck_deploy_managed deploys one target (the same
 * all-or-nothing file set, reload, verify and rollback), without a
 * store. Returns 0 with the outcome in res (which may be a failure), or
 * CK_E_PARSE/INVAL for material or a config that does not parse.
 * Blocks.
 */
int ck_deploy_local(const struct ck_deploy_local *d,
    struct ck_deploy_result *res, struct ck_err *err);

#endif
