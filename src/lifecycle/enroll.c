/*
 * enroll: policy (the profile), issuer (the built-in CA for now; upstream
 * connectors plug in here), then one transaction that records the
 * certificate, what issued it and an audit event. A batch signs each
 * request, then records all it signed in one transaction: one commit (one
 * fsync where the store syncs) for the lot, which is what durable issuance
 * at thousands per second needs (DESIGN.md, "Performance notes").
 */
#include "lifecycle/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "x509/x509.h"

void
ck_enroll_res_release(struct ck_enroll_res *res)
{
	free(res->der);
	res->der = NULL;
	res->der_len = 0;
	ck_buf_release(&res->chain_pem);
}

static int
chain_pem(void *ctx, const struct ck_cert_row *row)
{
	ck_pem_encode("CERTIFICATE", row->der, row->der_len, ctx);
	return 0;
}

/* What the transaction needs of one signed certificate. */
struct signed_one {
	struct ck_cert *c; /* NULL: refused before signing, or not recorded */
	int64_t ca_id, ca_cert_id;
};

/* Profile, CA signature and the parse of the result: nothing recorded. */
static int
sign_one(struct ck_store *st, const struct ck_enroll_req *req,
    struct ck_enroll_res *res, struct signed_one *so, struct ck_err *err)
{
	struct ck_sign_req sr = {0};
	int r;

	sr.profile = ck_profile_find(req->profile);
	if (sr.profile == NULL)
		return ck_err_set(err, CK_E_INVAL,
		    "unknown profile '%s' (tls-server, tls-client, "
		    "code-signing, "
		    "email, device, sub-ca)",
		    req->profile);
	sr.ca = req->ca;
	sr.master_key = req->master_key;
	sr.csr = req->csr;
	sr.csr_len = req->csr_len;
	sr.days = req->days;
	sr.public_url = req->public_url;
	if ((r = ck_ca_sign(st, &sr, &res->der, &res->der_len, &so->ca_id,
	         &so->ca_cert_id, err)) != 0 ||
	    (r = ck_x509_parse(
	         res->der, res->der_len, CK_PARSE_CORE, &so->c, err)) != 0)
		return r;
	return 0;
}

/*
 * Records one signed certificate inside the open transaction: the row,
 * what issued it and the audit event. A serial another writer took since
 * ck_ca_sign() looked is this request's refusal alone (CK_E_EXISTS, nothing
 * written for it); any other failure is the transaction's.
 */
static int
record_one(struct ck_store *st, const struct ck_enroll_req *req,
    const struct signed_one *so, struct ck_enroll_res *res, bool *refused,
    struct ck_err *err)
{
	struct ck_buf sha = CK_BUF_INIT;
	const struct ck_cert *c = so->c;
	char detail[512];
	bool is_new, taken;
	int r;

	*refused = false;
	if ((r = ck_store_serial_taken(
	         st, so->ca_id, c->serial, &taken, err)) != 0)
		return r;
	if (taken) {
		*refused = true;
		return ck_err_set(err, CK_E_EXISTS,
		    "serial %s was taken meanwhile; ask again", c->serial);
	}
	ck_buf_addhex(&sha, c->sha256, 32, 0);
	snprintf(detail, sizeof(detail), "CA %s, profile %s, serial %s, %s",
	    req->ca, req->profile, c->serial, c->subject);
	if ((r = ck_store_cert_put(
	         st, c, ck_now(), &res->cert_id, &is_new, err)) != 0 ||
	    (r = ck_store_cert_signed_by(
	         st, res->cert_id, so->ca_cert_id, err)) != 0 ||
	    (r = ck_store_issued_add(st, res->cert_id, so->ca_id, c->serial,
	         req->profile, req->requested_by, err)) != 0 ||
	    (r = ck_store_event_add(
	         st, req->requested_by, "cert.issue", sha.p, detail, err)) != 0)
		goto out;
	if (req->recorded != NULL)
		r = req->recorded(req->recorded_arg, st, res, err);
out:
	ck_buf_release(&sha);
	return r;
}

int
ck_enroll_batch(struct ck_store *st, const struct ck_enroll_req *reqs, size_t n,
    struct ck_enroll_res *res, int *codes, struct ck_err *errs)
{
	struct signed_one *so = ck_calloc(n ? n : 1, sizeof(*so));
	struct ck_buf chain = CK_BUF_INIT;
	struct ck_err txe = {0}; /* the transaction's own failure */
	int64_t chain_of = 0;
	size_t i, n_signed = 0;
	bool tx = false, refused;
	int r = 0;

	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		if (errs != NULL)
			ck_err_clear(&errs[i]);
		codes[i] = sign_one(
		    st, &reqs[i], &res[i], &so[i], errs ? &errs[i] : NULL);
		if (codes[i] == 0)
			n_signed++;
	}
	if (n_signed == 0)
		goto out;
	/* One transaction, one commit, for every certificate signed. */
	if ((r = ck_store_begin(st, &txe)) != 0)
		goto out;
	tx = true;
	for (i = 0; i < n; i++) {
		struct ck_err *e = errs ? &errs[i] : NULL;

		if (codes[i] != 0)
			continue;
		codes[i] =
		    record_one(st, &reqs[i], &so[i], &res[i], &refused, e);
		if (codes[i] != 0 && !refused) {
			r = codes[i];
			if (e != NULL)
				txe = *e;
			goto out;
		}
	}
	r = ck_store_commit(st, &txe);
	tx = false;
	if (r != 0)
		goto out;
	/* Recorded: now, and only now, the certificates go back, each with
	 * its chain (the same for every one of a CA, so made once). */
	for (i = 0; i < n; i++) {
		if (codes[i] != 0)
			continue;
		if (so[i].ca_cert_id != chain_of) {
			ck_buf_reset(&chain);
			chain_of = 0;
			codes[i] = ck_store_chain(st, so[i].ca_cert_id,
			    chain_pem, &chain, errs ? &errs[i] : NULL);
			if (codes[i] != 0)
				continue;
			chain_of = so[i].ca_cert_id;
		}
		ck_buf_add(&res[i].chain_pem, chain.p, chain.len);
	}
out:
	if (tx)
		ck_store_rollback(st);
	for (i = 0; i < n; i++) {
		/* The transaction failed: nothing of it was recorded, so
		 * every request it held fails with it. */
		if (r != 0 && so[i].c != NULL) {
			codes[i] = r;
			if (errs != NULL)
				errs[i] = txe;
		}
		if (codes[i] != 0)
			ck_enroll_res_release(&res[i]);
		ck_cert_free(so[i].c);
	}
	free(so);
	ck_buf_release(&chain);
	return r;
}

int
ck_enroll(struct ck_store *st, const struct ck_enroll_req *req,
    struct ck_enroll_res *res, struct ck_err *err)
{
	int code, r;

	r = ck_enroll_batch(st, req, 1, res, &code, err);
	return r != 0 ? r : code;
}

struct chain_put {
	struct ck_store *st;
	struct ck_err *err;
	int r;
};

static int
put_chain_cert(void *ctx, const struct ck_item *it)
{
	struct chain_put *cp = ctx;
	struct ck_cert *c = NULL;
	bool is_new;
	int64_t id;

	if (it->kind != CK_ITEM_CERT ||
	    ck_x509_parse(it->der, it->der_len, CK_PARSE_CORE, &c, NULL) != 0)
		return 0;
	cp->r = ck_store_cert_put(cp->st, c, ck_now(), &id, &is_new, cp->err);
	ck_cert_free(c);
	return cp->r;
}

int
ck_enroll_record(struct ck_store *st, const char *issuer, const uint8_t *der,
    size_t der_len, const char *chain_pem, size_t chain_len,
    const char *requested_by,
    int (*recorded)(void *arg, struct ck_store *st,
        const struct ck_enroll_res *res, struct ck_err *err),
    void *arg, int64_t *cert_id, struct ck_err *err)
{
	struct ck_enroll_res res = {0};
	struct ck_buf sha = CK_BUF_INIT;
	struct ck_cert *c = NULL;
	char detail[512];
	bool is_new;
	int r;

	if ((r = ck_x509_parse(der, der_len, CK_PARSE_CORE, &c, err)) != 0)
		return r;
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	/* Issuers first, so that the leaf links to them as it goes in. */
	if (chain_len > 0) {
		struct chain_put cp = {st, err, 0};

		(void)ck_x509_ingest((const uint8_t *)chain_pem, chain_len,
		    NULL, put_chain_cert, &cp, NULL);
		if ((r = cp.r) != 0)
			goto out;
	}
	ck_buf_addhex(&sha, c->sha256, 32, 0);
	snprintf(detail, sizeof(detail), "issuer %s, serial %s, %s", issuer,
	    c->serial, c->subject);
	if ((r = ck_store_cert_put(
	         st, c, ck_now(), &res.cert_id, &is_new, err)) != 0 ||
	    (r = ck_store_event_add(
	         st, requested_by, "cert.issue", sha.p, detail, err)) != 0)
		goto out;
	if (recorded != NULL) {
		res.der = (uint8_t *)der;
		res.der_len = der_len;
		r = recorded(arg, st, &res, err);
		res.der = NULL;
		if (r != 0)
			goto out;
	}
	if ((r = ck_store_commit(st, err)) == 0 && cert_id != NULL)
		*cert_id = res.cert_id;
out:
	if (r != 0)
		ck_store_rollback(st);
	ck_cert_free(c);
	ck_buf_release(&sha);
	return r;
}
