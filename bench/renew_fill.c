/*
 * bench/renew-fill: fills a store with managed certificates for
 * bench/renew.sh, in one process instead of one `certkeep manage add`
 * each. Two modes:
 *
 *   renew-fill add N DIR ISSUER
 *	N certificates through ck_manage_add (the call behind `manage add
 *	--queue`: validated, audited, queued), each with a key, certificate
 *	and full chain file under DIR/<i/1000>/, 1,000 to a folder.
 *   renew-fill idle N SEED ISSUER
 *	N rows that are active and not due for 30 to 60 days, cloned from
 *	the managed certificate SEED (issued beforehand): its certificate
 *	and sealed key, recorded through the store's own calls
 *	(ck_store_managed_add, _issued, _written), as a renewal leaves them,
 *	in transactions of 10,000.
 *
 * The store is $CERTKEEP_DB; the clock is ck_now() ($CERTKEEP_NOW).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "lifecycle/managed.h"
#include "store/managed.h"
#include "store/store.h"
#include "x509/x509.h"

#define PER_TX 10000 /* idle rows per transaction */

static _Noreturn void
die(const char *what, const struct ck_err *err)
{
	fprintf(
	    stderr, "bench/renew-fill: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

static int
add_all(struct ck_store *st, long n, const char *dir, const char *issuer)
{
	struct ck_err err = {0};
	char name[32], san[64], sub[4096], k[4200], c[4200], f[4200];
	const char *sans[1] = {san};

	for (long i = 0; i < n; i++) {
		struct ck_manage_spec s = {0};

		if (i % 1000 == 0) {
			snprintf(sub, sizeof(sub), "%s/%03ld", dir, i / 1000);
			if (mkdir(sub, 0755) != 0 && errno != EEXIST)
				die(sub, NULL);
		}
		snprintf(name, sizeof(name), "m%07ld", i);
		snprintf(san, sizeof(san), "DNS:%s.bench.test", name);
		snprintf(k, sizeof(k), "%s/%s.key", sub, name);
		snprintf(c, sizeof(c), "%s/%s.crt", sub, name);
		snprintf(f, sizeof(f), "%s/%s.full.pem", sub, name);
		s.name = name;
		s.sans = sans;
		s.n_sans = 1;
		s.issuer = issuer;
		s.days = 90;
		s.key_out = k;
		s.cert_out = c;
		s.fullchain_out = f;
		if (ck_manage_add(st, &s, "bench", &err) != 0)
			die(name, &err);
	}
	return 0;
}

struct seed {
	bool found;
	struct ck_managed_row m;
	char *strs[13];
	uint8_t *key;
};

static int
take_seed(void *ctx, const struct ck_managed_row *m)
{
	struct seed *s = ctx;
	const char *in[13] = {m->name, m->cn, m->sans, m->key_type, m->issuer,
	    m->profile, m->owner, m->contact, m->tags, m->key_out, m->cert_out,
	    m->chain_out, m->actor};

	s->found = true;
	s->m = *m;
	for (int i = 0; i < 13; i++)
		s->strs[i] = strdup(in[i] ? in[i] : "");
	s->key = malloc(m->key_len ? m->key_len : 1);
	memcpy(s->key, m->key, m->key_len);
	return 0;
}

static int
idle_all(struct ck_store *st, long n, const char *seed_name, const char *issuer)
{
	struct ck_managed_filter f = {.name = seed_name, .with_key = true};
	struct ck_err err = {0};
	struct seed s = {0};
	int64_t now = ck_now();
	char name[32], san[80], cn[64], k[80], c[80], fc[80];

	if (ck_store_managed_list(st, &f, take_seed, &s, &err) != 0 || !s.found)
		die(seed_name, &err);
	if (s.m.cert_id == 0 || s.m.key_len == 0)
		die(seed_name, &(struct ck_err){.msg = "seed not issued"});
	for (long i = 0; i < n; i++) {
		struct ck_managed_row m = {0};
		/* spread over 30 days, starting 30 days from now */
		int64_t at = now + 30 * 86400 + (i * 7919) % (30 * 86400);

		if (i % PER_TX == 0 && ck_store_begin(st, &err) != 0)
			die("begin", &err);
		snprintf(name, sizeof(name), "i%07ld", i);
		snprintf(cn, sizeof(cn), "%s.idle.test", name);
		snprintf(san, sizeof(san), "DNS:%s", cn);
		m.name = name;
		m.cn = cn;
		m.sans = san;
		m.key_type = s.strs[3];
		m.issuer = issuer;
		m.profile = s.strs[5];
		m.days = s.m.days;
		m.renew_frac = s.m.renew_frac;
		m.renew_before = s.m.renew_before;
		m.owner = "";
		m.contact = "";
		m.tags = "";
		/* files as a renewal leaves them (never written here: the
		 * rows are not due) */
		snprintf(k, sizeof(k), "/srv/idle/%s.key", name);
		snprintf(c, sizeof(c), "/srv/idle/%s.crt", name);
		snprintf(fc, sizeof(fc), "/srv/idle/%s.full.pem", name);
		m.key_out = k;
		m.cert_out = c;
		m.chain_out = fc;
		m.state = "pending";
		m.next_action = at;
		m.created = now;
		m.actor = "bench";
		if (ck_store_managed_add(st, &m, NULL, &err) != 0 ||
		    ck_store_managed_issued(st, name, s.m.cert_id, s.key,
		        s.m.key_len, at, at, &err) != 0 ||
		    ck_store_managed_written(st, name, s.m.cert_id, &err) != 0)
			die(name, &err);
		if ((i + 1) % PER_TX == 0 || i + 1 == n) {
			if (ck_store_commit(st, &err) != 0)
				die("commit", &err);
		}
	}
	for (int i = 0; i < 13; i++)
		free(s.strs[i]);
	free(s.key);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *url = getenv("CERTKEEP_DB");
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	long n;

	if (argc != 5 || url == NULL ||
	    (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "idle") != 0)) {
		fprintf(stderr,
		    "usage: CERTKEEP_DB=URL renew-fill add N DIR "
		    "ISSUER | idle N SEED ISSUER\n");
		return 2;
	}
	n = atol(argv[2]);
	ck_x509_init();
	if (ck_store_open(url, &st, &err) != 0)
		die("open", &err);
	/* the rows are the bench's set-up, not what it measures */
	if (ck_store_bulk_mode(st, &err) != 0)
		die("bulk mode", &err);
	if (strcmp(argv[1], "add") == 0)
		add_all(st, n, argv[3], argv[4]);
	else
		idle_all(st, n, argv[3], argv[4]);
	ck_store_free(st);
	return 0;
}
