"""cxlab.analysis.funnel equals its specification (tests/oracles/funnel.py) on random logs.

cxlab.analysis.funnel has one implementation, on prepared events (cxlab.events.as_events): as-of joins
over path order for best attempt, one pass of shifts for strict funnels. The oracle is the
plain version: per path, a search over chains of events (best attempt), a greedy walk (first
entry), runs of consecutive events (strict). Hypothesis draws small logs (ties, repeated
events, null touchpoints, shuffled rows, with or without source_row) and funnel options
(windows, step windows, exclusions, orders, entries, breakdowns, touches, sessions, cohorts,
as_of), and the per-path table and the funnel table must equal the oracle's exactly.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cxlab.analysis.funnel import funnel, funnel_customers, stage_funnel
from cxlab.contract.prepare import prepare_events

sys.path.insert(0, str(Path(__file__).parents[1]))
from oracles import funnel as oracle  # noqa: E402
from oracles import journey as oracle_journey  # noqa: E402
from oracles.strategies import JOURNEY_MAP, T0, event_logs  # noqa: E402

EXAMPLES = settings(max_examples=60, deadline=None)
VALUES = ["ad_click", "site_visit", "chat", "checkout", "purchase", "delivery"]
CUSTOMERS = pl.DataFrame(
    {
        "customer_id": ["a", "b", "c", "dd", "é"],
        "segment": ["x", "y", "x", None, "y"],
        "signup_date": [
            dt.date(2023, 12, 5),
            dt.date(2024, 1, 1),
            None,
            dt.date(2023, 11, 30),
            dt.date(2024, 1, 9),
        ],
    }
)


@st.composite
def funnels(draw, log: pl.DataFrame):
    """Steps made of values present in the log (no value in two steps), and options."""
    as_of = draw(st.sampled_from([None, None, T0 + dt.timedelta(hours=8)]))
    seen = log.filter(pl.col("timestamp") <= as_of) if as_of else log
    present = [v for v in VALUES if v in set(seen.get_column("touchpoint").drop_nulls())]
    assume(present)
    chosen = draw(
        st.lists(st.sampled_from(present), min_size=1, max_size=min(4, len(present)), unique=True)
    )
    steps: list = list(chosen)
    if len(steps) >= 3 and draw(st.booleans()):  # a step of two values
        steps = [steps[0], [steps[1], steps[2]], *steps[3:]]
    n = len(steps)
    options = {
        "order": draw(st.sampled_from(["ordered", "ordered", "strict", "any"])),
        "entry": draw(st.sampled_from(["best", "first"])),
        "window": draw(st.sampled_from([None, None, "2h", "5h", dt.timedelta(hours=1)])),
        "path": draw(st.sampled_from(["customer", "customer", "session"])),
        "as_of": as_of,
    }
    if n >= 2 and options["order"] != "any" and draw(st.booleans()):
        options["step_windows"] = draw(
            st.lists(st.sampled_from([None, "1h", "3h"]), min_size=n - 1, max_size=n - 1)
        )
    if n >= 2 and draw(st.booleans()):
        options["exclude"] = draw(st.sampled_from(["support_call", ["fax"], [("review", 1, n)]]))
    by = draw(
        st.sampled_from([None, "channel", ["channel", "segment"], "segment", "signup_cohort"])
    )
    if by is not None:
        options["by"] = by
        options["by_touch"] = draw(st.sampled_from(["first", "last", *range(1, n + 1)]))
        if by != "channel" and draw(st.booleans()):
            options["customers"] = CUSTOMERS
        if by != "signup_cohort" and "segment" in by:
            options["customers"] = CUSTOMERS
    return steps, options


def assert_equal(got: pl.DataFrame, want: pl.DataFrame, name: str) -> None:
    """Equal rows, order, dtypes, counts and times; floats to 1e-12 relative: polars' float
    kernels may round the last bit differently for the same values held in differently built
    arrays (a Wilson bound of 1/1 is 0.20654931437723745 or ...4374), which is not a
    definition difference."""
    try:
        assert_frame_equal(got, want, check_exact=False, rel_tol=1e-12, abs_tol=0.0)
    except AssertionError as e:
        raise AssertionError(f"{name}: {e}") from None


def variants(log: pl.DataFrame) -> dict:
    prepared = prepare_events(log)
    return {
        "plain": log,
        "lazy": log.lazy(),
        "prepared": prepared,
        "prepared, reversed": prepared.reverse(),
        "prepared, lazy": prepared.lazy(),
    }


def equals_oracle(log, steps, options):
    """funnel_customers and funnel on every variant of ``log`` equal the oracle's."""
    want_state = oracle.funnel_customers(log, steps, **options).drop("_entry", "_revenue")
    want = oracle.funnel(log, steps, **options)
    for name, frame in variants(log).items():
        got_state = funnel_customers(frame, steps, **options)
        assert_equal(got_state, want_state, f"funnel_customers, {name}, {steps}, {options}")
        assert_equal(funnel(frame, steps, **options), want, f"funnel, {name}, {steps}, {options}")


@EXAMPLES
@given(st.data(), event_logs(), st.booleans())
def test_funnel_equals_oracle(data, log, with_revenue):
    if with_revenue:
        log = log.with_columns(
            revenue=pl.when(pl.col("touchpoint") != "chat").then(
                pl.col("timestamp").dt.hour() * 1.1 + 0.01
            )
        )
    steps, options = data.draw(funnels(log))
    equals_oracle(log, steps, options)


@EXAMPLES
@given(event_logs(), st.sampled_from([None, "3h"]), st.sampled_from(["first_seen", "first_stage"]))
def test_stage_funnel_equals_oracle(log, window, base):
    staged = oracle_journey.assign_stages(log, JOURNEY_MAP)
    stages = ["awareness", "consideration", "purchase", "retention"]
    kwargs = {"window": window, "column": "stage"}
    if base == "first_seen":
        kwargs |= {"entry": "first", "skip_ahead": True}
    present = set(staged.get_column("stage").drop_nulls().cast(pl.String))
    assume(present)
    want = oracle.funnel(staged, stages, **kwargs)
    state = oracle.funnel_customers(staged, stages, **kwargs).filter(~pl.col("excluded"))
    here = [
        state.filter(pl.col("_entry") == k + 1).height
        if base == "first_seen"
        else (state.height if k == 0 else 0)
        for k in range(len(stages))
    ]
    got = stage_funnel(prepare_events(staged), stages, window=window, base=base)
    assert_equal(got.drop("entered_here"), want, f"stage_funnel {base}")
    assert got.get_column("entered_here").to_list() == here


@settings(max_examples=30, deadline=None)
@given(event_logs(source_row=True))
def test_session_funnel_is_the_funnel_of_sessions_as_customers(log):
    # a session funnel counts what a customer funnel counts when each session is a customer
    present = [v for v in VALUES if v in set(log.get_column("touchpoint").drop_nulls())]
    assume(len(present) >= 2)
    steps = present[:3]
    got = funnel(prepare_events(log), steps, path="session", window="3h")
    as_customers = log.with_columns(customer_id=pl.col("session_id"))
    assert_equal(got, funnel(as_customers, steps, window="3h"), "sessions")


def sessions_in_runs(log: pl.DataFrame) -> pl.DataFrame:
    """The log with sessions as real logs have them: each a run of its customer's path (4-hour
    blocks), interrupted by events without a session (delivery, fax, unknown touchpoint)."""
    alone = pl.col("touchpoint").is_in(["delivery", "fax"]) | pl.col("touchpoint").is_null()
    block = (pl.col("timestamp").dt.hour() // 4).cast(pl.String)
    return log.with_columns(
        session_id=pl.when(~alone).then(pl.concat_str(pl.col("customer_id"), pl.lit("#"), block))
    )


@settings(max_examples=25, deadline=None)
@given(st.data(), event_logs())
def test_session_funnel_of_sessions_in_runs_equals_oracle(data, log):
    # the session codes come from a running count of session starts (no regrouping) when
    # every session is one run once the events without a session are set apart
    log = sessions_in_runs(log)
    steps, options = data.draw(funnels(log))
    options["path"] = "session"
    equals_oracle(log, steps, options)
