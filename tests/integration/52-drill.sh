#!/usr/bin/env bash
# Issue 10, tests 4 and 5 and the drill's bad input, on the live TLS lab:
# - a drill on a cluster not marked as a lab, without --yes: refused;
# - a drill on a cluster that is not healthy (a replica's Patroni stopped):
#   refused with the reason; nothing changed either time;
# - with the fast preset and synchronous_mode: `drill --kind crash
#   --count 3`: three trial lines, each with its RTO, RPO 0, the crashed
#   hosts back as streaming replicas;
# - `drill --kind postgres-kill`: reported whether Patroni restarted the
#   postmaster or failed over; the cluster healthy after;
# - a crash drill interrupted (SIGINT) while its leader is down: the host
#   booted, the cluster healthy, the trials done reported;
# then the lab inventory's settings again.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# the lab inventory with absolute paths (its drill commands are relative
# to it), changed by the sed expressions
drill_inv() {
	inv_variant "$@" "s|bash \.\./tests/lab/|bash $LAB_DIR/|"
}

# every member running, the replicas streaming, one leader
healthy() {
	local c
	c=$(lab_curl -s "$(lab_url pg1 8008 /cluster)") || return 1
	[ "$(jq '[.members[] | select(.role == "leader")] | length' <<<"$c")" = 1 ] &&
		[ "$(jq '[.members[] | select(.state == "running" or .state == "streaming")] | length' <<<"$c")" = 3 ]
}

INV_D=$(drill_inv drill)
BEFORE=$(leader_tl)
echo "leader before: $BEFORE"

# ---- bad input: refused, nothing changed -----------------------------------
prod=$(drill_inv prod "s|^  environment: lab|  environment: production|")
run_haprov "$T_TMP/prod.log" drill "$prod" --kind switchover
rc=$?
check "drill on a production inventory without --yes fails (exit $rc)" test "$rc" != 0
check "... saying why and what to add" grep -q "not marked as a lab.*--yes" "$T_TMP/prod.log"
lab_ssh pg3 systemctl stop patroni
run_haprov "$T_TMP/sick.log" drill "$INV_D" --kind switchover
rc=$?
lab_ssh pg3 systemctl start patroni
check "drill on an unhealthy cluster fails (exit $rc)" test "$rc" != 0
check "... with the reason" grep -q "not healthy, so no drill.*pg3" "$T_TMP/sick.log"
grep "no drill" "$T_TMP/sick.log"
check_eq "the leader and timeline did not change" "$BEFORE" "$(leader_tl)"
wait_for 60 healthy || true

# ---- the fast preset, synchronous mode ---------------------------------------
fast=$(drill_inv fast '/^    ttl: /d' '/^    loop_wait: /d' '/^    retry_timeout: /d' \
	'/^    inter_ms: /d' '/^    fall: /d' '/^    rise: /d' \
	's|^  dcs:|  dcs:\n    preset: fast\n    synchronous_mode: true|')
run_haprov "$T_TMP/fast.log" apply "$fast"
rc=$?
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/fast.log"
check_eq "apply of the fast preset exits 0" 0 "$rc"
check_eq "ttl is the preset's" 7 "$(member_config pg1 ttl)"
check_eq "synchronous_mode is on" true "$(member_config pg1 synchronous_mode)"

# ---- test 4: three crashes --------------------------------------------------
t=$(lab_now)
run_haprov "$T_TMP/crash.log" drill "$fast" --kind crash --count 3
rc=$?
echo "drill --kind crash --count 3: exit $rc in $(lab_elapsed "$t")s"
grep -E "^(trial|over|  )" "$T_TMP/crash.log"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/crash.log"
check_eq "drill --kind crash --count 3 exits 0" 0 "$rc"
check_eq "three trial lines" 3 "$(grep -c '^trial [123]/3 crash ' "$T_TMP/crash.log")"
check_eq "each with an RTO" 3 "$(grep -cE 'RTO [0-9]+\.[0-9]+ s' "$T_TMP/crash.log")"
check_eq "each with RPO 0 (synchronous mode)" 3 "$(grep -cE 'RPO 0 of [1-9][0-9]* rows' "$T_TMP/crash.log")"
check "the summary has the RTO's min, median and max" grep -q "RTO (first write)" "$T_TMP/crash.log"
check "the cluster is healthy after" healthy

# ---- test 5: postgres-kill ----------------------------------------------------
run_haprov "$T_TMP/kill.log" drill "$fast" --kind postgres-kill --json
rc=$?
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/kill.log"
check_eq "drill --kind postgres-kill exits 0" 0 "$rc"
# stdout is the JSON document, stderr the progress: the log has both
sed -n '/^{/,/^}/p' "$T_TMP/kill.log" >"$T_TMP/kill.json"
check_eq "the JSON has one trial that ran to the end" "1 true" \
	"$(jq -r '"\(.trials | length) \(.trials[0].done)"' "$T_TMP/kill.json")"
echo "postgres-kill: $(jq -c '.trials[0] | {victim, new_leader, rto_ms, rpo_rows}' "$T_TMP/kill.json")"
check "its RTO is a number of ms" jq -e '.trials[0].rto_ms > 0' "$T_TMP/kill.json"
check "the cluster is healthy after" healthy

# ---- SIGINT while the leader is down ------------------------------------------
"$HAPROV" drill "$fast" --kind crash --count 2 >"$T_TMP/int.log" 2>&1 &
pid=$!
wait_for 30 grep -q "crashed (init" "$T_TMP/int.log"
kill -INT "$pid"
wait "$pid"
rc=$?
tail -n 5 "$T_TMP/int.log"
check_eq "an interrupted drill exits 130" 130 "$rc"
check "it says it brought the cluster back" grep -q "interrupted after 0 trials; the cluster was brought back to healthy" "$T_TMP/int.log"
check "it booted the crashed host" grep -q "booted in" "$T_TMP/int.log"
check "the cluster is healthy after" healthy
check "no lab host is left crashed" bash -c "! ls $LAB_STATE/hosts/*/crashed 2>/dev/null"

restore_lab
finish
