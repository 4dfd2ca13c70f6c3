"""Reading one client file into a canonical table, with every set-aside row accounted for.

``load_events``, ``load_feedback`` and ``load_customers`` read one file (CSV, TSV, Parquet or
NDJSON, each optionally ``.gz``), map the client's column names onto the canonical ones (see
:mod:`cxlab.contract.schema`), cast every column with polars expressions, flag each row's first problem
and split the rows into the loaded frame and the set-aside frame in one pass. They return a
:class:`LoadResult`.

Rules
-----
* Format by extension: ``.csv``, ``.tsv``, ``.parquet``, ``.ndjson`` / ``.jsonl``, optionally
  followed by ``.gz``. ``separator`` overrides the delimiter of delimited files.
* Column mapping ``{source: canonical}`` (``[columns.<table>]`` in ``client.toml``); a source
  column already named like a canonical column is used as is; every other column is kept as
  an attribute.
* Delimited files are read as text and cast with expressions, so a row whose value was present
  before the cast and null after it is known and set aside with ``unparsable_value``.
* Timestamps: ISO 8601 with an offset (converted to UTC), ISO 8601 without one (read in the
  client's ``timezone``), then each of ``timestamp_formats``. Naive datetimes in Parquet/NDJSON
  are read in the client's timezone too. Stored as ``Datetime("us", "UTC")``. A local time
  that falls in a daylight-saving gap is read with the offset in force before the change (as
  Python's ``zoneinfo`` does) and reported as a warning; an ambiguous local time (the repeated
  hour in autumn) is read as its first occurrence.
* Optional canonical columns missing from the file are added as nulls, except ``session_id``,
  which stays absent when the file has none.
* ``strict=True`` raises :class:`~cxlab.errors.DataError` instead of setting rows aside.

Input problems never surface as polars tracebacks: they are re-raised as
:class:`~cxlab.errors.DataError` naming the file, the column or row, and the fix.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import json
import math
import stat
import zlib
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cxlab.contract.prepare import customer_order, gather_prepared, plan
from cxlab.contract.questions import Question
from cxlab.contract.schema import (
    CODED_COLUMNS,
    SOURCE_ROW,
    TABLES,
    TableSchema,
)
from cxlab.contract.validation import (
    SET_ASIDE_REASONS,
    Issue,
    TableCounts,
    ValidationReport,
)
from cxlab.errors import DataError, did_you_mean
from cxlab.io.rules import (
    EXAMPLES,
    FIX,
    OPTIONAL_ABSENT_OK,
    VALUE_EXAMPLES,
    WHAT,
    as_utc,
    binary_as_text,
    blank_lines_issue,
    blank_rows,
    col_label,
    column_checks,
    dst_gap_issue,
    example_rows,
    mixed_timezones_issue,
    tidy,
    tidy_probe,
    unknown_touchpoints_issue,
)
from cxlab.io.sources import SourceSpec, apply_source_spec
from cxlab.io.surveys import (
    Shaped,
    finish_feedback,
    read_qualtrics_header,
    shape_feedback,
)

__all__ = [
    "LoadResult",
    "load_events",
    "load_feedback",
    "load_customers",
    "load_table",
    "empty_table",
    "file_format",
    "open_source",
    "read_error",
    "check_source_types",
    "resolve_columns",
    "declared_columns",
]

_EXAMPLES = EXAMPLES
_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
_FORMAT_NAMES = {"csv": "CSV", "tsv": "TSV", "parquet": "Parquet", "ndjson": "NDJSON"}
_ID = "customer_id"


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class LoadResult:
    """What loading one file produced.

    Attributes
    ----------
    table : str
        Canonical table name.
    file : Path
        The file read.
    frame : pl.DataFrame
        The loaded rows: canonical columns, ``source_row``, then attribute columns.
    set_aside : pl.DataFrame
        Every row not loaded: ``source_row``, ``reason``, ``column``, then the row's values as
        read from the file (source column names).
    issues : tuple of Issue
        One per set-aside reason and column, plus warnings.
    input_rows : int
        Data rows in the file; always ``loaded + set aside``.
    """

    table: str
    file: Path
    frame: pl.DataFrame
    set_aside: pl.DataFrame
    issues: tuple[Issue, ...]
    input_rows: int

    @property
    def loaded(self) -> int:
        """Number of loaded rows."""
        return self.frame.height

    @property
    def counts(self) -> TableCounts:
        """The table's row counts."""
        return TableCounts(
            self.table, self.file.name, self.input_rows, self.frame.height, self.set_aside.height
        )

    @property
    def report(self) -> ValidationReport:
        """A :class:`ValidationReport` of this one table."""
        return ValidationReport(self.file.name, [self.counts], self.issues)

    def __repr__(self) -> str:
        return (
            f"<LoadResult {self.table} from {self.file.name}: {self.input_rows:,} rows, "
            f"{self.frame.height:,} loaded, {self.set_aside.height:,} set aside, "
            f"{len(self.issues)} issues>"
        )


def empty_table(table: str) -> pl.DataFrame:
    """An empty frame with the canonical schema of ``table`` (plus ``source_row``).

    Examples
    --------
    >>> empty_table("feedback").columns
    ['customer_id', 'timestamp', 'survey', 'score', 'comment', 'touchpoint', 'question', 'source_row']
    """
    schema = _schema(table)
    cols = {c.name: c.dtype for c in schema.columns if c.name not in OPTIONAL_ABSENT_OK}
    cols[SOURCE_ROW] = pl.UInt32()
    return pl.DataFrame(schema=cols)


def _schema(table: str) -> TableSchema:
    if table not in TABLES:
        raise DataError(
            f"Unknown table {table!r}.{did_you_mean(table, TABLES)} Tables: {', '.join(TABLES)}."
        )
    return TABLES[table]


# --------------------------------------------------------------------------- reading
def file_format(path: str | Path) -> tuple[str, bool]:
    """The format of ``path`` from its extension, and whether it is gzip-compressed.

    Examples
    --------
    >>> file_format("events.csv.gz")
    ('csv', True)
    >>> file_format("feedback.jsonl")
    ('ndjson', False)
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    kind = _FORMATS.get(suffixes[-1]) if suffixes else None
    if kind is None:
        raise DataError(
            f"{path}: cannot tell the file format from its name. Expected one of "
            f"{', '.join(_FORMATS)} (optionally followed by .gz); rename the file or export it "
            f"in one of these formats."
        )
    return kind, gz


class _EmptyFile(DataError):
    """The file holds no data rows (0 bytes, blank, or a header only).

    A :class:`~cxlab.errors.DataError` like any other; ``load_table(optional=True)`` turns it
    into a warning and an empty table (no survey answers this quarter is not a failure).
    """


def _check_file(path: Path, table: str) -> None:
    try:
        info = path.stat()  # follows symlinks: a link to a device is judged by the device
    except FileNotFoundError:
        info = None
    except OSError as exc:  # a symlink loop, a path through a file, no permission
        raise DataError(
            f"{path}: the {table} file cannot be opened ({exc.strerror or type(exc).__name__}). "
            f"Check the path under [files] in client.toml and the file's permissions."
        ) from None
    if info is None:
        folder = path.parent
        if folder.is_dir():
            names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
            listing = ", ".join(names) if names else "(none)"
            hint = did_you_mean(path.name, names)
            raise DataError(
                f"{path}: the {table} file does not exist.{hint} Files in {folder}: {listing}. "
                f"Fix the file name under [files] in client.toml, or add the file."
            )
        raise DataError(f"{path}: the {table} file does not exist (nor does its folder {folder}).")
    if stat.S_ISDIR(info.st_mode):
        raise DataError(
            f"{path}: the {table} file is a folder, not a file. Name the data file itself under "
            f"[files] in client.toml, or put the export in the client folder."
        )
    if not stat.S_ISREG(info.st_mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device or special file"
        raise DataError(
            f"{path}: the {table} file is {kind}, not a regular file; cxlab reads only regular "
            f"files (a pipe or device may never end). Save the export as a file and name it "
            f"under [files] in client.toml."
        )
    if info.st_size == 0:
        raise _EmptyFile(
            f"{path}: the file is empty (0 bytes). Export the {table} table again, with a header "
            f"row and data rows."
        )


def _open_bytes(path: Path, gz: bool, content: bytes | None = None):
    if content is not None:
        return io.BytesIO(content)
    return gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115


def _utf8_error(path: Path, gz: bool, content: bytes | None = None) -> str | None:
    """Where the first byte that is not UTF-8 sits, as text; None when the file is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, line = 0, 1
    with _open_bytes(path, gz, content) as fh:
        while True:
            chunk = fh.read(1 << 20)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                # exc.start is relative to the decoder's buffer: pending bytes + this chunk.
                pending = len(exc.object) - len(chunk)
                at = offset - pending + exc.start
                before = exc.object[: exc.start]
                line_at = line + before.count(b"\n")
                bad = exc.object[exc.start : exc.start + 1]
                return (
                    f"byte {at} (line {line_at}) is 0x{bad.hex()}, which is not UTF-8 "
                    f"(the file looks like Latin-1/Windows-1252)"
                )
            if final:
                return None
            line += chunk.count(b"\n")
            offset += len(chunk)


_MAX_HEADER = 16 << 20  # bytes read at most to find the end of a delimited file's header

# First bytes of files that are not a text or Parquet export, whatever their name says.
_FOREIGN = (
    (
        b"PK\x03\x04",
        "a ZIP archive (an Excel .xlsx workbook is one too)",
        "Extract the export from the archive, or save the sheet as CSV (UTF-8)",
    ),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)", "Save the sheet as CSV (UTF-8)"),
    (b"%PDF", "a PDF document", "Export the table itself as CSV, Parquet or NDJSON"),
    (b"BZh", "a bzip2 archive", "Decompress it, or compress it with gzip and name it .gz"),
    (b"\xfd7zXZ", "an xz archive", "Decompress it, or compress it with gzip and name it .gz"),
    (b"(\xb5/\xfd", "a zstd archive", "Decompress it, or compress it with gzip and name it .gz"),
)


def _sniff(path: Path, kind: str, gz: bool, table: str) -> bytes | None:
    """Check the first bytes against the name; return the decompressed content of ``.gz`` files.

    Reads the first few bytes once (never the file's content into a message). A ``.gz`` file is
    decompressed here, in full, so that a truncated or corrupt archive is an error rather than
    a silently shorter table; other files are left to polars.
    """
    with open(path, "rb") as fh:
        head = fh.read(8)
    name = _FORMAT_NAMES[kind]
    is_gzip = head.startswith(b"\x1f\x8b")
    if gz and not is_gzip:
        plain = path.name[: -len(path.suffixes[-1])]
        raise DataError(
            f"{path}: the name ends in .gz but the file is not gzip-compressed. Rename it to "
            f"{plain!r} (and the line under [files] in client.toml), or compress it with gzip."
        )
    if is_gzip and not gz:
        raise DataError(
            f"{path}: the file is gzip-compressed but its name does not end in .gz. Rename it to "
            f"'{path.name}.gz' (and the line under [files] in client.toml)."
        )
    content = None
    if gz:
        try:
            content = gzip.decompress(path.read_bytes())
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{path}: the gzip data is truncated or corrupt ({exc}); the {name} inside cannot "
                f"be read completely. Copy or compress the {table} export again."
            ) from None
        if not content.strip():
            raise _EmptyFile(
                f"{path}: the compressed file holds no data. Export the {table} "
                f"table again, with a header row and data rows."
            )
        head = content[:8]
    for magic, what, fix in _FOREIGN:
        if head.startswith(magic):
            raise DataError(f"{path}: the file is {what}, not a {name} file. {fix}.")
    if kind == "parquet" and not head.startswith(b"PAR1"):
        raise DataError(
            f"{path}: the file is not Parquet (a Parquet file starts with the bytes 'PAR1'). "
            f"Export the {table} table as Parquet again, or rename the file to what it holds "
            f"(.csv, .tsv, .ndjson)."
        )
    return content


def _text_content(path: Path, gz: bool, content: bytes | None, kind: str) -> bytes | None:
    """Text files that polars cannot read as they are, rewritten in memory (else None).

    UTF-16 (a byte-order mark, as Excel's "Unicode text" writes) is re-encoded as UTF-8, an
    NDJSON file's UTF-8 byte-order mark is dropped, and old-Mac line endings (``\\r`` with no ``\\n`` in
    the first 64 KiB) become ``\\n``. Only the first 64 KiB are read to decide.
    """
    with _open_bytes(path, gz, content) as fh:
        head = fh.read(1 << 16)
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    bom = kind == "ndjson" and head.startswith(codecs.BOM_UTF8)  # polars' CSV reader skips it
    cr_only = b"\r" in head and b"\n" not in head
    if not (utf16 or bom or cr_only):
        return content
    data = content if content is not None else path.read_bytes()
    if utf16:
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise DataError(
                f"{path}: the file starts like UTF-16 text but is not valid UTF-16. "
                f"Re-save the file as UTF-8."
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if cr_only and b"\n" not in data:
        data = data.replace(b"\r", b"\n")
    return data


def _read_header(
    path: Path, gz: bool, sep: str, content: bytes | None = None, table: str = ""
) -> list[str]:
    with _open_bytes(path, gz, content) as fh:
        head = fh.read(1 << 16)
        while b"\n" not in head and len(head) < _MAX_HEADER:  # a very wide header
            more = fh.read(1 << 20)
            if not more:
                break
            head += more
    if not head.strip():
        raise _EmptyFile(
            f"{path}: the file has no content (only blank space). Export it again "
            f"with a header row and data rows."
        )
    if b"\n" not in head and len(head) >= _MAX_HEADER:
        raise DataError(
            f"{path}: line 1 (the header) is longer than {_MAX_HEADER >> 20} MiB. Check "
            f"that the file is a {sep!r}-separated export with one header line."
        )
    first = head.split(b"\n", 1)[0]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        where = _utf8_error(path, gz, content)
        raise DataError(f"{path}: {where}. Re-save the file as UTF-8.") from None
    text = text.lstrip("\ufeff").rstrip("\r")
    if "\r" in text:
        raise DataError(
            f"{path}: line 1 (the header) holds a carriage return (\\r) that does not end the "
            f"line: the file mixes line-ending styles. Re-save it with one kind of line ending."
        )
    try:
        header = [h.strip() for h in next(csv.reader([text], delimiter=sep, quotechar='"'))]
    except (csv.Error, StopIteration) as exc:
        raise DataError(
            f"{path}: line 1 (the header) cannot be read ({exc}). Check its quoting and "
            f"the separator ({sep!r})."
        ) from None
    for i, name in enumerate(header, start=1):
        if any(ord(ch) < 32 and ch != "\t" for ch in name):
            hint = (
                " (NUL bytes: the file may be UTF-16 without a byte-order mark)"
                if "\x00" in name
                else ""
            )
            raise DataError(
                f"{path}: column {i} of the header holds a control character{hint}. Header names "
                f"must be plain text; re-save the file as UTF-8 text with a plain header row."
            )
    # a nameless column (a trailing separator on every line) gets a name, as polars would
    header = [h or f"column_{i}" for i, h in enumerate(header, start=1)]
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(
                f"{path}: the header names column {name!r} twice (columns {seen[name]} and {i}). "
                f"Rename one of them in the file so every column name is unique."
            )
        seen[name] = i
    if len(header) == 1:
        for cand, label in ((";", ";"), ("\t", "\\t"), ("|", "|"), (",", ",")):
            if cand != sep and cand in header[0]:
                toml_value = '"\\t"' if cand == "\t" else f"'{cand}'"
                raise DataError(
                    f"{path}: the header was read as one column {header[0][:60]!r} with "
                    f"separator {sep!r}; the file looks {label}-separated. Set "
                    f"files.separator = {toml_value} in client.toml."
                )
    return header


@dataclass
class _Source:
    path: Path
    kind: str
    gz: bool
    sep: str | None
    lf: pl.LazyFrame
    schema: dict[str, pl.DataType]
    # the file's own types (NDJSON is read as text, but a canonical column of objects or
    # lists is refused by what the file holds), and the rewritten content, if any
    types: dict[str, pl.DataType] | None = None
    content: bytes | None = None


def read_error(
    src_path: Path,
    kind: str,
    gz: bool,
    exc: BaseException,
    sep: str | None = None,
    content: bytes | None = None,
) -> DataError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    name = _FORMAT_NAMES[kind]
    try:
        if kind in ("csv", "tsv", "ndjson") and ("utf-8" in text.lower() or "utf8" in text.lower()):
            where = _utf8_error(src_path, gz, content)
            if where:
                return DataError(f"{src_path}: {where}. Re-save the file as UTF-8.")
        if kind == "ndjson":
            line = _bad_json_line(src_path, gz, content)
            if line is not None:
                return DataError(
                    f"{src_path}: line {line[0]} is not a JSON object ({line[1]}). Each line of an "
                    f"NDJSON file must be one complete JSON object; fix or remove that line."
                )
            mixed = _mixed_json_key(src_path, gz, content)
            if mixed is not None:
                key, (kind_a, line_a), (kind_b, line_b) = mixed
                return DataError(
                    f"{src_path}: key {key!r} holds {kind_a} on line {line_a} and {kind_b} on line "
                    f"{line_b}; a column needs one kind of value. Export the key with one kind of "
                    f"value (e.g. always text), or leave it out of the export."
                )
        if kind in ("csv", "tsv"):
            lone_cr = _lone_cr_line(src_path, gz, content)
            if lone_cr is not None:
                return DataError(
                    f"{src_path}: line {lone_cr} holds a carriage return (\\r) that is not followed "
                    f"by a newline: the file mixes line-ending styles. Re-save it with one kind of "
                    f"line ending (\\n or \\r\\n)."
                )
            bad = _ragged_line(src_path, gz, sep or ",", content)
            if bad is not None:
                return DataError(
                    f"{src_path}: data row {bad[0]} (line {bad[0] + 1}) has {bad[1]} fields but the "
                    f"header has {bad[2]}. Check quoting and the separator ({sep!r}) on that line."
                )
    except (OSError, EOFError, zlib.error, csv.Error, ValueError, RecursionError) as err:
        text = f"{type(err).__name__}: {err}"  # the diagnosis failed: say what polars said
    return DataError(
        f"{src_path}: cannot be read as a {name} file ({text}). Check that the file is a "
        f"complete {name} export{' compressed with gzip' if gz else ''}, or export it again."
    )


def _bad_json_line(path: Path, gz: bool, content: bytes | None = None) -> tuple[int, str] | None:
    # Error path only: find the first line that is not a JSON object.
    with _open_bytes(path, gz, content) as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                return number, str(err).split(":")[0]
            except ValueError as err:  # a number JSON parsers refuse (1e400, NaN)
                return number, str(err)
            except RecursionError:
                return number, "nested too deeply"
            if isinstance(value, list) and number == 1:
                return number, (
                    "found a JSON array: the file holds one array, not one object per "
                    "line; write each element on its own line, e.g. jq -c '.[]'"
                )
            if not isinstance(value, dict):
                kinds = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}
                return number, f"found {kinds.get(type(value), 'a number')}"
    return None


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large for a 64-bit float")
    return value


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def _mixed_json_key(path: Path, gz: bool, content: bytes | None = None):
    """Error path only: the first key holding an object, a list and/or plain values on two lines."""
    first: dict[str, tuple[str, int]] = {}
    with _open_bytes(path, gz, content) as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            for key, value in json.loads(raw).items():
                if value is None:
                    continue
                kind = (
                    "an object"
                    if isinstance(value, dict)
                    else "a list"
                    if isinstance(value, list)
                    else "a plain value"
                )
                seen = first.setdefault(key, (kind, number))
                if seen[0] != kind:
                    return key, seen, (kind, number)
    return None


def _lone_cr_line(path: Path, gz: bool, content: bytes | None = None) -> int | None:
    # Error path only: the line of the first \r not followed by \n.
    with _open_bytes(path, gz, content) as fh:
        for number, raw in enumerate(fh, start=1):
            if b"\r" in raw.rstrip(b"\r\n") or raw.endswith(b"\r"):
                return number
    return None


def _ragged_line(
    path: Path, gz: bool, sep: str, content: bytes | None = None
) -> tuple[int, int, int] | None:
    # Error path only: find the first data row whose field count differs from the header.
    with _open_bytes(path, gz, content) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(text, delimiter=sep, quotechar='"')
        try:
            header = next(reader, None)
            if header is None:
                return None
            for number, row in enumerate(reader, start=1):
                if row and len(row) != len(header):
                    return number, len(row), len(header)
        except csv.Error:
            return None
    return None


_NESTED = (pl.List, pl.Array, pl.Struct, pl.Object)


def check_source_types(
    path: Path, table: str, resolved: Mapping[str, str], types: Mapping[str, pl.DataType]
) -> None:
    """Refuse canonical columns whose values are lists or objects (one value per row expected)."""
    for canonical, src in resolved.items():
        dtype = types.get(src)
        if isinstance(dtype, _NESTED):
            what = "objects (structs)" if isinstance(dtype, pl.Struct) else "lists"
            raise DataError(
                f"{path}, {col_label(canonical, src)}: holds {what} ({dtype}), but cxlab expects "
                f"one plain value per row in the {table} column {canonical!r}. Export it as a "
                f"plain text or number column, or map another column to {canonical!r} under "
                f"[columns.{table}] in client.toml."
            )


def open_source(path: Path, table: str, separator: str | None) -> _Source:
    _check_file(path, table)
    kind, gz = file_format(path)
    sep: str | None = None
    content: bytes | None = None
    types: dict[str, pl.DataType] | None = None
    try:
        content = _sniff(path, kind, gz, table)
        if kind in ("csv", "tsv"):
            content = _text_content(path, gz, content, kind)
            sep = separator or ("\t" if kind == "tsv" else ",")
            header = _read_header(path, gz, sep, content, table)
            lf = pl.scan_csv(
                path if content is None else content,
                separator=sep,
                infer_schema=False,
                new_columns=header,
                quote_char='"',
                raise_if_empty=False,
                encoding="utf8",
            )
            schema = {h: pl.String() for h in header}
        elif kind == "parquet":
            lf = pl.scan_parquet(path if content is None else io.BytesIO(content))
            schema = dict(lf.collect_schema())
        else:
            content = _text_content(path, gz, content, kind)
            with _open_bytes(path, gz, content) as fh:
                if not fh.read(1 << 16).strip():
                    raise _EmptyFile(
                        f"{path}: the file has no content (only blank space). Export "
                        f"it again with one JSON object per line."
                    )
            source = path if content is None else content
            # Types from the whole file (not its first lines: a key first seen late is kept),
            # then every value read as text and cast by the loader's own per-row checks, so a
            # value whose type changes late is set aside with its row, not a failed file.
            types = dict(pl.scan_ndjson(source, infer_schema_length=None).collect_schema())
            schema = {k: pl.String() for k in types}
            lf = pl.scan_ndjson(source, schema=schema)
    except DataError:
        raise
    except (pl.exceptions.PolarsError, OSError, EOFError, ValueError) as exc:
        raise read_error(path, kind, gz, exc, sep, content) from None
    return _Source(path, kind, gz, sep, lf, schema, types or schema, content)


# --------------------------------------------------------------------------- columns
def resolve_columns(
    schema: TableSchema, source: Sequence[str], mapping: Mapping[str, str], path: Path
) -> dict[str, str]:
    """canonical -> source column name, after checking the mapping against the file."""
    known = schema.names
    resolved: dict[str, str] = {}
    for src, canonical in mapping.items():
        if canonical not in known:
            raise DataError(
                f"{path}: the mapping sends column {src!r} to {canonical!r}, which is not a "
                f"canonical {schema.name} column.{did_you_mean(canonical, known)} Canonical: "
                f"{', '.join(known)}."
            )
        if canonical in resolved:
            raise DataError(
                f"{path}: the mapping sends both {resolved[canonical]!r} and {src!r} to "
                f"{canonical!r}. Keep one line for {canonical!r} under [columns.{schema.name}]."
            )
        if src not in source:
            raise DataError(
                f"{path}: column {src!r} (mapped to {canonical!r} under [columns.{schema.name}] in "
                f"client.toml) is not in the file.{did_you_mean(src, source)} Columns in the file: "
                f"{', '.join(source)}."
            )
        resolved[canonical] = src
    for canonical in known:
        if canonical not in resolved and canonical in source:
            if canonical in mapping:  # the same name is mapped elsewhere: it is an attribute
                continue
            resolved[canonical] = canonical
    for canonical in schema.required:
        if canonical not in resolved:
            close = did_you_mean(canonical, source)
            example = (
                close.removeprefix(" Did you mean '").removesuffix("'?")
                if close
                else "Your Column Name"
            )
            raise DataError(
                f"{path}: required column {canonical!r} not found.{close} Columns in the file: "
                f"{', '.join(source)}. If the file calls it something else, add a line "
                f"under [columns.{schema.name}] in client.toml, e.g. "
                f'{json.dumps(example, ensure_ascii=False)} = "{canonical}".'
            )
    taken = set(resolved.values())
    for extra in source:
        if extra in taken:
            continue
        if extra == SOURCE_ROW or extra in resolved:
            raise DataError(
                f"{path}: column {extra!r} clashes with the canonical column {extra!r}"
                f"{'' if extra == SOURCE_ROW else f' (column {resolved[extra]!r} is mapped to it)'}. "
                f"Rename or drop it in the file."
            )
    return resolved


def load_table(
    table: str,
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    timezone: str = "UTC",
    timestamp_formats: Sequence[str] = (),
    journey_map: Mapping[str, str] | None = None,
    start_date: dt.date | None = None,
    as_of: dt.date | dt.datetime | None = None,
    strict: bool = False,
    separator: str | None = None,
    prepare: bool = False,
    optional: bool = False,
    source: SourceSpec | None = None,
    duplicate_events: str = "keep",
    questions: Sequence[Question] | None = None,
) -> LoadResult:
    """Load one file as canonical ``table``; see :func:`load_events` for the parameters.

    ``optional=True`` (feedback and customers in :func:`cxlab.io.client.load_client`): a file
    with no data rows (0 bytes, blank, a header only) gives an empty table and an
    ``empty_file`` warning instead of a :class:`~cxlab.errors.DataError`.
    """
    try:
        result = _load_table(
            table,
            path,
            mapping,
            timezone=timezone,
            timestamp_formats=timestamp_formats,
            journey_map=journey_map,
            start_date=start_date,
            as_of=as_of,
            strict=strict,
            separator=separator,
            source=source,
            duplicate_events=duplicate_events,
            questions=questions,
            prepare=prepare and table == "events",
        )
    except _EmptyFile:
        if not optional:
            raise
    else:
        return result
    path = Path(path)
    msg = (
        f"{path.name}: the {table} file has no data rows, so the {table} table is empty; "
        f"sections that need it say so. Export it again with its rows if there should be some."
    )
    issue = Issue(table, path.name, "warning", "empty_file", "all", 0, (), msg)
    set_aside = pl.DataFrame(
        schema={SOURCE_ROW: pl.UInt32(), "reason": pl.String(), "column": pl.String()}
    )
    return LoadResult(table, path, empty_table(table), set_aside, (issue,), 0)


def _load_table(
    table: str,
    path: str | Path,
    mapping: Mapping[str, str] | None,
    *,
    timezone: str,
    timestamp_formats: Sequence[str],
    journey_map: Mapping[str, str] | None,
    start_date: dt.date | None,
    as_of: dt.date | dt.datetime | None,
    strict: bool,
    separator: str | None,
    source: SourceSpec | None = None,
    duplicate_events: str = "keep",
    questions: Sequence[Question] | None = None,
    prepare: bool = False,
) -> LoadResult:
    """:func:`load_table` step by step: read, flag rows, duplicates, split the rows, report.

    The one place the loader chooses between two ways (the rows and numbers are the same):
    events loaded with ``prepare`` are gathered in customer order straight from the checked
    rows (:func:`_kept_rows`), which skips a copy of every kept row in file order.
    """
    _check_options(timezone, separator)
    as_of_utc = as_utc(as_of, timezone, "as_of") or dt.datetime.now(dt.UTC)
    start_utc = as_utc(start_date, timezone, "start_date")
    read = _read_table(table, Path(path), mapping, source, separator, questions)
    flagged = _flag_rows(read, timezone, tuple(timestamp_formats), start_utc, as_of_utc)
    order, codes, keys, repeated = _duplicates(read, flagged, duplicate_events)
    frame = _kept_rows(flagged, order, codes, keys, prepare)
    set_aside = _set_aside_rows(read, flagged)
    issues = _set_aside_issues(read, set_aside, start_date, as_of_utc)
    issues += _warnings(read, flagged, frame, repeated, timezone, journey_map)
    if strict:
        _stop_at_first(issues)
    n = flagged.frame.height - flagged.n_blank
    result = LoadResult(table, read.path, frame, set_aside, tuple(issues), n)
    return finish_feedback(result, read.shaped)


def _kept_rows(
    flagged: _Flagged,
    order: pl.Series | None,
    codes: pl.Series | None,
    keys: pl.Series | None,
    prepare: bool,
) -> pl.DataFrame:
    """The loaded table: the rows not set aside, in file order, or prepared (``prepare``).

    Events come with their customer order (``order``: row numbers of ``flagged.frame``, kept
    rows only). Prepared: one gather from the checked rows in that order
    (:func:`cxlab.contract.prepare.gather_prepared`). In file order: the kept rows, with the
    order recorded (:func:`cxlab.contract.prepare.plan`) for ``prepare_events`` to reuse.
    """
    if order is not None and prepare:
        # a lazy select: an eager one would first copy the many-chunk frame into one chunk
        checked = flagged.frame.lazy().select(flagged.kept).collect()
        return gather_prepared(checked, order, codes, keys, flagged.categories)
    frame = flagged.frame.lazy().filter(~pl.col("__bad")).select(flagged.kept).collect()
    if order is None:
        return frame
    positions = _kept_positions(flagged.frame, order)
    return plan(frame, positions, codes, keys, flagged.categories)


def _check_options(timezone: str, separator: str | None) -> None:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DataError(
            f"timezone = {timezone!r} is not an IANA time zone (e.g. 'Europe/Paris')."
        ) from None
    if separator is not None and len(separator) != 1:
        raise DataError(f"separator must be one character, got {separator!r}.")


@dataclass
class _Read:
    """One table's file read into memory, with what the later steps of a load need."""

    table: str
    path: Path
    schema: TableSchema
    kind: str  # csv, tsv, parquet, ndjson
    data: pl.DataFrame | None  # freed once the rows are flagged
    types: dict[str, pl.DataType]  # source column -> dtype as read
    resolved: dict[str, str]  # canonical column -> source column
    source_cols: list[str]
    extras: list[str]  # source columns no canonical column takes: kept as they are
    shaped: Shaped | None  # feedback reshaped by cxlab.io.surveys
    blank: pl.Series | None  # source rows of blank lines (CSV/TSV)


def _read_table(
    table: str,
    path: Path,
    mapping: Mapping[str, str] | None,
    source: SourceSpec | None,
    separator: str | None,
    questions: Sequence[Question] | None,
) -> _Read:
    """Open the file, add declared columns, map the columns and read every row once."""
    schema = _schema(table)
    src = open_source(path, table, separator)
    file_cols = list(src.schema)
    src, mapping, consumed = declared_columns(src, mapping or {}, source, table, path)
    shaped = _shaped_feedback(src, mapping, questions) if table == "feedback" else None
    if shaped is not None:  # a wide survey unpivoted, or declared questions (cxlab.io.surveys)
        src = _Source(
            src.path,
            src.kind,
            src.gz,
            src.sep,
            shaped.lf,
            shaped.schema,
            {**(src.types or src.schema), **shaped.schema},
            src.content,
        )
        mapping, consumed = shaped.mapping, [*consumed, *shaped.consumed]
    source_cols = list(src.schema)
    resolved = resolve_columns(schema, source_cols, mapping, path)
    check_source_types(path, table, resolved, src.types or src.schema)
    taken = set(resolved.values())
    extras = [c for c in source_cols if c not in taken and c not in consumed]
    # Read once into memory; every later pass (checks, casts, flags) runs on that frame.
    try:
        numbered = shaped is not None and shaped.numbered  # wide: the response's row
        data = (src.lf if numbered else src.lf.with_row_index(SOURCE_ROW, offset=1)).collect()
    except (pl.exceptions.PolarsError, OSError, EOFError, ValueError) as exc:
        raise read_error(path, src.kind, src.gz, exc, src.sep, src.content) from None
    if data.height == 0:
        raise _EmptyFile(
            f"{path}: the file has a header but no data rows. Export the {table} table again "
            f"with its rows."
        )
    data, types = binary_as_text(data, path, resolved, src.schema)
    if shaped is not None:  # declared questions: the columns they renamed are checked as theirs
        file_cols = [c for c in file_cols if c in data.columns] if not numbered else []
    blank = blank_rows(data, file_cols) if src.kind in ("csv", "tsv") and file_cols else None
    if blank is not None and blank.len() == data.height:
        lines = f"{blank.len():,} blank line{'' if blank.len() == 1 else 's'}"
        raise _EmptyFile(
            f"{path}: the file has a header and {lines}, but no data rows. Export the "
            f"{table} table again with its rows."
        )
    return _Read(
        table, path, schema, src.kind, data, types, resolved, source_cols, extras, shaped, blank
    )


@dataclass
class _Flagged:
    """Every row read: canonical values, raw values and one boolean column per reason."""

    frame: pl.DataFrame  # __raw__<source column>, __f<i> flags, __bad, __blank, __gap …
    flags: list[tuple[str, str, pl.Expr]]  # (reason, canonical column or "all", expression)
    fcols: list[str]  # the flag column of each of ``flags``
    kept: list[pl.Expr]  # the loaded table's columns, selected from ``frame``
    categories: dict[str, pl.Series]  # every value a coded column can take
    n_blank: int


def _tidy_needs(read: _Read) -> tuple[dict[str, bool], dict[str, pl.DataFrame]]:
    """Which text columns need stripping or blank->null (a cheap check), and coded values.

    Events: the few distinct values of the coded columns (touchpoint, channel) are read once;
    their untidiness and their enum categories come from those values, not rows.
    """
    text_file = read.kind != "parquet"
    text_cols = sorted({s for s in read.resolved.values() if read.types[s] == pl.String})
    coded_src = list(
        dict.fromkeys(
            read.resolved[c]
            for c in CODED_COLUMNS
            if read.table == "events" and read.resolved.get(c) in text_cols
        )
    )
    row_checked = [s for s in text_cols if s not in coded_src]
    lf = read.data.lazy()
    found = pl.collect_all(
        [lf.select([e for s in row_checked for e in tidy_probe(s, text_file)])]
        + [lf.select(pl.col(s).unique()) for s in coded_src]
    )
    needs = found[0].row(0, named=True) if row_checked else {}
    distinct = {s: f for s, f in zip(coded_src, found[1:], strict=True)}
    for f in distinct.values():
        needs.update(f.select(tidy_probe(f.columns[0], text_file)).row(0, named=True))
    return needs, distinct


def _flag_rows(
    read: _Read,
    timezone: str,
    formats: tuple[str, ...],
    start_utc: dt.datetime | None,
    as_of_utc: dt.datetime,
) -> _Flagged:
    """Canonical values and every row-level check of :func:`cxlab.io.rules.column_checks`, in
    one pass over the rows read (which are then freed)."""
    resolved, source_cols = read.resolved, read.source_cols
    needs, distinct = _tidy_needs(read)
    values, flags, later, ts = column_checks(
        read.table,
        read.schema,
        resolved,
        {c: tidy(s, needs) for c, s in resolved.items()},
        {c: read.types[s] for c, s in resolved.items()},
        timezone=timezone,
        formats=formats,
        start_utc=start_utc,
        as_of_utc=as_of_utc,
        questions=read.shaped.questions if read.shaped is not None else None,
    )
    # every value a coded column can take (its values in set-aside rows included)
    categories = {
        c: distinct[s].select(values[c].alias(c)).to_series()
        for c, s in resolved.items()
        if s in distinct and c in CODED_COLUMNS
    }
    extra_cols: dict[str, pl.Expr] = {}
    if ts is not None:
        extra_cols["__gap"] = ts.gap
        if ts.aware is not None:
            extra_cols["__aware"] = ts.aware
            extra_cols["__naive"] = ts.naive
    n_first = len(flags)
    stage1 = (
        [pl.col(SOURCE_ROW)]
        + [e.alias(n) for n, e in values.items()]
        + [pl.col(c).alias(f"__raw__{c}") for c in source_cols]
        + [e.alias(n) for n, e in extra_cols.items()]
        + [e.fill_null(False).alias(f"__f{i}") for i, (_, _, e) in enumerate(flags)]
    )
    stage2 = [e.fill_null(False).alias(f"__f{i + n_first}") for i, (_, _, e) in enumerate(later)]
    fcols = [f"__f{i}" for i in range(n_first + len(later))]
    bad = pl.any_horizontal(fcols) if fcols else pl.lit(False)
    n_blank = 0 if read.blank is None else read.blank.len()
    if n_blank:  # blank lines are neither loaded nor set aside: left out like bad rows, not counted
        stage1.append(pl.col(SOURCE_ROW).is_in(read.blank.implode()).alias("__blank"))
        bad = bad | pl.col("__blank")
    hash_col = [_key_hash([_ID]).alias("__h")] if read.table == "customers" else []
    frame = (
        read.data.lazy()
        .select(stage1)
        .with_columns(stage2)
        .with_columns(bad.alias("__bad"), *hash_col)
        .collect()
    )
    read.data = None
    kept = [pl.col(c) for c in read.schema.names if c in values] + [pl.col(SOURCE_ROW)]
    kept += [pl.col(f"__raw__{c}").alias(c) for c in read.extras]
    return _Flagged(frame, flags + later, fcols, kept, categories, n_blank)


def _duplicates(
    read: _Read, flagged: _Flagged, duplicate_events: str
) -> tuple[pl.Series | None, pl.Series | None, pl.Series | None, Issue | None]:
    """Repeated events (a warning, or set aside) and duplicate customers (set aside).

    Events: the customer order of the clean rows (:func:`cxlab.contract.prepare.customer_order`)
    is computed here, once: equal events share customer and time, so they are adjacent in it.
    Returns that order, codes and keys (None for other tables; without the rows set aside
    now) and the ``repeated_events`` warning (or None). ``flagged`` gets the new flag.
    """
    table, frame = read.table, flagged.frame
    order = codes = keys = repeated = None
    if table == "events":  # the permutation of prepare_events, on the clean rows only
        order, codes, keys = customer_order(
            frame.get_column("customer_id"),
            frame.get_column("timestamp"),
            keep=~frame.get_column("__bad"),
        )
        key = [c for c in read.schema.names if c in read.resolved]
        if duplicate_events == "keep":
            repeated = _repeated_events_issue(frame, key, read.path.name, order, codes)
            return order, codes, keys, repeated
        dup_rows = _adjacent_duplicates(frame, key, order, codes)
        dup = _row_mask(frame.height, dup_rows)
        if dup_rows.len():
            kept = ~order.is_in(dup_rows.implode())
            order, codes = order.filter(kept), codes.filter(kept)
        flagged.flags.append(("duplicate_event", "all", pl.lit(True)))
    elif table == "customers":
        dup = _later_duplicates(frame, [_ID], frame.get_column("__bad"))
        flagged.flags.append(("duplicate_customer", "customer_id", pl.lit(True)))
    else:
        return order, codes, keys, repeated
    flagged.fcols.append(f"__f{len(flagged.flags) - 1}")
    bad = frame.get_column("__bad")
    flagged.frame = frame.with_columns(dup.alias(flagged.fcols[-1]), (bad | dup).alias("__bad"))
    return order, codes, keys, repeated


def _set_aside_rows(read: _Read, flagged: _Flagged) -> pl.DataFrame:
    """The rows set aside: ``source_row``, ``reason``, ``column`` and the values as read.

    A row's reason is its first flag in the SET_ASIDE_REASONS order (computed on bad rows only).
    """
    flags, fcols = flagged.flags, flagged.fcols
    priority = {r: i for i, r in enumerate(SET_ASIDE_REASONS)}
    ordered = sorted(range(len(flags)), key=lambda i: (priority[flags[i][0]], i))
    none = [pl.lit(None, pl.String)]
    reason = pl.coalesce(
        [pl.when(pl.col(fcols[i])).then(pl.lit(flags[i][0])) for i in ordered] or none
    )
    column = pl.coalesce(
        [pl.when(pl.col(fcols[i])).then(pl.lit(flags[i][1])) for i in ordered] or none
    )
    bad = pl.col("__bad") & ~pl.col("__blank") if flagged.n_blank else pl.col("__bad")
    return (
        flagged.frame.lazy()
        .filter(bad)
        .select(
            [pl.col(SOURCE_ROW), reason.alias("reason"), column.alias("column")]
            + [
                pl.col(f"__raw__{c}").alias(c)
                for c in read.source_cols
                if c not in (SOURCE_ROW, "reason", "column")
            ]
        )
        .collect()
    )


def _set_aside_issues(
    read: _Read, set_aside: pl.DataFrame, start_date: dt.date | None, as_of_utc: dt.datetime
) -> list[Issue]:
    """One issue per (reason, column) of the rows set aside, in the SET_ASIDE_REASONS order."""
    if not set_aside.height:
        return []
    priority = {r: i for i, r in enumerate(SET_ASIDE_REASONS)}
    groups = (
        set_aside.group_by("reason", "column")
        .agg(pl.len().alias("rows"), pl.col(SOURCE_ROW).sort().head(_EXAMPLES).alias("examples"))
        .with_columns(pl.col("reason").replace_strict(priority, return_dtype=pl.Int64).alias("__p"))
        .sort("__p", "column")
    )
    return [
        _set_aside_issue(
            read.table,
            read.path,
            g,
            read.resolved,
            set_aside,
            read.schema,
            start_date=start_date,
            as_of=as_of_utc,
        )
        for g in groups.iter_rows(named=True)
    ]


def _warnings(
    read: _Read,
    flagged: _Flagged,
    frame: pl.DataFrame,
    repeated: Issue | None,
    timezone: str,
    journey_map: Mapping[str, str] | None,
) -> list[Issue]:
    """Warnings (rows kept): blank lines, repeated events, mixed timezones, DST gaps, unknown
    touchpoints, in that order."""
    table, label, resolved, rows = read.table, read.path.name, read.resolved, flagged.frame
    issues: list[Issue] = []
    if flagged.n_blank:
        examples = read.blank.head(_EXAMPLES).to_list()
        issues.append(blank_lines_issue(table, label, flagged.n_blank, examples))
    if repeated is not None:
        issues.append(repeated)
    if "__aware" in rows.columns:
        n_aware = int(rows["__aware"].sum())
        n_naive = int(rows["__naive"].sum())
        if n_aware and n_naive:
            ex = rows.filter(pl.col("__naive")).get_column(SOURCE_ROW).head(_EXAMPLES).to_list()
            src_col = resolved["timestamp"]
            issues.append(
                mixed_timezones_issue(table, label, src_col, n_aware, n_naive, timezone, ex)
            )
    if "__gap" in rows.columns:
        gaps = rows.lazy().filter(pl.col("__gap") & ~pl.col("__bad")).select(SOURCE_ROW).collect()
        if gaps.height:
            ex = gaps.get_column(SOURCE_ROW).head(_EXAMPLES).to_list()
            issues.append(
                dst_gap_issue(table, label, resolved["timestamp"], gaps.height, timezone, ex)
            )
    # (the touchpoints' distinct values, when read, rule out unknown ones without a row pass)
    seen = flagged.categories.get("touchpoint")
    if (
        journey_map is not None
        and "touchpoint" in resolved
        and table == "events"
        and (seen is None or not seen.drop_nulls().is_in(list(journey_map)).all())
    ):
        issue = unknown_touchpoints(
            frame, journey_map, table=table, file=label, source_column=resolved["touchpoint"]
        )
        if issue is not None:
            issues.append(issue)
    return issues


def _stop_at_first(issues: list[Issue]) -> None:
    """Strict mode: the first issue that sets rows aside (or mixed timezones) is an error."""
    for issue in issues:
        if issue.severity == "set_aside" or issue.reason == "mixed_timezones":
            raise DataError(
                f"{issue.message} ({issue.rows:,} rows; first rows "
                f"{', '.join(map(str, issue.examples))}.) Strict mode stops at the first problem; "
                f"load without strict=True to set such rows aside instead."
            )


# Up to this many bad rows, _kept_positions searches their row numbers (64 KB of UInt32).
_FEW_BAD_ROWS = 16_384


def _kept_positions(flagged: pl.DataFrame, order: pl.Series) -> pl.Series:
    """``order`` (row numbers of ``flagged``) as positions among its rows that are not ``__bad``.

    A row's position is its row number less the bad rows before it. Few bad rows (the usual
    case): counted by a binary search in their sorted row numbers, which fit in the cache;
    many: read from a running count of the good rows (a random gather over every row).
    """
    bad = flagged.get_column("__bad")
    n_bad = bad.sum()
    if not n_bad:
        return order
    if n_bad <= _FEW_BAD_ROWS:
        before = bad.arg_true().search_sorted(order).cast(pl.UInt32)
        return (order - before).alias(order.name)
    return ((~bad).cast(pl.UInt32).cum_sum() - 1).rechunk().gather(order).alias(order.name)


def _key_hash(key: list[str]) -> pl.Expr:
    """A 64-bit hash of (customer_id, timestamp) (or of ``key``): finds duplicate candidates."""
    head = [c for c in ("customer_id", "timestamp") if c in key] or key
    combined = pl.col(head[0]).hash(seed=1)
    for i, c in enumerate(head[1:], start=2):
        combined = combined ^ pl.col(c).hash(seed=i)
    return combined


def _later_duplicates(frame: pl.DataFrame, key: list[str], bad: pl.Series) -> pl.Series:
    """True for clean rows equal on ``key`` to an earlier clean row (the first one is kept).

    Candidates first: rows whose hash of (customer_id, timestamp) occurs more than once, found
    by sorting the hashes (much faster than a hash-set pass on 10M rows). Then the exact
    comparison on every ``key`` column runs on the candidates only, so a hash collision can
    never mark a distinct row as a duplicate.
    """
    hashes = frame.get_column("__h").rechunk()
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1)).unique()
    if repeated.len() == 0:
        return _row_mask(frame.height, repeated)
    cols = [*key, "__bad"]
    sub = (
        frame.lazy()
        .select(*key, SOURCE_ROW, bad.alias("__bad"), "__h")
        .filter(pl.col("__h").is_in(repeated.implode()))
        .collect()
    )
    later = sub.filter(~pl.struct(cols).is_first_distinct() & ~pl.col("__bad"))
    return _row_mask(frame.height, later.get_column(SOURCE_ROW).cast(pl.Int64) - 1)


def _adjacent_duplicates(
    frame: pl.DataFrame, key: list[str], order: pl.Series, codes: pl.Series
) -> pl.Series:
    """Row numbers of clean rows equal on ``key`` to an earlier clean row, in prepared order.

    ``order`` and ``codes`` come from :func:`cxlab.contract.prepare.customer_order` over the clean
    rows: equal rows share customer and timestamp, so they sit in one run of equal
    (code, timestamp) there. Only rows of such runs are compared on every ``key`` column, in
    file order, so the first of a set of equal rows is the one kept (as
    :func:`_later_duplicates` does on the file order).
    """
    ts = frame.get_column("timestamp").rechunk().gather(order)
    same = ((codes == codes.shift(1)) & ts.eq_missing(ts.shift(1))).fill_null(False)
    candidates = order.filter(same | same.shift(-1, fill_value=False)).sort()
    if candidates.len() == 0:
        return candidates
    # Picked by a row mask in a lazy filter: a gather would first copy the whole many-chunk
    # frame into one chunk, and a set lookup of each row's source_row costs a hash per row.
    sub = (
        frame.lazy()
        .select(*key, SOURCE_ROW)
        .filter(pl.lit(_row_mask(frame.height, candidates)))
        .with_columns(_row_hash(key).alias("__h"))
        .collect()
    )
    # Equal rows have equal hashes: the exact comparison (slow on many columns) runs on the
    # rows whose hash occurs more than once, which keeps every group of equal rows whole.
    # Repeated hashes are found by sorting them (faster than a hash set of millions).
    hashes = sub.get_column("__h").sort()
    repeated = hashes.filter(hashes == hashes.shift(1))
    sub = sub.filter(pl.col("__h").is_in(repeated.implode()))
    return sub.filter(~pl.struct(key).is_first_distinct()).get_column(SOURCE_ROW) - 1


def _row_hash(key: list[str]) -> pl.Expr:
    """A 64-bit hash of the ``key`` columns of a row (equal rows, equal hashes)."""
    combined = pl.col(key[0]).hash(seed=1)
    for i, c in enumerate(key[1:], start=2):
        combined = combined ^ pl.col(c).hash(seed=i)
    return combined


def _row_mask(height: int, rows: pl.Series) -> pl.Series:
    """A boolean Series of ``height`` that is True at ``rows``."""
    out = pl.repeat(False, height, eager=True, dtype=pl.Boolean)
    return out.scatter(rows, True) if rows.len() else out


def _set_aside_issue(table, path, g, resolved, set_aside, schema, *, start_date, as_of) -> Issue:
    reason, column, rows, examples = g["reason"], g["column"], g["rows"], tuple(g["examples"])
    label = path.name
    if column == "all":
        where = "all canonical columns"
    else:
        where = col_label(column, resolved.get(column, column))
    dtype = {
        "revenue": "a number",
        "score": "a whole number",
        "signup_date": "a date",
        "churn_date": "a date",
        "churned": "true/false",
    }.get(column, "its type")
    what = WHAT[reason].format(dtype=dtype, start=start_date, as_of=f"{as_of:%Y-%m-%d %H:%M} UTC")
    msg = f"{label}, {where}: {rows:,} {'row has' if rows == 1 else 'rows have'} {what}."
    redacted = msg + " " + FIX[reason]  # pseudonymised reports: no value quoted from the input
    if reason in VALUE_EXAMPLES and column in resolved and column != _ID:
        vals = (
            set_aside.filter((pl.col("reason") == reason) & (pl.col("column") == column))
            .get_column(resolved[column])
            .cast(pl.String)
            .unique(maintain_order=True)
            .head(3)
            .to_list()
        )
        shown = ", ".join(
            "empty" if v is None or not str(v).strip() else repr(str(v)[:40]) for v in vals
        )
        if shown:
            msg += f" Values like {shown}."
    msg += " " + FIX[reason]
    return Issue(
        table,
        label,
        "set_aside",
        reason,
        column,
        rows,
        examples,
        msg,
        redacted_message=redacted if redacted != msg else "",
    )


def unknown_touchpoints(
    events: pl.DataFrame | pl.LazyFrame,
    journey_map: Mapping[str, str],
    *,
    table: str = "events",
    file: str = "",
    source_column: str = "touchpoint",
) -> Issue | None:
    """A warning listing touchpoints that the journey map does not place, with row counts.

    Returns None when every touchpoint is in the map. The rows are not touched.

    Examples
    --------
    >>> ev = pl.DataFrame({"touchpoint": ["purchase", "teleport", "teleport"],
    ...                    "source_row": pl.Series([1, 2, 3], dtype=pl.UInt32)})
    >>> unknown_touchpoints(ev, {"purchase": "purchase"}).values
    (('teleport', 2),)
    """
    lf = events.lazy() if isinstance(events, pl.DataFrame) else events
    unknown = (
        lf.filter(~pl.col("touchpoint").is_in(list(journey_map)))
        .select("touchpoint", SOURCE_ROW)
        .collect()
    )
    if unknown.height == 0:
        return None
    counts = (
        unknown.group_by("touchpoint")
        .agg(pl.len().alias("n"))
        .sort(["n", "touchpoint"], descending=[True, False])
    )
    pairs = tuple((str(t), int(c)) for t, c in counts.iter_rows())
    examples = example_rows(unknown.get_column(SOURCE_ROW), _EXAMPLES)
    return unknown_touchpoints_issue(table, file, source_column, pairs, unknown.height, examples)


def _shaped_feedback(src: _Source, mapping: Mapping[str, str], questions):
    """The feedback source made long by :func:`cxlab.io.surveys.shape_feedback`, or None."""
    header = None
    if src.kind in ("csv", "tsv"):
        header = read_qualtrics_header(src.path, src.content, src.sep or ",")
    return shape_feedback(src.lf, src.schema, mapping, questions, path=src.path, header=header)


# --------------------------------------------------------------------------- public API
def load_events(
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    timezone: str = "UTC",
    timestamp_formats: Sequence[str] = (),
    journey_map: Mapping[str, str] | None = None,
    start_date: dt.date | None = None,
    as_of: dt.date | dt.datetime | None = None,
    strict: bool = False,
    separator: str | None = None,
    prepare: bool = False,
    source: SourceSpec | None = None,
    duplicate_events: str = "keep",
) -> LoadResult:
    """Load an events file into the canonical events table.

    Parameters
    ----------
    path : str or Path
        The file (``.csv``, ``.tsv``, ``.parquet``, ``.ndjson``/``.jsonl``, optionally ``.gz``).
    mapping : dict, optional
        Source column -> canonical column (``[columns.events]`` of ``client.toml``).
    timezone : str
        IANA zone in which naive times are read.
    timestamp_formats : sequence of str
        strftime formats tried after ISO 8601.
    journey_map : dict, optional
        touchpoint -> stage; touchpoints not in it are reported (kept). None: no check.
    start_date : date, optional
        Events before this day (in ``timezone``) are set aside as ``before_start``.
    as_of : date or datetime, optional
        Events after it are set aside as ``future_timestamp``; default now.
    strict : bool
        Raise :class:`~cxlab.errors.DataError` on the first set-aside reason (or mixed
        timezones) instead of setting rows aside.
    separator : str, optional
        Delimiter of delimited files (default ``,`` for CSV, tab for TSV).
    prepare : bool
        Return the loaded rows prepared by :func:`cxlab.contract.prepare.prepare_events`
        (sorted by customer and time, with integer customer codes) rather than in file order.
        The loader computes that order in any case (it finds repeated events among rows of
        equal customer and time), and preparing reuses it; the rows, set-aside rows and
        issues are exactly those of ``prepare=False``.
    source : SourceSpec, optional
        Constants, derived columns, epoch times and nested fields declared in ``client.toml``
        (:mod:`cxlab.io.sources`), added to the file's columns before the checks.
    duplicate_events : {"keep", "drop"}
        Events equal on every canonical column to an earlier one: ``"keep"`` loads them and
        counts them in a ``repeated_events`` warning; ``"drop"`` sets them aside as
        ``duplicate_event`` (the first is kept).

    Returns
    -------
    LoadResult
        ``.frame`` (loaded rows), ``.set_aside`` (with ``source_row``, ``reason``,
        ``column``), ``.issues``, ``.input_rows``, ``.report``.

    Raises
    ------
    DataError
        File missing, empty, header only, not UTF-8, wrong delimiter, duplicate header, a
        required column missing, unreadable Parquet/NDJSON; in strict mode also any set-aside
        reason.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "events.csv").write_text(
    ...     "Cust,timestamp,touchpoint,channel\\n"
    ...     "c1,2024-03-01 10:00,site_visit,web\\n"
    ...     ",2024-03-01 11:00,purchase,web\\n")
    >>> res = load_events(folder / "events.csv", {"Cust": "customer_id"}, timezone="Europe/Paris")
    >>> res.frame.select("customer_id", "timestamp").row(0)[1].isoformat()
    '2024-03-01T09:00:00+00:00'
    >>> res.set_aside.select("source_row", "reason").rows()
    [(2, 'null_customer_id')]
    """
    return load_table(
        "events",
        path,
        mapping,
        timezone=timezone,
        timestamp_formats=timestamp_formats,
        journey_map=journey_map,
        start_date=start_date,
        as_of=as_of,
        strict=strict,
        separator=separator,
        prepare=prepare,
        source=source,
        duplicate_events=duplicate_events,
    )


def load_feedback(
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    timezone: str = "UTC",
    timestamp_formats: Sequence[str] = (),
    start_date: dt.date | None = None,
    as_of: dt.date | dt.datetime | None = None,
    strict: bool = False,
    separator: str | None = None,
    source: SourceSpec | None = None,
    optional: bool = False,
    questions: Sequence[Question] | None = None,
) -> LoadResult:
    """Load a feedback (survey answers) file into the canonical feedback table.

    Parameters are those of :func:`load_events` (without ``journey_map``). Without
    ``questions``, scores are checked against :data:`cxlab.contract.schema.SURVEY_SCALES` and
    survey names are lower-cased; ``questions`` (``[questions]`` of ``client.toml``, see
    :mod:`cxlab.io.surveys`) reads wide exports (one column per question, Qualtrics CSV
    exports included) and checks each answer against its own question's scale. With
    ``optional=True`` a file without data rows gives an empty table and an ``empty_file``
    warning (no survey answers this quarter) instead of an error.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "feedback.csv"
    >>> _ = p.write_text("customer_id,timestamp,survey,score\\nc1,2024-03-01,NPS,9\\nc2,2024-03-02,csat,9\\n")
    >>> res = load_feedback(p)
    >>> res.frame.select("survey", "score").rows(), res.set_aside["reason"].to_list()
    ([('nps', 9)], ['score_out_of_range'])
    """
    return load_table(
        "feedback",
        path,
        mapping,
        timezone=timezone,
        timestamp_formats=timestamp_formats,
        start_date=start_date,
        as_of=as_of,
        strict=strict,
        separator=separator,
        source=source,
        optional=optional,
        questions=questions,
    )


def load_customers(
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    timestamp_formats: Sequence[str] = (),
    strict: bool = False,
    separator: str | None = None,
    source: SourceSpec | None = None,
    optional: bool = False,
) -> LoadResult:
    """Load a customers file into the canonical customers table (one row per customer).

    Dates (``signup_date``, ``churn_date``) are read as ISO dates or with
    ``timestamp_formats``; ``churned`` accepts true/false, yes/no, y/n, t/f, 1/0. A repeated
    customer id is set aside as ``duplicate_customer`` (the first row is kept). With
    ``optional=True`` a file without data rows gives an empty table and a warning.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "customers.csv"
    >>> _ = p.write_text("customer_id,churned\\nc1,yes\\nc2,no\\nc1,no\\n")
    >>> res = load_customers(p)
    >>> res.frame["churned"].to_list(), res.set_aside.select("source_row", "reason").rows()
    ([True, False], [(3, 'duplicate_customer')])
    """
    return load_table(
        "customers",
        path,
        mapping,
        timestamp_formats=timestamp_formats,
        strict=strict,
        separator=separator,
        optional=optional,
        source=source,
    )


# --------------------------------------------------------------------------- declared columns
def declared_columns(
    src: _Source, mapping: Mapping[str, str], spec: SourceSpec | None, table: str, path: Path
) -> tuple[_Source, dict[str, str], list[str]]:
    """The source with what client.toml declares (:mod:`cxlab.io.sources`) added as columns."""
    types = src.types or src.schema
    lf, schema, mapping, consumed = apply_source_spec(
        src.lf, src.schema, types, mapping, spec, table=table, path=path
    )
    if len(schema) == len(src.schema):
        return src, mapping, consumed
    added = {c: t for c, t in schema.items() if c not in src.schema}
    return (
        _Source(src.path, src.kind, src.gz, src.sep, lf, schema, {**types, **added}, src.content),
        mapping,
        consumed,
    )


def _repeated_events_issue(
    flagged: pl.DataFrame, key: list[str], label: str, order: pl.Series, codes: pl.Series
) -> Issue | None:
    """The ``repeated_events`` warning: events equal on every canonical column to an earlier one, kept."""
    rows = (_adjacent_duplicates(flagged, key, order, codes) + 1).sort()
    if rows.len() == 0:
        return None
    n = rows.len()
    msg = (
        f"{label}: {n:,} {'event repeats' if n == 1 else 'events repeat'} an earlier event on every "
        f"canonical column (same customer, time, touchpoint, channel …). They are kept and "
        f"counted in journeys, paths and funnels, as clickstream tools count them. If the export "
        f"repeats rows by mistake, set them aside with this line in client.toml:\n\n"
        f'    [validation]\n    duplicate_events = "drop"'
    )
    return Issue(
        "events",
        label,
        "warning",
        "repeated_events",
        "all",
        n,
        tuple(rows.head(_EXAMPLES).to_list()),
        msg,
    )
