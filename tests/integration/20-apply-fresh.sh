#!/usr/bin/env bash
# Issue 3, test 1: fresh lab -> apply -> a healthy cluster, checked
# independently of haprov: etcdctl, patronictl and pg_stat_replication on
# the hosts, and a row written through HAProxy's primary port read back
# through the replica port.
. "$(dirname "$0")/lib.sh"

rm -rf "$STATE" "$STORE" "$STATE.lock"
t0=$(lab_now)
run_haprov "$T_TMP/apply.log" apply "$INV"
rc=$?
echo "apply on fresh hosts: exit $rc in $(lab_elapsed "$t0")s"
tail -n 25 "$T_TMP/apply.log"
check_eq "apply exits 0 on fresh hosts" 0 "$rc"

# etcd: every member healthy, per etcdctl on a host
eps="http://$(lab_ip pg1):2379,http://$(lab_ip pg2):2379,http://$(lab_ip pg3):2379"
out=$(lab_ssh pg1 "ETCDCTL_API=3 etcdctl --endpoints=$eps endpoint health 2>&1")
echo "$out"
check_eq "etcdctl: 3 endpoints healthy" 3 "$(grep -c 'is healthy' <<<"$out")"
out=$(lab_ssh pg1 "ETCDCTL_API=3 etcdctl --endpoints=$eps member list 2>&1")
check_eq "etcdctl: 3 members" 3 "$(grep -c started <<<"$out")"

# patroni: one Leader and two Replicas running, per patronictl
out=$(lab_ssh pg1 "patronictl -c /etc/patroni/config.yml list 2>&1")
echo "$out"
check_eq "patronictl: one Leader" 1 "$(grep -c '| Leader ' <<<"$out")"
check_eq "patronictl: two Replicas" 2 "$(grep -c '| Replica ' <<<"$out")"
# Patroni 3.0.2's patronictl says "running" even before a replica streams
# (docs/field-notes.md), so streaming is read from pg_stat_replication on the
# leader
leader=$(grep '| Leader ' <<<"$out" | awk -F'|' '{gsub(/ /,"",$2); print $2}')
n=$(lab_ssh "$leader" "cd / && runuser -u postgres -- psql -XAtc \"select count(*) from pg_stat_replication where state = 'streaming'\"")
check_eq "pg_stat_replication on leader $leader: 2 streaming" 2 "$n"

# a row through HAProxy: written on :5000 (primary), read on :5001 (replicas)
val="fresh-$(date +%s%N)"
psql_lab 5000 "create table if not exists haprov_probe (id serial primary key, v text); insert into haprov_probe (v) values ('$val')" >/dev/null
check_eq "write through HAProxy :5000 lands on the primary" f \
	"$(psql_lab 5000 'select pg_is_in_recovery()')"
got=""
for _ in $(seq 1 20); do
	got=$(psql_lab 5001 "select v from haprov_probe where v = '$val'" 2>/dev/null)
	[ "$got" = "$val" ] && break
	sleep 0.5
done
check_eq "row read back through HAProxy :5001 (a replica)" "$val" "$got"
check_eq "HAProxy :5001 is a replica" t "$(psql_lab 5001 'select pg_is_in_recovery()')"

# the state repository has rollback points and no secret value anywhere
n=$(git -C "$STATE" tag -l 'rp/*' | wc -l)
check "state repository has rollback points ($n)" test "$n" -ge 3
leak=0
for s in "$STORE"/*; do
	[ -f "$s" ] || continue
	if git -C "$STATE" rev-list --objects --all | cut -d' ' -f1 |
		git -C "$STATE" cat-file --batch | grep -aqF "$(tr -d '\n' <"$s")"; then
		leak=1
		echo "secret $(basename "$s") found in the state repository"
	fi
	for h in $LAB_HOSTS; do
		# haprov_env.conf is the stats password's own (secret) file
		if lab_ssh "$h" "grep -rlF --exclude=haprov_env.conf -- \"\$(cat)\" /etc/patroni/config.yml /etc/haproxy /etc/default/etcd" <"$s" >/dev/null 2>&1; then
			leak=1
			echo "secret $(basename "$s") found in a non-secret file on $h"
		fi
	done
done
check_eq "no secret in the state repository or non-secret files" 0 "$leak"
check_eq "secret file on hosts is 0600" "600 root" \
	"$(lab_ssh pg1 'stat -c "%a %U" /etc/patroni_env.conf')"
finish
