"""Tests of cxlab.analysis.heatmap: reach, intensity, satisfaction, pain score, comparisons; planted truth."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.analysis.heatmap import (
    channel_by_stage,
    compare_heatmaps,
    touchpoint_by_week,
    touchpoint_heatmap,
)
from cxlab.analysis.journey import assign_stages
from cxlab.analysis.stats import wilson_interval
from cxlab.config import SAMPLE_DIR
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
from cxlab.errors import ParameterError
from cxlab.io.sample import SAMPLE_CLIENTS

# The sample clients are committed data: missing files fail the tests, they do not skip them.
MISSING_SAMPLE = (
    "the sample clients are committed in data/sample; restore them (git checkout data/sample) "
    "or regenerate them with `make sample`"
)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def events(rows: list[tuple]) -> pl.DataFrame:
    """(customer, hour, touchpoint[, channel]); source_row = list position."""
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [T0 + dt.timedelta(hours=r[1]) for r in rows],
            "touchpoint": [r[2] for r in rows],
            "channel": [r[3] if len(r) > 3 else "web" for r in rows],
            "source_row": pl.Series(range(1, len(rows) + 1), dtype=pl.UInt32),
        }
    )


# Purchase-stage customers: h1 h2 h3 h4 h6 (5). Dropped there (never reached retention):
# h2 h4 h6 (3). checkout_error touched by h2 h3 h6 (2 of them dropped).
LOG = events(
    [
        ("h1", 0, "site_visit"),
        ("h1", 1, "checkout"),
        ("h1", 2, "purchase"),
        ("h1", 30, "delivery"),
        ("h2", 0, "site_visit", "app"),
        ("h2", 1, "checkout", "app"),
        ("h2", 2, "checkout_error", "app"),
        ("h3", 0, "site_visit"),
        ("h3", 1, "checkout"),
        ("h3", 2, "checkout_error"),
        ("h3", 3, "checkout"),
        ("h3", 4, "purchase"),
        ("h3", 40, "delivery"),
        ("h4", 0, "site_visit"),
        ("h4", 1, "checkout"),
        ("h5", 0, "site_visit"),
        ("h6", 0, "site_visit"),
        ("h6", 5, "site_visit"),
        ("h6", 6, "checkout"),
        ("h6", 7, "checkout_error"),
    ]
)
STAGED = assign_stages(LOG, DEFAULT_JOURNEY_MAP)
FEEDBACK = pl.DataFrame(
    {
        "customer_id": ["h2", "h6", "h1", "h5"],
        "timestamp": [T0 + dt.timedelta(hours=h) for h in (3, 8, 3, 1)],
        "survey": ["csat", "csat", "nps", "csat"],
        "score": [2, 1, 10, 5],
        "comment": [None] * 4,
        "touchpoint": ["checkout_error", "checkout_error", "purchase", None],
    }
)


def cell(h: pl.DataFrame, stage: str, tp: str) -> dict:
    return h.filter((pl.col("stage") == stage) & (pl.col("touchpoint") == tp)).row(0, named=True)


def test_heatmap_counts_reach_intensity():
    h = touchpoint_heatmap(STAGED)
    sv = cell(h, "consideration", "site_visit")
    # 7 site visits by 6 customers; all 6 consideration customers touched it
    assert (sv["events"], sv["customers"], sv["stage_customers"]) == (7, 6, 6)
    assert sv["reach"] == 1.0 and sv["intensity"] == pytest.approx(7 / 6)
    co = cell(h, "purchase", "checkout")
    # h3 checked out twice: 6 events, 5 customers, 5 purchase-stage customers
    assert (co["events"], co["customers"], co["reach"], co["intensity"]) == (6, 5, 1.0, 1.2)
    ce = cell(h, "purchase", "checkout_error")
    assert (ce["customers"], ce["reach"]) == (3, 0.6)
    assert (ce["reach_ci_low"], ce["reach_ci_high"]) == pytest.approx(wilson_interval(3, 5))
    assert h.select("stage", "touchpoint").rows() == sorted(
        h.select("stage", "touchpoint").rows(),
        key=lambda r: (
            ["awareness", "consideration", "purchase", "retention", "advocacy"].index(r[0]),
            r[1],
        ),
    )


def test_pain_score_by_hand():
    h = touchpoint_heatmap(STAGED)
    ce = cell(h, "purchase", "checkout_error")
    # touched: h2 h3 h6, dropped h2 h6 -> 2/3; not touched: h1 h4, dropped h4 -> 1/2
    assert (
        ce["n_touched"],
        ce["dropped_touched"],
        ce["n_not_touched"],
        ce["dropped_not_touched"],
    ) == (3, 2, 2, 1)
    assert ce["pain"] == pytest.approx(2 / 3 - 1 / 2)
    assert ce["pain_ratio"] == pytest.approx((2 / 3) / (1 / 2))
    assert ce["pain_ci_low"] < ce["pain"] < ce["pain_ci_high"]
    # purchase: touched h1 h3 (0 dropped) vs h2 h4 h6 (all dropped) -> -1
    assert cell(h, "purchase", "purchase")["pain"] == pytest.approx(-1.0)
    # everyone touched checkout: no peers -> no pain score
    assert cell(h, "purchase", "checkout")["pain"] is None
    top = h.filter(pl.col("stage") == "purchase").sort("pain", descending=True, nulls_last=True)
    assert top["touchpoint"][0] == "checkout_error"


def test_pain_maturity_leaves_out_recent_entrants():
    # data end is 40h; with maturity 35h only customers who entered purchase by 5h count:
    # h1 h2 h3 h4 (h6 entered at 6h). checkout_error: h2 h3 -> 1/2 dropped; h1 h4 -> 1/2
    h = touchpoint_heatmap(STAGED, maturity="35h")
    ce = cell(h, "purchase", "checkout_error")
    assert (ce["n_touched"], ce["n_not_touched"]) == (2, 2) and ce["pain"] == pytest.approx(0.0)


def test_satisfaction_from_feedback():
    h = touchpoint_heatmap(STAGED, FEEDBACK)
    ce = cell(h, "purchase", "checkout_error")
    # CSAT 2 and 1 rescaled over 1..5 to 0-100: 25 and 0 -> 12.5
    assert (ce["feedback_n"], ce["satisfaction"]) == (2, pytest.approx(12.5))
    assert cell(h, "purchase", "purchase")["satisfaction"] == pytest.approx(100.0)  # NPS 10
    raw = touchpoint_heatmap(STAGED, FEEDBACK, survey="csat")
    assert cell(raw, "purchase", "checkout_error")["satisfaction"] == pytest.approx(1.5)
    assert cell(raw, "consideration", "site_visit")["satisfaction"] is None
    with pytest.raises(ParameterError, match="survey"):
        touchpoint_heatmap(STAGED, FEEDBACK, survey="csta")


def test_week_and_channel_tables():
    w = touchpoint_by_week(LOG)
    # all events fall in the week of Monday 2024-01-01 except none; 6 customers active
    sv = w.filter(pl.col("touchpoint") == "site_visit").row(0, named=True)
    assert (sv["week"], sv["customers"], sv["week_customers"]) == (dt.date(2024, 1, 1), 6, 6)
    c = channel_by_stage(STAGED)
    app = c.filter((pl.col("channel") == "app") & (pl.col("stage") == "purchase")).row(
        0, named=True
    )
    # h2 is the only app customer: 1 of 5 purchase-stage customers, 2 of the 11 purchase-stage
    # events (h1 2, h2 2, h3 4, h4 1, h6 2)
    assert (app["customers"], app["reach"], app["share_of_events"]) == (
        1,
        0.2,
        pytest.approx(2 / 11),
    )


def test_compare_heatmaps_difference():
    a = touchpoint_heatmap(STAGED.filter(pl.col("channel") == "web"))
    b = touchpoint_heatmap(STAGED)
    d = compare_heatmaps(a, b, metrics=["reach", "events"], labels=("web", "all"))
    r = d.filter((pl.col("metric") == "reach") & (pl.col("touchpoint") == "checkout_error")).row(
        0, named=True
    )
    # web-only: purchase stage h1 h3 h4 h6 (h2 is app), error by h3 h6 -> 2/4; all: 3/5
    assert (r["value_a"], r["value_b"]) == (0.5, 0.6) and r["difference"] == pytest.approx(0.1)
    assert r["diff_ci_low"] < 0.1 < r["diff_ci_high"] and (r["n_a"], r["n_b"]) == (4, 5)
    ev = d.filter((pl.col("metric") == "events") & (pl.col("touchpoint") == "checkout"))
    assert ev["difference"].item() == 1.0  # h2's app checkout
    with pytest.raises(ParameterError, match="metric"):
        compare_heatmaps(a, b, metrics=["reech"])


@st.composite
def logs(draw):
    tps = ["ad_click", "site_visit", "checkout", "checkout_error", "purchase", "delivery", "review"]
    n = draw(st.integers(1, 30))
    return events(
        [
            (f"k{draw(st.integers(0, 6))}", draw(st.integers(0, 50)), draw(st.sampled_from(tps)))
            for _ in range(n)
        ]
    )


@settings(max_examples=30, deadline=None)
@given(logs())
def test_reach_and_pain_in_range(log):
    h = touchpoint_heatmap(assign_stages(log, DEFAULT_JOURNEY_MAP))
    assert h["reach"].is_between(0, 1).all()
    assert (h["intensity"] >= 1).all()
    pain = h["pain"].drop_nulls()
    assert pain.is_between(-1, 1).all()
    assert (h["n_touched"] + h["n_not_touched"] == h["stage_customers"]).all()


# ---------------------------------------------------------------- planted truth on sample data
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SAMPLE_CLIENTS))
def test_planted_checkout_friction_is_recovered(name):
    if not (SAMPLE_DIR / name / "truth.json").is_file():
        pytest.fail(f"{SAMPLE_DIR / name}/truth.json is missing: {MISSING_SAMPLE}")
    from cxlab.io.client import load_client

    truth = json.loads((SAMPLE_DIR / name / "truth.json").read_text())["checkout_friction"]
    client = load_client(SAMPLE_DIR / name)
    staged = assign_stages(
        client.events, client.config.journey_map, client.config.purchase_touchpoints
    )
    h = touchpoint_heatmap(staged, client.feedback)
    in_stage = h.filter((pl.col("stage") == truth["stage"]) & pl.col("pain").is_not_null())
    top = in_stage.sort(["pain", "touchpoint"], descending=[True, False]).row(0, named=True)
    assert top["touchpoint"] == truth["touchpoint"], in_stage.select(
        "touchpoint", "pain", "n_touched"
    )
    assert top["pain_ci_low"] > 0  # clearly painful, not just the largest point estimate
    # cross-check with the generator: customers hitting the error mostly never buy
    if "purchase_rate_hit" in truth:
        assert top["drop_touched"] == pytest.approx(1 - truth["purchase_rate_hit"], abs=0.05)
