"""Every explorer notebook executes top to bottom on the sample data (papermill).

Notebooks are found by globbing notebooks/explore/, never listed by hand, so a new notebook is
tested the day it is added. Each must leave no error output. Outputs are stripped in git, so
this is the check that they still run.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill as pm
import pytest

from cxlab.config import NOTEBOOKS_DIR, SAMPLE_DIR

EXPLORERS = sorted((NOTEBOOKS_DIR / "explore").glob("*.ipynb"))


def test_there_are_explorer_notebooks():
    assert EXPLORERS, "notebooks/explore/ holds no notebook"


def test_notebooks_are_committed_without_outputs():
    dirty = [
        nb.name
        for nb in sorted(NOTEBOOKS_DIR.rglob("*.ipynb"))
        if any(c.get("outputs") for c in nbformat.read(nb, as_version=4).cells)
    ]
    assert not dirty, f"strip outputs (jupyter nbconvert --clear-output --inplace): {dirty}"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", EXPLORERS, ids=[p.stem for p in EXPLORERS])
def test_explorer_notebook_executes(notebook: Path, tmp_path: Path):
    if not (SAMPLE_DIR / "bookshop" / "client.toml").exists():
        pytest.fail("sample data missing: run `cxlab sample` (make sample)")
    out = tmp_path / notebook.name
    pm.execute_notebook(
        str(notebook),
        str(out),
        cwd=str(notebook.parent),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=300,
    )
    executed = nbformat.read(out, as_version=4)
    errors = [
        o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors, errors
