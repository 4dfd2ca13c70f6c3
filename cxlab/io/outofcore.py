"""Out-of-core reading: one client's event log scanned, checked and partitioned by customer.

For logs too large to hold comfortably in memory (100M events and more), this module does the
reading half of :func:`cxlab.analysis.outofcore.analyze_client` in bounded memory; the
analyses per part and their combination live in :mod:`cxlab.analysis.outofcore`.

1. **Scan** (:func:`scan_events`): a lazy scan of the events file named in ``client.toml``,
   with the client's columns mapped to the canonical names, every value cast and every
   row-level set-aside reason of :mod:`cxlab.io.loaders` flagged by the same polars expressions
   (``null_customer_id``, ``unparsable_timestamp``, ``missing_touchpoint``, ``missing_value``,
   ``unparsable_value``, ``negative_revenue``, ``before_start``, ``future_timestamp``). Hard
   errors (missing file or column, unreadable file) raise the loader's own
   :class:`~cxlab.errors.DataError` messages, because the loader's checks are reused.
2. **Partition** (:func:`partition_events`): one pass of polars' streaming engine writes the
   flagged rows into P Parquet files by a hash of ``customer_id`` (``sink_parquet`` with
   ``pl.PartitionBy``), so every customer's events land in one part. P comes from the row
   count (:func:`choose_partitions`) or the caller.
3. **Per part** (:func:`read_part`, only one part resident): ``duplicate_event`` (equal on
   every canonical column to an earlier clean row; duplicates share a customer, so they share
   a part), then the part's set-aside counts, warnings and unknown touchpoints; the loaded
   events go to the analyses.
4. **Checks combined** (:func:`combine_checks`): the counts added across parts, and the
   loader's issues (same wording) built from them. The *values* quoted in set-aside messages
   ("Values like ...") and the ``unknown_customer`` warning (it needs the customers table) are
   left out: counts and example rows are reported.

Examples
--------
>>> import tempfile, pathlib
>>> from cxlab.io.sample import write_sample_clients
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_sample_clients(tmp, customers=300, clients=["bookshop"], file_format="parquet")
>>> scan = scan_events(tmp / "bookshop")
>>> parts, end = partition_events(scan, 3, tmp / "parts")
>>> checks = [read_part(scan, files)[1] for files in parts]
>>> set_aside, unknown, issues = combine_checks(scan, checks)
>>> set_aside.select("reason", "rows").rows()  # the bookshop drops repeated events
[('null_customer_id', 2), ('duplicate_event', 5)]
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cxlab.contract.client_config import ClientConfig, read_client_config
from cxlab.contract.schema import EVENTS, SOURCE_ROW
from cxlab.contract.validation import SET_ASIDE_REASONS, Issue
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

__all__ = [
    "EventScan",
    "scan_events",
    "choose_partitions",
    "partition_events",
    "read_part",
    "combine_checks",
]

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
        ``duplicate_event`` is not flagged here, see :func:`read_part`).
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
    all_flags.append(("duplicate_event", "all", pl.lit(False)))  # found per part (read_part)

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


def partition_events(
    scan: EventScan, n_parts: int, parts_dir: str | Path
) -> tuple[list[list[Path]], dt.datetime | None]:
    """Write the flagged events to ``n_parts`` Parquet folders by customer hash (streaming).

    Every customer's events land in one part (a hash of ``customer_id`` modulo ``n_parts``).
    A part no row hashed to has no folder, so fewer than ``n_parts`` lists may come back.

    Parameters
    ----------
    scan : EventScan
        From :func:`scan_events`.
    n_parts : int
        P, the number of customer-hash parts.
    parts_dir : str or Path
        Where the parts are written (one ``_part=k`` folder each).

    Returns
    -------
    list of list of Path, datetime or None
        The files of each part (in folder order), and the latest timestamp of a kept event
        (None when no row is kept).

    Raises
    ------
    DataError
        The file cannot be read to the end.
    """
    parts_dir = Path(parts_dir)
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
    return list(files.values()), end


# --------------------------------------------------------------------------- per part
def read_part(
    scan: EventScan, files: Sequence[Path]
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """One part in memory: its loaded events, and its checks for :func:`combine_checks`.

    Parameters
    ----------
    scan : EventScan
        From :func:`scan_events`.
    files : sequence of Path
        The part's files (one list of :func:`partition_events`).

    Returns
    -------
    pl.DataFrame, dict of str to pl.DataFrame
        The rows the loader keeps (canonical columns, ``source_row`` and extra columns; all
        of each customer's events, as the part holds every event of its customers), and the
        part's counts: ``set_aside`` (per flag), ``warn`` (warnings) and ``unknown``
        (touchpoints not in the journey map), each with its first example rows.
    """
    cfg = scan.config
    df = pl.scan_parquet(list(files)).collect(engine="streaming")
    if cfg.duplicate_events == "drop":  # "keep" (default): repeated events are loaded
        df = _dedupe(df, scan.key, len(scan.flags) - 1)
    bad = df.lazy().filter(pl.col(_FLAG).is_not_null())
    set_aside = (
        bad.group_by(_FLAG)
        .agg(
            pl.len().cast(pl.Int64).alias("rows"),
            pl.col(SOURCE_ROW).sort().head(_EXAMPLES).alias("examples"),
        )
        .collect(engine="streaming")
    )
    warn = _warning_counts(df)
    ev = df.filter(pl.col(_FLAG).is_null()).drop(
        _FLAG, *[c for c in df.columns if c.startswith("_w_")]
    )
    del df
    unknown = (
        ev.lazy()
        .filter(~pl.col("touchpoint").is_in(list(cfg.journey_map)))
        .group_by("touchpoint")
        .agg(
            pl.len().cast(pl.Int64).alias("rows"),
            pl.col(SOURCE_ROW).sort().head(_EXAMPLES).alias("examples"),
        )
        .collect(engine="streaming")
    )
    return ev, {"set_aside": set_aside, "warn": warn, "unknown": unknown}


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


# --------------------------------------------------------------------------- checks combined
def combine_checks(
    scan: EventScan, parts: Sequence[Mapping[str, pl.DataFrame]]
) -> tuple[pl.DataFrame, pl.DataFrame, list[Issue]]:
    """Add the parts' checks (from :func:`read_part`) and word them as the loader does.

    Returns
    -------
    pl.DataFrame, pl.DataFrame, list of Issue
        ``set_aside`` (``reason``, ``column``, ``rows``, ``examples``: first 5 ``source_row``,
        in reason order), ``unknown`` (``touchpoint``, ``rows``: loaded touchpoints not in the
        journey map, most rows first) and the issues: one per set-aside reason (the loader's
        message, without quoted values) and the ``unknown_touchpoint``,
        ``nonexistent_local_time`` and ``mixed_timezones`` warnings.
    """
    flags = dict(enumerate(scan.flags))
    priority = {r: i for i, r in enumerate(SET_ASIDE_REASONS)}
    sa = (
        _merge_examples([p["set_aside"] for p in parts], _FLAG, pl.UInt8)
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
    unknown = _merge_examples([p["unknown"] for p in parts], "touchpoint", pl.String).sort(
        ["rows", "touchpoint"], descending=[True, False]
    )
    warn = _merge_examples([p["warn"] for p in parts], "kind", pl.String)
    issues = _set_aside_issues(scan, sa) + _warnings(scan, unknown, warn)
    return sa, unknown.select("touchpoint", "rows"), issues


def _merge_examples(frames: Sequence[pl.DataFrame], key: str, dtype: pl.DataType) -> pl.DataFrame:
    """Add ``rows`` and merge ``examples`` (first rows) of per-part frames by ``key``."""
    if not frames:
        schema = {key: dtype, "rows": pl.Int64, "examples": pl.List(pl.UInt32)}
        return pl.DataFrame(schema=schema)
    return (
        pl.concat(frames)
        .group_by(key)
        .agg(pl.col("rows").sum(), pl.col("examples").explode())
        .with_columns(pl.col("examples").list.sort().list.head(_EXAMPLES))
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
