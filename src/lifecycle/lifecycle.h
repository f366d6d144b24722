/*
 * The lifecycle layer. For now: enroll, the one entry through which every
 * certificate is issued, whichever door asked: profile (policy) check,
 * issuer, inventory record and audit event, in that order, with the record
 * committed before the certificate is handed back.
 */
#ifndef CK_LIFECYCLE_H
#define CK_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"

struct ck_enroll_req {
	const char *ca; /* built-in CA name */
	const char *profile; /* tls-server, tls-client, ... */
	const uint8_t *csr; /* DER */
	size_t csr_len;
	int days; /* 0: the profile's maximum */
	const char *requested_by; /* for the audit log */
	const char *master_key; /* path or NULL */
	const char *public_url; /* base of CRL and AIA URLs, or NULL */
};

struct ck_enroll_res {
	uint8_t *der; /* the certificate */
	size_t der_len;
	int64_t cert_id;
	struct ck_buf chain_pem; /* the issuing CA up to its root, PEM */
};

/*
 * Issues a certificate for req. Refusals (bad CSR, key, names, validity,
 * unknown profile or CA) are errors with a reason and record nothing. On
 * success res is the caller's: ck_enroll_res_release().
 */
int ck_enroll(struct ck_store *st, const struct ck_enroll_req *req,
    struct ck_enroll_res *res, struct ck_err *err);
void ck_enroll_res_release(struct ck_enroll_res *res);

#endif
