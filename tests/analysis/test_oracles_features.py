"""customer_features equals its specification (tests/oracles/features.py) on random logs.

Hypothesis draws small logs (ties, unknown and null touchpoints and channels, shuffled rows,
with or without source_row), answers and customer tables; the feature table must equal the
oracle's on the plain log, the prepared log (also reversed and lazy) and the log with stages
already assigned. ``monetary`` is compared to 1e-12 relative: the exact integer sum's last
division by 10**6 may round differently between polars kernels (see the closing note).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cxlab.analysis.features import customer_features
from cxlab.contract.prepare import prepare_events

sys.path.insert(0, str(Path(__file__).parents[1]))
from oracles import features as oracle  # noqa: E402
from oracles.strategies import JOURNEY_MAP, T0, customer_tables, event_logs, feedback_logs  # noqa: E402

AS_OF = st.sampled_from([None, T0 + dt.timedelta(hours=6), dt.date(2024, 1, 1)])
PURCHASES = st.sampled_from([("purchase",), ("purchase", "checkout"), ()])


def with_revenue(log: pl.DataFrame) -> pl.DataFrame:
    """Revenue on purchase events (cents that do not add up exactly in binary floats)."""
    hours = pl.col("timestamp").dt.hour().cast(pl.Float64)
    return log.with_columns(
        pl.when(pl.col("touchpoint") == "purchase").then(hours * 10.1 + 0.07).alias("revenue")
    )


def assert_same(got: pl.DataFrame, want: pl.DataFrame, name: str) -> None:
    try:
        assert_frame_equal(got.drop("monetary"), want.drop("monetary"), check_exact=True)
        assert_frame_equal(
            got.select("monetary"), want.select("monetary"), rel_tol=1e-12, abs_tol=0
        )
    except AssertionError as e:
        raise AssertionError(f"{name}: {e}") from None


@settings(max_examples=25, deadline=None)
@given(
    log=event_logs(),
    answers=st.one_of(st.none(), feedback_logs()),
    customers=st.one_of(st.none(), customer_tables()),
    as_of=AS_OF,
    purchases=PURCHASES,
    max_levels=st.sampled_from([1, 2, 10]),
    recent_days=st.sampled_from([1, 90]),
)
def test_customer_features_equal_the_oracle(
    log, answers, customers, as_of, purchases, max_levels, recent_days
):
    log = with_revenue(log)
    kw = dict(
        purchase_touchpoints=purchases, as_of=as_of, recent_days=recent_days, max_levels=max_levels
    )
    want = oracle.customer_features(log, answers, customers, journey_map=JOURNEY_MAP, **kw)
    prepared = prepare_events(log)
    for name, frame in {
        "plain": log,
        "prepared, reversed": prepared.reverse(),
        "prepared, lazy": prepared.lazy(),
    }.items():
        got = customer_features(frame, answers, customers, journey_map=JOURNEY_MAP, **kw)
        assert_same(got, want, name)
