#!/usr/bin/env bash
# Boot a lab host that host-crash.sh crashed, from its own state, and wait
# until its sshd answers and systemd has finished booting (at most 90 s).
# Usage: host-boot.sh HOST (drill.boot_command in inventories/lab.yml).
# A host that is not crashed is left alone (exit 0).
set -euo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"

[ $# = 1 ] || lab_die "usage: host-boot.sh HOST"
h=$1
ip4=$(lab_ip "$h") || lab_die "unknown lab host '$h' (hosts: $LAB_ALL_HOSTS)"
d=$LAB_STATE/hosts/$h
lab_wrapper_pid "$h" >/dev/null || lab_die "$h: its wrapper is gone: start the lab again (make lab-up)"
if [ ! -e "$d/crashed" ]; then
	echo "lab: $h: not crashed, left alone"
	exit 0
fi
rm -f "$d/crashed"
t0=$(lab_now)
for _ in $(seq 1 180); do
	state=$(ssh "${LAB_SSH_OPTS[@]}" -o ConnectTimeout=2 "root@$ip4" \
		systemctl is-system-running --wait 2>/dev/null) || true
	case $state in
	running | degraded)
		echo "lab: $h: booted in $(lab_elapsed "$t0")s ($state)"
		exit 0
		;;
	esac
	sleep 0.5
done
lab_die "$h: not up 90 s after its boot"
