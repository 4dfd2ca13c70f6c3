"""cxlab: customer-experience and customer-journey analytics over polars frames.

The public face of the package. Every function here takes and returns polars frames (or
small result objects); charts live in :mod:`cxlab.charts`; nothing loops over rows in Python.

Examples
--------
>>> import cxlab
>>> from cxlab.config import SAMPLE_DIR
>>> client = cxlab.load_client(SAMPLE_DIR / "bookshop")  # doctest: +SKIP
>>> print(client.validation.one_line())  # doctest: +SKIP
"""

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
from cxlab.features import LABEL_LEAKING_FEATURES, churn_labels, customer_features, feature_groups
from cxlab.funnel import drop_off_drivers, funnel, stage_funnel, time_to_convert
from cxlab.heatmap import channel_by_stage, compare_heatmaps, touchpoint_by_week, touchpoint_heatmap
from cxlab.journey import assign_stages, customer_journeys, stage_transitions, unmapped_touchpoints
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
