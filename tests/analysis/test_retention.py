"""Retention, lifecycle, stickiness and the lifetimes summary on tiny logs checked by hand.

The weekly log used by most tests (1 Jan 2024 is a Monday; weeks W0 = 1 Jan, W1 = 8 Jan,
W2 = 15 Jan, W3 = 22 Jan; as_of = Wed 24 Jan 12:00, inside W3)::

    customer  events (day of January)  active weeks  channel of the first event
    a         1, 9, 23                 W0 W1 W3      web
    b         2, 16                    W0 W2         app
    c         3                        W0            web
    d         10, 11, 17               W1 W2         web
    e         12, 24                   W1 W3         app
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.analysis.churn import retention_curves
from cxlab.analysis.retention import (
    LIFECYCLE_STATUSES,
    cohort_retention,
    lifecycle,
    purchase_summary,
    stickiness,
)
from cxlab.errors import ParameterError
from cxlab.events import as_events

AS_OF = dt.datetime(2024, 1, 24, 12, tzinfo=dt.UTC)
W = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 8, 15, 22)]


def day(d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(2024, 1, d, h, tzinfo=dt.UTC)


LOG = [
    ("a", 1, "web", "visit"),
    ("a", 9, "app", "purchase"),
    ("a", 23, "web", "visit"),
    ("b", 2, "app", "visit"),
    ("b", 16, "web", "purchase"),
    ("c", 3, "web", "visit"),
    ("d", 10, "web", "visit"),
    ("d", 11, "web", "purchase"),
    ("d", 17, "app", "visit"),
    ("e", 12, "app", "purchase"),
    ("e", 24, "web", "visit"),
]


@pytest.fixture(params=["plain", "prepared"])
def events(request) -> pl.DataFrame:
    ev = pl.DataFrame(
        {
            "customer_id": [r[0] for r in LOG],
            "timestamp": [day(r[1]) for r in LOG],
            "channel": [r[2] for r in LOG],
            "touchpoint": [r[3] for r in LOG],
            "source_row": pl.Series(range(1, len(LOG) + 1), dtype=pl.UInt32),
        }
    )
    return as_events(ev) if request.param == "prepared" else ev


def cells(m, *cols) -> list[tuple]:
    return m.table.select("cohort", "period", *cols).rows()


# ------------------------------------------------------------------------------ cohort matrix
def test_cohort_matrix_n_day_by_hand(events):
    m = cohort_retention(events, every="week", as_of=AS_OF)
    # W0 cohort {a, b, c}: W1 a; W2 b; W3 a.  W1 cohort {d, e}: W2 d; W3 e.
    # W2 and W3 have no newcomer, so no cohort. Only the W3 cells are still running at as_of.
    assert cells(m, "cohort_size", "retained", "complete") == [
        (W[0], 0, 3, 3, True),
        (W[0], 1, 3, 1, True),
        (W[0], 2, 3, 1, True),
        (W[0], 3, 3, 1, False),
        (W[1], 0, 2, 2, True),
        (W[1], 1, 2, 1, True),
        (W[1], 2, 2, 1, False),
    ]
    assert m.table["retention"].to_list()[:2] == [1.0, 1 / 3]
    # the Wilson interval of 1 out of 3: (0.0615, 0.7923)
    lo, hi = m.table.row(1, named=True)["ci_low"], m.table.row(1, named=True)["ci_high"]
    assert (round(lo, 4), round(hi, 4)) == (0.0615, 0.7923)
    # the mean curve pools complete cells: k=0 5/5; k=1 (1 + 1)/(3 + 2) = 0.4; k=2 W0 only 1/3
    assert m.curve.select("period", "cohorts", "customers", "retained").rows() == [
        (0, 2, 5, 5),
        (1, 2, 5, 2),
        (2, 1, 3, 1),
    ]
    assert m.curve["retention"].to_list() == [1.0, 0.4, 1 / 3]


def test_cohort_matrix_unbounded_by_hand(events):
    m = cohort_retention(events, every="week", mode="unbounded", as_of=AS_OF)
    # last active week: a W3, b W2, c W0, d W2, e W3.
    # W0 cohort: k=1 a, b (last W3, W2) = 2; k=2 a, b = 2; k=3 a = 1.
    # W1 cohort: k=1 d, e = 2; k=2 e = 1.
    assert cells(m, "retained") == [
        (W[0], 0, 3),
        (W[0], 1, 2),
        (W[0], 2, 2),
        (W[0], 3, 1),
        (W[1], 0, 2),
        (W[1], 1, 2),
        (W[1], 2, 1),
    ]


def test_cohort_matrix_recurring_entry(events):
    m = cohort_retention(events, every="week", entry="recurring", as_of=AS_OF)
    # entries: every week a customer was active. W0 {a,b,c}; W1 {a,d,e}; W2 {b,d}; W3 {a,e}.
    # W0: k1 a, k2 b, k3 a.  W1: k1 (W2) d, k2 (W3) a, e.  W2: k1 (W3) nobody.
    assert cells(m, "cohort_size", "retained") == [
        (W[0], 0, 3, 3),
        (W[0], 1, 3, 1),
        (W[0], 2, 3, 1),
        (W[0], 3, 3, 1),
        (W[1], 0, 3, 3),
        (W[1], 1, 3, 1),
        (W[1], 2, 3, 2),
        (W[2], 0, 2, 2),
        (W[2], 1, 2, 0),
        (W[3], 0, 2, 2),
    ]


def test_cohort_matrix_start_and_returning_touchpoints(events):
    # entry = first purchase: a W1, b W2, d W1, e W1; return = a visit
    m = cohort_retention(events, every="week", start="purchase", returning="visit", as_of=AS_OF)
    # W1 cohort {a, d, e}: visits in W2: d (17th); in W3: a (23rd), e (24th).  W2 cohort {b}.
    assert cells(m, "cohort_size", "retained") == [
        (W[1], 0, 3, 3),
        (W[1], 1, 3, 1),
        (W[1], 2, 3, 2),
        (W[2], 0, 1, 1),
        (W[2], 1, 1, 0),
    ]


def test_cohort_matrix_breakdown_at_entry_event(events):
    m = cohort_retention(events, every="week", by="channel", as_of=AS_OF)
    # channel of the first event: a web, b app, c web, d web, e app
    # app: W0 {b} k1 0, k2 1 (b in W2), k3 0;  W1 {e}: k1 0, k2 1
    # web: W0 {a, c} k1 1 (a), k2 0, k3 1 (a); W1 {d}: k1 1, k2 0
    got = m.table.select("channel", "cohort", "period", "cohort_size", "retained").rows()
    assert got == [
        ("app", W[0], 0, 1, 1),
        ("app", W[0], 1, 1, 0),
        ("app", W[0], 2, 1, 1),
        ("app", W[0], 3, 1, 0),
        ("app", W[1], 0, 1, 1),
        ("app", W[1], 1, 1, 0),
        ("app", W[1], 2, 1, 1),
        ("web", W[0], 0, 2, 2),
        ("web", W[0], 1, 2, 1),
        ("web", W[0], 2, 2, 0),
        ("web", W[0], 3, 2, 1),
        ("web", W[1], 0, 1, 1),
        ("web", W[1], 1, 1, 1),
        ("web", W[1], 2, 1, 0),
    ]
    assert set(m.curve["channel"]) == {"app", "web"}


def test_cohort_matrix_breakdown_by_customers_column(events):
    customers = pl.DataFrame({"customer_id": list("abcde"), "segment": ["x", "y", "x", "y", "y"]})
    m = cohort_retention(events, every="week", by="segment", customers=customers, as_of=AS_OF)
    # x: W0 {a, c}; y: W0 {b}, W1 {d, e}
    sizes = m.table.filter(pl.col("period") == 0).select("segment", "cohort", "cohort_size").rows()
    assert sizes == [("x", W[0], 2), ("y", W[0], 1), ("y", W[1], 2)]


def test_cohort_matrix_periods_and_month():
    ev = pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "timestamp": [
                dt.datetime(2024, 1, 31, tzinfo=dt.UTC),
                dt.datetime(2024, 2, 1, tzinfo=dt.UTC),  # one day later, but the next month
                dt.datetime(2024, 4, 15, tzinfo=dt.UTC),
                dt.datetime(2024, 2, 29, tzinfo=dt.UTC),
            ],
        }
    )
    m = cohort_retention(ev, every="month", periods=2, as_of=dt.datetime(2024, 4, 30, 23, 59, 59))
    # Jan {a}: Feb yes, Mar no (periods=2 hides April). Feb {b}: Mar no, Apr no.
    # as_of is the last second of April, so April is complete.
    assert m.table.select("period", "retained", "complete").rows() == [
        (0, 1, True),
        (1, 1, True),
        (2, 0, True),
        (0, 1, True),
        (1, 0, True),
        (2, 0, True),
    ]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"every": "fortnight"}, "The 'every' parameter of cohort_retention must be one of"),
        ({"every": "12h"}, "whole days, weeks, months"),
        ({"mode": "rolling"}, "The 'mode' parameter of cohort_retention must be one of 'n_day'"),
        ({"entry": "birth"}, "The 'entry' parameter"),
        ({"periods": 0}, "The 'periods' parameter of cohort_retention must be None or an int >= 1"),
        ({"start": "purchse"}, "Did you mean 'purchase'?"),
        ({"by": "segmnt"}, "Pass customers=client.customers"),
    ],
)
def test_cohort_matrix_bad_parameters(events, kwargs, fragment):
    with pytest.raises(ParameterError, match=fragment.replace("(", r"\(").replace("?", r"\?")):
        cohort_retention(events, **kwargs)


# ------------------------------------------------------------------------------ lifecycle
def test_lifecycle_by_hand(events):
    t = lifecycle(events, every="week", as_of=AS_OF)
    got = {(r["period"], r["status"]): r["customers"] for r in t.iter_rows(named=True)}
    expected = {
        # W0: a, b, c are new
        W[0]: {"new": 3, "returning": 0, "resurrecting": 0, "dormant": 0},
        # W1: d, e new; a returning (W0); b, c were active in W0 and not now: dormant
        W[1]: {"new": 2, "returning": 1, "resurrecting": 0, "dormant": 2},
        # W2: d returning; b resurrecting (W0, not W1); a, e gone quiet
        W[2]: {"new": 0, "returning": 1, "resurrecting": 1, "dormant": 2},
        # W3: a, e resurrecting; b, d gone quiet
        W[3]: {"new": 0, "returning": 0, "resurrecting": 2, "dormant": 2},
    }
    assert got == {(w, s): n for w, row in expected.items() for s, n in row.items()}
    assert t.height == 4 * len(LIFECYCLE_STATUSES)
    assert t.filter(pl.col("status") == "dormant")["signed"].to_list() == [0, -2, -2, -2]
    assert t["complete"].to_list() == [True] * 12 + [False] * 4


def test_lifecycle_signup_before_first_event_is_resurrecting(events):
    # d signed up in W0 but first acted in W1: PostHog counts that as resurrecting, not new
    customers = pl.DataFrame({"customer_id": ["d"], "signup_date": [dt.date(2024, 1, 2)]})
    t = lifecycle(events, every="week", customers=customers, as_of=AS_OF)
    w1 = dict(t.filter(pl.col("period") == W[1]).select("status", "customers").iter_rows())
    assert w1 == {"new": 1, "returning": 1, "resurrecting": 1, "dormant": 2}


def test_lifecycle_of_touchpoints(events):
    t = lifecycle(events, every="week", touchpoints="purchase", as_of=AS_OF)
    # purchases: a W1, d W1, e W1, b W2. New = first seen (any event) in that week: d, e.
    # a (seen W0) and b (seen W0) are resurrecting when they first purchase.
    counts = t.filter(pl.col("customers") > 0).select("period", "status", "customers").rows()
    assert counts == [
        (W[1], "new", 2),
        (W[1], "resurrecting", 1),
        (W[2], "resurrecting", 1),
        (W[2], "dormant", 3),
        (W[3], "dormant", 1),
    ]


# ------------------------------------------------------------------------------ stickiness
def test_stickiness_by_hand():
    t = lambda d, h=9: dt.datetime(2024, 1, d, h, tzinfo=dt.UTC)  # noqa: E731
    ev = pl.DataFrame(
        {
            # week of Mon 1 Jan: a Mon (twice) and Wed = 2 days; b Tue = 1 day; c Mon-Thu = 4
            # week of Mon 8 Jan: a Mon = 1 day
            "customer_id": ["a", "a", "a", "b", "c", "c", "c", "c", "a"],
            "timestamp": [t(1), t(1, 18), t(3), t(2), t(1), t(2), t(3), t(4), t(8)],
        }
    )
    s = stickiness(ev, every="week", as_of=dt.datetime(2024, 1, 14, 23, 59, 59))
    assert s.select("period", "active", "customers", "units_in_period", "complete").rows() == [
        (W[0], 1, 1, 7, True),
        (W[0], 2, 1, 7, True),
        (W[0], 4, 1, 7, True),
        (W[1], 1, 1, 7, True),
    ]
    assert s["share"].to_list() == [1 / 3, 1 / 3, 1 / 3, 1.0]
    assert s["share_at_least"].to_list() == [1.0, 2 / 3, 1 / 3, 1.0]
    # by month, counting weeks: a active in two weeks of January, b and c in one
    m = stickiness(ev, every="month", unit="week")
    assert m.select("active", "customers").rows() == [(1, 2), (2, 1)]


# ------------------------------------------------------------------------------ lifetimes
LT_LOG = pl.DataFrame(
    {
        "customer_id": ["a", "a", "a", "b", "c", "c"],
        "timestamp": [
            dt.datetime(2024, 1, 1, 0, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 5, 0, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 3, 0, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 2, 0, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 10, 13, tzinfo=dt.UTC),
        ],
        "revenue": [10.0, 5.0, 20.0, 7.0, 3.0, 9.0],
    }
)


def test_purchase_summary_by_hand():
    s = purchase_summary(LT_LOG, as_of=dt.datetime(2024, 1, 11))
    # a: days 1 Jan (10 + 5) and 5 Jan (20): frequency 1, recency 4, T 10, monetary 20
    #    (the repeat day's total; the first day is left out, as lifetimes does)
    # b: one day: 0, 0, T = 11 - 3 = 8, monetary 0.  c: 2 and 10 Jan: 1, 8, 9, 9
    assert s.rows() == [
        ("a", 1.0, 4.0, 10.0, 20.0),
        ("b", 0.0, 0.0, 8.0, 0.0),
        ("c", 1.0, 8.0, 9.0, 9.0),
    ]
    w = purchase_summary(LT_LOG, every="week", as_of=dt.datetime(2024, 1, 11))
    # weeks of 1 and 8 Jan: a only W0 (0, 0, T 1); b W0; c W0 and W1 (1, 1, 1, 9)
    assert w.rows() == [
        ("a", 0.0, 0.0, 1.0, 0.0),
        ("b", 0.0, 0.0, 1.0, 0.0),
        ("c", 1.0, 1.0, 1.0, 9.0),
    ]


def _lifetimes(ev: pl.DataFrame, every: str, as_of: dt.datetime) -> pl.DataFrame:
    """lifetimes' own summary of the same log (pandas only at this boundary, no pyarrow)."""
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    pdf = pd.DataFrame(
        {
            "customer_id": ev["customer_id"].to_list(),
            "timestamp": pd.to_datetime(ev["timestamp"].dt.replace_time_zone(None).to_list()),
            "revenue": ev["revenue"].to_numpy(),
        }
    )
    out = summary_data_from_transaction_data(
        pdf,
        "customer_id",
        "timestamp",
        monetary_value_col="revenue",
        observation_period_end=pd.Timestamp(as_of.replace(tzinfo=None)),
        freq={"day": "D", "week": "W"}[every],
    )
    return pl.DataFrame(
        {
            "customer_id": [str(i) for i in out.index],
            **{
                c: out[c].to_numpy(dtype=float)
                for c in ("frequency", "recency", "T", "monetary_value")
            },
        }
    ).sort("customer_id")


@pytest.mark.parametrize("every", ["day", "week"])
def test_purchase_summary_equals_lifetimes(every):
    assert (
        _lifetimes(LT_LOG, every, dt.datetime(2024, 1, 11)).rows()
        == purchase_summary(LT_LOG, every=every, as_of=dt.datetime(2024, 1, 11)).rows()
    )
    rng = np.random.default_rng(7)
    n = 2000
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    ev = pl.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in rng.integers(0, 200, n)],
            "timestamp": [
                base + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 150 * 86400, n)
            ],
            "revenue": np.round(rng.gamma(2.0, 20.0, n), 2),
        }
    )
    end = dt.datetime(2024, 6, 30, 12, tzinfo=dt.UTC)
    ours, theirs = purchase_summary(ev, every=every, as_of=end), _lifetimes(ev, every, end)
    assert ours["customer_id"].to_list() == theirs["customer_id"].to_list()
    for col in ("frequency", "recency", "T"):
        assert ours[col].to_list() == theirs[col].to_list(), col
    assert np.allclose(ours["monetary_value"], theirs["monetary_value"], rtol=1e-12, atol=1e-9)


# ------------------------------------------------------------------------------ Kaplan–Meier
KM_LABELS = pl.DataFrame(
    {
        "customer_id": list("vwxyz"),
        "duration_days": [2.0, 4.0, 4.0, 6.0, 8.0],
        "event_observed": [True, True, False, True, False],
    }
)


def test_retention_curves_overall_and_times_by_hand():
    rc = retention_curves(KM_LABELS, times=[0, 1, 2, 5, 6, 10])
    # at risk 5: churn at 2 -> 4/5 = 0.8; at 4 one of 4 churns (one censored at 4 too)
    # -> 0.8 * 3/4 = 0.6; at 6 one of 2 churns -> 0.3; nothing after (8 is censored)
    got = rc.at_times.select("group", "day", "retention", "at_risk").rows()
    assert [(g, d, round(s, 10), n) for g, d, s, n in got] == [
        ("all", 0.0, 1.0, 5),
        ("all", 1.0, 1.0, 5),
        ("all", 2.0, 0.8, 5),
        ("all", 5.0, 0.6, 2),
        ("all", 6.0, 0.3, 2),
        ("all", 10.0, 0.3, 0),
    ]
    assert rc.by is None and rc.logrank is None
    assert rc.summary.select("group", "n", "n_churned", "median_days").rows() == [
        ("all", 5, 3, 6.0)
    ]


def test_retention_curves_times_equal_lifelines():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(3)
    d = np.round(rng.exponential(40, 300), 1)
    e = rng.random(300) < 0.7
    lab = pl.DataFrame(
        {"customer_id": [f"c{i}" for i in range(300)], "duration_days": d, "event_observed": e}
    )
    times = [0.0, 3.3, 10.0, 25.5, 60.0, 200.0]
    ours = retention_curves(lab, times=times).at_times["retention"].to_numpy()
    theirs = KaplanMeierFitter().fit(d, e).survival_function_at_times(times).to_numpy()
    assert np.allclose(ours, theirs, rtol=0, atol=1e-12)


def test_retention_curves_bad_times():
    with pytest.raises(ParameterError, match="list of days >= 0"):
        retention_curves(KM_LABELS, times=[-1])


# ------------------------------------------------------------------------------ properties
@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcdefg"), st.integers(0, 60)), min_size=1, max_size=40),
    st.sampled_from(["n_day", "unbounded"]),
)
def test_retention_properties(rows, mode):
    ev = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [
                dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=r[1]) for r in rows
            ],
        }
    )
    m = cohort_retention(ev, every="week", mode=mode)
    t = m.table
    # every customer is in exactly one cohort; shares stay in [0, 1]; period 0 is everybody
    assert t.filter(pl.col("period") == 0)["cohort_size"].sum() == ev["customer_id"].n_unique()
    assert (
        t.filter(pl.col("period") == 0)
        .select((pl.col("retained") == pl.col("cohort_size")).all())
        .item()
    )
    assert t.select(((pl.col("retention") >= 0) & (pl.col("retention") <= 1)).all()).item()
    if mode == "unbounded":  # unbounded retention never rises with k
        rising = t.with_columns(pl.col("retained").diff().over("cohort").alias("d"))
        assert rising.select((pl.col("d").fill_null(0) <= 0).all()).item()
    # lifecycle: the active customers of a period are new + returning + resurrecting
    lc = lifecycle(ev, every="week")
    active = ev.group_by(pl.col("timestamp").dt.truncate("1w").alias("period")).agg(
        pl.col("customer_id").n_unique().alias("n")
    )
    up = lc.filter(pl.col("status") != "dormant").group_by("period").agg(pl.col("customers").sum())
    both = up.join(active, on="period", how="left").with_columns(pl.col("n").fill_null(0))
    assert both.select((pl.col("customers") == pl.col("n")).all()).item()
    assert not math.isnan(m.curve["retention"].sum())


def test_inactivity_boundary_counts_as_churned():
    # the docs say: silent for exactly inactivity_days at as_of is churned (>=), one second less is not
    from cxlab.analysis.features import churn_labels
    from cxlab.contract.client_config import ChurnDefinition

    as_of = dt.datetime(2024, 3, 31, tzinfo=dt.UTC)
    ev = pl.DataFrame(
        {
            "customer_id": ["old", "exact", "exact", "inside", "inside"],
            "timestamp": [
                dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                as_of - dt.timedelta(days=30),
                dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                as_of - dt.timedelta(days=30) + dt.timedelta(seconds=1),
            ],
        }
    )
    lab = churn_labels(ev, None, ChurnDefinition("inactivity", 30), as_of=as_of)
    assert dict(lab.select("customer_id", "churned").iter_rows()) == {
        "exact": True,
        "inside": False,
        "old": True,
    }


def test_retention_curves_level_and_deprecated_alpha():
    # level=0.9 is lifelines' alpha=0.1: the 90% band sits inside the 95% one; alpha= still
    # works for one release (a DeprecationWarning naming level) and gives the same curves
    wide = retention_curves(KM_LABELS).curves
    narrow = retention_curves(KM_LABELS, level=0.9).curves
    assert (narrow["ci_low"] >= wide["ci_low"] - 1e-12).all()
    assert (narrow["ci_low"] > wide["ci_low"]).any()
    with pytest.warns(DeprecationWarning, match="level=0.9"):
        old = retention_curves(KM_LABELS, alpha=0.1).curves
    assert old.equals(narrow)
    assert retention_curves(KM_LABELS, level=0.95).curves.equals(wide)
    with pytest.raises(ParameterError, match="level must be a probability"):
        retention_curves(KM_LABELS, level=95)


def test_retention_matrix_chart_draws_the_same_spec_as_retention_heatmap(events):
    from cxlab.display.charts.retention import retention_heatmap

    m = cohort_retention(events, every="week", as_of=AS_OF)
    assert m.chart().to_json() == retention_heatmap(m.table, "week").to_json()
    by = cohort_retention(events, every="week", by="channel", as_of=AS_OF)
    web = by.table.filter(pl.col("channel") == "web")
    assert by.chart("web", title="Web").to_json() == (
        retention_heatmap(web, "week", title="Web").to_json()
    )
    with pytest.raises(
        ParameterError, match=r"one channel at a time: pass group= one of \['app', 'web'\]"
    ):
        by.chart()
