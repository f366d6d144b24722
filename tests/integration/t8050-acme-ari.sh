# ACME Renewal Information (RFC 9773) end to end with certkeep on both
# sides: a managed certificate issued through an `acme` issuer whose
# directory is `certkeep serve`'s own /acme/certkeep/directory. The
# client's rule is renew at 30%; the server's renewalInfo window is the
# default rule (2/3 of the lifetime, less up to 1/30). With the clock
# moved (CERTKEEP_NOW for the server and for `manage run`): a day before
# the window the client asks and does not renew; at the window it renews
# and the new order carries "replaces" with the old certificate's CertID;
# `certkeep acme renew-early` then moves the new certificate's window to
# now and the next renewal pass renews at once. renewalInfo is checked
# on the wire (window, Retry-After, bad and unknown CertIDs). Then the
# client rolls its account key over (keyChange) and issues with it.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		ss -ltn "sport = :$p" | grep -q LISTEN || { echo "$p"; return; }
	done
}
H01=$(free_port); P=$(free_port); PP=$(free_port)
while [ "$PP" = "$P" ]; do PP=$(free_port); done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*'
export CERTKEEP_ACME_HTTP01_PORT=$H01 CERTKEEP_ACME_RESOLVER=static:127.0.0.1
# The server's own TLS certificate, long-lived: with the clock moved the
# server would otherwise renew its certificate into a time curl (on the
# real clock) does not accept yet.
mkroot tlsroot "t8050 TLS root"
mkcert tls tlsroot 3650 "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1"
export CERTKEEP_TLS_CERT="$T/tls.pem" CERTKEEP_TLS_KEY="$T/tls.key"
. "$HERE/serve-lib.sh"
T0=$(date +%s)
# the built-in CA the server would make for its own certificate
CERTKEEP_NOW=$T0 expect_status 0 ck ca init certkeep
# serve_at TIME: the server restarted on the same ports with its clock at TIME
serve_at() {
	stop_serve
	CERTKEEP_NOW=$1 start_serve --listen "127.0.0.1:$P" --listen-plain "127.0.0.1:$PP"
}
serve_at "$T0"
DIR="https://localhost:$P/acme/certkeep/directory"
curl -sf --cacert tlsroot.pem "$DIR" >dir.json || fail "directory"
RI=$(jq -r .renewalInfo dir.json)
expect_eq "$RI" "https://localhost:$P/acme/certkeep/renewal-info" "renewalInfo in the directory"

# certID of a PEM certificate: base64url(AKI keyIdentifier).base64url(serial DER)
certid() {
	python3 - "$1" <<'EOF'
import base64, sys
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = c.serial_number
ser = n.to_bytes(n.bit_length() // 8 + 1, "big")  # DER: a sign byte when the top bit is set
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
print(b(aki) + "." + b(ser))
EOF
}
epoch() { date -u -d "$(openssl x509 -in "$1" -noout "-$2" | cut -d= -f2)" +%s; }
# window FILE: the renewal-info answer for a certificate, "start end"
window() {
	curl -s -D hdr.txt -o ri.json --cacert tlsroot.pem "$RI/$(certid "$1")"
	expect_grep "HTTP/1.1 200" hdr.txt
	echo "$(date -u -d "$(jq -r .suggestedWindow.start ri.json)" +%s) $(date -u -d "$(jq -r .suggestedWindow.end ri.json)" +%s)"
}
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

expect_status 0 ck issuer add self --type acme --directory "$DIR" --trust "$T/tlsroot.pem" \
	--email ari@example.test --http01-listen "127.0.0.1:$H01"
CERTKEEP_NOW=$T0 expect_status 0 ck manage add web --issuer self --san web.example.test --renew-at 30 \
	--key-out "$T/web.key" --cert-out "$T/web.crt" --fullchain-out "$T/web.full"
cp web.crt c1.pem
S1=$(serial c1.pem)
openssl verify -attime "$T0" -CAfile "$ROOT" -untrusted web.full web.crt >/dev/null || fail "first certificate does not verify"

# the window: the default rule's span, from the certificate's own times
NB=$(epoch c1.pem startdate); NA=$(epoch c1.pem enddate); L=$((NA - NB))
WS=$((NB + L * 667 / 1000 - L / 30)); WE=$((NB + L * 667 / 1000))
# shellcheck disable=SC2046 # two words
set -- $(window c1.pem)
expect_eq "$1 $2" "$WS $WE" "renewal window of the first certificate (life $L s)"
expect_grep "Retry-After: 21600" hdr.txt
expect_grep "Replay-Nonce" hdr.txt
echo "window: $(( (WS - NB) / 86400 ))..$(( (WE - NB) / 86400 )) days of $(( L / 86400 ))"
# bad and unknown CertIDs
code=$(curl -s -o bad.json -w '%{http_code}' --cacert tlsroot.pem "$RI/not-a-certid")
expect_eq "$code" 400 "bad CertID"
jq -e '.type == "urn:ietf:params:acme:error:malformed"' bad.json >/dev/null || fail "bad CertID problem"
code=$(curl -s -o bad.json -w '%{http_code}' --cacert tlsroot.pem "$RI/AAAA.AQ")
expect_eq "$code" 404 "unknown CertID"

# The renewals are the daemon's: `certkeep serve` runs the renewer, so
# the client here is certkeep's own ACME client inside the server, on
# the server's clock, asking the server's renewalInfo over HTTPS.
# wait_for CMD...: up to 30 s for CMD to succeed
wait_for() {
	for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done
	return 1
}
asked() { [ "$(grep -c 'path=/acme/certkeep/renewal-info/' serve.log)" -ge "$1" ]; }
renewed_from() { [ "$(serial web.crt)" != "$1" ]; }

# a day before the window: the client's own rule (30%) is due, it asks
# and waits for the window; nothing issued
TA=$((WS - 86400))
serve_at "$TA"
wait_for asked 1 || { cat serve.log; fail "the renewer did not ask for renewal info"; }
sleep 1
expect_eq "$(serial web.crt)" "$S1" "renewed before the window"
expect_eq "$(sqlite3 inv.db "select count(*) from acme_orders")" 1 "orders before the window"
NEXT=$(date -u -d "$(ck manage show web | jq -r .next_action)" +%s)
[ "$NEXT" -gt "$TA" ] && [ "$NEXT" -le $((TA + 21600)) ] || fail "next look $NEXT not within the Retry-After"

# at the window's end: renews, and the order replaces the first certificate
TB=$WE
serve_at "$TB"
wait_for renewed_from "$S1" || { grep -v msg=request serve.log; fail "not renewed inside the window"; }
cp web.crt c2.pem
S2=$(serial c2.pem)
expect_eq "$(sqlite3 inv.db "select replaces from acme_orders order by id desc limit 1")" "$(certid c1.pem)" \
	"replaces of the renewal's order"
NB2=$(epoch c2.pem startdate)
[ "$NB2" -ge $((TB - 3600)) ] || fail "second certificate from before the pass"
# shellcheck disable=SC2046 # two words
set -- $(window c2.pem)
[ "$1" -gt "$((TB + 86400))" ] || fail "c2's window ($1) not ahead"

# the operator moves c2's window to now (as before a mass revocation);
# the next renewal pass (the client asks daily) renews at once
TC=$((TB + 2 * 86400))
stop_serve
CERTKEEP_NOW=$TC expect_status 0 ck acme renew-early --ca certkeep --serial "$S2"
expect_grep "renew-early: certkeep" "$T/out"
serve_at "$TC"
wait_for renewed_from "$S2" || { grep -v msg=request serve.log; fail "not renewed after renew-early"; }
cp web.crt c3.pem
S3=$(serial c3.pem)
# shellcheck disable=SC2046 # two words
set -- $(window c2.pem)
[ "$2" -le "$TC" ] && [ "$1" -lt "$2" ] || fail "c2's window ($1 $2) not moved to $TC"
expect_eq "$(sqlite3 inv.db "select replaces from acme_orders order by id desc limit 1")" "$(certid c2.pem)" \
	"replaces after renew-early"
# the override was for c2 only: c3's window is its own
# shellcheck disable=SC2046 # two words
set -- $(window c3.pem)
[ "$1" -gt "$TC" ] || fail "c3's window moved too"
# --all moves every certificate issued so far, c3 included
CERTKEEP_NOW=$TC expect_status 0 ck acme renew-early --ca certkeep --all --at "$((TC + 3600))"
# shellcheck disable=SC2046 # two words
set -- $(window c3.pem)
expect_eq "$2" "$((TC + 3600))" "c3's window end after renew-early --all"
expect_status 2 ck acme renew-early --ca certkeep
expect_status 3 ck acme renew-early --ca certkeep --serial 0123
expect_status 3 ck acme renew-early --ca nope --all
expect_eq "$(sqlite3 inv.db "select count(*) from events where action = 'acme.renew_early'")" 2 "audit events"
expect_eq "$(ck manage show web | jq .issued_count)" 3 "issuances"

# keyChange (RFC 8555 7.3.5): certkeep's client rolls its account key
# over; the same account holds the new key, and the next order is signed
# with it
TH1=$(sqlite3 inv.db "select thumbprint from acme_accounts")
CERTKEEP_NOW=$TC expect_status 0 ck issuer rollover self
expect_eq "$(sqlite3 inv.db "select count(*) from acme_accounts")" 1 "accounts after rollover"
TH2=$(sqlite3 inv.db "select thumbprint from acme_accounts")
[ "$TH1" != "$TH2" ] || fail "account key not changed on the server"
expect_eq "$(sqlite3 inv.db "select count(*) from events where action = 'acme.account.key_change'")" 1 "key change event"
CERTKEEP_NOW=$TC expect_status 0 ck manage renew web --force
[ "$(serial web.crt)" != "$S3" ] || fail "no renewal with the new account key"

stop_serve
echo "ok t8050-acme-ari"
