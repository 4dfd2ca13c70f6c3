"""Retention as product and CX tools show it: cohort matrices, lifecycle, stickiness, BTYD summary.

Four views of "do customers come back", each following a named tool's definition (stated in
its docstring, and tested on tiny hand-checked logs):

* :func:`cohort_retention` -- customers by entry period x periods since entry, the share
  active again (N-day or unbounded), with Wilson intervals, and the mean curve weighted by
  cohort size (PostHog's retention insight; Amplitude's and Mixpanel's are the same idea).
* :func:`lifecycle` -- per period, new / returning / resurrecting / dormant customers
  (PostHog's lifecycle insight).
* :func:`stickiness` -- per period, on how many days (or weeks) customers were active
  (PostHog's stickiness insight).
* :func:`purchase_summary` -- frequency, recency, T and monetary value per customer, exactly
  as ``lifetimes.utils.summary_data_from_transaction_data`` computes them, for BTYD models.

Periods are calendar buckets: ``every`` as everywhere in cxlab (``"day"``, ``"week"``,
``"month"``, ``"quarter"``, or a whole number of days, weeks, months, quarters or years such
as ``"2w"``); a period starts where ``timestamp.dt.truncate(every)`` puts it (weeks on
Monday; UTC). Events after ``as_of`` (default: the last event) are left out.

How it stays fast on tens of millions of events: every function first reduces the events to
one row per customer and active day (one pass; on prepared events, whose rows come in
customer and time order, a comparison with the previous row instead of a hash), and works on
that much smaller table; a day's period is read from a small per-day lookup table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from cxlab.analysis.stats import exact_sum, small_n, wilson_bounds
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.events import ORDER, customer_key, require, resolve_as_of, to_lazy, with_order

__all__ = [
    "LIFECYCLE_STATUSES",
    "RetentionMatrix",
    "cohort_retention",
    "lifecycle",
    "lifecycle_reading",
    "purchase_summary",
    "stickiness",
]

Frame = pl.DataFrame | pl.LazyFrame
Touchpoints = str | Sequence[str] | None
When = dt.datetime | dt.date | None

#: The lifecycle statuses, in the order PostHog stacks them.
LIFECYCLE_STATUSES: tuple[str, ...] = ("new", "returning", "resurrecting", "dormant")

_EVERY = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}
_STEP = re.compile(r"([1-9]\d*)(d|w|mo|q|y)")
_TS = pl.Datetime("us", "UTC")
_DAY_US = 86_400_000_000
_DAY_BITS = 24  # day numbers below 2**24 (45,000 years) pack next to a customer code


# ----------------------------------------------------------------------------- periods
def _step(every: str, where: str, choices: dict[str, str] = _EVERY) -> str:
    """The polars duration of ``every``, checked: whole days, weeks, months, quarters or years."""
    step = choices.get(every, every) if isinstance(every, str) else None
    if (
        step is None
        or (choices is _EVERY and not _STEP.fullmatch(step))
        or (choices is not _EVERY and every not in choices)
    ):
        named = ", ".join(map(repr, choices))
        more = " or a duration of whole days, weeks, months, quarters or years like '2w'"
        raise ParameterError(
            f"The 'every' parameter of {where} must be one of {named}"
            f"{more if choices is _EVERY else ''}. Got {every!r} instead."
        )
    return step


@dataclass(frozen=True)
class _Calendar:
    """Days from the first event's day to ``as_of``'s, and the period each day falls in."""

    origin_us: int  # midnight (UTC) of the first day, in microseconds since the epoch
    period_of_day: pl.Series  # Int32, one per day
    starts: pl.Series  # start of each period (Datetime UTC)
    end: dt.datetime  # as_of
    step: str

    @property
    def last(self) -> int:
        """Index of the period ``as_of`` falls in."""
        return self.starts.len() - 1

    def day(self) -> pl.Expr:
        """Day number (0 = the first day) of ``timestamp``."""
        return ((pl.col("timestamp").dt.epoch("us") - self.origin_us) // _DAY_US).cast(pl.Int32)

    def period(self, day: str = "_d") -> pl.Expr:
        """Period number of a day-number column."""
        return pl.lit(self.period_of_day).gather(pl.col(day))

    def complete(self, period: pl.Expr) -> pl.Expr:
        """The period had ended by ``as_of``: ``as_of`` is at or after its last second (so an
        ``as_of`` of 23:59:59 on the last day of a month completes the month)."""
        last_second = pl.lit(self.starts).gather(period).dt.offset_by(self.step).dt.offset_by("-1s")
        return last_second <= pl.lit(self.end, dtype=_TS)

    def start(self, period: pl.Expr) -> pl.Expr:
        """Start of a period-number column."""
        return pl.lit(self.starts).gather(period)


def _calendar(first: dt.datetime, end: dt.datetime, step: str) -> _Calendar:
    origin = first.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = pl.datetime_range(origin, end, "1d", time_zone="UTC", eager=True).cast(_TS)
    bucket = days.dt.truncate(step)
    return _Calendar(
        origin_us=int(origin.timestamp()) * 1_000_000,
        period_of_day=(bucket.rank("dense") - 1).cast(pl.Int32),
        starts=bucket.unique(maintain_order=True),
        end=end,
        step=step,
    )


# ----------------------------------------------------------------------------- the input
@dataclass
class _Log:
    """Events up to ``as_of`` with what every function here needs."""

    lf: pl.LazyFrame
    key: str  # the customer group key (integer code on prepared events)
    cols: list[str]
    cal: _Calendar
    where: str
    tp_values: list[str] | None = None  # touchpoints present (only read when needed)

    def match(self, values: Touchpoints, name: str) -> pl.Expr:
        """``touchpoint`` is one of ``values`` (every event when None); unknown values fail."""
        if values is None:
            return pl.lit(True)
        wanted = [values] if isinstance(values, str) else list(values)
        if not wanted or not all(isinstance(v, str) and v for v in wanted):
            raise ParameterError(
                f"The '{name}' parameter of {self.where} must be None (any event), a touchpoint or "
                f"a list of touchpoints. Got {values!r} instead."
            )
        seen = self._touchpoints()
        present = [v for v in wanted if v in seen]
        if not present:
            raise ParameterError(
                f"The '{name}' parameter of {self.where} names {wanted[0]!r}, which never occurs in "
                f"the touchpoint column.{did_you_mean(wanted[0], seen)} Touchpoints found: "
                f"{', '.join(seen[:30])}{' …' if len(seen) > 30 else ''}."
            )
        return pl.col("touchpoint").is_in(present)

    def _touchpoints(self) -> list[str]:
        if self.tp_values is None:
            if "touchpoint" not in self.cols:
                raise DataError(
                    f"{self.where}: the events frame has no 'touchpoint' column, needed to pick "
                    "touchpoints. Load the client with cxlab.load_client, or leave the touchpoint "
                    "parameters at None (any event)."
                )
            dtype = self.lf.collect_schema()["touchpoint"]
            if isinstance(dtype, pl.Enum):
                self.tp_values = sorted(dtype.categories.to_list())
            else:
                col = pl.col("touchpoint").cast(pl.String).unique()
                self.tp_values = sorted(self.lf.select(col).collect().to_series().drop_nulls())
        return self.tp_values

    def days(self, match: pl.Expr) -> pl.DataFrame:
        """Distinct (key, ``_d``) of the events matching ``match``, sorted by key then day."""
        x = self.lf.filter(match).select(self.key, self.cal.day().alias("_d")).collect()
        if x.schema[self.key].is_integer():
            packed = pl.col(self.key).cast(pl.Int64) * (1 << _DAY_BITS) + pl.col("_d")
            x = x.with_columns(packed.alias("_p"))
            if x.select((pl.col("_p").diff() >= 0).all()).item():  # rows in customer, time order
                return x.filter((pl.col("_p") != pl.col("_p").shift()).fill_null(True)).drop("_p")
            x = x.drop("_p")
        return x.unique().sort(self.key, "_d")


def _log(events: Frame, where: str, as_of: When, step: str) -> _Log:
    lf, _ = to_lazy(events, codes=True)
    cols = require(lf, ["customer_id", "timestamp"], where)
    key = customer_key(cols)
    end = resolve_as_of(lf, as_of)
    lf = lf.filter(pl.col("timestamp") <= pl.lit(end, dtype=_TS))
    first = lf.select(pl.col("timestamp").min()).collect().item()
    if first is None:
        raise DataError(
            f"{where}: the events frame has no event up to as_of ({end:%Y-%m-%d %H:%M} UTC). "
            "Pass a later as_of, or check the events were loaded."
        )
    return _Log(lf=lf, key=key, cols=cols, cal=_calendar(first, end, step), where=where)


def _periods(days: pl.DataFrame, log: _Log) -> pl.DataFrame:
    """Distinct (key, ``_i``) periods from sorted (key, ``_d``) days, still sorted."""
    x = days.with_columns(log.cal.period().alias("_i"))
    same = (pl.col(log.key) == pl.col(log.key).shift()) & (pl.col("_i") == pl.col("_i").shift())
    return x.filter(~same.fill_null(False)).select(log.key, "_i")


_PACK = 1 << _DAY_BITS


def _pack(frame: pl.DataFrame, key: str, col: str) -> pl.Series:
    """One Int64 per row ordering like (customer, ``col``): a customer code (or its rank) and a
    small non-negative number side by side."""
    k = pl.col(key)
    code = k.cast(pl.Int64) if frame.schema[key].is_integer() else k.rank("dense").cast(pl.Int64)
    return frame.select(code * _PACK + pl.col(col)).to_series()


def _first_rows(sorted_frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """The first row of each customer in a frame sorted by key."""
    return sorted_frame.filter((pl.col(key) != pl.col(key).shift()).fill_null(True))


# ----------------------------------------------------------------------------- cohort matrix
@dataclass
class RetentionMatrix:
    """Result of :func:`cohort_retention`.

    Attributes
    ----------
    table : DataFrame
        One row per cohort and period since entry: [``by``,] ``cohort`` (start of the entry
        period), ``cohort_size``, ``period`` (0, 1, 2 … periods since entry), ``retained``,
        ``retention``, ``ci_low``, ``ci_high`` (95% Wilson), ``complete`` (the period had ended
        by ``as_of``), ``small_n`` (a cohort of fewer than 30).
    curve : DataFrame
        The mean curve: [``by``,] ``period``, ``cohorts``, ``customers``, ``retained``,
        ``retention``, ``ci_low``, ``ci_high``, ``small_n``, pooled over the cohorts whose
        period had ended by ``as_of`` (a mean weighted by cohort size).
    every, mode, entry : str
        The parameters used.
    as_of : datetime
        The data end.
    by : str or None
        The breakdown column.
    """

    table: pl.DataFrame
    curve: pl.DataFrame
    every: str
    mode: str
    entry: str
    as_of: dt.datetime
    by: str | None = None

    def reading(self) -> list[str]:
        """The mean curve in plain sentences (one per breakdown value; none when no period ended).

        Examples
        --------
        >>> import datetime as dt
        >>> curve = pl.DataFrame({"period": [0, 1, 3], "customers": [500, 400, 200],
        ...                       "retained": [500, 100, 30]})
        >>> m = RetentionMatrix(pl.DataFrame(), curve, "month", "n_day", "first", dt.datetime(2024, 1, 1))
        >>> m.reading()
        ['Of the customers who came in a given month, 25.0% were active again the next month (of 400) and 15.0% three months later (of 200).']
        """
        unit = {"day": "day", "week": "week", "month": "month", "quarter": "quarter"}.get(
            self.every, "period"
        )
        later = {1: f"the next {unit}", 3: f"three {unit}s later", 12: f"twelve {unit}s later"}
        active = "were active again" if self.mode == "n_day" else "were active again then or later"
        groups = (
            [None] if self.by is None else self.curve.get_column(self.by).unique().sort().to_list()
        )
        out = []
        for g in groups:
            c = self.curve if g is None else self.curve.filter(pl.col(self.by) == g)
            parts = [
                f"{100 * r['retained'] / r['customers']:.1f}% {phrase} (of {r['customers']:,})"
                for k, phrase in later.items()
                for r in c.filter(pl.col("period") == k).iter_rows(named=True)
                if r["customers"]
            ]
            if not parts:
                continue
            first, rest = parts[0].split(" ", 1)
            parts[0] = f"{first} {active} {rest}"
            joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
            who = "the customers" if g is None else f"the customers with {self.by} {g}"
            out.append(f"Of {who} who came in a given {unit}, {joined}.")
        return out

    def __repr__(self) -> str:
        cohorts = self.table.filter(pl.col("period") == 0).height
        return (
            f"RetentionMatrix({self.mode}, entry={self.entry!r}, every={self.every!r}, "
            f"{cohorts} cohorts, as_of={self.as_of:%Y-%m-%d %H:%M})"
        )

    def chart(self, group: object = None, title: str | None = None):  # type: ignore[no-untyped-def]  # altair is imported only when drawing
        """The cohort triangle, drawn by :func:`cxlab.display.charts.retention.retention_heatmap`.

        With a breakdown (``by``), ``group`` picks the breakdown value to draw (the chart shows
        one at a time).
        """
        from cxlab.display.charts.retention import retention_heatmap

        table = self.table
        if self.by is not None:
            values = table.get_column(self.by).unique().sort().to_list()
            if group not in values:
                raise ParameterError(
                    f"RetentionMatrix.chart draws one {self.by} at a time: pass group= one of "
                    f"{values}. Got {group!r} instead."
                )
            table = table.filter(pl.col(self.by) == group)
        return retention_heatmap(table, self.every, title=title)


_MODES = ("n_day", "unbounded")
_ENTRIES = ("first", "recurring")


def cohort_retention(
    events: Frame,
    *,
    every: str = "week",
    periods: int | None = None,
    mode: Literal["n_day", "unbounded"] = "n_day",
    entry: Literal["first", "recurring"] = "first",
    start: Touchpoints = None,
    returning: Touchpoints = None,
    by: str | None = None,
    customers: Frame | None = None,
    as_of: When = None,
) -> RetentionMatrix:
    """Cohort retention matrix: customers by entry period x periods since entry.

    Follows PostHog's retention insight (Amplitude's and Mixpanel's are the same idea):

    * **Entry** (``entry="first"``, PostHog's "first time", Mixpanel's "birth"): a customer's
      cohort is the period of their first ``start`` event (their first event of any kind
      when ``start`` is None). ``entry="recurring"`` (PostHog's "recurring", Mixpanel's
      "compounded"): every period in which the customer had a ``start`` event is an entry,
      so one customer can be in several cohorts.
    * **Returning**: an event of a ``returning`` touchpoint (any event when None).
    * **Period k** of a cohort is the k-th period after its entry period. Period 0 is the
      entry period itself: the whole cohort (100%), as Amplitude's day 0.
    * ``mode="n_day"`` (Amplitude's N-day retention, PostHog's default): retained in period
      k = a returning event *in* period k. ``mode="unbounded"`` (Amplitude's unbounded,
      PostHog's "on or after"): a returning event in period k *or later* (up to ``as_of``).
    * A cell exists when its period had started by ``as_of`` (the triangle); ``complete``
      says whether it had also ended. The mean curve pools, for each k, the cohorts whose
      period k is complete: their retained over their customers (a mean weighted by cohort
      size), so young cohorts never pull it down for periods they could not reach.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical (or prepared) events.
    every : str
        Period length (see the module docstring).
    periods : int, optional
        The largest period since entry shown (default: all up to ``as_of``).
    mode : {"n_day", "unbounded"}
    entry : {"first", "recurring"}
    start, returning : str or list of str, optional
        Touchpoints that make an entry / a return (None: any event).
    by : str, optional
        A breakdown: an events column (its value at the entry event: the cohort's first
        ``start`` event) or, with ``customers``, a customers column.
    customers : DataFrame, optional
        The customers table, for a breakdown by one of its columns.
    as_of : datetime or date, optional
        The data end (default: the last event).

    Returns
    -------
    RetentionMatrix

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> d = lambda day: dt.datetime(2024, 1, day, tzinfo=dt.UTC)  # 1 Jan 2024 is a Monday
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "c", "c"],
    ...                    "timestamp": [d(1), d(8), d(2), d(9), d(16)]})
    >>> m = cohort_retention(ev, every="week")
    >>> m.table.select("cohort_size", "period", "retained").rows()
    [(2, 0, 2), (2, 1, 1), (2, 2, 0), (1, 0, 1), (1, 1, 1)]
    """
    where = "cohort_retention"
    log = _log(events, where, as_of, _step(every, where))
    _check_choice(mode, "mode", _MODES, where)
    _check_choice(entry, "entry", _ENTRIES, where)
    if periods is not None and (
        isinstance(periods, bool) or not isinstance(periods, int) or periods < 1
    ):
        raise ParameterError(
            f"The 'periods' parameter of {where} must be None or an int >= 1. Got {periods!r} instead."
        )
    by_event = by is not None and by in log.cols
    if by is not None and not by_event:
        _check_customer_column(customers, by, log.cols, where)
    start_m, ret_m = log.match(start, "start"), log.match(returning, "returning")
    act = _periods(log.days(ret_m), log)
    same = start is None and returning is None
    ent_p = act if same else _periods(log.days(start_m), log)
    ent = _first_rows(ent_p, log.key) if entry == "first" else ent_p
    ent = ent.rename({"_i": "_c"})
    if by_event:
        ent = ent.join(_entry_values(log, start_m, by, entry), on=[log.key, "_c"], how="left")
    elif by is not None:
        ent = _join_customer_column(ent, log, customers, by)
    table = _cells(ent, act, log, mode, periods, by is not None)
    table = _label(table, log.cal, by)
    return RetentionMatrix(
        table=table,
        curve=_curve(table, by),
        every=every,
        mode=mode,
        entry=entry,
        as_of=log.cal.end,
        by=by,
    )


def _check_choice(value, name: str, choices: tuple[str, ...], where: str) -> None:
    if value not in choices:
        raise ParameterError(
            f"The '{name}' parameter of {where} must be one of {', '.join(map(repr, choices))}. "
            f"Got {value!r} instead."
        )


def _entry_values(log: _Log, start_m: pl.Expr, by: str, entry: str) -> pl.LazyFrame:
    """(key, ``_c``, ``_by``): the ``by`` value of each entry's first start event."""
    lf = with_order(log.lf).filter(start_m)
    if log.key != "customer_id":  # prepared: the order column alone is the in-customer order
        first = pl.col(by).get(pl.col(ORDER).arg_min())
    else:
        first = pl.col(by).sort_by("timestamp", ORDER).first()
    first = first.cast(pl.String).alias("_by")
    if entry == "first":
        out = lf.group_by(log.key).agg(first, log.cal.day().min().alias("_d"))
    else:
        out = lf.group_by(log.key, log.cal.day().alias("_d")).agg(first)
        out = out.sort(log.key, "_d").collect()  # the first start day of each period
        out = out.with_columns(log.cal.period().alias("_c"))
        return _first_rows_by(out, [log.key, "_c"]).select(log.key, "_c", "_by")
    return out.collect().with_columns(log.cal.period().alias("_c")).select(log.key, "_c", "_by")


def _last_rows(sorted_frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """The last row of each customer in a frame sorted by key."""
    return sorted_frame.filter((pl.col(key) != pl.col(key).shift(-1)).fill_null(True))


def _first_rows_by(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    changed = pl.any_horizontal([pl.col(k) != pl.col(k).shift() for k in keys]).fill_null(True)
    return frame.filter(changed)


def _check_customer_column(customers: Frame | None, by: str, cols: list[str], where: str) -> None:
    if customers is None:
        raise ParameterError(
            f"The 'by' parameter of {where} names {by!r}, which is not an events column."
            f"{did_you_mean(by, cols)} Pass customers=client.customers to break down by a "
            "customers column."
        )
    names = to_lazy(customers, "customers")[0].collect_schema().names()
    if by not in names or "customer_id" not in names:
        raise ParameterError(
            f"The 'by' parameter of {where} names {by!r}, which is neither an events nor a "
            f"customers column.{did_you_mean(by, [*cols, *names])}"
        )


def _join_customer_column(ent: pl.DataFrame, log: _Log, customers: Frame, by: str) -> pl.DataFrame:
    cu = (
        to_lazy(customers, "customers")[0]
        .select("customer_id", pl.col(by).cast(pl.String).alias("_by"))
        .unique("customer_id", keep="first", maintain_order=True)
    )
    if log.key != "customer_id":  # prepared events: customer code -> id
        ids = log.lf.group_by(log.key).agg(pl.col("customer_id").first())
        cu = ids.join(cu, on="customer_id", how="left").drop("customer_id")
    return ent.join(cu.collect(), on=log.key, how="left")


def _cells(
    ent: pl.DataFrame, act: pl.DataFrame, log: _Log, mode: str, periods: int | None, has_by: bool
) -> pl.DataFrame:
    """(``_by``,) ``_c``, cohort_size, period, retained for every cell of the triangle."""
    g = ["_by", "_c"] if has_by else ["_c"]
    sizes = ent.group_by(g).agg(pl.len().cast(pl.Int64).alias("cohort_size"))
    upper = pl.lit(log.cal.last, dtype=pl.Int32) - pl.col("_c")
    if periods is not None:
        upper = pl.min_horizontal(upper, pl.lit(periods, dtype=pl.Int32))
    grid = sizes.with_columns(pl.int_ranges(0, upper + 1, dtype=pl.Int32).alias("period"))
    grid = grid.explode("period")
    k = (pl.col("_a") - pl.col("_c")).cast(pl.Int32)
    if mode == "n_day":
        pairs = ent.join(act.rename({"_i": "_a"}), on=log.key, how="inner")
        counts = (
            pairs.filter(k >= 1).group_by(*g, k.alias("period")).agg(pl.len().alias("retained"))
        )
        out = grid.join(counts, on=[*g, "period"], how="left")
    else:  # unbounded: retained in period k when the customer's last return is in k or later
        last = _last_rows(act, log.key).rename({"_i": "_a"})
        ends = ent.join(last, on=log.key, how="inner").with_columns(k.alias("period"))
        counts = ends.filter(pl.col("period") >= 1).group_by(*g, "period").agg(pl.len().alias("_n"))
        out = grid.join(counts, on=[*g, "period"], how="left").sort(
            [*g, "period"], descending=[False] * len(g) + [True]
        )
        out = out.with_columns(pl.col("_n").fill_null(0).cum_sum().over(g).alias("retained")).drop(
            "_n"
        )
    retained = pl.when(pl.col("period") == 0).then(pl.col("cohort_size"))
    out = out.with_columns(
        retained.otherwise(pl.col("retained").fill_null(0)).cast(pl.Int64).alias("retained")
    )
    return out.sort([*g, "period"])


def _label(table: pl.DataFrame, cal: _Calendar, by: str | None) -> pl.DataFrame:
    cols = [pl.col("_by").alias(by)] if by is not None else []
    cols += [
        cal.start(pl.col("_c")).alias("cohort"),
        "cohort_size",
        "period",
        "retained",
        (pl.col("retained") / pl.col("cohort_size")).alias("retention"),
        *wilson_bounds("retained", "cohort_size"),
        cal.complete(pl.col("_c") + pl.col("period")).alias("complete"),
        small_n("cohort_size"),
    ]
    return table.select(cols).sort([*([by] if by else []), "cohort", "period"], nulls_last=True)


def _curve(table: pl.DataFrame, by: str | None) -> pl.DataFrame:
    g = [by] if by else []
    return (
        table.filter(pl.col("complete"))
        .group_by([*g, "period"])
        .agg(
            pl.len().cast(pl.Int64).alias("cohorts"),
            pl.col("cohort_size").sum().alias("customers"),
            pl.col("retained").sum(),
        )
        .with_columns(
            (pl.col("retained") / pl.col("customers")).alias("retention"),
            *wilson_bounds("retained", "customers"),
            small_n("customers"),
        )
        .sort([*g, "period"], nulls_last=True)
    )


# ----------------------------------------------------------------------------- lifecycle
def lifecycle(
    events: Frame,
    *,
    every: str = "week",
    touchpoints: Touchpoints = None,
    customers: Frame | None = None,
    as_of: When = None,
) -> pl.DataFrame:
    """New, returning, resurrecting and dormant customers per period (PostHog's lifecycle).

    A customer is *active* in a period when they have an event of ``touchpoints`` in it (any
    event when None). They are *first seen* in the period of their first event of any kind
    (or of their ``signup_date``, when ``customers`` has one and it is earlier): PostHog
    uses the person's creation date. In each period every active customer is exactly one of

    * **new**: first seen in this period;
    * **returning**: active in the previous period too (and not new);
    * **resurrecting**: not active in the previous period, and not new (a customer first
      seen before their first qualifying event is resurrecting then, as in PostHog);

    and **dormant** counts the customers active in the previous period but not in this one.
    ``customers`` holds the counts (all positive); ``signed`` is the same with dormant
    negative, as PostHog draws it (below the axis). In the first period nobody can be
    returning or dormant; ``complete`` is False for a period ``as_of`` falls inside.

    Parameters
    ----------
    events : DataFrame or LazyFrame
    every : str
        Period length (``"week"``, ``"month"`` …).
    touchpoints : str or list of str, optional
        What counts as activity (None: any event).
    customers : DataFrame, optional
        With ``signup_date``: first seen is the earlier of it and the first event.
    as_of : datetime or date, optional
        The data end (default: the last event).

    Returns
    -------
    DataFrame
        ``period`` (its start), ``status`` (new, returning, resurrecting, dormant),
        ``customers``, ``signed``, ``complete``: every period x status, sorted.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> d = lambda day: dt.datetime(2024, 1, day, tzinfo=dt.UTC)  # weeks of 1, 8, 15 Jan
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b", "a"],
    ...                    "timestamp": [d(1), d(8), d(9), d(15)]})
    >>> t = lifecycle(ev, every="week")
    >>> t.filter(pl.col("customers") > 0).select("status", "customers").rows()
    [('new', 1), ('new', 1), ('returning', 1), ('returning', 1), ('dormant', 1)]
    """
    where = "lifecycle"
    log = _log(events, where, as_of, _step(every, where))
    match = log.match(touchpoints, "touchpoints")
    all_days = log.days(pl.lit(True))
    born = _first_rows(all_days, log.key).select(log.key, "_d")
    if customers is not None:
        born = _with_signup(born, log, customers)
    born = born.select(log.key, log.cal.period().alias("_new"))
    act = _periods(all_days if touchpoints is None else log.days(match), log)
    key, i = pl.col(log.key), pl.col("_i")
    same_key = key == key.shift()
    act = act.join(born, on=log.key, how="left", maintain_order="left").with_columns(
        (same_key & (i.shift() == i - 1)).fill_null(False).alias("_after"),
        ((key == key.shift(-1)) & (i.shift(-1) == i + 1)).fill_null(False).alias("_kept"),
    )
    status = (
        pl.when(i == pl.col("_new"))
        .then(pl.lit("new"))
        .when(pl.col("_after"))
        .then(pl.lit("returning"))
        .otherwise(pl.lit("resurrecting"))
    )
    active = act.group_by(i, status.alias("status")).agg(pl.len().alias("customers"))
    dormant = (
        act.filter(~pl.col("_kept") & (i < log.cal.last))
        .group_by((i + 1).alias("_i"))
        .agg(pl.len().alias("customers"))
        .with_columns(pl.lit("dormant").alias("status"))
    )
    counts = pl.concat([active, dormant.select(active.columns)])
    grid = pl.DataFrame({"_i": pl.int_range(0, log.cal.last + 1, dtype=pl.Int32, eager=True)})
    grid = grid.join(pl.DataFrame({"status": list(LIFECYCLE_STATUSES)}), how="cross")
    n = pl.col("customers").fill_null(0).cast(pl.Int64)
    return (
        grid.join(counts, on=["_i", "status"], how="left")
        .select(
            log.cal.start(i).alias("period"),
            pl.col("status").cast(pl.Enum(list(LIFECYCLE_STATUSES))),
            n.alias("customers"),
            pl.when(pl.col("status") == "dormant").then(-n).otherwise(n).alias("signed"),
            log.cal.complete(i).alias("complete"),
        )
        .sort("period", "status")
    )


def _with_signup(born: pl.DataFrame, log: _Log, customers: Frame) -> pl.DataFrame:
    """``_d``: the earlier of the first event's day and the ``signup_date``'s (within the calendar)."""
    cu, _ = to_lazy(customers, "customers")
    if "signup_date" not in cu.collect_schema().names():
        return born
    signup = (
        cu.select(
            "customer_id",
            pl.col("signup_date")
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC")
            .cast(_TS)
            .alias("timestamp"),
        )
        .group_by("customer_id")
        .agg(pl.col("timestamp").min())
    )
    signup = signup.select("customer_id", log.cal.day().clip(lower_bound=0).alias("_s"))
    if log.key != "customer_id":
        ids = log.lf.group_by(log.key).agg(pl.col("customer_id").first())
        signup = ids.join(signup, on="customer_id", how="inner").drop("customer_id")
    out = born.join(signup.collect(), on=log.key, how="left", maintain_order="left")
    return out.select(log.key, pl.min_horizontal("_d", "_s").alias("_d"))


# ----------------------------------------------------------------------------- stickiness
_UNITS = {"day": "1d", "week": "1w"}


def stickiness(
    events: Frame,
    *,
    every: str = "week",
    unit: Literal["day", "week"] = "day",
    touchpoints: Touchpoints = None,
    as_of: When = None,
) -> pl.DataFrame:
    """On how many days (or weeks) of each period customers were active (PostHog's stickiness).

    For each period and each customer active in it: the number of distinct days (``unit=
    "day"``) or calendar weeks (``unit="week"``, Monday to Sunday; a week that straddles two
    periods counts in both) of that period with an event of ``touchpoints`` (any event when
    None). Then, per period, how many customers were active on exactly 1, 2, 3 … of them.
    PostHog's stickiness counts users by their number of active intervals over the chosen
    date range; here the range is each ``every`` period, so the shape can be compared over time.

    Parameters
    ----------
    events : DataFrame or LazyFrame
    every : str
        Period length (``"week"``, ``"month"`` …).
    unit : {"day", "week"}
        What is counted within a period.
    touchpoints : str or list of str, optional
        What counts as activity (None: any event).
    as_of : datetime or date, optional
        The data end (default: the last event).

    Returns
    -------
    DataFrame
        ``period`` (its start), ``active`` (days or weeks active), ``customers``, ``share`` (of
        the customers active in the period), ``share_at_least`` (active on ``active`` or more),
        ``units_in_period`` (days or weeks of the period up to ``as_of``), ``complete``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> t = lambda day, h=0: dt.datetime(2024, 1, day, h, tzinfo=dt.UTC)  # week of Mon 1 Jan
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "timestamp": [t(1), t(1, 9), t(3), t(2)]})
    >>> stickiness(ev, every="week").select("active", "customers", "share").rows()
    [(1, 1, 0.5), (2, 1, 0.5)]
    """
    where = "stickiness"
    log = _log(events, where, as_of, _step(every, where))
    if unit not in _UNITS:
        raise ParameterError(
            f"The 'unit' parameter of {where} must be 'day' or 'week'. Got {unit!r} instead."
        )
    days = log.days(log.match(touchpoints, "touchpoints")).with_columns(
        log.cal.period().alias("_i")
    )
    if unit == "week":  # calendar week number (weeks start on Monday, as truncate("1w"))
        monday = dt.datetime.fromtimestamp(log.cal.origin_us // 1_000_000, dt.UTC).weekday()
        days = days.with_columns(((pl.col("_d") + monday) // 7).alias("_d"))
        days = _first_rows_by(days, [log.key, "_i", "_d"])
    # days are sorted by customer then day: a customer's run of rows in one period is its count
    runs = _pack(days, log.key, "_i").rle()
    per = pl.DataFrame(
        {
            "_i": (runs.struct.field("value") % _PACK).cast(pl.Int32),
            "active": runs.struct.field("len").cast(pl.Int32),
        }
    )
    counts = per.group_by("_i", "active").agg(pl.len().cast(pl.Int64).alias("customers"))
    start = log.cal.start(pl.col("_i"))
    stop = pl.min_horizontal(start.dt.offset_by(log.cal.step), pl.lit(log.cal.end, dtype=_TS))
    units = pl.datetime_ranges(start.dt.truncate(_UNITS[unit]), stop, _UNITS[unit], closed="left")
    total = pl.col("customers").sum().over("_i")
    return counts.sort("_i", "active").select(
        start.alias("period"),
        "active",
        "customers",
        (pl.col("customers") / total).alias("share"),
        (pl.col("customers").cum_sum(reverse=True).over("_i") / total).alias("share_at_least"),
        pl.max_horizontal(units.list.len(), 1).cast(pl.Int32).alias("units_in_period"),
        log.cal.complete(pl.col("_i")).alias("complete"),
    )


# ----------------------------------------------------------------------------- lifetimes summary
_FREQ = {"day": "1d", "week": "1w"}


def purchase_summary(
    events: Frame,
    purchase_touchpoints: Touchpoints = None,
    *,
    every: Literal["day", "week"] = "day",
    value: str | None = "revenue",
    as_of: When = None,
) -> pl.DataFrame:
    """Frequency, recency, T and monetary value per customer, as ``lifetimes`` computes them.

    The same numbers as ``lifetimes.utils.summary_data_from_transaction_data(purchases,
    "customer_id", "timestamp", monetary_value_col=value, observation_period_end=as_of,
    freq="D")`` (``freq="W"`` for ``every="week"``), so a researcher can fit BTYD models
    (BG/NBD, Pareto/NBD, Gamma-Gamma) on them:

    * purchases are the events of ``purchase_touchpoints`` (every event when None: a
      transaction log) up to ``as_of``, grouped by customer and period (day or week);
    * ``frequency``: the number of periods with a purchase, minus one (*repeat* periods);
    * ``recency``: periods from the first purchase period to the last;
    * ``T``: periods from the first purchase period to ``as_of``'s;
    * ``monetary_value``: the mean over the repeat periods of each period's total ``value``
      (0 without repeat periods): the first purchase period is left out.

    These differ by design from cxlab's RFM features
    (:func:`cxlab.features.customer_features`: ``recency_days`` is days from the last event
    of any kind to ``as_of``, ``frequency`` the number of events, ``monetary`` all revenue),
    which describe engagement, not a purchase process.

    Parameters
    ----------
    events : DataFrame or LazyFrame
    purchase_touchpoints : str or list of str, optional
        Usually ``config.purchase_touchpoints``; None: every event is a purchase.
    every : {"day", "week"}
        lifetimes' ``freq`` "D" or "W" (weeks from Monday, as pandas' "W").
    value : str, optional
        The money column (``revenue``); no ``monetary_value`` when None or absent.
    as_of : datetime or date, optional
        lifetimes' ``observation_period_end`` (default: the last event).

    Returns
    -------
    DataFrame
        ``customer_id``, ``frequency``, ``recency``, ``T`` (Float64, as lifetimes) and
        ``monetary_value``; one row per customer with a purchase, sorted by ``customer_id``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> t = lambda day, h=0: dt.datetime(2024, 1, day, h, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "timestamp": [t(1), t(1, 9), t(5), t(3)],
    ...                    "revenue": [10.0, 5.0, 20.0, 7.0]})
    >>> purchase_summary(ev, as_of=dt.date(2024, 1, 11)).rows()
    [('a', 1.0, 4.0, 10.0, 20.0), ('b', 0.0, 0.0, 8.0, 0.0)]
    """
    where = "purchase_summary"
    log = _log(events, where, as_of, _step(every, where, _FREQ))
    has_value = value is not None and value in log.cols
    if value is not None and not has_value and value != "revenue":
        raise ParameterError(
            f"The 'value' parameter of {where} names {value!r}, which is not an events column."
            f"{did_you_mean(value, log.cols)}"
        )
    ids = [log.key] if log.key == "customer_id" else [log.key, "customer_id"]
    money = [pl.col(value).cast(pl.Float64).fill_null(0.0).alias("_v")] if has_value else []
    bought = (
        log.lf.filter(log.match(purchase_touchpoints, "purchase_touchpoints"))
        .select(*ids, log.cal.day().alias("_d"), *money)
        .collect()
        .with_columns(log.cal.period().alias("_i"))
    )
    carry = [pl.col("customer_id").first()] if len(ids) == 2 else []
    periods = bought.group_by(log.key, "_i").agg(
        *carry, *([exact_sum("_v").alias("_v")] if has_value else [])
    )
    per = (
        periods.sort(log.key, "_i")
        .group_by(log.key)
        .agg(
            *carry,
            (pl.len() - 1).cast(pl.Float64).alias("frequency"),
            (pl.col("_i").max() - pl.col("_i").min()).cast(pl.Float64).alias("recency"),
            (pl.lit(log.cal.last) - pl.col("_i").min()).cast(pl.Float64).alias("T"),
            *(
                [pl.col("_v").slice(1).mean().fill_null(0.0).alias("monetary_value")]
                if has_value
                else []
            ),
        )
    )
    return (per.drop(log.key) if len(ids) == 2 else per).sort("customer_id")


def lifecycle_reading(table: pl.DataFrame, every: str = "week") -> str:
    """The last complete period of :func:`lifecycle` in one plain sentence ('' without one).

    Examples
    --------
    >>> import datetime as dt
    >>> t = pl.DataFrame({"period": [dt.datetime(2024, 3, 1)] * 4, "status": list(LIFECYCLE_STATUSES),
    ...                   "customers": [120, 300, 40, 90], "complete": [True] * 4})
    >>> lifecycle_reading(t, "month")
    'In the month starting 01 Mar 2024, 460 customers were active: 120 new, 300 returning from the month before and 40 back after a gap; 90 active the month before were not (gone quiet).'
    """
    done = table.filter(pl.col("complete"))
    if done.height == 0:
        return ""
    last = done.get_column("period").max()
    n = dict(
        done.filter(pl.col("period") == last)
        .select(pl.col("status").cast(pl.String), "customers")
        .iter_rows()
    )
    unit = {"day": "day", "week": "week", "month": "month", "quarter": "quarter"}.get(
        every, "period"
    )
    active = n.get("new", 0) + n.get("returning", 0) + n.get("resurrecting", 0)
    return (
        f"In the {unit} starting {last:%d %b %Y}, {active:,} customers were active: "
        f"{n.get('new', 0):,} new, {n.get('returning', 0):,} returning from the {unit} before and "
        f"{n.get('resurrecting', 0):,} back after a gap; {n.get('dormant', 0):,} active the {unit} "
        f"before were not (gone quiet)."
    )
