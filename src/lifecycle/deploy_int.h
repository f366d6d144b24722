/*
 * Shared by the deployment files (deploy*.c) only: what is deployed, the
 * all-or-nothing file set, the process runner and the endpoint check.
 */
#ifndef CK_LIFECYCLE_DEPLOY_INT_H
#define CK_LIFECYCLE_DEPLOY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lifecycle/deploy.h"

/* What a target gets: the current certificate of one managed certificate.
 * The buffers are owned; key_pem is a secret (released with
 * ck_buf_release_secret by dp_material_release). */
struct dp_material {
	const char *name; /* borrowed */
	int64_t cert_id;
	char sha256[65]; /* hex of the leaf */
	char first_name[256]; /* for SNI: the first SAN, else the CN */
	char owner[128]; /* of the managed certificate, for alerts */
	struct ck_buf leaf_der, leaf_pem, chain_pem, full_pem, key_pem;
};
void dp_material_release(struct dp_material *m);

/* ---- the file set (deploy_file.c) ---- */

/*
 * The files of one target, written all or nothing: each is staged to
 * "<path>.ck-tmp" (fsynced, with its owner and mode), then committed: the
 * old file hard-linked to "<path>.ck-prev" and the new one renamed over
 * it, one after the other; a failure midway puts back what was renamed.
 * restore puts back the previous files after a commit (a failed reload).
 */
struct dp_file {
	char *path, *tmp, *prev;
	bool had_old; /* a previous file exists (and is in prev) */
	bool renamed; /* the new file is in place */
};
struct dp_fileset {
	struct dp_file *f;
	size_t n;
};
/* Stages len bytes for path with mode, owner uid and group gid (-1:
 * unchanged). On failure nothing of it stays; CK_E_IO (or CK_E_PERM)
 * with the path and the cause. */
int dp_fileset_stage(struct dp_fileset *fs, const char *path, const void *p,
    size_t len, int mode, uid_t uid, gid_t gid, struct ck_err *err);
/* Puts every staged file in place, or none. */
int dp_fileset_commit(struct dp_fileset *fs, struct ck_err *err);
/* After a commit: the previous files back (new files removed). */
int dp_fileset_restore(struct dp_fileset *fs, struct ck_err *err);
/* Removes temporary files left, frees fs (the files stay as they are). */
void dp_fileset_release(struct dp_fileset *fs);
/* The ids of owner and group names (NULL: -1, unchanged). CK_E_INVAL. */
int dp_owner_ids(const char *owner, const char *group, uid_t *uid, gid_t *gid,
    struct ck_err *err);
/* Stages the files of a "file" target. */
int dp_file_stage(const struct dp_material *m, const struct ck_target_conf *c,
    struct dp_fileset *fs, struct ck_err *err);
/* Stages the bundle of a "pkcs12" target (deploy_pkcs12.c). */
int dp_pkcs12_stage(const struct dp_material *m, const struct ck_target_conf *c,
    struct dp_fileset *fs, struct ck_err *err);

/* ---- processes (deploy_command.c) ---- */

/*
 * Runs cmd under /bin/sh -c in its own process group with env added and
 * in (may be NULL) on stdin; stdout and stderr go to out, of which at
 * most CK_DEPLOY_OUTPUT_MAX bytes are kept. At timeout seconds the group
 * is killed: CK_E_TIMEOUT. Otherwise 0 with *status the exit status, or
 * 128 + the signal that ended it. Blocks.
 */
int dp_run(const char *cmd, char *const env[], const void *in, size_t in_len,
    int64_t timeout, int *status, struct ck_buf *out, struct ck_err *err);
/* Runs the script of a "command" target with the material. 0 when it
 * exited 0; its output in out. */
int dp_command_run(const struct dp_material *m, const struct ck_target_conf *c,
    int64_t target_id, struct ck_buf *out, struct ck_err *err);

/* ---- verification (deploy_verify.c) ---- */

/*
 * Connects to hostport ("host:port", "[v6]:port") with SNI sni and takes
 * the leaf it serves, until it is want (hex SHA-256) or timeout seconds
 * passed (a reload takes effect a little later). 0 when it is; else
 * CK_E_INVAL (another certificate: its hash in seen) or CK_E_UNAVAILABLE
 * (no TLS there). Blocks.
 */
int dp_verify(const char *hostport, const char *sni, const char *want,
    int64_t timeout, char seen[65], struct ck_err *err);

#endif
