/*
 * Shared by the files of src/store/ only: the SQLite handle, the cache of
 * prepared statements, and the per-transaction count deltas.
 *
 * Every statement whose text is fixed is prepared once per handle, on
 * first use, and kept until ck_store_free(): preparing costs 6-9 us, more
 * than most of the statements take to run. Its text is in sql.c under an
 * enum stmt_id; functions take it with stmt_open() and give it back with
 * stmt_close().
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
	/* cas.c */
	S_CA_ADD,
	S_CA_BY_NAME,
	S_CA_ALL,
	S_CA_NAME,
	S_SERIAL_TAKEN,
	S_ISSUED_ADD,
	/* revocation.c */
	S_REVOKE,
	S_ISSUED_BY,
	S_REVOKED_LIST,
	S_CRL_LATEST,
	S_CRL_ADD,
	S_SERIAL_STATUS,
	S_RESPONDER_GET,
	S_RESPONDER_SET,
	S_OCSP_CACHE_GET,
	S_OCSP_CACHE_PUT,
	S_OCSP_CACHE_DROP,
	/* tokens.c */
	S_TOKEN_ADD,
	S_TOKEN_IS_REVOKED,
	S_TOKEN_REVOKE,
	S_TOKEN_FIND_ID,
	S_TOKEN_FIND_NAME,
	S_TOKEN_GET,
	S_TOKEN_BY_HASH,
	S_TOKEN_ALL,
	S_TOKEN_LIVE,
	S_TOKEN_TOUCH,
	/* events.c */
	S_EVENTS_RANGE,
	S_EVENTS_ALL,
	/* stats.c */
	S_STATS_DAYS,
	S_STATS_RANGE,
	S_STATS_DIM,
	/* query.c (cert_list and cert_count build their SQL per filter and
	 * prepare it per call) */
	S_FIND_SHA,
	S_FIND_SHA_OPEN,
	S_LOCATIONS,
	/* scans.c */
	S_SCAN_RESULT,
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

struct wlock;

#define SQL_CACHE_SLOTS 64

struct ck_store {
	sqlite3 *db;
	sqlite3_stmt *stmts[S_MAX];
	bool in_tx;
	/* The process-wide writers' lock of this database file (NULL when
	 * the file could not be identified), and whether it is held. */
	struct wlock *wlock;
	bool wlock_held;
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
	/* Statements of stmt_sql(), by the address of their SQL text. */
	struct sql_slot {
		const char *sql;
		sqlite3_stmt *q;
		bool taken;
	} sql_cache[SQL_CACHE_SLOTS];
};

/* The index key of a SHA-256: its first 8 bytes, big-endian, with the sign
 * bit flipped so that integer order is byte order. */
int64_t sha_key(const uint8_t *sha);

/* 64-bit FNV-1a as a signed SQL integer. */
int64_t str_hash(const char *s);

/* Maps the connection's last error into err. Returns the CK_E_* code. */
int db_err(struct ck_store *st, int rc, struct ck_err *err, const char *what);

/*
 * The cached statement id, reset and with bindings cleared; NULL on error.
 * For straight-line use that ends with the statement reset (step_write()
 * does it): nothing may call back into the store while it is stepped.
 */
sqlite3_stmt *stmt_get(
    struct ck_store *st, enum stmt_id id, struct ck_err *err);

/*
 * Like stmt_get(), for any use, including statements whose rows go to a
 * callback that may come back into the store: when the cached statement
 * is still being stepped by an outer call, a statement of its own is
 * prepared instead. Always paired with stmt_close(). NULL on error.
 */
sqlite3_stmt *stmt_open(
    struct ck_store *st, enum stmt_id id, struct ck_err *err);

/*
 * Ends a use of a statement from stmt_open(): resets it (so that a read
 * does not hold its snapshot of the database) and clears its bindings, or
 * finalizes it when it was not the cached one. Accepts NULL.
 */
void stmt_close(struct ck_store *st, enum stmt_id id, sqlite3_stmt *s);

/*
 * Steps a write statement to completion, honouring fault injection.
 * Returns 0, or a CK_E_* code with the reason in err.
 */
int step_write(
    struct ck_store *st, sqlite3_stmt *s, struct ck_err *err, const char *what);

/*
 * The statement for sql, which must be a string constant: its address is
 * the key of a cache of prepared statements per handle, so that a
 * statement run on every request (the ACME server's) is parsed once, not
 * each time. Comes back reset and without bindings; when the cached one
 * is in use further up, another is prepared (and kept in a free slot
 * too; finalized after use when there is none). Always paired with
 * stmt_sql_done(). NULL on error.
 */
sqlite3_stmt *stmt_sql(
    struct ck_store *st, const char *sql, const char *what, struct ck_err *err);
/* Ends a use of q from stmt_sql(): kept (reset) or finalized. NULL is
 * accepted. */
void stmt_sql_done(struct ck_store *st, sqlite3_stmt *q);

/* A one-off statement (prepared for this call, finalized by the caller),
 * for rows that change at the pace of people and renewals; what names
 * the table in errors. */
int stmt_prepare(struct ck_store *st, const char *sql, sqlite3_stmt **q,
    const char *what, struct ck_err *err);
/* Binds s as text (borrowed until the statement runs), or NULL. */
void bind_str(sqlite3_stmt *q, int i, const char *s);
/* A text column, NULL for NULL. */
const char *col_str(sqlite3_stmt *q, int i);
/* Writes must happen inside ck_store_begin()/ck_store_commit(). */
#define NEED_TX(what)                                          \
	do {                                                   \
		if (!st->in_tx)                                \
			CK_BUG(what " outside a transaction"); \
	} while (0)

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

/* The columns of a CA row, in the order cas.c reads them. */
#define CA_COLUMNS                                                         \
	"id, name, cert_id, parent_id, key_type, key_sealed, created_at, " \
	"state"

/* The columns of a token row, in the order tokens.c reads them. */
#define TOKEN_COLUMNS                                                         \
	"id, name, role, pattern, hash, created_at, expires_at, revoked_at, " \
	"last_used_at"

void counts_add(struct counts *c, const char *dim, const char *key, int64_t n);
void counts_clear(struct counts *c);
int counts_flush(struct ck_store *st, struct ck_err *err);

#endif
