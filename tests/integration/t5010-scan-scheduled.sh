# Saved scans in the daemon: defined over REST, run at once by the
# scheduler (not on the HTTP workers), results and figures over REST, run
# again on demand, deleted; nginx on loopback is what they find. Saved
# files and ssh scans of paths on the server's host run the same way.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/bootstrap installs nginx-light)"
P=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
KEYALG= mkroot root "Sched Root"
mkcert site root 90 "/CN=site.test" "subjectAltName=DNS:site.test,IP:127.0.0.21"
cat >nginx.conf <<CONF
daemon off; pid $T/nginx.pid; error_log $T/error.log; worker_processes 1;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $T; proxy_temp_path $T; fastcgi_temp_path $T; uwsgi_temp_path $T; scgi_temp_path $T;
	server { listen 127.0.0.21:$P ssl; ssl_certificate $T/site.pem; ssl_certificate_key $T/site.key; return 200; } }
CONF
nginx -c "$T/nginx.conf" -p "$T" &
NGINX_PID=$!
trap 'st=$?; kill $NGINX_PID 2>/dev/null; stop_serve; rm -rf "$T"; exit $st' EXIT
start_serve
TOKEN=$(ck token create --role operator --name ops 2>/dev/null)

expect_api 201 POST /api/v1/scans -H 'Content-Type: application/json' \
	-d "{\"name\":\"lab\",\"targets\":[\"127.0.0.20-22\"],\"ports\":\"$P\",\"every\":\"1h\"}"
jq -e '.name == "lab" and .every_seconds == 3600' "$T/body" >/dev/null || fail "create"
expect_api 409 POST /api/v1/scans -H 'Content-Type: application/json' \
	-d "{\"name\":\"lab\",\"targets\":[\"127.0.0.1\"]}"
expect_api 400 POST /api/v1/scans -H 'Content-Type: application/json' \
	-d '{"name":"bad","targets":["10.0.0.0/99"]}'
for _ in $(seq 1 100); do
	[ "$(api GET /api/v1/scans/lab/results)" = 200 ] && break
	sleep 0.1
done
expect_api 200 GET /api/v1/scans/lab/results
jq -e --arg e "127.0.0.21:$P" '.counts.tls == 1 and .counts.endpoints == 3 and
	([.endpoints[] | select(.endpoint == $e and .status == "tls")] | length == 1)' "$T/body" >/dev/null ||
	{ cat "$T/body"; fail "results"; }
first=$(jq -r .scan "$T/body")
id=$(jq -r --arg e "127.0.0.21:$P" '.endpoints[] | select(.endpoint == $e) | .cert_id' "$T/body")
expect_eq "$(ck show "$id" --json | jq -r .cn)" "site.test" "the certificate found"
expect_grep "saved scan 'lab' done" "$T/serve.log"
expect_api 200 GET /api/v1/scans
jq -e '.items[0].last_counts.tls == 1 and (.items[0].next_run | length > 0)' "$T/body" >/dev/null || fail "list"

expect_api 202 POST /api/v1/scans/lab/run
for _ in $(seq 1 100); do
	api GET /api/v1/scans/lab/results >/dev/null
	[ "$(jq -r .scan "$T/body")" != "$first" ] && break
	sleep 0.1
done
[ "$(jq -r .scan "$T/body")" != "$first" ] || fail "run now did not run"
expect_api 404 POST /api/v1/scans/nope/run
TOKEN=$(ck token create --role auditor --name aud 2>/dev/null) expect_api 403 POST /api/v1/scans/lab/run
expect_api 200 DELETE /api/v1/scans/lab
expect_api 404 GET /api/v1/scans/lab/results
expect_eq "$(ck audit list --json | jq '[.[] | select(.action == "scan.define" or .action == "scan.delete")] | length')" 2 "audit"

# Saved files and SSH scans: paths on the server's host.
mkdir -p "$T/local/certs" "$T/local/ssh"
cp "$T/site.pem" "$T/local/certs/"
ssh-keygen -q -t ed25519 -N '' -C local -f "$T/local/ssh/id"
TOKEN=$(ck token create --role operator --name ops2 2>/dev/null)
expect_api 201 POST /api/v1/scans -H 'Content-Type: application/json' \
	-d "{\"name\":\"pem\",\"kind\":\"files\",\"targets\":[\"$T/local/certs\"],\"every\":\"1h\"}"
expect_api 201 POST /api/v1/scans -H 'Content-Type: application/json' \
	-d "{\"name\":\"keys\",\"kind\":\"ssh\",\"targets\":[\"$T/local/ssh\"]}"
jq -e '.kind == "ssh"' "$T/body" >/dev/null || fail "kind"
expect_api 400 POST /api/v1/scans -H 'Content-Type: application/json' \
	-d '{"name":"rel","kind":"files","targets":["relative/path"]}'
expect_api 400 POST /api/v1/scans -H 'Content-Type: application/json' \
	-d "{\"name\":\"pp\",\"kind\":\"ssh\",\"targets\":[\"$T\"],\"ports\":\"443\"}"
expect_api 400 POST /api/v1/scans -H 'Content-Type: application/json' \
	-d '{"name":"what","kind":"smb","targets":["/srv"]}'
for n in pem keys; do
	for _ in $(seq 1 100); do
		[ "$(api GET /api/v1/scans/$n/results)" = 200 ] && break
		sleep 0.1
	done
	expect_api 200 GET /api/v1/scans/$n/results
	cp "$T/body" "$T/$n.json"
done
expect_eq "$(jq -r '.endpoints[0].endpoint' "$T/pem.json")" "$T/local/certs/site.pem#1" "files scan place"
expect_eq "$(ck show "$(jq -r '.endpoints[0].cert_id' "$T/pem.json")" --json | jq -r .cn)" "site.test" "files scan certificate"
expect_eq "$(jq -r '.endpoints[0].endpoint' "$T/keys.json")" "$T/local/ssh/id.pub#1" "ssh scan place"
[ "$(jq -r '.endpoints[0].ssh_key_id' "$T/keys.json")" -gt 0 ] || fail "ssh scan key id"
expect_eq "$(jq -r .counts.keys "$T/keys.json")" 1 "ssh scan counts"
expect_grep "saved scan 'keys' done" "$T/serve.log"
