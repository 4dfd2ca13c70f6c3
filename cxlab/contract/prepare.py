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
  (``timestamp``, ``source_row``), whatever the frame's row order later;
* ``touchpoint`` and ``channel`` (:data:`~cxlab.contract.schema.CODED_COLUMNS`) become enums whose
  categories are the column's values in sorted order (:func:`code_text_columns`): codes group,
  compare and gather far faster than text, and they still compare with any text and sort as
  text. Analyses that use them keep them (``as_lazy(..., codes=True)``); the others read them
  back as text; results always carry text.

The result is still a canonical events frame (every column kept; the same dtypes but for the
two enums); the analyses of :mod:`cxlab.analysis.journey`, :mod:`cxlab.analysis.funnel`, :mod:`cxlab.analysis.heatmap`,
:mod:`cxlab.analysis.paths` and :mod:`cxlab.analysis.features` recognise the two private columns and use them,
and give exactly the same numbers as on the unprepared frame. Filtering rows of a prepared
frame keeps it prepared; adding rows or changing ``customer_id`` does not (prepare again).

How it stays cheap (no sort of the whole frame on a text key): one hash group-by on
``customer_id`` collects each customer's row numbers in frame order; only the distinct
customer keys are sorted (100k strings, not 10M); the row numbers, exploded in that order,
are the permutation every column is gathered with, and the customer codes are the group
numbers repeated. Customers therefore come in ``customer_id`` order and ``_cx_cid`` follows
name order, so per-customer results grouped on the code are already sorted by name. Exports
are usually in time order within a customer, so the frame order already gives (customer,
time, file order); when it does not, only the customers with a row out of order are sorted,
on the integer keys (``_cx_cid``, ``timestamp``, ``source_row``).

There is one way to prepare events: this function (through :func:`cxlab.events.as_events`).
The loader (:func:`cxlab.io.loaders.load_events`) always returns the events in file order,
but it computes their customer order anyway (to find repeated events among rows of equal
customer and time) and records it with the frame (:func:`plan`); preparing that frame then
reuses it, so ``load_client(folder, prepare=True)`` — prepared at once rather than on first
use — pays for one hash group-by and one gather of the events.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping

import polars as pl

from cxlab.contract._arrow import column_identity
from cxlab.contract.frames import as_lazy
from cxlab.contract.schema import CODED_COLUMNS, CUSTOMER_CODE, SEQUENCE, SOURCE_ROW

__all__ = [
    "prepare_events",
    "is_prepared",
    "text_codes",
    "present_codes",
    "customer_order",
    "gather_prepared",
    "code_text_columns",
    "vouch",
    "vouched",
    "vouch_state",
    "plan",
    "customer_keys",
    "CUSTOMER_CODE",
    "SEQUENCE",
    "CODED_COLUMNS",
]

# DataFrames cxlab itself made prepared (id -> weak reference, fingerprint at that time, the
# key columns it was taken from and the distinct customers if known), so cxlab.events.as_events need not check their codes
# again. Weak: nothing is kept alive.
_VOUCHED: dict[int, tuple[weakref.ref, tuple, tuple]] = {}


def vouch(frame: pl.DataFrame, keys: pl.Series | None = None) -> pl.DataFrame:
    """Record that cxlab made ``frame`` prepared with codes matching its rows; return it.

    :func:`cxlab.events.as_events` then trusts it without checking. polars DataFrames are
    immutable but for in-place methods (``replace_column``, ``df[row, col] = value``): a
    changed schema or height, or a key column (``customer_id``, ``timestamp``,
    ``source_row``, the codes) replaced in place, makes :func:`vouch_state` "changed".
    Only cxlab's own functions vouch for frames. ``keys``: its distinct ``customer_id``
    values, when known (:func:`customer_keys` then returns them without a pass).

    Examples
    --------
    >>> df = vouch(pl.DataFrame({"customer_id": ["a"], "_cx_cid": [0], "_cx_seq": [0]}))
    >>> vouched(df), vouched(df.clone()), vouched(df.head(0))
    (True, False, False)
    >>> df[0, "customer_id"] = "b"  # in place: the codes no longer describe customer_id
    >>> vouched(df), vouch_state(df)
    (False, 'changed')
    """
    key = id(frame)
    _VOUCHED[key] = (
        weakref.ref(frame, lambda _, key=key: _VOUCHED.pop(key, None)),
        *_fingerprint(frame),
        keys,
    )
    return frame


def vouched(frame: pl.DataFrame | pl.LazyFrame) -> bool:
    """Whether ``frame`` is a DataFrame :func:`vouch` recorded, unchanged since."""
    return _record_state(_VOUCHED, frame) == "same"


def vouch_state(frame: pl.DataFrame | pl.LazyFrame) -> str | None:
    """``"same"``: :func:`vouch` recorded ``frame`` and it is unchanged; ``"changed"``: it was
    recorded and changed in place since (its codes may describe another ``customer_id`` or
    other rows: prepare it again); None: not recorded (a new frame: check its codes)."""
    return _record_state(_VOUCHED, frame)


# DataFrames whose customer order the loader computed (id -> weak reference, fingerprint and
# key columns at that time, (order, codes, keys, values)): prepare_events reuses it. Weak:
# nothing kept alive.
_PLANNED: dict[int, tuple[weakref.ref, tuple, tuple, tuple]] = {}


def plan(
    frame: pl.DataFrame,
    order: pl.Series,
    codes: pl.Series,
    keys: pl.Series,
    values: Mapping[str, pl.Series] | None = None,
) -> pl.DataFrame:
    """Record ``frame``'s customer order, as :func:`customer_order` gives it; return ``frame``.

    :func:`prepare_events` of ``frame`` (unchanged since: same object, height and schema)
    then gathers in that order instead of computing it again; ``values`` is passed on to
    :func:`gather_prepared`. Only cxlab's loader plans frames. As for :func:`vouch`, a frame
    changed in place since (a key column replaced) has its record ignored: it is prepared
    from its current columns.

    Examples
    --------
    >>> df = pl.DataFrame({"customer_id": ["b", "a"], "timestamp": [1, 1], "source_row": [1, 2]})
    >>> order, codes, keys = customer_order(df["customer_id"], df["timestamp"])
    >>> df = plan(df, order, codes, keys)
    >>> customer_keys(df).to_list(), prepare_events(df)["customer_id"].to_list()
    (['a', 'b'], ['a', 'b'])
    """
    key = id(frame)
    _PLANNED[key] = (
        weakref.ref(frame, lambda _, key=key: _PLANNED.pop(key, None)),
        *_fingerprint(frame),
        (order, codes, keys, values),
    )
    return frame


def _planned(frame: pl.DataFrame | pl.LazyFrame) -> tuple | None:
    """The recorded (order, codes, keys, values) of an unchanged planned ``frame``, else None."""
    if _record_state(_PLANNED, frame) != "same":
        return None
    return _PLANNED[id(frame)][3]


def customer_keys(frame: pl.DataFrame) -> pl.Series:
    """The distinct ``customer_id`` values of ``frame`` (any order; nulls included).

    Free for a frame the loader planned (:func:`plan`) or prepared (:func:`gather_prepared`):
    its keys are known.

    Examples
    --------
    >>> customer_keys(pl.DataFrame({"customer_id": ["b", "a", "b"]})).sort().to_list()
    ['a', 'b']
    """
    planned = _planned(frame)
    if planned is not None:
        return planned[2]
    if _record_state(_VOUCHED, frame) == "same" and _VOUCHED[id(frame)][3] is not None:
        return _VOUCHED[id(frame)][3]
    return frame.get_column("customer_id").unique()


#: The columns whose in-place replacement makes a recorded order or set of codes stale.
_KEY_COLUMNS = ("customer_id", "timestamp", SOURCE_ROW, CUSTOMER_CODE, SEQUENCE)


def _fingerprint(frame: pl.DataFrame) -> tuple[tuple, tuple[pl.Series, ...]]:
    """(height, schema, memory of each key column), and the key columns themselves.

    The memory (:func:`~cxlab.contract._arrow.column_identity`, O(chunks)) changes when a
    key column is replaced in place. The record keeps the key columns alive, so their memory
    cannot be reused by a replacement (which would then look unchanged).
    """
    keys = tuple(frame.get_column(c) for c in _KEY_COLUMNS if c in frame.schema)
    return (frame.height, tuple(frame.schema.items()), _identities(keys)), keys


def _identities(columns: tuple[pl.Series, ...]) -> tuple:
    # an unknown identity (None) never equals another: the frame counts as changed
    return tuple(column_identity(s) or object() for s in columns)


def _record_state(records: dict, frame: pl.DataFrame | pl.LazyFrame) -> str | None:
    """ "same", "changed" (in place since it was recorded: the record is dropped) or None."""
    entry = records.get(id(frame)) if isinstance(frame, pl.DataFrame) else None
    if entry is None or entry[0]() is not frame:
        return None
    height, schema, identities = entry[1]
    if (
        frame.height == height
        and tuple(frame.schema.items()) == schema
        and _identities(tuple(frame.get_column(c) for c in _KEY_COLUMNS if c in frame.schema))
        == identities
    ):
        return "same"
    return "changed"


def text_codes(lf: pl.LazyFrame, column: str) -> tuple[pl.Expr, dict[int, str | None], int]:
    """Integer codes for a text column with few distinct values (touchpoints, channels).

    Returns the code expression (UInt64: 0..T-1 in sorted value order, T for null), the
    decoding ``{code: value}`` of the values present (and T: None) and T + 1 (the number of
    codes, for packing keys). Grouping on codes, or on several codes packed into one
    integer, is far cheaper than on text. On a column of a prepared frame (an enum of sorted
    values, :func:`code_text_columns`) the codes are the enum's own: no pass over the text.

    Examples
    --------
    >>> lf = pl.LazyFrame({"touchpoint": ["visit", "ad", None, "visit"]})
    >>> code, decode, n = text_codes(lf, "touchpoint")
    >>> lf.select(code).collect().to_series().to_list(), decode, n
    ([1, 0, 2, 1], {0: 'ad', 1: 'visit', 2: None}, 3)
    """
    dtype = lf.collect_schema()[column]
    if _is_value_enum(dtype):
        categories, n = dtype.categories, dtype.categories.len()
        physical = pl.col(column).to_physical()
        present = present_codes(lf, column)
        decode = dict(zip(present.to_list(), categories.gather(present).to_list(), strict=True))
        return physical.cast(pl.UInt64).fill_null(n), {**decode, n: None}, n + 1
    values = (
        lf.select(pl.col(column).cast(pl.String).unique()).collect().to_series().drop_nulls().sort()
    )
    n = len(values)
    code = (
        pl.col(column)
        .cast(pl.String)
        .cast(pl.Enum(values.to_list()))
        .to_physical()
        .cast(pl.UInt64)
        .fill_null(n)
    )
    return code, {**dict(enumerate(values.to_list())), n: None}, n + 1


def present_codes(lf: pl.LazyFrame, column: str) -> pl.Series:
    """The codes (physical values) that occur in the enum ``column`` of ``lf``: sorted, UInt32,
    nulls left out. ``categories.gather(codes)`` gives the values present.

    Up to 256 categories (one-byte codes), polars' unique of the codes. More (two-byte codes,
    such as 2,000 page names): each row's code marks its category in a table of the
    categories (a scatter, one sequential pass), which on 9.2M events of 2,022 touchpoints
    takes 0.04 s of CPU against 0.10 s for the unique (a hash table over every row).

    Examples
    --------
    >>> lf = pl.LazyFrame({"t": ["b", None, "b"]}, schema={"t": pl.Enum(["a", "b", "c"])})
    >>> present_codes(lf, "t").to_list()
    [1]
    """
    n = lf.collect_schema()[column].categories.len()
    physical = pl.col(column).to_physical()
    if n <= 256:
        found = lf.select(physical.unique()).collect(engine="in-memory").to_series()
        return found.drop_nulls().sort().cast(pl.UInt32)
    codes = lf.select(physical).collect(engine="in-memory").to_series().drop_nulls()
    return pl.repeat(False, n, eager=True, dtype=pl.Boolean).scatter(codes, True).arg_true()


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
        customer code) and ``_cx_seq`` (UInt32 row position in that order); ``touchpoint``
        and ``channel`` become enums of their sorted values. Pass it to
        :func:`~cxlab.analysis.journey.assign_stages`, :func:`~cxlab.analysis.journey.customer_journeys`,
        :func:`~cxlab.analysis.funnel.funnel`, :func:`~cxlab.analysis.heatmap.touchpoint_heatmap`,
        :func:`~cxlab.analysis.features.customer_features` … in place of the events; results are
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
    lf = as_lazy(events, "events", ["customer_id", "timestamp"], where="prepare_events", codes=True)
    df = events if isinstance(events, pl.DataFrame) else lf.collect()
    planned = _planned(events)
    if planned is not None:
        return gather_prepared(df, *planned)
    df = df.drop([CUSTOMER_CODE, SEQUENCE], strict=False)
    if SOURCE_ROW not in df.columns:
        df = df.with_row_index(SOURCE_ROW, offset=1)
    order, codes, keys = customer_order(
        df.get_column("customer_id"), df.get_column("timestamp"), df.get_column(SOURCE_ROW)
    )
    return gather_prepared(df, order, codes, keys)


def customer_order(
    customer_id: pl.Series,
    timestamp: pl.Series,
    source_row: pl.Series | None = None,
    keep: pl.Series | None = None,
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """The row permutation of :func:`prepare_events`, computed without moving any other column.

    Parameters
    ----------
    customer_id, timestamp : Series
        The key columns of the frame (same length, any chunking).
    source_row : Series, optional
        The tie-break for equal timestamps. None: the frame order (rows within one customer
        are then already in tie-break order).
    keep : Series of bool, optional
        Rows to leave out are False (the loader's set-aside rows): they get no position.

    Returns
    -------
    order : Series (UInt32)
        Frame row numbers in (customer_id, timestamp, source_row) order, kept rows only.
    codes : Series (UInt32)
        The customer code of each position of ``order`` (0..k-1, non-decreasing).
    keys : Series (String)
        The k distinct customer ids, sorted (nulls last): ``keys[codes]`` is the customer.

    Examples
    --------
    >>> order, codes, keys = customer_order(pl.Series(["b", "a", "b"]), pl.Series([2, 5, 1]))
    >>> order.to_list(), codes.to_list(), keys.to_list()
    ([1, 2, 0], [0, 1, 1], ['a', 'b'])
    """
    rows = pl.int_range(customer_id.len(), dtype=pl.UInt32, eager=True).alias("__row")
    pairs = pl.DataFrame([customer_id.alias("customer_id"), rows])
    if keep is not None:
        pairs = pairs.filter(keep)
    # One hash group-by on the text key; only the distinct keys are sorted, never the rows.
    groups = pairs.group_by("customer_id").agg("__row").sort("customer_id", nulls_last=True)
    order = groups.get_column("__row").explode()
    lengths = groups.get_column("__row").list.len()
    codes = pl.int_range(groups.height, dtype=pl.UInt32, eager=True).repeat_by(lengths).explode()
    keys = groups.get_column("customer_id")
    # Within a customer the rows are in frame order; usually also in time order (exports
    # are). Check on the two key columns alone, and sort the integer keys only when needed.
    ts = timestamp.rechunk().gather(order)
    ties = None if source_row is None else source_row.rechunk().gather(order)
    cid, t = pl.col("c"), pl.col("t")
    later = (
        (t >= t.shift(1))
        if ties is None
        else ((t > t.shift(1)) | ((t == t.shift(1)) & (pl.col("r") > pl.col("r").shift(1))))
    )
    if ties is None:
        ties = order
    keys_frame = pl.DataFrame({"c": codes, "t": ts, "r": ties})
    in_order = keys_frame.select(((cid != cid.shift(1)) | later).fill_null(True)).to_series()
    if not in_order.all():
        # Sort only the customers with a row out of order (their rows are contiguous).
        unsorted = codes.is_in(codes.filter(~in_order).unique().implode())
        part = keys_frame.filter(unsorted)
        perm = part.select(pl.arg_sort_by("c", "t", "r", nulls_last=True)).to_series()
        order = order.scatter(unsorted.arg_true(), order.filter(unsorted).gather(perm))
    return order.alias("__row"), codes.alias(CUSTOMER_CODE), keys.alias("customer_id")


def gather_prepared(
    frame: pl.DataFrame,
    order: pl.Series,
    codes: pl.Series,
    keys: pl.Series,
    values: Mapping[str, pl.Series] | None = None,
) -> pl.DataFrame:
    """The prepared frame: ``frame``'s rows gathered in ``order`` plus the code columns.

    ``order``, ``codes`` and ``keys`` come from :func:`customer_order`. ``customer_id`` is
    rebuilt from the distinct keys rather than gathered; the :data:`CODED_COLUMNS` become
    enums of their values (see :func:`code_text_columns`; ``values``: every value each may
    take, when known) before the gather, so one byte per row moves instead of a 16-byte
    string view. ``frame`` may have many chunks: it is put in one chunk first (gathers from
    many chunks are several times slower).
    """
    coded = code_text_columns(frame.lazy().drop("customer_id"), values)
    out = (
        coded.collect()
        .rechunk()[order]
        .with_columns(
            keys.gather(codes).alias("customer_id"),
            codes.alias(CUSTOMER_CODE),
            pl.int_range(0, order.len(), dtype=pl.UInt32, eager=True).alias(SEQUENCE),
        )
        .select(*frame.columns, CUSTOMER_CODE, SEQUENCE)
    )
    # Categories can only outnumber the values when they came from elsewhere (``values``, or
    # columns that already were enums) or rows were left out; else skip the check's pass.
    if (
        values is not None
        or order.len() < frame.height
        or any(isinstance(frame.schema.get(c), pl.Enum) for c in CODED_COLUMNS)
    ):
        out = _drop_unused_values(out)
    return vouch(
        out.with_columns(pl.col(CUSTOMER_CODE).set_sorted(), pl.col(SEQUENCE).set_sorted()),
        keys,
    )


def code_text_columns(
    lf: pl.LazyFrame, values: Mapping[str, pl.Series] | None = None
) -> pl.LazyFrame:
    """``lf`` with each of the :data:`CODED_COLUMNS` it has as an enum of its sorted values.

    The enum's categories are the column's distinct values in sorted order, so codes,
    sorting and ``<`` follow text order, and comparisons with any text (``== "purchase"``,
    ``is_in([...])``) work as on strings. Columns already such an enum are left alone.
    ``values`` may give, per column, values known to include all of its values (nulls and
    repeats allowed), which saves a pass over the rows; categories no row has are kept.

    Examples
    --------
    >>> lf = pl.LazyFrame({"touchpoint": ["visit", "ad", None, "visit"], "revenue": [1.0, 2.0, 3.0, 4.0]})
    >>> out = code_text_columns(lf).collect()
    >>> out.schema["touchpoint"], out["touchpoint"].to_physical().to_list()
    (Enum(categories=['ad', 'visit']), [1, 0, None, 1])
    """
    schema = lf.collect_schema()
    names = [c for c in CODED_COLUMNS if c in schema and not _is_value_enum(schema[c])]
    if not names:
        return lf
    given = values or {}
    found = iter(
        pl.collect_all(
            [lf.select(pl.col(c).cast(pl.String).unique()) for c in names if c not in given]
        )
    )
    categories = {
        c: (given[c] if c in given else next(found).to_series()).drop_nulls().unique().sort()
        for c in names
    }
    return lf.with_columns(pl.col(c).cast(pl.String).cast(pl.Enum(categories[c])) for c in names)


def _is_value_enum(dtype: pl.DataType) -> bool:
    """An enum whose categories are in sorted order (what :func:`code_text_columns` makes)."""
    if not isinstance(dtype, pl.Enum):
        return False
    categories = dtype.categories
    return categories.len() < 2 or bool(
        (categories.slice(1) > categories.slice(0, categories.len() - 1)).all()
    )


def _drop_unused_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Re-code the :data:`CODED_COLUMNS` whose enum has values no row has (they were only in
    rows left out of the gather), so a prepared frame's categories are exactly its values."""
    coded = [
        c for c in CODED_COLUMNS if c in frame.columns and isinstance(frame.schema[c], pl.Enum)
    ]
    fixes = [c for c in coded if not _uses_every_value(frame.get_column(c))]
    if not fixes:
        return frame
    return code_text_columns(frame.lazy().with_columns(pl.col(fixes).cast(pl.String))).collect()


def _uses_every_value(column: pl.Series) -> bool:
    """Whether every category of the enum ``column`` occurs in it.

    One sequential pass: each row's code marks its category in a table of the few categories
    (a scatter), cheaper than counting distinct codes with a hash table.
    """
    n = column.dtype.categories.len()
    codes = column.to_physical().drop_nulls()
    if codes.len() < n:
        return False
    return bool(pl.repeat(False, n, eager=True, dtype=pl.Boolean).scatter(codes, True).all())
