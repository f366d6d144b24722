#!/bin/sh
# Deployment to a real nginx on 127.0.0.1: a managed certificate from the
# built-in CA with a file target (nginx's certificate and key), reload
# `nginx -s reload` and verify at the endpoint. A forced renewal deploys
# through the job queue and `openssl s_client` sees the new certificate.
# Then a reload command that fails, and a certificate nginx refuses (its
# key left behind: nginx keeps its old configuration, and the endpoint
# check sees the old certificate): each time the old certificate is still
# served, the files hold it, the target says rolled_back, the audit log
# has the event and the alert state is recorded. Drift: a scan that saw
# the old certificate at the endpoint is reported until it is redeployed.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
command -v nginx >/dev/null || { sh "$HERE/../../scripts/bootstrap" >/dev/null 2>&1; }
command -v nginx >/dev/null || fail "nginx is not installed (scripts/bootstrap installs nginx-light)"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
P=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
NGINX_PID=""
cleanup() {
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
	sleep 0.2
	rm -rf "$T"
}
trap 'st=$?; [ -n "${KEEP:-}" ] && { cp -r "$T" /tmp/t7000-kept; cat "$T/err" >&2; }; cleanup; exit $st' EXIT

served() {
	openssl s_client -connect "127.0.0.1:$P" -servername web.test </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f
}
file_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }
# after a reload nginx's old worker may take a last connection: wait
wait_served() {
	for _ in $(seq 1 30); do [ "$(served)" = "$1" ] && return 0; sleep 0.1; done
	fail "$2: served $(served), want $1"
}
current() { ck manage show web | jq -r .sha256; }
tstate() { ck deploy status --json | jq -r --argjson id "$1" ".targets[] | select(.id == \$id) | $2"; }
db() { sqlite3 "$T/inv.db" "$1"; }

# nginx starts on a placeholder certificate
mkdir -p nginx
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout nginx/key.pem \
	-out nginx/cert.pem -subj "/CN=placeholder" -days 30 2>/dev/null
{
	printf 'daemon off; pid %s/nginx.pid; error_log %s/error.log; worker_processes 1;\n' "$T" "$T"
	printf 'events { worker_connections 64; }\nhttp { access_log off;\n'
	printf '\tclient_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n' "$T" "$T" "$T" "$T" "$T"
	printf '\tserver { listen 127.0.0.1:%s ssl; server_name web.test; ssl_certificate %s/nginx/cert.pem; ssl_certificate_key %s/nginx/key.pem; return 200; }\n}\n' "$P" "$T" "$T"
} >nginx.conf
nginx -t -c "$T/nginx.conf" -p "$T" >/dev/null 2>&1 || { nginx -t -c "$T/nginx.conf" -p "$T"; fail "nginx config"; }
nginx -c "$T/nginx.conf" -p "$T" &
NGINX_PID=$!
for _ in $(seq 1 50); do [ -n "$(served)" ] && break; sleep 0.1; done
placeholder=$(served)
expect_eq "$placeholder" "$(file_fp nginx/cert.pem)" "nginx serves the placeholder"

RELOAD="nginx -s reload -c $T/nginx.conf -p $T"
ck ca init loc >/dev/null && ck issuer add loc --type local --ca loc >/dev/null || fail setup
expect_status 0 ck manage add web --issuer loc --san web.test --days 30
good_target() {
	expect_status 0 ck manage target add web --kind file --fullchain "$T/nginx/cert.pem" \
		--key "$T/nginx/key.pem" --chain "$T/nginx/chain.pem" --mode 0600 \
		--reload "$RELOAD" --verify "127.0.0.1:$P" --sni web.test --verify-timeout 5
	sed 's/^target \([0-9]*\) added.*/\1/' "$T/out"
}
t1=$(good_target)

# 1. deploy now: nginx serves the managed certificate, verified
expect_status 0 ck manage deploy web
expect_grep "1 deployed" "$T/out"
A=$(current)
wait_served "$A" "served after the first deployment"
expect_eq "$(tstate "$t1" .state)" deployed "target state"
expect_eq "$(tstate "$t1" .up_to_date)" true "up to date"
[ "$(stat -c %a nginx/key.pem)" = 600 ] || fail "key mode $(stat -c %a nginx/key.pem)"
[ -f nginx/cert.pem.ck-prev ] || fail "no backup of the placeholder"
expect_eq "$(file_fp nginx/cert.pem.ck-prev)" "$placeholder" "backup holds the previous certificate"

# 2. a forced renewal queues a deploy job; the same run deploys it
expect_status 0 ck manage renew web --force
B=$(current)
[ "$B" != "$A" ] || fail "renewal gave the same certificate"
wait_served "$B" "served after the renewal"
expect_eq "$(file_fp nginx/cert.pem)" "$B" "nginx's file after the renewal"
[ "$(openssl pkey -in nginx/key.pem -pubout | sha256sum)" = "$(openssl x509 -in nginx/cert.pem -pubkey -noout | sha256sum)" ] ||
	fail "key and certificate differ"
expect_eq "$(db "SELECT count(*) FROM jobs WHERE kind = 'deploy'")" 0 "deploy job done"
ck audit list --json | jq -e '[.[] | select(.action == "deploy.ok")] | length == 2' >/dev/null ||
	fail "audit: two deploy.ok events"

# 3. a reload command that fails: the old certificate stays served and in
# the files, the target says rolled_back, an alert is recorded
expect_status 0 ck manage target remove web "$t1"
expect_status 0 ck manage target add web --kind file --fullchain "$T/nginx/cert.pem" \
	--key "$T/nginx/key.pem" --reload "echo reload broke >&2; exit 1" --verify "127.0.0.1:$P" --sni web.test
t2=$(sed 's/^target \([0-9]*\) added.*/\1/' "$T/out")
expect_status 0 ck manage renew web --force
C=$(current)
[ "$C" != "$B" ] || fail "second renewal gave the same certificate"
expect_eq "$(served)" "$B" "old certificate served after a failed reload"
expect_eq "$(file_fp nginx/cert.pem)" "$B" "old certificate back in the file"
[ "$(openssl pkey -in nginx/key.pem -pubout | sha256sum)" = "$(openssl x509 -in nginx/cert.pem -pubkey -noout | sha256sum)" ] ||
	fail "restored key and certificate differ"
expect_eq "$(tstate "$t2" .state)" rolled_back "state after a failed reload"
tstate "$t2" .last_result | grep -q "exited 1; previous files restored" || fail "result: $(tstate "$t2" .last_result)"
tstate "$t2" .last_output | grep -q "reload broke" || fail "output not recorded: $(tstate "$t2" .last_output)"
expect_eq "$(tstate "$t2" .up_to_date)" false "not up to date"
expect_eq "$(db "SELECT state FROM alert_states WHERE key = 'deploy_failed:web:$t2'")" "rolled_back:$(db "SELECT cert_id FROM managed WHERE name = 'web'")" "alert state"
ck audit list --json | jq -e '[.[] | select(.action == "deploy.rolled_back")] | length == 1' >/dev/null ||
	fail "audit: deploy.rolled_back"
expect_eq "$(db "SELECT count(*) FROM jobs WHERE kind = 'deploy' AND subject = 'web'")" 1 "deploy retried later"
expect_status 1 ck manage deploy web
expect_grep "1 rolled back" "$T/out"
ls nginx/*.ck-tmp >/dev/null 2>&1 && fail "temporary files left"

# 4. a certificate nginx refuses: the target writes the new certificate
# but its key elsewhere, so nginx refuses the pair (key mismatch): its
# reload fails and it keeps serving the old certificate
expect_status 0 ck manage target remove web "$t2"
expect_status 0 ck manage target add web --kind file --fullchain "$T/nginx/cert.pem" \
	--key "$T/elsewhere.key" --reload "$RELOAD" --verify "127.0.0.1:$P" --sni web.test --verify-timeout 3
t3=$(sed 's/^target \([0-9]*\) added.*/\1/' "$T/out")
expect_status 1 ck manage deploy web
expect_eq "$(tstate "$t3" .state)" rolled_back "state after nginx refused"
tstate "$t3" .last_result | grep -q "exited 1; previous files restored and reloaded" || fail "result: $(tstate "$t3" .last_result)"
tstate "$t3" .last_output | grep -q "key values mismatch" || fail "nginx's refusal not recorded: $(tstate "$t3" .last_output)"
expect_eq "$(served)" "$B" "old certificate served after nginx refused"
expect_eq "$(file_fp nginx/cert.pem)" "$B" "old certificate back after nginx refused"
expect_eq "$(db "SELECT count(*) FROM alert_states WHERE key = 'deploy_failed:web:$t3'")" 1 "alert state"

# 4b. a reload that "succeeds" without reloading anything: the endpoint
# check sees the old certificate and rolls back
expect_status 0 ck manage target remove web "$t3"
expect_status 0 ck manage target add web --kind file --fullchain "$T/nginx/cert.pem" \
	--key "$T/nginx/key.pem" --reload true --verify "127.0.0.1:$P" --sni web.test --verify-timeout 2
t3=$(sed 's/^target \([0-9]*\) added.*/\1/' "$T/out")
expect_status 1 ck manage deploy web
expect_eq "$(tstate "$t3" .state)" rolled_back "state after the endpoint check"
tstate "$t3" .last_result | grep -q "verify: 127.0.0.1:$P serves ${B%"${B#????????????????}"}" || fail "result: $(tstate "$t3" .last_result)"
expect_eq "$(served)" "$B" "old certificate served after the endpoint check failed"
expect_eq "$(file_fp nginx/cert.pem)" "$B" "old certificate back after the endpoint check failed"

# 5. drift: a scan sees B at the endpoint while C is current
expect_status 0 ck scan net 127.0.0.1 --ports "$P" --sni web.test --timeout 2 --json
expect_status 0 ck manage target remove web "$t3"
t4=$(good_target)
expect_status 0 ck deploy status --json
jq -e --arg p "127.0.0.1:$P/web.test" '.drift == 1 and (.targets[0].observed[0] | .place == $p and .current == false)' "$T/out" >/dev/null ||
	{ cat "$T/out"; fail "drift not reported"; }
ck deploy status | grep -q "DRIFT 127.0.0.1:$P/web.test" || fail "drift not in the table"
expect_status 0 ck manage deploy web
wait_served "$C" "the current certificate after a good target"
# nginx's old workers may still answer a connection or two just after a
# reload: the next scans see the new certificate, and drift clears
for _ in 1 2 3 4 5; do
	expect_status 0 ck scan net 127.0.0.1 --ports "$P" --sni web.test --timeout 2 --json
	expect_status 0 ck deploy status --json
	jq -e '.drift == 0' "$T/out" >/dev/null && break
	sleep 0.5
done
jq -e '.drift == 0 and .not_current == 0 and .targets[0].observed[0].current' "$T/out" >/dev/null ||
	{ cat "$T/out"; fail "drift after redeploy"; }
expect_eq "$(db "SELECT count(*) FROM alert_states WHERE key LIKE 'deploy_failed:web:%'")" 0 "alert states go with their targets"
ck audit verify >/dev/null || fail "audit chain"
echo "ok: deployed to nginx, renewed and redeployed, failed reload and refused certificate rolled back, drift reported"
