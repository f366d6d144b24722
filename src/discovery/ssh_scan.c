/*
 * The SSH scanner: reads host public keys, authorized_keys files and
 * OpenSSH certificates (*-cert.pub) from given files and folders, parses
 * each line with ssh.c and records every key in the inventory as an SSH
 * key with the file as its location, in one transaction with an audit
 * event, the scan record (each key by place, "path#line") and the
 * difference from the previous scan of the same paths as events.
 */
#include "discovery/discovery.h"

#include <errno.h>
#include <fts.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/mem.h"

/* authorized_keys files with thousands of keys exist; more is not a key
 * file. */
#define SSH_FILE_MAX (4u << 20)

struct sscan {
	struct ck_store *st;
	const char *actor;
	struct ck_ssh_result *res;
	int64_t now;
	bool in_tx;
	int store_error;
	struct ck_err *err;
	struct ck_buf data;
};

static void
problem(struct ck_ssh_result *res, const char *path, const char *reason)
{
	if (res->n_problems == res->cap_problems) {
		res->cap_problems =
		    res->cap_problems ? res->cap_problems * 2 : 8;
		res->problems = ck_reallocarray(
		    res->problems, res->cap_problems, sizeof(*res->problems));
	}
	res->problems[res->n_problems].path = ck_strdup(path);
	res->problems[res->n_problems].reason = ck_strdup(reason);
	res->n_problems++;
}

static int
record(struct sscan *s, const char *path, int lineno, struct ck_ssh_line *l)
{
	struct ck_ssh_result *res = s->res;
	const struct ck_ssh_key *k = &l->key;
	struct ck_ssh_key_row row;
	struct ck_buf principals = CK_BUF_INIT;
	struct ck_ssh_found *f;
	char serial[24];
	int64_t id;
	bool is_new;
	int r;

	memset(&row, 0, sizeof(row));
	row.sha256 = k->blob_sha256;
	row.fingerprint = k->fingerprint;
	row.key_type = k->type;
	row.algorithm = k->label;
	row.bits = k->bits;
	row.comment = l->comment;
	if (k->is_cert) {
		for (size_t i = 0; i < k->principals.n; i++)
			ck_buf_printf(&principals, "%s%s", i ? "\n" : "",
			    k->principals.v[i]);
		snprintf(serial, sizeof(serial), "%" PRIu64, k->serial);
		row.cert_type = ck_ssh_cert_type_name(k->cert_type);
		row.key_id = k->key_id;
		row.serial = serial;
		row.principals = principals.p ? principals.p : "";
		row.valid_after = k->valid_after;
		row.valid_before = k->valid_before;
		row.ca_fingerprint = k->ca_fingerprint;
	}
	if (!s->in_tx) {
		if ((r = ck_store_begin(s->st, s->err)) != 0)
			goto out;
		s->in_tx = true;
	}
	if ((r = ck_store_ssh_key_put(
	         s->st, &row, s->now, &id, &is_new, s->err)) != 0 ||
	    (r = ck_store_ssh_location_put(s->st, id, path, s->now, s->err)) !=
	        0)
		goto out;
	if (res->n == res->cap) {
		res->cap = res->cap ? res->cap * 2 : 16;
		res->v = ck_reallocarray(res->v, res->cap, sizeof(*f));
	}
	f = &res->v[res->n++];
	f->path = ck_strdup(path);
	f->line = lineno;
	f->key = *l; /* taken */
	memset(l, 0, sizeof(*l));
	f->id = id;
	f->is_new = is_new;
	res->keys++;
	if (f->key.key.is_cert)
		res->certs++;
	if (is_new)
		res->keys_new++;
out:
	ck_buf_release(&principals);
	if (r != 0) {
		if (s->in_tx)
			ck_store_rollback(s->st);
		s->in_tx = false;
		s->store_error = r;
	}
	return r;
}

static void
scan_file(struct sscan *s, const char *path)
{
	struct ck_err err = {0};
	const char *p, *end, *nl;
	int r, lineno = 0;

	if ((r = ck_file_read(path, SSH_FILE_MAX, &s->data, &err)) != 0) {
		s->res->unreadable++;
		problem(s->res, path, ck_err_msg(&err, r));
		return;
	}
	s->res->files++;
	p = s->data.p ? s->data.p : "";
	end = p + s->data.len;
	while (p < end && !s->store_error) {
		struct ck_ssh_line l;
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		ck_err_clear(&err);
		r = ck_ssh_line_parse(p, n, &l, &err);
		if (r == 0) {
			record(s, path, lineno, &l);
			ck_ssh_line_release(&l);
		} else if (r != CK_E_NOTFOUND) {
			struct ck_buf where = CK_BUF_INIT;
			ck_buf_printf(&where, "%s:%d", path, lineno);
			s->res->bad_lines++;
			problem(s->res, where.p, ck_err_msg(&err, r));
			ck_buf_release(&where);
		}
		p += n + 1;
	}
}

/* Files a folder walk takes: public keys, certificates, authorized_keys. */
static bool
wanted(const char *name)
{
	size_t n = strlen(name);

	return strcmp(name, "authorized_keys") == 0 ||
	    strcmp(name, "authorized_keys2") == 0 ||
	    (n > 4 && strcmp(name + n - 4, ".pub") == 0);
}

static int
by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

static void
scan_path(struct sscan *s, const char *path)
{
	char *abs = realpath(path, NULL);
	struct stat st;
	char *argv[2];
	FTS *fts;
	FTSENT *e;

	if (abs == NULL || stat(abs, &st) != 0) {
		s->res->unreadable++;
		problem(s->res, path, strerror(errno));
		free(abs);
		return;
	}
	if (S_ISREG(st.st_mode)) {
		scan_file(s, abs);
		free(abs);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		s->res->unreadable++;
		problem(s->res, abs, "not a regular file or folder");
		free(abs);
		return;
	}
	argv[0] = abs;
	argv[1] = NULL;
	if ((fts = fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV,
	         by_name)) == NULL) {
		s->res->unreadable++;
		problem(s->res, abs, strerror(errno));
		free(abs);
		return;
	}
	while (!s->store_error && (e = fts_read(fts)) != NULL) {
		switch (e->fts_info) {
		case FTS_F:
			if (wanted(e->fts_name))
				scan_file(s, e->fts_path);
			break;
		case FTS_DNR:
		case FTS_ERR:
			s->res->unreadable++;
			problem(s->res, e->fts_path, strerror(e->fts_errno));
			break;
		default: break; /* links are not followed in a walk */
		}
	}
	fts_close(fts);
	free(abs);
}

static int
on_change(void *ctx, const struct ck_scan_change *c)
{
	struct sscan *s = ctx;
	char detail[160];

	s->res->changes++;
	if (strcmp(c->change, "new") == 0)
		return 0;
	snprintf(detail, sizeof(detail), "ssh key %lld -> %lld",
	    (long long)c->old_cert, (long long)c->new_cert);
	return ck_store_event_add(s->st, s->actor,
	    c->change[0] == 'e' ? "scan.expiry" : "scan.change", c->place,
	    detail, s->err);
}

/* The scan record and its difference from the previous scan of the same
 * paths: a key added to or removed from an authorized_keys file, a host
 * key replaced, an SSH certificate expired or expiring within 30 days. */
static int
record_scan(struct sscan *s, const char *scope)
{
	struct ck_ssh_result *res = s->res;
	struct ck_buf place = CK_BUF_INIT, counts = CK_BUF_INIT;
	int r;

	if ((r = ck_store_scan_begin(s->st, "ssh", scope, s->actor, s->now,
	         &res->scan_id, s->err)) != 0)
		goto out;
	for (size_t i = 0; i < res->n; i++) {
		ck_buf_reset(&place);
		ck_buf_printf(&place, "%s#%d", res->v[i].path, res->v[i].line);
		if ((r = ck_store_scan_result_ssh(s->st, res->scan_id, place.p,
		         res->v[i].id, s->err)) != 0)
			goto out;
	}
	ck_buf_printf(&counts,
	    "{\"files\":%lld,\"keys\":%lld,\"certificates\":%lld,"
	    "\"new\":%lld,\"unreadable\":%lld,\"bad_lines\":%lld}",
	    (long long)res->files, (long long)res->keys, (long long)res->certs,
	    (long long)res->keys_new, (long long)res->unreadable,
	    (long long)res->bad_lines);
	if ((r = ck_store_scan_finish(
	         s->st, res->scan_id, ck_now(), counts.p, s->err)) == 0)
		r = ck_store_scan_diff(s->st, res->scan_id, "ssh", scope,
		    ck_now(), 30 * 86400, on_change, s, s->err);
out:
	ck_buf_release(&place);
	ck_buf_release(&counts);
	return r;
}

int
ck_ssh_scan(struct ck_store *st, const char *const *paths, size_t n_paths,
    const char *actor, struct ck_ssh_result *res, struct ck_err *err)
{
	struct sscan s;
	struct ck_buf d = CK_BUF_INIT, scope = CK_BUF_INIT;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.st = st;
	s.res = res;
	s.err = err;
	s.now = ck_now();
	s.actor = actor ? actor : "discovery";
	for (size_t i = 0; i < n_paths && !s.store_error; i++)
		scan_path(&s, paths[i]);
	ck_buf_release(&s.data);
	if (s.store_error)
		return s.store_error;
	if (!s.in_tx) {
		if ((r = ck_store_begin(st, err)) != 0)
			return r;
		s.in_tx = true;
	}
	ck_buf_printf(&d,
	    "%lld files, %lld keys (%lld certificates, %lld new), %lld "
	    "unreadable, %lld bad lines",
	    (long long)res->files, (long long)res->keys, (long long)res->certs,
	    (long long)res->keys_new, (long long)res->unreadable,
	    (long long)res->bad_lines);
	for (size_t i = 0; i < n_paths; i++)
		ck_buf_printf(&scope, "%s%s", i ? " " : "", paths[i]);
	r = ck_store_event_add(st, s.actor, "scan", "ssh", d.p, err);
	if (r == 0)
		r = record_scan(&s, scope.p ? scope.p : "");
	ck_buf_release(&d);
	ck_buf_release(&scope);
	if (r != 0 || (r = ck_store_commit(st, err)) != 0) {
		ck_store_rollback(st);
		return r;
	}
	return 0;
}

void
ck_ssh_result_release(struct ck_ssh_result *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->n; i++) {
		free(res->v[i].path);
		ck_ssh_line_release(&res->v[i].key);
	}
	free(res->v);
	for (size_t i = 0; i < res->n_problems; i++) {
		free(res->problems[i].path);
		free(res->problems[i].reason);
	}
	free(res->problems);
	memset(res, 0, sizeof(*res));
}

static void
add_existing(struct ck_strlist *out, const char *path)
{
	char *abs = realpath(path, NULL);

	if (abs == NULL)
		return;
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->v[i], abs) == 0) {
			free(abs);
			return;
		}
	ck_strlist_add(out, abs);
	free(abs);
}

void
ck_ssh_default_paths(struct ck_strlist *out)
{
	const char *home = getenv("HOME");
	glob_t g;

	if (glob("/etc/ssh/ssh_host_*.pub", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			add_existing(out, g.gl_pathv[i]);
		globfree(&g);
	}
	if (home != NULL && *home != '\0') {
		struct ck_buf b = CK_BUF_INIT;
		ck_buf_printf(&b, "%s/.ssh/authorized_keys", home);
		add_existing(out, b.p);
		ck_buf_release(&b);
	}
	add_existing(out, "/root/.ssh/authorized_keys");
}
