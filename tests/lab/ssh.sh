#!/usr/bin/env bash
# ssh to a lab host as root with the lab's operator key and STRICT host key
# checking against the lab's known_hosts (written by lab-up.sh).
#   tests/lab/ssh.sh HOST [COMMAND...]     HOST: a lab host name or its address
set -euo pipefail
# shellcheck source=lab.env
. "$(dirname "${BASH_SOURCE[0]}")/lab.env"

if [ $# -lt 1 ]; then
	echo "usage: $0 HOST [COMMAND...]   (hosts: $LAB_ALL_HOSTS)" >&2
	exit 2
fi
host=$1
shift
if ! ip=$(lab_ip "$host"); then
	for h in $LAB_ALL_HOSTS; do [ "$(lab_ip "$h")" = "$host" ] && ip=$host; done
	[ -n "$ip" ] || lab_die "unknown lab host '$host' (hosts: $LAB_ALL_HOSTS)"
fi
if [ ! -r "$LAB_KEY_FILE" ] || [ ! -s "$LAB_KNOWN_HOSTS" ]; then
	lab_die "no lab key or known_hosts in $LAB_STATE: bring the lab up with 'make lab-up'"
fi
exec ssh "${LAB_SSH_OPTS[@]}" "root@$ip" "$@"
