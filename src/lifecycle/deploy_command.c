/*
 * The "command" target, for the long tail (load balancers, appliances,
 * cloud key stores): a user's script gets the private key and then the
 * full chain as PEM on stdin, and in its environment
 *   CERTKEEP_NAME           the managed certificate
 *   CERTKEEP_TARGET_ID      the target
 *   CERTKEEP_SHA256         the leaf's SHA-256 (hex)
 *   CERTKEEP_CERT_PEM       the leaf
 *   CERTKEEP_CHAIN_PEM      its issuers
 *   CERTKEEP_FULLCHAIN_PEM  the leaf and its issuers
 * (the key only on stdin: an environment is readable longer and wider).
 * Exit status 0 is success. Also the process runner of reload commands:
 * /bin/sh -c in a process group of its own, killed whole at its timeout,
 * its output kept up to CK_DEPLOY_OUTPUT_MAX bytes.
 */
#include "lifecycle/deploy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"

static void
keep(struct ck_buf *out, const char *p, size_t n, size_t *dropped)
{
	size_t room = out->len < CK_DEPLOY_OUTPUT_MAX
	    ? CK_DEPLOY_OUTPUT_MAX - out->len
	    : 0;

	if (n > room) {
		*dropped += n - room;
		n = room;
	}
	ck_buf_add(out, p, n);
}

/* Reads what is there now (the fd is non-blocking); false at EOF. */
static bool
drain(int fd, struct ck_buf *out, size_t *dropped)
{
	char buf[4096];

	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k > 0) {
			keep(out, buf, (size_t)k, dropped);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		return k < 0 && errno == EAGAIN;
	}
}

int
dp_run(const char *cmd, char *const env[], const void *in, size_t in_len,
    int64_t timeout, int *status, struct ck_buf *out, struct ck_err *err)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, st = 0, r = 0;
	uint64_t deadline = ck_mono_ns() +
	    (uint64_t)(timeout > 0 ? timeout : 60) * 1000000000ull;
	size_t written = 0, dropped = 0;
	bool exited = false, open_out = true;
	uint64_t nap = 0;
	int pidfd = -1;
	pid_t pid;

	*status = -1;
	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0) {
		r = ck_err_set(err, CK_E_IO, "pipe: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN); /* a script that does not read stdin */
	if ((pid = fork()) < 0) {
		r = ck_err_set(err, CK_E_IO, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		setpgid(0, 0); /* its own group: a timeout kills it all */
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(pout[1], 2);
		for (size_t i = 0; env != NULL && env[i] != NULL; i++)
			putenv(env[i]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	(void)setpgid(pid, pid); /* also here: no race with the kill */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	close(pin[0]);
	close(pout[1]);
	pin[0] = pout[1] = -1;
	(void)fcntl(pin[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(pout[0], F_SETFL, O_NONBLOCK);
	if (in == NULL || in_len == 0) {
		close(pin[1]);
		pin[1] = -1;
	}
	/* until the shell exits: a daemon it left behind may hold the
	 * output open, and must not make the reload look hung */
	while (!exited) {
		struct pollfd pf[3]; /* stdin, output, the pidfd */
		int n = 0;
		uint64_t now = ck_mono_ns();

		if (now >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			r = ck_err_set(err, CK_E_TIMEOUT,
			    "'%.200s' killed after %lld s", cmd,
			    (long long)(timeout > 0 ? timeout : 60));
			break;
		}
		if (pin[1] >= 0)
			pf[n++] = (struct pollfd){pin[1], POLLOUT, 0};
		if (open_out)
			pf[n++] = (struct pollfd){pout[0], POLLIN, 0};
		/* the exit wakes the poll through a pidfd, so that a quick
		 * reload costs its own time and not a poll period; without
		 * one (old kernels), naps growing to 50 ms */
		if (pidfd >= 0)
			pf[n++] = (struct pollfd){pidfd, POLLIN, 0};
		uint64_t ms = (deadline - now) / 1000000 + 1;
		if (n == 0) {
			nap = nap == 0 ? 1 : nap * 2;
			if (nap > 50)
				nap = 50;
		}
		uint64_t wait_ms = n > 0 ? 50 : nap;
		if (wait_ms > ms)
			wait_ms = ms;
		(void)poll(pf, (nfds_t)n, (int)wait_ms);
		if (pin[1] >= 0) {
			ssize_t k = write(pin[1], (const char *)in + written,
			    in_len - written);
			if (k > 0)
				written += (size_t)k;
			if ((k < 0 && errno != EAGAIN && errno != EINTR) ||
			    written == in_len) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
		if (open_out)
			open_out = drain(pout[0], out, &dropped);
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			exited = true;
	}
	if (open_out)
		(void)drain(pout[0], out, &dropped);
	if (dropped > 0)
		ck_buf_printf(out, "\n[%zu more bytes not kept]\n", dropped);
	if (r == 0)
		*status =
		    WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
out:
	if (pidfd >= 0)
		close(pidfd);
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
	}
	return r;
}

static char *
env_kv(const char *k, const char *v, size_t vlen)
{
	size_t kl = strlen(k);
	char *s = ck_malloc(kl + vlen + 2);

	memcpy(s, k, kl);
	s[kl] = '=';
	memcpy(s + kl + 1, v, vlen);
	s[kl + 1 + vlen] = '\0';
	return s;
}

int
dp_command_run(const struct dp_material *m, const struct ck_target_conf *c,
    int64_t target_id, struct ck_buf *out, struct ck_err *err)
{
	struct ck_buf in = CK_BUF_INIT;
	char id[32], *env[7];
	int status = 0, r;

	snprintf(id, sizeof(id), "%lld", (long long)target_id);
	env[0] = env_kv("CERTKEEP_NAME", m->name, strlen(m->name));
	env[1] = env_kv("CERTKEEP_TARGET_ID", id, strlen(id));
	env[2] = env_kv("CERTKEEP_SHA256", m->sha256, strlen(m->sha256));
	env[3] = env_kv("CERTKEEP_CERT_PEM", m->leaf_pem.p, m->leaf_pem.len);
	env[4] = env_kv("CERTKEEP_CHAIN_PEM", m->chain_pem.p, m->chain_pem.len);
	env[5] =
	    env_kv("CERTKEEP_FULLCHAIN_PEM", m->full_pem.p, m->full_pem.len);
	env[6] = NULL;
	ck_buf_add(&in, m->key_pem.p, m->key_pem.len);
	ck_buf_add(&in, m->full_pem.p, m->full_pem.len);
	r = dp_run(
	    c->command, env, in.p, in.len, c->timeout, &status, out, err);
	if (r == 0 && status != 0)
		r = ck_err_set(err, CK_E_INVAL, "command exited %d", status);
	ck_buf_release_secret(&in);
	for (int i = 0; i < 6; i++)
		free(env[i]);
	return r;
}
