"""Out-of-core analysis: one client's event log straight from its files, in bounded memory.

For logs too large to hold comfortably in memory (100M events and more), this module gives
the per-client journey tables without ever materialising the whole log: the same numbers as
:func:`cxlab.io.client.load_client` followed by the in-memory analyses, with the memory of
about 1/P of the log.

How it works (the classic external hash partitioning)
-----------------------------------------------------
1. **Scan** (:func:`scan_events`): a lazy scan of the events file named in ``client.toml``,
   with the client's columns mapped to the canonical names, every value cast and every
   row-level set-aside reason of :mod:`cxlab.io.loaders` flagged by the same polars expressions
   (``null_customer_id``, ``unparsable_timestamp``, ``missing_touchpoint``, ``missing_value``,
   ``unparsable_value``, ``negative_revenue``, ``before_start``, ``future_timestamp``). Hard
   errors (missing file or column, unreadable file) raise the loader's own
   :class:`~cxlab.errors.DataError` messages, because the loader's checks are reused.
2. **Partition**: one pass of polars' streaming engine writes the flagged rows into P
   Parquet files by a hash of ``customer_id`` (``sink_parquet`` with ``pl.PartitionBy``), so
   every customer's events land in one part. P comes from the row count
   (``rows_per_partition``, default 4M rows) or the ``partitions`` parameter.
3. **Per part, in memory** (only one part resident): ``duplicate_event`` (equal on every
   canonical column to an earlier clean row; duplicates share a customer, so they share a
   part), then :func:`~cxlab.contract.prepare.prepare_events`, :func:`~cxlab.analysis.journey.assign_stages`,
   :func:`~cxlab.analysis.journey.customer_journeys`, :func:`~cxlab.analysis.journey.stage_transitions`,
   :func:`~cxlab.analysis.heatmap.touchpoint_heatmap` and the touchpoint transitions, with the
   client's journey map and purchase touchpoints.
4. **Combine**: customers never span parts, so per-customer rows are concatenated and every
   count (events, distinct customers, transitions, set-aside rows) is added across parts;
   shares and rates are recomputed from the summed counts with the formulas of the
   in-memory functions.

What is computed (see :class:`OutOfCoreResult`): the set-aside counts per reason (nothing
is dropped silently: ``input_rows == loaded + set aside``), the per-customer journey table
(plus revenue), the stage × touchpoint heatmap counts with reach, intensity and the pain
score, stage transitions, and touchpoint transitions with counts, probabilities and mean
seconds.

Left out, and why
-----------------
* **Medians** (``median_seconds`` of :func:`cxlab.analysis.paths.transitions`): a median is not
  additive across parts, so it is not computed; ``mean_seconds`` is (exactly, from integer
  microsecond sums).
* **Satisfaction** columns of the heatmap (they need the feedback table); ``maturity``.
* The *values* quoted in set-aside messages ("Values like ...") and the
  ``unknown_customer`` warning (it needs the customers table): counts and example rows are
  reported.

Examples
--------
>>> import tempfile, pathlib
>>> from cxlab.io.sample import write_sample_clients
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_sample_clients(tmp, customers=300, clients=["bookshop"], file_format="parquet")
>>> res = analyze_client(tmp / "bookshop", partitions=3)
>>> res.input_rows == res.loaded + res.set_aside["rows"].sum()
True
>>> res.customers.height
300
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cxlab.analysis.heatmap import HEATMAP_COLUMNS, heatmap_metrics, touchpoint_heatmap
from cxlab.analysis.journey import (
    TRANSITION_DTYPE,
    assign_stages,
    customer_journeys,
    stage_transitions,
)
from cxlab.analysis.stats import exact_sum
from cxlab.contract.client_config import ClientConfig, read_client_config
from cxlab.contract.prepare import CUSTOMER_CODE, SEQUENCE, prepare_events
from cxlab.contract.schema import EVENTS, SOURCE_ROW, STAGE_DTYPE
from cxlab.contract.validation import SET_ASIDE_REASONS, Issue, TableCounts, ValidationReport
from cxlab.errors import DataError, ParameterError
from cxlab.io.loaders import (
    check_source_types,
    declared_columns,
    open_source,
    read_error,
    resolve_columns,
)
from cxlab.io.rules import (
    FIX,
    WHAT,
    as_utc,
    binary_error,
    blank_line,
    blank_lines_issue,
    col_label,
    column_checks,
    dst_gap_issue,
    mixed_timezones_issue,
    tidy,
    tidy_probe,
    unknown_touchpoints_issue,
)

__all__ = ["EventScan", "OutOfCoreResult", "scan_events", "analyze_client", "choose_partitions"]

#: Default number of event rows per part (parts of 4M events peaked at 2.0 GB on 100M events).
ROWS_PER_PARTITION = 4_000_000
_EXAMPLES = 5
_FLAG = "_flag"  # index of the row's first set-aside flag (null: kept)
_PART = "_part"
_READ_ERRORS = (pl.exceptions.PolarsError, OSError, EOFError, ValueError)


# --------------------------------------------------------------------------- scan
@dataclass(frozen=True)
class EventScan:
    """A lazy, validated scan of one client's events file (see :func:`scan_events`).

    Attributes
    ----------
    frame : pl.LazyFrame
        Canonical columns (``customer_id``, ``timestamp``, ``touchpoint``, ``channel``,
        ``session_id`` when the file has one, ``revenue``), ``source_row`` and
        ``set_aside_reason`` (null for rows the loader keeps, else the loader's reason code;
        ``duplicate_event`` is not flagged here, see :func:`analyze_client`).
    config : ClientConfig
        The client's ``client.toml``.
    path : Path
        The events file.
    columns : dict of str to str
        Canonical column -> source column, as resolved against the file.
    flags : tuple of (str, str)
        ``(reason, canonical column)`` of each set-aside flag; ``_flag`` values index it.
    rows : int
        Data rows in the file (blank lines of a delimited file are not rows).
    blank_lines, blank_examples : int, tuple of int
        Blank lines skipped (delimited files), and the first few of their row numbers.
    """

    config: ClientConfig
    path: Path
    columns: dict[str, str]
    flags: tuple[tuple[str, str], ...]
    rows: int
    _flagged: pl.LazyFrame = field(repr=False)
    _extras: dict[str, pl.Expr] = field(repr=False, default_factory=dict)
    blank_lines: int = 0
    blank_examples: tuple[int, ...] = ()

    @property
    def frame(self) -> pl.LazyFrame:
        """Canonical columns, ``source_row`` and ``set_aside_reason`` (lazy)."""
        reasons = {i: r for i, (r, _) in enumerate(self.flags)}
        return self._flagged.with_columns(
            pl.col(_FLAG)
            .replace_strict(reasons, default=None, return_dtype=pl.String)
            .alias("set_aside_reason")
        ).drop(_FLAG, *[c for c in self._flagged.collect_schema().names() if c.startswith("_w_")])

    @property
    def key(self) -> list[str]:
        """The canonical columns of the duplicate check (those the file provides)."""
        return [c for c in EVENTS.names if c in self.columns]


def scan_events(folder: str | Path) -> EventScan:
    """Scan a client folder's events lazily, mapped, cast and flagged like the loader does.

    Reads ``client.toml`` (:func:`cxlab.contract.client_config.read_client_config`), opens the events
    file it names without reading it, resolves the column mapping and builds the expressions
    of :func:`cxlab.io.loaders.load_events`. One small streaming pass over the text columns is
    run to decide, as the loader does, which of them need stripping (a value with a leading
    or trailing space, or an empty one).

    Parameters
    ----------
    folder : str or Path
        The client folder (holds ``client.toml``).

    Returns
    -------
    EventScan
        ``.frame`` is the lazy canonical events frame with ``source_row`` and
        ``set_aside_reason``.

    Raises
    ------
    ConfigError
        ``client.toml`` is missing or wrong.
    DataError
        The events file is missing, empty, unreadable or lacks a required column (the
        loader's messages: file, column and the fix).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxlab.io.sample import write_sample_clients
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_sample_clients(tmp, customers=300, clients=["bookshop"], file_format="parquet")
    >>> scan = scan_events(tmp / "bookshop")
    >>> scan.columns["customer_id"]
    'Customer Ref'
    >>> lf = scan.frame.filter(pl.col("set_aside_reason").is_not_null())
    >>> lf.group_by("set_aside_reason").len().collect(engine="streaming").rows()
    [('null_customer_id', 2)]
    """
    cfg = read_client_config(folder)
    path = cfg.path_of("events")
    if path is None:  # pragma: no cover - read_client_config requires the events file
        raise DataError(
            f'{folder}: client.toml names no events file. Add events = "..." under [files].'
        )
    src = open_source(path, "events", cfg.separator)
    file_cols = list(src.schema)
    src, mapping, _ = declared_columns(
        src, cfg.columns.get("events", {}), cfg.source_spec("events"), "events", path
    )
    resolved = resolve_columns(EVENTS, list(src.schema), mapping, path)
    check_source_types(path, "events", resolved, src.types or src.schema)
    # blank lines of a delimited file are not rows (as in the loader): left out, not counted
    blank = blank_line(file_cols) if src.kind in ("csv", "tsv") else None
    row = _probe(src, resolved, blank, path)
    n_blank = row.get("__blank") or 0
    blank_examples: tuple[int, ...] = ()
    if n_blank:
        blank_examples = tuple(
            src.lf.with_row_index(SOURCE_ROW, offset=1)
            .filter(blank)
            .select(SOURCE_ROW)
            .head(_EXAMPLES)
            .collect(engine="streaming")
            .to_series()
            .to_list()
        )
    if row["__rows"] - n_blank == 0:
        raise DataError(
            f"{path}: the file has a header but no data rows. Export the events table again "
            f"with its rows."
        )
    scan = src.lf.with_row_index(SOURCE_ROW, offset=1)
    if n_blank:
        scan = scan.filter(~blank)
    binary = [s for s in resolved.values() if src.schema[s] == pl.Binary]
    if binary:
        scan = scan.with_columns(**{s: pl.col(s).cast(pl.String) for s in binary})
    flagged, flags, extras = _flagged(cfg, scan, resolved, src.schema, row)
    return EventScan(
        cfg,
        path,
        resolved,
        flags,
        row["__rows"] - n_blank,
        flagged,
        extras,
        n_blank,
        blank_examples,
    )


def _probe(
    src: object, resolved: dict[str, str], blank: pl.Expr | None, path: Path
) -> dict[str, object]:
    """One streaming pass: rows, blank lines, which text columns are untidy, binary columns.

    The loader strips (and blanks -> null) only text columns that have an untidy value.
    """
    text_cols = sorted({s for s in resolved.values() if src.schema[s] == pl.String})
    binary = {c: s for c, s in resolved.items() if src.schema[s] == pl.Binary}
    probe = (
        [pl.len().alias("__rows")]
        + [e for s in text_cols for e in tidy_probe(s, src.kind != "parquet")]
        + ([blank.sum().alias("__blank")] if blank is not None else [])
        + [pl.col(s).cast(pl.String).null_count().alias(f"__bin_{s}") for s in binary.values()]
    )
    try:
        return src.lf.select(probe).collect(engine="streaming").row(0, named=True)
    except _READ_ERRORS as exc:
        if binary:  # which column is not UTF-8 (its row is found by the in-memory loader)
            for c, s in binary.items():
                try:
                    src.lf.select(pl.col(s).cast(pl.String).null_count()).collect(
                        engine="streaming"
                    )
                except _READ_ERRORS:
                    raise binary_error(path, c, s, None) from None
        raise read_error(path, src.kind, src.gz, exc, src.sep, src.content) from None


def _flagged(
    cfg: ClientConfig,
    scan: pl.LazyFrame,
    resolved: dict[str, str],
    types: Mapping[str, pl.DataType],
    row: dict[str, object],
) -> tuple[pl.LazyFrame, tuple[tuple[str, str], ...], dict[str, pl.Expr]]:
    """The lazy canonical columns with each row's first set-aside flag (``_flag``), the
    ``(reason, column)`` of each flag and the warning columns (``_w_*``)."""
    tz = cfg.timezone
    rdt = {c: types[s] for c, s in resolved.items()}
    values, flags, later, ts = column_checks(
        "events",
        EVENTS,
        resolved,
        {c: tidy(s, row) for c, s in resolved.items()},
        rdt,
        timezone=tz,
        formats=cfg.timestamp_formats,
        start_utc=as_utc(cfg.start_date, tz, "start_date"),
        as_of_utc=as_utc(cfg.as_of, tz, "as_of") or dt.datetime.now(dt.UTC),
    )
    extras: dict[str, pl.Expr] = {}
    if ts is not None:
        d = rdt["timestamp"]
        if not isinstance(d, pl.Datetime) or d.time_zone is None:
            extras["_w_gap"] = ts.gap
        if ts.aware is not None:
            extras["_w_aware"] = ts.aware
            extras["_w_naive"] = ts.naive
    all_flags = flags + later
    all_flags.append(("duplicate_event", "all", pl.lit(False)))  # found per part (analyze_client)

    # A row's reason is its first flag in SET_ASIDE_REASONS order (as the loader chooses it).
    priority = {r: i for i, r in enumerate(SET_ASIDE_REASONS)}
    ordered = sorted(range(len(all_flags)), key=lambda i: (priority[all_flags[i][0]], i))
    fcols = [f"__f{i}" for i in range(len(all_flags))]
    first = pl.coalesce(
        [pl.when(pl.col(fcols[i])).then(pl.lit(i, dtype=pl.UInt8)) for i in ordered]
    )
    n_first = len(flags)
    stage1 = (
        [pl.col(SOURCE_ROW)]
        + [e.alias(n) for n, e in values.items()]
        + [e.alias(n) for n, e in extras.items()]
        + [e.fill_null(False).alias(fcols[i]) for i, (_, _, e) in enumerate(flags)]
    )
    stage2 = [
        e.fill_null(False).alias(fcols[n_first + i])
        for i, (_, _, e) in enumerate(all_flags[n_first:])
    ]
    flagged = scan.select(stage1).with_columns(stage2).with_columns(first.alias(_FLAG)).drop(fcols)
    return flagged, tuple((r, c) for r, c, _ in all_flags), extras


def choose_partitions(rows: int, rows_per_partition: int = ROWS_PER_PARTITION) -> int:
    """Number of parts for ``rows`` event rows: ``ceil(rows / rows_per_partition)``, at least 1.

    Examples
    --------
    >>> choose_partitions(100_000_000), choose_partitions(10), choose_partitions(9_000_000, 3_000_000)
    (25, 1, 3)
    """
    if not isinstance(rows_per_partition, int) or rows_per_partition < 1:
        raise ParameterError(
            f"The 'rows_per_partition' parameter must be an int >= 1. Got {rows_per_partition!r} instead."
        )
    return max(1, math.ceil(rows / rows_per_partition))


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class OutOfCoreResult:
    """What :func:`analyze_client` computed. Every frame is small except ``customers``.

    Attributes
    ----------
    client : str
        The client's slug.
    file : Path
        The events file.
    partitions : int
        P, the number of customer-hash parts.
    input_rows : int
        Data rows in the file; always ``loaded + set_aside["rows"].sum()``.
    loaded : int
        Rows the loader would keep.
    set_aside : pl.DataFrame
        ``reason``, ``column``, ``rows``, ``examples`` (first 5 ``source_row``), in reason order.
    unknown_touchpoints : pl.DataFrame
        ``touchpoint``, ``rows``: loaded touchpoints not in the journey map (kept, no stage).
    customers : pl.DataFrame or pl.LazyFrame
        One row per customer: the columns of :func:`cxlab.analysis.journey.customer_journeys` (with
        ``as_of`` = the last loaded event) plus ``revenue`` (exact sum, 0 when none) and
        ``n_purchases``. A LazyFrame over Parquet parts when ``out_dir`` was given.
    heatmap : pl.DataFrame
        The count columns of :func:`cxlab.analysis.heatmap.touchpoint_heatmap` and what follows from
        them: ``stage``, ``touchpoint``, ``events``, ``customers``, ``stage_customers``,
        ``reach`` (+ Wilson bounds), ``intensity``, ``n_touched``, ``dropped_touched``,
        ``drop_touched``, ``n_not_touched``, ``dropped_not_touched``, ``drop_not_touched``,
        ``pain`` (+ Newcombe bounds), ``pain_ratio``, ``small_n``.
    stage_transitions : pl.DataFrame
        As :func:`cxlab.analysis.journey.stage_transitions`: ``from_stage``, ``to_stage``,
        ``transitions``, ``customers``, ``share``, ``from_total``.
    transitions : pl.DataFrame
        Touchpoint transitions along each customer's path, as :func:`cxlab.analysis.paths.transitions`
        with ``weight="events"``: ``source``, ``target``, ``events``, ``customers``,
        ``probability``, ``share``, ``mean_seconds`` (no median: not additive).
    issues : tuple of Issue
        One per set-aside reason (the loader's message, without quoted values) and the
        ``unknown_touchpoint``, ``nonexistent_local_time`` and ``mixed_timezones`` warnings.
    timings : dict of str to float
        Wall seconds of each step (``scan``, ``partition``, ``parts``, ``combine``).
    """

    client: str
    file: Path
    partitions: int
    input_rows: int
    loaded: int
    set_aside: pl.DataFrame
    unknown_touchpoints: pl.DataFrame
    customers: pl.DataFrame | pl.LazyFrame
    heatmap: pl.DataFrame
    stage_transitions: pl.DataFrame
    transitions: pl.DataFrame
    issues: tuple[Issue, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def report(self) -> ValidationReport:
        """The events part of a :class:`~cxlab.contract.validation.ValidationReport` (counts and issues)."""
        counts = TableCounts(
            "events", self.file.name, self.input_rows, self.loaded, self.input_rows - self.loaded
        )
        return ValidationReport(self.client, [counts], self.issues)

    def __repr__(self) -> str:
        return (
            f"<OutOfCoreResult {self.client!r} from {self.file.name}: {self.input_rows:,} rows, "
            f"{self.loaded:,} loaded, {self.input_rows - self.loaded:,} set aside; "
            f"{self.partitions} parts>"
        )


# --------------------------------------------------------------------------- per part
def _dedupe(df: pl.DataFrame, key: list[str], dup_flag: int) -> pl.DataFrame:
    """Flag clean rows equal on ``key`` to an earlier clean row (lower ``source_row``)."""
    clean = pl.col(_FLAG).is_null()
    # Candidates first (cheap): clean rows whose (customer_id, timestamp) repeats.
    cand = df.lazy().filter(clean).filter(pl.struct("customer_id", "timestamp").is_duplicated())
    later = (
        cand.filter(pl.col(SOURCE_ROW) != pl.col(SOURCE_ROW).min().over(key))
        .select(SOURCE_ROW)
        .collect(engine="streaming")
        .to_series()
    )
    if later.len() == 0:
        return df
    return df.with_columns(
        pl.when(pl.col(SOURCE_ROW).is_in(later.implode()))
        .then(pl.lit(dup_flag, dtype=pl.UInt8))
        .otherwise(pl.col(_FLAG))
        .alias(_FLAG)
    )


def _transition_counts(ev: pl.DataFrame) -> pl.DataFrame:
    """Touchpoint pairs of consecutive events per customer, on prepared events (path order)."""
    # text touchpoints: each part's prepared events have their own enum of touchpoints
    cid, tp, ts = pl.col(CUSTOMER_CODE), pl.col("touchpoint").cast(pl.String), pl.col("timestamp")
    return (
        ev.lazy()
        .sort(SEQUENCE)
        .select(
            cid,
            source=tp,
            target=tp.shift(-1),
            _us=(ts.shift(-1) - ts).dt.total_microseconds(),
            _same=cid.shift(-1).eq_missing(cid),
        )
        .filter(pl.col("_same"))
        .group_by("source", "target")
        .agg(
            pl.len().cast(pl.Int64).alias("events"),
            cid.n_unique().cast(pl.Int64).alias("customers"),
            pl.col("_us").sum().cast(pl.Int64).alias("_us"),
        )
        .collect(engine="streaming")
    )


def _analyse_part(df: pl.DataFrame, cfg: ClientConfig, end: dt.datetime) -> dict[str, pl.DataFrame]:
    """Every additive table of one part's loaded events (all of each customer's events)."""
    ev = prepare_events(df)
    st = assign_stages(ev, cfg.journey_map, cfg.purchase_touchpoints)
    purchases = list(cfg.purchase_touchpoints)
    money = (
        ev.lazy()
        .group_by("customer_id")
        .agg(
            exact_sum("revenue").alias("revenue"),
            pl.col("touchpoint").is_in(purchases).sum().cast(pl.Int64).alias("n_purchases"),
        )
        .collect(engine="streaming")
    )
    journeys = customer_journeys(st, as_of=end).join(
        money, on="customer_id", how="left", maintain_order="left"
    )
    heat = touchpoint_heatmap(st)
    cells = heat.select(
        "stage", "touchpoint", "events", "customers", "n_touched", "dropped_touched"
    )
    stages = heat.group_by("stage").agg(
        pl.col("stage_customers").first(),
        (pl.col("n_touched") + pl.col("n_not_touched")).first().alias("_N"),
        (pl.col("dropped_touched") + pl.col("dropped_not_touched")).first().alias("_K"),
    )
    stt = stage_transitions(st).select("from_stage", "to_stage", "transitions", "customers")
    return {
        "customers": journeys,
        "cells": cells,
        "stages": stages,
        "stage_transitions": stt,
        "transitions": _transition_counts(ev),
    }


# --------------------------------------------------------------------------- combine
def _combine_heatmap(cells: list[pl.DataFrame], stages: list[pl.DataFrame]) -> pl.DataFrame:
    """Sum the parts' counts and derive the heatmap metrics as touchpoint_heatmap does."""
    keys = ["stage", "touchpoint"]
    c = pl.concat(cells).group_by(keys).agg(pl.all().sum())
    s = pl.concat(stages).group_by("stage").agg(pl.all().sum())
    out = heatmap_metrics(c.lazy().join(s.lazy(), on="stage", how="left")).collect()
    # the heatmap's columns without the feedback ones (the out-of-core scan reads no feedback)
    cols = [c for c in HEATMAP_COLUMNS if c not in ("feedback_n", "satisfaction")]
    return out.with_columns(pl.col("stage").cast(STAGE_DTYPE)).select(cols).sort(keys)


def _combine_stage_transitions(parts: list[pl.DataFrame]) -> pl.DataFrame:
    return (
        pl.concat(parts)
        .group_by("from_stage", "to_stage")
        .agg(pl.col("transitions", "customers").sum())
        .with_columns(pl.col("transitions").sum().over("from_stage").alias("from_total"))
        .with_columns((pl.col("transitions") / pl.col("from_total")).alias("share"))
        .with_columns(pl.col("from_stage", "to_stage").cast(TRANSITION_DTYPE))
        .select("from_stage", "to_stage", "transitions", "customers", "share", "from_total")
        .sort("from_stage", "to_stage")
    )


def _combine_transitions(parts: list[pl.DataFrame]) -> pl.DataFrame:
    edges = (
        pl.concat(parts)
        .group_by("source", "target")
        .agg(pl.col("events", "customers", "_us").sum())
    )
    return (
        edges.with_columns(
            (pl.col("events") / pl.col("events").sum().over("source")).alias("probability"),
            (pl.col("events") / pl.col("events").sum()).alias("share"),
            (pl.col("_us") / pl.col("events") / 1e6).alias("mean_seconds"),
        )
        .select("source", "target", "events", "customers", "probability", "share", "mean_seconds")
        .sort("source", "target")
    )


def _warning_counts(df: pl.DataFrame) -> pl.DataFrame:
    """One part's warning counts, each with its first example rows (long: kind, rows, examples)."""
    kinds = {}
    if "_w_gap" in df.columns:  # loaded rows only, as the loader counts them
        kinds["gap"] = pl.col("_w_gap") & pl.col(_FLAG).is_null()
    if "_w_aware" in df.columns:  # every row, as the loader counts them
        kinds["aware"] = pl.col("_w_aware")
        kinds["naive"] = pl.col("_w_naive")
    frames = [
        df.lazy().select(
            pl.lit(k).alias("kind"),
            e.fill_null(False).sum().cast(pl.Int64).alias("rows"),
            pl.col(SOURCE_ROW).filter(e).sort().head(_EXAMPLES).implode().alias("examples"),
        )
        for k, e in kinds.items()
    ]
    schema = {"kind": pl.String, "rows": pl.Int64, "examples": pl.List(pl.UInt32)}
    return (
        pl.concat(pl.collect_all(frames, engine="streaming"))
        if frames
        else pl.DataFrame(schema=schema)
    )


def _merge_examples(frames: Sequence[pl.DataFrame], key: str) -> pl.DataFrame:
    """Add ``rows`` and merge ``examples`` (first rows) of per-part frames by ``key``."""
    return (
        pl.concat(frames)
        .group_by(key)
        .agg(pl.col("rows").sum(), pl.col("examples").explode())
        .with_columns(pl.col("examples").list.sort().list.head(_EXAMPLES))
    )


def _empty_parts() -> dict[str, list[pl.DataFrame]]:
    return {
        k: []
        for k in (
            "customers",
            "cells",
            "stages",
            "stage_transitions",
            "transitions",
            "set_aside",
            "unknown",
            "warn",
        )
    }


# --------------------------------------------------------------------------- entry point
def analyze_client(
    folder: str | Path,
    *,
    partitions: int | None = None,
    rows_per_partition: int = ROWS_PER_PARTITION,
    workdir: str | Path | None = None,
    out_dir: str | Path | None = None,
    keep_parts: bool = False,
    progress: bool = False,
) -> OutOfCoreResult:
    """Validate and analyse one client's events out of core, from its files.

    Parameters
    ----------
    folder : str or Path
        The client folder (``client.toml`` and the data files; the events file is read).
    partitions : int, optional
        P, the number of customer-hash parts. Default: :func:`choose_partitions` of the row
        count. Only about 1/P of the log is in memory at once; results do not depend on P.
    rows_per_partition : int
        Target rows per part when ``partitions`` is None (default 4,000,000).
    workdir : str or Path, optional
        Where the parts are written (default: a new folder in the system temp folder). Needs
        about the size of the events file again in free disk space; removed at the end.
    out_dir : str or Path, optional
        Write the per-customer table as Parquet parts to ``out_dir/customers/`` and return it
        as a LazyFrame (keeps memory bounded for very many customers). Default: one
        DataFrame in memory, sorted by ``customer_id``.
    keep_parts : bool
        Keep the partitioned event files in ``workdir`` (for inspection).
    progress : bool
        Show a tqdm progress bar over the parts (minutes on 100M events).

    Returns
    -------
    OutOfCoreResult
        Set-aside counts, per-customer table, heatmap, stage and touchpoint transitions,
        warnings and step timings. See the module docstring for what is left out (medians).

    Raises
    ------
    ConfigError, DataError
        As :func:`scan_events`.
    ParameterError
        ``partitions`` or ``rows_per_partition`` is not a positive int.

    Examples
    --------
    A hand-checkable client: three events of ``a`` (ad click, purchase, purchase), one of
    ``b``, and one row without a customer id.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "client.toml").write_text('name = "Demo"\\nas_of = 2025-01-01T00:00:00Z\\n'
    ...                                         '[files]\\nevents = "events.csv"\\n')
    >>> _ = (folder / "events.csv").write_text(
    ...     "customer_id,timestamp,touchpoint,channel,revenue\\n"
    ...     "a,2024-03-01 10:00,ad_click,web,\\n"
    ...     "a,2024-03-02 10:00,purchase,web,10.5\\n"
    ...     ",2024-03-02 11:00,purchase,web,3\\n"
    ...     "a,2024-03-09 10:00,purchase,web,4\\n"
    ...     "b,2024-03-03 10:00,ad_click,app,\\n")
    >>> res = analyze_client(folder, partitions=2)
    >>> res.loaded, res.set_aside.select("reason", "rows").rows()
    (4, [('null_customer_id', 1)])
    >>> res.customers.select("customer_id", "n_events", "furthest_stage", "revenue").rows()
    [('a', 3, 'retention', 14.5), ('b', 1, 'awareness', 0.0)]
    >>> res.stage_transitions.select("from_stage", "to_stage", "transitions").rows()[:3]
    [('(start)', 'awareness', 2), ('awareness', 'purchase', 1), ('awareness', '(end)', 1)]
    >>> res.transitions.select("source", "target", "events", "mean_seconds").rows()
    [('ad_click', 'purchase', 1, 86400.0), ('purchase', 'purchase', 1, 604800.0)]
    """
    if partitions is not None and (
        not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1
    ):
        raise ParameterError(
            f"The 'partitions' parameter of analyze_client must be an int >= 1 or None. "
            f"Got {partitions!r} instead."
        )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    scan = scan_events(folder)
    input_rows = scan.rows
    n_parts = (
        partitions if partitions is not None else choose_partitions(input_rows, rows_per_partition)
    )
    timings["scan"] = time.perf_counter() - t0

    own_workdir = workdir is None
    base = Path(tempfile.mkdtemp(prefix="cxlab-ooc-")) if own_workdir else Path(workdir)
    parts_dir = base / "parts" if not own_workdir else base
    if not own_workdir:
        shutil.rmtree(parts_dir, ignore_errors=True)  # parts kept by an earlier run
    try:
        t0 = time.perf_counter()
        files, end = _partition(scan, n_parts, parts_dir)
        timings["partition"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        acc, cust_dir = _analyse_parts(scan, files, end, out_dir, progress)
        timings["parts"] = time.perf_counter() - t0
    finally:
        if not keep_parts:
            shutil.rmtree(base if own_workdir else parts_dir, ignore_errors=True)

    t0 = time.perf_counter()
    result = _combine(scan, acc, n_parts, input_rows, cust_dir)
    timings["combine"] = time.perf_counter() - t0
    object.__setattr__(result, "timings", timings)
    return result


def _partition(
    scan: EventScan, n_parts: int, parts_dir: Path
) -> tuple[dict[str, list[Path]], dt.datetime | None]:
    """Write the flagged events to ``n_parts`` Parquet folders by customer hash (streaming).

    Returns the files of each part and the latest timestamp of a kept event.
    """
    path, input_rows = scan.path, scan.rows
    keep = [
        SOURCE_ROW,
        *[c for c in EVENTS.names if c in scan._flagged.collect_schema().names()],
        *scan._extras,
        _FLAG,
    ]
    part_key = (pl.col("customer_id").hash(seed=20240) % n_parts).alias(_PART)
    try:
        scan._flagged.select(keep).with_columns(part_key).sink_parquet(
            pl.PartitionBy(parts_dir, key=_PART, include_key=False),
            engine="streaming",
            compression="lz4",
            mkdir=True,
        )
    except _READ_ERRORS as exc:
        raise DataError(
            f"{path}: cannot be read as a Parquet/CSV/NDJSON file while partitioning "
            f"({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}). "
            f"Check that the file is a complete export."
        ) from None
    # one folder per key value (hive style, "_part=k"); group the files by folder
    files: dict[str, list[Path]] = {}
    for f in sorted(parts_dir.rglob("*.parquet")):
        files.setdefault(str(f.parent), []).append(f)
    all_files = [f for v in files.values() for f in v]
    written, end = (
        (
            pl.scan_parquet(all_files)
            .select(pl.len(), pl.col("timestamp").filter(pl.col(_FLAG).is_null()).max())
            .collect(engine="streaming")
            .row(0)
        )
        if all_files
        else (0, None)
    )
    if written != input_rows:  # pragma: no cover - a guard: never lose rows silently
        raise DataError(
            f"{path}: partitioning wrote {written:,} of {input_rows:,} rows to {parts_dir}. "
            f"Check the free disk space there (or pass workdir=) and run again."
        )
    return files, end


def _analyse_parts(
    scan: EventScan,
    files: dict[str, list[Path]],
    end: dt.datetime | None,
    out_dir: str | Path | None,
    progress: bool,
) -> tuple[dict[str, list[pl.DataFrame]], Path | None]:
    """Each part in memory in turn: its set-aside counts, warnings and analyses (``acc``);
    its per-customer table written under ``out_dir/customers`` (returned) when asked."""
    cfg = scan.config
    acc = _empty_parts()
    cust_dir = Path(out_dir) / "customers" if out_dir is not None else None
    if cust_dir is not None:
        cust_dir.mkdir(parents=True, exist_ok=True)
        for old in cust_dir.glob("part-*.parquet"):
            old.unlink()
    from tqdm.auto import tqdm

    for k, fs in enumerate(
        tqdm(list(files.values()), desc=f"{cfg.slug}: parts", unit="part", disable=not progress)
    ):
        part = _one_part(scan, fs, end, acc)
        if part is None:
            continue
        if cust_dir is not None:
            part.pop("customers").write_parquet(cust_dir / f"part-{k:05d}.parquet")
        for name, frame in part.items():
            acc[name].append(frame)
    return acc, cust_dir


def _one_part(
    scan: EventScan,
    files: list[Path],
    end: dt.datetime | None,
    acc: dict[str, list[pl.DataFrame]],
) -> dict[str, pl.DataFrame] | None:
    """One part (read from ``files``): its set-aside counts, warnings and unknown touchpoints
    (added to ``acc``) and its analyses (returned; None when no row of the part is kept)."""
    cfg = scan.config
    df = pl.scan_parquet(files).collect(engine="streaming")
    if cfg.duplicate_events == "drop":  # "keep" (default): repeated events are loaded
        df = _dedupe(df, scan.key, len(scan.flags) - 1)
    bad = df.lazy().filter(pl.col(_FLAG).is_not_null())
    acc["set_aside"].append(
        bad.group_by(_FLAG)
        .agg(
            pl.len().cast(pl.Int64).alias("rows"),
            pl.col(SOURCE_ROW).sort().head(_EXAMPLES).alias("examples"),
        )
        .collect(engine="streaming")
    )
    acc["warn"].append(_warning_counts(df))
    ev = df.filter(pl.col(_FLAG).is_null()).drop(
        _FLAG, *[c for c in df.columns if c.startswith("_w_")]
    )
    del df
    if ev.height == 0:
        return None
    acc["unknown"].append(
        ev.lazy()
        .filter(~pl.col("touchpoint").is_in(list(cfg.journey_map)))
        .group_by("touchpoint")
        .agg(
            pl.len().cast(pl.Int64).alias("rows"),
            pl.col(SOURCE_ROW).sort().head(_EXAMPLES).alias("examples"),
        )
        .collect(engine="streaming")
    )
    return _analyse_part(ev, cfg, end)


def _combine(
    scan: EventScan,
    acc: Mapping[str, Sequence[pl.DataFrame]],
    n_parts: int,
    input_rows: int,
    cust_dir: Path | None,
) -> OutOfCoreResult:
    flags = dict(enumerate(scan.flags))
    priority = {r: i for i, r in enumerate(SET_ASIDE_REASONS)}
    sa = (
        _merge_examples(acc["set_aside"], _FLAG)
        .with_columns(
            pl.col(_FLAG)
            .replace_strict({i: r for i, (r, _) in flags.items()}, return_dtype=pl.String)
            .alias("reason"),
            pl.col(_FLAG)
            .replace_strict({i: c for i, (_, c) in flags.items()}, return_dtype=pl.String)
            .alias("column"),
        )
        .with_columns(pl.col("reason").replace_strict(priority, return_dtype=pl.Int64).alias("_p"))
        .filter(pl.col("rows") > 0)
        .sort("_p", "column")
        .select("reason", "column", "rows", "examples")
    )
    unknown = (
        _merge_examples(acc["unknown"], "touchpoint").sort(
            ["rows", "touchpoint"], descending=[True, False]
        )
        if acc["unknown"]
        else pl.DataFrame(
            schema={"touchpoint": pl.String, "rows": pl.Int64, "examples": pl.List(pl.UInt32)}
        )
    )
    loaded = input_rows - int(sa["rows"].sum())
    if cust_dir is not None:
        customers: pl.DataFrame | pl.LazyFrame = pl.scan_parquet(
            sorted(cust_dir.glob("part-*.parquet"))
        )
    elif acc["customers"]:
        customers = pl.concat(acc["customers"]).sort("customer_id")
    else:
        customers = pl.DataFrame()
    empty = not acc["cells"]
    heat = pl.DataFrame() if empty else _combine_heatmap(acc["cells"], acc["stages"])
    stt = pl.DataFrame() if empty else _combine_stage_transitions(acc["stage_transitions"])
    trans = pl.DataFrame() if empty else _combine_transitions(acc["transitions"])
    warn = _merge_examples(acc["warn"], "kind") if acc["warn"] else pl.DataFrame()
    issues = _set_aside_issues(scan, sa) + _warnings(scan, unknown, warn)
    unknown = unknown.select("touchpoint", "rows")
    return OutOfCoreResult(
        scan.config.slug,
        scan.path,
        n_parts,
        input_rows,
        loaded,
        sa,
        unknown,
        customers,
        heat,
        stt,
        trans,
        tuple(issues),
    )


def _set_aside_issues(scan: EventScan, sa: pl.DataFrame) -> list[Issue]:
    """One Issue per set-aside reason and column, worded as the loader words it."""
    label, cfg = scan.path.name, scan.config
    as_of = as_utc(cfg.as_of, cfg.timezone, "as_of") or dt.datetime.now(dt.UTC)
    out = []
    for g in sa.iter_rows(named=True):
        reason, column, rows = g["reason"], g["column"], g["rows"]
        where = (
            "all canonical columns"
            if column == "all"
            else col_label(column, scan.columns.get(column, column))
        )
        dtype = "a number" if column == "revenue" else "its type"
        what = WHAT[reason].format(
            dtype=dtype, start=cfg.start_date, as_of=f"{as_of:%Y-%m-%d %H:%M} UTC"
        )
        msg = f"{label}, {where}: {rows:,} {'row has' if rows == 1 else 'rows have'} {what}. {FIX[reason]}"
        out.append(
            Issue("events", label, "set_aside", reason, column, rows, tuple(g["examples"]), msg)
        )
    return out


def _warnings(scan: EventScan, unknown: pl.DataFrame, warn: pl.DataFrame) -> list[Issue]:
    """The loader's warnings (same wording), from the parts' counts and first example rows."""
    label, cols, tz = scan.path.name, scan.columns, scan.config.timezone
    out: list[Issue] = []
    got = {k: (n, tuple(ex)) for k, n, ex in warn.iter_rows()} if warn.height else {}
    if scan.blank_lines:
        out.append(blank_lines_issue("events", label, scan.blank_lines, scan.blank_examples))
    n_aware, n_naive = got.get("aware", (0, ()))[0], got.get("naive", (0, ()))[0]
    if n_aware and n_naive:
        out.append(
            mixed_timezones_issue(
                "events", label, cols["timestamp"], n_aware, n_naive, tz, got["naive"][1]
            )
        )
    n_gap, ex_gap = got.get("gap", (0, ()))
    if n_gap:
        out.append(dst_gap_issue("events", label, cols["timestamp"], n_gap, tz, ex_gap))
    if unknown.height:
        pairs = tuple((str(t), int(c)) for t, c in unknown.select("touchpoint", "rows").iter_rows())
        examples = tuple(sorted(r for ex in unknown["examples"] for r in ex)[:_EXAMPLES])
        rows = int(unknown["rows"].sum())
        out.append(
            unknown_touchpoints_issue("events", label, cols["touchpoint"], pairs, rows, examples)
        )
    return out
