"""Batches survive their workers, and workers do not survive their batch.

Each test runs ``python -m cxlab.cli batch`` in a subprocess on tiny clients with a test
notebook whose one cell reports who runs it and then waits for a file the test creates:

* the cell touches ``started.<client>.<worker pid>.<kernel pid>`` in a sync folder (the
  kernel's parent is the worker process that renders the client);
* when ``die.<client>`` exists, it kills its own worker (SIGKILL), every time;
* it then waits until ``go`` exists.

So the test knows exactly which worker renders which client, and every kill happens while a
client is mid-render, without racing the render (nothing proceeds before ``go``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(os.name != "posix", reason="kills processes with POSIX signals"),
]

CONTROL_CELL = """\
import os, pathlib, signal, time
sync = pathlib.Path(sync_dir)
me = pathlib.Path(client_dir).name
(sync / f"started.{me}.{os.getppid()}.{os.getpid()}").touch()
if (sync / f"die.{me}").exists():
    os.kill(os.getppid(), signal.SIGKILL)  # this client's worker dies, on every attempt
limit = time.monotonic() + 240  # never wait forever, even if the test died
while not (sync / "go").exists() and time.monotonic() < limit:
    time.sleep(0.05)
print("done", me)
"""
WAIT = 240  # seconds a test waits for a condition before it fails (never reached when it works)


def _notebook(path: Path) -> Path:
    params = new_code_cell("client_dir = ''\nsync_dir = ''")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(CONTROL_CELL)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _setup(tmp_path: Path, names: list[str]) -> SimpleNamespace:
    clients, sync, out = tmp_path / "clients", tmp_path / "sync", tmp_path / "out"
    sync.mkdir()
    for name in names:
        (clients / name).mkdir(parents=True)
        (clients / name / "client.toml").write_text(f'name = "Client {name}"\n')
    return SimpleNamespace(
        clients=clients, sync=sync, out=out, notebook=_notebook(tmp_path / "wait.ipynb")
    )


def _start(env: SimpleNamespace, workers: int) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "cxlab.cli",
        "batch",
        str(env.clients),
        "--out",
        str(env.out),
        "--workers",
        str(workers),
        "--notebook",
        str(env.notebook),
        "--no-pseudonymize",
        "--timeout",
        "300",
        "--retries",
        "0",
        "-p",
        f"sync_dir={env.sync}",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _started(env: SimpleNamespace) -> list[tuple[str, int, int]]:
    """(client, worker pid, kernel pid) of every render that reached the control cell."""
    found = []
    for p in sorted(env.sync.glob("started.*")):
        _, client, worker, kernel = p.name.split(".")
        found.append((client, int(worker), int(kernel)))
    return found


def _wait_for(condition, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the batch ended before {what}: {proc.communicate()}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _record(env: SimpleNamespace, client: str) -> dict:
    return json.loads((env.out / client / "run.json").read_text())


@pytest.fixture(scope="module")
def killed_worker_batch(tmp_path_factory):
    """4 clients on 2 workers: the operator kills a's worker mid-render; d kills its own each time."""
    env = _setup(tmp_path_factory.mktemp("survival"), ["a", "b", "c", "d"])
    (env.sync / "die.d").touch()
    proc = _start(env, workers=2)
    try:
        # a and b are rendering (one per worker), both held at the control cell
        first = _wait_for(
            lambda: (s := _started(env)) and {c for c, _, _ in s} >= {"a", "b"} and s,
            "a and b to start",
            proc,
        )
        by_client = {c: (w, k) for c, w, k in first}
        worker_a, kernel_a = by_client["a"]
        # the pid the kernel reports is a worker process of this batch
        assert worker_a in {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        os.kill(worker_a, signal.SIGKILL)  # the OOM killer, or an operator
        _wait_for(lambda: not _alive(worker_a), "a's worker to die")
        (env.sync / "go").touch()
        stdout, stderr = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
    return SimpleNamespace(
        env=env,
        code=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        first=by_client,
        kernel_a=kernel_a,
    )


def test_other_clients_finish_when_one_worker_is_killed(killed_worker_batch):
    run = killed_worker_batch
    for client in ("a", "b", "c"):
        rec = _record(run.env, client)
        assert rec["status"] == "ok", (client, rec.get("failure"), run.stderr)
        assert (run.env.out / client / "report.html").exists()
    renders = [c for c, _, _ in _started(run.env)]
    # only a was rendered again: b (which shared the batch with a when a's worker died), c
    # and d's first attempt were not disturbed; d ran twice because it kills its worker twice
    assert sorted(renders) == ["a", "a", "b", "c", "d", "d"]
    b_worker = run.first["b"][0]
    assert [w for c, w, _ in _started(run.env) if c == "b"] == [b_worker]
    second_a = [w for c, w, _ in _started(run.env) if c == "a"]
    assert len(set(second_a)) == 2  # the retry ran on a fresh worker
    assert not _alive(run.kernel_a) or _wait_for(
        lambda: not _alive(run.kernel_a), "a's first kernel to exit"
    )
    # a clear status line for the client whose worker was killed
    assert "its first worker stopped; rendered again on a fresh one" in run.stderr


def test_a_client_that_kills_its_worker_twice_is_failed_with_a_plain_reason(killed_worker_batch):
    from cxlab.report.batch import WORKER_DIED

    run = killed_worker_batch
    assert run.code == 1  # one client failed
    rec = _record(run.env, "d")
    assert rec["status"] == "failed" and rec["failure"]["summary"] == WORKER_DIED
    assert f"FAILED d: {WORKER_DIED}" in run.stderr
    assert "3 ok, 0 unchanged, 1 failed" in run.stderr
    index = (run.env.out / "index.html").read_text()
    assert index.count("<tr>") == 5 and "stopped (killed or out of memory)" in index


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_workers_and_kernels_stop_when_the_batch_is_killed(tmp_path):
    env = _setup(tmp_path, ["a", "b", "c"])
    proc = _start(env, workers=2)
    try:
        started = _wait_for(
            lambda: (s := _started(env)) and len(s) >= 2 and s, "two renders to start", proc
        )
        children = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        pids = {pid for _, w, k in started for pid in (w, k)} | children
        before = _snapshot(env.out)
        proc.kill()  # kill -9 of the batch's main process
        proc.wait(timeout=WAIT)
        (env.sync / "go").touch()  # a worker that survived would now render and write
        _wait_for(lambda: not any(_alive(p) for p in pids), "the workers and kernels to stop")
        time.sleep(2)  # time for a stray writer to show itself (only a failure could write)
        assert _snapshot(env.out) == before
        assert not list(env.out.rglob("report.html")) and not list(env.out.rglob("run.json"))
        assert not (env.sync / "started.c").exists() and len(_started(env)) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in pids if "pids" in locals() else ():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
