/*
 * Reading the inventory: filtered, ordered, streamed lists (never the whole
 * set in memory), look-ups by id or fingerprint prefix, chains and
 * locations.
 */
#include "store/store_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

static const char *
col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

void
row_from_stmt(sqlite3_stmt *s, struct ck_cert_row *row, bool with_der)
{
	memset(row, 0, sizeof(*row));
	row->id = sqlite3_column_int64(s, 0);
	row->sha256 = sqlite3_column_blob(s, 1);
	row->sha1 = sqlite3_column_blob(s, 2);
	row->version = sqlite3_column_int(s, 3);
	row->serial = col_text(s, 4);
	row->subject = col_text(s, 5);
	row->issuer = col_text(s, 6);
	row->cn = col_text(s, 7);
	row->sans = col_text(s, 8);
	row->not_before = sqlite3_column_int64(s, 9);
	row->not_after = sqlite3_column_int64(s, 10);
	row->key_type = col_text(s, 11);
	row->key_bits = sqlite3_column_int(s, 12);
	row->curve = col_text(s, 13);
	row->sig_alg = col_text(s, 14);
	row->is_ca = sqlite3_column_int(s, 15) != 0;
	row->path_len = sqlite3_column_type(s, 16) == SQLITE_NULL
	    ? -1
	    : sqlite3_column_int(s, 16);
	row->ski = col_text(s, 17);
	row->aki = col_text(s, 18);
	row->self_issued = sqlite3_column_int(s, 19) != 0;
	row->issuer_id = sqlite3_column_int64(s, 20);
	row->link_state = sqlite3_column_int(s, 21);
	row->revoked_at = sqlite3_column_int64(s, 22);
	row->first_seen = sqlite3_column_int64(s, 23);
	row->last_seen = sqlite3_column_int64(s, 24);
	if (with_der) {
		row->der = sqlite3_column_blob(s, 25);
		row->der_len = (size_t)sqlite3_column_bytes(s, 25);
	}
}

/* Parameters gathered while the WHERE clause is built. */
struct params {
	int n;
	struct {
		bool is_int;
		int64_t i;
		char *s;
	} v[16];
};

static int
add_int(struct params *p, int64_t v)
{
	p->v[p->n].is_int = true;
	p->v[p->n].i = v;
	return ++p->n;
}

static int
add_text(struct params *p, const char *s, size_t len)
{
	p->v[p->n].is_int = false;
	p->v[p->n].s = ck_strndup(s, len);
	return ++p->n;
}

static void
params_release(struct params *p)
{
	for (int i = 0; i < p->n; i++)
		if (!p->v[i].is_int)
			free(p->v[i].s);
	p->n = 0;
}

static void
params_bind(const struct params *p, sqlite3_stmt *s)
{
	for (int i = 0; i < p->n; i++) {
		if (p->v[i].is_int)
			sqlite3_bind_int64(s, i + 1, p->v[i].i);
		else
			sqlite3_bind_text(
			    s, i + 1, p->v[i].s, -1, SQLITE_STATIC);
	}
}

/*
 * The name condition. Patterns are matched on the reversed name, so the
 * fixed suffix of the pattern ("*.example.com" -> "moc.elpmaxe.") is an
 * index range and only the rest is a GLOB. An exact name also finds the
 * wildcard certificates that cover it.
 */
static void
name_clause(const char *pat, struct ck_buf *sql, struct params *p)
{
	size_t n = strlen(pat), fixed = 0;
	char *rev = ck_malloc(n + 1);
	int a, b;

	for (size_t i = 0; i < n; i++)
		rev[i] = (char)tolower((unsigned char)pat[n - 1 - i]);
	rev[n] = '\0';
	while (fixed < n && rev[fixed] != '*' && rev[fixed] != '?' &&
	    rev[fixed] != '[')
		fixed++;
	ck_buf_adds(sql, " AND id IN (SELECT cert_id FROM names WHERE ");
	if (fixed == n) {
		const char *dot = strchr(rev, '.');
		a = add_text(p, rev, n);
		if (dot != NULL && dot != rev) {
			/* "moc.elpmaxe.www" is also covered by "moc.elpmaxe.*"
			 */
			struct ck_buf w = CK_BUF_INIT;
			ck_buf_add(
			    &w, rev, (size_t)(strrchr(rev, '.') - rev) + 1);
			ck_buf_addc(&w, '*');
			b = add_text(p, w.p, w.len);
			ck_buf_release(&w);
			ck_buf_printf(
			    sql, "name_rev = $%d OR name_rev = $%d)", a, b);
		} else {
			ck_buf_printf(sql, "name_rev = $%d)", a);
		}
	} else if (fixed > 0) {
		char *hi = ck_strndup(rev, fixed);
		hi[fixed - 1]++;
		a = add_text(p, rev, fixed);
		b = add_text(p, hi, fixed);
		int g = add_text(p, rev, n);
		ck_buf_printf(sql,
		    "name_rev >= $%d AND name_rev < $%d AND name_rev GLOB $%d)",
		    a, b, g);
		free(hi);
	} else {
		a = add_text(p, rev, n);
		ck_buf_printf(sql, "name_rev GLOB $%d)", a);
	}
	free(rev);
}

static void
where(const struct ck_cert_filter *f, struct ck_buf *sql, struct params *p)
{
	ck_buf_adds(sql, " WHERE 1=1");
	if (f->not_after_min != 0)
		ck_buf_printf(
		    sql, " AND not_after >= $%d", add_int(p, f->not_after_min));
	if (f->not_after_max != 0)
		ck_buf_printf(
		    sql, " AND not_after < $%d", add_int(p, f->not_after_max));
	if (f->issuer != NULL) {
		struct ck_buf like = CK_BUF_INIT;
		ck_buf_addc(&like, '%');
		for (const char *c = f->issuer; *c; c++) {
			if (*c == '%' || *c == '_' || *c == '\\')
				ck_buf_addc(&like, '\\');
			ck_buf_addc(&like, *c);
		}
		ck_buf_addc(&like, '%');
		ck_buf_printf(sql, " AND issuer LIKE $%d ESCAPE '\\'",
		    add_text(p, like.p, like.len));
		ck_buf_release(&like);
	}
	if (f->key_type != NULL)
		ck_buf_printf(sql, " AND key_type = $%d",
		    add_text(p, f->key_type, strlen(f->key_type)));
	if (f->ca == 0 || f->ca == 1)
		ck_buf_printf(sql, " AND is_ca = %d", f->ca);
	if (f->after_id > 0)
		ck_buf_printf(sql, " AND id > $%d", add_int(p, f->after_id));
	if (f->name != NULL && *f->name != '\0')
		name_clause(f->name, sql, p);
}

/* For the SQL built per filter: prepared per call and finalized after,
 * since the filters combine in too many ways to keep a statement each. */
static int
prepare(
    struct ck_store *st, const char *sql, sqlite3_stmt **s, struct ck_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

	if (rc != SQLITE_OK)
		return db_err(st, rc, err, "query");
	return 0;
}

int
ck_store_cert_list(struct ck_store *st, const struct ck_cert_filter *f,
    ck_row_cb cb, void *ctx, struct ck_err *err)
{
	struct ck_buf sql = CK_BUF_INIT;
	struct params p = {0};
	struct ck_cert_row row;
	sqlite3_stmt *s = NULL;
	int r, rc;

	ck_buf_printf(&sql, "SELECT %s FROM certificates",
	    f->with_der ? CERT_COLUMNS : CERT_COLUMNS_NODER);
	where(f, &sql, &p);
	ck_buf_adds(&sql,
	    f->sort == CK_SORT_ID ? " ORDER BY id" : " ORDER BY not_after, id");
	if (f->limit > 0)
		ck_buf_printf(&sql, " LIMIT %lld", (long long)f->limit);
	if ((r = prepare(st, sql.p, &s, err)) != 0)
		goto out;
	params_bind(&p, s);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_from_stmt(s, &row, f->with_der);
		if ((r = cb(ctx, &row)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "list");
out:
	sqlite3_finalize(s);
	params_release(&p);
	ck_buf_release(&sql);
	return r;
}

int
ck_store_cert_count(struct ck_store *st, const struct ck_cert_filter *f,
    int64_t *out, struct ck_err *err)
{
	struct ck_buf sql = CK_BUF_INIT;
	struct params p = {0};
	sqlite3_stmt *s = NULL;
	int r, rc;

	*out = 0;
	ck_buf_adds(&sql, "SELECT COUNT(*) FROM certificates");
	where(f, &sql, &p);
	if ((r = prepare(st, sql.p, &s, err)) != 0)
		goto out;
	params_bind(&p, s);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		r = db_err(st, rc, err, "count");
out:
	sqlite3_finalize(s);
	params_release(&p);
	ck_buf_release(&sql);
	return r;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ck_store_cert_find(
    struct ck_store *st, const char *ref, int64_t *id, struct ck_err *err)
{
	uint8_t lo[32] = {0}, hi[32];
	size_t n = strlen(ref), nb;
	sqlite3_stmt *s = NULL;
	enum stmt_id sid;
	bool digits = n > 0;
	int r = 0, rc, found = 0;
	char clean[65];
	size_t k = 0;

	*id = 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)ref[i]))
			digits = false;
	/* A number short enough to be a row id is a row id. */
	if (digits && n < 4) {
		*id = strtoll(ref, NULL, 10);
		return ck_store_cert_get(st, *id, NULL, NULL, err);
	}
	/* Accept "AB:CD:..." as printed by openssl. */
	for (size_t i = 0; i < n; i++) {
		if (ref[i] == ':')
			continue;
		if (hexval((unsigned char)ref[i]) < 0 || k >= 64)
			return ck_err_set(err, CK_E_INVAL,
			    "'%s' is neither a certificate id nor a SHA-256 "
			    "prefix",
			    ref);
		clean[k++] = ref[i];
	}
	clean[k] = '\0';
	if (k < 4)
		return ck_err_set(err, CK_E_INVAL,
		    "SHA-256 prefix '%s' is too short (4 hex digits at least)",
		    ref);
	/* lo: the prefix; hi: the next prefix (exclusive), by nibbles. */
	uint8_t nib[64];
	for (size_t i = 0; i < k; i++)
		nib[i] = (uint8_t)hexval((unsigned char)clean[i]);
	for (size_t i = 0; i < k; i++)
		lo[i / 2] |= (uint8_t)(i % 2 ? nib[i] : nib[i] << 4);
	nb = (k + 1) / 2;
	size_t j = k;
	while (j > 0 && nib[j - 1] == 15)
		nib[--j] = 0;
	if (j == 0) {
		nb = 0; /* ff..ff: no upper bound */
	} else {
		nib[j - 1]++;
		memset(hi, 0, sizeof(hi));
		for (size_t i = 0; i < k; i++)
			hi[i / 2] |= (uint8_t)(i % 2 ? nib[i] : nib[i] << 4);
	}
	/* The index is on the first 8 bytes (sha_key); the blob bounds make
	 * the match exact for longer prefixes. */
	sid = nb ? S_FIND_SHA : S_FIND_SHA_OPEN;
	if ((s = stmt_open(st, sid, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, sha_key(lo));
	if (nb) {
		sqlite3_bind_int64(s, 2, sha_key(hi));
		sqlite3_bind_blob(s, 3, lo, (int)((k + 1) / 2), SQLITE_STATIC);
		sqlite3_bind_blob(s, 4, hi, (int)nb, SQLITE_STATIC);
	} else {
		sqlite3_bind_blob(s, 2, lo, (int)((k + 1) / 2), SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		found++;
	}
	if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "find");
	else if (found == 0)
		r = ck_err_set(err, CK_E_NOTFOUND,
		    "no certificate with SHA-256 starting %s", clean);
	else if (found > 1)
		r = ck_err_set(err, CK_E_INVAL,
		    "SHA-256 prefix %s is ambiguous: give more digits", clean);
	stmt_close(st, sid, s);
	if (r != 0)
		*id = 0;
	return r;
}

int
ck_store_cert_get(struct ck_store *st, int64_t id, ck_row_cb cb, void *ctx,
    struct ck_err *err)
{
	struct ck_cert_row row;
	sqlite3_stmt *s;
	int rc, r = 0;

	if ((s = stmt_open(st, S_CERT_GET, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_from_stmt(s, &row, true);
		if (cb != NULL)
			r = cb(ctx, &row);
	} else if (rc == SQLITE_DONE) {
		r = ck_err_set(err, CK_E_NOTFOUND,
		    "no certificate with id %lld", (long long)id);
	} else {
		r = db_err(st, rc, err, "get");
	}
	stmt_close(st, S_CERT_GET, s);
	return r;
}

/* Copies what the chain walk needs out of a row before the next query. */
struct link {
	int64_t id, issuer_id;
	int link_state;
	bool self_issued;
	uint8_t *der;
	size_t der_len;
};

static int
copy_link(void *ctx, const struct ck_cert_row *row)
{
	struct link *l = ctx;

	l->id = row->id;
	l->issuer_id = row->issuer_id;
	l->link_state = row->link_state;
	l->self_issued = row->self_issued;
	l->der = ck_memdup(row->der, row->der_len);
	l->der_len = row->der_len;
	return 0;
}

static int
set_link(struct ck_store *st, int64_t id, int state, int64_t issuer_id,
    struct ck_err *err)
{
	sqlite3_stmt *q = stmt_get(st, S_LINK_SET, err);

	if (q == NULL)
		return CK_E_DB;
	sqlite3_bind_int(q, 1, state);
	if (issuer_id > 0)
		sqlite3_bind_int64(q, 2, issuer_id);
	sqlite3_bind_int64(q, 3, id);
	return step_write(st, q, err, "link");
}

int
ck_store_cert_signed_by(
    struct ck_store *st, int64_t id, int64_t issuer_id, struct ck_err *err)
{
	if (issuer_id <= 0)
		return ck_err_set(err, CK_E_INVAL, "link: no issuer");
	return set_link(st, id, 1, issuer_id, err);
}

int
ck_store_chain(struct ck_store *st, int64_t id, ck_row_cb cb, void *ctx,
    struct ck_err *err)
{
	struct link cur = {0}, up = {0};
	int r, depth = 0;

	if ((r = ck_store_cert_get(st, id, copy_link, &cur, err)) != 0)
		return r;
	if ((r = ck_store_cert_get(st, id, cb, ctx, err)) != 0)
		goto out;
	while (cur.issuer_id > 0 && depth++ < 16) {
		if ((r = ck_store_cert_get(
		         st, cur.issuer_id, copy_link, &up, err)) != 0)
			goto out;
		if (cur.link_state != 1) {
			bool ok;
			if ((r = ck_x509_signed_by(cur.der, cur.der_len, up.der,
			         up.der_len, &ok, err)) != 0)
				goto out;
			/* Record the answer; a read-only store just skips. */
			if (set_link(st, cur.id, ok ? 1 : -1, ok ? up.id : 0,
			        NULL) != 0)
				(void)0;
			if (!ok)
				break;
		}
		if ((r = ck_store_cert_get(st, up.id, cb, ctx, err)) != 0)
			goto out;
		free(cur.der);
		cur = up;
		memset(&up, 0, sizeof(up));
	}
out:
	free(cur.der);
	free(up.der);
	return r;
}

int
ck_store_locations(struct ck_store *st, int64_t cert_id, ck_location_cb cb,
    void *ctx, struct ck_err *err)
{
	struct ck_location loc;
	sqlite3_stmt *s;
	int r = 0, rc;

	if ((s = stmt_open(st, S_LOCATIONS, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(s, 1, cert_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		loc.kind = col_text(s, 0);
		loc.place = col_text(s, 1);
		loc.first_seen = sqlite3_column_int64(s, 2);
		loc.last_seen = sqlite3_column_int64(s, 3);
		loc.present = sqlite3_column_int(s, 4) != 0;
		if ((r = cb(ctx, &loc)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(st, rc, err, "locations");
	stmt_close(st, S_LOCATIONS, s);
	return r;
}
