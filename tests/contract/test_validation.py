"""ValidationReport: counts, tidy issues frame, text forms and escaped HTML."""

from __future__ import annotations

import polars as pl

from cxlab.contract.validation import Issue, TableCounts, ValidationReport


def _report() -> ValidationReport:
    return ValidationReport(
        "bookshop",
        [
            TableCounts("customers", "customers.csv", 800, 798, 2),
            TableCounts("events", "events.csv", 30_526, 30_512, 14),
            TableCounts("feedback", "feedback.csv", 1_200, 1_200, 0),
        ],
        [
            Issue(
                "events",
                "events.csv",
                "warning",
                "unknown_touchpoint",
                "touchpoint",
                7,
                (3, 9),
                "events.csv: 1 value <b>odd</b> & more",
                (("<b>odd</b>", 7),),
            ),
            Issue("events", "events.csv", "set_aside", "duplicate_event", "all", 4, (10,), "dup"),
            Issue(
                "events",
                "events.csv",
                "set_aside",
                "null_customer_id",
                "customer_id",
                9,
                (1, 2),
                "null",
            ),
            Issue(
                "events",
                "events.csv",
                "set_aside",
                "future_timestamp",
                "timestamp",
                1,
                (5,),
                "future",
            ),
            Issue(
                "customers",
                "customers.csv",
                "set_aside",
                "duplicate_customer",
                "customer_id",
                2,
                (4, 8),
                "dup c",
            ),
            Issue(
                "feedback",
                "feedback.csv",
                "warning",
                "unknown_customer",
                "customer_id",
                3,
                (1,),
                "who",
            ),
        ],
    )


def test_one_line_counts_reasons_and_warnings():
    # events: 3 distinct set-aside reasons (null id, future, duplicate); 2 warnings overall
    assert _report().one_line() == (
        "bookshop: events 30,512 loaded, 14 set aside (3 reasons); feedback 1,200 loaded, "
        "0 set aside; customers 798 loaded, 2 set aside (1 reason); 2 warnings"
    )


def test_ok_and_issue_order():
    report = _report()
    assert not report.ok
    assert ValidationReport("x", [TableCounts("events", "e.csv", 3, 3, 0)], report.warnings).ok
    frame = report.to_frame()
    assert frame.columns == [
        "table",
        "file",
        "severity",
        "reason",
        "column",
        "rows",
        "examples",
        "message",
    ]
    # set-aside first, tables in canonical order, reasons in priority order, warnings last
    assert frame.select("severity", "reason").rows() == [
        ("set_aside", "null_customer_id"),
        ("set_aside", "future_timestamp"),
        ("set_aside", "duplicate_event"),
        ("set_aside", "duplicate_customer"),
        ("warning", "unknown_touchpoint"),
        ("warning", "unknown_customer"),
    ]
    assert frame.schema["examples"] == pl.List(pl.Int64)
    assert report.counts()["input_rows"].to_list() == [30_526, 1_200, 800]


def test_summary_has_every_issue_and_counts():
    text = _report().summary()
    assert text.splitlines()[0] == "bookshop: rows set aside, 2 warnings"
    assert "events.csv: 30,526 rows read, 30,512 loaded, 14 set aside" in text
    for reason in (
        "null_customer_id",
        "future_timestamp",
        "duplicate_event",
        "unknown_touchpoint",
        "duplicate_customer",
        "unknown_customer",
    ):
        assert reason in text
    assert "e.g. rows 1, 2" in text and "e.g. row 5" in text


def test_html_escapes_untrusted_values():
    html = _report()._repr_html_()
    assert "<b>odd</b>" not in html
    assert "&lt;b&gt;odd&lt;/b&gt;" in html and "&amp; more" in html
    evil = ValidationReport("<script>x</script>", [TableCounts("events", "<i>.csv", 1, 1, 0)])
    out = evil._repr_html_()
    assert "<script>" not in out and "<i>" not in out and "No rows set aside" in out


def test_empty_report():
    report = ValidationReport("empty")
    assert report.ok and report.to_frame().height == 0
    assert report.one_line() == "empty: 0 warnings"


def _three_events() -> pl.DataFrame:
    import datetime as dt

    return pl.DataFrame(
        {
            "customer_id": ["a", "b", "a"],
            "channel": ["web", "web", "app"],
            "timestamp": [
                dt.datetime(2024, 1, 1, 9),  # Monday: week of Jan 1
                dt.datetime(2024, 1, 31),  # Wednesday: week of Jan 29
                dt.datetime(2024, 2, 9),  # Friday: week of Feb 5
            ],
        }
    )


def test_events_over_time_counts_per_calendar_bucket():
    import datetime as dt

    from cxlab.contract.validation import events_over_time

    ev = _three_events()
    # weeks start on Monday: Jan 1 (a, web), Jan 29 (b, web), Feb 5 (a, app)
    assert events_over_time(ev, every="week").rows() == [
        (dt.date(2024, 1, 1), "web", 1, 1),
        (dt.date(2024, 1, 29), "web", 1, 1),
        (dt.date(2024, 2, 5), "app", 1, 1),
    ]
    # months: January holds both web events (a and b), February the app one
    assert events_over_time(ev, every="month").rows() == [
        (dt.date(2024, 1, 1), "web", 2, 2),
        (dt.date(2024, 2, 1), "app", 1, 1),
    ]


def test_events_over_time_old_freq_name_still_works_and_warns():
    import pytest

    from cxlab.contract.validation import events_over_time
    from cxlab.errors import ParameterError

    ev = _three_events()
    with pytest.warns(DeprecationWarning, match="Write every='day'"):
        old = events_over_time(ev, freq="day")
    assert old.equals(events_over_time(ev, every="day")) and old.height == 3
    with pytest.raises(ParameterError, match="'every' parameter of events_over_time"):
        events_over_time(ev, every="fortnight")
