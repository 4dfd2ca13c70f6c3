"""The loader's per-column rules and their messages: one public home for every reader.

How a raw source value becomes a canonical value, and when its row is set aside:

* :func:`tidy_probe` / :func:`tidy` -- text cells stripped, blank and placeholder cells
  (:data:`PLACEHOLDERS`) read as missing, only in the columns that need it;
* :func:`column_checks` -- per canonical column, the cast value and the set-aside flags
  (``null_customer_id``, ``unparsable_timestamp``, ``missing_touchpoint``, ``missing_value``,
  ``unparsable_value``, then on cast values ``negative_revenue``, ``unknown_survey``,
  ``score_out_of_range``, ``before_start``, ``future_timestamp``);
* :data:`WHAT` / :data:`FIX` -- what each set-aside reason means and how to fix it, in the
  words of every message; :func:`col_label` names a column as the user mapped it;
* :func:`blank_line`, :func:`blank_rows`, :func:`blank_lines_issue` -- blank lines of a
  delimited file; :func:`binary_error`, :func:`binary_as_text` -- binary cells;
  :func:`as_utc` -- ``start_date`` / ``as_of`` in the client's time zone.

:mod:`cxlab.io.loaders` (in memory) and :mod:`cxlab.io.outofcore` (streaming, by partition)
both build their frames from these expressions, so a row is set aside for the same reason
with the same message whichever path loads it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cxlab.contract.questions import Question
from cxlab.contract.schema import (
    SOURCE_ROW,
    SURVEY_SCALES,
    SURVEYS,
    TIMESTAMP_DTYPE,
    TableSchema,
)
from cxlab.contract.validation import REDACTED, Issue
from cxlab.errors import DataError
from cxlab.io.surveys import feedback_checks
from cxlab.pii import looks_like_event_name

__all__ = [
    "EXAMPLES",
    "example_rows",
    "OPTIONAL_ABSENT_OK",
    "TRUE_WORDS",
    "FALSE_WORDS",
    "PLACEHOLDERS",
    "WHAT",
    "FIX",
    "VALUE_EXAMPLES",
    "tidy_probe",
    "tidy",
    "blank_line",
    "blank_rows",
    "blank_lines_issue",
    "binary_error",
    "binary_as_text",
    "cast_value_checks",
    "column_checks",
    "as_utc",
    "col_label",
    "mixed_timezones_issue",
    "dst_gap_issue",
    "unknown_touchpoints_issue",
]

#: Rows quoted as examples in a message.
EXAMPLES = 5


def example_rows(rows: pl.Series, k: int = EXAMPLES) -> list:
    """The ``k`` first row numbers of ``rows`` (``rows.sort().head(k)``, nulls first), found
    without sorting every row: on 5.7M unknown-touchpoint rows 0.02 s against 0.18 s.

    Examples
    --------
    >>> example_rows(pl.Series([9, 4, None, 7, 1]), 3)
    [None, 1, 4]
    """
    nulls = min(rows.null_count(), k)
    return [None] * nulls + rows.drop_nulls().bottom_k(k - nulls).sort().to_list()


#: Optional canonical columns that may be absent from a file without a message.
OPTIONAL_ABSENT_OK = {"session_id"}
#: Words read as true / false in a boolean column (any case).
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
_ID = "customer_id"


def _blank_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_bytes() > 0).then(e)


def _untidy(e: pl.Expr) -> pl.Expr:
    """Text with a leading/trailing space, or empty: needs stripping and blank->null.

    Only spaces are looked for (three cheap passes); when a column has one, the whole column is
    stripped of all surrounding whitespace.
    """
    return (e.str.len_bytes() == 0) | e.str.starts_with(" ") | e.str.ends_with(" ")


#: Text that spreadsheet and database exports write for "no value"; in a text file (CSV, TSV,
#: NDJSON) a canonical column holding exactly one of these reads as empty.
PLACEHOLDERS = ("NULL", "null", "Null", "N/A", "n/a", "#N/A", "NaN", "nan", "None", "-")


def tidy_probe(s: str, text_file: bool) -> list[pl.Expr]:
    """One-row checks of text column ``s``: what :func:`tidy` must do to it.

    Always: untidy (surrounding spaces, empty). Text files only (Parquet has real nulls and no
    spreadsheet formulas): Excel's ``="00123"`` wrapper and the :data:`PLACEHOLDERS`.
    """
    e = pl.col(s)
    out = [_untidy(e).any().alias(s)]
    if text_file:
        out += [
            e.str.starts_with('="').any().alias(f"{s}\x00excel"),
            e.is_in(PLACEHOLDERS).any().alias(f"{s}\x00null"),
        ]
    return out


def tidy(s: str, needs: Mapping[str, bool]) -> pl.Expr:
    """Column ``s`` stripped, unwrapped and with placeholders as null, as far as ``needs`` says."""
    e = pl.col(s)
    strip, excel, nulls = needs.get(s), needs.get(f"{s}\x00excel"), needs.get(f"{s}\x00null")
    if strip:
        e = e.str.strip_chars()
    if excel:  # ="00123" is how Excel is told to keep leading zeros: the value is 00123
        wrapped = e.str.starts_with('="') & e.str.ends_with('"') & (e.str.len_bytes() >= 3)
        e = (
            pl.when(wrapped)
            .then(e.str.strip_prefix('="').str.strip_suffix('"').str.strip_chars())
            .otherwise(e)
        )
    if nulls:
        e = pl.when(~e.is_in(PLACEHOLDERS)).then(e)
    return _blank_to_null(e) if strip or excel else e


def _empty_text(c: str) -> pl.Expr:
    return pl.col(c).is_null() | (pl.col(c).str.strip_chars().str.len_bytes() == 0)


def blank_line(source_cols: Sequence[str]) -> pl.Expr:
    """True for a delimited-file row with no value in any column (a blank line)."""
    return pl.all_horizontal([_empty_text(c) for c in source_cols])


def blank_rows(data: pl.DataFrame, source_cols: Sequence[str]) -> pl.Series | None:
    """``source_row`` of delimited-file rows with no value in any column (blank lines); None if none.

    The first column is checked on every row, the others only where it is blank.
    """
    rows = (
        data.lazy()
        .filter(_empty_text(source_cols[0]))
        .filter(blank_line(source_cols))
        .select(SOURCE_ROW)
        .collect()
        .to_series()
    )
    return rows if rows.len() else None


def blank_lines_issue(table: str, label: str, n: int, examples: Sequence[int]) -> Issue:
    """The warning for ``n`` blank lines skipped (not counted as rows)."""
    msg = (
        f"{label}: {n:,} blank {'line was' if n == 1 else 'lines were'} skipped (no value in "
        f"any column); they are not rows and are not counted. Nothing to fix, or leave them "
        f"out of the export."
    )
    return Issue(table, label, "warning", "blank_lines", "all", n, tuple(examples[:EXAMPLES]), msg)


def binary_error(path: Path, canonical: str, src: str, row: int | None) -> DataError:
    where = f"row {row} holds" if row is not None else "holds"
    return DataError(
        f"{path}, {col_label(canonical, src)}: {where} bytes that are not UTF-8 text. cxlab reads "
        f"{canonical!r} as text; export the column as a UTF-8 string column (not binary), or fix "
        f"the values at the source."
    )


def binary_as_text(
    data: pl.DataFrame, path: Path, resolved: Mapping[str, str], types: Mapping[str, pl.DataType]
) -> tuple[pl.DataFrame, dict[str, pl.DataType]]:
    """Binary canonical columns (Parquet byte strings) as text; a DataError if one is not UTF-8."""
    types = dict(types)
    for canonical, src in resolved.items():
        if types[src] != pl.Binary:
            continue
        try:
            data = data.with_columns(pl.col(src).cast(pl.String))
        except pl.exceptions.PolarsError:
            # Error path only: find the first value that is not UTF-8.
            values = data.get_column(src).to_list()
            row = next(
                i for i, v in enumerate(values, start=1) if v is not None and not _is_utf8(v)
            )
            raise binary_error(path, canonical, src, row) from None
        types[src] = pl.String()
    return data, types


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _text(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    # String sources arrive already stripped with blanks as null (see load_table).
    if dtype == pl.String:
        return raw
    if dtype.is_float():
        # A float id (an integer column that a null turned into floats) reads as the integer
        # (1.0 -> "1", as in a table of integer ids); NaN and infinities are missing values.
        whole = (raw == raw.floor()) & (raw.abs() < 2.0**53)
        return (
            pl.when(raw.is_finite() & whole)
            .then(raw.cast(pl.Int64, strict=False).cast(pl.String))
            .when(raw.is_finite())
            .then(raw.cast(pl.String))
        )
    return raw.cast(pl.String)


def _present(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_float():
        return raw.is_not_null() & ~raw.is_nan()
    return raw.is_not_null()


# --------------------------------------------------------------------------- timestamps
@dataclass
class _Ts:
    value: pl.Expr  # Datetime("us", "UTC")
    aware: pl.Expr | None  # value came with an offset (strings only)
    naive: pl.Expr | None  # value came without one (strings only)
    gap: pl.Expr  # local time in a DST gap


def _localize(naive: pl.Expr, tz: str) -> tuple[pl.Expr, pl.Expr]:
    """Naive local datetimes in ``tz`` -> UTC, and a flag for times in a DST gap."""
    if tz == "UTC":
        return naive.dt.replace_time_zone("UTC"), pl.lit(False)
    local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    # In a gap: use the offset in force three hours earlier (before the change), as zoneinfo.
    shift = dt.timedelta(hours=3)
    before = (naive - shift).dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    gap = naive.is_not_null() & local.is_null()
    value = pl.coalesce(
        local.dt.convert_time_zone("UTC"),
        pl.when(gap).then(before.dt.convert_time_zone("UTC") + shift),
    )
    return value, gap


def _parse_datetime_text(s: pl.Expr, formats: Sequence[str]) -> tuple[pl.Expr, pl.Expr]:
    """(aware UTC, naive) datetimes parsed from stripped text; null where no format matches."""
    iso = s.str.replace(r"^(\d{4}-\d{2}-\d{2})[Tt]", "$1 ").str.replace(r"(\d)[Zz]$", "${1}+00:00")
    kw = {"strict": False, "time_unit": "us"}
    aware = [
        iso.str.to_datetime("%Y-%m-%d %H:%M:%S%.f%z", time_zone="UTC", **kw),
        iso.str.to_datetime("%Y-%m-%d %H:%M%z", time_zone="UTC", **kw),
    ]
    naive = [
        iso.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", **kw),
        iso.str.to_datetime("%Y-%m-%d %H:%M", **kw),
        iso.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")),
    ]
    for fmt in formats:
        if "%z" in fmt or "%:z" in fmt or "%#z" in fmt:
            aware.append(s.str.to_datetime(fmt, time_zone="UTC", **kw))
        else:
            naive.append(s.str.to_datetime(fmt, **kw))
    return pl.coalesce(aware), pl.coalesce(naive)


def _timestamp(raw: pl.Expr, dtype: pl.DataType, tz: str, formats: Sequence[str]) -> _Ts:
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            value, gap = _localize(raw.dt.cast_time_unit("us"), tz)
            return _Ts(value, None, None, gap)
        return _Ts(
            raw.dt.convert_time_zone("UTC").dt.cast_time_unit("us"), None, None, pl.lit(False)
        )
    if dtype == pl.Date:
        value, gap = _localize(raw.cast(pl.Datetime("us")), tz)
        return _Ts(value, None, None, gap)
    s = _text(raw, dtype)
    aware, naive = _parse_datetime_text(s, formats)
    local, gap = _localize(naive, tz)
    is_aware = aware.is_not_null()
    is_naive = aware.is_null() & naive.is_not_null()
    return _Ts(pl.coalesce(aware, local), is_aware, is_naive, is_naive & gap)


def _date(raw: pl.Expr, dtype: pl.DataType, formats: Sequence[str]) -> pl.Expr:
    if dtype == pl.Date:
        return raw
    if isinstance(dtype, pl.Datetime):
        return raw.dt.date()
    s = _text(raw, dtype)
    aware, naive = _parse_datetime_text(s, formats)
    return pl.coalesce(naive.dt.date(), aware.dt.date())


def _boolean(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Boolean:
        return raw
    if dtype.is_numeric():
        return pl.when(raw == 1).then(True).when(raw == 0).then(False)
    mapping = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
    return (
        _text(raw, dtype)
        .str.to_lowercase()
        .replace_strict(mapping, default=None, return_dtype=pl.Boolean)
    )


def _number(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_numeric():
        e = raw.cast(pl.Float64, strict=False)
        return pl.when(e.is_finite()).then(e)
    e = _text(raw, dtype).cast(pl.Float64, strict=False)
    return pl.when(e == 0).then(0.0).when(e.is_finite()).then(e)  # text "-0" reads as 0.0


def as_utc(value: dt.date | dt.datetime | str | None, tz: str, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise DataError(
                f"{name} = {value!r} is not an ISO date or datetime like 2024-01-31."
            ) from None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zoneinfo.ZoneInfo(tz))
    return value.astimezone(dt.UTC)


# --------------------------------------------------------------------------- messages
#: What each set-aside reason means, as the messages say it (``{column}`` filled in).
WHAT = {
    "null_customer_id": "no customer id",
    "unparsable_timestamp": "a time that is empty or not ISO 8601 nor one of timestamp_formats",
    "missing_touchpoint": "no touchpoint",
    "missing_value": "an empty required value",
    "unparsable_value": "a value that cannot be read as {dtype}",
    "negative_revenue": "a negative revenue",
    "unknown_survey": "a survey other than " + ", ".join(SURVEYS),
    "score_out_of_range": "a score outside its survey's scale ("
    + ", ".join(f"{k} {lo}–{hi}" for k, (lo, hi) in SURVEY_SCALES.items())
    + ")",
    "before_start": "a time before start_date {start}",
    "future_timestamp": "a time after as_of {as_of}",
    "duplicate_event": "the same values on every canonical column as an earlier row (the first is kept)",
    "duplicate_customer": "a customer id already seen in an earlier row (the first is kept)",
}
#: How to fix each set-aside reason, the sentence every message ends with.
FIX = {
    "null_customer_id": "Fill the id, or leave the rows out of the export.",
    "unparsable_timestamp": "Use ISO 8601 (2024-01-31 14:05:00, optionally +01:00) or add the "
    "format to timestamp_formats in client.toml.",
    "missing_touchpoint": "Fill the touchpoint column.",
    "missing_value": "Fill the column.",
    "unparsable_value": "Fix the values in the file.",
    "negative_revenue": "Record refunds as their own touchpoint with a positive amount.",
    "unknown_survey": "Use nps, csat or ces.",
    "score_out_of_range": "Check the survey column and the scale of the export.",
    "before_start": "Check the clock of the export, or lower start_date in client.toml.",
    "future_timestamp": "Check the timezone and clock of the export, or set as_of in client.toml.",
    "duplicate_event": "Usually harmless: the export repeated rows.",
    "duplicate_customer": "Keep one row per customer in the customers file.",
}
#: Reasons whose message quotes example values of the column (never customer ids).
VALUE_EXAMPLES = {
    "unparsable_timestamp",
    "unparsable_value",
    "negative_revenue",
    "unknown_survey",
    "score_out_of_range",
}


def col_label(canonical: str, source: str) -> str:
    return f"column {source!r}" + (f" (-> {canonical})" if source != canonical else "")


# --------------------------------------------------------------------------- the load
def column_checks(
    table: str,
    schema: TableSchema,
    resolved: Mapping[str, str],
    raw: Mapping[str, pl.Expr],
    rdt: Mapping[str, pl.DataType],
    *,
    timezone: str,
    formats: Sequence[str],
    start_utc: dt.datetime | None,
    as_of_utc: dt.datetime,
    questions: Sequence[Question] | None = None,
) -> tuple[
    dict[str, pl.Expr], list[tuple[str, str, pl.Expr]], list[tuple[str, str, pl.Expr]], _Ts | None
]:
    """The canonical value of every column and the set-aside checks of ``table``.

    ``raw`` holds each resolved column's source expression (stripped when untidy) and ``rdt``
    its source dtype. Returns the value expressions, the flags on source values (first stage),
    the flags on cast canonical columns (``later``, second stage) and the timestamp parse
    (its ``gap`` / ``aware`` / ``naive`` warning expressions), so the in-memory loader and
    :mod:`cxlab.io.outofcore` apply exactly the same rules.
    """
    values: dict[str, pl.Expr] = {}
    flags: list[tuple[str, str, pl.Expr]] = []  # (reason, canonical column, flag)
    ts: _Ts | None = None

    for col in schema.columns:
        name = col.name
        if name not in resolved:
            if name == "question" and "survey" in values:  # the implied questions: the survey
                values[name] = values["survey"]
            elif name not in OPTIONAL_ABSENT_OK:
                values[name] = pl.lit(None, dtype=col.dtype)
            continue
        r, d = raw[name], rdt[name]
        if name == "timestamp":
            ts = _timestamp(r, d, timezone, formats)
            values[name] = ts.value
            flags.append(("unparsable_timestamp", name, ts.value.is_null()))
        elif col.dtype == pl.String:
            v = _text(r, d)
            blank = v.is_null()
            if name == "survey":
                v = v.str.to_lowercase()
            values[name] = v
            if name == _ID:
                flags.append(("null_customer_id", name, blank))
            elif name == "touchpoint" and table == "events":
                flags.append(("missing_touchpoint", name, blank))
            elif col.required:
                flags.append(("missing_value", name, blank))
        elif name == "revenue":
            v = _number(r, d)
            values[name] = v
            flags.append(("unparsable_value", name, _present(r, d) & v.is_null()))
        elif name == "score":
            f = _number(r, d)
            # a whole number; a huge one (1e30) is clipped so that it is out of range, not an
            # integer overflow
            v = pl.when(f == f.floor()).then(f.clip(-1e15, 1e15)).cast(pl.Int64, strict=False)
            values[name] = v
            missing = ~_present(r, d)
            if "survey" in raw:  # a comment without a scored answer (cxlab.io.surveys): no score
                survey = raw["survey"].cast(pl.String).str.strip_chars().str.to_lowercase()
                missing = missing & (survey != "text").fill_null(True)
            flags.append(("missing_value", name, missing))
            flags.append(("unparsable_value", name, _present(r, d) & v.is_null()))
        elif col.dtype == pl.Date:
            v = _date(r, d, formats)
            values[name] = v
            flags.append(("unparsable_value", name, _present(r, d) & v.is_null()))
        elif col.dtype == pl.Boolean:
            v = _boolean(r, d)
            values[name] = v
            flags.append(("unparsable_value", name, _present(r, d) & v.is_null()))
        else:  # pragma: no cover - every canonical dtype is handled above
            values[name] = r.cast(col.dtype, strict=False)

    later = cast_value_checks(
        table, schema, resolved, questions=questions, start_utc=start_utc, as_of_utc=as_of_utc
    )
    return values, flags, later, ts


def cast_value_checks(
    table: str,
    schema: TableSchema,
    resolved: Mapping[str, str],
    *,
    questions: Sequence[Question] | None,
    start_utc: dt.datetime | None,
    as_of_utc: dt.datetime,
) -> list[tuple[str, str, pl.Expr]]:
    """The set-aside checks on cast canonical values (second stage of :func:`column_checks`).

    They refer to the canonical columns after the first stage: negative revenue, unknown
    survey or question and scores outside their scale, times before ``start_utc`` or after
    ``as_of_utc``.
    """
    later: list[tuple[str, str, pl.Expr]] = []
    if "revenue" in resolved:
        later.append(("negative_revenue", "revenue", pl.col("revenue") < 0))
    if table == "feedback":  # unknown survey or question, score outside its scale
        later.extend(feedback_checks(questions))
    if "timestamp" in schema.names:
        if start_utc is not None:
            later.append(
                (
                    "before_start",
                    "timestamp",
                    pl.col("timestamp") < pl.lit(start_utc, dtype=TIMESTAMP_DTYPE),
                )
            )
        later.append(
            (
                "future_timestamp",
                "timestamp",
                pl.col("timestamp") > pl.lit(as_of_utc, dtype=TIMESTAMP_DTYPE),
            )
        )
    return later


# --------------------------------------------------------------------------- warnings (rows kept)
def mixed_timezones_issue(
    table: str, label: str, source: str, n_aware: int, n_naive: int, tz: str, examples
) -> Issue:
    """Some times carry a UTC offset and some do not: the ones without were read in ``tz``."""
    msg = (
        f"{label}, {col_label('timestamp', source)}: {n_aware:,} times carry a UTC "
        f"offset and {n_naive:,} do not; the ones without were read in {tz}. "
        f"Export every time with its offset, or every time in local time."
    )
    return Issue(
        table, label, "warning", "mixed_timezones", "timestamp", n_naive, tuple(examples), msg
    )


def dst_gap_issue(table: str, label: str, source: str, n: int, tz: str, examples) -> Issue:
    """Local times the clock skipped (a daylight-saving gap of ``tz``)."""
    msg = (
        f"{label}, {col_label('timestamp', source)}: {n:,} local "
        f"times fall in a daylight-saving gap of {tz} (the clock skipped them); "
        f"they were read with the offset before the change. Check the export's timezone."
    )
    return Issue(
        table, label, "warning", "nonexistent_local_time", "timestamp", n, tuple(examples), msg
    )


def unknown_touchpoints_issue(
    table: str, label: str | None, source: str, pairs: tuple, rows: int, examples
) -> Issue:
    """Touchpoints the journey map does not know (``pairs``: (value, rows), most rows first).

    The message quotes the first 10 values; its redacted form (pseudonymised reports) hides
    the ones that could be personal data (an e-mail, a phone number).
    """
    more = f" and {len(pairs) - 10} more" if len(pairs) > 10 else ""
    where = f"{label}, " if label else ""

    def sentence(names: list[str]) -> str:
        shown = ", ".join(f"{t} ({c:,} rows)" for t, (_, c) in zip(names, pairs[:10], strict=False))
        return (
            f"{where}{col_label('touchpoint', source)}: {len(pairs)} touchpoint "
            f"{'value is' if len(pairs) == 1 else 'values are'} not in the journey map: {shown}{more}. "
            f"The rows are kept, without a stage; add them under [journey.map] in client.toml."
        )

    msg = sentence([repr(t[:40]) for t, _ in pairs[:10]])
    redacted = sentence([repr(t) if looks_like_event_name(t) else REDACTED for t, _ in pairs[:10]])
    return Issue(
        table,
        label,
        "warning",
        "unknown_touchpoint",
        "touchpoint",
        rows,
        tuple(examples),
        msg,
        pairs,
        redacted_message=redacted if redacted != msg else "",
    )
