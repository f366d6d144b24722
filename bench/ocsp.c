/*
 * bench/ocsp: OCSP responses per second through ck_ocsp_respond, from the
 * cache of signed responses (RFC 5019 requests: one certificate, no nonce)
 * and signed fresh (requests with a nonce, which must be), on one thread
 * and on two, beside the limit measured in the same run: OpenSSL alone
 * building and signing the same response (OCSP_basic_sign, P-256 responder
 * key) with nothing looked up. BENCH_OCSP_N sets the requests per run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "ca/ca.h"
#include "lifecycle/lifecycle.h"
#include "store/store.h"
#include "x509/x509.h"

#define CERTS 500 /* distinct certificates asked about */

static char dir[] = "/tmp/ck-bench-ocsp-XXXXXX";
static char url[256];

struct reqs {
	unsigned char *der[CERTS];
	int len[CERTS];
};

static _Noreturn void
die(const char *what, const struct ck_err *err)
{
	fprintf(stderr, "bench/ocsp: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

static X509 *
x509_of(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	if (x == NULL)
		die("certificate", NULL);
	return x;
}

static int
ca_cert_id(void *ctx, const struct ck_ca_row *ca)
{
	*(int64_t *)ctx = ca->cert_id;
	return 0;
}

static int
row_x509(void *ctx, const struct ck_cert_row *row)
{
	*(X509 **)ctx = x509_of(row->der, row->der_len);
	return 0;
}

/* Issues CERTS certificates and makes a request for each, with and
 * without a nonce. */
static void
setup(struct reqs *plain, struct reqs *nonce)
{
	struct ck_ca_init_opts o = {0};
	struct ck_store *st;
	struct ck_err err = {0};
	X509 *issuer = NULL;
	int64_t id = 0;

	if (ck_store_open(url, &st, &err) != 0)
		die("open", &err);
	o.name = "bench";
	o.actor = "bench";
	if (ck_ca_init(st, &o, &err) != 0)
		die("ca init", &err);
	if (ck_store_ca_get(st, "bench", ca_cert_id, &id, &err) != 0 ||
	    ck_store_cert_get(st, id, row_x509, &issuer, &err) != 0)
		die("CA certificate", &err);
	for (int i = 0; i < CERTS; i++) {
		struct ck_enroll_req req = {0};
		struct ck_enroll_res res;
		struct ck_buf key = CK_BUF_INIT;
		char cn[64];
		const char *sans[] = {cn};
		uint8_t *csr;
		size_t len;
		X509 *x;

		snprintf(cn, sizeof(cn), "ocsp%d.bench.example", i);
		if (ck_make_key_and_csr(
		        "ec-p256", cn, sans, 1, &csr, &len, &key, &err) != 0)
			die("csr", &err);
		req.ca = "bench";
		req.profile = "tls-server";
		req.csr = csr;
		req.csr_len = len;
		req.requested_by = "bench";
		if (ck_enroll(st, &req, &res, &err) != 0)
			die("enroll", &err);
		x = x509_of(res.der, res.der_len);
		for (int n = 0; n < 2; n++) {
			OCSP_REQUEST *q = OCSP_REQUEST_new();
			struct reqs *to = n ? nonce : plain;

			OCSP_request_add0_id(
			    q, OCSP_cert_to_id(EVP_sha1(), x, issuer));
			if (n)
				OCSP_request_add1_nonce(q, NULL, 16);
			to->der[i] = NULL;
			to->len[i] = i2d_OCSP_REQUEST(q, &to->der[i]);
			OCSP_REQUEST_free(q);
		}
		X509_free(x);
		free(csr);
		ck_buf_release_secret(&key);
		ck_enroll_res_release(&res);
	}
	X509_free(issuer);
	ck_store_free(st);
}

struct work {
	struct reqs *r;
	int n;
	int from;
};

static void *
respond_loop(void *arg)
{
	struct work *w = arg;
	struct ck_store *st;
	struct ck_err err = {0};

	if (ck_store_open(url, &st, &err) != 0)
		die("open", &err);
	for (int i = 0; i < w->n; i++) {
		int k = (w->from + i) % CERTS;
		uint8_t *resp;
		size_t len;

		if (ck_ocsp_respond(st, NULL, NULL, w->r->der[k],
		        (size_t)w->r->len[k], &resp, &len, &err) != 0)
			die("respond", &err);
		free(resp);
	}
	ck_store_free(st);
	return NULL;
}

/* The limit: what OpenSSL alone does to answer, nothing looked up. */
struct limit {
	X509 *cert;
	EVP_PKEY *key;
	struct reqs *r;
	int n;
};

static void *
limit_loop(void *arg)
{
	struct limit *l = arg;
	ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
	ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + 86400);

	for (int i = 0; i < l->n; i++) {
		const unsigned char *p = l->r->der[i % CERTS];
		OCSP_REQUEST *q =
		    d2i_OCSP_REQUEST(NULL, &p, l->r->len[i % CERTS]);
		OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
		OCSP_RESPONSE *o;
		unsigned char *der = NULL;

		OCSP_basic_add1_status(bs,
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(q, 0)),
		    V_OCSP_CERTSTATUS_GOOD, 0, NULL, now, next);
		OCSP_copy_nonce(bs, q);
		if (!OCSP_basic_sign(
		        bs, l->cert, l->key, EVP_sha256(), NULL, 0))
			die("limit sign", NULL);
		o = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
		i2d_OCSP_RESPONSE(o, &der);
		OPENSSL_free(der);
		OCSP_RESPONSE_free(o);
		OCSP_BASICRESP_free(bs);
		OCSP_REQUEST_free(q);
	}
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	return NULL;
}

static double
run(void *(*fn)(void *), void *args, size_t size, int threads, int n)
{
	pthread_t t[2];
	uint64_t a = ck_mono_ns();

	for (int i = 0; i < threads; i++)
		pthread_create(
		    &t[i], NULL, fn, (char *)args + (size_t)i * size);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return n / ((double)(ck_mono_ns() - a) / 1e9);
}

static double
run_respond(struct reqs *r, int threads, int n)
{
	struct work w[2];

	for (int i = 0; i < threads; i++) {
		w[i].r = r;
		w[i].n = n / threads;
		w[i].from = i * CERTS / threads;
	}
	return run(respond_loop, w, sizeof(w[0]), threads, n);
}

static double
run_limit(struct reqs *r, int threads, int n)
{
	struct limit l[2];
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	double rate;

	/* A responder certificate of the same shape as certkeep's. */
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (unsigned char *)"limit OCSP Responder", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	for (int i = 0; i < threads; i++) {
		l[i].cert = x;
		l[i].key = key;
		l[i].r = r;
		l[i].n = n / threads;
	}
	rate = run(limit_loop, l, sizeof(l[0]), threads, n);
	X509_free(x);
	EVP_PKEY_free(key);
	return rate;
}

int
main(void)
{
	const char *e = getenv("BENCH_OCSP_N");
	int n = e ? atoi(e) : 20000;
	struct reqs *plain = calloc(1, sizeof(*plain));
	struct reqs *nonce = calloc(1, sizeof(*nonce));
	double c1, c2, f1, f2, l1, l2;
	char path[300];

	ck_x509_init();
	if (n < 100)
		n = 100;
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", NULL);
	snprintf(url, sizeof(url), "sqlite:%s/inv.db", dir);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	setenv("CERTKEEP_MASTER_KEY_FILE", path, 1);
	setup(plain, nonce);
	/* Warm: the responder is made and every good answer cached. */
	run_respond(plain, 1, CERTS);
	printf("machine: %ld cpus, %s; %d responses per run; %d "
	       "certificates; responder key P-256\n",
	    sysconf(_SC_NPROCESSORS_ONLN), OpenSSL_version(OPENSSL_VERSION), n,
	    CERTS);
	c1 = run_respond(plain, 1, n);
	c2 = run_respond(plain, 2, n);
	f1 = run_respond(nonce, 1, n);
	f2 = run_respond(nonce, 2, n);
	l1 = run_limit(nonce, 1, n);
	l2 = run_limit(nonce, 2, n);
	printf("%-52s %10s %10s\n", "OCSP responses per second", "1 thread",
	    "2 threads");
	printf("%-52s %10.0f %10.0f\n",
	    "certkeep ck_ocsp_respond, cached (no nonce)", c1, c2);
	printf("%-52s %10.0f %10.0f\n",
	    "certkeep ck_ocsp_respond, signed fresh (nonce)", f1, f2);
	printf("%-52s %10.0f %10.0f\n",
	    "limit: OpenSSL parse + OCSP_basic_sign, fresh", l1, l2);
	printf("target >= 25,000 fresh-signed responses/s on 2 cores: %s\n",
	    f2 >= 25000 ? "met" : "MISSED");
	for (int i = 0; i < CERTS; i++) {
		OPENSSL_free(plain->der[i]);
		OPENSSL_free(nonce->der[i]);
	}
	free(plain);
	free(nonce);
	ck_ca_cache_clear();
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	return system(path) == 0 ? 0 : 1;
}
