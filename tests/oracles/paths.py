"""Specification of :mod:`cxlab.analysis.paths`: sessions, transitions, step matrix, variants, flows.

The plain, per-path-obvious versions (they were cxlab's "plain" implementations): text
customer keys, each path built as a list sorted inside its group. Definitions (the module
docstring of :mod:`cxlab.analysis.paths` says the same in words):

* a path is the events of one customer (``path="customer"``) or of one
  (customer, session_id) pair (``path="session"``), ordered by ``timestamp`` then
  ``source_row`` (file order; the row position when the frame has none);
* a transition A -> B is B right after A in the same path; a path of n events has n - 1.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxlab.analysis.stats import small_n, wilson_bounds
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP, SOURCE_ROW, STAGES

ENDED = "ENDED"
OTHER = "other"
ORDER = ["timestamp", SOURCE_ROW]


def _frame(events) -> pl.DataFrame:
    """The events as a plain DataFrame: text touchpoints, no codes, ``source_row`` present."""
    df = events.collect() if isinstance(events, pl.LazyFrame) else events
    df = df.drop("_cx_cid", "_cx_seq", strict=False)
    df = df.with_columns(
        pl.col(c).cast(pl.String) for c in ("touchpoint", "channel") if c in df.columns
    )
    if SOURCE_ROW not in df.columns:
        df = df.with_row_index(SOURCE_ROW, offset=1)
    return df


def _one(**value: int) -> pl.LazyFrame:
    """A one-row UInt32 frame to cross-join lazily: shares divide by its column. (polars may
    divide an eager column by a scalar as a multiplication by its inverse, which can differ
    from the division in the last bit: 3 / 5 gave 0.6000000000000001.)"""
    return pl.LazyFrame(value, schema=dict.fromkeys(value, pl.UInt32))


def _key(path: str) -> list[str]:
    return ["customer_id"] if path == "customer" else ["customer_id", "session_id"]


def _path_lists(df: pl.DataFrame, key: list[str], cols: list[str]) -> pl.DataFrame:
    """One row per path, ``cols`` as lists in path order (sorted inside each group)."""
    return df.group_by(key).agg(pl.col(c).sort_by(ORDER) for c in cols)


def _steps(df: pl.DataFrame, key: list[str], cols: list[str]) -> pl.DataFrame:
    """One row per event with ``step`` (1-based position in its path) and ``n_events``."""
    first = cols[0]
    return (
        _path_lists(df, key, cols)
        .with_columns(
            n_events=pl.col(first).list.len(),
            step=pl.int_ranges(1, pl.col(first).list.len() + 1, dtype=pl.Int32),
        )
        .explode([*cols, "step"])
    )


def _collapse(expr: pl.Expr) -> pl.Expr:
    return expr.list.eval(pl.element().filter(pl.element().ne_missing(pl.element().shift(1))))


def sessionize(events, gap: dt.timedelta):
    """A new session when the time since the customer's previous event is > ``gap``."""
    was_lazy = isinstance(events, pl.LazyFrame)
    df = events.collect() if was_lazy else events
    if SOURCE_ROW not in df.columns:  # the tie-break: file order, here the row position
        df = df.with_row_index(SOURCE_ROW, offset=1)
    new = (pl.col("timestamp").diff() > pl.lit(gap)).fill_null(True)
    out = df.with_columns(
        session_index=new.cum_sum().over("customer_id", order_by=ORDER).cast(pl.UInt32)
    ).with_columns(
        session_id=pl.concat_str(
            [pl.col("customer_id"), pl.lit("#"), pl.col("session_index").cast(pl.String)]
        )
    )
    return out.lazy() if was_lazy else out


def transitions(events, weight: str = "events", path: str = "customer") -> pl.DataFrame:
    """Every A -> B of every path, counted by events, customers or sessions."""
    df = _frame(events)
    key = _key(path)
    lists = _path_lists(df, key, ["touchpoint", "timestamp"])
    n = pl.col("touchpoint").list.len() - 1
    pairs = lists.select(
        *key,
        source=pl.col("touchpoint").list.head(n),
        target=pl.col("touchpoint").list.tail(n),
        t0=pl.col("timestamp").list.head(n),
        t1=pl.col("timestamp").list.tail(n),
    ).explode(["source", "target", "t0", "t1"])
    pairs = pairs.with_columns(
        seconds=(pl.col("t1") - pl.col("t0")).dt.total_microseconds().cast(pl.Float64) / 1e6
    )
    aggs = [
        pl.len().alias("events"),
        pl.col("customer_id").n_unique().alias("customers"),
        pl.col("seconds").mean().alias("mean_seconds"),
        pl.col("seconds").median().alias("median_seconds"),
    ]
    if path == "session":
        aggs.insert(2, pl.struct(key).n_unique().alias("sessions"))
    edges = pairs.group_by("source", "target").agg(aggs)
    if weight == "events":
        out_w = edges.group_by("source").agg(pl.col("events").sum().alias("_out"))
        total = pairs.height
    else:
        unit = ["customer_id"] if weight == "customers" else key
        units = pl.struct(unit) if len(unit) > 1 else pl.col(unit[0])
        out_w = pairs.group_by("source").agg(units.n_unique().alias("_out"))
        total = df.select(units.n_unique()).item()
    count = pl.col(weight)
    cols = ["source", "target", "events", "customers"]
    cols += ["sessions"] if path == "session" else []
    cols += ["count", "probability", "share", "mean_seconds", "median_seconds"]
    return (
        edges.lazy()
        .join(out_w.lazy(), on="source", how="left")
        .join(_one(_total=total), how="cross")
        .with_columns(
            count=count.cast(pl.UInt32),
            probability=count / pl.col("_out"),
            share=count / pl.col("_total"),
        )
        .sort("source", "target")
        .select(cols)
        .collect()
    )


def step_matrix(events, max_steps=10, anchor=None, occurrence=1, steps_before=3, path="customer"):
    """Share of paths at step k on each touchpoint, plus the cumulative ``ENDED`` row."""
    df = _frame(events)
    key = _key(path)
    long = _steps(df, key, ["touchpoint"])
    touchpoints = df.select(pl.col("touchpoint").unique())
    if anchor is None:
        lo, hi = 1, max_steps
        n_paths = long.filter(pl.col("step") == 1).height
        ended_at = pl.col("n_events") + 1
    else:
        lo, hi = -steps_before, max_steps
        hits = (
            long.filter(pl.col("touchpoint") == anchor)
            .with_columns(k=pl.int_range(1, pl.len() + 1).over(key, order_by="step"))
            .filter(pl.col("k") == occurrence)
            .select(*key, anchor_step=pl.col("step"))
        )
        long = long.join(hits, on=key, how="inner").with_columns(
            step=(pl.col("step") - pl.col("anchor_step")).cast(pl.Int32),
            n_events=pl.col("n_events") - pl.col("anchor_step") + 1,
        )
        n_paths = hits.height
        ended_at = pl.col("n_events")
    counted = (
        long.filter(pl.col("step").is_between(lo, hi))
        .group_by("step", "touchpoint")
        .agg(paths=pl.len())
    )
    ends = (
        long.filter(pl.col("step") == (1 if anchor is None else 0))
        .select(ended=ended_at.cast(pl.Int32))
        .group_by("ended")
        .agg(n=pl.len())
    )
    steps = pl.DataFrame({"step": list(range(max(lo, 1), hi + 1))}, schema={"step": pl.Int32})
    ended = (
        steps.join(ends, how="cross")
        .filter(pl.col("ended") <= pl.col("step"))
        .group_by("step")
        .agg(paths=pl.col("n").sum())
        .with_columns(touchpoint=pl.lit(ENDED))
    )
    grid = pl.DataFrame({"step": list(range(lo, hi + 1))}, schema={"step": pl.Int32}).join(
        pl.concat([touchpoints, pl.DataFrame({"touchpoint": [ENDED]})]), how="cross"
    )
    both = pl.concat(
        [counted.select("step", "touchpoint", "paths"), ended.select("step", "touchpoint", "paths")]
    )
    return (
        grid.lazy()
        .join(both.lazy(), on=["step", "touchpoint"], how="left")
        .join(_one(n_paths=n_paths), how="cross")
        .with_columns(paths=pl.col("paths").fill_null(0).cast(pl.UInt32))
        .with_columns(share=pl.col("paths") / pl.col("n_paths"))
        .with_columns(pl.col("n_paths").cast(pl.UInt32))
        .sort("step", pl.col("touchpoint") == ENDED, "touchpoint")
        .select("step", "touchpoint", "paths", "share", "n_paths")
        .collect()
    )


def path_variants(
    events,
    top_n=10,
    max_steps=None,
    collapse_loops=False,
    conversion=("purchase",),
    until_conversion=False,
    path="customer",
    sep=" > ",
):
    """Whole paths as text: cut at conversion, loops collapsed, first max_steps, counted."""
    df = _frame(events)
    conv = [conversion] if isinstance(conversion, str) else list(conversion or [])
    tp = pl.col("touchpoint")
    paths = _path_lists(df, _key(path), ["touchpoint"]).with_columns(
        converted=tp.list.eval(pl.element().is_in(conv)).list.any() if conv else pl.lit(False)
    )
    if until_conversion:
        first = tp.list.eval(pl.element().is_in(conv)).list.arg_max()
        paths = paths.with_columns(
            touchpoint=tp.list.head(
                pl.when(pl.col("converted")).then(first).otherwise(tp.list.len())
            )
        )
    if collapse_loops:
        paths = paths.with_columns(touchpoint=_collapse(tp))
    if max_steps is not None:
        paths = paths.with_columns(touchpoint=tp.list.head(max_steps))
    variants = (
        paths.with_columns(path=tp.list.join(sep), n_steps=tp.list.len().cast(pl.UInt32))
        .group_by("path", "n_steps")
        .agg(paths=pl.len().cast(pl.UInt32), conversions=pl.col("converted").sum().cast(pl.UInt32))
        .with_columns(share=pl.col("paths") / pl.col("paths").sum())
        .sort(["paths", "path", "n_steps"], descending=[True, False, False])
        .with_row_index("rank", offset=1)
    )
    if top_n is not None:
        variants = variants.head(top_n)
    cols = ["rank", "path", "n_steps", "paths", "share"]
    if conv:
        variants = variants.with_columns(
            (pl.col("conversions") / pl.col("paths")).alias("conversion_rate"),
            *wilson_bounds("conversions", "paths"),
            small_n("paths"),
        )
        cols += ["conversions", "conversion_rate", "ci_low", "ci_high", "small_n"]
    return variants.select(cols)


def stage_flows(
    events,
    max_steps=5,
    unit="touchpoint",
    top_n=6,
    collapse_loops=None,
    journey_map=None,
    purchase_touchpoints=("purchase",),
    path="customer",
):
    """Links step k -> k + 1 of every path (ENDED after its last node), top_n nodes a step."""
    df = _frame(events)
    key = _key(path)
    if collapse_loops is None:
        collapse_loops = unit == "stage"
    long = _steps(df, key, ["touchpoint"])
    if unit == "stage":
        jm = dict(DEFAULT_JOURNEY_MAP if journey_map is None else journey_map)
        assert set(jm.values()) <= set(STAGES)
        stage = pl.col("touchpoint").replace_strict(jm, default="unmapped", return_dtype=pl.String)
        is_purchase = pl.col("touchpoint").is_in(list(purchase_touchpoints))
        later = is_purchase & (is_purchase.cast(pl.UInt32).cum_sum().over(key, order_by="step") > 1)
        long = long.with_columns(
            touchpoint=pl.when(later).then(pl.lit("retention")).otherwise(stage)
        )
    lists = long.group_by(key).agg(pl.col("touchpoint").sort_by("step"))
    if collapse_loops:
        lists = lists.with_columns(touchpoint=_collapse(pl.col("touchpoint")))
    node = pl.col("touchpoint")
    steps = (
        lists.with_columns(node.list.head(max_steps))
        .with_columns(step=pl.int_ranges(1, node.list.len() + 1, dtype=pl.Int32))
        .explode(["touchpoint", "step"])
    )
    rank = (
        steps.group_by("step", "touchpoint")
        .agg(n=pl.len())
        .with_columns(
            r=pl.int_range(1, pl.len() + 1).over(
                "step", order_by=[pl.col("n").cast(pl.Int64) * -1, pl.col("touchpoint")]
            )
        )
    )
    steps = steps.join(
        rank.select("step", "touchpoint", "r"), on=["step", "touchpoint"], how="left"
    ).with_columns(touchpoint=pl.when(pl.col("r") <= top_n).then(node).otherwise(pl.lit(OTHER)))
    links = (
        steps.with_columns(
            target=node.shift(-1).over(key, order_by="step").fill_null(pl.lit(ENDED))
        )
        .filter(pl.col("step") < max_steps)
        .group_by("step", pl.col("touchpoint").alias("source"), "target")
        .agg(paths=pl.len().cast(pl.UInt32))
    )
    total = df.select(pl.struct(key).n_unique()).item()
    return (
        links.lazy()
        .join(_one(_n=total), how="cross")
        .with_columns(share=pl.col("paths") / pl.col("_n"))
        .sort(["step", "paths", "source", "target"], descending=[False, True, False, False])
        .select("step", "source", "target", "paths", "share")
        .collect()
    )
