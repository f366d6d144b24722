/*
 * certkeep ca: make and inspect the built-in CAs (init, list, show).
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/json.h"
#include "ca/ca.h"
#include "x509/x509.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep ca init NAME [--key TYPE] [--subject DN] "
	    "[--validity DUR]\n"
	    "                   [--root-only | --parent CA] [--master-key F]\n"
	    "       certkeep ca list [--json]\n"
	    "       certkeep ca show NAME [--pem | --json]\n"
	    "       certkeep ca crl NAME [--out F] [--der]\n"
	    "       certkeep ca import NAME --cert F --key F\n"
	    "\n"
	    "init makes a self-signed root NAME-root and the issuing CA NAME "
	    "under it\n"
	    "(--root-only: just NAME, self-signed; --parent: NAME signed by "
	    "that CA).\n"
	    "Keys never leave certkeep in the clear: they are sealed with "
	    "AES-256-GCM\n"
	    "under the master key file (--master-key, "
	    "$CERTKEEP_MASTER_KEY_FILE or\n"
	    "./var/master.key, made 0600 at first use).\n"
	    "\n"
	    "  --key TYPE       ec-p256 (default), ec-p384, rsa-3072, "
	    "rsa-4096, ed25519\n"
	    "  --subject DN     \"CN=Example Issuing CA,O=Example\" (default: "
	    "from NAME)\n"
	    "  --validity DUR   of the issuing CA (default 5y; the root gets "
	    "twice that)\n");
}

struct ca_out {
	struct ck_store *st;
	bool json, first, pem;
	struct ck_buf out;
	int64_t now;
};

static int
on_cert_line(void *ctx, const struct ck_cert_row *r)
{
	struct ca_out *o = ctx;
	char t[CK_TIME_STR_MAX], key[64];

	if (o->pem) {
		ck_pem_encode("CERTIFICATE", r->der, r->der_len, &o->out);
		return 0;
	}
	ck_time_format(r->not_after, t);
	cli_key_desc(r->key_type, r->key_bits, r->curve, key, sizeof(key));
	if (o->json) {
		bool f = false;
		ck_json_kv_str(&o->out, &f, "subject", r->subject);
		ck_json_kv_str(&o->out, &f, "issuer", r->issuer);
		ck_json_kv_time(&o->out, &f, "not_after", r->not_after);
		ck_json_kv_str(&o->out, &f, "key", key);
		ck_json_sep(&o->out, &f);
		ck_buf_adds(&o->out, "\"sha256\":\"");
		ck_buf_addhex(&o->out, r->sha256, 32, 0);
		ck_buf_addc(&o->out, '"');
		ck_json_kv_int(&o->out, &f, "cert_id", r->id);
	} else {
		ck_buf_printf(&o->out,
		    "  %-9s %s\n  %-9s %s\n  %-9s %.10s\n"
		    "  %-9s %s\n  %-9s ",
		    "subject", r->subject, "issuer", r->issuer, "expires", t,
		    "key", key, "sha256");
		ck_buf_addhex(&o->out, r->sha256, 32, 0);
		ck_buf_printf(
		    &o->out, "\n  %-9s %lld\n", "cert id", (long long)r->id);
	}
	return 0;
}

static int
self_issued_of(void *ctx, const struct ck_cert_row *r)
{
	*(bool *)ctx = r->self_issued;
	return 0;
}

static bool
ca_self_issued(struct ck_store *st, int64_t cert_id)
{
	bool si = false;

	(void)ck_store_cert_get(st, cert_id, self_issued_of, &si, NULL);
	return si;
}

static int
on_ca(void *ctx, const struct ck_ca_row *ca)
{
	struct ca_out *o = ctx;
	struct ck_err err = {0};
	char t[CK_TIME_STR_MAX];
	int r;

	ck_time_format(ca->created_at, t);
	if (o->pem)
		return ck_store_cert_get(
		    o->st, ca->cert_id, on_cert_line, o, &err);
	if (o->json) {
		bool f = true;
		ck_buf_adds(&o->out, o->first ? "" : ",");
		o->first = false;
		ck_buf_addc(&o->out, '{');
		ck_json_kv_str(&o->out, &f, "name", ca->name);
		ck_json_kv_str(&o->out, &f, "key_type", ca->key_type);
		ck_json_kv_str(&o->out, &f, "state", ca->state);
		ck_json_kv_time(&o->out, &f, "created_at", ca->created_at);
		ck_json_kv_bool(&o->out, &f, "root",
		    ca->parent_id == 0 && ca_self_issued(o->st, ca->cert_id));
	} else {
		ck_buf_printf(&o->out, "%s (%s, %s, key %s, made %.10s)\n",
		    ca->name,
		    ca->parent_id != 0 ? "intermediate"
		        : ca_self_issued(o->st, ca->cert_id)
		        ? "root"
		        : "intermediate, "
		          "external parent",
		    ca->state, ca->key_type, t);
	}
	r = ck_store_cert_get(o->st, ca->cert_id, on_cert_line, o, &err);
	if (o->json)
		ck_buf_addc(&o->out, '}');
	return r;
}

static int
ca_init(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"subject", required_argument, NULL, 's'},
	    {"validity", required_argument, NULL, 'v'},
	    {"root-only", no_argument, NULL, 'R'},
	    {"parent", required_argument, NULL, 'p'},
	    {"master-key", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_ca_init_opts o = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': o.key_type = optarg; break;
		case 's': o.subject = optarg; break;
		case 'v':
			if (ck_duration_parse(optarg, &o.validity) != 0 ||
			    o.validity < 86400) {
				fprintf(stderr,
				    "certkeep: bad --validity '%s' "
				    "(at least 1d; 5y, 3650d)\n",
				    optarg);
				return CK_EXIT_USAGE;
			}
			break;
		case 'R': o.root_only = true; break;
		case 'p': o.parent = optarg; break;
		case 'm': o.master_key = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	o.name = argv[optind];
	o.actor = cli_actor();
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	if ((r = ck_ca_init(st, &o, &err)) != 0) {
		rc = cli_fail(r, &err, "ca init");
	} else {
		struct ca_out out = {st, false, true, false, CK_BUF_INIT, 0};
		if (!o.root_only && o.parent == NULL) {
			char root[80];
			snprintf(root, sizeof(root), "%s-root", o.name);
			(void)ck_store_ca_get(st, root, on_ca, &out, NULL);
		}
		(void)ck_store_ca_get(st, o.name, on_ca, &out, NULL);
		cli_flush(&out.out);
		ck_buf_release(&out.out);
	}
	ck_store_free(st);
	return rc;
}

static int
ca_list_show(struct ck_cli *cli, int argc, char **argv, bool show)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"pem", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ca_out out = {0};
	struct ck_err err = {0};
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': out.json = true; break;
		case 'p': out.pem = true; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + (show ? 1 : 0) != argc ||
	    (out.pem && (!show || out.json))) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &out.st)) != 0)
		return rc;
	out.first = true;
	if (show) {
		r = ck_store_ca_get(out.st, argv[optind], on_ca, &out, &err);
		if (out.json)
			ck_buf_addc(&out.out, '\n');
	} else {
		if (out.json)
			ck_buf_addc(&out.out, '[');
		r = ck_store_ca_list(out.st, on_ca, &out, &err);
		if (out.json)
			ck_buf_adds(&out.out, "]\n");
		else if (r == 0 && out.out.len == 0)
			ck_buf_adds(&out.out,
			    "(no CAs; make one with certkeep "
			    "ca init NAME)\n");
	}
	if (r != 0)
		rc = cli_fail(r, &err, "ca");
	else
		cli_flush(&out.out);
	ck_buf_release(&out.out);
	ck_store_free(out.st);
	return rc;
}

static int
ca_import(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"master-key", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_ca_import_opts o = {0};
	struct ck_buf cert = CK_BUF_INIT, key = CK_BUF_INIT;
	const char *cert_path = NULL, *key_path = NULL;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	int c, r, rc = CK_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cert_path = optarg; break;
		case 'k': key_path = optarg; break;
		case 'm': o.master_key = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || cert_path == NULL || key_path == NULL) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((r = cli_read_first(cert_path, CK_ITEM_CERT, &cert, &err)) != 0) {
		rc = cli_fail(r, &err, NULL);
		goto out;
	}
	if ((r = ck_file_read(key_path, 1 << 20, &key, &err)) != 0) {
		rc = cli_fail(r, &err, key_path);
		goto out;
	}
	o.name = argv[optind];
	o.cert = (const uint8_t *)cert.p;
	o.cert_len = cert.len;
	o.key = (const uint8_t *)key.p;
	o.key_len = key.len;
	o.actor = cli_actor();
	if ((rc = cli_open_store(cli, &st)) != 0)
		goto out;
	if ((r = ck_ca_import(st, &o, &err)) != 0) {
		rc = cli_fail(r, &err, "ca import");
	} else {
		struct ca_out out = {st, false, true, false, CK_BUF_INIT, 0};
		(void)ck_store_ca_get(st, o.name, on_ca, &out, NULL);
		cli_flush(&out.out);
		ck_buf_release(&out.out);
	}
out:
	ck_store_free(st);
	ck_buf_release(&cert);
	ck_buf_release_secret(&key);
	return rc;
}

static int
ca_crl(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"der", no_argument, NULL, 'd'},
	    {"master-key", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *out_path = NULL, *master_key = NULL;
	struct ck_buf out = CK_BUF_INIT;
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	uint8_t *der = NULL;
	size_t len;
	bool raw = false;
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out_path = optarg; break;
		case 'd': raw = true; break;
		case 'm': master_key = optarg; break;
		case 'h': usage(stdout); return CK_EXIT_OK;
		default: usage(stderr); return CK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return CK_EXIT_USAGE;
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		return rc;
	if ((r = ck_ca_crl(
	         st, argv[optind], master_key, false, &der, &len, &err)) != 0) {
		rc = cli_fail(r, &err, "ca crl");
		goto out;
	}
	if (raw)
		ck_buf_add(&out, der, len);
	else
		ck_pem_encode("X509 CRL", der, len, &out);
	if (out_path == NULL) {
		cli_flush(&out);
	} else if ((r = cli_write_file(
	                out_path, out.p, out.len, 0644, false)) != 0) {
		fprintf(stderr, "certkeep: %s: %s\n", out_path, strerror(-r));
		rc = CK_EXIT_FAIL;
	}
out:
	free(der);
	ck_buf_release(&out);
	ck_store_free(st);
	return rc;
}

int
ck_cmd_ca(struct ck_cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CK_EXIT_USAGE : CK_EXIT_OK;
	}
	if (strcmp(argv[1], "init") == 0)
		return ca_init(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return ca_list_show(cli, argc - 1, argv + 1, false);
	if (strcmp(argv[1], "show") == 0)
		return ca_list_show(cli, argc - 1, argv + 1, true);
	if (strcmp(argv[1], "crl") == 0)
		return ca_crl(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return ca_import(cli, argc - 1, argv + 1);
	fprintf(stderr,
	    "certkeep: 'ca %s' is not a command; see certkeep ca "
	    "--help\n",
	    argv[1]);
	return CK_EXIT_USAGE;
}
