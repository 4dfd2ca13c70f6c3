"""``import cxlab`` is light: heavy libraries load only when a function needs them.

Each check runs in a fresh interpreter (this test process has imported everything already)
and lists which heavy modules ended up in ``sys.modules``. No timing here: the import-time
figures live in benchmarks/bench_import.py.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest

import cxlab
from cxlab.config import PROJECT_ROOT

HEAVY = (
    "altair",
    "sklearn",
    "lifelines",
    "scipy",
    "papermill",
    "vaderSentiment",
    "pandas",
    "nbformat",
    "rfc3987_syntax",  # jsonschema's IRI grammar, ~1.5 s of CPU to build (see report.display)
)


def heavy_modules_after(code: str) -> list[str]:
    """The HEAVY top-level modules a fresh interpreter has imported after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if sys.modules.get(m) is not None)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import cxlab",
        "from cxlab import load_client",
        "import cxlab; cxlab.load_client",
        "import cxlab; cxlab.__all__; dir(cxlab)",
        "from cxlab.io.client import load_client",
        "from cxlab.report import display, sections",
    ],
)
def test_light_paths_import_no_heavy_library(code):
    assert heavy_modules_after(code) == []


REPORT = PROJECT_ROOT / "notebooks" / "reports" / "client_report.ipynb"
# Report sections whose code needs neither scikit-learn nor lifelines.
LIGHT_SECTIONS = {"coverage", "funnel", "heatmap", "metrics", "paths"}


def report_imports(sections: set[str]) -> str:
    """The import statements of the report notebook's setup cells and of ``sections``, in order."""
    lines = []
    for cell in json.loads(REPORT.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or source.startswith("%"):
            continue
        section = re.match(r'if "(\w+)" in sections:', source)
        if section and section.group(1) not in sections:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                lines.append(ast.unparse(node))
        if "show.setup()" in source:  # as in the notebook: before any section imports altair
            lines.append("show.setup()")
    return "\n".join(lines)


@pytest.mark.slow
def test_a_report_kernel_imports_sklearn_and_lifelines_only_for_the_sections_needing_them():
    code = report_imports(LIGHT_SECTIONS)
    assert re.search(r"from cxlab.io.client import .*load_client", code) and "show.setup()" in code
    loaded = heavy_modules_after(code)
    assert "altair" in loaded  # setup() did run
    assert [m for m in loaded if m in ("sklearn", "lifelines", "scipy", "rfc3987_syntax")] == []
    # The churn section does need scikit-learn; were it light, this split would be pointless.
    assert "sklearn" in heavy_modules_after(report_imports({"churn"}))


@pytest.mark.slow
def test_the_probe_does_see_a_heavy_import():
    # The check above could pass by never seeing anything: churn needs scikit-learn at once.
    assert "sklearn" in heavy_modules_after("import cxlab; cxlab.ChurnClusters")


def test_every_public_name_resolves_to_its_defining_object():
    import importlib

    for name in cxlab.__all__:
        value = getattr(cxlab, name)
        module = importlib.import_module(cxlab._EXPORTS[name])
        assert value is getattr(module, name), name
    assert sorted(cxlab.__all__) == sorted(cxlab._EXPORTS)
    assert set(cxlab.__all__) <= set(dir(cxlab))


def test_funnel_is_the_function_even_after_its_module_is_imported():
    # ``cxlab.funnel`` is the exported function; its module is ``cxlab.analysis.funnel``.
    code = (
        "import cxlab.analysis.funnel, cxlab\n"
        "from cxlab import funnel\n"
        "assert callable(funnel) and funnel.__name__ == 'funnel', funnel\n"
        "assert cxlab.funnel is funnel is cxlab.analysis.funnel.funnel"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        cxlab.no_such_name  # noqa: B018
    assert cxlab.config.SAMPLE_DIR.name == "sample"  # submodules still reachable as attributes
