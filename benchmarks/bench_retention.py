"""Retention analyses on ~10M events against ``funnel`` on the same data, in the same run.

Issue 18's target: on 10M events each new analysis runs within 2x the time of today's
``funnel`` (4 steps, 30-day window) on the same prepared events. Each run is a fresh process
that loads the bookshop once (``load_client(folder, prepare=True)``, not timed) and times, in
an interleaved order, ``funnel`` and each retention analysis once; ``--runs`` processes
(default 3) give the median and min-max, and the ratio of medians to ``funnel``'s.

Analyses timed (``cxlab.analysis.retention``): ``cohort_retention`` weekly (first entry, N-day),
monthly, unbounded, with start/returning touchpoints (purchase -> purchase), with a channel
breakdown, recurring entry (monthly); ``lifecycle`` weekly; ``stickiness`` weekly;
``purchase_summary`` (daily, with revenue); and ``retention_curves`` overall with ``times=``
on ``churn_labels`` (the labels themselves are not timed).

The data is made once with ``cxlab sample --customers N --browsing B --clients bookshop
--format parquet`` under ``benchmarks/data/`` (git-ignored) when missing; raw numbers go to
``benchmarks/out/bench_retention.json``.

Usage::

    .venv/bin/python benchmarks/bench_retention.py                 # 100k customers, ~10M events
    .venv/bin/python benchmarks/bench_retention.py --customers 10000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from run import OUT, ensure_data  # benchmarks/run.py: one data layout for every benchmark

STEPS = ["site_visit", "product_view", "checkout", "purchase"]


def cases(client) -> dict:
    """What each timed step runs (one call each), by name; ``funnel`` is the reference."""
    from cxlab.analysis import retention as r
    from cxlab.analysis.churn import retention_curves
    from cxlab.analysis.features import churn_labels
    from cxlab.analysis.funnel import funnel

    ev = client.events
    buy = list(client.config.purchase_touchpoints)
    labels = churn_labels(ev, client.customers, client.config.churn, as_of=client.config.as_of)
    return {
        "funnel": lambda: funnel(ev, STEPS, window="30d"),
        "cohort_retention week": lambda: r.cohort_retention(ev, every="week"),
        "cohort_retention month": lambda: r.cohort_retention(ev, every="month"),
        "cohort_retention unbounded": lambda: r.cohort_retention(
            ev, every="week", mode="unbounded"
        ),
        "cohort_retention purchase->purchase": lambda: r.cohort_retention(
            ev, every="week", start=buy, returning=buy
        ),
        "cohort_retention by channel": lambda: r.cohort_retention(ev, every="week", by="channel"),
        "cohort_retention recurring month": lambda: r.cohort_retention(
            ev, every="month", entry="recurring"
        ),
        "lifecycle week": lambda: r.lifecycle(ev, every="week"),
        "stickiness week": lambda: r.stickiness(ev, every="week"),
        "purchase_summary": lambda: r.purchase_summary(ev, buy),
        "retention_curves times": lambda: retention_curves(labels, times=[30, 90, 180]),
    }


def child(folder: str) -> None:
    """One fresh process: load once, then time every case once (funnel first and last)."""
    from cxlab.io.client import load_client

    client = load_client(Path(folder), prepare=True)
    todo = cases(client)
    times: dict[str, list[float]] = {}
    order = ["funnel", *[k for k in todo if k != "funnel"], "funnel"]
    for name in order:
        t = time.perf_counter()
        todo[name]()
        times.setdefault(name, []).append(time.perf_counter() - t)
    out = {k: min(v) for k, v in times.items()}
    out["_events"] = client.events.height
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--browsing", type=float, default=90)
    ap.add_argument("--runs", type=int, default=3, help="fresh processes (default 3)")
    ap.add_argument("--folder", type=Path, help="a bookshop folder (default: benchmarks/data/…)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    folder = args.folder or ensure_data(args.customers, args.browsing)
    load = os.getloadavg()[0]
    runs = []
    for i in range(args.runs):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(folder)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"run {i + 1}/{args.runs} done", file=sys.stderr, flush=True)
    names = [k for k in runs[0] if not k.startswith("_")]
    med = {k: statistics.median(r[k] for r in runs) for k in names}
    print(
        f"\n{runs[0]['_events']:,} events, {args.runs} fresh processes, load average "
        f"{load:.1f} at the start\n"
    )
    print("| analysis | s, median (min–max) | × funnel (medians) |")
    print("|---|---|---|")
    for k in names:
        lo, hi = min(r[k] for r in runs), max(r[k] for r in runs)
        print(f"| {k} | {med[k]:.2f} ({lo:.2f}–{hi:.2f}) | {med[k] / med['funnel']:.2f} |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_retention.json").write_text(
        json.dumps({"load_average": load, "runs": runs, "median": med}, indent=1)
    )


if __name__ == "__main__":
    main()
