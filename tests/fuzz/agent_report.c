/*
 * libFuzzer harness for what an agent sends the server besides CSRs (which
 * csr.c covers): an enrolment token's form, and the deployment and scan
 * reports, through the functions the REST handlers call, against a store
 * that holds one managed certificate of host "h1" with one target.
 * Input: the first byte chooses (0 token, 1 deployment report, 2 scan
 * report), the rest is the token or the JSON body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/agent.h"
#include "store/managed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ck_store *st;

static void
setup(void)
{
	char dir[] = "/tmp/ck-fuzz-agent-XXXXXX", url[300];
	struct ck_managed_row m = {0};
	struct ck_target_row t = {0};
	int64_t id;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(url, sizeof(url), "sqlite:%s/inv.db", dir);
	if (ck_store_open(url, &st, NULL) != 0)
		abort();
	m.name = "a";
	m.cn = "a.test";
	m.sans = "DNS:a.test";
	m.key_type = "ec-p256";
	m.issuer = "loc";
	m.profile = "tls-server";
	m.owner = m.contact = m.tags = "";
	m.key_out = m.cert_out = m.chain_out = "";
	m.state = "pending";
	m.last_error = m.last_alert = "";
	m.actor = "fuzz";
	t.managed = "a";
	t.kind = "file";
	t.config = "{\"cert\":\"/tmp/x.pem\"}";
	t.actor = "fuzz";
	if (ck_store_begin(st, NULL) != 0 ||
	    ck_store_managed_add(st, &m, &id, NULL) != 0 ||
	    ck_store_agent_assign(st, "a", "h1", 1, NULL) != 0 ||
	    ck_store_target_add(st, &t, &id, NULL) != 0 ||
	    ck_store_commit(st, NULL) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[CK_AGENT_HOST_MAX + 1];
	char *s;
	int64_t n;

	if (st == NULL)
		setup();
	if (size < 1 || size > 65536)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0: (void)ck_agent_token_host(s, host, NULL); break;
	case 1:
		(void)ck_agent_report_deploy(
		    st, "h1", "a", s, 1, NULL, NULL, NULL);
		break;
	default: (void)ck_agent_report_scan(st, "h1", s, 1, &n, NULL); break;
	}
	free(s);
	return 0;
}
