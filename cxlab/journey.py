"""Journey stages: which stage each event belongs to, and each customer's path through them.

Definitions
-----------
Event stage
    The stage the client's journey map gives the event's touchpoint
    (``cxlab.schema.DEFAULT_JOURNEY_MAP`` extended by ``client.toml``). Purchase touchpoints
    (``purchase_touchpoints``, default ``("purchase",)``) are special: a customer's *first*
    purchase event is in the ``purchase`` stage, every later one in ``retention``. Everything
    else follows the map, whatever the customer did before, so a ``site_visit`` after a
    purchase is a ``consideration`` event (that is what makes a regression visible).
    Touchpoints that are not in the map get a null stage: they are kept, and reported by
    :func:`unmapped_touchpoints`, never dropped.
Event order
    Events of one customer are ordered by ``timestamp``, then ``source_row`` (file order) for
    equal timestamps. Frames without ``source_row`` use their row order.
Furthest stage
    The latest stage (in journey order) of any of the customer's events up to ``as_of``.
Current stage
    The stage of the customer's last mapped event up to ``as_of``.
Time in a stage
    How long the stage was the customer's *furthest stage so far*: from the first event in the
    stage to the first event in any later stage (or ``as_of`` when the customer never went
    further). A stage first reached after a later stage was already reached counts 0 days.
    The days over all stages add up to ``as_of`` minus the first mapped event.
Regression
    ``regressed`` is true when some event is in an earlier stage than a stage the customer had
    already reached (e.g. back to consideration after purchase); ``regressed_after_purchase``
    only looks at awareness/consideration events after the first purchase.

Everything here is expressed as polars group-by aggregations or window expressions; only
:func:`stage_transitions` needs one sort (events must be consecutive there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import polars as pl

from cxlab._frames import as_lazy, require_columns
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.prepare import CUSTOMER_CODE, SEQUENCE
from cxlab.schema import SOURCE_ROW, STAGE_DTYPE, STAGES

__all__ = [
    "assign_stages",
    "unmapped_touchpoints",
    "customer_journeys",
    "stage_transitions",
    "TRANSITION_STATES",
    "TRANSITION_DTYPE",
]

Frame = pl.DataFrame | pl.LazyFrame

#: States of the transition matrix: a start state, the five stages and an end state.
TRANSITION_STATES: tuple[str, ...] = ("(start)", *STAGES, "(end)")
#: Ordered enum of :data:`TRANSITION_STATES`.
TRANSITION_DTYPE = pl.Enum(list(TRANSITION_STATES))

_ORDER = "__order"


# --------------------------------------------------------------------------- helpers (shared)
def _to_lazy(frame: Frame, name: str = "events", codes: bool = False) -> tuple[pl.LazyFrame, bool]:
    """Return ``(lazy frame, was_lazy)``; raise ParameterError for anything else.

    ``codes``: keep the enum-coded columns of prepared events (see :func:`cxlab._frames.as_lazy`).
    """
    return as_lazy(frame, name, codes=codes), isinstance(frame, pl.LazyFrame)


def _require(lf: pl.LazyFrame, columns: Iterable[str], where: str, name: str = "events") -> list[str]:
    """Raise DataError naming the first missing column (with a close match); return schema names."""
    return require_columns(lf, columns, name, where=where)


def _with_order(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``__order`` (UInt32/UInt64): the tie-break of events with equal timestamps.

    ``source_row`` when present, else row position. On prepared events
    (:func:`cxlab.prepare.prepare_events`) it is ``_cx_seq``, which orders the events of one
    customer exactly like (timestamp, source_row); every use of ``__order`` compares events of
    one customer only, so both give the same results.
    """
    names = lf.collect_schema().names()
    if _prepared(names):
        return lf.with_columns(pl.col(SEQUENCE).alias(_ORDER))
    if SOURCE_ROW in names:
        return lf.with_columns(pl.col(SOURCE_ROW).alias(_ORDER))
    return lf.with_row_index(_ORDER)


def _prepared(names: Iterable[str]) -> bool:
    """Whether a frame with these columns comes from :func:`cxlab.prepare.prepare_events`."""
    names = set(names)
    return CUSTOMER_CODE in names and SEQUENCE in names


def _key(names: Iterable[str]) -> str:
    """The customer group key: the integer code on prepared events, else ``customer_id``."""
    return CUSTOMER_CODE if _prepared(names) else "customer_id"


def _as_of_expr(as_of: dt.datetime | dt.date | None) -> pl.Expr:
    """Literal for ``as_of`` in UTC microseconds, or the data end (max timestamp)."""
    if as_of is None:
        return pl.col("timestamp").max()
    if not isinstance(as_of, dt.datetime):
        if isinstance(as_of, dt.date):
            as_of = dt.datetime.combine(as_of, dt.time())
        else:
            raise ParameterError(
                f"The 'as_of' parameter must be a datetime, a date or None. Got {as_of!r} instead."
            )
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=dt.UTC)
    return pl.lit(as_of).cast(pl.Datetime("us", "UTC"))


def _resolve_as_of(lf: pl.LazyFrame, as_of: dt.datetime | dt.date | None) -> dt.datetime:
    """A concrete UTC datetime for ``as_of`` (the data end when None)."""
    value = pl.select(_as_of_expr(as_of)).item() if as_of is not None else (
        lf.select(pl.col("timestamp").max()).collect().item()
    )
    if value is None:
        raise DataError("The events frame is empty: there is no data end to use as 'as_of'.")
    return value


def _stage_expr(name: str = "stage") -> pl.Expr:
    return pl.col(name).cast(STAGE_DTYPE)


# --------------------------------------------------------------------------- stages
def _check_map(journey_map: Mapping[str, str], purchase_touchpoints: Iterable[str]) -> None:
    if not isinstance(journey_map, Mapping):
        raise ParameterError(
            "The 'journey_map' parameter must be a mapping touchpoint -> stage "
            f"(e.g. cxlab.schema.DEFAULT_JOURNEY_MAP). Got {type(journey_map).__name__} instead."
        )
    for touchpoint, stage in journey_map.items():
        if stage not in STAGES:
            raise ParameterError(
                f"The 'journey_map' maps '{touchpoint}' to {stage!r}, which is not a stage."
                f"{did_you_mean(str(stage), STAGES)} Stages: {', '.join(STAGES)}."
            )
    if isinstance(purchase_touchpoints, str):
        raise ParameterError(
            "The 'purchase_touchpoints' parameter must be a list or tuple of touchpoints, "
            f"e.g. ('{purchase_touchpoints}',). Got the string {purchase_touchpoints!r} instead."
        )
    for touchpoint in purchase_touchpoints:
        stage = journey_map.get(touchpoint, "purchase")
        if stage != "purchase":
            raise ParameterError(
                f"The 'purchase_touchpoints' parameter lists '{touchpoint}', which the journey map "
                f"puts in the {stage!r} stage. Map it to 'purchase' or remove it from the list."
            )


def assign_stages(
    events: Frame,
    journey_map: Mapping[str, str],
    purchase_touchpoints: Iterable[str] = ("purchase",),
) -> Frame:
    """Add a ``stage`` column (``schema.STAGE_DTYPE``) to an events frame.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events (``customer_id``, ``timestamp``, ``touchpoint``; ``source_row`` is the
        tie-break for equal timestamps, row order is used when it is absent).
    journey_map : mapping of str to str
        Touchpoint -> stage, e.g. ``ClientConfig.journey_map``.
    purchase_touchpoints : iterable of str
        Touchpoints that are purchases: the customer's first one is ``purchase``, every later
        one ``retention``. They count as purchases even when the map does not list them.

    Returns
    -------
    DataFrame or LazyFrame
        The same kind of frame as ``events``, same rows and row order, plus ``stage``; null
        for touchpoints the map does not know (see :func:`unmapped_touchpoints`).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({
    ...     "customer_id": ["a", "a", "a", "a"],
    ...     "timestamp": [t, t + dt.timedelta(days=1), t + dt.timedelta(days=9), t],
    ...     "touchpoint": ["ad_click", "purchase", "purchase", "fax"],
    ... })
    >>> assign_stages(ev, {"ad_click": "awareness", "purchase": "purchase"})["stage"].to_list()
    ['awareness', 'purchase', 'retention', None]
    """
    lf, was_lazy = _to_lazy(events, codes=True)
    purchases = list(purchase_touchpoints) if not isinstance(purchase_touchpoints, str) else purchase_touchpoints
    _check_map(journey_map, purchases)
    names = _require(lf, ["customer_id", "timestamp", "touchpoint"], "assign_stages")
    mapping = {str(k): str(v) for k, v in journey_map.items()}
    for p in purchases:
        mapping[str(p)] = "purchase"
    tp_dtype = lf.collect_schema()["touchpoint"]
    if isinstance(tp_dtype, pl.Enum):  # prepared events: the stage of each code, gathered
        stage_of_code = pl.Series([mapping.get(v) for v in tp_dtype.categories.to_list()], dtype=STAGE_DTYPE)
        tp = pl.col("touchpoint")
        base = pl.lit(stage_of_code).gather(tp.to_physical())
    else:
        tp = pl.col("touchpoint").cast(pl.String)
        base = tp.replace_strict(mapping, default=None, return_dtype=STAGE_DTYPE)
    if not purchases:
        out = lf.with_columns(base.alias("stage"))
        return out if was_lazy else out.collect()
    is_p = tp.is_in(purchases)
    if _prepared(names):
        # _cx_seq orders each customer's events like (timestamp, source_row) and is unique:
        # the first purchase is the smallest _cx_seq among the customer's purchase events.
        seq = pl.col(SEQUENCE)
        rows = (lf.filter(is_p).group_by(CUSTOMER_CODE).agg(seq.min()).select(SEQUENCE)
                .collect().to_series())
        out = lf.with_columns(
            pl.when(is_p & ~seq.is_in(rows.implode())).then(pl.lit("retention", dtype=STAGE_DTYPE))
            .otherwise(base).alias("stage")
        )
        return out if was_lazy else out.collect()
    added = SOURCE_ROW not in names
    if added:
        lf = lf.with_row_index(_ORDER)
    order = pl.col(_ORDER) if added else pl.col(SOURCE_ROW)
    # The first purchase of each customer: one small group-by over purchase events. Window
    # expressions (.over) over millions of customers are ~10x slower at 10M events.
    # sorting only the purchase events makes first() the earliest (timestamp, row) per customer
    firsts = (
        lf.filter(is_p).select("customer_id", "timestamp", order.alias("_first_row"))
        .sort(["timestamp", "_first_row"])
        .group_by("customer_id").agg(pl.col("timestamp").first().alias("_first_ts"), pl.col("_first_row").first())
    )
    unique_rows = added or lf.select(order.n_unique() == pl.len()).collect().item()
    if unique_rows:
        # source_row identifies an event: membership test, no join on the customer key
        rows = firsts.select("_first_row").collect().to_series()
        is_first = is_p & order.is_in(rows.implode())
        out = lf.with_columns(
            pl.when(is_p & ~is_first).then(pl.lit("retention", dtype=STAGE_DTYPE)).otherwise(base).alias("stage")
        )
    else:
        out = (
            lf.join(firsts, on="customer_id", how="left", maintain_order="left")
            .with_columns(
                pl.when(is_p & ~((pl.col("timestamp") == pl.col("_first_ts")) & (order == pl.col("_first_row"))))
                .then(pl.lit("retention", dtype=STAGE_DTYPE)).otherwise(base).alias("stage")
            )
            .drop("_first_ts", "_first_row")
        )
    if added:
        out = out.drop(_ORDER)
    return out if was_lazy else out.collect()


def unmapped_touchpoints(
    events: Frame,
    journey_map: Mapping[str, str],
    purchase_touchpoints: Iterable[str] = ("purchase",),
    n_examples: int = 3,
) -> pl.DataFrame:
    """Touchpoints the journey map does not know, with counts and examples.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events.
    journey_map : mapping of str to str
        Touchpoint -> stage.
    purchase_touchpoints : iterable of str
        Purchase touchpoints (always mapped).
    n_examples : int
        How many example customer ids and source rows to list per touchpoint.

    Returns
    -------
    DataFrame
        ``touchpoint``, ``events``, ``customers``, ``share_of_events`` (of all events),
        ``first_seen``, ``last_seen``, ``example_customers`` (list), ``example_rows`` (list of
        ``source_row``, empty when the frame has none); most frequent first. Empty when every
        touchpoint is mapped.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "b", "b"], "timestamp": [t, t, t],
    ...                    "touchpoint": ["fax", "fax", "ad_click"]})
    >>> unmapped_touchpoints(ev, {"ad_click": "awareness"}).select("touchpoint", "events", "customers").row(0)
    ('fax', 2, 2)
    """
    if not isinstance(n_examples, int) or n_examples < 1:
        raise ParameterError(f"The 'n_examples' parameter must be an int >= 1. Got {n_examples!r} instead.")
    lf, _ = _to_lazy(events)
    names = _require(lf, ["customer_id", "timestamp", "touchpoint"], "unmapped_touchpoints")
    _check_map(journey_map, list(purchase_touchpoints))
    known = list({*map(str, journey_map), *map(str, purchase_touchpoints)})
    tp = pl.col("touchpoint").cast(pl.String)
    rows = pl.col(SOURCE_ROW) if SOURCE_ROW in names else pl.lit(None, dtype=pl.UInt32)
    total = lf.select(pl.len()).collect().item()
    out = (
        lf.filter(~tp.is_in(known) | tp.is_null())
        .group_by(tp.alias("touchpoint"))
        .agg(
            pl.len().alias("events"),
            pl.col("customer_id").n_unique().alias("customers"),
            pl.col("timestamp").min().alias("first_seen"),
            pl.col("timestamp").max().alias("last_seen"),
            pl.col("customer_id").unique().sort().head(n_examples).alias("example_customers"),
            rows.sort().head(n_examples).drop_nulls().alias("example_rows"),
        )
        .with_columns((pl.col("events") / max(total, 1)).alias("share_of_events"))
        .select("touchpoint", "events", "customers", "share_of_events", "first_seen",
                "last_seen", "example_customers", "example_rows")
        .sort(["events", "touchpoint"], descending=[True, False], nulls_last=True)
        .collect()
    )
    return out.with_columns(pl.col("events", "customers").cast(pl.Int64))


def _check_stage_column(lf: pl.LazyFrame, where: str) -> list[str]:
    names = _require(lf, ["customer_id", "timestamp"], where)
    if "stage" not in names:
        raise DataError(
            f"{where}: the events frame has no 'stage' column. Add it first with "
            "cxlab.journey.assign_stages(events, config.journey_map, config.purchase_touchpoints)."
        )
    return names


def customer_journeys(events_with_stage: Frame, as_of: dt.datetime | dt.date | None = None) -> pl.DataFrame:
    """One row per customer: when they reached each stage, how far they got, where they are.

    Parameters
    ----------
    events_with_stage : DataFrame or LazyFrame
        Output of :func:`assign_stages`.
    as_of : datetime, date or None
        The observation end; events after it are ignored. Default: the last timestamp.

    Returns
    -------
    DataFrame
        Sorted by ``customer_id``. Columns: ``customer_id``, ``first_event_at``,
        ``last_event_at``, ``n_events``, ``n_unmapped``, ``first_<stage>_at`` and
        ``events_<stage>`` and ``days_in_<stage>`` for each of the five stages (null / 0 when
        never reached), ``furthest_stage``, ``current_stage`` (stage of the last mapped event),
        ``regressed``, ``regressed_after_purchase``. See the module docstring for definitions.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a"] * 3,
    ...     "timestamp": [t, t + dt.timedelta(days=2), t + dt.timedelta(days=5)],
    ...     "touchpoint": ["ad_click", "purchase", "site_visit"]})
    >>> ev = assign_stages(ev, {"ad_click": "awareness", "site_visit": "consideration",
    ...                         "purchase": "purchase"})
    >>> j = customer_journeys(ev)
    >>> j.select("furthest_stage", "current_stage", "days_in_awareness", "regressed").row(0)
    ('purchase', 'consideration', 2.0, True)
    """
    lf, _ = _to_lazy(events_with_stage)
    names = _check_stage_column(lf, "customer_journeys")
    key = _key(names)
    lf = _with_order(lf)
    if as_of is not None:
        lf = lf.filter(pl.col("timestamp") <= _as_of_expr(as_of))
    ts, stage = pl.col("timestamp"), _stage_expr()
    if key == CUSTOMER_CODE:
        # Prepared events: _cx_seq already is a chronological sequence number per customer.
        lf = lf.select(key, "customer_id", "timestamp", pl.col(SEQUENCE).alias("_seq"), stage.alias("stage"))
    else:
        # One sort on two integer-like columns gives every event its chronological sequence
        # number (_seq), consistent with the per-customer order (timestamp, then source_row).
        # After that every "first/last" is a plain min/max (polars' fast path).
        lf = lf.select("customer_id", "timestamp", _ORDER, stage.alias("stage")).sort(["timestamp", _ORDER])
        lf = lf.with_row_index("_seq")
    seq = pl.col("_seq")
    phys = pl.col("stage").to_physical()
    cols: list[pl.Expr] = [seq.alias("_any_seq"), pl.when(pl.col("stage").is_not_null()).then(seq).alias("_mapped_seq"),
                           pl.col("stage").is_null().cast(pl.Int64).alias("_unmapped"), phys.alias("_phys")]
    for i, s in enumerate(STAGES):
        in_s = phys == i
        cols += [
            pl.when(in_s).then(ts).alias(f"first_{s}_at"),
            pl.when(in_s).then(seq).alias(f"_seq_{s}"),
            in_s.cast(pl.Int64).fill_null(0).alias(f"events_{s}"),
        ]
    aggs: list[pl.Expr] = [pl.col("customer_id").first()] if key == CUSTOMER_CODE else []
    aggs += [
        ts.min().alias("first_event_at"),
        ts.max().alias("last_event_at"),
        pl.len().cast(pl.Int64).alias("n_events"),
        pl.col("_unmapped").sum().alias("n_unmapped"),
        pl.col("_phys").max().alias("_furthest"),
        pl.col("_mapped_seq").max().alias("_last_mapped_seq"),
    ]
    for s in STAGES:
        aggs += [
            pl.col(f"first_{s}_at").min(),
            pl.col(f"_seq_{s}").min().alias(f"_first_{s}_seq"),
            pl.col(f"_seq_{s}").max().alias(f"_last_{s}_seq"),
            pl.col(f"events_{s}").sum(),
        ]
    if key == CUSTOMER_CODE:
        j = _journey_aggregates_prepared(lf)
    else:
        j = lf.with_columns(cols).group_by(key).agg(aggs)
    if as_of is None:
        end_value = lf.select(ts.max()).collect().item()
        end_lit = pl.lit(end_value).cast(pl.Datetime("us", "UTC"))
    else:
        end_lit = _as_of_expr(as_of)

    # time while each stage was the furthest so far
    day_us = 86_400_000_000
    days: list[pl.Expr] = []
    for i, s in enumerate(STAGES):
        later = [pl.col(f"first_{t}_at") for t in STAGES[i + 1:]]
        next_entry = pl.min_horizontal(*later, end_lit) if later else end_lit
        dur = (next_entry - pl.col(f"first_{s}_at")).dt.total_microseconds() / day_us
        days.append(
            pl.when(pl.col(f"first_{s}_at").is_null()).then(None).otherwise(dur.clip(lower_bound=0.0))
            .alias(f"days_in_{s}")
        )
    # regressed: a later stage was first reached before the last event of an earlier stage
    regress = [
        (pl.col(f"_first_{hi}_seq") < pl.col(f"_last_{lo}_seq")).fill_null(False)
        for i, hi in enumerate(STAGES) for lo in STAGES[:i]
    ]
    after_purchase = [
        (pl.col("_first_purchase_seq") < pl.col(f"_last_{lo}_seq")).fill_null(False)
        for lo in ("awareness", "consideration")
    ]
    current = pl.lit(None, dtype=pl.String)
    for s in STAGES:
        current = pl.when(pl.col(f"_last_{s}_seq") == pl.col("_last_mapped_seq")).then(pl.lit(s)).otherwise(current)
    j = j.with_columns(
        *days,
        pl.any_horizontal(*regress).alias("regressed"),
        pl.any_horizontal(*after_purchase).alias("regressed_after_purchase"),
        current.cast(STAGE_DTYPE).alias("current_stage"),
    ).with_columns(
        pl.col("_furthest").cast(pl.Int64)
        .replace_strict(dict(enumerate(STAGES)), default=None, return_dtype=STAGE_DTYPE)
        .alias("furthest_stage")
    )
    out = ["customer_id", "first_event_at", "last_event_at", "n_events", "n_unmapped"]
    out += [f"first_{s}_at" for s in STAGES]
    out += [f"events_{s}" for s in STAGES]
    out += [f"days_in_{s}" for s in STAGES]
    out += ["furthest_stage", "current_stage", "regressed", "regressed_after_purchase"]
    return j.select(out).sort("customer_id").collect()


def _journey_aggregates_prepared(lf: pl.LazyFrame) -> pl.LazyFrame:
    """The per-customer aggregates of :func:`customer_journeys` on prepared events.

    Same columns as the general path. One group-by on the integer customer code for the
    whole journey, then one per stage over that stage's events only (first/last sequence
    number, first time, count), joined on the code. Times are aggregated as integers (polars
    aggregates tz-aware datetimes several times slower) and cast back.
    """
    key = CUSTOMER_CODE
    ts_dtype = lf.collect_schema()["timestamp"]
    t, seq, phys = pl.col("_t"), pl.col("_seq"), pl.col("_phys")
    base = lf.select(key, "customer_id", pl.col("timestamp").to_physical().alias("_t"), "_seq",
                     pl.col("stage").to_physical().alias("_phys"))
    j = base.group_by(key).agg(
        pl.col("customer_id").first(),
        t.min().alias("first_event_at"),
        t.max().alias("last_event_at"),
        pl.len().cast(pl.Int64).alias("n_events"),
        phys.is_null().sum().cast(pl.Int64).alias("n_unmapped"),
        phys.max().alias("_furthest"),
    ).sort(key)
    for i, s in enumerate(STAGES):
        per = base.filter(phys == i).group_by(key).agg(
            t.min().alias(f"first_{s}_at"),
            seq.min().alias(f"_first_{s}_seq"),
            seq.max().alias(f"_last_{s}_seq"),
            pl.len().cast(pl.Int64).alias(f"events_{s}"),
        ).sort(key)
        # both sides sorted by the code: polars merges them (a million customers: ~4x faster)
        j = j.join(per, on=key, how="left", maintain_order="left")
    times = ["first_event_at", "last_event_at", *[f"first_{s}_at" for s in STAGES]]
    return j.with_columns(
        *[pl.col(c).cast(ts_dtype) for c in times],
        *[pl.col(f"events_{s}").fill_null(0) for s in STAGES],
        pl.max_horizontal([pl.col(f"_last_{s}_seq") for s in STAGES]).alias("_last_mapped_seq"),
    )


def stage_transitions(
    events_with_stage: Frame,
    *,
    as_of: dt.datetime | dt.date | None = None,
    collapse_repeats: bool = True,
    include_start_end: bool = True,
) -> pl.DataFrame:
    """Stage transition matrix: from stage -> to stage, counts and shares.

    Consecutive mapped events of a customer (ordered by timestamp, then ``source_row``) form
    the transitions; unmapped events are skipped.

    Parameters
    ----------
    events_with_stage : DataFrame or LazyFrame
        Output of :func:`assign_stages`.
    as_of : datetime, date or None
        Ignore events after it.
    collapse_repeats : bool
        True (default): consecutive events in the same stage are one visit, so only changes of
        stage count (the diagonal is 0). False: every pair of consecutive events counts.
    include_start_end : bool
        Add a ``(start)`` row (-> first stage of every customer) and an ``(end)`` column (last
        stage of every customer as of ``as_of``). Then every customer enters once and leaves
        once, and for each stage the inflow equals the outflow.

    Returns
    -------
    DataFrame
        ``from_stage``, ``to_stage`` (enum of ``TRANSITION_STATES``), ``transitions``,
        ``customers`` (distinct customers making it), ``share`` (of all transitions leaving
        ``from_stage``), ``from_total``; ordered by journey order. Only observed pairs appear.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a"] * 3, "timestamp": [t] * 3,
    ...     "touchpoint": ["ad_click", "site_visit", "purchase"], "source_row": [1, 2, 3]})
    >>> ev = assign_stages(ev, {"ad_click": "awareness", "site_visit": "consideration",
    ...                         "purchase": "purchase"})
    >>> stage_transitions(ev).select("from_stage", "to_stage", "transitions").rows()[:2]
    [('(start)', 'awareness', 1), ('awareness', 'consideration', 1)]
    """
    lf, _ = _to_lazy(events_with_stage)
    names = _check_stage_column(lf, "stage_transitions")
    key = _key(names)
    lf = _with_order(lf)
    if as_of is not None:
        lf = lf.filter(pl.col("timestamp") <= _as_of_expr(as_of))
    cid = pl.col(key)
    # States as small integers (index in TRANSITION_STATES): no text in the 10M-row part.
    st = (pl.col("stage").cast(STAGE_DTYPE).to_physical().cast(pl.Int8) + 1)
    mapped = lf.filter(pl.col("stage").is_not_null()).select(key, "timestamp", _ORDER, st.alias("stage"))
    # Prepared events: _cx_seq is the (customer, timestamp, source_row) order, usually already
    # the row order (polars skips the sort then).
    seq = mapped.sort(_ORDER) if key == CUSTOMER_CODE else mapped.sort([key, "timestamp", _ORDER])
    first = cid != cid.shift(1)
    first = first.fill_null(True)
    if collapse_repeats:
        seq = seq.filter(first | (pl.col("stage") != pl.col("stage").shift(1)))
    is_first = (cid != cid.shift(1)).fill_null(True)
    is_last = (cid != cid.shift(-1)).fill_null(True)
    start, end = 0, len(TRANSITION_STATES) - 1
    pairs = seq.with_columns(
        pl.when(is_first).then(pl.lit(start, dtype=pl.Int8)).otherwise(pl.col("stage").shift(1)).alias("from_stage"),
        pl.col("stage").alias("to_stage"),
        is_last.alias("_last"),
    )
    parts = [pairs.select(key, "from_stage", "to_stage")]
    if include_start_end:
        parts.append(
            pairs.filter(pl.col("_last")).select(
                key, pl.col("stage").alias("from_stage"), pl.lit(end, dtype=pl.Int8).alias("to_stage")
            )
        )
    else:
        parts[0] = parts[0].filter(pl.col("from_stage") != start)
    allp = pl.concat(parts)
    states = dict(enumerate(TRANSITION_STATES))
    out = (
        allp.group_by("from_stage", "to_stage")
        .agg(pl.len().cast(pl.Int64).alias("transitions"),
             pl.col(key).n_unique().cast(pl.Int64).alias("customers"))
        .with_columns(
            pl.col("from_stage").replace_strict(states, return_dtype=TRANSITION_DTYPE),
            pl.col("to_stage").replace_strict(states, return_dtype=TRANSITION_DTYPE),
        )
        .with_columns(pl.col("transitions").sum().over("from_stage").alias("from_total"))
        .with_columns((pl.col("transitions") / pl.col("from_total")).alias("share"))
        .select("from_stage", "to_stage", "transitions", "customers", "share", "from_total")
        .sort("from_stage", "to_stage")
        .collect()
    )
    return out
