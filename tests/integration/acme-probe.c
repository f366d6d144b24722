/*
 * Test driver for t6100: runs the ACME connector (src/issuer/acme*.c)
 * through its ck_issuer_ops, as the lifecycle layer will, with the issuer
 * definition taken from the environment and the account kept in a state
 * folder. Built by the test itself with cc against libcertkeep.a.
 *
 *   acme-probe STATE issue OUT KEYTYPE NAME...      OUT.crt, OUT.chain, OUT.key
 *   acme-probe STATE renew OUT OLD.crt KEYTYPE NAME...  (with "replaces")
 *   acme-probe STATE revoke CERT REASON
 *   acme-probe STATE rollover
 *   acme-probe STATE renewal-info CERT
 *   acme-probe STATE caps
 * Environment: ACME_DIR, ACME_TRUST (PEM file), EMAIL, EAB_KID,
 * EAB_HMAC (base64url), CHALLENGE, HTTP01_LISTEN, WEBROOT, DNS_HOOK,
 * DNS_WAIT, TLSALPN_LISTEN, PREFERRED_CHAIN.
 * STATE/account.url and STATE/account.key hold the account; they are
 * rewritten when the connector sets account_changed. Prints
 * "nonce-retries N" after each command; exit 0 on success, 1 with
 * "error: CODE: REASON" on failure, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "base/mem.h"
#include "ca/ca.h"
#include "issuer/acme.h"
#include "issuer/issuer.h"
#include "x509/x509.h"

static char *
env_dup(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && *v != '\0' ? ck_strdup(v) : NULL;
}

static int
b64url_decode(const char *s, struct ck_buf *out)
{
	struct ck_buf t = CK_BUF_INIT;
	bool ok;

	for (const char *p = s; *p != '\0'; p++)
		ck_buf_addc(&t, *p == '-' ? '+' : *p == '_' ? '/' : *p);
	while (t.len % 4 != 0)
		ck_buf_addc(&t, '=');
	ok = ck_base64_decode(t.p, t.len, out);
	ck_buf_release(&t);
	return ok ? 0 : -1;
}

static int
write_file(const char *path, const void *p, size_t n, int mode)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	chmod(path, (mode_t)mode);
	return 0;
}

static char *
path2(const char *a, const char *b)
{
	struct ck_buf p = CK_BUF_INIT;
	ck_buf_printf(&p, "%s%s", a, b);
	return ck_buf_detach(&p, NULL);
}

static void
load_def(const char *state, struct ck_issuer_def *d)
{
	struct ck_buf b = CK_BUF_INIT;
	char *p;
	const char *v;

	memset(d, 0, sizeof(*d));
	d->name = ck_strdup("probe");
	d->type = ck_strdup("acme");
	d->directory = env_dup("ACME_DIR");
	d->email = env_dup("EMAIL");
	d->eab_kid = env_dup("EAB_KID");
	if ((v = getenv("EAB_HMAC")) != NULL && *v != '\0' &&
	    b64url_decode(v, &d->eab_hmac) != 0) {
		fprintf(stderr, "bad EAB_HMAC\n");
		exit(2);
	}
	if ((v = getenv("ACME_TRUST")) != NULL &&
	    ck_file_read(v, 1 << 20, &b, NULL) == 0)
		d->trust_pem = ck_buf_detach(&b, NULL);
	d->challenge = env_dup("CHALLENGE");
	d->http01_listen = env_dup("HTTP01_LISTEN");
	d->webroot = env_dup("WEBROOT");
	d->dns_hook = env_dup("DNS_HOOK");
	d->dns_wait =
	    getenv("DNS_WAIT") != NULL ? atoll(getenv("DNS_WAIT")) : 0;
	d->tlsalpn_listen = env_dup("TLSALPN_LISTEN");
	d->preferred_chain = env_dup("PREFERRED_CHAIN");
	p = path2(state, "/account.url");
	if (ck_file_read(p, 4096, &b, NULL) == 0 && b.len > 0) {
		while (b.len > 0 && b.p[b.len - 1] == '\n')
			b.p[--b.len] = '\0';
		d->account_url = ck_buf_detach(&b, NULL);
	}
	free(p);
	p = path2(state, "/account.key");
	ck_buf_reset(&b);
	if (ck_file_read(p, 1 << 16, &b, NULL) == 0)
		d->account_key_pem = b;
	else
		ck_buf_release(&b);
	free(p);
}

static void
save_def(const char *state, struct ck_issuer_def *d)
{
	char *p;

	if (!d->account_changed)
		return;
	p = path2(state, "/account.url");
	if (d->account_url != NULL)
		write_file(p, d->account_url, strlen(d->account_url), 0644);
	free(p);
	p = path2(state, "/account.key");
	write_file(p, d->account_key_pem.p, d->account_key_pem.len, 0600);
	free(p);
	printf("account %s\n", d->account_url != NULL ? d->account_url : "-");
}

static int
load_der(const char *path, struct ck_buf *der)
{
	struct ck_buf b = CK_BUF_INIT;
	struct ck_err err = {0};
	int r;

	if ((r = ck_file_read(path, 1 << 20, &b, &err)) == 0)
		r = ck_x509_first(
		    (const uint8_t *)b.p, b.len, CK_ITEM_CERT, der, &err);
	ck_buf_release(&b);
	if (r != 0)
		fprintf(stderr, "%s: %s\n", path, ck_err_msg(&err, r));
	return r;
}

static int
do_issue(struct ck_issuer_def *d, const char *out, const char *old,
    const char *kt, char **names, int n, struct ck_err *err)
{
	const struct ck_issuer_ops *ops = ck_issuer_ops_find("acme");
	struct ck_issue_request req = {0};
	struct ck_issued res = {0};
	struct ck_buf key = CK_BUF_INIT, pem = CK_BUF_INIT, older = CK_BUF_INIT;
	char **sans = ck_calloc((size_t)n + 1, sizeof(char *));
	uint8_t *csr = NULL, a[16];
	size_t csr_len = 0;
	int r;

	for (int i = 0; i < n; i++)
		sans[i] = path2(inet_pton(AF_INET, names[i], a) == 1 ||
		            inet_pton(AF_INET6, names[i], a) == 1
		        ? "IP:"
		        : "DNS:",
		    names[i]);
	if ((r = ck_make_key_and_csr(kt, names[0], (const char *const *)sans,
	         (size_t)n, &csr, &csr_len, &key, err)) != 0)
		goto out;
	req.csr = csr;
	req.csr_len = csr_len;
	req.names = (const char *const *)names;
	req.n_names = (size_t)n;
	if (old != NULL) {
		if ((r = load_der(old, &older)) != 0)
			goto out;
		req.replaces = (const uint8_t *)older.p;
		req.replaces_len = older.len;
	}
	if ((r = ops->issue(d, &req, &res, err)) != 0)
		goto out;
	ck_pem_encode("CERTIFICATE", res.der, res.der_len, &pem);
	char *p = path2(out, ".crt");
	write_file(p, pem.p, pem.len, 0644);
	free(p);
	p = path2(out, ".chain");
	write_file(p, res.chain_pem.p != NULL ? res.chain_pem.p : "",
	    res.chain_pem.len, 0644);
	free(p);
	p = path2(out, ".key");
	write_file(p, key.p, key.len, 0600);
	free(p);
	printf("issued %s\n", out);
out:
	for (int i = 0; i < n; i++)
		free(sans[i]);
	free(sans);
	free(csr);
	ck_buf_release_secret(&key);
	ck_buf_release(&pem);
	ck_buf_release(&older);
	ck_issued_release(&res);
	return r;
}

int
main(int argc, char **argv)
{
	struct ck_issuer_def d;
	struct ck_err err = {0};
	const struct ck_issuer_ops *ops = ck_issuer_ops_find("acme");
	struct ck_buf der = CK_BUF_INIT;
	const char *cmd;
	int r = 0;

	if (argc < 3 || ops == NULL) {
		fprintf(stderr, "usage: acme-probe STATE COMMAND ...\n");
		return 2;
	}
	ck_x509_init();
	load_def(argv[1], &d);
	cmd = argv[2];
	if (strcmp(cmd, "issue") == 0 && argc >= 6)
		r = do_issue(
		    &d, argv[3], NULL, argv[4], argv + 5, argc - 5, &err);
	else if (strcmp(cmd, "renew") == 0 && argc >= 7)
		r = do_issue(
		    &d, argv[3], argv[4], argv[5], argv + 6, argc - 6, &err);
	else if (strcmp(cmd, "revoke") == 0 && argc == 5) {
		if ((r = load_der(argv[3], &der)) == 0)
			r = ops->revoke(&d, (const uint8_t *)der.p, der.len,
			    atoi(argv[4]), &err);
		if (r == 0)
			printf("revoked %s\n", argv[3]);
	} else if (strcmp(cmd, "rollover") == 0 && argc == 3) {
		if ((r = ck_acme_key_rollover(&d, &err)) == 0)
			printf("rolled over\n");
	} else if (strcmp(cmd, "renewal-info") == 0 && argc == 4) {
		struct ck_renewal_window w = {0};
		if ((r = load_der(argv[3], &der)) == 0 &&
		    (r = ops->renewal_info(
		         &d, (const uint8_t *)der.p, der.len, &w, &err)) == 0)
			printf("window %lld %lld retry-after %lld\n",
			    (long long)w.start, (long long)w.end,
			    (long long)w.retry_after);
		free(w.explanation_url);
	} else if (strcmp(cmd, "caps") == 0 && argc == 3) {
		struct ck_issuer_caps c;
		ops->caps(&d, &c);
		printf("key-types %s renewal-info %d revoke %d\n", c.key_types,
		    c.renewal_info, c.revoke);
	} else {
		fprintf(stderr, "usage: acme-probe STATE COMMAND ...\n");
		ck_issuer_def_release(&d);
		return 2;
	}
	save_def(argv[1], &d);
	printf("nonce-retries %lu\n", ck_acme_nonce_retries());
	if (r != 0)
		printf("error: %s: %s\n", ck_errname(r), ck_err_msg(&err, r));
	ck_buf_release(&der);
	ck_issuer_def_release(&d);
	return r != 0 ? 1 : 0;
}
