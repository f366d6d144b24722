/*
 * Unit tests for the ACME server's renewal information (src/acme/ari.c):
 * CertIDs as RFC 9773 4.1 spells them (its own example among them) and
 * the suggested window, which must agree with the client's default rule.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "acme/acme_int.h"
#include "lifecycle/managed.h"

Test(acme_ari, certid_parse)
{
	struct ck_buf aki = CK_BUF_INIT;
	struct acme_prob p;
	char serial[64];

	/* RFC 9773 4.1's example: keyIdentifier 69:88:5B:6B:87:46:40:41:
	 * E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4, serial 00:87:65:43:21 */
	cr_assert_eq(acme_certid_parse("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
	                 serial, &aki, &p),
	    0, "%s", p.detail);
	cr_assert_str_eq(serial, "87654321");
	cr_assert_str_eq(aki.p, "69885b6b87464041e1b37b847ba0ae2cde01c8d4");
	ck_buf_release(&aki);
	/* a small positive serial has no sign byte */
	cr_assert_eq(acme_certid_parse("AQ.fw", serial, &aki, &p), 0);
	cr_assert_str_eq(serial, "7f");
	ck_buf_release(&aki);
	/* not CertIDs */
	const char *bad[] = {"", ".", "AQ.", ".AQ", "AQ", "AQ.AQ.AQ",
	    "AQ.gA" /* negative */, "AQ.AAE" /* 00 before a small byte */,
	    "A!.AQ", "AQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" /* 24 bytes */};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_neq(acme_certid_parse(bad[i], serial, &aki, &p), 0,
		    "%s taken", bad[i]);
		cr_assert_str_eq(p.type, "malformed");
		ck_buf_release(&aki);
	}
}

Test(acme_ari, window_follows_the_default_rule)
{
	struct ck_acme_issued is = {0};
	int64_t s, e, life = 90 * 86400;

	is.not_before = 1800000000;
	is.not_after = is.not_before + life;
	acme_ari_window(&is, 0, &s, &e);
	/* every renewal time the client's default rule can draw lies in
	 * the window, and the window is no wider than that */
	cr_assert_eq(e, ck_renew_time(is.not_before, is.not_after, 667, 0, 0));
	cr_assert_eq(
	    s, ck_renew_time(is.not_before, is.not_after, 667, 0, 1.0));
	cr_assert_eq(e - s, life / 30);
	cr_assert_eq(e, is.not_before + life * 667 / 1000);

	/* renew-early: the window ends at the operator's time */
	acme_ari_window(&is, is.not_before + 86400, &s, &e);
	cr_assert_eq(e, is.not_before + 86400);
	cr_assert_eq(s, is.not_before);
	acme_ari_window(&is, is.not_before + 30 * 86400, &s, &e);
	cr_assert_eq(e, is.not_before + 30 * 86400);
	cr_assert_eq(e - s, life / 30);
	/* a later time than the rule's changes nothing */
	acme_ari_window(&is, is.not_after, &s, &e);
	cr_assert_eq(e, is.not_before + life * 667 / 1000);
	/* revoked: renew now */
	is.revoked_at = is.not_before + 10 * 86400;
	acme_ari_window(&is, 0, &s, &e);
	cr_assert_eq(e, is.revoked_at);
	cr_assert_lt(s, e);
}
