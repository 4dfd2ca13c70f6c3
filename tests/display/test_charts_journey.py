"""Tests of cxlab.display.charts.journey: charts take aggregates, carry tooltips, order their axes."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxlab.analysis.funnel import drop_off_drivers, funnel, time_to_convert
from cxlab.analysis.heatmap import compare_heatmaps, touchpoint_heatmap
from cxlab.analysis.journey import assign_stages, stage_transitions
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
from cxlab.display.charts.journey import (
    difference_heatmap_chart,
    drop_off_chart,
    funnel_chart,
    heatmap_chart,
    time_to_convert_chart,
    transition_chart,
)
from cxlab.errors import ParameterError

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
ROWS = [
    ("a", 0, "site_visit", "web"),
    ("a", 1, "checkout", "web"),
    ("a", 2, "purchase", "web"),
    ("b", 0, "site_visit", "app"),
    ("b", 3, "checkout", "app"),
    ("b", 4, "checkout_error", "app"),
    ("c", 0, "ad_click", "web"),
    ("c", 5, "site_visit", "web"),
    ("c", 9, "review", "web"),
]
LOG = pl.DataFrame(
    {
        "customer_id": [r[0] for r in ROWS],
        "timestamp": [T0 + dt.timedelta(hours=r[1]) for r in ROWS],
        "touchpoint": [r[2] for r in ROWS],
        "channel": [r[3] for r in ROWS],
        "source_row": pl.Series(range(1, len(ROWS) + 1), dtype=pl.UInt32),
    }
)
STAGED = assign_stages(LOG, DEFAULT_JOURNEY_MAP)


def tooltip_fields(spec: dict) -> set[str]:
    out = set()
    for layer in spec.get("layer", [spec]):
        for t in layer.get("encoding", {}).get("tooltip", []):
            out.add(t["field"])
    return out


def test_heatmap_chart_tooltips_and_stage_order():
    spec = heatmap_chart(touchpoint_heatmap(STAGED), "reach").to_dict()
    assert {"reach", "customers", "reach_ci_low", "reach_ci_high"} <= tooltip_fields(spec)
    y_sort = spec["layer"][0]["encoding"]["y"]["sort"]
    assert y_sort == ["awareness", "consideration", "purchase", "advocacy"]  # journey order
    pain = heatmap_chart(touchpoint_heatmap(STAGED), "pain").to_dict()
    assert pain["layer"][0]["encoding"]["color"]["scale"]["domainMid"] == 0
    assert {"pain_ci_low", "pain_ci_high"} <= tooltip_fields(pain)


def test_charts_refuse_event_level_data():
    with pytest.raises(ParameterError, match="aggregated"):
        heatmap_chart(STAGED, "stage")
    with pytest.raises(ParameterError, match="aggregated"):
        funnel_chart(pl.DataFrame({"step": range(6000)}))


def test_funnel_chart_whiskers_and_breakdown():
    f = funnel(LOG, ["site_visit", "checkout", "purchase"], by="channel")
    spec = funnel_chart(f).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "rule"]
    assert spec["layer"][1]["encoding"]["y"]["field"] == "ci_low"
    assert spec["layer"][1]["encoding"]["y2"]["field"] == "ci_high"
    assert spec["layer"][0]["encoding"]["xOffset"]["field"] == "channel"
    assert spec["layer"][0]["encoding"]["x"]["sort"] == ["site_visit", "checkout", "purchase"]
    assert {"conversion_rate", "eligible", "censored", "ci_low"} <= tooltip_fields(spec)


def test_time_to_convert_and_transition_and_dropoff_charts():
    km = time_to_convert(LOG, ["site_visit", "checkout", "purchase"])
    spec = time_to_convert_chart(km).to_dict()
    assert spec["layer"][1]["mark"] == {"type": "line", "interpolate": "step-after"}
    assert {"converted_share", "at_risk", "ci_low"} <= tooltip_fields(spec)
    tr = transition_chart(stage_transitions(STAGED)).to_dict()
    assert tr["layer"][0]["encoding"]["y"]["sort"][0] == "(start)"
    d = drop_off_drivers(LOG, ["checkout", "purchase"], step=1)
    assert drop_off_chart(d).to_dict()["encoding"]["y"]["sort"][0] == d["touchpoint"][0]


def test_difference_heatmap():
    a = touchpoint_heatmap(STAGED.filter(pl.col("channel") == "web"))
    b = touchpoint_heatmap(STAGED)
    spec = difference_heatmap_chart(
        compare_heatmaps(a, b, labels=("web", "all")), "reach"
    ).to_dict()
    assert spec["layer"][0]["encoding"]["color"]["field"] == "difference"
    assert {"difference", "diff_ci_low", "reach (web)", "reach (all)"} <= tooltip_fields(spec)
    with pytest.raises(ParameterError, match="Did you mean 'reach'"):
        difference_heatmap_chart(compare_heatmaps(a, b), "reech")


def test_heatmap_explorer_folds_metrics_and_binds_a_dropdown():
    from cxlab.display.charts.journey import heatmap_explorer_chart

    # reach 0.5 / 0.25 scale to 1 / 0 within reach; pain 0.3 / -0.1 over max |pain| 0.3:
    # (0.3/0.3 + 1)/2 = 1, (-0.1/0.3 + 1)/2 = 1/3
    t = pl.DataFrame(
        {
            "stage": ["purchase", "purchase"],
            "touchpoint": ["checkout", "purchase"],
            "reach": [0.5, 0.25],
            "pain": [0.3, -0.1],
            "customers": [10, 5],
        }
    )
    spec = heatmap_explorer_chart(t, metrics=("reach", "pain", "not_a_column")).to_dict()
    param = spec["params"][0]
    assert param["bind"]["input"] == "select"
    assert param["bind"]["options"] == ["reach", "pain"]
    rows = next(iter(spec["datasets"].values()))
    scaled = {(r["metric"], r["touchpoint"]): r["scaled"] for r in rows}
    assert scaled[("reach", "checkout")] == 1.0 and scaled[("reach", "purchase")] == 0.0
    assert scaled[("pain", "checkout")] == 1.0
    assert abs(scaled[("pain", "purchase")] - 1 / 3) < 1e-12
    labels = {(r["metric"], r["touchpoint"]): r["label"] for r in rows}
    assert labels[("pain", "purchase")] == "-10%"
