"""altair views of churn clusters, churn drivers and retention curves.

Each function takes one small tidy frame that :mod:`cxlab.analysis.churn` already computed
(``ChurnClusters.scatter_frame()``, ``.profiles_``, ``.differences_``,
``ChurnDrivers.importances`` / ``.partial_dependence``, ``RetentionCurves.curves``) and
returns an altair chart. Frames are sorted here before they reach the spec.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from cxlab.display.charts._common import labelled
from cxlab.display.theme import (
    BAND_NOTE,
    PALETTE,
    WHISKERS_NOTE,
    WIDTH,
    interval,
    interval_tip,
    tip,
)
from cxlab.errors import DataError

__all__ = [
    "churn_rate_bars",
    "cluster_scatter",
    "driver_importance",
    "partial_dependence_curves",
    "profile_heatmap",
    "retention_chart",
]

_MAX_POINTS = 5000


def _need(frame: pl.DataFrame, columns: tuple[str, ...], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where} needs columns {', '.join(missing)}; got {', '.join(frame.columns)}."
        )


def cluster_scatter(points: pl.DataFrame, title: str = "Customers by cluster (PCA)") -> alt.Chart:
    """Scatter of sampled customers on the first two principal components, coloured by cluster.

    ``points`` is ``ChurnClusters.scatter_frame()`` (already sampled; at most 5,000 rows).

    Examples
    --------
    >>> pts = pl.DataFrame({"customer_id": ["a", "b"], "pc1": [0.0, 1.0], "pc2": [1.0, 0.0],
    ...                     "cluster": [0, 1], "label": ["x", "y"], "cluster_churn_rate": [0.1, 0.5],
    ...                     "cluster_n": [1, 1], "churned": [False, True]})
    >>> cluster_scatter(pts).to_dict()["mark"]["type"]
    'circle'
    """
    _need(
        points,
        ("pc1", "pc2", "cluster", "label", "cluster_churn_rate", "cluster_n"),
        "cluster_scatter",
    )
    if points.height > _MAX_POINTS:
        raise DataError(
            f"cluster_scatter got {points.height} points; sample first "
            f"(ChurnClusters.scatter_frame(sample=…), at most {_MAX_POINTS})."
        )
    data = points.sort(["cluster", "pc1", "pc2"]).with_columns(
        pl.col("cluster").cast(pl.String),
        pl.col("churned").cast(pl.String).fill_null("censored"),
    )
    return (
        alt.Chart(data, title=title)
        .mark_circle(size=28, opacity=0.6)
        .encode(
            x=alt.X("pc1:Q", title="principal component 1"),
            y=alt.Y("pc2:Q", title="principal component 2"),
            color=alt.Color("cluster:N", title="cluster"),
            tooltip=[
                alt.Tooltip("cluster:N"),
                alt.Tooltip("label:N", title="profile"),
                alt.Tooltip("cluster_n:Q", title="customers in cluster"),
                alt.Tooltip("cluster_churn_rate:Q", title="cluster churn rate", format=".1%"),
                alt.Tooltip("churned:N", title="this customer churned"),
            ],
        )
        .properties(width=420, height=340)
    )


def churn_rate_bars(
    profiles: pl.DataFrame, title: str = "Churn rate by customer group"
) -> alt.LayerChart:
    """Churn rate per cluster with Wilson whiskers; the highest-churn cluster is outlined.

    Examples
    --------
    >>> prof = pl.DataFrame({"cluster": [0, 1], "n": [80, 20], "n_judged": [80, 20],
    ...                      "churn_rate": [0.1, 0.6], "ci_low": [0.05, 0.39], "ci_high": [0.19, 0.78],
    ...                      "label": ["typical customers", "many support contacts overall"],
    ...                      "highest_churn": [False, True], "small_n": [False, True]})
    >>> len(churn_rate_bars(prof).to_dict()["layer"])
    2
    """
    _need(
        profiles,
        ("cluster", "n", "n_judged", "churn_rate", "ci_low", "ci_high", "label", "highest_churn"),
        "churn_rate_bars",
    )
    data = profiles.select(
        "n",
        "n_judged",
        "churn_rate",
        "ci_low",
        "ci_high",
        "label",
        "highest_churn",
        pl.format("{}: {}", pl.col("cluster"), pl.col("label")).alias("name"),
        "cluster",
    )
    # highest churn first, ties by group number: the order of the report's groups table
    data = (
        data.sort("churn_rate", "cluster", descending=[True, False], nulls_last=True)
        .drop("cluster")
        .rename({"name": "cluster"})
    )
    order = data["cluster"].to_list()
    base = interval(
        alt.Chart(data, title=alt.Title(title, subtitle=WHISKERS_NOTE)).encode(
            y=alt.Y("cluster:N", sort=order, title=None, axis=alt.Axis(labelLimit=300))
        )
    )
    bars = base.mark_bar().encode(
        x=alt.X("churn_rate:Q", title="Churn rate", axis=alt.Axis(format="%")),
        color=alt.condition("datum.highest_churn", alt.value("#c8423b"), alt.value("#9ecae1")),
        tooltip=[
            alt.Tooltip("cluster:N", title="Group"),
            tip("n", "Q", ","),
            alt.Tooltip("n_judged:Q", title="Customers whose status is known", format=","),
            tip("churn_rate", "Q", ".1%"),
            interval_tip(),
        ],
    )
    whiskers = base.mark_rule(color="#1d2733").encode(x="ci_low:Q", x2="ci_high:Q")
    return alt.layer(bars, whiskers).properties(width=WIDTH - 300)


def profile_heatmap(
    differences: pl.DataFrame,
    top: int = 12,
    title: str = "What sets each cluster apart (standardised difference)",
) -> alt.Chart:
    """Cluster × feature heatmap of standardised differences, for the most distinguishing features.

    ``differences`` is ``ChurnClusters.differences_``; the ``top`` features with the largest
    absolute difference in any cluster are shown.

    Examples
    --------
    >>> d = pl.DataFrame({"cluster": [0, 0, 1, 1], "feature": ["a", "b", "a", "b"],
    ...                   "std_difference": [0.5, -0.1, -0.5, 0.1], "cluster_mean": [1.0, 2, 0, 2],
    ...                   "rest_mean": [0.0, 2, 1, 2]})
    >>> profile_heatmap(d, top=1).data.height
    2
    """
    _need(
        differences,
        ("cluster", "feature", "std_difference", "cluster_mean", "rest_mean"),
        "profile_heatmap",
    )
    keep = (
        differences.group_by("feature")
        .agg(pl.col("std_difference").abs().max().alias("m"))
        .sort(["m", "feature"], descending=[True, False])
        .head(top)["feature"]
        .to_list()
    )
    data = labelled(
        differences.filter(pl.col("feature").is_in(keep))
        .with_columns(pl.col("cluster").cast(pl.String))
        .sort(["cluster", "feature"]),
        ["feature"],
    )
    keep = labelled(pl.DataFrame({"feature": keep}), ["feature"])["feature"].to_list()
    limit = max(1.0, float(data["std_difference"].abs().max() or 1.0))
    return (
        alt.Chart(data, title=title)
        .mark_rect()
        .encode(
            x=alt.X("cluster:N", title="Group"),
            y=alt.Y("feature:N", sort=keep, title=None),
            color=alt.Color(
                "std_difference:Q",
                title="Difference (standard deviations)",
                scale=alt.Scale(scheme="redblue", domain=[limit, -limit]),
            ),
            tooltip=[
                alt.Tooltip("cluster:N", title="Group"),
                alt.Tooltip("feature:N", title="Trait"),
                alt.Tooltip(
                    "std_difference:Q", title="Difference (standard deviations)", format=".2f"
                ),
                alt.Tooltip("cluster_mean:Q", title="Average in the group", format=",.2f"),
                alt.Tooltip("rest_mean:Q", title="Average elsewhere", format=",.2f"),
            ],
        )
        .properties(width=60 * max(1, data["cluster"].n_unique()), height=18 * len(keep))
    )


def driver_importance(
    importances: pl.DataFrame,
    top: int = 10,
    title: str = "Customer traits that predict churn",
) -> alt.LayerChart:
    """Permutation importance per model with 95% whiskers, for the ``top`` features.

    Examples
    --------
    >>> imp = pl.DataFrame({"model": ["logistic", "gradient_boosting"], "feature": ["a", "a"],
    ...                     "importance": [0.1, 0.2], "sd": [0.01, 0.02], "ci_low": [0.08, 0.15],
    ...                     "ci_high": [0.12, 0.25], "rank": [1, 1]})
    >>> driver_importance(imp).data.height
    2
    """
    _need(
        importances,
        ("model", "feature", "importance", "ci_low", "ci_high", "rank"),
        "driver_importance",
    )
    keep = (
        importances.group_by("feature")
        .agg(pl.col("importance").max().alias("m"))
        .sort(["m", "feature"], descending=[True, False])
        .head(top)["feature"]
        .to_list()
    )
    data = labelled(
        importances.filter(pl.col("feature").is_in(keep)).sort(["model", "rank"]),
        ["feature", "model"],
    )
    keep = labelled(pl.DataFrame({"feature": keep}), ["feature"])["feature"].to_list()
    base = interval(
        alt.Chart(
            data,
            title=alt.Title(
                title,
                subtitle="How much each model's accuracy drops when the trait is scrambled. "
                + WHISKERS_NOTE,
            ),
        ),
        fmt=".3f",
    ).encode(
        y=alt.Y("feature:N", sort=keep, title=None, axis=alt.Axis(labelLimit=300)),
        yOffset=alt.YOffset("model:N"),
        color=alt.Color("model:N", title="Model"),
    )
    points = base.mark_point(filled=True, size=60).encode(
        x=alt.X("importance:Q", title="Drop in accuracy when scrambled"),
        tooltip=[
            alt.Tooltip("model:N", title="Model"),
            alt.Tooltip("feature:N", title="Trait"),
            alt.Tooltip("rank:Q", title="Rank"),
            alt.Tooltip("importance:Q", title="Drop in accuracy", format=".3f"),
            interval_tip(),
        ],
    )
    whiskers = base.mark_rule().encode(x="ci_low:Q", x2="ci_high:Q")
    return alt.layer(whiskers, points).properties(width=WIDTH - 260, height=28 * len(keep))


def partial_dependence_curves(
    partial: pl.DataFrame, title: str = "Predicted churn as one driver changes"
) -> alt.FacetChart:
    """One small panel per top driver: average predicted churn probability across its values.

    Examples
    --------
    >>> pdp = pl.DataFrame({"model": ["logistic"] * 2, "feature": ["a"] * 2, "value": [0.0, 1.0],
    ...                     "churn_probability": [0.2, 0.4]})
    >>> "facet" in partial_dependence_curves(pdp).to_dict()
    True
    """
    _need(partial, ("model", "feature", "value", "churn_probability"), "partial_dependence_curves")
    data = partial.sort(["feature", "model", "value"])
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("value:Q", title="feature value"),
            y=alt.Y("churn_probability:Q", title="predicted churn", axis=alt.Axis(format="%")),
            color=alt.Color("model:N"),
            tooltip=[
                alt.Tooltip("feature:N"),
                alt.Tooltip("model:N"),
                alt.Tooltip("value:Q", format=".2f"),
                alt.Tooltip("churn_probability:Q", format=".1%"),
            ],
        )
        .properties(width=200, height=150)
        .facet(facet=alt.Facet("feature:N", title=None), columns=2, title=title)
        .resolve_scale(x="independent")
    )


def retention_chart(
    curves: pl.DataFrame,
    title: str = "Share of customers still active",
    *,
    order: list[str] | None = None,
) -> alt.LayerChart:
    """Kaplan–Meier retention per group as steps with a confidence band.

    ``curves`` is ``RetentionCurves.curves``. ``order``: the groups in the order a table next
    to the chart lists them (e.g. highest churn first); the legend follows it and says the
    lines are numbered as in the table.

    Examples
    --------
    >>> c = pl.DataFrame({"group": ["x", "x"], "day": [0.0, 10.0], "retention": [1.0, 0.5],
    ...                   "ci_low": [1.0, 0.2], "ci_high": [1.0, 0.8], "at_risk": [4, 2]})
    >>> len(retention_chart(c).to_dict()["layer"])
    2
    """
    _need(curves, ("group", "day", "retention", "ci_low", "ci_high", "at_risk"), "retention_chart")
    data = curves.sort(["group", "day"]).with_columns(pl.col("group").cast(pl.String))
    subtitle = [BAND_NOTE] if order is None else [BAND_NOTE, "Groups numbered as in the table."]
    base = interval(alt.Chart(data, title=alt.Title(title, subtitle=subtitle))).encode(
        x=alt.X("day:Q", title="Days since first seen"),
        color=alt.Color(
            "group:N",
            title="Group",
            sort=alt.Undefined if order is None else order,
            scale=alt.Scale(range=PALETTE),
            legend=alt.Legend(symbolOpacity=1, symbolType="stroke", symbolStrokeWidth=3),
        ),
    )
    band = base.mark_area(opacity=0.15, interpolate="step-after").encode(
        y=alt.Y(
            "ci_low:Q",
            title="Still active",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        y2="ci_high:Q",
    )
    line = base.mark_line(interpolate="step-after").encode(
        y="retention:Q",
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("day:Q", title="Day", format=".0f"),
            alt.Tooltip("retention:Q", title="Still active", format=".1%"),
            interval_tip(),
            alt.Tooltip("at_risk:Q", title="Customers still followed", format=","),
        ],
    )
    return alt.layer(band, line).properties(width=WIDTH - 60, height=280)
