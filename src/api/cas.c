/*
 * /api/v1/cas: the built-in CAs over REST: list, one CA (JSON or PEM),
 * issuance through the enroll path (from a CSR, or from a subject and
 * SANs with the key made here and returned once as PEM or PKCS#12), and
 * the current CRL.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "auth/auth.h"
#include "base/json.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "lifecycle/lifecycle.h"
#include "x509/x509.h"

struct cas {
	struct ck_store *st;
	struct ck_buf b;
	bool first;
	int64_t now;
	int64_t cert_id;
};

static int
on_ca_cert(void *ctx, const struct ck_cert_row *r)
{
	struct cas *o = ctx;
	bool f = false; /* inside the CA's object already */

	ck_json_kv_str(&o->b, &f, "subject", r->subject);
	ck_json_kv_str(&o->b, &f, "issuer", r->issuer);
	ck_json_kv_str(&o->b, &f, "serial", r->serial);
	ck_json_kv_time(&o->b, &f, "not_before", r->not_before);
	ck_json_kv_time(&o->b, &f, "not_after", r->not_after);
	ck_json_kv_bool(&o->b, &f, "self_signed", r->self_issued);
	ck_json_sep(&o->b, &f);
	ck_buf_adds(&o->b, "\"sha256\":\"");
	ck_buf_addhex(&o->b, r->sha256, 32, 0);
	ck_buf_addc(&o->b, '"');
	return 0;
}

static int
on_ca(void *ctx, const struct ck_ca_row *ca)
{
	struct cas *o = ctx;
	bool f = true;

	ck_json_sep(&o->b, &o->first);
	ck_buf_addc(&o->b, '{');
	ck_json_kv_int(&o->b, &f, "id", ca->id);
	ck_json_kv_str(&o->b, &f, "name", ca->name);
	ck_json_kv_str(&o->b, &f, "key_type", ca->key_type);
	ck_json_kv_str(&o->b, &f, "state", ca->state);
	ck_json_kv_int(&o->b, &f, "cert_id", ca->cert_id);
	ck_json_kv_time(&o->b, &f, "created", ca->created_at);
	if (ca->parent_id) {
		char *parent = NULL;
		if (ck_store_ca_name(o->st, ca->parent_id, &parent, NULL) == 0)
			ck_json_kv_str(&o->b, &f, "parent", parent);
		free(parent);
	}
	(void)ck_store_cert_get(o->st, ca->cert_id, on_ca_cert, o, NULL);
	ck_buf_addc(&o->b, '}');
	o->cert_id = ca->cert_id;
	return 0;
}

void
ck_api_cas_list(struct ck_http_ctx *c)
{
	struct cas o = {c->st, CK_BUF_INIT, true, c->now, 0};
	struct ck_err err = {0};
	int r;

	ck_buf_adds(&o.b, "{\"items\":[");
	if ((r = ck_store_ca_list(c->st, on_ca, &o, &err)) < 0) {
		ck_buf_release(&o.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_adds(&o.b, "]}\n");
	ck_http_reply_buf(c, 200, "application/json", &o.b);
}

struct der {
	uint8_t *p;
	size_t len;
};

static int
on_der(void *ctx, const struct ck_cert_row *r)
{
	struct der *d = ctx;

	if ((d->p = malloc(r->der_len)) == NULL)
		return CK_E_INTERNAL;
	memcpy(d->p, r->der, r->der_len);
	d->len = r->der_len;
	return 0;
}

static int
on_ca_id(void *ctx, const struct ck_ca_row *ca)
{
	int64_t *ids = ctx;

	ids[0] = ca->id;
	ids[1] = ca->cert_id;
	return 0;
}

int
ck_api_ca_cert(struct ck_store *st, const char *name, int64_t *ca_id,
    uint8_t **der, size_t *len, struct ck_err *err)
{
	int64_t ids[2] = {0, 0};
	struct der d = {NULL, 0};
	int r;

	*der = NULL;
	if ((r = ck_store_ca_get(st, name, on_ca_id, ids, err)) != 0)
		return r;
	if ((r = ck_store_cert_get(st, ids[1], on_der, &d, err)) != 0) {
		free(d.p);
		return r;
	}
	*ca_id = ids[0];
	*der = d.p;
	*len = d.len;
	return 0;
}

void
ck_api_ca_get(struct ck_http_ctx *c)
{
	struct cas o = {c->st, CK_BUF_INIT, true, c->now, 0};
	struct ck_err err = {0};
	const char *fmt = ck_http_query(c, "format");
	int r;

	if (fmt != NULL && strcmp(fmt, "pem") == 0) {
		uint8_t *der;
		size_t len;
		int64_t id;
		if ((r = ck_api_ca_cert(c->st, ck_http_param(c, 0), &id, &der,
		         &len, &err)) != 0) {
			ck_http_problem_err(c, r, &err);
			return;
		}
		ck_pem_encode("CERTIFICATE", der, len, &o.b);
		free(der);
		ck_http_reply_buf(c, 200, "application/x-pem-file", &o.b);
		return;
	}
	if (fmt != NULL && strcmp(fmt, "json") != 0) {
		ck_http_problem(
		    c, 400, "bad-request", "format: want json or pem");
		return;
	}
	if ((r = ck_store_ca_get(c->st, ck_http_param(c, 0), on_ca, &o, &err)) <
	    0) {
		ck_buf_release(&o.b);
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_buf_addc(&o.b, '\n');
	ck_http_reply_buf(c, 200, "application/json", &o.b);
}

void
ck_api_ca_crl(struct ck_http_ctx *c)
{
	struct ck_err err = {0};
	uint8_t *der = NULL;
	size_t len;
	int r;

	if ((r = ck_ca_crl(c->st, ck_http_param(c, 0),
	         ck_config_str(c->cfg, CK_CFG_MASTER_KEY), false, &der, &len,
	         &err)) != 0) {
		ck_http_problem_err(c, r, &err);
		return;
	}
	ck_http_reply(c, 200, "application/pkix-crl", der, len);
	free(der);
}

/* ---- issue ---- */

/* An enroller may only ask for the names its token's pattern allows. */
static int
names_allowed(
    struct ck_http_ctx *c, const uint8_t *csr, size_t len, struct ck_err *err)
{
	struct ck_token_info t = {0};
	struct ck_csr *q = NULL;
	int r = 0;

	if (c->auth.role != CK_ACCESS_ENROLLER)
		return 0;
	t.role = CK_ROLE_ENROLLER;
	snprintf(t.pattern, sizeof(t.pattern), "%s", c->auth.pattern);
	if ((r = ck_x509_csr_parse(csr, len, &q, err)) != 0)
		return r;
	if (q->cn != NULL && *q->cn && !ck_token_name_allowed(&t, q->cn))
		r = ck_err_set(err, CK_E_PERM,
		    "%s may not request '%s' (pattern '%s')", c->auth.actor,
		    q->cn, t.pattern);
	for (size_t i = 0; r == 0 && i < q->n_sans; i++)
		if (!ck_token_name_allowed(&t, q->sans[i].value))
			r = ck_err_set(err, CK_E_PERM,
			    "%s may not request '%s' (pattern '%s')",
			    c->auth.actor, q->sans[i].value, t.pattern);
	ck_csr_free(q);
	return r;
}

void
ck_api_ca_issue(struct ck_http_ctx *c)
{
	static const char *const known[] = {"profile", "csr", "cn", "sans",
	    "key_type", "key_format", "password", "days", NULL};
	struct ck_err err = {0};
	struct ck_enroll_req rq = {0};
	struct ck_enroll_res res = {0};
	struct ck_buf key_pem = CK_BUF_INIT, out = CK_BUF_INIT,
	              csr_der = CK_BUF_INIT;
	const char *profile, *csr_pem, *cn, *key_type, *key_format, *password;
	const char *sans[64];
	size_t n_sans = 0;
	uint8_t *made_csr = NULL;
	size_t made_len = 0;
	json_t *j = NULL, *v;
	int r, status = 400;
	bool f = true;

	if (ck_api_json_body(c, known, &j) != 0)
		return;
	if ((r = ck_api_json_str(j, "profile", true, &profile, &err)) != 0 ||
	    (r = ck_api_json_str(j, "csr", false, &csr_pem, &err)) != 0 ||
	    (r = ck_api_json_str(j, "cn", false, &cn, &err)) != 0 ||
	    (r = ck_api_json_str(j, "key_type", false, &key_type, &err)) != 0 ||
	    (r = ck_api_json_str(j, "key_format", false, &key_format, &err)) !=
	        0 ||
	    (r = ck_api_json_str(j, "password", false, &password, &err)) != 0)
		goto fail;
	if ((v = json_object_get(j, "days")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 36500) {
			r = ck_err_set(&err, CK_E_INVAL,
			    "days: want a whole number of days");
			goto fail;
		}
		rq.days = (int)json_integer_value(v);
	}
	if ((v = json_object_get(j, "sans")) != NULL) {
		size_t i;
		json_t *s;
		if (!json_is_array(v) || json_array_size(v) > 64) {
			r = ck_err_set(&err, CK_E_INVAL,
			    "sans: want an array of at most 64 strings");
			goto fail;
		}
		json_array_foreach(v, i, s)
		{
			if (!json_is_string(s)) {
				r = ck_err_set(&err, CK_E_INVAL,
				    "sans: want strings (\"DNS:x\", "
				    "\"IP:1.2.3.4\", or a bare DNS name)");
				goto fail;
			}
			sans[n_sans++] = json_string_value(s);
		}
	}
	if ((csr_pem != NULL) == (cn != NULL)) {
		r = ck_err_set(&err, CK_E_INVAL,
		    "give either 'csr' (PEM) or 'cn' (and 'sans', 'key_type') "
		    "for a key made here");
		goto fail;
	}
	if (key_format == NULL)
		key_format = "pem";
	if (strcmp(key_format, "pem") != 0 && strcmp(key_format, "pkcs12")) {
		r = ck_err_set(&err, CK_E_INVAL, "key_format: pem or pkcs12");
		goto fail;
	}
	if (strcmp(key_format, "pkcs12") == 0 &&
	    (password == NULL || strlen(password) < 8)) {
		r = ck_err_set(&err, CK_E_INVAL,
		    "key_format pkcs12 needs a 'password' of 8 or more "
		    "characters");
		goto fail;
	}
	if (csr_pem != NULL) {
		if ((r = ck_x509_first((const uint8_t *)csr_pem,
		         strlen(csr_pem), CK_ITEM_CSR, &csr_der, &err)) != 0)
			goto fail;
		rq.csr = (const uint8_t *)csr_der.p;
		rq.csr_len = csr_der.len;
	} else {
		if ((r = ck_make_key_and_csr(key_type ? key_type : "ec-p256",
		         cn, sans, n_sans, &made_csr, &made_len, &key_pem,
		         &err)) != 0)
			goto fail;
		rq.csr = made_csr;
		rq.csr_len = made_len;
	}
	if ((r = names_allowed(c, rq.csr, rq.csr_len, &err)) != 0) {
		status = 403;
		goto fail;
	}
	rq.ca = ck_http_param(c, 0);
	rq.profile = profile;
	rq.requested_by = c->auth.actor;
	rq.master_key = ck_config_str(c->cfg, CK_CFG_MASTER_KEY);
	rq.public_url = ck_config_str(c->cfg, CK_CFG_PUBLIC_URL);
	if ((r = ck_enroll(c->st, &rq, &res, &err)) != 0) {
		status = 0;
		goto fail;
	}
	atomic_fetch_add(&ck_api_issued_total, 1);
	ck_buf_addc(&out, '{');
	ck_json_kv_int(&out, &f, "id", res.cert_id);
	{
		struct ck_buf pem = CK_BUF_INIT;
		ck_pem_encode("CERTIFICATE", res.der, res.der_len, &pem);
		ck_json_kv_str(&out, &f, "certificate", pem.p);
		ck_buf_release(&pem);
	}
	ck_json_kv_str(
	    &out, &f, "chain", res.chain_pem.p ? res.chain_pem.p : "");
	if (key_pem.len > 0 && strcmp(key_format, "pem") == 0) {
		ck_json_kv_str(&out, &f, "private_key", key_pem.p);
	} else if (key_pem.len > 0) {
		struct ck_buf p12 = CK_BUF_INIT;
		if ((r = ck_x509_pkcs12_make(res.der, res.der_len,
		         (const uint8_t *)key_pem.p, key_pem.len,
		         (const uint8_t *)res.chain_pem.p, res.chain_pem.len,
		         password, cn, &p12, &err)) != 0) {
			ck_buf_release_secret(&out);
			status = 500;
			goto fail;
		}
		ck_json_sep(&out, &f);
		ck_buf_adds(&out, "\"pkcs12\":\"");
		ck_base64_encode((const uint8_t *)p12.p, p12.len, &out);
		ck_buf_addc(&out, '"');
		ck_buf_release(&p12);
	}
	ck_buf_adds(&out, "}\n");
	{
		char loc[64];
		snprintf(loc, sizeof(loc), "/api/v1/certificates/%lld",
		    (long long)res.cert_id);
		ck_http_set_header(c, "Location", loc);
	}
	ck_http_reply(c, 201, "application/json", out.p, out.len);
	ck_buf_release_secret(&out);
	goto done;
fail:
	if (status == 0)
		ck_http_problem_err(c, r, &err);
	else if (status == 403)
		ck_http_problem(c, 403, "forbidden", "%s", err.msg);
	else
		ck_http_problem(c, status,
		    status == 400 ? "bad-request" : "internal", "%s", err.msg);
done:
	json_decref(j);
	ck_enroll_res_release(&res);
	ck_buf_release_secret(&key_pem);
	ck_buf_release(&csr_der);
	free(made_csr);
}
