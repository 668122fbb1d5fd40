#!/usr/bin/env bash
# Issue 4, test 6: SIGINT in the middle of a staged change (a rolling
# restart): exit 130, no half-written file on any host, the lock is
# released, and the next apply converges.
. "$(dirname "$0")/lib.sh"

inv=$(inv_variant maxconn2 "s/^    retry_timeout: 10.*/    retry_timeout: 10\n    parameters:\n      max_connections: 120/")
"$HAPROV" apply "$inv" >"$T_TMP/apply.log" 2>&1 &
pid=$!
sent=0
for _ in $(seq 1 600); do
	if grep -q "dcs config *changed" "$T_TMP/apply.log"; then
		kill -INT "$pid"
		sent=1
		break
	fi
	sleep 0.1
done
wait "$pid"
rc=$?
tail -n 5 "$T_TMP/apply.log"
check_eq "SIGINT sent during the staged change" 1 "$sent"
check_eq "apply exits 130" 130 "$rc"
left=$(for h in $LAB_HOSTS; do lab_ssh "$h" "find /etc -name '*.haprov-tmp.*' -o -name '*.haprov-new'"; done)
check_eq "no half-written or temporary file on any host" "" "$left"
run_haprov "$T_TMP/apply2.log" apply "$inv"
rc=$?
grep -E "restart|switchover|soak" "$T_TMP/apply2.log"
check_eq "the lock was released and the next apply converges" 0 "$rc"
check_eq "max_connections is 120 everywhere" \
	"$(printf 'pg1=120\npg2=120\npg3=120')" "$(show_all max_connections)"
check_eq "no pending restart left" 0 \
	"$(lab_curl -s "$(lab_url pg1 8008 /cluster)" | jq '[.members[] | select(.pending_restart == true)] | length')"
restore_lab
check_eq "max_connections back to the default" \
	"$(printf 'pg1=100\npg2=100\npg3=100')" "$(show_all max_connections)"
finish
