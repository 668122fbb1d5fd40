#!/usr/bin/env bash
# Smoke test of the lab; the caller brings it up and down (make lab-up).
# Each host takes an ssh login with the operator key under STRICT host key
# checking against the lab's known_hosts and says systemd is `running`; a
# known_hosts entry holding another host's key, or none, is refused.
set -u
# shellcheck source=../lab/lab.env
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lab.env"

passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# lab_ssh KNOWN_HOSTS IP CMD...: the login haprov's users make, strictly checked.
lab_ssh() {
	local kh=$1 ip=$2
	shift 2
	ssh -F /dev/null -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" \
		-o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5 \
		-i "$LAB_KEY_FILE" -o IdentitiesOnly=yes "root@$ip" "$@"
}

if [ -r "$LAB_KEY_FILE" ] && [ -s "$LAB_KNOWN_HOSTS" ]; then
	ok "lab key and known_hosts exist ($LAB_STATE)"
else
	not_ok "lab key and known_hosts exist ($LAB_STATE): is the lab up?"
fi

if ip -o -4 addr show dev "$LAB_BR" 2>/dev/null | grep -q " $LAB_NET.1/24 "; then
	ok "bridge $LAB_BR is up with $LAB_NET.1/24"
else
	not_ok "bridge $LAB_BR is up with $LAB_NET.1/24: is the lab up?"
fi

reachable=""
for h in $LAB_HOSTS; do
	ip=$(lab_ip "$h")
	if grep -q "^$h,$ip " "$LAB_KNOWN_HOSTS" 2>/dev/null; then
		ok "$h: known_hosts has its keys under '$h,$ip'"
	else
		not_ok "$h: known_hosts has its keys under '$h,$ip'"
	fi
	out=$(lab_ssh "$LAB_KNOWN_HOSTS" "$ip" systemctl is-system-running 2>&1)
	if [ "$out" = running ]; then
		reachable="$reachable $h"
		ok "$h ($ip): strict ssh login works, systemd is running"
	else
		not_ok "$h ($ip): strict ssh login works, systemd is running (got: $out)"
	fi
	out=$(lab_ssh "$LAB_KNOWN_HOSTS" "$ip" 'ip -4 route show default; hostname' 2>&1)
	if [ "$out" = "$h" ]; then
		ok "$h: right hostname, no default route out of the lab"
	else
		not_ok "$h: right hostname, no default route out of the lab (got: $out)"
	fi
done

# Each host made its own host keys: no key is shared by two hosts.
dups=$(awk '{ print $3 }' "$LAB_KNOWN_HOSTS" 2>/dev/null | sort | uniq -d | wc -l)
keys=$(wc -l <"$LAB_KNOWN_HOSTS" 2>/dev/null || echo 0)
if [ "$keys" -gt 0 ] && [ "$dups" = 0 ]; then
	ok "every host has its own host keys ($keys keys, none shared)"
else
	not_ok "every host has its own host keys ($keys keys, $dups shared)"
fi

# A wrong key: the second host's keys under the first host's name and address.
# Only meaningful when the first host takes the right key: a refusal must come
# from the key, not from the host being down (or from someone else's sshd).
read -r h1 h2 _ <<<"$LAB_HOSTS"
ip1=$(lab_ip "$h1") ip2=$(lab_ip "$h2")
grep "^$h2,$ip2 " "$LAB_KNOWN_HOSTS" 2>/dev/null | sed "s/^[^ ]*/$h1,$ip1/" >"$tmp/wrong"
if [[ " $reachable " != *" $h1 "* ]]; then
	not_ok "$h1 with $h2's key in known_hosts is refused (cannot tell: $h1 is not reachable)"
elif [ -s "$tmp/wrong" ] &&
	out=$(lab_ssh "$tmp/wrong" "$ip1" echo logged-in 2>&1); then
	not_ok "$h1 with $h2's key in known_hosts is refused (ssh logged in: $out)"
elif grep -q "Host key verification failed" <<<"$out"; then
	ok "$h1 with $h2's key in known_hosts is refused (host key verification failed)"
else
	not_ok "$h1 with $h2's key in known_hosts is refused for the host key (got: $out)"
fi

# An unknown host: no entry at all is refused too (no trust on first use).
: >"$tmp/empty"
if [[ " $reachable " != *" $h1 "* ]]; then
	not_ok "$h1 missing from known_hosts is refused (cannot tell: $h1 is not reachable)"
elif out=$(lab_ssh "$tmp/empty" "$ip1" echo logged-in 2>&1); then
	not_ok "$h1 missing from known_hosts is refused (ssh logged in: $out)"
elif grep -q "Host key verification failed" <<<"$out"; then
	ok "$h1 missing from known_hosts is refused (host key verification failed)"
else
	not_ok "$h1 missing from known_hosts is refused for the host key (got: $out)"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
