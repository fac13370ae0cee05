#!/usr/bin/env bash
# Benchmark: berth against runc and crun on the same busybox bundle.
# Keeps the raw results in bench/results/<date>/ (RESULTS=<dir> to choose) and
# prints their markdown table (bench/report.py; medians, ratio to crun). Needs
# root, hyperfine, runc, crun. RUNS=<n> timed runs per measure (default 40),
# taken in ROUNDS=<n> rounds (default 4) with the runtimes taking turns,
# RSS_RUNS=<n> peak-RSS samples per runtime (default 10), BERTH=<binary>
# measures another build of berth.
#
# crun refuses hybrid cgroup hosts, so every runtime is measured inside a
# private mount namespace where the cgroup2 mount at /sys/fs/cgroup/unified is
# unmounted: all three then see the same pure-v1 layout.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${RUNS:-40}
need=()
for tool in hyperfine runc crun; do command -v "$tool" >/dev/null || need+=("$tool"); done
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" busybox-static
fi
cargo build --release -p berth-cli >/dev/null
[ -x tests/rootfs/bin/busybox ] || scripts/make-rootfs.sh tests/rootfs >/dev/null

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
bundle=$work/bundle
mkdir -p "$bundle"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" "$repo/tests/rootfs" <<'PY'
import json, sys
path, rootfs = sys.argv[1], sys.argv[2]
s = json.load(open(path))
s["root"] = {"path": rootfs, "readonly": True}
s["process"]["terminal"] = False
s["process"]["args"] = ["true"]
s["process"]["capabilities"].pop("ambient", None)
json.dump(s, open(path, "w"))
PY
results=$(realpath -m "${RESULTS:-bench/results/$(date -u +%Y-%m-%d-%H%M)}")
mkdir -p "$results"
# The commit measured, when it is this tree's build ("+": with uncommitted changes).
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo +)
[ -z "${BERTH:-}" ] || commit="unknown (BERTH=$BERTH)"
export BERTH=${BERTH:-${CARGO_TARGET_DIR:-$repo/target}/release/berth} BUNDLE=$bundle WORK=$work RUNS=$runs
export RESULTS=$results BERTH_COMMIT=$commit
unshare -m bash "$repo/bench/inner.sh"
python3 bench/report.py "$(realpath --relative-to="$repo" "$results")"
