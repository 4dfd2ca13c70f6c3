"""The churn section's sentences, built from one churn definition.

Every churn figure a reader sees — the executive summary, the churn section, the portfolio
index — comes from one :class:`~cxlab.analysis.features.ChurnRate`
(:func:`cxlab.analysis.features.churn_rate`): the same customers, the same number, and one
sentence (:func:`cxlab.report.summary.churn_sentence`) that says who is counted and what
"lost" means. Small samples and wide intervals
change the words ("too few customers to say"), not only a flag. Each function is unit-tested
without a kernel; the report notebook only calls them.
"""

from __future__ import annotations

import polars as pl

from cxlab.analysis.features import WIDE_INTERVAL as WIDE_INTERVAL_SHARE
from cxlab.analysis.features import ChurnFeatures, ChurnRate
from cxlab.analysis.stats import SMALL_N
from cxlab.contract.client_config import ChurnDefinition
from cxlab.display.labels import display_label, in_sentence
from cxlab.display.tables import interval_text
from cxlab.report.sections import Skipped, churn_status

__all__ = [
    "WEAK_AUC",
    "churn_counted",
    "churn_drivers_sentence",
    "churn_groups_sentence",
    "churn_method_note",
    "churn_groups_table",
    "churn_group_order",
]

#: Below this cross-validated ROC AUC the churn drivers are reported as hints, not findings.
WEAK_AUC: float = 0.65


def churn_counted(rate: ChurnRate, churn: ChurnDefinition) -> Skipped | None:
    """None when ``rate`` counts at least one customer, else why churn cannot be measured.

    Examples
    --------
    ``a`` and ``b`` only visited: nobody had bought by the cut-off (1 Apr), so nobody could be
    lost.

    >>> import datetime as dt
    >>> from cxlab.analysis.features import churn_rate
    >>> t = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "b"], "timestamp": [t - dt.timedelta(days=60), t],
    ...                    "touchpoint": ["site_visit", "site_visit"]})
    >>> definition = ChurnDefinition("inactivity", 30)
    >>> churn_counted(churn_rate(ev, None, definition), definition).reason
    'Churn counts only customers who had bought by 01 Apr 2024, and there are none, so no one could be lost.'
    """
    status = churn_status(rate.labels, churn)
    if isinstance(status, Skipped):
        return status
    if rate.n == 0:
        return Skipped(
            "churn", f"Churn counts only {rate.who}, and there are none, so no one could be lost."
        )
    return None


def churn_groups_sentence(profiles: pl.DataFrame, rate: ChurnRate) -> str:
    """The sentence under the churn groups: the group lost most often, or why none stands out.

    A group with fewer than 30 customers, or whose 95% interval is wider than 30 points, is
    "too few customers to say", not a finding.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    >>> rate = ChurnRate(n=300, n_churned=45, population="buyers", method="column",
    ...                  inactivity_days=90, as_of=t, cutoff=t, customers=pl.DataFrame(),
    ...                  labels=pl.DataFrame())
    >>> prof = pl.DataFrame({"label": ["typical customers", "many support contacts overall"],
    ...                      "n_judged": [250, 50], "churn_rate": [0.1, 0.4],
    ...                      "ci_low": [0.07, 0.28], "ci_high": [0.14, 0.54],
    ...                      "highest_churn": [False, True]})
    >>> churn_groups_sentence(prof, rate)
    'The group lost most often is "many support contacts overall": 40% of its 50 customers (95% interval 28% to 54%), against 15% of all 300 counted.'
    >>> churn_groups_sentence(prof.with_columns(n_judged=pl.Series([288, 12])), rate)
    'No group stands out: the group lost most often ("many support contacts overall") has only 12 customers, too few to say.'
    >>> churn_groups_sentence(prof.with_columns(cluster=pl.Series([0, 7])), rate)[:72]
    'The group lost most often is group 7, "many support contacts overall": 4'
    """
    top = profiles.filter("highest_churn")
    if top.height == 0:
        return "No group of customers stands out: their churn cannot be compared."
    g = top.row(0, named=True)
    # the number the table, the bars and the legend show, when the profiles carry it
    name = (
        f'"{g["label"]}"' if g.get("cluster") is None else f'group {g["cluster"]}, "{g["label"]}"'
    )
    if g["n_judged"] < SMALL_N or g["ci_high"] - g["ci_low"] > WIDE_INTERVAL_SHARE:
        return (
            f"No group stands out: the group lost most often ({name}) has only "
            f"{g['n_judged']:,} customers, too few to say."
        )
    return (
        f"The group lost most often is {name}: {100 * g['churn_rate']:.0f}% of its "
        f"{g['n_judged']:,} customers (95% interval {100 * g['ci_low']:.0f}% to "
        f"{100 * g['ci_high']:.0f}%), against {100 * rate.rate:.0f}% of all {rate.n:,} counted."
    )


def _by_churn(profiles: pl.DataFrame) -> pl.DataFrame:
    return profiles.sort("churn_rate", "cluster", descending=[True, False], nulls_last=True)


def churn_group_order(profiles: pl.DataFrame) -> list[str]:
    """The group numbers in the order of :func:`churn_groups_table` (highest churn first), as
    the retention curves name their groups.

    Examples
    --------
    >>> churn_group_order(pl.DataFrame({"cluster": [0, 1, 2], "churn_rate": [0.1, 0.4, 0.1]}))
    ['1', '0', '2']
    """
    return _by_churn(profiles).get_column("cluster").cast(pl.String).to_list()


def churn_groups_table(profiles: pl.DataFrame) -> pl.DataFrame:
    """The table of churn groups, highest churn first, each named "number: profile".

    The number is the one the bar chart and the retention curves' legend show
    (:func:`cxlab.display.charts.churn.churn_rate_bars`,
    :func:`~cxlab.display.charts.churn.retention_chart`), so a reader can match a line to its
    group. Rows in the order of the bars: highest churn first, ties by group number.

    Examples
    --------
    >>> prof = pl.DataFrame({"cluster": [0, 1], "label": ["typical customers", "many support contacts overall"],
    ...                      "n": [250, 50], "churn_rate": [0.1, 0.4], "ci_low": [0.07, 0.28],
    ...                      "ci_high": [0.14, 0.54], "small_n": [False, False]})
    >>> churn_groups_table(prof).select("Group", "Churn rate").rows()
    [('1: many support contacts overall', 0.4), ('0: typical customers', 0.1)]
    """
    return _by_churn(profiles).select(
        pl.format("{}: {}", pl.col("cluster"), pl.col("label")).alias("Group"),
        pl.col("n").alias("Customers"),
        pl.col("churn_rate").alias("Churn rate"),
        interval_text("ci_low", "ci_high", percent=True).alias("95% interval"),
        pl.col("small_n").alias("Small sample"),
    )


def churn_drivers_sentence(auc: float, top: list[str]) -> str:
    """What the churn drivers say, hedged when the models tell lost from kept customers poorly.

    ``auc`` is the best model's cross-validated ROC AUC (0.5 is guessing, 1 is perfect);
    ``top`` the strongest traits, strongest first (shown with their display labels).

    Examples
    --------
    >>> churn_drivers_sentence(0.79, ["support_contacts", "tenure_days"])
    'The traits that best tell lost customers from kept ones are support contacts and days since first seen (the models tell them apart well: 0.79 on a scale from 0.5, guessing, to 1, perfect). These are associations, not causes.'
    >>> churn_drivers_sentence(0.58, ["support_contacts"])
    'The customer traits tell lost customers from kept ones only a little better than guessing (0.58 on a scale from 0.5 to 1), so no trait can be called a driver of churn; support contacts comes first, as a hint.'
    """
    names = [in_sentence(display_label(t)) for t in top]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    if auc < WEAK_AUC:
        return (
            f"The customer traits tell lost customers from kept ones only a little better than "
            f"guessing ({auc:.2f} on a scale from 0.5 to 1), so no trait can be called a driver "
            f"of churn; {names[0]} comes first, as a hint."
        )
    return (
        f"The traits that best tell lost customers from kept ones are {listed} (the models "
        f"tell them apart well: {auc:.2f} on a scale from 0.5, guessing, to 1, perfect). "
        "These are associations, not causes."
    )


def churn_method_note(rate: ChurnRate, features: ChurnFeatures | None = None) -> str:
    """How the churn figures were computed: who is counted, what lost means, when traits were
    measured and which were left out (for the report's "How this was computed").

    Examples
    --------
    >>> import datetime as dt
    >>> end = dt.datetime(2025, 9, 30, tzinfo=dt.UTC)
    >>> rate = ChurnRate(n=718, n_churned=113, population="buyers", method="inactivity",
    ...                  inactivity_days=120, as_of=end, cutoff=end - dt.timedelta(days=120),
    ...                  customers=pl.DataFrame(), labels=pl.DataFrame())
    >>> f = ChurnFeatures(table=pl.DataFrame(), as_of=rate.cutoff,
    ...                   excluded={"recency_days": "it is the definition"})
    >>> print(churn_method_note(rate, f))  # doctest: +ELLIPSIS
    Counted: the customers who had bought by 02 Jun 2025; customers who never bought are a conversion question, not churn, and customers first seen too recently to judge are left out. Lost: no recorded interaction in the 120 days up to 30 Sep 2025. The customer traits behind the groups and the drivers were measured on 02 Jun 2025, before those 120 days, so nothing that decides who was lost is used to explain it. Left out: ... (it is the definition).
    """
    never = (
        "customers who never bought are a conversion question, not churn, and "
        if rate.population == "buyers"
        else ""
    )
    parts = [
        f"Counted: the {rate.who}; {never}customers first seen too recently to judge are left out."
    ]
    if rate.method == "inactivity":
        parts.append(
            f"Lost: no recorded interaction in the {rate.inactivity_days} days up to "
            f"{rate.as_of:%d %b %Y}."
        )
        if features is not None:
            parts.append(
                f"The customer traits behind the groups and the drivers were measured on "
                f"{features.as_of:%d %b %Y}, before those {rate.inactivity_days} days, so "
                "nothing that decides who was lost is used to explain it."
            )
    else:
        parts.append("Lost: as the customers file records it.")
        if features is not None:
            parts.append(
                f"The customer traits were measured at the data end ({features.as_of:%d %b %Y})."
            )
    if features is not None and features.excluded:
        by_reason: dict[str, list[str]] = {}
        for name, reason in features.excluded.items():
            by_reason.setdefault(reason, []).append(display_label(name))
        parts.append(
            "Left out: "
            + "; ".join(f"{', '.join(names)} ({reason})" for reason, names in by_reason.items())
            + "."
        )
    return " ".join(parts)
