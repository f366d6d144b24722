/*
 * The built-in CAs' rows: name, certificate, parent and sealed key. The
 * sealing itself (and the master key) belongs to src/ca/; the store only
 * keeps the bytes.
 */
#include "store/store_int.h"

#include <string.h>

#include "base/clock.h"
#include "base/mem.h"

static void
ca_from_stmt(sqlite3_stmt *s, struct ck_ca_row *ca)
{
	ca->id = sqlite3_column_int64(s, 0);
	ca->name = (const char *)sqlite3_column_text(s, 1);
	ca->cert_id = sqlite3_column_int64(s, 2);
	ca->parent_id = sqlite3_column_int64(s, 3);
	ca->key_type = (const char *)sqlite3_column_text(s, 4);
	ca->key_sealed = sqlite3_column_blob(s, 5);
	ca->key_sealed_len = (size_t)sqlite3_column_bytes(s, 5);
	ca->created_at = sqlite3_column_int64(s, 6);
	ca->state = (const char *)sqlite3_column_text(s, 7);
}

int
ck_store_ca_add(struct ck_store *st, const struct ck_ca_row *ca, int64_t *id,
    struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	*id = 0;
	if (!st->in_tx)
		CK_BUG("ca_add outside a transaction");
	if ((s = stmt_open(st, S_CA_ADD, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_text(s, 1, ca->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, ca->cert_id);
	if (ca->parent_id > 0)
		sqlite3_bind_int64(s, 3, ca->parent_id);
	sqlite3_bind_text(s, 4, ca->key_type, -1, SQLITE_STATIC);
	sqlite3_bind_blob(
	    s, 5, ca->key_sealed, (int)ca->key_sealed_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, ca->created_at);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		r = ck_err_set(err, CK_E_EXISTS,
		    "a CA called '%s' exists already", ca->name);
	else
		r = db_err(st, rc, err, "cas");
	stmt_close(st, S_CA_ADD, s);
	return r;
}

static int
query(struct ck_store *st, const char *name, ck_ca_cb cb, void *ctx,
    struct ck_err *err)
{
	struct ck_ca_row ca;
	enum stmt_id id = name ? S_CA_BY_NAME : S_CA_ALL;
	sqlite3_stmt *s = NULL;
	int rc, r = 0, n = 0;

	if ((s = stmt_open(st, id, err)) == NULL)
		return CK_E_DB;
	if (name != NULL)
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ca_from_stmt(s, &ca);
		n++;
		if ((r = cb(ctx, &ca)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "cas");
	else if (r == 0 && name != NULL && n == 0)
		r = ck_err_set(err, CK_E_NOTFOUND, "no CA called '%s'", name);
	stmt_close(st, id, s);
	return r;
}

int
ck_store_ca_get(struct ck_store *st, const char *name, ck_ca_cb cb, void *ctx,
    struct ck_err *err)
{
	return query(st, name, cb, ctx, err);
}

int
ck_store_ca_list(
    struct ck_store *st, ck_ca_cb cb, void *ctx, struct ck_err *err)
{
	return query(st, NULL, cb, ctx, err);
}

int
ck_store_serial_taken(struct ck_store *st, int64_t ca_id, const char *serial,
    bool *taken, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, r;

	*taken = false;
	if ((s = stmt_open(st, S_SERIAL_TAKEN, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*taken = rc == SQLITE_ROW;
	r = rc != SQLITE_ROW && rc != SQLITE_DONE
	    ? db_err(st, rc, err, "issued")
	    : 0;
	stmt_close(st, S_SERIAL_TAKEN, s);
	return r;
}

int
ck_store_issued_add(struct ck_store *st, int64_t cert_id, int64_t ca_id,
    const char *serial, const char *profile, const char *requested_by,
    struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	if (!st->in_tx)
		CK_BUG("issued_add outside a transaction");
	if ((s = stmt_open(st, S_ISSUED_ADD, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, cert_id);
	sqlite3_bind_int64(s, 2, ca_id);
	sqlite3_bind_text(s, 3, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, requested_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, ck_now());
	rc = sqlite3_step(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		r = ck_err_set(err, CK_E_EXISTS,
		    "serial %s is already used by this CA", serial);
	else if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "issued");
	stmt_close(st, S_ISSUED_ADD, s);
	return r;
}

int
ck_store_ca_name(
    struct ck_store *st, int64_t id, char **name, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	*name = NULL;
	if ((s = stmt_open(st, S_CA_NAME, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*name = ck_strdup((const char *)sqlite3_column_text(s, 0));
	else if (rc == SQLITE_DONE)
		r = ck_err_set(
		    err, CK_E_NOTFOUND, "no CA with id %lld", (long long)id);
	else
		r = db_err(st, rc, err, "cas");
	stmt_close(st, S_CA_NAME, s);
	return r;
}
