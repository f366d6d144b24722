/*
 * The built-in certificate profiles: key usage, EKU, CA or not, which SAN
 * types and subject attributes a request may carry, which keys, and how
 * long a certificate may live. tls-server follows the CA/Browser Forum
 * Baseline Requirements, including the validity schedule of ballot SC-081.
 */
#include "ca/ca.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ck_profile profiles[] = {
    {"tls-server", "critical,digitalSignature,keyEncipherment", "serverAuth",
        false, CK_SAN_ALLOW_DNS | CK_SAN_ALLOW_IP, "CN", 2048, false, 0, true},
    {"tls-client", "critical,digitalSignature", "clientAuth", false,
        CK_SAN_ALLOW_DNS | CK_SAN_ALLOW_EMAIL | CK_SAN_ALLOW_URI, "CN,O,OU",
        2048, true, 398, false},
    {"code-signing", "critical,digitalSignature", "codeSigning", false, 0,
        "CN,O,OU,L,ST,C", 3072, false, 1185, false},
    {"email", "critical,digitalSignature,keyEncipherment", "emailProtection",
        false, CK_SAN_ALLOW_EMAIL, "CN,O,OU", 2048, true, 825, false},
    {"device", "critical,digitalSignature,keyAgreement",
        "clientAuth,serverAuth", false,
        CK_SAN_ALLOW_DNS | CK_SAN_ALLOW_IP | CK_SAN_ALLOW_URI,
        "CN,O,OU,serialNumber", 2048, true, 3650, false},
    {"sub-ca", "critical,keyCertSign,cRLSign,digitalSignature", NULL, true, 0,
        "CN,O,OU,C", 3072, true, 1825, false},
};

#define N_BUILTIN (sizeof(profiles) / sizeof(profiles[0]))

/*
 * Configured profiles: a set is never freed once published (a reload
 * publishes a new one), so a pointer ck_profile_find returned stays valid
 * while a request uses it. Sets are small and reloads rare.
 */
struct set {
	struct ck_profile *p;
	size_t n;
	char **owned; /* the strings the profiles point to */
	size_t n_owned;
	struct set *prev; /* older sets, kept reachable */
};

/* A copy of v that the set owns (freed with a refused set). */
static char *
own(struct set *set, const char *v)
{
	char **o = realloc(set->owned, (set->n_owned + 1) * sizeof(char *));
	char *c = strdup(v);

	if (o == NULL || c == NULL) {
		if (o != NULL)
			set->owned = o;
		free(c);
		return NULL;
	}
	set->owned = o;
	return set->owned[set->n_owned++] = c;
}

static void
set_free(struct set *set)
{
	for (size_t i = 0; i < set->n_owned; i++)
		free(set->owned[i]);
	free(set->owned);
	free(set->p);
	free(set);
}
static struct set *current;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

const struct ck_profile *
ck_profile_find(const char *name)
{
	const struct ck_profile *found = NULL;

	for (size_t i = 0; i < N_BUILTIN; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	pthread_mutex_lock(&mu);
	for (size_t i = 0; current != NULL && i < current->n; i++)
		if (strcmp(current->p[i].name, name) == 0)
			found = &current->p[i];
	pthread_mutex_unlock(&mu);
	return found;
}

/* Checks a comma list against names (NULL-terminated); allow_oid lets
 * dotted OIDs through. Returns the first bad item in bad. */
static bool
list_ok(const char *v, const char *const *names, bool allow_oid, char *bad,
    size_t cap)
{
	char *copy = strdup(v), *save = NULL, *t;
	bool ok = copy != NULL;

	for (t = ok ? strtok_r(copy, ", ", &save) : NULL; t && ok;
	     t = strtok_r(NULL, ", ", &save)) {
		size_t i = 0;
		while (names[i] != NULL && strcmp(names[i], t) != 0)
			i++;
		if (names[i] == NULL &&
		    !(allow_oid && strspn(t, "0123456789.") == strlen(t) &&
		        strchr(t, '.') != NULL)) {
			snprintf(bad, cap, "%s", t);
			ok = false;
		}
	}
	free(copy);
	return ok;
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0) {
		*out = false;
		return 0;
	}
	return -1;
}

static int
parse_int(const char *v, int lo, int hi, int *out)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

/* One [profile.NAME] section into p (strings owned by p). */
static int
profile_from(const struct ck_config_section *sec, struct set *set,
    struct ck_profile *p, struct ck_err *err)
{
	static const char *const ku[] = {"digitalSignature", "nonRepudiation",
	    "keyEncipherment", "dataEncipherment", "keyAgreement",
	    "keyCertSign", "cRLSign", NULL};
	static const char *const eku[] = {"serverAuth", "clientAuth",
	    "codeSigning", "emailProtection", "timeStamping", "OCSPSigning",
	    NULL};
	static const char *const fields[] = {"CN", "O", "OU", "L", "ST", "C",
	    "serialNumber", "emailAddress", "DC", "UID", "title", NULL};
	const char *name = sec->name + 8;
	char bad[128], buf[512];
	bool have_ku = false, have_days = false;

	if (ck_profile_find(name) != NULL &&
	    ck_profile_find(name) >= profiles &&
	    ck_profile_find(name) < profiles + N_BUILTIN)
		return ck_err_set(err, CK_E_PARSE,
		    "[%s]: %s is a built-in profile and cannot be redefined",
		    sec->name, name);
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    strlen(name))
		return ck_err_set(err, CK_E_PARSE,
		    "[%s]: a profile name is lower-case letters, digits, '-' "
		    "and '_'",
		    sec->name);
	memset(p, 0, sizeof(*p));
	p->min_rsa_bits = 2048;
	for (size_t i = 0; i < sec->n; i++)
		if (strcmp(sec->keys[i], "base") == 0) {
			const struct ck_profile *b = NULL;
			for (size_t j = 0; j < N_BUILTIN; j++)
				if (strcmp(profiles[j].name, sec->vals[i]) == 0)
					b = &profiles[j];
			if (b == NULL)
				return ck_err_set(err, CK_E_PARSE,
				    "[%s] base: '%s' is not a built-in profile",
				    sec->name, sec->vals[i]);
			*p = *b;
			have_ku = have_days = true;
		}
	p->name = own(set, name);
	for (size_t i = 0; i < sec->n; i++) {
		const char *k = sec->keys[i], *v = sec->vals[i];
		int r = 0;
		if (strcmp(k, "base") == 0)
			continue;
		if (strcmp(k, "key_usage") == 0) {
			if (!list_ok(v, ku, false, bad, sizeof(bad)))
				return ck_err_set(err, CK_E_PARSE,
				    "[%s] key_usage: unknown '%s'", sec->name,
				    bad);
			snprintf(buf, sizeof(buf), "critical,%s", v);
			p->key_usage = own(set, buf);
			have_ku = true;
		} else if (strcmp(k, "ext_key_usage") == 0) {
			if (!list_ok(v, eku, true, bad, sizeof(bad)))
				return ck_err_set(err, CK_E_PARSE,
				    "[%s] ext_key_usage: unknown '%s'",
				    sec->name, bad);
			p->ext_key_usage = *v ? own(set, v) : NULL;
		} else if (strcmp(k, "ca") == 0) {
			r = parse_bool(v, &p->ca);
		} else if (strcmp(k, "web_pki") == 0) {
			r = parse_bool(v, &p->web_pki);
		} else if (strcmp(k, "allow_ed25519") == 0) {
			r = parse_bool(v, &p->allow_ed25519);
		} else if (strcmp(k, "min_rsa_bits") == 0) {
			r = parse_int(v, 2048, 8192, &p->min_rsa_bits);
		} else if (strcmp(k, "max_days") == 0) {
			r = parse_int(v, 1, 3650, &p->max_days);
			have_days = true;
		} else if (strcmp(k, "subject_fields") == 0) {
			if (!list_ok(v, fields, false, bad, sizeof(bad)))
				return ck_err_set(err, CK_E_PARSE,
				    "[%s] subject_fields: unknown '%s'",
				    sec->name, bad);
			p->subject_fields = own(set, v);
		} else if (strcmp(k, "san_types") == 0) {
			static const char *const st[] = {
			    "dns", "ip", "email", "uri", "none", NULL};
			if (!list_ok(v, st, false, bad, sizeof(bad)))
				return ck_err_set(err, CK_E_PARSE,
				    "[%s] san_types: unknown '%s' (dns, ip, "
				    "email, uri, none)",
				    sec->name, bad);
			p->san_types =
			    (strstr(v, "dns") ? CK_SAN_ALLOW_DNS : 0) |
			    (strstr(v, "ip") ? CK_SAN_ALLOW_IP : 0) |
			    (strstr(v, "email") ? CK_SAN_ALLOW_EMAIL : 0) |
			    (strstr(v, "uri") ? CK_SAN_ALLOW_URI : 0);
		} else {
			return ck_err_set(err, CK_E_PARSE,
			    "[%s]: unknown key '%s'", sec->name, k);
		}
		if (r != 0)
			return ck_err_set(err, CK_E_PARSE,
			    "[%s] %s: bad value '%s'", sec->name, k, v);
	}
	if (!have_ku)
		return ck_err_set(err, CK_E_PARSE,
		    "[%s]: needs key_usage (or a base profile)", sec->name);
	if (!have_days && !p->web_pki)
		return ck_err_set(err, CK_E_PARSE,
		    "[%s]: needs max_days (or a base profile)", sec->name);
	if (p->subject_fields == NULL)
		p->subject_fields = "CN";
	return 0;
}

int
ck_profiles_configure(const struct ck_config *cfg, struct ck_err *err)
{
	struct set *set = calloc(1, sizeof(*set));
	size_t n = 0;
	int r;

	if (set == NULL)
		return ck_err_set(err, CK_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < cfg->n_sections; i++)
		if (strncmp(cfg->sections[i].name, "profile.", 8) == 0)
			n++;
	set->p = calloc(n ? n : 1, sizeof(*set->p));
	for (size_t i = 0; i < cfg->n_sections && set->p != NULL; i++) {
		const struct ck_config_section *sec = &cfg->sections[i];
		if (strncmp(sec->name, "profile.", 8) != 0)
			continue;
		if ((r = profile_from(sec, set, &set->p[set->n], err)) != 0) {
			set_free(set); /* never published */
			return r;
		}
		set->n++;
	}
	pthread_mutex_lock(&mu);
	set->prev = current;
	current = set;
	pthread_mutex_unlock(&mu);
	return 0;
}

int
ck_profile_max_days(const struct ck_profile *p, int64_t at)
{
	/* SC-081: the step dates, 00:00 UTC. */
	const int64_t mar2026 = 1773532800, mar2027 = 1805068800,
	              mar2029 = 1868227200;

	int sched = at >= mar2029 ? 47
	    : at >= mar2027       ? 100
	    : at >= mar2026       ? 200
	                          : 398;

	if (!p->web_pki)
		return p->max_days;
	/* a profile based on tls-server may be shorter, never longer */
	return p->max_days > 0 && p->max_days < sched ? p->max_days : sched;
}

int
ck_profile_check_key(const struct ck_profile *p, const char *key_type, int bits,
    const char *curve, struct ck_err *err)
{
	if (strcmp(key_type, "rsa") == 0) {
		if (bits < p->min_rsa_bits || bits > 8192)
			return ck_err_set(err, CK_E_INVAL,
			    "profile %s takes RSA keys of %d to 8192 bits, not "
			    "%d",
			    p->name, p->min_rsa_bits, bits);
		return 0;
	}
	if (strcmp(key_type, "ec") == 0) {
		if (strcmp(curve, "P-256") != 0 &&
		    strcmp(curve, "P-384") != 0 && strcmp(curve, "P-521") != 0)
			return ck_err_set(err, CK_E_INVAL,
			    "profile %s does not take EC keys on %s (P-256, "
			    "P-384, P-521)",
			    p->name, *curve ? curve : "explicit parameters");
		return 0;
	}
	if (strcmp(key_type, "ed25519") == 0 && p->allow_ed25519)
		return 0;
	return ck_err_set(err, CK_E_INVAL, "profile %s does not take %s keys",
	    p->name, key_type);
}
