/*
 * The store's tables for the agent (migration 016): one-time enrolment
 * tokens, the enrolled agents and which managed certificates each agent
 * holds. Part of the store's one interface (store.h), in its own header
 * because only the lifecycle layer's agent code and its doors use it.
 * Writes happen inside a transaction; rows handed to callbacks are
 * borrowed for the call.
 */
#ifndef CK_STORE_AGENTS_H
#define CK_STORE_AGENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define CK_AGENT_HOST_MAX 253

/* ---- enrolment tokens ---- */

struct ck_agent_token_row {
	int64_t id;
	const char *host;
	const uint8_t *hash; /* 32 bytes */
	int64_t created, expires, used; /* used 0: not yet */
};

/* Adds a token's hash for host (inside a transaction). */
int ck_store_agent_token_add(struct ck_store *st, const char *host,
    const uint8_t hash[32], int64_t created, int64_t expires, const char *actor,
    int64_t *id, struct ck_err *err);
/* The token row whose hash is hash, to cb. CK_E_NOTFOUND when none. */
int ck_store_agent_token_find(struct ck_store *st, const uint8_t hash[32],
    int (*cb)(void *ctx, const struct ck_agent_token_row *t), void *ctx,
    struct ck_err *err);
/* Spends token id at now (inside a transaction). CK_E_PERM when it was
 * spent already (two enrolments racing: one wins). */
int ck_store_agent_token_use(
    struct ck_store *st, int64_t id, int64_t now, struct ck_err *err);

/* ---- agents ---- */

struct ck_agent_row {
	const char *host, *serial, *sha256, *prev_sha256;
	int64_t not_after;
	const char *state; /* active, removed */
	int64_t enrolled, last_seen;
	const char *version;
	int64_t n_managed; /* managed certificates assigned to host */
};
typedef int (*ck_agent_row_cb)(void *ctx, const struct ck_agent_row *a);

/*
 * Records host's new client certificate (inside a transaction): a new
 * row (enrolment), or, with renew, the current certificate becomes the
 * previous one. An enrolment of a host that has a row replaces it (a
 * reinstalled host enrols again with a new token).
 */
int ck_store_agent_put(struct ck_store *st, const char *host,
    const char *serial, const char *sha256, int64_t not_after, bool renew,
    int64_t now, struct ck_err *err);
/* host's row (CK_E_NOTFOUND), or every row by host when host is NULL. */
int ck_store_agent_list(struct ck_store *st, const char *host,
    ck_agent_row_cb cb, void *ctx, struct ck_err *err);
/* The agent was seen at now presenting sha256: last_seen moves, and the
 * previous certificate stops being accepted once the current one is
 * used. Its own statement, outside a transaction. */
int ck_store_agent_seen(struct ck_store *st, const char *host,
    const char *sha256, int64_t now, struct ck_err *err);
/* Sets host's state ("active", "removed"; inside a transaction).
 * CK_E_NOTFOUND. */
int ck_store_agent_state(struct ck_store *st, const char *host,
    const char *state, struct ck_err *err);

/* ---- which agent holds which managed certificate ---- */

/* managed is held by host from now on (inside a transaction); host ""
 * gives it back to the server. CK_E_NOTFOUND for no managed row. */
int ck_store_agent_assign(struct ck_store *st, const char *managed,
    const char *host, int64_t now, struct ck_err *err);
/* The host holding managed into host ("" and *held false when none). */
int ck_store_agent_holder(struct ck_store *st, const char *managed,
    char host[CK_AGENT_HOST_MAX + 1], bool *held, struct ck_err *err);
/* Names of the managed certificates host holds, by name, to cb. */
int ck_store_agent_managed(struct ck_store *st, const char *host,
    int (*cb)(void *ctx, const char *name), void *ctx, struct ck_err *err);

#endif
