/*
 * certkeep scan files and certkeep scan ssh: the command line of the
 * local scanners of src/discovery/ (options, the progress line, the table
 * and the JSON); the scanning and recording happen there.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"
#include "discovery/discovery.h"

static int
load_passwords(struct ck_strlist *pw, const char *file)
{
	struct ck_buf b = CK_BUF_INIT;
	struct ck_err err = {0};
	char *line, *save = NULL;
	int r;

	if ((r = ck_file_read(file, 1 << 20, &b, &err)) != 0) {
		fprintf(
		    stderr, "certkeep: %s: %s\n", file, ck_err_msg(&err, r));
		return r;
	}
	for (line = strtok_r(b.p, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save))
		ck_strlist_add(pw, line);
	if (b.len > 0 && pw->n == 0)
		ck_strlist_add(pw, "");
	ck_buf_release_secret(&b);
	return 0;
}

static void
hex(struct ck_buf *b, const uint8_t *p, size_t n)
{
	ck_buf_addhex(b, p, n, 0);
}

/* ---- scan files ---- */

struct fprog {
	bool on;
	uint64_t start;
};

static void
files_progress(void *ctx, const struct ck_fs_result *r)
{
	struct fprog *p = ctx;
	double secs = (double)(ck_mono_ns() - p->start) / 1e9;

	if (!p->on)
		return;
	fprintf(stderr,
	    "\r\033[Kscanning: %lld files, %lld certificates, %lld keys, "
	    "%.0f files/s",
	    (long long)r->files, (long long)r->certs, (long long)r->keys,
	    secs > 0 ? (double)r->files / secs : 0.0);
}

static void
files_usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep scan files [--password-file F] [--max-size "
	    "BYTES]\n"
	    "       [--max-files N] [--one-file-system | "
	    "--cross-filesystems] [--json] PATH...\n"
	    "\n"
	    "Walks files and folders for certificates (PEM, DER, PKCS#7, "
	    "PKCS#12)\n"
	    "and private keys (PEM, DER, PKCS#8, encrypted or not). "
	    "Certificates go\n"
	    "into the inventory with their file; keys are matched to the "
	    "scan's\n"
	    "certificates by public key, and unencrypted keys that group or "
	    "others\n"
	    "can read are reported. Links to folders are not followed; "
	    "/proc, /sys,\n"
	    "/dev and other filesystems than each path's are skipped.\n"
	    "\n"
	    "  --password-file F      PKCS#12 passwords to try, one per line\n"
	    "  --max-size BYTES       skip larger files (default 8 MiB)\n"
	    "  --max-files N          read at most N files (default "
	    "1000000)\n"
	    "  --one-file-system      stay on each path's filesystem "
	    "(default)\n"
	    "  --cross-filesystems    descend into other filesystems (not "
	    "pseudo ones)\n"
	    "  --json                 the full result as JSON\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Exit status: 0 scanned, 1 some files could not be read, 2 usage,"
	    "\n4 the inventory could not be written.\n");
}

static const char *
mode_str(unsigned mode, char out[8])
{
	snprintf(out, 8, "%04o", mode & 07777);
	return out;
}

static void
problems_json(struct ck_buf *o, const char *key, const struct ck_fs_problem *v,
    size_t n, bool *first)
{
	ck_json_sep(o, first);
	ck_json_key(o, key);
	ck_buf_addc(o, '[');
	for (size_t i = 0; i < n; i++) {
		bool f = true;
		if (i)
			ck_buf_addc(o, ',');
		ck_buf_addc(o, '{');
		ck_json_kv_str(o, &f, "path", v[i].path);
		ck_json_kv_str(o, &f, "reason", v[i].reason);
		ck_buf_addc(o, '}');
	}
	ck_buf_addc(o, ']');
}

static void
files_json(const struct ck_fs_result *r, struct ck_buf *o)
{
	struct ck_buf h = CK_BUF_INIT;
	bool first = true, f;

	ck_buf_addc(o, '{');
	ck_json_kv_int(o, &first, "files", r->files);
	ck_json_kv_int(o, &first, "dirs", r->dirs);
	ck_json_sep(o, &first);
	f = true;
	ck_buf_adds(o, "\"certificates\":{");
	ck_json_kv_int(o, &f, "found", r->certs);
	ck_json_kv_int(o, &f, "new", r->certs_new);
	ck_json_kv_int(o, &f, "known", r->certs_known);
	ck_buf_addc(o, '}');
	ck_json_sep(o, &first);
	f = true;
	ck_buf_adds(o, "\"keys\":{");
	ck_json_kv_int(o, &f, "found", r->keys);
	ck_json_kv_int(o, &f, "matched", r->keys_matched);
	ck_json_kv_int(o, &f, "unmatched", r->keys_unmatched);
	ck_json_kv_int(o, &f, "encrypted", r->keys_encrypted);
	ck_json_kv_int(o, &f, "exposed", r->keys_exposed);
	ck_buf_addc(o, '}');
	ck_json_kv_int(o, &first, "unreadable", r->unreadable);
	ck_json_kv_int(o, &first, "bad_parts", r->bad_parts);
	ck_json_sep(o, &first);
	f = true;
	ck_buf_adds(o, "\"skipped\":{");
	ck_json_kv_int(o, &f, "too_big", r->too_big);
	ck_json_kv_int(o, &f, "other_fs", r->other_fs);
	ck_json_kv_int(o, &f, "special", r->special);
	ck_json_kv_int(o, &f, "symlink_dirs", r->symlink_dirs);
	ck_buf_addc(o, '}');
	ck_json_kv_bool(o, &first, "limit_reached", r->limit_reached);
	ck_json_kv_int(o, &first, "scan_id", r->scan_id);
	ck_json_kv_int(o, &first, "changes", r->changes);

	ck_json_sep(o, &first);
	ck_buf_adds(o, "\"certificate_list\":[");
	for (size_t i = 0; i < r->n_cert; i++) {
		const struct ck_fs_cert *c = &r->cert_v[i];
		f = true;
		ck_buf_adds(o, i ? ",{" : "{");
		ck_json_kv_str(o, &f, "path", c->path);
		ck_json_kv_int(o, &f, "id", c->id);
		ck_buf_reset(&h);
		hex(&h, c->sha256, 32);
		ck_json_kv_str(o, &f, "sha256", h.p);
		ck_json_kv_bool(o, &f, "new", c->is_new);
		ck_buf_addc(o, '}');
	}
	ck_buf_adds(o, "],\"key_list\":[");
	for (size_t i = 0; i < r->n_key; i++) {
		const struct ck_fs_key *k = &r->key_v[i];
		char m[8];
		f = true;
		ck_buf_adds(o, i ? ",{" : "{");
		ck_json_kv_str(o, &f, "path", k->path);
		ck_json_kv_int(o, &f, "index", k->index);
		ck_json_kv_str(o, &f, "format", k->info.format);
		ck_json_kv_str(o, &f, "key_type",
		    *k->info.key_type ? k->info.key_type : NULL);
		ck_json_kv_int(o, &f, "bits", k->info.bits);
		ck_json_kv_str(o, &f, "mode", mode_str(k->mode, m));
		ck_json_kv_bool(o, &f, "encrypted", k->info.encrypted);
		ck_json_kv_bool(o, &f, "exposed", k->exposed);
		ck_json_kv_int(o, &f, "matched", k->n_matched);
		ck_buf_reset(&h);
		if (k->n_matched > 0)
			hex(&h, k->cert_sha256, 32);
		ck_json_kv_str(o, &f, "certificate", h.len ? h.p : NULL);
		if (*k->info.ssh_fingerprint)
			ck_json_kv_str(
			    o, &f, "ssh_fingerprint", k->info.ssh_fingerprint);
		ck_buf_addc(o, '}');
	}
	ck_buf_adds(o, "],\"findings\":[");
	f = true;
	for (size_t i = 0; i < r->n_key; i++) {
		const struct ck_fs_key *k = &r->key_v[i];
		bool g = true;
		char m[8];
		if (!k->exposed)
			continue;
		ck_json_sep(o, &f);
		ck_buf_addc(o, '{');
		ck_json_kv_str(o, &g, "kind", "exposed_private_key");
		ck_json_kv_str(o, &g, "path", k->path);
		ck_json_kv_str(o, &g, "mode", mode_str(k->mode, m));
		ck_buf_addc(o, '}');
	}
	ck_buf_addc(o, ']');
	problems_json(
	    o, "unreadable_list", r->unreadable_v, r->n_unreadable, &first);
	problems_json(o, "skipped_list", r->skipped_v, r->n_skipped, &first);
	problems_json(o, "bad_list", r->bad_v, r->n_bad, &first);
	ck_buf_adds(o, "}\n");
	ck_buf_release(&h);
}

static void
files_table(const struct ck_fs_result *r, struct ck_buf *o)
{
	int64_t skipped =
	    r->too_big + r->other_fs + r->special + r->symlink_dirs;

	if (r->n_key > 0)
		ck_buf_adds(o, "Private keys:\n");
	for (size_t i = 0; i < r->n_key; i++) {
		const struct ck_fs_key *k = &r->key_v[i];
		char m[8];
		ck_buf_printf(o, "  %s", k->path);
		if (k->index > 1)
			ck_buf_printf(o, "#%d", k->index);
		ck_buf_printf(o, "  %s", k->info.format);
		if (*k->info.key_type)
			ck_buf_printf(o, " %s", k->info.key_type);
		if (k->info.bits > 0)
			ck_buf_printf(o, " %d", k->info.bits);
		ck_buf_printf(o, "  %s  %s", mode_str(k->mode, m),
		    k->info.encrypted ? "encrypted" : "not encrypted");
		if (k->n_matched > 0) {
			ck_buf_printf(o, "  matches %d certificate%s (",
			    k->n_matched, k->n_matched == 1 ? "" : "s");
			hex(o, k->cert_sha256, 8);
			ck_buf_adds(o, "...)");
		} else {
			ck_buf_adds(o, "  no certificate");
		}
		if (*k->info.ssh_fingerprint)
			ck_buf_printf(o, "  %s", k->info.ssh_fingerprint);
		ck_buf_addc(o, '\n');
	}
	if (r->keys_exposed > 0)
		ck_buf_adds(o, "Findings:\n");
	for (size_t i = 0; i < r->n_key; i++) {
		const struct ck_fs_key *k = &r->key_v[i];
		char m[8];
		if (k->exposed)
			ck_buf_printf(o,
			    "  %s: unencrypted private key readable by %s "
			    "(mode %s)\n",
			    k->path,
			    (k->mode & 044) == 044 ? "group and others"
			        : (k->mode & 04)   ? "others"
			                           : "group",
			    mode_str(k->mode, m));
	}
	if (r->n_unreadable + r->n_bad > 0)
		ck_buf_adds(o, "Not read:\n");
	for (size_t i = 0; i < r->n_unreadable; i++)
		ck_buf_printf(o, "  %s: %s\n", r->unreadable_v[i].path,
		    r->unreadable_v[i].reason);
	for (size_t i = 0; i < r->n_bad; i++)
		ck_buf_printf(
		    o, "  %s: %s\n", r->bad_v[i].path, r->bad_v[i].reason);
	if (r->n_skipped > 0)
		ck_buf_adds(o, "Skipped:\n");
	for (size_t i = 0; i < r->n_skipped; i++)
		ck_buf_printf(o, "  %s: %s\n", r->skipped_v[i].path,
		    r->skipped_v[i].reason);
	ck_buf_printf(o,
	    "scanned %lld files: %lld certificates (%lld new, %lld known), "
	    "%lld private keys (%lld matched, %lld unmatched, %lld "
	    "encrypted, %lld exposed), %lld unreadable, %lld skipped%s; "
	    "scan %lld, %lld changes since the last scan of these paths\n",
	    (long long)r->files, (long long)r->certs, (long long)r->certs_new,
	    (long long)r->certs_known, (long long)r->keys,
	    (long long)r->keys_matched, (long long)r->keys_unmatched,
	    (long long)r->keys_encrypted, (long long)r->keys_exposed,
	    (long long)(r->unreadable + r->bad_parts), (long long)skipped,
	    r->limit_reached ? " (stopped at --max-files)" : "",
	    (long long)r->scan_id, (long long)r->changes);
}

int
cli_scan_files(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"password-file", required_argument, NULL, 'p'},
	    {"max-size", required_argument, NULL, 'm'},
	    {"max-files", required_argument, NULL, 'n'},
	    {"one-file-system", no_argument, NULL, 'x'},
	    {"cross-filesystems", no_argument, NULL, 'X'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_strlist pw = {0};
	struct ck_fs_opts fo = {0};
	struct ck_fs_result res = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct fprog prog = {0};
	struct ck_buf out = CK_BUF_INIT;
	bool json = false;
	int c, r, rc = CK_EXIT_OK;
	char *end;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (load_passwords(&pw, optarg) != 0) {
				rc = CK_EXIT_USAGE;
				goto out;
			}
			break;
		case 'm':
			fo.max_size = strtoull(optarg, &end, 10);
			if (*end != '\0' || fo.max_size == 0) {
				fprintf(stderr, "certkeep: bad --max-size\n");
				rc = CK_EXIT_USAGE;
				goto out;
			}
			break;
		case 'n':
			fo.max_files = strtoll(optarg, &end, 10);
			if (*end != '\0' || fo.max_files <= 0) {
				fprintf(stderr, "certkeep: bad --max-files\n");
				rc = CK_EXIT_USAGE;
				goto out;
			}
			break;
		case 'x': fo.cross_fs = false; break;
		case 'X': fo.cross_fs = true; break;
		case 'j': json = true; break;
		case 'h': files_usage(stdout); goto out;
		default:
			files_usage(stderr);
			rc = CK_EXIT_USAGE;
			goto out;
		}
	}
	if (optind >= argc) {
		files_usage(stderr);
		rc = CK_EXIT_USAGE;
		goto out;
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		goto out;
	fo.passwords = &pw;
	prog.on = isatty(STDERR_FILENO);
	prog.start = ck_mono_ns();
	fo.progress = files_progress;
	fo.ctx = &prog;
	r = ck_fs_scan(st, (const char *const *)argv + optind,
	    (size_t)(argc - optind), &fo, cli_actor(), &res, &err);
	if (prog.on)
		fputs("\r\033[K", stderr);
	if (json)
		files_json(&res, &out);
	else
		files_table(&res, &out);
	cli_flush(&out);
	if (r != 0) {
		fprintf(stderr,
		    "certkeep: scan stopped: %s\n"
		    "certkeep: the batch in progress was rolled back; the "
		    "inventory holds what was committed before it\n",
		    ck_err_msg(&err, r));
		rc = CK_EXIT_STORE;
	} else if (res.unreadable + res.bad_parts > 0) {
		rc = CK_EXIT_PARTIAL;
	}
out:
	ck_fs_result_release(&res);
	ck_store_free(st);
	for (size_t i = 0; i < pw.n; i++) /* secrets */
		ck_cleanse(pw.v[i], strlen(pw.v[i]));
	ck_strlist_release(&pw);
	ck_buf_release(&out);
	return rc;
}

/* ---- scan ssh ---- */

static void
ssh_usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep scan ssh [--json] [PATH...]\n"
	    "       certkeep scan ssh --list [--json]\n"
	    "\n"
	    "Reads OpenSSH public keys and certificates: files as given, "
	    "folders for\n"
	    "*.pub, *-cert.pub and authorized_keys (links to folders not "
	    "followed).\n"
	    "Without PATH: /etc/ssh/ssh_host_*.pub, ~/.ssh/authorized_keys "
	    "and\n"
	    "/root/.ssh/authorized_keys. Each key is recorded as an SSH key "
	    "with\n"
	    "where it was found and printed as ssh-keygen -l prints it, "
	    "with the\n"
	    "principals, validity and signing CA of certificates.\n"
	    "\n"
	    "  --list    print the SSH keys of the inventory and their "
	    "locations\n"
	    "  --json    JSON instead of text\n"
	    "  -h, --help\n"
	    "\n"
	    "Exit status: 0 scanned, 1 some files or lines could not be "
	    "read,\n2 usage, 4 the inventory could not be written.\n");
}

static void
json_time_or_null(
    struct ck_buf *o, bool *f, const char *key, int64_t t, int64_t none)
{
	if (t == none) {
		ck_json_sep(o, f);
		ck_json_key(o, key);
		ck_buf_adds(o, "null");
	} else {
		ck_json_kv_time(o, f, key, t);
	}
}

static void
ssh_found_json(const struct ck_ssh_found *x, struct ck_buf *o)
{
	const struct ck_ssh_key *k = &x->key.key;
	struct ck_buf t = CK_BUF_INIT;
	bool f = true;

	ck_buf_addc(o, '{');
	ck_json_kv_str(o, &f, "path", x->path);
	ck_json_kv_int(o, &f, "line", x->line);
	ck_json_kv_int(o, &f, "id", x->id);
	ck_json_kv_bool(o, &f, "new", x->is_new);
	ck_json_kv_str(o, &f, "type", k->type);
	ck_json_kv_str(o, &f, "algorithm", k->label);
	ck_json_kv_int(o, &f, "bits", k->bits);
	ck_json_kv_str(o, &f, "fingerprint", k->fingerprint);
	ck_json_kv_str(o, &f, "comment", x->key.comment);
	ck_json_kv_str(o, &f, "options", x->key.options);
	ck_ssh_fp_line(&x->key, &t);
	ck_json_kv_str(o, &f, "keygen_line", t.p);
	ck_json_sep(o, &f);
	ck_json_key(o, "certificate");
	if (!k->is_cert) {
		ck_buf_adds(o, "null");
	} else {
		bool g = true;
		ck_buf_addc(o, '{');
		ck_json_kv_str(
		    o, &g, "cert_type", ck_ssh_cert_type_name(k->cert_type));
		ck_json_kv_str(o, &g, "key_id", k->key_id);
		ck_buf_reset(&t);
		ck_buf_printf(&t, "%" PRIu64, k->serial);
		ck_json_kv_str(o, &g, "serial", t.p);
		ck_json_sep(o, &g);
		ck_json_key(o, "principals");
		ck_buf_addc(o, '[');
		for (size_t i = 0; i < k->principals.n; i++) {
			if (i)
				ck_buf_addc(o, ',');
			ck_json_str(o, k->principals.v[i]);
		}
		ck_buf_addc(o, ']');
		json_time_or_null(o, &g, "valid_after", k->valid_after, 0);
		json_time_or_null(
		    o, &g, "valid_before", k->valid_before, CK_SSH_FOREVER);
		ck_buf_reset(&t);
		ck_ssh_validity(k, &t);
		ck_json_kv_str(o, &g, "validity", t.p);
		ck_json_kv_str(o, &g, "ca_algorithm", k->ca_label);
		ck_json_kv_str(o, &g, "ca_fingerprint", k->ca_fingerprint);
		ck_json_kv_str(o, &g, "signature_algorithm", k->sig_alg);
		ck_buf_addc(o, '}');
	}
	ck_buf_addc(o, '}');
	ck_buf_release(&t);
}

static void
ssh_found_text(const struct ck_ssh_found *x, struct ck_buf *o)
{
	const struct ck_ssh_key *k = &x->key.key;

	ck_buf_printf(o, "%s:%d: ", x->path, x->line);
	ck_ssh_fp_line(&x->key, o);
	ck_buf_printf(o, "%s\n", x->is_new ? " [new]" : "");
	if (!k->is_cert)
		return;
	ck_buf_printf(o,
	    "    %s certificate, key id \"%s\", serial %" PRIu64 "\n",
	    ck_ssh_cert_type_name(k->cert_type), k->key_id, k->serial);
	ck_buf_adds(o, "    principals: ");
	if (k->principals.n == 0)
		ck_buf_adds(o, "(none)");
	for (size_t i = 0; i < k->principals.n; i++)
		ck_buf_printf(o, "%s%s", i ? ", " : "", k->principals.v[i]);
	ck_buf_adds(o, "\n    valid: ");
	ck_ssh_validity(k, o);
	ck_buf_printf(o, "\n    signing CA: %s %s (using %s)\n", k->ca_label,
	    k->ca_fingerprint, k->sig_alg);
}

struct ssh_list {
	struct ck_store *st;
	struct ck_buf *o;
	bool json, first;
	bool lfirst;
};

static int
list_loc(void *ctx, const struct ck_location *l)
{
	struct ssh_list *sl = ctx;
	char t[CK_TIME_STR_MAX];

	if (sl->json) {
		bool f = true;
		if (!sl->lfirst)
			ck_buf_addc(sl->o, ',');
		sl->lfirst = false;
		ck_buf_addc(sl->o, '{');
		ck_json_kv_str(sl->o, &f, "place", l->place);
		ck_json_kv_time(sl->o, &f, "first_seen", l->first_seen);
		ck_json_kv_time(sl->o, &f, "last_seen", l->last_seen);
		ck_buf_addc(sl->o, '}');
	} else {
		ck_time_format(l->last_seen, t);
		ck_buf_printf(sl->o, "    %s (last seen %s)\n", l->place, t);
	}
	return 0;
}

static int
list_key(void *ctx, const struct ck_ssh_key_row *k)
{
	struct ssh_list *sl = ctx;
	struct ck_buf *o = sl->o;
	struct ck_err err = {0};
	int r;

	if (sl->json) {
		bool f = true;
		ck_json_sep(o, &sl->first);
		ck_buf_addc(o, '{');
		ck_json_kv_int(o, &f, "id", k->id);
		ck_json_kv_str(o, &f, "fingerprint", k->fingerprint);
		ck_json_kv_str(o, &f, "type", k->key_type);
		ck_json_kv_str(o, &f, "algorithm", k->algorithm);
		ck_json_kv_int(o, &f, "bits", k->bits);
		ck_json_kv_str(o, &f, "comment", k->comment);
		ck_json_kv_str(o, &f, "cert_type", k->cert_type);
		if (k->cert_type != NULL) {
			ck_json_kv_str(o, &f, "key_id", k->key_id);
			ck_json_kv_str(o, &f, "serial", k->serial);
			ck_json_kv_str(o, &f, "principals", k->principals);
			json_time_or_null(
			    o, &f, "valid_after", k->valid_after, 0);
			json_time_or_null(
			    o, &f, "valid_before", k->valid_before, INT64_MAX);
			ck_json_kv_str(
			    o, &f, "ca_fingerprint", k->ca_fingerprint);
		}
		ck_json_kv_time(o, &f, "first_seen", k->first_seen);
		ck_json_kv_time(o, &f, "last_seen", k->last_seen);
		ck_json_sep(o, &f);
		ck_json_key(o, "locations");
		ck_buf_addc(o, '[');
		sl->lfirst = true;
	} else {
		ck_buf_printf(o, "%lld  %d %s %s (%s)", (long long)k->id,
		    k->bits, k->fingerprint,
		    k->comment ? k->comment : "no comment", k->algorithm);
		if (k->cert_type != NULL)
			ck_buf_printf(o, "  %s certificate \"%s\"",
			    k->cert_type, k->key_id ? k->key_id : "");
		ck_buf_addc(o, '\n');
	}
	if ((r = ck_store_ssh_locations(sl->st, k->id, list_loc, sl, &err)) !=
	    0) {
		fprintf(stderr, "certkeep: %s\n", ck_err_msg(&err, r));
		return r;
	}
	if (sl->json)
		ck_buf_adds(o, "]}");
	if (o->len > 65536)
		cli_flush(o);
	return 0;
}

static int
ssh_list(struct ck_store *st, bool json)
{
	struct ck_buf o = CK_BUF_INIT;
	struct ck_err err = {0};
	struct ssh_list sl = {st, &o, json, true, true};
	int r;

	if (json)
		ck_buf_addc(&o, '[');
	r = ck_store_ssh_key_list(st, list_key, &sl, &err);
	if (json)
		ck_buf_adds(&o, "]\n");
	cli_flush(&o);
	ck_buf_release(&o);
	if (r != 0)
		return cli_fail(r, &err, "ssh keys");
	return CK_EXIT_OK;
}

int
cli_scan_ssh(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"list", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ck_strlist paths = {0};
	struct ck_ssh_result res = {0};
	struct ck_store *st = NULL;
	struct ck_err err = {0};
	struct ck_buf o = CK_BUF_INIT;
	bool json = false, list = false;
	int c, r, rc = CK_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'l': list = true; break;
		case 'h': ssh_usage(stdout); goto out;
		default:
			ssh_usage(stderr);
			rc = CK_EXIT_USAGE;
			goto out;
		}
	}
	if (list && optind < argc) {
		ssh_usage(stderr);
		rc = CK_EXIT_USAGE;
		goto out;
	}
	if ((rc = cli_open_store(cli, &st)) != 0)
		goto out;
	if (list) {
		rc = ssh_list(st, json);
		goto out;
	}
	for (int i = optind; i < argc; i++)
		ck_strlist_add(&paths, argv[i]);
	if (optind >= argc)
		ck_ssh_default_paths(&paths);
	r = ck_ssh_scan(
	    st, (const char *const *)paths.v, paths.n, cli_actor(), &res, &err);
	if (json) {
		bool f = true;
		ck_buf_addc(&o, '{');
		ck_json_kv_int(&o, &f, "files", res.files);
		ck_json_kv_int(&o, &f, "keys", res.keys);
		ck_json_kv_int(&o, &f, "certificates", res.certs);
		ck_json_kv_int(&o, &f, "new", res.keys_new);
		ck_json_kv_int(&o, &f, "unreadable", res.unreadable);
		ck_json_kv_int(&o, &f, "bad_lines", res.bad_lines);
		ck_json_kv_int(&o, &f, "scan_id", res.scan_id);
		ck_json_kv_int(&o, &f, "changes", res.changes);
		ck_json_sep(&o, &f);
		ck_buf_adds(&o, "\"found\":[");
		for (size_t i = 0; i < res.n; i++) {
			if (i)
				ck_buf_addc(&o, ',');
			ssh_found_json(&res.v[i], &o);
		}
		ck_buf_addc(&o, ']');
		problems_json(&o, "problems", res.problems, res.n_problems, &f);
		ck_buf_adds(&o, "}\n");
	} else {
		for (size_t i = 0; i < res.n; i++)
			ssh_found_text(&res.v[i], &o);
		for (size_t i = 0; i < res.n_problems; i++)
			ck_buf_printf(&o, "%s: not read: %s\n",
			    res.problems[i].path, res.problems[i].reason);
		ck_buf_printf(&o,
		    "scanned %lld files: %lld SSH keys (%lld certificates, "
		    "%lld new), %lld unreadable, %lld bad lines\n",
		    (long long)res.files, (long long)res.keys,
		    (long long)res.certs, (long long)res.keys_new,
		    (long long)res.unreadable, (long long)res.bad_lines);
		if (res.scan_id > 0)
			ck_buf_printf(&o,
			    "scan %lld, %lld changes since the last scan of "
			    "these paths\n",
			    (long long)res.scan_id, (long long)res.changes);
	}
	cli_flush(&o);
	if (r != 0)
		rc = cli_fail(r, &err, "scan stopped");
	else if (res.unreadable + res.bad_lines > 0)
		rc = CK_EXIT_PARTIAL;
out:
	ck_ssh_result_release(&res);
	ck_strlist_release(&paths);
	ck_store_free(st);
	ck_buf_release(&o);
	return rc;
}
