/*
 * Unit tests for scan targets and ports: addresses, CIDR blocks and
 * ranges of both families are generated in order without being
 * materialised (a /8 and an IPv6 /64 are counted, not allocated), host
 * names pass through, and bad specs are refused with the spec named.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/net.h"

static void
addr_str(const struct ck_target *t, char *out, size_t cap)
{
	if (t->host[0]) {
		snprintf(out, cap, "%s", t->host);
	} else if (t->addr.ss_family == AF_INET) {
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)&t->addr)->sin_addr, out,
		    (socklen_t)cap);
	} else {
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)&t->addr)->sin6_addr, out,
		    (socklen_t)cap);
	}
}

static char *
all(const char *const *specs, size_t n)
{
	static char buf[4096];
	struct ck_targets *t;
	struct ck_target x;
	struct ck_err err;
	char a[256];

	buf[0] = '\0';
	cr_assert_eq(ck_targets_new(specs, n, &t, &err), 0, "%s", err.msg);
	while (ck_targets_next(t, &x)) {
		addr_str(&x, a, sizeof(a));
		strcat(buf, a);
		strcat(buf, " ");
	}
	ck_targets_free(t);
	return buf;
}

Test(targets, addresses_blocks_ranges_names)
{
	const char *a[] = {"10.0.0.1", "192.168.1.4/30", "10.9.9.254-10.9.10.1",
	    "172.16.0.5-7", "www.example.com", "fd00::fe/127", "::1"};

	cr_assert_str_eq(all(a, 7),
	    "10.0.0.1 192.168.1.4 192.168.1.5 192.168.1.6 192.168.1.7 "
	    "10.9.9.254 10.9.9.255 10.9.10.0 10.9.10.1 172.16.0.5 172.16.0.6 "
	    "172.16.0.7 www.example.com fd00::fe fd00::ff ::1 ");
}

Test(targets, large_ranges_are_counted_not_allocated)
{
	const char *a[] = {"10.0.0.0/8", "2001:db8::/64", "127.0.0.0/16"};
	struct ck_targets *t;
	struct ck_target x;
	struct ck_err err;

	cr_assert_eq(ck_targets_new(a, 1, &t, &err), 0);
	cr_assert_eq(ck_targets_count(t), 16777216);
	cr_assert(ck_targets_next(t, &x));
	ck_targets_free(t);
	cr_assert_eq(ck_targets_new(a, 3, &t, &err), 0);
	cr_assert_eq(ck_targets_count(t), UINT64_MAX); /* saturates */
	ck_targets_free(t);
	cr_assert_eq(ck_targets_new(a + 2, 1, &t, &err), 0);
	cr_assert_eq(ck_targets_count(t), 65536);
	ck_targets_free(t);
}

Test(targets, bad_specs_are_named)
{
	static const char *bad[] = {"10.0.0.1/33", "10.0.0.9-10.0.0.1",
	    "10.0.0.1-300", "::1-10.0.0.1", "not a host!", "", "-x.example",
	    "10.0.0.1/", "fd00::/129"};
	struct ck_targets *t;
	struct ck_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ck_targets_new(&bad[i], 1, &t, &err), CK_E_INVAL,
		    "%s", bad[i]);
		cr_assert_null(t);
	}
}

Test(ports, lists_and_ranges)
{
	int *p;
	size_t n;
	struct ck_err err;

	cr_assert_eq(ck_ports_parse("443,8000-8002,25", &p, &n, &err), 0);
	cr_assert_eq(n, 5);
	cr_assert_eq(p[0], 443);
	cr_assert_eq(p[3], 8002);
	cr_assert_eq(p[4], 25);
	free(p);
	static const char *bad[] = {"0", "65536", "443,", "a", "10-5", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(ck_ports_parse(bad[i], &p, &n, &err), CK_E_INVAL,
		    "%s", bad[i]);
}
