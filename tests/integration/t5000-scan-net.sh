# certkeep scan net against nginx on several 127.x addresses serving a
# valid chain, an expired certificate, a self-signed one, one for another
# name and one without its intermediate; plus a silent listener, one that
# stalls mid-handshake, and one
# that answers garbage. The scan must find exactly what nginx serves (as
# `openssl s_client` sees it), record it with its endpoint, and after a
# certificate change and a removed site report exactly those changes.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
command -v nginx >/dev/null || { sh "$HERE/../../scripts/bootstrap" >/dev/null 2>&1; }
command -v nginx >/dev/null || fail "nginx is not installed (scripts/bootstrap installs nginx-light)"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
P=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
NGINX_PID=""
PY_PID=""
cleanup() {
	[ -z "$NGINX_PID" ] || kill "$NGINX_PID" 2>/dev/null || true
	[ -z "$PY_PID" ] || kill "$PY_PID" 2>/dev/null || true
	sleep 0.2
	rm -rf "$T"
}
trap 'st=$?; cleanup; exit $st' EXIT

# a root and an intermediate (openssl), leaves under the intermediate
KEYALG= mkroot root "Scan Root"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key \
	-out inter.csr -subj "/CN=Scan Intermediate" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >inter.ext
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 365 \
	-extfile inter.ext -out inter.pem 2>/dev/null
mkcert valid inter 90 "/CN=valid.test" "subjectAltName=DNS:valid.test,IP:127.0.0.11"
cat valid.pem inter.pem >valid-chain.pem
mkcert wrongname inter 90 "/CN=other.test" "subjectAltName=DNS:other.test"
cat wrongname.pem inter.pem >wrongname-chain.pem
mkcert nointer inter 90 "/CN=nointer.test" "subjectAltName=IP:127.0.0.15"
mkcert alpha inter 90 "/CN=alpha.test" "subjectAltName=DNS:alpha.test,DNS:beta.test,DNS:*.wild.test"
mkcert beta inter 90 "/CN=beta.test" "subjectAltName=DNS:beta.test"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout self.key \
	-out self.pem -subj "/CN=self.test" -days 90 2>/dev/null
# expired: issued by certkeep's own CA with the clock 500 days back
past=$(( $(date +%s) - 500 * 86400 ))
CERTKEEP_NOW=$past ck ca init old >/dev/null
CERTKEEP_NOW=$past ck issue --ca old --profile tls-server --cn expired.test \
	--key-out expired.key --out expired.pem >/dev/null
ck ca show old-root --pem >old-root.pem
ck ca show old --pem >old.pem
cat root.pem old-root.pem old.pem >trust.pem

site() { # ADDR CERT KEY
	printf '\tserver { listen %s:%s ssl; ssl_certificate %s; ssl_certificate_key %s; return 200; }\n' \
		"$1" "$P" "$T/$2" "$T/$3"
}
write_conf() {
	{
		printf 'daemon off; pid %s/nginx.pid; error_log %s/error.log; worker_processes 1;\n' "$T" "$T"
		printf 'events { worker_connections 256; }\nhttp { access_log off;\n'
		printf '\tclient_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n' "$T" "$T" "$T" "$T" "$T"
		site 127.0.0.11 "$VALID" valid.key
		site 127.0.0.12 expired.pem expired.key
		site 127.0.0.13 self.pem self.key
		site 127.0.0.14 wrongname-chain.pem wrongname.key
		[ -n "${NOINTER:-}" ] && site 127.0.0.15 nointer.pem nointer.key
		# two virtual hosts on one address: the default one names both
		printf '\tserver { listen 127.0.0.18:%s ssl default_server; ssl_certificate %s; ssl_certificate_key %s; return 200; }\n' "$P" "$T/alpha.pem" "$T/alpha.key"
		printf '\tserver { listen 127.0.0.18:%s ssl; server_name beta.test; ssl_certificate %s; ssl_certificate_key %s; return 200; }\n' "$P" "$T/beta.pem" "$T/beta.key"
		printf '}\n'
	} >nginx.conf
}
VALID=valid-chain.pem NOINTER=1 write_conf
nginx -t -c "$T/nginx.conf" -p "$T" >/dev/null 2>&1 || { nginx -t -c "$T/nginx.conf" -p "$T"; fail "nginx config"; }
nginx -c "$T/nginx.conf" -p "$T" &
NGINX_PID=$!
# a silent listener (accepts, says nothing) and one that answers garbage
python3 - "$P" <<'PY' &
import socket, sys, threading, time
port = int(sys.argv[1])
def serve(addr, garbage):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16)
    keep = []
    while True:
        c, _ = s.accept(); keep.append(c)
        if garbage:
            c.sendall(b"HTTP/1.0 200 OK\r\n\r\nthis is not TLS\r\n" * 4); c.close()
threading.Thread(target=serve, args=("127.0.0.16", False), daemon=True).start()
threading.Thread(target=serve, args=("127.0.0.17", True), daemon=True).start()
time.sleep(600)  # killed at the end
PY
PY_PID=$!
for _ in $(seq 1 50); do
	[ "$(ss -ltn "sport = :$P" | grep -c 127.0.0.1)" -ge 8 ] && break
	sleep 0.1
done
[ "$(ss -ltn "sport = :$P" | grep -c 127.0.0.1)" -ge 8 ] || { ss -ltn; fail "listeners not up"; }

expect_status 0 ck scan net 127.0.0.10-17 --ports "$P" --trust trust.pem --timeout 1 --json
cp "$T/out" scan1.json
ep() { jq -c --arg e "$1:$P" '.endpoints[] | select(.endpoint == $e)' scan1.json; }
jq -e '.counts.endpoints == 8 and .counts.tls == 5 and .counts.refused == 1 and
	.counts.timeouts == 1 and .counts.failed == 1' scan1.json >/dev/null || { jq .counts scan1.json; fail "counts"; }
ep 127.0.0.11 | jq -e '.status == "tls" and .verified and .name_ok and .chain_length == 2 and .subject_cn == "valid.test"' >/dev/null || fail "valid: $(ep 127.0.0.11)"
ep 127.0.0.12 | jq -e '.verified == false and (.verify_error | test("expired"))' >/dev/null || fail "expired: $(ep 127.0.0.12)"
ep 127.0.0.13 | jq -e '.verified == false and (.verify_error | test("self.signed"))' >/dev/null || fail "self-signed: $(ep 127.0.0.13)"
ep 127.0.0.14 | jq -e '.name_ok == false and .subject_cn == "other.test"' >/dev/null || fail "wrong name: $(ep 127.0.0.14)"
ep 127.0.0.15 | jq -e '.verified == false and .chain_length == 1 and (.verify_error | test("local issuer"))' >/dev/null || fail "no intermediate: $(ep 127.0.0.15)"
ep 127.0.0.16 | jq -e '.status == "timeout"' >/dev/null || fail "silent: $(ep 127.0.0.16)"
ep 127.0.0.17 | jq -e '.status == "tls-failed"' >/dev/null || fail "garbage: $(ep 127.0.0.17)"
jq -e "[.changes[] | select(.change == \"new\")] | length == 5" scan1.json >/dev/null || { jq -c .changes scan1.json; fail "first scan: 5 new"; }

# the leaves are what openssl s_client sees, and they are in the inventory
# with their endpoints as locations
for a in 11 12 13 14 15; do
	fp=$(openssl s_client -connect "127.0.0.$a:$P" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
	id=$(ep "127.0.0.$a" | jq -r .cert_id)
	expect_eq "$(ck show "$id" --json | jq -r .sha256)" "$fp" "127.0.0.$a leaf"
	ck show "$id" --json | jq -e --arg p "127.0.0.$a:$P" '.locations | map(.place) | index($p) != null' >/dev/null ||
		fail "127.0.0.$a: no endpoint location"
done

# a certificate replaced, a site gone: the second scan says exactly that
mkcert valid2 inter 90 "/CN=valid.test" "subjectAltName=DNS:valid.test,IP:127.0.0.11"
cat valid2.pem inter.pem >valid2-chain.pem
cp valid.key valid.key.old && cp valid2.key valid.key
VALID=valid2-chain.pem write_conf
kill -HUP "$NGINX_PID"
for _ in $(seq 1 50); do
	openssl s_client -connect "127.0.0.15:$P" </dev/null >/dev/null 2>&1 || break
	sleep 0.1
done
sleep 0.3
expect_status 0 ck scan net 127.0.0.10-17 --ports "$P" --trust trust.pem --timeout 1 --json
cp "$T/out" scan2.json
jq -c '[.changes[] | {change, endpoint}] | sort_by(.endpoint)' scan2.json >changes.json
expect_eq "$(cat changes.json)" \
	"[{\"change\":\"replaced\",\"endpoint\":\"127.0.0.11:$P\"},{\"change\":\"gone\",\"endpoint\":\"127.0.0.15:$P\"}]" \
	"changes"
expect_eq "$(ck audit list --json | jq '[.[] | select(.action == "scan.change")] | length')" 2 "change events"
# virtual hosts: names from the default certificate's SANs tried as SNI
expect_status 0 ck scan net 127.0.0.18 --ports "$P" --trust trust.pem --sni-from-sans --json
jq -c '[.endpoints[] | {endpoint, subject_cn}] | sort_by(.endpoint)' "$T/out" >vhosts.json
expect_eq "$(cat vhosts.json)" "[{\"endpoint\":\"127.0.0.18:$P\",\"subject_cn\":\"alpha.test\"},{\"endpoint\":\"127.0.0.18:$P/alpha.test\",\"subject_cn\":\"alpha.test\"},{\"endpoint\":\"127.0.0.18:$P/beta.test\",\"subject_cn\":\"beta.test\"}]" "virtual hosts"
# a 10 MB chain: refused by the client's bound (OpenSSL's max_cert_list),
# reported as a failed handshake, nothing recorded, no crash
openssl x509 -in inter.pem -outform DER -out inter.der
n=$(( 10 * 1024 * 1024 / $(stat -c %s inter.der) ))
cp valid.pem huge-chain.pem
i=0; while [ $i -lt "$n" ]; do cat inter.pem; i=$((i + 1)); done >>huge-chain.pem
cat >huge.conf <<CONF
daemon off; pid $T/huge.pid; error_log $T/huge.log; worker_processes 1;
events { worker_connections 16; }
http { access_log off; client_body_temp_path $T; proxy_temp_path $T; fastcgi_temp_path $T; uwsgi_temp_path $T; scgi_temp_path $T;
	server { listen 127.0.0.19:$P ssl; ssl_certificate $T/huge-chain.pem; ssl_certificate_key $T/valid.key.old; return 200; } }
CONF
nginx -c "$T/huge.conf" -p "$T" &
HUGE_PID=$!
for _ in $(seq 1 100); do ss -ltn "sport = :$P" | grep -q 127.0.0.19 && break; sleep 0.1; done
expect_status 0 ck scan net 127.0.0.19 --ports "$P" --timeout 5 --json
kill "$HUGE_PID" 2>/dev/null
jq -e '.endpoints[0].status == "tls-failed" and (.endpoints[0].error | test("excessive|too long|large"))' "$T/out" >/dev/null ||
	{ jq -c '.endpoints[0]' "$T/out"; fail "10 MB chain"; }
# a TLS server that stalls mid-handshake: a relay to the valid site that
# passes the ClientHello on but only the first 60 bytes of the answer
python3 - "$P" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.20", port)); s.listen(4)
s.settimeout(20)
c, _ = s.accept()
up = socket.create_connection(("127.0.0.11", port))
up.sendall(c.recv(65536))
got = b""
while len(got) < 60:
    got += up.recv(60 - len(got))
c.sendall(got)
time.sleep(15)
PY
STALL_PID=$!
for _ in $(seq 1 50); do ss -ltn "sport = :$P" | grep -q 127.0.0.20 && break; sleep 0.1; done
start=$(date +%s)
expect_status 0 ck scan net 127.0.0.20 --ports "$P" --timeout 1 --retries 0 --json
kill "$STALL_PID" 2>/dev/null || true
jq -e '.endpoints[0].status == "timeout"' "$T/out" >/dev/null || { jq -c '.endpoints[0]' "$T/out"; fail "stalled handshake"; }
[ $(( $(date +%s) - start )) -le 5 ] || fail "a stalled handshake held the scan for $(( $(date +%s) - start )) s"
# the table form
expect_status 0 ck scan net 127.0.0.11 --ports "$P" --trust trust.pem
expect_grep "127.0.0.11:$P" "$T/out"
expect_grep "trusted" "$T/out"
# bad input: a malformed target list changes nothing
expect_status 2 ck scan net 127.0.0.1/99
expect_status 2 ck scan net "10.0.0.9-10.0.0.1"
expect_status 2 ck scan net 127.0.0.1 --ports 0
