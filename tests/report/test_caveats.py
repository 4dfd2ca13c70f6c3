"""Caveats instead of false findings, on a client whose journey map misses most touchpoints.

:func:`write_unmapped_client` builds the client of issue 16 §2 from a small generated bookshop
(:func:`cxlab.io.sample.generate_client`, nothing committed): the client names its events its own
way (``page_view``, ``"Add To Cart"``...), so the default journey map knows none of them but
the purchases (and a few retention touchpoints), and it tracks no advocacy (every review,
referral and share removed). Three rows carry an e-mail address as their touchpoint.

Before issue 16 its report showed an all-zero funnel with no comment. Now the report opens with
a data-coverage warning naming the fix (``cxlab validate`` and the ``[journey.map]`` lines to
add), calls awareness, consideration and advocacy "not tracked", and gives no conversion. The
slow test renders it with the three sample clients and reads the pages' text.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import polars as pl
import pytest
from bs4 import BeautifulSoup

from cxlab.analysis.journey import assign_stages
from cxlab.io.client import load_client
from cxlab.io.sample import generate_client
from cxlab.report import sections as sec
from cxlab.report import summary as sm
from cxlab.report.batch import run_batch

#: The client's own event names: none is in the default journey map (two need TOML quotes).
RENAMES = {
    "email_open": "newsletter_open",
    "site_visit": "page_view",
    "product_view": "pdp_view",
    "add_to_cart": "Add To Cart",
    "search_click": "serp_click",
    "ad_click": "banner_click",
    "social_post": "insta_post",
    "delivery": "parcel_delivered",
    "support_email": "ticket_opened",
    "checkout": "checkout_start",
    "review_read": "reviews_tab",
    "promotion_click": "promo_click",
    "chat": "live_chat",
    "word_of_mouth": "friend_tip",
    "return": "parcel_returned",
    "delivery_late": "parcel_late",
    "web_visit": "Home Page",
}
#: Advocacy touchpoints of the generated bookshop: removed, so advocacy is not tracked.
ADVOCACY = ["review", "referral", "social_share"]
#: A touchpoint that is personal data: never written in a report.
EMAIL = "jo.bloggs@example.com"

_TOML = """name = "Unmapped Books"
industry = "Odd test client"
timezone = "UTC"
currency = "GBP"
as_of = 2025-09-30T23:59:59Z

[files]
events = "events.csv"
feedback = "feedback.csv"
customers = "customers.csv"

[journey]
use_default_map = true
purchase_touchpoints = ["purchase"]

[churn]
method = "inactivity"
inactivity_days = 120
"""


def write_unmapped_client(folder: Path, *, seed: int = 7, customers: int = 300) -> Path:
    """Write the client described above into ``folder`` (CSV files and ``client.toml``)."""
    base = generate_client("bookshop", seed=seed, customers=customers)
    tp = pl.col("touchpoint")
    ev = (
        base.events.filter(~tp.is_in(ADVOCACY))
        .with_columns(tp.replace(RENAMES))
        .with_columns(
            pl.when(pl.int_range(pl.len()).is_in([5, 50, 500])).then(pl.lit(EMAIL)).otherwise(tp)
        )
    )
    fb = base.feedback.with_columns(tp.replace(RENAMES))
    folder.mkdir(parents=True)
    columns = ["customer_id", "timestamp", "touchpoint", "channel", "session_id", "revenue"]
    ev.select(columns).write_csv(folder / "events.csv")
    fb.select("customer_id", "timestamp", "survey", "score", "comment", "touchpoint").write_csv(
        folder / "feedback.csv"
    )
    base.customers.select(
        "customer_id", "segment", "region", "signup_date", "churned", "churn_date"
    ).write_csv(folder / "customers.csv")
    (folder / "client.toml").write_text(_TOML, encoding="utf-8")
    return folder


def _coverage(folder: Path) -> sec.JourneyCoverage:
    client = load_client(folder)
    cfg = client.config
    staged = assign_stages(client.events, cfg.journey_map, cfg.purchase_touchpoints)
    return sec.journey_coverage(staged, cfg.purchase_touchpoints, cfg.journey_map)


@pytest.fixture(scope="module")
def unmapped(tmp_path_factory) -> Path:
    return write_unmapped_client(tmp_path_factory.mktemp("caveats") / "unmapped")


# ------------------------------------------------------------------------------ unit level
def test_the_client_misses_most_touchpoints_and_tracks_no_advocacy(unmapped):
    cov = _coverage(unmapped)
    # 2,468 of the 2,627 interactions are on renamed touchpoints (the generated bookshop's
    # counts; what stays mapped: purchases, checkout errors, support calls, onboarding...)
    assert cov.unmapped_events / cov.interactions > 0.9
    assert cov.untracked == ("awareness", "consideration", "advocacy")
    assert sm.coverage_warning(cov.unmapped_events, cov.interactions).startswith(
        f"Data coverage: {100 * cov.unmapped_events / cov.interactions:.0f}% of the "
    )
    # the most frequent unmapped touchpoint gets a suggested stage (newsletters come after
    # the first purchase: retention)
    top = cov.unmapped.get_column("touchpoint")[0]
    assert top == "newsletter_open" and cov.suggestions[top] == "retention"


def test_the_suggested_journey_map_lines_are_valid_toml_and_fix_the_coverage(unmapped, tmp_path):
    cov = _coverage(unmapped)
    fix = sm.journey_map_fix(cov.unmapped, cov.suggestions)
    lines = tomllib.loads(fix)["journey"]["map"]
    assert len(lines) == 5 and "Add To Cart" in lines and EMAIL not in fix
    # pasted into client.toml as the report says, the client loads and the five most
    # frequent touchpoints now have a stage
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    for f in unmapped.iterdir():
        (fixed / f.name).write_bytes(f.read_bytes())
    (fixed / "client.toml").write_text(_TOML + "\n" + fix + "\n", encoding="utf-8")
    after = _coverage(fixed)
    moved = int(cov.unmapped.head(5).get_column("events").sum())
    assert after.unmapped_events == cov.unmapped_events - moved
    assert "consideration" in after.tracked and "advocacy" in after.untracked


# ---------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def rendered(tmp_path_factory, unmapped):
    """The unmapped client rendered alone (the sample clients' reports come from the session
    fixture ``sample_batch``, which renders them for tests/report/test_batch.py too)."""
    root = tmp_path_factory.mktemp("caveats_batch")
    clients = root / "clients"
    (clients / "unmapped").mkdir(parents=True)
    for f in unmapped.iterdir():
        (clients / "unmapped" / f.name).write_bytes(f.read_bytes())
    out = root / "reports"
    result = run_batch(
        clients, out, workers=2, progress=False, timeout=300, salt_file=root / ".cxlab-salt"
    )
    assert result.ok, result.summary()
    return out


def _text(out: Path, slug: str) -> str:
    soup = BeautifulSoup((out / slug / "report.html").read_text(encoding="utf-8"), "html.parser")
    for s in soup(["script", "style"]):
        s.decompose()
    return " ".join(soup.get_text(" ").split())


def _summary(out: Path, slug: str) -> str:
    soup = BeautifulSoup((out / slug / "report.html").read_text(encoding="utf-8"), "html.parser")
    return " ".join(soup.select_one(".cx-summary").get_text(" ").split())


def _first_column(out: Path, slug: str, caption: str) -> list[str]:
    soup = BeautifulSoup((out / slug / "report.html").read_text(encoding="utf-8"), "html.parser")
    table = next(t for t in soup.select("table") if t.caption and t.caption.get_text() == caption)
    # stage names as readers see them ("Purchase"), compared in lower case
    return [tr.select("td")[0].get_text().lower() for tr in table.select("tbody tr")]


@pytest.mark.e2e
@pytest.mark.slow
def test_the_unmapped_client_report_shows_caveats_not_false_findings(rendered):
    text = _text(rendered, "unmapped")
    summary = _summary(rendered, "unmapped")
    # the coverage warning comes first, with the fix, and never the e-mail typed as touchpoint
    warning = text.index("Data coverage: 9")
    assert warning < text.index("Executive summary From")
    assert "run `cxlab validate`" in text and '"Add To Cart" = "consideration"' in text
    assert EMAIL not in text and "jo.bloggs" not in text
    # no false headline: no conversion from a funnel that starts at the purchase, no 0% step
    assert "Nothing before the purchase is tracked" in summary
    assert "went on to buy" not in summary
    assert "Awareness, consideration and advocacy are not tracked" in summary
    assert not re.search(r"move into (awareness|consideration|advocacy)", text)
    # the funnel table has the tracked stages only
    assert _first_column(rendered, "unmapped", "Stage funnel") == ["purchase", "retention"]
    facts = json.loads((rendered / "unmapped" / "run.json").read_text())["facts"]
    assert facts["conversion"] is None
    assert "Not tracked: awareness, consideration and advocacy" in facts["caveats"]
    index = (rendered / "index.html").read_text(encoding="utf-8")
    assert "of interactions on touchpoints the journey map does not know" in index


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("slug", ["bookshop", "bank", "telecom"])
def test_sample_clients_have_no_coverage_caveat(sample_batch, slug):
    rendered = sample_batch.out
    text = _text(rendered, slug)
    summary = _summary(rendered, slug)
    sections = text[: text.rindex("How this was computed")]  # the appendix explains the rules
    assert "Data coverage:" not in sections and "not tracked" not in sections
    assert "went on to buy (95% interval" in summary  # every stage is tracked
    assert _first_column(rendered, slug, "Stage funnel") == [
        "awareness",
        "consideration",
        "purchase",
        "retention",
        "advocacy",
    ]
    facts = json.loads((rendered / slug / "run.json").read_text())["facts"]
    assert 0 < facts["conversion"] < 1
    assert not [c for c in facts["caveats"] if "journey map" in c or "Not tracked" in c]
    assert "How this was computed" in text
