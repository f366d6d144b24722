#!/usr/bin/env bash
# bench/renew.sh: the renewer at scale, beside its limit and its peer, and
# the scheduler's idle cost.
#
#   make bench-renew                                   (from the repo root)
#   CERTKEEP=build/release/certkeep bash bench/renew.sh
#
# What it does, in a temporary folder (KEEP=1 keeps it):
#  1. `certkeep ca init`, a local issuer, then N managed certificates
#     (BENCH_RENEW_N, default 100,000) added in one process through
#     ck_manage_add (bench/renew-fill: the call behind `manage add --queue`),
#     each with a key, certificate and full chain file, 1,000 to a folder.
#  2. `certkeep manage run` at 2027-01-01 (CERTKEEP_NOW) issues them all:
#     the first round, timed.
#  3. the clock moves 61 days on (90-day certificates, renewal at two
#     thirds of the lifetime less a jitter of up to a thirtieth): every one
#     is due at once. `certkeep manage run` renews them all, timed: new key,
#     CSR, signature, inventory record, managed row, three files rewritten
#     per certificate. Checked after: every row renewed and written, and for
#     a sample the files hold a new certificate for a new key that matches.
#  4. the limit: bench/issue (the CA benchmark) with BENCH_ISSUE_BATCH=256
#     (the renewer's batch) and BENCH_ISSUE_N = min(N, 20,000) (at N it
#     would spend most of its time making RSA CSRs): its batched one-thread
#     rate, scaled to N, is the CA's time for the same count. Target: the
#     renewals within 2x that.
#  5. the peer: certmonger (Debian's), a private daemon on its own socket
#     with its state in the temp folder, its "local" CA (key generation,
#     signature, key and certificate files: the same job): PEER_N
#     certificates requested, then all re-keyed at once (`getcert rekey`,
#     new key and certificate), timed until every certificate file changed;
#     then re-keyed again one at a time with -w (its best case: its local
#     CA helper takes a lock, and those that find it taken retry 5 s later).
#  6. the idle scheduler: a second store with IDLE_N (default 1,000,000)
#     managed rows none due (active, next action 30 to 60 days out, cloned
#     from one issued row through the store's calls), then:
#     - one idle pass, `certkeep manage run` with nothing due (what each
#       scheduler wake does): wall, CPU and peak RSS, run twice;
#     - `certkeep serve` on 127.0.0.1 ports :0 over that store: CPU seconds
#       (utime + stime from /proc/PID/stat) over IDLE_SECS (60) after it
#       settled, and RSS. Targets: under 1% of a core (0.6 CPU-s a minute)
#       and 300 MiB.
#
# Settings (environment): CERTKEEP, BENCH_RENEW_N (100000),
# BENCH_RENEW_IDLE_N (1000000), BENCH_RENEW_ISSUE_N (min(N, 20000)),
# PEER_N (100), IDLE_SECS (60), ROUND_LIMIT (1800: a `manage run` still
# going after that many seconds is stopped and its progress reported),
# SKIP_PEER=1, SKIP_IDLE=1, KEEP=1.
# Exit status: 0 when it ran (targets met or not), 1 when something broke.
# Run time: about 10 minutes at the defaults once renewals go at the CA's
# pace (with the renewer of 31ad96b: 76 + 113 s for the two rounds, about
# 8 minutes in all; before it, a full scan of `managed` per renewal made
# them 19 + 26 minutes); BENCH_RENEW_N=10000 is a quick try.
set -euo pipefail
CERTKEEP=${CERTKEEP:-build/release/certkeep}
CERTKEEP=$(cd "$(dirname "$CERTKEEP")" && pwd)/$(basename "$CERTKEEP")
BDIR=$(dirname "$CERTKEEP")/bench
FILL=$BDIR/renew-fill
ISSUE=$BDIR/issue
for f in "$CERTKEEP" "$FILL" "$ISSUE"; do
	[ -x "$f" ] || { echo "bench/renew: $f missing (make -C bench B=... build)" >&2; exit 1; }
done
N=${BENCH_RENEW_N:-100000}
IDLE_N=${BENCH_RENEW_IDLE_N:-1000000}
ISSUE_N=${BENCH_RENEW_ISSUE_N:-$((N < 20000 ? N : 20000))}
PEER_N=${PEER_N:-100}
IDLE_SECS=${IDLE_SECS:-60}
ROUND_LIMIT=${ROUND_LIMIT:-1800}

T=$(mktemp -d /tmp/ck-bench-renew.XXXXXX)
CM_PID="" SERVE_PID=""
cleanup() {
	[ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2>/dev/null
	[ -n "$CM_PID" ] && kill -TERM "$CM_PID" 2>/dev/null
	sleep 0.3
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
cd "$T"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key" NO_COLOR=1
ck() { "$CERTKEEP" "$@"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
rss_kb() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
cpu_s() { awk -F': ' -v d="${2:-1}" '/User time|System time/ { s += $2 } END { printf "%." d "f", s }' "$1"; }

echo "bench/renew: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg) at start; N=$N, idle N=$IDLE_N"
echo "(other work may share the machine: the load average is printed at the start and end)"

# ---- 1. the store and N managed certificates ----
export CERTKEEP_DB="sqlite:$T/renew.db"
START=1798761600 # 2027-01-01T00:00:00Z
export CERTKEEP_NOW=$START
ck ca init bench >/dev/null
ck issuer add builtin --type local --ca bench >/dev/null
mkdir files
a=$(now)
"$FILL" add "$N" "$T/files" builtin
b=$(now)
echo "set-up: $N managed certificates added (ck_manage_add, one process) in $(calc %.1f "$b - $a") s"

# round NAME: one timed `manage run`, bounded by ROUND_LIMIT; sets SECS,
# and JSON (empty when stopped).
round() {
	local name=$1 st=0
	a=$(now)
	/usr/bin/time -v timeout "$ROUND_LIMIT" "$CERTKEEP" manage run --json \
		>"$name.json" 2>"$name.time" || st=$?
	b=$(now)
	SECS=$(calc %.2f "$b - $a")
	JSON=$(cat "$name.json")
	if [ "$st" = 124 ]; then
		echo "$name: stopped after $ROUND_LIMIT s (ROUND_LIMIT)"
	elif [ "$st" != 0 ]; then
		cat "$name.json" "$name.time" >&2
		echo "bench/renew: $name: manage run exited $st" >&2
		exit 1
	fi
}
issued_at_least() { # K: managed rows issued at least K times
	sqlite3 "$T/renew.db" "SELECT count(*) FROM managed WHERE issued_count >= $1"
}

# ---- 2. first round: every certificate issued ----
round first
R1_SECS=$SECS R1_DONE=$(issued_at_least 1)
echo "first issuance: $R1_DONE of $N in $R1_SECS s ($(calc %.0f "$R1_DONE / $R1_SECS")/s), CPU $(cpu_s first.time) s, peak RSS $(($(rss_kb first.time) / 1024)) MiB"
[ "$R1_DONE" = "$N" ] || { echo "bench/renew: the first round did not issue them all; no renewal round" >&2; exit 1; }

# a sample of the files as the first round left them
SAMPLE=""
for i in $(seq 0 $((N > 20 ? N / 20 : 1)) $((N - 1))); do
	n=$(printf 'm%07d' "$i")
	f="files/$(printf '%03d' $((i / 1000)))/$n"
	cp "$f.crt" "$T/$n.crt.1"
	cp "$f.key" "$T/$n.key.1"
	SAMPLE="$SAMPLE $i"
done

# ---- 3. the renewals: all due at once ----
export CERTKEEP_NOW=$((START + 61 * 86400))
round renew
R2_SECS=$SECS R2_DONE=$(issued_at_least 2)
R2_RSS=$(($(rss_kb renew.time) / 1024)) R2_CPU=$(cpu_s renew.time)
echo "renewal: $R2_DONE of $N in $R2_SECS s ($(calc %.0f "$R2_DONE / $R2_SECS")/s), CPU $R2_CPU s, peak RSS $R2_RSS MiB: $JSON"
if [ "$R2_DONE" = "$N" ]; then
	unwritten=$(sqlite3 "$T/renew.db" "SELECT count(*) FROM managed WHERE written_cert_id IS NOT cert_id")
	[ "$unwritten" = 0 ] || { echo "bench/renew: $unwritten rows' files not written" >&2; exit 1; }
	bad=0
	for i in $SAMPLE; do
		n=$(printf 'm%07d' "$i")
		f="files/$(printf '%03d' $((i / 1000)))/$n"
		s1=$(openssl x509 -in "$n.crt.1" -noout -serial)
		s2=$(openssl x509 -in "$f.crt" -noout -serial)
		k1=$(openssl x509 -in "$f.crt" -noout -pubkey)
		k2=$(openssl pkey -in "$f.key" -pubout)
		k0=$(openssl pkey -in "$n.key.1" -pubout)
		f1=$(openssl x509 -in "$f.full.pem" -noout -serial)
		if [ "$s1" = "$s2" ] || [ "$k1" != "$k2" ] || [ "$k0" = "$k2" ] || [ "$f1" != "$s2" ]; then
			echo "bench/renew: $f: not renewed as expected" >&2
			bad=1
		fi
	done
	[ "$bad" = 0 ] || exit 1
	echo "checked: every row renewed and its files written; a sample of $(echo $SAMPLE | wc -w): new certificate, new key, key matches, full chain starts with it"
fi

# ---- 4. the limit: the CA benchmark ----
echo "CA benchmark: bench/issue, BENCH_ISSUE_N=$ISSUE_N BENCH_ISSUE_BATCH=256 ..."
BENCH_ISSUE_N=$ISSUE_N BENCH_ISSUE_BATCH=256 "$ISSUE" >issue.out
sed 's/^/  | /' issue.out
CA_RATE=$(sed -n 's/^batched (256 per commit), P-256, 1 thread *//p' issue.out)
CA_RATE2=$(sed -n 's/^batched (256 per commit), P-256, 2 threads *//p' issue.out)
CA_SECS=$(calc %.2f "$N / $CA_RATE")
# a round stopped early is scaled to N from what it did
RATIO=$(awk "BEGIN { if ($R2_DONE > 0) printf \"%.2f\", $R2_SECS * $N / $R2_DONE / $CA_SECS; else print \"inf\" }")

# ---- 5. the peer: certmonger ----
PEER_LINE="certmonger: not run (SKIP_PEER=1)"
PEER_RATE="" PEER_SEQ="" PEER_SEQ_RK=""
peer() {
	local S=$T/cm/state i st
	command -v certmonger >/dev/null && command -v getcert >/dev/null ||
		{ PEER_LINE="certmonger: not installed (apt-get install certmonger)"; return; }
	mkdir -p "$S"/{requests,cas,local,tmp} "$T/cm/files"
	# its own state (else it uses /var/lib/certmonger) and socket (no D-Bus)
	export CERTMONGER_CONFIG_DIR=$S CERTMONGER_REQUESTS_DIR=$S/requests \
		CERTMONGER_CAS_DIR=$S/cas CERTMONGER_LOCAL_CA_DIR=$S/local \
		CERTMONGER_TMPDIR=$S/tmp
	certmonger -n -L -P "$T/cm/sock" -p "$T/cm/pid" >"$T/cm/log" 2>&1 </dev/null &
	CM_PID=$!
	for _ in $(seq 1 100); do [ -S "$T/cm/sock" ] && break; sleep 0.1; done
	[ -S "$T/cm/sock" ] || { PEER_LINE="certmonger: the daemon did not start: $(tail -1 "$T/cm/log")"; return; }
	export CERTMONGER_PVT_ADDRESS="unix:path=$T/cm/sock"
	# requested one at a time, waiting for each: its latency
	a=$(now)
	for i in $(seq 1 "$PEER_N"); do
		getcert request -c local -I "p$i" -k "$T/cm/files/p$i.key" \
			-f "$T/cm/files/p$i.crt" -N "CN=p$i.peer.test" -D "p$i.peer.test" \
			-G EC -g 256 -w --wait-timeout 60 >/dev/null 2>&1 ||
			{ PEER_LINE="certmonger: request p$i failed: $(getcert list -i "p$i" | grep -E 'status|error' | tr '\n' ' ')"; return; }
	done
	b=$(now)
	PEER_SEQ=$(calc %.1f "($b - $a) * 1000 / $PEER_N")
	for i in $(seq 1 "$PEER_N"); do cp "$T/cm/files/p$i.crt" "$T/cm/files/p$i.crt.1"; done
	# all re-keyed at once: its throughput; done when every file changed
	a=$(now)
	for i in $(seq 1 "$PEER_N"); do
		getcert rekey -i "p$i" >/dev/null 2>&1 ||
			{ PEER_LINE="certmonger: rekey p$i failed"; return; }
	done
	for _ in $(seq 1 6000); do
		st=0
		for i in $(seq 1 "$PEER_N"); do
			cmp -s "$T/cm/files/p$i.crt" "$T/cm/files/p$i.crt.1" && { st=1; break; }
		done
		[ "$st" = 0 ] && break
		sleep 0.05
	done
	b=$(now)
	[ "$st" = 0 ] || { PEER_LINE="certmonger: re-key did not finish in 300 s"; return; }
	i=$((PEER_N / 2))
	[ "$(openssl x509 -in "$T/cm/files/p$i.crt" -noout -pubkey)" = \
		"$(openssl pkey -in "$T/cm/files/p$i.key" -pubout)" ] ||
		{ PEER_LINE="certmonger: key and certificate differ after re-key"; return; }
	PEER_RATE=$(calc %.1f "$PEER_N / ($b - $a)")
	PEER_AT_ONCE=$(calc %.2f "$b - $a")
	# re-keyed one at a time, waiting for each: the best case, where
	# local-submit never finds its lock taken (at once, the helpers that
	# do are retried 5 s later)
	a=$(now)
	for i in $(seq 1 "$PEER_N"); do
		getcert rekey -i "p$i" -w --wait-timeout 60 >/dev/null 2>&1 ||
			{ PEER_LINE="certmonger: rekey -w p$i failed"; return; }
	done
	b=$(now)
	PEER_SEQ_RK=$(calc %.1f "($b - $a) * 1000 / $PEER_N")
	PEER_LINE="certmonger 'local' CA: $PEER_N re-keyed at once in $PEER_AT_ONCE s ($PEER_RATE/s); one at a time (rekey -w) $PEER_SEQ_RK ms each ($(calc %.1f "1000 / $PEER_SEQ_RK")/s); first requests (request -w) $PEER_SEQ ms each"
	kill -TERM "$CM_PID" 2>/dev/null; wait "$CM_PID" 2>/dev/null || true
	CM_PID=""
}
[ "${SKIP_PEER:-0}" = 1 ] || peer
echo "$PEER_LINE"

# ---- 6. the idle scheduler ----
IDLE_LINES=()
idle() {
	local db=$T/idle.db hz pid t0 t1 c0 c1 rss hwm sched
	export CERTKEEP_DB="sqlite:$db"
	unset CERTKEEP_NOW
	ck ca init bench >/dev/null
	ck issuer add builtin --type local --ca bench >/dev/null
	ck manage add seed --issuer builtin --san seed.idle.test --days 90 \
		--key-out "$T/seed.key" --cert-out "$T/seed.crt" >/dev/null 2>&1
	ck manage run --quiet 2>/dev/null # the seed is issued: the row to clone
	a=$(now)
	"$FILL" idle "$IDLE_N" seed builtin
	b=$(now)
	IDLE_LINES+=("set-up: $IDLE_N rows none due in $(calc %.0f "$b - $a") s, store $(($(stat -c %s "$db") / 1048576)) MiB")
	for k in 1 2; do
		a=$(now)
		/usr/bin/time -v "$CERTKEEP" manage run --json >"idle$k.json" 2>"idle$k.time"
		b=$(now)
		IDLE_LINES+=("idle pass $k (manage run, nothing due): $(calc %.2f "$b - $a") s wall, $(cpu_s "idle$k.time" 2) CPU-s, peak RSS $(($(rss_kb "idle$k.time") / 1024)) MiB: $(cat "idle$k.json")")
	done
	IDLE_PASS_CPU=$(cpu_s idle2.time 2)
	mkdir -p "$T/var"
	"$CERTKEEP" serve --listen 127.0.0.1:0 --listen-plain 127.0.0.1:0 \
		--data-dir "$T/var" --workers 2 >"$T/serve.log" 2>&1 &
	SERVE_PID=$!
	for _ in $(seq 1 600); do
		grep -q "serving https" "$T/serve.log" && break
		kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/serve.log" >&2; echo "bench/renew: serve exited" >&2; exit 1; }
		sleep 0.1
	done
	grep -q "serving https" "$T/serve.log" || { echo "bench/renew: serve did not start" >&2; exit 1; }
	pid=$SERVE_PID
	sleep 5 # start-up work (server certificate, CRLs) is not idle cost
	hz=$(getconf CLK_TCK)
	t0=$(now)
	c0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	sleep "$IDLE_SECS"
	c1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	t1=$(now)
	rss=$(awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$pid/status")
	hwm=$(awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$pid/status")
	SERVE_CPU_MIN=$(calc %.3f "($c1 - $c0) / $hz * 60 / ($t1 - $t0)")
	SERVE_RSS=$rss
	# grep reads all of nm's output: with -q, nm's SIGPIPE fails the
	# pipeline under pipefail
	if nm "$CERTKEEP" 2>/dev/null | grep ck_renew_scheduler_start >/dev/null; then
		sched="with the renewal scheduler (a pass at least every minute)"
	else
		sched="WITHOUT a renewal scheduler (ck_renew_scheduler_start is not in this build: the figure is the daemon's own idle cost)"
	fi
	IDLE_LINES+=("certkeep serve over the $IDLE_N-row store, $sched: $(calc %.3f "($c1 - $c0) / $hz") CPU-s in $(calc %.1f "$t1 - $t0") s = $SERVE_CPU_MIN CPU-s/min, RSS $rss MiB (peak $hwm MiB)")
	kill -TERM "$SERVE_PID" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
	SERVE_PID=""
}
IDLE_PASS_CPU="" SERVE_CPU_MIN="" SERVE_RSS=""
[ "${SKIP_IDLE:-0}" = 1 ] || idle
for l in "${IDLE_LINES[@]}"; do echo "$l"; done

# ---- the figures ----
echo
printf '%-58s %14s\n' "renewal, $N managed certificates, built-in CA" ""
printf '%-58s %14s\n' "certkeep manage run: renewals (all due at once)" "$R2_DONE"
printf '%-58s %14s\n' "  seconds" "$R2_SECS"
printf '%-58s %14s\n' "  renewals per second" "$(calc %.0f "$R2_DONE / $R2_SECS")"
printf '%-58s %14s\n' "  CPU seconds / peak RSS (MiB)" "$R2_CPU / $R2_RSS"
printf '%-58s %14s\n' "certkeep manage run: first issuance, seconds" "$R1_SECS"
printf '%-58s %14s\n' "limit: CA batched issuance (bench/issue, 1 thread), /s" "$CA_RATE"
printf '%-58s %14s\n' "  the same count at that rate, seconds" "$CA_SECS"
printf '%-58s %14s\n' "  (2 threads, /s)" "$CA_RATE2"
printf '%-58s %14s\n' "ratio renewal / CA time (target <= 2)" "$RATIO"
if [ -n "$PEER_RATE" ]; then
	printf '%-58s %14s\n' "peer: certmonger local CA re-key, $PEER_N at once, /s" "$PEER_RATE"
	printf '%-58s %14s\n' "  $N at that rate, seconds" "$(calc %.0f "$N / $PEER_RATE")"
	printf '%-58s %14s\n' "  one at a time (rekey -w), /s" "$(calc %.1f "1000 / $PEER_SEQ_RK")"
	printf '%-58s %14s\n' "  $N at that rate, seconds" "$(calc %.0f "$N * $PEER_SEQ_RK / 1000")"
fi
if [ -n "$SERVE_CPU_MIN" ]; then
	printf '%-58s %14s\n' "idle, $IDLE_N managed certificates none due" ""
	printf '%-58s %14s\n' "  certkeep serve CPU-s per minute (target < 0.6)" "$SERVE_CPU_MIN"
	printf '%-58s %14s\n' "  certkeep serve RSS, MiB (target < 300)" "$SERVE_RSS"
	printf '%-58s %14s\n' "  one idle pass (manage run), CPU-s" "$IDLE_PASS_CPU"
fi
echo
echo "targets: renewals within 2x the CA's time: $(awk "BEGIN { print (\"$RATIO\" != \"inf\" && $RATIO <= 2 && $R2_DONE == $N) ? \"met\" : \"MISSED\" }")$(
	[ -n "$SERVE_CPU_MIN" ] && echo "; idle daemon < 0.6 CPU-s/min: $(awk "BEGIN { print ($SERVE_CPU_MIN < 0.6) ? \"met\" : \"MISSED\" }"), < 300 MiB: $([ "$SERVE_RSS" -lt 300 ] && echo met || echo MISSED)")"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
