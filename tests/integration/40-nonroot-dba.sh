#!/usr/bin/env bash
# Issue 7, defects 17, 8 and 15: a cluster built the way a production site
# runs haprov, as an ordinary user (`ops`, passwordless sudo, its own key)
# with a PostgreSQL superuser that is not `postgres` (`dba`), from bare
# hosts (the lab is reset):
# - haprov is killed (-9) while apt-get installs PostgreSQL on the hosts;
#   apt-get goes on there, and the immediate re-run must wait for it and
#   exit 0 (not fail on dpkg's lock);
# - the cluster is healthy and the leader takes writes as `dba`;
# - a staged change that needs restarts (max_connections up) exits 0 and is
#   in force everywhere: haprov's SQL runs as the configured superuser;
# - every managed file and directory has the owner, group and mode a root
#   apply gives it: compared with 20-apply-fresh's cluster (inventories/
#   lab.yml applied as root on bare hosts), restored from its snapshot,
#   which also leaves the lab as 20-apply-fresh does for the next tests.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

T0=$(lab_now)
OPS_INV=$REPO/tests/integration/inventories/lab-ops.yml
OPS_STATE=$REPO/tests/integration/inventories/.haprov/lab-ops
OPS_STORE=$REPO/tests/integration/inventories/.haprov/lab-ops.secrets
OPS_KEY=$LAB_STATE/ops_ed25519
BG=""
trap '[ -n "$BG" ] && kill -9 "$BG" 2>/dev/null; t_cleanup' EXIT

# ---- bare hosts, and the ops user on each ------------------------------------
t=$(lab_now)
lab_reset
rc=$?
check_eq "the lab is reset to bare hosts ($(lab_elapsed "$t")s)" 0 "$rc"
bare=0
for h in $LAB_HOSTS; do
	lab_ssh "$h" 'dpkg -s postgresql-15 etcd-server haproxy' >/dev/null 2>&1 || bare=$((bare + 1))
done
check_eq "no cluster package is installed on any host" 3 "$bare"

rm -rf "$OPS_STATE" "$OPS_STORE" "$OPS_STATE.lock" "$OPS_KEY" "$OPS_KEY.pub"
ssh-keygen -q -t ed25519 -N '' -C haprov-lab-ops -f "$OPS_KEY"
# sudo from the image's apt cache (offline), a user with its own key, and
# passwordless sudo for it; done as root, before haprov
add_ops() {
	lab_ssh "$1" 'set -e
		export DEBIAN_FRONTEND=noninteractive
		command -v sudo >/dev/null ||
			apt-get install -y -q --no-install-recommends sudo >/root/sudo-install.log 2>&1
		id ops >/dev/null 2>&1 || useradd -m -s /bin/bash ops
		install -d -m 700 -o ops -g ops /home/ops/.ssh
		install -m 600 -o ops -g ops /dev/stdin /home/ops/.ssh/authorized_keys
		echo "ops ALL=(ALL:ALL) NOPASSWD: ALL" >/etc/sudoers.d/ops.new
		chmod 0440 /etc/sudoers.d/ops.new
		visudo -cqf /etc/sudoers.d/ops.new
		mv /etc/sudoers.d/ops.new /etc/sudoers.d/ops' <"$OPS_KEY.pub"
}
for h in $LAB_HOSTS; do add_ops "$h" >"$T_TMP/ops-$h.log" 2>&1 & done
wait
# ops_ssh HOST CMD: as ops, with its own key
ops_ssh() {
	local h=$1
	shift
	ssh -F /dev/null -i "$OPS_KEY" -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$LAB_KNOWN_HOSTS" -o BatchMode=yes \
		-o LogLevel=ERROR -o ConnectTimeout=5 "ops@$(lab_ip "$h")" "$@"
}
for h in $LAB_HOSTS; do
	# shellcheck disable=SC2016 # expanded on the host
	check_eq "$h: ops logs in with its key, is not root, has passwordless sudo" "ops 0" \
		"$(ops_ssh "$h" 'echo "$(id -un) $(sudo -n id -u)"' 2>&1 | tail -n 1)"
done

# ---- a fresh apply as ops, killed during the PostgreSQL packages -------------
# pg_install_everywhere: apt-get is installing postgresql-15 on every host
# (in the first packages step, which installs every phase's packages at
# once: phases/pkg_ahead.c)
pg_install_everywhere() {
	local h n=0
	for h in $LAB_HOSTS; do
		# shellcheck disable=SC2016 # expanded on the host
		lab_ssh "$h" 'for p in $(pgrep -x apt-get); do tr "\0" " " <"/proc/$p/cmdline"; echo; done' |
			grep -q 'install.*postgresql-15' && n=$((n + 1))
	done
	[ "$n" = 3 ]
}
install_or_exit() { pg_install_everywhere || ! kill -0 "$BG" 2>/dev/null; }
t=$(lab_now)
"$HAPROV" apply "$OPS_INV" >"$T_TMP/apply1.log" 2>&1 &
BG=$!
wait_for 240 install_or_exit
# let dpkg get going (unpacking), then kill haprov mid-install
sleep 2
killed=0
if kill -0 "$BG" 2>/dev/null && pg_install_everywhere; then
	kill -9 "$BG"
	killed=1
fi
wait "$BG" 2>/dev/null
BG=""
echo "fresh apply as ops: killed -9 after $(lab_elapsed "$t")s; its last lines:"
tail -n 4 "$T_TMP/apply1.log"
check_eq "haprov was killed while apt-get installed postgresql-15 on every host" 1 "$killed"
still=""
for h in $LAB_HOSTS; do
	[ -n "$(remote_pkg_procs "$h")" ] && still="$still $h"
done
echo "apt-get/dpkg still running after the kill on:${still:- no host}"

t=$(lab_now)
run_haprov "$T_TMP/apply2.log" apply "$OPS_INV"
rc=$?
took=$(lab_elapsed "$t")
echo "immediate re-run as ops: exit $rc in ${took}s"
grep -iE 'packages|wait|lock|dpkg|failed|rolled|done' "$T_TMP/apply2.log" | head -n 20
check_eq "the immediate re-run exits 0 (it waits for the package manager)" 0 "$rc"
if [ -n "$still" ]; then
	check "the re-run says it waits for the other package manager run" \
		grep -qiE 'waiting for (another|the other) package manager' "$T_TMP/apply2.log"
fi
if [ "$rc" != 0 ]; then
	# to test the rest, let the orphaned apt-get finish and converge
	for h in $LAB_HOSTS; do
		wait_for 300 no_pkg_procs "$h"
	done
	run_haprov "$T_TMP/apply3.log" apply "$OPS_INV"
	rc=$?
	tail -n 3 "$T_TMP/apply3.log"
	echo "(not part of the checks: a re-run after apt-get finished: exit $rc)"
fi

# ---- a healthy cluster, written to as dba --------------------------------------
# this cluster's CA and haprov's client certificate are in its own store
STORE=$OPS_STORE
lab_tls_refresh
"$HAPROV" status "$OPS_INV" >"$T_TMP/status.out" 2>&1
rc=$?
cat "$T_TMP/status.out"
check_eq "haprov status exits 0" 0 "$rc"
check_eq "one leader, three members running, no pending restart" "1 3 0" "$(cluster_shape)"
LAB_PGUSER=dba
check_eq "dba is the superuser, through HAProxy :5000 (the primary)" "dba|t|f" \
	"$(psql_lab 5000 "select current_user, rolsuper, pg_is_in_recovery() from pg_roles where rolname = current_user" 2>&1)"
val="ops-$(date +%s%N)"
psql_lab 5000 "create table if not exists haprov_probe (id serial primary key, v text); insert into haprov_probe (v) values ('$val')" >/dev/null 2>&1
check_eq "the leader accepts a write as dba" "$val" \
	"$(psql_lab 5000 "select v from haprov_probe where v = '$val'" 2>&1)"
owned=$(for h in $LAB_HOSTS; do lab_ssh "$h" 'find /etc /var/lib/haprov /var/lib/postgresql /var/lib/etcd -xdev -user ops 2>/dev/null'; done)
check_eq "nothing haprov wrote is owned by ops" "" "$owned"
ops_stat=$(managed_stat "$OPS_INV")

# ---- a staged change that needs restarts, as ops -------------------------------
inv=$(inv_copy "$OPS_INV" ops150 "$OPS_STATE" "$OPS_STORE" \
	"s/^    retry_timeout: 10.*/    retry_timeout: 10\n    parameters:\n      max_connections: 150/" \
	"s/^validation:$/validation:\n  soak_s: 10/") # one Patroni loop: the soak is not under test
t=$(lab_now)
"$HAPROV" apply "$inv" --json >"$T_TMP/staged.json" 2>"$T_TMP/staged.log"
rc=$?
echo "staged max_connections 100 -> 150 as ops: exit $rc in $(lab_elapsed "$t")s"
grep -E "dcs config|restart|switchover|soak|failed|rolled|psql|role" "$T_TMP/staged.log" | head -n 20
check_eq "the staged change as ops exits 0" 0 "$rc"
mc=""
for h in $LAB_HOSTS; do
	mc="$mc$h=$(psql_lab 5432 'show max_connections' "$h" 2>&1) "
done
check_eq "max_connections is 150 on every member (asked as dba)" "pg1=150 pg2=150 pg3=150 " "$mc"
check_eq "haprov restarted two members and switched over once" "2 1" \
	"$(jq '[.results[] | select(.step == "restart postgresql" and .status == "changed")] | length' "$T_TMP/staged.json") $(jq '[.results[] | select(.step == "switchover" and .status == "changed")] | length' "$T_TMP/staged.json")"
check_eq "one leader, three members running, no pending restart" "1 3 0" "$(cluster_shape)"
STORE=$REPO/inventories/.haprov/lab.secrets
lab_tls_refresh
# shellcheck disable=SC2034 # read by lib.sh's psql_lab and writer
LAB_PGUSER=postgres

# ---- the root baseline: inventories/lab.yml applied as root on bare hosts ------
# 20-apply-fresh's cluster (its snapshot, or a root apply on bare hosts)
lab_fresh_again "$T_TMP/root.log"
check_eq "the lab is 20-apply-fresh's cluster again: inventories/lab.yml applied as root on bare hosts" 0 "$?"
root_stat=$(managed_stat "$INV")
n=$(grep -c . <<<"$root_stat")
missing=$(grep -c ' missing$' <<<"$root_stat")
if [ "$root_stat" = "$ops_stat" ] && [ "$missing" = 0 ] && [ "$n" -ge 45 ]; then
	ok "as ops, the $n managed paths on the hosts have the owner, group and mode of a root apply"
else
	not_ok "as ops, the $n managed paths ($missing missing) have the owner, group and mode of a root apply; root < > ops:"
	diff <(echo "$root_stat") <(echo "$ops_stat") | sed 's/^/    /'
fi
echo "40-nonroot-dba: total $(lab_elapsed "$T0")s"
finish
