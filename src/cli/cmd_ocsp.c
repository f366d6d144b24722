/*
 * certkeep ocsp respond: answers one DER OCSP request (stdin or --in) with
 * a DER OCSP response (stdout or --out). The HTTP endpoint comes with the
 * daemon; this proves the responder with OpenSSL's own client.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "ca/ca.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep ocsp respond [--ca NAME] [--in F] [--out F] "
	    "[--master-key F]\n"
	    "\n"
	    "Reads a DER OCSP request (stdin by default) and writes "
	    "the DER response:\n"
	    "good, revoked or unknown for each certificate, signed by "
	    "the CA's\n"
	    "delegated responder (made and renewed by certkeep).\n");
}

int
ck_cmd_ocsp(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ca", required_argument, NULL, 'c'},
	    {"in", required_argument, NULL, 'i'},
	    {"out", required_argument, NULL, 'o'},
	    {"master-key", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *ca = NULL, *in = "-", *out_path = NULL, *mk = NULL;
	struct ck_buf req = CK_BUF_INIT, out = CK_BUF_INIT;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	uint8_t *resp = NULL;
	size_t resp_len;
	int c, r, rc;

	if (argc < 2 || strcmp(argv[1], "respond") != 0) {
		usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout
		                                                  : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0
		    ? CK_EXIT_OK
		    : CK_EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': ca = optarg; break;
		case 'i': in = optarg; break;
		case 'o': out_path = optarg; break;
		case 'm': mk = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((r = ck_file_read(in, 65536, &req, &err)) != 0)
		return cli_fail(r, &err, in);
	if ((rc = cli_open_store(cli, &st)) != 0)
		goto out;
	if ((r = ck_ocsp_respond(st, ca, mk, (const uint8_t *)req.p, req.len,
	         &resp, &resp_len, &err)) != 0) {
		rc = cli_fail(r, &err, "ocsp");
		goto out;
	}
	ck_buf_add(&out, resp, resp_len);
	if (out_path == NULL) {
		cli_flush(&out);
	} else if ((r = cli_write_file(
	                out_path, out.p, out.len, 0644, false)) != 0) {
		fprintf(stderr, "certkeep: %s: %s\n", out_path, strerror(-r));
		rc = CK_EXIT_FAIL;
	}
out:
	free(resp);
	ck_buf_release(&req);
	ck_buf_release(&out);
	ck_store_free(st);
	return rc;
}
