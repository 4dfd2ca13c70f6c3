"""What every chart function does first: make sure it was given a small aggregate.

Charts are for aggregates: a frame with a ``customer_id`` column, or more than ``MAX_ROWS``
rows, is refused with a message saying which cxlab function aggregates it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import polars as pl

from cxlab.display import theme
from cxlab.display.labels import display_label, label_values
from cxlab.errors import DataError, ParameterError, did_you_mean

__all__ = ["MAX_ROWS", "chart_frame", "labelled", "labelled_order", "period_axis"]

theme.enable()  # every cxlab chart carries the one theme (fonts, colours, sizes)

#: Largest frame a chart accepts (charts are for aggregates).
MAX_ROWS = 5000


def chart_frame(
    frame: object, needed: Sequence[str], where: str, aggregate_with: str
) -> pl.DataFrame:
    """Check ``frame`` is a small aggregated DataFrame with ``needed`` columns; return it chart-ready.

    Chart-ready: Enum/Categorical columns cast to String, nested (List/Struct/Object) columns
    dropped (vega-lite has no use for them).

    Parameters
    ----------
    frame : DataFrame
        The aggregate to draw.
    needed : sequence of str
        Columns the chart encodes.
    where : str
        The chart function's name, for messages.
    aggregate_with : str
        The cxlab function(s) that produce a suitable aggregate, named in the message.

    Examples
    --------
    >>> chart_frame(pl.DataFrame({"customer_id": ["a"]}), [], "heatmap_chart", "cxlab.analysis.heatmap.touchpoint_heatmap")
    Traceback (most recent call last):
    ...
    cxlab.errors.ParameterError: heatmap_chart draws aggregated tables only (got 1 rows with a customer_id column). Aggregate first, e.g. with cxlab.analysis.heatmap.touchpoint_heatmap.
    """
    if isinstance(frame, pl.LazyFrame):
        raise ParameterError(f"{where} takes an aggregated DataFrame; collect the LazyFrame first.")
    if not isinstance(frame, pl.DataFrame):
        raise ParameterError(f"{where} takes a polars DataFrame, got {type(frame).__name__}.")
    if "customer_id" in frame.columns or frame.height > MAX_ROWS:
        raise ParameterError(
            f"{where} draws aggregated tables only (got {frame.height:,} rows"
            f"{' with a customer_id column' if 'customer_id' in frame.columns else ''}). "
            f"Aggregate first, e.g. with {aggregate_with}."
        )
    for column in needed:
        if column not in frame.columns:
            raise DataError(
                f"{where}: the table has no column '{column}'.{did_you_mean(column, frame.columns)} "
                f"Columns: {', '.join(frame.columns)}."
            )
    nested = [c for c, t in frame.schema.items() if isinstance(t, pl.List | pl.Struct | pl.Object)]
    return frame.drop(nested).with_columns(
        pl.col(c).cast(pl.String)
        for c, t in frame.schema.items()
        if isinstance(t, pl.Enum | pl.Categorical) and c not in nested
    )


def labelled(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``frame`` with the code values of ``columns`` shown as display labels (charts only).

    Examples
    --------
    >>> labelled(pl.DataFrame({"touchpoint": ["checkout_error"]}), ["touchpoint"]).item()
    'Checkout error'
    """
    return label_values(frame, columns)


def labelled_order(order: Sequence[object]) -> list[str]:
    """A sort order of codes, as the display labels :func:`labelled` gives them.

    Examples
    --------
    >>> labelled_order(["awareness", "site_visit"])
    ['Awareness', 'Site visit']
    """
    return [display_label(v) for v in order]


def period_axis(periods: pl.Series, **kwargs: Any) -> alt.Axis:
    """A time axis whose every label carries its year ("Oct 2024", "07 Oct 2024").

    vega-lite's default labels drop the year ("October, December, February"), which misleads
    across a year boundary. Over more than 90 days the ticks are months labelled "Oct 2024"
    (one tick every ``step`` months: at most about 8 labels, which fit a chart of
    :data:`~cxlab.display.theme.WIDTH` pixels); over a shorter span the ticks are days or weeks
    labelled with the full date.

    Parameters
    ----------
    periods : Series
        The Date or Datetime values the axis shows.
    **kwargs
        Other :class:`altair.Axis` settings (``labelAngle``, ``title``…).

    Examples
    --------
    Thirteen monthly periods (Oct 2024 to Oct 2025: 365 days, 12 months) get a label every
    ceil(12 / 8) = 2 months:

    >>> import datetime as dt
    >>> months = pl.date_range(dt.date(2024, 10, 1), dt.date(2025, 10, 1), "1mo", eager=True)
    >>> axis = period_axis(months).to_dict()
    >>> axis["format"], axis["tickCount"]
    ('%b %Y', {'interval': 'month', 'step': 2})
    >>> period_axis(months.head(2)).to_dict()["format"]  # 30 days: full dates
    '%d %b %Y'
    """
    dates = periods.drop_nulls()
    span = (dates.max() - dates.min()).days if dates.len() else 0  # type: ignore[operator]
    if span > 90:
        step = -(-(span // 30) // 8)  # ceil(months / 8): at most about 8 labels
        return alt.Axis(format="%b %Y", tickCount={"interval": "month", "step": step}, **kwargs)
    return alt.Axis(format="%d %b %Y", **kwargs)
