"""What the whole suite shares: the hypothesis profile, the renders and notebook runs that
several test files read, and how ``make test`` spreads files over two workers.

Shared fixtures (session-scoped: built once per pytest process, i.e. once per xdist worker;
under xdist, the files using one are scheduled together, so that is once per ``make test``):

* ``sample_batch`` — the small sample clients (seed 7, 250 customers: bank, bookshop,
  telecom) plus ``hostile`` (script payloads in its name, segments and comments), ``broken``
  (no mapped column) and ``lossy`` (every event lacks a customer id), rendered in one
  ``cxlab batch`` run (2 workers, pseudonymised) with its index. Read it; only
  ``tests/report/test_batch.py`` (``--resume``) renders into it again.
* ``executed_explorer(path)`` — an explorer notebook executed once through the reports'
  guarded executor with its widget state saved; ``tests/test_notebooks.py`` checks it and
  ``tests/test_explorers_lab.py`` reopens it in JupyterLab.

A new end-to-end check that reads a rendered sample report takes ``sample_batch`` and adds its
file to ``SHARED_GROUPS`` below; it renders something only when its input is new.
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, settings

TESTS = Path(__file__).parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # tests/fixtures/ (builders of test inputs) imports as fixtures

# --------------------------------------------------------------------------------- hypothesis
# deadline=None and no too_slow health check: both time the shared 2-core machine's load, not
# the code (speed is measured in benchmarks/ only). max_examples=100 (hypothesis' own default) for the
# few cheap properties that do not choose: the oracle comparisons, whose examples each run a
# whole analysis twice, set their own 15-60 in their files (EXAMPLES = settings(...)), which
# `pytest --hypothesis-show-statistics` shows is where the time goes.
settings.register_profile(
    "cxlab",
    deadline=None,
    max_examples=100,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cxlab")

# ------------------------------------------------------------------------------- xdist groups
#: Test files that read the same session fixture: one xdist scope each, so the fixture is
#: built once. Every other file is its own scope (its module fixtures are built once too).
SHARED_GROUPS = {
    "tests/report/test_batch.py": "sample_batch",
    "tests/report/test_caveats.py": "sample_batch",
}
#: Files split per notebook (the parametrize id): one scope per explorer holding its
#: execution (``executed_explorer``) and the JupyterLab tests that open it, so the explorers
#: (a third of the suite's time) spread over both workers and each notebook still runs once.
PER_NOTEBOOK = ("tests/test_notebooks.py", "tests/test_explorers_lab.py")
#: The scopes that take longest, longest first (``pytest --durations=60`` under xdist,
#: 6 December: each 1.5-5 minutes under load, the rest under a minute). They are handed out
#: first so no worker is left with a long one at the end; the other scopes follow in
#: collection order.
LONGEST_FIRST = (
    "explorers[06_retention]",
    "explorers[05_paths_and_attribution]",
    "explorers[03_churn_clusters]",
    "explorers[02_journey_and_touchpoints]",
    "tests/report/test_design.py",
    "sample_batch",
    "explorers[04_cx_metrics_and_feedback]",
    "tests/test_odd_clients.py",
    "tests/report/test_execute.py",
    "tests/test_determinism.py",
    "explorers[01_data_quality]",
    "tests/test_batch_survival.py",
    "tests/io/test_real_exports.py",
    "tests/analysis/test_churn.py",
)


def xdist_scope(nodeid: str) -> str:
    """The scope (unit of work sent whole to one worker) of a test id."""
    path = nodeid.split("::", 1)[0]
    if path in PER_NOTEBOOK and nodeid.endswith("]"):
        return "explorers[" + nodeid.rsplit("[", 1)[1]
    return SHARED_GROUPS.get(path, path)


@pytest.hookimpl(optionalhook=True)  # a venv made before xdist joined the test extra
def pytest_xdist_make_scheduler(config, log):
    """Under xdist with ``--dist loadfile`` (``make test``): each scope (:func:`xdist_scope`)
    goes whole to one worker, the longest (``LONGEST_FIRST``) first.

    (xdist's own ``loadgroup``/``xdist_group`` marks do nothing under pytest 9: xdist 3.8
    renames test ids through an attribute pytest 9 no longer reads.)
    """
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            if not getattr(self, "_longest_first", False):  # once, before the first unit
                rank = {scope: i for i, scope in enumerate(LONGEST_FIRST)}
                queue = sorted(self.workqueue.items(), key=lambda kv: rank.get(kv[0], len(rank)))
                self.workqueue.clear()
                self.workqueue.update(queue)
                self._longest_first = True
            super()._assign_work_unit(node)

    return FileGroupScheduling(config, log)


# ----------------------------------------------------------------------- stopping cleanly
def pytest_configure(config):
    """SIGTERM (CI's timeout, ``kill``) stops pytest as Ctrl-C does, so fixtures are torn
    down (the JupyterLab server, kernels and browsers the tests started stop with them); a
    process still there 30 s later kills itself, and what it started stops by
    PR_SET_PDEATHSIG. Under xdist the controller just dies; each worker sees it is orphaned
    (it would otherwise run its tests on, unseen) and stops the same way."""
    worker = hasattr(config, "workerinput")
    controller = not worker and bool(getattr(config.option, "numprocesses", None))
    if not controller and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    if worker:
        threading.Thread(target=_stop_when_orphaned, args=(os.getppid(),), daemon=True).start()


def _interrupt(signum, frame):
    threading.Thread(target=_kill_self_after, args=(30,), daemon=True).start()
    raise KeyboardInterrupt(f"signal {signum}")


def _kill_self_after(seconds: float) -> None:
    time.sleep(seconds)
    os.kill(os.getpid(), signal.SIGKILL)


def _stop_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    threading.Thread(target=_kill_self_after, args=(30,), daemon=True).start()
    _thread.interrupt_main()  # KeyboardInterrupt: pytest tears the fixtures down


# ------------------------------------------------------------------------------ sample batch
@pytest.fixture(scope="session")
def sample_batch(tmp_path_factory) -> SimpleNamespace:
    """The small sample clients plus hostile, broken and lossy, rendered by ``cxlab batch``
    (tests/fixtures/sample_batch.py says how each is made).

    Attributes: ``root`` (holds ``.cxlab-salt``), ``clients``, ``out`` (reports and
    ``index.html``), ``code`` (the command's exit code), ``stdout``, ``stderr``.
    """
    from fixtures.sample_batch import render_sample_batch

    return render_sample_batch(tmp_path_factory.mktemp("sample_batch"))


# ------------------------------------------------------------------------- executed explorers
@pytest.fixture(scope="session")
def executed_explorer():
    """``executed_explorer(path)``: the ExecutionResult of that explorer notebook, executed
    once per session (300 s timeout, one retry, widget state saved)."""
    from cxlab.report.execute import execute_notebook

    results: dict[Path, object] = {}

    def run(notebook: Path):
        if notebook not in results:
            results[notebook] = execute_notebook(
                notebook, cwd=notebook.parent, timeout=300, retries=1, store_widget_state=True
            )
        return results[notebook]

    return run
