#!/usr/bin/env bash
# Issue 3, test 5: a host that is down -> a clear error naming it, a
# non-zero exit, nothing changed; with the host back, apply converges.
. "$(dirname "$0")/lib.sh"

inv=$(inv_variant down "s|^ssh:.*|ssh:\n  connect_timeout_s: 3|")
# take pg3 off the network: its end of the veth pair on the bridge
ip link set vb-pg3 down
t0=$(lab_now)
run_haprov "$T_TMP/apply.log" apply "$inv"
rc=$?
took=$(lab_elapsed "$t0")
ip link set vb-pg3 up
cat "$T_TMP/apply.log"
check "apply fails (exit $rc) when pg3 is down" test "$rc" -ne 0
check "the error names pg3" grep -q "pg3" "$T_TMP/apply.log"
check "it says nothing was changed" grep -q "nothing was changed" "$T_TMP/apply.log"
check "it gives up quickly (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 20) }'
# back: wait for ssh, then apply converges (Patroni and etcd rejoin)
for _ in $(seq 1 20); do lab_ssh pg3 true 2>/dev/null && break; sleep 0.5; done
run_haprov "$T_TMP/apply2.log" apply "$INV"
rc=$?
tail -n 8 "$T_TMP/apply2.log"
check_eq "apply converges with pg3 back" 0 "$rc"
finish
