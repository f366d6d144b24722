/*
 * Discovery on the local host: the filesystem scanner (certificates and
 * private keys in files, recorded in the inventory, keys matched to
 * certificates by public key, exposed keys reported) and the SSH scanner
 * (OpenSSH public keys, authorized_keys lines and certificates, recorded
 * as SSH keys). The network scanner has its own header (net.h).
 */
#ifndef CK_DISCOVERY_H
#define CK_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"
#include "x509/x509.h"

/* ---- OpenSSH keys and certificates (ssh.c: pure parsing, no I/O) ---- */

/* Largest key blob taken (RSA 16384 is 2 KiB; certificates with many
 * principals and extensions grow): more is CK_E_TOO_LARGE. */
#define CK_SSH_BLOB_MAX (64 * 1024)
/* Longest text line taken ("options type base64 comment"). */
#define CK_SSH_LINE_MAX (128 * 1024)
/* Most principals kept from one certificate. */
#define CK_SSH_PRINCIPALS_MAX 256
/* "SHA256:" and 43 characters of unpadded base64, NUL. */
#define CK_SSH_FP_MAX 51
/* valid_before of a certificate that never expires. */
#define CK_SSH_FOREVER INT64_MAX

enum ck_ssh_cert_type { CK_SSH_CERT_NONE, CK_SSH_CERT_USER, CK_SSH_CERT_HOST };

/*
 * One parsed key blob. Pointers are owned and freed by
 * ck_ssh_key_release(). For a certificate, bits and fingerprint are those
 * of the certified key, as ssh-keygen -l prints them.
 */
struct ck_ssh_key {
	char type[64]; /* the blob's type name, "ssh-ed25519", ... */
	const char *label; /* static: "ED25519", "RSA-CERT", "ECDSA-SK" */
	int bits;
	char fingerprint[CK_SSH_FP_MAX + 1]; /* "SHA256:..." */
	uint8_t blob_sha256[32]; /* of the whole blob: its identity */
	bool is_cert;
	/* Certificates only. */
	enum ck_ssh_cert_type cert_type;
	uint64_t serial;
	char *key_id;
	struct ck_strlist principals;
	int64_t valid_after; /* 0: always */
	int64_t valid_before; /* CK_SSH_FOREVER: never expires */
	const char *ca_label; /* "ED25519", ... */
	char ca_fingerprint[CK_SSH_FP_MAX + 1];
	char *sig_alg; /* "ssh-ed25519", "rsa-sha2-512", ... */
};

/*
 * Parses an OpenSSH public key or certificate blob (the bytes under the
 * base64 of a .pub line): ssh-rsa, ssh-dss, ecdsa-sha2-nistp256/384/521,
 * ssh-ed25519, sk-ecdsa-sha2-nistp256@openssh.com,
 * sk-ssh-ed25519@openssh.com and their -cert-v01@openssh.com forms. Every
 * length is checked against what is left; nothing is read outside the
 * blob. On success *k is filled (release it); on failure it is empty and
 * the reason is in err (CK_E_PARSE, CK_E_TOO_LARGE). Does not verify
 * certificate signatures.
 */
int ck_ssh_key_parse(
    const uint8_t *blob, size_t len, struct ck_ssh_key *k, struct ck_err *err);
void ck_ssh_key_release(struct ck_ssh_key *k);

/* True when name is a key type ck_ssh_key_parse() takes. */
bool ck_ssh_type_known(const char *name, size_t len);

/* One line of a .pub, authorized_keys or *-cert.pub file. */
struct ck_ssh_line {
	struct ck_ssh_key key;
	char *options; /* authorized_keys options before the type, or NULL */
	char *comment; /* NULL when there is none */
};

/*
 * Parses one text line (without its newline): optional authorized_keys
 * options (commas, quoted strings with spaces and \" escapes), the key
 * type, base64 of the blob, which must carry the same type, and an
 * optional comment. Returns 0 and fills *l (release it), CK_E_NOTFOUND for
 * a blank or # comment line, or CK_E_PARSE / CK_E_TOO_LARGE with the
 * reason.
 */
int ck_ssh_line_parse(
    const char *line, size_t len, struct ck_ssh_line *l, struct ck_err *err);
void ck_ssh_line_release(struct ck_ssh_line *l);

/* Appends the line ssh-keygen -l prints for l, without newline:
 * "256 SHA256:... comment (ED25519)", "no comment" when it has none. */
void ck_ssh_fp_line(const struct ck_ssh_line *l, struct ck_buf *out);

/* Appends a certificate's validity as ssh-keygen -L prints it in UTC:
 * "forever", "from T to T", "after T", "before T" (T: 2026-01-31T12:00:00). */
void ck_ssh_validity(const struct ck_ssh_key *k, struct ck_buf *out);

/* "user", "host" or "" */
const char *ck_ssh_cert_type_name(enum ck_ssh_cert_type t);

/* ---- private key files (keyfile.c) ---- */

/* What can be told of a private key without its password. */
struct ck_keyfile_info {
	const char *format; /* static: "pkcs8", "pkcs8-encrypted", "rsa",
	                       "ec", "dsa", "pem-encrypted", "openssh",
	                       "pkcs12" */
	bool encrypted;
	bool has_spki; /* the public key is known: spki_sha256 is set */
	uint8_t spki_sha256[32]; /* SHA-256 of its SubjectPublicKeyInfo DER */
	char key_type[CK_KEY_TYPE_MAX]; /* "rsa", "ec", "ed25519", or "" */
	int bits;
	/* OpenSSH private keys: the public key's fingerprint, or "". */
	char ssh_fingerprint[CK_SSH_FP_MAX + 1];
};

/*
 * Inspects a private key item handed out by ck_x509_ingest (PEM or DER:
 * PKCS#8, encrypted PKCS#8, PKCS#1, SEC1, DSA, legacy encrypted PEM,
 * OpenSSH). Encrypted keys are reported as such without trying any
 * password. Never fails: what cannot be read is left unknown.
 */
void ck_keyfile_inspect(const struct ck_item *it, struct ck_keyfile_info *ki);

/*
 * The key of a PKCS#12 file (data, len) that ck_x509_ingest opened:
 * *ki->encrypted is false when no password or the empty one opens it.
 * Tries the same passwords in the same order. Returns false when no key
 * could be read.
 */
bool ck_keyfile_pkcs12(const uint8_t *data, size_t len,
    const struct ck_strlist *passwords, struct ck_keyfile_info *ki);

/*
 * SHA-256 of the SubjectPublicKeyInfo DER of a certificate (read off the
 * DER, no key decode). False when the DER is not a certificate.
 */
bool ck_keyfile_cert_spki(const uint8_t *der, size_t len, uint8_t out[32]);

/* ---- filesystem scan (fs.c) ---- */

#define CK_FS_DEFAULT_MAX_SIZE (8u << 20)
#define CK_FS_DEFAULT_MAX_FILES 1000000
#define CK_FS_DEFAULT_BATCH 10000

struct ck_fs_result;

struct ck_fs_opts {
	const struct ck_strlist *passwords; /* PKCS#12 passwords, or NULL */
	size_t max_size; /* files larger are skipped (0: default) */
	int64_t max_files; /* regular files read at most (0: default) */
	bool cross_fs; /* descend into other filesystems */
	int batch; /* certificates per transaction (0: default) */
	/* Called about four times a second while walking (may be NULL). */
	void (*progress)(void *ctx, const struct ck_fs_result *sofar);
	void *ctx;
};

/* A private key found. */
struct ck_fs_key {
	char *path; /* owned */
	int index; /* item within the file, from 1 */
	unsigned mode; /* permission bits of the file */
	struct ck_keyfile_info info;
	bool exposed; /* unencrypted and readable by group or others */
	/* Certificates of this scan with the same public key: the number,
	 * and the SHA-256 of the first. */
	int n_matched;
	uint8_t cert_sha256[32];
};

/* A certificate occurrence. */
struct ck_fs_cert {
	char *path; /* owned */
	int64_t id;
	uint8_t sha256[32];
	bool is_new;
};

/* A file or folder not read, and why. */
struct ck_fs_problem {
	char *path; /* owned */
	char *reason; /* owned */
};

struct ck_fs_result {
	int64_t files; /* regular files read */
	int64_t dirs;
	int64_t certs, certs_new, certs_known;
	int64_t keys, keys_matched, keys_unmatched, keys_encrypted;
	int64_t keys_exposed;
	int64_t unreadable; /* files that could not be opened or read */
	int64_t bad_parts; /* certificate material that could not be read */
	int64_t too_big, other_fs, special, symlink_dirs;
	bool limit_reached; /* --max-files stopped the walk */
	int64_t scan_id; /* the scan record (kind "files", scope the paths) */
	int64_t changes; /* against the previous scan of the same paths */
	struct ck_fs_cert *cert_v;
	size_t n_cert, cap_cert;
	struct ck_fs_key *key_v;
	size_t n_key, cap_key;
	struct ck_fs_problem *unreadable_v, *skipped_v, *bad_v;
	size_t n_unreadable, n_skipped, n_bad;
	size_t cap_unreadable, cap_skipped, cap_bad;
};

/*
 * Walks paths (symbolic links to files are read, links to folders never
 * followed; /proc, /sys, /dev and, unless opts->cross_fs, other
 * filesystems than each start path's are skipped), records every
 * certificate found in the inventory (location kind "file", the path),
 * inspects private keys and matches them to this scan's certificates,
 * and writes an audit event per committed batch, the last one with the
 * summary. Unreadable files are counted, never fatal. Blocks for the
 * whole walk. Returns 0, or the store's error (the batch in progress
 * rolled back, earlier ones kept); *res is filled either way and owned by
 * the caller (ck_fs_result_release).
 */
int ck_fs_scan(struct ck_store *st, const char *const *paths, size_t n_paths,
    const struct ck_fs_opts *opts, const char *actor, struct ck_fs_result *res,
    struct ck_err *err);
void ck_fs_result_release(struct ck_fs_result *res);

/* ---- SSH scan (ssh_scan.c) ---- */

/* One key found by the SSH scan. */
struct ck_ssh_found {
	char *path; /* owned */
	int line; /* from 1 */
	struct ck_ssh_line key;
	int64_t id; /* in the inventory */
	bool is_new;
};

struct ck_ssh_result {
	int64_t files, keys, certs, keys_new;
	int64_t unreadable, bad_lines;
	int64_t scan_id; /* the scan record (kind "ssh", scope the paths) */
	int64_t changes; /* against the previous scan of the same paths */
	struct ck_ssh_found *v;
	size_t n, cap;
	struct ck_fs_problem *problems; /* unreadable files, bad lines */
	size_t n_problems, cap_problems;
};

/*
 * The default places: /etc/ssh/ssh_host_*.pub (keys and host
 * certificates), ~/.ssh/authorized_keys and /root/.ssh/authorized_keys.
 * Appended to out (existing files only, each once).
 */
void ck_ssh_default_paths(struct ck_strlist *out);

/*
 * Reads each path: a file is read line by line as keys; a folder is
 * walked (links to folders not followed) for *.pub, authorized_keys and
 * authorized_keys2. Keys are recorded as SSH keys with their location
 * (kind "ssh", the path) in one transaction with an audit event. Blocks.
 * Returns 0 or the store's error; *res is the caller's either way
 * (ck_ssh_result_release).
 */
int ck_ssh_scan(struct ck_store *st, const char *const *paths, size_t n_paths,
    const char *actor, struct ck_ssh_result *res, struct ck_err *err);
void ck_ssh_result_release(struct ck_ssh_result *res);

#endif
