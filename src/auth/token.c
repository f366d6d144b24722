/*
 * API bearer tokens: made from RAND_bytes, kept as SHA-256 by the store,
 * checked by hash lookup and a constant-time comparison; roles and the name
 * patterns that limit an enroller. OpenSSL is used here only for the
 * random bytes and CRYPTO_memcmp.
 */
#include "auth/auth.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "x509/x509.h"

/* How stale last_used_at may get before a check writes it again. */
#define TOUCH_EVERY 3600

/* The comparison of hashes; a unit test swaps it to see it is used. */
static int (*hash_equal_ct)(const void *, const void *, size_t) = CRYPTO_memcmp;

static const struct {
	enum ck_role role;
	const char *name;
} roles[] = {
#define CK_ROLE_ROW(n, val, str) {CK_ROLE_##n, str},
    CK_ROLE_MAP(CK_ROLE_ROW)
#undef CK_ROLE_ROW
};

int
ck_role_parse(const char *s, enum ck_role *out)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		if (strcmp(s, roles[i].name) == 0) {
			*out = roles[i].role;
			return 0;
		}
	}
	return CK_E_INVAL;
}

const char *
ck_role_name(enum ck_role r)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].role == r)
			return roles[i].name;
	return "unknown";
}

bool
ck_role_allows(enum ck_role have, enum ck_role need)
{
	if (have < CK_ROLE_AUDITOR || have > CK_ROLE_ADMIN)
		return false;
	if (have == CK_ROLE_ENROLLER && need == CK_ROLE_AUDITOR)
		return false;
	return have >= need;
}

const char *
ck_token_status_name(enum ck_token_status s)
{
	switch (s) {
#define CK_TOKEN_STATUS_CASE(n, str) \
	case CK_TOKEN_##n: return str;
		CK_TOKEN_STATUS_MAP(CK_TOKEN_STATUS_CASE)
#undef CK_TOKEN_STATUS_CASE
	}
	return "unknown";
}

void
ck_token_hash(const char *token, uint8_t out[32])
{
	ck_sha256(token, strlen(token), out);
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url of n bytes into out (4 * n / 3 + 2 characters). */
static void
b64url_encode(const uint8_t *p, size_t n, char *out)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
}

/* The shape of a token: prefix, length, alphabet. Says nothing secret. */
static bool
well_formed(const char *s)
{
	size_t n = strnlen(s, CK_TOKEN_LEN + 1);

	if (n != CK_TOKEN_LEN || strncmp(s, CK_TOKEN_PREFIX, 3) != 0)
		return false;
	for (size_t i = 3; i < n; i++)
		if (strchr(b64url, s[i]) == NULL || s[i] == '\0')
			return false;
	return true;
}

int
ck_token_name_check(const char *name, struct ck_err *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > CK_TOKEN_NAME_MAX)
		return ck_err_set(err, CK_E_INVAL,
		    "token name: 1 to %d characters", CK_TOKEN_NAME_MAX);
	if (!isalpha((unsigned char)name[0]))
		return ck_err_set(
		    err, CK_E_INVAL, "token name: must start with a letter");
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-@", *p) == NULL)
			return ck_err_set(err, CK_E_INVAL,
			    "token name: '%c' is not allowed (letters, digits, "
			    "'.', '_', '-', '@')",
			    *p);
	return 0;
}

/* One DNS label or name: letters, digits, '-' and '.', no empty labels. */
static bool
dns_ok(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '.')
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

int
ck_token_pattern_check(const char *pattern, struct ck_err *err)
{
	const char *p = pattern, *end;
	size_t n;

	if (strlen(pattern) > CK_TOKEN_PATTERN_MAX)
		return ck_err_set(err, CK_E_INVAL,
		    "pattern: at most %d characters", CK_TOKEN_PATTERN_MAX);
	for (;;) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n >= 2 && p[0] == '*' && p[1] == '.' ? !dns_ok(p + 2, n - 2)
		                                         : !dns_ok(p, n))
			return ck_err_set(err, CK_E_INVAL,
			    "pattern: '%.*s' is neither a DNS name nor "
			    "*.name",
			    (int)n, p);
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

/* Whether entry (n bytes of a pattern) allows name. */
static bool
entry_allows(const char *entry, size_t n, const char *name)
{
	size_t len = strlen(name);

	if (n >= 2 && entry[0] == '*' && entry[1] == '.') {
		/* "*.example.com": anything ending in ".example.com" with
		 * at least one character before it. */
		n -= 1;
		entry += 1;
		return len > n && strncasecmp(name + len - n, entry, n) == 0;
	}
	return len == n && strncasecmp(name, entry, n) == 0;
}

bool
ck_token_name_allowed(const struct ck_token_info *t, const char *dns_name)
{
	const char *p, *end;
	size_t n;

	if (t->role == CK_ROLE_OPERATOR || t->role == CK_ROLE_ADMIN)
		return true;
	if (t->role != CK_ROLE_ENROLLER || t->status != CK_TOKEN_OK)
		return false;
	if (t->pattern[0] == '\0')
		return true;
	for (p = t->pattern;; p = end + 1) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		if (entry_allows(p, n, dns_name))
			return true;
		if (end == NULL)
			return false;
	}
}

struct found {
	struct ck_token_info *info;
	uint8_t hash[32];
	bool match;
	int64_t revoked_at, last_used_at;
	char role[16];
};

static int
on_token(void *ctx, const struct ck_token_row *t)
{
	struct found *f = ctx;
	struct ck_token_info *in = f->info;

	/* The row was found by this very hash through the index; comparing
	 * again in constant time keeps the decision off any code path whose
	 * timing depends on where two hashes differ. */
	f->match = hash_equal_ct(t->hash, f->hash, 32) == 0;
	if (!f->match)
		return 0;
	in->id = t->id;
	snprintf(in->name, sizeof(in->name), "%s", t->name);
	snprintf(in->pattern, sizeof(in->pattern), "%s",
	    t->pattern ? t->pattern : "");
	snprintf(f->role, sizeof(f->role), "%s", t->role);
	in->expires_at = t->expires_at;
	f->revoked_at = t->revoked_at;
	f->last_used_at = t->last_used_at;
	return 0;
}

static int
refuse(struct ck_token_info *out, enum ck_token_status s, struct ck_err *err)
{
	char name[CK_TOKEN_NAME_MAX + 1];

	snprintf(name, sizeof(name), "%s", out->name);
	memset(out, 0, sizeof(*out));
	out->status = s;
	if (s == CK_TOKEN_REVOKED || s == CK_TOKEN_EXPIRED)
		return ck_err_set(err, CK_E_PERM, "token '%s': %s", name,
		    s == CK_TOKEN_REVOKED ? "revoked" : "expired");
	return ck_err_set(err, CK_E_PERM, "%s", ck_token_status_name(s));
}

int
ck_token_check(struct ck_store *st, const char *bearer, int64_t now,
    struct ck_token_info *out, struct ck_err *err)
{
	struct found f = {0};
	struct ck_err terr = {0};
	int r;

	memset(out, 0, sizeof(*out));
	out->status = CK_TOKEN_UNKNOWN;
	if (bearer == NULL || !well_formed(bearer))
		return refuse(out, CK_TOKEN_MALFORMED, err);
	f.info = out;
	ck_token_hash(bearer, f.hash);
	r = ck_store_token_by_hash(st, f.hash, on_token, &f, err);
	ck_cleanse(f.hash, sizeof(f.hash));
	if (r == CK_E_NOTFOUND || (r == 0 && !f.match))
		return refuse(out, CK_TOKEN_UNKNOWN, err);
	if (r != 0)
		return r;
	if (ck_role_parse(f.role, &out->role) != 0)
		return ck_err_set(err, CK_E_DB, "store: token %lld: role '%s'",
		    (long long)out->id, f.role);
	if (f.revoked_at != 0)
		return refuse(out, CK_TOKEN_REVOKED, err);
	if (out->expires_at != 0 && now >= out->expires_at)
		return refuse(out, CK_TOKEN_EXPIRED, err);
	out->status = CK_TOKEN_OK;
	if (now - f.last_used_at >= TOUCH_EVERY &&
	    ck_store_token_touch(st, out->id, now, &terr) != 0)
		ck_log(CK_LOG_DEBUG, "token %lld: last use not recorded: %s",
		    (long long)out->id, terr.msg);
	return 0;
}

int
ck_token_spec_check(
    const struct ck_token_spec *spec, int64_t now, struct ck_err *err)
{
	int r;

	if (spec->name == NULL)
		return ck_err_set(err, CK_E_INVAL, "token: no name");
	if ((r = ck_token_name_check(spec->name, err)) != 0)
		return r;
	if (strcmp(ck_role_name(spec->role), "unknown") == 0)
		return ck_err_set(err, CK_E_INVAL, "token: no such role");
	if (spec->pattern != NULL) {
		if (spec->role != CK_ROLE_ENROLLER)
			return ck_err_set(err, CK_E_INVAL,
			    "token: a name pattern is only for enroller "
			    "tokens");
		if ((r = ck_token_pattern_check(spec->pattern, err)) != 0)
			return r;
	}
	if (spec->expires_at != 0 && spec->expires_at <= now)
		return ck_err_set(
		    err, CK_E_INVAL, "token: expiry is not in the future");
	return 0;
}

int
ck_token_create(struct ck_store *st, const struct ck_token_spec *spec,
    char token[CK_TOKEN_LEN + 1], int64_t *id, struct ck_err *err)
{
	uint8_t raw[32], hash[32];
	char detail[512], exp[CK_TIME_STR_MAX];
	int64_t now = ck_now();
	int r;

	*id = 0;
	token[0] = '\0';
	if ((r = ck_token_spec_check(spec, now, err)) != 0)
		return r;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return ck_err_set(err, CK_E_CRYPTO, "token: no random bytes");
	memcpy(token, CK_TOKEN_PREFIX, 3);
	b64url_encode(raw, sizeof(raw), token + 3);
	ck_cleanse(raw, sizeof(raw));
	ck_token_hash(token, hash);

	if (spec->expires_at != 0)
		ck_time_format(spec->expires_at, exp);
	else
		snprintf(exp, sizeof(exp), "never");
	if ((r = ck_store_begin(st, err)) != 0)
		goto out;
	if ((r = ck_store_token_add(st, spec->name, ck_role_name(spec->role),
	         spec->pattern, hash, now, spec->expires_at, id, err)) != 0)
		goto rollback;
	snprintf(detail, sizeof(detail),
	    "id %lld, role %s, pattern %s, expires %s", (long long)*id,
	    ck_role_name(spec->role), spec->pattern ? spec->pattern : "none",
	    exp);
	if ((r = ck_store_event_add(st, spec->actor ? spec->actor : "unknown",
	         "token.create", spec->name, detail, err)) != 0)
		goto rollback;
	r = ck_store_commit(st, err);
	goto out;
rollback:
	ck_store_rollback(st);
out:
	ck_cleanse(hash, sizeof(hash));
	if (r != 0) {
		ck_cleanse(token, CK_TOKEN_LEN + 1);
		*id = 0;
	}
	return r;
}

struct revoking {
	char name[CK_TOKEN_NAME_MAX + 1];
	char role[16];
};

static int
on_revoking(void *ctx, const struct ck_token_row *t)
{
	struct revoking *rv = ctx;

	snprintf(rv->name, sizeof(rv->name), "%s", t->name);
	snprintf(rv->role, sizeof(rv->role), "%s", t->role);
	return 0;
}

int
ck_token_revoke(struct ck_store *st, const char *ref, const char *actor,
    int64_t *id, bool *already, struct ck_err *err)
{
	struct revoking rv = {0};
	char detail[128];
	int r;

	*already = false;
	if ((r = ck_store_token_find(st, ref, id, err)) != 0 ||
	    (r = ck_store_begin(st, err)) != 0)
		return r;
	if ((r = ck_store_token_get(st, *id, on_revoking, &rv, err)) != 0 ||
	    (r = ck_store_token_revoke(st, *id, ck_now(), already, err)) != 0)
		goto rollback;
	if (*already) {
		ck_store_rollback(st);
		return 0;
	}
	snprintf(detail, sizeof(detail), "id %lld, role %s", (long long)*id,
	    rv.role);
	if ((r = ck_store_event_add(st, actor ? actor : "unknown",
	         "token.revoke", rv.name, detail, err)) != 0)
		goto rollback;
	return ck_store_commit(st, err);
rollback:
	ck_store_rollback(st);
	return r;
}
