"""Prepared events: one sort by customer and time, integer customer codes, reused by every analysis.

On tens of millions of events the costly part of most analyses is not the arithmetic but the
text customer key: hashing it in every group-by, sorting on it for per-customer order, and
window expressions (``.over("customer_id")``) over millions of string groups.
:func:`prepare_events` pays for that once:

* every customer gets an integer code ``_cx_cid`` (UInt32, 0..k-1);
* rows are sorted once by (customer, ``timestamp``, ``source_row``), so the events of one
  customer are contiguous and in journey order, and the frame carries polars' sorted flag on
  ``_cx_cid`` (group-bys on it take polars' sorted fast path);
* ``_cx_seq`` (UInt32) numbers the rows in that order: within one customer it increases with
  (``timestamp``, ``source_row``), whatever the frame's row order later.

The result is still a canonical events frame (every column kept, same dtypes); the analyses
of :mod:`cxlab.journey`, :mod:`cxlab.funnel`, :mod:`cxlab.heatmap`, :mod:`cxlab.paths` and
:mod:`cxlab.features` recognise the two private columns and use them, and give exactly the
same numbers as on the unprepared frame. Filtering rows of a prepared frame keeps it
prepared; adding rows or changing ``customer_id`` does not (prepare again).

How it stays cheap (no sort of the whole frame on a text key): one hash group-by on
``customer_id`` collects each customer's row numbers in frame order; only the distinct
customer keys are sorted (100k strings, not 10M); the row numbers, exploded in that order,
are the permutation every column is gathered with, and the customer codes are the group
numbers repeated. Customers therefore come in ``customer_id`` order and ``_cx_cid`` follows
name order, so per-customer results grouped on the code are already sorted by name. Exports
are usually in time order within a customer, so the frame order already gives (customer,
time, file order); when it does not, one sort on the integer keys (``_cx_cid``,
``timestamp``, ``source_row``) follows.
"""

from __future__ import annotations

import polars as pl

from cxlab._frames import as_lazy
from cxlab.schema import SOURCE_ROW

__all__ = ["prepare_events", "is_prepared", "text_codes", "CUSTOMER_CODE", "SEQUENCE"]

#: Integer code of the customer (UInt32, rows sorted by it).
CUSTOMER_CODE = "_cx_cid"
#: Position of the row in (customer, timestamp, source_row) order (UInt32).
SEQUENCE = "_cx_seq"


def text_codes(lf: pl.LazyFrame, column: str) -> tuple[pl.Expr, dict[int, str | None], int]:
    """Integer codes for a text column with few distinct values (touchpoints, channels).

    Returns the code expression (UInt64: 0..T-1 in sorted value order, T for null), the
    decoding ``{code: value}`` and T + 1 (the number of codes, for packing keys). Grouping on
    codes, or on several codes packed into one integer, is far cheaper than on text.

    Examples
    --------
    >>> lf = pl.LazyFrame({"touchpoint": ["visit", "ad", None, "visit"]})
    >>> code, decode, n = text_codes(lf, "touchpoint")
    >>> lf.select(code).collect().to_series().to_list(), decode, n
    ([1, 0, 2, 1], {0: 'ad', 1: 'visit', 2: None}, 3)
    """
    values = lf.select(pl.col(column).cast(pl.String).unique()).collect().to_series().drop_nulls().sort()
    n = len(values)
    code = pl.col(column).cast(pl.String).cast(pl.Enum(values.to_list())).to_physical().cast(pl.UInt64).fill_null(n)
    return code, {**dict(enumerate(values.to_list())), n: None}, n + 1


def is_prepared(frame: pl.DataFrame | pl.LazyFrame) -> bool:
    """Whether ``frame`` comes from :func:`prepare_events` (has the private code columns).

    Examples
    --------
    >>> is_prepared(pl.DataFrame({"customer_id": ["a"]}))
    False
    """
    names = frame.collect_schema().names()
    return CUSTOMER_CODE in names and SEQUENCE in names


def prepare_events(events: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Sort events once by (customer, timestamp, source_row) and add integer customer codes.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events (``customer_id``, ``timestamp``; ``source_row`` is the tie-break for
        equal timestamps, the row order when it is absent — then ``source_row`` is added as
        the 1-based row position).

    Returns
    -------
    DataFrame
        The same rows and columns, sorted by customer then time, plus ``_cx_cid`` (UInt32
        customer code) and ``_cx_seq`` (UInt32 row position in that order). Pass it to
        :func:`~cxlab.journey.assign_stages`, :func:`~cxlab.journey.customer_journeys`,
        :func:`~cxlab.funnel.funnel`, :func:`~cxlab.heatmap.touchpoint_heatmap`,
        :func:`~cxlab.features.customer_features` … in place of the events; results are
        identical, computed faster. Customer codes follow ``customer_id`` order.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["b", "a", "b"], "timestamp": [t, t, t - dt.timedelta(days=1)],
    ...                    "touchpoint": ["x", "y", "z"]})
    >>> p = prepare_events(ev)
    >>> p.select("customer_id", "touchpoint", "_cx_cid", "_cx_seq").rows()
    [('a', 'y', 0, 0), ('b', 'z', 1, 1), ('b', 'x', 1, 2)]
    """
    lf = as_lazy(events, "events", ["customer_id", "timestamp"], where="prepare_events")
    df = events if isinstance(events, pl.DataFrame) else lf.collect()
    df = df.drop([CUSTOMER_CODE, SEQUENCE], strict=False)
    if SOURCE_ROW not in df.columns:
        df = df.with_row_index(SOURCE_ROW, offset=1)
    df = df.rechunk()  # gathers from one chunk are several times faster than from many
    # Each customer's row numbers in frame order; customers sorted by key (nulls last).
    groups = (
        df.select("customer_id", pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row"))
        .group_by("customer_id")
        .agg("__row")
        .sort("customer_id", nulls_last=True)
    )
    order = groups.get_column("__row").explode()
    codes = pl.int_range(groups.height, dtype=pl.UInt32, eager=True).repeat_by(
        groups.get_column("__row").list.len()).explode()
    out = df.drop("customer_id")[order].with_columns(
        groups.get_column("customer_id").gather(codes).alias("customer_id"),
        codes.alias(CUSTOMER_CODE),
    ).select(*df.columns, CUSTOMER_CODE)
    cid, ts, row = pl.col(CUSTOMER_CODE), pl.col("timestamp"), pl.col(SOURCE_ROW)
    ordered = (cid != cid.shift(1)) | (ts > ts.shift(1)) | ((ts == ts.shift(1)) & (row > row.shift(1)))
    if not out.select(ordered.fill_null(True).all()).item():
        out = out.sort(CUSTOMER_CODE, "timestamp", SOURCE_ROW, nulls_last=True)
    out = out.with_columns(pl.int_range(0, pl.len(), dtype=pl.UInt32).alias(SEQUENCE))
    return out.with_columns(pl.col(CUSTOMER_CODE).set_sorted(), pl.col(SEQUENCE).set_sorted())
