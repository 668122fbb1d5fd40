# shellcheck shell=bash
# Shared by the integration tests: counters, the lab's addresses and keys,
# strict ssh to the lab hosts, and haprov itself. Each test prints one
# "ok - ..." or "not ok - ..." line per check and ends with
# "N passed, N failed".
set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 1
# shellcheck source=../lab/lab.env
. "$REPO/tests/lab/lab.env"
# HAPROV=path runs the tests with another build of haprov
HAPROV=${HAPROV:-$REPO/haprov}
INV=$REPO/inventories/lab.yml
STATE=$REPO/inventories/.haprov/lab
STORE=$REPO/inventories/.haprov/lab.secrets
# the PostgreSQL role psql_lab and the writer log in as, with the password
# $STORE/superuser: a test of another superuser sets both
LAB_PGUSER=postgres
# ... and the store's secret holding its password; the writer's database
LAB_PGSECRET=superuser
LAB_PGDB=postgres
T_PASS=0
T_FAIL=0
T_TMP=$(mktemp -d)
# LAB_TLS_DIR: the cluster CA and haprov's client certificate and key,
# extracted from the store by lab_tls_files (removed on exit)
# (in $T_TMP, fixed when the test starts: a $(...) subshell that extracts
# them writes where the test's exit removes them)
LAB_TLS_DIR=$T_TMP/tls
# t_cleanup: what every test removes at its exit (a test that sets its own
# EXIT trap calls it there): its scratch directory, with the TLS files in
# it, whose client key is a secret
t_cleanup() {
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

ok() {
	T_PASS=$((T_PASS + 1))
	echo "ok - $*"
}

not_ok() {
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $*"
}

# check "what" CMD...: ok when CMD succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# check_eq "what" EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1 ($3)"
	else
		not_ok "$1: expected '$2', got '$3'"
	fi
}

finish() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# lab_ssh HOST CMD: as root on a lab host, host key checked strictly
lab_ssh() {
	local h=$1
	shift
	ssh -i "$LAB_KEY_FILE" -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$LAB_KNOWN_HOSTS" -o BatchMode=yes \
		-o LogLevel=ERROR -o ConnectTimeout=5 "root@$(lab_ip "$h")" "$@"
}

# run_haprov LOG ARGS...: run haprov, output to LOG, return its exit code
run_haprov() {
	local log=$1
	shift
	"$HAPROV" "$@" >"$log" 2>&1
}

# the superuser password from the secret store, for psql (in the
# environment, never in argv)
pg_password() {
	tr -d '\n' <"$STORE/${LAB_PGSECRET:-superuser}"
}

# psql_lab PORT SQL [HOST]: through HAProxy on HOST (default pg1)
psql_lab() {
	local port=$1 sql=$2 h=${3:-pg1}
	PGPASSWORD=$(pg_password) PGCONNECT_TIMEOUT=5 psql -X -q -At \
		-h "$(lab_ip "$h")" -p "$port" -U "$LAB_PGUSER" -d postgres -c "$sql"
}

# main PIDs of the managed services and the postmaster on each host
service_pids() {
	local h
	for h in $LAB_HOSTS; do
		printf '%s ' "$h"
		lab_ssh "$h" 'for s in etcd patroni haproxy; do printf "%s=%s " $s $(systemctl show -p MainPID --value $s); done; printf "postmaster=%s\n" "$(head -1 /var/lib/postgresql/15/main/postmaster.pid 2>/dev/null)"'
	done
}

state_head() {
	git -C "$STATE" rev-parse HEAD 2>/dev/null || echo none
}

# inv_variant NAME [SED-EXPR...]: a copy of the lab inventory in $T_TMP,
# with absolute paths and the lab's own state repository and secret store
# (so it is the same cluster), changed by the sed expressions
inv_variant() {
	local out=$T_TMP/$1.yml e
	shift
	sed -e "s|identity_file: .*|identity_file: $LAB_KEY_FILE|" \
		-e "s|known_hosts: .*|known_hosts: $LAB_KNOWN_HOSTS|" \
		-e "s|^  name: lab.*|  name: lab\n  state_dir: $STATE|" \
		-e "s|^secrets:.*|secrets:\n  store: $STORE|" \
		"$INV" >"$out"
	for e in "$@"; do sed -i -e "$e" "$out"; done
	echo "$out"
}

# writer_start: a steady write load through HAProxy (pg1:5000)
writer_start() {
	WRITER_STATE=$T_TMP/writer.json
	WRITER_STOP=$T_TMP/writer.stop
	rm -f "$WRITER_STATE" "$WRITER_STOP"
	PGPASSWORD=$(pg_password) PGUSER=$LAB_PGUSER PGDATABASE=$LAB_PGDB /usr/bin/python3 "$REPO/tests/integration/writer.py" \
		run "$(lab_ip pg1)" 5000 "$WRITER_STATE" "$WRITER_STOP" &
	WRITER_PID=$!
	sleep 1
}

# writer_stop_check: stop it; ok when every acknowledged row is there
writer_stop_check() {
	touch "$WRITER_STOP"
	wait "$WRITER_PID"
	local out
	out=$(PGPASSWORD=$(pg_password) PGUSER=$LAB_PGUSER PGDATABASE=$LAB_PGDB /usr/bin/python3 "$REPO/tests/integration/writer.py" \
		check "$(lab_ip pg1)" 5000 "$WRITER_STATE")
	local rc=$?
	echo "$out"
	WRITER_GAP=$(jq .max_gap_s "$WRITER_STATE")
	check_eq "no acknowledged row lost under the write load" 0 "$rc"
}

# per member: name=postmaster start time
postmaster_starts() {
	local h
	for h in $LAB_HOSTS; do
		printf '%s=%s\n' "$h" "$(lab_ssh "$h" "cd / && runuser -u postgres -- psql -XAtc 'select pg_postmaster_start_time()'")"
	done
}

# ---- TLS (issue 9): every channel is https when the inventory has TLS on ----

# lab_tls_on: TLS is on in the lab inventory: it is the default, off only
# with `tls: false` or `tls: {enabled: false}`
lab_tls_on() {
	! grep -Eq '^tls:[[:space:]]*(false|\{[[:space:]]*enabled:[[:space:]]*false)' "$INV"
}

# lab_scheme: https when TLS is on, else http
lab_scheme() {
	if lab_tls_on; then echo https; else echo http; fi
}

# lab_url HOST PORT PATH: the URL of a service on a lab host
lab_url() {
	echo "$(lab_scheme)://$(lab_ip "$1"):$2$3"
}

# store_pem NAME KIND: a store value (one-line base64 DER, provisioner/tls.h)
# as PEM on stdout; KIND x509 or pkey
store_pem() {
	tr -d '\n' <"$STORE/$1" | base64 -d | openssl "$2" -inform DER
}

# lab_tls_files: the cluster CA (ca.crt) and haprov's client certificate
# and key (client.crt, client.key) from the secret store, once per test
# (after the apply that made them), into LAB_TLS_DIR, a 0700 directory in
# the test's scratch directory. Removed when the test exits.
lab_tls_files() {
	local d=$LAB_TLS_DIR n=$BASHPID
	[ -s "$d/client.key" ] && return 0
	# each file written aside and renamed, the key last: a test's
	# background subshell may extract them at the same time
	mkdir -p "$d" && chmod 700 "$d" &&
		store_pem tls-ca-cert x509 >"$d/ca.crt.$n" &&
		store_pem tls-client-cert x509 >"$d/client.crt.$n" &&
		(umask 077 && store_pem tls-client-key pkey >"$d/client.key.$n") &&
		mv -f "$d/ca.crt.$n" "$d/ca.crt" && mv -f "$d/client.crt.$n" "$d/client.crt" &&
		mv -f "$d/client.key.$n" "$d/client.key" ||
		{ rm -f "$d"/*."$n"; return 1; }
}

# lab_tls_refresh: extract again (after an apply that renewed haprov's
# certificate)
lab_tls_refresh() {
	rm -f "$LAB_TLS_DIR"/*
	lab_tls_files
}

# lab_curl CURL-ARGS...: curl trusting only the cluster CA, presenting
# haprov's client certificate, when TLS is on (plain curl otherwise); build
# the URL with lab_url
lab_curl() {
	if lab_tls_on; then
		lab_tls_files || return 1
		curl --cacert "$LAB_TLS_DIR/ca.crt" --cert "$LAB_TLS_DIR/client.crt" \
			--key "$LAB_TLS_DIR/client.key" "$@"
	else
		curl "$@"
	fi
}

# lab_etcdctl HOST ARGS...: etcdctl (v3) on HOST against the three members,
# with HOST's own /etc/etcd/tls files when TLS is on
lab_etcdctl() {
	local h=$1 x eps="" tls=""
	shift
	for x in $LAB_HOSTS; do eps="$eps,$(lab_url "$x" 2379 "")"; done
	lab_tls_on && tls="--cacert=/etc/etcd/tls/ca.crt --cert=/etc/etcd/tls/etcd.crt --key=/etc/etcd/tls/etcd.key"
	# shellcheck disable=SC2029 # expanded here on purpose
	lab_ssh "$h" "ETCDCTL_API=3 etcdctl --endpoints=${eps#,} $tls $(printf '%q ' "$@")"
}

# "leader timeline" from Patroni
leader_tl() {
	lab_curl -s "$(lab_url pg1 8008 /cluster)" |
		jq -r '.members[] | select(.role == "leader") | "\(.name) \(.timeline)"'
}

# the value of a setting on every member, one line each
show_all() {
	local h
	for h in $LAB_HOSTS; do
		printf '%s=%s\n' "$h" "$(lab_ssh "$h" "cd / && runuser -u postgres -- psql -XAtc 'show $1'")"
	done
}

# member_config HOST KEY: a key of that member's GET /config
member_config() {
	lab_curl -s "$(lab_url "$1" 8008 /config)" | jq -r ".$2"
}

# restore the lab inventory's settings (a staged change back)
restore_lab() {
	run_haprov "$T_TMP/restore.log" apply "$INV"
	local rc=$?
	[ $rc -eq 0 ] || tail -n 15 "$T_TMP/restore.log"
	check_eq "apply of the lab inventory restores its settings" 0 "$rc"
}

# ---- for the tests that reset the lab, act as another user, or kill haprov ----

# lab_reset: bare hosts again (lab-down, then lab-up from the clean image:
# new host keys, written to known_hosts by lab-up). A few seconds: the
# hosts' disks are thrown away, so they are killed, not powered off.
lab_reset() {
	LAB_DOWN_KILL=1 bash "$LAB_DIR/lab-down.sh" >"$T_TMP/lab-down.log" 2>&1 &&
		bash "$LAB_DIR/lab-up.sh" >"$T_TMP/lab-up.log" 2>&1
	local rc=$?
	[ $rc -eq 0 ] || tail -n 15 "$T_TMP/lab-down.log" "$T_TMP/lab-up.log"
	return $rc
}

# ---- snapshots: a cluster an earlier test built, back in seconds --------------
# lab_save NAME [INVENTORY]: the lab as it is now kept as snapshot NAME:
# the hosts (tests/lab/lab-snapshot.sh: a clean poweroff, then booted again
# from it) and haprov's state repository and secret store of the lab
# inventory. Waits until the cluster serves again (lab_wait_serving, with
# INVENTORY: the lab inventory by default).
lab_save() {
	local d=$LAB_STATE/snapshots/$1
	bash "$LAB_DIR/lab-snapshot.sh" save "$1" >"$T_TMP/snapshot.log" 2>&1 ||
		{ tail -n 15 "$T_TMP/snapshot.log"; return 1; }
	rm -rf "$d/haprov"
	mkdir -p "$d/haprov"
	cp -a "$STATE" "$d/haprov/state" && cp -a "$STORE" "$d/haprov/store" ||
		{ rm -rf "$d/haprov"; return 1; }
	lab_wait_serving "${2:-$INV}" && lab_etcd_leader_away "${2:-$INV}"
}

# lab_has_snapshot NAME: lab_save NAME was done (in this make check: it
# drops every snapshot before the lab comes up and after it goes down)
lab_has_snapshot() {
	[ -d "$LAB_STATE/snapshots/$1/haprov/store" ]
}

# lab_restore NAME [INVENTORY]: every host down, the hosts booted from
# snapshot NAME, the state repository and secret store as they were saved;
# then waits until the cluster serves (lab_wait_serving INVENTORY)
lab_restore() {
	local d=$LAB_STATE/snapshots/$1
	lab_has_snapshot "$1" || { echo "# no snapshot $1"; return 1; }
	bash "$LAB_DIR/lab-snapshot.sh" restore "$1" >"$T_TMP/snapshot.log" 2>&1 ||
		{ tail -n 15 "$T_TMP/snapshot.log"; return 1; }
	rm -rf "$STATE" "$STORE" "$STATE.lock"
	cp -a "$d/haprov/state" "$STATE" && cp -a "$d/haprov/store" "$STORE" || return 1
	rm -f "$LAB_TLS_DIR"/*
	lab_wait_serving "${2:-$INV}" && lab_etcd_leader_away "${2:-$INV}"
}

# lab_etcd_leader_away INVENTORY: after a cold boot etcd elects its leader
# anew, and it may land on Patroni's leader's host, which haprov's apply
# moves away (a change a no-op apply would then report): haprov apply
# --phase etcd does that move, and nothing else on a converged cluster
lab_etcd_leader_away() {
	"$HAPROV" apply "$1" --phase etcd >"$T_TMP/leader-away.log" 2>&1 ||
		{ tail -n 15 "$T_TMP/leader-away.log"; return 1; }
}

# lab_serving INVENTORY: one leader and every member running with no
# restart pending (Patroni), haprov status healthy for INVENTORY, and for
# the lab inventory a query as postgres through HAProxy's primary port (a
# topology's goes through PgBouncer: its status says that it answers)
lab_serving() {
	[ "$(cluster_shape)" = "1 $(wc -w <<<"$LAB_HOSTS") 0" ] &&
		{ [ "$1" != "$INV" ] || psql_lab 5000 'select 1' >/dev/null 2>&1; } &&
		"$HAPROV" status "$1" >/dev/null 2>&1
}

# lab_wait_serving INVENTORY: lab_serving within 180 s (a cluster booted
# from cold: etcd's quorum, then Patroni's leader race, then the replicas)
lab_wait_serving() {
	wait_for 180 lab_serving "$1" || { echo "# not serving: $(cluster_shape)"; return 1; }
}

# lab_fresh_again LOG: the cluster 20-apply-fresh leaves (inventories/lab.yml
# applied on bare hosts, as root): its snapshot 'fresh' restored, or, when
# there is none (a test run on its own), bare hosts and a fresh apply with
# its output in LOG. Says which, with the time; 0 when the cluster serves.
lab_fresh_again() {
	local t rc
	t=$(lab_now)
	if lab_has_snapshot fresh; then
		lab_restore fresh
		rc=$?
		echo "# the lab is back to 20-apply-fresh's cluster (snapshot): $(lab_elapsed "$t")s"
		return $rc
	fi
	lab_reset || return 1
	rm -rf "$STATE" "$STORE" "$STATE.lock"
	run_haprov "$1" apply "$INV"
	rc=$?
	[ $rc = 0 ] || tail -n 15 "$1"
	echo "# no snapshot 'fresh': bare hosts and a fresh apply of the lab inventory: exit $rc in $(lab_elapsed "$t")s"
	return $rc
}

# inv_copy BASE NAME STATE_DIR STORE [SED-EXPR...]: like inv_variant, for
# another inventory BASE: a copy in $T_TMP with absolute ssh paths (the
# identity file and known_hosts of BASE, resolved from BASE's directory),
# BASE's state repository and secret store pinned (the same cluster),
# changed by the sed expressions. Prints the copy's path.
inv_copy() {
	local base=$1 out=$T_TMP/$2.yml dir key e
	local state=$3 store=$4
	shift 4
	dir=$(cd "$(dirname "$base")" && pwd)
	key=$(sed -n 's/^  identity_file: *//p' "$base")
	case $key in /*) ;; *) key=$dir/$key ;; esac
	sed -e "s|identity_file: .*|identity_file: $key|" \
		-e "s|known_hosts: .*|known_hosts: $LAB_KNOWN_HOSTS|" \
		-e "s|^\(  name: [a-z0-9-]*\).*|\1\n  state_dir: $state|" \
		-e "s|^secrets:.*|secrets:\n  store: $store|" \
		"$base" >"$out"
	for e in "$@"; do sed -i -e "$e" "$out"; done
	echo "$out"
}

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds (0) or
# SECONDS pass (1)
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# managed_paths INV: "LABEL PATH" for every file and directory haprov
# manages on the hosts for INV: the files it renders (haprov validate
# --render, so a new managed file is covered without a change here) and
# their directories, the data directories (labelled by their inventory key:
# etcd's is named after the cluster) and haprov's own directory.
managed_paths() {
	local inv=$1 r=$T_TMP/render.$$ f
	rm -rf "$r"
	"$HAPROV" validate "$inv" --render "$r" >/dev/null || return 1
	(cd "$r" && find . -type f) | sed 's|^\./[^/]*||' | sort -u | while read -r f; do
		echo "$f $f"
		echo "$(dirname "$f") $(dirname "$f")"
	done | sort -u
	"$HAPROV" validate "$inv" --print | awk '
		/^[a-z]/ { sec = $1; sub(":", "", sec) }
		/^  data_dir: \// { print sec ".data_dir", $2
			d = $2; sub("/[^/]*$", "", d); print sec ".data_dir/..", d }'
	echo "/var/lib/haprov /var/lib/haprov"
	echo "/var/lib/haprov/backups /var/lib/haprov/backups"
	rm -rf "$r"
}

# managed_stat INV: owner, group and mode of every path of managed_paths
# INV on every host, one "HOST LABEL OWNER GROUP MODE" (or "HOST LABEL
# missing") a line
managed_stat() {
	local h paths
	paths=$(managed_paths "$1") || return 1
	for h in $LAB_HOSTS; do
		# shellcheck disable=SC2016 # expanded on the host
		lab_ssh "$h" 'while read -r l p; do
			printf "%s %s\n" "$l" "$(stat -c "%U %G %a" "$p" 2>/dev/null || echo missing)"
		done' <<<"$paths" | sed "s/^/$h /"
	done
}

# remote_pkg_procs HOST: the apt-get/dpkg processes running on HOST, one
# "PID NAME" a line (empty when none)
remote_pkg_procs() {
	# shellcheck disable=SC2016 # awk's $2, on the host
	lab_ssh "$1" "ps -e -o pid=,comm= | awk '\$2 ~ /^(apt-get|apt|dpkg)\$/'"
}

# no_pkg_procs HOST: no apt-get/dpkg runs on HOST
no_pkg_procs() {
	[ -z "$(remote_pkg_procs "$1")" ]
}

# cluster_shape: "LEADERS RUNNING PENDING" from Patroni's GET /cluster
# (asked of pg1, then the others)
cluster_shape() {
	local h out
	for h in $LAB_HOSTS; do
		out=$(lab_curl -s -m 3 "$(lab_url "$h" 8008 /cluster)") || continue
		jq -r '"\([.members[] | select(.role == "leader")] | length) \([.members[] | select(.state == "running" or .state == "streaming")] | length) \([.members[] | select(.pending_restart == true)] | length)"' <<<"$out" 2>/dev/null && return 0
	done
	echo "none"
}

# ---- the reference topology (55-pgbouncer, 57-remove-front) ------------------
# The virtual IP the topology's keepalived holds.
LAB_VIP=$LAB_NET.100
# topo_variant NAME [POOL_SIZE]: the lab inventory with roles pgbouncer and
# vip on every host, the VIP on host0, PgBouncer's pool size (default 20)
topo_variant() {
	local v
	v=$(inv_variant "$1" \
		's/roles: \[etcd, patroni, haproxy\]/roles: [etcd, patroni, haproxy, pgbouncer, vip]/')
	cat >>"$v" <<EOF

vip:
  address: $LAB_VIP/24
  interface: host0
  router_id: 51

pgbouncer:
  default_pool_size: ${2:-20}
EOF
	echo "$v"
}
app_pw() { cat "$STORE/role-app"; }
# via_vip SQL: through the VIP's primary port as the application role
via_vip() {
	PGPASSWORD=$(app_pw) PGCONNECT_TIMEOUT=5 psql -X -q -At -h "$LAB_VIP" \
		-p 5000 -U app -d appdb -c "$1" 2>&1
}
# vip_holders: the lab hosts that hold the VIP, space-separated
vip_holders() {
	local h
	for h in $LAB_HOSTS; do
		lab_ssh "$h" "ip -4 -o addr show dev host0" 2>/dev/null |
			grep -q " $LAB_VIP/" && printf '%s ' "$h"
	done
}

# backend_servers HOST: the servers of HAProxy's replicas backend on HOST
# (its stats CSV, with the store's stats password), sorted, each followed
# by a space
backend_servers() {
	printf 'user = "haprov:%s"\n' "$(tr -d '\n' <"$STORE/haproxy_stats")" |
		lab_curl -s -m 5 -K - "$(lab_url "$1" 8404 '/stats;csv')" |
		awk -F, '$1 == "replicas" && $2 != "FRONTEND" && $2 != "BACKEND" { print $2 }' | sort | tr '\n' ' '
}

# fresh_topology INVENTORY: bare hosts (lab_reset), a new state and store,
# then a fresh apply of INVENTORY into $T_TMP/apply.log, each checked
fresh_topology() {
	local t rc
	t=$(lab_now)
	lab_reset
	rc=$?
	check_eq "the lab is reset to bare hosts ($(lab_elapsed "$t")s)" 0 "$rc"
	rm -rf "$STATE" "$STORE" "$STATE.lock"
	t=$(lab_now)
	run_haprov "$T_TMP/apply.log" apply "$1"
	rc=$?
	echo "fresh apply with pgbouncer and vip: exit $rc in $(lab_elapsed "$t")s"
	[ "$rc" = 0 ] || tail -n 20 "$T_TMP/apply.log"
	check_eq "a fresh apply with roles pgbouncer and vip exits 0" 0 "$rc"
}
