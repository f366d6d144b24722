# Shared by the tests that run pebble (t6100, t6110): pebble's HTTPS
# certificate (tls-ca.pem, a throw-away root, signs tls.pem for localhost
# and 127.0.0.1), its config pebble.json with EAB required (kid-1, key
# $HMAC), and pebble-challtestsrv as the DNS server on 127.0.0.1:$DNS
# answering every name with 127.0.0.1 (no AAAA). Needs T, PORT, MGMT,
# HTTP01, TLSALPN, DNS and CTS; adds challtestsrv's PID to PIDS. The test
# starts pebble itself, with the environment it wants.
HMAC=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
# pebble_setup NAME: NAME goes into the root's CN
pebble_setup() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout tls-ca.key -out tls-ca.pem -days 30 -subj "/CN=$1 pebble TLS root" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout tls.key -out tls.csr -subj "/CN=localhost" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >tls.ext
	openssl x509 -req -in tls.csr -CA tls-ca.pem -CAkey tls-ca.key -CAcreateserial \
		-days 30 -extfile tls.ext -out tls.pem 2>/dev/null
	cat >pebble.json <<EOF
{ "pebble": {
    "listenAddress": "127.0.0.1:$PORT",
    "managementListenAddress": "127.0.0.1:$MGMT",
    "certificate": "$T/tls.pem", "privateKey": "$T/tls.key",
    "httpPort": $HTTP01, "tlsPort": $TLSALPN, "ocspResponderURL": "",
    "externalAccountBindingRequired": true,
    "externalAccountMACKeys": { "kid-1": "$HMAC" } } }
EOF
	pebble-challtestsrv -management "127.0.0.1:$CTS" -dns01 "127.0.0.1:$DNS" \
		-http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
		>cts.log 2>&1 &
	PIDS="$PIDS $!"
}
