#!/bin/sh
# A strict check of the Prometheus text format (0.0.4) for when promtool is
# not installed: every line a HELP, a TYPE or a sample; names and labels
# well formed; a family's samples together and after its TYPE; histogram
# buckets cumulative with +Inf equal to _count.
exec awk '
function die(m) { printf "promcheck: line %d: %s: %s\n", NR, m, $0 > "/dev/stderr"; bad = 1; exit 1 }
function family(n) { sub(/_(bucket|sum|count)$/, "", n); return n }
/^# HELP / { if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) die("bad name"); next }
/^# TYPE / {
	if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/) die("bad type")
	if ($3 in typed) die("family typed twice")
	typed[$3] = $4; cur = $3; next
}
/^#/ { next }
/^$/ { die("empty line") }
{
	if (!match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) die("bad metric name")
	name = substr($0, 1, RLENGTH); rest = substr($0, RLENGTH + 1)
	f = (name in typed) ? name : family(name)
	if (f != cur) die("sample outside its family block (" f ")")
	if (substr(rest, 1, 1) == "{") {
		if (!match(rest, /^\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*")*\}/))
			die("bad labels")
		labels = substr(rest, 2, RLENGTH - 2); rest = substr(rest, RLENGTH + 1)
	} else labels = ""
	if (rest !~ /^ [-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN)( [0-9]+)?$/) die("bad value")
	v = substr(rest, 2) + 0
	if (typed[f] == "histogram" && name ~ /_bucket$/) {
		key = labels; sub(/,?le="[^"]*"/, "", key)
		if (key in last && v < last[key]) die("buckets not cumulative")
		last[key] = v
		if (labels ~ /le="\+Inf"/) inf[key] = v
	}
	if (typed[f] == "histogram" && name ~ /_count$/) {
		if (!(labels in inf) || inf[labels] != v) die("+Inf bucket differs from _count")
	}
	n++
}
END { if (!bad && n == 0) { print "promcheck: no samples" > "/dev/stderr"; exit 1 } }
' "$1"
