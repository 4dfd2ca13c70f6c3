"""The one table renderer's interval cell: one column, worded as the report's sentences."""

from __future__ import annotations

import polars as pl

from cxlab.display.tables import interval_text, table_html


def test_interval_text_reads_like_the_report_sentences():
    # shares 0.195..0.3142 -> "19.5% to 31.4%"; a pain difference can be negative; an
    # interval without its lower bound (n = 0) is missing, never "None to 50.0%"
    df = pl.DataFrame({"lo": [0.195, None, -0.05], "hi": [0.3142, 0.5, 0.12]})
    cells = df.select(interval_text("lo", "hi", percent=True)).to_series().to_list()
    assert cells == ["19.5% to 31.4%", None, "-5.0% to 12.0%"]
    # scores keep their own scale (NPS points), one decimal by default
    nps = pl.DataFrame({"ci_low": [-10.04], "ci_high": [3.0]})
    assert nps.select(interval_text("ci_low", "ci_high")).item() == "-10.0 to 3.0"


def test_one_interval_column_in_a_table():
    df = pl.DataFrame({"stage": ["purchase"], "lo": [0.2], "hi": [0.3]})
    page = table_html(
        df.select("stage", interval_text("lo", "hi", percent=True).alias("95% interval"))
    )
    assert "<th>95% interval</th>" in page and "<td>20.0% to 30.0%</td>" in page
    missing = table_html(
        pl.DataFrame({"lo": [None], "hi": [0.3]}).select(interval_text("lo", "hi"))
    )
    assert "<td>–</td>" in missing  # shown as the table's missing-value dash
