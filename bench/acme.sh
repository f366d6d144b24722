#!/usr/bin/env bash
# bench/acme.sh: certkeep's ACME server, complete orders per second, side by
# side with pebble, both driven by the same client (issue 8).
#
#   make bench-acme                                     (from the repo root)
#   CERTKEEP=build/release/certkeep bash bench/acme.sh
#
# Needs node (18+), npm (the first time), pebble and pebble-challtestsrv
# (Debian: apt-get install nodejs npm pebble), openssl, curl. Installs npm
# `acme-client` (ACME_CLIENT=acme-client@5) into bench/cache/acme-client
# (git-ignored) when it is not there yet; nothing else. Everything listens on
# 127.0.0.1 only, in a temp dir that is removed at the end (KEEP=1 keeps
# it); every process it starts is stopped on exit, on failure and on ^C.
#
# What it does:
#  1. starts `certkeep serve --workers 2` on a fresh SQLite inventory (ports
#     :0, read back from its log) with [acme] http01_port = a free port H01
#     and resolver = static:127.0.0.1, so its validator really fetches every
#     http-01 token from 127.0.0.1:H01; fetches its root over the plain port.
#  2. starts pebble with PEBBLE_VA_NOSLEEP=1 PEBBLE_VA_ALWAYS_VALID=1
#     PEBBLE_WFE_NONCEREJECT=0 (no validation delay, no validation at all,
#     no rejected nonces: not handicapped), its HTTPS certificate from an
#     openssl-made P-256 root, and -dnsserver pointing at pebble-challtestsrv
#     on 127.0.0.1 (every name -> 127.0.0.1, no AAAA) so nothing leaves the
#     host.
#  3. for each N in NS, certkeep then pebble: bench/acme_drive.js (one Node
#     process, one ECDSA P-256 account, N concurrent order loops, npm
#     acme-client's auto(): newOrder, authz, http-01, finalize, certificate
#     download; a new P-256 key and a distinct name per order, so pebble's
#     authorization reuse never applies; certificate parsed and its SAN
#     checked). The http-01 answer comes at once from the driver's own
#     responder on 127.0.0.1:H01, in a thread of its own (any token gets
#     token.thumbprint of the account). acme-client as it is fetches a
#     fresh nonce (HEAD newNonce) before every signed request; NONCE_POOL=1
#     makes it use the Replay-Nonce of earlier answers instead (as lego and
#     certbot do), for both servers.
#     WARMUP seconds not counted, then DURATION seconds counted:
#     complete orders per second, p50/p99 order latency (newOrder to parsed
#     certificate), errors, badNonce retries, status polls, requests,
#     TLS connections and CPU milliseconds (server, client) per order.
#  4. a table side by side with the ratio and issue 8's target: certkeep
#     >= 5x pebble's rate, at every N.
#
# The client runs on the same 2 cores as the server it measures (loopback),
# so every figure is "server plus client on 2 cores", for both servers. The
# client is not free: its CPU per order is in the table. acme-client polls
# anything not yet valid with backoff BACKOFF_MIN*2^k ms (capped at 1 s)
# instead of its default 5 s, for both servers (pebble validates and issues
# asynchronously: it is the one that polls).
#
# What to expect on 2 cores: acme-client costs 25-40 ms of CPU per order
# (a TLS handshake per signed request, since Node drops a keep-alive
# connection after the answer to HEAD newNonce; ECDSA key and CSR in
# JavaScript), 15 ms with NONCE_POOL=1, so one Node process saturates a
# core at about 35 (NONCE_POOL=1: 50-60) orders per second whatever the
# server: that bounds both columns, and with it the ratio. certkeep's own
# limit shows in its access-log times per request, printed at the end:
# every request commits to SQLite (synchronous=FULL), about two fdatasync
# per request, so where fsync is slow its workers wait on the disk.
# TMPDIR=/dev/shm puts the inventory on tmpfs (fsync free): the
# difference between the two runs is what durability costs.
#
# CLIENT=c drives both servers with certkeep's own ACME client instead
# (bench/acme_drive.c: the "acme" issuer connector renewals use, N
# threads, one TLS connection per order, webroot http-01 served by the
# driver), whose CPU per order is a fraction of acme-client's, so that the
# servers' own costs decide the rates. It polls as it does against a real
# CA (first poll after 250 ms), so it needs N of 32 or more to keep a
# server busy. Seen here with it: pebble 2.4 stops answering some orders
# at N=64 (each such order an error after 30 s) and all of them at
# N=128 (the run fails), so NS="32" is the comparable point; certkeep
# completes every order at 128. Its CPU per order (8-10 ms, mostly
# OpenSSL 3.0's key and certificate decoders: the TLS handshake, the
# account key, the chain) is then the larger part, for both servers.
#
# Settings (environment): CERTKEEP (binary, default build/release/certkeep),
# CLIENT=node|c (default node; c runs bench/acme-drive next to the binary,
# built by `make -C bench build`, which `make bench-acme` does),
# NS="1 8 32" (concurrent clients), WARMUP=3, DURATION=15 (seconds per run),
# WORKERS=2, ACCESS_LOG=on (certkeep as shipped: one line per request),
# BACKOFF_MIN=5 (ms), NONCE_POOL=0, ACME_CLIENT=acme-client@5, KEEP=0.
# About (WARMUP + DURATION + 3) * 2 * count(NS) + 15 s: 2 minutes at the
# defaults (115 s here), and the npm install the first time.
# Exit status: 0 when it ran (target met or not), 1 when something broke (a
# server died, a run completed no order), 2 when a tool is missing.

set -Eeuo pipefail

CERTKEEP=${CERTKEEP:-build/release/certkeep}
NS=${NS:-1 8 32}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-15}
WORKERS=${WORKERS:-2}
ACCESS_LOG=${ACCESS_LOG:-on}
BACKOFF_MIN=${BACKOFF_MIN:-5}
NONCE_POOL=${NONCE_POOL:-0}
ACME_CLIENT=${ACME_CLIENT:-acme-client@5}
KEEP=${KEEP:-0}
TARGET=5

say() { printf '%s\n' "$*" >&2; }
die() { say "acme.sh: $*"; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
DRIVER=$HERE/acme_drive.js
CLIENT=${CLIENT:-node}
case $CLIENT in node | c) ;; *) say "acme.sh: CLIENT is node or c"; exit 2 ;; esac
NODE_DIR=$HERE/cache/acme-client

# ------------------------------------------------------------------ checks

missing=
for t in node openssl curl awk timeout setsid pebble pebble-challtestsrv; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
if [ ! -f "$NODE_DIR/node_modules/acme-client/package.json" ]; then
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
if [ -n "$missing" ]; then
	say "acme.sh: missing:$missing"
	say "  Debian/Ubuntu: apt-get install nodejs npm pebble   (openssl, curl, coreutils, util-linux, gawk or mawk)"
	exit 2
fi
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ] ||
    { say "acme.sh: node $(node --version) is too old (18 or later)"; exit 2; }
[ -x "$CERTKEEP" ] || { say "acme.sh: no certkeep binary at $CERTKEEP (make, or CERTKEEP=path)"; exit 2; }
CERTKEEP=$(readlink -f "$CERTKEEP")
CDRIVE=$(dirname "$CERTKEEP")/bench/acme-drive
[ "$CLIENT" = node ] || [ -x "$CDRIVE" ] ||
    { say "acme.sh: CLIENT=c needs $CDRIVE (make -C bench build)"; exit 2; }

# No proxy, and the trust roots are given per server below.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE SSL_CERT_FILE NODE_EXTRA_CA_CERTS NODE_OPTIONS
export no_proxy='*' NO_PROXY='*'

if [ ! -f "$NODE_DIR/node_modules/acme-client/package.json" ]; then
	say "installing npm $ACME_CLIENT into $NODE_DIR (once)"
	mkdir -p "$NODE_DIR"
	(
		cd "$NODE_DIR"
		[ -f package.json ] || echo '{ "name": "certkeep-bench-acme", "private": true }' >package.json
		timeout 300 npm install --no-audit --no-fund --no-save "$ACME_CLIENT"
	) >"$NODE_DIR/install.log" 2>&1 || {
		cat "$NODE_DIR/install.log" >&2
		say "acme.sh: npm install $ACME_CLIENT failed (needs the npm registry once)"
		exit 2
	}
fi
export NODE_PATH=$NODE_DIR/node_modules

# free_port: a port nobody listens on, below the usual ephemeral range
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

W=$(mktemp -d "${TMPDIR:-/tmp}/certkeep-bench-acme.XXXXXX")
PIDS=()
FAILED=1
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do stop "$p"; done
	if [ "$FAILED" = 1 ]; then
		say "acme.sh: failed (exit $rc); last lines of the servers' logs:"
		tail -n 15 "$W/ck/serve.log" 2>/dev/null | grep -v 'msg=request' >&2 || true
		tail -n 15 "$W/pebble/pebble.log" >&2 2>/dev/null || true
	fi
	if [ "$KEEP" = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
read -ra NSA <<<"$NS"
nruns=${#NSA[@]}
if [ "$CLIENT" = c ]; then by="certkeep's own ACME client (bench/acme-drive)"; else by="npm acme-client"; fi
say "ACME orders benchmark: certkeep $CERTKEEP and pebble, driven by $by"
say "  $(nproc) cores, N in {$NS}, ${WARMUP}s warm-up + ${DURATION}s per run, workers=$WORKERS, access_log=$ACCESS_LOG"
say "  about $(( (WARMUP + DURATION + 3) * 2 * nruns + 15 )) s; temp dir $W"

H01=$(free_port) || die "no free port"

# ------------------------------------------------------ 1. certkeep serve

mkdir -p "$W/ck"
for v in $(compgen -e); do case $v in CERTKEEP_*) unset "$v" ;; esac; done
export CERTKEEP_DB=sqlite:$W/ck/inv.db CERTKEEP_MASTER_KEY_FILE=$W/ck/master.key
export CERTKEEP_ACCESS_LOG=$ACCESS_LOG CERTKEEP_LOG_TO=stderr CERTKEEP_LOG_LEVEL=info
export CERTKEEP_ACME_HTTP01_PORT=$H01 CERTKEEP_ACME_RESOLVER=static:127.0.0.1
# one account makes every order: the per-account rate limit (300 an
# hour by default) is off, as pebble has none
export CERTKEEP_ACME_ORDERS_PER_HOUR=0
: >"$W/ck/serve.log"
setsid "$CERTKEEP" serve --listen 127.0.0.1:0 --listen-plain 127.0.0.1:0 \
    --data-dir "$W/ck/var" --workers "$WORKERS" >"$W/ck/serve.log" 2>&1 &
CK_PID=$!
PIDS+=("$CK_PID")
for ((k = 0; k < 150; k++)); do
	grep -q "serving https" "$W/ck/serve.log" && break
	kill -0 "$CK_PID" 2>/dev/null || die "certkeep serve exited: $(tail -5 "$W/ck/serve.log")"
	sleep 0.1
done
CK_TLS=$(sed -n 's/.*serving https on .* (port \([0-9]*\)), plain.*/\1/p' "$W/ck/serve.log" | tail -1)
CK_PLAIN=$(sed -n 's/.*plain http on .* (port \([0-9]*\)).*/\1/p' "$W/ck/serve.log" | tail -1)
{ [ -n "$CK_TLS" ] && [ -n "$CK_PLAIN" ]; } || die "no ports in certkeep's log: $(tail -5 "$W/ck/serve.log")"
curl -sf --max-time 5 "http://127.0.0.1:$CK_PLAIN/ca/certkeep-root.pem" -o "$W/ck/root.pem" ||
    die "certkeep's root not served on the plain port"
CK_DIR=https://127.0.0.1:$CK_TLS/acme/certkeep/directory
curl -sf --max-time 5 --cacert "$W/ck/root.pem" "$CK_DIR" -o "$W/ck/dir.json" ||
    die "no ACME directory at $CK_DIR"
grep -q '"newOrder"' "$W/ck/dir.json" || die "no newOrder in $CK_DIR: $(cat "$W/ck/dir.json")"

# ------------------------------------------------------------ 2. pebble

P=$W/pebble
mkdir -p "$P"
(
	cd "$P"
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout ca.key -out ca.pem -subj '/CN=bench pebble TLS root' -days 30 \
	    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout server.key -out server.csr -subj '/CN=localhost'
	printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
	    'extendedKeyUsage=serverAuth' 'basicConstraints=CA:FALSE' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	    -days 30 -extfile server.ext -out server.pem
) >"$P/mkca.log" 2>&1 || { cat "$P/mkca.log" >&2; die "making pebble's TLS certificate failed"; }
PB_PORT=$(free_port) || die "no free port"
PB_MGMT=$(free_port) || die "no free port"
PB_DNS=$(free_port) || die "no free port"
PB_CTS=$(free_port) || die "no free port"
PB_ALPN=$(free_port) || die "no free port"
cat >"$P/pebble-config.json" <<JSON
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PB_PORT",
    "managementListenAddress": "127.0.0.1:$PB_MGMT",
    "certificate": "$P/server.pem",
    "privateKey": "$P/server.key",
    "httpPort": $H01,
    "tlsPort": $PB_ALPN,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON
# the fake DNS: every A query -> 127.0.0.1, no AAAA, no HTTP responders of its own
setsid pebble-challtestsrv -management "127.0.0.1:$PB_CTS" -dns01 "127.0.0.1:$PB_DNS" \
    -http01 "" -https01 "" -tlsalpn01 "" \
    -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$P/challtestsrv.log" 2>&1 &
CTS_PID=$!
PIDS+=("$CTS_PID")
setsid env PEBBLE_VA_NOSLEEP=1 PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$P/pebble-config.json" -dnsserver "127.0.0.1:$PB_DNS" -strict=false \
    >"$P/pebble.log" 2>&1 &
PB_PID=$!
PIDS+=("$PB_PID")
PB_DIR=https://127.0.0.1:$PB_PORT/dir
for ((k = 0; k < 150; k++)); do
	curl -sf --max-time 1 --cacert "$P/ca.pem" "$PB_DIR" -o "$P/dir.json" && break
	kill -0 "$PB_PID" 2>/dev/null || die "pebble exited: $(tail -5 "$P/pebble.log")"
	kill -0 "$CTS_PID" 2>/dev/null || die "pebble-challtestsrv exited: $(tail -5 "$P/challtestsrv.log")"
	sleep 0.1
done
grep -q '"newOrder"' "$P/dir.json" 2>/dev/null || die "pebble did not come up: $(tail -5 "$P/pebble.log")"

# -------------------------------------------------------------- 3. runs

CLK=$(getconf CLK_TCK 2>/dev/null || echo 100)
[ "$CLK" = 100 ] || say "  note: CLK_TCK is $CLK, the driver assumes 100 (server CPU figures are off)"

# drive LABEL N DIR ROOT PID: one run, its JSON line in $W/res-LABEL-N
drive() {
	local label=$1 n=$2 dir=$3 root=$4 pid=$5 out=$W/res-$1-$2
	say "  $label, N=$n"
	if [ "$CLIENT" = c ]; then
		timeout --foreground $((WARMUP + DURATION + 90)) \
		    "$CDRIVE" --dir "$dir" --ca "$root" --n "$n" --warmup "$WARMUP" \
		    --duration "$DURATION" --http01 "$H01" --label "$label" --pids "$pid" \
		    >"$out" 2>"$out.err" ||
		    { cat "$out" "$out.err" >&2; die "$label N=$n: the driver failed"; }
	else
		NODE_EXTRA_CA_CERTS=$root timeout --foreground $((WARMUP + DURATION + 90)) \
		    node "$DRIVER" --dir "$dir" --ca "$root" --n "$n" --warmup "$WARMUP" \
		    --duration "$DURATION" --http01 "$H01" --label "$label" --pids "$pid" \
		    --backoff-min "$BACKOFF_MIN" --nonce-pool "$NONCE_POOL" >"$out" 2>"$out.err" ||
		    { cat "$out" "$out.err" >&2; die "$label N=$n: the driver failed"; }
	fi
	kill -0 "$pid" 2>/dev/null || die "$label died during N=$n"
	node "$DRIVER" --line "$out"
}

say "runs (certkeep then pebble at each N)"
for n in "${NSA[@]}"; do
	drive certkeep "$n" "$CK_DIR" "$W/ck/root.pem" "$CK_PID"
	drive pebble "$n" "$PB_DIR" "$P/ca.pem" "$PB_PID"
done

# ------------------------------------------------------------------ after

ck_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$CK_PID/status")
pb_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PB_PID/status")
ck_db=$(du -k "$W/ck/inv.db" | cut -f1)
ck_valid=$(grep -c 'acme: http-01 .* valid' "$W/ck/serve.log" || true)
ck_errs=$(grep -c 'level=error' "$W/ck/serve.log" || true)
ck_warns=$(grep -c 'level=warn' "$W/ck/serve.log" || true)
ck_4xx=$(grep 'msg=request' "$W/ck/serve.log" | grep -c 'status=[45]' || true)
# certkeep's own time per request kind (dur_ms of its access log, all runs)
ck_reqs=
if [ "$ACCESS_LOG" = on ]; then
	ck_reqs=$(grep 'msg=request' "$W/ck/serve.log" | awk '/path=\/acme\// {
		m = ""; p = ""; d = 0
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^method=/) m = substr($i, 8)
			else if ($i ~ /^path=/) { p = substr($i, 6); sub(/^\/acme\/[^\/]*\//, "", p); gsub(/[0-9]+/, "#", p) }
			else if ($i ~ /^dur_ms=/) d = substr($i, 8) + 0
		}
		k = m " " p; n[k]++; s[k] += d
	} END { for (k in n) if (n[k] > 10) printf "%s %.2f ms (%d), ", k, s[k] / n[k], n[k] }' | sed 's/, $//')
fi
t1=$(date +%s%N)
kill -TERM "$CK_PID"
ck_rc=0
wait "$CK_PID" || ck_rc=$?
STOP_MS=$(( ($(date +%s%N) - t1) / 1000000 ))

# ------------------------------------------------------------------ 4. table

CK_VER=$("$CERTKEEP" --version 2>/dev/null | head -1)
PB_VER=$(dpkg-query -W -f='${Version}' pebble 2>/dev/null || echo '?')
CL_VER=$(node -p 'require("acme-client/package.json").version' 2>/dev/null || echo '?')
{
	echo
	echo "ACME complete orders per second (newOrder to certificate downloaded and parsed, http-01, one name per order)"
	echo "on loopback: $(nproc) cores shared by the server and the client (load average before: $LOAD0); ${WARMUP}s warm-up, then ${DURATION}s counted per run"
	if [ "$NONCE_POOL" = 1 ]; then nonces="nonces from earlier answers (NONCE_POOL=1)"; else nonces="HEAD newNonce before each signed request (as shipped)"; fi
	if [ "$CLIENT" = c ]; then
		echo "client: certkeep's acme issuer connector (bench/acme-drive, the client renewals use): one TLS connection per order,"
		echo "  nonces from earlier answers, polls after 250 ms then doubling; one process, one P-256 account, N threads, a new P-256 key and name per order"
	else
		echo "client: npm acme-client $CL_VER (auto(), skipChallengeVerification, backoff ${BACKOFF_MIN} ms..1 s) on node $(node --version),"
		echo "  $nonces; one process per run, one P-256 account, N concurrent order loops, a new P-256 key and name per order"
	fi
	echo "certkeep: $CK_VER, serve --workers $WORKERS, SQLite, access_log=$ACCESS_LOG, real http-01 validation (the driver answers)"
	echo "pebble: $PB_VER, PEBBLE_VA_NOSLEEP=1 PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_WFE_NONCEREJECT=0 (no validation at all)"
	echo
	node "$DRIVER" --table "$W" "$TARGET" "${NSA[@]}"
	echo "certkeep after the runs: VmRSS $ck_rss kB, inventory $ck_db kB, $ck_valid http-01 validations logged, log: $ck_errs errors, $ck_warns warnings, $ck_4xx requests answered 4xx/5xx; SIGTERM: exit $ck_rc after ${STOP_MS} ms"
	[ -z "$ck_reqs" ] || echo "certkeep's mean time per request (its access log, all runs): $ck_reqs"
	echo "pebble after the runs: VmRSS $pb_rss kB"
	echo "took $(($(date +%s) - T0)) s"
} | tee "$W/table.txt"

FAILED=0
[ "$ck_rc" = 0 ] || { say "certkeep serve exited $ck_rc on SIGTERM"; FAILED=1; exit 1; }
