/*
 * Distinguished names as RFC 4514 text, formatted straight from the DER of
 * the Name. The text is byte for byte what OpenSSL's X509_NAME_print_ex
 * prints with XN_FLAG_RFC2253 minus ASN1_STRFLGS_ESC_MSB (so UTF-8 stays
 * UTF-8, as `openssl x509 -nameopt RFC2253,-esc_msb` shows it), but without
 * decoding an X509_NAME, whose canonical form OpenSSL builds on every
 * parse and which cost a sixth of the bulk parse.
 */
#include "x509/x509_int.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#define MAX_ENTRIES 256

/* Character classes of OpenSSL's RFC 2253 escaping (charmap.h). */
#define C_ESC 1 /* , + " \ < > ; */
#define C_FIRST 2 /* escaped when first: space, # */
#define C_LAST 4 /* escaped when last: space */
#define C_CTRL 8 /* \XX */

static unsigned
char_class(unsigned char c)
{
	if (c < 0x20 || c == 0x7f)
		return C_CTRL;
	switch (c) {
	case ',':
	case '+':
	case '"':
	case '\\':
	case '<':
	case '>':
	case ';': return C_ESC;
	case ' ': return C_FIRST | C_LAST;
	case '#': return C_FIRST;
	}
	return 0;
}

static void
esc_byte(struct ck_buf *o, unsigned char c, unsigned pos)
{
	static const char hx[] = "0123456789ABCDEF";
	unsigned cl = c > 0x7f ? 0 : char_class(c);

	if ((cl & C_ESC) || (cl & pos & (C_FIRST | C_LAST))) {
		ck_buf_addc(o, '\\');
		ck_buf_addc(o, (char)c);
	} else if (cl & C_CTRL) {
		ck_buf_addc(o, '\\');
		ck_buf_addc(o, hx[c >> 4]);
		ck_buf_addc(o, hx[c & 15]);
	} else {
		ck_buf_addc(o, (char)c);
	}
}

static size_t
utf8_put(uint8_t *b, uint32_t c)
{
	if (c < 0x80) {
		b[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | c >> 6);
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		b[0] = (uint8_t)(0xe0 | c >> 12);
		b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		return 3;
	}
	b[0] = (uint8_t)(0xf0 | ((c >> 18) & 0x07));
	b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
	b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
	b[3] = (uint8_t)(0x80 | (c & 0x3f));
	return 4;
}

/* Bytes per character of the string types OpenSSL prints (tag2nbyte):
 * 0 UTF-8 as is, 1 one byte (Latin-1), 2 BMP, 4 Universal; -1 dump. */
static int
width_of(unsigned tag)
{
	switch (tag) {
	case 12: return 0;
	case 18:
	case 19:
	case 20:
	case 22:
	case 23:
	case 24:
	case 26: return 1;
	case 28: return 4;
	case 30: return 2;
	}
	return -1;
}

/*
 * Appends the value's text; escaping when esc. Returns false when the
 * value cannot be shown as text (the caller dumps it instead).
 */
static bool
value_text(struct ck_buf *o, unsigned tag, const uint8_t *p, size_t n, bool esc)
{
	int w = width_of(tag);
	size_t i = 0;

	if (w < 0 || (w > 1 && n % (size_t)w != 0))
		return false;
	while (i < n) {
		unsigned pos = i == 0 ? C_FIRST : 0;
		uint32_t c;
		uint8_t u[4];
		size_t un;

		switch (w) {
		case 2:
			c = (uint32_t)p[i] << 8 | p[i + 1];
			i += 2;
			break;
		case 4:
			c = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
			    (uint32_t)p[i + 2] << 8 | p[i + 3];
			i += 4;
			break;
		default: c = p[i++];
		}
		/* OpenSSL's quirk: on the last character the "last" flag
		 * replaces the "first" one. */
		if (i == n)
			pos = C_LAST;
		if (w == 0) {
			u[0] = (uint8_t)c;
			un = 1;
		} else {
			if (c > 0x10ffff)
				return false;
			un = utf8_put(u, c);
		}
		for (size_t k = 0; k < un; k++) {
			if (esc)
				esc_byte(o, u[k], un == 1 ? pos : 0);
			else
				ck_buf_addc(o, (char)u[k]);
		}
	}
	return true;
}

static void
dump(struct ck_buf *o, const uint8_t *tlv, size_t n)
{
	static const char hx[] = "0123456789ABCDEF";

	ck_buf_addc(o, '#');
	for (size_t i = 0; i < n; i++) {
		ck_buf_addc(o, hx[tlv[i] >> 4]);
		ck_buf_addc(o, hx[tlv[i] & 15]);
	}
}

struct entry {
	const uint8_t *oid; /* OID contents */
	size_t oid_len;
	const uint8_t *oid_tlv;
	size_t oid_total;
	const uint8_t *val; /* the value TLV */
	size_t val_len;
	unsigned tag;
	const uint8_t *content;
	size_t content_len;
	int set;
};

/* Short names of the attribute types seen in practice, by OID contents;
 * anything else asks OpenSSL's object table. */
static const struct {
	const char *der;
	size_t len;
	const char *sn;
} common[] = {
    {"\x55\x04\x03", 3, "CN"},
    {"\x55\x04\x06", 3, "C"},
    {"\x55\x04\x07", 3, "L"},
    {"\x55\x04\x08", 3, "ST"},
    {"\x55\x04\x0a", 3, "O"},
    {"\x55\x04\x0b", 3, "OU"},
    {"\x55\x04\x05", 3, "serialNumber"},
    {"\x55\x04\x09", 3, "street"},
    {"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", 9, "emailAddress"},
    {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", 10, "DC"},
};

static const char *
field_name(const struct entry *e, char *buf, size_t cap, bool *known)
{
	const unsigned char *p;
	ASN1_OBJECT *obj;
	int nid;

	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (e->oid_len == common[i].len &&
		    memcmp(e->oid, common[i].der, e->oid_len) == 0) {
			*known = true;
			return common[i].sn;
		}
	p = e->oid_tlv;
	obj = d2i_ASN1_OBJECT(NULL, &p, (long)e->oid_total);
	if (obj == NULL) {
		ERR_clear_error();
		*known = false;
		snprintf(buf, cap, "UNKNOWN");
		return buf;
	}
	nid = OBJ_obj2nid(obj);
	*known = nid != NID_undef;
	if (*known)
		snprintf(buf, cap, "%s", OBJ_nid2sn(nid));
	else
		OBJ_obj2txt(buf, (int)cap, obj, 1);
	ASN1_OBJECT_free(obj);
	return buf;
}

static bool
is_cn(const struct entry *e)
{
	return e->oid_len == 3 && memcmp(e->oid, "\x55\x04\x03", 3) == 0;
}

bool
name_format(const uint8_t *der, size_t len, struct ck_buf *out, char **cn)
{
	struct entry ents[MAX_ENTRIES];
	struct der_tlv seq, set, atv, oid, val;
	const uint8_t *p, *end;
	int n = 0, nset = 0, last_cn = -1;

	ck_buf_reset(out);
	if (cn != NULL)
		*cn = NULL;
	if (!der_read(der, len, &seq) || seq.tag != 0x30)
		return false;
	for (p = seq.val, end = seq.val + seq.len; p < end; p += set.total) {
		const uint8_t *q, *qend;

		if (!der_read(p, (size_t)(end - p), &set) || set.tag != 0x31)
			return false;
		for (q = set.val, qend = set.val + set.len; q < qend;
		     q += atv.total) {
			if (n >= MAX_ENTRIES ||
			    !der_read(q, (size_t)(qend - q), &atv) ||
			    atv.tag != 0x30 ||
			    !der_read(atv.val, atv.len, &oid) ||
			    oid.tag != 0x06 ||
			    !der_read(
			        oid.val + oid.len, atv.len - oid.total, &val) ||
			    oid.total + val.total != atv.len)
				return false;
			ents[n].oid = oid.val;
			ents[n].oid_len = oid.len;
			ents[n].oid_tlv = atv.val;
			ents[n].oid_total = oid.total;
			ents[n].val = oid.val + oid.len;
			ents[n].val_len = val.total;
			ents[n].tag = val.tag;
			ents[n].content = val.val;
			ents[n].content_len = val.len;
			ents[n].set = nset;
			if (is_cn(&ents[n]))
				last_cn = n;
			n++;
		}
		nset++;
	}
	/* RFC 4514 order: last RDN first; "+" inside a multi-valued RDN. */
	for (int i = n - 1; i >= 0; i--) {
		char buf[128];
		bool known;
		const char *fn = field_name(&ents[i], buf, sizeof(buf), &known);

		if (i != n - 1)
			ck_buf_addc(
			    out, ents[i].set == ents[i + 1].set ? '+' : ',');
		ck_buf_adds(out, fn);
		ck_buf_addc(out, '=');
		size_t mark = out->len;
		if (!known ||
		    !value_text(out, ents[i].tag, ents[i].content,
		        ents[i].content_len, true)) {
			out->len = mark;
			dump(out, ents[i].val, ents[i].val_len);
		}
	}
	if (cn != NULL && last_cn >= 0) {
		struct ck_buf t = CK_BUF_INIT;
		const struct entry *e = &ents[last_cn];
		if (value_text(&t, e->tag, e->content, e->content_len, false))
			*cn = ck_buf_detach(&t, NULL);
		ck_buf_release(&t);
	}
	return true;
}
