/*
 * certkeep scan: finds certificates and keys where they live and records
 * them in the inventory. Dispatches to one function per scanner: files
 * and ssh (cmd_scan_files.c), net (cmd_scan_net.c).
 */
#include "cli/cli.h"

#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep scan net|files|ssh [OPTIONS] [ARGS]\n"
	    "\n"
	    "  net TARGETS...   TLS endpoints on the network\n"
	    "  files PATHS...   certificates and private keys in files\n"
	    "  ssh [PATHS...]   SSH host keys, authorized_keys, certificates\n"
	    "\n"
	    "`certkeep scan SCANNER --help` for its options.\n");
}

int
ck_cmd_scan(struct ck_cli *cli, int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return CK_EXIT_OK;
	}
	if (strcmp(argv[1], "files") == 0)
		return cli_scan_files(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "ssh") == 0)
		return cli_scan_ssh(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "net") == 0)
		return cli_scan_net(cli, argc - 1, argv + 1);
	fprintf(stderr, "certkeep: scan: '%s' is not a scanner\n", argv[1]);
	usage(stderr);
	return CK_EXIT_USAGE;
}
