"""The client data contract: canonical tables, their columns and types, stages and scales.

This module is the single place where the canonical shape of client data is written down.
Loaders map a client's own column names onto these (see ``client.toml``), validate, and
return frames with exactly these dtypes; every analysis relies on them.

Canonical tables
----------------
events
    One row per touchpoint interaction.
feedback
    One row per survey answer: NPS, CSAT, CES, or any question declared in ``client.toml``
    (:mod:`cxlab.io.surveys`).
customers
    One row per customer with attributes.

Each loaded table also carries ``source_row`` (UInt32): the 1-based data row in the source
file (row 1 is the first row after the header). It makes every set-aside row traceable and
gives a stable tie-break for events of one customer with the same timestamp (file order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

__all__ = [
    "SourceSpec",
    "STAGES",
    "STAGE_DTYPE",
    "SURVEYS",
    "SURVEY_SCALES",
    "QUESTION_KINDS",
    "survey_scale_bounds",
    "score_on_100",
    "Column",
    "TableSchema",
    "EVENTS",
    "FEEDBACK",
    "CUSTOMERS",
    "TABLES",
    "DEFAULT_JOURNEY_MAP",
    "DEFAULT_PURCHASE_TOUCHPOINTS",
    "SOURCE_ROW",
    "TIMESTAMP_DTYPE",
    "CODED_COLUMNS",
    "CUSTOMER_CODE",
    "SEQUENCE",
]

#: The five journey stages, in order.
STAGES: tuple[str, ...] = ("awareness", "consideration", "purchase", "retention", "advocacy")
#: Ordered enum dtype of stages; comparisons (``<``, ``max``) follow journey order.
STAGE_DTYPE = pl.Enum(list(STAGES))

#: Survey kinds and their inclusive score ranges.
SURVEY_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
SURVEYS: tuple[str, ...] = tuple(SURVEY_SCALES)
#: Kinds of survey question ``client.toml`` can declare (``[questions.<name>] kind``); see
#: :mod:`cxlab.io.surveys`. nps, csat and ces answers keep their survey; a rating is on its own
#: scale, a binary question is good (1) or bad (0), a text question gives comments.
QUESTION_KINDS: tuple[str, ...] = ("nps", "csat", "ces", "rating", "binary", "text")


def survey_scale_bounds(dtype: pl.DataType = pl.Float64) -> tuple[pl.Expr, pl.Expr]:
    """The low and high end of each row's survey scale, from its ``survey``; null for others.

    Examples
    --------
    >>> lo, hi = survey_scale_bounds(pl.Int64)
    >>> pl.DataFrame({"survey": ["nps", "ces", "vibes"]}).select(lo, hi).rows()
    [(0, 10), (1, 7), (None, None)]
    """
    lo = pl.col("survey").replace_strict(
        {k: v[0] for k, v in SURVEY_SCALES.items()}, default=None, return_dtype=dtype
    )
    hi = pl.col("survey").replace_strict(
        {k: v[1] for k, v in SURVEY_SCALES.items()}, default=None, return_dtype=dtype
    )
    return lo.alias("survey_low"), hi.alias("survey_high")


def score_on_100() -> pl.Expr:
    """``score`` rescaled over its survey's scale to 0–100 (null for an unknown survey).

    One expression, so every table that averages rescaled scores (the heatmap's and the
    explorer cube's satisfaction) computes the same floats.

    Examples
    --------
    >>> pl.DataFrame({"survey": ["nps", "csat", "ces"], "score": [10.0, 2.0, 4.0]}).select(score_on_100()).rows()
    [(100.0,), (25.0,), (50.0,)]
    """
    lo, hi = survey_scale_bounds()
    return ((pl.col("score") - lo) / (hi - lo) * 100).alias("score")


#: Every timestamp is stored as UTC with microsecond precision.
TIMESTAMP_DTYPE = pl.Datetime("us", "UTC")
#: Name of the column that keeps the 1-based source data row of each loaded row.
SOURCE_ROW = "source_row"
#: Integer code of the customer in prepared events (:mod:`cxlab.contract.prepare`; UInt32, rows sorted by it).
CUSTOMER_CODE = "_cx_cid"
#: Position of the row of prepared events in (customer, timestamp, source_row) order (UInt32).
SEQUENCE = "_cx_seq"
#: Text columns that prepared events (:mod:`cxlab.contract.prepare`) hold as an enum of their sorted
#: values: few distinct values, read by every analysis, and one-byte codes group, compare and
#: move far faster than text.
CODED_COLUMNS: tuple[str, ...] = ("touchpoint", "channel")


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, polars dtype, whether it is required, and its meaning."""

    name: str
    dtype: pl.DataType
    required: bool
    description: str


@dataclass(frozen=True)
class TableSchema:
    """The canonical columns of one table. Extra source columns are kept as attributes."""

    name: str
    columns: tuple[Column, ...]
    description: str

    @property
    def required(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns if c.required]

    @property
    def names(self) -> list[str]:
        """Names of all canonical columns, in order."""
        return [c.name for c in self.columns]

    def dtype(self, name: str) -> pl.DataType:
        """The canonical dtype of column ``name``."""
        return next(c.dtype for c in self.columns if c.name == name)

    def type_name(self, name: str) -> str:
        """Readable type of column ``name``, as the documentation writes it (``Datetime[us, UTC]``).

        Examples
        --------
        >>> EVENTS.type_name("timestamp"), EVENTS.type_name("revenue")
        ('Datetime[us, UTC]', 'Float64')
        """
        dtype = self.dtype(name)
        if isinstance(dtype, pl.Datetime):
            return f"Datetime[{dtype.time_unit}, {dtype.time_zone}]"
        return str(dtype)

    def to_frame(self) -> pl.DataFrame:
        """The schema as a table (for the documentation, notebooks and ``cxlab schema``)."""
        return pl.DataFrame(
            {
                "column": [c.name for c in self.columns],
                "type": [self.type_name(c.name) for c in self.columns],
                "required": [c.required for c in self.columns],
                "meaning": [c.description for c in self.columns],
            }
        )


EVENTS = TableSchema(
    "events",
    (
        Column("customer_id", pl.String(), True, "Who: the client's customer identifier."),
        Column(
            "timestamp",
            TIMESTAMP_DTYPE,
            True,
            "When, in UTC (naive source times are read in the client's timezone).",
        ),
        Column(
            "touchpoint",
            pl.String(),
            True,
            "What happened, e.g. ad_click, site_visit, checkout, purchase, support_call, review.",
        ),
        Column(
            "channel",
            pl.String(),
            True,
            'Where: web, app, email, store, phone, social, chat … (absent: [defaults.events] channel, else "unknown").',
        ),
        Column(
            "session_id",
            pl.String(),
            False,
            "Session the event belongs to, when the source has one.",
        ),
        Column(
            "revenue",
            pl.Float64(),
            False,
            "Money taken by the event (purchases), in the client's currency.",
        ),
    ),
    "One row per touchpoint interaction of a customer.",
)

FEEDBACK = TableSchema(
    "feedback",
    (
        Column("customer_id", pl.String(), True, "Who answered."),
        Column("timestamp", TIMESTAMP_DTYPE, True, "When the answer was given, in UTC."),
        Column(
            "survey",
            pl.String(),
            True,
            "Which survey: nps (0–10), csat (1–5) or ces (1–7); with declared questions also "
            "rating (its own scale), binary (0 bad, 1 good) or text (a comment only).",
        ),
        Column(
            "score",
            pl.Int64(),
            True,
            "The answer, an integer on its question's scale (empty only for survey text).",
        ),
        Column(
            "comment",
            pl.String(),
            False,
            "Free text written by the customer (never trusted: escaped when shown).",
        ),
        Column(
            "touchpoint",
            pl.String(),
            False,
            "The touchpoint that triggered the survey, when known.",
        ),
        Column(
            "question",
            pl.String(),
            False,
            "Which question ([questions.<name>] in client.toml); without declared questions, "
            "the survey (nps, csat, ces). Filled by the loader.",
        ),
    ),
    "One row per survey answer.",
)

CUSTOMERS = TableSchema(
    "customers",
    (
        Column("customer_id", pl.String(), True, "The client's customer identifier (unique)."),
        Column("segment", pl.String(), False, "The client's own segment label."),
        Column("region", pl.String(), False, "Region or market."),
        Column("signup_date", pl.Date(), False, "Date the customer signed up or was first seen."),
        Column("churned", pl.Boolean(), False, "Whether the client considers the customer lost."),
        Column("churn_date", pl.Date(), False, "Date the customer was lost, when known."),
    ),
    "One row per customer, with attributes; extra columns are kept as segment attributes.",
)

TABLES: dict[str, TableSchema] = {t.name: t for t in (EVENTS, FEEDBACK, CUSTOMERS)}

#: The documented default journey map: touchpoint -> stage. Clients extend or override it in
#: ``client.toml`` under ``[journey.map]``. Purchases are special: a customer's first
#: purchase touchpoint is the purchase stage, every later one counts as retention.
DEFAULT_JOURNEY_MAP: dict[str, str] = {
    # awareness: the customer discovers the brand
    "ad_impression": "awareness",
    "ad_click": "awareness",
    "social_post": "awareness",
    "search_click": "awareness",
    "word_of_mouth": "awareness",
    # consideration: the customer evaluates
    "site_visit": "consideration",
    "app_open": "consideration",
    "product_view": "consideration",
    "comparison": "consideration",
    "review_read": "consideration",
    "chat": "consideration",
    "sales_call": "consideration",
    "store_visit": "consideration",
    "add_to_cart": "consideration",
    # purchase: the decision and the transaction
    "checkout": "purchase",
    "checkout_error": "purchase",
    "purchase": "purchase",
    # retention: use, help, repeat
    "onboarding": "retention",
    "delivery": "retention",
    "email_open": "retention",
    "support_call": "retention",
    "support_email": "retention",
    "return": "retention",
    "renewal": "retention",
    "promotion_click": "retention",
    # advocacy: the customer recommends
    "review": "advocacy",
    "referral": "advocacy",
    "social_share": "advocacy",
}

#: Touchpoints that are a purchase (first one = purchase stage, later ones = retention).
DEFAULT_PURCHASE_TOUCHPOINTS: tuple[str, ...] = ("purchase",)


@dataclass(frozen=True)
class SourceSpec:
    """What ``client.toml`` declares about one table's source beyond the column mapping.

    Read by :mod:`cxlab.contract.client_config`, applied by :func:`cxlab.io.sources.apply_source_spec`.

    Parameters
    ----------
    constants : dict of str to str
        Canonical column -> the value of every row (``[defaults.<table>]``).
    derived : dict of str to tuple of str
        Canonical column -> the source columns whose values are joined (``[derive.<table>]``).
    separator : str
        What joins the parts of a derived column.
    timestamp_unit : {"s", "ms", "us", "ns"} or None
        The source times are integer epochs in this unit.
    """

    constants: dict[str, str] = field(default_factory=dict)
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    separator: str = "_"
    timestamp_unit: str | None = None

    @property
    def empty(self) -> bool:
        """True when the spec adds nothing."""
        return not (self.constants or self.derived or self.timestamp_unit)
