#!/bin/sh
# Issuer connectors and managed certificates over REST, with curl against
# `certkeep serve`: issuers defined (the EAB key sealed, never shown, not
# in the database file in clear), listed, deleted (409 while in use);
# managed certificates added, issued by the daemon (or `manage run`),
# their files written where an admin said, listed with filters and pages,
# renewed (409 when not due, 202 forced: a new certificate), adopted from
# the inventory, moved at a bounded rate (the queue shows the rest),
# retired with revocation (the row in the database says revoked); roles,
# bad bodies and unknown names get their problem documents; every change
# is in the audit log under the token that made it.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"
JSON='Content-Type: application/json'

expect_status 0 ck ca init apps
start_serve
ADMIN=$(ck token create --role admin --name admin 2>/dev/null)
OPS=$(ck token create --role operator --name ops 2>/dev/null)
AUD=$(ck token create --role auditor --name aud 2>/dev/null)
ENR=$(ck token create --role enroller --name enr --pattern '*.test' 2>/dev/null)
# problem TYPE: the last answer is a problem document of that type
problem() {
	jq -e --arg t "urn:certkeep:problem:$1" '.type == $t and (.detail | length > 0)' "$T/body" >/dev/null ||
		{ cat "$T/body" >&2; fail "want a '$1' problem"; }
}
# wait_managed FILTER: polls until jq FILTER holds for GET /api/v1/managed,
# running the renewer from the CLI (same database) if the daemon is slow
wait_managed() {
	for i in $(seq 1 50); do
		api GET "/api/v1/managed?limit=1000" >/dev/null
		jq -e "$1" "$T/body" >/dev/null && return 0
		[ "$i" = 25 ] && ck manage run --quiet >/dev/null 2>&1 || true
		sleep 0.2
	done
	jq -c ".items[] | {name,state,issuer,key_type,issued_count,failures,last_error}" "$T/body" >&2
	fail "managed certificates never reached: $1"
}

# ---- issuers ----
TOKEN=$OPS
expect_api 403 POST /api/v1/issuers -H "$JSON" -d '{"name":"apps","type":"local","ca":"apps"}'
problem forbidden
TOKEN=$AUD
expect_api 403 POST /api/v1/issuers -H "$JSON" -d '{"name":"apps","type":"local","ca":"apps"}'
TOKEN=$ADMIN
code=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --cacert "$ROOT" -X POST \
	-H "Authorization: Bearer $TOKEN" -H "$JSON" "$URL/api/v1/issuers" \
	-d '{"name":"apps","type":"local","ca":"apps"}')
expect_eq "$code" 201 "issuer create"
grep -qi '^location: /api/v1/issuers/apps' "$T/headers" || fail "issuer Location"
jq -e '.name == "apps" and .type == "local" and .settings.ca == "apps" and .has_secrets == false' \
	"$T/body" >/dev/null || fail "issuer row"
expect_api 201 POST /api/v1/issuers -H "$JSON" -d '{"name":"apps2","type":"local","ca":"apps","profile":"tls-server"}'
expect_api 409 POST /api/v1/issuers -H "$JSON" -d '{"name":"apps","type":"local","ca":"apps"}'
problem conflict
EAB=c2VjcmV0LWVhYi1rZXktZm9yLXRoZS10ZXN0 # "secret-eab-key-for-the-test"
expect_api 201 POST /api/v1/issuers -H "$JSON" -d "{\"name\":\"le\",\"type\":\"acme\",
	\"directory\":\"https://acme.invalid/dir\",\"eab_kid\":\"kid-1\",\"eab_hmac\":\"$EAB\",
	\"challenge\":\"dns-01\",\"dns_hook\":\"/bin/true\",\"dns_wait\":\"30s\"}"
jq -e '.has_secrets == true and .settings.eab_kid == "kid-1" and .settings.dns_wait == 30' \
	"$T/body" >/dev/null || fail "acme issuer row"
grep -q "$EAB" "$T/body" && fail "the EAB key was echoed"
grep -q "eab_hmac" "$T/body" && fail "the EAB key's field was echoed"
# bad bodies: 400 with the reason, 415 for a body that is not JSON
expect_api 400 POST /api/v1/issuers -H "$JSON" -d '{"name":"x","type":"local","ca":"apps","colour":"red"}'
problem malformed
grep -q "unknown field 'colour'" "$T/body" || fail "unknown field named"
expect_api 400 POST /api/v1/issuers -H "$JSON" -d '{"name":"x","type":"local",'
expect_api 400 POST /api/v1/issuers -H "$JSON" -d '{"name":"x","type":"local","ca":"apps","directory":"https://a/"}'
grep -q "does not apply to a local issuer" "$T/body" || fail "field for another type"
expect_api 400 POST /api/v1/issuers -H "$JSON" -d '{"name":"x","type":"local","ca":"nosuchca"}'
grep -q "nosuchca" "$T/body" || fail "missing CA named"
expect_api 400 POST /api/v1/issuers -H "$JSON" -d '{"name":"x","type":"acme","directory":"https://a/","eab_kid":"k","eab_hmac":"not base64!"}'
expect_api 400 POST /api/v1/issuers -H "$JSON" -d '{"name":"Bad Name","type":"local","ca":"apps"}'
expect_api 400 POST /api/v1/issuers -H "$JSON" -d '{"name":"x","type":"carrier-pigeon"}'
expect_api 415 POST /api/v1/issuers -H 'Content-Type: text/plain' -d '{"name":"x","type":"local","ca":"apps"}'
TOKEN=$AUD
expect_api 200 GET /api/v1/issuers
expect_eq "$(jq -r '[.items[].name] | join(",")' "$T/body")" "apps,apps2,le" "issuers list"
grep -q "$EAB" "$T/body" && fail "the EAB key was listed"
expect_api 200 GET /api/v1/issuers/le
jq -e '.type == "acme" and .settings.directory == "https://acme.invalid/dir"' "$T/body" >/dev/null || fail "issuer get"
expect_api 404 GET /api/v1/issuers/nope
problem not-found
# sealed at rest: neither the base64url text nor the key's bytes are in
# the database file
grep -q "$EAB" "$T/inv.db" && fail "EAB key in clear in the database"
grep -q "secret-eab-key" "$T/inv.db" && fail "EAB key bytes in clear in the database"

# ---- managed certificates: add ----
TOKEN=$AUD
expect_api 403 POST /api/v1/managed -H "$JSON" -d '{"name":"web1","issuer":"apps","sans":["web1.test"]}'
TOKEN=$ENR
expect_api 403 POST /api/v1/managed -H "$JSON" -d '{"name":"web1","issuer":"apps","sans":["web1.test"]}'
TOKEN=$OPS
code=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --cacert "$ROOT" -X POST \
	-H "Authorization: Bearer $TOKEN" -H "$JSON" "$URL/api/v1/managed" \
	-d '{"name":"web1","issuer":"apps","sans":["web1.test","DNS:www.web1.test"],"days":30,
	     "owner":"team-a","tags":["prod","web"],"key_type":"ec-p384"}')
expect_eq "$code" 201 "managed create"
grep -qi '^location: /api/v1/managed/web1' "$T/headers" || fail "managed Location"
jq -e '.name == "web1" and .state == "pending" and .cert_id == 0 and .key_type == "ec-p384" and
	.sans == ["DNS:web1.test","DNS:www.web1.test"] and .tags == "prod,web" and .days == 30 and
	(.id | type == "number")' "$T/body" >/dev/null || { cat "$T/body"; fail "managed row"; }
expect_api 201 POST /api/v1/managed -H "$JSON" -d '{"name":"web2","issuer":"apps","sans":["web2.test"],"owner":"team-b","tags":"prod","renew_before":"10d"}'
jq -e '.renew_before == 864000' "$T/body" >/dev/null || fail "renew_before"
expect_api 201 POST /api/v1/managed -H "$JSON" -d '{"name":"web3","issuer":"apps","cn":"web3.test","tags":"dev","renew_at_percent":50}'
jq -e '.renew_at_permille == 500 and .sans == ["DNS:web3.test"]' "$T/body" >/dev/null || fail "renew_at_percent"
expect_api 201 POST /api/v1/managed -H "$JSON" -d '{"name":"web4","issuer":"apps","sans":["web4.test"],"tags":"dev"}'
# output files: an operator may not choose paths on the server; an admin may
expect_api 403 POST /api/v1/managed -H "$JSON" -d "{\"name\":\"files\",\"issuer\":\"apps\",\"sans\":[\"files.test\"],\"cert_out\":\"$T/files/files.pem\"}"
problem forbidden
expect_api 409 POST /api/v1/managed -H "$JSON" -d '{"name":"web1","issuer":"apps","sans":["web1.test"]}'
problem conflict
expect_api 400 POST /api/v1/managed -H "$JSON" -d '{"name":"x","issuer":"nosuch","sans":["x.test"]}'
problem bad-request
expect_api 400 POST /api/v1/managed -H "$JSON" -d '{"name":"x","issuer":"apps","sans":["x.test"],"key_type":"dsa-1024"}'
expect_api 400 POST /api/v1/managed -H "$JSON" -d '{"name":"x","issuer":"apps"}'
expect_api 400 POST /api/v1/managed -H "$JSON" -d '{"name":"x","issuer":"apps","sans":["x.test"],"renew_at":66}'
grep -q "unknown field 'renew_at'" "$T/body" || fail "typo not named"
expect_api 400 POST /api/v1/managed -H "$JSON" -d '{"name":"x","issuer":"apps","sans":["bad name.test"]}'
expect_api 400 POST /api/v1/managed -H "$JSON" -d '[1,2]'
expect_api 415 POST /api/v1/managed -d '{"name":"x","issuer":"apps","sans":["x.test"]}'
TOKEN=$ADMIN
expect_api 400 POST /api/v1/managed -H "$JSON" -d '{"name":"files","issuer":"apps","sans":["files.test"],"cert_out":"relative.pem"}'
mkdir -p "$T/files"
expect_api 201 POST /api/v1/managed -H "$JSON" -d "{\"name\":\"files\",\"issuer\":\"apps\",\"sans\":[\"files.test\"],
	\"key_out\":\"$T/files/files.key\",\"cert_out\":\"$T/files/files.pem\",\"fullchain_out\":\"$T/files/files-full.pem\"}"
expect_eq "$(jq -r .cert_out "$T/body")" "$T/files/files.pem" "cert_out kept"

# the daemon issues them (the API only queued them)
TOKEN=$AUD
wait_managed '([.items[] | select(.state == "active")] | length == 5) and
	(.items[] | select(.name == "files") | .files_current)'
expect_api 200 GET /api/v1/cas/apps
PARENT=$(jq -r .parent "$T/body")
expect_api 200 "GET" "/api/v1/cas/$PARENT?format=pem"
cp "$T/body" "$T/apps-root.pem"
openssl verify -CAfile "$T/apps-root.pem" -untrusted "$T/files/files-full.pem" "$T/files/files.pem" >/dev/null ||
	fail "the written certificate does not verify up to the CA's root"
openssl x509 -in "$T/files/files.pem" -noout -ext subjectAltName | grep -q "DNS:files.test" ||
	fail "written certificate's names"
[ "$(openssl x509 -in "$T/files/files.pem" -noout -pubkey | openssl sha256)" = \
  "$(openssl pkey -in "$T/files/files.key" -pubout | openssl sha256)" ] || fail "written key does not match"
expect_eq "$(stat -c %a "$T/files/files.key")" 600 "key file mode"

# ---- list: filters and keyset pages ----
expect_api 200 "GET" "/api/v1/managed?owner=team-a"
expect_eq "$(jq -r '[.items[].name] | join(",")' "$T/body")" "web1" "filter owner"
expect_api 200 GET "/api/v1/managed?tag=prod"
expect_eq "$(jq -r '[.items[].name] | join(",")' "$T/body")" "web1,web2" "filter tag"
expect_api 200 GET "/api/v1/managed?tag=dev&issuer=apps"
expect_eq "$(jq -r '[.items[].name] | join(",")' "$T/body")" "web3,web4" "filter tag and issuer"
expect_api 200 GET "/api/v1/managed?san=www.web1.test"
expect_eq "$(jq -r '[.items[].name] | join(",")' "$T/body")" "web1" "filter san"
expect_api 200 GET "/api/v1/managed?state=pending"
expect_eq "$(jq '.items | length' "$T/body")" 0 "filter state"
jq -e '.counts.active == 5 and .counts.pending == 0' "$T/body" >/dev/null || fail "counts"
expect_api 200 GET "/api/v1/managed?limit=2"
expect_eq "$(jq -r '[.items[].name] | join(",")' "$T/body")" "web1,web2" "page 1"
NEXT=$(jq -r .next "$T/body")
expect_api 200 GET "/api/v1/managed?limit=2&after=$NEXT"
expect_eq "$(jq -r '[.items[].name] | join(",")' "$T/body")" "web3,web4" "page 2"
NEXT=$(jq -r .next "$T/body")
expect_api 200 GET "/api/v1/managed?limit=2&after=$NEXT"
expect_eq "$(jq -r '[.items[].name] | join(",")' "$T/body")" "files" "page 3"
expect_eq "$(jq -r .next "$T/body")" "null" "last page"
expect_api 400 GET "/api/v1/managed?state=gone"
expect_api 400 GET "/api/v1/managed?limit=0"
expect_api 400 GET "/api/v1/managed?after=x"
expect_api 400 GET "/api/v1/managed?colour=red"

# ---- show ----
expect_api 200 GET /api/v1/managed/web1
jq -e '.state == "active" and (.sha256 | length == 64) and .cert_id > 0 and .issued_count == 1 and
	.not_after != null and .renew_at != null' "$T/body" >/dev/null || { cat "$T/body"; fail "managed get"; }
SHA1=$(jq -r .sha256 "$T/body")
expect_api 200 GET "/api/v1/certificates/$(jq -r .cert_id "$T/body")"
expect_eq "$(jq -r .sha256 "$T/body")" "$SHA1" "current certificate in the inventory"
expect_api 404 GET /api/v1/managed/nope
problem not-found

# ---- renew ----
TOKEN=$AUD
expect_api 403 POST /api/v1/managed/web1/renew
TOKEN=$OPS
expect_api 409 POST /api/v1/managed/web1/renew
problem not-due
expect_api 409 POST /api/v1/managed/web1/renew -H "$JSON" -d '{"force":false}'
expect_api 400 POST /api/v1/managed/web1/renew -H "$JSON" -d '{"force":"yes"}'
expect_api 400 POST /api/v1/managed/web1/renew -H "$JSON" -d '{"now":true}'
expect_api 404 POST /api/v1/managed/nope/renew -H "$JSON" -d '{"force":true}'
expect_api 202 POST /api/v1/managed/web1/renew -H "$JSON" -d '{"force":true}'
jq -e '.queued == true and .forced == true' "$T/body" >/dev/null || fail "renew answer"
TOKEN=$AUD
wait_managed '.items[] | select(.name == "web1") | .issued_count == 2 and .state == "active"'
expect_api 200 GET /api/v1/managed/web1
[ "$(jq -r .sha256 "$T/body")" != "$SHA1" ] || fail "forced renewal kept the certificate"

# ---- adopt an imported certificate ----
KEYALG= mkroot ext "Adopt Root"
mkcert adopted ext 90 "/CN=adopted.test" "subjectAltName=DNS:adopted.test,DNS:alt.adopted.test"
TOKEN=$OPS
expect_api 201 POST /api/v1/certificates -H 'Content-Type: application/x-pem-file' --data-binary @adopted.pem
ASHA=$(openssl x509 -in adopted.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
expect_api 400 POST /api/v1/managed/adopt -H "$JSON" -d "{\"sha256\":\"${ASHA%????}\",\"issuer\":\"apps\"}"
expect_api 400 POST /api/v1/managed/adopt -H "$JSON" -d "{\"sha256\":\"$(printf '0%.0s' $(seq 64))\",\"issuer\":\"apps\"}"
expect_api 400 POST /api/v1/managed/adopt -H "$JSON" -d "{\"sha256\":\"$ASHA\",\"issuer\":\"nosuch\"}"
expect_api 400 POST /api/v1/managed/adopt -H "$JSON" -d "{\"sha256\":\"$ASHA\"}"
UPPER=$(echo "$ASHA" | tr a-f A-F)
expect_api 201 POST /api/v1/managed/adopt -H "$JSON" -d "{\"sha256\":\"$UPPER\",\"issuer\":\"apps\"}"
jq -e --arg s "$ASHA" '.name == "adopted.test" and .state == "active" and .sha256 == $s and
	.sans == ["DNS:adopted.test","DNS:alt.adopted.test"] and .issuer == "apps"' "$T/body" >/dev/null ||
	{ cat "$T/body"; fail "adopted row"; }
expect_api 409 POST /api/v1/managed/adopt -H "$JSON" -d "{\"sha256\":\"$ASHA\",\"issuer\":\"apps\"}"
expect_api 201 POST /api/v1/managed/adopt -H "$JSON" -d "{\"sha256\":\"$ASHA\",\"issuer\":\"apps\",\"name\":\"adopted-2\"}"
expect_eq "$(jq -r .name "$T/body")" "adopted-2" "adopt with a name"
TOKEN=$AUD
expect_api 403 POST /api/v1/managed/adopt -H "$JSON" -d "{\"sha256\":\"$ASHA\",\"issuer\":\"apps\"}"

# ---- move: admin only, at a bounded rate; the queue holds the rest ----
TOKEN=$OPS
expect_api 403 POST /api/v1/managed/move -H "$JSON" -d '{"filter":{"tag":"dev"},"to_issuer":"apps2"}'
TOKEN=$ADMIN
expect_api 400 POST /api/v1/managed/move -H "$JSON" -d '{"to_issuer":"apps2"}'
expect_api 400 POST /api/v1/managed/move -H "$JSON" -d '{"filter":{"tags":"dev"},"to_issuer":"apps2"}'
grep -q "unknown field 'tags'" "$T/body" || fail "unknown filter field named"
expect_api 400 POST /api/v1/managed/move -H "$JSON" -d '{"filter":{"tag":"dev"}}'
expect_api 400 POST /api/v1/managed/move -H "$JSON" -d '{"filter":{"tag":"dev"},"to_issuer":"nosuch"}'
expect_api 400 POST /api/v1/managed/move -H "$JSON" -d '{"filter":{"tag":"dev"},"key_type":"ec-p256","rate":-1}'
expect_api 202 POST /api/v1/managed/move -H "$JSON" -d '{"filter":{"tag":"dev"},"to_issuer":"apps2","key_type":"ec-p384","rate":0.01}'
jq -e '.moved == 2 and .rate == 0.01' "$T/body" >/dev/null || { cat "$T/body"; fail "move answer"; }
TOKEN=$AUD
expect_api 200 GET "/api/v1/managed?tag=dev"
jq -e '[.items[] | select(.issuer == "apps2" and .key_type == "ec-p384")] | length == 2' "$T/body" >/dev/null ||
	fail "moved rows"
# the second one is queued 100 s out (0.01/s): it is in the job queue
expect_api 200 GET "/api/v1/jobs?kind=renew"
jq -e '[.items[] | select(.kind == "renew" and .subject == "web4" and .attempts == 0)] | length == 1' \
	"$T/body" >/dev/null || { cat "$T/body"; fail "jobs list"; }
jq -e '.truncated == false' "$T/body" >/dev/null || fail "jobs truncated"
expect_api 200 GET "/api/v1/jobs?limit=1"
jq -e '(.items | length) == 1' "$T/body" >/dev/null || fail "jobs limit"
expect_api 400 GET "/api/v1/jobs?limit=99999"
expect_api 400 GET "/api/v1/jobs?subject=web4"
# the first one (due now) is issued through its new issuer
wait_managed '.items[] | select(.name == "web3") | .issued_count == 2 and .state == "active" and .failures == 0'

# ---- retire ----
TOKEN=$AUD
expect_api 403 POST /api/v1/managed/web2/retire
TOKEN=$OPS
expect_api 400 POST /api/v1/managed/web2/retire -H "$JSON" -d '{"reason":"keyCompromise"}'
expect_api 400 POST /api/v1/managed/web2/retire -H "$JSON" -d '{"revoke":true,"reason":"tired"}'
expect_api 404 POST /api/v1/managed/nope/retire
expect_api 200 GET /api/v1/managed/web2
W2=$(jq -r .cert_id "$T/body")
expect_api 200 POST /api/v1/managed/web2/retire -H "$JSON" -d '{"revoke":true,"reason":"keyCompromise"}'
jq -e '.state == "retired"' "$T/body" >/dev/null || fail "retired row"
expect_eq "$(sqlite3 "$T/inv.db" "SELECT revoked_at > 0, revocation_reason FROM certificates WHERE id = $W2")" \
	"1|1" "revoked in the inventory (reason 1: keyCompromise)"
expect_api 409 POST /api/v1/managed/web2/retire
expect_api 409 POST /api/v1/managed/web2/renew -H "$JSON" -d '{"force":true}'
expect_api 200 POST /api/v1/managed/adopted-2/retire
jq -e '.state == "retired"' "$T/body" >/dev/null || fail "retired without revoking"
expect_eq "$(sqlite3 "$T/inv.db" "SELECT revoked_at IS NULL FROM certificates WHERE sha256 = x'$ASHA'")" \
	1 "retiring without revoke leaves the certificate alone"

# ---- delete issuers ----
TOKEN=$OPS
expect_api 403 DELETE /api/v1/issuers/le
TOKEN=$ADMIN
expect_api 409 DELETE /api/v1/issuers/apps
problem conflict
expect_api 200 DELETE /api/v1/issuers/le
expect_api 404 GET /api/v1/issuers/le
expect_api 404 DELETE /api/v1/issuers/le

# ---- authentication and the audit log ----
TOKEN=nope
expect_api 401 GET /api/v1/managed
TOKEN=$AUD
expect_api 200 GET "/api/v1/events?action=issuer.add"
expect_eq "$(jq -r '[.items[] | .actor + ":" + .object] | join(",")' "$T/body")" \
	"token:admin:apps,token:admin:apps2,token:admin:le" "issuer.add events"
expect_api 200 GET "/api/v1/events?action=manage.add"
expect_eq "$(jq -r '[.items[] | select(.actor == "token:ops")] | length' "$T/body")" 6 "manage.add by ops"
for a in manage.renew manage.move manage.retire issuer.remove; do
	expect_api 200 GET "/api/v1/events?action=$a"
	jq -e '(.items | length) > 0 and all(.items[]; .actor | startswith("token:"))' "$T/body" >/dev/null ||
		{ cat "$T/body"; fail "audit events for $a"; }
done
echo "ok t6030"
