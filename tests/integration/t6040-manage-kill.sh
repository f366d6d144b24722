#!/bin/sh
# SIGKILL in the middle of renewals: `certkeep manage run` over 2,000
# managed certificates (batches of 20) is killed once some, not all, are
# done. Then a run after the leases ran out finishes the rest. Every
# managed certificate ends active with exactly one issuance (none lost,
# none twice), each key file matches its certificate file, each
# certificate file is the managed row's current certificate, and no file
# is half-written. The kill is retried on a fresh inventory with another
# delay when it landed before the first or after the last commit.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
N=${KILL_N:-2000}
now=$(date +%s)
export CERTKEEP_NOW=$now

setup() {
	rm -rf "$T/run" && mkdir -p "$T/run/out"
	export CERTKEEP_DB="sqlite:$T/run/inv.db" CERTKEEP_MASTER_KEY_FILE="$T/run/master.key"
	ck ca init k >/dev/null && ck issuer add k --type local --ca k >/dev/null || fail setup
	python3 - "$T/run/inv.db" "$N" "$T/run/out" "$now" <<'PY'
import sqlite3, sys
db, n, out, now = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
c = sqlite3.connect(db)
# the rows `manage add --queue` makes (a loop of 2,000 processes would
# take longer than the test), plus their jobs
for i in range(n):
    c.execute("""INSERT INTO managed(name, cn, sans, key_type, issuer, profile, days,
        renew_frac, renew_before, reuse_key, owner, contact, tags, key_out, cert_out,
        chain_out, state, next_action, renew_at, created, updated, actor)
        VALUES (?, ?, ?, 'ec-p256', 'k', 'tls-server', 30, 667, 0, 0, '', '', '',
        ?, ?, '', 'pending', ?, 0, ?, ?, 'test')""",
        (f"c{i}", f"c{i}.kill.test", f"DNS:c{i}.kill.test", f"{out}/c{i}.key",
         f"{out}/c{i}.crt", now, now, now))
    c.execute("INSERT INTO jobs(kind, subject, run_at, created) VALUES ('renew', ?, ?, ?)",
              (f"c{i}", now, now))
c.commit()
PY
}
active() { sqlite3 "$T/run/inv.db" "SELECT count(*) FROM managed WHERE state = 'active'"; }

landed=""
for delay in 0.6 0.3 1.2 0.15 2.5; do
	setup
	"$CERTKEEP" manage run --batch 20 --quiet >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	a=$(active)
	echo "killed after ${delay}s: $a of $N done"
	if [ "$a" -gt 0 ] && [ "$a" -lt "$N" ]; then landed=$delay; break; fi
done
[ -n "$landed" ] || fail "the kill never landed mid-run"
# some jobs are leased by the dead process: they come back after the lease
expect_status 0 env CERTKEEP_NOW=$((now + 700)) "$CERTKEEP" manage run --quiet
expect_eq "$(active)" "$N" "active after the rerun"

python3 - "$T/run/inv.db" "$T/run/out" <<'PY' || fail "state after the kill"
import base64, hashlib, os, sqlite3, sys
db, out = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
bad = 0
rows = c.execute("""SELECT m.name, m.issued_count, lower(hex(x.sha256)), m.written_cert_id = m.cert_id
                    FROM managed m JOIN certificates x ON x.id = m.cert_id""").fetchall()
for name, count, sha, written in rows:
    if count != 1:
        print(f"{name}: issued {count} times"); bad += 1
    if not written:
        print(f"{name}: files not marked written"); bad += 1
    pem = open(os.path.join(out, name + ".crt")).read()
    b64 = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
    if hashlib.sha256(base64.b64decode(b64)).hexdigest() != sha:
        print(f"{name}: certificate file is not the current certificate"); bad += 1
    key = open(os.path.join(out, name + ".key")).read()
    if not (key.startswith("-----BEGIN PRIVATE KEY-----") and key.rstrip().endswith("-----END PRIVATE KEY-----")):
        print(f"{name}: key file incomplete"); bad += 1
leaves = c.execute("SELECT count(*) FROM certificates WHERE is_ca = 0").fetchone()[0]
if len(rows) != leaves:
    print(f"{leaves} certificates recorded for {len(rows)} managed"); bad += 1
sys.exit(1 if bad else 0)
PY
# keys match certificates (openssl, a sample across the range)
for i in 0 1 7 $((N / 3)) $((N / 2)) $((N - 2)) $((N - 1)); do
	[ "$(openssl pkey -in "$T/run/out/c$i.key" -pubout | sha256sum)" = \
		"$(openssl x509 -in "$T/run/out/c$i.crt" -pubkey -noout | sha256sum)" ] ||
		fail "c$i: key and certificate differ"
done
echo "ok: killed after ${landed}s, resumed, nothing lost or doubled"
