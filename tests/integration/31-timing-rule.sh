#!/usr/bin/env bash
# Issue 4, test 2: loop_wait 10, retry_timeout 15, ttl 30 breaks Patroni's
# rule loop_wait + 2 * retry_timeout <= ttl: refused at plan and apply
# with an explanation, and nothing is sent to any host.
. "$(dirname "$0")/lib.sh"

inv=$(inv_variant badtiming "s/^    retry_timeout: 10.*/    retry_timeout: 15/")
head0=$(state_head)
cfg0=$(lab_curl -s "$(lab_url pg1 8008 /config)" | jq -S -c .)
"$HAPROV" plan "$inv" >"$T_TMP/plan.out" 2>&1
rc=$?
cat "$T_TMP/plan.out"
check_eq "plan refuses with exit 3" 3 "$rc"
check "it explains the rule" grep -q "loop_wait (10) + 2 \* retry_timeout (15) = 40 exceeds ttl (30)" "$T_TMP/plan.out"
check "it names file, line and key" grep -qE "badtiming.yml:[0-9]+:[0-9]+: patroni.dcs" "$T_TMP/plan.out"
"$HAPROV" apply "$inv" >"$T_TMP/apply.out" 2>&1
check_eq "apply refuses with exit 3" 3 "$?"
check "apply says nothing was done" grep -q "nothing was done" "$T_TMP/apply.out"
check_eq "the DCS is unchanged" "$cfg0" "$(lab_curl -s "$(lab_url pg1 8008 /config)" | jq -S -c .)"
check_eq "no commit in the state repository" "$head0" "$(state_head)"
# nothing sent: haprov never connected (no SSH session in sshd's journal
# for the last seconds would be a weaker check; it stops before connect)
check "apply stopped before connecting" bash -c "! grep -q 'haprov apply: cluster' '$T_TMP/apply.out'"
finish
