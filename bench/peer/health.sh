#!/usr/bin/env bash
# The health check shared by haprov and its Ansible peer (plaintext: haprov
# with `tls: false`), run from this machine against the lab:
#   1. every etcd member's GET :2379/health says healthy
#   2. Patroni's GET :8008/cluster: exactly one leader, every member running
#   3. the leader's GET :8008/patroni: every other member streaming
#      (pg_stat_replication's state)
#   4. on every HAProxy host: the stats page's primary backend has exactly
#      one server UP, the leader, and a connection to its port 5000 lands
#      on a primary (pg_is_in_recovery() = f) at the leader's address
# Prints what it checks and exits non-zero on the first failure.
# The passwords come from SECRETS (default: this directory's .secrets;
# haprov's: SECRETS=inventories/.haprov/lab.secrets), files superuser and
# haproxy_stats; they reach curl and psql on stdin and in the environment,
# never on a command line.
#   health.sh [HOST_ADDRESS...]   (default: the lab's 10.213.0.11-13)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SECRETS=${SECRETS:-$here/.secrets}
hosts=("$@")
[ ${#hosts[@]} -gt 0 ] || hosts=(10.213.0.11 10.213.0.12 10.213.0.13)
n=${#hosts[@]}
fail() { echo "health: FAIL: $*" >&2; exit 1; }
ok() { echo "health: ok: $*"; }
get() { curl -fsS --max-time 5 "$@"; }

for a in "${hosts[@]}"; do
	h=$(get "http://$a:2379/health" | jq -r .health) || fail "etcd $a: no answer"
	[ "$h" = true ] || fail "etcd $a: health $h"
done
ok "etcd: all $n members healthy"

cl=$(get "http://${hosts[0]}:8008/cluster") || fail "patroni: GET /cluster"
nl=$(jq '[.members[] | select(.role == "leader")] | length' <<<"$cl")
[ "$nl" -eq 1 ] || fail "patroni: $nl leaders"
nr=$(jq '[.members[] | select(.state == "running" or .state == "streaming")] | length' <<<"$cl")
[ "$nr" -eq "$n" ] || fail "patroni: $nr of $n members running"
leader=$(jq -r '.members[] | select(.role == "leader") | .name' <<<"$cl")
laddr=$(jq -r '.members[] | select(.role == "leader") | .host' <<<"$cl")
ok "patroni: leader $leader ($laddr), $nr of $n members running"

ns=$(get "http://$laddr:8008/patroni" | jq '[.replication[]? | select(.state == "streaming")] | length') ||
	fail "patroni: GET /patroni on the leader"
[ "$ns" -eq $((n - 1)) ] || fail "patroni: $ns of $((n - 1)) replicas streaming"
ok "patroni: $ns of $((n - 1)) replicas streaming"

stats_pw=$(cat "$SECRETS/haproxy_stats") || fail "no $SECRETS/haproxy_stats"
export PGPASSWORD PGCONNECT_TIMEOUT=5
PGPASSWORD=$(cat "$SECRETS/superuser") || fail "no $SECRETS/superuser"
for a in "${hosts[@]}"; do
	up=$(printf 'user = "haprov:%s"\n' "$stats_pw" | get -K - "http://$a:8404/stats;csv" |
		awk -F, '$1 == "primary" && $2 != "FRONTEND" && $2 != "BACKEND" && $18 == "UP" { print $2 }' | paste -sd,) ||
		fail "haproxy $a: stats page"
	[ "$up" = "$leader" ] || fail "haproxy $a: primary backend UP: '${up}', leader $leader"
	r=$(psql -h "$a" -p 5000 -U postgres -d postgres -Atc \
		"select pg_is_in_recovery() || ' ' || host(inet_server_addr())") ||
		fail "haproxy $a: psql through port 5000"
	[ "$r" = "false $laddr" ] || fail "haproxy $a: port 5000 reached '$r', want 'false $laddr'"
	ok "haproxy $a: primary backend UP = $leader; port 5000 -> primary at $laddr"
done
echo "health: healthy"
