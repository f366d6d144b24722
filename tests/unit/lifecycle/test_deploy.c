/*
 * Unit tests for deployment: the file set is all or nothing (a failure
 * among the renames puts back the files already renamed; an unwritable
 * folder leaves nothing behind), keeps the previous files as .ck-prev and
 * restores them, sets owner and mode; PKCS#12 bundles open with their
 * password through OpenSSL, with modern or legacy algorithms; the process
 * runner records exit status and bounded output and kills a hung command
 * with its children at the timeout; a command target whose reload fails
 * runs its --rollback script and the reload again, and is failed without
 * one.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "base/clock.h"
#include "lifecycle/deploy_int.h"
#include "x509/x509.h"

static char dir[64];

static void
mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ck-deploy-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
rm_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void
put(const char *name, const char *text)
{
	char p[128];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static char *
get(const char *name)
{
	static char buf[4096];
	char p[128];
	FILE *f;
	size_t n;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *
path(const char *name)
{
	static char p[4][128];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static bool
exists(const char *name)
{
	return access(path(name), F_OK) == 0;
}

TestSuite(fileset, .init = mkdir_tmp, .fini = rm_tmp);

Test(fileset, commit_keeps_backups_and_restore_puts_them_back)
{
	struct dp_fileset fs = {0};
	struct ck_err err = {0};
	struct stat sb;

	put("cert.pem", "old cert\n");
	put("key.pem", "old key\n");
	cr_assert_eq(dp_fileset_stage(&fs, path("key.pem"), "new key\n", 8,
	                 0600, (uid_t)-1, (gid_t)-1, &err),
	    0, "%s", err.msg);
	cr_assert_eq(dp_fileset_stage(&fs, path("cert.pem"), "new cert\n", 9,
	                 0644, (uid_t)-1, (gid_t)-1, &err),
	    0);
	cr_assert_eq(dp_fileset_stage(&fs, path("full.pem"), "new full\n", 9,
	                 0644, (uid_t)-1, (gid_t)-1, &err),
	    0);
	/* staged, not yet in place */
	cr_assert_str_eq(get("cert.pem"), "old cert\n");
	cr_assert(exists("cert.pem.ck-tmp"));
	cr_assert_eq(dp_fileset_commit(&fs, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get("cert.pem"), "new cert\n");
	cr_assert_str_eq(get("key.pem"), "new key\n");
	cr_assert_str_eq(get("full.pem"), "new full\n");
	cr_assert_str_eq(get("cert.pem.ck-prev"), "old cert\n");
	cr_assert_str_eq(get("key.pem.ck-prev"), "old key\n");
	cr_assert(!exists("full.pem.ck-prev")); /* there was none */
	cr_assert(!exists("cert.pem.ck-tmp"));
	cr_assert_eq(stat(path("key.pem"), &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(stat(path("cert.pem"), &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0644);
	/* a failed reload: everything as it was */
	cr_assert_eq(dp_fileset_restore(&fs, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get("cert.pem"), "old cert\n");
	cr_assert_str_eq(get("key.pem"), "old key\n");
	cr_assert(!exists("full.pem"));
	dp_fileset_release(&fs);
}

Test(fileset, a_failure_among_the_renames_puts_back_the_first)
{
	struct dp_fileset fs = {0};
	struct ck_err err = {0};
	char sub[128];

	put("a.pem", "old a\n");
	/* the second target is a folder: it cannot be backed up nor
	 * replaced, after a.pem was already renamed */
	snprintf(sub, sizeof(sub), "%s/b.pem", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	put("b.pem/inside", "x");
	cr_assert_eq(dp_fileset_stage(&fs, path("a.pem"), "new a\n", 6, 0644,
	                 (uid_t)-1, (gid_t)-1, &err),
	    0);
	cr_assert_eq(dp_fileset_stage(&fs, path("b.pem"), "new b\n", 6, 0644,
	                 (uid_t)-1, (gid_t)-1, &err),
	    0);
	cr_assert_neq(dp_fileset_commit(&fs, &err), 0);
	cr_assert(strstr(err.msg, "b.pem") != NULL, "%s", err.msg);
	cr_assert_str_eq(get("a.pem"), "old a\n");
	dp_fileset_release(&fs);
	cr_assert(!exists("a.pem.ck-tmp"));
	cr_assert(!exists("b.pem.ck-tmp"));
}

Test(fileset, an_unwritable_folder_leaves_nothing)
{
	struct dp_fileset fs = {0};
	struct ck_err err = {0};

	put("file", "a file, not a folder\n");
	cr_assert_eq(dp_fileset_stage(&fs, path("ok.pem"), "x\n", 2, 0644,
	                 (uid_t)-1, (gid_t)-1, &err),
	    0);
	cr_assert_eq(dp_fileset_stage(&fs, path("file/key.pem"), "k\n", 2, 0600,
	                 (uid_t)-1, (gid_t)-1, &err),
	    CK_E_IO);
	cr_assert(strstr(err.msg, "Not a directory") != NULL, "%s", err.msg);
	dp_fileset_release(&fs);
	cr_assert(!exists("ok.pem"));
	cr_assert(!exists("ok.pem.ck-tmp"));
}

Test(fileset, owner_group_and_mode)
{
	struct dp_fileset fs = {0};
	struct ck_err err = {0};
	struct stat sb;
	uid_t uid;
	gid_t gid;

	cr_assert_eq(dp_owner_ids("no-such-user-ck", NULL, &uid, &gid, &err),
	    CK_E_INVAL);
	if (geteuid() != 0 || getpwnam("nobody") == NULL ||
	    getgrnam("nogroup") == NULL)
		cr_skip_test("needs root, nobody and nogroup");
	cr_assert_eq(dp_owner_ids("nobody", "nogroup", &uid, &gid, &err), 0);
	cr_assert_eq(dp_fileset_stage(
	                 &fs, path("k.pem"), "k\n", 2, 0640, uid, gid, &err),
	    0, "%s", err.msg);
	cr_assert_eq(dp_fileset_commit(&fs, &err), 0);
	cr_assert_eq(stat(path("k.pem"), &sb), 0);
	cr_assert_eq(sb.st_uid, uid);
	cr_assert_eq(sb.st_gid, gid);
	cr_assert_eq(sb.st_mode & 07777, 0640);
	dp_fileset_release(&fs);
}

/* ---- PKCS#12 ---- */

static void
self_signed(struct dp_material *m)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	unsigned char *der = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"p12.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	len = i2d_X509(x, &der);
	ck_buf_add(&m->leaf_der, der, (size_t)len);
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &p);
	ck_buf_add(&m->key_pem, p, (size_t)n);
	m->name = "p12";
	OPENSSL_free(der);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(k);
}

static PKCS12 *
bundle(bool legacy, struct dp_material *m)
{
	struct ck_target_conf c = {.mode = -1, .legacy = legacy};
	struct dp_fileset fs = {0};
	struct ck_err err = {0};
	PKCS12 *p12;
	FILE *f;

	put("pw", "pass word\n");
	c.p12 = (char *)path("b.p12");
	c.password_file = (char *)path("pw");
	self_signed(m);
	cr_assert_eq(dp_pkcs12_stage(m, &c, &fs, &err), 0, "%s", err.msg);
	cr_assert_eq(dp_fileset_commit(&fs, &err), 0);
	dp_fileset_release(&fs);
	cr_assert_not_null(f = fopen(path("b.p12"), "rb"));
	p12 = d2i_PKCS12_fp(f, NULL);
	fclose(f);
	cr_assert_not_null(p12);
	return p12;
}

static int
mac_nid(PKCS12 *p12)
{
	const X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	PKCS12_get0_mac(NULL, &alg, NULL, NULL, p12);
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	return OBJ_obj2nid(obj);
}

/* The algorithm of the encrypted bag of certificates. */
static int
cert_bag_nid(PKCS12 *p12)
{
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	int nid = NID_undef;

	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		if (OBJ_obj2nid(p7->type) == NID_pkcs7_encrypted)
			nid = OBJ_obj2nid(
			    p7->d.encrypted->enc_data->algorithm->algorithm);
	}
	sk_PKCS7_pop_free(safes, PKCS7_free);
	return nid;
}

static void
opens(PKCS12 *p12, const struct dp_material *m)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	unsigned char *der = NULL;
	int n;

	cr_assert_eq(PKCS12_verify_mac(p12, "wrong", -1), 0);
	cr_assert_eq(PKCS12_parse(p12, "pass word", &k, &x, NULL), 1);
	cr_assert_not_null(k);
	n = i2d_X509(x, &der);
	cr_assert_eq((size_t)n, m->leaf_der.len);
	cr_assert_eq(memcmp(der, m->leaf_der.p, (size_t)n), 0);
	cr_assert_eq(X509_check_private_key(x, k), 1);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

TestSuite(pkcs12, .init = mkdir_tmp, .fini = rm_tmp);

Test(pkcs12, modern_opens_with_the_password_file)
{
	struct dp_material m = {0};
	PKCS12 *p12 = bundle(false, &m);
	struct stat sb;

	opens(p12, &m);
	cr_assert_eq(mac_nid(p12), NID_sha256);
	cr_assert_eq(cert_bag_nid(p12), NID_pbes2);
	cr_assert_eq(stat(path("b.p12"), &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	PKCS12_free(p12);
	dp_material_release(&m);
}

Test(pkcs12, legacy_is_3des_and_sha1)
{
	struct dp_material m = {0};
	PKCS12 *p12 = bundle(true, &m);

	opens(p12, &m);
	cr_assert_eq(mac_nid(p12), NID_sha1);
	cr_assert_eq(cert_bag_nid(p12), NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
	PKCS12_free(p12);
	dp_material_release(&m);
}

/* ---- processes ---- */

Test(run, exit_status_and_output)
{
	struct ck_buf out = CK_BUF_INIT;
	struct ck_err err = {0};
	char *env[] = {"CK_T=from env", NULL};
	int status = -1;

	cr_assert_eq(dp_run("cat; echo \"$CK_T\"; echo oops >&2; exit 4", env,
	                 "in\n", 3, 5, &status, &out, &err),
	    0, "%s", err.msg);
	cr_assert_eq(status, 4);
	ck_buf_addc(&out, '\0');
	cr_assert_str_eq(out.p, "in\nfrom env\noops\n");
	ck_buf_release(&out);
}

Test(run, output_is_bounded)
{
	struct ck_buf out = CK_BUF_INIT;
	struct ck_err err = {0};
	int status = -1;

	cr_assert_eq(dp_run("head -c 100000 /dev/zero | tr '\\0' x", NULL, NULL,
	                 0, 5, &status, &out, &err),
	    0);
	cr_assert_eq(status, 0);
	cr_assert_lt(out.len, CK_DEPLOY_OUTPUT_MAX + 64);
	ck_buf_addc(&out, '\0');
	cr_assert(strstr(out.p, "bytes not kept") != NULL);
	ck_buf_release(&out);
}

/* Running: a zombie (killed, not yet reaped by init) is not. */
static bool
alive(pid_t pid)
{
	char p[64], st = '?';
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if ((f = fopen(p, "r")) == NULL)
		return false;
	if (fscanf(f, "%*d %*s %c", &st) != 1)
		st = '?';
	fclose(f);
	return st != 'Z' && st != 'X';
}

Test(run, a_hung_command_is_killed_with_its_children)
{
	struct ck_buf out = CK_BUF_INIT;
	struct ck_err err = {0};
	char pidfile[64], cmd[200];
	uint64_t t0 = ck_mono_ns();
	int status = -1;
	long child = 0;
	FILE *f;

	snprintf(pidfile, sizeof(pidfile), "/tmp/ck-run-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! >%s; wait", pidfile);
	cr_assert_eq(
	    dp_run(cmd, NULL, NULL, 0, 1, &status, &out, &err), CK_E_TIMEOUT);
	cr_assert_lt(ck_mono_ns() - t0, 3000000000ull);
	cr_assert(strstr(err.msg, "killed after 1 s") != NULL, "%s", err.msg);
	cr_assert_not_null(f = fopen(pidfile, "r"));
	cr_assert_eq(fscanf(f, "%ld", &child), 1);
	fclose(f);
	unlink(pidfile);
	usleep(100000);
	cr_assert(!alive((pid_t)child), "the child survived");
	ck_buf_release(&out);
}

/* ---- a command target taken back ---- */

TestSuite(command, .init = mkdir_tmp, .fini = rm_tmp);

/* Deploys a self-signed certificate to a command target with config. */
static void
deploy_cmd(const char *config, struct ck_deploy_result *res)
{
	struct dp_material m = {0};
	struct ck_buf leaf = CK_BUF_INIT;
	struct ck_err err = {0};

	self_signed(&m);
	ck_pem_encode("CERTIFICATE", (const uint8_t *)m.leaf_der.p,
	    m.leaf_der.len, &leaf);
	struct ck_deploy_local d = {.name = "cmd",
	    .target_id = 9,
	    .kind = "command",
	    .config = config,
	    .leaf_pem = leaf.p,
	    .chain_pem = "",
	    .key_pem = m.key_pem.p,
	    .key_len = m.key_pem.len,
	    .first_name = "p12.test"};
	cr_assert_eq(ck_deploy_local(&d, res, &err), 0, "%s", err.msg);
	ck_buf_release(&leaf);
	dp_material_release(&m);
}

Test(command, rollback_runs_when_the_reload_fails)
{
	struct ck_deploy_result res;
	char config[1024], want[128];

	snprintf(config, sizeof(config),
	    "{\"command\":\"cat >/dev/null; echo $CERTKEEP_SHA256 > %s/cur\","
	    "\"reload\":\"echo reload-$CERTKEEP_PHASE >> %s/log; "
	    "test $CERTKEEP_PHASE = rollback\","
	    "\"rollback\":\"echo $CERTKEEP_PHASE $CERTKEEP_TARGET_ID > "
	    "%s/rb; echo old > %s/cur; echo put back\"}",
	    dir, dir, dir, dir);
	deploy_cmd(config, &res);
	cr_assert_str_eq(res.state, "rolled_back", "%s", res.result);
	cr_assert_str_eq(get("rb"), "rollback 9\n");
	cr_assert_str_eq(get("cur"), "old\n");
	/* the reload ran for the deployment, then again after the rollback */
	cr_assert_str_eq(get("log"), "reload-deploy\nreload-rollback\n");
	snprintf(want, sizeof(want), "[rollback]\nput back\n");
	cr_assert(res.output.len > 0 && strstr(res.output.p, want) != NULL);
	ck_buf_release(&res.output);
}

Test(command, without_rollback_or_when_it_fails_the_target_failed)
{
	struct ck_deploy_result res;
	char config[512];

	deploy_cmd(
	    "{\"command\":\"cat >/dev/null\",\"reload\":\"exit 3\"}", &res);
	cr_assert_str_eq(res.state, "failed");
	cr_assert_not_null(
	    strstr(res.result, "no --rollback"), "%s", res.result);
	ck_buf_release(&res.output);

	snprintf(config, sizeof(config),
	    "{\"command\":\"cat >/dev/null\",\"reload\":\"exit 3\","
	    "\"rollback\":\"echo no >&2; exit 4\"}");
	deploy_cmd(config, &res);
	cr_assert_str_eq(res.state, "failed");
	cr_assert_not_null(strstr(res.result, "exited 4"), "%s", res.result);
	cr_assert(res.output.len > 0 && strstr(res.output.p, "no") != NULL);
	ck_buf_release(&res.output);
}
