#!/usr/bin/env bash
# Stop the lab hosts that lab-up.sh (or host-start.sh) started and remove what
# it set up: overlay mounts, the WAL disks (loop device detached, image file
# removed), the cgroup dirs /sys/fs/cgroup/{systemd,unified}/lab/<host>, the
# PID files and the bridge. Usage: lab-down.sh [HOST...] (default: all hosts,
# the spare ones too; lab-up.sh calls it for the hosts of a crashed run,
# host-stop.sh for one spare host). Exit 0 when nothing runs.
#
# It only ever signals processes it can prove are this lab's: the wrapper whose
# PID lab-up recorded (checked by its command line), and processes in the
# host's cgroup that are that wrapper's systemd-nspawn (by its --directory) or
# run in the container booted from the host's overlay root (by their PID
# namespace). Anything else is reported and left alone, with its cgroup.
#
# LAB_DOWN_KILL=1: for hosts whose disks are thrown away next (a reset to
# bare hosts, a restore of a snapshot), no clean poweroff: each container's
# init gets SIGKILL (as host-crash.sh does), then its wrapper SIGTERM. A
# clean poweroff of a host that runs the cluster takes ~15 s here.
set -uo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"

[ "$(id -u)" = 0 ] || lab_die "lab-down.sh must run as root"
HOSTS=${*:-$LAB_ALL_HOSTS}
for h in $HOSTS; do lab_ip "$h" >/dev/null || lab_die "unknown lab host '$h' (hosts: $LAB_ALL_HOSTS)"; done
CG_HIERS="/sys/fs/cgroup/systemd /sys/fs/cgroup/unified"
t0=$(lab_now)
rc=0

# cgroup_pids HOST: every process in the host's cgroups, whoever's it is.
cgroup_pids() {
	local hier
	for hier in $CG_HIERS; do
		[ -d "$hier/lab/$1" ] || continue
		find "$hier/lab/$1" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -un
}

# our_pids HOST: this lab's processes for HOST (see the header), one a line.
# Container processes are recognised by their PID namespace, that of a process
# whose root is the host's overlay (not by each one's root: HAProxy chroots).
# Processes in the host's cgroup that are not provably ours go to stderr.
# Bash's builtins wherever they do (-ef compares device and inode, through
# the links): a command per process cost seconds a call on a machine where
# each one started takes 12-20 ms; readlink runs once per namespace and for
# the processes the root does not tell.
our_pids() {
	local h=$1 r=$LAB_STATE/hosts/$1/root pid ref pids ns nss=" " foreign=""
	local -a refs=()
	local -A inroot=()
	pids=$({
		lab_wrapper_pid "$h" || true
		cgroup_pids "$h"
	} | sort -un)
	if mountpoint -q "$r"; then
		for pid in $pids; do
			[ "/proc/$pid/root/" -ef "$r" ] || continue
			inroot[$pid]=1
			for ref in "${refs[@]}"; do
				[ "/proc/$pid/ns/pid" -ef "/proc/$ref/ns/pid" ] && continue 2
			done
			ns=$(readlink "/proc/$pid/ns/pid") || continue
			nss="$nss$ns "
			refs+=("$pid")
		done
	fi
	for pid in $pids; do
		lab_cmdline "$pid" || continue
		if [ -n "${inroot[$pid]:-}" ] ||
			[[ $REPLY == systemd-nspawn$'\037'*$'\037'--directory="$r"$'\037'* ]] ||
			lab_is_wrapper "$pid" "$h" ||
			[[ $nss == *" $(readlink "/proc/$pid/ns/pid" 2>/dev/null) "* ]]; then
			echo "$pid"
		else
			foreign="$foreign $pid"
		fi
	done
	[ -z "$foreign" ] ||
		echo "lab: $h: not this lab's, left alone: pids$foreign (in its cgroup)" >&2
}

# ask_stop HOST: ask for a clean poweroff. Normally via the wrapper, which
# forwards SIGTERM to systemd-nspawn, which powers the container off. After a
# crash there may be an nspawn without its wrapper (SIGTERM it) or a container
# without its nspawn (SIGRTMIN+4 to its init = poweroff).
ask_stop() {
	local h=$1 pid
	if pid=$(lab_wrapper_pid "$h"); then
		kill -TERM "$pid" 2>/dev/null
		return
	fi
	for pid in $(our_pids "$h"); do
		lab_cmdline "$pid" || continue
		if [[ $REPLY == systemd-nspawn$'\037'* ]]; then
			kill -TERM "$pid" 2>/dev/null
		elif lab_ns_init "$pid"; then
			kill -s RTMIN+4 "$pid" 2>/dev/null
		fi
	done
}

# any_running HOST...: does any of these hosts still have a process of ours?
any_running() {
	local h
	for h in "$@"; do [ -n "$(our_pids "$h" 2>/dev/null)" ] && return 0; done
	return 1
}

# --- stop ----------------------------------------------------------------------
# kill_init HOST: SIGKILL to the container's init (its processes go with
# it, as at a crash); then the wrapper, if any, is asked to stop
kill_init() {
	local pid
	for pid in $(our_pids "$1"); do
		lab_ns_init "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	ask_stop "$1"
}

running=""
for h in $HOSTS; do
	if [ -n "$(our_pids "$h")" ]; then
		running="$running $h"
		if [ "${LAB_DOWN_KILL:-0}" = 1 ]; then kill_init "$h"; else ask_stop "$h"; fi
	fi
done
if [ -n "$running" ]; then
	echo "lab: stopping$running"
	deadline=$((SECONDS + 30))
	while [ "$SECONDS" -lt "$deadline" ]; do
		# shellcheck disable=SC2086 # a list of host names
		any_running $running || break
		sleep 0.5
	done
	for h in $running; do
		pids=$(our_pids "$h")
		[ -n "$pids" ] || continue
		echo "lab: $h: no clean poweroff within 30s, SIGKILL to: $(tr "\n" " " <<<"$pids")"
		# shellcheck disable=SC2086 # a list of PIDs
		kill -KILL $pids 2>/dev/null
	done
	deadline=$((SECONDS + 5))
	while [ "$SECONDS" -lt "$deadline" ]; do
		# shellcheck disable=SC2086
		any_running $running || break
		sleep 0.25
	done
fi

# --- clean up ------------------------------------------------------------------
for h in $HOSTS; do
	d=$LAB_STATE/hosts/$h
	if [ -n "$(our_pids "$h" 2>/dev/null)" ]; then
		echo "lab: error: $h: processes still running after SIGKILL: $(our_pids "$h" | tr '\n' ' ')" >&2
		rc=1
		continue
	fi
	stale=""
	# The wrapper is gone: the PID file is stale.
	if [ -e "$d/nspawn.pid" ]; then
		rm -f "$d/nspawn.pid"
		stale="$stale PID file,"
	fi
	# Several mounts may be stacked after repeated crashes: unmount them all.
	while mountpoint -q "$d/root"; do
		if ! umount "$d/root"; then
			echo "lab: error: $h: cannot unmount $d/root" >&2
			rc=1
			break
		fi
		stale="$stale overlay mount,"
	done
	# The WAL disk: only loops backed by this host's own image file.
	for loop in $(lab_wal_loops "$h"); do
		if losetup -d "$loop"; then
			stale="$stale WAL disk $loop,"
		else
			echo "lab: error: $h: cannot detach $loop" >&2
			rc=1
		fi
	done
	# a loop still open (a mount of a container that just died) is only
	# marked to detach when it closes: wait for that, up to 10 s, so that
	# the next lab-up finds none
	for _ in $(seq 1 100); do
		[ -n "$(lab_wal_loops "$h")" ] || break
		sleep 0.1
	done
	if [ -n "$(lab_wal_loops "$h")" ]; then
		echo "lab: error: $h: WAL disk still attached: $(lab_wal_loops "$h" | tr '\n' ' ')" >&2
		rc=1
	fi
	if [ -e "$(lab_wal_image "$h")" ]; then
		rm -f "$(lab_wal_image "$h")" "$d/wal_device"
		stale="$stale WAL disk image,"
	fi
	if [ -n "$(cgroup_pids "$h")" ]; then
		echo "lab: $h: its cgroup holds processes of another lab; left alone"
		continue
	fi
	for hier in $CG_HIERS; do
		[ -d "$hier/lab/$h" ] || continue
		# cgroup dirs hold no files that rmdir cares about; children first
		find "$hier/lab/$h" -depth -type d -exec rmdir {} + 2>/dev/null
		if [ -d "$hier/lab/$h" ]; then
			echo "lab: error: $h: cannot remove cgroup $hier/lab/$h (still in use?)" >&2
			rc=1
		fi
		stale="$stale cgroup $hier/lab/$h,"
	done
	case " $running " in
	*" $h "*) echo "lab: $h: stopped" ;;
	*) [ -z "$stale" ] || echo "lab: $h: removed leftovers:${stale%,}" ;;
	esac
done
for hier in $CG_HIERS; do
	rmdir "$hier/lab" 2>/dev/null || true # only when no host is left in it
done

# The bridge goes when nothing is attached to it any more (the hosts' veths
# vanish with their containers). Hosts still running keep it.
if ip link show "$LAB_BR" >/dev/null 2>&1; then
	ports=$(ip -o link show master "$LAB_BR" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1 | tr '\n' ' ')
	if [ -z "$ports" ]; then
		ip link del "$LAB_BR" && echo "lab: bridge $LAB_BR deleted"
	else
		echo "lab: bridge $LAB_BR kept: still attached: $ports"
	fi
fi

# Old host layers that lab-up set aside and removes in the background: the
# rest of them, now (it is nothing when that removal has finished).
if compgen -G "$LAB_STATE/trash.*" >/dev/null; then
	rm -rf --one-file-system "$LAB_STATE"/trash.* || rc=1
	echo "lab: removed old host layers"
fi

if [ -z "$running" ] && [ "$rc" = 0 ]; then
	echo "lab: nothing was running"
else
	echo "lab: down in $(lab_elapsed "$t0")s"
fi
exit "$rc"
