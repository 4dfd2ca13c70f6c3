"""Run every analysis on one sample client and print one digest per result (used by
test_determinism.py in subprocesses with different polars thread counts)."""

import hashlib
import json
import sys
import warnings

import polars as pl

import cxlab
from cxlab.config import SAMPLE_DIR
from cxlab.contract.prepare import prepare_events


def digest(frame: pl.DataFrame) -> str:
    # every value, every bit: write floats with full precision
    return hashlib.sha256(frame.write_json().encode()).hexdigest()[:16]


def main(name: str) -> None:
    warnings.simplefilter("ignore")
    c = cxlab.load_client(SAMPLE_DIR / name)
    cfg = c.config
    ev, fb, cu = c.events, c.feedback, c.customers
    staged = cxlab.assign_stages(ev, cfg.journey_map, cfg.purchase_touchpoints)
    feats = cxlab.customer_features(
        ev,
        fb,
        cu,
        journey_map=cfg.journey_map,
        sentiment=True,
        purchase_touchpoints=cfg.purchase_touchpoints,
        as_of=cfg.as_of,
    )
    labels = cxlab.churn_labels(ev, cu, cfg.churn, as_of=cfg.as_of)
    buyers = feats.filter(pl.col("n_purchases") > 0)
    groups = cxlab.feature_groups(buyers.columns)
    results = {
        "stages": staged.select("source_row", "stage"),
        "journeys": cxlab.customer_journeys(staged),
        "stage_transitions": cxlab.stage_transitions(staged),
        "stage_funnel": cxlab.stage_funnel(staged),
        "funnel": cxlab.funnel(
            ev, ["site_visit", "checkout", "purchase"], window="14d", by="channel"
        ),
        "heatmap": cxlab.touchpoint_heatmap(staged, fb),
        "nps": cxlab.score_summary(fb, metric="nps"),
        "nps_month": cxlab.score_over_time(fb, "nps", "month"),
        "drivers": cxlab.nps_drivers(ev, fb, n_boot=50).table,
        "topics": cxlab.comment_topics(fb, seed=0).topics,
        "features": feats,
        "prepared_features": cxlab.customer_features(
            prepare_events(ev),
            fb,
            cu,
            journey_map=cfg.journey_map,
            purchase_touchpoints=cfg.purchase_touchpoints,
            as_of=cfg.as_of,
        ),
        "prepared_heatmap": cxlab.touchpoint_heatmap(
            cxlab.assign_stages(prepare_events(ev), cfg.journey_map, cfg.purchase_touchpoints), fb
        ),
        "labels": labels,
        "clusters": cxlab.ChurnClusters(
            k="auto",
            scaling="quantile",
            n_boot=5,
            columns=groups["support"] + groups["feedback"],
        )
        .fit(buyers, labels)
        .profiles_,
        "transitions": cxlab.transitions(ev),
        "step_matrix": cxlab.step_matrix(ev, max_steps=6),
        "variants": cxlab.path_variants(ev, 10, max_steps=4),
        "attribution": cxlab.compare_attribution(
            ev, list(cfg.purchase_touchpoints), n_boot=30, seed=1
        ),
    }
    print(json.dumps({k: digest(v) for k, v in results.items()}))


if __name__ == "__main__":
    main(sys.argv[1])
