"""Retention charts (altair): the cohort triangle, the mean curve, lifecycle and stickiness bars.

Each function draws a small aggregate from :mod:`cxlab.analysis.retention` (never events), with
tooltips for the value, its n and its interval; labels are plain words.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from cxlab.display.charts._common import chart_frame
from cxlab.errors import ParameterError

__all__ = ["lifecycle_chart", "retention_curve_chart", "retention_heatmap", "stickiness_chart"]

_FROM = "cxlab.analysis.retention.cohort_retention"
# PostHog's lifecycle colours in spirit: growth in greens/blue, loss in red
_STATUS_COLOURS = {
    "new": "#2b8a3e",
    "returning": "#1c7ed6",
    "resurrecting": "#f59f00",
    "dormant": "#c92a2a",
}
_STATUS_LABELS = {
    "new": "New",
    "returning": "Returning",
    "resurrecting": "Back after a gap",
    "dormant": "Gone quiet",
}


def _period_label(column: str, every: str) -> pl.Expr:
    """Readable labels of period starts: "06 Jan 2025" (days, weeks), "Jan 2025" (months),
    "Q1 2025" (quarters); other lengths ("2w") by their first day.

    Examples
    --------
    >>> import datetime as dt
    >>> d = pl.DataFrame({"p": [dt.datetime(2025, 1, 6), dt.datetime(2025, 4, 1)]})
    >>> [d.select(_period_label("p", e)).to_series().to_list() for e in ("week", "month", "quarter")]
    [['06 Jan 2025', '01 Apr 2025'], ['Jan 2025', 'Apr 2025'], ['Q1 2025', 'Q2 2025']]
    """
    c = pl.col(column)
    if every == "month":
        return c.dt.strftime("%b %Y")
    if every == "quarter":
        return pl.format("Q{} {}", c.dt.quarter(), c.dt.year())
    return c.dt.strftime("%d %b %Y")


def _in_order(data: pl.DataFrame, label: str) -> list[str]:
    """The distinct labels in the frame's (period) order: the axis order, not alphabetical."""
    return data.get_column(label).unique(maintain_order=True).to_list()


def _every_word(every: str) -> str:
    return {"day": "days", "week": "weeks", "month": "months", "quarter": "quarters"}.get(
        every, "periods"
    )


def retention_heatmap(
    table: pl.DataFrame, every: str = "week", title: str | None = None
) -> alt.LayerChart:
    """The cohort triangle: entry period (rows) x periods since entry (columns), share retained.

    ``table`` is ``RetentionMatrix.table`` (one breakdown value at a time). Cells of a period
    that had not ended at the data end are drawn paler; small cohorts are named in the tooltip.

    Examples
    --------
    >>> import datetime as dt
    >>> t = pl.DataFrame({"cohort": [dt.datetime(2024, 1, 1)] * 2, "cohort_size": [2, 2],
    ...     "period": [0, 1], "retained": [2, 1], "retention": [1.0, 0.5],
    ...     "ci_low": [0.34, 0.09], "ci_high": [1.0, 0.91], "complete": [True, False],
    ...     "small_n": [True, True]})
    >>> len(retention_heatmap(t).to_dict()["layer"])
    2
    """
    needed = [
        "cohort",
        "cohort_size",
        "period",
        "retained",
        "retention",
        "ci_low",
        "ci_high",
        "complete",
    ]
    data = chart_frame(table, needed, "retention_heatmap", _FROM)
    if data.select(pl.col("cohort").n_unique()).item() != data.filter(pl.col("period") == 0).height:
        raise ParameterError(
            "retention_heatmap draws one breakdown value at a time: filter the table on its "
            "breakdown column first."
        )
    words = _every_word(every)
    data = data.sort("cohort", "period").with_columns(
        _period_label("cohort", every).alias("entered"),
        pl.when(pl.col("complete"))
        .then(pl.lit("ended"))
        .otherwise(pl.lit("still running"))
        .alias("state"),
    )
    data = data.drop("cohort")  # drawn by its label "entered"; no unused column is sent
    base = alt.Chart(data).encode(
        x=alt.X("period:O", title=f"{words.capitalize()} since entry"),
        y=alt.Y(
            "entered:O", title=f"Entered in ({every} starting)", sort=_in_order(data, "entered")
        ),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "retention:Q",
            title="Still active",
            scale=alt.Scale(scheme="blues", domain=[0, 1]),
            legend=alt.Legend(format="%"),
        ),
        opacity=alt.condition("datum.complete", alt.value(1.0), alt.value(0.45)),
        tooltip=[
            alt.Tooltip("entered:O", title="Entered"),
            alt.Tooltip("cohort_size:Q", title="Customers who entered", format=","),
            alt.Tooltip("period:O", title=f"{words.capitalize()} later"),
            alt.Tooltip("retained:Q", title="Active again", format=","),
            alt.Tooltip("retention:Q", title="Share", format=".1%"),
            alt.Tooltip("ci_low:Q", title="95% interval from", format=".1%"),
            alt.Tooltip("ci_high:Q", title="95% interval to", format=".1%"),
            alt.Tooltip("state:N", title="Period"),
        ],
    )
    labels = base.mark_text(fontSize=9).encode(
        text=alt.Text("retention:Q", format=".0%"),
        color=alt.condition("datum.retention > 0.6", alt.value("white"), alt.value("#222")),
    )
    n_cohorts = data.filter(pl.col("period") == 0).height
    n_periods = max(data["period"].max() + 1, 4)
    width, height = min(40 * n_periods, 700), min(18 * n_cohorts, 600)
    # "100%" in 9 px text needs about 24 x 12 px: smaller cells (a year of weeks: 13 x 11 px)
    # show colours and tooltips only, not ~2,800 overlapping labels for the browser to draw
    fits = width / n_periods >= 24 and height / max(n_cohorts, 1) >= 12
    return alt.layer(*([cells, labels] if fits else [cells])).properties(
        title=title or f"Share of customers active again, by {every} of entry",
        width=width,
        height=height,
    )


def retention_curve_chart(
    curve: pl.DataFrame, every: str = "week", by: str | None = None, title: str | None = None
) -> alt.LayerChart:
    """The mean retention curve (weighted by cohort size) with its 95% band, per breakdown value.

    ``curve`` is ``RetentionMatrix.curve``; ``by`` its breakdown column, if any.

    Examples
    --------
    >>> c = pl.DataFrame({"period": [0, 1], "cohorts": [2, 1], "customers": [5, 3],
    ...     "retained": [5, 1], "retention": [1.0, 0.33], "ci_low": [0.57, 0.06],
    ...     "ci_high": [1.0, 0.79]})
    >>> len(retention_curve_chart(c).to_dict()["layer"])
    2
    """
    needed = [
        "period",
        "customers",
        "retained",
        "retention",
        "ci_low",
        "ci_high",
        *([by] if by else []),
    ]
    data = chart_frame(curve, needed, "retention_curve_chart", _FROM)
    group = by or "_group"
    if by is None:
        data = data.with_columns(pl.lit("all customers").alias(group))
    data = data.with_columns(pl.col(group).cast(pl.String).fill_null("(missing)")).sort(
        group, "period"
    )
    words = _every_word(every)
    base = alt.Chart(data).encode(
        x=alt.X(
            "period:Q", title=f"{words.capitalize()} since entry", axis=alt.Axis(tickMinStep=1)
        ),
        color=alt.Color(f"{group}:N", title=None, legend=None if by is None else alt.Legend()),
    )
    band = base.mark_area(opacity=0.15).encode(
        y=alt.Y(
            "ci_low:Q",
            title="Still active",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        y2="ci_high:Q",
    )
    line = base.mark_line(point=True).encode(
        y="retention:Q",
        tooltip=[
            alt.Tooltip(f"{group}:N", title="Group"),
            alt.Tooltip("period:Q", title=f"{words.capitalize()} later"),
            alt.Tooltip("customers:Q", title="Customers who could be back", format=","),
            alt.Tooltip("retained:Q", title="Active again", format=","),
            alt.Tooltip("retention:Q", title="Share", format=".1%"),
            alt.Tooltip("ci_low:Q", title="95% interval from", format=".1%"),
            alt.Tooltip("ci_high:Q", title="95% interval to", format=".1%"),
        ],
    )
    return alt.layer(band, line).properties(
        title=title or f"Average retention curve (cohorts weighted by size, ended {words} only)",
        width=420,
        height=260,
    )


def lifecycle_chart(
    table: pl.DataFrame, every: str = "week", title: str | None = None
) -> alt.Chart:
    """Stacked bars per period: new, returning, back after a gap above the axis; gone quiet below.

    ``table`` is :func:`cxlab.analysis.retention.lifecycle`'s result (its ``signed`` column:
    dormant customers negative, as PostHog draws them).

    Examples
    --------
    >>> import datetime as dt
    >>> t = pl.DataFrame({"period": [dt.datetime(2024, 1, 1)] * 2, "status": ["new", "dormant"],
    ...     "customers": [3, 1], "signed": [3, -1], "complete": [True, True]})
    >>> lifecycle_chart(t).to_dict()["mark"]["type"]
    'bar'
    """
    data = chart_frame(
        table,
        ["period", "status", "customers", "signed", "complete"],
        "lifecycle_chart",
        "cxlab.analysis.retention.lifecycle",
    )
    order = list(_STATUS_LABELS)
    data = data.with_columns(
        _period_label("period", every).alias("starting"),
        pl.col("status").replace_strict(_STATUS_LABELS, default=pl.col("status")).alias("label"),
        pl.col("status")
        .replace_strict({s: i for i, s in enumerate(order)}, default=9)
        .alias("_order"),
    ).sort("period", "_order")
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "starting:O",
                title=f"{every.capitalize()} starting",
                sort=_in_order(data, "starting"),
            ),
            y=alt.Y("signed:Q", title="Customers (gone quiet below zero)", stack="zero"),
            color=alt.Color(
                "label:N",
                title=None,
                scale=alt.Scale(
                    domain=[_STATUS_LABELS[s] for s in order],
                    range=[_STATUS_COLOURS[s] for s in order],
                ),
            ),
            order=alt.Order("_order:Q"),
            opacity=alt.condition("datum.complete", alt.value(1.0), alt.value(0.5)),
            tooltip=[
                alt.Tooltip("starting:O", title=f"{every.capitalize()} starting"),
                alt.Tooltip("label:N", title="Customers"),
                alt.Tooltip("customers:Q", title="How many", format=","),
            ],
        )
        .properties(
            title=title or f"Who was active each {every}: new, returning, back, gone quiet",
            width=560,
            height=260,
        )
    )


def stickiness_chart(table: pl.DataFrame, unit: str = "day", title: str | None = None) -> alt.Chart:
    """Share of each period's active customers by how many days (or weeks) they were active.

    ``table`` is :func:`cxlab.analysis.retention.stickiness`'s result, for one period or several
    (one bar per period and count, side by side in a small grid).

    Examples
    --------
    >>> import datetime as dt
    >>> t = pl.DataFrame({"period": [dt.datetime(2024, 1, 1)] * 2, "active": [1, 2],
    ...     "customers": [3, 1], "share": [0.75, 0.25], "share_at_least": [1.0, 0.25],
    ...     "units_in_period": [7, 7], "complete": [True, True]})
    >>> stickiness_chart(t).to_dict()["mark"]["type"]
    'bar'
    """
    data = chart_frame(
        table,
        ["period", "active", "customers", "share", "share_at_least"],
        "stickiness_chart",
        "cxlab.analysis.retention.stickiness",
    )
    units = "days" if unit == "day" else "weeks"
    data = data.sort("period", "active").with_columns(
        _period_label("period", "day").alias("starting")
    )
    periods = _in_order(data, "starting")
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("active:O", title=f"{units.capitalize()} active in the period"),
            y=alt.Y("share:Q", title="Share of active customers", axis=alt.Axis(format="%")),
            color=alt.Color("starting:N", title="Period starting", sort=periods),
            xOffset=alt.XOffset("starting:N", sort=periods),
            tooltip=[
                alt.Tooltip("starting:N", title="Period starting"),
                alt.Tooltip("active:O", title=f"{units.capitalize()} active"),
                alt.Tooltip("customers:Q", title="Customers", format=","),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
                alt.Tooltip("share_at_least:Q", title="This many or more", format=".1%"),
            ],
        )
        .properties(title=title or f"How many {units} customers were active", width=460, height=240)
    )
