/*
 * The import benchmark: how fast `certkeep import` takes a million
 * certificates into its inventory on one core, against what a tool on
 * OpenSSL's usual API does (d2i_X509) and against certkeep's own parser
 * alone, then how fast the filled inventory lists and counts them.
 * Certificates come from the cache that gen.c writes once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "gen.h"
#include "x509/x509.h"

#define GEN_PROCS 2 /* the machine's 2 cores are shared: no more */
#define BEST_OF 3
#define DAY 86400

/* Targets from the issue. */
#define T_IMPORT_RATE 50000.0
#define T_PEER_RATIO 5.0
#define T_QUERY_MS 200.0
#define T_RSS_MIB 200.0

/* Every certificate's DER, decoded once before anything is timed. */
struct set {
	uint8_t *der;
	size_t *off; /* n + 1 offsets into der */
	long n;
};

/* One child process: wall time and what wait4() says of it. */
struct run {
	double wall;
	double cpu; /* user + system seconds */
	long maxrss_kib;
	long nivcsw; /* preempted: how much the core was shared */
	int status;
};

static _Noreturn void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's CPU time: on a shared machine, the figure that others'
 * load does not move (much). */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall and CPU seconds of one timed loop. */
struct span {
	double wall, cpu;
};

/* 1234567.8 as "1,234,568": a million is easier to read grouped. */
static const char *
grouped(double v, char *buf, size_t len)
{
	char raw[32];
	size_t n, o = 0;

	snprintf(raw, sizeof(raw), "%.0f", v);
	n = strlen(raw);
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && raw[i - 1] != '-' && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

/* The machine is shared: the load beside the figures says how much. */
static void
load_average(const char *when)
{
	char buf[128] = "unknown";
	FILE *f;

	if ((f = fopen("/proc/loadavg", "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			snprintf(buf, sizeof(buf), "unknown\n");
		fclose(f);
	}
	printf("load:    %s (1, 5, 15 min, runnable/all): %s", when, buf);
}

static void
machine_info(void)
{
	char line[512], model[256] = "unknown";
	struct utsname u;
	FILE *f;

	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char *c = strchr(line, ':');
			if (strncmp(line, "model name", 10) == 0 && c != NULL) {
				snprintf(model, sizeof(model), "%s", c + 2);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	uname(&u);
	printf("machine: %ld cpus online, %s\n", sysconf(_SC_NPROCESSORS_ONLN),
	    model);
	printf("kernel:  %s %s %s\n", u.sysname, u.release, u.machine);
	printf("openssl: %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("sqlite:  %s (linked into this bench)\n", sqlite3_libversion());
	load_average("at start");
}

/* ---- loading the cache ---- */

static uint8_t *
slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) != 0)
		die("%s: cannot open", path);
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		abort();
	for (size_t got = 0; got < (size_t)st.st_size;) {
		ssize_t k = read(fd, p + got, (size_t)st.st_size - got);
		if (k <= 0)
			die("%s: short read", path);
		got += (size_t)k;
	}
	close(fd);
	p[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	return p;
}

/* Appends the DER of each PEM block of text to s. Our own files, so a
 * plain line scan is enough. */
static void
add_pem(
    struct set *s, long max, size_t *used, const char *text, const char *path)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end[] = "-----END CERTIFICATE-----";
	const char *p = text, *e;
	char *b64 = NULL;
	size_t cap = 0;

	while ((p = strstr(p, begin)) != NULL) {
		size_t k = 0;
		int pad = 0, got;

		p += sizeof(begin) - 1;
		if ((e = strstr(p, end)) == NULL)
			die("%s: unterminated PEM block", path);
		if ((size_t)(e - p) > cap) {
			cap = (size_t)(e - p);
			if ((b64 = realloc(b64, cap + 1)) == NULL)
				abort();
		}
		for (; p < e; p++)
			if (*p != '\n')
				b64[k++] = *p;
		while (k > (size_t)pad && b64[k - 1 - (size_t)pad] == '=')
			pad++;
		got = EVP_DecodeBlock(
		    s->der + *used, (unsigned char *)b64, (int)k);
		if (got < 0)
			die("%s: bad base64", path);
		if (s->n >= max)
			die("%s: more certificates than expected", path);
		*used += (size_t)(got - pad);
		s->off[++s->n] = *used;
	}
	free(b64);
}

static void
load(const char *dir, long n, struct set *s)
{
	long nfiles = (n + GEN_PER_FILE - 1) / GEN_PER_FILE;
	size_t total = 0, used = 0, len;
	char path[4096];
	struct stat st;

	/* DER is smaller than its PEM, so the files' sizes bound the arena. */
	for (long f = 0; f < nfiles; f++) {
		bench_pathf(path, sizeof(path), "%s/certs/%04ld.pem", dir, f);
		if (stat(path, &st) != 0)
			die("%s: missing", path);
		total += (size_t)st.st_size;
	}
	s->der = malloc(total);
	s->off = calloc((size_t)n + 2, sizeof(*s->off));
	s->n = 0;
	if (s->der == NULL || s->off == NULL)
		abort();
	for (long f = 0; f < nfiles; f++) {
		uint8_t *text;

		bench_pathf(path, sizeof(path), "%s/certs/%04ld.pem", dir, f);
		text = slurp(path, &len);
		add_pem(s, n, &used, (const char *)text, path);
		free(text);
	}
	if (s->n != n) {
		fprintf(stderr, "bench: cache holds %ld of %ld certificates\n",
		    s->n, n);
		exit(1);
	}
}

/* ---- (a) and (b): parsing in this process, one thread ---- */

static struct span
peer(const struct set *s, long *bad)
{
	static volatile uint8_t sink;
	uint8_t md[32];
	double t0 = now_s(), c0 = cpu_s();

	*bad = 0;
	for (long i = 0; i < s->n; i++) {
		const uint8_t *d = s->der + s->off[i];
		size_t len = s->off[i + 1] - s->off[i];
		const unsigned char *p = d;
		X509 *x = d2i_X509(NULL, &p, (long)len);

		if (x == NULL)
			(*bad)++;
		SHA256(d, len, md);
		sink ^= md[0];
		X509_free(x);
	}
	return (struct span){now_s() - t0, cpu_s() - c0};
}

/* ck_x509_parse computes the SHA-256 (and SHA-1) fingerprint itself, so
 * hashing again here would count it twice. Keeps each not_after, to know
 * what `list --expiring 30d` should return when it runs. */
static struct span
limit(const struct set *s, long *bad, int64_t *not_after)
{
	struct ck_err err = {0};
	double t0 = now_s(), c0 = cpu_s();

	*bad = 0;
	for (long i = 0; i < s->n; i++) {
		struct ck_cert *c;

		not_after[i] = INT64_MIN;
		if (ck_x509_parse(s->der + s->off[i], s->off[i + 1] - s->off[i],
		        CK_PARSE_CORE, &c, &err) != 0) {
			(*bad)++;
			continue;
		}
		not_after[i] = c->not_after;
		ck_cert_free(c);
	}
	return (struct span){now_s() - t0, cpu_s() - c0};
}

/* Counted at the moment of asking: over a run of minutes a few
 * certificates cross each edge of the window. */
static void
count_expiry(const int64_t *not_after, long n, long *expired, long *expiring)
{
	int64_t now = (int64_t)time(NULL);

	*expired = *expiring = 0;
	for (long i = 0; i < n; i++) {
		if (not_after[i] < now)
			(*expired)++;
		else if (not_after[i] < now + 30 * DAY)
			(*expiring)++;
	}
}

/* ---- (c) and (d): the certkeep binary as a child process ---- */

/* Runs argv with stdout and stderr into files (NULL: /dev/null), pinned
 * to cpu when cpu >= 0, and waits for it. */
static void
run(char *const argv[], int cpu, const char *out, const char *err,
    struct run *res)
{
	struct rusage ru;
	double t0 = now_s();
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fo = open(out ? out : "/dev/null",
		    O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err ? err : "/dev/null",
		    O_WRONLY | O_CREAT | O_TRUNC, 0644);

		/* Pinned before exec, so the whole run is on one core. */
		if (cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set) != 0)
				_exit(126);
		}
		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &res->status, 0, &ru) != pid)
		die("wait4: %s", strerror(errno));
	res->wall = now_s() - t0;
	res->cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	res->maxrss_kib = ru.ru_maxrss;
	res->nivcsw = ru.ru_nivcsw;
}

static bool
run_ok(const struct run *r)
{
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

/* Prints the last lines of a file, where a failing child says why. */
static void
tail(const char *path, int lines, const char *title)
{
	size_t len, start;
	uint8_t *p = slurp(path, &len);
	int seen = 0;

	/* Back over `lines` line breaks, not counting a final one. */
	start = len > 0 && p[len - 1] == '\n' ? len - 1 : len;
	while (start > 0 && seen < lines)
		if (p[--start] == '\n')
			seen++;
	if (seen == lines)
		start++;
	printf("---- %s\n%s%s", title ? title : path, (char *)p + start,
	    len > 0 && p[len - 1] != '\n' ? "\n" : "");
	free(p);
}

static void
report_failure(
    const char *what, const struct run *r, const char *out, const char *err)
{
	if (WIFEXITED(r->status))
		printf("%s: exit status %d\n", what, WEXITSTATUS(r->status));
	else
		printf("%s: killed by signal %d\n", what, WTERMSIG(r->status));
	if (out != NULL)
		tail(out, 20, NULL);
	if (err != NULL)
		tail(err, 20, NULL);
}

/* Elements of the first JSON array in the text: top-level commas. */
static long
json_rows(const char *path)
{
	size_t len;
	char *p = (char *)slurp(path, &len);
	int depth = 0, at = -1;
	bool str = false, any = false;
	long commas = 0;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
			else if (depth == at)
				any = true;
			continue;
		}
		if (c == '"')
			str = true;
		if (c == '[' || c == '{') {
			if (c == '[' && at < 0)
				at = depth + 1;
			else if (depth == at)
				any = true;
			depth++;
		} else if (c == ']' || c == '}') {
			if (depth-- == at)
				break;
		} else if (depth == at && c == ',')
			commas++;
		else if (depth == at && c > ' ')
			any = true;
	}
	free(p);
	return at < 0 ? -1 : any ? commas + 1 : 0;
}

/* Best wall time of BEST_OF runs, in ms; -1 if a run fails. */
static double
best_ms(char *const argv[], const char *what, const char *out_err)
{
	double best = -1;
	struct run r;

	for (int i = 0; i < BEST_OF; i++) {
		run(argv, -1, NULL, out_err, &r);
		if (!run_ok(&r)) {
			report_failure(what, &r, NULL, out_err);
			return -1;
		}
		if (best < 0 || r.wall < best)
			best = r.wall;
	}
	return best * 1e3;
}

/* True when the binary is there and has an import command. */
static bool
certkeep_ready(const char *bin, const char *tmp)
{
	char out[4096], *argv[] = {(char *)bin, "--help", NULL};
	struct run r;
	size_t len;
	uint8_t *p;
	bool ok;

	if (access(bin, X_OK) != 0)
		return false;
	bench_pathf(out, sizeof(out), "%s/help.txt", tmp);
	run(argv, -1, out, out, &r);
	p = slurp(out, &len);
	ok = strstr((char *)p, "import") != NULL;
	free(p);
	return ok;
}

/* The CPU the import runs on: the last one this process may use. */
static int
pick_cpu(void)
{
	cpu_set_t set;
	int cpu = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				cpu = i;
	return cpu;
}

static void
rmtree_flat(const char *dir)
{
	char path[4096];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		bench_pathf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}
/* What one run measured, for the table. */
struct figures {
	long n, expired, expiring, rows, want_rows;
	int64_t *not_after; /* of each certificate, from (b) */
	struct span ta, tb; /* (a) and (b) */
	bool ready, imported; /* certkeep has an import command; it worked */
	struct run imp;
	double list_ms, stats_ms, statsj_ms; /* -1: failed */
};

static const char *
verdict(bool measured, bool ok)
{
	return !measured ? "n/a" : ok ? "MET" : "MISSED";
}

static void
row(const char *step, const char *figure, const char *target, const char *v)
{
	printf("%-34s %22s   %-20s %s\n", step, figure, target, v);
}

static void
table(const struct figures *f, const char *bin)
{
	double ra = (double)f->n / f->ta.wall, rb = (double)f->n / f->tb.wall;
	double rc = (double)f->n / f->imp.wall;
	double ca = (double)f->n / f->ta.cpu, cc = (double)f->n / f->imp.cpu;
	double mib = (double)f->imp.maxrss_kib / 1024;
	char g[32], fig[64], want[64];

	printf("\n%ld certificates (a third each RSA-2048, P-256, Ed25519): "
	       "%ld expired, %ld expire within 30 days\n\n",
	    f->n, f->expired, f->expiring);
	row("step", "figure", "target", "");
	snprintf(fig, sizeof(fig), "%s certs/s", grouped(ra, g, sizeof(g)));
	row("(a) peer: d2i_X509 + SHA-256", fig, "", "");
	snprintf(fig, sizeof(fig), "%s certs/s", grouped(ca, g, sizeof(g)));
	row("    per cpu second", fig, "", "");
	snprintf(fig, sizeof(fig), "%s certs/s", grouped(rb, g, sizeof(g)));
	row("(b) limit: ck_x509_parse CORE", fig, "", "");
	snprintf(fig, sizeof(fig), "%s certs/s",
	    grouped((double)f->n / f->tb.cpu, g, sizeof(g)));
	row("    per cpu second", fig, "", "");
	if (!f->imported) {
		if (f->ready)
			printf("(c), (d): the import failed (see above)\n");
		else
			printf("(c), (d): not measured; once `%s --help` "
			       "lists import, run `make bench` at the top\n",
			    bin);
		return;
	}
	snprintf(fig, sizeof(fig), "%s certs/s", grouped(rc, g, sizeof(g)));
	row("(c) certkeep import, 1 core", fig, ">= 50,000 certs/s",
	    verdict(true, rc >= T_IMPORT_RATE));
	snprintf(fig, sizeof(fig), "%.2f s", f->imp.wall);
	row("    wall time", fig, "", "");
	snprintf(fig, sizeof(fig), "%.2f s", f->imp.cpu);
	row("    cpu time (user + system)", fig, "", "");
	/* On a shared core wall time includes others' turns; this does not. */
	snprintf(fig, sizeof(fig), "%s certs/s", grouped(cc, g, sizeof(g)));
	row("    per cpu second", fig, "", "");
	snprintf(fig, sizeof(fig), "%ld", f->imp.nivcsw);
	row("    involuntary context switches", fig, "", "");
	snprintf(fig, sizeof(fig), "%.2f x", rc / ra);
	row("    (c)/(a)", fig, ">= 5x",
	    verdict(true, rc / ra >= T_PEER_RATIO));
	snprintf(fig, sizeof(fig), "%.2f x", cc / ca);
	row("    (c)/(a) per cpu second", fig, "", "");
	snprintf(fig, sizeof(fig), "%.2f x", rc / rb);
	row("    (c)/(b)", fig, "(share of the limit)", "");
	snprintf(fig, sizeof(fig), "%.1f MiB", mib);
	row("    peak RSS of the import", fig, "< 200 MiB",
	    verdict(true, mib < T_RSS_MIB));
	snprintf(fig, sizeof(fig), "%.1f ms", f->list_ms);
	row("(d) list --expiring 30d --json", fig, "< 200 ms",
	    verdict(f->list_ms >= 0, f->list_ms < T_QUERY_MS));
	snprintf(fig, sizeof(fig), "%ld", f->rows);
	snprintf(want, sizeof(want), "%ld expected", f->want_rows);
	row("    rows in its JSON array", fig, want,
	    f->rows == f->want_rows ? "same" : "DIFFERENT");
	snprintf(fig, sizeof(fig), "%.1f ms", f->stats_ms);
	row("(d) stats", fig, "< 200 ms",
	    verdict(f->stats_ms >= 0, f->stats_ms < T_QUERY_MS));
	snprintf(fig, sizeof(fig), "%.1f ms", f->statsj_ms);
	row("(d) stats --json", fig, "< 200 ms",
	    verdict(f->statsj_ms >= 0, f->statsj_ms < T_QUERY_MS));
}

/* (d): the queries a user runs on the filled inventory. Returns 0 or -1. */
static int
queries(const char *bin, char *db, const char *tmp, struct figures *f)
{
	char *list[] = {(char *)bin, "--db", db, "list", "--expiring", "30d",
	    "--json", NULL};
	char *stats[] = {(char *)bin, "--db", db, "stats", NULL};
	char *statsj[] = {(char *)bin, "--db", db, "stats", "--json", NULL};
	char out[4200], err[4200];
	long expired;
	struct run r;

	bench_pathf(out, sizeof(out), "%s/list.json", tmp);
	bench_pathf(err, sizeof(err), "%s/err.txt", tmp);
	printf("(d) list, stats, stats --json: best of %d ...\n", BEST_OF);
	/* Once into a file to count rows; the timed runs go to /dev/null. */
	count_expiry(f->not_after, f->n, &expired, &f->want_rows);
	run(list, -1, out, err, &r);
	if (!run_ok(&r)) {
		report_failure("certkeep list", &r, out, err);
		return -1;
	}
	f->rows = json_rows(out);
	bench_pathf(out, sizeof(out), "%s/stats.txt", tmp);
	run(stats, -1, out, err, &r);
	if (run_ok(&r))
		tail(out, 60, "certkeep stats");
	f->list_ms = best_ms(list, "certkeep list", err);
	f->stats_ms = best_ms(stats, "certkeep stats", err);
	f->statsj_ms = best_ms(statsj, "certkeep stats --json", err);
	if (f->list_ms < 0 || f->stats_ms < 0 || f->statsj_ms < 0 ||
	    f->rows < 0)
		return -1;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: import [-c cache-root] [-k certkeep-binary]\n"
	    "  BENCH_N=count (default 1000000) sizes the set;\n"
	    "  BENCH_KEEP=1 keeps the temporary database.\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *root = "cache", *bin = "../build/release/certkeep";
	const char *env = getenv("BENCH_N"), *tmpdir = getenv("TMPDIR");
	char dir[4096], certs[4200], tmp[4096], db[4200], out[4200], err[4200],
	    g[32];
	struct figures f = {.n = 1000000, .rows = -1};
	long bad_a, bad_b;
	int opt, cpu, rc = 0;
	struct set s;
	double t;

	while ((opt = getopt(argc, argv, "c:k:h")) != -1) {
		if (opt == 'c')
			root = optarg;
		else if (opt == 'k')
			bin = optarg;
		else
			usage();
	}
	if (env != NULL && (f.n = strtol(env, NULL, 10)) <= GEN_N_CA)
		die("BENCH_N=%s: must be a count above the CAs", env);
	setvbuf(stdout, NULL, _IOLBF, 0);
	machine_info();
	ck_x509_init();

	/* A different count has its own folder, so each stays reusable. */
	bench_pathf(dir, sizeof(dir), "%s/n%ld", root, f.n);
	bench_pathf(certs, sizeof(certs), "%s/certs", dir);
	if (gen_cache_complete(dir, f.n)) {
		printf("cache:   %s (%ld certificates, reused)\n", dir, f.n);
	} else {
		printf("cache:   generating %ld certificates into %s with %d "
		       "processes\n",
		    f.n, dir, GEN_PROCS);
		t = now_s();
		if (gen_cache(dir, f.n, GEN_PROCS) != 0)
			die("%s: generation failed", dir);
		t = now_s() - t;
		printf("cache:   generated in %.1f s (%s certs/s)\n", t,
		    grouped((double)f.n / t, g, sizeof(g)));
	}
	t = now_s();
	load(dir, f.n, &s);
	printf("decode:  %ld certificates, %.1f MiB of DER, %.1f s\n", s.n,
	    (double)s.off[s.n] / (1 << 20), now_s() - t);

	printf("(a) d2i_X509 + SHA-256 ...\n");
	f.ta = peer(&s, &bad_a);
	printf("(b) ck_x509_parse(CK_PARSE_CORE) ...\n");
	if ((f.not_after = calloc((size_t)f.n, sizeof(*f.not_after))) == NULL)
		abort();
	f.tb = limit(&s, &bad_b, f.not_after);
	count_expiry(f.not_after, f.n, &f.expired, &f.expiring);
	if (bad_a != 0 || bad_b != 0) {
		printf("parse failures: d2i_X509 %ld, ck_x509_parse %ld\n",
		    bad_a, bad_b);
		rc = 1;
	}
	/* The import is measured for its memory: give ours back first. */
	free(s.der);
	free(s.off);

	bench_pathf(tmp, sizeof(tmp), "%s/certkeep-bench-XXXXXX",
	    tmpdir != NULL ? tmpdir : "/tmp");
	if (mkdtemp(tmp) == NULL)
		die("mkdtemp: %s", strerror(errno));
	bench_pathf(db, sizeof(db), "sqlite:%s/inv.db", tmp);
	bench_pathf(out, sizeof(out), "%s/out.txt", tmp);
	bench_pathf(err, sizeof(err), "%s/err.txt", tmp);
	cpu = pick_cpu();
	if ((f.ready = certkeep_ready(bin, tmp))) {
		char *argv_imp[] = {(char *)bin, "--db", db, "import", "-r",
		    "--quiet", certs, NULL};

		printf("(c) certkeep import on cpu %d ...\n", cpu);
		run(argv_imp, cpu, out, err, &f.imp);
		f.imported = run_ok(&f.imp);
		if (f.imported) {
			tail(out, 10, "certkeep import (its summary)");
		} else {
			report_failure("certkeep import", &f.imp, out, err);
			rc = 1;
		}
	} else {
		printf(
		    "(c), (d): %s has no import command yet: skipped\n", bin);
	}
	if (f.imported && queries(bin, db, tmp, &f) != 0)
		rc = 1;
	if (getenv("BENCH_KEEP") == NULL)
		rmtree_flat(tmp);
	else
		printf("kept:    %s\n", tmp);
	load_average("at end");
	table(&f, bin);
	free(f.not_after);
	return rc;
}
