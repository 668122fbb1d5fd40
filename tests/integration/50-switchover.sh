#!/usr/bin/env bash
# Issue 10, test 3 and its bad input: haprov switchover on the live TLS
# cluster, under the write load through HAProxy's primary port:
# - --to a host that is not in the inventory, and --to the leader itself:
#   refused before anything changes (the same leader, the same timeline);
# - a switchover to the first other member: a new leader, the former one
#   streaming from it, every HAProxy routing to the new leader with the
#   former leader's drain lifted (runtime API), no acknowledged row lost,
#   the longest write gap printed and the test failing above 3 s;
# - a second one back to the first leader, so the lab is left led as before.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

trap '[ -n "${WRITER_PID:-}" ] && touch "$WRITER_STOP"; t_cleanup' EXIT

# the primary backend's servers on HOST: "name:op_state:admin_state ..."
# (op 2 = UP, 0 = DOWN; admin 0 = ready, 8 = drain), from the runtime API
primary_state() {
	# shellcheck disable=SC2016 # expanded on the host
	printf 'show servers state primary\n' | lab_ssh "$1" \
		'perl -MIO::Socket::UNIX -e '\''$s = IO::Socket::UNIX->new(Peer => "/run/haproxy/haprov-admin.sock") or exit 2; local $/; print $s <STDIN>; shutdown($s, 1); print while <$s>'\''' |
		awk '$2 == "primary" { printf "%s:%s:%s ", $4, $6, $7 }'
}

# ---- the cluster as the lab inventory has it (haproxy.cfg with the socket) --
t=$(lab_now)
run_haprov "$T_TMP/apply.log" apply "$INV"
rc=$?
echo "apply of the lab inventory: exit $rc in $(lab_elapsed "$t")s"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/apply.log"
check_eq "apply of the lab inventory exits 0" 0 "$rc"
check_eq "haproxy's admin socket is there, 0600 root" "600 root" \
	"$(lab_ssh pg1 'stat -c "%a %U" /run/haproxy/haprov-admin.sock')"
BEFORE=$(leader_tl)
L0=${BEFORE% *}
echo "leader before: $BEFORE"

# ---- bad input: refused, nothing changed ------------------------------------
run_haprov "$T_TMP/bad1.log" switchover "$INV" --to pg9
rc=$?
check "switchover --to pg9 (not in the inventory) fails" test "$rc" != 0
check "... saying so" grep -q "pg9: not a host of the inventory" "$T_TMP/bad1.log"
run_haprov "$T_TMP/bad2.log" switchover "$INV" --to "$L0"
rc=$?
check "switchover --to the leader fails" test "$rc" != 0
check "... saying it leads already" grep -q "leads already" "$T_TMP/bad2.log"
check_eq "the leader and timeline did not change" "$BEFORE" "$(leader_tl)"

# ---- test 3: a switchover under the write load -------------------------------
writer_start
t=$(lab_now)
run_haprov "$T_TMP/sw.log" switchover "$INV"
rc=$?
echo "switchover: exit $rc in $(lab_elapsed "$t")s"
grep -E "switchover|HAProxy routed" "$T_TMP/sw.log" | tail -n 3
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/sw.log"
check_eq "switchover exits 0" 0 "$rc"
sleep 2
writer_stop_check
echo "switchover: longest write gap ${WRITER_GAP}s (the issue's limit: 3 s, goal 2 s)"
check "the longest write gap is at most 3 s" \
	test "$(echo "$WRITER_GAP <= 3" | bc)" = 1
AFTER=$(leader_tl)
L1=${AFTER% *}
echo "leader after: $AFTER"
check "a new leader" test "$L1" != "$L0"
check "a new timeline" test "${AFTER#* }" -gt "${BEFORE#* }"
for h in $LAB_HOSTS; do
	s=$(primary_state "$h")
	check "$h: haproxy routes to $L1, the former leader $L0 down, no drain left ($s)" \
		bash -c "echo '$s' | grep -q '$L1:2:0' && echo '$s' | grep -q '$L0:0:0'"
done

# ---- back to the first leader -------------------------------------------------
run_haprov "$T_TMP/back.log" switchover "$INV" --to "$L0"
rc=$?
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/back.log"
check_eq "switchover --to $L0 (back) exits 0" 0 "$rc"
check_eq "$L0 leads again" "$L0" "$(leader_tl | cut -d' ' -f1)"

finish
