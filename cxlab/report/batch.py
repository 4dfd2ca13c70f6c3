"""Render the report for one client or for a folder of clients, in parallel, resumably.

:func:`render_client` runs the report notebook for one client folder and writes, in
``<out>/<client>/``:

``report.ipynb``
    The executed notebook, always (with the error when the run failed), for audit.
``report.html``
    The offline HTML report (successful runs only).
``report.pdf``
    With ``pdf=True``: the report printed to A4 by headless Chromium, offline (see
    :mod:`cxlab.report.pdf`). A PDF that cannot be printed is recorded in ``run.json``
    (``pdf_failure``) and keeps the HTML: the run stays ``ok``.
``run.json``
    The run record: status, timings, the failure (cell and exception), the headline facts the
    notebook published, the sections its data could not support (``skipped_sections``: section,
    title and the one-sentence reason) and the content hash used by ``--resume``.

:func:`run_batch` does that for every client folder (a sub-folder with ``client.toml``) under
a folder, in local worker processes (default: one per core) or on an existing Dask
distributed cluster, with a tqdm progress bar, one status line per client, and finally
``<out>/index.html``. One client's failure never stops the others.

Resume: a client is skipped when its last run succeeded and the *content hash* of its inputs
is unchanged: its ``client.toml`` and every data file it names (names and bytes, wherever they
are), the notebook template, the parameters, the cxlab version, and a fingerprint of the
pseudonymisation secret.

Every file is written atomically (temporary file, then rename): an interrupted batch never
leaves a half-written report, record or index.

Local batches survive their workers: each worker process renders one client at a time in its
own pool, so a worker killed mid-render (out of memory, an operator) costs only the client it
was rendering, which is retried once on a fresh worker and recorded as failed if that worker
dies too. Workers (and the notebook kernels they start) exit when the batch's main process
dies, so a killed batch never keeps writing behind a new ``--resume``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from cxlab.errors import ConfigError, CxlabError, ParameterError, did_you_mean
from cxlab.report.atomic import atomic_write_text, remove_stale_temps

__all__ = [
    "BatchResult",
    "DEFAULT_NOTEBOOK",
    "RECORD_FILE",
    "content_hash",
    "find_clients",
    "load_record",
    "prepare_out_dir",
    "render_client",
    "run_batch",
]

RECORD_FILE = "run.json"
#: The reason recorded for a client whose worker process died on each of its attempts.
WORKER_DIED = "the worker rendering this client stopped (killed or out of memory)"


def _default_notebook() -> Path:
    from cxlab.config import NOTEBOOKS_DIR

    return NOTEBOOKS_DIR / "reports" / "client_report.ipynb"


DEFAULT_NOTEBOOK: Path = _default_notebook()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def find_clients(
    clients_dir: str | os.PathLike[str], only: Sequence[str] | None = None
) -> list[Path]:
    """Client folders (sub-folders holding ``client.toml``) under ``clients_dir``, sorted.

    Raises
    ------
    ConfigError
        When the folder does not exist or holds no client folder.
    ParameterError
        When ``only`` names a client that is not there.
    """
    base = Path(clients_dir).expanduser().resolve()
    if not base.is_dir():
        raise ConfigError(f"The clients folder {base} does not exist (or is not a folder).")
    found = sorted(p.parent for p in base.glob("*/client.toml"))
    if not found:
        raise ConfigError(
            f"No client folders under {base}: expected sub-folders that each hold a client.toml "
            f"(e.g. {base}/bookshop/client.toml). Run `cxlab sample` for example clients."
        )
    if only:
        names = {p.name: p for p in found}
        missing = [n for n in only if n not in names]
        if missing:
            raise ParameterError(
                f"--only names client '{missing[0]}', which is not a client folder under {base}."
                f"{did_you_mean(missing[0], names)} Clients: {', '.join(sorted(names))}."
            )
        found = [names[n] for n in sorted(set(only))]
    return found


def _salt_fingerprint(salt_file: Path | None) -> str:
    if salt_file is None:
        return ""
    from cxlab.report.privacy import read_or_create_secret

    return hashlib.sha256(b"cxlab-salt-fingerprint" + read_or_create_secret(salt_file)).hexdigest()[
        :16
    ]


def _hash_file(h: Any, label: str, path: Path) -> None:
    h.update(label.encode() + b"\0")
    if path.is_dir():  # a folder of files (e.g. partitioned Parquet): every file in it
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            _hash_file(h, p.relative_to(path).as_posix(), p)
        return
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:  # missing or unreadable: the run will say so; the key still changes
        h.update(f"<unreadable: {type(exc).__name__}>".encode())
    h.update(b"\0")


def _input_files(client_dir: Path) -> list[tuple[str, Path]]:
    """(label, path) of every file a report of ``client_dir`` reads: client.toml and [files]."""
    from cxlab.contract.client_config import read_client_config

    files = [("client.toml", client_dir / "client.toml")]
    try:
        config = read_client_config(client_dir)
    except CxlabError:
        # Unreadable config: the run fails anyway (and a failure is never skipped); hash every
        # visible file of the folder so that fixing any of them changes the key.
        for p in sorted(client_dir.rglob("*")):
            rel = p.relative_to(client_dir)
            if (
                p.is_file()
                and not any(part.startswith(".") for part in rel.parts)
                and rel.as_posix() != "client.toml"
            ):
                files.append((rel.as_posix(), p))
        return files
    for table in sorted(config.files):
        label = f"[files] {table} = {config.files[table]}"
        try:
            path = config.path_of(table)
        except CxlabError:  # refused (e.g. outside the folder): the run fails and says why
            files.append((label + " <refused>", client_dir / "client.toml"))
            continue
        if path is not None:
            files.append((label, path))
    return files


def content_hash(
    client_dir: Path, notebook: Path, parameters: dict[str, Any], salt_file: Path | None = None
) -> str:
    """The resume key of one client run: a SHA-256 over its inputs.

    Covers every file the report reads -- ``client.toml`` and each data file its ``[files]``
    table names, wherever it lives (a folder named there: every file in it) --, the notebook
    template's bytes, the parameters (as sorted JSON), the cxlab version and a fingerprint of
    the pseudonymisation secret (a one-way hash of it, never the secret). Other files in the
    client folder (``truth.json``, notes) do not count. When ``client.toml`` cannot be read,
    every visible file of the folder is hashed instead.
    """
    from cxlab import __version__

    client_dir = Path(client_dir)
    h = hashlib.sha256()
    h.update(b"cxlab-report-v2\0" + __version__.encode() + b"\0")
    for label, path in _input_files(client_dir):
        _hash_file(h, label, path)
    h.update(b"notebook\0" + Path(notebook).read_bytes() + b"\0")
    h.update(json.dumps(parameters, sort_keys=True, default=str).encode() + b"\0")
    h.update(_salt_fingerprint(salt_file).encode())
    return h.hexdigest()


def prepare_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Check (and create) the reports folder: one clear error when it cannot be written.

    The folder is created when missing, but its parent must exist (a missing parent is most
    often a mistyped path). Writing is checked by creating and removing a temporary file.

    Raises
    ------
    ConfigError
        When ``out_dir`` is a file, its parent folder does not exist or is a file, or the
        folder cannot be created or written to. The message says what to change.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> prepare_out_dir(base / "reports") == (base / "reports").resolve()
    True
    >>> prepare_out_dir(base / "no" / "such" / "reports")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cxlab.errors.ConfigError: The reports folder ... cannot be created: its parent folder ... does not exist. ...
    """
    import tempfile

    out = Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise ConfigError(
            f"The reports folder {out} is a file, not a folder. Pass a folder with --out "
            f"(e.g. --out {out.parent / 'reports'}), or move the file away."
        )
    parent = out.parent
    if not out.exists():
        if parent.exists() and not parent.is_dir():
            raise ConfigError(
                f"The reports folder {out} cannot be created: {parent} is a file, not a folder. "
                f"Pass another folder with --out."
            )
        if not parent.exists():
            raise ConfigError(
                f"The reports folder {out} cannot be created: its parent folder {parent} does not exist. "
                f"Check the --out path, or create the parent first (mkdir -p {parent})."
            )
        try:
            out.mkdir(exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"The reports folder {out} cannot be created in {parent}: {exc.strerror or exc}. "
                f"Pass a folder you can write to with --out."
            ) from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".cxlab-write-check.", suffix=".probe", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(
            f"Cannot write into the reports folder {out}: {exc.strerror or exc}. Pass a folder you can "
            f"write to with --out, or give yourself write access (chmod u+w {out})."
        ) from None
    return out.resolve()


def load_record(out_dir: str | os.PathLike[str], slug: str) -> dict[str, Any] | None:
    """The run record of ``slug`` under ``out_dir``, or None."""
    path = Path(out_dir) / slug / RECORD_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def render_client(
    client_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    notebook: str | os.PathLike[str] | None = None,
    parameters: dict[str, Any] | None = None,
    pseudonymize: bool = True,
    salt_file: str | os.PathLike[str] | None = None,
    resume: bool = False,
    timeout: int = 600,
    startup_timeout: int = 60,
    retries: int = 1,
    kernel_name: str | None = None,
    pdf: bool = False,
) -> dict[str, Any]:
    """Run the report notebook for one client and write its notebook, page and record.

    Parameters
    ----------
    client_dir : path
        The client folder (with ``client.toml``).
    out_dir : path
        The reports folder; this client's files go to ``<out_dir>/<client folder name>/``.
    notebook : path, optional
        The report notebook template (default ``notebooks/reports/client_report.ipynb``).
    parameters : dict, optional
        Extra notebook parameters (date range, sections, sample size limits...).
    pseudonymize : bool
        Replace customer ids and mask PII in the report (default True).
    salt_file : path, optional
        The pseudonymisation secret (default :func:`cxlab.report.privacy.default_salt_file`).
    resume : bool
        Skip the run when the last one succeeded with the same content hash.
    timeout, startup_timeout, retries, kernel_name
        See :func:`cxlab.report.execute.execute_notebook`.
    pdf : bool
        Also print the page to ``report.pdf`` (:func:`cxlab.report.pdf.write_pdf`). A failure
        is recorded as ``pdf_failure`` (the HTML is kept; the status stays ``ok``); a resumed
        client without its PDF gets one from its existing page.

    Returns
    -------
    dict
        The run record (also written to ``<out>/<client>/run.json``); ``status`` is ``ok``,
        ``failed`` or ``skipped``. Never raises for a failing client.

    Raises
    ------
    ParameterError
        When ``parameters`` names a parameter the notebook does not take, or ``sections``
        names a section it does not have (see :func:`cxlab.report.execute.check_parameters`).
    ConfigError
        When the notebook cannot be read.
    """
    from cxlab.report.execute import check_parameters

    started = time.monotonic()
    client_path = Path(client_dir).expanduser().resolve()
    out = Path(out_dir).expanduser().resolve()
    slug = client_path.name
    target = out / slug
    nb_path = Path(notebook).expanduser().resolve() if notebook else _default_notebook()
    parameters = check_parameters(nb_path, parameters)
    record: dict[str, Any] = {
        "client": slug,
        "name": slug,
        "client_dir": str(client_path),
        "status": "failed",
        "started": _now(),
        "notebook": f"{slug}/report.ipynb",
        "html": None,
        "failure": None,
        "facts": {},
    }
    try:
        params, salt = _run_parameters(client_path, out, parameters, pseudonymize, salt_file)
        key = content_hash(client_path, nb_path, params, salt if pseudonymize else None)
        record["input_hash"] = key
        unchanged = _unchanged_run(out, slug, key, pdf) if resume else None
        if unchanged is not None:
            return unchanged
        target.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        _execute_and_write(
            record,
            nb_path,
            params,
            target,
            pseudonymize=pseudonymize,
            pdf=pdf,
            timeout=timeout,
            startup_timeout=startup_timeout,
            retries=retries,
            kernel_name=kernel_name,
        )
    except Exception as exc:  # the batch goes on; the record says what happened
        record["failure"] = {
            "kind": "pipeline",
            "ename": type(exc).__name__,
            "evalue": str(exc),
            "summary": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=8),
        }
    return _write_record(record, target, pseudonymize, started)


def _run_parameters(
    client_path: Path,
    out: Path,
    parameters: dict[str, Any] | None,
    pseudonymize: bool,
    salt_file: str | os.PathLike[str] | None,
) -> tuple[dict[str, Any], Path]:
    """The notebook parameters of one run (absolute paths) and the secret it uses."""
    from cxlab.report.execute import resolve_parameters
    from cxlab.report.privacy import check_salt_file, default_salt_file

    salt = Path(salt_file).expanduser().resolve() if salt_file else default_salt_file(out)
    if pseudonymize:
        check_salt_file(salt, out)  # private, and never inside the shared reports folder
    params = resolve_parameters(
        {
            "client_dir": str(client_path),
            "pseudonymize": bool(pseudonymize),
            "salt_file": str(salt),
            **(parameters or {}),
        }
    )
    return params, salt


def _unchanged_run(out: Path, slug: str, key: str, pdf: bool) -> dict[str, Any] | None:
    """``--resume``: the last record, marked ``skipped``, when its inputs are unchanged.

    None when the client must run: no successful last run, other inputs, or no page. A
    skipped client asked for a PDF it does not have gets one from its existing page.
    """
    previous = load_record(out, slug)
    target = out / slug
    if not (
        previous
        and previous.get("status") in ("ok", "skipped")
        and previous.get("input_hash") == key
        and (target / "report.html").exists()
    ):
        return None
    previous = dict(previous)
    previous["status"] = "skipped"
    previous["skipped_at"] = _now()
    if pdf and not (target / "report.pdf").exists():
        _print_pdf(previous, target, slug)
        atomic_write_text(
            target / RECORD_FILE, json.dumps(previous, indent=2, sort_keys=True, default=str)
        )
    return previous


def _execute_and_write(
    record: dict[str, Any],
    nb_path: Path,
    params: dict[str, Any],
    target: Path,
    *,
    pseudonymize: bool,
    pdf: bool,
    **execute_kwargs: Any,
) -> None:
    """Run the notebook; write the executed notebook, and the page (and PDF) when it ran.

    Fills ``record``: the facts the notebook published, the timings, and ``status="ok"`` with
    the page's name, or the failure (cell and exception).
    """
    from cxlab.report.execute import execute_notebook
    from cxlab.report.html import export_html, report_facts

    slug = target.name
    result = execute_notebook(nb_path, params, cwd=target, **execute_kwargs)
    facts = report_facts(result.notebook)
    record.update(
        facts=facts,
        skipped_sections=facts.get("skipped_sections", []),  # [{section, title, reason}]
        name=str(facts.get("client_name") or slug),
        attempts=result.attempts,
        kernel_seconds=round(result.kernel_seconds, 3),
        cell_seconds=round(result.cell_seconds, 3),
        retried=result.retried,
    )
    if pseudonymize:  # an error output may quote an input value
        from cxlab.report.privacy import redact_notebook

        redact_notebook(result.notebook)
    atomic_write_text(target / "report.ipynb", nbformat.writes(result.notebook))
    if not result.ok:
        failure = result.failure.to_dict()
        failure["summary"] = result.failure.one_line()
        record["failure"] = failure
        return
    page = export_html(result.notebook)
    atomic_write_text(target / "report.html", page)
    if pdf:
        _print_pdf(record, target, slug)
    else:  # a PDF of an earlier page would not match this one (nor be linked)
        (target / "report.pdf").unlink(missing_ok=True)
    record.update(status="ok", html=f"{slug}/report.html", html_bytes=len(page.encode("utf-8")))


def _write_record(
    record: dict[str, Any], target: Path, pseudonymize: bool, started: float
) -> dict[str, Any]:
    """Finish ``record`` (redacted when pseudonymised, timed) and write ``run.json``."""
    if pseudonymize and record.get("failure"):  # error texts may quote input values
        from cxlab.report.privacy import redact_run_record

        record = redact_run_record(record)
    record["seconds"] = round(time.monotonic() - started, 3)
    record["finished"] = _now()
    try:
        atomic_write_text(
            target / RECORD_FILE, json.dumps(record, indent=2, sort_keys=True, default=str)
        )
    except OSError:
        pass
    return record


def _print_pdf(record: dict[str, Any], target: Path, slug: str) -> None:
    """Print ``report.html`` to ``report.pdf``; note the PDF (or why it failed) in ``record``."""
    from cxlab.report.pdf import write_pdf

    started = time.monotonic()
    record.pop("pdf_failure", None)
    try:
        write_pdf(target / "report.html", target / "report.pdf")
    except Exception as exc:  # a PDF failure never loses the HTML, nor stops the batch
        record["pdf"] = None
        record["pdf_failure"] = str(exc) or type(exc).__name__
    else:
        record["pdf"] = f"{slug}/report.pdf"
    record["pdf_seconds"] = round(time.monotonic() - started, 3)


@dataclass
class BatchResult:
    """What a batch did: one run record per client, the index path and the wall time."""

    runs: list[dict[str, Any]]
    index: Path | None
    seconds: float
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no client failed."""
        return not self.failed

    @property
    def pdf_failed(self) -> list[dict[str, Any]]:
        """Runs whose PDF was asked for and could not be printed (their HTML is there)."""
        return [r for r in self.runs if r.get("pdf_failure")]

    def summary(self) -> str:
        """The exit summary: counts, then one line per failure."""
        counts: dict[str, int] = {}
        for r in self.runs:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        parts = [
            f"{counts.get(s, 0)} {label}"
            for s, label in (("ok", "ok"), ("skipped", "unchanged"), ("failed", "failed"))
        ]
        lines = [f"{len(self.runs)} clients in {self.seconds:.1f} s: " + ", ".join(parts)]
        for r in self.failed:
            f = r.get("failure") or {}
            lines.append(f"  FAILED {r['client']}: {f.get('summary', 'unknown error')}")
            lines.append(f"         notebook with the error: {r.get('notebook')}")
        for r in self.pdf_failed:
            lines.append(f"  PDF NOT WRITTEN {r['client']}: {r['pdf_failure']}")
        if self.index is not None:
            lines.append(f"index: {self.index}")
        return "\n".join(lines)


def status_line(record: dict[str, Any]) -> str:
    """One line per finished client, for the progress display."""
    status = {"skipped": "unchanged"}.get(record["status"], record["status"])
    secs = record.get("seconds")
    timing = f"{secs:6.1f}s" if isinstance(secs, (int, float)) else "       "
    if record["status"] == "failed":
        detail = (record.get("failure") or {}).get("summary", "")
    elif record["status"] == "skipped":
        detail = "inputs unchanged since the last successful run"
    else:
        detail = str(record.get("html") or "")
        if record.get("attempts", 1) > 1:
            detail += f" (after {record['attempts'] - 1} retry)"
        if record.get("worker_restarts"):
            detail += " (its first worker stopped; rendered again on a fresh one)"
    return f"{status.upper():<9} {record['client']:<20} {timing}  {detail}"


def _failed_record(
    client_dir: Path, out: Path, exc: BaseException | None, summary: str | None = None
) -> dict[str, Any]:
    slug = client_dir.name
    ename = type(exc).__name__ if exc is not None else "WorkerDied"
    evalue = str(exc) if exc is not None else WORKER_DIED
    record = {
        "client": slug,
        "name": slug,
        "status": "failed",
        "notebook": f"{slug}/report.ipynb",
        "html": None,
        "facts": {},
        "finished": _now(),
        "failure": {
            "kind": "worker",
            "ename": ename,
            "evalue": evalue,
            "summary": summary or f"the worker running this client died: {ename}: {evalue}",
        },
    }
    try:
        atomic_write_text(out / slug / RECORD_FILE, json.dumps(record, indent=2, sort_keys=True))
    except OSError:
        pass
    return record


# ------------------------------------------------------------------ local worker processes
#: Seconds between two checks of the watchdog thread that ends a worker whose parent died.
_WATCHDOG_SECONDS = 0.5


def _set_parent_death_signal() -> None:
    """Linux: ask the kernel to SIGKILL this process when its parent dies (prctl)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no libc prctl: the watchdog thread still covers it
        pass


def _end_orphaned_worker() -> None:
    """The batch's main process is gone: stop this worker's kernels, then exit at once."""
    try:
        import psutil

        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    except Exception:  # noqa: BLE001 - best effort; ipykernel also exits when its parent does
        pass
    os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            _end_orphaned_worker()
        time.sleep(_WATCHDOG_SECONDS)


def _worker_init(parent_pid: int) -> None:
    """Initializer of every local worker: die with the batch's main process.

    prctl(PR_SET_PDEATHSIG) makes Linux kill the worker the moment its parent dies; the
    watchdog thread covers other systems, and the parent that died before prctl ran. The
    notebook kernel a worker starts exits when the worker does (ipykernel watches its parent).
    """
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        _end_orphaned_worker()
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="cxlab-parent-watchdog", daemon=True
    ).start()


def _new_pool(ctx: Any) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
    )


def _run_local(
    clients: list[Path],
    out: Path,
    workers: int,
    kwargs: dict[str, Any],
    on_done: Callable[[dict[str, Any]], None],
) -> None:
    """Render ``clients`` in ``workers`` worker processes, each in its own one-process pool.

    One pool per worker means a worker that dies breaks only its own pool: the client it was
    rendering is known, and only that client is retried (once, on a fresh worker) or recorded
    as failed; the other workers go on.
    """
    # spawn: a clean interpreter per worker (no forked zmq/asyncio state from the parent)
    ctx = multiprocessing.get_context("spawn")
    queue = deque(clients)
    deaths: dict[Path, int] = {}
    slots: list[ProcessPoolExecutor | None] = [None] * max(1, min(workers, len(clients)))
    running: dict[Future[dict[str, Any]], tuple[int, Path]] = {}

    def fill() -> None:
        busy = {i for i, _ in running.values()}
        for i in range(len(slots)):
            if i in busy or not queue:
                continue
            if slots[i] is None:
                slots[i] = _new_pool(ctx)
            client = queue.popleft()
            running[slots[i].submit(render_client, client, out, **kwargs)] = (i, client)

    try:
        fill()
        while running:
            done, _ = wait(set(running), return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: running[f][1].name):
                i, client = running.pop(fut)
                try:
                    record = fut.result()
                except BrokenProcessPool:  # this worker died (killed, out of memory)
                    slots[i].shutdown(wait=False, cancel_futures=True)
                    slots[i] = None
                    deaths[client] = deaths.get(client, 0) + 1
                    if deaths[client] == 1:
                        queue.appendleft(client)  # once more, on a fresh worker
                        continue
                    record = _failed_record(client, out, None, summary=WORKER_DIED)
                except Exception as exc:  # e.g. the arguments could not be sent to the worker
                    record = _failed_record(client, out, exc)
                if deaths.get(client):
                    record = {**record, "worker_restarts": deaths[client]}
                on_done(record)
            fill()
    except BaseException:
        for pool in slots:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        raise
    for pool in slots:
        if pool is not None:
            pool.shutdown(wait=True)


def _run_dask(
    clients: list[Path],
    out: Path,
    scheduler: str,
    kwargs: dict[str, Any],
    on_done: Callable[[dict[str, Any]], None],
) -> None:
    try:
        from distributed import Client as DaskClient
        from distributed import as_completed
    except ImportError:
        raise ConfigError(
            "--scheduler needs dask.distributed, which is not installed. Install the optional "
            "extra: pip install 'cxlab[dask]'."
        ) from None
    batch_id = uuid.uuid4().hex[:8]
    with DaskClient(scheduler, timeout="30s") as dask:
        futures = {
            dask.submit(
                render_client,
                str(c),
                str(out),
                key=f"cxlab-report-{c.name}-{batch_id}",
                pure=False,
                **kwargs,
            ): c
            for c in clients
        }
        try:
            for fut in as_completed(list(futures)):
                client = futures[fut]
                try:
                    record = fut.result()
                except Exception as exc:  # a worker died or the task was lost
                    record = _failed_record(client, out, exc)
                on_done(record)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


def run_batch(
    clients_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    workers: int | None = None,
    only: Sequence[str] | None = None,
    resume: bool = False,
    scheduler: str | None = None,
    progress: bool = True,
    stream: Any = None,
    **render_kwargs: Any,
) -> BatchResult:
    """Render the report of every client folder under ``clients_dir`` into ``out_dir``.

    Parameters
    ----------
    clients_dir : path
        A folder of client folders (each with ``client.toml``).
    out_dir : path
        The reports folder; gets ``<client>/report.ipynb``, ``<client>/report.html``,
        ``<client>/run.json`` and ``index.html``.
    workers : int, optional
        Parallel local runs (default: the number of cores). Ignored with ``scheduler``.
    only : sequence of str, optional
        Client folder names to run (the index still lists every client).
    resume : bool
        Skip clients whose inputs, parameters and notebook are unchanged since their last
        successful report.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``): each client run is a
        task on that cluster instead of a local process. The workers must see the same paths.
    progress : bool
        Show a tqdm progress bar and one status line per client (on ``stream``, default
        stderr).
    **render_kwargs
        Passed to :func:`render_client` (``notebook``, ``parameters``, ``pseudonymize``,
        ``salt_file``, ``timeout``, ``startup_timeout``, ``retries``, ``kernel_name``).

    Returns
    -------
    BatchResult
        ``result.ok`` is False when any client failed; ``result.summary()`` is the exit
        summary.
    """
    from tqdm.auto import tqdm

    from cxlab.report.execute import check_parameters

    started = time.monotonic()
    if workers is not None and workers < 1:
        raise ParameterError(
            f"The 'workers' parameter must be an int >= 1. Got {workers!r} instead."
        )
    clients = find_clients(clients_dir, only)
    kwargs = dict(render_kwargs)
    if kwargs.get("notebook") is not None:
        kwargs["notebook"] = str(Path(kwargs["notebook"]).expanduser().resolve())
    # Refuse a mistyped parameter or section before anything runs (every client would fail).
    kwargs["parameters"] = check_parameters(
        kwargs.get("notebook") or _default_notebook(), kwargs.get("parameters")
    )
    out = prepare_out_dir(out_dir)
    remove_stale_temps(out)
    n_workers = workers or os.cpu_count() or 1
    kwargs["resume"] = resume
    if kwargs.get("pseudonymize", True):
        # Create the secret once, here, before parallel runs (and outside the reports folder).
        kwargs["salt_file"] = str(_create_secret(kwargs.get("salt_file"), out))

    stream = stream if stream is not None else sys.stderr
    bar = tqdm(
        total=len(clients),
        desc="reports",
        unit="client",
        file=stream,
        disable=not progress,
        dynamic_ncols=True,
    )

    runs: list[dict[str, Any]] = []

    def on_done(record: dict[str, Any]) -> None:
        runs.append(record)
        bar.update(1)
        if progress:
            bar.write(status_line(record), file=stream)

    try:
        if scheduler:
            _run_dask(clients, out, scheduler, kwargs, on_done)
        else:
            _run_local(clients, out, n_workers, kwargs, on_done)
    finally:
        bar.close()
        index = _write_batch_index(clients_dir, out, runs)  # even when interrupted
    runs = sorted(runs, key=lambda r: r["client"])
    return BatchResult(
        runs=runs,
        index=index,
        seconds=time.monotonic() - started,
        failed=[r for r in runs if r["status"] == "failed"],
    )


def _create_secret(salt_file: str | os.PathLike[str] | None, out: Path) -> Path:
    """The pseudonymisation secret's path, the secret created there when it is missing."""
    from cxlab.report.privacy import default_salt_file, read_or_create_secret

    salt = Path(salt_file).expanduser().resolve() if salt_file else default_salt_file(out)
    try:
        read_or_create_secret(salt, reports_dir=out)
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the pseudonymisation secret {salt}: {exc.strerror or exc}. Pass a "
            f"writable --salt-file (salt_file=...), or make {salt.parent} writable."
        ) from None
    return salt


def _write_batch_index(
    clients_dir: str | os.PathLike[str], out: Path, runs: list[dict[str, Any]]
) -> Path:
    """Write the index of every client under ``clients_dir`` with its latest record.

    The runs of this batch first, else what a previous batch left ("not run" without one).
    """
    from cxlab.report.index import write_index

    by_slug = {r["client"]: r for r in _all_records(clients_dir, out)}
    by_slug.update({r["client"]: r for r in runs})
    return write_index(list(by_slug.values()), out)


def _all_records(clients_dir: str | os.PathLike[str], out: Path) -> Iterable[dict[str, Any]]:
    for client in find_clients(clients_dir):
        record = load_record(out, client.name)
        yield (
            record if record else {"client": client.name, "name": client.name, "status": "not run"}
        )
