"""Reading and checking ``client.toml``: the one file that describes a client folder.

A client folder holds ``client.toml`` plus the client's data files. A complete example::

    name = "Pageturn Books"            # display name, shown in reports
    industry = "Online bookshop"
    timezone = "Europe/London"         # naive source timestamps are read in this zone
    timestamp_formats = ["%d/%m/%Y %H:%M"]   # tried after ISO 8601 (optional)
    start_date = 2020-01-01            # events before it are implausible (optional)
    currency = "GBP"                   # optional

    [files]                            # file names inside the folder
    events = "events.csv"
    feedback = "feedback.csv"
    customers = "customers.csv"
    # separator = ";"                  # optional, for delimited files that are not , or tab

    [columns.events]                   # source column -> canonical column
    "Customer Ref" = "customer_id"
    "Event Time" = "timestamp"

    [journey]
    use_default_map = true             # start from cxlab.contract.schema.DEFAULT_JOURNEY_MAP
    purchase_touchpoints = ["purchase"]

    [journey.map]                      # touchpoint -> stage, added to / overriding the default
    gift_card = "purchase"

    [churn]
    method = "column"                  # use customers.churned / churn_date, or
    # method = "inactivity"            # no event for `inactivity_days` before the data end
    inactivity_days = 90

Every key is declared once in :data:`KEYS` (its type, allowed values or range, default and a
one-line description), in the spirit of scikit-learn's ``_param_validation``. One validator
walks that table: an unknown key gets "Did you mean", a wrong type or value gets one message
template naming the key path (``churn.inactivity_days``), the type expected, the type found,
and a corrected line in valid TOML. ``[files]`` paths must stay inside the client folder
(after following links) unless ``allow_outside_folder = true``.

Adding a key
------------
1. Declare it in :data:`KEYS`: ``"my_key": Key(Integer(1, 10), 3, "what it does")`` inside
   the right :class:`Table` (add a ``Table`` for a new ``[section]``; a :class:`Mapping` for a
   table whose keys the user chooses, like ``[journey.map]``).
   A type is any object with ``expected`` (the phrase "must be ..." uses) and
   ``check(value)`` returning the checked value or raising ``_Wrong`` (with a corrected
   value when one is obvious); add a new one next to :class:`Text` if none fits.
2. Read the checked value from ``ClientConfig.settings["section.my_key"]`` (defaults filled
   in), or add a field to :class:`ClientConfig` when many modules need it.
3. Paste the output of :func:`key_reference` into the client.toml key reference of docs/guide/data.md
   (``tests/contract/test_client_config.py`` fails until that page lists every key).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import textwrap
import tomllib
import zoneinfo
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from cxlab.contract.schema import (
    DEFAULT_JOURNEY_MAP,
    DEFAULT_PURCHASE_TOUCHPOINTS,
    QUESTION_KINDS,
    STAGES,
    TABLES,
    SourceSpec,
)
from cxlab.errors import ConfigError, DataError, did_you_mean

__all__ = [
    "CONFIG_FILE",
    "KEYS",
    "Boolean",
    "Choice",
    "ChurnDefinition",
    "ClientConfig",
    "Date",
    "Integer",
    "Key",
    "Mapping",
    "Moment",
    "Table",
    "Text",
    "TextList",
    "key_reference",
    "read_client_config",
    "toml_value",
]

CONFIG_FILE = "client.toml"
_MAX_CONFIG_BYTES = 1_000_000
_OUTSIDE_HINT = (
    "move the file into the client folder, or set allow_outside_folder = true at the top of "
    "client.toml (the report then reads files another client's folder may hold)"
)


# =========================================================================== TOML writing
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def _toml_string(text: str) -> str:
    # json's escapes (\" \\ \n \t \uXXXX ...) are all TOML basic-string escapes; DEL is not
    # escaped by json but TOML forbids it raw.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def toml_value(value: Any) -> str:
    """Write ``value`` as a TOML value (the right-hand side of ``key = value``).

    Parameters
    ----------
    value : str, bool, int, float, date, datetime, time, list or dict
        A value as :mod:`tomllib` returns it.

    Returns
    -------
    str

    Examples
    --------
    >>> toml_value("Customer Ref")
    '"Customer Ref"'
    >>> toml_value(["purchase", 'say "hi"'])
    '["purchase", "say \\\\"hi\\\\""]'
    >>> toml_value({"Customer Ref": "customer_id"})
    '{ "Customer Ref" = "customer_id" }'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return (
            "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _header(table: tuple[str, ...]) -> str:
    return "[" + ".".join(_toml_key(p) for p in table) + "]"


def _block(table: tuple[str, ...], pairs: MappingABC[str, Any]) -> str:
    """TOML text setting ``pairs`` under ``[table]`` (nested dicts become sub-tables)."""
    scalars = {k: v for k, v in pairs.items() if not isinstance(v, dict)}
    subtables = [(k, v) for k, v in pairs.items() if isinstance(v, dict)]
    lines = [_header(table)] if table and (scalars or not subtables) else []
    lines += [f"{_toml_key(key)} = {toml_value(value)}" for key, value in scalars.items()]
    for key, value in subtables:
        lines.append(_block((*table, key), value))
    return "\n".join(lines)


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = toml_value(value)
    except TypeError:  # pragma: no cover - tomllib only returns TOML types
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, dt.time):
        return "a time of day"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__  # pragma: no cover - tomllib only returns TOML types


def _found(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    return f"{_type_name(value)} ({_short(value)})"


# =========================================================================== value types
class _Wrong(Exception):
    """A value does not fit its type; ``suggestion`` is a corrected value, when obvious."""

    def __init__(self, suggestion: Any = None, reason: str = "", hint: str = "") -> None:
        super().__init__(reason)
        self.suggestion = suggestion
        self.reason = reason
        self.hint = hint


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Text:
    """A string; ``min_len``/``max_len`` bound its length; control characters are refused."""

    min_len: int = 1
    max_len: int | None = None
    forbidden: str = ""
    controls_ok: str = ""
    label: str = ""

    @property
    def expected(self) -> str:
        if self.label:
            return self.label
        if self.min_len == self.max_len == 1:
            return "a single character"
        if self.min_len >= 1:
            return "a non-empty string"
        return "a string"

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise _Wrong(_as_text(value))
        if any(c not in self.controls_ok for c in _CONTROL.findall(value)):
            raise _Wrong(
                _CONTROL.sub(" ", value).strip() or None,
                "it holds a control character (tab, new line …)",
            )
        if len(value) < self.min_len or (self.min_len and self.max_len != 1 and not value.strip()):
            raise _Wrong(None, "it is empty")
        if self.max_len is not None and len(value) > self.max_len:
            raise _Wrong(None, f"it has {len(value)} characters")
        bad = sorted({c for c in value if c in self.forbidden})
        if bad:
            raise _Wrong(None, f"it holds {', '.join(map(repr, bad))}")
        return value


def _as_text(value: Any) -> str | None:
    if isinstance(value, (bool, dict, list)):
        return None
    return str(value) if isinstance(value, (int, float, dt.date, dt.time)) else None


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings."""

    values: tuple[str, ...]

    @property
    def expected(self) -> str:
        return "one of " + ", ".join(_toml_string(v) for v in self.values)

    def check(self, value: Any) -> str:
        if isinstance(value, str) and value in self.values:
            return value
        close = did_you_mean(str(value), self.values) if isinstance(value, str) else ""
        raise _Wrong(close.split("'")[1] if close else None, hint=close)


@dataclass(frozen=True)
class Integer:
    """A whole number in ``[low, high]``."""

    low: int
    high: int

    @property
    def expected(self) -> str:
        return f"an integer in [{self.low}, {self.high}]"

    def check(self, value: Any) -> int:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        ):
            return value
        suggestion = None
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            suggestion = int(value)
        elif isinstance(value, float) and value.is_integer():
            suggestion = int(value)
        if suggestion is not None and not self.low <= suggestion <= self.high:
            suggestion = None
        raise _Wrong(suggestion)


@dataclass(frozen=True)
class Boolean:
    """``true`` or ``false`` (TOML booleans, not strings)."""

    expected: str = "a boolean (true or false, without quotes)"

    def check(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        words = {
            "true": True,
            "yes": True,
            "on": True,
            "1": True,
            "false": False,
            "no": False,
            "off": False,
            "0": False,
        }
        suggestion = (
            words.get(str(value).strip().lower()) if isinstance(value, (str, int)) else None
        )
        raise _Wrong(suggestion)


@dataclass(frozen=True)
class Date:
    """A date (a TOML date such as ``2024-10-01``; a date-time keeps its date)."""

    expected: str = "a date such as 2024-10-01 (without quotes)"

    def check(self, value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:  # accepted for compatibility: start_date = "2024-10-01"
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise _Wrong()


@dataclass(frozen=True)
class Moment:
    """A date or a date-time (a naive one is read in the client's time zone later)."""

    expected: str = "a date or a date-time such as 2025-09-30T23:59:59Z (without quotes)"

    def check(self, value: Any) -> dt.date:
        if isinstance(value, dt.date):
            return value
        suggestion = None
        if isinstance(value, str):
            try:
                suggestion = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                suggestion = None
        raise _Wrong(suggestion)


@dataclass(frozen=True)
class TextList:
    """An array of strings, each checked by ``item``; at least ``min_items`` of them."""

    item: Text = Text()
    min_items: int = 0
    must_contain: str = ""
    label: str = ""

    @property
    def expected(self) -> str:
        what = self.label or "an array of non-empty strings"
        return f"{what} (at least one)" if self.min_items else what

    def check(self, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            raise _Wrong([value] if value.strip() else None, "a single value still goes in [ ]")
        if not isinstance(value, list):
            raise _Wrong()
        if len(value) < self.min_items:
            raise _Wrong(None, "it is empty")
        for item in value:
            if not isinstance(item, str):
                raise _Wrong(None, f"it holds {_found(item)}")
            try:
                self.item.check(item)
            except _Wrong as wrong:
                raise _Wrong(None, f"{_toml_string(item)}: {wrong.reason}") from None
            if self.must_contain and not re.search(self.must_contain, item):
                raise _Wrong(None, f"{_toml_string(item)} has no %-directive such as %d or %H")
        return tuple(value)


@dataclass(frozen=True)
class Scale:
    """A survey question's answers: ``[low, high]`` (two integers) or its labels, lowest first."""

    expected: str = (
        "an array of two integers [low, high] or of the answer labels, lowest first "
        '(["Very dissatisfied", …, "Very satisfied"])'
    )

    def check(self, value: Any) -> tuple:
        if not isinstance(value, list) or len(value) < 2:
            raise _Wrong([1, 5] if isinstance(value, int) else None)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            if len(value) != 2:
                raise _Wrong([min(value), max(value)], "numbers give the two ends only")
            low, high = value
            if low >= high:
                raise _Wrong(
                    [high, low] if high < low else None,
                    "the low end comes first, below the high end",
                )
            if low < -1000 or high > 1000:
                raise _Wrong(None, "answers are scale points, from -1000 to 1000")
            return (low, high)
        if all(isinstance(v, str) and v.strip() for v in value):
            numbers = [v.strip() for v in value]
            if len(numbers) == 2 and all(n.lstrip("-").isdigit() for n in numbers):
                raise _Wrong([int(n) for n in numbers], "numbers are written without quotes")
            return tuple(value)
        raise _Wrong(None, "mix neither numbers and labels nor empty labels")


_Type = Text | Choice | Integer | Boolean | Date | Moment | TextList | Scale


@dataclass(frozen=True)
class Key:
    """One declared key: its type, its default (None: required or computed) and what it does.

    ``example`` is the value shown in corrected TOML lines and the key reference in docs/guide/data.md (the
    default when None).
    """

    type: _Type
    default: Any
    description: str
    example: Any = None
    default_text: str = ""

    def sample(self) -> Any:
        return self.example if self.example is not None else self.default


@dataclass(frozen=True)
class Table:
    """A declared ``[table]`` whose keys are all listed in ``keys``."""

    keys: dict[str, Key | Table | Mapping | Tables]
    description: str
    example: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    """A ``[table]`` whose keys the user chooses (``key_name``), each value of type ``value``."""

    value: _Type
    key_name: str
    description: str
    example: dict[str, Any] = field(default_factory=dict)
    unique_values: bool = False


@dataclass(frozen=True)
class Tables:
    """``[<table>.<name>]`` tables whose names the user chooses, each with the keys of ``table``."""

    table: Table
    key_name: str
    description: str
    example: dict[str, Any] = field(default_factory=dict)


#: Canonical columns the loader fills itself (from [questions]): not mapped, constant or derived.
_LOADER_FILLED = ("question",)

_CONSTANT_EXAMPLES: dict[str, dict[str, str]] = {
    "events": {"channel": "web", "touchpoint": "purchase"},
    "feedback": {"survey": "nps"},
    "customers": {"segment": "all"},
}

#: The declared shape of ``client.toml``: every table and key, with type, default, meaning.
KEYS = Table(
    description="the top level of client.toml",
    keys={
        "name": Key(
            Text(max_len=200),
            None,
            "display name shown in reports",
            example="Pageturn Books",
            default_text="the folder name",
        ),
        "industry": Key(
            Text(min_len=0, max_len=200),
            "",
            "the client's industry, shown in reports",
            example="Online bookshop",
        ),
        "timezone": Key(
            Text(max_len=100, label='an IANA time zone name such as "Europe/London"'),
            "UTC",
            "IANA time zone in which naive source timestamps are read",
            example="Europe/London",
        ),
        "timestamp_formats": Key(
            TextList(must_contain=r"%[A-Za-z]", label="an array of strftime formats"),
            (),
            'formats such as "%d/%m/%Y %H:%M" tried after ISO 8601',
            example=["%d/%m/%Y %H:%M:%S"],
            default_text="none",
        ),
        "start_date": Key(
            Date(),
            None,
            "events before this date are implausible and set aside",
            example=dt.date(2024, 10, 1),
            default_text="none (no lower bound)",
        ),
        "timestamp_unit": Key(
            Choice(("s", "ms", "us", "ns")),
            None,
            "the source times are integer epochs in seconds, milliseconds, microseconds "
            "(GA4) or nanoseconds since 1970-01-01 UTC",
            example="us",
            default_text="none (times are text or datetimes)",
        ),
        "as_of": Key(
            Moment(),
            None,
            "the data end: later events are set aside (naive: in timezone)",
            example=dt.datetime(2025, 9, 30, 23, 59, 59, tzinfo=dt.UTC),
            default_text="now",
        ),
        "currency": Key(
            Text(min_len=0, max_len=20), "", "currency of revenue, shown in reports", example="GBP"
        ),
        "allow_outside_folder": Key(
            Boolean(),
            False,
            "let [files] name files outside the client folder (risk: reading another client's data)",
            example=True,
        ),
        "files": Table(
            description="the client's data files, inside the client folder",
            example={"events": "events.csv"},
            keys={
                "events": Key(
                    Text(max_len=1000),
                    None,
                    "the events file (CSV, TSV, Parquet, NDJSON/JSONL, each optionally .gz)",
                    example="events.csv",
                    default_text="none (then feedback is required)",
                ),
                "feedback": Key(
                    Text(max_len=1000),
                    None,
                    "the survey answers file",
                    example="feedback.csv",
                    default_text="none",
                ),
                "customers": Key(
                    Text(max_len=1000),
                    None,
                    "the customers file",
                    example="customers.csv",
                    default_text="none",
                ),
                "separator": Key(
                    Text(min_len=1, max_len=1, forbidden='"', controls_ok="\t"),
                    None,
                    "the delimiter of delimited files that are not , or tab",
                    example=";",
                    default_text="from the file name",
                ),
            },
        ),
        "columns": Table(
            description="source column -> canonical column, one table per data table",
            example={"events": {"Customer Ref": "customer_id"}},
            keys={
                table: Mapping(
                    Choice(tuple(n for n in schema.names if n not in _LOADER_FILLED)),
                    "source column",
                    f"maps a column of the {table} file to a canonical {table} column",
                    example={"Customer Ref": "customer_id"}
                    if "customer_id" in schema.names
                    else {},
                    unique_values=True,
                )
                for table, schema in TABLES.items()
            },
        ),
        "defaults": Table(
            description="a constant for a canonical column the file does not have",
            example={"events": {"channel": "web"}},
            keys={
                table: Table(
                    description=f"constants for {table} columns",
                    example=_CONSTANT_EXAMPLES[table],
                    keys={
                        col.name: Key(
                            Text(max_len=200),
                            None,
                            f"the {table} {col.name} of every row, when no column of the "
                            f"file gives it",
                            example=_CONSTANT_EXAMPLES[table].get(col.name, "unknown"),
                            default_text='"unknown"'
                            if (table, col.name) == ("events", "channel")
                            else "none",
                        )
                        for col in schema.columns
                        if col.dtype == pl.String
                        and col.name not in ("customer_id", *_LOADER_FILLED)
                    },
                )
                for table, schema in TABLES.items()
            },
        ),
        "derive": Table(
            description="a canonical column built from several source columns",
            example={"events": {"touchpoint": ["event_name", "page_type"]}},
            keys={
                "separator": Key(
                    Text(min_len=1, max_len=5),
                    "_",
                    "put between the parts of a derived column",
                    example=":",
                ),
                **{
                    table: Table(
                        description=f"derived {table} columns",
                        example={"touchpoint": ["event_name", "page_type"]}
                        if table == "events"
                        else {},
                        keys={
                            col.name: Key(
                                TextList(min_items=1, label="an array of source column names"),
                                (),
                                f"source columns whose values, joined by the separator (missing "
                                f"parts left out), give the {table} {col.name}",
                                example=["event_name", "page_type"],
                                default_text="none",
                            )
                            for col in schema.columns
                            if col.dtype == pl.String
                            and col.name not in ("customer_id", *_LOADER_FILLED)
                        },
                    )
                    for table, schema in TABLES.items()
                },
            },
        ),
        "validation": Table(
            description="how loading treats rows that are not wrong but may be unwanted",
            example={"duplicate_events": "drop"},
            keys={
                "duplicate_events": Key(
                    Choice(("keep", "drop")),
                    "keep",
                    '"keep": repeated identical events are kept and counted in a warning; '
                    '"drop": they are set aside (the first is kept)',
                    example="drop",
                ),
                "losses": Key(
                    Choice(("refuse", "allow")),
                    "refuse",
                    '"refuse": a table left with no rows, or events that lose most rows, fail '
                    '"cxlab validate" and the report with the main reason; "allow": they are '
                    "only reported (for a client whose exports legitimately hold mostly rows "
                    "to set aside)",
                    example="allow",
                ),
            },
        ),
        "questions": Tables(
            Table(
                description="one survey question",
                keys={
                    "kind": Key(
                        Choice(QUESTION_KINDS),
                        None,
                        'what it asks: "nps" (0–10), "csat" (1–5), "ces" (1–7), "rating" (with '
                        'its scale), "binary" (good/bad) or "text" (comments)',
                        example="rating",
                        default_text="required",
                    ),
                    "column": Key(
                        Text(max_len=500),
                        None,
                        "wide exports (one column per question): the file column of its answers",
                        example="Q5_1",
                    ),
                    "value": Key(
                        Text(max_len=500),
                        None,
                        "long exports (one row per answer): its value in the column mapped to survey",
                        example="Q5_1",
                    ),
                    "label": Key(
                        Text(max_len=300),
                        None,
                        "what readers see in tables and charts",
                        example="Delivery",
                        default_text="the question name",
                    ),
                    "scale": Key(
                        Scale(),
                        None,
                        "its answers: [low, high], or the labels lowest first (read as 1, 2, …; "
                        "nps and binary from 0)",
                        example=[1, 5],
                        default_text='nps [0, 10], csat [1, 5], ces [1, 7], binary ["bad", "good"]',
                    ),
                    "no_answer": Key(
                        TextList(label="an array of answers as written"),
                        (),
                        'answers that mean "not answered": not counted (Qualtrics\' -99 always is)',
                        example=["N/A"],
                        default_text="none",
                    ),
                    "comment_of": Key(
                        Text(max_len=100),
                        None,
                        "text questions of wide exports: the question whose answer carries the "
                        "comment (VoC reads a detractor's comment with the detractor's score)",
                        example="recommend",
                        default_text="the nps question, else the first scored question",
                    ),
                },
            ),
            "question",
            "one survey question; without any, the long format's nps, csat and ces",
            example={"delivery": {"column": "Q5_1", "kind": "rating", "scale": [1, 5]}},
        ),
        "survey": Table(
            description="the key-driver analysis of survey questions",
            example={"outcome": "recommend"},
            keys={
                "outcome": Key(
                    Text(max_len=100),
                    None,
                    "the question the rated attributes explain in the key-driver analysis",
                    example="recommend",
                    default_text="the nps question, else the csat question",
                ),
            },
        ),
        "journey": Table(
            description="the journey map and the purchase touchpoints",
            example={"use_default_map": True},
            keys={
                "use_default_map": Key(
                    Boolean(), True, "start from cxlab.contract.schema.DEFAULT_JOURNEY_MAP"
                ),
                "purchase_touchpoints": Key(
                    TextList(min_items=1),
                    DEFAULT_PURCHASE_TOUCHPOINTS,
                    "first = the purchase, later ones = repeat purchases (each in the purchase stage)",
                    example=["purchase"],
                ),
                "map": Mapping(
                    Choice(STAGES),
                    "touchpoint",
                    "touchpoint -> stage, added to or overriding the default map",
                    example={"gift_card": "purchase"},
                ),
            },
        ),
        "churn": Table(
            description="how the client defines a lost customer",
            example={"method": "column"},
            keys={
                "method": Key(
                    Choice(("column", "inactivity")),
                    "column",
                    '"column": customers.churned / churn_date; "inactivity": no event '
                    "for inactivity_days before the data end",
                ),
                "inactivity_days": Key(
                    Integer(1, 36500), 90, 'the inactivity window in days (method = "inactivity")'
                ),
                "population": Key(
                    Choice(("buyers", "active_before", "all")),
                    "buyers",
                    "who a churn rate counts: customers who had bought, or had any event, by the "
                    'start of the inactivity window; or "all" customers with a known status',
                ),
            },
        ),
        "labels": Mapping(
            Text(max_len=120),
            "code",
            "code (touchpoint, stage, channel, feature, column) -> the words readers see in "
            "reports and explorers, overriding cxlab's own label",
            example={"checkout_error": "Payment failed"},
        ),
    },
)


# =========================================================================== result types
@dataclass(frozen=True)
class ChurnDefinition:
    """How a client defines a lost customer.

    Parameters
    ----------
    method : {"column", "inactivity"}
        ``"column"`` reads ``churned`` / ``churn_date`` from the customers table;
        ``"inactivity"`` calls a customer churned when they had no event in the last
        ``inactivity_days`` before the data end (customers younger than that are censored).
    inactivity_days : int
        The inactivity window in days.
    population : {"buyers", "active_before", "all"}
        Who a churn rate counts (:func:`cxlab.analysis.features.churn_rate`): customers who
        had bought (``purchase_touchpoints``), or had any event, by the start of the
        inactivity window, or every customer whose status is known.
    """

    method: Literal["column", "inactivity"] = "column"
    inactivity_days: int = 90
    population: Literal["buyers", "active_before", "all"] = "buyers"


@dataclass(frozen=True)
class ClientConfig:
    """The parsed ``client.toml`` of one client folder. Build it with :func:`read_client_config`.

    ``settings`` holds every declared key's checked value by its dotted path (defaults filled
    in), e.g. ``settings["churn.inactivity_days"]``; the other fields are the same values in
    the shape the analyses use.
    """

    folder: Path
    name: str
    industry: str = ""
    timezone: str = "UTC"
    timestamp_formats: tuple[str, ...] = ()
    start_date: dt.date | None = None
    currency: str = ""
    files: dict[str, str] = field(default_factory=dict)
    separator: str | None = None
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    journey_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_JOURNEY_MAP))
    purchase_touchpoints: tuple[str, ...] = DEFAULT_PURCHASE_TOUCHPOINTS
    churn: ChurnDefinition = ChurnDefinition()
    as_of: dt.datetime | None = None
    allow_outside_folder: bool = False
    settings: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: the declared survey questions (:class:`cxlab.contract.questions.Question`); empty: the implied
    #: nps, csat and ces of the long format
    questions: tuple[Any, ...] = ()

    @property
    def slug(self) -> str:
        """The folder name: the client's key in batches, reports and the index."""
        return self.folder.name

    def source_spec(self, table: str) -> SourceSpec:
        """What ``client.toml`` declares for ``table`` beyond ``[columns]``: constants
        (``[defaults]``), derived columns (``[derive]``) and ``timestamp_unit``.

        Examples
        --------
        >>> from pathlib import Path
        >>> ClientConfig(Path("acme"), "Acme").source_spec("events")
        SourceSpec(constants={}, derived={}, separator='_', timestamp_unit=None)
        """
        s = self.settings
        constants = {
            k.rsplit(".", 1)[1]: v
            for k, v in s.items()
            if k.startswith(f"defaults.{table}.") and v is not None
        }
        derived = {
            k.rsplit(".", 1)[1]: tuple(v)
            for k, v in s.items()
            if k.startswith(f"derive.{table}.") and v
        }
        return SourceSpec(
            constants, derived, s.get("derive.separator", "_"), s.get("timestamp_unit")
        )

    @property
    def labels(self) -> dict[str, str]:
        """``[labels]``: the client's own display labels (code -> words), possibly empty.

        Examples
        --------
        >>> from pathlib import Path
        >>> ClientConfig(Path("acme"), "Acme", settings={"labels": {"a_b": "A and B"}}).labels
        {'a_b': 'A and B'}
        """
        return dict(self.settings.get("labels") or {})

    @property
    def duplicate_events(self) -> str:
        """``[validation] duplicate_events``: ``"keep"`` (default) or ``"drop"``."""
        return self.settings.get("validation.duplicate_events", "keep")

    @property
    def losses(self) -> str:
        """``[validation] losses``: ``"refuse"`` (default) or ``"allow"``."""
        return self.settings.get("validation.losses", "refuse")

    def path_of(self, table: str) -> Path | None:
        """Absolute path of the file holding ``table``, or None when the client has none.

        The containment check of :func:`read_client_config` is made again here, at the time
        the file is about to be read (a link may have changed since).

        Raises
        ------
        ConfigError
            The path now leads outside the client folder (and ``allow_outside_folder`` is off).
        DataError
            The path is outside the client folder (allowed) and does not exist; the message
            does not list that outside folder.
        """
        name = self.files.get(table)
        if not name:
            return None
        path = self.folder / name
        inside = path.resolve().is_relative_to(self.folder.resolve())
        if not inside and not self.allow_outside_folder:
            raise ConfigError(
                f"{self.folder / CONFIG_FILE}: 'files.{table}' = {_toml_string(name)} leads outside "
                f"the client folder {self.folder}. To fix it, {_OUTSIDE_HINT}."
            )
        if not inside and not path.exists():
            raise DataError(
                f"{path}: the {table} file does not exist (it is outside the client folder, "
                f"allowed by allow_outside_folder). Fix 'files.{table}' in client.toml."
            )
        return path


# =========================================================================== messages
def _fix_text(fix: str, top_level: bool) -> str:
    where = " (at the top of client.toml, before the first [table])" if top_level else ""
    return f" Fix it like this{where}:\n\n" + "\n".join("    " + line for line in fix.splitlines())


class _Problems:
    """Builds the ConfigError of one client.toml; knows the text to point at lines."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def error(
        self, where: tuple[str, ...], message: str, fix: str | None = None, top_level: bool = False
    ) -> ConfigError:
        line = _line_of(self.text, where) if where else None
        at = f"{self.path}, line {line}" if line else str(self.path)
        return ConfigError(f"{at}: {message}" + (_fix_text(fix, top_level) if fix else ""))

    def wrong(
        self, where: tuple[str, ...], expected: str, value: Any, wrong: _Wrong, sample: Any
    ) -> ConfigError:
        reason = f" ({wrong.reason})" if wrong.reason else ""
        suggestion = wrong.suggestion if wrong.suggestion is not None else sample
        fix = _block(where[:-1], {where[-1]: suggestion}) if suggestion is not None else None
        return self.error(
            where,
            f"'{'.'.join(where)}' must be {expected}; got {_found(value)}{reason}.{wrong.hint}",
            fix,
            top_level=len(where) == 1,
        )


def _line_of(text: str, where: tuple[str, ...]) -> int | None:
    """1-based line of key ``where`` in ``text`` (or of its [table] header); None if unsure."""
    table: tuple[str, ...] = ()
    header_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            try:
                parsed = tomllib.loads(stripped.split("#", 1)[0] if "]" in stripped else stripped)
            except tomllib.TOMLDecodeError:
                continue
            table = _first_path(parsed)
            if table == where:
                return number
            if table == where[:-1] and header_line is None:
                header_line = number
            continue
        if "=" not in stripped or stripped.startswith("#"):
            continue
        try:
            key = _first_path(tomllib.loads(stripped.split("=", 1)[0] + "= 0"))
        except tomllib.TOMLDecodeError:
            continue
        if (*table, *key)[: len(where)] == where:
            return number
    return header_line


def _first_path(parsed: dict[str, Any]) -> tuple[str, ...]:
    path: list[str] = []
    while isinstance(parsed, dict) and parsed:
        key = next(iter(parsed))
        path.append(key)
        parsed = parsed[key]
    return tuple(path)


# =========================================================================== the validator
def _walk(
    node: Table,
    raw: dict[str, Any],
    where: tuple[str, ...],
    problems: _Problems,
    out: dict[str, Any],
) -> None:
    """Check ``raw`` against ``node``; store checked values by dotted path in ``out``."""
    for key, value in raw.items():
        child = node.keys.get(key)
        at = (*where, key)
        if child is None:
            raise _unknown(node, key, value, where, problems)
        if isinstance(child, Key):
            try:
                out[".".join(at)] = child.type.check(value)
            except _Wrong as wrong:
                raise problems.wrong(
                    at, child.type.expected, value, wrong, child.sample()
                ) from None
        elif not isinstance(value, dict):
            raise problems.error(
                at,
                f"'{'.'.join(at)}' must be a table ({_header(at)} followed by its keys); "
                f"got {_found(value)}.",
                _block(at, child.example) if child.example else None,
            )
        elif isinstance(child, Table):
            _walk(child, value, at, problems, out)
        elif isinstance(child, Tables):
            out[".".join(at)] = _walk_tables(child, value, at, problems)
        else:
            out[".".join(at)] = _walk_mapping(child, value, at, problems)
    for key, child in node.keys.items():
        dotted = ".".join((*where, key))
        if isinstance(child, Key) and dotted not in out:
            out[dotted] = child.default
        elif isinstance(child, Table) and key not in raw:
            _walk(child, {}, (*where, key), problems, out)
        elif isinstance(child, (Mapping, Tables)) and dotted not in out:
            out[dotted] = {}


def _walk_tables(
    node: Tables, raw: dict[str, Any], where: tuple[str, ...], problems: _Problems
) -> dict[str, dict[str, Any]]:
    """Check each ``[<where>.<name>]`` table against ``node.table``: name -> its keys."""
    checked: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        at = (*where, name)
        if not isinstance(value, dict):
            example = next(iter(node.example.values()), {})
            raise problems.error(
                at,
                f"'{'.'.join(at)}' must be a table ({_header(at)} followed by its keys); got "
                f"{_found(value)}.",
                _block(at, example) if example else None,
            )
        out: dict[str, Any] = {}
        _walk(node.table, value, at, problems, out)
        checked[name] = {k.rsplit(".", 1)[1]: v for k, v in out.items()}
    return checked


def _walk_mapping(
    node: Mapping, raw: dict[str, Any], where: tuple[str, ...], problems: _Problems
) -> dict[str, str]:
    checked: dict[str, str] = {}
    first_key: dict[str, str] = {}
    for key, value in raw.items():
        at = (*where, key)
        if not key.strip():
            raise problems.error(
                at,
                f"[{'.'.join(where)}] has an empty {node.key_name} name. "
                f"Write the {node.key_name} between the quotes, or remove the line.",
            )
        try:
            checked[key] = node.value.check(value)
        except _Wrong as wrong:
            raise problems.wrong(at, node.value.expected, value, wrong, None) from None
        if node.unique_values and value in first_key:
            raise problems.error(
                at,
                f"[{'.'.join(where)}] maps both {_toml_string(first_key[value])} and "
                f"{_toml_string(key)} to {_toml_string(value)}. Keep one of the two lines.",
                _block(where, {first_key[value]: value}),
            )
        first_key.setdefault(value, key)
    return checked


def _home_of(key: str, value: Any) -> tuple[tuple[str, ...], Key | Table | Mapping] | None:
    """The table that declares ``key`` (a table for a table value), when exactly one does."""
    homes = []

    def visit(node: Table, where: tuple[str, ...]) -> None:
        for name, child in node.keys.items():
            if name == key and isinstance(child, Key) != isinstance(value, dict):
                homes.append((where, child))
            if isinstance(child, Table):
                visit(child, (*where, name))

    visit(KEYS, ())
    return homes[0] if len(homes) == 1 else None


def _corrected(child: Key | Table | Mapping, value: Any) -> Any:
    """``value`` as it should be written for ``child`` (the type's suggestion when it is wrong)."""
    if not isinstance(child, Key):
        return value
    try:
        child.type.check(value)
    except _Wrong as wrong:
        return wrong.suggestion if wrong.suggestion is not None else child.sample()
    return value


def _unknown(
    node: Table, key: str, value: Any, where: tuple[str, ...], problems: _Problems
) -> ConfigError:
    place = f"[{'.'.join(where)}]" if where else "the top level of client.toml"
    known = list(node.keys)
    hint = did_you_mean(key, known)
    message = f"unknown key '{'.'.join((*where, key))}'.{hint} Keys allowed in {place}: {', '.join(known)}."
    home = _home_of(key, value)
    if not hint and home is not None and home[0] != where:
        table, child = home
        message += (
            f" '{key}' belongs under {_header(table)}."
            if table
            else f" '{key}' belongs at the top."
        )
        return problems.error(
            (*where, key),
            message,
            _block(table, {key: _corrected(child, value)}),
            top_level=not table and not isinstance(value, dict),
        )
    if hint:
        right = hint.split("'")[1]
        return problems.error(
            (*where, key),
            message,
            _block(where, {right: _corrected(node.keys[right], value)}),
            top_level=not where and not isinstance(value, dict),
        )
    return problems.error(
        (*where, key), message + " Remove the line, or see docs/guide/data.md, 'client.toml keys'."
    )


# =========================================================================== reading
_TOML_HINTS: tuple[tuple[str, str, str], ...] = (
    ("at the end of a table declaration", "Close the table header with ]", "[files]"),
    (
        "Invalid value",
        "Text values need double quotes, dates are written 2024-10-01 and "
        "booleans true or false (lower case)",
        'name = "Pageturn Books"',
    ),
    (
        "after a key in a key/value pair",
        "A key with spaces or other signs needs double quotes",
        '[columns.events]\n"Customer Ref" = "customer_id"',
    ),
    (
        "Invalid initial character for a key part",
        "A key with spaces or other signs needs double quotes",
        '[columns.events]\n"Customer Ref" = "customer_id"',
    ),
    ("Cannot overwrite a value", "Each key may appear only once in a table: keep one line", ""),
    ("twice", "Each [table] header may appear only once: merge the two tables", ""),
    (
        "Unterminated string",
        "Close the string with a double quote on the same line",
        'name = "Acme"',
    ),
    (
        "Illegal character '\\n'",
        "Close the string with a double quote on the same line (a line break inside a string "
        "is written \\n)",
        'name = "Acme"',
    ),
    (
        "Illegal character",
        "Strings cannot hold control characters as typed: write \\t for a tab",
        'name = "Acme"',
    ),
    ("after a statement", "Put one key = value per line", 'currency = "GBP"'),
)


def _toml_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    where = "at the end of the file"
    quoted = ""
    if found:
        line, column = int(found.group(1)), int(found.group(2))
        where = f"line {line}, column {column}"
        lines = text.splitlines()
        if 0 < line <= len(lines):
            quoted = f" Line {line} reads: {_short(lines[line - 1].strip(), 80)}."
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", message)
    hint, example = "Compare it with the client.toml example in docs/guide/data.md", ""
    for fragment, text_hint, text_example in _TOML_HINTS:
        if fragment in reason:
            hint, example = text_hint, text_example
            break
    fix = ("\n\nFor example:\n\n" + textwrap.indent(example, "    ")) if example else ""
    return ConfigError(f"{path}, {where}: not valid TOML ({reason}).{quoted} {hint}.{fix}")


def _read_text(folder: Path, path: Path) -> str:
    if not folder.is_dir():
        raise ConfigError(f"Client folder {folder} does not exist (or is not a folder).")
    if not path.is_file():
        raise ConfigError(
            f"{folder} has no {CONFIG_FILE}. Every client folder needs one: it names the data "
            f"files, maps columns and sets the journey map. See docs/guide/data.md, 'Bring your data'."
        )
    if not path.resolve().is_relative_to(folder):
        raise ConfigError(
            f"{path}: is a link to a file outside the client folder. cxlab reads only the "
            f"client's own folder (and never quotes a file from elsewhere in a message): copy "
            f"the file into the folder instead of linking to it."
        )
    size = path.stat().st_size
    if size > _MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: is {size:,} bytes; a client.toml is a few kilobytes of settings. Check "
            f"that it is the right file (data belongs in the files named under [files])."
        )
    try:
        return path.read_text(encoding="utf-8-sig")  # a byte-order mark is accepted
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start}). Save it as UTF-8."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot be read ({exc.strerror}). Check its permissions."
        ) from None


def _check_timezone(name: str, problems: _Problems) -> None:
    usable = True
    try:
        zoneinfo.ZoneInfo(name)
        pl.Series([dt.datetime(2020, 1, 1)]).dt.replace_time_zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError, pl.exceptions.PolarsError):
        usable = False
    if usable:
        return
    close = did_you_mean(name, sorted(zoneinfo.available_timezones() - {name}))
    suggestion = close.split("'")[1] if close else "UTC"
    raise problems.error(
        ("timezone",),
        f"'timezone' = {_toml_string(name)} is not an IANA time zone that cxlab can use "
        f'(such as "Europe/Paris" or "UTC"; "localtime" and machine-specific names are '
        f"refused, so a report does not depend on the computer).{close}",
        _block((), {"timezone": suggestion}),
        top_level=True,
    )


def _check_file_path(
    folder: Path, key: str, written: str, allow: bool, problems: _Problems
) -> None:
    """Refuse a [files] path that leads outside ``folder`` (resolved) unless allowed."""
    target = (folder / written).resolve()
    at = ("files", key)
    if target == folder:
        raise problems.error(
            at,
            f"'files.{key}' = {_toml_string(written)} names the client folder itself, not a file.",
            _block(("files",), {key: f"{key}.csv"}),
        )
    if target == folder / CONFIG_FILE:
        raise problems.error(
            at,
            f"'files.{key}' = {_toml_string(written)} names {CONFIG_FILE} itself, not a data file.",
            _block(("files",), {key: f"{key}.csv"}),
        )
    if allow or target.is_relative_to(folder):
        return
    written_path = Path(written)
    if written_path.is_absolute():
        how = f"is an absolute path outside the client folder {folder}"
    elif ".." in written_path.parts and not (folder / written_path.name).is_symlink():
        how = f"climbs out of the client folder {folder} with '..'"
    else:
        how = f"leads out of the client folder {folder} through a symbolic link"
    raise problems.error(
        at,
        f"'files.{key}' = {_toml_string(written)} {how}. cxlab reads only the client's own "
        f"folder, so that a report never holds another client's data. To fix it, {_OUTSIDE_HINT}.",
        _block(("files",), {key: written_path.name or f"{key}.csv"}),
    )


def read_client_config(folder: str | Path) -> ClientConfig:
    """Read and check ``client.toml`` in ``folder``.

    Every key is checked against :data:`KEYS`; ``[files]`` paths must resolve (following
    links) inside the client folder unless ``allow_outside_folder = true``.

    Parameters
    ----------
    folder : str or Path
        The client folder.

    Returns
    -------
    ClientConfig

    Raises
    ------
    ConfigError
        When the file is missing, not valid TOML, has an unknown key, or a key has the wrong
        type or value; the message names the file, the line and the key, what was expected
        and found, and a corrected line in valid TOML.

    Examples
    --------
    >>> from cxlab.config import SAMPLE_DIR
    >>> cfg = read_client_config(SAMPLE_DIR / "bookshop")
    >>> cfg.churn
    ChurnDefinition(method='inactivity', inactivity_days=120, population='buyers')
    >>> cfg.journey_map["delivery_late"], cfg.settings["journey.use_default_map"]
    ('retention', True)
    """
    folder = Path(folder).expanduser().resolve()
    path = folder / CONFIG_FILE
    text = _read_text(folder, path)
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, text, exc) from None
    problems = _Problems(path, text)
    values: dict[str, Any] = {}
    _walk(KEYS, raw, (), problems, values)

    timezone: str = values["timezone"]
    _check_timezone(timezone, problems)

    allow = values["allow_outside_folder"]
    files = _files(folder, values, problems)
    as_of = _as_of(values, timezone, problems)
    journey_map, purchases = _journey(values, problems)

    columns = {
        t: values[f"columns.{t}"] for t in TABLES if raw.get("columns", {}).get(t) is not None
    }
    questions = _questions(values, problems)
    return ClientConfig(
        folder=folder,
        name=values["name"] if values["name"] is not None else folder.name,
        industry=values["industry"],
        timezone=timezone,
        timestamp_formats=tuple(values["timestamp_formats"]),
        start_date=values["start_date"],
        currency=values["currency"],
        files=files,
        separator=values["files.separator"],
        columns=columns,
        journey_map=journey_map,
        purchase_touchpoints=purchases,
        churn=ChurnDefinition(
            method=values["churn.method"],
            inactivity_days=values["churn.inactivity_days"],
            population=values["churn.population"],
        ),
        as_of=as_of,
        allow_outside_folder=allow,
        settings=values,
        questions=questions,
    )


def _files(folder: Path, values: dict[str, Any], problems: _Problems) -> dict[str, str]:
    """``[files]``: the tables named (events or feedback at least), each path checked."""
    files = {
        t: values[f"files.{t}"]
        for t in ("events", "feedback", "customers")
        if values[f"files.{t}"] is not None
    }
    if "events" not in files and "feedback" not in files:
        raise problems.error(
            ("files",),
            "'[files]' must name the events file or the feedback (survey answers) file, or both.",
            _block(("files",), {"events": "events.csv"}),
        )
    for table, written in files.items():
        _check_file_path(folder, table, written, values["allow_outside_folder"], problems)
    return files


def _as_of(values: dict[str, Any], timezone: str, problems: _Problems) -> dt.datetime | None:
    """``as_of`` in UTC (a date or a local time in the client's zone), not before start_date."""
    as_of = values["as_of"]
    if as_of is not None:
        if not isinstance(as_of, dt.datetime):
            as_of = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=zoneinfo.ZoneInfo(timezone))
        as_of = as_of.astimezone(dt.UTC)
        start = values["start_date"]
        if start is not None and as_of.astimezone(zoneinfo.ZoneInfo(timezone)).date() < start:
            raise problems.error(
                ("as_of",),
                f"'as_of' ({as_of.isoformat()}) is before 'start_date' "
                f"({values['start_date']}): every event would be set aside. Set as_of to the "
                f"end of the data, or start_date earlier.",
            )
    return as_of


def _journey(values: dict[str, Any], problems: _Problems) -> tuple[dict[str, str], tuple[str, ...]]:
    """The journey map (default map, then ``[journey.map]``) and the purchase touchpoints."""
    journey_map = dict(DEFAULT_JOURNEY_MAP) if values["journey.use_default_map"] else {}
    journey_map.update(values["journey.map"])
    purchases: tuple[str, ...] = tuple(values["journey.purchase_touchpoints"])
    for touchpoint in purchases:
        if journey_map.get(touchpoint) != "purchase":
            raise problems.error(
                ("journey", "purchase_touchpoints"),
                f"'journey.purchase_touchpoints' lists {_toml_string(touchpoint)}, which the "
                f"journey map does not put in the purchase stage. Add it to [journey.map].",
                _block(("journey", "map"), {touchpoint: "purchase"}),
            )
    return journey_map, purchases


def _questions(values: dict[str, Any], problems: _Problems) -> tuple[Any, ...]:
    """The ``[questions]`` tables checked together (:mod:`cxlab.contract.questions`), and ``[survey] outcome``."""
    from cxlab.contract.questions import questions_from_settings

    def error(where: tuple[str, ...], message: str, fix: dict[str, Any] | None) -> ConfigError:
        given = {k: list(v) if isinstance(v, tuple) else v for k, v in (fix or {}).items()}
        given = {k: v for k, v in given.items() if v not in (None, [])}
        return problems.error(where, message, _block(where[:2], given) if given else None)

    questions = questions_from_settings(values["questions"], error)
    outcome = values["survey.outcome"]
    if outcome is not None:
        names = [q.name for q in questions]
        if outcome not in names:
            raise problems.error(
                ("survey", "outcome"),
                f"'survey.outcome' = {_toml_string(outcome)} is not a declared question."
                f"{did_you_mean(outcome, names)} Questions: {', '.join(names)}.",
                _block(("survey",), {"outcome": names[0]}),
            )
    return questions


# =========================================================================== documentation
def _rows(node: Table, where: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    rows = []
    for key, child in node.keys.items():
        at = (*where, key)
        dotted = ".".join(at)
        if isinstance(child, Key):
            default = child.default_text or (
                "none" if child.default in (None, "", ()) else toml_value(child.default)
            )
            rows.append((f"`{dotted}`", child.type.expected, default, child.description))
        elif isinstance(child, Table):
            rows.extend(_rows(child, at))
        elif isinstance(child, Tables):
            rows.extend(_rows(child.table, (*where, key, f"<{child.key_name}>")))
        else:
            rows.append(
                (f"`{dotted}.<{child.key_name}>`", child.value.expected, "none", child.description)
            )
    return rows


def key_reference() -> str:
    """The documentation's table of every ``client.toml`` key, generated from :data:`KEYS`.

    Returns
    -------
    str
        A Markdown table: key, type, default, meaning.

    Examples
    --------
    >>> print(key_reference().splitlines()[2])
    | `name` | a non-empty string | the folder name | display name shown in reports |
    """
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for row in _rows(KEYS, ()):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)
