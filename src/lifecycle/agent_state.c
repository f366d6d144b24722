/*
 * The agent's state folder (agent_int.h): atomic writes, and the bundles
 * of key, leaf and chain it keeps per certificate and for itself.
 */
#include "lifecycle/agent_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "x509/x509.h"

int
ag_path(
    const char *dir, const char *rel, char *out, size_t cap, struct ck_err *err)
{
	int n = snprintf(out, cap, "%s/%s", dir, rel);

	if (n < 0 || (size_t)n >= cap)
		return ck_err_set(
		    err, CK_E_INVAL, "%s/%s: path too long", dir, rel);
	return 0;
}

bool
ag_name_ok(const char *name)
{
	size_t n = strlen(name);

	/* it names files here and goes into URLs unescaped */
	return n > 0 && n < 200 && *name != '.' &&
	    strspn(name,
	        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	        "0123456789._-") == n;
}

int
ag_write(const char *path, const void *p, size_t n, unsigned mode,
    struct ck_err *err)
{
	char tmp[4200], dcopy[4200];
	const char *c = p;
	int fd, dfd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ck_err_set(err, CK_E_INVAL, "%s: path too long", path);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	         (mode_t)mode)) < 0)
		return ck_err_set(
		    err, ck_errno_code(errno), "%s: %s", tmp, strerror(errno));
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = ck_err_set(err, ck_errno_code(errno), "%s: %s", tmp,
			    strerror(errno));
			break;
		}
		c += w;
		n -= (size_t)w;
	}
	if (r == 0 && fsync(fd) != 0)
		r = ck_err_set(err, ck_errno_code(errno), "%s: fsync: %s", tmp,
		    strerror(errno));
	close(fd);
	if (r == 0 && rename(tmp, path) != 0)
		r = ck_err_set(
		    err, ck_errno_code(errno), "%s: %s", path, strerror(errno));
	if (r != 0) {
		(void)unlink(tmp);
		return r;
	}
	/* the rename itself must survive a power cut */
	snprintf(dcopy, sizeof(dcopy), "%s", path);
	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >=
	    0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int
ag_read(const char *path, struct ck_buf *out, struct ck_err *err)
{
	int r;

	if (access(path, F_OK) != 0)
		return ck_err_set(err, CK_E_NOTFOUND, "%s: missing", path);
	if ((r = ck_file_read(path, 4u << 20, out, err)) == 0)
		ck_buf_addc(out, '\0'), out->len--;
	return r;
}

void
ag_bundle_release(struct ag_bundle *b)
{
	ck_buf_release_secret(&b->key);
	ck_buf_release(&b->leaf);
	ck_buf_release(&b->chain);
}

/* The PEM blocks of pem, each to the buffer its label says. */
int
ag_bundle_parse(
    const char *pem, size_t len, struct ag_bundle *b, struct ck_err *err)
{
	const char *p = pem, *end = pem + len;
	struct ck_buf der = CK_BUF_INIT;
	struct ck_cert *c = NULL;
	int r;

	memset(b, 0, sizeof(*b));
	while (p < end) {
		const char *s = strstr(p, "-----BEGIN ");
		const char *e, *e2;
		if (s == NULL)
			break;
		if ((e = strstr(s, "-----END ")) == NULL ||
		    (e2 = strstr(e + 9, "-----")) == NULL)
			break;
		e2 += 5;
		if (*e2 == '\n')
			e2++;
		if (strncmp(s + 11, "CERTIFICATE-----", 16) == 0)
			ck_buf_add(b->leaf.len == 0 ? &b->leaf : &b->chain, s,
			    (size_t)(e2 - s));
		else if (strstr(s, "PRIVATE KEY-----") != NULL &&
		    strstr(s, "PRIVATE KEY-----") < e)
			ck_buf_add(&b->key, s, (size_t)(e2 - s));
		p = e2;
	}
	ck_buf_addc(&b->leaf, '\0'), b->leaf.len--;
	ck_buf_addc(&b->chain, '\0'), b->chain.len--;
	ck_buf_addc(&b->key, '\0'), b->key.len--;
	if (b->key.len == 0 || b->leaf.len == 0) {
		ag_bundle_release(b);
		return ck_err_set(
		    err, CK_E_PARSE, "want a key and a certificate");
	}
	if ((r = ck_x509_first((const uint8_t *)b->leaf.p, b->leaf.len,
	         CK_ITEM_CERT, &der, err)) == 0 &&
	    (r = ck_x509_parse((const uint8_t *)der.p, der.len, CK_PARSE_CORE,
	         &c, err)) == 0) {
		for (int i = 0; i < 32; i++)
			snprintf(b->sha256 + 2 * i, 3, "%02x", c->sha256[i]);
		b->not_before = c->not_before;
		b->not_after = c->not_after;
	}
	ck_cert_free(c);
	ck_buf_release(&der);
	if (r != 0)
		ag_bundle_release(b);
	return r;
}
