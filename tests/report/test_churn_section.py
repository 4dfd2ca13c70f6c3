"""The churn groups table and the retention curves name the groups the same way."""

from __future__ import annotations

import polars as pl

from cxlab.display.charts.churn import churn_rate_bars, retention_chart
from cxlab.report import churn_section as cs

# three groups: group 2 loses 40% of 50, group 0 10% of 200, group 1 25% of 40
PROFILES = pl.DataFrame(
    {
        "cluster": [0, 1, 2],
        "label": [
            "few support contacts overall",
            "low NPS",
            "many support contacts overall, no support contacts in the last 90 days",
        ],
        "n": [200, 40, 50],
        "n_judged": [200, 40, 50],
        "churn_rate": [0.10, 0.25, 0.40],
        "ci_low": [0.07, 0.14, 0.28],
        "ci_high": [0.15, 0.40, 0.54],
        "highest_churn": [False, False, True],
        "small_n": [False, False, False],
    }
)


def test_table_bars_and_legend_number_the_groups_alike():
    table = cs.churn_groups_table(PROFILES)
    # highest churn first: 2 (40%), 1 (25%), 0 (10%), each "number: profile"
    assert table.get_column("Group").to_list() == [
        "2: many support contacts overall, no support contacts in the last 90 days",
        "1: low NPS",
        "0: few support contacts overall",
    ]
    assert table.columns == ["Group", "Customers", "Churn rate", "95% interval", "Small sample"]
    # the bar chart's axis shows the same strings
    bars = churn_rate_bars(PROFILES).to_dict()
    drawn = pl.DataFrame(next(iter(bars["datasets"].values())))
    assert drawn.get_column("cluster").to_list() == table.get_column("Group").to_list()
    # the retention curves' legend lists 2, 1, 0 like the table, and says so
    order = cs.churn_group_order(PROFILES)
    assert order == ["2", "1", "0"]
    curves = pl.DataFrame(
        {
            "group": ["0", "1", "2"],
            "day": [0.0, 0.0, 0.0],
            "retention": [1.0, 1.0, 1.0],
            "ci_low": [1.0, 1.0, 1.0],
            "ci_high": [1.0, 1.0, 1.0],
            "at_risk": [200, 40, 50],
        }
    )
    spec = retention_chart(curves, order=order).to_dict()
    assert spec["layer"][1]["encoding"]["color"]["sort"] == ["2", "1", "0"]
    assert spec["layer"][0]["title"]["subtitle"][-1] == "Groups numbered as in the table."
    # without an order: numeric legend, no mention of a table
    plain = retention_chart(curves).to_dict()
    assert "sort" not in plain["layer"][1]["encoding"]["color"]
    assert plain["layer"][0]["title"]["subtitle"] == [
        "Shaded band: the range the true value likely lies in."
    ]


def test_the_churn_groups_sentence_names_the_group_number():
    import datetime as dt

    from cxlab.analysis.features import ChurnRate

    t = dt.datetime(2025, 9, 30, tzinfo=dt.UTC)
    # 290 customers, 50 of them lost: 17% overall; group 2 loses 20 of its 50 (40%)
    rate = ChurnRate(
        n=290, n_churned=50, population="buyers", method="column", inactivity_days=90,
        as_of=t, cutoff=t, customers=pl.DataFrame(), labels=pl.DataFrame(),
    )  # fmt: skip
    assert cs.churn_groups_sentence(PROFILES, rate) == (
        'The group lost most often is group 2, "many support contacts overall, no support '
        'contacts in the last 90 days": 40% of its 50 customers (95% interval 28% to 54%), '
        "against 17% of all 290 counted."
    )


def test_tied_churn_rates_keep_the_same_order_in_table_and_bars():
    # groups 1 and 0 both lose 25% (listed 1 first): by group number, 0 before 1, in the
    # table and the bars; group 3 loses 10%
    tied = PROFILES.with_columns(
        cluster=pl.Series([1, 3, 0]), churn_rate=pl.Series([0.25, 0.10, 0.25])
    )
    table = cs.churn_groups_table(tied).get_column("Group").to_list()
    assert [g.split(":")[0] for g in table] == ["0", "1", "3"]
    drawn = pl.DataFrame(next(iter(churn_rate_bars(tied).to_dict()["datasets"].values())))
    assert drawn.get_column("cluster").to_list() == table
    assert cs.churn_group_order(tied) == ["0", "1", "3"]
