# The system trust store: every certificate under /usr/share/ca-certificates
# is recorded exactly once, with fields equal to what openssl prints.
. "$(dirname "$0")/lib.sh"
src=/usr/share/ca-certificates
[ -d "$src" ] || fail "$src missing (install ca-certificates)"

expect_status 0 ck import -r -q "$src"
# Distinct certificates according to openssl.
find "$src" -type f -name '*.crt' | sort | while read -r f; do
	openssl x509 -in "$f" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
		tr 'A-F' 'a-f'
done | sort -u >want.sha
expect_eq "$(ck list --json | jq -r '.[].sha256' | sort)" "$(cat want.sha)" \
	"set of certificates"

# Importing again, and through the /etc/ssl/certs links, adds nothing new.
expect_status 0 ck import -r -q "$src"
expect_grep "imported 0 new" out

# Field by field against openssl.
ck list --json >all.json
n=0
find "$src" -type f -name '*.crt' | sort | while read -r f; do
	sha=$(openssl x509 -in "$f" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
	row=$(jq -c --arg s "$sha" '.[] | select(.sha256 == $s)' all.json)
	[ -n "$row" ] || fail "$f: not in the inventory"
	get() { printf "%s\n" "$row" | jq -r "$1"; }
	sha1=$(openssl x509 -in "$f" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
	expect_eq "$(get .sha1)" "$sha1" "$f sha1"
	serial=$(openssl x509 -in "$f" -noout -serial | sed 's/.*=//' | tr 'A-F' 'a-f')
	expect_eq "$(get .serial)" "$serial" "$f serial"
	subj=$(openssl x509 -in "$f" -noout -subject -nameopt RFC2253,-esc_msb | sed 's/^subject=//')
	expect_eq "$(get .subject)" "$subj" "$f subject"
	iss=$(openssl x509 -in "$f" -noout -issuer -nameopt RFC2253,-esc_msb | sed 's/^issuer=//')
	expect_eq "$(get .issuer)" "$iss" "$f issuer"
	nb=$(date -u -d "$(openssl x509 -in "$f" -noout -startdate | sed 's/.*=//')" +%Y-%m-%dT%H:%M:%SZ)
	na=$(date -u -d "$(openssl x509 -in "$f" -noout -enddate | sed 's/.*=//')" +%Y-%m-%dT%H:%M:%SZ)
	expect_eq "$(get .not_before)" "$nb" "$f not_before"
	expect_eq "$(get .not_after)" "$na" "$f not_after"
	text=$(openssl x509 -in "$f" -noout -text)
	sig=$(echo "$text" | sed -n 's/^ *Signature Algorithm: //p' | head -1)
	expect_eq "$(get .signature_algorithm)" "$sig" "$f signature algorithm"
	bits=$(echo "$text" | sed -n 's/^ *Public-Key: (\([0-9]*\) bit)/\1/p')
	expect_eq "$(get .key_bits)" "$bits" "$f key bits"
	case "$(echo "$text" | sed -n 's/^ *Public Key Algorithm: //p')" in
	rsaEncryption) kt=rsa ;;
	id-ecPublicKey) kt=ec ;;
	*) kt=other ;;
	esac
	expect_eq "$(get .key_type)" "$kt" "$f key type"
	if echo "$text" | grep -q "CA:TRUE"; then ca=true; else ca=false; fi
	expect_eq "$(get .is_ca)" "$ca" "$f is_ca"
	ski=$(echo "$text" | sed -n '/Subject Key Identifier/{n;p}' | tr -d ' :' | tr 'A-F' 'a-f')
	expect_eq "$(get '.ski // ""')" "$ski" "$f subject key id"
	n=$((n + 1))
done
echo "compared $(jq length all.json) certificates field by field"
