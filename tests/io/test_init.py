"""``cxlab init``: the inspection functions and the command on four export shapes."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from cxlab.cli import main
from cxlab.contract.client_config import read_client_config
from cxlab.errors import ParameterError
from cxlab.io.client import load_client
from cxlab.io.init import detect_time_format, propose_mapping, suggest_stages

UTC = dt.UTC


@pytest.mark.parametrize(
    ("values", "kind", "fmt", "unit"),
    [
        (["2024-03-01T10:00:00Z", "2024-03-02 11:00"], "iso", None, None),
        # US: 03/14 has month 3, day 14 → month first; 12-hour clock with AM/PM
        (
            ["03/14/2024 02:05:09 PM", "12/01/2024 11:00:00 AM"],
            "format",
            "%m/%d/%Y %I:%M:%S %p",
            None,
        ),
        # European: 25/12 can only be day first
        (["25/12/2024 18:30", "01/02/2024 09:00"], "format", "%d/%m/%Y %H:%M", None),
        (["31.01.2024 08:00"], "format", "%d.%m.%Y %H:%M", None),
        # epochs: 1.7e9 s, 1.7e12 ms, 1.7e15 µs (GA4), 1.7e18 ns are all late 2023
        ([1_700_000_000], "epoch", None, "s"),
        ([1_700_000_000_000], "epoch", None, "ms"),
        ([1_700_000_000_000_000], "epoch", None, "us"),
        ([1_700_000_000_000_000_000], "epoch", None, "ns"),
        (["1700000000000"], "epoch", None, "ms"),
        (["soon", "later"], "unknown", None, None),
    ],
)
def test_detect_time_format(values, kind, fmt, unit):
    got = detect_time_format(pl.Series(values))
    assert (got.kind, got.format, got.unit) == (kind, fmt, unit)


def test_ambiguous_day_month_is_flagged():
    # no day above 12: both orders read every value; month first is assumed and said
    got = detect_time_format(pl.Series(["03/04/2024 10:00", "05/06/2024 11:00"]))
    assert got.format == "%m/%d/%Y %H:%M" and "cannot be told apart" in got.note


def test_propose_mapping_reasons_and_missing_required():
    frame = pl.DataFrame(
        {"Visitor ID": ["v1", "v2"], "When": ["2024-01-01", "2024-01-02"], "Medium": ["web", "app"]}
    )
    p = propose_mapping(frame)
    assert p.mapping == {"Visitor ID": "customer_id", "When": "timestamp", "Medium": "channel"}
    assert p.unmapped_required == ("touchpoint",)
    assert "looks like" in p.columns["channel"][1]
    with pytest.raises(ParameterError, match="table must be one of"):
        propose_mapping(frame, "orders")


def test_suggest_stages_by_position_against_first_purchase():
    # a: promo_seen, purchase, parcel_tracked, review_left; b: promo_seen, wishlist (no purchase)
    # promo_seen: both before, and both customers' first event → awareness
    # wishlist: before (no purchase) and not b's first event → consideration
    # parcel_tracked: after a's purchase → retention; review_left: after, a review → advocacy
    ev = pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "b"],
            "timestamp": [1, 2, 3, 4, 1, 2],
            "touchpoint": [
                "promo_seen",
                "purchase",
                "parcel_tracked",
                "review_left",
                "promo_seen",
                "wishlist",
            ],
        }
    )
    got = {k: v[0] for k, v in suggest_stages(ev).items()}
    assert got == {
        "parcel_tracked": "retention",
        "promo_seen": "awareness",
        "review_left": "advocacy",
        "wishlist": "consideration",
    }


def _init(tmp_path, capsys, *args):
    code = main(["init", str(tmp_path / "client"), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_init_plain_csv_with_us_dates(tmp_path, capsys):
    src = tmp_path / "export.csv"
    src.write_text(
        "Customer Ref,Event Time,Action,Medium,Order Total\n"
        "C-1,03/14/2024 02:05 PM,site_visit,web,\n"
        "C-1,03/14/2024 02:15 PM,gift_wrap,web,\n"
        "C-1,03/15/2024 09:00 AM,purchase,web,25.50\n"
        "C-2,03/16/2024 11:30 AM,site_visit,app,\n"
    )
    code, out = _init(tmp_path, capsys, "--events", str(src), "--timezone", "America/New_York")
    assert code == 0, out
    folder = tmp_path / "client"
    cfg = read_client_config(folder)
    assert cfg.columns["events"] == {
        "Customer Ref": "customer_id",
        "Event Time": "timestamp",
        "Action": "touchpoint",
        "Medium": "channel",
        "Order Total": "revenue",
    }
    assert cfg.timestamp_formats == ("%m/%d/%Y %I:%M %p",)
    # gift_wrap happens before C-1's first purchase → consideration, marked for review
    assert cfg.journey_map["gift_wrap"] == "consideration"
    assert "REVIEW" in (folder / "client.toml").read_text()
    client = load_client(folder)
    # 02:05 PM in New York (EDT, UTC-4 from 10 March 2024) is 18:05 UTC
    assert client.events["timestamp"][0] == dt.datetime(2024, 3, 14, 18, 5, tzinfo=UTC)
    assert client.events["revenue"].to_list() == [None, None, 25.5, None]
    # a second init refuses to overwrite without --force
    code, out = _init(tmp_path, capsys, "--events", str(src))
    assert code == 2 and "--force" in out


def test_init_parquet_with_epoch_microseconds(tmp_path, capsys):
    src = tmp_path / "ga4.parquet"
    pl.DataFrame(
        {
            "user_pseudo_id": ["u1", "u1", "u2"],
            "event_timestamp": [
                1_700_000_000_000_000,
                1_700_000_060_000_000,
                1_700_000_120_000_000,
            ],
            "event_name": ["page_view", "purchase", "page_view"],
            "platform": ["WEB", "WEB", "ANDROID"],
        }
    ).write_parquet(src)
    code, out = _init(tmp_path, capsys, "--events", str(src))
    assert code == 0, out
    cfg = read_client_config(tmp_path / "client")
    assert cfg.settings["timestamp_unit"] == "us"
    client = load_client(tmp_path / "client")
    # 1_700_000_000 s after 1970-01-01 UTC = 2023-11-14 22:13:20 UTC
    assert client.events["timestamp"].to_list()[0] == dt.datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=UTC
    )
    assert client.events["channel"].to_list() == ["WEB", "WEB", "ANDROID"]


def test_init_ndjson_with_nested_properties(tmp_path, capsys):
    src = tmp_path / "segment.ndjson"
    rows = [
        {
            "userId": "u1",
            "event": "Product Viewed",
            "properties": {"time": 1_700_000_000_000, "channel": "web"},
        },
        {
            "userId": "u1",
            "event": "purchase",
            "properties": {"time": 1_700_000_100_000, "channel": "web"},
        },
        {
            "userId": "u2",
            "event": "Product Viewed",
            "properties": {"time": 1_700_000_200_000, "channel": "app"},
        },
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out = _init(tmp_path, capsys, "--events", str(src))
    assert code == 0, out
    cfg = read_client_config(tmp_path / "client")
    assert cfg.columns["events"] == {
        "userId": "customer_id",
        "properties.time": "timestamp",
        "event": "touchpoint",
        "properties.channel": "channel",
    }
    assert cfg.settings["timestamp_unit"] == "ms"
    assert cfg.journey_map["Product Viewed"] == "awareness"  # both customers' first event
    client = load_client(tmp_path / "client")
    assert client.events.select("touchpoint", "channel").rows() == [
        ("Product Viewed", "web"),
        ("purchase", "web"),
        ("Product Viewed", "app"),
    ]


def test_init_purchase_log_without_event_or_channel(tmp_path, capsys):
    src = tmp_path / "orders.csv"
    src.write_text("user,date,amount\n1,1997-01-01,11.77\n1,1997-01-12,12.00\n2,1998-06-30,20.76\n")
    code, out = _init(tmp_path, capsys, "--events", str(src))
    assert code == 0, out
    assert 'touchpoint = "purchase"' in out or "no event column" in out
    client = load_client(tmp_path / "client")
    assert client.events.select("touchpoint", "channel").unique().rows() == [
        ("purchase", "unknown")
    ]
    assert client.events["revenue"].to_list() == [11.77, 12.0, 20.76]


def test_init_without_files_is_a_clear_error(tmp_path, capsys):
    code, out = _init(tmp_path, capsys)
    assert code == 2 and "--events FILE" in out
