#!/usr/bin/env bash
# Stop a spare lab host that host-start.sh started and clean up after it, with
# lab-down.sh's own code for one host (a clean poweroff asked through the
# wrapper whose PID was recorded; its overlay unmounted, its WAL disk detached
# and removed, its cgroup and PID file removed), and remove its lines from
# state/known_hosts. The other hosts and the bridge are left as they are.
#   Usage: host-stop.sh HOST
# A host that does not run is cleaned up all the same (exit 0).
set -euo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"
# shellcheck source=host.sh
. "$LAB_DIR/host.sh"

[ $# = 1 ] || lab_die "usage: host-stop.sh HOST   (spare hosts: $LAB_SPARE_HOSTS)"
h=$1
lab_is_spare "$h" || lab_die "'$h' is not a spare lab host (LAB_SPARE_HOSTS: $LAB_SPARE_HOSTS); lab-down.sh stops $LAB_HOSTS"
[ "$(id -u)" = 0 ] || lab_die "host-stop.sh must run as root (mounts, containers)"
t0=$(lab_now)

was=""
if pid=$(lab_wrapper_pid "$h"); then was=" (wrapper pid $pid)"; fi
# lab-down's lines about the host (the rest is about the lab as a whole: its
# summary, the bridge kept for the other hosts), all of them when it failed.
rc=0
out=$(bash "$LAB_DIR/lab-down.sh" "$h" 2>&1) || rc=$?
if [ "$rc" != 0 ]; then
	echo "$out" >&2
	lab_die "$h: lab-down.sh $h failed (exit $rc)"
fi
grep -E "^lab: $h: " <<<"$out" | grep -vx "lab: $h: stopped" || true
[ ! -f "$LAB_KNOWN_HOSTS" ] || lab_known_set "$h"
if grep -qx "lab: $h: stopped" <<<"$out"; then
	echo "lab: $h: stopped$was in $(lab_elapsed "$t0")s"
else
	echo "lab: $h: not running"
fi
