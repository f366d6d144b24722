/*
 * Unit tests for src/api: the OpenAPI document and the route table name
 * the same routes both ways; JSON bodies refuse unknown fields,
 * duplicates and non-objects; the issuer, managed-certificate and move
 * bodies decode, refuse what they would ignore or misread, and wipe the
 * EAB key's text; the config table parses and overrides.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/body.h"
#include "base/config.h"

/* "/ocsp/{request...}" is documented as "/ocsp/{request}". */
static void
doc_form(const char *pattern, char *out, size_t cap)
{
	size_t o = 0;

	for (const char *p = pattern; *p && o + 1 < cap; p++) {
		if (strncmp(p, "...}", 4) == 0) {
			p += 2; /* the loop steps past the third dot */
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
}

/* The methods documented under path in the YAML (two-space path keys,
 * four-space method keys). */
static unsigned
doc_methods(const char *yaml, const char *path)
{
	char key[300];
	const char *p;
	unsigned m = 0;

	snprintf(key, sizeof(key), "\n  %s:\n", path);
	if ((p = strstr(yaml, key)) == NULL)
		return 0;
	p += strlen(key);
	while (strncmp(p, "    ", 4) == 0) {
		if (p[4] != ' ') {
			if (strncmp(p + 4, "get:", 4) == 0)
				m |= CK_HTTP_GET;
			else if (strncmp(p + 4, "post:", 5) == 0)
				m |= CK_HTTP_POST;
			else if (strncmp(p + 4, "delete:", 7) == 0)
				m |= CK_HTTP_DELETE;
			else if (strncmp(p + 4, "put:", 4) == 0)
				m |= CK_HTTP_PUT;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return m;
}

Test(openapi, every_route_is_documented)
{
	const struct ck_route *r;
	size_t n;
	char path[300];

	ck_api_routes(&r, &n);
	for (size_t i = 0; i < n; i++) {
		doc_form(r[i].pattern, path, sizeof(path));
		cr_assert(doc_methods(ck_api_openapi_yaml, path) & r[i].methods,
		    "route %s is not in docs/openapi.yaml", r[i].pattern);
	}
}

Test(openapi, every_documented_route_exists)
{
	const char *p = strstr(ck_api_openapi_yaml, "\npaths:\n");
	const struct ck_route *r;
	size_t n, count = 0;

	cr_assert_not_null(p);
	ck_api_routes(&r, &n);
	p += 8;
	while (strncmp(p, "  /", 3) == 0 || strncmp(p, "    ", 4) == 0) {
		if (strncmp(p, "  /", 3) == 0) {
			char path[300];
			const char *e = strstr(p, ":\n");
			size_t len = (size_t)(e - p - 2);
			memcpy(path, p + 2, len);
			path[len] = '\0';
			unsigned want = doc_methods(ck_api_openapi_yaml, path),
			         have = 0;
			for (size_t i = 0; i < n; i++) {
				char d[300];
				doc_form(r[i].pattern, d, sizeof(d));
				if (strcmp(d, path) == 0)
					have |= r[i].methods;
			}
			cr_assert_eq(want & ~have, 0,
			    "%s documents a method the server lacks", path);
			count++;
		}
		p = strchr(p, '\n') + 1;
	}
	cr_assert_geq(count, 15);
}

Test(body, json_objects_only_known_fields)
{
	static const char *const known[] = {"a", "b", NULL};
	struct ck_err err;
	json_t *j;

#define P(s) ck_api_json_parse((const uint8_t *)(s), strlen(s), known, &j, &err)
	cr_assert_eq(P("{\"a\":1,\"b\":\"x\"}"), 0);
	json_decref(j);
	cr_assert_eq(P("{\"a\":1,\"c\":2}"), CK_E_INVAL);
	cr_assert(strstr(err.msg, "unknown field 'c'") != NULL);
	cr_assert_eq(P("{\"a\":1,\"a\":2}"), CK_E_PARSE);
	cr_assert_eq(P("[1]"), CK_E_PARSE);
	cr_assert_eq(P("{\"a\":"), CK_E_PARSE);
	cr_assert_eq(P(""), CK_E_PARSE);
	cr_assert_eq(P("{} trailing"), CK_E_PARSE);
#undef P
}

Test(config, defaults_file_and_environment)
{
	char path[] = "/tmp/ck-conf-XXXXXX";
	struct ck_config c;
	struct ck_err err;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("# comment\n[server]\nworkers = 3\n[limits]\nidle_timeout = 2m\n",
	    f);
	fclose(f);
	unsetenv("CERTKEEP_WORKERS");
	setenv("CERTKEEP_MAX_BODY_BYTES", "999", 1);
	cr_assert_eq(ck_config_load(path, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(ck_config_int(&c, CK_CFG_WORKERS), 3);
	cr_assert_eq(ck_config_int(&c, CK_CFG_IDLE_TIMEOUT), 120);
	cr_assert_eq(ck_config_int(&c, CK_CFG_MAX_BODY), 999);
	cr_assert_str_eq(ck_config_str(&c, CK_CFG_LISTEN), "127.0.0.1:8443");
	cr_assert_eq(ck_config_set(&c, CK_CFG_WORKERS, "x", &err), CK_E_PARSE);
	ck_config_release(&c);
	unsetenv("CERTKEEP_MAX_BODY_BYTES");
	unlink(path);
}

Test(config, bad_files_are_refused_with_the_line)
{
	static const char *bad[] = {"[server]\nworkerz = 1\n",
	    "[server]\nworkers = many\n", "[limits]\nidle_timeout = 30\n",
	    "[nosuch]\nx = 1\n", "[server]\nthis is not ini\n"};
	char path[] = "/tmp/ck-conf-XXXXXX";
	struct ck_config c;
	struct ck_err err;
	int fd = mkstemp(path);

	close(fd);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		cr_assert_eq(
		    ck_config_load(path, &c, &err), CK_E_PARSE, "%s", bad[i]);
		cr_assert(strstr(err.msg, ":2") != NULL, "%s", err.msg);
	}
	cr_assert_eq(
	    ck_config_load("/nonexistent/x.conf", &c, &err), CK_E_NOTFOUND);
	unlink(path);
}

Test(config, example_lists_every_key)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_config_write_example(f);
	fclose(f);
	for (int k = 0; k < CK_CFG_COUNT; k++) {
		char want[64];
		snprintf(want, sizeof(want), "\n%s = ", ck_config_name(k));
		cr_assert(strstr(text, want) != NULL, "%s", want);
	}
	free(text);
}

Test(config, every_key_is_in_docs)
{
	FILE *f = fopen("docs/config.md", "r");
	char *text = NULL;
	size_t cap = 0;
	ssize_t n;

	cr_assert_not_null(f, "run from the repository root");
	n = getdelim(&text, &cap, '\0', f);
	fclose(f);
	cr_assert_gt(n, 0);
	for (int k = 0; k < CK_CFG_COUNT; k++) {
		char want[96];
		snprintf(want, sizeof(want), "| `[%s]` | `%s` |",
		    ck_config_section(k), ck_config_name(k));
		cr_assert(strstr(text, want) != NULL,
		    "%s is not documented in docs/config.md", want);
	}
	free(text);
}

/* inih reads a line of at most INI_MAX_LINE (200) bytes and takes the
 * rest as the next line: a longer comment would make the example file
 * (and the config `make run` writes from it) fail to load. */
Test(config, example_lines_fit_inih)
{
	char *text = NULL;
	size_t len = 0, line = 1;
	FILE *m = open_memstream(&text, &len);

	ck_config_write_example(m);
	fclose(m);
	for (char *p = text; *p != '\0'; line++) {
		size_t n = strcspn(p, "\n");
		cr_assert_lt(n, 199, "example line %zu has %zu bytes", line, n);
		p += n + (p[n] == '\n');
	}
	free(text);
}

Test(config, example_file_is_current)
{
	FILE *f = fopen("docs/certkeep.conf.example", "r");
	char *want = NULL, *have = NULL;
	size_t cap = 0, len = 0;
	FILE *m = open_memstream(&have, &len);

	cr_assert_not_null(f, "run from the repository root");
	cr_assert_gt(getdelim(&want, &cap, '\0', f), 0);
	fclose(f);
	ck_config_write_example(m);
	fclose(m);
	cr_assert_str_eq(have, want,
	    "docs/certkeep.conf.example is stale: regenerate it with "
	    "`certkeep serve --example-config`");
	free(want);
	free(have);
}

/* Parses s with fields and hands back the object (the test's). */
static json_t *
obj(const char *s, const char *const *fields)
{
	struct ck_err err;
	json_t *j = NULL;

	cr_assert_eq(
	    ck_api_json_parse((const uint8_t *)s, strlen(s), fields, &j, &err),
	    0, "%s: %s", s, err.msg);
	return j;
}

Test(body, issuer_fields_by_type_and_the_eab_key_wiped)
{
	struct ck_issuer_def d;
	struct ck_err err;
	json_t *j, *h;
	const char *hv;

	j = obj("{\"name\":\"le\",\"type\":\"acme\",\"directory\":"
	        "\"https://ca.test/dir\",\"eab_kid\":\"kid1\",\"eab_hmac\":"
	        "\"c2VjcmV0LWtleS0_\",\"dns_wait\":\"2m\",\"challenge\":"
	        "\"dns-01\",\"dns_hook\":\"/bin/hook\"}",
	    ck_api_issuer_fields);
	h = json_object_get(j, "eab_hmac");
	cr_assert_eq(ck_api_issuer_decode(j, &d, &err), 0, "%s", err.msg);
	cr_assert_str_eq(d.name, "le");
	cr_assert_str_eq(d.directory, "https://ca.test/dir");
	cr_assert_eq(d.dns_wait, 120);
	cr_assert_eq(d.eab_hmac.len, 12);
	cr_assert_eq(memcmp(d.eab_hmac.p, "secret-key-?", 12), 0);
	/* the text of the key is gone from the parsed body */
	hv = json_string_value(h);
	for (size_t i = 0; i < json_string_length(h); i++)
		cr_assert_eq(hv[i], '\0');
	ck_issuer_def_release(&d);
	json_decref(j);

	j = obj("{\"name\":\"x\",\"type\":\"local\",\"ca\":\"c\","
	        "\"directory\":\"https://a/\"}",
	    ck_api_issuer_fields);
	cr_assert_eq(ck_api_issuer_decode(j, &d, &err), CK_E_INVAL);
	cr_assert(
	    strstr(err.msg, "'directory' does not apply to a local") != NULL,
	    "%s", err.msg);
	ck_issuer_def_release(&d);
	json_decref(j);

	j = obj("{\"name\":\"x\",\"type\":\"acme\",\"eab_hmac\":\"a+b\"}",
	    ck_api_issuer_fields);
	cr_assert_eq(ck_api_issuer_decode(j, &d, &err), CK_E_INVAL);
	cr_assert(strstr(err.msg, "base64url") != NULL, "%s", err.msg);
	ck_issuer_def_release(&d);
	json_decref(j);

	j = obj("{\"name\":\"x\",\"type\":\"command\",\"command\":\"c\","
	        "\"timeout\":0}",
	    ck_api_issuer_fields);
	cr_assert_eq(ck_api_issuer_decode(j, &d, &err), CK_E_INVAL);
	ck_issuer_def_release(&d);
	json_decref(j);

	j = obj("{\"type\":\"local\"}", ck_api_issuer_fields);
	cr_assert_eq(ck_api_issuer_decode(j, &d, &err), CK_E_INVAL);
	cr_assert(strstr(err.msg, "'name' is required") != NULL);
	ck_issuer_def_release(&d);
	json_decref(j);
}

Test(body, manage_spec_from_json)
{
	struct ck_api_manage_body b;
	struct ck_err err;
	json_t *j;

	j = obj("{\"name\":\"web\",\"issuer\":\"ca\",\"sans\":[\"a.test\","
	        "\"IP:10.0.0.1\"],\"days\":30,\"renew_at_percent\":75,"
	        "\"reuse_key\":true,\"tags\":[\"prod\",\"web\"],"
	        "\"cert_out\":\"/etc/ssl/web.pem\"}",
	    ck_api_manage_fields);
	cr_assert_eq(ck_api_manage_decode(j, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b.s.n_sans, 2);
	cr_assert_str_eq(b.s.sans[1], "IP:10.0.0.1");
	cr_assert_eq(b.s.days, 30);
	cr_assert_eq(b.s.renew_frac, 750);
	cr_assert(b.s.reuse_key);
	cr_assert_str_eq(b.s.tags, "prod,web");
	cr_assert(b.has_files);
	ck_api_manage_body_release(&b);
	json_decref(j);

	static const char *const bad[] = {
	    "{\"name\":\"w\",\"issuer\":\"ca\"}", /* no SAN, no CN */
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"sans\":\"a.test\"}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"cn\":\"a\",\"days\":0}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"cn\":\"a\",\"days\":1.5}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"cn\":\"a\","
	    "\"renew_at_percent\":100}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"cn\":\"a\","
	    "\"renew_at_percent\":50,\"renew_before\":\"10d\"}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"cn\":\"a\","
	    "\"renew_before\":\"soon\"}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"cn\":\"a\","
	    "\"key_out\":\"rel/key.pem\"}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"cn\":\"a\","
	    "\"cert_out\":\"/etc/../root/x\"}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"cn\":\"a\","
	    "\"reuse_key\":\"yes\"}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"cn\":\"a\","
	    "\"tags\":[\"a,b\"]}",
	    "{\"name\":\"w\",\"issuer\":\"ca\",\"sans\":[\"a\",7]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = obj(bad[i], ck_api_manage_fields);
		cr_assert_eq(ck_api_manage_decode(j, &b, &err), CK_E_INVAL,
		    "%s", bad[i]);
		ck_api_manage_body_release(&b);
		json_decref(j);
	}
}

Test(body, move_needs_a_filter_and_a_change)
{
	struct ck_api_move mv;
	struct ck_err err;
	json_t *j;

	j = obj("{\"filter\":{\"issuer\":\"old\",\"state\":\"active\"},"
	        "\"to_issuer\":\"new\",\"rate\":2.5}",
	    ck_api_move_fields);
	cr_assert_eq(ck_api_move_decode(j, &mv, &err), 0, "%s", err.msg);
	cr_assert_str_eq(mv.f.issuer, "old");
	cr_assert_str_eq(mv.to_issuer, "new");
	cr_assert_null(mv.key_type);
	cr_assert_eq(mv.rate, 2.5);
	json_decref(j);

	static const char *const bad[] = {
	    "{\"to_issuer\":\"new\"}",
	    "{\"filter\":{}}",
	    "{\"filter\":[],\"to_issuer\":\"new\"}",
	    "{\"filter\":{\"isuer\":\"x\"},\"to_issuer\":\"new\"}",
	    "{\"filter\":{\"state\":\"gone\"},\"to_issuer\":\"new\"}",
	    "{\"filter\":{},\"key_type\":\"ec-p256\",\"rate\":0}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = obj(bad[i], ck_api_move_fields);
		cr_assert_eq(
		    ck_api_move_decode(j, &mv, &err), CK_E_INVAL, "%s", bad[i]);
		json_decref(j);
	}
}
