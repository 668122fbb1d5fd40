#!/usr/bin/env bash
# vagrant/ without VMs and without a lab: vagrant/Vagrantfile passes
# `vagrant validate` (Debian's vagrant, installed here as root when missing):
# with no provider at all (--ignore-provider, plugins off), and each
# provider's block on its own (virtualbox with a VBoxManage stub that only
# reports a version, libvirt with Debian's vagrant-libvirt plugin), each
# of those two shown to catch a wrong setting; `vagrant up` without the
# operator's public key stops before any VM. Then vagrant/inventory.sh on the
# recordings in tests/vagrant/ (a `vagrant ssh-config` output, and per VM
# NAME.pub, NAME.scan, NAME.addr): its files equal tests/vagrant/golden/,
# it prints the fingerprints it trusted, copies none of vagrant's ssh
# options, and `haprov validate` accepts the inventory; the same through
# its live path with stub `vagrant` and `ssh-keyscan` commands replaying
# the recordings; and it refuses, naming the VM and writing nothing, a
# host key that differs between the two paths, a missing ed25519 key, a
# hostile Host name (never run), a bad address. shellcheck on both
# scripts. Prints "ok - ..." / "not ok - ..." and ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
# shellcheck source=tests/integration/tap.sh
. tests/integration/tap.sh

REC=$ROOT/tests/vagrant
GEN=$ROOT/vagrant/inventory.sh
ID=/home/alice/.ssh/id_ed25519 # the golden inventory's identity_file
T=$(mktemp -d /tmp/haprov-vagrant-test.XXXXXX)
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# apt_need PACKAGE COMMAND-OR-PATH: install Debian's PACKAGE as root when
# missing. A name without a slash is a command on PATH, never a file here:
# this tree has a directory called vagrant.
have() { case $1 in */*) [ -e "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac; }
apt_need() {
	if ! have "$2" && [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"$1" >>"$T/apt.log" 2>&1
	fi
	have "$2"
}
indent() { sed 's/^/#   /'; }

# ---- vagrant validate ------------------------------------------------------
# A clean environment: its own HOME (no ~/.vagrant.d, no ~/.ssh key), the
# .vagrant directory outside the tree. VAGRANT_NO_PLUGINS=1: no plugin
# loads, so no provider exists here (VirtualBox is not installed).
vagrant_env() {
	env -i HOME="$T/home" PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		VAGRANT_DOTFILE_PATH="$T/dot" "$@"
}
# vagrant_in DIR ARGS...: vagrant in DIR, in the clean environment
vagrant_in() {
	local dir=$1
	shift
	(cd "$dir" && vagrant_env "$@")
}
mkdir -p "$T/home" "$T/stub-vbox"
if ! apt_need vagrant vagrant; then
	notok "vagrant is installed (apt-get install vagrant needs root; see $T/apt.log)"
else
	ok "vagrant is installed ($(vagrant --version 2>/dev/null))"
	start=$(date +%s%N)
	vagrant_in vagrant VAGRANT_NO_PLUGINS=1 vagrant validate --ignore-provider >"$T/v1.out" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ "$rc" -eq 0 ] && grep -q 'validated successfully' "$T/v1.out"; then
		ok "vagrant validate --ignore-provider, no provider or plugin, no key in HOME (${ms} ms)"
	else
		notok "vagrant validate --ignore-provider, no provider or plugin, no key in HOME (exit $rc)"
		indent <"$T/v1.out"
	fi
	ssh-keygen -q -t ed25519 -N '' -C operator -f "$T/op" >/dev/null
	vagrant_in vagrant VAGRANT_NO_PLUGINS=1 HAPROV_SSH_PUBKEY="$T/op.pub" \
		vagrant validate --ignore-provider >"$T/v2.out" 2>&1
	check "vagrant validate --ignore-provider with HAPROV_SSH_PUBKEY set" \
		grep -q 'validated successfully' "$T/v2.out"

	# virtualbox's block: the provider is "usable" when VBoxManage answers
	# a supported version; validate runs nothing else of it
	printf '#!/bin/sh\necho 7.0.14r161095\n' >"$T/stub-vbox/VBoxManage"
	chmod +x "$T/stub-vbox/VBoxManage"
	vbox_validate() {
		(cd "$1" && env -i HOME="$T/home" PATH="$T/stub-vbox:/usr/sbin:/usr/bin:/sbin:/bin" \
			LANG=C.UTF-8 VAGRANT_DOTFILE_PATH="$T/dot" VAGRANT_NO_PLUGINS=1 \
			VAGRANT_DEFAULT_PROVIDER=virtualbox vagrant validate)
	}
	mkdir -p "$T/bad-vb" "$T/bad-lv"
	sed 's/^\( *\)vb\.cpus = 2/&\n\1vb.no_such_setting = 1/' vagrant/Vagrantfile >"$T/bad-vb/Vagrantfile"
	sed 's/^\( *\)lv\.cpus = 2/&\n\1lv.no_such_setting = 1/' vagrant/Vagrantfile >"$T/bad-lv/Vagrantfile"
	if vbox_validate vagrant >"$T/vb.out" 2>&1; then
		ok "vagrant validate, provider virtualbox (its block checked; VBoxManage stub)"
	else
		notok "vagrant validate, provider virtualbox (its block checked; VBoxManage stub)"
		indent <"$T/vb.out"
	fi
	if ! vbox_validate "$T/bad-vb" >"$T/vb-bad.out" 2>&1 && grep -q no_such_setting "$T/vb-bad.out"; then
		ok "... and it catches a wrong virtualbox setting"
	else
		notok "... and it catches a wrong virtualbox setting"
		indent <"$T/vb-bad.out"
	fi

	# libvirt's block: needs the vagrant-libvirt plugin (Debian's package)
	if ! apt_need vagrant-libvirt /usr/share/vagrant-plugins/plugins.d/vagrant-libvirt.json; then
		notok "vagrant-libvirt is installed (apt-get install vagrant-libvirt needs root; see $T/apt.log)"
	else
		if vagrant_in vagrant VAGRANT_DEFAULT_PROVIDER=libvirt vagrant validate >"$T/lv.out" 2>&1; then
			ok "vagrant validate, provider libvirt (its block checked; vagrant-libvirt plugin)"
		else
			notok "vagrant validate, provider libvirt (its block checked; vagrant-libvirt plugin)"
			indent <"$T/lv.out"
		fi
		if ! vagrant_in "$T/bad-lv" VAGRANT_DEFAULT_PROVIDER=libvirt vagrant validate >"$T/lv-bad.out" 2>&1 &&
			grep -q no_such_setting "$T/lv-bad.out"; then
			ok "... and it catches a wrong libvirt setting"
		else
			notok "... and it catches a wrong libvirt setting"
			indent <"$T/lv-bad.out"
		fi
	fi

	# no key: `vagrant up` stops while loading the Vagrantfile. The provider
	# named does not exist, so a Vagrantfile that did not stop could still
	# create nothing (it would fail on the provider instead).
	vagrant_in vagrant VAGRANT_NO_PLUGINS=1 HAPROV_SSH_PUBKEY="$T/missing.pub" \
		vagrant up --provider haprov-test-none >"$T/up.out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && grep -qF "haprov: $T/missing.pub does not exist" "$T/up.out" &&
		! grep -qi provider "$T/up.out"; then
		ok "vagrant up without the public key stops first, naming it (exit $rc)"
	else
		notok "vagrant up without the public key stops first, naming it (exit $rc)"
		indent <"$T/up.out"
	fi
fi

# ---- the generator on the recordings -----------------------------------------
# gen OUT ARGS...: run the generator, stdout in OUT.out, stderr in OUT.err
gen() {
	local out=$1
	shift
	"$GEN" -o "$out" "$@" >"$out.out" 2>"$out.err"
}
# same_as_golden DIR: both files equal the golden ones
same_as_golden() {
	diff -u "$REC/golden/inventory.yml" "$1/inventory.yml" >"$1.diff" 2>&1 &&
		diff -u "$REC/golden/known_hosts" "$1/known_hosts" >>"$1.diff" 2>&1
}

if gen "$T/good" --ssh-config "$REC/ssh-config" --keys-dir "$REC/keys" --identity "$ID"; then
	ok "inventory.sh on the recordings exits 0"
else
	notok "inventory.sh on the recordings exits 0"
	indent <"$T/good.err"
fi
if same_as_golden "$T/good"; then
	ok "inventory.yml and known_hosts equal tests/vagrant/golden/"
else
	notok "inventory.yml and known_hosts equal tests/vagrant/golden/"
	head -n 40 "$T/good.diff" | indent
fi
missing=0
while IFS= read -r fp; do
	grep -qF "$fp" "$T/good.out" || { missing=$((missing + 1)); echo "#   not printed: $fp"; }
done < <(ssh-keygen -l -f "$REC/golden/known_hosts")
n=$(grep -c . "$REC/golden/known_hosts")
check "it prints the fingerprint of each of the $n trusted host keys ($missing missing)" \
	test "$missing" -eq 0 -a "$n" -gt 0
if grep -nE 'StrictHostKeyChecking|UserKnownHostsFile|/dev/null|127\.0\.0\.1|private_key|IdentitiesOnly|User vagrant|22(22|00|01)' \
	"$T/good/inventory.yml" "$T/good/known_hosts" >"$T/leak"; then
	notok "none of vagrant's ssh options (127.0.0.1, its ports, key, StrictHostKeyChecking no) in the output"
	indent <"$T/leak"
else
	ok "none of vagrant's ssh options (127.0.0.1, its ports, key, StrictHostKeyChecking no) in the output"
fi
if grep -vE '^[[:space:]]*#' "$GEN" | grep -nE 'StrictHostKeyChecking|UserKnownHostsFile|accept-new|-o *CheckHostIP' >"$T/nocheck"; then
	notok "inventory.sh never turns host-key checking off"
	indent <"$T/nocheck"
else
	ok "inventory.sh never turns host-key checking off"
fi

if [ -x build/haprov ] || make -s haprov >"$T/build.log" 2>&1; then
	if build/haprov validate "$T/good/inventory.yml" >"$T/validate.out" 2>&1 &&
		build/haprov validate "$T/good/inventory.yml" --print 2>/dev/null |
		grep -qxF "  known_hosts: $T/good/known_hosts"; then
		ok "haprov validate accepts the generated inventory (known_hosts: the generated file): $(head -n 1 "$T/validate.out" | sed "s|$T/||")"
	else
		notok "haprov validate accepts the generated inventory (known_hosts: the generated file)"
		indent <"$T/validate.out"
	fi
else
	notok "haprov builds (make -s haprov)"
	tail -n 20 "$T/build.log" | indent
fi

# ---- the live path, with stub vagrant and ssh-keyscan -----------------------
# They replay the recordings and log their arguments; each refuses any
# command the generator should not send.
mkdir -p "$T/stub"
cat >"$T/stub/vagrant" <<EOF
#!/bin/bash
printf '%s\n' "vagrant \$* (in \$PWD)" >>"$T/stub.log"
[ "\$PWD" = "$ROOT/vagrant" ] || { echo "stub vagrant: run outside vagrant/" >&2; exit 9; }
case "\$1" in
ssh-config) [ \$# -eq 1 ] && exec cat "$REC/ssh-config" ;;
ssh)
	[ \$# -eq 4 ] && [ "\$3" = -c ] || { echo "stub vagrant: bad ssh call" >&2; exit 9; }
	case "\$4" in
	'ip -4 -br addr') exec cat "$REC/keys/\$2.addr" ;;
	'cat /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_rsa_key.pub 2>/dev/null; true')
		# as ssh with a tty would: CRLF line ends
		exec sed 's/\$/\r/' "$REC/keys/\$2.pub" ;;
	esac ;;
esac
echo "stub vagrant: unexpected call: \$*" >&2
exit 9
EOF
cat >"$T/stub/ssh-keyscan" <<EOF
#!/bin/bash
printf '%s\n' "ssh-keyscan \$*" >>"$T/stub.log"
addr=\${*: -1}
for h in pg1 pg2 pg3; do
	if grep -qw "\$addr" "$REC/keys/\$h.addr"; then
		echo "# \$addr:22 SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" >&2
		exec cat "$REC/keys/\$h.scan"
	fi
done
exit 1
EOF
chmod +x "$T/stub/vagrant" "$T/stub/ssh-keyscan"
: >"$T/stub.log"
if PATH="$T/stub:$PATH" HAPROV_SSH_PUBKEY="$ID.pub" gen "$T/live" && same_as_golden "$T/live"; then
	ok "the live path (stub vagrant and ssh-keyscan; identity from HAPROV_SSH_PUBKEY) gives the golden files"
else
	notok "the live path (stub vagrant and ssh-keyscan; identity from HAPROV_SSH_PUBKEY) gives the golden files"
	cat "$T/live.err" "$T/live.diff" 2>/dev/null | head -n 30 | indent
fi
want=1
for h in pg1 pg2 pg3; do
	i=${h#pg}
	grep -qxF "vagrant ssh $h -c ip -4 -br addr (in $ROOT/vagrant)" "$T/stub.log" &&
		grep -qF "vagrant ssh $h -c cat /etc/ssh/ssh_host_ed25519_key.pub" "$T/stub.log" &&
		grep -qxE "ssh-keyscan .*-t ed25519,ecdsa,rsa 192\.168\.56\.1$i" "$T/stub.log" || want=0
done
check "... it read every VM's address and keys over vagrant ssh, and scanned each private address" test "$want" -eq 1

# ---- refusals ------------------------------------------------------------------
# refused NAME VM PATTERN [ARGS...]: the generator on a copy of the
# recordings changed by the caller in $T/NAME (ssh-config, keys/) exits 1,
# its error names the VM and matches PATTERN, and writes nothing
R=0
# listing DIR: the names in DIR, on one line (none: empty)
listing() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null; }
refused() {
	local name=$1 vm=$2 pat=$3 desc=$4 out
	R=$((R + 1))
	out=$T/out-$R
	gen "$out" --ssh-config "$T/$name/ssh-config" --keys-dir "$T/$name/keys" --identity "$ID"
	local rc=$?
	if [ "$rc" -eq 1 ] && grep -qF -- "$vm" "$out.err" && grep -qE -- "$pat" "$out.err" &&
		[ -z "$(listing "$out")" ]; then
		ok "refused${vm:+, naming $vm}, nothing written: $desc"
	else
		notok "refused${vm:+, naming $vm}, nothing written: $desc (exit $rc; in $out: $(listing "$out"))"
		indent <"$out.err"
	fi
}
# case NAME: a fresh copy of the recordings in $T/NAME
case_dir() {
	rm -rf "${T:?}/$1"
	mkdir -p "$T/$1"
	cp -r "$REC/ssh-config" "$REC/keys" "$T/$1/"
}
# replace_key FILE TYPE KEY: FILE's TYPE key becomes KEY
replace_key() {
	awk -v t="$2" -v k="$3" '{ for (i = 1; i < NF; i++) if ($i == t) $(i + 1) = k; print }' "$1" >"$1.new" &&
		mv "$1.new" "$1"
}
key_of() { awk -v t="$2" '$1 == t { print $2 }' "$1"; }

# (b) sees another ed25519 key than (a): pg1's, so a valid key
case_dir ed-differs
replace_key "$T/ed-differs/keys/pg2.scan" ssh-ed25519 "$(key_of "$REC/keys/pg1.pub" ssh-ed25519)"
refused ed-differs pg2 'ssh-ed25519 host key .*differs' "pg2's ed25519 key from ssh-keyscan is not the one vagrant ssh read"
# the same refusal leaves an earlier run's files as they were
mkdir -p "$T/keep"
echo old >"$T/keep/inventory.yml"
echo old >"$T/keep/known_hosts"
gen "$T/keep" --ssh-config "$T/ed-differs/ssh-config" --keys-dir "$T/ed-differs/keys" --identity "$ID"
rc=$?
check "... and leaves an earlier run's inventory.yml and known_hosts as they were (exit $rc; $(listing "$T/keep"))" \
	test "$rc" -eq 1 -a "$(cat "$T/keep/inventory.yml" "$T/keep/known_hosts")" = "$(printf 'old\nold')" \
	-a "$(listing "$T/keep")" = "inventory.yml known_hosts "

case_dir ecdsa-differs
replace_key "$T/ecdsa-differs/keys/pg3.pub" ecdsa-sha2-nistp256 "$(key_of "$REC/keys/pg1.pub" ecdsa-sha2-nistp256)"
refused ecdsa-differs pg3 'ecdsa-sha2-nistp256 host key .*differs' "pg3's ecdsa key differs between the two paths"

case_dir no-ed-scan
grep -v ssh-ed25519 "$REC/keys/pg1.scan" >"$T/no-ed-scan/keys/pg1.scan"
refused no-ed-scan pg1 'no ed25519' "ssh-keyscan returned no ed25519 key for pg1 (ecdsa and rsa match)"
case_dir no-ed-pub
grep -v ssh-ed25519 "$REC/keys/pg3.pub" >"$T/no-ed-pub/keys/pg3.pub"
refused no-ed-pub pg3 'no ed25519' "vagrant ssh read no ed25519 key for pg3"
case_dir bad-key
# shellcheck disable=SC2016 # a literal $(id) in the data
sed 's/ssh-ed25519 AAAA/ssh-ed25519 $(id)AAAA/' "$REC/keys/pg2.pub" >"$T/bad-key/keys/pg2.pub"
refused bad-key pg2 'not a host key line' "a key line that is not base64 (pg2.pub)"

case_dir bad-addr
sed 's/192\.168\.56\.12\//192.168.56.312\//' "$REC/keys/pg2.addr" >"$T/bad-addr/keys/pg2.addr"
refused bad-addr pg2 'not an IPv4 address' "pg2's address 192.168.56.312"
case_dir no-addr
grep -v 192.168.56 "$REC/keys/pg3.addr" >"$T/no-addr/keys/pg3.addr"
refused no-addr pg3 'no 192\.168\.56\.x address' "pg3 has no address on the private network"
case_dir scan-other
sed 's/^192\.168\.56\.11 /192.168.56.99 /' "$REC/keys/pg1.scan" >"$T/scan-other/keys/pg1.scan"
refused scan-other pg1 'not a host key line of 192\.168\.56\.11' "ssh-keyscan answered for another address than pg1's"

# hostile Host names: refused, never run, no file made from them
canary=$T/canary
for bad in 'pg1;rm -rf /' "\$(touch $canary)" "\`touch $canary\`" '../pg1' 'PG1' 'pg1 pg2' \
	'1pg' "pg1$(printf '\033')[31m" "p$(printf 'g%.0s' $(seq 1 63))"; do
	case_dir hostile
	awk -v bad="$bad" '$1 == "Host" && $2 == "pg2" { print "Host " bad; next } { print }' \
		"$REC/ssh-config" >"$T/hostile/ssh-config"
	refused hostile "$(printf '%q' "$bad")" 'refusing the VM name' "a hostile Host name"
done
check "no hostile name was run (no $canary)" test ! -e "$canary"
case_dir dup
sed 's/^Host pg3$/Host pg1/' "$REC/ssh-config" >"$T/dup/ssh-config"
refused dup pg1 'twice' "a VM name twice"
case_dir none
grep -v '^Host ' "$REC/ssh-config" >"$T/none/ssh-config"
refused none '' 'no Host line' "an ssh-config without Host lines"

# ---- usage -------------------------------------------------------------------
"$GEN" --help >"$T/help" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q -- '--keys-dir' "$T/help"; then
	ok "--help exits 0 and shows the options"
else
	notok "--help exits 0 and shows the options (exit $rc)"
fi
"$GEN" --bogus >"$T/bogus" 2>&1
rc=$?
check "an unknown option exits 2 (exit $rc)" test "$rc" -eq 2
"$GEN" --ssh-config "$REC/ssh-config" -o "$T/half" >"$T/half.out" 2>&1
rc=$?
check "--ssh-config without --keys-dir exits 2, writing nothing (exit $rc)" \
	test "$rc" -eq 2 -a ! -e "$T/half"

# ---- shellcheck ------------------------------------------------------------------
if apt_need shellcheck shellcheck; then
	if shellcheck -x vagrant/inventory.sh tests/integration/12-vagrant.sh >"$T/sc" 2>&1; then
		ok "shellcheck: vagrant/inventory.sh, tests/integration/12-vagrant.sh"
	else
		notok "shellcheck: vagrant/inventory.sh, tests/integration/12-vagrant.sh"
		head -n 40 "$T/sc" | indent
	fi
else
	notok "shellcheck is installed (apt-get install shellcheck needs root)"
fi

finish
