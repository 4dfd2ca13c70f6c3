"""Tests for cxlab.display.charts.paths: specs build from aggregated frames, render offline with
vl-convert (no network, no extra JS), carry tooltips, and the Sankey geometry is exact."""

from __future__ import annotations

import datetime as dt
import json

import altair as alt
import polars as pl
import pytest
import vl_convert as vlc

from cxlab.analysis.attribution import compare_attribution
from cxlab.analysis.paths import (
    ENDED,
    compare_transitions,
    path_variants,
    stage_flows,
    step_matrix,
    transitions,
)
from cxlab.display.charts.paths import (
    attribution_bars,
    flow_layout,
    flow_sankey,
    step_matrix_heatmap,
    transition_heatmap,
    variant_bars,
)
from cxlab.errors import ParameterError

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
PATHS = {
    "c1": ["ad_click", "site_visit", "add_to_cart", "purchase"],
    "c2": ["ad_click", "site_visit"],
    "c3": ["email_open", "site_visit", "add_to_cart", "purchase", "review"],
    "c4": ["email_open", "support_call"],
    "c5": ["site_visit", "site_visit", "add_to_cart"],
    "c6": ["ad_click"],
}
CHANNEL = {"ad_click": "social", "email_open": "email", "support_call": "phone"}


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    rows = [
        {
            "customer_id": c,
            "timestamp": T0 + dt.timedelta(hours=i),
            "touchpoint": tp,
            "channel": CHANNEL.get(tp, "web"),
            "revenue": 20.0 if tp == "purchase" else None,
            "segment": "a" if c in ("c1", "c2", "c3") else "b",
        }
        for c, tps in PATHS.items()
        for i, tp in enumerate(tps)
    ]
    return pl.DataFrame(rows).with_row_index("source_row", offset=1)


def render(chart: alt.TopLevelMixin) -> str:
    """Render to SVG with the bundled Vega engine (offline)."""
    svg = vlc.vegalite_to_svg(chart.to_json())
    assert svg.startswith("<svg") and len(svg) > 1000
    return svg


def layers(spec: dict) -> list[dict]:
    out = []
    for key in ("layer", "hconcat", "vconcat"):
        for sub in spec.get(key, []):
            out += layers(sub)
    return out or [spec]


def has_tooltips(chart) -> bool:
    return any("tooltip" in lay.get("encoding", {}) for lay in layers(chart.to_dict()))


@pytest.mark.slow
def test_every_chart_renders_offline_with_tooltips(events, tmp_path):
    charts = [
        transition_heatmap(transitions(events)),
        transition_heatmap(
            compare_transitions(events, "segment", "a", "b"), value="probability_diff"
        ),
        step_matrix_heatmap(step_matrix(events, 5)),
        step_matrix_heatmap(step_matrix(events, 2, anchor="add_to_cart", steps_before=2)),
        variant_bars(path_variants(events)),
        variant_bars(path_variants(events, conversion=None)),
        flow_sankey(stage_flows(events, 4)),
        flow_sankey(stage_flows(events, 3, unit="stage")),
        attribution_bars(compare_attribution(events, by="channel", n_boot=20)),
        attribution_bars(compare_attribution(events, by="channel", n_boot=0), value="conversions"),
    ]
    for chart in charts:
        render(chart)
        assert has_tooltips(chart)
    # self-contained HTML: vega, vega-lite and vega-embed inlined, nothing fetched
    path = tmp_path / "flow.html"
    charts[6].save(str(path), inline=True)
    html = path.read_text()
    assert "cdn.jsdelivr" not in html and "<script src=" not in html
    assert "vega-embed" in html or "vegaEmbed" in html


def test_variant_points_say_what_grey_means():
    # two paths: 44 customers (a share to read: red point), 12 (grey: fewer than 30)
    v = pl.DataFrame(
        {
            "rank": [1, 2],
            "path": ["ad_impression > site_visit", "ad_click > site_visit"],
            "paths": [44, 12],
            "share": [0.8, 0.2],
            "conversion_rate": [0.05, 0.0],
            "ci_low": [0.01, 0.0],
            "ci_high": [0.15, 0.24],
            "small_n": [False, True],
        }
    )
    spec = variant_bars(v, title="Most common journey openings").to_dict()
    heading = spec["hconcat"][0]["title"]
    assert heading["text"] == "Most common journey openings"
    assert heading["subtitle"] == "Grey points: fewer than 30 customers took the path."
    plain = variant_bars(v.drop("conversion_rate", "ci_low", "ci_high", "small_n")).to_dict()
    assert "subtitle" not in plain["title"]


def test_specs_are_reproducible(events):
    a = flow_sankey(stage_flows(events, 4)).to_json()
    b = flow_sankey(stage_flows(events.sample(fraction=1.0, shuffle=True, seed=1), 4)).to_json()
    assert json.loads(a)["datasets"] == json.loads(b)["datasets"]


def test_flow_layout_geometry():
    # a(4) -> b(3), a -> ENDED(1) ; b(3) -> c(2), b -> ENDED(1)
    links = pl.DataFrame(
        {
            "step": [1, 1, 2, 2],
            "source": ["a", "a", "b", "b"],
            "target": ["b", ENDED, "c", ENDED],
            "paths": [3, 1, 2, 1],
            "share": [0.75, 0.25, 0.5, 0.25],
        }
    )
    nodes, bands = flow_layout(links, pad=0.25, samples=5)
    assert nodes.select("step", "label", "value").rows() == [
        (1, "a", 4),
        (2, "b", 3),
        (2, ENDED, 1),
        (3, "c", 2),
        (3, ENDED, 1),
    ]
    # gap = 0.25 * tallest column (4) = 1: ENDED of step 2 starts at 3 + 1
    assert nodes.filter((pl.col("step") == 2) & (pl.col("label") == ENDED))["y0"].item() == 4.0
    # every band is as thick as its link, at every sample
    assert (bands["y1"] - bands["y0"] == bands["paths"]).all()
    # bands leave the source stacked without overlap: a->b at 0..3, a->ENDED at 3..4
    start = bands.filter(pl.col("i") == 0).sort("link")
    assert start.select("target", "y0").rows()[:2] == [("b", 0.0), (ENDED, 3.0)]
    # and arrive at the top of their target node
    end = bands.filter(pl.col("i") == 4).sort("link")
    assert end.select("target", "y0").rows()[1] == (ENDED, 4.0)


def test_charts_refuse_event_level_or_wrong_frames(events):
    with pytest.raises(ParameterError, match="event-level"):
        transition_heatmap(
            events.rename({"touchpoint": "source"}).with_columns(
                target=pl.col("source"), probability=1.0
            )
        )
    with pytest.raises(ParameterError, match="step_matrix"):
        step_matrix_heatmap(transitions(events))
    with pytest.raises(ParameterError, match="'value'"):
        attribution_bars(compare_attribution(events, n_boot=0), value="revenue")
