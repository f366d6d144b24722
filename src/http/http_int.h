/* Shared by the files of src/http only. */
#ifndef CK_HTTP_INT_H
#define CK_HTTP_INT_H

#include <pthread.h>

#include <event2/event.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "http/http.h"

#define CK_HTTP_MAX_LISTEN 8
#define CK_HTTP_CONN_BUCKETS 4096

struct ck_http_conn;

struct worker;
struct reqctx;

/* A gencb argument: which worker, and whether the listener is TLS. */
struct door {
	struct worker *w;
	bool tls;
};

struct worker {
	struct ck_http_server *s;
	int idx;
	pthread_t th;
	bool started;
	struct event_base *base;
	struct evhttp *http[2]; /* [0] TLS, [1] plain */
	struct door door[2];
	struct evconnlistener *lis[2][CK_HTTP_MAX_LISTEN];
	struct evhttp_bound_socket *bound[2][CK_HTTP_MAX_LISTEN];
	int n_lis[2];
	struct ck_store *st;
	atomic_int conns; /* connections open in this worker (conn.c) */
	struct ck_http_conn *conn_table[CK_HTTP_CONN_BUCKETS]; /* by evcon */
	struct ck_http_conn *conn_pending; /* accepted, not yet adopted */
	struct event *conn_adopt;
	int64_t deadline_s; /* request_deadline */
	bool paused; /* listeners off at max_connections */
	int inflight; /* requests not yet answered (worker thread only) */
	bool draining;
	struct event *wake; /* made active from the main thread */
	struct event *tick; /* while draining */
	uint64_t drain_until_ns;
	int64_t max_conns;
	atomic_int limits_gen; /* bumped by reload: reapply limits */
	int limits_seen;
};

struct jobs {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct reqctx *head, *tail;
	bool stop;
	int n;
	pthread_t th[16];
	struct ck_store *st[16];
	struct ck_http_server *s;
};

struct ck_http_server {
	const struct ck_config *cfg; /* borrowed from the caller */
	struct ck_config reloaded; /* limits and log level from SIGHUP */
	bool have_reloaded;
	pthread_mutex_t cfg_mu;
	struct ck_http_opts o;
	SSL_CTX *ssl; /* current; swapped under ssl_mu on reload */
	pthread_mutex_t ssl_mu;
	char cert_path[1024], key_path[1024];
	struct worker *w;
	int n_workers;
	int port[2];
	int lport[2][CK_HTTP_MAX_LISTEN];
	struct ck_http_route_stats *stats; /* n_routes + 1 */
	atomic_int stopping;
	atomic_llong deadline_drops; /* clients dropped at request_deadline */
	int64_t limits[4]; /* header, body, request timeout, idle timeout */
	struct jobs jobs;
	bool jobs_started;
};

/* Per request, freed when the exchange ends (request.c). */
struct ck_http_stream {
	ck_http_next_fn next;
	void (*done)(void *state);
	void *state;
};

struct reqctx {
	struct ck_http_ctx c;
	struct ck_route_match m;
	struct worker *w;
	uint64_t start_ns;
	char *uri; /* the request line's target, for the access log */
	struct evkeyvalq query;
	bool query_parsed;
	char *body;
	size_t body_len;
	size_t bytes_out;
	int status;
	bool replied;
	bool in_dispatch; /* the handler is running: finish must not free */
	bool finished; /* finish ran inside dispatch */
	struct ck_http_stream stream;
	char *path; /* the raw path, a copy */
	/* A slow route's handler runs in a job thread: it sees copies of
	 * the inputs, and its reply is kept here until the worker that owns
	 * the connection sends it (evhttp is not thread-safe). */
	bool deferred;
	bool gone; /* the client left meanwhile (worker thread only) */
	struct evkeyvalq in_headers, out_headers;
	int d_status;
	char *d_body;
	size_t d_len;
	struct reqctx *next; /* the job queue */
};

/* Starts n job threads, each with its own store handle. */
int ck_http_jobs_start(struct ck_http_server *s, int n, struct ck_err *err);
/* Stops them; requests still queued are dropped (the workers are gone). */
void ck_http_jobs_stop(struct ck_http_server *s);
/* Queues rc (inputs already copied) for a job thread. */
void ck_http_jobs_push(struct ck_http_server *s, struct reqctx *rc);
/* Set in a job thread when its handler's reply was handed back. */
extern _Thread_local bool ck_http_job_replied;
/* In the worker: sends a reply a job thread made. */
void ck_http_deliver(struct reqctx *rc);

void ck_http_dispatch(struct evhttp_request *req, void *arg);
/* What a TLS context knows of the agent CA: its ex_data at
 * ck_http_agent_ca_index() (NULL: no agents). */
struct ck_http_agent_trust {
	X509 *ca;
	/* client_ca trusts it (or the CA that issued it) as well: then its
	 * other client certificates may take client_role; otherwise only
	 * client_ca's may */
	bool in_client_ca;
};
int ck_http_agent_ca_index(void);
/* True for an agent's client certificate (peer.c): host gets its CN and
 * sha the SHA-256 (hex) of it, which the handler checks against the
 * enrolled agent. */
bool ck_http_agent_peer(
    struct ck_http_ctx *c, char *host, size_t cap, char sha[65]);
/* True for a peer certificate trusted only through the agent CA, which
 * client_ca does not trust: it takes no client_role. */
bool ck_http_agent_ca_only(struct ck_http_ctx *c);
/* Ends an exchange: metrics, access log, in-flight count, frees rc. */
void ck_http_finish(struct reqctx *rc);
/* The limits as they are now (after reloads). */
void ck_http_limits(struct ck_http_server *s, int64_t out[6]);

/* Connections (conn.c). The bufferevent callback of both doors (arg: the
 * door); counts the connection and pauses the listeners at the limit. */
struct bufferevent *ck_http_conn_bev(struct event_base *base, void *arg);
/* In dispatch: the request is in; its deadline stops. */
void ck_http_conn_answering(struct worker *w, struct evhttp_request *req);
/* Sets (fn) or clears (NULL) the one callback request.c may have on the
 * close of evcon; evhttp's own close callback belongs to conn.c. */
void ck_http_conn_on_close(struct worker *w, struct evhttp_connection *evcon,
    void (*fn)(struct evhttp_connection *, void *), void *arg);
/* Listeners off (at max_connections) or on again. */
void ck_http_worker_pause(struct worker *w, bool paused);
int ck_http_conn_init(struct worker *w);
/* After evhttp_free (which closed every adopted connection). */
void ck_http_conn_release(struct worker *w);
/* Applies limits changed by a reload (in the worker thread). */
void ck_http_worker_refresh(struct worker *w);

#endif
