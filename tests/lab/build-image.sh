#!/usr/bin/env bash
# Build the lab's base image (Debian 12 rootfs) into the image cache:
#   /var/cache/haprov-lab/<key>/{base/,id_ed25519,id_ed25519.pub,built,build.log}
# where <key> is a short hash of this file and of the settings of lab.env that
# shape the image (LAB_IMAGE_KEY there). Does nothing when that image is
# already built. Runs as root (debootstrap, chroot, mounts).
#
# The image is "PREINSTALL=0": etcd, Patroni, PostgreSQL and HAProxy are NOT
# installed, only their .debs (and their dependencies') sit in apt's cache with
# the package lists, so the tool under test installs them for real with
# apt-get on hosts that have no route to a mirror.
set -euo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"

[ "$(id -u)" = 0 ] || lab_die "build-image.sh must run as root (debootstrap, chroot, mounts)"
lab_need_tools debootstrap=debootstrap ssh-keygen=openssh-client flock=util-linux

mkdir -p "$LAB_CACHE_ROOT"
# One build at a time on this machine; lab-up holds the lock shared while it
# mounts an image, so the pruning below never removes an image being mounted.
exec 9>"$LAB_LOCK"
if ! flock -n -x 9; then
	echo "lab: waiting for another image build (lock $LAB_LOCK)"
	flock -x 9
fi

if [ -f "$LAB_IMAGE/built" ]; then
	echo "lab: image $LAB_IMAGE_KEY already built ($LAB_IMAGE)"
	exit 0
fi

# umount_under DIR: unmount everything mounted at or below DIR, deepest first.
# A build killed midway leaves /proc, /sys and /dev mounted in its chroot;
# removing the tree before unmounting would delete the HOST's /dev nodes.
umount_under() {
	local dir=$1 m
	awk '{ print $2 }' /proc/mounts | while read -r m; do
		m=$(printf '%b' "$m") # /proc/mounts escapes spaces as \040
		case $m in "$dir" | "$dir"/*) echo "$m" ;; esac
	done | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" || true
	done
}

# Leftovers of builds that crashed: nobody else is building (we hold the lock
# exclusively), so every .build-* dir is dead. A dir named like the final image
# but without its `built` stamp cannot come from us (the stamp is written
# before the rename), but take no chances with it either.
for d in "$LAB_CACHE_ROOT"/.build-* "$LAB_IMAGE"; do
	[ -e "$d" ] || continue
	echo "lab: removing unfinished build $d"
	umount_under "$d"
	rm -rf --one-file-system "$d"
done

TMP=$(mktemp -d "$LAB_CACHE_ROOT/.build-$LAB_IMAGE_KEY.XXXXXX")
BASE=$TMP/base
LOG=$TMP/build.log
on_exit() {
	local rc=$?
	umount_under "$TMP"
	if [ -d "$TMP" ]; then # still there: the build did not complete
		echo "lab: image build failed (exit $rc); last lines of $LOG:" >&2
		tail -n 25 "$LOG" >&2 2>/dev/null || true
		rm -rf --one-file-system "$TMP"
	fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM HUP

# logged CMD...: run CMD with its output in the build log (shown on failure).
logged() { "$@" >>"$LOG" 2>&1; }

t0=$(lab_now)
echo "lab: building image $LAB_IMAGE_KEY (log kept in $LAB_IMAGE/build.log)"

# --- the mirror this machine's apt already uses (never hardcoded) -----------
mirror_for_suite() { # SUITE: first URI that serves it, deb822 then one-line
	local suite=$1 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '
			function flush() { if (u != "" && ok) { print u; exit } u = ""; ok = 0 }
			/^[[:space:]]*$/ { flush(); next }
			/^URIs:/ { u = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
			END { flush() }' "$f"
	done
	{ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
		awk -v s="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++)
			if ($i ~ /^[a-z]+:\/\//) { if ($(i + 1) == s) print $i; break } }'
}
MIRROR=$(mirror_for_suite "$LAB_SUITE" | head -n1) || true
SEC_MIRROR=$(mirror_for_suite "$LAB_SUITE-security" | head -n1) || true
[ -n "$MIRROR" ] || lab_die "no '$LAB_SUITE' mirror in this machine's apt sources"
echo "lab:   mirror $MIRROR, security ${SEC_MIRROR:-none}"

# --- debootstrap: minimal Debian with systemd and sshd ----------------------
logged debootstrap --variant=minbase --include="$LAB_BASE_PKGS" \
	"$LAB_SUITE" "$BASE" "$MIRROR"
t1=$(lab_now)
echo "lab:   debootstrap: $(lab_elapsed "$t0")s"

{
	echo "deb $MIRROR $LAB_SUITE main"
	echo "deb $MIRROR $LAB_SUITE-updates main"
	if [ -n "$SEC_MIRROR" ]; then echo "deb $SEC_MIRROR $LAB_SUITE-security main"; fi
} >"$BASE/etc/apt/sources.list"

mount --bind /proc "$BASE/proc"
mount --bind /sys "$BASE/sys"
mount --rbind /dev "$BASE/dev" # --rbind: apt wants /dev/pts for its log
# On a host whose mounts are shared (systemd's default), unmounting the chroot's
# /dev/pts would propagate to the host's own /dev/pts: make them slaves.
mount --make-rslave "$BASE/proc"
mount --make-rslave "$BASE/sys"
mount --make-rslave "$BASE/dev"
cp /etc/resolv.conf "$BASE/etc/resolv.conf"
in_chroot() { chroot "$BASE" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# The lists fetched here stay in the image: the hosts cannot fetch them, and
# apt needs them to resolve an install from the cached .debs.
logged in_chroot apt-get update -q
# Download with and without Recommends, so that haprov (or a person) may
# install either way and still find every .deb in the cache.
# shellcheck disable=SC2086 # word splitting of the package list is wanted
logged in_chroot apt-get install -y -q --download-only $LAB_CACHED_PKGS
# shellcheck disable=SC2086
logged in_chroot apt-get install -y -q --download-only --no-install-recommends \
	$LAB_CACHED_PKGS
# Prove it with the network cut (a proxy that refuses): nothing is left to fetch.
for rec in --install-recommends --no-install-recommends; do
	# shellcheck disable=SC2086
	logged in_chroot apt-get install -y -q --download-only "$rec" \
		-o Acquire::http::Proxy=http://127.0.0.1:9 -o Acquire::Retries=0 \
		$LAB_CACHED_PKGS ||
		lab_die "the cache misses packages for an offline install ($rec)"
done
ndebs=$(find "$BASE/var/cache/apt/archives" -name '*.deb' | wc -l)
echo "lab:   packages: $ndebs .debs cached in $(lab_elapsed "$t1")s"

umount_under "$BASE"
# The hosts have no DNS; resolv.conf is written per host at boot.
rm -f "$BASE/etc/resolv.conf"

# --- apt on the hosts: offline, from the cache ------------------------------
cat >"$BASE/etc/apt/apt.conf.d/90haprov-lab" <<'EOF'
// haprov lab: the hosts have no route to any mirror. Packages are installed
// from the .debs cached in /var/cache/apt/archives with the lists in
// /var/lib/apt/lists, both fetched when the image was built.
// Keep downloaded packages (also for the `apt` front end).
APT::Keep-Downloaded-Packages "true";
// An `apt-get update` on a host can only fail to fetch: report that as a
// warning and keep the lists it has (the default, but state it).
APT::Update::Error-Mode "persistent";
// The image may be older than the Release files' Valid-Until (security
// suite: a week); those lists are still the ones the cached .debs match.
Acquire::Check-Valid-Until "false";
// Fail fast instead of retrying a network that does not exist.
Acquire::Retries "0";
Acquire::http::Timeout "5";
EOF

# --- ssh: root login with the operator key, host keys made per host ---------
ssh-keygen -q -t ed25519 -N '' -C haprov-lab-operator -f "$TMP/id_ed25519"
install -d -m 700 "$BASE/root/.ssh"
install -m 600 "$TMP/id_ed25519.pub" "$BASE/root/.ssh/authorized_keys"
# No host keys in the image: hosts sharing keys could impersonate each other.
rm -f "$BASE"/etc/ssh/ssh_host_*
# Debian's ssh.service first runs `sshd -t`, which fails without host keys:
# generate each host's own keys at its first boot, then test the config.
mkdir -p "$BASE/etc/systemd/system/ssh.service.d"
cat >"$BASE/etc/systemd/system/ssh.service.d/hostkeys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF

# --- network.target means "address configured", as with ifupdown ------------
# Without this, services ordered only After=network.target (etcd) start before
# networkd has put the address on host0 and fail to bind it.
mkdir -p "$BASE/etc/systemd/system/systemd-networkd-wait-online.service.d" \
	"$BASE/etc/systemd/system/network.target.wants"
cat >"$BASE/etc/systemd/system/systemd-networkd-wait-online.service.d/lab.conf" <<'EOF'
[Unit]
Before=network.target
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --timeout=30
EOF
ln -sf /lib/systemd/system/systemd-networkd-wait-online.service \
	"$BASE/etc/systemd/system/network.target.wants/systemd-networkd-wait-online.service"

logged in_chroot systemctl mask systemd-resolved.service
logged in_chroot systemctl enable systemd-networkd.service ssh.service
# Blank machine-id: every host gets its own at first boot.
: >"$BASE/etc/machine-id"
rm -f "$BASE/var/lib/dbus/machine-id"

# --- publish: stamp, then one atomic rename ---------------------------------
size=$(du -sxh "$BASE" | cut -f1)
secs=$(lab_elapsed "$t0")
printf 'key=%s suite=%s debs=%s size=%s seconds=%s built=%s\n' \
	"$LAB_IMAGE_KEY" "$LAB_SUITE" "$ndebs" "$size" "$secs" \
	"$(date -u +%FT%TZ)" >"$TMP/built"
mv -T "$TMP" "$LAB_IMAGE"
echo "lab: image built in ${secs}s ($size): $LAB_IMAGE"

# --- prune images of older recipes that no lab has mounted ------------------
for d in "$LAB_CACHE_ROOT"/*/; do
	d=${d%/}
	if [ "$d" = "$LAB_IMAGE" ] || [ ! -f "$d/built" ]; then continue; fi
	if grep -qF "lowerdir=$d/base" /proc/mounts; then
		echo "lab: keeping older image $(basename "$d"): a lab still uses it"
	else
		echo "lab: removing older image $(basename "$d")"
		rm -rf --one-file-system "$d"
	fi
done
