"""The package layout holds: no module uses another's private names, and layers stay in order.

Both checks read the imports of every module under cxlab/ with :mod:`ast` (nothing is
imported), so they are cheap and say exactly which file and line breaks the rule.

* A name that starts with ``_`` is private to its module, and a module whose name starts with
  ``_`` is private to its package: ``from cxlab.io.loaders import _tidy`` in another module,
  ``loaders._tidy`` through an imported module, or ``cxlab.contract._frames`` imported from
  outside ``cxlab.contract`` are offences. Dunder names (``__version__``) are public.
* Layers, in order of dependency (``cxlab/__init__.py`` lists them): errors, config and params,
  contract, io, events, analysis, display, report, cli. A module may import its own layer and
  the ones before it.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from cxlab.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "cxlab"

# (importing module, imported module, private name) allowed for now: none (the helpers
# paths and attribution share are in cxlab.events and cxlab.params; the loader's per-column
# rules and messages, which outofcore uses too, in cxlab.io.rules).
PRIVATE_NAMES_ALLOWED: set[tuple[str, str, str]] = set()
# Private modules other packages may import. Being removed this session (issue 15): the
# input checks every analysis shares (``as_lazy``, ``require_columns``) get one public home.
PRIVATE_MODULES_ALLOWED = {"cxlab.contract._frames"}

LAYERS = ["contract", "io", "events", "analysis", "display", "report", "cli"]
BASE = {"errors", "config", "params"}  # usable from every layer
# (importing module, imported module) that cross layers the wrong way, for now.
UPWARD_ALLOWED = {
    # the [source] table of client.toml is read into io.sources' SourceSpec
    ("cxlab.contract.client_config", "cxlab.io.sources"),
    # the event-name heuristic that decides what a pseudonymised report may show
    ("cxlab.io.rules", "cxlab.report.privacy"),
    # out-of-core analysis runs the analyses per partition
    ("cxlab.io.outofcore", "cxlab.analysis.heatmap"),
    ("cxlab.io.outofcore", "cxlab.analysis.journey"),
    ("cxlab.io.outofcore", "cxlab.analysis.stats"),
    # explorer tables use the report's table HTML
    ("cxlab.display.notebook", "cxlab.report.display"),
}


def is_module(name: str) -> bool:
    """Whether ``name`` is a module or package of cxlab (from the files; nothing imported)."""
    path = PROJECT_ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@functools.cache
def parse(source: str) -> ast.Module:
    return ast.parse(source)


def cxlab_imports(source: str, module: str, package: str):
    """Yield ``(line, imported module, imported name or None, local name)`` for cxlab imports.

    ``from a.b import c`` where ``c`` is a module yields it as the module ``a.b.c``.
    """
    for node in ast.walk(parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "cxlab":
                    yield node.lineno, alias.name, None, alias.asname
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "cxlab":
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if is_module(full):
                    yield node.lineno, full, None, alias.asname or alias.name
                else:
                    yield node.lineno, base, alias.name, alias.asname or alias.name


def read(path: Path) -> tuple[str, str, str]:
    """``(source, module name, package name)`` of a file under cxlab/."""
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    return path.read_text(encoding="utf-8"), module, package


MODULES = sorted(PACKAGE.rglob("*.py"))


def private_offences(source: str, me: str, my_package: str) -> list[tuple[str, str, str, int]]:
    """``(importing module, imported module, private name, line)`` for each private use."""
    found = []
    module_aliases: dict[str, str] = {}
    for line, imported, name, local in cxlab_imports(source, me, my_package):
        if imported == me:
            continue
        if name is None and local:
            module_aliases[local] = imported
        if name and name.startswith("_") and not name.startswith("__"):
            found.append((me, imported, name, line))
        parts = imported.split(".")
        for i, part in enumerate(parts):
            owner = ".".join(parts[:i])
            private_module = ".".join(parts[: i + 1])
            if part.startswith("_") and not part.startswith("__"):
                inside = my_package == owner or my_package.startswith(owner + ".")
                if not inside and private_module not in PRIVATE_MODULES_ALLOWED:
                    found.append((me, owner, part, line))
    for node in ast.walk(parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append((me, module_aliases[node.value.id], node.attr, node.lineno))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_module_imports_another_modules_private_names(path):
    offences = [
        f"{path.relative_to(PROJECT_ROOT)}:{line} uses {name} of {imported}"
        for me, imported, name, line in private_offences(*read(path))
        if (me, imported, name) not in PRIVATE_NAMES_ALLOWED
    ]
    assert offences == [], (
        "A private name is used outside its module; give the helper a public name (no "
        "leading underscore) in the module that owns it, and import that:\n" + "\n".join(offences)
    )


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_offences(source: str, me: str, package: str) -> list[tuple[int, str]]:
    """``(line, imported module)`` for each import of a later layer (not allowed above)."""
    mine = layer(me)
    if mine is None or mine in BASE:
        return []
    found = []
    for line, imported, _name, _local in cxlab_imports(source, me, package):
        theirs = layer(imported)
        if theirs is None or theirs in BASE or (me, imported) in UPWARD_ALLOWED:
            continue
        if LAYERS.index(theirs) > LAYERS.index(mine):
            found.append((line, imported))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_layers_import_only_their_own_layer_and_earlier_ones(path):
    source, me, package = read(path)
    offences = [
        f"{path.relative_to(PROJECT_ROOT)}:{line} imports {imported}"
        for line, imported in layer_offences(source, me, package)
    ]
    assert offences == [], (
        f"cxlab.{layer(me)} may use only the layers before it ({', '.join(LAYERS)}), errors "
        "and config; move the shared code down a layer:\n" + "\n".join(offences)
    )


def test_the_checks_see_each_kind_of_offence():
    # a made-up module of the io layer: three private uses, two imports of later layers
    source = (
        "from cxlab.io.loaders import _tidy, load_events\n"  # line 1: private name
        "import cxlab.io.loaders as loaders\n"
        "loaders._as_utc\n"  # line 3: private name through the module
        "from cxlab.display.charts._common import MAX_ROWS\n"  # line 4: another package's
        "from cxlab.io._sample_sim import START\n"  # its own package's private module: fine
        "from cxlab.report.privacy import redact_text\n"  # line 6: a later layer
        "from cxlab.errors import DataError\n"
    )
    found = private_offences(source, "cxlab.io.made_up", "cxlab.io")
    assert sorted((name, line) for _, _, name, line in found) == [
        ("_as_utc", 3),
        ("_common", 4),
        ("_tidy", 1),
    ]
    assert layer_offences(source, "cxlab.io.made_up", "cxlab.io") == [
        (4, "cxlab.display.charts._common"),
        (6, "cxlab.report.privacy"),
    ]
    # a later module importing an earlier layer is fine
    assert layer_offences(source, "cxlab.report.made_up", "cxlab.report") == []


def test_every_layer_is_listed():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert packages | modules == set(LAYERS) | BASE
