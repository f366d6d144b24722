# OCSP: `openssl ocsp` builds the requests and judges the responses: good,
# revoked with time and reason, unknown; signed by a delegated responder
# (OCSPSigning, no-check) that chains to the CA; the nonce echoed; bad
# requests answered with the right OCSP error status.
. "$(dirname "$0")/lib.sh"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
expect_status 0 ck ca init acme
ck ca show acme-root --pem >root.pem
ck ca show acme --pem >acme.pem
cat root.pem acme.pem >chain.pem
for n in good bad; do
	expect_status 0 ck issue --ca acme --profile tls-server --cn "$n.example.com" --key-out "$n.key" --out "$n.pem"
done
expect_status 0 ck revoke "$(openssl x509 -in bad.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')" --reason keyCompromise

# One request (with a nonce) for three certificates.
openssl ocsp -issuer acme.pem -cert good.pem -cert bad.pem -serial 0x1234 -reqout req.der
expect_status 0 ck ocsp respond --in req.der --out resp.der
openssl ocsp -reqin req.der -respin resp.der -CAfile chain.pem >verify.txt 2>&1 || { cat verify.txt; fail "openssl ocsp verify (with the nonce)"; }
expect_grep "Response verify OK" verify.txt
openssl ocsp -respin resp.der -issuer acme.pem -cert good.pem -cert bad.pem -serial 0x1234 \
	-CAfile chain.pem -no_nonce >status.txt 2>&1
expect_grep "^good.pem: good" status.txt
expect_grep "^bad.pem: revoked" status.txt
expect_grep "Reason: keyCompromise" status.txt
expect_grep "^0x1234: unknown" status.txt

# The responder certificate: delegated, OCSPSigning, no-check, by acme.
openssl ocsp -respin resp.der -resp_text -noverify >text.txt
expect_grep "Responder Id: CN = acme OCSP Responder" text.txt
expect_grep "OCSP Signing" text.txt
expect_grep "OCSP No Check" text.txt
expect_eq "$(ck audit list --json | jq '[.[] | select(.action == "ocsp.responder")] | length')" 1 "responder made once"
# Asked again (from stdin, without a nonce): the same responder.
openssl ocsp -issuer acme.pem -cert good.pem -no_nonce -reqout req2.der
ck ocsp respond <req2.der >resp2.der
openssl ocsp -respin resp2.der -issuer acme.pem -cert good.pem -CAfile chain.pem -no_nonce 2>&1 | grep -q "^good.pem: good" || fail "second answer"
expect_eq "$(ck audit list --json | jq '[.[] | select(.action == "ocsp.responder")] | length')" 1 "responder reused"
# Without a nonce (RFC 5019) answers come from the cache: the same bytes,
# even with the master key away; re-signed after half their validity;
# dropped when the certificate is revoked.
openssl ocsp -sha256 -issuer acme.pem -cert good.pem -no_nonce -reqout req6.der
ck ocsp respond --in req6.der --out c1.der
mv "$CERTKEEP_MASTER_KEY_FILE" away.key
ck ocsp respond --in req6.der --out c2.der || fail "cached answer needed the master key"
cmp -s c1.der c2.der || fail "not served from the cache"
mv away.key "$CERTKEEP_MASTER_KEY_FILE"
CERTKEEP_NOW=$(( $(date +%s) + 13 * 3600 )) "$CERTKEEP" ocsp respond --in req6.der --out c3.der
cmp -s c1.der c3.der && fail "a half-stale answer was not re-signed"
expect_status 0 ck revoke "$(openssl x509 -in good.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')"
ck ocsp respond --in req6.der | openssl ocsp -respin /dev/stdin -sha256 -issuer acme.pem -cert good.pem -CAfile chain.pem -no_nonce 2>&1 |
	grep -q "^good.pem: revoked" || fail "cache not dropped on revocation"

# Three weeks on, the responder is due and renewed.
CERTKEEP_NOW=$(( $(date +%s) + 24 * 86400 )) "$CERTKEEP" ocsp respond --in req2.der --out resp3.der
expect_eq "$(ck audit list --json | jq '[.[] | select(.action == "ocsp.responder")] | length')" 2 "responder renewed"

# The intermediate, asked of the root.
openssl ocsp -issuer root.pem -cert acme.pem -reqout req4.der
ck ocsp respond --in req4.der | openssl ocsp -respin /dev/stdin -issuer root.pem -cert acme.pem -CAfile root.pem -no_nonce 2>&1 |
	grep -q "^acme.pem: good" || fail "intermediate status"

# Wrong requests get OCSP's own answers.
printf 'not an OCSP request' | ck ocsp respond >bad.der
openssl ocsp -respin bad.der -resp_text -noverify 2>&1 | grep -q "malformedrequest" || fail "malformedRequest"
ck ocsp respond --ca acme-root --in req2.der | openssl ocsp -respin /dev/stdin -resp_text -noverify 2>&1 |
	grep -q "unauthorized" || fail "unauthorized for another CA"
mkroot other "Other Root"
openssl ocsp -issuer other.pem -cert other.pem -reqout req5.der
ck ocsp respond --in req5.der | openssl ocsp -respin /dev/stdin -resp_text -noverify 2>&1 |
	grep -q "unauthorized" || fail "unauthorized for an unknown CA"
expect_status 0 ck audit verify
