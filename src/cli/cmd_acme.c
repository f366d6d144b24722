/*
 * certkeep acme: the ACME server's offline side. External Account
 * Binding keys: `acme eab create --ca CA` makes a key id and an HMAC key,
 * prints both once, and keeps the key sealed under the master key (the
 * database alone does not give it away). `acme renew-early` moves the
 * renewal window (RFC 9773) of certificates earlier, as before a mass
 * revocation; the server's renewalInfo answers with it at once.
 */
#include "cli/cli.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "store/acme.h"
#include "x509/jose.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep acme eab create --ca CA [--allow D,...] "
	    "[--master-key F] [--json]\n"
	    "\n"
	    "External Account Binding keys for the ACME server of a built-in "
	    "CA.\n"
	    "create prints the key id (kid) and the base64url HMAC key once; "
	    "give both\n"
	    "to one ACME client (lego --eab --kid K --hmac H, certbot "
	    "--eab-kid K\n"
	    "--eab-hmac-key H). A key binds the first account that uses it.\n"
	    "Which CAs require one: [acme] eab_required in certkeep.conf.\n"
	    "\n"
	    "  --ca CA          the built-in CA whose ACME server takes the "
	    "key\n"
	    "  --allow D,...    the account made with the key gets only names "
	    "equal to\n"
	    "                   or under these domains (and IPs listed as "
	    "such)\n"
	    "  --master-key F   master key file (default "
	    "$CERTKEEP_MASTER_KEY_FILE or\n"
	    "                   ./var/master.key)\n"
	    "  --json           {\"kid\": ..., \"hmac\": ...}\n"
	    "\n"
	    "       certkeep acme renew-early --ca CA (--serial HEX | --all) "
	    "[--at TIME]\n"
	    "\n"
	    "Tells ACME clients that ask for renewal information (RFC 9773) "
	    "to renew\n"
	    "the certificate with that serial (or every certificate CA has "
	    "issued so\n"
	    "far) by TIME (default now; RFC 3339 or epoch seconds).\n");
}

static int
noop_ca(void *ctx, const struct ck_ca_row *ca)
{
	(void)ctx;
	(void)ca;
	return 0;
}

/* --allow: domain names, comma-separated */
static bool
allow_ok(const char *a)
{
	for (; *a != '\0'; a++)
		if (!(isalnum((unsigned char)*a) || *a == '.' || *a == '-' ||
		        *a == ',' || *a == ':'))
			return false;
	return true;
}

static int
eab_create(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ca", required_argument, NULL, 'c'},
	    {"master-key", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, 'j'},
	    {"allow", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *ca = NULL, *mkpath = NULL, *allow = "";
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct ck_buf kid = CK_BUF_INIT, hmac = CK_BUF_INIT;
	struct ck_buf sealed = CK_BUF_INIT;
	uint8_t raw_kid[12], key[32], mk[CK_MASTER_KEY_LEN];
	char aad[96];
	bool json = false;
	int c, r, rc = CK_EXIT_OK;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': ca = optarg; break;
		case 'm': mkpath = optarg; break;
		case 'j': json = true; break;
		case 'a': allow = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (ca == NULL || optind != argc || !allow_ok(allow)) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_store_ca_get(st, ca, noop_ca, NULL, &err)) != 0) {
		rc = cli_fail(r, &err, ca);
		goto out;
	}
	ck_random_bytes(raw_kid, sizeof(raw_kid));
	ck_random_bytes(key, sizeof(key));
	ck_buf_adds(&kid, "eab-");
	ck_b64url_encode(raw_kid, sizeof(raw_kid), &kid);
	ck_b64url_encode(key, sizeof(key), &hmac);
	snprintf(aad, sizeof(aad), "acme-eab:%s", kid.p);
	r = ck_master_key_load(ck_master_key_path(mkpath), true, mk, &err);
	if (r == 0) {
		r = ck_seal(mk, aad, key, sizeof(key), &sealed, &err);
		ck_cleanse(mk, sizeof(mk));
	}
	if (r != 0) {
		rc = cli_fail(r, &err, "master key");
		goto out;
	}
	if ((r = ck_store_begin(st, &err)) == 0) {
		r = ck_store_acme_eab_add(st, kid.p, ca, (uint8_t *)sealed.p,
		    sealed.len, ck_now(), &err);
		if (r == 0 && allow[0] != '\0')
			r = ck_store_acme_eab_allow_set(st, kid.p, allow, &err);
		if (r == 0)
			r = ck_store_event_add(
			    st, "cli", "acme.eab.create", kid.p, ca, &err);
		if (r == 0)
			r = ck_store_commit(st, &err);
		else
			ck_store_rollback(st);
	}
	if (r != 0) {
		rc = cli_fail(r, &err, "eab key");
		goto out;
	}
	if (json)
		printf("{\"kid\":\"%s\",\"hmac\":\"%s\"}\n", kid.p, hmac.p);
	else
		printf("kid: %s\nhmac: %s\n", kid.p, hmac.p);
out:
	ck_cleanse(key, sizeof(key));
	ck_buf_release_secret(&hmac);
	ck_buf_release(&kid);
	ck_buf_release(&sealed);
	ck_store_free(st);
	return rc;
}

/* A serial as people paste it (openssl's upper case, colons) in the
 * inventory's form: lower-case hex, no sign byte. */
static bool
serial_norm(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (!isxdigit((unsigned char)*in) || o + 1 >= cap)
			return false;
		out[o++] = (char)tolower((unsigned char)*in);
	}
	out[o] = '\0';
	/* a leading 00 pair is DER's sign byte, not part of the value */
	if (o > 2 && out[0] == '0' && out[1] == '0')
		memmove(out, out + 2, o - 1);
	return o > 0 && strlen(out) % 2 == 0;
}

static int
renew_early(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ca", required_argument, NULL, 'c'},
	    {"serial", required_argument, NULL, 's'},
	    {"all", no_argument, NULL, 'a'},
	    {"at", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *ca = NULL, *serial_in = NULL, *at_in = NULL;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct ck_acme_issued is;
	char serial[80], detail[160];
	int64_t at = ck_now();
	bool all = false;
	int c, r, rc = CK_EXIT_OK;

	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': ca = optarg; break;
		case 's': serial_in = optarg; break;
		case 'a': all = true; break;
		case 't': at_in = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (ca == NULL || optind != argc || all == (serial_in != NULL) ||
	    (serial_in != NULL &&
	        !serial_norm(serial_in, serial, sizeof(serial))) ||
	    (at_in != NULL && ck_time_parse(at_in, &at) != 0)) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != CK_EXIT_OK)
		return rc;
	if ((r = ck_store_ca_get(st, ca, noop_ca, NULL, &err)) != 0) {
		rc = cli_fail(r, &err, ca);
		goto out;
	}
	if (!all &&
	    (r = ck_store_acme_issued_get(st, ca, serial, &is, &err)) != 0) {
		rc = cli_fail(r, &err, serial_in);
		goto out;
	}
	snprintf(detail, sizeof(detail), "%s %s by %lld", ca,
	    all ? "all" : serial, (long long)at);
	if ((r = ck_store_begin(st, &err)) == 0) {
		r = ck_store_acme_renew_early_add(
		    st, ca, all ? NULL : serial, at, ck_now(), &err);
		if (r == 0)
			r = ck_store_event_add(
			    st, "cli", "acme.renew_early", ca, detail, &err);
		if (r == 0)
			r = ck_store_commit(st, &err);
		else
			ck_store_rollback(st);
	}
	if (r != 0)
		rc = cli_fail(r, &err, "renew-early");
	else
		printf("renew-early: %s\n", detail);
out:
	ck_store_free(st);
	return rc;
}

int
ck_cmd_acme(struct ck_cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "renew-early") == 0)
		return renew_early(cli, argc - 1, argv + 1);
	if (argc >= 3 && strcmp(argv[1], "eab") == 0 &&
	    strcmp(argv[2], "create") == 0)
		return eab_create(cli, argc - 2, argv + 2);
	if (argc >= 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return CK_EXIT_OK;
	}
	usage(stderr);
	return CK_EXIT_USAGE;
}
