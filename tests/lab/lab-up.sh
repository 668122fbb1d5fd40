#!/usr/bin/env bash
# Boot the lab: one systemd-nspawn container per host in lab.env (real systemd
# as PID 1, real sshd), each on an overlay of the cached base image, on the
# bridge br-lab with its own address. Builds the image first if it is missing.
#
#   FRESH=1 (default)  start every host from the clean image
#   FRESH=0            keep the hosts' state from the previous run
#
# Hosts already running are left as they are. Leftovers of a run that did not
# end with lab-down.sh (dead wrappers, mounts, cgroups, bridge) are cleaned
# first. At the end state/known_hosts holds every host's own host keys and
# each host is reachable with tests/lab/ssh.sh and reports `running`, with
# its WAL disk at $LAB_WAL_DEVICE (lab.env).
set -euo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"

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
exec 9>"$LAB_LOCK"
flock -s 9
[ -f "$LAB_IMAGE/built" ] || lab_die "image $LAB_IMAGE vanished (a concurrent build removed it?); run lab-up again"

mkdir -p "$LAB_STATE/hosts"
install -m 600 "$LAB_IMAGE/id_ed25519" "$LAB_KEY_FILE"
install -m 644 "$LAB_IMAGE/id_ed25519.pub" "$LAB_KEY_FILE.pub"

# --- another lab (another clone) on this machine? ------------------------------
# The bridge and addresses are machine-wide: two labs cannot run at once.
nspawns=$(for c in /proc/[0-9]*/cmdline; do
	tr '\0' '\037' 2>/dev/null <"$c" || continue
	echo
done | grep '^systemd-nspawn' || true)
while IFS= read -r line; do
	for h in $LAB_HOSTS; do
		[[ $line == *$'\037'--machine=$h$'\037'* ]] || continue
		dir=${line#*$'\037'--directory=}
		dir=${dir%%$'\037'*}
		[ "$dir" = "$LAB_STATE/hosts/$h/root" ] ||
			lab_die "$h is already run by another lab ($dir); stop that one with its lab-down.sh"
	done
done <<<"$nspawns"

# --- what runs, and what a crashed run left behind -----------------------------
running="" to_boot="" stale=""
for h in $LAB_HOSTS; do
	d=$LAB_STATE/hosts/$h
	if pid=$(lab_wrapper_pid "$h"); then
		running="$running $h"
		echo "lab: $h: already running (pid $pid), left as it is"
		continue
	fi
	to_boot="$to_boot $h"
	if [ -e "$d/nspawn.pid" ] || mountpoint -q "$d/root" || [ -n "$(lab_wal_loops "$h")" ] ||
		[ -d "/sys/fs/cgroup/systemd/lab/$h" ] || [ -d "/sys/fs/cgroup/unified/lab/$h" ]; then
		stale="$stale $h"
	fi
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
# The wrapper joins the host's own cgroup first: without systemd on this
# machine, nspawn would otherwise create its payload/supervisor cgroups at the
# root, where a second container collides. It runs nspawn again when the
# container asks for a reboot (exit 133), as systemd-nspawn@.service does, and
# forwards SIGTERM to nspawn, which turns it into a clean poweroff. After a
# crash (host-crash.sh: the flag file <host>/crashed, then the container's
# init killed) it waits until host-boot.sh removes the flag, then boots the
# host again from its own state (overlay and WAL disk as they were).
# shellcheck disable=SC2016 # expanded by the wrapper's own shell
WRAPPER='
h=$1 root=$2 br=$3 loop=$4 wal=$5
for hier in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
	[ -d "$hier/lab/$h" ] && echo $$ >"$hier/lab/$h/cgroup.procs"
done
stop=0 child=
trap "stop=1; [ -n \"\$child\" ] && kill -TERM \$child" TERM INT HUP
while :; do
	systemd-nspawn --boot --directory="$root" --machine="$h" \
		--register=no --keep-unit --console=read-only \
		--network-bridge="$br" --resolv-conf=off --timezone=off \
		--link-journal=no --bind="$loop:$wal" --bind="$loop" &
	child=$!
	rc=0; wait $child || rc=$?
	while kill -0 $child 2>/dev/null; do rc=0; wait $child || rc=$?; done
	echo "=== haprov lab: nspawn exited rc=$rc ($(date +%T))"
	# crashed by host-crash.sh: down until host-boot.sh removes the flag
	if [ $stop = 0 ] && [ -e "$root/../crashed" ]; then
		while [ $stop = 0 ] && [ -e "$root/../crashed" ]; do sleep 0.2; done
		[ $stop = 0 ] && continue
	fi
	[ $stop = 0 ] && [ $rc = 133 ] || break
done
'

# A host's old layers are renamed aside here and removed in the background
# once the hosts boot: removing a host that ran the cluster (~700 MB of
# packages and data) takes ~40 s on a disk mounted with `discard`, and
# nothing needs to wait for it. lab-down removes whatever is left.
trash=$LAB_STATE/trash.$$
discard_layers() { # HOST-DIR
	local x
	for x in upper work; do
		[ -e "$1/$x" ] || continue
		mkdir -p "$trash"
		mv -T "$1/$x" "$trash/$(basename "$1")-$x"
	done
}

# wal_disk HOST: attach HOST's WAL disk (see lab.env) and print its loop
# device. The container gets it under both names: $LAB_WAL_DEVICE, the path
# inventories use, and its kernel name /dev/loopN, which is where libblkid
# (no udev in a container) looks for a UUID: `mount UUID=...` then works, and
# shows /dev/loopN as the source; compare devices by MAJ:MIN, not by name. FRESH=1, or no image yet: a new sparse file, all zeros. The loops
# of the host's old image are gone by now (lab-down ran for a stale host).
wal_disk() {
	local h=$1 img loop
	img=$(lab_wal_image "$h")
	loop=$(lab_wal_loops "$h" | head -n1)
	if [ "$FRESH" = 1 ] || [ ! -f "$img" ]; then
		[ -z "$loop" ] || lab_die "$h: $loop still holds $img"
		rm -f "$img"
		truncate -s "$LAB_WAL_SIZE" "$img"
	fi
	[ -n "$loop" ] || loop=$(losetup --find --show "$img") ||
		lab_die "$h: cannot attach $img to a loop device"
	[ -b "$loop" ] || lab_die "$h: $loop is not a block device"
	echo "$LAB_WAL_DEVICE" >"$LAB_STATE/hosts/$h/wal_device"
	echo "$loop"
}

t_boot=$(lab_now)
for h in $to_boot; do
	d=$LAB_STATE/hosts/$h
	r=$d/root
	ip4=$(lab_ip "$h")
	mountpoint -q "$r" && lab_die "$h: $r is still mounted"
	if [ "$FRESH" = 0 ] && [ -d "$d/upper" ] &&
		[ "$(cat "$d/image-key" 2>/dev/null)" != "$LAB_IMAGE_KEY" ]; then
		echo "lab: $h: its state belongs to another image; starting it fresh"
		discard_layers "$d"
	fi
	[ "$FRESH" = 1 ] && discard_layers "$d"
	mkdir -p "$d/upper" "$d/work" "$r"
	echo "$LAB_IMAGE_KEY" >"$d/image-key"
	mount -t overlay overlay \
		-o "lowerdir=$LAB_IMAGE/base,upperdir=$d/upper,workdir=$d/work" "$r"

	# Per-host identity, written before boot. rm first: with FRESH=0 the
	# upper layer is the host's own and a symlink there must not lead us out.
	rm -f "$r/etc/hostname" "$r/etc/hosts" "$r/etc/resolv.conf" \
		"$r/etc/systemd/network/10-host0.network"
	echo "$h" >"$r/etc/hostname"
	{
		echo "127.0.0.1 localhost"
		echo "127.0.1.1 $h"
		for o in $LAB_HOSTS; do echo "$(lab_ip "$o") $o"; done
	} >"$r/etc/hosts"
	# No DNS server exists on the lab network: lookups fail at once.
	echo "# haprov lab: no DNS; the lab hosts are in /etc/hosts" >"$r/etc/resolv.conf"
	mkdir -p "$r/etc/systemd/network"
	# No Gateway: nothing outside 10.213.0.0/24 is reachable.
	cat >"$r/etc/systemd/network/10-host0.network" <<-EOF
		[Match]
		Name=host0
		[Network]
		Address=$ip4/24
		LinkLocalAddressing=no
		IPv6AcceptRA=no
	EOF

	# What a host's boot does with /etc/fstab's device lines (the WAL
	# volume haprov adds, by UUID): systemd's fstab generator skips them
	# in a container, and with no udev the device unit would never come.
	# `mount -a -t ext4` before local-fs.target does it instead, so a
	# host booted again (host-boot.sh) has its WAL volume before Patroni.
	u=$r/etc/systemd/system/haprov-lab-fstab.service
	rm -f "$u" "$r/etc/systemd/system/local-fs.target.wants/haprov-lab-fstab.service"
	cat >"$u" <<-EOF
		[Unit]
		Description=haprov lab: mount the ext4 lines of /etc/fstab (no udev here)
		DefaultDependencies=no
		After=local-fs-pre.target
		Before=local-fs.target
		[Service]
		Type=oneshot
		RemainAfterExit=yes
		ExecStart=/bin/mount -a -t ext4
	EOF
	mkdir -p "$r/etc/systemd/system/local-fs.target.wants"
	ln -s ../haprov-lab-fstab.service "$r/etc/systemd/system/local-fs.target.wants/haprov-lab-fstab.service"

	loop=$(wal_disk "$h")

	for hier in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
		if [ -d "$hier" ]; then mkdir -p "$hier/lab/$h"; fi
	done
	# 9>&-: the wrapper must not keep the image cache lock.
	setsid bash -c "$WRAPPER" haprov-lab-wrapper "$h" "$r" "$LAB_BR" \
		"$loop" "$LAB_WAL_DEVICE" >"$d/console.log" 2>&1 </dev/null 9>&- &
	echo $! >"$d/nspawn.pid"
	echo "lab: $h: booting $ip4 (wrapper pid $!, WAL disk $loop as $LAB_WAL_DEVICE)"
done
flock -u 9
exec 9>&-
# the old layers of this run and of any run that did not finish removing them
if compgen -G "$LAB_STATE/trash.*" >/dev/null; then
	setsid nice -n 19 rm -rf --one-file-system "$LAB_STATE"/trash.* \
		</dev/null >/dev/null 2>&1 &
fi

# --- host keys, read from the hosts' own files ------------------------------------
# sshd generates each host's keys at its first boot (ssh-keygen -A, which
# writes them under a temporary name and renames them). Reading them from the
# host's root, not with ssh-keyscan, means no network answer is trusted.

# host_key_files HOST: the public key files of the host keys sshd offers:
# its HostKey settings, or sshd's defaults when there are none.
host_key_files() {
	local r=$LAB_STATE/hosts/$1/root keys
	keys=$(cat "$r/etc/ssh/sshd_config" "$r"/etc/ssh/sshd_config.d/*.conf 2>/dev/null |
		awk 'tolower($1) == "hostkey" { print $2 }')
	[ -n "$keys" ] || keys="/etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ed25519_key"
	for k in $keys; do echo "$r$k.pub"; done
}

# console_tail HOST: the end of the host's console, for error messages.
console_tail() {
	echo "--- last lines of $LAB_STATE/hosts/$1/console.log:" >&2
	tail -n 15 "$LAB_STATE/hosts/$1/console.log" >&2 || true
}

known=$(mktemp "$LAB_KNOWN_HOSTS.XXXXXX")
for h in $LAB_HOSTS; do
	r=$LAB_STATE/hosts/$h/root
	for _ in $(seq 1 300); do
		ready=1
		for f in $(host_key_files "$h"); do [ -s "$f" ] || ready=0; done
		[ "$ready" = 1 ] && break
		lab_wrapper_pid "$h" >/dev/null || { console_tail "$h"; lab_die "$h: the container exited during boot"; }
		sleep 0.2
	done
	[ "$ready" = 1 ] || { console_tail "$h"; lab_die "$h: sshd made no host keys within 60s"; }
	for f in $(host_key_files "$h"); do
		# A regular file inside the host's root, not a link to somewhere else
		# on this machine, and a valid public key.
		if [ -L "$r/etc" ] || [ -L "$r/etc/ssh" ] || [ -L "$f" ] || ! ssh-keygen -l -f "$f" >/dev/null 2>&1; then
			lab_die "$h: $f is not a plain public key file"
		fi
		awk -v names="$h,$(lab_ip "$h")" '{ print names, $1, $2 }' "$f" >>"$known"
	done
done
chmod 644 "$known"
mv -f "$known" "$LAB_KNOWN_HOSTS"
known=""
echo "lab: wrote $LAB_KNOWN_HOSTS ($(wc -l <"$LAB_KNOWN_HOSTS") keys)"

# --- wait: ssh works (strict host key check) and systemd is up --------------------
# wait_host HOST: log in (retrying while sshd is not up yet) and wait for the
# end of boot: ssh answers ~0.5 s before boot has finished, hence `--wait`.
wait_host() {
	local h=$1 ip4 out rc
	ip4=$(lab_ip "$h")
	for _ in $(seq 1 120); do
		rc=0
		out=$(timeout 120 ssh "${LAB_SSH_OPTS[@]}" "root@$ip4" \
			systemctl is-system-running --wait 2>&1) || rc=$?
		[ "$rc" = 255 ] || break # 255: ssh itself failed (not up yet?)
		# but a wrong host key will not get better by waiting
		[[ $out != *"Host key verification failed"* ]] || break
		lab_wrapper_pid "$h" >/dev/null || break
		sleep 0.5
	done
	if [ "$rc" = 255 ]; then
		console_tail "$h"
		echo "lab: error: $h: no ssh login on $ip4: $out" >&2
		return 1
	fi
	if [ "$out" = running ]; then
		echo "lab: $h $ip4: running"
		return 0
	fi
	echo "lab: error: $h $ip4: system state is '$out', not 'running'" >&2
	if [ "$out" = degraded ]; then
		echo "lab: $h: failed units:" >&2
		ssh "${LAB_SSH_OPTS[@]}" "root@$ip4" systemctl --failed --no-legend --plain >&2 || true
	fi
	return 1
}

# All hosts at once (each ssh login costs ~0.5 s); output in host order.
waits=$(mktemp -d)
for h in $LAB_HOSTS; do
	wait_host "$h" >"$waits/$h" 2>&1 &
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
