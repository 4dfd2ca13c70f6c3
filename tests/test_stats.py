"""Hand-checkable numbers for the shared statistics."""

import math

import polars as pl
import pytest

from cxlab.stats import nps_interval, wilson_bounds, wilson_interval


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
