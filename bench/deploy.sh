#!/usr/bin/env bash
# bench/deploy.sh: file deployments at scale, and what fsync costs them.
#
#   make bench-deploy                                  (from the repo root)
#   CERTKEEP=build/release/certkeep bash bench/deploy.sh
#
# What it does, in a temporary folder (KEEP=1 keeps it):
#  1. `certkeep ca init`, a local issuer, N managed certificates
#     (BENCH_DEPLOY_N, default 10,000) put in the store as `manage add
#     --queue` would (SQL, like t6040) and issued by one `manage run`.
#  2. one file target each (key, certificate, full chain; 1,000 to a
#     folder; reload `true`), and a deploy job each: the state a renewal
#     leaves. `certkeep manage run` then deploys them all, timed. A
#     deployment: the key unsealed, the chain read, three files staged
#     (written, fchmod, fsync), the row marked deploying (a commit), the old
#     files linked to .ck-prev and the new renamed over them, the folder
#     fsynced, the reload forked and waited for, the outcome recorded with
#     an audit event (a commit), the job done (a commit).
#  3. the same again with CERTKEEP_DEPLOY_FSYNC=0 (no fsync of the files
#     and folders; the store's commits still sync): the difference is the
#     cost of fsync per deployment.
#  4. the same with fsync and no reload command: the cost of the fork and
#     exec of `sh -c true`.
# Checked after each round: every target deployed with the current
# certificate, and for a sample the key file matches the certificate file.
#
# Settings (environment): CERTKEEP, BENCH_DEPLOY_N (10000), KEEP=1.
set -euo pipefail
CERTKEEP=${CERTKEEP:-build/release/certkeep}
CERTKEEP=$(cd "$(dirname "$CERTKEEP")" && pwd)/$(basename "$CERTKEEP")
N=${BENCH_DEPLOY_N:-10000}
T=$(mktemp -d /tmp/ck-bench-deploy.XXXXXX)
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi; }
trap cleanup EXIT
cd "$T"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key" NO_COLOR=1 CERTKEEP_DB="sqlite:$T/inv.db"
ck() { "$CERTKEEP" "$@"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
db() { sqlite3 "$T/inv.db" "$1"; }
clock=$(date +%s)
export CERTKEEP_NOW=$clock

ck ca init bench >/dev/null
ck issuer add bench --type local --ca bench >/dev/null
python3 - "$T/inv.db" "$N" "$clock" <<'PY'
import sqlite3, sys
db, n, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db)
for i in range(n):
    c.execute("""INSERT INTO managed(name, cn, sans, key_type, issuer, profile, days,
        renew_frac, renew_before, reuse_key, owner, contact, tags, key_out, cert_out,
        chain_out, state, next_action, renew_at, created, updated, actor)
        VALUES (?, ?, ?, 'ec-p256', 'bench', 'tls-server', 90, 667, 0, 0, '', '', '',
        '', '', '', 'pending', ?, 0, ?, ?, 'bench')""",
        (f"d{i}", f"d{i}.deploy.test", f"DNS:d{i}.deploy.test", now, now, now))
    c.execute("INSERT INTO jobs(kind, subject, run_at, created) VALUES ('renew', ?, ?, ?)",
              (f"d{i}", now, now))
c.commit()
PY
t0=$(now)
ck manage run --quiet >/dev/null 2>&1 || true
t1=$(now)
issued=$(db "SELECT count(*) FROM managed WHERE state = 'active'")
[ "$issued" = "$N" ] || { echo "bench/deploy: $issued of $N issued" >&2; exit 1; }
echo "setup: $N certificates issued in $(calc %.1f "$t1 - $t0") s"

# targets: RELOAD is the reload command ("" for none)
targets() {
	python3 - "$T/inv.db" "$N" "$clock" "$T/out" "$1" <<'PY'
import json, os, sqlite3, sys
db, n, now, out, reload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
c = sqlite3.connect(db)
c.execute("DELETE FROM targets")
c.execute("DELETE FROM jobs WHERE kind = 'deploy'")
for i in range(n):
    d = os.path.join(out, str(i // 1000))
    os.makedirs(d, exist_ok=True)
    cfg = {"key": f"{d}/d{i}.key", "cert": f"{d}/d{i}.crt", "fullchain": f"{d}/d{i}.full"}
    if reload:
        cfg["reload"] = reload
    c.execute("INSERT INTO targets(managed, kind, config, created, actor) VALUES (?, 'file', ?, ?, 'bench')",
              (f"d{i}", json.dumps(cfg, sort_keys=True), now))
    c.execute("INSERT INTO jobs(kind, subject, run_at, created) VALUES ('deploy', ?, ?, ?)",
              (f"d{i}", now, now))
c.commit()
PY
}

check() {
	local ok
	ok=$(db "SELECT count(*) FROM targets t JOIN managed m ON m.name = t.managed WHERE t.state = 'deployed' AND t.deployed_cert_id = m.cert_id")
	[ "$ok" = "$N" ] || { echo "bench/deploy: $ok of $N deployed" >&2; db "SELECT state, last_result FROM targets WHERE state != 'deployed' LIMIT 3" >&2; exit 1; }
	for i in 0 1 $((N / 2)) $((N - 1)); do
		f="$T/out/$((i / 1000))/d$i"
		[ "$(openssl pkey -in "$f.key" -pubout | sha256sum)" = "$(openssl x509 -in "$f.crt" -pubkey -noout | sha256sum)" ] ||
			{ echo "bench/deploy: d$i key and certificate differ" >&2; exit 1; }
	done
}

# round LABEL RELOAD [ENV...]: prints deployments/s and us per deployment
declare -A RATE US
round() {
	local label=$1 reload=$2; shift 2
	targets "$reload"
	sync
	local a b
	a=$(now)
	env "$@" "$CERTKEEP" manage run --quiet >/dev/null 2>&1 || true
	b=$(now)
	check
	RATE[$label]=$(calc %.0f "$N / ($b - $a)")
	US[$label]=$(calc %.0f "($b - $a) * 1e6 / $N")
	echo "$label: $N deployments in $(calc %.2f "$b - $a") s"
}
round fsync true
round nofsync true CERTKEEP_DEPLOY_FSYNC=0
round noreload "" 

echo
echo "bench/deploy: $N file deployments (key, certificate, full chain), $(nproc) cores, $(df -T "$T" | awk 'NR == 2 { print $2 }') at $T"
printf '%-34s %14s %16s\n' "" "deployments/s" "us/deployment"
printf '%-34s %14s %16s\n' "with fsync, reload 'true'" "${RATE[fsync]}" "${US[fsync]}"
printf '%-34s %14s %16s\n' "without fsync, reload 'true'" "${RATE[nofsync]}" "${US[nofsync]}"
printf '%-34s %14s %16s\n' "with fsync, no reload" "${RATE[noreload]}" "${US[noreload]}"
echo "fsync costs $(calc %.0f "${US[fsync]} - ${US[nofsync]}") us per deployment (3 files and the folder);" \
	"the reload's fork and exec $(calc %.0f "${US[fsync]} - ${US[noreload]}") us"
