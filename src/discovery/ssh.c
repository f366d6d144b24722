/*
 * OpenSSH public keys and certificates read from outside bytes: the wire
 * format of a key blob (RFC 4253 section 6.6, PROTOCOL.certkeys,
 * PROTOCOL.u2f) and the text lines of .pub and authorized_keys files.
 * Pure parsing, no I/O: the SSH scanner and the fuzz harness call it.
 * Fingerprints and validity are printed the way ssh-keygen prints them.
 */
#include "discovery/discovery.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"

enum kind { K_RSA, K_DSA, K_ECDSA, K_ED25519, K_SK_ECDSA, K_SK_ED25519 };

static const struct keytype {
	const char *name;
	const char *label; /* as ssh-keygen prints the type */
	enum kind kind;
	const char *curve; /* ECDSA: the curve name the blob must carry */
	int bits; /* fixed size, 0: read from the key */
} types[] = {
    {"ssh-rsa", "RSA", K_RSA, NULL, 0},
    {"ssh-dss", "DSA", K_DSA, NULL, 0},
    {"ecdsa-sha2-nistp256", "ECDSA", K_ECDSA, "nistp256", 256},
    {"ecdsa-sha2-nistp384", "ECDSA", K_ECDSA, "nistp384", 384},
    {"ecdsa-sha2-nistp521", "ECDSA", K_ECDSA, "nistp521", 521},
    {"ssh-ed25519", "ED25519", K_ED25519, NULL, 256},
    {"sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK", K_SK_ECDSA, "nistp256",
        256},
    {"sk-ssh-ed25519@openssh.com", "ED25519-SK", K_SK_ED25519, NULL, 256},
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

static const char *const cert_labels[N_TYPES] = {
    "RSA-CERT",
    "DSA-CERT",
    "ECDSA-CERT",
    "ECDSA-CERT",
    "ECDSA-CERT",
    "ED25519-CERT",
    "ECDSA-SK-CERT",
    "ED25519-SK-CERT",
};

#define CERT_SUFFIX "-cert-v01@openssh.com"

/* Finds name (n bytes) among the plain types; *cert is set when it names
 * the certificate form. NULL when unknown. */
static const struct keytype *
find_type(const char *name, size_t n, bool *cert, size_t *idx)
{
	size_t sl = strlen(CERT_SUFFIX);

	*cert = false;
	if (n > sl && memcmp(name + n - sl, CERT_SUFFIX, sl) == 0) {
		*cert = true;
		n -= sl;
	}
	for (size_t i = 0; i < N_TYPES; i++) {
		const char *t = types[i].name;
		/* The certificate forms of the sk types put the suffix
		 * before "@openssh.com": sk-ssh-ed25519-cert-v01@... */
		if (*cert && strchr(t, '@') != NULL) {
			size_t base = (size_t)(strchr(t, '@') - t);
			if (n == base && memcmp(name, t, base) == 0) {
				*idx = i;
				return &types[i];
			}
			continue;
		}
		if (strlen(t) == n && memcmp(name, t, n) == 0) {
			*idx = i;
			return &types[i];
		}
	}
	return NULL;
}

bool
ck_ssh_type_known(const char *name, size_t len)
{
	bool cert;
	size_t i;

	return find_type(name, len, &cert, &i) != NULL;
}

/* A bounded reader over the blob. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static bool
get_u32(struct rd *r, uint32_t *v)
{
	if (r->n < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return true;
}

static bool
get_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (!get_u32(r, &hi) || !get_u32(r, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

static bool
get_str(struct rd *r, const uint8_t **s, size_t *len)
{
	uint32_t l;

	if (!get_u32(r, &l) || l > r->n)
		return false;
	*s = r->p;
	*len = l;
	r->p += l;
	r->n -= l;
	return true;
}

/* A string that is text: no NUL inside. */
static bool
get_text(struct rd *r, const char **s, size_t *len)
{
	const uint8_t *p;

	if (!get_str(r, &p, len) || memchr(p, 0, *len) != NULL)
		return false;
	*s = (const char *)p;
	return true;
}

static bool
text_is(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(s, want, n) == 0;
}

/* Significant bits of an SSH mpint (big-endian, two's complement);
 * -1 when negative (not a valid modulus). */
static int
mpint_bits(const uint8_t *p, size_t n)
{
	size_t i = 0;
	int bits;

	if (n > 0 && (p[0] & 0x80))
		return -1;
	while (i < n && p[i] == 0)
		i++;
	if (i == n)
		return 0;
	bits = (int)(n - i - 1) * 8;
	for (uint8_t top = p[i]; top; top >>= 1)
		bits++;
	return bits;
}

static int
perr(struct ck_err *err, const char *what)
{
	return ck_err_set(err, CK_E_PARSE, "ssh key: %s", what);
}

/* Reads the public fields of kt; *bits gets the key size. */
static int
read_fields(
    struct rd *r, const struct keytype *kt, int *bits, struct ck_err *err)
{
	const uint8_t *a, *b;
	size_t al, bl;
	const char *c;
	size_t cl;
	int nb;

	*bits = kt->bits;
	switch (kt->kind) {
	case K_RSA: /* e, n */
		if (!get_str(r, &a, &al) || !get_str(r, &b, &bl))
			return perr(err, "truncated RSA key");
		if ((nb = mpint_bits(b, bl)) <= 0 || mpint_bits(a, al) <= 0)
			return perr(err, "bad RSA modulus or exponent");
		*bits = nb;
		return 0;
	case K_DSA: /* p, q, g, y */
		if (!get_str(r, &a, &al))
			return perr(err, "truncated DSA key");
		if ((nb = mpint_bits(a, al)) <= 0)
			return perr(err, "bad DSA prime");
		for (int i = 0; i < 3; i++)
			if (!get_str(r, &b, &bl))
				return perr(err, "truncated DSA key");
		*bits = nb;
		return 0;
	case K_ECDSA:
	case K_SK_ECDSA: {
		size_t want = kt->bits == 521 ? 133 : kt->bits == 384 ? 97 : 65;
		if (!get_text(r, &c, &cl) || !get_str(r, &a, &al))
			return perr(err, "truncated ECDSA key");
		if (!text_is(c, cl, kt->curve))
			return perr(err, "ECDSA curve does not match the type");
		if (al != want || a[0] != 0x04)
			return perr(err, "ECDSA point is not uncompressed");
		if (kt->kind == K_SK_ECDSA && !get_text(r, &c, &cl))
			return perr(err, "truncated security key application");
		return 0;
	}
	case K_ED25519:
	case K_SK_ED25519:
		if (!get_str(r, &a, &al))
			return perr(err, "truncated Ed25519 key");
		if (al != 32)
			return perr(err, "Ed25519 key is not 32 bytes");
		if (kt->kind == K_SK_ED25519 && !get_text(r, &c, &cl))
			return perr(err, "truncated security key application");
		return 0;
	}
	return perr(err, "unknown key type");
}

/* "SHA256:" and unpadded base64 of the SHA-256 of p. */
static void
fingerprint(const uint8_t *p, size_t n, char out[CK_SSH_FP_MAX + 1])
{
	struct ck_buf b = CK_BUF_INIT;
	uint8_t md[32];

	ck_sha256(p, n, md);
	ck_buf_adds(&b, "SHA256:");
	ck_base64_encode(md, sizeof(md), &b);
	while (b.len > 0 && b.p[b.len - 1] == '=')
		b.len--;
	b.p[b.len] = '\0';
	snprintf(out, CK_SSH_FP_MAX + 1, "%s", b.p);
	ck_buf_release(&b);
}

/* A plain (not certificate) key: the CA key of a certificate. */
static int
parse_plain(const uint8_t *blob, size_t len, const char **label,
    char fp[CK_SSH_FP_MAX + 1], struct ck_err *err)
{
	struct rd r = {blob, len};
	const struct keytype *kt;
	const char *name;
	size_t nl, idx;
	bool cert;
	int bits, e;

	if (!get_text(&r, &name, &nl))
		return perr(err, "truncated CA key");
	if ((kt = find_type(name, nl, &cert, &idx)) == NULL || cert)
		return perr(err, "CA key is not a plain key of a known type");
	if ((e = read_fields(&r, kt, &bits, err)) != 0)
		return e;
	if (r.n != 0)
		return perr(err, "trailing bytes after the CA key");
	*label = kt->label;
	fingerprint(blob, len, fp);
	return 0;
}

static int64_t
clamp_time(uint64_t t)
{
	return t > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)t;
}

/* The certificate part after the public fields. */
static int
parse_cert_tail(struct rd *r, struct ck_ssh_key *k, struct ck_err *err)
{
	const uint8_t *s, *sig, *ca;
	size_t sl, sigl, cal;
	const char *t;
	size_t tl;
	uint32_t type;
	uint64_t va, vb;
	struct rd pr, sr;
	int e;

	if (!get_u64(r, &k->serial) || !get_u32(r, &type))
		return perr(err, "truncated certificate");
	if (type != 1 && type != 2)
		return perr(err, "certificate type is neither user nor host");
	k->cert_type = type == 1 ? CK_SSH_CERT_USER : CK_SSH_CERT_HOST;
	if (!get_text(r, &t, &tl))
		return perr(err, "truncated certificate key id");
	k->key_id = ck_strndup(t, tl);
	if (!get_str(r, &s, &sl))
		return perr(err, "truncated certificate principals");
	pr.p = s;
	pr.n = sl;
	while (pr.n > 0) {
		if (!get_text(&pr, &t, &tl))
			return perr(err, "malformed certificate principals");
		if (k->principals.n >= CK_SSH_PRINCIPALS_MAX)
			return ck_err_set(err, CK_E_TOO_LARGE,
			    "ssh key: more than %d principals",
			    CK_SSH_PRINCIPALS_MAX);
		char *p = ck_strndup(t, tl);
		ck_strlist_add(&k->principals, p);
		free(p);
	}
	if (!get_u64(r, &va) || !get_u64(r, &vb))
		return perr(err, "truncated certificate validity");
	k->valid_after = clamp_time(va);
	k->valid_before = vb == UINT64_MAX ? CK_SSH_FOREVER : clamp_time(vb);
	/* Critical options, extensions, reserved: taken as they are. */
	for (int i = 0; i < 3; i++)
		if (!get_str(r, &s, &sl))
			return perr(err, "truncated certificate options");
	if (!get_str(r, &ca, &cal) || !get_str(r, &sig, &sigl))
		return perr(err, "truncated certificate signature");
	if (r->n != 0)
		return perr(err, "trailing bytes after the certificate");
	if ((e = parse_plain(ca, cal, &k->ca_label, k->ca_fingerprint, err)) !=
	    0)
		return e;
	sr.p = sig;
	sr.n = sigl;
	if (!get_text(&sr, &t, &tl) || !get_str(&sr, &s, &sl))
		return perr(err, "malformed certificate signature");
	k->sig_alg = ck_strndup(t, tl);
	return 0;
}

int
ck_ssh_key_parse(
    const uint8_t *blob, size_t len, struct ck_ssh_key *k, struct ck_err *err)
{
	struct rd r = {blob, len};
	const struct keytype *kt;
	const uint8_t *nonce, *fields;
	const char *name;
	size_t nl, noncel, idx;
	bool cert;
	int e;

	memset(k, 0, sizeof(*k));
	if (len > CK_SSH_BLOB_MAX)
		return ck_err_set(err, CK_E_TOO_LARGE,
		    "ssh key: blob of %zu bytes (at most %d)", len,
		    CK_SSH_BLOB_MAX);
	if (!get_text(&r, &name, &nl))
		return perr(err, "truncated key type");
	if ((kt = find_type(name, nl, &cert, &idx)) == NULL ||
	    nl >= sizeof(k->type))
		return perr(err, "unknown key type");
	memcpy(k->type, name, nl);
	k->type[nl] = '\0';
	k->is_cert = cert;
	k->label = cert ? cert_labels[idx] : kt->label;
	if (cert && !get_str(&r, &nonce, &noncel)) {
		e = perr(err, "truncated certificate nonce");
		goto fail;
	}
	fields = r.p;
	if ((e = read_fields(&r, kt, &k->bits, err)) != 0)
		goto fail;
	ck_sha256(blob, len, k->blob_sha256);
	if (!cert) {
		if (r.n != 0) {
			e = perr(err, "trailing bytes after the key");
			goto fail;
		}
		fingerprint(blob, len, k->fingerprint);
		return 0;
	} else {
		/* The fingerprint is of the certified key's plain blob: its
		 * plain type name, then the same public fields. */
		size_t fl = (size_t)(r.p - fields), tl = strlen(kt->name);
		uint8_t *plain = ck_malloc(4 + tl + fl);
		plain[0] = (uint8_t)(tl >> 24);
		plain[1] = (uint8_t)(tl >> 16);
		plain[2] = (uint8_t)(tl >> 8);
		plain[3] = (uint8_t)tl;
		memcpy(plain + 4, kt->name, tl);
		memcpy(plain + 4 + tl, fields, fl);
		fingerprint(plain, 4 + tl + fl, k->fingerprint);
		free(plain);
	}
	if ((e = parse_cert_tail(&r, k, err)) != 0)
		goto fail;
	return 0;
fail:
	ck_ssh_key_release(k);
	return e;
}

void
ck_ssh_key_release(struct ck_ssh_key *k)
{
	if (k == NULL)
		return;
	free(k->key_id);
	free(k->sig_alg);
	ck_strlist_release(&k->principals);
	memset(k, 0, sizeof(*k));
}

const char *
ck_ssh_cert_type_name(enum ck_ssh_cert_type t)
{
	switch (t) {
	case CK_SSH_CERT_USER: return "user";
	case CK_SSH_CERT_HOST: return "host";
	default: return "";
	}
}

/* ---- text lines ---- */

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* The end of the field at s: the first space or tab outside quotes; \"
 * inside is an escaped quote (as sshd's authorized_keys reader). */
static size_t
options_end(const char *s, size_t n)
{
	bool quoted = false;
	size_t i = 0;

	while (i < n && (quoted || !is_ws(s[i]))) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '"')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		i++;
	}
	return i;
}

static size_t
token_end(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !is_ws(s[i]))
		i++;
	return i;
}

int
ck_ssh_line_parse(
    const char *line, size_t len, struct ck_ssh_line *l, struct ck_err *err)
{
	struct ck_buf blob = CK_BUF_INIT;
	const char *p = line, *end, *type, *b64;
	size_t tl, bl;
	int e;

	memset(l, 0, sizeof(*l));
	if (len > CK_SSH_LINE_MAX)
		return ck_err_set(err, CK_E_TOO_LARGE,
		    "ssh key: line of %zu bytes (at most %d)", len,
		    CK_SSH_LINE_MAX);
	if (memchr(line, '\0', len) != NULL)
		return perr(err, "NUL byte in the line");
	end = line + len;
	while (end > p && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	while (p < end && is_ws(*p))
		p++;
	if (p == end || *p == '#')
		return ck_err_set(err, CK_E_NOTFOUND, "no key on this line");
	tl = token_end(p, (size_t)(end - p));
	if (!ck_ssh_type_known(p, tl)) {
		/* authorized_keys options come first: skip that field. */
		size_t ol = options_end(p, (size_t)(end - p));
		l->options = ck_strndup(p, ol);
		p += ol;
		while (p < end && is_ws(*p))
			p++;
		tl = token_end(p, (size_t)(end - p));
		if (tl == 0 || !ck_ssh_type_known(p, tl)) {
			e = perr(err, "no known key type on the line");
			goto fail;
		}
	}
	type = p;
	p += tl;
	while (p < end && is_ws(*p))
		p++;
	b64 = p;
	bl = token_end(p, (size_t)(end - p));
	p += bl;
	if (bl == 0) {
		e = perr(err, "no base64 after the key type");
		goto fail;
	}
	if (bl / 4 * 3 > CK_SSH_BLOB_MAX + 3) {
		e = ck_err_set(err, CK_E_TOO_LARGE,
		    "ssh key: blob larger than %d bytes", CK_SSH_BLOB_MAX);
		goto fail;
	}
	if (!ck_base64_decode(b64, bl, &blob)) {
		e = perr(err, "broken base64");
		goto fail;
	}
	if ((e = ck_ssh_key_parse(
	         (const uint8_t *)blob.p, blob.len, &l->key, err)) != 0)
		goto fail;
	if (!text_is(type, tl, l->key.type)) {
		e = perr(err, "the type before the base64 is not the blob's");
		goto fail;
	}
	while (p < end && is_ws(*p))
		p++;
	if (p < end)
		l->comment = ck_strndup(p, (size_t)(end - p));
	ck_buf_release(&blob);
	return 0;
fail:
	ck_buf_release(&blob);
	ck_ssh_line_release(l);
	return e;
}

void
ck_ssh_line_release(struct ck_ssh_line *l)
{
	if (l == NULL)
		return;
	ck_ssh_key_release(&l->key);
	free(l->options);
	free(l->comment);
	l->options = l->comment = NULL;
}

void
ck_ssh_fp_line(const struct ck_ssh_line *l, struct ck_buf *out)
{
	ck_buf_printf(out, "%d %s %s (%s)", l->key.bits, l->key.fingerprint,
	    l->comment ? l->comment : "no comment", l->key.label);
}

static void
add_time(struct ck_buf *out, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[64];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		ck_buf_printf(out, "%" PRId64, t);
	else
		ck_buf_adds(out, s);
}

void
ck_ssh_validity(const struct ck_ssh_key *k, struct ck_buf *out)
{
	if (k->valid_after == 0 && k->valid_before == CK_SSH_FOREVER) {
		ck_buf_adds(out, "forever");
	} else if (k->valid_after == 0) {
		ck_buf_adds(out, "before ");
		add_time(out, k->valid_before);
	} else if (k->valid_before == CK_SSH_FOREVER) {
		ck_buf_adds(out, "after ");
		add_time(out, k->valid_after);
	} else {
		ck_buf_adds(out, "from ");
		add_time(out, k->valid_after);
		ck_buf_adds(out, " to ");
		add_time(out, k->valid_before);
	}
}
