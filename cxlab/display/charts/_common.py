"""What every chart function does first: make sure it was given a small aggregate.

Charts are for aggregates: a frame with a ``customer_id`` column, or more than ``MAX_ROWS``
rows, is refused with a message saying which cxlab function aggregates it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cxlab.display import theme
from cxlab.display.labels import display_label, label_values
from cxlab.errors import DataError, ParameterError, did_you_mean

__all__ = ["MAX_ROWS", "chart_frame", "labelled", "labelled_order"]

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
