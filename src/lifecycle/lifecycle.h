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

struct ck_enroll_res;

struct ck_enroll_req {
	const char *ca; /* built-in CA name */
	const char *profile; /* tls-server, tls-client, ... */
	const uint8_t *csr; /* DER */
	size_t csr_len;
	int days; /* 0: the profile's maximum */
	const char *requested_by; /* for the audit log */
	const char *master_key; /* path or NULL */
	const char *public_url; /* base of CRL and AIA URLs, or NULL */
	/* Called inside the transaction that records the certificate, once
	 * it is recorded (res->cert_id set), so that what the caller keeps
	 * about it commits with it or not at all; non-zero fails the whole
	 * transaction. May be NULL. */
	int (*recorded)(void *arg, struct ck_store *st,
	    const struct ck_enroll_res *res, struct ck_err *err);
	void *recorded_arg;
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

/*
 * Issues a certificate for each of the n requests and records all those it
 * signed in one transaction, so that one commit serves the lot. codes[i]
 * gets request i's outcome: 0, or the refusal that ck_enroll() would give
 * it, with the reason in errs[i] (errs may be NULL). One request's refusal
 * leaves the others alone. res[i] is the caller's (ck_enroll_res_release())
 * and holds a certificate only when codes[i] is 0, which is only after the
 * commit. Returns 0 when the transaction committed (or there was nothing
 * to record), else its error, which then is also the code of every request
 * it held: none of them was recorded. Blocks on signing and on the store.
 */
int ck_enroll_batch(struct ck_store *st, const struct ck_enroll_req *reqs,
    size_t n, struct ck_enroll_res *res, int *codes, struct ck_err *errs);

/*
 * Records a certificate an upstream issuer made: the leaf (der) and the
 * certificates of chain_pem go into the inventory, with an audit event
 * naming the issuer connector, then recorded(arg, ...) as above, in one
 * transaction. The leaf's checks are the caller's (the connector's result
 * is not trusted: see the renewer). *cert_id gets the leaf's row.
 */
int ck_enroll_record(struct ck_store *st, const char *issuer,
    const uint8_t *der, size_t der_len, const char *chain_pem, size_t chain_len,
    const char *requested_by,
    int (*recorded)(void *arg, struct ck_store *st,
        const struct ck_enroll_res *res, struct ck_err *err),
    void *arg, int64_t *cert_id, struct ck_err *err);

#endif
