"""Key drivers of NPS — the "moments that matter".

For every NPS answer, :func:`driver_features` builds what happened in that customer's journey
*before* the answer (events with ``timestamp <`` the survey time, optionally within a
lookback window), with polars expressions over whole columns:

touchpoint drivers
    ``hit:<touchpoint>`` (1 when the customer hit the touchpoint before answering). For
    support touchpoints (support contacts) and error touchpoints (checkout errors) the
    driver also carries ``count:<touchpoint>`` = log(1 + number of times), its intensity.
    Touchpoints hit by almost everyone or almost no one (share outside
    ``[min_share, 1 − min_share]``) cannot explain differences and are left out.
``time_to_purchase``
    log(1 + days) from the customer's first event to their first purchase (before the
    answer); customers who had not bought get the median. Exposed = slower than the median.
``csat_before`` / ``ces_before``
    Mean CSAT / CES the customer gave before the NPS answer (missing → the mean). Exposed =
    gave a negative answer (CSAT 1–3, CES 1–4).

:func:`nps_drivers` regresses the NPS answer (0–10) on these features and splits the R² into
one share per driver with **Johnson's relative weights** (an approximation of the Shapley
decomposition of R² that copes with correlated drivers; weights add up to R²). A driver with
two features gets the sum of its features' weights. Intervals come from a bootstrap over
respondents: the percentile interval of each driver's weight, divided by the model R² (the
share's own bootstrap distribution is biased down for a dominant driver, because resampling
noise lends every weak driver a little weight). **Performance** is the NPS of the respondents exposed to the driver (who hit
the touchpoint, had a negative CSAT …), to read against the overall NPS: important drivers
with poor performance are the ones to fix first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from cxlab.analysis.metrics import nps_group_expr
from cxlab.analysis.stats import SMALL_N, WEAK_MODEL_R2, exact_sum
from cxlab.contract.frames import FrameLike, as_lazy
from cxlab.contract.schema import DEFAULT_PURCHASE_TOUCHPOINTS
from cxlab.errors import DataError, ParameterError
from cxlab.words import and_list, plural

__all__ = [
    "AttributeDrivers",
    "ATTRIBUTE_QUADRANTS",
    "attribute_drivers",
    "bootstrap_weights",
    "KeyDrivers",
    "driver_features",
    "driver_name",
    "nps_drivers",
    "relative_weights",
    "QUADRANTS",
]


#: Quadrant names of the importance × performance chart and what they mean.
QUADRANTS: dict[str, str] = {
    "fix first": "matters a lot and the customers exposed to it score below average",
    "protect": "matters a lot and the customers exposed to it score above average",
    "monitor": "matters little; exposed customers score below average",
    "maintain": "matters little; exposed customers score above average",
}

_SUPPORT = ("support_call", "support_email", "chat")
_DAY_US = 86_400_000_000


# --------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------
def driver_features(
    events: FrameLike,
    feedback: FrameLike,
    *,
    lookback: dt.timedelta | None = None,
    support_touchpoints: Sequence[str] = _SUPPORT,
    error_touchpoints: Sequence[str] | None = None,
    purchase_touchpoints: Sequence[str] = DEFAULT_PURCHASE_TOUCHPOINTS,
) -> pl.DataFrame:
    """One row per NPS answer with what happened in the journey before it.

    Parameters
    ----------
    events, feedback : DataFrame or LazyFrame
        Canonical events and feedback.
    lookback : timedelta or None
        Only events within this long before the answer count (default: the whole history).
    support_touchpoints : sequence of str
        Touchpoints that are support contacts (their number is a feature).
    error_touchpoints : sequence of str or None
        Touchpoints that are errors (their number is a feature); default: every touchpoint
        whose name contains ``"error"``.
    purchase_touchpoints : sequence of str
        Touchpoints that are purchases (for ``time_to_purchase``).

    Returns
    -------
    DataFrame
        ``customer_id, survey_time, score, nps_group``, then ``hit:<t>`` (Int8) and
        ``count:<t>`` (number of events) for every touchpoint seen before some answer,
        ``days_to_purchase`` (null when not bought yet), ``csat_before``, ``csat_negative``,
        ``ces_before``, ``ces_negative`` (null / false when never answered). Sorted by
        customer and survey time.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 10)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "b"], "timestamp": [t, t + dt.timedelta(days=9), t],
    ...                    "touchpoint": ["checkout_error", "support_call", "purchase"]})
    >>> fb = pl.DataFrame({"customer_id": ["a", "b"], "timestamp": [t + dt.timedelta(days=1)] * 2,
    ...                    "survey": "nps", "score": [3, 10]})
    >>> out = driver_features(ev, fb)
    >>> out.select("customer_id", "hit:checkout_error", "hit:purchase").rows()
    [('a', 1, 0), ('b', 0, 1)]
    >>> "hit:support_call" in out.columns  # a's support call came after the answer
    False
    """
    ev = as_lazy(events, "events", ["customer_id", "timestamp", "touchpoint"])
    fb = as_lazy(feedback, "feedback", ["customer_id", "timestamp", "survey", "score"])
    resp = _nps_answers(fb)
    keep = pl.col("timestamp") < pl.col("survey_time")
    if lookback is not None:
        keep = keep & (pl.col("timestamp") >= pl.col("survey_time") - pl.lit(lookback))
    before = (
        ev.select("customer_id", "timestamp", "touchpoint")
        .join(resp.select("_rid", "customer_id", "survey_time"), on="customer_id", how="inner")
        .filter(keep)
    )
    touchpoints = sorted(
        t
        for t in before.select(pl.col("touchpoint").unique()).collect().to_series().to_list()
        if t is not None
    )
    counts = [f"count:{t}" for t in touchpoints]
    out = (
        resp.join(_journey_before(before, touchpoints, purchase_touchpoints), on="_rid", how="left")
        .join(_surveys_before(fb, resp, keep), on="_rid", how="left")
        .with_columns(
            pl.col(counts).fill_null(0),
            pl.col("csat_negative", "ces_negative").fill_null(False),
        )
        .with_columns(
            *[(pl.col(f"count:{t}") > 0).cast(pl.Int8).alias(f"hit:{t}") for t in touchpoints],
            nps_group_expr("score"),
        )
        .sort("_rid")
        .select(
            "customer_id",
            "survey_time",
            "score",
            "nps_group",
            *[c for t in touchpoints for c in (f"hit:{t}", f"count:{t}")],
            "days_to_purchase",
            "csat_before",
            "csat_negative",
            "ces_before",
            "ces_negative",
        )
    )
    return out.collect()


def _nps_answers(fb: pl.LazyFrame) -> pl.LazyFrame:
    """``_rid, customer_id, survey_time, score`` of the valid NPS answers (0–10), numbered
    by customer, time and source row."""
    order = ["customer_id", "timestamp"] + (
        ["source_row"] if "source_row" in fb.collect_schema().names() else []
    )
    return (
        fb.filter((pl.col("survey") == "nps") & pl.col("score").is_between(0, 10))
        .sort(order)
        .select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_rid"),
            "customer_id",
            pl.col("timestamp").alias("survey_time"),
            "score",
        )
        .collect()
        .lazy()
    )


def _journey_before(
    before: pl.LazyFrame, touchpoints: list[str], purchase_touchpoints: Sequence[str]
) -> pl.LazyFrame:
    """Per answer (``_rid``): ``count:<t>`` of each touchpoint before it, and
    ``days_to_purchase`` (first event to first purchase, null when none)."""
    purchases = list(purchase_touchpoints)
    return (
        before.group_by("_rid")
        .agg(
            *[
                (pl.col("touchpoint") == t).sum().cast(pl.Int64).alias(f"count:{t}")
                for t in touchpoints
            ],
            pl.col("timestamp").min().alias("_first"),
            pl.col("timestamp")
            .filter(pl.col("touchpoint").is_in(purchases))
            .min()
            .alias("_first_buy"),
        )
        .with_columns(
            ((pl.col("_first_buy") - pl.col("_first")).dt.total_microseconds() / _DAY_US).alias(
                "days_to_purchase"
            )
        )
        .drop("_first", "_first_buy")
    )


def _surveys_before(fb: pl.LazyFrame, resp: pl.LazyFrame, keep: pl.Expr) -> pl.LazyFrame:
    """Per answer (``_rid``): mean CSAT and CES answered before it, and whether any was
    negative (CSAT ≤ 3, CES ≤ 4)."""
    return (
        fb.filter(pl.col("survey").is_in(["csat", "ces"]))
        .select("customer_id", "timestamp", "survey", "score")
        .join(resp.select("_rid", "customer_id", "survey_time"), on="customer_id", how="inner")
        .filter(keep)
        .group_by("_rid")
        .agg(
            pl.col("score")
            .filter(pl.col("survey") == "csat")
            .cast(pl.Float64)
            .mean()
            .alias("csat_before"),
            ((pl.col("survey") == "csat") & (pl.col("score") <= 3)).any().alias("csat_negative"),
            pl.col("score")
            .filter(pl.col("survey") == "ces")
            .cast(pl.Float64)
            .mean()
            .alias("ces_before"),
            ((pl.col("survey") == "ces") & (pl.col("score") <= 4)).any().alias("ces_negative"),
        )
    )


# --------------------------------------------------------------------------------------------
# relative weights
# --------------------------------------------------------------------------------------------
def _standardise(a: np.ndarray) -> np.ndarray:
    c = a - a.mean(axis=0)
    sd = np.sqrt((c * c).mean(axis=0))
    sd = np.where(sd > 1e-12, sd, np.inf)  # constant columns become 0 (weight 0)
    return c / sd


def relative_weights(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's (2000) relative weights of the columns of ``X`` in the regression of ``y``.

    The predictors are replaced by their closest orthogonal counterparts
    (Z = X R^{-1/2}); y is regressed on Z and each Z's share is mapped back to the original
    predictors through the squared loadings Λ = R^{1/2}. The weights are non-negative and add
    up to the model R².

    Returns
    -------
    (weights, r2)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> y = 2 * X[:, 0] + X[:, 1] + rng.normal(size=500)
    >>> w, r2 = relative_weights(X, y)
    >>> bool(w[0] > 3 * w[1]), abs(float(w.sum() - r2)) < 1e-12
    (True, True)
    """
    Z = _standardise(np.asarray(X, dtype=float))
    zy = _standardise(np.asarray(y, dtype=float).reshape(-1, 1))[:, 0]
    n = len(zy)
    R = Z.T @ Z / n
    np.fill_diagonal(R, 1.0)
    rxy = Z.T @ zy / n
    evals, evecs = np.linalg.eigh(R)
    evals = np.clip(evals, 1e-10, None)
    lam = (evecs * np.sqrt(evals)) @ evecs.T  # R^{1/2}
    beta = np.linalg.solve(lam, rxy)
    weights = (lam**2) @ (beta**2)
    return weights, float(beta @ beta)


# --------------------------------------------------------------------------------------------
# the analysis
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyDrivers:
    """Result of :func:`nps_drivers`.

    Attributes
    ----------
    table : DataFrame
        One row per driver (see :func:`nps_drivers`), sorted by importance.
    r2, r2_ci_low, r2_ci_high : float
        Variance of the NPS answers the drivers explain together, with its bootstrap interval.
    n_respondents : int
        NPS answers analysed.
    overall_nps : float
        NPS of all the answers analysed (the performance reference line).
    features : DataFrame
        The per-answer feature frame from :func:`driver_features`.
    left_out : DataFrame
        Touchpoints not used as drivers and why.
    """

    table: pl.DataFrame
    r2: float
    r2_ci_low: float
    r2_ci_high: float
    n_respondents: int
    overall_nps: float
    features: pl.DataFrame = field(repr=False)
    left_out: pl.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"KeyDrivers({self.table.height} drivers, {self.n_respondents} NPS answers, "
            f"R²={self.r2:.3f} [{self.r2_ci_low:.3f}, {self.r2_ci_high:.3f}])"
        )

    def chart(self):  # type: ignore[no-untyped-def]  # altair is imported only when drawing
        """The importance × performance quadrant of the drivers.

        Draws with :func:`cxlab.display.charts.metrics.driver_quadrant_chart`.
        """
        from cxlab.display.charts.metrics import driver_quadrant_chart

        return driver_quadrant_chart(self)

    def reading(self, top: int = 3) -> list[str]:
        """Plain-language sentences: the fit, the ``top`` drivers, and which to fix first.

        Each driver is named once (:func:`driver_name`). A driver fewer than
        :data:`~cxlab.analysis.stats.SMALL_N` respondents were exposed to gets "too few to say
        how they score" instead of a quadrant. When the drivers explain less than
        :data:`~cxlab.analysis.stats.WEAK_MODEL_R2` of the variation, one hedged sentence on
        the fit and the ``top`` drivers named as hints, without ranks or advice.
        """
        rows = self.table.head(top).to_dicts()
        interval = f"95% interval {100 * self.r2_ci_low:.0f}% to {100 * self.r2_ci_high:.0f}%"
        if self.r2 < WEAK_MODEL_R2:
            lines = [
                f"Together the {self.table.height} drivers explain only {100 * self.r2:.0f}% "
                f"({interval}) of the variation in the {self.n_respondents:,} NPS answers: "
                "these moments are weakly related to NPS; treat them as hints, not findings."
            ]
            if rows:
                lines.append(
                    "The strongest hints: " + and_list([driver_name(r) for r in rows]) + "."
                )
            return lines
        lines = [
            f"Together the {self.table.height} drivers explain {100 * self.r2:.0f}% "
            f"(95% interval {100 * self.r2_ci_low:.0f}–{100 * self.r2_ci_high:.0f}%) of the "
            f"variation in the {self.n_respondents} NPS answers; overall NPS is "
            f"{self.overall_nps:+.0f}."
        ]
        lines += [_driver_line(r) for r in rows]
        fix = self.table.filter(pl.col("quadrant") == "fix first").to_dicts()
        if fix:
            lines.append("Fix first: " + and_list([driver_name(r) for r in fix]) + ".")
        return lines


def driver_name(driver: Mapping[str, Any]) -> str:
    """A driver as a reader names it, once: a touchpoint with how customers met it, a survey
    or journey driver by its label alone (which already says it, e.g. "Low CSAT before (1-3)").

    ``driver`` is a row of :attr:`KeyDrivers.table` (``driver``, ``exposure`` and, when
    known, ``kind``).

    Examples
    --------
    >>> driver_name({"driver": "Delivery late", "exposure": "hit before answering", "kind": "touchpoint"})
    'Delivery late (hit before answering)'
    >>> driver_name({"driver": "Low CSAT before (1-3)", "exposure": "gave a CSAT 1–3 before", "kind": "survey"})
    'Low CSAT before (1-3)'
    """
    if driver.get("kind", "touchpoint") == "touchpoint":
        return f"{driver['driver']} ({driver['exposure']})"
    return str(driver["driver"])


def _driver_line(r: Mapping[str, Any]) -> str:
    """One driver's sentence in :meth:`KeyDrivers.reading` (rank, share, how its exposed score)."""
    head = f"#{r['rank']} {driver_name(r)}: {r['importance_pct']:.0f}% of the explained variation"
    n = r.get("n_exposed")
    if n is not None and n < SMALL_N:
        return (
            f"{head}, but only {plural(int(n), 'respondent')} "
            f"{'was' if n == 1 else 'were'} exposed to it: too few to say how they score."
        )
    return (
        f"{head} (95% interval {r['ci_low']:.0f}–{r['ci_high']:.0f}%). Exposed "
        f"respondents (n = {r['n_exposed']}) give NPS {r['performance']:+.0f} vs "
        f"{r['nps_not_exposed']:+.0f} for the others — quadrant '{r['quadrant']}': "
        f"{QUADRANTS[r['quadrant']]}."
    )


def _driver_specs(
    feat: pl.DataFrame, min_share: float, intensity: set[str]
) -> tuple[list[dict], list[tuple[str, str]]]:
    """Which drivers enter the model: name, kind, feature columns, exposure column."""
    n = feat.height
    specs: list[dict] = []
    left_out: list[tuple[str, str]] = []
    hits = [c for c in feat.columns if c.startswith("hit:")]
    shares = feat.select(pl.col(hits).cast(pl.Float64).mean()).row(0) if hits else ()
    for col, share in zip(hits, shares, strict=True):
        t = col[4:]
        if share < min_share or share > 1 - min_share:
            left_out.append(
                (
                    t,
                    f"hit by {100 * share:.1f}% of respondents (outside {100 * min_share:.0f}–{100 - 100 * min_share:.0f}%)",
                )
            )
            continue
        cols = [col]
        if t in intensity and feat.filter(pl.col(col) == 1)[f"count:{t}"].n_unique() > 1:
            cols.append(f"count:{t}")
        specs.append(
            {
                "driver": t,
                "kind": "touchpoint",
                "columns": cols,
                "exposed": col,
                "exposure": "hit before answering",
            }
        )
    bought = feat["days_to_purchase"].drop_nulls()
    if bought.len() >= max(min_share * n, 2) and bought.n_unique() > 1:
        specs.append(
            {
                "driver": "time_to_purchase",
                "kind": "journey",
                "columns": ["days_to_purchase"],
                "exposed": "_slow",
                "exposure": "slower than median to first purchase",
            }
        )
    for s, label in (("csat", "CSAT 1–3"), ("ces", "CES 1–4")):
        have = feat[f"{s}_before"].drop_nulls()
        if have.len() >= max(min_share * n, 2) and have.n_unique() > 1:
            specs.append(
                {
                    "driver": f"{s}_before",
                    "kind": "survey",
                    "columns": [f"{s}_before"],
                    "exposed": f"{s}_negative",
                    "exposure": f"gave a {label} before",
                }
            )
    return specs, left_out


def _design(feat: pl.DataFrame, specs: list[dict]) -> pl.DataFrame:
    """Numeric model matrix: counts → log1p, days → log1p with median fill, surveys mean fill."""
    exprs = []
    for spec in specs:
        for c in spec["columns"]:
            e = pl.col(c).cast(pl.Float64)
            if c.startswith("count:") or c == "days_to_purchase":
                e = e.log1p()
            if c == "days_to_purchase":
                e = e.fill_null(e.median())
            elif c.endswith("_before"):
                # an exact mean: a float mean's last bits depend on polars' thread split
                e = e.fill_null(exact_sum(e, decimals=9) / e.count())
            exprs.append(e.alias(c))
    return feat.select(exprs)


def nps_drivers(
    events: FrameLike,
    feedback: FrameLike,
    *,
    min_share: float = 0.02,
    n_boot: int = 200,
    seed: int = 0,
    lookback: dt.timedelta | None = None,
    support_touchpoints: Sequence[str] = _SUPPORT,
    error_touchpoints: Sequence[str] | None = None,
    purchase_touchpoints: Sequence[str] = DEFAULT_PURCHASE_TOUCHPOINTS,
) -> KeyDrivers:
    """Relative importance and performance of what happened before each NPS answer.

    Parameters
    ----------
    events, feedback : DataFrame or LazyFrame
        Canonical events and feedback.
    min_share : float
        Touchpoints hit by fewer than this share of respondents (or by more than
        1 − min_share) are left out (see ``KeyDrivers.left_out``).
    n_boot : int
        Bootstrap resamples of respondents for the intervals (>= 50).
    seed : int
        Seed of the bootstrap.
    lookback, support_touchpoints, error_touchpoints, purchase_touchpoints
        As in :func:`driver_features`.

    Returns
    -------
    KeyDrivers
        ``table`` columns: ``rank, driver, kind, exposure, importance`` (share of the NPS
        answers' variance, the weights add up to R²), ``importance_pct`` (share of the
        explained variance, %, adds up to 100) with ``ci_low, ci_high`` (bootstrap 95%, the weight's
        interval divided by R²),
        ``n_exposed, share_exposed, performance`` (NPS of the exposed respondents),
        ``nps_not_exposed, effect`` (performance − nps_not_exposed), ``mean_score_exposed,
        mean_score_not_exposed, share_detractors_exposed, small_n, quadrant``.

    Examples
    --------
    >>> import datetime as dt
    >>> rng = np.random.default_rng(0)
    >>> n = 300
    >>> err = rng.random(n) < 0.3
    >>> t0 = dt.datetime(2024, 1, 1)
    >>> ids = [f"c{i}" for i in range(n)]
    >>> ev = pl.DataFrame({"customer_id": ids * 2, "timestamp": [t0] * (2 * n),
    ...                    "touchpoint": ["checkout_error" if e else "site_visit" for e in err]
    ...                                  + ["email_open" if rng.random() < .5 else "site_visit" for _ in ids]})
    >>> fb = pl.DataFrame({"customer_id": ids, "timestamp": [t0 + dt.timedelta(days=1)] * n,
    ...                    "survey": "nps", "score": np.where(err, 3, 9)})
    >>> kd = nps_drivers(ev, fb, n_boot=50)
    >>> kd.table["driver"][0]
    'checkout_error'
    """
    if not 0 <= min_share < 0.5:
        raise ParameterError(
            f"The 'min_share' parameter must be a float in [0, 0.5). Got {min_share!r} instead."
        )
    if not isinstance(n_boot, int) or n_boot < 50:
        raise ParameterError(
            f"The 'n_boot' parameter must be an int >= 50. Got {n_boot!r} instead."
        )
    feat = driver_features(
        events,
        feedback,
        lookback=lookback,
        support_touchpoints=support_touchpoints,
        error_touchpoints=error_touchpoints,
        purchase_touchpoints=purchase_touchpoints,
    )
    if feat.height < 10:
        raise DataError(
            f"nps_drivers needs at least 10 NPS answers with a journey before them; found {feat.height}. "
            "Check that feedback has survey == 'nps' rows and that events and feedback share customer_id values."
        )
    specs, left = _nps_driver_specs(feat, min_share, support_touchpoints, error_touchpoints)
    median_days = feat["days_to_purchase"].median()
    feat_x = feat.with_columns(  # _slow: a slower path to purchase than the median respondent
        (pl.col("days_to_purchase") > median_days).fill_null(False).alias("_slow")
        if median_days is not None
        else pl.lit(False).alias("_slow")
    )
    weights, r2, boot_r2 = _driver_weights(feat_x, specs, n_boot, seed)
    score = pl.col("score")
    overall = float(feat.select(100.0 * ((score >= 9).mean() - (score <= 6).mean())).item())
    table = (
        pl.DataFrame(
            {
                "driver": [s["driver"] for s in specs],
                "kind": [s["kind"] for s in specs],
                "exposure": [s["exposure"] for s in specs],
                "features": [s["columns"] for s in specs],
                **weights,
            }
        )
        .join(_exposure_performance(feat_x, specs), on="driver", how="left", maintain_order="left")
        .with_columns(
            (pl.col("performance") - pl.col("nps_not_exposed")).alias("effect"),
            (pl.col("n_exposed") < SMALL_N).alias("small_n"),
        )
        .sort(["importance_pct", "driver"], descending=[True, False], nulls_last=True)
        .with_row_index("rank", offset=1)
    )
    table = table.with_columns(
        _quadrant(pl.col("importance_pct") >= 100.0 / len(specs), pl.col("performance") >= overall)
    )
    return KeyDrivers(
        table=table,
        r2=r2,
        r2_ci_low=float(np.quantile(boot_r2, 0.025)),
        r2_ci_high=float(np.quantile(boot_r2, 0.975)),
        n_respondents=feat.height,
        overall_nps=overall,
        features=feat,
        left_out=pl.DataFrame(
            {"touchpoint": [t for t, _ in left], "reason": [r for _, r in left]},
            schema={"touchpoint": pl.String, "reason": pl.String},
        ),
    )


def _nps_driver_specs(
    feat: pl.DataFrame,
    min_share: float,
    support_touchpoints: Sequence[str],
    error_touchpoints: Sequence[str] | None,
) -> tuple[list[dict], list[tuple[str, str]]]:
    """The drivers of :func:`nps_drivers` and the touchpoints left out (with the reason).

    Error touchpoints default to every touchpoint whose name contains ``"error"``.
    """
    errors = (
        set(error_touchpoints)
        if error_touchpoints is not None
        else {c[4:] for c in feat.columns if c.startswith("hit:") and "error" in c}
    )
    specs, left = _driver_specs(feat, min_share, set(support_touchpoints) | errors)
    if not specs:
        raise DataError(
            "nps_drivers found no driver that varies between respondents (every touchpoint was hit by "
            f"almost all or almost none of the {feat.height} respondents). Lower min_share (now {min_share})."
        )
    return specs, left


def _driver_weights(
    feat_x: pl.DataFrame, specs: list[dict], n_boot: int, seed: int
) -> tuple[dict[str, np.ndarray], float, np.ndarray]:
    """``({importance, importance_pct, ci_low, ci_high}, R², bootstrap R²s)`` per driver.

    A driver's weight is the sum of its design columns' relative weights (its part of R²);
    ``importance_pct`` is that part as a share of R² (%), with bootstrap 95% intervals.
    """
    design = _design(feat_x, specs)
    X = design.to_numpy()
    y = feat_x["score"].cast(pl.Float64).to_numpy()
    groups = [[design.columns.index(c) for c in s["columns"]] for s in specs]

    def by_driver(w: np.ndarray) -> np.ndarray:
        return np.array([w[g].sum() for g in groups])

    w, r2 = relative_weights(X, y)
    imp = by_driver(w)
    raw_w, boot_r2 = bootstrap_weights(X, y, n_boot, seed)
    boot_w = np.array([by_driver(wb) for wb in raw_w])
    pct = 100 * imp / r2 if r2 > 0 else np.full(len(specs), np.nan)
    # Percentile intervals of each driver's raw weight (its part of R²), expressed as a share
    # of the model's R². Intervals of the share itself are biased: resampling noise gives
    # every weak driver a little weight, which is taken from the dominant driver's share.
    w_lo = np.nanquantile(boot_w, 0.025, axis=0)
    w_hi = np.nanquantile(boot_w, 0.975, axis=0)
    ci_low = np.clip(100 * w_lo / r2, 0.0, 100.0) if r2 > 0 else np.full(len(specs), np.nan)
    ci_high = np.clip(100 * w_hi / r2, 0.0, 100.0) if r2 > 0 else np.full(len(specs), np.nan)
    weights = {"importance": imp, "importance_pct": pct, "ci_low": ci_low, "ci_high": ci_high}
    return weights, r2, boot_r2


def _exposure_performance(feat_x: pl.DataFrame, specs: list[dict]) -> pl.DataFrame:
    """Per driver: how many respondents were exposed, and the NPS and mean score of the
    exposed and of the others (``n_exposed, share_exposed, performance, nps_not_exposed,
    mean_score_exposed, mean_score_not_exposed, share_detractors_exposed``)."""
    score = pl.col("score")
    perf_rows = []
    for s in specs:
        e = pl.col(s["exposed"]).cast(pl.Boolean)
        perf_rows.append(
            feat_x.select(
                pl.lit(s["driver"]).alias("driver"),
                e.sum().cast(pl.Int64).alias("n_exposed"),
                e.cast(pl.Float64).mean().alias("share_exposed"),
                (100.0 * ((score >= 9).filter(e).mean() - (score <= 6).filter(e).mean())).alias(
                    "performance"
                ),
                (100.0 * ((score >= 9).filter(~e).mean() - (score <= 6).filter(~e).mean())).alias(
                    "nps_not_exposed"
                ),
                score.filter(e).cast(pl.Float64).mean().alias("mean_score_exposed"),
                score.filter(~e).cast(pl.Float64).mean().alias("mean_score_not_exposed"),
                (score <= 6).filter(e).mean().alias("share_detractors_exposed"),
            )
        )
    return pl.concat(perf_rows)


# --------------------------------------------------------------------------------------------
# key-driver analysis on survey items (attribute ratings)
# --------------------------------------------------------------------------------------------
#: Quadrant meanings of the attribute importance × performance chart.
ATTRIBUTE_QUADRANTS: dict[str, str] = {
    "fix first": "matters a lot and is rated below the other attributes",
    "protect": "matters a lot and is rated above the other attributes",
    "monitor": "matters little; rated below the other attributes",
    "maintain": "matters little; rated above the other attributes",
}


def bootstrap_weights(
    X: np.ndarray, y: np.ndarray, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Relative weights (:func:`relative_weights`) of ``n_boot`` resamples of the rows.

    Returns
    -------
    (weights, r2)
        ``weights`` is ``n_boot × columns``; ``r2`` the model R² of each resample.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(50, 2))
    >>> w, r2 = bootstrap_weights(X, X[:, 0] + rng.normal(size=50), n_boot=20, seed=0)
    >>> w.shape, bool(np.allclose(w.sum(axis=1), r2))
    ((20, 2), True)
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    boot_w = np.empty((n_boot, X.shape[1]))
    boot_r2 = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        boot_w[b], boot_r2[b] = relative_weights(X[idx], y[idx])
    return boot_w, boot_r2


@dataclass(frozen=True)
class AttributeDrivers:
    """Result of :func:`attribute_drivers`: which rated attributes move the outcome question.

    Attributes
    ----------
    table : DataFrame
        One row per attribute (see :func:`attribute_drivers`), sorted by importance.
    r2, r2_ci_low, r2_ci_high : float
        Variance of the outcome the attributes explain together, with its bootstrap interval.
    n_respondents : int
        Responses analysed (those that answered the outcome and every attribute).
    n_incomplete : int
        Responses left out because they skipped the outcome or an attribute.
    outcome, outcome_label : str
        The outcome question and what readers call it.
    """

    table: pl.DataFrame
    r2: float
    r2_ci_low: float
    r2_ci_high: float
    n_respondents: int
    n_incomplete: int
    outcome: str
    outcome_label: str

    def __repr__(self) -> str:
        return (
            f"AttributeDrivers({self.table.height} attributes -> {self.outcome}, "
            f"{self.n_respondents} responses, R²={self.r2:.3f} [{self.r2_ci_low:.3f}, {self.r2_ci_high:.3f}])"
        )

    def reading(self, top: int = 3) -> list[str]:
        """Plain-language sentences on the attributes that matter most."""
        lines = [
            f"Together the {self.table.height} rated attributes explain {100 * self.r2:.0f}% "
            f"(95% interval {100 * self.r2_ci_low:.0f}–{100 * self.r2_ci_high:.0f}%) of the variation in "
            f"'{self.outcome_label}' over {self.n_respondents:,} responses"
            + (
                f" ({self.n_incomplete:,} more skipped a question and are left out)."
                if self.n_incomplete
                else "."
            )
        ]
        for row in self.table.head(top).iter_rows(named=True):
            lines.append(
                f"#{row['rank']} {row['label']}: {row['importance_pct']:.0f}% of the explained "
                f"variation (95% interval {row['ci_low']:.0f}–{row['ci_high']:.0f}%), rated "
                f"{row['performance']:.0f}/100 on average — quadrant '{row['quadrant']}': "
                f"{ATTRIBUTE_QUADRANTS[row['quadrant']]}."
            )
        fix = self.table.filter(pl.col("quadrant") == "fix first")["label"].to_list()
        if fix:
            lines.append("Fix first: " + ", ".join(fix) + ".")
        return lines


def _attribute_questions(fb: pl.LazyFrame, questions: pl.DataFrame | None) -> pl.DataFrame:
    """The question table to use: given, or the rating questions found in the answers."""
    if questions is not None:
        need = {"question", "label", "survey", "scale_low", "scale_high"}
        missing = need - set(questions.columns)
        if missing:
            raise ParameterError(
                "The 'questions' parameter must be a question table (cxlab.contract.questions.question_table) "
                f"with columns {', '.join(sorted(need))}. Missing: {', '.join(sorted(missing))}."
            )
        return questions
    return (
        fb.group_by("question")
        .agg(
            pl.col("survey").first(),
            pl.col("score").min().alias("scale_low"),
            pl.col("score").max().alias("scale_high"),
        )
        .with_columns(pl.col("question").alias("label"))
        .sort("question")
        .collect()
    )


def attribute_drivers(
    feedback: FrameLike,
    questions: pl.DataFrame | None = None,
    *,
    outcome: str | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> AttributeDrivers:
    """Classic key-driver analysis on survey items: the outcome regressed on attribute ratings.

    Each response that answered the outcome question (the NPS "likely to recommend" 0–10, or
    an overall satisfaction) and every attribute (the ``rating`` questions: "rate delivery /
    price / support") is one observation. The R² of the linear regression of the outcome on
    the attributes is split into one share per attribute with Johnson's (2000) relative
    weights (:func:`relative_weights`, the same implementation as the journey drivers of
    :func:`nps_drivers`), with percentile intervals from a bootstrap over responses (the
    weight's interval divided by R², as there). Performance is the attribute's mean rating
    rescaled to 0–100 over its scale; the quadrant crosses importance (at least the average
    share, 100 / number of attributes) with performance (at least the attributes' average).
    This follows the relative-weights key-driver analysis of Tonidandel & LeBreton's RWA-Web.

    Parameters
    ----------
    feedback : DataFrame or LazyFrame
        Canonical feedback with ``question`` (answers of one response share
        ``customer_id`` and ``timestamp``).
    questions : DataFrame, optional
        The question table (:func:`cxlab.contract.questions.question_table`): labels and scales.
        Default: every question whose answers have ``survey == "rating"``, scale from the
        answers seen.
    outcome : str, optional
        The outcome question (default: the NPS question, else the CSAT question).
    n_boot : int
        Bootstrap resamples (>= 50).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    AttributeDrivers
        ``table`` columns: ``rank, question, label, importance`` (share of the outcome's
        variance; the weights add up to R²), ``importance_pct`` (% of the explained
        variance, adds up to 100), ``ci_low, ci_high`` (bootstrap 95%), ``mean`` (the mean
        rating), ``performance`` (0–100), ``n, quadrant``.

    Examples
    --------
    >>> a = [1, 2, 3, 4, 5] * 4
    >>> fb = pl.DataFrame({
    ...     "customer_id": [f"c{i}" for i in range(20)] * 3, "timestamp": list(range(20)) * 3,
    ...     "question": ["nps"] * 20 + ["delivery"] * 20 + ["price"] * 20,
    ...     "survey": ["nps"] * 20 + ["rating"] * 40,
    ...     "score": [2 * x for x in a] + a + [5, 1, 3, 1, 5] * 4})
    >>> kd = attribute_drivers(fb, n_boot=50)
    >>> kd.table.select("question", "importance_pct").rows()  # delivery explains it all
    [('delivery', 100.0), ('price', 0.0)]
    """
    if not isinstance(n_boot, int) or n_boot < 50:
        raise ParameterError(
            f"The 'n_boot' parameter must be an int >= 50. Got {n_boot!r} instead."
        )
    fb = as_lazy(feedback, "feedback", ["customer_id", "timestamp", "question", "survey", "score"])
    qt = _attribute_questions(fb, questions)
    outcome, attrs = _outcome_and_attributes(qt, outcome)
    names = attrs["question"].to_list()
    wide = _responses_wide(fb, [outcome, *names])
    complete = wide.drop_nulls([outcome, *names])
    if complete.height < 10:
        raise DataError(
            f"attribute_drivers needs at least 10 responses that answered {outcome!r} and every "
            f"attribute; found {complete.height} (of {wide.height})."
        )
    X = complete.select(names).to_numpy()
    y = complete.get_column(outcome).to_numpy()
    w, r2 = relative_weights(X, y)
    boot_w, boot_r2 = bootstrap_weights(X, y, n_boot, seed)
    scale = 100 / r2 if r2 > 0 else float("nan")
    lo_w = np.quantile(boot_w, 0.025, axis=0)
    hi_w = np.quantile(boot_w, 0.975, axis=0)
    means = complete.select(pl.col(names).mean()).row(0)
    low = attrs["scale_low"].cast(pl.Float64).to_numpy()
    high = attrs["scale_high"].cast(pl.Float64).to_numpy()
    perf = 100 * (np.array(means) - low) / np.where(high > low, high - low, np.nan)
    table = (
        pl.DataFrame(
            {
                "question": names,
                "label": attrs["label"].to_list(),
                "importance": w,
                "importance_pct": np.round(w * scale, 9),
                "ci_low": np.clip(lo_w * scale, 0, 100),
                "ci_high": np.clip(hi_w * scale, 0, 100),
                "mean": means,
                "performance": perf,
                "n": [complete.height] * len(names),
            }
        )
        .sort(["importance_pct", "question"], descending=[True, False], nulls_last=True)
        .with_row_index("rank", offset=1)
    )
    table = table.with_columns(
        _quadrant(
            pl.col("importance_pct") >= 100.0 / len(names),
            pl.col("performance") >= float(np.nanmean(perf)),
        )
    )
    labels = dict(zip(qt["question"], qt["label"], strict=True))
    return AttributeDrivers(
        table=table,
        r2=r2,
        r2_ci_low=float(np.quantile(boot_r2, 0.025)),
        r2_ci_high=float(np.quantile(boot_r2, 0.975)),
        n_respondents=complete.height,
        n_incomplete=wide.height - complete.height,
        outcome=outcome,
        outcome_label=labels.get(outcome, outcome),
    )


def _outcome_and_attributes(qt: pl.DataFrame, outcome: str | None) -> tuple[str, pl.DataFrame]:
    """The outcome question (default: the NPS one, else the CSAT one) and the rated
    attributes' rows of the question table, or a DataError saying which is missing."""
    surveys = dict(zip(qt["question"], qt["survey"], strict=True))
    if outcome is None:
        outcome = next((q for s in ("nps", "csat") for q, v in surveys.items() if v == s), None)
    if outcome is None or outcome not in surveys:
        raise DataError(
            f"attribute_drivers needs an outcome question (an NPS or overall satisfaction "
            f"question); {'none is declared' if outcome is None else repr(outcome) + ' is not a question'}. "
            f"Questions: {', '.join(surveys)}."
        )
    attrs = qt.filter((pl.col("survey") == "rating") & (pl.col("question") != outcome))
    if attrs.height == 0:
        raise DataError(
            'attribute_drivers needs rated attributes (questions of kind = "rating", such as '
            "'rate delivery / price / support'); the feedback has none."
        )
    return outcome, attrs


def _responses_wide(fb: pl.LazyFrame, questions: list[str]) -> pl.DataFrame:
    """One row per response (``customer_id, timestamp``), one column of scores per question
    (null when not answered; a question answered twice in a response counts its mean)."""
    wide = (
        fb.filter(pl.col("question").is_in(questions) & pl.col("score").is_not_null())
        .group_by("customer_id", "timestamp", "question")
        .agg(pl.col("score").cast(pl.Float64).mean())
        .collect()
        .pivot(on="question", index=["customer_id", "timestamp"], values="score")
        .sort("customer_id", "timestamp")
    )
    for c in questions:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    return wide


def _quadrant(high: pl.Expr, good: pl.Expr) -> pl.Expr:
    """``quadrant`` of the importance × performance chart: fix first, protect, monitor,
    maintain (see :data:`ATTRIBUTE_QUADRANTS`)."""
    return (
        pl.when(high & ~good)
        .then(pl.lit("fix first"))
        .when(high)
        .then(pl.lit("protect"))
        .when(~good)
        .then(pl.lit("monitor"))
        .otherwise(pl.lit("maintain"))
        .alias("quadrant")
    )
