"""Journey stages: which stage each event belongs to, and each customer's path through them.

Definitions
-----------
Event stage
    The stage the client's journey map gives the event's touchpoint
    (``cxlab.contract.schema.DEFAULT_JOURNEY_MAP`` extended by ``client.toml``). Purchase touchpoints
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

Every function here is written once, against prepared events (:func:`cxlab.events.as_events`:
integer customer codes, ``_cx_seq`` as the in-customer order, touchpoints as codes); a frame
that is not prepared is prepared once on the way in. The readable specification of each is
in ``tests/oracles/journey.py``; the tests check these functions equal it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import polars as pl

from cxlab.contract.prepare import CUSTOMER_CODE, SEQUENCE, vouch
from cxlab.contract.schema import SOURCE_ROW, STAGE_DTYPE, STAGES
from cxlab.errors import ParameterError, did_you_mean
from cxlab.events import (
    as_events,
    as_events_kept,
    as_of_expr,
    by_customer,
    path_order,
    require,
    require_stage,
    to_lazy,
)

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

_ROW = "__input_row"


# --------------------------------------------------------------------------- stages
def _check_map(journey_map: Mapping[str, str], purchase_touchpoints: Iterable[str]) -> None:
    if not isinstance(journey_map, Mapping):
        raise ParameterError(
            "The 'journey_map' parameter must be a mapping touchpoint -> stage "
            f"(e.g. cxlab.contract.schema.DEFAULT_JOURNEY_MAP). Got {type(journey_map).__name__} instead."
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
    lf, was_lazy = to_lazy(events, codes=True)
    purchases = (
        list(purchase_touchpoints)
        if not isinstance(purchase_touchpoints, str)
        else purchase_touchpoints
    )
    _check_map(journey_map, purchases)
    require(lf, ["customer_id", "timestamp", "touchpoint"], "assign_stages")
    mapping = {str(k): str(v) for k, v in journey_map.items()}
    for p in purchases:
        mapping[str(p)] = "purchase"
    ev, kept = as_events_kept(events, where="assign_stages", row_index=_ROW)
    stage_expr = _stage(by_customer(ev), mapping, purchases)
    if kept and not was_lazy and isinstance(ev, pl.DataFrame):
        # The stage column alone is computed (in parallel, in ~100k-row chunks) and put in
        # one chunk (1 byte a row); the other columns stay as they came, in one chunk. A
        # frame cut into chunks made the later steps pay: stage_transitions 0.20 against
        # 0.12 s of CPU on 9.2M events.
        column = ev.lazy().select(stage_expr).collect().to_series().rechunk()
        return vouch(ev.with_columns(column))
    out = ev.lazy().with_columns(stage_expr)
    if kept:
        return out
    # It was not prepared (or its codes no longer matched its rows): the stages computed on
    # the prepared rows go back to the input's row order, on the input's own columns.
    stage = out.select(_ROW, "stage").sort(_ROW).collect().get_column("stage")
    plain = lf.drop(CUSTOMER_CODE, SEQUENCE, strict=False).with_columns(pl.lit(stage))
    return plain if was_lazy else plain.collect()


def _stage(ev: pl.LazyFrame, mapping: dict[str, str], purchases: list[str]) -> pl.Expr:
    """The ``stage`` expression on prepared events (``touchpoint`` an enum of its values).

    The stage of each touchpoint code is gathered from a small table; a customer's first
    purchase is the purchase event with the smallest ``_cx_seq`` (the in-customer order), and
    every later purchase event is ``retention``.
    """
    values = ev.collect_schema()["touchpoint"].categories.to_list()
    stage_of_code = pl.Series([mapping.get(v) for v in values], dtype=STAGE_DTYPE)
    code = pl.col("touchpoint").to_physical()
    base = pl.lit(stage_of_code).gather(code)
    codes = [i for i, v in enumerate(values) if v in set(purchases)]
    if not codes:
        return base.alias("stage")
    is_p, seq, row = code.is_in(codes), pl.col(SEQUENCE), pl.col("__first_row")
    # the row of each customer's first purchase, marked in a mask of the rows (a scatter of
    # one row per customer: cheaper than looking every row's _cx_seq up in a set)
    firsts = (
        ev.with_row_index("__first_row")
        .filter(is_p)
        .group_by(CUSTOMER_CODE)
        .agg(row.get(seq.arg_min()))
        .select("__first_row")
        .collect()
        .to_series()
    )
    height = ev.select(pl.len()).collect().item()
    first = pl.repeat(False, height, eager=True, dtype=pl.Boolean).scatter(firsts, True)
    return (
        pl.when(is_p & ~pl.lit(first))
        .then(pl.lit("retention", dtype=STAGE_DTYPE))
        .otherwise(base)
        .alias("stage")
    )


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
        raise ParameterError(
            f"The 'n_examples' parameter must be an int >= 1. Got {n_examples!r} instead."
        )
    lf, _ = to_lazy(events)
    names = require(lf, ["customer_id", "timestamp", "touchpoint"], "unmapped_touchpoints")
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
        .select(
            "touchpoint",
            "events",
            "customers",
            "share_of_events",
            "first_seen",
            "last_seen",
            "example_customers",
            "example_rows",
        )
        .sort(["events", "touchpoint"], descending=[True, False], nulls_last=True)
        .collect()
    )
    return out.with_columns(pl.col("events", "customers").cast(pl.Int64))


def customer_journeys(
    events_with_stage: Frame, as_of: dt.datetime | dt.date | None = None
) -> pl.DataFrame:
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
    require_stage(to_lazy(events_with_stage)[0], "customer_journeys")
    # rows in customer order (as the loader gives them): every group-by below runs on runs
    lf = by_customer(as_events(events_with_stage, where="customer_journeys"))
    if as_of is not None:
        lf = lf.filter(pl.col("timestamp") <= as_of_expr(as_of))
    ts = pl.col("timestamp")
    # _cx_seq is a chronological sequence number within each customer: every "first/last"
    # is a plain min/max of it.
    lf = lf.select(
        CUSTOMER_CODE,
        "customer_id",
        "timestamp",
        pl.col(SEQUENCE).alias("_seq"),
        pl.col("stage").cast(STAGE_DTYPE),
    )
    j = _journey_aggregates(lf)
    if as_of is None:
        end_value = lf.select(ts.max()).collect().item()
        end_lit = pl.lit(end_value).cast(pl.Datetime("us", "UTC"))
    else:
        end_lit = as_of_expr(as_of)

    # time while each stage was the furthest so far
    day_us = 86_400_000_000
    days: list[pl.Expr] = []
    for i, s in enumerate(STAGES):
        later = [pl.col(f"first_{t}_at") for t in STAGES[i + 1 :]]
        next_entry = pl.min_horizontal(*later, end_lit) if later else end_lit
        # times the constant 1/day rather than divided by it: polars divides a one-row column
        # by a literal exactly but multiplies longer ones by the reciprocal, so a division's
        # last bit would depend on how many customers share a batch
        dur = (next_entry - pl.col(f"first_{s}_at")).dt.total_microseconds() * (1.0 / day_us)
        days.append(
            pl.when(pl.col(f"first_{s}_at").is_null())
            .then(None)
            .otherwise(dur.clip(lower_bound=0.0))
            .alias(f"days_in_{s}")
        )
    # regressed: a later stage was first reached before the last event of an earlier stage
    regress = [
        (pl.col(f"_first_{hi}_seq") < pl.col(f"_last_{lo}_seq")).fill_null(False)
        for i, hi in enumerate(STAGES)
        for lo in STAGES[:i]
    ]
    after_purchase = [
        (pl.col("_first_purchase_seq") < pl.col(f"_last_{lo}_seq")).fill_null(False)
        for lo in ("awareness", "consideration")
    ]
    current = pl.lit(None, dtype=pl.String)
    for s in STAGES:
        current = (
            pl.when(pl.col(f"_last_{s}_seq") == pl.col("_last_mapped_seq"))
            .then(pl.lit(s))
            .otherwise(current)
        )
    j = j.with_columns(
        *days,
        pl.any_horizontal(*regress).alias("regressed"),
        pl.any_horizontal(*after_purchase).alias("regressed_after_purchase"),
        current.cast(STAGE_DTYPE).alias("current_stage"),
    ).with_columns(
        pl.col("_furthest")
        .cast(pl.Int64)
        .replace_strict(dict(enumerate(STAGES)), default=None, return_dtype=STAGE_DTYPE)
        .alias("furthest_stage")
    )
    out = ["customer_id", "first_event_at", "last_event_at", "n_events", "n_unmapped"]
    out += [f"first_{s}_at" for s in STAGES]
    out += [f"events_{s}" for s in STAGES]
    out += [f"days_in_{s}" for s in STAGES]
    out += ["furthest_stage", "current_stage", "regressed", "regressed_after_purchase"]
    return j.select(out).sort("customer_id").collect()


def _journey_aggregates(lf: pl.LazyFrame) -> pl.LazyFrame:
    """The per-customer aggregates of :func:`customer_journeys` on prepared events.

    One group-by on the integer customer code for the
    whole journey, then one per stage over that stage's events only (first/last sequence
    number, first time, count), joined on the code. Times are aggregated as integers (polars
    aggregates tz-aware datetimes several times slower) and cast back.
    """
    key = CUSTOMER_CODE
    ts_dtype = lf.collect_schema()["timestamp"]
    t, seq, phys = pl.col("_t"), pl.col("_seq"), pl.col("_phys")
    base = lf.select(
        key,
        "customer_id",
        pl.col("timestamp").to_physical().alias("_t"),
        "_seq",
        pl.col("stage").to_physical().alias("_phys"),
    )
    j = (
        base.group_by(key)
        .agg(
            pl.col("customer_id").first(),
            t.min().alias("first_event_at"),
            t.max().alias("last_event_at"),
            pl.len().cast(pl.Int64).alias("n_events"),
            phys.is_null().sum().cast(pl.Int64).alias("n_unmapped"),
            phys.max().alias("_furthest"),
        )
        .sort(key)
    )
    for i, s in enumerate(STAGES):
        per = (
            base.filter(phys == i)
            .group_by(key)
            .agg(
                t.min().alias(f"first_{s}_at"),
                seq.min().alias(f"_first_{s}_seq"),
                seq.max().alias(f"_last_{s}_seq"),
                pl.len().cast(pl.Int64).alias(f"events_{s}"),
            )
            .sort(key)
        )
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
    require_stage(to_lazy(events_with_stage)[0], "stage_transitions")
    # rows in path order (_cx_seq): a prepared frame in that order (as the loader gives it)
    # is used as it is, anything else is sorted once
    lf, _ = path_order(as_events(events_with_stage, where="stage_transitions"))
    if as_of is not None:
        lf = lf.filter(pl.col("timestamp") <= as_of_expr(as_of))
    key = CUSTOMER_CODE
    cid = pl.col(key)
    # States as small integers (index in TRANSITION_STATES): no text in the 10M-row part.
    st = pl.col("stage").cast(STAGE_DTYPE).to_physical().cast(pl.Int8) + 1
    seq = lf.filter(pl.col("stage").is_not_null()).select(key, st.alias("stage"))
    first = cid != cid.shift(1)
    first = first.fill_null(True)
    if collapse_repeats:
        seq = seq.filter(first | (pl.col("stage") != pl.col("stage").shift(1)))
    is_first = (cid != cid.shift(1)).fill_null(True)
    is_last = (cid != cid.shift(-1)).fill_null(True)
    start, end = 0, len(TRANSITION_STATES) - 1
    pairs = seq.with_columns(
        pl.when(is_first)
        .then(pl.lit(start, dtype=pl.Int8))
        .otherwise(pl.col("stage").shift(1))
        .alias("from_stage"),
        pl.col("stage").alias("to_stage"),
        is_last.alias("_last"),
    )
    parts = [pairs.select(key, "from_stage", "to_stage")]
    if include_start_end:
        parts.append(
            pairs.filter(pl.col("_last")).select(
                key,
                pl.col("stage").alias("from_stage"),
                pl.lit(end, dtype=pl.Int8).alias("to_stage"),
            )
        )
    else:
        parts[0] = parts[0].filter(pl.col("from_stage") != start)
    allp = pl.concat(parts)
    states = dict(enumerate(TRANSITION_STATES))
    out = (
        allp.group_by("from_stage", "to_stage")
        .agg(
            pl.len().cast(pl.Int64).alias("transitions"),
            pl.col(key).n_unique().cast(pl.Int64).alias("customers"),
        )
        .with_columns(
            pl.col("from_stage").replace_strict(states, return_dtype=TRANSITION_DTYPE),
            pl.col("to_stage").replace_strict(states, return_dtype=TRANSITION_DTYPE),
        )
        .with_columns(pl.col("transitions").sum().over("from_stage").alias("from_total"))
        .with_columns((pl.col("transitions") / pl.col("from_total")).alias("share"))
        .select("from_stage", "to_stage", "transitions", "customers", "share", "from_total")
        .sort("from_stage", "to_stage")
        # the default (streaming) engine: with no sort left in the plan it works in batches
        # (the in-memory engine's whole columns cost 25-30k page faults on 10M events, the
        # streaming one's sort of _cx_seq 3x the CPU on the sample log; RESULTS.md)
        .collect()
    )
    return out
