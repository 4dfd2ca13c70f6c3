"""Key drivers of NPS: features from before the survey, relative weights, planted driver."""

import datetime as dt
import itertools
import json

import numpy as np
import polars as pl
import pytest

from cxlab.analysis.drivers import driver_features, nps_drivers, relative_weights
from cxlab.config import SAMPLE_DIR
from cxlab.display.charts.metrics import driver_quadrant_chart
from cxlab.errors import DataError, ParameterError
from cxlab.io.sample import SAMPLE_CLIENTS

# The sample clients are committed data: missing files fail the tests, they do not skip them.
MISSING_SAMPLE = (
    "the sample clients are committed in data/sample; restore them (git checkout data/sample) "
    "or regenerate them with `make sample`"
)

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def day(d, h=0):
    return T0 + dt.timedelta(days=d, hours=h)


# ---------------------------------------------------------------------------- relative weights
def _r2(X, y):
    A = np.column_stack([np.ones(len(y)), X])
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ beta
    return 1 - resid.var() / y.var()


def test_relative_weights_add_up_to_ols_r2_and_match_shapley():
    rng = np.random.default_rng(1)
    n = 4000
    z = rng.normal(size=n)
    X = np.column_stack([z + rng.normal(size=n), z + rng.normal(size=n), rng.normal(size=n)])
    y = 1.0 * X[:, 0] + 0.3 * X[:, 1] + 0.6 * X[:, 2] + rng.normal(size=n)
    w, r2 = relative_weights(X, y)
    assert r2 == pytest.approx(_r2(X, y), abs=1e-9)
    assert w.sum() == pytest.approx(r2, abs=1e-9)
    # exact Shapley decomposition of R² by brute force over the 3! orders
    shap = np.zeros(3)
    for perm in itertools.permutations(range(3)):
        have: list[int] = []
        for j in perm:
            before = _r2(X[:, have], y) if have else 0.0
            have.append(j)
            shap[j] += _r2(X[:, have], y) - before
    shap /= 6
    # relative weights approximate Shapley closely for moderate correlation
    assert w == pytest.approx(shap, abs=0.01)
    assert list(np.argsort(-w)) == list(np.argsort(-shap))


def test_relative_weights_orthogonal_predictors_are_squared_correlations():
    # two exactly uncorrelated centred columns: each weight is its squared correlation with y
    X = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]] * 25, dtype=float)
    y = 3 * X[:, 0] + 1 * X[:, 1] + np.tile([0.5, -0.5, -0.5, 0.5], 25)
    w, r2 = relative_weights(X, y)
    r = [np.corrcoef(X[:, j], y)[0, 1] for j in range(2)]
    assert w == pytest.approx(np.square(r))
    # a constant column gets weight 0 instead of breaking the fit
    w3, _ = relative_weights(np.column_stack([X, np.ones(100)]), y)
    assert w3[2] == 0.0 and w3[:2] == pytest.approx(w)


# ---------------------------------------------------------------------------- features
def test_driver_features_only_count_events_before_the_answer():
    events = pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "b"],
            "timestamp": [day(0), day(2), day(3), day(10), day(0), day(4)],
            "touchpoint": [
                "site_visit",
                "purchase",
                "support_call",
                "support_call",
                "site_visit",
                "checkout_error",
            ],
        }
    )
    feedback = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a", "b"],
            "timestamp": [day(5), day(12), day(5), day(1), day(4)],
            "survey": ["nps", "nps", "nps", "csat", "ces"],
            "score": [6, 2, 9, 2, 6],
        }
    )
    f = driver_features(events, feedback)
    assert f.select("customer_id", "score").rows() == [("a", 6), ("a", 2), ("b", 9)]
    # a's first answer (day 5): one support call; second (day 12): two
    assert f["count:support_call"].to_list() == [1, 2, 0]
    assert f["hit:support_call"].to_list() == [1, 1, 0]
    # b's checkout error (day 4) is before its NPS answer (day 5) -> counted
    assert f["hit:checkout_error"].to_list() == [0, 0, 1]
    # a bought 2 days after the first event; b never bought
    assert f["days_to_purchase"].to_list() == [2.0, 2.0, None]
    assert f["csat_before"].to_list() == [2.0, 2.0, None]
    assert f["csat_negative"].to_list() == [True, True, False]
    assert f["ces_before"].to_list() == [None, None, 6.0]
    assert f["nps_group"].to_list() == ["detractor", "detractor", "promoter"]
    # with a 3-day lookback a's first answer (day 5) only sees days 2..5
    g = driver_features(events, feedback, lookback=dt.timedelta(days=3))
    assert "hit:site_visit" not in g.columns  # both site visits were on day 0
    assert g["count:support_call"].to_list() == [1, 1, 0]


def test_driver_features_equal_timestamps_are_not_before():
    events = pl.DataFrame(
        {"customer_id": ["a"], "timestamp": [day(1)], "touchpoint": ["checkout_error"]}
    )
    feedback = pl.DataFrame(
        {"customer_id": ["a"], "timestamp": [day(1)], "survey": ["nps"], "score": [0]}
    )
    f = driver_features(events, feedback)
    assert "hit:checkout_error" not in f.columns and f.height == 1


# ---------------------------------------------------------------------------- planted driver
def planted(n=800, seed=3):
    """Synthetic journeys: checkout_error drops the score by 4, support calls by 1, review adds 1."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:04d}" for i in range(n)])
    tps = {"checkout_error": 0.25, "support_call": 0.2, "email_open": 0.5, "review": 0.1}
    hit = {t: rng.random(n) < p for t, p in tps.items()}
    rows = [
        pl.DataFrame({"customer_id": ids, "timestamp": [day(0)] * n, "touchpoint": "site_visit"})
    ]
    for t in tps:
        k = int(hit[t].sum())
        rows.append(
            pl.DataFrame({"customer_id": ids[hit[t]], "timestamp": [day(1)] * k, "touchpoint": t})
        )
    # events after the answer must not matter: everybody gets a checkout_error on day 20
    rows.append(
        pl.DataFrame(
            {"customer_id": ids, "timestamp": [day(20)] * n, "touchpoint": "checkout_error"}
        )
    )
    events = pl.concat(rows)
    score = (
        8
        - 4 * hit["checkout_error"]
        - 1 * hit["support_call"]
        + 1 * hit["review"]
        + rng.normal(0, 1.5, n)
    )
    feedback = pl.DataFrame(
        {
            "customer_id": ids,
            "timestamp": [day(10)] * n,
            "survey": "nps",
            "score": np.clip(np.rint(score), 0, 10).astype(np.int64),
        }
    )
    return events, feedback, hit


def test_planted_driver_ranks_first_with_a_separated_interval():
    events, feedback, hit = planted()
    kd = nps_drivers(events, feedback, n_boot=100, seed=0)
    t = kd.table
    assert t["driver"][0] == "checkout_error"
    assert t["quadrant"][0] == "fix first"
    top, second = t.row(0, named=True), t.row(1, named=True)
    assert top["ci_low"] > second["ci_high"]
    assert t["importance_pct"].sum() == pytest.approx(100.0)
    assert t["importance"].sum() == pytest.approx(kd.r2)
    assert kd.r2_ci_low <= kd.r2 <= kd.r2_ci_high
    # site_visit is hit by everyone: not a driver, reported in left_out
    assert "site_visit" not in t["driver"].to_list()
    assert "site_visit" in kd.left_out["touchpoint"].to_list()
    # email_open has no effect: least important
    assert t.filter(pl.col("driver") == "email_open")["importance_pct"].item() < 3.0
    # performance is the NPS of the respondents who hit it, checked directly
    s = feedback["score"].to_numpy()[hit["checkout_error"]]
    expected = 100 * ((s >= 9).mean() - (s <= 6).mean())
    assert top["performance"] == pytest.approx(expected)
    assert top["n_exposed"] == int(hit["checkout_error"].sum())
    assert top["effect"] < -50
    assert any("checkout_error" in line for line in kd.reading())
    # the result draws itself: the quadrant chart of its table and overall NPS
    expected_chart = driver_quadrant_chart(kd.table, overall_nps=kd.overall_nps)
    assert kd.chart().to_dict() == expected_chart.to_dict()


def test_nps_drivers_is_deterministic_and_validates():
    events, feedback, _ = planted(n=200)
    a = nps_drivers(events, feedback, n_boot=50, seed=4).table
    b = nps_drivers(events, feedback, n_boot=50, seed=4).table
    assert a.equals(b)
    with pytest.raises(ParameterError, match="min_share"):
        nps_drivers(events, feedback, min_share=0.7)
    with pytest.raises(ParameterError, match="n_boot"):
        nps_drivers(events, feedback, n_boot=5)
    with pytest.raises(DataError, match="at least 10 NPS answers"):
        nps_drivers(events, feedback.head(3))
    with pytest.raises(DataError, match="no column 'touchpoint'"):
        nps_drivers(events.rename({"touchpoint": "touchpont"}), feedback)


# ---------------------------------------------------------------------------- sample clients
def _truth(folder):
    """The client's truth.json; a missing file fails the test (the sample data is committed)."""
    if not (folder / "truth.json").is_file():
        pytest.fail(f"{folder}/truth.json is missing: {MISSING_SAMPLE}")
    return json.loads((folder / "truth.json").read_text())


def _clients():
    """The committed sample clients (data/sample), each with the truth.json of what it plants."""
    return sorted(SAMPLE_CLIENTS)


def check_planted_driver(folder):
    """The planted touchpoint ranks first, with the direction truth.json reports."""
    from cxlab.io.client import load_client

    truth = _truth(folder).get("nps_driver")
    if not truth:
        pytest.fail(f"{folder.name}/truth.json has no planted NPS driver: {MISSING_SAMPLE}")
    c = load_client(folder)
    kd = nps_drivers(
        c.events, c.feedback, n_boot=50, seed=0, purchase_touchpoints=c.config.purchase_touchpoints
    )
    assert kd.table["driver"][0] == truth["touchpoint"], kd.table.head(5)
    row = kd.table.row(0, named=True)
    assert row["ci_low"] > kd.table["ci_high"][1]  # clearly ahead of the runner-up
    # the mean 0-10 answers with / without the touchpoint move the same way as in the truth
    assert (row["mean_score_exposed"] - row["mean_score_not_exposed"]) * (
        truth["mean_nps_hit"] - truth["mean_nps_not_hit"]
    ) > 0
    assert row["n_exposed"] == pytest.approx(truth["respondents_hit"], rel=0.1)


@pytest.mark.slow
@pytest.mark.parametrize("client", _clients())
def test_sample_client_planted_driver_ranks_first(client):
    check_planted_driver(SAMPLE_DIR / client)
