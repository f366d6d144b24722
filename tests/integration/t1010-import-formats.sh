# Every container format is recognised from content, whatever the file is
# called, and each certificate is recorded once with all its locations.
. "$(dirname "$0")/lib.sh"
mkroot root "Test Root"
mkca inter root "Test Intermediate"
mkcert leaf inter 90 "/CN=www.example.com" \
	"subjectAltName=DNS:www.example.com,DNS:example.com,IP:192.0.2.7,IP:2001:db8::1,email:ops@example.com,URI:https://example.com/id"

# PEM bundle with text around and between blocks, CRLF line ends, and
# whitespace inside the base64.
{ echo "leaf follows"; cat leaf.pem; echo "then the intermediate"; cat inter.pem; echo trailer; } |
	sed 's/$/\r/' | sed '3s/^\(....\)/\1  \t/' >bundle.txt
openssl x509 -in root.pem -outform DER -out root.bin
openssl crl2pkcs7 -nocrl -certfile leaf.pem -certfile inter.pem -out chain.p7b
openssl crl2pkcs7 -nocrl -certfile root.pem -outform DER -out chain.p7c.data
openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile inter.pem -passout pass: -out nopass.pfx
printf 's3cret\n' >pw.txt
openssl pkcs12 -export -in leaf.pem -inkey leaf.key -passout pass:s3cret -out pw.p12
openssl x509 -in leaf.pem -addtrust serverAuth -out trusted.pem
cp leaf.csr request.pem

expect_status 0 ck import --password-file pw.txt bundle.txt root.bin chain.p7b chain.p7c.data nopass.pfx pw.p12 trusted.pem request.pem
cat out
expect_grep "bundle.txt: 2 certificates (2 new, 0 known)" out
expect_grep "root.bin: 1 certificate (1 new, 0 known)" out
expect_grep "chain.p7b: 2 certificates (0 new, 2 known)" out
expect_grep "chain.p7c.data: 1 certificate (0 new, 1 known)" out
expect_grep "nopass.pfx: 2 certificates (0 new, 2 known)" out
expect_grep "pw.p12: 1 certificate (0 new, 1 known)" out
expect_grep "trusted.pem: 1 certificate (0 new, 1 known)" out
expect_grep "request.pem#1: certificate request for CN=www.example.com" out
expect_grep "imported 3 new, 7 already known, 0 skipped" out
expect_eq "$(count)" 3 "distinct certificates"

# The leaf, with every SAN type, its chain and all its locations.
sha=$(openssl x509 -in leaf.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
ck show "$(echo "$sha" | cut -c1-12)" --json >leaf.json
expect_eq "$(jq -c .sans leaf.json)" '["DNS:www.example.com","DNS:example.com","IP:192.0.2.7","IP:2001:db8::1","email:ops@example.com","URI:https://example.com/id"]' "sans"
expect_eq "$(jq -r .cn leaf.json)" "www.example.com" "cn"
expect_eq "$(jq -r .curve leaf.json)" "P-256" "curve"
expect_eq "$(jq '.chain | length' leaf.json)" 3 "chain length"
expect_eq "$(jq -r '.chain[2].subject' leaf.json)" "CN=Test Root" "chain root"
expect_eq "$(jq '.locations | length' leaf.json)" 5 "leaf locations"
expect_eq "$(jq -r '.locations[].place' leaf.json | sed 's|.*/||' | sort | tr '\n' ' ')" \
	"bundle.txt chain.p7b nopass.pfx pw.p12 trusted.pem " "leaf location files"

# stdin works and is a location of its own.
expect_status 0 sh -c "cat root.pem | '$CERTKEEP' import -"
expect_grep "imported 0 new, 1 already known" out
