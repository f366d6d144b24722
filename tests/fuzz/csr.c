/*
 * libFuzzer harness for certificate requests as the enroll path reads
 * them: DER straight into ck_x509_csr_parse, then every profile's key
 * check, as `certkeep issue --csr` and (later) ACME finalize and EST do.
 */
#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"
#include "x509/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[] = {"tls-server", "tls-client",
	    "code-signing", "email", "device", "sub-ca"};
	static int init;
	struct ck_csr *csr = NULL;

	if (!init) {
		ck_x509_init();
		init = 1;
	}
	if (ck_x509_csr_parse(data, size, &csr, NULL) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		(void)ck_profile_check_key(ck_profile_find(profiles[i]),
		    csr->key_type, csr->key_bits, csr->curve, NULL);
	ck_csr_free(csr);
	return 0;
}
