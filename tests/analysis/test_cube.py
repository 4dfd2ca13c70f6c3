"""The explorer heatmap cube gives exactly the heatmap of the equivalently filtered events.

Every comparison is ``cube.heatmap(state)`` against ``touchpoint_heatmap`` on
``cube.filter_events(events, state)`` with ``assert_frame_equal`` (same rows, order, dtypes
and floats). No timing assertions: ``benchmarks/bench_explorer.py`` is the measure of speed.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cxlab.analysis.cube import MISSING_SEGMENT, heatmap_cube
from cxlab.analysis.heatmap import touchpoint_heatmap
from cxlab.analysis.journey import assign_stages
from cxlab.contract.prepare import prepare_events
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
from cxlab.errors import DataError, ParameterError
from cxlab.io.sample import generate_client

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # a Monday: buckets are the weeks from here
JOURNEY_MAP = {**DEFAULT_JOURNEY_MAP, "delivery_late": "retention", "app_login_failed": "retention"}


def log(rows: list[tuple]) -> pl.DataFrame:
    """(customer, day, touchpoint, channel) rows; source_row = list position."""
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [T0 + dt.timedelta(days=r[1]) for r in rows],
            "touchpoint": [r[2] for r in rows],
            "channel": [r[3] for r in rows],
            "source_row": pl.Series(range(1, len(rows) + 1), dtype=pl.UInt32),
        }
    )


# Week 0 = Jan 1-7, week 1 = Jan 8-14, week 2 = Jan 15-21.
SMALL = assign_stages(
    log(
        [
            ("a", 0, "site_visit", "web"),
            ("a", 1, "checkout", "web"),
            ("a", 9, "purchase", "app"),
            ("b", 2, "site_visit", "web"),
            ("b", 7, "site_visit", "app"),  # day 7 = Monday 00:00 of week 1
            ("c", 8, "site_visit", "app"),
            ("c", 15, "checkout", "app"),
            ("d", 16, "site_visit", "web"),
        ]
    ),
    DEFAULT_JOURNEY_MAP,
)
SMALL_CUSTOMERS = pl.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["new", "new", None]})
SMALL_FEEDBACK = pl.DataFrame(
    {
        "customer_id": ["a", "c", "c"],
        "timestamp": [T0 + dt.timedelta(days=d) for d in (10, 9, 16)],
        "survey": ["csat", "csat", "nps"],
        "score": [4, 2, 10],
        "touchpoint": ["checkout", "checkout", "checkout"],
    }
)
COLS = ["stage", "touchpoint", "events", "customers", "stage_customers", "dropped_touched"]


@pytest.fixture(scope="module")
def small_cube():
    return heatmap_cube(SMALL, SMALL_FEEDBACK, SMALL_CUSTOMERS)


def test_small_example_by_hand(small_cube):
    cube = small_cube
    assert cube.labels == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert cube.segments == (MISSING_SEGMENT, "new")  # c has a null segment, d is not in customers
    # Everything: consideration a b c d (site_visit, 5 events); purchase a (checkout, purchase) and
    # c (checkout). Furthest stage: a purchase, b consideration, c purchase, d consideration.
    assert cube.heatmap().select(COLS).rows() == [
        ("consideration", "site_visit", 5, 4, 4, 2),  # b, d dropped out in consideration
        ("purchase", "checkout", 2, 2, 2, 2),
        ("purchase", "purchase", 1, 1, 2, 1),
    ]
    # Week 1 only (Jan 8-14): b's Monday-midnight visit, c's visit, a's purchase.
    # c never gets past consideration *within the selection*, b neither.
    assert cube.heatmap(start=dt.date(2024, 1, 10), end=dt.date(2024, 1, 10)).select(
        COLS
    ).rows() == [
        ("consideration", "site_visit", 2, 2, 2, 2),
        ("purchase", "purchase", 1, 1, 1, 1),
    ]
    # Channel app, segment "new" (a, b): a's purchase and b's visit.
    assert cube.heatmap(segment="new", channel="app").select(COLS).rows() == [
        ("consideration", "site_visit", 1, 1, 1, 1),
        ("purchase", "purchase", 1, 1, 1, 1),
    ]


def test_small_example_satisfaction(small_cube):
    # checkout answers: a's csat 4 (day 10) after a's checkout (day 1): purchase stage, 75.
    # c's csat 2 (day 9) has no checkout before it: the next one (day 15), purchase stage, 25.
    # c's nps 10 (day 16) after c's checkout (day 15): 100. Mean (75 + 25 + 100) / 3.
    h = small_cube.heatmap().filter(pl.col("touchpoint") == "checkout")
    assert h.select("feedback_n", "satisfaction").row(0) == (3, pytest.approx(200 / 3))
    csat = small_cube.heatmap(survey="csat").filter(pl.col("touchpoint") == "checkout")
    assert csat.select("feedback_n", "satisfaction").row(0) == (2, 3.0)
    # Without week 2, c has no checkout in the selection: only a's answer is placed.
    early = small_cube.heatmap(end=dt.date(2024, 1, 14)).filter(pl.col("touchpoint") == "checkout")
    assert early.select("feedback_n", "satisfaction").row(0) == (1, 75.0)


def test_small_example_equals_touchpoint_heatmap(small_cube):
    for state in (
        {},
        {"segment": "new"},
        {"segment": MISSING_SEGMENT},
        {"channel": "web"},
        {"start": dt.date(2024, 1, 8)},
        {"end": dt.date(2024, 1, 8), "channel": "app"},
    ):
        for survey in (None, "csat", "nps"):
            expected = touchpoint_heatmap(
                small_cube.filter_events(SMALL, **state), SMALL_FEEDBACK, survey=survey
            )
            assert_frame_equal(small_cube.heatmap(**state, survey=survey), expected)


def test_dates_snap_to_whole_buckets(small_cube):
    assert small_cube.snap(dt.date(2024, 1, 10), dt.date(2024, 1, 16)) == (1, 2)
    assert small_cube.period(dt.date(2024, 1, 10), dt.date(2024, 1, 16)) == (
        T0 + dt.timedelta(days=7),
        T0 + dt.timedelta(days=21),
    )
    # an end date means the whole day, so start and end on one day is a valid range
    assert small_cube.snap(dt.datetime(2024, 1, 3, 12, tzinfo=dt.UTC), dt.date(2024, 1, 3)) == (
        0,
        0,
    )
    assert small_cube.snap(dt.date(2023, 1, 1), dt.date(2023, 2, 1)) is None
    assert small_cube.snap(dt.date(2030, 1, 1)) is None
    assert small_cube.snap() == (0, 2)


# ---------------------------------------------------------------------- the sample clients
def staged_client(name: str, customers: int, prepared: bool):
    client = generate_client(name, seed=3, customers=customers)
    events = prepare_events(client.events) if prepared else client.events
    purchases = ("account_opened",) if name == "bank" else ("purchase",)
    return assign_stages(events, JOURNEY_MAP, purchases), client.feedback, client.customers


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "prepared"])
def bookshop(request):
    staged, feedback, customers = staged_client("bookshop", 1_200, request.param)
    # some customers without a segment, some not in the customers table at all
    ids = customers.get_column("customer_id")
    customers = customers.filter(~ids.is_in(ids.head(40).implode())).with_columns(
        pl.when(pl.col("customer_id").is_in(ids.slice(40, 30).implode()))
        .then(None)
        .otherwise(pl.col("segment"))
        .alias("segment")
    )
    return staged, feedback, heatmap_cube(staged, feedback, customers)


STATES = [
    {},
    {"segment": "student"},
    {"segment": MISSING_SEGMENT},
    {"segment": ["student", "gift buyer"]},
    {"channel": "app"},
    {"channel": "email"},
    {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 3, 31)},
    {"end": dt.date(2024, 11, 3)},
    {"start": dt.date(2025, 9, 1)},
    {"segment": "book lover", "channel": "web", "start": dt.date(2025, 5, 1)},
    {
        "segment": "casual reader",
        "channel": "app",
        "start": dt.date(2024, 12, 2),
        "end": dt.date(2025, 2, 14),
    },
    {"channel": "chat", "start": dt.date(2025, 9, 29)},
    {"end": dt.date(2020, 1, 1)},  # nothing selected
]


@pytest.mark.parametrize("state", STATES, ids=[str(s) for s in STATES])
@pytest.mark.parametrize("survey", [None, "csat", "nps", "ces"])
def test_cube_equals_touchpoint_heatmap_on_filtered_events(bookshop, state, survey):
    staged, feedback, cube = bookshop
    expected = touchpoint_heatmap(cube.filter_events(staged, **state), feedback, survey=survey)
    assert_frame_equal(cube.heatmap(**state, survey=survey), expected)


def test_empty_selection_keeps_the_columns(bookshop):
    staged, feedback, cube = bookshop
    empty = cube.heatmap(end=dt.date(2020, 1, 1))
    assert empty.height == 0
    assert empty.schema == touchpoint_heatmap(staged, feedback).schema


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_filter_state_equals_touchpoint_heatmap(bookshop, data):
    staged, feedback, cube = bookshop
    segment = data.draw(st.sampled_from([None, *cube.segments]))
    channel = data.draw(st.sampled_from([None, *cube.channels]))
    first = data.draw(st.integers(0, cube.n_buckets - 1))
    last = data.draw(st.integers(first, cube.n_buckets - 1))
    start, end = cube.edges[first], cube.edges[last + 1] - dt.timedelta(microseconds=1)
    state = {"segment": segment, "channel": channel, "start": start, "end": end}
    expected = touchpoint_heatmap(cube.filter_events(staged, **state), feedback)
    assert_frame_equal(cube.heatmap(**state), expected)


def test_bank_client_with_its_own_touchpoints():
    staged, feedback, customers = staged_client("bank", 600, True)
    cube = heatmap_cube(staged, feedback, customers)
    segment = cube.segments[0]
    for state in (
        {},
        {"segment": segment, "start": dt.date(2025, 3, 1)},
        {"channel": cube.channels[0]},
    ):
        expected = touchpoint_heatmap(cube.filter_events(staged, **state), feedback)
        assert_frame_equal(cube.heatmap(**state), expected)


def test_more_than_64_weeks_picks_coarser_buckets():
    # 100 weeks of data: 2-week buckets (50 of them), still starting on a Monday
    rows = [
        (f"c{i % 7}", 7 * i + 3, "site_visit" if i % 3 else "checkout", "web" if i % 2 else "app")
        for i in range(100)
    ]
    staged = assign_stages(log(rows), DEFAULT_JOURNEY_MAP)
    cube = heatmap_cube(staged)
    assert cube.every == dt.timedelta(weeks=2)
    assert cube.n_buckets == 50 and cube.edges[0] == T0
    assert heatmap_cube(staged, max_buckets=20).every == dt.timedelta(weeks=5)
    for state in (
        {},
        {"start": dt.date(2024, 6, 1), "end": dt.date(2025, 1, 31)},
        {"channel": "app"},
    ):
        assert_frame_equal(
            cube.heatmap(**state), touchpoint_heatmap(cube.filter_events(staged, **state))
        )


def test_daily_buckets_start_at_midnight():
    cube = heatmap_cube(SMALL, every="1d")
    assert cube.every == dt.timedelta(days=1) and cube.labels[:2] == ["2024-01-01", "2024-01-02"]
    state = {"start": dt.date(2024, 1, 2), "end": dt.date(2024, 1, 9)}
    assert_frame_equal(
        cube.heatmap(**state), touchpoint_heatmap(cube.filter_events(SMALL, **state))
    )


# ---------------------------------------------------------------------- clear errors
def test_unknown_segment_is_a_clear_error(small_cube):
    with pytest.raises(
        ParameterError, match=r"'segment' parameter must be one of .*Got 'New'.*Did you mean 'new'"
    ):
        small_cube.heatmap(segment="New")


def test_segment_without_customers_says_how_to_fix():
    with pytest.raises(ParameterError, match="built without customers: pass customers="):
        heatmap_cube(SMALL).heatmap(segment="new")


def test_unknown_or_several_channels_are_clear_errors(small_cube):
    with pytest.raises(ParameterError, match="Did you mean 'web'"):
        small_cube.heatmap(channel="Web")
    with pytest.raises(ParameterError, match="not additive"):
        small_cube.heatmap(channel=["web", "app"])


def test_options_the_cube_cannot_answer_raise(small_cube):
    with pytest.raises(ParameterError, match="cannot apply 'maturity'.*touchpoint_heatmap"):
        small_cube.heatmap(maturity="30d")
    with pytest.raises(ParameterError, match="'survey' parameter"):
        small_cube.heatmap(survey="csta")
    with pytest.raises(ParameterError, match="is after the 'end' date"):
        small_cube.heatmap(start=dt.date(2024, 1, 9), end=dt.date(2024, 1, 8))
    with pytest.raises(ParameterError, match="'start' parameter must be a date"):
        small_cube.heatmap(start="2024-01-09")


def test_bad_build_input_is_a_clear_error():
    with pytest.raises(DataError, match="no 'stage' column.*assign_stages"):
        heatmap_cube(SMALL.drop("stage"))
    with pytest.raises(DataError, match="no column 'channel'"):
        heatmap_cube(SMALL.drop("channel"))
    with pytest.raises(ParameterError, match="whole number of days"):
        heatmap_cube(SMALL, every="12h")
    with pytest.raises(
        ParameterError, match=r"'max_buckets' parameter must be an int in \[1, 64\]"
    ):
        heatmap_cube(SMALL, max_buckets=65)
    with pytest.raises(DataError, match="duplicated customer_id"):
        heatmap_cube(SMALL, customers=pl.concat([SMALL_CUSTOMERS, SMALL_CUSTOMERS]))
    with pytest.raises(DataError, match="no event has a stage"):
        heatmap_cube(SMALL.with_columns(pl.lit(None).cast(SMALL.schema["stage"]).alias("stage")))


def test_feedback_ties_go_to_file_order_in_cube_and_heatmap():
    # a and b each buy twice at the same moment: the first row in file order is the purchase,
    # the second retention. a answers after both (the latest event before the answer: the
    # later row, retention); b answers before both (the earliest after it: purchase).
    events = assign_stages(
        log(
            [
                ("a", 0, "site_visit", "web"),
                ("a", 3, "purchase", "web"),
                ("a", 3, "purchase", "app"),
                ("b", 0, "site_visit", "web"),
                ("b", 5, "purchase", "web"),
                ("b", 5, "purchase", "app"),
            ]
        ),
        DEFAULT_JOURNEY_MAP,
    )
    assert events["stage"].cast(pl.String).to_list()[1:3] == ["purchase", "retention"]
    feedback = pl.DataFrame(
        {
            "customer_id": ["a", "b"],
            "timestamp": [T0 + dt.timedelta(days=4), T0 + dt.timedelta(days=2)],
            "survey": ["csat", "csat"],
            "score": [5, 1],
            "touchpoint": ["purchase", "purchase"],
        }
    )
    want = touchpoint_heatmap(events, feedback)
    sat = want.filter(pl.col("touchpoint") == "purchase").select(
        "stage", "feedback_n", "satisfaction"
    )
    assert sorted(sat.iter_rows()) == [("purchase", 1, 0.0), ("retention", 1, 100.0)]
    # the row order of the frame does not matter, prepared or not, and the cube agrees
    assert_frame_equal(touchpoint_heatmap(events.reverse(), feedback), want)
    assert_frame_equal(touchpoint_heatmap(prepare_events(events.reverse()), feedback), want)
    assert_frame_equal(heatmap_cube(events.reverse(), feedback).heatmap(), want)


def test_cube_chart_draws_the_same_spec_as_heatmap_chart(small_cube):
    from cxlab.display.charts.journey import heatmap_chart

    table = small_cube.heatmap("new", start=dt.date(2024, 1, 8))
    drawn = small_cube.chart("pain", "new", start=dt.date(2024, 1, 8), title="Pain")
    assert drawn.to_json() == heatmap_chart(table, "pain", title="Pain").to_json()
    assert small_cube.chart().to_json() == heatmap_chart(small_cube.heatmap()).to_json()
