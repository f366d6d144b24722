/*
 * PEM and base64: the tolerant text side of ingest (many blocks, text around
 * them, CRLF, whitespace inside the base64), and the encoder for output.
 */
#include "x509/x509.h"
#include "x509/x509_int.h"

#include <string.h>

static int8_t b64val[256];
static bool b64init;

static void
init_table(void)
{
	const char *a =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	memset(b64val, -1, sizeof(b64val));
	for (int i = 0; i < 64; i++)
		b64val[(unsigned char)a[i]] = (int8_t)i;
	b64init = true;
}

bool
b64_decode(const char *s, size_t n, struct ck_buf *out)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	if (!b64init)
		init_table();
	ck_buf_reset(out);
	ck_buf_reserve(out, n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '\f' || c == '\v')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || b64val[c] < 0) /* data after padding, or junk */
			return false;
		acc = (acc << 6) | (uint32_t)b64val[c];
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->p[out->len++] = (char)((acc >> bits) & 0xff);
		}
	}
	out->p[out->len] = '\0';
	/* Leftover bits must be padding zeros; 6 stray bits mean a cut. */
	if (bits >= 6 || pad > 2)
		return false;
	return out->len > 0;
}

void
ck_pem_encode(const char *label, const uint8_t *der, size_t len,
    struct ck_buf *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;

	ck_buf_printf(out, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)der[i] << 16;
		size_t rem = len - i;
		char q[4];

		if (rem > 1)
			v |= (uint32_t)der[i + 1] << 8;
		if (rem > 2)
			v |= der[i + 2];
		q[0] = a[(v >> 18) & 63];
		q[1] = a[(v >> 12) & 63];
		q[2] = rem > 1 ? a[(v >> 6) & 63] : '=';
		q[3] = rem > 2 ? a[v & 63] : '=';
		ck_buf_add(out, q, 4);
		col += 4;
		if (col == 64) {
			ck_buf_addc(out, '\n');
			col = 0;
		}
	}
	if (col)
		ck_buf_addc(out, '\n');
	ck_buf_printf(out, "-----END %s-----\n", label);
}
