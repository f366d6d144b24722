# certkeep's ACME server driven by dehydrated (Debian's package, bash and
# curl): account, a certificate for two names over http-01 from a
# webroot served on loopback by python3's http.server, a forced renewal,
# and a revocation that certkeep's OCSP then reports.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
command -v dehydrated >/dev/null || { echo "SKIP: dehydrated not installed"; exit 0; }
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		ss -ltn "sport = :$p" | grep -q LISTEN || { echo "$p"; return; }
	done
}
H01=$(free_port)
export CERTKEEP_ACME_HTTP01_PORT=$H01 CERTKEEP_ACME_RESOLVER=static:127.0.0.1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*'
. "$HERE/serve-lib.sh"
WEB_PID=""
trap 'st=$?; [ -z "$WEB_PID" ] || kill "$WEB_PID" 2>/dev/null; stop_serve; rm -rf "$T"; exit $st' EXIT
start_serve
curl -sf --cacert "$ROOT" "$PURL/ca/certkeep.pem" >"$T/int.pem" || fail "intermediate not served"
cat "$T/int.pem" "$ROOT" >"$T/chain.pem"

mkdir -p "$T/www/.well-known/acme-challenge" "$T/dh"
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$H01" >"$T/web.log" 2>&1 &
WEB_PID=$!
cat >"$T/dh/config" <<CONF
BASEDIR=$T/dh
CA="$URL/acme/certkeep/directory"
CHALLENGETYPE="http-01"
WELLKNOWN="$T/www/.well-known/acme-challenge"
CURL_OPTS="--cacert $ROOT --noproxy *"
CONTACT_EMAIL="acme@example.test"
KEY_ALGO=prime256v1
CONF
dh() {
	timeout 120 dehydrated --config "$T/dh/config" "$@" >"$T/dh.log" 2>&1 ||
		{ cat "$T/dh.log" >&2; tail -5 "$T/serve.log" >&2; fail "dehydrated $*"; }
}
verify() {
	openssl verify -CAfile "$ROOT" -untrusted "$T/int.pem" "$1" >/dev/null ||
		fail "$1 does not verify"
}
L="$T/dh/certs/dh.example.test"

dh --register --accept-terms
t0=$(date +%s%N)
dh --cron --domain dh.example.test --domain www.dh.example.test
echo "dehydrated --cron: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
verify "$L/cert.pem"
openssl verify -CAfile "$ROOT" -untrusted "$L/chain.pem" "$L/cert.pem" >/dev/null || fail "chain.pem"
openssl x509 -in "$L/cert.pem" -noout -ext subjectAltName >"$T/san.txt"
expect_grep "DNS:www.dh.example.test" "$T/san.txt"
S1=$(openssl x509 -in "$L/cert.pem" -noout -serial)
cp "$L/cert.pem" "$T/first.pem"

dh --cron --force --domain dh.example.test --domain www.dh.example.test
verify "$L/cert.pem"
S2=$(openssl x509 -in "$L/cert.pem" -noout -serial)
[ "$S1" != "$S2" ] || fail "renewal gave the same certificate"
cp "$L/cert.pem" "$T/second.pem"

cp "$T/second.pem" "$T/to-revoke.pem"
dh --revoke "$T/to-revoke.pem"  # renames it to .revoked
openssl ocsp -issuer "$T/int.pem" -cert "$T/second.pem" -url "$PURL/ocsp" -CAfile "$T/chain.pem" \
	>"$T/o1.txt" 2>&1 || { cat "$T/o1.txt"; fail "ocsp"; }
expect_grep ": revoked" "$T/o1.txt"
openssl ocsp -issuer "$T/int.pem" -cert "$T/first.pem" -url "$PURL/ocsp" -CAfile "$T/chain.pem" \
	>"$T/o2.txt" 2>&1 || { cat "$T/o2.txt"; fail "ocsp"; }
expect_grep ": good" "$T/o2.txt"
stop_serve
echo "ok t8030-acme-dehydrated"
