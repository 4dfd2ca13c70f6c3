"""Small polars frames as HTML tables: every header and cell escaped, numbers formatted.

The one table renderer of cxlab: the report notebooks (:func:`cxlab.report.display.table`)
and the explorer notebooks (:func:`cxlab.display.notebook.labelled_table_html`) both show
their tables with :func:`table_html`, so a table reads the same everywhere.
"""

from __future__ import annotations

import html

import polars as pl

from cxlab.pii import CONTROL_PATTERN

__all__ = ["table_html", "thousands", "interval_text"]


def _escape_expr(expr: pl.Expr) -> pl.Expr:
    return (
        expr.str.replace_all(CONTROL_PATTERN, "")
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all('"', "&quot;", literal=True)
        .str.replace_all("'", "&#x27;", literal=True)
    )


def thousands(expr: pl.Expr) -> pl.Expr:
    """Integers as text with a comma between thousands (``2682`` -> ``"2,682"``).

    Polars-native: the digits are reversed, a comma follows every group of three, and the
    text is reversed back (without a comma before the sign or at the start).

    Examples
    --------
    >>> pl.DataFrame({"n": [2682, -1234567, 999, 0, None]}).select(thousands(pl.col("n")))["n"].to_list()
    ['2,682', '-1,234,567', '999', '0', None]
    """
    return (
        expr.cast(pl.Int64)
        .cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "${1},")
        .str.replace(r",(-?)$", "${1}")
        .str.reverse()
    )


def table_html(
    df: pl.DataFrame,
    *,
    caption: str | None = None,
    max_rows: int = 50,
    decimals: int = 2,
    percent: tuple[str, ...] | list[str] = (),
    escaped: tuple[str, ...] | list[str] = (),
    plain: tuple[str, ...] | list[str] = (),
) -> str:
    """A small frame as an HTML table with every header and cell escaped.

    Parameters
    ----------
    df : pl.DataFrame
        An aggregated frame (already sorted: the row order is kept).
    caption : str, optional
        Shown above the table.
    max_rows : int
        Rows shown; a note says how many were left out.
    decimals : int
        Decimals for float columns.
    percent : sequence of str
        Float columns holding shares (0..1), shown as percentages.
    escaped : sequence of str
        String columns that are *already* HTML-escaped (e.g. :func:`cxlab.pii.safe_text`
        verbatims): shown as they are, not escaped twice.
    plain : sequence of str
        Integer columns shown without thousands separators (a year, a code); every other
        integer column is a count, shown as ``2,682`` (:func:`thousands`).

    Examples
    --------
    >>> t = table_html(pl.DataFrame({"segment": ["<b>VIP</b>"], "share": [0.25]}), percent=["share"])
    >>> "&lt;b&gt;VIP&lt;/b&gt;" in t and "25.0%" in t and "<b>" not in t
    True
    >>> '<td class="cx-num">2,682</td>' in table_html(pl.DataFrame({"customers": [2682]}))
    True
    """
    shown = df.head(max_rows)
    exprs = []
    numeric = []
    for name, dtype in shown.schema.items():
        col = pl.col(name)
        if name in percent and dtype.is_numeric():
            text = pl.format("{}%", (col * 100).round(1).cast(pl.String))
            numeric.append(name)
        elif dtype.is_float():
            text = col.round(decimals).cast(pl.String)
            numeric.append(name)
        elif dtype.is_integer() and name not in plain:
            text = thousands(col)
            numeric.append(name)
        elif dtype.is_numeric():
            text = col.cast(pl.String)
            numeric.append(name)
        elif dtype == pl.Boolean:
            text = pl.when(col).then(pl.lit("yes")).otherwise(pl.lit("no"))
        elif isinstance(dtype, pl.List):
            text = col.list.eval(pl.element().cast(pl.String)).list.join(", ")
        elif isinstance(dtype, pl.Struct):
            text = col.struct.json_encode()
        else:
            text = col.cast(pl.String)
        td = '<td class="cx-num">' if name in numeric else "<td>"
        shown_text = text if name in escaped else _escape_expr(text)
        exprs.append(
            pl.concat_str([pl.lit(td), shown_text.fill_null("–"), pl.lit("</td>")]).alias(name)
        )
    if exprs:
        rows = shown.select(pl.concat_str(exprs).alias("row")).get_column("row")
        body = "".join("<tr>" + r + "</tr>" for r in rows.to_list())
    else:
        body = ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    more = ""
    if df.height > max_rows:
        more = f'<p class="cx-note">Showing the first {max_rows} of {df.height} rows.</p>'
    return f'<table class="cx-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def interval_text(
    low: str | pl.Expr, high: str | pl.Expr, *, percent: bool = False, decimals: int = 1
) -> pl.Expr:
    """An interval as one table cell, worded as the report's sentences: ``"19.5% to 31.4%"``.

    A table shows an interval in one column (headed e.g. "95% interval") rather than two
    columns of bounds. ``percent``: the bounds are shares (0..1), shown as percentages. A
    missing bound gives a missing cell (shown as "–").

    Examples
    --------
    >>> df = pl.DataFrame({"lo": [0.195, None, -0.05], "hi": [0.3142, 0.5, 0.12]})
    >>> df.select(interval_text("lo", "hi", percent=True))["interval"].to_list()
    ['19.5% to 31.4%', None, '-5.0% to 12.0%']
    >>> pl.select(interval_text(pl.lit(-10.04), pl.lit(3.0))).item()
    '-10.0 to 3.0'
    """
    lo = pl.col(low) if isinstance(low, str) else low
    hi = pl.col(high) if isinstance(high, str) else high
    scale, unit = (100.0, "%") if percent else (1.0, "")

    def shown(e: pl.Expr) -> pl.Expr:
        return (e * scale).round(decimals).cast(pl.String) + unit

    return pl.concat_str([shown(lo), pl.lit(" to "), shown(hi)]).alias("interval")
