/*
 * Everything the ACME connector reads from the CA's bytes: the directory,
 * orders, authorizations, problem documents (and the one table mapping
 * problem types to our codes), Link headers, the PEM chain and renewal
 * information. Every parser is bounded and fuzzed
 * (tests/fuzz/acme_response.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/clock.h"
#include "base/fetch.h"
#include "base/mem.h"
#include "issuer/acme_int.h"
#include "x509/x509.h"

static const char *const status_names[] = {
#define ACME_STATUS_STR(name, str) str,
    ACME_STATUS_MAP(ACME_STATUS_STR)
#undef ACME_STATUS_STR
};

const char *
acme_status_name(enum acme_status s)
{
	if ((size_t)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

static enum acme_status
status_parse(const char *s)
{
	for (size_t i = 1;
	     s != NULL && i < sizeof(status_names) / sizeof(status_names[0]);
	     i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum acme_status)i;
	return ACME_UNKNOWN;
}

static json_t *
load(const char *p, size_t n, const char *what, struct ck_err *err)
{
	json_error_t je;
	json_t *j;

	if (n > ACME_JSON_MAX) {
		ck_err_set(err, CK_E_TOO_LARGE, "acme: %s over %d bytes", what,
		    ACME_JSON_MAX);
		return NULL;
	}
	j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		ck_err_set(err, CK_E_PARSE, "acme: %s: %s", what, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		ck_err_set(
		    err, CK_E_PARSE, "acme: %s: not a json object", what);
		return NULL;
	}
	return j;
}

static bool
is_url(const char *s)
{
	if (s == NULL || strlen(s) > ACME_URL_MAX ||
	    (strncasecmp(s, "https://", 8) != 0 &&
	        strncasecmp(s, "http://", 7) != 0))
		return false;
	/* Printable ASCII only: it goes to curl, to logs and to reasons. */
	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f || *c == '"' || *c == '<' ||
		    *c == '>' || *c == '\\')
			return false;
	return true;
}

/* A URL member: absent is fine (NULL) unless required; present, it must
 * be an http(s) URL. Returns false on a bad value. */
static bool
get_url(json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || !is_url(json_string_value(v)))
		return false;
	*out = ck_strdup(json_string_value(v));
	return true;
}

static const char *
get_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void
acme_dir_release(struct acme_dir *d)
{
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms);
	memset(d, 0, sizeof(*d));
}

int
acme_dir_parse(const char *p, size_t n, struct acme_dir *d, struct ck_err *err)
{
	json_t *j, *meta;
	bool ok;

	memset(d, 0, sizeof(*d));
	if ((j = load(p, n, "directory", err)) == NULL)
		return err != NULL ? err->code : CK_E_PARSE;
	ok = get_url(j, "newNonce", &d->new_nonce) &&
	    get_url(j, "newAccount", &d->new_account) &&
	    get_url(j, "newOrder", &d->new_order) &&
	    get_url(j, "revokeCert", &d->revoke_cert) &&
	    get_url(j, "keyChange", &d->key_change) &&
	    get_url(j, "renewalInfo", &d->renewal_info);
	meta = json_object_get(j, "meta");
	if (ok && json_is_object(meta)) {
		json_t *t = json_object_get(meta, "termsOfService");
		if (json_is_string(t) &&
		    strlen(json_string_value(t)) <= ACME_URL_MAX)
			d->terms = ck_strdup(json_string_value(t));
		d->eab_required = json_is_true(
		    json_object_get(meta, "externalAccountRequired"));
	}
	json_decref(j);
	if (!ok || d->new_nonce == NULL || d->new_account == NULL ||
	    d->new_order == NULL) {
		acme_dir_release(d);
		return ck_err_set(err, CK_E_PARSE,
		    "acme: directory: newNonce, newAccount or newOrder missing "
		    "or not a url");
	}
	return 0;
}

/* A problem object as one reason line: "type: detail" (bounded), with
 * the first subproblem's identifier and detail. */
static char *
problem_line(json_t *pb)
{
	const char *type, *detail;
	json_t *sub;
	char line[400];

	if (!json_is_object(pb))
		return NULL;
	type = get_str(pb, "type");
	detail = get_str(pb, "detail");
	if (type != NULL &&
	    strncmp(type, "urn:ietf:params:acme:error:", 27) == 0)
		type += 27;
	snprintf(line, sizeof(line), "%.64s: %.200s",
	    type != NULL ? type : "problem", detail != NULL ? detail : "");
	sub = json_array_get(json_object_get(pb, "subproblems"), 0);
	if (json_is_object(sub)) {
		size_t l = strlen(line);
		json_t *id = json_object_get(sub, "identifier");
		snprintf(line + l, sizeof(line) - l, " (%.64s: %.100s)",
		    json_is_object(id) && get_str(id, "value") != NULL
		        ? get_str(id, "value")
		        : "subproblem",
		    get_str(sub, "detail") != NULL ? get_str(sub, "detail")
		                                   : "");
	}
	/* The CA's text goes into our one-line reasons. */
	for (char *c = line; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	return ck_strdup(line);
}

void
acme_order_release(struct acme_order *o)
{
	for (size_t i = 0; i < o->n_authz; i++)
		free(o->authz[i]);
	free(o->authz);
	free(o->finalize);
	free(o->certificate);
	free(o->error);
	memset(o, 0, sizeof(*o));
}

int
acme_order_parse(
    const char *p, size_t n, struct acme_order *o, struct ck_err *err)
{
	json_t *j, *az, *v;
	size_t i;
	bool ok;

	memset(o, 0, sizeof(*o));
	if ((j = load(p, n, "order", err)) == NULL)
		return err != NULL ? err->code : CK_E_PARSE;
	o->status = status_parse(get_str(j, "status"));
	ok = o->status != ACME_UNKNOWN &&
	    get_url(j, "finalize", &o->finalize) && o->finalize != NULL &&
	    get_url(j, "certificate", &o->certificate);
	az = json_object_get(j, "authorizations");
	if (ok && (!json_is_array(az) || json_array_size(az) > ACME_AUTHZ_MAX))
		ok = false;
	if (ok) {
		o->authz = ck_calloc(json_array_size(az) + 1, sizeof(char *));
		json_array_foreach(az, i, v)
		{
			if (!json_is_string(v) ||
			    !is_url(json_string_value(v))) {
				ok = false;
				break;
			}
			o->authz[o->n_authz++] =
			    ck_strdup(json_string_value(v));
		}
	}
	if (ok)
		o->error = problem_line(json_object_get(j, "error"));
	json_decref(j);
	if (!ok) {
		acme_order_release(o);
		return ck_err_set(err, CK_E_PARSE,
		    "acme: order: status, finalize or authorizations missing "
		    "or malformed");
	}
	return 0;
}

void
acme_authz_release(struct acme_authz *a)
{
	for (size_t i = 0; i < a->n_ch; i++) {
		free(a->ch[i].type);
		free(a->ch[i].url);
		free(a->ch[i].token);
		free(a->ch[i].error);
	}
	free(a->ch);
	free(a->ident_type);
	free(a->ident_value);
	memset(a, 0, sizeof(*a));
}

int
acme_authz_parse(
    const char *p, size_t n, struct acme_authz *a, struct ck_err *err)
{
	json_t *j, *id, *chs, *c;
	size_t i;
	bool ok;

	memset(a, 0, sizeof(*a));
	if ((j = load(p, n, "authorization", err)) == NULL)
		return err != NULL ? err->code : CK_E_PARSE;
	a->status = status_parse(get_str(j, "status"));
	id = json_object_get(j, "identifier");
	chs = json_object_get(j, "challenges");
	ok = a->status != ACME_UNKNOWN && json_is_object(id) &&
	    get_str(id, "type") != NULL && get_str(id, "value") != NULL &&
	    strlen(get_str(id, "value")) <= 255 &&
	    strlen(get_str(id, "type")) <= 32 && json_is_array(chs) &&
	    json_array_size(chs) <= ACME_CHALL_MAX;
	if (ok) {
		a->ident_type = ck_strdup(get_str(id, "type"));
		a->ident_value = ck_strdup(get_str(id, "value"));
		a->wildcard = json_is_true(json_object_get(j, "wildcard"));
		a->ch = ck_calloc(json_array_size(chs) + 1, sizeof(a->ch[0]));
	}
	json_array_foreach(chs, i, c)
	{
		struct acme_chall *ch;
		const char *type, *tok;
		if (!ok)
			break;
		type = get_str(c, "type");
		tok = get_str(c, "token");
		ch = &a->ch[a->n_ch];
		if (!json_is_object(c) || type == NULL || strlen(type) > 32 ||
		    !get_url(c, "url", &ch->url) || ch->url == NULL) {
			ok = false;
			free(ch->url);
			ch->url = NULL;
			break;
		}
		a->n_ch++;
		ch->type = ck_strdup(type);
		ch->status = status_parse(get_str(c, "status"));
		/* Tokens become file names and URL paths: only base64url. */
		if (tok != NULL && acme_is_b64url(tok, ACME_TOKEN_MAX))
			ch->token = ck_strdup(tok);
		ch->error = problem_line(json_object_get(c, "error"));
	}
	json_decref(j);
	if (!ok) {
		acme_authz_release(a);
		return ck_err_set(err, CK_E_PARSE,
		    "acme: authorization: status, identifier or challenges "
		    "missing or malformed");
	}
	return 0;
}

/*
 * The ACME problem types (RFC 8555 section 6.7, RFC 9773) and what they
 * mean for us: retry later (CK_E_IO) or refused (CK_E_INVAL). Types not
 * listed are refusals.
 */
/* clang-format off */
#define ACME_PROBLEM_MAP(X)                             \
	X("badNonce", CK_E_IO)                          \
	X("rateLimited", CK_E_IO)                       \
	X("serverInternal", CK_E_IO)                    \
	X("connection", CK_E_INVAL)                     \
	X("dns", CK_E_INVAL)                            \
	X("tls", CK_E_INVAL)                            \
	X("incorrectResponse", CK_E_INVAL)              \
	X("unauthorized", CK_E_INVAL)                   \
	X("caa", CK_E_INVAL)                            \
	X("rejectedIdentifier", CK_E_INVAL)             \
	X("unsupportedIdentifier", CK_E_INVAL)          \
	X("badCSR", CK_E_INVAL)                         \
	X("badRevocationReason", CK_E_INVAL)            \
	X("alreadyRevoked", CK_E_INVAL)                 \
	X("alreadyReplaced", CK_E_INVAL)                \
	X("accountDoesNotExist", CK_E_INVAL)            \
	X("externalAccountRequired", CK_E_INVAL)        \
	X("userActionRequired", CK_E_INVAL)             \
	X("malformed", CK_E_INVAL)
/* clang-format on */

static const struct {
	const char *type;
	int code;
} problem_codes[] = {
#define ACME_PROBLEM_ROW(t, c) {t, c},
    ACME_PROBLEM_MAP(ACME_PROBLEM_ROW)
#undef ACME_PROBLEM_ROW
};

int
acme_problem(long status, const char *body, size_t n, const char *retry_after,
    const char *what, char *type, size_t type_size, struct ck_err *err)
{
	json_t *j = NULL;
	char *line = NULL;
	int code;
	int64_t wait = 0;
	bool has_wait = ck_fetch_retry_after(retry_after, ck_now(), &wait);

	if (type != NULL && type_size > 0)
		type[0] = '\0';
	/* Out of our hands: the CA is down, overloaded or limits us. */
	code = status == 429 || status >= 500 || status < 400 ? CK_E_IO
	                                                      : CK_E_INVAL;
	if (n > 0 && n <= ACME_JSON_MAX)
		j = json_loadb(body, n, 0, NULL);
	if (json_is_object(j) && get_str(j, "type") != NULL) {
		const char *t = get_str(j, "type");
		if (strncmp(t, "urn:ietf:params:acme:error:", 27) == 0) {
			t += 27;
			for (size_t i = 0; i <
			     sizeof(problem_codes) / sizeof(problem_codes[0]);
			     i++)
				if (strcmp(problem_codes[i].type, t) == 0)
					code = problem_codes[i].code;
			if (type != NULL && type_size > 0)
				snprintf(type, type_size, "%s", t);
		}
		line = problem_line(j);
	}
	json_decref(j);
	if (status == 429 || status == 503)
		code = CK_E_IO;
	if (has_wait && code == CK_E_IO)
		ck_err_set(err, code, "%s: http %ld, retry after %lld s: %s",
		    what, status, (long long)wait,
		    line != NULL ? line : "no problem document");
	else
		ck_err_set(err, code, "%s: http %ld: %s", what, status,
		    line != NULL ? line : "no problem document");
	free(line);
	return code;
}

/* One link-value of a Link header (RFC 8288) at *s: the URL and whether
 * its rel includes rel. Advances *s past it; false at the end or on
 * garbage. */
static bool
link_next(const char **s, const char *rel, char **url, bool *match)
{
	const char *p = *s, *end;

	*url = NULL;
	*match = false;
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (*p != '<' || (end = strchr(p + 1, '>')) == NULL)
		return false;
	*url = ck_strndup(p + 1, (size_t)(end - p - 1));
	p = end + 1;
	/* Parameters: ;name=value or ;name="value", up to the next comma
	 * outside quotes. */
	while (*p != '\0' && *p != ',') {
		const char *name, *val;
		size_t nlen, vlen;
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		name = p;
		while (*p != '\0' && *p != '=' && *p != ';' && *p != ',')
			p++;
		nlen = (size_t)(p - name);
		while (nlen > 0 && (name[nlen - 1] == ' '))
			nlen--;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ')
			p++;
		if (*p == '"') {
			val = ++p;
			while (*p != '\0' && *p != '"')
				p++;
			vlen = (size_t)(p - val);
			if (*p == '"')
				p++;
		} else {
			val = p;
			while (
			    *p != '\0' && *p != ';' && *p != ',' && *p != ' ')
				p++;
			vlen = (size_t)(p - val);
		}
		if (nlen == 3 && strncasecmp(name, "rel", 3) == 0) {
			/* rel may hold several space-separated types. */
			size_t rl = strlen(rel), i = 0;
			while (i < vlen) {
				size_t j = i;
				while (j < vlen && val[j] != ' ')
					j++;
				if (j - i == rl &&
				    strncasecmp(val + i, rel, rl) == 0)
					*match = true;
				i = j + 1;
			}
		}
	}
	*s = p;
	return true;
}

void
acme_links(char *const *links, size_t n_links, const char *rel, size_t max,
    char ***urls, size_t *n)
{
	for (size_t i = 0; i < n_links; i++) {
		const char *s = links[i];
		char *u;
		bool m;
		while (link_next(&s, rel, &u, &m)) {
			if (m && *n < max && is_url(u)) {
				*urls = ck_reallocarray(
				    *urls, *n + 1, sizeof(char *));
				(*urls)[(*n)++] = u;
			} else
				free(u);
		}
		free(u);
	}
}

void
acme_chain_release(struct acme_chain *c)
{
	free(c->leaf);
	ck_buf_release(&c->rest_pem);
	free(c->top_issuer_cn);
	memset(c, 0, sizeof(*c));
}

static char *
issuer_cn(X509 *x)
{
	X509_NAME *nm = X509_get_issuer_name(x);
	int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
	ASN1_STRING *s;
	unsigned char *u = NULL;
	char *cn;
	int n;

	if (i < 0)
		return NULL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
	if ((n = ASN1_STRING_to_UTF8(&u, s)) < 0)
		return NULL;
	cn = ck_strndup((const char *)u, (size_t)n);
	OPENSSL_free(u);
	return cn;
}

int
acme_chain_parse(
    const char *p, size_t n, struct acme_chain *c, struct ck_err *err)
{
	BIO *b;
	X509 *x, *last = NULL;
	int count = 0, r = 0;

	memset(c, 0, sizeof(*c));
	if (n > ACME_CHAIN_MAX)
		return ck_err_set(err, CK_E_TOO_LARGE,
		    "acme: certificate chain over %d bytes", ACME_CHAIN_MAX);
	if ((b = BIO_new_mem_buf(p, (int)n)) == NULL)
		return acme_ossl_err(err, CK_E_INTERNAL, "acme: chain");
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		uint8_t *der = NULL;
		int len = i2d_X509(x, &der);
		if (len <= 0 || ++count > ACME_CHAIN_CERTS_MAX) {
			OPENSSL_free(der);
			X509_free(x);
			r = ck_err_set(err, CK_E_PARSE,
			    "acme: certificate chain: more than %d "
			    "certificates or bad encoding",
			    ACME_CHAIN_CERTS_MAX);
			break;
		}
		if (c->leaf == NULL) {
			c->leaf = ck_memdup(der, (size_t)len);
			c->leaf_len = (size_t)len;
		} else
			ck_pem_encode(
			    "CERTIFICATE", der, (size_t)len, &c->rest_pem);
		OPENSSL_free(der);
		X509_free(last);
		last = x;
	}
	ERR_clear_error(); /* the end of the input reads as an error */
	if (r == 0 && c->leaf == NULL)
		r = ck_err_set(err, CK_E_PARSE,
		    "acme: certificate chain: no PEM certificate");
	if (r == 0)
		c->top_issuer_cn = issuer_cn(last);
	X509_free(last);
	BIO_free(b);
	if (r != 0)
		acme_chain_release(c);
	return r;
}

int
acme_renewal_parse(
    const char *p, size_t n, struct ck_renewal_window *w, struct ck_err *err)
{
	json_t *j, *sw;
	const char *s, *e, *u;
	int r = 0;

	memset(w, 0, sizeof(*w));
	if ((j = load(p, n, "renewal info", err)) == NULL)
		return err != NULL ? err->code : CK_E_PARSE;
	sw = json_object_get(j, "suggestedWindow");
	s = get_str(sw, "start");
	e = get_str(sw, "end");
	if (s == NULL || e == NULL || strlen(s) > 64 || strlen(e) > 64 ||
	    ck_time_parse(s, &w->start) != 0 ||
	    ck_time_parse(e, &w->end) != 0 || w->end < w->start)
		r = ck_err_set(err, CK_E_PARSE,
		    "acme: renewal info: suggestedWindow missing or malformed");
	u = get_str(j, "explanationURL");
	if (r == 0 && u != NULL && is_url(u))
		w->explanation_url = ck_strdup(u);
	json_decref(j);
	return r;
}
