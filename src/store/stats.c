/*
 * Inventory figures from the running counts (cert_counts), so that stats on
 * millions of certificates reads a few thousand rows, not the inventory.
 * Expiry buckets come from per-day counts; only the days that a bucket
 * boundary cuts are counted exactly through the not_after index.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static int
bucket_of(int64_t t, const int64_t b[4])
{
	int i = 0;

	while (i < 4 && t >= b[i])
		i++;
	return i;
}

static int64_t *
bucket_ptr(struct ck_stats *s, int i)
{
	int64_t *p[5] = {
	    &s->expired, &s->lt7d, &s->lt30d, &s->lt90d, &s->later};
	return p[i];
}

static int
count_range(struct ck_store *st, int64_t from, int64_t to, int64_t *out,
    struct ck_err *err)
{
	sqlite3_stmt *s;
	int rc, r = 0;

	if ((s = stmt_open(st, S_STATS_RANGE, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	if (rc != SQLITE_ROW)
		r = db_err(st, rc, err, "stats");
	stmt_close(st, S_STATS_RANGE, s);
	return r;
}

static int
dim_list(struct ck_store *st, const char *dim, struct ck_count **out, size_t *n,
    struct ck_err *err)
{
	sqlite3_stmt *s;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if ((s = stmt_open(st, S_STATS_DIM, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_text(s, 1, dim, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*out = ck_reallocarray(*out, *n + 1, sizeof(**out));
		(*out)[*n].key =
		    ck_strdup((const char *)sqlite3_column_text(s, 0));
		(*out)[*n].n = sqlite3_column_int64(s, 1);
		(*n)++;
	}
	if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "stats");
	stmt_close(st, S_STATS_DIM, s);
	return r;
}

int
ck_store_stats(
    struct ck_store *st, int64_t now, struct ck_stats **out, struct ck_err *err)
{
	const int64_t b[4] = {
	    now, now + 7 * 86400, now + 30 * 86400, now + 90 * 86400};
	struct ck_stats *s = ck_calloc(1, sizeof(*s));
	sqlite3_stmt *q = NULL;
	int r = 0, rc;

	*out = NULL;
	if ((q = stmt_open(st, S_STATS_DAYS, err)) == NULL) {
		r = CK_E_DB;
		goto out;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t day = sqlite3_column_int64(q, 0);
		int64_t n = sqlite3_column_int64(q, 1);
		int64_t from = day * 86400, to = from + 86400;
		int lo = bucket_of(from, b), hi = bucket_of(to - 1, b);

		s->total += n;
		if (lo == hi) {
			*bucket_ptr(s, lo) += n;
			continue;
		}
		/* Boundaries are days apart: at most one cuts this day. */
		int64_t below;
		if ((r = count_range(st, from, b[lo], &below, err)) != 0)
			goto out;
		*bucket_ptr(s, lo) += below;
		*bucket_ptr(s, hi) += n - below;
	}
	if (rc != SQLITE_DONE) {
		r = db_err(st, rc, err, "stats");
		goto out;
	}
	if ((r = dim_list(st, "issuer", &s->by_issuer, &s->n_issuer, err)) !=
	        0 ||
	    (r = dim_list(st, "key", &s->by_key, &s->n_key, err)) != 0 ||
	    (r = dim_list(st, "sig", &s->by_sig, &s->n_sig, err)) != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	stmt_close(st, S_STATS_DAYS, q);
	ck_stats_free(s);
	return r;
}

static void
free_counts(struct ck_count *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].key);
	free(c);
}

void
ck_stats_free(struct ck_stats *s)
{
	if (s == NULL)
		return;
	free_counts(s->by_issuer, s->n_issuer);
	free_counts(s->by_key, s->n_key);
	free_counts(s->by_sig, s->n_sig);
	free(s);
}
