#!/usr/bin/env bash
# bench/serve.sh: the daemon under HTTP load, beside its peer and its limit.
#
#   CERTKEEP=build/release/certkeep bash bench/serve.sh      (from the repo root)
#
# Needs wrk, nginx (Debian: apt-get install wrk nginx-light), openssl, curl.
# Installs nothing. Everything listens on 127.0.0.1 only, in a temp dir that
# is removed at the end (KEEP=1 keeps it); every process it starts is stopped
# on exit, on failure and on ^C.
#
# What it does:
#  1. starts `certkeep serve --workers 2` on a fresh SQLite inventory, makes a
#     token, issues N certificates through POST /api/v1/cas/certkeep/issue,
#     builds one RFC 5019 OCSP request per certificate (openssl ocsp -reqout
#     -no_nonce: SHA-1 CertID, one certificate, no nonce, so the answer is
#     cacheable) and the GET paths /ocsp/<url-encoded base64>; fetches each
#     once (warms the cache), checks it verifies as "good" and that a second
#     fetch is byte-identical (served from the cache).
#  2. wrk -t2 -c64 -d10s --latency, a Lua script rotating over those GET paths:
#     cached OCSP responses per second and p99.
#  3. the peer: `openssl ocsp -port` with an openssl-made CA of the same shape
#     (P-256 root, P-256 issuing CA, delegated P-256 OCSP signing certificate,
#     N leaves in an `openssl ca` index.txt), requests of the same shape, same
#     wrk run. openssl signs every response (it has no cache) and is one
#     process; it is also run with -multi 2 (OPENSSL_MULTI=0 skips that).
#     openssl answers HTTP/1.0 and closes the connection after each response,
#     so wrk reconnects for every request there (certkeep and nginx keep
#     connections alive): that is how it is used, and what it can do.
#     `openssl ocsp -port` takes a port number only and binds every address,
#     so this phase runs in its own network namespace (unshare -rn, loopback
#     only) when the kernel allows it; otherwise it says so and binds *:port.
#  4. the limit: nginx, 2 worker processes, serving a certkeep OCSP response
#     saved to a file (same bytes, same size, same Cache-Control headers) for
#     the same rotating paths, same wrk run.
#  5. GET /api/v1/certificates/{id} over HTTPS with the bearer token, rotating
#     over the N ids: requests per second and p99.
#  6. RSS (VmRSS from /proc/PID/status) and open descriptors of the certkeep
#     process before, every SAMPLE_SECS during, and after LOAD_SECS of steady
#     load (cached OCSP and API GETs at the same time), and whether it grew.
#  7. a table with the targets of issue 4: >= 30,000 cached OCSP/s on 2 cores,
#     >= 20x openssl ocsp, >= 50% of nginx static, no RSS growth.
#
# wrk runs on the same 2 cores as the server it measures (loopback), so every
# figure is "server plus load generator on 2 cores", for all three servers.
# Access logs are as shipped: certkeep logs one line per request
# (access_log = on) to a file, and nginx then logs to a file too;
# ACCESS_LOG=off turns both off.
#
# Settings (environment): CERTKEEP (binary, default build/release/certkeep),
# N=100 certificates, THREADS=2 CONNS=64 DURATION=10 (wrk, seconds),
# WARMUP=2 (seconds of unmeasured wrk before each run), WORKERS=2,
# LOAD_SECS=60 (issue 4 asks for 10 minutes: LOAD_SECS=600), SAMPLE_SECS=5,
# OPENSSL_MULTI=2, ACCESS_LOG=on, KEEP=0, NETNS=auto (0: never unshare).
# Exit status: 0 when it ran (targets missed or not), 1 when something broke
# (a server died, a check failed), 2 when a tool is missing.

set -Eeuo pipefail

CERTKEEP=${CERTKEEP:-build/release/certkeep}
N=${N:-100}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
WORKERS=${WORKERS:-2}
LOAD_SECS=${LOAD_SECS:-60}
SAMPLE_SECS=${SAMPLE_SECS:-5}
OPENSSL_MULTI=${OPENSSL_MULTI:-2}
ACCESS_LOG=${ACCESS_LOG:-on}
KEEP=${KEEP:-0}
NETNS=${NETNS:-auto}

say() { printf '%s\n' "$*" >&2; }
die() { say "serve.sh: $*"; exit 1; }

# ---------------------------------------------------------------- wrk runs

# to_ms 850.00us|3.21ms|1.02s|2.00m -> milliseconds
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
		else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
		else printf "-" }'
}

# wrk_exec NAME SECS THREADS CONNS LUA URL [wrk args...]: runs wrk (in the
# foreground of our process group, so ^C reaches it), output in $W/wrk-NAME.txt.
wrk_exec() {
	local name=$1 secs=$2 t=$3 c=$4 lua=$5 url=$6
	shift 6
	timeout --foreground $((secs + 30)) wrk -t"$t" -c"$c" -d"${secs}s" \
	    --timeout 2s --latency -s "$lua" "$@" "$url" >"$W/wrk-$name.txt" 2>&1
}

# wrk_parse NAME: "rps p50 p99 requests socket-errors non2xx" of a wrk run
# into $W/res-NAME, and a line on stderr.
wrk_parse() {
	local name=$1 out=$W/wrk-$1.txt
	local rps p50 p99 reqs errs non2xx
	rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' "$out")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	reqs=$(awk '/ requests in / { print $1 }' "$out")
	errs=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	[ -n "$rps" ] || { cat "$out" >&2; return 1; }
	echo "${rps} ${p50:--} ${p99:--} ${reqs:-0} ${errs:-0} ${non2xx:-0}" >"$W/res-$name"
	say "  $name: ${rps} req/s, p50 ${p50} ms, p99 ${p99} ms, ${reqs} requests, socket errors ${errs:-0}, non-2xx ${non2xx:-0}"
}

wrk_run() {
	wrk_exec "$@" || { say "wrk $1 failed:"; cat "$W/wrk-$1.txt" >&2; return 1; }
	wrk_parse "$1"
}

# bench NAME URL [wrk args...]: WARMUP seconds unmeasured, then DURATION.
bench() {
	local name=$1 url=$2 lua=$3
	shift 3
	if [ "$WARMUP" -gt 0 ]; then
		wrk_run "$name-warmup" "$WARMUP" "$THREADS" "$CONNS" "$lua" "$url" "$@" \
		    >/dev/null 2>&1 || true
	fi
	wrk_run "$name" "$DURATION" "$THREADS" "$CONNS" "$lua" "$url" "$@"
}

# make_lua FILE PATHFILE: a wrk script sending GET for each path of PATHFILE
# in turn (each thread starting at its own place), headers from -H.
make_lua() {
	{
		echo 'local paths = {'
		sed 's/.*/  "&",/' "$2"
		echo '}'
		cat <<'EOF'
local n = #paths
local i = 0
local next_id = 0
function setup(thread)
  thread:set("first", next_id)
  next_id = next_id + 1
end
function init(args)
  i = ((first or 0) * 37) % n
end
function request()
  i = i % n + 1
  return wrk.format("GET", paths[i])
end
-- wrk first connects to the address and closes without a request, to see
-- that it answers; `openssl ocsp -port` (3.0) accepts that connection and
-- then spins on its EOF for ever, serving nothing. Skip the probe (for all
-- servers, so the script is the same).
function wrk.resolve(host, service)
  wrk.addrs = wrk.lookup(host, service)
end
EOF
	} >"$1"
}

# free_port: a port nobody listens on, below the usual ephemeral range
# (32768-60999) so no outgoing connection holds it either.
free_port() {
	local p k
	for ((k = 0; k < 500; k++)); do
		p=$((12000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_http URL [curl args]: until it answers, at most 15 s, or until the
# process $WAIT_PID (when set) has gone.
wait_http() {
	local k
	for ((k = 0; k < 150; k++)); do
		if curl -s -o /dev/null --max-time 1 "$@"; then return 0; fi
		if [ -n "${WAIT_PID-}" ] && ! kill -0 "$WAIT_PID" 2>/dev/null; then return 1; fi
		sleep 0.1
	done
	return 1
}

# stop PID: TERM to its process group, KILL after 10 s.
stop() {
	local pid=$1 k
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
	for ((k = 0; k < 100; k++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

# ------------------------------------------------- the peer (own process)

# Runs in its own process (and network namespace when it can): start
# `openssl ocsp -port` in $W/peer, measure it, stop it. Arguments: the
# -multi count (1: plain), the result name.
peer_phase() {
	local multi=$1 name=$2 port pid
	if [ "$PEER_NETNS" = 1 ]; then
		ip link set lo up 2>/dev/null || die "peer: cannot bring lo up in the namespace"
	fi
	port=$(free_port) || die "no free port"
	local args=(-port "$port" -index "$W/peer/index.txt" -CA "$W/peer/int.pem"
	    -rsigner "$W/peer/ocsp.pem" -rkey "$W/peer/ocsp.key" -rmd sha256
	    -ndays 1)
	[ "$multi" -gt 1 ] && args+=(-multi "$multi")
	# -multi puts itself in a new process group (setpgid, which fails and
	# makes it exit 1 if it leads a session): no setsid for it. Either way
	# its pid leads its group, which stop() signals.
	if [ "$multi" -gt 1 ]; then
		openssl ocsp "${args[@]}" >"$W/peer/$name.log" 2>&1 &
	else
		setsid openssl ocsp "${args[@]}" >"$W/peer/$name.log" 2>&1 &
	fi
	pid=$!
	PEER_PID=$pid
	trap 'stop $PEER_PID' EXIT
	trap 'exit 130' INT TERM
	local url=http://127.0.0.1:$port
	WAIT_PID=$pid wait_http "$url$(head -1 "$W/peer/paths")" || die "openssl ocsp did not answer (see $W/peer/$name.log)"
	# one request checked end to end: same shape, "good", verifies
	curl -s --max-time 5 -o "$W/peer/resp.der" "$url$(head -1 "$W/peer/paths")"
	openssl ocsp -respin "$W/peer/resp.der" -issuer "$W/peer/int.pem" \
	    -cert "$W/peer/leaf1.pem" -CAfile "$W/peer/root.pem" -no_nonce \
	    >"$W/peer/check.txt" 2>&1 || { cat "$W/peer/check.txt" >&2; die "peer response does not verify"; }
	grep -q ': good' "$W/peer/check.txt" || die "peer response is not good"
	stat -c %s "$W/peer/resp.der" >"$W/size-$name"
	# no warm-up: openssl keeps nothing between requests, and a run that
	# ends with requests in flight can leave it reading a closed connection
	wrk_run "$name" "$DURATION" "$THREADS" "$CONNS" "$W/peer/lua" "$url"
	[ "$(cut -d' ' -f4 "$W/res-$name")" -gt 0 ] || die "wrk got no answer from openssl ocsp"
	kill -0 "$pid" 2>/dev/null || die "openssl ocsp died under load"
}

if [ "${1-}" = --peer-phase ]; then
	W=$2 PEER_NETNS=$3
	shift 3
	peer_phase "$@"
	exit 0
fi

# ------------------------------------------------------------------ checks

missing=
for t in wrk nginx openssl curl awk timeout setsid; do
	command -v "$t" >/dev/null 2>&1 || { [ "$t" = nginx ] && [ -x /usr/sbin/nginx ]; } ||
	    missing="$missing $t"
done
if [ -n "$missing" ]; then
	say "serve.sh: missing:$missing"
	say "  Debian/Ubuntu: apt-get install wrk nginx-light   (openssl, curl, coreutils, util-linux, gawk or mawk)"
	exit 2
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$CERTKEEP" ] || { say "serve.sh: no certkeep binary at $CERTKEEP (make, or CERTKEEP=path)"; exit 2; }
CERTKEEP=$(readlink -f "$CERTKEEP")

W=$(mktemp -d "${TMPDIR:-/tmp}/certkeep-bench-serve.XXXXXX")
PIDS=()
FAILED=1
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do stop "$p"; done
	if [ "$FAILED" = 1 ]; then
		say "serve.sh: failed (exit $rc); last lines of certkeep's log:"
		tail -n 20 "$W/ck/serve.log" 2>/dev/null | grep -v 'msg=request' >&2 || true
		[ "$KEEP" = 1 ] && say "kept $W"
	fi
	if [ "$KEEP" = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
	exit "$rc"
}
# unpid PID: no longer ours to stop (it has exited)
unpid() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(date +%s)
say "certkeep serve benchmark: $CERTKEEP"
say "  $(nproc) cores, wrk -t$THREADS -c$CONNS -d${DURATION}s (+${WARMUP}s warm-up), N=$N, workers=$WORKERS, LOAD_SECS=$LOAD_SECS, access_log=$ACCESS_LOG"
say "  about $(( (DURATION + WARMUP + 2) * (4 + (OPENSSL_MULTI > 1)) + LOAD_SECS + 40 )) s; temp dir $W"

# ------------------------------------------------------ 1. certkeep serve

mkdir -p "$W/ck" "$W/ck/leaf" "$W/ck/req"
for v in $(compgen -e); do case $v in CERTKEEP_*) unset "$v" ;; esac; done
export CERTKEEP_DB=sqlite:$W/ck/inv.db CERTKEEP_MASTER_KEY_FILE=$W/ck/master.key
export CERTKEEP_ACCESS_LOG=$ACCESS_LOG CERTKEEP_LOG_TO=stderr CERTKEEP_LOG_LEVEL=info
CK_TLS=$(free_port) || die "no free port"
CK_PLAIN=$(free_port) || die "no free port"
[ "$CK_TLS" != "$CK_PLAIN" ] || CK_PLAIN=$(free_port)
export CERTKEEP_PUBLIC_URL=http://127.0.0.1:$CK_PLAIN
setsid "$CERTKEEP" serve --listen "127.0.0.1:$CK_TLS" --listen-plain "127.0.0.1:$CK_PLAIN" \
    --data-dir "$W/ck/var" --workers "$WORKERS" >"$W/ck/serve.log" 2>&1 &
CK_PID=$!
PIDS+=("$CK_PID")
PLAIN=http://127.0.0.1:$CK_PLAIN
WAIT_PID=$CK_PID wait_http "$PLAIN/ca/certkeep-root.pem" || die "certkeep serve did not start"
curl -sf "$PLAIN/ca/certkeep-root.pem" -o "$W/ck/root.pem"
curl -sf "$PLAIN/ca/certkeep.pem" -o "$W/ck/int.pem"
TOKEN=$("$CERTKEEP" token create --role admin --name bench 2>>"$W/ck/token.log") ||
    die "token create failed: $(cat "$W/ck/token.log")"
TLS=(--resolve "localhost:$CK_TLS:127.0.0.1" --cacert "$W/ck/root.pem")
API=https://localhost:$CK_TLS/api/v1
RSS_BOOT=$(awk '/^VmRSS:/ { print $2 }' "/proc/$CK_PID/status")

say "issuing $N certificates through the API"
: >"$W/ck/ids"
for ((i = 1; i <= N; i++)); do
	j=$W/ck/leaf/$i.json
	code=$(curl -s "${TLS[@]}" --max-time 10 -o "$j" -w '%{http_code}' \
	    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    -d "{\"profile\":\"tls-server\",\"cn\":\"host$i.bench.example\",\"sans\":[\"host$i.bench.example\"]}" \
	    "$API/cas/certkeep/issue") || die "issue $i: curl failed"
	[ "$code" = 201 ] || [ "$code" = 200 ] || die "issue $i: HTTP $code: $(head -c 300 "$j")"
	sed -e 's/.*"certificate":"\([^"]*\)".*/\1/' -e 's/\\n/\n/g' "$j" >"$W/ck/leaf/$i.pem"
	grep -o '"id":[0-9]*' "$j" | head -1 | cut -d: -f2 >>"$W/ck/ids"
done

say "building $N OCSP requests (openssl ocsp -reqout -no_nonce), warming the cache"
urlb64() { base64 -w0 "$1" | sed -e 's/+/%2B/g' -e 's,/,%2F,g' -e 's/=/%3D/g'; }
: >"$W/ck/paths"
for ((i = 1; i <= N; i++)); do
	openssl ocsp -issuer "$W/ck/int.pem" -cert "$W/ck/leaf/$i.pem" -no_nonce \
	    -reqout "$W/ck/req/$i.der" >/dev/null 2>&1 || die "request $i"
	p=/ocsp/$(urlb64 "$W/ck/req/$i.der")
	echo "$p" >>"$W/ck/paths"
	code=$(curl -s --max-time 5 -o "$W/ck/req/$i.resp" -w '%{http_code}' "$PLAIN$p")
	[ "$code" = 200 ] || die "GET $p: HTTP $code"
	openssl ocsp -respin "$W/ck/req/$i.resp" -issuer "$W/ck/int.pem" -cert "$W/ck/leaf/$i.pem" \
	    -CAfile "$W/ck/root.pem" -no_nonce >"$W/ck/req/$i.check" 2>&1 ||
	    die "response $i does not verify: $(cat "$W/ck/req/$i.check")"
	grep -q ': good' "$W/ck/req/$i.check" || die "response $i not good: $(cat "$W/ck/req/$i.check")"
done
curl -s --max-time 5 -o "$W/ck/again.resp" "$PLAIN$(head -1 "$W/ck/paths")"
cmp -s "$W/ck/again.resp" "$W/ck/req/1.resp" ||
    say "  note: a second GET of the same request gave different bytes (not served from a cache?)"
CK_SIZE=$(stat -c %s "$W/ck/req/1.resp")
make_lua "$W/ck/ocsp.lua" "$W/ck/paths"
sed 's,^,/api/v1/certificates/,' "$W/ck/ids" >"$W/ck/api-paths"
make_lua "$W/ck/api.lua" "$W/ck/api-paths"
code=$(curl -s "${TLS[@]}" --max-time 5 -o "$W/ck/api1.json" -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" "https://localhost:$CK_TLS$(head -1 "$W/ck/api-paths")")
[ "$code" = 200 ] || die "GET $(head -1 "$W/ck/api-paths"): HTTP $code"
API_SIZE=$(stat -c %s "$W/ck/api1.json")

alive() { kill -0 "$CK_PID" 2>/dev/null || die "certkeep serve died ($1)"; }

# ------------------------------------------------- 2. cached OCSP, wrk

say "certkeep cached OCSP GET (response $CK_SIZE bytes)"
bench ck-ocsp "$PLAIN" "$W/ck/ocsp.lua"
alive "cached OCSP"

# ---------------------------------------------------- 5. API GET, wrk

say "certkeep GET /api/v1/certificates/{id} over HTTPS (response $API_SIZE bytes)"
bench ck-api "https://127.0.0.1:$CK_TLS" "$W/ck/api.lua" -H "Authorization: Bearer $TOKEN"
alive "API GET"

# ---------------------------------------------------- 3. openssl ocsp

say "the peer: openssl ocsp -port, an openssl CA of the same shape"
P=$W/peer
mkdir -p "$P/certs"
(
	cd "$P"
	ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	cat >ext.cnf <<'EOF'
[ root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ int ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ocsp ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	openssl req -new "${ec[@]}" -keyout root.key -out root.csr -subj '/CN=peer Root CA'
	openssl x509 -req -in root.csr -signkey root.key -days 3650 \
	    -extfile ext.cnf -extensions root -out root.pem
	openssl req -new "${ec[@]}" -keyout int.key -out int.csr -subj '/CN=peer Issuing CA'
	openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial \
	    -days 1825 -extfile ext.cnf -extensions int -out int.pem
	openssl req -new "${ec[@]}" -keyout ocsp.key -out ocsp.csr -subj '/CN=peer OCSP Responder'
	openssl x509 -req -in ocsp.csr -CA int.pem -CAkey int.key -CAcreateserial \
	    -days 365 -extfile ext.cnf -extensions ocsp -out ocsp.pem
	cat >ca.cnf <<EOF
[ ca ]
default_ca = peer
[ peer ]
database = $P/index.txt
new_certs_dir = $P/certs
certificate = $P/int.pem
private_key = $P/int.key
serial = $P/serial
default_md = sha256
default_days = 200
policy = pol
unique_subject = no
x509_extensions = leaf
[ pol ]
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	: >index.txt
	echo 01 >serial
	openssl req -new "${ec[@]}" -keyout leaf.key -out leaf.csr -subj '/CN=leaf'
	: >paths
	for ((i = 1; i <= N; i++)); do
		openssl ca -batch -config ca.cnf -rand_serial -notext -in leaf.csr \
		    -subj "/CN=host$i.bench.example" -out "leaf$i.pem"
		openssl ocsp -issuer int.pem -cert "leaf$i.pem" -no_nonce -reqout "req$i.der" >/dev/null 2>&1
		echo "/$(base64 -w0 "req$i.der" | sed -e 's/+/%2B/g' -e 's,/,%2F,g' -e 's/=/%3D/g')" >>paths
	done
) >"$P/make.log" 2>&1 || { cat "$P/make.log" >&2; die "making the openssl CA failed"; }
[ "$(grep -c '^V' "$P/index.txt")" = "$N" ] || die "openssl index.txt has not $N entries"
make_lua "$P/lua" "$P/paths"

PEER_NETNS=0
UNSHARE=()
if [ "$NETNS" != 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null; then
	if unshare -rn true 2>/dev/null; then UNSHARE=(unshare -rn); PEER_NETNS=1
	elif [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then UNSHARE=(unshare -n); PEER_NETNS=1
	fi
fi
[ "$PEER_NETNS" = 1 ] ||
    say "  note: no network namespace; openssl ocsp -port binds every address (it takes no host) while it runs"
peer() {
	setsid "${UNSHARE[@]}" bash "$0" --peer-phase "$W" "$PEER_NETNS" "$@" &
	local pid=$!
	PIDS+=("$pid")
	wait "$pid" || die "peer phase $2 failed"
	unpid "$pid"
}
peer 1 peer
if [ "$OPENSSL_MULTI" -gt 1 ]; then
	say "the peer with -multi $OPENSSL_MULTI (one process per core)"
	peer "$OPENSSL_MULTI" peer-multi
fi

# ------------------------------------------------------------- 4. nginx

say "the limit: nginx, 2 workers, a static file of $CK_SIZE bytes"
G=$W/nginx
mkdir -p "$G/www" "$G/tmp" "$G/logs"
cp "$W/ck/req/1.resp" "$G/www/resp.der"
NG_PORT=$(free_port) || die "no free port"
if [ "$ACCESS_LOG" = off ]; then NG_LOG="access_log off;"; else NG_LOG="access_log $G/logs/access.log;"; fi
NG_USER=
[ "$(id -u)" = 0 ] && NG_USER="user root;"
cat >"$G/nginx.conf" <<EOF
$NG_USER
worker_processes 2;
daemon off;
pid $G/nginx.pid;
error_log $G/logs/error.log warn;
events { worker_connections 4096; }
http {
    $NG_LOG
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $G/tmp/body;
    proxy_temp_path $G/tmp/proxy;
    fastcgi_temp_path $G/tmp/fastcgi;
    uwsgi_temp_path $G/tmp/uwsgi;
    scgi_temp_path $G/tmp/scgi;
    server {
        listen 127.0.0.1:$NG_PORT;
        root $G/www;
        location / {
            default_type application/ocsp-response;
            add_header Cache-Control "max-age=86400, public, no-transform, must-revalidate";
            add_header X-Content-Type-Options nosniff;
            try_files /resp.der =404;
        }
    }
}
EOF
setsid "$NGINX" -e "$G/logs/error.log" -p "$G" -c "$G/nginx.conf" >"$G/logs/stderr" 2>&1 &
NG_PID=$!
PIDS+=("$NG_PID")
WAIT_PID=$NG_PID wait_http "http://127.0.0.1:$NG_PORT/" || { cat "$G/logs/stderr" "$G/logs/error.log" >&2; die "nginx did not start"; }
curl -s -o "$G/check.der" "http://127.0.0.1:$NG_PORT$(head -1 "$W/ck/paths")"
cmp -s "$G/check.der" "$G/www/resp.der" || die "nginx does not serve the file"
bench nginx "http://127.0.0.1:$NG_PORT" "$W/ck/ocsp.lua"
stop "$NG_PID"
unpid "$NG_PID"

# ------------------------------------------------------- 6. RSS under load

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$CK_PID/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$CK_PID/fd" 2>/dev/null | wc -l; }
say "steady load for ${LOAD_SECS}s (cached OCSP wrk -t1 -c32 and API GET wrk -t1 -c32 at once), RSS every ${SAMPLE_SECS}s"
sleep 1
RSS_START=$(rss)
FDS_START=$(fds)
: >"$W/rss"
setsid timeout --foreground $((LOAD_SECS + 30)) wrk -t1 -c32 -d"${LOAD_SECS}s" --timeout 2s \
    --latency -s "$W/ck/ocsp.lua" "$PLAIN" >"$W/wrk-load-ocsp.txt" 2>&1 &
L1=$!
setsid timeout --foreground $((LOAD_SECS + 30)) wrk -t1 -c32 -d"${LOAD_SECS}s" --timeout 2s \
    --latency -s "$W/ck/api.lua" -H "Authorization: Bearer $TOKEN" \
    "https://127.0.0.1:$CK_TLS" >"$W/wrk-load-api.txt" 2>&1 &
L2=$!
PIDS+=("$L1" "$L2")
for ((s = SAMPLE_SECS; s <= LOAD_SECS; s += SAMPLE_SECS)); do
	sleep "$SAMPLE_SECS"
	alive "steady load, after ${s}s"
	r=$(rss)
	echo "$s $r" >>"$W/rss"
	say "  t=${s}s VmRSS ${r} kB"
done
wait "$L1" || die "load wrk (OCSP) failed: $(cat "$W/wrk-load-ocsp.txt")"
wait "$L2" || die "load wrk (API) failed: $(cat "$W/wrk-load-api.txt")"
unpid "$L1"
unpid "$L2"
wrk_parse load-ocsp
wrk_parse load-api
alive "after steady load"
sleep 3
RSS_END=$(rss)
FDS_END=$(fds)
HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$CK_PID/status")
RSS_FIRST=$(awk 'NR == 1 { print $2 }' "$W/rss")
RSS_LAST=$(awk '{ v = $2 } END { print v }' "$W/rss")
# growth after the first sample under load: least-squares slope over the
# second half of the samples, kB per minute
SLOPE=$(awk '{ t[NR] = $1; r[NR] = $2 } END {
	h = int(NR / 2) + 1; n = 0
	for (k = h; k <= NR; k++) { n++; sx += t[k]; sy += r[k]; sxx += t[k] * t[k]; sxy += t[k] * r[k] }
	d = n * sxx - sx * sx
	if (n < 2 || d == 0) { print 0; exit }
	printf "%d", (n * sxy - sx * sy) / d * 60 }' "$W/rss")
GREW=no
if [ $((RSS_LAST - RSS_FIRST)) -gt $((RSS_FIRST / 20 > 2048 ? RSS_FIRST / 20 : 2048)) ]; then GREW=yes; fi

# graceful stop, timed
t1=$(date +%s%N)
kill -TERM "$CK_PID"
ck_rc=0
wait "$CK_PID" || ck_rc=$?
STOP_MS=$(( ($(date +%s%N) - t1) / 1000000 ))
unpid "$CK_PID"
LOG_ERRS=$(grep -c 'level=error' "$W/ck/serve.log" || true)
LOG_WARNS=$(grep -c 'level=warn' "$W/ck/serve.log" || true)
NON200=$(grep 'msg=request' "$W/ck/serve.log" | grep -vc 'status=20[01]' || true)

# ------------------------------------------------------------------ 7. table

read -r CK_RPS CK_P50 CK_P99 CK_N CK_E CK_X <"$W/res-ck-ocsp"
read -r AP_RPS AP_P50 AP_P99 AP_N AP_E AP_X <"$W/res-ck-api"
read -r PE_RPS PE_P50 PE_P99 PE_N PE_E PE_X <"$W/res-peer"
read -r NG_RPS NG_P50 NG_P99 NG_N NG_E NG_X <"$W/res-nginx"
PE_SIZE=$(cat "$W/size-peer")
MU_RPS=
if [ -f "$W/res-peer-multi" ]; then read -r MU_RPS MU_P50 MU_P99 MU_N MU_E MU_X <"$W/res-peer-multi"; fi
read -r LO_RPS _ LO_P99 LO_N LO_E LO_X <"$W/res-load-ocsp"
read -r LA_RPS _ LA_P99 LA_N LA_E LA_X <"$W/res-load-api"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else printf "-" }'; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 >= b + 0) ? "met" : "MISSED" }'; }
R_PEER=$(ratio "$CK_RPS" "$PE_RPS")
R_NG=$(awk -v a="$CK_RPS" -v b="$NG_RPS" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print 0 }')
row() { printf '%-44s %9s %8s %8s %9s %8s %7s\n' "$@"; }

{
	echo
	echo "certkeep serve on loopback: $(nproc) cores shared by the server and wrk (-t$THREADS -c$CONNS -d${DURATION}s, after ${WARMUP}s warm-up)"
	echo "$("$CERTKEEP" --version 2>/dev/null | head -1), workers=$WORKERS, access_log=$ACCESS_LOG; $(openssl version | cut -d' ' -f1,2); $("$NGINX" -v 2>&1 | sed 's/.*: //'); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1,2)"
	echo
	row "" "req/s" "p50 ms" "p99 ms" "requests" "sockerr" "non-2xx"
	row "certkeep OCSP GET, cached ($CK_SIZE B)" "$CK_RPS" "$CK_P50" "$CK_P99" "$CK_N" "$CK_E" "$CK_X"
	row "openssl ocsp -port, 1 process ($PE_SIZE B)" "$PE_RPS" "$PE_P50" "$PE_P99" "$PE_N" "$PE_E" "$PE_X"
	if [ -n "$MU_RPS" ]; then row "openssl ocsp -port -multi $OPENSSL_MULTI" "$MU_RPS" "$MU_P50" "$MU_P99" "$MU_N" "$MU_E" "$MU_X"; fi
	row "nginx static file, 2 workers ($CK_SIZE B)" "$NG_RPS" "$NG_P50" "$NG_P99" "$NG_N" "$NG_E" "$NG_X"
	row "certkeep GET /api/v1/certificates/{id} TLS" "$AP_RPS" "$AP_P50" "$AP_P99" "$AP_N" "$AP_E" "$AP_X"
	echo
	printf '%-44s %12s   %s\n' "target" "got" ""
	printf '%-44s %12s   %s\n' "cached OCSP >= 30,000/s on 2 cores" "$CK_RPS/s" "$(verdict "$CK_RPS" 30000)"
	printf '%-44s %12s   %s\n' "certkeep / openssl ocsp >= 20x" "${R_PEER}x" "$(verdict "$R_PEER" 20)"
	if [ -n "$MU_RPS" ]; then printf '%-44s %12s   %s\n' "  (certkeep / openssl ocsp -multi $OPENSSL_MULTI)" "$(ratio "$CK_RPS" "$MU_RPS")x" ""; fi
	printf '%-44s %12s   %s\n' "certkeep / nginx static >= 50%" "${R_NG}%" "$(verdict "$R_NG" 50)"
	printf '%-44s %12s   %s\n' "no RSS growth under steady load" "grew: $GREW" "$([ "$GREW" = no ] && echo met || echo MISSED)"
	echo
	echo "steady load ${LOAD_SECS}s: OCSP $LO_RPS/s (p99 $LO_P99 ms, $LO_E socket errors, $LO_X non-2xx) + API $LA_RPS/s (p99 $LA_P99 ms, $LA_E socket errors, $LA_X non-2xx)"
	echo "VmRSS kB: at start $RSS_BOOT, before load $RSS_START, first sample ${RSS_FIRST}, last sample ${RSS_LAST}, 3 s after $RSS_END, peak (VmHWM) $HWM; slope over the second half ${SLOPE} kB/min"
	echo "  samples (s kB): $(tr '\n' ' ' <"$W/rss" | sed 's/ $//' | awk '{ for (k = 1; k <= NF; k += 2) printf "%s:%s ", $k, $(k + 1) }')"
	echo "open descriptors: $FDS_START before load, $FDS_END after"
	echo "SIGTERM: exit $ck_rc after ${STOP_MS} ms; log: $LOG_ERRS errors, $LOG_WARNS warnings, $NON200 requests not 200/201"
	if [ "$PEER_NETNS" = 1 ]; then echo "openssl ocsp ran in its own network namespace (its -port binds every address)"; fi
	echo "took $(($(date +%s) - T0)) s"
} | tee "$W/table.txt"

FAILED=0
[ "$ck_rc" = 0 ] || { say "certkeep serve exited $ck_rc on SIGTERM"; FAILED=1; exit 1; }
