"""Customer paths: sessions, transitions, step matrices, path variants and flows.

Every function takes the canonical ``events`` frame (``pl.DataFrame`` or ``pl.LazyFrame``) and
returns a small, sorted ``pl.DataFrame`` (``sessionize`` / ``add_markers`` return events of the
same kind they were given).

Definitions (they follow Retentioneering 3.x and pm4py; see docs/definitions.md, "Paths")
---------------------------------------------------------------------------------------
Path
    The ordered events of one customer (``path="customer"``) or of one session
    (``path="session"``, needs ``session_id``; see :func:`sessionize`). Events are ordered by
    ``(timestamp, source_row)``: events of one customer with the same timestamp keep the order
    of the input file. Every result is therefore the same run to run and whatever the row order
    of the frame handed in.
Transition ``A → B``
    ``B`` is the event right after ``A`` in the same path (pm4py's directly-follows relation;
    Retentioneering's transition-graph edge). A path of ``n`` events has ``n − 1`` transitions.
Weights (``weight=``)
    ``"events"``: number of transitions (pm4py DFG frequency; Retentioneering
    ``edges_weight_col='event_id'``). ``"customers"`` / ``"sessions"``: number of distinct
    customers / sessions with at least one such transition (Retentioneering
    ``edges_weight_col='user_id'`` / ``'session_id'``).
``probability``
    Retentioneering ``edges_norm_type='node'``: the weight of ``A → B`` divided by the weight
    of ``A → *``. For ``"events"`` that is ``count(A→B) / count(A→*)`` (rows sum to 1, a
    first-order Markov transition probability). For ``"customers"`` the denominator is the
    number of customers with any transition out of ``A``, so a row can sum to more than 1.
``share``
    Retentioneering ``edges_norm_type='full'``: weight divided by all transitions
    (``"events"``) or by all customers / sessions in the frame.
Time between
    ``mean_seconds`` / ``median_seconds``: timestamp of ``B`` minus timestamp of ``A`` over all
    occurrences of the transition (pm4py's performance DFG with a single timestamp).
Step matrix
    Share of paths whose ``k``-th event is touchpoint ``t`` (Retentioneering ``step_matrix``),
    plus an ``ENDED`` row: share of paths that have fewer than ``k`` events (cumulative), so each
    step sums to 1. Anchored (Retentioneering ``centered``): only paths with the
    ``occurrence``-th ``anchor`` are kept, the anchor is step 0, earlier events get negative
    steps; a negative step where a path had not started yet counts in no row.
Variant
    The whole path (or its first ``max_steps`` events) as one string; loops (the same
    touchpoint repeated back to back) are optionally collapsed first.

Every function here is written once, against prepared events (:func:`cxlab.events.as_events`:
integer customer codes, ``_cx_seq`` as the in-customer order, touchpoints as codes); a frame
that is not prepared is prepared once on the way in. Paths are the contiguous runs of rows of
one customer (or one customer's session) in ``_cx_seq`` order (:func:`cxlab.events.path_order`),
so no path is sorted inside a group and every group-by is on integer keys. The readable
specification of each is in ``tests/oracles/paths.py``; the tests check these functions
equal it on random logs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import polars as pl

from cxlab.analysis.stats import small_n, wilson_bounds
from cxlab.contract.frames import as_lazy, as_text
from cxlab.contract.prepare import CUSTOMER_CODE, SEQUENCE, present_codes, text_codes
from cxlab.contract.schema import (
    DEFAULT_JOURNEY_MAP,
    DEFAULT_PURCHASE_TOUCHPOINTS,
    SOURCE_ROW,
    STAGES,
)
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.events import (
    as_events,
    as_events_kept,
    ordered_paths,
    parse_duration,
    path_order,
    path_steps,
    require_paths,
    same_path,
)
from cxlab.params import as_list, check_int, renamed

__all__ = [
    "START",
    "END",
    "ENDED",
    "OTHER",
    "sessionize",
    "add_markers",
    "transitions",
    "compare_transitions",
    "step_matrix",
    "path_variants",
    "stage_flows",
]

#: Synthetic touchpoint put before the first event of a path by :func:`add_markers`.
START = "path_start"
#: Synthetic touchpoint put after the last event of a path by :func:`add_markers`.
END = "path_end"
#: Step-matrix / flow row for paths that have already ended (Retentioneering's name).
ENDED = "ENDED"
#: Flow node that groups the touchpoints outside the top ``top_n`` of a step.
OTHER = "other"

PathUnit = Literal["customer", "session"]
Weight = Literal["events", "customers", "sessions"]

Frame = pl.DataFrame | pl.LazyFrame
_ROW = "__input_row"  # input row numbers, to put per-row results back in the input's order
_MAX_ROW = 2**32 - 1  # source_row of path_end markers: after any real event with the same time


# --------------------------------------------------------------------------------------------
# input checks and paths on prepared events
# --------------------------------------------------------------------------------------------
def _lazy(events: Frame, func: str, extra: Sequence[str] = ()) -> pl.LazyFrame:
    """Check the events frame (a polars frame with the path columns); return it lazy."""
    return require_paths(events, where=func, by=extra)


def _by(path: str, func: str) -> list[str]:
    """The columns that split a customer's events into paths: none, or ``session_id``."""
    if path == "customer":
        return []
    if path == "session":
        return ["session_id"]
    raise ParameterError(
        f"The 'path' parameter of {func} must be 'customer' or 'session'. Got {path!r} instead."
    )


def _paths(events: Frame, path: str, func: str) -> tuple[pl.LazyFrame, list[str]]:
    """Prepared events (:func:`cxlab.events.as_events`) in path order, and the path key."""
    return ordered_paths(events, where=func, by=_by(path, func))


def _collapse(expr: pl.Expr) -> pl.Expr:
    """Drop elements of a list equal to the element right before them (A A B A -> A B A)."""
    return expr.list.eval(pl.element().filter(pl.element().ne_missing(pl.element().shift(1))))


def _like(events: Frame, lf: pl.LazyFrame) -> Frame:
    return lf.collect() if isinstance(events, pl.DataFrame) else lf


# --------------------------------------------------------------------------------------------
# sessions and markers
# --------------------------------------------------------------------------------------------
def sessionize(
    events: pl.DataFrame | pl.LazyFrame,
    gap: str | dt.timedelta = "30m",
    *,
    markers: bool = False,
) -> pl.DataFrame | pl.LazyFrame:
    """Split each customer's events into sessions at inactivity gaps.

    A new session starts when the time since the customer's previous event is strictly greater
    than ``gap`` (Retentioneering's ``SplitSessions`` rule); an event exactly ``gap`` after the
    previous one stays in the same session. ``session_id`` is ``"<customer_id>#<n>"`` with
    ``n`` = 1, 2, … in time order; an existing ``session_id`` column is replaced.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events.
    gap : str or datetime.timedelta, default "30m"
        Inactivity that closes a session: a timedelta or ``"<number><s|m|h|d|w>"``.
    markers : bool, default False
        Also add :data:`START` / :data:`END` events around every session (see
        :func:`add_markers`).

    Returns
    -------
    DataFrame or LazyFrame
        The events (same kind as given) with ``session_id`` (String) and ``session_index``
        (UInt32, 1-based).

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "a"],
    ...     "timestamp": [t0, t0 + dt.timedelta(minutes=30), t0 + dt.timedelta(minutes=61)],
    ...     "touchpoint": ["ad_click", "site_visit", "purchase"]})
    >>> sessionize(ev, "30m")["session_id"].to_list()
    ['a#1', 'a#1', 'a#2']
    """
    func = "sessionize"
    lf = _lazy(events, func)
    cutoff = parse_duration(gap, "gap", where=func)
    ev, kept = as_events_kept(events, where=func, row_index=_ROW)
    # one customer's events in their order (_cx_seq), whatever the frame's row order
    new = (pl.col("timestamp").diff() > pl.lit(cutoff)).fill_null(True)
    index = new.cum_sum().over(CUSTOMER_CODE, order_by=SEQUENCE).cast(pl.UInt32)
    out = ev.lazy().with_columns(session_index=index)
    if not kept:  # back to the input's rows, in its order, on its own columns
        index = out.select(_ROW, "session_index").sort(_ROW).collect().get_column("session_index")
        if SOURCE_ROW not in lf.collect_schema().names():
            lf = lf.with_row_index(SOURCE_ROW, offset=1)
        out = lf.drop(CUSTOMER_CODE, SEQUENCE, strict=False).with_columns(pl.lit(index))
    out = out.with_columns(
        session_id=pl.concat_str(
            [pl.col("customer_id"), pl.lit("#"), pl.col("session_index").cast(pl.String)]
        )
    )
    if markers:
        out = add_markers(out, path="session")
    return _like(events, out)


def add_markers(
    events: pl.DataFrame | pl.LazyFrame, *, path: PathUnit = "customer"
) -> pl.DataFrame | pl.LazyFrame:
    """Add a :data:`START` event before and an :data:`END` event after every path.

    The markers carry the timestamp of the first / last event of the path; their
    ``source_row`` is 0 (start) and 2**32 − 1 (end) so the ordering rule puts them first and
    last. ``channel`` of a marker is its touchpoint name; other columns are null. With markers,
    ``transitions`` also gives pm4py's start and end activities (``path_start → X`` counts
    paths starting with ``X``; ``X → path_end`` paths ending with it) and Retentioneering's
    ``add_start_end`` graph. On prepared events the private ``_cx_cid`` / ``_cx_seq``
    columns are dropped (the markers are new rows; prepare again if needed).

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a"], "timestamp": [t0, t0],
    ...                    "touchpoint": ["ad_click", "purchase"]})
    >>> add_markers(ev).sort("source_row")["touchpoint"].to_list()
    ['path_start', 'ad_click', 'purchase', 'path_end']
    """
    func = "add_markers"
    key = ["customer_id", *_by(path, func)]
    # Adding rows ends a prepared frame (its customer codes and sequence would not cover the
    # markers): the private columns are dropped, and an analysis prepares the result again.
    lf = _lazy(events, func, extra=key[1:]).drop(CUSTOMER_CODE, SEQUENCE, strict=False)
    if SOURCE_ROW not in lf.collect_schema().names():
        lf = lf.with_row_index(SOURCE_ROW, offset=1)
    schema = lf.collect_schema()
    bounds = lf.group_by(key).agg(first=pl.col("timestamp").min(), last=pl.col("timestamp").max())

    def marker(name: str, ts: str, row: int) -> pl.LazyFrame:
        cols = [
            pl.col(c) if c in key else pl.lit(None, dtype=schema[c]).alias(c)
            for c in schema.names()
            if c not in ("timestamp", "touchpoint", SOURCE_ROW, "channel")
        ]
        extra = (
            [pl.lit(name, dtype=schema["channel"]).alias("channel")] if "channel" in schema else []
        )
        return bounds.select(
            *cols,
            pl.col(ts).cast(schema["timestamp"]).alias("timestamp"),
            pl.lit(name, dtype=schema["touchpoint"]).alias("touchpoint"),
            pl.lit(row, dtype=schema[SOURCE_ROW]).alias(SOURCE_ROW),
            *extra,
        ).select(schema.names())

    out = pl.concat([marker(START, "first", 0), lf, marker(END, "last", _MAX_ROW)], how="vertical")
    return _like(events, out)


# --------------------------------------------------------------------------------------------
# transitions
# --------------------------------------------------------------------------------------------
def _seconds(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime | pl.Date):
        return expr.dt.total_microseconds().cast(pl.Float64) / 1e6
    return expr.cast(pl.Float64)


def _weighted(
    edges: pl.LazyFrame, out_w: pl.LazyFrame, total: pl.LazyFrame, count: pl.Expr
) -> pl.LazyFrame:
    """``count``, ``probability`` (count / weight out of the source, ``_out``) and ``share``
    (count / ``_total``) of the edge table, sorted by source and target."""
    return (
        edges.join(out_w, on="source", how="left")
        .join(total, how="cross")
        .with_columns(
            count=count.cast(pl.UInt32),
            probability=count / pl.col("_out"),
            share=count / pl.col("_total"),
        )
        .drop("_out", "_total")
        .sort("source", "target")
    )


def _transitions_lazy(lf: pl.LazyFrame, key: list[str], weight: Weight, func: str) -> pl.LazyFrame:
    """Transition table of ``lf``: prepared events in path order (:func:`_paths`).

    Rows come in path order with each path's rows contiguous, so B follows A when the next
    row is in the same path. Touchpoints become small integer codes and each (source,
    target) pair one packed integer, so the edge table is one group-by on one integer column
    (no text hashing); labels are decoded on the few hundred edges at the end.
    """
    if weight not in ("events", "customers", "sessions"):
        raise ParameterError(
            f"The 'weight' parameter of {func} must be 'events', 'customers' or 'sessions'. "
            f"Got {weight!r} instead."
        )
    if weight == "sessions" and len(key) == 1:
        raise ParameterError(
            f"{func}: weight='sessions' counts sessions, so it needs path='session' "
            "(and a session_id column; see sessionize). Got path='customer'."
        )
    ts_type = lf.collect_schema()["timestamp"]
    code, decode, n_tp = text_codes(lf, "touchpoint")
    ts = pl.col("timestamp")
    pairs = (
        lf.select(
            *key,
            _k=code * n_tp + code.shift(-1),
            seconds=_seconds(ts.shift(-1) - ts, ts_type),
            _same=same_path(key, -1),
        )
        .filter(pl.col("_same"))
        .drop("_same")
    )
    if weight != "events":  # read twice below: materialise once
        pairs = pairs.collect().lazy()
    decoded = [
        (pl.col("_k") // n_tp).replace_strict(decode, return_dtype=pl.String).alias("source"),
        (pl.col("_k") % n_tp).replace_strict(decode, return_dtype=pl.String).alias("target"),
    ]
    edges = _edge_table(pairs, key, n_tp).with_columns(decoded).drop("_k").collect().lazy()
    # Denominators: Retentioneering 'node' = weight of A -> * ; 'full' = all transitions or units.
    if weight == "events":  # every pair is in one edge: the totals come from the edge table
        out_w = edges.group_by("source").agg(pl.col("events").sum().alias("_out"))
        total = edges.select(pl.col("events").sum().alias("_total"))
    else:  # distinct customers / sessions with a transition out of the source / in the log
        unit = [CUSTOMER_CODE] if weight == "customers" else key
        units = pl.col(unit[0]) if len(unit) == 1 else pl.struct(unit)
        out_w = (
            pairs.select(decoded[0], *unit).unique().group_by("source").agg(pl.len().alias("_out"))
        )
        total = lf.select(units.n_unique().alias("_total"))
    return _weighted(edges, out_w, total, pl.col(weight))


#: Above this many possible (source, target) codes, :func:`_edge_table` sorts instead of hashing.
_MANY_PAIRS = 2**16


def _edge_table(pairs: pl.LazyFrame, key: list[str], n_tp: int) -> pl.LazyFrame:
    """One row per packed pair ``_k``: ``events``, ``customers`` (``sessions``),
    ``mean_seconds``, ``median_seconds``.

    ``pairs`` holds one row per transition, in path order. With few touchpoints (a few hundred
    possible pairs) one hash group-by is cheapest. With many (thousands of page names: up to
    millions of pairs) a hash group-by over that many groups costs several times a stable sort
    on ``_k``; after that sort each pair's rows are contiguous and still in path order, so
    every aggregate runs on slices, and a pair's distinct customers (sessions) are the rows
    where the customer (session) differs from the row before within the pair. The numbers are
    the same either way (means summed in the same row order).
    """
    if n_tp * n_tp <= _MANY_PAIRS:
        aggs = [pl.len().alias("events"), pl.col(CUSTOMER_CODE).n_unique().alias("customers")]
        if len(key) > 1:
            aggs.append(pl.struct(key).n_unique().alias("sessions"))
        grouped = pairs.group_by("_k")
    else:
        k = pl.col("_k")

        def new(cols: list[str]) -> pl.Expr:  # first row of a (pair, unit) run
            return pl.any_horizontal(
                pl.col(c).ne_missing(pl.col(c).shift(1)) for c in ["_k", *cols]
            )

        units = [new([CUSTOMER_CODE]).alias("_nc")]
        aggs = [pl.len().alias("events"), pl.col("_nc").sum().alias("customers")]
        if len(key) > 1:
            units.append(new(key).alias("_ns"))
            aggs.append(pl.col("_ns").sum().alias("sessions"))
        ordered = pairs.sort("_k", maintain_order=True).with_columns(*units, k.set_sorted())
        grouped = ordered.group_by("_k", maintain_order=True)
    aggs = [a.cast(pl.UInt32) for a in aggs]
    return grouped.agg(
        *aggs,
        pl.col("seconds").mean().alias("mean_seconds"),
        pl.col("seconds").median().alias("median_seconds"),
    )


def transitions(
    events: pl.DataFrame | pl.LazyFrame,
    *,
    weight: Weight = "events",
    path: PathUnit = "customer",
) -> pl.DataFrame:
    """Counts and probabilities of moving from one touchpoint to the next.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events (optionally sessionised / with markers).
    weight : {"events", "customers", "sessions"}, default "events"
        What ``count``, ``probability`` and ``share`` are based on (see the module docstring):
        transitions, or distinct customers / sessions having the transition.
    path : {"customer", "session"}, default "customer"
        Whether transitions run along a customer's whole history or stop at session borders.

    Returns
    -------
    DataFrame
        One row per observed transition, sorted by ``source``, ``target``: ``source``,
        ``target``, ``events``, ``customers`` (and ``sessions`` for session paths), ``count``
        (the chosen weight), ``probability`` (count / weight of ``source → *``), ``share``
        (count / all transitions or all units), ``mean_seconds``, ``median_seconds``.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "a", "b", "b"],
    ...     "timestamp": [t0 + dt.timedelta(hours=h) for h in (0, 1, 3, 0, 2)],
    ...     "touchpoint": ["ad", "visit", "buy", "ad", "visit"]})
    >>> transitions(ev).select("source", "target", "count", "probability", "mean_seconds").rows()
    [('ad', 'visit', 2, 1.0, 5400.0), ('visit', 'buy', 1, 1.0, 7200.0)]
    """
    func = "transitions"
    lf, key = _paths(events, path, func)
    out = _transitions_lazy(lf, key, weight, func).collect()
    cols = ["source", "target", "events", "customers"]
    cols += ["sessions"] if path == "session" else []
    cols += ["count", "probability", "share", "mean_seconds", "median_seconds"]
    return out.select(cols)


def compare_transitions(
    events: pl.DataFrame | pl.LazyFrame,
    segment: str,
    a: str,
    b: str,
    *,
    customers: pl.DataFrame | pl.LazyFrame | None = None,
    weight: Weight = "events",
    path: PathUnit = "customer",
) -> pl.DataFrame:
    """Transitions of two segments side by side, with differences ``a − b``.

    The differential graph of Retentioneering: each side is normalised on its own (``probability``
    and ``share`` as in :func:`transitions`), then subtracted; a transition missing on one side
    counts 0 there.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events.
    segment : str
        Column holding the segment label: a column of ``events`` or, when ``customers`` is
        given, of the customers table (joined on ``customer_id``).
    a, b : str
        The two segment values to compare.
    customers : DataFrame or LazyFrame, optional
        Customers table to take ``segment`` from.
    weight, path
        As in :func:`transitions`.

    Returns
    -------
    DataFrame
        ``source``, ``target``, ``count_a``, ``count_b``, ``probability_a``,
        ``probability_b``, ``probability_diff``, ``share_a``, ``share_b``, ``share_diff``,
        sorted by ``source``, ``target``.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "b"],
    ...     "timestamp": [t0, t0 + dt.timedelta(hours=1)] * 2,
    ...     "touchpoint": ["ad", "visit", "ad", "chat"], "seg": ["x", "x", "y", "y"]})
    >>> compare_transitions(ev, "seg", "x", "y").select("target", "probability_diff").rows()
    [('chat', -1.0), ('visit', 1.0)]
    """
    func = "compare_transitions"
    by = _by(path, func)
    _lazy(events, func, extra=by)
    lf = as_events(events, where=func).lazy()
    if customers is not None:
        cust = as_lazy(customers, "customers", where=func)
        cnames = cust.collect_schema().names()
        if segment not in cnames:
            raise DataError(
                f"{func}: the customers table has no column '{segment}'."
                f"{did_you_mean(segment, cnames)} Found columns: {', '.join(cnames)}."
            )
        lf = lf.drop(segment, strict=False).join(
            cust.select("customer_id", segment), on="customer_id", how="left"
        )
    names = lf.collect_schema().names()
    if segment not in names:
        raise DataError(
            f"{func}: events have no column '{segment}'.{did_you_mean(segment, names)} "
            "Pass customers=<customers table> to take the segment from there."
        )
    lf, key = path_order(lf, by)
    sides = []
    for label, value in (("a", a), ("b", b)):
        sub = lf.filter(pl.col(segment) == value)
        if sub.select(pl.len()).collect().item() == 0:
            present = lf.select(pl.col(segment).unique().sort()).collect().to_series().to_list()
            raise ParameterError(
                f"{func}: no events have {segment} == {value!r} (parameter '{label}'). "
                f"Values present: {present[:20]}.{did_you_mean(str(value), map(str, present))}"
            )
        sides.append(
            _transitions_lazy(sub, key, weight, func).select(
                "source",
                "target",
                pl.col("count").alias(f"count_{label}"),
                pl.col("probability").alias(f"probability_{label}"),
                pl.col("share").alias(f"share_{label}"),
            )
        )
    joined = sides[0].join(sides[1], on=["source", "target"], how="full", coalesce=True)
    fill = [
        pl.col(f"{m}_{s}").fill_null(0) for m in ("count", "probability", "share") for s in "ab"
    ]
    return (
        joined.with_columns(fill)
        .with_columns(
            probability_diff=pl.col("probability_a") - pl.col("probability_b"),
            share_diff=pl.col("share_a") - pl.col("share_b"),
        )
        .select(
            "source",
            "target",
            "count_a",
            "count_b",
            "probability_a",
            "probability_b",
            "probability_diff",
            "share_a",
            "share_b",
            "share_diff",
        )
        .sort("source", "target")
        .collect()
    )


# --------------------------------------------------------------------------------------------
# step matrix
# --------------------------------------------------------------------------------------------
def step_matrix(
    events: pl.DataFrame | pl.LazyFrame,
    max_steps: int = 10,
    *,
    anchor: str | None = None,
    occurrence: int = 1,
    steps_before: int = 3,
    path: PathUnit = "customer",
) -> pl.DataFrame:
    """Share of paths at each step on each touchpoint (Retentioneering's step matrix).

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events.
    max_steps : int, default 10
        Steps shown: 1..max_steps, or, with an anchor, 1..max_steps after it.
    anchor : str, optional
        Align every path at its ``occurrence``-th ``anchor`` event (step 0). Paths without it
        are left out (``n_paths`` says how many remain).
    occurrence : int, default 1
        Which occurrence of the anchor to align on.
    steps_before : int, default 3
        With an anchor: steps shown before it (−steps_before..−1).
    path : {"customer", "session"}, default "customer"

    Returns
    -------
    DataFrame
        Long and complete (every touchpoint at every step, zeros included): ``step`` (Int32),
        ``touchpoint`` (with an ``ENDED`` row), ``paths``, ``share`` = paths / ``n_paths``,
        ``n_paths``. Sorted by step, then touchpoint with ``ENDED`` last. Without an anchor
        each step's shares sum to 1.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b"], "timestamp": [t0, t0, t0],
    ...                    "touchpoint": ["ad", "buy", "ad"]})
    >>> step_matrix(ev, 2).filter(pl.col("share") > 0).select("step", "touchpoint", "share").rows()
    [(1, 'ad', 1.0), (2, 'buy', 0.5), (2, 'ENDED', 0.5)]
    """
    func = "step_matrix"
    lf, key = _paths(events, path, func)
    check_int(max_steps, "max_steps", func, 1)
    # touchpoint codes are gathered (at most max_steps per path without anchor), then decoded
    long = as_text(
        path_steps(lf, key, ["touchpoint"], max_step=max_steps if anchor is None else None)
    )
    touchpoints = _present_touchpoints(lf)
    if anchor is None:
        lo, hi = 1, max_steps
        # only the first max_steps steps are counted: keep those rows once (the long frame
        # is used several times below and would otherwise be recomputed for each use)
        long = long.filter(pl.col("step") <= hi).collect().lazy()
        n_paths = long.filter(pl.col("step") == 1).select(pl.len().alias("n_paths"))
        ended_at = pl.col("n_events") + 1  # first step at which the path counts as ENDED
    else:
        if not isinstance(anchor, str):
            raise ParameterError(
                f"The 'anchor' parameter of {func} must be a touchpoint name. Got {anchor!r}."
            )
        check_int(occurrence, "occurrence", func, 1)
        check_int(steps_before, "steps_before", func, 0)
        lo, hi = -steps_before, max_steps
        long, n_paths = _anchored(long, key, anchor, occurrence, func)
        ended_at = pl.col("n_events")
    # ENDED at step s: paths whose last event is before s (cumulative, as in Retentioneering).
    # one row per path: its first step (no anchor) or its anchor (step 0)
    ends = (
        long.filter(pl.col("step") == (1 if anchor is None else 0))
        .select(ended=ended_at.cast(pl.Int32))
        .group_by("ended")
        .agg(n=pl.len())
    )
    return _step_grid(long, ends, n_paths, touchpoints, lo, hi)


def _present_touchpoints(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Every touchpoint of the log, once, as text (a null too if there is one): the rows of
    the :func:`step_matrix` grid, zeros included."""
    dtype = lf.collect_schema()["touchpoint"]
    if not isinstance(dtype, pl.Enum):
        return as_text(lf.select(pl.col("touchpoint").unique())).collect().lazy()
    values = dtype.categories.gather(present_codes(lf, "touchpoint"))
    if lf.select(pl.col("touchpoint").null_count()).collect().item():
        values = values.append(pl.Series([None], dtype=pl.String))
    return pl.DataFrame({"touchpoint": values}).lazy()


def _anchored(
    long: pl.LazyFrame, key: list[str], anchor: str, occurrence: int, func: str
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The steps of :func:`step_matrix` renumbered from each path's ``occurrence``-th anchor.

    Step 0 is the anchor; paths without it are left out; ``n_events`` becomes the number of
    events from the anchor on. Also the one-row ``n_paths`` (paths that have the anchor).
    """
    long = long.collect().lazy()
    hits = (
        long.filter(pl.col("touchpoint") == anchor)
        .with_columns(k=pl.int_range(1, pl.len() + 1).over(key, order_by="step"))
        .filter(pl.col("k") == occurrence)
        .select(*key, anchor_step=pl.col("step"))
    )
    if hits.select(pl.len()).collect().item() == 0:
        known = long.select(pl.col("touchpoint").unique().sort()).collect().to_series()
        raise ParameterError(
            f"{func}: no path has touchpoint {anchor!r} {occurrence} time(s) (parameter "
            f"'anchor').{did_you_mean(anchor, known.to_list())} Touchpoints present: "
            f"{', '.join(known.head(30).to_list())}."
        )
    long = long.join(hits, on=key, how="inner").with_columns(
        step=(pl.col("step") - pl.col("anchor_step")).cast(pl.Int32),
        n_events=pl.col("n_events") - pl.col("anchor_step") + 1,  # events from the anchor on
    )
    return long, hits.select(pl.len().alias("n_paths"))


def _step_grid(
    long: pl.LazyFrame,
    ends: pl.LazyFrame,
    n_paths: pl.LazyFrame,
    touchpoints: pl.LazyFrame,
    lo: int,
    hi: int,
) -> pl.DataFrame:
    """The complete step x touchpoint table of :func:`step_matrix`, ``ENDED`` rows included.

    ``long`` has one row per (path, step) with its ``touchpoint``; ``ends`` counts paths (``n``)
    by the first step at which they have ``ended``; every (step, touchpoint) of the grid is
    a row, zeros included.
    """
    counted = (
        long.filter(pl.col("step").is_between(lo, hi))
        .group_by("step", "touchpoint")
        .agg(paths=pl.len())
    )
    steps = pl.LazyFrame({"step": list(range(max(lo, 1), hi + 1))}, schema={"step": pl.Int32})
    ended = (
        steps.join(ends, how="cross")
        .filter(pl.col("ended") <= pl.col("step"))
        .group_by("step")
        .agg(paths=pl.col("n").sum())
        .with_columns(touchpoint=pl.lit(ENDED))
    )
    grid = pl.LazyFrame({"step": list(range(lo, hi + 1))}, schema={"step": pl.Int32}).join(
        pl.concat([touchpoints, pl.LazyFrame({"touchpoint": [ENDED]})]), how="cross"
    )
    both = pl.concat(
        [counted.select("step", "touchpoint", "paths"), ended.select("step", "touchpoint", "paths")]
    )
    return (
        grid.join(both, on=["step", "touchpoint"], how="left")
        .join(n_paths, how="cross")
        .with_columns(paths=pl.col("paths").fill_null(0).cast(pl.UInt32))
        .with_columns(share=pl.col("paths") / pl.col("n_paths"))
        .with_columns(pl.col("n_paths").cast(pl.UInt32))
        .sort("step", pl.col("touchpoint") == ENDED, "touchpoint")
        .select("step", "touchpoint", "paths", "share", "n_paths")
        .collect()
    )


# --------------------------------------------------------------------------------------------
# variants
# --------------------------------------------------------------------------------------------
def path_variants(
    events: pl.DataFrame | pl.LazyFrame,
    top_n: int | None = 10,
    *,
    max_steps: int | None = None,
    collapse_loops: bool = False,
    conversion: str | Sequence[str] | None = DEFAULT_PURCHASE_TOUCHPOINTS,
    until_conversion: bool = False,
    path: PathUnit = "customer",
    sep: str = " > ",
) -> pl.DataFrame:
    """The most frequent paths, with their share and conversion rate.

    Order of operations per path: cut at the first conversion (``until_conversion``), collapse
    loops (``A A B`` → ``A B``), keep the first ``max_steps`` events, join with ``sep``.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events.
    top_n : int or None, default 10
        Keep the ``top_n`` most frequent variants (None: all). Ties are broken by the path
        text, then the number of steps (a null touchpoint adds a step but no text), so the
        cut is reproducible.
    max_steps : int, optional
        Use only the first ``max_steps`` events of each path (a path *prefix*).
    collapse_loops : bool, default False
        Replace runs of the same touchpoint by one.
    conversion : str or list of str or None, default ("purchase",)
        Touchpoints that count as a conversion. A path converted when any of them occurs
        anywhere in the full path (also after the ``max_steps`` cut). None: no conversion
        columns.
    until_conversion : bool, default False
        Keep only the events before the first conversion (the path *to* conversion; paths
        starting with a conversion become empty and are shown as ``""``).
    path : {"customer", "session"}, default "customer"
    sep : str, default " > "

    Returns
    -------
    DataFrame
        ``rank``, ``path``, ``n_steps``, ``paths`` (count), ``share`` (of all paths), and with
        a conversion: ``conversions``, ``conversion_rate`` (= conversions / paths),
        ``ci_low``, ``ci_high`` (Wilson 95%), ``small_n`` (paths < 30). Sorted by rank.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "b", "c"], "timestamp": [t0] * 5,
    ...     "touchpoint": ["ad", "purchase", "ad", "purchase", "ad"]})
    >>> path_variants(ev).select("path", "paths", "conversion_rate").rows()
    [('ad > purchase', 2, 1.0), ('ad', 1, 0.0)]
    """
    func = "path_variants"
    lf, key = _paths(events, path, func)
    if top_n is not None:
        check_int(top_n, "top_n", func, 1, 1_000_000)
    if max_steps is not None:
        check_int(max_steps, "max_steps", func, 1)
    conv = as_list(conversion, "conversion", func)
    if until_conversion and not conv:
        raise ParameterError(
            f"{func}: until_conversion=True needs conversion touchpoints. Got conversion=None."
        )
    tp = pl.col("touchpoint")
    # one list per path: polars keeps the row (path) order within each group
    paths = (
        as_text(lf)
        .group_by(key)
        .agg("touchpoint")
        .with_columns(
            converted=tp.list.eval(pl.element().is_in(conv)).list.any() if conv else pl.lit(False)
        )
    )
    if until_conversion:
        first = tp.list.eval(pl.element().is_in(conv)).list.arg_max()
        cut = pl.when(pl.col("converted")).then(first).otherwise(tp.list.len())
        paths = paths.with_columns(touchpoint=tp.list.head(cut))
    if collapse_loops:
        paths = paths.with_columns(touchpoint=_collapse(tp))
    if max_steps is not None:
        paths = paths.with_columns(touchpoint=tp.list.head(max_steps))
    variants = (
        paths.with_columns(path=tp.list.join(sep), n_steps=tp.list.len().cast(pl.UInt32))
        .group_by("path", "n_steps")
        .agg(paths=pl.len().cast(pl.UInt32), conversions=pl.col("converted").sum().cast(pl.UInt32))
        .with_columns(share=pl.col("paths") / pl.col("paths").sum())
        .sort(["paths", "path", "n_steps"], descending=[True, False, False])
        .with_row_index("rank", offset=1)
    )
    if top_n is not None:
        variants = variants.head(top_n)
    cols = ["rank", "path", "n_steps", "paths", "share"]
    if conv:
        variants = variants.with_columns(
            (pl.col("conversions") / pl.col("paths")).alias("conversion_rate"),
            *wilson_bounds("conversions", "paths"),
            small_n("paths"),
        )
        cols += ["conversions", "conversion_rate", "ci_low", "ci_high", "small_n"]
    return variants.select(cols).collect()


# --------------------------------------------------------------------------------------------
# flows (data for the Sankey-style chart)
# --------------------------------------------------------------------------------------------
def _stage_expr(journey_map: dict[str, str], purchases: Sequence[str], key: list[str]) -> pl.Expr:
    stage = pl.col("touchpoint").replace_strict(
        journey_map, default="unmapped", return_dtype=pl.String
    )
    is_purchase = pl.col("touchpoint").is_in(list(purchases))
    # the first purchase is the purchase stage, every later one counts as retention
    later = is_purchase & (is_purchase.cast(pl.UInt32).cum_sum().over(key, order_by="step") > 1)
    return pl.when(later).then(pl.lit("retention")).otherwise(stage)


def stage_flows(
    events: pl.DataFrame | pl.LazyFrame,
    max_steps: int = 5,
    *,
    unit: Literal["touchpoint", "stage"] = "touchpoint",
    top_n: int = 6,
    collapse_loops: bool | None = None,
    journey_map: dict[str, str] | None = None,
    purchase_touchpoints: Sequence[str] = DEFAULT_PURCHASE_TOUCHPOINTS,
    path: PathUnit = "customer",
    level: Literal["touchpoint", "stage"] | None = None,
) -> pl.DataFrame:
    """Step-to-step flows of paths: the links of a step-wise Sankey diagram.

    Every path contributes one unit to one link between step ``k`` and step ``k + 1`` for
    ``k < max_steps``; a path that ends at step ``k`` flows into ``ENDED``. At each step only
    the ``top_n`` most frequent nodes are kept, the rest are grouped into ``other``.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events.
    max_steps : int, default 5
        Number of step columns (≥ 2).
    unit : {"touchpoint", "stage"}, default "touchpoint"
        Node label: the touchpoint, or its journey stage (``journey_map``, default
        :data:`cxlab.contract.schema.DEFAULT_JOURNEY_MAP`; unmapped touchpoints are ``"unmapped"``; a
        second or later purchase counts as retention).
    top_n : int, default 6
        Nodes kept per step.
    collapse_loops : bool, optional
        Collapse repeated labels first (default: True for stages, False for touchpoints).
    journey_map, purchase_touchpoints
        For ``unit="stage"``.
    path : {"customer", "session"}, default "customer"
    level : {"touchpoint", "stage"}, optional
        Deprecated old name of ``unit`` (``level`` is the interval level elsewhere); still
        works for one release with a DeprecationWarning.

    Returns
    -------
    DataFrame
        ``step`` (of the source node), ``source``, ``target``, ``paths``, ``share`` (of all
        paths), sorted by step, then paths descending, source, target. Links out of a step sum
        to the number of paths that reached it.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b"], "timestamp": [t0, t0, t0],
    ...                    "touchpoint": ["ad_click", "purchase", "ad_click"]})
    >>> stage_flows(ev, 2, unit="stage").select("source", "target", "paths").rows()
    [('awareness', 'ENDED', 1), ('awareness', 'purchase', 1)]
    """
    func = "stage_flows"
    unit = renamed(level, unit, "level", "unit", func)
    _lazy(events, func, extra=_by(path, func))
    check_int(max_steps, "max_steps", func, 2, 100)
    check_int(top_n, "top_n", func, 1, 1000)
    if unit not in ("touchpoint", "stage"):
        raise ParameterError(
            f"The 'unit' parameter of {func} must be 'touchpoint' or 'stage'. Got {unit!r}."
        )
    if collapse_loops is None:
        collapse_loops = unit == "stage"
    lf, key = _paths(events, path, func)
    long = as_text(path_steps(lf, key, ["touchpoint"]))
    if unit == "stage":
        jm = dict(DEFAULT_JOURNEY_MAP if journey_map is None else journey_map)
        bad = sorted(set(jm.values()) - set(STAGES))
        if bad:
            raise ParameterError(
                f"{func}: journey_map maps to unknown stages {bad}. Stages: {', '.join(STAGES)}."
            )
        long = long.with_columns(touchpoint=_stage_expr(jm, purchase_touchpoints, key))
    lists = long.group_by(key).agg(pl.col("touchpoint").sort_by("step"))
    if collapse_loops:
        lists = lists.with_columns(touchpoint=_collapse(pl.col("touchpoint")))
    node = pl.col("touchpoint")
    steps = (
        lists.with_columns(node.list.head(max_steps))
        .with_columns(step=pl.int_ranges(1, node.list.len() + 1, dtype=pl.Int32))
        .explode(["touchpoint", "step"])
    )
    # top_n nodes per step (ties by name), the rest -> OTHER
    rank = (
        steps.group_by("step", "touchpoint")
        .agg(n=pl.len())
        .with_columns(
            r=pl.int_range(1, pl.len() + 1).over(
                "step", order_by=[pl.col("n").cast(pl.Int64) * -1, pl.col("touchpoint")]
            )
        )
    )
    steps = steps.join(
        rank.select("step", "touchpoint", "r"), on=["step", "touchpoint"], how="left"
    ).with_columns(touchpoint=pl.when(pl.col("r") <= top_n).then(node).otherwise(pl.lit(OTHER)))
    links = (
        steps.with_columns(
            target=node.shift(-1).over(key, order_by="step").fill_null(pl.lit(ENDED))
        )
        .filter(pl.col("step") < max_steps)
        .group_by("step", pl.col("touchpoint").alias("source"), "target")
        .agg(paths=pl.len().cast(pl.UInt32))
    )
    total = lf.select(pl.struct(key).n_unique().alias("_n"))
    return (
        links.join(total, how="cross")
        .with_columns(share=pl.col("paths") / pl.col("_n"))
        .drop("_n")
        .sort(["step", "paths", "source", "target"], descending=[False, True, False, False])
        .select("step", "source", "target", "paths", "share")
        .collect()
    )
