"""A frame cxlab prepared, then changed in place, is never analysed with its old customer order.

polars DataFrames are immutable except for ``replace_column`` and ``df[row, col] = value``,
which swap a column inside the same object. cxlab trusts the frames it prepared itself
(:func:`cxlab.contract.prepare.vouch`) without re-checking their codes, so it must notice
such a swap: the record keeps the memory identity of the key columns
(:func:`cxlab.contract._arrow.column_identity`) and a swapped column has new memory.

The log (one line per event; a reader can count by hand):

    customer  session  day  touchpoint
    a         s1       1    ad_click
    a         s1       2    purchase
    a         s2       5    site_visit
    b         s3       3    ad_click

Per customer: a has 3 events, b has 1. Per session: s1 has 2, s2 has 1, s3 has 1.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxlab.analysis.journey import assign_stages, customer_journeys
from cxlab.contract._arrow import column_identity
from cxlab.contract.prepare import (
    customer_order,
    plan,
    prepare_events,
    vouch_state,
    vouched,
)
from cxlab.events import as_events

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
MAP = {"ad_click": "awareness", "site_visit": "consideration", "purchase": "purchase"}


@pytest.fixture
def prepared() -> pl.DataFrame:
    ev = pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "session_id": ["s1", "s1", "s2", "s3"],
            "timestamp": [T0 + dt.timedelta(days=d) for d in (1, 2, 5, 3)],
            "touchpoint": ["ad_click", "purchase", "site_visit", "ad_click"],
            "channel": ["web"] * 4,
            "source_row": pl.Series([1, 2, 3, 4], dtype=pl.UInt32),
        }
    )
    p = prepare_events(ev)
    assert vouched(p)  # cxlab prepared it: trusted without a check
    return p


def replace(frame: pl.DataFrame, name: str, values: pl.Series) -> None:
    """``frame[name] = values``, in place (the same object afterwards)."""
    frame.replace_column(frame.get_column_index(name), values.alias(name))


def events_per_customer(frame: pl.DataFrame) -> list[tuple[str, int]]:
    journeys = customer_journeys(assign_stages(frame, MAP, ["purchase"]))
    return journeys.select("customer_id", "n_events").rows()


def test_customer_id_replaced_by_session_id_in_place_gives_per_session_results(prepared):
    assert events_per_customer(prepared) == [("a", 3), ("b", 1)]
    same_object = id(prepared)
    replace(prepared, "customer_id", prepared.get_column("session_id"))
    assert id(prepared) == same_object and vouch_state(prepared) == "changed"
    # one row per session now (s1: 2 events, s2: 1, s3: 1), as for a frame never prepared
    assert events_per_customer(prepared) == [("s1", 2), ("s2", 1), ("s3", 1)]


def test_one_cell_set_in_place_is_seen(prepared):
    # the last event of a (row 2 of the prepared frame, in customer order) becomes c's
    prepared[2, "customer_id"] = "c"
    assert vouch_state(prepared) == "changed"
    codes = as_events(prepared).select("customer_id", "_cx_cid").rows()
    assert codes == [("a", 0), ("a", 0), ("b", 1), ("c", 2)]


def test_timestamps_replaced_in_place_reorder_the_events(prepared):
    # codes_match cannot see changed timestamps; the in-place record does. a's purchase
    # (day 2) moves to day 9, after the site visit (day 5): a's path is now
    # ad_click, site_visit, purchase.
    new = prepared.get_column("timestamp").set(
        prepared.get_column("touchpoint").cast(pl.String) == "purchase", T0 + dt.timedelta(days=9)
    )
    replace(prepared, "timestamp", new)
    ev = as_events(prepared)
    assert ev is not prepared
    path = ev.sort("_cx_seq").filter(pl.col("customer_id") == "a")["touchpoint"].cast(pl.String)
    assert path.to_list() == ["ad_click", "site_visit", "purchase"]


def test_a_second_replacement_still_counts_as_changed(prepared):
    # The record keeps the first customer_id alive, so a later column cannot take over its
    # memory and look like the original.
    replace(prepared, "customer_id", prepared.get_column("session_id"))
    replace(prepared, "customer_id", pl.Series(["x", "x", "y", "y"]))
    assert vouch_state(prepared) == "changed"
    assert as_events(prepared).select("customer_id", "_cx_cid").unique().sort("_cx_cid").rows() == [
        ("x", 0),
        ("y", 1),
    ]


def test_unchanged_and_untouched_columns_keep_the_frame_trusted(prepared):
    # replacing a column that is not a key (channel, same dtype) keeps the codes valid
    replace(prepared, "channel", pl.Series(["web"] * 4, dtype=prepared.schema["channel"]))
    assert vouch_state(prepared) == "same"
    assert as_events(prepared) is prepared


def test_a_planned_order_is_not_reused_after_an_in_place_change():
    ev = pl.DataFrame(
        {
            "customer_id": ["b", "a", "b"],
            "session_id": ["s9", "s1", "s2"],
            "timestamp": [T0, T0, T0],
            "source_row": pl.Series([1, 2, 3], dtype=pl.UInt32),
        }
    )
    order, codes, keys = customer_order(ev["customer_id"], ev["timestamp"], ev["source_row"])
    plan(ev, order, codes, keys)
    replace(ev, "customer_id", ev.get_column("session_id"))
    # the recorded order (a, b, b) would give ['a', 'b', 'b']; the current column sorts s1, s2, s9
    assert prepare_events(ev)["customer_id"].to_list() == ["s1", "s2", "s9"]


def test_column_identity_follows_memory_not_values():
    s = pl.Series("customer_id", ["a", "b"])
    assert column_identity(s) == column_identity(pl.DataFrame([s]).get_column(s.name))
    # equal values in other memory: another identity (that is what a replacement makes)
    assert column_identity(s) != column_identity(pl.Series(["a", "b"]))
    assert column_identity(s) != column_identity(s.slice(1, 1))
