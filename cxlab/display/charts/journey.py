"""Journey charts (altair): heatmaps, funnels, time-to-convert curves, transitions, drop-off.

Every function takes a small *aggregated* tidy frame produced by :mod:`cxlab.analysis.journey`,
:mod:`cxlab.analysis.funnel` or :mod:`cxlab.analysis.heatmap` — never event-level data (a frame with a
``customer_id`` column or more than ``MAX_ROWS`` rows is refused) — and returns an altair
chart with tooltips for the value, its n and its interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from cxlab.analysis.journey import TRANSITION_STATES
from cxlab.contract.schema import STAGES
from cxlab.display.charts._common import MAX_ROWS, chart_frame
from cxlab.errors import ParameterError, did_you_mean

__all__ = [
    "MAX_ROWS",
    "heatmap_chart",
    "difference_heatmap_chart",
    "funnel_chart",
    "time_to_convert_chart",
    "transition_chart",
    "drop_off_chart",
]


_FUNNEL_COLS = {
    "step",
    "step_name",
    "entered",
    "converted",
    "open_window",
    "censored",
    "eligible",
    "converted_eligible",
    "conversion_rate",
    "ci_low",
    "ci_high",
    "drop_off",
    "overall_rate",
    "median_hours",
    "p90_hours",
    "excluded",
    "small_n",
    "in_scope",
    "share_of_all",
    "revenue",
    "revenue_per_converter",
    "entered_here",
}
_KM_COLS = {
    "step",
    "step_name",
    "hours",
    "at_risk",
    "events",
    "censored",
    "converted_share",
    "ci_low",
    "ci_high",
    "n",
}
_PERCENT = {
    "reach",
    "conversion_rate",
    "overall_rate",
    "share",
    "drop_touched",
    "drop_not_touched",
    "pain",
    "share_of_events",
    "stopped_share",
    "continued_share",
}


def _prepare(frame: object, needed: Sequence[str], where: str) -> pl.DataFrame:
    return chart_frame(
        frame,
        needed,
        where,
        "cxlab.analysis.heatmap.touchpoint_heatmap or cxlab.analysis.funnel.funnel",
    )


def _order(values: pl.Series, name: str) -> list[str]:
    present = [v for v in values.unique().to_list() if v is not None]
    canon = list(TRANSITION_STATES) if name in ("from_stage", "to_stage") else list(STAGES)
    if name in ("stage", "from_stage", "to_stage"):
        return [s for s in canon if s in present] + sorted(v for v in present if v not in canon)
    return sorted(map(str, present))


def _fmt(col: str) -> str:
    return ".1%" if col in _PERCENT or col.startswith("difference") else ",.2f"


def _ci_cols(frame: pl.DataFrame, value: str) -> tuple[str, str] | None:
    for lo, hi in ((f"{value}_ci_low", f"{value}_ci_high"), ("diff_ci_low", "diff_ci_high")):
        if lo in frame.columns and hi in frame.columns:
            return lo, hi
    if value in ("conversion_rate", "converted_share") and "ci_low" in frame.columns:
        return "ci_low", "ci_high"
    return None


def heatmap_chart(
    table: pl.DataFrame,
    value: str = "reach",
    *,
    x: str = "touchpoint",
    y: str = "stage",
    n: str | None = "customers",
    title: str | None = None,
    diverging: bool | None = None,
    extra_tooltips: Sequence[str] = (),
) -> alt.LayerChart:
    """Heatmap of one metric of a tidy table (e.g. :func:`cxlab.analysis.heatmap.touchpoint_heatmap`).

    Cells are coloured by ``value`` and labelled with it; tooltips give the value, ``n`` and
    the interval (``<value>_ci_low`` / ``_ci_high`` or ``diff_ci_*`` when present). Metrics
    that can be negative (``pain``, differences) use a diverging scale centred on 0.

    Examples
    --------
    >>> t = pl.DataFrame({"stage": ["purchase"], "touchpoint": ["checkout"], "reach": [0.5],
    ...                   "customers": [10]})
    >>> heatmap_chart(t).to_dict()["layer"][0]["mark"]["type"]
    'rect'
    """
    needed = [x, y, value] + ([n] if n else [])
    data = _prepare(table, needed, "heatmap_chart")
    data = data.sort([y, x])
    ci = _ci_cols(data, value)
    if diverging is None:
        diverging = value in ("pain", "difference") or (data[value].drop_nulls().min() or 0) < 0
    scale = (
        alt.Scale(scheme="redblue", domainMid=0, reverse=True)
        if diverging
        else alt.Scale(scheme="blues")
    )
    fmt = _fmt(value)
    tooltips = [alt.Tooltip(f"{y}:N"), alt.Tooltip(f"{x}:N"), alt.Tooltip(f"{value}:Q", format=fmt)]
    if n:
        tooltips.append(alt.Tooltip(f"{n}:Q", format=",", title=f"n ({n})"))
    if ci:
        tooltips += [
            alt.Tooltip(f"{ci[0]}:Q", format=fmt, title="95% CI low"),
            alt.Tooltip(f"{ci[1]}:Q", format=fmt, title="95% CI high"),
        ]
    tooltips += [
        alt.Tooltip(f"{c}:Q" if data.schema[c].is_numeric() else f"{c}:N") for c in extra_tooltips
    ]
    base = alt.Chart(data, title=title or f"{value} by {y} and {x}").encode(
        x=alt.X(f"{x}:N", sort=_order(data[x], x), title=x),
        y=alt.Y(f"{y}:N", sort=_order(data[y], y), title=y),
    )
    rect = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=scale, title=value), tooltip=tooltips
    )
    text = base.mark_text(fontSize=9).encode(
        text=alt.Text(f"{value}:Q", format=".0%" if fmt == ".1%" else ",.1f"), tooltip=tooltips
    )
    return alt.layer(rect, text)


_EXPLORER_LABELS = {
    "reach": "Reach (share of the stage's customers)",
    "intensity": "Intensity (events per touching customer)",
    "satisfaction": "Satisfaction (0-100)",
    "pain": "Pain (extra drop-out after touching)",
    "customers": "Customers",
    "events": "Events",
}


def heatmap_explorer_chart(
    table: pl.DataFrame,
    metrics: Sequence[str] = ("reach", "intensity", "pain", "satisfaction"),
    *,
    x: str = "touchpoint",
    y: str = "stage",
    n: str = "customers",
    title: str = "Touchpoints by stage",
) -> alt.LayerChart:
    """Heatmap whose metric is picked from a dropdown inside the chart.

    The dropdown is an altair parameter bound to a select input, so the choice works in an
    exported HTML report without Python. Metrics are folded to long form in polars; each cell's
    colour is the value scaled within its metric (0 = lowest, 1 = highest; for ``pain``,
    ``(pain / max |pain| + 1) / 2`` so that no extra drop-out sits in the middle), and its label
    and tooltip show the value itself.

    Examples
    --------
    >>> t = pl.DataFrame({"stage": ["purchase", "purchase"], "touchpoint": ["checkout", "purchase"],
    ...                   "reach": [0.5, 0.25], "pain": [0.3, -0.1], "customers": [10, 5]})
    >>> spec = heatmap_explorer_chart(t, metrics=("reach", "pain")).to_dict()
    >>> spec["params"][0]["bind"]["input"], spec["params"][0]["value"]
    ('select', 'reach')
    """
    present = [m for m in metrics if m in table.columns]
    if not present:
        raise ParameterError(
            f"heatmap_explorer_chart: none of the metrics {list(metrics)} is a column of the table. "
            f"Columns: {', '.join(table.columns)}."
        )
    data = _prepare(table, [x, y, n, *present], "heatmap_explorer_chart")
    long = (
        data.select(x, y, n, *[pl.col(m).cast(pl.Float64) for m in present])
        .unpivot(index=[x, y, n], on=present, variable_name="metric", value_name="value")
        .filter(pl.col("value").is_not_null())
        .with_columns(
            pl.when(pl.col("metric") == "pain")
            .then((pl.col("value") / pl.col("value").abs().max().over("metric") + 1) / 2)
            .otherwise(
                (pl.col("value") - pl.col("value").min().over("metric"))
                / (pl.col("value").max() - pl.col("value").min()).over("metric")
            )
            .fill_nan(0.5)
            .alias("scaled"),
            pl.when(pl.col("metric").is_in(["reach", "pain"]))
            .then((pl.col("value") * 100).round(0).cast(pl.Int64).cast(pl.String) + "%")
            .otherwise(pl.col("value").round(1).cast(pl.String))
            .alias("label"),
        )
        .sort("metric", y, x)
    )
    pick = alt.param(
        name="metric_choice",
        value=present[0],
        bind=alt.binding_select(
            options=present, labels=[_EXPLORER_LABELS.get(m, m) for m in present], name="Show: "
        ),
    )
    tooltips = [
        alt.Tooltip(f"{y}:N"),
        alt.Tooltip(f"{x}:N"),
        alt.Tooltip("metric:N"),
        alt.Tooltip("label:N", title="value"),
        alt.Tooltip(f"{n}:Q", format=",", title=f"n ({n})"),
    ]
    base = (
        alt.Chart(long, title=title)
        .transform_filter(alt.datum.metric == pick)
        .encode(
            x=alt.X(f"{x}:N", sort=_order(data[x], x), title=x),
            y=alt.Y(f"{y}:N", sort=_order(data[y], y), title=y),
        )
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "scaled:Q",
            scale=alt.Scale(scheme="blues", domain=[0, 1]),
            legend=alt.Legend(title="low → high", format=".0%"),
        ),
        tooltip=tooltips,
    )
    text = base.mark_text(fontSize=9).encode(text="label:N", tooltip=tooltips)
    return alt.layer(rect, text).add_params(pick)


def difference_heatmap_chart(
    comparison: pl.DataFrame,
    metric: str = "reach",
    *,
    x: str | None = None,
    y: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Diverging heatmap of ``difference`` (b - a) for one metric of :func:`compare_heatmaps`.

    Examples
    --------
    >>> c = pl.DataFrame({"stage": ["purchase"], "touchpoint": ["checkout"], "metric": ["reach"],
    ...     "value_a": [0.5], "value_b": [0.7], "difference": [0.2], "diff_ci_low": [0.0],
    ...     "diff_ci_high": [0.4], "n_a": [10], "n_b": [10], "label_a": ["A"], "label_b": ["B"]})
    >>> difference_heatmap_chart(c).to_dict()["layer"][0]["encoding"]["color"]["field"]
    'difference'
    """
    data = _prepare(
        comparison, ["metric", "difference", "value_a", "value_b"], "difference_heatmap_chart"
    )
    metrics = data["metric"].unique().to_list()
    if metric not in metrics:
        raise ParameterError(
            f"difference_heatmap_chart: metric '{metric}' is not in the comparison."
            f"{did_you_mean(metric, metrics)} Metrics: {sorted(metrics)}."
        )
    data = data.filter(pl.col("metric") == metric)
    keys = [
        c
        for c in data.columns
        if c
        not in {
            "metric",
            "value_a",
            "value_b",
            "difference",
            "diff_ci_low",
            "diff_ci_high",
            "n_a",
            "n_b",
            "label_a",
            "label_b",
        }
    ]
    if x is None or y is None:
        if len(keys) != 2:
            raise ParameterError(
                f"difference_heatmap_chart: pass x= and y= (key columns found: {keys})."
            )
        y, x = (
            (keys[0], keys[1])
            if keys[0] in ("stage", "from_stage") or keys[1] == "week"
            else (keys[1], keys[0])
        )
        if keys == ["channel", "stage"]:
            x, y = "channel", "stage"
    la = data["label_a"][0] if "label_a" in data.columns and data.height else "a"
    lb = data["label_b"][0] if "label_b" in data.columns and data.height else "b"
    data = data.with_columns(
        pl.col("value_a").alias(f"{metric} ({la})"), pl.col("value_b").alias(f"{metric} ({lb})")
    )
    return heatmap_chart(
        data,
        "difference",
        x=x,
        y=y,
        n=None,
        diverging=True,
        title=title or f"{metric}: {lb} minus {la}",
        extra_tooltips=[f"{metric} ({la})", f"{metric} ({lb})", "n_a", "n_b"],
    )


def funnel_chart(
    funnel_table: pl.DataFrame, rate: str = "conversion_rate", *, title: str | None = None
) -> alt.LayerChart:
    """Funnel bars (step-to-step ``conversion_rate`` or ``overall_rate``) with Wilson whiskers.

    A breakdown column (any column that is not a standard funnel column) becomes colour and
    x offset.

    Examples
    --------
    >>> f = pl.DataFrame({"step": [1, 2], "step_name": ["visit", "buy"], "entered": [10, 10],
    ...     "converted": [10, 4], "eligible": [10, 10], "conversion_rate": [1.0, 0.4],
    ...     "ci_low": [0.72, 0.17], "ci_high": [1.0, 0.69], "censored": [0, 0]})
    >>> [l["mark"]["type"] for l in funnel_chart(f).to_dict()["layer"]]
    ['bar', 'rule']
    """
    if rate not in ("conversion_rate", "overall_rate"):
        raise ParameterError(
            f"The 'rate' parameter of funnel_chart must be 'conversion_rate' or "
            f"'overall_rate'. Got {rate!r} instead."
        )
    data = _prepare(
        funnel_table, ["step", "step_name", rate, "entered", "converted"], "funnel_chart"
    )
    extra = [c for c in data.columns if c not in _FUNNEL_COLS]
    by = extra[0] if extra else None
    data = data.sort([*(by and [by] or []), "step"])
    order = data.sort("step")["step_name"].unique(maintain_order=True).to_list()
    tips = [alt.Tooltip("step_name:N", title="step"), alt.Tooltip(f"{rate}:Q", format=".1%")]
    tips += [
        alt.Tooltip(f"{c}:Q", format=",")
        for c in ("entered", "eligible", "converted", "censored")
        if c in data.columns
    ]
    if rate == "conversion_rate" and "ci_low" in data.columns:
        tips += [
            alt.Tooltip("ci_low:Q", format=".1%", title="95% CI low"),
            alt.Tooltip("ci_high:Q", format=".1%", title="95% CI high"),
        ]
    if "median_hours" in data.columns:
        tips.append(alt.Tooltip("median_hours:Q", format=",.1f", title="median hours to convert"))
    if by:
        tips.insert(0, alt.Tooltip(f"{by}:N"))
    enc = {"x": alt.X("step_name:N", sort=order, title="step")}
    if by:
        enc["xOffset"] = alt.XOffset(f"{by}:N")
        enc["color"] = alt.Color(f"{by}:N", title=by)
    base = alt.Chart(
        data,
        title=title
        or (
            "Conversion from previous step"
            if rate == "conversion_rate"
            else "Share of starters reaching each step"
        ),
    ).encode(**enc)
    bars = base.mark_bar().encode(
        y=alt.Y(f"{rate}:Q", axis=alt.Axis(format="%"), title=rate, scale=alt.Scale(domain=[0, 1])),
        tooltip=tips,
    )
    if rate == "conversion_rate" and "ci_low" in data.columns:
        whisk = base.mark_rule(color="black").encode(y="ci_low:Q", y2="ci_high:Q", tooltip=tips)
    else:
        whisk = base.mark_rule(opacity=0).encode(y=f"{rate}:Q")
    return alt.layer(bars, whisk)


def time_to_convert_chart(curves: pl.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Kaplan–Meier cumulative conversion curves (from :func:`cxlab.analysis.funnel.time_to_convert`).

    Step-shaped lines with a 95% band; one colour per step (or per breakdown value when the
    table has a breakdown column and one step).

    Examples
    --------
    >>> c = pl.DataFrame({"step": [2, 2], "step_name": ["buy", "buy"], "hours": [0.0, 2.0],
    ...     "at_risk": [2, 2], "events": [0, 1], "censored": [0, 0], "converted_share": [0.0, 0.5],
    ...     "ci_low": [0.0, 0.1], "ci_high": [0.0, 0.9], "n": [2, 2]})
    >>> time_to_convert_chart(c).to_dict()["layer"][1]["mark"]["interpolate"]
    'step-after'
    """
    data = _prepare(curves, ["hours", "converted_share", "step_name"], "time_to_convert_chart")
    extra = [c for c in data.columns if c not in _KM_COLS]
    colour = extra[0] if extra and data["step_name"].n_unique() == 1 else "step_name"
    if extra and colour == "step_name":
        data = data.with_columns(
            pl.concat_str([pl.col(extra[0]), pl.col("step_name")], separator=" · ").alias("curve")
        )
        colour = "curve"
    data = data.sort([colour, "hours"])
    tips = [
        alt.Tooltip(f"{colour}:N"),
        alt.Tooltip("hours:Q", format=",.1f"),
        alt.Tooltip("converted_share:Q", format=".1%", title="converted"),
        alt.Tooltip("ci_low:Q", format=".1%", title="95% CI low"),
        alt.Tooltip("ci_high:Q", format=".1%", title="95% CI high"),
        alt.Tooltip("at_risk:Q", format=",", title="still waiting (at risk)"),
        alt.Tooltip("n:Q", format=",", title="n"),
    ]
    tips = [t for t in tips if t.shorthand.split(":")[0] in data.columns]
    base = alt.Chart(
        data, title=title or "Time to convert (Kaplan–Meier; not-yet-converted are censored)"
    ).encode(
        x=alt.X("hours:Q", title="hours since previous step"),
        color=alt.Color(f"{colour}:N", title=colour.replace("_", " ")),
    )
    band = base.mark_area(opacity=0.15, interpolate="step-after").encode(
        y="ci_low:Q", y2="ci_high:Q"
    )
    line = base.mark_line(interpolate="step-after").encode(
        y=alt.Y("converted_share:Q", axis=alt.Axis(format="%"), title="converted"), tooltip=tips
    )
    return alt.layer(band, line)


def transition_chart(
    transitions: pl.DataFrame, *, value: str = "share", title: str | None = None
) -> alt.LayerChart:
    """Heatmap of the stage transition matrix (:func:`cxlab.analysis.journey.stage_transitions`).

    Examples
    --------
    >>> t = pl.DataFrame({"from_stage": ["(start)"], "to_stage": ["awareness"], "transitions": [3],
    ...                   "customers": [3], "share": [1.0], "from_total": [3]})
    >>> transition_chart(t).to_dict()["layer"][0]["encoding"]["y"]["field"]
    'from_stage'
    """
    _prepare(transitions, ["from_stage", "to_stage", value, "transitions"], "transition_chart")
    return heatmap_chart(
        transitions,
        value,
        x="to_stage",
        y="from_stage",
        n="transitions",
        title=title or "Stage transitions (row share)",
        diverging=False,
        extra_tooltips=[c for c in ("customers", "from_total") if c in transitions.columns],
    )


def drop_off_chart(drivers: pl.DataFrame, *, top: int = 15, title: str | None = None) -> alt.Chart:
    """Horizontal bars of drop-off lift (:func:`cxlab.analysis.funnel.drop_off_drivers`), highest first.

    Examples
    --------
    >>> d = pl.DataFrame({"touchpoint": ["checkout_error"], "stopped_touched": [4], "stopped": [5],
    ...     "stopped_share": [0.8], "continued_touched": [1], "continued": [10],
    ...     "continued_share": [0.1], "lift": [5.0]})
    >>> drop_off_chart(d).to_dict()["mark"]["type"]
    'bar'
    """
    data = _prepare(
        drivers, ["touchpoint", "lift", "stopped_share", "continued_share"], "drop_off_chart"
    )
    data = data.sort(["lift", "touchpoint"], descending=[True, False]).head(top)
    tips = [
        alt.Tooltip("touchpoint:N"),
        alt.Tooltip("lift:Q", format=",.2f"),
        alt.Tooltip("stopped_share:Q", format=".1%", title="share of stopped"),
        alt.Tooltip("stopped:Q", format=",", title="n stopped"),
        alt.Tooltip("continued_share:Q", format=".1%", title="share of continued"),
        alt.Tooltip("continued:Q", format=",", title="n continued"),
    ]
    tips = [t for t in tips if t.shorthand.split(":")[0] in data.columns]
    return (
        alt.Chart(data, title=title or "What stopped customers hit last (lift vs continued)")
        .mark_bar()
        .encode(
            x=alt.X("lift:Q", title="lift (stopped share / continued share)"),
            y=alt.Y("touchpoint:N", sort=data["touchpoint"].to_list(), title=None),
            color=alt.condition(alt.datum.lift > 1, alt.value("#c0392b"), alt.value("#7f8c8d")),
            tooltip=tips,
        )
    )
