"""Benchmark: ``cxlab batch`` vs a plain serial loop of the papermill CLI, in the same run.

For N sample-sized clients (copies of the sample clients, cycling bookshop/telecom/bank) it
times

1. ``cxlab batch CLIENTS --out OUT --workers W`` (guarded kernels, offline HTML, index), and
2. a plain serial shell loop doing, per client, what one would write by hand:
   ``papermill client_report.ipynb OUT/c/report.ipynb -p client_dir ... -k python3`` followed
   by ``jupyter nbconvert --to html --no-input`` (the same artefacts: executed notebook and
   HTML; papermill's HTML is not offline, which is not timed here),

and reports the wall-time ratio and, from the batch's run records, the per-report overhead:
kernel start (until the first kernel reply) vs analysis (executing the cells) vs the rest
(parameter injection, HTML export, writing files, process start).

Fairness: both sides run in the same window. ``--rounds R`` (default 3) alternates them
(batch then loop, loop then batch, ...) and the ratio read is the one of the two sides'
medians over the rounds. With ``--lock FILE`` each round takes an exclusive ``flock`` on FILE
(the shared benchmark lock) and releases it between rounds, so other benchmarks can run in
between without ever overlapping a round. The serial loop is the same fresh-process work per
client; ``--loop-clients K`` times it on K clients (cycling the templates evenly) and scales
its wall time by N/K, which the output says (``loop_extrapolated_from``).

With ``--pdf`` the batch also prints every report to PDF (``cxlab batch --pdf``), and the PDF's
own cost is measured: the median ``pdf_seconds`` of the batch's records, and the median of 3
fresh processes that each print one sample client's report (``cxlab.report.pdf.write_pdf``),
which is what ``--pdf`` adds to ``cxlab report``.

Usage::

    .venv/bin/python benchmarks/bench_batch.py                 # 20 clients, sample size
    .venv/bin/python benchmarks/bench_batch.py --clients 6 --customers 1000 --workers 2
    .venv/bin/python benchmarks/bench_batch.py --customers 150 --loop-clients 6 \
        --lock /tmp/cxlab-bench.lock                          # fair rounds, shared lock

Results are printed and written to ``benchmarks/out/bench_batch.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "reports" / "client_report.ipynb"
BIN = Path(sys.executable).parent


def make_clients(base: Path, n: int, customers: int | None, seed: int) -> Path:
    from cxlab.io.sample import write_sample_clients

    templates = base / "templates"
    write_sample_clients(templates, seed=seed, customers=customers)
    names = sorted(p.name for p in templates.iterdir() if (p / "client.toml").exists())
    clients = base / "clients"
    clients.mkdir(parents=True)
    for i in range(n):
        shutil.copytree(templates / names[i % len(names)], clients / f"client{i + 1:02d}")
    return clients


def run_cxlab_batch(
    clients: Path, out: Path, workers: int, salt: Path, pdf: bool = False
) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [
            str(BIN / "cxlab"),
            "batch",
            str(clients),
            "--out",
            str(out),
            "--workers",
            str(workers),
            "--salt-file",
            str(salt),
            "--no-progress",
            *(["--pdf"] if pdf else []),
        ],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        raise SystemExit("cxlab batch failed")
    records = [json.loads(p.read_text()) for p in sorted(out.glob("*/run.json"))]
    return elapsed, records


def run_papermill_loop(clients: Path, out: Path, salt: Path, only: int | None = None) -> float:
    """Wall seconds of the serial loop over the clients (the first ``only`` of them)."""
    chosen = sorted(p for p in clients.iterdir() if p.is_dir())[:only]
    start = time.perf_counter()
    for client in chosen:
        target = out / client.name
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(BIN / "papermill"),
                str(NOTEBOOK),
                str(target / "report.ipynb"),
                "-k",
                "python3",
                "-p",
                "client_dir",
                str(client),
                "-p",
                "salt_file",
                str(salt),
                "--no-progress-bar",
                "--log-level",
                "WARNING",
                "--cwd",
                str(target),
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                str(BIN / "jupyter"),
                "nbconvert",
                "--to",
                "html",
                "--no-input",
                str(target / "report.ipynb"),
            ],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - start


_PRINT_ONE = (
    "import sys, time; t = time.perf_counter(); from cxlab.report.pdf import write_pdf; "
    "write_pdf(sys.argv[1], sys.argv[2]); print(time.perf_counter() - t)"
)


def pdf_fresh_processes(page: Path, work: Path, repeats: int = 3) -> list[float]:
    """Seconds to print ``page`` to PDF, each in a fresh Python process (import included)."""
    times = []
    for i in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", _PRINT_ONE, str(page), str(work / f"fresh{i}.pdf")],
            check=True,
            capture_output=True,
            text=True,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


@contextlib.contextmanager
def held(lock: Path | None):
    """Hold an exclusive ``flock`` on ``lock`` (nothing when None) for one round."""
    if lock is None:
        yield
        return
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def one_round(args: argparse.Namespace, clients: Path, salt: Path, i: int) -> dict:
    """One batch and one loop, in alternating order (batch first in even rounds)."""
    work = args.work / f"round{i}"
    work.mkdir(parents=True, exist_ok=True)
    with held(args.lock):
        load = os.getloadavg()
        sides = ["batch", "loop"] if i % 2 == 0 else ["loop", "batch"]
        out: dict = {"round": i, "order": sides, "load_average_at_start": load}
        for side in sides:
            if side == "batch":
                secs, records = run_cxlab_batch(
                    clients, work / "batch", args.workers, salt, pdf=args.pdf
                )
                out.update(batch_seconds=secs, records=records)
            else:
                loop = run_papermill_loop(clients, work / "papermill", salt, args.loop_clients)
                out["loop_seconds"] = loop * args.clients / (args.loop_clients or args.clients)
        out["load_average_at_end"] = os.getloadavg()
    print(
        f"round {i}: batch {out['batch_seconds']:.1f} s, loop {out['loop_seconds']:.1f} s, "
        f"load {load[0]:.1f} -> {out['load_average_at_end'][0]:.1f}",
        file=sys.stderr,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20, help="number of clients (default: 20)")
    parser.add_argument(
        "--customers", type=int, default=None, help="customers per client (default: sample size)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="batch workers (default: cores)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pdf", action="store_true", help="batch with --pdf; time the PDF step")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default: 3)")
    parser.add_argument(
        "--loop-clients", type=int, default=None, help="time the loop on K clients, scaled to N"
    )
    parser.add_argument("--lock", type=Path, default=None, help="flock this file per round")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "out" / "bench_batch")
    args = parser.parse_args()

    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    salt = args.work / ".cxlab-salt"
    clients = make_clients(args.work, args.clients, args.customers, args.seed)

    rounds = [one_round(args, clients, salt, i) for i in range(args.rounds)]
    batch_s = statistics.median(r["batch_seconds"] for r in rounds)
    loop_s = statistics.median(r["loop_seconds"] for r in rounds)
    records = [rec for r in rounds for rec in r["records"]]
    kernel = [r["kernel_seconds"] for r in records]
    cells = [r["cell_seconds"] for r in records]
    total = [r["seconds"] for r in records]
    rest = [t - k - c for t, k, c in zip(total, kernel, cells, strict=True)]
    sizes = [r.get("html_bytes", 0) for r in records]
    result = {
        "clients": args.clients,
        "customers_per_client": args.customers or "sample size",
        "workers": args.workers,
        "cores": os.cpu_count(),
        "rounds": [
            {
                "order": r["order"],
                "batch_seconds": round(r["batch_seconds"], 1),
                "loop_seconds": round(r["loop_seconds"], 1),
                "ratio": round(r["loop_seconds"] / r["batch_seconds"], 2),
                "load_average_at_start": [round(x, 1) for x in r["load_average_at_start"]],
                "load_average_at_end": [round(x, 1) for x in r["load_average_at_end"]],
            }
            for r in rounds
        ],
        "loop_extrapolated_from": args.loop_clients or args.clients,
        "cxlab_batch_seconds_median": round(batch_s, 1),
        "papermill_serial_loop_seconds_median": round(loop_s, 1),
        "speedup_batch_vs_loop": round(loop_s / batch_s, 2),
        "per_report_seconds_median": {
            "total_in_worker": round(statistics.median(total), 2),
            "kernel_start": round(statistics.median(kernel), 2),
            "analysis_cells": round(statistics.median(cells), 2),
            "export_and_io": round(statistics.median(rest), 2),
        },
        "report_html_bytes_median": int(statistics.median(sizes)),
        "all_ok": all(r["status"] == "ok" for r in records),
    }
    if args.pdf:
        with held(args.lock):
            page = args.work / "round0" / "batch" / "client02" / "report.html"
            fresh = pdf_fresh_processes(page, args.work)
        result["pdf"] = {
            "all_written": all(r.get("pdf") for r in records),
            "in_batch_seconds_median": round(
                statistics.median(r["pdf_seconds"] for r in records), 2
            ),
            "one_report_fresh_process_seconds": [round(t, 2) for t in fresh],
            "one_report_fresh_process_median": round(statistics.median(fresh), 2),
        }
    out_file = ROOT / "benchmarks" / "out" / "bench_batch.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
