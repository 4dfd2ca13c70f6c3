"""Specification of :func:`cxlab.analysis.heatmap.touchpoint_heatmap` (the stage x touchpoint table).

Plain version on text customer ids; the definitions are in :mod:`cxlab.analysis.heatmap`'s module
docstring. The derived columns (reach, intensity, drop-out rates, pain and their intervals)
come from the counts through :func:`cxlab.analysis.heatmap.heatmap_metrics`, the one formula the
package, the heatmap cube and the out-of-core path share; this oracle specifies the counts
and the satisfaction they are computed from.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxlab.analysis.heatmap import heatmap_metrics
from cxlab.analysis.stats import exact_sum
from cxlab.contract.schema import SOURCE_ROW, STAGE_DTYPE, SURVEY_SCALES, score_on_100

COLUMNS = [
    "stage",
    "touchpoint",
    "events",
    "customers",
    "stage_customers",
    "reach",
    "reach_ci_low",
    "reach_ci_high",
    "intensity",
    "feedback_n",
    "satisfaction",
    "n_touched",
    "dropped_touched",
    "drop_touched",
    "n_not_touched",
    "dropped_not_touched",
    "drop_not_touched",
    "pain",
    "pain_ci_low",
    "pain_ci_high",
    "pain_ratio",
    "small_n",
]


def _utc(value) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def touchpoint_heatmap(events_with_stage, feedback=None, *, as_of=None, survey=None, maturity=None):
    """One row per (stage, touchpoint) of the mapped events up to ``as_of``."""
    df = (
        events_with_stage.collect()
        if isinstance(events_with_stage, pl.LazyFrame)
        else events_with_stage
    )
    df = df.with_row_index("_row")
    tie = SOURCE_ROW if SOURCE_ROW in df.columns else "_row"
    if as_of is not None:
        df = df.filter(pl.col("timestamp") <= _utc(as_of))
    df = df.filter(pl.col("stage").is_not_null()).with_columns(
        pl.col("stage").cast(STAGE_DTYPE), pl.col("touchpoint").cast(pl.String)
    )
    cid = "customer_id"

    cells = df.group_by("stage", "touchpoint").agg(
        pl.len().cast(pl.Int64).alias("events"),
        pl.col(cid).n_unique().cast(pl.Int64).alias("customers"),
    )
    stage_all = df.group_by("stage").agg(
        pl.col(cid).n_unique().cast(pl.Int64).alias("stage_customers")
    )
    # a customer drops out in a stage when it is their furthest stage
    per_customer_stage = (
        df.group_by(cid, "stage")
        .agg(pl.col("timestamp").min().alias("entered"))
        .join(df.group_by(cid).agg(pl.col("stage").max().alias("furthest")), on=cid)
        .with_columns((pl.col("furthest") == pl.col("stage")).alias("dropped"))
    )
    if maturity is not None:  # leave out customers who entered less than `maturity` before the end
        end = _utc(as_of) if as_of is not None else df.get_column("timestamp").max()
        days = {"d": "days", "h": "hours", "w": "weeks", "m": "minutes", "s": "seconds"}
        window = (
            maturity
            if isinstance(maturity, dt.timedelta)
            else dt.timedelta(**{days[maturity[-1]]: float(maturity[:-1])})
        )
        per_customer_stage = per_customer_stage.filter(pl.col("entered") <= end - window)
    stage_pain = per_customer_stage.group_by("stage").agg(
        pl.len().cast(pl.Int64).alias("_N"), pl.col("dropped").sum().cast(pl.Int64).alias("_K")
    )
    touched = (
        df.select(cid, "stage", "touchpoint")
        .unique()
        .join(per_customer_stage, on=[cid, "stage"])
        .group_by("stage", "touchpoint")
        .agg(
            pl.len().cast(pl.Int64).alias("n_touched"),
            pl.col("dropped").sum().cast(pl.Int64).alias("dropped_touched"),
        )
    )
    counts = (
        cells.join(stage_all, on="stage", how="left")
        .join(stage_pain, on="stage", how="left")
        .join(touched, on=["stage", "touchpoint"], how="left")
        .with_columns(pl.col("_N", "_K", "n_touched", "dropped_touched").fill_null(0))
    )
    out = heatmap_metrics(counts.lazy()).collect()
    if feedback is None:
        out = out.with_columns(
            pl.lit(0, dtype=pl.Int64).alias("feedback_n"),
            pl.lit(None, dtype=pl.Float64).alias("satisfaction"),
        )
    else:
        sat = _satisfaction(df, feedback, survey, tie)
        out = out.join(sat, on=["stage", "touchpoint"], how="left").with_columns(
            pl.col("feedback_n").fill_null(0)
        )
    return out.select(COLUMNS).sort("stage", "touchpoint")


def _satisfaction(df: pl.DataFrame, feedback, survey, tie: str) -> pl.DataFrame:
    """Each answer goes to the stage of the customer's last event at its touchpoint at or before
    it (the last in file order among equal times), else of their first one after it."""
    fb = feedback.collect() if isinstance(feedback, pl.LazyFrame) else feedback
    fb = fb.filter(pl.col("touchpoint").is_not_null()).select(
        "customer_id",
        "timestamp",
        pl.col("touchpoint").cast(pl.String),
        pl.col("survey").cast(pl.String),
        pl.col("score").cast(pl.Float64),
    )
    assert survey is None or survey in SURVEY_SCALES
    if survey is not None:
        fb = fb.filter(pl.col("survey") == survey).with_columns(pl.col("score").alias("_sat"))
    else:  # every survey on 0-100
        fb = fb.with_columns(score_on_100().alias("_sat")).filter(pl.col("_sat").is_not_null())
    fb = fb.sort("timestamp")
    ev = (
        df.select("customer_id", "timestamp", "touchpoint", "stage", tie)
        .sort("timestamp", tie)
        .drop(tie)
    )
    by = ["customer_id", "touchpoint"]
    before = fb.join_asof(ev, on="timestamp", by=by, strategy="backward", check_sortedness=False)
    after = fb.join_asof(ev, on="timestamp", by=by, strategy="forward", check_sortedness=False)
    answers = before.with_columns(
        pl.coalesce(before.get_column("stage"), after.get_column("stage")).alias("stage")
    )
    return (
        answers.filter(pl.col("stage").is_not_null())
        .group_by("stage", "touchpoint")
        .agg(
            pl.len().cast(pl.Int64).alias("feedback_n"),
            (exact_sum("_sat", decimals=9) / pl.len()).alias("satisfaction"),
        )
    )
