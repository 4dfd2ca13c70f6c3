"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every file the report pipeline writes (executed notebooks, report pages, run records, the
index) goes through :func:`atomic_write_bytes`: the data is written to a temporary file in the
same folder, flushed to disk, then renamed over the target with :func:`os.replace` (atomic on
POSIX and Windows when source and target are on one file system). An interrupted batch
therefore leaves either the previous report or the new one, plus at worst a stray
``.*.tmp`` file that the next write of the same target replaces and :func:`remove_stale_temps`
cleans.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "remove_stale_temps"]

_TMP_SUFFIX = ".tmp"


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    path : str or PathLike
        The target file. Its folder is created when missing.
    data : bytes
        The full new content.
    mode : int, optional
        Permission bits for the new file (e.g. ``0o600`` for secrets). Default: the
        temporary file's ``0o600`` widened to ``0o644``.

    Returns
    -------
    Path
        The target path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_bytes(d / "a.txt", b"hello").read_bytes()
    b'hello'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644 if mode is None else mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically. See :func:`atomic_write_bytes`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_text(d / "b.txt", "héllo").read_text(encoding="utf-8")
    'héllo'
    """
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def remove_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files an interrupted write left in ``folder`` (not recursive).

    Only names of the form ``.<target>.<random>.tmp`` made by :func:`atomic_write_bytes` are
    touched. Returns the removed paths.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / ".report.html.abc123.tmp").write_text("half")
    >>> [p.name for p in remove_stale_temps(d)]
    ['.report.html.abc123.tmp']
    """
    removed = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    for p in sorted(base.glob(f".*{_TMP_SUFFIX}")):
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed
