"""The one exception hierarchy of cxlab.

Every error a user can cause (bad file, bad column, bad parameter) is raised as a subclass of
:class:`CxlabError` with a message that says *where* (file, column, row), *what was expected*,
*what was found* and *how to fix it*. Library tracebacks from polars or pyarrow never reach
the user for input problems.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["CxlabError", "DataError", "ConfigError", "ParameterError", "did_you_mean"]


class CxlabError(Exception):
    """Base class of every error cxlab raises on purpose."""


class DataError(CxlabError):
    """An input data file cannot be read as the client data contract requires."""


class ConfigError(CxlabError):
    """A ``client.toml`` (or another configuration) is missing, malformed or inconsistent."""


class ParameterError(CxlabError, ValueError):
    """A function was called with a parameter outside its documented range."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or ``""`` when none is close.

    Examples
    --------
    >>> did_you_mean("custmer_id", ["customer_id", "timestamp"])
    " Did you mean 'customer_id'?"
    >>> did_you_mean("zzz", ["customer_id"])
    ''
    """
    pool = list(candidates)
    lowered = {c.lower().replace(" ", "_"): c for c in pool}
    key = name.lower().replace(" ", "_")
    if key in lowered and lowered[key] != name:
        return f" Did you mean '{lowered[key]}'?"
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.75)
    return f" Did you mean '{lowered[close[0]]}'?" if close else ""
