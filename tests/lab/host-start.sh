#!/usr/bin/env bash
# Start a spare lab host (LAB_SPARE_HOSTS in lab.env) in a lab that is up
# (make lab-up), as lab-up.sh boots its hosts (host.sh): from the clean image
# (FRESH=0 keeps its state of the run before, as with lab-up), with a blank
# WAL disk, the operator key, its host keys added to state/known_hosts (the
# other lines are left as they are). Waits until ssh works and systemd says
# `running`, then prints one line with the time it took.
#   Usage: host-start.sh HOST
# A host that runs already is left as it is (exit 0). Leftovers of a run of
# HOST that did not end with host-stop.sh or lab-down.sh are cleaned first.
# Stop it with host-stop.sh HOST (lab-down.sh stops it too).
set -euo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"
# shellcheck source=host.sh
. "$LAB_DIR/host.sh"

[ $# = 1 ] || lab_die "usage: host-start.sh HOST   (spare hosts: $LAB_SPARE_HOSTS)"
h=$1
lab_is_spare "$h" || lab_die "'$h' is not a spare lab host (LAB_SPARE_HOSTS: $LAB_SPARE_HOSTS); lab-up.sh starts $LAB_HOSTS"
[ "$(id -u)" = 0 ] || lab_die "host-start.sh must run as root (mounts, containers)"
FRESH=${FRESH:-1}
case $FRESH in 0 | 1) ;; *) lab_die "FRESH must be 0 or 1, not '$FRESH'" ;; esac
ip4=$(lab_ip "$h")
t0=$(lab_now)

if pid=$(lab_wrapper_pid "$h"); then
	echo "lab: $h: already running (pid $pid), left as it is"
	exit 0
fi

known="" booted=0
on_exit() {
	local rc=$?
	[ -z "$known" ] || rm -f "$known"
	[ "$rc" = 0 ] && return
	[ "$booted" = 1 ] || return 0
	echo "lab: host-start $h failed (exit $rc). Console: $LAB_STATE/hosts/$h/console.log;" \
		"clean up with: tests/lab/host-stop.sh $h" >&2
}
trap on_exit EXIT

lab_check_foreign "$h"
if lab_leftovers "$h"; then
	echo "lab: $h: cleaning up after a run that did not end with host-stop or lab-down"
	bash "$LAB_DIR/lab-down.sh" "$h"
fi
ip link show "$LAB_BR" >/dev/null 2>&1 ||
	lab_die "the lab is not up (no bridge $LAB_BR): make lab-up first"
[ -f "$LAB_IMAGE/built" ] ||
	lab_die "image $LAB_IMAGE_KEY is not built: the image recipe changed since lab-up? make lab-down && make lab-up"
# One image for the whole lab: not a spare host on a newer image than the rest.
for o in $LAB_HOSTS; do
	lab_wrapper_pid "$o" >/dev/null || continue
	k=$(cat "$LAB_STATE/hosts/$o/image-key" 2>/dev/null) || k=unknown
	[ "$k" = "$LAB_IMAGE_KEY" ] ||
		lab_die "$o runs image $k, lab.env's is $LAB_IMAGE_KEY: make lab-down && make lab-up"
done

lab_image_hold
booted=1
lab_boot_host "$h"
lab_image_release

known=$(mktemp "$LAB_KNOWN_HOSTS.XXXXXX")
lab_host_known "$h" >"$known"
lab_known_set "$h" "$known"
rm -f "$known"
known=""

out=$(lab_wait_host "$h" 2>&1) || {
	echo "$out" >&2
	exit 1
}
echo "lab: $h: started $ip4 in $(lab_elapsed "$t0")s, until ssh works and systemd says running" \
	"(wrapper pid $LAB_BOOT_PID, WAL disk $LAB_BOOT_LOOP as $LAB_WAL_DEVICE)"
