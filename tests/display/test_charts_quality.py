"""The data-quality chart draws what cxlab.contract.validation computes."""

import datetime as dt

import polars as pl
import pytest

from cxlab.contract.validation import events_over_time
from cxlab.display.charts import quality

EVENTS = pl.DataFrame(
    {
        "customer_id": ["a", "b", "a"],
        "channel": ["web", "web", "app"],
        "timestamp": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 9)],
    }
)


def test_chart_draws_the_counts_of_events_over_time():
    spec = quality.events_over_time_chart(EVENTS, every="week").to_dict()
    drawn = pl.DataFrame(spec["datasets"].popitem()[1])
    # week of Jan 1: a and b on web (2 events, 2 customers); week of Jan 8: a on app
    assert drawn.select("events", "customers").rows() == [(2, 2), (1, 1)]
    assert spec["title"]["text"] == "Interactions per week by channel"
    # the old import path still gives the moved data functions
    assert quality.events_over_time is events_over_time


def test_chart_old_freq_name_still_works_and_warns():
    with pytest.warns(DeprecationWarning, match="Write every='day'"):
        old = quality.events_over_time_chart(EVENTS, freq="day")
    assert old.to_json() == quality.events_over_time_chart(EVENTS, every="day").to_json()


def test_partial_first_and_last_weeks_are_dashed_and_faded():
    # Wed 03 Jan, Mon 08 Jan, Tue 16 Jan 2024. Weeks start on Monday: the week of Mon 01 Jan
    # lacks Mon-Tue (partial), the week of Mon 08 Jan is whole, the week of Mon 15 Jan has only
    # Mon-Tue of its seven days (partial).
    ev = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "channel": ["web", "web", "web"],
            "timestamp": [dt.datetime(2024, 1, d) for d in (3, 8, 16)],
        }
    )
    spec = quality.events_over_time_chart(ev, every="week").to_dict()
    drawn = pl.DataFrame(spec["datasets"].popitem()[1])
    assert drawn.select("period", "partial", "fade").rows() == [
        ("2024-01-01T00:00:00", True, 0.35),
        ("2024-01-08T00:00:00", False, 1.0),
        ("2024-01-15T00:00:00", True, 0.35),
    ]
    dashed, solid, points = spec["layer"]
    assert dashed["mark"]["strokeDash"] == [4, 3]  # the whole line, dashed underneath
    assert solid["transform"] == [{"filter": "(!datum.partial)"}]  # whole weeks drawn solid
    assert points["encoding"]["opacity"]["condition"]["field"] == "fade"
    assert spec["title"]["subtitle"][0] == "Dashed: a week the data covers only in part."
    # by month the three days fall in January, which the data covers only from the 3rd
    assert quality.partial_periods(dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 31), "month") == (
        dt.date(2024, 1, 1),
        None,
    )


def test_whole_periods_are_not_marked_partial():
    # Mon 01 Jan to Sun 14 Jan 2024: two whole weeks, nothing dashed, no note in the subtitle
    ev = EVENTS.with_columns(
        timestamp=pl.Series(
            [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 14, 23)]
        )
    )
    spec = quality.events_over_time_chart(ev, every="week").to_dict()
    drawn = pl.DataFrame(spec["datasets"].popitem()[1])
    assert drawn["partial"].to_list() == [False, False]
    assert spec["title"]["subtitle"] == ["Click a legend entry to highlight its line."]


def test_time_axis_labels_carry_the_year():
    # a year of months: "Oct 2024" labels every ceil(12 / 8) = 2 months
    months = pl.DataFrame(
        {
            "customer_id": ["a"] * 12,
            "channel": ["web"] * 12,
            "timestamp": [
                dt.datetime(2024 + (m > 12), (m - 1) % 12 + 1, 15) for m in range(10, 22)
            ],
        }
    )
    x = quality.events_over_time_chart(months, every="month").to_dict()["layer"][0]["encoding"]["x"]
    assert x["axis"]["format"] == "%b %Y"
    assert x["axis"]["tickCount"] == {"interval": "month", "step": 2}
