/*
 * bench/acme-drive: complete ACME orders per second against one server,
 * driven by certkeep's own ACME client (the "acme" issuer connector that
 * renewals use), for bench/acme.sh with CLIENT=c. A client that costs
 * little CPU per order, so that on 2 shared cores the server's own cost
 * shows, where npm acme-client (acme_drive.js) bounds both columns.
 *
 *   acme-drive --dir URL --ca ROOT.pem --n N --warmup S --duration S
 *       --http01 PORT [--label NAME] [--pids PID,...]
 *
 * One account (ECDSA P-256, made by the first order), N threads, each a
 * loop of orders: a new P-256 key and a CSR for a name no other order
 * uses (c<thread>-<seq>-<pid>.acme.bench.test), then the connector's
 * issue(): directory, newNonce, newOrder, the authorization, http-01 (the
 * connector writes the token under a webroot, which this program serves
 * on 127.0.0.1:PORT from a thread of its own), finalize, polls, the
 * chain download; the leaf is parsed and its name checked. Each order
 * reuses one TLS connection (the connector's fetch session). The
 * connector polls with its own backoff (250 ms first), as it does with
 * a real CA, so N must be large enough to keep the server busy.
 *
 * Prints one JSON line on stdout with the fields acme_drive.js prints
 * (those the connector does not count are null), so that acme_drive.js
 * --line and --table read it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/clock.h"
#include "base/file.h"
#include "issuer/acme.h"
#include "issuer/issuer.h"

#define MAX_THREADS 1024
#define MAX_ORDERS 1000000
#define ERR_KINDS 8

static struct {
	const char *dir, *ca, *label, *pids;
	int n, warmup, duration, http01;
} opt = {.n = 1, .warmup = 3, .duration = 15, .label = "server"};

static char webroot[256];
static char *trust;
static const struct ck_issuer_ops *ops;
static struct ck_issuer_def account; /* the first order's, copied */
static atomic_bool stop;
static uint64_t t_start, t_from, t_to; /* ns, monotonic */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double *lat; /* ms of counted orders */
static size_t n_lat;
static long errors;
static struct {
	char msg[160];
	long n;
} err_kinds[ERR_KINDS];

static _Noreturn void
die(const char *what)
{
	fprintf(stderr, "acme-drive: %s\n", what);
	exit(1);
}

/* ---- the http-01 responder: files of the webroot ---- */

static void
http_cb(struct evhttp_request *req, void *arg)
{
	static const char pre[] = "/.well-known/acme-challenge/";
	const char *uri = evhttp_request_get_uri(req), *tok;
	struct evbuffer *b = evbuffer_new();
	char path[512], body[512];
	FILE *f;
	size_t k = 0;

	(void)arg;
	if (strncmp(uri, pre, sizeof(pre) - 1) != 0)
		goto nf;
	tok = uri + sizeof(pre) - 1;
	if (*tok == '\0' ||
	    strspn(tok,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	        "qrstuvwxyz0123456789-_") != strlen(tok))
		goto nf;
	snprintf(path, sizeof(path), "%s%s%s", webroot, pre, tok);
	if ((f = fopen(path, "r")) == NULL)
		goto nf;
	k = fread(body, 1, sizeof(body), f);
	fclose(f);
	evbuffer_add(b, body, k);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
	return;
nf:
	evhttp_send_reply(req, 404, "Not Found", b);
	evbuffer_free(b);
}

static void *
responder(void *arg)
{
	struct event_base *base = arg;
	event_base_dispatch(base);
	return NULL;
}

static void
responder_start(void)
{
	struct event_base *base = event_base_new();
	struct evhttp *h = base ? evhttp_new(base) : NULL;
	pthread_t t;

	if (h == NULL ||
	    evhttp_bind_socket(h, "127.0.0.1", (uint16_t)opt.http01) != 0)
		die("cannot listen on the http-01 port");
	evhttp_set_gencb(h, http_cb, NULL);
	if (pthread_create(&t, NULL, responder, base) != 0)
		die("thread");
	pthread_detach(t);
}

/* ---- one order ---- */

static int
make_csr(const char *name, uint8_t **der, int *len)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_REQ *q = X509_REQ_new();
	X509_NAME *sub = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	char san[300];
	X509_EXTENSION *e;
	int ok;

	snprintf(san, sizeof(san), "DNS:%s", name);
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	if (exts == NULL || e == NULL) {
		X509_EXTENSION_free(e);
		e = NULL;
	}
	ok = k && q && sub && exts && e &&
	    X509_NAME_add_entry_by_txt(sub, "CN", MBSTRING_ASC,
	        (const unsigned char *)name, -1, -1, 0) &&
	    X509_REQ_set_subject_name(q, sub) && X509_REQ_set_pubkey(q, k) &&
	    sk_X509_EXTENSION_push(exts, e) &&
	    X509_REQ_add_extensions(q, exts) &&
	    X509_REQ_sign(q, k, EVP_sha256()) > 0;
	*der = NULL;
	*len = ok ? i2d_X509_REQ(q, der) : -1;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(sub);
	X509_REQ_free(q);
	EVP_PKEY_free(k);
	return *len > 0 ? 0 : -1;
}

static void
count_error(const char *msg)
{
	pthread_mutex_lock(&mu);
	errors++;
	for (int i = 0; i < ERR_KINDS; i++) {
		if (err_kinds[i].n == 0)
			snprintf(err_kinds[i].msg, sizeof(err_kinds[i].msg),
			    "%s", msg);
		if (strcmp(err_kinds[i].msg, msg) == 0) {
			err_kinds[i].n++;
			break;
		}
	}
	pthread_mutex_unlock(&mu);
}

/* One order for name with def: 0 when a leaf for name came back. */
static int
order(struct ck_issuer_def *def, const char *name)
{
	const char *names[1] = {name};
	struct ck_issued out = {0};
	struct ck_err err = {0};
	uint8_t *csr;
	int len, r;

	if (make_csr(name, &csr, &len) != 0) {
		count_error("making the CSR failed");
		return -1;
	}
	struct ck_issue_request req = {csr, (size_t)len, names, 1, 0, NULL, 0};
	r = ops->issue(def, &req, &out, &err);
	OPENSSL_free(csr);
	if (r != 0) {
		count_error(err.msg);
	} else {
		const uint8_t *p = out.der;
		X509 *x = d2i_X509(NULL, &p, (long)out.der_len);
		if (x == NULL || X509_check_host(x, name, 0, 0, NULL) != 1) {
			count_error("the certificate does not name the order's "
			            "name");
			r = -1;
		}
		X509_free(x);
	}
	ck_issued_release(&out);
	return r;
}

static void
def_init(struct ck_issuer_def *d)
{
	memset(d, 0, sizeof(*d));
	d->name = strdup("bench");
	d->type = strdup("acme");
	d->directory = strdup(opt.dir);
	d->trust_pem = strdup(trust);
	d->challenge = strdup("http-01");
	d->webroot = strdup(webroot);
}

static void *
loop(void *arg)
{
	long id = (long)arg;
	struct ck_issuer_def d;
	char name[128];

	def_init(&d);
	d.account_url = strdup(account.account_url);
	ck_buf_add(&d.account_key_pem, account.account_key_pem.p,
	    account.account_key_pem.len);
	for (long seq = 0; !atomic_load(&stop); seq++) {
		uint64_t t0 = ck_mono_ns(), t1;
		snprintf(name, sizeof(name), "c%ld-%ld-%ld.acme.bench.test", id,
		    seq, (long)getpid());
		if (order(&d, name) != 0) {
			/* a server that is down is not hammered */
			struct timespec pause = {0, 100000000};
			nanosleep(&pause, NULL);
			continue;
		}
		t1 = ck_mono_ns();
		if (t1 >= t_from && t1 < t_to) {
			pthread_mutex_lock(&mu);
			if (n_lat < MAX_ORDERS)
				lat[n_lat++] = (double)(t1 - t0) / 1e6;
			pthread_mutex_unlock(&mu);
		}
	}
	ck_issuer_def_release(&d);
	return NULL;
}

/* ---- CPU, from /proc ---- */

static double
pid_cpu(const char *pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	size_t k;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	k = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[k] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* after ") ": state is field 3; utime and stime are 14 and 15 */
	if (sscanf(p + 2,
	        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
	        &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
pids_cpu(void)
{
	char buf[1024], *save = NULL, *tok;
	double s = 0;

	snprintf(buf, sizeof(buf), "%s", opt.pids ? opt.pids : "");
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		s += pid_cpu(tok);
	return s;
}

static double
all_cpu(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	        &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		v[0] = 0;
	fclose(f);
	/* busy: all but idle (3) and iowait (4) */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	    (double)sysconf(_SC_CLK_TCK);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: acme-drive --dir URL --ca ROOT.pem --n N "
	    "--warmup S --duration S --http01 PORT [--label NAME] "
	    "[--pids PID,...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	struct ck_buf tb = CK_BUF_INIT;
	struct ck_err err = {0};
	char sub[300];

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (strcmp(k, "--dir") == 0)
			opt.dir = v;
		else if (strcmp(k, "--ca") == 0)
			opt.ca = v;
		else if (strcmp(k, "--label") == 0)
			opt.label = v;
		else if (strcmp(k, "--pids") == 0)
			opt.pids = v;
		else if (strcmp(k, "--n") == 0)
			opt.n = atoi(v);
		else if (strcmp(k, "--warmup") == 0)
			opt.warmup = atoi(v);
		else if (strcmp(k, "--duration") == 0)
			opt.duration = atoi(v);
		else if (strcmp(k, "--http01") == 0)
			opt.http01 = atoi(v);
		else
			usage();
	}
	if (argc % 2 == 0 || opt.dir == NULL || opt.ca == NULL ||
	    opt.http01 <= 0 || opt.n < 1 || opt.n > MAX_THREADS ||
	    opt.duration < 1)
		usage();
	if (ck_file_read(opt.ca, 1 << 20, &tb, &err) != 0)
		die(err.msg);
	trust = strndup(tb.p, tb.len);
	snprintf(webroot, sizeof(webroot), "%s/acme-drive.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(webroot) == NULL)
		die("mkdtemp");
	snprintf(sub, sizeof(sub), "%s/.well-known", webroot);
	mkdir(sub, 0755);
	snprintf(sub, sizeof(sub), "%s/.well-known/acme-challenge", webroot);
	mkdir(sub, 0755);
	if ((ops = ck_issuer_ops_find("acme")) == NULL)
		die("no acme connector");
	lat = calloc(MAX_ORDERS, sizeof(*lat));
	responder_start();

	/* the account, made once by a first order (not counted) */
	def_init(&account);
	{
		char name[128];
		snprintf(name, sizeof(name), "first-%ld.acme.bench.test",
		    (long)getpid());
		if (order(&account, name) != 0 || account.account_url == NULL)
			die(err_kinds[0].msg[0] ? err_kinds[0].msg
			                        : "the first order failed");
		errors = 0;
	}

	t_start = ck_mono_ns();
	t_from = t_start + (uint64_t)opt.warmup * 1000000000u;
	t_to = t_from + (uint64_t)opt.duration * 1000000000u;
	for (long i = 0; i < opt.n; i++)
		if (pthread_create(&th[i], NULL, loop, (void *)i) != 0)
			die("thread");
	struct timespec w = {opt.warmup, 0};
	nanosleep(&w, NULL);
	double c_srv0 = pids_cpu(), c_all0 = all_cpu();
	struct timespec c0, c1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	w = (struct timespec){opt.duration, 0};
	nanosleep(&w, NULL);
	double c_srv1 = pids_cpu(), c_all1 = all_cpu();
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	atomic_store(&stop, true);
	for (long i = 0; i < opt.n; i++)
		pthread_join(th[i], NULL);

	double secs = opt.duration;
	double srv = c_srv1 - c_srv0;
	double cli = (double)(c1.tv_sec - c0.tv_sec) +
	    (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	double other = (c_all1 - c_all0) - srv - cli;
	qsort(lat, n_lat, sizeof(*lat), cmp_d);
	double p50 = n_lat ? lat[n_lat / 2] : 0;
	double p99 = n_lat ? lat[(size_t)((double)n_lat * 0.99)] : 0;
	printf("{\"label\":");
	json_str(opt.label);
	printf(
	    ",\"client\":\"certkeep acme connector\",\"n\":%d,\"orders\":%zu,"
	    "\"secs\":%.3f,\"rate\":%.3f,\"p50\":%.3f,\"p99\":%.3f,"
	    "\"errors\":%ld,\"errSamples\":{",
	    opt.n, n_lat, secs, (double)n_lat / secs, p50, p99, errors);
	for (int i = 0, first = 1; i < ERR_KINDS && err_kinds[i].n; i++) {
		printf(first ? "" : ",");
		json_str(err_kinds[i].msg);
		printf(":%ld", err_kinds[i].n);
		first = 0;
	}
	printf("},\"badNonce\":%lu,\"polls\":null,\"requestsPerOrder\":null,"
	       "\"connectionsPerOrder\":null,",
	    ck_acme_nonce_retries());
	if (n_lat)
		printf("\"serverCpuMsPerOrder\":%.3f,\"clientCpuMsPerOrder\":%."
		       "3f,",
		    srv * 1000 / (double)n_lat, cli * 1000 / (double)n_lat);
	else
		printf("\"serverCpuMsPerOrder\":null,\"clientCpuMsPerOrder\":"
		       "null,");
	printf("\"serverCpuCores\":%.3f,\"clientCpuCores\":%.3f,"
	       "\"otherCpuCores\":%.3f}\n",
	    srv / secs, cli / secs, other > 0 ? other / secs : 0);
	/* the token files the connector removed; the folders are ours */
	snprintf(sub, sizeof(sub), "%s/.well-known/acme-challenge", webroot);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/.well-known", webroot);
	rmdir(sub);
	rmdir(webroot);
	return n_lat > 0 ? 0 : 1;
}
