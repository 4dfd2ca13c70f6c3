"""cxlab.analysis.heatmap.touchpoint_heatmap equals its specification (tests/oracles/heatmap.py).

The package computes the stage x touchpoint table once, on prepared events (integer
customer codes packed into single group-by keys); the oracle is the plain version on text
customer ids. Hypothesis draws small logs (ties, unknown and null touchpoints, one-event
customers, shuffled rows) and feedback (the three surveys, answers before, between and after
events, at touchpoints a customer never used), and the tables must be exactly equal.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cxlab.analysis.heatmap import channel_by_stage, touchpoint_heatmap
from cxlab.analysis.journey import assign_stages
from cxlab.contract.prepare import prepare_events

sys.path.insert(0, str(Path(__file__).parents[1]))
from oracles import heatmap as oracle  # noqa: E402
from oracles import journey as oracle_journey  # noqa: E402
from oracles.strategies import JOURNEY_MAP, T0, event_logs, feedback_logs  # noqa: E402

EXAMPLES = settings(max_examples=40, deadline=None)
OPTIONS = st.sampled_from(
    [
        {},
        {"maturity": "3h"},
        {"maturity": dt.timedelta(hours=20)},
        {"survey": "nps"},
        {"survey": "csat"},
        {"as_of": T0 + dt.timedelta(hours=6)},
    ]
)


@pytest.mark.slow
@EXAMPLES
@given(event_logs(), feedback_logs(), st.booleans(), OPTIONS)
def test_touchpoint_heatmap_equals_oracle(log, feedback, with_feedback, options):
    staged = oracle_journey.assign_stages(log, JOURNEY_MAP)
    fb = feedback if with_feedback else None
    want = oracle.touchpoint_heatmap(staged, fb, **options)
    prepared = prepare_events(staged)
    for name, frame in {
        "plain": staged,
        "lazy": staged.lazy(),
        "prepared": prepared,
        "prepared, reversed": prepared.reverse(),
        "prepared, lazy": prepared.lazy(),
    }.items():
        got = touchpoint_heatmap(frame, fb, **options)
        try:
            assert_frame_equal(got, want, check_exact=True)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None


@pytest.mark.slow
@EXAMPLES
@given(event_logs(source_row=True), feedback_logs())
def test_heatmap_follows_customer_id_replaced_on_prepared_frame(log, feedback):
    # per session instead of per customer: the prepared frame's codes no longer match
    staged = assign_stages(prepare_events(log), JOURNEY_MAP).with_columns(
        customer_id=pl.col("session_id")
    )
    want = oracle.touchpoint_heatmap(
        oracle_journey.assign_stages(log, JOURNEY_MAP).with_columns(
            customer_id=pl.col("session_id")
        ),
        feedback.with_columns(customer_id=pl.col("customer_id") + "-0"),
    )
    got = touchpoint_heatmap(
        staged, feedback.with_columns(customer_id=pl.col("customer_id") + "-0")
    )
    assert_frame_equal(got, want, check_exact=True)


@pytest.mark.slow
@EXAMPLES
@given(event_logs())
def test_channel_by_stage_on_plain_and_prepared(log):
    # customers are counted on codes for prepared events, on ids for plain ones: same table
    staged = oracle_journey.assign_stages(log, JOURNEY_MAP)
    a = channel_by_stage(staged)
    assert_frame_equal(channel_by_stage(prepare_events(staged).reverse()), a, check_exact=True)
    # by hand: each stage's events are shared out over its channels
    if a.height:
        sums = a.group_by("stage").agg(pl.col("share_of_events").sum())["share_of_events"]
        assert all(abs(x - 1) < 1e-12 for x in sums)
