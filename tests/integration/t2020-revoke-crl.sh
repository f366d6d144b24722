# Revocation and CRLs: revoked with time and reason, recorded once, a new
# CRL signed at once; OpenSSL verifies the CRL, lists the serial with its
# reason, and rejects the revoked certificate while the others pass.
. "$(dirname "$0")/lib.sh"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
expect_status 0 ck ca init acme
ck ca show acme-root --pem >root.pem
ck ca show acme --pem >acme.pem
cat root.pem acme.pem >chain.pem
for n in a b c; do
	expect_status 0 ck issue --ca acme --profile tls-server --cn "$n.example.com" --key-out "$n.key" --out "$n.pem"
done

# The first CRL: empty, number 1, verified by openssl.
expect_status 0 ck ca crl acme --out crl0.pem
openssl crl -in crl0.pem -CAfile chain.pem -noout 2>&1 | grep -q "verify OK" || fail "crl0 verify"
openssl crl -in crl0.pem -noout -text >crl0.txt
expect_grep "No Revoked Certificates" crl0.txt
expect_eq "$(sed -n '/CRL Number/{n;p}' crl0.txt | tr -d ' ')" 1 "first CRL number"
# Asked again before it is due: the same CRL, not a new one.
ck ca crl acme --out again.pem
cmp -s crl0.pem again.pem || fail "a new CRL without a reason"

sha=$(openssl x509 -in a.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
serial=$(openssl x509 -in a.pem -noout -serial | sed 's/serial=//')
expect_status 0 ck revoke "$sha" --reason keyCompromise
expect_grep "revoked certificate .* reason keyCompromise" out
# Twice: reported, the first reason kept, no second event.
expect_status 0 ck revoke "$sha" --reason superseded
expect_grep "was already revoked" out
expect_eq "$(ck audit list --json | jq '[.[] | select(.action == "cert.revoke")] | length')" 1 "one revoke event"

expect_status 0 ck ca crl acme --der --out crl1.der
openssl crl -inform DER -in crl1.der -CAfile chain.pem -noout 2>&1 | grep -q "verify OK" || fail "crl1 verify"
openssl crl -inform DER -in crl1.der -noout -text >crl1.txt
expect_grep "Serial Number: $serial" crl1.txt
expect_grep "Key Compromise" crl1.txt
expect_eq "$(sed -n '/CRL Number/{n;p}' crl1.txt | tr -d ' ')" 2 "CRL number increases"
openssl crl -inform DER -in crl1.der -out crl1.pem
if openssl verify -crl_check -CAfile chain.pem -CRLfile crl1.pem a.pem >/dev/null 2>&1; then
	fail "openssl accepted the revoked certificate"
fi
openssl verify -crl_check -CAfile chain.pem -CRLfile crl1.pem a.pem 2>&1 | grep -q "certificate revoked" || fail "not reported revoked"
openssl verify -crl_check -CAfile chain.pem -CRLfile crl1.pem b.pem >/dev/null || fail "b should pass"

# A second revocation with the default reason (left out of the entry).
expect_status 0 ck revoke "$(openssl x509 -in b.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')"
ck ca crl acme --out crl2.pem
expect_eq "$(openssl crl -in crl2.pem -noout -text | grep -c 'Serial Number')" 2 "two entries"
expect_eq "$(openssl crl -in crl2.pem -noout -text | sed -n '/CRL Number/{n;p}' | tr -d ' ')" 3 "third CRL"
openssl verify -crl_check -CAfile chain.pem -CRLfile crl2.pem c.pem >/dev/null || fail "c should pass"

# Bad requests.
expect_status 2 ck revoke "$sha" --reason nonsense
expect_grep "unknown reason 'nonsense'" err
root_sha=$(openssl x509 -in root.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
expect_status 2 ck revoke "$root_sha"
expect_grep "not issued by a built-in CA" err
expect_status 3 ck revoke ffffffffffff
expect_status 3 ck ca crl nosuch
expect_status 0 ck audit verify
