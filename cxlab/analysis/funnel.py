"""Funnels over touchpoints or stages, time-to-convert curves, and drop-off drivers.

The funnel follows what analysts know from PostHog / Amplitude funnels.

Steps
    An ordered list; each step is one value (``"checkout"``) or a list of values that all
    count as the step (``["site_visit", "app_open"]``), matched in ``column`` (``touchpoint``
    by default, ``stage`` for a stage funnel — see :func:`stage_funnel`).
Entering
    A customer enters the funnel at their *first* event matching step 1 (up to ``as_of``).
    That event anchors the conversion window, and its attributes give the breakdown value
    when ``by`` is an events column (e.g. the channel of the first step), like Amplitude.
Order (``order=``)
    ``"ordered"`` (eventual): step k is the first event matching step k after step k-1;
    other events may come in between. ``"strict"`` (consecutive): step k must be the very
    next event of the customer after step k-1 (every event in the frame counts — filter
    noise out first). ``"any"``: steps 1..k done in any order; step k's time is the latest of
    the first occurrences of steps 1..k.
Windows
    ``window``: the whole funnel must be completed within this time of step 1.
    ``step_windows``: step k must follow step k-1 within this time. Both may apply (the
    earlier deadline wins). Values are ``timedelta`` or strings like ``"7d"``, ``"12h"``,
    ``"2w"``, ``"30m"``.
Completed windows and censoring
    A customer who reached step k-1 less than the window before ``as_of`` (the data end) has
    not had their full chance to convert to step k: their window is *open*. As Amplitude's
    "completed conversion windows" mode does, ``conversion_rate`` leaves those customers out
    of numerator *and* denominator (``eligible = entered - open_window``); leaving out only
    the non-converters would bias rates upward. ``censored`` counts open-window customers who
    have not converted yet. Without any window nobody is censored: everyone had until the
    data end. ``completed_windows=False`` gives the naive rate over everybody instead.
    The Kaplan–Meier curve (:func:`time_to_convert`) keeps every customer, treating
    non-converters as censored at the end of their window (or at ``as_of``), not as lost.
Exclusions
    ``exclude=["support_call"]`` removes customers who did it between step 1 and the last
    step; ``exclude=[("support_call", 2, 3)]`` between steps 2 and 3 (1-based). "Between"
    ends at the later step's event when reached, else at the end of the window (or
    ``as_of``). Excluded customers leave the whole funnel (as in PostHog); their number is
    the ``excluded`` column.
Ties
    Events of one customer with equal timestamps keep file order (``source_row``); a step
    must be strictly after the previous step in that order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Literal

import polars as pl

from cxlab.analysis.journey import assign_stages
from cxlab.analysis.stats import Z95, small_n, wilson_bounds
from cxlab.contract.prepare import text_codes
from cxlab.contract.schema import STAGES
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.events import ORDER as _ORDER
from cxlab.events import customer_key as _key
from cxlab.events import require as _require
from cxlab.events import resolve_as_of as _resolve_as_of
from cxlab.events import to_lazy as _to_lazy
from cxlab.events import with_order as _with_order

__all__ = [
    "funnel",
    "funnel_customers",
    "stage_funnel",
    "time_to_convert",
    "kaplan_meier",
    "drop_off_drivers",
    "parse_window",
]

Frame = pl.DataFrame | pl.LazyFrame
Window = dt.timedelta | str | None
Step = str | Sequence[str]
_ORDERS = ("ordered", "strict", "any")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_MAX_ROW = 2**62
_HOUR_US = 3_600_000_000


# --------------------------------------------------------------------------- parameters
def parse_window(value: Window, name: str = "window") -> dt.timedelta | None:
    """A conversion window as a ``timedelta`` (``None`` stays ``None``).

    Examples
    --------
    >>> parse_window("7d"), parse_window("36h")
    (datetime.timedelta(days=7), datetime.timedelta(days=1, seconds=43200))
    """
    if value is None or isinstance(value, dt.timedelta):
        if isinstance(value, dt.timedelta) and value <= dt.timedelta(0):
            raise ParameterError(
                f"The '{name}' parameter must be a positive duration. Got {value!r} instead."
            )
        return value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([wdhms])\s*", value.lower())
        if m and float(m.group(1)) > 0:
            return dt.timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    raise ParameterError(
        f"The '{name}' parameter must be a positive timedelta or a string like '7d', '12h', "
        f"'2w', '30m'. Got {value!r} instead."
    )


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
                    f"The 'step_windows' keys must be 1-based indices 2..{n_steps} of the step being "
                    f"converted to (or step names). Got {key!r}."
                )
            out[k] = parse_window(w, f"step_windows[{key!r}]")
        return out
    seq = list(step_windows)
    if len(seq) != n_steps - 1:
        raise ParameterError(
            f"The 'step_windows' list must have one entry per step after the first "
            f"({n_steps - 1} for {n_steps} steps; None for no limit). Got {len(seq)}."
        )
    for i, w in enumerate(seq, start=1):
        out[i] = parse_window(w, f"step_windows[{i - 1}]")
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
            "Each 'exclude' entry must be a touchpoint (excluded between the first and last step) "
            f"or a tuple (touchpoint, from_step, to_step) with 1 <= from_step < to_step <= {n_steps}. "
            f"Got {item!r} instead."
        )
    if n_steps < 2:
        raise ParameterError("The 'exclude' parameter needs a funnel of at least 2 steps.")
    return out


def _before(a_ts: pl.Expr, a_row: pl.Expr, b_ts: pl.Expr, b_row: pl.Expr) -> pl.Expr:
    """(a_ts, a_row) < (b_ts, b_row) lexicographically."""
    return (a_ts < b_ts) | ((a_ts == b_ts) & (a_row < b_row))


def _min_dt(*exprs: pl.Expr | None) -> pl.Expr:
    present = [e for e in exprs if e is not None]
    return pl.min_horizontal(*present) if present else pl.lit(None, dtype=pl.Datetime("us", "UTC"))


# --------------------------------------------------------------------------- per customer
def _state(
    events: Frame,
    steps: Sequence[Step],
    *,
    column: str = "touchpoint",
    window: Window = None,
    step_windows=None,
    order: str = "ordered",
    by: str | None = None,
    exclude=None,
    as_of: dt.datetime | dt.date | None = None,
    customers: Frame | None = None,
    cohort_every: str = "1mo",
) -> tuple[pl.DataFrame, list[str], dt.datetime]:
    """Per-customer funnel state incl. private columns ``_row_k`` (step event order keys)."""
    if order not in _ORDERS:
        raise ParameterError(
            f"The 'order' parameter of funnel must be one of {_ORDERS}. Got {order!r} instead."
            f"{did_you_mean(str(order), _ORDERS)}"
        )
    values, names = _steps(steps)
    n = len(values)
    win = parse_window(window)
    swin = _step_windows(step_windows, n, names)
    if order == "any" and any(w is not None for w in swin):
        raise ParameterError(
            "The 'step_windows' parameter has no meaning with order='any' (steps have no order). "
            "Use 'window' instead."
        )
    excl = _exclusions(exclude, n)
    lf, _ = _to_lazy(events, codes=True)
    cols = _require(lf, ["customer_id", "timestamp", column], "funnel")
    # Prepared events (cxlab.contract.prepare): group and join on the integer customer code ``ck``
    # (customer_id rides along); plain events: ck is customer_id itself.
    ck = _key(cols)
    coded = ck != "customer_id"
    lf = _with_order(lf)
    end = _resolve_as_of(lf, as_of)
    end_lit = pl.lit(end).cast(pl.Datetime("us", "UTC"))
    lf = lf.filter(pl.col("timestamp") <= end_lit)
    val = pl.col(column).cast(pl.String)

    # integer codes of the step column (one text pass), then check the step values exist
    code, decode, _ = text_codes(lf, column)
    index = {v: i for i, v in decode.items() if v is not None}
    seen = set(index)
    pool = sorted(seen | (set(STAGES) if column == "stage" else set()))
    for vals in values:
        for v in vals:
            if v not in seen and v not in pool:
                raise ParameterError(
                    f"The funnel step {v!r} never occurs in column '{column}'.{did_you_mean(v, pool)} "
                    f"Values found: {', '.join(pool[:30])}{' …' if len(pool) > 30 else ''}."
                )

    by_is_event = by is not None and by in cols and by != "signup_cohort"
    ids = [ck, "customer_id"] if coded else ["customer_id"]
    keep = [*ids, "timestamp", _ORDER]
    base_cols = [*keep, code.alias("_v")] + (
        [pl.col(by).cast(pl.String).alias("_by")] if by_is_event else []
    )
    ts, row = pl.col("timestamp"), pl.col(_ORDER)
    match = [
        pl.col("_v").is_in(
            pl.Series([index[x] for x in v if x in index], dtype=pl.UInt64).implode()
        )
        for v in values
    ]

    if order == "strict":
        # prepared: _ORDER (= _cx_seq) alone is the (customer, timestamp, source_row) order
        seq = lf.select(base_cols).sort(_ORDER if coded else ["customer_id", "timestamp", _ORDER])
        cid = pl.col(ck)
        m1 = match[0]
        seq = seq.with_columns((m1 & (m1.cast(pl.UInt32).cum_sum().over(ck) == 1)).alias("_anchor"))
        shifted = []
        for j in range(1, n):
            shifted += [
                (
                    (cid.shift(-j) == cid).fill_null(False) & match[j].shift(-j).fill_null(False)
                ).alias(f"_ok_{j}"),
                ts.shift(-j).alias(f"_t_{j}"),
                row.shift(-j).alias(f"_r_{j}"),
            ]
        st = seq.with_columns(shifted).filter(pl.col("_anchor"))
        st = st.with_columns(ts.alias("_t_0"), row.alias("_r_0"))
        sel = [*ids, "_t_0", "_r_0"] + (["_by"] if by_is_event else [])
        reached = pl.lit(True)
        exprs = [pl.col("_t_0").alias("step_1_at"), pl.col("_r_0").alias("_row_1")]
        for k in range(1, n):
            deadline = _min_dt(
                pl.col("_t_0") + win if win else None,
                pl.col(f"_t_{k - 1}") + swin[k] if swin[k] else None,
            )
            ok = pl.col(f"_ok_{k}") & (deadline.is_null() | (pl.col(f"_t_{k}") <= deadline))
            reached = reached & ok
            exprs += [
                pl.when(reached).then(pl.col(f"_t_{k}")).alias(f"step_{k + 1}_at"),
                pl.when(reached).then(pl.col(f"_r_{k}")).alias(f"_row_{k + 1}"),
            ]
            sel += [f"_ok_{k}", f"_t_{k}", f"_r_{k}"]
        state = (
            st.select(*sel)
            .with_columns(exprs)
            .select(
                *ids,
                *(["_by"] if by_is_event else []),
                *[c for k in range(n) for c in (f"step_{k + 1}_at", f"_row_{k + 1}")],
            )
            .collect()
        )
    else:
        # only events that match some step matter (plus exclusion touchpoints later)
        base = (
            lf.select(base_cols)
            .with_columns([m.alias(f"_m_{k}") for k, m in enumerate(match)])
            .filter(pl.any_horizontal([pl.col(f"_m_{k}") for k in range(n)]))
            .collect()
        )
        if coded and not base.get_column(_ORDER).is_sorted():
            base = base.sort(_ORDER)  # a reordered prepared frame: back to (customer, time) order
        b = base.lazy()
        # step 1: first matching event
        t1 = ts.filter(pl.col("_m_0")).min()
        r1 = row.filter(pl.col("_m_0") & (ts == t1)).min()
        agg = [t1.alias("step_1_at"), r1.alias("_row_1")]
        first_id = [pl.col("customer_id").first()] if coded else []
        if by_is_event:
            agg.append(pl.col("_by").filter(pl.col("_m_0") & (ts == t1) & (row == r1)).first())
        if order == "any":
            for k in range(1, n):
                tk = ts.filter(pl.col(f"_m_{k}")).min()
                agg += [
                    tk.alias(f"_first_{k}"),
                    row.filter(pl.col(f"_m_{k}") & (ts == tk)).min().alias(f"_firstrow_{k}"),
                ]
            state_lf = b.filter(pl.col("_m_0").any().over(ck)).group_by(ck).agg(first_id + agg)
            exprs = []
            reached = pl.lit(True)
            for k in range(1, n):
                firsts = [pl.col("step_1_at")] + [pl.col(f"_first_{j}") for j in range(1, k + 1)]
                lo, hi = pl.min_horizontal(firsts), pl.max_horizontal(firsts)
                ok = pl.col(f"_first_{k}").is_not_null()
                if win:
                    ok = ok & ((hi - lo) <= win)
                reached = reached & ok
                # the row of the latest first-occurrence among steps 1..k (ties: larger row)
                rows = [
                    pl.when(f == hi).then(r)
                    for f, r in zip(
                        firsts,
                        [pl.col("_row_1")] + [pl.col(f"_firstrow_{j}") for j in range(1, k + 1)],
                        strict=True,
                    )
                ]
                exprs += [
                    pl.when(reached).then(hi).alias(f"step_{k + 1}_at"),
                    pl.when(reached).then(pl.max_horizontal(rows)).alias(f"_row_{k + 1}"),
                ]
            state = (
                state_lf.with_columns(exprs)
                .select(
                    *ids,
                    *(["_by"] if by_is_event else []),
                    *[c for k in range(n) for c in (f"step_{k + 1}_at", f"_row_{k + 1}")],
                    *[f"_first_{k}" for k in range(1, n)],
                )
                .collect()
            )
        elif coded:  # ordered, prepared: rows in (customer, time) order, first row = earliest
            state = _state_ordered_prepared(b, ck, n, win, swin, by_is_event)
        else:  # ordered: greedy first match after the previous step, within windows
            state = b.filter(pl.col("_m_0")).group_by(ck).agg(first_id + agg).collect()
            for k in range(1, n):
                cand = _next_step_candidates(b, state, ck, k, win, swin)
                tk = ts.min()
                nxt = (
                    cand.group_by(ck)
                    .agg(
                        tk.alias(f"step_{k + 1}_at"),
                        row.filter(ts == tk).min().alias(f"_row_{k + 1}"),
                    )
                    .collect()
                )
                state = state.join(nxt, on=ck, how="left")

    # deadlines and open windows per step (k >= 2)
    dl = []
    for k in range(1, n):
        if order == "any":
            # the earliest first occurrence among steps 1..k-1 anchors the window
            firsts = [pl.col("step_1_at")] + [pl.col(f"_first_{j}") for j in range(1, k)]
            deadline = _min_dt(pl.min_horizontal(firsts) + win if win else None)
        else:
            deadline = _min_dt(
                pl.col("step_1_at") + win if win else None,
                pl.col(f"step_{k}_at") + swin[k] if swin[k] else None,
            )
        dl.append(
            pl.when(pl.col(f"step_{k}_at").is_not_null()).then(deadline).alias(f"deadline_{k + 1}")
        )
    state = state.with_columns(dl)

    # exclusions
    state = state.with_columns(pl.lit(False).alias("excluded"))
    if excl:
        ex_vals = sorted({v for tps, _, _ in excl for v in tps})
        ex_ev = (
            lf.filter(val.is_in(ex_vals)).select(ck, "timestamp", _ORDER, val.alias("_v")).collect()
        )
        flags = []
        for i, (tps, a, bb) in enumerate(excl):
            lo_t, lo_r = pl.col(f"step_{a + 1}_at"), pl.col(f"_row_{a + 1}")
            reached_b = pl.col(f"step_{bb + 1}_at").is_not_null()
            cap = (pl.col("step_1_at") + win) if win else end_lit
            hi_t = (
                pl.when(reached_b)
                .then(pl.col(f"step_{bb + 1}_at"))
                .otherwise(pl.min_horizontal(cap, end_lit))
            )
            hi_r = (
                pl.when(reached_b)
                .then(pl.col(f"_row_{bb + 1}").cast(pl.Int64))
                .otherwise(pl.lit(_MAX_ROW))
            )
            hit = (
                ex_ev.lazy()
                .filter(pl.col("_v").is_in(tps))
                .join(
                    state.lazy()
                    .filter(lo_t.is_not_null())
                    .select(
                        ck,
                        lo_t.alias("_lo_t"),
                        lo_r.cast(pl.Int64).alias("_lo_r"),
                        hi_t.alias("_hi_t"),
                        hi_r.alias("_hi_r"),
                    ),
                    on=ck,
                )
                .filter(
                    _before(pl.col("_lo_t"), pl.col("_lo_r"), ts, row.cast(pl.Int64))
                    & _before(ts, row.cast(pl.Int64), pl.col("_hi_t"), pl.col("_hi_r"))
                )
                .select(ck)
                .unique()
                .with_columns(pl.lit(True).alias(f"_ex_{i}"))
                .collect()
            )
            state = state.join(hit, on=ck, how="left")
            flags.append(pl.col(f"_ex_{i}").fill_null(False))
        state = state.with_columns(pl.any_horizontal(flags).alias("excluded")).drop(
            [f"_ex_{i}" for i in range(len(excl))]
        )

    if coded:
        state = state.drop(ck)
    # breakdown
    state = _attach_by(state, lf, by, by_is_event, customers, cols, cohort_every)
    reached_n = pl.sum_horizontal(
        [pl.col(f"step_{k + 1}_at").is_not_null().cast(pl.Int32) for k in range(n)]
    )
    # rows in no particular order (funnel_customers sorts; the aggregates do not need it)
    state = state.with_columns(reached_n.alias("steps_reached"))
    return state, names, end


def _next_step_candidates(
    b: pl.LazyFrame, state: pl.DataFrame, ck: str, k: int, win, swin
) -> pl.LazyFrame:
    """Events matching step k + 1 that may follow each customer's step k (``order="ordered"``).

    Events of ``b`` (in ``b``'s row order) strictly after the customer's step-k event in
    (timestamp, row) order and within the funnel window and the step's own window.
    """
    ts, row = pl.col("timestamp"), pl.col(_ORDER)
    prev_t, prev_r = pl.col(f"step_{k}_at"), pl.col(f"_row_{k}")
    deadline = _min_dt(
        pl.col("step_1_at") + win if win else None,
        prev_t + swin[k] if swin[k] else None,
    )
    reached = (
        state.lazy()
        .filter(prev_t.is_not_null())
        .select(list(dict.fromkeys([ck, "step_1_at", f"step_{k}_at", f"_row_{k}"])))
    )
    return (
        b.filter(pl.col(f"_m_{k}"))
        .select(ck, "timestamp", _ORDER)
        .join(reached, on=ck, maintain_order="left")
        .filter(_before(prev_t, prev_r, ts, row))
        .filter(deadline.is_null() | (ts <= deadline))
    )


def _state_ordered_prepared(
    b: pl.LazyFrame, ck: str, n: int, win, swin, by_is_event: bool
) -> pl.DataFrame:
    """The ``order="ordered"`` funnel state on prepared events, without per-customer group-bys.

    ``b`` holds the step-matching events in ``_cx_seq`` order: each customer's events are
    contiguous and ordered by (timestamp, source_row), so a customer's earliest event
    among a set of candidates is simply the first candidate row of that customer.
    """
    ts, row, cid = pl.col("timestamp"), pl.col(_ORDER), pl.col(ck)
    first_of_customer = cid.ne_missing(cid.shift(1)).fill_null(True)
    state = (
        b.filter(pl.col("_m_0"))
        .filter(first_of_customer)
        .select(
            ck,
            "customer_id",
            ts.alias("step_1_at"),
            row.alias("_row_1"),
            *(["_by"] if by_is_event else []),
        )
        .collect()
    )
    for k in range(1, n):
        nxt = (
            _next_step_candidates(b, state, ck, k, win, swin)
            .filter(first_of_customer)
            .select(ck, ts.alias(f"step_{k + 1}_at"), row.alias(f"_row_{k + 1}"))
            .collect()
        )
        state = state.join(nxt, on=ck, how="left", maintain_order="left")
    return state


def _attach_by(state, lf, by, by_is_event, customers, cols, cohort_every) -> pl.DataFrame:
    if by is None:
        return state
    if by_is_event:
        return state.rename({"_by": by}).with_columns(pl.col(by).fill_null("(missing)"))
    if by == "signup_cohort":
        if customers is not None:
            cl, _ = _to_lazy(customers, "customers")
            _require(cl, ["customer_id", "signup_date"], "funnel(by='signup_cohort')", "customers")
            coh = cl.select("customer_id", pl.col("signup_date").cast(pl.Date).alias("_d"))
        else:
            coh = lf.group_by("customer_id").agg(pl.col("timestamp").min().dt.date().alias("_d"))
        coh = coh.select(
            "customer_id", pl.col("_d").dt.truncate(cohort_every).dt.strftime("%Y-%m-%d").alias(by)
        ).collect()
        return state.join(coh, on="customer_id", how="left").with_columns(
            pl.col(by).fill_null("(missing)")
        )
    if customers is None:
        raise DataError(
            f"funnel: the breakdown column '{by}' is not in the events frame.{did_you_mean(by, cols)} "
            "Pass customers=... to break down by a customer attribute (e.g. segment), or "
            "by='signup_cohort'."
        )
    cl, _ = _to_lazy(customers, "customers")
    _require(cl, ["customer_id", by], "funnel", "customers")
    attr = (
        cl.select("customer_id", pl.col(by).cast(pl.String))
        .unique("customer_id", keep="first")
        .collect()
    )
    return state.join(attr, on="customer_id", how="left").with_columns(
        pl.col(by).fill_null("(missing)")
    )


def funnel_customers(events: Frame, steps: Sequence[Step], **kwargs) -> pl.DataFrame:
    """Per-customer funnel progress (the "view customers" of a funnel), sorted by customer.

    Takes the same arguments as :func:`funnel`. Returns ``customer_id``, the breakdown
    column when ``by`` is given, ``step_<k>_at`` (time the customer reached step k, null when
    not), ``deadline_<k>`` (latest time step k could count, null without window),
    ``excluded``, ``steps_reached`` (0..len(steps); excluded customers keep their value).

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
    state, _, _ = _state(events, steps, **kwargs)
    return state.select([c for c in state.columns if not c.startswith("_")]).sort("customer_id")


# --------------------------------------------------------------------------- funnel table
def funnel(
    events: Frame,
    steps: Sequence[Step],
    *,
    window: Window = None,
    step_windows: Sequence[Window] | Mapping[int | str, Window] | None = None,
    order: Literal["ordered", "strict", "any"] = "ordered",
    by: str | None = None,
    exclude: Sequence[str | tuple[str, int, int]] | None = None,
    as_of: dt.datetime | dt.date | None = None,
    column: str = "touchpoint",
    customers: Frame | None = None,
    completed_windows: bool = True,
    cohort_every: str = "1mo",
) -> pl.DataFrame:
    """Conversion funnel with Wilson intervals, censoring and time to convert.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events (with ``stage`` when ``column="stage"``).
    steps : list
        Ordered steps; each a value of ``column`` or a list of values.
    window : timedelta or str, optional
        Overall conversion window from step 1 (e.g. ``"30d"``).
    step_windows : list or dict, optional
        Window from step k-1 to step k: a list of ``len(steps) - 1`` entries (None = no
        limit) or a dict ``{k: window}`` with k the 1-based target step (or its name).
    order : {"ordered", "strict", "any"}
        Eventual order, consecutive events, or any order (see the module docstring).
    by : str, optional
        Breakdown: an events column (value at the customer's step-1 event, e.g. ``channel``),
        a customers column (needs ``customers``, e.g. ``segment``), or ``"signup_cohort"``
        (month of ``customers.signup_date``; month of the first event without customers).
    exclude : list, optional
        Exclusion steps: touchpoints, or ``(touchpoint, from_step, to_step)`` tuples.
    as_of : datetime or date, optional
        The data end (default: the last timestamp); later events are ignored.
    column : str
        The column the steps are matched in (``touchpoint`` or ``stage`` …).
    customers : DataFrame or LazyFrame, optional
        Customer attributes for ``by``.
    completed_windows : bool
        True (default): leave customers whose window is still open out of the rate.
    cohort_every : str
        Cohort width for ``by="signup_cohort"`` (polars truncate string, default ``"1mo"``).

    Returns
    -------
    DataFrame
        One row per (breakdown value, step), ordered. Columns: [``by``], ``step`` (1-based),
        ``step_name``, ``entered`` (reached the previous step; step 1: reached step 1),
        ``converted`` (reached this step), ``open_window``, ``censored`` (open window and not
        converted), ``eligible`` (entered minus open window), ``converted_eligible``,
        ``conversion_rate`` = converted_eligible / eligible with Wilson ``ci_low`` /
        ``ci_high``, ``drop_off`` (eligible - converted_eligible), ``overall_rate``
        (converted / reached step 1), ``median_hours`` and ``p90_hours`` (time from the
        previous step among converters), ``excluded`` (customers removed by exclusion
        steps, same on every row of a group), ``small_n`` (eligible < 30).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> h = dt.timedelta(hours=1)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "c", "c"],
    ...     "timestamp": [t, t + 2 * h, t, t, t + 5 * h],
    ...     "touchpoint": ["site_visit", "purchase", "site_visit", "site_visit", "purchase"]})
    >>> f = funnel(ev, ["site_visit", "purchase"])
    >>> f.select("step_name", "entered", "converted", "conversion_rate").rows()
    [('site_visit', 3, 3, 1.0), ('purchase', 3, 2, 0.6666666666666666)]
    """
    state, names, end = _state(
        events,
        steps,
        window=window,
        step_windows=step_windows,
        order=order,
        by=by,
        exclude=exclude,
        as_of=as_of,
        column=column,
        customers=customers,
        cohort_every=cohort_every,
    )
    return _aggregate(state, names, end, by, completed_windows)


def _aggregate(
    state: pl.DataFrame, names: list[str], end: dt.datetime, by: str | None, completed_windows: bool
) -> pl.DataFrame:
    n = len(names)
    groups = [by] if by else []
    end_lit = pl.lit(end).cast(pl.Datetime("us", "UTC"))
    excluded = (
        state.group_by(groups).agg(pl.col("excluded").sum().cast(pl.Int64))
        if groups
        else state.select(pl.col("excluded").sum().cast(pl.Int64))
    )
    s = state.filter(~pl.col("excluded"))
    rows = []
    for k in range(n):
        reached = pl.col(f"step_{k + 1}_at").is_not_null()
        if k == 0:
            entered, open_w = reached, pl.lit(False)
            hours = pl.lit(None, dtype=pl.Float64)
        else:
            entered = pl.col(f"step_{k}_at").is_not_null()
            open_w = entered & (pl.col(f"deadline_{k + 1}") > end_lit).fill_null(False)
            hours = (
                pl.col(f"step_{k + 1}_at") - pl.col(f"step_{k}_at")
            ).dt.total_microseconds() / _HOUR_US
        if not completed_windows:
            open_w_rate = pl.lit(False)
        else:
            open_w_rate = open_w
        part = (
            s.lazy()
            .with_columns(hours.alias("_h"))
            .group_by(groups)
            .agg(
                entered.sum().cast(pl.Int64).alias("entered"),
                reached.sum().cast(pl.Int64).alias("converted"),
                open_w.sum().cast(pl.Int64).alias("open_window"),
                (open_w & ~reached).sum().cast(pl.Int64).alias("censored"),
                (entered & ~open_w_rate).sum().cast(pl.Int64).alias("eligible"),
                (reached & ~open_w_rate).sum().cast(pl.Int64).alias("converted_eligible"),
                pl.col("step_1_at").is_not_null().sum().cast(pl.Int64).alias("_started"),
                pl.col("_h").filter(reached).median().alias("median_hours"),
                pl.col("_h")
                .filter(reached)
                .quantile(0.9, interpolation="linear")
                .alias("p90_hours"),
            )
            .with_columns(
                pl.lit(k + 1, dtype=pl.Int64).alias("step"), pl.lit(names[k]).alias("step_name")
            )
        )
        rows.append(part.collect())
    out = pl.concat(rows, how="diagonal_relaxed")
    out = out.with_columns(
        (pl.col("converted_eligible") / pl.col("eligible")).alias("conversion_rate"),
        *wilson_bounds("converted_eligible", "eligible"),
        (pl.col("eligible") - pl.col("converted_eligible")).alias("drop_off"),
        (pl.col("converted") / pl.col("_started")).alias("overall_rate"),
        small_n("eligible"),
    ).with_columns(
        pl.when(pl.col("eligible") > 0).then(pl.col("conversion_rate")).alias("conversion_rate"),
        pl.when(pl.col("_started") > 0).then(pl.col("overall_rate")).alias("overall_rate"),
    )
    if groups:
        out = out.join(excluded, on=groups, how="left")
    else:
        out = out.with_columns(pl.lit(excluded.item()).cast(pl.Int64).alias("excluded"))
    cols = [
        *groups,
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
    ]
    return out.select(cols).sort([*groups, "step"])


def stage_funnel(
    events: Frame,
    stages: Sequence[str] = STAGES,
    *,
    journey_map: Mapping[str, str] | None = None,
    purchase_touchpoints: Sequence[str] = ("purchase",),
    **kwargs,
) -> pl.DataFrame:
    """Funnel over journey stages (``column="stage"``); other arguments as in :func:`funnel`.

    A customer reaches a stage at their first event in it after reaching the previous one.
    Customers who never had an event of the first stage do not enter; pass
    ``stages=("consideration", "purchase", "retention")`` to start later. Stages are added
    with :func:`cxlab.analysis.journey.assign_stages` when ``events`` has no ``stage`` column (then
    ``journey_map`` is required).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b"], "timestamp": [t, t, t],
    ...     "touchpoint": ["site_visit", "purchase", "site_visit"], "source_row": [1, 2, 3]})
    >>> m = {"site_visit": "consideration", "purchase": "purchase"}
    >>> stage_funnel(ev, ["consideration", "purchase"], journey_map=m)["converted"].to_list()
    [2, 1]
    """
    lf, _ = _to_lazy(events)
    if "stage" not in lf.collect_schema().names():
        if journey_map is None:
            raise DataError(
                "stage_funnel: the events frame has no 'stage' column and no journey_map was "
                "given. Pass journey_map=config.journey_map or use assign_stages first."
            )
        lf = assign_stages(lf, journey_map, purchase_touchpoints)
    for s in stages:
        if s not in STAGES:
            raise ParameterError(
                f"stage_funnel: {s!r} is not a stage.{did_you_mean(s, STAGES)} Stages: {STAGES}."
            )
    return funnel(lf, list(stages), column="stage", **kwargs)


# --------------------------------------------------------------------------- Kaplan–Meier
def kaplan_meier(
    durations: Frame,
    *,
    duration: str = "hours",
    event: str = "converted",
    by: Sequence[str] = (),
    z: float = Z95,
) -> pl.DataFrame:
    """Vectorised Kaplan–Meier estimator in polars (validated against lifelines).

    Parameters
    ----------
    durations : DataFrame or LazyFrame
        One row per subject: ``duration`` (>= 0) and ``event`` (bool: observed, else censored).
    by : sequence of str
        Columns to estimate separately for.
    z : float
        Normal quantile of the interval (log(-log) / "exponential Greenwood", as lifelines).

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
    lf, _ = _to_lazy(durations, "durations")
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
    half = z * pl.col("_gw").sqrt() / logs.abs()
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

    For step k, every customer who reached step k-1 (and is not excluded) is a subject; the
    clock starts at step k-1 (at step 1 with ``from_start=True``). Converters are events at
    their conversion time; everybody else is censored at the end of their window or at
    ``as_of``, whichever comes first — customers still inside their window are censored, not
    lost. Arguments as in :func:`funnel`.

    Returns
    -------
    DataFrame
        [``by``], ``step``, ``step_name``, ``hours``, ``at_risk``, ``events``, ``censored``,
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
    state, names, end = _state(
        events, steps, **{k: v for k, v in kwargs.items() if k != "completed_windows"}
    )
    by = kwargs.get("by")
    groups = [by] if by else []
    end_lit = pl.lit(end).cast(pl.Datetime("us", "UTC"))
    s = state.filter(~pl.col("excluded"))
    parts = []
    for k in range(1, len(names)):
        start = pl.col("step_1_at") if from_start else pl.col(f"step_{k}_at")
        stop = pl.col(f"step_{k + 1}_at")
        cens_at = pl.min_horizontal(pl.col(f"deadline_{k + 1}").fill_null(end_lit), end_lit)
        d = s.filter(pl.col(f"step_{k}_at").is_not_null()).select(
            *groups,
            (pl.coalesce(stop, cens_at) - start)
            .dt.total_microseconds()
            .truediv(_HOUR_US)
            .clip(lower_bound=0.0)
            .alias("hours"),
            stop.is_not_null().alias("converted"),
        )
        if d.height == 0:
            continue
        km = kaplan_meier(d, by=groups)
        ns = d.group_by(groups).agg(pl.len().cast(pl.Int64).alias("n")) if groups else None
        km = (
            km.join(ns, on=groups)
            if groups
            else km.with_columns(pl.lit(d.height, dtype=pl.Int64).alias("n"))
        )
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


# --------------------------------------------------------------------------- drop-off drivers
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
    after reaching ``step`` — up to the end of their window (stopped) or up to the next step
    (continued). ``(no event)`` stands for customers with no event there.

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
    values, _ = _steps(steps)
    if not isinstance(step, int) or not 1 <= step < len(values):
        raise ParameterError(
            f"The 'step' parameter of drop_off_drivers must be an int in [1, {len(values) - 1}] "
            f"(a step that has a next step). Got {step!r} instead."
        )
    state, _, end = _state(
        events, steps, **{k: v for k, v in kwargs.items() if k != "completed_windows"}
    )
    end_lit = pl.lit(end).cast(pl.Datetime("us", "UTC"))
    k = step
    at, rw = pl.col(f"step_{k}_at"), pl.col(f"_row_{k}").cast(pl.Int64)
    nxt, nxt_r = pl.col(f"step_{k + 1}_at"), pl.col(f"_row_{k + 1}").cast(pl.Int64)
    dl = pl.col(f"deadline_{k + 1}")
    s = state.filter(~pl.col("excluded") & at.is_not_null())
    s = s.with_columns(
        pl.when(nxt.is_not_null())
        .then(pl.lit("continued"))
        .when((dl > end_lit).fill_null(False))
        .then(None)
        .otherwise(pl.lit("stopped"))
        .alias("_group")
    ).filter(pl.col("_group").is_not_null())
    hi_t = (
        pl.when(nxt.is_not_null())
        .then(nxt)
        .otherwise(pl.min_horizontal(dl.fill_null(end_lit), end_lit))
    )
    hi_r = pl.when(nxt.is_not_null()).then(nxt_r).otherwise(pl.lit(_MAX_ROW))
    lf, _ = _to_lazy(events)
    lf = _with_order(lf).filter(pl.col("timestamp") <= end_lit)
    ts, row = pl.col("timestamp"), pl.col(_ORDER).cast(pl.Int64)
    bounds = s.select(
        "customer_id",
        "_group",
        at.alias("_lo_t"),
        rw.alias("_lo_r"),
        hi_t.alias("_hi_t"),
        hi_r.alias("_hi_r"),
    )
    ev = (
        lf.select("customer_id", "timestamp", _ORDER, pl.col("touchpoint").cast(pl.String))
        .join(bounds.lazy(), on="customer_id")
        .filter(
            _before(pl.col("_lo_t"), pl.col("_lo_r"), ts, row)
            & (
                _before(ts, row, pl.col("_hi_t"), pl.col("_hi_r"))
                | ((pl.col("_hi_r") == _MAX_ROW) & (ts <= pl.col("_hi_t")))
            )
        )
    )
    last = (
        ev.group_by("customer_id", "_group")
        .agg(
            pl.col("touchpoint")
            .top_k_by([pl.col("timestamp"), pl.col(_ORDER)], k=last_n)
            .alias("tp")
        )
        .explode("tp")
        .unique(["customer_id", "tp"])
        .collect()
    )
    sizes = bounds.group_by("_group").agg(pl.len().alias("n"))
    n_stop = sizes.filter(pl.col("_group") == "stopped")["n"].sum()
    n_cont = sizes.filter(pl.col("_group") == "continued")["n"].sum()
    with_ev = last.select("customer_id", "_group").unique()
    none_rows = bounds.join(with_ev, on=["customer_id", "_group"], how="anti").select(
        "customer_id", "_group", pl.lit("(no event)").alias("tp")
    )
    allrows = pl.concat([last.select("customer_id", "_group", "tp"), none_rows])
    counts = (
        allrows.group_by("tp")
        .agg(
            (pl.col("_group") == "stopped").sum().cast(pl.Int64).alias("stopped_touched"),
            (pl.col("_group") == "continued").sum().cast(pl.Int64).alias("continued_touched"),
        )
        .rename({"tp": "touchpoint"})
    )
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
