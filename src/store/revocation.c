/*
 * Revocation state of the certificates the built-in CAs issued, and the
 * CRLs they signed.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static int
prep(struct ck_store *st, const char *sql, sqlite3_stmt **s, struct ck_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

	return rc == SQLITE_OK ? 0 : db_err(st, rc, err, "revocation");
}

int
ck_store_cert_revoke(struct ck_store *st, int64_t cert_id, int64_t at,
    int reason, bool *already, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	char rs[16];
	int r;

	*already = false;
	if (!st->in_tx)
		CK_BUG("cert_revoke outside a transaction");
	if ((r = prep(st,
	         "UPDATE certificates SET revoked_at = $1, revocation_reason = "
	         "$2 WHERE id = $3 AND revoked_at IS NULL",
	         &s, err)) != 0)
		return r;
	snprintf(rs, sizeof(rs), "%d", reason);
	sqlite3_bind_int64(s, 1, at);
	sqlite3_bind_text(s, 2, rs, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, cert_id);
	r = step_write(st, s, err, "revoke");
	if (r == 0)
		*already = sqlite3_changes(st->db) == 0;
	sqlite3_finalize(s);
	return r;
}

int
ck_store_issued_by(struct ck_store *st, int64_t cert_id, int64_t *ca_id,
    char **serial, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	*ca_id = 0;
	*serial = NULL;
	if ((r = prep(st, "SELECT ca_id, serial FROM issued WHERE cert_id = $1",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, cert_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*ca_id = sqlite3_column_int64(s, 0);
		*serial = ck_strdup((const char *)sqlite3_column_text(s, 1));
	} else if (rc != SQLITE_DONE) {
		r = db_err(st, rc, err, "issued");
	}
	sqlite3_finalize(s);
	return r;
}

int
ck_store_revoked_list(struct ck_store *st, int64_t ca_id, int64_t now,
    ck_revoked_cb cb, void *ctx, struct ck_err *err)
{
	struct ck_revoked rv;
	sqlite3_stmt *s = NULL;
	int r, rc;

	if ((r = prep(st,
	         "SELECT i.serial, c.revoked_at, c.revocation_reason FROM "
	         "issued "
	         "i JOIN certificates c ON c.id = i.cert_id WHERE i.ca_id = $1 "
	         "AND c.revoked_at IS NOT NULL AND c.not_after >= $2 ORDER BY "
	         "c.revoked_at, i.serial",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_int64(s, 2, now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		rv.serial = (const char *)sqlite3_column_text(s, 0);
		rv.revoked_at = sqlite3_column_int64(s, 1);
		rv.reason = sqlite3_column_int(s, 2);
		if ((r = cb(ctx, &rv)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "revoked");
	sqlite3_finalize(s);
	return r;
}

int
ck_store_crl_latest(struct ck_store *st, int64_t ca_id, int64_t *number,
    int64_t *next_update, uint8_t **der, size_t *der_len, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	*number = *next_update = 0;
	*der = NULL;
	*der_len = 0;
	if ((r = prep(st,
	         "SELECT number, next_update, der FROM crls WHERE ca_id = $1 "
	         "ORDER BY number DESC LIMIT 1",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, ca_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*number = sqlite3_column_int64(s, 0);
		*next_update = sqlite3_column_int64(s, 1);
		*der_len = (size_t)sqlite3_column_bytes(s, 2);
		*der = ck_memdup(sqlite3_column_blob(s, 2), *der_len);
	} else if (rc != SQLITE_DONE) {
		r = db_err(st, rc, err, "crls");
	}
	sqlite3_finalize(s);
	return r;
}

int
ck_store_crl_add(struct ck_store *st, int64_t ca_id, int64_t number,
    int64_t this_update, int64_t next_update, const uint8_t *der,
    size_t der_len, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r;

	if (!st->in_tx)
		CK_BUG("crl_add outside a transaction");
	if ((r = prep(st,
	         "INSERT INTO crls (ca_id, number, this_update, next_update, "
	         "der) "
	         "VALUES ($1, $2, $3, $4, $5)",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_int64(s, 2, number);
	sqlite3_bind_int64(s, 3, this_update);
	sqlite3_bind_int64(s, 4, next_update);
	sqlite3_bind_blob(s, 5, der, (int)der_len, SQLITE_STATIC);
	r = step_write(st, s, err, "crls");
	sqlite3_finalize(s);
	return r;
}

int
ck_store_serial_status(struct ck_store *st, int64_t ca_id, const char *serial,
    int *status, int64_t *revoked_at, int *reason, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	*status = 2;
	*revoked_at = 0;
	*reason = 0;
	if ((r = prep(st,
	         "SELECT c.revoked_at, c.revocation_reason FROM issued i JOIN "
	         "certificates c ON c.id = i.cert_id WHERE i.ca_id = $1 AND "
	         "i.serial = $2",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) == SQLITE_NULL) {
			*status = 0;
		} else {
			*status = 1;
			*revoked_at = sqlite3_column_int64(s, 0);
			*reason = sqlite3_column_int(s, 1);
		}
	} else if (rc != SQLITE_DONE) {
		r = db_err(st, rc, err, "issued");
	}
	sqlite3_finalize(s);
	return r;
}

int
ck_store_responder_get(struct ck_store *st, int64_t ca_id, uint8_t **cert_der,
    size_t *cert_len, uint8_t **key_sealed, size_t *key_len, int64_t *not_after,
    struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	*cert_der = *key_sealed = NULL;
	*cert_len = *key_len = 0;
	*not_after = 0;
	if ((r = prep(st,
	         "SELECT c.der, o.key_sealed, o.not_after FROM ocsp_responders "
	         "o "
	         "JOIN certificates c ON c.id = o.cert_id WHERE o.ca_id = $1",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, ca_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*cert_len = (size_t)sqlite3_column_bytes(s, 0);
		*cert_der = ck_memdup(sqlite3_column_blob(s, 0), *cert_len);
		*key_len = (size_t)sqlite3_column_bytes(s, 1);
		*key_sealed = ck_memdup(sqlite3_column_blob(s, 1), *key_len);
		*not_after = sqlite3_column_int64(s, 2);
	} else if (rc == SQLITE_DONE) {
		r = ck_err_set(err, CK_E_NOTFOUND, "no OCSP responder yet");
	} else {
		r = db_err(st, rc, err, "ocsp_responders");
	}
	sqlite3_finalize(s);
	return r;
}

int
ck_store_responder_set(struct ck_store *st, int64_t ca_id, int64_t cert_id,
    const uint8_t *key_sealed, size_t key_len, int64_t not_after,
    struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r;

	if (!st->in_tx)
		CK_BUG("responder_set outside a transaction");
	if ((r = prep(st,
	         "INSERT INTO ocsp_responders (ca_id, cert_id, key_sealed, "
	         "not_after) VALUES ($1, $2, $3, $4) ON CONFLICT (ca_id) DO "
	         "UPDATE SET cert_id = excluded.cert_id, key_sealed = "
	         "excluded.key_sealed, not_after = excluded.not_after",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_int64(s, 2, cert_id);
	sqlite3_bind_blob(s, 3, key_sealed, (int)key_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, not_after);
	r = step_write(st, s, err, "ocsp_responders");
	sqlite3_finalize(s);
	return r;
}

int
ck_store_ocsp_cache_get(struct ck_store *st, int64_t ca_id,
    const char *hash_alg, const char *serial, int64_t *this_update,
    uint8_t **der, size_t *der_len, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	*der = NULL;
	*der_len = 0;
	*this_update = 0;
	if ((r = prep(st,
	         "SELECT this_update, der FROM ocsp_cache WHERE ca_id = $1 AND "
	         "hash_alg = $2 AND serial = $3",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_text(s, 2, hash_alg, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*this_update = sqlite3_column_int64(s, 0);
		*der_len = (size_t)sqlite3_column_bytes(s, 1);
		*der = ck_memdup(sqlite3_column_blob(s, 1), *der_len);
	} else if (rc != SQLITE_DONE) {
		r = db_err(st, rc, err, "ocsp_cache");
	}
	sqlite3_finalize(s);
	return r;
}

int
ck_store_ocsp_cache_put(struct ck_store *st, int64_t ca_id,
    const char *hash_alg, const char *serial, int64_t this_update,
    const uint8_t *der, size_t der_len, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r;

	if ((r = prep(st,
	         "INSERT INTO ocsp_cache (ca_id, hash_alg, serial, "
	         "this_update, "
	         "der) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ca_id, "
	         "hash_alg, serial) DO UPDATE SET this_update = "
	         "excluded.this_update, der = excluded.der",
	         &s, err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_text(s, 2, hash_alg, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, this_update);
	sqlite3_bind_blob(s, 5, der, (int)der_len, SQLITE_STATIC);
	r = step_write(st, s, err, "ocsp_cache");
	sqlite3_finalize(s);
	return r;
}

int
ck_store_ocsp_cache_drop(
    struct ck_store *st, int64_t ca_id, const char *serial, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r;

	if ((r = prep(st,
	         "DELETE FROM ocsp_cache WHERE ca_id = $1 AND serial = $2", &s,
	         err)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
	r = step_write(st, s, err, "ocsp_cache");
	sqlite3_finalize(s);
	return r;
}
