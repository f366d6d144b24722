/*
 * certkeep.conf reading: inih does the INI syntax; this file holds the
 * table of keys, checks values as they come in, and applies the CERTKEEP_*
 * overrides, so every caller sees one validated set.
 */
#include "base/config.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

struct key {
	const char *section, *name, *env, *def, *doc;
	char type;
};

static const struct key keys[CK_CFG_COUNT] = {
#define CK_CONFIG_ROW(e, sec, key, env, def, type, doc) \
	[CK_CFG_##e] = {sec, key, env, def, doc, type},
    CK_CONFIG_MAP(CK_CONFIG_ROW)
#undef CK_CONFIG_ROW
};

static int
check(enum ck_config_key k, const char *v, int64_t *out, struct ck_err *err)
{
	int64_t n = 0;
	char *end;

	switch (keys[k].type) {
	case 'i':
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < 0)
			return ck_err_set(err, CK_E_PARSE,
			    "%s: '%s' is not a whole number >= 0", keys[k].name,
			    v);
		break;
	case 'd':
		/* a bare number would be days to ck_duration_parse: too
		 * easy to misread for a timeout, so a unit is required */
		if (*v == '\0' || strchr("smhdw", v[strlen(v) - 1]) == NULL ||
		    ck_duration_parse(v, &n) != 0 || n < 0)
			return ck_err_set(err, CK_E_PARSE,
			    "%s: '%s' is not a duration (30s, 5m, 1h, 2d)",
			    keys[k].name, v);
		break;
	default: break;
	}
	if (out != NULL)
		*out = n;
	return 0;
}

int
ck_config_set(struct ck_config *cfg, enum ck_config_key k, const char *v,
    struct ck_err *err)
{
	char *copy;
	int r;

	if ((r = check(k, v, NULL, err)) != 0)
		return r;
	if ((copy = strdup(v)) == NULL)
		return ck_err_set(err, CK_E_INTERNAL, "out of memory");
	free(cfg->val[k]);
	cfg->val[k] = copy;
	return 0;
}

struct parse_ctx {
	struct ck_config *cfg;
	struct ck_err *err;
	bool failed; /* the first error's reason is kept */
};

/* Keeps key = value of a free section (a profile's), for its consumer. */
static int
free_key(struct ck_config *cfg, const char *section, const char *name,
    const char *value)
{
	struct ck_config_section *sec = NULL;

	if (cfg->n_sections > 0 &&
	    strcmp(cfg->sections[cfg->n_sections - 1].name, section) == 0)
		sec = &cfg->sections[cfg->n_sections - 1];
	if (sec == NULL) {
		void *p = realloc(cfg->sections,
		    (cfg->n_sections + 1) * sizeof(*cfg->sections));
		if (p == NULL)
			return -1;
		cfg->sections = p;
		sec = &cfg->sections[cfg->n_sections++];
		memset(sec, 0, sizeof(*sec));
		sec->name = strdup(section);
	}
	char **k = realloc(sec->keys, (sec->n + 1) * sizeof(char *));
	if (k != NULL)
		sec->keys = k;
	char **v = realloc(sec->vals, (sec->n + 1) * sizeof(char *));
	if (v != NULL)
		sec->vals = v;
	if (k == NULL || v == NULL || sec->name == NULL)
		return -1;
	sec->keys[sec->n] = strdup(name);
	sec->vals[sec->n] = strdup(value);
	sec->n++;
	return 0;
}

static int
on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;

	if ((strncmp(section, "profile.", 8) == 0 && section[8] != '\0') ||
	    (strncmp(section, "notify.", 7) == 0 && section[7] != '\0')) {
		if (free_key(p->cfg, section, name, value) != 0) {
			ck_err_set(p->err, CK_E_INTERNAL, "out of memory");
			p->failed = true;
			return 0;
		}
		return 1;
	}

	for (int k = 0; k < CK_CFG_COUNT; k++) {
		if (strcmp(keys[k].section, section) != 0 ||
		    strcmp(keys[k].name, name) != 0)
			continue;
		if (p->failed)
			return 0;
		if (ck_config_set(p->cfg, k, value, p->err) != 0) {
			p->failed = true;
			return 0;
		}
		return 1;
	}
	if (!p->failed)
		ck_err_set(p->err, CK_E_PARSE,
		    "unknown key '%s' in section [%s]", name, section);
	p->failed = true;
	return 0;
}

int
ck_config_load(const char *path, struct ck_config *cfg, struct ck_err *err)
{
	struct parse_ctx p = {cfg, err, false};
	int r;

	memset(cfg, 0, sizeof(*cfg));
	for (int k = 0; k < CK_CFG_COUNT; k++)
		if ((r = ck_config_set(cfg, k, keys[k].def, err)) != 0)
			goto fail;
	if (path == NULL)
		path = getenv("CERTKEEP_CONFIG");
	if (path != NULL && *path != '\0') {
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			r = ck_err_set(err,
			    errno == ENOENT ? CK_E_NOTFOUND : CK_E_IO,
			    "config %s: %s", path, strerror(errno));
			goto fail;
		}
		int ir = ini_parse_file(f, on_ini, &p);
		fclose(f);
		if (ir != 0) {
			/* inih returns the line of the first error: ours, or
			 * its own syntax error when no handler call failed. */
			if (!p.failed)
				ck_err_set(err, CK_E_PARSE,
				    "syntax error (a line that is not "
				    "[section] or key = value)");
			r = ck_err_wrap(
			    err, CK_E_PARSE, "config %s:%d", path, ir);
			goto fail;
		}
		cfg->path = strdup(path);
	}
	for (int k = 0; k < CK_CFG_COUNT; k++) {
		const char *e = getenv(keys[k].env);
		if (e != NULL && (r = ck_config_set(cfg, k, e, err)) != 0) {
			ck_err_wrap(err, r, "$%s", keys[k].env);
			goto fail;
		}
	}
	return 0;
fail:
	ck_config_release(cfg);
	return r;
}

void
ck_config_release(struct ck_config *cfg)
{
	if (cfg == NULL)
		return;
	for (int k = 0; k < CK_CFG_COUNT; k++) {
		free(cfg->val[k]);
		cfg->val[k] = NULL;
	}
	free(cfg->path);
	cfg->path = NULL;
	for (size_t i = 0; i < cfg->n_sections; i++) {
		struct ck_config_section *sec = &cfg->sections[i];
		for (size_t j = 0; j < sec->n; j++) {
			free(sec->keys[j]);
			free(sec->vals[j]);
		}
		free(sec->keys);
		free(sec->vals);
		free(sec->name);
	}
	free(cfg->sections);
	cfg->sections = NULL;
	cfg->n_sections = 0;
}

const char *
ck_config_str(const struct ck_config *cfg, enum ck_config_key k)
{
	return cfg->val[k] != NULL ? cfg->val[k] : keys[k].def;
}

int64_t
ck_config_int(const struct ck_config *cfg, enum ck_config_key k)
{
	int64_t n = 0;

	(void)check(k, ck_config_str(cfg, k), &n, NULL);
	return n;
}

const char *
ck_config_name(enum ck_config_key k)
{
	return keys[k].name;
}

const char *
ck_config_section(enum ck_config_key k)
{
	return keys[k].section;
}

void
ck_config_write_example(FILE *f)
{
	const char *sec = "";

	fprintf(f,
	    "# certkeep.conf: every key with its default. Each key can be\n"
	    "# overridden by the CERTKEEP_* variable named after it, and by\n"
	    "# command-line flags. See docs/config.md.\n");
	for (int k = 0; k < CK_CFG_COUNT; k++) {
		if (strcmp(sec, keys[k].section) != 0) {
			sec = keys[k].section;
			fprintf(f, "\n[%s]\n", sec);
		}
		fprintf(f, "# %s ($%s)\n", keys[k].doc, keys[k].env);
		fprintf(f, "%s = %s\n", keys[k].name, keys[k].def);
	}
	fprintf(f,
	    "\n# User-defined certificate profiles, one section each (see "
	    "docs/config.md):\n"
	    "# [profile.web-short]\n"
	    "# base = tls-server\n"
	    "# max_days = 30\n"
	    "# ext_key_usage = serverAuth,clientAuth\n");
}
