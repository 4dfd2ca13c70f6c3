"""Specification of :mod:`cxlab.analysis.journey`: stages, customer journeys, stage transitions.

Definitions (the module docstring of :mod:`cxlab.analysis.journey` says the same in words):

* the events of one customer are ordered by ``timestamp``, then ``source_row`` (file order),
  then row order when the frame has no ``source_row``;
* an event's stage is the journey map's stage of its touchpoint (null when the map does not
  know it); purchase touchpoints are ``purchase`` for the customer's first purchase event
  and ``retention`` for every later one.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxlab.contract.schema import SOURCE_ROW, STAGE_DTYPE, STAGES

TRANSITION_STATES = ("(start)", *STAGES, "(end)")
TRANSITION_DTYPE = pl.Enum(list(TRANSITION_STATES))
DAY_US = 86_400_000_000


def _frame(events) -> pl.DataFrame:
    """The events as a DataFrame with text touchpoints and a ``_row`` (row number) column."""
    df = events.collect() if isinstance(events, pl.LazyFrame) else events
    return df.with_row_index("_row")


def _tie(df: pl.DataFrame) -> str:
    """The tie-break of equal timestamps: ``source_row``, else the row number."""
    return SOURCE_ROW if SOURCE_ROW in df.columns else "_row"


def _as_of(as_of, data_end):
    if as_of is None:
        return data_end
    if not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time())
    return as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)


def assign_stages(events, journey_map, purchase_touchpoints=("purchase",)):
    """Each event's stage; same rows, same row order, same kind of frame."""
    df = _frame(events)
    purchases = list(purchase_touchpoints)
    mapping = {**journey_map, **{p: "purchase" for p in purchases}}
    touchpoint = pl.col("touchpoint").cast(pl.String)
    is_purchase = touchpoint.is_in(purchases)
    # the first purchase of each customer: earliest by (timestamp, tie-break)
    first_purchases = (
        df.filter(is_purchase)
        .sort("timestamp", _tie(df))
        .group_by("customer_id", maintain_order=True)
        .first()
        .get_column("_row")
    )
    stage = (
        pl.when(is_purchase & ~pl.col("_row").is_in(first_purchases.implode()))
        .then(pl.lit("retention"))
        .otherwise(touchpoint.replace_strict(mapping, default=None))
        .cast(STAGE_DTYPE)
    )
    out = df.with_columns(stage.alias("stage")).drop("_row")
    return out.lazy() if isinstance(events, pl.LazyFrame) else out


def _in_order(events_with_stage, as_of) -> pl.DataFrame:
    """Events up to ``as_of``, sorted by customer then event order, numbered 0.. in that order."""
    df = _frame(events_with_stage)
    if as_of is not None:
        df = df.filter(pl.col("timestamp") <= _as_of(as_of, None))
    return df.sort("customer_id", "timestamp", _tie(df)).with_columns(
        pl.col("stage").cast(STAGE_DTYPE), pl.int_range(pl.len()).alias("seq")
    )


def customer_journeys(events_with_stage, as_of=None) -> pl.DataFrame:
    """One row per customer, sorted by customer_id."""
    df = _in_order(events_with_stage, as_of)
    end = _as_of(as_of, df.get_column("timestamp").max())
    stage, ts, seq = pl.col("stage"), pl.col("timestamp"), pl.col("seq")
    aggs = [
        ts.min().alias("first_event_at"),
        ts.max().alias("last_event_at"),
        pl.len().cast(pl.Int64).alias("n_events"),
        stage.is_null().sum().cast(pl.Int64).alias("n_unmapped"),
        stage.max().alias("furthest_stage"),
        stage.drop_nulls().last().alias("current_stage"),  # the last mapped event's stage
    ]
    for s in STAGES:
        aggs += [
            ts.filter(stage == s).min().alias(f"first_{s}_at"),
            (stage == s).sum().cast(pl.Int64).alias(f"events_{s}"),
            seq.filter(stage == s).min().alias(f"_first_{s}_seq"),
            seq.filter(stage == s).max().alias(f"_last_{s}_seq"),
        ]
    j = df.group_by("customer_id").agg(aggs)
    # time in a stage: while it was the furthest so far, until a later stage (or the end)
    days = []
    for i, s in enumerate(STAGES):
        left_at = pl.min_horizontal(
            *[pl.col(f"first_{t}_at") for t in STAGES[i + 1 :]],
            pl.lit(end).cast(pl.Datetime("us", "UTC")),
        )
        d = (left_at - pl.col(f"first_{s}_at")).dt.total_microseconds() * (
            1.0 / DAY_US
        )  # see cxlab.analysis.journey
        days.append(
            pl.when(pl.col(f"first_{s}_at").is_not_null())
            .then(d.clip(lower_bound=0.0))
            .alias(f"days_in_{s}")
        )
    # regressed: an event in an earlier stage after a later stage was first reached
    back = [
        pl.col(f"_first_{hi}_seq") < pl.col(f"_last_{lo}_seq")
        for i, hi in enumerate(STAGES)
        for lo in STAGES[:i]
    ]
    back_after_purchase = [
        pl.col("_first_purchase_seq") < pl.col(f"_last_{lo}_seq")
        for lo in ("awareness", "consideration")
    ]
    j = j.with_columns(
        *days,
        pl.any_horizontal(*[b.fill_null(False) for b in back]).alias("regressed"),
        pl.any_horizontal(*[b.fill_null(False) for b in back_after_purchase]).alias(
            "regressed_after_purchase"
        ),
    )
    cols = ["customer_id", "first_event_at", "last_event_at", "n_events", "n_unmapped"]
    cols += [f"first_{s}_at" for s in STAGES] + [f"events_{s}" for s in STAGES]
    cols += [f"days_in_{s}" for s in STAGES]
    cols += ["furthest_stage", "current_stage", "regressed", "regressed_after_purchase"]
    return j.select(cols).sort("customer_id")


def stage_transitions(
    events_with_stage, *, as_of=None, collapse_repeats=True, include_start_end=True
) -> pl.DataFrame:
    """Counts of moves between consecutive mapped events of each customer."""
    df = _in_order(events_with_stage, as_of).filter(pl.col("stage").is_not_null())
    df = df.with_columns(pl.col("stage").cast(pl.String))
    previous = pl.col("stage").shift(1).over("customer_id")
    if collapse_repeats:  # consecutive events in one stage are one visit
        df = df.filter(previous.is_null() | (pl.col("stage") != previous))
    moves = df.select(
        "customer_id",
        previous.fill_null("(start)").alias("from_stage"),
        pl.col("stage").alias("to_stage"),
    )
    if include_start_end:
        ends = df.group_by("customer_id").agg(pl.col("stage").last().alias("from_stage"))
        moves = pl.concat([moves, ends.with_columns(pl.lit("(end)").alias("to_stage"))])
    else:
        moves = moves.filter(pl.col("from_stage") != "(start)")
    return (
        moves.group_by("from_stage", "to_stage")
        .agg(
            pl.len().cast(pl.Int64).alias("transitions"),
            pl.col("customer_id").n_unique().cast(pl.Int64).alias("customers"),
        )
        .with_columns(pl.col("from_stage", "to_stage").cast(TRANSITION_DTYPE))
        .with_columns(pl.col("transitions").sum().over("from_stage").alias("from_total"))
        .with_columns((pl.col("transitions") / pl.col("from_total")).alias("share"))
        .select("from_stage", "to_stage", "transitions", "customers", "share", "from_total")
        .sort("from_stage", "to_stage")
    )
