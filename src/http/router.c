/*
 * Route matching: a request's method and raw path against the front doors'
 * patterns. Pure string work on outside bytes, so it is fuzzed
 * (tests/fuzz/router.c); paths that try to escape ("..", NUL, encoded '/')
 * are refused before any handler sees them.
 */
#include "http/http.h"

#include <stdio.h>
#include <string.h>

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes n bytes of raw path into out. slash_ok: whether an encoded '/'
 * may appear (only in a trailing "{x...}" capture).
 */
static int
decode(const char *p, size_t n, char *out, size_t cap, bool slash_ok,
    struct ck_err *err)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '%') {
			int h, l;
			if (i + 2 >= n)
				return ck_err_set(
				    err, CK_E_INVAL, "path: bad %% escape");
			if ((h = hexval(p[i + 1])) < 0 ||
			    (l = hexval(p[i + 2])) < 0)
				return ck_err_set(
				    err, CK_E_INVAL, "path: bad %% escape");
			ch = (unsigned char)(h << 4 | l);
			i += 2;
			if (ch == '/' && !slash_ok)
				return ck_err_set(err, CK_E_INVAL,
				    "path: encoded '/' in a segment");
		}
		if (ch < 0x20 || ch == 0x7f)
			return ck_err_set(
			    err, CK_E_INVAL, "path: NUL or control character");
		if (o + 1 >= cap)
			return ck_err_set(
			    err, CK_E_INVAL, "path: segment too long");
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* Refuses what no route should ever see, whatever the table says. */
static int
path_ok(const char *path, struct ck_err *err)
{
	const char *seg;

	if (path == NULL || path[0] != '/')
		return ck_err_set(err, CK_E_INVAL, "path must start with '/'");
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return ck_err_set(
			    err, CK_E_INVAL, "path: NUL or control character");
	seg = path + 1;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		char d[8];
		/* "." and ".." also when escaped: %2e%2E */
		if (n <= 6 && decode(seg, n, d, sizeof(d), true, NULL) == 0 &&
		    (strcmp(d, ".") == 0 || strcmp(d, "..") == 0))
			return ck_err_set(err, CK_E_INVAL,
			    "path: '.' and '..' segments are refused");
		if (end == NULL)
			break;
		seg = end + 1;
	}
	return 0;
}

/* Matches one pattern; fills m's params. 1 match, 0 no match, <0 bad. */
static int
match(const char *pat, const char *path, struct ck_route_match *m,
    struct ck_err *err)
{
	const char *pp = pat, *sp = path;
	size_t np = 0;

	while (*pp && *sp) {
		if (*pp != '/' || *sp != '/')
			return 0;
		pp++;
		sp++;
		const char *pe = strchr(pp, '/');
		size_t pn = pe ? (size_t)(pe - pp) : strlen(pp);
		const char *se = strchr(sp, '/');
		size_t sn = se ? (size_t)(se - sp) : strlen(sp);
		if (pn >= 2 && pp[0] == '{' && pp[pn - 1] == '}') {
			bool rest =
			    pn > 5 && memcmp(pp + pn - 4, "...}", 4) == 0;
			int r;
			if (rest)
				sn = strlen(sp);
			if (sn == 0 || np == CK_ROUTE_MAX_PARAMS)
				return 0;
			r = decode(sp, sn, m->params[np], CK_ROUTE_PARAM_MAX,
			    rest, err);
			if (r != 0)
				return r;
			np++;
			if (rest) {
				m->n_params = np;
				return pp[pn] == '\0' ? 1 : 0;
			}
		} else if (pn != sn || memcmp(pp, sp, pn) != 0) {
			return 0;
		}
		pp += pn;
		sp += sn;
	}
	if (*pp != '\0' || *sp != '\0')
		return 0;
	m->n_params = np;
	return 1;
}

int
ck_route_find(const struct ck_route *routes, size_t n,
    enum ck_http_method method, const char *path, struct ck_route_match *m,
    struct ck_err *err)
{
	struct ck_route_match tmp;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = path_ok(path, err)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		unsigned ms = routes[i].methods;
		if (ms & CK_HTTP_GET)
			ms |= CK_HTTP_HEAD;
		/* match() writes only the params it takes (no memset of the
		 * whole 1 KiB per route: this loop runs for every request) */
		tmp.n_params = 0;
		if ((r = match(routes[i].pattern, path, &tmp, err)) < 0)
			return r;
		if (r == 0)
			continue;
		m->allowed |= ms;
		if ((ms & method) && m->route == NULL) {
			unsigned allowed = m->allowed;
			*m = tmp;
			m->allowed = allowed;
			m->route = &routes[i];
			m->index = i;
		}
	}
	if (m->route != NULL)
		return 0;
	if (m->allowed != 0)
		return ck_err_set(err, CK_E_PERM, "method not allowed");
	return ck_err_set(err, CK_E_NOTFOUND, "no such resource");
}

enum ck_http_method
ck_http_method_parse(const char *s)
{
	static const struct {
		const char *name;
		enum ck_http_method m;
	} t[] = {
	    {"GET", CK_HTTP_GET},
	    {"HEAD", CK_HTTP_HEAD},
	    {"POST", CK_HTTP_POST},
	    {"PUT", CK_HTTP_PUT},
	    {"DELETE", CK_HTTP_DELETE},
	    {"PATCH", CK_HTTP_PATCH},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0)
			return t[i].m;
	return CK_HTTP_OTHER;
}

void
ck_http_methods_str(unsigned methods, char *out, size_t cap)
{
	static const char *names[] = {
	    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
	size_t o = 0;

	if (cap == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < 6; i++) {
		if (!(methods & (1u << i)))
			continue;
		int w =
		    snprintf(out + o, cap - o, "%s%s", o ? ", " : "", names[i]);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
}
