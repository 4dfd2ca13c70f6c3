"""Small statistics shared by every analysis: Wilson intervals, NPS variance, small-n flags.

All functions come in two forms where it helps: a polars expression builder (for columns of
counts) and a plain-float function (for one number). See ``../shared/DOMAIN.md`` for the
definitions.
"""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist

import polars as pl

from cxlab.errors import ParameterError

__all__ = [
    "Z95",
    "SMALL_N",
    "WEAK_MODEL_R2",
    "z_of_level",
    "resolve_level",
    "wilson_interval",
    "wilson_bounds",
    "nps_interval",
    "small_n",
    "exact_sum",
]

#: Two-sided 95% normal quantile.
Z95: float = 1.959963984540054
#: Samples below this size are flagged (never hidden).
SMALL_N: int = 30
#: Below this share of the NPS variation explained (R²), key drivers are reported as hints,
#: not findings (:meth:`cxlab.analysis.drivers.KeyDrivers.reading`, the report's summary).
WEAK_MODEL_R2: float = 0.20


def z_of_level(level: float, where: str) -> float:
    """The two-sided normal quantile of interval level ``level`` (exactly :data:`Z95` at 0.95).

    Examples
    --------
    >>> z_of_level(0.95, "wilson_interval") == Z95, round(z_of_level(0.9, "x"), 4)
    (True, 1.6449)
    >>> z_of_level(95, "wilson_interval")
    Traceback (most recent call last):
    ...
    cxlab.errors.ParameterError: The 'level' parameter of wilson_interval must be a probability strictly between 0 and 1, such as 0.95. Got 95 instead.
    """
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ParameterError(
            f"The 'level' parameter of {where} must be a probability strictly between 0 and 1, "
            f"such as 0.95. Got {level!r} instead."
        )
    # 0.95 maps to the constant every analysis uses, so the numbers stay bit-identical
    return Z95 if level == 0.95 else NormalDist().inv_cdf(0.5 + level / 2)


def _z(z: float | None, level: float, where: str) -> float:
    """The quantile for ``level``, or the deprecated ``z`` with a warning saying what to write."""
    if z is None:
        return z_of_level(level, where)
    equivalent = round(2 * NormalDist().cdf(z) - 1, 4)
    warnings.warn(
        f"The 'z' parameter of {where} is replaced by the interval level 'level'; z stops "
        f"working in the next release. Write level={equivalent!r} (z={z!r} is that level).",
        DeprecationWarning,
        stacklevel=3,
    )
    return z


def resolve_level(level: float, z: float | None, where: str) -> float:
    """The interval level to use: ``level``, or the one a deprecated ``z`` stands for.

    For functions that still accept the normal quantile ``z`` for one release: with ``z``
    given, a :class:`DeprecationWarning` says what to write instead, and the level ``z`` stands
    for (``2 Φ(z) − 1``) is returned.

    Examples
    --------
    >>> resolve_level(0.9, None, "newcombe_bounds")
    0.9
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     round(resolve_level(0.95, 1.6448536269514722, "newcombe_bounds"), 4)
    0.9
    """
    if z is None:
        return level
    equivalent = 2 * NormalDist().cdf(z) - 1
    warnings.warn(
        f"The 'z' parameter of {where} is replaced by the interval level 'level'; z stops "
        f"working in the next release. Write level={round(equivalent, 4)!r} (z={z!r} is that "
        f"level).",
        DeprecationWarning,
        stacklevel=3,
    )
    return equivalent


def wilson_interval(
    successes: int, n: int, z: float | None = None, *, level: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (Wilson 1927, as in statsmodels'
    ``proportion_confint(method="wilson")``).

    Parameters
    ----------
    successes, n : int
        Count of successes and of trials.
    z : float, optional
        Deprecated: the normal quantile. Write ``level`` instead (``z=1.96`` is
        ``level=0.95``); still accepted for one release with a DeprecationWarning.
    level : float, default 0.95
        Interval level.

    Returns
    -------
    (float, float)
        ``(low, high)``, clipped to [0, 1]; ``(nan, nan)`` when ``n == 0``.

    Examples
    --------
    >>> lo, hi = wilson_interval(8, 10)
    >>> round(lo, 4), round(hi, 4)
    (0.4902, 0.9433)
    >>> tuple(round(x, 4) for x in wilson_interval(8, 10, level=0.9))
    (0.5408, 0.9314)
    """
    z = _z(z, level, "wilson_interval")
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def wilson_bounds(
    successes: str | pl.Expr,
    n: str | pl.Expr,
    level: float = 0.95,
    prefix: str = "",
    *,
    z: float | None = None,
) -> list[pl.Expr]:
    """Polars expressions for the Wilson interval of ``successes / n`` per row.

    Returns two expressions named ``{prefix}ci_low`` and ``{prefix}ci_high``; rows with
    ``n == 0`` get nulls. ``level`` is the interval level (default 0.95); ``z``, the normal
    quantile, is deprecated (a DeprecationWarning says which ``level`` to write).

    Examples
    --------
    >>> df = pl.DataFrame({"k": [8, 0], "n": [10, 0]})
    >>> df.with_columns(wilson_bounds("k", "n")).select(pl.col("ci_low").round(4)).to_series().to_list()
    [0.4902, None]
    """
    z = _z(z, level, "wilson_bounds")
    k = pl.col(successes) if isinstance(successes, str) else successes
    m = pl.col(n) if isinstance(n, str) else n
    m_f = m.cast(pl.Float64)
    p = k.cast(pl.Float64) / m_f
    denom = 1 + z * z / m_f
    centre = (p + z * z / (2 * m_f)) / denom
    half = z * (p * (1 - p) / m_f + z * z / (4 * m_f * m_f)).sqrt() / denom
    valid = m > 0
    return [
        pl.when(valid).then((centre - half).clip(0.0, 1.0)).alias(f"{prefix}ci_low"),
        pl.when(valid).then((centre + half).clip(0.0, 1.0)).alias(f"{prefix}ci_high"),
    ]


def nps_interval(
    promoters: int,
    detractors: int,
    n: int,
    z: float | None = None,
    *,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """NPS (−100..100) and its normal-approximation interval (95% by default).

    Uses var(NPS/100) = (p + d − (p − d)²) / n with p, d the promoter and detractor shares
    (the multinomial variance of a difference of shares, as in Rocks 2016, "Confidence
    intervals for the Net Promoter Score").

    Parameters
    ----------
    promoters, detractors, n : int
        Counts of promoters (9–10), detractors (0–6) and all answers.
    z : float, optional
        Deprecated: the normal quantile. Write ``level`` instead; still accepted for one
        release with a DeprecationWarning.
    level : float, default 0.95
        Interval level.

    Examples
    --------
    >>> nps, lo, hi = nps_interval(promoters=50, detractors=20, n=100)
    >>> nps, round(lo, 2), round(hi, 2)
    (30.0, 14.69, 45.31)
    """
    z = _z(z, level, "nps_interval")
    if n == 0:
        return (math.nan, math.nan, math.nan)
    p, d = promoters / n, detractors / n
    score = p - d
    se = math.sqrt(max(p + d - score * score, 0.0) / n)
    return (100 * score, max(-100.0, 100 * (score - z * se)), min(100.0, 100 * (score + z * se)))


def small_n(n: str | pl.Expr, threshold: int = SMALL_N) -> pl.Expr:
    """Expression flagging rows whose sample size is below ``threshold`` (named ``small_n``)."""
    m = pl.col(n) if isinstance(n, str) else n
    return (m < threshold).alias("small_n")


def exact_sum(expr: str | pl.Expr, decimals: int = 6) -> pl.Expr:
    """Order-independent sum of a float column: summed as integers in units of ``10**-decimals``.

    A plain float sum depends on the order in which polars adds the values, which depends on
    how a parallel group-by splits the rows: the last bits can differ run to run. Each value is
    rounded to a whole number of units and the units are summed as 128-bit integers, which is
    exact, so the same input always gives byte-identical totals (to ``decimals`` places:
    micro-units of a currency by default).

    No finite value overflows. While the largest ``|value|`` times the number of values stays
    below ``2**126 / 10**decimals`` (about 8e31 at 6 decimals: a trillion orders of a billion
    billion rupiah), the total is exact to ``decimals`` places. Beyond that, the unit grows to
    the power of two that keeps the integer sum below ``2**120``: still exact for the rounded
    values and order-independent, with a relative rounding error below ``1e-30`` of the total.
    (A total beyond the largest float, about 1.8e308, is ``inf``.)

    Examples
    --------
    >>> df = pl.DataFrame({"g": [1, 1, 1], "x": [0.1, 0.2, 0.3]})
    >>> df.group_by("g").agg(exact_sum("x").alias("total"))["total"].to_list()
    [0.6]
    >>> pl.DataFrame({"x": [9.3e12, 1e15, 0.000001]}).select(exact_sum("x")).item() == 1_009_300_000_000_000.000001
    True
    >>> pl.DataFrame({"x": [1e300, 1e300]}).select(exact_sum("x")).item() == 2e300
    True
    """
    e = pl.col(expr) if isinstance(expr, str) else expr
    scale = 10**decimals
    # fine units (10**-decimals): exact while the sum of |units| stays below 2**126
    fine = (e * scale).round(0).cast(pl.Int128, strict=False).sum() / scale
    # coarse units (a power of two, from the largest value and the count: both order-free)
    magnitude = e.abs().max().log(2) + e.count().cast(pl.Float64).log(2)
    step = pl.lit(2.0).pow((magnitude.ceil() - 120).clip(lower_bound=-1074))
    coarse = (e / step).round(0).cast(pl.Int128, strict=False).sum().cast(pl.Float64) * step
    fits = (e.abs().max().fill_null(0.0) * e.count()) < (2.0**126 / scale)
    return pl.when(fits).then(fine).otherwise(coarse)
