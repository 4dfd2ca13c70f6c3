"""A Qualtrics export, end to end: ``cxlab init`` -> ``cxlab validate`` -> ``cxlab report``.

The recipe of docs/guide/data.md ("A Qualtrics survey export"), with no edit: init declares the
questions from the export's header rows, validation is clean, the report shows every question
and the key drivers among the rated attributes, and no personal data of the export reaches
the report or run.json.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import pytest

from cxlab.cli import main

sys.path.insert(0, str(Path(__file__).parents[1]))
from fixtures.qualtrics import qualtrics_rows, write_qualtrics_export  # noqa: E402


def _text(page: str) -> str:
    page = re.sub(r"<(script|style).*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.e2e
@pytest.mark.notebook
@pytest.mark.slow
def test_qualtrics_export_from_init_to_report(tmp_path, capsys):
    export = write_qualtrics_export(tmp_path / "export.csv")
    client = tmp_path / "northwind"
    assert main(["init", str(client), "--feedback", str(export), "--name", "Northwind"]) == 0
    said = capsys.readouterr().out
    assert "is a Qualtrics export" in said and "cxlab validate: the client loads." in said
    assert main(["validate", str(client)]) == 0
    said = capsys.readouterr().out
    # 240 responses: every NPS and CSAT answer, the ratings given (not -99), 140 comments
    assert "0 set aside" in said
    out = tmp_path / "reports"
    assert main(["report", str(client), "--out", str(out)]) == 0
    page = (out / "northwind" / "report.html").read_text(encoding="utf-8")
    text = _text(page)
    # every declared question, by its label from the export's question text
    for label in (
        "How likely are you to recommend Northwind",
        "Overall, how satisfied",
        "Delivery",
        "App",
    ):
        assert label in text
    assert "Key drivers among the rated attributes" in text
    kda = text.split("Key drivers among the rated attributes", 1)[1][:400]
    # the planted truth: support explains most and is rated lowest
    # Support's row, up to the next attribute's: importance, its 95% interval ("a to b"),
    # mean rating, quadrant
    first = kda.split("Quadrant", 1)[1].split("Delivery", 1)[0].split()
    assert first[0] == "Support" and first[-2:] == ["fix", "first"]
    run = json.loads((out / "northwind" / "run.json").read_text(encoding="utf-8"))
    assert run["status"] == "ok"
    # the export's personal data (e-mail addresses, IP addresses) never reaches the report
    rows = qualtrics_rows()[3:]
    probes = [r[3] for r in rows] + [r[11] for r in rows] + ["example.com", "192.0.2."]
    report_nb = (out / "northwind" / "report.ipynb").read_text(encoding="utf-8")
    assert [v for v in probes if v in page or v in report_nb or v in json.dumps(run)] == []
