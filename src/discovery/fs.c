/*
 * The filesystem scanner: walks folders with fts (links to folders never
 * followed, so no symbolic link loops; other and pseudo filesystems
 * skipped), records every certificate found in the inventory with its
 * file, inspects private keys, matches them to the certificates of the
 * scan by public key and reports the unencrypted ones others can read.
 */
#include "discovery/discovery.h"

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"

/* Pseudo filesystems never worth reading (statfs f_type). */
static const long pseudo_fs[] = {
    0x9fa0, /* proc */
    0x62656572, /* sysfs */
    0x1cd1, /* devpts */
    0x27e0eb, /* cgroup */
    0x63677270, /* cgroup2 */
    0x64626720, /* debugfs */
    0x73636673, /* securityfs */
    0x74726163, /* tracefs */
    0xcafe4a11, /* bpf */
    0x6165676c, /* pstore */
    0x62656570, /* configfs */
    0x19800202, /* mqueue */
    0x65735543, /* fusectl */
    0x958458f6, /* hugetlbfs */
    0x42494e4d, /* binfmt_misc */
};

/* A certificate's public key, for matching keys after the walk. */
struct spki {
	uint8_t spki[32];
	uint8_t sha256[32];
};

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct scan {
	struct ck_store *st;
	const struct ck_fs_opts *o;
	struct ck_fs_result *res;
	const char *actor;
	char *scope;
	size_t max_size;
	int64_t max_files;
	int batch;
	int64_t now;
	bool in_tx;
	int in_batch;
	int64_t batch_new, batch_known;
	int store_error;
	struct ck_err *err;
	struct ck_buf data;
	struct spki *spki_v;
	size_t n_spki, cap_spki;
	/* Files whose keys were counted (a key reached by a link and by its
	 * own name is one key). */
	struct file_id *keyfiles;
	size_t n_keyfiles, cap_keyfiles;
	/* The file being read. */
	const char *path;
	struct stat fst;
	bool p12_key;
	bool f_material; /* certificate material, not only DER noise */
	int f_keys;
	struct ck_buf f_bad;
	uint64_t last_progress;
};

static void
problem(struct ck_fs_problem **v, size_t *n, size_t *cap, const char *path,
    const char *reason)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = ck_reallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].path = ck_strdup(path);
	(*v)[*n].reason = ck_strdup(reason);
	(*n)++;
}

static void
unreadable(struct scan *s, const char *path, const char *reason)
{
	s->res->unreadable++;
	problem(&s->res->unreadable_v, &s->res->n_unreadable,
	    &s->res->cap_unreadable, path, reason);
}

static void
skipped(struct scan *s, int64_t *counter, const char *path, const char *reason)
{
	(*counter)++;
	problem(&s->res->skipped_v, &s->res->n_skipped, &s->res->cap_skipped,
	    path, reason);
}

static void
progress(struct scan *s)
{
	uint64_t now;

	if (s->o->progress == NULL)
		return;
	now = ck_mono_ns();
	if (now - s->last_progress < 250000000u)
		return;
	s->last_progress = now;
	s->o->progress(s->o->ctx, s->res);
}

static int
store_fail(struct scan *s, int r)
{
	if (s->in_tx)
		ck_store_rollback(s->st);
	s->in_tx = false;
	s->store_error = r;
	return r;
}

static int
commit(struct scan *s, bool last)
{
	struct ck_buf d = CK_BUF_INIT;
	struct ck_fs_result *res = s->res;
	int r;

	if (!s->in_tx && !last)
		return 0;
	if (!s->in_tx) {
		if ((r = ck_store_begin(s->st, s->err)) != 0)
			return store_fail(s, r);
		s->in_tx = true;
	}
	if (last)
		ck_buf_printf(&d,
		    "%s: %lld files, %lld certificates (%lld new), %lld keys "
		    "(%lld matched, %lld encrypted, %lld exposed), %lld "
		    "unreadable",
		    s->scope, (long long)res->files, (long long)res->certs,
		    (long long)res->certs_new, (long long)res->keys,
		    (long long)res->keys_matched,
		    (long long)res->keys_encrypted,
		    (long long)res->keys_exposed, (long long)res->unreadable);
	else
		ck_buf_printf(&d, "%s: batch of %lld new, %lld known", s->scope,
		    (long long)s->batch_new, (long long)s->batch_known);
	r = ck_store_event_add(s->st, s->actor ? s->actor : "discovery", "scan",
	    "files", d.p, s->err);
	ck_buf_release(&d);
	if (r != 0 || (r = ck_store_commit(s->st, s->err)) != 0)
		return store_fail(s, r);
	s->in_tx = false;
	s->in_batch = 0;
	s->batch_new = s->batch_known = 0;
	return 0;
}

static int
on_change(void *ctx, const struct ck_scan_change *c)
{
	struct scan *s = ctx;
	char detail[160];
	int r;

	s->res->changes++;
	if (strcmp(c->change, "new") == 0)
		return 0;
	snprintf(detail, sizeof(detail), "certificate %lld -> %lld",
	    (long long)c->old_cert, (long long)c->new_cert);
	if ((r = ck_store_event_add(s->st, s->actor ? s->actor : "discovery",
	         c->change[0] == 'e' ? "scan.expiry" : "scan.change", c->place,
	         detail, s->err)) != 0)
		return r;
	return 0;
}

/*
 * The scan record: every certificate found, by place ("path#n", the n-th
 * certificate of the file, so that a bundle's members are told apart),
 * and the difference from the previous scan of the same paths as events
 * (a certificate replaced in a file, a file gone, one expired or expiring
 * within 30 days). In the final transaction, with the summary event.
 */
static int
record_scan(struct scan *s)
{
	struct ck_fs_result *res = s->res;
	struct ck_buf place = CK_BUF_INIT, counts = CK_BUF_INIT;
	const char *prev = NULL;
	int r, nth = 0;

	if (!s->in_tx) {
		if ((r = ck_store_begin(s->st, s->err)) != 0)
			return store_fail(s, r);
		s->in_tx = true;
	}
	if ((r = ck_store_scan_begin(s->st, "files", s->scope,
	         s->actor ? s->actor : "discovery", s->now, &res->scan_id,
	         s->err)) != 0)
		goto fail;
	for (size_t i = 0; i < res->n_cert; i++) {
		const struct ck_fs_cert *fc = &res->cert_v[i];
		nth = prev != NULL && strcmp(prev, fc->path) == 0 ? nth + 1 : 1;
		prev = fc->path;
		ck_buf_reset(&place);
		ck_buf_printf(&place, "%s#%d", fc->path, nth);
		if ((r = ck_store_scan_result(s->st, res->scan_id, place.p,
		         fc->id, "ok", s->err)) != 0)
			goto fail;
	}
	ck_buf_printf(&counts,
	    "{\"files\":%lld,\"certificates\":%lld,\"new\":%lld,"
	    "\"keys\":%lld,\"exposed\":%lld,\"unreadable\":%lld}",
	    (long long)res->files, (long long)res->certs,
	    (long long)res->certs_new, (long long)res->keys,
	    (long long)res->keys_exposed, (long long)res->unreadable);
	if ((r = ck_store_scan_finish(
	         s->st, res->scan_id, ck_now(), counts.p, s->err)) != 0 ||
	    (r = ck_store_scan_diff(s->st, res->scan_id, "files", s->scope,
	         ck_now(), 30 * 86400, on_change, s, s->err)) != 0)
		goto fail;
	ck_buf_release(&place);
	ck_buf_release(&counts);
	return 0;
fail:
	ck_buf_release(&place);
	ck_buf_release(&counts);
	return store_fail(s, r);
}

static int
put_cert(struct scan *s, const struct ck_item *it)
{
	struct ck_fs_result *res = s->res;
	struct ck_cert *c = NULL;
	struct ck_err perr = {0};
	struct ck_fs_cert *fc;
	int64_t id;
	bool is_new;
	int r;

	if (ck_x509_parse(it->der, it->der_len, CK_PARSE_CORE, &c, &perr) !=
	    0) {
		ck_buf_printf(&s->f_bad, "%d\x1f%s\x1e", it->index, perr.msg);
		return 0;
	}
	if (!s->in_tx) {
		if ((r = ck_store_begin(s->st, s->err)) != 0)
			goto fail;
		s->in_tx = true;
	}
	if ((r = ck_store_cert_put(s->st, c, s->now, &id, &is_new, s->err)) !=
	        0 ||
	    (r = ck_store_location_put(
	         s->st, id, "file", s->path, s->now, s->err)) != 0)
		goto fail;
	if (res->n_cert == res->cap_cert) {
		res->cap_cert = res->cap_cert ? res->cap_cert * 2 : 64;
		res->cert_v =
		    ck_reallocarray(res->cert_v, res->cap_cert, sizeof(*fc));
	}
	fc = &res->cert_v[res->n_cert++];
	fc->path = ck_strdup(s->path);
	fc->id = id;
	memcpy(fc->sha256, c->sha256, 32);
	fc->is_new = is_new;
	if (s->n_spki == s->cap_spki) {
		s->cap_spki = s->cap_spki ? s->cap_spki * 2 : 64;
		s->spki_v =
		    ck_reallocarray(s->spki_v, s->cap_spki, sizeof(*s->spki_v));
	}
	if (ck_keyfile_cert_spki(
	        it->der, it->der_len, s->spki_v[s->n_spki].spki)) {
		memcpy(s->spki_v[s->n_spki].sha256, c->sha256, 32);
		s->n_spki++;
	}
	ck_cert_free(c);
	res->certs++;
	if (is_new) {
		res->certs_new++;
		s->batch_new++;
	} else {
		res->certs_known++;
		s->batch_known++;
	}
	if (++s->in_batch >= s->batch)
		return commit(s, false);
	return 0;
fail:
	ck_cert_free(c);
	return store_fail(s, r);
}

static void
add_key(struct scan *s, int index, const struct ck_keyfile_info *ki)
{
	struct ck_fs_result *res = s->res;
	struct ck_fs_key *k;

	if (res->n_key == res->cap_key) {
		res->cap_key = res->cap_key ? res->cap_key * 2 : 16;
		res->key_v =
		    ck_reallocarray(res->key_v, res->cap_key, sizeof(*k));
	}
	k = &res->key_v[res->n_key++];
	memset(k, 0, sizeof(*k));
	k->path = ck_strdup(s->path);
	k->index = index;
	k->mode = (unsigned)(s->fst.st_mode & 07777);
	k->info = *ki;
	k->exposed = strcmp(ki->format, "unknown") != 0 && !ki->encrypted &&
	    (s->fst.st_mode & (S_IRGRP | S_IROTH)) != 0;
	res->keys++;
	if (ki->encrypted)
		res->keys_encrypted++;
	if (k->exposed)
		res->keys_exposed++;
	s->f_keys++;
}

static int
on_item(void *ctx, const struct ck_item *it)
{
	struct scan *s = ctx;
	struct ck_keyfile_info ki;

	/* Any file that starts with a 0x30 byte ("0...") is tried as DER;
	 * failing that is not worth a report unless the file holds
	 * something else that is certificate material. */
	if (it->kind != CK_ITEM_ERROR || strcmp(it->container, "der") != 0)
		s->f_material = true;
	switch (it->kind) {
	case CK_ITEM_CERT: return put_cert(s, it);
	case CK_ITEM_KEY:
		if (it->der == NULL && strcmp(it->container, "pkcs12") == 0) {
			/* Read again after the ingest, with the passwords. */
			s->p12_key = true;
			return 0;
		}
		ck_keyfile_inspect(it, &ki);
		add_key(s, it->index, &ki);
		return 0;
	case CK_ITEM_ERROR:
		ck_buf_printf(&s->f_bad, "%d\x1f%s%s%s\x1e", it->index,
		    it->label ? it->label : "", it->label ? ": " : "",
		    it->reason ? it->reason : "unreadable");
		return 0;
	default: return 0;
	}
}

/* Reads the regular file at path into s->data (and its stat into
 * s->fst) without blocking on a FIFO swapped in, nor moving its access
 * time when we may avoid it. Returns 0, or -1 with a reason. */
static int
read_file(struct scan *s, const char *path, const char **why, bool *big)
{
	int fd, flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
	size_t want;
	ssize_t n;

	*big = false;
	*why = NULL;
	if ((fd = open(path, flags | O_NOATIME)) < 0 && errno == EPERM)
		fd = open(path, flags);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &s->fst) != 0 || !S_ISREG(s->fst.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return -1;
	}
	if ((uint64_t)s->fst.st_size > s->max_size) {
		*big = true;
		close(fd);
		return -1;
	}
	ck_buf_reset(&s->data);
	want = (size_t)s->fst.st_size + 1;
	for (;;) {
		ck_buf_reserve(&s->data, want);
		n = read(
		    fd, s->data.p + s->data.len, s->data.cap - s->data.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = strerror(errno);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		s->data.len += (size_t)n;
		s->data.p[s->data.len] = '\0';
		if (s->data.len > s->max_size) { /* it grew */
			*big = true;
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static bool
keyfile_seen(struct scan *s)
{
	for (size_t i = 0; i < s->n_keyfiles; i++)
		if (s->keyfiles[i].dev == s->fst.st_dev &&
		    s->keyfiles[i].ino == s->fst.st_ino)
			return true;
	return false;
}

static void
keyfile_add(struct scan *s)
{
	if (s->n_keyfiles == s->cap_keyfiles) {
		s->cap_keyfiles = s->cap_keyfiles ? s->cap_keyfiles * 2 : 16;
		s->keyfiles = ck_reallocarray(
		    s->keyfiles, s->cap_keyfiles, sizeof(*s->keyfiles));
	}
	s->keyfiles[s->n_keyfiles].dev = s->fst.st_dev;
	s->keyfiles[s->n_keyfiles].ino = s->fst.st_ino;
	s->n_keyfiles++;
}

static void
scan_file(struct scan *s, const char *path)
{
	struct ck_ingest_opts io = {s->o->passwords};
	struct ck_keyfile_info ki;
	size_t keys_before = s->res->n_key;
	const char *why;
	bool big;
	int r;

	if (s->res->files >= s->max_files) {
		s->res->limit_reached = true;
		return;
	}
	if (read_file(s, path, &why, &big) != 0) {
		if (big) {
			char reason[96];
			snprintf(reason, sizeof(reason),
			    "larger than %zu bytes", s->max_size);
			skipped(s, &s->res->too_big, path, reason);
		} else if (strcmp(why, "not a regular file") == 0) {
			skipped(s, &s->res->special, path, why);
		} else {
			unreadable(s, path, why);
		}
		return;
	}
	s->res->files++;
	if (s->data.len == 0)
		return;
	s->path = path;
	s->p12_key = false;
	s->f_material = false;
	s->f_keys = 0;
	ck_buf_reset(&s->f_bad);
	r = ck_x509_ingest(
	    (const uint8_t *)s->data.p, s->data.len, &io, on_item, s, NULL);
	if (s->store_error)
		return;
	if (s->p12_key &&
	    ck_keyfile_pkcs12(
	        (const uint8_t *)s->data.p, s->data.len, s->o->passwords, &ki))
		add_key(s, 1, &ki);
	/* What is not certificate material at all stays silent; parts of
	 * certificate material that could not be read are reported. */
	if (r == 0 && s->f_material && s->f_bad.len > 0) {
		char *p = s->f_bad.p, *rec;
		while ((rec = strchr(p, '\x1e')) != NULL) {
			char *sep = strchr(p, '\x1f');
			struct ck_buf where = CK_BUF_INIT;
			*rec = '\0';
			if (sep != NULL && sep < rec) {
				*sep = '\0';
				ck_buf_printf(&where, "%s#%s", path, p);
				s->res->bad_parts++;
				problem(&s->res->bad_v, &s->res->n_bad,
				    &s->res->cap_bad, where.p, sep + 1);
			}
			ck_buf_release(&where);
			p = rec + 1;
		}
	}
	if (s->res->n_key > keys_before) {
		if (keyfile_seen(s)) {
			/* Reached again through a link: one key, counted
			 * once. */
			for (size_t i = keys_before; i < s->res->n_key; i++) {
				struct ck_fs_key *k = &s->res->key_v[i];
				s->res->keys--;
				if (k->info.encrypted)
					s->res->keys_encrypted--;
				if (k->exposed)
					s->res->keys_exposed--;
				free(k->path);
			}
			s->res->n_key = keys_before;
		} else {
			keyfile_add(s);
		}
	}
	/* Key material is wiped once read. */
	ck_cleanse(s->data.p, s->data.len);
}

static bool
is_pseudo(const char *path)
{
	struct statfs sf;

	if (strcmp(path, "/proc") == 0 || strcmp(path, "/sys") == 0 ||
	    strcmp(path, "/dev") == 0)
		return true;
	if (statfs(path, &sf) != 0)
		return false;
	for (size_t i = 0; i < sizeof(pseudo_fs) / sizeof(pseudo_fs[0]); i++)
		if ((long)sf.f_type == pseudo_fs[i])
			return true;
	return false;
}

static int
by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* One start path. */
static void
walk(struct scan *s, const char *start)
{
	char *argv[2];
	char *abs = realpath(start, NULL);
	FTS *fts;
	FTSENT *e;
	dev_t root_dev = 0;

	if (abs == NULL) {
		unreadable(s, start, strerror(errno));
		return;
	}
	if (is_pseudo(abs)) {
		skipped(s, &s->res->special, abs, "pseudo filesystem");
		free(abs);
		return;
	}
	argv[0] = abs;
	argv[1] = NULL;
	fts =
	    fts_open(argv, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR, by_name);
	if (fts == NULL) {
		unreadable(s, abs, strerror(errno));
		free(abs);
		return;
	}
	while (!s->store_error && !s->res->limit_reached &&
	    (e = fts_read(fts)) != NULL) {
		progress(s);
		switch (e->fts_info) {
		case FTS_D:
			if (e->fts_level == 0)
				root_dev = e->fts_statp->st_dev;
			else if (e->fts_statp->st_dev != root_dev &&
			    (!s->o->cross_fs || is_pseudo(e->fts_path))) {
				skipped(s, &s->res->other_fs, e->fts_path,
				    s->o->cross_fs ? "pseudo filesystem"
				                   : "another filesystem");
				fts_set(fts, e, FTS_SKIP);
				break;
			} else if (is_pseudo(e->fts_path)) {
				skipped(s, &s->res->special, e->fts_path,
				    "pseudo filesystem");
				fts_set(fts, e, FTS_SKIP);
				break;
			}
			s->res->dirs++;
			break;
		case FTS_DC:
			skipped(s, &s->res->special, e->fts_path,
			    "directory cycle");
			break;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			unreadable(s, e->fts_path, strerror(e->fts_errno));
			break;
		case FTS_F: scan_file(s, e->fts_path); break;
		case FTS_SL:
		case FTS_SLNONE: {
			struct stat st;
			if (stat(e->fts_path, &st) != 0)
				unreadable(s, e->fts_path,
				    errno == ELOOP ? "symbolic link loop"
				        : errno == ENOENT
				        ? "broken symbolic link"
				        : strerror(errno));
			else if (S_ISDIR(st.st_mode))
				skipped(s, &s->res->symlink_dirs, e->fts_path,
				    "symbolic link to a folder (not followed)");
			else if (S_ISREG(st.st_mode))
				scan_file(s, e->fts_path);
			else
				skipped(s, &s->res->special, e->fts_path,
				    "not a regular file");
			break;
		}
		case FTS_DEFAULT:
			skipped(s, &s->res->special, e->fts_path,
			    "not a regular file");
			break;
		default: break;
		}
	}
	fts_close(fts);
	free(abs);
}

static int
spki_cmp(const void *a, const void *b)
{
	/* spki then sha256: the certificates of a key are together, and
	 * one certificate seen in two files is two equal entries. */
	return memcmp(a, b, sizeof(struct spki));
}

static void
match_keys(struct scan *s)
{
	struct ck_fs_result *res = s->res;

	if (s->n_spki > 1) /* qsort may not be given NULL, even for 0 */
		qsort(s->spki_v, s->n_spki, sizeof(*s->spki_v), spki_cmp);
	for (size_t i = 0; i < res->n_key; i++) {
		struct ck_fs_key *k = &res->key_v[i];
		size_t lo = 0, hi = s->n_spki;

		if (k->info.has_spki) {
			while (lo < hi) { /* the first not below */
				size_t mid = lo + (hi - lo) / 2;
				if (memcmp(s->spki_v[mid].spki,
				        k->info.spki_sha256, 32) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (size_t j = lo; j < s->n_spki &&
			     memcmp(s->spki_v[j].spki, k->info.spki_sha256,
			         32) == 0;
			     j++) {
				if (j > lo &&
				    memcmp(s->spki_v[j].sha256,
				        s->spki_v[j - 1].sha256, 32) == 0)
					continue;
				if (k->n_matched++ == 0)
					memcpy(k->cert_sha256,
					    s->spki_v[j].sha256, 32);
			}
		}
		if (k->n_matched > 0)
			res->keys_matched++;
		else
			res->keys_unmatched++;
	}
}

int
ck_fs_scan(struct ck_store *st, const char *const *paths, size_t n_paths,
    const struct ck_fs_opts *opts, const char *actor, struct ck_fs_result *res,
    struct ck_err *err)
{
	struct scan s;
	struct ck_buf scope = CK_BUF_INIT;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.st = st;
	s.o = opts;
	s.res = res;
	s.actor = actor;
	s.err = err;
	s.max_size = opts->max_size ? opts->max_size : CK_FS_DEFAULT_MAX_SIZE;
	s.max_files =
	    opts->max_files > 0 ? opts->max_files : CK_FS_DEFAULT_MAX_FILES;
	s.batch = opts->batch > 0 ? opts->batch : CK_FS_DEFAULT_BATCH;
	s.now = ck_now();
	s.last_progress = ck_mono_ns();
	for (size_t i = 0; i < n_paths; i++)
		ck_buf_printf(&scope, "%s%s", i ? " " : "", paths[i]);
	s.scope = scope.p ? scope.p : "";
	for (size_t i = 0; i < n_paths && !s.store_error && !res->limit_reached;
	     i++)
		walk(&s, paths[i]);
	if (!s.store_error) {
		match_keys(&s);
		if (record_scan(&s) == 0)
			commit(&s, true);
	}
	r = s.store_error;
	ck_buf_release(&scope);
	ck_buf_release_secret(&s.data);
	ck_buf_release(&s.f_bad);
	free(s.spki_v);
	free(s.keyfiles);
	return r;
}

static void
problems_free(struct ck_fs_problem *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].reason);
	}
	free(v);
}

void
ck_fs_result_release(struct ck_fs_result *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->n_cert; i++)
		free(res->cert_v[i].path);
	free(res->cert_v);
	for (size_t i = 0; i < res->n_key; i++)
		free(res->key_v[i].path);
	free(res->key_v);
	problems_free(res->unreadable_v, res->n_unreadable);
	problems_free(res->skipped_v, res->n_skipped);
	problems_free(res->bad_v, res->n_bad);
	memset(res, 0, sizeof(*res));
}
