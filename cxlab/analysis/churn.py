"""Churn clusters, churn drivers and retention curves over the customer feature table.

* :class:`ChurnClusters` groups customers (KMeans with k chosen by silhouette, or a Gaussian
  mixture, or HDBSCAN), checks how stable the grouping is under resampling, and profiles
  each cluster: size, churn rate with a Wilson interval, the features that set it apart and
  a plain-English label.
* :func:`churn_drivers` asks which features go with churn: a regularised logistic regression
  and a gradient-boosting classifier, cross-validated ROC AUC, permutation importances with
  intervals and partial-dependence curves.
* :func:`retention_curves` draws Kaplan–Meier retention curves per group (lifelines) with
  confidence bands and a log-rank test between the groups.

Inputs are the frames of :func:`cxlab.analysis.features.customer_features` and
:func:`cxlab.analysis.features.churn_labels`. The polars feature table is turned into one numpy
matrix at the scikit-learn boundary; column names travel alongside.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import clone
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import partial_dependence, permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, roc_auc_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, QuantileTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from cxlab.analysis.stats import SMALL_N, wilson_bounds
from cxlab.errors import DataError, ParameterError, did_you_mean
from cxlab.params import renamed

__all__ = [
    "ALGORITHMS",
    "SCALINGS",
    "ChurnClusters",
    "ChurnDrivers",
    "ClusterStabilityWarning",
    "OVERALL",
    "RetentionCurves",
    "churn_drivers",
    "retention_curves",
]

#: Clustering algorithms :class:`ChurnClusters` offers.
ALGORITHMS: tuple[str, ...] = ("kmeans", "gmm", "hdbscan")
#: Scalings: ``log1p`` (signed log1p, then standardise: suits skewed counts), ``quantile``
#: (rank-based, to a normal shape), ``standard`` (standardise only).
SCALINGS: tuple[str, ...] = ("log1p", "quantile", "standard")
#: Mean adjusted Rand index below which a clustering is reported as unstable.
STABILITY_THRESHOLD: float = 0.6
#: Threads given to OpenMP/BLAS while fitting. Customer tables are small; with several
#: processes sharing a few cores, multi-threaded k-means and gradient boosting spin-wait
#: and run many times slower than on one thread.
N_THREADS: int = 1
_NOISE = -1


class ClusterStabilityWarning(UserWarning):
    """The chosen clustering changes a lot when the customers are resampled."""


# --------------------------------------------------------------------------------------
# the scikit-learn boundary
# --------------------------------------------------------------------------------------
def _signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def _scaler(scaling: str, n_rows: int, seed: int) -> Pipeline:
    """Median imputation, then the chosen scaling."""
    steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True))
    ]
    if scaling == "log1p":
        steps += [("log1p", FunctionTransformer(_signed_log1p)), ("standardise", StandardScaler())]
    elif scaling == "quantile":
        steps += [
            (
                "quantile",
                QuantileTransformer(
                    n_quantiles=max(2, min(1000, n_rows)),
                    output_distribution="normal",
                    random_state=seed,
                ),
            )
        ]
    else:
        steps += [("standardise", StandardScaler())]
    return Pipeline(steps)


def _numeric_columns(features: pl.DataFrame) -> list[str]:
    return [
        c
        for c, t in features.schema.items()
        if c != "customer_id" and (t.is_numeric() or t == pl.Boolean)
    ]


def _select_columns(
    features: pl.DataFrame, columns: Sequence[str] | None, exclude: Sequence[str], where: str
) -> list[str]:
    numeric = _numeric_columns(features)
    if columns is None:
        chosen = numeric
    else:
        for c in columns:
            if c not in numeric:
                raise ParameterError(
                    f"The 'columns' parameter of {where} names '{c}', which is not a numeric feature."
                    f"{did_you_mean(c, numeric)}"
                )
        chosen = list(columns)
    chosen = [c for c in chosen if c not in set(exclude)]
    if not chosen:
        raise ParameterError(f"{where} has no feature left to use (after 'columns' and 'exclude').")
    return chosen


def _join_labels(
    features: pl.DataFrame | pl.LazyFrame, labels: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """Features with churned / censored attached (missing labels are censored)."""
    f = features.lazy().collect() if isinstance(features, pl.LazyFrame) else features
    lab = labels.lazy().collect() if isinstance(labels, pl.LazyFrame) else labels
    for name, frame, cols in (
        ("features", f, ("customer_id",)),
        ("labels", lab, ("customer_id", "churned", "censored")),
    ):
        for c in cols:
            if c not in frame.columns:
                raise DataError(
                    f"The {name} frame has no '{c}' column.{did_you_mean(c, frame.columns)} Build it with "
                    f"cxlab.analysis.features.{'customer_features' if name == 'features' else 'churn_labels'}."
                )
    lab = lab.select(
        "customer_id",
        pl.col("churned").cast(pl.Boolean).alias("_churned"),
        pl.col("censored").cast(pl.Boolean).alias("_censored"),
    )
    return (
        f.sort("customer_id")
        .join(lab, on="customer_id", how="left", maintain_order="left")
        .with_columns(pl.col("_censored").fill_null(True), pl.col("_churned").fill_null(False))
    )


# --------------------------------------------------------------------------------------
# plain-English labels
# --------------------------------------------------------------------------------------
_PHRASES: dict[str, tuple[str, str]] = {
    # "overall": a group can have many contacts all told and none in the last 90 days
    "support_contacts": ("many support contacts overall", "few support contacts overall"),
    "recency_days": ("long inactive", "recently active"),
    "frequency": ("very active", "rarely active"),
    "n_purchases": ("repeat buyers", "few purchases"),
    "monetary": ("high spenders", "low spenders"),
    "tenure_days": ("long-standing", "newcomers"),
    "days_since_last_purchase": ("long since last purchase", "bought recently"),
    "last_nps": ("high NPS", "low NPS"),
    "mean_csat": ("high CSAT", "low CSAT"),
    "mean_ces": ("find it easy (high CES)", "find it hard (low CES)"),
    "n_feedback": ("answer surveys often", "rarely answer surveys"),
    "mean_sentiment": ("positive comments", "negative comments"),
    "furthest_stage": ("deep in the journey", "early in the journey"),
}


def describe_feature(feature: str, direction: float) -> str:
    """A short phrase for a feature being high (``direction > 0``) or low in a cluster.

    Examples
    --------
    >>> describe_feature("support_contacts", 1.2), describe_feature("last_nps", -0.8)
    ('many support contacts overall', 'low NPS')
    >>> describe_feature("channel_phone_share", 0.9), describe_feature("segment=retail", -1.0)
    ('mostly phone', 'few segment retail')
    >>> describe_feature("support_contacts", 2), describe_feature("support_contacts_90d", -1)
    ('many support contacts overall', 'no support contacts in the last 90 days')
    """
    high = direction > 0
    if feature in _PHRASES:
        return _PHRASES[feature][0 if high else 1]
    if feature.startswith("support_contacts_"):
        window = feature.removeprefix("support_contacts_")
        days = f"the last {window[:-1]} days" if window[:-1].isdigit() else f"the last {window}"
        return f"many support contacts in {days}" if high else f"no support contacts in {days}"
    if feature.startswith("stage_") and feature.endswith("_events"):
        stage = feature.removeprefix("stage_").removesuffix("_events")
        return f"many {stage} events" if high else f"few {stage} events"
    if feature.startswith("channel_") and feature.endswith("_share"):
        channel = feature.removeprefix("channel_").removesuffix("_share")
        return f"mostly {channel}" if high else f"little {channel}"
    if "=" in feature:
        column, level = feature.split("=", 1)
        return f"mostly {column} {level}" if high else f"few {column} {level}"
    return f"high {feature}" if high else f"low {feature}"


# --------------------------------------------------------------------------------------
# clusters
# --------------------------------------------------------------------------------------
def _cluster_differences(
    labels: np.ndarray, features: list[str], x: np.ndarray, z: np.ndarray
) -> pl.DataFrame:
    """:attr:`ChurnClusters.differences_`: each cluster against the rest, feature by feature.

    ``std_difference`` is the difference of the standardised means ``z`` in units of the
    feature's overall standard deviation; ``cluster_mean`` and ``rest_mean`` are the raw means
    ``x`` (missing values ignored). Sorted by cluster, then largest absolute difference first.
    """
    clusters = sorted(set(labels.tolist()))
    sd = z.std(axis=0)
    sd[sd == 0] = 1.0
    diff_rows = []
    for c in clusters:  # a handful of clusters: loop over clusters, not rows
        inside = labels == c
        rest = ~inside
        d = (z[inside].mean(axis=0) - (z[rest].mean(axis=0) if rest.any() else 0.0)) / sd
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
            r_mean = np.nanmean(x[rest], axis=0) if rest.any() else np.full(x.shape[1], np.nan)
            c_mean = np.nanmean(x[inside], axis=0)
        for j, name in enumerate(features):
            diff_rows.append((int(c), name, float(d[j]), float(c_mean[j]), float(r_mean[j])))
    return (
        pl.DataFrame(
            diff_rows,
            schema={
                "cluster": pl.Int64,
                "feature": pl.String,
                "std_difference": pl.Float64,
                "cluster_mean": pl.Float64,
                "rest_mean": pl.Float64,
            },
            orient="row",
        )
        .with_columns(pl.col("cluster_mean", "rest_mean").fill_nan(None))
        .sort(
            ["cluster", pl.col("std_difference").abs(), "feature"],
            descending=[False, True, False],
        )
    )


def _cluster_churn(frame: pl.DataFrame, labels: np.ndarray) -> pl.DataFrame:
    """``cluster, n, n_judged, n_churned, share, churn_rate, ci_low, ci_high, small_n``.

    Censored customers count in ``n`` but not in the churn rate (Wilson interval).
    """
    labelled = frame.select(pl.Series("cluster", labels), pl.col("_churned"), pl.col("_censored"))
    return (
        labelled.group_by("cluster")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            (~pl.col("_censored")).sum().cast(pl.Int64).alias("n_judged"),
            (pl.col("_churned") & ~pl.col("_censored")).sum().cast(pl.Int64).alias("n_churned"),
        )
        .with_columns(
            (pl.col("n") / pl.col("n").sum()).alias("share"),
            pl.when(pl.col("n_judged") > 0)
            .then(pl.col("n_churned") / pl.col("n_judged"))
            .alias("churn_rate"),
            *wilson_bounds("n_churned", "n_judged"),
            (pl.col("n_judged") < SMALL_N).alias("small_n"),
        )
    )


def _cluster_phrases(prof: pl.DataFrame) -> list[str]:
    """A plain label per cluster row: its two most distinct features (|difference| ≥ 0.3)."""
    phrases = []
    for c, feats, diffs in prof.select("cluster", "top_features", "top_differences").iter_rows():
        words = [
            describe_feature(f, d) for f, d in zip(feats, diffs, strict=True) if abs(d) >= 0.3
        ][:2]
        if c == _NOISE:
            phrases.append("noise (no dense cluster)")
        else:
            phrases.append(", ".join(words) if words else "typical customers")
    return phrases


def _highest_churn_cluster(prof: pl.DataFrame) -> int | None:
    """The cluster (noise excluded) with the highest churn rate; ties to the larger, then lower."""
    candidates = prof.filter((pl.col("cluster") != _NOISE) & pl.col("churn_rate").is_not_null())
    if not candidates.height:
        return None
    best = candidates.sort(["churn_rate", "n", "cluster"], descending=[True, True, False]).row(
        0, named=True
    )
    return int(best["cluster"])


class ChurnClusters:
    """Cluster customers on their features and profile each cluster's churn.

    Parameters
    ----------
    algorithm : {"kmeans", "gmm", "hdbscan"}
        KMeans, a Gaussian mixture (diagonal covariances) or HDBSCAN (finds its own number
        of clusters and leaves outliers as cluster -1, "noise").
    k : int or "auto"
        Number of clusters; ``"auto"`` picks the k in ``k_range`` with the best silhouette
        (ignored by HDBSCAN).
    k_range : (int, int)
        Inclusive range of k tried (and resampled for stability) when ``k="auto"``.
    scaling : {"log1p", "quantile", "standard"}
        See :data:`SCALINGS`. Missing values are filled with the column median first.
    n_boot : int
        Bootstrap resamples per k for the stability check (0 skips it).
    seed : int
        Seed of every random step (k-means starts, resampling, silhouette sample, PCA).
    columns : sequence of str, optional
        Feature columns to cluster on (default: every numeric column).
    exclude : sequence of str
        Feature columns to leave out.
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster (default: 2% of customers, at least 10).
    silhouette_sample : int
        Customers sampled to compute silhouettes (they cost n²).
    n_top : int
        Distinguishing features kept per cluster in ``profiles_``.
    n_bootstrap : int, optional
        Old name of ``n_boot`` (deprecated; stops working in the next release).

    Attributes
    ----------
    labels_ : ndarray of int
        Cluster of each customer, in the row order of ``customers_``.
    customers_ : list of str
        Customer ids, sorted.
    k_ : int
        Number of clusters (without HDBSCAN's noise).
    silhouette_ : float
        Silhouette of the chosen clustering (noise left out).
    stability_ : DataFrame
        ``k``, ``silhouette``, ``ari_mean``, ``ari_low``, ``ari_high`` (2.5–97.5 percentiles
        over the resamples), ``stable``.
    profiles_ : DataFrame
        One row per cluster: ``cluster``, ``n``, ``share``, ``n_judged`` (not censored),
        ``n_churned``, ``churn_rate``, ``ci_low``, ``ci_high``, ``small_n``,
        ``top_features``, ``top_differences``, ``label``, ``highest_churn``.
    differences_ : DataFrame
        Long form: ``cluster``, ``feature``, ``std_difference`` (cluster mean minus the mean
        of the other customers, on the scaled features, in overall standard deviations),
        ``cluster_mean`` and ``rest_mean`` in the feature's own units.
    highest_churn_cluster_ : int
        The cluster with the highest churn rate (noise excluded).
    embedding_ : ndarray of shape (n, 2)
        PCA of the scaled features, for the 2-D view.
    feature_names_in_ : list of str
        Feature columns used.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0)
    >>> calls = np.r_[rng.poisson(0.3, 60), rng.poisson(5, 40)]
    >>> f = pl.DataFrame({"customer_id": [f"c{i:03d}" for i in range(100)],
    ...                   "support_contacts": calls, "frequency": rng.poisson(8, 100)})
    >>> lab = pl.DataFrame({"customer_id": f["customer_id"], "churned": calls >= 3,
    ...                     "censored": [False] * 100})
    >>> model = ChurnClusters(k=2, n_boot=3).fit(f, lab)
    >>> model.profiles_.filter("highest_churn")["top_features"].item()[0]
    'support_contacts'
    """

    def __init__(
        self,
        algorithm: str = "kmeans",
        k: int | str = "auto",
        k_range: tuple[int, int] = (2, 8),
        scaling: str = "log1p",
        n_boot: int = 20,
        seed: int = 0,
        *,
        columns: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        min_cluster_size: int | None = None,
        silhouette_sample: int = 2000,
        n_top: int = 3,
        n_bootstrap: int | None = None,
    ) -> None:
        self.algorithm = algorithm
        self.k = k
        self.k_range = k_range
        self.scaling = scaling
        self.n_boot = renamed(n_bootstrap, n_boot, "n_bootstrap", "n_boot", "ChurnClusters")
        self.seed = seed
        self.columns = columns
        self.exclude = exclude
        self.min_cluster_size = min_cluster_size
        self.silhouette_sample = silhouette_sample
        self.n_top = n_top

    # -- parameters ------------------------------------------------------------------
    def _check_params(self, n: int) -> list[int]:
        if self.algorithm not in ALGORITHMS:
            raise ParameterError(
                f"The 'algorithm' parameter of ChurnClusters must be one of {', '.join(ALGORITHMS)}. "
                f"Got {self.algorithm!r} instead.{did_you_mean(str(self.algorithm), ALGORITHMS)}"
            )
        if self.scaling not in SCALINGS:
            raise ParameterError(
                f"The 'scaling' parameter of ChurnClusters must be one of {', '.join(SCALINGS)}. "
                f"Got {self.scaling!r} instead.{did_you_mean(str(self.scaling), SCALINGS)}"
            )
        if not isinstance(self.n_boot, int) or self.n_boot < 0:
            raise ParameterError(
                f"The 'n_boot' parameter of ChurnClusters must be an int >= 0. Got {self.n_boot!r} instead."
            )
        if n < 3:
            raise DataError(f"ChurnClusters needs at least 3 customers to cluster; got {n}.")
        if self.algorithm == "hdbscan":
            return []
        if self.k == "auto":
            lo, hi = self.k_range
            if not (isinstance(lo, int) and isinstance(hi, int) and 2 <= lo <= hi):
                raise ParameterError(
                    f"The 'k_range' parameter of ChurnClusters must be (low, high) ints with 2 <= low <= high. Got {self.k_range!r} instead."
                )
            ks = [k for k in range(lo, hi + 1) if k < n]
        else:
            if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < 2:
                raise ParameterError(
                    f"The 'k' parameter of ChurnClusters must be an int >= 2 or 'auto'. Got {self.k!r} instead."
                )
            ks = [self.k] if self.k < n else []
        if not ks:
            raise DataError(
                f"ChurnClusters cannot make {self.k} clusters (k_range={self.k_range}) out of {n} customers."
            )
        return ks

    # -- one clustering --------------------------------------------------------------
    def _cluster(self, z: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, Any]:
        if self.algorithm == "kmeans":
            model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(z)
            return model.labels_, model
        if self.algorithm == "gmm":
            model = GaussianMixture(
                n_components=k, covariance_type="diag", reg_covar=1e-4, n_init=2, random_state=seed
            ).fit(z)
            return model.predict(z), model
        size = self.min_cluster_size or max(10, round(0.02 * len(z)))
        model = HDBSCAN(min_cluster_size=min(size, len(z)), copy=True).fit(z)
        return model.labels_, model

    def _silhouette(self, z: np.ndarray, labels: np.ndarray) -> float:
        keep = labels != _NOISE
        n_labels = len(np.unique(labels[keep]))
        if n_labels < 2 or n_labels >= keep.sum():
            return math.nan
        sample = min(int(keep.sum()), self.silhouette_sample)
        return float(
            silhouette_score(z[keep], labels[keep], sample_size=sample, random_state=self.seed)
        )

    def _stability(self, z: np.ndarray, reference: np.ndarray, k: int) -> list[float]:
        """ARI between the full-data clustering and clusterings of bootstrap resamples."""
        rng = np.random.default_rng(self.seed)
        scores = []
        for b in range(self.n_boot):
            idx = rng.integers(0, len(z), len(z))
            seed = self.seed + 1 + b
            if self.algorithm == "hdbscan":
                # No predict(): compare on the customers drawn (first copy of each).
                uniq = np.unique(idx)
                labels, _ = self._cluster(z[uniq], k, seed)
                scores.append(adjusted_rand_score(reference[uniq], labels))
            else:
                _, model = self._cluster(z[idx], k, seed)
                scores.append(adjusted_rand_score(reference, model.predict(z)))
        return scores

    # -- fit ------------------------------------------------------------------------
    def fit(
        self, features: pl.DataFrame | pl.LazyFrame, labels: pl.DataFrame | pl.LazyFrame
    ) -> ChurnClusters:
        """Cluster, check stability, profile. Returns ``self``.

        Parameters
        ----------
        features : DataFrame
            From :func:`cxlab.analysis.features.customer_features` (``customer_id`` + numeric columns).
        labels : DataFrame
            From :func:`cxlab.analysis.features.churn_labels` (``customer_id``, ``churned``,
            ``censored``); customers without a label count as censored.
        """
        with threadpool_limits(limits=N_THREADS):
            return self._fit(features, labels)

    def _fit(
        self, features: pl.DataFrame | pl.LazyFrame, labels: pl.DataFrame | pl.LazyFrame
    ) -> ChurnClusters:
        frame = _join_labels(features, labels)
        names = _select_columns(
            frame.drop("_churned", "_censored"), self.columns, self.exclude, "ChurnClusters"
        )
        ks = self._check_params(frame.height)
        x = frame.select(pl.col(names).cast(pl.Float64)).to_numpy()
        self.scaler_ = _scaler(self.scaling, len(x), self.seed)
        z = self.scaler_.fit_transform(x)

        rows = []
        fits: dict[int, np.ndarray] = {}
        for k in ks or [0]:
            lab, _ = self._cluster(z, k, self.seed)
            fits[k] = lab
            ari = self._stability(z, lab, k) if self.n_boot else []
            rows.append(
                {
                    "k": k if self.algorithm != "hdbscan" else int(len(set(lab) - {_NOISE})),
                    "silhouette": self._silhouette(z, lab),
                    "ari_mean": float(np.mean(ari)) if ari else None,
                    "ari_low": float(np.percentile(ari, 2.5)) if ari else None,
                    "ari_high": float(np.percentile(ari, 97.5)) if ari else None,
                }
            )
        self.stability_ = pl.DataFrame(
            rows,
            schema={
                "k": pl.Int64,
                "silhouette": pl.Float64,
                "ari_mean": pl.Float64,
                "ari_low": pl.Float64,
                "ari_high": pl.Float64,
            },
        ).with_columns((pl.col("ari_mean") >= STABILITY_THRESHOLD).alias("stable"))

        if len(fits) == 1:
            chosen = next(iter(fits))
        else:  # best silhouette, ties to the smaller k
            sil = [
                (-(r["silhouette"] if not math.isnan(r["silhouette"]) else -2.0), r["k"])
                for r in rows
            ]
            chosen = min(sil)[1]
        self.labels_ = fits[chosen].astype(np.int64)
        row = next(r for r in rows if r["k"] == chosen or self.algorithm == "hdbscan")
        self.k_ = int(len(set(self.labels_.tolist()) - {_NOISE}))
        self.silhouette_ = row["silhouette"]
        self.stability_at_k_ = row["ari_mean"]
        if row["ari_mean"] is not None and row["ari_mean"] < STABILITY_THRESHOLD:
            warnings.warn(
                f"The {self.algorithm} clustering with k={self.k_} is unstable: bootstrap resamples "
                f"agree with it only at a mean adjusted Rand index of {row['ari_mean']:.2f} "
                f"(< {STABILITY_THRESHOLD}). Treat the clusters as tentative; try another k, "
                "scaling or fewer feature groups.",
                ClusterStabilityWarning,
                stacklevel=3,
            )

        self.customers_ = frame.get_column("customer_id").to_list()
        self.feature_names_in_ = names
        self.n_features_in_ = len(names)
        self.n_customers_ = frame.height
        self._profile(frame, x, z)
        pca = PCA(n_components=min(2, z.shape[1]), random_state=self.seed)
        emb = pca.fit_transform(z)
        self.embedding_ = emb if emb.shape[1] == 2 else np.c_[emb, np.zeros(len(emb))]
        self.pca_explained_ = pca.explained_variance_ratio_.tolist()
        self._churned = frame.get_column("_churned").to_numpy()
        self._censored = frame.get_column("_censored").to_numpy()
        return self

    def _profile(self, frame: pl.DataFrame, x: np.ndarray, z: np.ndarray) -> None:
        labels = self.labels_
        self.differences_ = _cluster_differences(labels, list(self.feature_names_in_), x, z)
        top = (
            self.differences_.group_by("cluster", maintain_order=True)
            .head(self.n_top)
            .group_by("cluster", maintain_order=True)
            .agg(
                pl.col("feature").alias("top_features"),
                pl.col("std_difference").alias("top_differences"),
            )
        )
        prof = _cluster_churn(frame, labels).join(top, on="cluster", how="left").sort("cluster")
        self.highest_churn_cluster_ = _highest_churn_cluster(prof)
        self.profiles_ = prof.with_columns(
            pl.Series("label", _cluster_phrases(prof), dtype=pl.String),
            (pl.col("cluster") == self.highest_churn_cluster_)
            .fill_null(False)
            .alias("highest_churn"),
        ).select(
            "cluster",
            "n",
            "share",
            "n_judged",
            "n_churned",
            "churn_rate",
            "ci_low",
            "ci_high",
            "small_n",
            "top_features",
            "top_differences",
            "label",
            "highest_churn",
        )

    # -- views -------------------------------------------------------------------------
    def assignments(self) -> pl.DataFrame:
        """``customer_id``, ``cluster`` for every customer clustered (sorted by customer)."""
        self._check_fitted()
        return pl.DataFrame({"customer_id": self.customers_, "cluster": self.labels_})

    def chart(self, kind: str = "churn"):  # type: ignore[no-untyped-def]
        """Draw the fitted clusters (altair is imported only when drawing).

        ``kind="churn"``: churn rate per cluster with Wilson whiskers
        (:func:`cxlab.display.charts.churn.churn_rate_bars`); ``"profile"``: what sets each
        cluster apart (:func:`~cxlab.display.charts.churn.profile_heatmap`); ``"scatter"``: a
        sample of customers on the first two principal components
        (:func:`~cxlab.display.charts.churn.cluster_scatter`).
        """
        from cxlab.display.charts.churn import churn_rate_bars, cluster_scatter, profile_heatmap

        self._check_fitted()
        if kind == "churn":
            return churn_rate_bars(self.profiles_)
        if kind == "profile":
            return profile_heatmap(self.differences_)
        if kind == "scatter":
            return cluster_scatter(self.scatter_frame())
        raise ParameterError(
            "The 'kind' parameter of ChurnClusters.chart must be 'churn', 'profile' or "
            f"'scatter'. Got {kind!r} instead."
        )

    def scatter_frame(self, sample: int = 2000) -> pl.DataFrame:
        """A sample of customers in the 2-D PCA view, with their cluster's profile.

        Columns: ``customer_id``, ``pc1``, ``pc2``, ``cluster``, ``label``, ``cluster_churn_rate``,
        ``cluster_n``, ``churned`` (null when censored). At most ``sample`` rows, drawn with
        ``seed``, sorted by cluster and customer.
        """
        self._check_fitted()
        points = pl.DataFrame(
            {
                "customer_id": self.customers_,
                "pc1": self.embedding_[:, 0],
                "pc2": self.embedding_[:, 1],
                "cluster": self.labels_,
                "churned": self._churned,
                "censored": self._censored,
            }
        )
        if points.height > sample:
            points = points.sample(n=sample, seed=self.seed)
        prof = self.profiles_.select(
            "cluster",
            "label",
            pl.col("churn_rate").alias("cluster_churn_rate"),
            pl.col("n").alias("cluster_n"),
        )
        return (
            points.join(prof, on="cluster", how="left")
            .with_columns(pl.when(~pl.col("censored")).then(pl.col("churned")).alias("churned"))
            .drop("censored")
            .sort(["cluster", "customer_id"])
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise ParameterError(
                "This ChurnClusters is not fitted yet. Call fit(features, labels) first."
            )

    def __repr__(self) -> str:
        params = (
            f"algorithm={self.algorithm!r}, k={self.k!r}, k_range={self.k_range!r}, "
            f"scaling={self.scaling!r}, n_boot={self.n_boot}, seed={self.seed}"
        )
        if not hasattr(self, "labels_"):
            return f"ChurnClusters({params})"
        stab = "n/a" if self.stability_at_k_ is None else f"{self.stability_at_k_:.2f}"
        return (
            f"ChurnClusters({params}) fitted on {self.n_customers_} customers x {self.n_features_in_} "
            f"features: k={self.k_}, silhouette={self.silhouette_:.3f}, stability ARI={stab}, "
            f"highest-churn cluster={self.highest_churn_cluster_}"
        )


# --------------------------------------------------------------------------------------
# drivers
# --------------------------------------------------------------------------------------
@dataclass
class ChurnDrivers:
    """Result of :func:`churn_drivers`.

    Attributes
    ----------
    auc : DataFrame
        ``model``, ``auc_mean``, ``auc_sd``, ``n_folds``: cross-validated ROC AUC.
    fold_auc : DataFrame
        ``model``, ``fold``, ``auc``.
    importances : DataFrame
        ``model``, ``feature``, ``importance`` (mean drop in ROC AUC when the feature is
        shuffled, over folds × repeats), ``sd``, ``ci_low``, ``ci_high`` (2.5 and 97.5
        percentiles), ``rank`` (1 = strongest, per model).
    partial_dependence : DataFrame
        ``model``, ``feature``, ``value``, ``churn_probability``: the model's average
        predicted churn probability when everyone's ``feature`` is set to ``value``.
    n, n_churned : int
        Customers used (censored left out) and how many churned.
    features : list of str
        Features used.
    excluded : list of str
        Features left out on request, then those without any value.
    """

    auc: pl.DataFrame
    fold_auc: pl.DataFrame
    importances: pl.DataFrame
    partial_dependence: pl.DataFrame
    n: int
    n_churned: int
    features: list[str]
    excluded: list[str] = field(default_factory=list)
    models: dict[str, Any] = field(default_factory=dict, repr=False)

    def chart(self, kind: str = "importance"):  # type: ignore[no-untyped-def]
        """Draw the result (altair is imported only when drawing).

        ``kind="importance"``: permutation importance per model with 95% whiskers
        (:func:`cxlab.display.charts.churn.driver_importance`); ``"partial_dependence"``:
        predicted churn as each top driver changes
        (:func:`cxlab.display.charts.churn.partial_dependence_curves`).
        """
        from cxlab.display.charts.churn import driver_importance, partial_dependence_curves

        if kind == "importance":
            return driver_importance(self.importances)
        if kind == "partial_dependence":
            return partial_dependence_curves(self.partial_dependence)
        raise ParameterError(
            "The 'kind' parameter of ChurnDrivers.chart must be 'importance' or "
            f"'partial_dependence'. Got {kind!r} instead."
        )

    def top(self, n: int = 5, model: str = "gradient_boosting") -> list[str]:
        """The ``n`` strongest drivers of ``model``, strongest first."""
        return (
            self.importances.filter(pl.col("model") == model)
            .sort("rank")
            .head(n)["feature"]
            .to_list()
        )

    def __repr__(self) -> str:
        aucs = ", ".join(
            f"{m}={a:.3f}" for m, a in self.auc.select("model", "auc_mean").iter_rows()
        )
        return (
            f"ChurnDrivers(n={self.n}, churned={self.n_churned}, features={len(self.features)}, "
            f"ROC AUC: {aucs}; top drivers: {', '.join(self.top(3))})"
        )


def _driver_models(seed: int, n_rows: int) -> dict[str, Any]:
    return {
        "logistic": Pipeline(
            [
                ("scale", _scaler("log1p", n_rows, seed)),
                ("model", LogisticRegression(C=1.0, max_iter=2000)),
            ]
        ),
        # Handles missing values itself.
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=100,
            learning_rate=0.1,
            max_leaf_nodes=15,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=seed,
        ),
    }


def churn_drivers(
    features: pl.DataFrame | pl.LazyFrame,
    labels: pl.DataFrame | pl.LazyFrame,
    seed: int = 0,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    cv: int = 5,
    n_repeats: int = 5,
    n_pd: int = 4,
    pd_grid: int = 20,
    pd_sample: int = 1000,
) -> ChurnDrivers:
    """Which features go with churn: two models, cross-validated, permutation importances.

    Censored customers (too new to judge) are left out.

    Parameters
    ----------
    features, labels : DataFrame
        From :func:`cxlab.analysis.features.customer_features` and :func:`cxlab.analysis.features.churn_labels`.
    seed : int
        Seed of the folds, the models and the permutations.
    columns, exclude : sequence of str
        Features to use / leave out (see :data:`cxlab.analysis.features.LABEL_LEAKING_FEATURES` for
        features that restate an inactivity churn label).
    cv : int
        Stratified folds.
    n_repeats : int
        Permutations per feature and fold.
    n_pd : int
        Top drivers (by gradient-boosting importance) that get partial-dependence curves.
    pd_grid : int
        Most grid points per partial-dependence curve.
    pd_sample : int
        Customers the partial dependence averages over.

    Returns
    -------
    ChurnDrivers

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0)
    >>> calls = rng.poisson(1.5, 300)
    >>> f = pl.DataFrame({"customer_id": [f"c{i:03d}" for i in range(300)],
    ...                   "support_contacts": calls, "noise": rng.normal(size=300)})
    >>> lab = pl.DataFrame({"customer_id": f["customer_id"],
    ...                     "churned": rng.random(300) < np.where(calls >= 3, 0.7, 0.1),
    ...                     "censored": [False] * 300})
    >>> d = churn_drivers(f, lab, cv=3, n_repeats=2)
    >>> d.top(1)
    ['support_contacts']
    """
    if not isinstance(cv, int) or cv < 2:
        raise ParameterError(
            f"The 'cv' parameter of churn_drivers must be an int >= 2. Got {cv!r} instead."
        )
    with threadpool_limits(limits=N_THREADS):
        return _churn_drivers(
            features,
            labels,
            seed,
            columns=columns,
            exclude=exclude,
            cv=cv,
            n_repeats=n_repeats,
            n_pd=n_pd,
            pd_grid=pd_grid,
            pd_sample=pd_sample,
        )


def _churn_drivers(
    features: pl.DataFrame | pl.LazyFrame,
    labels: pl.DataFrame | pl.LazyFrame,
    seed: int,
    *,
    columns: Sequence[str] | None,
    exclude: Sequence[str],
    cv: int,
    n_repeats: int,
    n_pd: int,
    pd_grid: int,
    pd_sample: int,
) -> ChurnDrivers:
    if not isinstance(n_repeats, int) or n_repeats < 1:
        raise ParameterError(
            f"The 'n_repeats' parameter of churn_drivers must be an int >= 1. Got {n_repeats!r} instead."
        )
    frame = _join_labels(features, labels).filter(~pl.col("_censored"))
    names = _select_columns(frame.drop("_churned", "_censored"), columns, exclude, "churn_drivers")
    y = frame.get_column("_churned").to_numpy().astype(int)
    n_pos = int(y.sum())
    if min(n_pos, len(y) - n_pos) < cv:
        raise DataError(
            f"churn_drivers needs at least cv={cv} churned and {cv} retained customers (censored left "
            f"out); found {n_pos} churned and {len(y) - n_pos} retained. Use more data or a smaller cv."
        )
    # a feature without any value (no survey answered yet at the cut-off) says nothing, and
    # gradient boosting cannot bin it: leave it out, listed in ``excluded``
    empty = [c for c in names if frame.get_column(c).null_count() == frame.height]
    names = [c for c in names if c not in empty]
    if not names:
        raise DataError(
            f"churn_drivers: every feature left is empty ({', '.join(empty)}); there is "
            "nothing to learn from. Use other columns."
        )
    x = frame.select(pl.col(names).cast(pl.Float64)).to_numpy()
    models = _driver_models(seed, len(x))
    fold_auc, imp = _cross_validate(models, x, y, seed, cv, n_repeats)
    auc = fold_auc.group_by("model", maintain_order=True).agg(
        pl.col("auc").mean().alias("auc_mean"),
        pl.col("auc").std().alias("auc_sd"),
        pl.len().cast(pl.Int64).alias("n_folds"),
    )
    importances = _importance_table(imp, names)
    fitted = {name: clone(template).fit(x, y) for name, template in models.items()}
    top = (
        importances.filter(pl.col("model") == "gradient_boosting")
        .sort("rank")
        .head(n_pd)["feature"]
        .to_list()
    )
    partial = _partial_dependence(fitted, x, names, top, seed, pd_grid, pd_sample)
    return ChurnDrivers(
        auc=auc,
        fold_auc=fold_auc,
        importances=importances,
        partial_dependence=partial,
        n=len(y),
        n_churned=n_pos,
        features=names,
        excluded=[*exclude, *empty],
        models=fitted,
    )


def _cross_validate(
    models: dict[str, Any], x: np.ndarray, y: np.ndarray, seed: int, cv: int, n_repeats: int
) -> tuple[pl.DataFrame, dict[str, list[np.ndarray]]]:
    """``(fold_auc, importances)``: each model's test AUC per stratified fold, and its
    permutation importances on that fold (``{model: [(n_features, n_repeats) arrays]}``)."""
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    auc_rows, imp = [], {m: [] for m in models}
    for fold, (train, test) in enumerate(folds.split(x, y)):
        for name, template in models.items():
            model = clone(template).fit(x[train], y[train])
            auc_rows.append(
                (name, fold, float(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])))
            )
            result = permutation_importance(
                model,
                x[test],
                y[test],
                scoring="roc_auc",
                n_repeats=n_repeats,
                random_state=seed + fold,
            )
            imp[name].append(result.importances)  # (n_features, n_repeats)
    fold_auc = pl.DataFrame(
        auc_rows, schema={"model": pl.String, "fold": pl.Int64, "auc": pl.Float64}, orient="row"
    )
    return fold_auc, imp


def _importance_table(imp: dict[str, list[np.ndarray]], names: list[str]) -> pl.DataFrame:
    """``model, feature, importance, sd, ci_low, ci_high, rank``: the permutation importances
    of every fold and repeat pooled per feature (mean, sd and the 2.5–97.5 percentiles)."""
    imp_rows = []
    for name, parts in imp.items():
        values = np.concatenate(parts, axis=1)
        for j, feature in enumerate(names):
            v = values[j]
            imp_rows.append(
                (
                    name,
                    feature,
                    float(v.mean()),
                    float(v.std(ddof=1)) if v.size > 1 else 0.0,
                    float(np.percentile(v, 2.5)),
                    float(np.percentile(v, 97.5)),
                )
            )
    return (
        pl.DataFrame(
            imp_rows,
            orient="row",
            schema={
                "model": pl.String,
                "feature": pl.String,
                "importance": pl.Float64,
                "sd": pl.Float64,
                "ci_low": pl.Float64,
                "ci_high": pl.Float64,
            },
        )
        .sort(["model", "importance", "feature"], descending=[False, True, False])
        .with_columns(pl.int_range(1, pl.len() + 1).over("model").cast(pl.Int64).alias("rank"))
    )


def _partial_dependence(
    fitted: dict[str, Any],
    x: np.ndarray,
    names: list[str],
    top: list[str],
    seed: int,
    pd_grid: int,
    pd_sample: int,
) -> pl.DataFrame:
    """``model, feature, value, churn_probability``: each fitted model's average predicted
    churn over a grid of each ``top`` feature's observed values (at most ``pd_grid``
    quantiles), on at most ``pd_sample`` customers drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    rows_pd = x if len(x) <= pd_sample else x[np.sort(rng.choice(len(x), pd_sample, replace=False))]
    pd_rows = []
    for feature in top:
        j = names.index(feature)
        observed = x[:, j][~np.isnan(x[:, j])]
        if observed.size == 0:
            continue
        grid = np.unique(observed)
        if grid.size > pd_grid:
            grid = np.unique(
                np.quantile(observed, np.linspace(0.02, 0.98, pd_grid), method="nearest")
            )
        for name, model in fitted.items():
            pdp = partial_dependence(
                model,
                rows_pd,
                [j],
                custom_values={j: grid},
                kind="average",
                response_method="predict_proba",
                method="brute",
            )
            values = pdp["grid_values"][0]
            for v, p in zip(values, pdp["average"][0], strict=True):
                pd_rows.append((name, feature, float(v), float(p)))
    return pl.DataFrame(
        pd_rows,
        orient="row",
        schema={
            "model": pl.String,
            "feature": pl.String,
            "value": pl.Float64,
            "churn_probability": pl.Float64,
        },
    ).sort(["model", "feature", "value"])


# --------------------------------------------------------------------------------------
# survival
# --------------------------------------------------------------------------------------
@dataclass
class RetentionCurves:
    """Result of :func:`retention_curves`.

    Attributes
    ----------
    curves : DataFrame
        ``group``, ``day``, ``retention`` (Kaplan–Meier survival), ``ci_low``, ``ci_high``,
        ``at_risk``, on a common grid of days.
    summary : DataFrame
        ``group``, ``n``, ``n_churned``, ``median_days`` (null when more than half remain),
        ``small_n``.
    logrank : dict
        ``test_statistic``, ``p_value``, ``degrees_of_freedom`` of the log-rank test that all
        groups share one retention curve (None with fewer than two groups).
    by : str or None
        The grouping column (None for the overall curve, whose group is ``"all"``).
    at_times : DataFrame or None
        With ``times=``: the same columns as ``curves``, read at exactly those days.
    """

    curves: pl.DataFrame
    summary: pl.DataFrame
    logrank: dict[str, float] | None
    by: str | None
    at_times: pl.DataFrame | None = None

    def __repr__(self) -> str:
        lr = (
            "n/a"
            if self.logrank is None
            else f"chi2={self.logrank['test_statistic']:.1f}, p={self.logrank['p_value']:.3g}"
        )
        return f"RetentionCurves(by={self.by!r}, groups={self.summary.height}, log-rank {lr})"

    def chart(self, title: str = "Share of customers still active"):  # type: ignore[no-untyped-def]  # altair is imported only when drawing
        """The retention curves with their bands, drawn by
        :func:`cxlab.display.charts.churn.retention_chart`."""
        from cxlab.display.charts.churn import retention_chart

        return retention_chart(self.curves, title=title)


#: The group name of the overall curve (``retention_curves(labels)`` without groups).
OVERALL = "all"


def _km_read(kmf: Any, days: np.ndarray, durations: np.ndarray) -> dict[str, np.ndarray]:
    """S(t), its band and the number at risk at ``days``: the step function's value at the last
    event time <= t (lifelines' ``survival_function_at_times``)."""
    # lifelines answers in pandas: leave pandas at this boundary, straight to numpy
    times = kmf.survival_function_.index.to_numpy(dtype=float)
    at = np.searchsorted(times, days, side="right") - 1
    step = np.vstack(
        [
            np.ones((1, 3)),
            np.c_[
                kmf.survival_function_.to_numpy(),
                kmf.confidence_interval_survival_function_.to_numpy(),
            ],
        ]
    )
    values = step[at + 1]
    return {
        "day": days,
        "retention": values[:, 0],
        "ci_low": values[:, 1],
        "ci_high": values[:, 2],
        "at_risk": (durations[None, :] >= days[:, None]).sum(axis=1).astype(np.int64),
    }


def _times(times: Sequence[float] | None) -> np.ndarray | None:
    if times is None:
        return None
    try:
        out = np.asarray([float(t) for t in times], dtype=float)
    except (TypeError, ValueError):
        out = np.asarray([np.nan])
    if out.size == 0 or not np.all(np.isfinite(out)) or np.any(out < 0):
        raise ParameterError(
            "The 'times' parameter of retention_curves must be a list of days >= 0, e.g. "
            f"[30, 90, 180]. Got {times!r} instead."
        )
    return out


def retention_curves(
    labels: pl.DataFrame | pl.LazyFrame,
    groups: pl.DataFrame | pl.LazyFrame | None = None,
    *,
    by: str | None = None,
    level: float = 0.95,
    n_points: int = 100,
    times: Sequence[float] | None = None,
    alpha: float | None = None,
) -> RetentionCurves:
    """Kaplan–Meier retention overall or per group, with confidence bands and a log-rank test.

    The Kaplan–Meier estimator and its exponential Greenwood band are lifelines'
    (``KaplanMeierFitter``); S(t) is the share still active t days after first seen, a step
    function read at the last churn time at or before t (lifelines'
    ``survival_function_at_times``). Durations and churn come from
    :func:`cxlab.features.churn_labels`; with ``method = "inactivity"`` a customer silent for
    exactly ``inactivity_days`` (or more) at ``as_of`` counts as churned (``>=``).

    Parameters
    ----------
    labels : DataFrame
        From :func:`cxlab.features.churn_labels` (``customer_id``, ``duration_days``,
        ``event_observed``).
    groups : DataFrame, optional
        ``customer_id`` and the grouping column (a cluster, a segment…). None: one overall
        curve of every labelled customer (group ``"all"``, no log-rank test).
    by : str, optional
        The grouping column; needed only when ``groups`` has more than one other column.
    level : float
        The level of the bands, e.g. ``0.95`` (lifelines' exponential Greenwood interval,
        fitted with ``alpha = 1 - level``).
    n_points : int
        Days on the common grid the curves are evaluated at.
    times : list of float, optional
        Days at which to read S(t) exactly (``RetentionCurves.at_times``), e.g. ``[30, 90, 180]``.
    alpha : float, optional
        Deprecated: ``1 - level``. Still accepted for one release, with a
        ``DeprecationWarning``; use ``level`` (cxlab's one name for an interval's level).

    Returns
    -------
    RetentionCurves

    Examples
    --------
    >>> import polars as pl
    >>> lab = pl.DataFrame({"customer_id": list("abcdef"),
    ...                     "duration_days": [10.0, 20, 30, 5, 6, 7],
    ...                     "event_observed": [False, False, True, True, True, True]})
    >>> g = pl.DataFrame({"customer_id": list("abcdef"), "plan": ["x"] * 3 + ["y"] * 3})
    >>> rc = retention_curves(lab, g)
    >>> rc.summary.select("group", "n", "n_churned", "median_days").rows()
    [('x', 3, 1, 30.0), ('y', 3, 3, 6.0)]
    >>> overall = retention_curves(lab, times=[6])  # one curve: 2 of 6 churned by day 6
    >>> overall.at_times.select("group", "day", pl.col("retention").round(4)).rows()
    [('all', 6.0, 0.6667)]
    """
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    fit_alpha = _km_alpha(level, alpha)
    data, by = _km_data(labels, groups, by)
    read_at = _times(times)
    durations = data.get_column("duration_days").to_numpy()
    observed = data.get_column("event_observed").to_numpy().astype(bool)
    group = data.get_column("group").to_numpy()
    timeline = np.linspace(0.0, float(durations.max()), max(2, n_points))

    curve_parts, at_parts, summary_rows = [], [], []
    for name in sorted(set(group.tolist())):
        mask = group == name
        kmf = KaplanMeierFitter(alpha=fit_alpha).fit(durations[mask], observed[mask], label=name)
        curve_parts.append(
            pl.DataFrame({"group": name, **_km_read(kmf, timeline, durations[mask])})
        )
        if read_at is not None:
            at_parts.append(
                pl.DataFrame({"group": name, **_km_read(kmf, read_at, durations[mask])})
            )
        median = float(kmf.median_survival_time_)
        summary_rows.append(
            (
                name,
                int(mask.sum()),
                int(observed[mask].sum()),
                median if math.isfinite(median) else None,
            )
        )
    summary = pl.DataFrame(
        summary_rows,
        orient="row",
        schema={
            "group": pl.String,
            "n": pl.Int64,
            "n_churned": pl.Int64,
            "median_days": pl.Float64,
        },
    ).with_columns((pl.col("n") < SMALL_N).alias("small_n"))
    logrank = None
    if summary.height >= 2:
        test = multivariate_logrank_test(durations, group, observed)
        logrank = {
            "test_statistic": float(test.test_statistic),
            "p_value": float(test.p_value),
            "degrees_of_freedom": float(test.degrees_of_freedom),
        }
    return RetentionCurves(
        curves=pl.concat(curve_parts).sort(["group", "day"]),
        summary=summary,
        logrank=logrank,
        by=by,
        at_times=pl.concat(at_parts).sort(["group", "day"]) if at_parts else None,
    )


def _km_alpha(level: float, alpha: float | None) -> float:
    """lifelines' ``alpha`` (1 - level, rounded so that 0.95 gives exactly 0.05) from ``level``
    or the deprecated ``alpha``, checked."""
    if alpha is not None:
        warnings.warn(
            "retention_curves(alpha=...) is deprecated and will be removed in the next release: "
            f"pass level={1 - alpha:g} instead (level = 1 - alpha, the bands' confidence level).",
            DeprecationWarning,
            stacklevel=3,
        )
        level = 1.0 - alpha if isinstance(alpha, int | float) else alpha
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise ParameterError(
            f"retention_curves: level must be a probability between 0 and 1 (e.g. 0.95 for "
            f"95% bands); got {level!r}."
        )
    return float(alpha) if alpha is not None else round(1.0 - level, 12)


def _km_data(labels, groups, by) -> tuple[pl.DataFrame, str | None]:
    """``customer_id``, ``duration_days``, ``event_observed``, ``group`` (checked), and ``by``."""
    lab = labels.lazy().collect() if isinstance(labels, pl.LazyFrame) else labels
    for c in ("customer_id", "duration_days", "event_observed"):
        if c not in lab.columns:
            raise DataError(
                f"The labels frame has no '{c}' column.{did_you_mean(c, lab.columns)} Build it with "
                "cxlab.features.churn_labels."
            )
    base = lab.select("customer_id", "duration_days", "event_observed")
    if groups is None:
        if by is not None:
            raise ParameterError(
                f"retention_curves: by={by!r} needs a groups frame (customer_id and {by!r})."
            )
        data = base.with_columns(pl.lit(OVERALL).alias("group"))
    else:
        grp = groups.lazy().collect() if isinstance(groups, pl.LazyFrame) else groups
        if "customer_id" not in grp.columns:
            raise DataError(
                f"The groups frame has no 'customer_id' column.{did_you_mean('customer_id', grp.columns)}"
            )
        others = [c for c in grp.columns if c != "customer_id"]
        if by is None:
            if len(others) != 1:
                raise ParameterError(
                    f"retention_curves: the groups frame has columns {others}; say which one to "
                    "group by with by=…."
                )
            by = others[0]
        elif by not in others:
            raise ParameterError(
                f"The 'by' parameter of retention_curves names '{by}', which is not a column of "
                f"groups.{did_you_mean(by, others)}"
            )
        data = base.join(
            grp.select("customer_id", pl.col(by).cast(pl.String).alias("group")),
            on="customer_id",
            how="inner",
        )
    data = data.drop_nulls().sort(["group", "customer_id"])
    if data.height == 0:
        raise DataError("retention_curves: no customer has both a duration and a group.")
    return data, by
