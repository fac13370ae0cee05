#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration tests that run real
# containers (as root) on a busybox rootfs built from busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/make-rootfs.sh tests/rootfs >/dev/null
cargo build -p berth-shim
# Integration tests share host resources (cgroups, bridges, ports): one test at a time.
BERTH_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/berth" cargo test --workspace --no-fail-fast -- --test-threads=1
