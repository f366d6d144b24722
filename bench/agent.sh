#!/usr/bin/env bash
# bench/agent.sh: one agent handling N certificates (default 1,000).
#
#   make bench-agent                                   (from the repo root)
#   CERTKEEP=build/release/certkeep bash bench/agent.sh
#
# What it does, in a temporary folder (KEEP=1 keeps it):
#  1. `certkeep ca init`, a local issuer, N managed certificates held by
#     agent host "bench" with one file target each (key and full chain,
#     1,000 to a folder), put in the store as `manage add --agent` and
#     `manage target add` would (SQL, like bench/deploy.sh).
#  2. `certkeep serve` on loopback; the agent enrols with a token.
#  3. The first full cycle, timed (`agent run --once`): the work list, then
#     per certificate a key made and written, a CSR sent and issued by the
#     server (enroll, one commit), key and chain kept, two files deployed
#     (staged, fsynced, renamed), the report kept and sent (one commit).
#  4. A second cycle with nothing to do, timed: the cost of a poll.
# Checked: every target deployed with the current certificate in the
# server's view, and for a sample the key file matches the certificate.
#
# Settings (environment): CERTKEEP, BENCH_AGENT_N (1000), KEEP=1.
set -euo pipefail
CERTKEEP=${CERTKEEP:-build/release/certkeep}
CERTKEEP=$(cd "$(dirname "$CERTKEEP")" && pwd)/$(basename "$CERTKEEP")
N=${BENCH_AGENT_N:-1000}
T=$(mktemp -d /tmp/ck-bench-agent.XXXXXX)
SERVE_PID=""
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
cd "$T"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key" NO_COLOR=1 CERTKEEP_DB="sqlite:$T/inv.db"
ck() { "$CERTKEEP" "$@"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
db() { sqlite3 "$T/inv.db" "$1"; }
clock=$(date +%s)

ck ca init bench >/dev/null
ck issuer add bench --type local --ca bench >/dev/null
python3 - "$T/inv.db" "$N" "$clock" "$T/agent/www" <<'PY'
import json, os, sqlite3, sys
db, n, now, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c = sqlite3.connect(db)
for i in range(n):
    c.execute("""INSERT INTO managed(name, cn, sans, key_type, issuer, profile, days,
        renew_frac, renew_before, reuse_key, owner, contact, tags, key_out, cert_out,
        chain_out, state, next_action, renew_at, created, updated, actor)
        VALUES (?, ?, ?, 'ec-p256', 'bench', 'tls-server', 90, 667, 0, 0, '', '', '',
        '', '', '', 'pending', ?, 0, ?, ?, 'bench')""",
        (f"a{i}", f"a{i}.agent.test", f"DNS:a{i}.agent.test", now + 86400, now, now))
    c.execute("INSERT INTO agent_assign(managed, host, created) VALUES (?, 'bench', ?)",
              (f"a{i}", now))
    d = os.path.join(out, str(i // 1000))
    os.makedirs(d, exist_ok=True)
    cfg = {"key": f"{d}/a{i}.key", "fullchain": f"{d}/a{i}.pem"}
    c.execute("INSERT INTO targets(managed, kind, config, created, actor) VALUES (?, 'file', ?, ?, 'bench')",
              (f"a{i}", json.dumps(cfg, sort_keys=True), now))
c.commit()
PY

ck serve --listen 127.0.0.1:0 --listen-plain 127.0.0.1:0 --data-dir "$T/var" \
	--workers 2 >"$T/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 100); do grep -q "serving https" "$T/serve.log" && break; sleep 0.1; done
PORT=$(sed -n 's/.*serving https on .* (port \([0-9]*\)), plain.*/\1/p' "$T/serve.log")
PPORT=$(sed -n 's/.*plain http on .* (port \([0-9]*\)).*/\1/p' "$T/serve.log")
curl -sf "http://127.0.0.1:$PPORT/ca/certkeep-root.pem" >"$T/root.pem"
TOKEN=$(ck agent token create --host bench)
agent() {
	env -u CERTKEEP_DB CERTKEEP_LOG_LEVEL=warn "$CERTKEEP" agent run \
		--server "https://localhost:$PORT" --dir "$T/agent/state" --cacert "$T/root.pem" \
		--once "$@"
}
# enrolment alone, so that the timed cycles are cycles
t0=$(now)
agent --token "$TOKEN" --interval 1 >/dev/null 2>&1 || true
t1=$(now)
ok=$(db "SELECT count(*) FROM targets t JOIN managed m ON m.name = t.managed WHERE t.state = 'deployed' AND t.deployed_cert_id = m.cert_id")
[ "$ok" = "$N" ] || { echo "bench/agent: $ok of $N deployed after the first cycle" >&2; exit 1; }
for i in 0 $((N / 2)) $((N - 1)); do
	f="$T/agent/www/$((i / 1000))/a$i"
	[ "$(openssl pkey -in "$f.key" -pubout | sha256sum)" = "$(openssl x509 -in "$f.pem" -pubkey -noout | sha256sum)" ] ||
		{ echo "bench/agent: a$i key and certificate differ" >&2; exit 1; }
done
[ "$(db "SELECT count(*) FROM managed WHERE key IS NOT NULL")" = 0 ] || { echo "bench/agent: a key on the server" >&2; exit 1; }
full=$(calc %.2f "$t1 - $t0")
echo "enrolment and first full cycle: $N certificates issued and deployed in $full s ($(calc %.1f "($t1 - $t0) * 1000 / $N") ms each, $(calc %.0f "$N / ($t1 - $t0)") per second)"
t0=$(now)
agent >/dev/null 2>&1
t1=$(now)
echo "idle cycle (work list of $N, nothing to do): $(calc %.3f "$t1 - $t0") s"
# a renewal of all of them: every certificate due, one cycle
db "UPDATE managed SET renew_at = 1"
t0=$(now)
agent >/dev/null 2>&1
t1=$(now)
ok=$(db "SELECT count(*) FROM targets t JOIN managed m ON m.name = t.managed WHERE t.state = 'deployed' AND t.deployed_cert_id = m.cert_id AND m.issued_count = 2")
[ "$ok" = "$N" ] || { echo "bench/agent: $ok of $N renewed and deployed" >&2; exit 1; }
echo "renewal cycle (all $N due): $(calc %.2f "$t1 - $t0") s ($(calc %.1f "($t1 - $t0) * 1000 / $N") ms each)"
