#!/usr/bin/env bash
# Crash a lab host: the whole container dies at once, as a host losing its
# power would (`haprov drill --kind crash`, drill.crash_command in
# inventories/lab.yml). Usage: host-crash.sh HOST.
#
# The container's init (PID 1 of its PID namespace) gets SIGKILL: the kernel
# then kills every process of the container in the same instant, nothing
# shuts down cleanly, no TCP connection is closed (its veth goes with it).
# The host stays down (its wrapper waits, see lab-up.sh) until
# host-boot.sh HOST; its disk state is kept. Only this lab's container for
# HOST is touched: the wrapper lab-up recorded, its systemd-nspawn child,
# and that one's child whose PID-namespace PID is 1.
set -euo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"

[ $# = 1 ] || lab_die "usage: host-crash.sh HOST"
h=$1
lab_ip "$h" >/dev/null || lab_die "unknown lab host '$h' (hosts: $LAB_ALL_HOSTS)"
d=$LAB_STATE/hosts/$h
wrapper=$(lab_wrapper_pid "$h") || lab_die "$h is not running"

# the systemd-nspawn child of the wrapper, booting $d/root; its child
# whose PID in its own namespace is 1 is the container's init
nspawn=""
for p in $(pgrep -P "$wrapper" || true); do
	lab_cmdline "$p" || continue
	[[ $REPLY == systemd-nspawn$'\037'*$'\037'--directory="$d/root"$'\037'* ]] && nspawn=$p
done
[ -n "$nspawn" ] || lab_die "$h: no systemd-nspawn under wrapper $wrapper (already down?)"
init=""
for p in $(pgrep -P "$nspawn" || true); do
	lab_ns_init "$p" && init=$p
done
[ -n "$init" ] || lab_die "$h: no container init under systemd-nspawn $nspawn"

touch "$d/crashed"
kill -KILL "$init"
# done when nspawn noticed: the container and its veth are gone
for _ in $(seq 1 100); do
	kill -0 "$nspawn" 2>/dev/null || { echo "lab: $h: crashed (init $init killed)"; exit 0; }
	sleep 0.05
done
lab_die "$h: systemd-nspawn $nspawn still runs 5 s after its container's init was killed"
