# certkeep scan ssh against keys and certificates made by ssh-keygen
# (Debian's openssh-client): every key is reported exactly as
# `ssh-keygen -l -f` prints it, certificates with the principals and
# validity `ssh-keygen -L -f` prints, authorized_keys options are skipped
# correctly, and the keys are in the inventory with their files.
. "$(dirname "$0")/lib.sh"
command -v ssh-keygen >/dev/null || fail "ssh-keygen missing (apt-get install openssh-client)"

mkdir -p keys home/.ssh
ssh-keygen -q -t rsa -b 3072 -N '' -C "rsa key" -f keys/rsa
ssh-keygen -q -t ecdsa -b 256 -N '' -C "ecdsa 256" -f keys/ec256
ssh-keygen -q -t ecdsa -b 384 -N '' -C "ecdsa 384" -f keys/ec384
ssh-keygen -q -t ecdsa -b 521 -N '' -C "" -f keys/ec521
ssh-keygen -q -t ed25519 -N '' -C "alice@laptop" -f keys/ed
ssh-keygen -q -t ed25519 -N '' -C "user ca" -f ca
ssh-keygen -q -s ca -I "alice id" -n alice,bob -V +52w keys/ed.pub
ssh-keygen -q -s ca -h -I "host one" -n host.example,10.0.0.1 -z 7 \
	-V 20250101000000:20300101000000 keys/ec384.pub
ssh-keygen -q -s ca -I forever keys/rsa.pub # no principals, valid forever
# authorized_keys with options, quoted commas and spaces, comments.
{
	echo "# team keys"
	echo
	# First: ssh-keygen -l (9.2) prints the comment of the line before
	# for a line that has none.
	printf '   %s\n' "$(cut -d' ' -f1,2 keys/rsa.pub)"
	printf 'from="10.0.0.1,10.0.0.2",command="echo \\"a, b\\" c",no-pty %s\n' "$(cat keys/ed.pub)"
	printf 'restrict %s\n' "$(cat keys/ec256.pub)"
	echo "this line is not a key"
} >home/.ssh/authorized_keys

# Folders: *.pub and *-cert.pub; authorized_keys by name.
expect_status 1 ck scan ssh --json keys home
cp out scan.json
expect_eq "$(jq .files scan.json)" 9 "files"
expect_eq "$(jq .keys scan.json)" 11 "keys"
expect_eq "$(jq .certificates scan.json)" 3 "certificates"
expect_eq "$(jq .bad_lines scan.json)" 1 "bad lines"
expect_eq "$(jq -r '.problems[0].path' scan.json)" "$T/home/.ssh/authorized_keys:6" "bad line"

# Each file's lines as ssh-keygen -l prints them, in order.
for f in keys/*.pub home/.ssh/authorized_keys; do
	p=$(realpath "$f")
	jq -r --arg p "$p" '.found[] | select(.path == $p) | .keygen_line' scan.json >ours
	ssh-keygen -l -f "$f" >theirs 2>/dev/null || true
	diff -u theirs ours || fail "$f: fingerprint lines differ from ssh-keygen -l"
done

# Certificates as ssh-keygen -L prints them (UTC).
for c in ed ec384 rsa; do
	f=keys/$c-cert.pub
	TZ=UTC ssh-keygen -L -f "$f" >L
	q() { jq -r --arg p "$(realpath "$f")" ".found[] | select(.path == \$p) | $1" scan.json; }
	expect_eq "$(q '.certificate.cert_type') certificate" \
		"$(sed -n 's/.*Type: [^ ]* \(.*\)$/\1/p' L)" "$c type"
	expect_eq "\"$(q '.certificate.key_id')\"" "$(sed -n 's/.*Key ID: //p' L)" "$c key id"
	expect_eq "$(q '.certificate.serial')" "$(sed -n 's/.*Serial: //p' L)" "$c serial"
	expect_eq "$(q '.certificate.validity')" "$(sed -n 's/.*Valid: //p' L)" "$c validity"
	want=$(sed -n '/Principals:/,/Critical Options:/p' L | sed '1d;$d' | tr -d ' \t' | paste -sd, -)
	[ -n "$want" ] || sed -n 's/.*Principals: //p' L | grep -q '(none)' || fail "$c: principals not read"
	expect_eq "$(q '.certificate.principals | join(",")')" "$want" "$c principals"
	expect_eq "$(q '.certificate.ca_algorithm + " " + .certificate.ca_fingerprint + " (using " + .certificate.signature_algorithm + ")"')" \
		"$(sed -n 's/.*Signing CA: //p' L)" "$c signing CA"
done

# authorized_keys options are kept as written.
expect_eq "$(jq -r '.found[] | select(.line == 4) | .options' scan.json)" \
	'from="10.0.0.1,10.0.0.2",command="echo \"a, b\" c",no-pty' "options"

# The inventory: one row per distinct blob (the ed25519 and ecdsa-256 and
# rsa keys are in two files each), with their files.
expect_status 0 ck scan ssh --list --json
cp out list.json
expect_eq "$(jq length list.json)" 8 "distinct keys"
ed_fp=$(ssh-keygen -l -f keys/ed.pub | cut -d' ' -f2)
expect_eq "$(jq -c --arg fp "$ed_fp" '[.[] | select(.fingerprint == $fp and .cert_type == null) | .locations[].place]' list.json)" \
	"[\"$T/home/.ssh/authorized_keys\",\"$T/keys/ed.pub\"]" "ed25519 key's places"
expect_eq "$(jq -r --arg fp "$ed_fp" '.[] | select(.fingerprint == $fp and .cert_type == "user") | .principals' list.json | paste -sd, -)" \
	"alice,bob" "stored principals"
expect_eq "$(jq -r '.[] | select(.key_id == "forever") | .valid_before' list.json)" null "forever"
ck scan ssh --list >list.txt
expect_grep "$ed_fp alice@laptop (ED25519)" list.txt

# Again: nothing new; the table for people; audit events.
expect_status 1 ck scan ssh keys home
expect_grep "11 SSH keys (3 certificates, 0 new)" out
expect_grep "$(ssh-keygen -l -f keys/ec384-cert.pub)" out
expect_grep "principals: host.example, 10.0.0.1" out
ck audit list >audit.txt
expect_grep "ssh" audit.txt
expect_status 0 ck audit verify

# The default places: ~/.ssh/authorized_keys (and /etc/ssh host keys,
# /root/.ssh/authorized_keys, when they exist).
HOME=$T/home expect_status 1 ck scan ssh --json
expect_eq "$(jq -r '[.found[].path] | unique | map(select(startswith("'"$T"'"))) | join(",")' out)" \
	"$T/home/.ssh/authorized_keys" "default paths"
for f in /etc/ssh/ssh_host_*.pub; do
	[ -e "$f" ] || continue
	expect_eq "$(jq -r --arg p "$(realpath "$f")" '.found[] | select(.path == $p) | .keygen_line' out)" \
		"$(ssh-keygen -l -f "$f")" "$f"
done

# Bad input: a file of garbage, a huge line, an unreadable path.
head -c 3000 /dev/urandom >junk.pub
{ printf 'ssh-ed25519 '; head -c 300000 /dev/zero | tr '\0' 'A'; echo; } >huge.pub
expect_status 1 ck scan ssh --json junk.pub huge.pub nowhere.pub
expect_eq "$(jq -c '[.keys, .unreadable]' out)" '[0,1]' "bad input"
expect_grep "too large\|at most" out
expect_status 2 ck scan ssh --list keys
# Scan records and what changed: a key removed from authorized_keys, a
# host key replaced, an SSH certificate within 30 days of expiry.
mkdir sshdiff
{ cat keys/rsa.pub; cat keys/ec256.pub; } >sshdiff/authorized_keys
cp keys/ec521.pub sshdiff/ssh_host_ecdsa_key.pub
ssh-keygen -q -t ed25519 -N '' -C soon -f sshdiff/soon
ssh-keygen -q -s ca -I soon -n carol -V -1d:+10d sshdiff/soon.pub
expect_status 0 ck scan ssh --json sshdiff
first=$(jq .scan_id out)
[ "$first" -gt 0 ] || fail "no ssh scan record"
expect_eq "$(jq .changes out)" 6 "first scan: 5 places new, 1 certificate expiring"
rsa_line=$(cat keys/rsa.pub)
printf '%s\n' "$rsa_line" >sshdiff/authorized_keys
cp keys/ed.pub sshdiff/ssh_host_ecdsa_key.pub
expect_status 0 ck scan ssh --json sshdiff
expect_eq "$(jq .scan_id out)" $((first + 1)) "second ssh scan record"
expect_eq "$(jq .changes out)" 2 "second scan: a key gone, a host key replaced"
expect_grep "scan $((first + 2)), 0 changes" "$(ck scan ssh sshdiff >text.out; echo text.out)"
ck audit list --json >events.json
expect_eq "$(jq '[.[] | select(.action == "scan.change" and (.object | endswith("/sshdiff/authorized_keys#2")) and (.detail | endswith("-> 0")))] | length' events.json)" 1 "gone key event"
expect_eq "$(jq '[.[] | select(.action == "scan.change" and (.object | endswith("/sshdiff/ssh_host_ecdsa_key.pub#1")))] | length' events.json)" 1 "replaced host key event"
expect_eq "$(jq '[.[] | select(.action == "scan.expiry" and (.object | endswith("/sshdiff/soon-cert.pub#1")))] | length' events.json)" 1 "expiring certificate event"
echo "t5210 ok"
