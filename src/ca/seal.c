/*
 * Secrets at rest: the master key file and AES-256-GCM sealing of the CA
 * private keys under it. The master key never enters the database.
 */
#include "ca/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/file.h"
#include "base/mem.h"

#define NONCE_LEN 12
#define TAG_LEN 16

const char *
ck_master_key_path(const char *path)
{
	const char *e = getenv("CERTKEEP_MASTER_KEY_FILE");

	if (path != NULL && *path != '\0')
		return path;
	if (e != NULL && *e != '\0')
		return e;
	return "./var/master.key";
}

static int
create_key(const char *path, uint8_t key[CK_MASTER_KEY_LEN], struct ck_err *err)
{
	char *dir = ck_strdup(path), *slash = strrchr(dir, '/');
	int fd, r = 0;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	free(dir);
	if (RAND_bytes(key, CK_MASTER_KEY_LEN) != 1)
		return ck_err_set(
		    err, CK_E_CRYPTO, "master key: no randomness");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return ck_err_set(err, ck_errno_code(errno),
		    "master key file %s: %s", path, strerror(errno));
	if (write(fd, key, CK_MASTER_KEY_LEN) != CK_MASTER_KEY_LEN ||
	    fsync(fd) != 0) {
		r = ck_err_set(err, CK_E_IO, "master key file %s: %s", path,
		    strerror(errno));
		unlink(path);
	}
	close(fd);
	return r;
}

int
ck_master_key_load(const char *path, bool may_create,
    uint8_t key[CK_MASTER_KEY_LEN], struct ck_err *err)
{
	struct ck_buf b = CK_BUF_INIT;
	struct stat st;
	int r;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT && may_create)
			return create_key(path, key, err);
		return ck_err_set(err,
		    errno == ENOENT ? CK_E_NOTFOUND : ck_errno_code(errno),
		    "master key file %s: %s%s", path, strerror(errno),
		    errno == ENOENT ? " (the CA keys cannot be opened without "
		                      "it; set CERTKEEP_MASTER_KEY_FILE)"
		                    : "");
	}
	if ((st.st_mode & 077) != 0)
		return ck_err_set(err, CK_E_PERM,
		    "master key file %s is readable by group or others "
		    "(chmod 600 it)",
		    path);
	if ((r = ck_file_read(path, 4096, &b, err)) != 0) {
		ck_err_wrap(err, r, "master key file %s", path);
		goto out;
	}
	if (b.len != CK_MASTER_KEY_LEN) {
		r = ck_err_set(err, CK_E_PARSE,
		    "master key file %s holds %zu bytes, not %d", path, b.len,
		    CK_MASTER_KEY_LEN);
		goto out;
	}
	memcpy(key, b.p, CK_MASTER_KEY_LEN);
out:
	ck_buf_release_secret(&b);
	return r;
}

int
ck_seal(const uint8_t key[CK_MASTER_KEY_LEN], const char *aad,
    const uint8_t *plain, size_t len, struct ck_buf *out, struct ck_err *err)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t *p;
	int n, r = 0;

	ck_buf_reset(out);
	ck_buf_reserve(out, NONCE_LEN + len + TAG_LEN);
	p = (uint8_t *)out->p;
	if (c == NULL || RAND_bytes(p, NONCE_LEN) != 1 ||
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, p) != 1 ||
	    EVP_EncryptUpdate(
	        c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(c, p + NONCE_LEN, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, p + NONCE_LEN + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
	        c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, p + NONCE_LEN + len) != 1)
		r = ck_err_set(err, CK_E_CRYPTO, "sealing a key failed");
	else
		out->len = NONCE_LEN + len + TAG_LEN;
	EVP_CIPHER_CTX_free(c);
	return r;
}

int
ck_unseal(const uint8_t key[CK_MASTER_KEY_LEN], const char *aad,
    const uint8_t *sealed, size_t len, struct ck_buf *out, struct ck_err *err)
{
	EVP_CIPHER_CTX *c;
	size_t clen;
	int n, r = 0;

	ck_buf_reset(out);
	if (len < NONCE_LEN + TAG_LEN)
		return ck_err_set(err, CK_E_CRYPTO, "sealed key is truncated");
	clen = len - NONCE_LEN - TAG_LEN;
	ck_buf_reserve(out, clen);
	c = EVP_CIPHER_CTX_new();
	if (c == NULL ||
	    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, sealed) != 1 ||
	    EVP_DecryptUpdate(
	        c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(
	        c, (uint8_t *)out->p, &n, sealed + NONCE_LEN, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	        (void *)(sealed + NONCE_LEN + clen)) != 1 ||
	    EVP_DecryptFinal_ex(c, (uint8_t *)out->p + n, &n) != 1) {
		ck_buf_release_secret(out);
		r = ck_err_set(err, CK_E_CRYPTO,
		    "the master key does not open this key (wrong master key "
		    "file, or the stored key was changed)");
	} else {
		out->len = clen;
		out->p[clen] = '\0';
	}
	EVP_CIPHER_CTX_free(c);
	return r;
}
