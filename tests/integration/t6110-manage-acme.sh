#!/bin/sh
# Managed certificates from an ACME CA, end to end through the command
# line: pebble (Let's Encrypt's test CA) and pebble-challtestsrv on
# loopback, EAB required, 5% badNonce on. `certkeep issuer add --type
# acme` with EAB; `certkeep manage add` issues with http-01 (built-in
# responder), files verify against pebble's roots with `openssl verify`;
# `manage renew --force` twice gives a new certificate and key each time
# (the account is made once and reused); the account key rolls over
# and still issues; a dns-01 issuer (hook posting to
# challtestsrv) and a tls-alpn-01 issuer issue too; `manage retire
# --revoke` revokes through ACME and pebble's management API says so.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/integration/lib.sh"
if ! command -v pebble >/dev/null 2>&1 || ! command -v pebble-challtestsrv >/dev/null 2>&1; then
	echo "SKIP: pebble or pebble-challtestsrv not installed"
	exit 0
fi
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
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

# shellcheck disable=SC2046 # one word per port
set -- $(python3 -c 'import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
PORT=$1 MGMT=$2 HTTP01=$3 TLSALPN=$4 DNS=$5 CTS=$6

. "$REPO/tests/integration/pebble-lib.sh"
pebble_setup t6110
env -u PEBBLE_WFE_NONCEREJECT PEBBLE_VA_NOSLEEP=1 \
	pebble -config pebble.json -dnsserver "127.0.0.1:$DNS" -strict=false >pebble.log 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 1 100); do
	curl -sf --cacert tls-ca.pem "https://127.0.0.1:$PORT/dir" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -sf --cacert tls-ca.pem "https://127.0.0.1:$MGMT/roots/0" >root.pem || { cat pebble.log; fail "pebble did not start"; }
DIR="https://127.0.0.1:$PORT/dir"
printf '%s\n' "$HMAC" >eab.key
chmod 600 eab.key

verify() {
	openssl verify -CAfile root.pem -untrusted "$1.full" "$1.crt" >verify.out 2>&1 ||
		{ cat verify.out pebble.log >&2; fail "$1.crt does not verify against pebble's root"; }
	[ "$(openssl pkey -in "$1.key" -pubout | sha256sum)" = "$(openssl x509 -in "$1.crt" -pubkey -noout | sha256sum)" ] ||
		fail "$1: key and certificate differ"
	openssl x509 -in "$1.crt" -noout -ext subjectAltName | grep -q -- "$2" || fail "$1.crt has no SAN $2"
}

# an issuer without EAB is refused by pebble, and nothing is issued
expect_status 0 ck issuer add noeab --type acme --directory "$DIR" --trust tls-ca.pem \
	--http01-listen "127.0.0.1:$HTTP01"
expect_status 1 ck manage add refused --issuer noeab --san refused.example.test
expect_grep "xternal" "$T/err"

expect_status 0 ck issuer add pebble --type acme --directory "$DIR" --trust tls-ca.pem \
	--email t6110@example.test --eab-kid kid-1 --eab-hmac-file eab.key \
	--http01-listen "127.0.0.1:$HTTP01"
expect_status 0 ck manage add www --issuer pebble --san www.example.test --san example.test \
	--key-out "$T/www.key" --cert-out "$T/www.crt" --fullchain-out "$T/www.full"
verify www DNS:www.example.test
ck issuer show pebble >iss.json
acct=$(jq -r .account_url iss.json)
case $acct in https://127.0.0.1:$PORT/*) ;; *) fail "no account URL stored: $acct" ;; esac
jq -e '.has_secrets' iss.json >/dev/null || fail "account key not stored"
grep -q -e "PRIVATE" -e "$HMAC" iss.json && fail "a secret is shown"

# renewals: a new certificate and a new key each time, the same account
serials=$(openssl x509 -in www.crt -noout -serial)
keys=$(openssl pkey -in www.key -pubout | sha256sum)
for _ in 1 2; do
	expect_status 0 ck manage renew www --force
	verify www DNS:www.example.test
	s=$(openssl x509 -in www.crt -noout -serial)
	k=$(openssl pkey -in www.key -pubout | sha256sum)
	case "$serials" in *"$s"*) fail "renewal gave an old certificate" ;; esac
	case "$keys" in *"$k"*) fail "renewal kept the key" ;; esac
	serials="$serials $s" keys="$keys $k"
done
expect_eq "$(ck manage show www | jq .issued_count)" 3 "issuances of www"
expect_eq "$(ck issuer show pebble | jq -r .account_url)" "$acct" "account reused"

# key rollover: the same account, a new sealed key that issues
sealed() { sqlite3 inv.db "SELECT hex(secrets) FROM issuers WHERE name = 'pebble'"; }
before=$(sealed)
expect_status 0 ck issuer rollover pebble
[ "$(sealed)" != "$before" ] || fail "account key not replaced"
expect_eq "$(ck issuer show pebble | jq -r .account_url)" "$acct" "account after rollover"
expect_status 0 ck manage renew www --force
verify www DNS:www.example.test
expect_status 2 ck issuer rollover noeab

# dns-01 through a hook, for a wildcard
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
expect_status 0 ck issuer add pebble-dns --type acme --directory "$DIR" --trust tls-ca.pem \
	--eab-kid kid-1 --eab-hmac-file eab.key --challenge dns-01 --dns-hook "$T/dns-hook.sh" --dns-wait 0
expect_status 0 ck manage add wild --issuer pebble-dns --san '*.wild.example.test' \
	--key-type ec-p384 --key-out "$T/wild.key" --cert-out "$T/wild.crt" --fullchain-out "$T/wild.full"
verify wild 'DNS:\*.wild.example.test'
expect_grep "^add _acme-challenge.wild.example.test. " hook.log

# tls-alpn-01
expect_status 0 ck issuer add pebble-alpn --type acme --directory "$DIR" --trust tls-ca.pem \
	--eab-kid kid-1 --eab-hmac-file eab.key --challenge tls-alpn-01 --tls-alpn-listen "127.0.0.1:$TLSALPN"
expect_status 0 ck manage add alpn --issuer pebble-alpn --san alpn.example.test \
	--key-type rsa-2048 --key-out "$T/alpn.key" --cert-out "$T/alpn.crt" --fullchain-out "$T/alpn.full"
verify alpn DNS:alpn.example.test

# move www to the dns-01 issuer: its next renewal goes through it
expect_status 0 ck manage move --issuer pebble --to-issuer pebble-dns --rate 100
expect_status 0 ck manage run
expect_eq "$(ck manage show www | jq -r .issuer)" pebble-dns "issuer after the move"
verify www DNS:www.example.test
grep -q "^add _acme-challenge.www.example.test. " hook.log || fail "moved renewal did not use dns-01"

# retire with revocation: pebble's status says Revoked
serial=$(openssl x509 -in alpn.crt -noout -serial | sed 's/serial=//; s/^0*//' | tr 'A-F' 'a-f')
expect_status 0 ck manage retire alpn --revoke --reason keyCompromise
curl -sf --cacert tls-ca.pem "https://127.0.0.1:$MGMT/cert-status-by-serial/$serial" >status.json ||
	fail "no status from pebble for $serial"
expect_eq "$(jq -r .Status status.json)" Revoked "pebble status"
ck audit verify >/dev/null || fail "audit chain"
echo "ok: managed certificates from pebble"
