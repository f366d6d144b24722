# Adopting an existing CA: made with openssl, imported, then issuing
# certificates that openssl verifies against the original root; keys that
# do not belong, certificates that are not CAs and taken names refused.
. "$(dirname "$0")/lib.sh"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
mkroot corp "Corp Root"
mkca corpint corp "Corp Intermediate"
KEYALG=rsa:2048 mkcert leafcert corp 30 "/CN=leaf.example.com"

expect_status 0 ck ca import corp-root --cert corp.pem --key corp.key
expect_grep "corp-root (root, active, key ec-p256" out
expect_status 0 ck ca import corp --cert corpint.pem --key corpint.key
expect_grep "corp (intermediate, active, key ec-p256" out
# The parent was found among the CAs: its issuance is recorded.
expect_eq "$(sqlite3 inv.db "SELECT p.name FROM cas c JOIN cas p ON p.id = c.parent_id WHERE c.name = 'corp'")" corp-root "parent"
expect_eq "$(stat -c %a "$CERTKEEP_MASTER_KEY_FILE")" 600 "master key made"
if grep -rq "PRIVATE KEY" inv.db; then fail "a key in the clear in the database"; fi

expect_status 0 ck issue --ca corp --profile tls-server --cn svc.example.com --key-out svc.key --out svc.pem
openssl verify -CAfile corp.pem -untrusted corpint.pem svc.pem >/dev/null || fail "openssl verify"
expect_eq "$(ck audit list --json | jq -r '[.[] | select(.action == "ca.import") | .object] | join(" ")')" "corp-root corp" "audit"

# Refused, nothing recorded.
expect_status 2 ck ca import other --cert corp.pem --key corpint.key
expect_grep "the key does not belong to the certificate" err
expect_status 2 ck ca import other --cert leafcert.pem --key leafcert.key
expect_grep "not a CA certificate" err
expect_status 5 ck ca import corp --cert corp.pem --key corp.key
expect_grep "a CA called 'corp' exists already" err
printf 'junk' >junk.key
expect_status 2 ck ca import other --cert corp.pem --key junk.key
expect_grep "the key cannot be read" err
expect_eq "$(ck ca list --json | jq length)" 2 "two CAs"
expect_status 0 ck audit verify
