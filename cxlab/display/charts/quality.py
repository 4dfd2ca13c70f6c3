"""Data-quality charts: events over time per channel.

The numbers come from :mod:`cxlab.contract.validation` (``events_over_time``,
``table_profile``, re-exported here for the code that imported them from this module);
this module only draws.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import polars as pl

from cxlab.contract.validation import events_over_time, partial_periods, table_profile
from cxlab.params import renamed

__all__ = ["events_over_time", "events_over_time_chart", "partial_periods", "table_profile"]

_WORDS = {"day": ("Day", "day"), "week": ("Week starting", "week")}
_WORDS |= {"month": ("Month", "month"), "quarter": ("Quarter starting", "quarter")}


def events_over_time_chart(
    events: pl.DataFrame | pl.LazyFrame,
    every: Literal["day", "week", "month", "quarter"] = "week",
    by: str = "channel",
    title: str | None = None,
    *,
    freq: Literal["day", "week"] | None = None,
) -> alt.LayerChart:
    """Line chart of :func:`cxlab.contract.validation.events_over_time` (event counts per
    calendar bucket ``every`` and ``by`` value); ``freq`` is the deprecated old name of
    ``every`` (works for one release with a DeprecationWarning).

    Clicking a legend entry highlights that line (an altair selection bound to the legend, so
    it works in exported HTML reports too). A first or last period the data covers only in part
    (:func:`partial_periods`) is drawn dashed with a faded point, and the subtitle says so: its
    lower count is the calendar, not a missing export.

    Examples
    --------
    >>> import datetime as dt
    >>> ev = pl.DataFrame({"customer_id": ["a"], "channel": ["web"], "timestamp": [dt.datetime(2024, 1, 1)]})
    >>> [layer["mark"]["type"] for layer in events_over_time_chart(ev).to_dict()["layer"]]
    ['line', 'line', 'point']
    """
    from cxlab.display.charts._common import labelled, period_axis
    from cxlab.display.labels import display_label, in_sentence
    from cxlab.display.theme import WIDTH

    every = renamed(freq, every, "freq", "every", "events_over_time_chart")  # type: ignore[assignment]
    data = labelled(events_over_time(events, every, by), [by])
    label, word = _WORDS[every]
    span = events.lazy().select(
        pl.col("timestamp").min().alias("a"), pl.col("timestamp").max().alias("b")
    )
    ends = span.collect().row(0) if data.height else (None, None)
    cut = partial_periods(*ends, every) if ends[0] is not None else (None, None)
    data = data.with_columns(
        pl.col("period").is_in([d for d in cut if d is not None]).alias("partial")
    ).with_columns(pl.when("partial").then(0.35).otherwise(1.0).alias("fade"))
    subtitle = ["Click a legend entry to highlight its line."]
    if any(cut):
        subtitle.insert(0, f"Dashed: a {word} the data covers only in part.")
    highlight = alt.selection_point(fields=[by], bind="legend")
    shown = alt.condition(highlight, alt.value(1.0), alt.value(0.15))
    base = alt.Chart(data).encode(
        x=alt.X(
            "period:T",
            title=f"{label} (UTC)",
            axis=period_axis(data.get_column("period")),
        ),
        y=alt.Y("events:Q", title="Interactions"),
        color=alt.Color(f"{by}:N", title=display_label(by)),
    )
    # the whole line dashed, then the fully covered periods solid on top of it: only the
    # segments into a partial first or last period stay dashed
    dashed = base.mark_line(strokeDash=[4, 3]).encode(opacity=shown).add_params(highlight)
    solid = base.transform_filter(~alt.datum.partial).mark_line().encode(opacity=shown)
    points = base.mark_point(size=12, filled=True).encode(
        opacity=alt.condition(highlight, alt.Opacity("fade:Q", scale=None), alt.value(0.15)),
        tooltip=[
            alt.Tooltip("period:T", title=label, format="%d %b %Y"),
            alt.Tooltip(f"{by}:N", title=display_label(by)),
            alt.Tooltip("events:Q", format=",", title="Interactions"),
            alt.Tooltip("customers:Q", format=",", title="Customers"),
        ],
    )
    title = alt.Title(
        title or f"Interactions per {word} by {in_sentence(display_label(by))}", subtitle=subtitle
    )
    return alt.layer(dashed, solid, points, title=title).properties(width=WIDTH, height=240)
