#!/usr/bin/env bash
# `make demo`: the main job on the local lab. Boots three bare Debian 12
# hosts (systemd-nspawn), runs `haprov apply inventories/lab.yml` to turn
# them into a healthy etcd + Patroni + HAProxy cluster, then shows
# `haprov status`. The lab stays up for you to look at; `make lab-down`
# stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/lab/lab-up.sh
./haprov validate inventories/lab.yml
t0=$(date +%s.%N)
./haprov apply inventories/lab.yml
echo "apply took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
./haprov status inventories/lab.yml
cat <<'EOT'

The lab is up. Try:
  ./haprov plan inventories/lab.yml       # nothing to do: exit 0
  ./haprov status inventories/lab.yml
  make lab-down                           # stop the lab
EOT
