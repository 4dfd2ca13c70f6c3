"""Small display helpers for report notebooks: safe headings, paragraphs, tables and facts.

Everything here HTML-escapes what it shows (customer-written text, segment names and client
names included), so a report notebook never concatenates raw strings into HTML itself.

* :func:`setup` -- call once at the top of a report notebook: charts are then written as
  Vega-Lite MIME outputs, which :func:`cxlab.report.html.export_html` embeds offline.
* :func:`heading`, :func:`paragraph`, :func:`summary`, :func:`note`, :func:`warning` --
  escaped text blocks.
* :func:`table` -- a small polars frame as an escaped HTML table
  (:func:`cxlab.display.tables.table_html`, which the explorer notebooks use too).
* :func:`publish` -- facts for the page header and the portfolio index (client name, data
  period, headline metrics), written as a private MIME output the exporter reads and hides.
"""

from __future__ import annotations

import html
import math
import re
import sys
from typing import Any

import polars as pl

from cxlab.display.tables import table_html  # the one table HTML (explorers use it too)
from cxlab.report.html import REPORT_MIME

__all__ = [
    "warning",
    "setup",
    "heading",
    "paragraph",
    "summary",
    "note",
    "table",
    "publish",
    "slugify",
]

_RENDERER = "cxlab"


def _vegalite_mime() -> str:
    import altair as alt

    major = alt.SCHEMA_VERSION.lstrip("v").split(".")[0]
    # altair 6's own "mimetype" renderer writes 'application/vnd.vegalite.v6.json', which
    # nbformat rejects (a dict under a non-JSON MIME type); '+json' is the valid form.
    return f"application/vnd.vegalite.v{major}+json"


def _no_controls(value: Any) -> Any:
    """``value`` with NUL, control and bidirectional characters removed from every string."""
    if isinstance(value, str):
        return _CONTROLS.sub("", value)
    if isinstance(value, dict):
        return {_no_controls(k): _no_controls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_controls(v) for v in value]
    return value


def _renderer(spec: dict[str, Any], **metadata: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = _no_controls(spec)  # chart labels and tooltips are client text too
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    label = f"<chart: {title}>" if title else "<chart>"
    return {_vegalite_mime(): spec, "text/plain": label}, {}


def setup(max_rows: int = 5000) -> None:
    """Prepare a report notebook: altair charts become offline-embeddable Vega-Lite outputs.

    Parameters
    ----------
    max_rows : int
        altair's guard against shipping event-level data into a chart (charts take small
        aggregated frames; a chart over this many rows raises).
    """
    if "jsonschema" not in sys.modules:
        # jsonschema (under altair) builds rfc3987_syntax's IRI grammar when imported: about
        # 1.5 s of CPU in every report kernel, for an "iri" format no Vega-Lite schema uses.
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import altair as alt

    alt.renderers.register(_RENDERER, _renderer)
    alt.renderers.enable(_RENDERER)
    alt.data_transformers.enable("default", max_rows=max_rows)


def _display(bundle: dict[str, Any]) -> None:
    from IPython.display import display

    display(bundle, raw=True)


def slugify(text: str) -> str:
    """An HTML id from a heading.

    Examples
    --------
    >>> slugify("Journey funnel: where customers drop")
    'journey-funnel-where-customers-drop'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def heading(text: str, level: int = 2) -> None:
    """Show a section heading (level 2 or 3 enter the table of contents)."""
    level = min(max(int(level), 1), 6)
    esc = _esc(text)
    _display(
        {
            "text/html": f'<h{level} id="{slugify(str(text))}">{esc}</h{level}>',
            "text/plain": _plain(text),
        }
    )


def paragraph(text: str) -> None:
    """Show a paragraph of plain text (escaped)."""
    _display({"text/html": f"<p>{_esc(text)}</p>", "text/plain": _plain(text)})


def summary(text: str) -> None:
    """Show the executive summary box (plain text, escaped)."""
    _display(
        {
            "text/html": f'<div class="cx-summary"><p>{_esc(text)}</p></div>',
            "text/plain": _plain(text),
        }
    )


def note(text: str) -> None:
    """Show a small grey note (plain text, escaped)."""
    _display({"text/html": f'<p class="cx-note">{_esc(text)}</p>', "text/plain": _plain(text)})


_WARNING_STYLE = (
    "background:#fff4e5;border-left:4px solid #b26a00;padding:.8rem 1rem;margin:1rem 0;"
    "break-inside:avoid"
)


def warning(text: str, code: str | None = None) -> None:
    """Show a warning box (plain text, escaped), optionally with lines to copy (e.g. TOML).

    Used for caveats that change how the whole report should be read, such as a journey map
    that misses most touchpoints (:func:`cxlab.report.summary.coverage_warning`).
    """
    block = (
        f'<pre class="cx-code" style="background:#fff;padding:.5rem;overflow-x:auto">'
        f"{_esc(code)}</pre>"
        if code
        else ""
    )
    _display(
        {
            "text/html": f'<div class="cx-warning" role="note" style="{_WARNING_STYLE}">'
            f"<p>{_esc(text)}</p>{block}</div>",
            "text/plain": _plain(text + ("\n" + code if code else "")),
        }
    )


def _plain(text: object) -> str:
    """Without NUL, control or bidirectional characters (they can spoof what a reader sees)."""
    return _CONTROLS.sub("", str(text))


def _esc(text: object) -> str:
    return html.escape(_plain(text))


def table(df: pl.DataFrame, **kwargs: Any) -> None:
    """Show a small frame as an escaped HTML table (see :func:`cxlab.display.tables.table_html`)."""
    _display({"text/html": table_html(df, **kwargs), "text/plain": _plain(repr(df))})


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def publish(**facts: Any) -> None:
    """Publish facts for the report header and the portfolio index.

    Known keys: ``client_name``, ``period`` (shown in the page header) and headline metrics
    such as ``conversion`` (0..1), ``conversion_n``, ``nps``, ``nps_low``, ``nps_high``,
    ``nps_n``, ``churn_rate`` (0..1), ``customers``. Values must be JSON-like; NaN becomes
    null. The output is hidden from the HTML page.
    """
    payload = _jsonable(facts)
    _display({REPORT_MIME: payload, "text/plain": "report facts: " + ", ".join(sorted(payload))})
