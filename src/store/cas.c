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

#define CA_COLUMNS                                                         \
	"id, name, cert_id, parent_id, key_type, key_sealed, created_at, " \
	"state"

int
ck_store_ca_add(struct ck_store *st, const struct ck_ca_row *ca, int64_t *id,
    struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	*id = 0;
	if (!st->in_tx)
		CK_BUG("ca_add outside a transaction");
	rc = sqlite3_prepare_v2(st->db,
	    "INSERT INTO cas (name, cert_id, parent_id, key_type, key_sealed, "
	    "created_at, state) VALUES ($1, $2, $3, $4, $5, $6, 'active') "
	    "ON CONFLICT (name) DO NOTHING RETURNING id",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc, err, "cas");
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
	sqlite3_finalize(s);
	return r;
}

static int
query(struct ck_store *st, const char *name, ck_ca_cb cb, void *ctx,
    struct ck_err *err)
{
	struct ck_ca_row ca;
	sqlite3_stmt *s = NULL;
	int rc, r = 0, n = 0;

	rc = sqlite3_prepare_v2(st->db,
	    name ? "SELECT " CA_COLUMNS " FROM cas WHERE name = $1"
	         : "SELECT " CA_COLUMNS " FROM cas ORDER BY name",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc, err, "cas");
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
	sqlite3_finalize(s);
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
	int rc;

	*taken = false;
	rc = sqlite3_prepare_v2(st->db,
	    "SELECT 1 FROM issued WHERE ca_id = $1 AND serial = $2", -1, &s,
	    NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc, err, "issued");
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*taken = rc == SQLITE_ROW;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, rc, err, "issued");
	return 0;
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
	rc = sqlite3_prepare_v2(st->db,
	    "INSERT INTO issued (cert_id, ca_id, serial, profile, "
	    "requested_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6)",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc, err, "issued");
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
	sqlite3_finalize(s);
	return r;
}

int
ck_store_ca_name(
    struct ck_store *st, int64_t id, char **name, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	*name = NULL;
	rc = sqlite3_prepare_v2(
	    st->db, "SELECT name FROM cas WHERE id = $1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc, err, "cas");
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*name = ck_strdup((const char *)sqlite3_column_text(s, 0));
	else if (rc == SQLITE_DONE)
		r = ck_err_set(
		    err, CK_E_NOTFOUND, "no CA with id %lld", (long long)id);
	else
		r = db_err(st, rc, err, "cas");
	sqlite3_finalize(s);
	return r;
}
