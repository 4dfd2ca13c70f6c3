"""Input checks shared by every analysis: accept a DataFrame or LazyFrame, check columns.

One place for the two messages a user sees most often, so they read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from cxlab.contract.schema import CODED_COLUMNS, CUSTOMER_CODE, SEQUENCE
from cxlab.errors import DataError, ParameterError, did_you_mean

__all__ = ["FrameLike", "as_lazy", "require_columns", "as_text"]

FrameLike = pl.DataFrame | pl.LazyFrame


_LOAD_HINT = (
    "Load the client with cxlab.load_client so columns are mapped to the canonical names, "
    "or rename the column."
)


def require_columns(
    lf: pl.LazyFrame,
    columns: Iterable[str],
    name: str,
    *,
    where: str | None = None,
    hints: dict[str, str] | None = None,
) -> list[str]:
    """Raise :class:`DataError` unless ``lf`` has every column; return the column names.

    ``where`` (the calling function) prefixes the message; ``hints`` replaces the default
    "how to fix" sentence for particular columns.

    Examples
    --------
    >>> require_columns(pl.LazyFrame({"customer_id": ["a"]}), ["custmer_id"], "events")
    Traceback (most recent call last):
    ...
    cxlab.errors.DataError: The events frame has no column 'custmer_id'. Did you mean 'customer_id'? Columns found: customer_id. Load the client with cxlab.load_client so columns are mapped to the canonical names, or rename the column.
    """
    have = lf.collect_schema().names()
    for column in columns:
        if column not in have:
            prefix = f"{where}: the" if where else "The"
            fix = (hints or {}).get(column, _LOAD_HINT)
            raise DataError(
                f"{prefix} {name} frame has no column '{column}'.{did_you_mean(column, have)} "
                f"Columns found: {', '.join(have)}. {fix}"
            )
    return have


def as_text(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``lf`` with the :data:`~cxlab.contract.schema.CODED_COLUMNS` that are enums (prepared events) as text.

    Examples
    --------
    >>> lf = pl.LazyFrame({"touchpoint": pl.Series(["ad"], dtype=pl.Enum(["ad"]))})
    >>> as_text(lf).collect_schema()["touchpoint"]
    String
    """
    schema = lf.collect_schema()
    coded = [c for c in CODED_COLUMNS if isinstance(schema.get(c), pl.Enum)]
    return lf.with_columns(pl.col(coded).cast(pl.String)) if coded else lf


def as_lazy(
    frame: object,
    name: str,
    required: Iterable[str] = (),
    *,
    where: str | None = None,
    codes: bool = False,
) -> pl.LazyFrame:
    """``frame`` as a LazyFrame, after checking it is a polars frame with ``required`` columns.

    Prepared events (:mod:`cxlab.contract.prepare`) hold ``touchpoint`` and ``channel`` as enums; they
    come back as text (:func:`as_text`) unless ``codes`` is True (for the analyses written to
    use the codes) and the frame is prepared.

    Examples
    --------
    >>> as_lazy(pl.DataFrame({"score": [9]}), "feedback", ["score"]).collect().height
    1
    >>> as_lazy([1, 2], "feedback")
    Traceback (most recent call last):
    ...
    cxlab.errors.ParameterError: The 'feedback' parameter must be a polars DataFrame or LazyFrame. Got list instead.
    """
    if isinstance(frame, pl.DataFrame):
        lf = frame.lazy()
    elif isinstance(frame, pl.LazyFrame):
        lf = frame
    else:
        of = f" of {where}" if where else ""
        raise ParameterError(
            f"The '{name}' parameter{of} must be a polars DataFrame or LazyFrame. "
            f"Got {type(frame).__name__} instead."
        )
    required = list(required)
    if required:
        require_columns(lf, required, name, where=where)
    if codes and {CUSTOMER_CODE, SEQUENCE} <= set(lf.collect_schema().names()):
        return lf
    return as_text(lf)
