"""Every explorer notebook executes top to bottom on the sample data.

Notebooks are found by globbing notebooks/explore/, never listed by hand, so a new notebook is
tested the day it is added. Each must leave no error output. Outputs are stripped in git, so
this is the check that they still run. They run through cxlab's guarded executor (the one the
reports use): a private kernel polled in short slices, so nbclient's missed-reply hang
(nbclient #312, seen with widget cells) cannot stall CI, and a timeout is a failure.

The executed notebooks are kept in tests/artifacts/explorers/executed/ (git-ignored) with their
widgets' state saved, so a trusted copy opened in JupyterLab shows its offline charts again
(tests/test_explorers_lab.py opens the same executions, shared through the session fixture
``executed_explorer`` of tests/conftest.py, that way).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from cxlab.config import NOTEBOOKS_DIR, PROJECT_ROOT, SAMPLE_DIR

EXPLORERS = sorted((NOTEBOOKS_DIR / "explore").glob("*.ipynb"))
EXECUTED = PROJECT_ROOT / "tests" / "artifacts" / "explorers" / "executed"


def test_there_are_explorer_notebooks():
    assert EXPLORERS, "notebooks/explore/ holds no notebook"


def test_notebooks_are_committed_without_outputs():
    dirty = [
        nb.name
        for nb in sorted(NOTEBOOKS_DIR.rglob("*.ipynb"))
        if any(c.get("outputs") for c in nbformat.read(nb, as_version=4).cells)
    ]
    assert not dirty, f"strip outputs (jupyter nbconvert --clear-output --inplace): {dirty}"


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("notebook", EXPLORERS, ids=[p.stem for p in EXPLORERS])
def test_explorer_notebook_executes(notebook: Path, executed_explorer):
    if not (SAMPLE_DIR / "bookshop" / "client.toml").exists():
        pytest.fail("sample data missing: run `cxlab sample` (make sample)")
    result = executed_explorer(notebook)  # tests/conftest.py: executed once per session
    assert result.ok, result.failure
    executed = result.notebook
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed, EXECUTED / notebook.name)
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(w["model_name"] == "AnyModel" for w in state.values()), "no chart widget saved"
    errors = [
        o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors, errors
