/*
 * The SQLite backend: opening the one-file inventory (WAL, busy timeout),
 * applying migrations, transactions, the statement cache, the writers'
 * lock and error mapping.
 */
#include "store/store_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "base/mem.h"
#include "store/migrations.h"

/* How long a writer waits for another before giving up (CK_E_UNAVAILABLE). */
#define BUSY_TIMEOUT_MS 10000

int
db_err(struct ck_store *st, int rc, struct ck_err *err, const char *what)
{
	int code = CK_E_DB;
	const char *msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_FULL:
		code = CK_E_FULL;
		msg = "database or disk is full";
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: code = CK_E_UNAVAILABLE; break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH: code = CK_E_PERM; break;
	case SQLITE_CANTOPEN: code = CK_E_IO; break;
	case SQLITE_IOERR:
		/* Disk full during a WAL write surfaces as an I/O error. */
		code = errno == ENOSPC ? CK_E_FULL : CK_E_IO;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: code = CK_E_DB; break;
	}
	return ck_err_set(err, code, "store: %s: %s", what, msg);
}

/* Prepares statement id; persistent when it is to be kept. */
static sqlite3_stmt *
prepare(struct ck_store *st, enum stmt_id id, bool keep, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v3(st->db, ck_store_sql[id], -1,
	    keep ? SQLITE_PREPARE_PERSISTENT : 0, &s, NULL);
	if (rc != SQLITE_OK) {
		db_err(st, rc, err, "prepare");
		return NULL;
	}
	/* $n must appear in order so that index n is parameter $n. */
	for (int i = 1; i <= sqlite3_bind_parameter_count(s); i++) {
		char want[16];
		snprintf(want, sizeof(want), "$%d", i);
		if (strcmp(sqlite3_bind_parameter_name(s, i), want) != 0)
			CK_BUG("sql parameters out of order");
	}
	return s;
}

sqlite3_stmt *
stmt_get(struct ck_store *st, enum stmt_id id, struct ck_err *err)
{
	sqlite3_stmt *s = st->stmts[id];

	if (s != NULL) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	if ((s = prepare(st, id, true, err)) != NULL)
		st->stmts[id] = s;
	return s;
}

sqlite3_stmt *
stmt_open(struct ck_store *st, enum stmt_id id, struct ck_err *err)
{
	/* Still stepped by a caller further up whose row callback came
	 * back here: resetting it would cut that caller's rows short. */
	if (st->stmts[id] != NULL && sqlite3_stmt_busy(st->stmts[id]))
		return prepare(st, id, false, err);
	return stmt_get(st, id, err);
}

void
stmt_close(struct ck_store *st, enum stmt_id id, sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	if (s != st->stmts[id]) {
		sqlite3_finalize(s);
		return;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/*
 * Writers' lock. SQLite lets one writer at a time into a database and
 * makes the others poll: a writer that finds the lock taken sleeps in the
 * busy handler for 1, 2, 5, 10... ms, long beside a transaction of 0.3 ms,
 * so two threads enrolling went no faster than one. Handles of one process
 * on one file (same device and inode) therefore queue on a mutex of that
 * file before they ask SQLite, and the next writer is woken when the last
 * one ends. Other processes still meet the busy handler.
 */
struct wlock {
	dev_t dev;
	ino_t ino;
	int refs;
	pthread_mutex_t mu;
	struct wlock *next;
};

static pthread_mutex_t wlocks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wlock *wlocks;

/* The lock of the file at path, made if new; NULL if path has no inode. */
static struct wlock *
wlock_ref(const char *path)
{
	struct wlock *w;
	struct stat sb;

	if (stat(path, &sb) != 0)
		return NULL;
	pthread_mutex_lock(&wlocks_mu);
	for (w = wlocks; w != NULL; w = w->next)
		if (w->dev == sb.st_dev && w->ino == sb.st_ino)
			break;
	if (w == NULL) {
		w = ck_calloc(1, sizeof(*w));
		w->dev = sb.st_dev;
		w->ino = sb.st_ino;
		pthread_mutex_init(&w->mu, NULL);
		w->next = wlocks;
		wlocks = w;
	}
	w->refs++;
	pthread_mutex_unlock(&wlocks_mu);
	return w;
}

static void
wlock_unref(struct wlock *w)
{
	struct wlock **pp;

	if (w == NULL)
		return;
	pthread_mutex_lock(&wlocks_mu);
	if (--w->refs == 0) {
		for (pp = &wlocks; *pp != w; pp = &(*pp)->next)
			;
		*pp = w->next;
		pthread_mutex_destroy(&w->mu);
		free(w);
	}
	pthread_mutex_unlock(&wlocks_mu);
}

/* Waits for the writers' lock as long as SQLite's busy timeout would. */
static int
wlock_take(struct ck_store *st, struct ck_err *err)
{
	struct timespec until;

	if (st->wlock == NULL || st->wlock_held)
		return 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += BUSY_TIMEOUT_MS / 1000;
	if (pthread_mutex_timedlock(&st->wlock->mu, &until) != 0)
		return ck_err_set(err, CK_E_UNAVAILABLE,
		    "store: another writer held the database for %d s",
		    BUSY_TIMEOUT_MS / 1000);
	st->wlock_held = true;
	return 0;
}

static void
wlock_drop(struct ck_store *st)
{
	if (st->wlock_held) {
		st->wlock_held = false;
		pthread_mutex_unlock(&st->wlock->mu);
	}
}

int
step_write(
    struct ck_store *st, sqlite3_stmt *s, struct ck_err *err, const char *what)
{
	int rc, r;

	/* A write of its own (no transaction open) queues like one. */
	if (!st->in_tx && st->wlock != NULL && !st->wlock_held) {
		if ((r = wlock_take(st, err)) != 0) {
			sqlite3_reset(s);
			return r;
		}
		r = step_write(st, s, err, what);
		wlock_drop(st);
		return r;
	}
	if (st->fail_after > 0 && --st->fail_after == 0) {
		sqlite3_reset(s);
		return ck_err_set(
		    err, CK_E_DB, "store: %s: injected failure", what);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		r = db_err(st, rc, err, what);
		sqlite3_reset(s);
		return r;
	}
	sqlite3_reset(s);
	return 0;
}

int
exec_sql(struct ck_store *st, const char *sql, struct ck_err *err)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_err(st, rc, err, "exec");
	return 0;
}

int
ck_store_bulk_mode(struct ck_store *st, struct ck_err *err)
{
	/* an import can be run again: its batches need not reach the disk
	 * one by one (a crash loses at most the last few, never corrupts) */
	return exec_sql(st,
	    "PRAGMA cache_size=-131072; PRAGMA wal_autocheckpoint=16384; "
	    "PRAGMA synchronous=NORMAL",
	    err);
}

int
ck_store_cache_limit(struct ck_store *st, int kib, struct ck_err *err)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", kib > 0 ? kib : 1);
	return exec_sql(st, sql, err);
}

void
ck_store_fail_after(struct ck_store *st, int nth)
{
	st->fail_after = nth;
}

int
ck_store_schema_version(struct ck_store *st, int *out, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = 0;
	rc = sqlite3_prepare_v2(st->db,
	    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &s,
	    NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc, err, "schema version");
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*out = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return 0;
}

static int
migrate(struct ck_store *st, struct ck_err *err)
{
	int r, have;

	if ((r = exec_sql(st,
	         "CREATE TABLE IF NOT EXISTS schema_migrations ("
	         "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
	         "applied_at INTEGER NOT NULL)",
	         err)) != 0)
		return r;
	if ((r = ck_store_schema_version(st, &have, err)) != 0)
		return r;
	for (const struct ck_migration *m = ck_migrations; m->sql; m++) {
		char rec[256];

		if (m->version <= have)
			continue;
		if ((r = exec_sql(st, "BEGIN IMMEDIATE", err)) != 0)
			return r;
		snprintf(rec, sizeof(rec),
		    "INSERT INTO schema_migrations VALUES (%d, '%s', %lld)",
		    m->version, m->name, (long long)ck_now());
		if ((r = exec_sql(st, m->sql, err)) != 0 ||
		    (r = exec_sql(st, rec, err)) != 0 ||
		    (r = exec_sql(st, "COMMIT", err)) != 0) {
			exec_sql(st, "ROLLBACK", NULL);
			return ck_err_wrap(err, r, "migration %s", m->name);
		}
	}
	return 0;
}

/* "sqlite:PATH[?max_pages=N]" or a bare path. */
static int
parse_url(const char *url, char **path, long *max_pages, struct ck_err *err)
{
	const char *p = url, *q;

	*max_pages = 0;
	if (strncmp(p, "sqlite://", 9) == 0)
		p += 9;
	else if (strncmp(p, "sqlite:", 7) == 0)
		p += 7;
	else if (strncmp(p, "postgres", 8) == 0)
		return ck_err_set(err, CK_E_UNAVAILABLE,
		    "store: the PostgreSQL backend is not available yet; use "
		    "sqlite:PATH");
	else if (strstr(p, "://") != NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "store: unknown database URL scheme in '%s'", url);
	if (*p == '\0')
		return ck_err_set(
		    err, CK_E_INVAL, "store: empty database path");
	if ((q = strchr(p, '?')) != NULL) {
		char *end;
		if (strncmp(q + 1, "max_pages=", 10) != 0)
			return ck_err_set(err, CK_E_INVAL,
			    "store: unknown option in '%s'", url);
		*max_pages = strtol(q + 11, &end, 10);
		if (*end != '\0' || *max_pages <= 0)
			return ck_err_set(err, CK_E_INVAL,
			    "store: bad max_pages in '%s'", url);
		*path = ck_strndup(p, (size_t)(q - p));
	} else {
		*path = ck_strdup(p);
	}
	return 0;
}

/* Creates the folder of path (one level, like ./var) if it is missing. */
static void
make_parent(const char *path)
{
	char *dir = ck_strdup(path), *slash = strrchr(dir, '/');

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0750);
	}
	free(dir);
}

/*
 * Process-wide SQLite settings, made once before the first connection opens
 * (sqlite3_config() refuses changes after sqlite3_initialize()). Memory
 * statistics take a global mutex on every allocation, which two threads
 * reading the store fight over (a status read: 64k/s on 2 threads with it,
 * 292k/s without); nothing here reads them. If SQLite was initialized by
 * someone else first the call fails harmlessly and the default stays.
 */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void
config_sqlite(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int
ck_store_open(const char *url, struct ck_store **out, struct ck_err *err)
{
	struct ck_store *st = NULL;
	char *path = NULL, pragma[96];
	long max_pages;
	int r, rc;
	mode_t old;

	*out = NULL;
	if ((r = parse_url(url, &path, &max_pages, err)) != 0)
		return r;
	pthread_once(&config_once, config_sqlite);
	st = ck_calloc(1, sizeof(*st));
	make_parent(path);
	old = umask(027);
	/* NOMUTEX: a handle is used by one thread at a time (store.h), so
	 * the connection's own mutex would only cost. */
	rc = sqlite3_open_v2(path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		r = db_err(st, rc, err, path);
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	if ((r = exec_sql(st,
	         /* FULL: a commit is on disk before it returns, so an
	          * issued certificate, a revocation or an audit event is
	          * never lost to a power cut once reported */
	         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
	         "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; "
	         "PRAGMA foreign_keys=OFF",
	         err)) != 0) {
		ck_err_wrap(err, r, "%s", path);
		goto out;
	}
	if (max_pages > 0) {
		snprintf(pragma, sizeof(pragma), "PRAGMA max_page_count=%ld",
		    max_pages);
		if ((r = exec_sql(st, pragma, err)) != 0)
			goto out;
	}
	if ((r = migrate(st, err)) != 0)
		goto out;
	st->wlock = wlock_ref(path);
	*out = st;
	st = NULL;
	r = 0;
out:
	free(path);
	ck_store_free(st);
	return r;
}

void
ck_store_free(struct ck_store *st)
{
	if (st == NULL)
		return;
	if (st->in_tx)
		ck_store_rollback(st);
	for (int i = 0; i < S_MAX; i++)
		sqlite3_finalize(st->stmts[i]);
	for (size_t i = 0; i < SQL_CACHE_SLOTS; i++)
		sqlite3_finalize(st->sql_cache[i].q);
	counts_clear(&st->counts);
	free(st->counts.slots);
	free(st->place_kind);
	free(st->place);
	free(st->iss_name);
	free(st->iss_aki);
	free(st->pending);
	ck_buf_release(&st->name_arena);
	ck_buf_release(&st->scratch_sans);
	ck_buf_release(&st->scratch_name);
	sqlite3_close(st->db);
	wlock_unref(st->wlock);
	free(st);
}

int
ck_store_begin(struct ck_store *st, struct ck_err *err)
{
	int r;

	if (st->in_tx)
		CK_BUG("nested transaction");
	if ((r = wlock_take(st, err)) != 0)
		return r;
	/* IMMEDIATE: the write lock is taken here, not at the first write,
	 * so a transaction never fails half-way for want of it. */
	if ((r = exec_sql(st, "BEGIN IMMEDIATE", err)) != 0) {
		wlock_drop(st);
		return r;
	}
	st->in_tx = true;
	return 0;
}

int
ck_store_commit(struct ck_store *st, struct ck_err *err)
{
	int r;

	if (!st->in_tx)
		CK_BUG("commit outside a transaction");
	if ((r = names_flush(st, err)) != 0 ||
	    (r = counts_flush(st, err)) != 0 ||
	    (r = exec_sql(st, "COMMIT", err)) != 0) {
		ck_store_rollback(st);
		return r;
	}
	st->in_tx = false;
	wlock_drop(st);
	return 0;
}

void
ck_store_rollback(struct ck_store *st)
{
	for (int i = 0; i < S_MAX; i++)
		if (st->stmts[i] != NULL)
			sqlite3_reset(st->stmts[i]);
	if (st->in_tx)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	counts_clear(&st->counts);
	names_clear(st);
	st->place_id = 0; /* its row may have been rolled back */
	st->iss_valid = false;
	st->in_tx = false;
	wlock_drop(st);
}

int
stmt_prepare(struct ck_store *st, const char *sql, sqlite3_stmt **q,
    const char *what, struct ck_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, q, NULL);

	return rc == SQLITE_OK ? 0 : db_err(st, rc, err, what);
}

sqlite3_stmt *
stmt_sql(
    struct ck_store *st, const char *sql, const char *what, struct ck_err *err)
{
	struct sql_slot *free_slot = NULL;
	sqlite3_stmt *q;

	for (size_t i = 0; i < SQL_CACHE_SLOTS; i++) {
		struct sql_slot *s = &st->sql_cache[i];
		if (s->sql == sql && !s->taken) {
			s->taken = true;
			return s->q;
		}
		if (s->sql == NULL && free_slot == NULL)
			free_slot = s;
	}
	if (stmt_prepare(st, sql, &q, what, err) != 0)
		return NULL;
	if (free_slot != NULL)
		*free_slot = (struct sql_slot){sql, q, true};
	return q;
}

void
stmt_sql_done(struct ck_store *st, sqlite3_stmt *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < SQL_CACHE_SLOTS; i++) {
		struct sql_slot *s = &st->sql_cache[i];
		if (s->q == q) {
			sqlite3_reset(q);
			sqlite3_clear_bindings(q);
			s->taken = false;
			return;
		}
	}
	sqlite3_finalize(q);
}

void
bind_str(sqlite3_stmt *q, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(q, i);
	else
		sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
}

const char *
col_str(sqlite3_stmt *q, int i)
{
	return (const char *)sqlite3_column_text(q, i);
}
