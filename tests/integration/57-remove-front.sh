#!/usr/bin/env bash
# Removing a host of the reference topology (issue 10's hosts[].remove with
# issue 12's roles): the host that holds the VIP, with roles etcd, patroni,
# haproxy, pgbouncer and vip, is marked remove: true and applied with
# --allow-remove. Judged on the hosts and through the VIP:
# - keepalived is stopped first, so the address has moved to one host that
#   stays before anything else on the leaving host stops;
# - every service on the leaving host is inactive after (keepalived,
#   PgBouncer, Patroni, etcd, HAProxy), its data left in place;
# - a client through the VIP still reaches the primary, through a PgBouncer
#   that stays; etcd and Patroni have two members; HAProxy on the others no
#   longer lists it; a plan afterwards has nothing to do.
# It starts from 55-pgbouncer's topology, restored from that test's
# snapshot (a fresh apply on bare hosts when there is none). Leaves the lab
# with two members: it runs last, and the lab goes down after it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

trap 't_cleanup' EXIT

V=$(topo_variant topo)

# 55-pgbouncer's topology (its snapshot; a fresh one when there is none),
# then this test's inventory applied to it
if lab_has_snapshot topology; then
	t=$(lab_now)
	lab_restore topology "$V"
	rc=$?
	check_eq "55-pgbouncer's topology is back (snapshot, $(lab_elapsed "$t")s)" 0 "$rc"
	run_haprov "$T_TMP/apply.log" apply "$V"
	rc=$?
	[ "$rc" = 0 ] || tail -n 20 "$T_TMP/apply.log"
	check_eq "this test's topology inventory applies to it" 0 "$rc"
else
	fresh_topology "$V"
fi

H=$(vip_holders | xargs)
check "one host holds the VIP ($H)" test -n "$H" -a "$(wc -w <<<"$H")" = 1
STAY=$(for h in $LAB_HOSTS; do [ "$h" = "$H" ] || printf '%s ' "$h"; done | xargs)
# the holder's entry gains remove: true after its roles line
SHRINK=$T_TMP/shrink.yml
sed "/^  - name: $H\$/,/^    roles:/ s/^\(    roles: .*\)\$/\1\n    remove: true/" \
	"$V" >"$SHRINK"
check_eq "the copy marks $H only" 1 "$(grep -c '^    remove: true' "$SHRINK")"

t=$(lab_now)
run_haprov "$T_TMP/remove.log" apply --allow-remove "$SHRINK"
rc=$?
echo "removing the VIP holder $H: exit $rc in $(lab_elapsed "$t")s"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/remove.log"
check_eq "apply --allow-remove exits 0" 0 "$rc"
grep -E "\] $H " "$T_TMP/remove.log" | sed 's/^/#   /'

# keepalived stopped before Patroni's leave: its step comes first
first=$(grep -nE "\] $H +stop keepalived +changed:" "$T_TMP/remove.log" | head -n 1 | cut -d: -f1)
pat=$(grep -nE "\] $H +stop patroni +changed:" "$T_TMP/remove.log" | head -n 1 | cut -d: -f1)
check "keepalived was stopped (line ${first:-none})" test -n "$first"
check "before Patroni (line ${pat:-none})" test -n "$pat" -a "${first:-0}" -lt "${pat:-0}"

NEW=$(vip_holders | xargs)
check "the VIP moved to one host that stays ($NEW)" \
	test -n "$NEW" -a "$(wc -w <<<"$NEW")" = 1 -a "$NEW" != "$H"
# shellcheck disable=SC2016 # $s is the host's
check_eq "$H: keepalived, pgbouncer, patroni, etcd, haproxy inactive" \
	"inactive inactive inactive inactive inactive" \
	"$(lab_ssh "$H" 'for s in keepalived pgbouncer patroni etcd haproxy; do systemctl is-active $s; done' | xargs)"
check "$H's PostgreSQL data is still there" lab_ssh "$H" "test -s /var/lib/postgresql/15/main/PG_VERSION"
check_eq "a client through the VIP reaches the primary" "f" \
	"$(via_vip 'SELECT pg_is_in_recovery()')"
for h in $STAY; do
	check_eq "$h: PgBouncer still serves" active "$(lab_ssh "$h" 'systemctl is-active pgbouncer')"
	check_eq "$h: HAProxy's replicas backend is $STAY" "$STAY" "$(backend_servers "$h" | xargs)"
done
check_eq "Patroni: two members" "$STAY" \
	"$(lab_curl -s "$(lab_url "${STAY%% *}" 8008 /cluster)" | jq -r '.members[].name' | sort | xargs)"
run_haprov "$T_TMP/plan.log" plan "$SHRINK"
check_eq "plan afterwards: nothing to do" 0 "$?"
finish
