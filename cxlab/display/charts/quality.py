"""Data-quality views: events over time per channel, and a profile of a table's columns.

``events_over_time`` (data) feeds ``events_over_time_chart`` (display); ``table_profile``
returns a small frame for notebooks. Identifier columns are never shown by value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import altair as alt
import polars as pl

from cxlab.contract.frames import as_lazy
from cxlab.errors import ParameterError

__all__ = ["events_over_time", "events_over_time_chart", "table_profile"]

_FREQS = {"day": "1d", "week": "1w"}
_HIDDEN = ("customer_id", "session_id")
#: Column names that look like personal data: their values are never shown either.
_PERSONAL = re.compile(r"(?i)e[-_ ]?mail|phone|mobile|address|post_?code|zip")


def events_over_time(
    events: pl.DataFrame | pl.LazyFrame,
    freq: Literal["day", "week"] = "week",
    by: str = "channel",
) -> pl.DataFrame:
    """Count events per period (UTC day, or ISO week starting Monday) and ``by`` value.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events.
    freq : {"day", "week"}
        Period length.
    by : str
        Column to split the counts by (default ``channel``).

    Returns
    -------
    pl.DataFrame
        ``period`` (Date, start of the period), ``by`` column, ``events``, ``customers``
        (distinct), sorted by period then ``by``.

    Examples
    --------
    >>> import datetime as dt
    >>> ev = pl.DataFrame({"customer_id": ["a", "b", "a"], "channel": ["web", "web", "app"],
    ...     "timestamp": [dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 9)]})
    >>> events_over_time(ev, "week").rows()
    [(datetime.date(2024, 1, 1), 'web', 2, 2), (datetime.date(2024, 1, 8), 'app', 1, 1)]
    """
    if freq not in _FREQS:
        raise ParameterError(
            f"The 'freq' parameter of events_over_time must be 'day' or 'week'. Got {freq!r} instead."
        )
    lf = as_lazy(events, "events", where="events_over_time")
    names = lf.collect_schema().names()
    if by not in names:
        raise ParameterError(
            f"The 'by' parameter of events_over_time must be a column of events ({', '.join(names)}). Got {by!r} instead."
        )
    return (
        lf.group_by(
            pl.col("timestamp").dt.truncate(_FREQS[freq]).dt.date().alias("period"), pl.col(by)
        )
        .agg(
            pl.len().cast(pl.Int64).alias("events"),
            pl.col("customer_id").n_unique().cast(pl.Int64).alias("customers"),
        )
        .sort("period", by, nulls_last=True)
        .collect()
    )


def events_over_time_chart(
    events: pl.DataFrame | pl.LazyFrame,
    freq: Literal["day", "week"] = "week",
    by: str = "channel",
    title: str | None = None,
) -> alt.Chart:
    """Line chart of event counts per period and ``by`` value (aggregated in polars first).

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

    data = labelled(events_over_time(events, freq, by), [by])
    label = "Week starting" if freq == "week" else "Day"
    highlight = alt.selection_point(fields=[by], bind="legend")
    return (
        alt.Chart(
            data,
            title=alt.Title(
                title or f"Interactions per {freq} by {display_label(by).lower()}",
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


def table_profile(
    frame: pl.DataFrame | pl.LazyFrame,
    hide: Sequence[str] = _HIDDEN,
    n_examples: int = 3,
) -> pl.DataFrame:
    """One row per column: dtype, null share, distinct count and a few example values.

    Examples are the smallest distinct non-null values (deterministic); columns in ``hide``
    (identifiers by default) and columns whose name looks like personal data (email, phone,
    address, postcode) show ``"(hidden)"`` instead, so profiles can be shared.

    Examples
    --------
    >>> df = pl.DataFrame({"customer_id": ["a", "b", None], "channel": ["web", "app", "web"]})
    >>> table_profile(df).rows()
    [('customer_id', 'String', 0.3333333333333333, 2, '(hidden)'), ('channel', 'String', 0.0, 2, 'app, web')]
    """
    lf = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    schema = lf.collect_schema()
    cols = schema.names()
    hide = {c for c in cols if c in set(hide) or _PERSONAL.search(c)}
    if not cols:
        return pl.DataFrame(
            schema={
                "column": pl.String,
                "dtype": pl.String,
                "null_share": pl.Float64,
                "distinct": pl.Int64,
                "examples": pl.String,
            }
        )
    stats = (
        lf.select(
            [pl.len().alias("__n")]
            + [pl.col(c).null_count().alias(f"{i}__nulls") for i, c in enumerate(cols)]
            + [
                pl.col(c).drop_nulls().n_unique().alias(f"{i}__distinct")
                for i, c in enumerate(cols)
            ]
            + [
                pl.col(c)
                .drop_nulls()
                .unique()
                .sort()
                .head(n_examples)
                .cast(pl.String)
                .str.slice(0, 30)
                .str.join(", ")
                .alias(f"{i}__ex")
                for i, c in enumerate(cols)
                if c not in hide
            ]
        )
        .collect()
        .row(0, named=True)
    )
    n = stats["__n"]
    return pl.DataFrame(
        {
            "column": cols,
            "dtype": [str(schema[c]) for c in cols],
            "null_share": [stats[f"{i}__nulls"] / n if n else 0.0 for i in range(len(cols))],
            "distinct": [stats[f"{i}__distinct"] for i in range(len(cols))],
            "examples": [
                "(hidden)" if c in hide else stats[f"{i}__ex"] for i, c in enumerate(cols)
            ],
        },
        schema={
            "column": pl.String,
            "dtype": pl.String,
            "null_share": pl.Float64,
            "distinct": pl.Int64,
            "examples": pl.String,
        },
    )
