# certkeep's ACME server driven by lego (Debian's package): an account,
# a certificate for two names over real http-01 (lego's standalone
# responder on loopback, certkeep's validator pointed at it by
# [acme] http01_port and resolver = static:127.0.0.1), a forced renewal
# with a new key, and a revocation that certkeep's OCSP then reports.
# Every certificate is checked by `openssl verify` against the CA chain.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
command -v lego >/dev/null || { echo "SKIP: lego not installed"; exit 0; }
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		ss -ltn "sport = :$p" | grep -q LISTEN || { echo "$p"; return; }
	done
}
H01=$(free_port); ALPN=$(free_port)
export CERTKEEP_ACME_HTTP01_PORT=$H01 CERTKEEP_ACME_TLSALPN_PORT=$ALPN
export CERTKEEP_ACME_RESOLVER=static:127.0.0.1
# a second CA whose accounts need an External Account Binding
export CERTKEEP_ACME_EAB_REQUIRED=eabca
# No proxy and no system resolver for any of this: all on loopback.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*'
. "$HERE/serve-lib.sh"
start_serve
DIR="$URL/acme/certkeep/directory"
curl -sf --cacert "$ROOT" "$PURL/ca/certkeep.pem" >"$T/int.pem" || fail "intermediate not served"
cat "$T/int.pem" "$ROOT" >"$T/chain.pem"

# the directory and a nonce, as any client sees them
curl -sf --cacert "$ROOT" "$DIR" >"$T/dir.json" || fail "directory"
jq -e '.newNonce and .newAccount and .newOrder and .revokeCert and .keyChange and
	(.meta.externalAccountRequired == false)' "$T/dir.json" >/dev/null || fail "directory members"
curl -s --cacert "$ROOT" -I "$(jq -r .newNonce "$T/dir.json")" >"$T/h.txt"
expect_grep "HTTP/1.1 200" "$T/h.txt"
expect_grep "Replay-Nonce: " "$T/h.txt"
expect_grep "Cache-Control: no-store" "$T/h.txt"
expect_grep 'rel="index"' "$T/h.txt"
curl -s --cacert "$ROOT" -o /dev/null -w '%{http_code}' "$(jq -r .newNonce "$T/dir.json")" >"$T/code"
expect_eq "$(cat "$T/code")" 204 "GET newNonce"
curl -s --cacert "$ROOT" -o "$T/nf.json" -w '%{http_code}' "$URL/acme/nope/directory" >"$T/code"
expect_eq "$(cat "$T/code")" 404 "unknown CA"
jq -e '.type == "urn:ietf:params:acme:error:malformed"' "$T/nf.json" >/dev/null || fail "unknown CA problem"

# lego revokes each --domains' certificate: the second name only at issue
DOMAINS2="--domains www.a.example.test"
lego_run() {
	LEGO_CA_CERTIFICATES="$ROOT" timeout 120 lego --server "$DIR" --accept-tos \
		--email acme@example.test --path "$T/lego" --key-type ec256 \
		--domains a.example.test $DOMAINS2 \
		--http --http.port "127.0.0.1:$H01" "$@" >"$T/lego.log" 2>&1 ||
		{ cat "$T/lego.log" >&2; tail -5 "$T/serve.log" >&2; fail "lego $*"; }
}
verify() {
	openssl verify -CAfile "$ROOT" -untrusted "$T/int.pem" "$1" >/dev/null ||
		fail "$1 does not verify"
}
C="$T/lego/certificates/a.example.test"

# issue
t0=$(date +%s%N)
lego_run run
echo "lego run: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
verify "$C.crt"
openssl x509 -in "$C.crt" -noout -ext subjectAltName >"$T/san.txt"
expect_grep "DNS:a.example.test" "$T/san.txt"
expect_grep "DNS:www.a.example.test" "$T/san.txt"
S1=$(openssl x509 -in "$C.crt" -noout -serial)
grep -q "acme: http-01 a.example.test valid" "$T/serve.log" || { grep -i "http-01\|chall" "$T/serve.log" | head; fail "no http-01 validation logged"; }

# forced renewal: a new certificate with a new key
cp "$C.crt" "$T/first.pem"
t0=$(date +%s%N)
lego_run renew --days 9999 --no-random-sleep
echo "lego renew: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
verify "$C.crt"
S2=$(openssl x509 -in "$C.crt" -noout -serial)
[ "$S1" != "$S2" ] || fail "renewal gave the same certificate"

# revoke the renewed one; OCSP says revoked, the first is still good
cp "$C.crt" "$T/second.pem"
DOMAINS2=""
lego_run revoke
expect_grep "revoked" "$T/lego.log"
openssl ocsp -issuer "$T/int.pem" -cert "$T/second.pem" -url "$PURL/ocsp" -CAfile "$T/chain.pem" \
	>"$T/o1.txt" 2>&1 || { cat "$T/o1.txt"; fail "ocsp"; }
expect_grep ": revoked" "$T/o1.txt"
openssl ocsp -issuer "$T/int.pem" -cert "$T/first.pem" -url "$PURL/ocsp" -CAfile "$T/chain.pem" \
	>"$T/o2.txt" 2>&1 || { cat "$T/o2.txt"; fail "ocsp"; }
expect_grep ": good" "$T/o2.txt"

# the audit log has the account, the orders and the revocation
TOKEN=$(ck token create --role admin --name admin 2>/dev/null)
curl -sf --cacert "$ROOT" -H "Authorization: Bearer $TOKEN" "$URL/api/v1/events?limit=100" >"$T/ev.json"
jq -e '[.items[].action] | (index("acme.account") != null) and (index("acme.order") != null)' \
	"$T/ev.json" >/dev/null || { cat "$T/ev.json"; fail "audit events"; }

# tls-alpn-01: lego's responder on loopback answers acme-tls/1
t0=$(date +%s%N)
LEGO_CA_CERTIFICATES="$ROOT" timeout 120 lego --server "$DIR" --accept-tos \
	--email acme@example.test --path "$T/lego" --key-type ec256 \
	--domains alpn.example.test --tls --tls.port "127.0.0.1:$ALPN" run >"$T/lego.log" 2>&1 ||
	{ cat "$T/lego.log" >&2; tail -5 "$T/serve.log" >&2; fail "lego --tls"; }
echo "lego --tls run: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
verify "$T/lego/certificates/alpn.example.test.crt"
grep -q "acme: tls-alpn-01 alpn.example.test valid" "$T/serve.log" || fail "no tls-alpn-01 validation logged"

# External Account Binding: refused without, accepted with a key from
# `certkeep acme eab create`, which works for one account only
ck ca init eabca --parent certkeep-root >"$T/cainit.log" 2>&1 || { cat "$T/cainit.log"; fail "ca init eabca"; }
EDIR="$URL/acme/eabca/directory"
curl -sf --cacert "$ROOT" "$EDIR" | jq -e '.meta.externalAccountRequired == true' >/dev/null ||
	fail "eabca directory does not require EAB"
ck acme eab create --ca eabca --json >"$T/eab.json" || fail "eab create"
KID=$(jq -r .kid "$T/eab.json"); HMAC=$(jq -r .hmac "$T/eab.json")
ck acme eab create --ca nope >/dev/null 2>&1 && fail "eab key for an unknown CA"
RAWHEX=$(printf '%s=' "$HMAC" | tr '_-' '/+' | base64 -d | od -An -tx1 | tr -d ' \n')
expect_eq "${#RAWHEX}" 64 "EAB key length"
[ "$(sqlite3 "$T/inv.db" "select count(*) from acme_eab_keys where kid = '$KID'")" = 1 ] || fail "EAB key not stored"
# the database files' bytes hold the sealed key (found) but not the key
cat "$T/inv.db"* | od -An -tx1 | tr -d ' \n' >"$T/db.hex"
SEALED=$(sqlite3 "$T/inv.db" "select lower(hex(hmac_sealed)) from acme_eab_keys where kid = '$KID'")
grep -q "$SEALED" "$T/db.hex" || fail "sealed EAB key not found in the database bytes"
grep -q "$RAWHEX" "$T/db.hex" && fail "EAB key in clear in the database"
elego() {
	p=$1; shift
	LEGO_CA_CERTIFICATES="$ROOT" timeout 120 lego --server "$EDIR" --accept-tos \
		--email eab@example.test --path "$p" --key-type ec256 \
		--domains e.example.test --http --http.port "127.0.0.1:$H01" "$@" >"$T/elego.log" 2>&1
}
elego "$T/elego1" run && fail "account without EAB accepted"
expect_grep "External Account Binding" "$T/elego.log"
elego "$T/elego2" --eab --kid "$KID" --hmac "$HMAC" run || { cat "$T/elego.log"; fail "lego with EAB"; }
openssl verify -CAfile "$ROOT" -untrusted "$T/int.pem" \
	-untrusted "$T/elego2/certificates/e.example.test.issuer.crt" \
	"$T/elego2/certificates/e.example.test.crt" >/dev/null || fail "EAB certificate does not verify"
elego "$T/elego3" --eab --kid "$KID" --hmac "$HMAC" run && fail "EAB key used twice"
expect_grep "unauthorized" "$T/elego.log"

stop_serve
echo "ok t8000-acme-lego"
