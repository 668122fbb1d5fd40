#!/usr/bin/env bash
# Fan-out correctness (bench/fanout's setup, nothing timed): one
# `haprov plan --phase haproxy --json` against 50 "hosts" that are this
# machine's loopback addresses 127.0.1.1-50 (the haproxy role) plus
# 127.0.2.1-3 (etcd and Patroni), served by private sshds that
# bench/fanout's fanout_up starts (this file sources it) and that this
# script stops by their PIDs at the end, even on failure or interrupt. Needs
# no lab. Checks: the plan's exit code, one JSON document on stdout, no
# failed result, every one of the 50 haproxy hosts reported in phase
# haproxy, and the results grouped host by host in inventory order. The
# peak RSS is printed as a figure (target <= 50 MB), not asserted.
# Prints "ok - ..." / "not ok - ..." and ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/integration/tap.sh
. tests/integration/tap.sh

need_sshd
for tool in ssh-keygen jq unshare /usr/bin/time; do
	command -v $tool >/dev/null || { notok "$tool is missing (make deps)"; finish; }
done

# fanout_up, fanout_down, fanout_inventory
# shellcheck source=bench/fanout
. bench/fanout
T=$(mktemp -d /tmp/haprov-fanout.XXXXXX)
SSHD_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	# only the sshds this script started, by PID
	fanout_down
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if make -s haprov >"$T/build.log" 2>&1; then
	ok "haprov builds"
else
	cat "$T/build.log"
	notok "haprov builds"
	finish
fi
if fanout_up >"$T/up.log" 2>&1; then
	ok "sshds listen on 127.0.1.1-50 and 127.0.2.1-3, port $PORT (pids$SSHD_PID)"
else
	cat "$T/up.log"
	notok "sshds listen on 127.0.1.1-50 and 127.0.2.1-3"
	finish
fi

INV=$T/inv-50.yml
fanout_inventory 50 >"$INV"
OUT=$T/plan.json
/usr/bin/time -f '%M' -o "$T/time" ./haprov plan "$INV" --phase haproxy --json \
	>"$OUT" 2>"$T/plan.err"
rc=$?
# 2 = "changes would be made": these loopback hosts are not converged (no
# haproxy.cfg of this cluster, no drop-in), so 2 is the expected code
if [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]; then
	ok "plan --phase haproxy --json on 53 hosts exits 0 or 2 (exit $rc; 2 expected: not converged)"
else
	notok "plan --phase haproxy --json on 53 hosts exits 0 or 2 (exit $rc)"
	tail -n 20 "$T/plan.err" | sed 's/^/#   /'
fi
echo "# peak RSS: $(tail -n 1 "$T/time" | awk '{ printf "%.1f", $1 / 1024 }') MB (target <= 50 MB; a figure, not asserted)"

if [ "$(jq -s 'length == 1 and (.[0].results | type == "array")' "$OUT" 2>/dev/null)" = true ]; then
	ok "stdout is one JSON document with a results array"
else
	notok "stdout is one JSON document with a results array"
	head -c 600 "$OUT" | sed 's/^/#   /'
	finish
fi

jq -r '.results[] | select(.status == "failed") | "\(.host) \(.phase) \(.step): \(.detail // "")"' \
	"$OUT" >"$T/failed"
if [ ! -s "$T/failed" ]; then
	ok "no result has status \"failed\" ($(jq '.results | length' "$OUT") results)"
else
	notok "no result has status \"failed\" ($(wc -l <"$T/failed") failed)"
	head -n 10 "$T/failed" | sed 's/^/#   /'
fi

# the hosts with a result in phase haproxy, first appearance order
jq -r '.results[] | select(.phase == "haproxy") | .host' "$OUT" | awk '!seen[$0]++' >"$T/ha-hosts"
missing=
for i in $(seq 1 50); do
	grep -qxF "ha$i" "$T/ha-hosts" || missing="$missing ha$i"
done
check "every one of ha1..ha50 has a result in phase haproxy${missing:+ (missing:$missing)}" \
	test -z "$missing"
n=$(wc -l <"$T/ha-hosts")
check "exactly 50 distinct hosts in phase haproxy ($n: $(grep -v '^ha[0-9]*$' "$T/ha-hosts" | tr '\n' ' ')none else)" \
	test "$n" -eq 50

# grouped host by host in inventory order: within phase haproxy, the
# per-host steps never go back to an earlier host, and each step that runs
# on every host at once (hp_run_each: "packages", "runtime: no drain
# left") lists its hosts in inventory order too, as one block (below): a
# plan's output reads as if the hosts had run one after the other
grep -Eo 'name: [^,]+' "$INV" | cut -d' ' -f2 >"$T/order"
if jq -r '.results[] | select(.phase == "haproxy") |
		if .step == "packages" or (.step | startswith("runtime:"))
		then "\(.step)\t\(.host)" else "per-host\t\(.host)" end' "$OUT" |
	awk -F'\t' 'NR == FNR { idx[$0] = NR; next }
	     !($2 in idx) { print "not in the inventory: " $2; bad = 1; next }
	     idx[$2] < last[$1] { print $1 ": back to " $2 " after " prev[$1]; bad = 1 }
	     { last[$1] = idx[$2]; prev[$1] = $2; n++ }
	     END { if (!n) print "no results"; exit bad || !n }' \
		"$T/order" - >"$T/order.err"; then
	ok "phase haproxy's results come host by host in inventory order (each all-hosts step too)"
else
	notok "phase haproxy's results come host by host in inventory order (each all-hosts step too)"
	head -n 5 "$T/order.err" | sed 's/^/#   /'
fi
# each all-hosts step: 50 results in one contiguous run
jq -r '[.results[] | select(.phase == "haproxy")] | to_entries[] |
	select(.value.step == "packages" or (.value.step | startswith("runtime:"))) |
	"\(.key)\t\(.value.step)"' "$OUT" |
	awk -F'\t' '{ if (!($2 in lo)) lo[$2] = $1; hi[$2] = $1; n[$2]++ }
	     END { for (s in n) printf "%s\t%d\t%d\n", s, n[s], hi[s] - lo[s] + 1 }' >"$T/blocks"
for step in packages "runtime: no drain left"; do
	got=$(awk -F'\t' -v s="$step" '$1 == s { print $2 " results over " $3 " places" }' "$T/blocks")
	check "\"$step\" (all hosts at once): 50 results in one block (${got:-none})" \
		test "$got" = "50 results over 50 places"
done

finish
