/*
 * libFuzzer harness for the outside-bytes path of the certificate model:
 * ck_x509_ingest over arbitrary input, then the full parse of every
 * certificate and request it hands out, as an import does.
 */
#include <stddef.h>
#include <stdint.h>

#include "x509/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
item(void *ctx, const struct ck_item *it)
{
	struct ck_cert *c;
	struct ck_csr *r;

	(void)ctx;
	switch (it->kind) {
	case CK_ITEM_CERT:
		if (ck_x509_parse(
		        it->der, it->der_len, CK_PARSE_FULL, &c, NULL) == 0)
			ck_cert_free(c);
		break;
	case CK_ITEM_CSR:
		if (ck_x509_csr_parse(it->der, it->der_len, &r, NULL) == 0)
			ck_csr_free(r);
		break;
	default: break;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ck_strlist pw;
	static int ready;
	struct ck_ingest_opts opts;
	struct ck_err err;

	if (!ready) {
		ck_x509_init();
		/* A password, so the try-each-password loop is reached. */
		ck_strlist_add(&pw, "certkeep");
		ready = 1;
	}
	opts.passwords = &pw;
	(void)ck_x509_ingest(data, size, &opts, item, NULL, &err);
	return 0;
}
