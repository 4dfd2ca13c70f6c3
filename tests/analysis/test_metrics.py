"""CX scores (NPS, CSAT, CES) and their intervals: hand-checkable numbers, coverage by simulation."""

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.analysis.metrics import (
    add_breakdowns,
    ces_easy_expr,
    ces_expr,
    compare_scores,
    csat_expr,
    nps_expr,
    nps_group_expr,
    score_interval_exprs,
    score_over_time,
    score_summary,
)
from cxlab.analysis.stats import Z95, nps_interval, wilson_interval
from cxlab.errors import DataError, ParameterError

UTC = dt.UTC


def fb(survey, scores, **cols):
    n = len(scores)
    data = {"customer_id": [f"c{i}" for i in range(n)], "survey": [survey] * n, "score": scores}
    data.update(cols)
    return pl.DataFrame(data)


# ---------------------------------------------------------------------------- hand-checkable
def test_nps_hand_vector():
    # 3 promoters (9, 10, 10), 2 passives (7, 8), 5 detractors (0..6) of n = 10:
    # NPS = 100 * (0.3 - 0.5) = -20; var(NPS/100) = (0.3 + 0.5 - 0.04) / 10 = 0.076
    scores = [9, 10, 10, 7, 8, 0, 3, 5, 6, 6]
    out = score_summary(fb("nps", scores))
    row = out.row(0, named=True)
    assert row["n"] == 10
    assert row["estimate"] == pytest.approx(-20.0)
    half = 100 * Z95 * math.sqrt(0.076)
    assert row["ci_low"] == pytest.approx(-20 - half)
    assert row["ci_high"] == pytest.approx(-20 + half)
    assert row["small_n"] is True
    # agrees with the shared scalar helper
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == pytest.approx(nps_interval(3, 5, 10))


def test_nps_interval_clipped_to_scale():
    # all promoters: variance 0, interval [100, 100]; never above 100
    row = score_summary(fb("nps", [10] * 40)).row(0, named=True)
    assert (row["estimate"], row["ci_low"], row["ci_high"], row["small_n"]) == (
        100.0,
        100.0,
        100.0,
        False,
    )
    row = score_summary(fb("nps", [10] * 9 + [0])).row(0, named=True)
    assert row["ci_high"] == 100.0 and row["ci_low"] < 80.0


def test_csat_top2box_and_wilson():
    # 4 and 5 count as satisfied: 3 of 5 -> 60%; Wilson(3, 5) from the shared helper
    out = score_summary(fb("csat", [5, 4, 4, 3, 1]), metric="csat").row(0, named=True)
    lo, hi = wilson_interval(3, 5)
    assert out["estimate"] == pytest.approx(60.0)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((100 * lo, 100 * hi))


def test_ces_mean_and_easy():
    # answers 7, 5, 3, 1: mean 4, sample sd = sqrt(((9 + 1 + 1 + 9) / 3)) = 2.582, se = 1.291
    rows = score_summary(fb("ces", [7, 5, 3, 1]), metric="ces").row(0, named=True)
    assert rows["estimate"] == pytest.approx(4.0)
    se = math.sqrt(20 / 3) / 2
    assert rows["ci_low"] == pytest.approx(max(1.0, 4 - Z95 * se))
    assert rows["ci_high"] == pytest.approx(min(7.0, 4 + Z95 * se))
    easy = score_summary(fb("ces", [7, 5, 3, 1]), metric="ces_easy").row(0, named=True)
    assert easy["estimate"] == pytest.approx(50.0)  # 7 and 5 are "easy" (>= 5)


def test_expression_builders_hand_values():
    df = pl.DataFrame({"score": [10, 9, 8, 3]})
    assert df.select(nps_expr()).item() == pytest.approx(25.0)  # 2/4 - 1/4
    assert pl.DataFrame({"score": [5, 4, 3, 1]}).select(csat_expr()).item() == 50.0
    assert pl.DataFrame({"score": [7, 5, 3]}).select(ces_expr()).item() == 5.0
    assert pl.DataFrame({"score": [7, 5, 3, 2]}).select(ces_easy_expr()).item() == 50.0
    assert df.select(nps_group_expr()).to_series().to_list() == [
        "promoter",
        "promoter",
        "passive",
        "detractor",
    ]


def test_other_surveys_and_out_of_scale_answers_ignored():
    df = pl.concat([fb("nps", [10, 0]), fb("csat", [1, 1, 1]), fb("nps", [11, -1])])
    row = score_summary(df).row(0, named=True)
    assert row["n"] == 2 and row["estimate"] == 0.0


@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
@settings(max_examples=60, deadline=None)
def test_interval_contains_estimate_and_matches_scalar(scores):
    row = score_summary(fb("nps", scores)).row(0, named=True)
    p = sum(s >= 9 for s in scores)
    d = sum(s <= 6 for s in scores)
    nps, lo, hi = nps_interval(p, d, len(scores))
    assert row["estimate"] == pytest.approx(nps, abs=1e-9)
    assert row["ci_low"] == pytest.approx(lo, abs=1e-9) and row["ci_high"] == pytest.approx(
        hi, abs=1e-9
    )
    assert -100 <= row["ci_low"] <= row["estimate"] <= row["ci_high"] <= 100


def test_expressions_in_group_by_agree_with_summary():
    df = fb("nps", [10, 9, 2, 7, 10, 0, 5], g=["x", "x", "x", "y", "y", "y", "y"])
    a = df.group_by("g").agg(score_interval_exprs("nps")).sort("g")
    b = score_summary(df, by="g")
    assert a["estimate"].to_list() == pytest.approx(b["estimate"].to_list())
    assert a["ci_low"].to_list() == pytest.approx(b["ci_low"].to_list())


# ---------------------------------------------------------------------------- coverage
def _draws(survey, probs, n, draws, seed):
    rng = np.random.default_rng(seed)
    values = np.arange(len(probs)) + (0 if survey == "nps" else 1)
    scores = rng.choice(values, size=(draws, n), p=probs)
    return pl.DataFrame(
        {
            "draw": np.repeat(np.arange(draws), n),
            "survey": survey,
            "score": scores.ravel().astype(np.int64),
        }
    )


@pytest.mark.parametrize(
    ("survey", "metric", "probs", "truth"),
    [
        # NPS: P(9-10) = .45, P(0-6) = .25 -> true NPS 20
        ("nps", "nps", [0.025] * 10 + [0.0], None),
        ("csat", "csat", [0.1, 0.1, 0.2, 0.35, 0.25], 60.0),
        ("ces", "ces", [0.05, 0.1, 0.15, 0.2, 0.2, 0.2, 0.1], None),
        ("ces", "ces_easy", [0.05, 0.1, 0.15, 0.2, 0.2, 0.2, 0.1], 50.0),
    ],
)
def test_closed_form_coverage_is_about_95_percent(survey, metric, probs, truth):
    if survey == "nps":
        probs = [0.25 / 7] * 7 + [0.15, 0.15, 0.25, 0.20]  # passives .30, promoters .45
        truth = 20.0
    if metric == "ces":
        truth = float(np.dot(np.arange(1, 8), probs))
    draws = 2000
    df = _draws(survey, probs, n=150, draws=draws, seed=7)
    out = score_summary(df, by="draw", metric=metric)
    covered = ((out["ci_low"] <= truth) & (out["ci_high"] >= truth)).mean()
    # 2000 draws: the coverage estimate has sd ~0.005, so [0.93, 0.97] is a 4-sd band
    assert 0.93 <= covered <= 0.97, covered
    assert out["estimate"].mean() == pytest.approx(truth, abs=0.6)


def test_bootstrap_coverage_is_about_95_percent():
    probs = [0.25 / 7] * 7 + [0.15, 0.15, 0.25, 0.20]
    df = _draws("nps", probs, n=150, draws=600, seed=11)
    out = score_summary(df, by="draw", method="bootstrap", n_boot=500, seed=1)
    covered = ((out["ci_low"] <= 20.0) & (out["ci_high"] >= 20.0)).mean()
    assert 0.92 <= covered <= 0.975, covered  # 600 draws: sd ~0.009


def test_bootstrap_close_to_closed_form_for_large_n():
    rng = np.random.default_rng(3)
    df = fb("nps", rng.integers(0, 11, 2000).tolist())
    closed = score_summary(df).row(0, named=True)
    boot = score_summary(df, method="bootstrap", n_boot=2000, seed=0).row(0, named=True)
    assert boot["ci_low"] == pytest.approx(closed["ci_low"], abs=1.0)
    assert boot["ci_high"] == pytest.approx(closed["ci_high"], abs=1.0)
    again = score_summary(df, method="bootstrap", n_boot=2000, seed=0).row(0, named=True)
    assert again == boot  # deterministic with a seed


# ---------------------------------------------------------------------------- breakdowns
def test_breakdown_by_stage_joins_the_journey_map():
    df = fb("nps", [10, 10, 0, 8], touchpoint=["checkout", "purchase", "support_call", None])
    out = score_summary(df, by="stage")
    # checkout + purchase -> purchase stage, NPS 100; support_call -> retention, NPS -100
    assert out["stage"].cast(pl.String).to_list() == ["purchase", "retention", None]
    assert out["estimate"].to_list() == [100.0, -100.0, 0.0]
    assert out["n"].to_list() == [2, 1, 1]
    custom = score_summary(df, by="stage", journey_map={"checkout": "consideration"})
    assert custom["stage"].cast(pl.String).to_list() == ["consideration", None]


def test_breakdown_by_segment_and_channel():
    t = [dt.datetime(2024, 1, d, tzinfo=UTC) for d in (2, 3, 4)]
    df = fb("nps", [10, 0, 9], touchpoint=["checkout"] * 3, timestamp=t)
    customers = pl.DataFrame(
        {"customer_id": ["c0", "c1", "c2"], "segment": ["gold", "basic", "gold"]}
    )
    seg = score_summary(df, by="segment", customers=customers)
    assert seg.select("segment", "n", "estimate").rows() == [
        ("basic", 1, -100.0),
        ("gold", 2, 100.0),
    ]
    events = pl.DataFrame(
        {
            "customer_id": ["c0", "c0", "c1", "c2"],
            "timestamp": [t[0] - dt.timedelta(hours=2), t[0] + dt.timedelta(hours=1), t[1], t[2]],
            "touchpoint": ["checkout"] * 4,
            "channel": ["web", "app", "app", "app"],
        }
    )
    # c0's survey follows its web checkout (the app checkout is after the survey)
    ch = score_summary(df, by="channel", events=events)
    assert ch.select("channel", "n", "estimate").rows() == [("app", 2, 0.0), ("web", 1, 100.0)]
    # a relationship NPS (no touchpoint) takes the channel of the latest event before it:
    # c0 at day 2 + 3h -> the app checkout at day 2 + 1h
    rel = df.with_columns(
        pl.lit(None, dtype=pl.String).alias("touchpoint"),
        pl.col("timestamp") + dt.timedelta(hours=3),
    )
    ch = score_summary(rel, by="channel", events=events)
    assert ch.select("channel", "n").rows() == [("app", 3)]


def test_the_metric_parameter_keeps_its_old_name_for_one_release():
    # 'survey' was the old name of 'metric' (a metric such as ces_easy is not a survey):
    # same numbers, with a DeprecationWarning that says what to write
    answers = fb("ces", [7, 5, 3, 1])
    with pytest.warns(DeprecationWarning, match="Write metric='ces_easy'"):
        old = score_summary(answers, survey="ces_easy")
    assert old.equals(score_summary(answers, metric="ces_easy"))
    with pytest.warns(DeprecationWarning, match="'survey' parameter of compare_scores"):
        compare_scores(answers, answers, survey="ces")
    with pytest.warns(DeprecationWarning, match="'survey' parameter of score_over_time"):
        with pytest.raises(ParameterError, match="The 'metric' parameter"):
            score_over_time(answers, survey="cast")


def test_breakdown_errors_are_helpful():
    with pytest.raises(ParameterError, match="customers"):
        score_summary(fb("nps", [1]), by="segment")
    with pytest.raises(DataError, match="Did you mean 'touchpoint'"):
        score_summary(fb("nps", [1], touchpoint=["x"]), by="touchpont")
    with pytest.raises(ParameterError, match="Did you mean 'csat'"):
        score_summary(fb("nps", [1]), metric="cast")
    with pytest.raises(ParameterError, match="'method'"):
        score_summary(fb("nps", [1]), method="exact")
    assert add_breakdowns(fb("nps", [1]), None).collect().height == 1


# ---------------------------------------------------------------------------- over time
def test_score_over_time_monthly_and_rolling():
    ts = [dt.datetime(2024, m, 10, tzinfo=UTC) for m in (1, 1, 3, 3, 3, 4)]
    df = fb("nps", [10, 0, 10, 10, 9, 5], timestamp=ts)
    out = score_over_time(df, every="month")
    # Jan: 1 promoter 1 detractor -> 0; Mar: 3 promoters -> 100; Apr: 1 detractor -> -100
    assert out["period"].dt.month().to_list() == [1, 3, 4]
    assert out["estimate"].to_list() == [0.0, 100.0, -100.0]
    rolled = score_over_time(df, every="month", window=2)
    # windows end Jan (Jan), Feb (Jan+Feb), Mar (Feb+Mar), Apr (Mar+Apr: 3 P, 1 D -> 50)
    assert rolled["period"].dt.month().to_list() == [1, 2, 3, 4]
    assert rolled["n"].to_list() == [2, 2, 3, 4]
    assert rolled["estimate"].to_list() == [0.0, 0.0, 100.0, 50.0]
    weekly = score_over_time(df, every="week")
    assert weekly["period"].dt.weekday().unique().to_list() == [1]  # weeks start on Monday


def test_score_over_time_by_group_rolls_within_group():
    ts = [dt.datetime(2024, m, 1, tzinfo=UTC) for m in (1, 2, 1, 2)]
    df = fb("csat", [5, 1, 1, 1], timestamp=ts, touchpoint=["a", "a", "b", "b"])
    out = score_over_time(df, "csat", by="touchpoint", window=2)
    assert out.select("touchpoint", "n", "estimate").rows() == [
        ("a", 1, 100.0),
        ("a", 2, 50.0),
        ("b", 1, 0.0),
        ("b", 2, 0.0),
    ]
    with pytest.raises(ParameterError, match="'every'"):
        score_over_time(df, "csat", every="fortnightly-ish")


# ---------------------------------------------------------------------------- comparison
def test_compare_closed_form_hand_numbers():
    # a: p .5 d .2 -> 30, var (.7 - .09)/400; b: p .4 d .3 -> 10, var (.7 - .01)/400
    a = fb("nps", [10] * 200 + [8] * 120 + [3] * 80)
    b = fb("nps", [10] * 160 + [8] * 120 + [3] * 120)
    row = compare_scores(a, b, labels=("Q1", "Q2")).row(0, named=True)
    se = 100 * math.sqrt(0.61 / 400 + 0.69 / 400)  # 5.70 points
    assert row["difference"] == pytest.approx(-20.0)
    assert row["ci_low"] == pytest.approx(-20 - Z95 * se)
    assert row["ci_high"] == pytest.approx(-20 + Z95 * se)
    assert row["significant"] and row["p_value"] < 0.001
    # the report's words: "95% interval", no "CI" and no p in the sentence (p < 0.001 here)
    assert (
        row["sentence"] == "NPS fell 20.0 points from Q1 to Q2 (95% interval 8.8 to 31.2 points)."
    )


def test_compare_bootstrap_and_no_difference():
    a = fb("nps", [10] * 200 + [8] * 120 + [3] * 80)
    b = fb("nps", [10] * 160 + [8] * 120 + [3] * 120)
    boot = compare_scores(a, b, method="bootstrap", n_boot=4000, seed=0).row(0, named=True)
    assert boot["ci_low"] == pytest.approx(-31.2, abs=1.5)
    assert boot["ci_high"] == pytest.approx(-8.8, abs=1.5)
    same = compare_scores(a, a, metric="nps").row(0, named=True)
    assert same["difference"] == 0 and not same["significant"]
    small = compare_scores(fb("csat", [5, 4, 1]), fb("csat", [5, 5, 5]), metric="csat").row(
        0, named=True
    )
    assert small["small_n"]
    # 2 of 3 satisfied vs 3 of 3: +33.3 points, se = 100·sqrt(2/3 · 1/3 / 3) = 27.2 points,
    # interval 33.3 ± 1.96 · 27.2 = -20.0 to 86.7, p = 0.22: said in words, not as "p ="
    assert small["sentence"].endswith(
        "(95% interval -20.0 to 86.7 percentage points), too small a change to tell from chance."
    )
    # a against itself: se = 100·sqrt(2 · 0.61 / 400) = 5.52 points, so ±1.96 · 5.52 = ±10.8
    assert same["sentence"].endswith(
        "did not change from a to b (95% interval -10.8 to 10.8 points)."
    )
    with pytest.raises(DataError, match="no 'nps' answers"):
        compare_scores(a, fb("csat", [5]))
