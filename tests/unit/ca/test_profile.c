/*
 * Unit tests for src/ca/profile.c: the SC-081 validity schedule, chosen by
 * the issuance date, and the keys each profile takes.
 */
#include <criterion/criterion.h>

#include "base/clock.h"
#include "ca/ca.h"

static int64_t
at(const char *when)
{
	int64_t t = 0;

	cr_assert_eq(ck_time_parse(when, &t), 0);
	return t;
}

Test(profile, tls_server_follows_sc081)
{
	const struct ck_profile *p = ck_profile_find("tls-server");

	cr_assert_not_null(p);
	cr_assert_eq(ck_profile_max_days(p, at("2026-03-14T23:59:59Z")), 398);
	cr_assert_eq(ck_profile_max_days(p, at("2026-03-15T00:00:00Z")), 200);
	cr_assert_eq(ck_profile_max_days(p, at("2026-11-23T09:00:00Z")), 200);
	cr_assert_eq(ck_profile_max_days(p, at("2027-03-14T23:59:59Z")), 200);
	cr_assert_eq(ck_profile_max_days(p, at("2027-03-15T00:00:00Z")), 100);
	cr_assert_eq(ck_profile_max_days(p, at("2029-03-14T23:59:59Z")), 100);
	cr_assert_eq(ck_profile_max_days(p, at("2029-03-15T00:00:00Z")), 47);
	cr_assert_eq(ck_profile_max_days(p, at("2035-01-01T00:00:00Z")), 47);
}

Test(profile, known_and_unknown)
{
	const char *names[] = {"tls-server", "tls-client", "code-signing",
	    "email", "device", "sub-ca"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct ck_profile *p = ck_profile_find(names[i]);
		cr_assert_not_null(p, "%s", names[i]);
		cr_assert_gt(ck_profile_max_days(p, ck_now()), 0);
	}
	cr_assert_null(ck_profile_find("tls"));
	cr_assert(ck_profile_find("sub-ca")->ca);
	cr_assert(!ck_profile_find("tls-server")->ca);
}

Test(profile, keys)
{
	const struct ck_profile *tls = ck_profile_find("tls-server");
	const struct ck_profile *cs = ck_profile_find("code-signing");
	const struct ck_profile *dev = ck_profile_find("device");
	struct ck_err err = {0};

	cr_assert_eq(ck_profile_check_key(tls, "rsa", 2048, "", &err), 0);
	cr_assert_eq(
	    ck_profile_check_key(tls, "rsa", 1024, "", &err), CK_E_INVAL);
	cr_assert_eq(
	    ck_profile_check_key(tls, "rsa", 16384, "", &err), CK_E_INVAL);
	cr_assert_eq(
	    ck_profile_check_key(cs, "rsa", 2048, "", &err), CK_E_INVAL);
	cr_assert_eq(ck_profile_check_key(cs, "rsa", 3072, "", &err), 0);
	cr_assert_eq(ck_profile_check_key(tls, "ec", 256, "P-256", &err), 0);
	cr_assert_eq(ck_profile_check_key(tls, "ec", 384, "P-384", &err), 0);
	cr_assert_eq(
	    ck_profile_check_key(tls, "ec", 192, "P-192", &err), CK_E_INVAL);
	cr_assert_eq(ck_profile_check_key(tls, "ec", 256, "secp256k1", &err),
	    CK_E_INVAL);
	cr_assert_eq(
	    ck_profile_check_key(tls, "ed25519", 256, "", &err), CK_E_INVAL);
	cr_assert_eq(ck_profile_check_key(dev, "ed25519", 256, "", &err), 0);
	cr_assert_eq(
	    ck_profile_check_key(dev, "dsa", 2048, "", &err), CK_E_INVAL);
}
