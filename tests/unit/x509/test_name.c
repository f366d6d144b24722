/*
 * Unit tests for src/x509/name.c: the RFC 4514 text made from the DER of a
 * Name must equal what OpenSSL prints with XN_FLAG_RFC2253 without
 * ASN1_STRFLGS_ESC_MSB, for awkward values and for every name of the
 * system trust store.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "x509/x509_int.h"

static void
same_as_openssl(X509_NAME *nm)
{
	unsigned char *der = NULL;
	int len = i2d_X509_NAME(nm, &der);
	BIO *b = BIO_new(BIO_s_mem());
	struct ck_buf o = CK_BUF_INIT;
	char *want, *cn = NULL;
	long n;

	cr_assert_gt(len, 0);
	X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_get_mem_data(b, &want);
	cr_assert(name_format(der, (size_t)len, &o, &cn));
	cr_assert_eq(
	    (size_t)n, o.len, "want '%.*s' got '%s'", (int)n, want, o.p);
	cr_assert(memcmp(want, o.p, (size_t)n) == 0, "want '%.*s' got '%s'",
	    (int)n, want, o.p);
	free(cn);
	ck_buf_release(&o);
	BIO_free(b);
	OPENSSL_free(der);
}

Test(name, escapes_like_openssl)
{
	const char *vals[] = {" lead", "trail ", "#hash", "a,b+c\"d\\e<f>g;h",
	    "#", " ", "x\001y", "caf\xc3\xa9", "a=b", "mid#dle", "x"};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		X509_NAME *nm = X509_NAME_new();

		X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
		    (const unsigned char *)vals[i], -1, -1, 0);
		X509_NAME_add_entry_by_txt(nm, "O", V_ASN1_PRINTABLESTRING,
		    (const unsigned char *)"Org", -1, -1, 0);
		/* A multi-valued RDN, an unknown attribute, a BMPString and
		 * a T61String with a Latin-1 byte. */
		X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_ASC,
		    (const unsigned char *)"multi", -1, -1, 1);
		X509_NAME_add_entry_by_txt(nm, "1.2.3.4", MBSTRING_ASC,
		    (const unsigned char *)"odd", -1, -1, 0);
		X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_BMP,
		    (const unsigned char *)"\x00\x41\x20\xac", 4, -1, 0);
		X509_NAME_add_entry_by_txt(nm, "L", V_ASN1_T61STRING,
		    (const unsigned char *)"M\xfcnchen", -1, -1, 0);
		same_as_openssl(nm);
		X509_NAME_free(nm);
	}
}

Test(name, last_cn_as_utf8)
{
	X509_NAME *nm = X509_NAME_new();
	unsigned char *der = NULL;
	struct ck_buf o = CK_BUF_INIT;
	char *cn = NULL;
	int len;

	X509_NAME_add_entry_by_txt(
	    nm, "CN", MBSTRING_ASC, (const unsigned char *)"first", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_BMP,
	    (const unsigned char *)"\x00\x41\x20\xac", 4, -1, 0);
	len = i2d_X509_NAME(nm, &der);
	cr_assert(name_format(der, (size_t)len, &o, &cn));
	cr_assert_str_eq(cn, "A\xe2\x82\xac");
	cr_assert_str_eq(o.p, "CN=A\xe2\x82\xac,CN=first");
	free(cn);
	ck_buf_release(&o);
	OPENSSL_free(der);
	X509_NAME_free(nm);
}

Test(name, malformed_der_is_refused)
{
	struct ck_buf o = CK_BUF_INIT;
	/* SEQUENCE { SET { SEQUENCE { OID 2.5.4.3 } } }: no value. */
	const uint8_t bad[] = {
	    0x30, 0x09, 0x31, 0x07, 0x30, 0x05, 0x06, 0x03, 0x55, 0x04, 0x03};
	const uint8_t cut[] = {0x30, 0x09, 0x31, 0x07};

	cr_assert(!name_format(bad, sizeof(bad), &o, NULL));
	cr_assert(!name_format(cut, sizeof(cut), &o, NULL));
	cr_assert(!name_format((const uint8_t *)"\x31\x00", 2, &o, NULL));
	ck_buf_release(&o);
}

Test(name, system_trust_store_names)
{
	const char *dir = "/usr/share/ca-certificates/mozilla";
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	cr_assert_not_null(d, "%s is needed (ca-certificates)", dir);
	while ((e = readdir(d)) != NULL) {
		char path[512];
		FILE *f;
		X509 *x;

		if (strstr(e->d_name, ".crt") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
			same_as_openssl(X509_get_subject_name(x));
			same_as_openssl(X509_get_issuer_name(x));
			X509_free(x);
			n++;
		}
		fclose(f);
	}
	closedir(d);
	cr_assert_gt(n, 50);
}
