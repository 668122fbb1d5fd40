#!/usr/bin/env bash
# Issue 8, tests 3, 4, 8 and 9: haprov rotate on a live cluster, under the
# write load, on 20-apply-fresh's cluster (its snapshot restored, or a
# fresh apply) with log_statement = all applied (a DCS parameter of the
# inventory, in force with no restart):
# 3. the application role app: the new password logs in through HAProxy,
#    the old one is refused, no acknowledged row lost;
# 8. rollback --to the point from before that rotation: the old password
#    is back on the cluster and logs in;
# 4. the replication password: no failover (same leader, same timeline),
#    no PostgreSQL restart (same postmaster start times), every replica
#    streaming again over a new connection, no row lost; the time taken
#    and the longest write gap printed;
# 9. PostgreSQL's log (every statement) holds none of the store's
#    passwords, current or former.
# The lab is then left as 20-apply-fresh leaves it (the lab inventory
# applied as it is).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

T0=$(lab_now)
trap '[ -n "${WRITER_PID:-}" ] && touch "$WRITER_STOP"; t_cleanup' EXIT

# the lab inventory with every statement logged
LOG_INV=$(inv_variant rotate "s/^    retry_timeout: 10.*/    retry_timeout: 10\n    parameters:\n      log_statement: all/")

# app_login PASSWORD: app logs in to appdb through HAProxy's primary port
app_login() {
	PGPASSWORD=$1 PGCONNECT_TIMEOUT=5 psql -X -q -At -h "$(lab_ip pg1)" \
		-p 5000 -U app -d appdb -c 'select 1' 2>&1
}

# every replica streaming, as the leader's GET /patroni says
streaming() {
	local l
	l=$(leader_tl | cut -d' ' -f1)
	lab_curl -s -m 3 "$(lab_url "$l" 8008 /patroni)" |
		jq '[.replication[]? | select(.state == "streaming")] | length'
}

# ---- 20-apply-fresh's cluster, then every statement logged -------------------
lab_fresh_again "$T_TMP/fresh.log"
check_eq "the lab is 20-apply-fresh's cluster" 0 "$?"
t=$(lab_now)
run_haprov "$T_TMP/apply.log" apply "$LOG_INV"
rc=$?
echo "apply of log_statement = all: exit $rc in $(lab_elapsed "$t")s"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/apply.log"
check_eq "the apply of log_statement = all exits 0" 0 "$rc"
check_eq "every statement is logged" "pg1=all pg2=all pg3=all " \
	"$(show_all log_statement | tr '\n' ' ')"
for h in $LAB_HOSTS; do
	# shellcheck disable=SC2016 # expanded on the host
	check_eq "$h: config.yml holds the passwords (0600 postgres), the env file none" \
		"600 postgres 0" \
		"$(lab_ssh "$h" 'echo "$(stat -c "%a %U" /etc/patroni/config.yml) $(grep -c PASSWORD /etc/patroni_env.conf)"')"
done
BEFORE=$(state_head)
APP_OLD=$(tr -d '\n' <"$STORE/role-app")
check_eq "app logs in with its password" 1 "$(app_login "$APP_OLD")"

# ---- test 3: rotate the application role under load ----------------------------
writer_start
t=$(lab_now)
run_haprov "$T_TMP/rot-app.log" rotate "$LOG_INV" app
rc=$?
echo "rotate app: exit $rc in $(lab_elapsed "$t")s"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/rot-app.log"
check_eq "rotate app exits 0" 0 "$rc"
APP_NEW=$(tr -d '\n' <"$STORE/role-app")
check "the store's current password of app changed" test "$APP_NEW" != "$APP_OLD"
check "the former password is kept as a version" \
	test -f "$STORE/versions/role-app/$(printf '%s' "$APP_OLD" | sha256sum | cut -d' ' -f1)"
check_eq "app logs in with the new password through HAProxy" 1 "$(app_login "$APP_NEW")"
check "the old password is refused" bash -c "PGPASSWORD='$APP_OLD' PGCONNECT_TIMEOUT=5 psql -X -q -At -h $(lab_ip pg1) -p 5000 -U app -d appdb -c 'select 1' 2>&1 | grep -q 'password authentication failed'"
check "the rotation committed a rollback point" bash -c "'$HAPROV' history '$LOG_INV' | head -1 | grep -q rotate"
writer_stop_check
echo "rotate app: longest write gap ${WRITER_GAP}s"

# ---- test 8: rollback --to the point before it -----------------------------------
t=$(lab_now)
run_haprov "$T_TMP/rb.log" rollback "$LOG_INV" --to "$BEFORE"
rc=$?
echo "rollback --to the point before the rotation: exit $rc in $(lab_elapsed "$t")s"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/rb.log"
check_eq "rollback --to the point before the rotation exits 0" 0 "$rc"
check_eq "app logs in with the old password again" 1 "$(app_login "$APP_OLD")"
check "the rotated password is refused after the rollback" bash -c "PGPASSWORD='$APP_NEW' PGCONNECT_TIMEOUT=5 psql -X -q -At -h $(lab_ip pg1) -p 5000 -U app -d appdb -c 'select 1' 2>&1 | grep -q 'password authentication failed'"
check_eq "the store's current password of app is the old one again" "$APP_OLD" \
	"$(tr -d '\n' <"$STORE/role-app")"

# ---- test 4: rotate the replication password under load ----------------------------
LT0=$(leader_tl)
PM0=$(postmaster_starts)
REPL_OLD=$(tr -d '\n' <"$STORE/replication")
writer_start
t=$(lab_now)
run_haprov "$T_TMP/rot-repl.log" rotate "$LOG_INV" replication
rc=$?
took=$(lab_elapsed "$t")
echo "rotate replication: exit $rc in ${took}s"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/rot-repl.log"
check_eq "rotate replication exits 0" 0 "$rc"
check "the store's replication password changed" test "$(tr -d '\n' <"$STORE/replication")" != "$REPL_OLD"
check_eq "no failover: same leader, same timeline" "$LT0" "$(leader_tl)"
check_eq "no PostgreSQL restart: the postmaster start times are unchanged" "$PM0" "$(postmaster_starts)"
check_eq "both replicas stream" 2 "$(streaming)"
check_eq "both replicas reconnected after the rotation" 2 \
	"$(psql_lab 5000 "select count(*) from pg_stat_replication where state = 'streaming' and backend_start > now() - interval '${took%.*} seconds' - interval '5 seconds'")"
sleep 2
writer_stop_check
echo "rotate replication: ${took}s, longest write gap ${WRITER_GAP}s"

# ---- the other bootstrap roles (no load: the writer logs in as the superuser) ----
LT0=$(leader_tl)
PM0=$(postmaster_starts)
REST_OLD=$(tr -d '\n' <"$STORE/restapi")
t=$(lab_now)
run_haprov "$T_TMP/rot-boot.log" rotate "$LOG_INV" superuser rewind restapi
rc=$?
echo "rotate superuser rewind restapi: exit $rc in $(lab_elapsed "$t")s"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/rot-boot.log"
check_eq "rotate superuser rewind restapi exits 0" 0 "$rc"
check_eq "no failover" "$LT0" "$(leader_tl)"
check_eq "no PostgreSQL restart" "$PM0" "$(postmaster_starts)"
check_eq "psql as the superuser with its new password" 1 "$(psql_lab 5000 'select 1')"
check_eq "the REST API answers the old credentials with 401" 401 \
	"$(printf 'user = "patroni:%s"\n' "$REST_OLD" | lab_curl -s -K - -o /dev/null -w '%{http_code}' -X PATCH -d '{}' "$(lab_url pg1 8008 /config)")"

# ---- test 9: no password in PostgreSQL's log -----------------------------------------
# every value the store has held: current files and versions
find "$STORE" -type f ! -name '*.new-*' -exec cat {} + | grep -v '^$' | sort -u >"$T_TMP/pw"
echo "store values checked: $(wc -l <"$T_TMP/pw")"
found=0 logged=0
for h in $LAB_HOSTS; do
	lab_ssh "$h" 'journalctl -u patroni --no-pager -o cat 2>/dev/null; cat /var/lib/postgresql/15/main/log/* /var/log/postgresql/* 2>/dev/null' >"$T_TMP/log-$h"
	n=$(grep -c 'ALTER ROLE' "$T_TMP/log-$h")
	logged=$((logged + n))
	if grep -qF -f "$T_TMP/pw" "$T_TMP/log-$h"; then
		found=$((found + 1))
		echo "    $h: a store value is in PostgreSQL's log"
	fi
done
check "PostgreSQL's log has the ALTER ROLE statements (logging works: $logged)" test "$logged" -gt 0
check_eq "no host's PostgreSQL log holds a password of the store" 0 "$found"

# ---- back to the lab inventory as it is -----------------------------------------------
restore_lab
echo "45-rotate: total $(lab_elapsed "$T0")s"
finish
