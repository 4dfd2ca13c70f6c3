"""The execution guard: missed kernel replies, timeouts, errors, retries, parallel kernels."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from queue import Empty

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

import cxlab.report.execute as ex
from cxlab.report.batch import run_batch
from cxlab.report.execute import execute_notebook, resolve_parameters


def _nb(*sources: str, params: str = "n = 1") -> nbformat.NotebookNode:
    cells = [new_code_cell(params)]
    cells[0].metadata["tags"] = ["parameters"]
    cells += [new_code_cell(s) for s in sources]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


class _MissedWakeupChannel:
    """Models nbclient #312: one long wait never sees a message that is already queued.

    A ``get_msg`` with a timeout above 1 s (or none) sleeps the whole timeout and raises
    ``Empty``, as when the socket's wake-up is lost; short polls see the queue as it is.
    """

    def __init__(self, inner):
        self._inner = inner

    async def get_msg(self, timeout=None):
        if timeout is None or timeout > 1.0:
            await asyncio.sleep(3600 if timeout is None else timeout)
            raise Empty
        return await self._inner.get_msg(timeout=timeout)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _lossy(base):
    class Lossy(base):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            kc._shell_channel = _MissedWakeupChannel(kc.shell_channel)
            kc._iopub_channel = _MissedWakeupChannel(kc.iopub_channel)
            return kc

    return Lossy


@pytest.mark.notebook
@pytest.mark.slow
def test_guard_recovers_replies_whose_wakeup_was_missed(monkeypatch):
    monkeypatch.setattr(ex, "GuardedNotebookClient", _lossy(ex.GuardedNotebookClient))
    start = time.monotonic()
    res = execute_notebook(_nb("x = n * 21", "print(x)"), {"n": 2}, timeout=20, retries=0)
    assert res.ok, res.failure
    assert res.notebook.cells[-1].outputs[0]["text"] == "42\n"
    assert time.monotonic() - start < 20


@pytest.mark.notebook
@pytest.mark.slow
def test_stock_polling_under_the_same_fault_fails_loudly_not_silently(monkeypatch):
    # Control experiment: nbclient's own long waits under the same fault never see the reply.
    # The guard turns that into a reported timeout (with a retry), never a silent success.
    class Stock(ex.GuardedNotebookClient):
        _async_poll_for_reply = NotebookClient._async_poll_for_reply
        _async_poll_output_msg = NotebookClient._async_poll_output_msg

    monkeypatch.setattr(ex, "GuardedNotebookClient", _lossy(Stock))
    res = execute_notebook(_nb("x = 1"), timeout=3, iopub_timeout=2, retries=1)
    assert not res.ok
    assert res.failure.kind == "timeout"
    assert res.attempts == 2 and len(res.retried) == 1


@pytest.mark.notebook
@pytest.mark.slow
def test_timeout_is_a_failure_with_retry_and_names_the_cell():
    res = execute_notebook(
        _nb("a = 1", "import time; time.sleep(60)", "b = 2"), timeout=3, retries=1
    )
    assert not res.ok
    assert res.failure.kind == "timeout" and res.failure.cell_index == 2
    assert res.attempts == 2
    assert res.notebook.cells[3].get("execution_count") is None  # the cell after never ran


@pytest.mark.notebook
@pytest.mark.slow
def test_error_is_reported_with_cell_and_exception_and_not_retried():
    res = execute_notebook(
        _nb("a = 1", "raise KeyError('no such column <x>')", "b = 2"), timeout=60, retries=2
    )
    assert not res.ok and res.attempts == 1
    f = res.failure
    assert (f.kind, f.ename, f.cell_index) == ("error", "KeyError", 2)
    assert "no such column" in f.one_line() and f.one_line().startswith('cell 2 ("raise KeyError(')
    err = [o for o in res.notebook.cells[2].outputs if o["output_type"] == "error"]
    assert err and err[0]["ename"] == "KeyError"  # the executed notebook keeps the error


@pytest.mark.notebook
@pytest.mark.slow
def test_parameters_are_injected_after_the_parameters_cell_and_paths_resolved(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    nb = _nb("import os; print(os.getcwd()); print(client_dir)", params="client_dir = 'x'\nn = 1")
    res = execute_notebook(nb, {"client_dir": "data", "n": 5}, cwd=tmp_path / "data", timeout=60)
    assert res.ok
    tags = [c.metadata.get("tags", []) for c in res.notebook.cells]
    assert tags[0] == ["parameters"] and tags[1] == ["injected-parameters"]
    cwd, client_dir = res.notebook.cells[-1].outputs[0]["text"].splitlines()
    assert cwd == str(tmp_path / "data")
    assert client_dir == str(tmp_path / "data")  # absolute before injection


def test_resolve_parameters_leaves_non_paths_alone():
    got = resolve_parameters({"out": "r", "salt_file": "~/.s", "title": "a/b", "n": 1}, base="/w")
    assert (
        got["out"] == "/w/r"
        and got["salt_file"].endswith("/.s")
        and not got["salt_file"].startswith("~")
    )
    assert got["title"] == "a/b" and got["n"] == 1


def test_timeout_must_be_set():
    with pytest.raises(ValueError, match="timeout"):
        execute_notebook(_nb("x = 1"), timeout=0)


STRESS_NOTEBOOK = [
    ("client_dir = ''", ["parameters"]),
    (
        "import tomllib, pathlib\n"
        "name = tomllib.loads((pathlib.Path(client_dir) / 'client.toml').read_text())['name']",
        [],
    ),
    (
        "from cxlab.report import display as show\nimport altair as alt, polars as pl\nshow.setup()\n"
        "show.publish(client_name=name, conversion=len(name) / 100)",
        [],
    ),
    (
        "df = pl.DataFrame({'k': list('abc'), 'v': [1, 2, len(name)]})\n"
        "alt.Chart(df).mark_bar().encode(x='k', y='v')",
        [],
    ),
    ("print('done', name)", []),
]


@pytest.mark.e2e
@pytest.mark.notebook
@pytest.mark.slow
def test_many_reports_in_parallel_all_complete(tmp_path):
    """9 client runs, 3 at a time (the setting where 1 in 4 hung): all finish, all complete."""
    cells = []
    for src, tags in STRESS_NOTEBOOK:
        c = new_code_cell(src)
        c.metadata["tags"] = tags
        cells.append(c)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    template = tmp_path / "tiny.ipynb"
    nbformat.write(nb, template)
    clients = tmp_path / "clients"
    for i in range(9):
        (clients / f"c{i:02d}").mkdir(parents=True)
        (clients / f"c{i:02d}" / "client.toml").write_text(f'name = "Client {i:02d}"\n')
    result = run_batch(
        clients,
        tmp_path / "out",
        workers=3,
        notebook=template,
        pseudonymize=False,
        timeout=60,
        retries=1,
        progress=False,
    )
    assert result.ok, result.summary()
    assert len(result.runs) == 9
    for run in result.runs:
        nb_out = nbformat.read(Path(tmp_path / "out" / run["notebook"]), as_version=4)
        assert nb_out.cells[-1].outputs[0]["text"] == f"done Client {run['client'][1:]}\n"
        assert run["facts"]["client_name"] == f"Client {run['client'][1:]}"
        page = (tmp_path / "out" / run["html"]).read_text()
        assert page.count("window.vegaEmbed=") == 1
