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

from cxlab.errors import DataError, ParameterError
from cxlab.explore import MISSING_SEGMENT, heatmap_cube
from cxlab.heatmap import touchpoint_heatmap
from cxlab.journey import assign_stages
from cxlab.prepare import prepare_events
from cxlab.sample import generate_client
from cxlab.schema import DEFAULT_JOURNEY_MAP

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


# ----------------------------------------------------------------------------- explorer scaffolding
# cxlab.display: what every explorer notebook calls (the browser test is tests/test_explorers_lab.py)

from cxlab import display as ui  # noqa: E402


def test_display_label_examples():
    assert ui.display_label("checkout_error") == "Checkout error"
    assert ui.display_label("nps") == "NPS"
    assert ui.display_label("drop_not_touched") == "Drop not touched"
    assert ui.display_label("ci_high") == "95% CI high"
    assert ui.display_label("segment", {"segment": "Customer group"}) == "Customer group"


def _client(folder, name):
    (folder / name).mkdir(parents=True)
    (folder / name / "client.toml").write_text('name = "x"\n')


def test_clients_folder_parameter_then_environment_then_samples(tmp_path, monkeypatch):
    from cxlab.config import SAMPLE_DIR

    own, env = tmp_path / "own", tmp_path / "env"
    own.mkdir()
    env.mkdir()
    monkeypatch.delenv(ui.CLIENTS_ENV, raising=False)
    assert ui.clients_folder(None) == SAMPLE_DIR
    monkeypatch.setenv(ui.CLIENTS_ENV, str(env))
    assert ui.clients_folder(None) == env
    assert ui.clients_folder(own) == own  # the parameter wins over the environment
    monkeypatch.setenv(ui.CLIENTS_ENV, str(tmp_path / "missing"))
    with pytest.raises(
        DataError, match="CXLAB_CLIENTS environment variable.*does not exist|missing.*CXLAB_CLIENTS"
    ):
        ui.clients_folder(None)


def test_list_clients_lists_every_folder_with_a_client_toml(tmp_path):
    _client(tmp_path, "zeta_gyms")
    _client(tmp_path, "acme")
    (tmp_path / "notes").mkdir()  # no client.toml: not a client
    assert ui.list_clients(tmp_path) == ["acme", "zeta_gyms"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="No client folder in .*empty.*client.toml"):
        ui.list_clients(empty)


def test_default_funnel_steps_exist_in_the_client():
    # consideration touchpoints by customers: tour 3 (a, b, c), plan 2 (a, b), form 1 (a);
    # purchase touchpoint "join" reached by a; "ad" is awareness; "sale" is a purchase
    # touchpoint of the map that nobody reached, so it is not used
    ev = pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "a", "b", "b", "b", "c"],
            "touchpoint": ["ad", "tour", "plan", "form", "join", "tour", "plan", "tour", "tour"],
        }
    )
    jmap = {
        "ad": "awareness",
        "tour": "consideration",
        "plan": "consideration",
        "form": "consideration",
        "join": "purchase",
        "sale": "purchase",
    }
    assert ui.default_funnel_steps(ev, jmap, ["sale", "join"]) == ["tour", "plan", "form", "join"]
    assert ui.default_funnel_steps(ev, jmap, ["join"], max_steps=3) == ["tour", "plan", "join"]
    # no consideration touchpoint: awareness ones
    only_ads = ev.filter(pl.col("touchpoint").is_in(["ad", "join"]))
    assert ui.default_funnel_steps(only_ads, jmap, ["join"]) == ["ad", "join"]


def test_unknown_steps_are_named_not_dropped_silently():
    known, unknown = ui.parse_steps(
        "site_visit, chekout, purchase", ["site_visit", "checkout", "purchase"]
    )
    assert (known, unknown) == (["site_visit", "purchase"], ["chekout"])
    note = ui.unknown_steps_note(unknown, ["site_visit", "checkout", "purchase"], "bookshop")
    assert "'chekout'" in note and "bookshop" in note and "checkout" in note
    assert ui.unknown_steps_note([], ["a"], "x") == ""


def test_labelled_table_uses_display_labels_formats_and_escapes():
    df = pl.DataFrame({"touchpoint": ["<script>x</script>"], "reach": [0.25], "nps": [12.346]})
    html = ui.labelled_table_html(df, caption="Top", percent=["reach"])
    assert "<th>Touchpoint</th><th>Reach</th><th>NPS</th>" in html
    assert "25.0%" in html and "12.35" in html  # percent, then 2 decimals
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "dtype" not in html and "---" not in html  # no polars repr


def test_text_boxes_change_on_enter_not_on_every_keystroke():
    assert ui.text_box("14d", "Window").continuous_update is False


def test_explorer_redraws_once_per_change_and_shows_one_error_line():
    import ipywidgets as widgets

    from cxlab.funnel import parse_window

    window = ui.text_box("14d", "Window")
    k = widgets.IntSlider(value=1, min=1, max=5)

    def render(v):
        parse_window(v["window"], "window")
        yield f"k={v['k']} window={v['window']}"

    ex = ui.Explorer({"k": k, "window": window}, render, caption=lambda v: f"Showing k {v['k']}")
    ex.refresh()
    assert ex.shown == ["k=1 window=14d"] and ex.reactions == 1
    assert "Showing k 1" in ex.status.value
    k.value = 2
    assert ex.shown == ["k=2 window=14d"] and ex.reactions == 2
    window.value = "2 weeks"  # bad: one red line, the previous output stays
    assert ex.shown == ["k=2 window=14d"]
    assert ex.status.value.count('class="cx-line cx-error"') == 1
    assert (
        "&#x27;2 weeks&#x27;" in ex.status.value
        and "7d" in ex.status.value
        and "Traceback" not in ex.status.value
    )
    window.value = "7d"
    assert ex.shown == ["k=2 window=7d"] and "cx-error" not in ex.status.value


def test_explorer_hook_sets_other_controls_with_one_redraw():
    import ipywidgets as widgets

    client = widgets.Dropdown(options=["a", "b"], value="a")
    segment = widgets.Dropdown(options=["a1", "a2"], value="a1")
    seen = []

    def render(v):
        seen.append((v["client"], v["segment"]))
        return []

    ex = ui.Explorer({"client": client, "segment": segment}, render)
    ex.on("client", lambda name: setattr(segment, "options", [f"{name}1", f"{name}2"]))
    ex.refresh()
    client.value = "b"
    # the segment change made by the hook did not redraw with a stale client
    assert seen == [("a", "a1"), ("b", "b1")]


def test_costly_controls_wait_for_the_button():
    import ipywidgets as widgets

    k = widgets.Dropdown(options=["auto", 2, 3], value="auto")
    ex = ui.Explorer({"k": k}, lambda v: [f"k={v['k']}"], costly=["k"], button="Fit clusters")
    ex.refresh()
    k.value = 3
    assert ex.shown == ["k=auto"] and "Fit clusters" in ex.status.value  # says what to do
    ex.button.click()
    assert ex.shown == ["k=3"]
    with pytest.raises(ParameterError, match="not controls"):
        ui.Explorer({"k": k}, lambda v: [], costly=["kk"])


def test_setup_notebook_charts_load_nothing_from_the_internet():
    import re

    import altair as alt

    ui.setup_notebook()
    assert alt.renderers.active == "jupyter"
    esm = alt.JupyterChart._esm
    assert "vegaEmbed" in esm or "vega_embed" in esm or "embed" in esm
    assert not re.search(r"""(import|from)\s*\(?\s*["']https?://""", esm), "a CDN import is left"


def test_explorer_reuses_its_chart_widgets():
    import altair as alt

    ui.setup_notebook()
    size = {"n": 1}
    chart = lambda: (  # noqa: E731
        alt.Chart(pl.DataFrame({"x": list(range(size["n"]))})).mark_point().encode(x="x")
    )
    ex = ui.Explorer({}, lambda v: [chart()])
    ex.refresh()
    first = ex.out.outputs[0]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    size["n"] = 3
    ex.refresh()
    again = ex.out.outputs[0]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert first == again  # the same widget, a new spec: the vega bundle is not sent again
    assert len(ex._pool[0].spec["datasets"][next(iter(ex._pool[0].spec["datasets"]))]) == 3
