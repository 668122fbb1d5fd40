#!/usr/bin/env bash
# vagrant/inventory.sh: write a haprov inventory and a known_hosts file for
# the VMs of vagrant/Vagrantfile (pg1-pg3 on 192.168.56.0/24).
#
# The VMs' host keys are read by two independent paths that must agree:
#   (a) over vagrant's own channel: `vagrant ssh NAME -c 'cat
#       /etc/ssh/ssh_host_*_key.pub'`, authenticated with the key vagrant
#       made for that VM;
#   (b) `ssh-keyscan` of the VM's private address (192.168.56.x).
# A key type both return must be the same key, and both must return an
# ed25519 key; otherwise the script refuses, names the VM and writes
# nothing. Only keys both paths returned are trusted. It never turns off
# host-key checking, and it copies none of the options `vagrant ssh-config`
# prints (127.0.0.1, vagrant's user and key, StrictHostKeyChecking no):
# that output only names the VMs, and is data, never run.
#
# Run `./inventory.sh --help` for the options.
set -u

NET=192.168.56 # the Vagrantfile's private network (/24)
HERE=$(cd "$(dirname "$0")" && pwd) || exit 1
PROG=${0##*/}
# the host key types read, strongest first (the order of known_hosts)
KEY_TYPES="ssh-ed25519 ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521 ssh-rsa"

usage() {
	cat <<EOF
usage: $PROG [-o DIR] [--identity FILE] [--ssh-config FILE --keys-dir DIR]

Writes DIR/inventory.yml (cluster "vm": pg1-pg3 with roles etcd, patroni,
haproxy) and DIR/known_hosts (the VMs' host keys) for the VMs of
$HERE/Vagrantfile, and prints the fingerprints of the host keys it trusted.

Each VM's host keys are read twice, over \`vagrant ssh NAME\` and by
ssh-keyscan of its private address; every key type both return must be the
same key, and both must return an ed25519 key, or nothing is written.

  -o, --output DIR   where to write (default: $HERE/.generated)
  --identity FILE    the private key haprov logs in with (default: the
                     public key HAPROV_SSH_PUBKEY without .pub, that is
                     ${HAPROV_SSH_PUBKEY:-~/.ssh/id_ed25519.pub} -> the same without .pub)
  --ssh-config FILE  recorded \`vagrant ssh-config\` output instead of running
                     vagrant (tests); needs --keys-dir
  --keys-dir DIR     recordings per VM NAME (tests): DIR/NAME.pub (host keys
                     read over vagrant ssh), DIR/NAME.scan (ssh-keyscan's
                     output), DIR/NAME.addr (\`ip -4 -br addr\` on the VM)
  -h, --help         this text

Without recordings it needs the VMs up (cd $HERE && vagrant up), vagrant,
ssh-keyscan and ssh-keygen. Exit status 0 when both files were written,
1 on any refusal (nothing written), 2 on a usage error.
EOF
}

die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}
usage_die() {
	printf '%s: %s (see --help)\n' "$PROG" "$*" >&2
	exit 2
}
# quote: hostile text shown safely in one line
quote() { printf '%q' "$1"; }

OUT=$HERE/.generated
IDENTITY=
SSH_CONFIG=
KEYS_DIR=
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	-o | --output | --identity | --ssh-config | --keys-dir)
		if [ $# -lt 2 ] || [ -z "$2" ]; then usage_die "$1 needs a value"; fi
		case $1 in
		-o | --output) OUT=$2 ;;
		--identity) IDENTITY=$2 ;;
		--ssh-config) SSH_CONFIG=$2 ;;
		--keys-dir) KEYS_DIR=$2 ;;
		esac
		shift 2
		;;
	*) usage_die "unknown argument $(quote "$1")" ;;
	esac
done
if [ -n "$SSH_CONFIG" ] && [ -z "$KEYS_DIR" ]; then usage_die "--ssh-config needs --keys-dir"; fi
if [ -z "$SSH_CONFIG" ] && [ -n "$KEYS_DIR" ]; then usage_die "--keys-dir needs --ssh-config"; fi
RECORDED=
[ -n "$SSH_CONFIG" ] && RECORDED=1

need="ssh-keygen"
[ -n "$RECORDED" ] || need="$need vagrant ssh-keyscan"
for tool in $need; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

# The private key: the public key the Vagrantfile installed, without .pub.
if [ -z "$IDENTITY" ]; then
	pub=${HAPROV_SSH_PUBKEY:-${HOME:-}/.ssh/id_ed25519.pub}
	case $pub in
	*.pub) IDENTITY=${pub%.pub} ;;
	*) die "HAPROV_SSH_PUBKEY=$(quote "$pub") does not end in .pub: name the private key with --identity FILE" ;;
	esac
fi
case $IDENTITY in
/*) ;;
*) IDENTITY=$PWD/$IDENTITY ;;
esac
if [[ $IDENTITY =~ [[:cntrl:]] ]]; then die "the identity path $(quote "$IDENTITY") holds a control character"; fi
if [ -z "$RECORDED" ] && [ ! -f "$IDENTITY" ]; then
	printf '%s: warning: %s does not exist; haprov needs it to log in\n' "$PROG" "$IDENTITY" >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/haprov-vagrant-inv.XXXXXX") || die "cannot make a temporary directory"
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() { rm -rf "$WORK" "$OUT/.inventory.yml.tmp.$$" "$OUT/.known_hosts.tmp.$$"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# vagrant_ssh NAME COMMAND: run COMMAND on the VM over vagrant's channel
vagrant_ssh() {
	(cd "$HERE" && vagrant ssh "$1" -c "$2" </dev/null 2>>"$WORK/vagrant.err") | tr -d '\r'
	return "${PIPESTATUS[0]}"
}

# --- the VMs' names: the Host lines of `vagrant ssh-config` ----------------
if [ -n "$RECORDED" ]; then
	if [ ! -f "$SSH_CONFIG" ] || [ ! -r "$SSH_CONFIG" ]; then
		die "cannot read the ssh-config recording $(quote "$SSH_CONFIG")"
	fi
	tr -d '\r' <"$SSH_CONFIG" >"$WORK/ssh-config" || die "cannot read $(quote "$SSH_CONFIG")"
else
	if ! (cd "$HERE" && vagrant ssh-config) >"$WORK/ssh-config.raw" 2>"$WORK/vagrant.err"; then
		sed 's/^/  /' "$WORK/vagrant.err" >&2
		die "\`vagrant ssh-config\` failed in $HERE: are the VMs up? (cd $HERE && vagrant up)"
	fi
	tr -d '\r' <"$WORK/ssh-config.raw" >"$WORK/ssh-config"
fi
HOSTS=()
while IFS= read -r line || [ -n "$line" ]; do
	# "Host NAME" or "Host=NAME", keyword case-insensitive as ssh_config's
	# ("HostName" is another keyword: no blank or = after "Host")
	if [[ $line =~ ^[[:space:]]*[Hh][Oo][Ss][Tt]([[:space:]]+|[[:space:]]*=[[:space:]]*)(.*)$ ]]; then
		name=${BASH_REMATCH[2]}
		name=${name%"${name##*[![:space:]]}"}
		if ! [[ $name =~ ^[a-z][a-z0-9-]{0,62}$ ]]; then
			die "refusing the VM name $(quote "$name") in the ssh-config: a name is a lowercase letter, then at most 62 lowercase letters, digits and '-'"
		fi
		for h in "${HOSTS[@]}"; do
			[ "$h" != "$name" ] || die "the VM name $name appears twice in the ssh-config"
		done
		HOSTS+=("$name")
	fi
done <"$WORK/ssh-config"
[ ${#HOSTS[@]} -gt 0 ] || die "no Host line in the ssh-config: no VM to write"

# --- per VM: address, host keys by both paths ------------------------------
valid_ipv4() {
	local IFS=. o
	[[ $1 =~ ^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$ ]] || return 1
	for o in $1; do [ "$o" -le 255 ] || return 1; done
}
is_key_type() {
	local t
	for t in $KEY_TYPES; do [ "$t" = "$1" ] && return 0; done
	return 1
}

: >"$WORK/known_hosts"
ADDRS=()
for h in "${HOSTS[@]}"; do
	if [ -n "$RECORDED" ]; then
		for ext in addr pub scan; do
			f=$KEYS_DIR/$h.$ext
			if [ ! -f "$f" ] || [ ! -r "$f" ]; then die "$h: no recording $(quote "$f")"; fi
			tr -d '\r' <"$f" >"$WORK/$h.$ext" || die "$h: cannot read $(quote "$f")"
		done
	else
		vagrant_ssh "$h" 'ip -4 -br addr' >"$WORK/$h.addr" ||
			die "$h: \`vagrant ssh $h -c 'ip -4 -br addr'\` failed: $(tail -n 3 "$WORK/vagrant.err")"
	fi

	# the private address: the one 192.168.56.x address of `ip -4 -br addr`
	awk -v net="$NET" '{ for (i = 3; i <= NF; i++) if (index($i, net ".") == 1) { sub("/.*", "", $i); print $i } }' \
		"$WORK/$h.addr" | sort -u >"$WORK/$h.addrs"
	n=$(wc -l <"$WORK/$h.addrs")
	[ "$n" -ge 1 ] || die "$h: no $NET.x address on the VM (is the private network up?)"
	[ "$n" -eq 1 ] || die "$h: $n addresses in $NET.0/24 on the VM: $(tr '\n' ' ' <"$WORK/$h.addrs")"
	addr=$(cat "$WORK/$h.addrs")
	valid_ipv4 "$addr" || die "$h: $(quote "$addr") is not an IPv4 address"
	case ${addr##*.} in 0 | 255) die "$h: $addr is not a host address of $NET.0/24" ;; esac
	for a in "${ADDRS[@]}"; do [ "$a" != "$addr" ] || die "$h: address $addr is another VM's too"; done
	ADDRS+=("$addr")

	if [ -z "$RECORDED" ]; then
		# (a) over vagrant's channel; "; true": a missing file is no failure,
		# so a non-zero status is vagrant's or ssh's own
		vagrant_ssh "$h" 'cat /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_rsa_key.pub 2>/dev/null; true' \
			>"$WORK/$h.pub" || die "$h: reading the host keys over \`vagrant ssh $h\` failed: $(tail -n 3 "$WORK/vagrant.err")"
		# (b) over the private network
		ssh-keyscan -T 10 -t ed25519,ecdsa,rsa "$addr" >"$WORK/$h.scan" 2>"$WORK/$h.scan.err"
	fi

	declare -A PUB=() SCAN=()
	# (a): "TYPE KEY [COMMENT]" per line
	while IFS= read -r line || [ -n "$line" ]; do
		[[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
		read -r t b _ <<<"$line"
		if ! is_key_type "$t" || ! [[ $b =~ ^[A-Za-z0-9+/]+={0,2}$ ]]; then
			die "$h: not a host key line in what \`vagrant ssh\` read: $(quote "$line")"
		fi
		[ -z "${PUB[$t]:-}" ] || die "$h: two $t keys in what \`vagrant ssh\` read"
		PUB[$t]=$b
	done <"$WORK/$h.pub"
	# (b): "ADDRESS TYPE KEY" per line, "#" lines are ssh-keyscan's banners
	while IFS= read -r line || [ -n "$line" ]; do
		[[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
		read -r a t b _ <<<"$line"
		if [ "$a" != "$addr" ] || ! is_key_type "$t" || ! [[ $b =~ ^[A-Za-z0-9+/]+={0,2}$ ]]; then
			die "$h: not a host key line of $addr in ssh-keyscan's output: $(quote "$line")"
		fi
		[ -z "${SCAN[$t]:-}" ] || die "$h: two $t keys in ssh-keyscan's output"
		SCAN[$t]=$b
	done <"$WORK/$h.scan"

	if [ -z "${PUB[ssh-ed25519]:-}" ]; then
		die "$h: no ed25519 host key read over \`vagrant ssh\` (/etc/ssh/ssh_host_ed25519_key.pub); refusing, nothing written"
	fi
	if [ -z "${SCAN[ssh-ed25519]:-}" ]; then
		[ -z "$RECORDED" ] && sed 's/^/  /' "$WORK/$h.scan.err" >&2
		die "$h: ssh-keyscan $addr returned no ed25519 host key; refusing, nothing written"
	fi
	for t in $KEY_TYPES; do
		if [ -z "${PUB[$t]:-}" ] || [ -z "${SCAN[$t]:-}" ]; then continue; fi
		if [ "${PUB[$t]}" != "${SCAN[$t]}" ]; then
			die "$h: its $t host key read over \`vagrant ssh\` differs from the one ssh-keyscan $addr got: someone else may answer at $addr, or the VM was re-created in between; refusing, nothing written"
		fi
		printf '%s %s %s\n' "$h,$addr" "$t" "${PUB[$t]}" >"$WORK/key"
		ssh-keygen -l -f "$WORK/key" >/dev/null 2>&1 || die "$h: its $t host key is not a valid public key"
		cat "$WORK/key" >>"$WORK/known_hosts"
	done
	unset PUB SCAN
done

# --- the inventory ---------------------------------------------------------
yaml_quote() { printf "'%s'" "${1//\'/\'\'}"; }
{
	cat <<EOF
# Written by vagrant/inventory.sh for the VMs of vagrant/Vagrantfile, each
# running etcd, Patroni + PostgreSQL 15 and HAProxy: \`haprov apply\` with
# this file turns them into a cluster. known_hosts, beside this file, holds
# the VMs' host keys: read over \`vagrant ssh\` and by ssh-keyscan of each
# private address, and the same both ways.
#
# Every key not written here takes its default; \`haprov validate FILE
# --print\` shows the effective inventory with all of them, and haprov's
# README.md ("Inventory reference") describes each key.

cluster:
  name: vm
  environment: test    # \`haprov drill\` runs here without --yes

ssh:
  user: root           # the Vagrantfile put the key in root's authorized_keys
  identity_file: $(yaml_quote "$IDENTITY")
  known_hosts: known_hosts   # relative to this file

hosts:
EOF
	i=0
	for h in "${HOSTS[@]}"; do
		printf '  - name: %s\n    address: %s\n    roles: [etcd, patroni, haproxy]\n' "$h" "${ADDRS[$i]}"
		i=$((i + 1))
	done
	cat <<EOF

patroni:
  pg_version: 15       # what Debian 12 ships
  # Who may connect to PostgreSQL (and replicate): the VMs' private network.
  allowed_networks: [$NET.0/24]
  dcs:
    # Patroni's rule: loop_wait + 2 * retry_timeout <= ttl (10 + 20 <= 30).
    ttl: 30
    loop_wait: 10
    retry_timeout: 10

haproxy:
  # Fast health checks: a switchover gap of about 2-3 s instead of 4-5 s
  # with HAProxy's common "inter 2s fall 3 rise 2".
  check:
    inter_ms: 1000
    fall: 2
    rise: 1

secrets:
  # Passwords are never written here: haprov generates them into the
  # secret store (default .haprov/vm.secrets beside this file).
  roles:
    - name: app        # a login role that owns one database
      databases: [appdb]

extensions:
  # Debian packages; pg_stat_statements and pgcrypto come with postgresql-15.
  packages: [postgresql-15-cron, postgresql-15-pgaudit]
  shared_preload_libraries: [pg_stat_statements, pg_cron, pgaudit]
  databases:
    - name: appdb
      extensions: [pgcrypto, pg_stat_statements, pgaudit]
    - name: postgres   # pg_cron lives in cron.database_name (postgres)
      extensions: [pg_cron]

tuning:
  # Checkpoints every 15 minutes at most, spread over 90% of the interval.
  checkpoint_timeout: 15min
  checkpoint_completion_target: 0.9
  max_wal_size: 1GB
  min_wal_size: 128MB
  wal_buffers: 16MB
EOF
} >"$WORK/inventory.yml"

# --- write both, each renamed into place -----------------------------------
echo "host keys trusted (read over vagrant ssh and by ssh-keyscan, the same both ways):"
ssh-keygen -l -f "$WORK/known_hosts" | sed 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || die "ssh-keygen cannot read the host keys"
mkdir -p "$OUT" || die "cannot make $(quote "$OUT")"
for f in inventory.yml known_hosts; do
	cp "$WORK/$f" "$OUT/.$f.tmp.$$" || { rm -f "$OUT/.$f.tmp.$$"; die "cannot write in $(quote "$OUT")"; }
done
for f in inventory.yml known_hosts; do
	mv -f "$OUT/.$f.tmp.$$" "$OUT/$f" || die "cannot rename into $(quote "$OUT/$f")"
done
echo "wrote $OUT/inventory.yml and $OUT/known_hosts"
echo "next: haprov validate $OUT/inventory.yml && haprov apply $OUT/inventory.yml"
