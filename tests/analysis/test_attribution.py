"""Tests for cxlab.analysis.attribution: hand-computed rule-based credit, a published Markov example
reproduced to 1e-9, an independent check of the linear solve, invariants and determinism."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.analysis.attribution import (
    CONVERSION_STATE,
    NO_TOUCH,
    NULL_STATE,
    START_STATE,
    compare_attribution,
    journeys,
    markov_attribution,
    rule_based_attribution,
)
from cxlab.errors import DataError, ParameterError

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
CHANNEL = {"ad": "social", "email": "email", "visit": "web", "purchase": "web"}


def make_events(
    paths: dict[str, list[str]], revenue: dict[str, list[float]] | None = None
) -> pl.DataFrame:
    """Events from {customer: [touchpoints]}, one hour apart; revenue per purchase in order."""
    rows = []
    for cust, tps in paths.items():
        revs = iter((revenue or {}).get(cust, []))
        for i, tp in enumerate(tps):
            rows.append(
                {
                    "customer_id": cust,
                    "timestamp": T0 + dt.timedelta(hours=i),
                    "touchpoint": tp,
                    "channel": CHANNEL.get(tp, tp.lower()),
                    "revenue": next(revs, None) if tp == "purchase" else None,
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "customer_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "touchpoint": pl.String,
            "channel": pl.String,
            "revenue": pl.Float64,
        },
    ).with_row_index("source_row", offset=1)


def credit(df: pl.DataFrame, label: str, col: str) -> dict[str, float]:
    return dict(df.select(label, col).rows())


# c1: two journeys [ad, email, visit] -> 100 and [email] -> 50; c2: [visit, ad] -> 30;
# c3: a purchase with no touch (20); c4: [ad] without conversion. 4 conversions, 200 revenue.
RULE_PATHS = {
    "c1": ["ad", "email", "visit", "purchase", "email", "purchase"],
    "c2": ["visit", "ad", "purchase"],
    "c3": ["purchase"],
    "c4": ["ad"],
}
RULE_REV = {"c1": [100.0, 50.0], "c2": [30.0], "c3": [20.0]}


@pytest.fixture
def rule_events() -> pl.DataFrame:
    return make_events(RULE_PATHS, RULE_REV)


def test_journeys_split_at_conversions(rule_events):
    j = journeys(rule_events)
    assert j.select("customer_id", "touches", "converted", "revenue").rows() == [
        ("c1", ["ad", "email", "visit"], True, 100.0),
        ("c1", ["email"], True, 50.0),
        ("c2", ["visit", "ad"], True, 30.0),
        ("c3", [], True, 20.0),
        ("c4", ["ad"], False, 0.0),
    ]


@pytest.mark.parametrize(
    ("model", "conversions", "revenue"),
    [
        # first touch of each journey: j1 ad, j2 email, j3 visit; c3 has none
        ("first", {"ad": 1, "email": 1, "visit": 1}, {"ad": 100, "email": 50, "visit": 30}),
        ("last", {"visit": 1, "email": 1, "ad": 1}, {"visit": 100, "email": 50, "ad": 30}),
        # linear: j1 thirds, j2 email 1, j3 halves
        (
            "linear",
            {"ad": 1 / 3 + 1 / 2, "email": 1 / 3 + 1, "visit": 1 / 3 + 1 / 2},
            {"ad": 100 / 3 + 15, "email": 100 / 3 + 50, "visit": 100 / 3 + 15},
        ),
        # position 40/20/40 on j1, 100% on j2, 50/50 on j3
        (
            "position",
            {"ad": 0.4 + 0.5, "email": 0.2 + 1, "visit": 0.4 + 0.5},
            {"ad": 40 + 15, "email": 20 + 50, "visit": 40 + 15},
        ),
    ],
)
def test_rule_based_hand_computed(rule_events, model, conversions, revenue):
    out = rule_based_attribution(rule_events, model=model)
    got_c, got_r = credit(out, "touchpoint", "conversions"), credit(out, "touchpoint", "revenue")
    assert got_c.pop(NO_TOUCH) == 1.0 and got_r.pop(NO_TOUCH) == 20.0
    assert got_c == pytest.approx(conversions, abs=1e-12)
    assert got_r == pytest.approx(revenue, abs=1e-9)
    assert out["conversions"].sum() == pytest.approx(4.0) and out["share"].sum() == pytest.approx(
        1.0
    )
    assert out["revenue"].sum() == pytest.approx(200.0)


def test_rule_based_by_channel_and_custom_position(rule_events):
    out = rule_based_attribution(rule_events, model="first", by="channel")
    assert credit(out, "channel", "conversions") == {"social": 1, "email": 1, "web": 1, NO_TOUCH: 1}
    u = rule_based_attribution(rule_events, model="position", position_weights=(0.3, 0.3))
    assert credit(u, "touchpoint", "conversions")["email"] == pytest.approx(0.4 + 1)


def test_rule_based_bootstrap_is_seeded(rule_events):
    a = rule_based_attribution(rule_events, model="linear", n_boot=50, seed=3)
    b = rule_based_attribution(rule_events, model="linear", n_boot=50, seed=3)
    assert a.equals(b)
    assert (a["share_ci_low"] <= a["share_ci_high"]).all()


def test_interval_level_is_called_level_and_ci_still_works(rule_events):
    # a narrower level gives a narrower interval from the same draws; the old name 'ci'
    # gives the same frame with a DeprecationWarning
    wide = rule_based_attribution(rule_events, model="linear", n_boot=50, level=0.95, seed=3)
    narrow = rule_based_attribution(rule_events, model="linear", n_boot=50, level=0.5, seed=3)
    assert (narrow["share_ci_high"] - narrow["share_ci_low"]).sum() < (
        wide["share_ci_high"] - wide["share_ci_low"]
    ).sum()
    with pytest.warns(DeprecationWarning, match="'ci' parameter of rule_based_attribution"):
        old = rule_based_attribution(rule_events, model="linear", n_boot=50, ci=0.5, seed=3)
    assert old.equals(narrow)
    with pytest.warns(DeprecationWarning, match="now called 'level'"):
        res = markov_attribution(rule_events, n_boot=20, ci=0.9)
    assert res.level == 0.9
    with pytest.warns(DeprecationWarning, match="MarkovAttribution"):
        assert res.ci == 0.9
    with pytest.warns(DeprecationWarning, match="compare_attribution"):
        compare_attribution(rule_events, models=["last"], n_boot=0, ci=0.9)
    with pytest.raises(ParameterError, match="The 'level' parameter of markov_attribution"):
        markov_attribution(rule_events, level=95)


# Published example: S. Bryl, "Marketing Multi-Channel Attribution model with R (part 1: Markov
# chain concept)", analyzecore.com, 2016 (the 3-path illustration used with the
# ChannelAttribution package; method of Anderl, Becker, von Wangenheim & Schumann 2016):
#   C1 > C2 > C3 -> conversion;  C1 -> null;  C2 > C3 -> null.
# Transitions: start->C1 2/3, start->C2 1/3, C1->C2 1/2, C1->null 1/2, C2->C3 1, C3->conv 1/2,
# C3->null 1/2.  P(conv) = 2/3*1/2*1*1/2 + 1/3*1*1/2 = 1/3.
# Remove C1: P = 1/3*1*1/2 = 1/6 -> RE 0.5; remove C2 or C3: P = 0 -> RE 1.
# Normalised: 0.5/2.5 = 0.2, 1/2.5 = 0.4, 0.4.
BRYL = {"a": ["C1", "C2", "C3", "purchase"], "b": ["C1"], "c": ["C2", "C3"]}


def test_markov_reproduces_published_example():
    res = markov_attribution(make_events(BRYL), by="touchpoint", n_boot=0)
    assert abs(res.conversion_probability - 1 / 3) < 1e-9
    m = dict(zip(res.states, range(len(res.states)), strict=True))
    expected = {
        (START_STATE, "C1"): 2 / 3,
        (START_STATE, "C2"): 1 / 3,
        ("C1", "C2"): 1 / 2,
        ("C1", NULL_STATE): 1 / 2,
        ("C2", "C3"): 1.0,
        ("C3", CONVERSION_STATE): 1 / 2,
        ("C3", NULL_STATE): 1 / 2,
    }
    nonzero = {
        (res.states[i], res.states[k]): res.matrix[i, k]
        for i, k in zip(*np.nonzero(res.matrix), strict=True)
    }
    nonzero.pop((CONVERSION_STATE, CONVERSION_STATE))
    nonzero.pop((NULL_STATE, NULL_STATE))
    assert nonzero.keys() == expected.keys()
    for k, v in expected.items():
        assert abs(nonzero[k] - v) < 1e-9
    assert np.allclose(res.matrix.sum(axis=1), 1.0)
    assert res.matrix[m[CONVERSION_STATE], m[CONVERSION_STATE]] == 1.0
    c = res.credit
    assert abs(credit(c, "touchpoint", "conversion_probability_without")["C1"] - 1 / 6) < 1e-9
    for label, re_, share in (("C1", 0.5, 0.2), ("C2", 1.0, 0.4), ("C3", 1.0, 0.4)):
        assert abs(credit(c, "touchpoint", "removal_effect")[label] - re_) < 1e-9
        assert abs(credit(c, "touchpoint", "share")[label] - share) < 1e-9
        assert abs(credit(c, "touchpoint", "conversions")[label] - share * 1) < 1e-9
    assert res.transitions.filter(pl.col("source") == START_STATE)["count"].to_list() == [2, 1]


def test_markov_with_a_loop_matches_hand_solution():
    # A > B > A converts, A does not, B converts.
    # P(A->B)=1/3, P(A->conv)=1/3, P(A->null)=1/3, P(B->A)=1/2, P(B->conv)=1/2, start: A 2/3, B 1/3.
    # x_A = x_B/3 + 1/3, x_B = x_A/2 + 1/2 -> x_A = 3/5, x_B = 4/5, P = 2/3*3/5 + 1/3*4/5 = 2/3.
    # Remove A: x_B = 1/2, P = 1/6, RE = 3/4.  Remove B: x_A = 1/3, P = 2/9, RE = 2/3.
    ev = make_events({"x": ["A", "B", "A", "purchase"], "y": ["A"], "z": ["B", "purchase"]})
    res = markov_attribution(ev, by="touchpoint", n_boot=0)
    assert abs(res.conversion_probability - 2 / 3) < 1e-9
    re_ = credit(res.credit, "touchpoint", "removal_effect")
    assert abs(re_["A"] - 3 / 4) < 1e-9 and abs(re_["B"] - 2 / 3) < 1e-9
    sh = credit(res.credit, "touchpoint", "share")
    assert abs(sh["A"] - 9 / 17) < 1e-9 and abs(sh["B"] - 8 / 17) < 1e-9
    # independent check: absorbing mass after many steps of the full matrix
    power = np.linalg.matrix_power(res.matrix, 500)
    assert abs(power[0, res.states.index(CONVERSION_STATE)] - 2 / 3) < 1e-12


def test_markov_revenue_unattributed_and_repr():
    ev = make_events(
        {"a": ["ad", "purchase", "purchase"], "b": ["email", "purchase"], "c": ["ad"]},
        {"a": [10.0, 5.0], "b": [30.0]},
    )
    res = markov_attribution(ev, by="touchpoint", n_boot=0)
    assert res.unattributed == 1 and res.n_conversions == 2 and res.revenue == 40.0
    assert res.credit["revenue"].sum() == pytest.approx(40.0)
    assert "2 conversions" in repr(res)
    assert res.removal_effects.columns[:3] == [
        "touchpoint",
        "conversion_probability_without",
        "removal_effect",
    ]


def random_journeys(seed: int, n: int = 300) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    paths = {}
    for i in range(n):
        k = rng.integers(1, 5)
        tps = list(rng.choice(["ad", "email", "visit", "chat"], size=k))
        if "visit" in tps and rng.random() < 0.6 or rng.random() < 0.1:
            tps.append("purchase")
        paths[f"c{i:04d}"] = [str(t) for t in tps]
    return make_events(paths)


def test_markov_bootstrap_deterministic_and_sane():
    ev = random_journeys(1)
    a = markov_attribution(ev, n_boot=60, seed=5)
    b = markov_attribution(ev.sample(fraction=1.0, shuffle=True, seed=2), n_boot=60, seed=5)
    assert a.credit.equals(b.credit) and a.conversion_probability == b.conversion_probability
    c = markov_attribution(ev, n_boot=60, seed=6)
    assert not a.credit["share_ci_low"].equals(c.credit["share_ci_low"])
    cr = a.credit
    # the result draws itself: one Markov bar per label, with the share and its interval
    bars = pl.DataFrame(a.chart().to_dict()["datasets"].popitem()[1])
    assert sorted(bars["share"].to_list()) == sorted(cr["share"].to_list())
    assert set(bars["model"]) == {"Markov"}  # drawn with its display label
    assert sorted(bars["ci_low"].to_list()) == sorted(cr["share_ci_low"].to_list())
    # drawn as conversions, the whiskers are Markov's own bootstrap interval of the
    # conversions, not the share interval rescaled by the chart
    drawn = pl.DataFrame(a.chart("conversions").to_dict()["datasets"].popitem()[1])
    for end in ("low", "high"):
        expected = sorted(cr[f"conversions_ci_{end}"].to_list())
        assert sorted(drawn[f"ci_{end}"].to_list()) == pytest.approx(expected)
    total = cr["conversions"].sum()
    rescaled = sorted((cr["share_ci_high"] * total).to_list())
    assert sorted(drawn["ci_high"].to_list()) != pytest.approx(rescaled)  # they differ here
    for name in ("removal_effect", "share", "conversions"):
        assert (cr[f"{name}_ci_low"] <= cr[name] + 1e-12).all()
        assert (cr[name] <= cr[f"{name}_ci_high"] + 1e-12).all()
    # planted truth: only 'web' visits drive purchases here, it must get the largest share
    assert cr["channel"][0] == "web"


def test_compare_attribution_long_frame(rule_events):
    out = compare_attribution(rule_events, by="touchpoint", n_boot=0)
    assert out["model"].unique(maintain_order=True).to_list() == [
        "first",
        "last",
        "linear",
        "position",
        "markov",
    ]
    per_model = out.group_by("model").agg(pl.col("share").sum(), pl.len())
    assert per_model["share"].to_list() == pytest.approx([1.0] * 5)
    assert per_model["len"].n_unique() == 1  # complete grid
    with pytest.raises(ParameterError, match="'models'"):
        compare_attribution(rule_events, models=["shapley"])


def test_compare_attribution_carries_each_model_s_conversions_interval():
    # Markov rows: the bootstrap's own conversions interval; a rule's rows: its share interval
    # times its conversions (a rule's credit sums to the conversions)
    ev = random_journeys(1)
    out = compare_attribution(ev, models=["last", "markov"], by="touchpoint", n_boot=30, seed=5)
    last = out.filter(pl.col("model") == "last")
    total = last["conversions"].sum()
    assert last["conversions_ci_high"].to_list() == pytest.approx(
        (last["ci_high"] * total).to_list()
    )
    credit = markov_attribution(ev, by="touchpoint", n_boot=30, seed=5).credit.sort("touchpoint")
    markov = out.filter(pl.col("model") == "markov").sort("label")
    assert markov["conversions_ci_low"].to_list() == credit["conversions_ci_low"].to_list()
    assert markov["conversions_ci_high"].to_list() == credit["conversions_ci_high"].to_list()


def test_attribution_errors(rule_events):
    with pytest.raises(ParameterError, match="'model'"):
        rule_based_attribution(rule_events, model="markov")
    with pytest.raises(ParameterError, match="'by'"):
        markov_attribution(rule_events, by="campaign")
    with pytest.raises(DataError, match="no conversions"):
        rule_based_attribution(rule_events, conversion="signup")
    with pytest.raises(DataError, match="no converting journey"):
        markov_attribution(rule_events, conversion="signup")
    with pytest.raises(ParameterError, match="position_weights"):
        rule_based_attribution(rule_events, model="position", position_weights=(0.8, 0.8))


journeys_st = st.dictionaries(
    st.sampled_from([f"c{i}" for i in range(15)]),
    st.lists(st.sampled_from(["A", "B", "C", "D", "purchase"]), min_size=1, max_size=6),
    min_size=2,
    max_size=15,
)


@settings(max_examples=40, deadline=None)
@given(journeys_st)
def test_invariants(paths):
    ev = make_events(paths)
    n_conv = sum(tps.count("purchase") for tps in paths.values())
    for model in ("first", "last", "linear", "position"):
        if n_conv:
            out = rule_based_attribution(ev, model=model)
            assert abs(out["conversions"].sum() - n_conv) < 1e-9
    try:
        res = markov_attribution(ev, by="touchpoint", n_boot=0)
    except DataError:
        return
    c = res.credit
    assert abs(c["share"].sum() - 1) < 1e-9
    assert ((c["removal_effect"] >= -1e-12) & (c["removal_effect"] <= 1 + 1e-12)).all()
    # removing a state never raises the conversion probability
    assert (c["conversion_probability_without"] <= res.conversion_probability + 1e-12).all()
    assert abs(c["conversions"].sum() - res.n_conversions) < 1e-9
    assert res.n_conversions + res.unattributed == n_conv
    assert np.allclose(res.matrix.sum(axis=1), 1.0)
