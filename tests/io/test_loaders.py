"""Loaders: every format gives the same canonical frame; bad inputs raise DataError naming the
file and the column/row; soft problems are set aside with reasons and row numbers."""

from __future__ import annotations

import datetime as dt
import gzip
import io

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cxlab.contract.prepare import customer_keys, prepare_events
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP, TIMESTAMP_DTYPE
from cxlab.errors import DataError
from cxlab.io.loaders import load_customers, load_events, load_feedback

UTC = dt.UTC
AS_OF = dt.date(2025, 1, 1)

# Three events. By hand: row 1 is 09:00Z = 09:00 UTC; row 2 is 11:30 at +01:00 = 10:30 UTC;
# row 3 is 08:30 at +00:00 = 08:30 UTC.
GOOD_CSV = """customer_id,timestamp,touchpoint,channel,session_id,revenue,campaign
c1,2024-03-01T09:00:00Z,site_visit,web,s1,,spring
c1,2024-03-01 11:30:00+01:00,purchase,web,s1,25.5,spring
c2,2024-03-02 08:30+00:00,ad_click,social,,,
"""


def _strings() -> pl.DataFrame:
    return pl.read_csv(io.StringIO(GOOD_CSV), infer_schema=False)


def _write(path, df: pl.DataFrame, kind: str, gz: bool):
    buf = io.BytesIO()
    if kind == "csv":
        df.write_csv(buf)
    elif kind == "tsv":
        df.write_csv(buf, separator="\t")
    elif kind == "parquet":
        df.write_parquet(buf)
    else:
        df.write_ndjson(buf)
    data = buf.getvalue()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


EXPECTED = pl.DataFrame(
    {
        "customer_id": ["c1", "c1", "c2"],
        "timestamp": [
            dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
            dt.datetime(2024, 3, 1, 10, 30, tzinfo=UTC),
            dt.datetime(2024, 3, 2, 8, 30, tzinfo=UTC),
        ],
        "touchpoint": ["site_visit", "purchase", "ad_click"],
        "channel": ["web", "web", "social"],
        "session_id": ["s1", "s1", None],
        "revenue": [None, 25.5, None],
        "source_row": pl.Series([1, 2, 3], dtype=pl.UInt32),
        "campaign": ["spring", "spring", None],
    },
    schema_overrides={"timestamp": TIMESTAMP_DTYPE, "revenue": pl.Float64},
)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("kind", "ext"),
    [
        ("csv", "csv"),
        ("tsv", "tsv"),
        ("parquet", "parquet"),
        ("ndjson", "ndjson"),
        ("ndjson", "jsonl"),
    ],
)
def test_every_format_gives_the_same_canonical_frame(tmp_path, kind, ext, gz):
    path = _write(tmp_path / f"events.{ext}{'.gz' if gz else ''}", _strings(), kind, gz)
    res = load_events(path, as_of=AS_OF)
    assert res.input_rows == 3 and res.set_aside.height == 0 and res.issues == ()
    assert res.frame.equals(EXPECTED), res.frame


def test_typed_parquet_matches_text(tmp_path):
    # Parquet written with real types (tz-aware datetimes, floats) loads to the same frame.
    path = tmp_path / "events.parquet"
    EXPECTED.drop("source_row").write_parquet(path)
    assert load_events(path, as_of=AS_OF).frame.equals(EXPECTED)


def test_naive_parquet_datetimes_are_read_in_client_timezone(tmp_path):
    path = tmp_path / "events.parquet"
    pl.DataFrame(
        {
            "customer_id": ["a"],
            "timestamp": [dt.datetime(2024, 7, 1, 12, 0)],
            "touchpoint": ["purchase"],
            "channel": ["web"],
        }
    ).write_parquet(path)
    # Paris in July is UTC+2: 12:00 local = 10:00 UTC.
    res = load_events(path, timezone="Europe/Paris", as_of=AS_OF)
    assert res.frame["timestamp"].to_list() == [dt.datetime(2024, 7, 1, 10, 0, tzinfo=UTC)]


def test_mapping_and_separator_override(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("Who;When;What;Where;Spend\nc1;01/03/2024 09:15;purchase;store;12,5\n")
    with pytest.raises(DataError, match="revenue"):  # decimal comma is not a number
        load_events(
            path,
            {
                "Who": "customer_id",
                "When": "timestamp",
                "What": "touchpoint",
                "Where": "channel",
                "Spend": "revenue",
            },
            separator=";",
            timestamp_formats=["%d/%m/%Y %H:%M"],
            as_of=AS_OF,
            strict=True,
        )
    path.write_text("Who;When;What;Where\nc1;01/03/2024 09:15;purchase;store\n")
    res = load_events(
        path,
        {"Who": "customer_id", "When": "timestamp", "What": "touchpoint", "Where": "channel"},
        separator=";",
        timestamp_formats=["%d/%m/%Y %H:%M"],
        as_of=AS_OF,
    )
    assert res.frame["timestamp"].to_list() == [dt.datetime(2024, 3, 1, 9, 15, tzinfo=UTC)]
    assert "revenue" in res.frame.columns and "session_id" not in res.frame.columns


def test_timezones_by_hand(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,timestamp,touchpoint,channel\n"
        "a,2024-03-31 01:30,site_visit,web\n"  # in London's spring-forward gap (01:00->02:00)
        "a,2024-03-31 03:00,site_visit,web\n"  # BST (UTC+1) -> 02:00 UTC
        "a,2024-01-15 09:00,site_visit,web\n"  # GMT (UTC+0) -> 09:00 UTC
        "a,2024-10-27 01:30,site_visit,web\n"  # autumn repeat: first occurrence, BST -> 00:30 UTC
    )
    res = load_events(path, timezone="Europe/London", as_of=AS_OF)
    got = res.frame["timestamp"].to_list()
    assert got == [
        # the gap time uses the offset before the change (GMT, +0), as Python's zoneinfo does
        dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
        dt.datetime(2024, 3, 31, 2, 0, tzinfo=UTC),
        dt.datetime(2024, 1, 15, 9, 0, tzinfo=UTC),
        dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
    ]
    gap = [i for i in res.issues if i.reason == "nonexistent_local_time"]
    assert len(gap) == 1 and gap[0].examples == (1,) and gap[0].severity == "warning"

    path.write_text(
        "customer_id,timestamp,touchpoint,channel\na,2024-03-31T03:00:00+02:00,site_visit,web\n"
    )
    # 03:00 at +02:00 = 01:00 UTC, whatever the client's timezone.
    res = load_events(path, timezone="Europe/London", as_of=AS_OF)
    assert res.frame["timestamp"].to_list() == [dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC)]


# --------------------------------------------------------------------------- bad inputs
EV_HEAD = "customer_id,timestamp,touchpoint,channel"
FB_HEAD = "customer_id,timestamp,survey,score"


def _text(content: str):
    return lambda p: p.write_text(content, encoding="utf-8")


def _bytes(content: bytes):
    return lambda p: p.write_bytes(content)


def _corrupt_parquet(p):
    buf = io.BytesIO()
    pl.DataFrame({"customer_id": ["a"] * 50}).write_parquet(buf)
    p.write_bytes(buf.getvalue()[:-30])


BAD = [
    # id, file name, writer, loader, kwargs, fragments the message must contain
    (
        "missing column",
        "events.csv",
        _text("customer_id,timestamp,channel\na,2024-01-01,x\n"),
        load_events,
        {},
        ["'touchpoint' not found", "[columns.events]"],
    ),
    (
        "misspelt column",
        "events.csv",
        _text("custmer_id,timestamp,touchpoint,channel\na,2024-01-01,x,web\n"),
        load_events,
        {},
        ["'customer_id'", "Did you mean 'custmer_id'", '"custmer_id" = "customer_id"'],
    ),
    (
        "bad mapping source",
        "events.csv",
        _text(f"{EV_HEAD}\na,2024-01-01,x,web\n"),
        load_events,
        {"mapping": {"Cust Ref": "customer_id"}},
        ["'Cust Ref'", "[columns.events]"],
    ),
    (
        "unparsable timestamp",
        "events.csv",
        _text(f"{EV_HEAD}\na,2024-01-01,x,web\nb,yesterday,x,web\n"),
        load_events,
        {"strict": True},
        ["column 'timestamp'", "first rows 2", "'yesterday'"],
    ),
    ("empty file", "events.csv", _text(""), load_events, {}, ["0 bytes"]),
    (
        "header only",
        "events.csv",
        _text(EV_HEAD + "\n"),
        load_events,
        {},
        ["header but no data rows"],
    ),
    (
        "semicolons",
        "events.csv",
        _text("customer_id;timestamp;touchpoint;channel\na;2024-01-01;x;web\n"),
        load_events,
        {},
        ["looks ;-separated", "files.separator = ';'"],
    ),
    (
        "tabs in csv",
        "events.csv",
        _text("customer_id\ttimestamp\ttouchpoint\tchannel\na\t2024-01-01\tx\tweb\n"),
        load_events,
        {},
        ["looks \\t-separated"],
    ),
    (
        "latin-1",
        "events.csv",
        _bytes(f"{EV_HEAD}\na,2024-01-01,x,web\nb,2024-01-01,caf\xe9,web\n".encode("latin-1")),
        # by hand: header 41 bytes + row 1 19 bytes + "b,2024-01-01,caf" 16 bytes -> the é is byte 76 (0-based)
        load_events,
        {},
        ["line 3", "byte 76", "UTF-8"],
    ),
    (
        "null id",
        "events.csv",
        _text(f"{EV_HEAD}\na,2024-01-01,x,web\n,2024-01-01,x,web\n"),
        load_events,
        {"strict": True},
        ["column 'customer_id'", "first rows 2"],
    ),
    (
        "score out of range",
        "feedback.csv",
        _text(f"{FB_HEAD}\na,2024-01-01,nps,10\nb,2024-01-01,csat,6\n"),
        load_feedback,
        {"strict": True},
        ["column 'score'", "first rows 2"],
    ),
    (
        "mixed timezones",
        "events.csv",
        _text(f"{EV_HEAD}\na,2024-01-01T10:00+01:00,x,web\nb,2024-01-01 10:00,x,web\n"),
        load_events,
        {"strict": True},
        ["column 'timestamp'", "first rows 2", "offset"],
    ),
    (
        "duplicate header",
        "events.csv",
        _text("customer_id,timestamp,touchpoint,channel,channel\na,2024-01-01,x,web,app\n"),
        load_events,
        {},
        ["'channel' twice", "columns 4 and 5"],
    ),
    (
        "unknown survey",
        "feedback.csv",
        _text(f"{FB_HEAD}\na,2024-01-01,nps,3\nb,2024-01-01,csatt,4\n"),
        load_feedback,
        {"strict": True},
        ["column 'survey'", "first rows 2", "'csatt'"],
    ),
    (
        "negative revenue",
        "events.csv",
        _text(f"{EV_HEAD},revenue\na,2024-01-01,purchase,web,-3\n"),
        load_events,
        {"strict": True},
        ["column 'revenue'", "first rows 1", "negative"],
    ),
    (
        "unparsable revenue",
        "events.csv",
        _text(f"{EV_HEAD},revenue\na,2024-01-01,purchase,web,10\nb,2024-01-01,purchase,web,abc\n"),
        load_events,
        {"strict": True},
        ["column 'revenue'", "first rows 2", "'abc'"],
    ),
    (
        "unparsable score",
        "feedback.csv",
        _text(f"{FB_HEAD}\na,2024-01-01,nps,x\n"),
        load_feedback,
        {"strict": True},
        ["column 'score'", "first rows 1"],
    ),
    ("corrupt parquet", "events.parquet", _corrupt_parquet, load_events, {}, ["Parquet"]),
    (
        "broken ndjson line",
        "events.ndjson",
        _text(
            '{"customer_id":"a","timestamp":"2024-01-01","touchpoint":"x","channel":"web"}\n{"customer_id":"b",\n'
        ),
        load_events,
        {},
        ["line 2", "JSON object"],
    ),
    (
        "ragged csv row",
        "events.csv",
        _text(f"{EV_HEAD}\na,2024-01-01,x,web\nb,2024-01-01,x,web,extra\n"),
        load_events,
        {},
        ["data row 2", "5 fields"],
    ),
    ("unknown extension", "events.xlsx", _text("x"), load_events, {}, ["file format", ".csv"]),
    (
        "duplicate customer",
        "customers.csv",
        _text("customer_id,segment\na,x\nb,y\na,z\n"),
        load_customers,
        {"strict": True},
        ["column 'customer_id'", "first rows 3"],
    ),
    (
        "before start",
        "events.csv",
        _text(f"{EV_HEAD}\na,1999-12-31,x,web\n"),
        load_events,
        {"strict": True, "start_date": dt.date(2000, 1, 1)},
        ["column 'timestamp'", "first rows 1", "start_date"],
    ),
]


@pytest.mark.parametrize(
    ("case", "name", "write", "loader", "kwargs", "fragments"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_inputs_raise_data_error_naming_file_and_place(
    tmp_path, case, name, write, loader, kwargs, fragments
):
    path = tmp_path / name
    write(path)
    kwargs = dict(kwargs)
    mapping = kwargs.pop("mapping", None)
    if loader is not load_customers:
        kwargs.setdefault("as_of", AS_OF)
    with pytest.raises(DataError) as err:
        loader(path, mapping, **kwargs)
    message = str(err.value)
    assert name in message
    for fragment in fragments:
        assert fragment in message, message
    # no polars/pyarrow traceback is chained onto what the user sees
    exc = err.value
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


def test_missing_file_lists_the_folder(tmp_path):
    (tmp_path / "evnts.csv").write_text("x")
    with pytest.raises(DataError) as err:
        load_events(tmp_path / "events.csv")
    assert "events.csv" in str(err.value) and "Files in" in str(err.value)
    assert "evnts.csv" in str(err.value)


def test_lenient_mode_sets_aside_with_reasons_and_rows(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,timestamp,touchpoint,channel,revenue\n"
        "a,2024-03-01 09:00,site_visit,web,\n"  # 1 kept
        ",2024-03-01 09:00,site_visit,web,\n"  # 2 null_customer_id
        "b,,site_visit,web,\n"  # 3 unparsable_timestamp (empty)
        "b,31/02/2024,site_visit,web,\n"  # 4 unparsable_timestamp
        "b,2024-03-01 09:00,,web,\n"  # 5 missing_touchpoint
        "b,2024-03-01 09:00,purchase,web,abc\n"  # 6 unparsable_value (revenue)
        "b,2024-03-01 09:00,purchase,web,-1\n"  # 7 negative_revenue
        "a,2024-03-01 09:00,site_visit,web,\n"  # 8 duplicate_event of row 1
        "b,2031-01-01 00:00,site_visit,web,\n"  # 9 future_timestamp
        "b,2019-12-31 23:59,site_visit,web,\n"  # 10 before_start
        ",not a time,,web,\n"  # 11 several problems: the first reason wins
        "b,2024-03-01 09:00,purchase,web,9.5\n"  # 12 kept
    )
    # duplicate_events="drop": row 8 is set aside (the default keeps it, see test_contract.py)
    res = load_events(path, start_date=dt.date(2020, 1, 1), as_of=AS_OF, duplicate_events="drop")
    assert res.frame["source_row"].to_list() == [1, 12]
    got = dict(res.set_aside.select("source_row", "reason").iter_rows())
    assert got == {
        2: "null_customer_id",
        3: "unparsable_timestamp",
        4: "unparsable_timestamp",
        5: "missing_touchpoint",
        6: "unparsable_value",
        7: "negative_revenue",
        8: "duplicate_event",
        9: "future_timestamp",
        10: "before_start",
        11: "null_customer_id",
    }
    by_reason = {i.reason: i for i in res.issues}
    assert by_reason["unparsable_timestamp"].rows == 2
    assert by_reason["unparsable_timestamp"].examples == (3, 4)
    assert by_reason["null_customer_id"].examples == (2, 11)
    # set-aside rows keep the values as read from the file
    assert res.set_aside.filter(pl.col("source_row") == 6)["revenue"].to_list() == ["abc"]
    # prepared: the same rows kept and set aside; the kept rows in (customer, time) order
    fused = load_events(
        path, start_date=dt.date(2020, 1, 1), as_of=AS_OF, prepare=True, duplicate_events="drop"
    )
    assert fused.frame.select("source_row", "_cx_cid", "_cx_seq").rows() == [(1, 0, 0), (12, 1, 1)]
    assert_frame_equal(fused.set_aside, res.set_aside)
    assert fused.issues == res.issues


def test_the_loaders_customer_order_is_reused_for_its_frame_only(tmp_path):
    # rows 1 and 3 are b's, in reverse time order; row 4 is set aside (no customer).
    # Prepared order: a (row 2), then b by time: row 3 (08:00) before row 1 (09:00).
    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,timestamp,touchpoint,channel\n"
        "b,2024-03-02 09:00,x,web\n"  # 1
        "a,2024-03-01 09:00,y,web\n"  # 2
        "b,2024-03-01 08:00,z,web\n"  # 3
        ",2024-03-01 08:00,z,web\n"  # 4 set aside
    )
    res = load_events(path, as_of=AS_OF)
    assert res.frame["source_row"].to_list() == [1, 2, 3]  # the loader keeps file order
    assert sorted(customer_keys(res.frame).to_list()) == ["a", "b"]
    assert prepare_events(res.frame).select("source_row", "_cx_cid").rows() == [
        (2, 0),
        (3, 1),
        (1, 1),
    ]
    # a new frame (customer_id replaced by the touchpoint) is prepared from its own columns
    other = res.frame.with_columns(customer_id=pl.col("touchpoint"))
    assert prepare_events(other)["customer_id"].to_list() == ["x", "y", "z"]
    # prepared by the loader: its customers are known; a filtered copy's are its own
    fused = load_events(path, as_of=AS_OF, prepare=True).frame
    assert sorted(customer_keys(fused).to_list()) == ["a", "b"]
    assert customer_keys(fused.filter(pl.col("customer_id") == "b")).to_list() == ["b"]


def test_prepared_touchpoints_are_enums_of_the_kept_values(tmp_path):
    # "fax" / "telex" occur only in a set-aside row: the prepared frame's enums leave them out
    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,timestamp,touchpoint,channel,revenue\n"
        "b,2024-03-02 09:00,site_visit,web,\n"  # 1
        "a,2024-03-01 09:00,purchase,web,5\n"  # 2
        "a,not a time,fax,telex,\n"  # 3 set aside
        "a,2024-03-01 08:00,ad_click,app,\n"  # 4
        "b,2024-03-03 09:00, site_visit ,web,\n"  # 5 (stripped: the same value as row 1)
    )
    plain = load_events(path, as_of=AS_OF)
    fused = load_events(path, as_of=AS_OF, prepare=True)
    assert fused.frame.schema["touchpoint"] == pl.Enum(["ad_click", "purchase", "site_visit"])
    assert fused.frame.schema["channel"] == pl.Enum(["app", "web"])
    assert fused.frame.select(pl.col("touchpoint", "channel").cast(pl.String)).rows() == [
        ("ad_click", "app"),
        ("purchase", "web"),
        ("site_visit", "web"),
        ("site_visit", "web"),
    ]
    assert_frame_equal(fused.frame, prepare_events(plain.frame.clone()))  # a clone: prepared afresh
    # they still compare with any text, known to the enum or not
    assert fused.frame.filter(pl.col("touchpoint").is_in(["purchase", "fax"]))[
        "source_row"
    ].to_list() == [2]
    assert fused.frame.filter(pl.col("channel") == "telex").height == 0


def test_feedback_lenient(tmp_path):
    path = tmp_path / "feedback.csv"
    path.write_text(
        f"{FB_HEAD},comment\n"
        "a,2024-01-01,NPS,10,great\n"  # 1 kept (survey lower-cased)
        "a,2024-01-01,ces,0,\n"  # 2 out of range (ces 1-7)
        "a,2024-01-01,ces,7.0,\n"  # 3 kept: 7.0 is the whole number 7
        "a,2024-01-01,ces,6.5,\n"  # 4 unparsable (not a whole number)
        "a,2024-01-01,vibes,3,\n"  # 5 unknown survey
        "a,2024-01-01,,3,\n"
    )  # 6 missing survey
    res = load_feedback(path, as_of=AS_OF)
    assert res.frame.select("survey", "score", "comment").rows() == [
        ("nps", 10, "great"),
        ("ces", 7, None),
    ]
    assert dict(res.set_aside.select("source_row", "reason").iter_rows()) == {
        2: "score_out_of_range",
        4: "unparsable_value",
        5: "unknown_survey",
        6: "missing_value",
    }


def test_customers_types(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,signup_date,churned,churn_date,tier\n"
        "a,2023-05-01,no,,gold\n"
        "b,2023-06-01,yes,2024-02-01,\n"
        "c,soon,no,,\n"
        "d,2023-06-01,maybe,,\n"
    )
    res = load_customers(path)
    assert res.frame.schema["signup_date"] == pl.Date and res.frame.schema["churned"] == pl.Boolean
    assert res.frame.select("customer_id", "churned", "churn_date", "tier").rows() == [
        ("a", False, None, "gold"),
        ("b", True, dt.date(2024, 2, 1), None),
    ]
    assert dict(res.set_aside.select("source_row", "column").iter_rows()) == {
        3: "signup_date",
        4: "churned",
    }


def test_unknown_touchpoints_are_kept_and_counted(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        f"{EV_HEAD}\n"
        "a,2024-01-01,purchase,web\n"
        "a,2024-01-02,teleport,web\n"
        "b,2024-01-03,hologram,app\n"
        "b,2024-01-04,teleport,app\n"
    )
    res = load_events(path, journey_map=DEFAULT_JOURNEY_MAP, as_of=AS_OF)
    assert res.frame.height == 4 and res.set_aside.height == 0
    (issue,) = res.issues
    assert issue.reason == "unknown_touchpoint" and issue.severity == "warning"
    assert issue.values == (("teleport", 2), ("hologram", 1))  # by count, then name
    assert issue.rows == 3 and issue.examples == (2, 3, 4)
    assert "'teleport' (2 rows)" in issue.message and "[journey.map]" in issue.message


# --------------------------------------------------------------------------- property
_IDS = st.sampled_from(["c1", "c2", "", " "])
_TIMES = st.sampled_from(
    [
        "2024-03-01 09:00",
        "2024-03-01T09:00:00+01:00",
        "",
        "nope",
        "2099-01-01",
        "1990-05-05",
        "2024-13-45",
    ]
)
_TOUCH = st.sampled_from(["purchase", "site_visit", "", "teleport", " purchase", "site_visit  "])
_REV = st.sampled_from(["", "10", "-2", "abc", "1e3", "nan"])


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(_IDS, _TIMES, _TOUCH, _REV), min_size=1, max_size=25))
def test_rows_are_conserved(tmp_path, rows):
    df = pl.DataFrame(
        rows,
        schema=["customer_id", "timestamp", "touchpoint", "revenue"],
        orient="row",
    ).with_columns(channel=pl.lit("web"))
    path = tmp_path / "events.csv"
    df.write_csv(path)
    res = load_events(
        path, start_date=dt.date(2000, 1, 1), as_of=AS_OF, journey_map=DEFAULT_JOURNEY_MAP
    )
    n = len(rows)
    assert res.input_rows == n
    assert res.frame.height + res.set_aside.height == n
    together = sorted(res.frame["source_row"].to_list() + res.set_aside["source_row"].to_list())
    assert together == list(range(1, n + 1))
    assert res.set_aside["reason"].null_count() == 0
    assert sum(i.rows for i in res.issues if i.severity == "set_aside") == res.set_aside.height
    # kept rows satisfy the contract
    assert res.frame["customer_id"].null_count() == 0 and res.frame["timestamp"].null_count() == 0
    assert (res.frame["revenue"].drop_nulls() >= 0).all()
    # prepare=True (duplicates found among rows of equal customer and time, rows gathered in
    # prepared order) sets aside exactly the same rows, with the same issues
    fused = load_events(
        path,
        start_date=dt.date(2000, 1, 1),
        as_of=AS_OF,
        journey_map=DEFAULT_JOURNEY_MAP,
        prepare=True,
    )
    assert_frame_equal(
        fused.frame, prepare_events(res.frame.clone())
    )  # afresh, not the loader plan
    assert_frame_equal(fused.set_aside, res.set_aside)
    assert fused.issues == res.issues


def test_prepared_order_when_most_rows_are_set_aside(tmp_path):
    # 20,000 rows of 50 customers, times counting down; only every 7th row has a valid time,
    # so 17,142 rows are set aside (more than the loader's few-bad-rows search handles: the
    # running-count path). The kept rows' prepared order must be the one prepare_events
    # computes afresh (a clone is not the loader's planned frame): by customer, then time;
    # both when the loader gathers them itself (prepare=True) and when prepare_events reuses
    # the loader's order on its file-order frame (the kept rows' positions among the rows).
    lines = ["customer_id,timestamp,touchpoint,channel"]
    for i in range(20_000):
        minute = f"2024-03-01 {(19_999 - i) // 60 % 24:02d}:{(19_999 - i) % 60:02d}"
        lines.append(f"c{i % 50:02d},{minute if i % 7 == 0 else 'not a time'},visit,web")
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    res = load_events(path, as_of=AS_OF, prepare=True)
    assert res.set_aside.height == 20_000 - 2_858  # ceil(20,000 / 7) rows kept
    plain = load_events(path, as_of=AS_OF).frame
    fresh = prepare_events(plain.clone())
    assert not fresh["source_row"].is_sorted()  # customer order, not file order
    assert_frame_equal(res.frame, fresh)
    assert_frame_equal(prepare_events(plain), fresh)  # the planned order reused


def test_repeated_events_are_found_within_a_run_of_equal_customer_and_time(tmp_path):
    # Every row of customer a is at 09:00, so all are candidates; only rows equal on every
    # column to an earlier row repeat it: 3 and 7 (row 1's values), not 4 (other channel),
    # 5 (revenue 0, not empty) nor 6 (customer b).
    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,timestamp,touchpoint,channel,revenue\n"
        "a,2024-03-01 09:00,visit,web,\n"  # 1
        "a,2024-03-01 09:00,cart,web,\n"  # 2
        "a,2024-03-01 09:00,visit,web,\n"  # 3 repeats 1 (not next to it)
        "a,2024-03-01 09:00,visit,app,\n"  # 4
        "a,2024-03-01 09:00,visit,web,0\n"  # 5
        "b,2024-03-01 09:00,visit,web,\n"  # 6
        "a,2024-03-01 09:00,visit,web,\n"  # 7 repeats 1
    )
    kept = load_events(path, as_of=AS_OF)
    (warning,) = [i for i in kept.issues if i.reason == "repeated_events"]
    assert (warning.rows, warning.examples) == (2, (3, 7))
    dropped = load_events(path, as_of=AS_OF, duplicate_events="drop", prepare=True)
    assert dropped.set_aside["source_row"].to_list() == [3, 7]
    assert sorted(dropped.frame["source_row"].to_list()) == [1, 2, 4, 5, 6]


def test_unknown_touchpoint_examples_are_the_first_rows_of_the_file(tmp_path):
    # Rows of b come first in the file, a's first once prepared. "fax" is unknown to the
    # journey map in rows 1, 2, 4, 5, 6 and 7: six rows, the examples are the first five
    # row numbers of the file (not of the prepared order, which starts with a's rows 6, 7).
    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,timestamp,touchpoint,channel\n"
        "b,2024-03-01 09:00,fax,web\n"  # 1
        "b,2024-03-01 10:00,fax,web\n"  # 2
        "b,2024-03-01 11:00,visit,web\n"  # 3
        "b,2024-03-01 12:00,fax,web\n"  # 4
        "b,2024-03-01 13:00,fax,web\n"  # 5
        "a,2024-03-01 09:00,fax,web\n"  # 6
        "a,2024-03-01 10:00,fax,web\n"  # 7
    )
    for prepare in (False, True):
        res = load_events(path, as_of=AS_OF, journey_map={"visit": "awareness"}, prepare=prepare)
        (issue,) = [i for i in res.issues if i.reason == "unknown_touchpoint"]
        assert (issue.rows, issue.examples) == (6, (1, 2, 4, 5, 6))
