#!/usr/bin/env bash
# CI's fuzz step: every target in fuzz/fuzz_targets runs for FUZZ_SECONDS
# (default 10) from its seed corpus fuzz/corpus/<target>; any panic, failed
# assertion, crash or hang fails the step and prints the input that did it.
#
# The targets are built with the coverage instrumentation cargo-fuzz asks
# rustc for (sancov with 8-bit counters, PC table, compare tracing, stack
# depth; libFuzzer itself comes from libfuzzer-sys), so the runs are
# coverage-guided, but without a sanitizer: that needs no nightly feature and
# no cargo-fuzz, which would take minutes to install. Debug assertions, and
# so integer overflow checks, are on. scripts/fuzz.sh is the long local run
# through cargo-fuzz with AddressSanitizer.
#
# The repository is only read: each run writes what it finds to a copy of
# its corpus in a temporary directory, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECONDS:-10}

# libfuzzer-sys compiles libFuzzer from C++.
if ! command -v c++ >/dev/null; then
    echo "installing: g++" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
fi

triple=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps these flags off build scripts and proc macros, as cargo-fuzz does.
export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth \
--cfg fuzzing -Cdebug-assertions"
# Apart from the main workspace's build and from cargo-fuzz's (sanitizer) build in fuzz/target.
export CARGO_TARGET_DIR=$PWD/target/ci
echo "== building the fuzz targets"
cargo build --locked --release --target "$triple" --bins
bin=$CARGO_TARGET_DIR/$triple/release

targets=()
for f in fuzz_targets/*.rs; do
    t=$(basename "$f" .rs)
    if [ ! -x "$bin/$t" ]; then
        echo "fuzz target $t has no [[bin]] in fuzz/Cargo.toml" >&2
        exit 1
    fi
    if [ -z "$(ls -A "corpus/$t" 2>/dev/null)" ]; then
        echo "fuzz target $t has no seed corpus in fuzz/corpus/$t" >&2
        exit 1
    fi
    targets+=("$t")
done

work=$(mktemp -d /tmp/berth-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

# One target per core at a time; each run is single-threaded.
run() {
    local t=$1 d=$work/$1
    mkdir -p "$d/corpus" "$d/tmp"
    cp "corpus/$t"/* "$d/corpus/"
    local rc=0
    # TMPDIR: a target's scratch files (update_resources' fake cgroup trees) go away with $work.
    TMPDIR=$d/tmp timeout -k 10 $((secs + 120)) "$bin/$t" "$d/corpus" \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
        -artifact_prefix="$d/" -print_final_stats=1 >"$d/log" 2>&1 || rc=$?
    echo "$rc" >"$d/rc"
}
echo "== running ${#targets[@]} targets, ${secs}s each"
jobs=$(nproc)
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    run "$t" &
done
wait

failed=0
for t in "${targets[@]}"; do
    d=$work/$t
    rc=$(cat "$d/rc")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log")
    cov=$(grep -aoE 'DONE +cov: [0-9]+' "$d/log" | grep -oE '[0-9]+$' || true)
    # Without counters libFuzzer runs blind: treat a build that lost them as a failure.
    counters=$(grep -aoE 'Loaded 1 modules +\([0-9]+ inline 8-bit counters' "$d/log" | grep -oE '[0-9]+ inline' | grep -oE '[0-9]+' || echo 0)
    if [ "$rc" -eq 0 ] && [ "$counters" -gt 0 ]; then
        printf '%-22s ok   %9s runs, coverage %s\n' "$t" "${runs:-?}" "${cov:-?}"
        continue
    fi
    failed=$((failed + 1))
    if [ "$counters" -eq 0 ]; then
        printf '%-22s FAIL (exit %s): no coverage counters, not instrumented\n' "$t" "$rc"
    else
        printf '%-22s FAIL (exit %s)\n' "$t" "$rc"
    fi
    grep -av '^#[0-9]' "$d/log" | tail -n 40 | sed 's/^/    /'
    for a in "$d"/crash-* "$d"/timeout-* "$d"/oom-* "$d"/leak-*; do
        [ -e "$a" ] || continue
        echo "    input $(basename "$a") (base64; save it and run fuzz/target/ci/$triple/release/$t FILE):"
        base64 -w 76 "$a" | head -n 40 | sed 's/^/      /'
    done
done
if [ "$failed" -gt 0 ]; then
    echo "fuzz: $failed of ${#targets[@]} targets failed"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${secs}s each without a failure"
