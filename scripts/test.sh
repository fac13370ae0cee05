#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration tests that run real
# containers (as root) on a busybox rootfs built from busybox-static, natively
# (this host's cgroup layout) and then on pure cgroup v2 in a QEMU guest
# (scripts/vm-test.sh; BERTH_VM=0 leaves that out and says so).
# Ends with one line summing both: `N passed, M failed, K skipped`. A test that skips is
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

# hybrid (v1 controllers) or pure v2, from /sys/fs/cgroup's file system type.
cgroup_layout() {
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then echo "pure cgroup v2"; else echo "hybrid cgroups"; fi
}
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
passed=$((ran - logged))
echo "native ($(cgroup_layout), kernel $(uname -r)): $passed passed, $failed failed, $skipped skipped"

# The same tests on pure cgroup v2 (scripts/vm-test.sh: Debian 12's kernel in a
# QEMU guest), unless BERTH_VM=0 says not to (then the line says so).
if [ "${BERTH_VM:-1}" = 0 ]; then
    echo "pure cgroup v2 guest: not run (BERTH_VM=0)"
else
    set +e
    scripts/vm-test.sh 2>&1 | tee "$work/vm.log"
    vm_status=${PIPESTATUS[0]}
    set -e
    line=$(grep -E '^pure cgroup v2 guest: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$work/vm.log" | tail -1)
    if [ -z "$line" ]; then
        echo "pure cgroup v2 guest: no result: counted as 1 failure"
        failed=$((failed + 1))
    else
        read -r p f k <<<"$(echo "$line" | grep -oE '[0-9]+ (passed|failed|skipped)' | awk '{print $1}' | tr '\n' ' ')"
        passed=$((passed + p))
        failed=$((failed + f))
        skipped=$((skipped + k))
        echo "$line"
    fi
    [ "$vm_status" -eq 0 ] || status=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
