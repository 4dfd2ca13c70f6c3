"""The portfolio index fits a laptop screen: no sideways scrolling at 1100 px, nothing cut.

The churn column says who its rate counts ("of 718 customers who had bought by 02 Jun 2025");
with that sentence on one line the table was 1665 px wide at a 1100 px window. The words
under a number now wrap (dates and interval bounds kept whole), and the headers wrap.

The index here is built from hand-written run records with the longest texts a real batch
publishes (the sample clients' churn sentence, a skipped section, a caveat, a failure), so
no batch is rendered. A screenshot is kept in ``tests/artifacts/index/`` (git-ignored) for a
person to look at.
"""

from __future__ import annotations

import re

import pytest

from cxlab.config import PROJECT_ROOT
from cxlab.report.index import failure_text, index_html

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "index"
WHO = "customers who had bought by 02 Jun 2025"


def _facts(name: str, conversion: float, nps: float, churn: float, **more) -> dict:
    return {
        "client_name": name,
        "period": "01 Jan 2024 to 30 Sep 2025",  # as the report publishes it
        "conversion": conversion,
        "conversion_n": 2500,
        "nps": nps,
        "nps_low": nps - 6,
        "nps_high": nps + 6,
        "nps_n": 640,
        "churn_rate": churn,
        "churn_n": 718,
        "churn_who": WHO,
        "skipped_sections": [],
        "caveats": [],
        **more,
    }


RUNS = [
    {
        "client": "bank",
        "status": "ok",
        "seconds": 41.2,
        "finished": "2026-12-06T14:00:00",
        "facts": _facts("Northwind Bank", 0.253, -4, 0.157),
    },
    {
        "client": "bookshop",
        "status": "ok",
        "seconds": 38.0,
        "finished": "2026-12-06T14:00:00",
        "facts": _facts(
            "Bookshop",
            0.311,
            12,
            0.201,
            caveats=["Not tracked: advocacy"],
            skipped_sections=[
                {
                    "section": "paths",
                    "title": "Paths",
                    "reason": "Fewer than 30 customers bought, so no path can be compared.",
                }
            ],
        ),
    },
    {
        "client": "telecom",
        "status": "failed",
        "seconds": 12.0,
        "finished": "2026-12-06T14:00:00",
        "failure": {
            "kind": "error",
            "ename": "DataError",
            "evalue": "events.csv, column 'Event Time': 3 rows have a timestamp that cannot "
            "be read.",
            "summary": "cell 12 ('client = load_client(client_dir)'): DataError: events.csv, "
            "column 'Event Time': 3 rows have a timestamp that cannot be read.",
        },
        "facts": {},
    },
]


#: For each element, how many line boxes its text "02 Jun 2025" spans (elements without it: none).
LINES_OF_DATE = """els => els.flatMap((el) => {
  const node = el.firstChild, at = node && node.nodeType === 3
      ? node.data.replace(/\\u00a0/g, ' ').indexOf('02 Jun 2025') : -1;
  if (at < 0) return [];
  const r = document.createRange();
  r.setStart(node, at);
  r.setEnd(node, at + 11);
  return [new Set(Array.from(r.getClientRects()).map((b) => Math.round(b.top))).size];
})"""


@pytest.mark.slow
@pytest.mark.browser
def test_the_index_fits_1100_px_and_keeps_the_churn_sentence(browser, tmp_path):
    path = tmp_path / "index.html"
    path.write_text(index_html(RUNS, tmp_path), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    try:
        page.route("**/*", lambda r: r.continue_() if r.request.url == path.as_uri() else r.abort())
        page.goto(path.as_uri())
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client, f"the index is {scroll} px wide in a {client} px window"
        text = re.sub(r"\s+", " ", page.inner_text("table.cx-index"))
        # the whole sentence is still there to read, and a date is never split over lines
        assert f"15.7% of 718 {WHO}" in text
        # lines the date "02 Jun 2025" takes in each churn cell (one: not split)
        lines = page.eval_on_selector_all("table.cx-index td .ci", LINES_OF_DATE)
        assert lines == [1, 1], lines
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "index-1100px.png"), full_page=True)
    finally:
        page.close()


def test_failure_text_is_plain_words_for_every_kind_of_failure():
    config = {"kind": "error", "ename": "ConfigError", "evalue": "client.toml, line 3: x"}
    assert failure_text(config) == "The client's settings need a fix: client.toml, line 3: x"
    # a bug's text (which could be anything) stays in the notebook and run.json
    bug = {"kind": "error", "ename": "KeyError", "evalue": "'touchpoint'", "summary": "cell 9"}
    assert failure_text(bug) == (
        "The report stopped on an unexpected error; the notebook linked here shows it."
    )
    died = {"kind": "worker", "ename": "WorkerDied", "evalue": "…"}
    assert failure_text(died).startswith("The process rendering this client stopped")
    kernel = {"kind": "kernel", "ename": "DeadKernelError", "evalue": "Kernel died"}
    assert "DeadKernel" not in failure_text(kernel)
    # 700 characters of message: cut to 600 with an ellipsis, the lead-in kept
    long = {"kind": "error", "ename": "DataError", "evalue": "x" * 700}
    text = failure_text(long)
    assert text == "The client's data needs a fix: " + "x" * 599 + "…"
