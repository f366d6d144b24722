# Saved scans in the daemon: defined over REST, run at once by the
# scheduler (not on the HTTP workers), results and figures over REST, run
# again on demand, deleted; nginx on loopback is what they find.
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
