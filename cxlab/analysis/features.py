"""One row per customer: the feature table behind churn clusters and churn drivers.

Two data functions:

* :func:`customer_features` turns the canonical ``events``, ``feedback`` and ``customers``
  frames into one numeric row per customer (recency, frequency, tenure, money, journey
  stages, channel mix, support contacts, survey scores, the client's own attributes).
* :func:`churn_labels` applies the client's :class:`~cxlab.contract.client_config.ChurnDefinition`
  and returns who churned, who cannot be judged yet (censored) and the durations that
  survival curves need.

Both are computed with polars expressions over whole columns, as of one moment (``as_of``,
by default the last event in the data). Both return one row per customer of the union of
the customers table and the customers seen in events, sorted by ``customer_id``, so the two
frames line up row by row. ``customer_features`` has one implementation, on prepared events
(:func:`cxlab.events.as_events`); its readable specification is ``tests/oracles/features.py``.

Two functions put them together for churn, so that every churn figure counts the same
customers and no feature restates the label:

* :func:`churn_rate` is the one definition of who a churn rate counts (``[churn]
  population``: by default the customers who had bought by the start of the inactivity
  window, :func:`churn_cutoff`) and the rate the executive summary, the churn section and
  the portfolio index show.
* :func:`churn_features` measures the features of those customers at that cut-off, before
  the window that decides the label, and leaves out :func:`label_leaks` with the reason.

Feature groups (see :func:`feature_groups`)
-------------------------------------------
rfm
    ``recency_days`` (days since the last event of any kind), ``frequency`` (number of
    events), ``n_purchases``, ``monetary`` (sum of ``revenue``), ``tenure_days`` (days since
    first seen: the earlier of ``signup_date`` and the first event),
    ``days_since_last_purchase`` (customers who never bought get their tenure: they have
    gone at least that long without buying).
stages
    ``stage_<stage>_events`` for the five journey stages and ``furthest_stage`` (1 =
    awareness … 5 = advocacy, 0 = no mapped event), from :func:`cxlab.analysis.journey.assign_stages`.
channels
    ``channel_<channel>_share``: share of the customer's events on each channel (the
    ``max_levels`` most common channels; the rest are pooled in ``channel_other_share``).
support
    ``support_contacts``: events of a support touchpoint after the customer's first purchase
    (a chat before buying is a sales question; customers who never bought have 0), and
    ``support_contacts_<N>d``: those in the last ``recent_days`` days.
feedback
    ``last_nps`` (latest NPS answer), ``mean_csat``, ``mean_ces``, ``n_feedback``; null when
    the customer never answered that survey.
sentiment
    ``mean_sentiment`` (mean comment sentiment), only with ``sentiment=True``.
attributes
    The client's own customer columns: numbers and booleans as they are, text columns
    one-hot encoded as ``<column>=<level>`` (the ``max_levels`` most common levels, the rest
    in ``<column>=other``). Identifier-like text columns (more than ``2 × max_levels`` levels
    and more than half of the values distinct: e-mails, names) are left out.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cxlab.analysis.stats import SMALL_N, exact_sum, wilson_interval
from cxlab.contract.client_config import ChurnDefinition
from cxlab.contract.frames import as_lazy
from cxlab.contract.schema import (
    CUSTOMER_CODE,
    DEFAULT_PURCHASE_TOUCHPOINTS,
    SOURCE_ROW,
    STAGE_DTYPE,
    STAGES,
    TIMESTAMP_DTYPE,
)
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.events import as_events, by_customer, resolve_as_of

__all__ = [
    "FEATURE_GROUPS",
    "LABEL_LEAKING_FEATURES",
    "POPULATIONS",
    "WIDE_INTERVAL",
    "ChurnFeatures",
    "ChurnRate",
    "churn_cutoff",
    "churn_features",
    "churn_labels",
    "churn_rate",
    "customer_features",
    "feature_groups",
    "label_leaks",
]

FrameLike = pl.DataFrame | pl.LazyFrame

#: Names of the feature groups, in display order.
FEATURE_GROUPS: tuple[str, ...] = (
    "rfm",
    "stages",
    "channels",
    "support",
    "feedback",
    "sentiment",
    "attributes",
)

#: Features that restate an inactivity churn label (a customer is churned exactly when they
#: have been silent long enough). Leave them out of driver models to ask "what *else*
#: goes with churn".
LABEL_LEAKING_FEATURES: tuple[str, ...] = ("recency_days", "days_since_last_purchase")

_RFM = (
    "recency_days",
    "frequency",
    "n_purchases",
    "monetary",
    "tenure_days",
    "days_since_last_purchase",
)
_FEEDBACK = ("last_nps", "mean_csat", "mean_ces", "n_feedback")
# Customer columns that are labels or bookkeeping, never features.
_FEEDBACK_COLUMNS = ("customer_id", "timestamp", "survey", "score")
#: Who a churn rate counts (``[churn] population`` in client.toml); see :func:`churn_rate`.
POPULATIONS: tuple[str, ...] = ("buyers", "active_before", "all")
_NOT_ATTRIBUTES = {"customer_id", SOURCE_ROW, "churned", "churn_date", "signup_date"}
_DAY_SECONDS = 86_400.0


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Fractional days between two datetime expressions."""
    # Microseconds times the constant 1/86,400,000,000 rather than a division: polars may run
    # a division by a literal as a multiplication by its reciprocal in one kernel and as a
    # true division in another (a one-row batch), so the last bit would depend on how the
    # rows happen to be batched. A multiplication is the same everywhere.
    return (later - earlier).dt.total_microseconds() * (1.0 / (_DAY_SECONDS * 1e6))


def _slug(value: object) -> str:
    return str(value).strip().lower().replace(" ", "_")


def _top_levels(lf: pl.LazyFrame, column: str, max_levels: int) -> tuple[list[str], bool]:
    """The ``max_levels`` most common non-null values (ties by value) and whether more exist."""
    counts = (
        lf.select(column)
        .drop_nulls()
        .group_by(column)
        .agg(pl.len().alias("n"))
        .with_columns(pl.col(column).cast(pl.String))  # after grouping: enum codes group faster
        .sort(["n", column], descending=[True, False])
        .collect()
    )
    levels = counts.get_column(column).to_list()
    return levels[:max_levels], len(levels) > max_levels


def _first_per_customer(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The first row of each ``customer_id`` (in frame order), sorted by ``customer_id``.

    A stable sort then a comparison with the previous row: cheaper than a hash ``unique``
    on text keys, and the result is ready for :func:`_join_sorted`.
    """
    cid = pl.col("customer_id")
    return frame.sort("customer_id", maintain_order=True).filter(
        cid.ne_missing(cid.shift(1)).fill_null(True)
    )


def _join_sorted(left: pl.LazyFrame, right: pl.LazyFrame) -> pl.LazyFrame:
    """Left join on ``customer_id``, keeping the left's row order, with the right side sorted.

    The left frames here descend from :func:`_universe` (sorted by ``customer_id``); with
    both sides sorted polars merges the keys instead of hashing text, ~4x faster on a
    million customers.
    """
    return left.join(right.sort("customer_id"), on="customer_id", how="left", maintain_order="left")


def _first_seen(per_customer: pl.LazyFrame, customers: pl.LazyFrame | None) -> pl.LazyFrame:
    """customer_id, first_event, last_event, signup (UTC datetime), first_seen: every customer.

    ``per_customer`` has one row per customer seen in events (``customer_id``,
    ``first_event``, ``last_event``); customers of the customers table without events get
    null event times. ``first_seen`` is the earlier of ``signup_date`` and the first event.
    """
    ids = [per_customer.select("customer_id")]
    if customers is not None:
        ids.append(customers.select("customer_id"))
    out = _join_sorted(_first_per_customer(pl.concat(ids)), per_customer)
    if customers is not None and "signup_date" in customers.collect_schema().names():
        signup = customers.select(
            "customer_id",
            pl.col("signup_date")
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC")
            .cast(TIMESTAMP_DTYPE)
            .alias("signup"),
        )
        out = _join_sorted(out, _first_per_customer(signup))
    else:
        out = out.with_columns(pl.lit(None, dtype=TIMESTAMP_DTYPE).alias("signup"))
    return out.with_columns(pl.min_horizontal("signup", "first_event").alias("first_seen"))


# --------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------
def customer_features(
    events: FrameLike,
    feedback: FrameLike | None,
    customers: FrameLike | None,
    *,
    journey_map: Mapping[str, str] | None = None,
    purchase_touchpoints: Sequence[str] = DEFAULT_PURCHASE_TOUCHPOINTS,
    as_of: dt.datetime | dt.date | None = None,
    support_touchpoints: Sequence[str] = ("support_call", "support_email", "chat"),
    recent_days: int = 90,
    max_levels: int = 10,
    sentiment: bool = False,
) -> pl.DataFrame:
    """One row of numeric features per customer, as of one moment.

    Parameters
    ----------
    events, feedback, customers : DataFrame or LazyFrame
        The canonical tables (see :mod:`cxlab.contract.schema`); ``events`` prepared or not
        (:func:`cxlab.events.as_events` prepares it once). ``feedback`` and ``customers``
        may be None.
    journey_map : mapping of touchpoint to stage, optional
        Usually ``config.journey_map``; used to assign journey stages. None: use the
        ``stage`` column ``events`` already has (from
        :func:`cxlab.analysis.journey.assign_stages` with the same ``purchase_touchpoints``),
        which saves assigning them again on large logs.
    purchase_touchpoints : sequence of str
        Touchpoints that are purchases (``n_purchases``, ``days_since_last_purchase``).
    as_of : datetime or date, optional
        Compute features as of this moment (UTC); events and answers after it are ignored.
        Defaults to the last event in ``events``. Churn models measure features at the
        start of the label's observation window (:func:`churn_features`).
    support_touchpoints : sequence of str
        Touchpoints counted as support contacts when they come after the first purchase.
    recent_days : int
        Window of ``support_contacts_<recent_days>d``.
    max_levels : int
        Most levels one-hot encoded per text column (and channels); the rest are pooled.
    sentiment : bool
        Add ``mean_sentiment`` from :func:`cxlab.analysis.voc.comment_sentiment`.

    Returns
    -------
    DataFrame
        ``customer_id`` then the features described in the module docstring, one row per
        customer of the customers table or the events, sorted by ``customer_id``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
    >>> t = lambda d: dt.datetime(2024, 1, d, tzinfo=dt.UTC)
    >>> events = pl.DataFrame({
    ...     "customer_id": ["a", "a", "b"], "timestamp": [t(1), t(11), t(21)],
    ...     "touchpoint": ["purchase", "support_call", "site_visit"],
    ...     "channel": ["web", "phone", "web"], "revenue": [30.0, None, None],
    ... })
    >>> f = customer_features(events, None, None, journey_map=DEFAULT_JOURNEY_MAP)
    >>> f.select("customer_id", "recency_days", "frequency", "monetary", "support_contacts").rows()
    [('a', 10.0, 2, 30.0, 1), ('b', 0.0, 1, 0.0, 0)]
    """
    _check_count("recent_days", recent_days)
    _check_count("max_levels", max_levels)
    as_lazy(events, "events", ("customer_id", "timestamp", "touchpoint", "channel"))
    # rows in customer order (as the loader gives them): the per-customer group-bys run on runs
    ev = by_customer(as_events(events, where="customer_features"))
    fb = None if feedback is None else as_lazy(feedback, "feedback", _FEEDBACK_COLUMNS)
    cu = None if customers is None else as_lazy(customers, "customers", ("customer_id",))
    if sentiment and fb is None:
        raise ParameterError(
            "sentiment=True needs the feedback table (comments); feedback is None."
        )
    at = resolve_as_of(ev, as_of)
    staged = _staged(ev.filter(pl.col("timestamp") <= _lit(at)), journey_map, purchase_touchpoints)
    channels, more_channels = _top_levels(staged, "channel", max_levels)
    totals = _event_totals(
        staged,
        purchases=list(purchase_touchpoints),
        support=list(support_touchpoints),
        recent_start=at - dt.timedelta(days=recent_days),
        recent_name=f"support_contacts_{recent_days}d",
        channels=channels,
        more_channels=more_channels,
    )
    out, columns = _rfm(totals, cu, at, recent_days, channels, more_channels)
    if fb is not None:
        fb = fb.filter(pl.col("timestamp") <= _lit(at))
        out = _join_sorted(out, _feedback_scores(fb)).with_columns(
            pl.col("n_feedback").fill_null(0)
        )
        columns += list(_FEEDBACK)
        if sentiment:
            out = _join_sorted(out, _sentiment(fb))
            columns.append("mean_sentiment")
    if cu is not None:
        attr_exprs, attr_names = _attribute_exprs(cu, max_levels, taken=set(columns))
        if attr_exprs:
            out = _join_sorted(out, _first_per_customer(cu).select("customer_id", *attr_exprs))
            columns += attr_names
    return out.select(columns).sort("customer_id").collect()


def _check_count(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ParameterError(
            f"The '{name}' parameter of customer_features must be an int >= 1. "
            f"Got {value!r} instead."
        )


def _lit(at: dt.datetime) -> pl.Expr:
    return pl.lit(at, dtype=TIMESTAMP_DTYPE)


def _staged(
    ev: pl.LazyFrame, journey_map: Mapping[str, str] | None, purchases: Sequence[str]
) -> pl.LazyFrame:
    """Prepared events with a ``stage`` column: assigned from ``journey_map``, or checked."""
    # Stage assignment is the one dependency on the journey module.
    from cxlab.analysis.journey import assign_stages

    if journey_map is not None:
        return assign_stages(ev, journey_map, purchase_touchpoints=tuple(purchases)).lazy()
    if "stage" not in ev.collect_schema().names():
        raise ParameterError(
            "customer_features needs the journey stages: pass journey_map=config.journey_map, "
            "or events with a 'stage' column from cxlab.analysis.journey.assign_stages."
        )
    # stages assigned on the whole log stay right on any prefix of it (a customer's first
    # purchase is their earliest), so the as_of filter does not change them
    if ev.collect_schema()["stage"] == STAGE_DTYPE:
        return ev
    found = ev.select(pl.col("stage").cast(pl.String).unique()).collect().to_series()
    wrong = sorted(set(found.drop_nulls().to_list()) - set(STAGES))
    if wrong:
        raise ParameterError(
            "customer_features: the 'stage' column of events has values that are not journey "
            f"stages: {', '.join(map(repr, wrong[:5]))}. Stages are {', '.join(STAGES)}; "
            "assign them with cxlab.analysis.journey.assign_stages, or pass journey_map= "
            "instead."
        )
    return ev.with_columns(pl.col("stage").cast(pl.String).cast(STAGE_DTYPE))


def _support_flag(staged: pl.LazyFrame, is_purchase: pl.Expr, support: list[str]) -> pl.Expr:
    """Support contacts: support touchpoints strictly after the customer's first purchase.

    A chat before buying is a sales question (consideration), not help after buying. Each
    customer's first purchase is looked up by customer code: a gather from a small array
    beats a join, and a window over a million groups even more.
    """
    firsts = (
        staged.filter(is_purchase)
        .group_by(CUSTOMER_CODE)
        .agg(pl.col("timestamp").min().alias("_fp"))
        .collect()
    )
    n_codes = (staged.select(pl.col(CUSTOMER_CODE).max()).collect().item() or 0) + 1
    by_code = pl.repeat(None, n_codes, dtype=firsts.schema["_fp"], eager=True).scatter(
        firsts.get_column(CUSTOMER_CODE), firsts.get_column("_fp")
    )
    first_purchase = pl.lit(by_code).gather(pl.col(CUSTOMER_CODE))
    return (pl.col("touchpoint").is_in(support) & (pl.col("timestamp") > first_purchase)).fill_null(
        False
    )


def _event_totals(
    staged: pl.LazyFrame,
    *,
    purchases: list[str],
    support: list[str],
    recent_start: dt.datetime,
    recent_name: str,
    channels: list[str],
    more_channels: bool,
) -> pl.LazyFrame:
    """Per-customer event counts, sums and times (one row per customer seen in events).

    Row-level indicator columns first, then only plain sums/max in the group-by: filters and
    comparisons inside ``.agg()`` fall off polars' fast aggregation path.
    """
    schema = staged.collect_schema()
    ts_dtype = schema["timestamp"]
    is_purchase = pl.col("touchpoint").is_in(purchases)
    is_support = _support_flag(staged, is_purchase, support)
    phys = pl.col("stage").to_physical()
    # prepared events: channel is an enum of its values; comparing its codes is far cheaper
    ch = pl.col("channel")
    ch = ch if isinstance(schema["channel"], pl.Enum) else ch.cast(pl.String)
    revenue = pl.col("revenue").fill_null(0.0) if "revenue" in schema.names() else pl.lit(0.0)
    money_row, money = _money_sum(staged, revenue.cast(pl.Float64))
    staged = staged.with_columns(
        is_purchase.alias("_p"),
        pl.when(is_purchase).then(pl.col("timestamp").to_physical()).alias("_lp"),
        money_row,
        is_support.alias("_support"),
        (is_support & (pl.col("timestamp") > _lit(recent_start))).alias("_sup_recent"),
        *[(phys == i).alias(f"_st{i}") for i in range(len(STAGES))],
        phys.alias("_phys"),
        *[(ch == c).alias(f"_ch{j}") for j, c in enumerate(channels)],
        *([(~ch.is_in(channels)).alias("_ch_other")] if more_channels else []),
    )
    aggs: list[pl.Expr] = [
        pl.col("customer_id").first(),
        pl.col("timestamp").to_physical().min().cast(ts_dtype).alias("first_event"),
        pl.col("timestamp").to_physical().max().cast(ts_dtype).alias("last_event"),
        pl.len().cast(pl.Int64).alias("frequency"),
        pl.col("_p").sum().cast(pl.Int64).alias("n_purchases"),
        money.alias("monetary"),  # order-independent: byte-identical run to run
        pl.col("_lp").max().cast(ts_dtype).alias("last_purchase"),
        pl.col("_support").sum().cast(pl.Int64).alias("support_contacts"),
        pl.col("_sup_recent").sum().cast(pl.Int64).alias(recent_name),
        *[
            pl.col(f"_st{i}").sum().cast(pl.Int64).alias(f"stage_{s}_events")
            for i, s in enumerate(STAGES)
        ],
        (pl.col("_phys").max().cast(pl.Int64) + 1).alias("furthest_stage"),
        *[
            (pl.col(f"_ch{j}").sum() / pl.len()).alias(f"channel_{_slug(c)}_share")
            for j, c in enumerate(channels)
        ],
    ]
    if more_channels:
        aggs.append(pl.col("_ch_other").mean().alias("channel_other_share"))
    return staged.group_by(CUSTOMER_CODE).agg(aggs).drop(CUSTOMER_CODE).collect().lazy()


def _money_sum(staged: pl.LazyFrame, revenue: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The row column and the aggregation of ``monetary``: :func:`exact_sum` of ``revenue``.

    When no customer's total in micro-units can reach 2**62 (largest ``|revenue|`` times the
    number of events: one pass), each event's revenue is rounded to micro-units as a row
    column and the aggregation is a plain Int64 sum, on polars' fast group-by path (exact_sum
    inside ``.agg()`` evaluates group by group: most of this function's time on 10M events).
    The total is cast to Int128 and divided as in exact_sum's exact branch, which is the
    branch it takes then: the same numbers. Otherwise exact_sum as it is.
    """
    scale = 10**6
    largest, n = staged.select(revenue.abs().max(), pl.len()).collect().row(0)
    if largest is not None and n * (largest * scale + 1.0) < 2.0**62:
        units = (revenue * scale).round(0).cast(pl.Int64, strict=False)
        return units.alias("_rev"), pl.col("_rev").sum().cast(pl.Int128) / scale
    return revenue.alias("_rev"), exact_sum("_rev")


def _rfm(
    totals: pl.LazyFrame,
    customers: pl.LazyFrame | None,
    at: dt.datetime,
    recent_days: int,
    channels: list[str],
    more_channels: bool,
) -> tuple[pl.LazyFrame, list[str]]:
    """Every customer's event features (zeros for customers without events) and their names."""
    out = _join_sorted(
        _first_seen(totals.select("customer_id", "first_event", "last_event"), customers),
        totals.drop("first_event", "last_event"),
    )
    at_lit = _lit(at)
    tenure = _days(at_lit, pl.col("first_seen")).clip(lower_bound=0.0)
    stage_cols = [f"stage_{s}_events" for s in STAGES]
    support_cols = ["support_contacts", f"support_contacts_{recent_days}d"]
    count_cols = ["frequency", "n_purchases", *support_cols, *stage_cols, "furthest_stage"]
    share_cols = [f"channel_{_slug(c)}_share" for c in channels] + (
        ["channel_other_share"] if more_channels else []
    )
    out = out.with_columns(
        tenure.alias("tenure_days"),
        pl.coalesce(_days(at_lit, pl.col("last_event")), tenure).alias("recency_days"),
        pl.coalesce(_days(at_lit, pl.col("last_purchase")), tenure).alias(
            "days_since_last_purchase"
        ),
        pl.col("monetary").fill_null(0.0),
        *[pl.col(c).fill_null(0) for c in count_cols],
        *[pl.col(c).fill_null(0.0) for c in share_cols],
    )
    columns = ["customer_id", *_RFM, *stage_cols, "furthest_stage", *share_cols, *support_cols]
    return out, columns


def _feedback_scores(feedback: pl.LazyFrame) -> pl.LazyFrame:
    """customer_id, last_nps, mean_csat, mean_ces, n_feedback (answers up to as_of)."""
    order = (
        ["timestamp", SOURCE_ROW]
        if SOURCE_ROW in feedback.collect_schema().names()
        else ["timestamp"]
    )
    survey = pl.col("survey").str.to_lowercase()
    score = pl.col("score")
    return (
        feedback.sort(["customer_id", *order])
        .group_by("customer_id", maintain_order=True)
        .agg(
            score.filter(survey == "nps").last().cast(pl.Float64).alias("last_nps"),
            score.filter(survey == "csat").mean().cast(pl.Float64).alias("mean_csat"),
            score.filter(survey == "ces").mean().cast(pl.Float64).alias("mean_ces"),
            pl.len().cast(pl.Int64).alias("n_feedback"),
        )
    )


def _sentiment(feedback: pl.LazyFrame) -> pl.LazyFrame:
    """customer_id, mean_sentiment from cxlab.analysis.voc.comment_sentiment (optional module)."""
    try:
        voc = importlib.import_module("cxlab.analysis.voc")
        scorer = voc.comment_sentiment
    except (ImportError, AttributeError):
        raise ParameterError(
            "sentiment=True needs cxlab.analysis.voc.comment_sentiment, which is not available in this "
            "installation. Call customer_features with sentiment=False."
        ) from None
    scored = scorer(feedback).lazy()
    names = scored.collect_schema().names()
    column = next((c for c in ("sentiment", "compound", "sentiment_score") if c in names), None)
    if column is None:
        raise DataError(
            f"cxlab.analysis.voc.comment_sentiment returned no sentiment column (found: {', '.join(names)})."
        )
    return scored.group_by("customer_id").agg(
        (exact_sum(pl.col(column).cast(pl.Float64), decimals=9) / pl.col(column).count()).alias(
            "mean_sentiment"
        )
    )


def _attribute_exprs(
    customers: pl.LazyFrame, max_levels: int, taken: set[str]
) -> tuple[list[pl.Expr], list[str]]:
    """Expressions turning the client's own customer columns into numeric features."""
    exprs: list[pl.Expr] = []
    names: list[str] = []

    def name_for(candidate: str) -> str:
        return candidate if candidate not in taken else f"attr_{candidate}"

    for column, dtype in customers.collect_schema().items():
        if column in _NOT_ATTRIBUTES:
            continue
        if dtype.is_numeric():
            name = name_for(column)
            exprs.append(pl.col(column).cast(pl.Float64).alias(name))
            names.append(name)
        elif dtype == pl.Boolean:
            name = name_for(column)
            exprs.append(pl.col(column).cast(pl.Float64).alias(name))
            names.append(name)
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            levels, more = _top_levels(customers, column, max_levels)
            if more and _identifier_like(customers, column, max_levels):
                continue  # e-mails, names, free text: not a grouping, and personal data
            text = pl.col(column).cast(pl.String)
            for level in levels:
                name = name_for(f"{column}={level}")
                exprs.append((text == level).fill_null(False).cast(pl.Int8).alias(name))
                names.append(name)
            if more:
                name = name_for(f"{column}=other")
                exprs.append((text.is_not_null() & ~text.is_in(levels)).cast(pl.Int8).alias(name))
                names.append(name)
        # dates and other types are not features
    return exprs, names


def _identifier_like(customers: pl.LazyFrame, column: str, max_levels: int) -> bool:
    """More than 2 × max_levels levels and more than half of the values distinct: an identifier."""
    n, distinct = (
        customers.select(
            pl.col(column).drop_nulls().len().alias("n"),
            pl.col(column).drop_nulls().n_unique().alias("distinct"),
        )
        .collect()
        .row(0)
    )
    return distinct > 2 * max_levels and distinct > 0.5 * n


def feature_groups(columns: Iterable[str]) -> dict[str, list[str]]:
    """Sort feature names into the groups listed in :data:`FEATURE_GROUPS`.

    Examples
    --------
    >>> g = feature_groups(["customer_id", "frequency", "support_contacts_90d", "segment=retail"])
    >>> g["rfm"], g["support"], g["attributes"]
    (['frequency'], ['support_contacts_90d'], ['segment=retail'])
    """
    groups: dict[str, list[str]] = {g: [] for g in FEATURE_GROUPS}
    for name in columns:
        if name == "customer_id":
            continue
        if name in _RFM:
            groups["rfm"].append(name)
        elif name == "furthest_stage" or (name.startswith("stage_") and name.endswith("_events")):
            groups["stages"].append(name)
        elif name.startswith("channel_") and name.endswith("_share"):
            groups["channels"].append(name)
        elif name.startswith("support_contacts"):
            groups["support"].append(name)
        elif name in _FEEDBACK:
            groups["feedback"].append(name)
        elif name == "mean_sentiment":
            groups["sentiment"].append(name)
        else:
            groups["attributes"].append(name)
    return groups


# --------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------
def churn_labels(
    events: FrameLike,
    customers: FrameLike | None,
    churn: ChurnDefinition,
    as_of: dt.datetime | dt.date | None = None,
) -> pl.DataFrame:
    """Who churned, who cannot be judged yet, and durations for survival curves.

    ``method="inactivity"``: a customer is churned when they had no event in the last
    ``inactivity_days`` before ``as_of``. A customer first seen fewer than
    ``inactivity_days`` before ``as_of`` cannot have been silent that long: they are
    *censored* (too new to judge), not "retained".

    ``method="column"``: ``churned`` comes from the customers table (a ``churn_date`` after
    ``as_of`` counts as not churned yet); customers whose ``churned`` is null, or who are
    missing from the customers table, are censored.

    Durations run from first seen (the earlier of ``signup_date`` and the first event) to
    the churn (``churn_date``, else the last event, for the column method; the last event
    for the inactivity method) when ``event_observed``, else to ``as_of``.

    Every customer gets a label here; who a churn *rate* counts (``[churn] population``)
    is decided by :func:`churn_rate`.

    Parameters
    ----------
    events, customers : DataFrame or LazyFrame
        Canonical tables (``customers`` may be None with the inactivity method).
    churn : ChurnDefinition
        Usually ``config.churn``.
    as_of : datetime or date, optional
        The data end; defaults to the last event.

    Returns
    -------
    DataFrame
        ``customer_id``, ``churned`` (bool), ``censored`` (bool), ``duration_days`` (float),
        ``event_observed`` (bool), sorted by ``customer_id``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from cxlab.contract.client_config import ChurnDefinition
    >>> t = lambda m, d: dt.datetime(2024, m, d, tzinfo=dt.UTC)
    >>> events = pl.DataFrame({"customer_id": ["old", "old", "new", "gone"],
    ...                        "timestamp": [t(1, 1), t(6, 1), t(5, 20), t(1, 11)]})
    >>> churn_labels(events, None, ChurnDefinition("inactivity", 30)).rows()
    [('gone', True, False, 0.0, True), ('new', False, True, 12.0, False), ('old', False, False, 152.0, False)]
    """
    if not isinstance(churn, ChurnDefinition):
        raise ParameterError(
            "The 'churn' parameter of churn_labels must be a ChurnDefinition (config.churn). "
            f"Got {type(churn).__name__} instead."
        )
    ev = as_lazy(events, "events", ("customer_id", "timestamp"))
    cu = None if customers is None else as_lazy(customers, "customers", ("customer_id",))
    at = resolve_as_of(ev, as_of)
    per_customer = (
        ev.filter(pl.col("timestamp") <= _lit(at))
        .group_by("customer_id")
        .agg(
            pl.col("timestamp").min().alias("first_event"),
            pl.col("timestamp").max().alias("last_event"),
        )
    )
    seen = _first_seen(per_customer, cu)
    if churn.method == "inactivity":
        out = _inactivity_labels(seen, at, churn.inactivity_days)
    elif churn.method == "column":
        out = _column_labels(seen, cu, at)
    else:  # ChurnDefinition is typed, but a hand-built one may carry anything
        raise ParameterError(
            f"churn.method must be 'column' or 'inactivity'. Got {churn.method!r} instead."
        )
    return (
        out.select(
            "customer_id",
            "churned",
            "censored",
            pl.col("duration_days").clip(lower_bound=0.0),
            pl.col("churned").alias("event_observed"),
        )
        .sort("customer_id")
        .collect()
    )


def _inactivity_labels(seen: pl.LazyFrame, at: dt.datetime, days: int) -> pl.LazyFrame:
    """Churned: silent for at least ``days`` at ``at``; censored: first seen fewer days ago."""
    n = float(days)
    age = _days(_lit(at), pl.col("first_seen"))
    silent = pl.coalesce(_days(_lit(at), pl.col("last_event")), age)
    out = seen.with_columns((silent >= n).fill_null(False).alias("churned"))
    return out.with_columns(
        (~pl.col("churned") & (age < n).fill_null(True)).alias("censored"),
        pl.when(pl.col("churned"))
        .then(pl.coalesce(_days(pl.col("last_event"), pl.col("first_seen")), pl.lit(0.0)))
        .otherwise(age)
        .alias("duration_days"),
    )


def _column_labels(seen: pl.LazyFrame, cu: pl.LazyFrame | None, at: dt.datetime) -> pl.LazyFrame:
    """Churned: the customers table's flag (a churn_date after ``at`` is not churn yet)."""
    if cu is None:
        raise DataError(
            "The churn definition is method='column', but there is no customers table. "
            'Give the customers file, or set [churn] method = "inactivity" in client.toml.'
        )
    names = cu.collect_schema().names()
    if "churned" not in names:
        raise DataError(
            "The churn definition is method='column', but the customers table has no "
            f"'churned' column.{did_you_mean('churned', names)} Map the client's churn flag "
            "to 'churned' in [columns.customers], or set [churn] method = \"inactivity\" in "
            "client.toml."
        )
    churn_at = (
        pl.col("churn_date")
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .cast(TIMESTAMP_DTYPE)
        if "churn_date" in names
        else pl.lit(None, dtype=TIMESTAMP_DTYPE)
    )
    flags = _first_per_customer(cu).select(
        "customer_id", pl.col("churned").cast(pl.Boolean).alias("flag"), churn_at.alias("churn_at")
    )
    at_lit = _lit(at)
    future = (pl.col("churn_at") > at_lit).fill_null(False)
    return (
        _join_sorted(seen, flags)
        .with_columns(
            (pl.col("flag").fill_null(False) & ~future).alias("churned"),
            pl.col("flag").is_null().alias("censored"),
        )
        .with_columns(
            pl.when(pl.col("churned"))
            .then(_days(pl.coalesce("churn_at", "last_event", at_lit), pl.col("first_seen")))
            .otherwise(_days(at_lit, pl.col("first_seen")))
            .alias("duration_days"),
        )
    )


# --------------------------------------------------------------------------------------
# who a churn rate counts, and features that cannot restate the label
# --------------------------------------------------------------------------------------
def churn_cutoff(churn: ChurnDefinition, as_of: dt.datetime) -> dt.datetime:
    """The start of the window that decides the churn label: ``as_of − inactivity_days``.

    Under ``method="inactivity"`` a customer's label is decided by the events of the last
    ``inactivity_days`` before ``as_of``; who can be lost (:func:`churn_rate`) and the
    features of churn models (:func:`churn_features`) are measured up to this cut-off, so
    they cannot restate the label. ``method="column"`` has no window: the cut-off is
    ``as_of`` itself.

    Examples
    --------
    >>> import datetime as dt
    >>> from cxlab.contract.client_config import ChurnDefinition
    >>> end = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    >>> churn_cutoff(ChurnDefinition("inactivity", 30), end).date()
    datetime.date(2024, 4, 1)
    >>> churn_cutoff(ChurnDefinition("column"), end) == end
    True
    """
    if churn.method == "inactivity":
        return as_of - dt.timedelta(days=churn.inactivity_days)
    return as_of


@dataclass(frozen=True)
class ChurnRate:
    """Result of :func:`churn_rate`: how many of the customers who could be lost were lost.

    Attributes
    ----------
    n, n_churned : int
        Customers counted (eligible and not censored) and how many of them were lost.
    population : {"buyers", "active_before", "all"}
        Who is eligible (``[churn] population`` in client.toml).
    method : {"inactivity", "column"}
        How a lost customer is recognised (``[churn] method``).
    inactivity_days : int
        The inactivity window (``[churn] inactivity_days``).
    as_of, cutoff : datetime
        The data end the labels are computed at, and :func:`churn_cutoff`.
    customers : DataFrame
        ``customer_id``, ``churned`` of the customers counted, sorted by ``customer_id``.
    labels : DataFrame
        :func:`churn_labels` of every customer (for survival curves).
    """

    n: int
    n_churned: int
    population: str
    method: str
    inactivity_days: int
    as_of: dt.datetime
    cutoff: dt.datetime
    customers: pl.DataFrame = field(repr=False, compare=False)
    labels: pl.DataFrame = field(repr=False, compare=False)

    @property
    def rate(self) -> float | None:
        """Share of the customers counted who were lost (None when none is counted)."""
        return self.n_churned / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """95% Wilson interval of :attr:`rate`."""
        return wilson_interval(self.n_churned, self.n) if self.n else None

    @property
    def uncertain(self) -> bool:
        """Fewer than 30 customers counted, or a 95% interval wider than 30 points."""
        if self.n < SMALL_N:
            return True
        lo, hi = self.interval
        return hi - lo > WIDE_INTERVAL

    @property
    def who(self) -> str:
        """The customers counted, in plain words ("customers who had bought by 02 Jun 2025")."""
        by = f" by {self.cutoff:%d %b %Y}" if self.method == "inactivity" else ""
        if self.population == "buyers":
            return f"customers who had bought{by}" if by else "customers who bought"
        if self.population == "active_before":
            return f"customers active{by}" if by else "customers with a recorded interaction"
        return f"customers first seen{by}" if by else "customers whose status is known"

    @property
    def lost_means(self) -> str:
        """What "lost" means under the client's definition, in plain words."""
        if self.method == "inactivity":
            return f"no recorded interaction in the last {self.inactivity_days} days"
        return "as recorded in the customers file"


#: A 95% interval wider than this (30 percentage points) is too wide to state a rate.
WIDE_INTERVAL: float = 0.30


def churn_rate(
    events: FrameLike,
    customers: FrameLike | None,
    churn: ChurnDefinition,
    *,
    purchase_touchpoints: Sequence[str] = DEFAULT_PURCHASE_TOUCHPOINTS,
    as_of: dt.datetime | dt.date | None = None,
) -> ChurnRate:
    """The one definition of who a churn rate counts, and the rate.

    Counted: customers whose label is known (not censored, see :func:`churn_labels`) and
    who belong to ``churn.population`` at the :func:`churn_cutoff`:

    * ``"buyers"`` (default): they had made a purchase (``purchase_touchpoints``) by the
      cut-off. Prospects who never bought are a conversion question, not churn; and a
      customer whose first purchase falls inside the inactivity window cannot be lost by
      construction, so counting them would lower the rate.
    * ``"active_before"``: they had any event by the cut-off.
    * ``"all"``: every customer with a known label.

    The executive summary, the report's churn section and the portfolio index all state
    this rate, with :attr:`ChurnRate.who` saying who is counted.

    Parameters
    ----------
    events, customers : DataFrame or LazyFrame
        Canonical tables (``customers`` may be None with the inactivity method).
    churn : ChurnDefinition
        Usually ``config.churn``.
    purchase_touchpoints : sequence of str
        Usually ``config.purchase_touchpoints``.
    as_of : datetime or date, optional
        The data end; defaults to the last event.

    Returns
    -------
    ChurnRate

    Examples
    --------
    Churned = silent for 30 days at 31 May; the cut-off is 1 May. ``a`` bought in January
    and went quiet (lost); ``b`` bought in March and came back in May (kept); ``c`` never
    bought (not counted: a prospect); ``d`` first bought on 20 May, inside the window (not
    counted: could not have been lost yet). So 1 of 2 buyers was lost.

    >>> import datetime as dt, polars as pl
    >>> from cxlab.contract.client_config import ChurnDefinition
    >>> t = lambda m, d: dt.datetime(2024, m, d, tzinfo=dt.UTC)
    >>> events = pl.DataFrame({
    ...     "customer_id": ["a", "b", "b", "c", "d", "d"],
    ...     "timestamp": [t(1, 5), t(3, 1), t(5, 20), t(1, 2), t(1, 3), t(5, 31)],
    ...     "touchpoint": ["purchase", "purchase", "site_visit", "site_visit", "site_visit", "purchase"]})
    >>> r = churn_rate(events, None, ChurnDefinition("inactivity", 30))
    >>> r.n, r.n_churned, r.rate, r.who
    (2, 1, 0.5, 'customers who had bought by 01 May 2024')
    >>> r.customers.rows()
    [('a', True), ('b', False)]
    """
    population = churn.population
    if population not in POPULATIONS:
        raise ParameterError(
            f"churn.population must be one of {', '.join(POPULATIONS)}. Got {population!r} "
            f'instead. Fix it in client.toml, e.g. [churn] population = "buyers".'
        )
    ev = as_lazy(events, "events", ("customer_id", "timestamp", "touchpoint"))
    at = resolve_as_of(ev, as_of)
    labels = churn_labels(events, customers, churn, as_of=at)
    cut = churn_cutoff(churn, at)
    counted = labels.filter(~pl.col("censored")).select("customer_id", "churned")
    if population != "all":
        before = ev.filter(pl.col("timestamp") <= _lit(cut))
        if population == "buyers":
            before = before.filter(pl.col("touchpoint").is_in(list(purchase_touchpoints)))
        eligible = before.select("customer_id").unique().collect()
        counted = counted.join(eligible, on="customer_id", how="semi", maintain_order="left")
    return ChurnRate(
        n=counted.height,
        n_churned=int(counted.get_column("churned").sum()),
        population=population,
        method=churn.method,
        inactivity_days=churn.inactivity_days,
        as_of=at,
        cutoff=cut,
        customers=counted,
        labels=labels,
    )


@dataclass(frozen=True)
class ChurnFeatures:
    """Result of :func:`churn_features`: the feature table a churn model may use.

    Attributes
    ----------
    table : DataFrame
        :func:`customer_features` of the customers :func:`churn_rate` counts, measured at
        ``as_of`` (the cut-off), without the ``excluded`` columns.
    as_of : datetime
        When the features were measured.
    excluded : dict of str to str
        Features left out, each with the reason in plain words.
    """

    table: pl.DataFrame = field(repr=False)
    as_of: dt.datetime
    excluded: dict[str, str]


def label_leaks(method: str, columns: Iterable[str]) -> dict[str, str]:
    """Features a churn model leaves out because they restate the label, each with why.

    Under ``"inactivity"`` features are measured before the window that decides the label
    (:func:`churn_features`), so nothing inside it is seen; the time since the last event
    or purchase (:data:`LABEL_LEAKING_FEATURES`) is still the definition itself, and is left
    out to show what *else* goes with losing customers. Under ``"column"`` there is no
    window: features are measured at the data end, after lost customers went quiet, so
    recent support contacts (``support_contacts_<N>d``) are left out too.

    Examples
    --------
    >>> sorted(label_leaks("inactivity", ["recency_days", "frequency", "support_contacts_90d"]))
    ['recency_days']
    >>> sorted(label_leaks("column", ["recency_days", "frequency", "support_contacts_90d"]))
    ['recency_days', 'support_contacts_90d']
    """
    if method == "inactivity":
        reason = (
            "how long a customer has been quiet is what the churn definition measures, so it "
            "is left out to show what else goes with losing customers"
        )
        return {c: reason for c in columns if c in LABEL_LEAKING_FEATURES}
    reason = (
        "measured at the data end, after lost customers had already gone quiet, so it "
        "restates who was lost instead of predicting it"
    )
    recent = re.compile(r"support_contacts_\d+d")
    return {c: reason for c in columns if c in LABEL_LEAKING_FEATURES or recent.fullmatch(c)}


def churn_features(
    events: FrameLike,
    feedback: FrameLike | None,
    customers: FrameLike | None,
    rate: ChurnRate,
    **kwargs: Any,
) -> ChurnFeatures:
    """Features of the customers ``rate`` counts, measured before the label's window.

    The features are :func:`customer_features` as of ``rate.cutoff`` (the start of the
    inactivity window: nothing a customer did inside it, which decides the label, is
    seen), for the customers :func:`churn_rate` counts, minus :func:`label_leaks`.

    Parameters
    ----------
    events, feedback, customers : DataFrame or LazyFrame
        The canonical tables.
    rate : ChurnRate
        From :func:`churn_rate` on the same tables.
    **kwargs
        Passed to :func:`customer_features` (``journey_map``, ``purchase_touchpoints`` …);
        not ``as_of``.

    Returns
    -------
    ChurnFeatures

    Examples
    --------
    ``a`` called support twice in the 30 days before the data end and stayed; ``b`` went
    quiet. Measured at the cut-off (1 May), neither has a recent support contact: the
    contacts that only a customer who stayed could make are not seen.

    >>> import datetime as dt, polars as pl
    >>> from cxlab.contract.client_config import ChurnDefinition
    >>> from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
    >>> t = lambda m, d: dt.datetime(2024, m, d, tzinfo=dt.UTC)
    >>> events = pl.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "timestamp": [t(1, 5), t(5, 10), t(5, 31), t(1, 9)],
    ...     "touchpoint": ["purchase", "support_call", "support_call", "purchase"],
    ...     "channel": ["web", "phone", "phone", "web"]})
    >>> r = churn_rate(events, None, ChurnDefinition("inactivity", 30))
    >>> f = churn_features(events, None, None, r, journey_map=DEFAULT_JOURNEY_MAP, recent_days=30)
    >>> f.table.select("customer_id", "support_contacts_30d", "frequency").rows()
    [('a', 0, 1), ('b', 0, 1)]
    """
    if "as_of" in kwargs:
        raise ParameterError(
            "churn_features measures features at rate.cutoff; do not pass as_of (pass it to "
            "churn_rate instead)."
        )
    table = customer_features(events, feedback, customers, as_of=rate.cutoff, **kwargs)
    excluded = label_leaks(rate.method, table.columns)
    table = table.join(rate.customers.select("customer_id"), on="customer_id", how="semi")
    return ChurnFeatures(table=table.drop(list(excluded)), as_of=rate.cutoff, excluded=excluded)
