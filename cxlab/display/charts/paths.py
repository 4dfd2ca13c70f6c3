"""altair charts for paths and attribution.

Each function takes the small aggregated frame of a :mod:`cxlab.analysis.paths` /
:mod:`cxlab.analysis.attribution` function and returns a chart that is pure Vega-Lite: it renders offline
with vega / vega-lite / vega-embed only (``chart.save("x.html", inline=True)`` or
``vl_convert``), no extra JavaScript. The Sankey-style flow is drawn with layered ``rect`` marks
(nodes) and ``area`` marks (links) whose geometry is computed in polars.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from cxlab.analysis.paths import ENDED, OTHER
from cxlab.contract.schema import STAGES
from cxlab.display.charts._common import labelled
from cxlab.display.labels import display_label, in_sentence
from cxlab.display.theme import PALETTE, WIDTH, interval, interval_tip
from cxlab.errors import ParameterError

__all__ = [
    "transition_heatmap",
    "step_matrix_heatmap",
    "variant_bars",
    "flow_sankey",
    "flow_layout",
    "attribution_bars",
]

# tableau20 without the greys; ENDED / other get fixed greys
_PALETTE = [
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#9ecae9",
    "#ffbf79",
    "#88d27a",
    "#ff9d98",
    "#83bcb6",
    "#f2cf5b",
    "#d6a5c9",
]


def _require(frame: pl.DataFrame, cols: Sequence[str], func: str, source: str) -> pl.DataFrame:
    if not isinstance(frame, pl.DataFrame):
        raise ParameterError(
            f"{func} takes a polars DataFrame (the output of {source}). Got {type(frame).__name__}."
        )
    missing = [c for c in cols if c not in frame.columns]
    if missing or "timestamp" in frame.columns:
        raise ParameterError(
            f"{func} takes the small aggregated frame returned by {source}, with columns "
            f"{', '.join(cols)}. Missing: {', '.join(missing) or 'none'}"
            + (
                "; it looks like event-level data (has 'timestamp')."
                if "timestamp" in frame.columns
                else "."
            )
        )
    return frame


def _color_scale(labels: Sequence[str]) -> alt.Scale:
    plain = sorted(x for x in set(labels) if x not in (ENDED, OTHER))
    domain = plain + [x for x in (OTHER, ENDED) if x in set(labels)]
    rng = [_PALETTE[i % len(_PALETTE)] for i in range(len(plain))]
    rng += ["#c7c7c7" if x == OTHER else "#8c8c8c" for x in domain[len(plain) :]]
    return alt.Scale(domain=domain, range=rng)


def transition_heatmap(
    trans: pl.DataFrame, value: str = "probability", *, title: str | None = None
) -> alt.Chart:
    """Heatmap of transitions: rows are the source touchpoint, columns the next one.

    Parameters
    ----------
    trans : DataFrame
        Output of :func:`cxlab.analysis.paths.transitions` or :func:`cxlab.analysis.paths.compare_transitions`.
    value : str, default "probability"
        Column coloured: ``probability``, ``share``, ``count``, ``mean_seconds`` … or a
        ``*_diff`` column of ``compare_transitions`` (diverging colours centred on 0).

    Examples
    --------
    >>> t = pl.DataFrame({"source": ["a"], "target": ["b"], "count": [3], "probability": [1.0]})
    >>> transition_heatmap(t).to_dict()["layer"][0]["mark"]["type"]
    'rect'
    """
    func = "transition_heatmap"
    _require(trans, ["source", "target", value], func, "cxlab.analysis.paths.transitions")
    data = labelled(trans.sort("source", "target"), ["source", "target"])
    labels = [display_label(v) for v in sorted(set(trans["source"]) | set(trans["target"]))]
    diff = value.endswith("_diff")
    scale = (
        alt.Scale(scheme="redblue", domainMid=0, reverse=True)
        if diff
        else alt.Scale(scheme="blues")
    )
    tips = [
        alt.Tooltip(c, format=".3f" if data.schema[c].is_float() else ",", title=display_label(c))
        for c in data.columns
        if c not in ("source", "target")
    ]
    base = alt.Chart(
        data, title=title or f"Transitions: {in_sentence(display_label(value))}"
    ).encode(
        x=alt.X("target:N", sort=labels, title="Next touchpoint"),
        y=alt.Y("source:N", sort=labels, title="Touchpoint"),
    )
    rect = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=scale, title=display_label(value)),
        tooltip=[
            alt.Tooltip("source:N", title="Touchpoint"),
            alt.Tooltip("target:N", title="Next touchpoint"),
            *tips,
        ],
    )
    fmt = ",.0f" if not data.schema[value].is_float() else ".2f"
    text = base.mark_text(fontSize=9).encode(text=alt.Text(f"{value}:Q", format=fmt))
    return (rect + text).properties(
        width=max(200, 28 * len(labels)), height=max(200, 24 * len(labels))
    )


def step_matrix_heatmap(sm: pl.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Heatmap of a step matrix: touchpoints by step, coloured by the share of paths.

    Rows are ordered by their total share (largest first), ``ENDED`` last; cells show the share.

    Examples
    --------
    >>> sm = pl.DataFrame({"step": [1, 1], "touchpoint": ["a", "ENDED"], "paths": [2, 0],
    ...                    "share": [1.0, 0.0], "n_paths": [2, 2]})
    >>> step_matrix_heatmap(sm).to_dict()["layer"][0]["mark"]["type"]
    'rect'
    """
    func = "step_matrix_heatmap"
    _require(
        sm,
        ["step", "touchpoint", "share", "paths", "n_paths"],
        func,
        "cxlab.analysis.paths.step_matrix",
    )
    data = sm.sort("step", "touchpoint")
    order = (
        data.filter(pl.col("touchpoint") != ENDED)
        .group_by("touchpoint")
        .agg(pl.col("share").sum())
        .sort(["share", "touchpoint"], descending=[True, False])["touchpoint"]
        .to_list()
    ) + [ENDED]
    order = [display_label(v) for v in order]
    data = labelled(data, ["touchpoint"])
    n = int(data["n_paths"].max() or 0)
    base = alt.Chart(data, title=title or f"Step matrix (n = {n:,} paths)").encode(
        x=alt.X("step:O", title="Step"), y=alt.Y("touchpoint:N", sort=order, title=None)
    )
    rect = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="greens", domain=[0, 1]), title="Share"),
        tooltip=[
            alt.Tooltip("step:O", title="Step"),
            alt.Tooltip("touchpoint:N", title="Touchpoint"),
            alt.Tooltip("share:Q", format=".1%", title="Share of paths"),
            alt.Tooltip("paths:Q", format=",", title="Paths"),
            alt.Tooltip("n_paths:Q", format=",", title="All paths"),
        ],
    )
    text = base.mark_text(fontSize=9).encode(
        text=alt.condition(
            "datum.share >= 0.005", alt.Text("share:Q", format=".0%"), alt.value("")
        ),
        color=alt.condition("datum.share > 0.6", alt.value("white"), alt.value("black")),
    )
    steps = data["step"].n_unique()
    return (rect + text).properties(width=max(240, 40 * steps), height=max(160, 20 * len(order)))


def variant_bars(
    variants: pl.DataFrame, *, title: str | None = None
) -> alt.HConcatChart | alt.Chart:
    """Top path variants: bars of the number of paths, and the conversion rate with its interval.

    Examples
    --------
    >>> v = pl.DataFrame({"rank": [1], "path": ["a > b"], "n_steps": [2], "paths": [5], "share": [1.0]})
    >>> type(variant_bars(v)).__name__
    'Chart'
    """
    func = "variant_bars"
    _require(
        variants, ["rank", "path", "paths", "share"], func, "cxlab.analysis.paths.path_variants"
    )
    data = variants.sort("rank")
    steps = data["path"].str.split(" > ").explode().drop_nulls().unique().sort().to_list()
    names = {v: display_label(v) for v in steps}
    data = data.with_columns(
        path=pl.col("path").str.split(" > ").list.eval(pl.element().replace(names)).list.join(" › ")
    ).with_columns(label=pl.col("path").str.slice(0, 80))
    order = data["label"].to_list()
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=420))
    tips = [
        alt.Tooltip("path:N", title="Path"),
        alt.Tooltip("paths:Q", format=",", title="Customers who took it"),
        alt.Tooltip("share:Q", format=".1%", title="Share of customers"),
    ]
    converts = "conversion_rate" in data.columns
    # the points' two colours need a key: grey is a share read on too few customers
    key = {"subtitle": "Grey points: fewer than 30 customers took the path."} if converts else {}
    heading = alt.Title(title or "Top paths", **key)
    bars = (
        alt.Chart(data, title=heading)
        .mark_bar(color=PALETTE[0])
        .encode(x=alt.X("paths:Q", title="Customers"), y=y, tooltip=tips)
        .properties(width=200, height=max(120, 22 * data.height))
    )
    if not converts:
        return bars
    tips_c = [
        *tips,
        alt.Tooltip("conversion_rate:Q", format=".1%", title="Went on to buy"),
        interval_tip(),
        alt.Tooltip("few:N", title="Fewer than 30 customers"),
    ]
    base = (
        interval(alt.Chart(data))
        .transform_calculate(few="datum.small_n ? 'yes' : 'no'")
        .encode(y=alt.Y("label:N", sort=order, title=None, axis=None))
    )
    whisker = base.mark_rule(color="#555").encode(
        x=alt.X(
            "ci_low:Q",
            title="Went on to buy (line: the likely range)",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        x2="ci_high:Q",
        tooltip=tips_c,
    )
    point = base.mark_point(filled=True, size=60).encode(
        x="conversion_rate:Q",
        color=alt.condition("datum.small_n", alt.value("#bbbbbb"), alt.value("#c8423b")),
        tooltip=tips_c,
    )
    return alt.hconcat(
        bars, (whisker + point).properties(width=150, height=max(120, 22 * data.height))
    )


def flow_layout(
    links: pl.DataFrame, *, node_width: float = 0.12, pad: float = 0.04, samples: int = 24
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Node rectangles and link bands of a step-wise Sankey, computed in polars.

    Columns are steps (x = step); in a column, stage labels are stacked in journey order,
    other labels by size (largest on top), ``other`` then ``ENDED`` at the bottom, with a gap of ``pad`` × the tallest column. A
    link's band has the link's value as its height at both ends: it leaves its source node
    ordered by target position and enters its target ordered by source position.

    Returns
    -------
    (nodes, bands)
        nodes: ``step``, ``label``, ``value``, ``x0``, ``x1``, ``y0``, ``y1``;
        bands: ``link`` (id), ``step``, ``source``, ``target``, ``paths``, ``share``, ``i``,
        ``x``, ``y0``, ``y1`` (``samples`` points per link).

    Examples
    --------
    >>> links = pl.DataFrame({"step": [1, 1], "source": ["a", "a"], "target": ["b", "ENDED"],
    ...                       "paths": [3, 1], "share": [0.75, 0.25]})
    >>> nodes, bands = flow_layout(links)
    >>> nodes.select("step", "label", "value").rows()
    [(1, 'a', 4), (2, 'b', 3), (2, 'ENDED', 1)]
    """
    _require(
        links,
        ["step", "source", "target", "paths", "share"],
        "flow_layout",
        "cxlab.analysis.paths.stage_flows",
    )
    links = links.with_columns(pl.col("step").cast(pl.Int32), pl.col("paths").cast(pl.Int64))
    nodes = _flow_nodes(links, node_width, pad)
    return nodes, _flow_bands(links, nodes, node_width, samples)


def _flow_nodes(links: pl.DataFrame, node_width: float, pad: float) -> pl.DataFrame:
    """Node rectangles of :func:`flow_layout`: a node's height is the larger of its paths in
    and out; nodes are stacked per step with a gap of ``pad`` × the tallest step."""
    outgoing = links.group_by("step", pl.col("source").alias("label")).agg(
        out=pl.col("paths").sum()
    )
    incoming = links.group_by(
        (pl.col("step") + 1).alias("step"), pl.col("target").alias("label")
    ).agg(inn=pl.col("paths").sum())
    rank = (
        pl.when(pl.col("label") == ENDED)
        .then(2)
        .when(pl.col("label") == OTHER)
        .then(1)
        .otherwise(0)
    )
    nodes = (
        outgoing.join(incoming, on=["step", "label"], how="full", coalesce=True)
        .with_columns(
            value=pl.max_horizontal(pl.col("out").fill_null(0), pl.col("inn").fill_null(0))
        )
        .with_columns(
            _rank=rank,
            _stage=pl.col("label").replace_strict(
                {s: i for i, s in enumerate(STAGES)}, default=len(STAGES), return_dtype=pl.Int32
            ),
        )
        .sort(
            ["step", "_rank", "_stage", "value", "label"],
            descending=[False, False, False, True, False],
        )
    )
    tallest = nodes.group_by("step").agg(pl.col("value").sum())["value"].max() or 1
    gap = pad * tallest
    nodes = (
        nodes.with_columns(_i=pl.int_range(pl.len()).over("step"))
        .with_columns(
            y0=(pl.col("value").cum_sum().over("step") - pl.col("value")) + pl.col("_i") * gap
        )
        .with_columns(
            y1=pl.col("y0") + pl.col("value"),
            x0=pl.col("step") - node_width / 2,
            x1=pl.col("step") + node_width / 2,
        )
        .select("step", "label", "value", "x0", "x1", "y0", "y1")
    )
    return nodes


def _flow_bands(
    links: pl.DataFrame, nodes: pl.DataFrame, node_width: float, samples: int
) -> pl.DataFrame:
    """Link bands of :func:`flow_layout`: ``samples`` points of a smoothstep curve per link,
    from its slot in the source node to its slot in the target node."""
    pos = nodes.select("step", "label", "y0")
    lk = (
        links.with_row_index("link")
        .join(pos.rename({"label": "source", "y0": "sy"}), on=["step", "source"])
        .join(
            pos.rename({"label": "target", "y0": "ty"}).with_columns(pl.col("step") - 1),
            on=["step", "target"],
        )
        .sort("link")
        .with_columns(
            # leave the source ordered by target position, enter the target ordered by source
            s0=pl.col("sy")
            + pl.col("paths").cum_sum().over(["step", "source"], order_by=["ty", "link"])
            - pl.col("paths"),
            t0=pl.col("ty")
            + pl.col("paths").cum_sum().over(["step", "target"], order_by=["sy", "link"])
            - pl.col("paths"),
        )
    )
    t = pl.DataFrame({"i": list(range(samples))}).with_columns(tt=pl.col("i") / (samples - 1))
    smooth = 3 * pl.col("tt") ** 2 - 2 * pl.col("tt") ** 3
    bands = (
        lk.join(t, how="cross")
        .with_columns(
            x=pl.col("step") + node_width / 2 + pl.col("tt") * (1 - node_width),
            y0=pl.col("s0") + smooth * (pl.col("t0") - pl.col("s0")),
        )
        .with_columns(y1=pl.col("y0") + pl.col("paths"))
        .select("link", "step", "source", "target", "paths", "share", "i", "x", "y0", "y1")
        .sort("link", "i")
    )
    return bands


def flow_sankey(
    links: pl.DataFrame, *, title: str | None = None, width: int | None = None, height: int = 420
) -> alt.LayerChart:
    """Sankey-style flow of paths from step to step (altair only: rects + areas).

    Parameters
    ----------
    links : DataFrame
        Output of :func:`cxlab.analysis.paths.stage_flows`.

    Examples
    --------
    >>> links = pl.DataFrame({"step": [1], "source": ["a"], "target": ["b"], "paths": [3], "share": [1.0]})
    >>> sorted(m["mark"]["type"] for m in flow_sankey(links).to_dict()["layer"])
    ['area', 'rect', 'text']
    """
    nodes, bands = flow_layout(links, samples=9)
    nodes = labelled(nodes, ["label"])
    bands = labelled(bands, ["source", "target"])
    steps = sorted(nodes["step"].unique().to_list())
    top = float(nodes["y1"].max() or 1)
    scale_x = alt.Scale(domain=[steps[0] - 0.2, steps[-1] + 0.6], nice=False)
    scale_y = alt.Scale(domain=[top, 0], nice=False)
    color = _color_scale(nodes["label"].to_list())
    n_total = int(nodes.filter(pl.col("step") == steps[0])["value"].sum())
    # compact geometry (4 numbers a point); link attributes joined in Vega-Lite by lookup
    points = bands.select(
        "link", pl.col("x").round(4), pl.col("y0").round(3), pl.col("y1").round(3)
    )
    meta = bands.filter(pl.col("i") == 0).select(
        "link", "step", "source", "target", "paths", "share"
    )
    area = (
        alt.Chart(points)
        .transform_lookup(
            lookup="link",
            from_=alt.LookupData(meta, "link", ["step", "source", "target", "paths", "share"]),
        )
        .mark_area(opacity=0.35, interpolate="monotone")
        .encode(
            x=alt.X(
                "x:Q",
                scale=scale_x,
                axis=alt.Axis(values=steps, format="d", title="Step", grid=False),
            ),
            y=alt.Y("y0:Q", scale=scale_y, axis=None, stack=None),
            y2="y1:Q",
            detail="link:N",
            color=alt.Color("source:N", scale=color, legend=None),
            tooltip=[
                alt.Tooltip("source:N", title="From"),
                alt.Tooltip("target:N", title="To"),
                alt.Tooltip("step:Q", title="From step"),
                alt.Tooltip("paths:Q", format=",", title="Customers"),
                alt.Tooltip("share:Q", format=".1%", title="Share of customers"),
            ],
        )
    )
    rect = (
        alt.Chart(nodes)
        .mark_rect(stroke="white")
        .encode(
            x=alt.X("x0:Q", scale=scale_x),
            x2="x1:Q",
            y=alt.Y("y0:Q", scale=scale_y),
            y2="y1:Q",
            color=alt.Color("label:N", scale=color, legend=None),
            tooltip=[
                alt.Tooltip("step:Q", title="Step"),
                alt.Tooltip("label:N", title="Where"),
                alt.Tooltip("value:Q", format=",", title="Customers"),
            ],
        )
    )
    text = (
        alt.Chart(nodes.with_columns(ym=(pl.col("y0") + pl.col("y1")) / 2))
        .mark_text(align="left", dx=3, fontSize=11)
        .encode(
            x=alt.X("x1:Q", scale=scale_x),
            y=alt.Y("ym:Q", scale=scale_y),
            text=alt.Text("label:N"),
        )
    )
    return (area + rect + text).properties(
        title=title or f"Flow of {n_total:,} paths by step",
        width=width or min(WIDTH + 60, 150 * len(steps)),
        height=height,
    )


def attribution_bars(
    comparison: pl.DataFrame, *, value: str = "share", title: str | None = None
) -> alt.LayerChart:
    """Credit per label and model as grouped bars, with bootstrap whiskers where available.

    Parameters
    ----------
    comparison : DataFrame
        Output of :func:`cxlab.analysis.attribution.compare_attribution` (``model``, ``label``,
        ``share``, ``conversions``, ``ci_low``, ``ci_high``, ``conversions_ci_low``,
        ``conversions_ci_high``).
    value : {"share", "conversions"}
        Drawn with the share interval (``ci_low`` / ``ci_high``) or the analysis's interval
        of the conversions (``conversions_ci_*``; a frame without those columns, from an
        older version, gets the share interval times the model's conversions).

    Examples
    --------
    >>> c = pl.DataFrame({"model": ["last"], "label": ["web"], "conversions": [2.0], "share": [1.0],
    ...                   "ci_low": [None], "ci_high": [None]})
    >>> [m["mark"]["type"] for m in attribution_bars(c).to_dict()["layer"]]
    ['bar', 'rule']
    """
    func = "attribution_bars"
    _require(
        comparison,
        ["model", "label", "share", "conversions", "ci_low", "ci_high"],
        func,
        "cxlab.analysis.attribution.compare_attribution",
    )
    if value not in ("share", "conversions"):
        raise ParameterError(
            f"The 'value' parameter of {func} must be 'share' or 'conversions'. Got {value!r}."
        )
    models = comparison["model"].unique(maintain_order=True).to_list()
    labels = (
        comparison.group_by("label")
        .agg(pl.col("share").mean())
        .sort(["share", "label"], descending=[True, False])["label"]
        .to_list()
    )
    data = labelled(comparison.sort("model", "label"), ["model", "label"])
    labels = [display_label(v) for v in labels]
    models = [display_label(v) for v in models]
    if value == "conversions" and "conversions_ci_low" in data.columns:
        # the analysis's own interval of the conversions (Markov's bootstrap): drawn as is
        data = data.with_columns(
            ci_low=pl.col("conversions_ci_low"), ci_high=pl.col("conversions_ci_high")
        )
    elif value == "conversions":
        # a frame from before the conversions intervals existed: scale the share intervals
        tot = data.group_by("model").agg(_t=pl.col("conversions").sum())
        data = (
            data.join(tot, on="model")
            .with_columns(
                ci_low=pl.col("ci_low") * pl.col("_t"), ci_high=pl.col("ci_high") * pl.col("_t")
            )
            .drop("_t")
        )
    fmt = ".1%" if value == "share" else ",.1f"
    tips = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("label:N", title="Channel"),
        alt.Tooltip("share:Q", format=".1%", title="Share of purchases"),
        alt.Tooltip("conversions:Q", format=",.1f", title="Purchases credited"),
        interval_tip(),
    ]
    base = interval(alt.Chart(data, title=title or "Attribution by model"), fmt=fmt).encode(
        y=alt.Y("label:N", sort=labels, title=None), yOffset=alt.YOffset("model:N", sort=models)
    )
    bars = base.mark_bar().encode(
        x=alt.X(
            f"{value}:Q",
            title="Share of purchases" if value == "share" else "Purchases credited",
            axis=alt.Axis(format=".0%" if value == "share" else ","),
        ),
        color=alt.Color("model:N", sort=models, title="Model", scale=alt.Scale(range=PALETTE)),
        tooltip=tips,
    )
    whiskers = base.mark_rule(color="#1d2733").encode(x="ci_low:Q", x2="ci_high:Q", tooltip=tips)
    return (bars + whiskers).properties(width=WIDTH - 120, height=alt.Step(8))
