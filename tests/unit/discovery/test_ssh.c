/*
 * Unit tests for the OpenSSH key parser (src/discovery/ssh.c) and the SSH
 * scan's rows in the store (src/discovery/ssh_scan.c, src/store/ssh.c).
 * The expected fingerprint lines and certificate fields were printed by
 * ssh-keygen -l and ssh-keygen -L (OpenSSH 9.2) for these very keys.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "discovery/discovery.h"

#define CA_LINE                                                                \
	"ssh-ed25519 "                                                         \
	"AAAAC3NzaC1lZDI1NTE5AAAAII/1trbZmIB1juRE54+FJTbPZt858Lvp/kvzduAztf4w" \
	" my ca"
#define CA_FP "SHA256:bmWU6XCIK8lwbUfUTmbWWKNZQ/Qitr2NOPe8DrhhNFg"

#define P521_LINE                                                              \
	"ecdsa-sha2-nistp521 "                                                 \
	"AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAG3KSUVY9E1hZZo" \
	"yADelF+cjOZN0owOoaHKT6X7Hb16x02IZYTGefYESwJcX/DKuZIoPyUJij41JaY/IPSR" \
	"fGP8mwGvNyR3WK8V+2bPkym2IocZ+K8dJCJ/HUzm9+30Eg6tBN5VzHxjYhAkS85H5ieJ" \
	"nVNE0mT+3f7QH+lxFEfZUN+zIQ== p521 key"

#define RSA_LINE                                                               \
	"ssh-rsa "                                                             \
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQDtJ0ZegfojQXlIjYBv+jkTefqs8ln56zOF2IgF" \
	"nPBLe2W2pa18lBOu9xU+ngJb8pnGuCdIfFZOJycCRwsCF6OhWigbK6VcQiTvWwq1XXPq" \
	"FYBNUqXyLH8tBK9B9YBhCI4okZfl6HtslsKLLBTjKDea/lPHoU++/7lcSRH0yS/Y6Q==" \
	" small rsa"

#define CERT_LINE                                                              \
	"ecdsa-sha2-nistp521-cert-v01@openssh.com "                            \
	"AAAAKGVjZHNhLXNoYTItbmlzdHA1MjEtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgWCT4" \
	"D1pzaZPdjpkhbi/aoTVu2a6GEVED5lSPSrSsmc4AAAAIbmlzdHA1MjEAAACFBAG3KSUV" \
	"Y9E1hZZoyADelF+cjOZN0owOoaHKT6X7Hb16x02IZYTGefYESwJcX/DKuZIoPyUJij41" \
	"JaY/IPSRfGP8mwGvNyR3WK8V+2bPkym2IocZ+K8dJCJ/HUzm9+30Eg6tBN5VzHxjYhAk" \
	"S85H5ieJnVNE0mT+3f7QH+lxFEfZUN+zIQAAAAAAAAAqAAAAAgAAAAh3ZWIgaG9zdAAA" \
	"ABsAAAALd2ViLmV4YW1wbGUAAAAIMTAuMC4wLjEAAAAAZ3SFgAAAAABpVbkAAAAAAAAA" \
	"AAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACCP9ba22ZiAdY7kROePhSU2z2bfOfC7" \
	"6f5L83bgM7X+MAAAAFMAAAALc3NoLWVkMjU1MTkAAABApuItF6E6ekKv4i1HCw0GEZKI" \
	"35Dm5A+3A5zK+dU89j0KowmInl4w62gXZHmqhGMyIfvT0uoIdfgkLGb7mfyrAA== "    \
	"p521 key"

#define SK_ED_LINE                                                             \
	"sk-ssh-ed25519@openssh.com "                                          \
	"AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAABAgMEBQYHCAkKCwwNDg8Q" \
	"ERITFBUWFxgZGhscHR4fAAAABHNzaDo= yubi"

#define SK_EC_LINE                                                             \
	"sk-ecdsa-sha2-nistp256@openssh.com "                                  \
	"AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYA" \
	"AABBBGsX0fLhLEJH+Lzm5WOkQPJ3A32BLeszoPShOUXYmMKWT+NC4v4af5uO5+tKfA+e" \
	"FivOM1drMV7Oy7ZAaDe/UfUAAAAEc3NoOg=="

static void
expect_fp_line(const char *line, const char *want)
{
	struct ck_ssh_line l;
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;

	cr_assert_eq(ck_ssh_line_parse(line, strlen(line), &l, &err), 0,
	    "%s: %s", line, err.msg);
	ck_ssh_fp_line(&l, &b);
	cr_expect_str_eq(b.p, want);
	ck_buf_release(&b);
	ck_ssh_line_release(&l);
}

Test(ssh, fingerprints_as_ssh_keygen)
{
	expect_fp_line(CA_LINE, "256 " CA_FP " my ca (ED25519)");
	expect_fp_line(P521_LINE,
	    "521 SHA256:20WSF5r/3zHs1CiHR6npegfFAKFJB89xxFWLxoCw12Q p521 key "
	    "(ECDSA)");
	expect_fp_line(RSA_LINE,
	    "1024 SHA256:9lyjlWp25EN4Gsozjxu8p07LcUEpzLfEAeioZGHYNTY small "
	    "rsa (RSA)");
	expect_fp_line(CERT_LINE,
	    "521 SHA256:20WSF5r/3zHs1CiHR6npegfFAKFJB89xxFWLxoCw12Q p521 key "
	    "(ECDSA-CERT)");
	expect_fp_line(SK_ED_LINE,
	    "256 SHA256:/p0CbeE3dk2SyW1OXXsThGc12ezDVD8eGw2/vtztDfk yubi "
	    "(ED25519-SK)");
	expect_fp_line(SK_EC_LINE,
	    "256 SHA256:Sq6FPgsPWZc3RXSXKFq4uzEhPEwaHZCAoX46/7Q5024 no "
	    "comment (ECDSA-SK)");
	/* The comment is the rest of the line, inner and trailing spaces
	 * kept, as ssh-keygen keeps them. */
	expect_fp_line(
	    "ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAII/"
	    "1trbZmIB1juRE54+FJTbPZt858Lvp/kvzduAztf4w  two  spaces  ",
	    "256 " CA_FP " two  spaces   (ED25519)");
}

Test(ssh, certificate_fields_as_ssh_keygen_L)
{
	struct ck_ssh_line l;
	struct ck_err err = {0};
	struct ck_buf b = CK_BUF_INIT;
	const struct ck_ssh_key *k = &l.key;

	cr_assert_eq(
	    ck_ssh_line_parse(CERT_LINE, strlen(CERT_LINE), &l, &err), 0);
	cr_expect(k->is_cert);
	cr_expect_str_eq(k->type, "ecdsa-sha2-nistp521-cert-v01@openssh.com");
	cr_expect_eq(k->cert_type, CK_SSH_CERT_HOST);
	cr_expect_str_eq(k->key_id, "web host");
	cr_expect_eq(k->serial, 42);
	cr_assert_eq(k->principals.n, 2);
	cr_expect_str_eq(k->principals.v[0], "web.example");
	cr_expect_str_eq(k->principals.v[1], "10.0.0.1");
	ck_ssh_validity(k, &b);
	cr_expect_str_eq(
	    b.p, "from 2025-01-01T00:00:00 to 2026-01-01T00:00:00");
	cr_expect_str_eq(k->ca_label, "ED25519");
	cr_expect_str_eq(k->ca_fingerprint, CA_FP);
	cr_expect_str_eq(k->sig_alg, "ssh-ed25519");
	ck_buf_release(&b);
	ck_ssh_line_release(&l);
}

Test(ssh, validity_forms)
{
	struct ck_ssh_key k = {0};
	struct ck_buf b = CK_BUF_INIT;

	k.valid_before = CK_SSH_FOREVER;
	ck_ssh_validity(&k, &b);
	cr_expect_str_eq(b.p, "forever");
	ck_buf_reset(&b);
	k.valid_after = 1735689600;
	ck_ssh_validity(&k, &b);
	cr_expect_str_eq(b.p, "after 2025-01-01T00:00:00");
	ck_buf_reset(&b);
	k.valid_after = 0;
	k.valid_before = 1735689600;
	ck_ssh_validity(&k, &b);
	cr_expect_str_eq(b.p, "before 2025-01-01T00:00:00");
	ck_buf_release(&b);
}

Test(ssh, authorized_keys_options)
{
	const char *line =
	    "from=\"10.0.0.1, 10.0.0.2\",command=\"echo \\\"a b\\\", "
	    "done\",no-pty " CA_LINE;
	struct ck_ssh_line l;
	struct ck_err err = {0};

	cr_assert_eq(
	    ck_ssh_line_parse(line, strlen(line), &l, &err), 0, "%s", err.msg);
	cr_expect_str_eq(l.options,
	    "from=\"10.0.0.1, 10.0.0.2\",command=\"echo \\\"a b\\\", "
	    "done\",no-pty");
	cr_expect_str_eq(l.comment, "my ca");
	cr_expect_str_eq(l.key.fingerprint, CA_FP);
	ck_ssh_line_release(&l);

	/* Leading blanks, a bare option, CRLF. */
	line = "  \tcert-authority " CA_LINE "\r\n";
	cr_assert_eq(ck_ssh_line_parse(line, strlen(line), &l, &err), 0);
	cr_expect_str_eq(l.options, "cert-authority");
	cr_expect_str_eq(l.comment, "my ca");
	ck_ssh_line_release(&l);
}

Test(ssh, lines_that_are_not_keys)
{
	struct ck_ssh_line l;
	struct ck_err err = {0};
	const char *bad[] = {
	    "ssh-ed25519", /* no base64 */
	    "ssh-ed25519 !!!!", /* broken base64 */
	    "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAII/"
	    "1trbZmIB1juRE54+FJTbPZt858Lvp/kvzduAztf4w", /* type mismatch */
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAH/"
	    "1trbZmIB1juRE54+FJTbPZt858Lvp/kvzduAztf4w", /* 31-byte key */
	    "from=\"x\" no-key-here AAAA", /* options, then no key type */
	    "\"unterminated quote " CA_LINE,
	};

	cr_expect_eq(ck_ssh_line_parse("", 0, &l, &err), CK_E_NOTFOUND);
	cr_expect_eq(
	    ck_ssh_line_parse("  # comment", 11, &l, &err), CK_E_NOTFOUND);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = ck_ssh_line_parse(bad[i], strlen(bad[i]), &l, &err);
		cr_expect_eq(r, CK_E_PARSE, "%s: %d", bad[i], r);
		cr_expect_null(l.options);
		cr_expect_null(l.comment);
	}
	{
		size_t n = CK_SSH_LINE_MAX + 1;
		char *big = malloc(n);
		memset(big, 'A', n);
		cr_expect_eq(
		    ck_ssh_line_parse(big, n, &l, &err), CK_E_TOO_LARGE);
		free(big);
	}
}

/* Every truncation and every single-byte change of a certificate blob
 * either parses or fails cleanly (ASan watches the reads). */
Test(ssh, truncated_and_corrupted_blobs)
{
	struct ck_buf blob = CK_BUF_INIT;
	const char *b64 = strchr(CERT_LINE, ' ') + 1;
	size_t b64len = (size_t)(strchr(b64, ' ') - b64);
	struct ck_ssh_key k;
	uint8_t *copy;

	cr_assert(ck_base64_decode(b64, b64len, &blob));
	cr_assert_eq(
	    ck_ssh_key_parse((uint8_t *)blob.p, blob.len, &k, NULL), 0);
	ck_ssh_key_release(&k);
	for (size_t n = 0; n < blob.len; n++) {
		copy = malloc(n ? n : 1);
		memcpy(copy, blob.p, n);
		cr_expect_neq(ck_ssh_key_parse(copy, n, &k, NULL), 0, "%zu", n);
		free(copy);
	}
	copy = malloc(blob.len);
	for (size_t i = 0; i < blob.len; i++) {
		memcpy(copy, blob.p, blob.len);
		copy[i] ^= 0xff;
		if (ck_ssh_key_parse(copy, blob.len, &k, NULL) == 0)
			ck_ssh_key_release(&k);
	}
	free(copy);
	ck_buf_release(&blob);
}

/* ---- the scan and the store ---- */

static char dir[] = "/tmp/ck-ssh-XXXXXX";
static char url[160];
static struct ck_store *st;

static void
setup(void)
{
	struct ck_err err = {0};

	ck_x509_init();
	strcpy(dir, "/tmp/ck-ssh-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/inv.db", dir);
	cr_assert_eq(ck_store_open(url, &st, &err), 0, "%s", err.msg);
}

static void
teardown(void)
{
	char cmd[200];

	ck_store_free(st);
	st = NULL;
	ck_clock_set(0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

static void
write_file(const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

struct listed {
	int n, certs;
	char fp[8][CK_SSH_FP_MAX + 1];
	char principals[128];
	int64_t valid_before;
	int locs;
};

static int
on_loc(void *ctx, const struct ck_location *l)
{
	struct listed *ls = ctx;

	cr_expect_str_eq(l->kind, "ssh");
	ls->locs++;
	return 0;
}

static int
on_key(void *ctx, const struct ck_ssh_key_row *k)
{
	struct listed *ls = ctx;

	if (ls->n < 8)
		snprintf(
		    ls->fp[ls->n], sizeof(ls->fp[0]), "%s", k->fingerprint);
	ls->n++;
	if (k->cert_type != NULL) {
		ls->certs++;
		snprintf(ls->principals, sizeof(ls->principals), "%s",
		    k->principals);
		ls->valid_before = k->valid_before;
	}
	return ck_store_ssh_locations(st, k->id, on_loc, ls, NULL);
}

Test(ssh_scan, records_keys_with_locations, .init = setup, .fini = teardown)
{
	struct ck_ssh_result res;
	struct ck_err err = {0};
	struct listed ls = {0};
	const char *paths[1] = {dir};
	char sshdir[256];

	snprintf(sshdir, sizeof(sshdir), "%s/.ssh", dir);
	cr_assert_eq(mkdir(sshdir, 0700), 0);
	write_file("ca.pub", CA_LINE "\n");
	write_file("host-cert.pub", CERT_LINE "\n");
	write_file(".ssh/authorized_keys",
	    "# keys\n\ncommand=\"true\" " CA_LINE "\n" RSA_LINE
	    "\nnot a key line\n");
	write_file("notes.txt", CA_LINE "\n"); /* not a name the walk takes */
	ck_clock_set(1700000000);
	cr_assert_eq(
	    ck_ssh_scan(st, paths, 1, "test", &res, &err), 0, "%s", err.msg);
	cr_expect_eq(res.files, 3);
	cr_expect_eq(res.keys, 4);
	cr_expect_eq(res.certs, 1);
	cr_expect_eq(res.keys_new, 3); /* the CA key is in two files */
	cr_expect_eq(res.bad_lines, 1);
	cr_assert_eq(res.n_problems, 1);
	cr_expect(strstr(res.problems[0].path, "authorized_keys:5") != NULL,
	    "%s", res.problems[0].path);
	ck_ssh_result_release(&res);

	cr_assert_eq(ck_store_ssh_key_list(st, on_key, &ls, &err), 0);
	cr_expect_eq(ls.n, 3);
	cr_expect_eq(ls.certs, 1);
	cr_expect_eq(ls.locs, 4);
	cr_expect_str_eq(ls.principals, "web.example\n10.0.0.1");
	cr_expect_eq(ls.valid_before, 1767225600);

	/* Again: nothing new. */
	ck_clock_set(1700000100);
	cr_assert_eq(ck_ssh_scan(st, paths, 1, "test", &res, &err), 0);
	cr_expect_eq(res.keys, 4);
	cr_expect_eq(res.keys_new, 0);
	ck_ssh_result_release(&res);
}

Test(ssh_scan, store_failure_rolls_back, .init = setup, .fini = teardown)
{
	struct ck_ssh_result res;
	struct ck_err err = {0};
	struct listed ls = {0};
	const char *paths[1] = {dir};

	write_file("a.pub", CA_LINE "\n" RSA_LINE "\n");
	ck_store_fail_after(st, 3);
	cr_expect_neq(ck_ssh_scan(st, paths, 1, "test", &res, &err), 0);
	cr_expect(strstr(err.msg, "injected") != NULL, "%s", err.msg);
	ck_ssh_result_release(&res);
	ck_store_fail_after(st, 0);
	cr_assert_eq(ck_store_ssh_key_list(st, on_key, &ls, &err), 0);
	cr_expect_eq(ls.n, 0);
}
