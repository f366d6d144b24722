# certkeep's ACME server's policy at the door, with [acme] settings:
# allowed_domains (suffixes at label boundaries, IPs listed as such),
# max_names, orders_per_hour (per account) and domain_orders_per_hour
# (per registered domain, all accounts, counted in the database), and an
# EAB key made with `certkeep acme eab create --allow` whose account gets
# only names under its list. Refusals are rejectedIdentifier, or
# rateLimited (429) with a Retry-After; nothing refused leaves an order.
# The client is tests/integration/acme-bad.py --policy.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
/usr/bin/python3 -c 'import cryptography, requests' 2>/dev/null ||
	{ echo "SKIP: python3-cryptography or python3-requests missing"; exit 0; }
export CERTKEEP_ACME_RESOLVER=static:127.0.0.1
export CERTKEEP_ACME_ALLOWED_DOMAINS="example.test, example.net,example.org,127.0.0.1"
export CERTKEEP_ACME_MAX_NAMES=3 CERTKEEP_ACME_ORDERS_PER_HOUR=5 CERTKEEP_ACME_DOMAIN_ORDERS_PER_HOUR=3
. "$HERE/serve-lib.sh"

# settings out of range stop the server at start
CERTKEEP_ACME_MAX_NAMES=101 "$CERTKEEP" serve --listen 127.0.0.1:0 --listen-plain 127.0.0.1:0 \
	--data-dir "$T/var0" >"$T/bad.log" 2>&1 && fail "serve took max_names 101"
expect_grep "max_names" "$T/bad.log"

start_serve
expect_status 2 ck acme eab create --ca certkeep --allow 'example.org;rm'
expect_status 0 ck acme eab create --ca certkeep --allow example.org --json
KID=$(jq -r .kid "$T/out"); HMAC=$(jq -r .hmac "$T/out")
expect_eq "$(sqlite3 inv.db "select allow from acme_eab_keys where kid = '$KID'")" example.org "allow list stored"

/usr/bin/python3 "$HERE/acme-bad.py" "$URL/acme/certkeep/directory" "$ROOT" 0 --policy "$KID" "$HMAC" \
	>"$T/policy.log" 2>&1 || { cat "$T/policy.log"; tail -5 "$T/serve.log"; fail "acme-bad.py --policy"; }
expect_grep "policy at the door enforced" "$T/policy.log"
echo "acme-bad.py --policy: $(grep -c '^ok ' "$T/policy.log") checks"

# only the accepted orders exist; the domain counts are rows any node reads
q() { sqlite3 inv.db "$1"; }
expect_eq "$(q "select count(*) from acme_orders")" 9 "orders"
expect_eq "$(q "select domain || ':' || count(*) from acme_order_domains group by domain order by domain" | tr '\n' ' ')" \
	"example.net:3 example.org:1 example.test:3 " "orders per registered domain"
stop_serve
echo "ok t8060-acme-policy"
