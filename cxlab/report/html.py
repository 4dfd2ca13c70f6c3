"""Export an executed report notebook to one self-contained, offline, safe HTML page.

What nbconvert's stock HTML export gets wrong for a client report, and what this does:

* it loads require.js, MathJax, the widget manager (and, for altair's own HTML output,
  vega/vega-lite/vega-embed) from CDNs: offline the charts show "Error loading script".
  Here charts are notebook outputs of the Vega-Lite MIME type (see
  :func:`cxlab.report.display.setup`); each becomes a placeholder ``<div>`` plus its spec in a
  ``<script type="application/json">`` block, and the vega + vega-lite + vega-embed bundle
  shipped by ``vl-convert`` is inlined **once** per page, followed by a few lines that embed
  every chart. No ``<script src=...>``, no web font, no CDN CSS.
* altair's ``inline`` renderer puts the ~0.9 MB bundle into every chart (and only the first
  chart of an exported page renders). Not used.
* a chart spec written as raw JSON inside ``<script>`` is ended early by a data value that
  contains ``</script>`` (even with ``sanitize_html``). Here ``<``, ``>``, ``&`` and the JS line
  separators are written as ``\\uXXXX`` escapes in every embedded JSON: still the same JSON,
  but no markup.
* ``--report-mode`` hides nothing in nbconvert's HTML: code is removed here with the
  exporter's input exclusion (``exclude_input``), prompts too; stderr streams (warnings) are
  kept in the executed notebook for audit but not shown to the client.

The page has a header (client name, data period, generation time), a table of contents built
from the section headings, and the body; the notebook puts the validation summary in its
last section, the appendix.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import html
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nbformat (and jsonschema) stay out of report kernels, which import display
    from nbformat import NotebookNode

__all__ = [
    "REPORT_MIME",
    "escape_json_for_html",
    "export_html",
    "external_references",
    "report_facts",
    "vega_bundle",
]

#: MIME type of the facts a report notebook publishes for the page header and the index.
REPORT_MIME = "application/vnd.cxlab.report+json"
_VEGA_MIME = re.compile(r"^application/vnd\.vega(lite)?\.v\d+(\.\d+)*[+.]json$")
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def escape_json_for_html(value: Any) -> str:
    """JSON text that is safe inside an HTML ``<script>`` element.

    ``<``, ``>``, ``&``, U+2028 and U+2029 only ever occur inside JSON strings, where
    ``\\u003c`` etc. mean the same characters; so the result parses to the same value while a
    data value like ``</script><script>alert(1)</script>`` can no longer end the element.

    Examples
    --------
    >>> escape_json_for_html({"comment": "</script><b>&"})
    '{"comment":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    >>> json.loads(escape_json_for_html({"c": "</script>"})) == {"c": "</script>"}
    True
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return _JSON_ESCAPE_RE.sub(lambda m: _JSON_ESCAPES[m.group(0)], text)


def _js_for_script_element(code: str) -> str:
    # Make a JS source safe between <script> and </script>: neither sequence can occur
    # outside JS string/regex literals, where the escaped forms mean the same.
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE).replace("<!--", "<\\!--")


@functools.lru_cache(maxsize=4)
def vega_bundle(vl_version: str | None = None) -> str:
    """The vega + vega-lite + vega-embed JavaScript bundle shipped by ``vl-convert``.

    It defines ``window.vegaEmbed``, ``window.vega`` and ``window.vegaLite``. The Vega-Lite
    version defaults to the one altair writes (``alt.SCHEMA_VERSION``).
    """
    import vl_convert as vlc

    if vl_version is None:
        try:
            import altair as alt

            major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
            vl_version = f"{major}.{minor}"
        except Exception:  # pragma: no cover - altair is a dependency
            vl_version = None
    try:
        bundle = (
            vlc.javascript_bundle(vl_version=vl_version) if vl_version else vlc.javascript_bundle()
        )
    except ValueError:  # a version vl-convert does not ship: use its newest
        bundle = vlc.javascript_bundle()
    return _js_for_script_element(bundle)


def report_facts(nb: NotebookNode) -> dict[str, Any]:
    """The facts the notebook published with :func:`cxlab.report.display.publish`, merged in order."""
    facts: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data", {})
            if REPORT_MIME in data and isinstance(data[REPORT_MIME], dict):
                facts.update(data[REPORT_MIME])
    return facts


def _prepare(nb: NotebookNode) -> tuple[NotebookNode, int]:
    """Copy of ``nb`` ready for nbconvert: charts to placeholders, private outputs removed."""
    nb = copy.deepcopy(nb)
    n_charts = 0
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"remove-cell", "parameters", "injected-parameters"}:
            continue
        if cell.cell_type == "code":
            if "remove-output" in tags:
                cell.outputs = []
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    continue
                data = out.get("data")
                if data is not None:
                    if REPORT_MIME in data:  # facts for the header and the index, not content
                        continue
                    vega_keys = [k for k in data if _VEGA_MIME.match(k)]
                    if vega_keys:
                        key = sorted(vega_keys)[-1]
                        spec = data[key]
                        if isinstance(spec, str):
                            spec = json.loads(spec)
                        n_charts += 1
                        mode = "vega" if key.startswith("application/vnd.vega.") else "vega-lite"
                        out["data"] = {"text/html": _chart_placeholder(n_charts, spec, mode)}
                        out["metadata"] = {}
                        outputs.append(out)
                        continue
                    if not data:
                        continue
                outputs.append(out)
            cell.outputs = outputs
            if not outputs:
                continue
        cells.append(cell)
    nb.cells = cells
    return nb, n_charts


def _chart_placeholder(n: int, spec: dict[str, Any], mode: str) -> str:
    return (
        f'<div class="cx-chart" id="cx-chart-{n}" role="figure"></div>'
        f'<script type="application/json" class="cx-spec" data-target="cx-chart-{n}" '
        f'data-mode="{mode}">{escape_json_for_html(spec)}</script>'
    )


_EMBED_JS = """
const specs = document.querySelectorAll('script.cx-spec');
const runs = [];
for (const el of specs) {
  const target = document.getElementById(el.dataset.target);
  const spec = JSON.parse(el.textContent);
  runs.push(vegaEmbed(target, spec, {mode: el.dataset.mode, renderer: 'svg', actions: false})
    .catch((err) => {
      target.classList.add('cx-chart-error');
      target.textContent = 'This chart could not be drawn: ' + err;
      throw err;
    }));
}
Promise.allSettled(runs).then((res) => {
  const failed = res.filter((r) => r.status === 'rejected').length;
  document.body.dataset.cxCharts = String(res.length - failed);
  document.body.dataset.cxChartErrors = String(failed);
  document.body.dataset.cxReady = 'true';
});
"""

#: The print stylesheet: A4 pages, the contents list left out, each section (``h2``) starts a
#: page, headings stay with what follows, charts and table rows are never cut (a chart wider
#: than the page is scaled to it), interactive menus are hidden, colours are printed.
_PRINT_CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
@media print {
  html { font-size: 10pt; }
  body { background:#fff; line-height:1.4; }
  * { -webkit-print-color-adjust:exact; print-color-adjust:exact; }
  nav.cx-toc, .vega-bind, #vg-tooltip-element { display:none !important; }
  header.cx-header { background:none; border-bottom:2px solid var(--ink); padding:0 0 .6rem 0; }
  .cx-layout { display:block; max-width:none; margin:0; padding:0; }
  main.cx-body h2 { margin-top:0; }
  main.cx-body h2.cx-section { break-before:page; page-break-before:always; }
  h1, h2, h3, caption { break-after:avoid; page-break-after:avoid; }
  p { orphans:3; widows:3; }
  .cx-chart, .cx-summary, .vega-embed, svg, tr, thead { break-inside:avoid; page-break-inside:avoid; }
  .cx-chart { overflow:visible; margin:.6rem 0; }
  .cx-chart svg { max-width:100% !important; height:auto !important; }
  table { break-inside:auto; }
  thead { display:table-header-group; }
  a { color:inherit; text-decoration:none; }
  footer.cx-footer { border-top:1px solid var(--line); }
}
"""

_CSS = """
:root { --ink:#1d2733; --muted:#5b6877; --line:#dde3ea; --accent:#2f6db5; --bg:#ffffff; --soft:#f4f6f9; }
* { box-sizing: border-box; }
body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color:var(--ink); background:var(--bg); line-height:1.5; }
header.cx-header { background:var(--soft); border-bottom:1px solid var(--line); padding:1.5rem 2rem; }
header.cx-header h1 { margin:0 0 .3rem 0; font-size:1.7rem; }
header.cx-header .cx-meta { color:var(--muted); font-size:.95rem; }
header.cx-header .cx-meta span { margin-right:1.5rem; }
.cx-layout { display:flex; gap:2rem; max-width:1200px; margin:0 auto; padding:1rem 2rem 4rem; }
nav.cx-toc { flex:0 0 220px; position:sticky; top:1rem; align-self:flex-start; font-size:.9rem; }
nav.cx-toc h2 { font-size:.8rem; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); }
nav.cx-toc ol { padding-left:1.1rem; margin:0; } nav.cx-toc li { margin:.25rem 0; }
nav.cx-toc li.cx-toc-3 { margin-left:.8rem; font-size:.85rem; list-style:circle; }
nav.cx-toc a { color:var(--accent); text-decoration:none; } nav.cx-toc a:hover { text-decoration:underline; }
main.cx-body { flex:1 1 auto; min-width:0; }
main.cx-body h2 { border-bottom:1px solid var(--line); padding-bottom:.3rem; margin-top:2.2rem; }
a.anchor-link { display:none; }
.prompt { display:none; }
.output_area pre, .output_text pre { background:var(--soft); padding:.6rem; overflow-x:auto; font-size:.85rem; }
table { border-collapse:collapse; margin:.8rem 0; font-size:.9rem; }
th, td { border-bottom:1px solid var(--line); padding:.3rem .7rem; text-align:left; vertical-align:top; }
th { background:var(--soft); } td.cx-num { text-align:right; font-variant-numeric: tabular-nums; }
caption { caption-side:top; text-align:left; color:var(--muted); padding-bottom:.3rem; }
.cx-chart { margin:1rem 0; overflow-x:auto; } .cx-chart-error { color:#a12; }
.cx-summary { background:#eef4fb; border-left:4px solid var(--accent); padding:.8rem 1rem; }
.cx-note { color:var(--muted); font-size:.9rem; }
.cx-flag { color:#a35a00; font-weight:600; }
.vega-bind { margin:.3rem 0; font-size:.9rem; } .vega-bind-name { margin-right:.4rem; }
#vg-tooltip-element { font-family: inherit; }
footer.cx-footer { color:var(--muted); font-size:.8rem; text-align:center; padding:1rem; border-top:1px solid var(--line); }
.cx-chart svg, .cx-chart canvas { max-width:100%; height:auto; }
@media (max-width: 1000px) {
  .cx-layout { flex-direction:column; gap:0; padding:1rem 1.2rem 3rem; }
  nav.cx-toc { position:static; flex:none; border-bottom:1px solid var(--line); padding-bottom:.6rem; }
  nav.cx-toc ol { columns:2; column-gap:2rem; }
  header.cx-header { padding:1.2rem; }
}
@media (max-width: 600px) { nav.cx-toc ol { columns:1; } }
"""


def _mark_sections(soup: Any) -> None:
    """Give every section heading (``h2``) but the first the class the print CSS breaks on."""
    headings = [h for h in soup.find_all("h2") if h.find_parent(class_="cx-chart") is None]
    for h in headings[1:]:
        h["class"] = [*h.get("class", []), "cx-section"]


def _toc(soup: Any) -> str:
    items = []
    used: set[str] = set()
    for n, h in enumerate(soup.find_all(["h2", "h3"])):
        if h.find_parent(class_="cx-chart") is not None:
            continue
        for a in h.select("a.anchor-link"):
            a.decompose()
        text = " ".join(h.get_text(" ").split())
        if not text:
            continue
        hid = h.get("id") or re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or f"section-{n}"
        while hid in used:
            hid += "-x"
        used.add(hid)
        h["id"] = hid
        items.append(
            f'<li class="cx-toc-{h.name[1]}"><a href="#{html.escape(hid, quote=True)}">{html.escape(text)}</a></li>'
        )
    if not items:
        return ""
    return (
        '<nav class="cx-toc" aria-label="Contents"><h2>Contents</h2><ol>'
        + "".join(items)
        + "</ol></nav>"
    )


def export_html(
    nb: NotebookNode,
    *,
    title: str | None = None,
    period: str | None = None,
    generated: dt.datetime | None = None,
    vl_version: str | None = None,
) -> str:
    """Render an executed notebook as a self-contained, offline HTML report.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook.
    title, period : str, optional
        Header title (client name) and data period; default from the facts the notebook
        published (``client_name``, ``period``).
    generated : datetime, optional
        Generation time shown in the header (default: now, UTC).
    vl_version : str, optional
        Vega-Lite version of the inlined bundle (default: the one altair writes).

    Returns
    -------
    str
        The HTML page. Code cells' inputs are not shown.

    Raises
    ------
    ValueError
        When the rendered page would load anything from the network (see
        :func:`external_references`): a report must open offline.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Funnel")])
    >>> page = export_html(nb, title="Pageturn <Books>", period="2024-01-01 – 2024-06-30")
    >>> "Pageturn &lt;Books&gt;" in page and 'href="#Funnel"' in page
    True
    """
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    facts = report_facts(nb)
    title = (
        title if title is not None else str(facts.get("client_name", "Customer experience report"))
    )
    period = period if period is not None else facts.get("period")
    generated = generated or dt.datetime.now(dt.UTC)
    prepared, n_charts = _prepare(nb)

    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _ = exporter.from_notebook_node(prepared)
    soup = BeautifulSoup(body, features="html.parser")
    toc = _toc(soup)
    _mark_sections(soup)
    body = str(soup)

    meta = []
    if period:
        meta.append(f"<span>Data period: {html.escape(str(period))}</span>")
    meta.append(f"<span>Generated: {html.escape(generated.strftime('%d %b %Y %H:%M UTC'))}</span>")
    scripts = ""
    if n_charts:
        # Module scripts run in document order after parsing, each in its own scope: the
        # bundle's top-level names cannot clash with anything else on the page.
        scripts = (
            f'<script type="module">{vega_bundle(vl_version)}</script>\n'
            f'<script type="module">{_EMBED_JS}</script>'
        )
    else:
        scripts = "<script>document.body.dataset.cxCharts='0';document.body.dataset.cxReady='true';</script>"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cxlab">
<title>{html.escape(title)} — customer experience report</title>
<style>{_CSS}{_PRINT_CSS}</style>
</head>
<body>
<header class="cx-header">
<h1>{html.escape(title)}</h1>
<div class="cx-meta">{"".join(meta)}</div>
</header>
<div class="cx-layout">
{toc}
<main class="cx-body">
{body}
</main>
</div>
<footer class="cx-footer">Made with cxlab. This page works offline; it loads nothing from the internet.</footer>
{scripts}
</body>
</html>
"""
    bad = external_references(page)
    if bad:
        raise ValueError(
            "The report would load resources from the network, so it would not open offline: "
            f"{', '.join(bad[:5])}. Display charts with cxlab.report.display.setup() enabled "
            "and do not display raw HTML that references external scripts, styles or images."
        )
    return page


_EXTERNAL = re.compile(
    r"""<(script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?\b(src|href|data)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)"""
    r"""|@import\s+(?:url\()?\s*["']?((?:https?:)?//[^"')\s]+)"""
    r"""|url\(\s*["']?((?:https?:)?//[^"')\s]+)""",
    re.IGNORECASE,
)


def external_references(page: str) -> list[str]:
    """URLs a page would *load* from the network (scripts, styles, images, frames, CSS urls).

    Plain links (``<a href>``) are not loads and are not listed. Only the page's markup is
    scanned, not the contents of inline scripts (the vega bundle mentions URLs in strings it
    never loads).

    Examples
    --------
    >>> external_references('<script src="https://cdn.example/x.js"></script><a href="https://a.b">x</a>')
    ['https://cdn.example/x.js']
    """
    markup = re.sub(
        r"(<script\b[^>]*>).*?(</script>)", r"\1\2", page, flags=re.IGNORECASE | re.DOTALL
    )
    found = []
    for m in _EXTERNAL.finditer(markup):
        found.append(next(g for g in (m.group(3), m.group(4), m.group(5)) if g))
    return found
