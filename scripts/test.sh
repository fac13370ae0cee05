#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration tests that run real
# containers (as root) on a busybox rootfs built from busybox-static.
# Ends with one line: `N passed, M failed, K skipped`. A test that skips is
# counted as skipped, not passed (berth-testkit logs each skip to a file);
# with BERTH_NO_SKIP=1 (.ci/run) a skip on a machine that meets the
# requirements is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/make-rootfs.sh tests/rootfs >/dev/null
cargo build -p berth-cli

work=$(mktemp -d /tmp/berth-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
export BERTH_SKIP_LOG=$work/skips
: > "$BERTH_SKIP_LOG"
# Integration tests share host resources (cgroups, bridges, ports): one test at a time.
set +e
BERTH_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/berth" \
    cargo test --workspace --no-fail-fast -- --test-threads=1 2>&1 | tee "$work/log"
status=${PIPESTATUS[0]}
# The library without its networking feature (no berth-net, tokio, rtnetlink) must build and pass.
cargo test -p berth-container --no-default-features --lib 2>&1 | tee -a "$work/log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
set -e

sum() { grep -E '^test result:' "$work/log" | grep -oE "[0-9]+ $1" | awk '{s += $1} END {print s + 0}'; }
ran=$(sum passed)
failed=$(sum failed)
ignored=$(sum ignored)
# A skipping test returns early and libtest counts it as passed.
logged=$(wc -l < "$BERTH_SKIP_LOG")
skipped=$((logged + ignored))
if [ "$skipped" -gt 0 ]; then
    echo "skipped tests:"
    sed 's/^/  /' "$BERTH_SKIP_LOG"
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    # A build error or a crashed test binary prints no failing test line.
    echo "cargo test exited $status without naming a failed test: counted as 1 failure"
    failed=1
fi
echo "$((ran - logged)) passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
