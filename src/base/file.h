/*
 * Reading whole files and streams with a size limit, so that a 1 GiB file
 * or an endless pipe is refused with CK_E_TOO_LARGE instead of exhausting
 * memory.
 */
#ifndef CK_BASE_FILE_H
#define CK_BASE_FILE_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/*
 * Reads path (or stdin when path is "-") into out, which the caller owns and
 * releases. Fails with CK_E_TOO_LARGE above max bytes, CK_E_PERM or
 * CK_E_NOTFOUND or CK_E_IO with the reason in err.
 */
int ck_file_read(
    const char *path, size_t max, struct ck_buf *out, struct ck_err *err);

/* Maps errno to a CK_E_* code. */
int ck_errno_code(int e);

#endif
