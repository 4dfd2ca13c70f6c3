"""A loaded client: its config, its three canonical tables and what loading them found.

:func:`load_client` reads ``client.toml`` in a client folder, loads every table it names with
:mod:`cxlab.io.loaders`, adds the cross-table warnings (events and feedback of customers missing
from the customers table) and returns a :class:`Client`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cxlab.contract.client_config import ClientConfig, read_client_config
from cxlab.contract.prepare import customer_keys
from cxlab.contract.schema import SOURCE_ROW
from cxlab.contract.validation import Issue, ValidationReport
from cxlab.errors import DataError
from cxlab.io.loaders import (
    LoadResult,
    empty_table,
    load_customers,
    load_events,
    load_feedback,
)
from cxlab.io.rules import example_rows

__all__ = ["Client", "check_losses", "load_client"]

_EXAMPLES = 5


@dataclass(frozen=True)
class Client:
    """One client's data, loaded and validated. Build it with :func:`load_client`.

    Attributes
    ----------
    config : ClientConfig
        The parsed ``client.toml``.
    events, feedback, customers : pl.DataFrame
        Canonical tables; feedback and customers are empty frames with the canonical schema
        when the client has none.
    set_aside : dict of str to pl.DataFrame
        Per table, every row not loaded, with ``source_row``, ``reason`` and ``column``.
    validation : ValidationReport
        Counts, set-aside reasons and warnings.
    """

    config: ClientConfig
    events: pl.DataFrame
    feedback: pl.DataFrame
    customers: pl.DataFrame
    set_aside: dict[str, pl.DataFrame] = field(default_factory=dict)
    validation: ValidationReport = field(default_factory=lambda: ValidationReport(""))

    @property
    def name(self) -> str:
        """The display name (``name`` in ``client.toml``)."""
        return self.config.name

    @property
    def slug(self) -> str:
        """The folder name: the client's key in batches and reports."""
        return self.config.slug

    @property
    def period(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """First and last event timestamp (UTC); ``(None, None)`` without events."""
        if self.events.height == 0:
            return (None, None)
        row = self.events.select(
            pl.col("timestamp").min().alias("a"), pl.col("timestamp").max().alias("b")
        ).row(0)
        return (row[0], row[1])

    def __repr__(self) -> str:
        first, last = self.period
        span = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" if first is not None else "no events"
        tables = ", ".join(
            f"{t.table} {t.loaded:,}" + (f" (+{t.set_aside:,} set aside)" if t.set_aside else "")
            for t in self.validation.tables
        )
        warn = len(self.validation.warnings)
        return (
            f"<Client {self.slug!r} ({self.name}): {tables}; events {span}; "
            f"{warn} warning{'' if warn == 1 else 's'}>"
        )


def _unknown_customers(
    frame: pl.DataFrame, customers: pl.DataFrame, table: str, file: str, source_column: str
) -> Issue | None:
    # Compare the distinct customers (100k), not every event (10M); the loader knows them.
    # A null id matches no customer (as in a join), so its rows count as unknown.
    unknown = (
        pl.DataFrame([customer_keys(frame).alias("customer_id")])
        .join(customers.select("customer_id"), on="customer_id", how="anti")
        .get_column("customer_id")
    )
    if unknown.len() == 0:
        return None
    missing = (
        frame.lazy()
        .filter(pl.col("customer_id").is_in(unknown.implode(), nulls_equal=True))
        .select(SOURCE_ROW, "customer_id")
        .collect()
    )
    people = missing.get_column("customer_id").n_unique()
    examples = tuple(example_rows(missing.get_column(SOURCE_ROW), _EXAMPLES))
    where = f"column {source_column!r}" + (
        "" if source_column == "customer_id" else " (-> customer_id)"
    )
    rows = f"{missing.height:,} row" + ("" if missing.height == 1 else "s")
    people_s = f"{people:,} customer" + ("" if people == 1 else "s")
    msg = (
        f"{file}, {where}: {rows} ({people_s}) belong to customers not in the customers "
        f"table. The rows are kept; segment and churn analyses "
        f"will not know these customers. Check that both exports cover the same customers."
    )
    return Issue(
        table, file, "warning", "unknown_customer", "customer_id", missing.height, examples, msg
    )


def _source_name(mapping: dict[str, str], canonical: str) -> str:
    return next((src for src, can in mapping.items() if can == canonical), canonical)


def check_losses(client: Client) -> None:
    """Refuse a client whose load left a table with no rows, or the events with less than half.

    Such a client would get a report about almost nothing. ``cxlab validate`` calls it and
    exits 1 with the message: the table, how many rows were lost, the most common set-aside
    reason and its fix; the report notebook calls it right after loading, so ``cxlab
    report`` / ``cxlab batch`` fail that client with the same message (the batch goes on
    with the others). ``[validation] losses = "allow"`` in ``client.toml`` turns the refusal
    off for a client whose exports legitimately hold mostly rows to set aside.

    Raises
    ------
    DataError
        A table (whose file had rows) lost every row, or the events lost more than half.

    Examples
    --------
    >>> from cxlab.config import SAMPLE_DIR
    >>> check_losses(load_client(SAMPLE_DIR / "bookshop"))  # doctest: +SKIP
    """
    if client.config.losses == "allow":
        return
    for t in client.validation.tables:
        lost, n = t.set_aside, t.input_rows
        if lost == 0 or not (t.loaded == 0 or (t.table == "events" and lost > t.loaded)):
            continue
        top = max(
            (
                i
                for i in client.validation.issues
                if i.severity == "set_aside" and i.table == t.table
            ),
            key=lambda i: i.rows,
        )
        share = "every" if t.loaded == 0 else "most"
        raise DataError(
            f"{t.file}: {share} {t.table} row was set aside ({lost:,} of {n:,}; "
            f"{t.loaded:,} left), so an analysis would describe almost nothing. The main "
            f"reason, {top.rows:,} rows: {top.message}"
            + (
                _START_FIX.format(folder=client.config.folder.name)
                if top.reason == "before_start"
                else ""
            )
            + _ALLOW_FIX.format(folder=client.config.folder.name)
        )


_START_FIX = (
    "\n\nTo keep every old event, remove the start_date line from "
    "{folder}/client.toml (there is no lower bound then), or set an earlier date, e.g.:"
    "\n\n    start_date = 1990-01-01"
)
_ALLOW_FIX = (
    "\n\nIf this client's exports legitimately hold mostly rows to set aside, allow it in "
    '{folder}/client.toml:\n\n    [validation]\n    losses = "allow"'
)


def _load_tables(config: ClientConfig, strict: bool, prepare: bool) -> dict[str, LoadResult]:
    """Each table ``client.toml`` names, loaded as the loader returns it (events in file order,
    or prepared with ``prepare``)."""
    results: dict[str, LoadResult] = {}
    common = {
        "strict": strict,
        "separator": config.separator,
        "timestamp_formats": config.timestamp_formats,
    }
    timed = {"timezone": config.timezone, "start_date": config.start_date, "as_of": config.as_of}
    path = config.path_of("events")
    if path is not None:  # a survey-only client has none: its events table is empty
        results["events"] = load_events(
            path,
            config.columns.get("events"),
            journey_map=config.journey_map,
            source=config.source_spec("events"),
            duplicate_events=config.duplicate_events,
            prepare=prepare,
            **timed,
            **common,
        )
    path = config.path_of("feedback")
    if path is not None:
        results["feedback"] = load_feedback(
            path,
            config.columns.get("feedback"),
            optional=True,
            source=config.source_spec("feedback"),
            questions=config.questions,
            **timed,
            **common,
        )
    path = config.path_of("customers")
    if path is not None:
        results["customers"] = load_customers(
            path,
            config.columns.get("customers"),
            optional=True,
            source=config.source_spec("customers"),
            **common,
        )
    return results


def _cross_table_issues(config: ClientConfig, results: dict[str, LoadResult]) -> list[Issue]:
    """``unknown_customer`` warnings: events and feedback rows of customers not in customers."""
    if "customers" not in results:
        return []
    issues = []
    for table in ("events", "feedback"):
        if table in results:
            source = _source_name(config.columns.get(table, {}), "customer_id")
            issue = _unknown_customers(
                results[table].frame,
                results["customers"].frame,
                table,
                results[table].file.name,
                source,
            )
            if issue is not None:
                issues.append(issue)
    return issues


def load_client(folder: str | Path, *, strict: bool = False, prepare: bool = False) -> Client:
    """Load and validate the client in ``folder`` (which holds ``client.toml``).

    Parameters
    ----------
    folder : str or Path
        The client folder.
    strict : bool
        Raise :class:`~cxlab.errors.DataError` on the first row that would be set aside.
    prepare : bool
        Return the events prepared now rather than on first use (:func:`cxlab.events.as_events`
        prepares them then): :func:`cxlab.contract.prepare.prepare_events` (sorted
        by customer and time, with integer customer codes) instead of in file order. Every
        analysis gives the same numbers on them, faster, and the loader gathers the checked
        rows straight into that order (no file-order copy is made), so a large log is held in
        memory once. Use it for large logs.

    Returns
    -------
    Client

    Raises
    ------
    ConfigError
        ``client.toml`` is missing or wrong.
    DataError
        A data file is missing, unreadable or lacks a required column (or, in strict mode,
        has a row that would be set aside). A load that sets aside every row of a table, or
        most events, is returned as it is; :func:`check_losses` refuses it.

    Examples
    --------
    >>> from cxlab.config import SAMPLE_DIR
    >>> client = load_client(SAMPLE_DIR / "bookshop")  # doctest: +SKIP
    >>> print(client.validation.one_line())  # doctest: +SKIP
    bookshop: events 30,512 loaded, 14 set aside (3 reasons); ...
    """
    config = read_client_config(folder)
    # prepare: the loader gathers the events in customer order itself (no file-order copy)
    results = _load_tables(config, strict, prepare)
    frames = {
        t: (results[t].frame if t in results else empty_table(t))
        for t in ("events", "feedback", "customers")
    }
    set_aside = {t: r.set_aside for t, r in results.items()}
    issues = [i for r in results.values() for i in r.issues] + _cross_table_issues(config, results)
    report = ValidationReport(config.slug, [r.counts for r in results.values()], issues)
    return Client(
        config=config,
        events=frames["events"],
        feedback=frames["feedback"],
        customers=frames["customers"],
        set_aside=set_aside,
        validation=report,
    )
