# STARTTLS against real servers from Debian's packages, each started on a
# free loopback port in $T and stopped at exit: postfix (SMTP), dovecot
# (IMAP, POP3), slapd (LDAP StartTLS), PostgreSQL (SSLRequest) and vsftpd
# (FTP AUTH TLS). For each, starttls-probe runs our dialogue
# (src/discovery/starttls.c) and the TLS handshake on the same socket and
# prints the leaf's SHA-256, which must be the certificate configured for
# that server and what `openssl s_client -starttls` sees; `certkeep scan
# net --starttls` must find and record the same leaf. Refusals: postfix,
# slapd and vsftpd without TLS, PostgreSQL with ssl = off.
# Needs root (servers drop to their own users) and the packages below.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/integration/lib.sh"
LIB=$(dirname "$CERTKEEP")/libcertkeep.a
[ -f "$LIB" ] || fail "no $LIB next to $CERTKEEP"
[ "$(id -u)" = 0 ] || fail "needs root to run postfix, dovecot, slapd, postgres and vsftpd"

PIDS="" POSTFIX="" PGDATA=""
cleanup() {
	st=$?
	set +e
	[ -n "$POSTFIX" ] && postfix -c "$POSTFIX" stop >/dev/null 2>&1
	[ -n "$PGDATA" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1
	for f in $PIDS; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	for f in $PIDS; do
		for _ in $(seq 1 50); do
			[ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null || break
			sleep 0.1
		done
		[ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$T"
	exit $st
}
trap cleanup EXIT INT TERM

# need PACKAGE COMMAND: installs PACKAGE when COMMAND is missing, as
# scripts/bootstrap does; returns 1 (and says so) when apt cannot.
need() {
	command -v "$2" >/dev/null 2>&1 && return 0
	export DEBIAN_FRONTEND=noninteractive
	if ! timeout 600 apt-get install -y -q --no-install-recommends "$1" >"$T/apt.log" 2>&1; then
		timeout 300 apt-get update -q >>"$T/apt.log" 2>&1
		timeout 600 apt-get install -y -q --no-install-recommends "$1" >>"$T/apt.log" 2>&1
	fi
	command -v "$2" >/dev/null 2>&1 && return 0
	echo "skipped: package $1 not installable"
	return 1
}
# Ten distinct free loopback ports, all bound at once so none repeats.
# shellcheck disable=SC2046 # one word per port
set -- $(python3 -c 'import socket
ss = [socket.socket() for _ in range(10)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
P1=$1 P2=$2 PI=$3 PP=$4 PL=$5 PN=$6 PQ=$7 PF=$8 PF2=$9
# wait_port PORT WHAT LOG: until something listens on 127.0.0.1:PORT
wait_port() {
	for _ in $(seq 1 100); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	cat "$3" >&2 2>/dev/null
	fail "$2 does not listen on port $1"
}
sha() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
# check PROTO PORT CERT: our probe and openssl s_client agree on CERT
check() {
	leaf=$(sha "$3")
	expect_status 0 timeout 20 "$T/probe" "$1" 127.0.0.1 "$2"
	expect_eq "$(sed -n 's/^sha256 //p' "$T/out")" "$leaf" "$1: leaf seen by starttls-probe"
	timeout 20 openssl s_client -starttls "$1" -connect "127.0.0.1:$2" </dev/null >"$T/sclient.txt" 2>&1 || true
	got=$(openssl x509 -in "$T/sclient.txt" -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
	expect_eq "$got" "$leaf" "$1: leaf seen by openssl s_client -starttls $1"
	echo "ok $1 on port $2: $(sed -n "s/^tls //p" "$T/out"), $leaf"
	# the scanner, through the same dialogue: the same leaf, recorded
	expect_status 0 timeout 30 "$CERTKEEP" scan net 127.0.0.1 --ports "$2" \
		--starttls "$1" --timeout 5 --json
	jq -e '.counts.tls == 1' "$T/out" >/dev/null || { cat "$T/out"; fail "$1: scan net found no TLS"; }
	id=$(jq -r '.endpoints[0].cert_id' "$T/out")
	expect_eq "$("$CERTKEEP" show "$id" --json | jq -r .sha256)" "$leaf" "$1: leaf found by scan net"
}
# refused PROTO PORT REASON: the server says no, and why
refused() {
	expect_status 2 timeout 20 "$T/probe" "$1" 127.0.0.1 "$2"
	expect_grep "refused: .*$3" "$T/out"
	echo "ok $1 on port $2 refused: $(cat "$T/out")"
	expect_status 0 timeout 30 "$CERTKEEP" scan net 127.0.0.1 --ports "$2" \
		--starttls "$1" --timeout 5 --json
	jq -e '.endpoints[0].status == "starttls-refused"' "$T/out" >/dev/null ||
		{ cat "$T/out"; fail "$1: scan net did not report the refusal"; }
}

# The probe, built against the library under test (sanitized like it).
SAN=""
nm "$LIB" 2>/dev/null | grep -q __asan_init && SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
# shellcheck disable=SC2046,SC2086 # pkg-config and SAN print words on purpose
cc -std=c17 -D_GNU_SOURCE $SAN -I"$REPO/src" -o "$T/probe" "$REPO/tests/integration/starttls-probe.c" "$LIB" \
	$(pkg-config --libs libcrypto libssl sqlite3 libevent libevent_openssl libevent_pthreads inih jansson) \
	-lpthread -lm || fail "cannot build starttls-probe"

# One CA, one leaf per server, so a mixed-up port shows.
mkroot ca "STARTTLS Test CA"
for n in smtp imap pop3 ldap pg; do
	mkcert "$n" ca 30 "/CN=$n.certkeep.test" "subjectAltName=DNS:$n.certkeep.test"
done
KEYALG=rsa:2048 mkcert ftp ca 30 "/CN=ftp.certkeep.test" "subjectAltName=DNS:ftp.certkeep.test"
chmod 644 ./*.pem
ran=""

# --- postfix: smtpd with STARTTLS, and one without TLS -----------------
if need postfix postfix; then
	POSTFIX=$T/postfix
	mkdir -p "$POSTFIX/queue" "$POSTFIX/data"
	chown postfix "$POSTFIX/data"
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
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_tls_cert_file = $T/smtp.pem
smtpd_tls_key_file = $T/smtp.key
smtpd_tls_security_level = may
EOF
	cat >"$POSTFIX/master.cf" <<EOF
127.0.0.1:$P1 inet n - n - - smtpd
127.0.0.1:$P2 inet n - n - - smtpd -o smtpd_tls_security_level=none
tlsmgr    unix - - n 1000? 1 tlsmgr
anvil     unix - - n - 1 anvil
cleanup   unix n - n - 0 cleanup
rewrite   unix - - n - - trivial-rewrite
qmgr      unix n - n 300 1 qmgr
proxymap  unix - - n - - proxymap
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
	postfix -c "$POSTFIX" start >"$T/postfix.log" 2>&1 || { cat "$T/postfix.log" "$POSTFIX/maillog" >&2; fail "postfix start"; }
	wait_port "$P1" postfix "$POSTFIX/maillog"
	wait_port "$P2" postfix "$POSTFIX/maillog"
	check smtp "$P1" smtp.pem
	refused smtp "$P2" "does not offer STARTTLS"
	ran="$ran postfix"
fi

# --- dovecot: IMAP and POP3 ----------------------------------------------
if need dovecot-imapd /usr/sbin/dovecot && need dovecot-pop3d /usr/lib/dovecot/pop3; then
	D=$T/dovecot
	mkdir -p "$D/run" "$D/state"
	cat >"$D/dovecot.conf" <<EOF
base_dir = $D/run
state_dir = $D/state
log_path = $D/log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$T/imap.pem
ssl_key = <$T/imap.key
protocol pop3 {
  ssl_cert = <$T/pop3.pem
  ssl_key = <$T/pop3.key
}
mail_location = maildir:$D/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$D/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PI
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $PP
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF
	dovecot -c "$D/dovecot.conf" >"$T/dovecot.out" 2>&1 || { cat "$T/dovecot.out" "$D/log" >&2; fail "dovecot start"; }
	PIDS="$PIDS $D/run/master.pid"
	wait_port "$PI" dovecot "$D/log"
	wait_port "$PP" dovecot "$D/log"
	check imap "$PI" imap.pem
	check pop3 "$PP" pop3.pem
	ran="$ran dovecot"
fi

# --- slapd: StartTLS, and one without TLS ---------------------------------
if need slapd slapd; then
	L=$T/slapd
	mkdir -p "$L/db" "$L/db2"
	for v in tls plain; do
		db=$L/db
		[ "$v" = plain ] && db=$L/db2
		{
			echo "include /etc/ldap/schema/core.schema"
			echo "pidfile $L/$v.pid"
			echo "modulepath /usr/lib/ldap"
			echo "moduleload back_mdb"
			if [ "$v" = tls ]; then
				echo "TLSCertificateFile $T/ldap.pem"
				echo "TLSCertificateKeyFile $T/ldap.key"
			fi
			echo "database mdb"
			echo "suffix dc=certkeep,dc=test"
			echo "directory $db"
		} >"$L/$v.conf"
	done
	slapd -h "ldap://127.0.0.1:$PL/" -f "$L/tls.conf" >"$T/slapd.log" 2>&1 || { cat "$T/slapd.log" >&2; fail "slapd start"; }
	PIDS="$PIDS $L/tls.pid"
	slapd -h "ldap://127.0.0.1:$PN/" -f "$L/plain.conf" >>"$T/slapd.log" 2>&1 || { cat "$T/slapd.log" >&2; fail "slapd start (plain)"; }
	PIDS="$PIDS $L/plain.pid"
	wait_port "$PL" slapd "$T/slapd.log"
	wait_port "$PN" slapd "$T/slapd.log"
	check ldap "$PL" ldap.pem
	refused ldap "$PN" "protocolError (2): unsupported extended operation"
	ran="$ran slapd"
fi

# --- PostgreSQL: SSLRequest; one with ssl = off ---------------------------
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
# initdb is not on PATH: look for it where Debian puts it.
[ -n "$(pgbin)" ] || need postgresql initdb >/dev/null || true
PGBIN=$(pgbin)
if [ -x "$PGBIN/initdb" ] || { echo "skipped: package postgresql not installable"; false; }; then
	PG=$T/pg
	mkdir -p "$PG"
	cp pg.pem pg.key "$PG/"
	chown -R postgres "$PG"
	chmod 600 "$PG/pg.key"
	runuser -u postgres -- "$PGBIN/initdb" -D "$PG/data" -A trust >"$T/initdb.log" 2>&1 || { cat "$T/initdb.log" >&2; fail initdb; }
	cat >>"$PG/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PQ
unix_socket_directories = '$PG'
ssl = on
ssl_cert_file = '$PG/pg.pem'
ssl_key_file = '$PG/pg.key'
EOF
	PGDATA=$PG/data
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PG/log" -w -t 30 start >/dev/null 2>&1 || { cat "$PG/log" >&2; fail "postgres start"; }
	check postgres "$PQ" pg.pem
	# ssl = off: the server answers 'N'.
	echo "ssl = off" >>"$PGDATA/postgresql.conf"
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -w reload >/dev/null 2>&1
	for _ in $(seq 1 50); do
		timeout 20 "$T/probe" postgres 127.0.0.1 "$PQ" >/dev/null 2>&1 || break
		sleep 0.1
	done
	refused postgres "$PQ" "refused SSLRequest"
	ran="$ran postgres"
fi

# --- vsftpd: AUTH TLS, and one without TLS ------------------------------
if need vsftpd vsftpd; then
	F=$T/ftp
	mkdir -p "$F/empty" "$F/anon"
	chmod 755 "$F/empty" "$F/anon"
	for v in tls plain; do
		port=$PF ssl=YES
		[ "$v" = plain ] && port=$PF2 ssl=NO
		cat >"$F/$v.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port
background=NO
anonymous_enable=YES
anon_root=$F/anon
local_enable=NO
write_enable=NO
secure_chroot_dir=$F/empty
seccomp_sandbox=NO
ssl_enable=$ssl
rsa_cert_file=$T/ftp.pem
rsa_private_key_file=$T/ftp.key
vsftpd_log_file=$F/$v.log
xferlog_enable=NO
EOF
		vsftpd "$F/$v.conf" >"$T/vsftpd-$v.log" 2>&1 &
		echo $! >"$F/$v.pid"
		PIDS="$PIDS $F/$v.pid"
	done
	wait_port "$PF" vsftpd "$T/vsftpd-tls.log"
	wait_port "$PF2" vsftpd "$T/vsftpd-plain.log"
	check ftp "$PF" ftp.pem
	refused ftp "$PF2" "530 Please login"
	ran="$ran vsftpd"
fi

echo "servers:$ran"
