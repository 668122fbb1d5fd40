#!/usr/bin/env bash
# Issue 8, phase 5: extensions on a live cluster, under a write load, from
# bare hosts (the lab is reset):
# - pg_cron (preloaded, package postgresql-15-cron) and pgcrypto are added
#   to database postgres: the preload goes through one rolling restart
#   (every postmaster restarted, one switchover), the extensions exist on
#   the leader and on every replica, and no acknowledged row is lost;
# - a second apply changes nothing and restarts nothing;
# - an extension that no package provides is refused before any change
#   (exit 1, nothing restarted, the cluster healthy);
# - a preloaded library that fails to load makes the phase fail and roll
#   back by itself (exit 4): the preload is the point's again and the
#   cluster is healthy.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

T0=$(lab_now)
trap '[ -n "${WRITER_PID:-}" ] && touch "$WRITER_STOP"; t_cleanup' EXIT

# ext_inv NAME BLOCK: the lab inventory with its extensions section
# replaced by BLOCK (the whole section, up to the next top-level key; this
# test keeps to database postgres), a soak of one Patroni loop
ext_inv() {
	local f
	f=$(inv_variant "$1" '/^extensions:/,/^[a-z]/{/^extensions:/d;/^[a-z]/!d}')
	printf '%s\nvalidation:\n  soak_s: 10\n' "$2" >>"$f"
	echo "$f"
}

BASE=$(ext_inv ext0 'extensions:
  shared_preload_libraries: [pg_stat_statements]')
CRON=$(ext_inv ext1 'extensions:
  packages: [postgresql-15-cron]
  shared_preload_libraries: [pg_stat_statements, pg_cron]
  databases:
    - name: postgres
      extensions: [pg_cron, pgcrypto]')
NOPKG=$(ext_inv ext2 'extensions:
  packages: [postgresql-15-cron]
  shared_preload_libraries: [pg_stat_statements, pg_cron]
  databases:
    - name: postgres
      extensions: [pg_cron, pgcrypto, haprov_no_such_extension]')
BADLIB=$(ext_inv ext3 'extensions:
  packages: [postgresql-15-cron]
  shared_preload_libraries: [pg_stat_statements, pg_cron, haprov_no_such_lib]
  databases:
    - name: postgres
      extensions: [pg_cron, pgcrypto]')

# per member: the extensions of database postgres ("pg1=pg_cron,pgcrypto")
exts_all() {
	local h
	for h in $LAB_HOSTS; do
		printf '%s=%s\n' "$h" "$(lab_ssh "$h" "cd / && runuser -u postgres -- psql -XAtc \"select string_agg(extname, ',' order by extname) from pg_extension where extname <> 'plpgsql'\"")"
	done
}

# ---- bare hosts, the cluster without extensions -----------------------------
t=$(lab_now)
lab_reset
rc=$?
check_eq "the lab is reset to bare hosts ($(lab_elapsed "$t")s)" 0 "$rc"
rm -rf "$STATE" "$STORE" "$STATE.lock"
run_haprov "$T_TMP/base.log" apply "$BASE"
rc=$?
[ "$rc" = 0 ] || tail -n 15 "$T_TMP/base.log"
check_eq "the cluster is built with no extension (exit 0)" 0 "$rc"
check_eq "the extensions phase ran" 1 "$(grep -c '^== phase extensions' "$T_TMP/base.log")"

# ---- add pg_cron (preloaded) and pgcrypto under the write load ---------------
writer_start
pm0=$(postmaster_starts)
read -r leader0 _ <<<"$(leader_tl)"
t=$(lab_now)
run_haprov "$T_TMP/cron.log" apply "$CRON"
rc=$?
echo "apply with pg_cron and pgcrypto: exit $rc in $(lab_elapsed "$t")s"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/cron.log"
check_eq "the apply that adds pg_cron and pgcrypto exits 0" 0 "$rc"
pm1=$(postmaster_starts)
restarted=0
for h in $LAB_HOSTS; do
	[ "$(grep "^$h=" <<<"$pm0")" != "$(grep "^$h=" <<<"$pm1")" ] && restarted=$((restarted + 1))
done
check_eq "every member's PostgreSQL was restarted (the preload)" 3 "$restarted"
read -r leader1 _ <<<"$(leader_tl)"
check "one switchover: the leader moved ($leader0 -> $leader1)" test "$leader0" != "$leader1"
check_eq "shared_preload_libraries on every member" \
	"$(printf 'pg1=pg_stat_statements,pg_cron\npg2=pg_stat_statements,pg_cron\npg3=pg_stat_statements,pg_cron')" \
	"$(show_all shared_preload_libraries)"
check_eq "pg_cron and pgcrypto in database postgres on every member" \
	"$(printf 'pg1=pg_cron,pgcrypto\npg2=pg_cron,pgcrypto\npg3=pg_cron,pgcrypto')" "$(exts_all)"
check_eq "one leader, three members running, no pending restart" "1 3 0" "$(cluster_shape)"

# ---- again: nothing to do --------------------------------------------------------
head0=$(state_head)
pm1=$(postmaster_starts)
run_haprov "$T_TMP/again.log" apply "$CRON"
rc=$?
check_eq "the second apply exits 0" 0 "$rc"
check_eq "the second apply changes nothing" 1 "$(grep -c 'apply done in .*: 0 changed' "$T_TMP/again.log")"
check_eq "the second apply restarts nothing" "$pm1" "$(postmaster_starts)"
check_eq "the second apply commits nothing" "$head0" "$(state_head)"
run_haprov "$T_TMP/plan.log" plan "$CRON"
check_eq "plan then exits 0 (no changes)" 0 "$?"

# ---- an extension no package provides: refused before any change -------------
pm1=$(postmaster_starts)
run_haprov "$T_TMP/nopkg.log" apply "$NOPKG"
rc=$?
grep -E 'haprov_no_such|failed|rolled' "$T_TMP/nopkg.log" | head -n 5 | sed 's/^/    /'
check_eq "an extension no package provides: the apply fails before any change" 1 "$rc"
check_eq "the error names the extension and what to do" 1 \
	"$(grep -c 'extension haprov_no_such_extension (database postgres) is not available on the leader.*extensions.packages' "$T_TMP/nopkg.log")"
check_eq "nothing was restarted" "$pm1" "$(postmaster_starts)"
check_eq "the cluster is healthy" "1 3 0" "$(cluster_shape)"

# ---- a preloaded library that fails to load: rolled back by itself -----------
run_haprov "$T_TMP/badlib.log" apply "$BADLIB"
rc=$?
grep -E 'failed|rolling back|rolled|restart' "$T_TMP/badlib.log" | head -n 12 | sed 's/^/    /'
[ "$rc" = 4 ] || { echo "    ... its last lines:"; tail -n 40 "$T_TMP/badlib.log" | sed 's/^/    /'; }
check_eq "a library that fails to load: the phase rolls back by itself (exit 4)" 4 "$rc"
wait_for 60 test "$(cluster_shape)" = "1 3 0"
check_eq "the cluster is healthy after the rollback" "1 3 0" "$(cluster_shape)"
check_eq "shared_preload_libraries is the point's again on every member" \
	"$(printf 'pg1=pg_stat_statements,pg_cron\npg2=pg_stat_statements,pg_cron\npg3=pg_stat_statements,pg_cron')" \
	"$(show_all shared_preload_libraries)"
check_eq "the extensions are still there" \
	"$(printf 'pg1=pg_cron,pgcrypto\npg2=pg_cron,pgcrypto\npg3=pg_cron,pgcrypto')" "$(exts_all)"

writer_stop_check
WRITER_PID=""
echo "43-extensions: total $(lab_elapsed "$T0")s, longest write gap ${WRITER_GAP}s"
finish
