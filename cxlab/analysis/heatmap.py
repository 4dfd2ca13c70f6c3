"""Touchpoint heatmaps: where interactions, effort and friction concentrate along the journey.

Metrics of the stage x touchpoint table (:func:`touchpoint_heatmap`)
--------------------------------------------------------------------
events
    Number of events at the touchpoint in the stage.
customers
    Distinct customers with such an event. ``stage_customers``: distinct customers with any
    event in the stage.
reach
    ``customers / stage_customers``: the share of the stage's customers who touched it
    (Wilson 95% interval in ``reach_ci_low`` / ``reach_ci_high``).
intensity
    ``events / customers``: events per touching customer.
satisfaction
    Mean score of feedback triggered at the touchpoint (``feedback.touchpoint``), put in the
    stage of the customer's last event at that touchpoint before the answer (the next one
    when there is none before; among events at the same time, the last, or first, in file
    order). With ``survey=None`` every survey is rescaled to 0–100 over
    its scale (NPS 0–10, CSAT 1–5, CES 1–7; higher is better on all three) before
    averaging; with ``survey="csat"`` it is the raw mean on that survey's scale.
    ``feedback_n`` answers. Null when there is no feedback.
pain (drop-out difference)
    A customer *drops out in stage S* when they never reach a stage later than S (their
    furthest stage is S). For touchpoint t in S: ``drop_touched`` = share dropping out among
    the stage's customers who touched t (``n_touched``), ``drop_not_touched`` = the same
    among the stage's customers who did not (``n_not_touched``). ``pain`` = drop_touched -
    drop_not_touched (percentage points as a fraction; > 0: touching t goes with more
    drop-out), with a **Newcombe hybrid score interval** (method 10, built from the two
    Wilson intervals) in ``pain_ci_low`` / ``pain_ci_high``; ``pain_ratio`` =
    drop_touched / drop_not_touched (relative risk, no interval). Null in the last stage
    (advocacy has no later stage) and when one group is empty. ``maturity`` leaves out
    customers who entered the stage less than that long before ``as_of`` (they have not had
    time to move on). It is an association, not a cause: customers who touch ``chat`` in
    consideration may be the hesitant ones.

The stage tables are written once, against prepared events (:func:`cxlab.events.as_events`);
their readable specification is ``tests/oracles/heatmap.py``, which the tests check them
against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from cxlab.analysis.stats import exact_sum, resolve_level, small_n, wilson_bounds
from cxlab.contract.prepare import CUSTOMER_CODE, SEQUENCE, text_codes
from cxlab.contract.schema import STAGE_DTYPE, STAGES, SURVEY_SCALES, score_on_100
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.events import (
    as_events,
    as_of_expr,
    by_customer,
    parse_duration,
    require,
    require_stage,
    to_lazy,
)

__all__ = [
    "HEATMAP_COLUMNS",
    "touchpoint_heatmap",
    "touchpoint_by_week",
    "channel_by_stage",
    "compare_heatmaps",
    "newcombe_bounds",
    "heatmap_metrics",
    "HEATMAP_METRICS",
]

#: The columns of a touchpoint heatmap, in order (also what the explorer cube returns).
HEATMAP_COLUMNS: tuple[str, ...] = (
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
)

Frame = pl.DataFrame | pl.LazyFrame

#: Metric columns of :func:`touchpoint_heatmap` a chart can colour by.
HEATMAP_METRICS: tuple[str, ...] = (
    "events",
    "customers",
    "reach",
    "intensity",
    "satisfaction",
    "pain",
)


def newcombe_bounds(
    k1: str,
    n1: str,
    k2: str,
    n2: str,
    *,
    prefix: str = "",
    level: float = 0.95,
    z: float | None = None,
) -> list[pl.Expr]:
    """Newcombe (1998, method 10) hybrid score interval of ``k1/n1 - k2/n2``.

    Built from the Wilson intervals (l1, u1), (l2, u2) of both proportions:
    ``d - sqrt((p1 - l1)² + (u2 - p2)²)`` to ``d + sqrt((u1 - p1)² + (p2 - l2)²)``.
    Returns two expressions ``{prefix}ci_low`` / ``{prefix}ci_high`` (null when n is 0), at
    interval level ``level``; ``z`` (the normal quantile) is deprecated.

    Examples
    --------
    >>> df = pl.DataFrame({"a": [56], "n": [70], "b": [48], "m": [80]})
    >>> lo, hi = df.select(newcombe_bounds("a", "n", "b", "m")).row(0)
    >>> round(lo, 4), round(hi, 4)
    (0.0524, 0.3339)
    """
    p1 = pl.col(k1) / pl.col(n1)
    p2 = pl.col(k2) / pl.col(n2)
    level = resolve_level(level, z, "newcombe_bounds")
    w1 = wilson_bounds(k1, n1, level=level)
    w2 = wilson_bounds(k2, n2, level=level)
    l1, u1 = w1[0], w1[1]
    l2, u2 = w2[0], w2[1]
    d = p1 - p2
    lo = d - ((p1 - l1) ** 2 + (u2 - p2) ** 2).sqrt()
    hi = d + ((u1 - p1) ** 2 + (p2 - l2) ** 2).sqrt()
    valid = (pl.col(n1) > 0) & (pl.col(n2) > 0)
    return [
        pl.when(valid).then(lo).alias(f"{prefix}ci_low"),
        pl.when(valid).then(hi).alias(f"{prefix}ci_high"),
    ]


def _events(events_with_stage: Frame, where: str) -> pl.LazyFrame:
    """Prepared events (:func:`cxlab.events.as_events`) with a ``stage`` and a ``touchpoint``."""
    lf, _ = to_lazy(events_with_stage)
    require_stage(lf, where)
    require(lf, ["touchpoint"], where)
    return by_customer(as_events(events_with_stage, where=where))


def _mapped(ev: pl.LazyFrame, as_of) -> pl.LazyFrame:
    """Prepared events with an enum ``stage``, up to ``as_of``, ``customer_id`` as its code.

    These tables only count distinct customers, so the integer customer code stands in for
    ``customer_id`` (hashing integers instead of text is what makes them fast on large logs).
    ``touchpoint`` stays an enum of its values (the codes group fast).
    """
    if as_of is not None:
        ev = ev.filter(pl.col("timestamp") <= as_of_expr(as_of))
    return ev.with_columns(
        pl.col(CUSTOMER_CODE).alias("customer_id"), pl.col("stage").cast(STAGE_DTYPE)
    )


def _feedback_codes(ev: pl.LazyFrame, fb: pl.LazyFrame) -> pl.LazyFrame:
    """Feedback with ``customer_id`` replaced by the prepared events' integer customer codes
    (answers of customers without events are left out: no event to put them on)."""
    codes = ev.group_by(CUSTOMER_CODE).agg(pl.col("customer_id").first())
    return (
        fb.join(codes, on="customer_id", how="inner")
        .with_columns(pl.col(CUSTOMER_CODE).alias("customer_id"))
        .drop(CUSTOMER_CODE)
    )


def _satisfaction(
    lf: pl.LazyFrame, feedback: Frame, survey: str | None, ev: pl.LazyFrame
) -> pl.LazyFrame:
    fb, _ = to_lazy(feedback, "feedback")
    require(
        fb,
        ["customer_id", "timestamp", "survey", "score", "touchpoint"],
        "touchpoint_heatmap",
        "feedback",
    )
    fb = _feedback_codes(ev, fb)
    if survey is not None and survey not in SURVEY_SCALES:
        raise ParameterError(
            f"The 'survey' parameter must be one of {tuple(SURVEY_SCALES)} or None. Got {survey!r}."
            f"{did_you_mean(str(survey), SURVEY_SCALES)}"
        )
    fb = fb.filter(pl.col("touchpoint").is_not_null()).select(
        "customer_id",
        "timestamp",
        pl.col("touchpoint").cast(pl.String),
        pl.col("survey").cast(pl.String),
        pl.col("score").cast(pl.Float64),
    )
    if survey is not None:
        fb = fb.filter(pl.col("survey") == survey).with_columns(pl.col("score").alias("_sat"))
    else:
        fb = fb.with_columns(score_on_100().alias("_sat")).filter(pl.col("_sat").is_not_null())
    fb = fb.sort("timestamp").collect().lazy()
    asked = fb.select(pl.col("touchpoint").unique()).collect().to_series()
    # Events at one touchpoint with the same time are ordered by file order (_cx_seq follows
    # it), so the answer goes to the latest event before it (the last in file order among
    # equal times) or else the earliest after it, whatever the row order of the frame; the
    # heatmap cube (cxlab.analysis.cube) breaks ties the same way.
    ev = (
        lf.filter(pl.col("stage").is_not_null() & pl.col("touchpoint").is_in(asked.implode()))
        .select("customer_id", "timestamp", pl.col("touchpoint").cast(pl.String), "stage", SEQUENCE)
        .join(
            fb.select("customer_id", "touchpoint").unique(),
            on=["customer_id", "touchpoint"],
            how="semi",
        )
        .sort("timestamp", SEQUENCE)
        .drop(SEQUENCE)
    )
    back = fb.join_asof(
        ev,
        on="timestamp",
        by=["customer_id", "touchpoint"],
        strategy="backward",
        check_sortedness=False,
    )
    fwd = fb.join_asof(
        ev,
        on="timestamp",
        by=["customer_id", "touchpoint"],
        strategy="forward",
        check_sortedness=False,
    ).select(pl.col("stage").alias("_fwd"))
    both = pl.concat([back, fwd], how="horizontal").with_columns(
        pl.coalesce("stage", "_fwd").alias("stage")
    )
    return (
        both.filter(pl.col("stage").is_not_null())
        .group_by("stage", "touchpoint")
        .agg(
            pl.len().cast(pl.Int64).alias("feedback_n"),
            # an exact (order-independent) mean, so the numbers are byte-identical run to run
            (exact_sum("_sat", decimals=9) / pl.len()).alias("satisfaction"),
        )
    )


def _tables(lf: pl.LazyFrame, cut: pl.Expr | None):
    """cells, stage_all, stage_pain, touched of :func:`touchpoint_heatmap` on prepared events.

    ``lf``'s ``customer_id`` holds integer codes. (customer, stage) and (customer, stage,
    touchpoint) are packed into single UInt64 keys, so each table is one group-by on one
    integer column instead of several group-bys, distinct counts and joins on text.
    """
    n_st = len(STAGES)
    tp_code, decode, n_tp = text_codes(lf, "touchpoint")
    ts_dtype = lf.collect_schema()["timestamp"]
    stage = pl.col("stage").to_physical().cast(pl.UInt64)
    k_cs = pl.col("customer_id").cast(pl.UInt64) * n_st + stage
    # one row per (customer, stage, touchpoint): events and first time. One hash group-by on
    # the packed key, then a sort of its (far fewer) rows, so the group-bys on (customer,
    # stage) and customer below take polars' fast path for sorted keys.
    trip = (
        lf.select(
            (k_cs * n_tp + tp_code).alias("_k"), pl.col("timestamp").to_physical().alias("_t")
        )
        .group_by("_k")
        .agg(pl.len().cast(pl.Int64).alias("_n"), pl.col("_t").min())
        .sort("_k")
        .with_columns(
            (pl.col("_k") // n_tp).set_sorted().alias("_kcs"), (pl.col("_k") % n_tp).alias("_tp")
        )
        .collect()
    ).lazy()
    per_cs = (
        trip.group_by("_kcs")
        .agg(pl.col("_t").min().alias("_entered"))
        .with_columns(
            (pl.col("_kcs") // n_st).set_sorted().alias("_c"), (pl.col("_kcs") % n_st).alias("_s")
        )
    )
    furthest = per_cs.group_by("_c").agg(pl.col("_s").max().alias("_furthest"))
    per_cs = (
        per_cs.join(furthest, on="_c")
        .with_columns(
            (pl.col("_furthest") == pl.col("_s")).alias("_dropped"),
            pl.col("_entered").cast(ts_dtype),
        )
        .collect()
        .lazy()
    )
    stage_all = per_cs.group_by("_s").agg(pl.len().cast(pl.Int64).alias("stage_customers"))
    if cut is not None:
        per_cs = per_cs.filter(pl.col("_entered") <= cut)
    stage_pain = per_cs.group_by("_s").agg(
        pl.len().cast(pl.Int64).alias("_N"), pl.col("_dropped").sum().cast(pl.Int64).alias("_K")
    )
    cells = (
        trip.with_columns((pl.col("_kcs") % n_st).alias("_s"))
        .group_by("_s", "_tp")
        .agg(
            pl.col("_n").sum().cast(pl.Int64).alias("events"),
            pl.len().cast(pl.Int64).alias("customers"),
        )
    )
    touched = (
        trip.select("_kcs", "_tp")
        .join(per_cs.select("_kcs", "_s", "_dropped"), on="_kcs")
        .group_by("_s", "_tp")
        .agg(
            pl.len().cast(pl.Int64).alias("n_touched"),
            pl.col("_dropped").sum().cast(pl.Int64).alias("dropped_touched"),
        )
    )
    stages = dict(enumerate(STAGES))

    def decode_keys(frame: pl.LazyFrame) -> pl.LazyFrame:
        names = frame.collect_schema().names()
        out = frame.with_columns(
            pl.col("_s").replace_strict(stages, return_dtype=STAGE_DTYPE).alias("stage")
        )
        if "_tp" in names:
            out = out.with_columns(
                pl.col("_tp").replace_strict(decode, return_dtype=pl.String).alias("touchpoint")
            )
        return out.drop([c for c in ("_s", "_tp") if c in names])

    return decode_keys(cells), decode_keys(stage_all), decode_keys(stage_pain), decode_keys(touched)


def heatmap_metrics(counts: pl.LazyFrame) -> pl.LazyFrame:
    """The derived columns of :func:`touchpoint_heatmap` from its count columns.

    ``counts`` has one row per (stage, touchpoint) with ``events``, ``customers``,
    ``stage_customers``, ``n_touched``, ``dropped_touched`` and the stage's pain population
    ``_N`` (customers) and ``_K`` (of them dropped out). Adds ``n_not_touched``,
    ``dropped_not_touched``, ``reach`` (with Wilson bounds), ``intensity``, the drop-out rates,
    ``pain`` (with Newcombe bounds), ``pain_ratio`` and ``small_n``. Shared by the heatmap cube
    (:mod:`cxlab.analysis.cube`) and the out-of-core analysis (:mod:`cxlab.analysis.outofcore`), so every
    path computes the same floats.

    Examples
    --------
    >>> counts = pl.LazyFrame({"stage": ["purchase"], "touchpoint": ["checkout_error"], "events": [6],
    ...     "customers": [4], "stage_customers": [10], "n_touched": [4], "dropped_touched": [3],
    ...     "_N": [10], "_K": [4]})
    >>> heatmap_metrics(counts).select("reach", "intensity", "drop_touched", "drop_not_touched", "pain").collect().row(0)
    (0.4, 1.5, 0.75, 0.16666666666666666, 0.5833333333333334)
    """
    out = counts.with_columns(
        (pl.col("_N") - pl.col("n_touched")).alias("n_not_touched"),
        (pl.col("_K") - pl.col("dropped_touched")).alias("dropped_not_touched"),
        (pl.col("customers") / pl.col("stage_customers")).alias("reach"),
        *wilson_bounds("customers", "stage_customers", prefix="reach_"),
        (pl.col("events") / pl.col("customers")).alias("intensity"),
    )
    last = pl.col("stage").cast(pl.String) == STAGES[-1]
    valid = ~last & (pl.col("n_touched") > 0) & (pl.col("n_not_touched") > 0)
    return out.with_columns(
        pl.when(pl.col("n_touched") > 0)
        .then(pl.col("dropped_touched") / pl.col("n_touched"))
        .alias("drop_touched"),
        pl.when(pl.col("n_not_touched") > 0)
        .then(pl.col("dropped_not_touched") / pl.col("n_not_touched"))
        .alias("drop_not_touched"),
        *[
            pl.when(valid).then(e).alias(e.meta.output_name())
            for e in newcombe_bounds(
                "dropped_touched",
                "n_touched",
                "dropped_not_touched",
                "n_not_touched",
                prefix="pain_",
            )
        ],
    ).with_columns(
        pl.when(valid).then(pl.col("drop_touched") - pl.col("drop_not_touched")).alias("pain"),
        pl.when(valid & (pl.col("drop_not_touched") > 0))
        .then(pl.col("drop_touched") / pl.col("drop_not_touched"))
        .alias("pain_ratio"),
        small_n("customers"),
    )


def touchpoint_heatmap(
    events_with_stage: Frame,
    feedback: Frame | None = None,
    *,
    as_of: dt.datetime | dt.date | None = None,
    survey: str | None = None,
    maturity: dt.timedelta | str | None = None,
) -> pl.DataFrame:
    """Stage x touchpoint table: events, customers, reach, intensity, satisfaction, pain.

    Parameters
    ----------
    events_with_stage : DataFrame or LazyFrame
        Output of :func:`cxlab.analysis.journey.assign_stages`; unmapped events are left out.
    feedback : DataFrame or LazyFrame, optional
        Canonical feedback; answers with a ``touchpoint`` give ``satisfaction``.
    as_of : datetime or date, optional
        Ignore events after it (default: use everything; the data end is the last event).
    survey : {"nps", "csat", "ces"}, optional
        Average only this survey on its own scale (default: all, rescaled to 0–100).
    maturity : timedelta or str, optional
        For the pain score, leave out customers who entered the stage less than this long
        before the data end (e.g. ``"30d"``).

    Returns
    -------
    DataFrame
        One row per (stage, touchpoint) seen, ordered by stage then touchpoint; columns
        ``stage``, ``touchpoint``, ``events``, ``customers``, ``stage_customers``, ``reach``,
        ``reach_ci_low``, ``reach_ci_high``, ``intensity``, ``feedback_n``, ``satisfaction``,
        ``n_touched``, ``dropped_touched``, ``drop_touched``, ``n_not_touched``,
        ``dropped_not_touched``, ``drop_not_touched``, ``pain``, ``pain_ci_low``,
        ``pain_ci_high``, ``pain_ratio``, ``small_n`` (customers < 30). See the module
        docstring for the definitions.

    Examples
    --------
    >>> import datetime as dt
    >>> from cxlab.analysis.journey import assign_stages
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "b", "b"], "timestamp": [t] * 5,
    ...     "touchpoint": ["checkout", "purchase", "checkout", "checkout_error", "checkout"],
    ...     "source_row": [1, 2, 3, 4, 5]})
    >>> m = {"checkout": "purchase", "checkout_error": "purchase", "purchase": "purchase"}
    >>> h = touchpoint_heatmap(assign_stages(ev, m))
    >>> h.filter(pl.col("touchpoint") == "checkout").select("events", "reach", "intensity").row(0)
    (3, 1.0, 1.5)
    """
    ev = _events(events_with_stage, "touchpoint_heatmap")
    lf = _mapped(ev, as_of).filter(pl.col("stage").is_not_null())
    mat = parse_duration(maturity, "maturity", where="touchpoint_heatmap")
    cut = None
    if mat is not None:
        end = (
            lf.select(pl.col("timestamp").max()).collect().item()
            if as_of is None
            else (pl.select(as_of_expr(as_of)).item())
        )
        cut = pl.lit(end - mat).cast(pl.Datetime("us", "UTC"))
    cells, stage_all, stage_pain, touched = _tables(lf, cut)
    out = heatmap_metrics(
        cells.join(stage_all, on="stage", how="left")
        .join(stage_pain, on="stage", how="left")
        .join(touched, on=["stage", "touchpoint"], how="left")
        .with_columns(pl.col("_N", "_K", "n_touched", "dropped_touched").fill_null(0))
    )
    if feedback is not None:
        sat = _satisfaction(lf, feedback, survey, ev)
        out = out.join(sat, on=["stage", "touchpoint"], how="left").with_columns(
            pl.col("feedback_n").fill_null(0)
        )
    else:
        out = out.with_columns(
            pl.lit(0, dtype=pl.Int64).alias("feedback_n"),
            pl.lit(None, dtype=pl.Float64).alias("satisfaction"),
        )
    return out.select(HEATMAP_COLUMNS).sort("stage", "touchpoint").collect()


def touchpoint_by_week(
    events: Frame, *, as_of: dt.datetime | dt.date | None = None, every: str = "1w"
) -> pl.DataFrame:
    """Touchpoint x week table (weeks start on Monday, UTC).

    Returns ``touchpoint``, ``week`` (Date), ``events``, ``customers``, ``week_customers``
    (customers active that week), ``reach`` (customers / week_customers) with Wilson bounds,
    ``intensity``; ordered by touchpoint then week. ``every`` can be ``"1d"`` or ``"1mo"``.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 3, tzinfo=dt.UTC)  # a Wednesday
    >>> ev = pl.DataFrame({"customer_id": ["a", "b"], "timestamp": [t, t],
    ...                    "touchpoint": ["chat", "ad_click"]})
    >>> touchpoint_by_week(ev).select("touchpoint", "week", "reach").rows()
    [('ad_click', datetime.date(2024, 1, 1), 0.5), ('chat', datetime.date(2024, 1, 1), 0.5)]
    """
    lf, _ = to_lazy(events)
    require(lf, ["customer_id", "timestamp", "touchpoint"], "touchpoint_by_week")
    if as_of is not None:
        lf = lf.filter(pl.col("timestamp") <= as_of_expr(as_of))
    lf = lf.with_columns(
        pl.col("timestamp").dt.truncate(every).dt.date().alias("week"),
        pl.col("touchpoint").cast(pl.String),
    )
    wk = lf.group_by("week").agg(
        pl.col("customer_id").n_unique().cast(pl.Int64).alias("week_customers")
    )
    return (
        lf.group_by("touchpoint", "week")
        .agg(
            pl.len().cast(pl.Int64).alias("events"),
            pl.col("customer_id").n_unique().cast(pl.Int64).alias("customers"),
        )
        .join(wk, on="week")
        .with_columns(
            (pl.col("customers") / pl.col("week_customers")).alias("reach"),
            *wilson_bounds("customers", "week_customers", prefix="reach_"),
            (pl.col("events") / pl.col("customers")).alias("intensity"),
        )
        .sort("touchpoint", "week")
        .collect()
    )


def channel_by_stage(
    events_with_stage: Frame, *, as_of: dt.datetime | dt.date | None = None
) -> pl.DataFrame:
    """Channel x stage table: how each stage's customers reach the brand.

    Returns ``channel``, ``stage``, ``events``, ``customers``, ``stage_customers``,
    ``reach`` (share of the stage's customers who used the channel in that stage) with Wilson
    bounds, ``intensity``, ``share_of_events`` (of the stage's events); ordered.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "b", "b"], "timestamp": [t] * 3,
    ...     "touchpoint": ["site_visit"] * 3, "channel": ["web", "web", "app"],
    ...     "stage": ["consideration"] * 3})
    >>> channel_by_stage(ev).select("channel", "reach", "share_of_events").rows()
    [('app', 0.5, 0.3333333333333333), ('web', 1.0, 0.6666666666666666)]
    """
    ev = _events(events_with_stage, "channel_by_stage")
    require(ev, ["channel"], "channel_by_stage")
    lf = _mapped(ev, as_of).filter(pl.col("stage").is_not_null())
    lf = lf.with_columns(pl.col("channel").cast(pl.String).fill_null("(missing)"))
    st = lf.group_by("stage").agg(
        pl.col("customer_id").n_unique().cast(pl.Int64).alias("stage_customers"),
        pl.len().cast(pl.Int64).alias("_stage_events"),
    )
    return (
        lf.group_by("channel", "stage")
        .agg(
            pl.len().cast(pl.Int64).alias("events"),
            pl.col("customer_id").n_unique().cast(pl.Int64).alias("customers"),
        )
        .join(st, on="stage")
        .with_columns(
            (pl.col("customers") / pl.col("stage_customers")).alias("reach"),
            *wilson_bounds("customers", "stage_customers", prefix="reach_"),
            (pl.col("events") / pl.col("customers")).alias("intensity"),
            (pl.col("events") / pl.col("_stage_events")).alias("share_of_events"),
        )
        .drop("_stage_events")
        .sort("channel", "stage")
        .collect()
    )


_KEYS = (
    ("stage", "touchpoint"),
    ("touchpoint", "week"),
    ("channel", "stage"),
    ("from_stage", "to_stage"),
)
#: proportion metric -> (successes column, n column) for a Newcombe interval of the difference
_PROPORTIONS = {
    "reach": ("customers", ("stage_customers", "week_customers")),
    "drop_touched": ("dropped_touched", ("n_touched",)),
    "share": ("transitions", ("from_total",)),
}


def compare_heatmaps(
    a: pl.DataFrame,
    b: pl.DataFrame,
    *,
    on: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    labels: tuple[str, str] = ("a", "b"),
) -> pl.DataFrame:
    """Difference heatmap of two heatmap tables (two segments, two clients, two periods).

    Parameters
    ----------
    a, b : DataFrame
        Tables of the same kind (:func:`touchpoint_heatmap`, :func:`touchpoint_by_week`,
        :func:`channel_by_stage`, or :func:`cxlab.analysis.journey.stage_transitions`).
    on : sequence of str, optional
        Key columns; detected from the table kind when omitted.
    metrics : sequence of str, optional
        Metric columns to compare (default: every numeric non-key column except intervals).
    labels : tuple of str
        Names of a and b, kept in the ``label_a`` / ``label_b`` columns for charts.

    Returns
    -------
    DataFrame
        Long format: keys, ``metric``, ``value_a``, ``value_b``, ``difference`` (b - a),
        ``diff_ci_low`` / ``diff_ci_high`` (Newcombe interval, for proportions only:
        ``reach``, ``drop_touched``, ``share``), ``n_a``, ``n_b`` (the proportion's
        denominator, else ``customers`` when present), ``label_a``, ``label_b``. Cells present
        in only one table get nulls on the other side. Ordered by metric then keys.

    Examples
    --------
    >>> a = pl.DataFrame({"channel": ["web"], "stage": ["purchase"], "customers": [5], "stage_customers": [10],
    ...                   "reach": [0.5]})
    >>> b = a.with_columns(customers=pl.lit(8), reach=pl.lit(0.8))
    >>> compare_heatmaps(a, b, metrics=["reach"]).select("metric", "difference").row(0)
    ('reach', 0.30000000000000004)
    """
    if not isinstance(a, pl.DataFrame) or not isinstance(b, pl.DataFrame):
        raise ParameterError(
            "compare_heatmaps takes two aggregated DataFrames (heatmap tables), "
            f"got {type(a).__name__} and {type(b).__name__}."
        )
    on = _compare_keys(a, b, on)
    metrics = _compare_metrics(a, b, on, metrics)
    a2 = a.with_columns(
        pl.col(k).cast(pl.String)
        for k in on
        if a.schema[k] in (STAGE_DTYPE,) or isinstance(a.schema[k], pl.Enum)
    )
    b2 = b.with_columns(pl.col(k).cast(pl.String) for k in on if isinstance(b.schema[k], pl.Enum))
    parts = [_compare_metric(a2, b2, on, m) for m in metrics]
    if not parts:
        raise ParameterError("compare_heatmaps: no metric to compare.")
    out = pl.concat(parts).with_columns(
        pl.lit(labels[0]).alias("label_a"), pl.lit(labels[1]).alias("label_b")
    )
    order_cols = ["metric", *on]
    if "stage" in on:
        out = out.with_columns(pl.col("stage").cast(STAGE_DTYPE, strict=False))
    return out.sort(order_cols, nulls_last=True)


def _compare_keys(a: pl.DataFrame, b: pl.DataFrame, on: Sequence[str] | None) -> list[str]:
    """The key columns of :func:`compare_heatmaps`: given, or detected from the table kind."""
    if on is None:
        on = next((k for k in _KEYS if set(k) <= set(a.columns) and set(k) <= set(b.columns)), None)
        if on is None:
            raise ParameterError(
                "compare_heatmaps could not tell the key columns of these tables; pass on=[...]. "
                f"Columns of a: {a.columns}."
            )
    on = list(on)
    for frame, name in ((a, "a"), (b, "b")):
        for k in on:
            if k not in frame.columns:
                raise DataError(
                    f"compare_heatmaps: table {name} has no key column '{k}'."
                    f"{did_you_mean(k, frame.columns)}"
                )
    return on


def _compare_metrics(
    a: pl.DataFrame, b: pl.DataFrame, on: list[str], metrics: Sequence[str] | None
) -> list[str]:
    """The metrics of :func:`compare_heatmaps`: given (checked), or every shared numeric one."""
    numeric = [
        c
        for c in a.columns
        if c in b.columns and c not in on and a.schema[c].is_numeric() and "ci_" not in c
    ]
    metrics = list(metrics) if metrics is not None else numeric
    for m in metrics:
        if m not in a.columns or m not in b.columns:
            raise ParameterError(
                f"compare_heatmaps: metric '{m}' is not in both tables."
                f"{did_you_mean(m, numeric)} Metrics: {numeric}."
            )
    return metrics


def _compare_metric(a: pl.DataFrame, b: pl.DataFrame, on: list[str], m: str) -> pl.DataFrame:
    """One metric's rows of :func:`compare_heatmaps` (keys as text in ``a`` and ``b``).

    A proportion whose counts both tables carry gets the Newcombe interval of b - a; any
    other metric null bounds, and ``customers`` (when both have it) as its n.
    """
    k_col, n_cols = _PROPORTIONS.get(m, (None, ()))
    n_col = next((c for c in n_cols if c in a.columns and c in b.columns), None)
    has_counts = (
        k_col is not None and n_col is not None and k_col in a.columns and k_col in b.columns
    )
    if has_counts:
        sel_a = [
            *on,
            pl.col(m).alias("value_a"),
            pl.col(k_col).alias("_ka"),
            pl.col(n_col).alias("n_a"),
        ]
        sel_b = [
            *on,
            pl.col(m).alias("value_b"),
            pl.col(k_col).alias("_kb"),
            pl.col(n_col).alias("n_b"),
        ]
    else:
        ncol = "customers" if "customers" in a.columns and "customers" in b.columns else None
        na = pl.col(ncol) if ncol else pl.lit(None, dtype=pl.Int64)
        sel_a = [*on, pl.col(m).alias("value_a"), na.cast(pl.Int64).alias("n_a")]
        sel_b = [*on, pl.col(m).alias("value_b"), na.cast(pl.Int64).alias("n_b")]
    j = a.select(sel_a).join(b.select(sel_b), on=on, how="full", coalesce=True)
    j = j.with_columns(
        (pl.col("value_b").cast(pl.Float64) - pl.col("value_a").cast(pl.Float64)).alias(
            "difference"
        ),
        pl.lit(m).alias("metric"),
    )
    if has_counts:  # Newcombe for b - a
        j = j.with_columns(newcombe_bounds("_kb", "n_b", "_ka", "n_a", prefix="diff_")).drop(
            "_ka", "_kb"
        )
    else:
        j = j.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("diff_ci_low"),
            pl.lit(None, dtype=pl.Float64).alias("diff_ci_high"),
        )
    return j.select(
        *on,
        "metric",
        pl.col("value_a").cast(pl.Float64),
        pl.col("value_b").cast(pl.Float64),
        "difference",
        "diff_ci_low",
        "diff_ci_high",
        pl.col("n_a").cast(pl.Int64),
        pl.col("n_b").cast(pl.Int64),
    )
