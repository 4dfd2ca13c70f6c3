"""What loading a client did to its data: counts, rows set aside, warnings.

Loading never drops a row silently. Every row that cannot be used is *set aside* with a reason
code, and every oddity that keeps rows (an unknown touchpoint, a customer missing from the
customers table) is a *warning*. Both are :class:`Issue` records, collected with per-table
counts in a :class:`ValidationReport`.

For every table ``input rows == loaded + set aside`` holds. Issue examples are 1-based data row
numbers in the source file (``source_row``, row 1 is the first row after the header), never
customer identifiers: a report can be shared without leaking them. Messages for the analyst
quote a few offending values (``Values like 'abc'``); :meth:`ValidationReport.redacted` gives
the version without them that pseudonymised reports show.

Reason codes
------------
Set aside (the row is not analysed):

``null_customer_id``
    The customer identifier is empty.
``unparsable_timestamp``
    The time is empty or matches neither ISO 8601 nor a format in ``timestamp_formats``.
``missing_touchpoint``
    An event without a touchpoint.
``missing_value``
    Another required value is empty (events ``channel``, feedback ``survey`` or ``score``).
``unparsable_value``
    A value is present but cannot be read as its type (revenue ``"abc"``, score ``"x"``,
    signup date ``"soon"``, churned ``"maybe"``).
``negative_revenue``
    Revenue below zero.
``unknown_survey``
    A survey other than nps, csat or ces.
``score_out_of_range``
    A score outside its survey's scale (nps 0–10, csat 1–5, ces 1–7).
``before_start``
    A time before the client's ``start_date``.
``future_timestamp``
    A time after ``as_of`` (by default: when the data was loaded).
``duplicate_event``
    An event equal on every canonical column to an earlier event (the first is kept).
``duplicate_customer``
    A customer id already seen earlier in the customers table (the first is kept).

A row with several problems is counted once, under the first reason in this order.

Warnings (rows kept): ``unknown_touchpoint``, ``unknown_customer``, ``mixed_timezones``,
``nonexistent_local_time``, ``blank_lines`` (blank lines of a delimited file, skipped and not
counted as rows), ``empty_file`` (an optional file without data rows: an empty table), ``repeated_events``
(events equal on every canonical column to an earlier one, kept unless ``[validation]
duplicate_events = "drop"``), ``personal_columns`` (a survey export's personal-data
columns, such as Qualtrics' ``RecipientEmail``, left out: never loaded), ``blank_responses``
(responses of a one-column-per-question survey with no answer and no comment: no row, counted).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import polars as pl

from cxlab.contract.frames import as_lazy
from cxlab.errors import ParameterError
from cxlab.params import renamed

__all__ = [
    "Issue",
    "TableCounts",
    "ValidationReport",
    "SET_ASIDE_REASONS",
    "WARNING_REASONS",
    "REDACTED",
    "events_over_time",
    "partial_periods",
    "table_profile",
]

#: How a value left out of a redacted issue is shown.
REDACTED = "[hidden]"

#: Set-aside reason codes, in the order a row's first problem is chosen.
SET_ASIDE_REASONS: tuple[str, ...] = (
    "null_customer_id",
    "unparsable_timestamp",
    "missing_touchpoint",
    "missing_value",
    "unparsable_value",
    "negative_revenue",
    "unknown_survey",
    "score_out_of_range",
    "before_start",
    "future_timestamp",
    "duplicate_event",
    "duplicate_customer",
)
#: Warning reason codes: the rows are kept, the oddity is reported.
WARNING_REASONS: tuple[str, ...] = (
    "unknown_touchpoint",
    "unknown_customer",
    "mixed_timezones",
    "nonexistent_local_time",
    "blank_lines",
    "empty_file",
    "repeated_events",
    "personal_columns",
    "blank_responses",
)

_TABLE_ORDER = ("events", "feedback", "customers")


@dataclass(frozen=True)
class Issue:
    """One problem found while loading one table.

    Parameters
    ----------
    table : str
        Canonical table name (``events``, ``feedback``, ``customers``).
    file : str
        Name of the source file.
    severity : {"set_aside", "warning"}
        ``set_aside``: the rows are not loaded; ``warning``: the rows are loaded.
    reason : str
        Reason code (see the module docstring).
    column : str
        Canonical column concerned.
    rows : int
        Number of rows concerned.
    examples : tuple of int
        The first few ``source_row`` numbers concerned (never customer identifiers).
    message : str
        A sentence for people: file, column, what was found, what to do.
    values : tuple of (str, int)
        For value-level warnings (``unknown_touchpoint``): each value with its row count.
    redacted_message : str
        The same sentence without any value quoted from the input (``Values like 'x'`` left
        out, unknown touchpoint names that do not look like event names shown as
        ``[hidden]``); empty when ``message`` quotes no input value. What a pseudonymised
        report shows (:meth:`redacted`).
    """

    table: str
    file: str
    severity: Literal["set_aside", "warning"]
    reason: str
    column: str
    rows: int
    examples: tuple[int, ...]
    message: str
    values: tuple[tuple[str, int], ...] = ()
    redacted_message: str = ""

    def redacted(
        self,
        text: Callable[[str], str] | None = None,
        keep: Callable[[str], bool] | None = None,
    ) -> Issue:
        """This issue with no value quoted from the input: row numbers and counts stay.

        Parameters
        ----------
        text : callable, optional
            Applied to the message last (e.g. replace customer ids, mask PII).
        keep : callable, optional
            Which of ``values`` may be shown; the others become ``[hidden]`` (default: none).

        Examples
        --------
        >>> i = Issue("events", "e.csv", "set_aside", "unparsable_value", "revenue", 1, (7,),
        ...           "e.csv: 1 row has a bad revenue. Values like 'jo@x.io'. Fix it.",
        ...           redacted_message="e.csv: 1 row has a bad revenue. Fix it.")
        >>> i.redacted().message, i.redacted().examples
        ('e.csv: 1 row has a bad revenue. Fix it.', (7,))
        """
        message = self.redacted_message or self.message
        if text is not None:
            message = text(message)
        values = tuple((v if keep is not None and keep(v) else REDACTED, n) for v, n in self.values)
        return replace(self, message=message, values=values, redacted_message="")


@dataclass(frozen=True)
class TableCounts:
    """Row counts of one loaded table: ``input_rows == loaded + set_aside``."""

    table: str
    file: str
    input_rows: int
    loaded: int
    set_aside: int


def _n(x: int) -> str:
    return f"{x:,}"


def _plural_n(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class ValidationReport:
    """Counts, set-aside reasons and warnings of one client's load.

    Parameters
    ----------
    name : str
        Who the report is about (the client's slug).
    tables : sequence of TableCounts
        One entry per loaded table.
    issues : sequence of Issue
        Set-aside reasons and warnings.

    Examples
    --------
    >>> report = ValidationReport(
    ...     "demo",
    ...     [TableCounts("events", "events.csv", 10, 9, 1)],
    ...     [Issue("events", "events.csv", "set_aside", "null_customer_id", "customer_id", 1,
    ...            (4,), "events.csv, column 'customer_id': 1 row has no customer id.")],
    ... )
    >>> report.one_line()
    'demo: events 9 loaded, 1 set aside (1 reason); 0 warnings'
    >>> report.ok
    False
    """

    name: str
    tables: Sequence[TableCounts] = field(default_factory=tuple)
    issues: Sequence[Issue] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        order = {t: i for i, t in enumerate(_TABLE_ORDER)}
        reasons = {r: i for i, r in enumerate(SET_ASIDE_REASONS + WARNING_REASONS)}
        object.__setattr__(
            self, "tables", tuple(sorted(self.tables, key=lambda t: order.get(t.table, 99)))
        )
        object.__setattr__(
            self,
            "issues",
            tuple(
                sorted(
                    self.issues,
                    key=lambda i: (
                        i.severity != "set_aside",
                        order.get(i.table, 99),
                        reasons.get(i.reason, 99),
                        i.column,
                    ),
                )
            ),
        )

    # ------------------------------------------------------------------ data
    @property
    def ok(self) -> bool:
        """True when no row was set aside (warnings do not count)."""
        return all(t.set_aside == 0 for t in self.tables)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """The warning issues (rows kept)."""
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def set_aside_issues(self) -> tuple[Issue, ...]:
        """The set-aside issues (rows not loaded)."""
        return tuple(i for i in self.issues if i.severity == "set_aside")

    def counts(self) -> pl.DataFrame:
        """Per-table counts: table, file, input_rows, loaded, set_aside."""
        return pl.DataFrame(
            {
                "table": [t.table for t in self.tables],
                "file": [t.file for t in self.tables],
                "input_rows": [t.input_rows for t in self.tables],
                "loaded": [t.loaded for t in self.tables],
                "set_aside": [t.set_aside for t in self.tables],
            },
            schema={
                "table": pl.String,
                "file": pl.String,
                "input_rows": pl.Int64,
                "loaded": pl.Int64,
                "set_aside": pl.Int64,
            },
        )

    def to_frame(self) -> pl.DataFrame:
        """The issues as a tidy frame.

        Columns: table, file, severity (``set_aside`` | ``warning``), reason, column, rows,
        examples (list of source row numbers), message. Set-aside issues first.
        """
        return pl.DataFrame(
            {
                "table": [i.table for i in self.issues],
                "file": [i.file for i in self.issues],
                "severity": [i.severity for i in self.issues],
                "reason": [i.reason for i in self.issues],
                "column": [i.column for i in self.issues],
                "rows": [i.rows for i in self.issues],
                "examples": [list(i.examples) for i in self.issues],
                "message": [i.message for i in self.issues],
            },
            schema={
                "table": pl.String,
                "file": pl.String,
                "severity": pl.String,
                "reason": pl.String,
                "column": pl.String,
                "rows": pl.Int64,
                "examples": pl.List(pl.Int64),
                "message": pl.String,
            },
        )

    def merge(self, other: ValidationReport | Iterable[Issue]) -> ValidationReport:
        """A new report with the tables and issues of both (or with extra issues)."""
        if isinstance(other, ValidationReport):
            return ValidationReport(
                self.name, [*self.tables, *other.tables], [*self.issues, *other.issues]
            )
        return ValidationReport(self.name, self.tables, [*self.issues, *other])

    def redacted(
        self,
        text: Callable[[str], str] | None = None,
        keep: Callable[[str], bool] | None = None,
    ) -> ValidationReport:
        """The same report with no value quoted from the input (see :meth:`Issue.redacted`).

        A pseudonymised report shows this one: counts, reasons and example row numbers stay;
        ``Values like …`` examples are left out and unknown touchpoint names that look like
        personal data are shown as ``[hidden]``.
        """
        return ValidationReport(
            self.name, self.tables, [i.redacted(text, keep) for i in self.issues]
        )

    # ------------------------------------------------------------------ text
    def _table_phrase(self, t: TableCounts) -> str:
        reasons = {i.reason for i in self.set_aside_issues if i.table == t.table}
        phrase = f"{t.table} {_n(t.loaded)} loaded, {_n(t.set_aside)} set aside"
        if reasons:
            phrase += f" ({_plural(len(reasons), 'reason')})"
        return phrase

    def one_line(self) -> str:
        """One line per client, e.g. ``bookshop: events 30,512 loaded, 14 set aside (3 reasons); … ; 2 warnings``."""
        parts = [self._table_phrase(t) for t in self.tables]
        parts.append(_plural(len(self.warnings), "warning"))
        return f"{self.name}: " + "; ".join(parts)

    def summary(self) -> str:
        """A readable multi-line report: counts per table, then each issue with its message."""
        head = f"{self.name}: " + ("OK" if self.ok else "rows set aside")
        if self.warnings:
            head += ", " + _plural(len(self.warnings), "warning")
        lines = [head]
        for t in self.tables:
            lines.append(
                f"  {t.table:<9} {t.file}: {_n(t.input_rows)} rows read, {_n(t.loaded)} loaded, "
                f"{_n(t.set_aside)} set aside"
            )
            for i in self.issues:
                if i.table != t.table:
                    continue
                tag = "set aside" if i.severity == "set_aside" else "warning"
                ex = ", ".join(str(r) for r in i.examples)
                rows = "row" if len(i.examples) == 1 else "rows"
                lines.append(
                    f"    - [{tag}] {i.reason} ({_plural_n(i.rows, 'row')}; e.g. {rows} {ex}): {i.message}"
                )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<ValidationReport {self.one_line()}>"

    def _repr_html_(self) -> str:
        import html  # here: loading a client (no notebook) need not import it

        e = html.escape
        out = [
            "<div class='cxlab-validation'>",
            f"<h4>Validation: {e(self.name)} — {'OK' if self.ok else 'rows set aside'}</h4>",
            "<table><thead><tr><th>table</th><th>file</th><th>rows read</th><th>loaded</th>"
            "<th>set aside</th></tr></thead><tbody>",
        ]
        for t in self.tables:
            out.append(
                f"<tr><td>{e(t.table)}</td><td>{e(t.file)}</td><td>{_n(t.input_rows)}</td>"
                f"<td>{_n(t.loaded)}</td><td>{_n(t.set_aside)}</td></tr>"
            )
        out.append("</tbody></table>")
        if self.issues:
            out.append(
                "<table><thead><tr><th>table</th><th>severity</th><th>reason</th><th>column</th>"
                "<th>rows</th><th>example rows</th><th>message</th></tr></thead><tbody>"
            )
            for i in self.issues:
                ex = ", ".join(str(int(r)) for r in i.examples)
                out.append(
                    f"<tr><td>{e(i.table)}</td><td>{e(i.severity)}</td><td>{e(i.reason)}</td>"
                    f"<td>{e(i.column)}</td><td>{_n(i.rows)}</td><td>{e(ex)}</td>"
                    f"<td>{e(i.message)}</td></tr>"
                )
            out.append("</tbody></table>")
        else:
            out.append("<p>No rows set aside, no warnings.</p>")
        out.append("</div>")
        return "\n".join(out)


# ----------------------------------------------------------------------------- profiling
_EVERY = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q"}
_HIDDEN = ("customer_id", "session_id")
#: Column names that look like personal data: their values are never shown either.
_PERSONAL = re.compile(r"(?i)e[-_ ]?mail|phone|mobile|address|post_?code|zip")


def events_over_time(
    events: pl.DataFrame | pl.LazyFrame,
    every: Literal["day", "week", "month", "quarter"] = "week",
    by: str = "channel",
    *,
    freq: Literal["day", "week"] | None = None,
) -> pl.DataFrame:
    """Count events per calendar bucket (UTC) and ``by`` value: a data-quality view.

    Buckets start where polars' ``dt.truncate(every)`` puts them (weeks on Monday, as ISO
    weeks), like every other ``every`` of cxlab (the glossary in CONTRIBUTING).

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events.
    every : {"day", "week", "month", "quarter"}, default "week"
        Bucket length.
    by : str
        Column to split the counts by (default ``channel``).
    freq : {"day", "week"}, optional
        Deprecated old name of ``every``; still works for one release with a
        DeprecationWarning.

    Returns
    -------
    pl.DataFrame
        ``period`` (Date, start of the bucket), ``by`` column, ``events``, ``customers``
        (distinct), sorted by period then ``by``.

    Examples
    --------
    >>> import datetime as dt
    >>> ev = pl.DataFrame({"customer_id": ["a", "b", "a"], "channel": ["web", "web", "app"],
    ...     "timestamp": [dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 9)]})
    >>> events_over_time(ev, "week").rows()
    [(datetime.date(2024, 1, 1), 'web', 2, 2), (datetime.date(2024, 1, 8), 'app', 1, 1)]
    """
    func = "events_over_time"
    every = renamed(freq, every, "freq", "every", func)  # type: ignore[assignment]
    if every not in _EVERY:
        raise ParameterError(
            f"The 'every' parameter of {func} must be one of {', '.join(map(repr, _EVERY))}. "
            f"Got {every!r} instead."
        )
    lf = as_lazy(events, "events", where=func)
    names = lf.collect_schema().names()
    if by not in names:
        raise ParameterError(
            f"The 'by' parameter of {func} must be a column of events ({', '.join(names)}). "
            f"Got {by!r} instead."
        )
    return (
        lf.group_by(
            pl.col("timestamp").dt.truncate(_EVERY[every]).dt.date().alias("period"), pl.col(by)
        )
        .agg(
            pl.len().cast(pl.Int64).alias("events"),
            pl.col("customer_id").n_unique().cast(pl.Int64).alias("customers"),
        )
        .sort("period", by, nulls_last=True)
        .collect()
    )


def partial_periods(
    first: dt.datetime, last: dt.datetime, every: Literal["day", "week", "month", "quarter"]
) -> tuple[dt.date | None, dt.date | None]:
    """The start of the first and of the last calendar bucket when the data covers only part of it.

    A bucket starts where :func:`events_over_time` puts it (weeks
    on Monday). The first bucket is partial when the data starts after its first day, the last
    one when the data ends before its last day; their counts are low because of the calendar,
    not because an export is missing.

    Parameters
    ----------
    first, last : datetime
        The first and last event's timestamp.
    every : {"day", "week", "month", "quarter"}
        The bucket length.

    Returns
    -------
    tuple
        ``(first bucket start or None, last bucket start or None)``: None where the bucket is
        fully covered.

    Examples
    --------
    Data from Tue 01 Oct 2024 to Tue 30 Sep 2025: the week of Mon 30 Sep 2024 lacks its Monday,
    the week of Mon 29 Sep 2025 has only its first two days; October and September are whole.

    >>> a, b = dt.datetime(2024, 10, 1, 8), dt.datetime(2025, 9, 30, 17)
    >>> partial_periods(a, b, "week")
    (datetime.date(2024, 9, 30), datetime.date(2025, 9, 29))
    >>> partial_periods(a, b, "month")
    (None, None)
    """
    stamps = pl.Series([first, last])
    starts = stamps.dt.truncate(_EVERY[every]).dt.date()
    ends = stamps.dt.truncate(_EVERY[every]).dt.offset_by(_EVERY[every]).dt.date()  # exclusive
    first_partial = first.date() > starts[0]
    last_partial = last.date() + dt.timedelta(days=1) < ends[1]
    return (starts[0] if first_partial else None, starts[1] if last_partial else None)


def table_profile(
    frame: pl.DataFrame | pl.LazyFrame,
    hide: Sequence[str] = _HIDDEN,
    n_examples: int = 3,
) -> pl.DataFrame:
    """One row per column: dtype, null share, distinct count and a few example values.

    Examples are the smallest distinct non-null values (deterministic); columns in ``hide``
    (identifiers by default) and columns whose name looks like personal data (email, phone,
    address, postcode) show ``"(hidden)"`` instead, so profiles can be shared.

    Examples
    --------
    >>> df = pl.DataFrame({"customer_id": ["a", "b", None], "channel": ["web", "app", "web"]})
    >>> table_profile(df).rows()
    [('customer_id', 'String', 0.3333333333333333, 2, '(hidden)'), ('channel', 'String', 0.0, 2, 'app, web')]
    """
    lf = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    schema = lf.collect_schema()
    cols = schema.names()
    hide = {c for c in cols if c in set(hide) or _PERSONAL.search(c)}
    if not cols:
        return pl.DataFrame(
            schema={
                "column": pl.String,
                "dtype": pl.String,
                "null_share": pl.Float64,
                "distinct": pl.Int64,
                "examples": pl.String,
            }
        )
    stats = (
        lf.select(
            [pl.len().alias("__n")]
            + [pl.col(c).null_count().alias(f"{i}__nulls") for i, c in enumerate(cols)]
            + [
                pl.col(c).drop_nulls().n_unique().alias(f"{i}__distinct")
                for i, c in enumerate(cols)
            ]
            + [
                pl.col(c)
                .drop_nulls()
                .unique()
                .sort()
                .head(n_examples)
                .cast(pl.String)
                .str.slice(0, 30)
                .str.join(", ")
                .alias(f"{i}__ex")
                for i, c in enumerate(cols)
                if c not in hide
            ]
        )
        .collect()
        .row(0, named=True)
    )
    n = stats["__n"]
    return pl.DataFrame(
        {
            "column": cols,
            "dtype": [str(schema[c]) for c in cols],
            "null_share": [stats[f"{i}__nulls"] / n if n else 0.0 for i in range(len(cols))],
            "distinct": [stats[f"{i}__distinct"] for i in range(len(cols))],
            "examples": [
                "(hidden)" if c in hide else stats[f"{i}__ex"] for i, c in enumerate(cols)
            ],
        },
        schema={
            "column": pl.String,
            "dtype": pl.String,
            "null_share": pl.Float64,
            "distinct": pl.Int64,
            "examples": pl.String,
        },
    )
