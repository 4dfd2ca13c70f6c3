"""Parameter checks shared by the analyses: one message template per kind of parameter.

The one public home of the checks several modules make on a user's arguments (as
scikit-learn's ``_param_validation`` declares each parameter's type and range once). It
depends on nothing but :mod:`cxlab.errors`, so every layer (contract, io, analysis) may use
it. Durations are checked by :func:`cxlab.events.parse_duration`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from cxlab.errors import ParameterError

__all__ = ["check_int", "as_list", "renamed"]


def check_int(value: object, name: str, where: str, low: int, high: int = 10_000) -> int:
    """``value`` when it is an int in ``[low, high]``; else :class:`ParameterError`.

    Examples
    --------
    >>> check_int(3, "max_steps", "step_matrix", 1)
    3
    >>> check_int(0, "max_steps", "step_matrix", 1)
    Traceback (most recent call last):
    ...
    cxlab.errors.ParameterError: The 'max_steps' parameter of step_matrix must be an int in [1, 10000]. Got 0 instead.
    """
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ParameterError(
            f"The '{name}' parameter of {where} must be an int in [{low}, {high}]. "
            f"Got {value!r} instead."
        )
    return value


def as_list(values: str | Sequence[str] | None, name: str, where: str) -> list[str]:
    """A touchpoint name or a list of them as a list (None: empty); else :class:`ParameterError`.

    Examples
    --------
    >>> as_list("purchase", "conversion", "path_variants"), as_list(None, "conversion", "x")
    (['purchase'], [])
    >>> as_list([1], "conversion", "journeys")
    Traceback (most recent call last):
    ...
    cxlab.errors.ParameterError: The 'conversion' parameter of journeys must be a touchpoint name or a list of them. Got [1] instead.
    """
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    out = list(values)
    if not all(isinstance(v, str) for v in out):
        raise ParameterError(
            f"The '{name}' parameter of {where} must be a touchpoint name or a list of them. "
            f"Got {values!r} instead."
        )
    return out


def renamed(old_value: object, new_value: object, old: str, new: str, where: str) -> object:
    """The value of a renamed parameter: ``old_value`` with a DeprecationWarning when given.

    A public parameter renamed for one name per idea (the glossary in CONTRIBUTING) keeps its
    old name for one release, as a keyword defaulting to None; the function calls this first.

    Examples
    --------
    >>> renamed(None, "nps", "survey", "metric", "score_summary")
    'nps'
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed("csat", "nps", "survey", "metric", "score_summary")
    'csat'
    >>> print(caught[0].message)
    The 'survey' parameter of score_summary is now called 'metric'; the old name stops working in the next release. Write metric='csat'.
    """
    if old_value is None:
        return new_value
    warnings.warn(
        f"The '{old}' parameter of {where} is now called '{new}'; the old name stops working "
        f"in the next release. Write {new}={old_value!r}.",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value
