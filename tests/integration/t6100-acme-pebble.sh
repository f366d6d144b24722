# The ACME connector (src/issuer/acme*.c) against pebble, Let's Encrypt's
# test CA, on loopback: pebble and pebble-challtestsrv (fake DNS: every
# name is 127.0.0.1; TXT records set through its management API) start on
# free ports in $T, with External Account Binding required and pebble's
# default 5% badNonce rejection on. acme-probe (built here against
# libcertkeep.a) then: is refused without EAB; registers with EAB; issues
# with http-01 (standalone responder), twice (two different
# certificates), for an IP identifier, with dns-01 (a hook posting to
# challtestsrv) for a wildcard, and with tls-alpn-01, and once with the alternate chain of
# a preferred root; each certificate
# verifies with `openssl verify` against pebble's root and intermediate.
# Then it revokes one (pebble's management API says Revoked), rolls the
# account key over (the old key is refused, the new one issues) and asks
# for renewal information (pebble has none: UNAVAILABLE; a small fake
# directory then serves a window for the CertID computed here with
# openssl). The badNonce retries must have happened at least once.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/integration/lib.sh"
if ! command -v pebble >/dev/null 2>&1 || ! command -v pebble-challtestsrv >/dev/null 2>&1; then
	echo "SKIP: pebble or pebble-challtestsrv not installed"
	exit 0
fi
LIB=$(dirname "$CERTKEEP")/libcertkeep.a
[ -f "$LIB" ] || fail "no $LIB next to $CERTKEEP"
# This machine exports proxy variables; nothing here goes through one.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY

PIDS=""
cleanup() {
	st=$?
	set +e
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T"
	exit $st
}
trap cleanup EXIT INT TERM
START=$(date +%s)

# Seven distinct free loopback ports, bound together so none repeats.
# shellcheck disable=SC2046 # one word per port
set -- $(python3 -c 'import socket
ss = [socket.socket() for _ in range(7)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
PORT=$1 MGMT=$2 HTTP01=$3 TLSALPN=$4 DNS=$5 CTS=$6 FAKE=$7

SAN=""
nm "$LIB" 2>/dev/null | grep -q __asan_init && SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
# shellcheck disable=SC2046,SC2086 # pkg-config and SAN print words on purpose
cc -std=c17 -D_GNU_SOURCE $SAN -I"$REPO/src" -o "$T/probe" "$REPO/tests/integration/acme-probe.c" "$LIB" \
	$(pkg-config --libs libcrypto libssl sqlite3 libevent libevent_openssl libevent_pthreads inih jansson libcurl) \
	-lpthread -lm || fail "cannot build acme-probe"

# pebble's HTTPS listener, config and DNS server
. "$REPO/tests/integration/pebble-lib.sh"
pebble_setup t6100
# PEBBLE_WFE_NONCEREJECT unset: 5% of good nonces get badNonce.
# Two roots: every certificate also has an alternate chain (Link
# rel="alternate") up to the second root.
env -u PEBBLE_WFE_NONCEREJECT PEBBLE_VA_NOSLEEP=1 PEBBLE_ALTERNATE_ROOTS=1 \
	pebble -config pebble.json -dnsserver "127.0.0.1:$DNS" -strict=false >pebble.log 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 1 100); do
	curl -sf --cacert tls-ca.pem "https://127.0.0.1:$PORT/dir" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -sf --cacert tls-ca.pem "https://127.0.0.1:$PORT/dir" >/dev/null || { cat pebble.log; fail "pebble did not start"; }
curl -sf --cacert tls-ca.pem "https://127.0.0.1:$MGMT/roots/0" >root.pem
curl -sf --cacert tls-ca.pem "https://127.0.0.1:$MGMT/intermediates/0" >inter.pem
curl -sf --cacert tls-ca.pem "https://127.0.0.1:$MGMT/roots/1" >root1.pem
ROOT1_CN=$(openssl x509 -in root1.pem -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
[ -n "$ROOT1_CN" ] || fail "no second root from pebble"

export ACME_DIR="https://127.0.0.1:$PORT/dir" ACME_TRUST="$T/tls-ca.pem"
export EMAIL=t6100@example.test HTTP01_LISTEN="127.0.0.1:$HTTP01"
export TLSALPN_LISTEN="127.0.0.1:$TLSALPN"
mkdir acct noeab
RETRIES=0
# probe STATE ARGS...: runs acme-probe, output in $T/out
probe() {
	st=$1; shift
	set +e; timeout 60 "$T/probe" "$st" "$@" >"$T/out" 2>&1; got=$?; set -e
	n=$(sed -n 's/^nonce-retries //p' "$T/out")
	RETRIES=$((RETRIES + ${n:-0}))
	return $got
}
ok() { probe "$@" || { cat "$T/out" pebble.log >&2; fail "acme-probe $*"; }; }
verify() {
	openssl verify -CAfile root.pem -untrusted inter.pem -untrusted "$1.chain" "$1.crt" >verify.out 2>&1 ||
		{ cat verify.out; fail "$1.crt does not verify against pebble's root"; }
	for n in $2; do
		openssl x509 -in "$1.crt" -noout -ext subjectAltName | grep -q -- "$n" ||
			fail "$1.crt has no SAN $n"
	done
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

# No EAB: refused by the CA's directory, nothing stored.
if EAB_KID="" probe noeab issue noeab ec-p256 a.example.test; then fail "issued without EAB"; fi
expect_grep "error: INVAL: .*External Account Binding" "$T/out"
[ ! -s noeab/account.url ] || fail "an account URL was stored without EAB"

export EAB_KID=kid-1 EAB_HMAC=$HMAC
# http-01, standalone responder; the account is made and stored.
ok acct issue a ec-p256 a.example.test www.a.example.test
expect_grep "^account https://127.0.0.1:$PORT/" "$T/out"
[ -s acct/account.url ] && [ -s acct/account.key ] || fail "account not stored"
[ "$(stat -c %a acct/account.key)" = 600 ] || fail "account key not 0600"
verify a "a.example.test www.a.example.test"
# Again: the stored account is reused (no new one) and the certificate differs.
URL1=$(cat acct/account.url)
ok acct issue b ec-p256 a.example.test www.a.example.test
grep -q "^account " "$T/out" && fail "a second account was made"
verify b a.example.test
[ "$(fp a.crt)" != "$(fp b.crt)" ] || fail "two issues gave the same certificate"
# An IP identifier (RFC 8738) over http-01.
ok acct issue ip rsa-2048 127.0.0.1
verify ip "IP Address:127.0.0.1"

# The preferred chain: the alternate whose top issuer is the second root.
PREFERRED_CHAIN="$ROOT1_CN" ok acct issue alt ec-p256 alt.example.test
openssl verify -CAfile root1.pem -untrusted alt.chain alt.crt >verify.out 2>&1 ||
	{ cat verify.out; fail "alt.crt does not verify against the second root"; }
if openssl verify -CAfile root.pem -untrusted alt.chain alt.crt >/dev/null 2>&1; then
	fail "alt.crt came with the default chain"
fi

# dns-01 through the hook, for a wildcard and its base name.
cat >dns-hook.sh <<EOF
#!/bin/sh
echo "\$*" >>"$T/hook.log"
case "\$1" in
add) curl -sf --noproxy '*' -X POST -d "{\"host\":\"\$2\",\"value\":\"\$3\"}" http://127.0.0.1:$CTS/set-txt ;;
remove) curl -sf --noproxy '*' -X POST -d "{\"host\":\"\$2\"}" http://127.0.0.1:$CTS/clear-txt ;;
*) exit 1 ;;
esac
EOF
chmod +x dns-hook.sh
CHALLENGE=dns-01 DNS_HOOK="$T/dns-hook.sh" DNS_WAIT=0 ok acct issue wild ec-p384 '*.wild.example.test' wild.example.test
verify wild "DNS:\*.wild.example.test"
expect_grep "^add _acme-challenge.wild.example.test. " hook.log
expect_grep "^remove _acme-challenge.wild.example.test. " hook.log
[ "$(grep -c '^add ' hook.log)" = 2 ] && [ "$(grep -c '^remove ' hook.log)" = 2 ] ||
	{ cat hook.log; fail "dns hook not called twice each way"; }

# tls-alpn-01 on pebble's tlsPort.
CHALLENGE=tls-alpn-01 ok acct issue alpn rsa-3072 alpn.example.test
verify alpn alpn.example.test

# Revocation (keyCompromise), seen by pebble's management API.
ok acct revoke a.crt 1
SER=$(openssl x509 -in a.crt -noout -serial | sed 's/serial=//; s/^0*//' | tr 'A-F' 'a-f')
curl -sf --cacert tls-ca.pem "https://127.0.0.1:$MGMT/cert-status-by-serial/$SER" >status.json ||
	fail "no status for serial $SER"
jq -e '.Status == "Revoked"' status.json >/dev/null || { cat status.json; fail "a.crt not revoked"; }
curl -sf --cacert tls-ca.pem "https://127.0.0.1:$MGMT/cert-status-by-serial/$(openssl x509 -in b.crt -noout -serial | sed 's/serial=//; s/^0*//' | tr 'A-F' 'a-f')" >status.json
jq -e '.Status == "Valid"' status.json >/dev/null || { cat status.json; fail "b.crt not valid"; }
# Revoking it again: the CA refuses (alreadyRevoked), as INVAL.
if probe acct revoke a.crt 1; then fail "revoked twice"; fi
expect_grep "error: INVAL: .*alreadyRevoked" "$T/out"

# Key rollover: a new key, the same account; the old key is refused.
mkdir old && cp acct/account.url acct/account.key old/
ok acct rollover
expect_grep "^account $URL1\$" "$T/out"
cmp -s acct/account.key old/account.key && fail "the account key did not change"
ok acct issue c ec-p256 c.example.test
verify c c.example.test
if probe old issue x ec-p256 x.example.test; then fail "the old account key still works"; fi
expect_grep "error: INVAL" "$T/out"

# Renewal information: pebble has none.
if probe acct renewal-info b.crt; then fail "renewal info from pebble"; fi
expect_grep "error: UNAVAILABLE: .*renewalInfo" "$T/out"

# A fake directory with renewalInfo: the request must name b.crt by the
# RFC 9773 CertID computed here with openssl.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
AKI=$(openssl x509 -in b.crt -noout -ext authorityKeyIdentifier | sed -n 's/^ *\(keyid:\)\{0,1\}\([0-9A-F:]*\)$/\2/p' | tr -d ':\n')
SERHEX=$(openssl x509 -in b.crt -noout -serial | sed 's/serial=//')
[ $(( ${#SERHEX} % 2 )) = 1 ] && SERHEX="0$SERHEX"
case $SERHEX in [89A-F]*) SERHEX="00$SERHEX" ;; esac
CERTID="$(printf %s "$AKI" | xxd -r -p | b64url).$(printf %s "$SERHEX" | xxd -r -p | b64url)"
cat >fake.py <<EOF
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        base = "http://127.0.0.1:$FAKE"
        if self.path == "/dir":
            body = {"newNonce": base + "/n", "newAccount": base + "/a", "newOrder": base + "/o",
                    "renewalInfo": base + "/ri"}
        elif self.path == "/ri/$CERTID":
            body = {"suggestedWindow": {"start": "2030-01-02T03:04:05Z", "end": "2030-01-03T03:04:05.5Z"},
                    "explanationURL": "https://example.test/why"}
        else:
            self.send_response(404); self.end_headers(); return
        b = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "3600")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers(); self.wfile.write(b)
http.server.HTTPServer(("127.0.0.1", $FAKE), H).serve_forever()
EOF
python3 fake.py &
PIDS="$PIDS $!"
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$FAKE/dir" >/dev/null 2>&1 && break; sleep 0.1; done
ACME_DIR="http://127.0.0.1:$FAKE/dir" ok acct renewal-info b.crt
W=$(sed -n 's/^window //p' "$T/out")
set -- $W
expect_eq "$1 $2" "$(date -u -d 2030-01-02T03:04:05Z +%s) $(date -u -d 2030-01-03T03:04:05Z +%s)" "renewal window of b.crt"
NOW=$(date +%s)
[ "$4" -ge $((NOW + 3500)) ] && [ "$4" -le $((NOW + 3700)) ] || fail "retry-after $4 not about an hour away"

# badNonce: retried at least once over the run (5% of ~100 requests).
# A few cheap requests more if chance gave none yet.
for _ in $(seq 1 40); do
	[ "$RETRIES" -gt 0 ] && break
	ok acct rollover
done
[ "$RETRIES" -gt 0 ] || fail "no badNonce was retried"
grep -q "badNonce\|JWS has an invalid anti-replay nonce" pebble.log || true
echo "ok t6100: http-01, ip, dns-01 wildcard, tls-alpn-01, revoke, rollover, renewal info; $RETRIES badNonce retries; $(( $(date +%s) - START )) s"
