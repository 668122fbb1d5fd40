#!/usr/bin/env bash
# Issue 3, test 2: a second apply changes nothing: every step ok, no
# service restarted (main PIDs equal), no new commit, plan exits 0.
. "$(dirname "$0")/lib.sh"

before=$(service_pids)
head0=$(state_head)
t0=$(lab_now)
"$HAPROV" apply "$INV" --json >"$T_TMP/apply.json" 2>"$T_TMP/apply.err"
rc=$?
echo "no-op apply: exit $rc in $(lab_elapsed "$t0")s"
check_eq "second apply exits 0" 0 "$rc"
check_eq "every step ok, none changed" 0 \
	"$(jq '[.results[] | select(.status != "ok")] | length' "$T_TMP/apply.json")"
# what did change, if anything (a failure above says only how many)
jq -c '.results[] | select(.status != "ok")' "$T_TMP/apply.json" | sed 's/^/# /'
check "the JSON lists the steps ($(jq '.results | length' "$T_TMP/apply.json"))" \
	test "$(jq '.results | length' "$T_TMP/apply.json")" -gt 20
after=$(service_pids)
echo "$after"
check_eq "no service restarted (main PIDs and postmaster PIDs unchanged)" "$before" "$after"
check_eq "no new commit in the state repository" "$head0" "$(state_head)"
"$HAPROV" plan "$INV" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
rc=$?
cat "$T_TMP/plan.out"
check_eq "plan exits 0 on a converged cluster" 0 "$rc"
finish
