# `make run`'s script on a fresh folder, then the README's quick start run
# as written (only the two ports changed, so the test never collides with
# a real server): every command must succeed, OCSP must say good, then
# revoked, and the CRL must list the certificate.
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
unset CERTKEEP_DB CERTKEEP_MASTER_KEY_FILE
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		ss -ltn "sport = :$p" | grep -q LISTEN || { echo "$p"; return; }
	done
}
P1=$(free_port); P2=$(free_port)
[ "$P1" != "$P2" ] || P2=$((P1 + 1))
mkdir -p certs
KEYALG= mkroot certs/local "Local Test Root"
CERTKEEP_LISTEN=127.0.0.1:$P1 CERTKEEP_LISTEN_PLAIN=127.0.0.1:$P2 CERTKEEP_WORKERS=2 \
	CERTKEEP_PUBLIC_URL=http://127.0.0.1:$P2 \
	sh "$REPO/scripts/run" "$CERTKEEP" "$T/certs" >run.log 2>&1 &
RUN_PID=$!
trap 'st=$?; kill -TERM $RUN_PID 2>/dev/null || true; sleep 0.5; rm -rf "$T"; exit $st' EXIT
for _ in $(seq 1 100); do
	grep -q "serving https" run.log && break
	kill -0 "$RUN_PID" 2>/dev/null || { cat run.log; fail "scripts/run exited"; }
	sleep 0.1
done
expect_grep "admin token (shown once" run.log
expect_grep "made the demo CA" run.log
[ "$(stat -c %a var/admin.token)" = 600 ] || fail "token file mode"
[ -f var/certkeep.conf ] || fail "no config file"
expect_grep "^server_ca = demo" var/certkeep.conf

sed -n '/<!-- quickstart -->/,/<!-- \/quickstart -->/p' "$REPO/README.md" |
	sed '1,2d;$d' | sed '$d' |
	sed "s/localhost:8443/localhost:$P1/g; s/127.0.0.1:8080/127.0.0.1:$P2/g" >quick.sh
[ "$(wc -l <quick.sh)" -gt 10 ] || fail "quick start not found in README.md"
bash -e quick.sh >quick.out 2>&1 || { cat quick.out; fail "README quick start"; }
expect_grep '"status":"ready"' quick.out
expect_grep "app.pem: good" quick.out
expect_grep "app.pem: revoked" quick.out
expect_grep "Serial Number: $(openssl x509 -in app.pem -noout -serial | sed 's/serial=//')" quick.out
expect_grep '^certkeep_certificates{expiry="later"}' quick.out
expect_grep '"action": "cert.revoke"' quick.out
# the imported folder is in the inventory
CERTKEEP_CONFIG=var/certkeep.conf "$CERTKEEP" list --name 'Local Test Root' --json | jq -e 'length == 1' >/dev/null ||
	fail "imported certificate not listed"

# a second run reuses everything: no new CA, no new token
kill -TERM "$RUN_PID"; wait "$RUN_PID" || true
CERTKEEP_LISTEN=127.0.0.1:$P1 CERTKEEP_LISTEN_PLAIN=127.0.0.1:$P2 \
	sh "$REPO/scripts/run" "$CERTKEEP" "$T/certs" >run2.log 2>&1 &
RUN_PID=$!
for _ in $(seq 1 100); do grep -q "serving https" run2.log && break; sleep 0.1; done
grep -q "admin token" run2.log && fail "second run made another token"
grep -q "made the demo CA" run2.log && fail "second run made another CA"
expect_grep "serving https" run2.log
kill -TERM "$RUN_PID"; wait "$RUN_PID" || true
if grep -qE 'ERROR: (Leak|Address)Sanitizer|runtime error' run.log run2.log; then
	cat run.log run2.log; fail "sanitizer report in the server log"
fi
