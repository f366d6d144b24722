/*
 * Unit tests for http-01's redirects (src/acme/validate.c): which
 * Locations are followed (RFC 8555 8.3: http on the http-01 port, https
 * on the https port, paths on the same host) and which are not.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "acme/acme_int.h"

static struct acme_http_target
start(void)
{
	struct acme_http_target t = {.port = 80};

	strcpy(t.host, "a.example.test");
	strcpy(t.path, "/.well-known/acme-challenge/tok");
	return t;
}

Test(acme_http01, redirects_followed)
{
	struct acme_http_target t = start();

	cr_assert(acme_redirect_parse("/moved/tok", &t, 80, 443));
	cr_assert_str_eq(t.host, "a.example.test");
	cr_assert_str_eq(t.path, "/moved/tok");
	cr_assert_eq(t.port, 80);
	cr_assert(acme_redirect_parse(
	    "https://B.example.test/x?y=1#frag", &t, 80, 443));
	cr_assert(t.tls);
	cr_assert_eq(t.port, 443);
	cr_assert_str_eq(t.host, "B.example.test");
	cr_assert_str_eq(t.path, "/x?y=1");
	/* a path after https stays https */
	cr_assert(acme_redirect_parse("/z", &t, 80, 443));
	cr_assert(t.tls);
	cr_assert_str_eq(t.path, "/z");
	cr_assert(acme_redirect_parse("http://c.example.test:80", &t, 80, 443));
	cr_assert_not(t.tls);
	cr_assert_str_eq(t.path, "/");
	cr_assert(acme_redirect_parse("http://[::1]:5002/p", &t, 5002, 5001));
	cr_assert_str_eq(t.host, "::1");
	cr_assert_eq(t.port, 5002);
	cr_assert(
	    acme_redirect_parse("HTTPS://127.0.0.1:5001/q", &t, 5002, 5001));
	cr_assert(t.tls);
	/* scheme-relative: the scheme stays */
	cr_assert(acme_redirect_parse("//d.example.test/r", &t, 5002, 443));
	cr_assert(t.tls);
	cr_assert_eq(t.port, 443);
	cr_assert_str_eq(t.host, "d.example.test");
	cr_assert_str_eq(t.path, "/r");
	/* a fragment right after the authority: the path is / */
	cr_assert(acme_redirect_parse("http://44#frag/x", &t, 80, 443));
	cr_assert_str_eq(t.host, "44");
	cr_assert_str_eq(t.path, "/");
}

Test(acme_http01, redirects_refused)
{
	const char *bad[] = {"http://a.example.test:8080/x", /* another port */
	    "https://a.example.test:80/x", /* https on the http port */
	    "http://a.example.test:443/", /* http on the https port */
	    "ftp://a.example.test/", "relative/path", "//b.example.test:81/x",
	    "http:///x", "http://a.example.test:/x", "http://a b/x",
	    "http://[::1/x", "http://a.example.test/\x01", "?q=1", "",
	    "http://a.example.test:80x/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct acme_http_target t = start(), u = t;
		cr_assert_not(acme_redirect_parse(bad[i], &t, 80, 443),
		    "%s followed", bad[i]);
		cr_assert(
		    memcmp(&t, &u, sizeof(t)) == 0, "%s changed t", bad[i]);
	}
	/* too long for the path */
	char longp[700] = "/";
	memset(longp + 1, 'a', sizeof(longp) - 2);
	struct acme_http_target t = start();
	cr_assert_not(acme_redirect_parse(longp, &t, 80, 443));
}
