/*
 * A minimal DER reader used to recognise formats and to read key sizes
 * without decoding keys. Bounded: it never reads past the bytes it is given.
 */
#include "x509/x509_int.h"

bool
der_read(const uint8_t *p, size_t n, struct der_tlv *t)
{
	size_t hdr = 2, len;

	if (n < 2)
		return false;
	t->tag = p[0];
	if ((p[0] & 0x1f) == 0x1f) /* high tag numbers: not in our formats */
		return false;
	len = p[1];
	if (len & 0x80) {
		size_t nb = len & 0x7f;

		if (nb == 0 || nb > 4 || n < 2 + nb)
			return false;
		len = 0;
		for (size_t i = 0; i < nb; i++)
			len = (len << 8) | p[2 + i];
		if (len < 128 || (nb > 1 && p[2] == 0)) /* not minimal */
			return false;
		hdr += nb;
	}
	if (len > n - hdr)
		return false;
	t->val = p + hdr;
	t->len = len;
	t->total = hdr + len;
	return true;
}
