# Slow requests run in job threads: with one worker, an issuance that
# makes an RSA-4096 key (seconds) does not hold up /healthz or a read on
# the same worker, and a client that leaves before its issuance ends is
# handled (the certificate is still recorded once, the server goes on).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"
start_serve --workers 1
TOKEN=$(ck token create --role admin --name admin 2>/dev/null)
curl -s -o "$T/slow.json" -w '%{http_code} %{time_total}\n' --cacert "$ROOT" \
	-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-d '{"profile":"tls-server","cn":"big.example.com","key_type":"rsa-4096"}' \
	"$URL/api/v1/cas/certkeep/issue" >"$T/slow.txt" &
SLOW=$!
sleep 0.2
worst=0
for _ in 1 2 3 4 5; do
	t=$(curl -s -o /dev/null -w '%{time_total}' "$PURL/healthz")
	worst=$(echo "$t $worst" | awk '{print ($1 > $2) ? $1 : $2}')
	expect_api 200 GET /api/v1/stats
done
wait "$SLOW"
read -r code total <"$T/slow.txt"
expect_eq "$code" 201 "slow issuance"
echo "issuance took ${total}s; slowest health check meanwhile ${worst}s"
awk -v w="$worst" 'BEGIN { exit !(w < 0.5) }' || fail "health check waited ${worst}s behind the issuance"
jq -r .private_key "$T/slow.json" | openssl pkey -noout -text 2>/dev/null | grep -q "4096 bit" || fail "not an RSA-4096 key"

# a client that gives up mid-issuance
curl -s -m 0.3 -o /dev/null --cacert "$ROOT" -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' \
	-d '{"profile":"tls-server","cn":"gone.example.com","key_type":"rsa-4096"}' \
	"$URL/api/v1/cas/certkeep/issue" && fail "the slow request finished within 0.3 s?"
# evhttp may or may not notice the close before the reply: 499 or 201
for _ in $(seq 1 100); do
	[ "$(grep -c 'path=/api/v1/cas/certkeep/issue status=' "$T/serve.log")" = 2 ] && break
	sleep 0.1
done
expect_eq "$(grep -cE 'path=/api/v1/cas/certkeep/issue status=(201|499)' "$T/serve.log")" 2 "both issuances logged"
expect_eq "$(ck list --name gone.example.com --json | jq length)" 1 "recorded once"
expect_eq "$(curl -s "$PURL/healthz")" "ok" "healthz after"
