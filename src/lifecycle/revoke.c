/*
 * Revocation: the record (revoked_at, reason), the OCSP cache entries that
 * would still say "good", the audit event, then a fresh CRL. The record is
 * committed before the CRL is signed, so a CRL failure never loses it.
 */
#include "lifecycle/revoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ca/ca.h"

static int
on_row(void *ctx, const struct ck_cert_row *r)
{
	int64_t *at = ctx;

	*at = r->revoked_at;
	return 0;
}

int
ck_revoke(struct ck_store *st, int64_t id, int reason, const char *actor,
    const char *master_key, struct ck_revoke_res *res, struct ck_err *err)
{
	char *serial = NULL, *ca = NULL, detail[256];
	int64_t ca_id, now = ck_now(), before = 0;
	uint8_t *crl = NULL;
	size_t crl_len;
	bool tx = false;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = ck_store_issued_by(st, id, &ca_id, &serial, err)) != 0)
		goto out;
	if (ca_id == 0) {
		r = ck_err_set(err, CK_E_INVAL,
		    "certificate %lld was not issued by a built-in CA; revoke "
		    "it through the CA that issued it",
		    (long long)id);
		goto out;
	}
	if ((r = ck_store_ca_name(st, ca_id, &ca, err)) != 0 ||
	    (r = ck_store_cert_get(st, id, on_row, &before, err)) != 0)
		goto out;
	snprintf(res->serial, sizeof(res->serial), "%s", serial);
	snprintf(res->ca, sizeof(res->ca), "%s", ca);
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	tx = true;
	if ((r = ck_store_cert_revoke(
	         st, id, now, reason, &res->already, err)) != 0)
		goto out;
	if (res->already) {
		ck_store_rollback(st);
		tx = false;
		res->revoked_at = before;
		goto out;
	}
	res->revoked_at = now;
	res->reason = reason;
	snprintf(detail, sizeof(detail), "CA %s, serial %s, reason %s", ca,
	    serial, ck_crl_reason_name(reason));
	if ((r = ck_store_ocsp_cache_drop(st, ca_id, serial, err)) != 0 ||
	    (r = ck_store_event_add(
	         st, actor, "cert.revoke", serial, detail, err)) != 0 ||
	    (r = ck_store_commit(st, err)) != 0)
		goto out;
	tx = false;
	if (ck_ca_crl(
	        st, ca, master_key, true, &crl, &crl_len, &res->crl_err) != 0)
		res->crl_failed = true;
out:
	if (tx)
		ck_store_rollback(st);
	free(crl);
	free(serial);
	free(ca);
	return r;
}
