"""Unit tests of the report page, the index, atomic writes and pseudonymisation (no kernel)."""

from __future__ import annotations

import json
import os
import re
import stat
import threading

import nbformat
import polars as pl
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cxlab.report.atomic import atomic_write_text, remove_stale_temps
from cxlab.report.display import table_html
from cxlab.report.html import (
    REPORT_MIME,
    escape_json_for_html,
    export_html,
    external_references,
    report_facts,
)
from cxlab.report.index import index_html
from cxlab.report.privacy import (
    client_salt,
    default_salt_file,
    pseudonymize_frame,
    pseudonyms,
    read_or_create_secret,
)

PAYLOAD = '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
VL_MIME = "application/vnd.vegalite.v6+json"


def _spec(value: str) -> dict:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.4.1.json",
        "data": {"values": [{"segment": value, "n": 3}]},
        "mark": "bar",
        "encoding": {
            "x": {"field": "segment", "type": "nominal"},
            "y": {"field": "n", "type": "quantitative"},
            "tooltip": [{"field": "segment"}],
        },
    }


def _chart_output(value: str) -> dict:
    return new_output("display_data", data={VL_MIME: _spec(value), "text/plain": "<chart>"})


@pytest.fixture(scope="module")
def notebook() -> nbformat.NotebookNode:
    code = new_code_cell(
        "secret_code_marker = 1",
        outputs=[
            new_output(
                "display_data",
                data={
                    REPORT_MIME: {"client_name": "Acme <b>&</b>", "period": "Jan to Mar"},
                    "text/plain": "facts",
                },
            ),
            new_output("stream", name="stderr", text="DeprecationWarning: noisy\n"),
            _chart_output(PAYLOAD),
        ],
    )
    code2 = new_code_cell("second_code_marker = 2", outputs=[_chart_output("plain")])
    nb = new_notebook(
        cells=[
            new_markdown_cell("## Journey funnel"),
            code,
            new_markdown_cell("### Details"),
            code2,
            new_markdown_cell("## Appendix: data validation"),
        ]
    )
    return nb


@pytest.fixture(scope="module")
def page(notebook) -> str:
    return export_html(notebook)


def test_json_escaping_keeps_value_and_removes_markup():
    text = escape_json_for_html({"v": PAYLOAD, "amp": "a&b", "ls": "x\u2028y"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"v": PAYLOAD, "amp": "a&b", "ls": "x\u2028y"}


def test_bundle_inlined_once_and_nothing_external(page):
    # one vega bundle for two charts: vegaEmbed is defined once
    assert page.count("window.vegaEmbed=") == 1
    assert len(re.findall(r"<script[^>]*\bsrc=", page)) == 0
    assert external_references(page) == []
    assert "cdn.jsdelivr" not in page.split('<script type="module">')[0]
    assert "@import" not in page and "fonts.googleapis" not in page


def test_payload_cannot_end_a_script_block(page):
    # The raw payload never appears; inside the JSON block it is \\u003c-escaped.
    assert PAYLOAD not in page
    assert "</script><script>window.__pwned" not in page
    blocks = re.findall(
        r'<script type="application/json" class="cx-spec"[^>]*>(.*?)</script>', page, re.S
    )
    if not blocks:  # attribute order may differ after HTML re-serialisation
        blocks = re.findall(r'<script[^>]*class="cx-spec"[^>]*>(.*?)</script>', page, re.S)
    assert len(blocks) == 2
    values = [json.loads(b)["data"]["values"][0]["segment"] for b in blocks]
    assert values == [PAYLOAD, "plain"]


def test_header_toc_code_hidden_private_outputs_hidden(page):
    assert "Acme &lt;b&gt;&amp;&lt;/b&gt;" in page  # client name escaped in the header
    assert "Data period: Jan to Mar" in page and "Generated:" in page
    # the date format of the summary and sections ("01 Oct 2024"), not ISO
    assert re.search(r"Generated: \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d UTC", page)
    toc = re.search(r'<nav class="cx-toc".*?</nav>', page, re.S).group(0)
    assert [t for t in re.findall(r">([^<>]+)</a>", toc)] == [
        "Journey funnel",
        "Details",
        "Appendix: data validation",
    ]
    assert "secret_code_marker" not in page and "second_code_marker" not in page  # inputs excluded
    assert "DeprecationWarning" not in page  # stderr not shown to the client
    assert "client_name" not in page.split("<main")[1]  # the facts output is not content


def test_report_facts_reads_published_output(notebook):
    assert report_facts(notebook) == {"client_name": "Acme <b>&</b>", "period": "Jan to Mar"}


def test_external_html_output_is_refused():
    nb = new_notebook(
        cells=[
            new_code_cell(
                "x",
                outputs=[
                    new_output(
                        "display_data",
                        data={
                            "text/html": '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
                        },
                    )
                ],
            )
        ]
    )
    with pytest.raises(ValueError, match="offline"):
        export_html(nb)


def test_external_references_finds_loads_not_links():
    page = (
        '<link rel="stylesheet" href="https://fonts.example/x.css"><a href="https://ok.example">x</a>'
        '<img src="//cdn.example/i.png"><style>@import url("https://a.example/b.css");</style>'
    )
    assert external_references(page) == [
        "https://fonts.example/x.css",
        "//cdn.example/i.png",
        "https://a.example/b.css",
    ]


def test_table_html_escapes_every_cell_and_header():
    df = pl.DataFrame({"<th>": [PAYLOAD, None], "share": [0.5, 0.25], "n": [1, 2]})
    html_ = table_html(df, percent=["share"])
    assert "<script" not in html_ and "<img" not in html_ and "<th><th>" not in html_
    assert "&lt;/script&gt;" in html_ and "50.0%" in html_ and "25.0%" in html_
    assert html_.count("<tr>") == 3  # header + 2 rows, order kept


def test_table_html_escaped_columns_are_not_escaped_twice():
    html_ = table_html(pl.DataFrame({"v": ["a &amp; b"]}), escaped=["v"])
    assert "a &amp; b" in html_ and "&amp;amp;" not in html_


def test_index_escapes_and_sorts_without_network():
    runs = [
        {
            "client": "b",
            "status": "failed",
            "seconds": 1.0,
            "failure": {
                "kind": "error",
                "ename": "DataError",
                "evalue": "<script>x</script>",
                "summary": "cell 3: DataError: <script>x</script>",
            },
        },
        {
            "client": "a",
            "status": "ok",
            "seconds": 2.0,
            "html": "a/report.html",
            "facts": {
                "client_name": "A <i>",
                "conversion": 0.25,
                "nps": 10.0,
                "nps_low": 1.0,
                "nps_high": 19.0,
                "nps_n": 20,
                "churn_rate": 0.1,
            },
        },
    ]
    page = index_html(runs, "/nonexistent")
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    # the reader is told why in words, not with the cell and the exception's class name
    assert "The client&#x27;s data needs a fix: &lt;script&gt;" in page
    assert "DataError" not in page and "cell 3" not in page
    assert (
        "A &lt;i&gt;" in page
        and "25.0%" in page
        and "95% interval +1\u00a0to\u00a0+19" in page  # bounds kept on one line
        and "small sample" in page
    )
    assert page.index(">a<") < page.index(">b<")  # rows sorted by client
    assert external_references(page) == [] and "<script src" not in page


def test_atomic_write_replaces_whole_file_and_cleans_temps(tmp_path):
    target = tmp_path / "report.html"
    atomic_write_text(target, "old")
    (tmp_path / ".report.html.zz.tmp").write_text("half")  # what an interrupted write leaves
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in remove_stale_temps(tmp_path)] == [".report.html.zz.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_atomic_write_failure_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    atomic_write_text(target, "complete old index")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "complete old index"
    assert list(tmp_path.glob(".*.tmp")) == []


def test_salt_file_outside_reports_private_and_shared_by_parallel_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("CXLAB_SALT_FILE", raising=False)
    out = tmp_path / "reports"
    path = default_salt_file(out)
    assert path == tmp_path / ".cxlab-salt" and out not in path.parents
    secrets_seen: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: secrets_seen.append(read_or_create_secret(path)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(secrets_seen)) == 1 and len(secrets_seen[0]) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("CXLAB_SALT_FILE", str(tmp_path / "elsewhere" / "salt"))
    assert default_salt_file(out) == tmp_path / "elsewhere" / "salt"


def test_pseudonyms_are_salted_consistent_and_not_reversible_by_plain_hash():
    ids = pl.Series(["BK-1001", "BK-1002", "BK-1001"])
    a = pseudonyms(ids, client_salt(b"k", "shop"))
    b = pseudonyms(ids, client_salt(b"k", "bank"))
    assert a.height == 2 and a.get_column("pseudonym").n_unique() == 2
    assert (
        a.get_column("pseudonym").to_list() != b.get_column("pseudonym").to_list()
    )  # per-client salt
    assert a.equals(pseudonyms(ids, client_salt(b"k", "shop")))  # stable across runs
    assert not a.get_column("pseudonym").str.contains("1001").any()


def test_pseudonymize_frame_replaces_ids_everywhere_and_masks_pii():
    mapping = pseudonyms(pl.Series(["BK-100001", "BK-100002"]), b"salt")
    frame = pl.DataFrame(
        {
            "customer_id": ["BK-100001", "BK-100002"],
            "comment": ["I'm BK-100001, write to jane.doe@example.com", "call +44 20 7946 0958"],
            "segment": ["vip", "<b>x</b>"],
            "Email": ["a@b.com", None],
            "touchpoint": ["checkout", "site_visit"],
        }
    )
    out = pseudonymize_frame(frame, mapping)
    text = out.write_csv()
    assert "BK-100001" not in text and "BK-100002" not in text
    assert "jane.doe" not in text and "7946" not in text and "a@b.com" not in text
    assert "Email" not in out.columns and out.get_column("touchpoint").to_list() == [
        "checkout",
        "site_visit",
    ]
    # the same customer has the same pseudonym in the id column and in the text
    pid = out.get_column("customer_id")[0]
    assert pid in out.get_column("comment")[0]


def test_index_links_the_pdf_only_when_one_was_written(tmp_path):
    # three clients: a PDF written, a PDF asked for but not printable (record "pdf": None,
    # with the reason), and no --pdf at all; every one has its HTML page
    for slug in ("printed", "unprintable", "html_only"):
        (tmp_path / slug).mkdir()
        (tmp_path / slug / "report.html").write_text("<html></html>")
    (tmp_path / "printed" / "report.pdf").write_bytes(b"%PDF-1.4")
    runs = [
        {"client": "printed", "status": "ok", "html": "printed/report.html"},
        {"client": "unprintable", "status": "ok", "html": "unprintable/report.html"},
        {"client": "html_only", "status": "ok", "html": "html_only/report.html"},
    ]
    runs[0]["pdf"] = "printed/report.pdf"
    runs[1].update(pdf=None, pdf_failure="chromium not found")
    page = index_html(runs, tmp_path)
    assert page.count(">PDF</a>") == 1
    assert "<a href='printed/report.pdf'>PDF</a>" in page
    # a record naming a PDF that is not on disk (deleted since) gets no dead link
    (tmp_path / "printed" / "report.pdf").unlink()
    assert ">PDF</a>" not in index_html(runs, tmp_path)
