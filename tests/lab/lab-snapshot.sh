#!/usr/bin/env bash
# Snapshots of the lab's hosts, so that a test which needs a cluster as an
# earlier test left it gets it back in seconds instead of building it again
# on bare hosts (a fresh apply takes one to two minutes here).
#
#   lab-snapshot.sh save NAME     the hosts of LAB_HOSTS, running, are powered
#                                 off cleanly, kept as snapshot NAME, and
#                                 booted again from it
#   lab-snapshot.sh restore NAME  every host down, then LAB_HOSTS booted from
#                                 snapshot NAME (lab-up.sh, LAB_SNAPSHOT=NAME)
#   lab-snapshot.sh drop          remove every snapshot (make lab-down)
#
# A snapshot is what a host's disks held at a clean poweroff: its overlay
# upper layer, moved aside (no copy) to become a read-only layer under the
# upper of each later boot, and its WAL disk, hard-linked while the host ran
# and so, once the host is down, as the host left it. A restore copies the
# disk and never writes the layer, so one snapshot restores any number of
# times. Spare hosts are not part of one: save refuses while one runs.
# Snapshots live in state/snapshots/ (host.sh), saved on one image: a new
# image (lab.env's key) makes them unusable, and restore says so.
#
# What haprov keeps on this machine (a state repository, a secret store) is
# not the lab's: the caller saves it with the snapshot (tests/integration/
# lib.sh's lab_save and lab_restore do).
set -euo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"
# shellcheck source=host.sh
. "$LAB_DIR/host.sh"

usage() { lab_die "usage: lab-snapshot.sh save NAME | restore NAME | drop"; }
[ "$(id -u)" = 0 ] || lab_die "lab-snapshot.sh must run as root (mounts, containers)"
[ $# -ge 1 ] || usage
cmd=$1
name=${2:-}
case $cmd in
save | restore)
	[ $# = 2 ] || usage
	[[ $name =~ ^[a-z0-9-]+$ ]] || lab_die "snapshot name '$name': use a-z, 0-9 and '-'"
	;;
drop) [ $# = 1 ] || usage ;;
*) usage ;;
esac
t0=$(lab_now)
dir=$LAB_SNAPSHOTS/$name

save() {
	local h d new=$dir.new
	for h in $LAB_HOSTS; do
		lab_wrapper_pid "$h" >/dev/null || lab_die "save: $h is not running"
	done
	for h in $LAB_SPARE_HOSTS; do
		! lab_wrapper_pid "$h" >/dev/null ||
			lab_die "save: spare host $h runs; a snapshot holds $LAB_HOSTS only (host-stop.sh $h)"
	done
	for h in $LAB_HOSTS; do
		[[ "$(cat "$LAB_STATE/hosts/$h/lower" 2>/dev/null)" != *"$dir/"* ]] ||
			lab_die "save: $h runs on snapshot $name; save it under another name"
	done
	rm -rf --one-file-system "$new"
	for h in $LAB_HOSTS; do
		d=$LAB_STATE/hosts/$h
		mkdir -p "$new/$h"
		# the same file: what the host writes until its poweroff is in it
		ln "$(lab_wal_image "$h")" "$new/$h/wal.img"
		[ ! -s "$d/lower" ] || cp "$d/lower" "$new/$h/lower"
	done
	bash "$LAB_DIR/lab-down.sh" >"$new/lab-down.log" 2>&1 ||
		{ cat "$new/lab-down.log" >&2; lab_die "save: lab-down failed"; }
	for h in $LAB_HOSTS; do
		d=$LAB_STATE/hosts/$h
		[ -d "$d/upper" ] || lab_die "save: $h has no upper layer"
		mv -T "$d/upper" "$new/$h/layer"
		rm -f "$d/lower"
	done
	echo "$LAB_IMAGE_KEY" >"$new/image-key"
	rm -f "$new/lab-down.log"
	# an older snapshot of that name: hosts booted on it are down now
	if [ -e "$dir" ]; then mv -T "$dir" "$LAB_STATE/trash.$$-snapshot-$name"; fi
	mv -T "$new" "$dir"
	echo "lab: snapshot $name saved ($(du -sh "$dir" | cut -f1)) in $(lab_elapsed "$t0")s"
}

# restore [down]: "down" when save just took every host down itself
restore() {
	local out rc=0
	# the hosts' disks are thrown away: killed, not powered off
	if [ "${1:-}" != down ]; then
		out=$(LAB_DOWN_KILL=1 bash "$LAB_DIR/lab-down.sh" 2>&1) || rc=$?
		[ "$rc" = 0 ] || { echo "$out" >&2; lab_die "restore: lab-down failed"; }
	fi
	LAB_SNAPSHOT=$name FRESH=1 bash "$LAB_DIR/lab-up.sh" >"$LAB_STATE/restore.log" 2>&1 ||
		{ tail -n 20 "$LAB_STATE/restore.log" >&2; lab_die "restore: lab-up from snapshot $name failed"; }
	echo "lab: booted from snapshot $name in $(lab_elapsed "$t0")s"
}

case $cmd in
save)
	save
	restore down
	;;
restore) restore ;;
drop)
	if [ -d "$LAB_SNAPSHOTS" ]; then
		for h in $LAB_ALL_HOSTS; do
			if [ -s "$LAB_STATE/hosts/$h/lower" ] && lab_wrapper_pid "$h" >/dev/null; then
				lab_die "drop: $h runs on a snapshot; lab-down first"
			fi
		done
		rm -rf --one-file-system "$LAB_SNAPSHOTS"
		echo "lab: snapshots removed"
	fi
	;;
esac
