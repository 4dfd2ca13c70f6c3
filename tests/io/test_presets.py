"""Presets: ``cxlab init`` recognises GA4, Segment and Zendesk exports and maps them.

Each test writes a few rows by hand in the tool's shape; the expected values are worked out
in the comments. The end-to-end runs on bigger generated exports are in
tests/io/test_real_exports.py.
"""

from __future__ import annotations

import datetime as dt
import json
from datetime import UTC

import polars as pl
import pytest

from cxlab.cli import main
from cxlab.contract.client_config import read_client_config
from cxlab.errors import ParameterError
from cxlab.io.client import load_client
from cxlab.io.init import init_client
from cxlab.io.presets import PRESETS, detect_preset, get_preset


def _ga4_row(ts_us, name, user, session, platform="WEB", revenue=None):
    return {
        "event_date": "20240304",
        "event_timestamp": ts_us,
        "event_name": name,
        "event_params": [
            {
                "key": "page_location",
                "value": {"string_value": "https://x.example/", "int_value": None},
            },
            {"key": "ga_session_id", "value": {"string_value": None, "int_value": session}},
        ],
        "user_pseudo_id": user,
        "platform": platform,
        "ecommerce": {"purchase_revenue": revenue},
    }


def test_each_preset_is_recognised_by_its_signature_only():
    assert detect_preset(["event_timestamp", "event_name", "user_pseudo_id", "x"]).name == "ga4"
    assert detect_preset(["type", "event", "anonymousId", "timestamp"]).name == "segment"
    assert detect_preset(["Id", "Requester id", "Created at", "Via"]).name == "zendesk"
    # one signature column missing: no preset
    assert detect_preset(["event_timestamp", "event_name"]) is None
    assert detect_preset(["anonymousId", "event"]) is None
    # every preset's purchase touchpoints are in its purchase stage (or the default map's)
    for preset in PRESETS.values():
        for tp in preset.purchase_touchpoints:
            assert preset.journey_map.get(tp, "purchase") == "purchase", preset.name


def test_unknown_preset_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(
        ParameterError, match="one of ga4, segment, zendesk.*Did you mean 'segment'"
    ):
        get_preset("segmnt")
    src = tmp_path / "e.csv"
    src.write_text("customer_id,timestamp,touchpoint\nc1,2024-01-01,site_visit\n")
    code = main(["init", str(tmp_path / "c"), "--events", str(src), "--preset", "zendsk"])
    err = capsys.readouterr().err
    assert code == 2 and "Did you mean 'zendesk'" in err
    assert not (tmp_path / "c").exists()  # refused before anything was copied


@pytest.mark.parametrize("kind", ["ndjson", "parquet"])
def test_ga4_rows_by_hand(tmp_path, kind):
    # u1: page_view then purchase (19.99) in session 11; u2: one page_view on Android.
    # 1_709_510_400_000_000 µs = 1_709_510_400 s = 2024-03-04 00:00:00 UTC.
    t0 = 1_709_510_400_000_000
    rows = [
        _ga4_row(t0, "page_view", "u1", 11),
        _ga4_row(t0 + 90_000_000, "purchase", "u1", 11, revenue=19.99),  # + 90 s
        _ga4_row(t0 + 3_600_000_000, "page_view", "u2", 12, platform="ANDROID"),  # + 1 h
    ]
    src = tmp_path / f"ga4.{kind}"
    if kind == "ndjson":
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:  # BigQuery's Parquet export: the same nesting as typed structs and lists
        pl.DataFrame(rows).write_parquet(src)
    result = init_client(tmp_path / "c", src)
    assert result.left_to_fix == [], result.summary()
    assert "preset ga4" in result.summary()
    cfg = read_client_config(tmp_path / "c")
    assert cfg.settings["timestamp_unit"] == "us"
    assert cfg.columns["events"]["event_params[ga_session_id]"] == "session_id"
    assert cfg.journey_map["page_view"] == "consideration"  # the preset's stage, not a guess
    events = load_client(tmp_path / "c").events
    assert events.select(
        "customer_id", "touchpoint", "channel", "session_id", "revenue"
    ).rows() == [
        ("u1", "page_view", "WEB", "11", None),
        ("u1", "purchase", "WEB", "11", 19.99),
        ("u2", "page_view", "ANDROID", "12", None),
    ]
    assert events["timestamp"].to_list() == [
        dt.datetime(2024, 3, 4, 0, 0, 0, tzinfo=UTC),
        dt.datetime(2024, 3, 4, 0, 1, 30, tzinfo=UTC),
        dt.datetime(2024, 3, 4, 1, 0, 0, tzinfo=UTC),
    ]


def test_segment_rows_by_hand(tmp_path):
    # a1 browses anonymously, logs in as user_7, then orders (12.50): one customer, a1, because
    # the preset follows anonymousId; "Order Completed" is the purchase.
    rows = [
        ("Product Viewed", None, "a1", "2024-03-04T10:00:00.000Z", {}),
        ("Product Added", "user_7", "a1", "2024-03-04T10:05:00.250Z", {}),
        ("Order Completed", "user_7", "a1", "2024-03-04T10:09:00.000Z", {"revenue": 12.5}),
    ]
    src = tmp_path / "tracks.ndjson"
    src.write_text(
        "".join(
            json.dumps(
                {
                    "type": "track",
                    "event": e,
                    "userId": u,
                    "anonymousId": a,
                    "timestamp": t,
                    "properties": p,
                    "channel": "browser",
                }
            )
            + "\n"
            for e, u, a, t, p in rows
        )
    )
    result = init_client(tmp_path / "c", src)
    assert result.left_to_fix == [], result.summary()
    cfg = read_client_config(tmp_path / "c")
    assert cfg.purchase_touchpoints == ("Order Completed",)
    assert cfg.journey_map["Order Completed"] == "purchase"
    events = load_client(tmp_path / "c").events
    assert events.select("customer_id", "touchpoint", "channel", "revenue").rows() == [
        ("a1", "Product Viewed", "browser", None),
        ("a1", "Product Added", "browser", None),
        ("a1", "Order Completed", "browser", 12.5),
    ]
    assert events["timestamp"][1] == dt.datetime(2024, 3, 4, 10, 5, 0, 250_000, tzinfo=UTC)


def test_zendesk_rows_by_hand(tmp_path):
    # two tickets of requester 501 and one of 502; "+0200" is two hours ahead of UTC.
    # Ratings: Good (1), Bad (0), and "Offered" (asked, not answered: no answer at all).
    src = tmp_path / "tickets.csv"
    src.write_text(
        "Id,Requester id,Created at,Via,Satisfaction Score,Satisfaction Comment,Subject\n"
        "1,501,2024-03-04 09:00:00 +0000,email,Good,Quick,Where is my parcel\n"
        "2,501,2024-03-06 12:30:00 +0200,chat,Bad,,Refund please\n"
        "3,502,2024-03-05 08:00:00 +0000,voice,Offered,,Password\n"
    )
    result = init_client(tmp_path / "c", src)
    assert result.left_to_fix == [], result.summary()
    cfg = read_client_config(tmp_path / "c")
    assert cfg.journey_map["support_ticket"] == "retention"
    client = load_client(tmp_path / "c")
    events = client.events
    assert events.select("customer_id", "touchpoint", "channel").rows() == [
        ("501", "support_ticket", "email"),
        ("501", "support_ticket", "chat"),
        ("502", "support_ticket", "voice"),
    ]
    assert events["timestamp"][1] == dt.datetime(2024, 3, 6, 10, 30, tzinfo=UTC)  # 12:30 +02:00
    # the same file is the feedback: a binary question, Bad = 0 and Good = 1, "Offered" no
    # answer; ticket 1's comment rides on its rating
    answers = client.feedback.filter(pl.col("survey") == "binary")
    assert answers.select("customer_id", "score", "comment", "touchpoint").rows() == [
        ("501", 1, "Quick", "support_ticket"),
        ("501", 0, None, "support_ticket"),
    ]


def test_preset_none_and_explicit_preset(tmp_path):
    t0 = 1_709_510_400_000_000
    src = tmp_path / "ga4.ndjson"
    src.write_text(json.dumps(_ga4_row(t0, "page_view", "u1", 1)) + "\n")
    plain = init_client(tmp_path / "plain", src, preset="none", validate=False)
    assert "preset" not in plain.config_text
    named = init_client(tmp_path / "named", src, preset="ga4", validate=False)
    assert 'event_name = "touchpoint"  # preset ga4' in named.config_text
