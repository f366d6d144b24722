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

# Field by field against openssl: one line per certificate from openssl's
# own output, one from ours, and the two tables must be equal.
lc() { tr 'A-F' 'a-f'; }
find "$src" -type f -name '*.crt' | sort | while read -r f; do
	text=$(openssl x509 -in "$f" -noout -text -fingerprint -sha256)
	sha=$(echo "$text" | sed -n 's/^sha256 Fingerprint=//p' | tr -d : | lc)
	names=$(openssl x509 -in "$f" -noout -serial -subject -issuer -nameopt RFC2253,-esc_msb -fingerprint -sha1)
	sha1=$(echo "$names" | sed -n 's/^sha1 Fingerprint=//p' | tr -d : | lc)
	serial=$(echo "$names" | sed -n 's/^serial=//p' | lc)
	subj=$(echo "$names" | sed -n 's/^subject=//p')
	iss=$(echo "$names" | sed -n 's/^issuer=//p')
	nb=$(date -u -d "$(echo "$text" | sed -n 's/^ *Not Before: //p' | head -1)" +%Y-%m-%dT%H:%M:%SZ)
	na=$(date -u -d "$(echo "$text" | sed -n 's/^ *Not After : //p' | head -1)" +%Y-%m-%dT%H:%M:%SZ)
	sig=$(echo "$text" | sed -n 's/^ *Signature Algorithm: //p' | head -1)
	bits=$(echo "$text" | sed -n 's/^ *Public-Key: (\([0-9]*\) bit)/\1/p')
	case "$(echo "$text" | sed -n 's/^ *Public Key Algorithm: //p')" in
	rsaEncryption) kt=rsa ;;
	id-ecPublicKey) kt=ec ;;
	*) kt=other ;;
	esac
	if echo "$text" | grep -q "CA:TRUE"; then ca=true; else ca=false; fi
	ski=$(echo "$text" | sed -n '/Subject Key Identifier/{n;p}' | tr -d ' :' | lc)
	aki=$(echo "$text" | sed -n '/Authority Key Identifier/{n;p}' | sed 's/keyid://' | tr -d ' :' | lc)
	printf '%s\t' "$sha" "$sha1" "$serial" "$subj" "$iss" "$nb" "$na" "$sig" "$kt" "$bits" "$ca" "$ski"
	printf '%s\n' "$aki"
done | sort >want.tsv
ck list --json | jq -r '.[] | [.sha256, .sha1, .serial, .subject, .issuer,
	.not_before, .not_after, .signature_algorithm, .key_type,
	(.key_bits|tostring), (.is_ca|tostring), (.ski // ""), (.aki // "")] | @tsv' |
	sed 's/\\\\/\\/g' | sort >got.tsv
expect_eq "$(wc -l <want.tsv)" "$(find "$src" -type f -name '*.crt' | wc -l)" "rows from openssl"
diff want.tsv got.tsv >fields.diff || { head -20 fields.diff; fail "fields differ from openssl's"; }
echo "compared $(wc -l <want.tsv) certificates field by field"
