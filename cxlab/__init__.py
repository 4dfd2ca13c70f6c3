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

from cxlab.client import Client, load_client
from cxlab.client_config import ChurnDefinition, ClientConfig, read_client_config
from cxlab.errors import ConfigError, CxlabError, DataError, ParameterError
from cxlab.loaders import LoadResult, load_customers, load_events, load_feedback
from cxlab.sample import SAMPLE_CLIENTS, SampleClient, generate_client, write_sample_clients
from cxlab.schema import CUSTOMERS, DEFAULT_JOURNEY_MAP, EVENTS, FEEDBACK, STAGES
from cxlab.stats import nps_interval, wilson_interval
from cxlab.validation import Issue, ValidationReport

__version__ = "0.1.0"

__all__ = [
    "CUSTOMERS",
    "DEFAULT_JOURNEY_MAP",
    "EVENTS",
    "FEEDBACK",
    "SAMPLE_CLIENTS",
    "STAGES",
    "ChurnDefinition",
    "Client",
    "ClientConfig",
    "ConfigError",
    "CxlabError",
    "DataError",
    "Issue",
    "LoadResult",
    "ParameterError",
    "SampleClient",
    "ValidationReport",
    "generate_client",
    "load_client",
    "load_customers",
    "load_events",
    "load_feedback",
    "nps_interval",
    "read_client_config",
    "wilson_interval",
    "write_sample_clients",
]
