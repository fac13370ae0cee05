#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while (default 60 s each).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain provide them.
# Starts from the seeds in fuzz/corpus/<target> (kept in git, read only here); what it
# finds goes to fuzz/corpus-local/<target> (not in git). CI's short run is scripts/fuzz-ci.sh.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
for t in "${targets[@]}"; do
    echo "== $t (${secs}s)"
    mkdir -p "corpus-local/$t"
    cargo fuzz run "$t" "corpus-local/$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048
done
