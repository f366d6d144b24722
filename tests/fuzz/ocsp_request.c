/*
 * libFuzzer harness for OCSP requests, the bytes the responder takes from
 * anyone: ck_ocsp_request_parse over arbitrary input.
 */
#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"
#include "x509/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct ck_ocsp_request req;

	if (!init) {
		ck_x509_init();
		init = 1;
	}
	(void)ck_ocsp_request_parse(data, size, &req, NULL);
	return 0;
}
