#!/usr/bin/env bash
# Issue 10, section 1, tests 1 and 2: grow and shrink a live cluster from
# the inventory. The lab's spare host pg4 is booted (tests/lab/
# host-start.sh) and added to a copy of the lab inventory with every
# role: under the write load, apply makes it a new etcd member and a
# streaming replica, and every HAProxy lists it; no row lost, no
# failover. Then pg4 is marked remove: true: apply refuses without
# --allow-remove (nothing changes), plan says each step, and apply
# --allow-remove takes it out again (Patroni, etcd, HAProxy), its data
# left in place; the same checks. Before the add, with etcd stopped on pg3,
# apply refuses the add (it would lose quorum) and changes nothing. pg4 is
# stopped at the end.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PG4=$(lab_ip pg4)
PG4_HOST="  - name: pg4\n    address: $PG4\n    roles: [etcd, patroni, haproxy]"
GROW=$(inv_variant grow "s|^\(patroni:\)$|$PG4_HOST\n\n\1|")
SHRINK=$(inv_variant shrink "s|^\(patroni:\)$|$PG4_HOST\n    remove: true\n\n\1|")
# the hosts list ends before patroni:, so the copies list pg4 last
sed -n '/^hosts:/,/^patroni:/p' "$GROW"

# etcd's started members, by name, sorted (etcdctl from pg1)
etcd_names() {
	lab_etcdctl pg1 member list | awk -F', ' '$2 == "started" { print $3 }' | sort | tr '\n' ' '
}
# Patroni's members, "name role state" sorted
patroni_members() {
	lab_curl -s "$(lab_url pg1 8008 /cluster)" |
		jq -r '.members[] | "\(.name) \(.state)"' | sort | tr '\n' ' '
}

check "host-start.sh boots pg4" bash "$LAB_DIR/host-start.sh" pg4
before=$(leader_tl)
echo "leader and timeline before: $before"

# ---- 1. add pg4 -----------------------------------------------------------------
run_haprov "$T_TMP/plan-grow.log" plan "$GROW"
rc=$?
grep -E "member add|warning" "$T_TMP/plan-grow.log"
[ "$rc" = 2 ] || tail -n 5 "$T_TMP/plan-grow.log"
check_eq "plan with pg4 added: changes (exit 2)" 2 "$rc"
check "plan says etcd member add for pg4" grep -q "pg4 .*etcd member add" "$T_TMP/plan-grow.log"
check "plan warns of the even member count" grep -q "even number of etcd members (4)" "$T_TMP/plan-grow.log"
check "plan says a new Patroni member for pg4" grep -q "pg4 .*patroni member add" "$T_TMP/plan-grow.log"

# etcd with a member down: 2 of 3 healthy, 4 members would need 3
lab_ssh pg3 systemctl stop etcd
run_haprov "$T_TMP/apply-quorum.log" apply "$GROW"
rc=$?
grep "quorum" "$T_TMP/apply-quorum.log" | head -n 2
check "with etcd on pg3 down, apply adding pg4 is refused" test "$rc" -ne 0
check "it says the add would lose quorum" grep -q "adding etcd member pg4 would lose quorum" "$T_TMP/apply-quorum.log"
check_eq "nothing changed: etcd has three members" "pg1 pg2 pg3" \
	"$(lab_etcdctl pg1 member list | awk -F', ' '{ print $3 }' | sort | tr '\n' ' ' | sed 's/ $//')"
lab_ssh pg3 systemctl start etcd
check "etcd on pg3 healthy again" wait_for 60 lab_etcdctl pg1 endpoint health

writer_start
t=$(lab_now)
run_haprov "$T_TMP/apply-grow.log" apply "$GROW"
rc=$?
ADD_S=$(lab_elapsed "$t")
echo "adding a member: apply exit $rc in ${ADD_S}s"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/apply-grow.log"
check_eq "apply adding pg4 exits 0" 0 "$rc"
writer_stop_check
echo "longest write gap: ${WRITER_GAP}s"
check_eq "etcd: four started members" "pg1 pg2 pg3 pg4 " "$(etcd_names)"
# Patroni 3.0 says "running" of a replica; the leader's replication
# view says whether it streams
check_eq "Patroni: four members, all running" "pg1 running pg2 running pg3 running pg4 running " \
	"$(patroni_members | sed 's/ streaming/ running/g')"
check_eq "pg4 streams from the leader" streaming \
	"$(lab_curl -s "$(lab_url "${before%% *}" 8008 /patroni)" | jq -r '.replication[] | select(.application_name == "pg4") | .state')"
for h in pg1 pg2 pg3 pg4; do
	check_eq "HAProxy on $h lists pg4 in its backends" "pg1 pg2 pg3 pg4 " "$(backend_servers "$h")"
done
check_eq "no failover (leader and timeline)" "$before" "$(leader_tl)"
run_haprov "$T_TMP/plan-grow2.log" plan "$GROW"
check_eq "plan afterwards: nothing to do" 0 "$?"

# ---- 2. remove pg4 ---------------------------------------------------------------
run_haprov "$T_TMP/plan-shrink.log" plan "$SHRINK"
rc=$?
grep -E "pg4 |warning" "$T_TMP/plan-shrink.log" | grep -v "ok" | head -n 12
check_eq "plan with pg4 marked remove: changes (exit 2)" 2 "$rc"
check "plan says Patroni's member stops" grep -q "pg4 .*stop patroni" "$T_TMP/plan-shrink.log"
check "plan says etcd member remove" grep -q "pg4 .*etcd member remove" "$T_TMP/plan-shrink.log"

run_haprov "$T_TMP/apply-refused.log" apply "$SHRINK"
rc=$?
tail -n 2 "$T_TMP/apply-refused.log"
check "apply without --allow-remove is refused" test "$rc" -ne 0
check "it names --allow-remove" grep -q -- "--allow-remove" "$T_TMP/apply-refused.log"
check_eq "nothing changed: etcd has four members" "pg1 pg2 pg3 pg4 " "$(etcd_names)"

writer_start
t=$(lab_now)
run_haprov "$T_TMP/apply-shrink.log" apply --allow-remove "$SHRINK"
rc=$?
echo "removing a member: apply exit $rc in $(lab_elapsed "$t")s"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/apply-shrink.log"
check_eq "apply --allow-remove exits 0" 0 "$rc"
writer_stop_check
echo "longest write gap: ${WRITER_GAP}s"
check_eq "etcd: three members" "pg1 pg2 pg3 " "$(etcd_names)"
check_eq "Patroni: three members" "pg1 pg2 pg3 " \
	"$(lab_curl -s "$(lab_url pg1 8008 /cluster)" | jq -r '.members[].name' | sort | tr '\n' ' ')"
for h in pg1 pg2 pg3; do
	check_eq "HAProxy on $h no longer lists pg4" "pg1 pg2 pg3 " "$(backend_servers "$h")"
done
check_eq "no failover (leader and timeline)" "$before" "$(leader_tl)"
check "pg4's PostgreSQL data is still there" lab_ssh pg4 "test -s /var/lib/postgresql/15/main/PG_VERSION"
check_eq "pg4's services are stopped" "inactive inactive inactive " \
	"$(lab_ssh pg4 'for s in patroni etcd haproxy; do systemctl is-active $s; done' | tr '\n' ' ')"
check "the run says where the data stays" grep -q "nothing was deleted" "$T_TMP/apply-shrink.log"
run_haprov "$T_TMP/plan-shrink2.log" plan "$SHRINK"
check_eq "plan afterwards: nothing to do" 0 "$?"

check "host-stop.sh stops pg4" bash "$LAB_DIR/host-stop.sh" pg4
run_haprov "$T_TMP/plan-lab.log" plan "$INV"
check_eq "plan of the lab inventory: nothing to do" 0 "$?"
finish
