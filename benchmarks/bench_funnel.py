"""Funnels on ~10M events: today's ``funnel`` against an older commit, and the new analyses.

Each run is a fresh process that loads the bookshop (``load_client(folder, prepare=True)``,
not timed here), assigns stages, then times each funnel analysis once. Runs alternate
between the two trees; a step's figure is the median of ``--runs`` processes (min–max
shown). The old tree is imported by path (``--old-src``, e.g. a ``git worktree add`` of the
commit before the change) with the editable install's finder removed, so both run on the
same interpreter and data in the same session.

Analyses (new tree): ``funnel`` (best attempt, the new default, 30-day window — the
``funnel`` step of ``benchmarks/run.py``), ``funnel first entry``, ``session funnel``,
``conversion over time`` (weekly), ``breakdowns`` (channel × segment), ``stage funnel``.
Old tree: ``funnel`` (its definition: first entry). Issue 18 asks each new analysis to stay
within 2× today's ``funnel``: the table prints each one's ratio to the old ``funnel`` median.

Two floors bound what any session funnel can cost here (new tree, plain polars but for
cxlab's run starts; see :func:`session_floor`): ``session floor`` does only the least a session funnel must
do on every call — tell the sessions apart in the text ``session_id`` (with the check that no
session comes back after another), number them, keep the step events and count how many
sessions reach each step in order (first entry, no window, no ties, no table) —, and
``session floor, numbered`` the same with the session numbers given in advance (as if the
loader had numbered them).

    .venv/bin/python benchmarks/bench_funnel.py --old-src /tmp/cxlab-old --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from run import OUT, ensure_data  # benchmarks/run.py: one data layout for every benchmark

STEPS = ["site_visit", "product_view", "checkout", "purchase"]


def child(folder: Path, old_src: str | None) -> dict:
    """One process: load, then time each analysis once."""
    if old_src:  # the old tree first on the path, the editable finder of this tree removed
        sys.meta_path[:] = [f for f in sys.meta_path if "ditable" not in repr(f)]
        sys.path.insert(0, old_src)
    import polars as pl

    from cxlab.analysis import funnel as fmod
    from cxlab.analysis.journey import assign_stages
    from cxlab.io.client import load_client

    c = load_client(folder, prepare=True)
    st = assign_stages(c.events, c.config.journey_map, c.config.purchase_touchpoints)
    fmod.funnel(st.head(1000), STEPS[:2])  # warm up (thread pool, first-call costs)
    runs = {"funnel": lambda: fmod.funnel(st, STEPS, window="30d")}
    if not old_src:
        runs |= {
            "funnel first entry": lambda: fmod.funnel(st, STEPS, window="30d", entry="first"),
            "session funnel": lambda: fmod.funnel(st, STEPS, window="30d", path="session"),
            "conversion over time": lambda: fmod.funnel_trend(
                st, STEPS, window="30d", every="week"
            ),
            "breakdowns": lambda: fmod.funnel(
                st, STEPS, window="30d", by=["channel", "segment"], customers=c.customers
            ),
            "stage funnel": lambda: fmod.stage_funnel(st),
            "session floor": lambda: session_floor(st, None),
            "session floor, numbered": lambda: session_floor(st, given["numbers"]),
        }
    given = {}  # made before the clock starts: the session numbers of the last floor
    out, cpu = {}, {}
    for name, fn in runs.items():
        if name == "session floor, numbered":
            given["numbers"] = _session_numbers(st)
        t, t_cpu = time.perf_counter(), time.process_time()
        res = fn()
        out[name], cpu[name] = time.perf_counter() - t, time.process_time() - t_cpu
        assert isinstance(res, pl.DataFrame) and res.height > 0, name
    return {"tree": old_src or "new", "events": st.height, "steps": out, "cpu": cpu}


def _session_starts(st):
    """True where a session's run of events starts (cxlab's own, the fastest we know: one
    comparison with the previous row, and events without a session do not break a run)."""
    from cxlab.analysis.funnel import _session_starts

    return _session_starts(st)


def _session_numbers(st):
    """Each event's session number: the running count of session starts."""
    import polars as pl

    return _session_starts(st).cast(pl.UInt32).cum_sum()


def session_floor(st, numbered):
    """Sessions reaching each of ``STEPS`` in order: the least a session funnel computes.

    ``numbered`` is None (the sessions are told apart and numbered here, as a funnel must on
    every call) or the session numbers (:func:`_session_numbers`, made before the clock
    starts). Plain polars: search for the first step-k event after step k-1's in each session.
    Returns one row of counts (no window, ties in row order, no intervals, no table).
    """
    import polars as pl

    sid, cid = pl.col("session_id"), pl.col("_cx_cid")
    if numbered is None:
        new = _session_starts(st)
        numbered = new.cast(pl.UInt32).cum_sum()
        starts = st.select(cid, sid).filter(new)
        key = sid.hash() ^ (cid.cast(pl.UInt64) * 0x9E3779B97F4A7C15)
        assert starts.select(key.n_unique()).item() == starts.height  # no session comes back
    cats = st.schema["touchpoint"].categories.to_list()
    v = pl.col("touchpoint").to_physical()
    b = (
        st.with_columns(numbered.alias("_u"))
        .filter(v.is_in([cats.index(s) for s in STEPS]) & sid.is_not_null())
        .select("_u", v.alias("_v"))
    )
    u = b.get_column("_u")
    rows = [(b.get_column("_v") == cats.index(s)).arg_true() for s in STEPS]
    u0 = u.gather(rows[0])
    first = pl.concat([pl.Series([True]), u0[1:] != u0[:-1]])
    at, path = rows[0].filter(first), u0.filter(first)
    counts = [len(at)]
    for cand in rows[1:]:
        i = cand.search_sorted(at)
        ok = i < len(cand)
        e = cand.gather(i.filter(ok))
        same = u.gather(e) == path.filter(ok)
        at, path = e.filter(same), path.filter(ok).filter(same)
        counts.append(len(at))
    return pl.DataFrame([counts], schema=STEPS, orient="row")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--browsing", type=float, default=90)
    ap.add_argument("--folder", type=Path, help="a bookshop folder (default: benchmarks/data/…)")
    ap.add_argument("--old-src", help="the old tree's root (its cxlab/ is imported by path)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", choices=["new", "old"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    folder = a.folder or ensure_data(a.customers, a.browsing)
    if a.child:
        print(json.dumps(child(folder, a.old_src if a.child == "old" else None)))
        return
    results: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    cpus: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    load = os.getloadavg()
    trees = ["old", "new"] if a.old_src else ["new"]
    for r in range(a.runs):
        for tree in trees if r % 2 == 0 else trees[::-1]:
            cmd = [sys.executable, __file__, "--child", tree, "--folder", str(folder)]
            cmd += ["--old-src", a.old_src] if a.old_src else []
            got = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            for k, v in got["steps"].items():
                results[tree].setdefault(k, []).append(v)
                cpus[tree].setdefault(k, []).append(got["cpu"][k])
            print(
                f"run {r + 1} {tree}: "
                + ", ".join(f"{k} {v:.2f}s" for k, v in got["steps"].items()),
                flush=True,
            )
    end = os.getloadavg()
    print(
        f"\n{got['events']:,} events, medians of {a.runs} fresh processes, load average "
        f"{load[0]:.1f} at the start, {end[0]:.1f} at the end\n"
    )
    print(table(results, cpus, trees, bool(a.old_src)))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_funnel.json").write_text(
        json.dumps({"wall": results, "cpu": cpus, "load": [load, end]}, indent=1)
    )


def table(wall: dict, cpu: dict, trees: list[str], old: bool) -> str:
    """Wall seconds and CPU seconds (all threads: moves less with other sessions' load), each
    with its ratio to the old ``funnel``'s median."""
    med = statistics.median
    lines = [
        "| tree | analysis | wall s, median (min–max) | × old | CPU s, median (min–max) | × old |",
        "|---|---|---|---|---|---|",
    ]
    for tree in trees:
        for k, v in wall[tree].items():
            c = cpu[tree][k]
            rw = f"{med(v) / med(wall['old']['funnel']):.2f}" if old else "–"
            rc = f"{med(c) / med(cpu['old']['funnel']):.2f}" if old else "–"
            lines.append(
                f"| {tree} | {k} | {med(v):.2f} ({min(v):.2f}–{max(v):.2f}) | {rw} "
                f"| {med(c):.2f} ({min(c):.2f}–{max(c):.2f}) | {rc} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
