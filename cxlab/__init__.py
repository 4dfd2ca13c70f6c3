"""cxlab: customer-experience and customer-journey analytics over polars frames.

The public face of the package. Every function here takes and returns polars frames (or
small result objects); nothing loops over rows in Python. The package is layered, in order of
dependency (a layer uses the ones listed before it):

* :mod:`cxlab.contract` -- the data contract: schema, ``client.toml``, validation report,
  the prepared (physical) form of events;
* :mod:`cxlab.io` -- reading clients: sources, loaders, :func:`load_client`, out-of-core,
  ``cxlab init``, the sample generator;
* :mod:`cxlab.events` -- the one entry every analysis takes its events through;
* :mod:`cxlab.analysis` -- the analyses (journey, funnel, heatmap, cube, paths, attribution,
  metrics, drivers, voice of the customer, features, churn, statistics);
* :mod:`cxlab.display` -- charts (:mod:`cxlab.display.charts`) and the explorer notebooks'
  helpers (:mod:`cxlab.display.notebook`);
* :mod:`cxlab.report` -- report sections, execution, HTML, batches, index, privacy.

:mod:`cxlab.errors`, :mod:`cxlab.config`, :mod:`cxlab.params` (parameter checks) and
:mod:`cxlab.pii` (personal data in text: masking, escaping) and :mod:`cxlab.words` (counts and
lists in plain words), which every layer may use, and
:mod:`cxlab.cli` sit beside them.

Names are imported lazily (PEP 562): ``import cxlab`` loads no analysis module, and
``cxlab.load_client`` imports only what loading needs; scikit-learn, lifelines and altair are
imported by the first function that uses them.

Examples
--------
>>> import cxlab
>>> from cxlab.config import SAMPLE_DIR
>>> client = cxlab.load_client(SAMPLE_DIR / "bookshop")  # doctest: +SKIP
>>> print(client.validation.one_line())  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # static type checkers and IDEs see the eager imports
    from cxlab.analysis.attribution import (
        MarkovAttribution,
        compare_attribution,
        markov_attribution,
        rule_based_attribution,
    )
    from cxlab.analysis.churn import (
        ChurnClusters,
        ClusterStabilityWarning,
        churn_drivers,
        retention_curves,
    )
    from cxlab.analysis.cube import HeatmapCube, heatmap_cube
    from cxlab.analysis.drivers import KeyDrivers, nps_drivers
    from cxlab.analysis.features import (
        LABEL_LEAKING_FEATURES,
        churn_labels,
        customer_features,
        feature_groups,
    )
    from cxlab.analysis.funnel import (
        drop_off_drivers,
        drop_off_paths,
        funnel,
        funnel_trend,
        stage_funnel,
        time_to_convert,
    )
    from cxlab.analysis.heatmap import (
        channel_by_stage,
        compare_heatmaps,
        touchpoint_by_week,
        touchpoint_heatmap,
    )
    from cxlab.analysis.journey import (
        assign_stages,
        customer_journeys,
        stage_transitions,
        unmapped_touchpoints,
    )
    from cxlab.analysis.metrics import compare_scores, score_over_time, score_summary
    from cxlab.analysis.outofcore import OutOfCoreResult, analyze_client
    from cxlab.analysis.paths import (
        add_markers,
        compare_transitions,
        path_variants,
        sessionize,
        stage_flows,
        step_matrix,
        transitions,
    )
    from cxlab.analysis.retention import (
        RetentionMatrix,
        cohort_retention,
        lifecycle,
        purchase_summary,
        stickiness,
    )
    from cxlab.analysis.stats import nps_interval, wilson_interval
    from cxlab.analysis.voc import (
        comment_sentiment,
        comment_topics,
        representative_verbatims,
    )
    from cxlab.contract.client_config import ChurnDefinition, ClientConfig, read_client_config
    from cxlab.contract.prepare import prepare_events
    from cxlab.contract.schema import CUSTOMERS, DEFAULT_JOURNEY_MAP, EVENTS, FEEDBACK, STAGES
    from cxlab.contract.validation import Issue, ValidationReport
    from cxlab.errors import ConfigError, CxlabError, DataError, ParameterError
    from cxlab.io.client import Client, load_client
    from cxlab.io.loaders import LoadResult, load_customers, load_events, load_feedback
    from cxlab.io.sample import SAMPLE_CLIENTS, SampleClient, generate_client, write_sample_clients
    from cxlab.pii import mask_pii, safe_text

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "MarkovAttribution": "cxlab.analysis.attribution",
    "compare_attribution": "cxlab.analysis.attribution",
    "markov_attribution": "cxlab.analysis.attribution",
    "rule_based_attribution": "cxlab.analysis.attribution",
    "ChurnClusters": "cxlab.analysis.churn",
    "ClusterStabilityWarning": "cxlab.analysis.churn",
    "churn_drivers": "cxlab.analysis.churn",
    "retention_curves": "cxlab.analysis.churn",
    "Client": "cxlab.io.client",
    "load_client": "cxlab.io.client",
    "ChurnDefinition": "cxlab.contract.client_config",
    "ClientConfig": "cxlab.contract.client_config",
    "read_client_config": "cxlab.contract.client_config",
    "KeyDrivers": "cxlab.analysis.drivers",
    "nps_drivers": "cxlab.analysis.drivers",
    "ConfigError": "cxlab.errors",
    "CxlabError": "cxlab.errors",
    "DataError": "cxlab.errors",
    "ParameterError": "cxlab.errors",
    "HeatmapCube": "cxlab.analysis.cube",
    "heatmap_cube": "cxlab.analysis.cube",
    "LABEL_LEAKING_FEATURES": "cxlab.analysis.features",
    "churn_labels": "cxlab.analysis.features",
    "customer_features": "cxlab.analysis.features",
    "feature_groups": "cxlab.analysis.features",
    "drop_off_drivers": "cxlab.analysis.funnel",
    "drop_off_paths": "cxlab.analysis.funnel",
    "funnel": "cxlab.analysis.funnel",
    "funnel_trend": "cxlab.analysis.funnel",
    "stage_funnel": "cxlab.analysis.funnel",
    "time_to_convert": "cxlab.analysis.funnel",
    "channel_by_stage": "cxlab.analysis.heatmap",
    "compare_heatmaps": "cxlab.analysis.heatmap",
    "touchpoint_by_week": "cxlab.analysis.heatmap",
    "touchpoint_heatmap": "cxlab.analysis.heatmap",
    "assign_stages": "cxlab.analysis.journey",
    "customer_journeys": "cxlab.analysis.journey",
    "stage_transitions": "cxlab.analysis.journey",
    "unmapped_touchpoints": "cxlab.analysis.journey",
    "LoadResult": "cxlab.io.loaders",
    "load_customers": "cxlab.io.loaders",
    "load_events": "cxlab.io.loaders",
    "load_feedback": "cxlab.io.loaders",
    "compare_scores": "cxlab.analysis.metrics",
    "score_over_time": "cxlab.analysis.metrics",
    "score_summary": "cxlab.analysis.metrics",
    "RetentionMatrix": "cxlab.analysis.retention",
    "cohort_retention": "cxlab.analysis.retention",
    "lifecycle": "cxlab.analysis.retention",
    "purchase_summary": "cxlab.analysis.retention",
    "stickiness": "cxlab.analysis.retention",
    "OutOfCoreResult": "cxlab.analysis.outofcore",
    "analyze_client": "cxlab.analysis.outofcore",
    "add_markers": "cxlab.analysis.paths",
    "compare_transitions": "cxlab.analysis.paths",
    "path_variants": "cxlab.analysis.paths",
    "sessionize": "cxlab.analysis.paths",
    "stage_flows": "cxlab.analysis.paths",
    "step_matrix": "cxlab.analysis.paths",
    "transitions": "cxlab.analysis.paths",
    "prepare_events": "cxlab.contract.prepare",
    "SAMPLE_CLIENTS": "cxlab.io.sample",
    "SampleClient": "cxlab.io.sample",
    "generate_client": "cxlab.io.sample",
    "write_sample_clients": "cxlab.io.sample",
    "CUSTOMERS": "cxlab.contract.schema",
    "DEFAULT_JOURNEY_MAP": "cxlab.contract.schema",
    "EVENTS": "cxlab.contract.schema",
    "FEEDBACK": "cxlab.contract.schema",
    "STAGES": "cxlab.contract.schema",
    "nps_interval": "cxlab.analysis.stats",
    "wilson_interval": "cxlab.analysis.stats",
    "Issue": "cxlab.contract.validation",
    "ValidationReport": "cxlab.contract.validation",
    "comment_sentiment": "cxlab.analysis.voc",
    "comment_topics": "cxlab.analysis.voc",
    "mask_pii": "cxlab.pii",
    "representative_verbatims": "cxlab.analysis.voc",
    "safe_text": "cxlab.pii",
}

__all__ = [
    "CUSTOMERS",
    "DEFAULT_JOURNEY_MAP",
    "EVENTS",
    "FEEDBACK",
    "LABEL_LEAKING_FEATURES",
    "SAMPLE_CLIENTS",
    "STAGES",
    "ChurnClusters",
    "ChurnDefinition",
    "Client",
    "ClientConfig",
    "ClusterStabilityWarning",
    "ConfigError",
    "CxlabError",
    "DataError",
    "HeatmapCube",
    "Issue",
    "KeyDrivers",
    "LoadResult",
    "MarkovAttribution",
    "OutOfCoreResult",
    "ParameterError",
    "RetentionMatrix",
    "SampleClient",
    "ValidationReport",
    "add_markers",
    "analyze_client",
    "assign_stages",
    "channel_by_stage",
    "churn_drivers",
    "churn_labels",
    "cohort_retention",
    "comment_sentiment",
    "comment_topics",
    "compare_attribution",
    "compare_heatmaps",
    "compare_scores",
    "compare_transitions",
    "customer_features",
    "customer_journeys",
    "drop_off_drivers",
    "drop_off_paths",
    "feature_groups",
    "funnel",
    "funnel_trend",
    "generate_client",
    "heatmap_cube",
    "lifecycle",
    "load_client",
    "load_customers",
    "load_events",
    "load_feedback",
    "markov_attribution",
    "mask_pii",
    "nps_drivers",
    "nps_interval",
    "path_variants",
    "prepare_events",
    "purchase_summary",
    "read_client_config",
    "representative_verbatims",
    "retention_curves",
    "rule_based_attribution",
    "safe_text",
    "score_over_time",
    "score_summary",
    "sessionize",
    "stage_flows",
    "stage_funnel",
    "stage_transitions",
    "step_matrix",
    "stickiness",
    "time_to_convert",
    "touchpoint_by_week",
    "touchpoint_heatmap",
    "transitions",
    "unmapped_touchpoints",
    "wilson_interval",
    "write_sample_clients",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use (and cache the value)."""
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")  # e.g. ``cxlab.config``
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
