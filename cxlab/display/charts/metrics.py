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
from cxlab.display.charts._common import (
    MAX_ROWS,
    chart_frame,
    labelled,
    labelled_order,
    period_axis,
)
from cxlab.display.labels import display_label, in_sentence
from cxlab.display.theme import (
    BAND_NOTE,
    PALETTE,
    WHISKERS_NOTE,
    WIDTH,
    interval,
    interval_tip,
    tip,
)
from cxlab.errors import DataError, ParameterError, did_you_mean

__all__ = [
    "MAX_ROWS",
    "score_over_time_chart",
    "score_breakdown_chart",
    "driver_quadrant_chart",
    "topic_share_chart",
]

_GROUP_ORDER = ["promoter", "passive", "detractor"]
_GROUP_NAMES = ["Promoters", "Passives", "Detractors"]
_GROUP_COLORS = ["#1a9850", "#bdbdbd", "#d73027"]
_QUADRANT_ORDER = ["fix first", "protect", "monitor", "maintain"]
_QUADRANT_COLORS = ["#d73027", "#1a9850", "#fdae61", "#91bfdb"]


def _prepare(frame: object, needed: Sequence[str], where: str) -> pl.DataFrame:
    return chart_frame(frame, needed, where, "cxlab.analysis.metrics.score_summary")


def _metric_title(frame: pl.DataFrame) -> str:
    metrics = frame["metric"].unique().to_list() if "metric" in frame.columns else []
    return METRIC_LABELS.get(metrics[0], str(metrics[0])) if len(metrics) == 1 else "Score"


def _group_columns(frame: pl.DataFrame, extra: Sequence[str] = ()) -> list[str]:
    skip = set(RESULT_COLUMNS) | set(extra)
    return [c for c in frame.columns if c not in skip]


def _order(values: pl.Series) -> list[str]:
    present = [str(v) for v in values.unique().to_list() if v is not None]
    if set(present) <= set(STAGES):
        return [s for s in STAGES if s in present]
    return sorted(present)


def _tooltips(frame: pl.DataFrame, first: Sequence[str]) -> list[alt.Tooltip]:
    tips = [
        alt.Tooltip(c, type="temporal", title="Month", format="%B %Y")
        if c == "period"
        else tip(c, "N")
        for c in first
    ]
    if "estimate" in frame.columns:
        tips.append(alt.Tooltip("estimate:Q", format=",.1f", title=_metric_title(frame)))
    if "ci_low" in frame.columns:
        tips.append(interval_tip())
    if "n" in frame.columns:
        tips.append(alt.Tooltip("n:Q", format=",d", title="Answers"))
    if "small_n" in frame.columns:
        tips.append(alt.Tooltip("few:N", title="Fewer than 30 answers"))
    return tips


def _with_interval(chart: alt.Chart, frame: pl.DataFrame) -> alt.Chart:
    chart = interval(chart, fmt=",.1f") if "ci_low" in frame.columns else chart
    if "small_n" in frame.columns:
        chart = chart.transform_calculate(few="datum.small_n ? 'yes' : 'no'")
    return chart


def score_over_time_chart(frame: pl.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Line of the score per period with its 95% interval as a band (one colour per group).

    The title is ``title`` as given (default: the metric's label "over time"); what the band
    and the faded points mean is the subtitle.

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
    >>> chart = score_over_time_chart(score_over_time(fb), title="NPS by month")
    >>> len(chart.layer), chart.to_dict()["title"]["text"]
    (3, 'NPS by month')
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
        order = labelled_order(_order(df[group]))
        df = labelled(df, [group])
    metric = _metric_title(df)
    base = _with_interval(alt.Chart(df), df).encode(
        x=alt.X("period:T", title=None, axis=period_axis(df.get_column("period"), labelAngle=0)),
        tooltip=_tooltips(df, ["period", *groups]),
    )
    color = (
        alt.Color(f"{group}:N", sort=order, title=display_label(group))
        if group
        else alt.value(PALETTE[0])
    )
    band = base.mark_area(opacity=0.18).encode(y="ci_low:Q", y2="ci_high:Q", color=color)
    line = base.mark_line().encode(y=alt.Y("estimate:Q", title=metric), color=color)
    points = base.mark_point(filled=True, size=40).encode(
        y="estimate:Q",
        color=color,
        opacity=alt.condition("datum.small_n", alt.value(0.35), alt.value(1.0)),
    )
    return alt.layer(band, line, points).properties(
        title=alt.Title(
            title or f"{metric} over time",
            subtitle=f"{BAND_NOTE} Faded points: fewer than 30 answers.",
        ),
        width=WIDTH,
        height=260,
    )


def score_breakdown_chart(
    frame: pl.DataFrame, by: str | None = None, *, title: str | None = None
) -> alt.LayerChart:
    """Horizontal bars of the score per group with 95% whiskers; faded bars have n < 30.

    The title is ``title`` as given (default: the metric's label by the group's label); what
    the whiskers, numbers and faded bars mean is the subtitle.

    Examples
    --------
    >>> from cxlab.analysis.metrics import score_summary
    >>> fb = pl.DataFrame({"survey": "nps", "score": [10, 3, 9, 8], "touchpoint": ["a", "a", "b", "b"]})
    >>> chart = score_breakdown_chart(score_summary(fb, by="touchpoint"), title="NPS by touchpoint")
    >>> len(chart.layer), chart.to_dict()["title"]["text"]
    (3, 'NPS by touchpoint')
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
    order = labelled_order(order)
    df = labelled(df.sort(by), [by])
    # the number goes right of the bar and its whisker: a bar below zero ends at 0
    df = df.with_columns(pl.max_horizontal("ci_high", "estimate", pl.lit(0.0)).alias("n_at"))
    label = _metric_title(df)
    base = _with_interval(alt.Chart(df), df).encode(
        y=alt.Y(f"{by}:N", sort=order, title=None),
        tooltip=_tooltips(df, [by]),
    )
    bars = base.mark_bar(color=PALETTE[0]).encode(
        x=alt.X("estimate:Q", title=label),
        opacity=alt.condition("datum.small_n", alt.value(0.35), alt.value(0.9)),
    )
    whiskers = base.mark_rule(color="#1d2733").encode(x="ci_low:Q", x2="ci_high:Q")
    ns = base.mark_text(align="left", dx=4, fontSize=11, color="#5b6877").encode(
        x="n_at:Q", text=alt.Text("n:Q", format=",d")
    )
    return alt.layer(bars, whiskers, ns).properties(
        title=alt.Title(
            title or f"{label} by {in_sentence(display_label(by))}",
            subtitle=f"{WHISKERS_NOTE} Number: answers. Faded: fewer than 30 answers.",
        ),
        width=WIDTH - 120,
        height=alt.Step(24),
    )


def _quadrant_labels(df: pl.DataFrame, x_ref: float, width: float, height: float) -> pl.Series:
    """Which drivers get a text label on the quadrant chart: no two labels overlap.

    Candidates: drivers more important than average, else the three most important. A
    candidate is dropped when a more important candidate's label would sit within one text
    line and 130 pixels of it (positions scaled to the plot; computed with a cross join).
    """
    x_max = max(float(df["ci_high"].max() or 0), float(df["importance_pct"].max() or 0), 1.0)
    y_lo, y_hi = float(df["performance"].min() or 0), float(df["performance"].max() or 0)
    y_span = max(y_hi - y_lo, 1.0)
    cand = df.select(
        "driver",
        pl.int_range(pl.len()).alias("order"),
        (pl.col("importance_pct") / x_max * width).alias("px"),
        (pl.col("performance") / y_span * height).alias("py"),
        ((pl.col("importance_pct") >= x_ref) | (pl.int_range(pl.len()) < 3)).alias("candidate"),
    ).filter("candidate")
    clash = (
        cand.join(cand, how="cross", suffix="_o")
        .filter(pl.col("order_o") < pl.col("order"))
        .filter(
            ((pl.col("px") - pl.col("px_o")).abs() < 130)
            & ((pl.col("py") - pl.col("py_o")).abs() < 14)
        )
        .get_column("driver")
        .unique()
    )
    keep = cand.filter(~pl.col("driver").is_in(clash.implode())).get_column("driver")
    return df.get_column("driver").is_in(keep.implode())


def driver_quadrant_chart(drivers: object, *, overall_nps: float | None = None) -> alt.LayerChart:
    """Importance × performance quadrant of NPS drivers.

    x: importance (% of the explained variation, with its 95% bootstrap interval), y:
    performance (NPS of respondents exposed to the driver). Reference lines: the average
    importance (100 / number of drivers) and the overall NPS. Top-left…bottom-right read
    "protect", "fix first" (important, below average), "maintain", "monitor". Only drivers
    whose labels do not overlap are named on the chart (the most important first); every
    point has a tooltip.

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
    height = 340
    df = labelled(
        df.with_columns(_quadrant_labels(df, x_ref, WIDTH - 140, height).alias("named")),
        ["driver"],
    ).with_columns(pl.col("quadrant").str.to_uppercase().str.slice(0, 1).alias("_q0"))
    df = df.with_columns(
        (pl.col("_q0") + pl.col("quadrant").str.slice(1)).alias("quadrant_label")
    ).drop("_q0")
    tips = [
        alt.Tooltip("driver:N", title="Driver"),
        alt.Tooltip("quadrant_label:N", title="Quadrant"),
        alt.Tooltip("importance_pct:Q", title="Importance (% of explained)", format=".1f"),
        alt.Tooltip("interval_95:N", title="95% interval of importance"),
        alt.Tooltip("performance:Q", title="NPS of those exposed", format="+.0f"),
        alt.Tooltip("n_exposed:Q", title="Respondents exposed", format=",d"),
    ]
    if "nps_not_exposed" in df.columns:
        tips.append(alt.Tooltip("nps_not_exposed:Q", title="NPS of the others", format="+.0f"))
    base = interval(alt.Chart(df), fmt=".1f").encode(
        x=alt.X("importance_pct:Q", title="Importance: % of the NPS variation explained"),
        y=alt.Y("performance:Q", title="NPS of respondents exposed"),
        tooltip=tips,
    )
    whisk = base.mark_rule(opacity=0.5).encode(x="ci_low:Q", x2="ci_high:Q")
    pts = base.mark_circle(opacity=0.85).encode(
        color=alt.Color(
            "quadrant_label:N",
            title="Quadrant",
            scale=alt.Scale(
                domain=[q[:1].upper() + q[1:] for q in _QUADRANT_ORDER], range=_QUADRANT_COLORS
            ),
        ),
        size=alt.Size("n_exposed:Q", title="Respondents exposed", legend=None),
    )
    labels = (
        base.transform_filter("datum.named")
        .mark_text(align="left", dx=8, dy=-7, fontSize=11)
        .encode(text="driver:N")
    )
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
        title=alt.Title(
            "Moments that matter: importance and performance",
            subtitle=f"Dashed lines: average importance and the overall NPS ({overall_nps:+.0f}). "
            "Hover a point for its name and numbers.",
        ),
        width=WIDTH - 60,
        height=height,
    )


def topic_share_chart(topics: object) -> alt.Chart:
    """Share of promoter, passive and detractor comments in each topic (grouped bars).

    Parameters
    ----------
    topics : TopicModel or DataFrame
        From :func:`cxlab.analysis.voc.comment_topics` (or its ``topics`` table).

    Examples
    --------
    >>> t = pl.DataFrame({"topic": [0, 1], "label": ["Late parcel", "Helpful staff"],
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
        .with_columns(
            pl.col("nps_group")
            .replace(dict(zip(_GROUP_ORDER, _GROUP_NAMES, strict=True)))
            .alias("group")
        )
        .sort(["label", "nps_group"])
    )
    order = df.sort(["share_detractor", "label"], descending=[True, False])["label"].to_list()
    tips = [
        alt.Tooltip("label:N", title="Topic"),
        alt.Tooltip("group:N", title="Group"),
        alt.Tooltip("share:Q", title="Share of the group's comments", format=".1%"),
        alt.Tooltip("n_comments:Q", title="Comments in the topic", format=",d"),
    ]
    if "mean_sentiment" in long.columns:
        tips.append(
            alt.Tooltip("mean_sentiment:Q", title="Average sentiment (−1 to 1)", format="+.2f")
        )
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=300)),
            yOffset=alt.YOffset("group:N", sort=_GROUP_NAMES),
            x=alt.X("share:Q", title="Share of the group's comments", axis=alt.Axis(format="%")),
            color=alt.Color(
                "group:N",
                sort=_GROUP_NAMES,
                scale=alt.Scale(domain=_GROUP_NAMES, range=_GROUP_COLORS),
                title=None,
            ),
            tooltip=tips,
        )
        .properties(
            title=alt.Title(
                "What each group of customers talks about",
                subtitle="Topics with the most detractor comments first.",
            ),
            width=WIDTH - 260,
            height=alt.Step(11),
        )
    )
