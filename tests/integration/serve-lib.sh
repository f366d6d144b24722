# Shared by the serve tests: start `certkeep serve` on free loopback ports
# (":0", read back from its log), wait until it answers, stop it at exit.
# Sets PORT (https), PPORT (plain), URL, PURL, ROOT (CA root PEM), ADMIN.
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
SERVE_PID=""
stop_serve() {
	[ -n "$SERVE_PID" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$SERVE_PID" 2>/dev/null || true
	SERVE_PID=""
	check_serve_log
}
# A sanitizer report in the server's log fails the test (ASan builds).
check_serve_log() {
	if grep -qE 'ERROR: (Leak|Address)Sanitizer|runtime error' "$T/serve.log" 2>/dev/null; then
		cat "$T/serve.log" >&2
		echo "FAIL: sanitizer report in the server log" >&2
		exit 1
	fi
}
trap 'st=$?; stop_serve; rm -rf "$T"; exit $st' EXIT
# start_serve [ARGS...]: extra serve flags; config from $CERTKEEP_CONFIG
start_serve() {
	: >"$T/serve.log"
	"$CERTKEEP" serve --listen 127.0.0.1:0 --listen-plain 127.0.0.1:0 \
		--data-dir "$T/var" --workers 2 "$@" >>"$T/serve.log" 2>&1 &
	SERVE_PID=$!
	for _ in $(seq 1 100); do
		grep -q "serving https" "$T/serve.log" && break
		kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/serve.log" >&2; fail "serve exited"; }
		sleep 0.1
	done
	PORT=$(sed -n 's/.*serving https on .* (port \([0-9]*\)), plain.*/\1/p' "$T/serve.log" | tail -1)
	PPORT=$(sed -n 's/.*plain http on .* (port \([0-9]*\)).*/\1/p' "$T/serve.log" | tail -1)
	[ -n "$PORT" ] && [ -n "$PPORT" ] || { cat "$T/serve.log" >&2; fail "no ports in the log"; }
	URL="https://localhost:$PORT"
	PURL="http://127.0.0.1:$PPORT"
	curl -sf "$PURL/ca/certkeep-root.pem" >"$T/root.pem" || { cat "$T/serve.log" >&2; fail "root CA not served"; }
	ROOT="$T/root.pem"
}
# api METHOD PATH [CURL ARGS...]: HTTPS call with $TOKEN; body in $T/body,
# status echoed.
api() {
	m=$1 p=$2; shift 2
	curl -s -o "$T/body" -w '%{http_code}' --cacert "$ROOT" -X "$m" \
		-H "Authorization: Bearer $TOKEN" "$URL$p" "$@"
}
# expect_api STATUS METHOD PATH [CURL ARGS...]
expect_api() {
	want=$1; shift
	got=$(api "$@")
	[ "$got" = "$want" ] || { cat "$T/body" >&2; echo >&2; fail "$1 $2: status $got, want $want"; }
}
