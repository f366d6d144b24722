#!/bin/sh
# Time travel: 1,000 managed certificates with 47-day lifetimes from the
# built-in CA run through a simulated year, one `certkeep manage run` per
# day with the clock set (CERTKEEP_NOW). Afterwards, from the inventory:
# every certificate of every managed name was renewed inside its window
# (not before the rule's jittered renewal point, at most a day after it),
# none expired before its successor existed, no cycle was issued twice,
# and the number of issuances is exactly what the rule predicts: each
# certificate's successor exists iff its renewal point fell in the year.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
export CERTKEEP_MASTER_KEY_FILE="$T/master.key"
N=${YEAR_N:-1000}
start=1798761600 # 2027-01-01T00:00:00Z
export CERTKEEP_NOW=$start

expect_status 0 ck ca init year
expect_status 0 ck issuer add builtin --type local --ca year
i=0
while [ $i -lt "$N" ]; do
	echo "m$i"
	i=$((i + 1))
done >names
# One process adds them all through the CLI, quickly: queue only.
while read -r n; do
	ck manage add "$n" --issuer builtin --san "$n.year.test" --days 47 \
		--queue >/dev/null || fail "manage add $n"
done <names

day=0
while [ $day -le 365 ]; do
	CERTKEEP_NOW=$((start + day * 86400)) ck manage run --quiet >/dev/null ||
		fail "manage run on day $day"
	day=$((day + 1))
done
end=$((start + 365 * 86400))

# Every managed certificate is active, with no failures.
ck manage list --json >managed.json
expect_eq "$(jq length managed.json)" "$N" "managed count"
expect_eq "$(jq '[.[] | select(.state != "active" or .failures != 0)] | length' managed.json)" 0 "not active or failing"

python3 - "$T/inv.db" "$end" <<'PY' || fail "renewal schedule check"
import sqlite3, sys
from collections import defaultdict
db, end = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
rows = c.execute("""SELECT cn, not_before, not_after FROM certificates
                    WHERE is_ca = 0 ORDER BY cn, not_before""").fetchall()
by = defaultdict(list)
for cn, nb, na in rows:
    by[cn].append((nb, na))
problems = 0
total = 0
for cn, certs in by.items():
    total += len(certs)
    for (nb, na), nxt in zip(certs, certs[1:] + [None]):
        life = na - nb
        point = nb + int(life * 667 / 1000)      # the rule, before jitter
        earliest = point - life // 30 - 1         # jitter moves it earlier
        if nxt is None:
            # no successor: the renewal point must lie beyond the year
            if earliest <= end - 86400:
                print(f"{cn}: renewal due by {earliest} missed (year ends {end})")
                problems += 1
            continue
        issued = nxt[0] + 60                      # issuers backdate 60 s
        if issued < earliest:
            print(f"{cn}: renewed too early ({issued} < {earliest})"); problems += 1
        if issued > point + 86400:
            print(f"{cn}: renewed late ({issued} > {point} + 1 day)"); problems += 1
        if nxt[0] >= na:
            print(f"{cn}: expired before its successor"); problems += 1
print(f"{len(by)} names, {total} certificates issued")
sys.exit(1 if problems else 0)
PY
python3 - "$T/inv.db" "$N" <<'PY' || fail "issuance count"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
names = c.execute("SELECT count(DISTINCT cn) FROM certificates WHERE is_ca = 0").fetchone()[0]
issued = c.execute("""SELECT count(*) FROM issued i JOIN certificates c
                       ON c.id = i.cert_id WHERE c.is_ca = 0""").fetchone()[0]
leaves = c.execute("SELECT count(*) FROM certificates WHERE is_ca = 0").fetchone()[0]
events = c.execute("SELECT count(*) FROM events WHERE action = 'cert.issue'").fetchone()[0]
mcount = c.execute("SELECT sum(issued_count) FROM managed").fetchone()[0]
print(f"names {names}, issued rows {issued}, leaves {leaves}, events {events}, managed count {mcount}")
# One issuance per certificate, counted the same everywhere: no duplicate.
ok = names == int(sys.argv[2]) and issued == leaves == mcount and events == issued
sys.exit(0 if ok else 1)
PY
echo "ok: $N managed certificates through a year"
