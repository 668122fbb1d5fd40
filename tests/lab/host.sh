# Booting one lab host, shared by lab-up.sh (the LAB_HOSTS) and host-start.sh
# (a spare host). Sourced after lab.env, not run. Bash only.
# shellcheck shell=bash
#
# The order: lab_check_foreign and lab_leftovers before, then lab_image_hold,
# lab_boot_host for each host, lab_image_release; then lab_host_known (its
# known_hosts lines) and lab_wait_host (ssh works, systemd says running).
# FRESH (0 or 1, see lab-up.sh) is the caller's.

# lab_check_foreign HOST...: die if another lab (another clone) on this machine
# runs one of these hosts. The bridge and addresses are machine-wide: two labs
# cannot run at once.
lab_check_foreign() {
	local nspawns line h dir c
	# every process's command line, with builtins (lab_cmdline): a
	# command per process costs seconds on a slow machine
	nspawns=$(for c in /proc/[0-9]*/cmdline; do
		c=${c#/proc/}
		lab_cmdline "${c%/cmdline}" || continue
		[[ $REPLY == systemd-nspawn$'\037'* ]] && printf '%s\n' "$REPLY"
	done || true)
	while IFS= read -r line; do
		for h in "$@"; do
			[[ $line == *$'\037'--machine=$h$'\037'* ]] || continue
			dir=${line#*$'\037'--directory=}
			dir=${dir%%$'\037'*}
			[ "$dir" = "$LAB_STATE/hosts/$h/root" ] ||
				lab_die "$h is already run by another lab ($dir); stop that one with its lab-down.sh"
		done
	done <<<"$nspawns"
}

# lab_leftovers HOST: has HOST, not running, left anything of a run that did
# not end with lab-down.sh (PID file, mount, WAL loop, cgroup)?
lab_leftovers() {
	local d=$LAB_STATE/hosts/$1
	[ -e "$d/nspawn.pid" ] || mountpoint -q "$d/root" || [ -n "$(lab_wal_loops "$1")" ] ||
		[ -d "/sys/fs/cgroup/systemd/lab/$1" ] || [ -d "/sys/fs/cgroup/unified/lab/$1" ]
}

# lab_image_hold: hold the image cache lock shared (fd 9) until
# lab_image_release, so that a build of another recipe, which prunes only
# images no lab has mounted, cannot remove the image before the overlays are
# mounted. Installs the operator key the image trusts.
lab_image_hold() {
	exec 9>"$LAB_LOCK"
	flock -s 9
	[ -f "$LAB_IMAGE/built" ] ||
		lab_die "image $LAB_IMAGE is not built (a concurrent build removed it?); run lab-up again"
	mkdir -p "$LAB_STATE/hosts"
	install -m 600 "$LAB_IMAGE/id_ed25519" "$LAB_KEY_FILE"
	install -m 644 "$LAB_IMAGE/id_ed25519.pub" "$LAB_KEY_FILE.pub"
}

# lab_image_release: the hosts are booted. Drop the lock, and remove the old
# layers set aside (lab_discard_layers), of this run and of any run that did
# not finish removing them, in the background.
lab_image_release() {
	flock -u 9
	exec 9>&-
	if compgen -G "$LAB_STATE/trash.*" >/dev/null; then
		setsid nice -n 19 rm -rf --one-file-system "$LAB_STATE"/trash.* \
			</dev/null >/dev/null 2>&1 &
	fi
}

# The wrapper joins the host's own cgroup first: without systemd on this
# machine, nspawn would otherwise create its payload/supervisor cgroups at the
# root, where a second container collides. It runs nspawn again when the
# container asks for a reboot (exit 133), as systemd-nspawn@.service does, and
# forwards SIGTERM to nspawn, which turns it into a clean poweroff. After a
# crash (host-crash.sh: the flag file <host>/crashed, then the container's
# init killed) it waits until host-boot.sh removes the flag, then boots the
# host again from its own state (overlay and WAL disk as they were).
# shellcheck disable=SC2016 # expanded by the wrapper's own shell
LAB_WRAPPER='
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
# once the hosts boot (lab_image_release): removing a host that ran the
# cluster (~700 MB of packages and data) takes ~40 s on a disk mounted with
# `discard`, and nothing needs to wait for it. lab-down removes whatever is
# left.
LAB_TRASH=$LAB_STATE/trash.$$
lab_discard_layers() { # HOST-DIR
	local x
	for x in upper work; do
		[ -e "$1/$x" ] || continue
		mkdir -p "$LAB_TRASH"
		mv -T "$1/$x" "$LAB_TRASH/$(basename "$1")-$x"
	done
}

# --- snapshots (lab-snapshot.sh) -----------------------------------------------
# A snapshot NAME keeps, for each host of LAB_HOSTS, the upper layer it had
# when it was saved (<host>/layer, with the chain it sat on in <host>/lower
# when the host ran on an earlier snapshot) and its WAL disk
# (<host>/wal.img). A host booted fresh with LAB_SNAPSHOT=NAME gets a new
# empty upper over that layer and a copy of that disk: the layer itself is
# only read, so one snapshot boots any number of times.
LAB_SNAPSHOTS=$LAB_STATE/snapshots

# lab_snapshot_check: LAB_SNAPSHOT (when set) names a snapshot of this
# image that holds every host of LAB_HOSTS; dies otherwise. Run it in the
# script's own shell before booting.
lab_snapshot_check() {
	local s=$LAB_SNAPSHOTS/${LAB_SNAPSHOT:-} h
	[ -n "${LAB_SNAPSHOT:-}" ] || return 0
	[[ $LAB_SNAPSHOT =~ ^[a-z0-9-]+$ ]] || lab_die "LAB_SNAPSHOT '$LAB_SNAPSHOT': a name of a-z, 0-9 and '-'"
	[ -f "$s/image-key" ] || lab_die "no snapshot '$LAB_SNAPSHOT' in $LAB_SNAPSHOTS (lab-snapshot.sh save)"
	[ "$(cat "$s/image-key")" = "$LAB_IMAGE_KEY" ] ||
		lab_die "snapshot '$LAB_SNAPSHOT' was saved on another image than $LAB_IMAGE_KEY"
	for h in $LAB_HOSTS; do
		[ -d "$s/$h/layer" ] && [ -f "$s/$h/wal.img" ] ||
			lab_die "snapshot '$LAB_SNAPSHOT' holds no layer and WAL disk of $h"
		[ ! -s "$s/$h/lower" ] || lab_lower_present "$(cat "$s/$h/lower")" ||
			lab_die "snapshot '$LAB_SNAPSHOT' sits on a snapshot that is gone"
	done
}

# lab_snapshot_dir HOST: print HOST's directory in the snapshot LAB_SNAPSHOT
# names (checked by lab_snapshot_check); fails when none is named or HOST is
# a spare host (never saved: it always starts bare)
lab_snapshot_dir() {
	[ -n "${LAB_SNAPSHOT:-}" ] && ! lab_is_spare "$1" &&
		[ -d "$LAB_SNAPSHOTS/$LAB_SNAPSHOT/$1/layer" ] || return 1
	echo "$LAB_SNAPSHOTS/$LAB_SNAPSHOT/$1"
}

# lab_snapshot_lower HOST: the lower layers (above the image) HOST boots on
# from LAB_SNAPSHOT, ':'-separated
lab_snapshot_lower() {
	local s
	s=$(lab_snapshot_dir "$1") || return 1
	if [ -s "$s/lower" ]; then echo "$s/layer:$(cat "$s/lower")"; else echo "$s/layer"; fi
}

# lab_lower_present LOWERS: every ':'-separated directory exists
lab_lower_present() {
	local l x
	IFS=: read -ra l <<<"$1"
	for x in "${l[@]}"; do [ -d "$x" ] || return 1; done
}

# lab_wal_disk HOST: attach HOST's WAL disk (see lab.env) and print its loop
# device. The container gets it under both names: $LAB_WAL_DEVICE, the path
# inventories use, and its kernel name /dev/loopN, which is where libblkid
# (no udev in a container) looks for a UUID: `mount UUID=...` then works, and
# shows /dev/loopN as the source; compare devices by MAJ:MIN, not by name.
# FRESH=1, or no image yet: a new sparse file, all zeros. The loops of the
# host's old image are gone by now (lab-down ran for a stale host).
lab_wal_disk() {
	local h=$1 img loop snap
	img=$(lab_wal_image "$h")
	loop=$(lab_wal_loops "$h" | head -n1)
	if [ "$FRESH" = 1 ] || [ ! -f "$img" ]; then
		[ -z "$loop" ] || lab_die "$h: $loop still holds $img"
		rm -f "$img"
		if snap=$(lab_snapshot_dir "$h"); then
			# a copy: the snapshot's own stays as it was saved
			cp --sparse=always "$snap/wal.img" "$img" ||
				lab_die "$h: cannot copy the WAL disk of $snap"
		else
			truncate -s "$LAB_WAL_SIZE" "$img"
		fi
	fi
	[ -n "$loop" ] || loop=$(losetup --find --show "$img") ||
		lab_die "$h: cannot attach $img to a loop device"
	[ -b "$loop" ] || lab_die "$h: $loop is not a block device"
	echo "$LAB_WAL_DEVICE" >"$LAB_STATE/hosts/$h/wal_device"
	echo "$loop"
}

# lab_boot_host HOST: boot HOST (not running, no leftovers; the bridge is up
# and lab_image_hold done): its overlay on the image (fresh with FRESH=1),
# its identity and network, its WAL disk, its cgroup, and its wrapper in the
# background. Sets LAB_BOOT_PID (the wrapper, also in <host>/nspawn.pid) and
# LAB_BOOT_LOOP (its WAL disk).
lab_boot_host() {
	local h=$1 d r ip4 o u lower
	d=$LAB_STATE/hosts/$h
	r=$d/root
	ip4=$(lab_ip "$h")
	mountpoint -q "$r" && lab_die "$h: $r is still mounted"
	if [ "$FRESH" = 0 ] && [ -d "$d/upper" ] &&
		[ "$(cat "$d/image-key" 2>/dev/null)" != "$LAB_IMAGE_KEY" ]; then
		echo "lab: $h: its state belongs to another image; starting it fresh"
		lab_discard_layers "$d"
	fi
	if [ "$FRESH" = 1 ]; then
		lab_discard_layers "$d"
		rm -f "$d/lower"
		# LAB_SNAPSHOT: a saved state of the host under its new upper
		if lower=$(lab_snapshot_lower "$h"); then echo "$lower" >"$d/lower"; fi
	fi
	lower=$LAB_IMAGE/base
	if [ -f "$d/lower" ]; then
		lower="$(cat "$d/lower"):$lower"
		lab_lower_present "$lower" ||
			lab_die "$h: it ran on a snapshot that is gone ($(cat "$d/lower")); start it fresh (FRESH=1)"
	fi
	mkdir -p "$d/upper" "$d/work" "$r"
	echo "$LAB_IMAGE_KEY" >"$d/image-key"
	# redirect_dir=on: a directory of a lower layer can be renamed, as on
	# a real disk; without it rename(2) fails with EXDEV, and PostgreSQL,
	# which renames a replication slot's directory to drop it, could drop
	# no slot saved in a snapshot
	mount -t overlay overlay \
		-o "lowerdir=$lower,upperdir=$d/upper,workdir=$d/work,redirect_dir=on" "$r"

	# Per-host identity, written before boot. rm first: with FRESH=0 the
	# upper layer is the host's own and a symlink there must not lead us out.
	rm -f "$r/etc/hostname" "$r/etc/hosts" "$r/etc/resolv.conf" \
		"$r/etc/systemd/network/10-host0.network"
	echo "$h" >"$r/etc/hostname"
	# Every host of the lab, the spare ones too: a host started later is
	# known by name to those already running.
	{
		echo "127.0.0.1 localhost"
		echo "127.0.1.1 $h"
		for o in $LAB_ALL_HOSTS; do echo "$(lab_ip "$o") $o"; done
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

	LAB_BOOT_LOOP=$(lab_wal_disk "$h")

	for hier in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
		if [ -d "$hier" ]; then mkdir -p "$hier/lab/$h"; fi
	done
	# 9>&-: the wrapper must not keep the image cache lock.
	setsid bash -c "$LAB_WRAPPER" haprov-lab-wrapper "$h" "$r" "$LAB_BR" \
		"$LAB_BOOT_LOOP" "$LAB_WAL_DEVICE" >"$d/console.log" 2>&1 </dev/null 9>&- &
	LAB_BOOT_PID=$!
	echo "$LAB_BOOT_PID" >"$d/nspawn.pid"
}

# --- host keys, read from the hosts' own files ------------------------------------
# sshd generates each host's keys at its first boot (ssh-keygen -A, which
# writes them under a temporary name and renames them). Reading them from the
# host's root, not with ssh-keyscan, means no network answer is trusted.

# lab_host_key_files HOST: the public key files of the host keys sshd offers:
# its HostKey settings, or sshd's defaults when there are none.
lab_host_key_files() {
	local r=$LAB_STATE/hosts/$1/root keys k
	keys=$(cat "$r/etc/ssh/sshd_config" "$r"/etc/ssh/sshd_config.d/*.conf 2>/dev/null |
		awk 'tolower($1) == "hostkey" { print $2 }')
	[ -n "$keys" ] || keys="/etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ed25519_key"
	for k in $keys; do echo "$r$k.pub"; done
}

# lab_console_tail HOST: the end of the host's console, for error messages.
lab_console_tail() {
	echo "--- last lines of $LAB_STATE/hosts/$1/console.log:" >&2
	tail -n 15 "$LAB_STATE/hosts/$1/console.log" >&2 || true
}

# lab_host_known HOST: wait (at most 60 s) until sshd made HOST's host keys,
# and print its known_hosts lines ("HOST,ADDRESS TYPE KEY"). Dies when the
# host stops or no keys come, so run it in the script's own shell.
lab_host_known() {
	local h=$1 r=$LAB_STATE/hosts/$1/root ready=0 f
	for _ in $(seq 1 300); do
		ready=1
		for f in $(lab_host_key_files "$h"); do [ -s "$f" ] || ready=0; done
		[ "$ready" = 1 ] && break
		lab_wrapper_pid "$h" >/dev/null || { lab_console_tail "$h"; lab_die "$h: the container exited during boot"; }
		sleep 0.2
	done
	[ "$ready" = 1 ] || { lab_console_tail "$h"; lab_die "$h: sshd made no host keys within 60s"; }
	for f in $(lab_host_key_files "$h"); do
		# A regular file inside the host's root, not a link to somewhere else
		# on this machine, and a valid public key.
		if [ -L "$r/etc" ] || [ -L "$r/etc/ssh" ] || [ -L "$f" ] || ! ssh-keygen -l -f "$f" >/dev/null 2>&1; then
			lab_die "$h: $f is not a plain public key file"
		fi
		awk -v names="$h,$(lab_ip "$h")" '{ print names, $1, $2 }' "$f"
	done
}

# lab_known_set HOST [FILE]: replace HOST's lines in the lab's known_hosts by
# FILE's (none: remove them), atomically, leaving the other lines as they are.
lab_known_set() {
	local h=$1 ip4 tmp
	ip4=$(lab_ip "$h")
	tmp=$(mktemp "$LAB_KNOWN_HOSTS.XXXXXX")
	if [ -f "$LAB_KNOWN_HOSTS" ]; then
		awk -v h="$h" -v ip="$ip4" '{ n = split($1, a, ",")
			for (i = 1; i <= n; i++) if (a[i] == h || a[i] == ip) next
			print }' "$LAB_KNOWN_HOSTS" >"$tmp" || { rm -f "$tmp"; return 1; }
	fi
	if [ $# -gt 1 ]; then cat "$2" >>"$tmp" || { rm -f "$tmp"; return 1; }; fi
	chmod 644 "$tmp"
	mv -f "$tmp" "$LAB_KNOWN_HOSTS"
}

# --- wait: ssh works (strict host key check) and systemd is up --------------------
# lab_wait_host HOST: log in (retrying while sshd is not up yet) and wait for
# the end of boot: ssh answers ~0.5 s before boot has finished, hence `--wait`.
lab_wait_host() {
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
		lab_console_tail "$h"
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
