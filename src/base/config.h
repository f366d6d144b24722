/*
 * certkeep.conf: one INI file for the daemon and the commands that share
 * its settings. Every key has a default, a section, a CERTKEEP_* variable
 * that overrides the file, and a line of documentation (the same table
 * writes the commented example file and is checked against docs/config.md).
 */
#ifndef CK_BASE_CONFIG_H
#define CK_BASE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

/* Written once: enum, section, key, environment variable, default, type
 * ('s' string, 'i' integer, 'd' duration in seconds), documentation. */
#define CK_CONFIG_MAP(X)                                                      \
	X(LISTEN, "server", "listen", "CERTKEEP_LISTEN", "127.0.0.1:8443",    \
	    's',                                                              \
	    "HTTPS listen addresses (host:port, comma-separated; [::1]:p "    \
	    "for IPv6): the REST API and everything else")                    \
	X(LISTEN_PLAIN, "server", "listen_plain", "CERTKEEP_LISTEN_PLAIN",    \
	    "127.0.0.1:8080", 's',                                            \
	    "plain HTTP listen addresses for the endpoints that must be "     \
	    "plain (OCSP, CRL, CA certificates, health); empty: none")        \
	X(PUBLIC_URL, "server", "public_url", "CERTKEEP_PUBLIC_URL",          \
	    "http://127.0.0.1:8080", 's',                                     \
	    "base URL clients reach the plain endpoints at; issued "          \
	    "certificates carry <public_url>/crl/<ca>.crl, "                  \
	    "<public_url>/ocsp and <public_url>/ca/<ca>.crt")                 \
	X(WORKERS, "server", "workers", "CERTKEEP_WORKERS", "0", 'i',         \
	    "HTTP worker threads, one event loop each; 0: one per core")      \
	X(JOB_THREADS, "server", "job_threads", "CERTKEEP_JOB_THREADS", "2",  \
	    'i',                                                              \
	    "threads for slow requests (issuance, import, revocation, "       \
	    "CRL signing), so workers keep serving meanwhile")                \
	X(TLS_CERT, "server", "tls_cert", "CERTKEEP_TLS_CERT", "", 's',       \
	    "server certificate (PEM, chain after it); empty: issued by "     \
	    "server_ca into <data_dir>/server.pem and renewed by certkeep")   \
	X(TLS_KEY, "server", "tls_key", "CERTKEEP_TLS_KEY", "", 's',          \
	    "server private key (PEM); empty: <data_dir>/server.key")         \
	X(SERVER_CA, "server", "server_ca", "CERTKEEP_SERVER_CA", "certkeep", \
	    's', "built-in CA that issues the server certificate")            \
	X(SERVER_NAMES, "server", "server_names", "CERTKEEP_SERVER_NAMES",    \
	    "localhost,127.0.0.1,::1", 's',                                   \
	    "names (DNS or IP) in the server certificate certkeep issues")    \
	X(CLIENT_CA, "server", "client_ca", "CERTKEEP_CLIENT_CA", "", 's',    \
	    "PEM file of CAs whose client certificates authenticate by "      \
	    "mTLS with client_role; empty: none do (client certificates "     \
	    "are still asked for, optionally, for agents: [agent] ca)")       \
	X(CLIENT_ROLE, "server", "client_role", "CERTKEEP_CLIENT_ROLE",       \
	    "auditor", 's',                                                   \
	    "role given to a client authenticated by mTLS (admin, "           \
	    "operator, enroller, auditor)")                                   \
	X(DATABASE, "store", "database", "CERTKEEP_DB",                       \
	    "sqlite:./var/certkeep.db", 's',                                  \
	    "inventory database URL (sqlite:PATH)")                           \
	X(DATA_DIR, "store", "data_dir", "CERTKEEP_DATA_DIR", "./var", 's',   \
	    "folder for the server's own files (server certificate, key)")    \
	X(MASTER_KEY, "store", "master_key", "CERTKEEP_MASTER_KEY_FILE",      \
	    "./var/master.key", 's',                                          \
	    "master key file sealing CA keys (0600, kept apart from the "     \
	    "database)")                                                      \
	X(MAX_HEADER, "limits", "max_header_bytes",                           \
	    "CERTKEEP_MAX_HEADER_BYTES", "16384", 'i',                        \
	    "largest request line plus headers; larger gets 431")             \
	X(MAX_BODY, "limits", "max_body_bytes", "CERTKEEP_MAX_BODY_BYTES",    \
	    "1048576", 'i', "largest request body; larger gets 413")          \
	X(REQUEST_TIMEOUT, "limits", "request_timeout",                       \
	    "CERTKEEP_REQUEST_TIMEOUT", "30s", 'd',                           \
	    "longest wait for the next bytes of a request or for a client "   \
	    "to take the response; slower clients are dropped")               \
	X(IDLE_TIMEOUT, "limits", "idle_timeout", "CERTKEEP_IDLE_TIMEOUT",    \
	    "60s", 'd',                                                       \
	    "a keep-alive connection with no request for this long is "       \
	    "closed")                                                         \
	X(REQUEST_DEADLINE, "limits", "request_deadline",                     \
	    "CERTKEEP_REQUEST_DEADLINE", "60s", 'd',                          \
	    "longest a whole request may take to arrive, from its first "     \
	    "byte (a first request: from the connection's opening); slower "  \
	    "clients are dropped")                                            \
	X(MAX_CONNECTIONS, "limits", "max_connections",                       \
	    "CERTKEEP_MAX_CONNECTIONS", "10000", 'i',                         \
	    "open connections per worker; at the limit new ones wait in "     \
	    "the listen queue")                                               \
	X(DRAIN_TIMEOUT, "limits", "drain_timeout", "CERTKEEP_DRAIN_TIMEOUT", \
	    "10s", 'd', "on SIGTERM, how long requests in flight may finish") \
	X(ACME_HTTP01_PORT, "acme", "http01_port",                            \
	    "CERTKEEP_ACME_HTTP01_PORT", "80", 'i',                           \
	    "port the ACME server's http-01 validation connects to (80 "      \
	    "by RFC 8555; another for tests)")                                \
	X(ACME_TLSALPN_PORT, "acme", "tlsalpn_port",                          \
	    "CERTKEEP_ACME_TLSALPN_PORT", "443", 'i',                         \
	    "port the ACME server's tls-alpn-01 validation connects to "      \
	    "(443 by RFC 8737; another for tests)")                           \
	X(ACME_RESOLVER, "acme", "resolver", "CERTKEEP_ACME_RESOLVER",        \
	    "system", 's',                                                    \
	    "how ACME validation resolves names: system, dns:IP:PORT "        \
	    "(that DNS server for A, AAAA, TXT and CAA) or "                  \
	    "static:ADDR (every name is ADDR; no dns-01, no CAA)")            \
	X(ACME_CAA_IDENTITIES, "acme", "caa_identities",                      \
	    "CERTKEEP_ACME_CAA_IDENTITIES", "", 's',                          \
	    "issuer domain names (comma-separated) CAA records must "         \
	    "name for the ACME server to issue (RFC 8659, checked at "        \
	    "finalize); empty: no CAA check")                                 \
	X(ACME_PROFILES, "acme", "profiles", "CERTKEEP_ACME_PROFILES", "",    \
	    's',                                                              \
	    "certificate profiles (comma-separated) ACME clients may ask "    \
	    "for by name, the first the default; empty: tls-server only")     \
	X(ACME_ALLOWED_DOMAINS, "acme", "allowed_domains",                    \
	    "CERTKEEP_ACME_ALLOWED_DOMAINS", "", 's',                         \
	    "domain suffixes (comma-separated) ACME orders may name "         \
	    "(the name or a parent; IPs listed as such); empty: any")         \
	X(ACME_MAX_NAMES, "acme", "max_names", "CERTKEEP_ACME_MAX_NAMES",     \
	    "100", 'i', "most identifiers in one ACME order (1 to 100)")      \
	X(ACME_ORDERS_PER_HOUR, "acme", "orders_per_hour",                    \
	    "CERTKEEP_ACME_ORDERS_PER_HOUR", "300", 'i',                      \
	    "new orders per ACME account in any hour; more get rateLimited "  \
	    "with Retry-After; 0: no limit")                                  \
	X(ACME_DOMAIN_ORDERS_PER_HOUR, "acme", "domain_orders_per_hour",      \
	    "CERTKEEP_ACME_DOMAIN_ORDERS_PER_HOUR", "0", 'i',                 \
	    "new orders naming one registered domain (public suffix list), "  \
	    "all accounts together, in any hour; 0: no limit")                \
	X(ACME_EAB_REQUIRED, "acme", "eab_required",                          \
	    "CERTKEEP_ACME_EAB_REQUIRED", "", 's',                            \
	    "CAs (comma-separated, * for all) whose ACME accounts need an "   \
	    "External Account Binding key from `certkeep acme eab create`")   \
	X(ACME_TOS, "acme", "terms_of_service", "CERTKEEP_ACME_TOS", "", 's', \
	    "termsOfService URL in the ACME directory's meta; empty: none")   \
	X(ACME_WEBSITE, "acme", "website", "CERTKEEP_ACME_WEBSITE", "", 's',  \
	    "website URL in the ACME directory's meta; empty: none")          \
	X(AGENT_CA, "agent", "ca", "CERTKEEP_AGENT_CA", "certkeep", 's',      \
	    "built-in CA that issues agents' client certificates (CN=host, "  \
	    "OU=certkeep-agent) and whose such certificates authenticate "    \
	    "agents; empty: no agents")                                       \
	X(AGENT_CERT_DAYS, "agent", "cert_days", "CERTKEEP_AGENT_CERT_DAYS",  \
	    "30", 'i',                                                        \
	    "validity of an agent's client certificate in days (the agent "   \
	    "renews it when a third is left)")                                \
	X(LOG_LEVEL, "log", "level", "CERTKEEP_LOG_LEVEL", "info", 's',       \
	    "debug, info, warn or error")                                     \
	X(LOG_TO, "log", "to", "CERTKEEP_LOG_TO", "stderr", 's',              \
	    "stderr or syslog")                                               \
	X(ACCESS_LOG, "log", "access_log", "CERTKEEP_ACCESS_LOG", "on", 's',  \
	    "one logfmt line per request (on or off)")

enum ck_config_key {
#define CK_CONFIG_ENUM(e, sec, key, env, def, type, doc) CK_CFG_##e,
	CK_CONFIG_MAP(CK_CONFIG_ENUM)
#undef CK_CONFIG_ENUM
	    CK_CFG_COUNT
};

/* A section of free keys ("[profile.NAME]"), checked by its consumer. */
struct ck_config_section {
	char *name; /* "profile.web" */
	char **keys, **vals;
	size_t n;
};

struct ck_config {
	char *val[CK_CFG_COUNT]; /* owned; never NULL after ck_config_load */
	char *path; /* the file read, or NULL */
	struct ck_config_section *sections; /* owned */
	size_t n_sections;
};

/*
 * Fills cfg: defaults, then the file at path (NULL: $CERTKEEP_CONFIG, else
 * none; a path given but missing is CK_E_NOTFOUND), then CERTKEEP_*
 * variables. Unknown sections or keys and bad values are CK_E_PARSE with
 * the file and line in err. cfg is released with ck_config_release().
 */
int ck_config_load(const char *path, struct ck_config *cfg, struct ck_err *err);
void ck_config_release(struct ck_config *cfg);

/* Replaces one value (for command-line flags, which win over all else). */
int ck_config_set(struct ck_config *cfg, enum ck_config_key k, const char *v,
    struct ck_err *err);

/* Borrowed string value. */
const char *ck_config_str(const struct ck_config *cfg, enum ck_config_key k);
/* Integer value; durations in seconds. Checked by load and set. */
int64_t ck_config_int(const struct ck_config *cfg, enum ck_config_key k);

/* Sections whose names start with "profile." (user-defined certificate
 * profiles, see ck_profiles_configure) or "notify." (notification
 * channels, see src/lifecycle/notify.h) are kept as free key = value
 * lists, checked by their consumer; other unknown sections are errors. */

/* Writes the commented example file: every key with its default. */
void ck_config_write_example(FILE *f);

/* Key name and section of k, for messages and docs. */
const char *ck_config_name(enum ck_config_key k);
const char *ck_config_section(enum ck_config_key k);

#endif
