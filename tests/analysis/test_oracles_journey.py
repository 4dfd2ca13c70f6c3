"""cxlab.analysis.journey equals its specification (tests/oracles/journey.py) on random logs.

cxlab.analysis.journey has one implementation, on prepared events (cxlab.events.as_events); the oracle
is the plain, readable version. Hypothesis draws small logs with ties, unknown and null
touchpoints, one-event customers, shuffled rows, with or without source_row, and each
analysis must give exactly the oracle's table on the plain log, on the prepared log, on a
filtered prepared log, lazily, and after customer_id was replaced on a prepared log.
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

from cxlab.analysis import journey
from cxlab.contract.prepare import CUSTOMER_CODE, SEQUENCE, prepare_events

sys.path.insert(0, str(Path(__file__).parents[1]))
from oracles import journey as oracle  # noqa: E402
from oracles.strategies import JOURNEY_MAP, T0, event_logs  # noqa: E402

EXAMPLES = settings(max_examples=30, deadline=None)
AS_OF = st.sampled_from([None, T0 + dt.timedelta(hours=6), dt.date(2024, 1, 1)])
PURCHASES = st.sampled_from([("purchase",), ("purchase", "checkout"), ()])


def text(frame: pl.DataFrame) -> pl.DataFrame:
    """A prepared frame read back as a plain one: codes dropped, enums as text, file order."""
    return (
        frame.drop(CUSTOMER_CODE, SEQUENCE, strict=False)
        .with_columns(pl.col("touchpoint", "channel").cast(pl.String))
        .sort("source_row")
    )


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


@EXAMPLES
@given(event_logs(), PURCHASES)
def test_assign_stages_equals_oracle(log, purchases):
    want = oracle.assign_stages(log, JOURNEY_MAP, purchases)
    # the plain log: same rows, same order, same columns, one more column
    assert_frame_equal(journey.assign_stages(log, JOURNEY_MAP, purchases), want, check_exact=True)
    assert_frame_equal(
        journey.assign_stages(log.lazy(), JOURNEY_MAP, purchases).collect(), want, check_exact=True
    )
    # prepared (rows regrouped by customer, source_row added when absent): the same stages
    prepared = prepare_events(log)
    want_rows = oracle.assign_stages(prepared.pipe(text), JOURNEY_MAP, purchases)
    for frame in (prepared, prepared.reverse(), prepared.lazy()):
        got = journey.assign_stages(frame, JOURNEY_MAP, purchases)
        got = got.collect() if isinstance(got, pl.LazyFrame) else got
        assert_frame_equal(text(got), want_rows, check_exact=True)


@pytest.mark.slow
@EXAMPLES
@given(event_logs(), PURCHASES, AS_OF)
def test_customer_journeys_equal_oracle(log, purchases, as_of):
    staged = oracle.assign_stages(log, JOURNEY_MAP, purchases)
    want = oracle.customer_journeys(staged, as_of)
    for name, frame in variants(staged).items():
        got = journey.customer_journeys(frame, as_of)
        assert_equal(got, want, name)
    # staged by the package on a prepared log, then filtered: still the oracle's numbers
    kept = pl.col("channel").cast(pl.String) != "app"
    got = journey.customer_journeys(
        journey.assign_stages(prepare_events(log), JOURNEY_MAP, purchases).filter(kept), as_of
    )
    want = oracle.customer_journeys(
        oracle.assign_stages(log, JOURNEY_MAP, purchases).filter(kept), as_of
    )
    assert_frame_equal(got, want, check_exact=True)


@pytest.mark.slow
@EXAMPLES
@given(event_logs(), st.booleans(), st.booleans(), AS_OF)
def test_stage_transitions_equal_oracle(log, collapse, ends, as_of):
    staged = oracle.assign_stages(log, JOURNEY_MAP)
    kw = {"collapse_repeats": collapse, "include_start_end": ends, "as_of": as_of}
    want = oracle.stage_transitions(staged, **kw)
    for name, frame in variants(staged).items():
        assert_equal(journey.stage_transitions(frame, **kw), want, name)


@pytest.mark.slow
@EXAMPLES
@given(event_logs(source_row=True))
def test_customer_id_replaced_on_prepared_frame_is_followed(log):
    # Replacing customer_id on a prepared frame (here by session_id) used to keep the old
    # customer codes, so results stayed per customer. Now the frame is prepared again and
    # the results are per session, exactly as on a plain frame keyed by session.
    by_session = journey.assign_stages(prepare_events(log), JOURNEY_MAP).with_columns(
        customer_id=pl.col("session_id")
    )
    want = oracle.assign_stages(log, JOURNEY_MAP).with_columns(customer_id=pl.col("session_id"))
    assert_frame_equal(
        journey.customer_journeys(by_session), oracle.customer_journeys(want), check_exact=True
    )
    assert_frame_equal(
        journey.stage_transitions(by_session), oracle.stage_transitions(want), check_exact=True
    )
    # and stages assigned after the replacement are per session (a session's first purchase)
    restaged = journey.assign_stages(
        prepare_events(log).with_columns(customer_id=pl.col("session_id")), JOURNEY_MAP
    )
    want_stages = oracle.assign_stages(
        log.with_columns(customer_id=pl.col("session_id")), JOURNEY_MAP
    )
    assert_frame_equal(text(restaged), want_stages.sort("source_row"), check_exact=True)


def test_oracle_by_hand():
    # The specification itself, checked by hand on one customer: ad_click (day 0), purchase
    # (day 2), site_visit (day 5): awareness 2 days, purchase 3 days (to the data end, day 5);
    # back to consideration after buying: regressed.
    ev = pl.DataFrame(
        {
            "customer_id": ["a"] * 3,
            "timestamp": [T0, T0 + dt.timedelta(days=2), T0 + dt.timedelta(days=5)],
            "touchpoint": ["ad_click", "purchase", "site_visit"],
        }
    )
    j = oracle.customer_journeys(oracle.assign_stages(ev, JOURNEY_MAP))
    assert j.select(
        "days_in_awareness", "days_in_purchase", "furthest_stage", "current_stage", "regressed"
    ).row(0) == (2.0, 3.0, "purchase", "consideration", True)
    tr = oracle.stage_transitions(oracle.assign_stages(ev, JOURNEY_MAP))
    assert tr.select("from_stage", "to_stage").rows() == [
        ("(start)", "awareness"),
        ("awareness", "purchase"),
        ("consideration", "(end)"),
        ("purchase", "consideration"),
    ]


@pytest.mark.parametrize("fn", [journey.customer_journeys, journey.stage_transitions])
def test_empty_log_after_as_of(fn):
    log = pl.DataFrame(
        {"customer_id": ["a"], "timestamp": [T0], "touchpoint": ["ad_click"]},
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )
    staged = journey.assign_stages(log, JOURNEY_MAP)
    early = T0 - dt.timedelta(days=1)
    assert fn(staged, as_of=early).height == 0
    kw = {"as_of": early}
    assert (
        fn(staged, **kw).columns
        == (
            oracle.customer_journeys
            if fn is journey.customer_journeys
            else oracle.stage_transitions
        )(staged, **kw).columns
    )
