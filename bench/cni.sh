#!/usr/bin/env bash
# Benchmark: attach latency of a CNI plugin, berth-cni against Debian's
# containernetworking-plugins `bridge` + `host-local` (with ipMasq, the closest
# match to berth's masquerading bridge). Both are invoked the same way: a
# runtime-like ADD then DEL (CNI_* environment, config on stdin) on one fresh
# `ip netns add` namespace, each on its own bridge and subnet. hyperfine times
# the ADD+DEL pair; a second run times ADD alone (an untimed DEL, idempotent,
# in hyperfine's --prepare before each ADD). Prints a markdown table of medians.
# Needs root, hyperfine, containernetworking-plugins. RUNS=<n> (default 100).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
target=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -p berth-cli --bin berth-cni >/dev/null 2>&1
berth_cni=$target/release/berth-cni
runs=${RUNS:-100}

work=$(mktemp -d /tmp/berth-bench-cni.XXXXXX)
ns=berth-bench-cni-$$
ip netns add "$ns"
cleanup() {
    for p in berth ref; do
        [ -f "$work/del-$p.sh" ] && sh "$work/del-$p.sh" >/dev/null 2>&1 || true
    done
    ip netns del "$ns" 2>/dev/null || true
    # berth keeps its bridge (and its masquerade rules) for the next container;
    # the bench removes both, and the reference bridge.
    ip link del bcnibench0 2>/dev/null || true
    ip link del bcnibench1 2>/dev/null || true
    if nft list table ip berth >/dev/null 2>&1; then
        nft -a list chain ip berth postrouting 2>/dev/null |
            sed -n 's/.*comment "berth-bridge:bcnibench0".*# handle \([0-9]*\)/\1/p' |
            while read -r h; do nft delete rule ip berth postrouting handle "$h"; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/berth.json" <<JSON
{"cniVersion":"1.0.0","name":"bench-berth","type":"berth-cni","bridge":"bcnibench0",
 "subnet":"10.233.1.0/24","stateRoot":"$work/berth-state"}
JSON
cat >"$work/ref.json" <<JSON
{"cniVersion":"1.0.0","name":"bench-ref","type":"bridge","bridge":"bcnibench1",
 "isGateway":true,"ipMasq":true,
 "ipam":{"type":"host-local","subnet":"10.233.2.0/24","dataDir":"$work/host-local"}}
JSON
declare -A plugin=([berth]=$berth_cni [ref]=/usr/lib/cni/bridge)
for p in berth ref; do
    for cmd in ADD DEL; do
        lc=$(echo "$cmd" | tr A-Z a-z)
        cat >"$work/$lc-$p.sh" <<SH
CNI_COMMAND=$cmd CNI_CONTAINERID=bench-$p CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni ${plugin[$p]} <$work/$p.json >/dev/null
SH
    done
    cat "$work/add-$p.sh" "$work/del-$p.sh" >"$work/cycle-$p.sh"
    # Both must work once before timing (this also creates the bridges).
    sh "$work/add-$p.sh" || { echo "$p: ADD failed" >&2; exit 1; }
    sh "$work/del-$p.sh" || { echo "$p: DEL failed" >&2; exit 1; }
done

for p in berth ref; do
    hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/cycle-$p.out.json" \
        "sh $work/cycle-$p.sh" >/dev/null
    hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/add-$p.out.json" \
        --prepare "sh $work/del-$p.sh" --cleanup "sh $work/del-$p.sh" \
        "sh $work/add-$p.sh" >/dev/null
done

python3 - "$work" <<'PY'
import json, sys
d = sys.argv[1]
def med(kind, p):
    return json.load(open(f"{d}/{kind}-{p}.out.json"))["results"][0]["median"] * 1000
print("| CNI attach latency (median, ms) | berth-cni | bridge + host-local |")
print("|---|---|---|")
for kind, label in [("cycle", "ADD + DEL"), ("add", "ADD")]:
    b, r = med(kind, "berth"), med(kind, "ref")
    print(f"| {label} | {b:.2f} | {r:.2f} |")
b, r = med("cycle", "berth"), med("cycle", "ref")
print(f"\nberth-cni / bridge+host-local (ADD + DEL): {b / r:.2f}x")
PY
