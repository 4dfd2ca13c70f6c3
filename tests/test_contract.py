"""The data contract on real export shapes (issue 17 part 2).

Constants, derived columns, epoch times, nested fields, repeated events kept by default, no
default start_date, and a load that loses every row (or most events) refused. Every fixture is
a few rows whose expected values are worked out in the comments.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import polars as pl
import pytest

from cxlab.analysis.funnel import funnel
from cxlab.analysis.paths import step_matrix, transitions
from cxlab.cli import main
from cxlab.errors import ConfigError, DataError
from cxlab.io.client import check_losses, load_client
from cxlab.io.loaders import load_events
from cxlab.io.sources import SourceSpec

UTC = dt.UTC
AS_OF = dt.datetime(2030, 1, 1, tzinfo=UTC)

# Two customers; a's second row repeats its first on every column (a clickstream does this at
# second resolution). b views twice at different times.
REPEATED = """customer_id,timestamp,touchpoint,channel
a,2024-01-01 10:00:00,view,web
a,2024-01-01 10:00:00,view,web
a,2024-01-01 10:01:00,cart,web
a,2024-01-01 10:02:00,purchase,web
b,2024-01-01 11:00:00,view,web
b,2024-01-01 11:01:00,view,web
b,2024-01-01 11:02:00,cart,web
"""


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def test_repeated_events_are_kept_and_counted_like_pm4py_and_retentioneering(tmp_path):
    res = load_events(_write(tmp_path, "events.csv", REPEATED), as_of=AS_OF)
    assert res.frame.height == 7 and res.set_aside.height == 0
    warning = next(i for i in res.issues if i.reason == "repeated_events")
    assert (warning.severity, warning.rows, warning.examples) == ("warning", 1, (2,))
    assert 'duplicate_events = "drop"' in warning.message
    # pm4py's directly-follows graph counts every consecutive pair of a case:
    #   a: view→view, view→cart, cart→purchase;  b: view→view, view→cart
    #   → (cart, purchase) 1, (view, cart) 2, (view, view) 2
    dfg = transitions(res.frame).select("source", "target", "count").rows()
    assert dfg == [("cart", "purchase", 1), ("view", "cart", 2), ("view", "view", 2)]
    # Retentioneering's step matrix: step 1 both view, step 2 both view, step 3 both cart,
    # step 4: a purchase, b has ended → 0.5 / 0.5
    sm = (
        step_matrix(res.frame, 4)
        .filter(pl.col("share") > 0)
        .select("step", "touchpoint", "share")
        .rows()
    )
    assert sm == [
        (1, "view", 1.0),
        (2, "view", 1.0),
        (3, "cart", 1.0),
        (4, "purchase", 0.5),
        (4, "ENDED", 0.5),
    ]
    # A customer funnel view → cart → purchase counts customers, as Retentioneering's and
    # pm4py's do: both viewed, both reached cart, only a purchased: 2, 2, 1.
    f = funnel(res.frame, ["view", "cart", "purchase"], completed_windows=False)
    assert f["converted"].to_list() == [2, 2, 1]

    # duplicate_events = "drop": the repeated row is set aside; a's path is view, cart,
    # purchase, so one (view, view) transition is lost and step 2 splits: a cart, b view.
    # The customer funnel is the same (2, 2, 1).
    dropped = load_events(tmp_path / "events.csv", as_of=AS_OF, duplicate_events="drop")
    assert dropped.set_aside.select("source_row", "reason").rows() == [(2, "duplicate_event")]
    assert transitions(dropped.frame).filter(pl.col("source") == pl.col("target"))[
        "count"
    ].to_list() == [1]
    sm = step_matrix(dropped.frame, 2).filter(pl.col("step") == 2).filter(pl.col("share") > 0)
    assert sm.select("touchpoint", "share").rows() == [("cart", 0.5), ("view", 0.5)]
    f = funnel(dropped.frame, ["view", "cart", "purchase"], completed_windows=False)
    assert f["converted"].to_list() == [2, 2, 1]
    # prepared loads find the same repeated rows
    prepared = load_events(tmp_path / "events.csv", as_of=AS_OF, prepare=True)
    assert [i for i in prepared.issues if i.reason == "repeated_events"] == [warning]


def test_client_toml_drop_sets_repeated_events_aside(tmp_path):
    folder = tmp_path / "shop"
    _write(folder, "events.csv", REPEATED)
    (folder / "client.toml").write_text(
        '[files]\nevents = "events.csv"\n\n[validation]\nduplicate_events = "drop"\n'
    )
    client = load_client(folder)
    assert client.events.height == 6
    assert client.set_aside["events"]["reason"].to_list() == ["duplicate_event"]


def test_purchase_log_without_event_or_channel_columns(tmp_path):
    # A purchase log: who, when, how much. touchpoint is a constant from client.toml, channel
    # is absent everywhere and reads "unknown". The 1997 dates load: there is no default
    # start_date any more.
    folder = tmp_path / "cdnow"
    _write(
        folder,
        "orders.csv",
        "user,date,amount\n1,1997-01-01,11.77\n1,1997-01-12,12.00\n2,1998-06-30,20.76\n",
    )
    (folder / "client.toml").write_text(
        '[files]\nevents = "orders.csv"\n\n[columns.events]\nuser = "customer_id"\n'
        'date = "timestamp"\namount = "revenue"\n\n[defaults.events]\ntouchpoint = "purchase"\n'
    )
    client = load_client(folder)
    assert client.events.select("customer_id", "touchpoint", "channel", "revenue").rows() == [
        ("1", "purchase", "unknown", 11.77),
        ("1", "purchase", "unknown", 12.0),
        ("2", "purchase", "unknown", 20.76),
    ]
    assert client.events["timestamp"].min() == dt.datetime(1997, 1, 1, tzinfo=UTC)
    # an explicit channel constant is used instead of "unknown"
    text = (folder / "client.toml").read_text() + 'channel = "store"\n'
    (folder / "client.toml").write_text(text)
    assert load_client(folder).events["channel"].unique().to_list() == ["store"]


def test_derived_touchpoint_from_two_columns(tmp_path):
    # touchpoint = event + "_" + page type; an empty page type is left out ("view", not "view_")
    path = _write(
        tmp_path,
        "events.csv",
        "customer_id,timestamp,event,page_type,channel\n"
        "a,2024-01-01 10:00,view,product,web\n"
        "a,2024-01-01 10:01,view,,web\n"
        "a,2024-01-01 10:02,, ,web\n",
    )
    spec = SourceSpec(derived={"touchpoint": ("event", "page_type")})
    res = load_events(path, as_of=AS_OF, source=spec)
    assert res.frame["touchpoint"].to_list() == ["view_product", "view"]
    # the row with neither part has no touchpoint: set aside, named after the two columns
    assert res.set_aside.select("source_row", "reason").rows() == [(3, "missing_touchpoint")]
    assert "'event + page_type'" in next(
        i.message for i in res.issues if i.reason == "missing_touchpoint"
    )
    # the parts are used, like a mapped column: not kept as attributes
    assert not {"event", "page_type"} & set(res.frame.columns)


@pytest.mark.parametrize(
    ("unit", "value"),
    [
        ("s", 1_700_000_000),
        ("ms", 1_700_000_000_123),
        ("us", 1_700_000_000_123_456),
        ("ns", 1_700_000_000_123_456_789),
    ],
)
def test_epoch_times_in_parquet_and_csv(tmp_path, unit, value):
    # 1_700_000_000 s after 1970-01-01 UTC is 2023-11-14 22:13:20 UTC; ns are cut to µs
    frac = {"s": 0, "ms": 123_000, "us": 123_456, "ns": 123_456}[unit]
    expected = dt.datetime(2023, 11, 14, 22, 13, 20, frac, tzinfo=UTC)
    frame = pl.DataFrame(
        {"customer_id": ["a", "a"], "event_time": [value, None], "touchpoint": ["view", "view"]}
    )
    frame.write_parquet(tmp_path / "e.parquet")
    frame.write_csv(tmp_path / "e.csv")
    spec = SourceSpec(timestamp_unit=unit)
    for name in ("e.parquet", "e.csv"):
        res = load_events(tmp_path / name, {"event_time": "timestamp"}, as_of=AS_OF, source=spec)
        assert res.frame["timestamp"].to_list() == [expected]
        assert res.set_aside.select("source_row", "reason").rows() == [(2, "unparsable_timestamp")]
        assert "event_time" not in res.frame.columns  # the epoch column is the timestamp


def test_nested_fields_in_parquet_and_ndjson(tmp_path):
    # GA4-like: user_pseudo_id, event_timestamp (µs), event_name, event_params as a list of
    # {key, value{string_value, int_value}}; a Segment-like properties object for the channel.
    rows = [
        {
            "user_pseudo_id": "u1",
            "event_timestamp": 1_700_000_000_000_000,
            "event_name": "page_view",
            "event_params": [
                {"key": "ga_session_id", "value": {"string_value": None, "int_value": 77}},
                {"key": "page", "value": {"string_value": "/home", "int_value": None}},
            ],
            "properties": {"channel": "app"},
        },
        {
            "user_pseudo_id": "u2",
            "event_timestamp": 1_700_000_060_000_000,
            "event_name": "purchase",
            "event_params": [],
            "properties": {"channel": "web"},
        },
    ]
    mapping = {
        "user_pseudo_id": "customer_id",
        "event_timestamp": "timestamp",
        "event_name": "touchpoint",
        "event_params[ga_session_id]": "session_id",
        "properties.channel": "channel",
    }
    pl.DataFrame(rows).write_parquet(tmp_path / "ga4.parquet")
    (tmp_path / "ga4.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = SourceSpec(timestamp_unit="us")
    for name in ("ga4.parquet", "ga4.ndjson"):
        res = load_events(tmp_path / name, mapping, as_of=AS_OF, source=spec)
        got = res.frame.select(
            "customer_id", "timestamp", "touchpoint", "channel", "session_id"
        ).rows()
        assert got == [
            ("u1", dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), "page_view", "app", "77"),
            ("u2", dt.datetime(2023, 11, 14, 22, 14, 20, tzinfo=UTC), "purchase", "web", None),
        ], name


def test_nested_path_errors_name_the_field(tmp_path):
    pl.DataFrame({"id": ["a"], "t": ["2024-01-01"], "properties": [{"page": "x"}]}).write_parquet(
        tmp_path / "e.parquet"
    )
    with pytest.raises(DataError, match=r"has no field 'event'.*page"):
        load_events(
            tmp_path / "e.parquet",
            {"id": "customer_id", "t": "timestamp", "properties.event": "touchpoint"},
            as_of=AS_OF,
        )


def _client(folder, events, extra=""):
    _write(folder, "events.csv", events)
    (folder / "client.toml").write_text('[files]\nevents = "events.csv"\n' + extra)
    return folder


def test_every_event_set_aside_is_an_error_with_the_fix(tmp_path, capsys):
    # the whole log is older than start_date: check_losses (and cxlab validate) refuse it
    folder = _client(
        tmp_path / "old",
        "customer_id,timestamp,touchpoint\na,1997-01-01,purchase\nb,1997-02-01,purchase\n",
        "",
    )
    text = (folder / "client.toml").read_text()
    (folder / "client.toml").write_text("start_date = 2000-01-01\n" + text)
    client = load_client(folder)  # loads: the report's appendix can say why it is empty
    assert client.events.height == 0
    with pytest.raises(
        DataError, match=r"every events row was set aside \(2 of 2; 0 left\)"
    ) as err:
        check_losses(client)
    assert "start_date = 1990-01-01" in str(err.value)
    assert main(["validate", str(folder)]) == 1
    assert "every events row was set aside" in capsys.readouterr().err
    # without start_date (no default lower bound) the 1997 log loads
    (folder / "client.toml").write_text(text)
    check_losses(load_client(folder))
    assert main(["validate", str(folder)]) == 0


def test_most_events_set_aside_is_an_error(tmp_path):
    # 3 rows, 2 without a customer id: 2 of 3 set aside, 1 left → refused; 1 of 3 → accepted
    folder = _client(
        tmp_path / "c",
        "customer_id,timestamp,touchpoint\n,2024-01-01,x\n,2024-01-02,x\na,2024-01-03,x\n",
    )
    with pytest.raises(
        DataError, match=r"most events row was set aside \(2 of 3; 1 left\).*no customer id"
    ):
        check_losses(load_client(folder))
    _client(
        folder, "customer_id,timestamp,touchpoint\n,2024-01-01,x\nb,2024-01-02,x\na,2024-01-03,x\n"
    )
    check_losses(load_client(folder))


def test_losses_allow_turns_the_refusal_off(tmp_path, capsys):
    # 2 of 3 events without a customer id: refused by default, with the opt-out in the fix;
    # with [validation] losses = "allow" the same load passes validate (exit 0)
    events = "customer_id,timestamp,touchpoint\n,2024-01-01,x\n,2024-01-02,x\na,2024-01-03,x\n"
    folder = _client(tmp_path / "c", events)
    with pytest.raises(
        DataError, match=r'(?s)most events row.*\[validation\]\n    losses = "allow"'
    ):
        check_losses(load_client(folder))
    assert main(["validate", str(folder)]) == 1
    _client(folder, events, '\n[validation]\nlosses = "allow"\n')
    client = load_client(folder)
    assert client.events.height == 1
    check_losses(client)
    assert main(["validate", str(folder)]) == 0
    capsys.readouterr()


def test_config_keys_for_the_contract(tmp_path):
    folder = _client(
        tmp_path / "k",
        "customer_id,timestamp,touchpoint\na,2024-01-01,x\n",
        '\n[defaults.events]\nchanel = "web"\n',
    )
    with pytest.raises(
        ConfigError, match=r"(?s)Did you mean .channel..*\[defaults.events\]\n    channel = \"web\""
    ):
        load_client(folder)
    _client(
        folder, "customer_id,timestamp,touchpoint\na,2024-01-01,x\n", 'timestamp_unit = "sec"\n'
    )
    (folder / "client.toml").write_text('timestamp_unit = "sec"\n[files]\nevents = "events.csv"\n')
    with pytest.raises(ConfigError, match=r"timestamp_unit.*one of \"s\", \"ms\", \"us\", \"ns\""):
        load_client(folder)


def test_survey_only_and_customers_plus_survey_clients_load(tmp_path):
    # feedback only: 2 answers; the events table is empty with its canonical columns
    folder = tmp_path / "survey"
    _write(
        folder,
        "answers.csv",
        "customer_id,timestamp,survey,score,comment\n"
        "a,2024-05-01 10:00,nps,9,great\nb,2024-05-02 11:00,nps,3,slow\n",
    )
    (folder / "client.toml").write_text('[files]\nfeedback = "answers.csv"\n')
    client = load_client(folder)
    assert client.events.height == 0 and client.events.columns[:4] == [
        "customer_id",
        "timestamp",
        "touchpoint",
        "channel",
    ]
    assert client.feedback["score"].to_list() == [9, 3]
    assert client.period == (None, None)
    assert [t.table for t in client.validation.tables] == ["feedback"]
    # customers + feedback
    _write(folder, "people.csv", "customer_id,segment\na,gold\nb,silver\n")
    (folder / "client.toml").write_text(
        '[files]\nfeedback = "answers.csv"\ncustomers = "people.csv"\n'
    )
    client = load_client(folder)
    assert client.customers["segment"].to_list() == ["gold", "silver"]
    assert client.validation.warnings == ()  # every answer's customer is known
    # customers alone are not enough for any section: refused with the line to add
    (folder / "client.toml").write_text('[files]\ncustomers = "people.csv"\n')
    with pytest.raises(
        ConfigError, match=r"(?s)events file or the feedback.*\[files\]\n    events = "
    ):
        load_client(folder)


@pytest.mark.e2e
@pytest.mark.slow
def test_survey_only_client_gets_a_report(tmp_path):
    # the report runs for a client with survey answers but no events: the scores are there,
    # the journey sections say why they are empty
    from cxlab.report.batch import render_client

    folder = tmp_path / "survey"
    rows = "".join(
        f"c{i},2024-05-{1 + i % 28:02d} 10:00,nps,{i % 11},comment {i}\n" for i in range(60)
    )
    _write(folder, "answers.csv", "customer_id,timestamp,survey,score,comment\n" + rows)
    (folder / "client.toml").write_text('[files]\nfeedback = "answers.csv"\n')
    render_client(folder, tmp_path / "out", salt_file=tmp_path / ".salt", timeout=300)
    html = (tmp_path / "out" / "survey" / "report.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", html)
    assert "Customer experience scores" in headings and "Voice of the customer" in headings
    # the journey sections say why they are left out (cxlab.report.sections.check_period)
    assert "Journey funnel" not in " ".join(headings)
    assert "No interaction was recorded in this period, so there is nothing to show." in html
