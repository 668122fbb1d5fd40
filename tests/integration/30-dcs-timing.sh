#!/usr/bin/env bash
# Issue 4, test 1: loop_wait 10 -> 5, ttl 30 -> 20, retry_timeout 10 -> 5
# on the live cluster under a write load: applied and verified on every
# member; no PostgreSQL restart, no failover, no row lost.
. "$(dirname "$0")/lib.sh"

inv=$(inv_variant timing "s/^    ttl: 30.*/    ttl: 20/" \
	"s/^    loop_wait: 10.*/    loop_wait: 5/" \
	"s/^    retry_timeout: 10.*/    retry_timeout: 5/")
"$HAPROV" plan "$inv" >"$T_TMP/plan.out" 2>/dev/null
check_eq "plan exits 2" 2 "$?"
cat "$T_TMP/plan.out"
check "plan shows loop_wait: 10 -> 5" grep -q "loop_wait: 10 -> 5" "$T_TMP/plan.out"
check "plan shows ttl: 30 -> 20" grep -q "ttl: 30 -> 20" "$T_TMP/plan.out"
starts0=$(postmaster_starts)
ltl0=$(leader_tl)
writer_start
t0=$(lab_now)
run_haprov "$T_TMP/apply.log" apply "$inv"
rc=$?
took=$(lab_elapsed "$t0")
grep -E "dcs config|soak|restart|switchover" "$T_TMP/apply.log"
check_eq "apply exits 0 ($took s)" 0 "$rc"
for h in $LAB_HOSTS; do
	check_eq "$h reports ttl/loop_wait/retry_timeout" "20 5 5" \
		"$(member_config "$h" ttl) $(member_config "$h" loop_wait) $(member_config "$h" retry_timeout)"
done
check_eq "no PostgreSQL restart (postmaster start times unchanged)" "$starts0" "$(postmaster_starts)"
check_eq "no failover (same leader and timeline)" "$ltl0" "$(leader_tl)"
check "no restart step in the run" bash -c "! grep -q 'restart postgresql' '$T_TMP/apply.log'"
writer_stop_check
restore_lab
check_eq "back to ttl 30 / loop_wait 10" "30 10" \
	"$(member_config pg1 ttl) $(member_config pg1 loop_wait)"
finish
