"""Real tools' exports go from files to a rendered report with the steps the data guide shows.

For each generated export (tests/fixtures/exports.py: GA4 BigQuery NDJSON, Segment track
calls, a Zendesk ticket CSV, a plain transaction log): ``cxlab init`` + the documented edits
("Recipes" in docs/guide/data.md) → ``cxlab validate`` exits 0 → the report renders. The
reports are rendered in one batch (two workers) to keep the suite's time down.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from cxlab.cli import main
from cxlab.report.batch import run_batch

sys.path.insert(0, str(Path(__file__).parents[1]))
from fixtures.exports import (  # noqa: E402
    ga4_export,
    segment_export,
    transaction_log,
    zendesk_export,
)

# client folder -> (writer, the source column holding the customer id)
EXPORTS = {
    "ga4": (ga4_export, "user_pseudo_id"),
    "segment": (segment_export, "anonymousId"),
    "zendesk": (zendesk_export, "Requester id"),
    "transactions": (transaction_log, "customer_id"),
}
# the documented edit of the transaction-log recipe: the shop's one channel
STORE_CHANNEL = ('touchpoint = "purchase"\n', 'touchpoint = "purchase"\nchannel = "store"\n')


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".csv":
        return pl.read_csv(path, infer_schema=False)
    return pl.read_ndjson(path)


def test_writers_are_deterministic(tmp_path):
    for name, (write, _) in EXPORTS.items():
        (tmp_path / "a").mkdir(exist_ok=True)
        (tmp_path / "b").mkdir(exist_ok=True)
        (tmp_path / "c").mkdir(exist_ok=True)
        a, b = write(tmp_path / "a", seed=1), write(tmp_path / "b", seed=1)
        other = write(tmp_path / "c", seed=2)
        assert a.read_bytes() == b.read_bytes(), name
        assert a.read_bytes() != other.read_bytes(), name


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("real_exports")
    (root / "src").mkdir()
    clients = root / "clients"
    steps = {}
    for name, (write, id_column) in EXPORTS.items():
        source = write(root / "src", seed=3)
        init = main(["init", str(clients / name), "--events", str(source)])
        if name == "transactions":
            toml = clients / name / "client.toml"
            toml.write_text(toml.read_text(encoding="utf-8").replace(*STORE_CHANNEL))
        validate = main(["validate", str(clients / name)])
        customers = _read(source).get_column(id_column).drop_nulls().n_unique()
        steps[name] = SimpleNamespace(init=init, validate=validate, customers=customers)
    out = root / "reports"
    batch = run_batch(
        clients, out, workers=2, progress=False, timeout=300, salt_file=root / ".cxlab-salt"
    )
    runs = {r["client"]: r for r in batch.runs}
    return SimpleNamespace(steps=steps, runs=runs, out=out)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPORTS))
def test_export_goes_from_files_to_a_report(exports, name):
    step = exports.steps[name]
    assert step.init == 0 and step.validate == 0, name
    run = exports.runs[name]
    assert run["status"] == "ok", run.get("failure")
    page = (exports.out / name / "report.html").read_text(encoding="utf-8")
    assert "Executive summary" in page and "Appendix: data validation" in page
    # every customer of the export is in the report: nothing was set aside on the way
    assert run["facts"]["customers"] == step.customers


@pytest.mark.e2e
@pytest.mark.slow
def test_the_ga4_clickstream_gets_a_funnel(exports):
    # first_visit is an awareness event, so GA4 customers enter the stage funnel. (Segment's
    # e-commerce events start at consideration: its report says no customer entered.)
    run = exports.runs["ga4"]
    assert "funnel" not in {s["section"] for s in run["skipped_sections"]}
    assert run["facts"]["conversion_n"] == exports.steps["ga4"].customers


@pytest.mark.e2e
@pytest.mark.slow
def test_zendesk_satisfaction_ratings_are_scored(exports):
    # the ticket export is also the feedback: its good/bad ratings are a binary question
    run = exports.runs["zendesk"]
    assert "metrics" not in {s["section"] for s in run["skipped_sections"]}
    page = (exports.out / "zendesk" / "report.html").read_text(encoding="utf-8")
    assert "Ticket satisfaction" in page
