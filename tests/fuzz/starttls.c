/*
 * libFuzzer harness for the STARTTLS dialogues (src/discovery/starttls.c),
 * which read what scanned servers send. The first byte picks the protocol
 * (modulo 7, 0 being direct TLS) and seeds the cutting; the rest is the
 * server's bytes, fed once whole and once in pseudo-random pieces. Both
 * must end in the same step having sent the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "discovery/starttls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum ck_starttls_step
feed(enum ck_starttls_proto p, const uint8_t *in, size_t n, uint32_t seed,
    struct ck_buf *out)
{
	struct ck_starttls s;
	struct ck_err err = {0};
	enum ck_starttls_step st;
	size_t off = 0;

	ck_starttls_init(&s, p);
	st = ck_starttls_next(&s, NULL, 0, out, &err);
	while (off < n && (st == CK_STARTTLS_MORE || st == CK_STARTTLS_READY)) {
		size_t k = n - off;

		if (seed != 0) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			k = 1 + seed % (seed & 1 ? 8 : 600);
			if (k > n - off)
				k = n - off;
		}
		st = ck_starttls_next(&s, in + off, k, out, &err);
		off += k;
	}
	/* A final step always carries its reason. */
	if ((st == CK_STARTTLS_REFUSED || st == CK_STARTTLS_ERROR) &&
	    (err.code == 0 || err.msg[0] == '\0'))
		abort();
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ck_buf a = CK_BUF_INIT, b = CK_BUF_INIT;
	enum ck_starttls_proto p;
	enum ck_starttls_step whole, pieces;

	if (size < 1)
		return 0;
	p = (enum ck_starttls_proto)(data[0] % 7);
	whole = feed(p, data + 1, size - 1, 0, &a);
	pieces = feed(p, data + 1, size - 1, 0x9e3779b9u ^ data[0], &b);
	if (whole != pieces || a.len != b.len ||
	    (a.len > 0 && memcmp(a.p, b.p, a.len) != 0) || a.len > 64)
		abort();
	ck_buf_release(&a);
	ck_buf_release(&b);
	return 0;
}
