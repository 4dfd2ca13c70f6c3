"""Hypothesis strategies: small random event logs and feedback, for the oracle tests.

Logs have ties in timestamps, touchpoints the journey map does not know, null touchpoints
and channels, customers with one event, rows in any order, with or without ``source_row``
(unique when present, as a file's row numbers are).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import strategies as st

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
JOURNEY_MAP = {
    "ad_click": "awareness",
    "site_visit": "consideration",
    "chat": "consideration",
    "checkout": "purchase",
    "purchase": "purchase",
    "delivery": "retention",
    "support_call": "retention",
    "review": "advocacy",
}
TOUCHPOINTS = [*JOURNEY_MAP, "fax", None]
CUSTOMERS = ["a", "b", "c", "dd", "é", "z9"]


@st.composite
def event_logs(draw, max_events: int = 30, source_row: bool | None = None) -> pl.DataFrame:
    """A canonical events frame of 1..max_events rows (in random order)."""
    n = draw(st.integers(1, max_events))
    hours = st.integers(0, 12)  # few distinct times: many ties
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(CUSTOMERS),
                hours,
                st.sampled_from(TOUCHPOINTS),
                st.sampled_from(["web", "app", None]),
                st.integers(0, 3),
            ),
            min_size=n,
            max_size=n,
        )
    )
    file_rows = draw(st.permutations(range(1, n + 1)))
    df = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [T0 + dt.timedelta(hours=r[1]) for r in rows],
            "touchpoint": [r[2] for r in rows],
            "channel": [r[3] for r in rows],
            "session_id": [f"{r[0]}-{r[4]}" for r in rows],
            "source_row": pl.Series(file_rows, dtype=pl.UInt32),
        },
        schema={
            "customer_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "touchpoint": pl.String,
            "channel": pl.String,
            "session_id": pl.String,
            "source_row": pl.UInt32,
        },
    )
    keep_rows = draw(st.booleans()) if source_row is None else source_row
    return df if keep_rows else df.drop("source_row")


@st.composite
def feedback_logs(draw, max_answers: int = 12) -> pl.DataFrame:
    """Canonical feedback: answers at touchpoints (some null), the three surveys."""
    n = draw(st.integers(0, max_answers))
    surveys = {"nps": st.integers(0, 10), "csat": st.integers(1, 5), "ces": st.integers(1, 7)}
    rows = []
    for _ in range(n):
        survey = draw(st.sampled_from(sorted(surveys)))
        rows.append(
            (
                draw(st.sampled_from(CUSTOMERS)),
                draw(st.integers(-1, 13)),
                survey,
                draw(surveys[survey]),
                draw(st.sampled_from(TOUCHPOINTS)),
            )
        )
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [T0 + dt.timedelta(hours=r[1]) for r in rows],
            "survey": [r[2] for r in rows],
            "score": [r[3] for r in rows],
            "touchpoint": [r[4] for r in rows],
        },
        schema={
            "customer_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "survey": pl.String,
            "score": pl.Int64,
            "touchpoint": pl.String,
        },
    )


@st.composite
def customer_tables(draw) -> pl.DataFrame:
    """A canonical customers table: some of the log's customers and one never seen in events,
    signup dates (some null, some after the events), a text segment and a number."""
    ids = draw(st.lists(st.sampled_from([*CUSTOMERS, "zz"]), unique=True, max_size=7))
    n = len(ids)
    days = draw(st.lists(st.one_of(st.none(), st.integers(-30, 2)), min_size=n, max_size=n))
    segments = draw(
        st.lists(st.sampled_from(["retail", "smb", "corp", None]), min_size=n, max_size=n)
    )
    spend = draw(st.lists(st.one_of(st.none(), st.integers(0, 500)), min_size=n, max_size=n))
    return pl.DataFrame(
        {
            "customer_id": ids,
            "signup_date": [None if d is None else T0.date() + dt.timedelta(days=d) for d in days],
            "segment": segments,
            "credit_limit": spend,
        },
        schema={
            "customer_id": pl.String,
            "signup_date": pl.Date,
            "segment": pl.String,
            "credit_limit": pl.Int64,
        },
    )
