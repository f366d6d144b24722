# 2,000 idle connections: the server keeps answering others while they
# are open, counts them, and frees them at the idle timeout. Then SIGHUP
# reloads the config (a longer timeout applies to new connections) and
# SIGTERM still exits 0.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"
printf '[limits]\nidle_timeout = 5s\nrequest_timeout = 5s\n' >"$T/certkeep.conf"
export CERTKEEP_CONFIG="$T/certkeep.conf"
start_serve
TOKEN=$(ck token create --role auditor --name mon 2>/dev/null)
conns() { api GET /metrics >/dev/null; sed -n 's/^certkeep_http_connections \([0-9]*\)$/\1/p' "$T/body"; }

python3 - "$PORT" "$URL" "$ROOT" "$TOKEN" <<'PY' || fail "idle connections"
import select, socket, subprocess, sys, time
port, url, root, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
# non-blocking connects, all in flight at once (a SYN the kernel drops is
# retried after 1 s: serial connects would take seconds)
socks = []
for _ in range(2000):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    socks.append(s)
pending = {s.fileno(): s for s in socks}
poll = select.poll()
for fd in pending:
    poll.register(fd, select.POLLOUT)
end = time.time() + 5
while pending and time.time() < end:
    for fd, ev in poll.poll(500):
        if pending[fd].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            sys.exit("connect failed")
        poll.unregister(fd)
        del pending[fd]
if pending:
    sys.exit("%d connects pending" % len(pending))
opened = time.time()
def metric():
    out = subprocess.run(["curl", "-s", "--cacert", root, "-H", "Authorization: Bearer " + token,
                          url + "/metrics"], capture_output=True, text=True, timeout=10).stdout
    for line in out.splitlines():
        if line.startswith("certkeep_http_connections "):
            return int(line.split()[1])
    sys.exit("no connection gauge")
# accepted as fast as the workers take them from the listen queue
deadline = time.time() + 3
while True:
    t = time.time()
    n = metric()
    if time.time() - t > 1:
        sys.exit("a request took %.1f s with 2000 idle connections" % (time.time() - t))
    if n >= 2000 or time.time() > deadline:
        break
    time.sleep(0.1)
if n < 2000:
    sys.exit("gauge %d with 2000 open" % n)
print("open: gauge %d, answered in %.3f s" % (n, time.time() - t))
time.sleep(max(0, opened + 6.5 - time.time()))   # idle_timeout is 5 s
closed = 0
for s in socks:
    s.settimeout(0.5)
    try:
        if s.recv(1) == b"":
            closed += 1
    except (ConnectionResetError, BrokenPipeError):
        closed += 1
    except socket.timeout:
        pass
    s.close()
if closed != 2000:
    sys.exit("only %d of 2000 idle connections closed by the server" % closed)
n = metric()
if n > 5:
    sys.exit("gauge still %d after the idle timeout" % n)
print("after the timeout: all closed, gauge %d" % n)
PY

# SIGHUP: the new config is read (and logged); the server goes on
printf '[limits]\nidle_timeout = 30s\n' >"$T/certkeep.conf"
kill -HUP "$SERVE_PID"
for _ in $(seq 1 30); do grep -q "reloaded" "$T/serve.log" && break; sleep 0.1; done
expect_grep "reloaded $T/certkeep.conf" "$T/serve.log"
expect_eq "$(curl -s "$PURL/healthz")" "ok" "healthz after reload"
printf '[limits]\nidle_timeout = forever\n' >"$T/certkeep.conf"
kill -HUP "$SERVE_PID"
for _ in $(seq 1 30); do grep -q "keeping the old settings" "$T/serve.log" && break; sleep 0.1; done
expect_grep "keeping the old settings" "$T/serve.log"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"; st=$?
SERVE_PID=""
check_serve_log
expect_eq "$st" 0 "exit status"
