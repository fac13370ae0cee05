#!/usr/bin/env bash
# Runs inside bench/lifecycle.sh's private mount namespace. Not meant to be run directly.
set -euo pipefail
umount /sys/fs/cgroup/unified 2>/dev/null || true
declare -A bin=([berth]=$BERTH [runc]=$(command -v runc) [crun]=$(command -v crun))
runtimes=(berth runc crun)
json=$RESULTS
mkdir -p "$json"
load_before=$(cut -d" " -f1-3 /proc/loadavg)

# Exec: one container per runtime running sleep, exec `true` into it.
for r in "${runtimes[@]}"; do
    mkdir -p "$WORK/sleep-$r"
    sed 's/\["true"\]/["sleep","600"]/' "$BUNDLE/config.json" > "$WORK/sleep-$r/config.json"
    ${bin[$r]} --root "$WORK/root-$r" run -d -b "$WORK/sleep-$r" "execbench-$r" >/dev/null 2>&1 </dev/null
done
# The runs of each measure are split into ROUNDS rounds, the runtimes taking
# turns in each, so that a change in the machine's load falls on all three.
rounds=${ROUNDS:-4}
per_round=$(( (RUNS + rounds - 1) / rounds ))
for round in $(seq 1 "$rounds"); do
    for r in "${runtimes[@]}"; do
        root=$WORK/root-$r
        b=${bin[$r]}
        hyperfine -N --warmup 2 --runs "$per_round" --export-json "$json/csd-$r-$round.json" \
            "sh -c '$b --root $root create -b $BUNDLE bench && $b --root $root start bench && $b --root $root delete -f bench'" >/dev/null
        hyperfine -N --warmup 2 --runs "$per_round" --export-json "$json/run-$r-$round.json" \
            "$b --root $root run -b $BUNDLE benchrun" >/dev/null
        hyperfine -N --warmup 2 --runs "$per_round" --export-json "$json/exec-$r-$round.json" \
            "$b --root $root exec execbench-$r true" >/dev/null || echo "{}" > "$json/exec-$r-$round.json"
    done
done
for r in "${runtimes[@]}"; do
    ${bin[$r]} --root "$WORK/root-$r" delete -f "execbench-$r" >/dev/null 2>&1 || true
done
# Peak RSS varies by a few hundred KiB from run to run: take samples, runtimes taking turns.
# Each binary's page cache is dropped first, so each is mapped as when read from disk:
# how a file was written decides the size of its page-cache folios, and the kernel
# maps a whole folio at a fault (a binary copied with `cp` maps 128 KiB or more at each).
python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "${bin[@]}"
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

python3 - "$json" "$mid" "$start" "$end" "$running" "$left_state" "$left_cg" "$load_before" \
    "${bin[berth]}" "${bin[runc]}" "${bin[crun]}" <<'PY'
import json, os, subprocess, sys, time
d, mid, start, end, running, left_state, left_cg, load_before = sys.argv[1:9]
paths = dict(zip(["berth", "runc", "crun"], sys.argv[9:]))
def version(p):
    out = subprocess.run([p, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else ""
meta = {
    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "kernel": os.uname().release,
    "cpus": os.cpu_count(),
    "runs": int(os.environ["RUNS"]),
    "rounds": int(os.environ.get("ROUNDS", "4")),
    "berth_commit": os.environ.get("BERTH_COMMIT", ""),
    "load_before": load_before,
    "load_after": " ".join(open("/proc/loadavg").read().split()[:3]),
    "runtimes": {r: {"path": p, "size": os.path.getsize(p), "version": version(p)} for r, p in paths.items()},
    "scaling": {
        "start_s": float(mid) - float(start),
        "delete_s": float(end) - float(mid),
        "running": int(running),
        "left_state": int(left_state),
        "left_cgroup": int(left_cg),
    },
}
json.dump(meta, open(f"{d}/meta.json", "w"), indent=1)
PY
