"""Specification of :func:`cxlab.analysis.features.customer_features`: the feature table.

Definitions (the module docstring of :mod:`cxlab.analysis.features` says the same in words),
for events, answers and customers as of ``as_of`` (default: the last event; later rows are
ignored), with ``days(a, b)`` = microseconds from b to a × 1/86,400,000,000:

* one row per customer of the customers table or the events, sorted by ``customer_id``;
* ``frequency`` events, ``n_purchases`` purchase events, ``monetary`` revenue sum (0 without
  revenue), ``tenure_days`` = days(as_of, first seen) clipped at 0 with first seen the
  earlier of ``signup_date`` and the first event, ``recency_days`` = days(as_of, last
  event), ``days_since_last_purchase`` = days(as_of, last purchase), both the tenure when
  there is no such event;
* ``stage_<s>_events`` events per stage (stages from the journey oracle) and
  ``furthest_stage`` (1..5, 0 with no mapped event);
* ``channel_<c>_share`` = events on channel c / all events, for the ``max_levels`` most
  common channels (count, then name); with more channels, ``channel_other_share`` = events
  on another channel / events with a channel;
* ``support_contacts``: support touchpoints strictly after the customer's first purchase;
  ``support_contacts_<N>d`` those after as_of − N days;
* ``last_nps`` (last answer by timestamp, then ``source_row``, then row order), ``mean_csat``,
  ``mean_ces``, ``n_feedback``;
* customer attributes: numbers and booleans as floats; text one-hot ``column=level`` for
  the ``max_levels`` most common levels, ``column=other`` for the rest when there are more.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxlab.contract.schema import SOURCE_ROW, STAGES
from oracles import journey as journey_oracle

DAY = 1.0 / 86_400_000_000


def _end(as_of, data_end) -> dt.datetime:
    """``as_of`` as an aware UTC datetime (a date is its midnight), or the data end."""
    if as_of is None:
        return data_end
    if not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time())
    return as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)


def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_microseconds() * DAY


def _top(values: pl.Series, max_levels: int) -> tuple[list[str], bool]:
    counts = (
        values.drop_nulls()
        .value_counts(name="n")
        .sort(["n", values.name], descending=[True, False])
    )
    levels = counts.get_column(values.name).to_list()
    return levels[:max_levels], len(levels) > max_levels


def customer_features(
    events: pl.DataFrame,
    feedback: pl.DataFrame | None,
    customers: pl.DataFrame | None,
    *,
    journey_map,
    purchase_touchpoints=("purchase",),
    as_of=None,
    support_touchpoints=("support_call", "support_email", "chat"),
    recent_days=90,
    max_levels=10,
) -> pl.DataFrame:
    """The feature table of plain (unprepared) frames."""
    end = _end(as_of, events.get_column("timestamp").max())
    at = pl.lit(end).cast(pl.Datetime("us", "UTC"))
    purchases = list(purchase_touchpoints)
    ev = journey_oracle.assign_stages(
        events.filter(pl.col("timestamp") <= at), journey_map, purchases
    )
    ts, tp = pl.col("timestamp"), pl.col("touchpoint")
    first_purchase = ts.filter(tp.is_in(purchases)).min().over("customer_id")
    support = tp.is_in(list(support_touchpoints)) & (ts > first_purchase)
    recent = support & (ts > at - pl.duration(days=recent_days))
    channels, more = _top(ev.get_column("channel"), max_levels)
    has_channel = pl.col("channel").is_not_null()
    per_customer = ev.group_by("customer_id").agg(
        ts.min().alias("first_event"),
        ts.max().alias("last_event"),
        ts.filter(tp.is_in(purchases)).max().alias("last_purchase"),
        pl.len().cast(pl.Int64).alias("frequency"),
        tp.is_in(purchases).sum().cast(pl.Int64).alias("n_purchases"),
        (pl.col("revenue").fill_null(0.0).sum() if "revenue" in ev.columns else pl.lit(0.0)).alias(
            "monetary"
        ),
        support.fill_null(False).sum().cast(pl.Int64).alias("support_contacts"),
        recent.fill_null(False).sum().cast(pl.Int64).alias(f"support_contacts_{recent_days}d"),
        *[(pl.col("stage") == s).sum().cast(pl.Int64).alias(f"stage_{s}_events") for s in STAGES],
        (pl.col("stage").to_physical().max().cast(pl.Int64) + 1)
        .fill_null(0)
        .alias("furthest_stage"),
        *[
            ((pl.col("channel") == c).sum() / pl.len()).alias(
                f"channel_{c.strip().lower().replace(' ', '_')}_share"
            )
            for c in channels
        ],
        *(
            [
                pl.when(has_channel.any())
                .then((has_channel & ~pl.col("channel").is_in(channels)).sum() / has_channel.sum())
                .alias("channel_other_share")
            ]
            if more
            else []
        ),
    )
    ids = [ev.select("customer_id")] + (
        [customers.select("customer_id")] if customers is not None else []
    )
    out = pl.concat(ids).unique().join(per_customer, on="customer_id", how="left")
    signup = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    if customers is not None and "signup_date" in customers.columns:
        first_rows = customers.unique("customer_id", keep="first", maintain_order=True)
        out = out.join(
            first_rows.select(
                "customer_id", pl.col("signup_date").cast(pl.Datetime("us", "UTC")).alias("signup")
            ),
            on="customer_id",
            how="left",
        )
        signup = pl.col("signup")
    first_seen = pl.min_horizontal(signup, pl.col("first_event"))
    tenure = _days(at, first_seen).clip(lower_bound=0.0)
    share_cols = [c for c in per_customer.columns if c.startswith("channel_")]
    count_cols = [c for c in per_customer.columns if per_customer.schema[c] == pl.Int64]
    out = out.with_columns(
        tenure.alias("tenure_days"),
        pl.coalesce(_days(at, pl.col("last_event")), tenure).alias("recency_days"),
        pl.coalesce(_days(at, pl.col("last_purchase")), tenure).alias("days_since_last_purchase"),
        pl.col("monetary").fill_null(0.0),
        *[pl.col(c).fill_null(0) for c in count_cols],
        *[pl.col(c).fill_null(0.0) for c in share_cols],
    )
    columns = [
        "customer_id",
        "recency_days",
        "frequency",
        "n_purchases",
        "monetary",
        "tenure_days",
        "days_since_last_purchase",
        *[f"stage_{s}_events" for s in STAGES],
        "furthest_stage",
        *share_cols,
        "support_contacts",
        f"support_contacts_{recent_days}d",
    ]
    if feedback is not None:
        out, names = _with_feedback(out, feedback, at)
        columns += names
    if customers is not None:
        out, names = _with_attributes(out, customers, max_levels, set(columns))
        columns += names
    return out.select(columns).sort("customer_id")


def _with_feedback(out: pl.DataFrame, feedback: pl.DataFrame, at: pl.Expr):
    fb = feedback.with_row_index("_row").filter(pl.col("timestamp") <= at)
    tie = [SOURCE_ROW] if SOURCE_ROW in fb.columns else []
    fb = fb.sort(["customer_id", "timestamp", *tie, "_row"])
    survey, score = pl.col("survey").str.to_lowercase(), pl.col("score")
    scores = fb.group_by("customer_id", maintain_order=True).agg(
        score.filter(survey == "nps").last().cast(pl.Float64).alias("last_nps"),
        score.filter(survey == "csat").mean().alias("mean_csat"),
        score.filter(survey == "ces").mean().alias("mean_ces"),
        pl.len().cast(pl.Int64).alias("n_feedback"),
    )
    out = out.join(scores, on="customer_id", how="left").with_columns(
        pl.col("n_feedback").fill_null(0)
    )
    return out, ["last_nps", "mean_csat", "mean_ces", "n_feedback"]


def _with_attributes(out: pl.DataFrame, customers: pl.DataFrame, max_levels: int, taken: set[str]):
    first_rows = customers.unique("customer_id", keep="first", maintain_order=True)
    names, exprs = [], []
    for column, dtype in customers.schema.items():
        if column in {"customer_id", SOURCE_ROW, "churned", "churn_date", "signup_date"}:
            continue
        name = column if column not in taken else f"attr_{column}"
        if dtype.is_numeric() or dtype == pl.Boolean:
            exprs.append(pl.col(column).cast(pl.Float64).alias(name))
            names.append(name)
        elif dtype == pl.String:
            values = customers.get_column(column)
            levels, more = _top(values, max_levels)
            distinct = values.drop_nulls().n_unique()
            if more and distinct > 2 * max_levels and distinct > 0.5 * values.drop_nulls().len():
                continue  # identifier-like
            text = pl.col(column)
            pooled = text.is_not_null() & ~text.is_in(levels)
            hits = [(level, (text == level).fill_null(False)) for level in levels]
            for level, hit in hits + ([("other", pooled)] if more else []):
                candidate = f"{column}={level}"
                name = candidate if candidate not in taken else f"attr_{candidate}"
                exprs.append(hit.cast(pl.Int8).alias(name))
                names.append(name)
    out = out.join(first_rows.select("customer_id", *exprs), on="customer_id", how="left")
    return out, names
