"""Display labels: the one place where a code or a column name becomes words a reader sees.

Every chart, report table and explorer shows ``checkout_error`` as "Checkout error",
``support_contacts_90d`` as "Support contacts in the last 90 days" and ``conversion_rate``
as "Conversion". The words come, in order, from:

1. the ``labels`` mapping passed to the call;
2. the client's own labels, the ``[labels]`` table of its ``client.toml``, made active with
   :func:`use_labels` (the report and the explorers do it when they load a client);
3. cxlab's table of fixed labels (:data:`LABELS`);
4. a rule: features named by pattern (``stage_<stage>_events``, ``channel_<name>_share``,
   ``<name>_<N>d``, ``<column>=<level>``), else underscores become spaces, the first letter
   is a capital and survey names (NPS, CSAT, CES) are upper case.

Values from the client's data (segments, channels, plans, topics …) follow one rule,
:func:`data_value`: written all in lower case, they get a capital first letter ("gift buyer"
-> "Gift buyer"); with any capital letter they are shown exactly as written ("iPhone user",
"VIP", "eBay"). Codes with underscores (``sim_only``) get the code rule above ("Sim only").

* :func:`display_label` -- one name.
* :func:`label_values` -- the code values of some columns of a small frame, labelled (for
  chart data and report tables; polars ``replace`` over the distinct values).
* :func:`labelled_columns` -- a frame with its column headers labelled.
* :func:`use_labels`, :func:`active_labels` -- the client's labels for everything drawn next.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import polars as pl

__all__ = [
    "LABELS",
    "active_labels",
    "data_value",
    "display_label",
    "in_sentence",
    "label_values",
    "labelled_columns",
    "use_labels",
]

# Words written differently from "first letter capital, the rest as is".
_WORDS = {
    "nps": "NPS",
    "csat": "CSAT",
    "ces": "CES",
    "ci": "CI",
    "id": "ID",
    "auc": "AUC",
    "roc": "ROC",
    "pct": "%",
    "sms": "SMS",
    "faq": "FAQ",
    "url": "URL",
    "api": "API",
    "vip": "VIP",
    "tv": "TV",
}

#: cxlab's fixed labels: columns, metrics, features and codes with words of their own.
LABELS: dict[str, str] = {
    # counts and intervals
    "n": "Customers",
    "ci_low": "95% interval, low",
    "ci_high": "95% interval, high",
    "small_n": "Fewer than 30",
    "reach_ci_low": "Reach, 95% interval low",
    "reach_ci_high": "Reach, 95% interval high",
    "pain_ci_low": "Pain, 95% interval low",
    "pain_ci_high": "Pain, 95% interval high",
    "importance_pct": "Importance (%)",
    "estimate": "Score",
    # metrics
    "ces_easy": "CES easy",
    "conversion_rate": "Conversion",
    "overall_rate": "Share of starters",
    "share_of_all": "Share of all customers",
    "churn_rate": "Churn rate",
    "retention_rate": "Retention rate",
    "drop_off": "Drop-off",
    "reach": "Reach",
    "intensity": "Intensity",
    "satisfaction": "Satisfaction",
    "pain": "Pain",
    "lift": "Lift",
    "share": "Share",
    # funnel and journey columns
    "step_name": "Step",
    "entered": "Customers at the previous step",
    "converted": "Reached this step",
    "eligible": "Could convert",
    "censored": "Still within the window",
    "median_hours": "Median hours to convert",
    "p90_hours": "90th percentile hours to convert",
    "n_touched": "Customers who hit it",
    "drop_touched": "Went no further",
    "drop_not_touched": "Peers who went no further",
    "from_stage": "From stage",
    "to_stage": "To stage",
    "n_exposed": "Respondents exposed",
    "n_comments": "Comments",
    "mean_sentiment": "Average sentiment",
    "nps_group": "NPS group",
    "nps_not_exposed": "NPS of the others",
    # customer features (cxlab.features)
    "recency_days": "Days since last activity",
    "frequency": "Interactions",
    "n_purchases": "Purchases",
    "monetary": "Revenue",
    "tenure_days": "Days since first seen",
    "days_since_last_purchase": "Days since last purchase",
    "furthest_stage": "Furthest stage reached",
    "support_contacts": "Support contacts",
    "last_nps": "Last NPS answer",
    "mean_csat": "Average CSAT",
    "mean_ces": "Average CES",
    "n_feedback": "Survey answers",
    # NPS drivers (cxlab.drivers)
    "csat_before": "Low CSAT before (1-3)",
    "ces_before": "Hard effort before (CES 1-4)",  # exposed: a CES answer of 1-4 of 7
    "time_to_purchase": "Slower than median to first purchase",
    "days_to_purchase": "Slow to first purchase",
    # paths
    "ENDED": "Journey ended",
    "unmapped": "Not in the journey map",
    "other": "Other",
    # attribution models
    "first": "First touch",
    "last": "Last touch",
    "linear": "Linear",
    "position": "Position-based",
    "markov": "Markov",
    # data validation reasons (the report's appendix); the others read well by the code rule
    "null_customer_id": "No customer ID",
    # the churn models in plain words; the appendix names the methods
    "gradient_boosting": "Flexible model",
    "logistic": "Simple model",
}

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^stage_(?P<x>.+)_events$"), "Events in the {x} stage"),
    (re.compile(r"^channel_(?P<x>.+)_share$"), "Share of interactions on {X}"),
    (re.compile(r"^(?P<x>.+)_(?P<d>\d+)d$"), "{X} in the last {d} days"),
)

_active: dict[str, str] = {}


def use_labels(labels: Mapping[str, str] | None) -> None:
    """Make ``labels`` (a client's ``[labels]`` table) the labels of everything drawn next.

    Replaces the previous client's labels (``None`` or ``{}``: none).

    Examples
    --------
    >>> use_labels({"checkout_error": "Payment failed"})
    >>> display_label("checkout_error")
    'Payment failed'
    >>> use_labels(None); display_label("checkout_error")
    'Checkout error'
    """
    _active.clear()
    _active.update({str(k): str(v) for k, v in (labels or {}).items()})


def active_labels() -> dict[str, str]:
    """A copy of the client labels made active by :func:`use_labels`."""
    return dict(_active)


@contextmanager
def labels_in_use(labels: Mapping[str, str] | None) -> Iterator[None]:
    """:func:`use_labels` for the duration of a ``with`` block (the previous ones come back)."""
    before = dict(_active)
    use_labels(labels)
    try:
        yield
    finally:
        use_labels(before)


#: The column part of a "<column>=<level>" name that cxlab builds (one-hot attribute levels).
_COLUMN_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _words(name: str) -> str:
    words = [_WORDS.get(w.lower(), w) for w in name.replace("-", "_").split("_") if w]
    if not words:
        return name
    first = words[0] if words[0].isupper() else words[0][:1].upper() + words[0][1:]
    return " ".join([first, *words[1:]])


def data_value(value: str) -> str:
    """A value from the client's data as a reader sees it: lower case gets a capital first letter.

    The one rule for segments, channels, plans, topics … (the way a report or a spreadsheet
    heading is written, "sentence case"): a value written all in lower case gets a capital
    first letter, a one-word survey or acronym code its usual form (``sms`` -> "SMS", from
    the same word table as :func:`display_label`); a value with any capital letter is the
    client's own spelling and is shown exactly as written.

    Examples
    --------
    >>> data_value("gift buyer"), data_value("student"), data_value("mass market")
    ('Gift buyer', 'Student', 'Mass market')
    >>> data_value("iPhone user"), data_value("VIP"), data_value("eBay"), data_value("sms")
    ('iPhone user', 'VIP', 'eBay', 'SMS')
    >>> data_value("pay-as-you-go"), data_value("18-24"), data_value("")
    ('Pay-as-you-go', '18-24', '')
    """
    if value != value.lower():  # any capital letter: the client's own spelling
        return value
    if value in _WORDS and value.isalpha():  # one word with a form of its own
        return _WORDS[value]
    return value[:1].upper() + value[1:]


def in_sentence(label: str) -> str:
    """A label placed inside a sentence: its first letter small, unless the first word is an
    acronym or written with a capital after the first letter ("NPS", "iPhone user").

    For labels of codes and column names ("Support contacts" -> "support contacts"); a value
    from the client's data in a sentence keeps :func:`data_value`'s form.

    Examples
    --------
    >>> in_sentence("Support contacts"), in_sentence("NPS of the others")
    ('support contacts', 'NPS of the others')
    >>> in_sentence("Segment: iPhone user"), in_sentence("CSAT before")
    ('segment: iPhone user', 'CSAT before')
    """
    first = label.split(" ", 1)[0]
    if any(c.isupper() for c in first[1:]):
        return label
    return label[:1].lower() + label[1:]


def display_label(name: object, labels: Mapping[str, str] | None = None) -> str:
    """The words a reader sees for a column name or a code.

    ``labels`` wins, then the client's labels (:func:`use_labels`), then :data:`LABELS`, then
    the naming rules (see the module docstring). A name without an underscore (a value from
    the client's data such as a segment, or a one-word code) follows :func:`data_value`: all
    lower case gets a capital first letter, any capital letter leaves it as written.

    Examples
    --------
    >>> display_label("checkout_error"), display_label("conversion_rate")
    ('Checkout error', 'Conversion')
    >>> display_label("support_contacts_90d")
    'Support contacts in the last 90 days'
    >>> display_label("stage_retention_events"), display_label("channel_web_share")
    ('Events in the retention stage', 'Share of interactions on Web')
    >>> display_label("segment=gift buyer"), display_label("nps_not_exposed")
    ('Segment: Gift buyer', 'NPS of the others')
    >>> display_label("gift buyer"), display_label("student"), display_label("iPhone user")
    ('Gift buyer', 'Student', 'iPhone user')

    Only names cxlab builds get the "column=level" rule: a data value that holds "=" (or
    markup) is shown as it is.

    >>> display_label("<svg onload=__pwned=4>"), display_label("a b=c_d")
    ('<svg onload=__pwned=4>', 'a b=c_d')
    >>> display_label("checkout_error", {"checkout_error": "Payment failed"})
    'Payment failed'
    """
    name = "" if name is None else str(name)
    if labels and name in labels:
        return str(labels[name])
    if name in _active:
        return _active[name]
    if name in LABELS:
        return LABELS[name]
    column, eq, level = name.partition("=")
    if eq and _COLUMN_CODE.match(column):  # one-hot attribute level built by cxlab
        return f"{display_label(column, labels)}: {data_value(level)}"
    if eq or "<" in name or ">" in name:  # a data value (a segment, a comment), not a code
        return name
    if "_" not in name:  # a value from the client's data, or a one-word code
        return data_value(name)
    for pattern, template in _PATTERNS:
        m = pattern.match(name)
        if m:
            x = m.group("x")
            inner = display_label(x, labels)
            return template.format(
                x=in_sentence(inner),
                X=inner,
                d=m.groupdict().get("d", ""),
            )
    return _words(name)


def label_values(
    frame: pl.DataFrame, columns: Sequence[str], labels: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """``frame`` with the code values of ``columns`` replaced by their display labels.

    Columns that are missing are skipped; Enum/Categorical columns become strings; nulls stay
    null. Only the distinct values are labelled (a small mapping), then applied with polars'
    ``replace``.

    Examples
    --------
    >>> df = pl.DataFrame({"touchpoint": ["checkout_error", "site_visit", None], "n": [1, 2, 3]})
    >>> label_values(df, ["touchpoint", "stage"])["touchpoint"].to_list()
    ['Checkout error', 'Site visit', None]
    """
    exprs = []
    for column in columns:
        if column not in frame.columns:
            continue
        values = frame.get_column(column).cast(pl.String).drop_nulls().unique().sort().to_list()
        mapping = {v: display_label(v, labels) for v in values}
        exprs.append(pl.col(column).cast(pl.String).replace(mapping))
    return frame.with_columns(exprs) if exprs else frame


def labelled_columns(frame: pl.DataFrame, labels: Mapping[str, str] | None = None) -> pl.DataFrame:
    """``frame`` with its column names replaced by their display labels (for tables).

    Two columns that would get the same label keep their name after the first.

    Examples
    --------
    >>> labelled_columns(pl.DataFrame({"touchpoint": ["a"], "conversion_rate": [0.5]})).columns
    ['Touchpoint', 'Conversion']
    """
    seen: set[str] = set()
    mapping = {}
    for c in frame.columns:
        label = display_label(c, labels)
        mapping[c] = label if label not in seen else c
        seen.add(mapping[c])
    return frame.rename(mapping)
