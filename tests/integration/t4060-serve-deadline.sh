# A total deadline per request, and every connection counted: a client
# that trickles its request a byte at a time (each byte well inside
# request_timeout) is dropped at request_deadline, over plain HTTP and
# over TLS; a request that arrives in time is answered, and a keep-alive
# connection idle for longer than the deadline still gets its next
# request answered (the deadline starts with the request's first byte).
# Plain HTTP connections count toward max_connections like TLS ones: at
# the limit a new client waits until one closes.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"
printf '[limits]\nrequest_timeout = 10s\nidle_timeout = 10s\nrequest_deadline = 3s\nmax_connections = 20\n' >"$T/certkeep.conf"
export CERTKEEP_CONFIG="$T/certkeep.conf"
start_serve --workers 1
TOKEN=$(ck token create --role auditor --name mon 2>/dev/null)

python3 - "$PPORT" "$PORT" "$ROOT" <<'PY' || fail "deadline"
import socket, ssl, sys, time
pport, tport, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
REQ = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nUser-Agent: trickle\r\nX-Pad: " + b"a" * 40 + b"\r\n\r\n"

def tls(sock):
    ctx = ssl.create_default_context(cafile=root)
    return ctx.wrap_socket(sock, server_hostname="localhost")

def trickle(port, wrap, gap, n):
    """Sends REQ a byte every gap seconds (n bytes at most); returns
    (seconds until the server closed or answered, what came back)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if wrap:
        s = wrap(s)
    t0 = time.time()
    s.settimeout(gap)
    got = b""
    for i in range(n):
        try:
            s.sendall(REQ[i:i + 1])
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            break
        try:
            chunk = s.recv(4096)
            got += chunk
            if chunk == b"" or b"\r\n\r\n" in got:
                break
        except socket.timeout:
            pass
        except (ConnectionResetError, ssl.SSLError):
            break
    s.settimeout(10)
    if not got:
        try:
            got = s.recv(4096)
        except (ConnectionResetError, ssl.SSLError, socket.timeout):
            pass
    s.close()
    return time.time() - t0, got

for name, port, wrap in (("plain", pport, None), ("tls", tport, tls)):
    took, got = trickle(port, wrap, 0.25, len(REQ))   # 20+ s if let be
    if got.startswith(b"HTTP/1.1 200"):
        sys.exit("%s: a trickled request was answered after %.1f s" % (name, took))
    if not 2.5 <= took <= 5:
        sys.exit("%s: dropped after %.1f s, want about 3 s" % (name, took))
    print("%s: trickling client dropped after %.1f s" % (name, took))

# in time, even though slow: the whole request in about 1 s
took, got = trickle(pport, None, 0.012, len(REQ))
if not got.startswith(b"HTTP/1.1 200"):
    sys.exit("a request sent over %.1f s was not answered: %r" % (took, got[:40]))

# keep-alive: idle longer than the deadline between two requests
s = socket.create_connection(("127.0.0.1", pport), timeout=10)
for i in range(2):
    s.sendall(REQ)
    got = b""
    while b"\r\n\r\nok" not in got:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("keep-alive request %d: closed (%r)" % (i + 1, got[:60]))
        got += chunk
    if i == 0:
        time.sleep(3.5)
s.close()
print("keep-alive: second request after 3.5 s idle answered")
PY

conns() { api GET /metrics >/dev/null; sed -n "s/^$1 \([0-9]*\)$/\1/p" "$T/body"; }
drops=$(conns certkeep_http_deadline_drops_total)
[ "${drops:-0}" -ge 2 ] || fail "deadline drops counted: '$drops'"
expect_grep "request_deadline: dropping a client" "$T/serve.log"

# max_connections counts plain HTTP: 20 idle plain connections fill the
# worker; a 21st client waits in the backlog until some close
python3 - "$PPORT" <<'PY' || fail "plain connections at the limit"
import socket, subprocess, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
time.sleep(0.3)
url = "http://127.0.0.1:%d/healthz" % port
r = subprocess.run(["curl", "-s", "-m", "1", url], capture_output=True, text=True)
if r.returncode == 0:
    sys.exit("answered with 20 connections open and max_connections 20")
for s in idle[:5]:
    s.close()
t = time.time()
r = subprocess.run(["curl", "-s", "-m", "2", url], capture_output=True, text=True)
if r.returncode != 0 or r.stdout.strip() != "ok":
    sys.exit("not answered after 5 of 20 closed: rc %d" % r.returncode)
print("at the limit a client waited; answered %.2f s after 5 closed" % (time.time() - t))
for s in idle[5:]:
    s.close()
PY
sleep 0.3
n=$(conns certkeep_http_connections)
[ "${n:-99}" -le 1 ] || fail "connection gauge $n after every client left"
stop_serve
check_serve_log
