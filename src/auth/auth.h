/*
 * Who may do what: roles and API bearer tokens. A token is 256 random bits
 * shown once when it is made ("ck_" and 43 base64url characters); the
 * store keeps only its SHA-256, and a presented token is found by that hash
 * and compared in constant time. The HTTP server maps a request's bearer
 * token to a role here; the CLI makes, lists and revokes tokens here.
 */
#ifndef CK_AUTH_H
#define CK_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/*
 * Roles, weakest first (the order ck_role_allows uses):
 *   auditor   reads the inventory, CAs, events, stats;
 *   enroller  requests and renews certificates for the names its token's
 *             pattern allows, nothing else (no reads of the inventory);
 *   operator  what an auditor reads, plus revoke, import, scan, and
 *             enrollment for any name;
 *   admin     everything, including CAs and tokens.
 */
#define CK_ROLE_MAP(X)             \
	X(AUDITOR, 1, "auditor")   \
	X(ENROLLER, 2, "enroller") \
	X(OPERATOR, 3, "operator") \
	X(ADMIN, 4, "admin")

enum ck_role {
#define CK_ROLE_ENUM(name, val, str) CK_ROLE_##name = val,
	CK_ROLE_MAP(CK_ROLE_ENUM)
#undef CK_ROLE_ENUM
};

/* Parses a role name (lower case). CK_E_INVAL when s is none of them. */
int ck_role_parse(const char *s, enum ck_role *out);
/* A static string naming r; "unknown" for a value not in the map. */
const char *ck_role_name(enum ck_role r);
/*
 * True when a holder of role have may do what needs role need. The order
 * is auditor < enroller < operator < admin with one exception: an enroller
 * does not get an auditor's reads (the "nothing else"); what it
 * may enroll is further limited by ck_token_name_allowed().
 */
bool ck_role_allows(enum ck_role have, enum ck_role need);

#define CK_TOKEN_PREFIX "ck_"
/* "ck_" and 32 bytes in unpadded base64url. */
#define CK_TOKEN_LEN (3 + 43)
#define CK_TOKEN_NAME_MAX 64
#define CK_TOKEN_PATTERN_MAX 255

/* Why a presented token was refused (or CK_TOKEN_OK). */
#define CK_TOKEN_STATUS_MAP(X)               \
	X(OK, "ok")                          \
	X(MALFORMED, "not a certkeep token") \
	X(UNKNOWN, "unknown token")          \
	X(REVOKED, "token revoked")          \
	X(EXPIRED, "token expired")

enum ck_token_status {
#define CK_TOKEN_STATUS_ENUM(name, str) CK_TOKEN_##name,
	CK_TOKEN_STATUS_MAP(CK_TOKEN_STATUS_ENUM)
#undef CK_TOKEN_STATUS_ENUM
};

/* A static string naming s; never NULL. */
const char *ck_token_status_name(enum ck_token_status s);

/* What a checked token grants. Embedded by the caller; owns nothing. */
struct ck_token_info {
	enum ck_token_status status; /* set even when the check fails */
	int64_t id;
	enum ck_role role;
	char name[CK_TOKEN_NAME_MAX + 1];
	char pattern[CK_TOKEN_PATTERN_MAX + 1]; /* "": no pattern */
	int64_t expires_at; /* 0: never */
};

/*
 * Checks a bearer token (the part after "Bearer "): hashes it, finds the
 * row by its hash, compares the hashes with CRYPTO_memcmp, and refuses a
 * token revoked or expired at now. Returns 0 with *out filled, or
 * CK_E_PERM with out->status saying why (MALFORMED, UNKNOWN, REVOKED,
 * EXPIRED) and the reason in err; a store failure is its own code (DB,
 * UNAVAILABLE, ...) with status UNKNOWN. The token is never logged nor put
 * into err. Blocks on the store.
 *
 * last_used_at is written at most once an hour per token (a row update,
 * its own statement outside a transaction), so a busy client costs one
 * write an hour, not one per request; a failure to write it is ignored.
 */
int ck_token_check(struct ck_store *st, const char *bearer, int64_t now,
    struct ck_token_info *out, struct ck_err *err);

/*
 * True when a holder of t may enroll dns_name: always for operator and
 * admin, never for auditor, and for an enroller when its pattern allows
 * the name (or it has none). A pattern is a comma-separated list of
 * entries, each an exact name ("www.example.com") or "*.suffix", which
 * allows any name below suffix at any depth, including the wildcard
 * "*.suffix" itself but not suffix. Comparison ignores case.
 */
bool ck_token_name_allowed(const struct ck_token_info *t, const char *dns_name);

/*
 * Checks a token name (1 to 64 characters of letters, digits, '.', '_',
 * '-' and '@', starting with a letter) and a pattern (see above, at most
 * 255 characters). CK_E_INVAL with the reason otherwise.
 */
int ck_token_name_check(const char *name, struct ck_err *err);
int ck_token_pattern_check(const char *pattern, struct ck_err *err);

/* The SHA-256 the store keeps for token (any string). */
void ck_token_hash(const char *token, uint8_t out[32]);

struct ck_token_spec {
	const char *name;
	enum ck_role role;
	const char *pattern; /* only for an enroller; NULL: none */
	int64_t expires_at; /* 0: never; else after now */
	const char *actor; /* who asks, for the audit event */
};

/*
 * Checks spec as ck_token_create would, without touching a store: the name,
 * the role, a pattern only for an enroller and well formed, an expiry after
 * now. CK_E_INVAL with the reason otherwise.
 */
int ck_token_spec_check(
    const struct ck_token_spec *spec, int64_t now, struct ck_err *err);

/*
 * Makes a token for spec: checks it (ck_token_spec_check), draws 32 random
 * bytes (RAND_bytes), and records the hash and an audit event
 * ("token.create") in one transaction. On success token holds the token,
 * NUL-terminated, which the caller shows once and then wipes
 * (ck_cleanse); *id gets the row id. CK_E_EXISTS when a token not revoked
 * has the name, CK_E_INVAL for bad input. Blocks.
 */
int ck_token_create(struct ck_store *st, const struct ck_token_spec *spec,
    char token[CK_TOKEN_LEN + 1], int64_t *id, struct ck_err *err);

/*
 * Revokes the token ref (an id or a name, see ck_store_token_find) and
 * writes an audit event ("token.revoke"), in one transaction. Revoking
 * twice changes nothing and writes no event: *already is set. *id gets
 * the token's id. CK_E_NOTFOUND when there is no such token. Blocks.
 */
int ck_token_revoke(struct ck_store *st, const char *ref, const char *actor,
    int64_t *id, bool *already, struct ck_err *err);

#endif
