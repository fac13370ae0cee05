#!/usr/bin/env bash
# 1000 create/start/delete cycles on one bridge, 8 in parallel, with the
# release build: prints the time and the host-wide footprint (leases, host
# ports, nft rules, veths, cgroup dirs, state entries, mounts) before and after.
# The same test runs in CI with 4 x 10 cycles (tests/crash.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p berth-cli >/dev/null
[ -x tests/rootfs/bin/busybox ] || scripts/make-rootfs.sh tests/rootfs >/dev/null
BERTH_BIN=$PWD/target/release/berth BERTH_WORKERS=${WORKERS:-8} BERTH_CYCLES=${CYCLES:-125} \
    cargo test -q --test crash cycles -- --test-threads=1 --nocapture 2>&1 | grep -E "cycles \(|test result"
