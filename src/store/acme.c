/*
 * The ACME server's rows (acme.h, migration 014). Every request runs a
 * handful of these statements, so each is prepared once per store handle
 * (stmt_sql, keyed by its SQL text) rather than parsed per call.
 */
#include "store/acme.h"
#include "store/store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* The statement for sql (a string constant) with its parameters bound: fmt has
 * one letter per parameter, 'i' int64_t, 's' string (NULL binds NULL), 'b' blob
 * (pointer, size_t). NULL on error (in err). */
static sqlite3_stmt *
prep(struct ck_store *st, struct ck_err *err, const char *sql, const char *fmt,
    ...)
{
	sqlite3_stmt *q = stmt_sql(st, sql, "acme", err);
	va_list ap;

	if (q == NULL)
		return NULL;
	va_start(ap, fmt);
	for (int i = 1; fmt[i - 1] != '\0'; i++) {
		if (fmt[i - 1] == 'i') {
			sqlite3_bind_int64(q, i, va_arg(ap, int64_t));
		} else if (fmt[i - 1] == 's') {
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				sqlite3_bind_null(q, i);
			else
				sqlite3_bind_text(
				    q, i, s, -1, SQLITE_TRANSIENT);
		} else {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			sqlite3_bind_blob(q, i, p, (int)n, SQLITE_TRANSIENT);
		}
	}
	va_end(ap);
	return q;
}

/* Steps a write to the end; maps a uniqueness conflict to CK_E_EXISTS. */
static int
write1(
    struct ck_store *st, sqlite3_stmt *q, const char *what, struct ck_err *err)
{
	int r;

	if (q == NULL)
		return CK_E_DB;
	r = step_write(st, q, err, what);
	if (r != 0 &&
	    sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE)
		r = ck_err_set(err, CK_E_EXISTS, "%s: exists already", what);
	stmt_sql_done(st, q);
	return r;
}

/* Steps a read expected to give one row: 0 with the row ready,
 * CK_E_NOTFOUND, or a DB error (q is handed back with stmt_sql_done on
 * error). */
static int
read1(
    struct ck_store *st, sqlite3_stmt *q, const char *what, struct ck_err *err)
{
	int rc;

	if (q == NULL)
		return CK_E_DB;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return 0;
	stmt_sql_done(st, q);
	if (rc == SQLITE_DONE)
		return ck_err_set(err, CK_E_NOTFOUND, "no such %s", what);
	return db_err(st, rc, err, what);
}

static void
copy(char *dst, size_t cap, sqlite3_stmt *q, int col)
{
	const char *s = (const char *)sqlite3_column_text(q, col);

	snprintf(dst, cap, "%s", s != NULL ? s : "");
}

static char *
dup_col(sqlite3_stmt *q, int col)
{
	const char *s = (const char *)sqlite3_column_text(q, col);

	return s != NULL ? ck_strdup(s) : NULL;
}

/* ---- accounts ---- */

void
ck_acme_account_release(struct ck_acme_account *a)
{
	free(a->jwk);
	free(a->contact);
	a->jwk = a->contact = NULL;
}

int
ck_store_acme_account_add(struct ck_store *st, const char *ca,
    const char *thumbprint, const char *jwk, const char *contact,
    const char *eab_kid, int64_t now, int64_t *id, struct ck_err *err)
{
	int r;

	*id = 0;
	r = write1(st,
	    prep(st, err,
	        "INSERT INTO acme_accounts (ca, thumbprint, jwk, contact, "
	        "eab_kid, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
	        "sssssi", ca, thumbprint, jwk, contact, eab_kid, now),
	    "acme account", err);
	if (r == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return r;
}

#define ACCOUNT_COLUMNS \
	"id, ca, thumbprint, status, eab_kid, jwk, contact, created_at"

static int
account_read(struct ck_store *st, sqlite3_stmt *q, struct ck_acme_account *a,
    struct ck_err *err)
{
	int r;

	memset(a, 0, sizeof(*a));
	if ((r = read1(st, q, "acme account", err)) != 0)
		return r;
	a->id = sqlite3_column_int64(q, 0);
	copy(a->ca, sizeof(a->ca), q, 1);
	copy(a->thumbprint, sizeof(a->thumbprint), q, 2);
	copy(a->status, sizeof(a->status), q, 3);
	copy(a->eab_kid, sizeof(a->eab_kid), q, 4);
	a->jwk = dup_col(q, 5);
	a->contact = dup_col(q, 6);
	a->created_at = sqlite3_column_int64(q, 7);
	stmt_sql_done(st, q);
	return 0;
}

int
ck_store_acme_account_by_key(struct ck_store *st, const char *ca,
    const char *thumbprint, struct ck_acme_account *a, struct ck_err *err)
{
	return account_read(st,
	    prep(st, err,
	        "SELECT " ACCOUNT_COLUMNS " FROM acme_accounts "
	        "WHERE ca = $1 AND thumbprint = $2",
	        "ss", ca, thumbprint),
	    a, err);
}

int
ck_store_acme_account_get(struct ck_store *st, int64_t id,
    struct ck_acme_account *a, struct ck_err *err)
{
	return account_read(st,
	    prep(st, err,
	        "SELECT " ACCOUNT_COLUMNS " FROM acme_accounts WHERE id = $1",
	        "i", id),
	    a, err);
}

int
ck_store_acme_account_update(struct ck_store *st, int64_t id,
    const char *status, const char *contact, struct ck_err *err)
{
	return write1(st,
	    prep(st, err,
	        "UPDATE acme_accounts SET status = coalesce($1, status), "
	        "contact = coalesce($2, contact) WHERE id = $3",
	        "ssi", status, contact, id),
	    "acme account", err);
}

/* ---- EAB keys ---- */

int
ck_store_acme_eab_add(struct ck_store *st, const char *kid, const char *ca,
    const uint8_t *sealed, size_t len, int64_t now, struct ck_err *err)
{
	return write1(st,
	    prep(st, err,
	        "INSERT INTO acme_eab_keys (kid, ca, hmac_sealed, created_at) "
	        "VALUES ($1, $2, $3, $4)",
	        "ssbi", kid, ca, sealed, len, now),
	    "eab key", err);
}

int
ck_store_acme_eab_get(struct ck_store *st, const char *kid, const char *ca,
    struct ck_buf *sealed, int64_t *account_id, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT hmac_sealed, coalesce(account_id, 0) FROM acme_eab_keys "
	    "WHERE kid = $1 AND ca = $2",
	    "ss", kid, ca);
	int r;

	*account_id = 0;
	if ((r = read1(st, q, "eab key", err)) != 0)
		return r;
	ck_buf_add(sealed, sqlite3_column_blob(q, 0),
	    (size_t)sqlite3_column_bytes(q, 0));
	*account_id = sqlite3_column_int64(q, 1);
	stmt_sql_done(st, q);
	return 0;
}

int
ck_store_acme_eab_bind(struct ck_store *st, const char *kid, int64_t account_id,
    struct ck_err *err)
{
	int r = write1(st,
	    prep(st, err,
	        "UPDATE acme_eab_keys SET account_id = $1 "
	        "WHERE kid = $2 AND account_id IS NULL",
	        "is", account_id, kid),
	    "eab key", err);

	if (r == 0 && sqlite3_changes(st->db) != 1)
		r = ck_err_set(err, CK_E_EXISTS,
		    "eab key %s is bound to an account already", kid);
	return r;
}

/* ---- orders ---- */

void
ck_acme_order_release(struct ck_acme_order *o)
{
	free(o->identifiers);
	free(o->error);
	free(o->replaces);
	free(o->profile);
	o->identifiers = o->error = o->replaces = o->profile = NULL;
}

int
ck_store_acme_order_add(struct ck_store *st, const struct ck_acme_order *o,
    int64_t now, int64_t *id, struct ck_err *err)
{
	int r;

	*id = 0;
	r = write1(st,
	    prep(st, err,
	        "INSERT INTO acme_orders (account_id, identifiers, expires, "
	        "not_before, not_after, replaces, created_at, profile) "
	        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	        "isiiisis", o->account_id, o->identifiers, o->expires,
	        o->not_before, o->not_after, o->replaces, now, o->profile),
	    "acme order", err);
	if (r == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return r;
}

int
ck_store_acme_order_get(struct ck_store *st, int64_t id,
    struct ck_acme_order *o, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT id, account_id, status, identifiers, error, replaces, "
	    "expires, not_before, not_after, coalesce(cert_id, 0), profile "
	    "FROM acme_orders WHERE id = $1",
	    "i", id);
	int r;

	memset(o, 0, sizeof(*o));
	if ((r = read1(st, q, "acme order", err)) != 0)
		return r;
	o->id = sqlite3_column_int64(q, 0);
	o->account_id = sqlite3_column_int64(q, 1);
	copy(o->status, sizeof(o->status), q, 2);
	o->identifiers = dup_col(q, 3);
	o->error = dup_col(q, 4);
	o->replaces = dup_col(q, 5);
	o->expires = sqlite3_column_int64(q, 6);
	o->not_before = sqlite3_column_int64(q, 7);
	o->not_after = sqlite3_column_int64(q, 8);
	o->cert_id = sqlite3_column_int64(q, 9);
	o->profile = dup_col(q, 10);
	stmt_sql_done(st, q);
	return 0;
}

int
ck_store_acme_order_set(struct ck_store *st, int64_t id, const char *status,
    int64_t cert_id, const char *error, struct ck_err *err)
{
	return write1(st,
	    prep(st, err,
	        "UPDATE acme_orders SET status = $1, "
	        "cert_id = CASE WHEN $2 = 0 THEN cert_id ELSE $2 END, "
	        "error = coalesce($3, error) WHERE id = $4",
	        "sisi", status, cert_id, error, id),
	    "acme order", err);
}

int
ck_store_acme_order_ids(struct ck_store *st, int64_t account_id,
    int64_t after_id, size_t limit, int64_t *ids, size_t *n, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT id FROM acme_orders WHERE account_id = $1 AND id > $2 "
	    "ORDER BY id LIMIT $3",
	    "iii", account_id, after_id, (int64_t)limit);
	int rc;

	*n = 0;
	if (q == NULL)
		return CK_E_DB;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < limit)
		ids[(*n)++] = sqlite3_column_int64(q, 0);
	stmt_sql_done(st, q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_err(st, rc, err, "acme orders");
	return 0;
}

int
ck_store_acme_cert_account(struct ck_store *st, int64_t cert_id,
    int64_t *account_id, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT account_id FROM acme_orders WHERE cert_id = $1 LIMIT 1",
	    "i", cert_id);
	int r;

	*account_id = 0;
	if ((r = read1(st, q, "acme order for the certificate", err)) != 0)
		return r;
	*account_id = sqlite3_column_int64(q, 0);
	stmt_sql_done(st, q);
	return 0;
}

int
ck_store_acme_account_rekey(struct ck_store *st, int64_t id,
    const char *thumbprint, const char *jwk, struct ck_err *err)
{
	NEED_TX("acme account rekey");
	/* UNIQUE (ca, thumbprint) turns a key another account holds into
	 * CK_E_EXISTS, even when two rollovers race */
	return write1(st,
	    prep(st, err,
	        "UPDATE acme_accounts SET thumbprint = $1, jwk = $2 "
	        "WHERE id = $3",
	        "ssi", thumbprint, jwk, id),
	    "acme account key", err);
}

int
ck_store_acme_eab_allow_set(
    struct ck_store *st, const char *kid, const char *allow, struct ck_err *err)
{
	NEED_TX("acme eab allow");
	return write1(st,
	    prep(st, err, "UPDATE acme_eab_keys SET allow = $1 WHERE kid = $2",
	        "ss", allow, kid),
	    "eab key", err);
}

int
ck_store_acme_eab_allow_get(struct ck_store *st, const char *kid,
    struct ck_buf *out, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT allow FROM acme_eab_keys WHERE kid = $1", "s", kid);
	int r;

	if ((r = read1(st, q, "eab key", err)) != 0)
		return r;
	ck_buf_adds(out, (const char *)sqlite3_column_text(q, 0));
	stmt_sql_done(st, q);
	return 0;
}

/* ---- rate limits ---- */

static int
count_since(struct ck_store *st, sqlite3_stmt *q, int64_t *count,
    int64_t *oldest, struct ck_err *err)
{
	int r;

	*count = *oldest = 0;
	if ((r = read1(st, q, "acme orders", err)) != 0)
		return r;
	*count = sqlite3_column_int64(q, 0);
	*oldest = sqlite3_column_int64(q, 1);
	stmt_sql_done(st, q);
	return 0;
}

int
ck_store_acme_orders_since(struct ck_store *st, int64_t account_id,
    int64_t since, int64_t *count, int64_t *oldest, struct ck_err *err)
{
	return count_since(st,
	    prep(st, err,
	        "SELECT count(*), coalesce(min(created_at), 0) FROM "
	        "acme_orders WHERE account_id = $1 AND created_at >= $2",
	        "ii", account_id, since),
	    count, oldest, err);
}

int
ck_store_acme_domain_orders_since(struct ck_store *st, const char *domain,
    int64_t since, int64_t *count, int64_t *oldest, struct ck_err *err)
{
	return count_since(st,
	    prep(st, err,
	        "SELECT count(*), coalesce(min(created_at), 0) FROM "
	        "acme_order_domains WHERE domain = $1 AND created_at >= $2",
	        "si", domain, since),
	    count, oldest, err);
}

int
ck_store_acme_order_domain_add(struct ck_store *st, int64_t order_id,
    const char *domain, int64_t now, struct ck_err *err)
{
	NEED_TX("acme order domain");
	return write1(st,
	    prep(st, err,
	        "INSERT INTO acme_order_domains (domain, order_id, "
	        "created_at) VALUES ($1, $2, $3)",
	        "sii", domain, order_id, now),
	    "acme order domain", err);
}

/* ---- renewal information ---- */

int
ck_store_acme_issued_get(struct ck_store *st, const char *ca,
    const char *serial, struct ck_acme_issued *out, struct ck_err *err)
{
	/* through issued's (ca_id, serial) index: the inventory's own
	 * serial column has none */
	sqlite3_stmt *q = prep(st, err,
	    "SELECT c.id, c.not_before, c.not_after, i.issued_at, "
	    "coalesce(c.revoked_at, 0), coalesce((SELECT o.account_id FROM "
	    "acme_orders o WHERE o.cert_id = c.id LIMIT 1), 0), "
	    "coalesce(c.aki, '') FROM issued i JOIN cas ON cas.id = i.ca_id "
	    "JOIN certificates c ON c.id = i.cert_id "
	    "WHERE cas.name = $1 AND i.serial = $2",
	    "ss", ca, serial);
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = read1(st, q, "certificate of the CA", err)) != 0)
		return r;
	out->cert_id = sqlite3_column_int64(q, 0);
	out->not_before = sqlite3_column_int64(q, 1);
	out->not_after = sqlite3_column_int64(q, 2);
	out->issued_at = sqlite3_column_int64(q, 3);
	out->revoked_at = sqlite3_column_int64(q, 4);
	out->account_id = sqlite3_column_int64(q, 5);
	copy(out->aki, sizeof(out->aki), q, 6);
	stmt_sql_done(st, q);
	return 0;
}

int
ck_store_acme_renew_early_add(struct ck_store *st, const char *ca,
    const char *serial, int64_t at, int64_t now, struct ck_err *err)
{
	NEED_TX("acme renew-early");
	return write1(st,
	    prep(st, err,
	        "INSERT INTO acme_renew_early (ca, serial, at, created_at) "
	        "VALUES ($1, $2, $3, $4)",
	        "ssii", ca, serial, at, now),
	    "renew-early", err);
}

int
ck_store_acme_renew_early_get(struct ck_store *st, const char *ca,
    const char *serial, int64_t issued_at, int64_t *at, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT min(at) FROM acme_renew_early WHERE ca = $1 AND "
	    "(serial = $2 OR serial IS NULL) AND created_at >= $3",
	    "ssi", ca, serial, issued_at);
	int r;

	*at = 0;
	if ((r = read1(st, q, "renew-early", err)) != 0)
		return r;
	if (sqlite3_column_type(q, 0) == SQLITE_NULL)
		r = ck_err_set(err, CK_E_NOTFOUND, "no renew-early");
	else
		*at = sqlite3_column_int64(q, 0);
	stmt_sql_done(st, q);
	return r;
}

int
ck_store_acme_replaced(
    struct ck_store *st, const char *certid, bool *replaced, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT count(*) FROM acme_orders WHERE replaces = $1 AND "
	    "status != 'invalid'",
	    "s", certid);
	int r;

	*replaced = false;
	if ((r = read1(st, q, "acme order", err)) != 0)
		return r;
	*replaced = sqlite3_column_int64(q, 0) > 0;
	stmt_sql_done(st, q);
	return 0;
}

/* ---- authorizations ---- */

#define AUTHZ_COLUMNS \
	"id, order_id, account_id, type, value, wildcard, status, expires"

static void
authz_from(sqlite3_stmt *q, struct ck_acme_authz *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(q, 0);
	a->order_id = sqlite3_column_int64(q, 1);
	a->account_id = sqlite3_column_int64(q, 2);
	copy(a->type, sizeof(a->type), q, 3);
	copy(a->value, sizeof(a->value), q, 4);
	a->wildcard = sqlite3_column_int(q, 5) != 0;
	copy(a->status, sizeof(a->status), q, 6);
	a->expires = sqlite3_column_int64(q, 7);
}

int
ck_store_acme_authz_add(struct ck_store *st, const struct ck_acme_authz *a,
    int64_t *id, struct ck_err *err)
{
	int r;

	*id = 0;
	r = write1(st,
	    prep(st, err,
	        "INSERT INTO acme_authzs (order_id, account_id, type, value, "
	        "wildcard, expires) VALUES ($1, $2, $3, $4, $5, $6)",
	        "iissii", a->order_id, a->account_id, a->type, a->value,
	        (int64_t)a->wildcard, a->expires),
	    "acme authorization", err);
	if (r == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return r;
}

int
ck_store_acme_authz_get(struct ck_store *st, int64_t id,
    struct ck_acme_authz *a, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT " AUTHZ_COLUMNS " FROM acme_authzs WHERE id = $1", "i", id);
	int r;

	if ((r = read1(st, q, "acme authorization", err)) != 0)
		return r;
	authz_from(q, a);
	stmt_sql_done(st, q);
	return 0;
}

int
ck_store_acme_authz_list(struct ck_store *st, int64_t order_id,
    ck_acme_authz_cb cb, void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT " AUTHZ_COLUMNS
	    " FROM acme_authzs WHERE order_id = $1 ORDER BY id",
	    "i", order_id);
	struct ck_acme_authz a;
	int rc, r = 0;

	if (q == NULL)
		return CK_E_DB;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		authz_from(q, &a);
		if ((r = cb(ctx, &a)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "acme authorizations");
	stmt_sql_done(st, q);
	return r;
}

int
ck_store_acme_authz_set(
    struct ck_store *st, int64_t id, const char *status, struct ck_err *err)
{
	return write1(st,
	    prep(st, err, "UPDATE acme_authzs SET status = $1 WHERE id = $2",
	        "si", status, id),
	    "acme authorization", err);
}

/* ---- challenges ---- */

#define CHALL_COLUMNS "id, authz_id, type, token, status, validated, error"

static void
chall_from(sqlite3_stmt *q, struct ck_acme_chall *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(q, 0);
	c->authz_id = sqlite3_column_int64(q, 1);
	copy(c->type, sizeof(c->type), q, 2);
	copy(c->token, sizeof(c->token), q, 3);
	copy(c->status, sizeof(c->status), q, 4);
	c->validated = sqlite3_column_int64(q, 5);
	copy(c->error, sizeof(c->error), q, 6);
}

int
ck_store_acme_chall_add(struct ck_store *st, int64_t authz_id, const char *type,
    const char *token, int64_t *id, struct ck_err *err)
{
	int r;

	*id = 0;
	r = write1(st,
	    prep(st, err,
	        "INSERT INTO acme_challenges (authz_id, type, token) "
	        "VALUES ($1, $2, $3)",
	        "iss", authz_id, type, token),
	    "acme challenge", err);
	if (r == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return r;
}

int
ck_store_acme_chall_get(struct ck_store *st, int64_t id,
    struct ck_acme_chall *c, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT " CHALL_COLUMNS " FROM acme_challenges WHERE id = $1", "i",
	    id);
	int r;

	if ((r = read1(st, q, "acme challenge", err)) != 0)
		return r;
	chall_from(q, c);
	stmt_sql_done(st, q);
	return 0;
}

int
ck_store_acme_chall_list(struct ck_store *st, int64_t authz_id,
    ck_acme_chall_cb cb, void *ctx, struct ck_err *err)
{
	sqlite3_stmt *q = prep(st, err,
	    "SELECT " CHALL_COLUMNS
	    " FROM acme_challenges WHERE authz_id = $1 ORDER BY id",
	    "i", authz_id);
	struct ck_acme_chall c;
	int rc, r = 0;

	if (q == NULL)
		return CK_E_DB;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		chall_from(q, &c);
		if ((r = cb(ctx, &c)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "acme challenges");
	stmt_sql_done(st, q);
	return r;
}

int
ck_store_acme_chall_start(struct ck_store *st, int64_t id, struct ck_err *err)
{
	int r = write1(st,
	    prep(st, err,
	        "UPDATE acme_challenges SET status = 'processing' "
	        "WHERE id = $1 AND status = 'pending'",
	        "i", id),
	    "acme challenge", err);

	if (r == 0 && sqlite3_changes(st->db) != 1)
		r = ck_err_set(err, CK_E_EXISTS, "challenge already started");
	return r;
}

int
ck_store_acme_chall_set(struct ck_store *st, int64_t id, const char *status,
    int64_t validated, const char *error, struct ck_err *err)
{
	return write1(st,
	    prep(st, err,
	        "UPDATE acme_challenges SET status = $1, "
	        "validated = CASE WHEN $2 = 0 THEN validated ELSE $2 END, "
	        "error = coalesce($3, error) WHERE id = $4",
	        "sisi", status, validated, error, id),
	    "acme challenge", err);
}

/* ---- nonces ---- */

/*
 * Nonce writes do not wait for the disk (synchronous=NORMAL for their
 * commits, outside a transaction only): a nonce lost in a crash costs a
 * client one badNonce retry, and a used nonce whose request changed
 * anything becomes durable with that request's own commit (the WAL is
 * synced in order). Two syncs per ACME request were most of the server's
 * time in bench/acme.
 */
static void
lazy(struct ck_store *st, bool on)
{
	if (!st->in_tx)
		sqlite3_exec(st->db,
		    on ? "PRAGMA synchronous=NORMAL"
		       : "PRAGMA synchronous=FULL",
		    NULL, NULL, NULL);
}

int
ck_store_acme_nonce_add(struct ck_store *st, const char *nonce, int64_t expires,
    int64_t now, struct ck_err *err)
{
	int r;

	lazy(st, true);
	r = write1(st,
	    prep(st, err,
	        "INSERT INTO acme_nonces (nonce, expires) VALUES ($1, $2)",
	        "si", nonce, expires),
	    "acme nonce", err);

	/* Expired nonces are dropped along the way, about once in 64 adds,
	 * so the table stays the size of the nonces in flight. */
	if (r == 0 && nonce[0] == 'A')
		r = write1(st,
		    prep(st, err, "DELETE FROM acme_nonces WHERE expires <= $1",
		        "i", now),
		    "acme nonce", err);
	lazy(st, false);
	return r;
}

int
ck_store_acme_nonce_take(
    struct ck_store *st, const char *nonce, int64_t now, struct ck_err *err)
{
	int r;

	lazy(st, true);
	r = write1(st,
	    prep(st, err,
	        "DELETE FROM acme_nonces WHERE nonce = $1 AND expires > $2",
	        "si", nonce, now),
	    "acme nonce", err);
	lazy(st, false);
	if (r == 0 && sqlite3_changes(st->db) != 1)
		r = ck_err_set(err, CK_E_NOTFOUND, "nonce unknown or used");
	return r;
}
