"""The common mappings of a few analytics and support tools' exports, for ``cxlab init``.

A preset is plain data: the columns that identify an export, the ``client.toml`` lines it
needs (column mapping, time encoding, constants) and a journey map for the tool's event
names. ``cxlab init`` recognises the export from its columns (or takes ``--preset NAME``) and
writes these lines into ``client.toml``, each commented with the preset's name, so the file
stays explicit: nothing is applied at load time that the file does not say.

* ``ga4`` -- Google Analytics 4's BigQuery export (``events_YYYYMMDD`` tables), as NDJSON or
  Parquet: ``user_pseudo_id``, ``event_timestamp`` in microseconds, ``event_name``,
  ``event_params`` key/value lists, ``ecommerce.purchase_revenue``.
* ``segment`` -- Segment track calls (warehouse or S3 archive), as NDJSON or Parquet:
  ``anonymousId``/``userId``, ``event``, ISO ``timestamp``, ``properties.revenue``, with
  Segment's e-commerce event names ("Product Viewed", "Order Completed" …).
* ``zendesk`` -- a Zendesk Support ticket export (CSV with Zendesk's column titles): each
  ticket is a ``support_ticket`` touchpoint of its requester, in the retention stage, on the
  channel it came ``Via``; the same file is also the feedback: its good/bad satisfaction
  rating is a ``binary`` question ("Offered" and "Unoffered" are not answers) and its
  satisfaction comment a ``text`` question.

Examples
--------
>>> detect_preset(["event_date", "event_timestamp", "event_name", "user_pseudo_id"]).name
'ga4'
>>> detect_preset(["customer_id", "timestamp", "touchpoint"]) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cxlab.errors import ParameterError, did_you_mean

__all__ = ["Preset", "PRESETS", "detect_preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """The ``client.toml`` lines a tool's export needs.

    Parameters
    ----------
    name : str
        What ``--preset`` takes.
    title : str
        The export, for people ("GA4 BigQuery export").
    signature : tuple of str
        Columns that together identify the export (all present).
    columns : dict of str to str
        ``[columns.events]``: source column (or nested path) -> canonical column. Only the
        ones present in the file are written.
    timestamp_unit : {"s", "ms", "us", "ns"} or None
        The times are integer epochs in this unit.
    timestamp_format : str or None
        The strftime format of text times that are not ISO 8601.
    constants : dict of str to str
        ``[defaults.events]``: canonical column -> the value of every row.
    journey_map : dict of str to str
        The tool's event names -> journey stage.
    purchase_touchpoints : tuple of str
        The event names that are purchases (the first is the purchase stage).
    notes : tuple of str
        What to check, printed by ``cxlab init`` with the other review lines.
    feedback_columns : dict of str to str
        ``[columns.feedback]`` when the export is also the feedback file (empty: it is not).
    feedback_constants : dict of str to str
        ``[defaults.feedback]`` for that feedback.
    feedback_questions : str
        Its ``[questions.<name>]`` tables, as TOML.
    """

    name: str
    title: str
    signature: tuple[str, ...]
    columns: Mapping[str, str]
    timestamp_unit: str | None = None
    timestamp_format: str | None = None
    constants: Mapping[str, str] = field(default_factory=dict)
    journey_map: Mapping[str, str] = field(default_factory=dict)
    purchase_touchpoints: tuple[str, ...] = ("purchase",)
    notes: tuple[str, ...] = ()
    feedback_columns: Mapping[str, str] = field(default_factory=dict)
    feedback_constants: Mapping[str, str] = field(default_factory=dict)
    feedback_questions: str = ""


GA4 = Preset(
    name="ga4",
    title="GA4 BigQuery export",
    signature=("event_timestamp", "event_name", "user_pseudo_id"),
    columns={
        "user_pseudo_id": "customer_id",
        "event_timestamp": "timestamp",
        "event_name": "touchpoint",
        "platform": "channel",
        "event_params[ga_session_id]": "session_id",
        "ecommerce.purchase_revenue": "revenue",
    },
    timestamp_unit="us",
    # GA4's automatically collected and recommended events
    journey_map={
        "first_visit": "awareness",
        "first_open": "awareness",
        "view_promotion": "awareness",
        "select_promotion": "awareness",
        "session_start": "consideration",
        "page_view": "consideration",
        "screen_view": "consideration",
        "user_engagement": "consideration",
        "scroll": "consideration",
        "click": "consideration",
        "search": "consideration",
        "view_search_results": "consideration",
        "view_item_list": "consideration",
        "select_item": "consideration",
        "view_item": "consideration",
        "add_to_wishlist": "consideration",
        "add_to_cart": "consideration",
        "remove_from_cart": "consideration",
        "view_cart": "consideration",
        "sign_up": "consideration",
        "generate_lead": "consideration",
        "begin_checkout": "purchase",
        "add_shipping_info": "purchase",
        "add_payment_info": "purchase",
        "purchase": "purchase",
        "login": "retention",
        "refund": "retention",
        "share": "advocacy",
    },
    notes=(
        "GA4: customers are user_pseudo_id (one per browser or app install); map user_id "
        "instead when the site sets it for logged-in users",
    ),
)

SEGMENT = Preset(
    name="segment",
    title="Segment track-call export",
    signature=("anonymousId", "event", "timestamp"),
    columns={
        "anonymousId": "customer_id",
        "event": "touchpoint",
        "properties.revenue": "revenue",
    },
    # Segment's e-commerce spec (v2) event names
    journey_map={
        "Promotion Viewed": "awareness",
        "Promotion Clicked": "awareness",
        "Products Searched": "consideration",
        "Product List Viewed": "consideration",
        "Product List Filtered": "consideration",
        "Product Clicked": "consideration",
        "Product Viewed": "consideration",
        "Product Added": "consideration",
        "Product Removed": "consideration",
        "Cart Viewed": "consideration",
        "Product Added to Wishlist": "consideration",
        "Signed Up": "consideration",
        "Checkout Started": "purchase",
        "Checkout Step Viewed": "purchase",
        "Checkout Step Completed": "purchase",
        "Payment Info Entered": "purchase",
        "Coupon Applied": "purchase",
        "Order Completed": "purchase",
        "Signed In": "retention",
        "Order Updated": "retention",
        "Order Refunded": "retention",
        "Order Cancelled": "retention",
        "Product Reviewed": "advocacy",
        "Product Shared": "advocacy",
        "Cart Shared": "advocacy",
    },
    purchase_touchpoints=("Order Completed",),
    notes=(
        "Segment: customers are anonymousId (every call has one, so browsing before a login "
        "stays in the journey); map userId instead to join a person's devices (calls without "
        "a userId are then set aside and counted)",
    ),
)

ZENDESK = Preset(
    name="zendesk",
    title="Zendesk ticket export",
    signature=("Requester id", "Created at", "Via"),
    columns={
        "Requester id": "customer_id",
        "Created at": "timestamp",
        "Via": "channel",
    },
    timestamp_format="%Y-%m-%d %H:%M:%S %z",
    constants={"touchpoint": "support_ticket"},
    journey_map={"support_ticket": "retention"},
    notes=(
        "Zendesk: each ticket is a support_ticket event of its requester (Requester id; map "
        '"Requester external id" instead, under [columns.events] and [columns.feedback], to '
        "match the ids of your other files); its satisfaction rating is a good/bad question",
    ),
    feedback_columns={"Requester id": "customer_id", "Created at": "timestamp"},
    feedback_constants={"touchpoint": "support_ticket"},
    feedback_questions="""
[questions.ticket_satisfaction]  # preset zendesk: the ticket's satisfaction rating
column = "Satisfaction Score"
kind = "binary"
scale = ["Bad", "Good"]
no_answer = ["Offered", "Unoffered"]  # asked but not answered, or never asked
label = "Ticket satisfaction"

[questions.ticket_comment]  # preset zendesk
column = "Satisfaction Comment"
kind = "text"
label = "Satisfaction comment"
""",
)

#: The presets by name.
PRESETS: dict[str, Preset] = {p.name: p for p in (GA4, SEGMENT, ZENDESK)}


def detect_preset(columns: Iterable[str]) -> Preset | None:
    """The preset whose signature columns are all in ``columns``, or None."""
    present = set(columns)
    return next((p for p in PRESETS.values() if set(p.signature) <= present), None)


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises
    ------
    ParameterError
        No such preset; the message lists them.
    """
    if name not in PRESETS:
        raise ParameterError(
            f"--preset must be one of {', '.join(PRESETS)} (or auto, none); got {name!r}."
            f"{did_you_mean(name, list(PRESETS))}"
        )
    return PRESETS[name]
