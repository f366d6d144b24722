/*
 * The JSON form of inventory rows, shared by the REST API and the
 * command line (`list --json`, `show --json`) so both speak one schema.
 */
#include "api/api.h"

#include <string.h>

#include "base/clock.h"
#include "base/json.h"

void
ck_api_cert_json(const struct ck_cert_row *r, int64_t now, struct ck_buf *o)
{
	bool f = true;

	ck_buf_addc(o, '{');
	ck_json_kv_int(o, &f, "id", r->id);
	ck_json_sep(o, &f);
	ck_buf_adds(o, "\"sha256\":\"");
	ck_buf_addhex(o, r->sha256, 32, 0);
	ck_buf_addc(o, '"');
	ck_json_sep(o, &f);
	ck_buf_adds(o, "\"sha1\":\"");
	ck_buf_addhex(o, r->sha1, 20, 0);
	ck_buf_addc(o, '"');
	ck_json_kv_str(o, &f, "serial", r->serial);
	ck_json_kv_str(o, &f, "subject", r->subject);
	ck_json_kv_str(o, &f, "issuer", r->issuer);
	ck_json_kv_str(o, &f, "cn", r->cn);
	ck_json_sep(o, &f);
	ck_json_key(o, "sans");
	ck_buf_addc(o, '[');
	if (r->sans != NULL && *r->sans) {
		const char *p = r->sans;
		bool g = true;
		while (p != NULL) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			char item[1100];
			if (n >= sizeof(item))
				n = sizeof(item) - 1;
			memcpy(item, p, n);
			item[n] = '\0';
			ck_json_sep(o, &g);
			ck_json_str(o, item);
			p = nl ? nl + 1 : NULL;
		}
	}
	ck_buf_addc(o, ']');
	ck_json_kv_time(o, &f, "not_before", r->not_before);
	ck_json_kv_time(o, &f, "not_after", r->not_after);
	ck_json_kv_int(o, &f, "days_left", ck_days_left(r->not_after, now));
	ck_json_kv_str(o, &f, "key_type", r->key_type);
	ck_json_kv_int(o, &f, "key_bits", r->key_bits);
	ck_json_kv_str(o, &f, "curve", r->curve);
	ck_json_kv_str(o, &f, "signature_algorithm", r->sig_alg);
	ck_json_kv_bool(o, &f, "is_ca", r->is_ca);
	if (r->path_len >= 0)
		ck_json_kv_int(o, &f, "path_len", r->path_len);
	ck_json_kv_bool(o, &f, "self_issued", r->self_issued);
	ck_json_kv_str(o, &f, "ski", r->ski);
	ck_json_kv_str(o, &f, "aki", r->aki);
	ck_json_sep(o, &f);
	ck_json_key(o, "issuer_id");
	if (r->issuer_id > 0)
		ck_buf_printf(o, "%lld", (long long)r->issuer_id);
	else
		ck_buf_adds(o, "null");
	ck_json_kv_time(o, &f, "first_seen", r->first_seen);
	ck_json_kv_time(o, &f, "last_seen", r->last_seen);
	ck_buf_addc(o, '}');
}
