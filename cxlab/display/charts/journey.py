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

from cxlab.analysis.funnel import FUNNEL_COLUMNS
from cxlab.analysis.journey import TRANSITION_STATES
from cxlab.contract.schema import STAGES
from cxlab.display.charts._common import MAX_ROWS, chart_frame, labelled, labelled_order
from cxlab.display.labels import display_label, in_sentence
from cxlab.display.theme import BAND_NOTE, WIDTH, interval, interval_tip, tip
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


_FUNNEL_COLS = {*FUNNEL_COLUMNS, "entered_here"}
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


def _by_stage(data: pl.DataFrame, column: str) -> list[str]:
    """Values of ``column`` ordered by the first journey stage they occur in, then by name."""
    rank = {s: i for i, s in enumerate(STAGES)}
    return (
        data.select(
            pl.col(column).cast(pl.String),
            pl.col("stage").cast(pl.String).replace_strict(rank, default=len(rank)).alias("_r"),
        )
        .group_by(column)
        .agg(pl.col("_r").min())
        .sort("_r", column)
        .get_column(column)
        .to_list()
    )


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

    Cells are coloured by ``value`` and labelled with it; touchpoints, stages and fields show
    their display labels; tooltips give the value, ``n`` and the 95% interval
    (``<value>_ci_low`` / ``_ci_high`` or ``diff_ci_*`` when present) on one line. Metrics
    that can be negative (``pain``, differences) use a diverging scale centred on 0.

    Examples
    --------
    >>> t = pl.DataFrame({"stage": ["purchase"], "touchpoint": ["checkout"], "reach": [0.5],
    ...                   "customers": [10]})
    >>> spec = heatmap_chart(t).to_dict()
    >>> spec["layer"][0]["mark"]["type"], spec["layer"][0]["encoding"]["x"]["title"]
    ('rect', 'Touchpoint')
    """
    needed = [x, y, value] + ([n] if n else [])
    data = _prepare(table, needed, "heatmap_chart")
    data = data.sort([y, x])
    x_order, y_order = labelled_order(_order(data[x], x)), labelled_order(_order(data[y], y))
    if x == "stage" and y != "stage":  # rows in journey order: the cells run diagonally
        y_order = labelled_order(_by_stage(data, y))
    data = labelled(data, [x, y])
    ci = _ci_cols(data, value)
    if diverging is None:
        diverging = value in ("pain", "difference") or (data[value].drop_nulls().min() or 0) < 0
    scale = (
        alt.Scale(scheme="redblue", domainMid=0, reverse=True)
        if diverging
        else alt.Scale(scheme="blues")
    )
    fmt = _fmt(value)
    tooltips = [tip(y, "N"), tip(x, "N"), tip(value, "Q", fmt)]
    if n:
        tooltips.append(tip(n, "Q", ","))
    if ci:
        tooltips.append(interval_tip())
    tooltips += [
        tip(c, "Q", ",.2f") if data.schema[c].is_numeric() else tip(c, "N") for c in extra_tooltips
    ]
    top = data[value].drop_nulls().abs().max() or 0
    cells = _HeatmapCells.fit(len(x_order), len(y_order))
    base = alt.Chart(
        data,
        title=title
        or f"{display_label(value)} by {in_sentence(display_label(y))} and {in_sentence(display_label(x))}",
    ).encode(
        x=alt.X(f"{x}:N", sort=x_order, title=display_label(x), axis=cells.x_axis()),
        y=alt.Y(f"{y}:N", sort=y_order, title=display_label(y), axis=cells.y_axis()),
    )
    if ci:
        base = interval(base, ci[0], ci[1], fmt)
    # cell labels and legend: whole percentages, whole counts ("2,035", not "2,035.0")
    if fmt == ".1%":
        label_fmt = ".0%"
    elif data.schema[value].is_integer():
        label_fmt = ","
    else:
        label_fmt = ",.1f"
    rect = base.mark_rect().encode(
        color=alt.Color(
            f"{value}:Q",
            scale=scale,
            title=display_label(value),
            # a legend's ticks get a precision from their step: "," alone reads "2e+3" there
            legend=alt.Legend(format=",.0f" if label_fmt == "," else label_fmt),
        ),
        tooltip=tooltips,
    )
    size = {"width": alt.Step(cells.x_step), "height": alt.Step(cells.y_step)}
    widest = len(format(float(top), ",.0f" if label_fmt == "," else label_fmt)) + diverging
    if not cells.fits(widest):  # cell text would overlap: colours and tooltips only
        return alt.layer(rect).properties(**size)
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text(f"{value}:Q", format=label_fmt),
        color=alt.condition(
            f"abs(datum['{value}']) > {0.6 * float(top)!r}",
            alt.value("white"),
            alt.value("#1d2733"),
        ),
        tooltip=tooltips,
    )
    return alt.layer(rect, text).properties(**size)


class _HeatmapCells:
    """Cell sizes and axis labels of a heatmap with ``nx`` columns and ``ny`` rows.

    Columns share the theme's width (between 20 and 90 px each); rows are 22 px (16 px past
    30 rows), so the chart grows with its rows instead of squeezing them. Axis labels are cut
    with an ellipsis past a limit (the tooltip names the full touchpoint); column labels turn
    40 degrees when a column is too narrow for them to lie flat. Cell text is drawn only when
    the widest value fits its cell.
    """

    X_MIN, X_MAX, Y_STEP, Y_STEP_MANY, MANY_ROWS = 20, 90, 22, 16, 30
    CHAR_PX, PAD_PX, MIN_TEXT_ROW = 6.2, 6, 15  # 10 px text: ~6.2 px a character

    def __init__(self, x_step: int, y_step: int) -> None:
        self.x_step, self.y_step = x_step, y_step

    @classmethod
    def fit(cls, nx: int, ny: int) -> _HeatmapCells:
        """Examples
        --------
        >>> c = _HeatmapCells.fit(5, 8); (c.x_step, c.y_step, c.fits(3), c.fits(20))
        (90, 22, True, False)
        >>> c = _HeatmapCells.fit(30, 40); (c.x_step, c.y_step, c.fits(3))
        (20, 16, False)
        """
        x_step = min(max(WIDTH // max(nx, 1), cls.X_MIN), cls.X_MAX)
        return cls(x_step, cls.Y_STEP if ny <= cls.MANY_ROWS else cls.Y_STEP_MANY)

    def fits(self, chars: int) -> bool:
        """Whether a cell text of ``chars`` characters fits the cell."""
        wide = self.x_step >= chars * self.CHAR_PX + self.PAD_PX
        return wide and self.y_step >= self.MIN_TEXT_ROW

    def x_axis(self) -> alt.Axis:
        if self.x_step >= self.X_MAX:  # few columns: flat labels, cut at the column's width
            return alt.Axis(labelAngle=0, labelLimit=self.x_step - 4)
        return alt.Axis(labelAngle=-40, labelLimit=150)

    def y_axis(self) -> alt.Axis:
        return alt.Axis(labelLimit=170)


_EXPLORER_LABELS = {
    "reach": "Reach (share of the stage's customers)",
    "intensity": "Intensity (events per touching customer)",
    "satisfaction": "Satisfaction (0-100)",
    "pain": "Pain (extra drop-out after touching)",
    "customers": "Customers",
    "events": "Events",
}
_LEGEND_STEPS = 20


def _scaled_legend(long: pl.DataFrame, pick: alt.Parameter) -> alt.LayerChart:
    """A colour legend that follows the picked metric: its own low, middle and high values.

    ``long`` has ``metric``, ``value`` and ``label`` rows; the colour of a cell is its value
    scaled within the metric (see :func:`heatmap_explorer_chart`), so the legend's ticks are
    the values at scaled 0, 0.5 and 1 of the picked metric.
    """
    ranges = long.group_by("metric").agg(
        pl.col("value").min().alias("lo"),
        pl.col("value").max().alias("hi"),
        pl.col("value").abs().max().alias("amax"),
    )
    pos = pl.DataFrame({"pos": [i / _LEGEND_STEPS for i in range(_LEGEND_STEPS)]})
    rects = (
        ranges.select("metric")
        .join(pos, how="cross")
        .with_columns((pl.col("pos") + 1 / _LEGEND_STEPS).alias("pos2"))
        .sort("metric", "pos")
    )
    ticks = (
        ranges.join(pl.DataFrame({"pos": [0.0, 0.5, 1.0]}), how="cross")
        .with_columns(
            pl.when(pl.col("metric") == "pain")
            .then((2 * pl.col("pos") - 1) * pl.col("amax"))
            .otherwise(pl.col("lo") + pl.col("pos") * (pl.col("hi") - pl.col("lo")))
            .alias("tick")
        )
        .with_columns(
            pl.when(pl.col("metric").is_in(["reach", "pain"]))
            .then((pl.col("tick") * 100).round(0).cast(pl.Int64).cast(pl.String) + "%")
            .otherwise(pl.col("tick").round(1).cast(pl.String))
            .alias("label")
        )
        .select("metric", "pos", "label")
        .sort("metric", "pos")
    )
    y = alt.Y("pos:Q", scale=alt.Scale(domain=[0, 1]), axis=None)
    bar = (
        alt.Chart(rects)
        .transform_filter(alt.datum.metric == pick)
        .mark_rect(stroke=None)
        .encode(
            y=y,
            y2="pos2:Q",
            color=alt.Color("pos:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None),
        )
    )
    text = (
        alt.Chart(ticks)
        .transform_filter(alt.datum.metric == pick)
        .mark_text(align="left", dx=18, fontSize=11)
        .encode(y=y, x=alt.value(0), text="label:N")
    )
    return alt.layer(bar, text).properties(width=14, height=140)


def heatmap_explorer_chart(
    table: pl.DataFrame,
    metrics: Sequence[str] = ("reach", "intensity", "pain", "satisfaction"),
    *,
    x: str = "stage",
    y: str = "touchpoint",
    n: str = "customers",
    title: str = "Touchpoints by stage",
) -> alt.HConcatChart:
    """Heatmap whose metric is picked from a dropdown inside the chart.

    The dropdown is an altair parameter bound to a select input, so the choice works in an
    exported HTML report without Python. Metrics are folded to long form in polars; each cell's
    colour is the value scaled within its metric (0 = lowest, 1 = highest; for ``pain``,
    ``(pain / max |pain| + 1) / 2`` so that no extra drop-out sits in the middle), and its label
    and tooltip show the value itself. The legend beside the heatmap follows the picked
    metric: its ticks are that metric's lowest, middle and highest values.

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
    x_order, y_order = labelled_order(_order(data[x], x)), labelled_order(_order(data[y], y))
    if x == "stage" and y != "stage":  # touchpoints in journey order: the cells run diagonally
        y_order = labelled_order(_by_stage(data, y))
    long = _metrics_long(data, present, x, y, n)
    pick = alt.param(
        name="metric_choice",
        value=present[0],
        bind=alt.binding_select(
            options=present, labels=[_EXPLORER_LABELS.get(m, m) for m in present], name="Show: "
        ),
    )
    heat = _picked_metric_heatmap(long, pick, present, (x, x_order), (y, y_order), n)
    return alt.hconcat(heat, _scaled_legend(long, pick), spacing=16).properties(title=title)


def _metrics_long(
    data: pl.DataFrame, present: Sequence[str], x: str, y: str, n: str
) -> pl.DataFrame:
    """One row per cell and metric: its value, its colour scale (0-1 within the metric), its label.

    ``pain`` is scaled as ``(pain / max |pain| + 1) / 2`` (no extra drop-out sits in the
    middle), every other metric from its lowest (0) to its highest (1) value; a metric whose
    values are all equal sits in the middle. Reach and pain are labelled in percent.
    """
    return (
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


def _picked_metric_heatmap(
    long: pl.DataFrame,
    pick: alt.Parameter,
    present: Sequence[str],
    x_axis: tuple[str, list[str]],
    y_axis: tuple[str, list[str]],
    n: str,
) -> alt.LayerChart:
    """The cells of the metric ``pick`` selects: coloured by ``scaled``, labelled by ``label``."""
    (x, x_order), (y, y_order) = x_axis, y_axis
    shown = labelled(long, [x, y]).with_columns(
        pl.col("metric").replace({m: _EXPLORER_LABELS.get(m, m) for m in present}).alias("shown")
    )
    tooltips = [
        tip(y, "N"),
        tip(x, "N"),
        alt.Tooltip("shown:N", title="Showing"),
        alt.Tooltip("label:N", title="Value"),
        tip(n, "Q", ","),
    ]
    few_columns = long[x].n_unique() <= 8
    base = (
        alt.Chart(shown)
        .transform_filter(alt.datum.metric == pick)
        .encode(
            x=alt.X(
                f"{x}:N",
                sort=x_order,
                title=None,
                axis=alt.Axis(labelAngle=0 if few_columns else -40, orient="top"),
            ),
            y=alt.Y(f"{y}:N", sort=y_order, title=None),
        )
    )
    rect = base.mark_rect().encode(
        color=alt.Color("scaled:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None),
        tooltip=tooltips,
    )
    text = base.mark_text(fontSize=10).encode(
        text="label:N",
        color=alt.condition("datum.scaled > 0.6", alt.value("white"), alt.value("#1d2733")),
        tooltip=tooltips,
    )
    return (
        alt.layer(rect, text)
        .add_params(pick)
        .properties(width=alt.Step(76 if few_columns else 34), height=alt.Step(22))
    )


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


_FUNNEL_STEP = 46  # pixels per funnel step: a bar and the gap above it for the drop-off


def _funnel_shape(data: pl.DataFrame) -> pl.DataFrame:
    """Per step: the bar's ends (centred on 0), share of the first step, customers lost."""
    tracked = pl.col("converted").is_not_null()
    if "tracked" in data.columns:
        tracked = tracked & pl.col("tracked").fill_null(True)
    return data.with_columns(
        (-pl.col("converted") / 2).alias("bar_start"),
        (pl.col("converted") / 2).alias("bar_end"),
        (pl.col("converted") / pl.col("converted").first()).alias("share_of_start"),
        (pl.col("entered") - pl.col("converted")).clip(lower_bound=0).alias("lost"),
        tracked.alias("is_tracked"),
        (pl.col("step") > pl.col("step").min()).alias("has_previous"),
    )


def funnel_chart(
    funnel_table: pl.DataFrame, rate: str = "conversion_rate", *, title: str | None = None
) -> alt.LayerChart:
    """A funnel: one centred horizontal bar per step, as wide as the customers who reached it.

    Each bar is labelled with its customers and their share of the first step; between two
    bars a line says how many did not go on from the step before (``rate="conversion_rate"``)
    or what share of the starters reached the step (``rate="overall_rate"``). A step the data
    does not track (no count, or a ``tracked`` column that is false) says "not tracked"
    instead of drawing an empty bar. Tooltips: the step, customers, conversion with its 95%
    interval on one line, median hours to convert. With a breakdown column (any column that
    is not a standard funnel column), the chart is grouped bars of ``rate`` per step, one
    colour per group.

    Examples
    --------
    >>> f = pl.DataFrame({"step": [1, 2], "step_name": ["visit", "buy"], "entered": [10, 10],
    ...     "converted": [10, 4], "eligible": [10, 10], "conversion_rate": [1.0, 0.4],
    ...     "ci_low": [0.72, 0.17], "ci_high": [1.0, 0.69], "censored": [0, 0]})
    >>> [l["mark"]["type"] for l in funnel_chart(f).to_dict()["layer"]]
    ['bar', 'text', 'text', 'text']
    """
    if rate not in ("conversion_rate", "overall_rate"):
        raise ParameterError(
            f"The 'rate' parameter of funnel_chart must be 'conversion_rate' or "
            f"'overall_rate'. Got {rate!r} instead."
        )
    data = _prepare(
        funnel_table, ["step", "step_name", rate, "entered", "converted"], "funnel_chart"
    )
    extra = [c for c in data.columns if c not in _FUNNEL_COLS | {"tracked", "share_of_all"}]
    order = labelled_order(data.sort("step")["step_name"].unique(maintain_order=True).to_list())
    if extra:
        return _funnel_breakdown(labelled(data, ["step_name"]), rate, extra[0], order, title)
    data = labelled(_funnel_shape(data.sort("step")), ["step_name"])
    tips = [
        alt.Tooltip("step_name:N", title="Step"),
        tip("converted", "Q", ",", "Customers who reached it"),
        tip("share_of_start", "Q", ".1%", "Share of the first step"),
        tip("conversion_rate", "Q", ".1%", "Conversion from the step before"),
    ]
    if "ci_low" in data.columns:
        tips.append(interval_tip())
    if "median_hours" in data.columns:
        tips.append(tip("median_hours", "Q", ",.1f"))
    half = float(data["converted"].max() or 1) / 2
    x = alt.X("bar_start:Q", axis=None, scale=alt.Scale(domain=[-half, half], nice=False))
    base = alt.Chart(data, title=title or "Customers reaching each step").encode(
        y=alt.Y(
            "step_name:N",
            sort=order,
            title=None,
            axis=alt.Axis(ticks=False, domain=False, labelFontWeight=600, labelPadding=8),
        )
    )
    if "ci_low" in data.columns:
        base = interval(base)
    bars = base.mark_bar(cornerRadius=3, height={"band": 0.6}).encode(
        x=x, x2="bar_end:Q", tooltip=tips
    )
    count = (
        "datum.is_tracked ? format(datum.converted, ',') + ' (' + "
        "format(datum.share_of_start, '.0%') + ')' : 'not tracked'"
    )
    wide = "datum.is_tracked && datum.share_of_start >= 0.3"
    inside = (
        base.transform_filter(wide)
        .transform_calculate(shown=count)
        .mark_text(color="white", fontWeight=600)
        .encode(x=alt.datum(0), text="shown:N", tooltip=tips)
    )
    outside = (
        base.transform_filter(f"!({wide})")
        .transform_calculate(shown=count)
        .mark_text(align="left", dx=6, color="#1d2733", fontWeight=600)
        .encode(x=alt.X("bar_end:Q"), text="shown:N", tooltip=tips)
    )
    if rate == "conversion_rate":
        between = (
            "datum.has_previous && datum.is_tracked ? '▼ ' + format(1 - datum.conversion_rate, '.0%')"
            " + ' did not go on (' + format(datum.lost, ',') + ')' : ''"
        )
    else:
        between = (
            "datum.has_previous && datum.is_tracked ? format(datum.overall_rate, '.0%') + "
            "' of starters got here' : ''"
        )
    drop = (
        base.transform_calculate(between=between)
        .mark_text(dy=-_FUNNEL_STEP / 2, color="#9a4d0a", fontSize=11)
        .encode(x=alt.datum(0), text="between:N")
    )
    return alt.layer(bars, inside, outside, drop).properties(
        width=WIDTH, height=alt.Step(_FUNNEL_STEP)
    )


def _funnel_breakdown(
    data: pl.DataFrame, rate: str, by: str, order: list[str], title: str | None
) -> alt.LayerChart:
    """Grouped horizontal bars of ``rate`` per step, one colour per ``by`` group."""
    data = labelled(data, [by]).sort(by, "step")
    tips = [tip(by, "N"), alt.Tooltip("step_name:N", title="Step"), tip(rate, "Q", ".1%")]
    tips += [tip(c, "Q", ",") for c in ("entered", "converted") if c in data.columns]
    base = alt.Chart(
        data,
        title=title
        or (
            "Conversion from the step before"
            if rate == "conversion_rate"
            else "Share of starters reaching each step"
        ),
    ).encode(
        y=alt.Y("step_name:N", sort=order, title=None),
        yOffset=alt.YOffset(f"{by}:N"),
        color=alt.Color(f"{by}:N", title=display_label(by)),
    )
    if rate == "conversion_rate" and "ci_low" in data.columns:
        base = interval(base)
        tips.append(interval_tip())
    bars = base.mark_bar().encode(
        x=alt.X(
            f"{rate}:Q",
            axis=alt.Axis(format="%"),
            title=display_label(rate),
            scale=alt.Scale(domain=[0, 1]),
        ),
        tooltip=tips,
    )
    text = base.mark_text(align="left", dx=4, fontSize=10).encode(
        x=f"{rate}:Q", text=alt.Text(f"{rate}:Q", format=".0%")
    )
    return alt.layer(bars, text).properties(width=WIDTH)


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
    data = labelled(data.sort([colour, "hours"]), ["step_name", *extra[:1]])
    if colour == "curve":
        data = data.with_columns(
            pl.concat_str([pl.col(extra[0]), pl.col("step_name")], separator=" · ").alias("curve")
        )
    tips = [
        alt.Tooltip(
            f"{colour}:N", title="Step" if colour == "step_name" else display_label(colour)
        ),
        alt.Tooltip("hours:Q", format=",.1f", title="Hours since the step before"),
        alt.Tooltip("converted_share:Q", format=".1%", title="Converted"),
        interval_tip(),
        alt.Tooltip("at_risk:Q", format=",", title="Still waiting"),
        alt.Tooltip("n:Q", format=",", title="Customers"),
    ]
    tips = [t for t in tips if t.to_dict()["field"] in {*data.columns, "interval_95"}]
    base = interval(
        alt.Chart(
            data,
            title=alt.Title(
                title or "Time to convert",
                subtitle="Customers still within their window count until they leave it. "
                + BAND_NOTE,
            ),
        )
    ).encode(
        x=alt.X("hours:Q", title="Hours since the step before"),
        color=alt.Color(
            f"{colour}:N", title="Step" if colour == "step_name" else display_label(colour)
        ),
    )
    band = base.mark_area(opacity=0.15, interpolate="step-after").encode(
        y="ci_low:Q", y2="ci_high:Q"
    )
    line = base.mark_line(interpolate="step-after").encode(
        y=alt.Y("converted_share:Q", axis=alt.Axis(format="%"), title="Converted"), tooltip=tips
    )
    return alt.layer(band, line).properties(width=WIDTH)


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
        title=title or "Where customers go next, from each stage",
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
    data = labelled(
        data.sort(["lift", "touchpoint"], descending=[True, False]).head(top), ["touchpoint"]
    )
    tips = [
        tip("touchpoint", "N"),
        alt.Tooltip("lift:Q", format=",.2f", title="Lift (times more common)"),
        alt.Tooltip("stopped_share:Q", format=".1%", title="Share of those who stopped"),
        alt.Tooltip("stopped:Q", format=",", title="Customers who stopped"),
        alt.Tooltip("continued_share:Q", format=".1%", title="Share of those who went on"),
        alt.Tooltip("continued:Q", format=",", title="Customers who went on"),
    ]
    tips = [t for t in tips if t.to_dict()["field"] in data.columns]
    return (
        alt.Chart(
            data,
            title=alt.Title(
                title or "What customers who stopped hit last",
                subtitle="How many times more common among those who stopped than among "
                "those who went on (red: more common).",
            ),
        )
        .mark_bar()
        .encode(
            x=alt.X("lift:Q", title="Times more common among those who stopped"),
            y=alt.Y("touchpoint:N", sort=data["touchpoint"].to_list(), title=None),
            color=alt.condition(alt.datum.lift > 1, alt.value("#c8423b"), alt.value("#8c99a6")),
            tooltip=tips,
        )
        .properties(width=WIDTH - 160)
    )
