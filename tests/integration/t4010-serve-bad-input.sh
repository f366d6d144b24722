# certkeep serve against bad input: malformed JSON, wrong content type,
# unknown fields, oversized bodies and headers, a body that never
# finishes, paths with ".." or NUL, bad, revoked and wrong-role tokens.
# Each gets the right status (with a problem document where the server
# answers itself) and changes nothing: the audit log and the inventory
# are the same afterwards.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"
cat >"$T/certkeep.conf" <<CONF
[limits]
max_header_bytes = 2048
max_body_bytes = 4096
request_timeout = 2s
idle_timeout = 2s
CONF
export CERTKEEP_CONFIG="$T/certkeep.conf"
start_serve
TOKEN=$(ck token create --role admin --name admin 2>/dev/null)
AUD=$(ck token create --role auditor --name aud 2>/dev/null)
ENR=$(ck token create --role enroller --name enr --pattern '*.example.com' 2>/dev/null)
OLD=$(ck token create --role admin --name old 2>/dev/null)
ck token revoke old >/dev/null

before_events=$(ck audit list --json | jq length)
before_certs=$(ck list --json | jq length)

problem() { # STATUS TYPE: the last body is that problem document
	jq -e --arg t "urn:certkeep:problem:$2" --argjson s "$1" \
		'.type == $t and .status == $s and (.detail | length > 0)' "$T/body" >/dev/null ||
		{ cat "$T/body" >&2; fail "want problem $1 $2"; }
}
J='Content-Type: application/json'
I=/api/v1/cas/certkeep/issue

expect_api 400 POST $I -H "$J" -d '{"profile": "tls-server", '; problem 400 malformed
expect_api 400 POST $I -H "$J" -d '[1,2]'; problem 400 malformed
expect_api 400 POST $I -H "$J" -d '{"profile":"tls-server","cn":"x.example.com","colour":"red"}'
problem 400 malformed
grep -q "unknown field 'colour'" "$T/body" || fail "unknown field named"
expect_api 400 POST $I -H "$J" -d '{"profile":"tls-server","profile":"email","cn":"x.example.com"}'
problem 400 malformed
expect_api 415 POST $I -H 'Content-Type: text/plain' -d '{"profile":"tls-server","cn":"x"}'
problem 415 unsupported-media-type
expect_api 400 POST $I -H "$J" -d '{"profile":"no-such","cn":"x.example.com"}'
expect_api 400 POST $I -H "$J" -d '{"profile":"tls-server","cn":"x.example.com","key_type":"rsa-1024"}'
expect_api 404 POST /api/v1/cas/nope/issue -H "$J" -d '{"profile":"tls-server","cn":"x.example.com"}'
expect_api 400 GET "/api/v1/certificates?colour=red"; problem 400 bad-request
expect_api 400 GET "/api/v1/certificates?limit=0"
expect_api 405 DELETE /api/v1/cas; problem 405 method-not-allowed
expect_api 404 GET /api/v1/nothing-here; problem 404 not-found

# oversized body and headers: refused before any handler runs
head -c 5000 /dev/zero | tr '\0' a >"$T/big"
got=$(api POST $I -H "$J" --data-binary @"$T/big")
expect_eq "$got" 413 "oversized body"
problem 413 too-large
got=$(api GET /api/v1/cas -H "X-Filler: $(head -c 3000 /dev/zero | tr '\0' b)")
expect_eq "$got" 431 "oversized headers"
problem 431 headers-too-large
# far past the limits libevent's parser stops reading (a plain 400/413)
got=$(api GET /api/v1/cas -H "X-Filler: $(head -c 70000 /dev/zero | tr '\0' b)")
case "$got" in 400|413|431) ;; *) fail "huge header: status $got";; esac

# paths that try to escape
for p in "/api/v1/../v1/cas" "/api/v1/cas/%2e%2e" "/api/v1/cas/a%00b" "/api/v1/cas/a%2Fb" "/crl/..%2Fx.crl"; do
	got=$(curl -s -o "$T/body" -w '%{http_code}' --path-as-is --cacert "$ROOT" \
		-H "Authorization: Bearer $TOKEN" "$URL$p")
	expect_eq "$got" 400 "path $p"
	problem 400 malformed
done

# credentials: none, garbage, revoked, wrong role, enroller outside its pattern
got=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$ROOT" "$URL/api/v1/stats")
expect_eq "$got" 401 "no token"; problem 401 unauthorized
TOKEN=ck_not-a-real-token expect_api 401 GET /api/v1/stats; problem 401 unauthorized
TOKEN=$OLD expect_api 401 GET /api/v1/stats
grep -q "revoked" "$T/body" || fail "revoked token not named"
TOKEN=$AUD expect_api 403 POST $I -H "$J" -d '{"profile":"tls-server","cn":"x.example.com"}'
problem 403 forbidden
TOKEN=$AUD expect_api 403 GET /api/v1/tokens
TOKEN=$ENR expect_api 403 GET /api/v1/certificates
TOKEN=$ENR expect_api 403 POST $I -H "$J" -d '{"profile":"tls-server","cn":"www.other.org"}'
problem 403 forbidden
TOKEN=$AUD expect_api 200 GET /api/v1/stats

# nothing above changed anything
expect_eq "$(ck audit list --json | jq length)" "$before_events" "audit events"
expect_eq "$(ck list --json | jq length)" "$before_certs" "certificates"

# an enroller inside its pattern may issue
TOKEN=$ENR expect_api 201 POST $I -H "$J" -d '{"profile":"tls-server","cn":"ok.example.com","sans":["ok.example.com"]}'

# a body that never finishes, and an idle connection: dropped at the
# timeout (2 s), and the server still answers others meanwhile
python3 - "$PPORT" <<'PY' || fail "slow client not dropped"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: 100\r\n\r\nabc")
s.settimeout(6)
t = time.time()
try:
    data = s.recv(4096)
except socket.timeout:
    sys.exit("still open after 6 s")
if time.time() - t > 5:
    sys.exit("closed late")
PY
expect_eq "$(curl -s "$PURL/healthz")" "ok" "healthz after slow client"
