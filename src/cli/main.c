/*
 * The certkeep binary: all of it lives in the library; this is the door.
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return ck_cli_main(argc, argv);
}
