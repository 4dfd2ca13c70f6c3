"""cxlab: customer-experience and customer-journey analytics over polars frames.

The public face of the package. Every function here takes and returns polars frames (or
small result objects); charts live in :mod:`cxlab.charts`; nothing loops over rows in Python.

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
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # static type checkers and IDEs see the eager imports
    from cxlab.attribution import (
        MarkovAttribution,
        compare_attribution,
        markov_attribution,
        rule_based_attribution,
    )
    from cxlab.churn import ChurnClusters, ClusterStabilityWarning, churn_drivers, retention_curves
    from cxlab.client import Client, load_client
    from cxlab.client_config import ChurnDefinition, ClientConfig, read_client_config
    from cxlab.drivers import KeyDrivers, nps_drivers
    from cxlab.errors import ConfigError, CxlabError, DataError, ParameterError
    from cxlab.explore import HeatmapCube, heatmap_cube
    from cxlab.features import (
        LABEL_LEAKING_FEATURES,
        churn_labels,
        customer_features,
        feature_groups,
    )
    from cxlab.funnel import drop_off_drivers, funnel, stage_funnel, time_to_convert
    from cxlab.heatmap import (
        channel_by_stage,
        compare_heatmaps,
        touchpoint_by_week,
        touchpoint_heatmap,
    )
    from cxlab.journey import (
        assign_stages,
        customer_journeys,
        stage_transitions,
        unmapped_touchpoints,
    )
    from cxlab.loaders import LoadResult, load_customers, load_events, load_feedback
    from cxlab.metrics import compare_scores, score_over_time, score_summary
    from cxlab.outofcore import OutOfCoreResult, analyze_client
    from cxlab.paths import (
        add_markers,
        compare_transitions,
        path_variants,
        sessionize,
        stage_flows,
        step_matrix,
        transitions,
    )
    from cxlab.prepare import prepare_events
    from cxlab.sample import SAMPLE_CLIENTS, SampleClient, generate_client, write_sample_clients
    from cxlab.schema import CUSTOMERS, DEFAULT_JOURNEY_MAP, EVENTS, FEEDBACK, STAGES
    from cxlab.stats import nps_interval, wilson_interval
    from cxlab.validation import Issue, ValidationReport
    from cxlab.voc import (
        comment_sentiment,
        comment_topics,
        mask_pii,
        representative_verbatims,
        safe_text,
    )

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "MarkovAttribution": "cxlab.attribution",
    "compare_attribution": "cxlab.attribution",
    "markov_attribution": "cxlab.attribution",
    "rule_based_attribution": "cxlab.attribution",
    "ChurnClusters": "cxlab.churn",
    "ClusterStabilityWarning": "cxlab.churn",
    "churn_drivers": "cxlab.churn",
    "retention_curves": "cxlab.churn",
    "Client": "cxlab.client",
    "load_client": "cxlab.client",
    "ChurnDefinition": "cxlab.client_config",
    "ClientConfig": "cxlab.client_config",
    "read_client_config": "cxlab.client_config",
    "KeyDrivers": "cxlab.drivers",
    "nps_drivers": "cxlab.drivers",
    "ConfigError": "cxlab.errors",
    "CxlabError": "cxlab.errors",
    "DataError": "cxlab.errors",
    "ParameterError": "cxlab.errors",
    "HeatmapCube": "cxlab.explore",
    "heatmap_cube": "cxlab.explore",
    "LABEL_LEAKING_FEATURES": "cxlab.features",
    "churn_labels": "cxlab.features",
    "customer_features": "cxlab.features",
    "feature_groups": "cxlab.features",
    "drop_off_drivers": "cxlab.funnel",
    "funnel": "cxlab.funnel",
    "stage_funnel": "cxlab.funnel",
    "time_to_convert": "cxlab.funnel",
    "channel_by_stage": "cxlab.heatmap",
    "compare_heatmaps": "cxlab.heatmap",
    "touchpoint_by_week": "cxlab.heatmap",
    "touchpoint_heatmap": "cxlab.heatmap",
    "assign_stages": "cxlab.journey",
    "customer_journeys": "cxlab.journey",
    "stage_transitions": "cxlab.journey",
    "unmapped_touchpoints": "cxlab.journey",
    "LoadResult": "cxlab.loaders",
    "load_customers": "cxlab.loaders",
    "load_events": "cxlab.loaders",
    "load_feedback": "cxlab.loaders",
    "compare_scores": "cxlab.metrics",
    "score_over_time": "cxlab.metrics",
    "score_summary": "cxlab.metrics",
    "OutOfCoreResult": "cxlab.outofcore",
    "analyze_client": "cxlab.outofcore",
    "add_markers": "cxlab.paths",
    "compare_transitions": "cxlab.paths",
    "path_variants": "cxlab.paths",
    "sessionize": "cxlab.paths",
    "stage_flows": "cxlab.paths",
    "step_matrix": "cxlab.paths",
    "transitions": "cxlab.paths",
    "prepare_events": "cxlab.prepare",
    "SAMPLE_CLIENTS": "cxlab.sample",
    "SampleClient": "cxlab.sample",
    "generate_client": "cxlab.sample",
    "write_sample_clients": "cxlab.sample",
    "CUSTOMERS": "cxlab.schema",
    "DEFAULT_JOURNEY_MAP": "cxlab.schema",
    "EVENTS": "cxlab.schema",
    "FEEDBACK": "cxlab.schema",
    "STAGES": "cxlab.schema",
    "nps_interval": "cxlab.stats",
    "wilson_interval": "cxlab.stats",
    "Issue": "cxlab.validation",
    "ValidationReport": "cxlab.validation",
    "comment_sentiment": "cxlab.voc",
    "comment_topics": "cxlab.voc",
    "mask_pii": "cxlab.voc",
    "representative_verbatims": "cxlab.voc",
    "safe_text": "cxlab.voc",
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
    "SampleClient",
    "ValidationReport",
    "add_markers",
    "analyze_client",
    "assign_stages",
    "channel_by_stage",
    "churn_drivers",
    "churn_labels",
    "comment_sentiment",
    "comment_topics",
    "compare_attribution",
    "compare_heatmaps",
    "compare_scores",
    "compare_transitions",
    "customer_features",
    "customer_journeys",
    "drop_off_drivers",
    "feature_groups",
    "funnel",
    "generate_client",
    "heatmap_cube",
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


class _Package(types.ModuleType):
    """The package module, so that an exported name shadows a submodule of the same name.

    ``cxlab.funnel`` is the function :func:`cxlab.funnel.funnel`, as with eager imports:
    importing the submodule ``cxlab.funnel`` binds it on the package, and this keeps the
    exported object there instead.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
