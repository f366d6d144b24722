/*
 * STARTTLS dialogues as byte state machines: what the scanner says to a
 * mail, directory or database server before it may start a TLS handshake
 * on the same connection. No I/O here; see starttls.h for the contract.
 *
 *   START --init_step()--> client-first protocols write their request:
 *     LDAP:     StartTLS ExtendedRequest -> LDAP_RESP --ldap_msg()--> end
 *     Postgres: SSLRequest               -> PG_REPLY  --pg_reply()--> end
 *   server-first protocols wait for the greeting (one line per edge,
 *   taken by the protocol's *_line() function through feed_lines()):
 *     SMTP: SMTP_GREET --220: EHLO--> SMTP_EHLO --250 with STARTTLS:
 *           STARTTLS--> SMTP_TLS --220--> READY
 *     IMAP: IMAP_GREET --* OK: a1 STARTTLS--> IMAP_TAG --a1 OK--> READY
 *     POP3: POP3_GREET --+OK: STLS--> POP3_STLS --+OK--> READY
 *     FTP:  FTP_GREET --220: AUTH TLS--> FTP_AUTH --234--> READY
 *   Any state --refusal (4xx/5xx, NO/BAD, -ERR, resultCode != 0, 'N')-->
 *   REFUSED; --not the protocol, over-long, bytes after the go-ahead-->
 *   ERROR. READY, REFUSED and ERROR are final.
 */
#include "discovery/starttls.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum {
	ST_START,
	ST_SMTP_GREET,
	ST_SMTP_EHLO,
	ST_SMTP_TLS,
	ST_IMAP_GREET,
	ST_IMAP_TAG,
	ST_POP3_GREET,
	ST_POP3_STLS,
	ST_FTP_GREET,
	ST_FTP_AUTH,
	ST_LDAP_RESP,
	ST_PG_REPLY,
	ST_READY,
	ST_REFUSED,
	ST_ERROR,
};

/*
 * s->state packs the step above (low byte) with what a multi-line SMTP or
 * FTP reply carries from one line to the next: the code of the reply in
 * progress (0 when none) and whether an EHLO line offered STARTTLS. The
 * struct is the header's, embedded by callers, so it grows no fields.
 */
#define STEP(s) ((s)->state & 0xff)
#define ML_CODE(s) (((s)->state >> 8) & 0x3ff)
#define SAW_STARTTLS 0x40000
#define SET_STEP(s, st) ((s)->state = ((s)->state & ~0xff) | (st))
#define SET_ML_CODE(s, c) \
	((s)->state = ((s)->state & ~(0x3ff << 8)) | ((c) << 8))

static const struct {
	const char *name;
	const char *command; /* the request, as refusals name it */
	int port1, port2;
} protos[] = {
    [CK_STARTTLS_NONE] = {"none", "TLS", 0, 0},
    [CK_STARTTLS_SMTP] = {"smtp", "STARTTLS", 25, 587},
    [CK_STARTTLS_IMAP] = {"imap", "STARTTLS", 143, 0},
    [CK_STARTTLS_POP3] = {"pop3", "STLS", 110, 0},
    [CK_STARTTLS_FTP] = {"ftp", "AUTH TLS", 21, 0},
    [CK_STARTTLS_LDAP] = {"ldap", "StartTLS", 389, 0},
    [CK_STARTTLS_POSTGRES] = {"postgres", "SSLRequest", 5432, 0},
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

/* RFC 4511 section 4.12, RFC 4513 section 3: messageID 1, requestName
 * 1.3.6.1.4.1.1466.20037, no requestValue. */
static const uint8_t ldap_starttls[] = {0x30, 0x1d, 0x02, 0x01, 0x01, 0x77,
    0x18, 0x80, 0x16, '1', '.', '3', '.', '6', '.', '1', '.', '4', '.', '1',
    '.', '1', '4', '6', '6', '.', '2', '0', '0', '3', '7'};
/* PostgreSQL protocol: length 8, code 1234 5679 (80877103). */
static const uint8_t pg_sslrequest[] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};

int
ck_starttls_parse(const char *name, enum ck_starttls_proto *out)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (strcasecmp(name, protos[i].name) == 0) {
			*out = (enum ck_starttls_proto)i;
			return 0;
		}
	return CK_E_INVAL;
}

const char *
ck_starttls_name(enum ck_starttls_proto p)
{
	if ((size_t)p >= NPROTOS)
		return "unknown";
	return protos[p].name;
}

enum ck_starttls_proto
ck_starttls_for_port(int port)
{
	for (size_t i = 1; i < NPROTOS; i++)
		if (port > 0 &&
		    (port == protos[i].port1 || port == protos[i].port2))
			return (enum ck_starttls_proto)i;
	return CK_STARTTLS_NONE;
}

void
ck_starttls_init(struct ck_starttls *s, enum ck_starttls_proto p)
{
	s->proto = p;
	s->state = ST_START;
	s->have = 0;
}

/* What the server said, fit for an error line: printable, cut short. */
static void
quote(const uint8_t *p, size_t n, char *dst, size_t size)
{
	size_t i, j = 0, max = n < 120 ? n : 120;

	for (i = 0; i < max && j + 1 < size; i++)
		dst[j++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	if (n > max && j + 4 < size) {
		memcpy(dst + j, "...", 3);
		j += 3;
	}
	dst[j] = '\0';
}

static enum ck_starttls_step
finish(struct ck_starttls *s, enum ck_starttls_step step)
{
	switch (step) {
	case CK_STARTTLS_READY: s->state = ST_READY; break;
	case CK_STARTTLS_REFUSED: s->state = ST_REFUSED; break;
	case CK_STARTTLS_ERROR: s->state = ST_ERROR; break;
	case CK_STARTTLS_MORE: break;
	}
	return step;
}

static enum ck_starttls_step
refused(struct ck_starttls *s, const uint8_t *l, size_t n, struct ck_err *err)
{
	char q[160];

	quote(l, n, q, sizeof(q));
	ck_err_set(err, CK_E_UNAVAILABLE, "%s: server refused %s: %s",
	    ck_starttls_name(s->proto), protos[s->proto].command, q);
	return CK_STARTTLS_REFUSED;
}

static enum ck_starttls_step
garbage(struct ck_starttls *s, const uint8_t *l, size_t n, struct ck_err *err)
{
	char q[160];

	quote(l, n, q, sizeof(q));
	ck_err_set(err, CK_E_PARSE, "%s: unexpected reply: '%s'",
	    ck_starttls_name(s->proto), q);
	return CK_STARTTLS_ERROR;
}

/*
 * A reply line of SMTP (RFC 5321 section 4.2) or FTP (RFC 959 section
 * 4.2): three digits, the first 1 to 5, then '-' (more lines follow), ' '
 * or nothing. Returns the code, or -1 when the line is not one.
 */
static int
reply_code(const uint8_t *l, size_t n, bool *more)
{
	if (n < 3 || l[0] < '1' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9')
		return -1;
	if (n > 3 && l[3] != ' ' && l[3] != '-')
		return -1;
	*more = n > 3 && l[3] == '-';
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

/* Does this EHLO line (after its code) name the STARTTLS extension? */
static bool
is_starttls_keyword(const uint8_t *l, size_t n)
{
	if (n < 4)
		return false;
	l += 4;
	n -= 4;
	while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	return n == 8 && strncasecmp((const char *)l, "STARTTLS", 8) == 0;
}

static enum ck_starttls_step
smtp_line(struct ck_starttls *s, const uint8_t *l, size_t n, struct ck_buf *out,
    struct ck_err *err)
{
	bool more;
	int code = reply_code(l, n, &more);

	if (code < 0)
		return garbage(s, l, n, err);
	if (ML_CODE(s) != 0 && code != ML_CODE(s)) {
		ck_err_set(err, CK_E_PARSE,
		    "smtp: reply code changed from %d to %d within one reply",
		    ML_CODE(s), code);
		return CK_STARTTLS_ERROR;
	}
	if (STEP(s) == ST_SMTP_EHLO && code == 250 && is_starttls_keyword(l, n))
		s->state |= SAW_STARTTLS;
	if (more) {
		SET_ML_CODE(s, code);
		return CK_STARTTLS_MORE;
	}
	SET_ML_CODE(s, 0);
	if (code >= 400)
		return refused(s, l, n, err);
	switch (STEP(s)) {
	case ST_SMTP_GREET:
		if (code != 220)
			break;
		ck_buf_adds(out, "EHLO certkeep.invalid\r\n");
		SET_STEP(s, ST_SMTP_EHLO);
		return CK_STARTTLS_MORE;
	case ST_SMTP_EHLO:
		if (code != 250)
			break;
		if (!(s->state & SAW_STARTTLS)) {
			ck_err_set(err, CK_E_UNAVAILABLE,
			    "smtp: server does not offer STARTTLS");
			return CK_STARTTLS_REFUSED;
		}
		ck_buf_adds(out, "STARTTLS\r\n");
		SET_STEP(s, ST_SMTP_TLS);
		return CK_STARTTLS_MORE;
	case ST_SMTP_TLS:
		if (code == 220)
			return CK_STARTTLS_READY;
		break;
	}
	return garbage(s, l, n, err);
}

/* The word of an IMAP line after its tag ("* OK ..." -> "OK"). */
static bool
imap_word(const uint8_t *l, size_t n, size_t taglen, const char *word)
{
	size_t w = strlen(word);

	if (n < taglen + w ||
	    strncasecmp((const char *)l + taglen, word, w) != 0)
		return false;
	return n == taglen + w || l[taglen + w] == ' ';
}

static bool
has_prefix(const uint8_t *l, size_t n, const char *p)
{
	size_t pn = strlen(p);

	return n >= pn && memcmp(l, p, pn) == 0;
}

static enum ck_starttls_step
imap_line(struct ck_starttls *s, const uint8_t *l, size_t n, struct ck_buf *out,
    struct ck_err *err)
{
	if (STEP(s) == ST_IMAP_GREET) {
		if (imap_word(l, n, 2, "OK") && has_prefix(l, n, "* ")) {
			ck_buf_adds(out, "a1 STARTTLS\r\n");
			SET_STEP(s, ST_IMAP_TAG);
			return CK_STARTTLS_MORE;
		}
		/* PREAUTH: already authenticated, where RFC 3501 no longer
		 * allows STARTTLS. */
		if (has_prefix(l, n, "* ") &&
		    (imap_word(l, n, 2, "BYE") ||
		        imap_word(l, n, 2, "PREAUTH")))
			return refused(s, l, n, err);
		return garbage(s, l, n, err);
	}
	if (has_prefix(l, n, "* ")) {
		if (imap_word(l, n, 2, "BYE"))
			return refused(s, l, n, err);
		return CK_STARTTLS_MORE; /* CAPABILITY and the like */
	}
	if (has_prefix(l, n, "a1 ")) {
		if (imap_word(l, n, 3, "OK"))
			return CK_STARTTLS_READY;
		if (imap_word(l, n, 3, "NO") || imap_word(l, n, 3, "BAD"))
			return refused(s, l, n, err);
	}
	return garbage(s, l, n, err);
}

static enum ck_starttls_step
pop3_line(struct ck_starttls *s, const uint8_t *l, size_t n, struct ck_buf *out,
    struct ck_err *err)
{
	if (imap_word(l, n, 0, "+OK")) {
		if (STEP(s) == ST_POP3_STLS)
			return CK_STARTTLS_READY;
		ck_buf_adds(out, "STLS\r\n");
		SET_STEP(s, ST_POP3_STLS);
		return CK_STARTTLS_MORE;
	}
	if (imap_word(l, n, 0, "-ERR"))
		return refused(s, l, n, err);
	return garbage(s, l, n, err);
}

/*
 * FTP multi-line replies (RFC 959 section 4.2) start with "NNN-" and end
 * at a line "NNN " with the same code; lines between are free text.
 */
static enum ck_starttls_step
ftp_line(struct ck_starttls *s, const uint8_t *l, size_t n, struct ck_buf *out,
    struct ck_err *err)
{
	bool more;
	int code;

	if (ML_CODE(s) != 0) {
		code = reply_code(l, n, &more);
		if (code != ML_CODE(s) || more)
			return CK_STARTTLS_MORE;
		SET_ML_CODE(s, 0);
	} else {
		if ((code = reply_code(l, n, &more)) < 0)
			return garbage(s, l, n, err);
		if (more) {
			SET_ML_CODE(s, code);
			return CK_STARTTLS_MORE;
		}
	}
	if (STEP(s) == ST_FTP_AUTH) {
		/* RFC 4217 section 4: 234 goes ahead, anything else is no. */
		return code == 234 ? CK_STARTTLS_READY : refused(s, l, n, err);
	}
	if (code < 200)
		return CK_STARTTLS_MORE; /* 120: ready in a while */
	if (code >= 400)
		return refused(s, l, n, err);
	if (code != 220)
		return garbage(s, l, n, err);
	ck_buf_adds(out, "AUTH TLS\r\n");
	SET_STEP(s, ST_FTP_AUTH);
	return CK_STARTTLS_MORE;
}

typedef enum ck_starttls_step (*line_fn)(struct ck_starttls *, const uint8_t *,
    size_t, struct ck_buf *, struct ck_err *);

/*
 * Cuts input into lines (CRLF or bare LF) in s->buf, however it arrives,
 * and hands each to fn until it decides. Bytes after a go-ahead are an
 * error: a server must wait for the handshake (the injection behind
 * CVE-2011-0411).
 */
static enum ck_starttls_step
feed_lines(struct ck_starttls *s, const uint8_t *in, size_t len,
    struct ck_buf *out, struct ck_err *err, line_fn fn)
{
	size_t i = 0;

	while (i < len) {
		const uint8_t *nl = memchr(in + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (in + i)) : len - i;
		enum ck_starttls_step step;
		size_t linelen;

		if (n > sizeof(s->buf) - s->have) {
			ck_err_set(err, CK_E_TOO_LARGE,
			    "%s: server line longer than %d bytes",
			    ck_starttls_name(s->proto), CK_STARTTLS_MAX_LINE);
			return CK_STARTTLS_ERROR;
		}
		memcpy(s->buf + s->have, in + i, n);
		s->have += n;
		i += n;
		if (nl == NULL)
			break;
		i++; /* the LF */
		linelen = s->have;
		if (linelen > 0 && s->buf[linelen - 1] == '\r')
			linelen--;
		s->have = 0;
		step = fn(s, s->buf, linelen, out, err);
		if (step == CK_STARTTLS_READY && i < len) {
			ck_err_set(err, CK_E_PARSE,
			    "%s: %zu bytes after the go-ahead to start TLS",
			    ck_starttls_name(s->proto), len - i);
			return CK_STARTTLS_ERROR;
		}
		if (step != CK_STARTTLS_MORE)
			return step;
	}
	return CK_STARTTLS_MORE;
}

/* A BER TLV within [*p, *p + *n): definite lengths of up to 4 bytes and
 * one-byte tags, as LDAP uses (RFC 4511 section 5.1). */
struct ber {
	const uint8_t *p;
	size_t n;
};

/* 1: header complete (*hdr, *vlen set), 0: need more bytes, -1: bad. */
static int
ber_header(const uint8_t *p, size_t n, size_t *hdr, size_t *vlen)
{
	size_t k, v = 0;

	if (n < 2)
		return 0;
	if ((p[0] & 0x1f) == 0x1f)
		return -1; /* multi-byte tag: not LDAP */
	if (p[1] < 0x80) {
		*hdr = 2;
		*vlen = p[1];
		return 1;
	}
	k = p[1] & 0x7f;
	if (k == 0 || k > 4)
		return -1; /* indefinite (forbidden by LDAP) or absurd */
	if (n < 2 + k)
		return 0;
	for (size_t i = 0; i < k; i++)
		v = (v << 8) | p[2 + i];
	*hdr = 2 + k;
	*vlen = v;
	return 1;
}

/* Takes the next TLV off b: its tag and its contents. */
static bool
ber_next(struct ber *b, uint8_t *tag, struct ber *val)
{
	size_t hdr, vlen;

	if (ber_header(b->p, b->n, &hdr, &vlen) != 1 || vlen > b->n - hdr)
		return false;
	*tag = b->p[0];
	val->p = b->p + hdr;
	val->n = vlen;
	b->p += hdr + vlen;
	b->n -= hdr + vlen;
	return true;
}

/* A non-negative INTEGER or ENUMERATED of at most 4 bytes. */
static bool
ber_uint(const struct ber *v, uint32_t *out)
{
	uint32_t x = 0;

	if (v->n == 0 || v->n > 5 || (v->p[0] & 0x80) ||
	    (v->n == 5 && v->p[0] != 0))
		return false;
	for (size_t i = 0; i < v->n; i++)
		x = (x << 8) | v->p[i];
	*out = x;
	return true;
}

static const char *
ldap_result_name(uint32_t code)
{
	switch (code) {
	case 1: return "operationsError";
	case 2: return "protocolError";
	case 7: return "authMethodNotSupported";
	case 8: return "strongerAuthRequired";
	case 51: return "busy";
	case 52: return "unavailable";
	case 53: return "unwillingToPerform";
	case 80: return "other";
	}
	return "error";
}

/* The whole LDAPMessage is in buf (n bytes): an ExtendedResponse to
 * messageID 1, or a Notice of Disconnection (messageID 0). */
static enum ck_starttls_step
ldap_msg(struct ck_starttls *s, size_t n, struct ck_err *err)
{
	struct ber msg = {s->buf, n}, body, v, resp, diag = {NULL, 0};
	uint32_t id, code;
	uint8_t tag;
	char q[160];

	if (!ber_next(&msg, &tag, &body) || tag != 0x30 ||
	    !ber_next(&body, &tag, &v) || tag != 0x02 || !ber_uint(&v, &id) ||
	    !ber_next(&body, &tag, &resp))
		goto bad;
	if (tag != 0x78) { /* [APPLICATION 24] ExtendedResponse */
		ck_err_set(err, CK_E_PARSE,
		    "ldap: expected an extended response, got tag 0x%02x", tag);
		return CK_STARTTLS_ERROR;
	}
	if (!ber_next(&resp, &tag, &v) || tag != 0x0a || !ber_uint(&v, &code) ||
	    !ber_next(&resp, &tag, &v) || tag != 0x04 || /* matchedDN */
	    !ber_next(&resp, &tag, &diag) || tag != 0x04)
		goto bad;
	if (id != 0 && id != 1) {
		ck_err_set(err, CK_E_PARSE,
		    "ldap: response to message %u, not to the request (1)", id);
		return CK_STARTTLS_ERROR;
	}
	if (id == 1 && code == 0)
		return CK_STARTTLS_READY;
	quote(diag.p, diag.n, q, sizeof(q));
	ck_err_set(err, CK_E_UNAVAILABLE,
	    "ldap: server refused StartTLS: %s%s (%u)%s%s",
	    id == 0 ? "disconnects: " : "", ldap_result_name(code), code,
	    q[0] ? ": " : "", q);
	return CK_STARTTLS_REFUSED;
bad:
	ck_err_set(err, CK_E_PARSE, "ldap: malformed response message");
	return CK_STARTTLS_ERROR;
}

static enum ck_starttls_step
feed_ldap(
    struct ck_starttls *s, const uint8_t *in, size_t len, struct ck_err *err)
{
	size_t take =
	    len < sizeof(s->buf) - s->have ? len : sizeof(s->buf) - s->have;
	size_t hdr = 0, vlen = 0, total, extra;
	enum ck_starttls_step step;
	int r;

	if (len == 0)
		return CK_STARTTLS_MORE;
	memcpy(s->buf + s->have, in, take);
	s->have += take;
	if ((r = ber_header(s->buf, s->have, &hdr, &vlen)) < 0 ||
	    s->buf[0] != 0x30) {
		ck_err_set(err, CK_E_PARSE, "ldap: not an LDAP message");
		return CK_STARTTLS_ERROR;
	}
	if (r == 0)
		return CK_STARTTLS_MORE;
	if (vlen > sizeof(s->buf) - hdr) {
		ck_err_set(err, CK_E_TOO_LARGE,
		    "ldap: response of %zu bytes (at most %d)", hdr + vlen,
		    CK_STARTTLS_MAX_LINE);
		return CK_STARTTLS_ERROR;
	}
	total = hdr + vlen;
	if (s->have < total)
		return CK_STARTTLS_MORE;
	extra = s->have - total + (len - take);
	step = ldap_msg(s, total, err);
	if (step == CK_STARTTLS_READY && extra > 0) {
		ck_err_set(err, CK_E_PARSE,
		    "ldap: %zu bytes after the go-ahead to start TLS", extra);
		return CK_STARTTLS_ERROR;
	}
	return step;
}

static enum ck_starttls_step
pg_reply(const uint8_t *in, size_t len, struct ck_err *err)
{
	if (len == 0)
		return CK_STARTTLS_MORE;
	if (in[0] == 'N') {
		ck_err_set(err, CK_E_UNAVAILABLE,
		    "postgres: server refused SSLRequest ('N')");
		return CK_STARTTLS_REFUSED;
	}
	if (in[0] != 'S') {
		ck_err_set(err, CK_E_PARSE,
		    "postgres: unexpected reply 0x%02x to SSLRequest%s", in[0],
		    in[0] == 'E' ? " (an error message)" : "");
		return CK_STARTTLS_ERROR;
	}
	if (len > 1) {
		ck_err_set(err, CK_E_PARSE,
		    "postgres: %zu bytes after the go-ahead to start TLS",
		    len - 1);
		return CK_STARTTLS_ERROR;
	}
	return CK_STARTTLS_READY;
}

/* START: what the client says first, and the step that waits next. */
static enum ck_starttls_step
init_step(struct ck_starttls *s, struct ck_buf *out, struct ck_err *err)
{
	switch (s->proto) {
	case CK_STARTTLS_NONE: return CK_STARTTLS_READY;
	case CK_STARTTLS_SMTP: SET_STEP(s, ST_SMTP_GREET); break;
	case CK_STARTTLS_IMAP: SET_STEP(s, ST_IMAP_GREET); break;
	case CK_STARTTLS_POP3: SET_STEP(s, ST_POP3_GREET); break;
	case CK_STARTTLS_FTP: SET_STEP(s, ST_FTP_GREET); break;
	case CK_STARTTLS_LDAP:
		ck_buf_add(out, ldap_starttls, sizeof(ldap_starttls));
		SET_STEP(s, ST_LDAP_RESP);
		break;
	case CK_STARTTLS_POSTGRES:
		ck_buf_add(out, pg_sslrequest, sizeof(pg_sslrequest));
		SET_STEP(s, ST_PG_REPLY);
		break;
	default:
		ck_err_set(err, CK_E_INVAL, "starttls: unknown protocol %d",
		    (int)s->proto);
		return CK_STARTTLS_ERROR;
	}
	return CK_STARTTLS_MORE;
}

enum ck_starttls_step
ck_starttls_next(struct ck_starttls *s, const uint8_t *in, size_t len,
    struct ck_buf *out, struct ck_err *err)
{
	enum ck_starttls_step step;

	if (STEP(s) == ST_START) {
		step = init_step(s, out, err);
		if (step != CK_STARTTLS_MORE) {
			if (step == CK_STARTTLS_READY && len > 0) {
				ck_err_set(err, CK_E_PARSE,
				    "none: %zu bytes before the TLS handshake",
				    len);
				step = CK_STARTTLS_ERROR;
			}
			return finish(s, step);
		}
	}
	switch (STEP(s)) {
	case ST_READY:
		if (len == 0)
			return CK_STARTTLS_READY;
		ck_err_set(err, CK_E_PARSE,
		    "%s: %zu bytes after the go-ahead to start TLS",
		    ck_starttls_name(s->proto), len);
		return finish(s, CK_STARTTLS_ERROR);
	case ST_REFUSED:
	case ST_ERROR:
		ck_err_set(err, CK_E_INVAL, "%s: the dialogue has ended",
		    ck_starttls_name(s->proto));
		return STEP(s) == ST_REFUSED ? CK_STARTTLS_REFUSED
		                             : CK_STARTTLS_ERROR;
	case ST_SMTP_GREET:
	case ST_SMTP_EHLO:
	case ST_SMTP_TLS:
		step = feed_lines(s, in, len, out, err, smtp_line);
		break;
	case ST_IMAP_GREET:
	case ST_IMAP_TAG:
		step = feed_lines(s, in, len, out, err, imap_line);
		break;
	case ST_POP3_GREET:
	case ST_POP3_STLS:
		step = feed_lines(s, in, len, out, err, pop3_line);
		break;
	case ST_FTP_GREET:
	case ST_FTP_AUTH:
		step = feed_lines(s, in, len, out, err, ftp_line);
		break;
	case ST_LDAP_RESP: step = feed_ldap(s, in, len, err); break;
	case ST_PG_REPLY: step = pg_reply(in, len, err); break;
	default: CK_BUG("starttls: unknown state");
	}
	return finish(s, step);
}
