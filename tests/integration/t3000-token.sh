# API tokens from the command line: a token is printed once and only its
# SHA-256 is in the database; list never shows it; revoke once (twice is
# reported); expiry; JSON output read by jq; bad input is a usage error
# that leaves no database behind; create and revoke are audited.
. "$(dirname "$0")/lib.sh"
db="$T/inv.db"
tokre='^ck_[A-Za-z0-9_-]\{43\}$'

# Bad input first: usage errors (exit 2), and no database is made.
expect_status 2 ck token
expect_status 2 ck token frobnicate
expect_status 2 ck token create --role superuser --name x
expect_grep "unknown role 'superuser'" err
expect_status 2 ck token create --role admin
expect_status 2 ck token create --name x
expect_status 2 ck token create --role admin --name "has space"
expect_status 2 ck token create --role admin --name 42
expect_status 2 ck token create --role admin --name x --pattern '*.example.com'
expect_grep "only for enroller" err
expect_status 2 ck token create --role enroller --name x --pattern 'a.*.com'
expect_status 2 ck token create --role admin --name x --expires soon
expect_status 2 ck token create --role admin --name x --expires 2001-01-01
expect_grep "not in the future" err
expect_status 2 ck token list extra
expect_status 2 ck token revoke
[ ! -e "$db" ] || fail "bad input made a database"

# create: the token alone on stdout, the note on stderr.
expect_status 0 ck token create --role admin --name ops
expect_eq "$(wc -l <out | tr -d ' ')" 1 "one line on stdout"
grep -q "$tokre" out || fail "token format: $(cat out)"
tok=$(cat out)
expect_grep "made token 1 'ops' (role admin, expires never)" err
expect_grep "shown only this once" err
# Only the hash is kept: the SHA-256 of the token, and the token nowhere
# in the files (database and write-ahead log).
want=$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)
expect_eq "$(sqlite3 "$db" "SELECT lower(hex(hash)) FROM tokens WHERE name = 'ops'")" "$want" "stored hash"
for f in "$db" "$db-wal"; do
	[ -e "$f" ] || continue
	if grep -qF "${tok#ck_}" "$f"; then fail "token found in $(basename "$f")"; fi
done

# --json: one object with the token, once.
expect_status 0 ck token create --role enroller --name web --pattern '*.example.com' --expires 90d --json
jq -e . out >/dev/null || fail "create --json is not JSON"
expect_eq "$(jq -r .name out)" web "json name"
expect_eq "$(jq -r .role out)" enroller "json role"
expect_eq "$(jq -r .pattern out)" '*.example.com' "json pattern"
expect_eq "$(jq -r .id out)" 2 "json id"
jq -r .token out | grep -q "$tokre" || fail "json token format"
web=$(jq -r .token out)
[ "$web" != "$tok" ] || fail "two tokens alike"
exp=$(jq -r .expires_at out)
now=$(date -u +%s)
expect_eq "$(( ($(date -u -d "$exp" +%s) - now + 60) / 86400 ))" 90 "expires in 90 days"

# A name is unique among tokens not revoked.
expect_status 5 ck token create --role auditor --name ops
expect_grep "a token called 'ops' exists already" err
expect_status 0 ck token create --role auditor --name reader --expires 1h
expect_status 0 ck token create --role operator --name dated --expires 2099-12-31

# list: names and roles, never a token.
expect_status 0 ck token list
expect_grep "^ID  *NAME  *ROLE  *STATE" out
expect_grep "ops  *admin  *active" out
expect_grep "web  *enroller  *active .*\*\.example\.com" out
expect_grep "dated  *operator  *active  *[0-9-]*  *2099-12-31" out
if grep -q "ck_" out; then fail "list shows a token"; fi
expect_status 0 ck token list --json
expect_eq "$(jq length out)" 4 "four tokens"
expect_eq "$(jq -r '[.[].name] | join(",")' out)" "ops,web,reader,dated" "names by id"
expect_eq "$(jq -r '.[0].expires_at, .[0].revoked_at, .[0].pattern' out | tr '\n' ' ')" "null null null " "nulls"
expect_eq "$(jq '[.[] | has("token") or has("hash")] | any' out)" false "no secret in list --json"
if grep -q "ck_" out; then fail "list --json shows a token"; fi

# Expiry: two hours on, the one-hour token is gone from the list but
# kept with --all.
later=$(( $(date -u +%s) + 7200 ))
expect_status 0 env CERTKEEP_NOW=$later "$CERTKEEP" token list --json
expect_eq "$(jq -r '[.[].name] | join(",")' out)" "ops,web,dated" "expired token hidden"
expect_status 0 env CERTKEEP_NOW=$later "$CERTKEEP" token list --all --json
expect_eq "$(jq -r '.[] | select(.name == "reader") | .state' out)" expired "expired state"

# revoke by name, then by id; twice is reported and changes nothing.
expect_status 0 ck token revoke ops
expect_grep "revoked token 1 'ops'" out
expect_status 0 ck token revoke 1
expect_grep "token 1 'ops' was already revoked on" out
expect_status 0 ck token revoke ops
expect_grep "already revoked" out
expect_status 3 ck token revoke nobody
expect_grep "no token called nobody" err
expect_status 3 ck token revoke 99
expect_status 0 ck token list --json
expect_eq "$(jq -r '[.[].name] | join(",")' out)" "web,reader,dated" "revoked token hidden"
expect_status 0 ck token list --all --json
expect_eq "$(jq -r '.[] | select(.name == "ops") | .state' out)" revoked "revoked state"
jq -e '.[] | select(.name == "ops") | .revoked_at | test("^[0-9]{4}-")' out >/dev/null || fail "revoked_at"
expect_status 0 ck token list --all
expect_grep "ops  *admin  *revoked" out
# The name is free again once revoked.
expect_status 0 ck token create --role admin --name ops
expect_eq "$(sqlite3 "$db" "SELECT COUNT(*) FROM tokens WHERE name = 'ops'")" 2 "two rows named ops"

# Audit: one event per create and one per revoke (not for the repeats),
# by the user, naming the token and never its secret; the chain holds.
ck audit list --json >audit.json
expect_eq "$(jq '[.[] | select(.action == "token.create")] | length' audit.json)" 5 "create events"
expect_eq "$(jq '[.[] | select(.action == "token.revoke")] | length' audit.json)" 1 "revoke events"
expect_eq "$(jq -r '[.[] | select(.action == "token.revoke")][0].object' audit.json)" ops "revoke object"
jq -e '[.[] | select(.action | startswith("token."))] | all(.actor | startswith("cli:"))' audit.json >/dev/null || fail "actor"
if grep -qF "${tok#ck_}" audit.json || grep -qF "${web#ck_}" audit.json; then fail "token in the audit log"; fi
expect_status 0 ck audit verify
