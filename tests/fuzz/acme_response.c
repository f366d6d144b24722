/*
 * libFuzzer harness for what the ACME connector reads from a CA
 * (src/issuer/acme_parse.c). The first byte picks the parser (modulo 7):
 * directory, order, authorization, problem document (the second byte
 * gives the HTTP status), Link header values (one per line),
 * certificate chain PEM, renewal info; the rest is the CA's bytes. Every
 * success must hold what the parser promises (URLs, tokens, bounds),
 * every failure must carry its reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "issuer/acme_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_url(const char *u)
{
	if (u == NULL)
		return;
	if (strncasecmp(u, "http", 4) != 0)
		abort();
	for (const unsigned char *c = (const unsigned char *)u; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			abort();
}

static void
check_err(int r, const struct ck_err *err)
{
	if (r != 0 && (err->code != r || err->msg[0] == '\0'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ck_err err = {0};
	const char *p;
	size_t n;
	int r;

	if (size < 2)
		return 0;
	p = (const char *)data + 2;
	n = size - 2;
	switch (data[0] % 7) {
	case 0: {
		struct acme_dir d;
		r = acme_dir_parse(p, n, &d, &err);
		check_err(r, &err);
		if (r == 0) {
			if (d.new_nonce == NULL || d.new_account == NULL ||
			    d.new_order == NULL)
				abort();
			check_url(d.renewal_info);
			acme_dir_release(&d);
		}
		break;
	}
	case 1: {
		struct acme_order o;
		r = acme_order_parse(p, n, &o, &err);
		check_err(r, &err);
		if (r == 0) {
			if (o.finalize == NULL || o.n_authz > ACME_AUTHZ_MAX)
				abort();
			for (size_t i = 0; i < o.n_authz; i++)
				check_url(o.authz[i]);
			acme_order_release(&o);
		}
		break;
	}
	case 2: {
		struct acme_authz a;
		r = acme_authz_parse(p, n, &a, &err);
		check_err(r, &err);
		if (r == 0) {
			for (size_t i = 0; i < a.n_ch; i++)
				if (a.ch[i].token != NULL &&
				    (strchr(a.ch[i].token, '/') != NULL ||
				        strchr(a.ch[i].token, '.') != NULL))
					abort();
			acme_authz_release(&a);
		}
		break;
	}
	case 3: {
		char type[64];
		long status = 400 + data[1] % 200;
		r = acme_problem(
		    status, p, n, "7", "fuzz", type, sizeof(type), &err);
		if ((r != CK_E_IO && r != CK_E_INVAL) || err.code != r ||
		    strchr(err.msg, '\n') != NULL)
			abort();
		break;
	}
	case 4: {
		/* One Link header value per line. */
		char *copy = ck_strndup(p, n), *save = NULL, *line;
		char *vals[16], **urls = NULL;
		size_t nv = 0, nu = 0;
		for (line = strtok_r(copy, "\n", &save);
		     line != NULL && nv < 16;
		     line = strtok_r(NULL, "\n", &save))
			vals[nv++] = line;
		acme_links(vals, nv, "alternate", 8, &urls, &nu);
		if (nu > 8)
			abort();
		for (size_t i = 0; i < nu; i++) {
			check_url(urls[i]);
			free(urls[i]);
		}
		free(urls);
		free(copy);
		break;
	}
	case 5: {
		struct acme_chain c;
		r = acme_chain_parse(p, n, &c, &err);
		check_err(r, &err);
		if (r == 0) {
			if (c.leaf == NULL || c.leaf_len == 0)
				abort();
			acme_chain_release(&c);
		}
		break;
	}
	default: {
		struct ck_renewal_window w;
		r = acme_renewal_parse(p, n, &w, &err);
		check_err(r, &err);
		if (r == 0) {
			if (w.end < w.start)
				abort();
			free(w.explanation_url);
		}
		break;
	}
	}
	return 0;
}
