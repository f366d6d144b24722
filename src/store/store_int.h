/*
 * Shared by the files of src/store/ only: the SQLite handle, the cache of
 * prepared statements, and the per-transaction count deltas.
 */
#ifndef CK_STORE_INT_H
#define CK_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

/* Statements prepared once per handle and reused (see sql.c for text). */
enum stmt_id {
	S_CERT_INSERT,
	S_CERT_BY_SHA,
	S_CERT_SEEN,
	S_NAME_INSERT,
	S_LOC_UPSERT,
	S_PLACE_INSERT,
	S_PLACE_ID,
	S_ISSUER_BY_SKI,
	S_ISSUER_BY_SUBJECT,
	S_LINK_ORPHANS,
	S_COUNT_UPSERT,
	S_EVENT_LAST,
	S_EVENT_INSERT,
	S_CERT_GET,
	S_LINK_SET,
	S_MAX
};

/* The SQL of each statement, $n parameters numbered in order. */
extern const char *const ck_store_sql[S_MAX];

struct pending_name {
	size_t off; /* of the reversed name in name_arena */
	int64_t cert_id;
	const char *kind; /* static */
};

/* Writes the pending names rows (sorted) and forgets them. */
int names_flush(struct ck_store *st, struct ck_err *err);
void names_clear(struct ck_store *st);

/* Count deltas gathered during a transaction, written at commit. */
struct count_slot {
	char *key; /* "dim\x1fvalue", owned */
	int64_t n;
};
struct counts {
	struct count_slot *slots;
	size_t cap, used;
};

struct ck_store {
	sqlite3 *db;
	sqlite3_stmt *stmts[S_MAX];
	bool in_tx;
	int fail_after;
	struct counts counts;
	/* The place of the last location written (a file holds many
	 * certificates), and scratch buffers reused by every insert. */
	char *place_kind, *place;
	int64_t place_id;
	struct ck_buf scratch_sans, scratch_name;
	/* Names rows of the open transaction, written sorted at commit:
	 * in key order each index page is visited once per batch instead of
	 * once per row. Reversed names live in one arena. */
	struct pending_name *pending;
	size_t n_pending, cap_pending;
	struct ck_buf name_arena;
	/* The last issuer lookup: issuer name and AKI to row id (0: none). */
	bool iss_valid;
	char *iss_name, *iss_aki;
	int64_t iss_id;
};

/* The index key of a SHA-256: its first 8 bytes, big-endian, with the sign
 * bit flipped so that integer order is byte order. */
int64_t sha_key(const uint8_t *sha);

/* 64-bit FNV-1a as a signed SQL integer. */
int64_t str_hash(const char *s);

/* Maps the connection's last error into err. Returns the CK_E_* code. */
int db_err(struct ck_store *st, int rc, struct ck_err *err, const char *what);

/* The cached statement id, reset and with bindings cleared; NULL on error. */
sqlite3_stmt *stmt_get(
    struct ck_store *st, enum stmt_id id, struct ck_err *err);

/*
 * Steps a write statement to completion, honouring fault injection.
 * Returns 0, or a CK_E_* code with the reason in err.
 */
int step_write(
    struct ck_store *st, sqlite3_stmt *s, struct ck_err *err, const char *what);

/* Runs plain SQL (no parameters, no rows). */
int exec_sql(struct ck_store *st, const char *sql, struct ck_err *err);

/* Fills a row from a statement whose columns follow CERT_COLUMNS. */
void row_from_stmt(sqlite3_stmt *s, struct ck_cert_row *row, bool with_der);

/* The column list matching row_from_stmt(). */
#define CERT_COLUMNS                                                           \
	"id, sha256, sha1, version, serial, subject, issuer, cn, sans, "       \
	"not_before, not_after, key_type, key_bits, curve, sig_alg, is_ca, "   \
	"path_len, ski, aki, self_issued, issuer_id, link_state, revoked_at, " \
	"first_seen, last_seen, der"
/* The same without the DER, for lists (a row is then a third the size). */
#define CERT_COLUMNS_NODER                                                     \
	"id, sha256, sha1, version, serial, subject, issuer, cn, sans, "       \
	"not_before, not_after, key_type, key_bits, curve, sig_alg, is_ca, "   \
	"path_len, ski, aki, self_issued, issuer_id, link_state, revoked_at, " \
	"first_seen, last_seen, NULL"

void counts_add(struct counts *c, const char *dim, const char *key, int64_t n);
void counts_clear(struct counts *c);
int counts_flush(struct ck_store *st, struct ck_err *err);

#endif
