# Built-in CAs: a root and an issuing CA that OpenSSL verifies, keys sealed
# under a 0600 master key made at first use, deeper hierarchies, and every
# bad request refused with a clear reason and nothing recorded.
. "$(dirname "$0")/lib.sh"
export CERTKEEP_MASTER_KEY_FILE="$T/keys/master.key"

expect_status 0 ck ca init acme
expect_grep "acme-root (root, active, key ec-p256" out
expect_grep "acme (intermediate, active, key ec-p256" out
expect_eq "$(stat -c %a "$CERTKEEP_MASTER_KEY_FILE")" 600 "master key mode"
expect_eq "$(stat -c %s "$CERTKEEP_MASTER_KEY_FILE")" 32 "master key size"

ck ca show acme-root --pem >root.pem
ck ca show acme --pem >acme.pem
openssl verify -CAfile root.pem acme.pem >/dev/null || fail "openssl verify acme"
openssl x509 -in acme.pem -noout -text >acme.txt
expect_grep "CA:TRUE, pathlen:0" acme.txt
expect_grep "Certificate Sign, CRL Sign" acme.txt
expect_grep "Subject: CN = acme Issuing CA" acme.txt
expect_grep "Issuer: CN = acme Root CA" acme.txt
expect_eq "$(openssl x509 -in acme.pem -noout -serial | sed 's/serial=//' | tr -d '\n' | wc -c)" 32 "128-bit serial"

# The CA certificates are in the inventory, as CAs, with their location.
expect_eq "$(ck list --ca --json | jq length)" 2 "CAs in the inventory"
sha=$(openssl x509 -in acme.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
expect_eq "$(ck show "$sha" --json | jq -r '.locations[0].kind + ":" + .locations[0].place')" "ca:acme" "location"
expect_eq "$(ck show "$sha" --json | jq -r '[.chain[].subject] | join(" < ")')" "CN=acme Issuing CA < CN=acme Root CA" "chain"

# No private key is stored in the clear, in the database or anywhere else.
if grep -rq "PRIVATE KEY" "$T"; then fail "a private key in the clear under $T"; fi

# Other key types, a subject, root-only, and a CA under the root.
expect_status 0 ck ca init big --key rsa-3072 --root-only --subject "CN=Big Root,O=Example Corp,C=DE"
ck ca show big --pem >big.pem
expect_eq "$(openssl x509 -in big.pem -noout -subject -nameopt RFC2253)" "subject=CN=Big Root,O=Example Corp,C=DE" "subject"
openssl x509 -in big.pem -noout -text | grep -q "Public-Key: (3072 bit)" || fail "rsa-3072"
openssl verify -CAfile big.pem big.pem >/dev/null || fail "root-only self-signed"
expect_status 0 ck ca init edge --parent acme-root --key ed25519 --validity 2y
ck ca show edge --pem >edge.pem
openssl verify -CAfile root.pem edge.pem >/dev/null || fail "openssl verify edge"
expect_eq "$(ck ca list --json | jq -r '[.[].name] | join(" ")')" "acme acme-root big edge" "ca list"
expect_eq "$(ck audit list --json | jq -r '[.[] | select(.action == "ca.init") | .object] | join(" ")')" "acme big edge" "audit"

# Bad requests: refused, clear, nothing recorded.
before=$(ck ca list --json | jq length)
expect_status 5 ck ca init acme
expect_grep "a CA called 'acme' exists already" err
expect_status 3 ck ca init x --parent nosuch
expect_grep "no CA called 'nosuch'" err
expect_status 2 ck ca init x --parent acme
expect_grep "may not sign CAs (its path length is 0)" err
expect_status 2 ck ca init x --key rsa-1024
expect_grep "unknown CA key type 'rsa-1024'" err
expect_status 2 ck ca init x --subject "nonsense"
expect_grep "subject: 'nonsense' is not TYPE=value" err
expect_status 2 ck ca init "bad name"
expect_status 2 ck ca init x --root-only --parent acme
expect_eq "$(ck ca list --json | jq length)" "$before" "nothing recorded"

# A wrong master key opens nothing, a missing one is never silently remade.
cp "$CERTKEEP_MASTER_KEY_FILE" good.key
head -c 32 /dev/urandom >"$CERTKEEP_MASTER_KEY_FILE"
expect_status 5 ck ca init x --parent acme-root
expect_grep "the master key does not open this key" err
rm "$CERTKEEP_MASTER_KEY_FILE"
expect_status 3 ck ca init y --root-only
expect_grep "cannot be opened without it" err
[ ! -e "$CERTKEEP_MASTER_KEY_FILE" ] || fail "a new master key was made while CAs exist"
cp good.key "$CERTKEEP_MASTER_KEY_FILE" && chmod 644 "$CERTKEEP_MASTER_KEY_FILE"
expect_status 5 ck ca init y --root-only
expect_grep "readable by group or others" err
chmod 600 "$CERTKEEP_MASTER_KEY_FILE"
expect_status 0 ck ca init y --parent acme-root
expect_eq "$(ck ca list --json | jq length)" $((before + 1)) "works again with the right key"
expect_status 0 ck audit verify
