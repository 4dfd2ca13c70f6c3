"""CX scores with intervals: NPS, CSAT and CES, overall, by breakdown, over time and compared.

Every score is reported as a tidy frame with ``n``, ``estimate``, ``ci_low``, ``ci_high``
(95%) and ``small_n`` (``n < 30``, flagged, never hidden).

Metrics (see ``DOMAIN.md``)
---------------------------
``"nps"``
    Net Promoter Score on the 0–10 survey: 100 × (share 9–10 − share 0–6), −100..100.
    Interval: closed form, var(NPS/100) = (p + d − (p − d)²) / n.
``"csat"``
    CSAT on the 1–5 survey: percent answering 4 or 5 (top-2-box), 0..100. Wilson interval.
``"ces"``
    CES on the 1–7 survey: the mean answer, 1..7. Normal interval mean ± 1.96·sd/√n.
``"ces_easy"``
    CES survey: percent answering 5–7 ("easy"), 0..100. Wilson interval.

Every metric is a function of the histogram of answers, which is how the bootstrap option
works: per group, the answer counts are resampled from a multinomial (vectorised numpy), the
score is recomputed from each resampled histogram, and the 2.5% / 97.5% percentiles are the
interval. Rolling windows pool the histograms of the last ``window`` periods.

Declared questions (:func:`question_scores`, ``[questions]`` in ``client.toml``): NPS, CSAT
and CES questions give the numbers above; a ``rating`` question its mean answer with a
Student-t interval, a ``binary`` (good/bad) question the % good with a Wilson interval.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from cxlab.analysis.stats import SMALL_N, resolve_level, small_n, wilson_bounds, z_of_level
from cxlab.contract.frames import FrameLike, as_lazy, require_columns
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP, STAGE_DTYPE, SURVEY_SCALES
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.params import renamed

__all__ = [
    "METRICS",
    "METRIC_SURVEY",
    "METRIC_LABELS",
    "nps_group_expr",
    "nps_expr",
    "csat_expr",
    "ces_expr",
    "ces_easy_expr",
    "score_interval_exprs",
    "add_breakdowns",
    "score_summary",
    "score_over_time",
    "compare_scores",
    "QUESTION_METRIC",
    "question_scores",
]

#: Metric name -> the survey whose answers it uses.
METRIC_SURVEY: dict[str, str] = {"nps": "nps", "csat": "csat", "ces": "ces", "ces_easy": "ces"}
METRICS: tuple[str, ...] = tuple(METRIC_SURVEY)
#: Human-readable names, for tables and charts.
METRIC_LABELS: dict[str, str] = {
    "nps": "NPS (−100..100)",
    "csat": "CSAT, % satisfied (4–5 of 5)",
    "ces": "CES, mean effort score (1–7)",
    "ces_easy": "CES, % easy (5–7 of 7)",
}
#: Estimate columns every frame returned here carries, after the grouping columns.
RESULT_COLUMNS: tuple[str, ...] = ("metric", "n", "estimate", "ci_low", "ci_high", "small_n")
_BOUNDS: dict[str, tuple[float, float]] = {
    "nps": (-100.0, 100.0),
    "csat": (0.0, 100.0),
    "ces": (1.0, 7.0),
    "ces_easy": (0.0, 100.0),
}
_DERIVED_BREAKDOWNS = ("stage", "segment", "channel")


# --------------------------------------------------------------------------------------------
# expression builders
# --------------------------------------------------------------------------------------------
def _col(score: str | pl.Expr) -> pl.Expr:
    return pl.col(score) if isinstance(score, str) else score


def nps_group_expr(score: str | pl.Expr = "score") -> pl.Expr:
    """Per-row NPS group of a 0–10 answer: ``"promoter"`` (9–10), ``"passive"`` (7–8), ``"detractor"`` (0–6).

    Examples
    --------
    >>> pl.DataFrame({"score": [10, 8, 3]}).select(nps_group_expr()).to_series().to_list()
    ['promoter', 'passive', 'detractor']
    """
    s = _col(score)
    return (
        pl.when(s >= 9)
        .then(pl.lit("promoter"))
        .when(s >= 7)
        .then(pl.lit("passive"))
        .when(s.is_not_null())
        .then(pl.lit("detractor"))
        .alias("nps_group")
    )


def nps_expr(score: str | pl.Expr = "score") -> pl.Expr:
    """Aggregate NPS (−100..100) of a column of 0–10 answers: 100 × (share 9–10 − share 0–6).

    Examples
    --------
    >>> pl.DataFrame({"score": [10, 9, 8, 3]}).select(nps_expr()).item()
    25.0
    """
    s = _col(score)
    return (100.0 * ((s >= 9).mean() - (s <= 6).mean())).alias("nps")


def csat_expr(score: str | pl.Expr = "score") -> pl.Expr:
    """Aggregate CSAT: percent of 1–5 answers that are 4 or 5 (top-2-box).

    Examples
    --------
    >>> pl.DataFrame({"score": [5, 4, 3, 1]}).select(csat_expr()).item()
    50.0
    """
    return (100.0 * (_col(score) >= 4).mean()).alias("csat")


def ces_expr(score: str | pl.Expr = "score") -> pl.Expr:
    """Aggregate CES: the mean of 1–7 answers.

    Examples
    --------
    >>> pl.DataFrame({"score": [7, 5, 3]}).select(ces_expr()).item()
    5.0
    """
    return _col(score).cast(pl.Float64).mean().alias("ces")


def ces_easy_expr(score: str | pl.Expr = "score") -> pl.Expr:
    """Aggregate CES "% easy": percent of 1–7 answers that are 5, 6 or 7.

    Examples
    --------
    >>> pl.DataFrame({"score": [7, 5, 3, 2]}).select(ces_easy_expr()).item()
    50.0
    """
    return (100.0 * (_col(score) >= 5).mean()).alias("ces_easy")


def _interval_from_stats(
    metric: str, n: pl.Expr, k: pl.Expr, d: pl.Expr, s1: pl.Expr, s2: pl.Expr, level: float
) -> list[pl.Expr]:
    """n, estimate, ci_low, ci_high (at interval level ``level``) from sufficient statistics.

    ``k``: promoters (nps) or successes (csat, ces_easy); ``d``: detractors (nps);
    ``s1``, ``s2``: sum and sum of squares of the answers (ces).
    """
    z = z_of_level(level, "score_interval_exprs")
    nf = n.cast(pl.Float64)
    lo_b, hi_b = _BOUNDS[metric]
    valid = n > 0
    if metric == "nps":
        p, q = k.cast(pl.Float64) / nf, d.cast(pl.Float64) / nf
        est = p - q
        se = ((p + q - est * est).clip(lower_bound=0.0) / nf).sqrt()
        return [
            n.alias("n"),
            pl.when(valid).then(100.0 * est).alias("estimate"),
            pl.when(valid).then((100.0 * (est - z * se)).clip(lo_b, hi_b)).alias("ci_low"),
            pl.when(valid).then((100.0 * (est + z * se)).clip(lo_b, hi_b)).alias("ci_high"),
        ]
    if metric in ("csat", "ces_easy"):
        lo, hi = wilson_bounds(k, n, level=level)
        return [
            n.alias("n"),
            pl.when(valid).then(100.0 * k.cast(pl.Float64) / nf).alias("estimate"),
            (100.0 * lo).alias("ci_low"),
            (100.0 * hi).alias("ci_high"),
        ]
    # ces mean: normal interval with the sample standard deviation (n - 1 denominator)
    mean = s1.cast(pl.Float64) / nf
    var = ((s2.cast(pl.Float64) - nf * mean * mean) / (nf - 1.0)).clip(lower_bound=0.0)
    se = (var / nf).sqrt()
    two = n > 1
    return [
        n.alias("n"),
        pl.when(valid).then(mean).alias("estimate"),
        pl.when(two).then((mean - z * se).clip(lo_b, hi_b)).alias("ci_low"),
        pl.when(two).then((mean + z * se).clip(lo_b, hi_b)).alias("ci_high"),
    ]


def _check_metric(metric: str, where: str = "metric") -> str:
    if metric not in METRIC_SURVEY:
        raise ParameterError(
            f"The '{where}' parameter must be one of {', '.join(map(repr, METRICS))}. "
            f"Got {metric!r} instead.{did_you_mean(str(metric), METRICS)}"
        )
    return metric


def score_interval_exprs(
    metric: str = "nps",
    score: str | pl.Expr = "score",
    level: float = 0.95,
    *,
    z: float | None = None,
) -> list[pl.Expr]:
    """Aggregation expressions ``n``, ``estimate``, ``ci_low``, ``ci_high`` of one metric.

    Use inside ``group_by(...).agg(...)`` on rows of the metric's survey. The interval is the
    closed form: NPS variance formula, Wilson for CSAT / CES-easy, normal for the CES mean.

    Examples
    --------
    >>> df = pl.DataFrame({"score": [10] * 5 + [8] * 3 + [2] * 2})
    >>> out = df.select(score_interval_exprs("nps"))
    >>> out["n"].item(), out["estimate"].item(), round(out["ci_low"].item(), 1)
    (10, 30.0, -18.4)
    """
    _check_metric(metric, "metric")
    s = _col(score)
    if metric == "nps":
        k, d = (s >= 9).sum(), (s <= 6).sum()
    elif metric == "csat":
        k, d = (s >= 4).sum(), pl.lit(0)
    elif metric == "ces_easy":
        k, d = (s >= 5).sum(), pl.lit(0)
    else:
        k, d = pl.lit(0), pl.lit(0)
    sf = s.cast(pl.Float64)
    n = s.count().cast(pl.Int64)
    level = resolve_level(level, z, "score_interval_exprs")
    return _interval_from_stats(metric, n, k, d, sf.sum(), (sf * sf).sum(), level)


# --------------------------------------------------------------------------------------------
# histogram machinery (closed form from counts, bootstrap, rolling pooling)
# --------------------------------------------------------------------------------------------
def _scale(metric: str) -> list[int]:
    lo, hi = SURVEY_SCALES[METRIC_SURVEY[metric]]
    return list(range(lo, hi + 1))


def _hist_cols(metric: str) -> list[str]:
    return [f"c{v}" for v in _scale(metric)]


def _hist_aggs(metric: str) -> list[pl.Expr]:
    return [(pl.col("score") == v).sum().cast(pl.Int64).alias(f"c{v}") for v in _scale(metric)]


def _stat_vectors(metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-answer weights for k (successes/promoters), d (detractors) and the answer value."""
    vals = np.array(_scale(metric), dtype=float)
    if metric == "nps":
        k, d = (vals >= 9).astype(float), (vals <= 6).astype(float)
    elif metric == "csat":
        k, d = (vals >= 4).astype(float), np.zeros_like(vals)
    elif metric == "ces_easy":
        k, d = (vals >= 5).astype(float), np.zeros_like(vals)
    else:
        k, d = np.zeros_like(vals), np.zeros_like(vals)
    return k, d, vals


def _closed_from_hist(metric: str, level: float = 0.95) -> list[pl.Expr]:
    kw, dw, vals = _stat_vectors(metric)
    cols = _hist_cols(metric)

    def dot(w: np.ndarray) -> pl.Expr:
        terms = [pl.col(c) * float(x) for c, x in zip(cols, w, strict=True) if x != 0]
        return pl.sum_horizontal(terms) if terms else pl.lit(0.0)

    n = pl.sum_horizontal([pl.col(c) for c in cols]).cast(pl.Int64)
    return _interval_from_stats(metric, n, dot(kw), dot(dw), dot(vals), dot(vals * vals), level)


def _estimate_np(metric: str, counts: np.ndarray) -> np.ndarray:
    """The metric of histograms ``counts`` (..., V) as a numpy array (nan where n == 0)."""
    kw, dw, vals = _stat_vectors(metric)
    n = counts.sum(axis=-1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "nps":
            return 100.0 * (counts @ kw - counts @ dw) / n
        if metric in ("csat", "ces_easy"):
            return 100.0 * (counts @ kw) / n
        return (counts @ vals) / n


def _bootstrap_hist(
    metric: str, counts: np.ndarray, n_boot: int, seed: int, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval per row of a (G, V) histogram matrix, vectorised."""
    rng = np.random.default_rng(seed)
    n = counts.sum(axis=1)
    lo = np.full(len(counts), np.nan)
    hi = np.full(len(counts), np.nan)
    ok = n > 0
    if ok.any():
        c = counts[ok].astype(float)
        p = c / c.sum(axis=1, keepdims=True)
        draws = rng.multinomial(n[ok], p, size=(n_boot, int(ok.sum())))  # (B, G, V)
        stats = _estimate_np(metric, draws)  # (B, G)
        alpha = (1.0 - level) / 2.0
        lo[ok] = np.quantile(stats, alpha, axis=0)
        hi[ok] = np.quantile(stats, 1.0 - alpha, axis=0)
    return lo, hi


def _finish(
    hist: pl.DataFrame, metric: str, keys: list[str], method: str, n_boot: int, seed: int
) -> pl.DataFrame:
    out = hist.with_columns(_closed_from_hist(metric))
    if method == "bootstrap":
        lo, hi = _bootstrap_hist(metric, hist.select(_hist_cols(metric)).to_numpy(), n_boot, seed)
        out = out.with_columns(
            pl.Series("ci_low", lo).fill_nan(None), pl.Series("ci_high", hi).fill_nan(None)
        )
    return out.with_columns(pl.lit(metric).alias("metric"), small_n("n")).select(
        *keys, *RESULT_COLUMNS
    )


# --------------------------------------------------------------------------------------------
# input checks and breakdown columns
# --------------------------------------------------------------------------------------------
def _as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def add_breakdowns(
    feedback: FrameLike,
    by: str | Sequence[str] | None,
    *,
    journey_map: dict[str, str] | None = None,
    customers: FrameLike | None = None,
    events: FrameLike | None = None,
) -> pl.LazyFrame:
    """Add the breakdown columns ``by`` needs to a feedback frame (lazily).

    ``"stage"``
        Stage of the touchpoint that triggered the survey, from ``journey_map`` (default
        :data:`cxlab.contract.schema.DEFAULT_JOURNEY_MAP`), joined as a small mapping frame; an
        ordered enum, null when the touchpoint is unknown or missing.
    ``"segment"``
        The customer's segment, joined from ``customers``.
    ``"channel"``
        Used as is when feedback already has it; otherwise the channel of the customer's
        latest event with the triggering touchpoint at or before the survey time (an as-of join
        on ``events``); for answers without a touchpoint (relationship NPS), the channel of the
        customer's latest event of any kind at or before the answer.

    Other names must be feedback columns (``touchpoint``, ``survey`` or an extra column).

    Examples
    --------
    >>> fb = pl.DataFrame({"customer_id": ["a"], "touchpoint": ["checkout"], "score": [9]})
    >>> add_breakdowns(fb, "stage").collect()["stage"].to_list()
    ['purchase']
    """
    lf = as_lazy(feedback, "feedback")
    have = lf.collect_schema().names()
    for b in _as_list(by):
        if b in have:
            continue
        if b == "stage":
            jm = DEFAULT_JOURNEY_MAP if journey_map is None else journey_map
            mapping = pl.LazyFrame(
                {"touchpoint": list(jm), "stage": list(jm.values())},
                schema={"touchpoint": pl.String, "stage": pl.String},
            ).with_columns(pl.col("stage").cast(STAGE_DTYPE))
            require_columns(lf, ["touchpoint"], "feedback")
            lf = lf.join(mapping, on="touchpoint", how="left", maintain_order="left")
        elif b == "segment":
            if customers is None:
                raise ParameterError(
                    "Breaking scores down by 'segment' needs the customers table: pass "
                    "customers=client.customers."
                )
            cust = as_lazy(customers, "customers")
            require_columns(cust, ["customer_id", "segment"], "customers")
            cust = cust.select("customer_id", "segment").unique(
                "customer_id", keep="first", maintain_order=True
            )
            lf = lf.join(cust, on="customer_id", how="left", maintain_order="left")
        elif b == "channel":
            if events is None:
                raise ParameterError(
                    "Breaking scores down by 'channel' needs the events table (feedback has no "
                    "'channel' column): pass events=client.events."
                )
            ev = as_lazy(events, "events")
            require_columns(ev, ["customer_id", "timestamp", "touchpoint", "channel"], "events")
            require_columns(lf, ["customer_id", "timestamp", "touchpoint"], "feedback")
            ev = ev.select("customer_id", "touchpoint", "timestamp", "channel").sort("timestamp")
            last_any = ev.select(
                "customer_id", "timestamp", pl.col("channel").alias("_any_channel")
            )
            lf = (
                lf.with_row_index("_row")
                .sort("timestamp")
                .join_asof(
                    ev,
                    on="timestamp",
                    by=["customer_id", "touchpoint"],
                    strategy="backward",
                    check_sortedness=False,
                )
                .join_asof(
                    last_any,
                    on="timestamp",
                    by="customer_id",
                    strategy="backward",
                    check_sortedness=False,
                )
                .with_columns(
                    pl.when(pl.col("touchpoint").is_null())
                    .then(pl.col("_any_channel"))
                    .otherwise(pl.col("channel"))
                    .alias("channel")
                )
                .sort("_row")
                .drop("_row", "_any_channel")
            )
        else:
            raise DataError(
                f"Cannot break scores down by '{b}': the feedback frame has no such column and it "
                f"is not one of {', '.join(map(repr, _DERIVED_BREAKDOWNS))}.{did_you_mean(b, [*have, *_DERIVED_BREAKDOWNS])}"
            )
        have = lf.collect_schema().names()
    return lf


def _prepare(feedback: FrameLike, metric: str, by: list[str], **joins: object) -> pl.LazyFrame:
    lf = as_lazy(feedback, "feedback")
    require_columns(lf, ["survey", "score"], "feedback")
    lf = lf.filter(pl.col("survey") == METRIC_SURVEY[metric])
    lo, hi = SURVEY_SCALES[METRIC_SURVEY[metric]]
    lf = lf.filter(pl.col("score").is_between(lo, hi))
    return add_breakdowns(lf, by, **joins)  # type: ignore[arg-type]


def _check_method(method: str, n_boot: int) -> None:
    if method not in ("closed", "bootstrap"):
        raise ParameterError(
            f"The 'method' parameter must be 'closed' or 'bootstrap'. Got {method!r} instead."
        )
    if not isinstance(n_boot, int) or n_boot < 100:
        raise ParameterError(
            f"The 'n_boot' parameter must be an int >= 100. Got {n_boot!r} instead."
        )


# --------------------------------------------------------------------------------------------
# frame functions
# --------------------------------------------------------------------------------------------
def score_summary(
    feedback: FrameLike,
    by: str | Sequence[str] | None = None,
    metric: str = "nps",
    *,
    method: Literal["closed", "bootstrap"] = "closed",
    n_boot: int = 2000,
    seed: int = 0,
    journey_map: dict[str, str] | None = None,
    customers: FrameLike | None = None,
    events: FrameLike | None = None,
    survey: str | None = None,
) -> pl.DataFrame:
    """One score with its 95% interval, overall or per group.

    Parameters
    ----------
    feedback : DataFrame or LazyFrame
        Canonical feedback (``survey``, ``score`` …). Rows of other surveys and answers
        outside the survey's scale are ignored.
    by : str, list of str or None
        Breakdown columns: any feedback column (``touchpoint`` …) or ``"stage"``,
        ``"segment"``, ``"channel"`` (see :func:`add_breakdowns`).
    metric : {"nps", "csat", "ces", "ces_easy"}
        The metric (``"ces_easy"`` is the CES survey's % answering 5–7).
    method : {"closed", "bootstrap"}
        Closed-form interval, or percentile bootstrap over the answer histogram.
    n_boot, seed : int
        Bootstrap replicates and seed.
    journey_map, customers, events
        Needed only for the ``stage``, ``segment`` and ``channel`` breakdowns.
    survey : str, optional
        Old name of ``metric`` (deprecated; stops working in the next release).

    Returns
    -------
    DataFrame
        ``*by, metric, n, estimate, ci_low, ci_high, small_n``, sorted by ``by`` (nulls last).

    Examples
    --------
    >>> fb = pl.DataFrame({"survey": ["nps"] * 4, "score": [10, 9, 7, 2]})
    >>> score_summary(fb).select("n", "estimate", "small_n").row(0)
    (4, 25.0, True)
    """
    metric = renamed(survey, metric, "survey", "metric", "score_summary")
    _check_metric(metric)
    _check_method(method, n_boot)
    keys = _as_list(by)
    lf = _prepare(
        feedback, metric, keys, journey_map=journey_map, customers=customers, events=events
    )
    if keys:
        hist = lf.group_by(keys).agg(_hist_aggs(metric)).sort(keys, nulls_last=True).collect()
    else:
        hist = lf.select(_hist_aggs(metric)).collect()
    return _finish(hist, metric, keys, method, n_boot, seed)


_EVERY = {"week": "1w", "month": "1mo", "quarter": "1q", "day": "1d"}


def score_over_time(
    feedback: FrameLike,
    metric: str = "nps",
    every: str = "month",
    *,
    by: str | Sequence[str] | None = None,
    window: int | None = None,
    method: Literal["closed", "bootstrap"] = "closed",
    n_boot: int = 2000,
    seed: int = 0,
    journey_map: dict[str, str] | None = None,
    customers: FrameLike | None = None,
    events: FrameLike | None = None,
    survey: str | None = None,
) -> pl.DataFrame:
    """A score per period (optionally per group), with its 95% interval for a band chart.

    Parameters
    ----------
    feedback : DataFrame or LazyFrame
        Canonical feedback with ``timestamp``.
    metric : {"nps", "csat", "ces", "ces_easy"}
        The metric.
    every : {"day", "week", "month", "quarter"} or a polars duration ("2w")
        Period length; periods start at ``timestamp.dt.truncate(every)`` (weeks on Monday).
    by : str, list of str or None
        Optional breakdown columns (as in :func:`score_summary`); one line per group.
    window : int or None
        When set, each period's score pools the answers of this many periods ending with it
        (a trailing rolling window over a complete period grid; empty periods count as empty).
    method, n_boot, seed
        As in :func:`score_summary`.
    survey : str, optional
        Old name of ``metric`` (deprecated; stops working in the next release).

    Returns
    -------
    DataFrame
        ``*by, period, metric, n, estimate, ci_low, ci_high, small_n`` sorted by group then
        period; periods (or windows) without answers are left out.

    Examples
    --------
    >>> import datetime as dt
    >>> t = [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 20), dt.datetime(2024, 2, 3)]
    >>> fb = pl.DataFrame({"timestamp": t, "survey": "nps", "score": [10, 3, 9]})
    >>> score_over_time(fb, every="month")["estimate"].to_list()
    [0.0, 100.0]
    >>> score_over_time(fb, every="month", window=2)["estimate"].to_list()
    [0.0, 33.33333333333333]
    """
    metric = renamed(survey, metric, "survey", "metric", "score_over_time")
    _check_metric(metric)
    _check_method(method, n_boot)
    step = _EVERY.get(every, every)
    try:
        pl.select(pl.datetime_range(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2), step))
    except Exception:
        raise ParameterError(
            f"The 'every' parameter must be one of {', '.join(map(repr, _EVERY))} or a polars "
            f"duration like '2w'. Got {every!r} instead."
        ) from None
    if window is not None and (not isinstance(window, int) or window < 1):
        raise ParameterError(
            f"The 'window' parameter must be None or an int >= 1. Got {window!r} instead."
        )
    keys = _as_list(by)
    lf = _prepare(
        feedback, metric, keys, journey_map=journey_map, customers=customers, events=events
    )
    require_columns(lf, ["timestamp"], "feedback")
    lf = lf.with_columns(pl.col("timestamp").dt.truncate(step).alias("period"))
    hist = lf.group_by([*keys, "period"]).agg(_hist_aggs(metric)).collect()
    cols = _hist_cols(metric)
    if window is not None and window > 1 and hist.height:
        start, end = hist["period"].min(), hist["period"].max()
        grid = pl.select(pl.datetime_range(start, end, step, eager=True).alias("period"))
        grid = grid.with_columns(pl.col("period").cast(hist.schema["period"]))
        if keys:
            grid = hist.select(keys).unique(maintain_order=True).join(grid, how="cross")
        hist = (
            grid.join(hist, on=[*keys, "period"], how="left", nulls_equal=True)
            .with_columns(pl.col(cols).fill_null(0))
            .sort([*keys, "period"], nulls_last=True)
        )
        roll = [pl.col(c).rolling_sum(window, min_samples=1) for c in cols]
        hist = hist.with_columns([r.over(keys) for r in roll] if keys else roll)
    hist = hist.filter(pl.sum_horizontal(cols) > 0).sort([*keys, "period"], nulls_last=True)
    return _finish(hist, metric, [*keys, "period"], method, n_boot, seed)


def _normal_p(zscore: float) -> float:
    return math.erfc(abs(zscore) / math.sqrt(2.0))


_DIRECTION = {
    "nps": ("rose", "fell", "points"),
    "csat": ("rose", "fell", "percentage points"),
    "ces": ("rose", "fell", "points on the 1–7 scale"),
    "ces_easy": ("rose", "fell", "percentage points"),
}
_NAME = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "ces_easy": "CES % easy"}


def _difference_closed(
    metric: str, counts: list[np.ndarray], est_a: float, est_b: float, level: float = 0.95
) -> tuple[float, float, float]:
    """``(ci_low, ci_high, p_value)`` of ``est_b − est_a``: normal interval at ``level``,
    se √(se_a² + se_b²).

    se: the NPS variance formula, Wald for proportions, sd/√n for the CES mean.
    """

    def se(c: np.ndarray, est: float) -> float:
        n = c.sum()
        kw, dw, vals = _stat_vectors(metric)
        if metric == "nps":
            p, q = c @ kw / n, c @ dw / n
            return 100.0 * math.sqrt(max(p + q - (p - q) ** 2, 0.0) / n)
        if metric in ("csat", "ces_easy"):
            p = est / 100.0
            return 100.0 * math.sqrt(p * (1 - p) / n)
        var = (c @ (vals**2) - n * est**2) / max(n - 1, 1)
        return math.sqrt(max(var, 0.0) / n)

    diff = est_b - est_a
    s = math.sqrt(se(counts[0], est_a) ** 2 + se(counts[1], est_b) ** 2)
    p_value = _normal_p(diff / s) if s > 0 else (0.0 if diff != 0 else 1.0)
    z = z_of_level(level, "compare_scores")
    return diff - z * s, diff + z * s, p_value


def _difference_bootstrap(
    metric: str, counts: list[np.ndarray], n_boot: int, seed: int
) -> tuple[float, float, float]:
    """``(ci_low, ci_high, p_value)`` of b − a, both histograms resampled independently.

    Percentile interval; p-value = 2 × the smaller tail share beyond zero (at most 1).
    """
    rng = np.random.default_rng(seed)
    reps = []
    for c in counts:
        draws = rng.multinomial(int(c.sum()), c / c.sum(), size=n_boot)
        reps.append(_estimate_np(metric, draws))
    d = reps[1] - reps[0]
    lo, hi = float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))
    return lo, hi, float(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean())))


def _change_sentence(
    metric: str, labels: tuple[str, str], diff: float, lo: float, hi: float, p_value: float
) -> str:
    """The plain sentence of a change, worded as the report words an interval.

    E.g. 'NPS fell 20.0 points from Q1 to Q2 (95% interval 8.8 to 31.2 points).'; a change
    whose p-value is 0.05 or more adds that it is too small to tell from chance (the p-value
    itself stays in the ``p_value`` column).
    """
    up, down, unit = _DIRECTION[metric]
    fmt = (lambda x: f"{x:.2f}") if metric == "ces" else (lambda x: f"{x:.1f}")
    if diff == 0:
        return (
            f"{_NAME[metric]} did not change from {labels[0]} to {labels[1]} "
            f"(95% interval {fmt(lo)} to {fmt(hi)} {unit})."
        )
    verb = up if diff > 0 else down
    sign = 1 if diff > 0 else -1
    a_, b_ = sorted((sign * lo, sign * hi))
    sentence = (
        f"{_NAME[metric]} {verb} {fmt(abs(diff))} {unit} from {labels[0]} to {labels[1]} "
        f"(95% interval {fmt(a_)} to {fmt(b_)} {unit})."
    )
    if p_value >= 0.05:
        sentence = sentence[:-1] + ", too small a change to tell from chance."
    return sentence


def compare_scores(
    a: FrameLike,
    b: FrameLike,
    metric: str = "nps",
    *,
    labels: tuple[str, str] = ("a", "b"),
    method: Literal["closed", "bootstrap"] = "closed",
    n_boot: int = 4000,
    seed: int = 0,
    survey: str | None = None,
) -> pl.DataFrame:
    """Difference of one score between two groups or periods (``b − a``), with a test.

    Parameters
    ----------
    a, b : DataFrame or LazyFrame
        Feedback of the baseline (``a``, e.g. last quarter) and of the comparison (``b``).
    metric : {"nps", "csat", "ces", "ces_easy"}
        The metric.
    labels : (str, str)
        Names of the two sides, used in the sentence.
    method : {"closed", "bootstrap"}
        ``"closed"``: the difference's standard error is √(se_a² + se_b²) with the NPS variance
        formula (Wald for proportions, sd/√n for the CES mean); two-sided normal p-value.
        ``"bootstrap"``: both histograms resampled independently; percentile interval of the
        difference; p-value = 2 × the smaller tail share beyond zero.
    survey : str, optional
        Old name of ``metric`` (deprecated; stops working in the next release).

    Returns
    -------
    DataFrame
        One row: ``metric, label_a, n_a, estimate_a, label_b, n_b, estimate_b, difference,
        ci_low, ci_high, p_value, significant, small_n, sentence``.

    Examples
    --------
    >>> a = pl.DataFrame({"survey": "nps", "score": [10] * 200 + [8] * 120 + [3] * 80})
    >>> b = pl.DataFrame({"survey": "nps", "score": [10] * 160 + [8] * 120 + [3] * 120})
    >>> out = compare_scores(a, b, labels=("Q1", "Q2"))
    >>> round(out["difference"].item(), 6)
    -20.0
    >>> out["sentence"].item()
    'NPS fell 20.0 points from Q1 to Q2 (95% interval 8.8 to 31.2 points).'
    """
    metric = renamed(survey, metric, "survey", "metric", "compare_scores")
    _check_metric(metric)
    _check_method(method, n_boot)
    hists = [_prepare(x, metric, []).select(_hist_aggs(metric)).collect() for x in (a, b)]
    counts = [h.to_numpy()[0] for h in hists]
    closed = [h.with_columns(_closed_from_hist(metric)).row(0, named=True) for h in hists]
    n_a, n_b = closed[0]["n"], closed[1]["n"]
    if n_a == 0 or n_b == 0:
        empty = labels[0] if n_a == 0 else labels[1]
        raise DataError(
            f"compare_scores: side '{empty}' has no {metric!r} answers; nothing to compare."
        )
    est_a, est_b = closed[0]["estimate"], closed[1]["estimate"]
    diff = est_b - est_a
    if method == "closed":
        lo, hi, p_value = _difference_closed(metric, counts, est_a, est_b)
    else:
        lo, hi, p_value = _difference_bootstrap(metric, counts, n_boot, seed)
    sentence = _change_sentence(metric, labels, diff, lo, hi, p_value)
    return pl.DataFrame(
        {
            "metric": [metric],
            "label_a": [labels[0]],
            "n_a": [int(n_a)],
            "estimate_a": [est_a],
            "label_b": [labels[1]],
            "n_b": [int(n_b)],
            "estimate_b": [est_b],
            "difference": [diff],
            "ci_low": [lo],
            "ci_high": [hi],
            "p_value": [p_value],
            "significant": [p_value < 0.05],
            "small_n": [min(n_a, n_b) < SMALL_N],
            "sentence": [sentence],
        }
    )


# --------------------------------------------------------------------------------------------
# declared questions
# --------------------------------------------------------------------------------------------
#: What the score of each kind of question is (the ``metric`` column of :func:`question_scores`).
QUESTION_METRIC: dict[str, str] = {
    "nps": "nps",
    "csat": "csat",
    "ces": "ces",
    "rating": "mean",
    "binary": "share_good",
}
_IMPLIED_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


def _question_frame(lf: pl.LazyFrame, questions: pl.DataFrame | None) -> pl.DataFrame:
    """The question table: given, or one row per question answered (no scale known)."""
    if questions is not None:
        return questions.filter(pl.col("survey").is_not_null() & (pl.col("survey") != "text"))
    found = (
        lf.filter(pl.col("survey").is_not_null() & (pl.col("survey") != "text"))
        .group_by("question")
        .agg(pl.col("survey").first())
        .sort("question")
        .collect()
    )
    return found.with_columns(
        pl.lit(None, dtype=pl.Int64).alias("scale_low"),
        pl.lit(None, dtype=pl.Int64).alias("scale_high"),
        pl.col("question").replace(_IMPLIED_LABELS).alias("label"),
        pl.col("survey").alias("kind"),
    )


def _mean_t_interval(stats: pl.DataFrame, low: float | None, high: float | None) -> pl.DataFrame:
    """Mean and Student-t 95% interval per row of ``n``, ``s1`` (sum), ``s2`` (sum of squares).

    The sums are of integer answers, so they are exact whatever polars' thread split.
    """
    from scipy.stats import t as student_t

    n = stats.get_column("n").cast(pl.Float64).to_numpy()
    s1 = stats.get_column("s1").cast(pl.Float64).to_numpy()
    s2 = stats.get_column("s2").cast(pl.Float64).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = np.clip((s2 - n * mean * mean) / (n - 1), 0.0, None)
        half = student_t.ppf(0.975, np.maximum(n - 1, 1)) * np.sqrt(var / n)
    two = n > 1
    return stats.with_columns(
        pl.Series("estimate", np.where(n > 0, mean, np.nan)).fill_nan(None),
        pl.Series("ci_low", np.where(two, mean - half, np.nan)).fill_nan(None).clip(low, high),
        pl.Series("ci_high", np.where(two, mean + half, np.nan)).fill_nan(None).clip(low, high),
    ).drop("s1", "s2")


def _item_scores(
    rows: pl.LazyFrame, kind: str, keys: list[str], low: float | None, high: float | None
) -> pl.DataFrame:
    """``*keys, n, estimate, ci_low, ci_high, metric, small_n`` of a rating or binary question.

    Binary: % of answers that are good (1), Wilson interval. Rating: the mean answer with its
    Student-t interval clipped to ``low``..``high`` (:func:`_mean_t_interval`).
    """
    score = pl.col("score")
    if kind == "binary":
        aggs = [pl.len().alias("n"), (score == 1).sum().alias("k")]
    else:
        aggs = [pl.len().alias("n"), score.sum().alias("s1"), (score * score).sum().alias("s2")]
    stats = (
        rows.group_by(keys).agg(aggs).sort(keys, nulls_last=True) if keys else rows.select(aggs)
    ).collect()
    if kind == "binary":
        lo, hi = wilson_bounds(pl.col("k"), pl.col("n"))
        res = stats.select(
            *keys,
            pl.col("n").cast(pl.Int64),
            pl.when(pl.col("n") > 0).then(100.0 * pl.col("k") / pl.col("n")).alias("estimate"),
            (100.0 * lo).alias("ci_low"),
            (100.0 * hi).alias("ci_high"),
        )
    else:
        res = _mean_t_interval(stats.with_columns(pl.col("n").cast(pl.Int64)), low, high)
    return res.with_columns(pl.lit(QUESTION_METRIC.get(kind, "mean")).alias("metric"), small_n("n"))


def question_scores(
    feedback: FrameLike,
    questions: pl.DataFrame | None = None,
    by: str | Sequence[str] | None = None,
    *,
    journey_map: dict[str, str] | None = None,
    customers: FrameLike | None = None,
    events: FrameLike | None = None,
) -> pl.DataFrame:
    """The score of every question, with its 95% interval, overall or per group.

    ========  ============================================================================
    kind      score and interval
    ========  ============================================================================
    nps       NPS, as :func:`score_summary` (the same numbers)
    csat      % answering 4–5 of 5, as :func:`score_summary` (Wilson)
    ces       mean effort 1–7, as :func:`score_summary` (normal interval)
    rating    the mean answer on the question's scale; Student-t interval
              mean ± t(0.975, n − 1)·s/√n (s: the sample standard deviation), clipped to
              the scale
    binary    % of answers that are good (1); Wilson interval
    ========  ============================================================================

    Parameters
    ----------
    feedback : DataFrame or LazyFrame
        Canonical feedback with ``question`` (without it, ``question`` = ``survey``).
    questions : DataFrame, optional
        The question table (:func:`cxlab.contract.questions.question_table`): order, labels, kinds
        and scales; answers outside a question's scale are ignored. Default: every question
        answered, in name order, labelled by its name, intervals not clipped to a scale.
    by, journey_map, customers, events
        Breakdowns, as in :func:`score_summary`.

    Returns
    -------
    DataFrame
        ``question, label, kind, *by, metric, n, estimate, ci_low, ci_high, small_n``, in
        question order, then by ``by``.

    Examples
    --------
    Three ratings 3, 4, 5 on 1–5: mean 4, s = 1, t(0.975, 2) = 4.303, half-width
    4.303 · 1/√3 = 2.48, clipped to the scale; 3 good answers of 4: 75%.

    >>> fb = pl.DataFrame({"question": ["delivery"] * 3 + ["resolved"] * 4,
    ...                    "survey": ["rating"] * 3 + ["binary"] * 4, "score": [3, 4, 5, 1, 1, 1, 0]})
    >>> question_scores(fb).select("question", "metric", "n", "estimate", pl.col("ci_low").round(2)).rows()
    [('delivery', 'mean', 3, 4.0, 1.52), ('resolved', 'share_good', 4, 75.0, 30.06)]
    """
    keys = _as_list(by)
    lf = as_lazy(feedback, "feedback")
    require_columns(lf, ["survey", "score"], "feedback")
    if "question" not in lf.collect_schema().names():
        lf = lf.with_columns(pl.col("survey").alias("question"))
    qt = _question_frame(lf, questions)
    joins = {"journey_map": journey_map, "customers": customers, "events": events}
    parts = []
    for q in qt.iter_rows(named=True):
        survey, low, high = q["survey"], q["scale_low"], q["scale_high"]
        rows = lf.filter(pl.col("question") == q["question"])
        if low is not None and high is not None:
            rows = rows.filter(pl.col("score").is_between(low, high))
        if survey in METRIC_SURVEY:
            res = score_summary(rows, keys or None, metric=survey, **joins)
        else:
            rows = add_breakdowns(rows, keys, **joins)  # type: ignore[arg-type]
            res = _item_scores(rows, survey, keys, low, high)
        parts.append(
            res.select(
                pl.lit(q["question"]).alias("question"),
                pl.lit(q["label"]).alias("label"),
                pl.lit(q["kind"]).alias("kind"),
                *keys,
                "metric",
                pl.col("n").cast(pl.Int64),
                pl.col("estimate").cast(pl.Float64),
                pl.col("ci_low").cast(pl.Float64),
                pl.col("ci_high").cast(pl.Float64),
                "small_n",
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "question": pl.String,
                "label": pl.String,
                "kind": pl.String,
                "metric": pl.String,
                "n": pl.Int64,
                "estimate": pl.Float64,
                "ci_low": pl.Float64,
                "ci_high": pl.Float64,
                "small_n": pl.Boolean,
            }
        )
    return pl.concat(parts, how="vertical_relaxed")
