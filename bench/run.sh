#!/usr/bin/env bash
# `make bench`: every benchmark, figures printed. bench/compare, last,
# stops the lab at the end.
# bench/fanout needs no lab (loopback sshds of its own); bench/compare
# boots fresh labs itself (and writes bench/results/), so it runs last.
set -u
cd "$(dirname "$0")/.." || exit 1
bash bench/fanout
bash bench/fresh-apply
bash bench/noop-apply
bash bench/noop-topology
bash bench/dcs-change
bash bench/rolling-restart
bash bench/rotate-replication
bash bench/wal-move
bash bench/drill
bash bench/add-member
bash bench/profile
bash bench/compare
