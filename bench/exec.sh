#!/usr/bin/env bash
# Benchmark: latency of `exec true` into a running busybox container, berth
# against runc and crun (same bundle from tests/rootfs, each runtime with its own
# --root). Prints a markdown table of hyperfine medians. Needs root, hyperfine,
# runc, crun. RUNS=<n> sets the number of timed runs (default 100).
#
# crun refuses hybrid cgroup hosts, so all three run inside a private mount
# namespace where the cgroup2 mount at /sys/fs/cgroup/unified is unmounted: they
# then see the same pure-v1 layout (as bench/lifecycle.sh does).
set -euo pipefail

if [ "${1:-}" = --inner ]; then
    umount /sys/fs/cgroup/unified 2>/dev/null || true
    declare -A bin=([berth]=$BERTH [runc]=$(command -v runc) [crun]=$(command -v crun))
    for r in berth runc crun; do
        b=${bin[$r]}
        root=$WORK/root-$r
        "$b" --root "$root" run -d -b "$BUNDLE" "exec-$r" </dev/null >/dev/null 2>"$WORK/run-$r.err" || {
            echo "$r: could not start the container: $(cat "$WORK/run-$r.err")" >&2
            echo '{}' >"$WORK/exec-$r.json"
            continue
        }
        hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$WORK/exec-$r.json" \
            "$b --root $root exec exec-$r true" >/dev/null || echo '{}' >"$WORK/exec-$r.json"
        "$b" --root "$root" delete -f "exec-$r" >/dev/null 2>&1 || true
    done
    exit 0
fi

cd "$(dirname "$0")/.."
repo=$PWD
need=()
for tool in hyperfine runc crun; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
target=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -p berth-cli >/dev/null 2>&1
[ -x tests/rootfs/bin/busybox ] || scripts/make-rootfs.sh tests/rootfs >/dev/null

work=$(mktemp -d /tmp/berth-bench-exec.XXXXXX)
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
s["process"]["args"] = ["sleep", "3600"]
s["process"]["capabilities"].pop("ambient", None)
json.dump(s, open(path, "w"))
PY
export BERTH=$target/release/berth BUNDLE=$bundle WORK=$work RUNS=${RUNS:-100}
unshare -m bash "$repo/bench/exec.sh" --inner

python3 - "$work" <<'PY'
import json, sys
d = sys.argv[1]
def stat(r, k):
    try:
        return json.load(open(f"{d}/exec-{r}.json"))["results"][0][k] * 1000
    except Exception:
        return None
rts = ["berth", "runc", "crun"]
med = {r: stat(r, "median") for r in rts}
fmt = lambda v: "n/a" if v is None else f"{v:.2f}"
print("| exec `true` into a running busybox container | berth | runc | crun |")
print("|---|---|---|---|")
print("| median (ms) | " + " | ".join(fmt(med[r]) for r in rts) + " |")
print("| min (ms) | " + " | ".join(fmt(stat(r, "min")) for r in rts) + " |")
if med["berth"] and med["crun"]:
    print(f"\nberth / crun: {med['berth'] / med['crun']:.2f}x; berth / runc: {med['berth'] / med['runc']:.2f}x" if med["runc"] else "")
PY
