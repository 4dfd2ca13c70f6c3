"""Tests for cxlab.analysis.paths: hand-computed fixtures, definitions shared with Retentioneering/pm4py,
tie rule, determinism and invariants."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.analysis.paths import (
    END,
    ENDED,
    OTHER,
    START,
    add_markers,
    compare_transitions,
    path_variants,
    sessionize,
    stage_flows,
    step_matrix,
    transitions,
)
from cxlab.errors import DataError, ParameterError

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def make_events(
    paths: dict[str, list[str]], minutes: dict[str, list[float]] | None = None, **extra
) -> pl.DataFrame:
    """Events from {customer: [touchpoints]}; event i at T0 + i hours unless minutes given."""
    rows = []
    for cust, tps in paths.items():
        offs = (minutes or {}).get(cust, [60.0 * i for i in range(len(tps))])
        for tp, m in zip(tps, offs, strict=True):
            rows.append(
                {
                    "customer_id": cust,
                    "timestamp": T0 + dt.timedelta(minutes=m),
                    "touchpoint": tp,
                    "channel": "web",
                }
            )
    df = pl.DataFrame(
        rows,
        schema={
            "customer_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "touchpoint": pl.String,
            "channel": pl.String,
        },
    )
    df = df.with_row_index("source_row", offset=1)
    for name, values in extra.items():
        df = df.with_columns(pl.Series(name, values))
    return df


def edges(df: pl.DataFrame, col: str) -> dict[tuple[str, str], float]:
    return {(s, t): v for s, t, v in df.select("source", "target", col).rows()}


# The example of Retentioneering's transition-graph user guide ("A simplified example"):
#   user1: A B | A C | A B     user2: A B | C C C     user3: C D C D C D
# ("|" = session border; 3 users, 6 sessions, 17 events).
RETE_PATHS = {"user1": list("ABACAB"), "user2": list("ABCCC"), "user3": list("CDCDCD")}
RETE_SESSIONS = ["s1"] * 2 + ["s2"] * 2 + ["s3"] * 2 + ["s4"] * 2 + ["s5"] * 3 + ["s6"] * 6


@pytest.fixture
def rete() -> pl.DataFrame:
    return make_events(RETE_PATHS, session_id=RETE_SESSIONS)


def test_transitions_events_weight_matches_retentioneering_table1(rete):
    out = transitions(rete, weight="events")
    # pairs per user: u1 AB BA AC CA AB; u2 AB BC CC CC; u3 CD DC CD DC CD -> 14 transitions, 8 edges
    assert edges(out, "count") == {
        ("A", "B"): 3,
        ("A", "C"): 1,
        ("B", "A"): 1,
        ("B", "C"): 1,
        ("C", "A"): 1,
        ("C", "C"): 2,
        ("C", "D"): 3,
        ("D", "C"): 2,
    }
    assert out["events"].sum() == 14
    # node norm: out of A 4, B 2, C 6, D 2 (the guide prints 1 for D, but D->C occurs twice: 4+2+6+2=14)
    p = edges(out, "probability")
    assert p[("A", "B")] == 3 / 4 and p[("C", "D")] == 3 / 6 and p[("D", "C")] == 1.0
    assert edges(out, "share")[("A", "B")] == 3 / 14
    # events-weight probabilities are a Markov matrix: rows sum to 1
    assert out.group_by("source").agg(pl.col("probability").sum())[
        "probability"
    ].to_list() == pytest.approx([1] * 4)


def test_transitions_customers_weight_matches_retentioneering_table2(rete):
    out = transitions(rete, weight="customers")
    c = edges(out, "count")
    assert c[("A", "B")] == 2 and c[("C", "C")] == 1 and c[("C", "D")] == 1
    # node denominators: users with A->* 2, B->* 2, C->* 3, D->* 1 (as printed in the guide)
    p = edges(out, "probability")
    assert p[("A", "B")] == 2 / 2 and p[("A", "C")] == 1 / 2 and p[("B", "A")] == 1 / 2
    assert p[("C", "A")] == 1 / 3 and p[("C", "D")] == 1 / 3 and p[("D", "C")] == 1 / 1
    # full norm: divided by the 3 users of the stream
    assert edges(out, "share")[("A", "B")] == 2 / 3


def test_transitions_session_paths_match_retentioneering_table3(rete):
    out = transitions(rete, weight="sessions", path="session")
    # B->A, C->A, B->C cross session borders and disappear
    assert set(edges(out, "count")) == {("A", "B"), ("A", "C"), ("C", "C"), ("C", "D"), ("D", "C")}
    c = edges(out, "count")
    assert c == {("A", "B"): 3, ("A", "C"): 1, ("C", "C"): 1, ("C", "D"): 1, ("D", "C"): 1}
    # node denominators: sessions with A->* 4, C->* 2, D->* 1; full: 6 sessions
    p = edges(out, "probability")
    assert p[("A", "B")] == 3 / 4 and p[("C", "C")] == 1 / 2 and p[("D", "C")] == 1.0
    assert edges(out, "share")[("A", "B")] == 3 / 6
    assert edges(out, "events")[("C", "D")] == 3


def test_transitions_pm4py_dfg_with_start_end_activities():
    # pm4py: dfg = directly-follows counts; start/end activities = traces starting/ending with X.
    ev = make_events({"c1": ["a", "b", "c"], "c2": ["a", "c"], "c3": ["b", "c", "c"]})
    out = transitions(add_markers(ev))
    c = edges(out, "count")
    assert {k: v for k, v in c.items() if START not in k and END not in k} == {
        ("a", "b"): 1,
        ("b", "c"): 2,
        ("a", "c"): 1,
        ("c", "c"): 1,
    }
    assert {k[1]: v for k, v in c.items() if k[0] == START} == {"a": 2, "b": 1}  # start activities
    assert {k[0]: v for k, v in c.items() if k[1] == END} == {"c": 3}  # end activities


def test_time_between_mean_and_median():
    ev = make_events(
        {"c1": ["a", "b"], "c2": ["a", "b"], "c3": ["a", "b"]},
        minutes={"c1": [0, 1], "c2": [0, 2], "c3": [0, 9]},
    )
    row = transitions(ev).row(0, named=True)
    assert row["mean_seconds"] == (60 + 120 + 540) / 3 and row["median_seconds"] == 120.0


def test_ties_keep_file_order_and_input_row_order_does_not_matter():
    # both events of c1 at the same instant: file order (source_row) decides: b then a
    ev = make_events({"c1": ["b", "a", "c"]}, minutes={"c1": [0, 0, 5]})
    assert edges(transitions(ev), "count") == {("b", "a"): 1, ("a", "c"): 1}
    big = make_events(
        {f"c{i}": list("abcab"[: 1 + i % 5]) for i in range(40)},
        minutes={f"c{i}": [0, 0, 1, 1, 2][: 1 + i % 5] for i in range(40)},
    )
    shuffled = big.sample(fraction=1.0, shuffle=True, seed=7)
    for f in (
        lambda e: transitions(e),
        lambda e: step_matrix(e, 4),
        lambda e: path_variants(e),
        lambda e: stage_flows(e, 3),
    ):
        assert f(big).equals(f(shuffled))
        assert f(big).equals(f(big.lazy()))


def test_missing_source_row_uses_frame_order():
    ev = make_events({"c1": ["b", "a"]}, minutes={"c1": [0, 0]}).drop("source_row")
    assert edges(transitions(ev), "count") == {("b", "a"): 1}


def test_sessionize_strict_gap_and_markers():
    ev = make_events(
        {"c1": ["a", "b", "c", "d"], "c2": ["a"]}, minutes={"c1": [0, 30, 61, 62], "c2": [0]}
    )
    s = sessionize(ev, "30m").sort("source_row")
    # 30 min exactly stays in session 1; 31 min later starts session 2
    assert s["session_id"].to_list() == ["c1#1", "c1#1", "c1#2", "c1#2", "c2#1"]
    assert sessionize(ev, dt.timedelta(minutes=29))["session_id"].n_unique() == 4
    m = sessionize(ev, "30m", markers=True)
    assert m.height == 5 + 2 * 3
    t = transitions(m, path="session")
    assert edges(t, "count")[(START, "a")] == 2 and edges(t, "count")[(START, "c")] == 1
    assert ("b", "c") not in edges(t, "count")  # session border
    lazy = sessionize(ev.lazy(), "30m")
    assert isinstance(lazy, pl.LazyFrame)


# Retentioneering step-matrix guide, "simple_example" (4 users):
SM_PATHS = {
    "user1": ["main", "catalog", "product", "cart", "catalog"],
    "user2": ["main"],
    "user3": ["main", "catalog", "catalog", "product", "cart", "order"],
    "user4": ["catalog", "product", "main", "catalog"],
}


def sm_dict(df: pl.DataFrame) -> dict[tuple[int, str], float]:
    return {(s, t): v for s, t, v in df.select("step", "touchpoint", "share").rows() if v != 0}


def test_step_matrix_retentioneering_simple_example():
    out = step_matrix(make_events(SM_PATHS), max_steps=7)
    assert sm_dict(out) == {
        (1, "main"): 3 / 4,
        (1, "catalog"): 1 / 4,
        (2, "catalog"): 2 / 4,
        (2, "product"): 1 / 4,
        (2, ENDED): 1 / 4,
        (3, "product"): 1 / 4,
        (3, "catalog"): 1 / 4,
        (3, "main"): 1 / 4,
        (3, ENDED): 1 / 4,
        (4, "cart"): 1 / 4,
        (4, "product"): 1 / 4,
        (4, "catalog"): 1 / 4,
        (4, ENDED): 1 / 4,
        (5, "catalog"): 1 / 4,
        (5, "cart"): 1 / 4,
        (5, ENDED): 2 / 4,
        (6, "order"): 1 / 4,
        (6, ENDED): 3 / 4,
        (7, ENDED): 1.0,
    }
    assert out.group_by("step").agg(pl.col("share").sum())["share"].to_list() == pytest.approx(
        [1.0] * 7
    )
    assert out.height == 7 * 6  # complete grid: 5 touchpoints + ENDED at each step
    assert out["touchpoint"].to_list()[-1] == ENDED


def test_step_matrix_anchored():
    # cart: user1 at step 4, user3 at step 5 -> only they remain (n_paths 2)
    # user1: main(-3) catalog(-2) product(-1) cart(0) catalog(1)
    # user3: main(-4) catalog(-3) catalog(-2) product(-1) cart(0) order(1)
    out = step_matrix(make_events(SM_PATHS), max_steps=2, anchor="cart", steps_before=3)
    assert out["n_paths"].unique().to_list() == [2]
    assert sm_dict(out) == {
        (-3, "main"): 1 / 2,
        (-3, "catalog"): 1 / 2,
        (-2, "catalog"): 1.0,
        (-1, "product"): 1.0,
        (0, "cart"): 1.0,
        (1, "catalog"): 1 / 2,
        (1, "order"): 1 / 2,
        (2, ENDED): 1.0,
    }
    # occurrence 2 of catalog: user1 step 5, user3 step 3, user4 step 4
    occ = step_matrix(
        make_events(SM_PATHS), max_steps=1, anchor="catalog", occurrence=2, steps_before=1
    )
    assert sm_dict(occ) == {
        (-1, "cart"): 1 / 3,
        (-1, "catalog"): 1 / 3,
        (-1, "main"): 1 / 3,
        (0, "catalog"): 1.0,
        (1, "product"): 1 / 3,
        (1, ENDED): 2 / 3,
    }
    with pytest.raises(ParameterError, match="Did you mean 'cart'"):
        step_matrix(make_events(SM_PATHS), anchor="crt")


def test_path_variants_counts_share_conversion():
    ev = make_events(
        {
            "c1": ["ad", "visit", "purchase"],
            "c2": ["ad", "visit", "purchase"],
            "c3": ["ad", "visit"],
            "c4": ["ad", "ad", "visit", "purchase"],
            "c5": ["email"],
        }
    )
    out = path_variants(ev)
    assert out.select("path", "paths", "conversions").rows() == [
        ("ad > visit > purchase", 2, 2),
        ("ad > ad > visit > purchase", 1, 1),
        ("ad > visit", 1, 0),
        ("email", 1, 0),
    ]  # ties broken by path text
    assert out["share"].to_list() == [2 / 5, 1 / 5, 1 / 5, 1 / 5]
    assert out["small_n"].all()
    collapsed = path_variants(ev, collapse_loops=True)
    assert collapsed.row(0, named=True)["paths"] == 3
    # first 2 steps, conversion judged on the full path: "ad > visit" = c1, c2, c3 -> 2/3
    pref = path_variants(ev, max_steps=2, collapse_loops=True)
    assert pref.select("path", "paths", "conversion_rate").rows()[0] == ("ad > visit", 4, 3 / 4)
    to_conv = path_variants(ev, until_conversion=True)
    assert to_conv.select("path", "paths", "conversions").rows()[0] == ("ad > visit", 3, 2)
    assert path_variants(ev, top_n=2).height == 2
    assert path_variants(ev, conversion=None).columns == [
        "rank",
        "path",
        "n_steps",
        "paths",
        "share",
    ]


def test_compare_transitions_segments():
    ev = make_events(
        {"c1": ["a", "b"], "c2": ["a", "c"], "c3": ["a", "b"]},
    )
    cust = pl.DataFrame({"customer_id": ["c1", "c2", "c3"], "segment": ["x", "x", "y"]})
    out = compare_transitions(ev, "segment", "x", "y", customers=cust)
    d = {
        (s, t): (pa, pb, diff)
        for s, t, pa, pb, diff in out.select(
            "source", "target", "probability_a", "probability_b", "probability_diff"
        ).rows()
    }
    assert d == {("a", "b"): (0.5, 1.0, -0.5), ("a", "c"): (0.5, 0.0, 0.5)}
    with pytest.raises(ParameterError, match="Values present"):
        compare_transitions(ev, "segment", "x", "z", customers=cust)
    with pytest.raises(DataError, match="Did you mean 'segment'"):
        compare_transitions(ev, "segmnt", "x", "y", customers=cust)


def test_stage_flows_touchpoints_and_stages():
    ev = make_events(
        {
            "c1": ["ad_click", "site_visit", "purchase"],
            "c2": ["ad_click", "site_visit"],
            "c3": ["ad_click", "purchase", "purchase", "review"],
        }
    )
    out = stage_flows(ev, max_steps=3)
    assert out.select("step", "source", "target", "paths").rows() == [
        (1, "ad_click", "site_visit", 2),
        (1, "ad_click", "purchase", 1),
        (2, "purchase", "purchase", 1),
        (2, "site_visit", "ENDED", 1),
        (2, "site_visit", "purchase", 1),
    ]
    st_ = stage_flows(ev, max_steps=4, unit="stage")
    # c3: awareness > purchase > retention (2nd purchase) > advocacy
    assert (1, "awareness", "consideration", 2) in st_.select(
        "step", "source", "target", "paths"
    ).rows()
    assert (2, "purchase", "retention", 1) in st_.select("step", "source", "target", "paths").rows()
    small = stage_flows(ev, max_steps=2, top_n=1)
    assert small.filter(pl.col("step") == 1)["target"].to_list() == ["site_visit", OTHER]


def test_stage_flows_old_level_name_still_works_and_warns():
    # `level` was renamed `unit` (level is the interval level elsewhere): same frame, a warning
    ev = make_events({"c1": ["ad_click", "purchase"], "c2": ["ad_click"]})
    with pytest.warns(DeprecationWarning, match="Write unit='stage'"):
        old = stage_flows(ev, 2, level="stage")
    assert old.equals(stage_flows(ev, 2, unit="stage"))
    assert old["source"].unique().to_list() == ["awareness"]


def test_errors_are_helpful():
    ev = make_events({"c1": ["a", "b"]})
    with pytest.raises(DataError, match="Did you mean 'touchpont'"):
        transitions(ev.rename({"touchpoint": "touchpont"}))
    with pytest.raises(DataError, match="sessionize"):
        transitions(ev, path="session")
    with pytest.raises(ParameterError, match="'weight'"):
        transitions(ev, weight="users")
    with pytest.raises(ParameterError, match="path='session'"):
        transitions(ev, weight="sessions")
    with pytest.raises(ParameterError, match="max_steps"):
        step_matrix(ev, 0)
    with pytest.raises(ParameterError, match="'gap'"):
        sessionize(ev, "30 minutes")
    with pytest.raises(ParameterError, match="DataFrame or LazyFrame"):
        transitions({"customer_id": []})


paths_st = st.dictionaries(
    st.sampled_from([f"c{i}" for i in range(12)]),
    st.lists(st.sampled_from(list("abcd")), min_size=1, max_size=7),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(paths_st)
def test_invariants(paths):
    ev = make_events(paths)
    n_events = sum(map(len, paths.values()))
    t = transitions(ev)
    assert t["events"].sum() == n_events - len(paths) if n_events > len(paths) else t.height == 0
    if t.height:
        sums = t.group_by("source").agg(pl.col("probability").sum())["probability"]
        assert all(abs(x - 1) < 1e-12 for x in sums)
        assert (t["customers"] <= t["events"]).all()
    sm = step_matrix(ev, 5)
    assert all(abs(x - 1) < 1e-12 for x in sm.group_by("step").agg(pl.col("share").sum())["share"])
    ended = sm.filter(pl.col("touchpoint") == ENDED).sort("step")["share"].to_list()
    assert ended == sorted(ended)  # cumulative
    v = path_variants(ev, top_n=None)
    assert v["paths"].sum() == len(paths) and abs(v["share"].sum() - 1) < 1e-12
    f = stage_flows(ev, 3)
    first = f.filter(pl.col("step") == 1)["paths"].sum()
    assert first == len(paths)
