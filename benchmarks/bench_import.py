"""How long ``import cxlab`` takes, against ``import polars``, in fresh processes.

Each case runs in its own fresh interpreter, ``--runs`` times (default 7), the cases
interleaved (polars, cxlab, polars, cxlab, ...) so that a busy moment of this shared machine
hits every case alike. A run's figure is the time of the import statement(s) inside the child
(``time.perf_counter`` and ``time.process_time`` around them), so interpreter start-up is
left out; the table shows the median and min–max, and each case's difference to ``import
polars`` in the same run. CPU time is the steadier figure on a busy machine: wall time also
counts the time the child waited for a core.

Cases
-----
polars
    ``import polars`` (the floor: every cxlab analysis needs polars).
cxlab
    ``import polars; import cxlab`` (the package itself; its names are imported lazily).
load_client
    ``import polars; import cxlab; cxlab.load_client`` (what loading a client needs).
report kernel
    the imports of the report notebook's setup cells (``notebooks/reports/client_report.ipynb``)
    plus ``show.setup()``: what every report kernel pays before its first section.
every name
    ``import cxlab`` and every name of ``cxlab.__all__`` (what the package used to import
    eagerly: scikit-learn, altair's neighbours, ...).

Usage::

    .venv/bin/python benchmarks/bench_import.py            # 7 runs per case
    .venv/bin/python benchmarks/bench_import.py --runs 11
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys

CASES = {
    "polars": "import polars",
    "cxlab": "import polars\nimport cxlab",
    "load_client": "import polars\nimport cxlab\ncxlab.load_client",
    "report kernel": (
        "import datetime as dt\nfrom pathlib import Path\nimport polars as pl\n"
        "from cxlab.io.client import load_client\nfrom cxlab.contract.prepare import prepare_events\n"
        "from cxlab.report import display as show\nfrom cxlab.report import sections as sec\n"
        "from cxlab.report.privacy import client_salt, pseudonymize_client\n"
        "show.setup()"
    ),
    "every name": "import cxlab\nfor name in cxlab.__all__:\n    getattr(cxlab, name)",
}


def time_in_child(code: str) -> tuple[float, float]:
    """Wall and CPU seconds the statements ``code`` take in a fresh interpreter (start-up excluded)."""
    child = (
        "import time\n_t0, _c0 = time.perf_counter(), time.process_time()\n"
        + code
        + "\nprint(repr((time.perf_counter() - _t0, time.process_time() - _c0)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True
    ).stdout
    wall, cpu = ast.literal_eval(out.strip().splitlines()[-1])
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=7, help="runs per case (default 7, at least 5)")
    args = ap.parse_args()
    runs = max(args.runs, 5)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {runs} runs per case, interleaved")
    wall: dict[str, list[float]] = {case: [] for case in CASES}
    cpu: dict[str, list[float]] = {case: [] for case in CASES}
    for _ in range(runs):
        for case, code in CASES.items():
            w, c = time_in_child(code)
            wall[case].append(w)
            cpu[case].append(c)
    print()
    print(
        "| case | wall s, median (min–max) | wall − polars, same run | "
        "CPU s, median (min–max) | CPU − polars, same run |"
    )
    print("|---|---|---|---|---|")
    for case in CASES:
        cells = []
        for values, floor in ((wall[case], wall["polars"]), (cpu[case], cpu["polars"])):
            extra = statistics.median(v - p for v, p in zip(values, floor, strict=True))
            cells.append(
                f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"
                f" | {'–' if case == 'polars' else f'{extra:+.3f}'}"
            )
        print(f"| {case} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
