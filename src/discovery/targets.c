/*
 * Scan targets as generators: a CIDR block or a range is a start and a
 * count, stepped through as the scanner asks, so a /8 costs the same
 * memory as one address. IPv6 offsets are 128-bit.
 */
#include "discovery/net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

struct spec {
	int family; /* AF_INET, AF_INET6, 0 for a host name */
	u128 start, count, next; /* addresses as integers */
	char host[256];
};

struct ck_targets {
	struct spec *s;
	size_t n, cur;
};

static u128
v6_int(const struct in6_addr *a)
{
	u128 v = 0;

	for (int i = 0; i < 16; i++)
		v = v << 8 | a->s6_addr[i];
	return v;
}

static void
int_v6(u128 v, struct in6_addr *a)
{
	for (int i = 15; i >= 0; i--) {
		a->s6_addr[i] = (uint8_t)v;
		v >>= 8;
	}
}

static bool
host_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return false;
	return true;
}

/* An address of either family into *v; family out. */
static int
addr_parse(const char *s, int *family, u128 *v)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		*family = AF_INET;
		*v = ntohl(a4.s_addr);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		*family = AF_INET6;
		*v = v6_int(&a6);
		return 0;
	}
	return -1;
}

static int
spec_parse(const char *in, struct spec *sp, struct ck_err *err)
{
	char buf[300], *slash, *dash;
	int fam, fam2;
	u128 a, b;

	memset(sp, 0, sizeof(*sp));
	if (strlen(in) >= sizeof(buf) || *in == '\0')
		return ck_err_set(err, CK_E_INVAL,
		    "target '%.64s': too long "
		    "or empty",
		    in);
	strcpy(buf, in);
	if ((slash = strchr(buf, '/')) != NULL) {
		char *end;
		long bits;
		*slash = '\0';
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (addr_parse(buf, &fam, &a) != 0 || *end != '\0' ||
		    slash[1] == '\0' || bits < 0 ||
		    bits > (fam == AF_INET ? 32 : 128))
			return ck_err_set(err, CK_E_INVAL,
			    "target '%s': not a CIDR block", in);
		int host_bits = (fam == AF_INET ? 32 : 128) - (int)bits;
		u128 size = host_bits == 128 ? ~(u128)0 : (u128)1 << host_bits;
		sp->family = fam;
		sp->start = host_bits == 128 ? 0 : a & ~(size - 1);
		sp->count = size;
		return 0;
	}
	if (addr_parse(buf, &fam, &a) == 0) {
		sp->family = fam;
		sp->start = a;
		sp->count = 1;
		return 0;
	}
	if ((dash = strrchr(buf, '-')) != NULL && dash != buf) {
		*dash = '\0';
		if (addr_parse(buf, &fam, &a) == 0) {
			if (addr_parse(dash + 1, &fam2, &b) != 0) {
				/* "10.0.0.1-20": the last octet */
				char *end;
				long last = strtol(dash + 1, &end, 10);
				if (fam != AF_INET || *end != '\0' ||
				    dash[1] == '\0' || last < 0 || last > 255)
					return ck_err_set(err, CK_E_INVAL,
					    "target '%s': not a range", in);
				fam2 = AF_INET;
				b = (a & ~(u128)0xff) | (u128)last;
			}
			if (fam2 != fam || b < a)
				return ck_err_set(err, CK_E_INVAL,
				    "target '%s': a range goes up within one "
				    "family",
				    in);
			sp->family = fam;
			sp->start = a;
			sp->count = b - a + 1;
			return 0;
		}
		*dash = '-';
	}
	if (!host_ok(buf))
		return ck_err_set(err, CK_E_INVAL,
		    "target '%.64s': not an address, CIDR block, range or "
		    "host name",
		    in);
	sp->count = 1;
	snprintf(sp->host, sizeof(sp->host), "%.255s", buf);
	return 0;
}

int
ck_targets_new(const char *const *specs, size_t n, struct ck_targets **out,
    struct ck_err *err)
{
	struct ck_targets *t;
	int r;

	*out = NULL;
	if (n == 0)
		return ck_err_set(err, CK_E_INVAL, "no targets");
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->s = calloc(n, sizeof(*t->s))) == NULL) {
		free(t);
		return ck_err_set(err, CK_E_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		if ((r = spec_parse(specs[i], &t->s[i], err)) != 0) {
			ck_targets_free(t);
			return r;
		}
	t->n = n;
	*out = t;
	return 0;
}

void
ck_targets_free(struct ck_targets *t)
{
	if (t == NULL)
		return;
	free(t->s);
	free(t);
}

bool
ck_targets_next(struct ck_targets *t, struct ck_target *out)
{
	while (t->cur < t->n) {
		struct spec *sp = &t->s[t->cur];
		if (sp->next >= sp->count) {
			t->cur++;
			continue;
		}
		memset(out, 0, sizeof(*out));
		if (sp->family == 0) {
			snprintf(out->host, sizeof(out->host), "%s", sp->host);
		} else if (sp->family == AF_INET) {
			struct sockaddr_in *a =
			    (struct sockaddr_in *)&out->addr;
			a->sin_family = AF_INET;
			a->sin_addr.s_addr =
			    htonl((uint32_t)(sp->start + sp->next));
			out->addr_len = sizeof(*a);
		} else {
			struct sockaddr_in6 *a =
			    (struct sockaddr_in6 *)&out->addr;
			a->sin6_family = AF_INET6;
			int_v6(sp->start + sp->next, &a->sin6_addr);
			out->addr_len = sizeof(*a);
		}
		sp->next++;
		return true;
	}
	return false;
}

uint64_t
ck_targets_count(const struct ck_targets *t)
{
	u128 sum = 0;

	for (size_t i = 0; i < t->n; i++) {
		sum += t->s[i].count;
		if (sum > UINT64_MAX)
			return UINT64_MAX;
	}
	return (uint64_t)sum;
}

const int ck_scan_default_ports[] = {443, 8443, 636, 993, 995, 465, 990, 5986,
    6443, 9443, 25, 587, 143, 110, 389, 21, 5432};
const size_t ck_scan_default_ports_n =
    sizeof(ck_scan_default_ports) / sizeof(ck_scan_default_ports[0]);

int
ck_ports_parse(const char *s, int **ports, size_t *n, struct ck_err *err)
{
	int *p = NULL;
	size_t np = 0, cap = 0;
	const char *c = s;

	*ports = NULL;
	*n = 0;
	while (*c) {
		char *end;
		long a = strtol(c, &end, 10), b;
		if (end == c || a < 1 || a > 65535)
			goto bad;
		b = a;
		c = end;
		if (*c == '-') {
			b = strtol(c + 1, &end, 10);
			if (end == c + 1 || b < a || b > 65535)
				goto bad;
			c = end;
		}
		for (long v = a; v <= b; v++) {
			if (np == cap) {
				cap = cap ? cap * 2 : 16;
				int *q = realloc(p, cap * sizeof(*p));
				if (q == NULL) {
					free(p);
					return ck_err_set(err, CK_E_INTERNAL,
					    "out of memory");
				}
				p = q;
			}
			p[np++] = (int)v;
		}
		if (*c == ',' && c[1] != '\0')
			c++;
		else if (*c != '\0')
			goto bad;
	}
	if (np == 0)
		goto bad;
	*ports = p;
	*n = np;
	return 0;
bad:
	free(p);
	return ck_err_set(err, CK_E_INVAL,
	    "ports '%.64s': want a list like 443,8443,8000-8010", s);
}
