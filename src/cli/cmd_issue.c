/*
 * certkeep issue: a certificate from a built-in CA through enroll, from a
 * CSR, or with a key and CSR that certkeep makes (the key written 0600).
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "ca/ca.h"
#include "lifecycle/lifecycle.h"
#include "x509/x509.h"

#define MAX_SANS 100

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep issue --ca NAME --profile P --csr FILE [--days N] "
	    "[--out F] [--chain]\n"
	    "       certkeep issue --ca NAME --profile P --cn NAME [--san "
	    "NAME]...\n"
	    "                      --key-out F [--key-type T] [--days N] "
	    "[--out F] [--chain]\n"
	    "\n"
	    "Issues a certificate from a built-in CA. The request is checked "
	    "against the\n"
	    "profile (tls-server, tls-client, code-signing, email, device, "
	    "sub-ca):\n"
	    "keys, names and validity it does not allow are refused with the "
	    "reason.\n"
	    "The certificate is recorded in the inventory before it is "
	    "written.\n"
	    "\n"
	    "  --csr FILE       a PKCS#10 request, PEM or DER\n"
	    "  --cn NAME        make the key and request here, for NAME\n"
	    "  --san NAME       DNS:x, IP:a.b.c.d, email:a@b, URI:u (a bare "
	    "name is DNS)\n"
	    "  --key-type T     ec-p256 (default), ec-p384, rsa-2048, "
	    "rsa-3072, rsa-4096, ed25519\n"
	    "  --key-out F      where the new key goes (mode 0600; never "
	    "overwritten)\n"
	    "  --days N         validity (default and maximum: the "
	    "profile's)\n"
	    "  --out F          the certificate (default: stdout)\n"
	    "  --chain          append the CA chain after the certificate\n"
	    "  --master-key F   the master key file\n"
	    "  --public-url URL base of the CRL and AIA URLs (default "
	    "$CERTKEEP_PUBLIC_URL)\n");
}

int
ck_cmd_issue(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ca", required_argument, NULL, 'a'},
	    {"profile", required_argument, NULL, 'p'},
	    {"csr", required_argument, NULL, 'c'},
	    {"cn", required_argument, NULL, 'n'},
	    {"san", required_argument, NULL, 's'},
	    {"key-type", required_argument, NULL, 't'},
	    {"key-out", required_argument, NULL, 'k'},
	    {"days", required_argument, NULL, 'd'},
	    {"out", required_argument, NULL, 'o'},
	    {"chain", no_argument, NULL, 'C'},
	    {"master-key", required_argument, NULL, 'm'},
	    {"public-url", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_enroll_req req = {0};
	struct ck_enroll_res res = {0};
	struct ck_buf csr = CK_BUF_INIT, key_pem = CK_BUF_INIT,
	              out = CK_BUF_INIT;
	const char *csr_path = NULL, *cn = NULL, *key_type = "ec-p256",
	           *key_out = NULL, *out_path = NULL, *sans[MAX_SANS];
	size_t n_sans = 0, csr_len = 0;
	uint8_t *made_csr = NULL;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	bool chain = false;
	int c, r, rc = CK_EXIT_OK;
	char *end;

	req.public_url = getenv("CERTKEEP_PUBLIC_URL");
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': req.ca = optarg; break;
		case 'p': req.profile = optarg; break;
		case 'c': csr_path = optarg; break;
		case 'n': cn = optarg; break;
		case 's':
			if (n_sans == MAX_SANS) {
				fprintf(stderr, "certkeep: at most %d --san\n",
				    MAX_SANS);
				return CK_EXIT_USAGE;
			}
			sans[n_sans++] = optarg;
			break;
		case 't': key_type = optarg; break;
		case 'k': key_out = optarg; break;
		case 'd':
			req.days = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || req.days <= 0) {
				fprintf(stderr, "certkeep: bad --days '%s'\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'o': out_path = optarg; break;
		case 'C': chain = true; break;
		case 'm': req.master_key = optarg; break;
		case 'u': req.public_url = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind != argc || req.ca == NULL || req.profile == NULL ||
	    (csr_path == NULL) == (cn == NULL) ||
	    (cn != NULL && key_out == NULL) ||
	    (csr_path != NULL && (n_sans > 0 || key_out != NULL))) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if (csr_path != NULL) {
		if ((r = cli_read_first(csr_path, CK_ITEM_CSR, &csr, &err)) !=
		    0) {
			rc = cli_fail(r, &err, NULL);
			goto out;
		}
		req.csr = (const uint8_t *)csr.p;
		req.csr_len = csr.len;
	} else {
		if (access(key_out, F_OK) == 0) {
			fprintf(stderr,
			    "certkeep: %s exists; a key is never "
			    "overwritten\n",
			    key_out);
			rc = CK_EXIT_USAGE;
			goto out;
		}
		if ((r = ck_make_key_and_csr(key_type, cn, sans, n_sans,
		         &made_csr, &csr_len, &key_pem, &err)) != 0) {
			rc = cli_fail(r, &err, "issue");
			goto out;
		}
		req.csr = made_csr;
		req.csr_len = csr_len;
	}
	req.requested_by = cli_actor();
	if ((rc = cli_open_store(cli, &st)) != 0)
		goto out;
	if ((r = ck_enroll(st, &req, &res, &err)) != 0) {
		rc = cli_fail(r, &err, "issue");
		goto out;
	}
	/* The key first: a certificate without its key is no use. */
	if (key_out != NULL &&
	    (r = cli_write_file(key_out, key_pem.p, key_pem.len, 0600, true)) !=
	        0) {
		fprintf(stderr, "certkeep: %s: %s\n", key_out, strerror(-r));
		rc = CK_EXIT_FAIL;
		goto out;
	}
	ck_pem_encode("CERTIFICATE", res.der, res.der_len, &out);
	if (chain)
		ck_buf_add(&out, res.chain_pem.p, res.chain_pem.len);
	if (out_path == NULL) {
		cli_flush(&out);
	} else if ((r = cli_write_file(
	                out_path, out.p, out.len, 0644, false)) != 0) {
		fprintf(stderr, "certkeep: %s: %s\n", out_path, strerror(-r));
		rc = CK_EXIT_FAIL;
	} else {
		fprintf(stderr, "issued certificate %lld to %s\n",
		    (long long)res.cert_id, out_path);
	}
out:
	ck_enroll_res_release(&res);
	ck_store_free(st);
	free(made_csr);
	ck_buf_release(&csr);
	ck_buf_release_secret(&key_pem);
	ck_buf_release(&out);
	return rc;
}
