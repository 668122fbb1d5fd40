#!/usr/bin/env bash
# The peer's figures on a lab that is up with bare hosts (a `make lab-up`
# right after a `make lab-down`): fresh deploy, a second run (changed=0
# expected), the health check, and the dcs change (5/20/5, then back to
# 10/30/10). Figures are printed, never asserted. Leaves the lab up.
# New passwords each time: .secrets/ belongs to the cluster, and the cluster
# is new.
set -u
cd "$(dirname "$0")" || exit 1
# SSH masters of this run only, closed at the end (ControlPersist would keep
# them a while otherwise)
cp_dir=$(mktemp -d)
export ANSIBLE_SSH_CONTROL_PATH_DIR=$cp_dir
close_masters() {
	local s
	for s in "$cp_dir"/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x 2>/dev/null; done
	rm -rf "$cp_dir"
}
trap close_masters EXIT
log=$(mktemp -d)

# run NAME CMD...: wall time in SECS, the PLAY RECAP's changed sum in CHANGED
run() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s%N)
	"$@" >"$log/$name.out" 2>&1
	rc=$?
	SECS=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	CHANGED=$(sed -n '/PLAY RECAP/,$p' "$log/$name.out" | grep -o 'changed=[0-9]*' | awk -F= '{ s += $2 } END { print s + 0 }')
	FAILED=$(sed -n '/PLAY RECAP/,$p' "$log/$name.out" | grep -Eo '(failed|unreachable)=[0-9]*' | awk -F= '{ s += $2 } END { print s + 0 }')
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$log/$name.out"
		echo "peer: $name failed (exit $rc)"
		exit 1
	fi
}

rm -rf .secrets
run fresh ansible-playbook site.yml
echo "peer: fresh deploy ${SECS} s (changed=$CHANGED, failed+unreachable=$FAILED)"
sed -n '/PLAY RECAP/,$p' "$log/fresh.out" | grep -E '^pg|^localhost'
bash health.sh || exit 1
for i in 1 2 3; do
	run "rerun$i" ansible-playbook site.yml
	echo "peer: re-run $i ${SECS} s (changed=$CHANGED)"
done
run dcs ansible-playbook dcs-change.yml
echo "peer: dcs-change 10/30/10 -> 5/20/5, every member's GET /config reporting it: ${SECS} s (changed=$CHANGED)"
run dcs-back ansible-playbook dcs-change.yml -e loop_wait=10 -e ttl=30 -e retry_timeout=10
echo "peer: dcs-change back to 10/30/10: ${SECS} s (changed=$CHANGED)"
run dcs-noop ansible-playbook dcs-change.yml -e loop_wait=10 -e ttl=30 -e retry_timeout=10
echo "peer: dcs-change again (no-op): ${SECS} s (changed=$CHANGED)"
bash health.sh || exit 1
echo "peer: logs in $log"
