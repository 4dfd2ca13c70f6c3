"""Explorer pre-aggregates: a heatmap cube answers every widget filter state in milliseconds.

:func:`cxlab.analysis.heatmap.touchpoint_heatmap` reads every event; on 10M events that takes seconds,
too slow for a widget that redraws on each change. :func:`heatmap_cube` reads the events
once and keeps small tables from which :meth:`HeatmapCube.heatmap` answers a filter state —
segment (customer level), channel (event level), date range — with **exactly** the numbers
``touchpoint_heatmap`` gives on the equivalently filtered events
(:meth:`HeatmapCube.filter_events`).

Time buckets
------------
Event times are cut into buckets of ``every`` (one week by default, weeks starting Monday
00:00 UTC); when that makes more than 64 buckets the width is multiplied by the smallest whole
factor that gives at most 64 (2 weeks, 3 weeks …). **Date filters snap to whole buckets**:
``start`` selects from the start of the bucket containing it, ``end`` up to the end of the
bucket containing it (:meth:`HeatmapCube.period` gives the exact interval answered).

The tables (one row per distinct combination, with a customer count ``n``)
---------------------------------------------------------------------------
cells
    (segment, channel, stage, touchpoint, ``mask``, ``later``): ``mask`` is a UInt64 bit set
    of the buckets in which a customer had such an event; ``later``, the buckets in which the
    customer had an event in a later stage (same channel). For a bucket range R a customer
    touched the cell when ``mask & R != 0`` and dropped out in the stage (furthest stage in
    the selection) when also ``later & R == 0``. Channel 0 holds the all-channel masks (OR
    over channels), because reach over several channels does not add up.
stages
    The same per (segment, channel, stage): ``stage_customers`` and drop-outs.
events
    Event counts per (segment, channel, bucket, stage, touchpoint): additive.
feedback
    For each survey answer with a touchpoint, and each (channel, bucket) in which the
    customer had events at that touchpoint, the best candidate of the as-of match of
    ``touchpoint_heatmap`` (last event at or before the answer, else first after it; equal
    times: file order), ranked per answer, so a filter state picks each answer's stage with
    one maximum.

Not answered from the cube: the ``maturity`` option of ``touchpoint_heatmap`` (it needs each
customer's exact stage-entry time; use ``touchpoint_heatmap(cube.filter_events(...),
feedback, maturity=...)``) and several channels at once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from cxlab.analysis.heatmap import HEATMAP_COLUMNS, heatmap_metrics
from cxlab.analysis.stats import exact_sum
from cxlab.contract.frames import FrameLike, as_lazy, require_columns
from cxlab.contract.prepare import CUSTOMER_CODE, SEQUENCE
from cxlab.contract.schema import STAGE_DTYPE, STAGES, SURVEY_SCALES, score_on_100
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.events import as_events, parse_duration

__all__ = ["HeatmapCube", "heatmap_cube", "MISSING_SEGMENT", "MAX_BUCKETS"]

#: Segment of customers without one (null, or not in the customers table).
MISSING_SEGMENT = "(missing)"
#: Most time buckets a cube keeps (one bit each in a UInt64 mask).
MAX_BUCKETS = 64

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US_PER_DAY = 86_400_000_000
_WHEN = dt.date | dt.datetime | None


def _utc(value: dt.date | dt.datetime, name: str) -> dt.datetime:
    """A date (its midnight) or datetime (naive = UTC) as an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    raise ParameterError(
        f"The '{name}' parameter must be a date, a datetime or None. Got {value!r} instead."
    )


def _end_of(value: dt.date | dt.datetime) -> dt.datetime:
    """The last instant an ``end`` covers: a date means its whole day."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return _utc(value, "end") + dt.timedelta(days=1, microseconds=-1)
    return _utc(value, "end")


def _us(value: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact, no float)."""
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


@dataclass(frozen=True, repr=False, eq=False)
class HeatmapCube:
    """Pre-aggregated stage x touchpoint tables of one client; build with :func:`heatmap_cube`.

    Attributes
    ----------
    edges : tuple of datetime
        Bucket boundaries (UTC): bucket i holds events in ``[edges[i], edges[i + 1])``.
    every : timedelta
        The bucket width actually used (``every`` of :func:`heatmap_cube`, or coarser).
    segments, channels, touchpoints : tuple of str
        Values that can be filtered on (sorted); ``segments`` includes ``"(missing)"`` when
        some customers have none.
    has_customers, has_feedback : bool
        Whether segments / satisfaction are available.
    """

    edges: tuple[dt.datetime, ...]
    every: dt.timedelta
    segments: tuple[str, ...]
    channels: tuple[str, ...]
    touchpoints: tuple[str, ...]
    has_customers: bool
    has_feedback: bool
    _cells: pl.DataFrame
    _stages: pl.DataFrame
    _events: pl.DataFrame
    _cands: pl.DataFrame | None
    _answers: pl.DataFrame | None
    _customers: pl.DataFrame

    # ------------------------------------------------------------------ buckets and dates
    @property
    def n_buckets(self) -> int:
        """Number of time buckets."""
        return len(self.edges) - 1

    @property
    def labels(self) -> list[str]:
        """Bucket labels: the ISO date each bucket starts on (for a range slider)."""
        return [e.date().isoformat() for e in self.edges[:-1]]

    def _index(self, value: dt.date | dt.datetime, name: str) -> int:
        origin, width = _us(self.edges[0]), self.every // dt.timedelta(microseconds=1)
        return (_us(_utc(value, name)) - origin) // width

    def snap(self, start: _WHEN = None, end: _WHEN = None) -> tuple[int, int] | None:
        """Bucket indices ``(first, last)`` a date range selects, or None when it selects none.

        ``start`` selects from the bucket containing it, ``end`` (a date means that whole
        day) up to the bucket containing it; None means the first / last bucket.

        Examples
        --------
        >>> cube = heatmap_cube(_example_events())
        >>> cube.labels
        ['2024-01-01', '2024-01-08', '2024-01-15']
        >>> cube.snap(dt.date(2024, 1, 10), dt.date(2024, 1, 10)), cube.snap(end=dt.date(2023, 1, 1))
        ((1, 1), None)
        """
        if start is not None and end is not None and _utc(start, "start") > _end_of(end):
            raise ParameterError(f"The 'start' date ({start}) is after the 'end' date ({end}).")
        first = 0 if start is None else max(self._index(start, "start"), 0)
        last = (
            self.n_buckets - 1 if end is None else min(self._index(end, "end"), self.n_buckets - 1)
        )
        return (first, last) if first <= last else None

    def period(
        self, start: _WHEN = None, end: _WHEN = None
    ) -> tuple[dt.datetime, dt.datetime] | None:
        """The exact event-time interval ``[from, to)`` a date range selects after snapping.

        Examples
        --------
        >>> cube = heatmap_cube(_example_events())
        >>> [d.date().isoformat() for d in cube.period(dt.date(2024, 1, 10), dt.date(2024, 1, 10))]
        ['2024-01-08', '2024-01-15']
        """
        span = self.snap(start, end)
        return None if span is None else (self.edges[span[0]], self.edges[span[1] + 1])

    # ------------------------------------------------------------------ filters
    def _segment_codes(self, segment: str | Sequence[str] | None) -> list[int] | None:
        if segment is None:
            return None
        values = [segment] if isinstance(segment, str) else list(segment)
        for v in values:
            if v not in self.segments:
                hint = (
                    ""
                    if self.has_customers
                    else (" The cube was built without customers: pass customers= to heatmap_cube.")
                )
                raise ParameterError(
                    f"The 'segment' parameter must be one of {list(self.segments)}, a list of them or "
                    f"None (all). Got {v!r} instead.{did_you_mean(str(v), self.segments)}{hint}"
                )
        return [self.segments.index(v) for v in values]

    def _channel_code(self, channel: str | None) -> int:
        """0 for every channel, else 1 + the channel's position."""
        if channel is None:
            return 0
        if not isinstance(channel, str) or channel not in self.channels:
            several = (
                ""
                if isinstance(channel, str)
                else (
                    " Reach over several channels is not additive, so the cube answers one channel "
                    "at a time."
                )
            )
            raise ParameterError(
                f"The 'channel' parameter must be one of {list(self.channels)} or None (all). "
                f"Got {channel!r} instead.{did_you_mean(str(channel), self.channels)}{several}"
            )
        return self.channels.index(channel) + 1

    def filter_events(
        self,
        events: FrameLike,
        *,
        segment: str | Sequence[str] | None = None,
        channel: str | None = None,
        start: _WHEN = None,
        end: _WHEN = None,
    ) -> FrameLike:
        """The events of a filter state: what :meth:`heatmap` answers for, at event level.

        Keeps the customers of ``segment``, the events on ``channel`` and the events in
        :meth:`period`; the frame type (and a prepared frame's preparation) is kept. Use it for
        analyses the cube does not hold (funnels, ``maturity``).

        Examples
        --------
        >>> ev = _example_events()
        >>> cube = heatmap_cube(ev)
        >>> cube.filter_events(ev, channel="app", start=dt.date(2024, 1, 8)).height
        1
        """
        lf = as_lazy(
            events,
            "events",
            ["customer_id", "timestamp", "channel"],
            where="filter_events",
            codes=True,
        )
        codes = self._segment_codes(segment)
        self._channel_code(channel)
        cond = pl.lit(True)
        if codes is not None:
            ids = self._customers.filter(pl.col("seg").is_in(codes)).get_column("customer_id")
            cond = cond & pl.col("customer_id").is_in(ids.implode())
        if channel is not None:
            cond = cond & (pl.col("channel") == channel)
        span = self.period(start, end)
        if span is None:
            cond = pl.lit(False)
        elif span != (self.edges[0], self.edges[-1]):
            cond = cond & pl.col("timestamp").is_between(span[0], span[1], closed="left")
        out = lf.filter(cond)
        return out if isinstance(events, pl.LazyFrame) else out.collect()

    # ------------------------------------------------------------------ the heatmap
    def chart(  # type: ignore[no-untyped-def]  # altair is imported only when drawing
        self,
        value: str = "reach",
        segment: str | Sequence[str] | None = None,
        channel: str | None = None,
        start: _WHEN = None,
        end: _WHEN = None,
        *,
        survey: str | None = None,
        title: str | None = None,
    ):
        """One metric of :meth:`heatmap` (same filters), drawn by
        :func:`cxlab.display.charts.journey.heatmap_chart`."""
        from cxlab.display.charts.journey import heatmap_chart

        table = self.heatmap(segment, channel, start, end, survey=survey)
        return heatmap_chart(table, value, title=title)

    def heatmap(
        self,
        segment: str | Sequence[str] | None = None,
        channel: str | None = None,
        start: _WHEN = None,
        end: _WHEN = None,
        *,
        survey: str | None = None,
        maturity: dt.timedelta | str | None = None,
    ) -> pl.DataFrame:
        """Stage x touchpoint heatmap of one filter state, from the cube.

        Equal (same rows, columns, dtypes and floats) to
        ``touchpoint_heatmap(cube.filter_events(events, ...), feedback, survey=survey)``.

        Parameters
        ----------
        segment : str or list of str, optional
            Customers of this segment (or of any of these); None: all.
        channel : str, optional
            Only events on this channel; None: all.
        start, end : date or datetime, optional
            Date range, snapped to whole buckets (:meth:`snap`); None: from the first /
            to the last bucket.
        survey : {"nps", "csat", "ces"}, optional
            As in :func:`cxlab.analysis.heatmap.touchpoint_heatmap`.
        maturity : None
            Not available from a cube (raises :class:`ParameterError`); filter the events with
            :meth:`filter_events` and call ``touchpoint_heatmap`` instead.

        Returns
        -------
        DataFrame
            The columns of :func:`cxlab.analysis.heatmap.touchpoint_heatmap` (see its docstring for
            every definition); no rows when the selection holds no event.

        Examples
        --------
        >>> cube = heatmap_cube(_example_events())
        >>> cols = ["stage", "touchpoint", "events", "customers", "dropped_touched"]
        >>> cube.heatmap().select(cols).rows()  # b and c never got past consideration, a bought
        [('consideration', 'site_visit', 5, 3, 2), ('purchase', 'purchase', 1, 1, 1)]
        >>> cube.heatmap(channel="app", start=dt.date(2024, 1, 8), end=dt.date(2024, 1, 14)).select(cols).rows()
        [('consideration', 'site_visit', 1, 1, 1)]
        """
        if maturity is not None:
            raise ParameterError(
                "HeatmapCube.heatmap cannot apply 'maturity': the cube keeps bucketed times, not each "
                "customer's exact stage-entry time. Use cxlab.analysis.heatmap.touchpoint_heatmap("
                "cube.filter_events(events, ...), feedback, maturity=...) instead."
            )
        if survey is not None and survey not in SURVEY_SCALES:
            raise ParameterError(
                f"The 'survey' parameter must be one of {tuple(SURVEY_SCALES)} or None. Got {survey!r}."
                f"{did_you_mean(str(survey), SURVEY_SCALES)}"
            )
        codes = self._segment_codes(segment)
        ch = self._channel_code(channel)
        span = self.snap(start, end)
        first, last = span if span is not None else (0, -1)
        rng = pl.lit(((1 << (last + 1)) - 1) ^ ((1 << first) - 1), dtype=pl.UInt64)
        seg = pl.lit(True) if codes is None else pl.col("seg").is_in(codes)
        in_range = (pl.col("mask") & rng) != 0
        dropped = (pl.col("later") & rng) == 0

        cells = (
            self._cells.lazy()
            .filter(seg & (pl.col("ch") == ch) & in_range)
            .group_by("stage", "tp")
            .agg(
                pl.col("n").sum().cast(pl.Int64).alias("customers"),
                pl.col("n").filter(dropped).sum().cast(pl.Int64).alias("dropped_touched"),
            )
        )
        stages = (
            self._stages.lazy()
            .filter(seg & (pl.col("ch") == ch) & in_range)
            .group_by("stage")
            .agg(
                pl.col("n").sum().cast(pl.Int64).alias("stage_customers"),
                pl.col("n").filter(dropped).sum().cast(pl.Int64).alias("_K"),
            )
        )
        ch_events = pl.lit(True) if ch == 0 else pl.col("ch") == ch
        events = (
            self._events.lazy()
            .filter(seg & ch_events & pl.col("b").is_between(first, last))
            .group_by("stage", "tp")
            .agg(pl.col("n").sum().cast(pl.Int64).alias("events"))
        )
        out = (
            cells.join(events, on=["stage", "tp"], how="left")
            .join(stages, on="stage", how="left")
            .with_columns(
                pl.col("customers").alias("n_touched"), pl.col("stage_customers").alias("_N")
            )
        )
        if self._cands is not None and self._answers is not None:
            out = out.join(
                self._satisfaction(seg, ch, first, last, survey), on=["stage", "tp"], how="left"
            ).with_columns(pl.col("feedback_n").fill_null(0))
        else:
            out = out.with_columns(
                pl.lit(0, dtype=pl.Int64).alias("feedback_n"),
                pl.lit(None, dtype=pl.Float64).alias("satisfaction"),
            )
        out = out.with_columns(
            pl.col("stage").replace_strict(dict(enumerate(STAGES)), return_dtype=STAGE_DTYPE),
            pl.col("tp")
            .replace_strict(dict(enumerate(self.touchpoints)), default=None, return_dtype=pl.String)
            .alias("touchpoint"),
        )
        return heatmap_metrics(out).select(HEATMAP_COLUMNS).sort("stage", "touchpoint").collect()

    def _satisfaction(
        self, seg: pl.Expr, ch: int, first: int, last: int, survey: str | None
    ) -> pl.LazyFrame:
        """feedback_n and satisfaction per (stage, touchpoint) of one filter state."""
        ch_cands = pl.lit(True) if ch == 0 else pl.col("ch") == ch
        best = (
            self._cands.lazy()
            .filter(seg & ch_cands & pl.col("b").is_between(first, last))
            .group_by("f")
            .agg(pl.col("key").max())
        )
        answers = best.join(self._answers.lazy(), on="f")
        if survey is None:
            answers = answers.filter(pl.col("_sat_all").is_not_null()).with_columns(
                pl.col("_sat_all").alias("_sat")
            )
        else:
            answers = answers.filter(pl.col("survey") == survey).with_columns(
                pl.col("score").alias("_sat")
            )
        return (
            answers.with_columns((pl.col("key") % 8).cast(pl.UInt8).alias("stage"))
            .group_by("stage", "tp")
            .agg(
                pl.len().cast(pl.Int64).alias("feedback_n"),
                (exact_sum("_sat", decimals=9) / pl.len()).alias("satisfaction"),
            )
        )

    def __repr__(self) -> str:
        return (
            f"HeatmapCube({self.n_buckets} buckets of {self.every.days} days from {self.labels[0]}, "
            f"{len(self.segments)} segments, {len(self.channels)} channels, "
            f"{len(self.touchpoints)} touchpoints, {self._cells.height:,} cell rows, "
            f"feedback={'yes' if self.has_feedback else 'no'})"
        )


# ---------------------------------------------------------------------- building the cube
def _bucket_width(first_us: int, last_us: int, every: dt.timedelta | str, max_buckets: int):
    """(origin, width, number of buckets): origin a midnight UTC (a Monday for whole weeks)."""
    width = parse_duration(every, "every")
    if width is None or width % dt.timedelta(days=1):
        raise ParameterError(
            f"The 'every' parameter must be a whole number of days, e.g. '1w' or '7d'. Got {every!r}."
        )
    if not isinstance(max_buckets, int) or not 1 <= max_buckets <= MAX_BUCKETS:
        raise ParameterError(
            f"The 'max_buckets' parameter must be an int in [1, {MAX_BUCKETS}]. Got {max_buckets!r}."
        )
    day = (_EPOCH + dt.timedelta(microseconds=first_us)).date()
    if width.days % 7 == 0:
        day -= dt.timedelta(days=day.weekday())
    origin = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    span = last_us - _us(origin)
    n = span // (width // dt.timedelta(microseconds=1)) + 1
    if n > max_buckets:
        width *= math.ceil(n / max_buckets)
        n = span // (width // dt.timedelta(microseconds=1)) + 1
    return origin, width, n


_NARROW = {
    "seg": pl.UInt32,
    "ch": pl.UInt16,
    "stage": pl.UInt8,
    "tp": pl.UInt16,
    "b": pl.UInt8,
    "n": pl.UInt32,
}


def _narrow(frame: pl.DataFrame) -> pl.DataFrame:
    """The cube's code columns in their smallest types (the cube stays small in memory)."""
    return frame.with_columns(pl.col(c).cast(t) for c, t in _NARROW.items() if c in frame.columns)


def _unpack(key: str, radices: dict[str, int]) -> list[pl.Expr]:
    """Columns packed into ``key`` (mixed radix, last name = lowest digit) as UInt64 columns."""
    out, div = [], 1
    for name, radix in reversed(radices.items()):
        out.append((pl.col(key) // div % radix).alias(name))
        div *= radix
    return out


def _pack(radices: dict[str, int]) -> pl.Expr:
    """One UInt64 key from integer columns (first name = highest digit)."""
    key = pl.lit(0, dtype=pl.UInt64)
    for name, radix in radices.items():
        key = key * radix + pl.col(name).cast(pl.UInt64)
    return key


def _cube_tables(staged: pl.DataFrame, seg_of_cid: pl.Series, n_tp: int, n_ch: int, n_b: int):
    """cells, stages and events tables (module docstring) from per-event integer codes.

    ``staged`` has ``cid``, ``stage`` (code), ``tp``, ``ch`` (1.. ; 0 is kept for "every
    channel") and ``b`` (bucket). Every group-by runs on one packed UInt64 key: several times
    faster than group-bys on several columns, and the event-level one is a sort plus a
    run-length count.
    """
    n_st = len(STAGES)
    n_cid = int(staged.get_column("cid").max()) + 1
    n_seg = int(seg_of_cid.max()) + 1
    if max(n_cid, n_seg * n_b) * n_st * n_tp * n_ch * n_b >= 2**63:
        raise DataError(
            "heatmap_cube: too many customers x touchpoints x channels x buckets to pack into "
            "64-bit keys; use fewer buckets (max_buckets) or filter the events."
        )
    seg = pl.lit(seg_of_cid).gather(pl.col("cid")).alias("seg")
    fine_r = {"cid": n_cid, "stage": n_st, "tp": n_tp, "ch": n_ch, "b": n_b}
    fine = (
        staged.select(_pack(fine_r).alias("_k"))
        .sort("_k")
        .select(pl.col("_k").rle())
        .unnest("_k")
        .select(*_unpack("value", fine_r), pl.col("len").alias("n"))
    )
    ev_r = {"seg": n_seg, "ch": n_ch, "b": n_b, "stage": n_st, "tp": n_tp}
    events = (
        fine.with_columns(seg)
        .group_by(_pack(ev_r).alias("_k"))
        .agg(pl.col("n").sum())
        .sort("_k")
        .select(*_unpack("_k", ev_r), "n")
    )
    union = _presence_masks(fine, n_cid, n_tp, n_ch)
    stage_rows = _stage_rows(union, n_cid, n_tp, n_ch).with_columns(seg)
    cs = pl.col("_u") // n_tp
    # each union row takes the "later" of its (customer, channel, stage) row
    idx = ((cs != cs.shift(1)).fill_null(True).cum_sum() - 1).cast(pl.UInt32)
    union = union.with_columns(
        pl.lit(stage_rows.get_column("later")).gather(idx).alias("later"), seg
    )
    cell_r = {"seg": n_seg, "ch": n_ch, "stage": n_st, "tp": n_tp}
    cells = (
        union.group_by(_pack(cell_r).alias("_k"), "mask", "later")
        .agg(pl.len().alias("n"))
        .sort("_k", "mask", "later")
        .select(*_unpack("_k", cell_r), "mask", "later", "n")
    )
    stage_r = {"seg": n_seg, "ch": n_ch, "stage": n_st}
    stages = (
        stage_rows.group_by(_pack(stage_r).alias("_k"), "mask", "later")
        .agg(pl.len().alias("n"))
        .sort("_k", "mask", "later")
        .select(*_unpack("_k", stage_r), "mask", "later", "n")
    )
    return _narrow(cells), _narrow(stages), _narrow(events)


def _presence_masks(fine: pl.DataFrame, n_cid: int, n_tp: int, n_ch: int) -> pl.DataFrame:
    """Bucket masks per (customer, stage, touchpoint, channel), channel 0 = every channel.

    Bit ``b`` of ``mask`` is set when the customer has an event in bucket ``b`` there. Rows
    are sorted on ``_u``, the (customer, channel, stage, touchpoint) key packed in that order.
    """
    n_st = len(STAGES)
    trip_r = {"cid": n_cid, "stage": n_st, "tp": n_tp, "ch": n_ch}
    bit = pl.lit(2, dtype=pl.UInt64).pow(pl.col("b"))
    trip = (
        fine.select(_pack(trip_r).alias("_k"), bit.alias("mask"))
        .with_columns(pl.col("_k").set_sorted())
        .group_by("_k")
        .agg(pl.col("mask").bitwise_or())
        .select(*_unpack("_k", trip_r), "mask")
    )
    every_channel = (
        trip.group_by(_pack({"cid": n_cid, "stage": n_st, "tp": n_tp}).alias("_k"))
        .agg(pl.col("mask").bitwise_or())
        .select(
            *_unpack("_k", {"cid": n_cid, "stage": n_st, "tp": n_tp}),
            pl.lit(0, dtype=pl.UInt64).alias("ch"),
            "mask",
        )
    )
    union_r = {"cid": n_cid, "ch": n_ch, "stage": n_st, "tp": n_tp}
    return (
        pl.concat([trip, every_channel.select(trip.columns)])
        .with_columns(_pack(union_r).alias("_u"))
        .sort("_u")
    )


def _stage_rows(union: pl.DataFrame, n_cid: int, n_tp: int, n_ch: int) -> pl.DataFrame:
    """Bucket masks per (customer, channel, stage), in stage order within (customer, channel).

    ``later`` is the OR of the masks of the customer's later stages in the same channel.
    """
    n_st = len(STAGES)
    cs = pl.col("_u") // n_tp
    stage_rows = (
        union.select(cs.alias("_s"), "mask")
        .with_columns(pl.col("_s").set_sorted())
        .group_by("_s")
        .agg(pl.col("mask").bitwise_or())
        .sort("_s")
        .with_columns(*_unpack("_s", {"cid": n_cid, "ch": n_ch, "stage": n_st}))
    )
    group = pl.col("_s") // n_st
    later = pl.lit(0, dtype=pl.UInt64)
    for k in range(1, n_st):  # OR of the masks of the next rows of the same (customer, channel)
        later = later | pl.when(group.shift(-k) == group).then(pl.col("mask").shift(-k)).otherwise(
            0
        )
    return stage_rows.with_columns(later.alias("later"))


def heatmap_cube(
    events_with_stage: FrameLike,
    feedback: FrameLike | None = None,
    customers: FrameLike | None = None,
    *,
    segment_column: str = "segment",
    every: dt.timedelta | str = "1w",
    max_buckets: int = MAX_BUCKETS,
) -> HeatmapCube:
    """Pre-aggregate one client's events once, for :meth:`HeatmapCube.heatmap` to filter.

    Parameters
    ----------
    events_with_stage : DataFrame or LazyFrame
        Output of :func:`cxlab.analysis.journey.assign_stages` (prepared with
        :func:`cxlab.contract.prepare.prepare_events` or not: the same cube). Needs ``customer_id``,
        ``timestamp``, ``touchpoint``, ``channel``, ``stage``.
    feedback : DataFrame or LazyFrame, optional
        Canonical feedback, for ``satisfaction`` (as in ``touchpoint_heatmap``).
    customers : DataFrame or LazyFrame, optional
        Canonical customers with ``segment_column``, for the segment filter. Customers with a
        null segment, or not in the table, are in segment ``"(missing)"``.
    segment_column : str
        The customers column to filter on (default ``segment``; any attribute works).
    every : timedelta or str
        Bucket width, whole days (default ``"1w"``: weeks from Monday 00:00 UTC); made coarser
        by a whole factor when the data span needs more than ``max_buckets`` buckets.
    max_buckets : int
        At most this many buckets (1..64).

    Returns
    -------
    HeatmapCube

    Examples
    --------
    >>> t = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)  # a Tuesday
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "timestamp": [t, t + dt.timedelta(days=8), t + dt.timedelta(days=1)],
    ...     "touchpoint": ["site_visit", "purchase", "site_visit"], "channel": ["web", "app", "web"],
    ...     "stage": pl.Series(["consideration", "purchase", "consideration"], dtype=STAGE_DTYPE)})
    >>> cube = heatmap_cube(ev)
    >>> cube
    HeatmapCube(2 buckets of 7 days from 2024-01-01, 1 segments, 2 channels, 2 touchpoints, 5 cell rows, feedback=no)
    >>> cube.heatmap(end=dt.date(2024, 1, 7)).select("touchpoint", "customers", "reach").rows()
    [('site_visit', 2, 1.0)]
    """
    where = "heatmap_cube"
    base = _cube_events(events_with_stage, where)
    staged = base.filter(pl.col("stage").is_not_null())
    if staged.height == 0:
        raise DataError(
            f"{where}: no event has a stage; check the journey map "
            "(cxlab.analysis.journey.unmapped_touchpoints lists the touchpoints it does not know)."
        )
    origin, width, n = _bucket_width(
        base.get_column("ts").min(), base.get_column("ts").max(), every, max_buckets
    )
    touchpoints = tuple(staged.get_column("touchpoint").drop_nulls().unique().sort().to_list())
    channels = tuple(base.get_column("channel").drop_nulls().unique().sort().to_list())
    n_tp, n_ch = len(touchpoints) + 1, len(channels) + 2  # tp: + null; ch: 0 = every, 1.., + null
    staged = staged.select(
        "cid",
        "seq",
        "ts",
        pl.col("stage").to_physical().cast(pl.UInt8),
        pl.col("touchpoint")
        .cast(pl.Enum(touchpoints))
        .to_physical()
        .cast(pl.UInt16)
        .fill_null(n_tp - 1)
        .alias("tp"),
        (pl.col("channel").cast(pl.Enum(channels)).to_physical().cast(pl.UInt16) + 1)
        .fill_null(n_ch - 1)
        .alias("ch"),
        ((pl.col("ts") - _us(origin)) // (width // dt.timedelta(microseconds=1)))
        .cast(pl.UInt8)
        .alias("b"),
    )
    ids, segments, seg_of_cid = _segments(base, customers, segment_column, where)
    cells, stages, events = _cube_tables(staged, seg_of_cid, n_tp, n_ch, n)
    cands = answers = None
    if feedback is not None:
        cands, answers = _feedback_tables(feedback, staged, ids, touchpoints)
    return HeatmapCube(
        edges=tuple(origin + i * width for i in range(n + 1)),
        every=width,
        segments=segments,
        channels=channels,
        touchpoints=touchpoints,
        has_customers=customers is not None,
        has_feedback=feedback is not None,
        _cells=cells,
        _stages=stages,
        _events=events,
        _cands=cands,
        _answers=answers,
        _customers=ids,
    )


def _cube_events(events_with_stage: FrameLike, where: str) -> pl.DataFrame:
    """The cube's per-event columns: cid, seq, ts (epoch us), customer_id, stage, text
    touchpoint and channel; :class:`DataError` for a missing column or timestamp."""
    lf = as_lazy(events_with_stage, "events_with_stage", where=where)
    names = require_columns(
        lf, ["customer_id", "timestamp", "touchpoint", "channel"], "events", where=where
    )
    if "stage" not in names:
        raise DataError(
            f"{where}: the events frame has no 'stage' column. Add it first with "
            "cxlab.analysis.journey.assign_stages(events, config.journey_map, config.purchase_touchpoints)."
        )
    # prepared events (prepared once here when they are not): customer codes in customer_id
    # order and _cx_seq, the (timestamp, source_row) order within a customer
    lf = as_events(events_with_stage, where=where).lazy()
    cid, seq = pl.col(CUSTOMER_CODE).cast(pl.UInt32), pl.col(SEQUENCE).cast(pl.Int64)
    base = lf.select(
        cid.alias("cid"),
        seq.alias("seq"),
        pl.col("timestamp").dt.epoch("us").alias("ts"),
        "customer_id",
        pl.col("stage").cast(STAGE_DTYPE),
        pl.col("touchpoint").cast(pl.String),
        pl.col("channel").cast(pl.String),
    ).collect()
    if base.get_column("ts").null_count():
        raise DataError(
            f"{where}: {base.get_column('ts').null_count()} events have no timestamp; "
            "load the events with cxlab.load_client, which sets such rows aside."
        )
    return base


def _segments(
    base: pl.DataFrame, customers: FrameLike | None, segment_column: str, where: str
) -> tuple[pl.DataFrame, tuple[str, ...], pl.Series]:
    """One segment per customer code: ``(ids, segments, seg_of_cid)``.

    ``ids``: cid, customer_id, seg (code in ``segments``), sorted by cid; ``seg_of_cid``:
    the segment code at each cid (0 for codes without events). Customers with a null segment
    or not in ``customers`` are in :data:`MISSING_SEGMENT`.
    """
    first_rows = base.filter((pl.col("cid") != pl.col("cid").shift(1)).fill_null(True))
    ids = first_rows.unique("cid", keep="first").select("cid", "customer_id")
    if customers is not None:
        cu = (
            as_lazy(customers, "customers", ["customer_id", segment_column], where=where)
            .select("customer_id", pl.col(segment_column).cast(pl.String).alias("_seg"))
            .collect()
        )
        dups = cu.height - cu.get_column("customer_id").n_unique()
        if dups:
            raise DataError(
                f"{where}: the customers frame has {dups} duplicated customer_id values; "
                "load it with cxlab.load_client, which sets duplicates aside."
            )
        ids = ids.join(cu, on="customer_id", how="left")
    else:
        ids = ids.with_columns(pl.lit(None, dtype=pl.String).alias("_seg"))
    ids = ids.with_columns(pl.col("_seg").fill_null(MISSING_SEGMENT))
    segments = tuple(ids.get_column("_seg").unique().sort().to_list())
    ids = ids.select(
        "cid",
        "customer_id",
        pl.col("_seg").cast(pl.Enum(segments)).to_physical().cast(pl.UInt32).alias("seg"),
    ).sort("cid")
    seg_of_cid = (
        pl.DataFrame(
            {"cid": pl.int_range(int(ids.get_column("cid").max()) + 1, dtype=pl.UInt32, eager=True)}
        )
        .join(ids, on="cid", how="left")
        .sort("cid")
        .get_column("seg")
        .fill_null(0)
    )
    return ids, segments, seg_of_cid


def _feedback_tables(
    feedback: FrameLike, staged: pl.DataFrame, ids: pl.DataFrame, touchpoints: tuple[str, ...]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Candidate events of every survey answer, and the answers (see the module docstring)."""
    fb = as_lazy(
        feedback,
        "feedback",
        ["customer_id", "timestamp", "survey", "score", "touchpoint"],
        where="heatmap_cube",
    )
    codes = pl.LazyFrame(
        {"touchpoint": list(touchpoints)}, schema={"touchpoint": pl.String}
    ).with_row_index("tp")
    fb = (
        fb.filter(pl.col("touchpoint").is_not_null())
        .select(
            "customer_id",
            pl.col("timestamp").dt.epoch("us").alias("_t"),
            pl.col("touchpoint").cast(pl.String),
            pl.col("survey").cast(pl.String),
            pl.col("score").cast(pl.Float64),
        )
        # the expression touchpoint_heatmap uses, so the floats are the same
        .with_columns(score_on_100().alias("_sat_all"))
        .with_row_index("f")
        .join(ids.lazy(), on="customer_id", how="inner")  # customers with events
        .join(
            codes.with_columns(pl.col("tp").cast(pl.UInt16)), on="touchpoint", how="inner"
        )  # touchpoints with events
        .collect()
    )
    # events at the (customer, touchpoint) pairs answered: one integer is_in over the events
    pair = pl.col("cid").cast(pl.UInt64) * (len(touchpoints) + 1) + pl.col("tp")
    ev = staged.filter(pair.is_in(fb.select(pair.unique()).to_series().implode())).select(
        "cid", "tp", "ch", "b", "ts", "seq", "stage"
    )
    pairs = (
        fb.select("f", "seg", "cid", "tp", "_t")
        .join(ev, on=["cid", "tp"])
        .with_columns((pl.col("ts") <= pl.col("_t")).alias("_before"))
    )
    # within an answer, later-sorted = better: any event before beats any after; before: the
    # latest (file order on equal times), after: the earliest
    sign = pl.when(pl.col("_before")).then(1).otherwise(-1)
    cands = (
        pairs.sort("f", "_before", pl.col("ts") * sign, pl.col("seq") * sign)
        .unique(["f", "ch", "b", "_before"], keep="last", maintain_order=True)
        .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).over("f").alias("_rank"))
        .select(
            "seg",
            "ch",
            "b",
            "f",
            (pl.col("_rank").cast(pl.UInt64) * 8 + pl.col("stage").cast(pl.UInt64)).alias("key"),
        )
        .sort("ch", "seg", "b", "f")
    )
    answers = fb.select("f", "tp", "survey", "score", "_sat_all")
    return cands, answers


def _example_events() -> pl.DataFrame:
    """Three customers over three weeks of January 2024 (for the examples)."""
    t = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    d = dt.timedelta(days=1)
    return pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "timestamp": [t, t + d, t + 8 * d, t, t + 15 * d, t + 9 * d],
            "touchpoint": [
                "site_visit",
                "site_visit",
                "purchase",
                "site_visit",
                "site_visit",
                "site_visit",
            ],
            "channel": ["web", "web", "web", "web", "web", "app"],
            "stage": pl.Series(
                [
                    "consideration",
                    "consideration",
                    "purchase",
                    "consideration",
                    "consideration",
                    "consideration",
                ],
                dtype=STAGE_DTYPE,
            ),
        }
    )
