"""Tests of cxlab.analysis.funnel: funnel modes, windows, censoring, exclusions, KM, drop-off."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.analysis.funnel import (
    drop_off_drivers,
    funnel,
    funnel_customers,
    kaplan_meier,
    stage_funnel,
    time_to_convert,
)
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
from cxlab.errors import DataError, ParameterError

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
STEPS = ["site_visit", "checkout", "purchase"]


def events(rows: list[tuple]) -> pl.DataFrame:
    """(customer, hour offset, touchpoint[, channel]) rows; source_row = list position."""
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [T0 + dt.timedelta(hours=r[1]) for r in rows],
            "touchpoint": [r[2] for r in rows],
            "channel": [r[3] if len(r) > 3 else "web" for r in rows],
            "source_row": pl.Series(range(1, len(rows) + 1), dtype=pl.UInt32),
        }
    )


# Hours. a: straight through. b: product_view in between, purchase only at 50h.
# c: never buys. d: checkout *before* site_visit. e: support_call in between.
# f: recent site_visit at 95h (window still open at the data end, 100h). g: never enters.
LOG = events(
    [
        ("a", 0, "site_visit", "web"),
        ("a", 1, "checkout"),
        ("a", 2, "purchase"),
        ("b", 0, "site_visit", "app"),
        ("b", 1, "product_view"),
        ("b", 2, "checkout"),
        ("b", 50, "purchase"),
        ("c", 0, "site_visit", "web"),
        ("c", 3, "checkout"),
        ("d", 0, "checkout"),
        ("d", 1, "site_visit", "web"),
        ("d", 2, "purchase"),
        ("e", 0, "site_visit", "app"),
        ("e", 1, "support_call"),
        ("e", 2, "checkout"),
        ("e", 3, "purchase"),
        ("f", 95, "site_visit", "web"),
        ("g", 100, "product_view"),
    ]
)


def col(f: pl.DataFrame, name: str) -> list:
    return f[name].to_list()


def test_ordered_no_window():
    f = funnel(LOG, STEPS)
    # step 1: a b c d e f = 6. step 2 (checkout after site_visit): a b c e = 4 (d's checkout
    # came before). step 3 (purchase after checkout): a b e = 3.
    assert col(f, "entered") == [6, 6, 4]
    assert col(f, "converted") == [6, 4, 3]
    assert col(f, "censored") == [0, 0, 0]  # no window -> nobody censored
    assert col(f, "conversion_rate") == pytest.approx([1, 4 / 6, 3 / 4])
    assert col(f, "overall_rate") == pytest.approx([1, 4 / 6, 3 / 6])
    # hours from previous step: step 2 a1 b2 c3 e2 -> median 2; step 3 a1 b48 e1 -> median 1,
    # p90 (linear) = 1 + 0.8 * (48 - 1) = 38.6
    assert col(f, "median_hours")[1:] == [2.0, 1.0]
    assert col(f, "p90_hours")[2] == pytest.approx(38.6)
    lo, hi = f.filter(pl.col("step") == 2).select("ci_low", "ci_high").row(0)
    assert (round(lo, 4), round(hi, 4)) == (0.3000, 0.9032)  # Wilson 4/6


def test_window_and_censoring():
    f = funnel(LOG, STEPS, window="24h")
    # step 2: f's window (95h + 24h = 119h) is still open at 100h -> open/censored and left out:
    # eligible 6 - 1 = 5, converted 4 -> 4/5.
    s2 = f.filter(pl.col("step") == 2).row(0, named=True)
    assert (s2["open_window"], s2["censored"], s2["eligible"], s2["converted_eligible"]) == (
        1,
        1,
        5,
        4,
    )
    assert s2["conversion_rate"] == pytest.approx(0.8)
    # step 3: b bought at 50h > 24h after entering -> not converted; a, e -> 2/4
    s3 = f.filter(pl.col("step") == 3).row(0, named=True)
    assert (s3["entered"], s3["converted"], s3["eligible"]) == (4, 2, 4)
    naive = funnel(LOG, STEPS, window="24h", completed_windows=False)
    assert naive.filter(pl.col("step") == 2)["conversion_rate"].item() == pytest.approx(4 / 6)


def test_step_windows():
    # purchase within 1h of checkout: a (1h) and e (1h) yes, b (48h) no
    f = funnel(LOG, STEPS, step_windows=[None, "1h"])
    assert col(f, "converted") == [6, 4, 2]
    g = funnel(LOG, STEPS, step_windows={"checkout": dt.timedelta(hours=2)})
    # checkout within 2h of site_visit: a 1h, b 2h, e 2h; c 3h no
    assert col(g, "converted") == [6, 3, 3]


def test_strict_and_any_orders():
    strict = funnel(LOG, STEPS, order="strict")
    # the very next event after the first site_visit must be checkout: a, c only
    # (b: product_view, d: purchase, e: support_call, f: nothing); then purchase next: a
    assert col(strict, "converted") == [6, 2, 1]
    anyo = funnel(LOG, STEPS, order="any")
    # any order: site_visit + checkout: a b c d e = 5; + purchase: a b d e = 4
    assert col(anyo, "converted") == [6, 5, 4]


def test_exclusions():
    f = funnel(LOG, STEPS, exclude=["support_call"])
    # e leaves the funnel entirely
    assert col(f, "converted") == [5, 3, 2] and col(f, "excluded") == [1, 1, 1]
    g = funnel(LOG, STEPS, exclude=[("product_view", 1, 2)])
    # b viewed a product between site_visit and checkout; g's product_view is outside a funnel
    assert col(g, "converted") == [5, 3, 2] and g["excluded"][0] == 1
    h = funnel(LOG, STEPS, exclude=[("product_view", 2, 3)])
    assert h["excluded"][0] == 0


def test_breakdown_by_channel_segment_and_cohort():
    f = funnel(LOG, STEPS, by="channel")
    # channel of the step-1 event: web a c d f, app b e
    assert f.filter(pl.col("channel") == "web")["converted"].to_list() == [4, 2, 1]
    assert f.filter(pl.col("channel") == "app")["converted"].to_list() == [2, 2, 2]
    customers = pl.DataFrame(
        {
            "customer_id": list("abcdef"),
            "segment": ["x", "x", "y", "y", "y", "y"],
            "signup_date": [dt.date(2023, 12, 5)] * 2 + [dt.date(2024, 1, 2)] * 4,
        }
    )
    s = funnel(LOG, STEPS, by="segment", customers=customers)
    assert s.filter(pl.col("segment") == "x")["converted"].to_list() == [2, 2, 2]
    c = funnel(LOG, STEPS, by="signup_cohort", customers=customers)
    assert sorted(c["signup_cohort"].unique().to_list()) == ["2023-12-01", "2024-01-01"]
    with pytest.raises(DataError, match="segment"):
        funnel(LOG, STEPS, by="segment")


def test_parameter_errors():
    with pytest.raises(ParameterError, match="order"):
        funnel(LOG, STEPS, order="sequential")
    with pytest.raises(ParameterError, match="Did you mean 'checkout'"):
        funnel(LOG, ["site_visit", "chekout"])
    with pytest.raises(ParameterError, match="window"):
        funnel(LOG, STEPS, window="soon")
    with pytest.raises(ParameterError, match="one entry per step"):
        funnel(LOG, STEPS, step_windows=["1h"])


def test_funnel_customers_and_stage_funnel():
    fc = funnel_customers(LOG, STEPS)
    assert dict(zip(fc["customer_id"], fc["steps_reached"], strict=True)) == {
        "a": 3,
        "b": 3,
        "c": 2,
        "d": 1,
        "e": 3,
        "f": 1,
    }
    sf = stage_funnel(LOG, ["consideration", "purchase"], journey_map=DEFAULT_JOURNEY_MAP)
    # consideration: a b c d e f g (7); purchase stage (checkout counts) after it: a b c d e
    assert col(sf, "converted") == [7, 5]


def test_lazy_input_gives_same_answer():
    assert funnel(LOG.lazy(), STEPS, window="24h").equals(funnel(LOG, STEPS, window="24h"))


def test_km_matches_lifelines():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(7)
    d = np.round(rng.exponential(10, 200), 0)
    e = rng.random(200) < 0.7
    km = kaplan_meier(pl.DataFrame({"hours": d, "converted": e}))
    kmf = KaplanMeierFitter().fit(d, e)
    ours = km.filter(pl.col("hours") > 0)
    ref_s = kmf.survival_function_.iloc[1:, 0].to_numpy()
    np.testing.assert_allclose(ours["survival"].to_numpy(), ref_s, rtol=1e-10)
    ci = kmf.confidence_interval_survival_function_.iloc[1:]
    np.testing.assert_allclose(ours["surv_low"].to_numpy(), ci.iloc[:, 0].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours["surv_high"].to_numpy(), ci.iloc[:, 1].to_numpy(), rtol=1e-6)


def test_km_interval_level_and_the_deprecated_z():
    # 4 subjects, events at 1h and 2h, censored at 2h and 3h: S(1) = 3/4, S(2) = 3/4 * 2/3
    # = 1/2. At S = 1/2 the log(-log) interval's half width is z * sqrt(gw) / |log S| with
    # gw = 1/(4*3) + 1/(3*2) = 1/4: z = 1.6449 (level 0.90) gives a narrower interval than
    # z = 1.96 (0.95); z=1.959963984540054 warns and gives the 0.95 interval.
    d = pl.DataFrame({"hours": [1.0, 2.0, 2.0, 3.0], "converted": [True, True, False, False]})
    at2 = pl.col("hours") == 2.0
    k95 = kaplan_meier(d).filter(at2)
    k90 = kaplan_meier(d, level=0.9).filter(at2)
    assert k95["survival"].item() == k90["survival"].item() == 0.5
    assert k95["surv_low"].item() < k90["surv_low"].item() < 0.5 < k90["surv_high"].item()
    assert k90["surv_high"].item() < k95["surv_high"].item()
    # by hand: a = log(-log 0.5) = log(log 2); half = 1.959964 * 0.5 / log 2
    a, half = math.log(math.log(2)), 1.959964 * 0.5 / math.log(2)
    assert k95["surv_low"].item() == pytest.approx(math.exp(-math.exp(a + half)), rel=1e-5)
    with pytest.warns(DeprecationWarning, match="level=0.95"):
        kz = kaplan_meier(d, z=1.959963984540054).filter(at2)
    assert kz["surv_low"].item() == pytest.approx(k95["surv_low"].item(), rel=1e-12)


def test_time_to_convert_censors_open_windows():
    c = time_to_convert(LOG, STEPS, window="24h").filter(pl.col("step") == 2)
    # subjects a b c d e f: converts at 1h (a), 2h (b, e), 3h (c); d censored at its window end
    # (1h + 24h -> 24h after entering), f censored at the data end (100h - 95h = 5h).
    # S: 5/6 at 1h, 5/6*3/5 = 0.5 at 2h, 0.5*2/3 at 3h -> converted 1/6, 1/2, 2/3
    got = dict(zip(c["hours"], c["converted_share"], strict=True))
    assert got[1.0] == pytest.approx(1 / 6) and got[2.0] == pytest.approx(0.5)
    assert got[3.0] == pytest.approx(2 / 3) and got[24.0] == pytest.approx(2 / 3)
    assert c.filter(pl.col("hours") == 5.0)["censored"].item() == 1
    assert c["n"][0] == 6


# Drop-off fixture (hours). Stopped at checkout: p3, p4, p6. Continued to purchase: p1, p2, p5.
DROP = events(
    [
        ("p1", 0, "checkout"),
        ("p1", 1, "chat"),
        ("p1", 2, "purchase"),
        ("p2", 0, "checkout"),
        ("p2", 1, "purchase"),
        ("p3", 0, "checkout"),
        ("p3", 1, "checkout_error"),
        ("p4", 0, "checkout"),
        ("p4", 1, "checkout_error"),
        ("p4", 2, "chat"),
        ("p5", 0, "checkout"),
        ("p5", 1, "checkout_error"),
        ("p5", 2, "purchase"),
        ("p6", 0, "checkout"),
        ("z", 10, "site_visit"),
    ]
)


def test_drop_off_drivers_by_hand():
    d = drop_off_drivers(DROP, ["checkout", "purchase"], step=1, last_n=2)
    r = {row["touchpoint"]: row for row in d.iter_rows(named=True)}
    # last 2 events after checkout: stopped p3 {error}, p4 {error, chat}, p6 {} -> error 2/3;
    # continued (before purchase) p1 {chat}, p2 {}, p5 {error} -> error 1/3.
    e = r["checkout_error"]
    assert (e["stopped_touched"], e["stopped"], e["continued_touched"], e["continued"]) == (
        2,
        3,
        1,
        3,
    )
    assert e["lift_raw"] == pytest.approx(2.0)
    assert e["lift"] == pytest.approx((2.5 / 4) / (1.5 / 4))  # +0.5 smoothing
    assert d["touchpoint"][0] == "checkout_error"
    assert r["(no event)"]["stopped_touched"] == 1 and r["chat"]["lift"] == pytest.approx(1.0)
    # last_n=1: p4's last event is chat, so error falls to 1/3 vs 1/3
    d1 = drop_off_drivers(DROP, ["checkout", "purchase"], step=1, last_n=1)
    assert d1.filter(pl.col("touchpoint") == "checkout_error")["stopped_touched"].item() == 1
    with pytest.raises(ParameterError, match="step"):
        drop_off_drivers(DROP, ["checkout", "purchase"], step=2)


TPS = ["site_visit", "product_view", "checkout", "purchase", "chat"]


@st.composite
def logs(draw):
    n = draw(st.integers(1, 25))
    return events(
        [
            (f"k{draw(st.integers(0, 5))}", draw(st.integers(0, 60)), draw(st.sampled_from(TPS)))
            for _ in range(n)
        ]
    )


@settings(max_examples=25, deadline=None)
@given(logs(), st.sampled_from(["ordered", "strict", "any"]), st.sampled_from([None, "2h", "20h"]))
def test_funnels_are_monotone(log, order, window):
    steps = ["site_visit", "product_view", "checkout", "purchase"]
    present = set(log["touchpoint"])
    steps = [s for s in steps if s in present] or [log["touchpoint"][0]]
    f = funnel(log, steps, order=order, window=window)
    conv = f["converted"].to_list()
    assert all(a >= b for a, b in zip(conv, conv[1:], strict=False))
    assert f["converted_eligible"].le(f["eligible"]).all()
    rates = f["conversion_rate"].drop_nulls()
    assert rates.is_between(0, 1).all()
    if order == "ordered":  # strict is never above ordered
        strict = funnel(log, steps, order="strict", window=window)["converted"]
        assert (strict <= f["converted"]).all()
