"""The report's headline sentences and caveats: facts in, plain sentences out.

Every sentence a client manager reads in the executive summary, and every caveat that takes
the place of a finding the data cannot support, is written here by a small function that takes
numbers or small frames and returns text. The report notebook only calls them, so each rule has
a unit test without a kernel (``tests/report/test_summary.py``).

The rules, with their stated thresholds:

* **Data coverage** -- when at least :data:`UNMAPPED_WARNING_SHARE` of the interactions are on
  touchpoints the journey map does not place in a stage, :func:`coverage_warning` says so at the
  top of the report and :func:`journey_map_fix` gives the ``[journey.map]`` lines to add.
* **Stages not tracked** -- a stage with no interaction in the period is "not tracked"
  (:func:`not_tracked_sentence`), never "the weakest step: 0%".
* **Weak driver models** -- when the journey explains less than :data:`WEAK_MODEL_R2` of the
  variation in NPS answers, the drivers are "weakly related to NPS; treat them as hints"
  (:func:`driver_sentence`; the drivers section's sentences are
  :meth:`cxlab.analysis.drivers.KeyDrivers.reading`'s).
* **Small samples and wide intervals** -- fewer than :data:`cxlab.analysis.stats.SMALL_N` answers or
  customers, or a 95% interval wider than :data:`WIDE_NPS_INTERVAL` NPS points or
  :data:`WIDE_RATE_INTERVAL` for a share, give "too few ... to say" (:func:`too_uncertain`).

:func:`executive_summary` puts the sentences together, leaving out any number that could not
be computed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from cxlab.analysis.stats import SMALL_N, WEAK_MODEL_R2, wilson_interval
from cxlab.contract.validation import partial_periods
from cxlab.words import and_list, plural

if TYPE_CHECKING:
    from cxlab.analysis.features import ChurnRate

__all__ = [
    "NO_PAIN",
    "PAIN_VERDICTS",
    "UNMAPPED_WARNING_SHARE",
    "WEAK_MODEL_R2",
    "WIDE_NPS_INTERVAL",
    "WIDE_RATE_INTERVAL",
    "too_uncertain",
    "opening_sentence",
    "coverage_warning",
    "timeline_sentence",
    "journey_map_fix",
    "not_tracked_sentence",
    "headline_conversion",
    "conversion_sentence",
    "funnel_base_sentence",
    "funnel_intro",
    "weakest_step_sentence",
    "funnel_caveats",
    "painful_sentence",
    "rank_pain",
    "pain_sentence",
    "score_caveats",
    "nps_sentence",
    "driver_sentence",
    "churn_sentence",
    "set_aside_sentence",
    "short_caveats",
    "executive_summary",
    "HOW_COMPUTED",
    "how_computed",
]

#: Share of the interactions on unmapped touchpoints from which the coverage warning shows.
UNMAPPED_WARNING_SHARE: float = 0.10
#: A 95% NPS interval wider than this many points is too wide to state a score.
WIDE_NPS_INTERVAL: float = 50.0
#: A 95% interval of a share wider than this (0..1) is too wide to state the share.
WIDE_RATE_INTERVAL: float = 0.30


def too_uncertain(n: int, low: float | None, high: float | None, *, max_width: float) -> bool:
    """Whether a number is too uncertain to state: small sample, or interval wider than allowed.

    The small-sample rule is the project's (:data:`cxlab.analysis.stats.SMALL_N`: fewer than 30); a
    missing or NaN interval counts as too uncertain.

    Examples
    --------
    >>> too_uncertain(12, 0.1, 0.2, max_width=0.3)  # fewer than 30
    True
    >>> too_uncertain(100, 0.40, 0.60, max_width=0.3), too_uncertain(40, 0.2, 0.55, max_width=0.3)
    (False, True)
    """
    if n < SMALL_N or low is None or high is None:
        return True
    if isinstance(low, float) and math.isnan(low) or isinstance(high, float) and math.isnan(high):
        return True
    return (high - low) > max_width


# ----------------------------------------------------------------------------- the opening
def opening_sentence(client_name: str, period: str, customers: int, interactions: int) -> str:
    """Who and when: the summary's first sentence.

    Examples
    --------
    >>> opening_sentence("Shop", "01 Jan 2024 to 31 Jan 2024", 3, 7)
    'From 01 Jan 2024 to 31 Jan 2024, 3 customers of Shop generated 7 recorded interactions.'
    >>> opening_sentence("Shop", "no events", 0, 0)
    'No interaction with the customers of Shop was recorded in this period.'
    """
    if not interactions:
        return f"No interaction with the customers of {client_name} was recorded in this period."
    return (
        f"From {period}, {customers:,} customers of {client_name} generated "
        f"{interactions:,} recorded interactions."
    )


# --------------------------------------------------------------------------- data coverage
def timeline_sentence(
    first: dt.datetime,
    last: dt.datetime,
    every: Literal["day", "week", "month", "quarter"] = "week",
) -> str:
    """The sentence above the interactions-over-time chart, saying which periods are partial.

    A first or last period the data covers only in part
    (:func:`cxlab.contract.validation.partial_periods`) has a lower count because of the
    calendar: the sentence says so, so that the drop at either end is not read as a missing
    export (the chart draws those periods dashed).

    Examples
    --------
    The bookshop's data runs from Tue 01 Oct 2024 to Tue 30 Sep 2025; weeks start on Monday, so
    the first week lacks its Monday and the last one has two of its seven days:

    >>> a, b = dt.datetime(2024, 10, 1, 8), dt.datetime(2025, 9, 30, 17)
    >>> print(timeline_sentence(a, b))  # doctest: +NORMALIZE_WHITESPACE
    Events from 01 Oct 2024 to 30 Sep 2025. The chart shows how many interactions were recorded
    each week, by channel: gaps or sudden jumps usually mean missing or duplicated exports. The
    first and last weeks are partial (dashed): the data starts on Tue 01 Oct 2024 and ends on
    Tue 30 Sep 2025, so their lower counts are not missing data.
    >>> timeline_sentence(a, b, "month").endswith("duplicated exports.")  # whole months
    True
    """
    text = (
        f"Events from {first:%d %b %Y} to {last:%d %b %Y}. The chart shows how many interactions "
        f"were recorded each {every}, by channel: gaps or sudden jumps usually mean missing or "
        "duplicated exports."
    )
    head, tail = partial_periods(first, last, every)
    if head is None and tail is None:
        return text
    if head is not None and tail is not None and head != tail:
        which = f"The first and last {every}s are partial (dashed)"
        dates = f"the data starts on {first:%a %d %b %Y} and ends on {last:%a %d %b %Y}"
        counts = "their lower counts are"
    elif head is not None and head == tail:
        which = f"The only {every} is partial"
        dates = f"the data runs from {first:%a %d %b %Y} to {last:%a %d %b %Y}"
        counts = "its count is"
    elif head is not None:
        which = f"The first {every} is partial (dashed)"
        dates = f"the data starts on {first:%a %d %b %Y}"
        counts = "its lower count is"
    else:
        which = f"The last {every} is partial (dashed)"
        dates = f"the data ends on {last:%a %d %b %Y}"
        counts = "its lower count is"
    return f"{text} {which}: {dates}, so {counts} not missing data."


def coverage_warning(
    unmapped: int, interactions: int, *, threshold: float = UNMAPPED_WARNING_SHARE
) -> str | None:
    """The data-coverage warning, when many interactions are on touchpoints the map does not know.

    Parameters
    ----------
    unmapped : int
        Interactions on touchpoints the journey map places in no stage
        (:func:`cxlab.analysis.journey.unmapped_touchpoints`' ``events``, summed).
    interactions : int
        All interactions in the period.
    threshold : float
        Share of unmapped interactions from which the warning shows
        (:data:`UNMAPPED_WARNING_SHARE`).

    Examples
    --------
    >>> print(coverage_warning(930, 1000))  # doctest: +NORMALIZE_WHITESPACE
    Data coverage: 93% of the 1,000 recorded interactions (930) are on touchpoints the journey
    map does not place in any stage. The funnel, the touchpoint map and the stage flows leave them
    out, so they can show customers stopping where they did not. To fix it, run `cxlab validate`
    on this client's folder and add the missing touchpoints to the [journey.map] table of
    client.toml, checking each suggested stage:
    >>> coverage_warning(3, 1000) is None
    True
    """
    if interactions <= 0 or unmapped / interactions < threshold:
        return None
    share = 100 * unmapped / interactions
    return (
        f"Data coverage: {share:.0f}% of the {interactions:,} recorded interactions "
        f"({unmapped:,}) are on touchpoints the journey map does not place in any stage. The "
        "funnel, the touchpoint map and the stage flows leave them out, so they can show "
        "customers stopping where they did not. To fix it, run `cxlab validate` on this "
        "client's folder and add the missing touchpoints to the [journey.map] table of "
        "client.toml, checking each suggested stage:"
    )


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def journey_map_fix(unmapped: pl.DataFrame, suggestions: Mapping[str, str], *, top: int = 5) -> str:
    """The ``[journey.map]`` lines to add for the most frequent unmapped touchpoints (valid TOML).

    A name that does not look like an event name (an e-mail or a phone typed as a touchpoint:
    :func:`cxlab.pii.looks_like_event_name`) is never written out; a comment counts those
    left out. Keys that are not bare TOML keys are quoted.

    Parameters
    ----------
    unmapped : DataFrame
        ``touchpoint`` and ``events``, most frequent first
        (:func:`cxlab.analysis.journey.unmapped_touchpoints`).
    suggestions : mapping of str to str
        Touchpoint -> suggested stage (:func:`cxlab.io.init.suggest_stages`); a touchpoint
        without one gets ``"consideration"`` and a comment saying to check it.
    top : int
        How many touchpoints to write out.

    Examples
    --------
    >>> un = pl.DataFrame({"touchpoint": ["page_view", "Add To Cart", "jo@x.io"], "events": [80, 9, 4]})
    >>> print(journey_map_fix(un, {"page_view": "consideration", "Add To Cart": "consideration"}))
    [journey.map]
    page_view = "consideration"  # 80 interactions
    "Add To Cart" = "consideration"  # 9 interactions
    # 1 more touchpoint is not shown here (its name may be personal data): cxlab validate lists it
    """
    from cxlab.contract.client_config import toml_value
    from cxlab.pii import looks_like_event_name

    rows = unmapped.filter(pl.col("touchpoint").is_not_null()).select("touchpoint", "events")
    lines = ["[journey.map]"]
    hidden = left = 0
    for name, n in rows.iter_rows():
        if not looks_like_event_name(name):
            hidden += 1
            continue
        if len(lines) > top:
            left += 1
            continue
        key = name if _BARE_KEY.fullmatch(name) else toml_value(name)
        stage = suggestions.get(name)
        note = "" if stage else ", stage to check"
        lines.append(
            f"{key} = {toml_value(stage or 'consideration')}  # {plural(n, 'interaction')}{note}"
        )
    more = left + hidden
    if more:
        why = " (its name may be personal data)" if hidden == more == 1 else ""
        if hidden and more > 1:
            why = f" ({hidden:,} of them named like personal data)"
        verb = "is" if more == 1 else "are"
        lines.append(
            f"# {more:,} more touchpoint{'s' if more != 1 else ''} {verb} not shown here{why}: "
            f"cxlab validate lists {'it' if more == 1 else 'them'}"
        )
    return "\n".join(lines)


def not_tracked_sentence(untracked: Sequence[str]) -> str | None:
    """Stages with no interaction in the period: "not tracked", never a 0% step.

    Examples
    --------
    >>> not_tracked_sentence(["advocacy"])
    'Advocacy is not tracked: no interaction in this period is on a touchpoint mapped to it, so the report cannot say how many customers reach it.'
    >>> not_tracked_sentence(["awareness", "advocacy"])[:60]
    'Awareness and advocacy are not tracked: no interaction in th'
    >>> not_tracked_sentence([]) is None
    True
    """
    if not untracked:
        return None
    names = and_list(list(untracked))
    names = names[:1].upper() + names[1:]
    if len(untracked) == 1:
        return (
            f"{names} is not tracked: no interaction in this period is on a touchpoint mapped "
            "to it, so the report cannot say how many customers reach it."
        )
    return (
        f"{names} are not tracked: no interaction in this period is on a touchpoint mapped "
        "to them, so the report cannot say how many customers reach them."
    )


# ---------------------------------------------------------------------------------- funnel
#: Stages from the purchase on: a funnel that starts there says nothing about who buys.
_AFTER_CHOICE = ("purchase", "retention", "advocacy")


def headline_conversion(
    stages: pl.DataFrame, untracked: Sequence[str] = ()
) -> tuple[int, int] | None:
    """``(buyers, customers in the funnel)`` when the funnel can say who buys, else None.

    None when nobody entered the funnel, when no purchase was recorded (``purchase`` not
    tracked), or when the funnel starts at the purchase or later (nothing before it tracked):
    the report then publishes no conversion rather than a misleading 0% or 100%.

    Examples
    --------
    >>> st = pl.DataFrame({"step": [1, 2], "step_name": ["consideration", "purchase"],
    ...                    "entered": [200, 200], "converted": [200, 50]})
    >>> headline_conversion(st), headline_conversion(st.tail(1)), headline_conversion(st, ["purchase"])
    ((50, 200), None, None)
    """
    entered = int(stages.get_column("entered")[0] or 0) if stages.height else 0
    if not entered or stages.get_column("step_name")[0] in _AFTER_CHOICE:
        return None
    purchase = stages.filter(pl.col("step_name") == "purchase")
    if "purchase" in untracked or purchase.height == 0:
        return None
    return int(purchase.get_column("converted")[0] or 0), entered


def conversion_sentence(stages: pl.DataFrame, untracked: Sequence[str] = ()) -> str | None:
    """The share of the customers in the funnel who went on to buy, or why it is not given.

    Parameters
    ----------
    stages : DataFrame
        :func:`cxlab.analysis.funnel.stage_funnel` (``step, step_name, entered, converted``); the
        first row's ``entered`` is the funnel's base, the purchase row's ``converted`` the
        buyers (:func:`headline_conversion`).
    untracked : sequence of str
        Stages with no interaction in the period.

    Examples
    --------
    >>> st = pl.DataFrame({"step": [1, 2], "step_name": ["consideration", "purchase"],
    ...                    "entered": [200, 200], "converted": [200, 50]})
    >>> conversion_sentence(st)
    '25.0% of the customers who entered the journey went on to buy (95% interval 19.5% to 31.4%, n = 200).'
    >>> conversion_sentence(st.with_columns(pl.col("entered") // 10, pl.col("converted") // 10))
    'Only 20 customers entered the journey: too few to say what share goes on to buy.'
    >>> conversion_sentence(st.tail(1))
    'Nothing before the purchase is tracked, so the share of customers who go on to buy cannot be given.'
    >>> conversion_sentence(st, untracked=["purchase"])
    'No purchase was recorded in this period, so the share of customers who buy cannot be given.'
    """
    entered = int(stages.get_column("entered")[0] or 0) if stages.height else 0
    if not entered:
        return None
    conv = headline_conversion(stages, untracked)
    if conv is None:
        if stages.get_column("step_name")[0] in _AFTER_CHOICE:
            return (
                "Nothing before the purchase is tracked, so the share of customers who go on "
                "to buy cannot be given."
            )
        return (
            "No purchase was recorded in this period, so the share of customers who buy "
            "cannot be given."
        )
    buyers, entered = conv
    lo, hi = wilson_interval(buyers, entered)
    if too_uncertain(entered, lo, hi, max_width=WIDE_RATE_INTERVAL):
        return (
            f"Only {plural(entered, 'customer')} entered the journey: too few to say what share "
            "goes on to buy."
        )
    return (
        f"{100 * buyers / entered:.1f}% of the customers who entered the journey went on to "
        f"buy (95% interval {100 * lo:.1f}% to {100 * hi:.1f}%, n = {entered:,})."
    )


def funnel_intro(stages: pl.DataFrame) -> str:
    """How to read the funnel chart, naming the stages it shows (the tracked ones only).

    Examples
    --------
    >>> funnel_intro(pl.DataFrame({"step_name": ["consideration", "purchase", "retention"]}))[:72]
    'Each bar is a journey stage (consideration, purchase and retention), as '
    """
    return (
        f"Each bar is a journey stage ({and_list(stages.get_column('step_name').to_list())}), as wide "
        "as the customers who reached it; between two bars, how many did not go on. Hover a bar "
        "for the conversion and the range it likely lies in."
    )


def funnel_base_sentence(stages: pl.DataFrame) -> str | None:
    """Which customers the stage funnel counts, and why, in one plain sentence.

    With an ``entered_here`` column (:func:`cxlab.analysis.funnel.stage_funnel`'s default
    base, "first seen"), every customer seen in a tracked stage is counted from the first stage
    they were seen in, and the earlier stages count as passed for them. Without it, the funnel
    counts only the customers seen at its first stage.

    Examples
    --------
    >>> st = pl.DataFrame({"step": [1, 2, 3], "step_name": ["awareness", "consideration", "purchase"],
    ...                    "entered": [400, 400, 380], "converted": [400, 380, 150],
    ...                    "entered_here": [247, 153, 0]})
    >>> print(funnel_base_sentence(st))  # doctest: +NORMALIZE_WHITESPACE
    The funnel counts all 400 customers seen in the journey, each from the first stage they were
    seen in (247 at awareness and 153 at consideration): for a customer first seen at a later stage,
    the earlier ones count as passed, since they were not recorded.
    >>> funnel_base_sentence(st.drop("entered_here").with_columns(pl.col("entered") - 153))
    'The funnel counts the 247 customers seen at awareness; customers first seen at a later stage are left out.'
    """
    if stages.height == 0 or not int(stages.get_column("entered")[0] or 0):
        return None
    total = int(stages.get_column("entered")[0])
    first = stages.get_column("step_name")[0]
    if "entered_here" not in stages.columns:
        return (
            f"The funnel counts the {plural(total, 'customer')} seen at {first}; customers "
            "first seen at a later stage are left out."
        )
    where = [
        f"{int(n):,} at {name}"
        for name, n in stages.select("step_name", "entered_here").iter_rows()
        if n
    ]
    if len(where) <= 1:
        return (
            f"The funnel counts all {plural(total, 'customer')} seen in the journey; every one "
            f"of them was first seen at {first}."
        )
    return (
        f"The funnel counts all {plural(total, 'customer')} seen in the journey, each from the "
        f"first stage they were seen in ({and_list(where)}): for a customer first seen at a later "
        "stage, the earlier ones count as passed, since they were not recorded."
    )


def _with_intervals(stages: pl.DataFrame) -> pl.DataFrame:
    if {"ci_low", "ci_high"} <= set(stages.columns):
        return stages
    from cxlab.analysis.stats import wilson_bounds

    return stages.with_columns(wilson_bounds("converted", "entered"))


def weakest_step_sentence(stages: pl.DataFrame, untracked: Sequence[str] = ()) -> str | None:
    """The step with the lowest conversion among those the data can speak for.

    A step into a stage that is not tracked, a step with nobody at the previous stage, and a
    step too uncertain to state (:func:`too_uncertain`: fewer than 30 customers at the previous
    stage, or a 95% interval wider than :data:`WIDE_RATE_INTERVAL`) is never "the weakest".

    Examples
    --------
    >>> st = pl.DataFrame({"step": [1, 2, 3, 4], "entered": [400, 400, 300, 12],
    ...     "step_name": ["awareness", "consideration", "purchase", "retention"],
    ...     "converted": [400, 300, 120, 1], "conversion_rate": [1.0, 0.75, 0.4, 1 / 12]})
    >>> weakest_step_sentence(st)  # retention: 1 of 12, too few to say
    'The weakest step is the move into purchase: only 40% of those who could make it did.'
    >>> weakest_step_sentence(st, untracked=["purchase"])
    'The weakest step is the move into consideration: only 75% of those who could make it did.'
    """
    if stages.height == 0:
        return None
    cand = _with_intervals(stages).filter(
        (pl.col("step") > 1)
        & pl.col("conversion_rate").is_not_null()
        & ~pl.col("step_name").is_in(list(untracked))
        & (pl.col("entered") >= SMALL_N)
        & ((pl.col("ci_high") - pl.col("ci_low")) <= WIDE_RATE_INTERVAL)
    )
    if cand.height == 0:
        return None
    w = cand.sort("conversion_rate", "step").row(0, named=True)
    return (
        f"The weakest step is the move into {w['step_name']}: only "
        f"{100 * w['conversion_rate']:.0f}% of those who could make it did."
    )


def funnel_caveats(stages: pl.DataFrame) -> list[str]:
    """One sentence per funnel step too uncertain to read (:func:`too_uncertain`).

    Examples
    --------
    >>> st = pl.DataFrame({"step": [1, 2, 3], "step_name": ["purchase", "retention", "advocacy"],
    ...                    "entered": [300, 300, 12], "converted": [300, 12, 2]})
    >>> funnel_caveats(st)
    ['Only 12 customers reached retention: too few to say what share goes on to advocacy.']
    """
    if stages.height < 2:
        return []
    rows = (
        _with_intervals(stages)
        .with_columns(pl.col("step_name").shift(1).alias("_previous"))
        .filter((pl.col("step") > 1) & (pl.col("entered") > 0))
    )
    out = []
    for r in rows.iter_rows(named=True):
        if too_uncertain(r["entered"], r["ci_low"], r["ci_high"], max_width=WIDE_RATE_INTERVAL):
            out.append(
                f"Only {plural(r['entered'], 'customer')} reached {r['_previous']}: too few to "
                f"say what share goes on to {r['step_name']}."
            )
    return out


def painful_sentence(painful: pl.DataFrame) -> str | None:
    """The most painful touchpoint (the first row of ``painful``), or None.

    Examples
    --------
    >>> p = pl.DataFrame({"touchpoint": ["checkout_error"], "stage": ["purchase"],
    ...                   "drop_touched": [0.75], "drop_not_touched": [0.25], "n_touched": [40]})
    >>> painful_sentence(p)[:70]
    'The most painful touchpoint is checkout_error in the purchase stage: 7'
    """
    if painful.height == 0:
        return None
    p = painful.row(0, named=True)
    return (
        f"The most painful touchpoint is {p['touchpoint']} in the {p['stage']} stage: "
        f"{100 * p['drop_touched']:.0f}% of the customers who hit it went no further, against "
        f"{100 * p['drop_not_touched']:.0f}% of the others at that stage (n = {p['n_touched']:,})."
    )


#: The words of :func:`rank_pain`'s ``verdict`` column.
PAIN_VERDICTS = {
    "painful": "clearly painful",
    "unclear": "no clear difference",
}


def rank_pain(heat: pl.DataFrame, top: int = 8) -> pl.DataFrame:
    """The touchpoints with a pain score above zero, the clearly painful ones first.

    Only touchpoints with some pain are listed (``pain > 0``): a touchpoint whose customers
    went no further exactly as often as their peers (0.0%, e.g. every awareness touchpoint
    when nobody stops at awareness), or less often, is not one of "the most painful". A
    touchpoint is *clearly painful* when the whole 95% interval of its pain score is above
    zero (``pain_ci_low > 0``): this is the rule of the executive summary's "most painful
    touchpoint" (:func:`painful_sentence`). When the interval includes zero the customers who
    hit it may drop out no more than their peers: "no clear difference". Rows: the clearly
    painful touchpoints by pain, then the others by pain (ties by stage and touchpoint), at
    most ``top`` in all, with a ``verdict`` column (:data:`PAIN_VERDICTS`); no rows when no
    touchpoint has any pain (:func:`pain_sentence` then says so).

    Parameters
    ----------
    heat : DataFrame
        :func:`cxlab.analysis.heatmap.touchpoint_heatmap` (``stage``, ``touchpoint``, ``pain``,
        ``pain_ci_low``, ``pain_ci_high`` …). Rows without a pain score are left out.
    top : int, default 8
        How many rows to keep.

    Examples
    --------
    >>> heat = pl.DataFrame({"stage": ["purchase", "retention", "retention", "awareness"],
    ...     "touchpoint": ["checkout_error", "email_open", "delivery_late", "ad_click"],
    ...     "pain": [0.526, 0.057, 0.045, 0.0], "pain_ci_low": [0.478, -0.071, -0.007, -0.002],
    ...     "pain_ci_high": [0.570, 0.265, 0.090, 0.004]})
    >>> rank_pain(heat).select("touchpoint", "verdict").rows()
    [('checkout_error', 'clearly painful'), ('email_open', 'no clear difference'), ('delivery_late', 'no clear difference')]
    """
    verdict = (
        pl.when(pl.col("pain_ci_low") > 0)
        .then(pl.lit(PAIN_VERDICTS["painful"]))
        .otherwise(pl.lit(PAIN_VERDICTS["unclear"]))  # (pain > 0: the interval reaches above 0)
    )
    return (
        heat.filter(pl.col("pain") > 0)  # no pain at all is not "painful" (nulls left out)
        .with_columns(verdict.alias("verdict"))
        .sort(
            [pl.col("verdict") != PAIN_VERDICTS["painful"], "pain", "stage", "touchpoint"],
            descending=[False, True, False, False],
        )
        .head(top)
    )


#: What the report says instead of an empty "most painful touchpoints" table.
NO_PAIN = (
    "No touchpoint has a pain score above zero: the customers who hit a touchpoint stopped in "
    "the journey no more often than the other customers at the same stage."
)


def pain_sentence(ranked: pl.DataFrame) -> str:
    """Which of the touchpoints in :func:`rank_pain`'s table are clearly painful, in words.

    When the table is empty (no touchpoint has a pain score above zero) the sentence says so:
    the report shows it instead of an empty table.

    Examples
    --------
    The bookshop: Checkout error's interval (47.8% to 57.0%) is above zero; the seven others'
    intervals include zero (Email open: -7.1% to 26.5%).

    >>> ranked = pl.DataFrame({"touchpoint": ["Checkout error"] + [f"T{i}" for i in range(7)],
    ...     "verdict": ["clearly painful"] + ["no clear difference"] * 7})
    >>> print(pain_sentence(ranked))  # doctest: +NORMALIZE_WHITESPACE
    Only Checkout error is clearly painful: its whole 95% interval is above zero. For the other
    7 touchpoints the interval includes zero: the customers who hit them may drop out no more
    than their peers.
    >>> pain_sentence(ranked.clear())[:60]
    'No touchpoint has a pain score above zero: the customers who'
    """
    if ranked.height == 0:
        return NO_PAIN
    clear = ranked.filter(pl.col("verdict") == PAIN_VERDICTS["painful"])["touchpoint"].to_list()
    rest = ranked.height - len(clear)
    them = "it" if rest == 1 else "them"
    if not clear:
        listed = "the one touchpoint" if rest == 1 else f"each of the {rest:,} touchpoints"
        return (
            f"No touchpoint is clearly painful: for {listed} listed the 95% interval includes "
            f"zero, so the customers who hit {them} may drop out no more than their peers."
        )
    if rest == 0:
        if len(clear) == 1:
            return f"{clear[0]} is clearly painful: its whole 95% interval is above zero."
        return (
            f"All {plural(len(clear), 'touchpoint')} listed are clearly painful: their whole "
            "95% intervals are above zero."
        )
    if len(clear) == 1:
        head = f"Only {clear[0]} is clearly painful: its whole 95% interval is above zero."
    else:
        head = f"{and_list(clear)} are clearly painful: their whole 95% intervals are above zero."
    others = "other touchpoint" if rest == 1 else f"other {rest:,} touchpoints"
    return (
        f"{head} For the {others} the interval includes zero: the customers who hit "
        f"{them} may drop out no more than their peers."
    )


# ------------------------------------------------------------------------------ NPS, drivers
def nps_sentence(nps: Mapping[str, Any] | None) -> str | None:
    """The Net Promoter Score with its interval, or "too few answers to say".

    Parameters
    ----------
    nps : mapping or None
        :func:`cxlab.report.sections.headline_nps` (``estimate, ci_low, ci_high, n``).

    Examples
    --------
    >>> nps_sentence({"estimate": -4.0, "ci_low": -10.0, "ci_high": 3.0, "n": 625})
    'The Net Promoter Score is -4 (95% interval -10 to +3, 625 answers).'
    >>> nps_sentence({"estimate": 25.0, "ci_low": -15.0, "ci_high": 65.0, "n": 40})
    'There are too few NPS answers to say what the Net Promoter Score is: the 40 answers put it anywhere between -15 and +65 (95% interval).'
    >>> nps_sentence({"estimate": 100.0, "ci_low": None, "ci_high": None, "n": 1})
    'Only 1 NPS answer: too few answers to say what the Net Promoter Score is.'
    """
    if nps is None:
        return None
    n, lo, hi = int(nps["n"]), nps.get("ci_low"), nps.get("ci_high")
    if not too_uncertain(n, lo, hi, max_width=WIDE_NPS_INTERVAL):
        return (
            f"The Net Promoter Score is {nps['estimate']:+.0f} (95% interval {lo:+.0f} to "
            f"{hi:+.0f}, {n:,} answers)."
        )
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi) or n < 2:
        return f"Only {plural(n, 'NPS answer')}: too few answers to say what the Net Promoter Score is."
    return (
        f"There are too few NPS answers to say what the Net Promoter Score is: the {n:,} "
        f"answers put it anywhere between {lo:+.0f} and {hi:+.0f} (95% interval)."
    )


#: The widest interval a score can have and still be stated, by metric (score units).
_WIDE_SCORE = {
    "nps": WIDE_NPS_INTERVAL,
    "csat": 100 * WIDE_RATE_INTERVAL,
    "ces_easy": 100 * WIDE_RATE_INTERVAL,
}


def score_caveats(scores: pl.DataFrame) -> list[str]:
    """One sentence per score too uncertain to state (the metrics section's table).

    Parameters
    ----------
    scores : DataFrame
        :func:`cxlab.analysis.metrics.score_summary` rows (``metric, n, estimate, ci_low, ci_high``).
        NPS is too uncertain under 30 answers or with an interval wider than
        :data:`WIDE_NPS_INTERVAL` points; CSAT (0-100) wider than 30 points; the CES mean
        under 30 answers only.

    Examples
    --------
    >>> sc = pl.DataFrame({"metric": ["nps", "csat", "ces"], "n": [12, 400, 300],
    ...     "estimate": [20.0, 54.0, 4.8], "ci_low": [-10.0, 49.0, 4.6], "ci_high": [50.0, 59.0, 5.0]})
    >>> score_caveats(sc)
    ['NPS: only 12 answers, too few to say what the score is.']
    """
    out = []
    for r in scores.iter_rows(named=True):
        n = int(r["n"] or 0)
        if n == 0:
            continue
        width = _WIDE_SCORE.get(r["metric"], math.inf)
        if too_uncertain(n, r["ci_low"], r["ci_high"], max_width=width):
            name = str(r["metric"]).upper()
            if n < SMALL_N:
                out.append(f"{name}: only {plural(n, 'answer')}, too few to say what the score is.")
            else:
                out.append(
                    f"{name}: the {n:,} answers put the score anywhere between "
                    f"{r['ci_low']:.0f} and {r['ci_high']:.0f}, too wide a range to say what it is."
                )
    return out


def driver_sentence(top_driver: Mapping[str, Any] | None, r2: float | None) -> str | None:
    """The moment that matters most for NPS, hedged when the drivers explain little.

    Parameters
    ----------
    top_driver : mapping or None
        The first row of :attr:`cxlab.analysis.drivers.KeyDrivers.table` (``driver, exposure,
        importance_pct``).
    r2 : float or None
        The share of the NPS variation the drivers explain together
        (:attr:`~cxlab.analysis.drivers.KeyDrivers.r2`). Below :data:`WEAK_MODEL_R2` the sentence
        says the moments are weakly related to NPS and to treat them as hints.

    Examples
    --------
    >>> top = {"driver": "delivery_late", "exposure": "hit before answering", "importance_pct": 90.0}
    >>> driver_sentence(top, 0.6)
    'The moment that matters most for NPS is delivery_late (hit before answering): it accounts for 90% of what the journey explains of the scores.'
    >>> print(driver_sentence(top, 0.08))  # doctest: +NORMALIZE_WHITESPACE
    What customers went through before answering explains only 8% of the variation in NPS
    answers, so these moments are weakly related to NPS: treat the strongest of them,
    delivery_late (hit before answering), as a hint rather than a finding.
    """
    if top_driver is None:
        return None
    from cxlab.analysis.drivers import driver_name

    name = driver_name(top_driver)
    if r2 is not None and r2 < WEAK_MODEL_R2:
        return (
            f"What customers went through before answering explains only {100 * r2:.0f}% of "
            "the variation in NPS answers, so these moments are weakly related to NPS: treat "
            f"the strongest of them, {name}, as a hint rather than a finding."
        )
    return (
        f"The moment that matters most for NPS is {name}: it accounts for "
        f"{top_driver['importance_pct']:.0f}% of what the journey explains of the scores."
    )


# ------------------------------------------------------------------------------ churn, rows
def churn_sentence(churn: ChurnRate | None) -> str | None:
    """The churn sentence of the executive summary and of the churn section.

    One definition (:func:`cxlab.analysis.features.churn_rate`) decides who is counted; the
    sentence says who (:attr:`~cxlab.analysis.features.ChurnRate.who`) and what "lost" means.
    With fewer than 30 customers counted, or a 95% interval wider than 30 points
    (:attr:`~cxlab.analysis.features.ChurnRate.uncertain`), it gives the count and says there
    are too few customers to state a rate. None when no customer is counted.

    Examples
    --------
    The bookshop: 113 of the 718 customers who had bought by the start of the 120-day window
    were silent through it (113 / 718 = 15.7%).

    >>> import dataclasses, datetime as dt
    >>> from cxlab.analysis.features import ChurnRate
    >>> end = dt.datetime(2025, 9, 30, tzinfo=dt.UTC)
    >>> rate = ChurnRate(n=718, n_churned=113, population="buyers", method="inactivity",
    ...                  inactivity_days=120, as_of=end, cutoff=end - dt.timedelta(days=120),
    ...                  customers=pl.DataFrame(), labels=pl.DataFrame())
    >>> churn_sentence(rate)
    '15.7% of the 718 customers who had bought by 02 Jun 2025 have been lost (no recorded interaction in the last 120 days; 95% interval 13.3% to 18.6%).'
    >>> churn_sentence(dataclasses.replace(rate, n=12, n_churned=1))
    '1 of the 12 customers who had bought by 02 Jun 2025 has been lost (no recorded interaction in the last 120 days): too few customers to say what share is lost.'
    """
    if churn is None or churn.n == 0:
        return None
    if churn.uncertain:
        verb = "has" if churn.n_churned == 1 else "have"
        return (
            f"{churn.n_churned:,} of the {churn.n:,} {churn.who} {verb} been lost "
            f"({churn.lost_means}): too few customers to say what share is lost."
        )
    lo, hi = churn.interval
    return (
        f"{100 * churn.rate:.1f}% of the {churn.n:,} {churn.who} have been lost "
        f"({churn.lost_means}; 95% interval {100 * lo:.1f}% to {100 * hi:.1f}%)."
    )


def set_aside_sentence(set_aside: int) -> str | None:
    """How many input rows could not be used (the appendix says why).

    Examples
    --------
    >>> set_aside_sentence(1), set_aside_sentence(0)
    ('1 input row could not be used; the appendix says why.', None)
    """
    if not set_aside:
        return None
    return f"{plural(set_aside, 'input row')} could not be used; the appendix says why."


# ------------------------------------------------------------------------------ the summary
def executive_summary(
    *,
    client_name: str,
    period: str,
    customers: int,
    interactions: int,
    stages: pl.DataFrame,
    painful: pl.DataFrame,
    nps: Mapping[str, Any] | None,
    top_driver: Mapping[str, Any] | None,
    churn: ChurnRate | None,
    set_aside: int,
    untracked: Sequence[str] = (),
    driver_r2: float | None = None,
) -> str:
    """The executive summary paragraph: only what the data can support, each rule its sentence.

    Parameters
    ----------
    client_name, period : str
        Shown as they are (the display escapes them).
    customers, interactions : int
        Distinct customers and events in the period.
    stages : DataFrame
        :func:`cxlab.analysis.funnel.stage_funnel` over the tracked stages (:func:`conversion_sentence`,
        :func:`weakest_step_sentence`).
    painful : DataFrame
        The most painful heatmap row, or an empty frame (:func:`painful_sentence`).
    nps : mapping or None
        :func:`cxlab.report.sections.headline_nps` (:func:`nps_sentence`).
    top_driver : mapping or None
        The first row of the key drivers' table; ``driver_r2`` is their R²
        (:func:`driver_sentence`).
    churn : ChurnRate or None
        :func:`cxlab.analysis.features.churn_rate` (:func:`churn_sentence`).
    set_aside : int
        Input rows the loader set aside (:func:`set_aside_sentence`).
    untracked : sequence of str
        Stages with no interaction in the period (:func:`not_tracked_sentence`).

    Examples
    --------
    >>> stages = pl.DataFrame({"step": [1, 2, 3], "step_name": ["awareness", "consideration", "purchase"],
    ...                        "entered": [40, 40, 30], "converted": [40, 30, 6],
    ...                        "conversion_rate": [1.0, 0.75, 0.2]})
    >>> print(executive_summary(client_name="Shop", period="01 Jan 2024 to 02 Jan 2024", customers=40,
    ...     interactions=120, stages=stages, painful=pl.DataFrame(), nps=None, top_driver=None,
    ...     churn=None, set_aside=0, untracked=["retention", "advocacy"]))
    ...     # doctest: +NORMALIZE_WHITESPACE
    From 01 Jan 2024 to 02 Jan 2024, 40 customers of Shop generated 120 recorded interactions.
    15.0% of the customers who entered the journey went on to buy (95% interval 7.1% to 29.1%,
    n = 40). The weakest step is the move into purchase: only 20% of those who could make it did.
    Retention and advocacy are not tracked: no interaction in this period is on a touchpoint
    mapped to them, so the report cannot say how many customers reach them.
    """
    parts: list[str | None] = [opening_sentence(client_name, period, customers, interactions)]
    if interactions:
        parts += [
            conversion_sentence(stages, untracked),
            weakest_step_sentence(stages, untracked),
            not_tracked_sentence(untracked),
        ]
    parts += [
        painful_sentence(painful),
        nps_sentence(nps),
        driver_sentence(top_driver, driver_r2),
        churn_sentence(churn),
        set_aside_sentence(set_aside),
    ]
    return " ".join(p for p in parts if p)


def short_caveats(
    *,
    unmapped: int,
    interactions: int,
    untracked: Sequence[str] = (),
    driver_r2: float | None = None,
    nps: Mapping[str, Any] | None = None,
) -> list[str]:
    """The report's caveats in a few words each, for ``run.json`` and the portfolio index.

    Examples
    --------
    >>> short_caveats(unmapped=930, interactions=1000, untracked=["advocacy"], driver_r2=0.08,
    ...               nps={"n": 12, "ci_low": 0.0, "ci_high": 40.0})  # doctest: +NORMALIZE_WHITESPACE
    ['93% of interactions on touchpoints the journey map does not know', 'Not tracked: advocacy',
     'NPS drivers explain only 8% of the scores', 'Too few NPS answers to state a score']
    """
    out = []
    if coverage_warning(unmapped, interactions) is not None:
        out.append(
            f"{100 * unmapped / interactions:.0f}% of interactions on touchpoints the journey "
            "map does not know"
        )
    if untracked and interactions:
        out.append("Not tracked: " + and_list(list(untracked)))
    if driver_r2 is not None and driver_r2 < WEAK_MODEL_R2:
        out.append(f"NPS drivers explain only {100 * driver_r2:.0f}% of the scores")
    if nps is not None and too_uncertain(
        int(nps["n"]), nps.get("ci_low"), nps.get("ci_high"), max_width=WIDE_NPS_INTERVAL
    ):
        out.append("Too few NPS answers to state a score")
    return out


# ---------------------------------------------------------------- "How this was computed"
#: Section -> (title, plain explanation) for the report's "How this was computed" appendix.
#: The method names (ROC AUC, Johnson's relative weights, NMF, Wilson, Kaplan–Meier) live
#: here, not in the sections a client manager reads first.
HOW_COMPUTED: dict[str, tuple[str, str]] = {
    "intervals": (
        "Intervals and small samples",
        "Every share (conversion, churn rate, a group's churn) comes with a 95% interval "
        "computed with the Wilson method, which stays sensible for small groups and for shares "
        "close to 0% or 100%. The NPS interval comes from the spread of the promoter and "
        "detractor shares; a rating question's mean has a Student-t interval. On the charts, "
        'these intervals are the shaded bands and the lines through the points or bars ("the '
        'range the true value likely lies in"). A number based on fewer than 30 customers or answers, or whose '
        f"interval is wider than {100 * WIDE_RATE_INTERVAL:.0f} percentage points "
        f"({WIDE_NPS_INTERVAL:.0f} points for NPS), is reported as too uncertain to state.",
    ),
    "coverage": (
        "Data coverage",
        "An interaction counts in the journey only when the journey map in client.toml places "
        "its touchpoint in a stage. When "
        f"{100 * UNMAPPED_WARNING_SHARE:.0f}% or more of the interactions are on touchpoints "
        "the map does not know, the report opens with a warning and suggests the lines to add "
        "(the stage suggested is where the touchpoint mostly occurs: before or after a "
        "customer's first purchase). A stage with no interaction at all is reported as not "
        "tracked rather than as a step nobody took.",
    ),
    "funnel": (
        "Journey funnel",
        "A customer reaches a stage at their first interaction in it after reaching the "
        "previous one. Each step's conversion is the share of the customers at the previous "
        "stage who reached this one. Which customers the funnel counts is said above its chart. "
        "Stages that are not tracked are left out of the funnel. The time to convert is a "
        "Kaplan-Meier estimate: a customer still within their window counts until they leave "
        "it.",
    ),
    "heatmap": (
        "Pain score",
        "For each touchpoint and stage: the share of the customers who touched it and went no "
        "further in the journey, minus the same share among the other customers at that "
        "stage, with a 95% interval. Only a touchpoint whose whole interval is above zero is "
        "called painful.",
    ),
    "drivers": (
        "What drives NPS",
        "A linear model relates each NPS answer to what the customer went through before "
        "answering. Johnson's relative weights split the share of the variation in the answers "
        "that the model explains (R²) between the drivers, so that their shares add up to "
        "100%; the 95% intervals come from bootstrap resamples (the answers drawn again at "
        f"random, with replacement). When the model explains less than {100 * WEAK_MODEL_R2:.0f}% "
        "of the variation, the drivers are reported as hints, not findings. The rated "
        "attributes of a survey are split the same way (Johnson's relative weights, bootstrap "
        "intervals).",
    ),
    "voc": (
        "Topics in the comments",
        "Each comment becomes a list of word weights (TF-IDF: a word weighs more when it is "
        "frequent in the comment and rare in the others), and non-negative matrix factorisation "
        "(NMF) finds groups of words that tend to appear together: the topics. Each topic is "
        "named by its most typical words. Personal details are masked before anything is shown.",
    ),
    "paths": (
        "Attribution",
        "First touch, last touch, linear and position-based attribution share each purchase "
        "between the channels of the journey that led to it by fixed rules. The Markov model "
        "treats journeys as moves between channels and credits each channel with the share of "
        "purchases that would be lost if it were removed (its removal effect); its 95% "
        "intervals come from bootstrap resamples of the customers.",
    ),
    "churn": (
        "Churn groups, retention curves and churn drivers",
        "The churn rate counts the customers who could be lost: by default those who had "
        "bought by the start of the window that decides who is lost (the churn section says "
        "exactly who, and which traits were left out). Their traits are measured at that "
        "start, so nothing that decides the outcome is used to explain it. They are grouped "
        "with k-means on their support contacts and survey "
        "answers, the number of groups chosen by the silhouette score; stability (0 to 1) is "
        "how often the same customers end up together when the grouping is redone on "
        "resamples. Retention curves are Kaplan-Meier estimates: the share still active after a "
        "number of days, counting each customer for as long as they were observed. Churn "
        "drivers: two models (the simple model is a logistic regression, the flexible one "
        "gradient boosting) are scored by their "
        "ROC AUC on customers they were not trained on (the chance that the model ranks a lost "
        "customer above a kept one: 0.5 is guessing, 1 is perfect); a trait's importance is "
        "how much that score drops when the trait is shuffled.",
    ),
}


def how_computed(sections: Sequence[str]) -> list[tuple[str, str]]:
    """The "How this was computed" entries for the sections shown, in report order.

    The intervals entry always comes first; then one entry per section in ``sections`` that
    has one (:data:`HOW_COMPUTED`).

    Examples
    --------
    >>> [title for title, _ in how_computed(["voc", "funnel"])]
    ['Intervals and small samples', 'Journey funnel', 'Topics in the comments']
    """
    keys = ["intervals", *[k for k in HOW_COMPUTED if k in set(sections)]]
    return [HOW_COMPUTED[k] for k in keys]
