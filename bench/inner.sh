#!/usr/bin/env bash
# Runs inside bench/lifecycle.sh's private mount namespace. Not meant to be run directly.
set -euo pipefail
umount /sys/fs/cgroup/unified 2>/dev/null || true
declare -A bin=([berth]=$BERTH [runc]=$(command -v runc) [crun]=$(command -v crun))
runtimes=(berth runc crun)
json=$WORK/json
mkdir -p "$json"

for r in "${runtimes[@]}"; do
    root=$WORK/root-$r
    b=${bin[$r]}
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$json/csd-$r.json" \
        "sh -c '$b --root $root create -b $BUNDLE bench && $b --root $root start bench && $b --root $root delete -f bench'" >/dev/null
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$json/run-$r.json" \
        "$b --root $root run -b $BUNDLE benchrun" >/dev/null
    # Exec: one container running sleep, exec `true` into it.
    mkdir -p "$WORK/sleep-$r"
    sed 's/\["true"\]/["sleep","600"]/' "$BUNDLE/config.json" > "$WORK/sleep-$r/config.json"
    $b --root "$root" run -d -b "$WORK/sleep-$r" execbench >/dev/null 2>&1 </dev/null
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$json/exec-$r.json" \
        "$b --root $root exec execbench true" >/dev/null || echo "{}" > "$json/exec-$r.json"
    $b --root "$root" delete -f execbench >/dev/null 2>&1 || true
done
# Peak RSS varies by a few hundred KiB from run to run: take samples, runtimes taking turns.
for i in $(seq 1 "${RSS_RUNS:-10}"); do
    for r in "${runtimes[@]}"; do
        /usr/bin/time -f %M "${bin[$r]}" --root "$WORK/root-$r" run -b "$BUNDLE" rss 2>&1 >/dev/null | tail -1 >> "$json/rss-$r.txt" || true
    done
done

# berth's scaling: 100 containers created and started in parallel, then deleted.
root=$WORK/root-scale
start=$(date +%s.%N)
for i in $(seq 1 100); do
    ( "$BERTH" --root "$root" create -b "$WORK/sleep-berth" "s$i" </dev/null >/dev/null 2>&1 && "$BERTH" --root "$root" start "s$i" ) &
done
wait
mid=$(date +%s.%N)
running=$("$BERTH" --root "$root" list --format json | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c["status"]=="running"))')
for i in $(seq 1 100); do "$BERTH" --root "$root" delete -f "s$i" & done
wait
end=$(date +%s.%N)
left_state=$( (ls "$root" 2>/dev/null || true) | wc -l)
left_cg=$( (ls -d /sys/fs/cgroup/*/berth/s[0-9]* 2>/dev/null || true) | wc -l)

python3 - "$json" "$BERTH" "$mid" "$start" "$end" "$running" "$left_state" "$left_cg" <<'PY'
import json, os, shutil, statistics, sys
d, berth, mid, start, end, running, left_state, left_cg = sys.argv[1:]
rts = ["berth", "runc", "crun"]
paths = {"berth": berth, "runc": shutil.which("runc"), "crun": shutil.which("crun")}
def median(kind, r):
    try:
        return json.load(open(f"{d}/{kind}-{r}.json"))["results"][0]["median"] * 1000
    except Exception:
        return None
def rss_samples(r):
    try:
        return sorted(int(l) for l in open(f"{d}/rss-{r}.txt") if l.strip().isdigit())
    except Exception:
        return []
def rss(r):
    v = rss_samples(r)
    return statistics.median(v) if v else None
rows = [
    ("create+start+delete `true` (ms, median)", lambda r: median("csd", r)),
    ("run `true` (ms, median)", lambda r: median("run", r)),
    ("exec `true` into running container (ms, median)", lambda r: median("exec", r)),
    ("peak RSS of `run` (KiB, median)", rss),
    ("binary size (KiB)", lambda r: os.path.getsize(paths[r]) / 1024),
]
print("| measure | berth | runc | crun | berth / crun |")
print("|---|---|---|---|---|")
for name, f in rows:
    vals = [f(r) for r in rts]
    cells = ["n/a" if v is None else f"{v:.1f}" for v in vals]
    ratio = "n/a" if None in (vals[0], vals[2]) or not vals[2] else f"{vals[0] / vals[2]:.2f}x"
    print(f"| {name} | {' | '.join(cells)} | {ratio} |")
print()
for r in rts:
    v = rss_samples(r)
    if v:
        print(f"peak RSS of `run`, {r}: min {v[0]} / median {statistics.median(v):.0f} / max {v[-1]} KiB ({len(v)} samples)")
print()
print(f"berth scaling: 100 containers created+started in parallel in {float(mid)-float(start):.2f}s "
      f"({running} running), deleted in {float(end)-float(mid):.2f}s; leftovers: {left_state} state dirs, {left_cg} cgroup dirs")
PY
