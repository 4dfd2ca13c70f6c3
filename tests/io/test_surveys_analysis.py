"""Scores and key drivers of declared survey questions, checked by hand and against numpy."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cxlab.analysis.drivers import attribute_drivers, relative_weights
from cxlab.analysis.metrics import question_scores, score_summary
from cxlab.contract.questions import Question, question_table
from cxlab.errors import DataError
from cxlab.io.client import load_client

sys.path.insert(0, str(Path(__file__).parents[1]))
from fixtures.qualtrics import write_qualtrics_export  # noqa: E402

QUESTIONS = (
    Question("recommend", "nps", "Likely to recommend", column="Q1", low=0, high=10),
    Question("sat", "csat", "Satisfaction", column="Q2", low=1, high=5),
    Question("delivery", "rating", "Delivery", column="Q5_1", low=1, high=5),
    Question("price", "rating", "Price", column="Q5_2", low=1, high=5),
    Question("resolved", "binary", "Resolved", column="Q7", low=0, high=1),
)


def _answers(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    kinds = {q.name: q.survey for q in QUESTIONS}
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [0] * len(rows),
            "question": [r[1] for r in rows],
            "survey": [kinds[r[1]] for r in rows],
            "score": [r[2] for r in rows],
        }
    )


def test_question_scores_by_hand():
    fb = _answers(
        [
            ("a", "recommend", 10),
            ("b", "recommend", 9),
            ("c", "recommend", 3),
            ("d", "recommend", 8),
        ]
        + [("a", "sat", 5), ("b", "sat", 2)]
        + [("a", "delivery", 5), ("b", "delivery", 5), ("c", "delivery", 4), ("d", "delivery", 9)]
        + [("a", "resolved", 1), ("b", "resolved", 0), ("c", "resolved", 1), ("d", "resolved", 1)]
    )
    out = question_scores(fb, question_table(QUESTIONS))
    got = {r["question"]: r for r in out.iter_rows(named=True)}
    assert out["question"].to_list() == ["recommend", "sat", "delivery", "price", "resolved"]
    assert (got["price"]["n"], got["price"]["estimate"]) == (0, None)  # declared, not answered
    # NPS: 2 promoters, 1 detractor of 4 -> 25; CSAT: 1 of 2 answers is 4-5 -> 50%
    assert (got["recommend"]["metric"], got["recommend"]["estimate"]) == ("nps", 25.0)
    assert (got["sat"]["metric"], got["sat"]["estimate"]) == ("csat", 50.0)
    # delivery: 9 is outside 1-5 and ignored; 5, 5, 4 -> mean 14/3, s = 0.577,
    # t(0.975, 2) = 4.303: half-width 4.303 * 0.577 / sqrt(3) = 1.434 -> [3.23, 5 (clipped)]
    d = got["delivery"]
    assert (d["label"], d["metric"], d["n"]) == ("Delivery", "mean", 3)
    assert d["estimate"] == pytest.approx(14 / 3)
    assert d["ci_low"] == pytest.approx(14 / 3 - 4.302653 * (1 / 3) ** 0.5 / 3**0.5, abs=1e-5)
    assert d["ci_high"] == 5.0
    # resolved: 3 good of 4 -> 75%, Wilson interval
    assert (got["resolved"]["metric"], got["resolved"]["estimate"]) == ("share_good", 75.0)
    assert got["resolved"]["ci_low"] == pytest.approx(30.06, abs=0.01)
    assert out["small_n"].all()


def test_question_scores_keep_the_survey_numbers():
    rng = np.random.default_rng(3)
    fb = _answers([(f"c{i}", "recommend", int(v)) for i, v in enumerate(rng.integers(0, 11, 200))])
    ours = question_scores(fb, question_table(QUESTIONS)).filter(pl.col("question") == "recommend")
    ours = ours.drop("question", "label", "kind")
    assert ours.equals(score_summary(fb, metric="nps"))


def _johnson(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Johnson's (2000) relative weights written from the paper, as the test oracle (SVD)."""
    n = len(y)
    Xs = (X - X.mean(0)) / X.std(0) / np.sqrt(n)
    ys = (y - y.mean()) / y.std() / np.sqrt(n)
    U, d, Vt = np.linalg.svd(Xs, full_matrices=False)
    Z = U @ Vt  # the orthonormal columns closest to X
    lam = Vt.T @ np.diag(d) @ Vt  # X = Z Λ
    beta = Z.T @ ys  # y regressed on Z
    return (lam**2) @ (beta**2)


def test_relative_weights_against_a_reference_computation():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 4))
    X[:, 1] += 0.8 * X[:, 0]  # correlated attributes
    y = 1.5 * X[:, 0] + 0.5 * X[:, 1] - X[:, 3] + rng.normal(size=400)
    w, r2 = relative_weights(X, y)
    design = np.column_stack([np.ones(400), X])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    r2_lstsq = 1 - ((y - design @ coef) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert r2 == pytest.approx(r2_lstsq, abs=1e-10)
    assert w.sum() == pytest.approx(r2, abs=1e-12)
    np.testing.assert_allclose(w, _johnson(X, y), atol=1e-10)


def test_attribute_drivers_by_hand():
    # 20 responses: NPS = 2 x delivery exactly; price is uncorrelated with delivery
    # (centred delivery -2..2 and centred price 2, -2, 0, -2, 2 have a zero dot product),
    # so delivery explains all of it: R² = 1, delivery 100%, price 0%.
    delivery = [1, 2, 3, 4, 5] * 4
    price = [5, 1, 3, 1, 5] * 4
    rows = [(f"c{i}", "recommend", 2 * d) for i, d in enumerate(delivery)]
    rows += [(f"c{i}", "delivery", d) for i, d in enumerate(delivery)]
    rows += [(f"c{i}", "price", p) for i, p in enumerate(price)]
    rows += [("x", "delivery", 3)]  # skipped the NPS question: left out, counted
    kd = attribute_drivers(_answers(rows), question_table(QUESTIONS), n_boot=50, seed=1)
    assert (kd.outcome, kd.outcome_label, kd.n_respondents, kd.n_incomplete) == (
        "recommend",
        "Likely to recommend",
        20,
        1,
    )
    assert kd.r2 == pytest.approx(1.0)
    t = kd.table
    assert t.select("question", "label").rows() == [("delivery", "Delivery"), ("price", "Price")]
    assert t["importance_pct"].to_list() == pytest.approx([100.0, 0.0], abs=1e-9)
    # performance: mean 3 on 1-5 -> 50/100 for both; delivery matters -> "protect" (>= mean)
    assert t["performance"].to_list() == [50.0, 50.0]
    assert t["quadrant"].to_list() == ["protect", "maintain"]
    assert "100%" in kd.reading()[0]


def test_attribute_drivers_need_an_outcome_and_attributes():
    fb = _answers([(f"c{i}", "delivery", 3) for i in range(12)])
    with pytest.raises(DataError, match="outcome question"):
        attribute_drivers(fb, question_table(QUESTIONS[2:]), n_boot=50)
    with pytest.raises(DataError, match="rated attributes"):
        attribute_drivers(
            _answers([("a", "recommend", 9)]), question_table(QUESTIONS[:1]), n_boot=50
        )


def test_attribute_drivers_find_the_planted_truth(tmp_path):
    # the Qualtrics fixture's NPS follows support (1.3 per point), delivery (0.9), price
    # (0.35) and not the app; support is rated lowest
    folder = tmp_path / "northwind"
    folder.mkdir()
    write_qualtrics_export(folder / "export.csv")
    items = ("delivery", "price", "support", "app")
    toml = 'name = "N"\n[files]\nfeedback = "export.csv"\n[columns.feedback]\n'
    toml += 'ExternalReference = "customer_id"\nRecordedDate = "timestamp"\n'
    toml += '[questions.recommend]\ncolumn = "Q1"\nkind = "nps"\n'
    for i, item in enumerate(items, 1):
        toml += f'[questions.{item}]\ncolumn = "Q5_{i}"\nkind = "rating"\nscale = [1, 5]\n'
    (folder / "client.toml").write_text(toml)
    client = load_client(folder)
    kd = attribute_drivers(client.feedback, question_table(client.config.questions), seed=0)
    assert kd.table["question"].to_list() == ["support", "delivery", "price", "app"]
    app = kd.table.row(3, named=True)
    assert app["importance_pct"] < 2 and app["ci_low"] < 1
    assert 0.6 < kd.r2 < 0.95
    # support matters most and is rated lowest: fix it first; delivery: protect
    assert kd.table["quadrant"].to_list()[:2] == ["fix first", "protect"]
