/*
 * ACME Renewal Information (RFC 9773): the renewalInfo resource, whose
 * suggested window follows the renewal rule certkeep's own client uses by
 * default (ck_renew_time: two thirds of the lifetime, less up to a
 * thirtieth), moved earlier by the operator's `certkeep acme renew-early`
 * or a revocation; and the check of newOrder's "replaces".
 */
#include "acme/acme_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "lifecycle/managed.h"

/* How long clients are told to wait before asking again (4.3). */
#define ARI_RETRY_AFTER 21600
/* The longest CertID taken: two base64url parts of a 64-byte key id and
 * a 21-byte serial, with room to spare. */
#define ARI_MAX_CERTID 200

int
acme_certid_parse(const char *certid, char serial[64], struct ck_buf *aki_hex,
    struct acme_prob *p)
{
	struct ck_buf aki = CK_BUF_INIT, ser = CK_BUF_INIT, hex = CK_BUF_INIT;
	const char *dot = strchr(certid, '.');
	const uint8_t *s;
	size_t n;
	int r = -1;

	if (strlen(certid) > ARI_MAX_CERTID || dot == NULL || dot == certid ||
	    dot[1] == '\0' || strchr(dot + 1, '.') != NULL ||
	    !ck_b64url_decode(certid, (size_t)(dot - certid), &aki) ||
	    !ck_b64url_decode(dot + 1, strlen(dot + 1), &ser) || aki.len == 0 ||
	    aki.len > 64 || ser.len == 0 || ser.len > 21) {
		acme_prob(p, "malformed",
		    "CertID must be base64url(keyIdentifier) \".\" "
		    "base64url(serial)");
		goto out;
	}
	/* The serial's DER content octets: a negative serial is not one
	 * of ours; the sign byte of a positive one is not in the
	 * inventory's hex. */
	s = (const uint8_t *)ser.p;
	n = ser.len;
	if ((s[0] & 0x80) != 0 || (n > 1 && s[0] == 0 && (s[1] & 0x80) == 0)) {
		acme_prob(p, "malformed", "CertID serial is not DER");
		goto out;
	}
	if (n > 1 && s[0] == 0) {
		s++;
		n--;
	}
	ck_buf_addhex(&hex, s, n, 0);
	snprintf(serial, 64, "%s", hex.p);
	ck_buf_addhex(aki_hex, (const uint8_t *)aki.p, aki.len, 0);
	r = 0;
out:
	ck_buf_release(&aki);
	ck_buf_release(&ser);
	ck_buf_release(&hex);
	return r;
}

void
acme_ari_window(const struct ck_acme_issued *is, int64_t early_at,
    int64_t *start, int64_t *end)
{
	/* the client's default rule at its two extremes of jitter */
	*start = ck_renew_time(is->not_before, is->not_after, 667, 0, 1.0);
	*end = ck_renew_time(is->not_before, is->not_after, 667, 0, 0.0);
	/* a revoked certificate is to be replaced now (RFC 9773 4.2) */
	if (is->revoked_at != 0 && (early_at == 0 || is->revoked_at < early_at))
		early_at = is->revoked_at;
	if (early_at != 0 && early_at < *end) {
		/* the same width, ending at the operator's time */
		int64_t w = *end - *start;
		*end = early_at;
		*start = early_at - w;
		if (*start < is->not_before)
			*start = is->not_before;
		if (*end < *start)
			*end = *start;
	}
}

/* The certificate a CertID names among ca's, or p (404/400). */
static int
certid_find(struct acme_req *r, const char *certid, struct ck_acme_issued *is,
    char serial[64], struct acme_prob *p)
{
	struct ck_buf aki = CK_BUF_INIT;
	struct ck_err err = {0};
	int rc;

	if (acme_certid_parse(certid, serial, &aki, p) != 0) {
		ck_buf_release(&aki);
		return -1;
	}
	rc = ck_store_acme_issued_get(r->st, r->ca, serial, is, &err);
	/* the key id must be the issuer's too: a serial alone could be
	 * another CA's */
	if (rc == 0 && strcmp(is->aki, aki.p) != 0)
		rc = CK_E_NOTFOUND;
	ck_buf_release(&aki);
	if (rc == CK_E_NOTFOUND)
		return acme_prob(p, "notFound",
		    "no certificate of CA %.60s "
		    "has this CertID",
		    r->ca);
	if (rc != 0)
		return acme_prob(p, "serverInternal", "%s", err.msg);
	return 0;
}

static json_t *
time_json(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(s);
}

void
ck_acme_renewal_info(struct ck_http_ctx *c)
{
	struct acme_req r;
	struct acme_prob p;
	struct ck_acme_issued is;
	struct ck_err err = {0};
	char serial[64], ra[24];
	int64_t early = 0, start, end;
	json_t *j;

	if (acme_req_init(&r, c) != 0)
		return;
	if (certid_find(&r, ck_http_param(c, 1), &is, serial, &p) != 0) {
		acme_reply_prob(&r, &p);
		goto out;
	}
	if (ck_store_acme_renew_early_get(
	        r.st, r.ca, serial, is.issued_at, &early, &err) != 0)
		early = 0;
	acme_ari_window(&is, early, &start, &end);
	j = json_pack("{s:{s:o, s:o}}", "suggestedWindow", "start",
	    time_json(start), "end", time_json(end));
	snprintf(ra, sizeof(ra), "%d", ARI_RETRY_AFTER);
	ck_http_set_header(c, "Retry-After", ra);
	acme_reply_json(&r, 200, j, NULL);
	json_decref(j);
out:
	acme_req_release(&r);
}

int
acme_replaces_check(struct acme_req *r, const char *certid, struct acme_prob *p)
{
	struct ck_acme_issued is;
	struct ck_err err = {0};
	char serial[64];
	bool done = false;

	if (certid_find(r, certid, &is, serial, p) != 0) {
		/* an unknown certificate is the request's fault here */
		if (strcmp(p->type, "notFound") == 0)
			acme_prob(p, "malformed",
			    "replaces names no certificate of this CA");
		return -1;
	}
	if (is.account_id != r->acct.id)
		return acme_prob(p, "unauthorized",
		    "replaces names a certificate this account did not "
		    "order");
	if (ck_store_acme_replaced(r->st, certid, &done, &err) != 0)
		return acme_prob(p, "serverInternal", "%s", err.msg);
	if (done)
		return acme_prob(p, "alreadyReplaced",
		    "another order replaces this certificate already");
	return 0;
}
