#!/bin/sh
# Faults of an upstream issuer, through the "command" connector and a CA
# script driven by openssl whose behaviour a MODE file selects: down
# (exit 75), slow (killed at the timeout), malformed output, a
# certificate for another key, one too short-lived for the renewal rule,
# one already expired. Each: the old certificate and files stay, the row
# says what happened, the job retries with growing backoff (no loop), a
# failing issuer trips its breaker and stops being called, and alerts
# grow in urgency as expiry nears. Then the CA recovers and all renew.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
# openssl signs at the real time, so the clock starts there
now=$(date +%s)
export CERTKEEP_NOW=$now
at() { off=$1; shift; CERTKEEP_NOW=$((now + off)) "$CERTKEEP" "$@"; }

mkroot ca "Script CA"
cat >ca.sh <<'SH'
#!/bin/sh
# A CA with a command-line tool: CSR on stdin, certificate and chain out.
d=$(dirname "$0")
echo "$CERTKEEP_OPERATION $CERTKEEP_NAMES" >>"$d/calls.log"
mode=$(cat "$d/MODE")
if [ "$CERTKEEP_OPERATION" = revoke ]; then
	cat >"$d/revoked.pem"
	echo "$CERTKEEP_REASON" >"$d/revoked.reason"
	exit 0
fi
cat >"$d/req.pem"
case $mode in
down) echo "upstream CA is down" >&2; exit 75 ;;
slow) sleep 30 ;;
garbage) printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'; exit 0 ;;
refuse) echo "policy: name not allowed" >&2; exit 1 ;;
otherkey) openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout /dev/null -subj /CN=other -out "$d/req.pem" 2>/dev/null ;;
esac
days=${DAYS:-30}
[ "$mode" = short ] && days=1
printf 'subjectAltName=DNS:%s\n' "$(echo "$CERTKEEP_NAMES" | sed 's/,/,DNS:/g')" >"$d/ext"
openssl x509 -req -in "$d/req.pem" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
	-CAcreateserial -days "$days" -extfile "$d/ext" 2>/dev/null || exit 1
cat "$d/ca.pem"
SH
chmod +x ca.sh
echo ok >MODE
expect_status 0 ck issuer add script --type command --command "$T/ca.sh" --timeout 2

# alerts of commands run without the daemon go to the config's channels:
# a webhook listener on 127.0.0.1 stores what it receives
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
trap 'kill $HOOK 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 1 100); do [ -s hook/port ] && break; sleep 0.1; done
printf '[notify.hook]\ntype = webhook\nurl = http://127.0.0.1:%s/\nformat = json\n' "$(cat hook/port)" >certkeep.conf
export CERTKEEP_CONFIG="$T/certkeep.conf"

# A first certificate, 30 days; renewal at two thirds (day 20).
expect_status 0 ck manage add app --issuer script --san app.test \
	--key-out "$T/app.key" --cert-out "$T/app.crt" --fullchain-out "$T/app.full"
openssl verify -CAfile ca.pem app.crt >/dev/null || fail "first certificate does not verify"
[ "$(openssl pkey -in app.key -pubout | sha256sum)" = "$(openssl x509 -in app.crt -pubkey -noout | sha256sum)" ] ||
	fail "key and certificate differ"
first=$(sha256sum <app.crt)
serial1=$(openssl x509 -in app.crt -noout -serial)

state() { ck manage show app | jq -r "$1"; }

# A certificate too short-lived for its rule (1 day, renew 30 days before
# expiry) is refused: taking it would renew again at once, in a loop.
echo short >MODE
expect_status 1 ck manage add tiny --issuer script --san tiny.test --renew-before 30d
expect_grep "too short-lived" "$T/err"
expect_eq "$(ck manage show tiny | jq -r .state)" pending "tiny state"
expect_status 0 ck manage retire tiny
echo ok >MODE
calls() { wc -l <calls.log; }
day=86400

# --- down: exit 75 ---
echo down >MODE
expect_status 1 at $((21 * day)) manage run
expect_grep "upstream CA is down" "$T/err"
expect_eq "$(state .state)" failing "state after a failed renewal"
expect_eq "$(state .failures)" 1 "failures"
expect_eq "$(state .last_alert)" "renewal_failed:info" "alert after one failure, early in the window"
cat hook/0*.json 2>/dev/null | jq -s -e '[.. | objects | select(.kind? == "renewal_failed" and .subject? == "app" and .state? == "renewal_failed:info")] | length == 1' >/dev/null ||
	fail "the webhook did not get the renewal_failed alert of manage run"
[ "$(sha256sum <app.crt)" = "$first" ] || fail "files changed by a failed renewal"
c=$(calls)
# no retry before the backoff: the same moment again calls nothing
expect_status 0 at $((21 * day)) manage run
expect_eq "$(calls)" "$c" "calls before the backoff ran out"
# the backoff grows: 1 min, 2 min, 4 min ...
t=$((21 * day))
prev=0
for k in 1 2 3; do
	next=$(ck manage jobs --json | jq -r '.[0].run_at')
	nsec=$(date -u -d "$next" +%s)
	gap=$((nsec - now - t))
	[ "$gap" -ge $((60 * (1 << (k - 1)))) ] || fail "backoff $k is $gap s"
	[ "$gap" -gt "$prev" ] || fail "backoff does not grow ($gap after $prev)"
	prev=$gap
	t=$((nsec - now))
	expect_status 1 at "$t" manage run
done
expect_eq "$(state .failures)" 4 "failures after 4 attempts"

# --- the breaker: a fifth consecutive failure opens it ---
next=$(date -u -d "$(ck manage jobs --json | jq -r '.[0].run_at')" +%s)
t=$((next - now))
expect_status 1 at "$t" manage run
expect_grep "issuer_down" "$T/err"
ck issuer show script >issuer.json
[ "$(jq -r .breaker_open_until issuer.json)" != null ] || fail "breaker not open"
c=$(calls)
# while it is open, other due work of that issuer is deferred, not tried
expect_status 0 at $((t + 200)) manage add other --issuer script --san other.test --queue
expect_status 0 at $((t + 200)) manage run --json
expect_eq "$(jq .deferred "$T/out")" 1 "deferred while the breaker is open"
expect_eq "$(calls)" "$c" "calls while the breaker is open"

# --- alerts grow with urgency as expiry (day 30) nears ---
expect_eq "$(state .last_alert)" "renewal_failed:warning" "alert after repeated failures"
echo refuse >MODE
expect_status 1 at $((26 * day)) manage run
expect_eq "$(state .last_alert)" "renewal_failed:warning" "alert past half the window"
expect_status 1 at $((29 * day)) manage run
expect_eq "$(state .last_alert)" "renewal_failed:critical" "alert near expiry"
expect_grep "policy: name not allowed" "$T/err"

# --- bad results: recorded nowhere as current, files untouched ---
for m in garbage otherkey short slow; do
	# "short" here: a 1-day certificate, expired at day 29
	echo $m >MODE
	start_s=$(date +%s)
	expect_status 1 at $((29 * day + 3600)) manage renew app --force
	case $m in
	garbage) expect_grep "malformed certificate" "$T/err" ;;
	otherkey) expect_grep "for another key" "$T/err" ;;
	short) expect_grep "an expired certificate" "$T/err" ;;
	slow)
		expect_grep "timed out after 2 s" "$T/err"
		[ $(( $(date +%s) - start_s )) -lt 10 ] || fail "slow issuer not killed at its timeout" ;;
	esac
	[ "$(sha256sum <app.crt)" = "$first" ] || fail "$m: files changed"
	expect_eq "$(state .sha256)" "$(openssl x509 -in app.crt -outform der | sha256sum | cut -d' ' -f1)" "$m: current certificate"
done

# --- recovery: the next run renews, files and row move on (90 days from
# the real time openssl signs at, so useful at day 29 of our clock) ---
echo ok >MODE
export DAYS=90
expect_status 0 at $((29 * day + 7200)) manage renew app --force
[ "$(sha256sum <app.crt)" != "$first" ] || fail "not renewed after recovery"
[ "$(openssl x509 -in app.crt -noout -serial)" != "$serial1" ] || fail "same serial"
[ "$(openssl pkey -in app.key -pubout | sha256sum)" = "$(openssl x509 -in app.crt -pubkey -noout | sha256sum)" ] ||
	fail "key and certificate differ after recovery"
expect_eq "$(state .state)" active "state after recovery"
expect_eq "$(state .failures)" 0 "failures after recovery"
expect_eq "$(state .last_alert)" "" "alert cleared after recovery"
ck issuer show script >issuer.json
expect_eq "$(jq -r .consecutive_failures issuer.json)" 0 "issuer failures after recovery"

# --- retire with revocation goes through the issuer ---
expect_status 0 at $((29 * day + 7300)) manage retire app --revoke --reason superseded
expect_eq "$(tail -1 calls.log | cut -d' ' -f1)" revoke "revoke call"
expect_eq "$(openssl x509 -in revoked.pem -noout -serial)" "$(openssl x509 -in app.crt -noout -serial)" "revoked certificate"
expect_eq "$(cat revoked.reason)" 4 "revocation reason (superseded)"
expect_eq "$(state .state)" retired "retired"
expect_eq "$(ck manage jobs --json | jq '[.[] | select(.subject == "app")] | length')" 0 "jobs left after retiring"
ck audit verify >/dev/null || fail "audit chain"
echo "ok: upstream faults"
