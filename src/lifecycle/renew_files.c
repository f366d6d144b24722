/*
 * The files of managed certificates (key_out, cert_out, fullchain_out):
 * written to temporary names, made durable with one syncfs per folder and
 * batch, renamed into place key first, the folders synced; and written
 * again from the sealed key and the inventory when a crash came between
 * the commit of an issuance and its files (written_cert_id).
 */
#include "lifecycle/renew_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "ca/ca.h"
#include "x509/x509.h"

static int
write_tmp(const char *path, const void *p, size_t n, mode_t mode, char *tmp,
    size_t tmp_len)
{
	int fd;
	ssize_t k;

	snprintf(tmp, tmp_len, "%s.ck-%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	(void)fchmod(fd, mode); /* umask does not narrow what was asked */
	while (n > 0) {
		k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = errno ? errno : EIO;
			close(fd);
			unlink(tmp);
			return -e;
		}
		p = (const char *)p + k;
		n -= (size_t)k;
	}
	if (close(fd) != 0)
		return -errno;
	return 0;
}

/*
 * Writes the files of the works that issued, each to a temporary name;
 * makes them durable with one syncfs per folder and batch (a per-file
 * fsync would cost more than the signing); then renames each into place,
 * key first, and syncs the folders. A work whose write fails keeps its
 * old files and is written again on the next pass (written_cert_id).
 */
struct pending_file {
	char *path, *tmp;
	struct work *w;
};

static int
stage(struct pending_file **pf, size_t *n, size_t *cap, struct work *w,
    const char *path, const void *p, size_t len, mode_t mode)
{
	char tmp[PATH_MAX + 32];
	int r;

	if (path == NULL || path[0] == '\0')
		return 0;
	if ((r = write_tmp(path, p, len, mode, tmp, sizeof(tmp))) != 0) {
		ck_err_set(
		    &w->err, CK_E_IO, "writing %s: %s", path, strerror(-r));
		return r;
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*pf = ck_realloc(*pf, *cap * sizeof(**pf));
	}
	(*pf)[*n].path = ck_strdup(path);
	(*pf)[*n].tmp = ck_strdup(tmp);
	(*pf)[*n].w = w;
	(*n)++;
	return 0;
}

/*
 * Syncs the folder of path (fsync), or with whole_fs its filesystem
 * (syncfs) unless a filesystem of the same device is in seen[0..*n):
 * one syncfs per filesystem and batch, however many folders.
 */
static void
sync_folder_of(const char *path, bool whole_fs, dev_t *seen, size_t *n)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat sb;
	int fd;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
	    slash ? path : ".");
	if (dir[0] == '\0')
		strcpy(dir, "/");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (!whole_fs)
		(void)fsync(fd);
	else if (fstat(fd, &sb) == 0) {
		size_t i;
		for (i = 0; i < *n && seen[i] != sb.st_dev; i++)
			;
		if (i == *n) {
			(void)syncfs(fd);
			if (*n < 16)
				seen[(*n)++] = sb.st_dev;
		}
	}
	close(fd);
}

static bool
same_folder(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	return sa && sb && sa - a == sb - b &&
	    memcmp(a, b, (size_t)(sa - a)) == 0;
}

void
renew_write_files(struct work *w, size_t n)
{
	struct pending_file *pf = NULL;
	size_t npf = 0, cap = 0, i;

	for (i = 0; i < n; i++) {
		struct work *x = &w[i];
		struct ck_buf full = CK_BUF_INIT, leaf = CK_BUF_INIT;
		size_t before = npf;

		if (x->code != 0 || x->new_cert_id == 0)
			continue;
		if (!x->key_out[0] && !x->cert_out[0] && !x->chain_out[0])
			continue;
		ck_pem_encode("CERTIFICATE", x->der, x->der_len, &leaf);
		ck_buf_add(&full, leaf.p, leaf.len);
		ck_buf_add(&full, x->chain_pem.p, x->chain_pem.len);
		if (stage(&pf, &npf, &cap, x, x->key_out, x->key_pem.p,
		        x->key_pem.len, 0600) != 0 ||
		    stage(&pf, &npf, &cap, x, x->cert_out, leaf.p, leaf.len,
		        0644) != 0 ||
		    stage(&pf, &npf, &cap, x, x->chain_out, full.p, full.len,
		        0644) != 0) {
			/* all or none of this one's files */
			for (size_t k = before; k < npf; k++) {
				unlink(pf[k].tmp);
				free(pf[k].path);
				free(pf[k].tmp);
			}
			npf = before;
			x->new_cert_id = -x->new_cert_id; /* not written */
			if (x->rw != NULL)
				x->rw->files_dirty = true;
		}
		ck_buf_release(&leaf);
		ck_buf_release(&full);
	}
	/* one syncfs per filesystem; a folder's files come in a run */
	dev_t seen[16];
	size_t n_seen = 0;
	for (i = 0; i < npf; i++)
		if (i == 0 || !same_folder(pf[i].path, pf[i - 1].path))
			sync_folder_of(pf[i].path, true, seen, &n_seen);
	for (i = 0; i < npf; i++) {
		if (rename(pf[i].tmp, pf[i].path) != 0) {
			ck_err_set(&pf[i].w->err, CK_E_IO, "renaming %s: %s",
			    pf[i].path, strerror(errno));
			unlink(pf[i].tmp);
			if (pf[i].w->new_cert_id > 0)
				pf[i].w->new_cert_id = -pf[i].w->new_cert_id;
			if (pf[i].w->rw != NULL)
				pf[i].w->rw->files_dirty = true;
		}
	}
	for (i = 0; i < npf; i++)
		if (i == 0 || !same_folder(pf[i].path, pf[i - 1].path))
			sync_folder_of(pf[i].path, false, NULL, NULL);
	for (i = 0; i < npf; i++) {
		free(pf[i].path);
		free(pf[i].tmp);
	}
	free(pf);
}

/* The leaf (first row) and its issuers (PEM) of a stored chain. */
int
renew_chain_rows(void *ctx, const struct ck_cert_row *row)
{
	struct work *w = ctx;

	if (w->der == NULL) {
		w->der = ck_memdup(row->der, row->der_len);
		w->der_len = row->der_len;
	} else if (!row->self_issued || row->is_ca)
		ck_pem_encode(
		    "CERTIFICATE", row->der, row->der_len, &w->chain_pem);
	return 0;
}

static int
collect_unwritten(void *ctx, const struct ck_managed_row *m)
{
	struct claimed *c = ctx;
	struct work *w;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->w = ck_realloc(c->w, c->cap * sizeof(*c->w));
	}
	w = &c->w[c->n++];
	memset(w, 0, sizeof(*w));
	w->name = ck_strdup(m->name);
	(void)renew_take_row(w, m);
	return 0;
}

/*
 * Files that do not hold the current certificate (a crash came between
 * the commit and the rename, or a write failed) are written again from
 * the sealed key and the inventory.
 */
int
renew_rewrite_files(struct ck_renewer *rw, const uint8_t *mk,
    struct ck_renew_stats *stats, struct ck_err *err)
{
	struct ck_managed_filter f = {
	    .with_key = true, .unwritten = true, .limit = 1000};
	struct claimed c = {0};
	int r;

	if ((r = ck_store_managed_list(
	         rw->st, &f, collect_unwritten, &c, err)) != 0)
		goto out;
	for (size_t i = 0; i < c.n; i++) {
		struct work *w = &c.w[i];
		struct ck_buf der = CK_BUF_INIT;
		char aad[200];

		snprintf(aad, sizeof(aad), "managed:%s", w->name);
		w->code = -1;
		if (w->old_key_sealed.len == 0 ||
		    ck_unseal(mk, aad, (const uint8_t *)w->old_key_sealed.p,
		        w->old_key_sealed.len, &w->key_pem, &w->err) != 0 ||
		    ck_store_chain(rw->st, w->cert_id, renew_chain_rows, w,
		        &w->err) != 0 ||
		    w->der == NULL)
			continue;
		w->code = 0;
		w->new_cert_id = w->cert_id;
		ck_buf_release(&der);
	}
	renew_write_files(c.w, c.n);
	if ((r = ck_store_begin(rw->st, err)) != 0)
		goto out;
	for (size_t i = 0; i < c.n && r == 0; i++)
		if (c.w[i].code == 0 && c.w[i].new_cert_id > 0) {
			stats->written++;
			r = ck_store_managed_written(
			    rw->st, c.w[i].name, c.w[i].new_cert_id, err);
		}
	if (r == 0)
		r = ck_store_commit(rw->st, err);
	else
		ck_store_rollback(rw->st);
out:
	for (size_t i = 0; i < c.n; i++)
		renew_work_release(&c.w[i]);
	free(c.w);
	return r;
}
