"""The executive summary's sentences and caveats (cxlab.report.summary), without a kernel.

Each rule of issue 16 §2 has a test here that asserts on the sentence a client manager reads.
Every expected number can be checked by hand from the tiny frame above it (the arithmetic is
in the comments).
"""

from __future__ import annotations

import datetime as dt
import tomllib

import polars as pl
import pytest

from cxlab.analysis.drivers import KeyDrivers
from cxlab.analysis.features import ChurnRate
from cxlab.analysis.funnel import stage_funnel
from cxlab.analysis.journey import assign_stages
from cxlab.analysis.metrics import score_summary
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
from cxlab.report import sections as sec
from cxlab.report import summary as sm
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


def _summary(**facts) -> str:
    base = dict(
        client_name="Shop",
        period="P",
        customers=10,
        interactions=50,
        stages=pl.DataFrame(),
        painful=pl.DataFrame(),
        nps=None,
        top_driver=None,
        churn=None,
        set_aside=0,
    )
    return sm.executive_summary(**(base | facts))


def _stages(names, entered, converted) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "step": list(range(1, len(names) + 1)),
            "step_name": names,
            "entered": entered,
            "converted": converted,
            "conversion_rate": [
                c / e if e else None for c, e in zip(converted, entered, strict=True)
            ],
        }
    )


# ----------------------------------------------------------------------- moved, unchanged
def test_csat_only_feedback_has_no_headline_nps_and_the_summary_leaves_it_out():
    # the crash of issue 14: score_summary gives an NPS row with n = 0 and null estimates
    fb = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "timestamp": [T0] * 3,
            "survey": ["csat", "csat", "ces"],
            "score": [5, 4, 6],
            "source_row": pl.Series([1, 2, 3], dtype=pl.UInt32),
        }
    )
    table = score_summary(fb, metric="nps")
    assert table.row(0, named=True)["n"] == 0
    assert sec.headline_nps(table) is None
    text = _summary(customers=3, interactions=3)
    assert text == "From P, 3 customers of Shop generated 3 recorded interactions."


def test_three_event_client_summary_says_too_few_and_names_no_weakest_step():
    # one customer, 3 events, never reaches purchase: 1 customer entered, far below 30
    ev = _events(
        [
            ("a", 0, "search_click", "search"),
            ("a", 1, "search_click", "search"),
            ("a", 20, "site_visit", "web"),
        ]
    )
    stages = stage_funnel(assign_stages(ev, DEFAULT_JOURNEY_MAP))
    assert not isinstance(sec.check_funnel(stages), Skipped)
    text = _summary(
        customers=1,
        interactions=3,
        stages=stages,
        set_aside=2,
        untracked=["purchase", "retention", "advocacy"],
    )
    assert "No purchase was recorded in this period" in text
    assert "weakest" not in text  # every step has fewer than 30 customers at the previous stage
    assert text.endswith("2 input rows could not be used; the appendix says why.")
    assert "None" not in text and "nan" not in text


def test_summary_with_every_number():
    # 400 customers; 4 of 10 go on at each... : awareness 400 -> consideration 300 -> purchase 120
    stages = _stages(["awareness", "consideration", "purchase"], [400, 400, 300], [400, 300, 120])
    painful = pl.DataFrame(
        {
            "touchpoint": ["checkout_error"],
            "stage": ["purchase"],
            "drop_touched": [0.75],
            "drop_not_touched": [0.25],
            "n_touched": [40],
        }
    )
    nps = {"estimate": 25.0, "ci_low": 10.0, "ci_high": 40.0, "n": 300, "small_n": False}
    driver = {"driver": "delivery_late", "exposure": "touched", "importance_pct": 42.0}
    text = _summary(
        customers=400,
        interactions=900,
        stages=stages,
        painful=painful,
        nps=nps,
        top_driver=driver,
        driver_r2=0.5,
        churn=ChurnRate(
            n=8,
            n_churned=2,
            population="buyers",
            method="column",
            inactivity_days=90,
            as_of=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
            cutoff=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
            customers=pl.DataFrame(),
            labels=pl.DataFrame(),
        ),
    )
    assert "30.0% of the customers who entered the journey went on to buy" in text  # 120 / 400
    assert "n = 400)" in text
    assert "weakest step is the move into purchase: only 40%" in text  # 120 / 300 < 300 / 400
    assert "checkout_error in the purchase stage: 75% of the customers who hit it" in text
    assert "The Net Promoter Score is +25 (95% interval +10 to +40, 300 answers)." in text
    assert (
        "The moment that matters most for NPS is delivery_late (touched): it accounts for 42%"
        in text
    )
    # 2 of 8 buyers: too few to state a rate, and the sentence says who is counted
    assert (
        "2 of the 8 customers who bought have been lost (as recorded in the customers file): "
        "too few customers to say what share is lost." in text
    )


def test_an_empty_period_says_so_and_counts_the_rows_set_aside():
    text = _summary(period="no events", customers=0, interactions=0, set_aside=1)
    assert text == (
        "No interaction with the customers of Shop was recorded in this period. "
        "1 input row could not be used; the appendix says why."
    )


# --------------------------------------------------------------------------- data coverage
def test_coverage_warning_from_ten_percent_unmapped():
    # 930 of 1,000 interactions unmapped: 93%; 99 of 1,000 is under the 10% threshold
    text = sm.coverage_warning(930, 1000)
    assert text.startswith("Data coverage: 93% of the 1,000 recorded interactions (930)")
    assert "`cxlab validate`" in text and "[journey.map]" in text
    assert sm.coverage_warning(100, 1000) is not None  # exactly 10%
    assert sm.coverage_warning(99, 1000) is None
    assert sm.coverage_warning(0, 0) is None


def test_journey_map_fix_is_valid_toml_with_quoted_keys_and_no_personal_data():
    unmapped = pl.DataFrame(
        {
            "touchpoint": ["page_view", "Add To Cart", "jo@x.io", "Page: Home", "pdp", "a", "b"],
            "events": [80, 9, 7, 6, 5, 4, 3],
        }
    )
    stages = {"page_view": "consideration", "Add To Cart": "consideration", "pdp": "awareness"}
    text = sm.journey_map_fix(unmapped, stages, top=4)
    parsed = tomllib.loads(text)["journey"]["map"]
    # the 4 most frequent names that look like event names; the e-mail is never written
    assert parsed == {
        "page_view": "consideration",
        "Add To Cart": "consideration",
        "Page: Home": "consideration",  # no suggestion: the default stage, marked to check
        "pdp": "awareness",
    }
    assert "jo@x.io" not in text and "stage to check" in text
    # left out: "a", "b" (beyond the top 4) and the e-mail: 3 more, 1 named like personal data
    assert "# 3 more touchpoints are not shown here (1 of them named like personal data)" in text
    assert '"Add To Cart" = "consideration"  # 9 interactions' in text


# ----------------------------------------------------------------------- stages not tracked
def test_a_stage_without_interactions_is_not_tracked_never_the_weakest_step():
    # advocacy has no interaction: 0 of 100 "converted" there, yet it is not a finding
    stages = _stages(
        ["awareness", "consideration", "purchase", "retention", "advocacy"],
        [200, 200, 180, 90, 60],
        [200, 180, 90, 60, 0],
    )
    text = _summary(stages=stages, untracked=["advocacy"])
    assert "Advocacy is not tracked: no interaction in this period is on a touchpoint" in text
    assert "move into advocacy" not in text and " 0%" not in text
    # the weakest tracked step: purchase, 90 of 180 = 50% (retention: 60 of 90 = 67%)
    assert "The weakest step is the move into purchase: only 50%" in text


def test_nothing_before_purchase_tracked_gives_no_conversion():
    stages = _stages(["purchase", "retention"], [112, 112], [112, 47])
    text = sm.conversion_sentence(stages, untracked=["awareness", "consideration", "advocacy"])
    assert text == (
        "Nothing before the purchase is tracked, so the share of customers who go on to buy "
        "cannot be given."
    )


# ----------------------------------------------------------------------------- weak drivers
def _drivers(r2: float) -> KeyDrivers:
    table = pl.DataFrame(
        {
            "rank": [1, 2],
            "driver": ["delivery_late", "chat"],
            "exposure": ["hit before answering", "hit before answering"],
            "importance_pct": [70.0, 30.0],
        }
    )
    empty = pl.DataFrame()
    return KeyDrivers(table, r2, r2 / 2, r2 * 1.5, 120, -4.0, empty, empty)


@pytest.mark.parametrize("r2", [0.08, 0.199])
def test_a_driver_model_that_explains_little_is_reported_as_hints(r2):
    top = {"driver": "delivery_late", "exposure": "hit before answering", "importance_pct": 70.0}
    text = _summary(top_driver=top, driver_r2=r2)
    assert f"explains only {100 * r2:.0f}% of the variation in NPS answers" in text
    assert "weakly related to NPS" in text and "as a hint rather than a finding" in text
    assert "matters most" not in text
    lines = _drivers(r2).reading()
    assert "treat them as hints, not findings" in lines[0]
    assert (
        lines[1]
        == "The strongest hints: delivery_late (hit before answering) and chat (hit before answering)."
    )
    assert not any("quadrant" in line or "#1" in line for line in lines)


def test_a_driver_model_at_the_threshold_names_the_moment_that_matters():
    top = {"driver": "delivery_late", "exposure": "hit before answering", "importance_pct": 70.0}
    assert sm.WEAK_MODEL_R2 == 0.2
    text = _summary(top_driver=top, driver_r2=0.2)
    assert "The moment that matters most for NPS is delivery_late" in text


# ------------------------------------------------------------------ small n, wide intervals
def test_too_few_nps_answers_to_say():
    # 12 answers: below the project's small-n rule (30), whatever the interval
    nps = {"estimate": 25.0, "ci_low": 5.0, "ci_high": 45.0, "n": 12}
    assert "too few NPS answers to say" in sm.nps_sentence(nps)
    assert "+25" not in sm.nps_sentence(nps)
    # 60 answers but an interval 60 points wide (> 50)
    wide = {"estimate": 10.0, "ci_low": -20.0, "ci_high": 40.0, "n": 60}
    assert sm.nps_sentence(wide) == (
        "There are too few NPS answers to say what the Net Promoter Score is: the 60 answers "
        "put it anywhere between -20 and +40 (95% interval)."
    )
    # the bookshop's: 625 answers, -10 to +3
    ok = {"estimate": -4.0, "ci_low": -10.0, "ci_high": 3.0, "n": 625}
    assert (
        sm.nps_sentence(ok) == "The Net Promoter Score is -4 (95% interval -10 to +3, 625 answers)."
    )


def test_real_small_sample_nps_from_answers():
    # 2 promoters (9, 10), 1 detractor (3) of 4 answers: NPS +25 on 4 answers: too few to say
    fb = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "timestamp": [T0] * 4,
            "survey": ["nps"] * 4,
            "score": [9, 10, 3, 8],
            "source_row": pl.Series([1, 2, 3, 4], dtype=pl.UInt32),
        }
    )
    nps = sec.headline_nps(score_summary(fb, metric="nps"))
    assert nps["n"] == 4 and nps["estimate"] == 25.0
    assert "too few NPS answers to say" in _summary(nps=nps)


def test_too_few_customers_to_state_a_conversion_or_a_weakest_step():
    # 20 customers entered (< 30): no share stated, no weakest step
    stages = _stages(["awareness", "consideration", "purchase"], [20, 20, 10], [20, 10, 2])
    text = _summary(customers=20, stages=stages)
    assert (
        "Only 20 customers entered the journey: too few to say what share goes on to buy." in text
    )
    assert "weakest" not in text
    # 35 at the previous stage and 7 went on: Wilson 95% interval 10.0% to 36.1%, 26 points
    # wide: stated; at 30 customers with 15 (33% to 67%, 34 points): too uncertain
    assert not sm.too_uncertain(35, *_wilson(7, 35), max_width=sm.WIDE_RATE_INTERVAL)
    assert sm.too_uncertain(30, *_wilson(15, 30), max_width=sm.WIDE_RATE_INTERVAL)


def _wilson(k: int, n: int) -> tuple[float, float]:
    from cxlab.analysis.stats import wilson_interval

    return wilson_interval(k, n)


# ------------------------------------------------------------------------------ the appendix
def test_how_computed_explains_the_jargon_in_plain_words():
    entries = dict(sm.how_computed(list(sec.SECTIONS)))
    text = " ".join(entries.values())
    for term in ("Wilson", "Johnson's relative weights", "NMF", "Kaplan-Meier", "ROC AUC"):
        assert term in text, term
    assert "20%" in entries["What drives NPS"]  # the weak-model threshold, stated
    assert list(entries)[0] == "Intervals and small samples"


def test_a_driver_few_respondents_were_exposed_to_is_too_few_to_say():
    # a model that explains 60%: the reading's own sentences, except for the driver only 12
    # respondents were exposed to (under 30)
    table = pl.DataFrame(
        {
            "rank": [1, 2],
            "driver": ["delivery_late", "chat"],
            "exposure": ["hit before answering"] * 2,
            "importance_pct": [70.0, 30.0],
            "ci_low": [60.0, 20.0],
            "ci_high": [80.0, 40.0],
            "n_exposed": [143, 12],
            "performance": [-94.0, 2.0],
            "nps_not_exposed": [23.0, -4.0],
            "quadrant": ["fix first", "maintain"],
        }
    )
    empty = pl.DataFrame()
    lines = KeyDrivers(table, 0.6, 0.56, 0.65, 625, -4.0, empty, empty).reading()
    assert lines[0].startswith("Together the 2 drivers explain 60%")
    assert lines[1].startswith("#1 delivery_late (hit before answering): 70% of the explained")
    assert "quadrant 'fix first'" in lines[1]
    assert lines[2] == (
        "#2 chat (hit before answering): 30% of the explained variation, but only 12 "
        "respondents were exposed to it: too few to say how they score."
    )


def test_each_driver_is_named_once():
    # the bookshop's #2: the label "Low CSAT before (1-3)" already says what exposure is, so
    # "(gave a CSAT 1–3 before)" is not repeated; a touchpoint keeps "(hit before answering)"
    table = pl.DataFrame(
        {
            "rank": [1, 2],
            "driver": ["Delivery late", "Low CSAT before (1-3)"],
            "kind": ["touchpoint", "survey"],
            "exposure": ["hit before answering", "gave a CSAT 1–3 before"],
            "importance_pct": [90.0, 8.0],
            "ci_low": [80.0, 4.0],
            "ci_high": [95.0, 12.0],
            "n_exposed": [143, 74],
            "performance": [-94.0, -50.0],
            "nps_not_exposed": [23.0, 3.0],
            "quadrant": ["fix first", "fix first"],
        }
    )
    empty = pl.DataFrame()
    lines = KeyDrivers(table, 0.6, 0.56, 0.65, 625, -4.0, empty, empty).reading()
    assert lines[1].startswith("#1 Delivery late (hit before answering): 90% of the explained")
    assert lines[2] == (
        "#2 Low CSAT before (1-3): 8% of the explained variation (95% interval 4–12%). Exposed "
        "respondents (n = 74) give NPS -50 vs +3 for the others — quadrant 'fix first': matters "
        "a lot and the customers exposed to it score below average."
    )
    weak = KeyDrivers(table, 0.1, 0.05, 0.15, 625, -4.0, empty, empty).reading()
    assert weak[1] == (
        "The strongest hints: Delivery late (hit before answering) and Low CSAT before (1-3)."
    )
    top = table.row(1, named=True)
    assert sm.driver_sentence(top, 0.6).startswith(
        "The moment that matters most for NPS is Low CSAT before (1-3): it accounts for 8%"
    )


# ------------------------------------------------------------------------------ funnel base
def test_the_funnel_says_which_customers_it_counts():
    # 400 customers seen: 247 first at awareness, 153 first at consideration
    first_seen = _stages(
        ["awareness", "consideration", "purchase"], [400, 400, 380], [400, 380, 150]
    ).with_columns(pl.Series("entered_here", [247, 153, 0]))
    assert sm.funnel_base_sentence(first_seen).startswith(
        "The funnel counts all 400 customers seen in the journey, each from the first stage "
        "they were seen in (247 at awareness and 153 at consideration)"
    )
    everyone_at_awareness = first_seen.with_columns(pl.Series("entered_here", [400, 0, 0]))
    assert sm.funnel_base_sentence(everyone_at_awareness) == (
        "The funnel counts all 400 customers seen in the journey; every one of them was first "
        "seen at awareness."
    )
    # the earlier base: only the customers seen at the first stage
    only_first = _stages(["awareness", "purchase"], [247, 247], [247, 90])
    assert sm.funnel_base_sentence(only_first) == (
        "The funnel counts the 247 customers seen at awareness; customers first seen at a later "
        "stage are left out."
    )
    assert sm.funnel_base_sentence(pl.DataFrame()) is None


def test_a_log_without_awareness_events_gets_a_funnel_described_by_its_own_stages():
    # a: site_visit (consideration) then purchase; b: site_visit only. No awareness event:
    # awareness is not tracked, the funnel starts at consideration with both customers.
    ev = _events(
        [("a", 0, "site_visit", "web"), ("a", 1, "purchase", "web"), ("b", 0, "site_visit", "web")]
    )
    staged = assign_stages(ev, DEFAULT_JOURNEY_MAP, ["purchase"])
    coverage = sec.journey_coverage(staged, ["purchase"], DEFAULT_JOURNEY_MAP)
    assert "awareness" in coverage.untracked
    stages = stage_funnel(staged, coverage.tracked)
    funnel = sec.check_funnel(stages)
    assert not isinstance(funnel, Skipped)  # a funnel, not "no customer entered the journey"
    intro = sm.funnel_intro(funnel)
    assert intro.startswith("Each bar is a journey stage (consideration and purchase), as")
    assert "awareness" not in intro
    assert sm.funnel_base_sentence(funnel) == (
        "The funnel counts all 2 customers seen in the journey; every one of them was first "
        "seen at consideration."
    )
    # nothing placed in a stage at all: the reason names the journey map, not "entering"
    empty = sec.check_funnel(pl.DataFrame())
    assert isinstance(empty, Skipped) and "journey map" in empty.reason


def test_the_retention_sentence_writes_dates_like_the_summary():
    from cxlab.analysis.retention import LIFECYCLE_STATUSES, lifecycle_reading

    life = pl.DataFrame(
        {
            "period": [dt.datetime(2025, 9, 1)] * 4,
            "status": list(LIFECYCLE_STATUSES),
            "customers": [1200, 3000, 40, 90],
            "complete": [True] * 4,
        }
    )
    text = lifecycle_reading(life, "month")
    # the summary's period reads "01 Oct 2024 to ..."; the retention sentence follows it, and
    # counts carry thousands separators (1,200 + 3,000 + 40 = 4,240 active)
    assert text.startswith("In the month starting 01 Sep 2025, 4,240 customers were active")
    assert "2025-09-01" not in text


def test_timeline_sentence_names_the_partial_end_only():
    # Mon 01 Jan 2024 00:00 to Wed 31 Jan 2024: the first week is whole, the last week (Mon 29
    # Jan) has three of its seven days; by month, January is whole
    first, last = dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 31, 12)
    week = sm.timeline_sentence(first, last, "week")
    assert week.endswith(
        "The last week is partial (dashed): the data ends on Wed 31 Jan 2024, so its lower "
        "count is not missing data."
    )
    assert "partial" not in sm.timeline_sentence(first, last, "month")
    # a single day of data inside one week: that week is the only one, and partial
    one = sm.timeline_sentence(dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 3, 18))
    assert "The only week is partial: the data runs from Wed 03 Jan 2024 to Wed 03 Jan 2024" in one


def test_only_clearly_painful_touchpoints_are_called_painful():
    # the bookshop's top four pain scores: only checkout_error's interval is above zero;
    # product_view's pain is below zero (fewer of them went no further than their peers)
    heat = pl.DataFrame(
        {
            "stage": ["retention", "purchase", "retention", "consideration"],
            "touchpoint": ["email_open", "checkout_error", "delivery_late", "product_view"],
            "pain": [0.057, 0.526, 0.045, -0.05],
            "pain_ci_low": [-0.071, 0.478, -0.007, -0.09],
            "pain_ci_high": [0.265, 0.570, 0.090, -0.01],
        }
    )
    ranked = sm.rank_pain(heat)
    # the clearly painful first, then the others by pain: 0.057, 0.045; product_view (-0.05)
    # has no pain, so it is not listed
    assert ranked.select("touchpoint", "verdict").rows() == [
        ("checkout_error", "clearly painful"),
        ("email_open", "no clear difference"),
        ("delivery_late", "no clear difference"),
    ]
    assert sm.pain_sentence(ranked) == (
        "Only checkout_error is clearly painful: its whole 95% interval is above zero. For the "
        "other 2 touchpoints the interval includes zero: the customers who hit "
        "them may drop out no more than their peers."
    )
    assert sm.rank_pain(heat, top=2)["touchpoint"].to_list() == ["checkout_error", "email_open"]
    # one other touchpoint: "the other touchpoint", not "the other 1 touchpoint"
    assert sm.pain_sentence(sm.rank_pain(heat, top=2)).endswith(
        "For the other touchpoint the interval includes zero: the customers who hit it may "
        "drop out no more than their peers."
    )
    # nothing clear: no touchpoint is called painful, and the summary names none either
    unclear = sm.rank_pain(heat.filter(pl.col("touchpoint") != "checkout_error"))
    assert sm.pain_sentence(unclear) == (
        "No touchpoint is clearly painful: for each of the 2 touchpoints listed the 95% interval "
        "includes zero, so the customers who hit them may drop out no more than their peers."
    )
    # two clear ones and nothing else
    both = heat.with_columns(pain_ci_low=pl.lit(0.01), pain_ci_high=pl.lit(0.6)).head(2)
    assert sm.pain_sentence(sm.rank_pain(both)) == (
        "All 2 touchpoints listed are clearly painful: their whole 95% intervals are above zero."
    )


def test_touchpoints_without_pain_are_not_listed_as_painful():
    # The telecom report filled its 8 rows with awareness touchpoints at 0.0% pain.
    # ad_click: 0 of 902 who hit it went no further, 0 of their peers either:
    #   pain = 0/902 - 0/766 = 0.0 -> not listed.
    # email_open: 9 of 100 who hit it went no further, 7 of 100 peers: 0.09 - 0.07 = 0.02
    #   (2%), interval -0.05 to 0.09 includes zero -> listed, "no clear difference".
    heat = pl.DataFrame(
        {
            "stage": ["awareness", "retention"],
            "touchpoint": ["ad_click", "email_open"],
            "drop_touched": [0 / 902, 9 / 100],
            "drop_not_touched": [0 / 766, 7 / 100],
            "pain": [0 / 902 - 0 / 766, 9 / 100 - 7 / 100],
            "pain_ci_low": [-0.002, -0.05],
            "pain_ci_high": [0.004, 0.09],
        }
    )
    ranked = sm.rank_pain(heat)
    assert ranked["touchpoint"].to_list() == ["email_open"]
    assert ranked["pain"].round(6).to_list() == [0.02]
    assert ranked["verdict"].to_list() == ["no clear difference"]
    # no touchpoint with any pain: no rows, and one plain sentence says so instead
    none = sm.rank_pain(heat.head(1))
    assert none.height == 0
    assert sm.pain_sentence(none) == sm.NO_PAIN
    assert sm.NO_PAIN.startswith("No touchpoint has a pain score above zero")
    # the executive summary's most painful touchpoint comes from the same ranking: none here
    painful = none.filter(pl.col("verdict") == sm.PAIN_VERDICTS["painful"]).head(1)
    assert sm.painful_sentence(painful) is None
