"""A corpus of malformed and awkward data files (issue 14, part 4).

Every case is a file written by a careless exporter (or an attacker) and the outcome cxlab
promises for it: either a correct load, with exact counts (rows read = loaded + set aside, per
reason) and, where it matters, the loaded values; or a :class:`~cxlab.errors.DataError` whose
message names the file, the column or row/line, and the fix. Each case runs twice: through the
table's loader, and through :func:`cxlab.io.client.load_client` on a client folder holding it (the
feedback and customers files are optional there, as in ``load_client``). The expected numbers
can be checked by reading the few lines each case writes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import math
import os
import tomllib
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxlab.errors import DataError
from cxlab.io.client import load_client
from cxlab.io.loaders import load_customers, load_events, load_feedback
from cxlab.io.outofcore import scan_events

AS_OF = dt.date(2025, 1, 1)
EV = "customer_id,timestamp,touchpoint,channel"
FB = "customer_id,timestamp,survey,score"
UTC = dt.UTC
# warnings that come from the whole client (journey map, customers table), not from one file
_CLIENT_WARNINGS = {"unknown_touchpoint", "unknown_customer"}


# --------------------------------------------------------------------------- writers
def text(content: str) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(content.encode("utf-8"))


def raw(content: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(content)


def gz(content: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(gzip.compress(content, mtime=0))


def parquet(df: pl.DataFrame) -> Callable[[Path], None]:
    return lambda p: df.write_parquet(p)


def ndjson(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _ev(i: int | str, **extra) -> dict:
    return {
        "customer_id": f"c{i}",
        "timestamp": "2024-01-01 10:00",
        "touchpoint": "site_visit",
        "channel": "web",
        **extra,
    }


def _rows(n: int) -> str:
    # n distinct events (customer c0..c{n-1}), so no duplicate is set aside
    return "".join(f"c{i},2024-01-01 10:00,site_visit,web\n" for i in range(n))


def _truncated_gz(p: Path) -> None:
    data = gzip.compress((EV + "\n" + _rows(2000)).encode(), mtime=0)
    p.write_bytes(data[: len(data) // 2])


def _corrupt_gz(p: Path) -> None:
    data = bytearray(gzip.compress((EV + "\n" + _rows(2000)).encode(), mtime=0))
    data[-6] ^= 0xFF  # a byte of the stored length: the check at the end fails
    p.write_bytes(bytes(data))


def _zip(p: Path) -> None:
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("events.csv", EV + "\na,2024-01-01,site_visit,web\n")


def _truncated_parquet(p: Path) -> None:
    buf = io.BytesIO()
    pl.DataFrame({"customer_id": [f"c{i}" for i in range(100)]}).write_parquet(buf)
    p.write_bytes(buf.getvalue()[:-30])


def _events_frame(**cols) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    base = {
        "customer_id": [f"c{i}" for i in range(n)],
        "timestamp": ["2024-01-01 10:00"] * n,
        "touchpoint": ["site_visit"] * n,
        "channel": ["web"] * n,
    }
    return pl.DataFrame({**base, **cols})


def _late_key_ndjson(widen: bool) -> str:
    # 10,050 plain lines, then one whose revenue is 5.5 (widen) or that adds a new key
    lines = [_ev(i, revenue=1) for i in range(10_050)]
    lines.append(_ev("z", revenue=5.5) if widen else _ev("z", revenue=1, coupon="SPRING"))
    return ndjson(*lines)


# --------------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Loaded:
    """A correct load: exact counts, set-aside reasons, warnings and some loaded values."""

    rows: int
    loaded: int
    aside: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    values: dict[str, list] = field(default_factory=dict)  # loaded values, in file order
    columns: tuple[str, ...] = ()  # columns the loaded frame must have


@dataclass(frozen=True)
class Fails:
    """A DataError whose message holds every fragment (besides the file name)."""

    fragments: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    write: Callable[[Path], None]
    expect: Loaded | Fails
    table: str = "events"
    options: dict = field(default_factory=dict)  # timezone, timestamp_formats, separator, mapping
    slow: bool = False  # over ~2 s: left out of `make test-fast`


CASES = [
    # ---- compression and containers
    Case(
        "plain text named .csv.gz",
        "events.csv.gz",
        text(EV + "\na,2024-01-01,site_visit,web\n"),
        Fails(("not gzip-compressed", "Rename it to 'events.csv'")),
    ),
    Case(
        "truncated .csv.gz",
        "events.csv.gz",
        _truncated_gz,
        Fails(("truncated or corrupt", "compress")),
    ),
    Case(
        "corrupt .csv.gz (length check fails)",
        "events.csv.gz",
        _corrupt_gz,
        Fails(("truncated or corrupt", "Copy or compress the events export again")),
    ),
    Case(
        "gzip data named .csv",
        "events.csv",
        gz((EV + "\n" + _rows(2)).encode()),
        Fails(("gzip-compressed", "'events.csv.gz'")),
    ),
    Case(
        "gzip of nothing",
        "events.csv.gz",
        gz(b""),
        Fails(("holds no data", "Export the events table again")),
    ),
    Case(
        "gz containing NDJSON",
        "events.ndjson.gz",
        gz(ndjson(_ev(1), _ev(2)).encode()),
        Loaded(2, 2, values={"customer_id": ["c1", "c2"]}),
    ),
    Case(
        "gz containing a TSV",
        "events.tsv.gz",
        gz(b"customer_id\ttimestamp\ttouchpoint\tchannel\nc1\t2024-01-01\tsite_visit\tweb\n"),
        Loaded(1, 1),
    ),
    Case(
        "gz of a UTF-8 CSV with a byte-order mark and \\r\\n",
        "events.csv.gz",
        gz(b"\xef\xbb\xbf" + f"{EV}\r\nc1,2024-01-01,site_visit,web\r\n".encode()),
        Loaded(1, 1, values={"customer_id": ["c1"], "channel": ["web"]}),
    ),
    Case(
        "zip archive named .csv",
        "events.csv",
        _zip,
        Fails(("ZIP archive", "save the sheet as CSV")),
    ),
    Case(
        "old Excel workbook named .csv",
        "events.csv",
        raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600),
        Fails(("old Excel workbook", "Save the sheet as CSV")),
    ),
    Case(
        "CSV named .parquet",
        "events.parquet",
        text(EV + "\na,2024-01-01,site_visit,web\n"),
        Fails(("not Parquet", "'PAR1'", "Export the events table as Parquet again")),
    ),
    Case(
        "truncated Parquet",
        "events.parquet",
        _truncated_parquet,
        Fails(("Parquet", "export it again")),
    ),
    # ---- not a regular file
    Case(
        "a folder where the file should be",
        "events.csv",
        lambda p: p.mkdir(),
        Fails(("is a folder", "[files]")),
    ),
    Case(
        "a FIFO (must not hang)",
        "events.csv",
        lambda p: os.mkfifo(p),
        Fails(("named pipe", "regular file")),
    ),
    Case(
        "a link to /dev/zero (must not hang)",
        "events.csv",
        lambda p: p.symlink_to("/dev/zero"),
        Fails(("device or special file", "regular file")),
    ),
    Case(
        "a link to nowhere",
        "events.csv",
        lambda p: p.symlink_to(p.parent / "gone.csv"),
        Fails(("does not exist", "[files]")),
    ),
    # ---- encodings and line endings
    Case(
        "old-Mac \\r line endings",
        "events.csv",
        text(f"{EV}\rc1,2024-01-01,site_visit,web\rc2,2024-01-02,site_visit,web\r"),
        Loaded(2, 2, values={"customer_id": ["c1", "c2"]}),
    ),
    Case(
        "Windows \\r\\n line endings",
        "events.csv",
        text(f"{EV}\r\nc1,2024-01-01,site_visit,web\r\n"),
        Loaded(1, 1, values={"channel": ["web"]}),
    ),
    Case(
        "a lone \\r in a \\n file",
        "events.csv",
        text(
            f"{EV}\nc1,2024-01-01,site_visit,web\nc2,2024-01-01,site_visit,web\rc3,2024-01-01,site_visit,web\n"
        ),
        Fails(("line 3", "carriage return", "one kind of line ending")),
    ),
    Case(
        "UTF-16 tab-separated (Excel 'Unicode text')",
        "events.tsv",
        raw(
            "customer_id\ttimestamp\ttouchpoint\tchannel\nc1\t2024-01-01\tsite_visit\tcafé\n".encode(
                "utf-16"
            )
        ),
        Loaded(1, 1, values={"channel": ["café"]}),
    ),
    Case(
        "UTF-16 big-endian CSV",
        "events.csv",
        raw(b"\xfe\xff" + f"{EV}\nc1,2024-01-01,site_visit,web\n".encode("utf-16-be")),
        Loaded(1, 1, values={"customer_id": ["c1"]}),
    ),
    Case(
        "UTF-8 with a byte-order mark",
        "events.csv",
        raw(b"\xef\xbb\xbf" + f"{EV}\nc1,2024-01-01,site_visit,web\n".encode()),
        Loaded(1, 1, values={"customer_id": ["c1"]}),
    ),
    Case(
        "Latin-1 bytes",
        "events.csv",
        raw(f"{EV}\nc1,2024-01-01,site_visit,web\nc2,2024-01-01,caf\xe9,web\n".encode("latin-1")),
        Fails(("line 3", "not UTF-8", "Re-save the file as UTF-8")),
    ),
    Case(
        "NDJSON with a byte-order mark",
        "events.ndjson",
        raw(b"\xef\xbb\xbf" + ndjson(_ev(1), _ev(2)).encode()),
        Loaded(2, 2, values={"customer_id": ["c1", "c2"]}),
    ),
    # ---- delimited structure
    Case(
        "blank lines are not rows",
        "events.csv",
        text(f"{EV}\nc1,2024-01-01,site_visit,web\n\n\nc2,2024-01-01,site_visit,web\n\n"),
        # by hand: polars reads 5 rows, rows 2, 3 and 5 are blank lines
        Loaded(2, 2, warnings={"blank_lines": 3}, values={"source_row": [1, 4]}),
    ),
    Case(
        "a line of spaces and empty fields",
        "events.csv",
        text(f"{EV}\nc1,2024-01-01,site_visit,web\n   \n , ,,\n"),
        Loaded(1, 1, warnings={"blank_lines": 2}),
    ),
    Case(
        "only blank lines after the header",
        "events.csv",
        text(f"{EV}\n\n\n"),
        Fails(("2 blank lines", "no data rows", "Export the events table again")),
    ),
    Case(
        "quoted newline inside a field",
        "events.csv",
        text(
            f'{EV},note\nc1,2024-01-01,site_visit,web,"two\nlines"\nc2,2024-01-01,site_visit,web,ok\n'
        ),
        Loaded(2, 2, values={"note": ["two\nlines", "ok"]}),
    ),
    Case(
        "unterminated quote",
        "events.csv",
        text(f'{EV}\nc1,2024-01-01,"site_visit,web\nc2,2024-01-01,site_visit,web\n'),
        Fails(("data row 1", "line 2", "Check quoting")),
    ),
    Case(
        "a row with too many fields",
        "events.csv",
        text(f"{EV}\nc1,2024-01-01,site_visit,web\nc2,2024-01-01,site_visit,web,extra\n"),
        Fails(("data row 2", "line 3", "5 fields but the header has 4", "separator")),
    ),
    Case(
        "a row with too few fields (missing read as empty)",
        "events.csv",
        text(f"{EV}\nc1,2024-01-01,site_visit\nc2,2024-01-01,site_visit,web\n"),
        Loaded(2, 1, aside={"missing_value": 1}, values={"source_row": [2]}),
    ),
    Case(
        "header only",
        "events.csv",
        text(EV + "\n"),
        Fails(("header but no data rows", "Export the events table again")),
    ),
    Case("empty file", "events.csv", text(""), Fails(("0 bytes", "Export the events table again"))),
    Case(
        "duplicate header names",
        "events.csv",
        text(f"{EV},channel\nc1,2024-01-01,site_visit,web,app\n"),
        Fails(("'channel' twice", "columns 4 and 5", "Rename one of them")),
    ),
    Case(
        "duplicate header names once spaces are stripped",
        "events.csv",
        text(
            "customer_id, timestamp,touchpoint,channel,timestamp \nc1,2024-01-01,site_visit,web,x\n"
        ),
        Fails(("'timestamp' twice", "columns 2 and 5")),
    ),
    Case(
        "whitespace-padded header names",
        "events.csv",
        text(" customer_id , timestamp ,touchpoint,channel\nc1,2024-01-01,site_visit,web\n"),
        Loaded(1, 1),
    ),
    Case(
        "header repeated mid-file (two exports concatenated)",
        "events.csv",
        text(f"{EV}\nc1,2024-01-01,site_visit,web\n{EV}\nc2,2024-01-01,site_visit,web\n"),
        # the repeated header is data row 2: 'timestamp' is not a time
        Loaded(3, 2, aside={"unparsable_timestamp": 1}, values={"source_row": [1, 3]}),
    ),
    Case(
        "semicolons without a separator setting",
        "events.csv",
        text("customer_id;timestamp;touchpoint;channel\nc1;2024-01-01;site_visit;web\n"),
        Fails(("looks ;-separated", "files.separator = ';'")),
    ),
    Case(
        "semicolons with separator = ';'",
        "events.csv",
        text("customer_id;timestamp;touchpoint;channel\nc1;2024-01-01;site_visit;web\n"),
        Loaded(1, 1),
        options={"separator": ";"},
    ),
    Case(
        "a .tsv that holds commas",
        "events.tsv",
        text(f"{EV}\nc1,2024-01-01,site_visit,web\n"),
        Fails(("looks ,-separated", "files.separator = ','")),
    ),
    Case(
        "a trailing separator on every line",
        "events.csv",
        text(f"{EV},\nc1,2024-01-01,site_visit,web,\n"),
        Loaded(1, 1, columns=("column_5",)),
    ),
    Case(
        "one huge line (5 MB field)",
        "events.csv",
        text(f"{EV},note\nc1,2024-01-01,site_visit,web,{'y' * 5_000_000}\n"),
        Loaded(1, 1),
    ),
    # ---- values in text files
    Case(
        'Excel ="00123" ids',
        "events.csv",
        text(f'{EV}\n="00123",2024-01-01,site_visit,web\n="0042",2024-01-01,site_visit,web\n'),
        Loaded(2, 2, values={"customer_id": ["00123", "0042"]}),
    ),
    Case(
        "ids with leading zeros stay text",
        "events.csv",
        text(f"{EV}\n00123,2024-01-01,site_visit,web\n0042,2024-01-01,site_visit,web\n"),
        Loaded(2, 2, values={"customer_id": ["00123", "0042"]}),
    ),
    Case(
        "ids written as floats stay as written",
        "events.csv",
        text(f"{EV}\n1.0e5,2024-01-01,site_visit,web\n7.0,2024-01-01,site_visit,web\n"),
        Loaded(2, 2, values={"customer_id": ["1.0e5", "7.0"]}),
    ),
    Case(
        "NULL / N/A / - as ids",
        "events.csv",
        text(
            f"{EV}\nNULL,2024-01-01,site_visit,web\nN/A,2024-01-01,site_visit,web\n-,2024-01-01,site_visit,web\nc1,2024-01-01,site_visit,web\n"
        ),
        Loaded(4, 1, aside={"null_customer_id": 3}, values={"source_row": [4]}),
    ),
    Case(
        "placeholders as revenue are no revenue",
        "events.csv",
        text(
            f"{EV},revenue\nc1,2024-01-01,purchase,web,N/A\nc2,2024-01-01,purchase,web,NaN\nc3,2024-01-01,purchase,web,12.5\n"
        ),
        Loaded(3, 3, values={"revenue": [None, None, 12.5]}),
    ),
    Case(
        "revenue with currency symbols and thousands separators",
        "events.csv",
        text(
            f'{EV},revenue\nc1,2024-01-01,purchase,web,$12\nc2,2024-01-01,purchase,web,"1,234.56"\nc3,2024-01-01,purchase,web,"1.234,56"\nc4,2024-01-01,purchase,web,12 €\nc5,2024-01-01,purchase,web,1234.56\n'
        ),
        Loaded(5, 1, aside={"unparsable_value": 4}, values={"revenue": [1234.56]}),
    ),
    Case(
        "negative zero revenue",
        "events.csv",
        text(f"{EV},revenue\nc1,2024-01-01,purchase,web,-0\nc2,2024-01-01,purchase,web,-0.0\n"),
        Loaded(2, 2, values={"revenue": [0.0, 0.0]}),
    ),
    Case(
        "infinite and overflowing revenue",
        "events.csv",
        text(
            f"{EV},revenue\nc1,2024-01-01,purchase,web,inf\nc2,2024-01-01,purchase,web,-Infinity\nc3,2024-01-01,purchase,web,1e400\nc4,2024-01-01,purchase,web,1e30\n"
        ),
        Loaded(4, 1, aside={"unparsable_value": 3}, values={"revenue": [1e30]}),
    ),
    Case(
        "timestamps as epoch seconds",
        "events.csv",
        text(f"{EV}\nc1,1704067200,site_visit,web\n"),
        Loaded(1, 0, aside={"unparsable_timestamp": 1}),
    ),
    Case(
        "epoch seconds with timestamp_formats = ['%s']",
        "events.csv",
        text(f"{EV}\nc1,1704067200,site_visit,web\n"),
        Loaded(1, 1, values={"timestamp": [dt.datetime(2024, 1, 1, tzinfo=UTC)]}),
        options={"timestamp_formats": ["%s"]},
    ),
    Case(
        "scientific-notation timestamps",
        "events.csv",
        text(f"{EV}\nc1,1.7e9,site_visit,web\nc2,2024-01-01,site_visit,web\n"),
        Loaded(2, 1, aside={"unparsable_timestamp": 1}),
    ),
    Case(
        "dates without times, read in the client's zone",
        "events.csv",
        text(f"{EV}\nc1,2024-07-01,site_visit,web\n"),
        # Paris in July is UTC+2: local midnight is 22:00 UTC the day before
        Loaded(1, 1, values={"timestamp": [dt.datetime(2024, 6, 30, 22, 0, tzinfo=UTC)]}),
        options={"timezone": "Europe/Paris"},
    ),
    Case(
        "churned as yes/no/1/0/TRUE",
        "customers.csv",
        text("customer_id,churned\na,yes\nb,NO\nc,1\nd,TRUE\ne,0\nf, y \n"),
        Loaded(6, 6, values={"churned": [True, False, True, True, False, True]}),
        table="customers",
    ),
    Case(
        "churned as maybe / 2",
        "customers.csv",
        text("customer_id,churned\na,maybe\nb,2\nc,false\n"),
        Loaded(3, 1, aside={"unparsable_value": 2}),
        table="customers",
    ),
    Case(
        "a repeated customer",
        "customers.csv",
        text("customer_id,segment\na,x\nb,y\na,z\n"),
        Loaded(3, 2, aside={"duplicate_customer": 1}, values={"segment": ["x", "y"]}),
        table="customers",
    ),
    Case(
        "scores as 7.0, ' 9 ' and \"3\"",
        "feedback.csv",
        text(f'{FB}\na,2024-01-01,nps,7.0\nb,2024-01-01,nps, 9 \nc,2024-01-01,csat,"3"\n'),
        Loaded(3, 3, values={"score": [7, 9, 3]}),
        table="feedback",
    ),
    Case(
        "a score of 1e30, 6.5 and N/A",
        "feedback.csv",
        text(
            f"{FB}\na,2024-01-01,nps,1e30\nb,2024-01-01,nps,6.5\nc,2024-01-01,nps,N/A\nd,2024-01-01,nps,10\n"
        ),
        Loaded(4, 1, aside={"score_out_of_range": 1, "unparsable_value": 1, "missing_value": 1}),
        table="feedback",
    ),
    Case(
        "empty optional feedback file",
        "feedback.csv",
        text(""),
        Loaded(0, 0, warnings={"empty_file": 1}),
        table="feedback",
    ),
    Case(
        "optional customers file with a header only",
        "customers.csv",
        text("customer_id,segment\n"),
        Loaded(0, 0, warnings={"empty_file": 1}),
        table="customers",
    ),
    Case(
        "optional feedback file of blank lines",
        "feedback.csv",
        text(f"{FB}\n\n \n"),
        Loaded(0, 0, warnings={"empty_file": 1}),
        table="feedback",
    ),
    # ---- NDJSON
    Case(
        "NDJSON key first seen after line 10,000",
        "events.ndjson",
        text(_late_key_ndjson(widen=False)),
        Loaded(10_051, 10_051, columns=("coupon",)),
    ),
    Case(
        "NDJSON revenue widening from int to 5.5 at line 10,051",
        "events.ndjson",
        text(_late_key_ndjson(widen=True)),
        Loaded(10_051, 10_051),
    ),
    Case(
        "NDJSON top-level array",
        "events.ndjson",
        text(json.dumps([_ev(1), _ev(2)]) + "\n"),
        Fails(("line 1", "one array", "jq -c")),
    ),
    Case(
        "NDJSON with one malformed line",
        "events.ndjson",
        text(ndjson(_ev(1), _ev(2)) + '{"customer_id": "c3",\n' + ndjson(_ev(4))),
        Fails(("line 3", "JSON object", "fix or remove that line")),
    ),
    Case(
        "NDJSON with a bare number line",
        "events.ndjson",
        text(ndjson(_ev(1)) + "7\n"),
        Fails(("line 2", "found a number", "fix or remove that line")),
    ),
    Case(
        "NDJSON with blank lines",
        "events.ndjson",
        text(ndjson(_ev(1)) + "\n\n" + ndjson(_ev(2))),
        Loaded(2, 2),
    ),
    Case(
        "NDJSON object as an id",
        "events.ndjson",
        text(ndjson({**_ev(1), "customer_id": {"id": 1}})),
        Fails(("column 'customer_id'", "objects", "[columns.events]")),
    ),
    Case(
        "NDJSON ids as numbers and text",
        "events.ndjson",
        text(ndjson({**_ev(1), "customer_id": 17}, _ev(2))),
        Loaded(2, 2, values={"customer_id": ["17", "c2"]}),
    ),
    Case(
        "NDJSON revenue as text and as a number",
        "events.ndjson",
        text(ndjson(_ev(1, revenue="12.5"), _ev(2, revenue=3), _ev(3, revenue="abc"))),
        Loaded(3, 2, aside={"unparsable_value": 1}, values={"revenue": [12.5, 3.0]}),
    ),
    Case(
        "NDJSON nested 100,000 levels deep",
        "events.ndjson",
        text(json.dumps(_ev(1))[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),
        Fails(("line 1", "nested too deeply", "fix or remove that line")),
    ),
    Case(
        "NDJSON number 1e400",
        "events.ndjson",
        text(ndjson(_ev(1)) + json.dumps(_ev(2))[:-1] + ', "revenue": 1e400}\n'),
        Fails(("line 2", "too large", "fix or remove that line")),
    ),
    Case(
        "NDJSON key holding an object, then a list",
        "events.ndjson",
        text(ndjson(_ev(1, extra={"a": 1}), _ev(2), _ev(3, extra=[1]))),
        Fails(("key 'extra'", "line 1", "line 3", "one kind of value")),
    ),
    # ---- hostile bytes in delimited files
    Case(
        "NUL bytes in the header (UTF-16 without a byte-order mark)",
        "events.csv",
        raw(f"{EV}\nc1,2024-01-01,site_visit,web\n".encode("utf-16-le")),
        Fails(("column 1 of the header", "control character", "re-save the file as UTF-8")),
    ),
    Case(
        "a header wider than 64 KiB",
        "events.csv",
        text(
            EV
            + "".join(f",attr{i}" for i in range(12_000))
            + "\nc1,2024-01-01,site_visit,web"
            + ",1" * 12_000
            + "\n"
        ),
        Loaded(1, 1, columns=("attr0", "attr11999")),
        slow=True,
    ),
    Case(
        "a misspelt column whose name needs TOML escaping",
        "events.csv",
        text('"customer_id\\""",timestamp,touchpoint,channel\nc1,2024-01-01,site_visit,web\n'),
        Fails(("required column 'customer_id' not found", '"customer_id\\\\\\"" = "customer_id"')),
    ),
    Case(
        "a column name with an apostrophe, close to customer_id",
        "events.csv",
        text("customer's_id,timestamp,touchpoint,channel\nc1,2024-01-01,site_visit,web\n"),
        Fails(("required column 'customer_id' not found", "[columns.events]")),
    ),
    # ---- Parquet
    Case(
        "Parquet list column as the id",
        "events.parquet",
        parquet(_events_frame(customer_id=[["a"], ["b"]])),
        Fails(("column 'customer_id'", "lists", "plain text or number column")),
    ),
    Case(
        "Parquet struct column as the touchpoint",
        "events.parquet",
        parquet(_events_frame(touchpoint=[{"x": 1}])),
        Fails(("column 'touchpoint'", "objects", "[columns.events]")),
    ),
    Case(
        "Parquet list column as an attribute is kept",
        "events.parquet",
        parquet(_events_frame(tags=[["a", "b"], []])),
        Loaded(2, 2, columns=("tags",)),
    ),
    Case(
        "Parquet binary ids that are UTF-8",
        "events.parquet",
        parquet(_events_frame(customer_id=pl.Series([b"c1", b"c2"], dtype=pl.Binary))),
        Loaded(2, 2, values={"customer_id": ["c1", "c2"]}),
    ),
    Case(
        "Parquet binary ids that are not UTF-8",
        "events.parquet",
        parquet(_events_frame(customer_id=pl.Series([b"c1", b"\xff\xfe"], dtype=pl.Binary))),
        Fails(("column 'customer_id'", "row 2", "UTF-8")),
    ),
    Case(
        "Parquet float ids with NaN and inf",
        "events.parquet",
        parquet(_events_frame(customer_id=[1.0, float("nan"), 1e5, float("inf"), 2.5])),
        # NaN and inf are no id: set aside; whole floats read as the integer
        Loaded(5, 3, aside={"null_customer_id": 2}, values={"customer_id": ["1", "100000", "2.5"]}),
    ),
    Case(
        "Parquet integer ids",
        "events.parquet",
        parquet(_events_frame(customer_id=[7, 8])),
        Loaded(2, 2, values={"customer_id": ["7", "8"]}),
    ),
    Case(
        "Parquet categorical and enum columns",
        "events.parquet",
        parquet(
            _events_frame(
                touchpoint=pl.Series(
                    ["site_visit", "purchase"], dtype=pl.Enum(["purchase", "site_visit"])
                ),
                channel=pl.Series(["web", "app"], dtype=pl.Categorical),
            )
        ),
        Loaded(2, 2, values={"touchpoint": ["site_visit", "purchase"], "channel": ["web", "app"]}),
    ),
    Case(
        "Parquet ns timestamps with a time zone",
        "events.parquet",
        parquet(
            _events_frame(
                timestamp=pl.Series([dt.datetime(2024, 7, 1, 12)]).cast(
                    pl.Datetime("ns", "Europe/Paris")
                )
            )
        ),
        Loaded(1, 1, values={"timestamp": [dt.datetime(2024, 7, 1, 12, tzinfo=UTC)]}),
    ),
    Case(
        "Parquet naive ms timestamps, read in the client's zone",
        "events.parquet",
        parquet(
            _events_frame(
                timestamp=pl.Series([dt.datetime(2024, 7, 1, 12)]).cast(pl.Datetime("ms"))
            )
        ),
        Loaded(1, 1, values={"timestamp": [dt.datetime(2024, 7, 1, 10, tzinfo=UTC)]}),
        options={"timezone": "Europe/Paris"},
    ),
    Case(
        "Parquet timestamps as epoch integers",
        "events.parquet",
        parquet(_events_frame(timestamp=[1704067200])),
        Loaded(1, 0, aside={"unparsable_timestamp": 1}),
    ),
    Case(
        "Parquet float scores of 1e30 and NaN",
        "feedback.parquet",
        parquet(
            pl.DataFrame(
                {
                    "customer_id": ["a", "b", "c"],
                    "timestamp": ["2024-01-01"] * 3,
                    "survey": ["nps"] * 3,
                    "score": [1e30, float("nan"), 9.0],
                }
            )
        ),
        Loaded(3, 1, aside={"score_out_of_range": 1, "missing_value": 1}, values={"score": [9]}),
        table="feedback",
    ),
    Case(
        "Parquet with no rows",
        "events.parquet",
        parquet(_events_frame(customer_id=pl.Series([], dtype=pl.String))),
        Fails(("no data rows", "Export the events table again")),
    ),
    Case(
        "Parquet revenue column of nulls only",
        "events.parquet",
        parquet(_events_frame(revenue=[None, None])),
        Loaded(2, 2, values={"revenue": [None, None]}),
    ),
]


def _loader(table: str):
    return {"events": load_events, "feedback": load_feedback, "customers": load_customers}[table]


def _load_direct(case: Case, path: Path):
    opts = dict(case.options)
    mapping = opts.pop("mapping", None)
    kwargs = {
        "timestamp_formats": opts.get("timestamp_formats", ()),
        "separator": opts.get("separator"),
    }
    if case.table != "customers":
        kwargs |= {"timezone": opts.get("timezone", "UTC"), "as_of": AS_OF}
    if case.table != "events":
        kwargs["optional"] = True  # as load_client reads them
    return _loader(case.table)(path, mapping, **kwargs)


def _client_folder(case: Case, folder: Path) -> None:
    lines = [
        'name = "Corpus"',
        "as_of = 2025-01-01",
        f'timezone = "{case.options.get("timezone", "UTC")}"',
    ]
    target = folder / case.file
    if target.is_symlink() and not target.resolve().is_relative_to(folder.resolve()):
        # client.toml refuses a link out of the folder (ConfigError); opt in, so that the
        # loader's own refusal of the file is what this case tests.
        lines.append("allow_outside_folder = true")
    if "timestamp_formats" in case.options:
        lines.append(f"timestamp_formats = {json.dumps(case.options['timestamp_formats'])}")
    lines.append("[files]")
    files = {case.table: case.file}
    if case.table != "events":
        files["events"] = "events.csv"
        (folder / "events.csv").write_text(f"{EV}\na,2024-01-01,site_visit,web\n")
    lines += [f"{t} = {json.dumps(f)}" for t, f in files.items()]
    if "separator" in case.options:
        lines.append(f"separator = {json.dumps(case.options['separator'])}")
    (folder / "client.toml").write_text("\n".join(lines) + "\n")


def _check_loaded(
    exp: Loaded, *, rows, loaded, set_aside: pl.DataFrame, issues, frame: pl.DataFrame
):
    assert rows == exp.rows and loaded == exp.loaded, (rows, loaded)
    assert rows == loaded + set_aside.height  # rows read = loaded + set aside
    assert set_aside["reason"].null_count() == 0
    assert dict(Counter(set_aside["reason"].to_list())) == exp.aside
    by_issue = Counter()
    for i in issues:
        if i.severity == "set_aside":
            by_issue[i.reason] += i.rows
    assert dict(by_issue) == exp.aside
    warned = {
        i.reason: i.rows or 1
        for i in issues
        if i.severity == "warning" and i.reason not in _CLIENT_WARNINGS
    }
    assert warned == exp.warnings
    for column, want in exp.values.items():
        got = frame.get_column(column).to_list()
        assert got == want, (column, got)
        if column == "revenue":  # -0.0 == 0.0: check the sign too
            assert all(v is None or math.copysign(1, v) == 1 for v in got if v == 0)
    for column in exp.columns:
        assert column in frame.columns


def _check_error(err: pytest.ExceptionInfo, case: Case) -> None:
    message = str(err.value)
    assert case.file in message, message
    for fragment in case.expect.fragments:
        assert fragment in message, (fragment, message)
    assert err.value.__cause__ is None and (
        err.value.__context__ is None or err.value.__suppress_context__
    )
    # a fix given as a client.toml line is valid TOML that says what the message says
    if "files.separator = " in message:
        value = message.split("files.separator = ")[1].split(" in client.toml")[0]
        assert len(tomllib.loads(f"[files]\nseparator = {value}")["files"]["separator"]) == 1
    if "in client.toml, e.g. " in message:
        line = message.split("in client.toml, e.g. ")[1].removesuffix(".")
        ((source, canonical),) = tomllib.loads(line).items()
        # the suggested source is a column of the file (or the placeholder when none is close)
        assert canonical == "customer_id"
        assert source == "Your Column Name" or f"Columns in the file: {source}," in message


def _params(cases: list[Case]) -> list:
    """The cases as pytest parameters named after them, the slow ones marked ``slow``."""
    return [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else []) for c in cases]


@pytest.mark.parametrize("case", _params(CASES))
def test_corpus_case_with_the_loader(tmp_path, case):
    path = tmp_path / case.file
    case.write(path)
    if isinstance(case.expect, Fails):
        with pytest.raises(DataError) as err:
            _load_direct(case, path)
        _check_error(err, case)
        return
    res = _load_direct(case, path)
    _check_loaded(
        case.expect,
        rows=res.input_rows,
        loaded=res.loaded,
        set_aside=res.set_aside,
        issues=res.issues,
        frame=res.frame,
    )


@pytest.mark.parametrize("case", _params(CASES))
def test_corpus_case_through_load_client(tmp_path, case):
    folder = tmp_path / "corpus"
    folder.mkdir()
    case.write(folder / case.file)
    _client_folder(case, folder)
    if isinstance(case.expect, Fails):
        with pytest.raises(DataError) as err:
            load_client(folder)
        _check_error(err, case)
        return
    client = load_client(folder)
    (counts,) = [t for t in client.validation.tables if t.table == case.table]
    issues = [i for i in client.validation.issues if i.table == case.table]
    frame = getattr(client, case.table)
    _check_loaded(
        case.expect,
        rows=counts.input_rows,
        loaded=counts.loaded,
        set_aside=client.set_aside[case.table],
        issues=issues,
        frame=frame,
    )


_EVENT_CASES = [c for c in CASES if c.table == "events"]


@pytest.mark.parametrize("case", _params(_EVENT_CASES))
def test_corpus_events_case_out_of_core(tmp_path, case):
    # cxlab.io.outofcore applies the loader's rules lazily: the same error, or the same counts
    folder = tmp_path / "corpus"
    folder.mkdir()
    case.write(folder / case.file)
    _client_folder(case, folder)
    if isinstance(case.expect, Fails):
        with pytest.raises(DataError) as err:
            scan_events(folder).frame.collect()
        assert case.file in str(err.value)
        return
    scan = scan_events(folder)
    reasons = scan.frame.select("set_aside_reason").collect().to_series()
    exp = case.expect
    assert scan.rows == exp.rows and reasons.null_count() == exp.loaded
    assert dict(Counter(reasons.drop_nulls().to_list())) == exp.aside
    assert scan.blank_lines == exp.warnings.get("blank_lines", 0)


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 45 and len({c.name for c in CASES}) == len(CASES)


def test_an_empty_file_is_an_error_unless_optional(tmp_path):
    path = tmp_path / "feedback.csv"
    path.write_text(FB + "\n")
    with pytest.raises(DataError, match="header but no data rows"):
        load_feedback(path)
    res = load_feedback(path, optional=True)
    assert (
        res.input_rows == 0
        and res.frame.columns == load_feedback(path, optional=True).frame.columns
    )
    (issue,) = res.issues
    assert (
        issue.severity == "warning"
        and issue.reason == "empty_file"
        and "feedback.csv" in issue.message
    )


# --------------------------------------------------------------------------- property
_CELL = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "NULL",
            "N/A",
            "-",
            '="007"',
            "nan",
            "inf",
            "1e30",
            "-0",
            "c1",
            "c2",
            "2024-03-01 09:00",
            "2024-03-01T09:00+01:00",
            "site_visit",
            "web",
            "12.5",
            "\t",
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='\r\n"\x00'),
        max_size=6,
    ),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(_CELL, min_size=5, max_size=5), min_size=1, max_size=20))
def test_garbage_cells_are_loaded_set_aside_or_blank(tmp_path, rows):
    # Any cell values (quoted by polars' writer): every line is loaded, set aside with a reason
    # or skipped as a blank line, and each is counted exactly once.
    df = pl.DataFrame(
        rows, schema=["customer_id", "timestamp", "touchpoint", "channel", "revenue"], orient="row"
    )
    path = tmp_path / "events.csv"
    df.write_csv(path)
    try:
        res = load_events(path, as_of=AS_OF)
    except DataError as err:  # only when every line is blank
        assert "blank line" in str(err) and "no data rows" in str(err)
        return
    blank = sum(i.rows for i in res.issues if i.reason == "blank_lines")
    assert res.input_rows + blank == len(rows)
    assert res.frame.height + res.set_aside.height == res.input_rows
    seen = sorted(res.frame["source_row"].to_list() + res.set_aside["source_row"].to_list())
    assert len(set(seen)) == len(seen) and all(1 <= r <= len(rows) for r in seen)
    assert res.set_aside["reason"].null_count() == 0
    assert res.frame["customer_id"].null_count() == 0 and res.frame["timestamp"].null_count() == 0
    assert (
        res.frame["revenue"].is_nan().sum() == 0 and (res.frame["revenue"].drop_nulls() >= 0).all()
    )
