#!/usr/bin/env bash
# Boot the lab: one systemd-nspawn container per host of LAB_HOSTS in lab.env
# (real systemd as PID 1, real sshd), each on an overlay of the cached base
# image, on the bridge br-lab with its own address. Builds the image first if
# it is missing. The spare hosts (LAB_SPARE_HOSTS) are not booted here but by
# host-start.sh; the per-host boot is host.sh's, shared with it.
#
#   FRESH=1 (default)  start every host from the clean image
#   FRESH=0            keep the hosts' state from the previous run
#   LAB_SNAPSHOT=NAME  with FRESH=1: start them from snapshot NAME instead
#                      (lab-snapshot.sh), each with its WAL disk as saved
#
# Hosts already running are left as they are. Leftovers of a run that did not
# end with lab-down.sh (dead wrappers, mounts, cgroups, bridge) are cleaned
# first. At the end state/known_hosts holds the own host keys of every host
# that runs (a spare host started before included), and each host of
# LAB_HOSTS is reachable with tests/lab/ssh.sh and reports `running`, with
# its WAL disk at $LAB_WAL_DEVICE (lab.env).
set -euo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"
# shellcheck source=host.sh
. "$LAB_DIR/host.sh"

[ "$(id -u)" = 0 ] || lab_die "lab-up.sh must run as root (mounts, bridge, containers)"
FRESH=${FRESH:-1}
case $FRESH in 0 | 1) ;; *) lab_die "FRESH must be 0 or 1, not '$FRESH'" ;; esac
# overlayfs options cannot express these characters in a path
case "$LAB_STATE$LAB_IMAGE" in *[,:]*) lab_die "the path $LAB_STATE must not contain ',' or ':'" ;; esac
t_start=$(lab_now)

known="" waits=""
on_exit() {
	local rc=$?
	rm -rf "$known" "$waits"
	[ "$rc" = 0 ] && return
	echo "lab: lab-up failed (exit $rc). Consoles: $LAB_STATE/hosts/*/console.log;" \
		"clean up with: make lab-down" >&2
}
trap on_exit EXIT

lab_need_tools systemd-nspawn=systemd-container debootstrap=debootstrap zstd=zstd \
	ssh=openssh-client ssh-keygen=openssh-client ip=iproute2 flock=util-linux

# --- image -------------------------------------------------------------------
if [ -f "$LAB_IMAGE/built" ]; then
	echo "lab: image $LAB_IMAGE_KEY (cached)"
else
	t=$(lab_now)
	bash "$LAB_DIR/build-image.sh"
	echo "lab: image build: $(lab_elapsed "$t")s"
fi
# Hold the cache lock shared until the overlays are mounted: a build of
# another recipe prunes only images that no lab has mounted.
lab_image_hold

# --- another lab (another clone) on this machine? ------------------------------
# shellcheck disable=SC2086 # a list of host names
lab_check_foreign $LAB_ALL_HOSTS
lab_snapshot_check

# --- what runs, and what a crashed run left behind -----------------------------
# Spare hosts are looked at too: one that runs keeps the lab from being taken
# for a crashed one, and one that crashed is cleaned up with the rest.
running="" to_boot="" stale=""
for h in $LAB_ALL_HOSTS; do
	if pid=$(lab_wrapper_pid "$h"); then
		running="$running $h"
		echo "lab: $h: already running (pid $pid), left as it is"
		continue
	fi
	lab_is_spare "$h" || to_boot="$to_boot $h"
	if lab_leftovers "$h"; then stale="$stale $h"; fi
done
if [ -n "$to_boot" ]; then
	if [ -z "$running" ] && { [ -n "$stale" ] || ip link show "$LAB_BR" >/dev/null 2>&1; }; then
		echo "lab: cleaning up after a run that did not end with lab-down"
		bash "$LAB_DIR/lab-down.sh"
	elif [ -n "$stale" ]; then
		echo "lab: cleaning up after hosts that stopped without lab-down:$stale"
		# shellcheck disable=SC2086 # a list of host names
		bash "$LAB_DIR/lab-down.sh" $stale
	fi
fi

# --- bridge: the hosts' only network ----------------------------------------------
# An address of the lab's subnet on any other interface would shadow the lab.
other=$(ip -o -4 addr show to "$LAB_NET.0/24" | awk -v br="$LAB_BR" '$2 != br { print $2 }')
[ -z "$other" ] || lab_die "$LAB_NET.0/24 is already used on: $other"
if ! ip link show "$LAB_BR" >/dev/null 2>&1; then
	ip link add "$LAB_BR" type bridge
	# IPv4 on the lab subnet only: no IPv6 link-local address on the bridge
	echo 1 2>/dev/null >"/proc/sys/net/ipv6/conf/$LAB_BR/disable_ipv6" || true
fi
ip addr replace "$LAB_NET.1/24" dev "$LAB_BR"
ip link set "$LAB_BR" up
# No NAT and no forwarding are set up: the hosts have no gateway either.

# --- boot -----------------------------------------------------------------------
t_boot=$(lab_now)
for h in $to_boot; do
	lab_boot_host "$h"
	echo "lab: $h: booting $(lab_ip "$h") (wrapper pid $LAB_BOOT_PID, WAL disk $LAB_BOOT_LOOP as $LAB_WAL_DEVICE)"
done
lab_image_release

# --- host keys: every running host's, spare ones included --------------------------
known_for=$LAB_HOSTS
for h in $LAB_SPARE_HOSTS; do
	if lab_wrapper_pid "$h" >/dev/null; then known_for="$known_for $h"; fi
done
known=$(mktemp "$LAB_KNOWN_HOSTS.XXXXXX")
for h in $known_for; do
	lab_host_known "$h" >>"$known"
done
chmod 644 "$known"
mv -f "$known" "$LAB_KNOWN_HOSTS"
known=""
echo "lab: wrote $LAB_KNOWN_HOSTS ($(wc -l <"$LAB_KNOWN_HOSTS") keys)"

# --- wait: ssh works (strict host key check) and systemd is up --------------------
# All hosts at once (each ssh login costs ~0.5 s); output in host order.
waits=$(mktemp -d)
for h in $LAB_HOSTS; do
	lab_wait_host "$h" >"$waits/$h" 2>&1 &
	echo $! >"$waits/$h.pid"
done
failed=""
for h in $LAB_HOSTS; do
	wait "$(cat "$waits/$h.pid")" || failed="$failed $h"
	cat "$waits/$h"
done
rm -rf "$waits"
waits=""
[ -z "$failed" ] || lab_die "hosts not running cleanly:$failed"

if [ -n "$to_boot" ]; then
	echo "lab: boot:$to_boot in $(lab_elapsed "$t_boot")s (until ssh works and systemd says running)"
else
	echo "lab: all hosts were already running"
fi
echo "lab: up in $(lab_elapsed "$t_start")s. ssh: tests/lab/ssh.sh pg1 CMD (key $LAB_KEY_FILE)"
