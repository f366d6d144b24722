/*
 * Unit tests for the router: patterns with parameters and a trailing
 * capture, 404 versus 405 with the Allow set, and paths refused outright.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "http/http.h"

static void
h(struct ck_http_ctx *c)
{
	(void)c;
}

static const struct ck_route routes[] = {
    {CK_HTTP_GET, "/api/v1/certificates", h, CK_ACCESS_AUDITOR, false, false},
    {CK_HTTP_POST, "/api/v1/certificates", h, CK_ACCESS_OPERATOR, false, false},
    {CK_HTTP_GET, "/api/v1/certificates/{id}", h, CK_ACCESS_AUDITOR, false,
        false},
    {CK_HTTP_POST, "/api/v1/certificates/{id}/revoke", h, CK_ACCESS_OPERATOR,
        false, false},
    {CK_HTTP_GET, "/ocsp/{req...}", h, CK_ACCESS_PUBLIC, true, false},
    {CK_HTTP_POST, "/ocsp", h, CK_ACCESS_PUBLIC, true, false},
};
#define N (sizeof(routes) / sizeof(routes[0]))

Test(router, matches_with_parameters)
{
	struct ck_route_match m;

	cr_assert_eq(ck_route_find(routes, N, CK_HTTP_GET,
	                 "/api/v1/certificates/42", &m, NULL),
	    0);
	cr_assert_eq(m.index, 2);
	cr_assert_eq(m.n_params, 1);
	cr_assert_str_eq(m.params[0], "42");
	cr_assert_eq(ck_route_find(routes, N, CK_HTTP_POST,
	                 "/api/v1/certificates/ab%20cd/revoke", &m, NULL),
	    0);
	cr_assert_eq(m.index, 3);
	cr_assert_str_eq(m.params[0], "ab cd");
	/* HEAD goes where GET does */
	cr_assert_eq(ck_route_find(routes, N, CK_HTTP_HEAD,
	                 "/api/v1/certificates", &m, NULL),
	    0);
	cr_assert_eq(m.index, 0);
	cr_assert_eq(ck_route_find(routes, N, CK_HTTP_POST,
	                 "/api/v1/certificates", &m, NULL),
	    0);
	cr_assert_eq(m.index, 1);
}

Test(router, trailing_capture_takes_slashes)
{
	struct ck_route_match m;

	cr_assert_eq(ck_route_find(routes, N, CK_HTTP_GET,
	                 "/ocsp/MEMw/QTA%2B%2FPz0%3D", &m, NULL),
	    0);
	cr_assert_eq(m.index, 4);
	cr_assert_str_eq(m.params[0], "MEMw/QTA+/Pz0=");
}

Test(router, not_found_and_method_not_allowed)
{
	struct ck_route_match m;
	char allow[64];

	cr_assert_eq(
	    ck_route_find(routes, N, CK_HTTP_GET, "/api/v1/nope", &m, NULL),
	    CK_E_NOTFOUND);
	cr_assert_eq(ck_route_find(routes, N, CK_HTTP_GET,
	                 "/api/v1/certificates/1/revoke/x", &m, NULL),
	    CK_E_NOTFOUND);
	cr_assert_eq(ck_route_find(routes, N, CK_HTTP_DELETE,
	                 "/api/v1/certificates", &m, NULL),
	    CK_E_PERM);
	ck_http_methods_str(m.allowed, allow, sizeof(allow));
	cr_assert_str_eq(allow, "GET, HEAD, POST");
	cr_assert_eq(ck_route_find(routes, N, CK_HTTP_GET, "/ocsp", &m, NULL),
	    CK_E_PERM);
}

Test(router, refuses_escapes)
{
	static const char *bad[] = {"", "api", "/api/v1/../v1/certificates",
	    "/api/v1/certificates/..", "/api/v1/certificates/%2e%2E",
	    "/api/v1/certificates/./1", "/api/v1/certificates/a%00b",
	    "/api/v1/certificates/a%2fb", "/api/v1/certificates/a%zz",
	    "/api/v1/certificates/a%4", "/api/v1/certificates/a\tb",
	    "/ocsp/a%00"};
	struct ck_route_match m;
	struct ck_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(
		    ck_route_find(routes, N, CK_HTTP_GET, bad[i], &m, &err),
		    CK_E_INVAL, "%s", bad[i]);
}

Test(router, refuses_overlong_parameter)
{
	char path[600] = "/api/v1/certificates/";
	struct ck_route_match m;

	memset(path + strlen(path), 'a', 400);
	cr_assert_eq(
	    ck_route_find(routes, N, CK_HTTP_GET, path, &m, NULL), CK_E_INVAL);
}
