"""Tests of cxlab.display.charts.funnel: the trend and next-path charts draw the aggregates."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxlab.analysis.funnel import drop_off_paths, funnel, funnel_trend
from cxlab.display.charts.funnel import drop_off_paths_chart, funnel_trend_chart
from cxlab.display.charts.journey import funnel_chart
from cxlab.errors import ParameterError

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # a Monday
# a, b enter in the week of Jan 1 (a buys); c enters in the week of Jan 8 and buys.
ROWS = [
    ("a", 0, "visit", "web"),
    ("a", 1, "buy", "web"),
    ("b", 2, "visit", "app"),
    ("b", 3, "faq", "app"),
    ("c", 24 * 7, "visit", "web"),
    ("c", 24 * 7 + 1, "buy", "web"),
]
LOG = pl.DataFrame(
    {
        "customer_id": [r[0] for r in ROWS],
        "timestamp": [T0 + dt.timedelta(hours=r[1]) for r in ROWS],
        "touchpoint": [r[2] for r in ROWS],
        "channel": [r[3] for r in ROWS],
    }
)


def test_trend_chart_draws_the_rate_band_and_points_in_period_order():
    spec = funnel_trend_chart(funnel_trend(LOG, ["visit", "buy"])).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["area", "line", "point"]
    rows = next(iter(spec["datasets"].values()))
    # week of Jan 1: 1 of 2 (0.5); week of Jan 8: 1 of 1
    assert [(r["period"][:10], r["conversion_rate"]) for r in rows] == [
        ("2024-01-01", 0.5),
        ("2024-01-08", 1.0),
    ]
    tips = [t["field"] for t in spec["layer"][2]["encoding"]["tooltip"]]
    assert {"conversion_rate", "ci_low", "ci_high", "eligible"} <= set(tips)
    # the bounds are named as the report names an interval, not "95% low" / "95% high"
    titles = {t["field"]: t["title"] for t in spec["layer"][2]["encoding"]["tooltip"]}
    assert (titles["ci_low"], titles["ci_high"]) == ("95% interval from", "95% interval to")


def test_trend_chart_axis_labels_carry_the_year():
    # two weeks (7 days apart): full dates, "01 Jan 2024"
    spec = funnel_trend_chart(funnel_trend(LOG, ["visit", "buy"])).to_dict()
    assert spec["layer"][1]["encoding"]["x"]["axis"]["format"] == "%d %b %Y"
    # thirteen months from Oct 2024 to Oct 2025 (365 days): "Oct 2024", a label every 2 months,
    # never "October, December, February" without the year
    months = pl.date_range(dt.date(2024, 10, 1), dt.date(2025, 10, 1), "1mo", eager=True)
    trend = pl.DataFrame(
        {"period": months, "eligible": 40, "conversion_rate": 0.5, "ci_low": 0.35, "ci_high": 0.65}
    )
    axis = funnel_trend_chart(trend).to_dict()["layer"][1]["encoding"]["x"]["axis"]
    assert (axis["format"], axis["tickCount"]) == ("%b %Y", {"interval": "month", "step": 2})


def test_trend_chart_colours_a_breakdown():
    spec = funnel_trend_chart(funnel_trend(LOG, ["visit", "buy"], by="channel")).to_dict()
    assert spec["layer"][1]["encoding"]["color"]["field"] == "channel"


def test_next_paths_chart_and_refusals():
    # b stopped at visit and went to faq next: one bar, 100% of those who stopped
    p = drop_off_paths(LOG, ["visit", "buy"], step=1)
    spec = drop_off_paths_chart(p).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert [(r["next_path"], r["share"]) for r in next(iter(spec["datasets"].values()))] == [
        ("faq", 1.0)
    ]
    with pytest.raises(ParameterError, match="aggregated"):
        funnel_trend_chart(LOG.with_columns(period=pl.col("timestamp")))


def test_funnel_chart_does_not_take_the_new_columns_for_a_breakdown():
    # in_scope, share_of_all and revenue are funnel columns, not a breakdown (no colour)
    spec = funnel_chart(funnel(LOG, ["visit", "buy"])).to_dict()
    assert "color" not in spec["layer"][0]["encoding"]
