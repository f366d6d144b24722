#!/bin/sh
# The agent and the server as two processes with separate folders: the
# agent enrols with a one-time token, makes the keys of the two
# certificates its host holds, gets them issued and deploys them to files
# in its own folder. The server is killed (SIGKILL) while the agent is in
# the middle of the second deployment (its reload command is running) and
# started again on the same port; the agent finishes and delivers the
# report it could not send. Then the server's view (deploy status, REST)
# matches the files on the agent's side, fingerprint for fingerprint, the
# server holds no private key of them, and the agent's local scan is in
# the server's inventory at agent:<host>:<path>. Bounded: ~30 s.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
# wait_for SECONDS WHAT CMD...: polls CMD every 0.2 s
wait_for() {
	n=$(($1 * 5)) what=$2; shift 2
	for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	cat "$T/agent.log" "$T/serve.log" >&2
	fail "timed out waiting for $what"
}
tstate() { ck deploy status --json | jq -r --arg m "$1" ".targets[] | select(.managed == \$m) | $2"; }

# the server's folder: its database, master key and data dir; the
# agent's: its state and the files it deploys to
mkdir -p srv agent/www agent/scan
export CERTKEEP_DB="sqlite:$T/srv/inv.db" CERTKEEP_MASTER_KEY_FILE="$T/srv/master.key"
SP=$(free_port)
restart_serve() {
	"$CERTKEEP" serve --listen "127.0.0.1:$SP" --listen-plain 127.0.0.1:0 \
		--data-dir "$T/srv/var" --workers 2 >>"$T/serve.log" 2>&1 &
	SERVE_PID=$!
	wait_for 10 "the server" curl -skf -o /dev/null \
		"https://localhost:$SP/healthz"
}

ck ca init loc >/dev/null && ck issuer add loc --type local --ca loc >/dev/null || fail setup
expect_status 0 ck manage add web1 --issuer loc --san web1.test --days 30 --agent host1
expect_status 0 ck manage target add web1 --kind file --fullchain "$T/agent/www/web1.pem" \
	--key "$T/agent/www/web1.key"
# nothing was issued by the server for an agent's certificate
expect_eq "$(sqlite3 "$T/srv/inv.db" "SELECT COALESCE(cert_id, 0) FROM managed WHERE name = 'web1'")" 0 \
	"certificate issued before the agent asked"

: >"$T/serve.log"
restart_serve
curl -sf "$(sed -n 's/.*plain http on .* (port \([0-9]*\)).*/http:\/\/127.0.0.1:\1/p' "$T/serve.log" | tail -1)/ca/certkeep-root.pem" \
	>"$T/root.pem" || fail "root CA not served"
TOKEN_A=$(ck agent token create --host host1 --expires 10m)

# a certificate file for the agent's local scan
mkroot agent/scan/other "other.test"
SCANNED=$(fp agent/scan/other.pem)

# the agent: its own process, its own folder, no access to the database
env -u CERTKEEP_DB -u CERTKEEP_MASTER_KEY_FILE "$CERTKEEP" agent run \
	--server "https://localhost:$SP" --dir "$T/agent/state" --token "$TOKEN_A" \
	--cacert "$T/root.pem" --interval 1 --backoff-max 2 \
	--scan "$T/agent/scan" >"$T/agent.log" 2>&1 &
AGENT_PID=$!
trap 'st=$?; kill -TERM "$AGENT_PID" 2>/dev/null || true; stop_serve; rm -rf "$T"; exit $st' EXIT

wait_for 15 "web1 deployed" sh -c "[ \"\$(\"$CERTKEEP\" deploy status --json | jq -r '.targets[0].state')\" = deployed ]"
[ "$(stat -c %a agent/state/agent.pem)" = 600 ] || fail "agent.pem is not 0600"
[ "$(stat -c %a agent/state/certs/web1.pem)" = 600 ] || fail "the kept key is not 0600"

# the second certificate, added while the agent runs; its reload takes 3 s
expect_status 0 ck manage add web2 --issuer loc --san web2.test --days 30 --agent host1
expect_status 0 ck manage target add web2 --kind file --cert "$T/agent/www/web2.pem" \
	--key "$T/agent/www/web2.key" --reload "touch $T/agent/reloading; sleep 3"
wait_for 15 "the second deployment to start" test -f agent/reloading
# mid-way: the server dies with the agent's report still to come
kill -KILL "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
SERVE_PID=""
sleep 4
[ -f agent/www/web2.pem ] || fail "web2 not deployed while the server was down"
ls agent/state/outbox/ | grep -q 'web2@' || fail "the undelivered report is not kept"
expect_eq "$(tstate web2 .state)" new "server view before the restart"
restart_serve
wait_for 15 "the report after the restart" sh -c "[ \"\$(\"$CERTKEEP\" deploy status --json | jq -r '[.targets[] | select(.state == \"deployed\")] | length')\" = 2 ]"
wait_for 5 "the outbox to empty" sh -c "[ -z \"\$(ls $T/agent/state/outbox)\" ]"

# the server's view matches the agent's files
for n in web1 web2; do
	f=agent/www/$n.pem
	expect_eq "$(tstate $n .deployed_sha256)" "$(fp "$f")" "$n: deployed fingerprint"
	expect_eq "$(tstate $n .current_sha256)" "$(fp "$f")" "$n: current fingerprint"
	expect_eq "$(tstate $n .up_to_date)" true "$n up to date"
	expect_eq "$(tstate $n .agent)" host1 "$n: the agent in deploy status"
	# the key deployed is the certificate's own
	[ "$(openssl x509 -in "$f" -noout -pubkey)" = "$(openssl pkey -in agent/www/$n.key -pubout)" ] ||
		fail "$n: key and certificate do not match"
	[ "$(stat -c %a agent/www/$n.key)" = 600 ] || fail "$n: key file not 0600"
	# the key never reached the server: not in its row, not in its files
	expect_eq "$(sqlite3 "$T/srv/inv.db" "SELECT key IS NULL FROM managed WHERE name = '$n'")" 1 "$n: key in the store"
	body=$(sed -n '2p' agent/www/$n.key)
	! grep -rqF -- "$body" "$T/srv" || fail "$n: the private key is in the server's folder"
done
# the REST view says the same
ADMIN=$(ck token create --role admin --name it)
TOKEN=$ADMIN URL="https://localhost:$SP" ROOT="$T/root.pem"
expect_api 200 GET /api/v1/agents
jq -e '.items[0].host == "host1" and .items[0].managed == 2 and .items[0].state == "active"' "$T/body" >/dev/null ||
	{ cat "$T/body"; fail "agents list"; }
expect_api 200 GET /api/v1/managed/web2
jq -e --arg s "$(fp agent/www/web2.pem)" '.sha256 == $s' "$T/body" >/dev/null || { cat "$T/body"; fail "managed web2 over REST"; }

# (c) the local scan is in the server's inventory
wait_for 10 "the scan report" sh -c "\"$CERTKEEP\" show $SCANNED --json >/dev/null"
ck show "$SCANNED" --json | jq -e --arg p "agent:host1:$T/agent/scan/other.pem" \
	'[.locations[] | select(.kind == "agent" and .place == $p)] | length == 1' >/dev/null ||
	{ ck show "$SCANNED" --json; fail "scan location"; }
# (d) drift of an agent's target, from the agent's scan reports (sent
# here with curl and the agent's client certificate, as the agent sends
# them): the leaf deployed at web1.pem#1 is current; another there is drift
report() {
	p=$1
	shift
	items=""
	for c in "$@"; do
		d=$(openssl x509 -in "$c" -outform DER | base64 -w0)
		items="$items${items:+,}{\"path\":\"$p\",\"der\":\"$d\"}"
	done
	curl -sf --cacert "$T/root.pem" --cert agent/state/agent.pem --key agent/state/agent.pem \
		-H 'Content-Type: application/json' -d "{\"items\":[$items]}" \
		"https://localhost:$SP/api/v1/agent/scan" >/dev/null || fail "scan report refused"
}
W1=$T/agent/www/web1.pem
report "$W1" "$W1"
expect_eq "$(tstate web1 .drift)" false "web1: drift after a scan that saw it"
expect_eq "$(tstate web1 '.observed[0].place')" "agent:host1:$W1#1" "web1: the place observed"
expect_eq "$(tstate web1 '.observed[0].current')" true "web1: the leaf seen is current"
report "$W1" agent/scan/other.pem
expect_eq "$(tstate web1 .drift)" true "web1: another certificate in its file"
expect_eq "$(tstate web1 '.observed[0].sha256')" "$SCANNED" "web1: what the scan saw"
ck deploy status | grep -q "1 with drift" || { ck deploy status; fail "drift not counted"; }
ck audit list --json | jq -e '[.[] | select(.action == "agent.enrol")] | length == 1' >/dev/null || fail "enrol event"
ck audit list --json | jq -e '[.[] | select(.action == "deploy.ok" and .actor == "agent:host1")] | length == 2' >/dev/null ||
	fail "deploy events"
# the server does not deploy what an agent holds
expect_status 3 ck manage deploy web1
expect_grep "held by agent host1" "$T/err"

# the agent renews its own client certificate when a third of its life
# is left (its clock 25 of 30 days on); the old one is refused once the
# new one was used
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
# the server forgets a deployment (a database restored from a backup):
# the agent reports it again and does not deploy again
sqlite3 "$T/srv/inv.db" "UPDATE targets SET deployed_cert_id = NULL, state = 'new' WHERE managed = 'web1'"
M=$(stat -c %Y.%i agent/www/web1.pem)
expect_status 0 env -u CERTKEEP_DB "$CERTKEEP" agent run --server "https://localhost:$SP" \
	--dir "$T/agent/state" --once
expect_eq "$(tstate web1 .deployed_sha256)" "$(fp agent/www/web1.pem)" "web1 reported again"
expect_eq "$(stat -c %Y.%i agent/www/web1.pem)" "$M" "web1.pem rewritten"
cp agent/state/agent.pem old-agent.pem
OLD=$(sqlite3 "$T/srv/inv.db" "SELECT sha256 FROM agents WHERE host = 'host1'")
expect_status 0 env -u CERTKEEP_DB CERTKEEP_NOW=$(($(date +%s) + 25 * 86400)) "$CERTKEEP" agent run \
	--server "https://localhost:$SP" --dir "$T/agent/state" --once
expect_grep "client certificate renewed" "$T/err"
NEW=$(sqlite3 "$T/srv/inv.db" "SELECT sha256 || '/' || prev_sha256 FROM agents WHERE host = 'host1'")
[ "${NEW%/}" != "$OLD" ] && [ "${NEW#*/}" = "" ] || fail "agent certificate after renewal: $NEW (was $OLD)"
[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/root.pem" --cert old-agent.pem --key old-agent.pem \
	"https://localhost:$SP/api/v1/agent/work")" = 403 ] || fail "the old client certificate still works"

ck audit verify >/dev/null || fail "audit chain"
grep -q "client certificate enrolled" "$T/agent.log" || fail "agent log"
! grep -qE 'ERROR: (Leak|Address)Sanitizer|runtime error' "$T/agent.log" "$T/err" ||
	{ cat "$T/agent.log" "$T/err" >&2; fail "sanitizer report from the agent"; }
echo "ok: agent enrolled, made two keys, deployed two certificates across a server SIGKILL; server view matches; no key on the server; scan reported; drift of its targets"
