"""Loading a wide survey export against the same answers in long form (issue 17 §3).

Writes one survey programme twice: **wide** (one row per response, one column per question:
an NPS, a CSAT in words, four 1–5 attribute ratings with ~4% skipped, an open-text column)
and **long** (one row per answer: customer, time, question code, answer, the comment on the
NPS row), with the questions declared in ``client.toml`` (``column`` for wide, ``value`` for
long). Each load (``load_client``: read, reshape, every check, the set-aside report) runs in
a fresh process; a side's time is the median of ``--runs`` processes, the two sides
alternating. The target: wide costs at most 1.2x long.

Usage::

    .venv/bin/python benchmarks/bench_surveys.py --responses 200000 --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from run import DATA, machine  # benchmarks/run.py

ITEMS = ("delivery", "price", "support", "app")
LABELS = ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]


def _questions(shape: str) -> str:
    key = "column" if shape == "wide" else "value"
    out = [f'[questions.recommend]\n{key} = "Q1"\nkind = "nps"']
    out.append(
        f'[questions.satisfaction]\n{key} = "Q2"\nkind = "csat"\nscale = {LABELS!r}'.replace(
            "'", '"'
        )
    )
    for i, item in enumerate(ITEMS, 1):
        out.append(f'[questions.{item}]\n{key} = "Q5_{i}"\nkind = "rating"\nscale = [1, 5]')
    if shape == "wide":
        out.append('[questions.comment]\ncolumn = "Q6"\nkind = "text"')
    return "\n".join(out) + "\n"


def write(responses: int, root: Path) -> dict[str, Path]:
    """The two client folders (made when missing)."""
    folders = {s: root / f"surveys_{responses}" / s for s in ("wide", "long")}
    if all((f / "client.toml").is_file() for f in folders.values()):
        return folders
    rng = np.random.default_rng(5)
    n = responses
    t0 = np.datetime64("2024-01-01T00:00:00")
    wide = pl.DataFrame(
        {
            "customer": [f"C{i:07d}" for i in range(n)],
            "recorded": (t0 + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")).astype(str),
            "Q1": rng.integers(0, 11, n).astype(str),
            "Q2": np.array(LABELS)[rng.integers(0, 5, n)],
            **{
                f"Q5_{i}": np.where(rng.random(n) < 0.04, "", rng.integers(1, 6, n).astype(str))
                for i in range(1, len(ITEMS) + 1)
            },
            "Q6": np.where(rng.random(n) < 0.5, "delivery was late and support slow", ""),
        }
    )
    codes = ["Q1", "Q2", *[f"Q5_{i}" for i in range(1, len(ITEMS) + 1)]]
    long = (
        wide.with_row_index("_r")
        .unpivot(
            on=codes,
            index=["_r", "customer", "recorded", "Q6"],
            variable_name="item",
            value_name="answer",
        )
        .filter(pl.col("answer") != "")
        .with_columns(
            pl.when(pl.col("item") == "Q1")
            .then(pl.col("Q6"))
            .otherwise(pl.lit(""))
            .alias("comment")
        )
        .sort("_r", "item")
        .select("customer", "recorded", "item", "answer", "comment")
    )
    head = 'name = "{s}"\n[files]\nfeedback = "answers.csv"\n[columns.feedback]\ncustomer = "customer_id"\nrecorded = "timestamp"\n'
    for shape, frame in (("wide", wide), ("long", long)):
        folder = folders[shape]
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_csv(folder / "answers.csv")
        extra = (
            'item = "survey"\nanswer = "score"\ncomment = "comment"\n' if shape == "long" else ""
        )
        (folder / "client.toml").write_text(head.format(s=shape) + extra + _questions(shape))
    return folders


def _one(folder: Path) -> None:
    from cxlab.io.client import load_client

    t, cpu = time.perf_counter(), time.process_time()
    client = load_client(folder)
    took, cpu = time.perf_counter() - t, time.process_time() - cpu
    fb = client.feedback
    print(f"{took:.4f} {fb.height} {client.set_aside['feedback'].height} {cpu:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--responses", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--old-src",
        type=Path,
        default=None,
        help="a checkout of an older cxlab: its wide load is timed too (interleaved)",
    )
    ap.add_argument("--one", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        _one(args.one)
        return
    print(machine(), flush=True)
    folders = write(args.responses, DATA)
    sides = {"long": (folders["long"], None), "wide": (folders["wide"], None)}
    if args.old_src is not None:
        sides["wide (old)"] = (folders["wide"], args.old_src)
    times: dict[str, list[float]] = {s: [] for s in sides}
    cpus: dict[str, list[float]] = {s: [] for s in sides}
    rows: dict[str, str] = {}
    for _ in range(args.runs):
        for side, (folder, src) in sides.items():
            env = dict(os.environ)
            if src is not None:
                env["PYTHONPATH"] = str(src)
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(folder)],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            ).stdout.split()
            times[side].append(float(out[0]))
            cpus[side].append(float(out[3]))
            rows[side] = f"{int(out[1]):,} answers loaded, {int(out[2]):,} set aside"
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for side in sides:
        xs, cs = times[side], cpus[side]
        print(
            f"{side:>10}: wall {statistics.median(xs):.3f} s (min {min(xs):.3f}, max "
            f"{max(xs):.3f}); cpu {statistics.median(cs):.3f} s (min {min(cs):.3f}, max "
            f"{max(cs):.3f}); {rows[side]}"
        )
    for side in sides:
        if side != "long":
            wall = statistics.median(times[side]) / statistics.median(times["long"])
            cpu = statistics.median(cpus[side]) / statistics.median(cpus["long"])
            print(f"{side} / long: wall {wall:.2f}x, cpu {cpu:.2f}x")


if __name__ == "__main__":
    main()
