#!/usr/bin/env bash
# Issue 8, phase 6 (tuning), tests 6 and 7:
# - a live cluster built without wal_device (inventories/lab.yml without
#   its wal_dir and wal_device lines, on bare hosts) gets tuning.wal_device (each lab host's blank loop disk,
#   $LAB_WAL_DEVICE) and tuning.wal_dir; a device that holds data on one
#   host (ext2 made by hand) is refused by plan and apply, naming host and
#   device, with no change anywhere;
# - with the device blank again, apply under the write load formats, mounts
#   and moves pg_wal one member at a time: 0 acknowledged rows lost, the
#   longest write gap printed; on every host pg_wal links to
#   wal_dir/pg_wal, findmnt shows the device at wal_dir (by MAJ:MIN), the
#   fstab line mounts it by UUID, wal_dir is postgres:postgres 0700; the
#   cluster is healthy; a second apply changes nothing;
# - a failing tuning change (wal_buffers 1GB on a member whose PostgreSQL
#   may map 1000 MB: it cannot start with it) is rolled back by
#   itself (exit 4) and the state before is verified.
# The lab is then 20-apply-fresh's cluster again (its snapshot, or a fresh
# apply of inventories/lab.yml on bare hosts) for the next tests.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

T0=$(lab_now)
trap '[ -n "${WRITER_PID:-}" ] && touch "$WRITER_STOP"; t_cleanup' EXIT
DEV=${LAB_WAL_DEVICE:-/dev/vdb}
WAL=/srv/pgwal/wal
PGWAL=/var/lib/postgresql/15/main/pg_wal

# fresh: bare hosts with blank WAL disks, then the lab inventory
t=$(lab_now)
lab_reset
rc=$?
check_eq "the lab is reset to bare hosts ($(lab_elapsed "$t")s)" 0 "$rc"
rm -rf "$STATE" "$STORE" "$STATE.lock"
nowal=$(inv_variant nowal "/^  wal_dir:/d" "/^  wal_device:/d")
run_haprov "$T_TMP/fresh.log" apply "$nowal"
rc=$?
[ "$rc" = 0 ] || tail -n 15 "$T_TMP/fresh.log"
check_eq "the lab inventory without a WAL volume applies on bare hosts (pg_wal inside the data directory)" 0 "$rc"
for h in $LAB_HOSTS; do
	check "$h: $DEV is a block device, pg_wal a directory" \
		lab_ssh "$h" "test -b $DEV && test -d $PGWAL && ! test -L $PGWAL"
done

# the lab inventory itself has the volume (wal_dir $WAL, wal_device $DEV)
inv=$(inv_variant wal)
check "the lab inventory mounts $DEV at $WAL" grep -q "^  wal_dir: $WAL" "$inv"

# ---- a device that holds data is refused, nothing changes ----------------------
fstab0=$(for h in $LAB_HOSTS; do lab_ssh "$h" 'md5sum /etc/fstab'; done)
lab_ssh pg3 "mkfs.ext2 -q -F $DEV"
"$HAPROV" plan "$inv" >"$T_TMP/plan-bad.out" 2>&1
rc=$?
grep -E "wal_device|$DEV" "$T_TMP/plan-bad.out" | head -5
check "plan refuses (exit $rc)" test "$rc" -ne 0
check "plan names the host and the device" grep -q "pg3: $DEV" "$T_TMP/plan-bad.out"
run_haprov "$T_TMP/apply-bad.log" apply "$inv"
rc=$?
check "apply refuses (exit $rc)" test "$rc" -ne 0
check "apply names the host and the device" grep -q "pg3: $DEV" "$T_TMP/apply-bad.log"
check_eq "no fstab changed" "$fstab0" "$(for h in $LAB_HOSTS; do lab_ssh "$h" 'md5sum /etc/fstab'; done)"
mounted=0
for h in $LAB_HOSTS; do
	[ -n "$(lab_ssh "$h" "findmnt -rn -M $WAL")" ] && mounted=$((mounted + 1))
done
check_eq "nothing mounted at $WAL on any host" 0 "$mounted"
check "pg2's device is still blank (blkid -p finds nothing)" \
	lab_ssh pg2 "blkid -p $DEV >/dev/null 2>&1; test \$? = 2"
check "pg3's ext2 is untouched" lab_ssh pg3 "blkid -p -s TYPE -o value $DEV | grep -qx ext2"
# blank again: no signature, first MiBs zero
lab_ssh pg3 "wipefs -q -a $DEV && dd if=/dev/zero of=$DEV bs=1M count=8 conv=fsync status=none"

# ---- the live move, under the write load ----------------------------------------
"$HAPROV" plan "$inv" >"$T_TMP/plan.out" 2>&1
check "plan says the volume is formatted and pg_wal moved" \
	grep -q "move pg_wal" "$T_TMP/plan.out"
check "plan formatted nothing" lab_ssh pg1 "blkid -p $DEV >/dev/null 2>&1; test \$? = 2"
read -r leader0 _ <<<"$(leader_tl)"
writer_start
t=$(lab_now)
"$HAPROV" apply "$inv" --json >"$T_TMP/apply.json" 2>"$T_TMP/apply.log"
rc=$?
took=$(lab_elapsed "$t")
grep -E "wal volume|move pg_wal|switchover|failed" "$T_TMP/apply.log"
check_eq "apply exits 0" 0 "$rc"
writer_stop_check
echo "pg_wal move: total ${took}s, longest write gap ${WRITER_GAP}s"
check_eq "pg_wal moved on three members" 3 \
	"$(jq '[.results[] | select(.step == "move pg_wal" and .status == "changed")] | length' "$T_TMP/apply.json")"
check_eq "exactly one switchover" 1 \
	"$(jq '[.results[] | select(.step == "switchover" and .status == "changed")] | length' "$T_TMP/apply.json")"
for h in $LAB_HOSTS; do
	check_eq "$h: pg_wal links to $WAL/pg_wal" "$WAL/pg_wal" "$(lab_ssh "$h" "readlink $PGWAL")"
	check_eq "$h: findmnt shows $DEV at $WAL" \
		"$(lab_ssh "$h" "set -- \$(stat -L -c '%t %T' $DEV); printf '%d:%d' 0x\$1 0x\$2")" \
		"$(lab_ssh "$h" "findmnt -rn -o MAJ:MIN -M $WAL")"
	check "$h: /etc/fstab mounts it by UUID" lab_ssh "$h" \
		"grep -qx \"UUID=\$(blkid -p -s UUID -o value $DEV) $WAL ext4 defaults,noatime 0 2\" /etc/fstab"
	check_eq "$h: $WAL is postgres:postgres 0700" "postgres postgres 700" \
		"$(lab_ssh "$h" "stat -c '%U %G %a' $WAL")"
	check "$h: no leftover of the move" lab_ssh "$h" \
		"! test -e $PGWAL.haprov-old && ! test -e $WAL/pg_wal.haprov-new"
done
check_eq "one leader, three members running, no pending restart" "1 3 0" "$(cluster_shape)"
read -r leader1 _ <<<"$(leader_tl)"
check "the leader changed ($leader0 -> $leader1)" test "$leader0" != "$leader1"

# ---- a second apply changes nothing ---------------------------------------------
"$HAPROV" apply "$inv" --json >"$T_TMP/again.json" 2>"$T_TMP/again.log"
check_eq "the second apply exits 0" 0 "$?"
check_eq "the second apply changes nothing" 0 \
	"$(jq '[.results[] | select(.status == "changed")] | length' "$T_TMP/again.json")"
"$HAPROV" plan "$inv" >/dev/null 2>&1
check_eq "plan exits 0" 0 "$?"

# ---- a failing tuning change rolls back by itself -------------------------------
wb0=$(show_all wal_buffers)
bad=$(inv_variant walbad "s|^  wal_buffers: 16MB|  wal_buffers: 1GB|")
printf 'validation:\n  timeout_s: 60\n' >>"$bad"
# the first replica's processes may map 1000 MB each (RLIMIT_AS, a runtime
# drop-in: a cgroup memory limit is not enforced in the lab's containers):
# PostgreSQL cannot map 1 GB of WAL buffers on top of its shared buffers
# there and fails at start; with 16MB it runs
read -r lead _ <<<"$(leader_tl)"
victim=$(for h in $LAB_HOSTS; do [ "$h" != "$lead" ] && echo "$h"; done | head -n1)
# shellcheck disable=SC2016 # expanded on the host
lab_ssh "$victim" 'd=/run/systemd/system/patroni.service.d; mkdir -p $d &&
	printf "[Service]\nLimitAS=1000M\nEnvironment=MALLOC_ARENA_MAX=2\n" >$d/haprov-test-limit.conf &&
	systemctl daemon-reload && systemctl restart patroni'
healthy() { [ "$(cluster_shape)" = "1 3 0" ]; }
victim_running() {
	[ "$(lab_curl -s -m 2 "$(lab_url "$victim" 8008 /patroni)" | jq -r .state 2>/dev/null)" = running ]
}
sleep 2
wait_for 120 victim_running && wait_for 120 healthy
check_eq "$victim runs under the limit with the old settings" "1 3 0" "$(cluster_shape)"
writer_start
run_haprov "$T_TMP/bad.log" apply "$bad"
rc=$?
grep -E "dcs config|restart|rollback|failed" "$T_TMP/bad.log" | tail -12
check_eq "apply exits 4 (failed and rolled back)" 4 "$rc"
check "it says it rolled back" grep -q "was rolled back" "$T_TMP/bad.log"
check_eq "wal_buffers is the old value on every member" "$wb0" "$(show_all wal_buffers)"
check_eq "GET /config has the old wal_buffers" 16MB "$(member_config pg1 postgresql.parameters.wal_buffers)"
check_eq "one leader, three members running, no pending restart" "1 3 0" "$(cluster_shape)"
writer_stop_check
lab_ssh "$victim" 'rm -f /run/systemd/system/patroni.service.d/haprov-test-limit.conf && systemctl daemon-reload'

# ---- leave the lab as 20-apply-fresh does ---------------------------------------
lab_fresh_again "$T_TMP/root.log"
check_eq "the lab is 20-apply-fresh's cluster again" 0 "$?"
echo "44-wal-volume: total $(lab_elapsed "$T0")s"
finish
