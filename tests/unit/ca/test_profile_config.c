/*
 * Unit tests for user-defined profiles from certkeep.conf: a profile
 * based on a built-in one inherits and overrides, one written from
 * scratch needs key usage and a validity, bad values name the section and
 * key, built-in names cannot be taken, and a bad file changes nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca.h"

static int
load(const char *text, struct ck_err *err)
{
	char path[] = "/tmp/ck-prof-XXXXXX";
	int fd = mkstemp(path), r;
	FILE *f = fdopen(fd, "w");
	struct ck_config cfg;

	fputs(text, f);
	fclose(f);
	r = ck_config_load(path, &cfg, err);
	unlink(path);
	if (r != 0)
		return r;
	r = ck_profiles_configure(&cfg, err);
	ck_config_release(&cfg);
	return r;
}

Test(profile_config, based_on_a_builtin)
{
	struct ck_err err;
	const struct ck_profile *p;

	cr_assert_eq(
	    load("[profile.web-short]\nbase = tls-server\n"
	         "max_days = 30\next_key_usage = serverAuth,clientAuth\n",
	        &err),
	    0, "%s", err.msg);
	p = ck_profile_find("web-short");
	cr_assert_not_null(p);
	cr_assert(p->web_pki);
	cr_assert_str_eq(p->ext_key_usage, "serverAuth,clientAuth");
	cr_assert_str_eq(
	    p->key_usage, ck_profile_find("tls-server")->key_usage);
	/* shorter than the Baseline Requirements allow: its own limit */
	cr_assert_eq(ck_profile_max_days(p, 1795000000), 30);
}

Test(profile_config, from_scratch)
{
	struct ck_err err;
	const struct ck_profile *p;

	cr_assert_eq(
	    load("[profile.iot]\nkey_usage = digitalSignature,keyAgreement\n"
	         "ext_key_usage = clientAuth,1.3.6.1.5.5.7.3.30\n"
	         "san_types = uri,dns\nsubject_fields = CN,O,serialNumber\n"
	         "max_days = 1825\nallow_ed25519 = yes\nmin_rsa_bits = 3072\n",
	        &err),
	    0, "%s", err.msg);
	p = ck_profile_find("iot");
	cr_assert_not_null(p);
	cr_assert_str_eq(
	    p->key_usage, "critical,digitalSignature,keyAgreement");
	cr_assert_eq(p->san_types, CK_SAN_ALLOW_URI | CK_SAN_ALLOW_DNS);
	cr_assert(p->allow_ed25519);
	cr_assert_eq(p->min_rsa_bits, 3072);
	cr_assert_eq(ck_profile_max_days(p, 1795000000), 1825);
	cr_assert_eq(
	    ck_profile_check_key(p, "rsa", 2048, "", &err), CK_E_INVAL);
}

Test(profile_config, refused_with_reasons_and_nothing_changes)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"[profile.a]\nbase = nope\n", "base"},
	    {"[profile.a]\nbase = tls-client\ncolour = red\n",
	        "unknown key 'colour'"},
	    {"[profile.a]\nkey_usage = digitalSignature,flying\nmax_days = 1\n",
	        "flying"},
	    {"[profile.a]\nbase = tls-client\nmax_days = 99999\n", "max_days"},
	    {"[profile.a]\nbase = tls-client\nca = maybe\n", "ca"},
	    {"[profile.a]\nmax_days = 10\n", "needs key_usage"},
	    {"[profile.a]\nkey_usage = digitalSignature\n", "needs max_days"},
	    {"[profile.tls-server]\nbase = tls-client\n", "built-in"},
	    {"[profile.Bad Name]\nbase = tls-client\n", "profile name"},
	};
	struct ck_err err;

	cr_assert_eq(load("[profile.keep]\nbase = email\n", &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(
		    load(bad[i].text, &err), CK_E_PARSE, "%s", bad[i].text);
		cr_assert(strstr(err.msg, bad[i].why) != NULL, "%s: %s",
		    bad[i].why, err.msg);
		cr_assert_not_null(ck_profile_find("keep"),
		    "a refused file replaced the profiles");
	}
	/* a new good file replaces the set */
	cr_assert_eq(load("[profile.other]\nbase = email\n", &err), 0);
	cr_assert_null(ck_profile_find("keep"));
	cr_assert_not_null(ck_profile_find("other"));
}
