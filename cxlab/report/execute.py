"""Guarded notebook execution: one private kernel per run, short polls, timeouts, retries.

papermill/nbclient are the standard way to execute a parameterised notebook, but on this
stack they have failure modes that a batch of reports cannot afford:

* nbclient can wait forever for a shell reply that already arrived (nbclient issue #312):
  it blocks on one long ``get_msg(timeout=...)`` and the socket's wake-up is missed. Seen in
  about 1 notebook in 4 with three kernels in parallel. The same can happen on the IOPub
  socket, where the stock client then *drops the cell's outputs and carries on* -- the cell
  looks successful.
* Parallel kernel starts race for TCP ports (the ports are picked free, closed, then bound by
  the kernel).
* The kernel runs in the caller's working directory, not the notebook's.

The guard here:

* :class:`GuardedNotebookClient` replaces nbclient's reply and output polling with loops of
  short ``get_msg`` slices (``poll_interval``, default 0.2 s) under an explicit deadline; a
  new poll sees a reply whose wake-up was missed. A cell that passes its deadline, a missing
  IOPub ``idle`` message or a dead kernel is a *failure* (never a silent success).
* Each run gets its own kernel manager, connection file and, on POSIX, the ``ipc`` transport
  (Unix sockets in a private temporary folder): no TCP ports, so no port races.
* The kernel is the current interpreter (``sys.executable -m ipykernel_launcher``): no
  globally installed kernel spec is needed. Pass ``kernel_name`` to use an installed one.
* After a run every code cell must carry an execute reply and an IOPub idle timestamp;
  otherwise the run counts as incomplete.
* Transient failures (timeout, dead kernel, kernel start failure, incomplete run) are retried
  with a fresh kernel (``retries``); an exception raised by the notebook's own code is not
  (it would fail again) and is reported with its cell and exception.
* Every path parameter is resolved to an absolute path before injection, and the kernel is
  started in an explicit folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from queue import Empty
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete as _CellExecutionComplete
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbformat import NotebookNode
from traitlets import Float

__all__ = [
    "ExecutionFailure",
    "ExecutionResult",
    "GuardedNotebookClient",
    "check_parameters",
    "execute_notebook",
    "inject_parameters",
    "notebook_parameters",
    "resolve_parameters",
]

#: Exceptions worth a second try with a fresh kernel: they come from the machinery, not from
#: the notebook's code.
_TRANSIENT = (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError, OSError)


class _InterpreterKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel is ``sys.executable -m ipykernel_launcher``.

    Needs no kernel spec installed anywhere: the report runs with the interpreter (and so the
    virtualenv) that runs cxlab.
    """

    @property
    def kernel_spec(self) -> KernelSpec:  # type: ignore[override]
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (cxlab)",
                language="python",
                metadata={},
            )
        return self._kernel_spec


class GuardedNotebookClient(NotebookClient):
    """An nbclient ``NotebookClient`` that never blocks on one long socket wait.

    Shell replies and IOPub messages are read in slices of ``poll_interval`` seconds under an
    explicit deadline, so a reply whose wake-up was missed is picked up by the next slice, and
    a cell that really runs too long raises :class:`nbclient.exceptions.CellTimeoutError`
    instead of being skipped.
    """

    poll_interval = Float(0.2, help="Seconds of one socket poll slice.").tag(config=True)

    async def _async_poll_output_msg(
        self, parent_msg_id: str, cell: NotebookNode, cell_index: int
    ) -> None:
        assert self.kc is not None
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=self.poll_interval))
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except _CellExecutionComplete:
                    return

    async def _async_poll_for_reply(
        self,
        msg_id: str,
        cell: NotebookNode,
        timeout: int | None,
        task_poll_output_msg: asyncio.Future[Any],
        task_poll_kernel_alive: asyncio.Future[Any],
    ) -> dict[str, Any]:
        assert self.kc is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                if deadline is not None and time.monotonic() > deadline:
                    raise CellTimeoutError.error_from_timeout_and_cell(
                        "Cell execution timed out", timeout, cell
                    )
                try:
                    msg = await ensure_async(
                        self.kc.shell_channel.get_msg(timeout=self.poll_interval)
                    )
                except Empty:
                    await self._async_check_alive()
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if self.record_timing:
                    cell["metadata"]["execution"]["shell.execute_reply"] = _timestamp(msg)
                # The reply is in; the outputs end with the IOPub idle message. Wait for it
                # with a bound, and fail (not skip) when it does not come.
                try:
                    await asyncio.wait_for(asyncio.shield(task_poll_output_msg), self.iopub_timeout)
                except TimeoutError:
                    raise CellTimeoutError.error_from_timeout_and_cell(
                        "Timeout waiting for the cell's IOPub output", self.iopub_timeout, cell
                    ) from None
                return msg
        except BaseException:
            task_poll_output_msg.cancel()
            raise
        finally:
            task_poll_kernel_alive.cancel()

    async def async_wait_for_reply(
        self, msg_id: str, cell: NotebookNode | None = None
    ) -> dict[str, Any] | None:
        assert self.kc is not None
        timeout = (self._get_timeout(cell) if cell is not None else None) or self.startup_timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() <= deadline:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=self.poll_interval))
            except Empty:
                await self._async_check_alive()
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        raise CellTimeoutError(f"No reply from the kernel within {timeout} s.")

    wait_for_reply = run_sync(async_wait_for_reply)


def _timestamp(msg: dict[str, Any]) -> str | None:
    date = msg.get("header", {}).get("date")
    if date is None:
        return None
    return date.isoformat().replace("+00:00", "Z") if hasattr(date, "isoformat") else str(date)


@dataclass(frozen=True)
class ExecutionFailure:
    """Why a notebook run failed: which cell, which exception, of which kind.

    ``kind`` is ``"error"`` (the notebook's code raised), ``"timeout"`` (a cell passed its
    execution timeout), ``"kernel"`` (the kernel died or did not start) or ``"incomplete"``
    (a cell has no execute reply or no end-of-output message).
    """

    kind: str
    ename: str
    evalue: str
    cell_index: int | None = None
    execution_count: int | None = None
    cell_source: str = ""
    line: str = ""

    def one_line(self) -> str:
        """``cell 7 ('client = load_client(...)'): DataError: ...`` (for logs and the index)."""
        where = ""
        if self.cell_index is not None:
            lines = [ln.strip() for ln in self.cell_source.splitlines()]
            telling = [
                ln for ln in lines if ln and not ln.startswith(("#", "import ", "from ", "%"))
            ]
            first = self.line or (telling or [ln for ln in lines if ln] or [""])[0]
            where = f"cell {self.cell_index}" + (f" ({first[:60]!r})" if first else "") + ": "
        value = " ".join(self.evalue.split())
        return f"{where}{self.ename}: {value[:300]}"

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-ready dict."""
        return asdict(self)


@dataclass
class ExecutionResult:
    """The outcome of :func:`execute_notebook`.

    Attributes
    ----------
    notebook : NotebookNode
        The executed notebook (with the error outputs when it failed).
    failure : ExecutionFailure or None
        None when every cell ran.
    attempts : int
        Runs made (1 + retries used).
    seconds : float
        Wall time of all attempts.
    kernel_seconds : float
        Of the last attempt: time to start the kernel and get its first reply.
    cell_seconds : float
        Of the last attempt: time spent executing cells.
    """

    notebook: NotebookNode
    failure: ExecutionFailure | None
    attempts: int
    seconds: float
    kernel_seconds: float = 0.0
    cell_seconds: float = 0.0
    retried: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every cell ran without error."""
        return self.failure is None


def resolve_parameters(
    parameters: dict[str, Any], base: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Resolve every path-like parameter to an absolute path string.

    The kernel runs in whatever folder it is started in, so relative paths would mean
    different things in the caller and in the notebook. ``Path`` values are always resolved;
    string values are resolved when their key ends with ``_dir``, ``_path``, ``_file`` or
    ``_folder``, or is ``folder``/``client``/``out``. Relative paths are taken from ``base``
    (default: the caller's working directory).

    Examples
    --------
    >>> p = resolve_parameters({"client_dir": "data/x", "n": 3}, base="/srv")
    >>> p["client_dir"], p["n"]
    ('/srv/data/x', 3)
    """
    root = Path(base) if base is not None else Path.cwd()
    out: dict[str, Any] = {}
    pathish = ("_dir", "_path", "_file", "_folder")
    for key, value in parameters.items():
        if isinstance(value, PurePath) or (
            isinstance(value, str)
            and value
            and (key.endswith(pathish) or key in {"folder", "client", "out"})
        ):
            p = Path(value).expanduser()
            out[key] = str((p if p.is_absolute() else root / p).resolve())
        else:
            out[key] = value
    return out


def inject_parameters(nb: NotebookNode, parameters: dict[str, Any]) -> NotebookNode:
    """Insert papermill's ``injected-parameters`` cell after the cell tagged ``parameters``.

    Uses papermill's own injection, so the executed notebook looks like one papermill made.
    """
    from papermill.parameterize import parameterize_notebook

    for cell in nb.cells:  # papermill expects every cell to carry a tags list
        cell.setdefault("metadata", {}).setdefault("tags", [])
    nb.metadata.setdefault("papermill", {})
    nb = parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
    nb.metadata.setdefault("papermill", {})["parameters"] = parameters
    return nb


def _check_complete(nb: NotebookNode) -> ExecutionFailure | None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        meta = cell.get("metadata", {}).get("execution", {})
        if (
            cell.get("execution_count") is None
            or "shell.execute_reply" not in meta
            or "iopub.status.idle" not in meta
        ):
            return ExecutionFailure(
                "incomplete",
                "IncompleteExecution",
                "the cell has no execute reply or no end-of-output message from the kernel",
                index,
                cell.get("execution_count"),
                cell.source,
            )
    return None


async def _run_once(
    nb: NotebookNode,
    *,
    cwd: Path,
    timeout: int,
    startup_timeout: int,
    iopub_timeout: int,
    kernel_name: str | None,
    poll_interval: float,
    env: dict[str, str] | None,
    store_widget_state: bool = False,
) -> tuple[ExecutionFailure | None, float, float]:
    run_dir = Path(tempfile.mkdtemp(prefix="cxk-"))  # short: Unix socket paths max ~100 chars
    if kernel_name:
        km = AsyncKernelManager(kernel_name=kernel_name)
    else:
        km = _InterpreterKernelManager(kernel_name="python3")
    km.connection_file = str(run_dir / f"kernel-{uuid.uuid4().hex[:12]}.json")
    if os.name == "posix":
        km.transport = "ipc"
        km.ip = str(run_dir / "k")
    client = GuardedNotebookClient(
        nb,
        km=km,
        timeout=timeout,
        startup_timeout=startup_timeout,
        iopub_timeout=iopub_timeout,
        raise_on_iopub_timeout=True,
        interrupt_on_timeout=False,
        allow_errors=False,
        record_timing=True,
        shutdown_kernel="immediate",
        poll_interval=poll_interval,
    )
    index: int | None = None
    t0 = time.monotonic()
    kernel_seconds = 0.0
    kernel_env = {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}
    kernel_env.pop("JPY_PARENT_PID", None)
    try:
        async with client.async_setup_kernel(cwd=str(cwd), env=kernel_env, cleanup_kc=True):
            info = await client.async_wait_for_reply(client.kc.kernel_info())
            kernel_seconds = time.monotonic() - t0
            if info:
                nb.metadata["language_info"] = info["content"].get("language_info", {})
            for index, cell in enumerate(nb.cells):
                count = client.code_cells_executed + 1
                await client.async_execute_cell(cell, index, execution_count=count)
            index = None
            if store_widget_state:  # the widgets' last state, so charts draw when reopened
                client.set_widgets_metadata()
    except CellExecutionError as exc:
        cell = nb.cells[index] if index is not None else {}
        return (
            ExecutionFailure(
                "error",
                exc.ename,
                exc.evalue,
                index,
                cell.get("execution_count"),
                cell.get("source", ""),
                _failing_line(exc.traceback),
            ),
            kernel_seconds,
            time.monotonic() - t0 - kernel_seconds,
        )
    finally:
        # The client shuts the kernel down on exit; make sure of it even when start-up failed
        # half-way, so no kernel outlives its run.
        with contextlib.suppress(Exception):
            if km.has_kernel:
                await ensure_async(km.shutdown_kernel(now=True))
        shutil.rmtree(run_dir, ignore_errors=True)
    return _check_complete(nb), kernel_seconds, time.monotonic() - t0 - kernel_seconds


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _failing_line(traceback_text: str) -> str:
    """The cell's own line that raised, from IPython's traceback (``----> 12 client = ...``)."""
    for raw in _ANSI.sub("", traceback_text or "").splitlines():
        m = re.match(r"^\s*-+>\s*\d+\s(.*)$", raw)
        if m:
            return m.group(1).strip()
    return ""


def _classify(exc: BaseException, nb: NotebookNode, index: int | None) -> ExecutionFailure:
    if isinstance(exc, CellTimeoutError):
        kind = "timeout"
    elif isinstance(exc, (DeadKernelError, RuntimeError)):
        kind = "kernel"
    else:
        kind = "timeout" if isinstance(exc, TimeoutError) else "kernel"
    cell = nb.cells[index] if index is not None and index < len(nb.cells) else {}
    return ExecutionFailure(
        kind,
        type(exc).__name__,
        str(exc),
        index,
        cell.get("execution_count"),
        cell.get("source", ""),
    )


def _running_cell(nb: NotebookNode) -> int | None:
    """Index of the first code cell that started but has no reply (where a timeout hit)."""
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("execution", {})
        if (
            cell.cell_type == "code"
            and "iopub.execute_input" in meta
            and "shell.execute_reply" not in meta
        ):
            return index
    return None


def execute_notebook(
    notebook: str | os.PathLike[str] | NotebookNode,
    parameters: dict[str, Any] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    timeout: int = 600,
    startup_timeout: int = 60,
    iopub_timeout: int = 30,
    retries: int = 1,
    kernel_name: str | None = None,
    poll_interval: float = 0.2,
    env: dict[str, str] | None = None,
    store_widget_state: bool = False,
) -> ExecutionResult:
    """Execute a notebook with injected parameters in a private, guarded kernel.

    Parameters
    ----------
    notebook : path or NotebookNode
        The template notebook (not modified).
    parameters : dict, optional
        Values for the cell tagged ``parameters``; path-like values are made absolute first
        (see :func:`resolve_parameters`).
    cwd : path, optional
        Folder the kernel runs in (default: the caller's working directory).
    timeout : int
        Seconds one cell may run; always set (a cell past it is a failure). Default 600.
    startup_timeout : int
        Seconds the kernel may take to start and answer. Default 60.
    iopub_timeout : int
        Seconds to wait for a cell's last output after its reply. Default 30.
    retries : int
        Extra attempts, each with a fresh kernel, after a timeout, a dead kernel, a failed
        kernel start or an incomplete run. Errors raised by the notebook code are not retried.
    kernel_name : str, optional
        An installed kernel spec to use instead of the current interpreter.
    poll_interval : float
        Seconds of one socket poll slice (the guard against missed wake-ups).
    env : dict, optional
        Extra environment variables for the kernel.
    store_widget_state : bool
        Save the widgets' last state in the notebook's metadata (what JupyterLab's "save
        widget state" does), so a trusted executed notebook shows its widgets and offline
        charts again when reopened without a kernel. Default False.

    Returns
    -------
    ExecutionResult
        Never raises for a failing notebook: ``result.failure`` says what failed, and
        ``result.notebook`` holds the outputs up to (and including) the failing cell.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 6 * 7\\nx")])
    >>> res = execute_notebook(nb, timeout=60)  # doctest: +SKIP
    >>> res.ok, res.notebook.cells[-1].outputs[0]["data"]["text/plain"]  # doctest: +SKIP
    (True, '42')
    """
    if timeout is None or timeout <= 0:
        raise ValueError(
            f"The 'timeout' parameter of execute_notebook must be a positive number of seconds. Got {timeout!r}."
        )
    if isinstance(notebook, NotebookNode):
        template = nbformat.from_dict(notebook)
    else:
        template = nbformat.read(Path(notebook), as_version=4)
    params = resolve_parameters(parameters or {})
    if parameters is not None:
        template = inject_parameters(template, params)
    run_cwd = Path(cwd).resolve() if cwd is not None else Path.cwd()

    start = time.monotonic()
    retried: list[str] = []
    attempts = 0
    while True:
        attempts += 1
        nb = nbformat.from_dict(template)  # a clean copy per attempt
        try:
            failure, kernel_s, cells_s = run_sync(_run_once)(
                nb,
                cwd=run_cwd,
                timeout=int(timeout),
                startup_timeout=int(startup_timeout),
                iopub_timeout=int(iopub_timeout),
                kernel_name=kernel_name,
                poll_interval=poll_interval,
                env=env,
                store_widget_state=store_widget_state,
            )
        except _TRANSIENT as exc:
            failure, kernel_s, cells_s = _classify(exc, nb, _running_cell(nb)), 0.0, 0.0
        if failure is None or failure.kind == "error" or attempts > retries:
            return ExecutionResult(
                notebook=nb,
                failure=failure,
                attempts=attempts,
                seconds=time.monotonic() - start,
                kernel_seconds=kernel_s,
                cell_seconds=cells_s,
                retried=retried,
            )
        retried.append(failure.one_line())


def notebook_parameters(notebook: str | os.PathLike[str] | NotebookNode) -> dict[str, Any]:
    """The parameters a notebook takes: ``{name: default}`` from its cell tagged ``parameters``.

    Every top-level assignment of that cell is a parameter; its default is the literal value
    when it is one (``None``, numbers, strings, lists...), else the source text of the value.
    (papermill's ``inspect_notebook`` gives the same names, but skips a line whose comment it
    cannot parse.) A notebook without a ``parameters`` cell takes none.

    Raises
    ------
    ConfigError
        When the notebook file cannot be read, or its parameters cell is not valid Python.

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("n = 3  # rows\\nsections = ['a', 'b']")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> notebook_parameters(nbformat.v4.new_notebook(cells=[cell]))
    {'n': 3, 'sections': ['a', 'b']}
    """
    import ast

    from cxlab.errors import ConfigError

    if isinstance(notebook, NotebookNode):
        nb, where = notebook, "the notebook"
    else:
        path = Path(notebook).expanduser()
        try:
            nb = nbformat.read(path, as_version=4)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"Cannot read the report notebook {path}: {exc}. Pass an existing .ipynb file with --notebook "
                f"(or leave it out for the default report)."
            ) from None
        where = str(path)
    cells = [
        c
        for c in nb.cells
        if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if not cells:
        return {}
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as exc:
        raise ConfigError(f"The parameters cell of {where} is not valid Python: {exc}.") from None
    found: dict[str, Any] = {}
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        value = getattr(node, "value", None)
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = ast.literal_eval(value) if value is not None else None
                except ValueError:
                    found[target.id] = ast.get_source_segment(cells[0].source, value)
    return found


def check_parameters(
    notebook: str | os.PathLike[str] | NotebookNode, parameters: dict[str, Any] | None
) -> dict[str, Any]:
    """Refuse parameters the notebook does not take and section names it does not have.

    Parameters
    ----------
    notebook : path or NotebookNode
        The report notebook template.
    parameters : dict or None
        The parameters given by the user (``-p NAME=VALUE`` or ``parameters=``).

    Returns
    -------
    dict
        The parameters, with ``sections`` given as one text (``"funnel"`` or
        ``"funnel,churn"``) turned into a list.

    Raises
    ------
    ParameterError
        For a name the notebook does not take, a ``sections`` value that is not a list of
        names, or a section name the notebook does not have: the message names the closest
        valid one and lists them all.
    ConfigError
        When the notebook cannot be read.

    Examples
    --------
    >>> from cxlab.config import NOTEBOOKS_DIR
    >>> nb = NOTEBOOKS_DIR / "reports" / "client_report.ipynb"
    >>> check_parameters(nb, {"sections": "funnel,churn", "max_customers": 10})
    {'sections': ['funnel', 'churn'], 'max_customers': 10}
    >>> check_parameters(nb, {"max_custmers": 10})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cxlab.errors.ParameterError: Unknown report parameter 'max_custmers'. Did you mean 'max_customers'? ...
    """
    from cxlab.errors import ParameterError, did_you_mean
    from cxlab.report.sections import SECTIONS

    params = dict(parameters or {})
    known = notebook_parameters(notebook)  # also: a missing or unreadable notebook is refused
    name = Path(notebook).name if not isinstance(notebook, NotebookNode) else "the notebook"
    for key in params:
        if key not in known:
            raise ParameterError(
                f"Unknown report parameter '{key}'.{did_you_mean(key, known)} The parameters of {name} are: "
                f"{', '.join(known) or 'none'}. Set one with -p NAME=VALUE (parameters={{...}} in Python)."
            )
    if "sections" in params:
        default = known.get("sections")
        valid = (
            [str(s) for s in default]
            if isinstance(default, (list, tuple)) and default
            else list(SECTIONS)
        )
        value = params["sections"]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ParameterError(
                f"The 'sections' parameter must be a list of section names, e.g. "
                f'-p \'sections=["funnel", "churn"]\'. Got {params["sections"]!r} instead. '
                f"Sections: {', '.join(valid)}."
            )
        for section in value:
            if section not in valid:
                raise ParameterError(
                    f"Unknown report section '{section}' in the 'sections' parameter.{did_you_mean(section, valid)} "
                    f"The sections of {name} are: {', '.join(valid)}."
                )
        params["sections"] = list(value)
    return params
