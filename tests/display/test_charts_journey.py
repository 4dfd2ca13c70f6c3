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
from cxlab.display.labels import display_label
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
    # the interval is one tooltip line built from reach_ci_low / reach_ci_high
    assert {"reach", "customers", "interval_95"} <= tooltip_fields(spec)
    assert "reach_ci_low" in spec["layer"][0]["transform"][0]["calculate"]
    y_sort = spec["layer"][0]["encoding"]["y"]["sort"]
    # journey order, with display labels
    assert y_sort == ["Awareness", "Consideration", "Purchase", "Advocacy"]
    titles = {t["field"]: t["title"] for t in spec["layer"][0]["encoding"]["tooltip"]}
    assert titles["customers"] == "Customers" and titles["interval_95"] == "95% interval"
    pain = heatmap_chart(touchpoint_heatmap(STAGED), "pain").to_dict()
    assert pain["layer"][0]["encoding"]["color"]["scale"]["domainMid"] == 0
    assert "pain_ci_low" in pain["layer"][0]["transform"][0]["calculate"]


def test_charts_refuse_event_level_data():
    with pytest.raises(ParameterError, match="aggregated"):
        heatmap_chart(STAGED, "stage")
    with pytest.raises(ParameterError, match="aggregated"):
        funnel_chart(pl.DataFrame({"step": range(6000)}))


def test_funnel_chart_is_a_funnel_with_counts_and_drop_off():
    # a reaches all three steps, b two, c one: 3 -> 2 -> 1 customers
    f = funnel(LOG, ["site_visit", "checkout", "purchase"])
    chart = funnel_chart(f)
    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "text", "text", "text"]
    bars = spec["layer"][0]["encoding"]
    assert bars["x"]["field"] == "bar_start" and bars["x2"]["field"] == "bar_end"
    assert bars["y"]["sort"] == ["Site visit", "Checkout", "Purchase"]  # labelled, step order
    (rows,) = spec["datasets"].values()
    # bars centred on 0, as wide as the customers; lost = entered - converted
    assert [(r["bar_start"], r["bar_end"]) for r in rows] == [(-1.5, 1.5), (-1.0, 1.0), (-0.5, 0.5)]
    assert [r["lost"] for r in rows] == [0, 1, 1]
    assert [round(r["share_of_start"], 4) for r in rows] == [1.0, 0.6667, 0.3333]
    between = " ".join(t.get("calculate", "") for t in spec["layer"][3]["transform"])
    assert "did not go on" in between
    assert {"converted", "conversion_rate", "interval_95"} <= tooltip_fields(spec)


def test_funnel_chart_says_not_tracked_and_breaks_down():
    f = pl.DataFrame(
        {
            "step": [1, 2],
            "step_name": ["consideration", "advocacy"],
            "entered": [10, 10],
            "converted": [10, None],
            "conversion_rate": [1.0, None],
        }
    )
    spec = funnel_chart(f).to_dict()
    (rows,) = spec["datasets"].values()
    assert [r["is_tracked"] for r in rows] == [True, False]
    assert "not tracked" in str(spec["layer"][2]["transform"])
    by = funnel(LOG, ["site_visit", "checkout", "purchase"], by="channel")
    grouped = funnel_chart(by).to_dict()
    assert grouped["layer"][0]["encoding"]["yOffset"]["field"] == "channel"
    assert grouped["layer"][0]["encoding"]["y"]["sort"] == ["Site visit", "Checkout", "Purchase"]


def test_time_to_convert_and_transition_and_dropoff_charts():
    km = time_to_convert(LOG, ["site_visit", "checkout", "purchase"])
    spec = time_to_convert_chart(km).to_dict()
    assert spec["layer"][1]["mark"] == {"type": "line", "interpolate": "step-after"}
    assert {"converted_share", "at_risk", "interval_95"} <= tooltip_fields(spec)
    tr = transition_chart(stage_transitions(STAGED)).to_dict()
    assert tr["layer"][0]["encoding"]["y"]["sort"][0] == "(start)"
    d = drop_off_drivers(LOG, ["checkout", "purchase"], step=1)
    first = drop_off_chart(d).to_dict()["encoding"]["y"]["sort"][0]
    assert first == display_label(d["touchpoint"][0])


def test_difference_heatmap():
    a = touchpoint_heatmap(STAGED.filter(pl.col("channel") == "web"))
    b = touchpoint_heatmap(STAGED)
    spec = difference_heatmap_chart(
        compare_heatmaps(a, b, labels=("web", "all")), "reach"
    ).to_dict()
    assert spec["layer"][0]["encoding"]["color"]["field"] == "difference"
    assert {"difference", "interval_95", "reach (web)", "reach (all)"} <= tooltip_fields(spec)
    assert "diff_ci_low" in spec["layer"][0]["transform"][0]["calculate"]
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
    rows = next(d for d in spec["datasets"].values() if "scaled" in d[0])
    scaled = {(r["metric"], r["touchpoint"]): r["scaled"] for r in rows}
    assert scaled[("reach", "Checkout")] == 1.0 and scaled[("reach", "Purchase")] == 0.0
    assert scaled[("pain", "Checkout")] == 1.0
    assert abs(scaled[("pain", "Purchase")] - 1 / 3) < 1e-12
    labels = {(r["metric"], r["touchpoint"]): r["label"] for r in rows}
    assert labels[("pain", "Purchase")] == "-10%"


def test_heatmap_explorer_legend_follows_the_picked_metric():
    # reach runs 0.25..0.5 and pain -0.1..0.3: the legend's ticks are each metric's own
    # low / middle / high (pain is centred on 0: -0.3, 0, 0.3 over max |pain| = 0.3)
    from cxlab.display.charts.journey import heatmap_explorer_chart

    t = pl.DataFrame(
        {
            "stage": ["purchase", "purchase"],
            "touchpoint": ["checkout", "purchase"],
            "reach": [0.5, 0.25],
            "pain": [0.3, -0.1],
            "customers": [10, 5],
        }
    )
    spec = heatmap_explorer_chart(t, metrics=("reach", "pain")).to_dict()
    ticks = next(d for d in spec["datasets"].values() if "label" in d[0] and "scaled" not in d[0])
    by_metric = {}
    for r in ticks:
        by_metric.setdefault(r["metric"], []).append(r["label"])
    assert by_metric == {"pain": ["-30%", "0%", "30%"], "reach": ["25%", "38%", "50%"]}
    legend = spec["hconcat"][1]["layer"]
    assert all("metric_choice" in str(layer["transform"]) for layer in legend)


def test_heatmap_cell_labels_are_whole_counts_or_whole_percentages():
    # 2,035 events is labelled "2,035" (not "2,035.0"); a reach of 0.25 is labelled "25%"
    table = pl.DataFrame(
        {
            "stage": ["awareness", "purchase"],
            "touchpoint": ["ad_click", "purchase"],
            "events": [2035, 12],
            "customers": [10, 3],
            "reach": [0.5, 0.25],
        }
    )

    def formats(chart):
        spec = chart.to_dict()
        text = [layer for layer in spec["layer"] if "text" in layer["encoding"]][0]
        legend = [layer for layer in spec["layer"] if "color" in layer["encoding"]][0]
        return text["encoding"]["text"]["format"], legend["encoding"]["color"]["legend"]["format"]

    # the legend's ticks whole too: "," alone lets Vega give them a precision ("2e+3")
    assert formats(heatmap_chart(table, "events")) == (",", ",.0f")
    assert formats(heatmap_chart(table, "reach")) == (".0%", ".0%")
    assert formats(heatmap_chart(table.with_columns(pl.col("events") / 7), "events")) == (
        ",.1f",
        ",.1f",
    )


def test_heatmap_chart_fits_many_touchpoints():
    """Many touchpoints: cells sized to fit, long names cut (full in the tooltip), cell text
    only where it fits."""
    names = [f"touchpoint_{i:02d}_account_settings_page" for i in range(30)]
    many = pl.DataFrame(
        {
            "stage": ["consideration"] * 15 + ["purchase"] * 15,
            "touchpoint": names,
            "reach": [0.5] * 30,
            "customers": [10] * 30,
        }
    )
    # 30 columns: 560 px / 30 = 18 px, kept at the 20 px minimum; "50%" (3 characters) needs
    # 3 x 6.2 + 6 = 24.6 px, so no cell text, only colours (one layer)
    wide = heatmap_chart(many, "reach").to_dict()
    assert [layer["mark"]["type"] for layer in wide["layer"]] == ["rect"]
    assert wide["width"] == {"step": 20}
    assert wide["layer"][0]["encoding"]["x"]["axis"] == {"labelAngle": -40, "labelLimit": 150}
    assert "touchpoint" in tooltip_fields(wide)  # the full name, where the label is cut
    # touchpoints as rows: 2 stage columns of 90 px (560 / 2 = 280, at most 90), rows of 22 px
    # (30 rows), so the chart is 30 x 22 = 660 px high and the cell text fits
    tall = heatmap_chart(many, "reach", x="stage", y="touchpoint").to_dict()
    assert [layer["mark"]["type"] for layer in tall["layer"]] == ["rect", "text"]
    assert (tall["width"], tall["height"]) == ({"step": 90}, {"step": 22})
    assert tall["layer"][0]["encoding"]["y"]["axis"] == {"labelLimit": 170}
    # 31 rows: 16 px rows (the chart stays under 500 px high); 10 px text still fits (>= 15)
    more = pl.concat([many, many.head(1).with_columns(touchpoint=pl.lit("one_more"))])
    low = heatmap_chart(more, "reach", x="stage", y="touchpoint").to_dict()
    assert low["height"] == {"step": 16} and len(low["layer"]) == 2
