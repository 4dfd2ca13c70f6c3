"""Data-quality charts: events over time per channel.

The numbers come from :mod:`cxlab.contract.validation` (``events_over_time``,
``table_profile``, re-exported here for the code that imported them from this module);
this module only draws.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import polars as pl

from cxlab.contract.validation import events_over_time, table_profile
from cxlab.params import renamed

__all__ = ["events_over_time", "events_over_time_chart", "table_profile"]

_WORDS = {"day": ("Day", "day"), "week": ("Week starting", "week")}
_WORDS |= {"month": ("Month", "month"), "quarter": ("Quarter starting", "quarter")}


def events_over_time_chart(
    events: pl.DataFrame | pl.LazyFrame,
    every: Literal["day", "week", "month", "quarter"] = "week",
    by: str = "channel",
    title: str | None = None,
    *,
    freq: Literal["day", "week"] | None = None,
) -> alt.Chart:
    """Line chart of :func:`cxlab.contract.validation.events_over_time` (event counts per
    calendar bucket ``every`` and ``by`` value); ``freq`` is the deprecated old name of
    ``every`` (works for one release with a DeprecationWarning).

    Clicking a legend entry highlights that line (an altair selection bound to the legend, so
    it works in exported HTML reports too).

    Examples
    --------
    >>> import datetime as dt
    >>> ev = pl.DataFrame({"customer_id": ["a"], "channel": ["web"], "timestamp": [dt.datetime(2024, 1, 1)]})
    >>> events_over_time_chart(ev).mark.type
    'line'
    """
    from cxlab.display.charts._common import labelled
    from cxlab.display.labels import display_label
    from cxlab.display.theme import WIDTH

    every = renamed(freq, every, "freq", "every", "events_over_time_chart")  # type: ignore[assignment]
    data = labelled(events_over_time(events, every, by), [by])
    label, word = _WORDS[every]
    highlight = alt.selection_point(fields=[by], bind="legend")
    return (
        alt.Chart(
            data,
            title=alt.Title(
                title or f"Interactions per {word} by {display_label(by).lower()}",
                subtitle="Click a legend entry to highlight its line.",
            ),
        )
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .add_params(highlight)
        .encode(
            opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.15)),
            x=alt.X("period:T", title=f"{label} (UTC)", axis=alt.Axis(format="%b %Y")),
            y=alt.Y("events:Q", title="Interactions"),
            color=alt.Color(f"{by}:N", title=display_label(by)),
            tooltip=[
                alt.Tooltip("period:T", title=label, format="%d %b %Y"),
                alt.Tooltip(f"{by}:N", title=display_label(by)),
                alt.Tooltip("events:Q", format=",", title="Interactions"),
                alt.Tooltip("customers:Q", format=",", title="Customers"),
            ],
        )
        .properties(width=WIDTH, height=240)
    )
