# Issuance through enroll: OpenSSL verifies every certificate and shows the
# profile's extensions; each bad request is refused with its reason and
# nothing is recorded or signed.
. "$(dirname "$0")/lib.sh"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
expect_status 0 ck ca init acme
ck ca show acme-root --pem >root.pem
ck ca show acme --pem >acme.pem

# From a CSR made by openssl, with the chain.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout web.key \
	-subj "/CN=web.example.com/O=Dropped Org" -addext "subjectAltName=DNS:web.example.com,DNS:www.example.com,IP:192.0.2.10" \
	-out web.csr 2>/dev/null
expect_status 0 ck issue --ca acme --profile tls-server --csr web.csr --out web.pem --chain \
	--public-url http://pki.example.com
expect_grep "issued certificate" err
expect_eq "$(grep -c 'BEGIN CERTIFICATE' web.pem)" 3 "certificate and chain"
openssl verify -CAfile root.pem -untrusted acme.pem web.pem >/dev/null || fail "openssl verify web"
openssl x509 -in web.pem -noout -text >web.txt
expect_grep "Subject: CN = web.example.com$" web.txt            # O dropped by the profile
expect_grep "DNS:web.example.com, DNS:www.example.com, IP Address:192.0.2.10" web.txt
expect_grep "TLS Web Server Authentication" web.txt
expect_grep "CA:FALSE" web.txt
expect_grep "URI:http://pki.example.com/crl/acme.crl" web.txt
expect_grep "OCSP - URI:http://pki.example.com/ocsp" web.txt
expect_grep "CA Issuers - URI:http://pki.example.com/ca/acme.crt" web.txt
# 200 days: the SC-081 maximum for a certificate issued now (2026-11).
nb=$(date -d "$(openssl x509 -in web.pem -noout -startdate | sed 's/.*=//')" +%s)
na=$(date -d "$(openssl x509 -in web.pem -noout -enddate | sed 's/.*=//')" +%s)
expect_eq $(( (na - nb + 60) / 86400 )) 200 "tls-server validity in days"
# The private key matches the certificate.
[ "$(openssl x509 -in web.pem -noout -pubkey)" = "$(openssl pkey -in web.key -pubout)" ] || fail "key mismatch"

# Recorded before it was handed out: in the inventory, issued by acme.
sha=$(openssl x509 -in web.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
expect_eq "$(ck show "$sha" --json | jq -r '[.chain[].subject] | join(" < ")')" \
	"CN=web.example.com < CN=acme Issuing CA < CN=acme Root CA" "chain in the inventory"
expect_eq "$(sqlite3 inv.db "SELECT profile FROM issued i JOIN cas c ON c.id = i.ca_id WHERE c.name = 'acme'")" tls-server "issued row"
expect_eq "$(ck audit list --json | jq -r '.[-1].action + " " + .[-1].object')" "cert.issue $sha" "audit event"

# certkeep makes the key: each type, the key 0600 and never overwritten.
for kt in ec-p256 ec-p384 rsa-2048 ed25519; do
	expect_status 0 ck issue --ca acme --profile tls-client --cn "$kt.client" --san "email:$kt@example.com" \
		--key-type "$kt" --key-out "$kt.key" --out "$kt.pem"
	expect_eq "$(stat -c %a "$kt.key")" 600 "$kt key mode"
	openssl verify -CAfile root.pem -untrusted acme.pem "$kt.pem" >/dev/null || fail "verify $kt"
	openssl x509 -in "$kt.pem" -noout -text | grep -q "TLS Web Client Authentication" || fail "$kt clientAuth"
done
expect_status 2 ck issue --ca acme --profile tls-client --cn again --key-out ec-p256.key
expect_grep "never overwritten" err

# The other profiles show their extensions.
expect_status 0 ck issue --ca acme --profile code-signing --cn "Example Signer" --key-type rsa-3072 --key-out cs.key --out cs.pem
openssl x509 -in cs.pem -noout -text | grep -q "Code Signing" || fail "codeSigning"
expect_status 0 ck issue --ca acme-root --profile sub-ca --cn "Example Sub CA" --key-type ec-p384 --key-out sub.key --out sub.pem
openssl x509 -in sub.pem -noout -text | grep -q "CA:TRUE, pathlen:0" || fail "sub-ca constraints"
openssl verify -CAfile root.pem sub.pem >/dev/null || fail "verify sub-ca"
expect_status 0 ck issue --ca acme --profile email --cn "Ann" --san email:ann@example.com --key-out ann.key --out ann.pem
openssl x509 -in ann.pem -noout -text | grep -q "E-mail Protection" || fail "emailProtection"

# Bad requests: refused with a reason; nothing recorded, nothing signed.
count_before=$(ck list --json | jq length)
events_before=$(ck audit list --json | jq length)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout t.key -subj /CN=t.example.com -outform DER -out good.der 2>/dev/null
cp good.der tampered.der
size=$(stat -c %s tampered.der)
printf '\001' | dd of=tampered.der bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
expect_status 2 ck issue --ca acme --profile tls-server --csr tampered.der
expect_grep "signature does not verify" err
openssl req -new -newkey rsa:1024 -nodes -keyout w.key -subj /CN=weak.example.com -out rsa1024.csr 2>/dev/null
expect_status 2 ck issue --ca acme --profile tls-server --csr rsa1024.csr
expect_grep "takes RSA keys of 2048 to 8192 bits, not 1024" err
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime192v1 -nodes -keyout p192.key -subj /CN=p192.example.com -out p192.csr 2>/dev/null
expect_status 2 ck issue --ca acme --profile tls-server --csr p192.csr
expect_grep "does not take EC keys on P-192" err
expect_status 2 ck issue --ca acme --profile tls-server --cn m.example.com --san email:m@example.com --key-out m.key
expect_grep "does not allow email names" err
expect_status 2 ck issue --ca acme --profile tls-server --cn "$(printf 'a%.0s' $(seq 1 65)).example.com" --key-out long.key
expect_grep "subject CN is 77 characters, not 1 to 64" err
expect_status 2 ck issue --ca acme --profile tls-server --cn d.example.com --key-out d.key --days 365
expect_grep "allows at most 200 days" err
expect_status 2 ck issue --ca acme --profile nosuch --csr good.der
expect_grep "unknown profile 'nosuch'" err
expect_status 3 ck issue --ca nosuch --profile tls-server --csr good.der
expect_grep "no CA called 'nosuch'" err
CERTKEEP_NOW=$(( $(date +%s) + 11 * 365 * 86400 )) expect_status 5 "$CERTKEEP" issue --ca acme --profile tls-server --csr good.der
expect_grep "CA 'acme' expired" err
# A revoked issuing CA issues nothing.
expect_status 0 ck ca init shortlived --parent acme-root
expect_status 0 ck revoke "$(ck ca show shortlived --json | jq -r .sha256)" --reason cACompromise
count_before=$(ck list --json | jq length)
events_before=$(ck audit list --json | jq length)
expect_status 5 ck issue --ca shortlived --profile tls-server --csr good.der
expect_grep "CA 'shortlived' is revoked" err
for k in m.key long.key d.key; do [ ! -e "$k" ] || fail "$k written for a refused request"; done
expect_eq "$(ck list --json | jq length)" "$count_before" "nothing recorded"
expect_eq "$(ck audit list --json | jq length)" "$events_before" "no audit event"
expect_status 0 ck audit verify
