# Notification channels against real receivers on loopback: a private
# postfix instance (its own config, queue and data folders under $T,
# listening on 127.0.0.1 only, delivering the virtual domain
# certkeep.test to mailbox files in $T/mail) takes `certkeep notify test`
# mail, and the test reads the delivered message (Date, From, To, Subject,
# Message-ID, body) for each recipient. A python3 HTTP listener on
# 127.0.0.1 stores each webhook body and its headers: json, slack, teams
# and teams-messagecard are checked field by field. Failures: a closed
# SMTP port, a closed webhook port and a webhook answering 500 exit 5 with
# the channel and the cause; bad configuration exits 2 naming section and
# key; an unknown channel exits 3. The mail part needs root (postfix drops
# to its own user) and postfix; without them it says so and is skipped.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/integration/lib.sh"

POSTFIX="" HOOKPID=""
cleanup() {
	st=$?
	set +e
	[ -n "$POSTFIX" ] && postfix -c "$POSTFIX" stop >/dev/null 2>&1
	[ -n "$HOOKPID" ] && kill "$HOOKPID" 2>/dev/null
	rm -rf "$T"
	exit $st
}
trap cleanup EXIT INT TERM

# Free loopback ports, bound together so none repeats: SMTP, and two that
# stay closed (nothing listens there during the test).
# shellcheck disable=SC2046 # one word per port
set -- $(python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
PS=$1 CLOSED1=$2 CLOSED2=$3

# --- the webhook listener ------------------------------------------------
mkdir -p "$T/hook"
cat >"$T/hook.py" <<'EOF'
import http.server, json, os, sys
out = sys.argv[1]
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n[0] += 1
        name = self.path.strip("/").replace("/", "_") or "root"
        with open(os.path.join(out, "%s.body" % name), "wb") as f:
            f.write(body)
        with open(os.path.join(out, "%s.headers" % name), "w") as f:
            for k, v in self.headers.items():
                f.write("%s: %s\n" % (k.lower(), v))
        code = 500 if self.path.startswith("/fail") else 200
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"broken on purpose\n" if code == 500 else b"ok\n")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(out, "port.tmp"), "w") as f:
    f.write(str(s.server_address[1]))
os.rename(os.path.join(out, "port.tmp"), os.path.join(out, "port"))
s.serve_forever()
EOF
python3 "$T/hook.py" "$T/hook" >"$T/hook.log" 2>&1 &
HOOKPID=$!
for _ in $(seq 1 100); do
	[ -s "$T/hook/port" ] && break
	sleep 0.1
done
[ -s "$T/hook/port" ] || { cat "$T/hook.log" >&2; fail "webhook listener did not start"; }
PW=$(cat "$T/hook/port")

cat >"$T/certkeep.conf" <<EOF
[notify.mail]
type = email
smtp_url = smtp://127.0.0.1:$PS
from = certkeep@certkeep.test
to = ops@certkeep.test, pki@certkeep.test
starttls = off
timeout = 20s

[notify.hook-json]
type = webhook
url = http://127.0.0.1:$PW/json/SECRET-PATH
format = json
header = Authorization: Bearer hook-token

[notify.hook-slack]
type = webhook
url = http://127.0.0.1:$PW/slack
format = slack

[notify.hook-teams]
type = webhook
url = http://127.0.0.1:$PW/teams
format = teams

[notify.hook-card]
type = webhook
url = http://127.0.0.1:$PW/card
format = teams-messagecard
kinds = expiring, revoked
min_severity = warning
digest = 1h

[notify.hook-500]
type = webhook
url = http://127.0.0.1:$PW/fail/SECRET-PATH

[notify.dead-mail]
type = email
smtp_url = smtp://127.0.0.1:$CLOSED1
from = certkeep@certkeep.test
to = ops@certkeep.test
timeout = 5s

[notify.dead-hook]
type = webhook
url = http://127.0.0.1:$CLOSED2/SECRET-PATH
timeout = 5s

[notify.log]
type = syslog
facility = local3

[notify.rules]
expiring_days = 60, 30, 7
EOF
C="--config $T/certkeep.conf"
# A fixed clock: the Date header and sent_at are known.
export CERTKEEP_NOW=2026-11-23T09:00:00Z

# --- list -----------------------------------------------------------------
# shellcheck disable=SC2086 # $C is two words on purpose
expect_status 0 ck notify list $C --json
expect_eq "$(jq -r '.channels | length' "$T/out")" 9 "channels listed"
expect_eq "$(jq -r '.channels[] | select(.name == "hook-card") | [.type, .min_severity, .digest, (.kinds | join(","))] | join(" ")' "$T/out")" \
	"webhook warning 3600 expiring,revoked" "hook-card as listed"
expect_eq "$(jq -c .rules.expiring_days "$T/out")" "[60,30,7]" "rules"
grep -q SECRET-PATH "$T/out" && fail "list shows a webhook URL's path"
grep -q hook-token "$T/out" && fail "list shows a header value"
# shellcheck disable=SC2086
expect_status 0 ck notify list $C
expect_grep "^mail  *email .*email to ops@certkeep.test and others via smtp://127.0.0.1:$PS" "$T/out"
echo "ok list"

# --- webhooks: each format --------------------------------------------------
# shellcheck disable=SC2086
expect_status 0 ck notify test hook-json $C --severity critical --owner alice
expect_grep "sent a test alert through hook-json (webhook json to http://127.0.0.1:$PW/...)" "$T/out"
B=$T/hook/json_SECRET-PATH.body
jq -e --arg now 2026-11-23T09:00:00Z '.source == "certkeep" and .channel == "hook-json"
	and .count == 1 and .severity == "critical" and .sent_at == $now
	and .alerts[0].kind == "expiring" and .alerts[0].severity == "critical"
	and .alerts[0].owner == "alice" and .alerts[0].key == "test:hook-json"
	and (.alerts[0].title | test("test alert from certkeep \\(channel hook-json\\)"))' "$B" >/dev/null ||
	{ cat "$B"; fail "json webhook body"; }
expect_grep "^authorization: Bearer hook-token$" "$T/hook/json_SECRET-PATH.headers"
expect_grep "^content-type: application/json$" "$T/hook/json_SECRET-PATH.headers"
echo "ok webhook json"

# shellcheck disable=SC2086
expect_status 0 ck notify test hook-slack $C --kind revoked
jq -e '(keys == ["text"]) and (.text | test("\\[info\\] revoked: test alert from certkeep"))' \
	"$T/hook/slack.body" >/dev/null || { cat "$T/hook/slack.body"; fail "slack webhook body"; }
echo "ok webhook slack"

# shellcheck disable=SC2086
expect_status 0 ck notify test hook-teams $C --severity warning
jq -e '.type == "message"
	and .attachments[0].contentType == "application/vnd.microsoft.card.adaptive"
	and .attachments[0].content.type == "AdaptiveCard"
	and (.attachments[0].content.body[1].text | test("channel hook-teams"))
	and .attachments[0].content.body[1].color == "Warning"
	and .attachments[0].content.body[3].type == "FactSet"' \
	"$T/hook/teams.body" >/dev/null || { cat "$T/hook/teams.body"; fail "teams webhook body"; }
echo "ok webhook teams (adaptive card)"

# a test alert goes out whatever the channel's kinds and min_severity say
# shellcheck disable=SC2086
expect_status 0 ck notify test hook-card $C --kind stuck
jq -e '."@type" == "MessageCard" and ."@context" == "https://schema.org/extensions"
	and .themeColor == "0078D7" and (.summary | test("channel hook-card"))
	and .sections[0].facts[0].name == "kind" and .sections[0].facts[0].value == "stuck"' \
	"$T/hook/card.body" >/dev/null || { cat "$T/hook/card.body"; fail "messagecard webhook body"; }
echo "ok webhook teams-messagecard"

# --dry-run prints the body and sends nothing
rm -f "$T/hook/slack.body"
# shellcheck disable=SC2086
expect_status 0 ck notify test hook-slack $C --dry-run
jq -e '.text | test("test alert from certkeep \\(channel hook-slack\\)")' "$T/out" >/dev/null ||
	{ cat "$T/out"; fail "dry-run output"; }
[ -e "$T/hook/slack.body" ] && fail "--dry-run sent the webhook"
# shellcheck disable=SC2086
expect_status 0 ck notify test mail $C --dry-run
expect_grep "^Subject: \[certkeep\] test alert from certkeep (channel mail)" "$T/out"
echo "ok dry-run"

# --- failures -----------------------------------------------------------------
# shellcheck disable=SC2086
expect_status 5 ck notify test hook-500 $C
expect_grep "certkeep: notify hook-500: http://127.0.0.1:$PW/... answered HTTP 500: broken on purpose" "$T/err"
grep -q SECRET-PATH "$T/err" && fail "error shows a webhook URL's path"
# shellcheck disable=SC2086
expect_status 5 ck notify test dead-hook $C
expect_grep "certkeep: notify dead-hook: .*127.0.0.1:$CLOSED2" "$T/err"
grep -q SECRET-PATH "$T/err" && fail "error shows a webhook URL's path"
# shellcheck disable=SC2086
expect_status 5 ck notify test dead-mail $C
expect_grep "certkeep: notify dead-mail: smtp://127.0.0.1:$CLOSED1: .*onnect" "$T/err"
echo "ok failures: $(cat "$T/err")"

# shellcheck disable=SC2086
expect_status 3 ck notify test nosuch $C
expect_grep "no channel 'nosuch'" "$T/err"
printf '[notify.x]\ntype = webhook\nurl = http://127.0.0.1:1/\nformat = xml\n' >"$T/bad.conf"
expect_status 2 ck notify list --config "$T/bad.conf"
expect_grep "\[notify.x\] format: unknown format 'xml'" "$T/err"
printf '[notify.y]\ntype = email\nsmtp_url = smtp://127.0.0.1:1\nfrom = a@b\n' >"$T/bad.conf"
expect_status 2 ck notify test y --config "$T/bad.conf"
expect_grep "\[notify.y\] to: missing" "$T/err"
expect_status 2 env -u CERTKEEP_CONFIG "$CERTKEEP" notify list
expect_grep "no configuration" "$T/err"
# shellcheck disable=SC2086
expect_status 0 ck notify test log $C
echo "ok bad configuration, unknown channel, syslog"

# --- email through a private postfix --------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null 2>&1; then
	echo "skipped email: needs root and postfix"
	exit 0
fi
POSTFIX=$T/postfix
mkdir -p "$POSTFIX/queue" "$POSTFIX/data" "$T/mail"
chown postfix "$POSTFIX/data"
# the virtual delivery agent writes the mailboxes as nobody
chown 65534:65534 "$T/mail"
cat >"$POSTFIX/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $POSTFIX/queue
data_directory = $POSTFIX/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = $POSTFIX/maillog
maillog_file_prefixes = $POSTFIX
myhostname = mx.certkeep.test
mydomain = certkeep.test
myorigin = certkeep.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = certkeep.test
virtual_mailbox_base = $T/mail
virtual_mailbox_maps = inline:{ ops@certkeep.test=ops, pki@certkeep.test=pki }
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
smtpd_tls_security_level = none
EOF
cat >"$POSTFIX/master.cf" <<EOF
127.0.0.1:$PS inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
virtual   unix - n n - - virtual
postlog   unix-dgram n - n - 1 postlogd
EOF
postfix -c "$POSTFIX" start >"$T/postfix.log" 2>&1 || { cat "$T/postfix.log" "$POSTFIX/maillog" >&2; fail "postfix start"; }
for _ in $(seq 1 100); do
	ss -Hltn "sport = :$PS" | grep -q . && break
	sleep 0.1
done
ss -Hltn "sport = :$PS" | grep -q . || { cat "$POSTFIX/maillog" >&2; fail "postfix does not listen on $PS"; }
ss -Hltn "sport = :$PS" | grep -q "127.0.0.1:$PS" || fail "postfix listens beyond loopback"

# shellcheck disable=SC2086
expect_status 0 ck notify test mail $C --severity critical --owner alice
expect_grep "sent a test alert through mail (email to ops@certkeep.test and others via smtp://127.0.0.1:$PS)" "$T/out"
# wait_mail BOX: until postfix delivered to $T/mail/BOX
wait_mail() {
	for _ in $(seq 1 150); do
		grep -q '^-- $' "$T/mail/$1" 2>/dev/null && return 0
		sleep 0.2
	done
	cat "$POSTFIX/maillog" >&2
	fail "no mail delivered to $1@certkeep.test"
}
for box in ops pki; do
	wait_mail "$box"
	M=$T/mail/$box
	# the headers as written, after postfix's own (Return-Path, Received)
	expect_grep "^Delivered-To: $box@certkeep.test" "$M"
	expect_grep "^Date: Mon, 23 Nov 2026 09:00:00 +0000$" "$M"
	expect_grep "^From: certkeep <certkeep@certkeep.test>$" "$M"
	expect_grep "^To: ops@certkeep.test,$" "$M"
	expect_grep "^ pki@certkeep.test$" "$M"
	expect_grep "^Subject: \[certkeep\] CRITICAL: test alert from certkeep (channel mail)$" "$M"
	expect_grep "^Message-ID: <[0-9a-f]*\.[0-9]*\.certkeep@certkeep.test>$" "$M"
	expect_grep "^Content-Type: text/plain; charset=utf-8$" "$M"
	expect_grep "^Return-Path: <certkeep@certkeep.test>$" "$M"
	expect_grep "^\[critical\] expiring: test alert from certkeep (channel mail)$" "$M"
	expect_grep "^  owner: alice$" "$M"
	expect_grep "^  This is a test of notification channel mail, sent by certkeep notify test$" "$M"
	expect_grep "^certkeep, notification channel mail$" "$M"
	echo "ok mail delivered to $box@certkeep.test: $(grep '^Subject:' "$M")"
done
expect_eq "$(grep -c '^Message-ID:' "$T/mail/ops")" 1 "messages in ops's mailbox"
