#!/usr/bin/env bash
# Issue 4, test 5: two successful changes, then `rollback --to` the point
# before them: the earlier settings on every member and in GET /config.
. "$(dirname "$0")/lib.sh"

before=$(state_head)
cp0=$(show_all checkpoint_timeout)
a=$(inv_variant cpa "s/^  checkpoint_timeout: 15min/  checkpoint_timeout: 20min/")
b=$(inv_variant cpb "s/^  checkpoint_timeout: 15min/  checkpoint_timeout: 25min/")
run_haprov "$T_TMP/a.log" apply "$a"
check_eq "first change applied" 0 "$?"
run_haprov "$T_TMP/b.log" apply "$b"
check_eq "second change applied" 0 "$?"
check_eq "checkpoint_timeout is 25min everywhere" \
	"$(printf 'pg1=25min\npg2=25min\npg3=25min')" "$(show_all checkpoint_timeout)"
run_haprov "$T_TMP/rb.log" rollback "$INV" --to "$before"
rc=$?
tail -n 6 "$T_TMP/rb.log"
check_eq "rollback --to exits 0" 0 "$rc"
check_eq "the earlier value on every member" "$cp0" "$(show_all checkpoint_timeout)"
check_eq "the earlier value in GET /config" 15min \
	"$(lab_curl -s "$(lab_url pg2 8008 /config)" | jq -r '.postgresql.parameters.checkpoint_timeout')"
"$HAPROV" history "$INV" | head -3
check "history records the rollback" bash -c "'$HAPROV' history '$INV' | head -1 | grep -q rollback"
"$HAPROV" plan "$INV" >/dev/null 2>&1
check_eq "the lab inventory matches again (plan exits 0)" 0 "$?"
finish
