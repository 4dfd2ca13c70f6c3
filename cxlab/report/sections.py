"""What each report section needs, checked before it computes.

Every valid client gets a report, but not every section can be computed on every client: a
client without purchases has nothing to attribute, one without NPS answers has no score to
explain. Each function here checks one section's preconditions and returns either what the
section needs or a :class:`Skipped` holding one plain sentence that says why the section
(or a part of it) cannot be shown. The report notebook shows that sentence as a note under
the section heading and publishes every :class:`Skipped` (:func:`skipped_facts`), so
``run.json`` and the portfolio index list the skipped sections with their reasons.

An analysis that raises :class:`~cxlab.errors.DataError` on valid data (too few distinct
comments for topics, too few lost customers to compare) is turned into a :class:`Skipped`
here too: the report never fails because one section has too little to work with.

:func:`journey_coverage` says which stages the period's interactions reach and which
touchpoints the journey map misses; the sentences readers see are written by
:mod:`cxlab.report.summary`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from cxlab.contract.schema import STAGES
from cxlab.errors import DataError
from cxlab.words import plural

if TYPE_CHECKING:
    from cxlab.analysis.drivers import AttributeDrivers, KeyDrivers
    from cxlab.analysis.voc import TopicModel
    from cxlab.contract.client_config import ChurnDefinition

__all__ = [
    "SECTION_TITLES",
    "SECTIONS",
    "MIN_NPS_ANSWERS",
    "MIN_COMMENTS",
    "MIN_CHURN_BUYERS",
    "Skipped",
    "skipped_facts",
    "check_period",
    "check_coverage",
    "headline_nps",
    "check_funnel",
    "check_heatmap",
    "check_metrics",
    "key_drivers",
    "voc_topics",
    "answer_with_scale",
    "attribution",
    "churn_status",
    "churn_groups",
    "churn_driver_models",
    "JourneyCoverage",
    "check_retention",
    "journey_coverage",
]

#: Section id (the notebook's ``sections`` parameter) -> the title readers see.
SECTION_TITLES: dict[str, str] = {
    "coverage": "What data this report covers",
    "funnel": "Journey funnel",
    "heatmap": "Touchpoints by stage",
    "metrics": "Customer experience scores",
    "drivers": "What drives NPS",
    "voc": "Voice of the customer",
    "paths": "Paths and attribution",
    "churn": "Churn",
    "retention": "Retention",
}
#: The report's sections in report order: the only valid names of the ``sections`` parameter
#: (``cxlab report`` and ``render_client`` refuse any other; the notebook's default lists them).
SECTIONS: tuple[str, ...] = tuple(SECTION_TITLES)
#: NPS answers needed before the key-driver analysis is run.
MIN_NPS_ANSWERS: int = 30
#: Written comments needed before topics are looked for.
MIN_COMMENTS: int = 30
#: Buyers with a known churn status needed before they are grouped and churn is modelled.
MIN_CHURN_BUYERS: int = 100
#: Days of events needed before the retention section is shown (weekly cohorts) ...
MIN_RETENTION_DAYS: int = 21
#: ... and before its cohorts are months rather than weeks.
MONTHLY_RETENTION_DAYS: int = 120


@dataclass(frozen=True)
class Skipped:
    """A report section (or part of one) that cannot be shown, and why, in one plain sentence.

    Examples
    --------
    >>> s = Skipped("paths", "No purchases in this period, so there is nothing to attribute.")
    >>> s.title, s.to_dict()["reason"]
    ('Paths and attribution', 'No purchases in this period, so there is nothing to attribute.')
    """

    section: str
    reason: str

    @property
    def title(self) -> str:
        """The section title readers see (the id when it is not a known section)."""
        return SECTION_TITLES.get(self.section, self.section)

    def to_dict(self) -> dict[str, str]:
        """``{"section", "title", "reason"}``, for ``run.json`` and the index."""
        return {"section": self.section, "title": self.title, "reason": self.reason}


def skipped_facts(skipped: Sequence[Skipped]) -> list[dict[str, str]]:
    """The skipped sections as published facts, in report order, one entry per reason.

    Sections come in the order of :data:`SECTION_TITLES` (the report's order); the reasons of
    one section keep the order they were given in.

    Examples
    --------
    >>> skipped_facts([Skipped("voc", "No written comments."), Skipped("voc", "No written comments.")])
    [{'section': 'voc', 'title': 'Voice of the customer', 'reason': 'No written comments.'}]
    """
    seen: set[tuple[str, str]] = set()
    out = []
    order = {name: i for i, name in enumerate(SECTION_TITLES)}
    for s in sorted(skipped, key=lambda s: order.get(s.section, len(order))):
        if (s.section, s.reason) not in seen:
            seen.add((s.section, s.reason))
            out.append(s.to_dict())
    return out


_NO_EVENTS = "No interaction was recorded in this period, so there is nothing to show."


#: Sections that read survey answers only: a client with answers but no events (no events
#: file, or none in the period) still gets them.
FEEDBACK_ONLY_SECTIONS: tuple[str, ...] = ("metrics", "voc")


def check_period(
    events: pl.DataFrame, sections: Sequence[str], feedback: pl.DataFrame | None = None
) -> list[Skipped]:
    """Nothing when the period holds events; else one :class:`Skipped` per requested section.

    A period can be empty for a valid client: dates chosen outside the data, or every event
    row set aside by the loader (the appendix says why). Only the coverage tables and the
    appendix can be shown then; ``coverage`` is checked by :func:`check_coverage`.

    Examples
    --------
    >>> empty = pl.DataFrame({"customer_id": []}, schema={"customer_id": pl.String})
    >>> [s.section for s in check_period(empty, ["coverage", "funnel", "churn"])]
    ['funnel', 'churn']

    With survey answers (a survey-only client), the score and comment sections are kept:

    >>> answers = pl.DataFrame({"score": [9]})
    >>> [s.section for s in check_period(empty, ["funnel", "metrics", "voc"], answers)]
    ['funnel']
    """
    if events.height:
        return []
    answered = feedback is not None and feedback.height > 0
    # rated attributes (declared survey questions) give drivers without any event
    kept = FEEDBACK_ONLY_SECTIONS + (("drivers",) if answered and _rated(feedback) else ())
    return [
        Skipped(s, _NO_EVENTS) for s in sections if s != "coverage" and not (answered and s in kept)
    ]


def _rated(feedback: pl.DataFrame) -> bool:
    return "survey" in feedback.columns and bool((feedback.get_column("survey") == "rating").any())


def check_coverage(events: pl.DataFrame) -> pl.DataFrame | Skipped:
    """The events, or why there is no timeline of interactions to draw."""
    if events.height == 0:
        return Skipped(
            "coverage",
            "No interaction was recorded in this period, so there is no timeline to draw.",
        )
    return events


def headline_nps(nps_table: pl.DataFrame) -> dict[str, Any] | None:
    """The overall NPS row of :func:`cxlab.analysis.metrics.score_summary`, or None without NPS answers.

    ``score_summary`` gives a row with ``n = 0`` and null estimates when the feedback holds no
    NPS answer (CSAT only, say); that is "no NPS", not a score.

    Examples
    --------
    >>> empty = pl.DataFrame({"metric": ["nps"], "n": [0], "estimate": [None], "ci_low": [None],
    ...                       "ci_high": [None], "small_n": [True]})
    >>> headline_nps(empty) is None
    True
    """
    if nps_table.height == 0:
        return None
    row = nps_table.row(0, named=True)
    if not row.get("n") or row.get("estimate") is None:
        return None
    return row


def check_funnel(stages: pl.DataFrame) -> pl.DataFrame | Skipped:
    """The stage funnel, or why it is empty.

    The funnel counts every customer seen in a tracked stage, from the first stage they were
    seen in (:func:`cxlab.analysis.funnel.stage_funnel`'s "first seen" base), so it is empty
    only when no interaction of the period is on a touchpoint the journey map places in a
    stage: a log without awareness events still has a funnel, starting at the next stage.

    Examples
    --------
    >>> check_funnel(pl.DataFrame({"step": [1], "entered": [0]})).reason
    'No interaction in this period is on a touchpoint the journey map places in a stage, so no customer can be counted in a funnel.'
    """
    if stages.height == 0 or int(stages.get_column("entered")[0] or 0) == 0:
        return Skipped(
            "funnel",
            "No interaction in this period is on a touchpoint the journey map places in a "
            "stage, so no customer can be counted in a funnel.",
        )
    return stages


def check_heatmap(heat: pl.DataFrame) -> pl.DataFrame | Skipped:
    """The touchpoint heatmap, or why it is empty (no touchpoint placed in a stage)."""
    if heat.height == 0:
        return Skipped(
            "heatmap",
            "No interaction could be placed in a journey stage, so there is no map to draw.",
        )
    return heat


def check_metrics(feedback: pl.DataFrame) -> list[str] | Skipped:
    """The surveys answered (nps, csat, ces, rating, binary, in that order), or why there are none.

    Examples
    --------
    >>> check_metrics(pl.DataFrame({"survey": ["csat", "nps"]}))
    ['nps', 'csat']
    >>> check_metrics(pl.DataFrame({"survey": []}, schema={"survey": pl.String})).reason
    'No survey answers in this period, so there are no scores to show.'
    """
    present = (
        set(feedback.get_column("survey").drop_nulls().unique().to_list())
        if feedback.height
        else set()
    )
    surveys = [s for s in ("nps", "csat", "ces", "rating", "binary") if s in present]
    if not surveys:
        return Skipped(
            "metrics", "No survey answers in this period, so there are no scores to show."
        )
    return surveys


def _no_nps_reason(nps: dict[str, Any] | None, what: str) -> str | None:
    if nps is None:
        return f"No NPS answers in this period, so there is no score to {what}."
    if nps["n"] < MIN_NPS_ANSWERS:
        return (
            f"Only {plural(int(nps['n']), 'NPS answer')} in this period; at least {MIN_NPS_ANSWERS} "
            f"are needed to {what} the score."
        )
    return None


def key_drivers(
    events: pl.DataFrame,
    feedback: pl.DataFrame,
    nps: dict[str, Any] | None,
    *,
    seed: int,
    purchase_touchpoints: Sequence[str],
) -> KeyDrivers | Skipped:
    """:func:`cxlab.analysis.drivers.nps_drivers`, or why the moments that matter cannot be found.

    Needs :data:`MIN_NPS_ANSWERS` NPS answers (``nps`` from :func:`headline_nps`) and a driver
    that varies between respondents.

    Examples
    --------
    >>> key_drivers(pl.DataFrame(), pl.DataFrame(), None, seed=0, purchase_touchpoints=["purchase"]).reason
    'No NPS answers in this period, so there is no score to explain.'
    """
    reason = _no_nps_reason(nps, "explain")
    if reason is not None:
        return Skipped("drivers", reason)
    if events.height == 0:  # a survey-only client: its rated attributes may still explain it
        return Skipped(
            "drivers",
            "No interaction was recorded in this period, so no touchpoint can be tied to the scores.",
        )
    from cxlab.analysis.drivers import nps_drivers

    try:
        return nps_drivers(
            events, feedback, seed=seed, purchase_touchpoints=list(purchase_touchpoints)
        )
    except DataError:
        return Skipped(
            "drivers",
            "The journeys before the NPS answers do not differ enough to tell which "
            "touchpoint drives the score.",
        )


def attribute_key_drivers(
    feedback: pl.DataFrame, questions: Sequence[Any], *, seed: int, outcome: str | None = None
) -> AttributeDrivers | Skipped | None:
    """:func:`cxlab.analysis.drivers.attribute_drivers` on the declared questions, or why it cannot run.

    None when no rated attribute is declared (nothing to say). Needs an outcome question
    (NPS, else CSAT, or ``[survey] outcome``) and :data:`MIN_NPS_ANSWERS` complete responses.

    Examples
    --------
    >>> attribute_key_drivers(pl.DataFrame({"survey": ["nps"]}), (), seed=0) is None
    True
    """
    from cxlab.analysis.drivers import attribute_drivers
    from cxlab.contract.questions import IMPLIED_QUESTIONS, question_table

    table = question_table(tuple(questions) or IMPLIED_QUESTIONS)
    if not table.get_column("attribute").any():
        return None
    try:
        kd = attribute_drivers(feedback, table, outcome=outcome, seed=seed)
    except DataError:
        return Skipped(
            "drivers",
            f"Fewer than {MIN_NPS_ANSWERS} responses rate every attribute and the outcome "
            "question, so the attributes that matter cannot be told apart.",
        )
    if kd.n_respondents < MIN_NPS_ANSWERS:
        return Skipped(
            "drivers",
            f"Only {plural(kd.n_respondents, 'response')} rate every attribute and the outcome "
            f"question; at least {MIN_NPS_ANSWERS} are needed to tell which attributes matter.",
        )
    return kd


def answer_with_scale(score: str = "score", survey: str = "survey") -> pl.Expr:
    """Each survey answer as text with its question and scale: ``"9 (NPS, 0–10)"``.

    A table that lists answers to several questions (the quotes of the voice-of-the-customer
    section: NPS 0–10 next to CSAT 1–5) must not put them in one bare "Score" column. Answers
    to a survey that is not NPS, CSAT or CES are shown as they are.

    Examples
    --------
    >>> fb = pl.DataFrame({"survey": ["nps", "csat", "ces", "other"], "score": [9, 2, 5, 3]})
    >>> fb.select(answer_with_scale())["answer"].to_list()
    ['9 (NPS, 0–10)', '2 (CSAT, 1–5)', '5 (CES, 1–7)', '3']
    """
    from cxlab.contract.questions import IMPLIED_QUESTIONS

    scales = {q.survey: f"{q.label}, {q.scale_text}" for q in IMPLIED_QUESTIONS}
    scale = pl.col(survey).replace_strict(scales, default=None, return_dtype=pl.String)
    return (
        pl.when(scale.is_not_null())
        .then(pl.format("{} ({})", pl.col(score), scale))
        .otherwise(pl.col(score).cast(pl.String))
        .alias("answer")
    )


def voc_topics(
    feedback: pl.DataFrame, *, max_comments: int, seed: int
) -> tuple[pl.DataFrame, TopicModel] | Skipped:
    """The comments used (a seeded sample of at most ``max_comments``) and their topics.

    Returns a :class:`Skipped` when there are fewer than :data:`MIN_COMMENTS` written
    comments, when they are all the same text, or when they share too few words to be grouped
    (very short comments, or a language written without spaces between words).

    Examples
    --------
    >>> fb = pl.DataFrame({"comment": ["ok"] * 3, "timestamp": [1, 2, 3], "source_row": [1, 2, 3]})
    >>> voc_topics(fb, max_comments=100, seed=0).reason
    'Only 3 written comments in this period; at least 30 are needed to find what they talk about.'
    """
    if feedback.height == 0 or "comment" not in feedback.columns:
        return Skipped("voc", "No written comments in this period, so there is nothing to read.")
    comments = feedback.filter(pl.col("comment").str.strip_chars().str.len_chars() > 0).sort(
        "timestamp", "source_row"
    )
    if comments.height == 0:
        return Skipped("voc", "No written comments in this period, so there is nothing to read.")
    if comments.height < MIN_COMMENTS:
        return Skipped(
            "voc",
            f"Only {plural(comments.height, 'written comment')} in this period; at least "
            f"{MIN_COMMENTS} are needed to find what they talk about.",
        )
    if comments.height > max_comments:
        comments = comments.sample(n=max_comments, seed=seed).sort("timestamp", "source_row")
    if comments.get_column("comment").str.strip_chars().str.to_lowercase().n_unique() == 1:
        return Skipped(
            "voc",
            f"All {comments.height:,} comments say the same thing, so there are no topics to "
            "tell apart.",
        )
    from cxlab.analysis.voc import comment_topics

    try:
        return comments, comment_topics(comments, seed=seed)
    except DataError:
        return Skipped(
            "voc",
            "The comments share too few words to be grouped into topics (this happens with "
            "very short comments, or with languages written without spaces, such as Japanese).",
        )


def attribution(
    events: pl.DataFrame, purchase_touchpoints: Sequence[str], *, seed: int, n_boot: int = 100
) -> pl.DataFrame | Skipped:
    """:func:`cxlab.analysis.attribution.compare_attribution` by channel, or why there is nothing to credit.

    Examples
    --------
    >>> import datetime as dt
    >>> ev = pl.DataFrame({"customer_id": ["a"], "timestamp": [dt.datetime(2024, 1, 1)],
    ...                    "touchpoint": ["ad"], "channel": ["social"]})
    >>> attribution(ev, ["purchase"], seed=0).reason
    'No purchases in this period, so there is nothing to attribute.'
    """
    purchases = list(purchase_touchpoints)
    touch = pl.col("touchpoint").cast(pl.String)
    if events.filter(touch.is_in(purchases)).height == 0:
        return Skipped("paths", "No purchases in this period, so there is nothing to attribute.")
    from cxlab.analysis.attribution import compare_attribution

    try:
        return compare_attribution(events, purchases, by="channel", n_boot=n_boot, seed=seed)
    except DataError:
        return Skipped(
            "paths",
            "The purchases in this period cannot be traced back to any channel, so there "
            "is nothing to attribute.",
        )


def churn_status(labels: pl.DataFrame, churn: ChurnDefinition) -> pl.DataFrame | Skipped:
    """The customers whose churn status is known (not censored), or why there are none.

    Examples
    --------
    >>> from cxlab.contract.client_config import ChurnDefinition
    >>> lab = pl.DataFrame({"customer_id": ["a"], "churned": [None], "censored": [True]},
    ...                    schema_overrides={"churned": pl.Boolean})
    >>> churn_status(lab, ChurnDefinition(method="inactivity", inactivity_days=90)).reason
    'Every customer was first seen less than 90 days before the data end, so it is too early to tell who was lost.'
    """
    observed = labels.filter(~pl.col("censored"))
    if observed.height:
        return observed
    if labels.height == 0:
        return Skipped(
            "churn", "No customer in this period, so there is no one whose churn could be measured."
        )
    if churn.method == "inactivity":
        return Skipped(
            "churn",
            f"Every customer was first seen less than {churn.inactivity_days} days before the "
            "data end, so it is too early to tell who was lost.",
        )
    return Skipped(
        "churn",
        "The customers file says for no customer whether they were lost, so churn cannot "
        "be measured.",
    )


def churn_groups(buyers: pl.DataFrame, observed: pl.DataFrame) -> pl.DataFrame | Skipped:
    """The buyers whose churn status is known, or why they cannot be grouped and modelled.

    Parameters
    ----------
    buyers : DataFrame
        Customer features of the customers who bought (``customer_id`` first).
    observed : DataFrame
        :func:`churn_status`'s result (``customer_id``, ``churned``).

    Examples
    --------
    >>> b = pl.DataFrame({"customer_id": ["a", "b"]})
    >>> obs = pl.DataFrame({"customer_id": ["a", "b"], "churned": [True, True]})
    >>> churn_groups(b, obs).reason
    'All 2 customers who bought and whose status is known were lost, so there is no one to compare them with.'
    """
    if buyers.height == 0:
        return Skipped(
            "churn",
            "No customer bought in this period, so no one could be lost (churn counts only "
            "customers who bought).",
        )
    judged = observed.join(buyers.select("customer_id"), on="customer_id", how="semi")
    n = judged.height
    if n == 0:
        return Skipped(
            "churn",
            "None of the customers who bought has a known status yet, so there is no one "
            "whose loss could be explained.",
        )
    lost = int(judged.get_column("churned").sum())
    if lost == n:
        return Skipped(
            "churn",
            f"All {plural(n, 'customer')} who bought and whose status is known were lost, "
            "so there is no one to compare them with.",
        )
    if lost == 0:
        return Skipped(
            "churn",
            f"None of the {plural(n, 'customer')} who bought and whose status is known "
            "was lost, so there is nothing to explain.",
        )
    if n < MIN_CHURN_BUYERS:
        return Skipped(
            "churn",
            f"Only {plural(n, 'customer')} who bought have a known status; at least "
            f"{MIN_CHURN_BUYERS} are needed to group them and find what predicts churn.",
        )
    return buyers.join(judged.select("customer_id"), on="customer_id", how="semi")


def churn_driver_models(
    judged: pl.DataFrame, labels: pl.DataFrame, *, cv: int = 3
) -> Skipped | None:
    """None when :func:`cxlab.analysis.churn.churn_drivers` can run with ``cv`` folds, else why not.

    Each fold needs a lost and a kept customer: at least ``cv`` of each.

    Examples
    --------
    >>> j = pl.DataFrame({"customer_id": ["a", "b", "c", "d"]})
    >>> lab = pl.DataFrame({"customer_id": ["a", "b", "c", "d"], "churned": [True, False, False, False]})
    >>> churn_driver_models(j, lab).reason
    'Only 1 customer who bought was lost (3 needed), too few to test what predicts churn.'
    """
    status = labels.join(judged.select("customer_id"), on="customer_id", how="semi")
    lost = int(status.get_column("churned").sum())
    kept = status.height - lost
    if lost < cv:
        return Skipped(
            "churn",
            f"Only {plural(lost, 'customer')} who bought {'was' if lost == 1 else 'were'} "
            f"lost ({cv} needed), too few to test what predicts churn.",
        )
    if kept < cv:
        return Skipped(
            "churn",
            f"Only {plural(kept, 'customer')} who bought {'was' if kept == 1 else 'were'} "
            f"kept ({cv} needed), too few to test what predicts churn.",
        )
    return None


@dataclass(frozen=True)
class JourneyCoverage:
    """How much of the period's interactions the journey map places in a stage.

    Attributes
    ----------
    interactions : int
        Interactions (events) in the period.
    unmapped : DataFrame
        ``touchpoint, events``: interactions on touchpoints the map places in no stage, most
        frequent first (ties by name).
    untracked : tuple of str
        Stages (in journey order) with no interaction in the period: "not tracked".
    suggestions : dict of str to str
        A suggested stage for each unmapped touchpoint (:func:`cxlab.io.init.suggest_stages`),
        filled only when the report warns about coverage.
    """

    interactions: int
    unmapped: pl.DataFrame
    untracked: tuple[str, ...]
    suggestions: dict[str, str]

    @property
    def unmapped_events(self) -> int:
        """Interactions on touchpoints the journey map does not know."""
        return int(self.unmapped.get_column("events").sum()) if self.unmapped.height else 0

    @property
    def tracked(self) -> list[str]:
        """The stages with at least one interaction, in journey order."""
        return [s for s in STAGES if s not in self.untracked]


def journey_coverage(
    staged: pl.DataFrame, purchase_touchpoints: Sequence[str], journey_map: Mapping[str, str]
) -> JourneyCoverage:
    """Which stages the period's interactions reach, and which touchpoints the map misses.

    Parameters
    ----------
    staged : DataFrame
        Events with their ``stage`` (:func:`cxlab.analysis.journey.assign_stages`; null = unmapped).
    purchase_touchpoints, journey_map
        The client's (stage suggestions for unmapped touchpoints use them).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> staged = pl.DataFrame({"customer_id": ["a", "a", "a", "b"], "timestamp": [t] * 4,
    ...     "touchpoint": ["page_view", "page_view", "purchase", "ad_click"],
    ...     "stage": [None, None, "purchase", "awareness"]})
    >>> cov = journey_coverage(staged, ["purchase"], {"ad_click": "awareness"})
    >>> cov.unmapped_events, cov.untracked
    (2, ('consideration', 'retention', 'advocacy'))
    """
    from cxlab.report.summary import UNMAPPED_WARNING_SHARE

    total = staged.height
    stage = pl.col("stage").cast(pl.String)
    seen = set(staged.select(stage.drop_nulls().unique()).to_series().to_list())
    unmapped = (
        staged.filter(stage.is_null())
        .group_by(pl.col("touchpoint").cast(pl.String))
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .sort(["events", "touchpoint"], descending=[True, False], nulls_last=True)
    )
    suggestions: dict[str, str] = {}
    n_unmapped = int(unmapped.get_column("events").sum()) if unmapped.height else 0
    if total and n_unmapped / total >= UNMAPPED_WARNING_SHARE:
        from cxlab.io.init import suggest_stages

        ev = staged.select("customer_id", "timestamp", pl.col("touchpoint").cast(pl.String))
        suggested = suggest_stages(ev, list(purchase_touchpoints), known=journey_map)
        suggestions = {tp: s for tp, (s, _) in suggested.items()}
    return JourneyCoverage(
        interactions=total,
        unmapped=unmapped,
        untracked=tuple(s for s in STAGES if s not in seen),
        suggestions=suggestions,
    )


def check_retention(events: pl.DataFrame, as_of: Any = None) -> dict[str, Any] | Skipped:
    """Cohort retention and lifecycle for the report, or why they cannot be shown.

    Cohorts are months when the events span at least :data:`MONTHLY_RETENTION_DAYS` days,
    else weeks; fewer than :data:`MIN_RETENTION_DAYS` days, or no period after entry that had
    ended by the data end, give a :class:`Skipped`. Returns ``{"every", "matrix",
    "lifecycle"}`` (:func:`cxlab.analysis.retention.cohort_retention` and
    :func:`~cxlab.analysis.retention.lifecycle`).

    Examples
    --------
    >>> import datetime as dt
    >>> ev = pl.DataFrame({"customer_id": ["a", "a"],
    ...                    "timestamp": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 11)]})
    >>> check_retention(ev.with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))).reason
    'The events cover only 10 days: at least three weeks are needed to see customers come back.'
    """
    from cxlab.analysis.retention import cohort_retention, lifecycle

    if events.height == 0:
        return Skipped("retention", _NO_EVENTS)
    ts = pl.col("timestamp")
    first, last = events.select(ts.min().alias("first"), ts.max().alias("last")).row(0)
    span = (last - first).days
    if span < MIN_RETENTION_DAYS:
        return Skipped(
            "retention",
            f"The events cover {'less than a day' if span == 0 else 'only ' + plural(span, 'day')}"
            ": at least three weeks are needed to see customers come back.",
        )
    every = "month" if span >= MONTHLY_RETENTION_DAYS else "week"
    matrix = cohort_retention(events, every=every, as_of=as_of)
    if matrix.curve.filter(pl.col("period") >= 1).height == 0:
        return Skipped(
            "retention",
            f"No {every} after the customers' first one had ended by the data end, so it is too "
            "early to see who came back.",
        )
    return {
        "every": every,
        "matrix": matrix,
        "lifecycle": lifecycle(events, every=every, as_of=as_of),
    }
