/*
 * certkeep show: one certificate, everything its record and its DER hold,
 * the chain up to a root (links confirmed by signature), and every place
 * it was seen; as text, JSON or PEM.
 */
#include "cli/cli.h"

#include "api/api.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "x509/x509.h"

struct show {
	int64_t now;
	struct ck_buf out;
	bool pem, json, first;
	int depth;
	const char *trust; /* PEM bundle, or NULL for the system store */
};

/* The chain's DER, leaf first, for validation. */
struct ders {
	uint8_t *der[16];
	size_t len[16];
	int n;
};

static int
collect(void *ctx, const struct ck_cert_row *r)
{
	struct ders *d = ctx;

	if (d->n < 16) {
		d->der[d->n] = malloc(r->der_len);
		memcpy(d->der[d->n], r->der, r->der_len);
		d->len[d->n] = r->der_len;
		d->n++;
	}
	return 0;
}

/*
 * Validates the certificate with the chain the inventory knows against the
 * trust store, and appends the answer (text line or JSON member).
 */
static int
validate(struct show *s, struct ck_store *st, int64_t id, struct ck_err *err)
{
	struct ck_verify_opts vo = {0};
	struct ck_verify_result res;
	struct ders d = {0};
	int r;

	if ((r = ck_store_chain(st, id, collect, &d, err)) != 0)
		goto out;
	vo.trust_file = s->trust;
	vo.at = s->now;
	r = ck_x509_verify(d.der[0], d.len[0],
	    (const uint8_t *const *)d.der + 1, d.len + 1, (size_t)(d.n - 1),
	    &vo, &res, err);
	if (r != 0)
		goto out;
	if (s->json) {
		bool f = true;
		ck_buf_adds(&s->out, ",\"validation\":{");
		ck_json_kv_bool(&s->out, &f, "ok", res.ok);
		ck_json_kv_str(
		    &s->out, &f, "trust_store", s->trust ? s->trust : "system");
		if (!res.ok) {
			ck_json_kv_str(&s->out, &f, "reason", res.reason);
			ck_json_kv_int(&s->out, &f, "depth", res.depth);
		}
		ck_buf_addc(&s->out, '}');
	} else if (res.ok) {
		ck_buf_printf(&s->out, "%-22svalid against %s\n", "Validation:",
		    s->trust ? s->trust : "the system trust store");
	} else {
		ck_buf_printf(&s->out, "%-22snot valid: %s (at depth %d)\n",
		    "Validation:", res.reason, res.depth);
	}
out:
	for (int i = 0; i < d.n; i++)
		free(d.der[i]);
	return r;
}

static void
text_list(struct ck_buf *o, const char *label, const struct ck_strlist *l)
{
	if (l->n == 0)
		return;
	ck_buf_printf(o, "%-22s", label);
	for (size_t i = 0; i < l->n; i++)
		ck_buf_printf(o, "%s%s", i ? ", " : "", l->v[i]);
	ck_buf_addc(o, '\n');
}

static void
json_list(
    struct ck_buf *o, bool *f, const char *key, const struct ck_strlist *l)
{
	bool g = true;

	ck_json_sep(o, f);
	ck_json_key(o, key);
	ck_buf_addc(o, '[');
	for (size_t i = 0; i < l->n; i++) {
		ck_json_sep(o, &g);
		ck_json_str(o, l->v[i]);
	}
	ck_buf_addc(o, ']');
}

static int
details(struct show *s, const struct ck_cert_row *r)
{
	struct ck_buf *o = &s->out;
	struct ck_cert *c = NULL;
	struct ck_err err = {0};
	char t1[CK_TIME_STR_MAX], t2[CK_TIME_STR_MAX], key[64];
	bool self_signed = false;
	int rc;

	if ((rc = ck_x509_parse(r->der, r->der_len, CK_PARSE_FULL, &c, &err)) !=
	    0)
		return cli_fail(rc, &err, "stored certificate");
	/* Self-issued is a matter of names; self-signed needs the signature
	 * to verify with the certificate's own key. */
	if (r->self_issued &&
	    ck_x509_signed_by(r->der, r->der_len, r->der, r->der_len,
	        &self_signed, NULL) != 0)
		self_signed = false;
	if (s->json) {
		bool f = false;
		/* The list object, with the FULL-parse fields added. */
		ck_api_cert_json(r, s->now, o);
		o->len--; /* reopen the object */
		ck_json_kv_int(o, &f, "version", c->version);
		json_list(o, &f, "key_usage", &c->key_usage);
		json_list(o, &f, "extended_key_usage", &c->ext_key_usage);
		json_list(o, &f, "crl_distribution_points", &c->crl_dps);
		json_list(o, &f, "ocsp_urls", &c->ocsp_urls);
		json_list(o, &f, "ca_issuer_urls", &c->ca_issuer_urls);
		json_list(o, &f, "policies", &c->policies);
		ck_json_kv_bool(o, &f, "has_scts", c->has_scts);
		ck_json_kv_bool(o, &f, "self_signed", self_signed);
		ck_buf_addc(o, '}');
		ck_cert_free(c);
		return 0;
	}
	ck_time_format(r->not_before, t1);
	ck_time_format(r->not_after, t2);
	cli_key_desc(r->key_type, r->key_bits, r->curve, key, sizeof(key));
	ck_buf_printf(o, "%-22s%lld\n", "ID:", (long long)r->id);
	ck_buf_printf(o, "%-22s%s\n", "Subject:", r->subject);
	ck_buf_printf(o, "%-22s%s\n", "Issuer:", r->issuer);
	ck_buf_printf(o, "%-22s%s\n", "Serial:", r->serial);
	ck_buf_printf(o, "%-22s%d\n", "Version:", c->version);
	ck_buf_printf(o, "%-22s%s\n", "Not before:", t1);
	ck_buf_printf(o, "%-22s%s (%lld days left)\n", "Not after:", t2,
	    (long long)cli_days_left(r->not_after, s->now));
	ck_buf_printf(o, "%-22s%s\n", "Key:", key);
	ck_buf_printf(o, "%-22s%s\n", "Signature algorithm:", r->sig_alg);
	ck_buf_printf(o, "%-22s", "SHA-256:");
	ck_buf_addhex(o, r->sha256, 32, 0);
	ck_buf_printf(o, "\n%-22s", "SHA-1:");
	ck_buf_addhex(o, r->sha1, 20, 0);
	ck_buf_addc(o, '\n');
	if (r->sans != NULL && *r->sans) {
		ck_buf_printf(o, "%-22s", "Names:");
		for (const char *p = r->sans; *p; p++) {
			if (*p == '\n')
				ck_buf_adds(o, ", ");
			else
				ck_buf_addc(o, *p);
		}
		ck_buf_addc(o, '\n');
	}
	ck_buf_printf(o, "%-22s%s", "CA:", r->is_ca ? "yes" : "no");
	if (r->path_len >= 0)
		ck_buf_printf(o, " (path length %d)", r->path_len);
	ck_buf_addc(o, '\n');
	ck_buf_printf(o, "%-22s%s\n", "Self-signed:",
	    self_signed ? "yes (signature verified)"
	        : r->self_issued
	        ? "self-issued, but the signature does not verify"
	        : "no");
	text_list(o, "Key usage:", &c->key_usage);
	text_list(o, "Extended key usage:", &c->ext_key_usage);
	if (r->ski)
		ck_buf_printf(o, "%-22s%s\n", "Subject key id:", r->ski);
	if (r->aki)
		ck_buf_printf(o, "%-22s%s\n", "Authority key id:", r->aki);
	text_list(o, "CRL distribution:", &c->crl_dps);
	text_list(o, "OCSP:", &c->ocsp_urls);
	text_list(o, "CA issuers:", &c->ca_issuer_urls);
	text_list(o, "Policies:", &c->policies);
	ck_buf_printf(
	    o, "%-22s%s\n", "SCTs:", c->has_scts ? "present" : "none");
	ck_time_format(r->first_seen, t1);
	ck_time_format(r->last_seen, t2);
	ck_buf_printf(o, "%-22s%s, last %s\n", "First seen:", t1, t2);
	ck_cert_free(c);
	return 0;
}

static int
on_chain(void *ctx, const struct ck_cert_row *r)
{
	struct show *s = ctx;
	struct ck_buf *o = &s->out;
	char t[CK_TIME_STR_MAX];

	if (s->pem) {
		ck_pem_encode("CERTIFICATE", r->der, r->der_len, o);
	} else if (s->json) {
		bool f = true;
		ck_buf_adds(o, s->first ? "" : ",");
		s->first = false;
		ck_buf_addc(o, '{');
		ck_json_kv_int(o, &f, "id", r->id);
		ck_json_kv_str(o, &f, "subject", r->subject);
		ck_json_kv_time(o, &f, "not_after", r->not_after);
		ck_json_sep(o, &f);
		ck_buf_adds(o, "\"sha256\":\"");
		ck_buf_addhex(o, r->sha256, 32, 0);
		ck_buf_adds(o, "\"}");
	} else {
		ck_time_format(r->not_after, t);
		ck_buf_printf(o, "  %*s%s[%lld] %s (until %.10s)%s\n",
		    s->depth * 2, "", s->depth ? "└ " : "", (long long)r->id,
		    r->subject, t, r->self_issued ? " root" : "");
	}
	s->depth++;
	return 0;
}

static int
on_loc(void *ctx, const struct ck_location *l)
{
	struct show *s = ctx;
	struct ck_buf *o = &s->out;
	char t[CK_TIME_STR_MAX];

	ck_time_format(l->last_seen, t);
	if (s->json) {
		bool f = true;
		ck_buf_adds(o, s->first ? "" : ",");
		s->first = false;
		ck_buf_addc(o, '{');
		ck_json_kv_str(o, &f, "kind", l->kind);
		ck_json_kv_str(o, &f, "place", l->place);
		ck_json_kv_time(o, &f, "first_seen", l->first_seen);
		ck_json_kv_time(o, &f, "last_seen", l->last_seen);
		ck_json_kv_bool(o, &f, "present", l->present);
		ck_buf_addc(o, '}');
	} else {
		ck_buf_printf(o, "  %-8s %s (last seen %s)%s\n", l->kind,
		    l->place, t, l->present ? "" : " gone");
	}
	return 0;
}

static int
on_details(void *ctx, const struct ck_cert_row *r)
{
	return details(ctx, r);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep show ID|SHA256-PREFIX [--pem|--json] [--chain] "
	    "[--trust F]\n"
	    "\n"
	    "Shows one certificate: every field, its chain up to a root and\n"
	    "every place it was seen. ID is the number `list` prints; a\n"
	    "SHA-256 prefix of 4 hex digits or more also works.\n"
	    "\n"
	    "  --pem      the certificate as PEM (with --chain: the chain, "
	    "leaf first)\n"
	    "  --json     everything as one JSON object\n"
	    "  --chain    only the chain\n"
	    "  --trust F  validate against the PEM bundle F instead of the "
	    "system\n"
	    "             trust store\n"
	    "  -h, --help this help\n");
}

int
ck_cmd_show(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pem", no_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'j'},
	    {"chain", no_argument, NULL, 'c'},
	    {"trust", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct show s = {0};
	bool chain_only = false;
	int64_t id;
	int c, r, rc = CK_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': s.pem = true; break;
		case 'j': s.json = true; break;
		case 'c': chain_only = true; break;
		case 't': s.trust = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || (s.pem && s.json)) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	s.now = ck_now();
	if ((r = ck_store_cert_find(st, argv[optind], &id, &err)) != 0) {
		rc = cli_fail(r, &err, NULL);
		goto out;
	}
	if (s.pem) {
		if (chain_only)
			r = ck_store_chain(st, id, on_chain, &s, &err);
		else
			r = ck_store_cert_get(st, id, on_chain, &s, &err);
	} else if (s.json) {
		if (!chain_only) {
			r = ck_store_cert_get(st, id, on_details, &s, &err);
			if (r != 0)
				goto fail;
			s.out.len--; /* reopen to add chain and locations */
			ck_buf_adds(&s.out, ",\"chain\":[");
		} else {
			ck_buf_addc(&s.out, '[');
		}
		s.first = true;
		if ((r = ck_store_chain(st, id, on_chain, &s, &err)) != 0)
			goto fail;
		ck_buf_addc(&s.out, ']');
		if (!chain_only) {
			ck_buf_adds(&s.out, ",\"locations\":[");
			s.first = true;
			if ((r = ck_store_locations(
			         st, id, on_loc, &s, &err)) != 0)
				goto fail;
			ck_buf_addc(&s.out, ']');
			if ((r = validate(&s, st, id, &err)) != 0)
				goto fail;
			ck_buf_addc(&s.out, '}');
		}
		ck_buf_addc(&s.out, '\n');
	} else {
		if (!chain_only) {
			if ((r = ck_store_cert_get(
			         st, id, on_details, &s, &err)) != 0)
				goto fail;
			ck_buf_adds(&s.out, "Chain:\n");
		}
		if ((r = ck_store_chain(st, id, on_chain, &s, &err)) != 0)
			goto fail;
		if ((r = validate(&s, st, id, &err)) != 0)
			goto fail;
		if (!chain_only) {
			ck_buf_adds(&s.out, "Locations:\n");
			r = ck_store_locations(st, id, on_loc, &s, &err);
		}
	}
fail:
	if (r != 0)
		rc = cli_fail(r, &err, "show");
	else
		cli_flush(&s.out);
out:
	ck_buf_release(&s.out);
	ck_store_free(st);
	return rc;
}
