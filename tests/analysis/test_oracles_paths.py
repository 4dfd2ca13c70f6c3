"""cxlab.analysis.paths (and attribution's journeys) equal their specification on random logs.

cxlab.analysis.paths has one implementation, on prepared events (cxlab.events.as_events); the oracle
(tests/oracles/paths.py) is the plain, readable version. Hypothesis draws small logs with
ties, null touchpoints, one-event customers, sessions that interleave within a customer,
shuffled rows, with or without source_row; each analysis must give exactly the oracle's
table on the plain log, lazily, on the prepared log (reversed too), on a filtered prepared
log, and after customer_id was replaced on a prepared log.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from unittest.mock import patch

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cxlab.analysis import paths
from cxlab.analysis.attribution import journeys
from cxlab.contract.prepare import prepare_events, present_codes
from cxlab.events import parse_duration

sys.path.insert(0, str(Path(__file__).parents[1]))
from oracles import paths as oracle  # noqa: E402
from oracles.strategies import JOURNEY_MAP, T0, event_logs  # noqa: E402

EXAMPLES = settings(max_examples=15, deadline=None)
PATH = st.sampled_from(["customer", "session"])


def assert_equal(got: pl.DataFrame, want: pl.DataFrame, name: str) -> None:
    """Exactly equal (rows, order, dtypes, floats); the failure names the variant."""
    try:
        assert_frame_equal(got, want, check_exact=True)
    except AssertionError as e:
        raise AssertionError(f"{name}: {e}") from None


def variants(log: pl.DataFrame) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """The same log as the analyses may receive it."""
    prepared = prepare_events(log)
    return {
        "plain": log,
        "lazy": log.lazy(),
        "prepared": prepared,
        "prepared, reversed": prepared.reverse(),
        "prepared, lazy": prepared.lazy(),
    }


def check(fn, want_fn, log: pl.DataFrame, filtered: bool = True, **kw) -> None:
    """``fn`` equals ``want_fn`` on every variant of ``log`` and on a filtered prepared log."""
    want = want_fn(log, **kw)
    for name, frame in variants(log).items():
        assert_equal(fn(frame, **kw), want, name)
    kept = pl.col("channel").cast(pl.String) != "app"
    if filtered and log.filter(kept).height:
        assert_equal(
            fn(prepare_events(log).filter(kept), **kw), want_fn(log.filter(kept), **kw), "filtered"
        )


@EXAMPLES
@given(event_logs(), st.sampled_from(["events", "customers", "sessions"]), PATH)
def test_transitions_equal_oracle(log, weight, path):
    if weight == "sessions":
        path = "session"
    check(paths.transitions, oracle.transitions, log, weight=weight, path=path)


@EXAMPLES
@given(event_logs(), st.sampled_from(["events", "customers", "sessions"]), PATH)
def test_transitions_by_sorting_equal_oracle(log, weight, path):
    # logs with thousands of touchpoints count pairs after a sort, not a hash group-by:
    # the same table, so force that way on these small logs
    if weight == "sessions":
        path = "session"
    with patch.object(paths, "_MANY_PAIRS", 0):
        check(paths.transitions, oracle.transitions, log, weight=weight, path=path)


@EXAMPLES
@given(
    event_logs(),
    st.integers(1, 6),
    st.sampled_from([None, "site_visit", "purchase"]),
    st.integers(1, 2),
    st.integers(0, 3),
    PATH,
)
def test_step_matrix_equals_oracle(log, max_steps, anchor, occurrence, before, path):
    kw = {"anchor": anchor, "occurrence": occurrence, "steps_before": before, "path": path}

    def hits(frame: pl.DataFrame) -> bool:  # else a ParameterError (see test_paths)
        return anchor is None or oracle.step_matrix(frame, max_steps, **kw)["n_paths"][0] > 0

    if hits(log):
        kept = log.filter(pl.col("channel").cast(pl.String) != "app")
        filtered = kept.height > 0 and hits(kept)
        check(paths.step_matrix, oracle.step_matrix, log, filtered, max_steps=max_steps, **kw)


@EXAMPLES
@given(
    event_logs(),
    st.sampled_from([None, 1, 3]),
    st.sampled_from([None, 2, 4]),
    st.booleans(),
    st.sampled_from([None, ("purchase",), ("purchase", "checkout")]),
    st.booleans(),
    PATH,
)
def test_path_variants_equal_oracle(log, top_n, max_steps, loops, conversion, until, path):
    until = until and conversion is not None
    kw = {
        "top_n": top_n,
        "max_steps": max_steps,
        "collapse_loops": loops,
        "conversion": conversion,
        "until_conversion": until,
        "path": path,
    }
    check(paths.path_variants, oracle.path_variants, log, **kw)


@EXAMPLES
@given(
    event_logs(),
    st.integers(2, 5),
    st.sampled_from(["touchpoint", "stage"]),
    st.integers(1, 4),
    st.sampled_from([None, True, False]),
    PATH,
)
def test_stage_flows_equal_oracle(log, max_steps, unit, top_n, loops, path):
    kw = {"unit": unit, "top_n": top_n, "collapse_loops": loops, "path": path}
    if unit == "stage":
        kw["journey_map"] = JOURNEY_MAP
    check(paths.stage_flows, oracle.stage_flows, log, max_steps=max_steps, **kw)


@EXAMPLES
@given(event_logs(), st.sampled_from(["30m", "2h", "5h"]))
def test_sessionize_equals_oracle(log, gap):
    want = oracle.sessionize(log, parse_duration(gap))
    assert_equal(paths.sessionize(log, gap), want, "plain")
    assert_equal(paths.sessionize(log.lazy(), gap).collect(), want, "lazy")
    # a prepared frame stays prepared (same rows, same order), with the same sessions
    prepared = prepare_events(log)
    got = paths.sessionize(prepared, gap)
    text = pl.col("touchpoint", "channel").cast(pl.String)
    want_p = oracle.sessionize(prepared.with_columns(text), parse_duration(gap))
    assert_equal(got.with_columns(text), want_p, "prepared")


@EXAMPLES
@given(event_logs(source_row=True), PATH)
def test_customer_id_replaced_on_prepared_frame_is_followed(log, path):
    # customer_id replaced by session_id on a prepared frame: results are per session, as on
    # a plain log keyed by session (the stale customer codes are not used)
    by_session = prepare_events(log).with_columns(customer_id=pl.col("session_id"))
    want = log.with_columns(customer_id=pl.col("session_id"))
    assert_equal(paths.transitions(by_session), oracle.transitions(want), "transitions")
    assert_equal(paths.step_matrix(by_session, 3), oracle.step_matrix(want, 3), "step_matrix")
    assert_equal(paths.path_variants(by_session), oracle.path_variants(want), "variants")


@EXAMPLES
@given(event_logs())
def test_compare_transitions_is_transitions_of_each_side(log):
    log = log.with_columns(seg=pl.col("customer_id").is_in(["a", "b", "c"]))
    if log["seg"].n_unique() < 2:
        return
    got = paths.compare_transitions(prepare_events(log), "seg", True, False)
    a = oracle.transitions(log.filter(pl.col("seg")))
    b = oracle.transitions(log.filter(~pl.col("seg")))
    both = a.join(b, on=["source", "target"], how="full", coalesce=True, suffix="_b")
    assert got.height == both.height
    assert got["count_a"].sum() == a["count"].sum()
    assert got["count_b"].sum() == b["count"].sum()


def test_oracle_by_hand():
    # One customer: ad (0 h), visit (1 h), ad (1 h, later in the file), buy (3 h).
    # Path order by (timestamp, source_row): ad, visit, ad, buy -> transitions ad->visit,
    # visit->ad, ad->buy; ad has 2 transitions out, so ad->visit has probability 1/2.
    ev = pl.DataFrame(
        {
            "customer_id": ["a"] * 4,
            "timestamp": [T0 + dt.timedelta(hours=h) for h in (0, 1, 1, 3)],
            "touchpoint": ["ad", "visit", "ad", "buy"],
            "source_row": pl.Series([1, 2, 3, 4], dtype=pl.UInt32),
        }
    )
    tr = oracle.transitions(ev)
    assert tr.select("source", "target", "count", "probability").rows() == [
        ("ad", "buy", 1, 0.5),
        ("ad", "visit", 1, 0.5),
        ("visit", "ad", 1, 1.0),
    ]
    assert_frame_equal(paths.transitions(ev), tr, check_exact=True)
    # step 4 of a 4-event path is "buy"; at step 5 the path has ENDED
    sm = oracle.step_matrix(ev, 5).filter(pl.col("paths") > 0)
    assert sm.select("step", "touchpoint").rows()[-2:] == [(4, "buy"), (5, "ENDED")]


def test_present_codes_of_many_categories():
    # 300 categories need two-byte codes: the codes present are marked in a table of 300
    # (not a unique). Rows: p299, null, p007, p299 -> codes 7 and 299; the null is left out.
    names = [f"p{i:03d}" for i in range(300)]
    lf = pl.LazyFrame({"t": ["p299", None, "p007", "p299"]}, schema={"t": pl.Enum(names)})
    assert present_codes(lf, "t").to_list() == [7, 299]
    assert present_codes(lf.filter(pl.col("t") != "p007"), "t").to_list() == [299]


def test_many_touchpoints_equal_oracle():
    # 600 events of 3 customers over 300 touchpoints (two-byte enum codes once prepared), one
    # null touchpoint; the filtered variant (channel "app" left out) keeps only some of the
    # touchpoints, so the prepared frame's enum has categories no row has.
    n = 600
    log = pl.DataFrame(
        {
            "customer_id": [f"c{i % 3}" for i in range(n)],
            "timestamp": [T0 + dt.timedelta(minutes=i) for i in range(n)],
            "touchpoint": [None if i == 5 else f"p{i * 7 % 300:03d}" for i in range(n)],
            "channel": ["app" if i % 4 == 0 else "web" for i in range(n)],
        }
    )
    check(paths.step_matrix, oracle.step_matrix, log, max_steps=4)
    check(paths.transitions, oracle.transitions, log)


@EXAMPLES
@given(event_logs())
def test_attribution_journeys_on_any_variant(log):
    want = journeys(log, ("purchase",))
    for name, frame in variants(log).items():
        assert_equal(journeys(frame, ("purchase",)), want, name)
