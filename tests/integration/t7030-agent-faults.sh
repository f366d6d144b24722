#!/bin/sh
# The agent's faults, each refused with nothing changed: an enrolment
# token used twice, an expired token, an agent asking for (or reporting
# on) another host's certificate (403), an agent certificate on the
# other REST routes (never client_role, even with client_ca trusting its
# CA), a look-alike certificate (CN=host1, OU=certkeep-agent from the
# same CA, but not the one enrolled), a removed agent, a CSR for other
# names, no client certificate or a bearer token on an agent route; and
# keys of agent-held certificates never stored by the server. ~20 s.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"

run_agent() { # DIR [ARGS...]
	d=$1; shift
	env -u CERTKEEP_DB "$CERTKEEP" agent run --server "$URL" --dir "$T/$d" \
		--cacert "$ROOT" --once "$@"
}
# agent_api DIR METHOD PATH [CURL ARGS...]: HTTPS with DIR's client cert
agent_api() {
	d=$1 m=$2 p=$3; shift 3
	curl -s -o "$T/body" -w '%{http_code}' --cacert "$ROOT" --cert "$T/$d/agent.pem" \
		--key "$T/$d/agent.pem" -X "$m" "$URL$p" "$@"
}
events() { sqlite3 "$T/inv.db" "SELECT count(*) FROM events"; }
row() { sqlite3 "$T/inv.db" "SELECT COALESCE(cert_id, 0) || ':' || issued_count FROM managed WHERE name = '$1'"; }

ck ca init loc >/dev/null && ck issuer add loc --type local --ca loc >/dev/null || fail setup
expect_status 0 ck manage add web1 --issuer loc --san web1.test --days 30 --agent host1
expect_status 0 ck manage target add web1 --kind file --cert "$T/a1/www/web1.pem" --key "$T/a1/www/web1.key"
expect_status 0 ck manage add web2 --issuer loc --san web2.test --days 30 --agent host2
mkdir -p a1/www
start_serve
TOKEN=$(ck token create --role admin --name it 2>/dev/null)

# enrolment: once per token
T1=$(ck agent token create --host host1)
expect_status 0 run_agent a1 --token "$T1"
[ -s a1/www/web1.pem ] || fail "host1's certificate not deployed"
SHA1=$(sqlite3 "$T/inv.db" "SELECT sha256 FROM agents WHERE host = 'host1'")
expect_status 5 run_agent a1bis --token "$T1"
expect_grep "agent token already used" "$T/err"
[ ! -e a1bis/agent.pem ] || fail "a client certificate for a used token"
expect_eq "$(sqlite3 "$T/inv.db" "SELECT sha256 FROM agents WHERE host = 'host1'")" "$SHA1" "host1 after a reused token"
# an expired token
TX=$(ck agent token create --host host3 --expires 1s)
sleep 2
expect_status 5 run_agent a3 --token "$TX"
expect_grep "agent token expired" "$T/err"
expect_eq "$(sqlite3 "$T/inv.db" "SELECT count(*) FROM agents WHERE host = 'host3'")" 0 "agent enrolled with an expired token"
# a token that is not one, and a bad host name for one
expect_status 5 run_agent a4 --token "cka1-$(printf '0%.0s' $(seq 64))-host1"
expect_grep "unknown agent token" "$T/err"
expect_status 2 ck agent token create --host "bad/host"

T2=$(ck agent token create --host host2)
expect_status 0 run_agent a2 --token "$T2"
W2=$(row web2)
[ "$W2" != "0:0" ] || fail "host2's certificate not issued"

# host2 asks for host1's certificate: 403 and nothing changes
W1=$(row web1) E=$(events)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout x.key \
	-subj "/CN=web1.test" -addext "subjectAltName=DNS:web1.test" -out x.csr 2>/dev/null
jq -n --rawfile c x.csr '{csr: $c}' >x.json
expect_eq "$(agent_api a2 POST /api/v1/agent/certs/web1/csr -H 'Content-Type: application/json' --data @x.json)" 403 "csr for another host"
expect_grep "does not hold" "$T/body"
TID=$(ck deploy status --json | jq '.targets[] | select(.managed == "web1") | .id')
jq -n --argjson t "$TID" '{results: [{target: $t, sha256: "00", state: "failed", result: "forged"}]}' >r.json
expect_eq "$(agent_api a2 POST /api/v1/agent/certs/web1/deployments -H 'Content-Type: application/json' --data @r.json)" 403 "report for another host"
expect_eq "$(row web1)" "$W1" "web1 after host2's attempts"
expect_eq "$(events)" "$E" "audit log after host2's attempts"
expect_eq "$(ck deploy status --json | jq -r '.targets[] | select(.managed == "web1") | .state')" deployed "web1's target"
# host2 does not see host1's certificates in its work
expect_eq "$(agent_api a2 GET /api/v1/agent/work)" 200 "work"
jq -e '[.certificates[].name] == ["web2"]' "$T/body" >/dev/null || { cat "$T/body"; fail "host2's work"; }
# a CSR of its own certificate for other names
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout y.key \
	-subj "/CN=web2.test" -addext "subjectAltName=DNS:web2.test,DNS:evil.test" -out y.csr 2>/dev/null
jq -n --rawfile c y.csr '{csr: $c}' >y.json
expect_eq "$(agent_api a2 POST /api/v1/agent/certs/web2/csr -H 'Content-Type: application/json' --data @y.json)" 400 "csr for other names"
expect_grep "evil.test" "$T/body"
expect_eq "$(row web2)" "$W2" "web2 after a CSR for other names"

# no client certificate, or a bearer token, on an agent route
expect_api 401 GET /api/v1/agent/work
# an agent certificate elsewhere: not a role
expect_eq "$(agent_api a1 GET /api/v1/certificates)" 401 "agent certificate on the inventory"
# a look-alike: CN=host1, OU=certkeep-agent, from the agent CA, not enrolled
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fake.key \
	-subj "/CN=host1/OU=certkeep-agent" -out fake.csr 2>/dev/null
expect_status 0 ck issue --ca certkeep --profile tls-client --csr fake.csr --out fake.pem
mkdir -p fake && cat fake.key fake.pem >fake/agent.pem
expect_eq "$(agent_api fake GET /api/v1/agent/work)" 403 "look-alike certificate"
expect_grep "not its current client certificate" "$T/body"

# with client_ca trusting the agent CA and client_role admin, an agent's
# certificate still gets no role; another client certificate does
stop_serve
cp var/agent-ca.pem client-ca.pem
export CERTKEEP_CLIENT_CA="$T/client-ca.pem" CERTKEEP_CLIENT_ROLE=admin
start_serve
expect_eq "$(agent_api a1 GET /api/v1/certificates)" 401 "agent certificate with client_ca"
expect_status 0 ck issue --ca certkeep --profile tls-client --cn ops --key-out ops.key --out ops.pem
mkdir -p ops && cat ops.key ops.pem >ops/agent.pem
expect_eq "$(agent_api ops GET /api/v1/certificates)" 200 "an operator's client certificate"
expect_eq "$(agent_api a1 GET /api/v1/agent/work)" 200 "the agent on its own route"
# client_ca trusting another CA only: a client certificate of the agent CA
# (which anyone with an enroller token could get) takes no role
stop_serve
ck ca show loc --pem >loc-ca.pem || fail "loc CA"
export CERTKEEP_CLIENT_CA="$T/loc-ca.pem"
start_serve
expect_eq "$(agent_api ops GET /api/v1/certificates)" 401 "a client certificate of the agent CA only"
expect_status 0 ck issue --ca loc --profile tls-client --cn ops2 --key-out ops2.key --out ops2.pem
mkdir -p ops2 && cat ops2.key ops2.pem >ops2/agent.pem
expect_eq "$(agent_api ops2 GET /api/v1/certificates)" 200 "a client certificate of client_ca"
expect_eq "$(agent_api a1 GET /api/v1/agent/work)" 200 "the agent beside another client_ca"

# a failed reload on the agent's host: rolled back there, recorded and
# alerted here like a deployment of the server's own
expect_status 0 ck manage target add web1 --kind file --cert "$T/a1/www/web1b.pem" --reload "exit 3"
TB=$(ck deploy status --json | jq '[.targets[] | select(.managed == "web1")] | max_by(.id) | .id')
expect_status 0 run_agent a1
[ ! -e a1/www/web1b.pem ] || fail "web1b.pem left after a failed reload"
expect_eq "$(ck deploy status --json | jq -r --argjson t "$TB" '.targets[] | select(.id == $t) | .state')" rolled_back "agent target after a failed reload"
expect_eq "$(sqlite3 "$T/inv.db" "SELECT count(*) FROM alert_states WHERE key = 'deploy_failed:web1:$TB' AND state LIKE 'rolled_back:%'")" 1 "alert state"
ck audit list --json | jq -e '[.[] | select(.action == "deploy.rolled_back" and .actor == "agent:host1")] | length == 1' >/dev/null ||
	fail "rollback event"
expect_status 0 ck manage target remove web1 "$TB"

# an agent offline past its certificate's expiry enrols again with a new
# token (its clock 40 days on)
T5=$(ck agent token create --host host1)
expect_status 0 env CERTKEEP_NOW=$(($(date +%s) + 40 * 86400)) sh -c \
	'env -u CERTKEEP_DB "$0" agent run --server "$1" --dir "$2" --token "$3" --once' \
	"$CERTKEEP" "$URL" "$T/a1" "$T5"
expect_grep "enrolling again" "$T/err"
expect_eq "$(sqlite3 "$T/inv.db" "SELECT used > 0 FROM agent_tokens WHERE host = 'host1' ORDER BY id DESC LIMIT 1")" 1 "the new token spent"

# a removed agent is refused
expect_status 0 ck agent remove host2
expect_eq "$(agent_api a2 GET /api/v1/agent/work)" 403 "removed agent"
expect_status 5 run_agent a2
expect_grep "removed" "$T/err"

# an owner that exists on the agent's host only: the server does not judge
expect_status 0 ck manage target add web2 --kind file --cert "$T/a2/x.pem" --owner ck-agent-only-user
expect_status 0 ck manage add srv1 --issuer loc --san srv1.test --queue
expect_status 2 ck manage target add srv1 --kind file --cert "$T/x.pem" --owner ck-agent-only-user

# the server never held a key of the agents' certificates
expect_eq "$(sqlite3 "$T/inv.db" "SELECT count(*) FROM managed WHERE key IS NOT NULL")" 0 "keys in the store"
for d in a1 a2; do
	for f in "$T/$d"/certs/*.pem; do
		body=$(sed -n '2p' "$f")
		! grep -rqF -- "$body" "$T/inv.db" "$T/var" || fail "$f: key on the server"
	done
done
ck audit verify >/dev/null || fail "audit chain"
echo "ok: reused, expired and bad tokens refused; another host's certificate 403 with nothing changed; agent certificates get no role; look-alike and removed agents refused"
