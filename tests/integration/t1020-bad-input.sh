# Bad input gets one clear line each and the import goes on: the good
# certificate in the same run is imported, and the exit status is 1.
. "$(dirname "$0")/lib.sh"
mkroot good "Good Root"
mkdir in
cp good.pem in/good.pem
openssl x509 -in good.pem -outform DER -out good.der
head -c 200 good.der >in/truncated.der
sed '3s/^..../!!!!/' good.pem >in/broken-base64.pem
openssl pkcs12 -export -in good.pem -inkey good.key -passout pass:right -out in/wrong-pw.p12
truncate -s 1G in/huge.pem                       # sparse: no disk used
head -c 4096 /dev/urandom | tr '\060' '\061' >in/noise.bin  # never starts a DER SEQUENCE
printf '\060\001' | cat - /dev/urandom | head -c 3000 >in/noise-der.bin
printf 'nothing here\n' >in/notes.txt
mkdir -p in/loop/inner && ln -s .. in/loop/inner/back
printf 'wrong\n' >pw.txt

expect_status 1 ck import -r --password-file pw.txt in
cat err
expect_grep "in/good.pem: 1 certificate (1 new, 0 known)" out
expect_grep "truncated.der#1: skipped: truncated or malformed DER" err
expect_grep "broken-base64.pem#1: skipped: CERTIFICATE: broken base64 in PEM block" err
expect_grep "wrong-pw.p12#1: skipped: PKCS#12 MAC does not verify with any password given" err
expect_grep "huge.pem: skipped: file is 1073741824 bytes, larger than the limit" err
expect_grep "noise.bin: skipped: no PEM block and not DER" err
expect_grep "noise-der.bin#1: skipped: DER structure is not a certificate" err
expect_grep "notes.txt: skipped: no PEM block and not DER" err
expect_grep "in/loop/inner/back: skipped: directory loop" err
expect_eq "$(count)" 1 "certificates recorded"
# One line per problem, nothing else on stderr.
expect_eq "$(wc -l <err)" 8 "lines on stderr"
expect_grep "imported 1 new, 0 already known, 8 skipped" out

# A file without read permission (run as nobody, since root reads anything).
cp good.pem secret.pem && chmod 000 secret.pem
chmod 777 "$T" && chmod 666 "$T/inv.db" "$T"/inv.db-* 2>/dev/null || true
if [ "$(id -u)" = 0 ]; then
	expect_status 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$CERTKEEP" import secret.pem
else
	expect_status 1 ck import secret.pem
fi
expect_grep "secret.pem: skipped: Permission denied" err

# A missing path and a folder without -r.
expect_status 1 ck import does-not-exist in
expect_grep "does-not-exist: skipped: No such file or directory" err
expect_grep "in: skipped: is a directory (use -r" err
# Nothing changed by the failures.
expect_eq "$(count)" 1 "certificates after failed imports"
expect_status 0 ck audit verify
