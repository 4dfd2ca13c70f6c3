"""Tests of cxlab.analysis.journey: stage assignment, customer journeys, transitions."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.analysis.journey import (
    assign_stages,
    customer_journeys,
    stage_transitions,
    unmapped_touchpoints,
)
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP, STAGE_DTYPE, STAGES
from cxlab.errors import DataError, ParameterError

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def events(rows: list[tuple[str, float, str]]) -> pl.DataFrame:
    """(customer, day offset, touchpoint) rows; source_row is the list position (1-based)."""
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [T0 + dt.timedelta(days=r[1]) for r in rows],
            "touchpoint": [r[2] for r in rows],
            "channel": ["web"] * len(rows),
            "source_row": pl.Series(range(1, len(rows) + 1), dtype=pl.UInt32),
        },
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )


# c1 walks the whole journey; c2 stops at checkout (checkout_error has the same timestamp,
# later file row); c3 goes back to a site visit after buying; c4 has an unmapped touchpoint;
# c5 has two purchases at the same timestamp: file order decides which one is *the* purchase.
LOG = events(
    [
        ("c1", 0, "ad_click"),
        ("c1", 1, "site_visit"),
        ("c1", 3, "purchase"),
        ("c1", 10, "purchase"),
        ("c1", 12, "review"),
        ("c2", 0, "site_visit"),
        ("c2", 1, "checkout"),
        ("c2", 1, "checkout_error"),
        ("c3", 2, "ad_click"),
        ("c3", 4, "purchase"),
        ("c3", 6, "site_visit"),
        ("c4", 1, "fax_sent"),
        ("c4", 1, "ad_click"),
        ("c5", 5, "purchase"),
        ("c5", 5, "purchase"),
    ]
)


def test_assign_stages_follows_map_and_purchase_order():
    out = assign_stages(LOG, DEFAULT_JOURNEY_MAP)
    assert out.schema["stage"] == STAGE_DTYPE
    assert out.columns == [*LOG.columns, "stage"]  # nothing dropped, order kept
    got = out["stage"].to_list()
    assert got == [
        "awareness",
        "consideration",
        "purchase",
        "retention",
        "advocacy",  # c1
        "consideration",
        "purchase",
        "purchase",  # c2: checkout stages are purchase
        "awareness",
        "purchase",
        "consideration",  # c3: stage of the map after purchase
        None,
        "awareness",  # c4: fax_sent unmapped -> null, kept
        "purchase",
        "retention",  # c5: same timestamp, source_row 14 < 15 is the first
    ]


def test_assign_stages_tie_uses_source_row_not_frame_order():
    # swap the two c5 rows in the frame but keep their source_row: row 14 is still first
    swapped = pl.concat([LOG.head(13), LOG.tail(1), LOG.slice(13, 1)])
    out = assign_stages(swapped, DEFAULT_JOURNEY_MAP)
    c5 = out.filter(pl.col("customer_id") == "c5").sort("source_row")["stage"].to_list()
    assert c5 == ["purchase", "retention"]


def test_assign_stages_keeps_lazy_and_other_purchase_touchpoints():
    m = dict(DEFAULT_JOURNEY_MAP, renewal="purchase")
    lazy = assign_stages(LOG.lazy(), m, purchase_touchpoints=("purchase", "renewal"))
    assert isinstance(lazy, pl.LazyFrame)
    assert (
        lazy.collect()["stage"].to_list()
        == assign_stages(LOG, DEFAULT_JOURNEY_MAP)["stage"].to_list()
    )
    ev = events([("x", 0, "renewal"), ("x", 1, "purchase")])
    # the first of any purchase touchpoint is the purchase; the later one is retention
    assert assign_stages(ev, m, ("purchase", "renewal"))["stage"].to_list() == [
        "purchase",
        "retention",
    ]


def test_assign_stages_rejects_bad_map_and_columns():
    with pytest.raises(ParameterError, match="not a stage.*Did you mean 'purchase'"):
        assign_stages(LOG, {"checkout": "purchse"})
    with pytest.raises(ParameterError, match="puts in the 'consideration' stage"):
        assign_stages(LOG, DEFAULT_JOURNEY_MAP, purchase_touchpoints=("site_visit",))
    with pytest.raises(DataError, match="no column 'touchpoint'. Did you mean 'touchpont'"):
        assign_stages(LOG.rename({"touchpoint": "touchpont"}), DEFAULT_JOURNEY_MAP)


def test_unmapped_touchpoints_are_reported():
    rep = unmapped_touchpoints(LOG, DEFAULT_JOURNEY_MAP)
    assert rep.height == 1
    row = rep.row(0, named=True)
    assert (row["touchpoint"], row["events"], row["customers"]) == ("fax_sent", 1, 1)
    assert row["share_of_events"] == pytest.approx(1 / 15)
    assert row["example_customers"] == ["c4"] and row["example_rows"] == [12]


def test_customer_journeys_by_hand():
    j = customer_journeys(assign_stages(LOG, DEFAULT_JOURNEY_MAP), as_of=T0 + dt.timedelta(days=20))
    r = {row["customer_id"]: row for row in j.iter_rows(named=True)}
    c1 = r["c1"]
    assert (c1["furthest_stage"], c1["current_stage"], c1["regressed"]) == (
        "advocacy",
        "advocacy",
        False,
    )
    # awareness d0 -> consideration d1 -> purchase d3 -> retention d10 -> advocacy d12 -> as_of d20
    assert [c1[f"days_in_{s}"] for s in STAGES] == [1.0, 2.0, 7.0, 2.0, 8.0]
    assert [c1[f"events_{s}"] for s in STAGES] == [1, 1, 1, 1, 1]
    assert c1["first_purchase_at"] == T0 + dt.timedelta(days=3)
    c2 = r["c2"]
    assert (c2["furthest_stage"], c2["current_stage"], c2["events_purchase"]) == (
        "purchase",
        "purchase",
        2,
    )
    assert c2["days_in_purchase"] == 19.0 and c2["days_in_awareness"] is None
    c3 = r["c3"]
    # back to a site visit after buying: regressed, current stage is consideration
    assert (c3["furthest_stage"], c3["current_stage"]) == ("purchase", "consideration")
    assert c3["regressed"] and c3["regressed_after_purchase"]
    # consideration first reached on d6, after purchase (d4): 0 days as furthest stage
    assert c3["days_in_consideration"] == 0.0 and c3["days_in_purchase"] == 16.0
    assert r["c4"]["n_unmapped"] == 1 and r["c4"]["n_events"] == 2
    assert j["customer_id"].to_list() == ["c1", "c2", "c3", "c4", "c5"]


def test_customer_journeys_as_of_cuts_later_events():
    j = customer_journeys(assign_stages(LOG, DEFAULT_JOURNEY_MAP), as_of=T0 + dt.timedelta(days=5))
    c1 = j.filter(pl.col("customer_id") == "c1").row(0, named=True)
    assert c1["furthest_stage"] == "purchase" and c1["n_events"] == 3
    c3 = j.filter(pl.col("customer_id") == "c3").row(0, named=True)
    assert not c3["regressed"]


def test_customer_journeys_needs_stage():
    with pytest.raises(DataError, match="assign_stages"):
        customer_journeys(LOG)


def test_stage_transitions_by_hand():
    tr = stage_transitions(assign_stages(LOG, DEFAULT_JOURNEY_MAP))
    d = {(r["from_stage"], r["to_stage"]): r for r in tr.iter_rows(named=True)}
    # starts: c1, c3, c4 in awareness; c2 in consideration; c5 in purchase
    assert d[("(start)", "awareness")]["transitions"] == 3
    assert d[("(start)", "consideration")]["transitions"] == 1
    # purchase -> retention (c1, c5) and purchase -> consideration (c3, a regression)
    assert d[("purchase", "retention")]["transitions"] == 2
    assert d[("purchase", "consideration")]["transitions"] == 1
    # c2's checkout + checkout_error collapse into one purchase visit that ends the journey
    assert d[("purchase", "(end)")]["transitions"] == 1
    # shares leaving purchase: retention 2, consideration 1, end 1 -> 2/4
    assert d[("purchase", "retention")]["share"] == pytest.approx(0.5)
    assert all(r["from_stage"] != r["to_stage"] for r in tr.iter_rows(named=True))
    raw = stage_transitions(assign_stages(LOG, DEFAULT_JOURNEY_MAP), collapse_repeats=False)
    assert (
        raw.filter((pl.col("from_stage") == "purchase") & (pl.col("to_stage") == "purchase"))[
            "transitions"
        ].item()
        == 1
    )


TOUCHPOINTS = ["ad_click", "site_visit", "checkout", "purchase", "delivery", "review", "fax"]


@st.composite
def logs(draw, max_customers: int = 4, max_events: int = 12):
    n = draw(st.integers(1, max_events))
    rows = [
        (
            f"k{draw(st.integers(0, max_customers - 1))}",
            draw(st.integers(0, 30)),
            draw(st.sampled_from(TOUCHPOINTS)),
        )
        for _ in range(n)
    ]
    return events(rows)


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(logs(max_customers=1))
def test_furthest_stage_never_goes_backwards(log):
    ordered = log.sort("timestamp", "source_row")
    prev = -1
    for i in range(1, ordered.height + 1):
        staged = assign_stages(ordered.head(i), DEFAULT_JOURNEY_MAP)
        j = customer_journeys(staged)
        f = j["furthest_stage"].to_physical().item()
        f = -1 if f is None else f
        assert f >= prev
        prev = f


@settings(max_examples=40, deadline=None)
@given(logs())
def test_transitions_conserve_customers(log):
    staged = assign_stages(log, DEFAULT_JOURNEY_MAP)
    tr = stage_transitions(staged)
    n = staged.filter(pl.col("stage").is_not_null())["customer_id"].n_unique()
    out_of = tr.group_by("from_stage").agg(pl.col("transitions").sum())
    into = tr.group_by("to_stage").agg(pl.col("transitions").sum())
    o = {str(k): v for k, v in out_of.iter_rows()}
    i = {str(k): v for k, v in into.iter_rows()}
    assert o.get("(start)", 0) == n == i.get("(end)", 0)
    for s in STAGES:  # every visit to a stage is left again (to a stage or the end)
        assert o.get(s, 0) == i.get(s, 0)
    if tr.height:
        sums = tr.group_by("from_stage").agg(pl.col("share").sum())["share"]
        assert all(abs(x - 1) < 1e-9 for x in sums)


def test_assign_stages_with_repeated_source_rows():
    # source_row repeated across customers (e.g. frames concatenated from several files):
    # the join fallback must give the same stages as unique rows do
    rep = LOG.with_columns(
        pl.int_range(1, pl.len() + 1).over("customer_id").cast(pl.UInt32).alias("source_row")
    )
    assert rep["source_row"].n_unique() < rep.height
    assert assign_stages(rep, DEFAULT_JOURNEY_MAP)["stage"].to_list() == (
        assign_stages(LOG, DEFAULT_JOURNEY_MAP)["stage"].to_list()
    )
    no_rows = assign_stages(LOG.drop("source_row"), DEFAULT_JOURNEY_MAP)
    assert no_rows["stage"].to_list() == assign_stages(LOG, DEFAULT_JOURNEY_MAP)["stage"].to_list()
