#!/usr/bin/env bash
# bench/scan.sh: the network scanner at scale, beside its peer and limit.
#
#   CERTKEEP=build/release/certkeep bash bench/scan.sh     (from the repo root)
#
# Everything runs in a private network namespace (unshare -rn: only a
# loopback device), so nginx can answer every 127.x address on port 443
# with one listener without listening anywhere else. Figures:
#   - the limit: TLS handshakes per second of that nginx on this machine
#     (two `openssl s_time -new` clients for 5 s, scanner-like: P-256,
#     no session reuse), client and server sharing the 2 cores;
#   - certkeep scan net 127.0.0.0/16 --ports 443 (65,536 endpoints, all
#     answering): certificate grabs per second, and its peak RSS;
#   - a /16 where one address in 256 answers (127.1.X.1) and a /16 of
#     closed ports: endpoints per second, time;
#   - the peer: nmap -sT -p 443 --script ssl-cert on 127.0.0.0/24;
#   - peak RSS for a /20 beside the /16, both with 512 connections in
#     flight (memory must not grow with the range; it follows the
#     connections in flight: TLS buffers).
# Needs nginx, nmap, openssl (apt-get install nginx-light nmap).
set -euo pipefail
CERTKEEP=${CERTKEEP:-build/release/certkeep}
CERTKEEP=$(cd "$(dirname "$CERTKEEP")" && pwd)/$(basename "$CERTKEEP")
for c in nginx nmap openssl unshare; do
	command -v "$c" >/dev/null || { echo "bench/scan: needs $c (apt-get install nginx-light nmap)" >&2; exit 2; }
done
if [ -z "${IN_NS:-}" ]; then
	exec unshare -rn env IN_NS=1 CERTKEEP="$CERTKEEP" bash "$0" "$@"
fi
ip link set lo up 2>/dev/null || true
T=$(mktemp -d /tmp/ck-bench-scan.XXXXXX)
NGINX_PID=""
trap '[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null; sleep 0.3; rm -rf "$T"' EXIT
cd "$T"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem \
	-out c.pem -subj "/CN=bench.test" -days 30 2>/dev/null
{
	echo "daemon off; pid $T/nginx.pid; error_log $T/error.log; worker_processes 2; user root;"
	echo "events { worker_connections 4096; }"
	echo "http { access_log off; client_body_temp_path $T; proxy_temp_path $T; fastcgi_temp_path $T; uwsgi_temp_path $T; scgi_temp_path $T;"
	echo "  ssl_certificate $T/c.pem; ssl_certificate_key $T/k.pem; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache off; ssl_session_tickets off;"
	echo "  server { listen 443 ssl; return 200; }"
	# 127.1.X.1: one address in 256 of 127.1.0.0/16 on port 8443
	for x in $(seq 0 255); do echo "  server { listen 127.1.$x.1:8443 ssl; return 200; }"; done
	echo "}"
} >nginx.conf
nginx -c "$T/nginx.conf" -p "$T" &
NGINX_PID=$!
for _ in $(seq 1 50); do openssl s_client -connect 127.0.0.1:443 </dev/null >/dev/null 2>&1 && break; sleep 0.1; done

export CERTKEEP_DB="sqlite:$T/inv.db" CERTKEEP_MASTER_KEY_FILE="$T/mk" NO_COLOR=1
rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
scan() { # NAME ARGS...: runs a quiet scan, prints its summary line
	local name=$1; shift
	/usr/bin/time -v "$CERTKEEP" scan net -q "$@" >"$name.out" 2>"$name.time" || { cat "$name.out" "$name.time"; exit 1; }
	grep '^scan ' "$name.out"
}

# the limit: handshakes per second of this nginx, two clients
for i in 1 2; do openssl s_time -connect 127.0.0.1:443 -new -time 5 >"stime$i.txt" 2>&1 & done
wait %2 %3 2>/dev/null || wait
limit=$(cat stime1.txt stime2.txt | sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' | awk '{s+=$1} END {printf "%.0f", s/5}')

s16=$(scan full16 127.0.0.0/16 --ports 443 --rate 0 --concurrency 512 --timeout 5)
grabs=$(echo "$s16" | sed -n 's/.* in \([0-9.]*\)s (\([0-9]*\)\/s): \([0-9]*\) TLS.*/\3 \1/p' | awk '{printf "%.0f", $1/$2}')
s20=$(scan full20 127.0.0.0/20 --ports 443 --rate 0 --concurrency 512 --timeout 5)
sparse=$(scan sparse 127.1.0.0/16 --ports 8443 --rate 0 --concurrency 2048 --timeout 2)
closed=$(scan closed 127.2.0.0/16 --ports 444 --rate 0 --concurrency 2048 --timeout 2)

nm_start=$(date +%s.%N)
nmap -sT -Pn -n -p 443 --script ssl-cert 127.0.0.0/24 -oG nmap.txt >/dev/null 2>&1
nm_secs=$(echo "$(date +%s.%N) - $nm_start" | bc 2>/dev/null || python3 -c "print($(date +%s.%N) - $nm_start)")
nm_rate=$(awk -v s="$nm_secs" 'BEGIN {printf "%.0f", 256 / s}')

closed_secs=$(echo "$closed" | sed -n 's/.* in \([0-9.]*\)s.*/\1/p')
echo
echo "certkeep scan net inside a private network namespace, nginx (2 workers) on 127/8:443, $(nproc) cores shared"
printf '%-58s %s\n' "limit: nginx TLS handshakes/s (2x openssl s_time -new)" "$limit"
printf '%-58s %s\n' "/16 all answering (65,536 endpoints)" "$s16"
printf '%-58s %s\n' "  certificate grabs per second" "$grabs"
printf '%-58s %s\n' "/20 all answering (4,096 endpoints)" "$s20"
printf '%-58s %s\n' "/16, 1 in 256 answering (127.1.X.1:8443)" "$sparse"
printf '%-58s %s\n' "/16 of closed ports (127.2.0.0/16:444)" "$closed"
printf '%-58s %s/s (%.1fs for 256)\n' "peer: nmap -sT -p 443 --script ssl-cert, /24" "$nm_rate" "$nm_secs"
printf '%-58s %s kB (/16) vs %s kB (/20), 512 in flight\n' "peak RSS of the scanner" "$(rss full16.time)" "$(rss full20.time)"
echo
awk -v g="$grabs" -v l="$limit" -v n="$nm_rate" -v c="$closed_secs" 'BEGIN {
	printf "%-58s %s\n", "grabs >= 1,600/s", (g >= 1600 ? "met" : "MISSED");
	printf "%-58s %.0f%% %s\n", "grabs >= 70% of the handshake limit", 100 * g / l, (g >= 0.7 * l ? "met" : "MISSED");
	printf "%-58s %.1fx %s\n", "grabs >= 10x nmap", g / n, (g >= 10 * n ? "met" : "MISSED");
	printf "%-58s %.1fs %s\n", "closed /16 in under 10 s", c, (c < 10 ? "met" : "MISSED");
}'
