#!/usr/bin/env bash
# Issue 12, section 2: a virtual IP (keepalived, VRRP over the lab's
# bridge, a real L2 segment) on the three haproxy hosts:
# - apply of the lab inventory with role vip and a vip section: exit 0;
# - exactly one host holds the address (`ip -4 -br addr` over SSH), and
#   the VRRP password is only in the root-only file;
# - a client through the VIP reaches the primary (psql, pg_is_in_recovery);
# - stopping HAProxy on the holder moves the address to another host: the
#   time is printed, and the test fails above 15 s; clients reach the
#   primary through the VIP again;
# - HAProxy back on the former holder: the address stays where it is
#   (nopreempt), and a no-op apply changes nothing.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

VIP=$LAB_NET.100
V=$(inv_variant vip \
	's/roles: \[etcd, patroni, haproxy\]/roles: [etcd, patroni, haproxy, vip]/')
cat >>"$V" <<EOF

vip:
  address: $VIP/24
  interface: host0
  router_id: 51
EOF

# the hosts holding the VIP, by their own view: "pg2" or "pg1 pg3" or ""
holders() {
	local h out=""
	for h in $LAB_HOSTS; do
		if lab_ssh "$h" "ip -4 -br addr show dev host0" |
			grep -qw "$VIP/24"; then
			out="$out $h"
		fi
	done
	echo "${out# }"
}

# through the VIP's primary port: t when the server is in recovery
via_vip() {
	PGPASSWORD=$(pg_password) PGCONNECT_TIMEOUT=3 psql -X -q -At \
		-h "$VIP" -p 5000 -U "$LAB_PGUSER" -d postgres \
		-c 'SELECT pg_is_in_recovery()' 2>&1
}

t=$(lab_now)
run_haprov "$T_TMP/apply.log" apply "$V"
rc=$?
echo "apply with the vip role: exit $rc in $(lab_elapsed "$t")s"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/apply.log"
check_eq "apply with the vip role exits 0" 0 "$rc"
grep ' vip ' "$T_TMP/apply.log" | grep -E 'verify|service' | sed 's/^/#   /'
H=$(holders)
check_eq "exactly one host holds the VIP" 1 "$(wc -w <<<"$H")"
echo "holder: $H"
check_eq "the VRRP password file is root's, 0600, on every vip host" \
	"600 root 600 root 600 root" \
	"$(for h in $LAB_HOSTS; do lab_ssh "$h" 'stat -c "%a %U" /etc/keepalived/haprov_auth.conf'; done | xargs)"
pw=$(cat "$STORE/vip_auth")
check_eq "the store's VRRP password has VRRP's 8 characters" 8 "${#pw}"
check "keepalived.conf holds no password" \
	lab_ssh pg1 "! grep -qF -- '$pw' /etc/keepalived/keepalived.conf"
check_eq "a client through the VIP reaches the primary" f "$(via_vip)"

# ---- HAProxy stops on the holder: the VIP moves ------------------------------
old=$H
lab_ssh "$old" 'systemctl stop haproxy'
t=$(lab_now)
new=$old
# until one other host alone holds it: the hosts are asked one after the
# other, so a look during the hand-over can see both
for _ in $(seq 1 150); do
	new=$(holders)
	[ "$(wc -w <<<"$new")" = 1 ] && [ "$new" != "$old" ] && break
	sleep 0.1
done
moved=$(lab_elapsed "$t")
echo "the VIP moved from $old to ${new:-nobody} in ${moved}s (HAProxy stopped on $old)"
check "the VIP left $old for exactly one other host" \
	test -n "$new" -a "$new" != "$old" -a "$(wc -w <<<"$new")" = 1
check "it moved within 15 s (${moved}s)" awk -v m="$moved" 'BEGIN { exit !(m <= 15) }'
r=
for _ in $(seq 1 20); do
	r=$(via_vip) && [ "$r" = f ] && break
	sleep 0.5
done
check_eq "after the move a client through the VIP reaches the primary" f "$r"

# ---- HAProxy back: the address stays (nopreempt) ----------------------------
lab_ssh "$old" 'systemctl start haproxy'
sleep 4
check_eq "with HAProxy back on $old the VIP stays on $new" "$new" "$(holders)"

run_haprov "$T_TMP/noop.log" apply "$V"
rc=$?
check_eq "a no-op apply with the vip role exits 0" 0 "$rc"
check_eq "and changes nothing" 0 "$(grep -c 'changed:' "$T_TMP/noop.log")"
finish
