# Shared by the integration tests: a temporary folder, assertions, and
# test certificates made with the openssl command line.
set -eu
T=$(mktemp -d /tmp/certkeep-it.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
cd "$T"
export CERTKEEP_DB="sqlite:$T/inv.db"
export NO_COLOR=1
ck() { "$CERTKEEP" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }
# expect_status WANT CMD...: runs CMD, output in $T/out and $T/err
expect_status() {
	want=$1; shift
	set +e; "$@" >"$T/out" 2>"$T/err"; got=$?; set -e
	[ "$got" = "$want" ] || { cat "$T/out" "$T/err" >&2; fail "'$*' exited $got, want $want"; }
}
expect_grep() { grep -q -- "$1" "$2" || { cat "$2" >&2; fail "no '$1' in $(basename "$2")"; }; }

# mkroot NAME CN: self-signed P-256 CA in NAME.pem / NAME.key
mkroot() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$1.key" -out "$1.pem" -subj "/CN=$2" -days 3650 \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
# mkcert NAME ISSUER DAYS SUBJ [EXT...]: a certificate signed by ISSUER
# (key from $KEYALG: default P-256; "rsa:2048", "ed25519")
mkcert() {
	name=$1 issuer=$2 days=$3 subj=$4; shift 4
	printf '%s\n' "basicConstraints=CA:FALSE" "$@" >"$name.ext"
	# shellcheck disable=SC2086 # KEYALG is words on purpose
	openssl req -new -newkey ${KEYALG:-ec -pkeyopt ec_paramgen_curve:P-256} -nodes \
		-keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
	openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" \
		-CAcreateserial -days "$days" -out "$name.pem" \
		-extfile "$name.ext" 2>/dev/null
}
# mkca NAME ISSUER CN: an intermediate CA
mkca() {
	mkcert "$1" "$2" 1825 "/CN=$3" "basicConstraints=critical,CA:TRUE" \
		"keyUsage=critical,keyCertSign,cRLSign"
	sed -i '/basicConstraints=CA:FALSE/d' "$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
		-CAcreateserial -days 1825 -out "$1.pem" -extfile "$1.ext" 2>/dev/null
}
count() { ck list --json | jq length; }
