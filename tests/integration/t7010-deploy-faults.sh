#!/bin/sh
# Deployment faults, each leaving no half-written file, the old files in
# place, the target's state saying what happened, an audit event and an
# alert state: a target folder that is a file (ENOTDIR), a read-only
# mount, a full disk (a tiny tmpfs), a reload that hangs (killed at its
# timeout, with its process group), SIGKILL of `manage deploy` between two
# files and during a reload (a rerun after the lease completes). Then the
# PKCS#12 target (opened by openssl with the password file, modern and
# legacy algorithms) and the command target (the PEMs on stdin and in the
# environment); a failure's alert delivered to a webhook.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
MOUNTS=""
HOOK=""
cleanup() {
	[ -z "$HOOK" ] || kill "$HOOK" 2>/dev/null
	for m in $MOUNTS; do umount "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap 'st=$?; cleanup; exit $st' EXIT
now=$(date +%s)
export CERTKEEP_NOW=$now

fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }
current() { ck manage show "$1" | jq -r .sha256; }
tget() { ck manage target list "$1" --json | jq -r --argjson id "$2" ".[] | select(.id == \$id) | $3"; }
db() { sqlite3 "$T/inv.db" "$1"; }
tid() { sed 's/^target \([0-9]*\) added.*/\1/' "$T/out"; }
# pair KEY CERT: the key is the certificate's
pair() {
	[ "$(openssl pkey -in "$1" -pubout 2>/dev/null | sha256sum)" = "$(openssl x509 -in "$2" -pubkey -noout 2>/dev/null | sha256sum)" ]
}
# failed_ok NAME ID WHAT: the attempt failed, was recorded and alerted
failed_ok() {
	s=$(tget "$1" "$2" .state)
	[ "$s" = failed ] || [ "$s" = rolled_back ] || fail "$3: state $s"
	db "SELECT count(*) FROM events WHERE action IN ('deploy.failed', 'deploy.rolled_back') AND detail LIKE 'target $2 %'" | grep -qv '^0$' ||
		fail "$3: no audit event"
	[ "$(db "SELECT count(*) FROM alert_states WHERE key = 'deploy_failed:$1:$2'")" = 1 ] || fail "$3: no alert state"
}
no_tmp() { ! ls "$1"/*.ck-tmp >/dev/null 2>&1 || fail "temporary files left in $1"; }

ck ca init loc >/dev/null && ck issuer add loc --type local --ca loc >/dev/null || fail setup

# ---- a folder that is a file: nothing changes, not even the other file ----
expect_status 0 ck manage add app --issuer loc --san app.test --days 30
mkdir -p app && echo "not a folder" >app/notdir
expect_status 0 ck manage target add app --kind file --cert "$T/app/cert.pem" --key "$T/app/notdir/key.pem"
t=$(tid)
echo old-cert >app/cert.pem
expect_status 1 ck manage deploy app
expect_grep "Not a directory" "$T/out"
expect_eq "$(cat app/cert.pem)" old-cert "the other file of the target"
no_tmp app
failed_ok app "$t" "ENOTDIR"
tget app "$t" .last_result | grep -q "nothing changed" || fail "result: $(tget app "$t" .last_result)"
expect_status 0 ck manage target remove app "$t"

# ---- read-only and full file systems (tmpfs; needs root) ----
if [ "$(id -u)" = 0 ] && mkdir -p ro full && mount -t tmpfs -o size=1m tmpfs "$T/ro" 2>/dev/null; then
	MOUNTS="$T/ro"
	expect_status 0 ck manage target add app --kind file --cert "$T/ro/cert.pem" --key "$T/ro/key.pem" --reload true
	t=$(tid)
	expect_status 0 ck manage deploy app
	good=$(fp ro/cert.pem)
	expect_status 0 ck manage renew app --force
	expect_eq "$(fp ro/cert.pem)" "$(current app)" "deployed by the renewal"
	good=$(fp ro/cert.pem)
	mount -o remount,ro "$T/ro"
	expect_status 0 ck manage renew app --force
	expect_eq "$(fp ro/cert.pem)" "$good" "read-only: the old certificate stays"
	pair ro/key.pem ro/cert.pem || fail "read-only: key and certificate differ"
	failed_ok app "$t" "read-only"
	tget app "$t" .last_result | grep -q "Read-only file system" || fail "result: $(tget app "$t" .last_result)"
	mount -o remount,rw "$T/ro"
	expect_status 0 ck manage deploy app
	expect_eq "$(fp ro/cert.pem)" "$(current app)" "writable again: deployed"
	expect_eq "$(db "SELECT count(*) FROM alert_states WHERE key = 'deploy_failed:app:$t'")" 0 "alert state cleared"
	expect_status 0 ck manage target remove app "$t"

	mount -t tmpfs -o size=64k tmpfs "$T/full"
	MOUNTS="$MOUNTS $T/full"
	expect_status 0 ck manage target add app --kind file --fullchain "$T/full/full.pem" --key "$T/full/key.pem"
	t=$(tid)
	expect_status 0 ck manage deploy app
	good=$(fp full/full.pem)
	dd if=/dev/zero of=full/filler bs=1k 2>/dev/null || true
	expect_status 0 ck manage renew app --force
	expect_eq "$(fp full/full.pem)" "$good" "full disk: the old certificate stays"
	pair full/key.pem full/full.pem || fail "full disk: key and certificate differ"
	no_tmp full
	failed_ok app "$t" "full disk"
	tget app "$t" .last_result | grep -q "No space left on device" || fail "result: $(tget app "$t" .last_result)"
	expect_status 0 ck manage target remove app "$t"
else
	echo "skip: read-only and full file systems need root and tmpfs mounts"
fi

# ---- a reload that hangs: killed with its children at the timeout ----
mkdir -p hang
expect_status 0 ck manage target add app --kind file --cert "$T/hang/cert.pem" --key "$T/hang/key.pem"
t=$(tid)
expect_status 0 ck manage deploy app
good=$(fp hang/cert.pem)
expect_status 0 ck manage target remove app "$t"
expect_status 0 ck manage target add app --kind file --cert "$T/hang/cert.pem" --key "$T/hang/key.pem" \
	--reload "echo \$\$ >$T/hang/pid; sleep 37 & sleep 38; echo never" --reload-timeout 1
t=$(tid)
expect_status 0 ck manage renew app --force
start=$(date +%s)
expect_status 1 ck manage deploy app --force
[ $(( $(date +%s) - start )) -le 6 ] || fail "the hanging reload was not cut at its timeout"
expect_eq "$(tget app "$t" .state)" rolled_back "hung reload"
tget app "$t" .last_result | grep -q "killed after 1 s" || fail "result: $(tget app "$t" .last_result)"
expect_eq "$(fp hang/cert.pem)" "$good" "hung reload: the old certificate is back"
pair hang/key.pem hang/cert.pem || fail "hung reload: key and certificate differ"
sleep 0.2
pgrep -f "sleep 3[78]" >/dev/null && fail "the reload's processes survived"
failed_ok app "$t" "hung reload"
expect_status 0 ck manage target remove app "$t"

# ---- SIGKILL between two files, and during a reload ----
# (a certificate newer than the files: issued while the target was away)
mkdir -p kill
newer() { # TARGET-ADD-ARGS...: files hold an old certificate, a newer is current
	expect_status 0 ck manage target add app --kind file --key "$T/kill/key.pem" --cert "$T/kill/cert.pem" "$@"
	t=$(tid)
	expect_status 0 ck manage deploy app --force
	old=$(fp kill/cert.pem)
	expect_status 0 ck manage target remove app "$t"
	expect_status 0 ck manage renew app --force
	expect_status 0 ck manage target add app --kind file --key "$T/kill/key.pem" --cert "$T/kill/cert.pem" "$@"
	t=$(tid)
	[ "$old" != "$(current app)" ] || fail "kill: no newer certificate"
}
newer --reload true
# the deployer pauses after its first rename (the key) and is killed there
CERTKEEP_DEPLOY_TEST_PAUSE=5 "$CERTKEEP" manage deploy app >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 50); do [ "$(tget app "$t" .state)" = deploying ] && break; sleep 0.1; done
sleep 0.5
kill -KILL $pid
wait $pid 2>/dev/null || true
expect_eq "$(tget app "$t" .state)" deploying "the row after the kill"
# each file whole: the key new, the certificate still the old one
openssl pkey -in kill/key.pem -noout 2>/dev/null || fail "key file is not whole"
expect_eq "$(fp kill/cert.pem)" "$old" "killed between the files: the second is untouched"
pair kill/key.pem kill/cert.pem && fail "the kill did not land between the two files"
# (the second file's staged copy waits beside it, whole, until the rerun)
# the job is leased by the dead deployer: a second one stays away ...
expect_status 5 ck manage deploy app
expect_grep "already running" "$T/err"
# ... until the lease ran out; then the rerun completes
expect_status 0 env CERTKEEP_NOW=$((now + 700)) "$CERTKEEP" manage run --quiet
expect_eq "$(tget app "$t" .state)" deployed "after the rerun"
tget app "$t" .last_result | grep -q "after an interrupted attempt" || fail "result: $(tget app "$t" .last_result)"
expect_eq "$(fp kill/cert.pem)" "$(current app)" "rerun: current certificate"
pair kill/key.pem kill/cert.pem || fail "rerun: key and certificate differ"
no_tmp kill
expect_status 0 ck manage target remove app "$t"
# killed while its reload runs: every file is new; the rerun reloads
newer --reload "if [ -f $T/kill/slow ]; then sleep 31; fi; echo reloaded" --reload-timeout 60
touch kill/slow
"$CERTKEEP" manage deploy app >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 50); do pgrep -f "sleep 31" >/dev/null && break; sleep 0.1; done
kill -KILL $pid
wait $pid 2>/dev/null || true
pkill -KILL -f "sleep 31" 2>/dev/null || true # the orphaned reload (its own group)
expect_eq "$(fp kill/cert.pem)" "$(current app)" "killed during the reload: new files in place"
pair kill/key.pem kill/cert.pem || fail "killed during the reload: key and certificate differ"
expect_eq "$(tget app "$t" .state)" deploying "state after a kill during the reload"
rm kill/slow
expect_status 0 env CERTKEEP_NOW=$((now + 1400)) "$CERTKEEP" manage run --quiet
expect_eq "$(tget app "$t" .state)" deployed "after the rerun"
tget app "$t" .last_output | grep -q reloaded || fail "the rerun did not reload"
expect_status 0 ck manage target remove app "$t"

# ---- PKCS#12, modern and legacy ----
printf 's3cret pass\n' >pw && chmod 600 pw
expect_status 0 ck manage target add app --kind pkcs12 --p12 "$T/app.p12" --password-file "$T/pw"
tm=$(tid)
expect_status 0 ck manage target add app --kind pkcs12 --p12 "$T/legacy.p12" --password-file "$T/pw" --legacy --mode 0640
tl=$(tid)
expect_status 0 ck manage deploy app
expect_grep "2 deployed" "$T/out"
for f in app legacy; do
	openssl pkcs12 -in "$f.p12" -passin "file:$T/pw" -nodes -out "$f.pem" 2>/dev/null || fail "$f.p12 does not open"
	openssl x509 -in "$f.pem" -noout 2>/dev/null && pair "$f.pem" "$f.pem" || fail "$f.p12: key and certificate"
	expect_eq "$(fp "$f.pem")" "$(current app)" "$f.p12 holds the current certificate"
	openssl pkcs12 -in "$f.p12" -passin pass:wrong -nodes >/dev/null 2>&1 && fail "$f.p12 opens with a wrong password"
done
openssl pkcs12 -in app.p12 -passin "file:$T/pw" -info -noout >info 2>&1
grep -q "PBES2, PBKDF2, AES-256-CBC" info && grep -q "MAC: sha256" info || { cat info; fail "modern algorithms"; }
openssl pkcs12 -in legacy.p12 -passin "file:$T/pw" -info -noout >info 2>&1
grep -q "pbeWithSHA1And3-KeyTripleDES-CBC" info && grep -q "MAC: sha1" info || { cat info; fail "legacy algorithms"; }
expect_eq "$(stat -c %a app.p12) $(stat -c %a legacy.p12)" "600 640" "bundle modes"
expect_status 0 ck manage target remove app "$tm"
expect_status 0 ck manage target remove app "$tl"

# ---- command target: the PEMs on stdin and in the environment ----
cat >hook.sh <<'SH'
#!/bin/sh
d=$(dirname "$0")
cat >"$d/hook.stdin"
printf '%s' "$CERTKEEP_CERT_PEM" >"$d/hook.cert"
printf '%s' "$CERTKEEP_FULLCHAIN_PEM" >"$d/hook.full"
echo "$CERTKEEP_NAME $CERTKEEP_SHA256" >"$d/hook.env"
echo "uploaded to the appliance"
SH
chmod +x hook.sh
expect_status 0 ck manage target add app --kind command --command "$T/hook.sh"
tc=$(tid)
expect_status 0 ck manage deploy app
expect_eq "$(cat hook.env)" "app $(current app)" "command environment"
expect_eq "$(fp hook.cert)" "$(current app)" "CERTKEEP_CERT_PEM"
pair hook.stdin hook.cert || fail "the key on stdin is not the certificate's"
grep -c "BEGIN CERTIFICATE" hook.stdin | grep -q '^[2-9]' || fail "stdin lacks the chain"
[ "$(grep -c 'BEGIN CERTIFICATE' hook.full)" -ge 2 ] || fail "fullchain lacks the chain"
tget app "$tc" .last_output | grep -q "uploaded to the appliance" || fail "output not recorded"
# a failing command: failed, alerted, its output kept
printf '#!/bin/sh\necho "appliance said no" >&2\nexit 3\n' >hook.sh
expect_status 1 ck manage deploy app --force
failed_ok app "$tc" "command"
tget app "$tc" .last_result | grep -q "command exited 3" || fail "result: $(tget app "$tc" .last_result)"
tget app "$tc" .last_output | grep -q "appliance said no" || fail "stderr not recorded"

# a command whose reload fails is taken back by its --rollback script,
# then reloaded again: rolled_back, both runs' output kept
cat >up.sh <<'SH'
#!/bin/sh
cat >/dev/null
echo "$CERTKEEP_SHA256" >"$(dirname "$0")/appliance"
SH
cat >down.sh <<'SH'
#!/bin/sh
echo "previous $CERTKEEP_PHASE" >"$(dirname "$0")/appliance"
echo "rolled back on the appliance"
SH
chmod +x up.sh down.sh
expect_status 0 ck manage target add app --kind command --command "$T/up.sh" \
    --rollback "$T/down.sh" --reload 'echo "reload $CERTKEEP_PHASE"; [ "$CERTKEEP_PHASE" = rollback ]'
tr=$(tid)
expect_status 1 ck manage deploy app --target "$tr"
expect_eq "$(tget app "$tr" .state)" "rolled_back" "command target with --rollback"
expect_eq "$(cat appliance)" "previous rollback" "the rollback script's work"
tget app "$tr" .last_output | grep -q "rolled back on the appliance" || fail "rollback output not recorded"
tget app "$tr" .last_output | grep -q "reload rollback" || fail "no reload after the rollback"
failed_ok app "$tr" "command rolled back"
expect_status 0 ck manage target remove app "$tr"
# --rollback belongs to command targets: files are put back by certkeep
expect_status 2 ck manage target add app --kind file --cert "$T/x.pem" --rollback "$T/down.sh"
expect_grep "for command targets" "$T/err"

# the alert reaches the configured channels: a webhook on loopback gets
# deploy_failed for a second failing target
mkdir hook
cat >hook.py <<'PY'
import http.server, os, sys
out = sys.argv[1]
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n[0] += 1
        open(os.path.join(out, "%03d.json" % n[0]), "wb").write(body)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(os.path.join(out, "port.tmp"), "w").write(str(s.server_address[1]))
os.rename(os.path.join(out, "port.tmp"), os.path.join(out, "port"))
s.serve_forever()
PY
python3 hook.py "$T/hook" >hook.log 2>&1 &
HOOK=$!
for _ in $(seq 1 100); do [ -s hook/port ] && break; sleep 0.1; done
printf '[notify.hook]\ntype = webhook\nurl = http://127.0.0.1:%s/\nformat = json\n' "$(cat hook/port)" >certkeep.conf
printf '#!/bin/sh\necho "load balancer refused" >&2\nexit 4\n' >lb.sh
chmod +x lb.sh
expect_status 0 ck manage target add app --kind command --command "$T/lb.sh"
tl=$(tid)
CERTKEEP_CONFIG="$T/certkeep.conf" expect_status 1 ck manage deploy app --force
failed_ok app "$tl" "command behind a webhook"
cat hook/0*.json 2>/dev/null | jq -s -e --arg s "app:$tl" '[.. | objects | select(.kind? == "deploy_failed" and .subject? == $s)] | length >= 1' >/dev/null ||
	{ cat hook/0*.json 2>/dev/null; fail "the webhook did not get the deploy_failed alert"; }
cat hook/0*.json | grep -q "load balancer refused\|exited 4" || fail "the alert does not say why"
ck audit verify >/dev/null || fail "audit chain"
echo "ok: ENOTDIR, read-only, full disk, hung reload, kills mid-deploy, pkcs12 modern and legacy, command target and its rollback"
