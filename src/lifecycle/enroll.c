/*
 * enroll: policy (the profile), issuer (the built-in CA for now; upstream
 * connectors plug in here), then one transaction that records the
 * certificate, what issued it and an audit event.
 */
#include "lifecycle/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
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

int
ck_enroll(struct ck_store *st, const struct ck_enroll_req *req,
    struct ck_enroll_res *res, struct ck_err *err)
{
	struct ck_sign_req sr = {0};
	struct ck_cert *c = NULL;
	struct ck_buf sha = CK_BUF_INIT;
	int64_t ca_id, ca_cert_id;
	char detail[512];
	bool is_new, tx = false;
	int r;

	memset(res, 0, sizeof(*res));
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
	if ((r = ck_ca_sign(st, &sr, &res->der, &res->der_len, &ca_id,
	         &ca_cert_id, err)) != 0 ||
	    (r = ck_x509_parse(
	         res->der, res->der_len, CK_PARSE_CORE, &c, err)) != 0)
		goto out;
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	tx = true;
	ck_buf_addhex(&sha, c->sha256, 32, 0);
	snprintf(detail, sizeof(detail), "CA %s, profile %s, serial %s, %s",
	    req->ca, req->profile, c->serial, c->subject);
	if ((r = ck_store_cert_put(
	         st, c, ck_now(), &res->cert_id, &is_new, err)) != 0 ||
	    (r = ck_store_issued_add(st, res->cert_id, ca_id, c->serial,
	         req->profile, req->requested_by, err)) != 0 ||
	    (r = ck_store_event_add(st, req->requested_by, "cert.issue", sha.p,
	         detail, err)) != 0 ||
	    (r = ck_store_commit(st, err)) != 0)
		goto out;
	tx = false;
	r = ck_store_chain(st, ca_cert_id, chain_pem, &res->chain_pem, err);
out:
	if (tx)
		ck_store_rollback(st);
	if (r != 0)
		ck_enroll_res_release(res);
	ck_cert_free(c);
	ck_buf_release(&sha);
	return r;
}
