# certkeep's ACME server refuses every bad input of RFC 8555 with the
# RFC's problem type and changes nothing: replayed and unknown nonces, url
# mismatch, unknown kid, algorithms that do not suit the key, signatures
# that do not verify, payloads that are not JSON or too large, bad
# identifiers, finalize before validation, a challenge answered with
# another key's key authorization, a CSR with an extra name, other
# accounts' resources, revocation by another account, wildcards'
# authorizations (dns-01 only), renewalInfo and bad "replaces", keyChange
# with mismatched keys and a key another account holds, authorization
# deactivation, profiles (listed, chosen, refused when not offered),
# http-01 redirects (followed through paths, http and
# https; refused to another port and past 10), and (the server's clock
# moved 8 days) an expired order
# and authorization. The client is
# tests/integration/acme-bad.py (Debian's python3-cryptography).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
/usr/bin/python3 -c 'import cryptography, requests' 2>/dev/null ||
	{ echo "SKIP: python3-cryptography or python3-requests missing"; exit 0; }
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		ss -ltn "sport = :$p" | grep -q LISTEN || { echo "$p"; return; }
	done
}
H01=$(free_port); TLS=$(free_port)
export CERTKEEP_ACME_HTTP01_PORT=$H01 CERTKEEP_ACME_RESOLVER=static:127.0.0.1
# https for http-01's redirects goes to the tls-alpn-01 port
export CERTKEEP_ACME_TLSALPN_PORT=$TLS ACME_BAD_TLS_PORT=$TLS
. "$HERE/serve-lib.sh"
# two ACME profiles: tls-server (the default) and a user-defined one
printf '[acme]\nprofiles = tls-server, short\n\n[profile.short]\nbase = tls-server\nmax_days = 7\n' >"$T/certkeep.conf"
export CERTKEEP_CONFIG="$T/certkeep.conf"
start_serve
curl -sf --cacert "$ROOT" "$PURL/ca/certkeep.pem" >"$T/int.pem" || fail "intermediate not served"
cat "$T/int.pem" "$ROOT" >"$T/chain.pem"

/usr/bin/python3 "$HERE/acme-bad.py" "$URL/acme/certkeep/directory" "$ROOT" "$H01" >"$T/bad.log" 2>&1 ||
	{ cat "$T/bad.log"; tail -5 "$T/serve.log"; fail "acme-bad.py"; }
expect_grep "all bad inputs refused" "$T/bad.log"
grep -c "^ok " "$T/bad.log" | { read -r n; [ "$n" -ge 40 ] || fail "only $n checks ran"; }

# nothing changed by the refusals: two accounts (one deactivated), four
# orders (b's wildcard order left pending, a's invalid one, a's valid
# one, a's order replacing it, the one whose authorization a deactivated,
# the three of http-01's redirects, none from bad requests), one
# certificate, revoked for keyCompromise
q() { sqlite3 "$T/inv.db" "$1"; }
expect_eq "$(q "select group_concat(status) from (select status from acme_accounts order by id)")" \
	"valid,deactivated" "accounts"
expect_eq "$(q "select group_concat(status) from (select status from acme_orders order by id)")" \
	"pending,invalid,valid,pending,invalid,ready,invalid,invalid" "orders"
expect_eq "$(q "select count(*) from acme_orders where cert_id is not null")" 1 "certificates"
openssl verify -CAfile "$ROOT" -untrusted "$T/int.pem" "$T/acme-bad-cert.pem" >/dev/null ||
	fail "certificate does not verify"
openssl ocsp -issuer "$T/int.pem" -cert "$T/acme-bad-cert.pem" -url "$PURL/ocsp" -CAfile "$T/chain.pem" \
	>"$T/o.txt" 2>&1 || { cat "$T/o.txt"; fail "ocsp"; }
expect_grep "Reason: keyCompromise" "$T/o.txt"

# eight days on (the server's clock moved), the order left pending and
# its authorization have expired: shown so, and nothing uses them
stop_serve
CERTKEEP_NOW=$(( $(date +%s) + 8 * 86400 )) start_serve
/usr/bin/python3 "$HERE/acme-bad.py" "$URL/acme/certkeep/directory" "$ROOT" "$H01" --expired \
	>"$T/exp.log" 2>&1 || { cat "$T/exp.log"; tail -5 "$T/serve.log"; fail "acme-bad.py --expired"; }
expect_grep "expired order and authorization refused" "$T/exp.log"
cat "$T/bad.log" "$T/exp.log" | grep -c "^ok " | { read -r n; echo "acme-bad.py: $n checks"; }
stop_serve
echo "ok t8020-acme-bad-input"
