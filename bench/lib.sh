# shellcheck shell=bash
# Shared by the benchmarks: figures are printed, never asserted.
set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
INV=$REPO/inventories/lab.yml

# median of the numbers on stdin
median() {
	sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# timed CMD...: run under /usr/bin/time -v; sets SECS, RSS_KB, RC
timed() {
	local out
	out=$(mktemp)
	/usr/bin/time -v "$@" >/dev/null 2>"$out"
	RC=$?
	SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$out")
	RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out")
	if [ "$RC" -ne 0 ]; then tail -n 20 "$out" >&2; fi
	rm -f "$out"
}
