# certkeep serve end to end with curl and openssl: every REST route, the
# server certificate trusted from the built-in CA, OCSP over GET and POST
# judged by `openssl ocsp -url`, the served CRL read by `openssl crl`,
# /metrics in valid Prometheus text format, SIGTERM exits 0.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"
start_serve
TOKEN=$(ck token create --role admin --name admin 2>/dev/null)

# health, readiness, the server certificate from the built-in CA
expect_eq "$(curl -s "$PURL/healthz")" "ok" "healthz"
curl -sf --cacert "$ROOT" "$URL/readyz" | jq -e '.status == "ready"' >/dev/null || fail "readyz"
openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$ROOT" \
	-verify_return_error </dev/null >"$T/sc.txt" 2>&1 || { cat "$T/sc.txt"; fail "TLS handshake"; }
expect_grep "Verify return code: 0 (ok)" "$T/sc.txt"
openssl x509 -in "$T/sc.txt" -noout -subject -ext subjectAltName >"$T/names.txt"
expect_grep "CN = localhost" "$T/names.txt"
expect_eq "$(sed -n 's/^ *DNS/DNS/p' "$T/names.txt")" "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" "server certificate names"
openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 </dev/null >/dev/null 2>&1 && fail "TLS 1.1 accepted"

# CAs
expect_api 200 GET /api/v1/cas
jq -e '.items | map(.name) | index("certkeep") != null' "$T/body" >/dev/null || fail "cas list"
expect_api 200 GET /api/v1/cas/certkeep
jq -e '.parent == "certkeep-root"' "$T/body" >/dev/null || fail "ca get"
expect_api 200 GET "/api/v1/cas/certkeep?format=pem"
cp "$T/body" "$T/int.pem"
expect_api 404 GET /api/v1/cas/nope
jq -e '.status == 404 and (.type | startswith("urn:certkeep:problem:"))' "$T/body" >/dev/null || fail "problem document"

# issue from a CSR made by openssl, and from a name with the key made here
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/a.key" \
	-out "$T/a.csr" -subj "/CN=a.example.com" -addext "subjectAltName=DNS:a.example.com" 2>/dev/null
jq -n --rawfile csr "$T/a.csr" '{profile: "tls-server", csr: $csr}' >"$T/req.json"
expect_api 201 POST /api/v1/cas/certkeep/issue -H 'Content-Type: application/json' --data-binary @"$T/req.json"
jq -r .certificate "$T/body" >"$T/a.pem"
AID=$(jq -r .id "$T/body")
openssl verify -CAfile "$ROOT" -untrusted "$T/int.pem" "$T/a.pem" >/dev/null || fail "issued cert does not verify"
expect_api 201 POST /api/v1/cas/certkeep/issue -H 'Content-Type: application/json' \
	-d '{"profile":"tls-client","cn":"b.example.com","sans":["b.example.com"],"key_type":"ec-p384"}'
jq -r .certificate "$T/body" >"$T/b.pem"
jq -r .private_key "$T/body" >"$T/b.key"
BID=$(jq -r .id "$T/body")
[ "$(openssl x509 -in "$T/b.pem" -noout -pubkey | openssl sha256)" = \
  "$(openssl pkey -in "$T/b.key" -pubout | openssl sha256)" ] || fail "returned key does not match"
expect_api 201 POST /api/v1/cas/certkeep/issue -H 'Content-Type: application/json' \
	-d '{"profile":"tls-server","cn":"c.example.com","key_format":"pkcs12","password":"correct horse"}'
jq -r .pkcs12 "$T/body" | base64 -d >"$T/c.p12"
openssl pkcs12 -in "$T/c.p12" -passin pass:"correct horse" -nodes 2>/dev/null | grep -q "BEGIN PRIVATE KEY" || fail "pkcs12"

# certificates: list, filters, paging, one as JSON/PEM/chain, locations
expect_api 200 GET "/api/v1/certificates?name=a.example.com"
expect_eq "$(jq -r '.items[0].id' "$T/body")" "$AID" "filter by name"
expect_api 200 GET "/api/v1/certificates?ca=true&limit=1"
expect_eq "$(jq -r '.items | length' "$T/body")" 1 "limit"
NEXT=$(jq -r .next "$T/body")
expect_api 200 GET "/api/v1/certificates?ca=true&limit=1&after=$NEXT"
[ "$(jq -r '.items[0].id' "$T/body")" != "$NEXT" ] || fail "paging repeated a row"
expect_api 200 GET "/api/v1/certificates/$AID"
jq -e '.cn == "a.example.com" and .is_ca == false' "$T/body" >/dev/null || fail "cert get json"
expect_api 200 GET "/api/v1/certificates/$AID?format=pem"
expect_eq "$(openssl x509 -in "$T/body" -noout -fingerprint)" \
	"$(openssl x509 -in "$T/a.pem" -noout -fingerprint)" "cert get pem"
expect_api 200 GET "/api/v1/certificates/$AID?format=chain"
expect_eq "$(grep -c BEGIN "$T/body")" 3 "chain length"
expect_api 200 GET "/api/v1/certificates/$AID/locations"
expect_api 404 GET "/api/v1/certificates/999999"

# import PEM, then it is listed with its location
KEYALG= mkroot ext "External Root"
expect_api 201 POST /api/v1/certificates -H 'Content-Type: application/x-pem-file' --data-binary @ext.pem
expect_eq "$(jq -r .new "$T/body")" 1 "import new"
EID=$(jq -r '.items[0].id' "$T/body")
expect_api 200 POST /api/v1/certificates -H 'Content-Type: application/x-pem-file' --data-binary @ext.pem
expect_eq "$(jq -r .known "$T/body")" 1 "import known"
expect_api 200 GET "/api/v1/certificates/$EID/locations"
jq -e '.items[0].kind == "api"' "$T/body" >/dev/null || fail "import location"

# OCSP: good over POST and GET, then revoked; the CRL lists it
openssl ocsp -issuer "$T/int.pem" -cert "$T/a.pem" -url "$PURL/ocsp" -CAfile "$ROOT" >"$T/o1.txt" 2>&1
expect_grep "a.pem: good" "$T/o1.txt"
expect_grep "Response verify OK" "$T/o1.txt"
openssl ocsp -issuer "$T/int.pem" -cert "$T/a.pem" -no_nonce -reqout "$T/q.der" >/dev/null 2>&1
B64=$(base64 -w0 "$T/q.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
curl -s -D "$T/h.txt" -o "$T/r.der" "$PURL/ocsp/$B64"
expect_grep "Content-Type: application/ocsp-response" "$T/h.txt"
expect_grep "Cache-Control: max-age=" "$T/h.txt"
openssl ocsp -respin "$T/r.der" -issuer "$T/int.pem" -cert "$T/a.pem" -CAfile "$ROOT" -no_nonce >"$T/o2.txt" 2>&1
expect_grep "a.pem: good" "$T/o2.txt"
expect_api 200 POST "/api/v1/certificates/$AID/revoke" -H 'Content-Type: application/json' -d '{"reason":"keyCompromise"}'
jq -e '.already == false and .reason == "keyCompromise"' "$T/body" >/dev/null || fail "revoke"
expect_api 200 POST "/api/v1/certificates/$AID/revoke" -H 'Content-Type: application/json' -d '{"reason":"superseded"}'
jq -e '.already == true' "$T/body" >/dev/null || fail "revoke twice"
openssl ocsp -issuer "$T/int.pem" -cert "$T/a.pem" -url "$PURL/ocsp" -CAfile "$ROOT" >"$T/o3.txt" 2>&1
expect_grep "a.pem: revoked" "$T/o3.txt"
expect_grep "Reason: keyCompromise" "$T/o3.txt"
curl -sf "$PURL/crl/certkeep.crl" -o "$T/crl.der"
openssl crl -inform DER -in "$T/crl.der" -CAfile "$ROOT" -untrusted "$T/int.pem" -noout 2>/dev/null || true
openssl crl -inform DER -in "$T/crl.der" -noout -text >"$T/crl.txt"
expect_grep "$(openssl x509 -in "$T/a.pem" -noout -serial | sed 's/serial=//')" "$T/crl.txt"
openssl crl -inform DER -in "$T/crl.der" -CAfile "$T/int.pem" -noout 2>&1 | grep -q "verify OK" || fail "CRL signature"
expect_api 200 GET /api/v1/cas/certkeep/crl
curl -sf "$PURL/ca/certkeep.der" | openssl x509 -inform DER -noout 2>/dev/null || fail "/ca/.der"

# stats, events (the revocation is in the audit log, by the token)
expect_api 200 GET /api/v1/stats
jq -e '.total >= 7' "$T/body" >/dev/null || fail "stats"
expect_api 200 GET "/api/v1/events?action=cert.revoke"
jq -e '.items | length == 1 and .[0].actor == "token:admin"' "$T/body" >/dev/null || fail "events filter"

# tokens over REST
expect_api 201 POST /api/v1/tokens -H 'Content-Type: application/json' -d '{"name":"ro","role":"auditor"}'
RO=$(jq -r .token "$T/body")
expect_api 200 GET /api/v1/tokens
jq -e '[.items[].name] | index("ro") != null' "$T/body" >/dev/null || fail "tokens list"
grep -q "$RO" "$T/body" && fail "token secret listed"
expect_api 200 DELETE /api/v1/tokens/ro

# OpenAPI document, metrics
curl -sf --cacert "$ROOT" "$URL/api/v1/openapi.yaml" | grep -q "^openapi: 3.1" || fail "openapi"
expect_api 200 GET /metrics
cp "$T/body" "$T/metrics.txt"
expect_grep 'certkeep_certificate_not_after{subject_CN="b.example.com",issuer_CN="certkeep Issuing CA"' "$T/metrics.txt"
expect_grep '^certkeep_issued_total 3$' "$T/metrics.txt"
expect_grep '^certkeep_revoked_total 1$' "$T/metrics.txt"
expect_grep 'certkeep_http_requests_total{route="/api/v1/cas",method="GET",code="2xx"}' "$T/metrics.txt"
sh "$HERE/promcheck.sh" "$T/metrics.txt" || fail "metrics format"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/metrics.txt" >"$T/prom.txt" 2>&1 || { cat "$T/prom.txt"; fail "promtool"; }
fi

# the access log: one logfmt line per request with the actor
expect_grep 'msg=request method=POST path=/api/v1/certificates/[0-9]*/revoke status=200 bytes=[0-9]* dur_ms=[0-9.]* actor=token:admin' "$T/serve.log"

# SIGTERM: drained and exit 0
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"; st=$?
SERVE_PID=""
check_serve_log
expect_eq "$st" 0 "exit status after SIGTERM"
expect_grep "stopped" "$T/serve.log"
