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
