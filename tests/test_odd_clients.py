"""Every valid client gets a report: thirteen odd but valid clients rendered in one batch.

Each odd client loads (all but one without a row set aside), yet some report sections cannot be computed on
it (no purchases, no NPS, every customer lost...). :func:`write_odd_clients` writes them
(canonical column names, CSV files, one ``client.toml`` each), built from a small generated
bookshop (:func:`cxlab.io.sample.generate_client`); ``EXPECTED_SKIPS`` says, per client, which
sections its report must skip and words of the reason it must give. The batch test checks
that every run is ``ok``, that each report shows exactly those reasons as notes, and that
``run.json`` and ``index.html`` list them.
"""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from cxlab.analysis.features import customer_features
from cxlab.io.client import load_client
from cxlab.io.sample import generate_client
from cxlab.report.batch import run_batch

_EVENT_COLUMNS = ["customer_id", "timestamp", "touchpoint", "channel", "session_id", "revenue"]
_FEEDBACK_COLUMNS = ["customer_id", "timestamp", "survey", "score", "comment", "touchpoint"]
_CUSTOMER_COLUMNS = ["customer_id", "segment", "region", "signup_date", "churned", "churn_date"]

#: Japanese comment parts: every comment joins one of each, without spaces or punctuation, so
#: (as in real Japanese text) a comment is one long run of letters that no other comment repeats
#: more than twice; no "word" is shared by the 3 comments a topic term needs.
JAPANESE = (
    ["配達が", "店員さんが", "値段が", "アプリが", "包装が"],
    ["とても", "すこし", "かなり", "いつも"],
    ["遅かったです", "親切でした", "高すぎます"],
)

#: client -> {section: words the reason shown for it must contain}. Counts in the words are
#: checked against the client's own files in the tests below.
EXPECTED_SKIPS: dict[str, dict[str, str]] = {
    # 3 events of one customer (no purchase among them), no feedback file
    "tiny": {
        "metrics": "No survey answers",
        "drivers": "No NPS answers",
        "voc": "No written comments",
        "paths": "No purchases in this period",
        "churn": "there are none, so no one could be lost",
        "retention": "at least three weeks are needed",
    },
    # every purchase event removed: nothing to attribute, no buyer who could be lost
    "no_purchases": {
        "paths": "No purchases in this period",
        "churn": "there are none, so no one could be lost",
    },
    # feedback holds CSAT and CES answers only
    "no_nps": {
        "drivers": "No NPS answers",
        "voc": "written comments",
        "churn": "customers who bought",
    },
    # 12 customers who answered surveys without writing a comment
    "survey_only": {
        "drivers": "NPS answers in this period; at least 30",
        "voc": "No written comments",
        "churn": "customers who bought have a known status; at least 100",
    },
    # every customer marked lost (churn method "column")
    "all_churned": {"churn": "were lost, so there is no one to compare them with"},
    # no customer marked lost (churn method "column")
    "none_churned": {"churn": "was lost, so there is nothing to explain"},
    # comments in Japanese: no run of letters shared by enough comments to form topics
    "japanese": {"voc": "languages written without spaces", "churn": "customers who bought"},
    # every comment is the same sentence
    "identical_comments": {"voc": "comments say the same thing", "churn": "customers who bought"},
    # IDR-scale order values and one order of 1e15 rupiah: totals far above 9.2e12
    "huge_revenue": {"churn": "customers who bought"},
    # the feedback file holds its header and no row
    "empty_feedback": {
        "metrics": "No survey answers",
        "drivers": "No NPS answers",
        "voc": "No written comments",
        "churn": "customers who bought",
    },
    # a single customer (all of their events and answers)
    "single_customer": {
        "drivers": "Only 1 NPS answer in",
        "voc": "Only 1 written comment in",
        "churn": "too early to tell who was lost",
    },
    # every event row set aside (no readable time): the client loads with 0 events; its
    # survey answers still give the scores and the voice of the customer (check_period)
    "no_usable_events": {
        section: "No interaction was recorded in this period"
        for section in (
            "coverage",
            "funnel",
            "heatmap",
            "drivers",
            "paths",
            "churn",
            "retention",
        )
    },
    # every event on one day (the busiest)
    "one_day": {
        "drivers": "No NPS answers",
        "voc": "Only 1 written comment in",
        "paths": "No purchases",
        "churn": "there are none, so no one could be lost",
        "retention": "at least three weeks are needed",
    },
}

_TOML = """name = {name}
industry = "Odd test client"
timezone = "UTC"
currency = {currency}
as_of = 2025-09-30T23:59:59Z

[files]
{files}

[journey]
use_default_map = true
purchase_touchpoints = ["purchase"]

[journey.map]
delivery_late = "retention"

[churn]
{churn}
"""


def _write(
    folder: Path,
    events: pl.DataFrame,
    feedback: pl.DataFrame | None,
    customers: pl.DataFrame | None,
    *,
    name: str,
    churn: str = "inactivity",
    currency: str = "GBP",
) -> None:
    folder.mkdir(parents=True)
    files = ['events = "events.csv"']
    events.select(_EVENT_COLUMNS).write_csv(folder / "events.csv")
    if feedback is not None:
        feedback.select(_FEEDBACK_COLUMNS).write_csv(folder / "feedback.csv")
        files.append('feedback = "feedback.csv"')
    if customers is not None:
        customers.select(_CUSTOMER_COLUMNS).write_csv(folder / "customers.csv")
        files.append('customers = "customers.csv"')
    rule = (
        'method = "column"' if churn == "column" else 'method = "inactivity"\ninactivity_days = 120'
    )
    (folder / "client.toml").write_text(
        _TOML.format(
            name=f'"{name}"', currency=f'"{currency}"', files="\n".join(files), churn=rule
        ),
        encoding="utf-8",
    )


def _keep(frame: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    return frame.filter(pl.col("customer_id").is_in(ids.implode()))


def write_odd_clients(root: Path, *, seed: int = 7) -> list[str]:
    """Write every odd client of :data:`EXPECTED_SKIPS` under ``root``; return their names."""
    base = generate_client("bookshop", seed=seed, customers=300)
    ev, fb, cu = base.events, base.feedback, base.customers
    # the generated customers are the loader's canonical table (churned/churn_date included)
    first = ev.sort("customer_id", "timestamp", "source_row")
    buyers = (
        first.filter(pl.col("touchpoint") == "purchase").get_column("customer_id").unique().sort()
    )
    one = buyers[0]
    # the buyer with the most survey answers (ties: the smallest id)
    answered = (
        _keep(fb, buyers)
        .group_by("customer_id")
        .len()
        .sort(["len", "customer_id"], descending=[True, False])
        .get_column("customer_id")
    )
    talker = answered[0]

    # tiny: the first 3 events of one buyer, no feedback file
    tiny = first.filter(pl.col("customer_id") == one).head(3)
    _write(root / "tiny", tiny, None, _keep(cu, pl.Series([one])), name="Tiny")

    # no purchases: every purchase event removed
    _write(
        root / "no_purchases",
        ev.filter(pl.col("touchpoint") != "purchase"),
        fb,
        cu,
        name="No purchases",
    )

    # no NPS: CSAT and CES answers only
    _write(root / "no_nps", ev, fb.filter(pl.col("survey") != "nps"), cu, name="No NPS")

    # survey only: 12 customers, scores without comments
    few = fb.get_column("customer_id").unique().sort().head(12)
    _write(
        root / "survey_only",
        _keep(ev, few),
        _keep(fb, few).with_columns(pl.lit(None, dtype=pl.String).alias("comment")),
        _keep(cu, few),
        name="Survey only",
    )

    # all churned / none churned (the client's own churn flag)
    last = ev.group_by("customer_id").agg(pl.col("timestamp").max().dt.date().alias("_last"))
    all_churned = cu.join(last, on="customer_id", how="left").with_columns(
        pl.lit(True).alias("churned"), pl.col("_last").alias("churn_date")
    )
    _write(root / "all_churned", ev, fb, all_churned, name="All churned", churn="column")
    none_churned = cu.with_columns(
        pl.lit(False).alias("churned"), pl.lit(None, dtype=pl.Date).alias("churn_date")
    )
    _write(root / "none_churned", ev, fb, none_churned, name="None churned", churn="column")

    # Japanese comments, five sentences in turn
    a, b, c = (pl.lit(pl.Series(part)) for part in JAPANESE)
    i = pl.col("_i").cast(pl.Int64)
    ja = (
        fb.with_row_index("_i")
        .with_columns(
            pl.when(pl.col("comment").is_not_null())
            .then(pl.concat_str(a.get(i % 5), b.get(i // 5 % 4), c.get(i // 20 % 3)))
            .alias("comment")
        )
        .drop("_i")
    )
    _write(root / "japanese", ev, ja, cu, name="日本の本屋")

    # every comment the same sentence
    same = fb.with_columns(
        pl.when(pl.col("comment").is_not_null()).then(pl.lit("Great service")).alias("comment")
    )
    _write(root / "identical_comments", ev, same, cu, name="Identical comments")

    # huge revenue: rupiah (x 20,000), and the first order of the customer with the most orders
    # (ties: the smallest id) becomes 1e15
    huge = ev.with_columns((pl.col("revenue") * 20_000).alias("revenue")).with_row_index("_i")
    orders = huge.filter(pl.col("revenue").is_not_null())
    top = (
        orders.group_by("customer_id").len().sort(["len", "customer_id"], descending=[True, False])
    )
    first_order = (
        orders.filter(pl.col("customer_id") == top["customer_id"][0]).get_column("_i").min()
    )
    huge = huge.with_columns(
        pl.when(pl.col("_i") == first_order)
        .then(1e15)
        .otherwise(pl.col("revenue"))
        .alias("revenue")
    ).drop("_i")
    _write(root / "huge_revenue", huge, fb, cu, name="Huge revenue", currency="IDR")

    # empty optional feedback file: the header and no row (tiny has no feedback file at all)
    _write(root / "empty_feedback", ev, fb.head(0), cu, name="Empty feedback")

    # a single customer, all of their events and answers
    _write(
        root / "single_customer",
        _keep(ev, pl.Series([talker])),
        _keep(fb, pl.Series([talker])),
        _keep(cu, pl.Series([talker])),
        name="Single customer",
    )

    # one day: every event on the busiest day
    day = (
        ev.group_by(pl.col("timestamp").dt.date().alias("d"))
        .len()
        .sort("len", "d", descending=[True, False])["d"][0]
    )
    on_day = ev.filter(pl.col("timestamp").dt.date() == day)
    _write(
        root / "one_day",
        on_day,
        fb.filter(pl.col("timestamp").dt.date() == day),
        cu,
        name="One day",
    )

    # no usable events: every event time unreadable, so every event row is set aside. Such a
    # load is refused (cxlab validate exits 1, the report fails) unless client.toml allows it:
    # this one does, so its report shows what the survey answers alone give.
    unreadable = ev.with_columns(pl.lit("not a time").alias("timestamp"))
    _write(root / "no_usable_events", unreadable, fb, cu, name="No usable events")
    with (root / "no_usable_events" / "client.toml").open("a", encoding="utf-8") as f:
        f.write('\n[validation]\nlosses = "allow"\n')
    return sorted(EXPECTED_SKIPS)


# ------------------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    root = tmp_path_factory.mktemp("odd_clients")
    names = write_odd_clients(root / "clients")
    return SimpleNamespace(root=root, clients=root / "clients", names=names)


def test_every_odd_client_is_valid(odd):
    # odd, not broken: the loader keeps every row of every file (but one client's events)
    assert len(odd.names) >= 10
    for name in odd.names:
        client = load_client(odd.clients / name)
        set_aside = sum(t.set_aside for t in client.validation.tables)
        if name == "no_usable_events":  # except this one, which loses every event row
            n_rows = pl.read_csv(odd.clients / name / "events.csv").height
            assert client.events.height == 0 and set_aside == n_rows > 0
        else:
            assert set_aside == 0, name


def test_huge_revenue_is_summed_exactly(odd):
    # the 1e15 order alone is 100x past the old Int64 limit of exact_sum (9.2e12 at 6 decimals);
    # each customer's monetary must equal the decimal sum of their orders, rounded to micro-units
    # (Decimal(float) is the float's exact value)
    client = load_client(odd.clients / "huge_revenue")
    features = customer_features(
        client.events,
        client.feedback,
        client.customers,
        journey_map=client.config.journey_map,
        purchase_touchpoints=client.config.purchase_touchpoints,
    )
    got = dict(features.select("customer_id", "monetary").iter_rows())
    expected: dict[str, Decimal] = {}
    for cid, value in client.events.select("customer_id", "revenue").drop_nulls().iter_rows():
        micro = Decimal(value).quantize(Decimal("0.000001"))
        expected[cid] = expected.get(cid, Decimal(0)) + micro
    big = client.events.filter(pl.col("revenue") == 1e15).get_column("customer_id")
    assert (
        big.len() == 1
        and client.events.filter(pl.col("customer_id") == big[0])["revenue"].count() >= 2
    )
    assert got[big[0]] > 1e15
    assert {c: got[c] for c in expected} == {c: float(v) for c, v in expected.items()}
    assert float(sum(expected.values())) > 9.2e12  # the old limit, for the client's total too


@pytest.fixture(scope="module")
def batch(odd):
    out = odd.root / "reports"
    result = run_batch(
        odd.clients, out, workers=2, progress=False, timeout=300, salt_file=odd.root / ".cxlab-salt"
    )
    return SimpleNamespace(result=result, out=out)


@pytest.mark.e2e
@pytest.mark.slow
def test_every_odd_client_gets_a_report(batch, odd):
    assert batch.result.ok, batch.result.summary()
    assert sorted(r["client"] for r in batch.result.runs) == odd.names
    for name in odd.names:
        page = (batch.out / name / "report.html").read_text(encoding="utf-8")
        assert "Executive summary" in page and "Appendix: data validation" in page, name


@pytest.mark.e2e
@pytest.mark.slow
def test_each_report_says_which_sections_it_skipped_and_why(batch, odd):
    for name, expected in EXPECTED_SKIPS.items():
        record = json.loads((batch.out / name / "run.json").read_text())
        assert record["status"] == "ok", (name, record.get("failure"))
        skips = record["skipped_sections"]
        assert skips == record["facts"]["skipped_sections"]
        # exactly the expected sections, each with the expected reason
        assert sorted({s["section"] for s in skips}) == sorted(expected), (name, skips)
        for section, words in expected.items():
            reasons = [s["reason"] for s in skips if s["section"] == section]
            assert any(words in r for r in reasons), (name, section, reasons)
        # every reason is one plain sentence, shown as a note in the page (escaped)
        page = (batch.out / name / "report.html").read_text(encoding="utf-8")
        for s in skips:
            assert s["reason"].endswith(".") and s["reason"].count(". ") == 0, s
            assert f'<p class="cx-note">{html.escape(s["reason"])}' in page, (name, s)


@pytest.mark.e2e
@pytest.mark.slow
def test_counts_in_the_reasons_come_from_the_data(batch, odd):
    def reasons(name, section):
        record = json.loads((batch.out / name / "run.json").read_text())
        return " ".join(s["reason"] for s in record["skipped_sections"] if s["section"] == section)

    same = (
        pl.read_csv(odd.clients / "identical_comments" / "feedback.csv")
        .get_column("comment")
        .drop_nulls()
    )
    assert same.n_unique() == 1 and f"All {same.len()} comments say the same thing" in reasons(
        "identical_comments", "voc"
    )
    fb = pl.read_csv(odd.clients / "survey_only" / "feedback.csv")
    n_nps = fb.filter(pl.col("survey") == "nps").height
    assert 0 < n_nps < 30 and f"Only {n_nps} NPS answers in this period" in reasons(
        "survey_only", "drivers"
    )
    # all churned / none churned: the customers who bought, among the customers file
    ev = pl.read_csv(odd.clients / "all_churned" / "events.csv")
    known = pl.read_csv(odd.clients / "all_churned" / "customers.csv").get_column("customer_id")
    buyers = (
        ev.filter(
            (pl.col("touchpoint") == "purchase") & pl.col("customer_id").is_in(known.implode())
        )
        .get_column("customer_id")
        .n_unique()
    )
    assert f"All {buyers} customers who bought" in reasons("all_churned", "churn")
    assert f"None of the {buyers} customers who bought" in reasons("none_churned", "churn")


@pytest.mark.e2e
@pytest.mark.slow
def test_index_lists_the_skipped_sections_per_client(batch, odd):
    page = (batch.out / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    assert len(rows) == len(odd.names)
    for name, expected in EXPECTED_SKIPS.items():
        row = next(r for r in rows if f">{name}<" in r)
        n = len(expected)
        assert f"{n} section{'s' if n != 1 else ''} skipped" in row, (name, row)
        record = json.loads((batch.out / name / "run.json").read_text())
        for s in record["skipped_sections"]:
            assert html.escape(s["reason"]) in row
