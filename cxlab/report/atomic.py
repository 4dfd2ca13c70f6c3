"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every file the report pipeline writes (executed notebooks, report pages, run records, the
index) goes through :func:`atomic_write_bytes`: the data is written to a temporary file in the
same folder, flushed to disk, then renamed over the target with :func:`os.replace` (atomic on
POSIX and Windows when source and target are on one file system). An interrupted batch
therefore leaves either the previous report or the new one, plus at worst a stray
``.*.tmp`` file that :func:`remove_stale_temps` cleans.

Each temporary file is named after its writer (``.<target>.<host>-<pid>-<random>.tmp``), so
two runs writing into one reports folder never share or delete each other's temporary files:
:func:`remove_stale_temps` removes only those of writers that are gone (a dead process on this
machine) or older than an hour.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import tempfile
import time
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "remove_stale_temps"]

_TMP_SUFFIX = ".tmp"
#: A temporary file whose writer cannot be checked (another machine) is stale after this long.
STALE_AFTER_SECONDS = 3600.0
_WRITER_RE = re.compile(r"\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-z_]+\.tmp$")


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, mode: int | None = None
) -> Path:
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
    prefix = f".{target.name}.{_host_tag()}-{os.getpid()}-"
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=_TMP_SUFFIX, dir=target.parent)
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


def remove_stale_temps(
    folder: str | os.PathLike[str], *, max_age: float = STALE_AFTER_SECONDS
) -> list[Path]:
    """Delete temporary files that interrupted writes left in ``folder`` (not recursive).

    Only ``.<target>.<...>.tmp`` names are touched, and never the temporary file of a writer
    that may still be writing: a file made by :func:`atomic_write_bytes` is removed when its
    writer process (on this machine) no longer exists, or when it is older than ``max_age``
    seconds (its writer is on another machine, or its pid was reused). A ``.tmp`` name without
    a writer tag (left by an older cxlab) is removed. Returns the removed paths.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / ".report.html.abc123.tmp").write_text("half")  # no writer tag
    >>> _ = (d / f".run.json.{_host_tag()}-{os.getpid()}-x1.tmp").write_text("writing")  # ours: live
    >>> [p.name for p in remove_stale_temps(d)]
    ['.report.html.abc123.tmp']
    """
    removed: list[Path] = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    host, now = _host_tag(), time.time()
    for p in sorted(base.glob(f".*{_TMP_SUFFIX}")):
        m = _WRITER_RE.search(p.name)
        if m is not None:
            try:
                age = now - p.stat().st_mtime
            except OSError:
                continue
            writer_gone = m["host"] == host and not _pid_alive(int(m["pid"]))
            if not writer_gone and age < max_age:
                continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed
