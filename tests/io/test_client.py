"""load_client and the `cxlab validate` command on a small hand-written client folder."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxlab.cli import main
from cxlab.errors import ConfigError, DataError
from cxlab.io.client import Client, load_client
from cxlab.io.loaders import empty_table

UTC = dt.UTC
SECRET_IDS = ("CUST-7731-SECRET", "CUST-0042-SECRET", "CUST-9999-GHOST")

CONFIG = """
name = "Pageturn Books"
timezone = "Europe/London"
start_date = "2020-01-01"
as_of = 2025-01-01
timestamp_formats = ["%d/%m/%Y %H:%M"]

[files]
events = "events.csv"
feedback = "feedback.ndjson"
customers = "customers.csv"

[columns.events]
"Customer Ref" = "customer_id"
"Event Time" = "timestamp"

[validation]
duplicate_events = "drop"
"""

# events by hand: 5 rows; row 4 has no id (set aside); row 5 repeats row 1 (set aside:
# duplicate_events = "drop").
# Row 3's touchpoint <script> is not in the journey map (kept, warned).
# Times: 01/03/2024 09:00 London (GMT) = 09:00 UTC; 2024-07-01 12:00 London (BST) = 11:00 UTC.
EVENTS = """Customer Ref,Event Time,touchpoint,channel,revenue
CUST-7731-SECRET,01/03/2024 09:00,site_visit,web,
CUST-7731-SECRET,2024-07-01 12:00,purchase,web,20
CUST-9999-GHOST,2024-07-02 12:00,<script>alert(1)</script>,app,
,2024-07-03 12:00,site_visit,web,
CUST-7731-SECRET,01/03/2024 09:00,site_visit,web,
"""
FEEDBACK = (
    '{"customer_id": "CUST-7731-SECRET", "timestamp": "2024-07-05T10:00:00Z", "survey": "nps", "score": 9}\n'
    '{"customer_id": "CUST-0042-SECRET", "timestamp": "2024-07-06T10:00:00Z", "survey": "nps", "score": 11}\n'
)
CUSTOMERS = """customer_id,segment,signup_date,churned
CUST-7731-SECRET,gold,2023-01-01,false
CUST-0042-SECRET,silver,2023-02-01,true
"""


@pytest.fixture
def client_dir(tmp_path):
    folder = tmp_path / "bookshop"
    folder.mkdir()
    (folder / "client.toml").write_text(CONFIG)
    (folder / "events.csv").write_text(EVENTS)
    (folder / "feedback.ndjson").write_text(FEEDBACK)
    (folder / "customers.csv").write_text(CUSTOMERS)
    return folder


def test_load_client(client_dir):
    client = load_client(client_dir)
    assert isinstance(client, Client)
    assert client.name == "Pageturn Books" and client.slug == "bookshop"
    assert client.events["source_row"].to_list() == [1, 2, 3]
    assert client.events["timestamp"].to_list()[:2] == [
        dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
        dt.datetime(2024, 7, 1, 11, 0, tzinfo=UTC),
    ]
    assert client.period == (
        dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
        dt.datetime(2024, 7, 2, 11, 0, tzinfo=UTC),
    )
    assert dict(client.set_aside["events"].select("source_row", "reason").iter_rows()) == {
        4: "null_customer_id",
        5: "duplicate_event",
    }
    assert client.set_aside["feedback"]["reason"].to_list() == ["score_out_of_range"]
    assert client.customers.height == 2 and client.feedback.height == 1
    counts = {t.table: (t.input_rows, t.loaded, t.set_aside) for t in client.validation.tables}
    assert counts == {"events": (5, 3, 2), "feedback": (2, 1, 1), "customers": (2, 2, 0)}
    warnings = {(w.table, w.reason): w for w in client.validation.warnings}
    assert set(warnings) == {("events", "unknown_touchpoint"), ("events", "unknown_customer")}
    assert warnings[("events", "unknown_customer")].examples == (3,)  # the GHOST row
    assert client.validation.one_line() == (
        "bookshop: events 3 loaded, 2 set aside (2 reasons); feedback 1 loaded, 1 set aside "
        "(1 reason); customers 2 loaded, 0 set aside; 2 warnings"
    )
    text = repr(client)
    assert (
        "bookshop" in text
        and "events 3 (+2 set aside)" in text
        and "2024-03-01 to 2024-07-02" in text
    )


def test_load_client_prepared(client_dir):
    from cxlab.contract.prepare import is_prepared, prepare_events

    plain = load_client(client_dir)
    client = load_client(client_dir, prepare=True)
    assert is_prepared(client.events) and not is_prepared(plain.events)
    assert client.events.equals(prepare_events(plain.events.clone()))  # afresh
    # the validation and the rows set aside are those of the plain load
    assert client.validation.one_line() == plain.validation.one_line()
    assert client.set_aside["events"].equals(plain.set_aside["events"])
    assert client.validation.issues == plain.validation.issues


def test_report_never_shows_customer_ids(client_dir):
    report = load_client(client_dir).validation
    texts = [
        report.summary(),
        report.one_line(),
        report._repr_html_(),
        repr(report),
        str(report.to_frame().rows()),
    ]
    for text in texts:
        for secret in SECRET_IDS:
            assert secret not in text
    assert "<script>" not in report._repr_html_()


def test_missing_optional_tables_are_empty_canonical_frames(client_dir):
    (client_dir / "client.toml").write_text(
        CONFIG.replace('feedback = "feedback.ndjson"\n', "").replace(
            'customers = "customers.csv"\n', ""
        )
    )
    client = load_client(client_dir)
    assert client.feedback.schema == empty_table("feedback").schema and client.feedback.height == 0
    assert client.customers.schema == empty_table("customers").schema
    assert set(client.set_aside) == {"events"}
    assert not any(w.reason == "unknown_customer" for w in client.validation.warnings)


def test_strict_raises_on_first_problem(client_dir):
    with pytest.raises(
        DataError, match=r"events.csv, column 'Customer Ref' \(-> customer_id\).*first rows 4"
    ):
        load_client(client_dir, strict=True)


def test_missing_file_and_config(client_dir, tmp_path):
    (client_dir / "customers.csv").unlink()
    with pytest.raises(DataError, match="customers.csv.*Files in"):
        load_client(client_dir)
    with pytest.raises(ConfigError):
        load_client(tmp_path)


def test_cli_validate(client_dir, capsys):
    assert main(["validate", str(client_dir), "--summary"]) == 0
    assert capsys.readouterr().out.strip().startswith("bookshop: events 3 loaded, 2 set aside")
    assert main(["validate", str(client_dir)]) == 0
    assert "null_customer_id" in capsys.readouterr().out
    broken = client_dir.parent / "broken"
    broken.mkdir()
    (broken / "client.toml").write_text('[files]\nevents = "events.csv"\n')
    (broken / "events.csv").write_text("customer_id,timestamp\n")
    assert main(["validate", str(client_dir.parent), "--all", "--summary"]) == 1
    captured = capsys.readouterr()
    assert "bookshop: events 3 loaded" in captured.out
    assert "broken: FAILED" in captured.err and "'touchpoint' not found" in captured.err
    assert "Traceback" not in captured.err


def test_client_frames_are_polars(client_dir):
    client = load_client(client_dir)
    assert all(
        isinstance(f, pl.DataFrame) for f in (client.events, client.feedback, client.customers)
    )
    assert client.customers.schema["churned"] == pl.Boolean


def _sample_clients():
    from cxlab.config import SAMPLE_DIR

    return sorted(
        p.parent for p in SAMPLE_DIR.glob("*/client.toml") if (p.parent / "truth.json").exists()
    )


@pytest.mark.parametrize("folder", _sample_clients(), ids=lambda p: p.name)
def test_planted_dirt_in_sample_clients_is_found(folder):
    # truth.json (written by `cxlab sample`) lists the dirty rows planted per table and reason.
    import json

    truth = json.loads((folder / "truth.json").read_text())["dirty_rows"]
    found: dict[str, dict[str, int]] = {}
    for issue in load_client(folder).validation.issues:
        found.setdefault(issue.table, {})[issue.reason] = issue.rows
    assert found == truth
