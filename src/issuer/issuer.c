/*
 * The connector registry and the release functions of issuer.h.
 */
#include "issuer/issuer.h"
#include "issuer/acme.h"

#include <stdlib.h>
#include <string.h>

/* Every connector type but "local" (which is enroll itself). */
static const struct ck_issuer_ops *const connectors[] = {
    &ck_acme_ops,
    &ck_command_ops,
    NULL,
};

const struct ck_issuer_ops *
ck_issuer_ops_find(const char *type)
{
	if (type == NULL)
		return NULL;
	for (size_t i = 0; connectors[i] != NULL; i++)
		if (strcmp(connectors[i]->type, type) == 0)
			return connectors[i];
	return NULL;
}

void
ck_issuer_def_release(struct ck_issuer_def *d)
{
	if (d == NULL)
		return;
	char **strs[] = {&d->name, &d->type, &d->ca, &d->profile, &d->directory,
	    &d->email, &d->eab_kid, &d->trust_pem, &d->challenge,
	    &d->http01_listen, &d->webroot, &d->dns_hook, &d->tlsalpn_listen,
	    &d->preferred_chain, &d->profile_name, &d->account_url,
	    &d->command};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	ck_buf_release_secret(&d->eab_hmac);
	ck_buf_release_secret(&d->account_key_pem);
	d->dns_wait = 0;
	d->timeout = 0;
	d->account_changed = false;
}

void
ck_issued_release(struct ck_issued *r)
{
	if (r == NULL)
		return;
	free(r->der);
	r->der = NULL;
	r->der_len = 0;
	ck_buf_release(&r->chain_pem);
}
