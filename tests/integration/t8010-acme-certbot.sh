# certkeep's ACME server driven by certbot (Debian's package): standalone
# http-01 on loopback for two names, a forced renewal, and a revocation
# that certkeep's OCSP then reports. Every certificate is checked by
# `openssl verify` against the CA chain.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
command -v certbot >/dev/null || { echo "SKIP: certbot not installed"; exit 0; }
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
start_serve
DIR="$URL/acme/certkeep/directory"
curl -sf --cacert "$ROOT" "$PURL/ca/certkeep.pem" >"$T/int.pem" || fail "intermediate not served"
cat "$T/int.pem" "$ROOT" >"$T/chain.pem"

cb() {
	REQUESTS_CA_BUNDLE="$ROOT" timeout 120 certbot "$@" --non-interactive \
		--server "$DIR" --config-dir "$T/cb/etc" --work-dir "$T/cb/work" \
		--logs-dir "$T/cb/log" >"$T/cb.log" 2>&1 ||
		{ cat "$T/cb.log" >&2; tail -5 "$T/serve.log" >&2; fail "certbot $1"; }
}
verify() {
	openssl verify -CAfile "$ROOT" -untrusted "$T/int.pem" "$1" >/dev/null ||
		fail "$1 does not verify"
}
L="$T/cb/etc/live/cb.example.test"

t0=$(date +%s%N)
cb certonly --agree-tos -m acme@example.test --standalone \
	--http-01-address 127.0.0.1 --http-01-port "$H01" \
	-d cb.example.test -d www.cb.example.test
echo "certbot certonly: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
verify "$L/cert.pem"
openssl verify -CAfile "$ROOT" -untrusted "$L/chain.pem" "$L/cert.pem" >/dev/null || fail "chain.pem"
openssl x509 -in "$L/cert.pem" -noout -ext subjectAltName >"$T/san.txt"
expect_grep "DNS:cb.example.test" "$T/san.txt"
expect_grep "DNS:www.cb.example.test" "$T/san.txt"
S1=$(openssl x509 -in "$L/cert.pem" -noout -serial)
cp "$L/cert.pem" "$T/first.pem"

t0=$(date +%s%N)
cb renew --cert-name cb.example.test --force-renewal --no-random-sleep-on-renew \
	--http-01-address 127.0.0.1 --http-01-port "$H01"
echo "certbot renew: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
verify "$L/cert.pem"
S2=$(openssl x509 -in "$L/cert.pem" -noout -serial)
[ "$S1" != "$S2" ] || fail "renewal gave the same certificate"
cp "$L/cert.pem" "$T/second.pem"

cb revoke --cert-path "$L/cert.pem" --reason keycompromise --no-delete-after-revoke
openssl ocsp -issuer "$T/int.pem" -cert "$T/second.pem" -url "$PURL/ocsp" -CAfile "$T/chain.pem" \
	>"$T/o1.txt" 2>&1 || { cat "$T/o1.txt"; fail "ocsp"; }
expect_grep ": revoked" "$T/o1.txt"
expect_grep "Reason: keyCompromise" "$T/o1.txt"
openssl ocsp -issuer "$T/int.pem" -cert "$T/first.pem" -url "$PURL/ocsp" -CAfile "$T/chain.pem" \
	>"$T/o2.txt" 2>&1 || { cat "$T/o2.txt"; fail "ocsp"; }
expect_grep ": good" "$T/o2.txt"

# revoking again is the RFC's alreadyRevoked, and certbot says so
REQUESTS_CA_BUNDLE="$ROOT" certbot revoke --cert-path "$T/second.pem" --non-interactive \
	--server "$DIR" --config-dir "$T/cb/etc" --work-dir "$T/cb/work" \
	--logs-dir "$T/cb/log" --no-delete-after-revoke >"$T/cb2.log" 2>&1 && fail "revoked twice"
grep -qi "already" "$T/cb2.log" "$T/cb/log/letsencrypt.log" || { cat "$T/cb2.log"; fail "no alreadyRevoked"; }

stop_serve
echo "ok t8010-acme-certbot"
