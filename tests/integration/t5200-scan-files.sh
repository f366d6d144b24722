# certkeep scan files over a tree made with openssl: certificates in PEM,
# DER, PKCS#7 and PKCS#12 (no password, a given one, an unknown one),
# private keys in every form (matched to their certificates by public key,
# encrypted ones reported as such, an unencrypted one others can read
# reported as a finding), a symbolic link loop, links to a folder and to a
# key, broken links, a FIFO, a file over --max-size. Exact counts with
# --json; the certificates are then in list and show with their files.
. "$(dirname "$0")/lib.sh"

mkroot root "Scan Root"
mkcert a root 30 "/CN=a.example"
mkcert b root 30 "/CN=b.example"
KEYALG=rsa:2048 mkcert c root 30 "/CN=c.example"
mkcert d root 30 "/CN=d.example"
mkcert e root 30 "/CN=e.example"
mkcert f root 30 "/CN=f.example"
mkcert g root 30 "/CN=g.example"
openssl genpkey -algorithm ed25519 -out orphan.key 2>/dev/null

tr=$T/tree
mkdir -p "$tr/certs" "$tr/keys" "$tr/p12" "$tr/loop" "$tr/big"
cp a.pem "$tr/certs/a.pem"
openssl x509 -in b.pem -outform DER -out "$tr/certs/b.der"
openssl crl2pkcs7 -nocrl -certfile a.pem -certfile b.pem -out "$tr/certs/bundle.p7b"
cp c.pem "$tr/certs/c.pem"
openssl pkcs12 -export -in d.pem -inkey d.key -passout pass: -out "$tr/p12/d.p12"
openssl pkcs12 -export -in e.pem -inkey e.key -passout pass:s3cret -out "$tr/p12/e.p12"
openssl pkcs12 -export -in f.pem -inkey f.key -passout pass:unknown -out "$tr/p12/f.p12"
chmod 644 "$tr"/p12/*.p12
# Keys: PKCS#8 PEM and DER, SEC1, PKCS#1, encrypted PKCS#8, legacy
# encrypted PEM, an orphan readable by all, a link to a key.
openssl pkey -in a.key -out "$tr/keys/a.key"
openssl pkcs8 -topk8 -nocrypt -in a.key -outform DER -out "$tr/keys/a.der"
openssl ec -in b.key -out "$tr/keys/b.key" 2>/dev/null
openssl rsa -in c.key -traditional -out "$tr/keys/c.key" 2>/dev/null
openssl pkcs8 -topk8 -in c.key -v2 aes256 -passout pass:x -out "$tr/keys/enc8.key"
openssl rsa -in c.key -traditional -aes256 -passout pass:x -out "$tr/keys/legacy.key" 2>/dev/null
grep -q DEK-Info "$tr/keys/legacy.key" || fail "legacy.key is not an old-style encrypted PEM"
cp orphan.key "$tr/keys/exposed.key"
chmod 600 "$tr"/keys/*
chmod 644 "$tr/keys/exposed.key" "$tr/keys/enc8.key"
ln -s a.key "$tr/keys/link.key"
# Links that must not hang or crash the walk.
ln -s .. "$tr/loop/up"
ln -s self "$tr/loop/self"
ln -s nowhere "$tr/loop/dangling"
mkfifo "$tr/fifo"
# A certificate in a file over the size limit.
{ cat g.pem; head -c 200000 /dev/zero | tr '\0' '#'; } >"$tr/big/big.pem"
# Not certificate material: silent.
echo "plain notes" >"$tr/notes.txt"
echo "0 starts like DER" >"$tr/zero.txt"
echo s3cret >pw

# An unreadable file only means something when not root.
unreadable=2
if [ "$(id -u)" != 0 ]; then
	echo secret >"$tr/closed.pem"
	chmod 000 "$tr/closed.pem"
	unreadable=3
else
	echo "note: chmod 000 part skipped (root reads everything); broken links cover unreadable files"
fi

expect_status 1 ck scan files --json --password-file pw --max-size 100000 "$tr"
cp out scan1.json
j() { jq -c "$1" scan1.json; }
expect_eq "$(j .files)" 17 "files read"
expect_eq "$(j .dirs)" 6 "folders"
expect_eq "$(j .certificates)" '{"found":7,"new":5,"known":2}' "certificates"
expect_eq "$(j .keys)" '{"found":9,"matched":6,"unmatched":3,"encrypted":3,"exposed":2}' "keys"
expect_eq "$(j .unreadable)" "$unreadable" "unreadable"
expect_eq "$(j .bad_parts)" 1 "bad parts (the PKCS#12 of an unknown password)"
expect_eq "$(j .skipped)" '{"too_big":1,"other_fs":0,"special":1,"symlink_dirs":1}' "skipped"
expect_eq "$(j .limit_reached)" false "limit"
expect_eq "$(j '[.findings[] | [.path, .mode]]')" \
	"[[\"$tr/keys/exposed.key\",\"0644\"],[\"$tr/p12/d.p12\",\"0644\"]]" "findings"
expect_eq "$(j '[.bad_list[].path]')" "[\"$tr/p12/f.p12#1\"]" "bad part"
expect_eq "$(j '[.unreadable_list[] | select(.path | endswith("self"))][0].reason')" '"symbolic link loop"' "loop"
expect_eq "$(j '[.unreadable_list[] | select(.path | endswith("dangling"))][0].reason')" '"broken symbolic link"' "dangling"
expect_eq "$(j '[.skipped_list[].path]')" "[\"$tr/big/big.pem\",\"$tr/fifo\",\"$tr/loop/up\"]" "skipped paths"

# Keys: format, encryption and the certificate each matches.
sha() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
key() { jq -c --arg p "$tr/$1" '.key_list[] | select(.path == $p) | [.format, .encrypted, .exposed, .matched, .certificate]' scan1.json; }
expect_eq "$(key keys/a.key)" "[\"pkcs8\",false,false,1,\"$(sha a.pem)\"]" "a.key"
expect_eq "$(key keys/a.der)" "[\"pkcs8\",false,false,1,\"$(sha a.pem)\"]" "a.der"
expect_eq "$(key keys/b.key)" "[\"ec\",false,false,1,\"$(sha b.pem)\"]" "b.key"
expect_eq "$(key keys/c.key)" "[\"rsa\",false,false,1,\"$(sha c.pem)\"]" "c.key"
expect_eq "$(key keys/enc8.key)" '["pkcs8-encrypted",true,false,0,null]' "enc8.key"
expect_eq "$(key keys/legacy.key)" '["pem-encrypted",true,false,0,null]' "legacy.key"
expect_eq "$(key keys/exposed.key)" '["pkcs8",false,true,0,null]' "exposed.key"
expect_eq "$(key keys/link.key)" "" "a key reached through a link is counted once"
expect_eq "$(key p12/d.p12)" "[\"pkcs12\",false,true,1,\"$(sha d.pem)\"]" "d.p12"
expect_eq "$(key p12/e.p12)" "[\"pkcs12\",true,false,1,\"$(sha e.pem)\"]" "e.p12"

# The inventory: five certificates, each with its files.
expect_eq "$(count)" 5 "certificates in the inventory"
locs() { ck show --json "$(sha "$1")" | jq -c '[.locations[] | [.kind, .place]]'; }
expect_eq "$(locs a.pem)" "[[\"file\",\"$tr/certs/a.pem\"],[\"file\",\"$tr/certs/bundle.p7b\"]]" "a's locations"
expect_eq "$(locs e.pem)" "[[\"file\",\"$tr/p12/e.p12\"]]" "e's locations"
ck show "$(sha b.pem)" >show.txt
expect_grep "$tr/certs/b.der" show.txt
expect_grep "$tr/certs/bundle.p7b" show.txt
ck list >list.txt
expect_grep "c.example" list.txt
if grep -q "g.example\|f.example" list.txt; then fail "a skipped certificate is in the inventory"; fi

# The scan is in the audit log, and the log verifies.
ck audit list >audit.txt
expect_grep "scan" audit.txt
expect_grep "9 keys (6 matched, 3 encrypted, 2 exposed)" audit.txt
expect_status 0 ck audit verify

# Again: nothing new, same counts; the table for people.
expect_status 1 ck scan files --password-file pw --max-size 100000 "$tr"
expect_grep "7 certificates (0 new, 7 known)" out
expect_grep "9 private keys (6 matched, 3 unmatched, 3 encrypted, 2 exposed)" out
expect_grep "$tr/keys/exposed.key: unencrypted private key readable by group and others (mode 0644)" out
expect_eq "$(count)" 5 "still five"

# Limits: --max-files stops the walk; without the passwords e.p12 is a
# bad part too; a file given directly.
expect_status 0 ck scan files --json --max-files 3 "$tr/certs"
expect_eq "$(jq -c '[.files, .limit_reached]' out)" '[3,true]' "max files"
expect_status 1 ck scan files --json "$tr/p12"
expect_eq "$(jq -c '[.bad_parts, .keys.found]' out)" '[2,1]' "no passwords"
expect_status 0 ck scan files --json "$tr/certs/a.pem"
expect_eq "$(jq -c '.certificates' out)" '{"found":1,"new":0,"known":1}' "one file"

# Bad command lines.
expect_status 2 ck scan files
expect_status 2 ck scan files --max-size 0 "$tr"
expect_status 2 ck scan bogus
expect_status 0 ck scan --help
expect_grep "files" out
expect_grep "ssh" out

# Other filesystems are skipped unless asked (needs root and tmpfs).
mkdir -p fsroot/mnt
cp a.pem fsroot/a.pem
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs fsroot/mnt 2>/dev/null; then
	trap 'umount "$T/fsroot/mnt" 2>/dev/null || true; rm -rf "$T"' EXIT
	cp g.pem fsroot/mnt/g.pem
	expect_status 0 ck scan files --json fsroot
	expect_eq "$(jq -c '[.files, .skipped.other_fs]' out)" '[1,1]' "other filesystem skipped"
	expect_eq "$(jq -c '[.skipped_list[] | select(.reason == "another filesystem") | .path]' out)" "[\"$T/fsroot/mnt\"]" "which"
	expect_status 0 ck scan files --json --cross-filesystems fsroot
	expect_eq "$(jq -c '[.files, .skipped.other_fs]' out)" '[2,0]' "crossed"
	expect_eq "$(jq -c '[.certificate_list[] | select(.path == "'"$T"'/fsroot/mnt/g.pem") | .new]' out)" "[true]" "read on the other filesystem"
	umount fsroot/mnt
else
	echo "note: other-filesystem part skipped (not root or mount not permitted)"
fi

# Scan records and what changed: a second scan of the same paths after a
# certificate was replaced in a file and another file removed.
mkdir diffroot
mkroot droot "Diff Root"
mkcert d1 droot 90 "/CN=d1.example.test"
mkcert d2 droot 90 "/CN=d2.example.test"
mkcert d3 droot 90 "/CN=d3.example.test"
cp d1.pem diffroot/site.pem
cp d2.pem diffroot/other.pem
expect_status 0 ck scan files --json diffroot
first=$(jq .scan_id out)
[ "$first" -gt 0 ] || fail "no scan record"
cp d3.pem diffroot/site.pem
rm diffroot/other.pem
expect_status 0 ck scan files --json diffroot
expect_eq "$(jq .scan_id out)" $((first + 1)) "second scan record"
expect_eq "$(jq .changes out)" 2 "changes: one replaced, one gone"
ck audit list --json >events.json
expect_eq "$(jq '[.[] | select(.action == "scan.change" and (.object | endswith("/diffroot/site.pem#1")))] | length' events.json)" 1 "replaced event"
expect_eq "$(jq '[.[] | select(.action == "scan.change" and (.object | endswith("/diffroot/other.pem#1")) and (.detail | endswith("-> 0")))] | length' events.json)" 1 "gone event"
echo "t5200 ok"
