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
add_pem(struct set *s, long max, size_t *used, const char *text,
    const char *path)
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
		got = EVP_DecodeBlock(s->der + *used, (unsigned char *)b64,
		    (int)k);
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

static double
peer(const struct set *s, long *bad)
{
	static volatile uint8_t sink;
	uint8_t md[32];
	double t0 = now_s();

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
	return now_s() - t0;
}

/* ck_x509_parse computes the SHA-256 (and SHA-1) fingerprint itself, so
 * hashing again here would count it twice. Also counts what `list
 * --expiring 30d` should find, from the not_after it parsed. */
static double
limit(const struct set *s, long *bad, long *expiring, long *expired)
{
	int64_t now = (int64_t)time(NULL);
	struct ck_err err = {0};
	double t0 = now_s();

	*bad = *expiring = *expired = 0;
	for (long i = 0; i < s->n; i++) {
		struct ck_cert *c;

		if (ck_x509_parse(s->der + s->off[i], s->off[i + 1] - s->off[i],
			CK_PARSE_CORE, &c, &err) != 0) {
			(*bad)++;
			continue;
		}
		if (c->not_after < now)
			(*expired)++;
		else if (c->not_after < now + 30 * DAY)
			(*expiring)++;
		ck_cert_free(c);
	}
	return now_s() - t0;
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
}

static bool
run_ok(const struct run *r)
{
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

/* Prints the last lines of a file, where a failing child says why. */
static void
tail(const char *path, int lines)
{
	size_t len, i;
	uint8_t *p = slurp(path, &len);
	int seen = 0;

	for (i = len; i > 0 && seen <= lines; i--)
		if (p[i - 1] == '\n' && i != len)
			seen++;
	printf("---- %s (last %d lines)\n%s", path, lines,
	    (char *)p + (i > 0 ? i + 1 : 0));
	free(p);
}

static void
report_failure(const char *what, const struct run *r, const char *out,
    const char *err)
{
	if (WIFEXITED(r->status))
		printf("%s: exit status %d\n", what, WEXITSTATUS(r->status));
	else
		printf("%s: killed by signal %d\n", what, WTERMSIG(r->status));
	if (out != NULL)
		tail(out, 20);
	if (err != NULL)
		tail(err, 20);
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

static const char *
verdict(bool measured, bool ok)
{
	return !measured ? "n/a" : ok ? "MET" : "MISSED";
}

static void
usage(void)
{
	fprintf(stderr, "usage: import [-c cache-root] [-k certkeep-binary]\n"
			"  BENCH_N=count (default 1000000) sizes the set;\n"
			"  BENCH_KEEP=1 keeps the temporary database.\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *root = "cache", *bin = "../build/release/certkeep";
	const char *env = getenv("BENCH_N");
	char dir[4096], tmp[4096], db[4200], certs[4200], out[4200],
	    err[4200], g1[32], g2[32];
	long n = 1000000, bad_a, bad_b, expiring, expired, rows = -1;
	double t, ta, tb, list_ms = -1, stats_ms = -1, statsj_ms = -1;
	struct run imp = {0};
	bool have_ck, imported = false;
	int opt, cpu, rc = 0;
	struct set s;

	while ((opt = getopt(argc, argv, "c:k:h")) != -1) {
		if (opt == 'c')
			root = optarg;
		else if (opt == 'k')
			bin = optarg;
		else
			usage();
	}
	if (env != NULL && (n = strtol(env, NULL, 10)) <= GEN_N_CA)
		die("BENCH_N=%s: must be a count above the CAs", env);
	setvbuf(stdout, NULL, _IOLBF, 0);
	machine_info();
	ck_x509_init();

	/* A different count has its own folder, so each stays reusable. */
	bench_pathf(dir, sizeof(dir), "%s/n%ld", root, n);
	bench_pathf(certs, sizeof(certs), "%s/certs", dir);
	if (gen_cache_complete(dir, n)) {
		printf("cache:   %s (%ld certificates, reused)\n", dir, n);
	} else {
		printf("cache:   generating %ld certificates into %s with %d "
		       "processes\n", n, dir, GEN_PROCS);
		t = now_s();
		if (gen_cache(dir, n, GEN_PROCS) != 0)
			die("%s: generation failed", dir);
		t = now_s() - t;
		printf("cache:   generated in %.1f s (%s certs/s)\n", t,
		    grouped((double)n / t, g1, sizeof(g1)));
	}
	t = now_s();
	load(dir, n, &s);
	printf("load:    %ld certificates, %.1f MiB of DER, %.1f s\n", s.n,
	    (double)s.off[s.n] / (1 << 20), now_s() - t);

	printf("(a) d2i_X509 + SHA-256 ...\n");
	ta = peer(&s, &bad_a);
	printf("(b) ck_x509_parse(CK_PARSE_CORE) ...\n");
	tb = limit(&s, &bad_b, &expiring, &expired);
	if (bad_a != 0 || bad_b != 0) {
		printf("parse failures: d2i_X509 %ld, ck_x509_parse %ld\n",
		    bad_a, bad_b);
		rc = 1;
	}
	free(s.der);
	free(s.off);

	bench_pathf(tmp, sizeof(tmp), "%s/certkeep-bench-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp) == NULL)
		die("mkdtemp: %s", strerror(errno));
	bench_pathf(db, sizeof(db), "sqlite:%s/inv.db", tmp);
	bench_pathf(out, sizeof(out), "%s/out.txt", tmp);
	bench_pathf(err, sizeof(err), "%s/err.txt", tmp);
	cpu = pick_cpu();
	have_ck = certkeep_ready(bin, tmp);
	if (have_ck) {
		char *argv_imp[] = {(char *)bin, "--db", db, "import", "-r",
		    "--quiet", certs, NULL};

		printf("(c) certkeep import on cpu %d ...\n", cpu);
		run(argv_imp, cpu, out, err, &imp);
		imported = run_ok(&imp);
		if (!imported) {
			report_failure("certkeep import", &imp, out, err);
			rc = 1;
		}
	} else {
		printf("(c), (d): %s has no import command yet: skipped\n",
		    bin);
	}
	if (imported) {
		char *argv_list[] = {(char *)bin, "--db", db, "list",
		    "--expiring", "30d", "--json", NULL};
		char *argv_stats[] = {(char *)bin, "--db", db, "stats", NULL};
		char *argv_statsj[] = {(char *)bin, "--db", db, "stats",
		    "--json", NULL};
		char list_out[4200];
		struct run r;

		printf("(d) list, stats, stats --json: best of %d ...\n",
		    BEST_OF);
		bench_pathf(list_out, sizeof(list_out), "%s/list.json", tmp);
		run(argv_list, -1, list_out, err, &r);
		if (run_ok(&r))
			rows = json_rows(list_out);
		else
			report_failure("certkeep list", &r, list_out, err);
		run(argv_stats, -1, out, err, &r);
		if (run_ok(&r)) {
			printf("---- certkeep stats\n");
			tail(out, 30);
		}
		list_ms = best_ms(argv_list, "certkeep list", err);
		stats_ms = best_ms(argv_stats, "certkeep stats", err);
		statsj_ms = best_ms(argv_statsj, "certkeep stats --json", err);
		if (list_ms < 0 || stats_ms < 0 || statsj_ms < 0 || rows < 0)
			rc = 1;
	}
	if (getenv("BENCH_KEEP") == NULL)
		rmtree_flat(tmp);
	else
		printf("kept:    %s\n", tmp);

	{
		double ra = (double)n / ta, rb = (double)n / tb;
		double rc_ = imported ? (double)n / imp.wall : 0;
		double mib = (double)imp.maxrss_kib / 1024;
		char g3[32], lbuf[64];

		printf("\n%ld certificates (a third each RSA-2048, P-256, "
		       "Ed25519); %ld expired, %ld expire within 30 days\n\n",
		    n, expired, expiring);
		printf("%-34s %26s   %-18s %s\n", "step", "figure", "target",
		    "");
		printf("%-34s %18s certs/s   %-18s\n",
		    "(a) peer: d2i_X509 + SHA-256", grouped(ra, g1, sizeof(g1)),
		    "");
		printf("%-34s %18s certs/s   %-18s\n",
		    "(b) limit: ck_x509_parse CORE", grouped(rb, g2, sizeof(g2)),
		    "");
		if (imported) {
			printf("%-34s %18s certs/s   %-18s %s\n",
			    "(c) certkeep import, 1 core",
			    grouped(rc_, g3, sizeof(g3)), ">= 50,000",
			    verdict(true, rc_ >= T_IMPORT_RATE));
			printf("%-34s %18.2f s         %-18s\n",
			    "    wall time (cpu time)", imp.wall, "");
			printf("%-34s %18.2f s         %-18s\n", "", imp.cpu, "");
			printf("%-34s %18.2f x         %-18s %s\n",
			    "    (c)/(a)", rc_ / ra, ">= 5x",
			    verdict(true, rc_ / ra >= T_PEER_RATIO));
			printf("%-34s %18.2f x         %-18s\n",
			    "    (c)/(b)", rc_ / rb, "(share of the limit)");
			printf("%-34s %18.1f MiB       %-18s %s\n",
			    "    peak RSS of the import", mib, "< 200 MiB",
			    verdict(true, mib < T_RSS_MIB));
			snprintf(lbuf, sizeof(lbuf), "(d) list --expiring 30d "
						     "(%ld rows)",
			    rows);
			printf("%-34s %18.1f ms        %-18s %s\n", lbuf,
			    list_ms, "< 200 ms",
			    verdict(list_ms >= 0, list_ms < T_QUERY_MS));
			printf("%-34s %18.1f ms        %-18s %s\n",
			    "(d) stats", stats_ms, "< 200 ms",
			    verdict(stats_ms >= 0, stats_ms < T_QUERY_MS));
			printf("%-34s %18.1f ms        %-18s %s\n",
			    "(d) stats --json", statsj_ms, "< 200 ms",
			    verdict(statsj_ms >= 0, statsj_ms < T_QUERY_MS));
		} else {
			printf("(c), (d): not measured; when `%s --help` lists "
			       "import, run:\n  make bench   (or: cd bench && "
			       "make B=<abs build/release>)\n",
			    bin);
		}
	}
	return rc;
}
