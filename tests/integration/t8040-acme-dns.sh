# certkeep's ACME server with a real DNS server on loopback
# (pebble-challtestsrv, Debian's pebble package): [acme] resolver =
# dns:127.0.0.1:PORT. lego proves a wildcard and its base name by dns-01
# through its exec provider (TXT records published into challtestsrv);
# CAA (RFC 8659, [acme] caa_identities) accepts a name whose CAA names
# us, refuses one whose parent's CAA names another CA, a wildcard that
# issuewild forbids, and a name whose CAA lookup fails (SERVFAIL); http-01
# reaches lego through the A record the same DNS server gives.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
command -v lego >/dev/null || { echo "SKIP: lego not installed"; exit 0; }
command -v pebble-challtestsrv >/dev/null || { echo "SKIP: pebble-challtestsrv not installed"; exit 0; }
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		ss -ltnu "sport = :$p" | grep -q ":$p" || { echo "$p"; return; }
	done
}
H01=$(free_port); DNS=$(free_port); MGMT=$(free_port)
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*'
export CERTKEEP_ACME_HTTP01_PORT=$H01
export CERTKEEP_ACME_RESOLVER=dns:127.0.0.1:$DNS
export CERTKEEP_ACME_CAA_IDENTITIES="ca.example.test, other-name.example.test"

# the DNS server: A queries answer 127.0.0.1, no AAAA, TXT/CAA as set
pebble-challtestsrv -management "127.0.0.1:$MGMT" -dns01 "127.0.0.1:$DNS" \
	-http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
	>"$T/cts.log" 2>&1 &
CTS_PID=$!
. "$HERE/serve-lib.sh"
trap 'st=$?; kill "$CTS_PID" 2>/dev/null; stop_serve; rm -rf "$T"; exit $st' EXIT
cts() { curl -sf -X POST -d "$2" "http://127.0.0.1:$MGMT/$1" >/dev/null || fail "challtestsrv $1"; }
for _ in $(seq 1 50); do
	curl -s -o /dev/null "http://127.0.0.1:$MGMT/" 2>/dev/null && break
	sleep 0.1
done

# a bad resolver stops the server at start, naming the key
CERTKEEP_ACME_RESOLVER=dns:nowhere "$CERTKEEP" serve --listen 127.0.0.1:0 \
	--listen-plain 127.0.0.1:0 --data-dir "$T/var0" >"$T/bad.log" 2>&1 && fail "serve took a bad resolver"
expect_grep "resolver" "$T/bad.log"

start_serve
DIR="$URL/acme/certkeep/directory"
curl -sf --cacert "$ROOT" "$PURL/ca/certkeep.pem" >"$T/int.pem" || fail "intermediate not served"
curl -sf --cacert "$ROOT" "$DIR" >"$T/dir.json" || fail "directory"
jq -e '.meta.caaIdentities == ["ca.example.test", "other-name.example.test"]' "$T/dir.json" >/dev/null ||
	{ cat "$T/dir.json"; fail "caaIdentities not in the directory meta"; }

verify() {
	openssl verify -CAfile "$ROOT" -untrusted "$T/int.pem" "$1" >/dev/null ||
		fail "$1 does not verify"
}
# lego's exec provider: "present|cleanup FQDN VALUE" into challtestsrv
printf '%s\n' '#!/bin/sh' \
	"M=http://127.0.0.1:$MGMT" \
	'case "$1" in' \
	'present) curl -sf -X POST -d "{\"host\":\"$2\",\"value\":\"$3\"}" $M/set-txt ;;' \
	'cleanup) curl -sf -X POST -d "{\"host\":\"$2\"}" $M/clear-txt ;;' \
	'esac' >"$T/exec.sh"
chmod +x "$T/exec.sh"
# dlego PATH DOMAIN... : dns-01 through lego's exec provider
dlego() {
	p=$1; shift
	ds=""
	for d in "$@"; do ds="$ds --domains $d"; done
	# shellcheck disable=SC2086 # ds is words on purpose
	EXEC_PATH="$T/exec.sh" \
	EXEC_POLLING_INTERVAL=1 EXEC_PROPAGATION_TIMEOUT=5 EXEC_SEQUENCE_INTERVAL=1 \
	LEGO_CA_CERTIFICATES="$ROOT" timeout 120 lego --server "$DIR" --accept-tos \
		--email dns@example.test --path "$p" --key-type ec256 $ds \
		--dns exec --dns.resolvers "127.0.0.1:$DNS" --dns.disable-cp run >"$T/lego.log" 2>&1
}

# 1. a wildcard and its base name by dns-01; the wildcard's authorization
# is for the base name and offers dns-01 only
t0=$(date +%s%N)
dlego "$T/l1" '*.wild.example.test' wild.example.test ||
	{ cat "$T/lego.log" >&2; tail -20 "$T/serve.log" >&2; fail "lego dns-01 wildcard"; }
echo "lego dns-01 wildcard + base: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
C="$T/l1/certificates/_.wild.example.test.crt"
verify "$C"
openssl x509 -in "$C" -noout -ext subjectAltName >"$T/san.txt"
expect_grep "DNS:\*.wild.example.test" "$T/san.txt"
expect_grep "DNS:wild.example.test" "$T/san.txt"
grep -q "acme: dns-01 wild.example.test valid" "$T/serve.log" || { tail "$T/serve.log"; fail "no dns-01 validation logged"; }
[ "$(sqlite3 "$T/inv.db" "select count(*) from acme_authzs where value = 'wild.example.test' and wildcard = 1")" = 1 ] ||
	fail "no wildcard authorization row"
[ "$(sqlite3 "$T/inv.db" "select group_concat(c.type) from acme_challenges c join acme_authzs a on a.id = c.authz_id where a.wildcard = 1")" = dns-01 ] ||
	fail "a wildcard authorization offers more than dns-01"
[ "$(sqlite3 "$T/inv.db" "select group_concat(c.type, ' ') from acme_challenges c join acme_authzs a on a.id = c.authz_id where a.wildcard = 0 and a.value = 'wild.example.test'")" = "http-01 dns-01 tls-alpn-01" ] ||
	fail "the base name's challenges"

# 2. a TXT record with another value: dns-01 refused (incorrectResponse)
cts set-txt '{"host":"_acme-challenge.wrong.example.test.","value":"not-the-key-authorization"}'
EXEC_PATH=/bin/true EXEC_POLLING_INTERVAL=1 EXEC_PROPAGATION_TIMEOUT=2 \
EXEC_SEQUENCE_INTERVAL=1 LEGO_CA_CERTIFICATES="$ROOT" timeout 120 lego --server "$DIR" --accept-tos \
	--email dns@example.test --path "$T/l2" --key-type ec256 --domains wrong.example.test \
	--dns exec --dns.resolvers "127.0.0.1:$DNS" --dns.disable-cp run >"$T/lego.log" 2>&1 &&
	fail "dns-01 with a wrong TXT value accepted"
expect_grep "incorrectResponse" "$T/lego.log"

# 3. CAA: a name whose CAA names us gets its certificate ...
cts add-caa '{"host":"caa-yes.example.test","policies":[{"tag":"issue","value":"ca.example.test; account=1"},{"tag":"issuewild","value":";"}]}'
dlego "$T/l3" caa-yes.example.test || { cat "$T/lego.log" >&2; fail "CAA naming us refused"; }
verify "$T/l3/certificates/caa-yes.example.test.crt"
# ... and so does a name below another that names our second identity
cts add-caa '{"host":"second.example.test","policies":[{"tag":"issue","value":"other-name.example.test"}]}'
dlego "$T/l3b" deep.below.second.example.test || { cat "$T/lego.log" >&2; fail "CAA at a grandparent naming us refused"; }
# ... but the wildcard under it is refused: issuewild ";" forbids all
dlego "$T/l4" '*.caa-yes.example.test' && fail "wildcard issued despite issuewild ;"
expect_grep "urn:ietf:params:acme:error:caa" "$T/lego.log"
expect_grep "issuewild" "$T/lego.log"
# a name whose parent's CAA names another CA is refused at finalize
cts add-caa '{"host":"caa-no.example.test","policies":[{"tag":"issue","value":"letsencrypt.org"}]}'
dlego "$T/l5" sub.caa-no.example.test && fail "issued despite CAA naming another CA"
expect_grep "urn:ietf:params:acme:error:caa" "$T/lego.log"
expect_grep "caa-no.example.test" "$T/lego.log"
# one refused name refuses the whole order: no name is skipped
dlego "$T/l6" fine.example.test other.caa-no.example.test && fail "order with one CAA-refused name issued"
expect_grep "urn:ietf:params:acme:error:caa" "$T/lego.log"
# a lookup that fails (SERVFAIL at the parent) refuses too
cts set-servfail '{"host":"sf.example.test"}'
dlego "$T/l7" a.sf.example.test && fail "issued although the CAA lookup failed"
expect_grep "urn:ietf:params:acme:error:caa" "$T/lego.log"
expect_grep "server failure or timeout" "$T/lego.log"
n=$(sqlite3 "$T/inv.db" "select count(*) from acme_orders where cert_id is not null and
	(identifiers like '%caa-no%' or identifiers like '%sf.example.test%' or identifiers like '%*.caa-yes%')")
expect_eq "$n" 0 "certificates issued for refused names"

# 4. http-01 reaches lego at the address the DNS server gives (A record)
LEGO_CA_CERTIFICATES="$ROOT" timeout 120 lego --server "$DIR" --accept-tos \
	--email dns@example.test --path "$T/l8" --key-type ec256 --domains h.example.test \
	--http --http.port "127.0.0.1:$H01" run >"$T/lego.log" 2>&1 ||
	{ cat "$T/lego.log" >&2; fail "lego http-01 through dns: resolver"; }
verify "$T/l8/certificates/h.example.test.crt"
# an A query that fails makes http-01 fail with a dns problem
cts set-servfail '{"host":"hsf.example.test"}'
LEGO_CA_CERTIFICATES="$ROOT" timeout 120 lego --server "$DIR" --accept-tos \
	--email dns@example.test --path "$T/l9" --key-type ec256 --domains hsf.example.test \
	--http --http.port "127.0.0.1:$H01" run >"$T/lego.log" 2>&1 && fail "http-01 without an address"
expect_grep "urn:ietf:params:acme:error:dns" "$T/lego.log"

stop_serve
echo "ok t8040-acme-dns"
