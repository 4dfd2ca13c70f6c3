"""Funnel charts for the newer funnel results (altair): conversion over time, next paths.

Each function draws a small aggregated frame of :mod:`cxlab.analysis.funnel` —
:func:`~cxlab.analysis.funnel.funnel_trend`, :func:`~cxlab.analysis.funnel.drop_off_paths` —
never event-level data. The funnel bars themselves are
:func:`cxlab.display.charts.journey.funnel_chart`.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from cxlab.display.charts._common import chart_frame, period_axis
from cxlab.display.labels import display_label

__all__ = ["funnel_trend_chart", "drop_off_paths_chart"]

_TREND_COLS = {
    "period",
    "entered",
    "converted",
    "open_window",
    "eligible",
    "converted_eligible",
    "conversion_rate",
    "ci_low",
    "ci_high",
    "small_n",
}


def funnel_trend_chart(trend: pl.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Conversion by entry period (:func:`cxlab.analysis.funnel.funnel_trend`): a line with
    its 95% Wilson band; faded points for periods with fewer than 30 customers. Axis labels
    carry the year ("Oct 2024"; full dates over a span of 90 days or less).

    A breakdown column (any column that is not a trend column) becomes the colour.

    Examples
    --------
    >>> import datetime as dt
    >>> t = pl.DataFrame({"period": [dt.date(2024, 1, 1), dt.date(2024, 1, 8)],
    ...     "entered": [40, 35], "eligible": [40, 35], "converted_eligible": [10, 14],
    ...     "conversion_rate": [0.25, 0.4], "ci_low": [0.14, 0.26], "ci_high": [0.4, 0.56],
    ...     "small_n": [False, False]})
    >>> [layer["mark"]["type"] for layer in funnel_trend_chart(t).to_dict()["layer"]]
    ['area', 'line', 'point']
    """
    data = chart_frame(
        trend,
        ["period", "conversion_rate", "ci_low", "ci_high", "eligible"],
        "funnel_trend_chart",
        "cxlab.analysis.funnel.funnel_trend",
    )
    extra = [c for c in data.columns if c not in _TREND_COLS]
    by = extra[0] if extra else None
    data = data.sort([*([by] if by else []), "period"])
    if "small_n" not in data.columns:
        data = data.with_columns((pl.col("eligible") < 30).alias("small_n"))
    tips = [
        alt.Tooltip("period:T", title="entered in", format="%d %b %Y"),
        alt.Tooltip("conversion_rate:Q", format=".1%", title="conversion"),
        alt.Tooltip("ci_low:Q", format=".1%", title="95% interval from"),
        alt.Tooltip("ci_high:Q", format=".1%", title="95% interval to"),
        alt.Tooltip("eligible:Q", format=",", title="customers counted"),
    ]
    if by:
        tips.insert(0, alt.Tooltip(f"{by}:N", title=display_label(by)))
    colour = {"color": alt.Color(f"{by}:N", title=display_label(by))} if by else {}
    base = alt.Chart(data, title=title or "Conversion by period of entry").encode(
        x=alt.X(
            "period:T",
            title="When the journey started",
            axis=period_axis(data.get_column("period"), labelAngle=0),
        ),
        **colour,
    )
    y = alt.Y(
        "conversion_rate:Q",
        axis=alt.Axis(format="%"),
        title="Conversion",
        scale=alt.Scale(domain=[0, 1]),
    )
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("ci_low:Q"), y2="ci_high:Q")
    line = base.mark_line().encode(y=y)
    points = base.mark_point(size=40).encode(
        y=y,
        opacity=alt.condition(alt.datum.small_n, alt.value(0.35), alt.value(1.0)),
        tooltip=tips,
    )
    return alt.layer(band, line, points)


def drop_off_paths_chart(paths: pl.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Horizontal bars: where customers who stopped at a step went next
    (:func:`cxlab.analysis.funnel.drop_off_paths`), most common first.

    Examples
    --------
    >>> p = pl.DataFrame({"next_path": ["(no event)", "chat → faq"], "customers": [5, 3],
    ...     "share": [0.5, 0.3], "ci_low": [0.24, 0.11], "ci_high": [0.76, 0.6], "stopped": [10, 10]})
    >>> drop_off_paths_chart(p).to_dict()["mark"]["type"]
    'bar'
    """
    data = chart_frame(
        paths,
        ["next_path", "customers", "share"],
        "drop_off_paths_chart",
        "cxlab.analysis.funnel.drop_off_paths",
    )
    data = data.sort(["customers", "next_path"], descending=[True, False])
    tips = [
        alt.Tooltip("next_path:N", title="went next"),
        alt.Tooltip("share:Q", format=".1%", title="share of those who stopped"),
        alt.Tooltip("customers:Q", format=","),
    ]
    tips += [
        alt.Tooltip(f"{c}:Q", format=".1%", title=t)
        for c, t in (("ci_low", "95% interval from"), ("ci_high", "95% interval to"))
        if c in data.columns
    ]
    return (
        alt.Chart(data, title=title or "Where customers who stopped went next")
        .mark_bar()
        .encode(
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="Share of those who stopped"),
            y=alt.Y("next_path:N", sort=data["next_path"].to_list(), title=None),
            tooltip=tips,
        )
    )
