#!/usr/bin/env bash
# Issue 12, section 1 and tests 1, 2, 4 and 5: the reference topology,
# clients -> the VIP -> HAProxy -> PgBouncer (on every patroni host) ->
# PostgreSQL, from bare hosts:
# - a fresh apply of the lab inventory with roles pgbouncer and vip: exit 0;
#   HAProxy's servers go to PgBouncer's port; a client through the VIP
#   writes, and PgBouncer's SHOW POOLS lists its pool (psql, the admin
#   console as the lookup role, ip addr: the judges);
# - no application password in PgBouncer's files; the lookup function
#   gives no superuser's verifier;
# - a switchover under the write load through the whole chain: no
#   acknowledged row lost, the longest gap printed, new connections reach
#   the new primary; then back;
# - a pool-size change: PgBouncer reloaded (same PID), not restarted, and a
#   client session open across it finishes;
# - a no-op apply: no change;
# - `haprov status` says each PgBouncer and the VIP answer; with one
#   PgBouncer stopped it says that one takes no connection, and exits
#   non-zero.
# The topology is then kept as the lab snapshot 'topology' for
# 57-remove-front.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

trap '[ -n "${WRITER_PID:-}" ] && touch "$WRITER_STOP"; t_cleanup' EXIT

VIP=$LAB_VIP
variant() { topo_variant "$@"; }
V=$(variant pgb)

pgb_pids() {
	local h
	for h in $LAB_HOSTS; do
		lab_ssh "$h" 'systemctl show -p MainPID --value pgbouncer'
	done | xargs
}

fresh_topology "$V"
grep -E ' pgbouncer ' "$T_TMP/apply.log" | grep -Ev 'packages|file ' |
	sed 's/^/#   /'
check_eq "HAProxy's servers go to PgBouncer's port" 3 \
	"$(lab_ssh pg1 "grep -c ':6432 maxconn' /etc/haproxy/haproxy.cfg" |
		awk '{ print $1 / 2 }')"
check_eq "a client through the VIP reaches the primary, through PgBouncer" \
	"f|127.0.0.1" "$(via_vip 'SELECT pg_is_in_recovery(), inet_server_addr()')"
n=$(date +%s%N)
via_vip "CREATE TABLE IF NOT EXISTS pgb_writes (id bigint); INSERT INTO pgb_writes VALUES ($n)" >/dev/null
check_eq "and writes" 1 "$(via_vip "SELECT count(*) FROM pgb_writes WHERE id = $n")"
pools=$(PGPASSWORD=$(cat "$STORE/pgbouncer_auth") psql -X -At \
	-h "$(lab_ip pg1)" -p 6432 -U pgbouncer -d pgbouncer -c 'SHOW POOLS' 2>&1)
check "SHOW POOLS on the leader's PgBouncer lists appdb for app" \
	grep -q '^appdb|app|' <<<"$pools"
check_eq "one host holds the VIP" 1 "$(for h in $LAB_HOSTS; do
	lab_ssh "$h" 'ip -4 -br addr show dev host0'; done | grep -cw "$VIP/24")"
check "no application password in PgBouncer's files" \
	lab_ssh pg1 "! grep -rqF -- '$(app_pw)' /etc/pgbouncer"
check_eq "the lookup function gives no superuser's verifier" "" \
	"$(PGPASSWORD=$(cat "$STORE/pgbouncer_auth") psql -X -At \
		-h "$(lab_ip pg1)" -p 6432 -U pgbouncer -d postgres \
		-c "SELECT count(*) FROM pgbouncer.get_auth('postgres') HAVING count(*) > 0" 2>&1)"
check_eq "the auth file is postgres's, 0600" "600 postgres" \
	"$(lab_ssh pg2 'stat -c "%a %U" /etc/pgbouncer/haprov_userlist.txt')"

# ---- test 2: a switchover under load, through the whole chain --------------
L0=$(leader_tl | cut -d' ' -f1)
# PgBouncer looks no superuser up: the writer logs in as the application
LAB_PGUSER=app LAB_PGSECRET=role-app LAB_PGDB=appdb writer_start
run_haprov "$T_TMP/sw.log" switchover "$V"
rc=$?
check_eq "switchover through PgBouncer exits 0" 0 "$rc"
sleep 2
LAB_PGUSER=app LAB_PGSECRET=role-app LAB_PGDB=appdb writer_stop_check
echo "switchover through VIP/HAProxy/PgBouncer: longest write gap ${WRITER_GAP}s"
L1=$(leader_tl | cut -d' ' -f1)
check "a new leader ($L0 -> $L1)" test -n "$L1" -a "$L1" != "$L0"
check_eq "new connections reach the new primary" f \
	"$(via_vip 'SELECT pg_is_in_recovery()')"
run_haprov "$T_TMP/back.log" switchover "$V" --to "$L0"
check_eq "switchover back to $L0 exits 0" 0 "$?"

# ---- test 4: a pool-size change reloads, no client dropped ------------------
before=$(pgb_pids)
PGPASSWORD=$(app_pw) psql -X -q -At -h "$VIP" -p 5000 -U app -d appdb \
	-c 'SELECT 1' -c 'SELECT pg_sleep(6)' -c 'SELECT 2' \
	>"$T_TMP/long.out" 2>&1 &
long=$!
sleep 1
V2=$(variant pgb2 30)
run_haprov "$T_TMP/pool.log" apply "$V2"
rc=$?
check_eq "apply of default_pool_size 20 -> 30 exits 0" 0 "$rc"
check_eq "PgBouncer reloaded on each host" 3 \
	"$(grep -c 'service pgbouncer .*changed: reload' "$T_TMP/pool.log")"
check_eq "not restarted (same PIDs)" "$before" "$(pgb_pids)"
wait "$long"
lrc=$?
check_eq "a client session open across the reload finished" "0 1 2" \
	"$lrc $(grep -v '^$' "$T_TMP/long.out" | xargs)"
check "the new size is in force" lab_ssh pg2 \
	"grep -qx 'default_pool_size = 30' /etc/pgbouncer/pgbouncer.ini"

# ---- test 5: no-op -----------------------------------------------------------
t=$(lab_now)
run_haprov "$T_TMP/noop.log" apply "$V2"
rc=$?
echo "no-op apply with pgbouncer and vip: $(lab_elapsed "$t")s"
check_eq "a no-op apply exits 0" 0 "$rc"
check_eq "and changes nothing" 0 "$(grep -c 'changed:' "$T_TMP/noop.log")"

# ---- status: PgBouncer and the VIP, asked without SSH ------------------------
run_haprov "$T_TMP/status.out" status "$V2"
rc=$?
sed 's/^/#   /' "$T_TMP/status.out"
check_eq "status exits 0" 0 "$rc"
check_eq "status: each pgbouncer host answers" 3 \
	"$(grep -cE '^  pg[123] +[0-9.]+:6432 +answers$' "$T_TMP/status.out")"
check "status: the VIP's primary port answers" \
	grep -qE "^  $VIP:5000 +answers$" "$T_TMP/status.out"
pg3_pgb=$(lab_ssh pg3 'systemctl show -p MainPID --value pgbouncer')
lab_ssh pg3 'systemctl stop pgbouncer'
run_haprov "$T_TMP/status-down.out" status "$V2" --json
rc=$?
lab_ssh pg3 'systemctl start pgbouncer'
check "status with pg3's PgBouncer stopped (was pid $pg3_pgb) exits non-zero" \
	test "$rc" -ne 0
check_eq "and says pg3's PgBouncer takes no connection" "no connection false" \
	"$(python3 -c 'import json, sys
d = json.load(sys.stdin)
print([p["state"] for p in d["pgbouncer"] if p["name"] == "pg3"][0],
      str(d["healthy"]).lower())' <"$T_TMP/status-down.out")"

# ---- kept for 57-remove-front, which needs this topology, not its build -------
t=$(lab_now)
lab_save topology "$V"
rc=$?
check_eq "the topology is kept as snapshot 'topology' and serves again ($(lab_elapsed "$t")s)" 0 "$rc"
finish
