/*
 * The network scanner: TLS endpoints found by connecting to every address
 * and port of the targets, directly or after a STARTTLS dialogue, with
 * the chain as presented, the TLS version, cipher and ALPN, and whether
 * the chain validates and the name matches. Asynchronous on one libevent
 * loop: thousands of connections in flight, a global rate of new
 * connections, per-step timeouts, bounded retries. Targets are generated
 * as they are needed, so memory does not grow with the range.
 */
#ifndef CK_DISCOVERY_NET_H
#define CK_DISCOVERY_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "base/err.h"
#include "discovery/starttls.h"

/* ---- targets (targets.c: pure, fuzzed with the scanner's inputs) ---- */

struct ck_targets;

/* One thing to connect to: an address, or a host name to resolve. */
struct ck_target {
	struct sockaddr_storage addr; /* when host is empty */
	socklen_t addr_len;
	char host[256]; /* a name, resolved by the scanner */
};

/*
 * Parses target specs: IPv4 or IPv6 addresses, CIDR blocks (10.0.0.0/8,
 * fd00::/120), ranges (10.0.0.1-10.0.0.9, 10.0.0.1-9) and host names.
 * CK_E_INVAL names the first bad spec. Nothing is expanded here.
 */
int ck_targets_new(const char *const *specs, size_t n, struct ck_targets **out,
    struct ck_err *err);
void ck_targets_free(struct ck_targets *t);
/* The next target, or false at the end. */
bool ck_targets_next(struct ck_targets *t, struct ck_target *out);
/* How many targets there are (host names count once; saturates). */
uint64_t ck_targets_count(const struct ck_targets *t);

/* Parses "443,8443,8000-8010" into ports (caller frees). */
int ck_ports_parse(const char *s, int **ports, size_t *n, struct ck_err *err);

/* The default port list: common TLS ports, then STARTTLS ports. */
extern const int ck_scan_default_ports[];
extern const size_t ck_scan_default_ports_n;

/* ---- the scan ---- */

enum ck_scan_status {
	CK_SCAN_TLS, /* a handshake: chain captured */
	CK_SCAN_REFUSED, /* nothing listens (not reported, counted) */
	CK_SCAN_TIMEOUT, /* no answer in time, after retries */
	CK_SCAN_TLS_FAILED, /* connected, but no TLS handshake */
	CK_SCAN_STARTTLS_REFUSED, /* the server would not start TLS */
	CK_SCAN_ERROR, /* anything else (unreachable, reset, ...) */
};

const char *ck_scan_status_name(enum ck_scan_status s);

/* What one endpoint said. Borrowed for the callback only. */
struct ck_scan_result {
	enum ck_scan_status status;
	const char *ip;
	int port;
	const char *sni; /* "" when none was sent */
	const char *host; /* the name the target was given as, or "" */
	enum ck_starttls_proto starttls;
	const char *error; /* why, when not TLS */
	const char *tls_version, *cipher, *alpn; /* alpn "" when none */
	const uint8_t *const *chain; /* DER, leaf first, as presented */
	const size_t *chain_len;
	size_t n_chain;
	bool verified; /* the chain validates against the trust store */
	const char *verify_error; /* why not, "" when verified */
	bool name_ok; /* the leaf matches sni (or ip when no sni) */
	double ms; /* connect to result */
};

struct ck_scan_stats {
	uint64_t total; /* endpoints to try (targets x ports; saturates) */
	uint64_t done, tls, refused, timeouts, failed, in_flight;
	double seconds;
};

struct ck_scan_opts {
	const char *const *targets;
	size_t n_targets;
	const int *ports; /* NULL: ck_scan_default_ports */
	size_t n_ports;
	const char *const *sni; /* names to send to IP targets; a host name
	                           target is sent its own name */
	size_t n_sni;
	int rate; /* new connections per second; 0: no limit */
	int concurrency; /* connections in flight; 0: 512 */
	int timeout_ms; /* per step (connect, STARTTLS, handshake); 0: 5000 */
	int retries; /* extra tries after a timeout; default 0 */
	enum ck_starttls_proto starttls; /* NONE: by port */
	bool no_starttls; /* never: direct TLS on every port */
	/* after a handshake sent no SNI, try again with each DNS name of
	 * the leaf's SANs (up to 8; virtual hosts serve other chains) */
	bool sni_from_sans;
	const char *trust; /* CA file; NULL: the system's */
};

/* Results that reached a service (all but REFUSED); non-zero stops. */
typedef int (*ck_scan_cb)(void *ctx, const struct ck_scan_result *r);
/* About once a second, and at the end. */
typedef void (*ck_scan_progress_cb)(void *ctx, const struct ck_scan_stats *s);

/*
 * Runs the scan to the end (blocks; one event loop in this thread).
 * Returns 0, a parse error for the options, or the callback's value.
 */
int ck_scan_run(const struct ck_scan_opts *o, ck_scan_cb cb,
    ck_scan_progress_cb progress, void *ctx, struct ck_scan_stats *stats,
    struct ck_err *err);

/*
 * A cache of chain verdicts for one scan (verdict.c), installed as ctx's
 * certificate verification: each distinct chain a server sends is
 * verified once. NULL when out of memory (OpenSSL's own verification
 * stays). Free it after ctx.
 */
struct ck_verdicts;
struct ck_verdicts *ck_verdicts_install(SSL_CTX *ctx);
void ck_verdicts_free(struct ck_verdicts *vs);

#endif
