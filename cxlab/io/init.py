"""``cxlab init``: from a client's export files to a working client folder.

:func:`init_client` copies (or names) the files inside the folder, reads a sample of each
(the first rows: a 10M-row log is not read whole), proposes a column mapping from column names
and values, detects the time format (ISO, US or European day/month order, 12-hour clocks with
AM/PM, integer epochs in s/ms/µs/ns), suggests a journey stage for touchpoints the default map
does not know (from where they occur relative to each customer's first purchase), writes a
commented ``client.toml`` and loads the client to say what is left to fix.

The inspection steps are plain functions, usable on their own: :func:`propose_mapping`,
:func:`detect_time_format`, :func:`suggest_stages`, :func:`client_toml_text`.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cxlab.contract.client_config import CONFIG_FILE, toml_value
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP, STAGES, TABLES
from cxlab.errors import DataError, ParameterError
from cxlab.io.loaders import file_format
from cxlab.io.presets import Preset, detect_preset, get_preset

__all__ = [
    "Proposal",
    "TimeFormat",
    "propose_mapping",
    "detect_time_format",
    "suggest_stages",
    "client_toml_text",
    "read_sample",
    "init_client",
    "SAMPLE_ROWS",
]

#: Rows read from each file to propose the mapping (the first ones).
SAMPLE_ROWS = 100_000

# name patterns per canonical column, most specific first (matched on lower-case names with
# spaces, dots and dashes as "_")
_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "events": {
        "customer_id": (
            r"^customer_?id$",
            r"^(customer|client|cust|user|member|account|visitor)(_?(id|ref|key|no|number|pseudo_id))?$",
            r"user_pseudo_id",
            r"anonymous_?id",
            r"(customer|client|cust|user|member|account|visitor).*(id|ref|key)",
        ),
        "timestamp": (
            r"^timestamp$",
            r"(event_?)?time(stamp)?$",
            r"date_?time",
            r"(created|occurred|received|sent)_?(at|on)?$",
            r"date$",
            r"^(ts|when|time|date)$",
            r"time|date",
        ),
        "touchpoint": (
            r"^touchpoint$",
            r"^(event|event_?name|event_?type|action|activity|interaction)$",
            r"event|action|activity|touch",
        ),
        "channel": (r"^channel$", r"channel|medium|platform|source|device"),
        "session_id": (r"^session_?id$", r"session"),
        "revenue": (r"^revenue$", r"revenue|amount|price|total|sales|value|spend|order_?value"),
    },
    "feedback": {
        "customer_id": (
            r"^customer_?id$",
            r"(customer|client|cust|user|respondent|member|account).*(id|ref|key)?$",
        ),
        "timestamp": (
            r"^timestamp$",
            r"(submitted|answered|created|recorded|response)_?(at|on|date|time)?$",
            r"time|date",
        ),
        "survey": (r"^survey$", r"survey|question|metric|type"),
        "score": (r"^score$", r"score|rating|answer|value"),
        "comment": (r"^comment$", r"comment|verbatim|text|feedback|remark"),
        "touchpoint": (r"^touchpoint$", r"touchpoint|trigger|event"),
    },
    "customers": {
        "customer_id": (
            r"^customer_?id$",
            r"(customer|client|cust|user|member|account).*(id|ref|key)?$",
        ),
        "segment": (r"^segment$", r"segment|tier|plan|tier|class"),
        "region": (r"^region$", r"region|country|market|area|state"),
        "signup_date": (r"^signup_?date$", r"sign_?up|joined|created|first_?seen|since"),
        "churned": (r"^churned$", r"churn(ed)?$|lost|cancel"),
        "churn_date": (r"^churn_?date$", r"churn.*(date|at|on)|cancel.*(date|at|on)"),
    },
}

#: strftime formats tried on text times that are not ISO 8601, most specific first. US
#: (month first) and European (day first) orders are told apart by the values (a day > 12).
_TEXT_FORMATS: tuple[str, ...] = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%Y %I:%M:%S %p",
    "%d/%m/%Y %I:%M %p",
    "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y%m%d %H:%M:%S",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%b %d, %Y",
    "%d %b %Y",
)
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([Zz]|[+-]\d{2}:?\d{2})?$"
)
_PURCHASE_WORDS = re.compile(r"purchase|order|buy|checkout_?complete|transaction|payment", re.I)


@dataclass(frozen=True)
class TimeFormat:
    """How a column's times are written.

    ``kind`` is ``"iso"`` (ISO 8601, read as is), ``"format"`` (``format`` is the strftime
    format to add to ``timestamp_formats``), ``"epoch"`` (``unit`` is s, ms, us or ns),
    ``"datetime"`` (a typed date/datetime column) or ``"unknown"``. ``note`` says how it was
    decided (e.g. that day and month could not be told apart).
    """

    kind: str
    format: str | None = None
    unit: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Proposal:
    """A proposed mapping for one file: canonical column -> (source column, reason)."""

    table: str
    columns: dict[str, tuple[str, str]]
    time: TimeFormat | None = None
    unmapped_required: tuple[str, ...] = ()

    @property
    def mapping(self) -> dict[str, str]:
        """``[columns.<table>]``: source column -> canonical column (same names left out)."""
        return {src: canonical for canonical, (src, _) in self.columns.items() if src != canonical}


def _norm(name: str) -> str:
    return re.sub(r"[\s.\-/]+", "_", name.strip().lower())


def _flat_candidates(frame: pl.DataFrame) -> dict[str, pl.Series]:
    """Every column, plus ``col.field`` for struct fields and ``col[key]`` for GA4 key/value lists."""
    out: dict[str, pl.Series] = {}
    for name, s in frame.to_dict().items():
        dtype = s.dtype
        if isinstance(dtype, pl.Struct):
            for f in dtype.fields:
                if not isinstance(f.dtype, (pl.Struct, pl.List)):
                    out[f"{name}.{f.name}"] = s.struct.field(f.name)
        elif (
            isinstance(dtype, pl.List)
            and isinstance(dtype.inner, pl.Struct)
            and {"key", "value"} <= {f.name for f in dtype.inner.fields}
        ):
            keys = s.explode().struct.field("key").drop_nulls().unique().sort()
            for key in keys.head(50).to_list():
                out[f"{name}[{key}]"] = pl.Series(name, [None] * len(s), pl.String)  # named only
        else:
            out[name] = s
    return out


def _value_kind(s: pl.Series) -> str:
    """id, time, event, money, number or text: what the values look like."""
    s = s.drop_nulls()
    if s.len() == 0:
        return "empty"
    if isinstance(s.dtype, (pl.Datetime, pl.Date)):
        return "time"
    if s.dtype == pl.String:
        text = s.str.strip_chars()
        text = text.filter(text.str.len_bytes() > 0)
        if text.len() == 0:
            return "empty"
        if text.str.contains(r"^\d{9,19}$").all():
            return "epoch" if detect_time_format(s).kind == "epoch" else "id"
        if detect_time_format(s).kind in ("iso", "format"):
            return "time"
        if text.str.contains(r"^-?\d+\.\d{1,2}$").mean() >= 0.5:
            return "money"
        distinct = text.n_unique()
        if distinct <= max(50, s.len() // 100) and text.str.len_chars().mean() < 40:
            return "event"
        return "id" if text.str.len_chars().max() <= 64 else "text"
    if s.dtype.is_integer():
        return "epoch" if detect_time_format(s).kind == "epoch" else "id"
    if s.dtype.is_float():
        return "money"
    return "text"


_KIND_FITS = {
    "customer_id": {"id"},
    "timestamp": {"time", "epoch"},
    "touchpoint": {"event"},
    "channel": {"event"},
    "session_id": {"id"},
    "revenue": {"money", "id"},
    "survey": {"event"},
    "score": {"id", "money", "event"},
    "comment": {"text", "id", "event"},
    "segment": {"event"},
    "region": {"event"},
    "signup_date": {"time"},
    "churned": {"event", "id"},
    "churn_date": {"time"},
}


def propose_mapping(frame: pl.DataFrame, table: str = "events") -> Proposal:
    """Propose which column of ``frame`` holds each canonical column of ``table``, and why.

    Names are matched first (``Customer Ref`` → customer_id, ``Event Time`` → timestamp …),
    then checked against the values: an id column has many distinct values, a time column
    parses as times or integer epochs, a touchpoint or channel column has few distinct values,
    a money column has decimals. A required column with no candidate is listed in
    ``unmapped_required``.

    Parameters
    ----------
    frame : pl.DataFrame
        A sample of the file (its first rows), as read.
    table : {"events", "feedback", "customers"}

    Returns
    -------
    Proposal

    Examples
    --------
    >>> frame = pl.DataFrame({"Customer Ref": ["c1", "c2"], "Event Time": ["03/14/2024 2:05 PM", "03/15/2024 9:00 AM"],
    ...                       "Action": ["visit", "purchase"], "Amount": ["", "12.50"]})
    >>> p = propose_mapping(frame)
    >>> p.mapping
    {'Customer Ref': 'customer_id', 'Event Time': 'timestamp', 'Action': 'touchpoint', 'Amount': 'revenue'}
    >>> p.time.format
    '%m/%d/%Y %I:%M %p'
    """
    if table not in _NAMES:
        raise ParameterError(f"table must be one of {', '.join(_NAMES)}; got {table!r}.")
    candidates = _flat_candidates(frame)
    kinds = {name: _value_kind(s) for name, s in candidates.items()}
    chosen: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    for canonical, patterns in _NAMES[table].items():
        for rank, pattern in enumerate(patterns):
            hits = [n for n in candidates if n not in used and re.search(pattern, _norm(n))]
            fits = [n for n in hits if kinds[n] in _KIND_FITS[canonical] or kinds[n] == "empty"]
            # a strong name match wins over what a small sample's values look like, except
            # for times (a "date" column that holds no times is not the timestamp)
            strong = rank <= 1 and canonical not in ("timestamp", "signup_date", "churn_date")
            pick = (fits or (hits if strong else []))[:1]
            if pick:
                chosen[canonical] = (
                    pick[0],
                    f"name {'is' if rank == 0 else 'looks like'} "
                    f"{canonical}; values look {kinds[pick[0]]}-like",
                )
                used.add(pick[0])
                break
    # value-only fallbacks for the required time and id columns
    if table == "events" and "timestamp" not in chosen:
        for n, k in kinds.items():
            if n not in used and k in ("time", "epoch"):
                chosen["timestamp"] = (n, f"values look like times ({k})")
                used.add(n)
                break
    time = None
    if "timestamp" in chosen:
        time = detect_time_format(candidates[chosen["timestamp"][0]])
    required = tuple(c for c in TABLES[table].required if c not in chosen)
    return Proposal(table, chosen, time, required)


def detect_time_format(series: pl.Series) -> TimeFormat:
    """How the times of ``series`` are written: ISO, a strftime format, or an epoch unit.

    Integer values (or text of digits only) are epochs; the unit is the one that puts them
    between 1990 and 2100 (seconds ~1.7e9, milliseconds ~1.7e12, microseconds ~1.7e15 as in
    GA4, nanoseconds ~1.7e18). Text is tried as ISO 8601, then against US (month first) and
    European (day first) orders, 24-hour and 12-hour (AM/PM) clocks: the first format that
    reads every value wins; when day and month cannot be told apart (no day above 12), month
    first is proposed and ``note`` says so.

    Examples
    --------
    >>> detect_time_format(pl.Series([1_700_000_000_000_000])).unit
    'us'
    >>> detect_time_format(pl.Series(["25/12/2024 18:30", "01/02/2024 09:00"])).format
    '%d/%m/%Y %H:%M'
    >>> detect_time_format(pl.Series(["2024-12-25T18:30:00Z"])).kind
    'iso'
    """
    s = series.drop_nulls()
    if isinstance(s.dtype, (pl.Datetime, pl.Date)):
        return TimeFormat("datetime")
    if s.dtype == pl.String:
        s = s.str.strip_chars().filter(s.str.strip_chars().str.len_bytes() > 0)
    if s.len() == 0:
        return TimeFormat("unknown", note="no values to look at")
    if s.dtype.is_integer() or (s.dtype == pl.String and s.str.contains(r"^\d{9,19}$").all()):
        v = s.cast(pl.Float64, strict=False).drop_nulls()
        if v.len():
            lo, hi = float(v.min()), float(v.max())
            for unit, per_s in (("s", 1), ("ms", 1e3), ("us", 1e6), ("ns", 1e9)):
                if 631_152_000 * per_s <= lo and hi <= 4_102_444_800 * per_s:  # 1990 .. 2100
                    return TimeFormat(
                        "epoch", unit=unit, note=f"integers between {lo:.0f} and {hi:.0f}"
                    )
        if s.dtype.is_integer():
            return TimeFormat("unknown", note="integers that are not epochs between 1990 and 2100")
    if s.dtype != pl.String:
        return TimeFormat("unknown")
    if s.str.contains(_ISO.pattern).all():
        return TimeFormat("iso")
    for fmt in _TEXT_FORMATS:
        parsed = s.str.to_datetime(fmt, strict=False)
        if parsed.null_count() == 0:
            note = ""
            if "%m/%d" in fmt or "%d/%m" in fmt:
                other = fmt.replace("%m/%d", "\0").replace("%d/%m", "%m/%d").replace("\0", "%d/%m")
                if s.str.to_datetime(other, strict=False).null_count() == 0:
                    note = (
                        "day and month cannot be told apart (no day above 12 in the sample): "
                        "month first is assumed; check it"
                    )
            return TimeFormat("format", format=fmt, note=note)
    return TimeFormat("unknown", note="no known format reads every value")


def suggest_stages(
    events: pl.DataFrame,
    purchase_touchpoints: Sequence[str] = ("purchase",),
    known: Mapping[str, str] = DEFAULT_JOURNEY_MAP,
) -> dict[str, tuple[str, str]]:
    """A stage for each touchpoint ``known`` does not map, from where it occurs.

    For each customer the first purchase splits the events: a touchpoint seen mostly before
    it is ``consideration`` (``awareness`` when it is mostly the customer's very first
    event), one that is a purchase touchpoint is ``purchase``, one seen mostly after it is
    ``retention`` (``advocacy`` when its name says review/refer/share). Customers without a
    purchase count as "before".

    Parameters
    ----------
    events : pl.DataFrame
        Canonical-ish events: ``customer_id``, ``timestamp``, ``touchpoint``.
    purchase_touchpoints : sequence of str
    known : dict
        The journey map already known (default: :data:`cxlab.contract.schema.DEFAULT_JOURNEY_MAP`).

    Returns
    -------
    dict of str to (stage, reason)

    Examples
    --------
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "a", "b", "b"],
    ...     "timestamp": [1, 2, 3, 1, 2], "touchpoint": ["promo_seen", "purchase", "parcel_tracked",
    ...                                                  "promo_seen", "wishlist"]})
    >>> {k: v[0] for k, v in suggest_stages(ev).items()}
    {'parcel_tracked': 'retention', 'promo_seen': 'awareness', 'wishlist': 'consideration'}
    """
    purchases = list(purchase_touchpoints)
    lf = events.lazy().select("customer_id", "timestamp", "touchpoint").with_row_index("__i")
    lf = lf.sort("customer_id", "timestamp", "__i")
    first_buy = (
        pl.col("timestamp").filter(pl.col("touchpoint").is_in(purchases)).min().over("customer_id")
    )
    first_event = pl.col("__i").first().over("customer_id") == pl.col("__i")
    stats = (
        lf.with_columns(after=(pl.col("timestamp") > first_buy).fill_null(False), first=first_event)
        .filter(~pl.col("touchpoint").is_in(list(known)) & pl.col("touchpoint").is_not_null())
        .group_by("touchpoint")
        .agg(
            pl.len().alias("n"),
            pl.col("after").mean().alias("after"),
            pl.col("first").mean().alias("first"),
        )
        .sort("touchpoint")
        .collect()
    )
    out: dict[str, tuple[str, str]] = {}
    for tp, n, after, first in stats.iter_rows():
        if tp in purchases or _PURCHASE_WORDS.fullmatch(tp or ""):
            out[tp] = ("purchase", "a purchase touchpoint")
        elif after > 0.5:
            stage = (
                "advocacy" if re.search(r"review|refer|share|recommend", tp, re.I) else "retention"
            )
            out[tp] = (
                stage,
                f"{after:.0%} of its {n:,} events come after the customer's first purchase",
            )
        else:
            stage = "awareness" if first > 0.5 else "consideration"
            out[tp] = (
                stage,
                f"{1 - after:.0%} of its {n:,} events come before the first purchase"
                + (" and it is mostly a customer's first event" if stage == "awareness" else ""),
            )
    return out


# --------------------------------------------------------------------------- reading
def read_sample(
    path: str | Path, rows: int = SAMPLE_ROWS, separator: str | None = None
) -> pl.DataFrame:
    """The first ``rows`` rows of a data file (text columns of CSV/TSV as text).

    Raises
    ------
    DataError
        The file cannot be read; the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file. Check the path given to cxlab init.")
    kind, _gz = file_format(path)
    try:
        if kind in ("csv", "tsv"):
            sep = separator or ("\t" if kind == "tsv" else ",")
            return pl.scan_csv(
                path,
                separator=sep,
                infer_schema=False,
                n_rows=rows,
                raise_if_empty=False,
                truncate_ragged_lines=True,
            ).collect()
        if kind == "parquet":
            return pl.scan_parquet(path).head(rows).collect()
        return pl.read_ndjson(path, n_rows=rows, infer_schema_length=rows)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise DataError(
            f"{path}: cannot be read as a {kind} file ({str(exc).splitlines()[0]}). "
            f"Check that it is a complete export."
        ) from None


# --------------------------------------------------------------------------- writing
def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else toml_value(name)


def _time_lines(proposals: Mapping[str, Proposal]) -> list[str]:
    """``timestamp_formats`` and ``timestamp_unit`` lines, from the detected time encodings."""
    out: list[str] = []
    formats: list[str] = []
    unit = None
    for p in proposals.values():
        if p.time is None:
            continue
        if p.time.kind == "format" and p.time.format not in formats:
            formats.append(p.time.format)
        if p.time.kind == "epoch":
            unit = p.time.unit
    if formats:
        notes = [p.time.note for p in proposals.values() if p.time is not None and p.time.note]
        out.append(
            f"timestamp_formats = {toml_value(formats)}"
            + (f"  # REVIEW: {notes[0]}" if notes else "")
        )
    if unit:
        out.append(
            f"timestamp_unit = {toml_value(unit)}  # the times are integers: {unit} since 1970-01-01 UTC"
        )
    return out


def _journey_lines(
    purchase_touchpoints: Sequence[str], stages: Mapping[str, tuple[str, str]]
) -> list[str]:
    """The ``[journey]`` table and the stages of touchpoints the default map does not know."""
    out: list[str] = []
    out += [
        "",
        "[journey]",
        "use_default_map = true",
        f"purchase_touchpoints = {toml_value(list(purchase_touchpoints))}",
    ]
    extra = {tp: st for tp, st in stages.items() if DEFAULT_JOURNEY_MAP.get(tp) != st[0]}
    if extra:
        out += [
            "",
            "[journey.map]  # REVIEW: touchpoints the default map does not know, staged by where "
            "they occur",
        ]
        for tp, (stage, why) in extra.items():
            out.append(f"{_key(tp)} = {toml_value(stage)}  # {why}")
    return out


def client_toml_text(
    *,
    name: str,
    files: Mapping[str, str],
    proposals: Mapping[str, Proposal],
    timezone: str = "UTC",
    timezone_given: bool = False,
    constants: Mapping[str, Mapping[str, str]] | None = None,
    stages: Mapping[str, tuple[str, str]] | None = None,
    purchase_touchpoints: Sequence[str] = ("purchase",),
    duplicate_events: str = "keep",
) -> str:
    """A commented ``client.toml`` from the proposals (it reads back with read_client_config).

    Examples
    --------
    >>> p = propose_mapping(pl.DataFrame({"user": ["a"], "ts": [1_700_000_000], "event": ["visit"]}))
    >>> print(client_toml_text(name="Acme", files={"events": "events.parquet"}, proposals={"events": p}))
    ... # doctest: +ELLIPSIS
    # client.toml written by cxlab init ...
    """
    constants = constants or {}
    out = [
        f"# client.toml written by cxlab init on {dt.date.today().isoformat()}. Check every line",
        "# marked REVIEW, then run: cxlab validate <this folder>",
        f"name = {toml_value(name)}",
    ]
    if timezone_given:
        out.append(f"timezone = {toml_value(timezone)}")
    else:
        out.append(
            f"timezone = {toml_value(timezone)}  # REVIEW: the zone of times written "
            f'without an offset (default UTC; e.g. "Europe/London")'
        )
    out += _time_lines(proposals)
    out += ["", "[files]"] + [f"{t} = {toml_value(f)}" for t, f in files.items()]
    for table, p in proposals.items():
        out += ["", f"[columns.{table}]  # source column = canonical column"]
        for canonical, (src, why) in p.columns.items():
            line = f"{_key(src)} = {toml_value(canonical)}"
            out.append(
                f"{line}  # {why}" if src != canonical else f"# {line}  (same name: nothing to map)"
            )
        consts = dict(constants.get(table, {}))
        if consts:
            out += [
                "",
                f"[defaults.{table}]  # the same value on every row: the file has no such column",
            ]
            out += [f"{_key(k)} = {toml_value(v)}" for k, v in consts.items()]
    out += [
        "",
        "[validation]",
        f'duplicate_events = {toml_value(duplicate_events)}  # "keep": repeated identical events '
        f'count (clickstreams); "drop": set them aside',
    ]
    out += _journey_lines(purchase_touchpoints, stages or {})
    return "\n".join(out) + "\n"


def _pick_preset(name: str, sample: pl.DataFrame) -> Preset | None:
    """The preset ``name`` (``"auto"``: recognised from the sample's columns; ``"none"``)."""
    if name == "none":
        return None
    if name == "auto":
        return detect_preset(sample.columns)
    return get_preset(name)


def _with_preset(p: Proposal, preset: Preset, sample: pl.DataFrame) -> Proposal:
    """``p`` with the preset's columns (those the file has) and time encoding."""
    present = set(_flat_candidates(sample)) | set(sample.columns)
    chosen = {canonical: src for src, canonical in preset.columns.items() if src in present}
    columns = {
        c: (src, why)
        for c, (src, why) in p.columns.items()
        if c not in chosen and c not in preset.constants and src not in chosen.values()
    }
    columns.update({c: (src, f"preset {preset.name}") for c, src in chosen.items()})
    time = p.time
    if preset.timestamp_unit is not None:
        time = TimeFormat("epoch", unit=preset.timestamp_unit)
    elif preset.timestamp_format is not None:
        time = TimeFormat("format", format=preset.timestamp_format)
    given = set(columns) | set(preset.constants)
    required = tuple(c for c in TABLES[p.table].required if c not in given)
    return Proposal(p.table, columns, time, required)


def _sortable_time(dtype: pl.DataType, time: TimeFormat | None) -> pl.Expr:
    """The sample's times as datetimes (so that they sort in time order), as far as known."""
    from cxlab.io.sources import epoch_to_datetime

    ts = pl.col("timestamp")
    if time is not None and time.kind == "epoch":
        return epoch_to_datetime(ts, dtype, time.unit).alias("timestamp")
    if time is not None and time.kind == "format" and dtype == pl.String:
        return ts.str.to_datetime(time.format, strict=False).alias("timestamp")
    return ts


def _survey_export(path: Path, sample: pl.DataFrame) -> tuple[Proposal, str, str | None] | None:
    """Proposal, ``[questions]`` text and time zone of a Qualtrics export; None for other files."""
    from cxlab.io.surveys import propose_questions, qualtrics_columns, read_qualtrics_header

    header = read_qualtrics_header(path) if file_format(path)[0] == "csv" else None
    if header is None:
        return None
    answers = sample.slice(2)
    why = {"customer_id": "Qualtrics: who answered", "timestamp": "Qualtrics: when it was recorded"}
    columns = {c: (src, why[c]) for src, c in qualtrics_columns(header, answers).items()}
    time = (
        detect_time_format(answers.get_column(columns["timestamp"][0]))
        if "timestamp" in columns
        else None
    )
    text = (
        "\n# REVIEW: one table per question of the Qualtrics export (kind, scale, label)\n"
        + propose_questions(header, answers)
        + "\n"
    )
    return Proposal("feedback", columns, time), text, header.time_zone


# --------------------------------------------------------------------------- the command
@dataclass
class InitResult:
    """What :func:`init_client` did: the folder, the config written and what is left to fix."""

    folder: Path
    config_text: str
    review: list[str] = field(default_factory=list)
    left_to_fix: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Lines for people: what was written, what to review, what to fix."""
        lines = [f"wrote {self.folder / CONFIG_FILE}"]
        lines += [f"  review: {r}" for r in self.review]
        if self.left_to_fix:
            lines.append("left to fix:")
            lines += [f"  {x}" for x in self.left_to_fix]
        else:
            lines.append("cxlab validate: the client loads.")
        return "\n".join(lines)


def init_client(
    folder: str | Path,
    events: str | Path | None = None,
    *,
    feedback: str | Path | None = None,
    customers: str | Path | None = None,
    timezone: str | None = None,
    name: str | None = None,
    copy: bool = True,
    force: bool = False,
    sample_rows: int = SAMPLE_ROWS,
    validate: bool = True,
    preset: str = "auto",
) -> InitResult:
    """Make ``folder`` a client folder from export files: copy them, write ``client.toml``, validate.

    Parameters
    ----------
    folder : str or Path
        The client folder (created when missing).
    events, feedback, customers : str or Path, optional
        The export files; at least one. Files outside ``folder`` are copied into it
        (``copy=False``: the file must already be inside the folder).
    timezone : str, optional
        The zone of times without an offset; default ``"UTC"``, marked REVIEW in the file.
    name : str, optional
        Display name (default: the folder name).
    copy : bool
        Copy files from outside the folder (default) or refuse them.
    force : bool
        Overwrite an existing ``client.toml``.
    sample_rows : int
        Rows read from each file to propose the mapping.
    validate : bool
        Load the client once written and list what is left to fix (default). Without it,
        only the first ``sample_rows`` rows of each file are read.
    preset : str
        The events export's tool (:mod:`cxlab.io.presets`: ``"ga4"``, ``"segment"``,
        ``"zendesk"``): its column mapping, time encoding and journey map are written.
        ``"auto"`` (default) recognises it from the columns; ``"none"`` uses no preset.

    Returns
    -------
    InitResult
    """
    folder = Path(folder)
    given = {
        t: Path(p)
        for t, p in (("events", events), ("feedback", feedback), ("customers", customers))
        if p is not None
    }
    if not given:
        raise ParameterError(
            "cxlab init needs at least one file: --events FILE (and optionally "
            "--feedback FILE, --customers FILE)."
        )
    if preset not in ("auto", "none"):
        get_preset(preset)  # a misspelt name is refused before anything is written
    if (folder / CONFIG_FILE).exists() and not force:
        raise ParameterError(
            f"{folder / CONFIG_FILE} already exists. Pass --force to overwrite it."
        )
    folder.mkdir(parents=True, exist_ok=True)
    files = _place_files(folder, given, copy)
    p = _propose(folder, files, sample_rows, preset, timezone)
    tool = p.tool
    if tool is not None and tool.feedback_columns and "feedback" not in files:
        # the export is also the feedback (Zendesk: the tickets' satisfaction ratings)
        files["feedback"] = files["events"]
        why = f"preset {tool.name}"
        columns = {c: (src, why) for src, c in tool.feedback_columns.items()}
        p.proposals["feedback"] = Proposal("feedback", columns, p.proposals["events"].time)
        p.constants["feedback"] = dict(tool.feedback_constants)
    stages = _stages(p)
    text = client_toml_text(
        name=name or folder.name,
        files=files,
        proposals=p.proposals,
        timezone=p.timezone or "UTC",
        timezone_given=p.timezone is not None,
        constants=p.constants,
        stages=stages,
        purchase_touchpoints=tool.purchase_touchpoints if tool is not None else ("purchase",),
    )
    text += p.extra_toml  # the [questions] of a survey export
    if tool is not None and "feedback" not in given:  # the export is its own feedback
        text += tool.feedback_questions
    tmp = folder / (CONFIG_FILE + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(folder / CONFIG_FILE)
    left = _left_to_fix(folder) if validate else []
    return InitResult(folder, text, p.review, left)


def _place_files(folder: Path, given: Mapping[str, Path], copy: bool) -> dict[str, str]:
    """Each given file inside ``folder`` (copied there unless ``copy=False``): table -> name."""
    files: dict[str, str] = {}
    for table, path in given.items():
        if not path.is_file():
            raise DataError(f"{path}: no such file (given as the {table} file).")
        inside = path.resolve().parent == folder.resolve()
        if not inside:
            if not copy:
                raise ParameterError(
                    f"{path} is outside {folder}; move it there or drop --no-copy."
                )
            shutil.copyfile(path, folder / path.name)
        files[table] = path.name
    return files


@dataclass
class _Proposed:
    """What the samples suggest, table by table (the state :func:`init_client` writes out)."""

    timezone: str | None
    proposals: dict[str, Proposal] = field(default_factory=dict)
    samples: dict[str, pl.DataFrame] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)
    constants: dict[str, dict[str, str]] = field(default_factory=dict)
    tool: Preset | None = None  # the events export's preset
    extra_toml: str = ""


def _propose(
    folder: Path, files: Mapping[str, str], sample_rows: int, preset: str, timezone: str | None
) -> _Proposed:
    """Read a sample of each file; propose its mapping (a survey export: its questions)."""
    out = _Proposed(timezone)
    for table, fname in files.items():
        sample = read_sample(folder / fname, sample_rows)
        out.samples[table] = sample
        survey = _survey_export(folder / fname, sample) if table == "feedback" else None
        if survey is not None:  # a Qualtrics export: its questions (cxlab.io.surveys)
            out.proposals[table], out.extra_toml, zone = survey
            out.timezone = out.timezone or zone
            out.review.append(
                f"{fname} is a Qualtrics export: its questions were declared from their text "
                f"([questions]); check each kind and scale"
            )
            continue
        p = propose_mapping(sample, table)
        if table == "events":
            out.tool = _pick_preset(preset, sample)
            if out.tool is not None:
                p = _with_preset(p, out.tool, sample)
                out.constants["events"] = dict(out.tool.constants)
                out.review += [
                    f"{fname} looks like a {out.tool.title}: preset {out.tool.name}",
                    *out.tool.notes,
                ]
        out.proposals[table] = p
        if table == "events" and "touchpoint" not in p.columns and not out.constants.get("events"):
            out.constants.setdefault("events", {})["touchpoint"] = "purchase"
            out.review.append(
                "the events file has no event column: every row is a purchase "
                '([defaults.events] touchpoint = "purchase")'
            )
        for col in p.unmapped_required:
            if (table, col) != ("events", "touchpoint"):
                out.review.append(
                    f"no column of {fname} looks like {table} {col!r}: add a line under "
                    f'[columns.{table}], e.g. "Your Column" = "{col}"'
                )
        if p.time is not None and p.time.note:
            out.review.append(f"{fname} times: {p.time.note}")
    return out


def _stages(p: _Proposed) -> dict[str, tuple[str, str]]:
    """Stages of the touchpoints the default map does not know (and the preset's names)."""
    stages: dict[str, tuple[str, str]] = {}
    ev, tool = p.proposals.get("events"), p.tool
    if ev is not None and {"customer_id", "timestamp", "touchpoint"} <= set(ev.columns):
        raw = _flat_candidates(p.samples["events"])
        cols = {c: ev.columns[c][0] for c in ("customer_id", "timestamp", "touchpoint")}
        if all(v in raw for v in cols.values()):
            # the sample's own order is enough to place events around the first purchase
            # (times as written: text times in one format sort as the file lists them)
            small = pl.DataFrame({k: raw[v].alias(k) for k, v in cols.items()})
            small = small.with_columns(_sortable_time(small.schema["timestamp"], ev.time))
            stages = suggest_stages(small.with_columns(pl.col("touchpoint").cast(pl.String)))
            stages = {k: v for k, v in stages.items() if v[0] in STAGES}
            guessed = [tp for tp in stages if tool is None or tp not in tool.journey_map]
            if guessed:
                p.review.append(
                    f"{len(guessed)} touchpoints the default journey map does not know were "
                    f"staged by where they occur ([journey.map])"
                )
    if tool is not None:  # the tool's event names seen in the sample take its stages
        seen = set(stages) | set(tool.constants.values())
        named = {tp: (st, f"preset {tool.name}") for tp, st in tool.journey_map.items()}
        stages = {**stages, **{tp: why for tp, why in named.items() if tp in seen}}
    return stages


def _left_to_fix(folder: Path) -> list[str]:
    """Load the client once: the set-aside messages and the error that stops it, if any."""
    from cxlab.errors import CxlabError
    from cxlab.io.client import check_losses, load_client

    try:
        client = load_client(folder)
        left = [i.message for i in client.validation.issues if i.severity == "set_aside"]
        check_losses(client)
    except CxlabError as exc:
        left = [str(exc)]
    return left
