"""Attribution of conversions (and revenue) to touchpoints or channels.

Journeys
--------
Each customer's events are ordered by ``(timestamp, source_row)`` (file order breaks ties) and
cut after every conversion event: a *journey* is the run of non-conversion events (the
*touches*) up to and including one conversion; events after a customer's last conversion form
one non-converting journey. A conversion with no touch since the previous conversion has
nothing to credit: rule-based models credit it to ``"(no touch)"``; the Markov model leaves it
out and reports it in ``unattributed``.

Rule-based models (credit of one conversion, split over its ``n`` touches)
------------------------------------------------------------------------
first
    All to the first touch.
last
    All to the last touch.
linear
    ``1/n`` to every touch (a touchpoint touched twice gets ``2/n``).
position
    U-shaped: ``w_first`` to the first, ``w_last`` to the last, the rest split evenly over the
    touches in between (default 40/40/20); one touch gets everything, two touches get
    ``w_first / (w_first + w_last)`` and ``w_last / (w_first + w_last)``.

Revenue (the ``revenue`` of the conversion event) is split in the same proportions.

Markov model (Anderl et al. 2016; the ChannelAttribution package)
-----------------------------------------------------------------
A first-order absorbing Markov chain over the states ``(start)``, the touch labels,
``(conversion)`` and ``(null)``: every journey ``t1 > … > tn`` contributes the transitions
``(start) → t1 → … → tn → (conversion)`` (or ``→ (null)`` when it did not convert), and the
transition probabilities are counts divided by the row's outgoing count. The conversion
probability ``P`` is the probability of absorption in ``(conversion)`` from ``(start)``, solved
exactly: ``(I − Q) x = r``, ``P = x[start]``, with ``Q`` the transient block and ``r`` the
one-step probabilities into ``(conversion)``. The *removal effect* of label ``c`` is
``1 − P₋c / P``, where ``P₋c`` is the same probability once every transition into ``c`` is
sent to ``(null)``. Credit: ``share_c = RE_c / Σ RE``; conversions (revenue) credited =
``share_c ×`` the conversions (revenue) of the attributed journeys. Bootstrap intervals resample
customers with replacement (percentile intervals, fixed seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from cxlab.contract.frames import as_text
from cxlab.contract.schema import DEFAULT_PURCHASE_TOUCHPOINTS
from cxlab.errors import DataError, ParameterError
from cxlab.events import ordered_paths, path_steps
from cxlab.params import as_list, check_int, renamed

__all__ = [
    "START_STATE",
    "CONVERSION_STATE",
    "NULL_STATE",
    "NO_TOUCH",
    "MarkovAttribution",
    "journeys",
    "rule_based_attribution",
    "markov_attribution",
    "compare_attribution",
]

START_STATE = "(start)"
CONVERSION_STATE = "(conversion)"
NULL_STATE = "(null)"
#: Label credited with conversions that had no touch since the previous conversion.
NO_TOUCH = "(no touch)"

Model = Literal["first", "last", "linear", "position"]
By = Literal["touchpoint", "channel"]
_MODELS = ("first", "last", "linear", "position")


def _check_by(by: str, func: str) -> None:
    if by not in ("touchpoint", "channel"):
        raise ParameterError(
            f"The 'by' parameter of {func} must be 'touchpoint' or 'channel'. Got {by!r} instead."
        )


def _journeys_lazy(
    events: pl.DataFrame | pl.LazyFrame, conversion: str | Sequence[str], by: str, func: str
) -> pl.LazyFrame:
    _check_by(by, func)
    conv = as_list(conversion, "conversion", func)
    if not conv:
        raise ParameterError(
            f"The 'conversion' parameter of {func} must name at least one touchpoint. Got {conversion!r}."
        )
    tp = ("touchpoint", "channel") if by == "channel" else ("touchpoint",)
    lf, key = ordered_paths(events, where=func, columns=tp)
    if "revenue" not in lf.collect_schema().names():
        lf = lf.with_columns(revenue=pl.lit(None, dtype=pl.Float64))
    cols = ["customer_id", "touchpoint", "revenue"] + (["channel"] if by == "channel" else [])
    is_conv = pl.col("touchpoint").is_in(conv)
    long = as_text(path_steps(lf, key, cols)).with_columns(is_conv=is_conv)
    # journey index = number of conversions strictly before the event (rows in path order)
    long = long.with_columns(
        journey=(
            pl.col("is_conv").cast(pl.UInt32).cum_sum().over(key)
            - pl.col("is_conv").cast(pl.UInt32)
        )
    )
    # sorted, so every later sum (polars or numpy) adds in one fixed order: byte-identical
    # numbers run to run, whatever order the group_by produced
    return (
        long.group_by(*key, "journey")
        .agg(
            pl.col("customer_id").first(),
            touches=pl.col(by).sort_by("step").filter(~pl.col("is_conv").sort_by("step")),
            converted=pl.col("is_conv").any(),
            revenue=pl.col("revenue").filter(pl.col("is_conv")).sum().fill_null(0.0),
        )
        .drop(key)
        .sort("customer_id", "journey")
    )


def journeys(
    events: pl.DataFrame | pl.LazyFrame,
    conversion: str | Sequence[str] = DEFAULT_PURCHASE_TOUCHPOINTS,
    *,
    by: By = "touchpoint",
) -> pl.DataFrame:
    """The journeys attribution works on: one row per (customer, journey).

    Returns
    -------
    DataFrame
        ``customer_id``, ``journey`` (0-based), ``touches`` (list of labels in order),
        ``converted``, ``revenue``, sorted by customer and journey.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a"] * 4, "timestamp": [t0] * 4,
    ...     "touchpoint": ["ad", "purchase", "email", "visit"]})
    >>> journeys(ev).select("touches", "converted").rows()
    [(['ad'], True), (['email', 'visit'], False)]
    """
    return (
        _journeys_lazy(events, conversion, by, "journeys").sort("customer_id", "journey").collect()
    )


# --------------------------------------------------------------------------------------------
# bootstrap helpers (loops over replicates; each replicate is vectorised)
# --------------------------------------------------------------------------------------------
def _customer_index(frame: pl.DataFrame) -> np.ndarray:
    """Deterministic 0-based customer index (sorted ids) for the rows of ``frame``."""
    ids = frame.select(pl.col("customer_id").unique().sort()).with_row_index("_c")
    return frame.join(ids, on="customer_id", how="left")["_c"].to_numpy(), ids.height


def _percentile(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - level) / 2
    with np.errstate(all="ignore"):
        if np.isnan(draws).all():
            nan = np.full(draws.shape[1], np.nan)
            return nan, nan
        return np.nanquantile(draws, alpha, axis=0), np.nanquantile(draws, 1 - alpha, axis=0)


def _check_boot(n_boot: int, level: float, func: str) -> None:
    check_int(n_boot, "n_boot", func, 0, 100_000)
    if not (isinstance(level, float) and 0 < level < 1):
        raise ParameterError(
            f"The 'level' parameter of {func} must be a float in (0, 1). Got {level!r} instead."
        )


# --------------------------------------------------------------------------------------------
# rule-based
# --------------------------------------------------------------------------------------------
def _rule_weight(model: str, position_weights: tuple[float, float]) -> pl.Expr:
    pos, n = pl.col("_pos"), pl.col("_n")
    if model == "first":
        return (pos == 0).cast(pl.Float64)
    if model == "last":
        return (pos == n - 1).cast(pl.Float64)
    if model == "linear":
        return 1.0 / n.cast(pl.Float64)
    wf, wl = position_weights
    middle = (1.0 - wf - wl) / (n - 2).cast(pl.Float64)
    return (
        pl.when(n == 1)
        .then(1.0)
        .when(n == 2)
        .then(pl.when(pos == 0).then(wf / (wf + wl)).otherwise(wl / (wf + wl)))
        .when(pos == 0)
        .then(wf)
        .when(pos == n - 1)
        .then(wl)
        .otherwise(middle)
    )


def _check_rule(model: str, position_weights: tuple[float, float], func: str) -> None:
    """Raise ParameterError unless ``model`` is a rule and the position weights are valid."""
    if model not in _MODELS:
        raise ParameterError(
            f"The 'model' parameter of {func} must be one of {', '.join(map(repr, _MODELS))}. "
            f"Got {model!r} instead. (The Markov model is markov_attribution.)"
        )
    wf, wl = position_weights
    if not (0 <= wf and 0 <= wl and wf + wl <= 1 and wf + wl > 0):
        raise ParameterError(
            f"The 'position_weights' parameter of {func} must be two non-negative weights with a "
            f"sum in (0, 1]. Got {position_weights!r} instead."
        )


def _rule_share_intervals(
    credit: pl.DataFrame, labels: list[str], by: str, n_boot: int, level: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of each label's share of credit, resampling customers.

    ``credit`` holds one row per credited touch (``customer_id``, ``<by>``, weight ``_w``);
    the intervals are in the order of ``labels``.
    """
    cust, n_c = _customer_index(credit)
    lab = credit.join(pl.DataFrame({by: labels}).with_row_index("_l"), on=by)["_l"].to_numpy()
    w8 = credit["_w"].to_numpy()
    rng = np.random.default_rng(seed)
    draws = np.empty((n_boot, len(labels)))
    for b in range(n_boot):
        w = np.bincount(rng.integers(0, n_c, n_c), minlength=n_c)
        per = np.bincount(lab, weights=w[cust] * w8, minlength=len(labels))
        draws[b] = per / per.sum()
    return _percentile(draws, level)


def rule_based_attribution(
    events: pl.DataFrame | pl.LazyFrame,
    conversion: str | Sequence[str] = DEFAULT_PURCHASE_TOUCHPOINTS,
    *,
    model: Model = "last",
    by: By = "touchpoint",
    position_weights: tuple[float, float] = (0.4, 0.4),
    n_boot: int = 0,
    level: float = 0.95,
    seed: int = 0,
    ci: float | None = None,
) -> pl.DataFrame:
    """First-touch, last-touch, linear or position-based credit of conversions and revenue.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events (``revenue`` optional).
    conversion : str or list of str, default ("purchase",)
        Touchpoints that are conversions.
    model : {"first", "last", "linear", "position"}, default "last"
        See the module docstring.
    by : {"touchpoint", "channel"}, default "touchpoint"
        Credit the touch's touchpoint or its channel.
    position_weights : (float, float), default (0.4, 0.4)
        First and last weights of the position model (the rest goes to the middle).
    n_boot : int, default 0
        Bootstrap replicates over customers for ``share`` intervals (0: none).
    level : float, default 0.95
        Interval level of the percentile bootstrap.
    seed : int, default 0
    ci : float, optional
        Old name of ``level`` (deprecated; stops working in the next release).

    Returns
    -------
    DataFrame
        ``<by>``, ``model``, ``conversions`` (credited, fractional), ``revenue``, ``share``
        (of all conversions), ``share_ci_low``, ``share_ci_high``; sorted by conversions
        descending, then label. ``conversions`` sums to the number of conversions.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a"] * 4, "timestamp": [t0] * 4,
    ...     "touchpoint": ["ad", "email", "visit", "purchase"], "revenue": [None, None, None, 10.0]})
    >>> out = rule_based_attribution(ev, model="position")
    >>> out.select("touchpoint", pl.col("conversions", "revenue").round(9)).rows()
    [('ad', 0.4, 4.0), ('visit', 0.4, 4.0), ('email', 0.2, 2.0)]
    """
    func = "rule_based_attribution"
    level = renamed(ci, level, "ci", "level", func)
    _check_rule(model, position_weights, func)
    wf, wl = position_weights
    _check_boot(n_boot, level, func)
    j = _journeys_lazy(events, conversion, by, func).filter(pl.col("converted"))
    credit = (
        j.with_columns(
            touches=pl.when(pl.col("touches").list.len() == 0)
            .then(pl.lit([NO_TOUCH]))
            .otherwise(pl.col("touches"))
        )
        .with_columns(_n=pl.col("touches").list.len())
        .with_columns(_pos=pl.int_ranges(0, pl.col("_n")))
        .explode(["touches", "_pos"])
        .with_columns(_w=_rule_weight(model, (wf, wl)))
        .select(
            "customer_id",
            pl.col("touches").alias(by),
            "_w",
            (pl.col("_w") * pl.col("revenue")).alias("_rev"),
        )
        .collect()
    )
    total = j.select(pl.len()).collect().item()
    if total == 0:
        raise DataError(
            f"{func}: no conversions found (conversion touchpoints {as_list(conversion, 'conversion', func)}). "
            "Check the 'conversion' parameter against the touchpoints in the events."
        )
    # Credits are fractions (1/3, 0.4 …): sum them with numpy over the rows in their sorted
    # order, so the totals are byte-identical run to run (a polars group-by float sum is not).
    codes = credit.select(pl.col(by).rank("dense").cast(pl.Int64) - 1)[by].to_numpy()
    names = credit.select(pl.col(by).unique().sort())[by]
    out = (
        pl.DataFrame(
            {
                by: names,
                "conversions": np.bincount(
                    codes, weights=credit["_w"].to_numpy(), minlength=len(names)
                ),
                "revenue": np.bincount(
                    codes, weights=credit["_rev"].to_numpy(), minlength=len(names)
                ),
            }
        )
        .with_columns(model=pl.lit(model), share=pl.col("conversions") / total)
        .sort(["conversions", by], descending=[True, False])
    )
    lo = hi = [None] * out.height
    if n_boot:
        lo, hi = _rule_share_intervals(credit, out[by].to_list(), by, n_boot, level, seed)
    return out.with_columns(
        share_ci_low=pl.Series(lo, dtype=pl.Float64), share_ci_high=pl.Series(hi, dtype=pl.Float64)
    ).select(by, "model", "conversions", "revenue", "share", "share_ci_low", "share_ci_high")


# --------------------------------------------------------------------------------------------
# Markov
# --------------------------------------------------------------------------------------------
def _absorb(counts: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Conversion probability and the m removal probabilities for a stack of count matrices.

    ``counts`` has shape (..., m + 3, m + 3): state 0 is start, 1..m the labels, m + 1
    conversion, m + 2 null. Returns ``P`` (...) and ``P_without`` (..., m).
    """
    t = m + 1
    out = counts[..., :t, :].astype(float)
    rows = out.sum(axis=-1, keepdims=True)
    prob = np.divide(out, rows, out=np.zeros_like(out), where=rows > 0)
    q, r = prob[..., :t, :t], prob[..., :t, t]
    eye = np.eye(t)
    p = np.linalg.solve(eye - q, r[..., None])[..., 0, 0]
    # removal: transitions into label c go to null (column c of Q zeroed), one system per label
    qs = np.repeat(q[..., None, :, :], m, axis=-3)
    idx = np.arange(m)
    qs[..., idx, :, idx + 1] = 0.0
    rs = np.repeat(r[..., None, :, None], m, axis=-3)
    p_wo = np.linalg.solve(eye - qs, rs)[..., 0, 0]
    return p, p_wo


@dataclass(frozen=True)
class MarkovAttribution:
    """Result of :func:`markov_attribution`.

    Attributes
    ----------
    by : str
        ``"touchpoint"`` or ``"channel"``.
    states : tuple of str
        Row/column labels of ``matrix``: ``(start)``, the labels (sorted), ``(conversion)``,
        ``(null)``.
    matrix : numpy.ndarray
        Row-stochastic transition matrix of the absorbing chain (absorbing rows are identity).
    transitions : pl.DataFrame
        The same, long: ``source``, ``target``, ``count``, ``probability`` (observed pairs).
    conversion_probability : float
        Probability of reaching ``(conversion)`` from ``(start)``.
    credit : pl.DataFrame
        Per label: ``conversion_probability_without``, ``removal_effect``, ``share``
        (normalised, sums to 1), ``conversions``, ``revenue``, and bootstrap
        ``*_ci_low`` / ``*_ci_high`` for removal_effect, share and conversions; sorted by share
        descending, then label.
    n_journeys, n_conversions : int
        Journeys and conversions used (journeys with at least one touch).
    revenue : float
        Revenue of the attributed conversions.
    unattributed : int
        Conversions without any touch, left out.
    n_boot, level, seed
        Bootstrap settings.
    """

    by: str
    states: tuple[str, ...]
    matrix: np.ndarray = field(repr=False)
    transitions: pl.DataFrame = field(repr=False)
    conversion_probability: float
    credit: pl.DataFrame = field(repr=False)
    n_journeys: int
    n_conversions: int
    revenue: float
    unattributed: int
    n_boot: int
    level: float
    seed: int

    def __repr__(self) -> str:
        return (
            f"MarkovAttribution(by={self.by!r}, {len(self.states) - 3} states, "
            f"{self.n_journeys:,} journeys, {self.n_conversions:,} conversions, "
            f"P(conversion)={self.conversion_probability:.4f}, n_boot={self.n_boot})"
        )

    def chart(self, value: str = "share"):  # type: ignore[no-untyped-def]
        """Credit per label with bootstrap whiskers (altair is imported only when drawing).

        Draws with :func:`cxlab.display.charts.paths.attribution_bars`; ``value`` is
        ``"share"`` or ``"conversions"``.
        """
        from cxlab.display.charts.paths import attribution_bars

        if value not in ("share", "conversions"):
            raise ParameterError(
                "The 'value' parameter of MarkovAttribution.chart must be 'share' or "
                f"'conversions'. Got {value!r} instead."
            )
        bars = self.bars().select(pl.lit("markov").alias("model"), pl.all())
        return attribution_bars(bars, value=value)

    def bars(self) -> pl.DataFrame:
        """The credit in :func:`compare_attribution`'s columns (one row per label).

        The share interval as ``ci_low`` / ``ci_high``, and the bootstrap's own interval of
        the conversions (drawn as is, not rescaled from the share).
        """
        return self.credit.select(
            pl.col(self.by).alias("label"),
            "conversions",
            "share",
            pl.col("share_ci_low").alias("ci_low"),
            pl.col("share_ci_high").alias("ci_high"),
            "conversions_ci_low",
            "conversions_ci_high",
        )

    @property
    def ci(self) -> float:
        """Old name of :attr:`level` (deprecated; stops working in the next release)."""
        return renamed(self.level, self.level, "ci", "level", "MarkovAttribution")  # type: ignore[return-value]

    @property
    def removal_effects(self) -> pl.DataFrame:
        """``<by>``, ``conversion_probability_without``, ``removal_effect`` and its interval."""
        return self.credit.select(
            self.by,
            "conversion_probability_without",
            "removal_effect",
            "removal_effect_ci_low",
            "removal_effect_ci_high",
        )


def _transition_pairs(j: pl.DataFrame, labels: list[str]) -> pl.DataFrame:
    """``customer_id, src, dst, n``: each customer's transitions between state codes.

    Codes: 0 is ``(start)``, 1..m the ``labels``, m + 1 ``(conversion)``, m + 2 ``(null)``;
    every journey runs from start through its touches to conversion or null.
    """
    m = len(labels)
    code = {lab: i + 1 for i, lab in enumerate(labels)}
    seq = pl.concat_list(
        pl.lit(0, dtype=pl.Int64),
        pl.col("touches").list.eval(pl.element().replace_strict(code, return_dtype=pl.Int64)),
        pl.when(pl.col("converted")).then(m + 1).otherwise(m + 2).cast(pl.Int64),
    )
    n = pl.col("_seq").list.len() - 1
    return (
        j.with_columns(_seq=seq)
        .select("customer_id", src=pl.col("_seq").list.head(n), dst=pl.col("_seq").list.tail(n))
        .explode(["src", "dst"])
        .group_by("customer_id", "src", "dst")
        .agg(n=pl.len())
        .sort("customer_id", "src", "dst")
    )


def _markov_intervals(
    j: pl.DataFrame, pairs: pl.DataFrame, m: int, n_boot: int, level: float, seed: int
) -> dict[str, np.ndarray]:
    """``<name>_ci_low`` / ``<name>_ci_high`` of removal_effect, share and conversions.

    Customers are resampled with replacement ``n_boot`` times; each replicate's chain is
    rebuilt from the resampled customers' transitions and all are solved in one batch.
    """
    size = m + 3
    flat = (pairs["src"] * size + pairs["dst"]).to_numpy()
    cnt = pairs["n"].to_numpy().astype(float)
    cust, n_c = _customer_index(pairs)
    per_cust = (
        j.group_by("customer_id")
        .agg(c=pl.col("converted").sum(), r=pl.col("revenue").filter(pl.col("converted")).sum())
        .sort("customer_id")
    )
    pc_idx, _ = _customer_index(per_cust)
    conv_c = np.zeros(n_c)
    conv_c[pc_idx] = per_cust["c"].to_numpy()
    rng = np.random.default_rng(seed)
    reps = np.empty((n_boot, size, size))
    convs = np.empty(n_boot)
    for b in range(n_boot):
        w = np.bincount(rng.integers(0, n_c, n_c), minlength=n_c)
        reps[b] = np.bincount(flat, weights=w[cust] * cnt, minlength=size * size).reshape(
            size, size
        )
        convs[b] = w @ conv_c
    bp, bwo = _absorb(reps, m)  # one batched solve over all replicates
    with np.errstate(all="ignore"):
        bre = np.where(bp[:, None] > 0, 1.0 - bwo / bp[:, None], np.nan)
        bshare = bre / bre.sum(axis=1, keepdims=True)
    ci_cols: dict[str, np.ndarray] = {}
    for name, draws in (
        ("removal_effect", bre),
        ("share", bshare),
        ("conversions", bshare * convs[:, None]),
    ):
        ci_cols[f"{name}_ci_low"], ci_cols[f"{name}_ci_high"] = _percentile(draws, level)
    return ci_cols


def _transition_matrix(
    counts: np.ndarray, states: tuple[str, ...]
) -> tuple[np.ndarray, pl.DataFrame]:
    """The row-stochastic matrix of the counts (absorbing rows identity), and its observed
    pairs long: ``source, target, count, probability``."""
    m = len(states) - 3
    rows = counts.sum(axis=1, keepdims=True)
    matrix = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    matrix[m + 1, m + 1] = matrix[m + 2, m + 2] = 1.0
    src, dst = np.nonzero(counts)
    long = pl.DataFrame(
        {
            "source": [states[i] for i in src],
            "target": [states[i] for i in dst],
            "count": counts[src, dst].astype(np.int64),
            "probability": matrix[src, dst],
        }
    )
    return matrix, long


def markov_attribution(
    events: pl.DataFrame | pl.LazyFrame,
    conversion: str | Sequence[str] = DEFAULT_PURCHASE_TOUCHPOINTS,
    *,
    by: By = "channel",
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
    ci: float | None = None,
) -> MarkovAttribution:
    """Markov-chain (removal-effect) attribution, solved exactly, with bootstrap intervals.

    Parameters
    ----------
    events : DataFrame or LazyFrame
        Canonical events (``revenue`` optional).
    conversion : str or list of str, default ("purchase",)
        Touchpoints that are conversions.
    by : {"touchpoint", "channel"}, default "channel"
        The chain's states.
    n_boot : int, default 200
        Bootstrap replicates, resampling customers with replacement (0: no intervals).
    level : float, default 0.95
        Interval level (percentile bootstrap).
    seed : int, default 0
        Seed of the bootstrap; the same seed gives the same intervals.
    ci : float, optional
        Old name of ``level`` (deprecated; stops working in the next release).

    Returns
    -------
    MarkovAttribution

    Examples
    --------
    The three-path example of Bryl (2016), see the tests: C1 > C2 > C3 converts, C1 and
    C2 > C3 do not.

    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "a", "a", "b", "c", "c"],
    ...     "timestamp": [t0] * 7, "touchpoint": ["C1", "C2", "C3", "purchase", "C1", "C2", "C3"]})
    >>> res = markov_attribution(ev, by="touchpoint", n_boot=0)
    >>> round(res.conversion_probability, 12)
    0.333333333333
    >>> res.credit.select("touchpoint", "removal_effect", "share").rows()
    [('C2', 1.0, 0.4), ('C3', 1.0, 0.4), ('C1', 0.5, 0.2)]
    """
    func = "markov_attribution"
    level = renamed(ci, level, "ci", "level", func)
    _check_boot(n_boot, level, func)
    j = _journeys_lazy(events, conversion, by, func).collect()
    empty = j.filter(pl.col("touches").list.len() == 0)
    unattributed = int(empty["converted"].sum())
    j = j.filter(pl.col("touches").list.len() > 0)
    if j.height == 0 or not j["converted"].any():
        raise DataError(
            f"{func}: no converting journey with at least one touch (conversion touchpoints "
            f"{as_list(conversion, 'conversion', func)}). Check the 'conversion' parameter."
        )
    labels = j.select(pl.col("touches").explode().unique().sort()).to_series().to_list()
    m = len(labels)
    states = (START_STATE, *labels, CONVERSION_STATE, NULL_STATE)
    pairs = _transition_pairs(j, labels)
    size = m + 3
    flat = (pairs["src"] * size + pairs["dst"]).to_numpy()
    cnt = pairs["n"].to_numpy().astype(float)
    counts = np.bincount(flat, weights=cnt, minlength=size * size).reshape(size, size)
    p, p_wo = _absorb(counts, m)
    re = 1.0 - p_wo / p
    share = re / re.sum()
    conv_total = int(j["converted"].sum())
    rev_total = float(j.filter(pl.col("converted"))["revenue"].sum())
    if n_boot:
        ci_cols = _markov_intervals(j, pairs, m, n_boot, level, seed)
    else:
        ci_cols = {}
        for name in ("removal_effect", "share", "conversions"):
            ci_cols[f"{name}_ci_low"] = ci_cols[f"{name}_ci_high"] = np.full(m, np.nan)
    credit = (
        pl.DataFrame(
            {
                by: labels,
                "conversion_probability_without": p_wo,
                "removal_effect": re,
                "share": share,
                "conversions": share * conv_total,
                "revenue": share * rev_total,
                **ci_cols,
            }
        )
        .with_columns(pl.col(c).fill_nan(None) for c in ci_cols)
        .sort(["share", by], descending=[True, False])
    )
    matrix, long = _transition_matrix(counts, states)
    return MarkovAttribution(
        by=by,
        states=states,
        matrix=matrix,
        transitions=long,
        conversion_probability=float(p),
        credit=credit,
        n_journeys=j.height,
        n_conversions=conv_total,
        revenue=rev_total,
        unattributed=unattributed,
        n_boot=n_boot,
        level=level,
        seed=seed,
    )


def compare_attribution(
    events: pl.DataFrame | pl.LazyFrame,
    conversion: str | Sequence[str] = DEFAULT_PURCHASE_TOUCHPOINTS,
    *,
    by: By = "channel",
    models: Sequence[str] = ("first", "last", "linear", "position", "markov"),
    n_boot: int = 100,
    level: float = 0.95,
    seed: int = 0,
    ci: float | None = None,
) -> pl.DataFrame:
    """Shares of credit of several models in one long frame (for the comparison chart).

    Parameters
    ----------
    events, conversion, by, n_boot, level, seed
        As in :func:`markov_attribution` (``level``: interval level of the bootstrap).
    models : sequence of str
        Models to compare, in this order: ``"first"``, ``"last"``, ``"linear"``,
        ``"position"``, ``"markov"``.
    ci : float, optional
        Old name of ``level`` (deprecated; stops working in the next release).

    Returns
    -------
    DataFrame
        ``model``, ``label``, ``conversions``, ``share``, ``ci_low``, ``ci_high`` (of the
        share; bootstrap over customers, ``n_boot`` replicates), ``conversions_ci_low``,
        ``conversions_ci_high`` (of the conversions: Markov's own bootstrap interval; for a
        rule, the share interval times the model's conversions), sorted by model (in the
        order given) and label.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> ev = pl.DataFrame({"customer_id": ["a"] * 3, "timestamp": [t0] * 3,
    ...     "touchpoint": ["ad", "email", "purchase"], "channel": ["social", "email", "web"]})
    >>> compare_attribution(ev, models=["first", "last"], n_boot=0).select("model", "label", "share").rows()
    [('first', 'email', 0.0), ('first', 'social', 1.0), ('last', 'email', 1.0), ('last', 'social', 0.0)]
    """
    func = "compare_attribution"
    level = renamed(ci, level, "ci", "level", func)
    frames = []
    for order, model in enumerate(models):
        if model == "markov":
            f = markov_attribution(
                events, conversion, by=by, n_boot=n_boot, level=level, seed=seed
            ).bars()
        elif model in _MODELS:
            f = rule_based_attribution(
                events, conversion, model=model, by=by, n_boot=n_boot, level=level, seed=seed
            ).select(
                pl.col(by).alias("label"),
                "conversions",
                "share",
                pl.col("share_ci_low").alias("ci_low"),
                pl.col("share_ci_high").alias("ci_high"),
                # a rule's credit sums to the conversions: its interval in conversions is the
                # share interval times that total
                *[
                    (pl.col(f"share_ci_{end}") * pl.col("conversions").sum()).alias(
                        f"conversions_ci_{end}"
                    )
                    for end in ("low", "high")
                ],
            )
        else:
            raise ParameterError(
                f"The 'models' parameter of {func} takes names among {', '.join((*_MODELS, 'markov'))}. "
                f"Got {model!r}."
            )
        frames.append(f.with_columns(model=pl.lit(model), _o=pl.lit(order)))
    out = pl.concat(frames, how="vertical_relaxed")
    # complete grid so that every model shows every label (0 where it gives no credit)
    grid = out.select("model", "_o").unique().join(out.select("label").unique(), how="cross")
    return (
        grid.join(out.drop("_o"), on=["model", "label"], how="left")
        .with_columns(pl.col("conversions", "share").fill_null(0.0))
        .sort("_o", "label")
        .select(
            "model",
            "label",
            "conversions",
            "share",
            "ci_low",
            "ci_high",
            "conversions_ci_low",
            "conversions_ci_high",
        )
    )
