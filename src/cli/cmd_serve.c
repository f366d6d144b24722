/*
 * certkeep serve: wires the daemon together. Reads certkeep.conf (and the
 * CERTKEEP_* overrides and flags), makes sure the server's own certificate
 * exists and is fresh (issued by the built-in CA server_ca, which is made
 * on first start), then runs the HTTP server until SIGTERM.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acme/acme.h"
#include "api/api.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/file.h"
#include "base/log.h"
#include "ca/ca.h"
#include "discovery/netscan.h"
#include "lifecycle/scheduler.h"
#include "http/http.h"
#include "lifecycle/agent.h"
#include "lifecycle/lifecycle.h"
#include "x509/x509.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep serve [--config F] [--listen ADDR] "
	    "[--listen-plain ADDR]\n"
	    "                      [--public-url URL] [--workers N] "
	    "[--data-dir D]\n"
	    "       certkeep serve --example-config\n"
	    "\n"
	    "Runs the daemon: the REST API over HTTPS, OCSP, CRLs and CA\n"
	    "certificates over plain HTTP, health and metrics. Settings come\n"
	    "from the config file (--config or $CERTKEEP_CONFIG), then the\n"
	    "CERTKEEP_* variables, then these flags; see docs/config.md.\n"
	    "\n"
	    "  --config F          certkeep.conf to read\n"
	    "  --listen ADDR       HTTPS addresses (host:port,...)\n"
	    "  --listen-plain ADDR plain HTTP addresses ('' for none)\n"
	    "  --public-url URL    base URL written into issued "
	    "certificates\n"
	    "  --workers N         worker threads (0: one per core)\n"
	    "  --data-dir D        folder for the server's own files\n"
	    "  --example-config    print a config file with every key and "
	    "exit\n"
	    "\n"
	    "SIGTERM or SIGINT: stop accepting, finish requests in flight, "
	    "exit 0.\n"
	    "SIGHUP: reload the config file (limits, log level) and the "
	    "server certificate.\n");
}

struct flag {
	enum ck_config_key k;
	const char *v;
};

struct serve {
	struct ck_config *cfg;
	char agent_ca_file[1100];
};

/* True when the file holds a certificate good for a third of its
 * lifetime more and naming what server_names asks for. */
static bool
cert_fresh(const char *path, const char *key, int64_t now)
{
	struct ck_buf der = CK_BUF_INIT, file = CK_BUF_INIT;
	struct ck_cert *c = NULL;
	bool ok = false;

	if (access(key, R_OK) != 0)
		return false;
	if (ck_file_read(path, 1 << 20, &file, NULL) == 0 &&
	    ck_x509_first((const uint8_t *)file.p, file.len, CK_ITEM_CERT, &der,
	        NULL) == 0 &&
	    ck_x509_parse((const uint8_t *)der.p, der.len, CK_PARSE_CORE, &c,
	        NULL) == 0) {
		int64_t life = c->not_after - c->not_before;
		ok = c->not_after - now > life / 3;
	}
	ck_cert_free(c);
	ck_buf_release(&der);
	ck_buf_release(&file);
	return ok;
}

static int
on_ca(void *ctx, const struct ck_ca_row *ca)
{
	(void)ctx, (void)ca;
	return 0;
}

/* 0 when CA name exists, CK_E_NOTFOUND when not. */
static int
ca_exists(struct ck_store *st, const char *name)
{
	return ck_store_ca_get(st, name, on_ca, NULL, NULL);
}

/* The ensure_cert hook: issue (or renew) the server certificate from the
 * built-in CA when the configured files are certkeep's own. */
static int
ensure_cert(void *arg, const char *cert, const char *key, struct ck_err *err)
{
	struct serve *sv = arg;
	const struct ck_config *cfg = sv->cfg;
	const char *ca = ck_config_str(cfg, CK_CFG_SERVER_CA);
	const char *mk = ck_config_str(cfg, CK_CFG_MASTER_KEY);
	char *names = NULL, *save = NULL, *n;
	const char *sans[16];
	char buf[16][300]; /* the SANs sans[] points into */
	size_t n_sans = 0;
	struct ck_store *st = NULL;
	struct ck_enroll_req rq = {0};
	struct ck_enroll_res res = {0};
	struct ck_buf key_pem = CK_BUF_INIT, out = CK_BUF_INIT;
	uint8_t *csr = NULL;
	size_t csr_len;
	int r;

	if (*ck_config_str(cfg, CK_CFG_TLS_CERT) != '\0')
		return 0; /* the operator's own certificate: theirs to renew */
	if (cert_fresh(cert, key, ck_now()))
		return 0;
	if ((r = ck_store_open(
	         ck_config_str(cfg, CK_CFG_DATABASE), &st, err)) != 0)
		return r;
	if (ca_exists(st, ca) == CK_E_NOTFOUND) {
		struct ck_ca_init_opts o = {0};
		o.name = ca;
		o.master_key = mk;
		o.actor = "serve";
		ck_log(CK_LOG_INFO,
		    "making the built-in CA '%s' for the "
		    "server certificate",
		    ca);
		if ((r = ck_ca_init(st, &o, err)) != 0)
			goto out;
	}
	names = strdup(ck_config_str(cfg, CK_CFG_SERVER_NAMES));
	for (n = strtok_r(names, ", ", &save); n && n_sans < 16;
	     n = strtok_r(NULL, ", ", &save)) {
		/* an IP address is an IP SAN; anything else a DNS name */
		snprintf(buf[n_sans], sizeof(buf[0]), "%s%s",
		    strchr(n, ':') || strspn(n, "0123456789.") == strlen(n)
		        ? "IP:"
		        : "DNS:",
		    n);
		sans[n_sans] = buf[n_sans];
		n_sans++;
	}
	if ((r = ck_make_key_and_csr("ec-p256",
	         n_sans ? strchr(sans[0], ':') + 1 : "localhost", sans, n_sans,
	         &csr, &csr_len, &key_pem, err)) != 0)
		goto out;
	rq.ca = ca;
	rq.profile = "tls-server";
	rq.csr = csr;
	rq.csr_len = csr_len;
	rq.days = 90;
	rq.requested_by = "serve";
	rq.master_key = mk;
	rq.public_url = ck_config_str(cfg, CK_CFG_PUBLIC_URL);
	if ((r = ck_enroll(st, &rq, &res, err)) != 0)
		goto out;
	ck_pem_encode("CERTIFICATE", res.der, res.der_len, &out);
	if (res.chain_pem.len)
		ck_buf_add(&out, res.chain_pem.p, res.chain_pem.len);
	if ((r = cli_write_file(key, key_pem.p, key_pem.len, 0600, false)) !=
	        0 ||
	    (r = cli_write_file(cert, out.p, out.len, 0644, false)) != 0) {
		r = ck_err_set(err, CK_E_IO, "writing %s / %s: %s", cert, key,
		    strerror(errno));
		goto out;
	}
	ck_log(CK_LOG_INFO, "server certificate issued by CA '%s' into %s", ca,
	    cert);
out:
	ck_enroll_res_release(&res);
	ck_buf_release_secret(&key_pem);
	ck_buf_release(&out);
	free(csr);
	free(names);
	ck_store_free(st);
	return r;
}

/* Before every TLS (re)load: the server certificate, then the agent
 * CA's certificate into <data_dir>/agent-ca.pem, which the TLS setup
 * trusts for agents' client certificates (the CA made when missing, as
 * server_ca is). */
static int
ensure_tls(void *arg, const char *cert, const char *key, struct ck_err *err)
{
	struct serve *sv = arg;
	const char *ca = ck_config_str(sv->cfg, CK_CFG_AGENT_CA);
	struct ck_store *st = NULL;
	struct ck_buf pem = CK_BUF_INIT;
	int r;

	if ((r = ensure_cert(arg, cert, key, err)) != 0)
		return r;
	if (*ca == '\0') {
		(void)unlink(sv->agent_ca_file); /* agents turned off */
		return 0;
	}
	if ((r = ck_store_open(
	         ck_config_str(sv->cfg, CK_CFG_DATABASE), &st, err)) != 0)
		return r;
	if (ca_exists(st, ca) == CK_E_NOTFOUND) {
		struct ck_ca_init_opts o = {0};
		o.name = ca;
		o.master_key = ck_config_str(sv->cfg, CK_CFG_MASTER_KEY);
		o.actor = "serve";
		ck_log(
		    CK_LOG_INFO, "making the built-in CA '%s' for agents", ca);
		if ((r = ck_ca_init(st, &o, err)) != 0)
			goto out;
	}
	if ((r = ck_agent_ca_pem(st, ca, &pem, err)) != 0)
		goto out;
	if (cli_write_file(sv->agent_ca_file, pem.p, pem.len, 0644, false) != 0)
		r = ck_err_set(err, CK_E_IO, "writing %s: %s",
		    sv->agent_ca_file, strerror(errno));
out:
	ck_buf_release(&pem);
	ck_store_free(st);
	return r;
}

struct names {
	char *v[256];
	int64_t id[256];
	size_t n;
};

static int
collect(void *ctx, const struct ck_ca_row *ca)
{
	struct names *n = ctx;

	if (n->n < 256 && (n->v[n->n] = strdup(ca->name)) != NULL)
		n->id[n->n++] = ca->id;
	return 0;
}

static int64_t
crl_number(struct ck_store *st, int64_t ca_id)
{
	int64_t number = 0, next;
	uint8_t *der = NULL;
	size_t len;

	(void)ck_store_crl_latest(st, ca_id, &number, &next, &der, &len, NULL);
	free(der);
	return number;
}

/* The tick hook, the daemon's background work: each CA's CRL is signed
 * again when its nextUpdate is near (ck_ca_crl decides), so relying
 * parties never fetch a stale one. */
static void
tick(void *arg)
{
	struct serve *sv = arg;
	const char *mk = ck_config_str(sv->cfg, CK_CFG_MASTER_KEY);
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct names n = {{0}, {0}, 0};

	if (ck_store_open(ck_config_str(sv->cfg, CK_CFG_DATABASE), &st, &err) !=
	        0 ||
	    ck_store_ca_list(st, collect, &n, &err) < 0) {
		ck_log(CK_LOG_ERROR, "maintenance: %s", err.msg);
		n.n = 0;
	}
	for (size_t i = 0; i < n.n; i++) {
		int64_t before = crl_number(st, n.id[i]);
		uint8_t *der = NULL;
		size_t len;
		if (ck_ca_crl(st, n.v[i], mk, false, &der, &len, &err) != 0)
			ck_log(CK_LOG_ERROR, "CRL of CA '%s': %s", n.v[i],
			    err.msg);
		else if (crl_number(st, n.id[i]) != before)
			ck_log(CK_LOG_INFO,
			    "CRL of CA '%s' signed: number %lld", n.v[i],
			    (long long)crl_number(st, n.id[i]));
		free(der);
		free(n.v[i]);
	}
	ck_store_free(st);
}

/* SIGHUP: user-defined profiles are taken from the new file. */
static int
reloaded(void *arg, const struct ck_config *cfg, struct ck_err *err)
{
	int r;

	(void)arg;
	if ((r = ck_profiles_configure(cfg, err)) != 0)
		return r;
	return ck_renew_scheduler_configure(cfg, err);
}

int
ck_cmd_serve(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"listen-plain", required_argument, NULL, 'p'},
	    {"public-url", required_argument, NULL, 'u'},
	    {"workers", required_argument, NULL, 'w'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"example-config", no_argument, NULL, 'E'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct flag flags[8];
	size_t n_flags = 0;
	const char *config = NULL;
	struct ck_config cfg;
	struct ck_err err = {0};
	struct ck_http_server *srv = NULL;
	struct ck_http_opts ho = {0};
	struct serve sv = {.cfg = &cfg};
	enum ck_log_level lvl;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'l':
			flags[n_flags++] = (struct flag){CK_CFG_LISTEN, optarg};
			break;
		case 'p':
			flags[n_flags++] =
			    (struct flag){CK_CFG_LISTEN_PLAIN, optarg};
			break;
		case 'u':
			flags[n_flags++] =
			    (struct flag){CK_CFG_PUBLIC_URL, optarg};
			break;
		case 'w':
			flags[n_flags++] =
			    (struct flag){CK_CFG_WORKERS, optarg};
			break;
		case 'd':
			flags[n_flags++] =
			    (struct flag){CK_CFG_DATA_DIR, optarg};
			break;
		case 'E': ck_config_write_example(stdout); return CK_EXIT_OK;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
		if (n_flags == 8)
			n_flags--;
	}
	if (optind != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((r = ck_config_load(config, &cfg, &err)) != 0)
		return cli_fail(r, &err, "config");
	if (cli->db_given) /* --db or $CERTKEEP_DB win over the file */
		(void)ck_config_set(&cfg, CK_CFG_DATABASE, cli->db_url, NULL);
	for (size_t i = 0; i < n_flags; i++)
		if ((r = ck_config_set(&cfg, flags[i].k, flags[i].v, &err)) !=
		    0) {
			ck_config_release(&cfg);
			fprintf(stderr, "certkeep: %s\n", err.msg);
			return CK_EXIT_USAGE;
		}
	if (ck_log_level_parse(ck_config_str(&cfg, CK_CFG_LOG_LEVEL), &lvl) !=
	    0) {
		fprintf(stderr,
		    "certkeep: log level: want debug, info, warn "
		    "or error\n");
		ck_config_release(&cfg);
		return CK_EXIT_USAGE;
	}
	ck_log_set_level(lvl);
	if ((r = ck_profiles_configure(&cfg, &err)) != 0) {
		fprintf(stderr, "certkeep: config: %s\n", err.msg);
		ck_config_release(&cfg);
		return CK_EXIT_USAGE;
	}
	if ((r = ck_acme_config_check(&cfg, &err)) != 0) {
		fprintf(stderr, "certkeep: config: %s\n", err.msg);
		ck_config_release(&cfg);
		return CK_EXIT_USAGE;
	}
	if (strcmp(ck_config_str(&cfg, CK_CFG_LOG_TO), "syslog") == 0)
		ck_log_to_syslog(true);
	(void)mkdir(ck_config_str(&cfg, CK_CFG_DATA_DIR), 0700);
	ck_api_routes(&ho.routes, &ho.n_routes);
	ho.cfg = &cfg;
	snprintf(sv.agent_ca_file, sizeof(sv.agent_ca_file), "%s/agent-ca.pem",
	    ck_config_str(&cfg, CK_CFG_DATA_DIR));
	ho.ensure_cert = ensure_tls;
	ho.agent_ca_file = sv.agent_ca_file;
	ho.authenticate = ck_api_authenticate;
	ho.reloaded = reloaded;
	ho.tick = tick;
	ho.arg = &sv;
	if ((r = ck_http_server_new(&ho, &srv, &err)) != 0) {
		ck_config_release(&cfg);
		return cli_fail(r, &err, "serve");
	}
	ck_log(CK_LOG_INFO,
	    "serving https on %s (port %d), plain http on %s (port %d)",
	    ck_config_str(&cfg, CK_CFG_LISTEN), ck_http_server_port(srv, 0),
	    ck_config_str(&cfg, CK_CFG_LISTEN_PLAIN),
	    ck_http_server_port(srv, 1));
	/* saved scans run in their own thread, never on the workers */
	if ((r = ck_scan_scheduler_start(
	         ck_config_str(&cfg, CK_CFG_DATABASE), &err)) != 0) {
		ck_http_server_free(srv);
		ck_config_release(&cfg);
		return cli_fail(r, &err, "serve: scheduled scans");
	}
	/* renewals and alerts, likewise */
	if ((r = ck_renew_scheduler_start(&cfg, &err)) != 0) {
		ck_scan_scheduler_stop();
		ck_http_server_free(srv);
		ck_config_release(&cfg);
		return cli_fail(r, &err, "serve: renewal scheduler");
	}
	r = ck_http_server_run(srv, &err);
	ck_renew_scheduler_stop();
	ck_scan_scheduler_stop();
	ck_http_server_free(srv);
	ck_config_release(&cfg);
	ck_log(CK_LOG_INFO, "stopped");
	return r == 0 ? CK_EXIT_OK : cli_fail(r, &err, "serve");
}
