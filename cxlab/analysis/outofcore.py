"""Out-of-core analysis: one client's journey tables from its files, in bounded memory.

For logs too large to hold comfortably in memory (100M events and more), :func:`analyze_client`
gives the per-client journey tables without ever materialising the whole log: the same numbers
as :func:`cxlab.io.client.load_client` followed by the in-memory analyses, with the memory of
about 1/P of the log.

How it works (the classic external hash partitioning)
-----------------------------------------------------
1. **Scan and partition** (:mod:`cxlab.io.outofcore`): the events file is scanned lazily,
   mapped, cast and flagged with the loader's own rules (:func:`~cxlab.io.outofcore.scan_events`),
   then one streaming pass writes it into P Parquet parts by a hash of ``customer_id``
   (:func:`~cxlab.io.outofcore.partition_events`), so every customer's events land in one part.
   P comes from the row count (``rows_per_partition``, default 4M rows) or the ``partitions``
   parameter.
2. **Per part, in memory** (only one part resident): the part's checks and loaded events
   (:func:`~cxlab.io.outofcore.read_part`: set-aside rows, ``duplicate_event``, warnings), then
   :func:`~cxlab.contract.prepare.prepare_events`, :func:`~cxlab.analysis.journey.assign_stages`,
   :func:`~cxlab.analysis.journey.customer_journeys`, :func:`~cxlab.analysis.journey.stage_transitions`,
   :func:`~cxlab.analysis.heatmap.touchpoint_heatmap` and the touchpoint transitions, with the
   client's journey map and purchase touchpoints.
3. **Combine**: customers never span parts, so per-customer rows are concatenated and every
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
import shutil
import tempfile
import time
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
from cxlab.contract.client_config import ClientConfig
from cxlab.contract.prepare import CUSTOMER_CODE, SEQUENCE, prepare_events
from cxlab.contract.schema import STAGE_DTYPE
from cxlab.contract.validation import Issue, TableCounts, ValidationReport
from cxlab.errors import ParameterError
from cxlab.io.outofcore import (
    ROWS_PER_PARTITION,
    EventScan,
    choose_partitions,
    combine_checks,
    partition_events,
    read_part,
    scan_events,
)

__all__ = ["OutOfCoreResult", "analyze_client"]


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


def _empty_parts() -> dict[str, list]:
    names = ("customers", "cells", "stages", "stage_transitions", "transitions", "checks")
    return {k: [] for k in names}


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
        P, the number of customer-hash parts. Default: :func:`~cxlab.io.outofcore.choose_partitions` of the row
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
        As :func:`cxlab.io.outofcore.scan_events`.
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
        files, end = partition_events(scan, n_parts, parts_dir)
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


def _analyse_parts(
    scan: EventScan,
    files: list[list[Path]],
    end: dt.datetime | None,
    out_dir: str | Path | None,
    progress: bool,
) -> tuple[dict[str, list[pl.DataFrame]], Path | None]:
    """Each part in memory in turn: its checks (``acc["checks"]``) and analyses (``acc``);
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
        tqdm(files, desc=f"{cfg.slug}: parts", unit="part", disable=not progress)
    ):
        ev, checks = read_part(scan, fs)
        acc["checks"].append(checks)
        if ev.height == 0:
            continue
        part = _analyse_part(ev, cfg, end)
        del ev
        if cust_dir is not None:
            part.pop("customers").write_parquet(cust_dir / f"part-{k:05d}.parquet")
        for name, frame in part.items():
            acc[name].append(frame)
    return acc, cust_dir


def _combine(
    scan: EventScan,
    acc: dict[str, list],
    n_parts: int,
    input_rows: int,
    cust_dir: Path | None,
) -> OutOfCoreResult:
    sa, unknown, issues = combine_checks(scan, acc["checks"])
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
