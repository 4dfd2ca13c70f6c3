"""cxlab: customer-experience and customer-journey analytics over polars frames.

The public face of the package. Every function here takes and returns polars frames (or
small result objects); charts are altair; nothing loops over rows in Python.
"""

from cxlab.client_config import ChurnDefinition, ClientConfig, read_client_config
from cxlab.errors import ConfigError, CxlabError, DataError, ParameterError
from cxlab.schema import CUSTOMERS, DEFAULT_JOURNEY_MAP, EVENTS, FEEDBACK, STAGES
from cxlab.stats import nps_interval, wilson_interval

__version__ = "0.1.0"

__all__ = [
    "CUSTOMERS",
    "DEFAULT_JOURNEY_MAP",
    "EVENTS",
    "FEEDBACK",
    "STAGES",
    "ChurnDefinition",
    "ClientConfig",
    "ConfigError",
    "CxlabError",
    "DataError",
    "ParameterError",
    "nps_interval",
    "read_client_config",
    "wilson_interval",
]
