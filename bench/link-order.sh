#!/usr/bin/env bash
# Regenerates crates/berth-cli/link-order.txt: the functions that berth's hot
# commands execute (run, also with docker's defaults; create, start, delete;
# exec, kill). Release builds hand the list to the linker, which lays these
# functions side by side at the start of the text: the kernel maps an
# executable's pages in 64 KiB windows around each page fault, so hot code spread
# over the whole binary makes most of the binary resident. It also regenerates
# crates/berth-cli/link-order.ld, which does the same for the read-only data
# those functions use (bench/link-order-data.py).
#
# How it finds them exactly: it links a probe build in which every function is
# aligned to 64 KiB (its own fault-around window), runs the commands under
# `perf record -e page-faults`, and keeps the function at each faulting
# instruction. Needs root, perf, python3 and tests/rootfs. Run it after changes
# that add, rename or move hot functions, and commit the two files it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$repo/crates/berth-cli/link-order.txt
target=${CARGO_TARGET_DIR:-$repo/target}
command -v perf >/dev/null || { echo "link-order: perf not found (apt-get install linux-perf)" >&2; exit 1; }
[ -x tests/rootfs/bin/busybox ] || scripts/make-rootfs.sh tests/rootfs >/dev/null

work=$(mktemp -d /tmp/berth-link-order.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Same crate metadata as a plain release build (so the same symbol and section
# names); only the final link differs. The next `cargo build --release` relinks
# normally. Relocations and a link map are kept for link-order-data.py.
cargo rustc --release -p berth-cli --bin berth -- \
    -C llvm-args=-align-all-functions=16 -C strip=none \
    -C link-arg=-Wl,--emit-relocs -C link-arg=-Wl,-Map="$work/probe.map" >/dev/null 2>&1
# Copied in 64 KiB writes: the page cache then holds the copy in folios of at
# most 64 KiB, and a fault maps no more than the one function's window. (The
# kernel maps a whole large folio at a fault; `cp` writes 128 KiB folios, which
# map two functions at once and hide a fifth of the hot ones from the count.)
probe=$work/berth-probe
dd if="$target/release/berth" of="$probe" bs=64k status=none
chmod +x "$probe"

# runc's default config (the benchmark's), and docker's defaults (capabilities,
# seccomp profile) as engines pass them.
mkdir -p "$work/true" "$work/sleep" "$work/docker"
"$probe" spec --bundle "$work/true"
"$probe" spec --docker-defaults --bundle "$work/docker"
python3 - "$work" "$repo/tests/rootfs" <<'PY'
import json, sys
work, rootfs = sys.argv[1], sys.argv[2]
for name, base, args in (("true", "true", ["true"]), ("sleep", "true", ["sleep", "600"]), ("docker", "docker", ["true"])):
    s = json.load(open(f"{work}/{base}/config.json"))
    s["root"] = {"path": rootfs, "readonly": True}
    s["process"]["terminal"] = False
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
# Once unrecorded: the runs recorded then find the state root as it usually is, there.
"$b" --root "$root" run -b "$work/true" r0 >/dev/null
rec 1run "$b" --root "$root" run -b "$work/true" r
rec 2docker "$b" --root "$root" run -b "$work/docker" d
rec 3create "$b" --root "$root" create -b "$work/true" c
rec 4start "$b" --root "$root" start c
sleep 0.2
rec 5delete "$b" --root "$root" delete c
"$b" --root "$root" run -d -b "$work/sleep" s </dev/null >/dev/null 2>&1
rec 6exec "$b" --root "$root" exec s true
rec 7kill "$b" --root "$root" kill s KILL
sleep 0.2
rec 8delete "$b" --root "$root" delete -f s
SH
bash "$work/record.sh" "$probe" "$work" host
unshare -m bash "$work/record.sh" "$probe" "$work" v1

# Functions of each command's own process first, in the order the commands ran
# (the benchmark's peak RSS of `run` is that process's), then those only its
# forked children (init, exec's process) run: each process then faults in fewer
# windows of the other's code. crtbeginS.o's start-up and exit code (frame_dummy,
# __do_global_dtors_aux) runs in every process but is named outright: the probe
# cannot align a prebuilt object, and its fault can hide behind a neighbour's.
for step in 1run 2docker 3create 4start 5delete 6exec 7kill 8delete; do
    for tag in host v1; do
        perf script --no-demangle -i "$work/$tag-$step.data" -F pid,ip,sym,dso 2>/dev/null |
            awk '$NF == "(" "'"$probe"'" ")" { if (!main) main = $1; print ($1 == main ? 0 : 1), $3 }'
    done
done | sort -s -k1,1n | awk 'BEGIN { print "frame_dummy"; seen["frame_dummy"] = 1 } !seen[$2]++ { print $2 }' >"$work/order"
[ -s "$work/order" ] || { echo "link-order: no faults recorded in $probe" >&2; exit 1; }
mv "$work/order" "$out"
echo "link-order: $(wc -l <"$out") functions in ${out#"$repo"/}"
python3 bench/link-order-data.py "$probe" "$work/probe.map" "$out" >"${out%.txt}.ld"
echo "link-order: $(grep -c '^ *\*(' "${out%.txt}.ld") read-only data sections in ${out%.txt}.ld"
