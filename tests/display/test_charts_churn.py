"""altair churn charts: they validate, take small sorted frames, carry tooltips."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cxlab.analysis.churn import ChurnClusters, retention_curves
from cxlab.display.charts.churn import (
    churn_rate_bars,
    cluster_scatter,
    driver_importance,
    partial_dependence_curves,
    profile_heatmap,
    retention_chart,
)
from cxlab.errors import DataError


@pytest.fixture(scope="module")
def fitted() -> tuple[ChurnClusters, pl.DataFrame]:
    rng = np.random.default_rng(0)
    n = 120
    hi = np.arange(n) < 40  # 40 heavy support callers, 20 of them churn
    f = pl.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "support_contacts": np.where(hi, rng.poisson(6, n), rng.poisson(0.3, n)),
            "frequency": rng.poisson(10, n),
        }
    )
    lab = pl.DataFrame(
        {
            "customer_id": f["customer_id"],
            "churned": hi & (np.arange(n) % 2 == 0),
            "censored": [False] * n,
            "duration_days": rng.uniform(10, 300, n),
            "event_observed": hi & (np.arange(n) % 2 == 0),
        }
    )
    return ChurnClusters(k=2, n_boot=0).fit(f, lab), lab


def _tooltips(spec: dict) -> list[str]:
    layers = spec.get("layer", [spec])
    found = []
    for layer in layers:
        tips = layer.get("encoding", {}).get("tooltip", [])
        found += [t["field"] for t in tips]
    return found


def _values(chart) -> list[dict]:
    spec = chart.to_dict()
    return next(iter(spec["datasets"].values()))


def test_cluster_scatter(fitted):
    model, _ = fitted
    chart = cluster_scatter(model.scatter_frame(sample=60))
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert {"label", "cluster_churn_rate", "cluster_n"} <= set(_tooltips(spec))
    values = _values(chart)
    assert len(values) == 60
    assert [v["cluster"] for v in values] == sorted(v["cluster"] for v in values)


def test_scatter_refuses_unsampled_data():
    big = pl.DataFrame(
        {
            "pc1": np.zeros(5001),
            "pc2": 0.0,
            "cluster": 0,
            "label": "x",
            "cluster_churn_rate": 0.1,
            "cluster_n": 5001,
            "churned": False,
        }
    )
    with pytest.raises(DataError, match="sample first"):
        cluster_scatter(big)


def test_churn_rate_bars_sorted_with_whiskers(fitted):
    model, _ = fitted
    chart = churn_rate_bars(model.profiles_)
    spec = chart.to_dict()
    assert [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        for layer in spec["layer"]
    ] == ["bar", "rule"]
    rates = [v["churn_rate"] for v in _values(chart)]
    assert rates == sorted(rates, reverse=True)
    # the interval is one readable tooltip line ("12.0% to 30.1%"), not ci_low / ci_high
    assert {"n", "interval_95"} <= set(_tooltips(spec))
    assert not {"ci_low", "ci_high"} & set(_tooltips(spec))


def test_profile_heatmap_keeps_top_features(fitted):
    model, _ = fitted
    chart = profile_heatmap(model.differences_, top=1)
    values = _values(chart)
    # the planted difference, shown with its display label
    assert {v["feature"] for v in values} == {"Support contacts"}
    domain = chart.to_dict()["encoding"]["color"]["scale"]["domain"]
    assert domain[0] == -domain[1]  # centred at zero


def test_driver_importance_and_pd():
    imp = pl.DataFrame(
        {
            "model": ["logistic", "logistic", "gradient_boosting", "gradient_boosting"],
            "feature": ["a", "b", "a", "b"],
            "importance": [0.2, 0.01, 0.3, 0.02],
            "sd": 0.01,
            "ci_low": [0.15, 0.0, 0.25, 0.0],
            "ci_high": [0.25, 0.02, 0.35, 0.04],
            "rank": [1, 2, 1, 2],
        }
    )
    chart = driver_importance(imp, top=1)
    assert {v["feature"] for v in _values(chart)} == {"A"}  # display label of "a"
    assert {v["model"] for v in _values(chart)} == {"Simple model", "Flexible model"}
    assert {"interval_95", "rank"} <= set(_tooltips(chart.to_dict()))
    pdp = pl.DataFrame(
        {
            "model": ["logistic"] * 3,
            "feature": ["a"] * 3,
            "value": [2.0, 0.0, 1.0],
            "churn_probability": [0.5, 0.1, 0.3],
        }
    )
    values = _values(partial_dependence_curves(pdp))
    assert [v["value"] for v in values] == [0.0, 1.0, 2.0]


def test_retention_chart(fitted):
    model, lab = fitted
    rc = retention_curves(lab, model.assignments(), n_points=30)
    chart = retention_chart(rc.curves)
    spec = chart.to_dict()
    assert len(_values(chart)) == 2 * 30  # two clusters × the grid: small, not per customer
    assert spec["layer"][0]["mark"]["type"] == "area"
    assert "at_risk" in _tooltips(spec)


def test_missing_columns_are_explained():
    with pytest.raises(DataError, match="needs columns"):
        retention_chart(pl.DataFrame({"group": ["x"]}))
