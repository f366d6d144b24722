# Chains are linked whatever the import order and confirmed by signature;
# show prints everything; the audit log is hash-chained and a tampered
# event is found.
. "$(dirname "$0")/lib.sh"
mkroot root "Chain Root"
mkca inter root "Chain Intermediate"
mkcert leaf inter 200 "/CN=svc.example.com" "subjectAltName=DNS:svc.example.com" \
	"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth" \
	"crlDistributionPoints=URI:http://crl.example.com/inter.crl" \
	"authorityInfoAccess=OCSP;URI:http://ocsp.example.com,caIssuers;URI:http://ca.example.com/inter.der" \
	"certificatePolicies=2.23.140.1.2.1"
# An impostor: same name as the intermediate, different key.
mkroot fake "Chain Intermediate"

# Leaf first, CAs later: the links are made when the issuers arrive.
expect_status 0 ck import leaf.pem
expect_status 0 ck import root.pem inter.pem fake.pem
sha=$(openssl x509 -in leaf.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
ck show "$sha" --json >leaf.json
expect_eq "$(jq -r '[.chain[].subject] | join(" < ")' leaf.json)" \
	"CN=svc.example.com < CN=Chain Intermediate < CN=Chain Root" "chain"
expect_eq "$(jq -c .key_usage leaf.json)" '["digitalSignature"]' "key usage"
expect_eq "$(jq -c .extended_key_usage leaf.json)" '["serverAuth","clientAuth"]' "eku"
expect_eq "$(jq -c .crl_distribution_points leaf.json)" '["http://crl.example.com/inter.crl"]' "crl dp"
expect_eq "$(jq -c .ocsp_urls leaf.json)" '["http://ocsp.example.com"]' "ocsp"
expect_eq "$(jq -c .ca_issuer_urls leaf.json)" '["http://ca.example.com/inter.der"]' "ca issuers"
expect_eq "$(jq -c .policies leaf.json)" '["2.23.140.1.2.1"]' "policies"
expect_eq "$(jq -r .aki leaf.json)" "$(jq -r .chain[1].id leaf.json | xargs -I{} "$CERTKEEP" show {} --json | jq -r .ski)" "aki = issuer ski"
expect_eq "$(jq .self_signed leaf.json)" false "leaf is not self-signed"
expect_eq "$(ck show "$(jq -r .chain[2].id leaf.json)" --json | jq .self_signed)" true "root is self-signed"
# The links were confirmed by signature when read.
expect_eq "$(sqlite3 inv.db "SELECT link_state FROM certificates WHERE issuer_id IS NOT NULL ORDER BY id" | tr '\n' ' ')" "1 1 " "links confirmed"

# --pem --chain is a bundle that openssl verifies.
ck show "$sha" --pem --chain >chain.pem
expect_eq "$(grep -c 'BEGIN CERTIFICATE' chain.pem)" 3 "pem chain blocks"
ck show "$sha" --pem >leaf-out.pem
expect_eq "$(openssl x509 -in leaf-out.pem -outform DER | sha256sum | cut -c1-64)" "$sha" "pem round trip"
openssl verify -CAfile root.pem -untrusted inter.pem leaf-out.pem >/dev/null || fail "openssl verify"

# Text output for people.
ck show "$(echo "$sha" | cut -c1-8)" >show.txt
for w in "Subject: *CN=svc.example.com" "Names: *DNS:svc.example.com" "Extended key usage: *serverAuth, clientAuth" "Chain:" "Locations:" "leaf.pem"; do
	expect_grep "$w" show.txt
done
expect_status 3 ck show ffffffffffff
expect_grep "no certificate with SHA-256 starting ffffffffffff" err
expect_status 2 ck show xyz
expect_status 3 ck show 999

# Validation with the chain the inventory holds.
expect_eq "$(ck show "$sha" --json --trust root.pem | jq -c .validation)" \
	'{"ok":true,"trust_store":"root.pem"}' "valid against the test root"
expect_eq "$(ck show "$sha" --json | jq -r .validation.reason)" \
	"self-signed certificate in certificate chain" "root not in the system store"
ck show "$sha" --trust root.pem >v.txt
expect_grep "Validation: *valid against root.pem" v.txt
expect_eq "$(CERTKEEP_NOW=$(( $(date +%s) + 400 * 86400 )) "$CERTKEEP" show "$sha" --json --trust root.pem | jq -r .validation.reason)" \
	"certificate has expired" "expired by then"

# Audit: one event per import batch, chain intact, tampering found.
expect_eq "$(ck audit list --json | jq length)" 2 "events"
expect_status 0 ck audit verify
expect_grep "audit log intact: 2 events verified" out
sqlite3 inv.db "UPDATE events SET detail = '0 new, 0 known' WHERE id = 1"
expect_status 5 ck audit verify
expect_grep "audit chain broken at event 1" err
