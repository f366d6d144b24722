/*
 * Unit tests for src/ca/seal.c: the master key file and AES-256-GCM
 * sealing of CA keys.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/ca.h"

static const uint8_t k1[CK_MASTER_KEY_LEN] = {1, 2, 3};
static const uint8_t k2[CK_MASTER_KEY_LEN] = {9, 9, 9};

Test(seal, round_trip_and_every_kind_of_tamper)
{
	const char *secret = "-----BEGIN PRIVATE KEY----- not really";
	struct ck_buf sealed = CK_BUF_INIT, plain = CK_BUF_INIT;
	struct ck_err err = {0};

	cr_assert_eq(ck_seal(k1, "ca:one", (const uint8_t *)secret,
	                 strlen(secret), &sealed, &err),
	    0);
	cr_assert_eq(sealed.len, 12 + strlen(secret) + 16);
	cr_assert(memmem(sealed.p, sealed.len, "PRIVATE", 7) == NULL);
	cr_assert_eq(ck_unseal(k1, "ca:one", (const uint8_t *)sealed.p,
	                 sealed.len, &plain, &err),
	    0, "%s", err.msg);
	cr_assert_eq(plain.len, strlen(secret));
	cr_assert(memcmp(plain.p, secret, plain.len) == 0);
	/* Wrong key, other record, flipped bit, cut short. */
	cr_assert_eq(ck_unseal(k2, "ca:one", (const uint8_t *)sealed.p,
	                 sealed.len, &plain, &err),
	    CK_E_CRYPTO);
	cr_assert(strstr(err.msg, "wrong master key") != NULL, "%s", err.msg);
	cr_assert_eq(ck_unseal(k1, "ca:two", (const uint8_t *)sealed.p,
	                 sealed.len, &plain, NULL),
	    CK_E_CRYPTO);
	sealed.p[20] ^= 1;
	cr_assert_eq(ck_unseal(k1, "ca:one", (const uint8_t *)sealed.p,
	                 sealed.len, &plain, NULL),
	    CK_E_CRYPTO);
	sealed.p[20] ^= 1;
	cr_assert_eq(ck_unseal(k1, "ca:one", (const uint8_t *)sealed.p, 20,
	                 &plain, NULL),
	    CK_E_CRYPTO);
	/* Two seals of the same secret differ (fresh nonce). */
	{
		struct ck_buf again = CK_BUF_INIT;
		cr_assert_eq(ck_seal(k1, "ca:one", (const uint8_t *)secret,
		                 strlen(secret), &again, NULL),
		    0);
		cr_assert(memcmp(again.p, sealed.p, sealed.len) != 0);
		ck_buf_release(&again);
	}
	ck_buf_release(&sealed);
	ck_buf_release_secret(&plain);
}

Test(master_key, made_once_0600_and_checked)
{
	char dir[] = "/tmp/ck-mk-XXXXXX", path[128], cmd[160];
	uint8_t a[CK_MASTER_KEY_LEN], b[CK_MASTER_KEY_LEN];
	struct ck_err err = {0};
	struct stat st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/master.key", dir);
	/* Missing and not allowed to make one: a clear error. */
	cr_assert_eq(ck_master_key_load(path, false, a, &err), CK_E_NOTFOUND);
	cr_assert(strstr(err.msg, "cannot be opened without it") != NULL);
	cr_assert_eq(ck_master_key_load(path, true, a, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, CK_MASTER_KEY_LEN);
	/* Loaded again: the same key, never a new one. */
	cr_assert_eq(ck_master_key_load(path, true, b, &err), 0);
	cr_assert(memcmp(a, b, sizeof(a)) == 0);
	chmod(path, 0644);
	cr_assert_eq(ck_master_key_load(path, false, b, &err), CK_E_PERM);
	cr_assert(strstr(err.msg, "chmod 600") != NULL, "%s", err.msg);
	chmod(path, 0600);
	cr_assert_eq(truncate(path, 16), 0);
	cr_assert_eq(ck_master_key_load(path, false, b, &err), CK_E_PARSE);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
