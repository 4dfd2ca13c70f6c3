"""The README and the documentation stay true: the contract, the commands, the code is clean.

The README is one screen for a newcomer plus links; the details live in docs/ (built by
tests/test_docs.py). Content checks therefore look in the page that now holds the content.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cxlab.cli import build_parser
from cxlab.config import PROJECT_ROOT
from cxlab.contract.schema import TABLES

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
DOCS = PROJECT_ROOT / "docs"
DATA_PAGE = (DOCS / "guide" / "data.md").read_text(encoding="utf-8")
USER_TEXT = README + "".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md")))


def test_readme_shows_the_two_commands_first():
    first_screen = "\n".join(README.splitlines()[:20])
    assert "make demo" in first_screen and "make test" in first_screen


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_canonical_column_is_documented(table):
    schema = TABLES[table]
    for column in schema.names:
        row = f"| `{column}` | {schema.type_name(column)} |"
        assert row in DATA_PAGE, (
            f"docs/guide/data.md lacks the {table}.{column} row with its type: {row}"
        )


def test_every_make_target_in_the_documentation_exists():
    targets = set(re.findall(r"^([a-z-]+):", MAKEFILE, flags=re.M))
    for target in set(re.findall(r"`make ([a-z-]+)`", USER_TEXT)):
        assert target in targets, (
            f"the docs mention `make {target}`, the Makefile has no such target"
        )


def test_every_cli_command_is_documented():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"cxlab {name}" in USER_TEXT, f"neither README nor docs/ show `cxlab {name}`"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.fail("ruff is not installed in the test environment (it is in the test extra)")
    targets = [
        p for p in ("cxlab", "tests", "benchmarks", "notebooks") if (PROJECT_ROOT / p).exists()
    ]
    for command in (["check", "--output-format", "concise"], ["format", "--check"]):
        result = subprocess.run(
            [ruff, *command, *targets], cwd=PROJECT_ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, (
            f"ruff {command[0]} {' '.join(targets)}:\n" + result.stdout + result.stderr
        )


def test_the_readme_is_one_screen_plus_links():
    assert len(README) <= 8000, f"README.md has {len(README)} characters; move detail into docs/"
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    for link in links:
        if not link.startswith(("http://", "https://")):
            assert (PROJECT_ROOT / link).exists(), f"README links to {link}, which does not exist"
    for page in sorted((DOCS / "guide").glob("*.md")):
        assert f"docs/guide/{page.name}" in links, (
            f"README does not link the guide page {page.name}"
        )


def test_the_readme_quick_start_runs():
    block = re.search(r"## Quick start\n+```python\n(.*?)```", README, flags=re.S)
    assert block, "README has no Quick start python block"
    code = block.group(1)
    assert "cxlab.load_client" in code and len(code.splitlines()) <= 10
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
