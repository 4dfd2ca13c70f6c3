"""``cxlab init`` and the declarative contract on a ~10M-event log.

Times, in this process, ``--runs`` times each:

read
    ``pl.read_parquet`` (or ``pl.read_csv``) of the whole events file: the floor ``cxlab init``
    is compared with (the target: init answers in at most 3x this).
init
    ``init_client(folder, events, validate=False)``: the sample read, the proposals and the
    written client.toml (what init adds on its own).
init + validate
    ``init_client(folder, events)``: the same, then a full ``load_client`` to list what is
    left to fix.
load plain / load declared
    ``load_client`` of the same rows written two ways: canonical columns (plain), and with the
    time as integer microseconds inside a struct (``"props.time"`` + ``timestamp_unit``), the
    touchpoint derived from two columns (``[derive.events]``) and the channel a constant
    (``[defaults.events]``). The target: declared costs at most 1.2x plain.

Usage::

    .venv/bin/python benchmarks/bench_init.py --events PATH/events.parquet --runs 3
    .venv/bin/python benchmarks/bench_init.py --loads-only --runs 5

``--loads-only`` times only the two loads, each in a fresh process (import + one
``load_client``), plain and declared alternating, and prints the medians of the wall and CPU
(``time.process_time``: every thread of the process) times: the fair comparison on a shared
machine. The two folders must exist (made by a first run without it).

Without ``--events`` the ~10M-event bookshop log of ``benchmarks/run.py`` is used (made
when missing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from run import DATA, ensure_data, machine  # benchmarks/run.py

from cxlab.io.client import load_client
from cxlab.io.init import init_client


def _timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"


def _place(src: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / src.name
    if not dst.exists():
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
    return dst


def _one(folder: Path) -> None:
    t, cpu = time.perf_counter(), time.process_time()
    events = load_client(folder).events
    print(f"{time.perf_counter() - t:.4f} {time.process_time() - cpu:.4f} {events.height}")


def _loads(work: Path, runs: int) -> None:
    """plain and declared loads in fresh processes, alternating; medians of wall and CPU."""
    print(machine(), flush=True)
    sides = {"plain": work / "plain", "declared": work / "declared"}
    wall: dict[str, list[float]] = {s: [] for s in sides}
    cpu: dict[str, list[float]] = {s: [] for s in sides}
    for _ in range(runs):
        for side, folder in sides.items():
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(folder)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            wall[side].append(float(out[0]))
            cpu[side].append(float(out[1]))
            rows = int(out[2])
    print(f"load average after: {os.getloadavg()[0]:.1f}; {rows:,} events loaded")
    for side in sides:
        print(f"load {side}: wall {_fmt(wall[side])} s, cpu {_fmt(cpu[side])} s")
    for name, xs in (("wall", wall), ("cpu", cpu)):
        ratio = statistics.median(xs["declared"]) / statistics.median(xs["plain"])
        print(f"declared / plain, {name}: {ratio:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=DATA / "bench_init")
    ap.add_argument("--loads-only", action="store_true")
    ap.add_argument("--one", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        _one(args.one)
        return
    if args.loads_only:
        _loads(args.work, args.runs)
        return
    events = args.events or ensure_data(100_000, 90) / "events.parquet"
    print(machine(), flush=True)
    read = (
        (lambda: pl.read_csv(events, infer_schema=False))
        if events.suffix == ".csv"
        else (lambda: pl.read_parquet(events))
    )
    n = read().height
    rows: dict[str, list[float]] = {"read": _timed(read, args.runs)}

    folder = args.work / "init"
    copy = _place(events, folder)
    rows["init"] = _timed(lambda: init_client(folder, copy, force=True, validate=False), args.runs)
    rows["init + validate"] = _timed(lambda: init_client(folder, copy, force=True), 1)

    # the same rows, plain and declared
    raw = pl.read_parquet(events)
    m = load_client(folder).config.columns["events"]
    inv = {v: k for k, v in m.items()}
    base = raw.select(
        pl.col(inv["customer_id"]).alias("customer_id"),
        pl.col(inv["timestamp"]).alias("timestamp"),
        pl.col(inv["touchpoint"]).alias("touchpoint"),
        pl.lit("web").alias("channel"),
    )
    plain_dir, declared_dir = args.work / "plain", args.work / "declared"
    for d in (plain_dir, declared_dir):
        d.mkdir(parents=True, exist_ok=True)
    base.write_parquet(plain_dir / "events.parquet")
    ts = pl.col("timestamp")
    if base.schema["timestamp"] == pl.String:
        ts = ts.str.to_datetime(strict=False, time_zone="UTC")
    base.select(
        "customer_id",
        pl.struct(ts.dt.epoch("us").alias("time")).alias("props"),
        pl.col("touchpoint").alias("event"),
        pl.lit(None, pl.String).alias("page"),
    ).write_parquet(declared_dir / "events.parquet")
    (plain_dir / "client.toml").write_text('[files]\nevents = "events.parquet"\n')
    (declared_dir / "client.toml").write_text(
        'timestamp_unit = "us"\n[files]\nevents = "events.parquet"\n\n[columns.events]\n'
        '"props.time" = "timestamp"\n\n[derive.events]\ntouchpoint = ["event", "page"]\n\n'
        '[defaults.events]\nchannel = "web"\n'
    )
    del raw, base
    a = load_client(plain_dir).events
    b = load_client(declared_dir).events
    assert a.select("customer_id", "timestamp", "touchpoint", "channel").equals(
        b.select("customer_id", "timestamp", "touchpoint", "channel")
    ), "declared load differs"
    del a, b
    # reading the two files alone: the declared one holds a struct column, which costs more
    # to decode whatever cxlab does with it
    rows["read plain file"] = _timed(
        lambda: pl.read_parquet(plain_dir / "events.parquet"), args.runs
    )
    rows["read declared file"] = _timed(
        lambda: pl.read_parquet(declared_dir / "events.parquet"), args.runs
    )
    rows["load plain"] = _timed(lambda: load_client(plain_dir), args.runs)
    rows["load declared"] = _timed(lambda: load_client(declared_dir), args.runs)

    print(f"\n{events} ({n:,} rows), runs {args.runs}\n")
    print("| step | s, median (min–max) | ratio |")
    print("|---|---|---|")
    med = {k: statistics.median(v) for k, v in rows.items()}
    ratio = {
        "init": med["init"] / med["read"],
        "init + validate": med["init + validate"] / med["read"],
        "load declared": med["load declared"] / med["load plain"],
    }
    for k, v in rows.items():
        r = {"init": "x read", "init + validate": "x read", "load declared": "x plain"}.get(k, "")
        print(f"| {k} | {_fmt(v)} | {f'{ratio[k]:.2f} {r}' if k in ratio else ''} |")


if __name__ == "__main__":
    main()
