#!/usr/bin/env bash
# Issue 4, test 3: a parameter that needs a restart (max_connections 100
# -> 150) under a write load: every member restarted exactly once, exactly
# one switchover, no pending restart left, no row lost; prints the
# longest gap the writer saw.
. "$(dirname "$0")/lib.sh"

inv=$(inv_variant maxconn "s/^    retry_timeout: 10.*/    retry_timeout: 10\n    parameters:\n      max_connections: 150/")
"$HAPROV" plan "$inv" >"$T_TMP/plan.out" 2>/dev/null
cat "$T_TMP/plan.out"
check "plan says max_connections needs a rolling restart" \
	grep -q "restart, rolling: max_connections" "$T_TMP/plan.out"
starts0=$(postmaster_starts)
read -r leader0 tl0 <<<"$(leader_tl)"
writer_start
t0=$(lab_now)
"$HAPROV" apply "$inv" --json >"$T_TMP/apply.json" 2>"$T_TMP/apply.log"
rc=$?
took=$(lab_elapsed "$t0")
grep -E "dcs config|soak|restart|switchover" "$T_TMP/apply.log"
check_eq "apply exits 0" 0 "$rc"
writer_stop_check
echo "rolling restart: total ${took}s, longest write gap ${WRITER_GAP}s"
check_eq "max_connections is 150 on every member" \
	"$(printf 'pg1=150\npg2=150\npg3=150')" "$(show_all max_connections)"
starts1=$(postmaster_starts)
changed=$(diff <(echo "$starts0") <(echo "$starts1") | grep -c '^>')
check_eq "every member's postmaster restarted" 3 "$changed"
check_eq "haprov restarted two members itself" 2 \
	"$(jq '[.results[] | select(.step == "restart postgresql")] | length' "$T_TMP/apply.json")"
check_eq "exactly one switchover" 1 \
	"$(jq '[.results[] | select(.step == "switchover")] | length' "$T_TMP/apply.json")"
read -r leader1 tl1 <<<"$(leader_tl)"
check "the leader changed ($leader0 -> $leader1)" test "$leader0" != "$leader1"
check_eq "the timeline moved by exactly one (one switchover)" "$((tl0 + 1))" "$tl1"
# the former leader's demotion restarted its PostgreSQL once: its start
# time is after the switchover and it was not restarted again
check_eq "no pending restart left" 0 \
	"$(lab_curl -s "$(lab_url pg1 8008 /cluster)" | jq '[.members[] | select(.pending_restart == true)] | length')"
check_eq "each member restarted once (restart steps + demotion)" 3 \
	"$(( $(jq '[.results[] | select(.step == "restart postgresql")] | length' "$T_TMP/apply.json") + 1 ))"
restore_lab
finish
