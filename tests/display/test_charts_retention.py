"""Retention charts: they validate, draw the aggregates they are given, carry tooltips."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxlab.analysis.retention import cohort_retention, lifecycle, stickiness
from cxlab.display.charts.retention import (
    lifecycle_chart,
    retention_curve_chart,
    retention_heatmap,
    stickiness_chart,
)
from cxlab.errors import ParameterError


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    # a: weeks 0, 1, 3 (web); b: 0, 2 (app); c: 0 (web); d: 1, 2 (app)
    days = {"a": [1, 9, 23], "b": [2, 16], "c": [3], "d": [10, 17]}
    rows = [(c, dt.datetime(2024, 1, d, 9, tzinfo=dt.UTC)) for c, ds in days.items() for d in ds]
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows],
            "channel": ["web"] * 3 + ["app"] * 2 + ["web"] + ["app"] * 2,
        }
    )


def _values(chart) -> list[dict]:
    spec = chart.to_dict()
    return next(iter(spec["datasets"].values()))


def _tooltips(spec: dict) -> list[str]:
    return [
        t["field"]
        for layer in spec.get("layer", [spec])
        for t in layer["encoding"].get("tooltip", [])
    ]


def test_retention_heatmap_draws_the_triangle(events):
    m = cohort_retention(events, every="week", as_of=dt.datetime(2024, 1, 28, 23, 59, 59))
    chart = retention_heatmap(m.table, "week")
    values = _values(chart)
    # one cell per cohort x period: W0 k=0..3 and W1 k=0..2
    assert [(v["entered"], v["period"]) for v in values] == [
        ("01 Jan 2024", 0),
        ("01 Jan 2024", 1),
        ("01 Jan 2024", 2),
        ("01 Jan 2024", 3),
        ("08 Jan 2024", 0),
        ("08 Jan 2024", 1),
        ("08 Jan 2024", 2),
    ]
    assert [v["retention"] for v in values][:3] == [1.0, 1 / 3, 1 / 3]
    assert {"retention", "ci_low", "ci_high", "cohort_size"} <= set(_tooltips(chart.to_dict()))


def test_retention_heatmap_wants_one_breakdown_value(events):
    m = cohort_retention(events, every="week", by="channel")
    with pytest.raises(ParameterError, match="one breakdown value at a time"):
        retention_heatmap(m.table.drop("channel"))


def test_retention_heatmap_refuses_events(events):
    with pytest.raises(ParameterError, match="aggregated tables only"):
        retention_heatmap(events)


def test_retention_curve_chart_by_group(events):
    m = cohort_retention(events, every="week", by="channel")
    values = _values(retention_curve_chart(m.curve, "week", by="channel"))
    assert sorted({v["channel"] for v in values}) == ["app", "web"]
    single = _values(
        retention_curve_chart(m.curve.filter(pl.col("channel") == "web").drop("channel"))
    )
    assert {v["_group"] for v in single} == {"all customers"}


def test_lifecycle_chart_draws_dormant_below_zero(events):
    t = lifecycle(events, every="week")
    values = _values(lifecycle_chart(t, "week"))
    dormant = [v["signed"] for v in values if v["status"] == "dormant"]
    assert min(dormant) < 0 and all(d <= 0 for d in dormant)
    assert {v["label"] for v in values} == {"New", "Returning", "Back after a gap", "Gone quiet"}


def test_stickiness_chart(events):
    values = _values(stickiness_chart(stickiness(events, every="month"), "day"))
    # January: a on 3 days, b on 2, c on 1, d on 2
    assert [(v["active"], v["customers"]) for v in values] == [(1, 1), (2, 2), (3, 1)]


def test_retention_heatmap_labels_only_cells_they_fit():
    """A year of weeks: 53 periods in 700 px = 13 px a cell, too narrow for "100%" in 9 px text
    (about 24 px): colours and tooltips only. 4 periods: 160 px / 4 = 40 px, labelled."""
    import datetime as dt

    def table(n: int) -> pl.DataFrame:
        start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        cells = [(c, k) for c in range(n) for k in range(n - c)]  # the triangle
        return pl.DataFrame(
            {
                "cohort": [start + dt.timedelta(weeks=c) for c, _ in cells],
                "cohort_size": [10] * len(cells),
                "period": [k for _, k in cells],
                "retained": [5] * len(cells),
                "retention": [0.5] * len(cells),
                "ci_low": [0.2] * len(cells),
                "ci_high": [0.8] * len(cells),
                "complete": [True] * len(cells),
            }
        )

    year = retention_heatmap(table(53), "week").to_dict()
    assert [layer["mark"]["type"] for layer in year["layer"]] == ["rect"]
    month = retention_heatmap(table(4), "week").to_dict()
    assert [layer["mark"]["type"] for layer in month["layer"]] == ["rect", "text"]


def test_month_axes_read_as_months_in_calendar_order():
    # cohorts of Nov 2024 .. Feb 2025: labels "Nov 2024" .. "Feb 2025" (not "2024-11"), and
    # the axis keeps the calendar order, which is not the alphabetical one (Dec < Feb < Jan)
    months = [dt.datetime(2024, 11, 1), dt.datetime(2024, 12, 1), dt.datetime(2025, 1, 1)]
    months.append(dt.datetime(2025, 2, 1))
    table = pl.DataFrame(
        {
            "cohort": months,
            "cohort_size": [10] * 4,
            "period": [0] * 4,
            "retained": [10] * 4,
            "retention": [1.0] * 4,
            "ci_low": [0.7] * 4,
            "ci_high": [1.0] * 4,
            "complete": [True] * 4,
        }
    )
    spec = retention_heatmap(table, "month").to_dict()
    order = ["Nov 2024", "Dec 2024", "Jan 2025", "Feb 2025"]
    assert spec["layer"][0]["encoding"]["y"]["sort"] == order
    assert [v["entered"] for v in _values(retention_heatmap(table, "month"))] == order
    life = pl.DataFrame(
        {
            "period": months,
            "status": ["new"] * 4,
            "customers": [1] * 4,
            "signed": [1] * 4,
            "complete": [True] * 4,
        }
    )
    assert lifecycle_chart(life, "month").to_dict()["encoding"]["x"]["sort"] == order
