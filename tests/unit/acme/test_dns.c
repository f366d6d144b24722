/*
 * Unit tests for the ACME server's DNS (src/acme/dns.c): the resolver
 * setting, TXT and CAA record parsing, the RFC 8659 decision, and
 * lookups against a small DNS responder on a loopback UDP socket that
 * answers with CNAMEs, SERVFAIL, NXDOMAIN, an empty answer without AA or
 * RA (as pebble-challtestsrv does), stray datagrams, or not at all.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acme/acme_int.h"

Test(acme_dns, resolver_parse)
{
	struct acme_resolver rv;

	cr_assert_eq(acme_resolver_parse("system", &rv), 0);
	cr_assert_eq(rv.kind, ACME_RES_SYSTEM);
	cr_assert_eq(acme_resolver_parse("static:127.0.0.1", &rv), 0);
	cr_assert_eq(rv.kind, ACME_RES_STATIC);
	cr_assert_str_eq(rv.addr, "127.0.0.1");
	cr_assert_eq(acme_resolver_parse("dns:127.0.0.1:8053", &rv), 0);
	cr_assert_eq(rv.kind, ACME_RES_DNS);
	cr_assert_eq(((struct sockaddr_in *)&rv.server)->sin_port, htons(8053));
	cr_assert_eq(acme_resolver_parse("dns:[::1]:53", &rv), 0);
	cr_assert_eq(rv.server.ss_family, AF_INET6);
	cr_assert_neq(acme_resolver_parse("dns:127.0.0.1", &rv), 0);
	cr_assert_neq(acme_resolver_parse("dns:127.0.0.1:0", &rv), 0);
	cr_assert_neq(acme_resolver_parse("dns:127.0.0.1:70000", &rv), 0);
	cr_assert_neq(acme_resolver_parse("dns:localhost:53", &rv), 0);
	cr_assert_neq(acme_resolver_parse("dns:[::1:53", &rv), 0);
	cr_assert_neq(acme_resolver_parse("static:", &rv), 0);
	cr_assert_neq(acme_resolver_parse("8.8.8.8", &rv), 0);
}

Test(acme_dns, txt_value)
{
	const uint8_t two[] = {3, 'a', 'b', 'c', 2, 'd', 'e'};
	const uint8_t bad[] = {5, 'a', 'b'};
	char out[8];

	cr_assert_eq(acme_txt_value(two, sizeof(two), out, sizeof(out)), 0);
	cr_assert_str_eq(out, "abcde");
	cr_assert_neq(acme_txt_value(bad, sizeof(bad), out, sizeof(out)), 0);
	cr_assert_neq(acme_txt_value(two, sizeof(two), out, 4), 0);
	const uint8_t nul[] = {3, 'a', 0, 'c'};
	cr_assert_neq(acme_txt_value(nul, sizeof(nul), out, sizeof(out)), 0);
}

static void
caa(struct acme_caa *c, int flags, const char *tag, const char *value)
{
	uint8_t rd[300];
	size_t tl = strlen(tag), vl = strlen(value);

	rd[0] = (uint8_t)flags;
	rd[1] = (uint8_t)tl;
	memcpy(rd + 2, tag, tl);
	memcpy(rd + 2 + tl, value, vl);
	cr_assert_eq(acme_caa_parse(rd, 2 + tl + vl, c), 0);
}

Test(acme_dns, caa_parse)
{
	const uint8_t shortrr[] = {0, 9, 'i', 's'};
	const uint8_t notag[] = {0, 0, 'x'};
	struct acme_caa c;

	caa(&c, 128, "ISSUE", "ca.example; account=1");
	cr_assert(c.critical);
	cr_assert_str_eq(c.tag, "issue");
	cr_assert_str_eq(c.value, "ca.example; account=1");
	cr_assert_neq(acme_caa_parse(shortrr, sizeof(shortrr), &c), 0);
	cr_assert_neq(acme_caa_parse(notag, sizeof(notag), &c), 0);
	cr_assert_neq(acme_caa_parse(notag, 1, &c), 0);
	/* found by the fuzzer: NULs in a tag; nor in a value, which would
	 * read as a shorter name */
	const uint8_t nultag[] = {0x55, 3, 0, 0, '+', 0x0e};
	const uint8_t nulval[] = {
	    0, 5, 'i', 's', 's', 'u', 'e', 'c', 'a', 0, 'x'};
	cr_assert_neq(acme_caa_parse(nultag, sizeof(nultag), &c), 0);
	cr_assert_neq(acme_caa_parse(nulval, sizeof(nulval), &c), 0);
}

Test(acme_dns, caa_permits)
{
	struct acme_caa s[4];
	const char *ids = "ca.example, other.example";
	char why[128];

	caa(&s[0], 0, "issue", "ca.example");
	cr_assert(acme_caa_permits(s, 1, false, ids, why, sizeof(why)));
	/* a wildcard without issuewild follows issue */
	cr_assert(acme_caa_permits(s, 1, true, ids, why, sizeof(why)));
	caa(&s[0], 0, "issue", " other.example ; policy=ev");
	cr_assert(acme_caa_permits(s, 1, false, ids, why, sizeof(why)));
	caa(&s[0], 0, "issue", "letsencrypt.org");
	cr_assert_not(acme_caa_permits(s, 1, false, ids, why, sizeof(why)));
	cr_assert_str_eq(why, "issue does not name this CA");
	/* a suffix or prefix of our name is not our name */
	caa(&s[0], 0, "issue", "a.ca.example");
	cr_assert_not(acme_caa_permits(s, 1, false, ids, why, sizeof(why)));
	caa(&s[0], 0, "issue", "ca.exampl");
	cr_assert_not(acme_caa_permits(s, 1, false, ids, why, sizeof(why)));
	/* ";" alone: nobody */
	caa(&s[0], 0, "issue", ";");
	cr_assert_not(acme_caa_permits(s, 1, false, ids, why, sizeof(why)));
	/* one of several issue properties is enough */
	caa(&s[0], 0, "issue", "letsencrypt.org");
	caa(&s[1], 0, "issue", "CA.EXAMPLE");
	cr_assert(acme_caa_permits(s, 2, false, ids, why, sizeof(why)));
	/* issuewild governs wildcards only */
	caa(&s[0], 0, "issue", "ca.example");
	caa(&s[1], 0, "issuewild", ";");
	cr_assert(acme_caa_permits(s, 2, false, ids, why, sizeof(why)));
	cr_assert_not(acme_caa_permits(s, 2, true, ids, why, sizeof(why)));
	cr_assert_str_eq(why, "issuewild does not name this CA");
	caa(&s[0], 0, "issue", ";");
	caa(&s[1], 0, "issuewild", "ca.example");
	cr_assert_not(acme_caa_permits(s, 2, false, ids, why, sizeof(why)));
	cr_assert(acme_caa_permits(s, 2, true, ids, why, sizeof(why)));
	/* a set with only iodef restricts nobody */
	caa(&s[0], 0, "iodef", "mailto:x@example");
	cr_assert(acme_caa_permits(s, 1, false, ids, why, sizeof(why)));
	/* an unknown critical property forbids everyone; not critical, it
	 * is ignored */
	caa(&s[0], 128, "tbs", "x");
	caa(&s[1], 0, "issue", "ca.example");
	cr_assert_not(acme_caa_permits(s, 2, false, ids, why, sizeof(why)));
	caa(&s[0], 0, "tbs", "x");
	cr_assert(acme_caa_permits(s, 2, false, ids, why, sizeof(why)));
}

/* ---- a DNS responder on loopback ---- */

static int srv_fd = -1;
static int srv_port;

/* Appends the name a.b. in wire form. */
static size_t
put_name(uint8_t *o, const char *name)
{
	size_t n = 0;

	while (*name != '\0') {
		size_t l = strcspn(name, ".");
		o[n++] = (uint8_t)l;
		memcpy(o + n, name, l);
		n += l;
		name += l + (name[l] == '.');
	}
	o[n++] = 0;
	return n;
}

static void *
responder(void *arg)
{
	uint8_t q[512], a[1024];

	(void)arg;
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(
		    srv_fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		char name[256] = "";
		size_t o = 12, qend, len;
		if (n < 17)
			continue;
		/* the question's name, dotted */
		while (o < (size_t)n && q[o] != 0) {
			strncat(name, (char *)q + o + 1, q[o]);
			strcat(name, ".");
			o += q[o] + 1U;
		}
		qend = o + 5;
		memcpy(a, q, qend);
		a[2] = 0x81; /* QR, RD; neither AA nor RA */
		a[3] = 0;
		a[6] = a[7] = a[8] = a[9] = a[10] = a[11] = 0;
		len = qend;
		if (strcmp(name, "quiet.test.") == 0)
			continue;
		if (strcmp(name, "stray.test.") == 0) {
			/* another id first: must be skipped */
			uint8_t s[12] = {(uint8_t)(q[0] ^ 0xff), 0, 0x81};
			sendto(srv_fd, s, sizeof(s), 0,
			    (struct sockaddr *)&from, fl);
			name[0] = '\0';
			strcpy(name, "real.test.");
		}
		if (strcmp(name, "fail.test.") == 0)
			a[3] = 2;
		else if (strcmp(name, "nx.test.") == 0)
			a[3] = 3;
		else if (strcmp(name, "cname.test.") == 0 ||
		    strcmp(name, "loop.test.") == 0) {
			size_t rdl;
			a[7] = 1;
			a[len++] = 0xc0, a[len++] = 12; /* owner: qname */
			a[len++] = 0, a[len++] = 5; /* CNAME */
			a[len++] = 0, a[len++] = 1;
			memset(a + len, 0, 4), len += 4;
			rdl = put_name(a + len + 2,
			    name[0] == 'l' ? "loop.test" : "real.test");
			a[len++] = 0, a[len++] = (uint8_t)rdl;
			len += rdl;
		} else if (strcmp(name, "real.test.") == 0) {
			a[7] = 2;
			for (int k = 0; k < 2; k++) {
				const char *v = k == 0 ? "hello" : "world";
				a[len++] = 0xc0, a[len++] = 12;
				a[len++] = 0, a[len++] = 16; /* TXT */
				a[len++] = 0, a[len++] = 1;
				memset(a + len, 0, 4), len += 4;
				a[len++] = 0, a[len++] = 6;
				a[len++] = 5;
				memcpy(a + len, v, 5), len += 5;
			}
		}
		/* else: NOERROR, nothing (empty.test) */
		sendto(srv_fd, a, len, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static void
start_responder(struct acme_resolver *rv)
{
	static pthread_t th;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char spec[64];

	if (srv_fd < 0) {
		srv_fd = socket(AF_INET, SOCK_DGRAM, 0);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		cr_assert_eq(
		    bind(srv_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		getsockname(srv_fd, (struct sockaddr *)&sa, &sl);
		srv_port = ntohs(sa.sin_port);
		pthread_create(&th, NULL, responder, NULL);
		pthread_detach(th);
	}
	snprintf(spec, sizeof(spec), "dns:127.0.0.1:%d", srv_port);
	cr_assert_eq(acme_resolver_parse(spec, rv), 0);
}

static int
collect(void *arg, const uint8_t *rd, size_t len)
{
	char *all = arg, v[64];

	if (acme_txt_value(rd, len, v, sizeof(v)) != 0)
		return -1;
	strcat(all, v);
	strcat(all, ";");
	return 0;
}

Test(acme_dns, lookups)
{
	struct acme_resolver rv;
	struct acme_prob p;
	char all[256] = "";

	start_responder(&rv);
	cr_assert_eq(
	    acme_dns_lookup(&rv, "real.test", ACME_DNS_TXT, collect, all, &p),
	    2);
	cr_assert_str_eq(all, "hello;world;");
	/* a CNAME answered alone is followed */
	all[0] = '\0';
	cr_assert_eq(
	    acme_dns_lookup(&rv, "cname.test", ACME_DNS_TXT, collect, all, &p),
	    2);
	cr_assert_str_eq(all, "hello;world;");
	/* a stray datagram with another id is skipped */
	all[0] = '\0';
	cr_assert_eq(
	    acme_dns_lookup(&rv, "stray.test", ACME_DNS_TXT, collect, all, &p),
	    2);
	/* no records: NXDOMAIN, and NOERROR without AA or RA */
	cr_assert_eq(
	    acme_dns_lookup(&rv, "nx.test", ACME_DNS_CAA, NULL, NULL, &p), 0);
	cr_assert_eq(
	    acme_dns_lookup(&rv, "empty.test", ACME_DNS_CAA, NULL, NULL, &p),
	    0);
	/* failures: SERVFAIL, a CNAME loop */
	cr_assert_eq(
	    acme_dns_lookup(&rv, "fail.test", ACME_DNS_CAA, NULL, NULL, &p),
	    -1);
	cr_assert_str_eq(p.type, "dns");
	cr_assert(strstr(p.detail, "server failure") != NULL, "%s", p.detail);
	cr_assert_eq(
	    acme_dns_lookup(&rv, "loop.test", ACME_DNS_TXT, NULL, NULL, &p),
	    -1);
	cr_assert(strstr(p.detail, "CNAMEs") != NULL, "%s", p.detail);
}

Test(acme_dns, no_answer_is_bounded, .timeout = 15)
{
	struct acme_resolver rv;
	struct acme_prob p;
	time_t t0 = time(NULL);

	start_responder(&rv);
	cr_assert_eq(
	    acme_dns_lookup(&rv, "quiet.test", ACME_DNS_CAA, NULL, NULL, &p),
	    -1);
	cr_assert(strstr(p.detail, "timeout") != NULL, "%s", p.detail);
	cr_assert_leq(time(NULL) - t0, 6);
	/* CAA: a lookup that fails refuses */
	cr_assert_eq(acme_caa_check(&rv, "fail.test", "ca.example", &p), -1);
	cr_assert_str_eq(p.type, "caa");
	/* no CAA anywhere up the tree: permitted */
	cr_assert_eq(
	    acme_caa_check(&rv, "a.b.empty.test", "ca.example", &p), 0);
}
