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
#include "lifecycle/revoke.h"

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
	struct ck_revoke_res res;
	int64_t id;
	int c, r = 0, rc = CK_EXIT_OK, reason = 0;

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
	    (r = ck_revoke(
	         st, id, reason, cli_actor(), master_key, &res, &err)) != 0) {
		rc = cli_fail(r, &err, "revoke");
		goto out;
	}
	if (res.already) {
		char t[CK_TIME_STR_MAX];
		ck_time_format(res.revoked_at, t);
		printf("certificate %lld was already revoked on %s; nothing "
		       "changed\n",
		    (long long)id, t);
		goto out;
	}
	printf("revoked certificate %lld, CA %s, serial %s, reason %s\n",
	    (long long)id, res.ca, res.serial, ck_crl_reason_name(reason));
	/* The revocation stands even if the CRL cannot be signed now; the
	 * next `ca crl` makes it. */
	if (res.crl_failed)
		rc = cli_fail(res.crl_err.code, &res.crl_err,
		    "revoked, but the new CRL failed");
out:
	ck_store_free(st);
	return rc;
}
