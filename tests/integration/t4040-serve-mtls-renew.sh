# Client certificates from the configured client CA authenticate with the
# configured role (the actor is the certificate's subject); others are
# refused in the handshake. The server certificate certkeep issued itself
# is renewed when a third of its lifetime is left (checked at start).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"
KEYALG= mkroot clientca "Client CA"
mkcert alice clientca 30 "/CN=alice/O=ops" "extendedKeyUsage=clientAuth"
KEYALG= mkroot other "Other CA"
mkcert mallory other 30 "/CN=mallory" "extendedKeyUsage=clientAuth"
printf '[server]\nclient_ca = %s\nclient_role = operator\n' "$T/clientca.pem" >"$T/certkeep.conf"
export CERTKEEP_CONFIG="$T/certkeep.conf"
start_serve

got=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$ROOT" --cert alice.pem --key alice.key "$URL/api/v1/stats")
expect_eq "$got" 200 "mTLS as operator reads"
KEYALG= mkroot ext "Imported By Cert"
got=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$ROOT" --cert alice.pem --key alice.key \
	-H 'Content-Type: application/x-pem-file' --data-binary @ext.pem "$URL/api/v1/certificates")
expect_eq "$got" 201 "mTLS as operator imports"
ck audit list --json | jq -e '.[-1].actor | startswith("mtls:") and contains("CN=alice")' >/dev/null ||
	fail "audit actor is not the client certificate"
got=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$ROOT" --cert alice.pem --key alice.key "$URL/api/v1/tokens")
expect_eq "$got" 403 "operator may not list tokens"
got=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$ROOT" "$URL/api/v1/stats")
expect_eq "$got" 401 "no certificate, no token"
if curl -s -o /dev/null --cacert "$ROOT" --cert mallory.pem --key mallory.key "$URL/api/v1/stats"; then
	fail "a client certificate from another CA was accepted"
fi
stop_serve

# renewal: at start the certificate is kept while fresh ...
serial1=$(openssl x509 -in var/server.pem -noout -serial)
start_serve
expect_eq "$(openssl x509 -in var/server.pem -noout -serial)" "$serial1" "fresh certificate kept"
stop_serve
# ... and replaced once less than a third of its 90 days is left
CERTKEEP_NOW=$(( $(date +%s) + 70 * 86400 )) start_serve
[ "$(openssl x509 -in var/server.pem -noout -serial)" != "$serial1" ] || fail "not renewed"
expect_grep "server certificate issued by CA 'certkeep'" "$T/serve.log"
[ "$(stat -c %a var/server.key)" = 600 ] || fail "server key mode"

# CRLs are signed in the background, at start and whenever nextUpdate
# (a week after thisUpdate) is less than a day away
stop_serve
expect_grep "CRL of CA 'certkeep' signed: number" "$T/serve.log"
n=$(sed -n "s/.*CRL of CA 'certkeep' signed: number \([0-9]*\).*/\1/p" "$T/serve.log" | tail -1)
CERTKEEP_NOW=$(( $(date +%s) + 77 * 86400 - 3600 )) start_serve
for _ in $(seq 1 30); do grep -q "CRL of CA 'certkeep' signed: number $((n + 1))" "$T/serve.log" && break; sleep 0.1; done
expect_grep "CRL of CA 'certkeep' signed: number $((n + 1))" "$T/serve.log"
