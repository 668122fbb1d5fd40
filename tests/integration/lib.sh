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
HAPROV=$REPO/haprov
INV=$REPO/inventories/lab.yml
STATE=$REPO/inventories/.haprov/lab
STORE=$REPO/inventories/.haprov/lab.secrets
T_PASS=0
T_FAIL=0
T_TMP=$(mktemp -d)
trap 'rm -rf "$T_TMP"' EXIT

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
	tr -d '\n' <"$STORE/superuser"
}

# psql_lab PORT SQL [HOST]: through HAProxy on HOST (default pg1)
psql_lab() {
	local port=$1 sql=$2 h=${3:-pg1}
	PGPASSWORD=$(pg_password) PGCONNECT_TIMEOUT=5 psql -X -q -At \
		-h "$(lab_ip "$h")" -p "$port" -U postgres -d postgres -c "$sql"
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
	PGPASSWORD=$(pg_password) /usr/bin/python3 "$REPO/tests/integration/writer.py" \
		run "$(lab_ip pg1)" 5000 "$WRITER_STATE" "$WRITER_STOP" &
	WRITER_PID=$!
	sleep 1
}

# writer_stop_check: stop it; ok when every acknowledged row is there
writer_stop_check() {
	touch "$WRITER_STOP"
	wait "$WRITER_PID"
	local out
	out=$(PGPASSWORD=$(pg_password) /usr/bin/python3 "$REPO/tests/integration/writer.py" \
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

# "leader timeline" from Patroni
leader_tl() {
	curl -s "http://$(lab_ip pg1):8008/cluster" |
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
	curl -s "http://$(lab_ip "$1"):8008/config" | jq -r ".$2"
}

# restore the lab inventory's settings (a staged change back)
restore_lab() {
	run_haprov "$T_TMP/restore.log" apply "$INV"
	local rc=$?
	[ $rc -eq 0 ] || tail -n 15 "$T_TMP/restore.log"
	check_eq "apply of the lab inventory restores its settings" 0 "$rc"
}
