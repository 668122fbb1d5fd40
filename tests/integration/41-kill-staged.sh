#!/usr/bin/env bash
# Issue 7, defect 16: haprov killed (-9) in the middle of a staged change
# that needs a rolling restart and a switchover (max_connections up), under
# a write load, at three points:
#   1. right after the PATCH (the leader's GET /config has the new value,
#      nothing is restarted yet);
#   2. while a replica's PostgreSQL restarts;
#   3. as the switchover begins (the leader stops, still holding the key);
#   4. half-way through it (a new leader, the former one still demoting).
# After each kill the IMMEDIATE re-run must exit 0 and leave the change in
# force everywhere, with no pending restart; at the end no acknowledged row
# is lost, and the lab inventory's settings are restored.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

T0=$(lab_now)
BG=""
trap '[ -n "$BG" ] && kill -9 "$BG" 2>/dev/null; [ -n "${WRITER_PID:-}" ] && touch "$WRITER_STOP"; t_cleanup' EXIT

# mc_inv VALUE: the lab inventory with max_connections VALUE, and a soak of
# one Patroni loop (10 s, not the default 20: the soak is not under test)
mc_inv() {
	local f
	f=$(inv_variant "mc$1" "s/^    retry_timeout: 10.*/    retry_timeout: 10\n    parameters:\n      max_connections: $1/")
	printf 'validation:\n  soak_s: 10\n' >>"$f"
	echo "$f"
}

# the member names that are not the leader now
replicas() {
	lab_curl -s -m 2 "$(lab_url pg1 8008 /cluster)" |
		jq -r '.members[] | select(.role != "leader") | .name'
}

# ---- kill points (each a test for wait_for, polled every 0.1 s) ---------------
# haprov ended on its own: stop waiting (the check after says the point
# was missed)
bg_gone() { ! kill -0 "$BG" 2>/dev/null; }

POINT=""
# 1: the PATCH is in (the leader's GET /config has the new value)
after_patch() {
	bg_gone && return 0
	[ "$(member_config "$LEADER0" postgresql.parameters.max_connections 2>/dev/null)" = "$WANT" ] || return 1
	# nothing restarted yet
	grep -q 'restart postgresql' "$T_TMP/k.log" && return 1
	POINT="the leader's GET /config has max_connections $WANT, no restart yet"
}
# 2: the replicas' rolling restart is under way: a replica's PostgreSQL is
# restarting (its GET /patroni state), or one has restarted (a new
# postmaster start time) while haprov has not finished both; a restart
# lasts about a second, too short to catch by its state alone
replica_restarting() {
	local r j s pm
	bg_gone && return 0
	grep -q "dcs config .*changed" "$T_TMP/k.log" || return 1
	for r in $REPLICAS; do
		j=$(lab_curl -s -m 1 "$(lab_url "$r" 8008 /patroni)")
		s=$(jq -r .state <<<"$j" 2>/dev/null)
		pm=$(jq -r .postmaster_start_time <<<"$j" 2>/dev/null)
		if [ -n "$s" ] && [ "$s" != running ]; then
			POINT="replica $r is '$s'"
			return 0
		fi
		if [ -n "$pm" ] && [ "$pm" != null ] && [ "$pm" != "${PM0[$r]}" ] &&
			[ "$(grep -c 'restart postgresql *changed' "$T_TMP/k.log")" -lt 2 ]; then
			POINT="replica $r restarted (postmaster $pm), the rolling restart under way"
			return 0
		fi
	done
	return 1
}
# 3: the switchover has begun: both replicas are restarted and the leader
# is no longer a running primary, but still holds the leader key
switchover_begun() {
	local s
	bg_gone && return 0
	[ "$(grep -c 'restart postgresql *changed' "$T_TMP/k.log")" -ge 2 ] || return 1
	s=$(lab_curl -s -m 1 "$(lab_url "$LEADER0" 8008 /patroni)" | jq -r '"\(.role) \(.state)"' 2>/dev/null)
	case $s in
	"master running" | "primary running") return 1 ;;
	esac
	POINT="leader $LEADER0 is '${s:-not answering}'"
}
# 4: the switchover is half done: a new leader holds the key while the
# former one is still being demoted (not yet a running replica)
switchover_demoting() {
	local now s r
	bg_gone && return 0
	[ "$(grep -c 'restart postgresql *changed' "$T_TMP/k.log")" -ge 2 ] || return 1
	for r in $REPLICAS; do
		now=$(lab_curl -s -m 1 "$(lab_url "$r" 8008 /cluster)" |
			jq -r '.members[] | select(.role == "leader") | .name' 2>/dev/null)
		[ -n "$now" ] && break
	done
	[ -n "$now" ] && [ "$now" != "$LEADER0" ] || return 1
	s=$(lab_curl -s -m 1 "$(lab_url "$LEADER0" 8008 /patroni)" | jq -r '"\(.role) \(.state)"' 2>/dev/null)
	[ "$s" != "replica running" ] || return 1
	POINT="$now leads, former leader $LEADER0 is '${s:-not answering}'"
}

# kill_rerun WANT TEST WHAT: apply max_connections WANT, kill -9 haprov when
# TEST says so, then re-run at once: it must exit 0 and finish the change
kill_rerun() {
	local t rc took r
	WANT=$1
	read -r LEADER0 _ <<<"$(leader_tl)"
	REPLICAS=$(replicas | tr '\n' ' ')
	# each replica's postmaster start time before the change
	declare -gA PM0=()
	for r in $REPLICAS; do
		PM0[$r]=$(lab_curl -s -m 2 "$(lab_url "$r" 8008 /patroni)" |
			jq -r .postmaster_start_time 2>/dev/null)
	done
	POINT=""
	inv=$(mc_inv "$WANT")
	t=$(lab_now)
	"$HAPROV" apply "$inv" >"$T_TMP/k.log" 2>&1 &
	BG=$!
	wait_for 180 "$2"
	if ! bg_gone && [ -n "$POINT" ]; then
		kill -9 "$BG"
	else
		POINT=""
	fi
	wait "$BG" 2>/dev/null
	BG=""
	echo "max_connections -> $WANT: killed -9 after $(lab_elapsed "$t")s: ${POINT:-missed}; its last lines:"
	tail -n 3 "$T_TMP/k.log" | sed 's/^/    /'
	check "haprov was killed $3 ($POINT)" test -n "$POINT"
	t=$(lab_now)
	run_haprov "$T_TMP/rerun-$WANT.log" apply "$inv"
	rc=$?
	took=$(lab_elapsed "$t")
	echo "immediate re-run: exit $rc in ${took}s"
	grep -E "dcs config|restart|switchover|soak|wait|failed|rolled|haprov:" "$T_TMP/rerun-$WANT.log" |
		head -n 15 | sed 's/^/    /'
	check_eq "the immediate re-run after a kill $3 exits 0" 0 "$rc"
	check_eq "max_connections is $WANT on every member" \
		"$(printf 'pg1=%s\npg2=%s\npg3=%s' "$WANT" "$WANT" "$WANT")" "$(show_all max_connections)"
	check_eq "one leader, three members running, no pending restart" "1 3 0" "$(cluster_shape)"
}

mc0=$(show_all max_connections)
check_eq "the lab starts at the default max_connections" \
	"$(printf 'pg1=100\npg2=100\npg3=100')" "$mc0"
writer_start
kill_rerun 110 after_patch "right after the PATCH"
kill_rerun 120 replica_restarting "while a replica restarts"
kill_rerun 130 switchover_begun "as the switchover begins"
kill_rerun 140 switchover_demoting "while the former leader is demoted"
restore_lab
check_eq "max_connections back to the default" "$mc0" "$(show_all max_connections)"
writer_stop_check
WRITER_PID=""
echo "41-kill-staged: total $(lab_elapsed "$T0")s, longest write gap ${WRITER_GAP}s"
finish
