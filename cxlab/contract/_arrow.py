"""Which memory a polars Series holds: the addresses of its Arrow buffers, without a copy.

:func:`column_identity` reads them through the Arrow PyCapsule interface
(``Series.__arrow_c_stream__``, the Arrow C stream interface: a stable ABI) with ctypes, in
O(number of chunks) — about 20 µs for a 10M-row string column, whatever its length. polars
exports its own buffers there (zero-copy), so two Series share an identity exactly when they
hold the same data in the same memory.

It lets :mod:`cxlab.contract.prepare` tell that a DataFrame it recorded was changed in place
(``df.replace_column(...)``, ``df[row, col] = value``): polars builds a new column then, with
new buffers. Whoever compares identities must keep the first Series alive (so its memory
cannot be freed and reused by the new column, which would give the same addresses).
"""

from __future__ import annotations

import ctypes

import polars as pl

__all__ = ["column_identity"]


class _Schema(ctypes.Structure):  # struct ArrowSchema (only its format is read)
    pass


_Schema._fields_ = [
    ("format", ctypes.c_char_p),
    ("name", ctypes.c_char_p),
    ("metadata", ctypes.c_char_p),
    ("flags", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(_Schema))),
    ("dictionary", ctypes.POINTER(_Schema)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_Schema))),
    ("private_data", ctypes.c_void_p),
]
_VIEWS = (b"vu", b"vz")  # Arrow formats of string view and binary view arrays


class _Array(ctypes.Structure):  # struct ArrowArray
    pass


_Array._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(_Array))),
    ("dictionary", ctypes.POINTER(_Array)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_Array))),
    ("private_data", ctypes.c_void_p),
]


class _Stream(ctypes.Structure):  # struct ArrowArrayStream
    pass


_Stream._fields_ = [
    (
        "get_schema",
        ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_Stream), ctypes.POINTER(_Schema)),
    ),
    ("get_next", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_Stream), ctypes.POINTER(_Array))),
    ("get_last_error", ctypes.c_void_p),
    ("release", ctypes.c_void_p),  # called by the capsule's destructor
    ("private_data", ctypes.c_void_p),
]

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _array_identity(array: _Array, views: bool) -> tuple:
    """(offset, length, addresses of the array's own buffers and of its children's)."""
    # A view array's last buffer holds the sizes of its data buffers, which the exporter
    # may allocate for each export: only the buffers before it identify the data.
    n = array.n_buffers - 1 if views else array.n_buffers
    buffers = tuple(array.buffers[i] or 0 for i in range(n))
    children = tuple(_array_identity(array.children[i][0], False) for i in range(array.n_children))
    return array.offset, array.length, buffers, children


def column_identity(series: pl.Series) -> tuple | None:
    """The offset, length and buffer addresses of each chunk of ``series`` (None: unknown).

    Equal for the same Series, a clone or the same column taken again from a frame; different
    once any value was replaced (polars then builds new buffers). None when the Series cannot
    be exported (never for cxlab's key columns: strings, datetimes, integers); callers treat
    None as "changed".

    Examples
    --------
    >>> df = pl.DataFrame({"customer_id": ["a", "b"], "session_id": ["s1", "s2"]})
    >>> before = df.get_column("customer_id")
    >>> column_identity(df.get_column("customer_id")) == column_identity(before)
    True
    >>> df[0, "customer_id"] = "z"  # in place: a new column, new buffers
    >>> column_identity(df.get_column("customer_id")) == column_identity(before)
    False
    """
    try:
        capsule = series.__arrow_c_stream__()
        stream = _Stream.from_address(_capsule_pointer(capsule, b"arrow_array_stream"))
    except Exception:  # noqa: BLE001 - no identity: the caller checks the data instead
        return None
    schema = _Schema()
    if stream.get_schema(ctypes.byref(stream), ctypes.byref(schema)) != 0:
        return None
    views = schema.format in _VIEWS
    schema.release(ctypes.byref(schema))
    chunks = []
    while True:
        array = _Array()
        if stream.get_next(ctypes.byref(stream), ctypes.byref(array)) != 0:
            return None
        if not array.release:  # the end of the stream
            break
        try:
            chunks.append(_array_identity(array, views))
        finally:
            array.release(ctypes.byref(array))
    return tuple(chunks)
