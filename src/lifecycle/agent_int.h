/*
 * Shared by the agent's own files only (agent_run.c, the loop;
 * agent_state.c, its state folder).
 *
 * The state folder (0700):
 *   agent.pem            its key, client certificate and chain (0600)
 *   agent.key.new        a key whose certificate is being asked for
 *   server-ca.pem        the roots it trusts for the server (--cacert)
 *   certs/NAME.pem       key, leaf and chain of each certificate (0600)
 *   certs/NAME.key.new   a key made, its CSR not answered yet
 *   deployed/NAME@ID     the SHA-256 deployed to target ID
 *   outbox/NAME@ID.json  a report not yet taken by the server
 *   scan.db, scan.last   the local scan's own inventory and last time
 * Every file is written to a temporary name, fsynced and renamed, so a
 * crash leaves the old file or the new one; keys are written before the
 * request that needs them leaves, so a crash never loses a key whose
 * certificate the server may issue.
 */
#ifndef CK_LIFECYCLE_AGENT_INT_H
#define CK_LIFECYCLE_AGENT_INT_H

#include "lifecycle/agent.h"

/* dir/rel into out (CK_E_INVAL when too long). */
int ag_path(const char *dir, const char *rel, char *out, size_t cap,
    struct ck_err *err);
/* Writes p atomically to path with mode (temporary file, fsync, rename,
 * fsync of the folder). */
int ag_write(const char *path, const void *p, size_t n, unsigned mode,
    struct ck_err *err);
/* Reads path into out (NUL-terminated); CK_E_NOTFOUND when missing. */
int ag_read(const char *path, struct ck_buf *out, struct ck_err *err);
/* True when name is safe as a file name and in a URL: [A-Za-z0-9._-],
 * not starting with '.'. */
bool ag_name_ok(const char *name);

/* A key, leaf and chain read back from one PEM file. */
struct ag_bundle {
	struct ck_buf key, leaf, chain; /* PEM each, NUL-terminated */
	char sha256[65]; /* of the leaf */
	int64_t not_before, not_after;
};
void ag_bundle_release(struct ag_bundle *b);
/* Splits pem (a key, then certificates) into b. CK_E_PARSE. */
int ag_bundle_parse(
    const char *pem, size_t len, struct ag_bundle *b, struct ck_err *err);

#endif
