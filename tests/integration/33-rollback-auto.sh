#!/usr/bin/env bash
# Issue 4, test 4: a change that passes validate but breaks the cluster:
# shared_buffers 64GB, a typo for 64MB that any operator can make. It is a
# valid size, so validate accepts it; it needs a restart, and PostgreSQL
# cannot map 64 GB of shared memory on these 24 GB hosts, so the first
# replica does not come back. haprov must roll back by itself: the old
# settings, a healthy cluster, no row lost, exit 4, and history shows the
# attempt and the rollback.
. "$(dirname "$0")/lib.sh"

inv=$(inv_variant badbuffers "s/^    retry_timeout: 10.*/    retry_timeout: 10\n    parameters:\n      shared_buffers: 64GB/" \
	"s/^  timeout_s: .*//" "s/^validation:.*//")
printf 'validation:\n  timeout_s: 60\n' >>"$inv"
"$HAPROV" validate "$inv" >/dev/null
check_eq "validate accepts it" 0 "$?"
sb0=$(show_all shared_buffers)
read -r leader0 _ <<<"$(leader_tl)"
writer_start
run_haprov "$T_TMP/apply.log" apply "$inv"
rc=$?
grep -E "dcs config|restart|switchover|rollback|failed|soak" "$T_TMP/apply.log" | tail -20
check_eq "apply exits 4 (failed and rolled back)" 4 "$rc"
check "it says what failed" grep -q "phase patroni failed" "$T_TMP/apply.log"
check "it says it rolled back" grep -q "was rolled back" "$T_TMP/apply.log"
check_eq "shared_buffers is the old value on every member" "$sb0" "$(show_all shared_buffers)"
check_eq "GET /config has no shared_buffers" null \
	"$(lab_curl -s "$(lab_url pg1 8008 /config)" | jq -r '.postgresql.parameters.shared_buffers')"
out=$(lab_curl -s "$(lab_url pg1 8008 /cluster)")
check_eq "one leader, three members running" "1 3" \
	"$(jq '[.members[] | select(.role == "leader")] | length' <<<"$out") $(jq '[.members[] | select(.state == "running")] | length' <<<"$out")"
writer_stop_check
"$HAPROV" history "$INV" >"$T_TMP/history.out" 2>&1
head -20 "$T_TMP/history.out"
check "history shows the failed attempt" grep -qE "rp/[0-9]+-patroni .* patroni: failed" "$T_TMP/history.out"
check "history shows the rollback" grep -qE "rp/[0-9]+-rollback .* rollback: rolled-back" "$T_TMP/history.out"
finish
