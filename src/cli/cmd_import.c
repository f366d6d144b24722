/*
 * certkeep import: reads files, folders (with -r) and stdin, records every
 * certificate found through the one inventory call, in batched
 * transactions. A bad file is reported and skipped; a store failure stops
 * the import with the failed batch rolled back and earlier batches kept.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"
#include "x509/x509.h"

#define DEFAULT_BATCH 50000
#define DEFAULT_MAX_SIZE (64u << 20)
#define MAX_DEPTH 64

struct dir_id {
	dev_t dev;
	ino_t ino;
};

struct import {
	struct ck_store *st;
	struct ck_strlist passwords;
	struct ck_ingest_opts iopts;
	bool recursive, quiet, json;
	size_t max_size;
	int batch_max;
	int64_t now;
	/* The open transaction. */
	bool in_tx;
	int in_batch;
	int64_t batch_new, batch_known;
	/* Totals. */
	int64_t files, n_new, n_known, n_skipped, n_other;
	int store_error; /* set: stop everything */
	struct ck_err store_err;
	/* The file being read: as the user named it, and as recorded. */
	const char *shown;
	const char *path;
	const char *kind;
	int f_new, f_known, f_other, f_bad;
	struct ck_buf f_notes;
	/* Directories on the current walk, to catch loops. */
	struct dir_id stack[MAX_DEPTH];
	int depth;
	struct ck_buf buf;
	/* Progress on stderr when it is a terminal. */
	bool progress;
	uint64_t start_ns, last_ns;
	int64_t seen;
};

static void
show_progress(struct import *im, bool done)
{
	uint64_t now = ck_mono_ns();
	double secs;

	if (!im->progress)
		return;
	if (!done && now - im->last_ns < 250000000u)
		return;
	im->last_ns = now;
	secs = (double)(now - im->start_ns) / 1e9;
	if (done) {
		fputs("\r\033[K", stderr);
		return;
	}
	fprintf(stderr,
	    "\r\033[Kimporting: %lld certificates from %lld files, "
	    "%.0f/s",
	    (long long)im->seen, (long long)im->files,
	    secs > 0 ? (double)im->seen / secs : 0.0);
}

static void
skip(struct import *im, const char *path, const char *reason)
{
	if (im->progress)
		fputs("\r\033[K", stderr);
	im->n_skipped++;
	fprintf(stderr, "%s: skipped: %s\n", path, reason);
}

static int
commit(struct import *im)
{
	struct ck_err err = {0};
	char detail[128];
	int r;

	if (!im->in_tx)
		return 0;
	snprintf(detail, sizeof(detail), "%lld new, %lld known",
	    (long long)im->batch_new, (long long)im->batch_known);
	if ((r = ck_store_event_add(im->st, cli_actor(), "import", "inventory",
	         detail, &err)) != 0 ||
	    (r = ck_store_commit(im->st, &err)) != 0) {
		ck_store_rollback(im->st);
		im->in_tx = false;
		im->store_error = r;
		im->store_err = err;
		return r;
	}
	im->n_new += im->batch_new;
	im->n_known += im->batch_known;
	im->batch_new = im->batch_known = 0;
	im->in_tx = false;
	im->in_batch = 0;
	return 0;
}

static int
put_cert(struct import *im, const struct ck_item *it)
{
	struct ck_err err = {0};
	struct ck_cert *c = NULL;
	int64_t id;
	bool is_new;
	int r;

	if ((r = ck_x509_parse(
	         it->der, it->der_len, CK_PARSE_CORE, &c, &err)) != 0) {
		im->f_bad++;
		ck_buf_printf(&im->f_notes, "%s#%d: skipped: %s\n", im->shown,
		    it->index, ck_err_msg(&err, r));
		return 0;
	}
	if (!im->in_tx) {
		if ((r = ck_store_begin(im->st, &err)) != 0)
			goto fail;
		im->in_tx = true;
	}
	if ((r = ck_store_cert_put(im->st, c, im->now, &id, &is_new, &err)) !=
	        0 ||
	    (r = ck_store_location_put(
	         im->st, id, im->kind, im->path, im->now, &err)) != 0)
		goto fail;
	ck_cert_free(c);
	if ((++im->seen & 1023) == 0)
		show_progress(im, false);
	if (is_new) {
		im->f_new++;
		im->batch_new++;
	} else {
		im->f_known++;
		im->batch_known++;
	}
	if (++im->in_batch >= im->batch_max)
		return commit(im);
	return 0;
fail:
	ck_cert_free(c);
	ck_store_rollback(im->st);
	im->in_tx = false;
	im->store_error = r;
	im->store_err = err;
	return r;
}

static int
on_item(void *ctx, const struct ck_item *it)
{
	struct import *im = ctx;

	switch (it->kind) {
	case CK_ITEM_CERT: return put_cert(im, it);
	case CK_ITEM_ERROR:
		im->f_bad++;
		ck_buf_printf(&im->f_notes, "%s#%d: skipped: %s%s%s\n",
		    im->shown, it->index, it->label ? it->label : "",
		    it->label ? ": " : "", it->reason);
		return 0;
	case CK_ITEM_CSR: {
		struct ck_csr *csr = NULL;
		im->f_other++;
		im->n_other++;
		if (ck_x509_csr_parse(it->der, it->der_len, &csr, NULL) != 0) {
			im->f_bad++;
			ck_buf_printf(&im->f_notes,
			    "%s#%d: skipped: certificate request cannot be "
			    "parsed\n",
			    im->shown, it->index);
		} else if (!im->quiet) {
			ck_buf_printf(&im->f_notes,
			    "%s#%d: certificate request for %s (not stored)\n",
			    im->shown, it->index,
			    *csr->subject ? csr->subject : "an empty subject");
		}
		ck_csr_free(csr);
		return 0;
	}
	default:
		im->f_other++;
		im->n_other++;
		if (!im->quiet)
			ck_buf_printf(&im->f_notes, "%s#%d: %s (not stored)\n",
			    im->shown, it->index,
			    it->kind == CK_ITEM_OTHER && it->label
			        ? it->label
			        : ck_item_kind_name(it->kind));
		return 0;
	}
}

static void
import_file(struct import *im, const char *path, const char *place)
{
	const char *shown = path;

	struct ck_err err = {0};
	int r;

	if ((r = ck_file_read(path, im->max_size, &im->buf, &err)) != 0) {
		skip(im, shown, ck_err_msg(&err, r));
		return;
	}
	im->files++;
	im->path = place;
	im->shown = shown;
	im->f_new = im->f_known = im->f_other = im->f_bad = 0;
	ck_buf_reset(&im->f_notes);
	r = ck_x509_ingest((const uint8_t *)im->buf.p, im->buf.len, &im->iopts,
	    on_item, im, &err);
	if (im->store_error)
		return;
	if (r != 0) {
		skip(im, shown, ck_err_msg(&err, r));
		return;
	}
	if (im->f_bad > 0) {
		/* Each unreadable part is one skip, with its own reason. */
		if (im->progress)
			fputs("\r\033[K", stderr);
		fputs(im->f_notes.p, stderr);
		im->n_skipped += im->f_bad;
	} else if (im->f_notes.len > 0 && !im->quiet) {
		fputs(im->f_notes.p, stdout);
	}
	if (!im->quiet && !im->json)
		printf("%s: %d certificate%s (%d new, %d known)\n", shown,
		    im->f_new + im->f_known,
		    im->f_new + im->f_known == 1 ? "" : "s", im->f_new,
		    im->f_known);
}

static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void import_path(struct import *im, const char *path, int top);

static void
import_dir(struct import *im, const char *path, const struct stat *st)
{
	struct dirent **ents = NULL;
	int n;

	for (int i = 0; i < im->depth; i++)
		if (im->stack[i].dev == st->st_dev &&
		    im->stack[i].ino == st->st_ino) {
			skip(im, path, "directory loop (already being read)");
			return;
		}
	if (im->depth >= MAX_DEPTH) {
		skip(im, path, "directory nesting deeper than 64");
		return;
	}
	if ((n = scandir(path, &ents, NULL, name_cmp)) < 0) {
		skip(im, path, strerror(errno));
		return;
	}
	im->stack[im->depth].dev = st->st_dev;
	im->stack[im->depth].ino = st->st_ino;
	im->depth++;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;

		if (!im->store_error && strcmp(name, ".") != 0 &&
		    strcmp(name, "..") != 0) {
			struct ck_buf child = CK_BUF_INIT;
			ck_buf_printf(&child, "%s%s%s", path,
			    path[strlen(path) - 1] == '/' ? "" : "/", name);
			import_path(im, child.p, 0);
			ck_buf_release(&child);
		}
		free(ents[i]);
	}
	free(ents);
	im->depth--;
}

static void
import_path(struct import *im, const char *path, int top)
{
	struct stat st;
	char *abs;

	if (strcmp(path, "-") == 0) {
		im->kind = "stdin";
		import_file(im, "-", "stdin");
		return;
	}
	if (stat(path, &st) != 0) {
		/* A dangling link inside a folder is noise, not a failure. */
		if (!top && errno == ENOENT && lstat(path, &st) == 0 &&
		    S_ISLNK(st.st_mode)) {
			skip(im, path, "broken symbolic link");
			return;
		}
		skip(im, path, strerror(errno));
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!im->recursive)
			skip(im, path,
			    "is a directory (use -r to import "
			    "folders)");
		else
			import_dir(im, path, &st);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		skip(im, path, "not a regular file");
		return;
	}
	im->kind = "file";
	abs = realpath(path, NULL);
	import_file(im, path, abs ? abs : path);
	free(abs);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: certkeep import [-r] [--password-file F] [-q] [--json] "
	    "PATH...\n"
	    "\n"
	    "Imports certificates from files (PEM, DER, PKCS#7, PKCS#12; the\n"
	    "format is read from the content), folders with -r, or - for "
	    "stdin.\n"
	    "Each certificate is recorded once, with every place it was "
	    "seen.\n"
	    "\n"
	    "  -r, --recursive        read folders and their subfolders\n"
	    "  --password-file F      PKCS#12 passwords to try, one per line\n"
	    "  --max-size BYTES       skip files larger than this (default "
	    "64 MiB)\n"
	    "  --batch N              certificates per transaction (default "
	    "50000)\n"
	    "  -q, --quiet            print only problems and the summary\n"
	    "  --json                 print the summary as JSON\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Exit status: 0 all read, 1 some skipped (reasons on stderr),\n"
	    "2 usage, 4 the inventory could not be written (the failed "
	    "batch\n"
	    "is rolled back; earlier batches stay).\n");
}

static int
load_passwords(struct import *im, const char *file)
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
		ck_strlist_add(&im->passwords, line);
	if (b.len > 0 && im->passwords.n == 0)
		ck_strlist_add(&im->passwords, "");
	ck_buf_release_secret(&b);
	return 0;
}

int
ck_cmd_import(struct ck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"recursive", no_argument, NULL, 'r'},
	    {"password-file", required_argument, NULL, 'p'},
	    {"max-size", required_argument, NULL, 'm'},
	    {"batch", required_argument, NULL, 'b'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct import im;
	int c, rc = CK_EXIT_OK;
	char *end;

	memset(&im, 0, sizeof(im));
	im.max_size = DEFAULT_MAX_SIZE;
	im.batch_max = DEFAULT_BATCH;
	while ((c = getopt_long(argc, argv, "rqh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': im.recursive = true; break;
		case 'q': im.quiet = true; break;
		case 'j': im.json = true; break;
		case 'p':
			if (load_passwords(&im, optarg) != 0) {
				rc = CK_EXIT_USAGE;
				goto out;
			}
			break;
		case 'm':
			im.max_size = strtoull(optarg, &end, 10);
			if (*end != '\0' || im.max_size == 0) {
				fprintf(stderr, "certkeep: bad --max-size\n");
				rc = CK_EXIT_USAGE;
				goto out;
			}
			break;
		case 'b':
			im.batch_max = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || im.batch_max <= 0) {
				fprintf(stderr, "certkeep: bad --batch\n");
				rc = CK_EXIT_USAGE;
				goto out;
			}
			break;
		case 'h': usage(stdout); goto out;
		default:
			usage(stderr);
			rc = CK_EXIT_USAGE;
			goto out;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		rc = CK_EXIT_USAGE;
		goto out;
	}
	im.iopts.passwords = &im.passwords;
	if ((rc = cli_open_store(cli, &im.st)) != 0)
		goto out;
	if (im.recursive || argc - optind > 1)
		(void)ck_store_bulk_mode(im.st, NULL); /* only a speed-up */
	im.now = ck_now();
	/* A progress line on a terminal, unless per-file lines go there. */
	im.progress = isatty(STDERR_FILENO) &&
	    (im.quiet || im.json || !isatty(STDOUT_FILENO));
	im.start_ns = im.last_ns = ck_mono_ns();
	for (int i = optind; i < argc && !im.store_error; i++)
		import_path(&im, argv[i], 1);
	show_progress(&im, true);
	if (!im.store_error)
		commit(&im);
	if (im.store_error) {
		fprintf(stderr,
		    "certkeep: import stopped: %s\n"
		    "certkeep: the batch in progress was rolled back; the "
		    "inventory holds what was committed before it\n",
		    ck_err_msg(&im.store_err, im.store_error));
		rc = CK_EXIT_STORE;
	} else if (im.n_skipped > 0) {
		rc = CK_EXIT_PARTIAL;
	}
	if (im.json) {
		struct ck_buf o = CK_BUF_INIT;
		bool first = true;
		ck_buf_addc(&o, '{');
		ck_json_kv_int(&o, &first, "files", im.files);
		ck_json_kv_int(&o, &first, "new", im.n_new);
		ck_json_kv_int(&o, &first, "known", im.n_known);
		ck_json_kv_int(&o, &first, "skipped", im.n_skipped);
		ck_json_kv_int(&o, &first, "other_items", im.n_other);
		ck_json_kv_bool(&o, &first, "store_error", im.store_error != 0);
		ck_buf_adds(&o, "}\n");
		cli_flush(&o);
		ck_buf_release(&o);
	} else {
		printf("imported %lld new, %lld already known, %lld skipped\n",
		    (long long)im.n_new, (long long)im.n_known,
		    (long long)im.n_skipped);
	}
out:
	ck_store_free(im.st);
	for (size_t i = 0; i < im.passwords.n; i++) /* secrets */
		ck_cleanse(im.passwords.v[i], strlen(im.passwords.v[i]));
	ck_strlist_release(&im.passwords);
	ck_buf_release(&im.buf);
	ck_buf_release(&im.f_notes);
	return rc;
}
