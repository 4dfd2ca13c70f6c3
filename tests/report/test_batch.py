"""The report batch end to end: sample clients + a broken one + a hostile one, in one batch.

One batch (small sample clients, 2 workers; the session fixture ``sample_batch`` of
tests/conftest.py, shared with test_caveats.py) feeds every test here:
failure isolation and exit code, the index, pseudonymisation, HTML escaping, ``--resume``,
a Dask ``LocalCluster`` run, and headless Chromium opening each report offline.
"""

from __future__ import annotations

import contextlib
import gzip
import html
import io
import json
import re
from pathlib import Path

import polars as pl
import pytest
from fixtures.sample_batch import (
    CLIENT_NAME_PAYLOAD,
    GOOD,
    SEGMENT_PAYLOADS,
)

from cxlab.analysis.features import churn_rate
from cxlab.display.labels import display_label
from cxlab.io.client import load_client
from cxlab.report.batch import run_batch
from cxlab.report.summary import churn_sentence

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def batch(sample_batch):
    """tests/conftest.py's one render of the sample clients + hostile, broken and lossy."""
    return sample_batch


def _record(batch, slug):
    return json.loads((batch.out / slug / "run.json").read_text())


@pytest.mark.e2e
@pytest.mark.slow
def test_one_failure_does_not_stop_the_others(batch):
    assert batch.code == 1  # non-zero because one client failed
    for slug in GOOD:
        rec = _record(batch, slug)
        assert rec["status"] == "ok", rec.get("failure")
        assert (batch.out / slug / "report.html").stat().st_size > 100_000
        assert (batch.out / slug / "report.ipynb").exists()
    rec = _record(batch, "broken")
    assert rec["status"] == "failed" and not (batch.out / "broken" / "report.html").exists()
    assert rec["failure"]["ename"] == "DataError" and rec["failure"]["cell_index"] is not None
    # the executed notebook with the error is kept for audit
    nb = json.loads((batch.out / "broken" / "report.ipynb").read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "DataError"
    # the exit summary names the client, the cell and the exception
    assert re.search(
        r"FAILED broken: cell \d+ \('client = load_client\(.*DataError: .*Customer Ref",
        batch.stderr,
    )
    assert "4 ok, 0 unchanged, 2 failed" in batch.stderr
    assert not list(batch.out.rglob(".*.tmp"))  # no half-written file left


@pytest.mark.e2e
@pytest.mark.slow
def test_a_client_that_lost_every_event_fails_with_the_reason_and_fix(batch):
    # the lossy client's events file has rows, but none with a customer id: validate would
    # exit 1, so its report fails (the others render) with the top reason and its fix
    rec = _record(batch, "lossy")
    assert rec["status"] == "failed" and not (batch.out / "lossy" / "report.html").exists()
    failure = rec["failure"]
    assert failure["ename"] == "DataError"
    assert "every events row was set aside" in failure["evalue"]
    assert "no customer id" in failure["evalue"] and 'losses = "allow"' in failure["evalue"]
    assert re.search(r"FAILED lossy: cell \d+ .*every events row was set aside", batch.stderr)
    page = (batch.out / "index.html").read_text()
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if ">lossy<" in r)
    assert "status-failed" in row and "every events row was set aside" in row
    # in plain words: no cell number, no exception class name
    assert "The client&#x27;s data needs a fix: " in row
    assert "DataError" not in row and "cell " not in row


@pytest.mark.e2e
@pytest.mark.slow
def test_index_lists_every_client_with_status_and_metrics(batch):
    page = (batch.out / "index.html").read_text()
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    assert len(rows) == 6
    broken = next(r for r in rows if ">broken<" in r)
    assert "status-failed" in broken and "broken/report.ipynb" in broken
    # why, in plain words: the data error's own message, not its class name
    assert "The client&#x27;s data needs a fix: " in broken and "DataError" not in broken
    for slug in GOOD:
        row = next(r for r in rows if f">{slug}<" in r)
        assert "status-ok" in row and f"{slug}/report.html" in row and "95% interval" in row
        assert "report.pdf" not in row  # no --pdf, no PDF link
    assert "window.__pwned=3" not in page.replace("&lt;script&gt;window.__pwned=3", "")
    assert "<script src" not in page


@pytest.mark.e2e
@pytest.mark.slow
def test_headline_facts_match_the_data(batch):
    facts = _record(batch, "telecom")["facts"]
    raw = load_client(batch.clients / "telecom")
    nps = raw.feedback.filter(pl.col("survey") == "nps").get_column("score")
    expected = 100 * ((nps >= 9).mean() - (nps <= 6).mean())  # NPS by its definition
    assert facts["nps"] == pytest.approx(expected)
    assert facts["nps_low"] < facts["nps"] < facts["nps_high"] and facts["nps_n"] == nps.len()
    assert 0 < facts["conversion"] < 1 and facts["client_name"] == raw.name


@pytest.mark.e2e
@pytest.mark.slow
def test_pseudonymised_outputs_contain_no_input_id_or_email(batch):
    for slug in GOOD:
        raw = load_client(batch.clients / slug)
        ids = (
            pl.concat(
                [
                    raw.events.get_column("customer_id"),
                    raw.feedback.get_column("customer_id"),
                    raw.customers.get_column("customer_id"),
                ]
            )
            .unique()
            .to_list()
        )
        text = ""
        for path in sorted((batch.clients / slug).iterdir()):
            if path.suffix == ".parquet":
                text += pl.read_parquet(path).write_csv()
            elif path.suffix == ".gz":
                text += gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        emails = sorted(set(EMAIL_RE.findall(text)))
        assert len(ids) > 100 and emails, slug  # the inputs do carry ids and emails
        for name in ("report.html", "report.ipynb"):
            doc = pl.Series([(batch.out / slug / name).read_text()])
            assert not doc.str.contains_any(ids).item(), f"raw customer id in {slug}/{name}"
            assert not doc.str.contains_any(emails).item(), f"raw email in {slug}/{name}"
        # the salt stays outside the reports folder and out of the report
        secret = (batch.root / ".cxlab-salt").read_text().strip()
        assert secret not in (batch.out / slug / "report.ipynb").read_text()


@pytest.mark.e2e
@pytest.mark.slow
def test_hostile_text_is_escaped_in_html(batch):
    page = (batch.out / "hostile" / "report.html").read_text()
    for payload in [
        CLIENT_NAME_PAYLOAD,
        *SEGMENT_PAYLOADS,
        "<script>window.__pwned=6",
        "<img src=x onerror",
    ]:
        assert payload not in page, payload
    assert "Evil &lt;script&gt;window.__pwned=3&lt;/script&gt; Ltd" in page


@pytest.mark.e2e
@pytest.mark.slow
def test_resume_reruns_nothing_then_exactly_the_changed_client(batch):
    kwargs = dict(
        workers=2,
        only=["bank", "telecom"],
        resume=True,
        timeout=300,
        progress=False,
        salt_file=batch.root / ".cxlab-salt",
    )
    before = {s: (batch.out / s / "report.html").stat().st_mtime_ns for s in ("bank", "telecom")}
    first = run_batch(batch.clients, batch.out, **kwargs)
    assert [r["status"] for r in first.runs] == ["skipped", "skipped"]
    assert {s: (batch.out / s / "report.html").stat().st_mtime_ns for s in before} == before
    with open(batch.clients / "bank" / "client.toml", "a") as fh:
        fh.write("\n# edited\n")
    second = run_batch(batch.clients, batch.out, **kwargs)
    assert {r["client"]: r["status"] for r in second.runs} == {"bank": "ok", "telecom": "skipped"}
    assert (batch.out / "telecom" / "report.html").stat().st_mtime_ns == before["telecom"]
    assert (batch.out / "bank" / "report.html").stat().st_mtime_ns != before["bank"]
    index = (batch.out / "index.html").read_text()
    assert index.count("<tr>") == 7 and "status-unchanged" in index  # still lists every client


def _normalise(page: str) -> str:
    return re.sub(r"Generated: [^<]*", "Generated: X", page)


@pytest.mark.e2e
@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_reports(batch):
    import distributed  # the test extra installs it

    out = batch.root / "reports-dask"
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as cluster:
        result = run_batch(
            batch.clients,
            out,
            scheduler=cluster.scheduler_address,
            only=["telecom"],
            timeout=300,
            progress=False,
            salt_file=batch.root / ".cxlab-salt",
        )
    assert result.ok, result.summary()
    local = (batch.out / "telecom" / "report.html").read_text()
    remote = (out / "telecom" / "report.html").read_text()
    assert _normalise(remote) == _normalise(local)
    assert result.runs[0]["facts"] == _record(batch, "telecom")["facts"]


# ---------------------------------------------------------------------------------- browser
def _open_offline(browser, path: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    errors: list[str] = []

    def route(r):
        requests.append(r.request.url)
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_function("document.body.dataset.cxReady === 'true'", timeout=30_000)
    return page, requests, errors


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("slug", GOOD)
def test_report_renders_offline_in_chromium(batch, browser, slug):
    from PIL import Image, ImageStat

    path = batch.out / slug / "report.html"
    page, requests, errors = _open_offline(browser, path)
    try:
        n_specs = page.evaluate("document.querySelectorAll('script.cx-spec').length")
        assert n_specs >= 4
        assert page.evaluate("document.body.dataset.cxCharts") == str(n_specs)
        assert page.evaluate("document.body.dataset.cxChartErrors") == "0"
        marks = page.evaluate("""Array.from(document.querySelectorAll('.cx-chart')).map(
            (c) => c.querySelectorAll('svg [class*="mark-"] path, svg [class*="mark-"] rect, '
                                     + 'svg [class*="mark-"] line, svg [class*="mark-"] text').length)""")
        assert len(marks) == n_specs and all(m > 0 for m in marks), marks
        assert requests == [path.as_uri()]  # no request left the page, not even a file one
        assert not errors, errors
        png = page.screenshot(full_page=False)
        stat = ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L"))
        assert stat.stddev[0] > 10  # not a blank page
        assert page.evaluate("window.__pwned") is None
    finally:
        page.close()


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.browser
def test_hostile_payloads_show_as_text_in_chromium(batch, browser):
    page, requests, errors = _open_offline(browser, batch.out / "hostile" / "report.html")
    try:
        assert CLIENT_NAME_PAYLOAD in page.inner_text("header")
        labels = page.evaluate(
            "Array.from(document.querySelectorAll('.cx-chart svg text')).map((t) => t.textContent)"
        )
        # charts show a segment by its display label, which for a data value (not a
        # "column=level" name cxlab built) is the value itself: the payload, drawn as text
        shown = display_label(SEGMENT_PAYLOADS[0])
        assert shown == SEGMENT_PAYLOADS[0]
        assert any(shown in t for t in labels), "segment payload is drawn as text"
        # hover every mark with a tooltip: vega-tooltip must show the payloads as text too
        for el in page.query_selector_all(
            ".cx-chart svg .mark-rect path, .cx-chart svg .mark-symbol path"
        )[:60]:
            with contextlib.suppress(Exception):
                el.hover(timeout=500)
        assert page.evaluate("window.__pwned") is None
        assert (
            page.evaluate(
                "document.querySelectorAll('main svg[onload], main img[onerror], main script:not(.cx-spec)').length"
            )
            == 0
        )
        assert all(u.startswith("file://") for u in requests)
    finally:
        page.close()


# ------------------------------------------------------------------ resume key, temp files
def _hash_client(root: Path) -> Path:
    folder = root / "shop"
    folder.mkdir(parents=True)
    (folder / "client.toml").write_text('name = "Shop"\n[files]\nevents = "data/events.csv"\n')
    (folder / "data").mkdir()
    (folder / "data" / "events.csv").write_text("id,ts\n1,2024-01-01\n")
    (folder / "truth.json").write_text("{}")
    return folder


def test_resume_key_covers_the_files_read_and_the_version(tmp_path, monkeypatch):
    import cxlab
    from cxlab.report.batch import DEFAULT_NOTEBOOK, content_hash

    folder = _hash_client(tmp_path)
    key = lambda: content_hash(folder, DEFAULT_NOTEBOOK, {"seed": 7})  # noqa: E731
    first = key()
    assert key() == first  # deterministic
    (folder / "truth.json").write_text('{"not": "read by the report"}')
    (folder / "notes.txt").write_text("not read either")
    assert key() == first
    (folder / "data" / "events.csv").write_text("id,ts\n1,2024-01-02\n")  # a file [files] names
    second = key()
    assert second != first
    with open(folder / "client.toml", "a") as fh:
        fh.write("# edited\n")
    third = key()
    assert third != second
    monkeypatch.setattr(cxlab, "__version__", cxlab.__version__ + ".post1")
    assert key() != third  # another cxlab version renders again
    monkeypatch.undo()
    assert content_hash(folder, DEFAULT_NOTEBOOK, {"seed": 8}) != third


def test_resume_key_covers_a_named_file_outside_the_folder(tmp_path):
    from cxlab.contract.client_config import read_client_config
    from cxlab.report.batch import DEFAULT_NOTEBOOK, content_hash

    folder = tmp_path / "shop"
    folder.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "events.csv").write_text("id\n1\n")
    (folder / "client.toml").write_text(
        'name = "Shop"\nallow_outside_folder = true\n[files]\nevents = "../shared/events.csv"\n'
    )
    read_client_config(folder)  # valid: allow_outside_folder lets it name ../shared
    first = content_hash(folder, DEFAULT_NOTEBOOK, {})
    (tmp_path / "shared" / "events.csv").write_text("id\n2\n")
    assert content_hash(folder, DEFAULT_NOTEBOOK, {}) != first


def test_temp_files_of_live_writers_are_kept(tmp_path):
    import os
    import subprocess
    import sys
    import time

    from cxlab.report.atomic import _host_tag, atomic_write_text, remove_stale_temps

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)  # that process has exited
    mine = tmp_path / f".report.html.{_host_tag()}-{os.getpid()}-abc123.tmp"  # a write in progress
    gone = tmp_path / f".report.html.{_host_tag()}-{dead_pid}-abc123.tmp"
    remote_new = tmp_path / ".run.json.0000beef-123-abc.tmp"  # another machine, just now
    remote_old = tmp_path / ".run.json.0000beef-456-abc.tmp"  # another machine, two hours ago
    for p in (mine, gone, remote_new, remote_old):
        p.write_text("half")
    two_hours_ago = time.time() - 7200
    os.utime(remote_old, (two_hours_ago, two_hours_ago))
    atomic_write_text(tmp_path / "index.html", "whole")  # a write next to them leaves none
    assert sorted(p.name for p in remove_stale_temps(tmp_path)) == sorted(
        [gone.name, remote_old.name]
    )
    assert mine.exists() and remote_new.exists()
    assert (tmp_path / "index.html").read_text() == "whole"


def _visible_text(page: str) -> str:
    """The text a reader sees: scripts and tags removed, entities decoded, spaces collapsed."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("slug", ["bank", "bookshop", "telecom"])
def test_churn_is_one_number_over_one_base_in_summary_section_and_index(batch, slug):
    # churn_rate is the one definition of who can be lost; the executive summary, the churn
    # section and the portfolio index must state its number over its customers
    client = load_client(batch.clients / slug)
    cfg = client.config
    rate = churn_rate(
        client.events,
        client.customers,
        cfg.churn,
        purchase_touchpoints=cfg.purchase_touchpoints,
        as_of=cfg.as_of,
    )
    assert rate.n > 0 and rate.population == "buyers"
    facts = _record(batch, slug)["facts"]
    assert (facts["churn_rate"], facts["churn_n"], facts["churn_who"]) == (
        pytest.approx(rate.rate),
        rate.n,
        rate.who,
    )
    report = _visible_text((batch.out / slug / "report.html").read_text(encoding="utf-8"))
    sentence = churn_sentence(rate)
    summary = report[report.rindex("Executive summary") :]
    summary = summary[: summary.index("What data this report covers")]
    section = report[report.rindex("Churn: who leaves") :]
    assert sentence in summary and sentence in section
    index = _visible_text((batch.out / "index.html").read_text(encoding="utf-8"))
    assert f"{100 * rate.rate:.1f}% of {rate.n:,} {rate.who}" in index


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("slug", ["bank", "bookshop", "telecom"])
def test_report_tables_give_an_interval_in_one_plain_column(batch, slug):
    # "95% low" / "95% high" read like two findings; the report's sentences say "95% interval
    # a to b", and its tables now do too (the stage funnel at least, in every sample report)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(
        (batch.out / slug / "report.html").read_text(encoding="utf-8"), "html.parser"
    )
    tables = {t.caption.get_text(): t for t in soup.select("table") if t.caption}
    heads = {c: [th.get_text() for th in t.select("thead th")] for c, t in tables.items()}
    assert not [c for c, h in heads.items() if "95% low" in h or "95% high" in h], heads
    funnel = tables["Stage funnel"]
    col = heads["Stage funnel"].index("95% interval")
    cells = [tr.select("td")[col].get_text() for tr in funnel.select("tbody tr")]
    assert cells and all(re.fullmatch(r"-?\d+\.\d% to \d+\.\d%|–", c) for c in cells), cells
