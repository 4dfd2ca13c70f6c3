"""Deterministic sample clients with planted findings (``cxlab sample``).

Three fictional clients, each in its own folder with ``client.toml``, its data files in its own
shape, and ``truth.json``: the findings planted in the data, measured on the generated data.

=========  ==================  ===============================  ===============  ===========
folder     business            files                            timestamps       churn
=========  ==================  ===============================  ===============  ===========
bookshop   online bookshop     CSV, gzip (``*.csv.gz``)         local London,    inactivity,
                                                                ``%d/%m/%Y ...`` 120 days
telecom    mobile subscription Parquet                          UTC datetimes    column
bank       retail bank         NDJSON, gzip (``*.ndjson.gz``)   ISO 8601 with    column
                                                                offsets
=========  ==================  ===============================  ===============  ===========

Planted findings (``truth.json``), all measured on the clean data the loader returns:

``checkout_friction``
    Customers who hit ``checkout_error`` buy far less often than customers who reached checkout
    without an error.
``support_churn``
    Buyers with 3 or more support contacts (``support_call``, ``support_email``, ``chat`` after
    their first purchase) churn several times more often.
``nps_driver``
    One touchpoint (bookshop ``delivery_late``, telecom ``support_call``, bank
    ``app_login_failed``) drags NPS down more than any other.
``detractor_theme``
    Detractor comments concentrate on one theme (bookshop delivery, telecom support, bank app).
``dirty_rows``
    Rows planted for validation to find, by table and reason code.

The same seed always gives byte-identical files. Everything is vectorised; large clients
(``customers=``) are generated and written in chunks of 100,000 customers (fewer with
``browsing=``, which adds browsing events per customer for long benchmark logs).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cxlab.contract.schema import TIMESTAMP_DTYPE
from cxlab.errors import ParameterError, did_you_mean
from cxlab.io._sample_sim import END, START, Spec, id_of_index, simulate_chunk
from cxlab.io._sample_text import THEME_TERMS

__all__ = [
    "SAMPLE_CLIENTS",
    "SampleClient",
    "generate_client",
    "write_sample_clients",
    "client_toml",
    "theme_pattern",
    "CHUNK_CUSTOMERS",
]

#: Customers simulated (and written) per chunk.
CHUNK_CUSTOMERS = 100_000
#: Touchpoints that count as a support contact (after the first purchase).
SUPPORT_TOUCHPOINTS = ("support_call", "support_email", "chat")
#: Reason codes of dirty rows that the loader keeps (warnings), the others are set aside.
KEPT_REASONS = ("unknown_touchpoint", "unknown_customer")
#: The typo'd touchpoint planted as ``unknown_touchpoint``.
UNKNOWN_TOUCHPOINT = "web_visit"

_UK_REGIONS = {
    "London": 0.22,
    "South East": 0.16,
    "North West": 0.12,
    "Midlands": 0.14,
    "Scotland": 0.09,
    "Wales": 0.06,
    "South West": 0.1,
    "North East": 0.11,
}
_AGE = {"18-24": 0.14, "25-34": 0.24, "35-49": 0.3, "50-64": 0.21, "65+": 0.11}

_SPECS: tuple[Spec, ...] = (
    Spec(
        slug="bookshop",
        index=0,
        default_customers=4_000,
        name="Pageturn Books",
        industry="Online bookshop",
        timezone="Europe/London",
        currency="GBP",
        churn_method="inactivity",
        inactivity_days=120,
        id_style="bk",
        awareness={
            "ad_click": {"_w": 0.35, "display": 0.4, "social": 0.35, "search": 0.25},
            "social_post": {"_w": 0.25, "social": 1.0},
            "search_click": {"_w": 0.3, "search": 1.0},
            "word_of_mouth": {"_w": 0.1, "referral": 1.0},
        },
        consideration={
            "site_visit": {"_w": 0.35, "web": 0.7, "app": 0.3},
            "product_view": {"_w": 0.3, "web": 0.65, "app": 0.35},
            "review_read": {"_w": 0.15, "web": 1.0},
            "add_to_cart": {"_w": 0.2, "web": 0.7, "app": 0.3},
        },
        checkout_channels={"web": 0.7, "app": 0.3},
        first_purchase="purchase",
        repeat_purchase="purchase",
        p_reach=0.45,
        p_error=0.25,
        p_buy_ok=0.8,
        p_buy_error=0.25,
        revenue_log_mean=float(np.log(22.0)),
        revenue_log_sd=0.5,
        repeat_rate=0.4,
        support_types={"support_email": 0.55, "chat": 0.45},
        support_channels={"support_email": {"email": 1.0}, "chat": {"chat": 1.0}},
        retention=[
            ("email_open", 0.9, 1.2, {"email": 1.0}),
            ("promotion_click", 0.5, 0.3, {"email": 0.6, "web": 0.4}),
            ("site_visit", 0.6, 0.5, {"web": 0.7, "app": 0.3}),
            ("return", 0.1, 0.15, {"courier": 0.7, "web": 0.3}),
        ],
        onboarding=0,
        has_delivery=True,
        driver="delivery_late",
        driver_theme="delivery",
        nps_themes={
            "delivery": 0.15,
            "price": 0.25,
            "website": 0.2,
            "support": 0.15,
            "books": 0.25,
        },
        segments={"student": 0.2, "casual reader": 0.35, "book lover": 0.25, "gift buyer": 0.2},
        segment_reach={
            "student": 0.85,
            "casual reader": 0.95,
            "book lover": 1.25,
            "gift buyer": 1.0,
        },
        regions=_UK_REGIONS,
        extra_attributes={
            "Favourite Genre": {
                "fiction": 0.35,
                "crime": 0.2,
                "non-fiction": 0.2,
                "children": 0.1,
                "sci-fi": 0.15,
            },
            "Loyalty Member": {"yes": 0.3, "no": 0.7},
        },
        email_share=0.03,
        email_column="Email",
        session_channels=("web", "app"),
        warp_ambiguous_hour=True,
        advocacy={
            "review": (0.18, 0.08, {"web": 1.0}),
            "referral": (0.12, 0.03, {"email": 0.5, "social": 0.5}),
            "social_share": (0.06, 0.02, {"social": 1.0}),
        },
    ),
    Spec(
        slug="telecom",
        index=1,
        default_customers=3_000,
        name="Northwave Mobile",
        industry="Mobile subscriptions",
        timezone="Europe/London",
        currency="GBP",
        churn_method="column",
        inactivity_days=90,
        id_style="hex",
        awareness={
            "ad_impression": {"_w": 0.4, "display": 0.5, "tv": 0.2, "social": 0.3},
            "ad_click": {"_w": 0.2, "display": 0.5, "social": 0.5},
            "social_post": {"_w": 0.15, "social": 1.0},
            "search_click": {"_w": 0.15, "search": 1.0},
            "word_of_mouth": {"_w": 0.1, "referral": 1.0},
        },
        consideration={
            "site_visit": {"_w": 0.3, "web": 0.6, "app": 0.4},
            "store_visit": {"_w": 0.2, "store": 1.0},
            "sales_call": {"_w": 0.15, "phone": 1.0},
            "chat": {"_w": 0.15, "chat": 1.0},
            "comparison": {"_w": 0.2, "web": 1.0},
        },
        checkout_channels={"web": 0.45, "store": 0.35, "phone": 0.2},
        first_purchase="purchase",
        repeat_purchase="purchase",
        p_reach=0.42,
        p_error=0.22,
        p_buy_ok=0.82,
        p_buy_error=0.22,
        revenue_log_mean=float(np.log(420.0)),
        revenue_log_sd=0.35,
        repeat_rate=0.12,
        support_types={"support_call": 0.5, "chat": 0.5},
        support_channels={"chat": {"chat": 0.7, "app": 0.3}},
        retention=[
            ("email_open", 0.8, 0.6, {"email": 1.0}),
            ("promotion_click", 0.4, 0.2, {"email": 0.5, "app": 0.5}),
            ("renewal", 0.35, 0.35, {"app": 0.6, "web": 0.4}),
        ],
        onboarding=1,
        has_delivery=False,
        driver="support_call",
        driver_theme="support",
        nps_themes={"network": 0.3, "price": 0.25, "app": 0.1, "support": 0.1, "contract": 0.25},
        segments={"consumer": 0.5, "family": 0.2, "small business": 0.15, "youth": 0.15},
        segment_reach={"consumer": 1.0, "family": 1.15, "small business": 1.1, "youth": 0.8},
        regions=_UK_REGIONS,
        extra_attributes={
            "plan_type": {"sim_only": 0.4, "handset": 0.35, "prepaid": 0.15, "family_plan": 0.1},
            "age_band": _AGE,
        },
        email_share=0.04,
        email_column="email_address",
        session_channels=(),
        warp_ambiguous_hour=False,
        advocacy={
            "referral": (0.12, 0.03, {"app": 0.5, "web": 0.5}),
            "social_share": (0.08, 0.02, {"social": 1.0}),
            "review": (0.08, 0.05, {"web": 1.0}),
        },
    ),
    Spec(
        slug="bank",
        index=2,
        default_customers=3_000,
        name="Lindenhof Bank",
        industry="Retail banking",
        timezone="Europe/Amsterdam",
        currency="EUR",
        churn_method="column",
        inactivity_days=90,
        id_style="digits",
        awareness={
            "ad_click": {"_w": 0.35, "display": 0.4, "social": 0.3, "search": 0.3},
            "search_click": {"_w": 0.3, "search": 1.0},
            "social_post": {"_w": 0.2, "social": 1.0},
            "word_of_mouth": {"_w": 0.15, "referral": 1.0},
        },
        consideration={
            "site_visit": {"_w": 0.3, "web": 1.0},
            "app_open": {"_w": 0.15, "app": 1.0},
            "comparison": {"_w": 0.25, "web": 0.8, "partner": 0.2},
            "branch_visit": {"_w": 0.15, "branch": 1.0},
            "chat": {"_w": 0.15, "chat": 1.0},
        },
        checkout_channels={"web": 0.5, "app": 0.35, "branch": 0.15},
        first_purchase="account_opened",
        repeat_purchase="purchase",
        p_reach=0.4,
        p_error=0.28,
        p_buy_ok=0.78,
        p_buy_error=0.22,
        revenue_log_mean=float(np.log(180.0)),
        revenue_log_sd=0.6,
        repeat_rate=0.18,
        support_types={"support_call": 0.55, "chat": 0.45},
        support_channels={"support_call": {"phone": 1.0}, "chat": {"chat": 0.6, "app": 0.4}},
        retention=[
            ("app_login", 0.92, 2.0, {"app": 1.0}),
            ("email_open", 0.7, 0.5, {"email": 1.0}),
            ("promotion_click", 0.3, 0.15, {"app": 0.6, "email": 0.4}),
        ],
        onboarding=2,
        has_delivery=False,
        driver="app_login_failed",
        driver_theme="app",
        nps_themes={"app": 0.1, "fees": 0.33, "support": 0.15, "branch": 0.15, "account": 0.25},
        segments={"mass market": 0.5, "young professional": 0.25, "affluent": 0.1, "student": 0.15},
        segment_reach={
            "mass market": 1.0,
            "young professional": 1.1,
            "affluent": 1.2,
            "student": 0.8,
        },
        regions={
            "Noord-Holland": 0.22,
            "Zuid-Holland": 0.22,
            "Utrecht": 0.14,
            "Noord-Brabant": 0.16,
            "Gelderland": 0.14,
            "Groningen": 0.12,
        },
        extra_attributes={
            "ageBand": _AGE,
            "productHolding": {"current": 0.5, "savings": 0.3, "credit_card": 0.2},
        },
        email_share=0.05,
        email_column="email",
        session_channels=("web", "app"),
        warp_ambiguous_hour=False,
        advocacy={
            "review": (0.1, 0.05, {"web": 1.0}),
            "referral": (0.12, 0.03, {"app": 0.6, "email": 0.4}),
        },
    ),
)

#: The sample clients by folder name.
SAMPLE_CLIENTS: dict[str, Spec] = {s.slug: s for s in _SPECS}

# ----------------------------------------------------------------------------- file shapes
# canonical column -> source column, per client and table (the inverse of [columns.*])
_SOURCE_COLUMNS: dict[str, dict[str, dict[str, str]]] = {
    "bookshop": {
        "events": {
            "customer_id": "Customer Ref",
            "timestamp": "Event Time",
            "touchpoint": "Action",
            "channel": "Medium",
            "session_id": "Session",
            "revenue": "Order Value",
        },
        "feedback": {
            "customer_id": "Customer Ref",
            "timestamp": "Response Time",
            "survey": "Survey",
            "score": "Score",
            "comment": "Comment",
            "touchpoint": "Trigger",
        },
        "customers": {
            "customer_id": "Customer Ref",
            "segment": "Segment",
            "region": "Region",
            "signup_date": "Joined",
        },
    },
    "telecom": {
        "events": {
            "customer_id": "subscriber_id",
            "timestamp": "event_ts",
            "touchpoint": "event_type",
            "channel": "channel_name",
            "revenue": "amount_gbp",
        },
        "feedback": {
            "customer_id": "subscriber_id",
            "timestamp": "answered_at",
            "survey": "survey_type",
            "score": "rating",
            "comment": "verbatim",
            "touchpoint": "trigger_event",
        },
        "customers": {
            "customer_id": "subscriber_id",
            "segment": "customer_segment",
            "region": "area",
            "signup_date": "activation_date",
            "churned": "is_churned",
            "churn_date": "churned_on",
        },
    },
    "bank": {
        "events": {
            "customer_id": "clientId",
            "timestamp": "occurredAt",
            "touchpoint": "eventName",
            "channel": "channel",
            "session_id": "sessionId",
            "revenue": "amountEur",
        },
        "feedback": {
            "customer_id": "clientId",
            "timestamp": "submittedAt",
            "survey": "surveyType",
            "score": "score",
            "comment": "freeText",
            "touchpoint": "touchpoint",
        },
        "customers": {
            "customer_id": "clientId",
            "segment": "segment",
            "region": "region",
            "signup_date": "onboardedOn",
            "churned": "churned",
            "churn_date": "churnedOn",
        },
    },
}
_NATIVE_FORMAT = {"bookshop": "csv", "telecom": "parquet", "bank": "ndjson"}
_EXTENSION = {"csv": ".csv.gz", "parquet": ".parquet", "ndjson": ".ndjson.gz"}
_BOOKSHOP_TS = "%d/%m/%Y %H:%M:%S"
_BOOKSHOP_DATE = "%d/%m/%Y"
_UNPARSABLE = {
    "csv": ["31/02/2025 10:15:00", "29/02/2025 18:40:00"],
    "ndjson": ["2025-02-30T10:15:00+01:00", "2025-04-31T18:40:00+02:00"],
}
_JOURNEY_EXTRA = {
    "bookshop": {"delivery_late": "retention"},
    "telecom": {},
    "bank": {
        "account_opened": "purchase",
        "branch_visit": "consideration",
        "app_login": "retention",
        "app_login_failed": "retention",
    },
}
_PURCHASES = {
    "bookshop": ["purchase"],
    "telecom": ["purchase"],
    "bank": ["account_opened", "purchase"],
}


def _check_format(file_format: str) -> str:
    if file_format not in ("native", "parquet"):
        raise ParameterError(
            f"The 'file_format' parameter must be 'native' or 'parquet'. Got {file_format!r} instead."
        )
    return file_format


def _spec(name: str) -> Spec:
    if name not in SAMPLE_CLIENTS:
        raise ParameterError(
            f"There is no sample client {name!r}.{did_you_mean(name, SAMPLE_CLIENTS)} "
            f"Sample clients: {', '.join(SAMPLE_CLIENTS)}."
        )
    return SAMPLE_CLIENTS[name]


def _fmt(spec: Spec, file_format: str) -> str:
    return _NATIVE_FORMAT[spec.slug] if file_format == "native" else "parquet"


def _file_names(spec: Spec, file_format: str) -> dict[str, str]:
    ext = _EXTENSION[_fmt(spec, file_format)]
    return {t: f"{t}{ext}" for t in ("events", "feedback", "customers")}


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def client_toml(name: str, file_format: str = "native") -> str:
    """The ``client.toml`` text of sample client ``name``.

    Examples
    --------
    >>> print(client_toml("bookshop").splitlines()[0])
    name = "Pageturn Books"
    """
    spec = _spec(name)
    fmt = _fmt(spec, _check_format(file_format))
    lines = [
        f"name = {_toml_str(spec.name)}",
        f"industry = {_toml_str(spec.industry)}",
        f"timezone = {_toml_str(spec.timezone)}",
    ]
    if fmt == "csv":
        lines.append(
            f"timestamp_formats = [{_toml_str(_BOOKSHOP_TS)}, {_toml_str(_BOOKSHOP_DATE)}]"
        )
    lines += [
        f"start_date = {START.date().isoformat()}",
        f"currency = {_toml_str(spec.currency)}",
        f"as_of = {END.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "",
        "[files]",
    ]
    lines += [f"{t} = {_toml_str(f)}" for t, f in _file_names(spec, file_format).items()]
    for table, mapping in _SOURCE_COLUMNS[spec.slug].items():
        lines += ["", f"[columns.{table}]"]
        lines += [
            f"{_toml_str(src)} = {_toml_str(canon)}"
            for canon, src in mapping.items()
            if src != canon
        ]
    lines += [
        "",
        "[journey]",
        "use_default_map = true",
        f"purchase_touchpoints = [{', '.join(_toml_str(p) for p in _PURCHASES[spec.slug])}]",
    ]
    if _JOURNEY_EXTRA[spec.slug]:
        lines += ["", "[journey.map]"]
        lines += [f"{tp} = {_toml_str(stage)}" for tp, stage in _JOURNEY_EXTRA[spec.slug].items()]
    lines += ["", "[churn]", f"method = {_toml_str(spec.churn_method)}"]
    if spec.churn_method == "inactivity":
        lines.append(f"inactivity_days = {spec.inactivity_days}")
    # the planted duplicate rows stand for an export that repeats rows by mistake
    lines += ["", "[validation]", 'duplicate_events = "drop"']
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- raw shapes
def _to_raw(spec: Spec, table: str, frame: pl.DataFrame, fmt: str) -> pl.DataFrame:
    """A canonical frame in the client's own file shape (column names, time and date formats)."""
    exprs = []
    for col in frame.columns:
        if col in ("churned", "churn_date") and spec.churn_method != "column":
            continue
        e = pl.col(col)
        if col == "timestamp" and fmt == "csv":
            e = e.dt.convert_time_zone(spec.timezone).dt.strftime(_BOOKSHOP_TS)
        elif col == "timestamp" and fmt == "ndjson":
            e = e.dt.convert_time_zone(spec.timezone).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        elif col in ("signup_date", "churn_date") and fmt == "csv":
            e = e.dt.strftime(_BOOKSHOP_DATE)
        elif col in ("signup_date", "churn_date") and fmt == "ndjson":
            e = e.dt.strftime("%Y-%m-%d")
        exprs.append(e.alias(_SOURCE_COLUMNS[spec.slug][table].get(col, col)))
    return frame.select(exprs)


# ----------------------------------------------------------------------------- dirty rows
def _kept_dirty(
    spec: Spec, rng: np.random.Generator, frames: dict[str, pl.DataFrame], n_customers: int
) -> dict[str, pl.DataFrame]:
    """Add the dirty rows the loader keeps with a warning (unknown touchpoint, unknown customer).

    ``web_visit`` rows copy the time and channel of an existing event of a customer who gave no
    NPS answer, so no planted finding moves; the unknown customer answers a CSAT survey.
    """
    ev, fb = frames["events"], frames["feedback"]
    respondents = fb.filter(pl.col("survey") == "nps").select("customer_id")
    pool = (
        ev.with_row_index("i")
        .join(respondents, on="customer_id", how="anti")
        .filter(pl.col("touchpoint") == "site_visit")
        .sort("i")
    )
    rows = np.sort(rng.choice(pool.height, size=3, replace=False))
    web = pool[rows].drop("i").with_columns(pl.lit(UNKNOWN_TOUCHPOINT).alias("touchpoint"))
    ev = pl.concat([ev, web]).sort(["timestamp", "customer_id", "touchpoint"], maintain_order=True)
    ghost_id = (
        id_of_index(spec, np.array([n_customers + 1_000]))[0]
        if spec.id_style != "bk"
        else "BK-000042"
    )
    ghost_ts = fb["timestamp"][int(rng.integers(0, fb.height))]
    ghost = pl.DataFrame(
        {
            "customer_id": [ghost_id],
            "timestamp": pl.Series([ghost_ts], dtype=TIMESTAMP_DTYPE),
            "survey": ["csat"],
            "score": [4],
            "comment": pl.Series([None], dtype=pl.String),
            "touchpoint": ["support_call" if spec.slug != "bookshop" else "delivery"],
        }
    ).cast(fb.schema)
    fb = pl.concat([fb, ghost]).sort(["timestamp", "customer_id", "survey"], maintain_order=True)
    return {"events": ev, "feedback": fb, "customers": frames["customers"]}


def _set_aside_dirty(
    spec: Spec, rng: np.random.Generator, raw: dict[str, pl.DataFrame], fmt: str
) -> tuple[dict[str, pl.DataFrame], dict[str, dict[str, int]]]:
    """Rows the loader must set aside, with the key that places each one in the file.

    Clean row ``i`` gets key ``2 i``; a dirty row gets an odd key, so it lands between clean
    rows; a duplicate always lands after the row it copies (the loader keeps the first).
    """
    src = _SOURCE_COLUMNS[spec.slug]
    out: dict[str, pl.DataFrame] = {}
    counts: dict[str, dict[str, int]] = {}

    def odd_keys(m: int, n: int) -> np.ndarray:
        return 2 * rng.integers(0, n, m) + 1

    def after(rows: np.ndarray, n: int) -> np.ndarray:
        return 2 * rows + 1 + 2 * rng.integers(0, n - rows)

    # events
    ev = raw["events"]
    n = ev.height
    tp_col, id_col, ts_col = (
        src["events"]["touchpoint"],
        src["events"]["customer_id"],
        src["events"]["timestamp"],
    )
    known = np.flatnonzero((ev[tp_col] != UNKNOWN_TOUCHPOINT).to_numpy())
    parts = []
    dup = np.sort(rng.choice(known, 5, replace=False))
    parts.append(ev[dup].with_columns(pl.Series("__key", after(dup, n))))
    nul = np.sort(rng.choice(known, 2, replace=False))
    parts.append(
        ev[nul].with_columns(
            pl.lit(None, dtype=ev.schema[id_col]).alias(id_col), pl.Series("__key", odd_keys(2, n))
        )
    )
    n_bad_ts = 0
    if ev.schema[ts_col] == pl.String:
        bad = np.sort(rng.choice(known, 2, replace=False))
        parts.append(
            ev[bad].with_columns(
                pl.Series(ts_col, _UNPARSABLE[fmt]), pl.Series("__key", odd_keys(2, n))
            )
        )
        n_bad_ts = 2
    out["events"] = pl.concat(parts)
    counts["events"] = {
        "null_customer_id": 2,
        "unparsable_timestamp": n_bad_ts,
        "duplicate_event": 5,
        "unknown_touchpoint": int((ev[tp_col] == UNKNOWN_TOUCHPOINT).sum()),
    }

    # feedback: one NPS 11 and one CSAT 0 (copies of real answers)
    fb = raw["feedback"]
    n = fb.height
    sv, sc = src["feedback"]["survey"], src["feedback"]["score"]
    rows = []
    for survey, bad_score in (("nps", 11), ("csat", 0)):
        pool = np.flatnonzero((fb[sv] == survey).to_numpy())
        r = int(rng.choice(pool))
        rows.append(fb[r].with_columns(pl.lit(bad_score, dtype=fb.schema[sc]).alias(sc)))
    out["feedback"] = pl.concat(rows).with_columns(pl.Series("__key", odd_keys(2, n)))
    ids = set(raw["customers"][src["customers"]["customer_id"]].to_list())
    unknown = int((~fb[src["feedback"]["customer_id"]].is_in(list(ids))).sum())
    counts["feedback"] = {"score_out_of_range": 2, "unknown_customer": unknown}

    # customers: two repeated rows
    cu = raw["customers"]
    n = cu.height
    rep = np.sort(rng.choice(n, 2, replace=False))
    out["customers"] = cu[rep].with_columns(pl.Series("__key", after(rep, n)))
    counts["customers"] = {"duplicate_customer": 2}
    return out, {t: {k: v for k, v in c.items() if v} for t, c in counts.items()}


def _merge(raw: pl.DataFrame, dirty: pl.DataFrame | None) -> tuple[pl.DataFrame, np.ndarray]:
    """Insert dirty rows; return the file frame and the 0-based file position of each clean row."""
    clean = raw.with_columns(pl.Series("__key", np.arange(raw.height, dtype=np.int64) * 2))
    if dirty is None or dirty.height == 0:
        return raw, np.arange(raw.height)
    both = pl.concat(
        [clean, dirty.with_columns(pl.col("__key").cast(pl.Int64))], how="vertical_relaxed"
    )
    both = both.with_row_index("__i").sort(["__key", "__i"])
    pos = np.empty(raw.height, dtype=np.int64)
    order = both["__i"].to_numpy()
    is_clean = order < raw.height
    pos[order[is_clean]] = np.flatnonzero(is_clean)
    return both.drop("__key", "__i"), pos


# ----------------------------------------------------------------------------- truth
def theme_pattern(terms: list[str]) -> str:
    """The regex that marks a comment as containing any of ``terms`` (whole words, any case).

    Examples
    --------
    >>> import polars as pl
    >>> pl.Series(["Late again", "chocolate"]).str.contains(theme_pattern(["late"])).to_list()
    [True, False]
    """
    return r"(?i)\b(?:" + "|".join(t.replace(" ", r"\s+") for t in terms) + r")\b"


def _truth_counts(
    spec: Spec, ev: pl.DataFrame, fb: pl.DataFrame, cu: pl.DataFrame
) -> dict[str, Any]:
    """Additive counts behind every planted number (summed over chunks, then turned to rates)."""
    purchases = list({spec.first_purchase, spec.repeat_purchase})
    tp = pl.col("touchpoint")
    per = ev.group_by("customer_id").agg(
        (tp == "checkout").any().alias("checkout"),
        (tp == "checkout_error").any().alias("error"),
        tp.is_in(purchases).any().alias("bought"),
        pl.col("timestamp").filter(tp.is_in(purchases)).min().alias("first_purchase"),
        pl.col("timestamp").max().alias("last_event"),
        (tp == spec.driver).any().alias("hit"),
    )
    support = (
        ev.filter(tp.is_in(SUPPORT_TOUCHPOINTS))
        .join(per.select("customer_id", "first_purchase"), on="customer_id")
        .filter(pl.col("timestamp") > pl.col("first_purchase"))
        .group_by("customer_id")
        .len("support")
    )
    buyers = (
        per.filter("bought")
        .join(support, on="customer_id", how="left")
        .with_columns(pl.col("support").fill_null(0))
        .join(
            cu.select(
                "customer_id", "signup_date", *(["churned"] if "churned" in cu.columns else [])
            ),
            on="customer_id",
            how="left",
        )
    )
    if spec.churn_method == "inactivity":
        cutoff = END - dt.timedelta(days=spec.inactivity_days)
        buyers = buyers.filter(
            pl.col("signup_date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC") <= cutoff
        ).with_columns((pl.col("last_event") <= cutoff).alias("churned"))
    hi = pl.col("support") >= 3
    nps = fb.filter(pl.col("survey") == "nps").join(
        per.select("customer_id", "hit"), on="customer_id", how="left"
    )
    nps = nps.with_columns(pl.col("hit").fill_null(False))
    terms = THEME_TERMS.get(spec.driver_theme, [])
    com = nps.filter(pl.col("comment").is_not_null()).with_columns(
        pl.col("comment").str.contains(theme_pattern(terms)).alias("about")
    )
    det, pro = pl.col("score") <= 6, pl.col("score") >= 9
    c = per.select(
        pl.col("error").sum().alias("hit_n"),
        (pl.col("error") & pl.col("bought")).sum().alias("hit_bought"),
        (pl.col("checkout") & ~pl.col("error")).sum().alias("clean_n"),
        (pl.col("checkout") & ~pl.col("error") & pl.col("bought")).sum().alias("clean_bought"),
    ).row(0, named=True)
    c |= buyers.select(
        hi.sum().alias("hi_n"),
        (hi & pl.col("churned")).sum().alias("hi_churned"),
        (~hi).sum().alias("lo_n"),
        (~hi & pl.col("churned")).sum().alias("lo_churned"),
    ).row(0, named=True)
    c |= nps.select(
        pl.col("hit").sum().alias("nps_hit_n"),
        pl.col("score").filter("hit").sum().alias("nps_hit_sum"),
        (~pl.col("hit")).sum().alias("nps_miss_n"),
        pl.col("score").filter(~pl.col("hit")).sum().alias("nps_miss_sum"),
    ).row(0, named=True)
    c |= com.select(
        det.sum().alias("det_n"),
        (det & pl.col("about")).sum().alias("det_about"),
        pro.sum().alias("pro_n"),
        (pro & pl.col("about")).sum().alias("pro_about"),
    ).row(0, named=True)
    c["first"] = ev["timestamp"].min()
    c["last"] = ev["timestamp"].max()
    c["customers"] = cu.height
    return {k: (v if v is not None else 0) for k, v in c.items()}


def _combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(parts[0])
    for p in parts[1:]:
        for k, v in p.items():
            out[k] = (
                min(out[k], v) if k == "first" else max(out[k], v) if k == "last" else out[k] + v
            )
    return out


def _rate(k: int, n: int) -> float | None:
    return k / n if n else None


def _truth(
    spec: Spec,
    c: dict[str, Any],
    seed: int,
    dirty: dict[str, dict[str, int]],
    files: dict[str, str],
) -> dict[str, Any]:
    iso = "%Y-%m-%dT%H:%M:%SZ"
    churn_def = (
        f"churned = no event in the {spec.inactivity_days} days up to as_of; buyers first seen "
        f"fewer than {spec.inactivity_days} days before as_of are censored (left out)"
        if spec.churn_method == "inactivity"
        else "churned = customers.churned (every buyer)"
    )
    return {
        "client": spec.slug,
        "name": spec.name,
        "seed": seed,
        "customers": c["customers"],
        "period": {
            "first": c["first"].strftime(iso),
            "last": c["last"].strftime(iso),
            "as_of": END.strftime(iso),
        },
        "files": files,
        "checkout_friction": {
            "touchpoint": "checkout_error",
            "stage": "purchase",
            "customers_hit": c["hit_n"],
            "purchase_rate_hit": _rate(c["hit_bought"], c["hit_n"]),
            "customers_not_hit": c["clean_n"],
            "purchase_rate_not_hit": _rate(c["clean_bought"], c["clean_n"]),
        },
        "support_churn": {
            "feature": "support_contacts",
            "threshold": 3,
            "touchpoints": list(SUPPORT_TOUCHPOINTS),
            "customers_at_or_above": c["hi_n"],
            "churn_rate_at_or_above": _rate(c["hi_churned"], c["hi_n"]),
            "customers_below": c["lo_n"],
            "churn_rate_below": _rate(c["lo_churned"], c["lo_n"]),
        },
        "nps_driver": {
            "touchpoint": spec.driver,
            "mean_nps_hit": _rate(c["nps_hit_sum"], c["nps_hit_n"]),
            "mean_nps_not_hit": _rate(c["nps_miss_sum"], c["nps_miss_n"]),
            "respondents_hit": c["nps_hit_n"],
            "respondents_not_hit": c["nps_miss_n"],
        },
        "detractor_theme": {
            "theme": spec.driver_theme,
            "terms": THEME_TERMS[spec.driver_theme],
            "pattern": theme_pattern(THEME_TERMS[spec.driver_theme]),
            "detractor_comments": c["det_n"],
            "share_detractor_comments": _rate(c["det_about"], c["det_n"]),
            "promoter_comments": c["pro_n"],
            "share_promoter_comments": _rate(c["pro_about"], c["pro_n"]),
        },
        "dirty_rows": dirty,
        "dirty_rows_kept": list(KEPT_REASONS),
        "definitions": {
            "checkout_friction": "customers with >= 1 checkout_error (hit) vs customers with >= 1 checkout "
            "and no checkout_error (not hit); purchase rate = share with any purchase touchpoint",
            "support_churn": "buyers (any purchase touchpoint); support contacts = support_call, support_email "
            "and chat events after the first purchase; " + churn_def,
            "nps_driver": "NPS answers of customers with / without any event of the touchpoint",
            "detractor_theme": "NPS comments (non-empty) matching the pattern, among detractors (0-6) and "
            "promoters (9-10)",
            "dirty_rows": "rows planted per table and reason code; those in dirty_rows_kept are loaded with "
            "a warning, all others are set aside",
        },
    }


# ----------------------------------------------------------------------------- generation
@dataclass
class SampleClient:
    """One generated sample client, in memory.

    Attributes
    ----------
    name : str
        Folder name (``bookshop``, ``telecom``, ``bank``).
    events, feedback, customers : pl.DataFrame
        The canonical frames the loader should return: clean rows plus the dirty rows it keeps
        (unknown touchpoint, unknown customer), with ``source_row`` (1-based file row). Extra
        customer attributes keep their source column names.
    truth : dict
        The content of ``truth.json``.
    raw : dict of str to pl.DataFrame
        Each table exactly as written to its file (source column names, dirty rows included).
    config_toml : str
        The ``client.toml`` text.
    file_format : str
        ``"native"`` or ``"parquet"``.
    """

    name: str
    events: pl.DataFrame
    feedback: pl.DataFrame
    customers: pl.DataFrame
    truth: dict[str, Any]
    raw: dict[str, pl.DataFrame] = field(repr=False)
    config_toml: str = field(repr=False)
    file_format: str = "native"

    def __repr__(self) -> str:
        return (
            f"SampleClient({self.name!r}, customers={self.customers.height}, "
            f"events={self.events.height}, feedback={self.feedback.height})"
        )


def _chunk_size(browsing: float) -> int:
    """Customers per chunk: :data:`CHUNK_CUSTOMERS`, fewer for long (browsing) logs."""
    if browsing <= 0:
        return CHUNK_CUSTOMERS
    return max(1_000, int(CHUNK_CUSTOMERS * 10 / (10 + browsing)))


def _chunks(
    spec: Spec, seed: int, customers: int, file_format: str, browsing: float = 0.0
) -> Iterator[dict[str, Any]]:
    """Simulate, dirty and shape one chunk at a time (dirty rows go into the first chunk)."""
    rng = np.random.default_rng(seed + spec.index)
    fmt = _fmt(spec, file_format)
    offsets = {"events": 0, "feedback": 0, "customers": 0}
    size = _chunk_size(browsing)
    for k, first in enumerate(range(0, customers, size)):
        n = min(size, customers - first)
        frames = simulate_chunk(spec, rng, first, n, browsing)
        if k == 0:
            frames = _kept_dirty(spec, rng, frames, customers)
        counts = _truth_counts(spec, frames["events"], frames["feedback"], frames["customers"])
        raw = {t: _to_raw(spec, t, f, fmt) for t, f in frames.items()}
        dirty_rows, dirty_counts = _set_aside_dirty(spec, rng, raw, fmt) if k == 0 else ({}, None)
        canonical, files = {}, {}
        for t in ("events", "feedback", "customers"):
            merged, pos = _merge(raw[t], dirty_rows.get(t))
            files[t] = merged
            canonical[t] = frames[t].with_columns(
                pl.Series("source_row", pos + 1 + offsets[t], dtype=pl.UInt32)
            )
            offsets[t] += merged.height
        yield {"canonical": canonical, "raw": files, "counts": counts, "dirty": dirty_counts}


def _check_browsing(browsing: float) -> float:
    if (
        isinstance(browsing, bool)
        or not isinstance(browsing, int | float)
        or not 0 <= browsing <= 10_000
    ):
        raise ParameterError(
            f"The 'browsing' parameter must be a number of extra events per customer in [0, 10000]. "
            f"Got {browsing!r} instead."
        )
    return float(browsing)


def _size(spec: Spec, customers: int | None) -> int:
    n = spec.default_customers if customers is None else customers
    if isinstance(n, bool) or not isinstance(n, int) or n < 200:
        raise ParameterError(
            f"The 'customers' parameter must be an int >= 200. Got {customers!r} instead."
        )
    return n


def _order_canonical(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    if table == "feedback" and "question" not in frame.columns:  # the implied questions
        frame = frame.with_columns(pl.col("survey").alias("question"))
    first = ["customer_id", "timestamp"] if table != "customers" else ["customer_id"]
    rest = [c for c in frame.columns if c not in first and c != "source_row"]
    if table == "customers":
        canon = ["segment", "region", "signup_date", "churned", "churn_date"]
        rest = (
            [c for c in canon if c in rest] + ["source_row"] + [c for c in rest if c not in canon]
        )
        return frame.select(first + rest)
    return frame.select(first + rest + ["source_row"])


def generate_client(
    name: str,
    *,
    seed: int = 7,
    customers: int | None = None,
    file_format: str = "native",
    browsing: float = 0.0,
) -> SampleClient:
    """Generate one sample client in memory (no files).

    Parameters
    ----------
    name : {"bookshop", "telecom", "bank"}
        The sample client.
    seed : int
        Random seed; the same seed always gives the same data.
    customers : int, optional
        Number of customers (default: the client's own size, 2,500-4,000).
    file_format : {"native", "parquet"}
        The file shape the ``raw`` frames follow.
    browsing : float
        Extra browsing events per customer on average (consideration touchpoints over each
        customer's active window), for long benchmark logs; 0 (default) adds none.

    Returns
    -------
    SampleClient

    Examples
    --------
    >>> client = generate_client("bookshop", seed=1, customers=500)
    >>> client.customers.height, client.truth["nps_driver"]["touchpoint"]
    (500, 'delivery_late')
    >>> client.truth["checkout_friction"]["purchase_rate_hit"] < client.truth["checkout_friction"]["purchase_rate_not_hit"]
    True
    """
    spec = _spec(name)
    _check_format(file_format)
    n = _size(spec, customers)
    parts = list(_chunks(spec, seed, n, file_format, _check_browsing(browsing)))
    canonical = {
        t: _order_canonical(t, pl.concat([p["canonical"][t] for p in parts]))
        for t in ("events", "feedback", "customers")
    }
    raw = {t: pl.concat([p["raw"][t] for p in parts]) for t in ("events", "feedback", "customers")}
    truth = _truth(
        spec,
        _combine([p["counts"] for p in parts]),
        seed,
        parts[0]["dirty"],
        _file_names(spec, file_format),
    )
    return SampleClient(
        name,
        canonical["events"],
        canonical["feedback"],
        canonical["customers"],
        truth,
        raw,
        client_toml(name, file_format),
        file_format,
    )


class _Sink:
    """Writes the chunks of one table to one file, deterministically."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self.parts: list[Path] = []
        self._raw = self._gz = None
        if fmt in ("csv", "ndjson"):
            self._raw = open(path, "wb")  # noqa: SIM115 - closed in close()
            self._gz = gzip.GzipFile(
                filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=6
            )

    def write(self, frame: pl.DataFrame) -> None:
        if self.fmt == "csv":
            self._gz.write(frame.write_csv(include_header=not self.parts).encode("utf-8"))
            self.parts.append(self.path)
        elif self.fmt == "ndjson":
            self._gz.write(frame.write_ndjson().encode("utf-8"))
            self.parts.append(self.path)
        else:
            part = self.path.with_name(f".{self.path.stem}.part{len(self.parts):05d}.parquet")
            frame.write_parquet(part, compression="zstd", statistics=True)
            self.parts.append(part)

    def close(self) -> None:
        if self._gz is not None:
            self._gz.close()
            self._raw.close()
            return
        if len(self.parts) == 1:
            self.parts[0].replace(self.path)
        else:
            pl.scan_parquet(self.parts).sink_parquet(self.path, compression="zstd", statistics=True)
            for part in self.parts:
                part.unlink()


def write_sample_clients(
    out: Path,
    *,
    seed: int = 7,
    customers: int | None = None,
    clients: list[str] | None = None,
    file_format: str = "native",
    browsing: float = 0.0,
) -> list[Path]:
    """Write sample clients, one folder each, under ``out``; return the folders.

    Each folder holds ``client.toml``, the three data files and ``truth.json``. Existing
    folders of the same name are replaced. Large clients are simulated and written in chunks
    of :data:`CHUNK_CUSTOMERS` customers, so memory stays bounded.

    Parameters
    ----------
    out : Path
        Folder to write into (created when missing).
    seed : int
        Random seed; the same seed gives byte-identical files.
    customers : int, optional
        Customers per client (default: each client's own size).
    clients : list of str, optional
        Which clients (default: all of :data:`SAMPLE_CLIENTS`).
    file_format : {"native", "parquet"}
        ``"native"``: each client's own file shape; ``"parquet"``: Parquet for every table.
    browsing : float
        Extra browsing events per customer on average (see :func:`generate_client`);
        ``customers=100_000, browsing=90`` makes ~10M events per client.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folders = write_sample_clients(pathlib.Path(tempfile.mkdtemp()), customers=300, clients=["bank"])
    >>> sorted(p.name for p in folders[0].iterdir())
    ['client.toml', 'customers.ndjson.gz', 'events.ndjson.gz', 'feedback.ndjson.gz', 'truth.json']
    """
    _check_format(file_format)
    browsing = _check_browsing(browsing)
    names = list(SAMPLE_CLIENTS) if clients is None else [c.strip() for c in clients if c.strip()]
    specs = [_spec(c) for c in names]
    out = Path(out)
    folders = []
    for spec in specs:
        n = _size(spec, customers)
        folder = out / spec.slug
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        files = _file_names(spec, file_format)
        fmt = _fmt(spec, file_format)
        sinks = {t: _Sink(folder / f, fmt) for t, f in files.items()}
        counts, dirty = [], None
        try:
            for part in _chunks(spec, seed, n, file_format, browsing):
                for t, sink in sinks.items():
                    sink.write(part["raw"][t])
                counts.append(part["counts"])
                dirty = part["dirty"] if dirty is None else dirty
        finally:
            for sink in sinks.values():
                sink.close()
        truth = _truth(spec, _combine(counts), seed, dirty, files)
        (folder / "client.toml").write_text(client_toml(spec.slug, file_format), encoding="utf-8")
        (folder / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
        folders.append(folder)
    return folders
