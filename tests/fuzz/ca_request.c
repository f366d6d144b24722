/*
 * libFuzzer harness for the CA's own request reader (src/ca/request.c):
 * the fast path that reads the key as bytes and builds the verifying key
 * from its parameters, falling back to the reference reader. What it
 * accepts is put into a certificate as enroll does, and must agree with
 * the reference reader (ck_x509_csr_parse) on acceptance and key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca/ca_int.h"
#include "x509/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct ca_request q;
	struct ck_csr *ref = NULL;
	unsigned char *spki = NULL;
	X509 *x;

	if (!init) {
		ck_x509_init();
		init = 1;
	}
	if (ca_request_read(data, size, &q, NULL) != 0)
		return 0;
	/* Accepted: the reference reader accepts it too, with the same key. */
	if (ck_x509_csr_parse(data, size, &ref, NULL) != 0 ||
	    !ref->signature_ok || strcmp(ref->key_type, q.key_type) != 0 ||
	    strcmp(ref->curve, q.curve) != 0 || ref->key_bits != q.key_bits)
		abort();
	ck_csr_free(ref);
	/* Its key bytes into a certificate, as ck_ca_sign does. */
	x = X509_new();
	if (ca_request_set_pubkey(&q, x, NULL) == 0 &&
	    i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki) <= 0)
		abort();
	OPENSSL_free(spki);
	X509_free(x);
	for (size_t i = 0; i < q.n_sans; i++)
		if (q.sans[i].value == NULL)
			abort();
	ca_request_release(&q);
	return 0;
}
