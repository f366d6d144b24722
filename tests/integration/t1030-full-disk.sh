# A store that fills up in the middle of an import fails with a clear
# error; the failed batch is rolled back and the inventory stays readable,
# consistent and as it was after the last good batch.
. "$(dirname "$0")/lib.sh"
src=/usr/share/ca-certificates
total=$(find "$src" -name '*.crt' | wc -l)

check_after_failure() { # DB-URL
	n=$("$CERTKEEP" --db "$1" list --json | jq length)
	[ "$n" -gt 0 ] && [ "$n" -lt "$total" ] || fail "expected a partial inventory, got $n of $total"
	expect_eq $((n % 20)) 0 "only whole batches kept (n=$n)"
	path=${1#sqlite:}; path=${path%%\?*}
	expect_eq "$(sqlite3 "$path" 'PRAGMA integrity_check')" ok "integrity check"
	expect_eq "$(sqlite3 "$path" 'SELECT COUNT(*) FROM certificates')" "$n" "rows"
	# Counts used by stats match the rows: nothing half-written.
	expect_eq "$("$CERTKEEP" --db "$1" stats --json | jq .total)" "$n" "stats total"
	expect_eq "$(sqlite3 "$path" 'SELECT COUNT(*) FROM events')" $((n / 20)) "one audit event per batch"
	expect_status 0 "$CERTKEEP" --db "$1" audit verify
}

# 1. SQLite's page limit: the empty schema (78 pages with migration 015)
# plus room for a few batches, not for all.
db="sqlite:$T/capped.db?max_pages=101"
expect_status 4 ck --db "$db" import -r -q --batch 20 "$src"
expect_grep "import stopped: store: .*database or disk is full" err
expect_grep "batch in progress was rolled back" err
check_after_failure "$db"
# Without the cap the same import completes, adding only what was missing.
expect_status 0 ck --db "sqlite:$T/capped.db" import -r -q --batch 20 "$src"
expect_eq "$(ck --db "sqlite:$T/capped.db" list --json | jq length)" "$total" "after retry"

# 2. A real full filesystem (needs root and tmpfs; skipped otherwise). The
# empty schema and its WAL take most of it (79 pages with migration 016):
# new tables move the size up.
mkdir small
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=768k tmpfs small 2>/dev/null; then
	trap 'umount "$T/small" 2>/dev/null || true; rm -rf "$T"' EXIT
	expect_status 4 ck --db "sqlite:$T/small/inv.db" import -r -q --batch 20 "$src"
	expect_grep "database or disk is full" err
	check_after_failure "sqlite:$T/small/inv.db"
	umount small
else
	echo "note: tmpfs part skipped (not root or mount not permitted)"
fi
