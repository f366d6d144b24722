/*
 * Unit tests for the agent's server side and its state helpers: a token
 * names its host, is kept only as a hash, enrols once and not after it
 * expires; an enrolment CSR must be CN=<host>, OU=certkeep-agent; only
 * the current (or, until used, the previous) client certificate passes
 * the check; an agent gets and reports only its own host's certificates
 * and nothing changes when it asks for another's; the renewer leaves
 * agent-held certificates alone; a bundle file splits into key, leaf and
 * chain; a scan report numbers each file's certificates (PATH#n, for
 * drift) and drops the host's reports older than a month.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/clock.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "lifecycle/agent_int.h"
#include "lifecycle/managed.h"
#include "store/managed.h"
#include "x509/x509.h"

static char dir[] = "/tmp/ck-agent-XXXXXX";
static char mk[300];
static struct ck_store *st;
static struct ck_agent_ca ca = {"ca", NULL, NULL, 30};

static void
setup(void)
{
	struct ck_ca_init_opts o = {0};
	struct ck_issuer_def d = {0};
	struct ck_err err = {0};
	char url[300];

	ck_x509_init();
	strcpy(dir, "/tmp/ck-agent-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	setenv("CERTKEEP_MASTER_KEY_FILE", mk, 1);
	ca.master_key = mk;
	snprintf(url, sizeof(url), "sqlite:%s/inv.db", dir);
	cr_assert_eq(ck_store_open(url, &st, &err), 0, "%s", err.msg);
	o.name = "ca";
	o.actor = "test";
	cr_assert_eq(ck_ca_init(st, &o, &err), 0, "%s", err.msg);
	d.name = "loc";
	d.type = "local";
	d.ca = "ca";
	cr_assert_eq(
	    ck_issuer_create(st, &d, mk, "test", &err), 0, "%s", err.msg);
}

static void
teardown(void)
{
	char cmd[400];

	ck_store_free(st);
	st = NULL;
	ck_ca_cache_clear();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(agent, .init = setup, .fini = teardown);

/* A key and an agent's CSR for host (ou NULL: none). */
static void
agent_csr(const char *host, const char *ou, uint8_t **csr, size_t *len,
    struct ck_buf *key)
{
	uint8_t *c0 = NULL;
	size_t n0;

	cr_assert_eq(
	    ck_make_key_and_csr("ec-p256", host, NULL, 0, &c0, &n0, key, NULL),
	    0);
	free(c0);
	cr_assert_eq(ck_csr_for_key_ou((const uint8_t *)key->p, key->len, host,
	                 ou, NULL, 0, csr, len, NULL),
	    0);
}

static void
enrol(const char *host, char sha[65])
{
	char tok[CK_AGENT_TOKEN_MAX + 1];
	struct ck_agent_cert c = {0};
	struct ck_buf key = CK_BUF_INIT, der = CK_BUF_INIT;
	struct ck_err err = {0};
	uint8_t *csr, h[32];
	size_t n;

	cr_assert_eq(ck_agent_token_create(
	                 st, host, ck_now(), ck_now() + 60, "test", tok, &err),
	    0, "%s", err.msg);
	agent_csr(host, CK_AGENT_OU, &csr, &n, &key);
	cr_assert_eq(ck_agent_enrol(st, &ca, tok, csr, n, ck_now(), &c, &err),
	    0, "%s", err.msg);
	cr_assert_eq(ck_x509_first((const uint8_t *)c.cert_pem.p,
	                 c.cert_pem.len, CK_ITEM_CERT, &der, NULL),
	    0);
	ck_sha256(der.p, der.len, h);
	for (int i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", h[i]);
	free(csr);
	ck_buf_release(&der);
	ck_buf_release_secret(&key);
	ck_agent_cert_release(&c);
}

static void
add_held(const char *name, const char *san, const char *host)
{
	const char *sans[] = {san};
	struct ck_manage_spec s = {0};
	struct ck_err err = {0};

	s.name = name;
	s.sans = sans;
	s.n_sans = 1;
	s.issuer = "loc";
	s.days = 30;
	s.agent = host;
	cr_assert_eq(ck_manage_add(st, &s, "test", &err), 0, "%s", err.msg);
}

static int
count_job(void *ctx, const struct ck_job_row *j)
{
	(void)j;
	(*(int *)ctx)++;
	return 0;
}

Test(agent, token_names_its_host_and_only_its_hash_is_kept)
{
	char tok[CK_AGENT_TOKEN_MAX + 1], host[CK_AGENT_HOST_MAX + 1];
	struct ck_err err = {0};
	int64_t n = -1;

	cr_assert_eq(ck_agent_token_create(st, "web-1.example", ck_now(),
	                 ck_now() + 60, "test", tok, &err),
	    0, "%s", err.msg);
	cr_assert_eq(strncmp(tok, CK_AGENT_TOKEN_PREFIX, 5), 0);
	cr_assert_eq(ck_agent_token_host(tok, host, NULL), 0);
	cr_assert_str_eq(host, "web-1.example");
	/* the secret part is not in the table */
	char q[200];
	snprintf(q, sizeof(q),
	    "sqlite3 %s/inv.db \"SELECT hex(hash) FROM agent_tokens\" | grep "
	    "-qi %.64s",
	    dir, tok + 5);
	cr_assert_neq(system(q), 0);
	cr_assert_eq(ck_agent_token_host("cka1-00-h", host, NULL), CK_E_INVAL);
	cr_assert_eq(ck_agent_token_create(
	                 st, "a/b", ck_now(), ck_now() + 60, "t", tok, NULL),
	    CK_E_INVAL);
	cr_assert_eq(
	    ck_agent_token_create(st, "h", ck_now(), ck_now(), "t", tok, NULL),
	    CK_E_INVAL);
	(void)n;
}

Test(agent, a_token_enrols_once_and_not_after_it_expires)
{
	char tok[CK_AGENT_TOKEN_MAX + 1];
	struct ck_agent_cert c = {0};
	struct ck_buf key = CK_BUF_INIT;
	struct ck_err err = {0};
	uint8_t *csr;
	size_t n;
	int64_t now = ck_now();

	cr_assert_eq(
	    ck_agent_token_create(st, "h1", now, now + 60, "t", tok, &err), 0);
	agent_csr("h1", CK_AGENT_OU, &csr, &n, &key);
	/* a token changed in one digit is unknown */
	char was = tok[10];
	tok[10] = was == '0' ? '1' : '0';
	cr_assert_eq(
	    ck_agent_enrol(st, &ca, tok, csr, n, now, &c, &err), CK_E_PERM);
	cr_assert(strstr(err.msg, "unknown") != NULL, "%s", err.msg);
	tok[10] = was;
	/* expired at its expiry */
	cr_assert_eq(ck_agent_enrol(st, &ca, tok, csr, n, now + 60, &c, &err),
	    CK_E_PERM);
	cr_assert(strstr(err.msg, "expired") != NULL, "%s", err.msg);
	cr_assert_eq(ck_agent_enrol(st, &ca, tok, csr, n, now, &c, &err), 0,
	    "%s", err.msg);
	cr_assert_str_eq(c.host, "h1");
	ck_agent_cert_release(&c);
	cr_assert_eq(
	    ck_agent_enrol(st, &ca, tok, csr, n, now, &c, &err), CK_E_PERM);
	cr_assert(strstr(err.msg, "already used") != NULL, "%s", err.msg);
	free(csr);
	ck_buf_release_secret(&key);
}

Test(agent, an_enrolment_csr_must_name_the_tokens_host)
{
	char tok[CK_AGENT_TOKEN_MAX + 1];
	struct ck_agent_cert c = {0};
	struct ck_buf key = CK_BUF_INIT, key2 = CK_BUF_INIT;
	struct ck_err err = {0};
	uint8_t *csr, *csr2;
	size_t n, n2;
	int64_t now = ck_now();

	cr_assert_eq(
	    ck_agent_token_create(st, "h1", now, now + 60, "t", tok, &err), 0);
	agent_csr("h2", CK_AGENT_OU, &csr, &n, &key);
	cr_assert_eq(
	    ck_agent_enrol(st, &ca, tok, csr, n, now, &c, &err), CK_E_INVAL);
	agent_csr("h1", NULL, &csr2, &n2, &key2);
	cr_assert_eq(
	    ck_agent_enrol(st, &ca, tok, csr2, n2, now, &c, &err), CK_E_INVAL);
	/* the refusals did not spend the token */
	free(csr);
	ck_buf_release_secret(&key);
	agent_csr("h1", CK_AGENT_OU, &csr, &n, &key);
	cr_assert_eq(ck_agent_enrol(st, &ca, tok, csr, n, now, &c, &err), 0,
	    "%s", err.msg);
	ck_agent_cert_release(&c);
	free(csr);
	free(csr2);
	ck_buf_release_secret(&key);
	ck_buf_release_secret(&key2);
}

Test(agent, only_the_enrolled_certificate_passes)
{
	char sha[65], sha2[65];
	struct ck_err err = {0};

	enrol("h1", sha);
	cr_assert_eq(
	    ck_agent_check(st, "h1", sha, ck_now(), &err), 0, "%s", err.msg);
	cr_assert_eq(ck_agent_check(st, "h2", sha, ck_now(), &err), CK_E_PERM);
	/* enrolled again (a reinstalled host): the old one is refused */
	enrol("h1", sha2);
	cr_assert_eq(ck_agent_check(st, "h1", sha, ck_now(), &err), CK_E_PERM);
	cr_assert_eq(ck_agent_check(st, "h1", sha2, ck_now(), &err), 0);
	cr_assert_eq(ck_store_begin(st, NULL), 0);
	cr_assert_eq(ck_store_agent_state(st, "h1", "removed", NULL), 0);
	cr_assert_eq(ck_store_commit(st, NULL), 0);
	cr_assert_eq(ck_agent_check(st, "h1", sha2, ck_now(), &err), CK_E_PERM);
}

Test(agent, a_renewed_certificate_keeps_the_old_one_until_used)
{
	char sha[65], sha2[65];
	struct ck_agent_cert c = {0};
	struct ck_buf key = CK_BUF_INIT, der = CK_BUF_INIT;
	struct ck_err err = {0};
	uint8_t *csr, h[32];
	size_t n;

	enrol("h1", sha);
	agent_csr("h1", CK_AGENT_OU, &csr, &n, &key);
	cr_assert_eq(ck_agent_renew(st, &ca, "h1", csr, n, ck_now(), &c, &err),
	    0, "%s", err.msg);
	cr_assert_eq(ck_x509_first((const uint8_t *)c.cert_pem.p,
	                 c.cert_pem.len, CK_ITEM_CERT, &der, NULL),
	    0);
	ck_sha256(der.p, der.len, h);
	for (int i = 0; i < 32; i++)
		snprintf(sha2 + 2 * i, 3, "%02x", h[i]);
	cr_assert_eq(ck_agent_check(st, "h1", sha, ck_now(), &err), 0);
	cr_assert_eq(ck_agent_check(st, "h1", sha2, ck_now(), &err), 0);
	cr_assert_eq(ck_agent_check(st, "h1", sha, ck_now(), &err), CK_E_PERM);
	free(csr);
	ck_buf_release(&der);
	ck_buf_release_secret(&key);
	ck_agent_cert_release(&c);
}

static int
take_cert(void *ctx, const struct ck_managed_row *m)
{
	*(int64_t *)ctx = m->cert_id;
	cr_assert_null(m->key); /* never a key of the agent's */
	return 0;
}

static int64_t
cert_of(const char *name)
{
	struct ck_managed_filter f = {.name = name, .with_key = true};
	int64_t id = -1;

	cr_assert_eq(ck_store_managed_list(st, &f, take_cert, &id, NULL), 0);
	return id;
}

Test(agent, an_agent_gets_only_its_own_hosts_certificates)
{
	struct ck_buf key = CK_BUF_INIT, chain = CK_BUF_INIT,
	              work = CK_BUF_INIT;
	const char *sans[] = {"DNS:a.test"};
	struct ck_err err = {0};
	uint8_t *csr;
	size_t n;

	add_held("a", "a.test", "h1");
	add_held("b", "b.test", "h2");
	cr_assert_eq(ck_make_key_and_csr(
	                 "ec-p256", "a.test", sans, 1, &csr, &n, &key, NULL),
	    0);
	/* h2 asks for h1's: refused, nothing issued */
	cr_assert_eq(
	    ck_agent_issue(st, &ca, "h2", "a", csr, n, ck_now(), &chain, &err),
	    CK_E_PERM);
	cr_assert_eq(cert_of("a"), 0);
	cr_assert_eq(chain.len, 0);
	cr_assert_eq(ck_agent_issue(st, &ca, "h1", "nosuch", csr, n, ck_now(),
	                 &chain, &err),
	    CK_E_PERM);
	/* h1's own: issued, recorded without a key */
	cr_assert_eq(
	    ck_agent_issue(st, &ca, "h1", "a", csr, n, ck_now(), &chain, &err),
	    0, "%s", err.msg);
	cr_assert_gt(cert_of("a"), 0);
	cr_assert(strstr(chain.p, "BEGIN CERTIFICATE") != NULL);
	/* a's CSR for b (held by h2, names differ) */
	cr_assert_eq(
	    ck_agent_issue(st, &ca, "h2", "b", csr, n, ck_now(), &chain, &err),
	    CK_E_INVAL);
	cr_assert_eq(cert_of("b"), 0);
	/* the work lists only the host's own */
	cr_assert_eq(ck_agent_work(st, "h1", ck_now(), &work, &err), 0);
	cr_assert(strstr(work.p, "\"name\":\"a\"") != NULL, "%s", work.p);
	cr_assert(strstr(work.p, "\"name\":\"b\"") == NULL, "%s", work.p);
	cr_assert(strstr(work.p, "\"renew\":false") != NULL, "%s", work.p);
	free(csr);
	ck_buf_release_secret(&key);
	ck_buf_release(&chain);
	ck_buf_release(&work);
}

Test(agent, reports_are_checked_before_anything_is_written)
{
	struct ck_err err = {0};
	int64_t n;

	add_held("a", "a.test", "h1");
	cr_assert_eq(ck_agent_report_deploy(st, "h2", "a", "{\"results\":[]}",
	                 ck_now(), NULL, NULL, &err),
	    CK_E_PERM);
	cr_assert_eq(ck_agent_report_deploy(st, "h1", "a",
	                 "{\"results\":[{\"target\":99,\"state\":\"failed\"}]}",
	                 ck_now(), NULL, NULL, &err),
	    CK_E_PERM);
	cr_assert_eq(ck_agent_report_deploy(
	                 st, "h1", "a", "not json", ck_now(), NULL, NULL, &err),
	    CK_E_INVAL);
	cr_assert_eq(ck_agent_report_scan(st, "h1",
	                 "{\"items\":[{\"path\":\"rel\",\"der\":\"AA==\"}]}",
	                 ck_now(), &n, &err),
	    CK_E_INVAL);
	cr_assert_eq(n, 0);
}

Test(agent, the_renewer_leaves_agent_held_certificates_alone)
{
	struct ck_renewer rw = {0};
	struct ck_renew_stats s = {0};
	struct ck_err err = {0};
	int64_t next;

	add_held("a", "a.test", "h1");
	/* added as an agent's: nothing queued for the server */
	int jobs = 0;
	cr_assert_eq(ck_store_job_list(st, "renew", count_job, &jobs, NULL), 0);
	cr_assert_eq(jobs, 0);
	rw.st = st;
	rw.master_key = mk;
	rw.owner = "test";
	cr_assert_eq(ck_renew_run(&rw, ck_now() + 10, 0, &s, &next, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(s.issued, 0);
	cr_assert_eq(cert_of("a"), 0);
	/* forced: still not here */
	cr_assert_eq(ck_manage_renew_now(st, "a", true, "test", &err), 0);
	cr_assert_eq(ck_renew_run(&rw, ck_now() + 10, 0, &s, &next, &err), 0);
	cr_assert_eq(s.issued, 0);
	cr_assert_eq(cert_of("a"), 0);
	/* given back to the server: issued there at once */
	cr_assert_eq(ck_agent_assign(st, "a", "", "test", &err), 0);
	cr_assert_eq(ck_renew_run(&rw, ck_now() + 10, 0, &s, &next, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(s.issued, 1);
}

Test(agent, a_bundle_splits_into_key_leaf_and_chain)
{
	struct ck_buf key = CK_BUF_INIT, pem = CK_BUF_INIT, chain = CK_BUF_INIT;
	const char *sans[] = {"DNS:a.test"};
	struct ag_bundle b;
	uint8_t *csr;
	size_t n;

	add_held("a", "a.test", "h1");
	cr_assert_eq(ck_make_key_and_csr(
	                 "ec-p256", "a.test", sans, 1, &csr, &n, &key, NULL),
	    0);
	cr_assert_eq(
	    ck_agent_issue(st, &ca, "h1", "a", csr, n, ck_now(), &chain, NULL),
	    0);
	ck_buf_add(&pem, key.p, key.len);
	ck_buf_add(&pem, chain.p, chain.len);
	cr_assert_eq(ag_bundle_parse(pem.p, pem.len, &b, NULL), 0);
	cr_assert(strstr(b.key.p, "PRIVATE KEY") != NULL);
	cr_assert_eq(strncmp(b.leaf.p, chain.p, b.leaf.len), 0);
	cr_assert(strstr(b.chain.p, "BEGIN CERTIFICATE") != NULL);
	cr_assert_eq(strlen(b.sha256), 64);
	ag_bundle_release(&b);
	cr_assert_eq(ag_bundle_parse("no pem", 6, &b, NULL), CK_E_PARSE);
	cr_assert(ag_name_ok("web-1.test"));
	cr_assert(!ag_name_ok("../x"));
	cr_assert(!ag_name_ok("a/b"));
	free(csr);
	ck_buf_release_secret(&key);
	ck_buf_release_secret(&pem);
	ck_buf_release(&chain);
}

/* A self-signed certificate for cn as DER in b64 (base64), its SHA-256
 * hex in sha. */
static void
scan_cert(const char *cn, struct ck_buf *b64, char sha[65])
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	unsigned char *der = NULL;
	uint8_t h[32];
	int len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	len = i2d_X509(x, &der);
	ck_base64_encode(der, (size_t)len, b64);
	ck_sha256(der, (size_t)len, h);
	for (int i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", h[i]);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
seen(const char *place, const char *want_sha)
{
	char sha[65], status[32];
	int64_t id, at;
	bool found;

	cr_assert_eq(
	    ck_store_place_seen(st, place, &found, &id, sha, &at, status, NULL),
	    0);
	if (want_sha == NULL) {
		cr_assert(!found, "%s still seen", place);
		return;
	}
	cr_assert(found, "%s not seen", place);
	cr_assert_str_eq(sha, want_sha, "%s", place);
}

Test(agent, scan_reports_number_each_files_certificates_and_expire)
{
	struct ck_buf c[4] = {
	    CK_BUF_INIT, CK_BUF_INIT, CK_BUF_INIT, CK_BUF_INIT};
	struct ck_buf rep = CK_BUF_INIT;
	struct ck_err err = {0};
	char sha[4][65];
	int64_t n, now = ck_now();

	for (int i = 0; i < 4; i++)
		scan_cert(i == 3 ? "old.test" : "a.test", &c[i], sha[i]);
	/* a month and more ago: a file since gone */
	ck_buf_printf(&rep,
	    "{\"items\":[{\"path\":\"/old.pem\",\"der\":\"%s\"}]}", c[3].p);
	cr_assert_eq(ck_agent_report_scan(st, "h1", rep.p,
	                 now - CK_AGENT_SCAN_KEEP - 60, &n, &err),
	    0, "%s", err.msg);
	seen("agent:h1:/old.pem#1", sha[3]);
	/* a file's certificates are numbered in file order, even when
	 * another file's come between */
	ck_buf_reset(&rep);
	ck_buf_printf(&rep,
	    "{\"items\":[{\"path\":\"/a.pem\",\"der\":\"%s\"},"
	    "{\"path\":\"/b.pem\",\"der\":\"%s\"},"
	    "{\"path\":\"/a.pem\",\"der\":\"%s\"}]}",
	    c[0].p, c[1].p, c[2].p);
	cr_assert_eq(ck_agent_report_scan(st, "h1", rep.p, now, &n, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(n, 3);
	seen("agent:h1:/a.pem#1", sha[0]);
	seen("agent:h1:/a.pem#2", sha[2]);
	seen("agent:h1:/b.pem#1", sha[1]);
	/* the old report was dropped when this one came */
	seen("agent:h1:/old.pem#1", NULL);
	for (int i = 0; i < 4; i++)
		ck_buf_release(&c[i]);
	ck_buf_release(&rep);
}
