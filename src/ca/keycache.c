/*
 * Process-wide memo of the secrets signing needs on every call: the master
 * key, and signers (certificate and private key) of the CAs and of their OCSP
 * responders. Unsealing and OpenSSL 3.0's key decoders cost far more than a
 * signature (DESIGN.md, performance notes), so each is done once per process.
 *
 * A signer entry is exact memoization, not a policy: it is used only when
 * the sealed bytes, the master key and the certificate DER are the very ones
 * it was made from, so a renewed key, another database or another master
 * key always goes through the slow path again. The master key is re-read
 * when its file's identity (inode, size, times, mode) changes, which keeps
 * a replaced or loosened key file an error as it was before.
 */
#include "ca/ca.h"
#include "ca/ca_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "base/mem.h"

/* More signers than a certkeep instance has CAs and responders. */
#define MAX_SIGNERS 64
#define MAX_MASTER_KEYS 4

struct signer {
	char *aad; /* which key: "certkeep ca key:NAME", ... */
	uint8_t *sealed;
	size_t sealed_len;
	uint8_t mk[CK_MASTER_KEY_LEN];
	uint8_t *cert_der;
	size_t cert_len;
	X509 *cert;
	EVP_PKEY *key;
	uint64_t used; /* for eviction: the oldest use goes first */
};

struct master {
	char *path;
	struct stat id;
	uint8_t key[CK_MASTER_KEY_LEN];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct signer signers[MAX_SIGNERS];
static struct master masters[MAX_MASTER_KEYS];
static uint64_t clock_;

static void
signer_release(struct signer *s)
{
	free(s->aad);
	free(s->sealed);
	free(s->cert_der);
	X509_free(s->cert);
	/* EC and RSA private values are cleared by OpenSSL when freed. */
	EVP_PKEY_free(s->key);
	ck_cleanse(s, sizeof(*s));
}

void
ck_ca_cache_clear(void)
{
	struct signer old[MAX_SIGNERS];

	pthread_mutex_lock(&lock);
	memcpy(old, signers, sizeof(old));
	memset(signers, 0, sizeof(signers));
	for (int i = 0; i < MAX_MASTER_KEYS; i++) {
		free(masters[i].path);
		ck_cleanse(&masters[i], sizeof(masters[i]));
	}
	pthread_mutex_unlock(&lock);
	ca_ocsp_cache_clear();
	/* Freed outside the lock: another thread may hold references. */
	for (int i = 0; i < MAX_SIGNERS; i++)
		if (old[i].aad != NULL)
			signer_release(&old[i]);
	ck_cleanse(old, sizeof(old));
}

/* Registered on first use, after OpenSSL's own exit handler, so that it
 * runs first and frees keys while their provider is still loaded. */
static void
register_clear(void)
{
	atexit(ck_ca_cache_clear);
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mode == b->st_mode &&
	    a->st_uid == b->st_uid && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int
ca_master_key(
    const char *path, uint8_t mk[CK_MASTER_KEY_LEN], struct ck_err *err)
{
	struct stat now;
	int r, slot = -1;

	pthread_once(&once, register_clear);
	/* Anything unusual (missing, loose mode) is left to the loader so
	 * that its error stays the one the user sees. */
	if (stat(path, &now) != 0 || (now.st_mode & 077) != 0)
		return ck_master_key_load(path, false, mk, err);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_MASTER_KEYS; i++) {
		if (masters[i].path == NULL ||
		    strcmp(masters[i].path, path) != 0)
			continue;
		if (same_file(&masters[i].id, &now)) {
			memcpy(mk, masters[i].key, CK_MASTER_KEY_LEN);
			pthread_mutex_unlock(&lock);
			return 0;
		}
		slot = i;
	}
	pthread_mutex_unlock(&lock);
	if ((r = ck_master_key_load(path, false, mk, err)) != 0)
		return r;
	pthread_mutex_lock(&lock);
	if (slot < 0) {
		for (int i = 0; i < MAX_MASTER_KEYS && slot < 0; i++)
			if (masters[i].path == NULL)
				slot = i;
		if (slot < 0)
			slot = 0; /* more paths than a process uses: any */
	}
	free(masters[slot].path);
	masters[slot].path = ck_strdup(path);
	masters[slot].id = now;
	memcpy(masters[slot].key, mk, CK_MASTER_KEY_LEN);
	pthread_mutex_unlock(&lock);
	return 0;
}

static bool
matches(const struct signer *s, const char *aad,
    const uint8_t mk[CK_MASTER_KEY_LEN], const uint8_t *sealed,
    size_t sealed_len, const uint8_t *cert_der, size_t cert_len)
{
	return strcmp(s->aad, aad) == 0 && s->sealed_len == sealed_len &&
	    memcmp(s->sealed, sealed, sealed_len) == 0 &&
	    s->cert_len == cert_len &&
	    memcmp(s->cert_der, cert_der, cert_len) == 0 &&
	    CRYPTO_memcmp(s->mk, mk, CK_MASTER_KEY_LEN) == 0;
}

int
ca_signer_open(const uint8_t mk[CK_MASTER_KEY_LEN], const char *aad,
    const uint8_t *sealed, size_t sealed_len, const uint8_t *cert_der,
    size_t cert_len, bool check_match, X509 **cert, EVP_PKEY **key,
    struct ck_err *err)
{
	struct signer fresh = {0}, old = {0};
	const unsigned char *p = cert_der;
	int r, slot = -1;

	*cert = NULL;
	*key = NULL;
	pthread_once(&once, register_clear);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_SIGNERS; i++)
		if (signers[i].aad != NULL &&
		    matches(&signers[i], aad, mk, sealed, sealed_len, cert_der,
		        cert_len)) {
			signers[i].used = ++clock_;
			X509_up_ref(signers[i].cert);
			EVP_PKEY_up_ref(signers[i].key);
			*cert = signers[i].cert;
			*key = signers[i].key;
			pthread_mutex_unlock(&lock);
			return 0;
		}
	pthread_mutex_unlock(&lock);

	if ((fresh.cert = d2i_X509(NULL, &p, (long)cert_len)) == NULL) {
		r = ca_ossl_err(err, CK_E_PARSE, "stored certificate");
		goto out;
	}
	if ((r = ca_unseal_key(mk, aad, sealed, sealed_len, &fresh.key, err)) !=
	    0)
		goto out;
	if (check_match && X509_check_private_key(fresh.cert, fresh.key) != 1) {
		r = ca_ossl_err(
		    err, CK_E_CRYPTO, "CA key does not match its certificate");
		goto out;
	}
	fresh.aad = ck_strdup(aad);
	fresh.sealed = ck_memdup(sealed, sealed_len);
	fresh.sealed_len = sealed_len;
	fresh.cert_der = ck_memdup(cert_der, cert_len);
	fresh.cert_len = cert_len;
	memcpy(fresh.mk, mk, CK_MASTER_KEY_LEN);
	X509_up_ref(fresh.cert);
	EVP_PKEY_up_ref(fresh.key);
	*cert = fresh.cert;
	*key = fresh.key;

	pthread_mutex_lock(&lock);
	/* One entry per key name: a renewed key replaces the old one. */
	for (int i = 0; i < MAX_SIGNERS && slot < 0; i++)
		if (signers[i].aad != NULL && strcmp(signers[i].aad, aad) == 0)
			slot = i;
	for (int i = 0; i < MAX_SIGNERS && slot < 0; i++)
		if (signers[i].aad == NULL)
			slot = i;
	if (slot < 0) {
		slot = 0;
		for (int i = 1; i < MAX_SIGNERS; i++)
			if (signers[i].used < signers[slot].used)
				slot = i;
	}
	old = signers[slot];
	fresh.used = ++clock_;
	signers[slot] = fresh;
	memset(&fresh, 0, sizeof(fresh)); /* transferred */
	pthread_mutex_unlock(&lock);
	r = 0;
out:
	if (old.aad != NULL)
		signer_release(&old);
	if (fresh.cert != NULL || fresh.key != NULL)
		signer_release(&fresh);
	return r;
}
