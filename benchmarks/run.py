"""cxlab benchmark suite (``make bench``): the per-client pipeline at 1M and 10M events.

For each size it makes the data once with ``cxlab sample --customers N --browsing B --clients
bookshop --format parquet`` (under ``benchmarks/data/``, git-ignored). By default B = 90 extra
browsing events per customer, ~100 events per customer as in the issue: 10k customers ~ 1M
events, 100k customers ~ 10M events. ``--browsing 0`` gives the generator's natural ~9.3
events per customer (1M customers ~ 9.3M events: the harder case for per-customer group-bys).
It then runs, each in a fresh process and ``--runs`` times (median, min-max):

cxlab
    load + validate + prepare (``load_client(folder, prepare=True)``: the loader puts the
    clean rows in (customer, time) order with integer customer codes), ``assign_stages``,
    ``customer_journeys``, ``stage_transitions``, ``funnel`` (4 steps, 30-day window),
    ``touchpoint_heatmap`` (with feedback), ``paths.transitions``, ``paths.step_matrix``,
    ``customer_features`` (with feedback and customers); each step timed, and the whole.
    The table also shows the issue's steps (its "full per-client analysis": everything but
    ``customer_journeys`` and ``stage_transitions``), the sum of those steps' times per run.
floor
    polars reading the same events Parquet and one group-by on the customer key: the least
    any per-customer analysis of this file can cost.
pandas
    ``benchmarks/pandas_baseline.py``: a straightforward pandas implementation of the same
    kinds of tables.
plain (``--plain``)
    the cxlab pipeline without preparing (``load_client(folder)``; every analysis on the
    loaded frame in file order).

Whole processes
    Every run is a fresh ``python`` process; besides the steps timed inside it, the parent
    times the whole process (interpreter start, imports, work) and prints it against the
    floor process of the same round: ``load`` (``import cxlab`` + ``load_client(folder,
    prepare=True)`` and nothing else; target ≤ 2× the floor) and the whole per-client
    pipeline (target ≤ 3.5× the floor). Rounds interleave the processes (floor, load,
    pipeline, old load, old pipeline, …), so a busy moment of the shared machine hits each
    alike; each figure is the median over ``--runs`` (≥ 3) rounds. Each step's CPU seconds
    (``time.process_time``, every thread) are printed too: on a busy machine they move much
    less than its wall seconds.
Old vs new (``--old``)
    The same processes on an older commit's package, in the same rounds: the commit is
    extracted with ``git archive`` under ``benchmarks/out/old-<sha>/`` and put first on
    ``PYTHONPATH`` (the child script is this one). Default: the parent of this session's
    "Format:" commit (the code before the redesign); ``--old none`` skips it.
Shapes (``--shapes``)
    ``sample``: the sample generator's bookshop. ``heavy``: the same customers, feedback and
    config with a heavier-tailed events log (``heavy_log.py``: 2,000 Zipf-weighted event
    names, heavy-tailed customer histories, long sessions), about as many events.

Bytecode
    Before timing, the new and old packages are compiled to bytecode (``compileall``), as a
    pip-installed package is: without it, an editable checkout run with
    ``PYTHONDONTWRITEBYTECODE=1`` (this machine's setting) compiles every cxlab module it
    imports again in every process, about 0.1–0.2 s that no installed cxlab pays.
    ``--no-compile`` leaves the bytecode as it is (every whole-process figure in
    ``RESULTS.md`` before the section "the load process against the floor" was measured
    that way).

Peak RSS is the child process's own maximum resident set (``ru_maxrss``). The 100M-event
out-of-core run is ``benchmarks/bench_outofcore.py``. Results are printed as a table and
written to ``benchmarks/out/bench.json``.

Usage::

    .venv/bin/python benchmarks/run.py                       # 10k and 100k customers (1M, 10M events)
    .venv/bin/python benchmarks/run.py --customers 100000 --runs 5 --no-pandas
    .venv/bin/python benchmarks/run.py --customers 1000000 --browsing 0 --plain
    .venv/bin/python benchmarks/run.py --customers 100000 --old 14a0613 --no-pandas
    .venv/bin/python benchmarks/run.py --customers 100000 --shapes sample --only-load
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
OUT = ROOT / "benchmarks" / "out"
FUNNEL_STEPS = ["site_visit", "product_view", "checkout", "purchase"]
# The speed issue's "full per-client analysis": load + validate + stage assignment + funnel +
# heatmap + transitions + step matrix + customer features. The whole pipeline also runs
# customer_journeys and stage_transitions, which that list does not name.
ISSUE_STEPS = (
    "load+validate+prepare",
    "load+validate",
    "assign_stages",
    "funnel",
    "heatmap",
    "transitions",
    "step_matrix",
    "features",
)


# --------------------------------------------------------------------------- data
def ensure_data(customers: int, browsing: float) -> Path:
    """The bookshop folder of this size under ``benchmarks/data/``, made with ``cxlab sample``
    when missing (shared by every benchmark script)."""
    tag = f"bookshop_{customers}" + (f"_b{browsing:g}" if browsing else "")
    folder = DATA / tag / "bookshop"
    if not (folder / "events.parquet").is_file():
        free = shutil.disk_usage(ROOT).free / 1024**3
        print(
            f"generating {customers:,} customers (browsing {browsing:g}) -> {folder.parent} "
            f"({free:.0f} GB free)",
            flush=True,
        )
        t = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "cxlab"),
                "sample",
                "--customers",
                str(customers),
                "--browsing",
                f"{browsing:g}",
                "--clients",
                "bookshop",
                "--format",
                "parquet",
                "--out",
                str(folder.parent),
            ],
            check=True,
        )
        print(f"  generated in {time.perf_counter() - t:.0f} s", flush=True)
    return folder


# --------------------------------------------------------------------------- children
class Timer:
    """Each step's wall seconds and CPU seconds (``time.process_time``: every thread's user
    and system time), which a busy shared machine disturbs much less than the wall."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.t0 = time.perf_counter()

    def __call__(self, name, fn):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        self.steps[name] = time.perf_counter() - t
        self.cpu[name] = time.process_time() - c
        return out

    def result(self) -> dict:
        return {
            "steps": self.steps,
            "steps_cpu": self.cpu,
            "total": time.perf_counter() - self.t0,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        }


def _module(name: str):
    """``cxlab.<name>``, or its pre-layout home ``cxlab.<last part>`` (an ``--old`` commit)."""
    import importlib

    import cxlab

    # decided from the files next to the cxlab imported: trying the new name first would let
    # the editable install's finder import the new sub-package into an old process
    if not (Path(cxlab.__file__).parent / name.split(".")[0]).is_dir():
        name = name.rsplit(".", 1)[-1]
    return importlib.import_module(f"cxlab.{name}")


def child_cxlab(folder: Path, prepared: bool = True) -> dict:
    paths = _module("analysis.paths")
    customer_features = _module("analysis.features").customer_features
    funnel = _module("analysis.funnel").funnel
    touchpoint_heatmap = _module("analysis.heatmap").touchpoint_heatmap
    journey = _module("analysis.journey")
    assign_stages, customer_journeys = journey.assign_stages, journey.customer_journeys
    stage_transitions = journey.stage_transitions
    load_client = _module("io.client").load_client

    tm = Timer()
    if prepared:  # the loader puts the rows in prepared order in its own pass
        c = tm("load+validate+prepare", lambda: load_client(folder, prepare=True))
    else:
        c = tm("load+validate", lambda: load_client(folder))
    cfg = c.config
    n_events = c.events.height
    ev = c.events
    st = tm("assign_stages", lambda: assign_stages(ev, cfg.journey_map, cfg.purchase_touchpoints))
    tm("customer_journeys", lambda: customer_journeys(st))
    tm("stage_transitions", lambda: stage_transitions(st))
    tm("funnel", lambda: funnel(st, FUNNEL_STEPS, window="30d"))
    tm("heatmap", lambda: touchpoint_heatmap(st, c.feedback))
    # cxlab.analysis.paths recognises prepared events itself (integer customer codes, rows in path order).
    tm("transitions", lambda: paths.transitions(st))
    tm("step_matrix", lambda: paths.step_matrix(st, 10))
    # st already has its stages: customer_features uses them (journey_map=None)
    tm(
        "features",
        lambda: customer_features(
            st, c.feedback, c.customers, purchase_touchpoints=cfg.purchase_touchpoints
        ),
    )
    out = tm.result()
    out["events"] = n_events
    out["customers"] = c.customers.height
    return out


def child_load(folder: Path) -> dict:
    load_client = _module("io.client").load_client

    tm = Timer()
    c = tm("load+validate+prepare", lambda: load_client(folder, prepare=True))
    out = tm.result()
    out["events"] = c.events.height
    return out


def child_floor(folder: Path) -> dict:
    import polars as pl

    tm = Timer()
    df = tm("read_parquet", lambda: pl.read_parquet(folder / "events.parquet"))
    tm("group_by", lambda: df.group_by("Customer Ref").agg(pl.len(), pl.col("Event Time").max()))
    return tm.result()


def child_pandas(folder: Path) -> dict:
    import pandas as pd

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import pandas_baseline as pb

    from cxlab.contract.client_config import read_client_config

    cfg = read_client_config(folder)
    mapping = cfg.columns.get("events", {})
    tm = Timer()
    t = tm(
        "load+validate",
        lambda: pb.load(
            folder / "events.parquet",
            folder / "customers.parquet",
            folder / "feedback.parquet",
            mapping,
        ),
    )
    ev = tm("assign_stages", lambda: pb.assign_stages(t["events"], dict(cfg.journey_map)))
    tm("customer_journeys", lambda: pb.customer_journeys(ev))
    tm("stage_transitions", lambda: pb.stage_transitions(ev))
    tm("funnel", lambda: pb.funnel(ev, FUNNEL_STEPS, pd.Timedelta(days=30)))
    tm("heatmap", lambda: pb.touchpoint_heatmap(ev))
    tm("transitions", lambda: pb.transitions(ev))
    tm("step_matrix", lambda: pb.step_matrix(ev, 10))
    tm("features", lambda: pb.customer_features(ev, ev["timestamp"].max()))
    return tm.result()


CHILDREN = {
    "cxlab": child_cxlab,
    "floor": child_floor,
    "load": child_load,
    "pandas": child_pandas,
    "plain": lambda f: child_cxlab(f, prepared=False),
}


# --------------------------------------------------------------------------- parent
def run_child(kind: str, folder: Path, tree: Path | None = None) -> dict:
    """Run one child process; its JSON result plus ``process``, its whole wall time."""
    env = dict(os.environ)
    if tree is not None:  # an extracted commit's package first on the path
        env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(":")
    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--folder", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} on {folder} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process"] = wall
    out["process_cpu"] = cpu  # user + system seconds of the child, all its threads
    return out


def old_tree(commit: str) -> tuple[str, Path] | None:
    """``(short sha, folder)`` of ``commit``'s tree, extracted once under ``benchmarks/out``.

    ``"auto"``: the parent of the first commit whose subject starts with "Format:" (the code
    before this session's redesign); ``"none"``: no old commit.
    """
    if commit == "none":
        return None
    git = ["git", "-C", str(ROOT)]
    if commit == "auto":
        found = subprocess.run(
            [*git, "log", "--format=%H", "--grep=^Format:"], capture_output=True, text=True
        ).stdout.split()
        if not found:
            print("no 'Format:' commit in the history: no old commit to compare", flush=True)
            return None
        commit = found[-1] + "^"
    sha = subprocess.run(
        [*git, "rev-parse", "--short", commit], capture_output=True, text=True, check=True
    ).stdout.strip()
    folder = OUT / f"old-{sha}"
    if not (folder / "cxlab" / "__init__.py").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            [*git, "archive", sha, "cxlab"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return sha, folder


def compile_tree(package: Path) -> None:
    """Write the bytecode of every module of ``package`` (what ``pip install`` does), so no
    child process compiles it again; stale files are rewritten, git ignores them."""
    if not compileall.compile_dir(str(package), quiet=1):
        raise RuntimeError(f"{package}: a module does not compile")


def summarize(runs: list[dict]) -> dict:
    steps = {}
    for name in runs[0]["steps"]:
        xs = [r["steps"][name] for r in runs]
        steps[name] = (statistics.median(xs), min(xs), max(xs))
    steps_cpu = {}
    for name in runs[0].get("steps_cpu", {}):
        xs = [r["steps_cpu"][name] for r in runs]
        steps_cpu[name] = (statistics.median(xs), min(xs), max(xs))
    proc = [r["process"] for r in runs]
    cpu = [r["process_cpu"] for r in runs]
    tot = [r["total"] for r in runs]
    rss = [r["peak_rss_gb"] for r in runs]
    # the issue's steps of each run: the sum of their times (the steps run one after another)
    issue = [sum(t for name, t in r["steps"].items() if name in ISSUE_STEPS) for r in runs]
    return {
        "steps": steps,
        "steps_cpu": steps_cpu,
        "total": (statistics.median(tot), min(tot), max(tot)),
        "process": (statistics.median(proc), min(proc), max(proc)),
        "process_cpu": (statistics.median(cpu), min(cpu), max(cpu)),
        "peak_rss_gb": max(rss),
        "issue_steps": (statistics.median(issue), min(issue), max(issue)),
        "runs": len(runs),
    }


def fmt(t) -> str:
    return f"{t[0]:7.2f} ({t[1]:.2f}–{t[2]:.2f})"


def print_table(label: str, res: dict) -> None:
    cx, fl, pd_ = res.get("cxlab"), res.get("floor"), res.get("pandas")
    pl_ = res.get("plain")
    print(f"\n## {label}\n")
    head = "| step | cxlab s, median (min–max) |"
    head += " cxlab without prepare |" if pl_ else ""
    head += " pandas |" if pd_ else ""
    head += " pandas/cxlab |" if pd_ else ""
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    names = list(cx["steps"]) if cx else []
    for n in names:
        row = f"| {n} | {fmt(cx['steps'][n])} |"
        if pl_:
            row += f" {fmt(pl_['steps'][n]) if n in pl_['steps'] else '–'} |"
        if pd_:
            p = pd_["steps"].get(n)
            row += (
                f" {fmt(p) if p else '–'} | {p[0] / cx['steps'][n][0]:.1f}× |" if p else " – | – |"
            )
        print(row)
    row = f"| **whole pipeline** | **{fmt(cx['total'])}** |"
    row += f" {fmt(pl_['total'])} |" if pl_ else ""
    row += f" {fmt(pd_['total'])} | {pd_['total'][0] / cx['total'][0]:.1f}× |" if pd_ else ""
    print(row)
    row = f"| **the issue's steps** (all but journeys and stage transitions) | **{fmt(cx['issue_steps'])}** |"
    row += f" {fmt(pl_['issue_steps'])} |" if pl_ else ""
    row += (
        f" {fmt(pd_['issue_steps'])} | {pd_['issue_steps'][0] / cx['issue_steps'][0]:.1f}× |"
        if pd_
        else ""
    )
    print(row)
    row = f"| peak RSS | {cx['peak_rss_gb']:.2f} GB |"
    row += f" {pl_['peak_rss_gb']:.2f} GB |" if pl_ else ""
    row += f" {pd_['peak_rss_gb']:.2f} GB | |" if pd_ else ""
    print(row)
    if fl:
        print(
            f"\nfloor (polars read_parquet + one group_by): {fmt(fl['total'])} s, peak RSS "
            f"{fl['peak_rss_gb']:.2f} GB; cxlab/floor = {cx['total'][0] / fl['total'][0]:.1f}×"
        )


def machine() -> str:
    """CPU, cores, memory, OS, Python and polars versions, and the load average now."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    import polars as pl

    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, polars {pl.__version__}, load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )


def ensure_heavy(customers: int, sample: Path) -> Path:
    """The heavy-tailed client of this size (``heavy_log.py``), made from the sample's
    customers, feedback and config when missing."""
    folder = DATA / f"heavy_{customers}" / "bookshop"
    if not (folder / "events.parquet").is_file():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from heavy_log import write_heavy_client

        print(f"generating the heavy-tailed log of {customers:,} customers -> {folder}", flush=True)
        write_heavy_client(sample, folder)
    return folder


def print_processes(res: dict, ratios: dict, sha: str | None) -> None:
    """Whole-process table: new and old processes, and each one's same-run ratio to the floor."""
    print("\nWhole processes (interpreter start + imports + work), median (min–max) of fresh")
    print("processes; ratio = median over rounds of process / floor process of the same round.\n")
    print("| process | new s | new / floor |" + (f" old {sha} s | old / floor |" if sha else ""))
    print("|---|---|---|" + ("---|---|" if sha else ""))
    rows = [
        ("floor: polars reads the Parquet, one group-by", "floor", None),
        ("load + validate + prepare (target ≤ 2× floor)", "load", "load@old"),
        ("whole per-client pipeline (target ≤ 3.5× floor)", "cxlab", "cxlab@old"),
    ]
    for label, new, old_kind in rows:
        if new not in res:
            continue
        row = f"| {label} | {fmt(res[new]['process'])} | {ratios[new]:.2f}× |"
        if sha:
            row += (
                f" {fmt(res[old_kind]['process'])} | {ratios[old_kind]:.2f}× |"
                if old_kind in res
                else " – | – |"
            )
        print(row)


def print_process_cpu(res: dict, sha: str | None) -> None:
    """CPU seconds (user + system, all threads) of each whole process: steadier than wall
    seconds on a busy machine, but blind to how well the work uses the cores."""
    print("\nCPU seconds of the whole processes, median (min–max):\n")
    print("| process | new CPU s |" + (f" old {sha} CPU s |" if sha else ""))
    print("|---|---|" + ("---|" if sha else ""))
    for label, new, old_kind in (
        ("floor", "floor", None),
        ("load", "load", "load@old"),
        ("pipeline", "cxlab", "cxlab@old"),
    ):
        if new not in res:
            continue
        row = f"| {label} | {fmt(res[new]['process_cpu'])} |"
        if sha:
            row += f" {fmt(res[old_kind]['process_cpu'])} |" if old_kind in res else " – |"
        print(row)


def print_old_new_steps(res: dict, sha: str) -> None:
    """In-process steps of the pipeline, new and old commit side by side."""
    new, old = res["cxlab"], res["cxlab@old"]
    print(f"\nIn-process steps, new vs old {sha} (same rounds):\n")
    print(f"| step | new s | old {sha} s | new / old |")
    print("|---|---|---|---|")
    for name in new["steps"]:
        o = old["steps"].get(name)
        n = new["steps"][name]
        print(
            f"| {name} | {fmt(n)} | {fmt(o) if o else '–'} | {n[0] / o[0]:.2f}× |"
            if o
            else f"| {name} | {fmt(n)} | – | – |"
        )
    print(
        f"| **in-process total** | {fmt(new['total'])} | {fmt(old['total'])} | "
        f"{new['total'][0] / old['total'][0]:.2f}× |"
    )
    new_cpu, old_cpu = new.get("steps_cpu", {}), old.get("steps_cpu", {})
    if not new_cpu or not old_cpu:
        return
    print(f"\nCPU seconds of the same steps (every thread), new vs old {sha}:\n")
    print(f"| step | new CPU s | old {sha} CPU s | new / old |")
    print("|---|---|---|---|")
    for name, n in new_cpu.items():
        o = old_cpu.get(name)
        print(
            f"| {name} | {fmt(n)} | {fmt(o)} | {n[0] / o[0]:.2f}× |"
            if o
            else f"| {name} | {fmt(n)} | – | – |"
        )


def measure(
    folder: Path, kinds: list[tuple[str, str, Path | None]], runs: int
) -> tuple[dict, dict]:
    """Every process ``runs`` times, interleaved by round; summaries and ratios to the floor."""
    raw: dict[str, list[dict]] = {label: [] for label, _, _ in kinds}
    for i in range(runs):
        for label, kind, tree in kinds:
            r = run_child(kind, folder, tree)
            raw[label].append(r)
            print(
                f"  {folder.parent.name} {label} run {i + 1}: process {r['process']:.2f}s "
                f"(CPU {r['process_cpu']:.2f}s), "
                f"in process {r['total']:.2f}s, {r['peak_rss_gb']:.2f} GB",
                flush=True,
            )
    res = {label: summarize(rs) for label, rs in raw.items()}
    for label, rs in raw.items():
        res[label]["events"] = rs[0].get("events")
    for label, rs in raw.items():
        if label != "floor":
            per_round = [r["process"] / f["process"] for r, f in zip(rs, raw["floor"], strict=True)]
            print(f"  {label} / floor per round: {', '.join(f'{x:.2f}' for x in per_round)}")
    ratios = {
        label: statistics.median(
            r["process"] / f["process"] for r, f in zip(rs, raw["floor"], strict=True)
        )
        for label, rs in raw.items()
    }
    return res, ratios


def process_kinds(
    old: tuple[str, Path] | None, a: argparse.Namespace, new: Path | None = None
) -> list[tuple]:
    """The processes of one round, in order: (label, child kind, package tree or None).

    ``new``: the new commit's extracted tree (``--new``); None: this checkout's package.
    """
    load, pipeline = not a.only_pipeline, not a.only_load
    kinds = [("floor", "floor", None)]
    kinds += [("load", "load", new)] if load else []
    kinds += [("cxlab", "cxlab", new)] if pipeline else []
    if old:
        kinds += [("load@old", "load", old[1])] if load else []
        kinds += [("cxlab@old", "cxlab", old[1])] if pipeline else []
    if pipeline:
        kinds += [] if a.no_pandas else [("pandas", "pandas", None)]
        kinds += [("plain", "plain", None)] if a.plain else []
    return kinds


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--customers",
        default="10000,100000",
        help="comma-separated customer counts (default: 10000,100000 ~ 1M and 10M events)",
    )
    ap.add_argument(
        "--browsing",
        type=float,
        default=90.0,
        help="extra browsing events per customer given to cxlab sample (default: 90, "
        "~100 events per customer; 0: ~9.3 events per customer)",
    )
    ap.add_argument(
        "--runs", type=int, default=3, help="rounds per size and shape (default 3, at least 3)"
    )
    ap.add_argument(
        "--shapes", default="sample,heavy", help="logs to run: sample, heavy (default: both)"
    )
    ap.add_argument(
        "--old",
        default="auto",
        help="older commit run in the same rounds (default auto: the parent of the 'Format:' "
        "commit; none: skip)",
    )
    ap.add_argument(
        "--new",
        default="checkout",
        help="the new side: this checkout's package (default), or a commit extracted like "
        "--old (the checkout may then change while the benchmark runs)",
    )
    ap.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    ap.add_argument(
        "--no-compile",
        action="store_true",
        help="do not compile the packages' bytecode first (each process then compiles the "
        "cxlab modules it imports under PYTHONDONTWRITEBYTECODE=1)",
    )
    ap.add_argument("--plain", action="store_true", help="also run cxlab without prepared events")
    ap.add_argument(
        "--only-load",
        action="store_true",
        help="time the floor and load processes only (new and old): shorter rounds",
    )
    ap.add_argument(
        "--only-pipeline",
        action="store_true",
        help="time the floor and whole-pipeline processes only (new and old)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(CHILDREN[a.child](Path(a.folder))))
        return
    print(machine())
    old = old_tree(a.old)
    sha = old[0] if old else None
    new = None if a.new == "checkout" else old_tree(a.new)
    if new:
        print(f"new = {new[0]} (extracted), old = {sha}", flush=True)
    if not a.no_compile:
        for tree in [new[1] if new else ROOT] + ([old[1]] if old else []):
            compile_tree(tree / "cxlab")
    results = {}
    for n in [int(x) for x in a.customers.split(",")]:
        sample = ensure_data(n, a.browsing)
        for shape in a.shapes.split(","):
            folder = sample if shape == "sample" else ensure_heavy(n, sample)
            kinds = process_kinds(old, a, new[1] if new else None)
            res, ratios = measure(folder, kinds, max(a.runs, 3))
            ev = res["load" if "load" in res else "cxlab"].get("events")
            label = f"{shape} log, {n:,} customers, {ev:,} events"
            results[label] = {"results": res, "process_ratio_to_floor": ratios, "old": sha}
            print(f"\nload average now {os.getloadavg()[0]:.1f}")
            if "cxlab" in res:
                print_table(label, res)
            print_processes(res, ratios, sha)
            print_process_cpu(res, sha)
            if old and "cxlab" in res:
                print_old_new_steps(res, sha)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench.json").write_text(
        json.dumps({"machine": machine(), "results": results}, indent=1)
    )


if __name__ == "__main__":
    main()
