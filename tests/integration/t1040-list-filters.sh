# The questions users ask of the inventory: what expires soon, what has
# expired, what covers a name, which keys, which issuer; as a table, JSON
# and CSV.
. "$(dirname "$0")/lib.sh"
mkroot root "Test Root"
KEYALG=rsa:2048 mkcert a root 5 "/CN=a.example.com" "subjectAltName=DNS:a.example.com"
mkcert b root 20 "/CN=b.example.com" "subjectAltName=DNS:b.example.com,DNS:shop.example.com"
KEYALG=ed25519 mkcert w root 60 "/CN=*.example.org" "subjectAltName=DNS:*.example.org"
mkcert api root 400 "/CN=api-1.internal.test" "subjectAltName=DNS:api-1.internal.test,IP:10.1.2.3"
expect_status 0 ck import root.pem a.pem b.pem w.pem api.pem

names() { ck list "$@" --json | jq -r '[.[].cn] | join(" ")'; }
expect_eq "$(names)" "a.example.com b.example.com *.example.org api-1.internal.test Test Root" "all, soonest first"
expect_eq "$(names --expiring 7d)" "a.example.com" "--expiring 7d"
expect_eq "$(names --expiring 30d)" "a.example.com b.example.com" "--expiring 30d"
expect_eq "$(names --expired)" "" "--expired now"
expect_eq "$(CERTKEEP_NOW=$(( $(date +%s) + 10 * 86400 )) names --expired)" "a.example.com" "--expired in 10 days"
expect_eq "$(names --name '*.example.com')" "a.example.com b.example.com" "--name *.example.com"
expect_eq "$(names --name shop.example.com)" "b.example.com" "--name by SAN"
expect_eq "$(names --name WWW.Example.ORG)" "*.example.org" "--name covered by a wildcard"
expect_eq "$(names --name 'api-*.internal.test')" "api-1.internal.test" "--name glob"
expect_eq "$(names --name 10.1.2.3)" "api-1.internal.test" "--name IP"
expect_eq "$(names --name nothing.example.net)" "" "--name no match"
expect_eq "$(names --key-type rsa)" "a.example.com" "--key-type rsa"
expect_eq "$(names --key-type ed25519)" "*.example.org" "--key-type ed25519"
expect_eq "$(names --ca)" "Test Root" "--ca"
expect_eq "$(names --leaf --limit 2)" "a.example.com b.example.com" "--leaf --limit 2"
expect_eq "$(names --issuer 'test root' --leaf)" "a.example.com b.example.com *.example.org api-1.internal.test" "--issuer"
expect_eq "$(names --issuer nobody)" "" "--issuer no match"

# JSON: the documented keys and types.
ck list --json --limit 1 >one.json
for k in id sha256 serial subject issuer not_before not_after key_type key_bits signature_algorithm sans is_ca; do
	expect_eq "$(jq "first | has(\"$k\")" one.json)" true "json key $k"
done
expect_eq "$(jq -r 'first | .key_type + " " + (.key_bits|tostring)' one.json)" "rsa 2048" "json key"
expect_eq "$(jq -r 'first.not_after' one.json | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$')" 1 "RFC 3339 time"
expect_eq "$(ck list --json --name nothing.invalid)" "[]" "empty JSON array"

# CSV: a header and one line per row.
ck list --csv >all.csv
expect_eq "$(head -1 all.csv | cut -d, -f1-3)" "id,sha256,serial" "csv header"
expect_eq "$(wc -l <all.csv)" 6 "csv lines"
# Table for people.
ck list --expiring 30d >table.txt
expect_grep "^ID  *EXPIRES  *DAYS" table.txt
expect_grep "a.example.com" table.txt

# stats: buckets and groupings.
ck stats --json >stats.json
expect_eq "$(jq -c .expiry stats.json)" '{"expired":0,"lt_7d":1,"lt_30d":1,"lt_90d":1,"later":2}' "expiry buckets"
expect_eq "$(jq -r '.by_issuer[0] | .name + "=" + (.count|tostring)' stats.json)" "CN=Test Root=5" "by issuer"
expect_eq "$(jq -r '[.by_key[] | .name] | sort | join(",")' stats.json)" "ec P-256,ed25519,rsa 2048" "by key"
expect_eq "$(CERTKEEP_NOW=$(( $(date +%s) + 10 * 86400 )) ck stats --json | jq -c .expiry)" \
	'{"expired":1,"lt_7d":0,"lt_30d":1,"lt_90d":1,"later":2}' "buckets ten days on"

# Usage errors are errors.
expect_status 2 ck list --expiring soon
expect_grep "bad duration" err
expect_status 2 ck list --expired --expiring 3d
expect_status 2 ck list --bogus
