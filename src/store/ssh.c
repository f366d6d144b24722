/*
 * SSH public keys and OpenSSH certificates in the inventory: one row per
 * distinct key blob, and where each was seen (places of kind "ssh",
 * shared with the certificates' locations). Parsing the keys belongs to
 * src/discovery/; the store keeps the rows. Scans see few SSH keys, so
 * these statements are prepared per call rather than cached.
 */
#include "store/store_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SSH_COLUMNS                                                          \
	"id, sha256, fingerprint, key_type, algorithm, bits, comment, "      \
	"cert_type, key_id, serial, principals, valid_after, valid_before, " \
	"ca_fingerprint, first_seen, last_seen"

static int
prep(struct ck_store *st, const char *sql, sqlite3_stmt **s, struct ck_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

	if (rc != SQLITE_OK) {
		*s = NULL;
		return db_err(st, rc, err, "ssh keys");
	}
	return 0;
}

static void
bind_opt(sqlite3_stmt *s, int i, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

int
ck_store_ssh_key_put(struct ck_store *st, const struct ck_ssh_key_row *k,
    int64_t seen_at, int64_t *id, bool *is_new, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	*id = 0;
	*is_new = false;
	if (!st->in_tx)
		CK_BUG("ssh_key_put outside a transaction");
	if ((r = prep(st, "SELECT id FROM ssh_keys WHERE sha256 = $1", &s,
	         err)) != 0)
		return r;
	sqlite3_bind_blob(s, 1, k->sha256, 32, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "ssh keys");
	sqlite3_finalize(s);
	if (r != 0)
		return r;
	if (*id != 0) {
		if ((r = prep(st,
		         "UPDATE ssh_keys SET last_seen = max(last_seen, $1), "
		         "comment = coalesce($2, comment) WHERE id = $3",
		         &s, err)) != 0)
			return r;
		sqlite3_bind_int64(s, 1, seen_at);
		bind_opt(s, 2, k->comment);
		sqlite3_bind_int64(s, 3, *id);
		r = step_write(st, s, err, "ssh keys");
		sqlite3_finalize(s);
		return r;
	}
	if ((r = prep(st,
	         "INSERT INTO ssh_keys (sha256, fingerprint, key_type, "
	         "algorithm, bits, comment, cert_type, key_id, serial, "
	         "principals, valid_after, valid_before, ca_fingerprint, "
	         "first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, "
	         "$8, $9, $10, $11, $12, $13, $14, $14)",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_blob(s, 1, k->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, k->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, k->key_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, k->algorithm, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, k->bits);
	bind_opt(s, 6, k->comment);
	bind_opt(s, 7, k->cert_type);
	if (k->cert_type != NULL) {
		bind_opt(s, 8, k->key_id);
		bind_opt(s, 9, k->serial);
		bind_opt(s, 10, k->principals);
		sqlite3_bind_int64(s, 11, k->valid_after);
		if (k->valid_before != INT64_MAX)
			sqlite3_bind_int64(s, 12, k->valid_before);
		bind_opt(s, 13, k->ca_fingerprint);
	}
	sqlite3_bind_int64(s, 14, seen_at);
	if ((r = step_write(st, s, err, "ssh keys")) == 0) {
		*id = sqlite3_last_insert_rowid(st->db);
		*is_new = true;
	}
	sqlite3_finalize(s);
	return r;
}

int
ck_store_ssh_location_put(struct ck_store *st, int64_t key_id,
    const char *place, int64_t seen_at, struct ck_err *err)
{
	sqlite3_stmt *q;
	int64_t pid;
	int r, rc;

	if (!st->in_tx)
		CK_BUG("ssh_location_put outside a transaction");
	if ((q = stmt_get(st, S_PLACE_INSERT, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_text(q, 1, "ssh", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, place, -1, SQLITE_STATIC);
	if ((r = step_write(st, q, err, "places")) != 0)
		return r;
	if ((q = stmt_get(st, S_PLACE_ID, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_text(q, 1, "ssh", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, place, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW) {
		r = db_err(st, rc, err, "places");
		sqlite3_reset(q);
		return r;
	}
	pid = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if ((r = prep(st,
	         "INSERT INTO ssh_key_locations (key_id, place_id, "
	         "first_seen, last_seen, present) VALUES ($1, $2, $3, $3, 1) "
	         "ON CONFLICT (key_id, place_id) DO UPDATE SET last_seen = "
	         "max(last_seen, excluded.last_seen), present = 1",
	         &q, err)) != 0)
		return r;
	sqlite3_bind_int64(q, 1, key_id);
	sqlite3_bind_int64(q, 2, pid);
	sqlite3_bind_int64(q, 3, seen_at);
	r = step_write(st, q, err, "ssh key locations");
	sqlite3_finalize(q);
	return r;
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

int
ck_store_ssh_key_list(
    struct ck_store *st, ck_ssh_key_cb cb, void *ctx, struct ck_err *err)
{
	struct ck_ssh_key_row k;
	sqlite3_stmt *s;
	int r, rc;

	if ((r = prep(st, "SELECT " SSH_COLUMNS " FROM ssh_keys ORDER BY id",
	         &s, err)) != 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&k, 0, sizeof(k));
		k.id = sqlite3_column_int64(s, 0);
		k.sha256 = sqlite3_column_blob(s, 1);
		if (sqlite3_column_bytes(s, 1) != 32) {
			r = ck_err_set(err, CK_E_DB,
			    "store: ssh key %lld: sha256 is not 32 bytes",
			    (long long)k.id);
			break;
		}
		k.fingerprint = col_text(s, 2);
		k.key_type = col_text(s, 3);
		k.algorithm = col_text(s, 4);
		k.bits = sqlite3_column_int(s, 5);
		k.comment = col_text(s, 6);
		k.cert_type = col_text(s, 7);
		k.key_id = col_text(s, 8);
		k.serial = col_text(s, 9);
		k.principals = col_text(s, 10);
		k.valid_after = sqlite3_column_int64(s, 11);
		k.valid_before = sqlite3_column_type(s, 12) == SQLITE_NULL
		    ? INT64_MAX
		    : sqlite3_column_int64(s, 12);
		k.ca_fingerprint = col_text(s, 13);
		k.first_seen = sqlite3_column_int64(s, 14);
		k.last_seen = sqlite3_column_int64(s, 15);
		if ((r = cb(ctx, &k)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "ssh keys");
	sqlite3_finalize(s);
	return r;
}

int
ck_store_ssh_locations(struct ck_store *st, int64_t key_id, ck_location_cb cb,
    void *ctx, struct ck_err *err)
{
	struct ck_location loc;
	sqlite3_stmt *s;
	int r, rc;

	if ((r = prep(st,
	         "SELECT p.kind, p.place, l.first_seen, l.last_seen, "
	         "l.present FROM ssh_key_locations l JOIN places p ON p.id = "
	         "l.place_id WHERE l.key_id = $1 ORDER BY p.kind, p.place",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, key_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		loc.kind = col_text(s, 0);
		loc.place = col_text(s, 1);
		loc.first_seen = sqlite3_column_int64(s, 2);
		loc.last_seen = sqlite3_column_int64(s, 3);
		loc.present = sqlite3_column_int(s, 4) != 0;
		if ((r = cb(ctx, &loc)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "ssh key locations");
	sqlite3_finalize(s);
	return r;
}
