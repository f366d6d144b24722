#!/bin/sh
# The daemon renews by itself: `certkeep serve` runs the lifecycle
# scheduler. A managed certificate queued with the CLI is issued within
# seconds (files written); a renewal that fails (the issuer is down) is
# retried later and its alert reaches a webhook listener (python3 on
# 127.0.0.1) as JSON, with its owner; the expiry rule alerts once for an
# imported certificate that expires in 5 days (after SIGHUP the channels
# are reloaded and nothing is sent again); a digest channel holds its
# alert for its digest; a channel that is down gets its alert retried
# later through the job queue; a revocation and a certificate stuck behind a
# lease nobody releases are alerted too.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"

mkdir -p hook
cat >hook.py <<'PY'
import http.server, os, sys
out = sys.argv[1]
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n[0] += 1
        with open(os.path.join(out, "%s-%03d.json" % (self.path.strip("/"), n[0])), "wb") as f:
            f.write(body)
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
trap 'st=$?; stop_serve; kill $HOOK 2>/dev/null || true; rm -rf "$T"; exit $st' EXIT
for _ in $(seq 1 100); do [ -s hook/port ] && break; sleep 0.1; done
HP=$(cat hook/port)
CLOSED=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >certkeep.conf <<CONF
[notify.pager]
type = webhook
url = http://127.0.0.1:$CLOSED/down
format = slack
kinds = renewal_failed

[notify.ops]
type = webhook
url = http://127.0.0.1:$HP/ops
format = json

[notify.digest]
type = webhook
url = http://127.0.0.1:$HP/digest
format = json
digest = 1h
kinds = expiring
CONF
export CERTKEEP_CONFIG="$T/certkeep.conf"

expect_status 0 ck ca init local
expect_status 0 ck issuer add builtin --type local --ca local
printf '#!/bin/sh\necho "CA offline" >&2\nexit 75\n' >down.sh
chmod +x down.sh
expect_status 0 ck issuer add offline --type command --command "$T/down.sh"
expect_status 0 ck manage add web --issuer builtin --san web.test \
	--key-out "$T/web.key" --cert-out "$T/web.crt" --queue
expect_status 0 ck manage add lost --issuer offline --san lost.test --owner team-x --queue
# a certificate nobody manages, expiring in 5 days
mkroot other "Other CA"
mkcert soon other 5 "/CN=soon.example.test" "subjectAltName=DNS:soon.example.test"
expect_status 0 ck import soon.pem

# all alert objects received on a channel, as one JSON array
alerts() { cat hook/"$1"-*.json 2>/dev/null | jq -s '[.. | objects | select(has("kind") and has("state"))]'; }
wait_for() { for _ in $(seq 1 100); do [ "$(alerts "$1" | jq "$2")" = true ] && return 0; sleep 0.1; done; alerts "$1" >&2; cat serve.log >&2; fail "$3"; }

start_serve || true
# the scheduler's first pass runs at start
for _ in $(seq 1 100); do [ -s web.crt ] && break; sleep 0.1; done
[ -s web.crt ] || { cat serve.log >&2; fail "the daemon did not issue the queued certificate"; }
openssl x509 -in web.crt -noout -ext subjectAltName | grep -q "DNS:web.test" || fail "wrong certificate"
expect_eq "$(ck manage show web | jq -r .state)" active "web state"

wait_for ops 'map(select(.kind == "renewal_failed" and .subject == "lost" and .owner == "team-x")) | length >= 1' \
	"no renewal_failed alert for lost with its owner"
expect_eq "$(ck manage show lost | jq -r .state)" pending "lost state"
# the pager channel is down: its alert waits in the queue for a retry
ck manage jobs --json >jobs.json
jq -e '[.[] | select(.kind == "notify" and (.subject | startswith("pager\n")))] | length == 1' jobs.json >/dev/null ||
	{ cat jobs.json >&2; fail "no notify retry queued for the pager channel"; }
jq -e '[.[] | select(.kind == "notify")][0].run_at > (now | todate)' jobs.json >/dev/null ||
	fail "notify retry not in the future"
ck manage jobs --json | jq -r '.[] | select(.subject == "lost") | .last_error' | grep -q "CA offline" ||
	fail "lost job without its error"

# the expiry rule: one alert for soon.example.test on the ops channel
wait_for ops 'map(select(.kind == "expiring")) | length == 1' "no single expiring alert"
expect_eq "$(alerts ops | jq -r 'map(select(.kind == "expiring"))[0].state')" 7d "expiring state"
before=$(ls hook | grep -c '^ops-')

# SIGHUP reloads the channels and wakes the scheduler: nothing is news
kill -HUP "$SERVE_PID"
sleep 2
expect_eq "$(ls hook | grep -c '^ops-')" "$before" "messages after a second pass"
# the digest channel (expiring only) sent one digest, and nothing else
expect_eq "$(ls hook | grep -c '^digest-')" 1 "digest messages"
expect_eq "$(alerts digest | jq -c 'map(.kind)')" '["expiring"]' "digest content"
expect_eq "$(ck manage jobs --json | jq '[.[] | select(.kind == "digest")] | length')" 0 "digest jobs left"

# a revocation is alerted (the audit log's cert.revoke, on the next pass)
expect_status 0 ck manage retire web --revoke --reason keyCompromise
kill -HUP "$SERVE_PID"
wait_for ops 'map(select(.kind == "revoked")) | length == 1' "no revoked alert"
stop_serve

# stuck: a job leased by a node that never finishes; two days later the
# daemon says the certificate is overdue (once, critical or warning)
expect_status 0 ck manage add stalled --issuer builtin --san stalled.test --owner team-y --queue
sqlite3 inv.db "UPDATE jobs SET lease_owner = 'gone-node', lease_until = 4102444800 WHERE subject = 'stalled'"
CERTKEEP_NOW=$(($(date +%s) + 2 * 86400)) start_serve
wait_for ops 'map(select(.kind == "stuck" and .subject == "stalled" and .owner == "team-y")) | length == 1' "no stuck alert"
expect_eq "$(ck manage show stalled | jq -r .state)" pending "stalled state"
stop_serve
echo "ok: the daemon renews and alerts"
