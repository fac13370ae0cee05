#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration tests that run real
# containers (as root) on a busybox rootfs built from busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/make-rootfs.sh tests/rootfs >/dev/null
cargo build --release -p berth-shim
# Integration tests share host resources (cgroups, bridges, ports): one at a time per binary.
BERTH_BIN="$PWD/target/release/berth" cargo test --workspace -- --test-threads=1
