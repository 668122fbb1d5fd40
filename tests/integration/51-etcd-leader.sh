#!/usr/bin/env bash
# Issue 10, section 4: etcd's leader off the host of Patroni's leader.
# etcdctl move-leader puts etcd's leader on Patroni's leader's host;
# `haprov status` warns; `haprov apply` moves it to another host (judged
# by etcdctl) and says so, Patroni's leader untouched; a second apply
# leaves it where it is (the step ok).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# the lab host whose etcd member leads, per etcdctl endpoint status
etcd_leader_host() {
	local url h
	url=$(lab_etcdctl pg1 endpoint status | awk -F', ' '$5 == "true" { print $1 }')
	for h in $LAB_HOSTS; do
		[ "$url" = "$(lab_url "$h" 2379 "")" ] && echo "$h" && return 0
	done
	echo "none"
}

# etcd's member id (hex, as etcdctl writes it) of lab host $1
etcd_member_id() {
	lab_etcdctl pg1 member list | awk -F', ' -v n="$1" '$3 == n { print $1 }'
}

L=$(leader_tl | cut -d' ' -f1)
echo "Patroni's leader: $L"
check "Patroni has a leader" test -n "$L"

# ---- etcd's leader onto Patroni's leader's host -------------------------------
if [ "$(etcd_leader_host)" != "$L" ]; then
	lab_etcdctl pg1 move-leader "$(etcd_member_id "$L")"
fi
check_eq "etcdctl move-leader: etcd's leader is on $L" "$L" "$(etcd_leader_host)"

"$HAPROV" status "$INV" >"$T_TMP/status.out" 2>&1
check "haprov status warns that etcd's leader is Patroni's leader's host" \
	grep -q "^warning: etcd's leader $L is also Patroni's leader: a crash of $L costs an etcd election" "$T_TMP/status.out"

# ---- apply moves it ---------------------------------------------------------
t=$(lab_now)
run_haprov "$T_TMP/apply.log" apply "$INV"
rc=$?
echo "apply: exit $rc in $(lab_elapsed "$t")s"
grep "etcd leader" "$T_TMP/apply.log"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/apply.log"
check_eq "apply exits 0" 0 "$rc"
E=$(etcd_leader_host)
check "etcdctl: etcd's leader moved off $L (to $E)" \
	bash -c "[ '$E' != '$L' ] && [ '$E' != none ]"
check "the apply names the move" \
	grep -q "changed: etcd leader moved off $L (the Patroni leader) to $E " "$T_TMP/apply.log"
check_eq "Patroni's leader is still $L" "$L" "$(leader_tl | cut -d' ' -f1)"
"$HAPROV" status "$INV" >"$T_TMP/status2.out" 2>&1
check "haprov status no longer warns" bash -c "! grep -q '^warning: etcd' '$T_TMP/status2.out'"

# ---- a second apply: nothing to move ------------------------------------------
t=$(lab_now)
"$HAPROV" apply "$INV" --json >"$T_TMP/again.json" 2>"$T_TMP/again.err"
rc=$?
echo "second apply: exit $rc in $(lab_elapsed "$t")s"
check_eq "the second apply exits 0" 0 "$rc"
check_eq "its etcd leader step is ok" ok \
	"$(jq -r '.results[] | select(.step == "etcd leader") | .status' "$T_TMP/again.json")"
echo "the step took $(jq -r '.results[] | select(.step == "etcd leader") | .ms' "$T_TMP/again.json") ms of the no-op"
check_eq "etcd's leader stayed on $E" "$E" "$(etcd_leader_host)"
finish
