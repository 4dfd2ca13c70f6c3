"""A heavier-tailed event log for the benchmarks: many event names, long sessions.

The sample generator's bookshop has 22 touchpoints and ~100 events per customer, evenly
spread. Real clickstreams are harder on per-customer and per-touchpoint work: a long tail of
event names (pages, buttons) and a few customers with very long histories. This module
writes a client folder with the bookshop's ``client.toml``, customers and feedback and a new
``events.parquet`` of about ``per_customer`` × customers events where

* the number of events per customer is heavy-tailed (Lomax/Pareto, shape 1.1; capped at
  50,000): most customers have a few events, a few have thousands;
* 60% of events are one of 2,000 page-like names drawn with Zipf weights (1/k), 40% the
  bookshop's own touchpoints (so stages, funnels and purchases still exist);
* gaps between a customer's events are mostly short (exponential, mean 60 s: long sessions),
  one in twenty long (exponential, mean 2 days);
* rows are in global time order, as exports usually are.

Deterministic for a seed. Used by ``benchmarks/run.py`` (``--shapes heavy``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl

N_NAMES = 2_000
CAP = 50_000


def write_heavy_client(
    src: Path, dst: Path, *, per_customer: float = 100.0, seed: int = 11
) -> Path:
    """Write the heavy-tailed client folder ``dst`` from the bookshop folder ``src``."""
    rng = np.random.default_rng(seed)
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("client.toml", "customers.parquet", "feedback.parquet"):
        shutil.copy(src / name, dst / name)
    ev = pl.scan_parquet(src / "events.parquet")
    ids = pl.read_parquet(src / "customers.parquet", columns=["Customer Ref"]).to_series()
    vocab = ev.select(pl.col("Action").unique().sort()).collect().to_series().to_list()
    media = ev.select(pl.col("Medium").drop_nulls().unique().sort()).collect().to_series()
    start = ev.select(pl.col("Event Time").min()).collect().item()
    end = ev.select(pl.col("Event Time").max()).collect().item()
    n = ids.len()

    raw = rng.pareto(1.1, n) + 0.05
    lengths = np.clip(np.round(raw * per_customer * n / raw.sum()), 1, CAP).astype(np.int64)
    total = int(lengths.sum())
    who = np.repeat(np.arange(n), lengths)
    first = np.r_[0, np.cumsum(lengths)[:-1]]

    # event names: the long tail (Zipf over N_NAMES pages) or the bookshop's own touchpoints
    weights = 1.0 / np.arange(1, N_NAMES + 1)
    page = rng.choice(N_NAMES, total, p=weights / weights.sum())
    own = rng.integers(0, len(vocab), total)
    use_own = rng.random(total) < 0.4
    names = pl.Series([f"page_{k:04d}" for k in range(N_NAMES)] + vocab, dtype=pl.String)
    action = np.where(use_own, N_NAMES + own, page)

    # times: a start per customer, then mostly short gaps (long sessions), a few long ones
    span_s = (end - start).total_seconds()
    long_gap = rng.random(total) < 0.05
    gaps = np.where(long_gap, rng.exponential(2 * 86_400, total), rng.exponential(60, total))
    gaps[first] = 0.0
    csum = np.cumsum(gaps)
    offset = csum - np.repeat(csum[first], lengths)
    begin = rng.uniform(0, span_s * 0.9, n)
    seconds = np.minimum(np.repeat(begin, lengths) + offset, span_s).astype(np.int64)
    session = np.cumsum(np.where(long_gap | np.isin(np.arange(total), first), 1, 0))

    start_us = int(start.timestamp() * 1_000_000)
    frame = pl.DataFrame(
        {
            "Customer Ref": ids.gather(who),
            "Event Time": pl.Series(start_us + seconds * 1_000_000).cast(pl.Datetime("us", "UTC")),
            "Action": names.gather(action),
            "Medium": media.gather(rng.integers(0, media.len(), total)),
            "Session": pl.Series(session).cast(pl.String),
            "Order Value": np.round(rng.lognormal(3.0, 0.6, total), 2),
        }
    ).with_columns(
        pl.format("s{}", "Session").alias("Session"),
        pl.when(pl.col("Action") == "purchase").then(pl.col("Order Value")).alias("Order Value"),
    )
    frame.sort("Event Time", maintain_order=True).write_parquet(dst / "events.parquet")
    return dst
