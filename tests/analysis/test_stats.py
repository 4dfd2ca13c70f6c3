"""Hand-checkable numbers for the shared statistics."""

import math

import numpy as np
import polars as pl
import pytest

from cxlab.analysis.stats import (
    Z95,
    exact_sum,
    nps_interval,
    wilson_bounds,
    wilson_interval,
    z_of_level,
)
from cxlab.errors import ParameterError


def test_wilson_matches_hand_computation():
    # p = 0.8, n = 10, z = 1.96: centre = (0.8 + 0.19207) / 1.38415 = 0.71674,
    # half = 1.96 * sqrt(0.016 + 0.0096) / 1.38415 = 0.22656
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)


def test_wilson_edges_stay_in_unit_interval():
    assert wilson_interval(0, 5)[0] == 0.0
    assert wilson_interval(5, 5)[1] == 1.0
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_wilson_expression_agrees_with_scalar():
    df = pl.DataFrame({"k": [0, 3, 8, 50], "n": [4, 7, 10, 60]})
    out = df.with_columns(wilson_bounds("k", "n"))
    for k, n, lo, hi in out.iter_rows():
        assert (lo, hi) == pytest.approx(wilson_interval(k, n))


def test_nps_interval_closed_form():
    # p = .5, d = .2 -> NPS 30; var = (.7 - .09) / 100 = .0061, se = .0781
    nps, lo, hi = nps_interval(50, 20, 100)
    assert nps == 30.0
    assert lo == pytest.approx(30 - 100 * 1.959964 * math.sqrt(0.0061), abs=1e-4)
    assert hi == pytest.approx(30 + 100 * 1.959964 * math.sqrt(0.0061), abs=1e-4)


def test_level_095_gives_the_same_numbers_as_before():
    # level=0.95 maps to exactly Z95, the quantile the intervals used before level existed
    assert z_of_level(0.95, "t") == Z95
    assert wilson_interval(8, 10, level=0.95) == wilson_interval(8, 10)
    assert nps_interval(50, 20, 100, level=0.95) == nps_interval(50, 20, 100)


def test_level_sets_the_quantile():
    # level 0.90: z = 1.644854; NPS 30 +- 100 * 1.644854 * sqrt(0.0061) = 30 +- 12.847
    nps, lo, hi = nps_interval(50, 20, 100, level=0.9)
    assert (lo, hi) == pytest.approx((30 - 12.8467, 30 + 12.8467), abs=1e-3)
    lo9, hi9 = wilson_interval(8, 10, level=0.9)
    lo95, hi95 = wilson_interval(8, 10)
    assert lo95 < lo9 < hi9 < hi95  # a lower level gives a narrower interval
    with pytest.raises(ParameterError, match="strictly between 0 and 1"):
        wilson_interval(8, 10, level=95)


def test_old_z_still_works_and_warns():
    with pytest.warns(DeprecationWarning, match=r"Write level=0\.95"):
        old = wilson_interval(8, 10, z=Z95)
    assert old == wilson_interval(8, 10)
    with pytest.warns(DeprecationWarning, match=r"'z' parameter of nps_interval.*level=0\.95"):
        old_nps = nps_interval(50, 20, 100, Z95)
    assert old_nps == nps_interval(50, 20, 100)


def test_wilson_bounds_and_newcombe_take_level_and_warn_on_z():
    # k = 8 of n = 10: the expression at level 0.9 is the scalar interval at level 0.9
    # (z = 1.644854, z² = 2.70554, denom = 1 + z²/10 = 1.270554; centre = (0.8 + z²/20) /
    # denom = 0.736114; half = z·sqrt(0.016 + z²/400) / denom = 0.195325, so 0.5408 to
    # 0.9314); Newcombe's difference of 8/10 and 8/10 is 0, and its bounds are
    # ±sqrt((p - l)² + (u - p)²) = ±sqrt(0.2592² + 0.1314²) = ±0.2906.
    df = pl.DataFrame({"k": [8], "n": [10]})
    lo, hi = df.select(wilson_bounds("k", "n", level=0.9)).row(0)
    assert (lo, hi) == pytest.approx(wilson_interval(8, 10, level=0.9))
    assert (lo, hi) == pytest.approx((0.5408, 0.9314), abs=1e-4)
    assert df.select(wilson_bounds("k", "n", 0.95)).row(0) == df.select(
        wilson_bounds("k", "n")
    ).row(0)
    with pytest.warns(DeprecationWarning, match=r"'z' parameter of wilson_bounds.*level=0\.95"):
        old = df.select(wilson_bounds("k", "n", z=Z95)).row(0)
    assert old == df.select(wilson_bounds("k", "n")).row(0)

    from cxlab.analysis.heatmap import newcombe_bounds

    d_lo, d_hi = df.select(newcombe_bounds("k", "n", "k", "n", level=0.9)).row(0)
    assert (d_lo, d_hi) == pytest.approx((-0.2906, 0.2906), abs=1e-4)
    with pytest.warns(DeprecationWarning, match=r"'z' parameter of newcombe_bounds.*level=0\.9\b"):
        old = df.select(newcombe_bounds("k", "n", "k", "n", z=1.6448536269514722)).row(0)
    assert old == pytest.approx((d_lo, d_hi))


def test_score_intervals_take_level():
    # CSAT: 8 of 10 answers are 4 or 5, so the interval is Wilson's, in percent
    from cxlab.analysis.metrics import score_interval_exprs

    df = pl.DataFrame({"score": [5] * 8 + [2] * 2})
    out = df.select(score_interval_exprs("csat", level=0.9))
    lo, hi = wilson_interval(8, 10, level=0.9)
    assert (out["ci_low"].item(), out["ci_high"].item()) == pytest.approx((100 * lo, 100 * hi))
    with pytest.warns(DeprecationWarning, match="score_interval_exprs"):
        old = df.select(score_interval_exprs("csat", z=Z95))
    assert old["ci_low"].item() == pytest.approx(
        df.select(score_interval_exprs("csat"))["ci_low"].item()
    )


def _old_exact_sum(expr: str, decimals: int = 6) -> pl.Expr:
    # the Int64 version exact_sum replaced: overflowed (raised) past 9.2e12 at 6 decimals
    scale = 10**decimals
    return (pl.col(expr) * scale).round(0).cast(pl.Int64).sum() / scale


def test_exact_sum_no_longer_overflows_on_loader_accepted_revenue():
    # 9.3e12 per row (one IDR order of ~600 million USD), 1e15 per row, 1e30: all finite and
    # non-negative, so the loader keeps them; each total below is exact in decimal
    df = pl.DataFrame(
        {"g": [1, 1, 1, 2, 2, 3, 3], "x": [9.3e12, 9.3e12, 0.25, 1e15, 1e15, 1e30, 1e30]}
    )
    with pytest.raises(pl.exceptions.InvalidOperationError):
        df.group_by("g").agg(_old_exact_sum("x"))
    totals = dict(df.group_by("g").agg(exact_sum("x")).sort("g").iter_rows())
    assert totals == {1: 18_600_000_000_000.25, 2: 2e15, 3: 2e30}


def test_exact_sum_past_int128_fixed_point_is_still_order_independent():
    # 1e300 is far past 128-bit micro-units: the unit widens to a power of two
    vals = [1e300, 3.0, 1e300, 2.5e299, 7e-3]
    fwd = pl.DataFrame({"x": vals}).select(exact_sum("x")).item()
    rev = pl.DataFrame({"x": vals[::-1]}).select(exact_sum("x")).item()
    assert fwd == rev  # the same bits in any order
    assert math.isclose(fwd, 2.25e300, rel_tol=1e-15)  # the 3.0 and 7e-3 are below the unit


def test_exact_sum_is_byte_identical_to_the_int64_version_in_its_range():
    # today's data (|total| < 9.2e12) must give exactly the same bits as before
    rng = np.random.default_rng(3)
    df = pl.DataFrame({"g": rng.integers(0, 50, 20_000), "x": rng.lognormal(3, 2, 20_000).round(2)})
    for decimals in (6, 9):
        old = df.group_by("g").agg(_old_exact_sum("x", decimals).alias("s")).sort("g")
        new = df.group_by("g").agg(exact_sum("x", decimals).alias("s")).sort("g")
        assert old.equals(new)
    # nulls are skipped and an empty or all-null group sums to 0.0, as before
    nulls = pl.DataFrame(
        {"g": [1, 1, 2], "x": [None, 1.5, None]}, schema={"g": pl.Int64, "x": pl.Float64}
    )
    assert nulls.group_by("g").agg(exact_sum("x")).sort("g")["x"].to_list() == [1.5, 0.0]
