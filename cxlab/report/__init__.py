"""Per-client reports: guarded notebook execution, offline HTML export, batches, the index.

* :func:`render_client` -- run the report notebook for one client folder and write
  ``<out>/<client>/report.ipynb`` (executed, for audit), ``report.html`` and ``run.json``.
* :func:`run_batch` -- the same for every client folder under a folder, in parallel (local
  processes or a Dask cluster), with resume, failure isolation and ``<out>/index.html``.
* :func:`execute_notebook` -- papermill-style parameterised execution with a private kernel,
  short socket polls, timeouts and retries (see :mod:`cxlab.report.execute`).
* :func:`export_html` -- the self-contained, offline HTML page (see :mod:`cxlab.report.html`).
* :mod:`cxlab.report.display` -- escaped headings, tables and published facts for notebooks.

Names are imported lazily: a report notebook's kernel imports only
:mod:`cxlab.report.display`, not the execution machinery.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "atomic_write_bytes": "cxlab.report.atomic",
    "atomic_write_text": "cxlab.report.atomic",
    "ExecutionFailure": "cxlab.report.execute",
    "ExecutionResult": "cxlab.report.execute",
    "execute_notebook": "cxlab.report.execute",
    "escape_json_for_html": "cxlab.report.html",
    "export_html": "cxlab.report.html",
    "external_references": "cxlab.report.html",
    "BatchResult": "cxlab.report.batch",
    "render_client": "cxlab.report.batch",
    "run_batch": "cxlab.report.batch",
    "SECTIONS": "cxlab.report.sections",
    "index_html": "cxlab.report.index",
    "write_index": "cxlab.report.index",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'cxlab.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
