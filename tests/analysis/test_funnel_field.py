"""Funnels as the field counts them (issue 18 §1): hand-checkable logs.

Best attempt (ClickHouse windowFunnel, Amplitude, Retentioneering) against first entry,
ties, sessions, the two rate bases, breakdowns by touch, revenue, conversion over time,
where drop-outs went next, and the stage funnel's base. Every expected number is worked
out in the comment above it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxlab.analysis.funnel import (
    drop_off_paths,
    funnel,
    funnel_customers,
    funnel_trend,
    stage_funnel,
    time_to_convert,
)
from cxlab.errors import DataError, ParameterError

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # a Monday
H = dt.timedelta(hours=1)


def log(rows: list[tuple], **extra) -> pl.DataFrame:
    """(customer, hours after T0, touchpoint) rows; source_row = list position."""
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [T0 + r[1] * H for r in rows],
            "touchpoint": [r[2] for r in rows],
            "source_row": pl.Series(range(1, len(rows) + 1), dtype=pl.UInt32),
            **extra,
        }
    )


def converted(f: pl.DataFrame) -> list[int]:
    return f.get_column("converted").to_list()


# a x a b: the first a does not lead on within 5 hours, the second does (b 1 hour later).
AXAB = log([("u", 0, "a"), ("u", 1, "x"), ("u", 10, "a"), ("u", 11, "b")])


def test_a_x_a_b_best_attempt_against_first_entry():
    # best attempt: the attempt from a@10 reaches b@11 (1h <= 5h) -> 1 of 1 reaches b
    assert converted(funnel(AXAB, ["a", "b"], window="5h")) == [1, 1]
    # first entry: only a@0 starts; b@11 is 11h after it (> 5h) -> 0 reach b
    assert converted(funnel(AXAB, ["a", "b"], window="5h", entry="first")) == [1, 0]
    # strict (consecutive events): first entry a@0 is followed by x -> 0; best: a@10 -> b -> 1
    assert converted(funnel(AXAB, ["a", "b"], order="strict", entry="first")) == [1, 0]
    assert converted(funnel(AXAB, ["a", "b"], order="strict")) == [1, 1]
    # without a window an ordered funnel gives the same count either way (a@0 ... b@11)
    assert converted(funnel(AXAB, ["a", "b"], entry="first")) == [1, 1]


def test_second_step_one_event_leads_on_and_its_times_are_reported():
    # a@0 b@1 then a@48 b@49 c@50, window 24h. First entry: a@0 -> b@1 -> c@50 is 50h after
    # a@0 (> 24h): 2 steps. Best: the attempt from a@48 reaches c@50 (2h): 3 steps, and its
    # times are the ones reported (step 1 at 48h, step 2 at 49h, 1 hour each).
    ev = log([("u", 0, "a"), ("u", 1, "b"), ("u", 48, "a"), ("u", 49, "b"), ("u", 50, "c")])
    assert converted(funnel(ev, ["a", "b", "c"], window="24h", entry="first")) == [1, 1, 0]
    best = funnel(ev, ["a", "b", "c"], window="24h")
    assert converted(best) == [1, 1, 1]
    assert best.get_column("median_hours").to_list() == [None, 1.0, 1.0]
    row = funnel_customers(ev, ["a", "b", "c"], window="24h").row(0, named=True)
    assert (row["step_1_at"], row["step_3_at"]) == (T0 + 48 * H, T0 + 50 * H)


def test_a_step_just_inside_and_just_outside_the_window():
    # window 2h: b exactly 2h after a counts (the deadline is inclusive); 2h + 1s does not
    second = dt.timedelta(seconds=1)
    inside = log([("u", 0, "a"), ("u", 2, "b")])
    outside = inside.with_columns(
        pl.when(pl.col("touchpoint") == "b")
        .then(pl.col("timestamp") + second)
        .otherwise(pl.col("timestamp"))
        .alias("timestamp")
    )
    for entry in ("best", "first"):
        assert converted(funnel(inside, ["a", "b"], window="2h", entry=entry)) == [1, 1]
        assert converted(funnel(outside, ["a", "b"], window="2h", entry=entry)) == [1, 0]


def test_a_same_second_tie():
    # b and a at the same time, b first in the file. Ordered best attempt: same-second events
    # may satisfy consecutive steps in either order -> reaches b. First entry keeps the file
    # order (b before a) -> does not. Strict funnels use the path order (b, a): a is the
    # last event, nothing follows it -> does not.
    ev = log([("u", 0, "b"), ("u", 0, "a")])
    assert converted(funnel(ev, ["a", "b"])) == [1, 1]
    assert converted(funnel(ev, ["a", "b"], entry="first")) == [1, 0]
    assert converted(funnel(ev, ["a", "b"], order="strict")) == [1, 0]


def test_share_of_all_customers_in_scope():
    # 4 customers; p and q enter (a), p converts (b); r and s never do a -> in scope 4:
    # step 1: 2 of 4 = 0.5, step 2: 1 of 4 = 0.25 (step-to-step: 2/2 then 1/2)
    ev = log([("p", 0, "a"), ("p", 1, "b"), ("q", 0, "a"), ("r", 0, "x"), ("s", 3, "b")])
    f = funnel(ev, ["a", "b"])
    assert f.get_column("in_scope").to_list() == [4, 4]
    assert f.get_column("share_of_all").to_list() == [0.5, 0.25]
    assert f.get_column("conversion_rate").to_list() == [1.0, 0.5]


def test_session_funnel_counts_sessions():
    # u's session s1: a then b (converts); s2: b then a (does not: b before a, 1h apart);
    # v's session s3: a only. Sessions: 3 in scope, 3 enter, 1 converts. A customer funnel
    # would count u once (converted) and v: 2 customers, 1 converted.
    ev = log(
        [("u", 0, "a"), ("u", 1, "b"), ("u", 5, "b"), ("u", 6, "a"), ("v", 0, "a")],
        session_id=["s1", "s1", "s2", "s2", "s3"],
    )
    f = funnel(ev, ["a", "b"], path="session")
    assert converted(f) == [3, 1] and f.get_column("in_scope").to_list() == [3, 3]
    assert converted(funnel(ev, ["a", "b"])) == [2, 1]
    fc = funnel_customers(ev, ["a", "b"], path="session")
    assert fc.select("session_id", "steps_reached").rows() == [("s1", 2), ("s2", 1), ("s3", 1)]
    with pytest.raises(DataError, match="sessionize"):
        funnel(ev.drop("session_id"), ["a", "b"], path="session")


def test_session_interrupted_by_events_without_a_session_is_one_path():
    # u: s1 a (0h), an event without session (1h), s1 b (2h), s2 b (3h): s1's two runs are one
    # session, a -> b converts; the event without session is a path of its own (no step),
    # s2 enters nothing. In scope: s1, the no-session path, s2 = 3; step 1: 1; step 2: 1.
    ev = log(
        [("u", 0, "a"), ("u", 1, "x"), ("u", 2, "b"), ("u", 3, "b")],
        session_id=["s1", None, "s1", "s2"],
    )
    f = funnel(ev, ["a", "b"], path="session")
    assert converted(f) == [1, 1] and f.get_column("in_scope").to_list() == [3, 3]


def test_sessions_interrupted_by_events_without_one_need_no_regrouping(monkeypatch):
    # u: s1 a, (no session) x, s1 b, s2 a; v: s1 b. Once the event without a session is set
    # apart, every session is one run of its customer's events: the session codes are a
    # running count of starts, the regrouping (a sort) is never called. u's s1 converts
    # (a -> b), u's s2 and v's s1 do not (v's s1 is another customer's session: its own
    # path). In scope: u s1, u's no-session path, u s2, v s1 = 4; step 1: 2; step 2: 1.
    import cxlab.analysis.funnel as funnel_module

    def regroup(*args):
        raise AssertionError("the sessions were regrouped")

    monkeypatch.setattr(funnel_module, "_session_order", regroup)
    ev = log(
        [("u", 0, "a"), ("u", 1, "x"), ("u", 2, "b"), ("u", 3, "a"), ("v", 0, "b")],
        session_id=["s1", None, "s1", "s2", "s1"],
    )
    f = funnel(ev, ["a", "b"], path="session")
    assert converted(f) == [2, 1] and f.get_column("in_scope").to_list() == [4, 4]


def test_session_that_comes_back_after_another_is_one_path():
    # u: s1 a (0h), s2 x (1h), s1 b (2h): s1 comes back after s2 and is still one session,
    # a -> b converts; s2 has no step. In scope: s1, s2 = 2; step 1: 1; step 2: 1.
    ev = log([("u", 0, "a"), ("u", 1, "x"), ("u", 2, "b")], session_id=["s1", "s2", "s1"])
    f = funnel(ev, ["a", "b"], path="session")
    assert converted(f) == [1, 1] and f.get_column("in_scope").to_list() == [2, 2]
    fc = funnel_customers(ev, ["a", "b"], path="session")
    assert fc.select("session_id", "steps_reached").rows() == [("s1", 2)]


def test_session_starts_across_chunks_and_events_without_a_session():
    # (customer code, session) in four chunks (| marks a chunk's end), and where a session
    # starts: 0 s1 (yes), 0 s1 (no) | 0 - (no session), 0 s1 (no: s1 goes on after the event
    # without one) | 0 s2 (yes), 1 s2 (yes: another customer) | 1 - | 1 s3 (yes), 1 s3 (no)
    from cxlab.analysis.funnel import _changed, _session_starts

    rows = [(0, "s1"), (0, "s1"), (0, None), (0, "s1"), (0, "s2"), (1, "s2"), (1, None)]
    rows += [(1, "s3"), (1, "s3")]
    df = pl.DataFrame(rows, schema={"_cx_cid": pl.UInt32, "session_id": pl.String}, orient="row")
    chunked = pl.concat([df[0:2], df[2:4], df[4:6], df[6:7], df[7:9]], rechunk=False)
    assert chunked.n_chunks() == 5
    starts = [True, False, False, False, True, True, False, True, False]
    assert _session_starts(chunked).to_list() == starts
    assert _session_starts(df).to_list() == starts
    # the text changes, nulls compared as values: s1 s1 | - s1 | s2 s2 | - | s3 s3
    changed = [True, False, True, True, True, False, True, True, False]
    assert _changed(chunked.get_column("session_id")).to_list() == changed
    assert _changed(df.get_column("session_id")).to_list() == changed


def test_attach_finds_each_rows_value_by_its_key():
    # keys 5, none, 2, 7 against a table of 2 -> 20.0 and 5 -> 50.0: 50.0, null (no key),
    # 20.0, null (7 is not in the table); an empty table gives nulls of its type
    from cxlab.analysis.funnel import _attach

    state = pl.DataFrame({"_o_2": [5, None, 2, 7]}, schema={"_o_2": pl.Int64})
    table = pl.DataFrame({"_o_2": [2, 5], "_revenue": [20.0, 50.0]})
    assert _attach(state, table, "_o_2")["_revenue"].to_list() == [50.0, None, 20.0, None]
    empty = _attach(state, table.clear(), "_o_2")
    assert empty["_revenue"].to_list() == [None] * 4 and empty.schema["_revenue"] == pl.Float64


def test_several_breakdowns_and_the_touch_that_gives_the_value():
    # p: a on web, b on app (converts); q: a on app. Segments: p gold, q basic.
    ev = log([("p", 0, "a"), ("p", 1, "b"), ("q", 0, "a")], channel=["web", "app", "app"])
    customers = pl.DataFrame({"customer_id": ["p", "q"], "segment": ["gold", "basic"]})
    f = funnel(ev, ["a", "b"], by=["channel", "segment"], customers=customers)
    # first touch (default): p counts under web (its step-1 channel), q under app
    assert f.select("channel", "segment", "step", "converted").rows() == [
        ("app", "basic", 1, 1),
        ("app", "basic", 2, 0),
        ("web", "gold", 1, 1),
        ("web", "gold", 2, 1),
    ]
    # last touch: p's furthest step (b) was on app -> both under app: 2 enter, 1 converts
    last = funnel(ev, ["a", "b"], by="channel", by_touch="last")
    assert last.select("channel", "converted").rows() == [("app", 2), ("app", 1)]
    # step 2's channel: q never reached step 2 -> "(not reached)"
    at2 = funnel(ev, ["a", "b"], by="channel", by_touch=2)
    assert at2.get_column("channel").unique().sort().to_list() == ["(not reached)", "app"]
    with pytest.raises(ParameterError, match="by_touch"):
        funnel(ev, ["a", "b"], by="channel", by_touch=3)


def test_revenue_on_the_final_step():
    # converters' last-step events: p's b 10.5, q's b 4.5 (q's later 99 is not a step event of
    # the credited attempt: the first b counts) -> 15.0, 7.5 per converter; r did not convert.
    ev = log(
        [("p", 0, "a"), ("p", 1, "b"), ("q", 0, "a"), ("q", 2, "b"), ("q", 3, "b"), ("r", 0, "a")],
        revenue=[None, 10.5, None, 4.5, 99.0, 3.0],
    )
    f = funnel(ev, ["a", "b"])
    assert f.get_column("revenue").to_list() == [None, 15.0]
    assert f.get_column("revenue_per_converter").to_list() == [None, 7.5]


def test_conversion_over_time_by_entry_week():
    # week of Jan 1: p (converts), q (does not); week of Jan 8: r (converts). No window:
    # nobody's window is open, so eligible = entered.
    d = 24
    ev = log(
        [("p", 0, "a"), ("p", 1, "b"), ("q", 2, "a"), ("r", 7 * d, "a"), ("r", 7 * d + 1, "b")]
    )
    t = funnel_trend(ev, ["a", "b"], every="week")
    assert t.select("period", "entered", "converted", "eligible").rows() == [
        (dt.date(2024, 1, 1), 2, 1, 2),
        (dt.date(2024, 1, 8), 1, 1, 1),
    ]
    assert t.get_column("conversion_rate").to_list() == [0.5, 1.0]
    # window 2h, data end 8 days after T0 (192h): s enters at 191h and still has until 193h,
    # so s is left out of the rate (open window); r's window (168h..170h) is closed.
    late = log([("r", 7 * d, "a"), ("r", 7 * d + 1, "b"), ("s", 8 * d - 1, "a")])
    w2 = funnel_trend(late, ["a", "b"], window="2h", as_of=T0 + 8 * d * H)
    assert w2.select("entered", "open_window", "eligible", "converted_eligible").row(0) == (
        2,
        1,
        1,
        1,
    )
    with pytest.raises(ParameterError, match="every"):
        funnel_trend(ev, ["a", "b"], every="fortnight")


def test_where_drop_outs_went_next():
    # stopped at a (never b): q went x then y then z; r went x only; s never came back.
    ev = log(
        [
            ("p", 0, "a"),
            ("p", 1, "b"),
            ("q", 0, "a"),
            ("q", 1, "x"),
            ("q", 2, "y"),
            ("q", 3, "z"),
            ("r", 0, "a"),
            ("r", 4, "x"),
            ("s", 0, "a"),
        ]
    )
    two = drop_off_paths(ev, ["a", "b"], step=1, length=2)
    # 3 stopped: (no event) 1, x 1, x → y 1 -> each 1/3, ties in path order
    assert two.select("next_path", "customers").rows() == [
        ("(no event)", 1),
        ("x", 1),
        ("x → y", 1),
    ]
    nxt = drop_off_paths(ev, ["a", "b"], step=1, length=1)
    assert nxt.select("next_path", "customers", "stopped").rows()[0] == ("x", 2, 3)


def test_stage_funnel_base_every_customer_enters_where_first_seen():
    # 4 customers. k: awareness -> consideration -> purchase. m, n: first seen at
    # consideration (awareness not tracked for them); m buys. o: awareness only.
    # first_seen: step 1 (awareness) counts k m n o = 4 (m, n pass it at their entry);
    # consideration: k m n = 3; purchase: k m = 2. Entered here: awareness k o = 2,
    # consideration m n = 2.
    ev = log(
        [
            ("k", 0, "ad_click"),
            ("k", 1, "site_visit"),
            ("k", 2, "purchase"),
            ("m", 0, "site_visit"),
            ("m", 1, "purchase"),
            ("n", 0, "site_visit"),
            ("o", 0, "ad_click"),
        ]
    )
    jm = {"ad_click": "awareness", "site_visit": "consideration", "purchase": "purchase"}
    st = ["awareness", "consideration", "purchase"]
    f = stage_funnel(ev, st, journey_map=jm)
    assert converted(f) == [4, 3, 2] and f.get_column("entered_here").to_list() == [2, 2, 0]
    assert f.get_column("entered").to_list() == [4, 4, 3]
    # the earlier base: only customers with an awareness event (k, o) enter -> 2, 1, 1
    old = stage_funnel(ev, st, journey_map=jm, base="first_stage")
    assert converted(old) == [2, 1, 1] and old.get_column("entered_here").to_list() == [2, 0, 0]
    with pytest.raises(ParameterError, match="first_stage"):
        stage_funnel(ev, st, journey_map=jm, order="strict")


def test_time_to_convert_uses_the_credited_attempt():
    # the a x a b log, window 5h: the credited attempt is a@10 -> b@11: 1 hour
    c = time_to_convert(AXAB, ["a", "b"], window="5h")
    assert c.filter(pl.col("converted_share") > 0).get_column("hours").to_list() == [1.0]


def test_parameter_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="'entry'"):
        funnel(AXAB, ["a", "b"], entry="all")
    with pytest.raises(ParameterError, match="'path'"):
        funnel(AXAB, ["a", "b"], path="visit")
    with pytest.raises(ParameterError, match="'by'"):
        funnel(AXAB, ["a", "b"], by=["channel", "channel"])
