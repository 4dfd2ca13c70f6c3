"""The one chart theme of cxlab (altair 6 theme registration) and tooltip helpers.

:func:`enable` registers and enables the ``"cxlab"`` theme: system fonts only (nothing is
loaded from the internet), one palette, readable sizes, charts :data:`WIDTH` pixels wide so
they fit a report column at 820 px and an A4 page (the report's stylesheet shrinks a wider
chart to the column instead of cutting it). Chart modules call it when imported, and the
report and explorer setups call it again, so every chart cxlab draws carries the theme.

The helpers build tooltips a client manager can read: labelled fields (via
:func:`cxlab.display.labels.display_label`), formatted numbers, and a 95% interval shown as
one "low to high" line instead of two ``ci_low`` / ``ci_high`` fields.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt

from cxlab.display.labels import display_label

__all__ = [
    "FONT",
    "PALETTE",
    "THEME",
    "WIDTH",
    "enable",
    "interval",
    "theme_config",
    "tip",
]

#: System font stack (the report page uses the same): no web font is ever loaded.
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif'
#: Categorical colours: ten in a colour-blind safe order (Tableau 10's hues), then ten
#: paler ones (Tableau 20's pairs), so that up to twenty categories (a bank's eleven
#: channels) never share a colour; vega cycles the list only beyond twenty.
PALETTE = [
    "#2f6db5",
    "#e8853b",
    "#3a9c5b",
    "#c8423b",
    "#7f5fb0",
    "#8c6d4f",
    "#d36fa6",
    "#5fb8c9",
    "#b5a82f",
    "#6b7b8c",
    "#9ec1e8",
    "#f6bd8a",
    "#98d4a6",
    "#f0a19b",
    "#c5b0d5",
    "#c49c94",
    "#f2b6d6",
    "#a8dbe5",
    "#dbd38d",
    "#b9c3cc",
]
#: Width in pixels of a single chart (fits the report column at 820 px and an A4 page).
WIDTH = 560
#: The registered theme name.
THEME = "cxlab"
#: What a chart's interval band or whiskers show, in a reader's words (the method that
#: computes them is named only in the report's "How this was computed" appendix).
BAND_NOTE = "Shaded band: the range the true value likely lies in."
WHISKERS_NOTE = "Lines: the range the true value likely lies in."
_INK = "#1d2733"
_MUTED = "#5b6877"
_GRID = "#e6eaef"


def theme_config() -> alt.theme.ThemeConfig:
    """The theme: fonts, sizes, colours and the default chart size.

    Examples
    --------
    >>> theme_config()["config"]["font"] == FONT
    True
    """
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "view": {"continuousWidth": WIDTH, "continuousHeight": 280, "stroke": None},
            "title": {
                "font": FONT,
                "fontSize": 15,
                "fontWeight": 600,
                "color": _INK,
                "anchor": "start",
                "offset": 10,
                "subtitleFontSize": 12,
                "subtitleColor": _MUTED,
                "subtitleFont": FONT,
            },
            "axis": {
                "labelFont": FONT,
                "titleFont": FONT,
                "labelFontSize": 12,
                "titleFontSize": 12,
                "titleFontWeight": 600,
                "labelColor": _INK,
                "titleColor": _INK,
                "gridColor": _GRID,
                "domainColor": "#aab4bf",
                "tickColor": "#aab4bf",
                "labelLimit": 260,
                "titlePadding": 8,
            },
            "legend": {
                "labelFont": FONT,
                "titleFont": FONT,
                "labelFontSize": 12,
                "titleFontSize": 12,
                "titleFontWeight": 600,
                "labelLimit": 260,
                "orient": "bottom",
                "direction": "horizontal",
                "titleOrient": "left",
            },
            "header": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 12},
            "text": {"font": FONT, "fontSize": 11, "color": _INK},
            "mark": {"color": PALETTE[0]},
            "bar": {"color": PALETTE[0]},
            "range": {"category": PALETTE, "ramp": {"scheme": "blues"}},
            "rect": {"stroke": "white", "strokeWidth": 1},
            "tooltipFormat": {"numberFormat": ",.4~r"},
        }
    }


@alt.theme.register(THEME, enable=False)
def _cxlab_theme() -> alt.theme.ThemeConfig:
    return theme_config()


def enable() -> None:
    """Enable the cxlab chart theme (idempotent).

    Examples
    --------
    >>> enable(); alt.theme.active
    'cxlab'
    """
    if alt.theme.active != THEME:
        alt.theme.enable(THEME)


def tip(
    field: str, kind: str = "Q", fmt: str | None = None, title: str | None = None
) -> alt.Tooltip:
    """A tooltip whose title is the field's display label.

    Examples
    --------
    >>> tip("conversion_rate", fmt=".1%").to_dict()
    {'field': 'conversion_rate', 'format': '.1%', 'title': 'Conversion', 'type': 'quantitative'}
    """
    kwargs = {"title": title if title is not None else display_label(field)}
    if fmt:
        kwargs["format"] = fmt
    return alt.Tooltip(f"{field}:{kind}", **kwargs)


def interval(
    chart: alt.Chart,
    low: str = "ci_low",
    high: str = "ci_high",
    fmt: str = ".1%",
    name: str = "interval_95",
) -> alt.Chart:
    """``chart`` with a text field ``name``: the interval "low to high" (for one tooltip line).

    Examples
    --------
    >>> import polars as pl
    >>> c = interval(alt.Chart(pl.DataFrame({"ci_low": [0.1], "ci_high": [0.2]})).mark_point())
    >>> c.to_dict()["transform"][0]["as"]
    'interval_95'
    """
    expr = (
        f"isValid(datum['{low}']) ? format(datum['{low}'], '{fmt}') + ' to ' + "
        f"format(datum['{high}'], '{fmt}') : 'not available'"
    )
    return chart.transform_calculate(**{name: expr})


def interval_tip(name: str = "interval_95") -> alt.Tooltip:
    """The tooltip line of :func:`interval`, titled "95% interval"."""
    return alt.Tooltip(f"{name}:N", title="95% interval")


def tips_for(fields: Sequence[tuple[str, str, str | None]]) -> list[alt.Tooltip]:
    """Several :func:`tip` at once from ``(field, kind, format)`` triples."""
    return [tip(f, k, fmt) for f, k, fmt in fields]
