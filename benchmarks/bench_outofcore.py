"""Out-of-core benchmark: ``cxlab.analysis.outofcore.analyze_client`` on ~100M events from Parquet.

Makes the data once, when ``benchmarks/data/bookshop_<customers>_b<browsing>/bookshop/
events.parquet`` is missing, with::

    cxlab sample --customers N --clients bookshop --format parquet --browsing B --out ...

(``--customers 1000000 --browsing 90`` gives ~100M events of 1M customers, ~0.9 GB of
Parquet, in a few minutes), then runs in fresh child processes, ``--runs`` times each:

outofcore
    ``analyze_client(folder, partitions=P)``: scan + validation counts, the streaming
    partition pass (``sink_parquet`` by customer hash), the per-part analyses (customer
    journeys, heatmap counts, stage and touchpoint transitions) and the combine; each step
    timed. The per-customer table goes to ``benchmarks/out/outofcore/customers/`` and the
    parts to ``benchmarks/out/outofcore/work/`` (removed after the run).
floor
    ``pl.read_parquet`` of the whole events file + one group-by on the customer key (the
    least any in-memory per-customer analysis of this file costs).
floor (2 columns)
    The same with only the two columns the group-by needs read.
floor (streaming)
    ``pl.scan_parquet`` + the same group-by with the streaming engine (bounded memory).

The two in-memory floors are skipped when their predicted peak exceeds ``--floor-max-gb``
(default 8): 0.3 GB + 6 x the in-memory size of the columns read (measured from the first 1M
rows and scaled; on this machine the peak was 4-6 x that size, e.g. 18 GB for the full read of
100M events and 7.5 GB for its two key columns). The table then says so, with the prediction.

Peak RSS is the child's own ``ru_maxrss``. The table is printed as markdown and written with
the raw numbers to ``benchmarks/out/bench_outofcore_<customers>_b<browsing>.json`` (git-ignored).

Usage::

    .venv/bin/python benchmarks/bench_outofcore.py                        # 1M customers, ~100M events
    .venv/bin/python benchmarks/bench_outofcore.py --customers 100000     # ~10M events
    .venv/bin/python benchmarks/bench_outofcore.py --partitions 10 --runs 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from run import (  # benchmarks/run.py: one data layout for every benchmark
    OUT,
    ensure_data,
    machine,
)


# --------------------------------------------------------------------------- children
def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def child_outofcore(folder: Path, partitions: int | None) -> dict:
    from cxlab.analysis.outofcore import analyze_client

    work = OUT / "outofcore"
    t = time.perf_counter()
    res = analyze_client(folder, partitions=partitions, workdir=work / "work", out_dir=work)
    total = time.perf_counter() - t
    n_customers = res.customers.select(__import__("polars").len()).collect().item()
    return {
        "steps": res.timings,
        "total": total,
        "peak_rss_gb": _peak_gb(),
        "partitions": res.partitions,
        "events": res.input_rows,
        "loaded": res.loaded,
        "customers": n_customers,
        "set_aside": dict(res.set_aside.select("reason", "rows").iter_rows()),
    }


#: Predicted peak RSS of an in-memory floor = BASE_GB + this x the in-memory size of the columns read.
PEAK_FACTOR = 6.0
BASE_GB = 0.3


def _key_columns(folder: Path) -> tuple[str, str]:
    from cxlab.contract.client_config import read_client_config

    src = {v: k for k, v in read_client_config(folder).columns["events"].items()}
    return src["customer_id"], src["timestamp"]


def child_floor(folder: Path, kind: str) -> dict:
    import polars as pl

    cid, ts = _key_columns(folder)
    agg = [pl.len(), pl.col(ts).max()]
    steps = {}
    t = time.perf_counter()
    if kind == "floor_streaming":
        pl.scan_parquet(folder / "events.parquet").group_by(cid).agg(agg).collect(
            engine="streaming"
        )
        steps["scan+group_by"] = time.perf_counter() - t
    else:
        df = pl.read_parquet(
            folder / "events.parquet", columns=[cid, ts] if kind == "floor2" else None
        )
        steps["read_parquet"] = time.perf_counter() - t
        t = time.perf_counter()
        df.group_by(cid).agg(agg)
        steps["group_by"] = time.perf_counter() - t
    return {"steps": steps, "total": sum(steps.values()), "peak_rss_gb": _peak_gb()}


def predicted_peak_gb(folder: Path, columns: list[str] | None) -> float:
    """BASE_GB + PEAK_FACTOR x the in-memory size of ``columns`` of the file (from its first 1M rows)."""
    import polars as pl

    lf = pl.scan_parquet(folder / "events.parquet")
    rows = lf.select(pl.len()).collect().item()
    head = (lf.select(columns) if columns else lf).head(1_000_000).collect()
    return BASE_GB + PEAK_FACTOR * head.estimated_size() / max(head.height, 1) * rows / 1024**3


def run_child(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- table
def _med(xs: list[float]) -> str:
    if len(xs) == 1:
        return f"{xs[0]:.1f}"
    return f"{statistics.median(xs):.1f} ({min(xs):.1f}–{max(xs):.1f})"


def table(label: str, res: dict) -> str:
    ooc = res["outofcore"]
    lines = [f"## {label}", "", "| what | seconds | peak RSS |", "|---|---|---|"]
    for step in ooc[0]["steps"]:
        lines.append(f"| outofcore: {step} | {_med([r['steps'][step] for r in ooc])} | |")
    lines.append(
        f"| **outofcore total** (P = {ooc[0]['partitions']}) | **{_med([r['total'] for r in ooc])}** | "
        f"**{max(r['peak_rss_gb'] for r in ooc):.2f} GB** |"
    )
    for kind, name in (
        ("floor", "floor: read_parquet + group_by"),
        ("floor2", "floor, 2 columns: read_parquet + group_by"),
        ("floor_streaming", "floor, streaming: scan_parquet + group_by"),
    ):
        runs = res.get(kind)
        if isinstance(runs, list):
            detail = ", ".join(
                f"{s} {_med([r['steps'][s] for r in runs])}" for s in runs[0]["steps"]
            )
            lines.append(
                f"| {name} ({detail}) | {_med([r['total'] for r in runs])} | "
                f"{max(r['peak_rss_gb'] for r in runs):.2f} GB |"
            )
        elif runs:
            lines.append(f"| {name} | not run: {runs} | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--customers",
        type=int,
        default=1_000_000,
        help="customers of the generated bookshop (default 1000000; with --browsing 90 ~100M events)",
    )
    ap.add_argument(
        "--browsing",
        type=int,
        default=90,
        help="extra browsing events per customer passed to cxlab sample (default 90)",
    )
    ap.add_argument(
        "--partitions",
        type=int,
        default=None,
        help="P, customer-hash parts (default: chosen from the row count, 4M rows per part)",
    )
    ap.add_argument("--runs", type=int, default=1, help="runs of each child (default 1)")
    ap.add_argument(
        "--floor-max-gb",
        type=float,
        default=8.0,
        help="skip an in-memory floor whose predicted peak RSS exceeds this (default 8)",
    )
    ap.add_argument("--no-floor", action="store_true", help="skip the floors")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        folder = Path(a.folder)
        out = (
            child_outofcore(folder, a.partitions)
            if a.child == "outofcore"
            else child_floor(folder, a.child)
        )
        print(json.dumps(out))
        return

    info = machine()
    print(info, flush=True)
    folder = ensure_data(a.customers, a.browsing)
    size_gb = (folder / "events.parquet").stat().st_size / 1024**3
    res: dict = {"outofcore": []}
    part = ["--partitions", str(a.partitions)] if a.partitions else []
    for i in range(a.runs):
        r = run_child(["--child", "outofcore", "--folder", str(folder), *part])
        res["outofcore"].append(r)
        print(
            f"  outofcore run {i + 1}: {r['total']:.1f} s, {r['peak_rss_gb']:.2f} GB, P = {r['partitions']}",
            flush=True,
        )
    if not a.no_floor:
        for kind, cols in (("floor", None), ("floor2", list(_key_columns(folder)))):
            est = predicted_peak_gb(folder, cols)
            res[f"{kind}_predicted_gb"] = est
            if est > a.floor_max_gb:
                res[kind] = f"predicted peak ~{est:.0f} GB, over --floor-max-gb {a.floor_max_gb:g}"
            else:
                res[kind] = [
                    run_child(["--child", kind, "--folder", str(folder)]) for _ in range(a.runs)
                ]
        res["floor_streaming"] = [
            run_child(["--child", "floor_streaming", "--folder", str(folder)])
            for _ in range(a.runs)
        ]
    r0 = res["outofcore"][0]
    label = (
        f"{r0['events']:,} events, {r0['customers']:,} customers (events.parquet {size_gb:.2f} GB)"
    )
    text = table(label, res)
    print("\n" + text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"bench_outofcore_{a.customers}_b{a.browsing}.json").write_text(
        json.dumps({"machine": info, "label": label, "results": res}, indent=1)
    )


if __name__ == "__main__":
    main()
