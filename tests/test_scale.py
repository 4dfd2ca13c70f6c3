"""The large-data path gives exactly the small-data numbers.

:func:`cxlab.contract.prepare.prepare_events` sorts events once by customer and time and adds integer
customer codes; journey, funnel, heatmap and feature functions then take faster code paths.
Every test here runs one analysis on the plain canonical events and on the prepared ones of
the same sample client and asserts the two results are identical (same rows, same order, same
dtypes, same floats). Journey and heatmap have one implementation (on prepared events,
:func:`cxlab.events.as_events`): their tests here compare both inputs with the readable
specification in ``tests/oracles/`` on this realistic sample (``tests/test_oracles_*.py`` do
the same on hypothesis-generated logs). No timing assertions: ``make bench`` is the measure of
speed.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxlab.analysis.attribution import journeys, rule_based_attribution
from cxlab.analysis.drivers import driver_features
from cxlab.analysis.features import customer_features
from cxlab.analysis.funnel import funnel, funnel_customers, stage_funnel
from cxlab.analysis.heatmap import channel_by_stage, touchpoint_by_week, touchpoint_heatmap
from cxlab.analysis.journey import (
    assign_stages,
    customer_journeys,
    stage_transitions,
    unmapped_touchpoints,
)
from cxlab.analysis.paths import stage_flows
from cxlab.contract.frames import as_text
from cxlab.contract.prepare import (
    CUSTOMER_CODE,
    SEQUENCE,
    customer_order,
    is_prepared,
    prepare_events,
)
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
from cxlab.contract.validation import events_over_time
from cxlab.io.sample import generate_client

sys.path.insert(0, str(Path(__file__).parent))
from oracles import heatmap as oracle_heatmap  # noqa: E402
from oracles import journey as oracle_journey  # noqa: E402
from oracles import paths as oracle_paths  # noqa: E402

N = 1_500
JOURNEY_MAP = {**DEFAULT_JOURNEY_MAP, "delivery_late": "retention"}
PURCHASES = ("purchase",)


@pytest.fixture(scope="module")
def client():
    return generate_client("bookshop", seed=3, customers=N)


@pytest.fixture(scope="module")
def events(client) -> pl.DataFrame:
    ev = client.events
    # Shuffle the rows: prepare must restore (customer, timestamp, source_row) order itself,
    # and source_row must break ties between equal timestamps. Duplicate one timestamp
    # within a customer so the tie-break is exercised.
    ev = ev.sample(fraction=1.0, shuffle=True, seed=5)
    first = ev.row(0, named=True)
    twin = ev.filter(
        (pl.col("customer_id") == first["customer_id"]) & (pl.col(SOURCE) != first[SOURCE])
    ).head(1)
    if twin.height:
        ev = ev.with_columns(
            pl.when(pl.col(SOURCE) == twin[SOURCE][0])
            .then(pl.lit(first["timestamp"]))
            .otherwise(pl.col("timestamp"))
            .alias("timestamp")
        )
    return ev


SOURCE = "source_row"


@pytest.fixture(scope="module")
def prepared(events) -> pl.DataFrame:
    return prepare_events(events)


@pytest.fixture(scope="module")
def staged(events):
    return assign_stages(events, JOURNEY_MAP, PURCHASES)


@pytest.fixture(scope="module")
def staged_prepared(prepared):
    return assign_stages(prepared, JOURNEY_MAP, PURCHASES)


def test_prepare_keeps_every_row_and_orders_customers_by_time(events, prepared):
    assert is_prepared(prepared) and not is_prepared(events)
    assert prepared.height == events.height
    # same rows (compare in source_row order), canonical columns untouched but for touchpoint
    # and channel: enums whose categories are their distinct values in sorted order
    back = prepared.drop(CUSTOMER_CODE, SEQUENCE).sort(SOURCE)
    for column in ("touchpoint", "channel"):
        assert back.schema[column] == pl.Enum(events[column].drop_nulls().unique().sort())
    assert_frame_equal(as_text(back.lazy()).collect(), events.sort(SOURCE))
    # one code per customer, contiguous rows, sequence follows (timestamp, source_row)
    assert (
        prepared.group_by(CUSTOMER_CODE).agg(pl.col("customer_id").n_unique())["customer_id"].max()
        == 1
    )
    assert prepared[CUSTOMER_CODE].n_unique() == events["customer_id"].n_unique()
    expected = events.sort("customer_id", "timestamp", SOURCE)
    got = prepared.sort(CUSTOMER_CODE, SEQUENCE)
    per_customer = (
        got.group_by("customer_id", maintain_order=True).agg(pl.col(SOURCE)).sort("customer_id")
    )
    want = (
        expected.group_by("customer_id", maintain_order=True)
        .agg(pl.col(SOURCE))
        .sort("customer_id")
    )
    assert_frame_equal(per_customer, want)
    assert prepared[CUSTOMER_CODE].is_sorted() and prepared[SEQUENCE].is_sorted()


def test_prepare_codes_follow_customer_names_and_sort_unordered_exports(events, prepared):
    # Codes are ranks of the customer key: the first code is the smallest name.
    firsts = prepared.group_by(CUSTOMER_CODE).agg(pl.col("customer_id").first()).sort(CUSTOMER_CODE)
    assert firsts["customer_id"].to_list() == sorted(events["customer_id"].unique().to_list())
    # An export in reverse file order (times out of order within customers) gives the same rows.
    shuffled = prepare_events(events.reverse())
    assert_frame_equal(shuffled, prepared)


def test_prepare_by_hand():
    t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)
    ev = pl.DataFrame(
        {
            "customer_id": ["c", "a", "c", "a", "b"],
            "timestamp": [t + day, t, t, t, t],
            "touchpoint": ["c2", "a1", "c1", "a2", "b1"],
        }
    )
    p = prepare_events(ev)
    # a: two rows at the same time keep file order (source_row 2 then 4); c: time order.
    assert p["touchpoint"].to_list() == ["a1", "a2", "b1", "c1", "c2"]
    assert p[CUSTOMER_CODE].to_list() == [0, 0, 1, 2, 2]
    assert p[SEQUENCE].to_list() == [0, 1, 2, 3, 4]
    assert p[SOURCE].to_list() == [2, 4, 5, 3, 1]
    assert prepare_events(ev.head(0)).height == 0


def test_customer_order_by_hand():
    # b's rows are out of time order (only b is re-sorted); the row of a with keep=False and
    # the null customer (last) get no / the last position.
    ids = pl.Series(["b", "a", "b", None, "a", "b"])
    ts = pl.Series([5, 1, 3, 0, 1, 4])
    order, codes, keys = customer_order(ids, ts)
    assert order.to_list() == [1, 4, 2, 5, 0, 3]  # a: rows 1, 4 (tie: file order); b: 3, 4, 5
    assert codes.to_list() == [0, 0, 1, 1, 1, 2] and keys.to_list() == ["a", "b", None]
    order, codes, keys = customer_order(
        ids, ts, keep=pl.Series([True, False, True, False, True, True])
    )
    assert (
        order.to_list() == [4, 2, 5, 0]
        and codes.to_list() == [0, 1, 1, 1]
        and keys.to_list() == ["a", "b"]
    )
    # an explicit tie-break column decides equal times
    order, _, _ = customer_order(ids, ts, source_row=pl.Series([1, 9, 3, 4, 2, 6]))
    assert order.to_list()[:2] == [4, 1]


@pytest.fixture(scope="module")
def oracle_staged(events):
    return oracle_journey.assign_stages(events, JOURNEY_MAP, PURCHASES)


def test_assign_stages_match_oracle(staged, staged_prepared, oracle_staged):
    assert_frame_equal(staged, oracle_staged, check_exact=True)
    cols = staged.columns
    assert_frame_equal(
        as_text(staged_prepared.lazy()).select(cols).collect().sort(SOURCE), staged.sort(SOURCE)
    )


def test_assign_stages_lazy_match_oracle(events, prepared, oracle_staged):
    a = assign_stages(events.lazy(), JOURNEY_MAP, PURCHASES).collect()
    assert_frame_equal(a, oracle_staged, check_exact=True)
    b = (
        as_text(assign_stages(prepared.lazy(), JOURNEY_MAP, PURCHASES))
        .collect()
        .select(a.columns)
        .sort(SOURCE)
    )
    assert_frame_equal(a.sort(SOURCE), b)


@pytest.mark.parametrize("as_of", [None, dt.datetime(2025, 4, 1, tzinfo=dt.UTC)])
def test_customer_journeys_match_oracle(staged, staged_prepared, oracle_staged, as_of):
    want = oracle_journey.customer_journeys(oracle_staged, as_of=as_of)
    assert_frame_equal(customer_journeys(staged_prepared, as_of=as_of), want, check_exact=True)
    assert_frame_equal(customer_journeys(staged, as_of=as_of), want, check_exact=True)


@pytest.mark.parametrize("collapse", [True, False])
@pytest.mark.parametrize("ends", [True, False])
def test_stage_transitions_match_oracle(staged, staged_prepared, oracle_staged, collapse, ends):
    kw = {"collapse_repeats": collapse, "include_start_end": ends}
    want = oracle_journey.stage_transitions(oracle_staged, **kw)
    assert_frame_equal(stage_transitions(staged_prepared, **kw), want, check_exact=True)
    assert_frame_equal(stage_transitions(staged, **kw), want, check_exact=True)


FUNNEL_STEPS = ["site_visit", "product_view", ["checkout", "add_to_cart"], "purchase"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"window": "30d"},
        {"step_windows": [None, "7d", None]},
        {"order": "strict"},
        {"order": "any", "window": "60d"},
        {"by": "channel", "exclude": ["support_call"]},
    ],
)
def test_funnel_identical(staged, staged_prepared, kwargs):
    assert_frame_equal(
        funnel(staged_prepared, FUNNEL_STEPS, **kwargs),
        funnel(staged, FUNNEL_STEPS, **kwargs),
        check_exact=True,
    )
    assert_frame_equal(
        funnel_customers(staged_prepared, FUNNEL_STEPS, **kwargs),
        funnel_customers(staged, FUNNEL_STEPS, **kwargs),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window": "30d"},
        {"order": "strict"},
        {"order": "any"},
        {"by": "channel", "exclude": [("support_call", 2, 4)]},
    ],
)
def test_funnel_reordered_or_lazy_prepared_identical(staged, staged_prepared, kwargs):
    # the prepared fast path relies on _cx_seq order: a shuffled or lazy prepared frame must
    # be put back in that order, not trusted blindly
    want = funnel_customers(staged, FUNNEL_STEPS, **kwargs)
    assert want["steps_reached"].max() == len(FUNNEL_STEPS)  # somebody converts all the way
    shuffled = staged_prepared.sample(fraction=1.0, shuffle=True, seed=7)
    assert_frame_equal(funnel_customers(shuffled, FUNNEL_STEPS, **kwargs), want)
    assert_frame_equal(funnel_customers(staged_prepared.lazy(), FUNNEL_STEPS, **kwargs), want)
    assert_frame_equal(
        funnel(shuffled, FUNNEL_STEPS, **kwargs), funnel(staged, FUNNEL_STEPS, **kwargs)
    )


def test_time_to_convert_and_drop_off_identical(staged, staged_prepared):
    from cxlab.analysis.funnel import drop_off_drivers, time_to_convert

    kw = {"window": "30d"}
    assert_frame_equal(
        time_to_convert(staged_prepared, FUNNEL_STEPS, **kw),
        time_to_convert(staged, FUNNEL_STEPS, **kw),
        check_exact=True,
    )
    assert_frame_equal(
        drop_off_drivers(staged_prepared, FUNNEL_STEPS, 2, **kw),
        drop_off_drivers(staged, FUNNEL_STEPS, 2, **kw),
        check_exact=True,
    )


def test_stage_funnel_identical(staged, staged_prepared):
    assert_frame_equal(
        stage_funnel(staged_prepared, window="90d"), stage_funnel(staged, window="90d")
    )


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"maturity": "30d"}, {"survey": "nps"}, {"as_of": dt.datetime(2025, 3, 1, tzinfo=dt.UTC)}],
)
def test_touchpoint_heatmap_matches_oracle(client, staged, staged_prepared, oracle_staged, kwargs):
    fb = client.feedback
    want = oracle_heatmap.touchpoint_heatmap(oracle_staged, fb, **kwargs)
    assert_frame_equal(touchpoint_heatmap(staged_prepared, fb, **kwargs), want, check_exact=True)
    assert_frame_equal(touchpoint_heatmap(staged, fb, **kwargs), want, check_exact=True)
    no_survey = {k: v for k, v in kwargs.items() if k != "survey"}
    assert_frame_equal(
        touchpoint_heatmap(staged_prepared, **no_survey),
        oracle_heatmap.touchpoint_heatmap(oracle_staged, **no_survey),
        check_exact=True,
    )


@pytest.mark.parametrize("with_tables", [True, False])
def test_customer_features_identical(client, events, prepared, with_tables):
    fb = client.feedback if with_tables else None
    cu = client.customers if with_tables else None
    kw = {"journey_map": JOURNEY_MAP, "purchase_touchpoints": PURCHASES}
    want = customer_features(events, fb, cu, **kw)
    assert_frame_equal(customer_features(prepared, fb, cu, **kw), want, check_exact=True)
    # already staged (no journey_map): the stage column is used as it is, same numbers
    staged = assign_stages(prepared, JOURNEY_MAP, PURCHASES)
    assert_frame_equal(
        customer_features(staged, fb, cu, purchase_touchpoints=PURCHASES), want, check_exact=True
    )
    # in another row order (rows are put back in prepared order), and lazy
    assert_frame_equal(
        customer_features(staged.reverse(), fb, cu, purchase_touchpoints=PURCHASES),
        want,
        check_exact=True,
    )
    assert_frame_equal(
        customer_features(staged.lazy(), fb, cu, purchase_touchpoints=PURCHASES),
        want,
        check_exact=True,
    )
    at = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    assert_frame_equal(
        customer_features(staged, fb, cu, purchase_touchpoints=PURCHASES, as_of=at),
        customer_features(events, fb, cu, **kw, as_of=at),
        check_exact=True,
    )


def test_filtered_prepared_frame_stays_exact(events, prepared):
    # a segment filter on the prepared frame keeps it prepared and exact
    keep = pl.col("channel") != "email"
    a = customer_journeys(assign_stages(prepared.filter(keep), JOURNEY_MAP, PURCHASES))
    b = oracle_journey.customer_journeys(
        oracle_journey.assign_stages(events.filter(keep), JOURNEY_MAP, PURCHASES)
    )
    assert_frame_equal(a, b, check_exact=True)


@pytest.fixture(scope="module")
def sessions(events):
    from cxlab.analysis.paths import sessionize

    return sessionize(events, "30m")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"weight": "customers"},
        {"path": "session"},
        {"path": "session", "weight": "sessions"},
        {"path": "session", "weight": "customers"},
    ],
)
def test_paths_transitions_identical(sessions, kwargs):
    from cxlab.analysis.paths import transitions

    prepared = prepare_events(sessions)
    want = oracle_paths.transitions(sessions, **kwargs)
    assert want.height > 10  # a real graph, not an empty table
    assert_frame_equal(transitions(prepared, **kwargs), want, check_exact=True)
    # a reordered / lazy prepared frame is put back in path order, not trusted blindly
    shuffled = prepared.sample(fraction=1.0, shuffle=True, seed=11)
    assert_frame_equal(transitions(shuffled, **kwargs), want, check_exact=True)
    assert_frame_equal(transitions(prepared.lazy(), **kwargs), want, check_exact=True)


def test_paths_transitions_filtered_and_markers_identical(sessions):
    from cxlab.analysis.paths import add_markers, transitions

    prepared = prepare_events(sessions)
    keep = pl.col("channel") != "email"
    assert_frame_equal(
        transitions(prepared.filter(keep)),
        oracle_paths.transitions(sessions.filter(keep)),
        check_exact=True,
    )
    # markers add rows: the result is no longer prepared and must still be exact
    marked = add_markers(prepared, path="session")
    assert not is_prepared(marked)
    want = oracle_paths.transitions(add_markers(sessions, path="session"), path="session")
    assert_frame_equal(transitions(marked, path="session"), want, check_exact=True)


def test_compare_transitions_identical(client, events, prepared):
    from cxlab.analysis.paths import compare_transitions

    cu = client.customers
    a, b = cu["segment"].unique().sort().to_list()[:2]
    got = compare_transitions(prepared, "segment", a, b, customers=cu)
    # each side is the oracle's transitions of that segment's events, zeros where absent
    segmented = events.join(cu.select("customer_id", "segment"), on="customer_id", how="left")
    cols = ["count", "probability", "share"]
    for side, value in (("a", a), ("b", b)):
        want = oracle_paths.transitions(segmented.filter(pl.col("segment") == value))
        mine = got.filter(pl.col(f"count_{side}") > 0).select(
            "source", "target", *(pl.col(f"{c}_{side}").alias(c) for c in cols)
        )
        assert mine.height > 10
        assert_frame_equal(mine, want.select("source", "target", *cols), check_exact=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"max_steps": 3},
        {"path": "session"},
        {"anchor": "checkout"},
        {"anchor": "product_view", "occurrence": 2},
        {"anchor": "purchase", "steps_before": 5, "path": "session"},
    ],
)
def test_paths_step_matrix_identical(sessions, kwargs):
    from cxlab.analysis.paths import step_matrix

    prepared = prepare_events(sessions)
    kw = {"max_steps": 8, **kwargs}
    want = oracle_paths.step_matrix(sessions, **kw)
    assert want["paths"].sum() > 0
    assert_frame_equal(step_matrix(prepared, **kw), want, check_exact=True)
    assert_frame_equal(
        step_matrix(prepared.sample(fraction=1.0, shuffle=True, seed=2), **kw),
        want,
        check_exact=True,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"top_n": None, "collapse_loops": True},
        {"max_steps": 4},
        {"until_conversion": True},
        {"path": "session", "top_n": 50},
    ],
)
def test_paths_variants_identical(sessions, kwargs):
    from cxlab.analysis.paths import path_variants

    prepared = prepare_events(sessions)
    want = oracle_paths.path_variants(sessions, **kwargs)
    assert_frame_equal(path_variants(prepared, **kwargs), want, check_exact=True)
    assert_frame_equal(path_variants(prepared.lazy(), **kwargs), want, check_exact=True)


def test_paths_on_integer_codes_identical(events, prepared):
    # cxlab.analysis.paths only uses customer_id as a key: the integer code gives the same tables
    from cxlab.analysis import paths

    coded = prepared.with_columns(pl.col(CUSTOMER_CODE).alias("customer_id"))
    assert_frame_equal(paths.transitions(coded), oracle_paths.transitions(events))
    assert_frame_equal(paths.step_matrix(coded, 8), oracle_paths.step_matrix(events, 8))


# Every other analysis reads a prepared frame's enum-coded touchpoints and channels back as
# text: the same result, text columns included, as on the plain events.
_TEXT_READERS = {
    "events_over_time by channel": lambda ev, fb: events_over_time(ev, "week", "channel"),
    "events_over_time by touchpoint": lambda ev, fb: events_over_time(ev, "day", "touchpoint"),
    "touchpoint_by_week": lambda ev, fb: touchpoint_by_week(ev),
    "channel_by_stage": lambda ev, fb: channel_by_stage(assign_stages(ev, JOURNEY_MAP, PURCHASES)),
    "unmapped_touchpoints": lambda ev, fb: unmapped_touchpoints(
        ev, {"site_visit": "consideration"}
    ),
    "stage_flows": lambda ev, fb: stage_flows(ev, 4),
    "journeys by channel": lambda ev, fb: journeys(ev, PURCHASES, by="channel"),
    "rule_based_attribution": lambda ev, fb: rule_based_attribution(ev, PURCHASES, model="linear"),
    "driver_features": lambda ev, fb: driver_features(ev, fb),
}


@pytest.mark.parametrize("name", list(_TEXT_READERS))
def test_other_analyses_read_prepared_events_as_text(client, events, prepared, name):
    run = _TEXT_READERS[name]
    want = run(events, client.feedback)
    assert want.height > 0
    assert_frame_equal(run(prepared, client.feedback), want, check_exact=True)  # dtypes included
