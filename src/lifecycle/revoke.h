/*
 * Revocation through the built-in CA that issued a certificate: one entry
 * shared by `certkeep revoke` and the REST API.
 */
#ifndef CK_LIFECYCLE_REVOKE_H
#define CK_LIFECYCLE_REVOKE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

struct ck_revoke_res {
	bool already; /* it was revoked before: nothing changed */
	int64_t revoked_at; /* the (first) revocation time */
	int reason; /* the (first) reason... for a new revocation */
	char serial[80];
	char ca[128];
	bool crl_failed; /* revoked, but the new CRL could not be signed */
	struct ck_err crl_err;
};

/*
 * Marks certificate id revoked for reason (RFC 5280 code) if a built-in CA
 * issued it, drops its cached OCSP answers and writes the audit event in
 * one transaction, then signs a new CRL. Revoking twice changes nothing
 * (res->already). CK_E_INVAL when no built-in CA issued it.
 */
int ck_revoke(struct ck_store *st, int64_t id, int reason, const char *actor,
    const char *master_key, struct ck_revoke_res *res, struct ck_err *err);

#endif
