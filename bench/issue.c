/*
 * bench/issue: issuance through enroll (policy, CA signature, inventory
 * record, audit event, committed) on one thread and on two, beside the
 * limit (OpenSSL alone: CSR verify, certificate build, P-256 sign) and the
 * peer (`openssl ca` issuing the same CSRs). BENCH_ISSUE_N sets the count.
 * The limit is the straightforward OpenSSL sequence (d2i_X509_REQ, which
 * decodes the key, and X509_set_pubkey); certkeep keeps the key as bytes
 * (src/ca/request.c) and so can pass it. The batched lines go through
 * ck_enroll_batch, BENCH_ISSUE_BATCH (100) requests per commit; the others
 * commit each request. OCSP figures: bench/ocsp.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "ca/ca.h"
#include "lifecycle/lifecycle.h"
#include "store/store.h"
#include "x509/x509.h"

#define POOL 16

static char dir[] = "/tmp/ck-bench-issue-XXXXXX";
static char url[256];

static _Noreturn void
die(const char *what, const struct ck_err *err)
{
	fprintf(stderr, "bench/issue: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

static double
secs(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e9;
}

/* n CSRs (DER) for distinct names over a small pool of keys. */
static unsigned char **
make_csrs(int n, const char *alg, size_t **lens)
{
	EVP_PKEY *keys[POOL];
	unsigned char **v = calloc((size_t)n, sizeof(*v));

	*lens = calloc((size_t)n, sizeof(**lens));
	for (int i = 0; i < POOL; i++)
		keys[i] = strcmp(alg, "rsa") == 0
		    ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
		    : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	for (int i = 0; i < n; i++) {
		X509_REQ *r = X509_REQ_new();
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		char cn[64], san[80];
		int len;

		snprintf(cn, sizeof(cn), "host%d.bench.example", i);
		snprintf(san, sizeof(san), "DNS:%s", cn);
		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
		    MBSTRING_ASC, (unsigned char *)cn, -1, -1, 0);
		sk_X509_EXTENSION_push(exts,
		    X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san));
		X509_REQ_add_extensions(r, exts);
		X509_REQ_set_pubkey(r, keys[i % POOL]);
		X509_REQ_sign(r, keys[i % POOL], EVP_sha256());
		v[i] = NULL;
		len = i2d_X509_REQ(r, &v[i]);
		(*lens)[i] = (size_t)len;
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		X509_REQ_free(r);
	}
	for (int i = 0; i < POOL; i++)
		EVP_PKEY_free(keys[i]);
	return v;
}

struct work {
	unsigned char **csr;
	size_t *len;
	int from, to;
	int batch; /* requests per commit */
};

/* Requests [from, to) through ck_enroll_batch, batch at a time. */
static void
enroll_batches(struct ck_store *st, const struct work *w)
{
	struct ck_enroll_req *req = calloc((size_t)w->batch, sizeof(*req));
	struct ck_enroll_res *res = calloc((size_t)w->batch, sizeof(*res));
	int *codes = calloc((size_t)w->batch, sizeof(*codes));
	struct ck_err *errs = calloc((size_t)w->batch, sizeof(*errs));

	for (int i = w->from; i < w->to; i += w->batch) {
		int k = w->to - i < w->batch ? w->to - i : w->batch;

		for (int j = 0; j < k; j++) {
			req[j].ca = "bench";
			req[j].profile = "tls-server";
			req[j].csr = w->csr[i + j];
			req[j].csr_len = w->len[i + j];
			req[j].requested_by = "bench";
		}
		if (ck_enroll_batch(st, req, (size_t)k, res, codes, errs) != 0)
			die("enroll batch", &errs[0]);
		for (int j = 0; j < k; j++) {
			if (codes[j] != 0)
				die("enroll batch", &errs[j]);
			ck_enroll_res_release(&res[j]);
		}
	}
	free(req);
	free(res);
	free(codes);
	free(errs);
}

static void *
enroll_range(void *arg)
{
	struct work *w = arg;
	struct ck_store *st;
	struct ck_err err = {0};

	if (ck_store_open(url, &st, &err) != 0)
		die("open", &err);
	if (w->batch > 1) {
		enroll_batches(st, w);
		ck_store_free(st);
		return NULL;
	}
	for (int i = w->from; i < w->to; i++) {
		struct ck_enroll_req req = {0};
		struct ck_enroll_res res;

		req.ca = "bench";
		req.profile = "tls-server";
		req.csr = w->csr[i];
		req.csr_len = w->len[i];
		req.requested_by = "bench";
		if (ck_enroll(st, &req, &res, &err) != 0)
			die("enroll", &err);
		ck_enroll_res_release(&res);
	}
	ck_store_free(st);
	return NULL;
}

static double
run_enroll(
    unsigned char **csr, size_t *len, int from, int n, int threads, int batch)
{
	pthread_t t[2];
	struct work w[2];
	uint64_t a = ck_mono_ns();

	for (int i = 0; i < threads; i++) {
		w[i].csr = csr;
		w[i].len = len;
		w[i].from = from + i * n / threads;
		w[i].to = from + (i + 1) * n / threads;
		w[i].batch = batch;
		pthread_create(&t[i], NULL, enroll_range, &w[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return n / secs(a, ck_mono_ns());
}

/* The limit: what OpenSSL alone does per issuance, no store. */
static double
run_limit(unsigned char **csr, size_t *len, int n)
{
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_NAME *issuer = X509_NAME_new();
	uint64_t a;

	X509_NAME_add_entry_by_txt(
	    issuer, "CN", MBSTRING_ASC, (unsigned char *)"limit", -1, -1, 0);
	a = ck_mono_ns();
	for (int i = 0; i < n; i++) {
		const unsigned char *p = csr[i];
		X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)len[i]);
		EVP_PKEY *k = X509_REQ_get0_pubkey(r);
		X509 *x = X509_new();

		if (X509_REQ_verify(r, k) != 1)
			die("limit verify", NULL);
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), i + 1);
		X509_set_subject_name(x, X509_REQ_get_subject_name(r));
		X509_set_issuer_name(x, issuer);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 90);
		X509_set_pubkey(x, k);
		X509_sign(x, ca, EVP_sha256());
		X509_free(x);
		X509_REQ_free(r);
	}
	EVP_PKEY_free(ca);
	X509_NAME_free(issuer);
	return n / secs(a, ck_mono_ns());
}

/* The peer: `openssl ca` over the same CSRs, in one run. */
static double
run_openssl_ca(unsigned char **csr, size_t *len, int n)
{
	char cmd[8192];
	FILE *f;
	uint64_t a;

	snprintf(cmd, sizeof(cmd),
	    "cd %s && mkdir -p peer/new && cd peer && touch index.txt && "
	    "echo 01 > serial && openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj "
	    "/CN=peer -days 30 2>/dev/null && printf '[ca]\\ndefault_ca=d\\n"
	    "[d]\\ndir=.\\ndatabase=index.txt\\nserial=serial\\nnew_certs_dir="
	    "new\\ncertificate=ca.pem\\nprivate_key=ca.key\\ndefault_md="
	    "sha256\\npolicy=p\\ndefault_days=90\\nunique_subject=no\\n[p]\\n"
	    "commonName=supplied\\n' > ca.cnf",
	    dir);
	if (system(cmd) != 0)
		die("openssl ca set-up", NULL);
	/* openssl ca -infiles takes PEM files; write one per request. */
	for (int i = 0; i < n; i++) {
		const unsigned char *p = csr[i];
		X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)len[i]);
		snprintf(cmd, sizeof(cmd), "%s/peer/r%d.csr", dir, i);
		f = fopen(cmd, "w");
		PEM_write_X509_REQ(f, r);
		fclose(f);
		X509_REQ_free(r);
	}
	snprintf(cmd, sizeof(cmd),
	    "cd %s/peer && openssl ca -batch -config ca.cnf -notext -out "
	    "out.pem -infiles $(ls r*.csr) >/dev/null 2>&1",
	    dir);
	a = ck_mono_ns();
	if (system(cmd) != 0)
		die("openssl ca", NULL);
	return n / secs(a, ck_mono_ns());
}

int
main(void)
{
	const char *e = getenv("BENCH_ISSUE_N");
	const char *eb = getenv("BENCH_ISSUE_BATCH");
	int n = e ? atoi(e) : 2000, batch = eb ? atoi(eb) : 100;
	struct ck_ca_init_opts o = {0};
	struct ck_store *st;
	struct ck_err err = {0};
	unsigned char **ec, **rsa;
	size_t *ec_len, *rsa_len;
	char path[300];
	double r1, r2, rr, b1, b2, lim, peer;
	char line[80];

	ck_x509_init();
	if (n < 10)
		n = 10;
	if (batch < 2)
		batch = 2;
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", NULL);
	snprintf(url, sizeof(url), "sqlite:%s/inv.db", dir);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	setenv("CERTKEEP_MASTER_KEY_FILE", path, 1);
	if (ck_store_open(url, &st, &err) != 0)
		die("open", &err);
	o.name = "bench";
	o.actor = "bench";
	if (ck_ca_init(st, &o, &err) != 0)
		die("ca init", &err);
	ck_store_free(st);
	printf("machine: %ld cpus, %s; %d issuances per run; CA key P-256\n",
	    sysconf(_SC_NPROCESSORS_ONLN), OpenSSL_version(OPENSSL_VERSION), n);
	ec = make_csrs(5 * n, "ec", &ec_len);
	rsa = make_csrs(n, "rsa", &rsa_len);
	r1 = run_enroll(ec, ec_len, 0, n, 1, 1);
	r2 = run_enroll(ec, ec_len, n, n, 2, 1);
	rr = run_enroll(rsa, rsa_len, 0, n, 1, 1);
	b1 = run_enroll(ec, ec_len, 3 * n, n, 1, batch);
	b2 = run_enroll(ec, ec_len, 4 * n, n, 2, batch);
	lim = run_limit(ec, ec_len, n);
	peer = run_openssl_ca(ec + 2 * n, ec_len + 2 * n, n);
	printf("%-48s %12s\n", "step", "per second");
	printf("%-48s %12.0f\n", "certkeep enroll, P-256 CSR, 1 thread", r1);
	printf("%-48s %12.0f\n", "certkeep enroll, P-256 CSR, 2 threads", r2);
	printf("%-48s %12.0f\n", "certkeep enroll, RSA-2048 CSR, 1 thread", rr);
	snprintf(line, sizeof(line), "batched (%d per commit), P-256, 1 thread",
	    batch);
	printf("%-48s %12.0f\n", line, b1);
	snprintf(line, sizeof(line),
	    "batched (%d per commit), P-256, 2 threads", batch);
	printf("%-48s %12.0f\n", line, b2);
	printf("%-48s %12.0f\n",
	    "limit: OpenSSL verify + build + sign, 1 thread", lim);
	printf("%-48s %12.0f\n", "peer: openssl ca -infiles, 1 process", peer);
	printf("target >= 5,000 durable P-256 issuances/s on 2 cores: %s "
	       "per request, %s batched\n",
	    r2 >= 5000 ? "met" : "MISSED", b2 >= 5000 ? "met" : "MISSED");
	printf("(commits use WAL with synchronous=FULL: each is fsynced, "
	       "durable against a power cut)\n");
	for (int i = 0; i < 5 * n; i++)
		OPENSSL_free(ec[i]);
	for (int i = 0; i < n; i++)
		OPENSSL_free(rsa[i]);
	free(ec);
	free(rsa);
	free(ec_len);
	free(rsa_len);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	return system(path) == 0 ? 0 : 1;
}
