/*
 * Unit tests for the ACME server's name policy (src/acme/policy.c): a
 * name is allowed when it equals a listed suffix or ends in one at a
 * label boundary.
 */
#include <criterion/criterion.h>

#include "acme/acme_int.h"

Test(acme_policy, name_allowed)
{
	const char *l = " example.com,example.net , 192.0.2.1";

	cr_assert(acme_name_allowed("anything.at.all", ""));
	cr_assert(acme_name_allowed("example.com", l));
	cr_assert(acme_name_allowed("www.example.com", l));
	cr_assert(acme_name_allowed("a.b.EXAMPLE.NET", l));
	cr_assert(acme_name_allowed("192.0.2.1", l));
	cr_assert_not(acme_name_allowed("notexample.com", l));
	cr_assert_not(acme_name_allowed("example.com.evil.org", l));
	cr_assert_not(acme_name_allowed("com", l));
	cr_assert_not(acme_name_allowed("192.0.2.10", l));
	cr_assert_not(acme_name_allowed("example.org", l));
	cr_assert_not(acme_name_allowed("x", ","));
}
