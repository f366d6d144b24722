/*
 * libFuzzer harness for the OpenSSH key parser (src/discovery/ssh.c): the
 * input as a raw key blob, then as text lines of an authorized_keys file
 * (options, type, base64, comment), printing what a scan prints.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "discovery/discovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
print(const struct ck_ssh_line *l)
{
	struct ck_buf b = CK_BUF_INIT;

	ck_ssh_fp_line(l, &b);
	if (l->key.is_cert)
		ck_ssh_validity(&l->key, &b);
	ck_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ck_ssh_line l;
	const char *p = (const char *)data, *end = p + size;

	memset(&l, 0, sizeof(l));
	if (ck_ssh_key_parse(data, size, &l.key, NULL) == 0) {
		print(&l);
		ck_ssh_key_release(&l.key);
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (ck_ssh_line_parse(p, n, &l, NULL) == 0) {
			print(&l);
			ck_ssh_line_release(&l);
		}
		p += n + 1;
	}
	return 0;
}
