/*
 * The "pkcs12" target: the key, certificate and chain as one PKCS#12
 * bundle (what Java key stores, Windows and many appliances import),
 * under a password read from a file, written through the same
 * all-or-nothing file set as the file target. Modern algorithms (PBES2,
 * AES-256, SHA-256 MAC) unless legacy is asked for.
 */
#include "lifecycle/deploy_int.h"

#include <string.h>

#include "base/file.h"
#include "x509/x509.h"

/* A password file is a line, not a document. */
#define PASSWORD_MAX 1024

int
dp_pkcs12_stage(const struct dp_material *m, const struct ck_target_conf *c,
    struct dp_fileset *fs, struct ck_err *err)
{
	struct ck_buf pw = CK_BUF_INIT, p12 = CK_BUF_INIT;
	uid_t uid;
	gid_t gid;
	int r;

	if ((r = dp_owner_ids(c->owner, c->group, &uid, &gid, err)) != 0)
		return r;
	if ((r = ck_file_read(c->password_file, PASSWORD_MAX, &pw, err)) != 0) {
		ck_err_wrap(err, r, "password file %s", c->password_file);
		goto out;
	}
	/* the password is the first line, without its end of line */
	size_t n = 0;
	while (n < pw.len && pw.p[n] != '\n' && pw.p[n] != '\r')
		n++;
	if (memchr(pw.p, '\0', n) != NULL) {
		r = ck_err_set(err, CK_E_INVAL, "password file %s: NUL byte",
		    c->password_file);
		goto out;
	}
	ck_buf_addc(&pw, '\0'); /* room for the terminator */
	pw.p[n] = '\0';
	r = (c->legacy ? ck_x509_pkcs12_make_legacy : ck_x509_pkcs12_make)(
	    (const uint8_t *)m->leaf_der.p, m->leaf_der.len,
	    (const uint8_t *)m->key_pem.p, m->key_pem.len,
	    (const uint8_t *)m->chain_pem.p, m->chain_pem.len, pw.p, m->name,
	    &p12, err);
	if (r == 0)
		r = dp_fileset_stage(fs, c->p12, p12.p, p12.len,
		    c->mode >= 0 ? c->mode : 0600, uid, gid, err);
out:
	ck_buf_release_secret(&pw);
	ck_buf_release_secret(&p12);
	return r;
}
