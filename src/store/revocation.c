/*
 * Revocation state of the certificates the built-in CAs issued, and the
 * CRLs they signed.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

int
ck_store_cert_revoke(struct ck_store *st, int64_t cert_id, int64_t at,
    int reason, bool *already, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	char rs[16];
	int r = 0;

	*already = false;
	if (!st->in_tx)
		CK_BUG("cert_revoke outside a transaction");
	if ((s = stmt_open(st, S_REVOKE, err)) == NULL)
		return CK_E_DB;
	snprintf(rs, sizeof(rs), "%d", reason);
	sqlite3_bind_int64(s, 1, at);
	sqlite3_bind_text(s, 2, rs, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, cert_id);
	r = step_write(st, s, err, "revoke");
	if (r == 0)
		*already = sqlite3_changes(st->db) == 0;
	stmt_close(st, S_REVOKE, s);
	return r;
}

int
ck_store_issued_by(struct ck_store *st, int64_t cert_id, int64_t *ca_id,
    char **serial, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0, rc;

	*ca_id = 0;
	*serial = NULL;
	if ((s = stmt_open(st, S_ISSUED_BY, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, cert_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*ca_id = sqlite3_column_int64(s, 0);
		*serial = ck_strdup((const char *)sqlite3_column_text(s, 1));
	} else if (rc != SQLITE_DONE) {
		r = db_err(st, rc, err, "issued");
	}
	stmt_close(st, S_ISSUED_BY, s);
	return r;
}

int
ck_store_revoked_list(struct ck_store *st, int64_t ca_id, int64_t now,
    ck_revoked_cb cb, void *ctx, struct ck_err *err)
{
	struct ck_revoked rv;
	sqlite3_stmt *s = NULL;
	int r = 0, rc;

	if ((s = stmt_open(st, S_REVOKED_LIST, err)) == NULL)
		return CK_E_DB;
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
	stmt_close(st, S_REVOKED_LIST, s);
	return r;
}

int
ck_store_crl_latest(struct ck_store *st, int64_t ca_id, int64_t *number,
    int64_t *next_update, uint8_t **der, size_t *der_len, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0, rc;

	*number = *next_update = 0;
	*der = NULL;
	*der_len = 0;
	if ((s = stmt_open(st, S_CRL_LATEST, err)) == NULL)
		return CK_E_DB;
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
	stmt_close(st, S_CRL_LATEST, s);
	return r;
}

int
ck_store_crl_add(struct ck_store *st, int64_t ca_id, int64_t number,
    int64_t this_update, int64_t next_update, const uint8_t *der,
    size_t der_len, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0;

	if (!st->in_tx)
		CK_BUG("crl_add outside a transaction");
	if ((s = stmt_open(st, S_CRL_ADD, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_int64(s, 2, number);
	sqlite3_bind_int64(s, 3, this_update);
	sqlite3_bind_int64(s, 4, next_update);
	sqlite3_bind_blob(s, 5, der, (int)der_len, SQLITE_STATIC);
	r = step_write(st, s, err, "crls");
	stmt_close(st, S_CRL_ADD, s);
	return r;
}

int
ck_store_serial_status(struct ck_store *st, int64_t ca_id, const char *serial,
    int *status, int64_t *revoked_at, int *reason, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0, rc;

	*status = 2;
	*revoked_at = 0;
	*reason = 0;
	if ((s = stmt_open(st, S_SERIAL_STATUS, err)) == NULL)
		return CK_E_DB;
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
	stmt_close(st, S_SERIAL_STATUS, s);
	return r;
}

int
ck_store_responder_get(struct ck_store *st, int64_t ca_id, uint8_t **cert_der,
    size_t *cert_len, uint8_t **key_sealed, size_t *key_len, int64_t *not_after,
    struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0, rc;

	*cert_der = *key_sealed = NULL;
	*cert_len = *key_len = 0;
	*not_after = 0;
	if ((s = stmt_open(st, S_RESPONDER_GET, err)) == NULL)
		return CK_E_DB;
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
	stmt_close(st, S_RESPONDER_GET, s);
	return r;
}

int
ck_store_responder_set(struct ck_store *st, int64_t ca_id, int64_t cert_id,
    const uint8_t *key_sealed, size_t key_len, int64_t not_after,
    struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0;

	if (!st->in_tx)
		CK_BUG("responder_set outside a transaction");
	if ((s = stmt_open(st, S_RESPONDER_SET, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_int64(s, 2, cert_id);
	sqlite3_bind_blob(s, 3, key_sealed, (int)key_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, not_after);
	r = step_write(st, s, err, "ocsp_responders");
	stmt_close(st, S_RESPONDER_SET, s);
	return r;
}

int
ck_store_ocsp_cache_get(struct ck_store *st, int64_t ca_id,
    const char *hash_alg, const char *serial, int64_t *this_update,
    uint8_t **der, size_t *der_len, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0, rc;

	*der = NULL;
	*der_len = 0;
	*this_update = 0;
	if ((s = stmt_open(st, S_OCSP_CACHE_GET, err)) == NULL)
		return CK_E_DB;
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
	stmt_close(st, S_OCSP_CACHE_GET, s);
	return r;
}

int
ck_store_ocsp_cache_put(struct ck_store *st, int64_t ca_id,
    const char *hash_alg, const char *serial, int64_t this_update,
    const uint8_t *der, size_t der_len, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0;

	if ((s = stmt_open(st, S_OCSP_CACHE_PUT, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_text(s, 2, hash_alg, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, this_update);
	sqlite3_bind_blob(s, 5, der, (int)der_len, SQLITE_STATIC);
	r = step_write(st, s, err, "ocsp_cache");
	stmt_close(st, S_OCSP_CACHE_PUT, s);
	return r;
}

int
ck_store_ocsp_cache_drop(
    struct ck_store *st, int64_t ca_id, const char *serial, struct ck_err *err)
{
	sqlite3_stmt *s = NULL;
	int r = 0;

	if ((s = stmt_open(st, S_OCSP_CACHE_DROP, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, ca_id);
	sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
	r = step_write(st, s, err, "ocsp_cache");
	stmt_close(st, S_OCSP_CACHE_DROP, s);
	return r;
}
