#!/usr/bin/env bash
# Regenerates crates/berth-cli/link-order.txt: the functions that berth's hot
# commands execute (run; create, start, delete; exec, kill), in the order they
# first run. Release builds hand the list to the linker, which lays these
# functions side by side at the start of the text: the kernel maps an
# executable's pages in 64 KiB windows around each page fault, so hot code spread
# over the whole binary makes most of the binary resident.
#
# How it finds them exactly: it links a probe build in which every function is
# aligned to 64 KiB (its own fault-around window), runs the commands under
# `perf record -e page-faults`, and keeps the function at each faulting
# instruction. Needs root, perf, python3 and tests/rootfs. Run it after changes
# that add, rename or move hot functions, and commit the list it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$repo/crates/berth-cli/link-order.txt
target=${CARGO_TARGET_DIR:-$repo/target}
command -v perf >/dev/null || { echo "link-order: perf not found (apt-get install linux-perf)" >&2; exit 1; }
[ -x tests/rootfs/bin/busybox ] || scripts/make-rootfs.sh tests/rootfs >/dev/null

work=$(mktemp -d /tmp/berth-link-order.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Same crate metadata as a plain release build (so the same symbol names); only
# the final link differs. The next `cargo build --release` relinks normally.
cargo rustc --release -p berth-cli --bin berth -- \
    -C llvm-args=-align-all-functions=16 -C strip=none >/dev/null 2>&1
probe=$work/berth-probe
cp "$target/release/berth" "$probe"

mkdir -p "$work/true" "$work/sleep"
"$probe" spec --bundle "$work/true"
python3 - "$work" "$repo/tests/rootfs" <<'PY'
import json, sys
work, rootfs = sys.argv[1], sys.argv[2]
s = json.load(open(f"{work}/true/config.json"))
s["root"] = {"path": rootfs, "readonly": True}
s["process"]["terminal"] = False
for name, args in (("true", ["true"]), ("sleep", ["sleep", "600"])):
    s["process"]["args"] = args
    json.dump(s, open(f"{work}/{name}/config.json", "w"))
PY

# One pass on the host's cgroup layout, one with the cgroup2 mount hidden (the
# pure v1 layout bench/lifecycle.sh measures in).
cat >"$work/record.sh" <<'SH'
set -euo pipefail
b=$1 work=$2 tag=$3
[ "$tag" = v1 ] && { umount /sys/fs/cgroup/unified 2>/dev/null || true; }
root=$work/root-$tag
rec() { local name=$1; shift; perf record -q -e page-faults -c 1 -o "$work/$tag-$name.data" -- "$@" >/dev/null; }
rec 1run "$b" --root "$root" run -b "$work/true" r
rec 2create "$b" --root "$root" create -b "$work/true" c
rec 3start "$b" --root "$root" start c
sleep 0.2
rec 4delete "$b" --root "$root" delete c
"$b" --root "$root" run -d -b "$work/sleep" s </dev/null >/dev/null 2>&1
rec 5exec "$b" --root "$root" exec s true
rec 6kill "$b" --root "$root" kill s KILL
sleep 0.2
rec 7delete "$b" --root "$root" delete -f s
SH
bash "$work/record.sh" "$probe" "$work" host
unshare -m bash "$work/record.sh" "$probe" "$work" v1

for data in "$work"/host-*.data "$work"/v1-*.data; do
    perf script --no-demangle -i "$data" -F ip,sym,dso 2>/dev/null
done | awk '$NF == "(" "'"$probe"'" ")" && !seen[$2]++ { print $2 }' >"$work/order"
[ -s "$work/order" ] || { echo "link-order: no faults recorded in $probe" >&2; exit 1; }
mv "$work/order" "$out"
echo "link-order: $(wc -l <"$out") functions in ${out#"$repo"/}"
