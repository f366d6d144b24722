/*
 * certkeep revoke: marks a certificate a built-in CA issued as revoked,
 * with time and reason, writes the audit event and signs a new CRL.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ca/ca.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep revoke ID|SHA256-PREFIX [--reason R] "
	    "[--master-key F]\n"
	    "\n"
	    "Revokes a certificate issued by a built-in CA and signs a new "
	    "CRL.\n"
	    "Reasons (RFC 5280): unspecified (default), keyCompromise, "
	    "cACompromise,\n"
	    "affiliationChanged, superseded, cessationOfOperation, "
	    "certificateHold,\n"
	    "privilegeWithdrawn, aACompromise. Revoking twice keeps the first "
	    "time\nand reason.\n");
}

struct state {
	int64_t revoked_at;
	int reason;
	char *subject;
};

static int
on_row(void *ctx, const struct ck_cert_row *r)
{
	struct state *s = ctx;

	s->revoked_at = r->revoked_at;
	s->subject = strdup(r->subject);
	return 0;
}

int
ck_cmd_revoke(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"master-key", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *master_key = NULL;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct state s = {0};
	int64_t id, ca_id, now = ck_now();
	char *serial = NULL, *ca = NULL, detail[256];
	uint8_t *crl = NULL;
	size_t crl_len;
	bool already, tx = false;
	int c, r = 0, rc, reason = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (ck_crl_reason_parse(optarg, &reason) != 0) {
				fprintf(stderr,
				    "certkeep: unknown reason '%s'\n", optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'm': master_key = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	if ((r = ck_store_cert_find(st, argv[optind], &id, &err)) != 0 ||
	    (r = ck_store_issued_by(st, id, &ca_id, &serial, &err)) != 0)
		goto out;
	if (ca_id == 0) {
		r = ck_err_set(&err, CK_E_INVAL,
		    "certificate %lld was not issued by a built-in CA; revoke "
		    "it through the CA that issued it",
		    (long long)id);
		goto out;
	}
	if ((r = ck_store_ca_name(st, ca_id, &ca, &err)) != 0 ||
	    (r = ck_store_cert_get(st, id, on_row, &s, &err)) != 0)
		goto out;
	if ((r = ck_store_begin(st, &err)) != 0)
		goto out;
	tx = true;
	if ((r = ck_store_cert_revoke(st, id, now, reason, &already, &err)) !=
	    0)
		goto out;
	if (already) {
		char t[CK_TIME_STR_MAX];
		ck_store_rollback(st);
		tx = false;
		ck_time_format(s.revoked_at, t);
		printf("certificate %lld was already revoked on %s; nothing "
		       "changed\n",
		    (long long)id, t);
		goto out;
	}
	snprintf(detail, sizeof(detail), "CA %s, serial %s, reason %s", ca,
	    serial, ck_crl_reason_name(reason));
	if ((r = ck_store_ocsp_cache_drop(st, ca_id, serial, &err)) != 0 ||
	    (r = ck_store_event_add(
	         st, cli_actor(), "cert.revoke", serial, detail, &err)) != 0 ||
	    (r = ck_store_commit(st, &err)) != 0)
		goto out;
	tx = false;
	printf("revoked certificate %lld (%s), serial %s, reason %s\n",
	    (long long)id, s.subject, serial, ck_crl_reason_name(reason));
	/* The revocation stands even if the CRL cannot be signed now; the
	 * next `ca crl` makes it. */
	if ((r = ck_ca_crl(st, ca, master_key, true, &crl, &crl_len, &err)) !=
	    0) {
		rc = cli_fail(r, &err, "revoked, but the new CRL failed");
		r = 0;
	}
out:
	if (tx)
		ck_store_rollback(st);
	if (r != 0)
		rc = cli_fail(r, &err, "revoke");
	free(crl);
	free(serial);
	free(ca);
	free(s.subject);
	ck_store_free(st);
	return rc;
}
