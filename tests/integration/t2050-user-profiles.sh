# User-defined profiles from certkeep.conf: issued through the command
# line and the REST API, checked with `openssl x509 -text`; a bad profile
# section stops the command with the section and key named.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/serve-lib.sh"
cat >"$T/certkeep.conf" <<CONF
[store]
database = sqlite:$T/inv.db

[profile.web-short]
base = tls-server
max_days = 30
ext_key_usage = serverAuth,clientAuth

[profile.signer]
key_usage = digitalSignature,nonRepudiation
ext_key_usage = codeSigning,timeStamping
subject_fields = CN,O
san_types = none
max_days = 365
min_rsa_bits = 3072
CONF
unset CERTKEEP_DB
expect_status 0 ck --config "$T/certkeep.conf" ca init acme
expect_status 0 ck --config "$T/certkeep.conf" issue --ca acme --profile web-short \
	--cn app.example.com --key-out app.key --out app.pem
openssl x509 -in app.pem -noout -text >app.txt
expect_grep "TLS Web Server Authentication, TLS Web Client Authentication" app.txt
expect_grep "DNS:app.example.com" app.txt
days=$(( ($(date -d "$(openssl x509 -in app.pem -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
[ "$days" -le 30 ] && [ "$days" -ge 29 ] || fail "web-short lasts $days days, want 30"
expect_status 2 ck --config "$T/certkeep.conf" issue --ca acme --profile web-short \
	--cn b.example.com --key-out b.key --out b.pem --days 60
expect_grep "30" err

openssl req -new -newkey rsa:3072 -nodes -keyout s.key -out s.csr -subj "/CN=Release Signing/O=Acme/OU=dropped" 2>/dev/null
expect_status 0 ck --config "$T/certkeep.conf" issue --ca acme --profile signer --csr s.csr --out s.pem
openssl x509 -in s.pem -noout -text >s.txt
expect_grep "Code Signing, Time Stamping" s.txt
expect_grep "Digital Signature, Non Repudiation" s.txt
grep -q "OU *= *dropped" s.txt && fail "subject field outside the profile kept"
openssl req -new -newkey rsa:2048 -nodes -keyout w.key -out w.csr -subj "/CN=weak" 2>/dev/null
expect_status 2 ck --config "$T/certkeep.conf" issue --ca acme --profile signer --csr w.csr --out w.pem
expect_grep "3072" err

# the same profile through the API of a server reading the same file
export CERTKEEP_CONFIG="$T/certkeep.conf"
start_serve
TOKEN=$(ck token create --role admin --name admin 2>/dev/null)
expect_api 201 POST /api/v1/cas/acme/issue -H 'Content-Type: application/json' \
	-d '{"profile":"web-short","cn":"api.example.com"}'
jq -r .certificate "$T/body" | openssl x509 -noout -text | grep -q "TLS Web Client Authentication" ||
	fail "API issue with a user profile"
stop_serve

# a bad section: named, and nothing runs
printf '[profile.broken]\nbase = tls-server\nmax_dayz = 3\n' >"$T/bad.conf"
expect_status 2 ck --config "$T/bad.conf" list
expect_grep "\[profile.broken\]: unknown key 'max_dayz'" err
