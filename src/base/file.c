/*
 * Bounded file reading shared by import, config and key loading.
 */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
ck_errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR: return CK_E_NOTFOUND;
	case EACCES:
	case EPERM: return CK_E_PERM;
	case ENOSPC:
	case EDQUOT: return CK_E_FULL;
	case EFBIG: return CK_E_TOO_LARGE;
	default: return CK_E_IO;
	}
}

int
ck_file_read(
    const char *path, size_t max, struct ck_buf *out, struct ck_err *err)
{
	struct stat st;
	int fd, r = 0;
	ssize_t n;

	ck_buf_reset(out);
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return ck_err_set(
		    err, ck_errno_code(errno), "%s", strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size > max) {
		r = ck_err_set(err, CK_E_TOO_LARGE,
		    "file is %lld bytes, larger than the limit of %zu",
		    (long long)st.st_size, max);
		goto out;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		r = ck_err_set(err, CK_E_INVAL, "is a directory");
		goto out;
	}
	for (;;) {
		ck_buf_reserve(out, 65536);
		n = read(fd, out->p + out->len, out->cap - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = ck_err_set(
			    err, ck_errno_code(errno), "%s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->p[out->len] = '\0';
		if (out->len > max) {
			r = ck_err_set(err, CK_E_TOO_LARGE,
			    "input larger than the limit of %zu bytes", max);
			goto out;
		}
	}
out:
	if (fd != STDIN_FILENO)
		close(fd);
	if (r != 0)
		ck_buf_reset(out);
	return r;
}
