/*
 * The "file" target and the all-or-nothing file set that the file and
 * PKCS#12 targets share (deploy_int.h). Every new file is written to a
 * temporary name beside its final one and fsynced before any is renamed,
 * so a full disk or an unwritable folder fails before anything changed;
 * the renames come one after the other, each atomic, and a failure among
 * them puts back what was renamed. A process killed between two renames
 * leaves each file whole (old or new) and the target's row in state
 * "deploying"; the next deployment (after the job's lease) completes it.
 */
#include "lifecycle/deploy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"

/* CERTKEEP_DEPLOY_FSYNC=0 skips the fsyncs: for bench/deploy, which
 * measures what they cost; never for real use. */
static bool
durable(void)
{
	const char *e = getenv("CERTKEEP_DEPLOY_FSYNC");
	return e == NULL || strcmp(e, "0") != 0;
}

static int
io_fail(struct ck_err *err, const char *what, const char *path, int e)
{
	return ck_err_set(err, e == EACCES || e == EPERM ? CK_E_PERM : CK_E_IO,
	    "%s %s: %s", what, path, strerror(e));
}

static void
sync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int
dp_owner_ids(const char *owner, const char *group, uid_t *uid, gid_t *gid,
    struct ck_err *err)
{
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (owner != NULL && owner[0] != '\0') {
		struct passwd *pw = getpwnam(owner);
		if (pw == NULL)
			return ck_err_set(
			    err, CK_E_INVAL, "no user '%s'", owner);
		*uid = pw->pw_uid;
	}
	if (group != NULL && group[0] != '\0') {
		struct group *gr = getgrnam(group);
		if (gr == NULL)
			return ck_err_set(
			    err, CK_E_INVAL, "no group '%s'", group);
		*gid = gr->gr_gid;
	}
	return 0;
}

int
dp_fileset_stage(struct dp_fileset *fs, const char *path, const void *p,
    size_t len, int mode, uid_t uid, gid_t gid, struct ck_err *err)
{
	char tmp[PATH_MAX + 16];
	const char *c = p;
	int fd, e = 0;

	if (strlen(path) >= PATH_MAX)
		return ck_err_set(
		    err, CK_E_INVAL, "path too long: %.64s...", path);
	snprintf(tmp, sizeof(tmp), "%s.ck-tmp", path);
	/* a temporary file left by a killed deployer is replaced; O_EXCL so
	 * that a link planted there is not followed */
	(void)unlink(tmp);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return io_fail(err, "writing", path, errno);
	while (len > 0) {
		ssize_t k = write(fd, c, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			e = k < 0 ? errno : EIO;
			break;
		}
		c += k;
		len -= (size_t)k;
	}
	/* owner before mode: chown may clear set-id bits, and the mode is
	 * set on a file nobody else can open yet */
	if (e == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) != 0)
		e = errno;
	if (e == 0 && fchmod(fd, (mode_t)mode) != 0)
		e = errno;
	if (e == 0 && durable() && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e != 0) {
		unlink(tmp);
		return io_fail(err, "writing", path, e);
	}
	fs->f = ck_realloc(fs->f, (fs->n + 1) * sizeof(*fs->f));
	struct dp_file *f = &fs->f[fs->n++];
	memset(f, 0, sizeof(*f));
	f->path = ck_strdup(path);
	f->tmp = ck_strdup(tmp);
	f->prev = ck_malloc(strlen(path) + sizeof(".ck-prev"));
	sprintf(f->prev, "%s.ck-prev", path);
	return 0;
}

/* A pause between two renames, for the kill test only
 * (CERTKEEP_DEPLOY_TEST_PAUSE=seconds). */
static void
test_pause(void)
{
	const char *e = getenv("CERTKEEP_DEPLOY_TEST_PAUSE");
	if (e != NULL && atoi(e) > 0)
		sleep((unsigned)atoi(e));
}

int
dp_fileset_commit(struct dp_fileset *fs, struct ck_err *err)
{
	struct stat sb;
	size_t i;
	int r = 0;

	for (i = 0; i < fs->n; i++) {
		struct dp_file *f = &fs->f[i];

		if (i > 0)
			test_pause();
		f->had_old = lstat(f->path, &sb) == 0;
		if (f->had_old) {
			/* the backup is the old file itself (a second name),
			 * so it keeps its owner and mode and costs no space */
			if ((unlink(f->prev) != 0 && errno != ENOENT) ||
			    link(f->path, f->prev) != 0) {
				r = io_fail(
				    err, "keeping a backup of", f->path, errno);
				f->had_old = false;
				break;
			}
		}
		if (rename(f->tmp, f->path) != 0) {
			r = io_fail(err, "renaming into", f->path, errno);
			break;
		}
		f->renamed = true;
	}
	if (r != 0)
		(void)dp_fileset_restore(fs, NULL);
	if (durable())
		for (i = 0; i < fs->n; i++)
			if (i == 0 || strcmp(fs->f[i].path, fs->f[i - 1].path))
				sync_dir_of(fs->f[i].path);
	return r;
}

int
dp_fileset_restore(struct dp_fileset *fs, struct ck_err *err)
{
	int r = 0;

	for (size_t i = fs->n; i-- > 0;) {
		struct dp_file *f = &fs->f[i];

		if (!f->renamed)
			continue;
		if (f->had_old ? rename(f->prev, f->path) != 0
		               : unlink(f->path) != 0) {
			if (r == 0)
				r = io_fail(err, "restoring", f->path, errno);
			continue;
		}
		f->renamed = false;
	}
	if (durable())
		for (size_t i = 0; i < fs->n; i++)
			sync_dir_of(fs->f[i].path);
	return r;
}

void
dp_fileset_release(struct dp_fileset *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		if (!fs->f[i].renamed)
			(void)unlink(fs->f[i].tmp);
		free(fs->f[i].path);
		free(fs->f[i].tmp);
		free(fs->f[i].prev);
	}
	free(fs->f);
	fs->f = NULL;
	fs->n = 0;
}

int
dp_file_stage(const struct dp_material *m, const struct ck_target_conf *c,
    struct dp_fileset *fs, struct ck_err *err)
{
	int cert_mode = c->mode >= 0 ? c->mode : 0644;
	int key_mode = c->mode >= 0 ? c->mode : 0600;
	uid_t uid;
	gid_t gid;
	int r;

	if ((r = dp_owner_ids(c->owner, c->group, &uid, &gid, err)) != 0)
		return r;
	/* the key first: a reader that sees a new certificate finds its key */
	if (c->key != NULL &&
	    (r = dp_fileset_stage(fs, c->key, m->key_pem.p, m->key_pem.len,
	         key_mode, uid, gid, err)) != 0)
		return r;
	if (c->cert != NULL &&
	    (r = dp_fileset_stage(fs, c->cert, m->leaf_pem.p, m->leaf_pem.len,
	         cert_mode, uid, gid, err)) != 0)
		return r;
	if (c->chain != NULL &&
	    (r = dp_fileset_stage(fs, c->chain, m->chain_pem.p,
	         m->chain_pem.len, cert_mode, uid, gid, err)) != 0)
		return r;
	if (c->fullchain != NULL &&
	    (r = dp_fileset_stage(fs, c->fullchain, m->full_pem.p,
	         m->full_pem.len, cert_mode, uid, gid, err)) != 0)
		return r;
	return 0;
}
