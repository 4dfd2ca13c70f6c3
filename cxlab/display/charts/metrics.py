"""CX metric charts (altair): score over time with its interval band, breakdown bars with
whiskers, the key-driver importance × performance quadrant, and topic shares by NPS group.

Every function takes a small aggregated frame from :mod:`cxlab.analysis.metrics`, :mod:`cxlab.analysis.drivers`
or :mod:`cxlab.analysis.voc` — never per-customer rows (a frame with a ``customer_id`` column or more
than ``MAX_ROWS`` rows is refused) — sorts it, and returns an altair chart with tooltips for
the value, its n and its interval. Small samples (n < 30) are drawn faded, never hidden.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from cxlab.analysis.metrics import METRIC_LABELS, RESULT_COLUMNS
from cxlab.contract.schema import STAGES
from cxlab.display.charts._common import MAX_ROWS, chart_frame
from cxlab.errors import DataError, ParameterError, did_you_mean

__all__ = [
    "MAX_ROWS",
    "score_over_time_chart",
    "score_breakdown_chart",
    "driver_quadrant_chart",
    "topic_share_chart",
]

_GROUP_ORDER = ["promoter", "passive", "detractor"]
_GROUP_COLORS = ["#1a9850", "#bdbdbd", "#d73027"]
_QUADRANT_ORDER = ["fix first", "protect", "monitor", "maintain"]
_QUADRANT_COLORS = ["#d73027", "#1a9850", "#fdae61", "#91bfdb"]


def _prepare(frame: object, needed: Sequence[str], where: str) -> pl.DataFrame:
    return chart_frame(frame, needed, where, "cxlab.analysis.metrics.score_summary")


def _metric_title(frame: pl.DataFrame) -> str:
    metrics = frame["metric"].unique().to_list() if "metric" in frame.columns else []
    return METRIC_LABELS.get(metrics[0], str(metrics[0])) if len(metrics) == 1 else "score"


def _group_columns(frame: pl.DataFrame, extra: Sequence[str] = ()) -> list[str]:
    skip = set(RESULT_COLUMNS) | set(extra)
    return [c for c in frame.columns if c not in skip]


def _order(values: pl.Series) -> list[str]:
    present = [str(v) for v in values.unique().to_list() if v is not None]
    if set(present) <= set(STAGES):
        return [s for s in STAGES if s in present]
    return sorted(present)


def _tooltips(frame: pl.DataFrame, first: Sequence[str]) -> list[alt.Tooltip]:
    tips = [alt.Tooltip(c) for c in first]
    for c, fmt in (("estimate", ",.1f"), ("ci_low", ",.1f"), ("ci_high", ",.1f"), ("n", ",d")):
        if c in frame.columns:
            tips.append(alt.Tooltip(c, format=fmt))
    if "small_n" in frame.columns:
        tips.append(alt.Tooltip("small_n", title="small n (< 30)"))
    return tips


def score_over_time_chart(frame: pl.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Line of the score per period with its 95% interval as a band (one colour per group).

    Parameters
    ----------
    frame : DataFrame
        From :func:`cxlab.analysis.metrics.score_over_time` (``period``, ``estimate``, ``ci_low``,
        ``ci_high``, ``n``, ``small_n``; at most one extra grouping column is drawn as colour).

    Examples
    --------
    >>> import datetime as dt
    >>> from cxlab.analysis.metrics import score_over_time
    >>> fb = pl.DataFrame({"timestamp": [dt.datetime(2024, m, 1) for m in (1, 2, 3)],
    ...                    "survey": "nps", "score": [10, 3, 9]})
    >>> chart = score_over_time_chart(score_over_time(fb))
    >>> len(chart.layer)
    3
    """
    df = _prepare(frame, ["period", "estimate", "ci_low", "ci_high", "n"], "score_over_time_chart")
    groups = _group_columns(df, ["period"])
    if len(groups) > 1:
        raise ParameterError(
            f"score_over_time_chart draws one grouping column; got {groups}. Filter or break down by one."
        )
    group = groups[0] if groups else None
    df = df.sort([*(groups), "period"], nulls_last=True)
    if group:
        df = df.with_columns(pl.col(group).cast(pl.String).fill_null("(none)"))
    base = alt.Chart(df).encode(
        x=alt.X("period:T", title="period"),
        tooltip=_tooltips(df, ["period", *groups]),
    )
    color = alt.Color(f"{group}:N", sort=_order(df[group])) if group else alt.value("#4c78a8")
    band = base.mark_area(opacity=0.2).encode(y="ci_low:Q", y2="ci_high:Q", color=color)
    line = base.mark_line().encode(
        y=alt.Y("estimate:Q", title=title or _metric_title(df)), color=color
    )
    points = base.mark_point(filled=True, size=40).encode(
        y="estimate:Q",
        color=color,
        opacity=alt.condition("datum.small_n", alt.value(0.35), alt.value(1.0)),
    )
    return alt.layer(band, line, points).properties(
        title=(title or _metric_title(df)) + " over time (band: 95% interval; faded: n < 30)",
        width=560,
        height=280,
    )


def score_breakdown_chart(
    frame: pl.DataFrame, by: str | None = None, *, title: str | None = None
) -> alt.LayerChart:
    """Horizontal bars of the score per group with 95% whiskers; faded bars have n < 30.

    Examples
    --------
    >>> from cxlab.analysis.metrics import score_summary
    >>> fb = pl.DataFrame({"survey": "nps", "score": [10, 3, 9, 8], "touchpoint": ["a", "a", "b", "b"]})
    >>> chart = score_breakdown_chart(score_summary(fb, by="touchpoint"))
    >>> len(chart.layer)
    3
    """
    df = _prepare(frame, ["estimate", "ci_low", "ci_high", "n"], "score_breakdown_chart")
    groups = _group_columns(df)
    by = by or (groups[0] if groups else None)
    if by is None:
        df = df.with_columns(pl.lit("all").alias("group"))
        by = "group"
    if by not in df.columns:
        raise DataError(f"score_breakdown_chart: no column '{by}'.{did_you_mean(by, df.columns)}")
    df = df.with_columns(pl.col(by).cast(pl.String).fill_null("(unknown)"))
    order = _order(df[by])
    if not set(order) <= set(STAGES):
        order = df.sort(["estimate", by], descending=[True, False], nulls_last=True)[by].to_list()
    df = df.sort(by)
    base = alt.Chart(df).encode(
        y=alt.Y(f"{by}:N", sort=order, title=by),
        tooltip=_tooltips(df, [by]),
    )
    label = title or _metric_title(df)
    bars = base.mark_bar(color="#4c78a8").encode(
        x=alt.X("estimate:Q", title=label),
        opacity=alt.condition("datum.small_n", alt.value(0.35), alt.value(0.9)),
    )
    whiskers = base.mark_rule(color="black").encode(x="ci_low:Q", x2="ci_high:Q")
    ns = base.mark_text(align="left", dx=4, fontSize=10, color="#555").encode(
        x="ci_high:Q", text=alt.Text("n:Q", format=",d")
    )
    return alt.layer(bars, whiskers, ns).properties(
        title=f"{label} by {by} (whiskers: 95% interval; number: n; faded: n < 30)",
        width=480,
        height=alt.Step(22),
    )


def driver_quadrant_chart(drivers: object, *, overall_nps: float | None = None) -> alt.LayerChart:
    """Importance × performance quadrant of NPS drivers.

    x: importance (% of the explained variation, with its 95% bootstrap interval), y:
    performance (NPS of respondents exposed to the driver). Reference lines: the average
    importance (100 / number of drivers) and the overall NPS. Top-left…bottom-right read
    "protect", "fix first" (important, below average), "maintain", "monitor".

    Parameters
    ----------
    drivers : KeyDrivers or DataFrame
        From :func:`cxlab.analysis.drivers.nps_drivers` (or its ``table``, then pass ``overall_nps``).

    Examples
    --------
    >>> t = pl.DataFrame({"driver": ["a", "b"], "importance_pct": [70.0, 30.0], "ci_low": [60.0, 20.0],
    ...                   "ci_high": [80.0, 40.0], "performance": [-20.0, 40.0], "n_exposed": [50, 80],
    ...                   "quadrant": ["fix first", "maintain"]})
    >>> len(driver_quadrant_chart(t, overall_nps=10.0).layer)
    5
    """
    table = getattr(drivers, "table", drivers)
    if overall_nps is None:
        overall_nps = getattr(drivers, "overall_nps", None)
    if overall_nps is None:
        raise ParameterError(
            "driver_quadrant_chart needs overall_nps when given a table (or pass the KeyDrivers result)."
        )
    df = _prepare(
        table,
        ["driver", "importance_pct", "ci_low", "ci_high", "performance", "n_exposed", "quadrant"],
        "driver_quadrant_chart",
    )
    df = df.sort(["importance_pct", "driver"], descending=[True, False])
    x_ref = 100.0 / max(df.height, 1)
    tips = [
        alt.Tooltip("driver"),
        alt.Tooltip("quadrant"),
        alt.Tooltip("importance_pct", title="importance %", format=".1f"),
        alt.Tooltip("ci_low", title="importance CI low", format=".1f"),
        alt.Tooltip("ci_high", title="importance CI high", format=".1f"),
        alt.Tooltip("performance", title="NPS of exposed", format="+.1f"),
        alt.Tooltip("n_exposed", title="n exposed", format=",d"),
    ]
    for c, t in (("nps_not_exposed", "NPS of others"), ("exposure", "exposure")):
        if c in df.columns:
            tips.append(
                alt.Tooltip(c, title=t, format="+.1f")
                if c == "nps_not_exposed"
                else alt.Tooltip(c, title=t)
            )
    base = alt.Chart(df).encode(
        x=alt.X("importance_pct:Q", title="importance (% of explained NPS variation)"),
        y=alt.Y("performance:Q", title="performance (NPS of exposed respondents)"),
        tooltip=tips,
    )
    whisk = base.mark_rule(opacity=0.5).encode(x="ci_low:Q", x2="ci_high:Q")
    pts = base.mark_circle(opacity=0.85).encode(
        color=alt.Color(
            "quadrant:N", scale=alt.Scale(domain=_QUADRANT_ORDER, range=_QUADRANT_COLORS)
        ),
        size=alt.Size("n_exposed:Q", title="n exposed"),
    )
    labels = base.mark_text(align="left", dx=7, dy=-6, fontSize=10).encode(text="driver:N")
    vline = (
        alt.Chart(pl.DataFrame({"x": [x_ref]}))
        .mark_rule(strokeDash=[4, 4], color="gray")
        .encode(x="x:Q")
    )
    hline = (
        alt.Chart(pl.DataFrame({"y": [float(overall_nps)]}))
        .mark_rule(strokeDash=[4, 4], color="gray")
        .encode(y="y:Q")
    )
    return alt.layer(whisk, pts, labels, vline, hline).properties(
        title=f"Moments that matter: importance × performance (dashed: average importance, overall NPS {overall_nps:+.0f})",
        width=520,
        height=360,
    )


def topic_share_chart(topics: object) -> alt.Chart:
    """Share of promoter, passive and detractor comments in each topic (grouped bars).

    Parameters
    ----------
    topics : TopicModel or DataFrame
        From :func:`cxlab.analysis.voc.comment_topics` (or its ``topics`` table).

    Examples
    --------
    >>> t = pl.DataFrame({"topic": [0, 1], "label": ["late / parcel", "staff / helpful"],
    ...                   "n_comments": [40, 30], "share_promoter": [0.1, 0.6],
    ...                   "share_passive": [0.3, 0.3], "share_detractor": [0.6, 0.1], "mean_sentiment": [-0.4, 0.5]})
    >>> topic_share_chart(t).mark
    'bar'
    """
    table = getattr(topics, "topics", topics)
    df = _prepare(
        table,
        ["label", "share_promoter", "share_passive", "share_detractor", "n_comments"],
        "topic_share_chart",
    )
    keep = [c for c in ("topic", "label", "n_comments", "mean_sentiment") if c in df.columns]
    long = (
        df.select(*keep, *[pl.col(f"share_{g}").alias(g) for g in _GROUP_ORDER])
        .unpivot(index=keep, on=_GROUP_ORDER, variable_name="nps_group", value_name="share")
        .sort(["label", "nps_group"])
    )
    order = df.sort(["share_detractor", "label"], descending=[True, False])["label"].to_list()
    tips = [
        alt.Tooltip("label", title="topic"),
        alt.Tooltip("nps_group", title="group"),
        alt.Tooltip("share", title="share of the group's comments", format=".1%"),
        alt.Tooltip("n_comments", title="comments in topic", format=",d"),
    ]
    if "mean_sentiment" in long.columns:
        tips.append(alt.Tooltip("mean_sentiment", title="mean sentiment", format="+.2f"))
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title="topic (top terms)"),
            yOffset=alt.YOffset("nps_group:N", sort=_GROUP_ORDER),
            x=alt.X("share:Q", title="share of the group's comments", axis=alt.Axis(format="%")),
            color=alt.Color(
                "nps_group:N",
                sort=_GROUP_ORDER,
                scale=alt.Scale(domain=_GROUP_ORDER, range=_GROUP_COLORS),
                title="NPS group",
            ),
            tooltip=tips,
        )
        .properties(
            title="Topics by NPS group (sorted by detractor share)", width=460, height=alt.Step(12)
        )
    )
