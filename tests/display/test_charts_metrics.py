"""CX metric charts: they take aggregates only, sort them, and carry n and intervals in tooltips."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from cxlab.analysis.metrics import score_over_time, score_summary
from cxlab.display.charts.metrics import (
    driver_quadrant_chart,
    score_breakdown_chart,
    score_over_time_chart,
    topic_share_chart,
)
from cxlab.errors import DataError, ParameterError


@pytest.fixture
def feedback():
    rng = np.random.default_rng(0)
    n = 300
    ts = [
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=int(d))
        for d in rng.integers(0, 120, n)
    ]
    return pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "timestamp": ts,
            "survey": "nps",
            "score": rng.integers(0, 11, n),
            "touchpoint": rng.choice(["checkout", "support_call", "delivery", "review"], n),
        }
    )


def _tooltip_fields(spec):
    fields = set()
    for layer in spec.get("layer", [spec]):
        for tip in layer.get("encoding", {}).get("tooltip", []):
            fields.add(tip["field"])
    return fields


def test_over_time_chart_band_line_and_tooltips(feedback):
    frame = score_over_time(feedback, every="month", by="touchpoint")
    spec = score_over_time_chart(frame).to_dict()
    marks = [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        for layer in spec["layer"]
    ]
    assert marks == ["area", "line", "point"]
    assert spec["layer"][0]["encoding"]["y"]["field"] == "ci_low"
    assert spec["layer"][0]["encoding"]["y2"]["field"] == "ci_high"
    assert {"estimate", "interval_95", "n", "few", "touchpoint"} <= _tooltip_fields(spec)
    assert not {"ci_low", "ci_high", "small_n"} & _tooltip_fields(spec)  # no code names
    (values,) = spec["datasets"].values()
    assert len(values) == frame.height
    keys = [(v["touchpoint"], v["period"]) for v in values]
    assert keys == sorted(keys)  # sorted before it reaches the chart
    assert {v["touchpoint"] for v in values} == {"Checkout", "Support call", "Delivery", "Review"}


def test_breakdown_chart_orders_stages_and_fades_small_n(feedback):
    frame = score_summary(feedback, by="stage")
    spec = score_breakdown_chart(frame).to_dict()
    bars = spec["layer"][0]
    assert bars["encoding"]["y"]["sort"] == ["Purchase", "Retention", "Advocacy"]
    assert "small_n" in str(bars["encoding"]["opacity"])
    assert spec["layer"][1]["encoding"]["x2"]["field"] == "ci_high"
    overall = score_breakdown_chart(score_summary(feedback)).to_dict()
    assert overall["layer"][0]["encoding"]["y"]["field"] == "group"


def test_breakdown_numbers_sit_right_of_the_bar_and_its_whisker():
    # NPS below zero: the bar runs from -15 to 0 and the whisker to -6, so the number of
    # answers goes at 0 (right of the bar); above zero it goes at the whisker's end, 30.
    frame = pl.DataFrame(
        {
            "survey": ["nps", "nps"],
            "segment": ["consumer", "youth"],
            "estimate": [-15.0, 20.0],
            "ci_low": [-25.0, 10.0],
            "ci_high": [-6.0, 30.0],
            "n": [222, 54],
            "small_n": [False, False],
        }
    )
    spec = score_breakdown_chart(frame, by="segment").to_dict()
    assert spec["layer"][2]["encoding"]["x"]["field"] == "n_at"
    (values,) = spec["datasets"].values()
    assert {v["segment"]: v["n_at"] for v in values} == {"Consumer": 0.0, "Youth": 30.0}
    assert "n_at" not in _tooltip_fields(spec)


def test_charts_refuse_event_level_data(feedback):
    with pytest.raises(ParameterError, match="aggregated"):
        score_breakdown_chart(feedback)
    with pytest.raises(ParameterError, match="collect"):
        score_breakdown_chart(score_summary(feedback).lazy())
    with pytest.raises(DataError, match="no column 'estimate'"):
        score_over_time_chart(
            pl.DataFrame({"period": [1], "n": [1], "ci_low": [0], "ci_high": [1]})
        )


def test_quadrant_chart_reference_lines():
    t = pl.DataFrame(
        {
            "driver": ["b", "a", "c"],
            "importance_pct": [30.0, 60.0, 10.0],
            "ci_low": [20.0, 50.0, 2.0],
            "ci_high": [40.0, 70.0, 18.0],
            "performance": [40.0, -20.0, 5.0],
            "n_exposed": [80, 50, 12],
            "quadrant": ["maintain", "fix first", "monitor"],
        }
    )
    spec = driver_quadrant_chart(t, overall_nps=10.0).to_dict()
    datasets = list(spec["datasets"].values())
    drivers = next(d for d in datasets if len(d) == 3)
    assert [d["driver"] for d in drivers] == ["A", "B", "C"]  # sorted by importance, labelled
    refs = sorted(d[0].get("x", d[0].get("y")) for d in datasets if len(d) == 1)
    assert refs == pytest.approx([10.0, 100 / 3])  # overall NPS, average importance
    with pytest.raises(ParameterError, match="overall_nps"):
        driver_quadrant_chart(t)


def test_topic_share_chart_long_format():
    t = pl.DataFrame(
        {
            "topic": [0, 1],
            "label": ["late / parcel", "staff / helpful"],
            "top_terms": [["late"], ["staff"]],
            "n_comments": [40, 30],
            "share_promoter": [0.1, 0.6],
            "share_passive": [0.3, 0.3],
            "share_detractor": [0.6, 0.1],
            "mean_sentiment": [-0.4, 0.5],
        }
    )
    spec = topic_share_chart(t).to_dict()
    (values,) = spec["datasets"].values()
    assert len(values) == 6
    assert spec["encoding"]["y"]["sort"] == [
        "late / parcel",
        "staff / helpful",
    ]  # by detractor share
    assert {"share", "n_comments", "mean_sentiment"} <= {
        tip["field"] for tip in spec["encoding"]["tooltip"]
    }


def test_breakdown_title_is_not_doubled(feedback):
    # the title is the one given ("NPS by customer segment"), never "... by segment by segment"
    frame = score_summary(feedback, by="touchpoint")
    spec = score_breakdown_chart(frame, by="touchpoint", title="NPS by touchpoint").to_dict()
    assert spec["title"]["text"] == "NPS by touchpoint"
    assert spec["title"]["subtitle"].startswith("Lines: the range the true value likely lies in")


def test_quadrant_names_only_drivers_whose_labels_do_not_overlap():
    # Candidates for a name: drivers above the average importance (100 / 5 = 20%) or in the
    # top three: a (60%), b (30%), c (28%). c's label would sit on b's: importance 2 points
    # apart (2/60 of a 420 px axis = 14 px < 130 px) and NPS 1 point apart (1/121 of 340 px
    # = 2.8 px < 14 px), so only the more important b is named. d and e are not candidates.
    t = pl.DataFrame(
        {
            "driver": ["a", "b", "c", "d", "e"],
            "importance_pct": [60.0, 30.0, 28.0, 1.2, 1.0],
            "ci_low": [50.0, 20.0, 20.0, 1.0, 0.5],
            "ci_high": [60.0, 40.0, 36.0, 2.0, 1.5],
            "performance": [-80.0, 40.0, 41.0, 0.0, -0.5],
            "n_exposed": [50, 80, 12, 12, 12],
            "quadrant": ["fix first", "protect", "protect", "maintain", "maintain"],
        }
    )
    spec = driver_quadrant_chart(t, overall_nps=0.0).to_dict()
    rows = next(d for d in spec["datasets"].values() if len(d) == 5)
    assert {r["driver"] for r in rows if r["named"]} == {"A", "B"}
    labels = spec["layer"][2]
    assert labels["mark"]["type"] == "text" and "datum.named" in str(labels["transform"])
