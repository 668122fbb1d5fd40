#!/usr/bin/env bash
# `make bench`: every benchmark, figures printed. Leaves the lab up.
set -u
cd "$(dirname "$0")/.."
bash bench/fresh-apply
bash bench/noop-apply
bash bench/dcs-change
bash bench/rolling-restart
bash bench/rotate-replication
bash bench/wal-move
bash bench/drill
bash bench/add-member
