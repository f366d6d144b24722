/*
 * The "command" connector: any CA with a command-line tool (step, vault,
 * cfssl, an in-house script) behind one small protocol, like certmonger's
 * CA helpers. The command runs under /bin/sh -c with
 *   CERTKEEP_OPERATION  issue or revoke
 *   CERTKEEP_ISSUER     the connector's name
 *   CERTKEEP_NAMES      issue: the identifiers, comma-separated
 *   CERTKEEP_DAYS       issue: the validity asked for (0: the CA's choice)
 *   CERTKEEP_REASON     revoke: the RFC 5280 reason code
 * and gets the CSR (issue) or the certificate (revoke) as PEM on stdin.
 * issue prints the certificate, then its issuers, as PEM on stdout. Exit
 * status 0 is success; 75 (EX_TEMPFAIL) means "try again later" (the CA
 * is down or busy); any other status is a refusal, its reason the last
 * line of stderr. The command is killed at its timeout.
 */
#include "issuer/issuer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"
#include "x509/x509.h"

#define OUT_MAX (1 << 20)
#define ERR_MAX 8192
#define EX_TEMPFAIL_CODE 75

static void
caps(const struct ck_issuer_def *d, struct ck_issuer_caps *c)
{
	(void)d;
	c->key_types = "ec-p256,ec-p384,rsa-2048,rsa-3072,rsa-4096,ed25519";
	c->max_days = 0;
	c->renewal_info = false;
	c->revoke = true;
}

/* The last non-empty line of stderr, for the reason. */
static void
last_line(const struct ck_buf *e, char *out, size_t n)
{
	size_t end = e->len, start;

	while (end > 0 && (e->p[end - 1] == '\n' || e->p[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && e->p[start - 1] != '\n')
		start--;
	snprintf(out, n, "%.*s", (int)(end - start), e->p + start);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
}

/*
 * Runs the command with input on stdin; its stdout into out (at most
 * OUT_MAX). Returns 0, or the CK_E_* of a failure with the reason.
 */
static int
run(const struct ck_issuer_def *d, char *const env[], const struct ck_buf *in,
    struct ck_buf *out, struct ck_err *err)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	struct ck_buf eb = CK_BUF_INIT;
	int64_t timeout = d->timeout > 0 ? d->timeout : 300;
	uint64_t deadline = ck_mono_ns() + (uint64_t)timeout * 1000000000ull;
	size_t written = 0;
	int status = 0, r = 0;
	pid_t pid;

	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 ||
	    pipe2(perr, O_CLOEXEC) != 0) {
		r = ck_err_set(err, CK_E_IO, "pipe: %s", strerror(errno));
		goto close_all;
	}
	if ((pid = fork()) < 0) {
		r = ck_err_set(err, CK_E_IO, "fork: %s", strerror(errno));
		goto close_all;
	}
	if (pid == 0) {
		setpgid(0, 0); /* its own group: a timeout kills it all */
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		for (size_t i = 0; env[i] != NULL; i++)
			putenv(env[i]);
		execl("/bin/sh", "sh", "-c", d->command, (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	(void)fcntl(pin[1], F_SETFL, O_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	while (pout[0] >= 0 || perr[0] >= 0) {
		struct pollfd pf[3];
		int n = 0, ms;
		uint64_t now = ck_mono_ns();

		if (now >= deadline) {
			kill(-pid, SIGKILL);
			r = ck_err_set(err, CK_E_TIMEOUT,
			    "issuer command timed out after %lld s",
			    (long long)timeout);
			break;
		}
		ms = (int)((deadline - now) / 1000000) + 1;
		if (pin[1] >= 0)
			pf[n++] = (struct pollfd){pin[1], POLLOUT, 0};
		if (pout[0] >= 0)
			pf[n++] = (struct pollfd){pout[0], POLLIN, 0};
		if (perr[0] >= 0)
			pf[n++] = (struct pollfd){perr[0], POLLIN, 0};
		if (poll(pf, (nfds_t)n, ms) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			char buf[8192];
			ssize_t k;

			if (pf[i].revents == 0)
				continue;
			if (pf[i].fd == pin[1]) {
				k = write(
				    pin[1], in->p + written, in->len - written);
				if (k > 0)
					written += (size_t)k;
				if (k < 0 || written == in->len) {
					close(pin[1]);
					pin[1] = -1;
				}
				continue;
			}
			k = read(pf[i].fd, buf, sizeof(buf));
			if (k <= 0) {
				close(pf[i].fd);
				if (pf[i].fd == pout[0])
					pout[0] = -1;
				else
					perr[0] = -1;
				continue;
			}
			if (pf[i].fd == pout[0]) {
				if (out->len + (size_t)k > OUT_MAX) {
					kill(-pid, SIGKILL);
					r = ck_err_set(err, CK_E_TOO_LARGE,
					    "issuer command printed more "
					    "than %d bytes",
					    OUT_MAX);
					close(pout[0]);
					pout[0] = -1;
					continue;
				}
				ck_buf_add(out, buf, (size_t)k);
			} else if (eb.len < ERR_MAX)
				ck_buf_add(&eb, buf, (size_t)k);
		}
		if (r != 0)
			break;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0) {
		char why[512];
		last_line(&eb, why, sizeof(why));
		if (WIFSIGNALED(status))
			r = ck_err_set(err, CK_E_IO,
			    "issuer command killed by signal %d",
			    WTERMSIG(status));
		else if (WEXITSTATUS(status) == EX_TEMPFAIL_CODE)
			r = ck_err_set(err, CK_E_UNAVAILABLE,
			    "issuer unavailable, try later%s%s",
			    why[0] ? ": " : "", why);
		else if (WEXITSTATUS(status) != 0)
			r = ck_err_set(err, CK_E_INVAL,
			    "issuer refused (exit %d)%s%s", WEXITSTATUS(status),
			    why[0] ? ": " : "", why);
	}
close_all:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	ck_buf_release(&eb);
	return r;
}

struct split {
	struct ck_issued *out;
	int n;
};

static int
take_cert(void *ctx, const struct ck_item *it)
{
	struct split *s = ctx;

	if (it->kind != CK_ITEM_CERT)
		return 0;
	if (s->n++ == 0) {
		s->out->der = ck_memdup(it->der, it->der_len);
		s->out->der_len = it->der_len;
	} else
		ck_pem_encode(
		    "CERTIFICATE", it->der, it->der_len, &s->out->chain_pem);
	return 0;
}

static int
cmd_issue(struct ck_issuer_def *d, const struct ck_issue_request *req,
    struct ck_issued *out, struct ck_err *err)
{
	struct ck_buf in = CK_BUF_INIT, got = CK_BUF_INIT, names = CK_BUF_INIT;
	char e_op[] = "CERTKEEP_OPERATION=issue", e_iss[200], e_days[64];
	char *env[5];
	struct split s = {out, 0};
	int r;

	memset(out, 0, sizeof(*out));
	ck_pem_encode("CERTIFICATE REQUEST", req->csr, req->csr_len, &in);
	ck_buf_adds(&names, "CERTKEEP_NAMES=");
	for (size_t i = 0; i < req->n_names; i++) {
		if (i > 0)
			ck_buf_addc(&names, ',');
		ck_buf_adds(&names, req->names[i]);
	}
	ck_buf_addc(&names, '\0');
	snprintf(e_iss, sizeof(e_iss), "CERTKEEP_ISSUER=%s", d->name);
	snprintf(e_days, sizeof(e_days), "CERTKEEP_DAYS=%d", req->days);
	env[0] = e_op;
	env[1] = e_iss;
	env[2] = names.p;
	env[3] = e_days;
	env[4] = NULL;
	if ((r = run(d, env, &in, &got, err)) == 0) {
		(void)ck_x509_ingest(
		    (const uint8_t *)got.p, got.len, NULL, take_cert, &s, NULL);
		if (s.n == 0)
			r = ck_err_set(err, CK_E_PARSE,
			    "the issuer command printed no certificate");
	}
	if (r != 0)
		ck_issued_release(out);
	ck_buf_release(&in);
	ck_buf_release(&got);
	ck_buf_release(&names);
	return r;
}

static int
cmd_revoke(struct ck_issuer_def *d, const uint8_t *der, size_t len, int reason,
    struct ck_err *err)
{
	struct ck_buf in = CK_BUF_INIT, got = CK_BUF_INIT;
	char e_op[] = "CERTKEEP_OPERATION=revoke", e_iss[200], e_reason[64];
	char *env[4] = {e_op, e_iss, e_reason, NULL};
	int r;

	snprintf(e_iss, sizeof(e_iss), "CERTKEEP_ISSUER=%s", d->name);
	snprintf(e_reason, sizeof(e_reason), "CERTKEEP_REASON=%d", reason);
	ck_pem_encode("CERTIFICATE", der, len, &in);
	r = run(d, env, &in, &got, err);
	ck_buf_release(&in);
	ck_buf_release(&got);
	return r;
}

const struct ck_issuer_ops ck_command_ops = {
    .type = "command",
    .caps = caps,
    .issue = cmd_issue,
    .revoke = cmd_revoke,
    .renewal_info = NULL,
};
