"""Each report section's preconditions (cxlab.report.sections), checked without a kernel.

Tiny hand-written frames; every expected sentence and number can be checked by reading the
frame above it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxlab.analysis.metrics import score_summary
from cxlab.contract.client_config import ChurnDefinition
from cxlab.report import sections as sec
from cxlab.report.sections import Skipped

T0 = dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC)


def _events(rows: list[tuple[str, int, str, str]]) -> pl.DataFrame:
    """(customer, hours after T0, touchpoint, channel) rows as canonical events."""
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [T0 + dt.timedelta(hours=r[1]) for r in rows],
            "touchpoint": [r[2] for r in rows],
            "channel": [r[3] for r in rows],
            "source_row": pl.Series(range(1, len(rows) + 1), dtype=pl.UInt32),
        }
    )


def _feedback(
    surveys: list[str], scores: list[int], comments: list[str | None] | None = None
) -> pl.DataFrame:
    n = len(surveys)
    return pl.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "timestamp": [T0 + dt.timedelta(hours=i) for i in range(n)],
            "survey": surveys,
            "score": scores,
            "comment": comments if comments is not None else [None] * n,
            "source_row": pl.Series(range(1, n + 1), dtype=pl.UInt32),
        },
        schema_overrides={"comment": pl.String},
    )


# ------------------------------------------------------------------------- headline NPS
# (the summary sentences themselves: tests/test_summary.py)
def test_headline_nps_of_real_answers():
    # 2 promoters (9, 10), 1 detractor (3) of 4 answers: NPS = 100 * (2/4 - 1/4) = +25
    nps = sec.headline_nps(score_summary(_feedback(["nps"] * 4, [9, 10, 3, 8]), metric="nps"))
    assert nps["n"] == 4 and nps["estimate"] == 25.0 and nps["small_n"]


# --------------------------------------------------------------------------------- sections
def test_empty_funnel_heatmap_and_metrics_say_why():
    assert sec.check_funnel(pl.DataFrame({"step": [1], "entered": [0]})).section == "funnel"
    assert sec.check_heatmap(pl.DataFrame({"stage": []})).reason.startswith("No interaction")
    empty = _feedback([], [])
    assert (
        sec.check_metrics(empty).reason
        == "No survey answers in this period, so there are no scores to show."
    )
    assert sec.check_metrics(_feedback(["ces", "csat"], [5, 4])) == ["csat", "ces"]


def test_key_drivers_need_thirty_nps_answers():
    nps = sec.headline_nps(score_summary(_feedback(["nps"] * 12, [9] * 12), metric="nps"))
    s = sec.key_drivers(
        pl.DataFrame(), pl.DataFrame(), nps, seed=0, purchase_touchpoints=["purchase"]
    )
    assert s == Skipped(
        "drivers",
        "Only 12 NPS answers in this period; at least 30 are needed to explain the score.",
    )
    none = sec.key_drivers(
        pl.DataFrame(), pl.DataFrame(), None, seed=0, purchase_touchpoints=["purchase"]
    )
    assert none.reason == "No NPS answers in this period, so there is no score to explain."


def test_key_drivers_without_a_varying_journey_is_a_note_not_an_error():
    # 40 NPS answers, every respondent went through exactly the same touchpoint: no driver varies
    fb = _feedback(["nps"] * 40, [i % 11 for i in range(40)]).with_columns(
        pl.col("timestamp") + dt.timedelta(days=2)
    )
    ev = _events([(f"c{i:03d}", 0, "site_visit", "web") for i in range(40)])
    nps = sec.headline_nps(score_summary(fb, metric="nps"))
    s = sec.key_drivers(ev, fb, nps, seed=0, purchase_touchpoints=["purchase"])
    assert isinstance(s, Skipped) and s.section == "drivers" and "do not differ enough" in s.reason


def test_voc_needs_enough_distinct_comments():
    assert sec.voc_topics(_feedback(["nps"] * 3, [9, 9, 9]), max_comments=100, seed=0).reason == (
        "No written comments in this period, so there is nothing to read."
    )
    few = _feedback(["nps"] * 29, [9] * 29, ["fine"] * 29)
    assert sec.voc_topics(few, max_comments=100, seed=0).reason.startswith(
        "Only 29 written comments"
    )
    # 40 times the same sentence (case and spaces aside): nothing to tell apart
    same = _feedback(["nps"] * 40, [9] * 40, ["Great service", " great service "] * 20)
    assert sec.voc_topics(same, max_comments=100, seed=0).reason == (
        "All 40 comments say the same thing, so there are no topics to tell apart."
    )
    # 40 Japanese comments, each a run of letters no other comment repeats: no shared term
    ja = [
        f"{a}{b}"
        for a in ["配達が", "店員さんが", "値段が", "アプリが"]
        for b in [
            "とても遅かった",
            "すこし親切",
            "かなり高い",
            "いつも良い",
            "まあまあ",
            "最高でした",
            "最悪でした",
            "普通でした",
            "早かった",
            "丁寧でした",
        ]
    ]
    s = sec.voc_topics(_feedback(["nps"] * 40, [5] * 40, ja), max_comments=100, seed=0)
    assert s.section == "voc" and "such as Japanese" in s.reason


def test_voc_topics_when_the_comments_allow():
    themes = ["late delivery parcel", "friendly helpful staff", "price too expensive"]
    comments = [
        f"{themes[i % 3]} {w}" for i, w in enumerate(["again", "today", "really", "indeed"] * 10)
    ]
    out = sec.voc_topics(
        _feedback(["nps"] * 40, [i % 11 for i in range(40)], comments), max_comments=100, seed=0
    )
    assert not isinstance(out, Skipped)
    used, topics = out
    assert used.height == 40 and topics.k >= 2


def test_no_purchases_means_nothing_to_attribute():
    ev = _events([("a", 0, "ad_click", "social"), ("b", 1, "site_visit", "web")])
    assert sec.attribution(ev, ["purchase"], seed=0) == Skipped(
        "paths", "No purchases in this period, so there is nothing to attribute."
    )
    # one purchase: first touch credits social (it opened a's journey)
    ev = _events([("a", 0, "ad_click", "social"), ("a", 1, "purchase", "web")])
    credit = sec.attribution(ev, ["purchase"], seed=0, n_boot=0)
    first = credit.filter(pl.col("model") == "first").select("label", "share").rows()
    assert first == [("social", 1.0)]


def test_churn_status_unknown_says_why_per_method():
    lab = pl.DataFrame(
        {"customer_id": ["a", "b"], "churned": [None, None], "censored": [True, True]},
        schema_overrides={"churned": pl.Boolean},
    )
    s = sec.churn_status(lab, ChurnDefinition(method="inactivity", inactivity_days=120))
    assert "less than 120 days before the data end" in s.reason
    s = sec.churn_status(lab, ChurnDefinition(method="column"))
    assert s.reason.startswith("The customers file says for no customer whether they were lost")
    known = lab.with_columns(
        pl.Series("churned", [True, None]), pl.Series("censored", [False, True])
    )
    assert sec.churn_status(known, ChurnDefinition()).get_column("customer_id").to_list() == ["a"]


def _observed(churned: list[bool]) -> pl.DataFrame:
    return pl.DataFrame(
        {"customer_id": [f"c{i:03d}" for i in range(len(churned))], "churned": churned}
    )


def test_churn_groups_preconditions():
    buyers = pl.DataFrame(
        {"customer_id": [f"c{i:03d}" for i in range(150)], "n_purchases": [1] * 150}
    )
    assert sec.churn_groups(buyers.head(0), _observed([True])).reason.startswith(
        "No customer bought"
    )
    assert (
        "All 150 customers who bought" in sec.churn_groups(buyers, _observed([True] * 150)).reason
    )
    assert (
        "None of the 150 customers who bought"
        in sec.churn_groups(buyers, _observed([False] * 150)).reason
    )
    # 60 judged buyers (the other 90 have no status): fewer than 100
    s = sec.churn_groups(buyers, _observed([True, False] * 30))
    assert s.reason.startswith("Only 60 customers who bought have a known status; at least 100")
    judged = sec.churn_groups(buyers, _observed([True, False] * 60))
    assert judged.height == 120 and judged.columns == ["customer_id", "n_purchases"]


def test_churn_driver_models_need_each_class_in_every_fold():
    judged = pl.DataFrame({"customer_id": [f"c{i:03d}" for i in range(120)]})
    two_lost = _observed([True, True] + [False] * 118)
    assert sec.churn_driver_models(judged, two_lost, cv=3).reason == (
        "Only 2 customers who bought were lost (3 needed), too few to test what predicts churn."
    )
    one_kept = _observed([True] * 119 + [False])
    assert sec.churn_driver_models(judged, one_kept, cv=3).reason.startswith(
        "Only 1 customer who bought was kept"
    )
    assert sec.churn_driver_models(judged, _observed([True, False] * 60), cv=3) is None


def test_skipped_facts_keep_report_order_and_drop_repeats():
    a = Skipped("voc", "No written comments in this period, so there is nothing to read.")
    b = Skipped("churn", "No customer bought in this period, so no one could be lost.")
    facts = sec.skipped_facts([a, b, a])
    assert [f["section"] for f in facts] == ["voc", "churn"]
    assert facts[0] == {"section": "voc", "title": "Voice of the customer", "reason": a.reason}


def test_an_empty_period_skips_every_section_but_the_coverage_tables():
    # dates outside the data, or every event row set aside: 0 events
    empty = _events([]).head(0)
    skips = sec.check_period(empty, ["coverage", "funnel", "voc"])
    assert [s.section for s in skips] == ["funnel", "voc"]
    assert {s.reason for s in skips} == {
        "No interaction was recorded in this period, so there is nothing to show."
    }
    assert sec.check_coverage(empty).reason.endswith("so there is no timeline to draw.")
    assert sec.check_period(_events([("a", 0, "ad_click", "social")]), ["funnel"]) == []


def test_skipped_facts_follow_the_report_order():
    late = Skipped(
        "coverage", "No interaction was recorded in this period, so there is no timeline to draw."
    )
    facts = sec.skipped_facts([Skipped("churn", "x."), late, Skipped("funnel", "y.")])
    assert [f["section"] for f in facts] == ["coverage", "funnel", "churn"]


def test_quoted_answers_carry_their_question_and_scale():
    # an NPS 9 (of 0–10) and a CSAT 5 (of 1–5) quoted side by side must not read as one
    # "Score" column: each answer says which question and scale it is on
    quotes = pl.DataFrame({"survey": ["nps", "csat", "ces"], "score": [9, 5, 2]})
    assert quotes.select(sec.answer_with_scale())["answer"].to_list() == [
        "9 (NPS, 0–10)",
        "5 (CSAT, 1–5)",
        "2 (CES, 1–7)",
    ]
