/*
 * PEM and base64: the tolerant text side of ingest (many blocks, text around
 * them, CRLF, whitespace inside the base64), and the encoder for output.
 */
#include "x509/x509.h"
#include "x509/x509_int.h"

#include <string.h>

/*
 * Base64 digit values, -1 for junk and -2 for whitespace. A constant table
 * (not one filled on first use, which raced when two threads ingested at
 * once); the decode is a hot path of bulk imports.
 */
/* clang-format off */
#define J -1
#define W -2
static const int8_t b64val[256] = {
    J, J, J, J, J, J, J, J, J, W, W, W, W, W, J, J, /* \t \n \v \f \r */
    J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J,
    W, J, J, J, J, J, J, J, J, J, J, 62, J, J, J, 63, /* space + / */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, J, J, J, J, J, J,
    J, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, J, J, J, J, J,
    J, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, J, J, J, J, J,
    J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J,
    J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J,
    J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J,
    J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J,
    J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J,
    J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J,
    J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J,
    J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J,
};
#undef J
#undef W
/* clang-format on */

bool
b64_decode(const char *s, size_t n, struct ck_buf *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	uint8_t *o;
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	ck_buf_reset(out);
	ck_buf_reserve(out, n / 4 * 3 + 3);
	o = (uint8_t *)out->p;
	while (p < end) {
		int v;

		/* Fast path: four digits in a row, the body of every line. */
		if (bits == 0 && pad == 0 && end - p >= 4) {
			int a = b64val[p[0]], b = b64val[p[1]],
			    c = b64val[p[2]], d = b64val[p[3]];
			if ((a | b | c | d) >= 0) {
				uint32_t q = (uint32_t)a << 18 |
				    (uint32_t)b << 12 | (uint32_t)c << 6 |
				    (uint32_t)d;
				o[0] = (uint8_t)(q >> 16);
				o[1] = (uint8_t)(q >> 8);
				o[2] = (uint8_t)q;
				o += 3;
				p += 4;
				continue;
			}
		}
		v = b64val[*p++];
		if (v == -2)
			continue;
		if (p[-1] == '=') {
			pad++;
			continue;
		}
		if (pad || v < 0) /* data after padding, or junk */
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (uint8_t)((acc >> bits) & 0xff);
		}
	}
	out->len = (size_t)(o - (uint8_t *)out->p);
	out->p[out->len] = '\0';
	/* Leftover bits must be padding zeros; 6 stray bits mean a cut. */
	if (bits >= 6 || pad > 2)
		return false;
	return out->len > 0;
}

static const char b64digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
ck_base64_encode(const uint8_t *p, size_t len, struct ck_buf *out)
{
	const char *a = b64digits;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t rem = len - i;
		char q[4];

		if (rem > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (rem > 2)
			v |= p[i + 2];
		q[0] = a[(v >> 18) & 63];
		q[1] = a[(v >> 12) & 63];
		q[2] = rem > 1 ? a[(v >> 6) & 63] : '=';
		q[3] = rem > 2 ? a[v & 63] : '=';
		ck_buf_add(out, q, 4);
	}
}

bool
ck_base64_decode(const char *s, size_t n, struct ck_buf *out)
{
	return b64_decode(s, n, out);
}

void
ck_pem_encode(
    const char *label, const uint8_t *der, size_t len, struct ck_buf *out)
{
	const char *a = b64digits;
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
