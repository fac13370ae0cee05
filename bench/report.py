#!/usr/bin/env python3
"""The table of a bench/lifecycle.sh run, from its raw results.

Usage: bench/report.py DIR [--readme README.md]

DIR holds what bench/inner.sh wrote: hyperfine's exports ({csd,run,exec}-RUNTIME-ROUND.json,
one per round; a measure's median is over the runs of all its rounds),
the peak-RSS samples in KiB (rss-RUNTIME.txt, one a line) and meta.json. With
--readme, the text replaces what stands between the `<!-- lifecycle-table -->`
and `<!-- /lifecycle-table -->` lines of that file instead of being printed.
"""
import glob
import json
import statistics
import sys

RUNTIMES = ["berth", "runc", "crun"]
START, END = "<!-- lifecycle-table -->", "<!-- /lifecycle-table -->"


def report(d):
    meta = json.load(open(f"{d}/meta.json"))

    def median_ms(kind, r):
        times = []
        for f in glob.glob(f"{d}/{kind}-{r}-*.json"):
            results = json.load(open(f)).get("results", [])
            times += results[0]["times"] if results else []
        return statistics.median(times) * 1000 if times else None

    def rss_samples(r):
        try:
            return sorted(int(l) for l in open(f"{d}/rss-{r}.txt") if l.strip().isdigit())
        except OSError:
            return []

    def rss(r):
        v = rss_samples(r)
        return statistics.median(v) if v else None

    rows = [
        ("create+start+delete `true` (ms, median)", ".1f", lambda r: median_ms("csd", r)),
        ("run `true` (ms, median)", ".1f", lambda r: median_ms("run", r)),
        ("exec `true` into running container (ms, median)", ".1f", lambda r: median_ms("exec", r)),
        ("peak RSS of `run` (KiB, median)", ".0f", rss),
        ("binary size (KiB)", ".0f", lambda r: meta["runtimes"][r]["size"] / 1024),
    ]
    out = ["| measure | berth | runc | crun | berth / crun |", "|---|---|---|---|---|"]
    for name, fmt, f in rows:
        vals = [f(r) for r in RUNTIMES]
        cells = ["n/a" if v is None else format(v, fmt) for v in vals]
        ratio = "n/a" if None in (vals[0], vals[2]) or not vals[2] else f"{vals[0] / vals[2]:.2f}x"
        out.append(f"| {name} | {' | '.join(cells)} | {ratio} |")
    out.append("")
    for r in RUNTIMES:
        v = rss_samples(r)
        if v:
            out.append(
                f"peak RSS of `run`, {r}: min {v[0]} / median {statistics.median(v):.0f} / max {v[-1]} KiB ({len(v)} samples)"
            )
    s = meta.get("scaling")
    if s:
        out.append("")
        out.append(
            f"berth scaling: 100 containers created+started in parallel in {s['start_s']:.2f}s "
            f"({s['running']} running), deleted in {s['delete_s']:.2f}s; leftovers: "
            f"{s['left_state']} state dirs, {s['left_cgroup']} cgroup dirs"
        )
    out.append("")
    out.append(
        f"Raw results: `{d.rstrip('/')}` ({meta['date']}, {meta['runs']} runs per measure in {meta['rounds']} rounds, "
        f"load average {meta['load_before']} before, {meta['load_after']} after)."
    )
    return "\n".join(out)


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    text = report(args[0])
    if args[1:2] != ["--readme"]:
        print(text)
        return
    path = args[2]
    lines = open(path).read().split("\n")
    start, end = lines.index(START), lines.index(END)
    lines[start + 1 : end] = ["", text, ""]
    open(path, "w").write("\n".join(lines))


if __name__ == "__main__":
    main()
