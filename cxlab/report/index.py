"""The portfolio page ``<out>/index.html``: one row per client, sortable, offline.

Each row shows the client, the status of its last run (``ok``, ``failed`` with why in plain
words (:func:`failure_text`), ``unchanged`` when ``--resume`` skipped it, ``not run``), the run time, the data
period and the headline metrics the report notebook published (overall conversion, NPS with
its 95% interval, churn rate), the report sections its data could not support ("2 sections
skipped", each with its one-sentence reason), the caveats a reader must know before trusting
the headlines ("Read with care": a journey map that misses most touchpoints, stages not
tracked, a weak driver model, too few NPS answers), with a link to the report (or, for a failed run, to the
executed notebook that holds the error), and to its PDF when ``--pdf`` wrote one. Clicking a column header sorts by it (a few lines
of inline JavaScript; nothing is loaded from the network). Every value is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cxlab.report.atomic import atomic_write_text

__all__ = ["failure_text", "index_html", "write_index"]

_SORT_JS = """
document.querySelectorAll('table.cx-index th').forEach((th, col) => {
  th.addEventListener('click', () => {
    const tbody = th.closest('table').tBodies[0];
    const asc = th.dataset.dir !== 'asc';
    th.closest('tr').querySelectorAll('th').forEach((h) => { delete h.dataset.dir; });
    th.dataset.dir = asc ? 'asc' : 'desc';
    const key = (tr) => { const c = tr.children[col]; const v = c.dataset.sort ?? c.textContent;
                          const n = parseFloat(v); return (v !== '' && !isNaN(n)) ? n : v.toLowerCase(); };
    const rows = Array.from(tbody.rows);
    rows.sort((a, b) => { const x = key(a), y = key(b);
      const r = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === 'number' ? -1 : 1);
      return asc ? r : -r; });
    rows.forEach((r) => tbody.appendChild(r));
  });
});
"""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color:#1d2733; margin:2rem; }
h1 { margin-bottom:.2rem; } .meta { color:#5b6877; margin-bottom:1.2rem; }
table { border-collapse:collapse; width:100%; font-size:.92rem; }
th, td { border-bottom:1px solid #dde3ea; padding:.45rem .6rem; text-align:left; vertical-align:top; }
th { background:#f4f6f9; cursor:pointer; user-select:none; }
th[data-dir="asc"]::after { content:" ▲"; } th[data-dir="desc"]::after { content:" ▼"; }
td.num { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }
.status-ok { color:#1b7a3a; font-weight:600; } .status-failed { color:#b3261e; font-weight:600; }
.status-unchanged { color:#2f6db5; font-weight:600; } .status-not-run { color:#5b6877; }
.failure { color:#b3261e; font-size:.85rem; margin-top:.2rem; max-width:40rem; }
.ci { color:#5b6877; font-size:.85rem; } .small { color:#a35a00; font-size:.8rem; }
td.num .ci, td.num .small { white-space:normal; } /* the words under a number wrap */
td.when { white-space:nowrap; }
.skips { margin:.2rem 0 0 1rem; padding:0; color:#5b6877; font-size:.85rem; max-width:36rem; }
"""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _pct(value: Any) -> tuple[str, str]:
    x = _num(value)
    return ("–", "") if x is None else (f"{100 * x:.1f}%", f"{x:.6f}")


_DATE = re.compile(r"\b(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})\b")
_NBSP = "\u00a0"


def _unbroken(text: str) -> str:
    """``text`` with its dates ("02 Jun 2025") and intervals ("-10 to +2") kept on one line.

    The index must fit a laptop screen (1100 px), so its cells wrap; a date or a pair of
    bounds broken over two lines reads badly.

    Examples
    --------
    >>> _unbroken("of 718 customers who had bought by 02 Jun 2025") == (
    ...     "of 718 customers who had bought by 02\u00a0Jun\u00a02025")
    True

    A period may break between its two dates (a year is not the bound of an interval):

    >>> _unbroken("01 Oct 2024 to 30 Sep 2025") == "01\u00a0Oct\u00a02024 to 30\u00a0Sep\u00a02025"
    True
    >>> _unbroken("95% interval -10 to +2") == "95% interval -10\u00a0to\u00a0+2"
    True
    """
    text = _DATE.sub(lambda m: _NBSP.join(m.groups()), text)
    # bounds of an interval, not the year and day of two dates joined above
    bounds = rf"(?<![{_NBSP}\d])([+\-−]?\d+) to ([+\-−]?\d+)(?![{_NBSP}\d])"
    return re.sub(bounds, rf"\1{_NBSP}to{_NBSP}\2", text)


def _cell(text: str, sort: str = "", cls: str = "") -> str:
    attrs = f' data-sort="{html.escape(sort, quote=True)}"' if sort != "" else ""
    attrs += f' class="{cls}"' if cls else ""
    return f"<td{attrs}>{text}</td>"


def _skipped_cell(facts: dict[str, Any]) -> str:
    """'N sections skipped' and the reasons (escaped), from the notebook's published list."""
    skips = facts.get("skipped_sections")
    if not isinstance(skips, list):
        return _cell("–")
    items = [s for s in skips if isinstance(s, dict)]
    if not items:
        return _cell("none", sort="0")
    n = len({str(s.get("section", "")) for s in items})
    text = f"{n} section{'s' if n != 1 else ''} skipped<ul class='skips'>"
    for s in items:
        title = str(s.get("title") or s.get("section") or "")
        text += f"<li><strong>{html.escape(title)}</strong>: {html.escape(str(s.get('reason', '')))}</li>"
    return _cell(text + "</ul>", sort=str(n))


def _churn_cell(facts: dict[str, Any]) -> str:
    """The churn rate and who it counts (the report's one churn definition), escaped."""
    text, sort = _pct(facts.get("churn_rate"))
    n, who = _num(facts.get("churn_n")), facts.get("churn_who")
    if text != "–" and n is not None:
        base = f"of {int(n):,} {who}" if who else f"n = {int(n):,}"
        text += f"<br><span class='ci'>{_unbroken(html.escape(base))}</span>"
        if facts.get("churn_uncertain"):
            text += " <span class='small'>too few customers to say</span>"
    return _cell(text, sort, "num")


def _caveats_cell(facts: dict[str, Any]) -> str:
    """The report's caveats (coverage, stages not tracked, weak or uncertain findings), escaped."""
    caveats = facts.get("caveats")
    if not isinstance(caveats, list):
        return _cell("–")
    items = [str(c) for c in caveats if c]
    if not items:
        return _cell("none", sort="0")
    text = "<ul class='skips'>" + "".join(f"<li>{html.escape(c)}</li>" for c in items) + "</ul>"
    return _cell(text, sort=str(len(items)))


#: What a reader is told first for each of cxlab's own errors (their messages are written for
#: a reader: what is wrong, where, and how to fix it).
_CXLAB_ERRORS = {
    "DataError": "The client's data needs a fix",
    "ConfigError": "The client's settings need a fix",
    "ParameterError": "A report setting needs a fix",
    "CxlabError": "The report could not be made",
}
_OTHER_FAILURES = {
    "timeout": "A step of the report took longer than its time limit.",
    "kernel": "The report's Python process stopped before the report was finished.",
    "incomplete": "The report's Python process stopped before the report was finished.",
    "worker": "The process rendering this client stopped (killed or out of memory).",
}
_UNEXPECTED = "The report stopped on an unexpected error; the notebook linked here shows it."


def failure_text(failure: dict[str, Any], limit: int = 600) -> str:
    r"""Why a client's report failed, in the words of the index (no code, no exception names).

    cxlab's own errors (``DataError``, ``ConfigError``, ``ParameterError``) carry a message
    written for a reader, which is shown after a plain lead-in (cut at ``limit`` characters,
    whitespace collapsed); a time limit or a stopped process gets one sentence; anything
    else is an unexpected error, whose text (and the cell that raised it) stays in the
    executed notebook and ``run.json``.

    Examples
    --------
    >>> failure_text({"kind": "error", "ename": "DataError",
    ...               "evalue": "events.csv, column 'Event Time': 3 rows\n  cannot be read."})
    "The client's data needs a fix: events.csv, column 'Event Time': 3 rows cannot be read."
    >>> failure_text({"kind": "error", "ename": "KeyError", "evalue": "'x'"})
    'The report stopped on an unexpected error; the notebook linked here shows it.'
    >>> failure_text({"kind": "timeout", "ename": "CellTimeoutError", "evalue": "..."})
    'A step of the report took longer than its time limit.'
    """
    ename, kind = str(failure.get("ename") or ""), str(failure.get("kind") or "error")
    if ename in _CXLAB_ERRORS and kind in ("error", "pipeline"):
        value = " ".join(str(failure.get("evalue") or "").split())
        if len(value) > limit:
            value = value[: limit - 1].rstrip() + "…"
        return f"{_CXLAB_ERRORS[ename]}: {value}" if value else f"{_CXLAB_ERRORS[ename]}."
    return _OTHER_FAILURES.get(kind, _UNEXPECTED)


def _row(run: dict[str, Any], out_dir: Path) -> str:
    e = html.escape
    facts = run.get("facts") or {}
    slug = str(run.get("client", ""))
    name = str(facts.get("client_name") or run.get("name") or slug)
    status = str(run.get("status", "not run"))
    shown_status = {"skipped": "unchanged"}.get(status, status)
    cells = [
        _cell(f"<strong>{e(name)}</strong><br><span class='ci'>{e(slug)}</span>", sort=name.lower())
    ]
    status_html = (
        f"<span class='status-{e(shown_status.replace(' ', '-'))}'>{e(shown_status)}</span>"
    )
    failure = run.get("failure")
    if failure:
        text = failure_text(failure) if isinstance(failure, dict) else _UNEXPECTED
        status_html += f"<div class='failure'>{e(text)}</div>"
    cells.append(_cell(status_html, sort=shown_status))
    secs = _num(run.get("seconds"))
    cells.append(
        _cell(
            "–" if secs is None else f"{secs:.1f} s",
            sort="" if secs is None else f"{secs:.3f}",
            cls="num",
        )
    )
    cells.append(_cell(_unbroken(e(str(facts.get("period") or "–")))))
    text, sort = _pct(facts.get("conversion"))
    n = _num(facts.get("conversion_n"))
    if n is not None and text != "–":
        text += f"<br><span class='ci'>n = {int(n):,}</span>"
    cells.append(_cell(text, sort, "num"))
    nps = _num(facts.get("nps"))
    if nps is None:
        cells.append(_cell("–", "", "num"))
    else:
        lo, hi, nn = (
            _num(facts.get("nps_low")),
            _num(facts.get("nps_high")),
            _num(facts.get("nps_n")),
        )
        text = f"{nps:+.0f}"
        if lo is not None and hi is not None:
            text += (
                f"<br><span class='ci'>95% interval {_unbroken(f'{lo:+.0f} to {hi:+.0f}')}</span>"
            )
        if nn is not None:
            text += f"<br><span class='ci'>n = {int(nn):,}</span>"
            if nn < 30:
                text += " <span class='small'>small sample</span>"
        cells.append(_cell(text, f"{nps:.3f}", "num"))
    cells.append(_churn_cell(facts))
    cells.append(_skipped_cell(facts))
    cells.append(_caveats_cell(facts))
    links = []
    for key, label in (("html", "report"), ("pdf", "PDF"), ("notebook", "notebook")):
        rel = run.get(key)  # "pdf" only when --pdf wrote one (None when it could not)
        if rel and (out_dir / rel).exists():
            links.append(f"<a href='{e(Path(rel).as_posix(), quote=True)}'>{label}</a>")
    cells.append(_cell(" · ".join(links) or "–"))
    finished = str(run.get("finished") or "")
    cells.append(_cell(e(finished[:16]).replace("T", "<br>"), sort=finished, cls="when"))
    return "<tr>" + "".join(cells) + "</tr>"


def index_html(
    runs: Iterable[dict[str, Any]], out_dir: str | Path, *, title: str = "Client reports"
) -> str:
    """The portfolio page for ``runs`` (run records, one per client), links relative to ``out_dir``.

    Examples
    --------
    >>> page = index_html([{"client": "shop", "status": "ok", "seconds": 3.2,
    ...                     "facts": {"client_name": "<Shop>", "nps": 12.0, "nps_low": 2.0,
    ...                               "nps_high": 22.0, "nps_n": 150}}], ".")
    >>> "&lt;Shop&gt;" in page and "95% interval +2\u00a0to\u00a0+22" in page and "<script src" not in page
    True
    >>> page = index_html([{"client": "tiny", "status": "ok", "facts": {"skipped_sections": [
    ...     {"section": "paths", "title": "Paths", "reason": "No purchases <here>."}]}}], ".")
    >>> "1 section skipped" in page and "No purchases &lt;here&gt;." in page
    True
    >>> page = index_html([{"client": "shop", "status": "ok", "facts": {"churn_rate": 0.157,
    ...     "churn_n": 718, "churn_who": "customers who had bought by 02 Jun 2025"}}], ".")
    >>> "15.7%<br><span class='ci'>of 718 customers who had bought by 02\u00a0Jun\u00a02025</span>" in page
    True
    >>> page = index_html([{"client": "shop", "status": "ok", "facts": {"caveats": [
    ...     "Not tracked: advocacy"]}}], ".")
    >>> "<li>Not tracked: advocacy</li>" in page
    True
    """
    out = Path(out_dir)
    rows = sorted(runs, key=lambda r: str(r.get("client", "")))
    counts: dict[str, int] = {}
    for r in rows:
        s = {"skipped": "unchanged"}.get(str(r.get("status")), str(r.get("status")))
        counts[s] = counts.get(s, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    heads = [
        "Client",
        "Status",
        "Run time",
        "Data period",
        "Overall conversion",
        "NPS",
        "Churn rate",
        "Skipped sections",
        "Read with care",
        "Open",
        "Last run (UTC)",
    ]
    head = "".join(f"<th scope='col'>{h}</th>" for h in heads)
    body = "\n".join(_row(r, out) for r in rows)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<div class="meta">{len(rows)} clients: {html.escape(summary or "none")}. Updated {now}. Click a column header to sort.</div>
<table class="cx-index"><thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody></table>
<script>{_SORT_JS}</script>
</body>
</html>
"""


def write_index(
    runs: Iterable[dict[str, Any]], out_dir: str | Path, *, title: str = "Client reports"
) -> Path:
    """Write ``<out_dir>/index.html`` atomically and return its path."""
    out = Path(out_dir)
    return atomic_write_text(out / "index.html", index_html(runs, out, title=title))
