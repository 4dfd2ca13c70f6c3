"""cxlab.io.outofcore gives exactly the in-memory numbers, whatever the number of parts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxlab.analysis import paths
from cxlab.analysis.heatmap import touchpoint_heatmap
from cxlab.analysis.journey import assign_stages, customer_journeys, stage_transitions
from cxlab.analysis.outofcore import analyze_client
from cxlab.analysis.stats import exact_sum
from cxlab.errors import DataError, ParameterError
from cxlab.io.client import load_client
from cxlab.io.outofcore import choose_partitions, scan_events
from cxlab.io.sample import write_sample_clients

PARTS = (1, 3, 7)


# --------------------------------------------------------------------------- sample client
@pytest.fixture(scope="module")
def bookshop(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ooc")
    write_sample_clients(root, customers=1500, clients=["bookshop"], file_format="parquet")
    return root / "bookshop"


@pytest.fixture(scope="module")
def in_memory(bookshop):
    c = load_client(bookshop)
    cfg = c.config
    st = assign_stages(c.events, cfg.journey_map, cfg.purchase_touchpoints)
    money = c.events.group_by("customer_id").agg(
        exact_sum("revenue").alias("revenue"),
        pl.col("touchpoint")
        .is_in(list(cfg.purchase_touchpoints))
        .sum()
        .cast(pl.Int64)
        .alias("n_purchases"),
    )
    return {
        "client": c,
        "customers": customer_journeys(st).join(money, on="customer_id", how="left"),
        "stage_transitions": stage_transitions(st),
        "heatmap": touchpoint_heatmap(st),
        "transitions": paths.transitions(c.events),
    }


@pytest.fixture(scope="module", params=PARTS, ids=[f"P={p}" for p in PARTS])
def result(request, bookshop):
    return analyze_client(bookshop, partitions=request.param)


def test_partitions_as_asked(result):
    assert result.partitions in PARTS


def test_rows_are_conserved(result, in_memory):
    c = in_memory["client"]
    assert result.loaded == c.events.height
    assert result.input_rows == result.loaded + result.set_aside["rows"].sum()
    assert result.input_rows == c.validation.tables[0].input_rows


def test_set_aside_counts_equal_the_loader(result, in_memory, bookshop):
    loader = (
        in_memory["client"]
        .set_aside["events"]
        .group_by("reason", "column")
        .agg(
            pl.len().cast(pl.Int64).alias("rows"),
            pl.col("source_row").sort().head(5).alias("examples"),
        )
    )
    assert_frame_equal(result.set_aside.sort("reason", "column"), loader.sort("reason", "column"))
    # and the planted dirty rows of the sample
    truth = json.loads((bookshop / "truth.json").read_text())["dirty_rows"]["events"]
    got = dict(result.set_aside.select("reason", "rows").iter_rows())
    assert got == {k: v for k, v in truth.items() if k != "unknown_touchpoint"}
    assert result.unknown_touchpoints["rows"].sum() == truth["unknown_touchpoint"]


def test_report_matches_the_loader_wording(result, in_memory):
    ours = {
        (i.reason, i.column, i.rows, i.examples, i.message) for i in result.report.set_aside_issues
    }
    theirs = {
        (i.reason, i.column, i.rows, i.examples, i.message)
        for i in in_memory["client"].validation.set_aside_issues
        if i.table == "events"
    }
    assert ours == theirs
    unknown = next(i for i in result.report.warnings if i.reason == "unknown_touchpoint")
    loader = next(
        i for i in in_memory["client"].validation.warnings if i.reason == "unknown_touchpoint"
    )
    assert (unknown.rows, unknown.values, unknown.examples, unknown.message) == (
        loader.rows,
        loader.values,
        loader.examples,
        loader.message,
    )


def test_customer_table_equals_customer_journeys(result, in_memory):
    assert_frame_equal(result.customers, in_memory["customers"])


def test_stage_transitions_equal(result, in_memory):
    assert_frame_equal(result.stage_transitions, in_memory["stage_transitions"])


def test_heatmap_counts_equal(result, in_memory):
    expected = in_memory["heatmap"].select(result.heatmap.columns)
    assert_frame_equal(result.heatmap, expected)


def test_touchpoint_transitions_equal(result, in_memory):
    tr = in_memory["transitions"]
    cols = ["source", "target", "events", "customers", "probability", "share"]
    assert_frame_equal(result.transitions.select(cols), tr.select(cols), check_dtypes=False)
    # means from integer microsecond sums: equal up to the last bits of a float mean
    assert_frame_equal(
        result.transitions.select("mean_seconds"), tr.select("mean_seconds"), rel_tol=1e-12
    )


def test_out_dir_writes_customer_parts(bookshop, in_memory, tmp_path):
    res = analyze_client(bookshop, partitions=3, out_dir=tmp_path)
    assert isinstance(res.customers, pl.LazyFrame)
    assert len(list((tmp_path / "customers").glob("part-*.parquet"))) == 3
    assert_frame_equal(res.customers.collect().sort("customer_id"), in_memory["customers"])


def test_scan_flags_row_reasons_lazily(bookshop):
    scan = scan_events(bookshop)
    assert isinstance(scan.frame, pl.LazyFrame)
    counts = dict(scan.frame.group_by("set_aside_reason").len().collect().drop_nulls().iter_rows())
    assert counts == {"null_customer_id": 2}  # duplicates are found per part, not in the scan
    assert scan.key == [
        "customer_id",
        "timestamp",
        "touchpoint",
        "channel",
        "session_id",
        "revenue",
    ]


# --------------------------------------------------------------------------- hand-checkable
def _client(folder: Path, csv: str, extra_toml: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "client.toml").write_text(
        'name = "Hand"\nstart_date = 2024-01-01\nas_of = 2024-12-31T00:00:00Z\n'
        f'[files]\nevents = "events.csv"\n{extra_toml}'
    )
    (folder / "events.csv").write_text(csv)
    return folder


HAND = (
    "customer_id,timestamp,touchpoint,channel,revenue\n"
    "a,2024-03-01 10:00:00,ad_click,web,\n"  # 1  a: awareness
    "a,2024-03-01 11:00:00,site_visit,web,\n"  # 2  a: consideration
    "a,2024-03-01 12:00:00,purchase,web,20\n"  # 3  a: purchase (first)
    "a,2024-03-01 12:00:00,purchase,web,20\n"  # 4  duplicate of row 3: set aside
    "a,2024-03-05 12:00:00,purchase,web,5.5\n"  # 5  a: retention (repeat purchase)
    "b,2024-03-02 09:00:00,site_visit,app,\n"  # 6  b: consideration
    "b,2024-03-02 09:30:00,fax,app,\n"  # 7  b: unknown touchpoint, kept
    ",2024-03-02 10:00:00,site_visit,app,\n"  # 8  no customer: set aside
    "c,not a time,site_visit,web,\n"  # 9  unparsable time: set aside
    "c,2024-03-03 08:00:00,,web,\n"  # 10 no touchpoint: set aside
    "c,2024-03-03 09:00:00,purchase,web,-3\n"  # 11 negative revenue: set aside
    "c,2023-12-31 09:00:00,site_visit,web,\n"  # 12 before start_date: set aside
    "c,2025-06-01 09:00:00,site_visit,web,\n"  # 13 after as_of: set aside
    "c,2024-03-04 09:00:00,site_visit,web,\n"  # 14 c: consideration
)


@pytest.mark.parametrize("parts", PARTS)
def test_hand_checked_client(tmp_path, parts):
    # duplicate_events = "drop": row 4 is set aside (the default keeps repeated events)
    drop = '[validation]\nduplicate_events = "drop"\n'
    res = analyze_client(_client(tmp_path / "hand", HAND, drop), partitions=parts)
    assert (res.input_rows, res.loaded) == (14, 7)
    assert res.set_aside.select("reason", "rows", "examples").rows() == [
        ("null_customer_id", 1, [8]),
        ("unparsable_timestamp", 1, [9]),
        ("missing_touchpoint", 1, [10]),
        ("negative_revenue", 1, [11]),
        ("before_start", 1, [12]),
        ("future_timestamp", 1, [13]),
        ("duplicate_event", 1, [4]),
    ]
    assert res.unknown_touchpoints.rows() == [("fax", 1)]
    cust = res.customers.select(
        "customer_id", "n_events", "n_unmapped", "furthest_stage", "revenue", "n_purchases"
    )
    assert cust.rows() == [
        ("a", 4, 0, "retention", 25.5, 2),
        ("b", 2, 1, "consideration", 0.0, 0),
        ("c", 1, 0, "consideration", 0.0, 0),
    ]
    a = res.customers.row(0, named=True)
    assert a["first_purchase_at"] == dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    assert a["first_retention_at"] == dt.datetime(2024, 3, 5, 12, tzinfo=dt.UTC)
    # stage visits: a = awareness, consideration, purchase, retention; b = consideration; c = consideration
    st = {
        (f, t): n
        for f, t, n in res.stage_transitions.select("from_stage", "to_stage", "transitions").rows()
    }
    assert st == {
        ("(start)", "awareness"): 1,
        ("(start)", "consideration"): 2,
        ("awareness", "consideration"): 1,
        ("consideration", "purchase"): 1,
        ("purchase", "retention"): 1,
        ("retention", "(end)"): 1,
        ("consideration", "(end)"): 2,
    }
    # consideration: site_visit by a, b, c (3 events, 3 customers); a went further, b and c did not
    sv = res.heatmap.filter(pl.col("touchpoint") == "site_visit").row(0, named=True)
    assert (sv["events"], sv["customers"], sv["stage_customers"], sv["reach"], sv["intensity"]) == (
        3,
        3,
        3,
        1.0,
        1.0,
    )
    assert (sv["n_touched"], sv["dropped_touched"], sv["n_not_touched"]) == (3, 2, 0)
    pur = res.heatmap.filter(pl.col("touchpoint") == "purchase").select("stage", "events").rows()
    assert pur == [("purchase", 1), ("retention", 1)]
    # a: ad_click -> site_visit (1 h) -> purchase (1 h) -> purchase (4 days); b: site_visit -> fax (30 min)
    tr = res.transitions.select("source", "target", "events", "mean_seconds").rows()
    assert tr == [
        ("ad_click", "site_visit", 1, 3600.0),
        ("purchase", "purchase", 1, 345600.0),
        ("site_visit", "fax", 1, 1800.0),
        ("site_visit", "purchase", 1, 3600.0),
    ]


def test_hand_checked_client_equals_loader(tmp_path):
    folder = _client(tmp_path / "hand", HAND)
    res = analyze_client(folder, partitions=2)
    c = load_client(folder)
    assert res.loaded == c.events.height
    loader = c.set_aside["events"].group_by("reason").len().sort("reason")
    assert_frame_equal(
        res.set_aside.group_by("reason").agg(pl.col("rows").sum()).sort("reason"),
        loader.rename({"len": "rows"}),
        check_dtypes=False,
    )


def test_untidy_text_is_stripped_like_the_loader(tmp_path):
    csv = (
        "customer_id,timestamp,touchpoint,channel\n"
        " a ,2024-03-01 10:00,ad_click,web\n"
        "a,2024-03-01 11:00,purchase,web\n"
        "  ,2024-03-01 12:00,purchase,web\n"
    )
    res = analyze_client(_client(tmp_path / "untidy", csv), partitions=3)
    assert res.customers.select("customer_id", "n_events").rows() == [("a", 2)]
    assert res.set_aside.select("reason", "rows").rows() == [("null_customer_id", 1)]


# --------------------------------------------------------------------------- errors
def _same_error(folder: Path, pattern: str) -> None:
    """analyze_client raises DataError with exactly the loader's message, which matches pattern."""
    with pytest.raises(DataError, match=pattern) as ours:
        analyze_client(folder)
    with pytest.raises(DataError) as theirs:
        load_client(folder)
    assert str(ours.value) == str(theirs.value)


def test_missing_column_raises_the_loader_message(tmp_path):
    folder = _client(tmp_path / "bad", "customer_id,timestamp,channel\na,2024-03-01,web\n")
    _same_error(folder, r"events\.csv: required column 'touchpoint' not found.*\[columns\.events\]")


def test_missing_mapped_column_names_file_and_fix(tmp_path):
    folder = _client(
        tmp_path / "bad",
        "Customer Rf,timestamp,touchpoint,channel\na,2024-03-01,ad_click,web\n",
        '[columns.events]\n"Customer Ref" = "customer_id"\n',
    )
    _same_error(
        folder,
        r"events\.csv: column 'Customer Ref' .* is not in the file\. Did you mean 'Customer Rf'\?",
    )


def test_missing_file(tmp_path):
    folder = _client(tmp_path / "gone", "x\n")
    (folder / "events.csv").unlink()
    _same_error(folder, r"the events file does not exist.*Fix the file name under \[files\]")


def test_header_without_rows(tmp_path):
    folder = _client(tmp_path / "empty", "customer_id,timestamp,touchpoint,channel\n")
    _same_error(folder, "header but no data rows")


def test_unreadable_parquet(tmp_path):
    folder = _client(tmp_path / "broken", "x\n", "")
    (folder / "client.toml").write_text('name = "B"\n[files]\nevents = "events.parquet"\n')
    (folder / "events.parquet").write_bytes(b"PAR1 this is not parquet")
    _same_error(folder, r"events\.parquet: cannot be read as a Parquet file")


def test_warnings_equal_the_loader(tmp_path):
    # Europe/London: 2024-03-31 01:30 does not exist (clocks go 01:00 -> 02:00); one time has an offset
    csv = (
        "customer_id,timestamp,touchpoint,channel\n"
        "a,2024-03-31 01:30:00,ad_click,web\n"
        "a,2024-03-31 09:00:00+02:00,site_visit,web\n"
        "b,2024-04-01 10:00:00,teleport,web\n"
    )
    folder = _client(tmp_path / "tz", csv)
    (folder / "client.toml").write_text(
        'name = "TZ"\ntimezone = "Europe/London"\nas_of = 2024-12-31\n'
        '[files]\nevents = "events.csv"\n'
    )
    res = analyze_client(folder, partitions=2)
    loader = load_client(folder).validation.warnings
    key = [(i.reason, i.rows, i.examples, i.message, i.values) for i in res.report.warnings]
    assert {k[0] for k in key} == {
        "mixed_timezones",
        "nonexistent_local_time",
        "unknown_touchpoint",
    }
    assert key == [(i.reason, i.rows, i.examples, i.message, i.values) for i in loader]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_partitions(tmp_path, bad):
    with pytest.raises(ParameterError, match="'partitions'"):
        analyze_client(_client(tmp_path / "p", HAND), partitions=bad)


def test_choose_partitions():
    assert choose_partitions(0) == 1
    assert choose_partitions(8_000_001, 4_000_000) == 3
    with pytest.raises(ParameterError):
        choose_partitions(10, 0)
