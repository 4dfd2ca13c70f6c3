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
of :mod:`cxlab.journey`, :mod:`cxlab.funnel`, :mod:`cxlab.heatmap` and :mod:`cxlab.features`
recognise the two private columns and use them, and give exactly the same numbers as on the
unprepared frame. Filtering rows of a prepared frame keeps it prepared; adding rows or
changing ``customer_id`` does not (prepare again).

How the sort stays cheap: customers are grouped by a 64-bit hash of ``customer_id`` (one
pass, no string sort), with a stable sort on that one integer key. Exports are usually in
time order within a customer, so the stable sort already gives (customer, time, file order);
when they are not, one full sort on (hash, timestamp, source_row) follows. A hash collision
between two customers is detected (run boundaries of the hash and of the text key must agree)
and then the frame is sorted on the text key instead, so the result is always exact.
"""

from __future__ import annotations

import polars as pl

from cxlab._frames import as_lazy
from cxlab.schema import SOURCE_ROW

__all__ = ["prepare_events", "is_prepared", "CUSTOMER_CODE", "SEQUENCE"]

#: Integer code of the customer (UInt32, rows sorted by it).
CUSTOMER_CODE = "_cx_cid"
#: Position of the row in (customer, timestamp, source_row) order (UInt32).
SEQUENCE = "_cx_seq"

_HASH_SEED = 0x5EED


def _hash(customer_id: pl.Expr) -> pl.Expr:
    """The 64-bit grouping hash of the customer key (a function so tests can force collisions)."""
    return customer_id.hash(seed=_HASH_SEED)


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
        identical, computed faster. Customer codes follow hash order, not name order
        (results are still sorted by ``customer_id``).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["b", "a", "b"], "timestamp": [t, t, t - dt.timedelta(days=1)],
    ...                    "touchpoint": ["x", "y", "z"]})
    >>> p = prepare_events(ev)
    >>> p.group_by("_cx_cid", maintain_order=True).agg("touchpoint").get_column("touchpoint").to_list() in (
    ...     [["y"], ["z", "x"]], [["z", "x"], ["y"]])
    True
    """
    lf = as_lazy(events, "events", ["customer_id", "timestamp"], where="prepare_events")
    df = events if isinstance(events, pl.DataFrame) else lf.collect()
    names = df.columns
    df = df.drop([CUSTOMER_CODE, SEQUENCE], strict=False)
    if SOURCE_ROW not in names:
        df = df.with_row_index(SOURCE_ROW, offset=1)
    df = df.rechunk()
    cid, ts, row = pl.col("customer_id"), pl.col("timestamp"), pl.col(SOURCE_ROW)
    h = _hash(cid)
    # Stable sort on the hash alone: customers contiguous, their rows in frame order.
    out = df.with_columns(h.alias("__h")).sort("__h", maintain_order=True, multithreaded=True)
    new_h = pl.col("__h").ne_missing(pl.col("__h").shift(1)).fill_null(True)
    new_c = cid.ne_missing(cid.shift(1)).fill_null(True)
    ordered = (ts > ts.shift(1)) | ((ts == ts.shift(1)) & (row > row.shift(1)))
    checks = out.select((new_h == new_c).all().alias("exact"), (new_h | ordered).fill_null(True).all().alias("ordered"))
    exact, in_order = checks.row(0)
    if not exact:  # two customers share a hash: group on the text key itself (rare, slower)
        out = df.sort("customer_id", "timestamp", SOURCE_ROW, nulls_last=True).with_columns(
            cid.rle_id().alias("__h"))
    elif not in_order:
        out = out.sort("__h", "timestamp", SOURCE_ROW)
    out = out.with_columns(
        pl.col("__h").rle_id().cast(pl.UInt32).alias(CUSTOMER_CODE),
        pl.int_range(0, pl.len(), dtype=pl.UInt32).alias(SEQUENCE),
    ).drop("__h")
    return out.with_columns(pl.col(CUSTOMER_CODE).set_sorted(), pl.col(SEQUENCE).set_sorted())
