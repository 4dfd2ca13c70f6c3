"""Privacy: nothing raw in a pseudonymised report (issue 14 part 1).

Unit tests for the pieces (case-insensitive id replacement, coded columns, redacted
validation messages, error texts, salt file checks) and one end-to-end test that plants
personal data in every column of every table of a sample client, including rows that are
set aside, renders the pseudonymised report and searches every output for it.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
from pathlib import Path

import polars as pl
import pytest

from cxlab.contract.validation import Issue, ValidationReport
from cxlab.errors import ConfigError
from cxlab.io.client import load_client
from cxlab.io.loaders import unknown_touchpoints
from cxlab.report.display import table_html
from cxlab.report.privacy import (
    check_salt_file,
    looks_like_event_name,
    pseudonymize_frame,
    pseudonyms,
    read_or_create_secret,
    redact_error_text,
    redact_notebook,
    redact_run_record,
    redact_text,
)


# ------------------------------------------------------------------------ ids and text
def test_ids_in_text_are_replaced_in_any_letter_case():
    mapping = pseudonyms(pl.Series(["BK-100065"]), b"salt")
    pid = mapping.get_column("pseudonym")[0]
    frame = pl.DataFrame(
        {"customer_id": ["BK-100065"], "comment": ["I am bk-100065, also Bk-100065 and BK-100065"]}
    )
    out = pseudonymize_frame(frame, mapping)
    assert out.get_column("comment")[0] == f"I am {pid}, also {pid} and {pid}"


def test_pseudonyms_quoted_in_text_survive_masking():
    # 300 ids: their 12-hex-digit pseudonyms include runs of 6+ decimal digits (about one in
    # three), which mask_pii would turn into "[number]" if it ran after the replacement.
    ids = [f"cust-{i:04d}" for i in range(300)]
    mapping = pseudonyms(pl.Series(ids), b"salt")
    assert mapping.get_column("pseudonym").str.contains(r"\d{6}").any()  # the case is exercised
    frame = pl.DataFrame({"customer_id": ids, "comment": [f"ticket from {i.upper()}" for i in ids]})
    out = pseudonymize_frame(frame, mapping)
    expected = out.select(pl.lit("ticket from ") + pl.col("customer_id")).to_series()
    assert out.get_column("comment").to_list() == expected.to_list()


def test_coded_columns_keep_known_values_and_redact_others():
    mapping = pseudonyms(pl.Series(["BK-100065"]), b"salt")
    frame = pl.DataFrame(
        {
            "customer_id": ["BK-100065"] * 5,
            "touchpoint": ["purchase", "jo@x.io", "06 12 34 56 78", "bk-100065", "page\u202e_view"],
            "channel": ["web", "07700 900123", "web", "web", "web"],
            "reason": ["x\x00", None, None, None, None],
        }
    )
    out = pseudonymize_frame(frame, mapping, known={"touchpoint": {"purchase"}})
    pid = mapping.get_column("pseudonym")[0]
    assert out.get_column("touchpoint").to_list() == [
        "purchase",
        "[email]",
        "[phone]",
        pid,
        "page_view",
    ]
    assert out.get_column("channel").to_list() == ["web", "[phone]", "web", "web", "web"]
    assert out.get_column("reason").to_list() == ["x", None, None, None, None]


def test_prepared_enum_and_categorical_text_is_redacted_too():
    mapping = pseudonyms(pl.Series(["BK-100065"]), b"salt")
    frame = pl.DataFrame(
        {
            "customer_id": ["BK-100065"] * 2,
            "touchpoint": pl.Series(["purchase", "jo@x.io"]).cast(pl.Enum(["jo@x.io", "purchase"])),
            "segment": pl.Series(["vip", "555-8123"]).cast(pl.Categorical),
        }
    )
    out = pseudonymize_frame(frame, mapping, known={"touchpoint": {"purchase"}})
    assert out.get_column("touchpoint").to_list() == ["purchase", "[email]"]
    assert out.get_column("segment").to_list() == ["vip", "[phone]"]
    assert "jo@x.io" not in str(out.schema)  # no category of the Enum survives


def test_redact_text_removes_controls_and_masks():
    assert redact_text("a\x00b \u202ejo@x.io\u202c call 555 8123") == "ab [email] call [phone]"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("page_view", True),
        ("Checkout v2", True),
        ("support/chat", True),
        ("jo@x.io", False),
        ("06 12 34 56 78", False),
        ("BK-100065", False),
        ("order 123456", False),
        ("x" * 41, False),
        ("<script>", False),
    ],
)
def test_which_touchpoint_names_a_pseudonymised_report_shows(name, shown):
    assert looks_like_event_name(name) is shown


def test_a_customer_id_typed_as_touchpoint_is_hidden_even_if_it_looks_like_a_word():
    mapping = pl.DataFrame({"id": ["alice"], "pseudonym": ["C-000000000001"]})
    assert looks_like_event_name("Alice") and not looks_like_event_name("Alice", mapping)


# ------------------------------------------------------------------------ validation
def test_unknown_touchpoint_warning_redacted_keeps_event_names_and_rows():
    ev = pl.DataFrame(
        {
            "touchpoint": ["purchase", "teleport", "jo@x.io", "jo@x.io"],
            "source_row": pl.Series([1, 2, 3, 4], dtype=pl.UInt32),
        }
    )
    issue = unknown_touchpoints(ev, {"purchase": "purchase"}, file="events.csv")
    assert "'jo@x.io' (2 rows)" in issue.message  # the analyst's version names it
    safe = issue.redacted()
    assert "jo@x.io" not in safe.message
    assert "[hidden] (2 rows)" in safe.message and "'teleport' (1 rows)" in safe.message
    assert safe.values == (("[hidden]", 2), ("[hidden]", 1))  # no keep rule given: all hidden
    assert issue.redacted(keep=looks_like_event_name).values == (("[hidden]", 2), ("teleport", 1))
    assert safe.examples == (2, 3, 4) and safe.rows == 3


def test_set_aside_values_are_left_out_of_the_redacted_report(tmp_path):
    from cxlab.io.loaders import load_events

    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,timestamp,touchpoint,channel,revenue\n"
        "c1,2025-01-01T10:00:00Z,purchase,web,rev.leak@example.com\n"
        "c2,555-8123,purchase,web,\n"
        "c3,2025-01-01T11:00:00Z,purchase,web,12.5\n"
    )
    result = load_events(path, journey_map={"purchase": "purchase"})
    report = ValidationReport("t", [], result.issues)
    raw = report.to_frame().get_column("message").str.join(" ").item()
    assert "rev.leak@example.com" in raw and "555-8123" in raw  # the analyst sees the values
    safe = report.redacted().to_frame()
    text = safe.get_column("message").str.join(" ").item()
    assert "rev.leak" not in text and "8123" not in text and "Values like" not in text
    # row numbers and counts stay: row 1 (revenue) and row 2 (timestamp), one row each
    assert sorted(safe.get_column("examples").to_list()) == [[1], [2]]
    assert safe.get_column("rows").to_list() == [1, 1]


def test_redacted_issue_without_quoted_values_keeps_its_message():
    i = Issue(
        "events",
        "e.csv",
        "set_aside",
        "null_customer_id",
        "customer_id",
        2,
        (3, 9),
        "e.csv, column 'customer_id': 2 rows have no customer id.",
    )
    assert i.redacted() == i


# ------------------------------------------------------------------------ error texts
def test_error_texts_hide_quoted_values_but_keep_column_names():
    text = "events.csv, column 'Order Value': Values like 'jo@x.io', 'BK-100065', '0612345678'."
    assert redact_error_text(text) == (
        "events.csv, column 'Order Value': Values like '[hidden]', '[hidden]', '[hidden]'."
    )


def test_run_record_and_notebook_errors_are_redacted():
    record = {
        "client": "x",
        "failure": {
            "ename": "DataError",
            "evalue": "bad value 'jo@x.io' in row 4",
            "summary": "cell 3 ('client = load_client(Path(client_dir))'): DataError: bad value 'jo@x.io' in row 4",
            "traceback": "Traceback ...\nDataError: bad value 'jo@x.io' in row 4",
        },
    }
    out = redact_run_record(record)
    assert "jo@x.io" not in json.dumps(out)
    assert out["failure"]["summary"] == (
        "cell 3 ('client = load_client(Path(client_dir))'): DataError: "
        "bad value '[hidden]' in row 4"
    )
    assert record["failure"]["evalue"] == "bad value 'jo@x.io' in row 4"  # the input is not changed
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "outputs": [
                    {
                        "output_type": "error",
                        "ename": "DataError",
                        "evalue": "got 'jo@x.io'",
                        "traceback": ["\x1b[0;31mDataError\x1b[0m: got 'jo@x.io' call 555-8123"],
                    },
                    {
                        "output_type": "stream",
                        "name": "stderr",
                        "text": "warning: 06 12 34 56 78\n",
                    },
                ],
            }
        ]
    }
    redact_notebook(nb)
    outputs = nb["cells"][0]["outputs"]
    assert outputs[0]["evalue"] == "got '[hidden]'"
    assert outputs[0]["traceback"] == ["DataError: got '[hidden]' call [phone]"]
    assert outputs[1]["text"] == "warning: [phone]\n"


def test_report_tables_and_text_drop_bidi_and_nul():
    page = table_html(pl.DataFrame({"a": ["x\u202ey\x00z"]}))
    assert "\u202e" not in page and "\x00" not in page and "xyz" in page


def test_report_charts_drop_bidi_and_nul():
    import altair as alt

    from cxlab.report import display as show

    previous = alt.renderers.active
    show.setup()
    try:
        data = pl.DataFrame({"touchpoint": ["evil\u202eexe", "nul\x00"], "n": [1, 2]})
        chart = alt.Chart(data).mark_bar().encode(x="touchpoint", y="n", tooltip=["touchpoint"])
        bundle = chart.properties(title="t\u2066").to_dict()
        shown = json.dumps(
            chart.properties(title="t\u2066")._repr_mimebundle_(), ensure_ascii=False
        )
    finally:
        alt.renderers.enable(previous)
    assert "\u202e" in json.dumps(bundle, ensure_ascii=False)  # the raw spec carries it
    assert "\u202e" not in shown and "\u2066" not in shown and "\\u0000" not in shown
    assert "evilexe" in shown


# ------------------------------------------------------------------------ salt file
@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_salt_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / ".cxlab-salt"
    read_or_create_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=r"can be read by other users \(mode 0644\).*chmod 600"):
        read_or_create_secret(path)
    os.chmod(path, 0o600)
    assert len(read_or_create_secret(path)) == 32


def test_salt_file_inside_the_reports_folder_is_refused(tmp_path):
    out = tmp_path / "reports"
    with pytest.raises(ConfigError, match="inside the reports folder"):
        read_or_create_secret(out / "acme" / ".cxlab-salt", reports_dir=out)
    assert not (out / "acme").exists()  # refused before anything is created
    assert check_salt_file(tmp_path / ".cxlab-salt", out) == tmp_path / ".cxlab-salt"


def test_render_client_refuses_a_salt_file_in_the_reports_folder(tmp_path):
    from cxlab.report.batch import render_client

    out = tmp_path / "reports"
    record = render_client(tmp_path / "acme", out, salt_file=out / ".cxlab-salt")
    assert record["status"] == "failed" and record["failure"]["ename"] == "ConfigError"
    assert "inside the reports folder" in record["failure"]["evalue"]


@pytest.mark.e2e
@pytest.mark.slow
def test_failing_client_error_quoting_values_is_redacted_everywhere(tmp_path):
    """A notebook error quoting input values: run.json, report.ipynb and index.html hide them."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from cxlab.report.batch import render_client
    from cxlab.report.index import write_index

    params = new_code_cell("client_dir = ''")
    params.metadata["tags"] = ["parameters"]
    # the message comes from the client's input, as a loader's would (not from the code)
    boom = new_code_cell(
        "import pathlib\n"
        "from cxlab.errors import DataError\n"
        "raise DataError((pathlib.Path(client_dir) / 'msg.txt').read_text())"
    )
    nb = new_notebook(cells=[params, boom])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "boom.ipynb")
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "client.toml").write_text('name = "Acme"\n')
    (tmp_path / "acme" / "msg.txt").write_text(
        "events.csv, column 'Order Value': Values like 'err.leak@example.com', 'BK-100065'. "
        "Call 06 12 34 56 78."
    )
    out = tmp_path / "reports"
    record = render_client(
        tmp_path / "acme",
        out,
        notebook=tmp_path / "boom.ipynb",
        salt_file=tmp_path / ".s",
        timeout=120,
    )
    assert record["status"] == "failed" and record["failure"]["ename"] == "DataError"
    write_index([record], out)
    docs = [(out / "acme" / n).read_text(encoding="utf-8") for n in ("run.json", "report.ipynb")]
    docs.append((out / "index.html").read_text(encoding="utf-8"))
    for doc in docs:
        for secret in ("err.leak@example.com", "BK-100065", "06 12 34 56 78"):
            assert secret not in doc
    # what the reader needs stays: the exception (run.json), the column, what was hidden; the
    # index says it in plain words
    assert "Order Value" in docs[0] and "[hidden]" in docs[0] and "[phone]" in docs[0]
    assert "DataError" in docs[0] and "DataError" not in docs[2]
    assert (
        "The client&#x27;s data needs a fix: events.csv, column &#x27;Order Value&#x27;" in docs[2]
    )
    assert "[hidden]" in docs[2] and "[phone]" in docs[2]


# ------------------------------------------------------------------------ end to end
# Personal data planted in every column of every table of the bookshop sample. Rows 1-12
# of each file are rewritten; rows whose value breaks a type are set aside with a reason
# that quotes values ("Values like ...") in the analyst's validation report.
ID_IN_TEXT = "bk-100001"  # a real customer id of the sample, quoted in another case
PLANTED = {
    "events": [
        ("Order Value", "rev.leak@example.com"),  # set aside: unparsable revenue
        ("Action", "tp.leak@example.org"),  # kept: unknown touchpoint
        ("Action", "06 12 34 56 78"),  # kept: unknown touchpoint
        ("Medium", "07700 900123"),  # kept: channel
        ("Session", "sess.leak@example.net"),
        ("Event Time", "555-8123"),  # set aside: unparsable timestamp
        ("Action", ID_IN_TEXT),  # kept: a customer id typed as a touchpoint
        ("Customer Ref", "cid.leak@example.com"),  # an e-mail used as customer id
        ("Order Value", "030 12345678"),  # set aside
        ("Action", "evil\u202eexe"),  # bidi override in an unknown touchpoint
    ],
    "feedback": [
        ("Score", "0612345678"),  # set aside: score out of range
        ("Score", "score.leak@example.com"),  # set aside: unparsable
        ("Survey", "survey.leak@example.com"),  # set aside: unknown survey
        (
            "Comment",
            f"I am {ID_IN_TEXT}: mail comment.leak@example.com, +33 6 12 34 56 79, 555 8124",
        ),
        ("Trigger", "trigger.leak@example.com"),
        ("Response Time", "time.leak@example.com"),  # set aside: unparsable timestamp
    ],
    "customers": [
        ("Email", "email.leak@example.com"),  # a PII-named column: dropped
        ("Segment", "seg.leak@example.com"),
        ("Region", "+49 30 12345678"),
        ("Joined", "joined.leak@example.com"),  # set aside: unparsable date
        ("Favourite Genre", "genre.leak@example.com"),
        ("Loyalty Member", "0171-1234567"),
    ],
}
SECRETS = sorted(
    {v for rows in PLANTED.values() for _, v in rows if "@" in v or v[0].isdigit() or v[0] == "+"}
    | {"BK-100001", "0612345678", "06 12 34 56 79", "555 8124", "evil\u202eexe"}
)


def _plant(path: Path, plants: list[tuple[str, str]]) -> None:
    frame = pl.read_csv(path, infer_schema=False).with_row_index("_i")
    for i, (column, value) in enumerate(plants):
        frame = frame.with_columns(
            pl.when(pl.col("_i") == i + 1)
            .then(pl.lit(value))
            .otherwise(pl.col(column))
            .alias(column)
        )
    buf = io.BytesIO()
    frame.drop("_i").write_csv(buf)
    path.write_bytes(gzip.compress(buf.getvalue(), mtime=0))


@pytest.mark.e2e
@pytest.mark.slow
def test_pseudonymised_report_contains_none_of_the_planted_pii(tmp_path):
    from cxlab.io.sample import write_sample_clients
    from cxlab.report.batch import render_client
    from cxlab.report.index import write_index

    write_sample_clients(tmp_path / "clients", seed=7, customers=250, clients=["bookshop"])
    client_dir = tmp_path / "clients" / "bookshop"
    for table, plants in PLANTED.items():
        _plant(client_dir / f"{table}.csv.gz", plants)
    raw = load_client(client_dir)
    raw_messages = raw.validation.to_frame().get_column("message").str.join(" ").item()
    # the analyst's validation report does quote what was planted: the report must not
    for quoted in (
        "rev.leak@example.com",
        "555-8123",
        "0612345678",
        "tp.leak@example.org",
        ID_IN_TEXT,
    ):
        assert quoted in raw_messages, quoted

    out = tmp_path / "reports"
    record = render_client(client_dir, out, salt_file=tmp_path / ".cxlab-salt", timeout=300)
    assert record["status"] == "ok", record.get("failure")
    write_index([record], out)
    docs = {
        name: (out / "bookshop" / name).read_text(encoding="utf-8")
        for name in ("report.html", "report.ipynb", "run.json")
    }
    docs["index.html"] = (out / "index.html").read_text(encoding="utf-8")
    for name, doc in docs.items():
        for secret in SECRETS:
            for variant in {secret, secret.upper(), secret.lower(), json.dumps(secret)[1:-1]}:
                assert variant not in doc, (name, variant)
        assert "\u202e" not in doc and "\\u202e" not in doc.lower() and "\x00" not in doc, name
    # the appendix still reports the rows set aside, by row number, with the values hidden
    html = docs["report.html"]
    assert "Unparsable value" in html and "Score out of range" in html and "[hidden]" in html
