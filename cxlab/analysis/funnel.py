"""Funnels over touchpoints or stages: conversion, trends, time to convert, drop-off.

The funnel follows what analysts know from ClickHouse ``windowFunnel``, Amplitude, PostHog
and Retentioneering. See docs/definitions.md ("Funnels") for the same text with examples.

Steps
    An ordered list; each step is one value (``"checkout"``) or a list of values that all
    count as the step (``["site_visit", "app_open"]``), matched in ``column`` (``touchpoint``
    by default, ``stage`` for a stage funnel — see :func:`stage_funnel`).
Path (``path=``)
    ``"customer"`` (default): all events of a customer form one path. ``"session"``: each
    session (``session_id``; see :func:`cxlab.analysis.paths.sessionize`) is a path of its own and the
    tables count sessions, as ``transitions`` / ``step_matrix`` / ``path_variants`` do.
Entry (``entry=``)
    ``"best"`` (default; ClickHouse ``windowFunnel``, Amplitude, Retentioneering): every
    step-1 event starts an *attempt*, and the path is credited with the furthest step any
    attempt reaches (the window counts from that attempt's step-1 event). ``"first"``: only
    the path's first step-1 event starts an attempt (cxlab's definition before best attempt).
    The times reported per path (``step_<k>_at``, time to convert, the breakdown value) are
    those of one attempt: the one that reaches the furthest step first — its first event at
    that step, reached from the latest attempt start that leads to it (the quickest route).
Order (``order=``)
    ``"ordered"`` (eventual): step k is an event matching step k after step k-1; other events
    may come in between. With ``entry="best"`` events in the same second may satisfy
    consecutive steps in either order (ClickHouse sorts ties by step, Amplitude counts either
    order within a second) — a step's event must only be a different event from the previous
    step's; with ``entry="first"`` a step must come strictly after the previous one in
    (timestamp, file order). ``"strict"`` (consecutive; Retentioneering): step k must be the
    very next event of the path after step k-1 in path order (time, then file order); with
    ``entry="best"`` an attempt is a consecutive run starting at any step-1 event (every event
    in the frame counts — filter noise out first). ``"any"``: steps 1..k done in any order;
    step k's time is the latest of the first occurrences of steps 1..k (``entry`` does not
    apply: there are no attempts without an order).
Windows
    ``window``: the whole funnel must be completed within this time of the attempt's step 1.
    ``step_windows``: step k must follow step k-1 within this time. Both may apply (the
    earlier deadline wins). Values are ``timedelta`` or strings like ``"7d"``, ``"12h"``,
    ``"2w"``, ``"30m"`` (:func:`cxlab.events.parse_duration`).
Completed windows and censoring
    A path that reached step k-1 less than the window before ``as_of`` (the data end) has
    not had its full chance to convert to step k: its window is *open* (with best attempt:
    the latest attempt at step k-1 still has time). As Amplitude's "completed conversion
    windows" mode does, ``conversion_rate`` leaves those paths out of numerator *and*
    denominator (``eligible = entered - open_window``). ``censored`` counts open-window paths
    that have not converted yet. Without any window nobody is censored: everyone had until
    the data end. ``completed_windows=False`` gives the naive rate over everybody instead.
    The Kaplan–Meier curve (:func:`time_to_convert`) keeps every path, treating
    non-converters as censored at the end of their window (or at ``as_of``), not as lost.
Rates on two bases
    ``conversion_rate``: step-to-step (of those who reached step k-1). ``share_of_all``:
    converted / ``in_scope``, all customers (or sessions) with an event up to ``as_of`` in
    the breakdown group — so step 1 is not always 100%.
Exclusions
    ``exclude=["support_call"]`` removes paths that did it between step 1 and the last step
    of the credited attempt; ``exclude=[("support_call", 2, 3)]`` between steps 2 and 3
    (1-based). "Between" ends at the later step's event when reached, else at the end of the
    window (or ``as_of``). Excluded paths leave the whole funnel (as in PostHog); their
    number is the ``excluded`` column.
Breakdowns (``by=``, ``by_touch=``)
    One or several columns: events columns take the value at the credited attempt's first
    step (``by_touch="first"``, PostHog's first touchpoint), at the furthest step reached
    (``"last"``) or at step k (an int, 1-based; ``"(not reached)"`` for paths that did not
    reach it); customers columns need ``customers=``; ``"signup_cohort"`` is the month of
    ``signup_date`` (of the first event without customers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import polars as pl

from cxlab.analysis.journey import assign_stages
from cxlab.analysis.stats import (
    exact_sum,
    resolve_level,
    small_n,
    wilson_bounds,
    z_of_level,
)
from cxlab.contract.prepare import text_codes
from cxlab.contract.schema import CUSTOMER_CODE, SEQUENCE, STAGES
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.events import (
    as_events,
    parse_duration,
    path_order,
    require,
    resolve_as_of,
    same_path,
    to_lazy,
)

__all__ = [
    "FUNNEL_COLUMNS",
    "funnel",
    "funnel_customers",
    "funnel_trend",
    "stage_funnel",
    "time_to_convert",
    "kaplan_meier",
    "drop_off_drivers",
    "drop_off_paths",
]

Frame = pl.DataFrame | pl.LazyFrame
Window = dt.timedelta | str | None
Step = str | Sequence[str]
By = str | Sequence[str] | None
_ORDERS = ("ordered", "strict", "any")
_ENTRIES = ("best", "first")
_PATHS = ("customer", "session")
_HOUR_US = 3_600_000_000
_TS = pl.Datetime("us", "UTC")
NOT_REACHED = "(not reached)"
MISSING = "(missing)"


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class _Spec:
    """The checked parameters of one funnel (see the module docstring)."""

    values: list[list[str]]
    names: list[str]
    win: dt.timedelta | None
    swin: list[dt.timedelta | None]
    excl: list[tuple[list[str], int, int]]
    order: str
    entry: str
    path: str
    by: list[str]
    by_touch: str | int
    column: str
    skip_ahead: bool = False

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def overlap(self) -> bool:
        """Does a value belong to two steps?"""
        flat = [v for vals in self.values for v in vals]
        return len(flat) != len(set(flat))

    @property
    def ids(self) -> list[str]:
        return ["customer_id", "session_id"] if self.path == "session" else ["customer_id"]


def _choice(value, allowed: Sequence[str], name: str, where: str = "funnel") -> str:
    if value not in allowed:
        raise ParameterError(
            f"The '{name}' parameter of {where} must be one of {tuple(allowed)}. Got {value!r} "
            f"instead.{did_you_mean(str(value), list(allowed))}"
        )
    return value


def _steps(steps: Sequence[Step]) -> tuple[list[list[str]], list[str]]:
    if isinstance(steps, str) or not isinstance(steps, Sequence) or len(steps) < 1:
        raise ParameterError(
            "The 'steps' parameter must be a non-empty list of steps, each a value or a list of "
            f"values, e.g. ['site_visit', 'checkout', 'purchase']. Got {steps!r} instead."
        )
    values, names = [], []
    for s in steps:
        vals = [s] if isinstance(s, str) else list(s)
        if not vals or not all(isinstance(v, str) for v in vals):
            raise ParameterError(
                f"Each funnel step must be a string or a non-empty list of strings. Got {s!r}."
            )
        values.append(vals)
        names.append(" | ".join(vals))
    if len(set(names)) != len(names):
        raise ParameterError(f"The 'steps' parameter lists the same step twice: {names}.")
    return values, names


def _step_windows(step_windows, n_steps: int, names: list[str]) -> list[dt.timedelta | None]:
    """Per target step k (index 0..n-1; index 0 unused) its window from step k-1."""
    out: list[dt.timedelta | None] = [None] * n_steps
    if step_windows is None:
        return out
    if isinstance(step_windows, Mapping):
        for key, w in step_windows.items():
            if isinstance(key, str):
                if key not in names:
                    raise ParameterError(
                        f"The 'step_windows' parameter names step {key!r}, which is not a step."
                        f"{did_you_mean(key, names)} Steps: {names}."
                    )
                k = names.index(key)
            else:
                k = int(key) - 1
            if not 1 <= k < n_steps:
                raise ParameterError(
                    f"The 'step_windows' keys must be 1-based indices 2..{n_steps} of the step "
                    f"being converted to (or step names). Got {key!r}."
                )
            out[k] = parse_duration(w, f"step_windows[{key!r}]", where="funnel")
        return out
    seq = list(step_windows)
    if len(seq) != n_steps - 1:
        raise ParameterError(
            f"The 'step_windows' list must have one entry per step after the first "
            f"({n_steps - 1} for {n_steps} steps; None for no limit). Got {len(seq)}."
        )
    for i, w in enumerate(seq, start=1):
        out[i] = parse_duration(w, f"step_windows[{i - 1}]", where="funnel")
    return out


def _exclusions(exclude, n_steps: int) -> list[tuple[list[str], int, int]]:
    if exclude is None:
        return []
    if isinstance(exclude, str):
        exclude = [exclude]
    out = []
    for item in exclude:
        if isinstance(item, str):
            out.append(([item], 0, n_steps - 1))
            continue
        if isinstance(item, Sequence) and len(item) == 3:
            tp, a, b = item
            tps = [tp] if isinstance(tp, str) else list(tp)
            if isinstance(a, int) and isinstance(b, int) and 1 <= a < b <= n_steps:
                out.append((tps, a - 1, b - 1))
                continue
        raise ParameterError(
            "Each 'exclude' entry must be a touchpoint (excluded between the first and last "
            f"step) or a tuple (touchpoint, from_step, to_step) with 1 <= from_step < to_step "
            f"<= {n_steps}. Got {item!r} instead."
        )
    if n_steps < 2:
        raise ParameterError("The 'exclude' parameter needs a funnel of at least 2 steps.")
    return out


def _by_list(by: By) -> list[str]:
    if by is None:
        return []
    out = [by] if isinstance(by, str) else list(by)
    if not all(isinstance(b, str) for b in out) or len(set(out)) != len(out):
        raise ParameterError(
            "The 'by' parameter of funnel must be a column name or a list of distinct column "
            f"names, e.g. by=['channel', 'segment']. Got {by!r} instead."
        )
    return out


def _by_touch(by_touch, n: int) -> str | int:
    if by_touch in ("first", "last"):
        return by_touch
    if isinstance(by_touch, int) and not isinstance(by_touch, bool) and 1 <= by_touch <= n:
        return by_touch
    raise ParameterError(
        "The 'by_touch' parameter of funnel must be 'first', 'last' or a step number in "
        f"[1, {n}] (the step whose event gives the breakdown value). Got {by_touch!r} instead."
    )


def _spec(
    steps,
    *,
    window=None,
    step_windows=None,
    order="ordered",
    entry="best",
    path="customer",
    by=None,
    by_touch="first",
    exclude=None,
    column="touchpoint",
    skip_ahead=False,
) -> _Spec:
    """Check every funnel parameter once (scikit-learn style messages)."""
    _choice(order, _ORDERS, "order")
    _choice(entry, _ENTRIES, "entry")
    _choice(path, _PATHS, "path")
    values, names = _steps(steps)
    swin = _step_windows(step_windows, len(values), names)
    if order == "any" and any(w is not None for w in swin):
        raise ParameterError(
            "The 'step_windows' parameter has no meaning with order='any' (steps have no "
            "order). Use 'window' instead."
        )
    return _Spec(
        values=values,
        names=names,
        win=parse_duration(window, "window", where="funnel"),
        swin=swin,
        excl=_exclusions(exclude, len(values)),
        order=order,
        entry=entry,
        path=path,
        by=_by_list(by),
        by_touch=_by_touch(by_touch, len(values)),
        column=column,
        skip_ahead=skip_ahead,
    )


# --------------------------------------------------------------------------- the paths
def _first_of(key: str = "_u") -> pl.Expr:
    """True on the first row of each path (rows in path order)."""
    return pl.col(key).ne_missing(pl.col(key).shift(1)).fill_null(True)


class _Paths(NamedTuple):
    """The events of a funnel in path order (see :func:`_path_events`)."""

    lf: pl.LazyFrame  # _u (path code), _o (order), timestamp, the step column, …
    end: dt.datetime  # the data end (as_of)
    ids: pl.LazyFrame  # _u, customer_id (, session_id)
    text: pl.LazyFrame  # the events with customer_id and timestamp, up to the data end
    n: int | None = None  # the number of paths, when known without a pass over the events
    values: dict | None = None  # per call: breakdown column -> customer_id and its value
    src: pl.DataFrame | None = None  # the events in memory, where values are looked up (_lookup)
    src_key: str = SEQUENCE  # its column sorted like _o: _cx_seq (the low 32 bits of _o) or _o


def _path_events(events: Frame, spec: _Spec, as_of) -> _Paths:
    """Prepared events up to ``as_of`` in path order, with the path code ``_u`` and order ``_o``.

    One code path for every input: :func:`cxlab.events.as_events` gives integer customer codes
    and ``_cx_seq`` (customer, timestamp, source_row order), :func:`cxlab.events.path_order`
    the customer path order. A session path is one customer's events with one ``session_id``
    (as in the path analyses): see :func:`_session_order`.
    """
    ev = as_events(events, where="funnel")
    if isinstance(ev, pl.LazyFrame):  # read once: every step below reads the events again
        ev = ev.collect()
    names = require(to_lazy(ev, codes=True)[0], ["customer_id", "timestamp", spec.column], "funnel")
    if spec.path == "session" and "session_id" not in names:
        raise DataError(
            "funnel(path='session'): the events frame has no 'session_id' column. Call "
            "cxlab.analysis.paths.sessionize(events, gap='30m') first, or use path='customer'."
        )
    end = resolve_as_of(ev.lazy(), as_of)
    keep = pl.col("timestamp") <= pl.lit(end).cast(_TS)
    lf, _ = path_order(ev)
    if not ev.get_column(SEQUENCE).is_sorted():  # sorted once, here (every step reads it)
        ev = lf.collect()
        lf = ev.lazy()
    text = lf if as_of is None else lf.filter(keep)
    if spec.path == "customer":
        lf = text.with_columns(_u=pl.col(CUSTOMER_CODE), _o=pl.col(SEQUENCE).cast(pl.Int64))
        ids = lf.filter(_first_of()).select("_u", "customer_id")
        return _Paths(lf, end, ids, text, None, {}, ev)
    lf, ids, n, src = _session_paths(text, names, spec)
    return _Paths(
        lf, end, ids, text, n, {}, ev if src is None else src, SEQUENCE if src is None else "_o"
    )


def _read(names: list[str], spec: _Spec) -> list[str]:
    """The columns of the events a session funnel reads (the ids are kept once per path)."""
    read = {"timestamp", spec.column, "touchpoint", "revenue", *spec.by}
    return [c for c in names if c in read and c not in ("customer_id", "session_id")]


def _session_paths(lf: pl.LazyFrame, names: list[str], spec: _Spec):
    """Session paths without a sort, when each session is one run of its customer's events
    once the events without a session are set apart (true of sessionized logs, and of logs
    whose sessions are only interrupted by events without one, e.g. an e-mail open).

    ``lf`` is in customer path order. The events with a session keep that order, the events
    without one follow (one path per customer), in the same order: two lazy filters, no sort
    and no copy of the events before the funnel's own filter (its step events). A session's
    code ``_u`` is the running count of session starts (:func:`_session_starts`); ``_o`` is
    ``_cx_seq`` (offset by 2**32 after the events with a session: ``_cx_seq`` is a UInt32).
    If a session comes back after another one of the same customer (``s1 s2 s1``: two runs'
    keys equal, checked on the run starts only), the events are regrouped by
    :func:`_session_order` instead (same paths, same numbers). Returns the paths, their ids
    (lazy: read only when asked for) and the number of paths (None after a regrouping).
    """
    sid, cid, seq = pl.col("session_id"), pl.col(CUSTOMER_CODE), pl.col(SEQUENCE).cast(pl.Int64)
    read = _read(names, spec)
    df = lf.select(cid, "customer_id", sid, SEQUENCE, *read).collect()
    new = _session_starts(df)
    n_runs = int(new.sum())
    mixed = sid.hash() ^ (cid.cast(pl.UInt64) * 0x9E3779B97F4A7C15)
    if df.select(cid, sid).filter(new).select(mixed.n_unique()).item() != n_runs:
        moved, ids = _session_order(lf, names, spec)  # a session in two runs (or a clash)
        return moved.lazy(), ids, None, moved
    # _u below, on the rows kept only (a UInt32 sum: the Boolean one is slower, same numbers)
    df = df.with_columns(_new=new, _c=new.cast(pl.UInt32).cum_sum())
    alone = pl.lit(n_runs, dtype=pl.UInt32) + cid  # the codes of the paths without a session
    code = (pl.col("_c") - 1).cast(pl.UInt32).alias("_u")
    inn, out = df.lazy().filter(sid.is_not_null()), df.lazy().filter(sid.is_null())
    out_first = out.filter(~same_path([CUSTOMER_CODE]))  # one per customer without a session
    paths = pl.concat(
        [
            inn.select(*read, code, seq.alias("_o")),
            out.select(*read, alone.alias("_u"), (seq + (1 << 32)).alias("_o")),
        ]
    )
    ids = pl.concat(
        [
            inn.filter(pl.col("_new")).select(code, "customer_id", sid),
            out_first.select(alone.alias("_u"), "customer_id", sid),
        ]
    )
    return paths, ids, n_runs + out_first.select(pl.len()).collect().item(), None


def _session_starts(df: pl.DataFrame) -> pl.Series:
    """True at each event that starts a session's run: among the events with a session (in
    customer path order), where the customer or the ``session_id`` text changes.

    Each event is compared with the previous row (:func:`_changed`), which gives that except
    just after events without a session (``s1 - s1``: the run goes on): those rows are
    compared with the end of the previous stretch of events with a session, on a frame of
    the stretches' ends only (no forward fill over every event).
    """
    sid, code = df.get_column("session_id"), df.get_column(CUSTOMER_CODE)
    has = sid.is_not_null()
    no = pl.Series([False])
    new = has & (_changed(sid) | pl.concat([pl.Series([True]), code[1:].ne(code[:-1])]))
    resume = has & ~pl.concat([no, has[:-1]])
    ends = (
        df.select(CUSTOMER_CODE, "session_id")
        .with_columns(resume.alias("_r"))
        .with_row_index("_i")
        .filter(resume | (has & ~pl.concat([has[1:], no])))
    )
    goes_on = ends.filter(pl.col("_r") & same_path([CUSTOMER_CODE, "session_id"]))
    return new.scatter(goes_on.get_column("_i"), False) if goes_on.height else new


def _changed(s: pl.Series) -> pl.Series:
    """True where a value differs from the previous row's (nulls compared as values; True on
    the first row): an exact comparison chunk by chunk (the events come in many chunks, and
    comparing two shifted views of a chunked column would copy one), then at the seams."""
    chunks = s.get_chunks()
    inside = [c[1:].ne_missing(c[:-1]) for c in chunks]
    if len(chunks) == 1:
        return pl.concat([pl.Series([True]), *inside])
    firsts = pl.concat([c[:1] for c in chunks[1:]])
    lasts = pl.concat([c[-1:] for c in chunks[:-1]])
    seams = firsts.ne_missing(lasts)
    parts = [pl.Series([True])]
    for i, c in enumerate(inside):  # one step per chunk (about 100 for 10M events), not per row
        parts += [c] if i == 0 else [seams[i - 1 : i], c]
    return pl.concat(parts)


def _first_run(runs: pl.DataFrame) -> pl.Series:
    """For each run of :func:`_session_order` (``_cx_cid``, ``session_id``), the number of
    the first run of its session.

    Runs of one session share (customer code, 64-bit hash of ``session_id``); two sessions of
    one customer with the same 64-bit hash are not a practical risk. One 64-bit key mixes
    both: a stable sort on it puts each session's runs together, first run first, so that
    run's number is read by a forward fill in sorted order and put back by a scatter (on
    3.5M runs, about 1.2 s of CPU against 2.0 s for a group-by on the pair, in one loaded
    profile). Two pairs with the same mixed key are checked for: then the group-by.
    """
    code, h = pl.col(CUSTOMER_CODE), pl.col("session_id").hash()
    pairs = runs.select(code, h.alias("_h"))
    key = pl.col("_h") ^ (code.cast(pl.UInt64) * 0x9E3779B97F4A7C15)
    perm = pairs.select(pl.arg_sort_by(key, maintain_order=True)).to_series()
    start = pl.col("_k").ne_missing(pl.col("_k").shift(1))
    first = {c: pl.when(start).then(pl.col(c)).forward_fill() for c in ("_r", CUSTOMER_CODE, "_h")}
    srt = (
        pairs[perm]
        .with_columns(key.alias("_k"), perm.alias("_r"))
        .select(
            first["_r"].alias("_u"),
            ((first[CUSTOMER_CODE] != code) | (first["_h"] != pl.col("_h"))).any().alias("_x"),
        )
    )
    if srt.height and srt.get_column("_x")[0]:  # a clash of mixed keys: group on the pair
        return pairs.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).min().over(CUSTOMER_CODE, "_h")
        ).to_series()
    unit = pl.Series("_u", [0] * runs.height, dtype=pl.UInt32)
    return unit.scatter(perm, srt.get_column("_u").cast(pl.UInt32))


def _session_order(
    lf: pl.LazyFrame, names: list[str], spec: _Spec
) -> tuple[pl.DataFrame, pl.LazyFrame]:
    """Events (in customer path order) regrouped into sessions, and each session's ids.

    The events of one session are contiguous runs of the customer's path; a session is
    numbered by its first run, and the events are put in (session, path order) by one sort
    on an integer key (no sort on the session texts); only the columns a funnel reads are
    moved (the texts of ``customer_id`` / ``session_id`` once per session).
    """
    run = ~same_path([CUSTOMER_CODE, "session_id"])
    runs = lf.select((run.cum_sum() - 1).cast(pl.UInt32).alias("_r")).collect().to_series()
    firsts = lf.filter(run).select(CUSTOMER_CODE, "customer_id", "session_id").collect()
    firsts = firsts.with_row_index("_r").with_columns(_first_run(firsts).alias("_u"))
    unit = firsts.get_column("_u").gather(runs)
    moved = lf.select(_read(names, spec)).collect().with_columns(unit.alias("_u"))
    if not unit.is_sorted():  # (session, path order): one integer key, unique
        key = unit.cast(pl.UInt64) * (1 << 32) + pl.int_range(
            len(unit), dtype=pl.UInt64, eager=True
        )
        moved = moved[key.arg_sort()]
    moved = moved.with_columns(_o=pl.int_range(pl.len(), dtype=pl.Int64))
    ids = firsts.filter(pl.col("_r") == pl.col("_u")).select("_u", "customer_id", "session_id")
    return moved, ids.lazy()


def _step_codes(lf: pl.LazyFrame, spec: _Spec) -> tuple[pl.Expr, list[list[int]], dict[str, int]]:
    """Integer codes of ``column`` and, per step, the codes of its values.

    On an enum column (prepared ``touchpoint`` / ``channel``, ``stage``) the codes are the
    enum's own, without a pass over the data; otherwise one text pass
    (:func:`cxlab.contract.prepare.text_codes`).
    """
    dtype = lf.collect_schema()[spec.column]
    if isinstance(dtype, pl.Enum):
        index = {v: i for i, v in enumerate(dtype.categories.to_list())}
        code = pl.col(spec.column).to_physical()  # a small integer type (UInt8 up to 256 values)
    else:
        code, decode, _ = text_codes(lf, spec.column)
        index = {v: i for i, v in decode.items() if v is not None}
    return code, [[index[x] for x in v if x in index] for v in spec.values], index


def _dtype(lf: pl.LazyFrame, code: pl.Expr) -> pl.DataType:
    """The data type of the code expression (``is_in`` takes a list of the same type)."""
    return lf.select(code.alias("_v")).collect_schema()["_v"]


def _check_present(lf: pl.LazyFrame, b: pl.DataFrame, index: dict[str, int], spec: _Spec) -> None:
    """Raise :class:`ParameterError` for a step value that never occurs in ``column`` (the
    values found are read only then)."""
    wanted = sorted({index[v] for vals in spec.values for v in vals if v in index})
    found = (
        b.select([(pl.col("_v") == c).any().alias(str(c)) for c in wanted]).row(0)
        if b.height and wanted
        else []
    )
    present = {c for c, here in zip(wanted, found, strict=False) if here}
    missing = [v for vals in spec.values for v in vals if v not in index or index[v] not in present]
    if spec.column == "stage":
        missing = [v for v in missing if v not in STAGES]
    if not missing:
        return
    found = lf.select(pl.col(spec.column).cast(pl.String).unique()).collect().to_series()
    pool = sorted(
        set(found.drop_nulls().to_list()) | (set(STAGES) if spec.column == "stage" else set())
    )
    v = missing[0]
    raise ParameterError(
        f"The funnel step {v!r} never occurs in column '{spec.column}'.{did_you_mean(v, pool)} "
        f"Values found: {', '.join(pool[:30])}{' …' if len(pool) > 30 else ''}."
    )


def _step_events(lf: pl.LazyFrame, spec: _Spec) -> pl.DataFrame:
    """The events that match some step, in path order: ``_u``, ``_o``, ``timestamp``, ``_v``
    (value code), ``_m_<k>`` (matches step k+1) and, for best-attempt ordered funnels, ``_key``: the
    as-of key of an event, the ``_o`` of the path's last step event with the same timestamp
    (a same-second tie may go either way): ``_o`` itself (no copy) unless there are ties, then
    ``_o`` with the tied rows set (:func:`_tie_keys`).

    The rows are gathered into one chunk (the as-of joins of best attempt are about 4x slower
    on chunked columns). Customer paths are filtered in memory: one-chunk events (as loaded
    and staged) give one chunk directly, where the streaming engine's many chunks needed a
    copy (0.11 against 0.17-0.23 s of CPU for 6.2M of 9.9M events, cold, in one profile).
    Session paths (two lazy branches) stay in the streaming engine, faster for them.
    """
    code, codes, index = _step_codes(lf, spec)
    every = sorted({c for cs in codes for c in cs})
    b = (
        lf.filter(code.is_in(pl.Series(every, dtype=_dtype(lf, code)).implode()))
        .select("_u", "_o", "timestamp", code.alias("_v"))
        .collect(engine="in-memory" if spec.path == "customer" else "auto")
        .rechunk()
    )
    v = pl.col("_v")
    b = b.with_columns(
        [
            pl.any_horizontal([v == c for c in cs] or [False]).alias(f"_m_{k}")
            for k, cs in enumerate(codes)
        ]
    )
    if spec.entry == "best" and spec.order == "ordered":
        b = b.with_columns(_tie_keys(b).alias("_key"))
    _check_present(lf, b, index, spec)
    return b


def _tie_keys(b: pl.DataFrame) -> pl.Series:
    """``_key`` of :func:`_step_events`: ``_o``, except in a run of rows of one path with the
    same timestamp, where every row takes the ``_o`` of the run's last row. Such runs are
    rare (105 rows of 6.2M step events in the bookshop benchmark): they are found on slices
    (no shifted copies) and set by one scatter; without them ``_o`` itself is returned."""
    u, ts, o = b.get_column("_u"), b.get_column("timestamp"), b.get_column("_o")
    if b.height < 2:
        return o
    tied = ((u[1:] == u[:-1]) & (ts[1:] == ts[:-1])).arg_true()  # rows with a tie after them
    if not len(tied):
        return o
    rows = pl.concat([tied, tied + 1]).unique().sort()
    last = (
        pl.DataFrame({"_i": rows})
        .with_columns(_t=pl.col("_i").is_in(tied.implode()))
        .with_columns(_e=pl.when(~pl.col("_t")).then(pl.col("_i")).backward_fill())
        .filter(pl.col("_t"))
        .get_column("_e")
    )
    return o.clone().scatter(tied, o.gather(last))


# --------------------------------------------------------------------------- ordered
def _deadline(spec: _Spec, k: int, start: pl.Expr, at: pl.Expr) -> pl.Expr:
    """Latest time step k+1 (0-based ``k``) may come: window from the attempt's start, step
    window from step k's event; null without either."""
    parts = []
    if spec.win is not None:
        parts.append(start + spec.win)
    if k + 1 < spec.n and spec.swin[k + 1] is not None:
        parts.append(at + spec.swin[k + 1])
    return pl.min_horizontal(parts) if parts else pl.lit(None, dtype=_TS)


def _windows_after(spec: _Spec, k: int) -> bool:
    """Whether step k+2 (0-based ``k``) has a deadline (a window or its step window)."""
    return k + 1 < spec.n and (spec.win is not None or spec.swin[k + 1] is not None)


def _starts(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Events as the start of their own attempt (no previous step): their start ``_s`` is
    their time ``_t``, a column of its own only from step 2 on (one copy fewer here)."""
    return frame.select("_u", "_o", pl.col("timestamp").alias("_t"))


def _start(frame: pl.LazyFrame | pl.DataFrame) -> pl.Expr:
    """The attempt's start of a level's rows (see :func:`_starts`)."""
    return pl.col("_s" if "_s" in frame.collect_schema().names() else "_t")


def _level(b: pl.DataFrame, spec: _Spec, k: int, prev: pl.DataFrame | None) -> pl.DataFrame:
    """Best attempt: the events that reach step k+1 (0-based ``k``) in some attempt, with the
    attempt credited there.

    Columns ``_u``, ``_o``, ``_t`` (time), ``_s`` (the attempt's start time), ``_po`` (the
    previous step's event). An event reaches step k+1 through the latest (in path order)
    event p that reached step k, at the same time or earlier and not the event itself, if
    it lies within the step window of p and the window of p's attempt. The latest p is the
    best one: the latest start (starts never decrease along a path) and the latest time, so
    no per-attempt expansion is needed (one as-of join per step).
    """
    cand = b.lazy().filter(pl.col(f"_m_{k}"))
    if prev is None:  # step 1: every step-1 event starts an attempt
        return _starts(cand).collect()
    return _reach(cand, prev.lazy(), spec, k).collect()


def _reach(cand: pl.LazyFrame, prev: pl.LazyFrame, spec: _Spec, k: int) -> pl.LazyFrame:
    """:func:`_level` for k >= 1: each candidate event's latest earlier step-k event (as-of on
    ``_key``, see :func:`_step_events`)."""
    cols = {"_u": "_pu", "_o": "_po", "_t": "_pt", "_s": "_ps"}
    # the attempt's earlier steps ride along, so the credited chain needs no walk back
    chain = [c for j in range(1, k) for c in (f"_o_{j}", f"step_{j}_at")]
    have = prev.collect_schema().names()
    p = prev.select(
        *[(_start(prev) if a == "_s" else pl.col(a)).alias(b) for a, b in cols.items()],
        *[
            pl.col(c) if c in have else pl.lit(None, dtype=_TS if "at" in c else pl.Int64).alias(c)
            for c in chain
        ],
    )
    overlap = spec.overlap
    if overlap:  # an event of two steps may find itself as step k (same time): then the one before
        moved = [*cols.values(), *chain]
        p = p.with_columns([pl.col(c).shift(1).alias(c + "2") for c in moved])
    j = cand.select("_u", "_o", "timestamp", "_key").join_asof(
        p, left_on="_key", right_on="_po", strategy="backward", check_sortedness=False
    )
    if overlap:
        own = pl.col("_po") == pl.col("_o")
        j = j.with_columns(
            [pl.when(own).then(pl.col(c + "2")).otherwise(pl.col(c)).alias(c) for c in moved]
        )
    at, ts = pl.col("_pt"), pl.col("timestamp")
    dl = _deadline(spec, k - 1, pl.col("_ps"), at)
    ok = (pl.col("_pu") == pl.col("_u")).fill_null(False) & (dl.is_null() | (ts <= dl))
    return j.filter(ok).select(
        "_u",
        "_o",
        ts.alias("_t"),
        pl.col("_ps").alias("_s"),
        *chain,
        pl.col("_po").alias(f"_o_{k}"),
        at.alias(f"step_{k}_at"),
    )


def _best_state(b: pl.DataFrame, spec: _Spec) -> pl.DataFrame:
    """Per path (best attempt): the credited attempt's steps and the next deadline.

    The credited attempt reaches the furthest step first: the path's first event at its
    furthest step, with the earlier steps its attempt came through (carried along by
    :func:`_reach`).
    """
    finals, prev = [], None
    for k in range(spec.n):  # a level is kept only until the next one is found (less memory)
        prev = _level(b, spec, k, prev)
        finals.append(_final(prev, spec, k))
    cols = [c for k in range(spec.n) for c in (f"step_{k + 1}_at", f"_o_{k + 1}")]
    return _furthest(finals, ["_m", "_s", "_dnext", *cols])


def _final(level: pl.DataFrame, spec: _Spec, k: int) -> pl.DataFrame:
    """The first row of each path in a level (:func:`_level`) as a state row, with the next
    deadline ``_dnext`` (see :func:`_best_state`)."""
    lev, start = level.lazy(), _start(level)
    f = lev.filter(_first_of()).with_columns(
        pl.lit(k + 1, dtype=pl.Int32).alias("_m"),
        start.alias("_s"),
        pl.col("_o").alias(f"_o_{k + 1}"),
        pl.col("_t").alias(f"step_{k + 1}_at"),
    )
    if _windows_after(spec, k):
        # the latest deadline of the attempts that stopped here: deadlines never decrease
        # along a path (nor do starts and times) unless a value belongs to two steps
        dl = _deadline(spec, k, start, pl.col("_t")).alias("_dnext")
        last = pl.col("_u").ne_missing(pl.col("_u").shift(-1)).fill_null(True)
        nxt = (
            lev.group_by("_u", maintain_order=True).agg(dl.max()).select("_dnext")
            if spec.overlap
            else lev.filter(last).select(dl)
        )  # one row per path, in the firsts' order: side by side, no join
        f = pl.concat([f, nxt], how="horizontal")
    return f.drop("_o", "_t").collect()


def _furthest(finals: list[pl.DataFrame], cols: list[str]) -> pl.DataFrame:
    """One row per path from the first rows of each step's level (``finals``, one row per
    path): the row of the furthest level the path reached, in level order (paths that
    stopped at step 1, then at step 2, …; callers do not rely on the order of paths).

    A path at level k+1 is at level k too, so a level-k row stays when its path is not at
    level k+1: path codes are small integers (customer codes, session numbers), so that is a
    look-up in a flag per code (no sort, no join). Columns a level lacks are null. (Writing
    the deeper levels into the step-1 rows in place faults less memory but is slower: one
    thread.)
    """
    codes = int(finals[0].get_column("_u").max() or 0) + 1
    parts = []
    for f, deeper in zip(finals, [*finals[1:], None], strict=True):
        if deeper is not None and deeper.height:
            there = pl.repeat(False, codes, eager=True).scatter(deeper.get_column("_u"), True)
            f = f.filter(~there.gather(f.get_column("_u")))
        parts.append(f)
    out = pl.concat(parts, how="diagonal")
    missing = [
        pl.lit(None, dtype=pl.Int64 if c.startswith("_o_") else _TS).alias(c)
        for c in cols
        if c not in out.columns
    ]
    return out.with_columns(missing).select("_u", *cols)


def _first_state(b: pl.DataFrame, spec: _Spec) -> pl.DataFrame:
    """Per path (first entry): step 1 at the path's first step-1 event (``skip_ahead``: the
    path enters at its first event, at the first step it matches), then step k+1 at the first
    step-(k+1) event after step k's in path order, if within the deadline (a later one is
    later still). One row per path: the first step-k event after step k-1's is found by
    binary search in the step-k events' ``_o`` (no join over the events).
    """
    entry_step = pl.coalesce([pl.when(pl.col(f"_m_{k}")).then(pl.lit(k)) for k in range(spec.n)])
    cols = ("_u", "_o", "timestamp")
    steps = [b.lazy().filter(pl.col(f"_m_{k}")).select(cols) for k in range(spec.n)]
    if spec.skip_ahead:  # every path with a step event enters, at its first one
        g = b.lazy().filter(_first_of()).select(*cols, entry_step.alias("_entry"))
    else:  # the paths with a step-1 event, at the first one: their step 1
        g = steps[0].filter(_first_of())
    g, *steps = pl.collect_all([g, *steps])
    none = pl.repeat(None, g.height, dtype=pl.Int64, eager=True)
    paths, at, start = g.get_column("_u"), [], None
    nothing = pl.DataFrame({"_o": none, "timestamp": none.cast(b.schema["timestamp"])})
    for k, cand in enumerate(steps):
        if k == 0:
            q = nothing if spec.skip_ahead else g.select("_o", "timestamp")
        elif cand.height == 0:
            q = nothing
        else:  # the first step-k event after the previous step's
            after, prev = at[-1].get_column("_o"), at[-1].get_column("timestamp")
            q = _first_after(cand, after, paths, spec, k, start, prev)
        if spec.skip_ahead:  # the entry step: the path's first event
            here = g.get_column("_entry") == k
            q = q.select(
                [
                    pl.when(pl.lit(here)).then(pl.lit(g.get_column(c))).otherwise(c).alias(c)
                    for c in ("_o", "timestamp")
                ]
            )
        if k == 0:
            start = (g if spec.skip_ahead else q).get_column("timestamp")
        at.append(q)
    out = _first_table(paths, start, at, spec)
    if spec.skip_ahead:  # the step each path entered at (0-based), for stage_funnel
        out = out.join(g.select("_u", "_entry"), on="_u", how="left", maintain_order="left")
    return out


def _first_after(cand, after, paths, spec: _Spec, k: int, start, prev) -> pl.DataFrame:
    """For each path (``paths``, ``after``: the ``_o`` of its previous step, null when it has
    none), the ``_o`` and time of the first step-k event ``cand`` after it in the path,
    within the deadline; null when there is none, by binary search in ``cand``'s ``_o``.
    When most paths have no previous step (the deeper steps), only the others are searched.
    """
    full = len(after)
    rows = after.is_not_null().arg_true() if after.null_count() > full // 2 else None
    if rows is not None:
        after, paths = after.gather(rows), paths.gather(rows)
        start = start.gather(rows) if start is not None else None
        prev = prev.gather(rows) if prev is not None else None
    i = cand.get_column("_o").search_sorted(after, side="right")
    hit = cand[i.clip(upper_bound=max(cand.height - 1, 0))]
    dl = _deadline(spec, k - 1, pl.lit(start), pl.lit(prev))
    ok = (
        pl.lit(after.is_not_null() & (i < cand.height))
        & (pl.col("_u") == paths)
        & (dl.is_null() | (pl.col("timestamp") <= dl))
    )
    q = hit.select([pl.when(ok).then(pl.col(c)).alias(c) for c in ("_o", "timestamp")])
    if rows is None:
        return q
    return pl.DataFrame(
        [
            pl.repeat(None, full, dtype=q.schema[c], eager=True)
            .scatter(rows, q.get_column(c))
            .alias(c)
            for c in q.columns
        ]
    )


def _first_table(paths, start, at, spec: _Spec) -> pl.DataFrame:
    """The state of :func:`_first_state` from each step's event (``_o``, time) per path."""
    out = pl.DataFrame({"_u": paths, "_s": start}).with_columns(
        [
            c
            for k, q in enumerate(at)
            for c in (
                q.get_column("timestamp").alias(f"step_{k + 1}_at"),
                q.get_column("_o").alias(f"_o_{k + 1}"),
            )
        ]
    )
    reached = [
        pl.when(pl.col(f"_o_{k + 1}").is_not_null()).then(pl.lit(k + 1, dtype=pl.Int32))
        for k in range(spec.n)
    ]
    out = out.with_columns(pl.max_horizontal(reached).fill_null(0).alias("_m"))
    nexts = [
        pl.when(pl.col("_m") == k + 1).then(
            _deadline(spec, k, pl.col("_s"), pl.col(f"step_{k + 1}_at"))
        )
        for k in range(spec.n)
        if _windows_after(spec, k)
    ]
    dnext = pl.coalesce(nexts) if nexts else pl.lit(None, dtype=_TS)
    names = [c for k in range(spec.n) for c in (f"step_{k + 1}_at", f"_o_{k + 1}")]
    out = out.with_columns(dnext.alias("_dnext")).filter(pl.col("_m") > 0)
    return out.select("_u", "_m", "_s", "_dnext", *names)


def _ordered_state(b: pl.DataFrame, spec: _Spec) -> pl.DataFrame:
    """Per path (``order="ordered"``): the credited attempt's steps (``step_<k>_at``,
    ``_o_<k>``), its furthest step ``_m``, its start ``_s`` and the next deadline ``_dnext``."""
    state = _first_state(b, spec) if spec.entry == "first" else _best_state(b, spec)
    if spec.skip_ahead:  # steps before the entry step count as passed at the entry
        state = _credit_skipped(state, spec.n)
    return state


def _credit_skipped(state: pl.DataFrame, n: int) -> pl.DataFrame:
    for k in reversed(range(n - 1)):
        state = state.with_columns(
            pl.coalesce(pl.col(f"step_{k + 1}_at"), pl.col(f"step_{k + 2}_at")).alias(
                f"step_{k + 1}_at"
            ),
            pl.coalesce(pl.col(f"_o_{k + 1}"), pl.col(f"_o_{k + 2}")).alias(f"_o_{k + 1}"),
        )
    return state


# --------------------------------------------------------------------------- strict, any
def _strict_state(lf: pl.LazyFrame, spec: _Spec) -> pl.DataFrame:
    """Per path (``order="strict"``): attempts are runs of consecutive events from a step-1
    event (every one with best attempt, the path's first with first entry); the credited one
    reaches furthest, first."""
    code, codes, index = _step_codes(lf, spec)
    dtype = _dtype(lf, code)
    matches = [pl.col("_v").is_in(pl.Series(cs, dtype=dtype).implode()) for cs in codes]
    u, ts, o = pl.col("_u"), pl.col("timestamp"), pl.col("_o")
    seq = lf.select("_u", "_o", "timestamp", code.alias("_v"))
    every = pl.Series(sorted({c for cs in codes for c in cs}), dtype=dtype)
    _check_present(
        lf,
        seq.filter(pl.col("_v").is_in(every.implode())).select("_v").unique().collect(),
        index,
        spec,
    )
    m1 = matches[0]
    anchor = m1 & (m1.cast(pl.UInt32).cum_sum().over("_u") == 1) if spec.entry == "first" else m1
    ahead = []
    for j in range(1, spec.n):
        ahead += [
            ((u.shift(-j) == u).fill_null(False) & matches[j].shift(-j).fill_null(False)).alias(
                f"_ok_{j}"
            ),
            ts.shift(-j).alias(f"step_{j + 1}_at"),
            o.shift(-j).alias(f"_o_{j + 1}"),
        ]
    st = seq.with_columns(anchor.alias("_a"), *ahead).filter(pl.col("_a"))
    st = st.with_columns(ts.alias("step_1_at"), o.alias("_o_1"), ts.alias("_s"))
    reached, depth, dl = pl.lit(True), pl.lit(1, dtype=pl.Int32), []
    for k in range(1, spec.n):
        d = _deadline(spec, k - 1, pl.col("_s"), pl.col(f"step_{k}_at"))
        reached = reached & pl.col(f"_ok_{k}") & (d.is_null() | (pl.col(f"step_{k + 1}_at") <= d))
        depth = depth + reached.cast(pl.Int32)
        dl.append(d)
    st = st.with_columns(depth.alias("_m"))
    if spec.n > 1:  # the deadline of the step after the attempt's furthest
        st = st.with_columns(
            pl.coalesce(
                [pl.when(pl.col("_m") == k).then(d) for k, d in enumerate(dl, start=1)]
            ).alias("_dnext")
        )
        best = st.group_by("_u").agg(pl.col("_m").max().alias("_mm"))
        nxt = (
            st.join(best, on="_u")
            .filter(pl.col("_m") == pl.col("_mm"))
            .group_by("_u")
            .agg(pl.col("_dnext").max())
        )
    st = st.filter(pl.col("_m") == pl.col("_m").max().over("_u")).filter(_first_of())
    keep = [
        "_u",
        "_m",
        "_s",
        *[c for k in range(spec.n) for c in (f"step_{k + 1}_at", f"_o_{k + 1}")],
    ]
    if spec.n > 1:
        st = st.select(keep).join(nxt, on="_u", how="left")
    else:
        st = st.select(keep)
    out = st.collect()
    # steps after the furthest are not reached
    return out.with_columns(
        [
            pl.when(pl.col("_m") > k).then(pl.col(c)).alias(c)
            for k in range(1, spec.n)
            for c in (f"step_{k + 1}_at", f"_o_{k + 1}")
        ]
    ).sort("_u")


def _any_state(b: pl.DataFrame, spec: _Spec) -> pl.DataFrame:
    """Per path (``order="any"``): steps 1..k in any order; step k at the latest of the first
    occurrences of steps 1..k, within ``window`` of the earliest of them."""
    ts, o, n = pl.col("timestamp"), pl.col("_o"), spec.n
    agg = []
    for k in range(n):  # rows are in path order: the first match is the earliest
        agg += [
            ts.filter(pl.col(f"_m_{k}")).first().alias(f"_f_{k}"),
            o.filter(pl.col(f"_m_{k}")).first().alias(f"_fo_{k}"),
        ]
    st = b.lazy().filter(pl.col("_m_0").any().over("_u")).group_by("_u").agg(agg)
    exprs, reached, dl = [], pl.lit(True), []
    for k in range(n):
        firsts = [pl.col(f"_f_{j}") for j in range(k + 1)]
        lo, hi = pl.min_horizontal(firsts), pl.max_horizontal(firsts)
        ok = pl.col(f"_f_{k}").is_not_null()
        if spec.win is not None:
            ok = ok & ((hi - lo) <= spec.win)
        reached = reached & ok
        rows = [pl.when(pl.col(f"_f_{j}") == hi).then(pl.col(f"_fo_{j}")) for j in range(k + 1)]
        exprs += [
            pl.when(reached).then(hi).alias(f"step_{k + 1}_at"),
            pl.when(reached).then(pl.max_horizontal(rows)).alias(f"_o_{k + 1}"),
        ]
        if k + 1 < n:  # the earliest first occurrence among steps 1..k+1 anchors the window
            dl.append(
                pl.when(reached).then(lo + spec.win)
                if spec.win is not None
                else pl.lit(None, dtype=_TS)
            )
    st = st.with_columns(exprs).with_columns(
        [d.alias(f"deadline_{k + 2}") for k, d in enumerate(dl)]
    )
    depth = pl.sum_horizontal(
        [pl.col(f"step_{k + 1}_at").is_not_null().cast(pl.Int32) for k in range(n)]
    )
    return (
        st.with_columns(depth.alias("_m"), pl.col("step_1_at").alias("_s"))
        .drop([c for k in range(n) for c in (f"_f_{k}", f"_fo_{k}")])
        .collect()
        .sort("_u")
    )


# --------------------------------------------------------------------------- per path
def _with_deadlines(state: pl.DataFrame, spec: _Spec) -> pl.DataFrame:
    """``deadline_<k>`` (k >= 2): the credited attempt's, and at the step after the furthest
    the latest of the path's attempts that stopped there (is anybody's window still open?)."""
    dl = []
    for k in range(1, spec.n):
        chain = _deadline(spec, k - 1, pl.col("_s"), pl.col(f"step_{k}_at"))
        d = pl.when(pl.col("_m") == k).then(pl.col("_dnext")).otherwise(chain)
        dl.append(pl.when(pl.col(f"step_{k}_at").is_not_null()).then(d).alias(f"deadline_{k + 1}"))
    return state.with_columns(dl)


def _excluded(state: pl.DataFrame, lf: pl.LazyFrame, spec: _Spec, end: dt.datetime) -> pl.DataFrame:
    """``excluded``: an exclusion event between the credited attempt's steps (PostHog)."""
    if not spec.excl:
        return state.with_columns(pl.lit(False).alias("excluded"))
    end_lit = pl.lit(end).cast(_TS)
    val = pl.col(spec.column).cast(pl.String)
    ex_vals = sorted({v for tps, _, _ in spec.excl for v in tps})
    ex_ev = lf.filter(val.is_in(ex_vals)).select("_u", "_o", "timestamp", val.alias("_x")).collect()
    flags = []
    for i, (tps, a, b) in enumerate(spec.excl):
        lo_o = pl.col(f"_o_{a + 1}")
        reached_b = pl.col(f"step_{b + 1}_at").is_not_null()
        cap = pl.min_horizontal(pl.col("_s") + spec.win, end_lit) if spec.win else end_lit
        bounds = (
            state.lazy()
            .filter(lo_o.is_not_null())
            .select(
                "_u",
                lo_o.alias("_lo"),
                reached_b.alias("_rb"),
                pl.col(f"_o_{b + 1}").alias("_hi"),
                pl.when(reached_b).then(pl.col(f"step_{b + 1}_at")).otherwise(cap).alias("_hi_t"),
            )
        )
        o, ts = pl.col("_o"), pl.col("timestamp")
        inside = (o > pl.col("_lo")) & pl.when(pl.col("_rb")).then(o < pl.col("_hi")).otherwise(
            ts <= pl.col("_hi_t")
        )
        hit = (
            ex_ev.lazy()
            .filter(pl.col("_x").is_in(tps))
            .join(bounds, on="_u")
            .filter(inside)
            .select("_u")
            .unique()
            .with_columns(pl.lit(True).alias(f"_ex_{i}"))
            .collect()
        )
        state = state.join(hit, on="_u", how="left")
        flags.append(pl.col(f"_ex_{i}").fill_null(False))
    return state.with_columns(pl.any_horizontal(flags).alias("excluded")).drop(
        [f"_ex_{i}" for i in range(len(spec.excl))]
    )


def _touch(spec: _Spec) -> pl.Expr:
    """The ``_o`` of the event that gives the breakdown value (``by_touch``)."""
    if spec.by_touch == "first":
        return pl.col("_o_1")
    if spec.by_touch == "last":
        return pl.coalesce(
            [pl.when(pl.col("_m") == k + 1).then(pl.col(f"_o_{k + 1}")) for k in range(spec.n)]
        )
    return pl.col(f"_o_{spec.by_touch}")


def _event_by(spec: _Spec, names: list[str]) -> list[str]:
    """The breakdowns read in the events (the others are customers columns or the cohort)."""
    return [c for c in spec.by if c in names and c != "signup_cohort" and c not in spec.ids]


def _with_ids(state: pl.DataFrame, ids: pl.LazyFrame) -> pl.DataFrame:
    """``state`` with each path's ``customer_id`` (and ``session_id``): ``ids`` is sorted by
    path code, so each path's row is found by binary search (no join on 1.7M sessions)."""
    ids = ids.collect()
    at = ids.get_column("_u").search_sorted(state.get_column("_u"))
    return pl.concat([state, ids.drop("_u")[at]], how="horizontal")


def _groups(
    units: pl.DataFrame,
    spec: _Spec,
    paths: _Paths,
    customers: Frame | None,
    cohort_every: str,
) -> pl.DataFrame:
    """The breakdown values of ``units`` (``_u``, ids, ``_touch``): events columns at the touch
    event (:func:`_lookup`), customers columns, ``signup_cohort``."""
    ev_by = _event_by(spec, paths.lf.collect_schema().names())
    if ev_by:
        vals = _lookup(paths, units, "_touch", {c: pl.col(c).cast(pl.String) for c in ev_by})
        units = _attach(units, vals, "_touch")
        miss = pl.col("_touch").is_null()
        units = units.with_columns(
            [
                pl.when(miss)
                .then(pl.lit(NOT_REACHED))
                .otherwise(pl.col(c).fill_null(MISSING))
                .alias(c)
                for c in ev_by
            ]
        )
    for c in spec.by:
        if c in ev_by:
            continue
        units = units.join(_values(paths, c, customers, cohort_every), on="customer_id", how="left")
        units = units.with_columns(pl.col(c).fill_null(MISSING))
    return units


def _values(paths: _Paths, by: str, customers: Frame | None, cohort_every: str) -> pl.DataFrame:
    """:func:`_customer_values`, read once per funnel (the paths in scope need them again)."""
    if by not in paths.values:
        paths.values[by] = _customer_values(by, paths.text, customers, cohort_every)
    return paths.values[by]


def _customer_values(
    by: str, lf: pl.LazyFrame, customers: Frame | None, cohort_every: str
) -> pl.DataFrame:
    """``customer_id`` and a customer attribute (or the signup cohort) as text."""
    if by == "signup_cohort":
        if customers is not None:
            cl, _ = to_lazy(customers, "customers")
            require(cl, ["customer_id", "signup_date"], "funnel(by='signup_cohort')", "customers")
            coh = cl.select("customer_id", pl.col("signup_date").cast(pl.Date).alias("_d"))
        else:
            coh = lf.group_by("customer_id").agg(pl.col("timestamp").min().dt.date().alias("_d"))
        return (
            coh.select(
                "customer_id",
                pl.col("_d").dt.truncate(cohort_every).dt.strftime("%Y-%m-%d").alias(by),
            )
            .unique("customer_id", keep="first")
            .collect()
        )
    if customers is None:
        cols = lf.collect_schema().names()
        raise DataError(
            f"funnel: the breakdown column '{by}' is not in the events frame."
            f"{did_you_mean(by, cols)} Pass customers=... to break down by a customer attribute "
            "(e.g. segment), or by='signup_cohort'."
        )
    cl, _ = to_lazy(customers, "customers")
    require(cl, ["customer_id", by], "funnel", "customers")
    return (
        cl.select("customer_id", pl.col(by).cast(pl.String))
        .unique("customer_id", keep="first")
        .collect()
    )


def _lookup(paths: _Paths, state: pl.DataFrame, key: str, cols: dict[str, pl.Expr]) -> pl.DataFrame:
    """``key`` (an ``_o`` column of ``state``, sorted and unique) and ``cols`` of those events,
    read in the events in memory (``paths.src``): the rows are found by binary search on the
    column sorted like ``_o`` (no hash join and no copy of the events), ``cols`` computed on
    them only."""
    keys = state.get_column(key).drop_nulls().unique().sort()
    src = paths.src
    if paths.src_key == SEQUENCE:  # _o is _cx_seq (+ 2**32 after the events with a session)
        find = (keys % (1 << 32)).cast(src.schema[SEQUENCE])
    else:
        find = keys.cast(src.schema[paths.src_key])
    rows = src.get_column(paths.src_key).search_sorted(find)
    roots = sorted({r for e in cols.values() for r in e.meta.root_names()})
    return src.select(roots)[rows].select(**cols).with_columns(keys.alias(key)).select(key, *cols)


def _attach(state: pl.DataFrame, table: pl.DataFrame, key: str) -> pl.DataFrame:
    """``state`` with the other columns of ``table`` at the row whose ``key`` is its own
    (null where none). ``table`` has one row per key, sorted (:func:`_lookup`), so a row is
    found by binary search: no hash join, which copies every column of ``state`` (1.7M
    session paths on 10M events) to add one."""
    cols = [c for c in table.columns if c != key]
    keys, k = state.get_column(key), table.get_column(key)
    if table.height == 0 or keys.null_count() == len(keys):
        return state.with_columns([pl.lit(None, dtype=table.schema[c]).alias(c) for c in cols])
    rows = None
    if keys.null_count() > len(keys) // 2:  # e.g. the last step's events: look up those only
        rows = keys.is_not_null().arg_true()
        keys = keys.gather(rows)
    at = k.search_sorted(keys).clip(0, table.height - 1)
    found = k.gather(at) == keys
    vals = table.select(cols)[at].select([pl.when(found).then(pl.col(c)).alias(c) for c in cols])
    if rows is not None:  # back to one value per row of state, null elsewhere
        vals = pl.DataFrame(
            [
                pl.repeat(None, state.height, dtype=vals.schema[c], eager=True)
                .scatter(rows, vals.get_column(c))
                .alias(c)
                for c in cols
            ]
        )
    return state.hstack(vals)


def _state(
    events: Frame,
    spec: _Spec,
    *,
    as_of=None,
    customers: Frame | None = None,
    cohort_every: str = "1mo",
    scope: bool = False,
    ids: bool = False,
):
    """Per path state (private columns start with ``_``), the data end, and (``scope``) the
    number of paths in scope per breakdown group. The ids (``customer_id``, ``session_id``)
    are added when asked for (``ids``) or needed by a breakdown."""
    paths = _path_events(events, spec, as_of)
    lf, end = paths.lf, paths.end
    names = lf.collect_schema().names()
    if spec.order == "strict":
        state = _with_deadlines(_strict_state(lf, spec), spec)
    else:
        b = _step_events(lf, spec)
        if spec.order == "any":
            state = _any_state(b, spec)
        else:
            state = _with_deadlines(_ordered_state(b, spec), spec)
    state = _excluded(state, lf, spec, end)
    if ids or any(c not in _event_by(spec, names) for c in spec.by):
        paths = paths._replace(ids=paths.ids.collect().lazy())  # read once (the scope too)
        state = _with_ids(state, paths.ids)
    state = state.with_columns(_touch(spec).alias("_touch"))
    if "revenue" in names:
        rev = _lookup(paths, state, f"_o_{spec.n}", {"_revenue": pl.col("revenue")})
        state = _attach(state, rev, f"_o_{spec.n}")
    state = _groups(state, spec, paths, customers, cohort_every)
    steps = pl.sum_horizontal(
        [pl.col(f"step_{k + 1}_at").is_not_null().cast(pl.Int32) for k in range(spec.n)]
    )
    state = state.with_columns(steps.alias("steps_reached"))
    if not scope:
        return state, end, None, lf
    return state, end, _scope(state, paths, spec, customers, cohort_every), lf


def _scope(
    state: pl.DataFrame, paths: _Paths, spec: _Spec, customers, cohort_every
) -> pl.DataFrame:
    """Paths with an event up to ``as_of`` per breakdown group (``in_scope``); paths that never
    reached step 1 take the events columns of their first event."""
    lf = paths.lf
    if not spec.by:
        if paths.n is not None:
            return pl.DataFrame({"in_scope": [paths.n]}, schema={"in_scope": pl.Int64})
        return lf.select(_first_of().sum().cast(pl.Int64).alias("in_scope")).collect()
    names = lf.collect_schema().names()
    ev_by = [c for c in spec.by if c in names and c != "signup_cohort"]
    first = lf.filter(_first_of()).select("_u", *[pl.col(c).cast(pl.String) for c in ev_by])
    others = first.join(state.lazy().select("_u"), on="_u", how="anti")
    if any(c not in ev_by for c in spec.by):  # customers columns: by customer_id
        others = others.join(paths.ids, on="_u", how="left")
    others = _others(others.collect(), ev_by, spec, paths, customers, cohort_every)
    both = pl.concat([state.select(spec.by), others.select(spec.by)])
    return both.group_by(spec.by).agg(pl.len().cast(pl.Int64).alias("in_scope"))


def _others(others, ev_by, spec, paths: _Paths, customers, cohort_every) -> pl.DataFrame:
    out = others.with_columns([pl.col(c).fill_null(MISSING) for c in ev_by])
    for c in spec.by:
        if c not in ev_by:
            out = out.join(_values(paths, c, customers, cohort_every), on="customer_id", how="left")
            out = out.with_columns(pl.col(c).fill_null(MISSING))
    return out


# --------------------------------------------------------------------------- the table
#: The columns of a funnel table after its breakdown columns, in order.
FUNNEL_COLUMNS: tuple[str, ...] = (
    "step",
    "step_name",
    "entered",
    "converted",
    "open_window",
    "censored",
    "eligible",
    "converted_eligible",
    "conversion_rate",
    "ci_low",
    "ci_high",
    "drop_off",
    "overall_rate",
    "median_hours",
    "p90_hours",
    "excluded",
    "small_n",
    "in_scope",
    "share_of_all",
    "revenue",
    "revenue_per_converter",
)


def _step_counts(
    s: pl.LazyFrame, spec: _Spec, k: int, end_lit: pl.Expr, completed: bool
) -> pl.LazyFrame:
    """One funnel row per breakdown group for step k+1 (0-based ``k``)."""
    reached = pl.col(f"step_{k + 1}_at").is_not_null()
    if k == 0:
        entered, open_w, hours = reached, pl.lit(False), pl.lit(None, dtype=pl.Float64)
    else:
        entered = pl.col(f"step_{k}_at").is_not_null()
        open_w = entered & (pl.col(f"deadline_{k + 1}") > end_lit).fill_null(False)
        hours = (
            pl.col(f"step_{k + 1}_at") - pl.col(f"step_{k}_at")
        ).dt.total_microseconds() / _HOUR_US
    open_rate = open_w if completed else pl.lit(False)
    last = k == spec.n - 1 and "_revenue" in s.collect_schema().names()
    return (
        s.with_columns(hours.alias("_h"))
        .group_by(spec.by)
        .agg(
            entered.sum().cast(pl.Int64).alias("entered"),
            reached.sum().cast(pl.Int64).alias("converted"),
            open_w.sum().cast(pl.Int64).alias("open_window"),
            (open_w & ~reached).sum().cast(pl.Int64).alias("censored"),
            (entered & ~open_rate).sum().cast(pl.Int64).alias("eligible"),
            (reached & ~open_rate).sum().cast(pl.Int64).alias("converted_eligible"),
            pl.col("step_1_at").is_not_null().sum().cast(pl.Int64).alias("_started"),
            pl.col("_h").filter(reached).median().alias("median_hours"),
            pl.col("_h").filter(reached).quantile(0.9, interpolation="linear").alias("p90_hours"),
            (
                exact_sum(pl.col("_revenue").filter(reached))
                if last
                else pl.lit(None, dtype=pl.Float64)
            ).alias("revenue"),
        )
        .with_columns(
            pl.lit(k + 1, dtype=pl.Int64).alias("step"), pl.lit(spec.names[k]).alias("step_name")
        )
    )


def _aggregate(
    state: pl.DataFrame, spec: _Spec, end: dt.datetime, completed_windows: bool, scope: pl.DataFrame
) -> pl.DataFrame:
    groups, end_lit = spec.by, pl.lit(end).cast(_TS)
    excluded = (
        state.group_by(groups).agg(pl.col("excluded").sum().cast(pl.Int64))
        if groups
        else state.select(pl.col("excluded").sum().cast(pl.Int64))
    )
    s = state.lazy()
    if spec.excl:  # (without exclusions no path is excluded: no copy of the state per step)
        s = s.filter(~pl.col("excluded"))
    parts = [_step_counts(s, spec, k, end_lit, completed_windows) for k in range(spec.n)]
    out = pl.concat(pl.collect_all(parts), how="diagonal_relaxed").sort([*groups, "step"])
    rate = pl.col("converted_eligible") / pl.col("eligible")
    out = out.with_columns(*wilson_bounds("converted_eligible", "eligible")).with_columns(
        pl.when(pl.col("eligible") > 0).then(rate).alias("conversion_rate"),
        (pl.col("eligible") - pl.col("converted_eligible")).alias("drop_off"),
        pl.when(pl.col("_started") > 0)
        .then(pl.col("converted") / pl.col("_started"))
        .alias("overall_rate"),
        small_n("eligible"),
    )
    if groups:
        out = out.join(excluded, on=groups, how="left").join(scope, on=groups, how="left")
    else:
        out = out.with_columns(
            pl.lit(excluded.item()).cast(pl.Int64).alias("excluded"),
            pl.lit(scope.item()).cast(pl.Int64).alias("in_scope"),
        )
    out = out.with_columns(
        (pl.col("converted") / pl.col("in_scope")).alias("share_of_all"),
        pl.when(pl.col("converted") > 0)
        .then(pl.col("revenue") / pl.col("converted"))
        .alias("revenue_per_converter"),
    )
    return out.select(*groups, *FUNNEL_COLUMNS).sort([*groups, "step"])


# --------------------------------------------------------------------------- public
_SPEC_ARGS = (
    "window",
    "step_windows",
    "order",
    "entry",
    "path",
    "by",
    "by_touch",
    "exclude",
    "column",
)
_STATE_ARGS = ("as_of", "customers", "cohort_every")


def _run(
    events: Frame,
    steps,
    kwargs: dict,
    *,
    scope: bool = False,
    skip_ahead: bool = False,
    where: str = "funnel",
    ids: bool = False,
):
    """(state, spec, end, scope) for the keyword arguments of :func:`funnel`."""
    unknown = sorted(set(kwargs) - set(_SPEC_ARGS) - set(_STATE_ARGS) - {"completed_windows"})
    if unknown:
        known = [*_SPEC_ARGS, *_STATE_ARGS, "completed_windows"]
        raise ParameterError(
            f"{where} got an unexpected keyword argument {unknown[0]!r}."
            f"{did_you_mean(unknown[0], known)} Arguments: {', '.join(known)}."
        )
    spec = _spec(
        steps, skip_ahead=skip_ahead, **{k: v for k, v in kwargs.items() if k in _SPEC_ARGS}
    )
    state, end, sc, lf = _state(
        events, spec, scope=scope, ids=ids, **{k: v for k, v in kwargs.items() if k in _STATE_ARGS}
    )
    return state, spec, end, sc, lf


def funnel_customers(events: Frame, steps: Sequence[Step], **kwargs) -> pl.DataFrame:
    """Per-path funnel progress (the "view customers" of a funnel), sorted by customer.

    Takes the same arguments as :func:`funnel`. Returns ``customer_id`` (and ``session_id``
    with ``path="session"``), the breakdown columns when ``by`` is given, ``step_<k>_at``
    (time the credited attempt reached step k, null when not), ``deadline_<k>`` (latest time
    step k could count, null without window), ``excluded``, ``steps_reached``
    (0..len(steps); excluded customers keep their value).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b"], "timestamp": [t, t, t],
    ...                    "touchpoint": ["site_visit", "checkout", "site_visit"],
    ...                    "source_row": [1, 2, 3]})
    >>> funnel_customers(ev, ["site_visit", "checkout"])["steps_reached"].to_list()
    [2, 1]
    """
    state, spec, _, _, _ = _run(events, steps, kwargs, where="funnel_customers", ids=True)
    return _customers_table(state, spec)


def _customers_table(state: pl.DataFrame, spec: _Spec) -> pl.DataFrame:
    cols = [
        *spec.ids,
        *spec.by,
        *[f"step_{k + 1}_at" for k in range(spec.n)],
        *[f"deadline_{k + 1}" for k in range(1, spec.n)],
        "excluded",
        "steps_reached",
    ]
    return state.select(cols).sort(spec.ids)


def funnel(
    events: Frame,
    steps: Sequence[Step],
    *,
    window: Window = None,
    step_windows: Sequence[Window] | Mapping[int | str, Window] | None = None,
    order: Literal["ordered", "strict", "any"] = "ordered",
    entry: Literal["best", "first"] = "best",
    path: Literal["customer", "session"] = "customer",
    by: By = None,
    by_touch: Literal["first", "last"] | int = "first",
    exclude: Sequence[str | tuple[str, int, int]] | None = None,
    as_of: dt.datetime | dt.date | None = None,
    column: str = "touchpoint",
    customers: Frame | None = None,
    completed_windows: bool = True,
    cohort_every: str = "1mo",
) -> pl.DataFrame:
    """Conversion funnel with Wilson intervals, censoring and time to convert.

    Definitions (best attempt, first entry, order, windows, censoring, breakdowns) are in
    the module docstring; best attempt follows ClickHouse ``windowFunnel`` (default mode),
    Amplitude and Retentioneering, first entry is cxlab's earlier definition.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events (with ``stage`` when ``column="stage"``), prepared or not.
    steps : list
        Ordered steps; each a value of ``column`` or a list of values.
    window : timedelta or str, optional
        Overall conversion window from the attempt's step 1 (e.g. ``"30d"``).
    step_windows : list or dict, optional
        Window from step k-1 to step k: a list of ``len(steps) - 1`` entries (None = no
        limit) or a dict ``{k: window}`` with k the 1-based target step (or its name).
    order : {"ordered", "strict", "any"}
        Eventual order, consecutive events, or any order.
    entry : {"best", "first"}
        Every step-1 event starts an attempt and the furthest counts (``"best"``), or only
        the first step-1 event does (``"first"``).
    path : {"customer", "session"}
        Count customers, or sessions (needs ``session_id``).
    by : str or list of str, optional
        Breakdowns: events columns (value at the ``by_touch`` event, e.g. ``channel``),
        customers columns (need ``customers``, e.g. ``segment``), or ``"signup_cohort"``.
    by_touch : {"first", "last"} or int
        Which event of the credited attempt gives an events column's value: its first step,
        its furthest step reached, or step k (1-based; ``"(not reached)"`` when not reached).
    exclude : list, optional
        Exclusion steps: touchpoints, or ``(touchpoint, from_step, to_step)`` tuples.
    as_of : datetime or date, optional
        The data end (default: the last timestamp); later events are ignored.
    column : str
        The column the steps are matched in (``touchpoint`` or ``stage`` …).
    customers : DataFrame or LazyFrame, optional
        Customer attributes for ``by``.
    completed_windows : bool
        True (default): leave paths whose window is still open out of the rate.
    cohort_every : str
        Cohort width for ``by="signup_cohort"`` (polars truncate string, default ``"1mo"``).

    Returns
    -------
    DataFrame
        One row per (breakdown values, step), ordered. Columns: [``by``…], ``step``
        (1-based), ``step_name``, ``entered`` (reached the previous step; step 1: reached
        step 1), ``converted`` (reached this step), ``open_window``, ``censored`` (open
        window and not converted), ``eligible`` (entered minus open window),
        ``converted_eligible``, ``conversion_rate`` = converted_eligible / eligible with
        Wilson ``ci_low`` / ``ci_high``, ``drop_off`` (eligible - converted_eligible),
        ``overall_rate`` (converted / reached step 1), ``median_hours`` and ``p90_hours``
        (time from the previous step among converters), ``excluded`` (paths removed by
        exclusion steps, same on every row of a group), ``small_n`` (eligible < 30),
        ``in_scope`` (customers or sessions with an event up to ``as_of`` in the group),
        ``share_of_all`` (converted / in_scope), ``revenue`` and ``revenue_per_converter``
        (last step only: the revenue of the converters' last-step events, exact sum; null
        without a ``revenue`` column).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> h = dt.timedelta(hours=1)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "d"],
    ...     "timestamp": [t, t + 2 * h, t, t, t + 5 * h, t],
    ...     "touchpoint": ["site_visit", "purchase", "site_visit", "site_visit", "purchase", "ad"]})
    >>> f = funnel(ev, ["site_visit", "purchase"])
    >>> f.select("step_name", "entered", "converted", "conversion_rate", "share_of_all").rows()
    [('site_visit', 3, 3, 1.0, 0.75), ('purchase', 3, 2, 0.6666666666666666, 0.5)]
    """
    # over 80 lines only through the docstring (parameters and returned columns)
    kwargs = dict(
        window=window,
        step_windows=step_windows,
        order=order,
        entry=entry,
        path=path,
        by=by,
        by_touch=by_touch,
        exclude=exclude,
        as_of=as_of,
        column=column,
        customers=customers,
        cohort_every=cohort_every,
    )
    state, spec, end, scope, _ = _run(events, steps, kwargs, scope=True)
    return _aggregate(state, spec, end, completed_windows, scope)


def stage_funnel(
    events: Frame,
    stages: Sequence[str] = STAGES,
    *,
    journey_map: Mapping[str, str] | None = None,
    purchase_touchpoints: Sequence[str] = ("purchase",),
    base: Literal["first_seen", "first_stage"] = "first_seen",
    **kwargs,
) -> pl.DataFrame:
    """Funnel over journey stages (``column="stage"``); other arguments as in :func:`funnel`.

    The base (who is counted), ``base=``:

    ``"first_seen"`` (default)
        Every customer with an event in one of ``stages`` enters the funnel, at the first
        stage they were seen in (their earliest such event); stages before it count as
        passed (a customer first seen at consideration counts at awareness too — awareness
        was not tracked for them), and later stages count when reached after that entry, in
        order. Step 1's ``entered`` is therefore every customer seen in the stages (e.g.
        400 of 400 for a client whose customers mostly start at consideration), and the
        ``entered_here`` column says how many entered at each stage. One entry per
        customer: ``entry`` does not apply; ``order`` must be ``"ordered"``.
    ``"first_stage"``
        The earlier definition: only customers with an event of the first stage enter (n =
        247 of 400 for that client); then as :func:`funnel`.

    Stages are added with :func:`cxlab.analysis.journey.assign_stages` when ``events`` has no
    ``stage`` column (then ``journey_map`` is required).

    Returns
    -------
    DataFrame
        The :func:`funnel` table plus ``entered_here``: customers whose funnel began at this
        stage (``"first_stage"``: all at step 1).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "a", "b", "b", "c"], "timestamp": [t] * 6,
    ...     "touchpoint": ["ad", "site_visit", "purchase", "site_visit", "purchase", "ad"],
    ...     "source_row": [1, 2, 3, 4, 5, 6]})
    >>> m = {"ad": "awareness", "site_visit": "consideration", "purchase": "purchase"}
    >>> st = ["awareness", "consideration", "purchase"]
    >>> stage_funnel(ev, st, journey_map=m).select("converted", "entered_here").rows()
    [(3, 2), (2, 1), (2, 0)]
    >>> stage_funnel(ev, st, journey_map=m, base="first_stage")["converted"].to_list()
    [2, 1, 1]
    """
    # over 80 lines only through the docstring (parameters and returned columns)
    _choice(base, ("first_seen", "first_stage"), "base", "stage_funnel")
    lf, _ = to_lazy(events)
    if "stage" not in lf.collect_schema().names():
        if journey_map is None:
            raise DataError(
                "stage_funnel: the events frame has no 'stage' column and no journey_map was "
                "given. Pass journey_map=config.journey_map or use assign_stages first."
            )
        events = assign_stages(events, journey_map, purchase_touchpoints)
    for s in stages:
        if s not in STAGES:
            raise ParameterError(
                f"stage_funnel: {s!r} is not a stage.{did_you_mean(s, STAGES)} Stages: {STAGES}."
            )
    skip = base == "first_seen"
    if skip:
        if kwargs.get("order", "ordered") != "ordered":
            raise ParameterError(
                "stage_funnel(base='first_seen') counts stages in order from where each customer "
                f"entered: 'order' must be 'ordered'. Got {kwargs['order']!r}; use "
                "base='first_stage' for another order."
            )
        kwargs["entry"] = "first"
    completed = kwargs.pop("completed_windows", True)
    state, spec, end, scope, _ = _run(
        events,
        list(stages),
        {**kwargs, "column": "stage"},
        scope=True,
        skip_ahead=skip,
        where="stage_funnel",
    )
    out = _aggregate(state, spec, end, completed, scope)
    first = pl.col("_entry") if skip else pl.lit(0)
    here = (
        state.filter(~pl.col("excluded"))
        .group_by([*spec.by, first.alias("_k")])
        .agg(pl.len().cast(pl.Int64).alias("entered_here"))
        .with_columns((pl.col("_k") + 1).cast(pl.Int64).alias("step"))
    )
    return (
        out.join(here.drop("_k"), on=[*spec.by, "step"], how="left")
        .with_columns(pl.col("entered_here").fill_null(0))
        .sort([*spec.by, "step"])
    )


# --------------------------------------------------------------------------- Kaplan–Meier
def kaplan_meier(
    durations: Frame,
    *,
    duration: str = "hours",
    event: str = "converted",
    by: Sequence[str] = (),
    level: float = 0.95,
    z: float | None = None,
) -> pl.DataFrame:
    """Vectorised Kaplan–Meier estimator in polars (validated against lifelines).

    Parameters
    ----------
    durations : DataFrame or LazyFrame
        One row per subject: ``duration`` (>= 0) and ``event`` (bool: observed, else censored).
    by : sequence of str
        Columns to estimate separately for.
    level : float
        Interval level, default 0.95 (log(-log) / "exponential Greenwood" interval, as
        lifelines' ``KaplanMeierFitter(alpha=1 - level)``).
    z : float, optional
        Deprecated: the normal quantile of the interval. A DeprecationWarning says which
        ``level`` to write instead.

    Returns
    -------
    DataFrame
        Per group and distinct time (including 0): ``at_risk``, ``events``, ``censored``,
        ``survival`` and its ``surv_low`` / ``surv_high`` bounds; sorted.

    Examples
    --------
    >>> d = pl.DataFrame({"hours": [1.0, 2.0, 2.0, 3.0], "converted": [True, True, False, False]})
    >>> kaplan_meier(d)["survival"].to_list()
    [1.0, 0.75, 0.5, 0.5]
    """
    # over 80 lines only through the docstring (parameters and returned columns)
    zq = z_of_level(resolve_level(level, z, "kaplan_meier"), "kaplan_meier")
    lf, _ = to_lazy(durations, "durations")
    groups = list(by)
    t = pl.col(duration).cast(pl.Float64)
    zero = lf.select(
        *groups,
        pl.lit(0.0).alias(duration),
        pl.lit(0, dtype=pl.Int64).alias("_e"),
        pl.lit(0, dtype=pl.Int64).alias("_c"),
    ).unique()
    per = pl.concat(
        [
            zero,
            lf.select(
                *groups,
                t.alias(duration),
                pl.col(event).cast(pl.Int64).alias("_e"),
                (~pl.col(event).cast(pl.Boolean)).cast(pl.Int64).alias("_c"),
            ),
        ]
    )
    agg = (
        per.group_by([*groups, duration])
        .agg(pl.col("_e").sum().alias("events"), pl.col("_c").sum().alias("censored"))
        .sort([*groups, duration])
    )
    over = groups if groups else None

    def win(e: pl.Expr) -> pl.Expr:
        return e.over(over) if over else e

    removed = pl.col("events") + pl.col("censored")
    out = agg.with_columns(
        (win(removed.sum()) - win(removed.cum_sum()) + removed).alias("at_risk")
    ).with_columns(
        win((1 - pl.col("events") / pl.col("at_risk")).cum_prod()).alias("survival"),
        win(
            pl.when(pl.col("at_risk") > pl.col("events"))
            .then(pl.col("events") / (pl.col("at_risk") * (pl.col("at_risk") - pl.col("events"))))
            .otherwise(0.0)
            .cum_sum()
        ).alias("_gw"),
    )
    logs = pl.col("survival").log()
    ok = (pl.col("survival") > 0) & (pl.col("survival") < 1)
    a = (-logs).log()
    half = zq * pl.col("_gw").sqrt() / logs.abs()
    out = out.with_columns(
        pl.when(ok).then((-(a + half).exp()).exp()).otherwise(pl.col("survival")).alias("surv_low"),
        pl.when(ok)
        .then((-(a - half).exp()).exp())
        .otherwise(pl.col("survival"))
        .alias("surv_high"),
    )
    return out.select(
        *groups, duration, "at_risk", "events", "censored", "survival", "surv_low", "surv_high"
    ).collect()


def time_to_convert(
    events: Frame, steps: Sequence[Step], *, from_start: bool = False, **kwargs
) -> pl.DataFrame:
    """Kaplan–Meier time-to-convert curves, one per step after the first (and breakdown).

    For step k, every path that reached step k-1 (and is not excluded) is a subject; the
    clock starts at step k-1 of the credited attempt (at its step 1 with
    ``from_start=True``). Converters are events at their conversion time; everybody else is
    censored at the end of their window or at ``as_of``, whichever comes first — paths still
    inside their window are censored, not lost. Arguments as in :func:`funnel`.

    Returns
    -------
    DataFrame
        [``by``…], ``step``, ``step_name``, ``hours``, ``at_risk``, ``events``, ``censored``,
        ``converted_share`` (1 - KM survival) with ``ci_low`` / ``ci_high``, ``n`` (subjects).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> h = dt.timedelta(hours=1)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "b"],
    ...     "timestamp": [t, t + 2 * h, t, t + 4 * h],
    ...     "touchpoint": ["site_visit", "purchase", "site_visit", "ad_click"]})
    >>> time_to_convert(ev, ["site_visit", "purchase"])["converted_share"].to_list()
    [0.0, 0.5, 0.5]
    """
    kwargs.pop("completed_windows", None)
    state, spec, end, _, _ = _run(events, steps, kwargs, where="time_to_convert")
    groups, names = spec.by, spec.names
    end_lit = pl.lit(end).cast(_TS)
    s = state.filter(~pl.col("excluded"))
    parts = []
    for k in range(1, len(names)):
        start = pl.col("step_1_at") if from_start else pl.col(f"step_{k}_at")
        stop = pl.col(f"step_{k + 1}_at")
        cens_at = pl.min_horizontal(pl.col(f"deadline_{k + 1}").fill_null(end_lit), end_lit)
        hours = (pl.coalesce(stop, cens_at) - start).dt.total_microseconds().truediv(_HOUR_US)
        d = s.filter(pl.col(f"step_{k}_at").is_not_null()).select(
            *groups,
            hours.clip(lower_bound=0.0).alias("hours"),
            stop.is_not_null().alias("converted"),
        )
        if d.height == 0:
            continue
        km = kaplan_meier(d, by=groups)
        if groups:
            km = km.join(d.group_by(groups).agg(pl.len().cast(pl.Int64).alias("n")), on=groups)
        else:
            km = km.with_columns(pl.lit(d.height, dtype=pl.Int64).alias("n"))
        parts.append(
            km.with_columns(
                pl.lit(k + 1, dtype=pl.Int64).alias("step"), pl.lit(names[k]).alias("step_name")
            )
        )
    cols = [
        *groups,
        "step",
        "step_name",
        "hours",
        "at_risk",
        "events",
        "censored",
        "converted_share",
        "ci_low",
        "ci_high",
        "n",
    ]
    if not parts:
        return pl.DataFrame(
            schema={c: pl.String if c in (*groups, "step_name") else pl.Float64 for c in cols}
        )
    out = pl.concat(parts).with_columns(
        (1 - pl.col("survival")).alias("converted_share"),
        (1 - pl.col("surv_high")).alias("ci_low"),
        (1 - pl.col("surv_low")).alias("ci_high"),
    )
    return out.select(cols).sort([*groups, "step", "hours"])


# --------------------------------------------------------------------------- over time
_EVERY = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q"}


def _every(every: str) -> str:
    step = _EVERY.get(every, every)
    try:
        pl.select(pl.datetime_range(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2), step))
    except Exception:
        raise ParameterError(
            f"The 'every' parameter of funnel_trend must be one of {', '.join(map(repr, _EVERY))} "
            f"or a polars duration like '2w'. Got {every!r} instead."
        ) from None
    return step


def funnel_trend(
    events: Frame,
    steps: Sequence[Step],
    *,
    every: str = "week",
    completed_windows: bool = True,
    **kwargs,
) -> pl.DataFrame:
    """Conversion from step 1 to the last step by entry period (Amplitude's and PostHog's
    "conversion over time"), with Wilson intervals.

    A path belongs to the period (``every``: ``"day"``, ``"week"``, ``"month"``,
    ``"quarter"`` or a polars duration; weeks start on Monday) of its credited attempt's
    step 1. ``converted``: reached the last step. With ``completed_windows`` (default), paths
    whose window is still open at ``as_of`` — not converted yet but still able to, or
    converted inside a window that has not closed — are left out of ``eligible`` and the
    rate, as in :func:`funnel`'s last step. Other arguments as in :func:`funnel`.

    Returns
    -------
    DataFrame
        [``by``…], ``period`` (Date, the period start), ``entered``, ``converted``,
        ``open_window``, ``eligible``, ``converted_eligible``, ``conversion_rate`` with
        ``ci_low`` / ``ci_high``, ``small_n``; sorted by breakdown then period.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # a Monday
    >>> d = dt.timedelta(days=1)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "c", "c"],
    ...     "timestamp": [t, t + d, t + 2 * d, t + 8 * d, t + 9 * d],
    ...     "touchpoint": ["visit", "buy", "visit", "visit", "buy"]})
    >>> funnel_trend(ev, ["visit", "buy"]).select("period", "entered", "converted").rows()
    [(datetime.date(2024, 1, 1), 2, 1), (datetime.date(2024, 1, 8), 1, 1)]
    """
    step = _every(every)
    state, spec, end, _, _ = _run(events, steps, kwargs, where="funnel_trend")
    end_lit, n = pl.lit(end).cast(_TS), spec.n
    last = pl.col(f"step_{n}_at").is_not_null()
    if n == 1:
        open_w = pl.lit(False)
    else:  # the deadline of the step after the furthest (non-converters) or of the last step
        nxt = pl.coalesce(
            [
                pl.when(pl.col("steps_reached") == k).then(pl.col(f"deadline_{k + 1}"))
                for k in range(1, n)
            ]
        )
        open_w = (pl.when(last).then(pl.col(f"deadline_{n}")).otherwise(nxt) > end_lit).fill_null(
            False
        )
    open_rate = open_w if completed_windows else pl.lit(False)
    groups = [*spec.by, "period"]
    out = (
        state.lazy()
        .filter(~pl.col("excluded"))
        .with_columns(pl.col("step_1_at").dt.truncate(step).dt.date().alias("period"))
        .group_by(groups)
        .agg(
            pl.len().cast(pl.Int64).alias("entered"),
            last.sum().cast(pl.Int64).alias("converted"),
            open_w.sum().cast(pl.Int64).alias("open_window"),
            (~open_rate).sum().cast(pl.Int64).alias("eligible"),
            (last & ~open_rate).sum().cast(pl.Int64).alias("converted_eligible"),
        )
        .collect()
    )
    return out.with_columns(
        pl.when(pl.col("eligible") > 0)
        .then(pl.col("converted_eligible") / pl.col("eligible"))
        .alias("conversion_rate"),
        *wilson_bounds("converted_eligible", "eligible"),
        small_n("eligible"),
    ).sort(groups)


# --------------------------------------------------------------------------- drop-off
def _stopped(events: Frame, steps: Sequence[Step], step: int, kwargs: dict, where: str):
    """Paths that reached ``step`` and went on (``continued``) or stopped with a closed
    window (``stopped``; open windows are left out): ``_u``, ``_group``, ``_lo`` (the step's
    event) and the end of the span looked at (``_hi_o`` the next step's event, else ``_hi_t``
    the window end or ``as_of``); and the path events."""
    values, _ = _steps(steps)
    if not isinstance(step, int) or isinstance(step, bool) or not 1 <= step < len(values):
        raise ParameterError(
            f"The 'step' parameter of {where} must be an int in [1, {len(values) - 1}] "
            f"(a step that has a next step). Got {step!r} instead."
        )
    kwargs.pop("completed_windows", None)
    state, _, end, _, lf = _run(events, steps, kwargs, where=where)
    end_lit, k = pl.lit(end).cast(_TS), step
    at, nxt, dl = pl.col(f"step_{k}_at"), pl.col(f"step_{k + 1}_at"), pl.col(f"deadline_{k + 1}")
    group = (
        pl.when(nxt.is_not_null())
        .then(pl.lit("continued"))
        .when((dl > end_lit).fill_null(False))
        .then(None)
        .otherwise(pl.lit("stopped"))
    )
    bounds = (
        state.filter(~pl.col("excluded") & at.is_not_null())
        .select(
            "_u",
            group.alias("_group"),
            pl.col(f"_o_{k}").alias("_lo"),
            pl.col(f"_o_{k + 1}").alias("_hi_o"),
            pl.when(nxt.is_null())
            .then(pl.min_horizontal(dl.fill_null(end_lit), end_lit))
            .alias("_hi_t"),
        )
        .filter(pl.col("_group").is_not_null())
    )
    return bounds, lf


def drop_off_drivers(
    events: Frame,
    steps: Sequence[Step],
    step: int,
    *,
    last_n: int = 3,
    min_customers: int = 1,
    **kwargs,
) -> pl.DataFrame:
    """What customers who stopped at a step hit last, ranked by lift against those who went on.

    For step ``step`` (1-based, before the last step): *stopped* customers reached it, did not
    reach the next step and their window is closed (open windows are left out); *continued*
    customers reached the next step. For each customer we take their last ``last_n`` events
    after reaching ``step`` (in the credited attempt) — up to the end of their window
    (stopped) or up to the next step (continued). ``(no event)`` stands for customers with
    no event there. :func:`drop_off_paths` shows where the stopped ones went next.

    ``lift`` = share of stopped customers who hit the touchpoint / share of continued
    customers who did, with +0.5 (Haldane–Anscombe) added to each count so touchpoints nobody
    in one group hit still rank; ``lift_raw`` is the unsmoothed ratio (null when 0/0 or x/0).
    Shares carry Wilson intervals. Other arguments as in :func:`funnel`.

    Returns
    -------
    DataFrame
        ``touchpoint``, ``stopped_touched``, ``stopped``, ``stopped_share``,
        ``stopped_ci_low``, ``stopped_ci_high``, ``continued_touched``, ``continued``,
        ``continued_share``, ``continued_ci_low``, ``continued_ci_high``, ``lift``,
        ``lift_raw``; highest lift first.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> h = dt.timedelta(hours=1)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "a", "b", "b"],
    ...     "timestamp": [t, t + h, t + 2 * h, t, t + h],
    ...     "touchpoint": ["checkout", "chat", "purchase", "checkout", "checkout_error"]})
    >>> drop_off_drivers(ev, ["checkout", "purchase"], step=1)["touchpoint"].to_list()[0]
    'checkout_error'
    """
    if not isinstance(last_n, int) or last_n < 1:
        raise ParameterError(f"The 'last_n' parameter must be an int >= 1. Got {last_n!r} instead.")
    bounds, lf = _stopped(events, steps, step, kwargs, "drop_off_drivers")
    o, ts = pl.col("_o"), pl.col("timestamp")
    inside = (o > pl.col("_lo")) & pl.when(pl.col("_hi_t").is_null()).then(
        o < pl.col("_hi_o")
    ).otherwise(ts <= pl.col("_hi_t"))
    last = (
        lf.select("_u", "_o", "timestamp", pl.col("touchpoint").cast(pl.String))
        .join(bounds.lazy(), on="_u")
        .filter(inside)
        .group_by("_u", "_group")
        .agg(pl.col("touchpoint").top_k_by("_o", k=last_n).alias("tp"))
        .explode("tp")
        .unique(["_u", "tp"])
        .collect()
    )
    none_rows = bounds.join(last.select("_u").unique(), on="_u", how="anti").select(
        "_u", "_group", pl.lit("(no event)").alias("tp")
    )
    counts = (
        pl.concat([last.select("_u", "_group", "tp"), none_rows])
        .group_by("tp")
        .agg(
            (pl.col("_group") == "stopped").sum().cast(pl.Int64).alias("stopped_touched"),
            (pl.col("_group") == "continued").sum().cast(pl.Int64).alias("continued_touched"),
        )
        .rename({"tp": "touchpoint"})
    )
    n_stop = bounds.filter(pl.col("_group") == "stopped").height
    n_cont = bounds.filter(pl.col("_group") == "continued").height
    return _lift_table(counts, n_stop, n_cont, min_customers)


def _lift_table(counts: pl.DataFrame, n_stop: int, n_cont: int, min_customers: int) -> pl.DataFrame:
    out = counts.with_columns(
        pl.lit(n_stop, dtype=pl.Int64).alias("stopped"),
        pl.lit(n_cont, dtype=pl.Int64).alias("continued"),
    ).filter((pl.col("stopped_touched") + pl.col("continued_touched")) >= min_customers)
    out = out.with_columns(
        (pl.col("stopped_touched") / pl.col("stopped")).alias("stopped_share"),
        *wilson_bounds("stopped_touched", "stopped", prefix="stopped_"),
        (pl.col("continued_touched") / pl.col("continued")).alias("continued_share"),
        *wilson_bounds("continued_touched", "continued", prefix="continued_"),
        (
            ((pl.col("stopped_touched") + 0.5) / (pl.col("stopped") + 1))
            / ((pl.col("continued_touched") + 0.5) / (pl.col("continued") + 1))
        ).alias("lift"),
    ).with_columns(
        pl.when((pl.col("continued_touched") > 0) & (pl.col("stopped") > 0))
        .then(pl.col("stopped_share") / pl.col("continued_share"))
        .alias("lift_raw")
    )
    return out.select(
        "touchpoint",
        "stopped_touched",
        "stopped",
        "stopped_share",
        "stopped_ci_low",
        "stopped_ci_high",
        "continued_touched",
        "continued",
        "continued_share",
        "continued_ci_low",
        "continued_ci_high",
        "lift",
        "lift_raw",
    ).sort(["lift", "touchpoint"], descending=[True, False])


def drop_off_paths(
    events: Frame, steps: Sequence[Step], step: int, *, length: int = 3, top_n: int = 10, **kwargs
) -> pl.DataFrame:
    """Where customers who stopped at a step went next: their next touchpoints as short paths.

    *Stopped* as in :func:`drop_off_drivers` (reached ``step`` in the credited attempt, not
    the next step, window closed). For each, the first ``length`` events after their
    ``step`` event, whenever they came, joined with `` → `` (``length=1``: the next
    touchpoint); ``(no event)`` when they never came back. Retentioneering's and PostHog's
    "paths after a step", restricted to those who dropped off. Other arguments as in
    :func:`funnel`.

    Returns
    -------
    DataFrame
        ``next_path``, ``customers``, ``share`` (of the stopped) with Wilson ``ci_low`` /
        ``ci_high``, ``stopped``; the ``top_n`` most common, most common first (ties by path).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> h = dt.timedelta(hours=1)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "b", "b", "c"],
    ...     "timestamp": [t, t + h, t, t + h, t + 2 * h, t],
    ...     "touchpoint": ["checkout", "purchase", "checkout", "chat", "faq", "checkout"]})
    >>> drop_off_paths(ev, ["checkout", "purchase"], step=1).select("next_path", "customers").rows()
    [('(no event)', 1), ('chat → faq', 1)]
    """
    for name, value in (("length", length), ("top_n", top_n)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ParameterError(
                f"The '{name}' parameter of drop_off_paths must be an int >= 1. Got {value!r} instead."
            )
    bounds, lf = _stopped(events, steps, step, kwargs, "drop_off_paths")
    stopped = bounds.filter(pl.col("_group") == "stopped").select("_u", "_lo")
    nxt = (
        lf.select("_u", "_o", pl.col("touchpoint").cast(pl.String))
        .join(stopped.lazy(), on="_u")
        .filter(pl.col("_o") > pl.col("_lo"))
        .group_by("_u")
        .agg(pl.col("touchpoint").sort_by("_o").head(length).alias("tp"))
        .select(
            "_u",
            pl.col("tp")
            .list.eval(pl.element().fill_null("(unknown)"))
            .list.join(" → ")
            .alias("next_path"),
        )
        .collect()
    )
    paths = stopped.join(nxt, on="_u", how="left").with_columns(
        pl.col("next_path").fill_null("(no event)")
    )
    n = stopped.height
    out = (
        paths.group_by("next_path")
        .agg(pl.len().cast(pl.Int64).alias("customers"))
        .with_columns(
            (pl.col("customers") / n).alias("share"),
            *wilson_bounds("customers", pl.lit(n)),
            pl.lit(n, dtype=pl.Int64).alias("stopped"),
        )
    )
    return out.sort(["customers", "next_path"], descending=[True, False]).head(top_n)
