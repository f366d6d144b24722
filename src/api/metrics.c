/*
 * /metrics in Prometheus text format 0.0.4: per-certificate expiry gauges
 * labelled as x509-certificate-exporter users expect, counts by expiry
 * bucket, and the server's request counters and latency histograms. The
 * per-certificate part is streamed 500 rows at a time as the client reads,
 * so a million certificates never sit in memory nor stall the worker.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

#define PAGE 500

atomic_uint_least64_t ck_api_issued_total, ck_api_revoked_total;

struct scrape {
	int phase; /* 0 head, 1 not_after, 2 not_before, 3 done */
	int64_t after;
	struct ck_buf *b;
};

static void
label(struct ck_buf *b, const char *name, const char *v, bool first)
{
	ck_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			ck_buf_addc(b, '\\');
		if (*v == '\n') {
			ck_buf_adds(b, "\\n");
			continue;
		}
		ck_buf_addc(b, *v);
	}
	ck_buf_addc(b, '"');
}

/* The CN of an RFC 4514 name ("CN=x,O=y" -> "x"), unescaped loosely. */
static void
dn_cn(const char *dn, char *out, size_t cap)
{
	const char *p = dn;
	size_t o = 0;

	out[0] = '\0';
	while (p && *p) {
		if (strncmp(p, "CN=", 3) == 0) {
			p += 3;
			while (*p && *p != ',' && o + 1 < cap) {
				if (*p == '\\' && p[1])
					p++;
				out[o++] = *p++;
			}
			out[o] = '\0';
			return;
		}
		while (*p && *p != ',') /* next RDN, skipping escapes */
			p += (*p == '\\' && p[1]) ? 2 : 1;
		if (*p == ',')
			p++;
	}
}

static int
on_row(void *ctx, const struct ck_cert_row *r)
{
	struct scrape *s = ctx;
	char scn[256], icn[256];

	dn_cn(r->subject, scn, sizeof(scn));
	dn_cn(r->issuer, icn, sizeof(icn));
	ck_buf_adds(s->b,
	    s->phase == 1 ? "certkeep_certificate_not_after{"
	                  : "certkeep_certificate_not_before{");
	label(s->b, "subject_CN", scn, true);
	label(s->b, "issuer_CN", icn, false);
	label(s->b, "serial_number", r->serial, false);
	ck_buf_adds(s->b, ",sha256=\"");
	ck_buf_addhex(s->b, r->sha256, 32, 0);
	ck_buf_printf(s->b, "\"} %lld\n",
	    (long long)(s->phase == 1 ? r->not_after : r->not_before));
	s->after = r->id;
	return 0;
}

/* route="pattern",method="GET": one route may share a pattern with
 * another of a different method, so both labels make the series. */
static void
route_labels(
    struct ck_buf *b, const struct ck_route *routes, size_t nr, size_t i)
{
	char m[64];

	label(b, "route", i < nr ? routes[i].pattern : "unmatched", true);
	if (i < nr) {
		ck_http_methods_str(routes[i].methods, m, sizeof(m));
		label(b, "method", m, false);
	}
}

static void
head(struct ck_http_ctx *c, struct ck_buf *b)
{
	const struct ck_route *routes;
	const struct ck_http_route_stats *st;
	struct ck_stats *s = NULL;
	size_t n, nr;

	if (ck_store_stats(c->st, c->now, &s, NULL) == 0) {
		ck_buf_adds(b,
		    "# HELP certkeep_certificates Certificates in the "
		    "inventory by time left.\n"
		    "# TYPE certkeep_certificates gauge\n");
		ck_buf_printf(b,
		    "certkeep_certificates{expiry=\"expired\"} %lld\n"
		    "certkeep_certificates{expiry=\"lt7d\"} %lld\n"
		    "certkeep_certificates{expiry=\"lt30d\"} %lld\n"
		    "certkeep_certificates{expiry=\"lt90d\"} %lld\n"
		    "certkeep_certificates{expiry=\"later\"} %lld\n",
		    (long long)s->expired, (long long)s->lt7d,
		    (long long)s->lt30d, (long long)s->lt90d,
		    (long long)s->later);
		ck_stats_free(s);
	}
	ck_buf_printf(b,
	    "# HELP certkeep_issued_total Certificates issued through this "
	    "server since it started.\n"
	    "# TYPE certkeep_issued_total counter\n"
	    "certkeep_issued_total %llu\n"
	    "# HELP certkeep_revoked_total Certificates revoked through this "
	    "server since it started.\n"
	    "# TYPE certkeep_revoked_total counter\n"
	    "certkeep_revoked_total %llu\n"
	    "# HELP certkeep_http_connections Open connections, HTTPS "
	    "and plain HTTP.\n"
	    "# TYPE certkeep_http_connections gauge\n"
	    "certkeep_http_connections %lld\n"
	    "# HELP certkeep_http_deadline_drops_total Clients dropped "
	    "because a request did not arrive in full within "
	    "request_deadline.\n"
	    "# TYPE certkeep_http_deadline_drops_total counter\n"
	    "certkeep_http_deadline_drops_total %lld\n",
	    (unsigned long long)atomic_load(&ck_api_issued_total),
	    (unsigned long long)atomic_load(&ck_api_revoked_total),
	    (long long)ck_http_server_connections(c->server),
	    (long long)ck_http_server_deadline_drops(c->server));
	ck_api_routes(&routes, &nr);
	st = ck_http_server_stats(c->server, &n);
	ck_buf_adds(b,
	    "# HELP certkeep_http_requests_total HTTP requests by "
	    "route and status class.\n"
	    "# TYPE certkeep_http_requests_total counter\n");
	for (size_t i = 0; i < n; i++)
		for (int k = 1; k <= 5; k++) {
			uint64_t v = atomic_load(&st[i].by_class[k]);
			if (v == 0)
				continue;
			ck_buf_adds(b, "certkeep_http_requests_total{");
			route_labels(b, routes, nr, i);
			ck_buf_printf(b, ",code=\"%dxx\"} %llu\n", k,
			    (unsigned long long)v);
		}
	ck_buf_adds(b,
	    "# HELP certkeep_http_request_duration_seconds Time "
	    "from request to reply.\n"
	    "# TYPE certkeep_http_request_duration_seconds "
	    "histogram\n");
	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0, count = 0;
		for (int k = 0; k <= CK_HTTP_LAT_BUCKETS; k++)
			count += atomic_load(&st[i].lat[k]);
		if (count == 0)
			continue;
		for (int k = 0; k <= CK_HTTP_LAT_BUCKETS; k++) {
			cum += atomic_load(&st[i].lat[k]);
			ck_buf_adds(b,
			    "certkeep_http_request_duration_seconds_bucket{");
			route_labels(b, routes, nr, i);
			if (k < CK_HTTP_LAT_BUCKETS)
				ck_buf_printf(b, ",le=\"%g\"} %llu\n",
				    ck_http_lat_bounds[k],
				    (unsigned long long)cum);
			else
				ck_buf_printf(b, ",le=\"+Inf\"} %llu\n",
				    (unsigned long long)cum);
		}
		ck_buf_adds(b, "certkeep_http_request_duration_seconds_sum{");
		route_labels(b, routes, nr, i);
		ck_buf_printf(b, "} %.6f\n",
		    (double)atomic_load(&st[i].lat_sum_us) / 1e6);
		ck_buf_adds(b, "certkeep_http_request_duration_seconds_count{");
		route_labels(b, routes, nr, i);
		ck_buf_printf(b, "} %llu\n", (unsigned long long)count);
	}
}

static int
next(struct ck_http_ctx *c, void *state, struct ck_buf *b)
{
	struct scrape *s = state;
	struct ck_cert_filter f = {0};
	int64_t before;

	s->b = b;
	if (s->phase == 0) {
		head(c, b);
		s->phase = 1;
		s->after = 0;
		ck_buf_adds(b,
		    "# HELP certkeep_certificate_not_after Expiry "
		    "of each certificate (unix time).\n"
		    "# TYPE certkeep_certificate_not_after gauge\n");
		return 1;
	}
	if (s->phase == 3)
		return 0;
	f.ca = -1;
	f.sort = CK_SORT_ID;
	f.limit = PAGE;
	f.after_id = s->after;
	before = s->after;
	if (ck_store_cert_list(c->st, &f, on_row, s, NULL) < 0)
		return CK_E_DB;
	if (s->after == before) { /* an empty page: this phase is done */
		if (s->phase == 1) {
			s->phase = 2;
			s->after = 0;
			ck_buf_adds(b,
			    "# HELP certkeep_certificate_not_before Start of "
			    "validity of each certificate (unix time).\n"
			    "# TYPE certkeep_certificate_not_before gauge\n");
			return 1;
		}
		s->phase = 3;
		return 0;
	}
	return 1;
}

void
ck_api_metrics(struct ck_http_ctx *c)
{
	struct scrape *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		ck_http_problem(c, 503, "unavailable", "out of memory");
		return;
	}
	ck_http_stream(
	    c, 200, "text/plain; version=0.0.4; charset=utf-8", next, free, s);
}
