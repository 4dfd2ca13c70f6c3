"""Churn clusters, drivers and retention curves: synthetic checks and planted truths.

Synthetic frames are built with a fixed numpy seed; the planted-truth tests read the sample
clients in data/sample (truth.json, key ``support_churn``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cxlab.analysis.churn import (
    ChurnClusters,
    ClusterStabilityWarning,
    churn_drivers,
    describe_feature,
    retention_curves,
)
from cxlab.analysis.features import (
    LABEL_LEAKING_FEATURES,
    churn_features,
    churn_labels,
    churn_rate,
    customer_features,
    feature_groups,
)
from cxlab.analysis.stats import wilson_interval
from cxlab.config import SAMPLE_DIR
from cxlab.contract.client_config import ChurnDefinition
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
from cxlab.display.charts.churn import churn_rate_bars, driver_importance, profile_heatmap
from cxlab.errors import DataError, ParameterError

# The sample clients are committed data: missing files fail the tests, they do not skip them.
MISSING_SAMPLE = (
    "the sample clients are committed in data/sample; restore them (git checkout data/sample) "
    "or regenerate them with `make sample`"
)


def three_groups(n_per: int = 60, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Three well-separated groups; group 2 calls support a lot and churns most.

    Churn is planted: group 0 none of 60, group 1 every 6th (10/60), group 2 every 2nd
    (30/60). Every 10th customer of group 0 is censored (6 of them).
    """
    rng = np.random.default_rng(seed)
    n = 3 * n_per
    group = np.repeat([0, 1, 2], n_per)
    support = np.where(group == 2, rng.poisson(8, n), rng.poisson(0.2, n))
    frequency = np.where(group == 1, rng.poisson(60, n), rng.poisson(6, n))
    nps = np.where(group == 2, rng.integers(0, 4, n), rng.integers(7, 11, n)).astype(float)
    idx = np.arange(n) % n_per
    churned = np.where(group == 0, False, np.where(group == 1, idx % 6 == 0, idx % 2 == 0))
    censored = (group == 0) & (idx % 10 == 0)
    ids = [f"c{i:03d}" for i in range(n)]
    features = pl.DataFrame(
        {
            "customer_id": ids,
            "support_contacts": support,
            "frequency": frequency,
            "last_nps": nps,
            "noise": rng.normal(size=n),
        }
    )
    labels = pl.DataFrame(
        {"customer_id": ids, "churned": churned, "censored": censored, "group": group}
    )
    return features, labels


def test_estimator_protocol():
    model = ChurnClusters(k=3, n_boot=2)
    assert "ChurnClusters(algorithm='kmeans', k=3" in repr(model)
    assert not hasattr(model, "labels_")  # __init__ only stores parameters
    f, lab = three_groups()
    assert model.fit(f, lab) is model
    assert "fitted on 180 customers x 4 features: k=3" in repr(model)


def test_kmeans_auto_k_recovers_planted_groups():
    f, lab = three_groups()
    # (with the pure-noise column left out: noise dilutes silhouettes towards k=2)
    model = ChurnClusters(k="auto", k_range=(2, 5), n_boot=4, exclude=["noise"]).fit(f, lab)
    assert model.k_ == 3
    assert model.stability_["k"].to_list() == [2, 3, 4, 5]
    assert model.silhouette_ == model.stability_["silhouette"].max()
    # every planted group is one cluster
    pairs = pl.DataFrame({"group": lab["group"], "cluster": model.labels_}).unique()
    assert pairs.height == 3
    # stable at the true k
    assert model.stability_.filter(pl.col("k") == 3)["ari_mean"].item() > 0.95


def test_profiles_churn_rate_wilson_and_highest_cluster():
    f, lab = three_groups()
    model = ChurnClusters(k=3, n_boot=0).fit(f, lab)
    prof = model.profiles_
    assert prof["n"].sum() == 180
    assert prof["share"].sum() == pytest.approx(1.0)
    # censored customers (6 in group 0) are left out of the churn rate
    assert sorted(prof["n_judged"].to_list()) == [54, 60, 60]
    for r in prof.iter_rows(named=True):
        lo, hi = wilson_interval(r["n_churned"], r["n_judged"])
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    top = prof.filter("highest_churn").row(0, named=True)
    assert top["cluster"] == model.highest_churn_cluster_
    assert (top["n_churned"], top["n_judged"]) == (30, 60)
    # the planted group calls support a lot and scores low NPS
    assert set(top["top_features"][:2]) == {"support_contacts", "last_nps"}
    assert "many support contacts overall" in top["label"] and "low NPS" in top["label"]
    assert prof.filter("highest_churn").height == 1
    # the fitted model draws itself: churn rate bars by default, its profile on request
    assert model.chart().to_dict() == churn_rate_bars(prof).to_dict()
    assert model.chart("profile").to_dict() == profile_heatmap(model.differences_).to_dict()
    with pytest.raises(ParameterError, match="'kind' parameter of ChurnClusters.chart"):
        model.chart("pie")


def test_differences_are_standardised_and_complete():
    f, lab = three_groups()
    model = ChurnClusters(k=3, n_boot=0).fit(f, lab)
    d = model.differences_
    assert d.height == 3 * 4
    hi = d.filter(
        (pl.col("cluster") == model.highest_churn_cluster_)
        & (pl.col("feature") == "support_contacts")
    )
    assert hi["std_difference"].item() > 1.0
    assert hi["cluster_mean"].item() > 5 > hi["rest_mean"].item()


def test_deterministic_with_seed():
    f, lab = three_groups(seed=3)
    a = ChurnClusters(k="auto", k_range=(2, 4), n_boot=3, seed=7).fit(f, lab)
    b = ChurnClusters(k="auto", k_range=(2, 4), n_boot=3, seed=7).fit(f, lab)
    assert np.array_equal(a.labels_, b.labels_)
    assert a.profiles_.equals(b.profiles_)
    assert a.stability_.equals(b.stability_)


def test_unstable_clustering_warns():
    # uniform noise in 8-D has no cluster structure: 7 clusters of it do not survive resampling
    rng = np.random.default_rng(1)
    x = rng.random((150, 8))
    f = pl.DataFrame({"customer_id": [f"c{i:03d}" for i in range(150)]}).with_columns(
        [pl.Series(f"x{j}", x[:, j]) for j in range(8)]
    )
    lab = pl.DataFrame(
        {"customer_id": f["customer_id"], "churned": [False] * 150, "censored": [False] * 150}
    )
    with pytest.warns(ClusterStabilityWarning, match="unstable"):
        model = ChurnClusters(k=7, n_boot=5).fit(f, lab)
    assert model.stability_["stable"].to_list() == [False]


def test_stable_clustering_does_not_warn():
    f, lab = three_groups()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClusterStabilityWarning)
        ChurnClusters(k=3, n_boot=4).fit(f, lab)


@pytest.mark.parametrize("algorithm", ["gmm", "hdbscan"])
def test_alternative_algorithms(algorithm):
    f, lab = three_groups()
    model = ChurnClusters(algorithm=algorithm, k=3, n_boot=2, min_cluster_size=15).fit(f, lab)
    top = model.profiles_.filter("highest_churn").row(0, named=True)
    assert top["top_features"][0] in {"support_contacts", "last_nps"}
    assert model.k_ >= 2


@pytest.mark.parametrize("scaling", ["quantile", "standard"])
def test_other_scalings(scaling):
    f, lab = three_groups()
    model = ChurnClusters(k=3, scaling=scaling, n_boot=0).fit(f, lab)
    assert model.profiles_.filter("highest_churn")["n_churned"].item() == 30


def test_columns_and_exclude():
    f, lab = three_groups()
    model = ChurnClusters(k=2, n_boot=0, exclude=["noise"]).fit(f, lab)
    assert model.feature_names_in_ == ["support_contacts", "frequency", "last_nps"]
    with pytest.raises(ParameterError, match="Did you mean 'frequency'"):
        ChurnClusters(columns=["frequncy"]).fit(f, lab)


def test_n_bootstrap_is_the_old_name_of_n_boot():
    # n_boot, as in every other bootstrap of cxlab; the old keyword still works for a release
    with pytest.warns(DeprecationWarning, match="Write n_boot=4"):
        model = ChurnClusters(k=3, n_bootstrap=4)
    assert model.n_boot == 4 and "n_boot=4" in repr(model)


def test_bad_parameters_are_explained():
    f, lab = three_groups(n_per=5)
    with pytest.raises(ParameterError, match="'algorithm'.*Did you mean 'kmeans'"):
        ChurnClusters(algorithm="kmean").fit(f, lab)
    with pytest.raises(ParameterError, match="'k' parameter.*Got 1"):
        ChurnClusters(k=1).fit(f, lab)
    with pytest.raises(DataError, match="'censored'"):
        ChurnClusters().fit(f, lab.drop("censored"))


def test_scatter_frame_is_sampled_and_sorted():
    f, lab = three_groups()
    model = ChurnClusters(k=3, n_boot=0).fit(f, lab)
    pts = model.scatter_frame(sample=50)
    assert pts.height == 50
    assert pts.equals(pts.sort(["cluster", "customer_id"]))
    assert pts["churned"].null_count() == pts.join(lab, on="customer_id").filter("censored").height
    assert model.scatter_frame(sample=50).equals(pts)


def test_describe_feature_phrases():
    assert (
        describe_feature("support_contacts_90d", 1) == "many support contacts in the last 90 days"
    )
    assert describe_feature("support_contacts_90d", -1) == "no support contacts in the last 90 days"
    assert describe_feature("stage_purchase_events", -1) == "few purchase events"
    assert describe_feature("age", 2) == "high age"


# ---- drivers ----------------------------------------------------------------------------
def test_drivers_find_the_planted_driver():
    rng = np.random.default_rng(0)
    n = 400
    calls = rng.poisson(1.5, n)
    f = pl.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "support_contacts": calls,
            "noise_a": rng.normal(size=n),
            "noise_b": rng.poisson(3, n),
        }
    )
    lab = pl.DataFrame(
        {
            "customer_id": f["customer_id"],
            "churned": rng.random(n) < np.where(calls >= 3, 0.7, 0.1),
            "censored": rng.random(n) < 0.1,
        }
    )
    d = churn_drivers(f, lab, cv=3, n_repeats=3, n_pd=2, pd_grid=8)
    assert d.n == int((~lab["censored"]).sum())
    assert d.auc["model"].to_list() == ["logistic", "gradient_boosting"]
    assert (d.auc["auc_mean"] > 0.7).all()
    for model in ("logistic", "gradient_boosting"):
        assert d.top(1, model=model) == ["support_contacts"]
    imp = d.importances
    assert (imp["ci_low"] <= imp["importance"]).all() and (
        imp["importance"] <= imp["ci_high"]
    ).all()
    # partial dependence: predicted churn rises with support contacts
    curve = d.partial_dependence.filter(
        (pl.col("feature") == "support_contacts") & (pl.col("model") == "gradient_boosting")
    )
    assert curve["churn_probability"][-1] > curve["churn_probability"][0] + 0.3
    assert "support_contacts" in repr(d)
    assert d.chart().to_dict() == driver_importance(d.importances).to_dict()


def test_drivers_need_both_classes():
    f, lab = three_groups(n_per=5)
    with pytest.raises(DataError, match="churned and .* retained"):
        churn_drivers(f, lab.with_columns(pl.lit(False).alias("churned")), cv=3)


# ---- survival ---------------------------------------------------------------------------
def km_fixture() -> tuple[pl.DataFrame, pl.DataFrame]:
    # x: 10 (still active), 20 (still active), 30 (churned) -> retention 1 until day 30, then 0
    # y: churned at 5, 6, 7 -> 2/3 from day 5, 1/3 from day 6, 0 from day 7
    lab = pl.DataFrame(
        {
            "customer_id": list("abcdef"),
            "duration_days": [10.0, 20, 30, 5, 6, 7],
            "event_observed": [False, False, True, True, True, True],
        }
    )
    return lab, pl.DataFrame({"customer_id": list("abcdef"), "plan": ["x"] * 3 + ["y"] * 3})


def test_kaplan_meier_by_hand():
    lab, groups = km_fixture()
    rc = retention_curves(lab, groups, n_points=31)  # grid: days 0, 1, …, 30
    y = rc.curves.filter(pl.col("group") == "y")
    at = dict(zip(y["day"].to_list(), y["retention"].to_list(), strict=True))
    assert (at[4.0], at[5.0], at[6.0], at[7.0]) == pytest.approx((1.0, 2 / 3, 1 / 3, 0.0))
    x = rc.curves.filter(pl.col("group") == "x")
    assert x.filter(pl.col("day") == 29.0)["retention"].item() == 1.0
    assert x.filter(pl.col("day") == 30.0)["retention"].item() == 0.0
    assert (rc.curves["ci_low"] <= rc.curves["retention"] + 1e-12).all()
    assert (rc.curves["retention"] <= rc.curves["ci_high"] + 1e-12).all()
    assert y.filter(pl.col("day") == 6.0)["at_risk"].item() == 2
    assert rc.summary["small_n"].all()
    assert rc.logrank is not None and rc.logrank["degrees_of_freedom"] == 1


def test_logrank_identical_groups_is_zero():
    lab, _ = km_fixture()
    both = pl.concat([lab, lab.with_columns(pl.col("customer_id") + "2")])
    groups = both.select(
        "customer_id",
        pl.when(pl.col("customer_id").str.ends_with("2"))
        .then(pl.lit("copy"))
        .otherwise(pl.lit("orig"))
        .alias("g"),
    )
    rc = retention_curves(both, groups)
    assert rc.logrank["test_statistic"] == pytest.approx(0.0, abs=1e-9)
    assert rc.logrank["p_value"] == pytest.approx(1.0)


def test_retention_curves_by_needed_when_ambiguous():
    lab, groups = km_fixture()
    with pytest.raises(ParameterError, match="by="):
        retention_curves(lab, groups.with_columns(pl.lit(1).alias("other")))
    with pytest.raises(ParameterError, match="Did you mean 'plan'"):
        retention_curves(lab, groups, by="plans")


# ---- planted truth on the sample clients --------------------------------------------------
# CXLAB_SAMPLE_DIR points the tests at another copy of the sample clients (default data/sample).
SAMPLE = Path(os.environ.get("CXLAB_SAMPLE_DIR", SAMPLE_DIR))
CLIENTS = ["bookshop", "telecom", "bank"]


@pytest.fixture(scope="module", params=CLIENTS)
def sample_client(request):
    folder = SAMPLE / request.param
    if not (folder / "truth.json").is_file():
        pytest.fail(f"sample client {request.param} is missing in {SAMPLE}: {MISSING_SAMPLE}")
    from cxlab.io.client import load_client

    c = load_client(folder)
    cfg = c.config
    feats = customer_features(
        c.events,
        c.feedback,
        c.customers,
        journey_map=cfg.journey_map,
        purchase_touchpoints=cfg.purchase_touchpoints,
        as_of=cfg.as_of,
    )
    # churn is about customers: people who bought at least once (as in truth.json)
    buyers = feats.filter(pl.col("n_purchases") > 0)
    labels = churn_labels(c.events, c.customers, cfg.churn, as_of=cfg.as_of)
    truth = json.loads((folder / "truth.json").read_text())["support_churn"]
    return buyers, labels, truth


def test_planted_support_group_matches_truth(sample_client):
    # our features and labels reproduce the planted counts exactly
    buyers, labels, truth = sample_client
    judged = buyers.join(labels, on="customer_id").filter(~pl.col("censored"))
    above = judged.filter(pl.col(truth["feature"]) >= truth["threshold"])
    below = judged.filter(pl.col(truth["feature"]) < truth["threshold"])
    assert (above.height, below.height) == (
        truth["customers_at_or_above"],
        truth["customers_below"],
    )
    assert above["churned"].mean() == pytest.approx(truth["churn_rate_at_or_above"])
    assert below["churned"].mean() == pytest.approx(truth["churn_rate_below"])


def test_highest_churn_cluster_is_the_planted_group(sample_client):
    # clusters of experience (support + feedback), rank-based scaling, k chosen by silhouette
    buyers, labels, truth = sample_client
    groups = feature_groups(buyers.columns)
    model = ChurnClusters(
        k="auto", scaling="quantile", n_boot=2, columns=groups["support"] + groups["feedback"]
    ).fit(buyers, labels)
    top = model.profiles_.filter("highest_churn").row(0, named=True)
    assert top["top_features"][0] == truth["feature"]
    assert top["top_differences"][0] > 0  # the group calls support *more*
    assert top["label"].startswith("many support contacts overall")
    rest = model.profiles_.filter(~pl.col("highest_churn"))
    assert top["churn_rate"] > truth["churn_rate_below"] > rest["churn_rate"].min()


@pytest.mark.slow
def test_support_contacts_rank_among_top_drivers(sample_client):
    # Label-leaking recency features are left out. Activity volume (frequency, tenure, retention
    # events) also separates churners, so the planted driver is asserted in the top 5 of 40+.
    buyers, labels, truth = sample_client
    d = churn_drivers(
        buyers, labels, cv=3, n_repeats=3, n_pd=1, pd_grid=5, exclude=list(LABEL_LEAKING_FEATURES)
    )
    for model in ("logistic", "gradient_boosting"):
        top5 = d.top(5, model=model)
        assert truth["feature"] in top5, (model, top5)
    assert (d.auc["auc_mean"] > 0.7).all()


T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _day(d: int) -> dt.datetime:
    return T0 + dt.timedelta(days=d)


# ---- label leakage: features are measured before the window that decides the label ----------
def _leaky_client() -> tuple[pl.DataFrame, pl.DataFrame]:
    """80 buyers, data end day 200, churn = no event in the last 90 days (cut-off: day 110).

    Everyone buys on day 0 and answers NPS on day 10: even-numbered customers score 2, odd
    ones 9. Unhappy (even) customers are lost unless their number ends in 8 (4 of 5 lost);
    happy (odd) ones are lost when it ends in 1 (1 of 5): 40 of 80 lost. The lost ones' last
    event is the NPS answer. The planted leak: every customer who stays calls support on days
    150, 160 and 170, inside the label window, so at the data end
    ``support_contacts_90d`` is 3 for exactly the customers kept and 0 for the lost ones: it
    restates the label. Before the window (day 110) nobody has called: the column is 0 for all.
    """
    rows, answers = [], []
    for i in range(80):
        cid = f"c{i:02d}"
        lost = (i % 2 == 0 and i % 10 != 8) or i % 10 == 1
        rows.append((cid, _day(0), "purchase", "web"))
        rows.append((cid, _day(10), "site_visit", "web"))
        answers.append((cid, _day(10), "nps", 2 if i % 2 == 0 else 9))
        if not lost:
            rows += [(cid, _day(d), "support_call", "phone") for d in (150, 160, 170)]
    rows.append(("zz", _day(200), "site_visit", "web"))  # sets the data end: day 200
    events = pl.DataFrame(
        rows, schema=["customer_id", "timestamp", "touchpoint", "channel"], orient="row"
    ).with_columns(pl.col("timestamp").dt.cast_time_unit("us"))
    feedback = pl.DataFrame(
        answers, schema=["customer_id", "timestamp", "survey", "score"], orient="row"
    ).with_columns(pl.col("timestamp").dt.cast_time_unit("us"))
    return events, feedback


def test_a_feature_inside_the_label_window_no_longer_ranks():
    events, feedback = _leaky_client()
    definition = ChurnDefinition("inactivity", 90)
    rate = churn_rate(events, None, definition)
    assert (rate.n, rate.n_churned) == (80, 40)  # "zz" never bought: not counted
    kw = {"journey_map": DEFAULT_JOURNEY_MAP, "recent_days": 90}

    # measured at the data end (as the report did before), the leak is the top driver
    naive = customer_features(events, feedback, None, **kw)
    naive = naive.join(rate.customers, on="customer_id", how="semi").drop("churned", strict=False)
    planted = ["support_contacts_90d", "last_nps"]  # the leak and the real driver
    before = churn_drivers(naive, rate.labels, cv=3, n_repeats=2, n_pd=0, columns=planted)
    for model in ("gradient_boosting", "logistic"):
        assert before.top(1, model=model) == ["support_contacts_90d"]

    # measured at the cut-off (day 110), it is 0 for everyone: no importance at all
    features = churn_features(events, feedback, None, rate, **kw)
    assert features.as_of == _day(110)
    assert features.table.get_column("support_contacts_90d").unique().to_list() == [0]
    after = churn_drivers(features.table, rate.labels, cv=3, n_repeats=2, n_pd=0, columns=planted)
    for model in ("gradient_boosting", "logistic"):
        assert after.top(1, model=model) == ["last_nps"]  # the planted driver
    leak = after.importances.filter(pl.col("feature") == "support_contacts_90d")
    assert leak.get_column("importance").to_list() == [0.0, 0.0]
    # the time since the last event is the definition itself: left out, with the reason
    assert set(features.excluded) == {"recency_days", "days_since_last_purchase"}
    assert "recency_days" not in features.table.columns


def test_retention_curves_chart_draws_the_same_spec_as_retention_chart():
    from cxlab.display.charts.churn import retention_chart

    lab, groups = km_fixture()
    rc = retention_curves(lab, groups, n_points=31)
    assert rc.chart().to_json() == retention_chart(rc.curves).to_json()
    assert rc.chart(title="Kept").to_json() == retention_chart(rc.curves, "Kept").to_json()
