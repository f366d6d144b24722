/*
 * DNS for the ACME server's validation: TXT for dns-01 (RFC 8555 8.4),
 * CAA for the check at finalize (RFC 8659), A and AAAA for http-01 and
 * tls-alpn-01 when [acme] resolver names a DNS server. libevent's evdns
 * cannot ask for TXT or CAA, so this uses glibc's libresolv to make
 * queries and parse answers (res_nmkquery, ns_parserr), with a private
 * res_state per call (thread-safe), and a small UDP/TCP exchange of its
 * own with bounded retries (see exchange()). It blocks, which is fine:
 * validation and finalize run in job threads.
 */
#include "acme/acme_int.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"
#include "base/mem.h"

/* Largest answer read; a CAA or TXT set larger than this is refused
 * rather than half read. */
#define DNS_MAX_ANSWER 16384
/* CNAME hops followed, as resolvers bound them. */
#define DNS_MAX_HOPS 8
/* The most one lookup (all its tries and CNAME hops) and one name's CAA
 * check (all its labels) may take: a slow or hostile DNS server must not
 * hold a job thread for minutes. */
#define DNS_LOOKUP_BUDGET_MS 10000
#define CAA_BUDGET_MS 30000

int
acme_resolver_parse(const char *resolver, struct acme_resolver *out)
{
	const char *hp, *colon;
	char host[64];
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	if (strcmp(resolver, "system") == 0) {
		out->kind = ACME_RES_SYSTEM;
		return 0;
	}
	if (strncmp(resolver, "static:", 7) == 0 && resolver[7] != '\0' &&
	    strlen(resolver + 7) < sizeof(out->addr)) {
		out->kind = ACME_RES_STATIC;
		snprintf(out->addr, sizeof(out->addr), "%s", resolver + 7);
		return 0;
	}
	if (strncmp(resolver, "dns:", 4) != 0)
		return -1;
	/* dns:IPV4:PORT or dns:[IPV6]:PORT */
	hp = resolver + 4;
	if ((colon = strrchr(hp, ':')) == NULL ||
	    (size_t)(colon - hp) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port < 1 || port > 65535)
		return -1;
	if (hp[0] == '[' && colon > hp + 2 && colon[-1] == ']') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->server;
		memcpy(host, hp + 1, (size_t)(colon - hp - 2));
		host[colon - hp - 2] = '\0';
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		out->server_len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&out->server;
		memcpy(host, hp, (size_t)(colon - hp));
		host[colon - hp] = '\0';
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -1;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		out->server_len = sizeof(*in);
	}
	out->kind = ACME_RES_DNS;
	return 0;
}

static int64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads or writes exactly n bytes of a stream socket before deadline. */
static bool
tcp_io(int fd, bool wr, uint8_t *b, size_t n, int64_t deadline)
{
	size_t done = 0;

	while (done < n) {
		struct pollfd pf = {.fd = fd, .events = wr ? POLLOUT : POLLIN};
		ssize_t k;
		int64_t left = deadline - ms_now();
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			return false;
		k = wr ? send(fd, b + done, n - done, MSG_NOSIGNAL)
		       : recv(fd, b + done, n - done, 0);
		if (k <= 0)
			return false;
		done += (size_t)k;
	}
	return true;
}

/*
 * One query to one server: UDP, then TCP when the answer is truncated.
 * The exchange is ours rather than res_nsend's: glibc's res_nsend takes
 * an answer that has no records and neither AA nor RA set for a lame
 * referral and reports a failure, and some test servers (challtestsrv)
 * answer so. Returns the answer's length, or -1 on timeout or error.
 */
static int
exchange(const struct sockaddr *sa, socklen_t sl, const uint8_t *q, int ql,
    uint8_t *ans, int cap, int64_t deadline)
{
	uint8_t len2[2];
	int fd, n = -1;

	fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, sa, sl) != 0 ||
	    send(fd, q, (size_t)ql, MSG_NOSIGNAL) != ql)
		goto out;
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - ms_now();
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			goto out;
		n = (int)recv(fd, ans, (size_t)cap, 0);
		/* a stray datagram (another id, not an answer) is skipped */
		if (n >= 12 && ans[0] == q[0] && ans[1] == q[1] &&
		    (ans[2] & 0x80) != 0)
			break;
		n = -1;
	}
	if ((ans[2] & 0x02) == 0) /* not truncated */
		goto out;
	close(fd);
	n = -1;
	fd = socket(
	    sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, sa, sl) != 0 && errno != EINPROGRESS)
		goto out;
	len2[0] = (uint8_t)(ql >> 8);
	len2[1] = (uint8_t)ql;
	if (!tcp_io(fd, true, len2, 2, deadline) ||
	    !tcp_io(fd, true, (uint8_t *)q, (size_t)ql, deadline) ||
	    !tcp_io(fd, false, len2, 2, deadline))
		goto out;
	n = len2[0] << 8 | len2[1];
	if (n < 12 || n > cap || !tcp_io(fd, false, ans, (size_t)n, deadline))
		n = -1;
out:
	close(fd);
	return n;
}

/* Sends a query for name/type to the resolver's servers, each tried
 * twice with 2 s each (none past deadline), so a dead server costs
 * seconds. Returns the answer's length, or -1 with p. */
static int
query(const struct acme_resolver *rv, const char *name, int type, uint8_t *ans,
    int cap, int64_t deadline, struct acme_prob *p)
{
	struct sockaddr_storage srv[3];
	socklen_t srvlen[3];
	struct __res_state rs;
	uint8_t q[NS_PACKETSZ];
	int nsrv = 0, ql, n;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return acme_prob(p, "dns", "resolver: cannot initialize");
	ql = res_nmkquery(
	    &rs, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, q, sizeof(q));
	if (rv->kind == ACME_RES_DNS) {
		memcpy(&srv[0], &rv->server, sizeof(srv[0]));
		srvlen[0] = rv->server_len;
		nsrv = 1;
	} else {
		/* the system's servers: those libresolv read from
		 * resolv.conf as IPv4 */
		for (int i = 0; i < rs.nscount && nsrv < 3; i++) {
			if (rs.nsaddr_list[i].sin_family != AF_INET)
				continue;
			memcpy(&srv[nsrv], &rs.nsaddr_list[i],
			    sizeof(rs.nsaddr_list[i]));
			srvlen[nsrv++] = sizeof(rs.nsaddr_list[i]);
		}
	}
	res_nclose(&rs);
	if (ql < 0)
		return acme_prob(p, "dns", "%.100s: not a DNS name", name);
	for (int t = 0; t < 2; t++)
		for (int i = 0; i < nsrv && ms_now() < deadline; i++) {
			int64_t d = ms_now() + 2000;
			n = exchange((struct sockaddr *)&srv[i], srvlen[i], q,
			    ql, ans, cap, d < deadline ? d : deadline);
			if (n > 0)
				return n;
		}
	return acme_prob(p, "dns", "%.100s: server failure or timeout", name);
}

static bool
name_eq(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na > 0 && a[na - 1] == '.')
		na--;
	if (nb > 0 && b[nb - 1] == '.')
		nb--;
	return na == nb && strncasecmp(a, b, na) == 0;
}

int
acme_dns_lookup(const struct acme_resolver *rv, const char *name, int type,
    acme_dns_cb cb, void *arg, struct acme_prob *p)
{
	uint8_t *ans = ck_malloc(DNS_MAX_ANSWER);
	char cur[NS_MAXDNAME], target[NS_MAXDNAME];
	int64_t deadline = ms_now() + DNS_LOOKUP_BUDGET_MS;
	int count = -1, hops;

	if (rv->kind == ACME_RES_STATIC) {
		/* static: tests without DNS; nothing but addresses exists */
		free(ans);
		return acme_prob(p, "dns", "resolver static: has no %s records",
		    type == ACME_DNS_TXT ? "TXT" : "CAA");
	}
	snprintf(cur, sizeof(cur), "%s", name);
	for (hops = 0; hops <= DNS_MAX_HOPS; hops++) {
		ns_msg msg;
		ns_rr rr;
		bool moved = false;
		int n = query(rv, cur, type, ans, DNS_MAX_ANSWER, deadline, p),
		    rcode;

		if (n < 0)
			goto out;
		if (ns_initparse(ans, n, &msg) != 0) {
			acme_prob(p, "dns", "%.100s: answer unreadable", cur);
			goto out;
		}
		/* NXDOMAIN is an answer (no records); SERVFAIL, REFUSED and
		 * the rest are not (RFC 8659 3: a failed CAA lookup must
		 * not read as "no CAA") */
		rcode = (int)ns_msg_getflag(msg, ns_f_rcode);
		if (rcode == ns_r_nxdomain) {
			count = 0;
			goto out;
		}
		if (rcode != ns_r_noerror) {
			acme_prob(p, "dns", "%.100s: %s", cur,
			    rcode == ns_r_servfail ? "server failure or timeout"
			                           : "query refused or failed");
			goto out;
		}
		count = 0;
		for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
			if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
				continue;
			if (ns_rr_class(rr) != ns_c_in ||
			    !name_eq(ns_rr_name(rr), cur))
				continue;
			if (ns_rr_type(rr) == ns_t_cname) {
				if (ns_name_uncompress(ns_msg_base(msg),
				        ns_msg_end(msg), ns_rr_rdata(rr),
				        target, sizeof(target)) < 0)
					continue;
				/* the records that follow belong to the
				 * target (a recursive server's answer) */
				snprintf(cur, sizeof(cur), "%s", target);
				moved = true;
			} else if ((int)ns_rr_type(rr) == type) {
				if (cb != NULL &&
				    cb(arg, ns_rr_rdata(rr), ns_rr_rdlen(rr)) !=
				        0) {
					count = -1;
					acme_prob(p, "dns",
					    "%.100s: record unreadable", cur);
					goto out;
				}
				count++;
			}
		}
		/* an authoritative server answers a CNAME alone: ask again
		 * for the target, as a resolver would */
		if (count > 0 || !moved)
			goto out;
		count = -1;
	}
	acme_prob(p, "dns", "%.100s: more than %d CNAMEs", name, DNS_MAX_HOPS);
out:
	free(ans);
	return count;
}

int
acme_txt_value(const uint8_t *rd, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	/* one or more character-strings, joined (RFC 1035 3.3.14) */
	while (i < len) {
		size_t l = rd[i++];
		if (l > len - i || o + l >= cap || memchr(rd + i, 0, l) != NULL)
			return -1;
		memcpy(out + o, rd + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return 0;
}

int
acme_caa_parse(const uint8_t *rd, size_t len, struct acme_caa *c)
{
	size_t tl;

	/* flags, tag length, tag, value (RFC 8659 4.1) */
	if (len < 2)
		return -1;
	tl = rd[1];
	if (tl == 0 || tl >= sizeof(c->tag) || 2 + tl > len ||
	    len - 2 - tl >= sizeof(c->value))
		return -1;
	/* a tag is letters and digits (RFC 8659 4.1); a value with a NUL
	 * would read as a shorter one here, so neither is taken (the
	 * lookup then fails, which refuses) */
	for (size_t i = 0; i < tl; i++)
		if (!isalnum(rd[2 + i]))
			return -1;
	if (memchr(rd + 2 + tl, 0, len - 2 - tl) != NULL)
		return -1;
	c->critical = (rd[0] & 0x80) != 0;
	memcpy(c->tag, rd + 2, tl);
	c->tag[tl] = '\0';
	for (size_t i = 0; i < tl; i++)
		c->tag[i] = (char)tolower((unsigned char)c->tag[i]);
	memcpy(c->value, rd + 2 + tl, len - 2 - tl);
	c->value[len - 2 - tl] = '\0';
	return 0;
}

/* Whether the issuer-domain-name of an issue value (before any ';'
 * parameters) is one of ids, a comma-separated list. */
static bool
value_names_us(const char *value, const char *ids)
{
	char dom[256];
	size_t n = strcspn(value, ";"), s = 0;

	while (s < n && (value[s] == ' ' || value[s] == '\t'))
		s++;
	while (n > s && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	if (n == s || n - s >= sizeof(dom))
		return false; /* ";" alone: no CA may issue */
	memcpy(dom, value + s, n - s);
	dom[n - s] = '\0';
	for (const char *q = ids; *q != '\0';) {
		size_t l = strcspn(q, ",");
		size_t a = 0, b = l;
		while (a < b && q[a] == ' ')
			a++;
		while (b > a && q[b - 1] == ' ')
			b--;
		if (b - a == strlen(dom) && strncasecmp(q + a, dom, b - a) == 0)
			return true;
		q += l;
		if (*q == ',')
			q++;
	}
	return false;
}

bool
acme_caa_permits(const struct acme_caa *set, size_t n, bool wildcard,
    const char *ids, char *why, size_t whylen)
{
	bool has_issue = false, has_wild = false;
	const char *tag;

	for (size_t i = 0; i < n; i++) {
		has_issue |= strcmp(set[i].tag, "issue") == 0;
		has_wild |= strcmp(set[i].tag, "issuewild") == 0;
		/* RFC 8659 4.1: an unknown critical property forbids all */
		if (set[i].critical && strcmp(set[i].tag, "issue") != 0 &&
		    strcmp(set[i].tag, "issuewild") != 0 &&
		    strcmp(set[i].tag, "iodef") != 0) {
			snprintf(why, whylen, "critical property %s unknown",
			    set[i].tag);
			return false;
		}
	}
	/* issuewild governs wildcards when present, issue otherwise */
	tag = wildcard && has_wild ? "issuewild" : "issue";
	if (!has_issue && !(wildcard && has_wild))
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(set[i].tag, tag) == 0 &&
		    value_names_us(set[i].value, ids))
			return true;
	snprintf(why, whylen, "%s does not name this CA", tag);
	return false;
}

struct caa_set {
	struct acme_caa rr[ACME_CAA_MAX];
	size_t n;
};

static int
caa_cb(void *arg, const uint8_t *rd, size_t len)
{
	struct caa_set *s = arg;

	if (s->n == ACME_CAA_MAX)
		return -1;
	if (acme_caa_parse(rd, len, &s->rr[s->n]) != 0)
		return -1;
	s->n++;
	return 0;
}

int
acme_caa_check(const struct acme_resolver *rv, const char *name,
    const char *ids, struct acme_prob *p)
{
	struct caa_set *s = ck_malloc(sizeof(*s));
	bool wild = strncmp(name, "*.", 2) == 0;
	const char *at = wild ? name + 2 : name;
	char why[sizeof(p->detail)];
	int64_t deadline = ms_now() + CAA_BUDGET_MS;
	int rc = -1, n;

	/* RFC 8659 3: the relevant set is the first non-empty one climbing
	 * from the name towards the root; every label is asked. */
	for (;;) {
		if (ms_now() >= deadline) {
			acme_prob(p, "caa",
			    "CAA for %.100s: lookups took over "
			    "%d s",
			    name, CAA_BUDGET_MS / 1000);
			goto out;
		}
		s->n = 0;
		if ((n = acme_dns_lookup(rv, at, ACME_DNS_CAA, caa_cb, s, p)) <
		    0) {
			/* a lookup that fails is a refusal (RFC 8659 3) */
			snprintf(why, sizeof(why), "%s", p->detail);
			acme_prob(p, "caa", "CAA for %.100s: %.120s", at, why);
			goto out;
		}
		if (n > 0)
			break;
		if ((at = strchr(at, '.')) == NULL || at[1] == '\0') {
			rc = 0; /* no CAA anywhere above: unrestricted */
			goto out;
		}
		at++;
	}
	if (!acme_caa_permits(s->rr, s->n, wild, ids, why, sizeof(why))) {
		acme_prob(p, "caa", "CAA at %.100s forbids %.100s: %s", at,
		    name, why);
		goto out;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

int
ck_acme_config_check(const struct ck_config *cfg, struct ck_err *err)
{
	struct acme_resolver rv;
	const char *ids = ck_config_str(cfg, CK_CFG_ACME_CAA_IDENTITIES);

	if (acme_resolver_parse(
	        ck_config_str(cfg, CK_CFG_ACME_RESOLVER), &rv) != 0)
		return ck_err_set(err, CK_E_INVAL,
		    "[acme] resolver: want system, static:ADDR or "
		    "dns:IPV4:PORT");
	/* CAA needs real records: static: has none, so every finalize
	 * would be refused */
	if (ids[0] != '\0' && rv.kind == ACME_RES_STATIC)
		return ck_err_set(err, CK_E_INVAL,
		    "[acme] caa_identities needs a resolver with DNS "
		    "(system or dns:), not static:");
	if (ck_config_int(cfg, CK_CFG_ACME_MAX_NAMES) < 1 ||
	    ck_config_int(cfg, CK_CFG_ACME_MAX_NAMES) > ACME_MAX_IDENTIFIERS)
		return ck_err_set(err, CK_E_INVAL, "[acme] max_names: 1 to %d",
		    ACME_MAX_IDENTIFIERS);
	if (ck_config_int(cfg, CK_CFG_ACME_ORDERS_PER_HOUR) < 0 ||
	    ck_config_int(cfg, CK_CFG_ACME_DOMAIN_ORDERS_PER_HOUR) < 0)
		return ck_err_set(err, CK_E_INVAL,
		    "[acme] orders_per_hour, domain_orders_per_hour: 0 or "
		    "more");
	for (const char *q = ids; *q != '\0'; q++)
		if (!(isalnum((unsigned char)*q) || *q == '.' || *q == '-' ||
		        *q == ',' || *q == ' '))
			return ck_err_set(err, CK_E_INVAL,
			    "[acme] caa_identities: domain names, "
			    "comma-separated");
	return 0;
}
