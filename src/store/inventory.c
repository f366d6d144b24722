/*
 * The one inventory call: every certificate that enters certkeep, found,
 * imported or issued, is recorded here once (keyed by the SHA-256 of its
 * DER) with its names, its place in a chain and where it was seen.
 */
#include "store/store_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/mem.h"

/* ---- count deltas, written at commit ---- */

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

int64_t
sha_key(const uint8_t *sha)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | sha[i];
	return (int64_t)(v ^ (1ull << 63));
}

int64_t
str_hash(const char *s)
{
	return (int64_t)hash_str(s);
}

void
counts_add(struct counts *c, const char *dim, const char *key, int64_t n)
{
	size_t dl = strlen(dim), kl = strlen(key), i;
	char small[512], *k = small;

	/* Called several times per certificate: no allocation unless the
	 * key is new or long. */
	if (dl + kl + 2 > sizeof(small))
		k = ck_malloc(dl + kl + 2);
	memcpy(k, dim, dl);
	k[dl] = '\x1f';
	memcpy(k + dl + 1, key, kl + 1);
	if ((c->used + 1) * 2 > c->cap) {
		struct counts bigger = {0};
		bigger.cap = c->cap ? c->cap * 2 : 64;
		bigger.slots = ck_calloc(bigger.cap, sizeof(*bigger.slots));
		for (i = 0; i < c->cap; i++) {
			struct count_slot *s = &c->slots[i];
			size_t j;
			if (s->key == NULL)
				continue;
			j = hash_str(s->key) & (bigger.cap - 1);
			while (bigger.slots[j].key != NULL)
				j = (j + 1) & (bigger.cap - 1);
			bigger.slots[j] = *s;
			bigger.used++;
		}
		free(c->slots);
		*c = bigger;
	}
	i = hash_str(k) & (c->cap - 1);
	while (c->slots[i].key != NULL && strcmp(c->slots[i].key, k) != 0)
		i = (i + 1) & (c->cap - 1);
	if (c->slots[i].key == NULL) {
		c->slots[i].key = ck_strdup(k);
		c->used++;
	}
	c->slots[i].n += n;
	if (k != small)
		free(k);
}

void
counts_clear(struct counts *c)
{
	for (size_t i = 0; i < c->cap; i++) {
		free(c->slots[i].key);
		c->slots[i].key = NULL;
		c->slots[i].n = 0;
	}
	c->used = 0;
}

int
counts_flush(struct ck_store *st, struct ck_err *err)
{
	struct counts *c = &st->counts;
	int r = 0;

	for (size_t i = 0; i < c->cap && r == 0; i++) {
		struct count_slot *s = &c->slots[i];
		sqlite3_stmt *q;
		char *sep;

		if (s->key == NULL || s->n == 0)
			continue;
		if ((q = stmt_get(st, S_COUNT_UPSERT, err)) == NULL)
			return CK_E_DB;
		sep = strchr(s->key, '\x1f');
		sqlite3_bind_text(
		    q, 1, s->key, (int)(sep - s->key), SQLITE_STATIC);
		sqlite3_bind_text(q, 2, sep + 1, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, s->n);
		r = step_write(st, q, err, "counts");
	}
	if (r == 0)
		counts_clear(c);
	return r;
}

/* ---- names ---- */

/* Lower-cased and reversed, so suffix lookups become prefix ranges. */
static void
name_rev(const char *s, struct ck_buf *out)
{
	size_t n = strlen(s);

	ck_buf_reset(out);
	ck_buf_reserve(out, n);
	for (size_t i = 0; i < n; i++)
		out->p[i] = (char)tolower((unsigned char)s[n - 1 - i]);
	out->len = n;
	out->p[n] = '\0';
}

static int
put_name(struct ck_store *st, int64_t id, const char *name, const char *kind,
    struct ck_err *err)
{
	struct ck_buf *tmp = &st->scratch_name;
	struct pending_name *pn;

	(void)err;
	if (*name == '\0' || strlen(name) > 1024)
		return 0;
	name_rev(name, tmp);
	if (st->n_pending == st->cap_pending) {
		st->cap_pending = st->cap_pending ? st->cap_pending * 2 : 1024;
		st->pending = ck_reallocarray(
		    st->pending, st->cap_pending, sizeof(*st->pending));
	}
	pn = &st->pending[st->n_pending++];
	pn->off = st->name_arena.len;
	pn->cert_id = id;
	pn->kind = kind;
	ck_buf_add(&st->name_arena, tmp->p, tmp->len + 1); /* with its NUL */
	return 0;
}

static int
pending_cmp(const void *a, const void *b, void *arena)
{
	const struct pending_name *x = a, *y = b;
	int c =
	    strcmp((const char *)arena + x->off, (const char *)arena + y->off);

	if (c != 0)
		return c;
	return x->cert_id < y->cert_id ? -1 : x->cert_id > y->cert_id;
}

void
names_clear(struct ck_store *st)
{
	st->n_pending = 0;
	ck_buf_reset(&st->name_arena);
}

int
names_flush(struct ck_store *st, struct ck_err *err)
{
	int r = 0;

	if (st->n_pending == 0)
		return 0;
	qsort_r(st->pending, st->n_pending, sizeof(*st->pending), pending_cmp,
	    st->name_arena.p);
	for (size_t i = 0; i < st->n_pending && r == 0; i++) {
		const struct pending_name *pn = &st->pending[i];
		sqlite3_stmt *q = stmt_get(st, S_NAME_INSERT, err);

		if (q == NULL)
			return CK_E_DB;
		sqlite3_bind_text(
		    q, 1, st->name_arena.p + pn->off, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, pn->cert_id);
		sqlite3_bind_text(q, 3, pn->kind, -1, SQLITE_STATIC);
		r = step_write(st, q, err, "names");
	}
	if (r == 0)
		names_clear(st);
	return r;
}

/* ---- certificates ---- */

/* The CN repeated as a SAN (the usual case) needs no names row of its own. */
static bool
cn_in_sans(const struct ck_cert *c)
{
	for (size_t i = 0; i < c->n_sans; i++)
		if (strcasecmp(c->sans[i].value, c->cn) == 0)
			return true;
	return false;
}

static void
bind_text_or_null(sqlite3_stmt *q, int i, const char *s)
{
	if (s != NULL && *s != '\0')
		sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, i);
}

/* The issuer of c already in the inventory, found by key id and name. */
static int
find_issuer(struct ck_store *st, const struct ck_cert *c, int64_t *issuer_id,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int rc;

	*issuer_id = 0;
	if (c->self_issued)
		return 0;
	/* Certificates come in runs from one CA: remember the last answer.
	 * Any new CA or a rollback forgets it (see ck_store_cert_put). */
	if (st->iss_valid && strcmp(st->iss_name, c->issuer) == 0 &&
	    ((c->aki == NULL && st->iss_aki == NULL) ||
	        (c->aki != NULL && st->iss_aki != NULL &&
	            strcmp(c->aki, st->iss_aki) == 0))) {
		*issuer_id = st->iss_id;
		return 0;
	}
	if (c->aki != NULL) {
		if ((q = stmt_get(st, S_ISSUER_BY_SKI, err)) == NULL)
			return CK_E_DB;
		sqlite3_bind_text(q, 1, c->aki, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, c->issuer, -1, SQLITE_STATIC);
	} else {
		if ((q = stmt_get(st, S_ISSUER_BY_SUBJECT, err)) == NULL)
			return CK_E_DB;
		sqlite3_bind_text(q, 1, c->issuer, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*issuer_id = sqlite3_column_int64(q, 0);
	else if (rc != SQLITE_DONE)
		return db_err(st, rc, err, "issuer lookup");
	sqlite3_reset(q);
	free(st->iss_name);
	free(st->iss_aki);
	st->iss_name = ck_strdup(c->issuer);
	st->iss_aki = c->aki ? ck_strdup(c->aki) : NULL;
	st->iss_id = *issuer_id;
	st->iss_valid = true;
	return 0;
}

static void
sans_text(const struct ck_cert *c, struct ck_buf *out)
{
	ck_buf_reset(out);
	ck_buf_adds(out, ""); /* never NULL, even with no names */
	for (size_t i = 0; i < c->n_sans; i++) {
		if (i)
			ck_buf_addc(out, '\n');
		ck_buf_printf(out, "%s:%s", ck_san_type_name(c->sans[i].type),
		    c->sans[i].value);
	}
}

static void
count_cert(struct ck_store *st, const struct ck_cert *c)
{
	char k[96];

	counts_add(&st->counts, "issuer", c->issuer, 1);
	if (c->curve[0] != '\0')
		snprintf(k, sizeof(k), "%s %s", c->key_type, c->curve);
	else if (c->key_bits > 0 && strncmp(c->key_type, "ed", 2) != 0)
		snprintf(k, sizeof(k), "%s %d", c->key_type, c->key_bits);
	else
		snprintf(k, sizeof(k), "%s", c->key_type);
	counts_add(&st->counts, "key", k, 1);
	counts_add(&st->counts, "sig", c->sig_alg, 1);
	/* Floor division so times before 1970 land on the right day. */
	int64_t day = c->not_after / 86400 - (c->not_after % 86400 < 0);
	snprintf(k, sizeof(k), "%lld", (long long)day);
	counts_add(&st->counts, "day", k, 1);
}

static int
insert_cert(struct ck_store *st, const struct ck_cert *c, int64_t seen_at,
    int64_t issuer_id, int64_t *id, bool *is_new, struct ck_err *err)
{
	struct ck_buf *sans = &st->scratch_sans;
	sqlite3_stmt *q;
	int rc, r = 0;

	if ((q = stmt_get(st, S_CERT_INSERT, err)) == NULL)
		return CK_E_DB;
	if (st->fail_after > 0 && --st->fail_after == 0)
		return ck_err_set(
		    err, CK_E_DB, "store: certificates: injected failure");
	sans_text(c, sans);
	sqlite3_bind_blob(q, 1, c->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, c->sha1, 20, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, c->der, (int)c->der_len, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, c->version);
	sqlite3_bind_text(q, 5, c->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, c->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, c->issuer, -1, SQLITE_STATIC);
	bind_text_or_null(q, 8, c->cn);
	sqlite3_bind_text(q, 9, sans->p, (int)sans->len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 10, c->not_before);
	sqlite3_bind_int64(q, 11, c->not_after);
	sqlite3_bind_text(q, 12, c->key_type, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 13, c->key_bits);
	bind_text_or_null(q, 14, c->curve);
	sqlite3_bind_text(q, 15, c->sig_alg, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 16, c->is_ca);
	if (c->path_len >= 0)
		sqlite3_bind_int(q, 17, c->path_len);
	bind_text_or_null(q, 18, c->ski);
	bind_text_or_null(q, 19, c->aki);
	sqlite3_bind_int(q, 20, c->self_issued);
	if (issuer_id > 0)
		sqlite3_bind_int64(q, 21, issuer_id);
	sqlite3_bind_int64(q, 22, seen_at);
	sqlite3_bind_int64(q, 23, str_hash(c->issuer));
	sqlite3_bind_int64(q, 24, sha_key(c->sha256));
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(q, 0);
		*is_new = true;
		rc = sqlite3_step(q);
	}
	if (rc != SQLITE_DONE)
		r = db_err(st, rc, err, "certificates");
	sqlite3_reset(q);
	return r;
}

int
ck_store_cert_put(struct ck_store *st, const struct ck_cert *c, int64_t seen_at,
    int64_t *id, bool *is_new, struct ck_err *err)
{
	sqlite3_stmt *q;
	int64_t issuer_id;
	int r = 0, rc;

	*id = 0;
	*is_new = false;
	if (!st->in_tx)
		CK_BUG("cert_put outside a transaction");
	/* Known already? Then only last_seen moves. */
	if ((q = stmt_get(st, S_CERT_BY_SHA, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(q, 1, sha_key(c->sha256));
	sqlite3_bind_blob(q, 2, c->sha256, 32, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if ((q = stmt_get(st, S_CERT_SEEN, err)) == NULL)
			return CK_E_DB;
		sqlite3_bind_int64(q, 1, seen_at);
		sqlite3_bind_int64(q, 2, *id);
		return step_write(st, q, err, "certificates");
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return db_err(st, rc, err, "certificate lookup");
	if ((r = find_issuer(st, c, &issuer_id, err)) != 0)
		return r;
	if ((r = insert_cert(st, c, seen_at, issuer_id, id, is_new, err)) != 0)
		return r;
	if (!*is_new)
		CK_BUG("insert returned no row");
	count_cert(st, c);
	if (c->cn != NULL && !cn_in_sans(c) &&
	    (r = put_name(st, *id, c->cn, "cn", err)) != 0)
		goto out;
	for (size_t i = 0; i < c->n_sans; i++) {
		const struct ck_san *s = &c->sans[i];
		if (s->type == CK_SAN_URI)
			continue;
		if ((r = put_name(st, *id, s->value,
		         s->type == CK_SAN_DNS      ? "dns"
		             : s->type == CK_SAN_IP ? "ip"
		                                    : "email",
		         err)) != 0)
			goto out;
	}
	if (c->is_ca) {
		st->iss_valid = false; /* it may be the issuer of what comes */
		/* Certificates it issued that came in before it. */
		if ((q = stmt_get(st, S_LINK_ORPHANS, err)) == NULL) {
			r = CK_E_DB;
			goto out;
		}
		sqlite3_bind_int64(q, 1, *id);
		sqlite3_bind_text(q, 2, c->subject, -1, SQLITE_STATIC);
		bind_text_or_null(q, 3, c->ski);
		sqlite3_bind_int64(q, 4, str_hash(c->subject));
		r = step_write(st, q, err, "link");
	}
out:
	return r;
}

/* The id of (kind, place), made if new; the last one is remembered. */
static int
place_id(struct ck_store *st, const char *kind, const char *place, int64_t *id,
    struct ck_err *err)
{
	sqlite3_stmt *q;
	int r, rc;

	if (st->place_id > 0 && strcmp(st->place, place) == 0 &&
	    strcmp(st->place_kind, kind) == 0) {
		*id = st->place_id;
		return 0;
	}
	if ((q = stmt_get(st, S_PLACE_INSERT, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, place, -1, SQLITE_STATIC);
	if ((r = step_write(st, q, err, "places")) != 0)
		return r;
	if ((q = stmt_get(st, S_PLACE_ID, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, place, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return db_err(st, rc, err, "places");
	*id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	free(st->place);
	free(st->place_kind);
	st->place = ck_strdup(place);
	st->place_kind = ck_strdup(kind);
	st->place_id = *id;
	return 0;
}

int
ck_store_location_put(struct ck_store *st, int64_t cert_id, const char *kind,
    const char *place, int64_t seen_at, struct ck_err *err)
{
	sqlite3_stmt *q;
	int64_t pid = 0;
	int r;

	if (!st->in_tx)
		CK_BUG("location_put outside a transaction");
	if ((r = place_id(st, kind, place, &pid, err)) != 0)
		return r;
	if ((q = stmt_get(st, S_LOC_UPSERT, err)) == NULL)
		return CK_E_DB;
	sqlite3_bind_int64(q, 1, cert_id);
	sqlite3_bind_int64(q, 2, pid);
	sqlite3_bind_int64(q, 3, seen_at);
	return step_write(st, q, err, "locations");
}
