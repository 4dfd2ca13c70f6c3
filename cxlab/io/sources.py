"""From a client's source columns to the columns the loader maps: the declarative part of the contract.

Real exports rarely hold the canonical columns as they are. Before the loader checks and casts
a table (:func:`cxlab.io.loaders.load_table`), :func:`apply_source_spec` adds, as plain columns of
the source, what ``client.toml`` declares:

- **nested fields**: a ``[columns.<table>]`` key that is not a column of the file but a path into
  one: ``"properties.time" = "timestamp"`` reads field ``time`` of the object (struct) column
  ``properties``; ``"event_params[ga_session_id]" = "session_id"`` reads the value of the entry
  whose ``key`` is ``ga_session_id`` in a list of ``{key, value}`` objects (GA4's
  ``event_params``; a ``value`` object with several typed fields gives its first non-empty one,
  as text);
- **epoch times** (``timestamp_unit = "s" | "ms" | "us" | "ns"``): integer (or decimal) seconds,
  milliseconds, microseconds or nanoseconds since 1970-01-01 UTC become UTC datetimes;
- **derived columns** (``[derive.<table>]``): a canonical column built from several source
  columns, their values joined by ``[derive] separator`` (``"_"``), missing parts left out;
- **constants** (``[defaults.<table>]``): a canonical column the file does not have, the same
  value on every row. An events file without a channel gets ``channel = "unknown"``.

Everything here is an expression over whole columns, added to the lazy scan: it costs one pass
over the added columns and nothing when a client declares none of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from cxlab.contract.schema import SourceSpec
from cxlab.errors import DataError, did_you_mean

__all__ = ["SourceSpec", "apply_source_spec", "nested_path", "epoch_to_datetime", "UNKNOWN_CHANNEL"]

#: The channel of events whose file has no channel column and whose client.toml sets none.
UNKNOWN_CHANNEL = "unknown"
EPOCH_UNITS = ("s", "ms", "us", "ns")
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_PATH = re.compile(r"^(?P<base>[^.\[\]]+)(?P<rest>(\.[^.\[\]]+|\[[^\[\]]+\])+)$")
_STEP = re.compile(r"\.([^.\[\]]+)|\[([^\[\]]+)\]")


def nested_path(name: str) -> tuple[str, list[tuple[str, str]]] | None:
    """Split ``"a.b[k].c"`` into its base column and steps; None for a plain name.

    Examples
    --------
    >>> nested_path("properties.time")
    ('properties', [('field', 'time')])
    >>> nested_path("event_params[ga_session_id]")
    ('event_params', [('key', 'ga_session_id')])
    >>> nested_path("Customer Ref") is None
    True
    """
    found = _PATH.match(name)
    if not found:
        return None
    steps = [("field", f) if f else ("key", k) for f, k in _STEP.findall(found.group("rest"))]
    return found.group("base"), steps


def _as_text(e: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Struct):  # e.g. GA4 {string_value, int_value, ...}: the first one set
        parts = [_as_text(e.struct.field(f.name), f.dtype) for f in dtype.fields]
        return pl.coalesce(parts) if parts else pl.lit(None, pl.String)
    if isinstance(dtype, (pl.List, pl.Array)):
        return pl.lit(None, pl.String)
    return e.cast(pl.String)


def _nested_expr(
    name: str, e: pl.Expr, base: str, steps: list[tuple[str, str]], dtype: pl.DataType, path: str
) -> tuple[pl.Expr, pl.DataType]:
    where = base
    for kind, step in steps:
        if kind == "field":
            if not isinstance(dtype, pl.Struct):
                raise DataError(
                    f"{path}: {name!r} reads field {step!r} of {where!r}, which holds "
                    f"{dtype} values, not objects. Map the column itself, or fix the path "
                    f"under [columns] in client.toml."
                )
            fields = {f.name: f.dtype for f in dtype.fields}
            if step not in fields:
                raise DataError(
                    f"{path}: {name!r}: {where!r} has no field {step!r}."
                    f"{did_you_mean(step, list(fields))} Its fields: {', '.join(fields)}."
                )
            e, dtype = e.struct.field(step), fields[step]
        else:
            inner = dtype.inner if isinstance(dtype, pl.List) else None
            names = {f.name: f.dtype for f in inner.fields} if isinstance(inner, pl.Struct) else {}
            if "key" not in names or "value" not in names:
                raise DataError(
                    f"{path}: {name!r} looks up key {step!r} in {where!r}, which is not a list "
                    f"of {{key, value}} objects (it holds {dtype}). Use [key] only on such lists "
                    f"(GA4 event_params, user_properties)."
                )
            e = e.list.eval(
                pl.element().filter(pl.element().struct.field("key") == step).struct.field("value")
            ).list.first()
            dtype = names["value"]
        where = f"{where}.{step}" if kind == "field" else f"{where}[{step}]"
    if isinstance(dtype, pl.Struct):
        e, dtype = _as_text(e, dtype), pl.String()
    return e, dtype


def epoch_to_datetime(e: pl.Expr, dtype: pl.DataType, unit: str) -> pl.Expr:
    """Epoch numbers (or their text) in ``unit`` as UTC datetimes; null where not a number.

    Examples
    --------
    >>> s = pl.Series(["1700000000", "1700000000.5", "x"])
    >>> pl.select(epoch_to_datetime(pl.lit(s), pl.String(), "s")).to_series().to_list()[:2]
    [datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=zoneinfo.ZoneInfo(key='UTC')), \
datetime.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=zoneinfo.ZoneInfo(key='UTC'))]
    """
    if unit not in EPOCH_UNITS:
        raise ValueError(f"unit must be one of {EPOCH_UNITS}, got {unit!r}")
    target = pl.Datetime("us", "UTC")
    if dtype.is_integer():  # the common case (GA4, Parquet, NDJSON): integer arithmetic only
        whole = e.cast(pl.Int64, strict=False)
        return _us(whole, unit).cast(target)
    if dtype == pl.String:
        text = e.str.strip_chars()
        whole, decimal = text.cast(pl.Int64, strict=False), text.cast(pl.Float64, strict=False)
    elif dtype.is_float():
        whole, decimal = pl.lit(None, pl.Int64), e
    else:
        return pl.lit(None, target)
    # a decimal value is rounded to the microsecond
    us_decimal = (decimal * (1_000_000 / _PER_SECOND[unit])).round(0)
    us_decimal = pl.when(us_decimal.is_finite() & (us_decimal.abs() < 9e18)).then(us_decimal)
    return pl.coalesce(_us(whole, unit), us_decimal.cast(pl.Int64)).cast(target)


def _us(whole: pl.Expr, unit: str) -> pl.Expr:
    """Whole epoch numbers in ``unit`` as microseconds (nanoseconds cut to the microsecond)."""
    if unit == "ns":
        return whole // 1000
    return whole * (1_000_000 // _PER_SECOND[unit]) if unit != "us" else whole


def _provided(
    canonical: str, columns: Mapping[str, pl.DataType], mapping: Mapping[str, str]
) -> bool:
    return canonical in mapping.values() or (canonical in columns and canonical not in mapping)


def _free_name(name: str, taken: Mapping[str, object]) -> str:
    while name in taken:
        name = f"{name}_"
    return name


def apply_source_spec(
    lf: pl.LazyFrame,
    schema: Mapping[str, pl.DataType],
    types: Mapping[str, pl.DataType],
    mapping: Mapping[str, str],
    spec: SourceSpec | None,
    *,
    table: str,
    path: object,
) -> tuple[pl.LazyFrame, dict[str, pl.DataType], dict[str, str], list[str]]:
    """Add nested fields, epoch times, derived and constant columns to a table's source.

    Parameters
    ----------
    lf : pl.LazyFrame
        The source scan.
    schema : dict of str to DataType
        Its columns as scanned (NDJSON: every column as text).
    types : dict of str to DataType
        The file's own types (NDJSON: objects and lists as the file holds them).
    mapping : dict of str to str
        ``[columns.<table>]``: source column (or nested path) -> canonical column.
    spec : SourceSpec or None
        What else ``client.toml`` declares for the table.
    table : str
        The canonical table (``"events"`` gets ``channel = "unknown"`` when it has none).
    path : Path
        The file, for messages.

    Returns
    -------
    lf, schema, mapping, consumed
        The scan with the added columns, its schema, the mapping that sends each added
        column to its canonical column, and the source columns an added one is made from
        (an epoch time column, the parts of a derived column, an object or list column whose
        fields are mapped): like a mapped column, they are not kept as attributes.

    Examples
    --------
    >>> lf = pl.LazyFrame({"who": ["a"], "props": [{"t": 0}]})
    >>> spec = SourceSpec(constants={"touchpoint": "purchase"}, timestamp_unit="s")
    >>> out, schema, mapping, consumed = apply_source_spec(lf, lf.collect_schema(), lf.collect_schema(),
    ...     {"who": "customer_id", "props.t": "timestamp"}, spec, table="events", path="x.parquet")
    >>> mapping
    {'who': 'customer_id', 'props.t': 'timestamp', 'touchpoint': 'touchpoint', 'channel': 'channel'}
    >>> out.collect().row(0)[2:]
    (datetime.datetime(1970, 1, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 'purchase', 'unknown')
    """
    spec = spec or SourceSpec()
    cols = _Columns(dict(schema), types, dict(mapping), {}, [], table, str(path))
    for src in list(cols.mapping):
        _add_nested(cols, src)
    for parts in spec.derived.values():
        for part in parts:
            _add_nested(cols, part)
    _add_derived(cols, spec)
    if spec.timestamp_unit is not None:
        _add_epoch(cols, spec.timestamp_unit)
    _add_constants(cols, spec)
    if cols.added:
        lf = lf.with_columns(e.alias(n) for n, e in cols.added.items())
    schema, mapping, consumed = cols.schema, cols.mapping, cols.consumed
    return lf, schema, mapping, consumed


@dataclass
class _Columns:
    """The source's columns while :func:`apply_source_spec` adds to them."""

    schema: dict[str, pl.DataType]  # every column, the added ones included
    types: Mapping[str, pl.DataType]  # the file's own types
    mapping: dict[str, str]  # source column -> canonical column
    added: dict[str, pl.Expr]  # added column -> its expression
    consumed: list[str]  # source columns an added one is made from
    table: str
    path: str


def _add_nested(cols: _Columns, name: str) -> None:
    """Make ``name`` (a nested path) a column of the source, if it is not one."""
    schema = cols.schema
    if name in schema or name in cols.added:
        return
    parsed = nested_path(name)
    if parsed is None or parsed[0] not in schema:
        return  # the loader names the missing column
    base, steps = parsed
    dtype = cols.types.get(base, schema[base])
    base_expr = pl.col(base)
    if schema[base] == pl.String and dtype != pl.String:  # NDJSON: objects read as JSON text
        base_expr = base_expr.str.json_decode(dtype)
    expr, leaf = _nested_expr(name, base_expr, base, steps, dtype, cols.path)
    cols.added[name] = expr
    schema[name] = leaf
    cols.consumed.append(base)  # an object or list column: its fields are what is used


def _add_derived(cols: _Columns, spec: SourceSpec) -> None:
    """Derived columns: parts joined by the separator, missing parts left out."""
    schema, mapping, table, path = cols.schema, cols.mapping, cols.table, cols.path
    for canonical, parts in spec.derived.items():
        if canonical in mapping.values():
            other = next(s for s, c in mapping.items() if c == canonical)
            raise DataError(
                f"{path}: {canonical!r} is both mapped from column {other!r} under [columns.{table}] "
                f"and derived from {list(parts)} under [derive.{table}] in client.toml. Keep one."
            )
        missing = [p for p in parts if p not in schema]
        if missing:
            raise DataError(
                f"{path}: [derive.{table}] builds {canonical!r} from column {missing[0]!r}, which "
                f"is not in the file.{did_you_mean(missing[0], list(schema))} Columns in the file: "
                f"{', '.join(schema)}."
            )
        # null parts are left out; the loader then strips the result and reads "" as empty
        texts = [cols.added.get(part, pl.col(part)).cast(pl.String) for part in parts]
        cols.consumed.extend(p for p in parts if p not in cols.added)  # used, like a mapped column
        name = _free_name(" + ".join(parts), schema)
        cols.added[name] = pl.concat_str(texts, separator=spec.separator, ignore_nulls=True)
        schema[name] = pl.String()
        mapping[name] = canonical


def _add_epoch(cols: _Columns, unit: str) -> None:
    """The timestamp source read as epoch times in ``unit``."""
    schema, mapping, added = cols.schema, cols.mapping, cols.added
    src = next((s for s, c in mapping.items() if c == "timestamp"), None)
    if src is None and "timestamp" in schema and "timestamp" not in mapping:
        src = "timestamp"
    if src is None or src not in schema:
        return
    converted = epoch_to_datetime(added.get(src, pl.col(src)), schema[src], unit)
    if src in added:  # a nested field: converted in place
        added[src] = converted
        schema[src] = pl.Datetime("us", "UTC")
    else:  # a column of the file: its text stays as it is (set-aside rows show it)
        name = _free_name(f"{src} (epoch {unit})", schema)
        added[name] = converted
        schema[name] = pl.Datetime("us", "UTC")
        mapping.pop(src, None)
        mapping[name] = "timestamp"
        cols.consumed.append(src)


def _add_constants(cols: _Columns, spec: SourceSpec) -> None:
    """Constants, for canonical columns no column of the file gives."""
    schema = cols.schema
    constants = dict(spec.constants)
    if cols.table == "events" and "channel" not in constants:
        constants["channel"] = UNKNOWN_CHANNEL
    for canonical, value in constants.items():
        if _provided(canonical, schema, cols.mapping):
            continue
        name = (
            canonical if canonical not in schema else _free_name(f"{canonical} (constant)", schema)
        )
        cols.added[name] = pl.lit(value, pl.String)
        schema[name] = pl.String()
        cols.mapping[name] = canonical
