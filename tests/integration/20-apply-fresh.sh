#!/usr/bin/env bash
# Issue 3, test 1: fresh lab -> apply -> a healthy cluster, checked
# independently of haprov: etcdctl, patronictl and pg_stat_replication on
# the hosts, and a row written through HAProxy's primary port read back
# through the replica port.
# Issue 8, test 1: all six phases from inventories/lab.yml (a role and its
# database, pg_cron and pgaudit preloaded, pgcrypto, pg_wal on each host's
# own disk), judged by psql, findmnt and readlink on the hosts, a login
# through HAProxy and Patroni's REST API.
# The cluster is then kept as the lab snapshot 'fresh' (lib.sh lab_save):
# 40, 44 and 45 restore it instead of applying again on bare hosts.
. "$(dirname "$0")/lib.sh"

rm -rf "$STATE" "$STORE" "$STATE.lock"
t0=$(lab_now)
run_haprov "$T_TMP/apply.log" apply "$INV"
rc=$?
echo "apply on fresh hosts: exit $rc in $(lab_elapsed "$t0")s"
tail -n 25 "$T_TMP/apply.log"
check_eq "apply exits 0 on fresh hosts" 0 "$rc"

# every phase's packages in one apt transaction per host (phases/
# pkg_ahead.c), HAProxy held back meanwhile (started by its own phase, not
# restarted after its package started it), and no hold left behind
for h in $LAB_HOSTS; do
	check_eq "$h: one packages step installed for every phase" 1 \
		"$(grep -cE "\] $h +[a-z]+ +packages +changed:" "$T_TMP/apply.log")"
	check_eq "$h: it took HAProxy along" 1 \
		"$(grep -E "\] $h +etcd +packages +changed:" "$T_TMP/apply.log" | grep -c ' haproxy')"
	check_eq "$h: HAProxy started by its phase, not by its package" 1 \
		"$(grep -cE "\] $h +haproxy +service haproxy +changed: (enable, )?start " "$T_TMP/apply.log")"
	check_eq "$h: no install hold left in /run/systemd/system" "" \
		"$(lab_ssh "$h" "ls /run/systemd/system/*.service.d/haprov-install.conf 2>/dev/null")"
done

# etcd: every member healthy, per etcdctl on a host
out=$(lab_etcdctl pg1 endpoint health 2>&1)
echo "$out"
check_eq "etcdctl: 3 endpoints healthy" 3 "$(grep -c 'is healthy' <<<"$out")"
out=$(lab_etcdctl pg1 member list 2>&1)
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

# ---- phases 4-6 (secrets, extensions, tuning), judged on the hosts -------------
psq() { lab_ssh "$leader" "cd / && runuser -u postgres -- psql -XAt -d ${2:-postgres} -c \"$1\""; }
check_eq "role app exists and logs in" t "$(psq "select rolcanlogin from pg_roles where rolname = 'app'")"
check_eq "appdb exists, owned by app" app \
	"$(psq "select pg_get_userbyid(datdba) from pg_database where datname = 'appdb'")"
check_eq "appdb's extensions" "pg_stat_statements pgaudit pgcrypto" \
	"$(psq "select string_agg(extname, ' ' order by extname) from pg_extension where extname <> 'plpgsql'" appdb)"
check_eq "pg_cron in the postgres database" 1 "$(psq "select count(*) from pg_extension where extname = 'pg_cron'")"
check_eq "app logs in through HAProxy :5000 with the store's password" 1 \
	"$(PGPASSWORD=$(tr -d '\n' <"$STORE/role-app") PGCONNECT_TIMEOUT=5 psql -X -q -At \
		-h "$(lab_ip pg1)" -p 5000 -U app -d appdb -c 'select 1' 2>&1)"
for h in $LAB_HOSTS; do
	check_eq "$h: shared_preload_libraries" "pg_stat_statements,pg_cron,pgaudit" \
		"$(lab_ssh "$h" "cd / && runuser -u postgres -- psql -XAtc 'show shared_preload_libraries'" | tr -d ' ')"
	check_eq "$h: checkpoint_timeout, max_wal_size, wal_buffers" "15min 1GB 16MB" \
		"$(lab_ssh "$h" "cd / && runuser -u postgres -- psql -XAt -c 'show checkpoint_timeout' -c 'show max_wal_size' -c 'show wal_buffers'" | tr '\n' ' ' | sed 's/ $//')"
	check_eq "$h: no pending restart" 0 \
		"$(lab_ssh "$h" "cd / && runuser -u postgres -- psql -XAtc 'select count(*) from pg_settings where pending_restart'")"
	check_eq "$h: pg_wal links to the WAL volume" /srv/pgwal/wal/pg_wal \
		"$(lab_ssh "$h" "readlink /var/lib/postgresql/15/main/pg_wal")"
	check_eq "$h: findmnt shows /dev/vdb at /srv/pgwal/wal" \
		"$(lab_ssh "$h" "set -- \$(stat -L -c '%t %T' /dev/vdb); printf '%d:%d' 0x\$1 0x\$2")" \
		"$(lab_ssh "$h" "findmnt -rn -o MAJ:MIN -M /srv/pgwal/wal")"
done
check_eq "Patroni refuses an unauthenticated PATCH /config" 401 \
	"$(lab_curl -s -o /dev/null -w '%{http_code}' -X PATCH -d '{}' "$(lab_url pg1 8008 /config)")"

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
		if lab_ssh "$h" "grep -rlF --exclude=haprov_env.conf -- \"\$(cat)\" /etc/haproxy /etc/default/etcd /etc/patroni_env.conf" <"$s" >/dev/null 2>&1; then
			leak=1
			echo "secret $(basename "$s") found in a non-secret file on $h"
		fi
	done
done
check_eq "no secret in the state repository or non-secret files" 0 "$leak"
check_eq "Patroni's config (it holds the passwords) is 0600 postgres" "600 postgres" \
	"$(lab_ssh pg1 'stat -c "%a %U" /etc/patroni/config.yml')"

# ---- kept: the later tests that need this cluster again restore it ----------------
# (lab_restore fresh, in seconds) instead of a fresh apply on bare hosts
t=$(lab_now)
lab_save fresh
rc=$?
check_eq "the cluster is kept as snapshot 'fresh' and serves again ($(lab_elapsed "$t")s)" 0 "$rc"
finish
